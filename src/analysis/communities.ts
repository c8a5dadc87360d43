import type { CommunityAlgorithm } from '../model/atlas.js';
import { type Csr, csrFromGraph } from './csr.js';
import { leidenCsr } from './leiden.js';
import { releaseLeidenKernel } from './leiden-kernel.js';
import { louvain } from './louvain.js';
import { modularities, modularity } from './modularity.js';
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
   * A refinement is kept when its modularity Q beats the best the same algorithm finds on
   * degree-preserving randomisations of the subgraph, Q₀, by this share of the headroom:
   * (Q − Q₀) / (1 − Q₀) > significance. (A plain ratio Q / Q₀ fails on sparse graphs, where Q₀
   * nears 1 and clear structure cannot double it.) When the split as a whole fails, a part of it
   * is split off alone when its modularity density beats the best null part's by the same share
   * (docs/analysis.md, method step 3).
   */
  significance: number;
  /** Randomisations of each subgraph (more: a steadier null, more time). */
  nullSamples: number;
  /** Refinement levels below the top level (each community may split again, while significant). */
  maxDepth: number;
  /** Subgraphs with fewer channels than this are not split. */
  minSplitSize: number;
  /**
   * Reject a split of a large subgraph (≥ 150 channels) without randomising when it does not beat
   * 0.8 × the analytic estimate of chance (`SplitTest.nullEstimate`); `false` always randomises.
   */
  nullEstimate: boolean;
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
  significance: 0.08,
  nullSamples: 3,
  maxDepth: 3,
  minSplitSize: 8,
  nullEstimate: true,
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

/**
 * One partition tested: the top level of a connected component (depth 0), or a refinement of a
 * subgraph (a group at depth 1, a community deeper).
 */
export interface SplitTest {
  depth: number;
  /** Channels and edges of the subgraph. */
  size: number;
  edges: number;
  /** Parts found and their modularity within the subgraph. */
  parts: number;
  modularity: number;
  /** The best modularity found on each randomisation of the subgraph (empty when the estimate decided). */
  nullModularity: number[];
  /** Reichardt–Bornholdt's estimate of a random graph's modularity, 0.97 / √(mean degree); large subgraphs only. */
  nullEstimate?: number;
  /**
   * The split as a whole failed, so each part was judged alone: `bar` is the best modularity
   * density any part of the randomisations reached (0.8 × `nullEstimate` when the estimate
   * decided), `best` the best density among the parts found, `parts` how many parts beat the bar
   * (split off; the rest stays together as one community).
   */
  partTest?: { bar: number; best: number; parts: number };
  kept: boolean;
}

/**
 * Subgraphs with at least this many channels may be judged on `nullEstimate` alone: from 300
 * channels the randomisations' modularity stayed between 1.1 and 1.9 times the estimate on every
 * bench subgraph, and from 150 the bench's quality figures are unchanged while the 10,000-channel
 * benchmark graph's ~250-channel groups stop paying three randomisations each
 * (`npm run bench -- quality`, docs/analysis.md). A split without excess over
 * `ESTIMATE_MARGIN` × the estimate fails against the randomisations too; one with excess over
 * `ESTIMATE_ACCEPT` × the estimate passes them too.
 */
