/**
 * Worker side of the two-thread storage read: reads its share of the Parquet parts (own DuckDB)
 * into the caller's shared columns, with its own ids, and sends back its names as bytes.
 */
import { workerData } from 'node:worker_threads';
import { sqlPathList, withDuckDB } from '../storage/duckdb.js';
import { readPresenceParquetWith } from './presence-parquet.js';
import type { ColumnViews, PresenceReadOptions } from './presence-rows.js';
import { answerRead, type WorkerReadOutput } from './read-worker.js';

export interface ParquetWorkerInput {
  files: string[];
  label: string;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd'>;
  /** DuckDB threads of the worker's instance. */
  threads: number;
  /** Where to write rows (views of the caller's shared columns). */
  shared: ColumnViews;
  /**
   * Rows of all parts, both threads': the worker sizes its viewer table for them as the caller
   * does. Parts are days, and most viewers come back on other days: sized for its own rows
   * only, the table grew (a rehash of a million names, 0.3 s) half-way through the read.
   */
  rowsInAll: number;
}

/** Row numbers in `rejected` count from the worker's first part. */
export type ParquetWorkerOutput = WorkerReadOutput;

const input = workerData as ParquetWorkerInput;
await answerRead(input.shared, (b, log) => {
  b.reserveViewersFor(input.rowsInAll);
  return withDuckDB(
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
});
