import { InputError } from '../errors.js';
import type { PresenceTable } from '../model/presence-table.js';
import type { ProgressFn } from '../model/progress.js';
import type { PresenceSource } from '../model/records.js';
import { ByteInterner, type ExportedNames } from './csv-scan.js';

/** A row that could not be read. */
export type RejectedRow = { file: string; line: number; reason: string };

export interface PresenceReadResult {
  table: PresenceTable;
  /** Rows read successfully (inside the window). */
  rowsRead: number;
  /** The first `MAX_REJECTED_KEPT` rejected rows. */
  rejected: RejectedRow[];
  rejectedCount: number;
  /** Readable rows skipped because they fall outside the window. */
  rowsOutsideWindow?: number;
  /** CSV files that were read by two threads. */
  filesReadInParallel?: number;
}

/** Options for the presence readers. */
export interface PresenceReadOptions {
  /** Keep rows with ts ≥ this (epoch ms). */
  windowStart?: number;
  /** Keep rows with ts < this (epoch ms). */
  windowEnd?: number;
  onProgress?: ProgressFn;
  /** A file whose rejected rows exceed this share of its rows fails as a whole. */
  maxRejectShare?: number;
  /** Threads for large CSV files: 2 splits the file between this thread and a worker. */
  threads?: 1 | 2;
  /** CSV files at least this big use `threads`; default `PARALLEL_CSV_MIN_BYTES`. */
  parallelMinBytes?: number;
  /** false: every CSV record takes the general path (tests compare the two paths). */
  plainPath?: boolean;
  /**
   * The CSV fast path's WebAssembly kernel for the contract's layouts (csv-kernel.ts): true
   * always, false never (tests compare the paths); default for files of `CSV_KERNEL_MIN_BYTES`.
   */
  csvKernel?: boolean;
  /** Bytes per CSV read (default `CSV_SCAN_DEFAULTS`; tests use small ones to split records). */
  csvChunkBytes?: number;
  /**
   * Called when a two-thread read's worker has answered: a core is free while this thread
   * merges the worker's rows (`analyze` starts its next stages' workers then).
   */
  onWorkerDone?: () => void;
}

export const PRESENCE_READ_DEFAULTS = { maxRejectShare: 0.5 };

/** Rejected rows kept with their reasons (all are counted). */
export const MAX_REJECTED_KEPT = 100;

/** Header names accepted for each column (case-insensitive). */
export const PRESENCE_COLUMNS = {
  channel: ['channel', 'channel_login', 'broadcaster', 'streamer'],
  viewer: ['viewer', 'user', 'user_login', 'chatter', 'login'],
  ts: ['ts', 'timestamp', 'time', 'datetime'],
  source: ['source'],
  messages: ['messages', 'message_count', 'count'],
  vod_id: ['vod_id', 'vod'],
  kind: ['kind'],
  viewer_id: ['viewer_id', 'user_id', 'user-id', 'commenter_id', 'chatter_id'],
  channel_id: ['channel_id', 'room_id', 'room-id', 'broadcaster_id', 'streamer_id'],
} as const;

export type PresenceColumn = keyof typeof PRESENCE_COLUMNS;

/** Index of each known column in a header (-1 when absent). */
export function mapPresenceHeader(fields: string[]): Record<PresenceColumn, number> {
  const norm = fields.map((f) => f.trim().toLowerCase());
  const out = {} as Record<PresenceColumn, number>;
  for (const [col, names] of Object.entries(PRESENCE_COLUMNS) as [PresenceColumn, readonly string[]][]) {
    out[col] = norm.findIndex((f) => names.includes(f));
  }
  return out;
}

const SOURCE_CODE: Record<string, number> = { live: 0, vod: 1, import: 2 };

const SOURCE_BYTES = ['live', 'vod', 'import'].map((x) => Buffer.from(x));

/** Source code (index in PRESENCE_SOURCES) from bytes, case-insensitive; -1 when unknown. */
export function sourceCodeBytes(buf: Uint8Array, start: number, end: number): number {
  outer: for (let code = 0; code < SOURCE_BYTES.length; code++) {
    const w = SOURCE_BYTES[code] as Buffer;
    if (end - start !== w.length) continue;
    for (let i = 0; i < w.length; i++) if (((buf[start + i] as number) | 32) !== w[i]) continue outer;
    return code;
  }
  return -1;
}

