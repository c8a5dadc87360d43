import type { CommunityAlgorithm } from '../model/atlas.js';
import { type Csr, csrFromGraph } from './csr.js';
import { leiden, leidenCsr } from './leiden.js';
import { louvain } from './louvain.js';
import { modularity } from './modularity.js';
import { createRng } from './rng.js';
import type { OverlapGraph } from './types.js';

/** Options of `detectCommunities`; every field optional (see `COMMUNITY_DEFAULTS`). */
export interface CommunityOptions {
  algorithm: CommunityAlgorithm;
  /** Modularity resolution γ of the top level and of every refinement (higher: more, smaller communities). */
  resolution: number;
  seed: number;
  /**
   * Two levels: the top-level groups (the partition at `resolution`), each refined into the
   * communities inside it where the refinement is significant. `false`: one flat partition
   * (groups = communities).
   */
  hierarchy: boolean;
  /**
   * A refinement is kept when its modularity beats the best the same algorithm finds on
   * degree-preserving randomisations of the subgraph by this factor (1.25: 25% more).
   */
  significance: number;
  /** Randomisations of each subgraph (more: a steadier null, more time). */
  nullSamples: number;
  /** Refinement levels below the top level (each community may split again, while significant). */
  maxDepth: number;
  /** Subgraphs with fewer channels than this are not split. */
  minSplitSize: number;
  /** Extra flat partitions at these resolutions, reported in `levels`. */
  extraResolutions: readonly number[];
  /**
   * Communities smaller than this are merged into the neighbouring community they share the most
   * weight with (taking its group); those with no neighbour at all are pooled together.
   */
  minSize: number;
}

export const COMMUNITY_DEFAULTS: CommunityOptions = {
  algorithm: 'leiden',
  resolution: 1,
  seed: 42,
  hierarchy: true,
  significance: 1.25,
  nullSamples: 1,
  maxDepth: 3,
  minSplitSize: 8,
  extraResolutions: [],
  minSize: 1,
};

/** One partition: ids 0..count-1 (-1: unassigned, a channel without any edge). */
export interface Partition {
  resolution: number;
  membership: Int32Array;
  count: number;
  /** Modularity of `membership` on the whole graph at `resolution` (unassigned channels add nothing). */
  modularity: number;
  /** Members per id. */
  sizes: number[];
}

/** One refinement tried on a subgraph (a group, or a community at a deeper level). */
export interface SplitTest {
  depth: number;
  /** Channels and edges of the subgraph. */
  size: number;
  edges: number;
  /** Parts found and their modularity within the subgraph. */
  parts: number;
  modularity: number;
  /** The best modularity found on each randomisation of the subgraph. */
  nullModularity: number[];
  kept: boolean;
}

/**
 * The fine communities (the partition itself) with the top-level groups above them. Communities
 * are numbered by group, then by size within the group; groups by size.
 */
export interface CommunityResult extends Partition {
  algorithm: CommunityAlgorithm;
  /** Top-level groups; `communityGroup[c]` is the group of community c. */
  groups: Partition;
  communityGroup: Int32Array;
  /** Channels without any edge: community and group -1. */
  unassigned: number;
  /** Communities merged or pooled because of min_size. */
  smallMerged: number;
  /** Every refinement tried, in the order tried. */
  splits: SplitTest[];
  /** One flat partition per `extraResolutions` entry, in the order given. */
  levels?: Partition[];
  /** Milliseconds: the top level, the refinement, post-processing, extra levels. */
  timings: Record<string, number>;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Renumbers ids 0..k-1 by size, biggest first; equal sizes ordered by their alphabetically
 * smallest member name, so the numbering never depends on algorithm internals. Negative ids
 * (unassigned) stay -1.
 */
export function renumberBySize(membership: ArrayLike<number>, names: readonly string[]): Int32Array {
  return renumberWithin(membership, names, undefined);
}

/**
 * As `renumberBySize`, but ordered first by `parentOf(id)` (ascending), so the children of one
 * parent are numbered together.
 */
function renumberWithin(
  membership: ArrayLike<number>,
  names: readonly string[],
  parentOf: ((id: number) => number) | undefined,
): Int32Array {
  const n = membership.length;
  const size = new Map<number, number>();
  const firstName = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const c = membership[i];
    if (c < 0) continue;
    size.set(c, (size.get(c) ?? 0) + 1);
    const f = firstName.get(c);
    if (f === undefined || names[i] < f) firstName.set(c, names[i]);
  }
  const order = [...size.keys()].sort(
    (a, b) =>
      (parentOf ? parentOf(a) - parentOf(b) : 0) ||
      size.get(b)! - size.get(a)! ||
      byName(firstName.get(a)!, firstName.get(b)!) ||
      a - b,
  );
  const rank = new Map<number, number>();
  order.forEach((c, i) => {
    rank.set(c, i);
  });
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = membership[i] < 0 ? -1 : rank.get(membership[i])!;
  return out;
}

