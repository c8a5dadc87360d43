import type { CommunityAlgorithm } from '../model/atlas.js';
import { csrFromGraph } from './csr.js';
import { leiden } from './leiden.js';
import { louvain } from './louvain.js';
import { modularity } from './modularity.js';
import type { OverlapGraph } from './types.js';

/** Options of `detectCommunities`; every field optional (see `COMMUNITY_DEFAULTS`). */
export interface CommunityOptions {
  algorithm: CommunityAlgorithm;
  /** Modularity resolution γ (higher: more, smaller communities). */
  resolution: number;
  seed: number;
  /** Extra resolutions to run too (a hierarchy of coarser/finer partitions), reported in `hierarchy`. */
  hierarchy: readonly number[];
  /**
   * Communities smaller than this are merged into the neighbouring community they share the most
   * weight with; those with no neighbour at all are pooled together.
   */
  minSize: number;
}

export const COMMUNITY_DEFAULTS: CommunityOptions = {
  algorithm: 'leiden',
  resolution: 1,
  seed: 42,
  hierarchy: [],
  minSize: 1,
};

/** One partition: communities numbered 0..count-1 by size, biggest first. */
export interface Partition {
  resolution: number;
  membership: Int32Array;
  count: number;
  /** Modularity of `membership` at `resolution` (after the min_size merge). */
  modularity: number;
  /** Members per community, index = community id. */
  sizes: number[];
}

export interface CommunityResult extends Partition {
  algorithm: CommunityAlgorithm;
  /** Communities merged or pooled because of min_size. */
  smallMerged: number;
  /** One partition per `hierarchy` resolution, in the order given. */
  hierarchy?: Partition[];
  /** Milliseconds: the algorithm, post-processing, and each hierarchy level. */
  timings: Record<string, number>;
}

/**
 * Renumbers communities 0..k-1 by size, biggest first; equal sizes ordered by their
 * alphabetically smallest member name, so the numbering never depends on algorithm internals.
 */
export function renumberBySize(membership: ArrayLike<number>, names: readonly string[]): Int32Array {
  const n = membership.length;
  const size = new Map<number, number>();
  const firstName = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const c = membership[i];
    size.set(c, (size.get(c) ?? 0) + 1);
    const f = firstName.get(c);
    if (f === undefined || names[i] < f) firstName.set(c, names[i]);
  }
  const order = [...size.keys()].sort((a, b) => {
    const d = size.get(b)! - size.get(a)!;
    if (d !== 0) return d;
    const fa = firstName.get(a)!;
    const fb = firstName.get(b)!;
    return fa < fb ? -1 : fa > fb ? 1 : a - b;
  });
  const rank = new Map<number, number>();
  order.forEach((c, i) => {
    rank.set(c, i);
  });
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rank.get(membership[i])!;
  return out;
}

/**
 * Merges communities below `minSize` into the neighbouring community they share the most weight
 * with, smallest first (a merged community may grow past the limit and stop). Communities with
 * no neighbour are pooled into one. Returns how many communities were merged or pooled.
 */
function mergeSmall(graph: OverlapGraph, membership: Int32Array, minSize: number): number {
  if (minSize <= 1) return 0;
  const csr = csrFromGraph(graph);
  const members = new Map<number, number[]>();
  membership.forEach((c, i) => {
    const list = members.get(c);
    if (list) list.push(i);
    else members.set(c, [i]);
  });
  const small = [...members.entries()]
    .filter(([, m]) => m.length < minSize)
    .sort((a, b) => a[1].length - b[1].length || a[0] - b[0])
    .map(([c]) => c);
  const isolated: number[] = [];
  let merged = 0;
  for (const c of small) {
    const own = members.get(c)!;
    if (own.length >= minSize) continue;
    const toward = new Map<number, number>();
    for (const v of own) {
      for (let i = csr.offsets[v]; i < csr.offsets[v + 1]; i++) {
        const d = membership[csr.neighbors[i]];
        if (d !== c) toward.set(d, (toward.get(d) ?? 0) + csr.weights[i]);
      }
    }
    let best = -1;
    let bestW = 0;
    for (const [d, w] of toward) {
      if (w > bestW || (w === bestW && d < best)) {
        best = d;
        bestW = w;
      }
    }
    if (best < 0) {
      isolated.push(c);
      continue;
    }
    for (const v of own) membership[v] = best;
    members.get(best)!.push(...own);
    members.delete(c);
    merged++;
  }
  if (isolated.length > 1) {
    const pool = isolated[0];
    for (const c of isolated.slice(1)) for (const v of members.get(c)!) membership[v] = pool;
  }
  return merged + (isolated.length > 1 ? isolated.length : 0);
}

function partitionAt(graph: OverlapGraph, o: CommunityOptions, resolution: number) {
  const r =
    o.algorithm === 'louvain'
      ? louvain(graph, { resolution, seed: o.seed })
      : leiden(graph, { resolution, seed: o.seed });
  const t = performance.now();
  const raw = Int32Array.from(r.membership);
  const smallMerged = mergeSmall(graph, raw, o.minSize);
  const membership = renumberBySize(raw, graph.nodeNames);
  let count = 0;
  for (const c of membership) if (c + 1 > count) count = c + 1;
  const sizes = new Array<number>(count).fill(0);
  for (const c of membership) sizes[c]++;
  const partition: Partition = {
    resolution,
    membership,
    count,
    modularity: smallMerged > 0 ? modularity(graph, membership, resolution) : r.modularity,
    sizes,
  };
  return { partition, smallMerged, algorithmMs: r.timings.total, postMs: performance.now() - t };
}

/**
 * Communities of a channel graph with Leiden (ours) or Louvain (graphology): membership
 * renumbered by size, modularity, optional min_size merge and resolution hierarchy.
 * Same graph + options (seed included) ⇒ identical membership.
 */
export function detectCommunities(
  graph: OverlapGraph,
  options: Partial<CommunityOptions> = {},
): CommunityResult {
  const o = { ...COMMUNITY_DEFAULTS, ...options };
  if (o.algorithm !== 'leiden' && o.algorithm !== 'louvain') {
    throw new RangeError(`communities: unknown algorithm ${JSON.stringify(o.algorithm)} (leiden | louvain)`);
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  const main = partitionAt(graph, o, o.resolution);
  const timings: Record<string, number> = {
    [o.algorithm]: main.algorithmMs,
    postprocess: round(main.postMs),
  };
  const result: CommunityResult = {
    ...main.partition,
    algorithm: o.algorithm,
    smallMerged: main.smallMerged,
    timings,
  };
  if (o.hierarchy.length > 0) {
    result.hierarchy = o.hierarchy.map((gamma) => {
      const t = performance.now();
      const level = partitionAt(graph, o, gamma);
      timings[`hierarchy@${gamma}`] = round(performance.now() - t);
      return level.partition;
    });
  }
  return result;
}
