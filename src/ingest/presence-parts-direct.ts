/**
 * The stored-parts read without DuckDB: storage's compacted Parquet parts (Hive layout,
 * `source=…/dt=…/part-….parquet`, as `import` and `compact` write them) are decoded here
 * (`parquet-format.ts`) and their rows checked and interned as `readStoredPresence` does them —
 * the same rows, ids, counts and reject reasons, tested side by side. Names stay bytes in the
 * decoded pages: a channel is interned once per dictionary entry, a viewer once per run of rows
 * (a part holds each viewer’s rows together).
 *
 * Parts qualify when every one has the contract's columns by their own names (channel and viewer
 * strings, ts a local-time timestamp in ms or µs, messages an integer or absent), its Twitch-id
 * columns empty, pages uncompressed or ZSTD, and a known `source=` in its path. Otherwise
 * `readPartsDirect` says why (`declined`) and the caller reads them through DuckDB.
 *
 * Two threads split the work by columns when no window is asked (`readColumnsInTwo`: viewers
 * here, channels, instants and counts in a worker), which holds while every row is kept; else,
 * or when a row is not, by rows at half of them (a row group may be split), as the DuckDB read
 * splits.
 */
import { open } from 'node:fs/promises';
import {
  type ByteInterner,
  type ExportedNames,
  FNV_OFFSET_I32,
  FNV_PRIME,
  fnv,
  sameBytes,
} from './csv-scan.js';
import { nameRuns, PLAIN_RUNS, type RunOptions } from './name-runs.js';
import {
  chunkBuffers,
  chunkSupported,
  type DecodedChunk,
  decodeChunk,
  type IntegerRead,
  integerRead,
  isStringLeaf,
  loadZstd,
  type ParquetChunk,
  type ParquetLeaf,
  ParquetUnsupported,
  readParquetFooter,
  timestampRead,
} from './parquet-format.js';
import {
  claimHere,
  claimThere,
  type HandedColumn,
  type HandedViewers,
  handedBuffers,
  ViewerHandoff,
  viewerClaims,
} from './parts-handoff.js';
import {
  type ColumnViews,
  type ExportedIdSide,
  type FileStats,
  ID_KEY_TAG,
  type IdSide,
  mapPresenceHeader,
  PRESENCE_LIMITS,
  type PresenceBuilder,
  type PresenceReadOptions,
  type RejectLog,
  sharedColumns,
  storedRowProblem,
} from './presence-rows.js';
import {
  defaultThreads,
  PARALLEL_PARQUET_MIN_ROWS,
  readBeside,
  readInTwoThreads,
  startReadWorker,
  type WorkerReadOutput,
  type WorkerReply,
} from './read-worker.js';

/** The columns read, by role. */
const ROLES = ['channel', 'viewer', 'ts', 'messages'] as const;
/** The Twitch-id columns: read when a row group holds any (only the column split reads them). */
const ID_ROLES = ['viewer_id', 'channel_id'] as const;
type Role = (typeof ROLES)[number] | (typeof ID_ROLES)[number];

/** One part as the direct read takes it (plain data: it is sent to the worker as is). */
export interface PartPlan {
  path: string;
  /** Leaves of the read columns (messages may be absent). */
  leaves: Partial<Record<Role, ParquetLeaf>>;
  ts: IntegerRead;
  messages: IntegerRead | undefined;
  rowGroups: { rows: number; chunks: Partial<Record<Role, ParquetChunk>> }[];
}

/** A row group of a part: the unit the two threads split. */
export interface PartUnit {
  part: number;
  rowGroup: number;
  /** Rows before the row group in all parts (its rows are numbered from here + 1). */
  firstRow: number;
  /** The rows of the row group it takes: [from, to) (the two threads may split one). */
  from: number;
  to: number;
}

const HIVE_SOURCE = /(?:^|[\\/])source=([^\\/]*)[\\/]/g;

/**
 * The parts' footers checked and planned, or why they do not qualify (the caller then takes
 * DuckDB; the reason is for tests and debugging).
 */
export async function planParts(
  files: string[],
): Promise<{ plans: PartPlan[]; rows: number; ids: boolean } | { why: string }> {
  const plans: PartPlan[] = [];
  let rows = 0;
  let withIds = false;
  for (const path of files) {
    // DuckDB reads the partition value from the path: only the sources analysis knows go here
    const sources = [...path.matchAll(HIVE_SOURCE)].map((m) => (m[1] ?? '').toLowerCase());
    if (sources.length !== 1 || !['live', 'vod', 'import'].includes(sources[0] as string))
      return { why: `${path}: no known source= in its path` };
    const fh = await open(path, 'r');
    try {
      const footer = await readParquetFooter(fh, (await fh.stat()).size);
      const names = footer.leaves.map((l) => l.name);
      const col = mapPresenceHeader(names);
      if (col.source >= 0) return { why: `${path}: a source column beside source=` };
      const leaves: PartPlan['leaves'] = {};
      for (const role of ROLES) {
        const i = col[role];
        if (i < 0) {
          if (role !== 'messages') return { why: `${path}: no ${role} column` };
          continue;
        }
        const leaf = footer.leaves[i] as ParquetLeaf;
        if (leaf.name !== role) return { why: `${path}: ${role} is the column ${leaf.name}` };
        leaves[role] = leaf;
      }
      if (!isStringLeaf(leaves.channel as ParquetLeaf) || !isStringLeaf(leaves.viewer as ParquetLeaf))
        return { why: `${path}: channel or viewer not a string column` };
      const ts = timestampRead(leaves.ts as ParquetLeaf);
      if (!ts) return { why: `${path}: ts not a local-time timestamp in ms or µs` };
      const messages = leaves.messages ? integerRead(leaves.messages) : undefined;
      if (leaves.messages && !messages) return { why: `${path}: messages not an integer column` };
      const rowGroups: PartPlan['rowGroups'] = [];
      for (const rg of footer.rowGroups) {
        const chunks: PartPlan['rowGroups'][number]['chunks'] = {};
        // Twitch ids key rows (see `IdSide`): read where a row group holds any, as strings
        for (const role of ID_ROLES) {
          const i = col[role];
          if (i < 0) continue;
          const leaf = footer.leaves[i] as ParquetLeaf;
          const c = rg.chunks.get(leaf.name);
          if (!c || (c.nullCount >= 0 && c.nullCount >= c.values)) continue;
          if (leaf.name !== role) return { why: `${path}: Twitch ids in the column ${leaf.name}` };
          if (!isStringLeaf(leaf)) return { why: `${path}: ${role} not a string column` };
          if (!chunkSupported(c))
            return { why: `${path}: ${role} has codec ${c.codec}, encodings ${c.encodings.join(',')}` };
          leaves[role] = leaf;
          chunks[role] = c;
          withIds = true;
        }
        for (const role of ROLES) {
          if (!leaves[role]) continue;
          const c = rg.chunks.get(role);
          if (!c) return { why: `${path}: a row group without ${role}` };
          if (!chunkSupported(c))
            return { why: `${path}: ${role} has codec ${c.codec}, encodings ${c.encodings.join(',')}` };
          chunks[role] = c;
        }
        rowGroups.push({ rows: rg.rows, chunks });
        rows += rg.rows;
      }
      plans.push({ path, leaves, ts, messages, rowGroups });
    } catch (err) {
      if (err instanceof ParquetUnsupported) return { why: `${path}: ${err.message}` };
      throw err;
    } finally {
      await fh.close();
    }
  }
  return { plans, rows, ids: withIds };
}