/** Per-row extras that `import` stores but analysis does not need. */
export interface PresenceExtras {
  /** Index into PRESENCE_SOURCES. */
  source: Uint8Array;
  /** 0 chat, 1 membership. */
  kind: Uint8Array;
  /** 0 = none, else vodNames index + 1. */
  vod: Uint32Array;
  vodNames: ByteInterner;
  /** Stable Twitch ids as read (import stores them beside the logins): 0 = none, else idNames index + 1. */
  viewerId: Uint32Array;
  channelId: Uint32Array;
  /** Viewer ids and channel ids, interned together (they never share a row's column). */
  idNames: ByteInterner;
}

/** First byte of an interned identity key that is a Twitch id (logins never hold control bytes). */
export const ID_KEY_TAG = 1;

/**
 * Identity keys of one side (channels or viewers) when rows carry Twitch ids: the row's key is
 * `\x01<id>` in the side's main interner, and this remembers every id key's latest login (by ts;
 * on equal ts the row read last). Rows without an id keep their login as key.
 */
export class IdSide {
  readonly logins = new ByteInterner();
  /** Per key id (of the main interner): login id here, valid where `latestTs` is not -Infinity. */
  loginOf = new Uint32Array(1024);
  latestTs = new Float64Array(1024).fill(Number.NEGATIVE_INFINITY);
  private scratch = new Uint8Array(64);

  /** The key of id bytes [is, ie) with login bytes [ls, le), seen at `ts`. */
  key(
    keys: ByteInterner,
    idBuf: Uint8Array,
    is: number,
    ie: number,
    loginBuf: Uint8Array,
    ls: number,
    le: number,
    ts: number,
  ): number {
    const k = this.idKey(keys, idBuf, is, ie);
    const login = this.logins.intern(loginBuf, ls, le);
    this.note(k, login, ts);
    return k;
  }

  /** The key of id bytes [is, ie) in `keys` (`ID_KEY_TAG`, then the id), its login not noted. */
  idKey(keys: ByteInterner, idBuf: Uint8Array, is: number, ie: number): number {
    const n = ie - is;
    if (n + 1 > this.scratch.length) this.scratch = new Uint8Array(2 * n + 2);
    const sc = this.scratch;
    sc[0] = ID_KEY_TAG;
    for (let i = 0; i < n; i++) sc[i + 1] = idBuf[is + i] as number;
    return keys.intern(sc, 0, n + 1);
  }

  /** Room for keys [0, keys) in `loginOf` and `latestTs` (a key not noted has -Infinity). */
  reserve(keys: number): void {
    if (keys > this.loginOf.length) this.grow(keys);
  }

  /** Records that key `k` was seen with login id `login` at `ts`. */
  note(k: number, login: number, ts: number): void {
    if (k >= this.loginOf.length) this.grow(k + 1);
    if (ts >= (this.latestTs[k] as number)) {
      this.latestTs[k] = ts;
      this.loginOf[k] = login;
    }
  }

  private grow(min: number): void {
    const cap = Math.max(min, this.loginOf.length * 2);
    const l = new Uint32Array(cap);
    l.set(this.loginOf);
    const t = new Float64Array(cap).fill(Number.NEGATIVE_INFINITY);
    t.set(this.latestTs);
    this.loginOf = l;
    this.latestTs = t;
  }

  /** For sending to another thread. */
  export(keys: number): ExportedIdSide {
    if (keys > this.loginOf.length) this.grow(keys);
    return {
      logins: this.logins.exportNames(),
      loginOf: this.loginOf.slice(0, keys),
      latestTs: this.latestTs.slice(0, keys),
    };
  }

  /** Merges another thread's side, its keys mapped through `keyMap` (its key → key here). */
  merge(x: ExportedIdSide, keyMap: Uint32Array): void {
    const lmap = this.logins.internExported(x.logins);
    for (let k = 0; k < x.latestTs.length; k++) {
      const t = x.latestTs[k] as number;
      if (t === Number.NEGATIVE_INFINITY) continue;
      this.note(keyMap[k] as number, lmap[x.loginOf[k] as number] as number, t);
    }
  }
}

/** An `IdSide` as bytes and arrays (structured-clone friendly). */
export interface ExportedIdSide {
  logins: ExportedNames;
  loginOf: Uint32Array;
  latestTs: Float64Array;
}

/**
 * Turns one side's interned keys into names: id keys get their latest login; login keys
 * (rows without an id) whose login is the latest login of exactly one id key are merged into it
 * (`remap`, applied to the rows by the caller). With `unique`, names that two live keys share
 * (a login Twitch gave to a new account) are told apart: all but the most recently seen get
 * `#<id>` appended.
 */