const ESTIMATE_FROM = 150;
const ESTIMATE_MARGIN = 0.8;
const ESTIMATE_ACCEPT = 3;

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
  /** Every test made: the top level's (depth 0) first, then every refinement in the order tried. */
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
  const { offsets: from, neighbors: to, weights: weightOf } = csr;
  let room = 0;
  for (let i = 0; i < k; i++) {
    const v = members[i] as number;
    local[v] = i;
    room += (from[v + 1] as number) - (from[v] as number);
  }
  // One pass over the members' lists into arrays sized for all their neighbours (a first pass to
  // count the ones inside took half of this function's time), then views of the part written.
  const offsets = new Uint32Array(k + 1);
  const neighbors = new Uint32Array(room);
  const weights = new Float64Array(room);
  const strength = new Float64Array(k);
  let total = 0;
  let p = 0;
  for (let i = 0; i < k; i++) {
    const v = members[i] as number;
    let st = 0;
    for (let j = from[v] as number, e = from[v + 1] as number; j < e; j++) {
      const u = local[to[j] as number] as number;
      if (u < 0) continue;
      // Members ascend, so local ids keep each list ascending.
      neighbors[p] = u;
      const w = weightOf[j] as number;
      weights[p++] = w;
      st += w;
    }
    offsets[i + 1] = p;
    strength[i] = st;
    total += st;
  }
  for (let i = 0; i < k; i++) local[members[i] as number] = -1;
  return {
    n: k,
    offsets,
    neighbors: neighbors.subarray(0, p),
    weights: weights.subarray(0, p),
    strength,
    totalStrength: total,
  };
}

/** Swaps happen between edges at most this many places apart in weight order. */
const SWAP_WINDOW = 8;

/**
 * A degree- and strength-preserving randomisation of `g`: double-edge swaps (Maslov–Sneppen, 4
 * per edge) between edges of nearly equal weight — neighbours in weight order — so every channel
 * keeps its degree exactly and its strength nearly, and heavy edges stay between the channels
 * that had them (hubs), while the community structure is shuffled away. Swaps that would make a
 * self-loop are skipped; parallel edges are allowed (summed). Returns a function giving one such
 * randomisation per call: the edges and their weights' order are taken from `g` once.
 */
export function randomiser(g: Csr): (rng: () => number) => Csr {
  let m = 0;
  for (let v = 0; v < g.n; v++)
    for (let i = g.offsets[v]; i < g.offsets[v + 1]; i++) if (g.neighbors[i] > v) m++;
  const ea = new Uint32Array(m);
  const eb = new Uint32Array(m);
  const ew = new Float64Array(m);
  let e = 0;
  for (let v = 0; v < g.n; v++) {
    for (let i = g.offsets[v]; i < g.offsets[v + 1]; i++) {
      if (g.neighbors[i] <= v) continue;
      ea[e] = v;
      eb[e] = g.neighbors[i];
      ew[e++] = g.weights[i];
    }
  }
  const { rank, start } = weightRanks(ew);
  return (rng) => randomisedEdges(g.n, ea, eb, ew, rank, start, rng);
}

/**
 * One randomisation (see `randomiser`) of the edges (ea, eb, ew), `rank` being each edge's
 * weight's place among the distinct weights and `start` where each rank's edges begin in weight
 * order.
 */
function randomisedEdges(
  n: number,
  ea: Uint32Array,
  eb: Uint32Array,
  ew: Float64Array,
  rank: Uint32Array,
  start: Uint32Array,
  rng: () => number,
): Csr {
  const m = ea.length;
  // Shuffled first, so edges of equal weight (frequent: small shared counts) sit in random order
  // rather than by node id, which would keep the swaps inside one node's neighbourhood.
  const shuffled = new Uint32Array(m);
  for (let i = 0; i < m; i++) shuffled[i] = i;
  for (let i = m - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = shuffled[i];
    shuffled[i] = shuffled[j];
    shuffled[j] = t;
  }
  // … then put in weight order, stably (equal weights stay shuffled): a counting sort by rank.
  // (An array of edge objects sorted with a comparator took 6 of the 9 s of the top-level test on
  // a 600,000-edge graph.)
  const at = start.slice();
  const a = new Uint32Array(m);
  const b = new Uint32Array(m);
  const w = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const x = shuffled[k];
    const p = at[rank[x]]++;
    a[p] = ea[x];
    b[p] = eb[x];
    w[p] = ew[x];
  }
  if (m >= 2) {
    for (let s = 4 * m; s > 0; s--) {
      const x = Math.floor(rng() * m);
      const d = 1 + Math.floor(rng() * SWAP_WINDOW);
      const y = rng() < 0.5 ? x - d : x + d;
      if (y < 0 || y >= m) continue;
      // (a_x, b_x), (a_y, b_y) → (a_x, b_y), (a_y, b_x), or → (a_x, a_y), (b_x, b_y): degrees kept.
      if (rng() < 0.5) {
        if (a[x] === b[y] || a[y] === b[x]) continue;
        const t = b[x];
        b[x] = b[y];
        b[y] = t;
      } else {
        if (a[x] === a[y] || b[x] === b[y]) continue;
        const t = b[x];
        b[x] = a[y];
        a[y] = t;
      }
    }
  }
  return csrFromGraph({
    nodeNames: new Array<string>(n),
    nodeAudience: new Float64Array(0),
    source: a,
    target: b,
    shared: w,
    weight: w,
    length: m,
  });
}