/** Every row group of the plans, in order. */
export function partUnits(plans: PartPlan[]): PartUnit[] {
  const units: PartUnit[] = [];
  let firstRow = 0;
  for (let part = 0; part < plans.length; part++) {
    const groups = (plans[part] as PartPlan).rowGroups;
    for (let rowGroup = 0; rowGroup < groups.length; rowGroup++) {
      const rows = (groups[rowGroup] as { rows: number }).rows;
      units.push({ part, rowGroup, firstRow, from: 0, to: rows });
      firstRow += rows;
    }
  }
  return units;
}

/** Decoding buffers of each role (reused from row group to row group). */
type Buffers = Record<Role, DecodedChunk>;

function buffers(): Buffers {
  return {
    channel: chunkBuffers(),
    viewer: chunkBuffers(),
    ts: chunkBuffers(),
    messages: chunkBuffers(),
    viewer_id: chunkBuffers(),
    channel_id: chunkBuffers(),
  };
}

/**
 * Reads a row group's chunks of `roles` (those the part has) in one read and decodes them; ts in
 * epoch ms and messages as the plan says to read them.
 */
async function decodeUnit(
  plans: PartPlan[],
  unit: PartUnit,
  roles: readonly Role[],
  into: Buffers,
  /** Where a role's integers go instead of its buffer (see `decodeChunk`). */
  targets: Partial<Record<Role, Float64Array>> = {},
): Promise<{ n: number; chunks: Partial<Buffers> }> {
  const plan = plans[unit.part] as PartPlan;
  const rg = plan.rowGroups[unit.rowGroup] as PartPlan['rowGroups'][number];
  const present = roles.filter((r) => rg.chunks[r]);
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const r of present) {
    const c = rg.chunks[r] as ParquetChunk;
    lo = Math.min(lo, c.start);
    hi = Math.max(hi, c.start + c.size);
  }
  const bytes = new Uint8Array(Math.max(0, hi - lo));
  const fh = await open(plan.path, 'r');
  try {
    const { bytesRead } = await fh.read(bytes, 0, bytes.length, lo);
    if (bytesRead !== bytes.length)
      throw new ParquetUnsupported(`${plan.path}: shorter than its footer says`);
  } finally {
    await fh.close();
  }
  const chunks: Partial<Buffers> = {};
  for (const r of present) {
    const ints = r === 'ts' ? plan.ts : r === 'messages' ? plan.messages : undefined;
    chunks[r] = decodeNamed(plan.path, () =>
      decodeChunk(
        bytes,
        lo,
        rg.chunks[r] as ParquetChunk,
        plan.leaves[r] as ParquetLeaf,
        rg.rows,
        into[r],
        ints,
        targets[r],
      ),
    );
  }
  return { n: rg.rows, chunks };
}

/** `decode()`, its `ParquetUnsupported` naming the part. */
function decodeNamed<T>(path: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ParquetUnsupported) throw new ParquetUnsupported(`${path}: ${err.message}`);
    throw err;
  }
}

/** What a read of units carries from one row group to the next. */
class UnitReader {
  private readonly chunks = buffers();
  private status = new Uint8Array(0);
  private hashes = new Int32Array(0);
  private runStarts = new Int32Array(0);
  private readonly minTs = PRESENCE_LIMITS.minTs;
  private readonly maxTs = Date.now() + PRESENCE_LIMITS.futureToleranceMs;
  private readonly ws: number;
  private readonly we: number;
  readonly st: FileStats = { good: 0, bad: 0, outside: 0 };

  constructor(
    private readonly plans: PartPlan[],
    private readonly b: PresenceBuilder,
    private readonly log: RejectLog,
    private readonly label: string,
    opts: PresenceReadOptions,
    /** Rows before this read's first: reject lines count from there. */
    private readonly lineBase: number,
  ) {
    this.ws = opts.windowStart ?? Number.NEGATIVE_INFINITY;
    this.we = opts.windowEnd ?? Number.POSITIVE_INFINITY;
  }

  /** Decodes one row group and stores its kept rows. */
  async read(unit: PartUnit): Promise<void> {
    const { n, chunks } = await decodeUnit(this.plans, unit, ROLES, this.chunks);
    const plan = this.plans[unit.part] as PartPlan;
    const messages = plan.messages ? chunks.messages?.values : undefined;
    this.store(
      unit,
      n,
      chunks.channel as DecodedChunk,
      chunks.viewer as DecodedChunk,
      (chunks.ts as DecodedChunk).values,
      messages,
    );
  }

  private store(
    unit: PartUnit,
    n: number,
    channel: DecodedChunk,
    viewer: DecodedChunk,
    T: Float64Array,
    M: Float64Array | undefined,
  ): void {
    if (this.status.length < n) {
      this.status = new Uint8Array(n);
      this.hashes = new Int32Array(n);
      this.runStarts = new Int32Array(n);
    }
    const status = this.status;
    const { minTs, maxTs, ws, we } = this;
    const maxM = PRESENCE_LIMITS.maxMessages;
    const { from, to } = unit;
    // a missing count is 1, as the DuckDB read's coalesce makes it
    if (M) for (let i = from; i < to; i++) if (Number.isNaN(M[i])) M[i] = 1;
    // rows of the row group outside [from, to) are the other thread's: 3, skipped silently
    status.fill(3, 0, from);
    status.fill(3, to, n);
    for (let i = from; i < to; i++) {
      const t = T[i] as number;
      const m = M ? (M[i] as number) : 1;
      status[i] = t >= minTs && t <= maxTs && m >= 0 && m <= maxM ? 0 : 2;
    }
    checkNames(channel, n, status);
    const viewerRuns = checkNames(viewer, n, status, this.runStarts);
    let keep = 0;
    for (let i = from; i < to; i++) {
      if (status[i] === 2) {
        this.reject(unit, i, channel, viewer, T[i] as number, M ? (M[i] as number) : 1);
        continue;
      }
      const t = T[i] as number;
      if (t >= ws && t < we) keep++;
      else {
        status[i] = 1;
        this.st.outside++;
      }
    }
    const b = this.b;
    const r = b.length;
    if (r + keep > b.channel.length) b.reserve(r + keep);
    let k = r;
    for (let i = from; i < to; i++) {
      if (status[i] !== 0) continue;
      b.ts[k] = T[i] as number;
      b.messages[k] = M ? (M[i] as number) : 1;
      k++;
    }
    internColumn(channel, n, status, b.channels, b.channel, r, undefined, this.hashes);
    internColumn(viewer, n, status, b.viewers, b.viewer, r, viewerRuns, this.hashes);
    b.length = r + keep;
    this.st.good += keep;
  }

