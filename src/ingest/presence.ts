/**
 * Presence readers: CSV (byte-level scanner), JSON Lines and Parquet (DuckDB) into one interned,
 * typed-array table. Bad rows are reported with file:line and counted; a file with no readable
 * row, mostly unreadable rows or without the required columns is an InputError.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';
import { PRESENCE_SOURCES } from '../model/records.js';
import type { DuckDBConnection } from '../storage/duckdb.js';
import { readPresenceCsv, readPresenceCsvParallel } from './presence-csv.js';
import { duck, readPresenceParquetWith, sqlString } from './presence-parquet.js';
import {
  type BatchFn,
  checkFile,
  type FileStats,
  inWindow,
  PresenceBuilder,
  type PresenceReadOptions,
  type PresenceReadResult,
  presenceFormat,
  pushRecord,
  RejectLog,
} from './presence-rows.js';
import { decodePresenceLine } from './raw-jsonl.js';

export { type CsvRange, PARALLEL_CSV_MIN_BYTES, readPresenceCsv } from './presence-csv.js';
export { readPresenceParquetWith } from './presence-parquet.js';
export * from './presence-rows.js';

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
