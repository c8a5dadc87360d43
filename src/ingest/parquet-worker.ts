/**
 * Worker side of the two-thread storage read: reads its share of the Parquet parts (own DuckDB)
 * into the caller's shared columns, with its own ids, and sends back its names as bytes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { sqlPathList, withDuckDB } from '../storage/duckdb.js';
import type { ExportedNames } from './csv-scan.js';
import { readPresenceParquetWith } from './presence-parquet.js';
import {
  type ColumnViews,
  type ExportedIdSide,
  PresenceBuilder,
  type PresenceReadOptions,
  RejectLog,
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

export interface ParquetWorkerOutput {
  length: number;
  /** Set only when the rows outgrew the shared columns (then they travel here instead). */
  columns?: ColumnViews;
  channels: ExportedNames;
  viewers: ExportedNames;
  channelIds?: ExportedIdSide;
  viewerIds?: ExportedIdSide;
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
    const inPlace = b.channel.buffer === input.shared.channel.buffer;
    const out: ParquetWorkerOutput = {
      length: b.length,
      columns: inPlace ? undefined : { channel: b.channel, viewer: b.viewer, ts: b.ts, messages: b.messages },
      channels: b.channels.exportNames(),
      viewers: b.viewers.exportNames(),
      channelIds: b.channelIds?.export(b.channels.size),
      viewerIds: b.viewerIds?.export(b.viewers.size),
      good: st.good,
      bad: st.bad,
      outside: st.outside,
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

await run(workerData as ParquetWorkerInput);
