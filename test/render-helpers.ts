/**
 * Test helper for the render tests: an analysis folder built from the bundled October 2021
 * Twitch data (Louvain from graphology, cosine weights), written with export's writeAnalysisFolder,
 * so render is tested on its own, independently of the analysis pipeline.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { UndirectedGraph } from 'graphology';
import louvainModule from 'graphology-communities-louvain';
import { createRng } from '../src/analysis/rng.js';
import { writeAnalysisFolder } from '../src/export/write.js';
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow, GroupRow } from '../src/model/atlas.js';
import type { AnalysisData } from '../src/render/model.js';

// The package is CommonJS: under some loaders its default export arrives wrapped once more.
const louvain = ((louvainModule as unknown as { default?: unknown }).default ??
  louvainModule) as typeof louvainModule.default;

export const ASSETS = join(import.meta.dirname, '..', 'assets', 'atlas-2021-10');

export interface FolderOptions {
  /** Keep only the channels with the biggest audience (faster tests). */
  maxChannels?: number;
  /** Rename these channels (e.g. to an injection string). */
  rename?: Record<string, string>;
  /** Game given to every channel (and as every community's game). */
  game?: string;
  /** Raw shared-chatter weights (what default `analyze` keeps) instead of cosine. */
  raw?: boolean;
}

