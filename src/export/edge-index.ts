import type { ChannelRow, EdgeRow } from '../model/atlas.js';
import type { ByteSink } from './atomic.js';
import { formatNumber } from './csv.js';

/**
 * The edges resolved once for every writer: endpoints as row numbers in `channels` (−1 when a
 * name is not among them) and weights already formatted, so edges.csv and atlas.gexf share the
 * work on millions of edges.
 */
export interface PreparedEdges {
  source: Int32Array;
  target: Int32Array;
  weight: string[];
}

/** Endpoints as row numbers in `channels`, when the caller already knows them. */
export interface EdgeEndpoints {
  source: Int32Array;
  target: Int32Array;
}

export function prepareEdges(
  channels: readonly ChannelRow[],
  edges: readonly EdgeRow[],
  known?: EdgeEndpoints,
): PreparedEdges {
  const m = edges.length;
  const weight: string[] = new Array(m);
  for (let i = 0; i < m; i++) weight[i] = formatNumber(edges[i]!.weight);
  if (known && known.source.length === m && known.target.length === m) {
    return { source: known.source, target: known.target, weight };
  }
  const row = new Map<string, number>();
  for (let i = 0; i < channels.length; i++) row.set(channels[i]!.channel, i);
  const source = new Int32Array(m);
  const target = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const e = edges[i]!;
    source[i] = row.get(e.source) ?? -1;
    target[i] = row.get(e.target) ?? -1;
  }
  return { source, target, weight };
}

export const EDGE_COLUMNS = ['source', 'target', 'weight', 'shared'] as const;
const COMMA = new Uint8Array([44]);
const NEWLINE = new Uint8Array([10]);

/** One edges.csv row: endpoints already CSV-encoded, weight already formatted. */
export function writeEdgeCsvRow(
  sink: ByteSink,
  source: Uint8Array,
  target: Uint8Array,
  weight: string,
  shared: number,
): void {
  sink.bytes(source);
  sink.bytes(COMMA);
  sink.bytes(target);
  sink.bytes(COMMA);
  sink.text(weight);
  sink.bytes(COMMA);
  if (Number.isInteger(shared) && shared >= 0) sink.uint(shared);
  else sink.text(formatNumber(shared));
  sink.bytes(NEWLINE);
}
