import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { InputError } from '../errors.js';
import { fieldString, type PlainRecords, parseTimestampBytes, parseUint, scanCsv } from './csv-scan.js';
import type { CsvWorkerInput, CsvWorkerOutput } from './csv-worker.js';
import { plainPresenceRows } from './presence-csv-plain.js';
import {
  BATCH_ROWS,
  type BatchFn,
  columnSlice,
  type FileStats,
  inWindow,
  mapPresenceHeader,
  mergeWorkerRows,
  type PresenceBuilder,
  type PresenceReadOptions,
  presenceMessagesProblem,
  presenceNameBytesProblem,
  presenceTsProblem,
  type RejectLog,
  sharedColumns,
  sourceCodeBytes,
} from './presence-rows.js';
import { parseTimestamp } from './raw-jsonl.js';
import { readBeside, startReadWorker } from './read-worker.js';

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
  let col = mapPresenceHeader([]);
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
  // Set by `header`: scanned records go to the fast path first (see presence-csv-plain.ts).
  let plain: PlainRecords | undefined;
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
    const kernel = opts.csvKernel ?? size >= CSV_KERNEL_MIN_BYTES;
    plain = opts.plainPath === false ? undefined : plainPresenceRows(fields, col, b, st, opts, now, kernel);
  };
  const now = Date.now();
  const headerless = range !== undefined && range.start > 0;
  if (headerless) header(range.header, 1);
  const { lines } = await scanCsv(
    path,
    {
      header,
      get plain() {
        return plain;
      },
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
        // issue 11: value limits (PRESENCE_LIMITS) — names, instant and count in range
        const bad =
          presenceNameBytesProblem('channel', buf, cs, ce) ??
          presenceNameBytesProblem('viewer', buf, vs, ve) ??
          presenceTsProblem(ts, now) ??
          (m > 1 ? presenceMessagesProblem(m) : undefined);
        if (bad) return reject(line, bad);
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
        // Stable Twitch ids, where the file has them: rows are keyed by id (see PresenceBuilder).
        let cis = 0;
        let cie = 0;
        let vis = 0;
        let vie = 0;
        if (col.channel_id >= 0 && col.channel_id < count) {
          cis = starts[col.channel_id] as number;
          cie = ends[col.channel_id] as number;
        }
        if (col.viewer_id >= 0 && col.viewer_id < count) {
          vis = starts[col.viewer_id] as number;
          vie = ends[col.viewer_id] as number;
        }
        b.channel[r] = cie > cis ? b.channelKey(buf, cs, ce, cis, cie, ts) : b.channels.intern(buf, cs, ce);
        b.viewer[r] = vie > vis ? b.viewerKey(buf, vs, ve, vis, vie, ts) : b.viewers.intern(buf, vs, ve);
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
          ex.channelId[r] = cie > cis ? ex.idNames.intern(buf, cis, cie) + 1 : 0;
          ex.viewerId[r] = vie > vis ? ex.idNames.intern(buf, vis, vie) + 1 : 0;
        }
        st.good++;
      },
    },
    {
      chunkBytes: opts.csvChunkBytes,
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
          const rows = Math.ceil(((st.good + st.outside) / done) * size * 1.03);
          b.reserve(startLength + rows);
          b.reserveViewersFor(rows);
        }
        opts.onProgress?.(`reading ${path}`, doneAt, total);
      },
    },
  );
  return { ...st, lines };
}

/** Files (or a thread's share) at least this big go through the WebAssembly kernel (csv-kernel.ts) where their layout allows: below, its set-up (~2 ms) is not worth it. */
export const CSV_KERNEL_MIN_BYTES = 1 << 20;

/** Files at least this big are read by two threads (this thread and one worker). */
export const PARALLEL_CSV_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Reads a large, quote-free CSV with two threads: this one scans the first half, a worker the
 * second (split at a newline), then the worker's names are interned here and its ids remapped.
 * Returns undefined when the file does not qualify or the worker cannot start (the caller then
 * reads it in one pass).
 */
export async function readPresenceCsvParallel(
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
  const started = await startReadWorker<CsvWorkerOutput>(new URL('./csv-worker.mjs', import.meta.url), {
    path,
    range: { start: split, end: size, header },
    opts: {
      windowStart: opts.windowStart,
      windowEnd: opts.windowEnd,
      csvKernel: opts.csvKernel,
      plainPath: opts.plainPath,
    },
    shared: columnSlice(shared, mid, cap),
  } satisfies CsvWorkerInput);
  if (!started) return undefined;
  b.adopt(columnSlice(shared, 0, mid));
  // Size this thread's viewer table for the whole file: the worker's names merge into it.
  b.reserveViewersFor(estimate(size));
  const { here: first, there: msg } = await readBeside(
    started,
    () => readPresenceCsv(path, b, log, opts, { start: 0, end: split, header }),
    opts.onWorkerDone,
  );
  if (!msg.ok) {
    // Fall back to one pass: drop what this thread read.
    b.truncate(start);
    log.rejected = log.rejected.filter((r) => r.file !== path);
    log.count -= first.bad;
    if (msg.error?.startsWith('import:')) throw new InputError('import', msg.error.replace(/^import: /, ''));
    return undefined;
  }
  const w = msg.ok;
  mergeWorkerRows(b, shared, mid, w);
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