/** The bundled 2021 graph (biggest `maxChannels` channels), cosine or raw weights. */
function loadGraph(opts: FolderOptions) {
  const nodeLines = readFileSync(join(ASSETS, 'twitch-atlas-2021-10-channels.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  let nodes = nodeLines.map((l) => {
    const [id, , count] = l.split(',');
    return { id, viewers: Number(count) };
  });
  nodes.sort((a, b) => b.viewers - a.viewers || a.id.localeCompare(b.id));
  if (opts.maxChannels) nodes = nodes.slice(0, opts.maxChannels);
  const audience = new Map(nodes.map((n) => [n.id, n.viewers]));
  const g = new UndirectedGraph();
  for (const n of nodes) g.addNode(n.id);
  const edges: EdgeRow[] = [];
  for (const l of readFileSync(join(ASSETS, 'twitch-atlas-2021-10-edges.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)) {
    const [s, t, w] = l.split(',');
    if (!audience.has(s) || !audience.has(t) || s === t || g.hasEdge(s, t)) continue;
    const shared = Number(w);
    const cosine = opts.raw ? shared : shared / Math.sqrt(audience.get(s)! * audience.get(t)!);
    g.addEdge(s, t, { weight: cosine });
    edges.push({ source: s, target: t, weight: cosine, shared });
  }
  return { nodes, edges, g };
}

export async function makeAnalysisFolder(
  dir: string,
  opts: FolderOptions = {},
): Promise<{ channels: ChannelRow[]; communities: CommunityRow[]; edges: EdgeRow[] }> {
  const { nodes, edges, g } = loadGraph(opts);
  const result = louvain.detailed(g, { rng: createRng(7), getEdgeWeight: 'weight' });
  // Renumber communities by size, biggest first.
  const sizes = new Map<number, number>();
  for (const c of Object.values(result.communities)) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  const order = [...sizes.keys()].sort((a, b) => sizes.get(b)! - sizes.get(a)! || a - b);
  const renum = new Map(order.map((c, i) => [c, i]));
  const name = (id: string) => opts.rename?.[id] ?? id;
  const channels: ChannelRow[] = nodes.map((n) => {
    const community = renum.get(result.communities[n.id])!;
    return {
      channel: name(n.id),
      community,
      label: '',
      group: community,
      groupLabel: '',
      viewers: n.viewers,
      degree: g.degree(n.id),
      strength: g.reduceEdges(
        n.id,
        (s: number, _e: string, a: Record<string, unknown>) => s + (a.weight as number),
        0,
      ),
      language: '',
      game: opts.game ?? '',
      x: Number.NaN,
      y: Number.NaN,
    };
  });
  const communities: CommunityRow[] = order.map((_, id) => {
    const members = channels.filter((c) => c.community === id).sort((a, b) => b.viewers - a.viewers);
    return {
      community: id,
      label: `${members[0].channel} & co`,
      group: id,
      size: members.length,
      viewers: members.reduce((s, c) => s + c.viewers, 0),
      games: opts.game ? [{ name: opts.game, share: 1 }] : [],
      languages: [{ name: 'en', share: 0.8 }],
      topChannels: members.slice(0, 10).map((c) => c.channel),
    };
  });
  for (const c of channels) c.label = communities[c.community].label;
  for (const e of edges) {
    e.source = name(e.source);
    e.target = name(e.target);
  }
  const summary: AtlasSummary = {
    version: 1,
    createdAt: '2026-11-26T00:00:00.000Z',
    input: { kind: 'edges', paths: [join(ASSETS, 'twitch-atlas-2021-10-edges.csv')] },
    counts: {
      presenceRows: 0,
      rowsRejected: 0,
      channels: channels.length,
      viewers: 0,
      edges: edges.length,
      communities: communities.length,
      groups: communities.length,
      unassigned: 0,
      botsRemoved: 0,
    },
    modularity: result.modularity,
    modularityByLevel: { group: result.modularity, community: result.modularity },
    parameters: {},
    timings: {},
  };
  await writeAnalysisFolder(dir, { summary, channels, communities, edges }, { parquet: false });
  return { channels, communities, edges };
}

/**
 * A two-level analysis of the 2021 data, built here independently of the analysis code: Louvain
 * (resolution 1) for the groups, Louvain again on each group of at least 40 channels for its
 * communities; channels without an edge are unassigned (community -1). Returned in memory (the
 * shape `readAnalysisFolder` gives once it reads groups).
 */
export function makeHierarchy(opts: FolderOptions = {}): AnalysisData & { groups: GroupRow[] } {
  const { nodes, edges, g } = loadGraph(opts);
  const top = louvain.detailed(g, { rng: createRng(7), getEdgeWeight: 'weight' }).communities;
  const byTop = new Map<number, string[]>();
  for (const n of nodes) {
    if (g.degree(n.id) === 0) continue;
    const list = byTop.get(top[n.id]);
    if (list) list.push(n.id);
    else byTop.set(top[n.id], [n.id]);
  }
  // Fine communities: Louvain on each big group's own subgraph.
  const fine = new Map<string, string>(); // channel → "group:sub"
  for (const [t, list] of byTop) {
    if (list.length < 40) {
      for (const id of list) fine.set(id, `${t}:0`);
      continue;
    }
    const sub = new UndirectedGraph();
    for (const id of list) sub.addNode(id);
    for (const id of list) {
      g.forEachEdge(id, (_e: string, a: Record<string, unknown>, s: string, u: string) => {
        if (s === id && top[u] === t && !sub.hasEdge(s, u)) sub.addEdge(s, u, { weight: a.weight });
      });
    }
    const parts = louvain.detailed(sub, { rng: createRng(9), getEdgeWeight: 'weight' }).communities;
    for (const id of list) fine.set(id, `${t}:${parts[id]}`);
  }
  const viewersOf = new Map(nodes.map((n) => [n.id, n.viewers]));
  const rank = (ids: string[]) => ids.reduce((s, id) => s + viewersOf.get(id)!, 0);
  const fineMembers = new Map<string, string[]>();
  for (const [id, f] of fine) {
    const list = fineMembers.get(f);
    if (list) list.push(id);
    else fineMembers.set(f, [id]);
  }
  const fineOrder = [...fineMembers.keys()].sort(
    (a, b) =>
      fineMembers.get(b)!.length - fineMembers.get(a)!.length ||
      rank(fineMembers.get(b)!) - rank(fineMembers.get(a)!) ||
      a.localeCompare(b),
  );
  const fineId = new Map(fineOrder.map((f, i) => [f, i]));
  const groupOrder = [...byTop.keys()].sort(
    (a, b) =>
      byTop.get(b)!.length - byTop.get(a)!.length || rank(byTop.get(b)!) - rank(byTop.get(a)!) || a - b,
  );
  const groupId = new Map(groupOrder.map((t, i) => [t, i]));
  const name = (id: string) => opts.rename?.[id] ?? id;
  const byViewers = (a: string, b: string) => viewersOf.get(b)! - viewersOf.get(a)! || a.localeCompare(b);
  const groups: GroupRow[] = groupOrder.map((t) => {
    const members = [...byTop.get(t)!].sort(byViewers);
    return {
      group: groupId.get(t)!,
      label: `${name(members[0])} region`,
      size: members.length,
      viewers: rank(members),
      communities: new Set(members.map((id) => fine.get(id))).size,
      games: [],
      languages: [{ name: 'en', share: 0.7 }],
      topChannels: members.slice(0, 10).map(name),
    };
  });
  const communities: CommunityRow[] = fineOrder.map((f) => {
    const members = [...fineMembers.get(f)!].sort(byViewers);
    return {
      community: fineId.get(f)!,
      label: members.slice(0, 2).map(name).join(', '),
      group: groupId.get(Number(f.split(':')[0]))!,
      size: members.length,
      viewers: rank(members),
      games: opts.game ? [{ name: opts.game, share: 1 }] : [],
      languages: [{ name: 'en', share: 0.7 }],
      topChannels: members.slice(0, 10).map(name),
    };
  });
  const channels: ChannelRow[] = nodes.map((n) => {
    const f = fine.get(n.id);
    const community = f === undefined ? -1 : fineId.get(f)!;
    const group = community < 0 ? -1 : communities[community].group;
    return {
      channel: name(n.id),
      community,
      label: community < 0 ? '' : communities[community].label,
      group,
      groupLabel: group < 0 ? '' : groups[group].label,
      viewers: n.viewers,
      degree: g.degree(n.id),
      strength: 0,
      language: '',
      game: opts.game ?? '',
      x: Number.NaN,
      y: Number.NaN,
    };
  });
  for (const e of edges) {
    e.source = name(e.source);
    e.target = name(e.target);
  }
  return { summary: null, channels, communities, groups, edges };
}

/** A decoded PNG whose pixels can be read by region. */
export async function decodePng(png: Buffer): Promise<{
  width: number;
  height: number;
  region(x: number, y: number, w: number, h: number): Uint8ClampedArray;
}> {
  const img = await loadImage(png);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return { width: img.width, height: img.height, region: (x, y, w, h) => ctx.getImageData(x, y, w, h).data };
}

/** Distinct RGB colours among every `step`-th pixel: a blank image has 1. */
export function distinctColours(px: Uint8ClampedArray, step = 31): number {
  const seen = new Set<number>();
  for (let i = 0; i < px.length; i += 4 * step) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
  return seen.size;
}

/** The pairs of label boxes that overlap ([] when none do). */
export function overlappingLabels(b: { x: number; y: number; w: number; h: number }[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < b.length; i++) {
    for (let j = i + 1; j < b.length; j++) {
      if (
        b[i].x < b[j].x + b[j].w &&
        b[j].x < b[i].x + b[i].w &&
        b[i].y < b[j].y + b[j].h &&
        b[j].y < b[i].y + b[i].h
      )
        out.push([i, j]);
    }
  }
  return out;
}
