/**
 * `readStoredParts`: the compacted Parquet parts of storage into a builder. Parts that qualify
 * are decoded without DuckDB (`presence-parts-direct.ts`); the others are read through DuckDB,
 * by two threads when
 * the machine has them and the parts are many rows — this thread reads the first half of the
 * rows (by row count, from the footers; a part may be split by row number), a worker with its
 * own DuckDB the rest, into one set of shared columns; the worker's names are then interned here
 * once and its ids remapped. The result is the one-thread read's, row for row and id for id (ids
 * follow the order rows are first seen, and the worker's rows come after this thread's).
 */
import { StorageError } from '../errors.js';
import { type DuckDBConnection, sqlPathList, withDuckDB } from '../storage/duckdb.js';
import type { ParquetWorkerInput, ParquetWorkerOutput } from './parquet-worker.js';
import { readPresenceParquetWith } from './presence-parquet.js';
import { type PartsReadOptions, readPartsDirect } from './presence-parts-direct.js';
import type { FileStats, PresenceBuilder, PresenceReadOptions, RejectLog } from './presence-rows.js';
import {
  defaultThreads,
  PARALLEL_PARQUET_MIN_ROWS,
  readInTwoThreads,
  startReadWorker,
} from './read-worker.js';

export { defaultThreads, PARALLEL_PARQUET_MIN_ROWS };

/** Options of `readStoredParts` on top of the reader's. */
export interface StoredReadOptions extends PartsReadOptions {
  /**
   * Decode parts that qualify here (`presence-parts-direct.ts`) rather than through DuckDB;
   * default true (false: always DuckDB, e.g. to compare the two).
   */
  direct?: boolean;
}

/** Reads storage parts (local Parquet paths, in storage order) into `b`. */
export async function readStoredParts(
  files: string[],
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: StoredReadOptions,
): Promise<FileStats> {
  let broken: string | undefined;
  if (opts.direct !== false) {
    const r = await readPartsDirect(files, label, b, log, opts);
    if (!('declined' in r)) return r;
    if (r.broken) broken = r.declined;
  }
  try {
    const threads = opts.threads ?? defaultThreads();
    if (threads >= 2 && files.length >= 1 && !b.extras) {
      // Each thread's DuckDB gets one thread: two readers and their decoders share two cores.
      const st = await withDuckDB((conn) => readInTwo(conn, files, label, b, log, opts), { threads: 1 });
      if (st) return st;
    }
    return await withDuckDB((conn) => readSlices(conn, [{ files, lineBase: 0 }], label, b, log, opts));
  } catch (err) {
    // DuckDB's message rarely names the part; the direct read's does
    if (broken === undefined) throw err;
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new StorageError('storage', `a stored part cannot be read: ${broken} (DuckDB: ${msg})`, {
      cause: err,
    });
  }
}

/** The two-thread read; undefined when it does not pay or the worker fails (nothing kept then). */
async function readInTwo(
  conn: DuckDBConnection,
  files: string[],
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: StoredReadOptions,
): Promise<FileStats | undefined> {
  const rows = await rowsPerFile(conn, files);
  const total = rows.reduce((a, r) => a + r, 0);
  if (total < (opts.parallelMinRows ?? PARALLEL_PARQUET_MIN_ROWS)) return undefined;
  // Split at half the rows, inside a part if need be (a few big parts, as `import` writes them,
  // split at a part's end left this thread 1 s idle: 3 of 7 parts against 4): this thread reads
  // the parts before part k and its first x rows, the worker the rest.
  const firstRows = Math.floor(total / 2);
  let k = 0;
  let before = 0;
  while (k < files.length - 1 && before + (rows[k] as number) <= firstRows) before += rows[k++] as number;
  const x = firstRows - before;
  const mine: Slice[] = [];
  if (k > 0) mine.push({ files: files.slice(0, k), lineBase: 0 });
  if (x > 0) mine.push({ files: [files[k] as string], rows: [0, x], lineBase: before });
  const theirs: Slice[] = [];
  if (x < (rows[k] as number))
    theirs.push({ files: [files[k] as string], rows: [x, rows[k] as number], lineBase: 0 });
  if (k + 1 < files.length) theirs.push({ files: files.slice(k + 1), lineBase: (rows[k] as number) - x });
  return readInTwoThreads(
    b,
    log,
    label,
    total,
    firstRows,
    (shared) =>
      startReadWorker<ParquetWorkerOutput>(new URL('./parquet-worker.mjs', import.meta.url), {
        slices: theirs,
        label,
        opts: { windowStart: opts.windowStart, windowEnd: opts.windowEnd },
        threads: 1,
        shared,
        rowsInAll: total,
      } satisfies ParquetWorkerInput),
    () => readSlices(conn, mine, label, b, log, opts),
    opts.onWorkerDone,
  );
}

/** Some parts (or, with `rows`, part of one), read in one go; see `ReadSlice`. */
export interface Slice {
  files: string[];
  rows?: [number, number];
  lineBase: number;
}

/** Reads the slices one after the other into `b` (the stored-parts read; their counts added up). */
export async function readSlices(
  conn: DuckDBConnection,
  slices: Slice[],
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions,
): Promise<FileStats> {
  const st: FileStats = { good: 0, bad: 0, outside: 0 };
  for (const slice of slices) {
    const source = `${sqlPathList(slice.files)}, union_by_name = true`;
    const one = await readPresenceParquetWith(conn, source, label, b, log, opts, true, true, slice);
    st.good += one.good;
    st.bad += one.bad;
    st.outside += one.outside;
    st.firstBad ??= one.firstBad;
  }
  return st;
}

/** Rows of each file, from the Parquet footers (in the order given). */
async function rowsPerFile(conn: DuckDBConnection, files: string[]): Promise<number[]> {
  const r = await conn.runAndReadAll(
    `SELECT file_name, sum(num_rows)::DOUBLE FROM parquet_file_metadata(${sqlPathList(files)}) GROUP BY file_name`,
  );
  const by = new Map(r.getRows().map((x) => [String(x[0]), Number(x[1])]));
  return files.map((f) => by.get(f) ?? 0);
}