export function resolveKeys(
  keyNames: string[],
  side: IdSide | undefined,
  unique: boolean,
): { names: string[]; ids: string[] | undefined; remap: Uint32Array | undefined } {
  if (!side) return { names: keyNames, ids: undefined, remap: undefined };
  const logins = side.logins.names();
  const n = keyNames.length;
  const names = new Array<string>(n);
  const ids = new Array<string>(n);
  const tag = String.fromCharCode(ID_KEY_TAG);
  // login (its id in side.logins) → the id key whose latest login it is (-1: more than one, -2:
  // none); typed, for the millions of viewer keys
  const owner = new Int32Array(logins.length).fill(-2);
  let loginKeys = 0;
  for (let k = 0; k < n; k++) {
    const kn = keyNames[k] as string;
    if (kn.startsWith(tag)) {
      ids[k] = kn.slice(1);
      const l = side.loginOf[k] as number;
      names[k] = logins[l] as string;
      owner[l] = owner[l] === -2 ? k : -1;
    } else {
      ids[k] = '';
      names[k] = kn;
      loginKeys++;
    }
  }
  let remap: Uint32Array | undefined;
  for (let k = 0; k < n && loginKeys > 0; k++) {
    if (ids[k] !== '') continue;
    const l = side.logins.find(names[k] as string);
    const o = l < 0 ? -2 : (owner[l] as number);
    if (o < 0) continue;
    remap ??= Uint32Array.from({ length: n }, (_, i) => i);
    remap[k] = o;
  }
  if (unique) {
    // Among live keys (not merged away), the latest-seen keeps the plain name.
    const best = new Map<string, number>();
    const dup = new Set<string>();
    for (let k = 0; k < n; k++) {
      if (remap && remap[k] !== k) continue;
      const nm = names[k] as string;
      const b = best.get(nm);
      if (b === undefined) best.set(nm, k);
      else {
        dup.add(nm);
        if ((side.latestTs[k] ?? Number.NEGATIVE_INFINITY) > (side.latestTs[b] ?? Number.NEGATIVE_INFINITY))
          best.set(nm, k);
      }
    }
    if (dup.size > 0) {
      for (let k = 0; k < n; k++) {
        if (remap && remap[k] !== k) continue;
        const nm = names[k] as string;
        if (dup.has(nm) && best.get(nm) !== k) names[k] = `${nm}#${ids[k] || 'login'}`;
      }
    }
  }
  return { names, ids, remap };
}

/** `t[key]` built by `make` when first read (and settable, as a plain property is). */
function lazy<K extends 'viewerNames' | 'viewerTwitchIds'>(
  t: PresenceTable,
  key: K,
  make: () => NonNullable<PresenceTable[K]>,
): void {
  let value: PresenceTable[K] | undefined;
  Object.defineProperty(t, key, {
    enumerable: true,
    configurable: true,
    get: () => {
      value ??= make();
      return value;
    },
    set: (v: PresenceTable[K]) => {
      value = v;
    },
  });
}

/**
 * `resolveKeys(keys.names(), side, false)` without its millions of strings up front: the remap
 * (login keys that join an id) from typed arrays now; the names and Twitch ids when asked;
 * `findViewers`, every key whose name is a login (the bot look-up), from a by-login index
 * built on first use.
 */
export function resolveViewerKeys(
  keys: ByteInterner,
  side: IdSide,
): {
  remap: Uint32Array | undefined;
  names: () => string[];
  ids: () => string[];
  findViewers: (login: string) => number[];
} {
  const n = keys.size;
  const loginOf = side.loginOf;
  const isId = new Uint8Array(n);
  // login → the id key whose latest login it is (-1: more than one, -2: none), as resolveKeys
  const owner = new Int32Array(side.logins.size).fill(-2);
  let loginKeys = 0;
  for (let k = 0; k < n; k++) {
    if (keys.startsWith(k, ID_KEY_TAG)) {
      isId[k] = 1;
      const l = loginOf[k] as number;
      owner[l] = owner[l] === -2 ? k : -1;
    } else loginKeys++;
  }
  let remap: Uint32Array | undefined;
  for (let k = 0; k < n && loginKeys > 0; k++) {
    if (isId[k] === 1) continue;
    const l = side.logins.findName(keys, k);
    const o = l < 0 ? -2 : (owner[l] as number);
    if (o < 0) continue;
    remap ??= Uint32Array.from({ length: n }, (_, i) => i);
    remap[k] = o;
  }
  let keyNames: string[] | undefined;
  const names = () => {
    keyNames ??= keys.names();
    const logins = side.logins.names();
    const out = new Array<string>(n);
    for (let k = 0; k < n; k++)
      out[k] = (isId[k] === 1 ? logins[loginOf[k] as number] : keyNames[k]) as string;
    return out;
  };
  const ids = () => {
    keyNames ??= keys.names();
    const out = new Array<string>(n);
    for (let k = 0; k < n; k++) out[k] = isId[k] === 1 ? (keyNames[k] as string).slice(1) : '';
    return out;
  };
  // by login: the first id key (head), then the next of each (a list per login)
  let head: Int32Array | undefined;
  let next: Int32Array | undefined;
  const findViewers = (login: string) => {
    const found: number[] = [];
    const plain = keys.find(login);
    if (plain >= 0 && isId[plain] === 0) found.push(plain);
    const l = side.logins.find(login);
    if (l < 0) return found;
    if (!head || !next) {
      head = new Int32Array(side.logins.size).fill(-1);
      next = new Int32Array(n).fill(-1);
      for (let k = 0; k < n; k++) {
        if (isId[k] === 0) continue;
        const lk = loginOf[k] as number;
        next[k] = head[lk] as number;
        head[lk] = k;
      }
    }
    for (let k = head[l] as number; k >= 0; k = next[k] as number) found.push(k);
    return found;
  };
  return { remap, names, ids, findViewers };
}