  private reject(
    unit: PartUnit,
    i: number,
    channel: DecodedChunk,
    viewer: DecodedChunk,
    ts: number,
    m: number,
  ) {
    this.st.bad++;
    const line = unit.firstRow - this.lineBase + i + 1;
    const reason = `row ${line}: ${storedRowProblem(nameAt(channel, i), nameAt(viewer, i), ts, m, this.maxTs)}`;
    this.log.add(this.label, line, reason);
    this.st.firstBad ??= { file: this.label, line, reason };
  }
}

const utf8 = new TextDecoder();

/** Row i's name as a string ('' for a null). */
function nameAt(c: DecodedChunk, i: number): string {
  const [s, l] = place(c, i);
  return utf8.decode(c.bytes.subarray(s, s + l));
}

/** Where row i's bytes are: [start, length]. */
function place(c: DecodedChunk, i: number): [number, number] {
  if (c.index) {
    const e = c.index[i] as number;
    return e < 0
      ? [0, 0]
      : [(c.dictStart as Int32Array)[e] as number, (c.dictLen as Int32Array)[e] as number];
  }
  return [c.start[i] as number, c.len[i] as number];
}

/** A name is rejected when empty (or null), longer than the limit, or holding a NUL byte. */
function badName(bytes: Uint8Array, s: number, l: number): boolean {
  if (l === 0 || l > PRESENCE_LIMITS.maxNameBytes) return true;
  for (let j = s, e = s + l; j < e; j++) if (bytes[j] === 0) return true;
  return false;
}

/**
 * Marks rows (status 2) whose name is bad: per dictionary entry once, else per run of equal
 * names. With `runs`, returns it filled: 1 where a row's bytes differ from the row before's.
 */
function checkNames(
  c: DecodedChunk,
  n: number,
  status: Uint8Array,
  runs?: Int32Array,
): Int32Array | undefined {
  const bytes = c.bytes;
  if (c.index) {
    const dictStart = c.dictStart as Int32Array;
    const dictLen = c.dictLen as Int32Array;
    const bad = new Uint8Array(dictStart.length);
    for (let e = 0; e < bad.length; e++)
      bad[e] = badName(bytes, dictStart[e] as number, dictLen[e] as number) ? 1 : 0;
    const index = c.index;
    for (let i = 0; i < n; i++) {
      const e = index[i] as number;
      if (e < 0 || bad[e] === 1) status[i] = 2;
    }
    if (runs) for (let i = 0; i < n; i++) runs[i] = i === 0 || index[i] !== index[i - 1] ? 1 : 0;
    return runs;
  }
  const start = c.start;
  const len = c.len;
  let wasBad = false;
  for (let i = 0; i < n; i++) {
    const s = start[i] as number;
    const l = len[i] as number;
    const run = i > 0 && l === len[i - 1] && sameBytes(bytes, s, start[i - 1] as number, l) ? 0 : 1;
    if (runs) runs[i] = run;
    if (run === 1) wasBad = badName(bytes, s, l);
    if (wasBad) status[i] = 2;
  }
  return runs;
}

/** Rows hashed and their table slots read together before the look-ups (see `touchSlots`). */
const TOUCH_BATCH = 256;

/**
 * The kept rows' (status 0) names into ids at out[at…], in row order: per dictionary entry
 * once; or, with `runs`, once per run (a row equal to the kept row before takes its id), the run
 * starts hashed and their slots touched a batch at a time first.
 */
function internColumn(
  c: DecodedChunk,
  n: number,
  status: Uint8Array,
  interner: PresenceBuilder['channels'],
  out: Uint32Array,
  at: number,
  runs: Int32Array | undefined,
  hashes: Int32Array,
): void {
  const bytes = c.bytes;
  let k = at;
  if (c.index) {
    const dictStart = c.dictStart as Int32Array;
    const dictLen = c.dictLen as Int32Array;
    const ids = new Int32Array(dictStart.length).fill(-1);
    const index = c.index;
    for (let i = 0; i < n; i++) {
      if (status[i] !== 0) continue;
      const e = index[i] as number;
      let id = ids[e] as number;
      if (id < 0) {
        const s = dictStart[e] as number;
        id = interner.intern(bytes, s, s + (dictLen[e] as number));
        ids[e] = id;
      }
      out[k++] = id;
    }
    return;
  }
  const start = c.start;
  const len = c.len;
  const fold = interner.foldTable;
  let prevKept = -1;
  let prevId = 0;
  for (let b0 = 0; b0 < n; b0 += TOUCH_BATCH) {
    const b1 = Math.min(n, b0 + TOUCH_BATCH);
    // which kept rows start a run (against the kept row before), hashed
    let count = 0;
    let last = prevKept;
    for (let i = b0; i < b1; i++) {
      if (status[i] !== 0) continue;
      const repeat = runs !== undefined && last === i - 1 && runs[i] === 0;
      last = i;
      if (repeat) continue;
      const s = start[i] as number;
      hashes[count++] = fnv(fold, bytes, s, s + (len[i] as number));
    }
    interner.touchSlots(hashes, count);
    let h = 0;
    for (let i = b0; i < b1; i++) {
      if (status[i] !== 0) continue;
      const repeat = runs !== undefined && prevKept === i - 1 && runs[i] === 0;
      prevKept = i;
      if (!repeat) {
        const s = start[i] as number;
        prevId = interner.internHashed(bytes, s, s + (len[i] as number), hashes[h++] as number);
      }
      out[k++] = prevId;
    }
  }
}

