/**
 * The analysis outputs turned into what the PNG and HTML renderers draw: channels interned to
 * 0..n-1, edges as typed arrays sorted strongest first, the two levels (top-level groups and the
 * fine communities inside them) and a colour per community in its group's hue family.
 */
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow, GroupRow } from '../model/atlas.js';
import type { LayoutInput } from './layout.js';
import { assignCommunityColors, assignHierarchyColors, UNASSIGNED } from './palette.js';

/**
 * What an analysis folder holds (export's `readAnalysisFolder`); summary optional for callers
 * without one. `groups` and the channels' `group` may be missing (folders written before the
 * hierarchy): then every community is its own group.
 */
export interface AnalysisData {
  summary: AtlasSummary | null;
  channels: ChannelRow[];
  communities: CommunityRow[];
  groups?: GroupRow[];
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
  /** Communities by id (those with at least one channel); `group` is always set. */
  communities: CommunityRow[];
  /** Top-level group per channel (-1 = unassigned). */
  group: Int32Array;
  /** Groups by id (those with at least one community). */
  groups: GroupRow[];
  /**
   * Whether there is no group level to draw: the folder had none (each community is then its own
   * group) or no group holds more than one community.
   */
  flat: boolean;
  /** Channels in no community. */
  unassigned: number;
  /** Colour per community id; `UNASSIGNED` for -1 and unknown ids. */
  colorOf: (community: number) => string;
  /** The base colour of a group's hue family. */
  groupColorOf: (group: number) => string;
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
    // An empty community cell (unassigned) may arrive as NaN.
    community[i] = Number.isInteger(c.community) && c.community >= 0 ? c.community : -1;
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

  // The group of each community: the channels' group column, else communities.csv's, else itself.
  const groupOfCommunity = new Map<number, number>();
  channels.forEach((c, i) => {
    const g = c.group;
    if (community[i] >= 0 && Number.isInteger(g) && g >= 0 && !groupOfCommunity.has(community[i]))
      groupOfCommunity.set(community[i], g);
  });
  for (const id of ids) {
    const g = byId.get(id)?.group;
    if (!groupOfCommunity.has(id) && Number.isInteger(g) && (g as number) >= 0)
      groupOfCommunity.set(id, g as number);
  }
  const noGroups = ids.length > 0 && groupOfCommunity.size === 0;
  if (noGroups) for (const id of ids) groupOfCommunity.set(id, id);
  // A community the other columns leave without a group gets a group id of its own.
  let spare = Math.max(-1, ...groupOfCommunity.values(), ...(data.groups ?? []).map((g) => g.group)) + 1;
  for (const id of ids) if (!groupOfCommunity.has(id)) groupOfCommunity.set(id, spare++);