/** The four presence columns as arrays of equal length. */
export interface ColumnViews {
  channel: Uint32Array;
  viewer: Uint32Array;
  ts: Float64Array;
  messages: Uint32Array;
}

/** Columns backed by SharedArrayBuffers, so a worker can fill its rows in place. */
export function sharedColumns(rows: number): ColumnViews {
  return {
    channel: new Uint32Array(new SharedArrayBuffer(rows * 4)),
    viewer: new Uint32Array(new SharedArrayBuffer(rows * 4)),
    ts: new Float64Array(new SharedArrayBuffer(rows * 8)),
    messages: new Uint32Array(new SharedArrayBuffer(rows * 4)),
  };
}

/** Views of rows [from, to) of shared columns. */
export function columnSlice(c: ColumnViews, from: number, to: number): ColumnViews {
  return {
    channel: c.channel.subarray(from, to),
    viewer: c.viewer.subarray(from, to),
    ts: c.ts.subarray(from, to),
    messages: c.messages.subarray(from, to),
  };
}

/**
 * What a reading worker (CSV or Parquet, two-thread reads) hands back: how many rows it wrote
 * into its block of the shared columns (or the rows themselves, when it outgrew the block) and
 * its names and ids, numbered on its own.
 */
export interface WorkerRows {
  length: number;
  /** Set only when the rows outgrew the shared columns (then they travel here instead). */
  columns?: ColumnViews;
  channels: ExportedNames;
  viewers: ExportedNames;
  /** Latest login per id key, when rows carried Twitch ids. */
  channelIds?: ExportedIdSide;
  viewerIds?: ExportedIdSide;
}

/** A worker's side: its rows and names as `WorkerRows`, and the buffers to transfer (not copy). */
export function exportWorkerRows(
  b: PresenceBuilder,
  shared: ColumnViews,
): { rows: WorkerRows; transfer: ArrayBuffer[] } {
  const inPlace = b.channel.buffer === shared.channel.buffer;
  const rows: WorkerRows = {
    length: b.length,
    columns: inPlace ? undefined : { channel: b.channel, viewer: b.viewer, ts: b.ts, messages: b.messages },
    channels: b.channels.exportNames(),
    viewers: b.viewers.exportNames(),
    channelIds: b.channelIds?.export(b.channels.size),
    viewerIds: b.viewerIds?.export(b.viewers.size),
  };
  const arrays: ArrayBufferView[] = [rows.channels.arena, rows.viewers.arena];
  if (rows.columns)
    arrays.push(rows.columns.channel, rows.columns.viewer, rows.columns.ts, rows.columns.messages);
  return { rows, transfer: arrays.map((a) => a.buffer as ArrayBuffer) };
}

/**
 * This thread's side: appends a worker's rows (written at `shared[mid…]`) behind `b`'s, its
 * names interned here and its ids remapped, so the result is a one-thread read's, id for id.
 * The caller sizes the viewer table for both sides first (`reserveViewersFor` over all rows):
 * the two sides' counts added up would double it where they hold the same viewers.
 */
