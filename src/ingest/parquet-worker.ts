/**
 * Worker side of the two-thread storage read: reads its share of the Parquet parts (own DuckDB)
 * into the caller's shared columns, with its own ids, and sends back its names as bytes.
 */
import { withDuckDB } from '../storage/duckdb.js';
import { readSlices, type Slice } from './parquet-parallel.js';
import type { ColumnViews, PresenceReadOptions } from './presence-rows.js';
import { answerRead, readJob, type WorkerReadOutput } from './read-worker.js';

export interface ParquetWorkerInput {
  /** What the worker reads, in order (its rows are numbered from its first slice's first row). */
  slices: Slice[];
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

const input = await readJob<ParquetWorkerInput>();
await answerRead(input.shared, (b, log) => {
  b.reserveViewersFor(input.rowsInAll);
  return withDuckDB((conn) => readSlices(conn, input.slices, input.label, b, log, input.opts), {
    threads: input.threads,
  });
});
