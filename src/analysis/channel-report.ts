/**
 * One channel's neighbours (the stats.roki.sh view): the share of its chatters also seen in
 * each other channel, and, over several windows, the channels whose share moved the most.
 * Pure: an overlap graph in, rows out.
 */
import type { OverlapGraph } from './types.js';

export interface ChannelOverlap {
  /** The other channel. */
  other: string;
  /** Chatters seen in both. */
  shared: number;
  /** shared / this channel's chatters: the share of its audience also in `other`. */
  share: number;
  /** shared / the other channel's chatters. */
  shareOfOther: number;
  /** The edge weight the analysis used. */
  weight: number;
}

export interface ChannelReport {
  channel: string;
  /** Unique chatters of the channel (0 when the graph does not know its audience). */
  viewers: number;
  /** Neighbours by share, biggest first (ties by name). */
  overlaps: ChannelOverlap[];
}

/** The channel's overlaps in one graph; null when the channel is not in it. Case-insensitive. */
export function channelReport(
  graph: OverlapGraph,
  channel: string,
  top = Number.POSITIVE_INFINITY,
): ChannelReport | null {
  const want = channel.toLowerCase();
  const node = graph.nodeNames.findIndex((n) => n.toLowerCase() === want);
  if (node < 0) return null;
  const viewers = graph.nodeAudience[node] as number;
  const overlaps: ChannelOverlap[] = [];
  for (let e = 0; e < graph.length; e++) {
    const s = graph.source[e] as number;
    const t = graph.target[e] as number;
    if (s !== node && t !== node) continue;
    const other = s === node ? t : s;
    const shared = graph.shared[e] as number;
    const otherViewers = graph.nodeAudience[other] as number;
    overlaps.push({
      other: graph.nodeNames[other] as string,
      shared,
      share: viewers > 0 ? shared / viewers : 0,
      shareOfOther: otherViewers > 0 ? shared / otherViewers : 0,
      weight: graph.weight[e] as number,
    });
  }
  overlaps.sort((a, b) => b.share - a.share || b.shared - a.shared || (a.other < b.other ? -1 : 1));
  return { channel: graph.nodeNames[node] as string, viewers, overlaps: overlaps.slice(0, top) };
}

export interface OverlapMover {
  other: string;
  /** Share in the first and the last window where the channel appears (0 when absent there). */
  first: number;
  last: number;
  change: number;
}

/** The neighbours whose share changed the most between the first and the last report. */
export function overlapMovers(reports: readonly (ChannelReport | null)[], top = 10): OverlapMover[] {
  const present = reports.filter((r): r is ChannelReport => r !== null);
  if (present.length < 2) return [];
  const first = new Map(present[0]!.overlaps.map((o) => [o.other, o.share]));
  const last = new Map(present[present.length - 1]!.overlaps.map((o) => [o.other, o.share]));
  const names = [...new Set([...first.keys(), ...last.keys()])];
  return names
    .map((other) => {
      const a = first.get(other) ?? 0;
      const b = last.get(other) ?? 0;
      return { other, first: a, last: b, change: b - a };
    })
    .filter((m) => m.change !== 0)
    .sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || (x.other < y.other ? -1 : 1))
    .slice(0, top);
}