export function mergeWorkerRows(b: PresenceBuilder, shared: ColumnViews, mid: number, w: WorkerRows): void {
  const cmap = b.channels.internExported(w.channels);
  const vmap = b.viewers.internExported(w.viewers);
  if (w.channelIds) b.idSide('channel').merge(w.channelIds, cmap);
  if (w.viewerIds) b.idSide('viewer').merge(w.viewerIds, vmap);
  const src = w.columns ?? columnSlice(shared, mid, mid + w.length);
  const base = b.length;
  // Still in the shared columns: take all of them (the worker's rows then move down, never up).
  // Past their end (this thread outgrew its block) its rows are private, and `reserve` below
  // reallocates; the worker's rows are then copied from the shared block.
  if (b.channel.buffer === shared.channel.buffer) b.adopt(shared);
  b.reserve(base + w.length);
  // Instants and counts move as blocks (memmove); only the ids need a loop, to remap them.
  if (src.ts.buffer === b.ts.buffer) {
    b.ts.copyWithin(base, mid, mid + w.length);
    b.messages.copyWithin(base, mid, mid + w.length);
  } else {
    b.ts.set(src.ts.subarray(0, w.length), base);
    b.messages.set(src.messages.subarray(0, w.length), base);
  }
  const { channel, viewer } = b;
  const srcChannel = src.channel;
  const srcViewer = src.viewer;
  for (let i = 0; i < w.length; i++) {
    channel[base + i] = cmap[srcChannel[i] as number] as number;
    viewer[base + i] = vmap[srcViewer[i] as number] as number;
  }
  b.length = base + w.length;
}

/** Collects rows into growing typed arrays with interned channel and viewer ids. */
export class PresenceBuilder {
  readonly channels = new ByteInterner();
  readonly viewers = new ByteInterner();
  length = 0;
  private cap: number;
  channel: Uint32Array;
  viewer: Uint32Array;
  ts: Float64Array;
  messages: Uint32Array;
  extras: PresenceExtras | undefined;
  /** Set once a row carries a Twitch id (analysis mode only: without extras). */
  channelIds: IdSide | undefined;
  viewerIds: IdSide | undefined;

  constructor(options: { capacity?: number; extras?: boolean } = {}) {
    this.cap = Math.max(1024, options.capacity ?? 1 << 16);
    this.channel = new Uint32Array(this.cap);
    this.viewer = new Uint32Array(this.cap);
    this.ts = new Float64Array(this.cap);
    this.messages = new Uint32Array(this.cap);
    if (options.extras) {
      this.extras = {
        source: new Uint8Array(this.cap),
        kind: new Uint8Array(this.cap),
        vod: new Uint32Array(this.cap),
        vodNames: new ByteInterner({ lowerCase: false }),
        viewerId: new Uint32Array(this.cap),
        channelId: new Uint32Array(this.cap),
        idNames: new ByteInterner({ lowerCase: false }),
      };
    }
  }

  /** The id side of channels or viewers, created on first use. */
  idSide(side: 'channel' | 'viewer'): IdSide {
    if (side === 'channel') {
      if (!this.channelIds) this.channelIds = new IdSide();
      return this.channelIds;
    }
    if (!this.viewerIds) this.viewerIds = new IdSide();
    return this.viewerIds;
  }

  /**
   * The channel key of a row: its Twitch id when `is < ie` (analysis mode), else its login. In
   * import mode (extras) the login is the key and the id is kept per row by `setIds`.
   */
  channelKey(buf: Uint8Array, ls: number, le: number, is: number, ie: number, ts: number): number {
    if (ie <= is || this.extras) return this.channels.intern(buf, ls, le);
    return this.idSide('channel').key(this.channels, buf, is, ie, buf, ls, le, ts);
  }

  /** As `channelKey`, for viewers. */
  viewerKey(buf: Uint8Array, ls: number, le: number, is: number, ie: number, ts: number): number {
    if (ie <= is || this.extras) return this.viewers.intern(buf, ls, le);
    return this.idSide('viewer').key(this.viewers, buf, is, ie, buf, ls, le, ts);
  }

  /**
   * Moves the rows into caller-provided arrays (e.g. views of SharedArrayBuffers another thread
   * writes too) with room for `views.channel.length` rows. Growing past that reallocates privately.
   */
  adopt(views: ColumnViews): void {
    const n = this.length;
    views.channel.set(this.channel.subarray(0, n));
    views.viewer.set(this.viewer.subarray(0, n));
    views.ts.set(this.ts.subarray(0, n));
    views.messages.set(this.messages.subarray(0, n));
    this.channel = views.channel;
    this.viewer = views.viewer;
    this.ts = views.ts;
    this.messages = views.messages;
    this.cap = views.channel.length;
  }

  /** Makes room for `total` rows (one reallocation instead of repeated growth). */
  reserve(total: number): void {
    if (total <= this.cap) return;
    this.cap = Math.ceil(total);
    const n = this.length;
    const g32 = (a: Uint32Array) => {
      const b = new Uint32Array(this.cap);
      b.set(a.subarray(0, n));
      return b;
    };
    this.channel = g32(this.channel);
    this.viewer = g32(this.viewer);
    this.messages = g32(this.messages);
    const t = new Float64Array(this.cap);
    t.set(this.ts.subarray(0, n));
    this.ts = t;
    if (this.extras) {
      const s = new Uint8Array(this.cap);
      s.set(this.extras.source.subarray(0, n));
      const k = new Uint8Array(this.cap);
      k.set(this.extras.kind.subarray(0, n));
      this.extras.source = s;
      this.extras.kind = k;
      this.extras.vod = g32(this.extras.vod);
      this.extras.viewerId = g32(this.extras.viewerId);
      this.extras.channelId = g32(this.extras.channelId);
    }
  }