/** Reads the units into `b` (this thread). */
export async function readUnits(
  plans: PartPlan[],
  units: PartUnit[],
  b: PresenceBuilder,
  log: RejectLog,
  label: string,
  opts: PresenceReadOptions,
  total: number,
): Promise<FileStats> {
  await loadZstd();
  const lineBase = units[0] ? units[0].firstRow + units[0].from : 0;
  const reader = new UnitReader(plans, b, log, label, opts, lineBase);
  let seen = 0;
  for (const u of units) {
    await reader.read(u);
    seen += u.to - u.from;
    opts.onProgress?.(`reading ${label}`, seen, total);
  }
  return reader.st;
}

/**
 * The column split of the two-thread read, for reads without a window: this thread decodes and
 * interns the viewers of every row group, the worker the channels, instants and counts
 * (`readNumberColumns`), both into one set of shared columns at the rows' own places. Neither
 * interns a name twice or merges a viewer table, as splitting the rows would. It holds only when
 * every row is kept: a thread that meets a row to reject raises `stop`, and the caller reads the
 * parts again by rows (undefined here, and nothing kept).
 */
export async function readColumnsInTwo(
  plans: PartPlan[],
  units: PartUnit[],
  total: number,
  b: PresenceBuilder,
  label: string,
  opts: PresenceReadOptions,
): Promise<FileStats | undefined> {
  const start = b.length;
  const viewersBefore = b.viewers.size;
  const idsBefore = b.viewerIds;
  const loginsBefore = idsBefore?.logins.size ?? 0;
  const shared = sharedColumns(start + total);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const withIds = plans.some((p) => p.leaves.viewer_id);
  // the worker decodes viewer columns too while it is ahead (parts-handoff.ts)
  const claims = viewerClaims(units.length);
  const handoff = new ViewerHandoff();
  const started = await startReadWorker<NumbersOutput>(
    new URL('./parts-direct-worker.mjs', import.meta.url),
    {
      mode: 'numbers',
      plans,
      units,
      shared,
      at: start,
      stop,
      claims,
    } satisfies NumbersWorkerInput,
    (note) => handoff.put(note),
  );
  if (!started) return undefined;
  void started.reply.then(() => handoff.close());
  b.adopt(shared);
  b.reserveViewersFor(total);
  // with Twitch ids a viewer's first login is interned too: size that table as the keys' one
  if (withIds) {
    const logins = b.idSide('viewer').logins;
    logins.reserve(logins.size + Math.min(Math.ceil(total / 8), 1 << 22));
  }
  // viewers of rows the one-thread read would not keep may be interned by then: forget them
  const undo = () => {
    b.viewers.rollback(viewersBefore);
    if (idsBefore) idsBefore.logins.rollback(loginsBefore);
    else b.viewerIds = undefined;
    b.truncate(start);
  };
  const keyed = keyedViewers();
  let clean: boolean;
  let there: WorkerReply<NumbersOutput>;
  try {
    ({ here: clean, there } = await readBeside(
      started,
      () =>
        readViewerColumn(plans, units, b, start, stop, keyed, { claims, handoff }, (seen) =>
          opts.onProgress?.(`reading ${label}`, seen, total),
        ),
      opts.onWorkerDone,
    ));
  } catch (err) {
    undo();
    throw err;
  }
  const channels = there.ok?.channels;
  if (!clean || !channels) {
    undo();
    return undefined;
  }
  const map = b.channels.internExported(channels);
  let identity = true;
  for (let i = 0; i < map.length; i++) if (map[i] !== i) identity = false;
  if (!identity) {
    const c = b.channel;
    for (let r = start, e = start + total; r < e; r++) c[r] = map[c[r] as number] as number;
  }
  const channelIds = there.ok?.channelIds;
  if (channelIds) b.idSide('channel').merge(channelIds, map);
  if (keyed.used) noteKeyedRows(b, keyed, start, start + total);
  b.length = start + total;
  return { parallel: true, good: total, bad: 0, outside: 0 };
}

/**
 * The worker's answer in the column split: its channels' names when every row was kept, and
 * their latest logins where rows had Twitch ids.
 */
export interface NumbersOutput {
  channels?: ExportedNames;
  channelIds?: ExportedIdSide;
}

/** What the worker of the column split gets. */
export interface NumbersWorkerInput {
  mode: 'numbers';
  plans: PartPlan[];
  units: PartUnit[];
  /** The shared columns; rows go to `at` + their row number. */
  shared: ColumnViews;
  at: number;
  /** Raised (1) by the thread that meets a row to reject. */
  stop: Int32Array;
  /** Who decodes each row group's viewers (parts-handoff.ts); none: this thread, all of them. */
  claims?: Int32Array;
}

/** A zero status per row: every row kept. */
let kept = new Uint8Array(0);
function allKept(n: number): Uint8Array {
  if (kept.length < n) kept = new Uint8Array(n);
  return kept;
}

/** This thread's side of the column split: the viewers of every row group. False when stopped. */
async function readViewerColumn(
  plans: PartPlan[],
  units: PartUnit[],
  b: PresenceBuilder,
  at: number,
  stop: Int32Array,
  keyed: KeyedViewers,
  worker: { claims: Int32Array; handoff: ViewerHandoff },
  progress: (seen: number) => void,
): Promise<boolean> {
  await loadZstd();
  const into = buffers();
  const runs = { start: new Int32Array(0), hash: new Int32Array(0) };
  const idRuns = { start: new Int32Array(0), hash: new Int32Array(0) };
  const plainViewer = { start: new Int32Array(0), len: new Int32Array(0) };
  const plainIds = { start: new Int32Array(0), len: new Int32Array(0) };
  const { claims, handoff } = worker;
  let seen = 0;
  for (let k = 0; k < units.length; k++) {
    const u = units[k] as PartUnit;
    if (Atomics.load(stop, 0) !== 0) return false;
    if (!claimHere(claims, k)) {
      // the worker decoded them (or declined: then they are decoded here)
      const h = await handoff.take(k);
      const logins = h?.logins;
      if (logins) {
        const runsOf = (c: HandedColumn) => ({ start: c.runStart, hash: c.runHash });
        if (!h.ids) internRuns(logins, logins.count, runsOf(logins), b.viewers, b.viewer, at + u.firstRow);
        else if (!internKeyedRuns(logins, h.ids, runsOf(logins), runsOf(h.ids), b, at + u.firstRow, keyed)) {
          Atomics.store(stop, 0, 1);
          return false;
        }
        seen += logins.rows;
        progress(seen);
        continue;
      }
    }
    const { n, chunks } = await decodeUnit(plans, u, ['viewer', 'viewer_id'], into);
    if (runs.start.length < n + 1) {
      runs.start = new Int32Array(n + 1);
      runs.hash = new Int32Array(n);
    }
    const viewer = chunks.viewer as DecodedChunk;
    const ids = chunks.viewer_id;
    if (ids) {
      // rows keyed by Twitch id: PLAIN columns (as DuckDB writes them) with every row kept
      if (idRuns.start.length < n + 1) {
        idRuns.start = new Int32Array(n + 1);
        idRuns.hash = new Int32Array(n);
      }
      const fold = b.viewers.foldTable;
      const logins = plainView(viewer, n, plainViewer);
      const count = keptRuns(logins, n, fold, runs);
      const idCol = plainView(ids, n, plainIds);
      const idCount = count < 0 ? -1 : keptRuns(idCol, n, fold, idRuns, ID_RUNS);
      if (idCount < 0 || !internKeyedRuns(logins, idCol, runs, idRuns, b, at + u.firstRow, keyed)) {
        Atomics.store(stop, 0, 1);
        return false;
      }
      seen += n;
      progress(seen);
      continue;
    }
    const count = viewer.index ? -1 : keptRuns(viewer, n, b.viewers.foldTable, runs);
    if (count === -1) {
      // a dictionary column (not how DuckDB writes viewers), or a name to reject
      const status = allKept(n);
      const flags = new Int32Array(n);
      checkNames(viewer, n, status, flags);
      if (status.subarray(0, n).some((x) => x !== 0)) {
        status.fill(0, 0, n);
        Atomics.store(stop, 0, 1);
        return false;
      }
      internColumn(viewer, n, status, b.viewers, b.viewer, at + u.firstRow, flags, runs.hash);
    } else internRuns(viewer, count, runs, b.viewers, b.viewer, at + u.firstRow);
    seen += n;
    progress(seen);
  }
  return true;
}

