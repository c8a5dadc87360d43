/**
 * Presence readers: CSV (byte-level scanner), JSON Lines and Parquet (DuckDB) into one interned,
 * typed-array table. Bad rows are reported with file:line and counted; a file with no readable
 * row, mostly unreadable rows or without the required columns is an InputError.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { DuckDBVector } from '@duckdb/node-api';
import { InputError } from '../errors.js';
import type { PresenceTable } from '../model/presence-table.js';
import type { ProgressFn } from '../model/progress.js';
import { PRESENCE_SOURCES, type PresenceSource } from '../model/records.js';
import type { DuckDBConnection } from '../storage/duckdb.js';

/**
 * DuckDB is loaded on first use only: CSV and JSON reads (and the CSV worker thread) never pay
 * for loading the native module.
 */
const duck = () => import('../storage/duckdb.js');

/** SQL identifier / string literal (same as storage/duckdb's, kept here to stay DuckDB-free). */
const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

import { ByteInterner, fieldString, parseTimestampBytes, parseUint, scanCsv } from './csv-scan.js';
import type { CsvWorkerInput, CsvWorkerOutput } from './csv-worker.js';
import { decodePresenceLine, parseTimestamp } from './raw-jsonl.js';

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

type PresenceColumn = keyof typeof PRESENCE_COLUMNS;

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
function sourceCodeBytes(buf: Uint8Array, start: number, end: number): number {
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
interface FileStats {
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

function inWindow(ts: number, o: PresenceReadOptions): boolean {
  return !(
    (o.windowStart !== undefined && ts < o.windowStart) ||
    (o.windowEnd !== undefined && ts >= o.windowEnd)
  );
}

function checkFile(path: string, st: FileStats, opts: PresenceReadOptions): void {
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

/** A byte range of a CSV handled apart from its header (parallel reads). */
export interface CsvRange {
  start: number;
  end: number;
  /** The file's header fields. */
  header: string[];
}

/** Reads one CSV presence file (or a byte range of it) into `b`. */
export async function readPresenceCsv(
  path: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions,
  range?: CsvRange,
  onBatch?: BatchFn,
): Promise<FileStats & { lines: number }> {
  const st: FileStats = { good: 0, bad: 0, outside: 0 };
  let col = { channel: -1, viewer: -1, ts: -1, source: -1, messages: -1, vod_id: -1, kind: -1 };
  let need = 0;
  const reject = (line: number, reason: string) => {
    st.bad++;
    log.add(path, line, reason);
    if (!st.firstBad) st.firstBad = { file: path, line, reason };
  };
  const ex = b.extras;
  const size = range ? range.end - range.start : (await stat(path)).size;
  let estimated = false;
  const startLength = b.length;
  const header = (fields: string[], line: number) => {
    col = mapPresenceHeader(fields);
    const missing = (['channel', 'viewer', 'ts'] as const).filter((c) => col[c] < 0);
    if (missing.length) {
      throw new InputError(
        'import',
        `${path}:${line}: missing required column(s) ${missing.join(', ')} (header: ${fields.join(',').slice(0, 120)}; need channel,viewer,ts[,source,messages])`,
      );
    }
    need = Math.max(col.channel, col.viewer, col.ts) + 1;
  };
  const headerless = range !== undefined && range.start > 0;
  if (headerless) header(range.header, 1);
  const { lines } = await scanCsv(
    path,
    {
      header,
      row(buf, starts, ends, count, line) {
        if (count < need) return reject(line, `expected at least ${need} fields, got ${count}`);
        const cs = starts[col.channel] as number;
        const ce = ends[col.channel] as number;
        const vs = starts[col.viewer] as number;
        const ve = ends[col.viewer] as number;
        if (ce <= cs) return reject(line, 'empty channel');
        if (ve <= vs) return reject(line, 'empty viewer');
        const tss = starts[col.ts] as number;
        const tse = ends[col.ts] as number;
        let ts = parseTimestampBytes(buf, tss, tse);
        if (Number.isNaN(ts)) {
          ts = parseTimestamp(fieldString(buf, tss, tse));
          if (Number.isNaN(ts))
            return reject(line, `bad ts "${fieldString(buf, tss, Math.min(tse, tss + 40))}"`);
        }
        let m = 1;
        if (col.messages >= 0 && col.messages < count) {
          const ms = starts[col.messages] as number;
          const me = ends[col.messages] as number;
          if (me > ms) {
            m = parseUint(buf, ms, me);
            if (m < 0)
              return reject(
                line,
                `bad messages "${fieldString(buf, ms, Math.min(me, ms + 20))}" (expected an integer ≥ 0)`,
              );
          }
        }
        let src = 2;
        if (col.source >= 0 && col.source < count) {
          const ss = starts[col.source] as number;
          const se = ends[col.source] as number;
          if (se > ss) {
            const code = sourceCodeBytes(buf, ss, se);
            if (code < 0) {
              const s = fieldString(buf, ss, Math.min(se, ss + 20));
              return reject(line, `bad source "${s}" (live, vod or import)`);
            }
            src = code;
          }
        }
        if (!inWindow(ts, opts)) {
          st.outside++;
          return;
        }
        b.room();
        const r = b.length++;
        b.channel[r] = b.channels.intern(buf, cs, ce);
        b.viewer[r] = b.viewers.intern(buf, vs, ve);
        b.ts[r] = ts;
        b.messages[r] = m;
        if (ex) {
          ex.source[r] = src;
          let kind = 0;
          if (col.kind >= 0 && col.kind < count) {
            const k = fieldString(buf, starts[col.kind] as number, ends[col.kind] as number).trim();
            kind = k === 'membership' ? 1 : 0;
          }
          ex.kind[r] = kind;
          let vod = 0;
          if (
            col.vod_id >= 0 &&
            col.vod_id < count &&
            (ends[col.vod_id] as number) > (starts[col.vod_id] as number)
          ) {
            vod = ex.vodNames.intern(buf, starts[col.vod_id] as number, ends[col.vod_id] as number) + 1;
          }
          ex.vod[r] = vod;
        }
        st.good++;
      },
    },
    {
      start: range?.start,
      end: range?.end,
      headerless,
      afterChunk: onBatch
        ? async () => {
            if (b.length >= BATCH_ROWS) await onBatch(b);
          }
        : undefined,
      onBytes: (doneAt, total) => {
        const done = doneAt - (range?.start ?? 0);
        if (!estimated && !onBatch && st.good > 0 && done < size) {
          // Size the columns once from the rows per byte of the first chunk: no repeated growth.
          estimated = true;
          b.reserve(startLength + Math.ceil(((st.good + st.outside) / done) * size * 1.03));
        }
        opts.onProgress?.(`reading ${path}`, doneAt, total);
      },
    },
  );
  return { ...st, lines };
}

/** Files at least this big are read by two threads (this thread and one worker). */
export const PARALLEL_CSV_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Reads a large, quote-free CSV with two threads: this one scans the first half, a worker the
 * second (split at a newline), then the worker's names are interned here and its ids remapped.
 * Returns undefined when the file does not qualify or the worker cannot start (the caller then
 * reads it in one pass).
 */
async function readPresenceCsvParallel(
  path: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions,
): Promise<FileStats | undefined> {
  const size = (await stat(path)).size;
  const threads = opts.threads ?? (availableParallelism() >= 2 ? 2 : 1);
  if (threads < 2 || size < (opts.parallelMinBytes ?? PARALLEL_CSV_MIN_BYTES) || b.extras) return undefined;
  const sampleBytes = 4 * 1024 * 1024;
  const fh = await open(path, 'r');
  let sample: Buffer;
  let split = -1;
  try {
    sample = Buffer.alloc(sampleBytes);
    const { bytesRead } = await fh.read(sample, 0, sampleBytes, 0);
    sample = sample.subarray(0, bytesRead);
    // A quote could hide a newline inside a field: only split files that show none.
    if (sample.includes(34)) return undefined;
    const probe = Buffer.alloc(64 * 1024);
    const mid = Math.floor(size / 2);
    const { bytesRead: pr } = await fh.read(probe, 0, probe.length, mid);
    const nl = probe.subarray(0, pr).indexOf(10);
    if (nl < 0) return undefined;
    split = mid + nl + 1;
  } finally {
    await fh.close();
  }
  const headerEnd = sample.indexOf(10);
  if (headerEnd < 0 || split >= size) return undefined;
  const header = sample
    .subarray(sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf ? 3 : 0, headerEnd)
    .toString('utf8')
    .replace(/\r$/, '')
    .split(',');
  let rowsInSample = 0;
  for (let i = sample.indexOf(10) + 1; i > 0 && i < sample.length; i = sample.indexOf(10, i) + 1)
    rowsInSample++;
  const rowsPerByte = rowsInSample / Math.max(1, sample.length - headerEnd);
  const estimate = (bytes: number) => Math.ceil(bytes * rowsPerByte * 1.03) + 1024;
  // One set of shared columns: this thread fills [0, mid), the worker [mid, cap); the worker's
  // block then slides down behind this thread's rows. No copy of the bulk crosses threads.
  const start = b.length;
  const mid = start + estimate(split);
  const cap = mid + estimate(size - split);
  const shared = sharedColumns(cap);
  const { Worker } = await import('node:worker_threads');
  let worker: import('node:worker_threads').Worker;
  try {
    worker = new Worker(new URL('./csv-worker.mjs', import.meta.url), {
      workerData: {
        path,
        range: { start: split, end: size, header },
        opts: { windowStart: opts.windowStart, windowEnd: opts.windowEnd },
        shared: columnSlice(shared, mid, cap),
      } satisfies CsvWorkerInput,
    });
  } catch {
    return undefined;
  }
  const second = new Promise<{ ok?: CsvWorkerOutput; error?: string }>((resolveMsg) => {
    worker.once('message', resolveMsg);
    worker.once('error', (err) => resolveMsg({ error: `worker: ${err.message}` }));
    worker.once('exit', (code) => resolveMsg({ error: `worker exited with code ${code}` }));
  });
  b.adopt(columnSlice(shared, 0, mid));
  let first: FileStats & { lines: number };
  try {
    first = await readPresenceCsv(path, b, log, opts, { start: 0, end: split, header });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  const msg = await second;
  await worker.terminate();
  if (!msg.ok) {
    // Fall back to one pass: drop what this thread read.
    b.truncate(start);
    log.rejected = log.rejected.filter((r) => r.file !== path);
    log.count -= first.bad;
    if (msg.error?.startsWith('import:')) throw new InputError('import', msg.error.replace(/^import: /, ''));
    return undefined;
  }
  const w = msg.ok;
  const cmap = b.channels.internExported(w.channels);
  const vmap = b.viewers.internExported(w.viewers);
  const src = w.columns ?? columnSlice(shared, mid, mid + w.length);
  const base = b.length;
  if (b.channel.buffer === shared.channel.buffer) {
    // Still in the shared columns: take all of them; the worker's rows move down (never up).
    b.adopt(shared);
  }
  // Past the shared columns' end (the worker outgrew its block) this reallocates privately.
  b.reserve(base + w.length);
  for (let i = 0; i < w.length; i++) {
    const r = base + i;
    b.channel[r] = cmap[src.channel[i] as number] as number;
    b.viewer[r] = vmap[src.viewer[i] as number] as number;
    b.ts[r] = src.ts[i] as number;
    b.messages[r] = src.messages[i] as number;
  }
  b.length = base + w.length;
  // The worker numbered lines from its range start: shift them behind the first half.
  for (const r of w.rejected) log.add(path, r.line + first.lines, r.reason);
  log.count += w.rejectedCount - w.rejected.length;
  const firstBad =
    first.firstBad ??
    (w.rejected[0]
      ? { file: path, line: w.rejected[0].line + first.lines, reason: w.rejected[0].reason }
      : undefined);
  return {
    parallel: true,
    good: first.good + w.good,
    bad: first.bad + w.bad,
    outside: first.outside + w.outside,
    firstBad,
  };
}

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

/** Reads JSON Lines presence (raw format or any object with channel, viewer, ts). */
async function readPresenceJsonl(
  path: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions,
): Promise<FileStats> {
  const st: FileStats = { good: 0, bad: 0, outside: 0 };
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    const r = decodePresenceLine(text, 'import');
    if (typeof r === 'string') {
      st.bad++;
      log.add(path, line, r);
      st.firstBad ??= { file: path, line, reason: r };
      continue;
    }
    if (!inWindow(r.ts, opts)) {
      st.outside++;
      continue;
    }
    pushRecord(b, r);
    st.good++;
    if ((line & 0xffff) === 0) opts.onProgress?.(`reading ${path}`, line);
  }
  return st;
}

/** Epoch-ms SQL expression for a ts column of the given DuckDB type. */
function tsExpression(col: string, type: string): string {
  const t = type.toUpperCase();
  const c = sqlIdent(col);
  if (t.startsWith('TIMESTAMP') || t === 'DATE') return `epoch_ms(${c}::TIMESTAMP)::DOUBLE`;
  if (/INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/.test(t))
    return `(CASE WHEN abs(${c}) < 1e11 THEN ${c} * 1000 ELSE ${c} END)::DOUBLE`;
  // Strings: numbers as epoch, else ISO instants (zone-less ones as UTC).
  return `coalesce(
    (CASE WHEN abs(try_cast(${c} AS DOUBLE)) < 1e11 THEN try_cast(${c} AS DOUBLE) * 1000 ELSE try_cast(${c} AS DOUBLE) END),
    epoch_ms(try_cast(${c} AS TIMESTAMPTZ))::DOUBLE)`;
}

/**
 * Reads Parquet presence through DuckDB. Strings are interned inside DuckDB (a dictionary per
 * column), then only integer ids and numbers cross into JS as typed arrays.
 */
export async function readPresenceParquetWith(
  conn: DuckDBConnection,
  source: string,
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions,
  hive = false,
): Promise<FileStats> {
  const st: FileStats = { good: 0, bad: 0, outside: 0 };
  let cols: { name: string; type: string }[];
  try {
    const reader = await conn.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet(${source}${hive ? ', hive_partitioning = true' : ''})`,
    );
    cols = (reader.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((r) => ({
      name: r.column_name,
      type: r.column_type,
    }));
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new InputError('import', `${label}: not a readable Parquet file (${msg})`);
  }
  const col = mapPresenceHeader(cols.map((c) => c.name));
  const missing = (['channel', 'viewer', 'ts'] as const).filter((c) => col[c] < 0);
  if (missing.length) {
    throw new InputError(
      'import',
      `${label}: missing required column(s) ${missing.join(', ')} (columns: ${cols.map((c) => c.name).join(',')})`,
    );
  }
  const name = (c: PresenceColumn) =>
    col[c] >= 0 ? sqlIdent((cols[col[c]] as { name: string }).name) : 'NULL';
  const tsCol = cols[col.ts] as { name: string; type: string };
  const ws = opts.windowStart ?? Number.NEGATIVE_INFINITY;
  const we = opts.windowEnd ?? Number.POSITIVE_INFINITY;
  const winCond = `(ts >= ${Number.isFinite(ws) ? ws : '-1e300'} AND ts < ${Number.isFinite(we) ? we : '1e300'})`;
  // Our own parts hold logins already lower-cased and trimmed: skip the string work there (the
  // interner folds ASCII case anyway).
  const norm = (c: string) => (hive ? `${c}::VARCHAR` : `lower(trim(${c}::VARCHAR))`);
  // Views, not tables: each pass streams the Parquet again instead of holding 10M+ rows in memory.
  await conn.run(`CREATE OR REPLACE TEMP VIEW pq AS
    SELECT
      ${norm(name('channel'))} AS channel,
      ${norm(name('viewer'))} AS viewer,
      ${tsExpression(tsCol.name, tsCol.type)} AS ts,
      ${col.messages >= 0 ? `try_cast(${name('messages')} AS BIGINT)` : '1'} AS messages,
      ${col.messages >= 0 ? `${name('messages')} IS NULL` : 'true'} AS messages_missing,
      ${col.source >= 0 ? `lower(${name('source')}::VARCHAR)` : `'import'`} AS source,
      ${col.kind >= 0 ? `${name('kind')}::VARCHAR` : 'NULL::VARCHAR'} AS kind,
      ${col.vod_id >= 0 ? `${name('vod_id')}::VARCHAR` : 'NULL::VARCHAR'} AS vod_id
    FROM read_parquet(${source}${hive ? ', hive_partitioning = true' : ''})`);
  const reasonSql = `CASE
      WHEN channel IS NULL OR channel = '' THEN 'empty channel'
      WHEN viewer IS NULL OR viewer = '' THEN 'empty viewer'
      WHEN ts IS NULL OR isnan(ts) THEN 'bad ts'
      WHEN NOT messages_missing AND (messages IS NULL OR messages < 0) THEN 'bad messages (expected an integer ≥ 0)'
      WHEN source NOT IN ('live', 'vod', 'import') THEN 'bad source "' || source || '"'
      ELSE NULL END`;
  await conn.run(`CREATE OR REPLACE TEMP VIEW pq2 AS SELECT *, ${reasonSql} AS reason FROM pq`);
  // Row count from the Parquet footers (no scan) sizes the columns once.
  const total = Number(
    (
      await conn.runAndReadAll(
        `SELECT coalesce(sum(num_rows), 0)::DOUBLE FROM parquet_file_metadata(${source.replace(/, union_by_name = true$/, '')})`,
      )
    ).getRows()[0]?.[0] ?? 0,
  );
  const start = b.length;
  b.reserve(start + total);
  // One streaming pass in scan order (deterministic): a status per row (0 keep, 1 outside the
  // window, 2 rejected, with its row number) and logins interned straight from the vectors' bytes
  // (DuckDB inlines strings of ≤ 12 bytes), so no JS string per row.
  const ex = b.extras;
  const extraCols = ex
    ? `, (CASE source WHEN 'live' THEN 0 WHEN 'vod' THEN 1 ELSE 2 END)::UTINYINT,
        (CASE WHEN kind = 'membership' THEN 1 ELSE 0 END)::UTINYINT, vod_id`
    : '';
  const result = await conn.stream(
    `SELECT (CASE WHEN reason IS NOT NULL THEN 2 WHEN ${winCond} THEN 0 ELSE 1 END)::UTINYINT AS status, reason,
       channel, viewer, coalesce(ts, 0) AS ts, coalesce(messages, 1)::UINTEGER ${extraCols} FROM pq2`,
  );
  let r = start;
  let seen = 0;
  const status = new Uint8Array(2048);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    copyNumbers(chunk.getColumnVector(0), n, status, 0);
    let keep = 0;
    for (let i = 0; i < n; i++) {
      const sIdx = status[i] as number;
      if (sIdx === 0) keep++;
      else if (sIdx === 1) st.outside++;
      else {
        st.bad++;
        const line = seen + i + 1;
        const reason = `row ${line}: ${String(chunk.getColumnVector(1).getItem(i))}`;
        log.add(label, line, reason);
        st.firstBad ??= { file: label, line, reason };
      }
    }
    seen += n;
    if (keep === 0) continue;
    if (r + n > b.channel.length) b.reserve(r + n);
    // Dense fast path: every row kept (the usual case); else row by row.
    const all = keep === n;
    internVarchar(chunk.getColumnVector(2), n, b.channels, b.channel, r, all ? undefined : status);
    internVarchar(chunk.getColumnVector(3), n, b.viewers, b.viewer, r, all ? undefined : status);
    copyNumbers(chunk.getColumnVector(4), n, b.ts, r, all ? undefined : status);
    copyNumbers(chunk.getColumnVector(5), n, b.messages, r, all ? undefined : status);
    if (ex) {
      copyNumbers(chunk.getColumnVector(6), n, ex.source, r, all ? undefined : status);
      copyNumbers(chunk.getColumnVector(7), n, ex.kind, r, all ? undefined : status);
      const vv = chunk.getColumnVector(8);
      let k = r;
      for (let i = 0; i < n; i++) {
        if (status[i] !== 0) continue;
        const id = vv.getItem(i);
        ex.vod[k++] = id === null ? 0 : ex.vodNames.internString(String(id)) + 1;
      }
    }
    r += keep;
    b.length = r;
    opts.onProgress?.(`reading ${label}`, seen, total);
  }
  b.length = r;
  st.good = r - start;
  for (const t of ['pq2', 'pq']) await conn.run(`DROP VIEW IF EXISTS ${t}`);
  return st;
}

/**
 * Interns a VARCHAR vector's strings into `out[at…]`, reading inlined strings as raw bytes. With
 * `status`, only rows whose status is 0 are taken (packed).
 */
function internVarchar(
  vec: DuckDBVector,
  n: number,
  interner: ByteInterner,
  out: Uint32Array,
  at: number,
  status?: Uint8Array,
): void {
  const dv = (vec as unknown as { dataView?: DataView }).dataView;
  const fast = dv instanceof DataView && dv.byteLength >= n * 16;
  const bytes = fast ? new Uint8Array(dv.buffer, dv.byteOffset, n * 16) : undefined;
  let k = at;
  for (let i = 0; i < n; i++) {
    if (status && status[i] !== 0) continue;
    // DuckDB string_t: uint32 length, then the bytes inline when ≤ 12, else a prefix and a pointer.
    const len = fast ? (dv as DataView).getUint32(i * 16, true) : 13;
    out[k++] =
      len <= 12
        ? interner.intern(bytes as Uint8Array, i * 16 + 4, i * 16 + 4 + len)
        : interner.internString(String(vec.getItem(i) ?? ''));
  }
}

/** Copies a fixed-width numeric vector into `out[at…]` (raw memory when exposed); `status` as above. */
function copyNumbers(
  vec: DuckDBVector,
  n: number,
  out: Uint32Array | Float64Array | Uint8Array,
  at: number,
  status?: Uint8Array,
): void {
  const items = (vec as unknown as { items?: unknown }).items;
  const raw =
    items &&
    (items as { constructor: unknown }).constructor === out.constructor &&
    (items as ArrayLike<number>).length >= n
      ? (items as ArrayLike<number>)
      : undefined;
  if (raw && !status) {
    out.set((raw as Uint32Array).subarray(0, n), at);
    return;
  }
  let k = at;
  for (let i = 0; i < n; i++) {
    if (status && status[i] !== 0) continue;
    out[k++] = raw ? (raw[i] as number) : Number(vec.getItem(i) ?? 0);
  }
}

/** Reads one presence file of any supported format into `b`; throws InputError when it fails as a whole. */
export async function readPresenceFileInto(
  path: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions = {},
  conn?: DuckDBConnection,
  onBatch?: BatchFn,
): Promise<FileStats> {
  const fileLog = new RejectLog();
  const before = b.length;
  let st: FileStats;
  try {
    const size = (await stat(path)).size;
    if (size === 0) throw new InputError('import', `${path}: empty file (0 bytes)`);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError('import', `${path}: cannot read (${(err as Error).message})`);
  }
  const fmt = presenceFormat(path);
  if (fmt === 'csv')
    st = onBatch
      ? await readPresenceCsv(path, b, fileLog, opts, undefined, onBatch)
      : ((await readPresenceCsvParallel(path, b, fileLog, opts)) ??
        (await readPresenceCsv(path, b, fileLog, opts)));
  else if (fmt === 'jsonl') st = await readPresenceJsonl(path, b, fileLog, opts);
  else if (conn) st = await readPresenceParquetWith(conn, sqlString(path), path, b, fileLog, opts);
  else
    st = await (await duck()).withDuckDB((c) =>
      readPresenceParquetWith(c, sqlString(path), path, b, fileLog, opts),
    );
  try {
    checkFile(path, st, opts);
  } catch (err) {
    b.truncate(before);
    throw err;
  }
  for (const r of fileLog.rejected) log.add(r.file, r.line, r.reason);
  log.count += fileLog.count - fileLog.rejected.length;
  return st;
}

/**
 * Reads presence files (CSV, JSON Lines, Parquet) into one interned table. Logins are
 * lower-cased. Throws InputError when any file has no readable row, is mostly unreadable or
 * lacks `channel,viewer,ts`.
 */
export async function readPresenceFiles(
  paths: string[],
  opts: PresenceReadOptions = {},
): Promise<PresenceReadResult> {
  if (paths.length === 0) throw new InputError('import', 'no presence files given');
  const b = new PresenceBuilder();
  const log = new RejectLog();
  let outside = 0;
  let parallel = 0;
  const needsDuck = paths.some((p) => presenceFormat(p) === 'parquet');
  const run = async (conn?: DuckDBConnection) => {
    for (const p of paths) {
      const st = await readPresenceFileInto(p, b, log, opts, conn);
      outside += st.outside;
      if (st.parallel) parallel++;
    }
  };
  if (needsDuck) await (await duck()).withDuckDB(run);
  else await run();
  return {
    table: b.table(),
    rowsRead: b.length,
    rejected: log.rejected,
    rejectedCount: log.count,
    rowsOutsideWindow: outside,
    filesReadInParallel: parallel,
  };
}

export { PRESENCE_SOURCES };