  /**
   * Sizes the viewer table for `rows` more rows. Distinct viewers grow slower than rows; an
   * eighth of the rows (2M names, a 32 MB table for 16M rows) saves the rehashing without a
   * table out of proportion.
   */
  reserveViewersFor(rows: number): void {
    this.viewers.reserve(this.viewers.size + Math.min(Math.ceil(rows / 8), 1 << 22));
  }

  /** Ensures `n` more rows fit (default one); grows by half at least. */
  room(n = 1): void {
    if (this.length + n > this.cap) this.reserve(Math.max(this.length + n, Math.ceil(this.cap * 1.5)));
  }

  /** Lets go of the column arrays (after they were copied elsewhere) so their memory can be reclaimed. */
  release(): void {
    this.cap = 0;
    this.length = 0;
    this.channel = new Uint32Array(0);
    this.viewer = new Uint32Array(0);
    this.ts = new Float64Array(0);
    this.messages = new Uint32Array(0);
    if (this.extras) {
      this.extras.source = new Uint8Array(0);
      this.extras.kind = new Uint8Array(0);
      this.extras.vod = new Uint32Array(0);
      this.extras.viewerId = new Uint32Array(0);
      this.extras.channelId = new Uint32Array(0);
    }
  }

  /** Drops rows from `length` on (undoes a failed file). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  /**
   * The rows as a table. With Twitch ids, keys become names (latest login), rows without an id
   * whose login is an id's latest login join that id, and channel names are made unique.
   */
  table(): PresenceTable {
    const n = this.length;
    const ch = resolveKeys(this.channels.names(), this.channelIds, true);
    const channel = this.channel.subarray(0, n);
    const viewer = this.viewer.subarray(0, n);
    if (ch.remap) for (let i = 0; i < n; i++) channel[i] = ch.remap[channel[i] as number] as number;
    const viewers = this.viewers;
    const t = {
      channelNames: ch.names,
      length: n,
      channel,
      viewer,
      ts: this.ts.subarray(0, n),
      messages: this.messages.subarray(0, n),
      viewerCount: viewers.size,
    } as PresenceTable;
    if (ch.ids) t.channelTwitchIds = ch.ids;
    if (this.viewerIds) {
      // Id-keyed viewers: names come from the latest logins, built (like the ids) when first read
      const vw = resolveViewerKeys(viewers, this.viewerIds);
      if (vw.remap) for (let i = 0; i < n; i++) viewer[i] = vw.remap[viewer[i] as number] as number;
      lazy(t, 'viewerNames', vw.names);
      lazy(t, 'viewerTwitchIds', vw.ids);
      t.findViewers = vw.findViewers;
      return t;
    }
    // Millions of viewer names as JS strings cost ~0.5 s and ~100 MB: only when someone asks.
    lazy(t, 'viewerNames', () => viewers.names());
    t.findViewer = (login) => viewers.find(login);
    return t;
  }
}

/** Accumulates rejections and counts for one read. */
export class RejectLog {
  rejected: RejectedRow[] = [];
  count = 0;
  add(file: string, line: number, reason: string): void {
    this.count++;
    if (this.rejected.length < MAX_REJECTED_KEPT) this.rejected.push({ file, line, reason });
  }
}

/** Per-file counters; checked after the file to decide whether it failed as a whole. */
export interface FileStats {
  /** Read by two threads. */
  parallel?: boolean;
  good: number;
  bad: number;
  outside: number;
  firstBad?: RejectedRow;
}

export type PresenceFormat = 'csv' | 'jsonl' | 'parquet';

/** Format from the file name (`.csv`, `.tsv` not supported, `.jsonl`/`.ndjson`/`.json`, `.parquet`). */
export function presenceFormat(path: string): PresenceFormat {
  const p = path.toLowerCase();
  if (p.endsWith('.parquet')) return 'parquet';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson') || p.endsWith('.json')) return 'jsonl';
  return 'csv';
}

export function inWindow(ts: number, o: PresenceReadOptions): boolean {
  return !(
    (o.windowStart !== undefined && ts < o.windowStart) ||
    (o.windowEnd !== undefined && ts >= o.windowEnd)
  );
}