/**
 * The runs of equal names of a PLAIN column, every row kept: where each starts (`start`, then n)
 * and its hash; their count, or -1 when a name is bad (a row to reject). One pass over the
 * bytes: the run check, the name check and the hash together.
 */
export function keptRuns(
  c: DecodedChunk,
  n: number,
  fold: Uint8Array,
  runs: { start: Int32Array; hash: Int32Array },
  o: RunOptions = PLAIN_RUNS,
): number {
  const bytes = c.bytes;
  const start = c.start;
  const len = c.len;
  const max = PRESENCE_LIMITS.maxNameBytes;
  const rs = runs.start;
  const rh = runs.hash;
  // the same in WebAssembly where it can (name-runs.ts); this loop otherwise
  const fast = nameRuns(bytes, start, len, n, fold, max, rs, rh, o);
  if (fast !== undefined) return fast;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const s = start[i] as number;
    const l = len[i] as number;
    if (i > 0 && l === len[i - 1] && sameBytes(bytes, s, start[i - 1] as number, l)) continue;
    if (l > max || (l === 0 && !o.emptyOk)) return -1;
    let h = o.seed;
    for (let j = s, e = s + l; j < e; j++) {
      const b = bytes[j] as number;
      if (b === 0) return -1;
      h = Math.imul(h ^ (fold[b] as number), FNV_PRIME);
    }
    rs[count] = i;
    rh[count++] = h;
  }
  rs[count] = n;
  return count;
}

/** `keptRuns`' runs interned in order (their slots read ahead a batch at a time), ids to out[at…]. */
/** What `internRuns` and `internKeyedRuns` read of a decoded column: the names' bytes, each row's place in them, the rows. */
type ViewerBytes = Pick<DecodedChunk, 'bytes' | 'start' | 'len' | 'rows'>;

function internRuns(
  c: ViewerBytes,
  count: number,
  runs: { start: Int32Array; hash: Int32Array },
  interner: ByteInterner,
  out: Uint32Array,
  at: number,
): void {
  const bytes = c.bytes;
  const start = c.start;
  const len = c.len;
  const rs = runs.start;
  const rh = runs.hash;
  for (let b0 = 0; b0 < count; b0 += TOUCH_BATCH) {
    const b1 = Math.min(count, b0 + TOUCH_BATCH);
    interner.touchSlots(rh.subarray(b0, b1), b1 - b0);
    for (let j = b0; j < b1; j++) {
      const i = rs[j] as number;
      const s = start[i] as number;
      const id = interner.internHashed(bytes, s, s + (len[i] as number), rh[j] as number);
      for (let r = at + i, e = at + (rs[j + 1] as number); r < e; r++) out[r] = id;
    }
  }
}

/** Twitch ids' runs: hashed as their keys (`ID_KEY_TAG`, then the id) are, a missing id allowed. */
const ID_RUNS: RunOptions = { seed: Math.imul(FNV_OFFSET_I32 ^ ID_KEY_TAG, FNV_PRIME), emptyOk: true };

/**
 * What the viewer side of the column split keeps of rows keyed by Twitch id, for `noteKeyedRows`
 * (which needs their instants, the worker's column): each key's first login in this read, and
 * the runs whose login is another (a rename), in row order.
 */
interface KeyedViewers {
  used: boolean;
  /** Per key: its first login here (an id of the side's logins) + 1; 0 for a login key. */
  first: Uint32Array;
  otherStart: number[];
  otherEnd: number[];
  otherLogin: number[];
  scratch: Uint8Array;
  merged: { start: Int32Array; hash: Int32Array; loginHash: Int32Array; keyed: Uint8Array };
}

function keyedViewers(): KeyedViewers {
  return {
    used: false,
    first: new Uint32Array(1024),
    otherStart: [],
    otherEnd: [],
    otherLogin: [],
    scratch: new Uint8Array(PRESENCE_LIMITS.maxNameBytes + 1),
    merged: {
      start: new Int32Array(0),
      hash: new Int32Array(0),
      loginHash: new Int32Array(0),
      keyed: new Uint8Array(0),
    },
  };
}

/**
 * A dictionary column's rows as a PLAIN column's: each row's entry's start and length in `into`
 * (a null has length 0). Its rows are not in byte order then, which `nameRuns` declines and
 * `keptRuns`' own loop takes.
 */
function plainView(c: DecodedChunk, n: number, into: { start: Int32Array; len: Int32Array }): DecodedChunk {
  const index = c.index;
  if (!index) return c;
  if (into.start.length < n) {
    into.start = new Int32Array(n);
    into.len = new Int32Array(n);
  }
  const dictStart = c.dictStart as Int32Array;
  const dictLen = c.dictLen as Int32Array;
  const { start, len } = into;
  for (let i = 0; i < n; i++) {
    const e = index[i] as number;
    start[i] = e < 0 ? 0 : (dictStart[e] as number);
    len[i] = e < 0 ? 0 : (dictLen[e] as number);
  }
  return { ...c, index: undefined, start, len };
}

