/**
 * Worker side of the two-thread storage read: reads its share of the Parquet parts (own DuckDB)
 * into the caller's shared columns, with its own ids, and sends back its names as bytes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { sqlPathList, withDuckDB } from '../storage/duckdb.js';
import { readPresenceParquetWith } from './presence-parquet.js';
import {
  type ColumnViews,
  exportWorkerRows,
  PresenceBuilder,
  type PresenceReadOptions,
  RejectLog,
  type WorkerRows,
} from './presence-rows.js';

export interface ParquetWorkerInput {
  files: string[];
  label: string;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd'>;
  /** DuckDB threads of the worker's instance. */
  threads: number;
  /** Where to write rows (views of the caller's shared columns). */
  shared: ColumnViews;
}

export interface ParquetWorkerOutput extends WorkerRows {
  good: number;
  bad: number;
  outside: number;
  /** Row numbers count from the worker's first part. */
  rejected: { line: number; reason: string }[];
  rejectedCount: number;
}

async function run(input: ParquetWorkerInput): Promise<void> {
  const b = new PresenceBuilder({ capacity: 0 });
  b.adopt(input.shared);
  const log = new RejectLog();
  try {
    const st = await withDuckDB(
      (conn) =>
        readPresenceParquetWith(
          conn,
          `${sqlPathList(input.files)}, union_by_name = true`,
          input.label,
          b,
          log,
          input.opts,
          true,
        ),
      { threads: input.threads },
    );
    const { rows, transfer } = exportWorkerRows(b, input.shared);
    const out: ParquetWorkerOutput = {
      ...rows,
      good: st.good,
      bad: st.bad,
      outside: st.outside,
      rejected: log.rejected.map((r) => ({ line: r.line, reason: r.reason })),
      rejectedCount: log.count,
    };
    parentPort?.postMessage({ ok: out }, transfer);
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}

await run(workerData as ParquetWorkerInput);