export function checkFile(path: string, st: FileStats, opts: PresenceReadOptions): void {
  const first = st.firstBad ? ` (first: line ${st.firstBad.line}: ${st.firstBad.reason})` : '';
  if (st.good + st.outside === 0) {
    throw new InputError(
      'import',
      `${path}: no readable row${st.bad ? `, ${st.bad} rejected${first}` : ' (empty file)'}`,
    );
  }
  const share = opts.maxRejectShare ?? PRESENCE_READ_DEFAULTS.maxRejectShare;
  const total = st.good + st.outside + st.bad;
  if (st.bad > share * total) {
    throw new InputError('import', `${path}: mostly unreadable, ${st.bad} of ${total} rows rejected${first}`);
  }
}

/** Takes the builder's rows [0, length) elsewhere and resets `length` to 0 (ids stay interned). */
export type BatchFn = (b: PresenceBuilder) => Promise<void>;

/** Rows gathered before a batch is handed on (import streams into DuckDB to bound memory). */
export const BATCH_ROWS = 1 << 20;

/** Appends one decoded record to the builder (slow path for JSON and raw lines). */
export function pushRecord(
  b: PresenceBuilder,
  r: {
    channel: string;
    viewer: string;
    ts: number;
    messages?: number;
    source?: PresenceSource;
    kind?: string;
    vod_id?: string;
    viewer_id?: string;
    channel_id?: string;
  },
): void {
  b.room();
  const i = b.length++;
  b.channel[i] = r.channel_id
    ? keyString(b, 'channel', r.channel, r.channel_id, r.ts)
    : b.channels.internString(r.channel);
  b.viewer[i] = r.viewer_id
    ? keyString(b, 'viewer', r.viewer, r.viewer_id, r.ts)
    : b.viewers.internString(r.viewer);
  b.ts[i] = r.ts;
  b.messages[i] = r.messages ?? 1;
  const ex = b.extras;
  if (ex) {
    ex.source[i] = SOURCE_CODE[r.source ?? 'import'] ?? 2;
    ex.kind[i] = r.kind === 'membership' ? 1 : 0;
    ex.vod[i] = r.vod_id ? ex.vodNames.internString(r.vod_id) + 1 : 0;
    ex.viewerId[i] = r.viewer_id ? ex.idNames.internString(r.viewer_id) + 1 : 0;
    ex.channelId[i] = r.channel_id ? ex.idNames.internString(r.channel_id) + 1 : 0;
  }
}

/**
 * Values no presence row may have, whatever its format (checked by every reader: CSV, JSON Lines,
 * Parquet, raw). Documented in docs/storage-and-import.md.
 */
export const PRESENCE_LIMITS = {
  /**
   * Longest channel or viewer in bytes. Twitch logins have ≤ 25 and pseudonyms 18; other sources'
   * names and ids fit with room to spare, a 10 MB "login" does not.
   */
  maxNameBytes: 256,
  /** Most messages one row may count (one viewer, channel and bucket); the column is 32-bit. */
  maxMessages: 1_000_000,
  /** Earliest instant: Twitch opened on 2011-06-06 (UTC). */
  minTs: Date.UTC(2011, 5, 6),
  /** How far ahead of the reader's clock a row may be (clock skew, a collector's open bucket). */
  futureToleranceMs: 24 * 3600_000,
} as const;

/** Why `ts` (epoch ms) cannot be a presence instant, or undefined when it can. */
export function presenceTsProblem(ts: number, now = Date.now()): string | undefined {
  if (ts < PRESENCE_LIMITS.minTs) return `ts ${isoOrNumber(ts)} is before Twitch existed (2011-06-06)`;
  if (ts > now + PRESENCE_LIMITS.futureToleranceMs)
    return `ts ${isoOrNumber(ts)} is more than 24 h in the future`;
  return undefined;
}

/** Why `m` cannot be a message count, or undefined when it can. */
export function presenceMessagesProblem(m: number): string | undefined {
  if (!Number.isInteger(m) || m < 0) return `bad messages ${m} (expected an integer ≥ 0)`;
  if (m > PRESENCE_LIMITS.maxMessages)
    return `messages ${m} out of range (at most ${PRESENCE_LIMITS.maxMessages.toLocaleString('en-US')} per row)`;
  return undefined;
}

/** Why bytes [start, end) cannot be a channel or viewer name (too long, a NUL byte), or undefined. */
export function presenceNameBytesProblem(
  what: 'channel' | 'viewer',
  buf: Uint8Array,
  start: number,
  end: number,
): string | undefined {
  if (end - start > PRESENCE_LIMITS.maxNameBytes)
    return `${what} of ${end - start} bytes (at most ${PRESENCE_LIMITS.maxNameBytes})`;
  // NUL ends strings in C, Parquet readers and terminals: no name may hold one.
  for (let i = start; i < end; i++) if (buf[i] === 0) return `${what} holds a NUL byte`;
  return undefined;
}