/** An id the DuckDB read would trim (it takes `trim(viewer_id)`): a space or control byte, or non-ASCII, at an end. */
function untrimmed(bytes: Uint8Array, s: number, l: number): boolean {
  const a = bytes[s] as number;
  const z = bytes[s + l - 1] as number;
  return a <= 0x20 || a >= 0x7f || z <= 0x20 || z >= 0x7f;
}

/**
 * A row group's viewers keyed as `PresenceBuilder.viewerKey` keys them, ids to out[at…]: a row
 * with a Twitch id by `ID_KEY_TAG` + id, one without by its login. The runs of either column
 * (`keptRuns`) split the rows into runs of one key and one login, interned once each (their
 * slots read ahead a batch at a time); a key's login is interned where the key is first seen
 * and compared with later runs' logins (a rename is kept for `noteKeyedRows`). False at an id
 * the DuckDB read would trim (then it reads the parts).
 */
function internKeyedRuns(
  viewer: ViewerBytes,
  ids: ViewerBytes,
  runs: { start: Int32Array; hash: Int32Array },
  idRuns: { start: Int32Array; hash: Int32Array },
  b: PresenceBuilder,
  at: number,
  keyed: KeyedViewers,
): boolean {
  const keys = b.viewers;
  const logins = b.idSide('viewer').logins;
  keyed.used = true;
  const { bytes: vb, start: vs, len: vl } = viewer;
  const { bytes: ib, start: is, len: il } = ids;
  const ra = runs.start;
  const ha = runs.hash;
  const rb = idRuns.start;
  const hb = idRuns.hash;
  const n = viewer.rows;
  let m = keyed.merged;
  if (m.start.length < n + 1) {
    m = {
      start: new Int32Array(n + 1),
      hash: new Int32Array(n),
      loginHash: new Int32Array(n),
      keyed: new Uint8Array(n),
    };
    keyed.merged = m;
  }
  const ms = m.start;
  const mh = m.hash;
  const mk = m.keyed;
  const ml = m.loginHash;
  // the runs of both columns merged: each a run of one login and one id
  let count = 0;
  for (let a = 0, q = 0, cur = 0; cur < n; count++) {
    const ea = ra[a + 1] as number;
    const eb = rb[q + 1] as number;
    const next = Math.min(ea, eb);
    ms[count] = cur;
    const withId = (il[cur] as number) > 0;
    mk[count] = withId ? 1 : 0;
    ml[count] = ha[a] as number;
    mh[count] = withId ? (hb[q] as number) : (ml[count] as number);
    if (ea === next) a++;
    if (eb === next) q++;
    cur = next;
  }
  ms[count] = n;
  const out = b.viewer;
  const sc = keyed.scratch;
  sc[0] = ID_KEY_TAG;
  for (let b0 = 0; b0 < count; b0 += TOUCH_BATCH) {
    const b1 = Math.min(count, b0 + TOUCH_BATCH);
    keys.touchSlots(mh.subarray(b0, b1), b1 - b0);
    for (let j = b0; j < b1; j++) {
      const i = ms[j] as number;
      const ls = vs[i] as number;
      const le = ls + (vl[i] as number);
      let key: number;
      if (mk[j] === 0) key = keys.internHashed(vb, ls, le, mh[j] as number);
      else {
        const s0 = is[i] as number;
        const l0 = il[i] as number;
        if (untrimmed(ib, s0, l0)) return false;
        for (let k = 0; k < l0; k++) sc[k + 1] = ib[s0 + k] as number;
        key = keys.internHashed(sc, 0, l0 + 1, mh[j] as number);
        if (key >= keyed.first.length) {
          const g = new Uint32Array(Math.max(key + 1, keyed.first.length * 2));
          g.set(keyed.first);
          keyed.first = g;
        }
        const f = keyed.first[key] as number;
        if (f === 0) keyed.first[key] = logins.internHashed(vb, ls, le, ml[j] as number) + 1;
        else if (!logins.sameName(f - 1, vb, ls, le)) {
          keyed.otherStart.push(at + i);
          keyed.otherEnd.push(at + (ms[j + 1] as number));
          keyed.otherLogin.push(logins.internHashed(vb, ls, le, ml[j] as number));
        }
      }
      for (let r = at + i, e = at + (ms[j + 1] as number); r < e; r++) out[r] = key;
    }
  }
  return true;
}

/**
 * The latest login of each Twitch-id key the column split read, as `IdSide.note` gives it row by
 * row (by ts; on equal ts the row read last): every row of rows [from, to) with its key's first
 * login, or its rename's.
 */
function noteKeyedRows(b: PresenceBuilder, keyed: KeyedViewers, from: number, to: number): void {
  const side = b.idSide('viewer');
  side.reserve(b.viewers.size);
  if (keyed.first.length < b.viewers.size) {
    const g = new Uint32Array(b.viewers.size);
    g.set(keyed.first);
    keyed.first = g;
  }
  const first = keyed.first;
  const loginOf = side.loginOf;
  const latest = side.latestTs;
  const viewer = b.viewer;
  const ts = b.ts;
  const { otherStart: os, otherEnd: oe, otherLogin: ol } = keyed;
  let e = 0;
  let next = os.length > 0 ? (os[0] as number) : to;
  for (let r = from; r < to; r++) {
    const k = viewer[r] as number;
    const f = first[k] as number;
    if (f === 0) continue;
    let login = f - 1;
    if (r >= next) {
      while (e < os.length && r >= (oe[e] as number)) e++;
      next = e < os.length ? (os[e] as number) : to;
      if (r >= next) login = ol[e] as number;
    }
    const t = ts[r] as number;
    if (t >= (latest[k] as number)) {
      latest[k] = t;
      loginOf[k] = login;
    }
  }
}

/**
 * The worker's side of the column split: channels (interned into `channels`), instants and
 * counts of every row group into the shared columns. False when stopped or a row is not kept.
 */
