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
  overlaps.sort(byShare);
  return { channel: graph.nodeNames[node] as string, viewers, overlaps: overlaps.slice(0, top) };
}

/**
 * The reports of many channels in one pass over the edges (the timeline page asks for hundreds
 * per window; one `channelReport` each would scan every edge each time).
 */
export function channelReports(
  graph: OverlapGraph,
  channels: readonly string[],
  top = Number.POSITIVE_INFINITY,
): Map<string, ChannelReport> {
  const nodeOf = new Map(graph.nodeNames.map((n, i) => [n.toLowerCase(), i]));
  const wanted = new Map<number, ChannelReport>();
  for (const c of channels) {
    const node = nodeOf.get(c.toLowerCase());
    if (node !== undefined && !wanted.has(node))
      wanted.set(node, {
        channel: graph.nodeNames[node] as string,
        viewers: graph.nodeAudience[node] as number,
        overlaps: [],
      });
  }
  const add = (node: number, other: number, e: number) => {
    const r = wanted.get(node);
    if (!r) return;
    const shared = graph.shared[e] as number;
    const otherViewers = graph.nodeAudience[other] as number;
    r.overlaps.push({
      other: graph.nodeNames[other] as string,
      shared,
      share: r.viewers > 0 ? shared / r.viewers : 0,
      shareOfOther: otherViewers > 0 ? shared / otherViewers : 0,
      weight: graph.weight[e] as number,
    });
  };
  for (let e = 0; e < graph.length; e++) {
    add(graph.source[e] as number, graph.target[e] as number, e);
    add(graph.target[e] as number, graph.source[e] as number, e);
  }
  const out = new Map<string, ChannelReport>();
  for (const r of wanted.values()) {
    r.overlaps.sort(byShare);
    r.overlaps = r.overlaps.slice(0, top);
    out.set(r.channel, r);
  }
  return out;
}

const byShare = (a: ChannelOverlap, b: ChannelOverlap) =>
  b.share - a.share || b.shared - a.shared || (a.other < b.other ? -1 : 1);

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