/** Each weight's place among the distinct weights (ascending), and where each place's weights start in order. */
function weightRanks(weight: Float64Array): { rank: Uint32Array; start: Uint32Array } {
  const distinct = Float64Array.from(weight).sort();
  let u = 0;
  for (let i = 0; i < distinct.length; i++)
    if (u === 0 || distinct[i] !== distinct[u - 1]) distinct[u++] = distinct[i];
  const rank = new Uint32Array(weight.length);
  const start = new Uint32Array(u + 1);
  for (let k = 0; k < weight.length; k++) {
    // binary search among the distinct values
    const x = weight[k];
    let lo = 0;
    let hi = u - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (distinct[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    rank[k] = lo;
    start[lo + 1]++;
  }
  for (let r = 0; r < u; r++) start[r + 1] += start[r];
  return { rank, start };
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
  /** Channels whose group's own subgraph (depth 1) split significantly as a whole. */
  splitAsWhole: Uint8Array;
  /** A channel of each subgraph in `splits` (pushed together). */
  splitOwner: number[];
}

/**
 * Modularity density of each part of `membership` on `g`: its modularity contribution per unit of
 * its volume, q_c / (vol_c / 2m) = (internal share of its volume) − γ · vol_c / 2m. A graph's
 * modularity is the volume-weighted mean of its parts' densities, so the densities say which
 * parts carry a partition's structure and which (a hub-heavy remainder) drag it down.
 */
function partDensity(g: Csr, membership: Int32Array, count: number, resolution: number): Float64Array {
  const vol = new Float64Array(count);
  const inner = new Float64Array(count);
  for (let v = 0; v < g.n; v++) {
    const c = membership[v];
    vol[c] += g.strength[v];
    for (let i = g.offsets[v]; i < g.offsets[v + 1]; i++)
      if (membership[g.neighbors[i]] === c) inner[c] += g.weights[i];
  }
  const out = new Float64Array(count);
  const twoM = g.totalStrength;
  for (let c = 0; c < count; c++)
    out[c] = vol[c] > 0 ? inner[c] / vol[c] - (resolution * vol[c]) / twoM : Number.NEGATIVE_INFINITY;
  return out;
}

/** How much of the headroom above chance a modularity q takes: (q − q₀) / (1 − q₀). */
const excess = (q: number, q0: number) => (q - q0) / (1 - q0);

/** One-sided 99% quantiles of Student's t for 1…10 degrees of freedom (beyond: 2.46, df 30). */
const T99 = [31.82, 6.965, 4.541, 3.747, 3.365, 3.143, 2.998, 2.896, 2.821, 2.764];

/**
 * Does `q` lie above the 99% prediction bound of the randomisations' modularities, mean +
 * t₀.₉₉(k − 1) · sd · √(1 + 1/k)? The chance that a graph without structure passes is 1%
 * (a graph's own partition and its randomisations' are draws of one distribution). Needs two
 * randomisations or more.
 */
function aboveSpread(q: number, nulls: readonly number[]): boolean {
  const k = nulls.length;
  if (k < 2) return false;
  const mean = nulls.reduce((a, b) => a + b, 0) / k;
  const sd = Math.sqrt(nulls.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1));
  return q > mean + (T99[k - 2] ?? 2.46) * sd * Math.sqrt(1 + 1 / k);
}

/**
 * The analytic estimate's verdict on a partition of modularity `q` of a graph with `n` channels
 * and `edges` edges: from `ESTIMATE_FROM` channels, rejected without excess over 0.8 × estimate
 * (at the top level, depth 0: when q does not exceed 0.8 × estimate at all), kept with excess
 * over 3 × estimate; otherwise (small graph, or in between) undecided.
 */
function estimateVerdict(
  o: CommunityOptions,
  n: number,
  edges: number,
  q: number,
  depth: number,
): { nullEstimate?: number; verdict?: boolean } {
  if (!o.nullEstimate || n < ESTIMATE_FROM || edges === 0) return {};
  const nullEstimate = 0.97 / Math.sqrt((2 * edges) / n);
  // The top level asks for significance, not for the margin (see `aboveSpread`): it is
  // rejected outright only when q does not even reach the bound on the randomisations' modularity.
  const floor =
    depth === 0
      ? q - ESTIMATE_MARGIN * nullEstimate
      : excess(q, ESTIMATE_MARGIN * nullEstimate) - o.significance;
  if (floor <= 0) return { nullEstimate, verdict: false };
  if (excess(q, Math.min(0.99, ESTIMATE_ACCEPT * nullEstimate)) > o.significance)
    return { nullEstimate, verdict: true };
  return { nullEstimate };
}

/**
 * Is a partition of `g` (modularity `q`, `parts` parts) significant? Its excess over the best
 * modularity Leiden finds on `nullSamples` randomisations of `g` must pass `significance`. On
 * subgraphs of ≥ 150 channels the analytic estimate decides the clear cases without randomising:
 * no excess over 0.8 × estimate, rejected; excess over 3 × estimate, kept (see `ESTIMATE_FROM`;
 * the excess falls as q₀ grows, so a bound on q₀ bounds the excess). At depth 0 (a top level)
 * passing the randomisations' spread is enough (`aboveSpread`). Also returns the best modularity
 * density of any part found on the randomisations (for `partTest`; −∞ when none was run).
 */
function splitTest(
  o: CommunityOptions,
  g: Csr,
  q: number,
  parts: number,
  depth: number,
  seed: number,
): SplitTest & { nullPartBest: number } {
  let n = 0;
  for (let v = 0; v < g.n; v++) if (g.offsets[v + 1] > g.offsets[v]) n++;
  const edges = g.neighbors.length / 2;
  const { nullEstimate, verdict } = estimateVerdict(o, n, edges, q, depth);
  const nullModularity: number[] = [];
  let nullPartBest = Number.NEGATIVE_INFINITY;
  let kept: boolean;
  if (verdict !== undefined) {
    kept = verdict;
  } else {
    const rng = createRng(seed ^ 0x5bd1e995);
    const randomised = randomiser(g);
    let best = 0;
    for (let s = 0; s < o.nullSamples; s++) {
      const rg = randomised(rng);
      const r = leidenCsr(rg, {
        resolution: o.resolution,
        seed: seed + s + 1,
        iterations: 1,
      });
      nullModularity.push(r.modularity);
      if (r.modularity > best) best = r.modularity;
      for (const d of partDensity(rg, r.membership, r.count, o.resolution))
        if (d > nullPartBest) nullPartBest = d;
    }
    // The top level (depth 0) asks only whether there is structure at all: beyond the margin,
    // or beyond the randomisations' own spread (`aboveSpread`).
    kept = excess(q, best) > o.significance || (depth === 0 && aboveSpread(q, nullModularity));
  }
  return {
    depth,
    size: n,
    edges,
    parts,
    modularity: q,
    nullModularity,
    ...(nullEstimate !== undefined ? { nullEstimate } : {}),
    kept,
    nullPartBest,
  };
}

/**
 * Refines one subgraph: Leiden on it alone (its own null model, so the resolution limit of the
 * whole graph no longer applies), kept when `splitTest` finds it significant; each part recursed
 * into. When the split fails as a whole, the parts `partTest` finds standing out are split off
 * and recursed into, the rest refined again as one subgraph. Unsplit subgraphs become leaf
 * communities.
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
  const found = leidenCsr(g, { resolution: o.resolution, seed, iterations: 1 });
  if (found.count < 2 || !(found.modularity > 0)) {
    leafHere();
    return;
  }
  const { nullPartBest, ...test } = splitTest(o, g, found.modularity, found.count, depth, seed);
  r.splits.push(test);
  r.splitOwner.push(members[0]);
  const parts: number[][] = Array.from({ length: found.count }, () => []);
  for (let i = 0; i < g.n; i++) parts[found.membership[i]].push(members[i]);
  if (!test.kept) {
    const size = new Uint32Array(found.count);
    for (let i = 0; i < g.n; i++) size[found.membership[i]]++;
    const own = partTest(
      o,
      partDensity(g, found.membership, found.count, o.resolution),
      size,
      test,
      nullPartBest,
      () =>
        splitTest({ ...o, nullEstimate: false }, g, test.modularity, found.count, depth, seed).nullPartBest,
    );
    test.partTest = own.summary;
    if (own.summary.parts === 0) {
      leafHere();
      return;
    }
    test.kept = true;
    // The parts that stand out alone are split off; the rest stays together (refined again
    // as one subgraph, where its own null model applies).
    const rest: number[] = [];
    const alone: number[][] = [];
    for (let c = 0; c < found.count; c++) {
      if (own.standsOut[c]) alone.push(parts[c]);
      else rest.push(...parts[c]);
    }
    for (const p of alone) refineSubgraph(r, Uint32Array.from(p), depth + 1);
    // The rest is what is left of this level, not a level below: refined at the same depth
    // (it shrinks every time, so this ends).
    if (rest.length > 0) refineSubgraph(r, Uint32Array.from(rest.sort((a, b) => a - b)), depth);
    return;
  }
  if (depth === 1) for (const v of members) r.splitAsWhole[v] = 1;
  for (const p of parts) refineSubgraph(r, Uint32Array.from(p), depth + 1);
}

/**
 * Judges each part of a split that failed as a whole on its own: a part stands out when its
 * modularity density (`partDensity`) beats the best density of any part Leiden found on the
 * randomisations, by the same share of the headroom as a whole split must:
 * (d − d₀) / (1 − d₀) > significance (the best of all null parts: a max-statistic, so chance
 * parts seldom pass). When the analytic estimate rejected the whole split, parts are first held
 * against 0.8 × the estimate (a bound on d₀: the null modularity is the volume-weighted mean of
 * the null parts' densities, so their best is at least Q₀ ≥ 0.8 × estimate): a part that does
 * not beat that cannot beat the randomisations, and no randomisation is needed.
 */
function partTest(
  o: CommunityOptions,
  density: Float64Array,
  size: Uint32Array,
  test: SplitTest,
  nullPartBest: number,
  randomisedBar: () => number,
): { summary: { bar: number; best: number; parts: number }; standsOut: boolean[] } {
  let best = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < density.length; c++)
    if (size[c] >= o.minSplitSize && density[c] > best) best = density[c];
  let bar = nullPartBest;
  if (test.nullModularity.length === 0) {
    // Decided by the estimate: randomise only if some part could pass.
    const floor = ESTIMATE_MARGIN * (test.nullEstimate ?? 0);
    if (!(excess(best, floor) > o.significance)) {
      return { summary: { bar: floor, best, parts: 0 }, standsOut: [] };
    }
    bar = randomisedBar();
  }
  const standsOut = Array.from(
    density,
    (d, c) => size[c] >= o.minSplitSize && excess(d, bar) > o.significance,
  );
  return { summary: { bar, best, parts: standsOut.filter(Boolean).length }, standsOut };
}

