/**
 * Worker side of the parallel CSV read: scans one byte range of a presence CSV into the caller's
 * shared columns (its own local ids) and sends back its names as bytes (transferred, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ExportedNames } from './csv-scan.js';
import { type CsvRange, readPresenceCsv } from './presence-csv.js';
import {
  type ColumnViews,
  type ExportedIdSide,
  PresenceBuilder,
  type PresenceReadOptions,
  RejectLog,
} from './presence-rows.js';

export interface CsvWorkerInput {
  path: string;
  range: CsvRange;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd'>;
  /** Where to write rows (views of the caller's shared columns). */
  shared: ColumnViews;
}

export interface CsvWorkerOutput {
  length: number;
  /** Set only when the rows outgrew the shared columns (then they travel here instead). */
  columns?: ColumnViews;
  channels: ExportedNames;
  viewers: ExportedNames;
  /** Latest login per id key, when rows carried Twitch ids. */
  channelIds?: ExportedIdSide;
  viewerIds?: ExportedIdSide;
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
    const n = b.length;
    const inPlace = b.channel.buffer === input.shared.channel.buffer;
    const out: CsvWorkerOutput = {
      length: n,
      columns: inPlace ? undefined : { channel: b.channel, viewer: b.viewer, ts: b.ts, messages: b.messages },
      channels: b.channels.exportNames(),
      viewers: b.viewers.exportNames(),
      channelIds: b.channelIds?.export(b.channels.size),
      viewerIds: b.viewerIds?.export(b.viewers.size),
      good: st.good,
      bad: st.bad,
      outside: st.outside,
      lines: st.lines,
      rejected: log.rejected.map((r) => ({ line: r.line, reason: r.reason })),
      rejectedCount: log.count,
    };
    const arrays: ArrayBufferView[] = [out.channels.arena, out.viewers.arena];
    if (out.columns)
      arrays.push(out.columns.channel, out.columns.viewer, out.columns.ts, out.columns.messages);
    parentPort?.postMessage(
      { ok: out },
      arrays.map((a) => a.buffer as ArrayBuffer),
    );
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}

await run(workerData as CsvWorkerInput);