  const communities = ids.map((id) => ({
    ...(byId.get(id) ?? fallbackCommunity(id, channels)),
    group: groupOfCommunity.get(id)!,
  }));
  // No group level, or one that only repeats the communities (no group holds two): draw it flat.
  const flat = noGroups || new Set(groupOfCommunity.values()).size === ids.length;
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) group[i] = community[i] >= 0 ? groupOfCommunity.get(community[i])! : -1;

  const groupIds = [...new Set(groupOfCommunity.values())];
  const groupById = new Map((data.groups ?? []).map((g) => [g.group, g]));
  const groups = groupIds
    .map((g) => groupById.get(g) ?? fallbackGroup(g, communities, channels, flat))
    .map((g) => ({ ...g, communities: communities.filter((c) => c.group === g.group).length }))
    // Biggest first, like the communities.
    .sort((a, b) => b.size - a.size || a.group - b.group);

  // Adjacency weights between communities and between groups, for the palette.
  const slot = new Map(ids.map((id, i) => [id, i]));
  const gslot = new Map(groups.map((g, i) => [g.group, i]));
  const adj: Map<number, number>[] = ids.map(() => new Map());
  const gadj: Map<number, number>[] = groups.map(() => new Map());
  for (let e = 0; e < source.length; e++) {
    const a = slot.get(community[source[e]]);
    const b = slot.get(community[target[e]]);
    if (a === undefined || b === undefined || a === b) continue;
    adj[a].set(b, (adj[a].get(b) ?? 0) + weight[e]);
    adj[b].set(a, (adj[b].get(a) ?? 0) + weight[e]);
    const ga = gslot.get(group[source[e]])!;
    const gb = gslot.get(group[target[e]])!;
    if (ga === gb) continue;
    gadj[ga].set(gb, (gadj[ga].get(gb) ?? 0) + weight[e]);
    gadj[gb].set(ga, (gadj[gb].get(ga) ?? 0) + weight[e]);
  }
  let colorById: Map<number, string>;
  let groupColor: Map<number, string>;
  if (flat) {
    // No hierarchy: one distinct colour per community, as before.
    const colors = assignCommunityColors(ids.length, (c) => adj[c].entries());
    colorById = new Map(ids.map((id, i) => [id, colors[i]]));
    groupColor = new Map(ids.map((id, i) => [groupOfCommunity.get(id)!, colors[i]]));
  } else {
    const h = assignHierarchyColors(
      groups.map((g) => communities.filter((c) => c.group === g.group).map((c) => slot.get(c.community)!)),
      (g) => gadj[g].entries(),
      (c) => adj[c].entries(),
    );
    colorById = new Map(ids.map((id, i) => [id, h.community[i]]));
    groupColor = new Map(groups.map((g, i) => [g.group, h.group[i]]));
  }
  let unassigned = 0;
  for (const c of community) if (c < 0) unassigned++;

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
    group,
    groups,
    flat,
    unassigned,
    colorOf: (c) => colorById.get(c) ?? UNASSIGNED,
    groupColorOf: (g) => groupColor.get(g) ?? UNASSIGNED,
    summary: data.summary,
  };
}

/** A community row rebuilt from its channels when communities.csv lacks it. */
function fallbackCommunity(id: number, channels: ChannelRow[]): CommunityRow {
  const members = channels.filter((c) => c.community === id).sort((a, b) => b.viewers - a.viewers);
  return {
    community: id,
    label: members[0]?.label || `Community ${id}`,
    group: -1,
    size: members.length,
    viewers: members.reduce((s, c) => s + c.viewers, 0),
    games: [],
    languages: [],
    topChannels: members.slice(0, 10).map((c) => c.channel),
  };
}

/** A group row rebuilt from its communities when groups.csv lacks it (or there is no group level). */
function fallbackGroup(
  id: number,
  communities: CommunityRow[],
  channels: ChannelRow[],
  flat: boolean,
): GroupRow {
  const inside = communities.filter((c) => c.group === id);
  const ids = new Set(inside.map((c) => c.community));
  const members = channels.filter((c) => ids.has(c.community)).sort((a, b) => b.viewers - a.viewers);
  const named = members.find((c) => c.groupLabel)?.groupLabel;
  return {
    group: id,
    label: (flat ? inside[0]?.label : named) || inside[0]?.label || `Group ${id}`,
    size: members.length,
    viewers: members.reduce((s, c) => s + c.viewers, 0),
    communities: inside.length,
    games: flat ? (inside[0]?.games ?? []) : [],
    languages: flat ? (inside[0]?.languages ?? []) : [],
    topChannels: members.slice(0, 10).map((c) => c.channel),
  };
}

/** The graph the layout runs on: the model's edges, communities and groups. */
export function layoutInput(model: RenderModel): LayoutInput {
  return {
    nodeCount: model.channels.length,
    source: model.source,
    target: model.target,
    weight: model.weight,
    community: model.community,
    group: model.group,
  };
}

/** Whether every channel has a finite position. */
export function hasPositions(channels: ChannelRow[]): boolean {
  return channels.length > 0 && channels.every((c) => Number.isFinite(c.x) && Number.isFinite(c.y));
}