/**
 * Tests the top-level partition of each connected component (with two groups or more and at
 * least `minSplitSize` channels; smaller ones keep Leiden's partition, as before) as a
 * refinement is tested (same significance, same estimate for big components): the partition as
 * a whole, and when that fails each group on its own (`partTest`). The partition stays as Leiden
 * found it when either passes (`test.kept`); the components where both fail are returned in
 * `failed`, for `withoutStructure` to decide after the refinement. The modularity within a
 * component is Leiden's when the graph is one component, else one pass over the edges; its
 * subgraph is built only when randomisations must decide. Each test is pushed to `splits` at
 * depth 0.
 */
function testTopLevel(
  csr: Csr,
  top: Int32Array,
  topQ: number,
  o: CommunityOptions,
  splits: SplitTest[],
): { component: Int32Array; failed: Uint8Array } {
  const { n, offsets, neighbors, weights, strength } = csr;
  const component = new Int32Array(n).fill(-1);
  const stack = new Uint32Array(n);
  let components = 0;
  for (let s = 0; s < n; s++) {
    if (component[s] >= 0 || top[s] < 0) continue;
    let sp = 0;
    stack[sp++] = s;
    component[s] = components;
    while (sp > 0) {
      const v = stack[--sp];
      for (let i = offsets[v]; i < offsets[v + 1]; i++) {
        const u = neighbors[i];
        if (component[u] < 0) {
          component[u] = components;
          stack[sp++] = u;
        }
      }
    }
    components++;
  }
  let groupCount = 0;
  for (const c of top) if (c + 1 > groupCount) groupCount = c + 1;
  const inner = new Float64Array(groupCount);
  const vol = new Float64Array(groupCount);
  const groupComponent = new Int32Array(groupCount).fill(-1);
  const compVol = new Float64Array(components);
  const compNodes = new Uint32Array(components);
  const compGroups = new Uint32Array(components);
  const compEdges = new Float64Array(components);
  for (let v = 0; v < n; v++) {
    const c = top[v];
    if (c < 0) continue;
    if (groupComponent[c] < 0) {
      groupComponent[c] = component[v];
      compGroups[component[v]]++;
    }
    const k = component[v];
    vol[c] += strength[v];
    compVol[k] += strength[v];
    compNodes[k]++;
    compEdges[k] += (offsets[v + 1] - offsets[v]) / 2;
  }
  // Internal weight per group: one pass over the edges, only when needed (several components,
  // or a failed test whose groups are then judged one by one).
  let innerDone = false;
  const innerWeights = () => {
    if (innerDone) return inner;
    innerDone = true;
    for (let v = 0; v < n; v++) {
      const c = top[v];
      if (c < 0) continue;
      let w = 0;
      for (let i = offsets[v], end = offsets[v + 1]; i < end; i++)
        if (top[neighbors[i]] === c) w += weights[i];
      inner[c] += w;
    }
    return inner;
  };
  // One component (the usual case): its modularity is the whole graph's, known from Leiden.
  const q = new Float64Array(components);
  if (components === 1) {
    q[0] = topQ;
  } else {
    innerWeights();
    for (let c = 0; c < groupCount; c++) {
      const k = groupComponent[c];
      if (k >= 0) q[k] += inner[c] / compVol[k] - o.resolution * (vol[c] / compVol[k]) ** 2;
    }
  }
  const local = new Int32Array(n).fill(-1);
  const failed = new Uint8Array(components);
  let seed = (o.seed ^ 0x2545f491) >>> 0;
  for (let k = 0; k < components; k++) {
    // Below `minSplitSize` channels nothing is judged (as no smaller subgraph is split): the
    // randomisations of a handful of channels reach any modularity.
    if (compGroups[k] < 2 || compNodes[k] < o.minSplitSize) continue;
    seed = (seed * 1103515245 + 12345) >>> 0;
    const { nullEstimate, verdict } = estimateVerdict(o, compNodes[k], compEdges[k], q[k], 0);
    let test: SplitTest;
    let nullPartBest = Number.NEGATIVE_INFINITY;
    let g: Csr | undefined;
    const componentGraph = () => {
      if (!g) {
        const members: number[] = [];
        for (let v = 0; v < n; v++) if (component[v] === k) members.push(v);
        g = subgraph(csr, Uint32Array.from(members), local);
      }
      return g;
    };
    if (verdict !== undefined) {
      test = {
        depth: 0,
        size: compNodes[k],
        edges: compEdges[k],
        parts: compGroups[k],
        modularity: q[k],
        nullModularity: [],
        ...(nullEstimate !== undefined ? { nullEstimate } : {}),
        kept: verdict,
      };
    } else {
      const { nullPartBest: best, ...t } = splitTest(o, componentGraph(), q[k], compGroups[k], 0, seed);
      test = t;
      nullPartBest = best;
    }
    splits.push(test);
    if (test.kept) continue;
    // Failed as a whole: does some group stand out on its own (as in a refinement)?
    const ids: number[] = [];
    for (let c = 0; c < groupCount; c++) if (groupComponent[c] === k) ids.push(c);
    const w = innerWeights();
    const density = Float64Array.from(ids, (c) => w[c] / vol[c] - (o.resolution * vol[c]) / compVol[k]);
    const index = new Map(ids.map((c, i) => [c, i]));
    const size = new Uint32Array(ids.length);
    for (let v = 0; v < n; v++) if (component[v] === k) size[index.get(top[v])!]++;
    const own = partTest(
      o,
      density,
      size,
      test,
      nullPartBest,
      () =>
        splitTest({ ...o, nullEstimate: false }, componentGraph(), q[k], compGroups[k], 0, seed).nullPartBest,
    );
    test.partTest = own.summary;
    test.kept = own.summary.parts > 0;
    if (!test.kept) failed[k] = 1;
  }
  return { component, failed };
}