export async function readNumberColumns(
  input: NumbersWorkerInput,
  b: PresenceBuilder,
  /** Posts a row group's viewers to the other thread (with `claims`: see parts-handoff.ts). */
  handOver?: (note: HandedViewers, transfer: ArrayBuffer[]) => void,
): Promise<boolean> {
  await loadZstd();
  const channels = b.channels;
  const { plans, units, shared, at, stop, claims } = input;
  const into = buffers();
  // the viewers' own (`decodeUnit` reuses a role's buffers, and the numbers' ids are the channels')
  const viewerInto = buffers();
  const minTs = PRESENCE_LIMITS.minTs;
  const maxTs = Date.now() + PRESENCE_LIMITS.futureToleranceMs;
  const maxM = PRESENCE_LIMITS.maxMessages;
  let hashes = new Int32Array(0);
  for (let k = 0; k < units.length; k++) {
    const u = units[k] as PartUnit;
    if (Atomics.load(stop, 0) !== 0) return false;
    if (handOver && claims && claimThere(claims, k)) await handViewers(plans, u, k, viewerInto, b, handOver);
    const r = at + u.firstRow;
    const rows = (plans[u.part] as PartPlan).rowGroups[u.rowGroup]?.rows ?? 0;
    // the instants straight into their column (kept only when every row is)
    const { n, chunks } = await decodeUnit(plans, u, ['channel', 'ts', 'messages', 'channel_id'], into, {
      ts: shared.ts.subarray(r, r + rows),
    });
    if (hashes.length < n) hashes = new Int32Array(n);
    const T = (chunks.ts as DecodedChunk).values;
    const M = (plans[u.part] as PartPlan).messages ? chunks.messages?.values : undefined;
    const channel = chunks.channel as DecodedChunk;
    const ids = chunks.channel_id;
    if (ids) {
      // rows keyed by Twitch id: dictionaries of both (as DuckDB writes them), every row kept
      const ok =
        channel.index && ids.index
          ? dictionaryRows(channel, ids, n, T, M, { minTs, maxTs, maxM }, b, shared, r)
          : keyedRows(channel, ids, n, T, M, { minTs, maxTs, maxM }, b, shared, r);
      if (!ok) {
        Atomics.store(stop, 0, 1);
        return false;
      }
      continue;
    }
    if (channel.index) {
      // a dictionary (as DuckDB writes channels): every check, count and id in one pass
      if (!dictionaryRows(channel, undefined, n, T, M, { minTs, maxTs, maxM }, b, shared, r)) {
        Atomics.store(stop, 0, 1);
        return false;
      }
      continue;
    }
    const status = allKept(n);
    checkNames(channel, n, status);
    let odd = false;
    for (let i = 0; i < n; i++) {
      const t = T[i] as number;
      const m = M ? (M[i] as number) : 1;
      // a missing count (NaN) is 1
      if (!(t >= minTs && t <= maxTs) || m < 0 || m > maxM || status[i] !== 0) odd = true;
    }
    if (odd) {
      status.fill(0, 0, n);
      Atomics.store(stop, 0, 1);
      return false;
    }
    const out = shared.messages;
    if (M) for (let i = 0; i < n; i++) out[r + i] = Number.isNaN(M[i]) ? 1 : (M[i] as number);
    else out.fill(1, r, r + n);
    internColumn(chunks.channel as DecodedChunk, n, status, channels, shared.channel, r, undefined, hashes);
  }
  return true;
}

/**
 * The worker's share of the other thread's work (parts-handoff.ts): row group `k`'s viewer
 * column (and its Twitch ids) decoded and their runs found as `readViewerColumn` finds them,
 * posted with copies of what that thread reads; declined when a name is bad or the logins are a
 * dictionary without ids (that thread then decodes them, and stops where it should).
 */
async function handViewers(
  plans: PartPlan[],
  u: PartUnit,
  k: number,
  into: Buffers,
  b: PresenceBuilder,
  handOver: (note: HandedViewers, transfer: ArrayBuffer[]) => void,
): Promise<void> {
  const { n, chunks } = await decodeUnit(plans, u, ['viewer', 'viewer_id'], into);
  const fold = b.viewers.foldTable;
  const viewer = chunks.viewer as DecodedChunk;
  const ids = chunks.viewer_id;
  const column = (c: DecodedChunk, o?: RunOptions): HandedColumn | undefined => {
    const runs = { start: new Int32Array(n + 1), hash: new Int32Array(n) };
    const count = keptRuns(c, n, fold, runs, o);
    if (count < 0) return undefined;
    let end = 0;
    for (let i = 0; i < n; i++) end = Math.max(end, (c.start[i] as number) + (c.len[i] as number));
    return {
      bytes: c.bytes.slice(0, end),
      start: c.start.slice(0, n),
      len: c.len.slice(0, n),
      rows: n,
      runStart: runs.start.slice(0, count + 1),
      runHash: runs.hash.slice(0, count),
      count,
    };
  };
  let note: HandedViewers = { unit: k, declined: true };
  if (ids) {
    const views = { start: new Int32Array(0), len: new Int32Array(0) };
    const logins = column(plainView(viewer, n, views));
    const keys =
      logins && column(plainView(ids, n, { start: new Int32Array(0), len: new Int32Array(0) }), ID_RUNS);
    if (logins && keys) note = { unit: k, logins, ids: keys };
  } else if (!viewer.index) {
    const logins = column(viewer);
    if (logins) note = { unit: k, logins };
  }
  handOver(note, handedBuffers(note));
}

/**
 * The column split's rows of a row group whose channels are a dictionary (as DuckDB writes
 * them), their Twitch ids too where the row group has any: each row checked (its channel's entry,
 * instant and count), its count and channel key stored at out[r + i]; false at the first row not
 * to keep, or an id the DuckDB read would trim. A row's key is its login, or with an id
 * `ID_KEY_TAG` + id, its login then noted for the key with its instant (`IdSide.note`, row by
 * row). Entries are checked once; an entry remembers the id entry it was last seen with, and that
 * pair's key and login, interned where first used.
 */
function dictionaryRows(
  channel: DecodedChunk,
  ids: DecodedChunk | undefined,
  n: number,
  T: Float64Array,
  M: Float64Array | undefined,
  limits: { minTs: number; maxTs: number; maxM: number },
  b: PresenceBuilder,
  shared: ColumnViews,
  r: number,
): boolean {
  const { minTs, maxTs, maxM } = limits;
  const bytes = channel.bytes;
  const index = channel.index as Int32Array;
  const dictStart = channel.dictStart as Int32Array;
  const dictLen = channel.dictLen as Int32Array;
  const idBytes = ids?.bytes as Uint8Array;
  const idIndex = ids?.index;
  const idStart = ids?.dictStart as Int32Array;
  const idLen = ids?.dictLen as Int32Array;
  const entries = dictStart.length;
  // per channel entry: the id entry last seen with it (-2 none yet; -1 a null), its key, login (-1: a login key)
  const withId = new Int32Array(entries).fill(-2);
  const key = new Int32Array(entries);
  const login = new Int32Array(entries);
  const bad = new Uint8Array(entries);
  for (let e = 0; e < entries; e++)
    bad[e] = badName(bytes, dictStart[e] as number, dictLen[e] as number) ? 1 : 0;
  const oc = shared.channel;
  const om = shared.messages;
  for (let i = 0; i < n; i++) {
    const t = T[i] as number;
    // a missing count (NaN) is 1
    const m0 = M ? (M[i] as number) : 1;
    const m = Number.isNaN(m0) ? 1 : m0;
    const e = index[i] as number;
    if (e < 0 || bad[e] === 1 || !(t >= minTs && t <= maxTs) || m < 0 || m > maxM) return false;
    const d = idIndex ? (idIndex[i] as number) : -1;
    if (withId[e] !== d) {
      const ls = dictStart[e] as number;
      const le = ls + (dictLen[e] as number);
      const l0 = d < 0 ? 0 : (idLen[d] as number);
      if (l0 === 0) {
        key[e] = b.channels.intern(bytes, ls, le);
        login[e] = -1;
      } else {
        const s0 = idStart[d] as number;
        if (untrimmed(idBytes, s0, l0)) return false;
        const side = b.idSide('channel');
        key[e] = side.idKey(b.channels, idBytes, s0, s0 + l0);
        login[e] = side.logins.intern(bytes, ls, le);
      }
      withId[e] = d;
    }
    const k = key[e] as number;
    const l = login[e] as number;
    if (l >= 0) (b.channelIds as IdSide).note(k, l, t);
    oc[r + i] = k;
    om[r + i] = m;
  }
  return true;
}

