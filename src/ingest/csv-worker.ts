/**
 * Worker side of the parallel CSV read: scans one byte range of a presence CSV into the caller's
 * shared columns (its own local ids) and sends back its names as bytes (transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type CsvRange, readPresenceCsv } from './presence-csv.js';
import {
  type ColumnViews,
  exportWorkerRows,
  PresenceBuilder,
  type PresenceReadOptions,
  RejectLog,
  type WorkerRows,
} from './presence-rows.js';

export interface CsvWorkerInput {
  path: string;
  range: CsvRange;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd'>;
  /** Where to write rows (views of the caller's shared columns). */
  shared: ColumnViews;
}

export interface CsvWorkerOutput extends WorkerRows {
  good: number;
  bad: number;
  outside: number;
  lines: number;
  rejected: { line: number; reason: string }[];
  rejectedCount: number;
}

async function run(input: CsvWorkerInput): Promise<void> {
  const b = new PresenceBuilder({ capacity: 0 });
  b.adopt(input.shared);
  const log = new RejectLog();
  try {
    const st = await readPresenceCsv(input.path, b, log, input.opts, input.range);
    const { rows, transfer } = exportWorkerRows(b, input.shared);
    const out: CsvWorkerOutput = {
      ...rows,
      good: st.good,
      bad: st.bad,
      outside: st.outside,
      lines: st.lines,
      rejected: log.rejected.map((r) => ({ line: r.line, reason: r.reason })),
      rejectedCount: log.count,
    };
    parentPort?.postMessage({ ok: out }, transfer);
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}

await run(workerData as CsvWorkerInput);