/**
 * A component whose top-level partition failed its test, none of whose groups stands out alone,
 * and none of whose groups' own subgraphs split significantly as a whole has no significant
 * structure at any level: it becomes one group and one community (a random graph is not cut;
 * parts split off by `partTest` inside its groups do not count — the groups of a random graph
 * are Leiden's cuts, not random graphs, and their pieces pass the part test now and then: 4 of
 * 8 random graphs of 1,000 channels at mean degree 50). When a group's subgraph did split as a
 * whole, the structure is there below the top level — dense hub-heavy graphs, where the top
 * level scores lower modularity than Leiden finds on their randomisations, yet each group splits
 * significantly (the bench's mixing-0.6 set) — and the top level stays as Leiden found it.
 * Mutates `top` and `fine`; returns the components made one community.
 */
function withoutStructure(
  top: Int32Array,
  fine: Int32Array,
  splitAsWhole: Uint8Array,
  component: Int32Array,
  failed: Uint8Array,
): Uint8Array {
  const merged = new Uint8Array(failed.length);
  if (!failed.includes(1)) return merged;
  const split = new Uint8Array(failed.length);
  for (let v = 0; v < top.length; v++) if (component[v] >= 0 && splitAsWhole[v]) split[component[v]] = 1;
  const group = new Int32Array(failed.length).fill(-1);
  const leaf = new Int32Array(failed.length).fill(-1);
  for (let v = 0; v < top.length; v++) {
    const k = component[v];
    if (k < 0 || !failed[k] || split[k]) continue;
    merged[k] = 1;
    if (group[k] < 0) {
      group[k] = top[v];
      leaf[k] = fine[v];
    }
    top[v] = group[k];
    fine[v] = leaf[k];
  }
  return merged;
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
  csr: Csr,
  o: CommunityOptions,
  resolution: number,
  isolated: Uint8Array,
  iterations?: number,
): { membership: Int32Array; modularity: number } {
  // Leiden runs on the CSR built once for every stage (building it costs about as much as a run).
  const r =
    o.algorithm === 'louvain'
      ? louvain(graph, { resolution, seed: o.seed })
      : leidenCsr(csr, { resolution, seed: o.seed, ...(iterations ? { iterations } : {}) });
  const m = Int32Array.from(r.membership);
  for (let v = 0; v < m.length; v++) if (isolated[v]) m[v] = -1;
  // Isolated channels have no strength: the modularity is the same without them.
  return { membership: m, modularity: r.modularity };
}