/**
 * `dictionaryRows` with Twitch ids for columns of any encoding (channels PLAIN: many of them in a row
 * group), row by row with `IdSide.key`.
 */
function keyedRows(
  channel: DecodedChunk,
  ids: DecodedChunk,
  n: number,
  T: Float64Array,
  M: Float64Array | undefined,
  limits: { minTs: number; maxTs: number; maxM: number },
  b: PresenceBuilder,
  shared: ColumnViews,
  r: number,
): boolean {
  const { minTs, maxTs, maxM } = limits;
  for (let i = 0; i < n; i++) {
    const t = T[i] as number;
    const m0 = M ? (M[i] as number) : 1;
    const m = Number.isNaN(m0) ? 1 : m0;
    const [ls, ll] = place(channel, i);
    const [is, il] = place(ids, i);
    if (badName(channel.bytes, ls, ll) || !(t >= minTs && t <= maxTs) || m < 0 || m > maxM) return false;
    if (il > 0 && untrimmed(ids.bytes, is, il)) return false;
    shared.channel[r + i] =
      il === 0
        ? b.channels.intern(channel.bytes, ls, ls + ll)
        : b.idSide('channel').key(b.channels, ids.bytes, is, is + il, channel.bytes, ls, ls + ll, t);
    shared.messages[r + i] = m;
  }
  return true;
}

/** Options of `readPartsDirect` (those of `readStoredParts`). */
export interface PartsReadOptions extends PresenceReadOptions {
  /** Parts of fewer rows in all are read by one thread; default `PARALLEL_PARQUET_MIN_ROWS`. */
  parallelMinRows?: number;
}

/**
 * Reads the parts into `b` when they qualify (see the module's comment), by two threads when
 * `defaultThreads` (or `opts.threads`) gives two and they hold `parallelMinRows` rows or more;
 * else, with nothing kept, why not (`declined`): they do not qualify, or (`broken`) a page of a
 * part that did cannot be decoded here — a corrupt part, or one DuckDB may still read.
 */
export async function readPartsDirect(
  files: string[],
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PartsReadOptions,
): Promise<FileStats | { declined: string; broken: boolean }> {
  if (b.extras || files.length === 0) return { declined: 'rows with extras, or no parts', broken: false };
  const planned = await planParts(files);
  if ('why' in planned) return { declined: planned.why, broken: false };
  const { plans, rows: total, ids } = planned;
  const units = partUnits(plans);
  const start = b.length;
  const logCount = log.count;
  const logKept = log.rejected.length;
  const threads = opts.threads ?? defaultThreads();
  try {
    const two = threads >= 2 && total >= 2 && total >= (opts.parallelMinRows ?? PARALLEL_PARQUET_MIN_ROWS);
    const split = two && opts.windowStart === undefined && opts.windowEnd === undefined;
    if (split) {
      const st = await readColumnsInTwo(plans, units, total, b, label, opts);
      if (st) return st;
    }
    // rows keyed by Twitch id are read here by the column split alone: DuckDB reads the rest
    if (ids)
      return {
        declined: split
          ? 'Twitch ids, and a row the column split does not keep'
          : 'Twitch ids outside the column split (one thread, or a window)',
        broken: false,
      };
    if (two) {
      // this thread: the rows up to half of all, the worker the rest (a row group may be split)
      const firstRows = Math.floor(total / 2);
      const mine: PartUnit[] = [];
      const theirs: PartUnit[] = [];
      for (const u of units) {
        const cut = Math.min(u.to, Math.max(u.from, firstRows - u.firstRow));
        if (cut > u.from) mine.push({ ...u, to: cut });
        if (cut < u.to) theirs.push({ ...u, from: cut });
      }
      const st = await readInTwoThreads(
        b,
        log,
        label,
        total,
        firstRows,
        (shared) =>
          startReadWorker<WorkerReadOutput>(new URL('./parts-direct-worker.mjs', import.meta.url), {
            mode: 'rows',
            plans,
            units: theirs,
            label,
            opts: { windowStart: opts.windowStart, windowEnd: opts.windowEnd },
            shared,
            rowsInAll: total,
          } satisfies PartsWorkerInput),
        () => internalOnUnsupported(readUnits(plans, mine, b, log, label, opts, total)),
        opts.onWorkerDone,
      );
      if (st) return st;
    }
    b.reserve(start + total);
    b.reserveViewersFor(total);
    return await readUnits(plans, units, b, log, label, opts, total);
  } catch (err) {
    if (!(err instanceof ParquetUnsupported)) throw err;
    b.truncate(start);
    log.rejected.length = logKept;
    log.count = logCount;
    return { declined: err.message, broken: true };
  }
}

/** A page this reader cannot take ends the two-thread read as the worker failing would. */
async function internalOnUnsupported(read: Promise<FileStats>): Promise<FileStats> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof ParquetUnsupported) throw new Error(`internal: ${err.message}`);
    throw err;
  }
}

/** What the worker of the two-thread read gets (`parts-direct-worker.ts`). */
export interface PartsWorkerInput {
  mode: 'rows';
  plans: PartPlan[];
  /** Its row groups, in order (its reject lines count from the first one's first row). */
  units: PartUnit[];
  label: string;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd'>;
  shared: ColumnViews;
  /** Rows of all parts: its viewer table is sized for them, as this thread's is. */
  rowsInAll: number;
}