/**
 * Merges communities below `minSize` into the neighbouring community they share the most weight
 * with, smallest first (a merged community may grow past the limit and stop). Communities with
 * no neighbour are pooled into one. Returns how many communities were merged or pooled.
 */
function mergeSmall(csr: Csr, membership: Int32Array, minSize: number): number {
  if (minSize <= 1) return 0;
  const members = new Map<number, number[]>();
  membership.forEach((c, i) => {
    if (c < 0) return;
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

/** The subgraph of `csr` induced by `members` (ascending node ids): internal edges only. */
function subgraph(csr: Csr, members: Uint32Array, local: Int32Array): Csr {
  const k = members.length;
  for (let i = 0; i < k; i++) local[members[i]] = i;
  const offsets = new Uint32Array(k + 1);
  for (let i = 0; i < k; i++) {
    const v = members[i];
    let d = 0;
    for (let j = csr.offsets[v]; j < csr.offsets[v + 1]; j++) if (local[csr.neighbors[j]] >= 0) d++;
    offsets[i + 1] = offsets[i] + d;
  }
  const neighbors = new Uint32Array(offsets[k]);
  const weights = new Float64Array(offsets[k]);
  const strength = new Float64Array(k);
  let total = 0;
  let p = 0;
  for (let i = 0; i < k; i++) {
    const v = members[i];
    for (let j = csr.offsets[v]; j < csr.offsets[v + 1]; j++) {
      const u = local[csr.neighbors[j]];
      if (u < 0) continue;
      // Members ascend, so local ids keep each list ascending.
      neighbors[p] = u;
      weights[p++] = csr.weights[j];
      strength[i] += csr.weights[j];
    }
    total += strength[i];
  }
  for (let i = 0; i < k; i++) local[members[i]] = -1;
  return { n: k, offsets, neighbors, weights, strength, totalStrength: total };
}

/**
 * A degree-preserving randomisation of `g` (Maslov–Sneppen double-edge swaps, 4 per edge; each
 * edge keeps its weight): the same channels, degrees and weights with the structure shuffled
 * away. Swaps that would make a self-loop are skipped; parallel edges are allowed (summed).
 */
function randomised(g: Csr, rng: () => number): Csr {
  let m = 0;
  for (let v = 0; v < g.n; v++)
    for (let i = g.offsets[v]; i < g.offsets[v + 1]; i++) if (g.neighbors[i] > v) m++;
  const a = new Uint32Array(m);
  const b = new Uint32Array(m);
  const w = new Float64Array(m);
  let e = 0;
  for (let v = 0; v < g.n; v++) {
    for (let i = g.offsets[v]; i < g.offsets[v + 1]; i++) {
      if (g.neighbors[i] <= v) continue;
      a[e] = v;
      b[e] = g.neighbors[i];
      w[e++] = g.weights[i];
    }
  }
  if (m >= 2) {
    for (let s = 4 * m; s > 0; s--) {
      const x = Math.floor(rng() * m);
      const y = Math.floor(rng() * m);
      if (x === y) continue;
      // (a_x, b_x), (a_y, b_y) → (a_x, b_y), (a_y, b_x): every endpoint keeps its degree.
      if (a[x] === b[y] || a[y] === b[x]) continue;
      const t = b[x];
      b[x] = b[y];
      b[y] = t;
    }
  }
  return csrFromGraph({
    nodeNames: new Array<string>(g.n),
    nodeAudience: new Float64Array(0),
    source: a,
    target: b,
    shared: w,
    weight: w,
    length: m,
  });
}

interface Refiner {
  csr: Csr;
  local: Int32Array;
  options: CommunityOptions;
  splits: SplitTest[];
  /** Leaf community per node (global ids, assigned as leaves are found). */
  leaf: Int32Array;
  leaves: number;
  seed: number;
}

/**
 * Refines one subgraph: Leiden on it alone (its own null model, so the resolution limit of the
 * whole graph no longer applies), kept when its modularity beats `significance` × the best found
 * on randomisations of it; each part recursed into. Unsplit subgraphs become leaf communities.
 */
function refineSubgraph(r: Refiner, members: Uint32Array, depth: number): void {
  const o = r.options;
  const leafHere = () => {
    const id = r.leaves++;
    for (const v of members) r.leaf[v] = id;
  };
  if (depth > o.maxDepth || members.length < o.minSplitSize) {
    leafHere();
    return;
  }
  const g = subgraph(r.csr, members, r.local);
  r.seed = (r.seed * 1103515245 + 12345) >>> 0;
  const seed = r.seed;
  const found = leidenCsr(g, { resolution: o.resolution, seed });
  if (found.count < 2 || !(found.modularity > 0)) {
    leafHere();
    return;
  }
  const rng = createRng(seed ^ 0x5bd1e995);
  const nullModularity: number[] = [];
  let best = 0;
  for (let s = 0; s < o.nullSamples; s++) {
    const q = leidenCsr(randomised(g, rng), { resolution: o.resolution, seed: seed + s + 1 }).modularity;
    nullModularity.push(q);
    if (q > best) best = q;
  }
  const kept = found.modularity > o.significance * best;
  r.splits.push({
    depth,
    size: g.n,
    edges: g.neighbors.length / 2,
    parts: found.count,
    modularity: found.modularity,
    nullModularity,
    kept,
  });
  if (!kept) {
    leafHere();
    return;
  }
  const parts: number[][] = Array.from({ length: found.count }, () => []);
  for (let i = 0; i < g.n; i++) parts[found.membership[i]].push(members[i]);
  for (const p of parts) refineSubgraph(r, Uint32Array.from(p), depth + 1);
}

function partitionOf(graph: OverlapGraph, membership: Int32Array, resolution: number, q?: number): Partition {
  let count = 0;
  for (const c of membership) if (c + 1 > count) count = c + 1;
  const sizes = new Array<number>(count).fill(0);
  for (const c of membership) if (c >= 0) sizes[c]++;
  return { resolution, membership, count, modularity: q ?? modularity(graph, membership, resolution), sizes };
}

/** A flat partition at one resolution (ids as the algorithm gives them; isolated channels -1). */
function flat(
  graph: OverlapGraph,
  o: CommunityOptions,
  resolution: number,
  isolated: Uint8Array,
): Int32Array {
  const r =
    o.algorithm === 'louvain'
      ? louvain(graph, { resolution, seed: o.seed })
      : leiden(graph, { resolution, seed: o.seed });
  const m = Int32Array.from(r.membership);
  for (let v = 0; v < m.length; v++) if (isolated[v]) m[v] = -1;
  return m;
}

/**
 * Communities of a channel graph, two levels by default: top-level groups from Leiden (ours) or
 * Louvain (graphology) at `resolution`, each refined by Leiden on its own subgraph where that beats
 * what degree-preserving randomisations of the subgraph give (see docs/analysis.md). Channels
 * without an edge are unassigned (-1). Same graph + options (seed included) ⇒ identical output.
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
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = round(now - t);
    t = now;
  };
  const csr = csrFromGraph(graph);
  const n = csr.n;
  const isolated = new Uint8Array(n);
  let unassigned = 0;
  for (let v = 0; v < n; v++) {
    if (csr.offsets[v + 1] === csr.offsets[v]) {
      isolated[v] = 1;
      unassigned++;
    }
  }
  const top = flat(graph, o, o.resolution, isolated);
  lap(o.algorithm);

  const splits: SplitTest[] = [];
  let fine: Int32Array;
  if (o.hierarchy) {
    let groupCount = 0;
    for (const c of top) if (c + 1 > groupCount) groupCount = c + 1;
    const lists: number[][] = Array.from({ length: groupCount }, () => []);
    for (let v = 0; v < n; v++) if (top[v] >= 0) lists[top[v]].push(v);
    const r: Refiner = {
      csr,
      local: new Int32Array(n).fill(-1),
      options: o,
      splits,
      leaf: new Int32Array(n).fill(-1),
      leaves: 0,
      seed: o.seed >>> 0,
    };
    for (const list of lists) if (list.length > 0) refineSubgraph(r, Uint32Array.from(list), 1);
    fine = r.leaf;
    lap('refine');
  } else {
    fine = Int32Array.from(top);
  }
  const smallMerged = mergeSmall(csr, fine, o.minSize);
  // Each community's group: the top-level group of its members (after a min_size merge, the
  // absorbing community's group).
  const groupOfRaw = new Map<number, number>();
  for (let v = 0; v < n; v++) if (fine[v] >= 0 && !groupOfRaw.has(fine[v])) groupOfRaw.set(fine[v], top[v]);
  const rawGroup = new Int32Array(n);
  for (let v = 0; v < n; v++) rawGroup[v] = fine[v] < 0 ? -1 : groupOfRaw.get(fine[v])!;
  const groupMembership = renumberBySize(rawGroup, graph.nodeNames);
  const groupOfFine = new Map<number, number>();
  for (let v = 0; v < n; v++) if (fine[v] >= 0) groupOfFine.set(fine[v], groupMembership[v]);
  const membership = renumberWithin(fine, graph.nodeNames, (c) => groupOfFine.get(c)!);
  const fineP = partitionOf(graph, membership, o.resolution);
  const communityGroup = new Int32Array(fineP.count);
  for (let v = 0; v < n; v++) if (membership[v] >= 0) communityGroup[membership[v]] = groupMembership[v];
  const groups = o.hierarchy
    ? partitionOf(graph, groupMembership, o.resolution)
    : { ...fineP, membership: groupMembership };
  lap('postprocess');

  const result: CommunityResult = {
    ...fineP,
    algorithm: o.algorithm,
    groups,
    communityGroup,
    unassigned,
    smallMerged,
    splits,
    timings,
  };
  if (o.extraResolutions.length > 0) {
    result.levels = o.extraResolutions.map((gamma) => {
      const level = renumberBySize(flat(graph, o, gamma, isolated), graph.nodeNames);
      lap(`level@${gamma}`);
      return partitionOf(graph, level, gamma);
    });
  }
  return result;
}