/**
 * Communities of a channel graph, two levels by default: top-level groups from Leiden (ours) or
 * Louvain (graphology) at `resolution`, each refined by Leiden on its own subgraph where that beats
 * what degree-preserving randomisations of the subgraph give, as a whole or part by part (see
 * docs/analysis.md). The top level is tested too: a connected component without significant
 * structure at any level is one group and one community. Channels without an edge are
 * unassigned (-1). Same graph + options (seed included) ⇒ identical output.
 */
export function detectCommunities(
  graph: OverlapGraph,
  options: Partial<CommunityOptions> = {},
  /** The graph's CSR when built already (`csrFromGraph`, e.g. by another thread). */
  prebuilt?: Csr,
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
  const csr = prebuilt ?? csrFromGraph(graph);
  const n = csr.n;
  if (n !== graph.nodeNames.length) throw new Error('communities: the CSR given is not of this graph');
  const isolated = new Uint8Array(n);
  let unassigned = 0;
  for (let v = 0; v < n; v++) {
    if (csr.offsets[v + 1] === csr.offsets[v]) {
      isolated[v] = 1;
      unassigned++;
    }
  }
  // Under a hierarchy the top level gets one Leiden pass instead of two: the refinement that
  // follows does what a second pass would (which added 0 modularity on the 10,000-channel bench
  // graph and 0.0016 on the 2021 atlas, for a quarter of the time; docs/analysis.md).
  const { membership: top, modularity: topQ } = flat(
    graph,
    csr,
    o,
    o.resolution,
    isolated,
    o.hierarchy ? 1 : undefined,
  );
  lap(o.algorithm);

  const splits: SplitTest[] = [];
  let fine: Int32Array;
  if (o.hierarchy) {
    const topTest = testTopLevel(csr, top, topQ, o, splits);
    lap('top-test');
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
      splitAsWhole: new Uint8Array(n),
      splitOwner: [],
    };
    const topSplits = splits.length;
    for (const list of lists) if (list.length > 0) refineSubgraph(r, Uint32Array.from(list), 1);
    fine = r.leaf;
    const merged = withoutStructure(top, fine, r.splitAsWhole, topTest.component, topTest.failed);
    // Splits inside a component made one community were undone: report them as not kept.
    r.splitOwner.forEach((v, i) => {
      if (merged[topTest.component[v]]) splits[topSplits + i]!.kept = false;
    });
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
  // both levels' modularity in one pass over the edges
  const [fineQ, groupQ] = modularities(
    graph,
    o.hierarchy ? [membership, groupMembership] : [membership],
    o.resolution,
  );
  const fineP = partitionOf(graph, membership, o.resolution, fineQ);
  const communityGroup = new Int32Array(fineP.count);
  for (let v = 0; v < n; v++) if (membership[v] >= 0) communityGroup[membership[v]] = groupMembership[v];
  const groups = o.hierarchy
    ? partitionOf(graph, groupMembership, o.resolution, groupQ)
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
      const level = renumberBySize(flat(graph, csr, o, gamma, isolated).membership, graph.nodeNames);
      lap(`level@${gamma}`);
      return partitionOf(graph, level, gamma);
    });
  }
  // the kernel's memory holds the largest graph's arrays until its instance goes
  releaseLeidenKernel();
  return result;
}
