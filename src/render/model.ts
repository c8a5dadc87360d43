/**
 * The analysis outputs turned into what the PNG and HTML renderers draw: channels interned to
 * 0..n-1, edges as typed arrays sorted strongest first, and a colour per community.
 */
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow } from '../model/atlas.js';
import { assignCommunityColors, UNASSIGNED } from './palette.js';

/** What an analysis folder holds (export's `readAnalysisFolder`); summary optional for callers without one. */
export interface AnalysisData {
  summary: AtlasSummary | null;
  channels: ChannelRow[];
  communities: CommunityRow[];
  edges: EdgeRow[];
}

export interface RenderModel {
  channels: ChannelRow[];
  index: Map<string, number>;
  community: Int32Array;
  viewers: Float64Array;
  x: Float64Array;
  y: Float64Array;
  /** Edges between known channels, strongest first. */
  source: Uint32Array;
  target: Uint32Array;
  weight: Float64Array;
  /** Communities by id (those with at least one channel). */
  communities: CommunityRow[];
  /** Colour per community id; `UNASSIGNED` for -1 and unknown ids. */
  colorOf: (community: number) => string;
  summary: AtlasSummary | null;
}

/** Case-insensitive channel key. */
const key = (s: string) => s.toLowerCase();

export function buildRenderModel(data: AnalysisData): RenderModel {
  const channels = data.channels;
  const n = channels.length;
  const index = new Map<string, number>();
  const community = new Int32Array(n);
  const viewers = new Float64Array(n);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  channels.forEach((c, i) => {
    index.set(key(c.channel), i);
    community[i] = c.community;
    viewers[i] = Number.isFinite(c.viewers) ? c.viewers : 0;
    x[i] = c.x;
    y[i] = c.y;
  });

  const kept: [number, number, number][] = [];
  for (const e of data.edges) {
    const s = index.get(key(e.source));
    const t = index.get(key(e.target));
    if (s === undefined || t === undefined || s === t || !(e.weight > 0)) continue;
    kept.push([s, t, e.weight]);
  }
  kept.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
  const source = new Uint32Array(kept.length);
  const target = new Uint32Array(kept.length);
  const weight = new Float64Array(kept.length);
  kept.forEach(([s, t, w], i) => {
    source[i] = s;
    target[i] = t;
    weight[i] = w;
  });

  // Communities present in the channels, in id order (analysis numbers them biggest first).
  const present = new Set<number>();
  for (const c of community) if (c >= 0) present.add(c);
  const byId = new Map(data.communities.map((c) => [c.community, c]));
  const ids = [...present].sort((a, b) => a - b);
  const communities = ids.map((id) => byId.get(id) ?? fallbackCommunity(id, channels));

  // Community adjacency weights for the palette.
  const slot = new Map(ids.map((id, i) => [id, i]));
  const adj: Map<number, number>[] = ids.map(() => new Map());
  for (let e = 0; e < source.length; e++) {
    const a = slot.get(community[source[e]]);
    const b = slot.get(community[target[e]]);
    if (a === undefined || b === undefined || a === b) continue;
    adj[a].set(b, (adj[a].get(b) ?? 0) + weight[e]);
    adj[b].set(a, (adj[b].get(a) ?? 0) + weight[e]);
  }
  const colors = assignCommunityColors(ids.length, (c) => adj[c].entries());
  const colorById = new Map(ids.map((id, i) => [id, colors[i]]));

  return {
    channels,
    index,
    community,
    viewers,
    x,
    y,
    source,
    target,
    weight,
    communities,
    colorOf: (c) => colorById.get(c) ?? UNASSIGNED,
    summary: data.summary,
  };
}

/** A community row rebuilt from its channels when communities.csv lacks it. */
function fallbackCommunity(id: number, channels: ChannelRow[]): CommunityRow {
  const members = channels.filter((c) => c.community === id).sort((a, b) => b.viewers - a.viewers);
  return {
    community: id,
    label: members[0]?.label || `Community ${id}`,
    size: members.length,
    viewers: members.reduce((s, c) => s + c.viewers, 0),
    games: [],
    languages: [],
    topChannels: members.slice(0, 10).map((c) => c.channel),
  };
}

/** Whether every channel has a finite position. */
export function hasPositions(channels: ChannelRow[]): boolean {
  return channels.length > 0 && channels.every((c) => Number.isFinite(c.x) && Number.isFinite(c.y));
}
