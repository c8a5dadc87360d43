import { InputError } from '../errors.js';
import type { PresenceTable } from '../model/presence-table.js';
import type { ProgressFn } from '../model/progress.js';
import type { PresenceSource } from '../model/records.js';
import { ByteInterner } from './csv-scan.js';

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
      };
    }
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
    }
  }

  /** Ensures one more row fits; grows by half. */
  room(): void {
    if (this.length >= this.cap) this.reserve(Math.ceil(this.cap * 1.5));
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
    }
  }

  /** Drops rows from `length` on (undoes a failed file). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  table(): PresenceTable {
    const n = this.length;
    return {
      channelNames: this.channels.names(),
      viewerNames: this.viewers.names(),
      length: n,
      channel: this.channel.subarray(0, n),
      viewer: this.viewer.subarray(0, n),
      ts: this.ts.subarray(0, n),
      messages: this.messages.subarray(0, n),
    };
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
  },
): void {
  b.room();
  const i = b.length++;
  b.channel[i] = b.channels.internString(r.channel);
  b.viewer[i] = b.viewers.internString(r.viewer);
  b.ts[i] = r.ts;
  b.messages[i] = r.messages ?? 1;
  const ex = b.extras;
  if (ex) {
    ex.source[i] = SOURCE_CODE[r.source ?? 'import'] ?? 2;
    ex.kind[i] = r.kind === 'membership' ? 1 : 0;
    ex.vod[i] = r.vod_id ? ex.vodNames.internString(r.vod_id) + 1 : 0;
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

function isoOrNumber(ts: number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}
