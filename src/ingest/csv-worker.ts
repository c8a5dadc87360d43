/**
 * Worker side of the parallel CSV read: scans one byte range of a presence CSV into its own
 * builder and sends the columns and name bytes back (transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ExportedNames } from './csv-scan.js';
import {
  type CsvRange,
  PresenceBuilder,
  type PresenceReadOptions,
  RejectLog,
  readPresenceCsv,
} from './presence.js';

export interface CsvWorkerInput {
  path: string;
  range: CsvRange;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd'>;
  /** Rows to reserve up front. */
  capacity: number;
}

export interface CsvWorkerOutput {
  length: number;
  channel: Uint32Array;
  viewer: Uint32Array;
  ts: Float64Array;
  messages: Uint32Array;
  channels: ExportedNames;
  viewers: ExportedNames;
  good: number;
  bad: number;
  outside: number;
  lines: number;
  rejected: { line: number; reason: string }[];
  rejectedCount: number;
}

async function run(input: CsvWorkerInput): Promise<void> {
  const b = new PresenceBuilder({ capacity: input.capacity });
  const log = new RejectLog();
  try {
    const st = await readPresenceCsv(input.path, b, log, input.opts, input.range);
    const n = b.length;
    const out: CsvWorkerOutput = {
      length: n,
      // Whole buffers are transferred (no copy); the receiver uses the first `length` rows.
      channel: b.channel,
      viewer: b.viewer,
      ts: b.ts,
      messages: b.messages,
      channels: b.channels.exportNames(),
      viewers: b.viewers.exportNames(),
      good: st.good,
      bad: st.bad,
      outside: st.outside,
      lines: st.lines,
      rejected: log.rejected.map((r) => ({ line: r.line, reason: r.reason })),
      rejectedCount: log.count,
    };
    const transfer = [
      out.channel,
      out.viewer,
      out.ts,
      out.messages,
      out.channels.arena,
      out.viewers.arena,
    ].map((a) => a.buffer as ArrayBuffer);
    parentPort?.postMessage({ ok: out }, transfer);
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}

await run(workerData as CsvWorkerInput);