/** Why a string cannot be a channel or viewer name, or undefined. */
export function presenceNameProblem(what: 'channel' | 'viewer', name: string): string | undefined {
  if (name.includes('\u0000')) return `${what} holds a NUL byte`;
  const bytes = Buffer.byteLength(name);
  if (bytes > PRESENCE_LIMITS.maxNameBytes)
    return `${what} of ${bytes} bytes (at most ${PRESENCE_LIMITS.maxNameBytes})`;
  return undefined;
}

/** The first problem of a decoded row's values, or undefined when they are all in range. */
export function presenceValuesProblem(
  r: { channel: string; viewer: string; ts: number; messages?: number },
  now = Date.now(),
): string | undefined {
  return (
    presenceNameProblem('channel', r.channel) ??
    presenceNameProblem('viewer', r.viewer) ??
    presenceTsProblem(r.ts, now) ??
    (r.messages === undefined ? undefined : presenceMessagesProblem(r.messages))
  );
}

/** The same checks as SQL `WHEN … THEN reason` clauses over columns channel, viewer, ts (ms), messages. */
export function presenceLimitsSql(now = Date.now()): string {
  const L = PRESENCE_LIMITS;
  return `WHEN strlen(channel) > ${L.maxNameBytes} THEN 'channel of ' || strlen(channel) || ' bytes (at most ${L.maxNameBytes})'
      WHEN strlen(viewer) > ${L.maxNameBytes} THEN 'viewer of ' || strlen(viewer) || ' bytes (at most ${L.maxNameBytes})'
      WHEN contains(channel, chr(0)) THEN 'channel holds a NUL byte'
      WHEN contains(viewer, chr(0)) THEN 'viewer holds a NUL byte'
      WHEN ts < ${L.minTs} THEN 'ts before Twitch existed (2011-06-06)'
      WHEN ts > ${now + L.futureToleranceMs} THEN 'ts more than 24 h in the future'
      WHEN messages > ${L.maxMessages} THEN 'messages ' || messages || ' out of range (at most ${L.maxMessages} per row)'`;
}

/** The negation of `presenceLimitsSql`: one SQL conjunction that is true when every limit holds. */
export function presenceLimitsOkSql(now = Date.now()): string {
  const L = PRESENCE_LIMITS;
  return `strlen(channel) <= ${L.maxNameBytes} AND strlen(viewer) <= ${L.maxNameBytes}
      AND NOT contains(channel, chr(0)) AND NOT contains(viewer, chr(0))
      AND ts >= ${L.minTs} AND ts <= ${now + L.futureToleranceMs} AND (messages IS NULL OR messages <= ${L.maxMessages})`;
}

function isoOrNumber(ts: number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}

const keyEncoder = new TextEncoder();

/** `channelKey` / `viewerKey` from JS strings (slow path for JSON, raw lines and long Parquet values). */
export function keyString(
  b: PresenceBuilder,
  side: 'channel' | 'viewer',
  login: string,
  id: string,
  ts: number,
): number {
  const bytes = keyEncoder.encode(`${login}\n${id}`);
  const sep = Buffer.byteLength(login);
  return side === 'channel'
    ? b.channelKey(bytes, 0, sep, sep + 1, bytes.length, ts)
    : b.viewerKey(bytes, 0, sep, sep + 1, bytes.length, ts);
}

/** Why a stored row is rejected, in the order of the general path's `CASE` (its texts too). */
export function storedRowProblem(
  channel: string,
  viewer: string,
  ts: number,
  m: number,
  maxTs: number,
): string {
  const L = PRESENCE_LIMITS;
  if (channel === '') return 'empty channel';
  if (viewer === '') return 'empty viewer';
  if (Number.isNaN(ts)) return 'bad ts';
  if (m < 0) return 'bad messages (expected an integer ≥ 0)';
  for (const [what, v] of [
    ['channel', channel],
    ['viewer', viewer],
  ] as const) {
    const bytes = Buffer.byteLength(v);
    if (bytes > L.maxNameBytes) return `${what} of ${bytes} bytes (at most ${L.maxNameBytes})`;
  }
  if (channel.includes('\u0000')) return 'channel holds a NUL byte';
  if (viewer.includes('\u0000')) return 'viewer holds a NUL byte';
  if (ts < L.minTs) return 'ts before Twitch existed (2011-06-06)';
  if (ts > maxTs) return 'ts more than 24 h in the future';
  return `messages ${BigInt(m)} out of range (at most ${L.maxMessages} per row)`;
}
