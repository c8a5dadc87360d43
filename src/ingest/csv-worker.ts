/**
 * Worker side of the parallel CSV read: scans one byte range of a presence CSV into the caller's
 * shared columns (its own local ids) and sends back its names as bytes (transferred, not copied).
 */
import { type CsvRange, readPresenceCsv } from './presence-csv.js';
import type { ColumnViews, PresenceReadOptions } from './presence-rows.js';
import { answerRead, readJob, type WorkerReadOutput } from './read-worker.js';

export interface CsvWorkerInput {
  path: string;
  range: CsvRange;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd' | 'csvKernel' | 'plainPath'>;
  /** Where to write rows (views of the caller's shared columns). */
  shared: ColumnViews;
}

export interface CsvWorkerOutput extends WorkerReadOutput {
  /** Physical lines of the worker's range (its reject lines count from its start). */
  lines: number;
}

const input = await readJob<CsvWorkerInput>();
await answerRead(
  input.shared,
  (b, log) => readPresenceCsv(input.path, b, log, input.opts, input.range),
  (st) => ({ lines: st.lines }),
);
