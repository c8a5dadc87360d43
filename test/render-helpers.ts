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
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow } from '../src/model/atlas.js';

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
}

export async function makeAnalysisFolder(
  dir: string,
  opts: FolderOptions = {},
): Promise<{ channels: ChannelRow[]; communities: CommunityRow[]; edges: EdgeRow[] }> {
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
    const cosine = shared / Math.sqrt(audience.get(s)! * audience.get(t)!);
    g.addEdge(s, t, { weight: cosine });
    edges.push({ source: s, target: t, weight: cosine, shared });
  }
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
      botsRemoved: 0,
    },
    modularity: result.modularity,
    parameters: {},
    timings: {},
  };
  await writeAnalysisFolder(dir, { summary, channels, communities, edges }, { parquet: false });
  return { channels, communities, edges };
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
