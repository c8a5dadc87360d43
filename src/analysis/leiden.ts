import { type Csr, csrFromGraph } from './csr.js';
import { kernelLeiden } from './leiden-kernel.js';
import { modularity } from './modularity.js';
import { createRng, shuffle } from './rng.js';
import type { OverlapGraph } from './types.js';

/** Options of `leiden`; every field optional (see `LEIDEN_DEFAULTS`). */
export interface LeidenOptions {
  /** Resolution γ of modularity: higher gives more, smaller communities. */
  resolution: number;
  /** Seed of the random node orders and refinement choices. */
  seed: number;
  /**
   * Randomness θ of the refinement: a node joins a sub-community with probability ∝
   * exp(gain / (θ · strength of the node)); small θ is nearly greedy.
   */
  randomness: number;
  /** Full Leiden passes; each starts from the previous partition (leidenalg's n_iterations). */
  iterations: number;
  /** Aggregation levels per pass at most (Infinity: until no node moves). */
  maxLevels: number;
}

export const LEIDEN_DEFAULTS: LeidenOptions = {
  resolution: 1,
  seed: 42,
  randomness: 0.01,
  iterations: 2,
  maxLevels: Number.POSITIVE_INFINITY,
};

export interface LeidenResult {
  /** Community per node, ids 0..count-1 (not sorted by size; `detectCommunities` renumbers). */
  membership: Int32Array;
  count: number;
  modularity: number;
  /** Aggregation levels run, summed over iterations. */
  levels: number;
  /** Node moves in the local-moving phases. */
  moves: number;
  timings: { total: number };
}

/** Gain epsilon: moves must improve by more than this (relative to 2m) to count, so float noise cannot loop. */
const EPS = 1e-12;

/**
 * Fast local moving (Traag et al. 2019, Alg. A.2): a queue of nodes in random order; a node
 * moves to the neighbouring community (or an empty one) with the best modularity gain; when it
 * moves, its neighbours outside the new community are queued again. Mutates `comm`.
 */
function moveNodesFast(g: Csr, comm: Int32Array, gamma: number, rng: () => number): number {
  const { n, offsets, neighbors, weights, strength, totalStrength: twoM } = g;
  const tot = new Float64Array(n);
  const size = new Uint32Array(n);
  for (let v = 0; v < n; v++) {
    tot[comm[v]] += strength[v];
    size[comm[v]]++;
  }
  const empty: number[] = [];
  for (let c = n - 1; c >= 0; c--) if (size[c] === 0) empty.push(c);
  const queue = new Uint32Array(n);
  for (let v = 0; v < n; v++) queue[v] = v;
  shuffle(queue, rng);
  const inQueue = new Uint8Array(n).fill(1);
  let head = 0;
  let queued = n;
  const neighW = new Float64Array(n);
  const touched = new Uint32Array(n);
  const eps = EPS * twoM;
  let moves = 0;
  while (queued > 0) {
    const v = queue[head];
    head = head + 1 === n ? 0 : head + 1;
    queued--;
    inQueue[v] = 0;
    const old = comm[v];
    let nt = 0;
    for (let i = offsets[v]; i < offsets[v + 1]; i++) {
      const c = comm[neighbors[i]];
      if (neighW[c] === 0) touched[nt++] = c;
      neighW[c] += weights[i];
    }
    const kv = strength[v];
    tot[old] -= kv;
    size[old]--;
    const scale = (gamma * kv) / twoM;
    let best = old;
    let bestGain = neighW[old] - scale * tot[old];
    for (let i = 0; i < nt; i++) {
      const c = touched[i];
      const gain = neighW[c] - scale * tot[c];
      if (gain > bestGain + eps) {
        best = c;
        bestGain = gain;
      }
    }
    // An empty community scores 0: better when every neighbouring community repels the node.
    if (bestGain < -eps && size[old] > 0) {
      best = empty.pop()!;
    } else if (bestGain < -eps) {
      best = old;
    }
    for (let i = 0; i < nt; i++) neighW[touched[i]] = 0;
    neighW[old] = 0;
    comm[v] = best;
    tot[best] += kv;
    size[best]++;
    if (best !== old) {
      moves++;
      if (size[old] === 0) empty.push(old);
      for (let i = offsets[v]; i < offsets[v + 1]; i++) {
        const u = neighbors[i];
        if (!inQueue[u] && comm[u] !== best) {
          inQueue[u] = 1;
          let tail = head + queued;
          if (tail >= n) tail -= n;
          queue[tail] = u;
          queued++;
        }
      }
    }
  }
  return moves;
}

/**
 * Refinement (Alg. A.3): inside each community of `comm`, start from singletons and merge only
 * well-connected singleton nodes into well-connected sub-communities, chosen at random with
 * probability ∝ exp(gain / θ'), among non-negative gains. Sub-communities are therefore
 * γ-connected, which is what makes Leiden's communities connected (Louvain's may not be).
 * Returns a sub-community id per node (ids are node ids of a member).
 */
function refine(g: Csr, comm: Int32Array, gamma: number, theta: number, rng: () => number): Int32Array {
  const { n, offsets, neighbors, weights, strength, totalStrength: twoM } = g;
  const ref = new Int32Array(n);
  const refTot = Float64Array.from(strength);
  const refSize = new Uint32Array(n).fill(1);
  const commTot = new Float64Array(n);
  const toOwn = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    ref[v] = v;
    commTot[comm[v]] += strength[v];
    for (let i = offsets[v]; i < offsets[v + 1]; i++)
      if (comm[neighbors[i]] === comm[v]) toOwn[v] += weights[i];
  }
  // External weight of each sub-community to the rest of its community.
  const refExt = Float64Array.from(toOwn);
  const order = new Uint32Array(n);
  for (let v = 0; v < n; v++) order[v] = v;
  shuffle(order, rng);
  const neighW = new Float64Array(n);
  const touched = new Uint32Array(n);
  const gains = new Float64Array(n);
  for (let oi = 0; oi < n; oi++) {
    const v = order[oi];
    if (ref[v] !== v || refSize[v] !== 1) continue;
    const c = comm[v];
    const kv = strength[v];
    const ct = commTot[c];
    if (toOwn[v] < (gamma * kv * (ct - kv)) / twoM) continue;
    let nt = 0;
    for (let i = offsets[v]; i < offsets[v + 1]; i++) {
      const u = neighbors[i];
      if (comm[u] !== c) continue;
      const r = ref[u];
      if (neighW[r] === 0) touched[nt++] = r;
      neighW[r] += weights[i];
    }
    // Candidates: well-connected sub-communities with a non-negative gain; staying alone scores 0.
    let maxGain = 0;
    let nc = 0;
    for (let i = 0; i < nt; i++) {
      const r = touched[i];
      const rt = refTot[r];
      const gain = neighW[r] - (gamma * kv * rt) / twoM;
      if (gain >= 0 && refExt[r] >= (gamma * rt * (ct - rt)) / twoM) {
        touched[nc] = r;
        gains[nc++] = gain;
        if (gain > maxGain) maxGain = gain;
      } else {
        neighW[r] = 0;
      }
    }
    if (nc > 0) {
      const scale = 1 / (theta * kv);
      let sum = Math.exp(-maxGain * scale); // staying alone
      for (let i = 0; i < nc; i++) sum += Math.exp((gains[i] - maxGain) * scale);
      // Below 0 = stay alone; otherwise walk the candidates (the last one absorbs rounding).
      let pick = rng() * sum - Math.exp(-maxGain * scale);
      let chosen = -1;
      for (let i = 0; i < nc && chosen < 0 && pick >= 0; i++) {
        pick -= Math.exp((gains[i] - maxGain) * scale);
        if (pick < 0 || i === nc - 1) chosen = touched[i];
      }
      if (chosen >= 0) {
        ref[v] = chosen;
        refTot[chosen] += kv;
        refSize[chosen]++;
        refSize[v] = 0;
        refExt[chosen] += toOwn[v] - 2 * neighW[chosen];
      }
      for (let i = 0; i < nc; i++) neighW[touched[i]] = 0;
    }
  }
  // Chains (u joined v's sub-community after v joined w's) cannot happen: only singletons move,
  // and a sub-community that gained a member is never a singleton again. So ref is final.
  return ref;
}

/** Dense renumbering of a label array (first-seen order); returns the new labels and their count. */
function renumber(labels: Int32Array): { ids: Int32Array; count: number } {
  let max = -1;
  for (const l of labels) if (l > max) max = l;
  const map = new Int32Array(max + 1).fill(-1);
  const ids = new Int32Array(labels.length);
  let count = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (map[l] < 0) map[l] = count++;
    ids[i] = map[l];
  }
  return { ids, count };
}

/** Collapses each group of `group` (dense ids 0..count-1) into one node; weights summed, internal weight dropped. */
function aggregateGraph(g: Csr, group: Int32Array, count: number): Csr {
  const { n, offsets, neighbors, weights, strength } = g;
  const start = new Uint32Array(count + 1);
  for (let v = 0; v < n; v++) start[group[v] + 1]++;
  for (let c = 0; c < count; c++) start[c + 1] += start[c];
  const members = new Uint32Array(n);
  const cur = start.slice(0, count);
  for (let v = 0; v < n; v++) members[cur[group[v]]++] = v;
  const outOffsets = new Uint32Array(count + 1);
  let cap = Math.max(16, neighbors.length);
  let outNb = new Uint32Array(cap);
  let outW = new Float64Array(cap);
  const outStrength = new Float64Array(count);
  const acc = new Float64Array(count);
  const touched = new Uint32Array(count);
  let k = 0;
  for (let c = 0; c < count; c++) {
    let nt = 0;
    for (let m = start[c]; m < start[c + 1]; m++) {
      const v = members[m];
      outStrength[c] += strength[v];
      for (let i = offsets[v]; i < offsets[v + 1]; i++) {
        const d = group[neighbors[i]];
        if (d === c) continue;
        if (acc[d] === 0) touched[nt++] = d;
        acc[d] += weights[i];
      }
    }
    if (k + nt > cap) {
      cap = Math.max(cap * 2, k + nt);
      const nb2 = new Uint32Array(cap);
      nb2.set(outNb.subarray(0, k));
      outNb = nb2;
      const w2 = new Float64Array(cap);
      w2.set(outW.subarray(0, k));
      outW = w2;
    }
    const list = touched.subarray(0, nt);
    list.sort();
    for (let i = 0; i < nt; i++) {
      outNb[k] = list[i];
      outW[k++] = acc[list[i]];
      acc[list[i]] = 0;
    }
    outOffsets[c + 1] = k;
  }
  return {
    n: count,
    offsets: outOffsets,
    neighbors: outNb.slice(0, k),
    weights: outW.slice(0, k),
    strength: outStrength,
    totalStrength: g.totalStrength,
  };
}

/** Distinct labels; labels must be < labels.length (true of community ids in a graph of that many nodes). */
function countLabels(labels: Int32Array): number {
  const seen = new Uint8Array(labels.length);
  let count = 0;
  for (const l of labels) {
    if (!seen[l]) {
      seen[l] = 1;
      count++;
    }
  }
  return count;
}

/** One full Leiden run (Alg. A.1) from an initial partition of the base graph. */
function leidenPass(
  base: Csr,
  initial: Int32Array,
  gamma: number,
  theta: number,
  rng: () => number,
  maxLevels = Number.POSITIVE_INFINITY,
): { membership: Int32Array; levels: number; moves: number } {
  let g = base;
  let comm: Int32Array = Int32Array.from(initial);
  // Base node → node of the current aggregate graph.
  const nodeOf = new Int32Array(base.n);
  for (let v = 0; v < base.n; v++) nodeOf[v] = v;
  let levels = 0;
  let moves = 0;
  for (;;) {
    moves += moveNodesFast(g, comm, gamma, rng);
    if (countLabels(comm) === g.n || levels >= maxLevels) break;
    let { ids: refIds, count: refCount } = renumber(refine(g, comm, gamma, theta, rng));
    // No sub-community formed: aggregate on the partition itself (as Louvain), which still shrinks the graph.
    if (refCount === g.n) ({ ids: refIds, count: refCount } = renumber(comm));
    const next = new Int32Array(refCount);
    for (let v = 0; v < g.n; v++) next[refIds[v]] = comm[v];
    for (let v = 0; v < base.n; v++) nodeOf[v] = refIds[nodeOf[v]];
    g = aggregateGraph(g, refIds, refCount);
    // Community ids must be < n of the new graph for the dense arrays of moveNodesFast.
    comm = renumber(next).ids;
    levels++;
  }
  const membership = new Int32Array(base.n);
  for (let v = 0; v < base.n; v++) membership[v] = comm[nodeOf[v]];
  return { membership: renumber(membership).ids, levels, moves };
}

/**
 * Leiden community detection (Traag, Waltman & van Eck 2019, Sci. Rep. 9:5233) for modularity
 * with resolution γ, on CSR typed arrays: fast local moving with a queue, refinement into
 * well-connected sub-communities, aggregation on the refined partition with the unrefined
 * partition as the starting point. Seeded: same graph + options ⇒ same membership.
 */
export function leiden(graph: OverlapGraph, options: Partial<LeidenOptions> = {}): LeidenResult {
  const t0 = performance.now();
  const r = leidenCsr(csrFromGraph(graph), options);
  return {
    ...r,
    modularity: modularity(graph, r.membership, { ...LEIDEN_DEFAULTS, ...options }.resolution),
    timings: { total: Math.round((performance.now() - t0) * 10) / 10 },
  };
}

/** Leiden on a ready CSR (the hierarchy runs it on many subgraphs); modularity computed on the CSR. */
export function leidenCsr(csr: Csr, options: Partial<LeidenOptions> = {}): Omit<LeidenResult, 'timings'> {
  const o = { ...LEIDEN_DEFAULTS, ...options };
  const fast = csr.totalStrength > 0 ? kernelLeiden(csr, o) : undefined;
  if (fast) {
    const { membership, count, levels, moves, inside, tot } = fast;
    return {
      membership,
      count,
      // the kernel summed csrModularity's pass while it had the graph
      modularity: modularityOfSums(inside, tot, count, csr.totalStrength, o.resolution),
      levels,
      moves,
    };
  }
  const rng = createRng(o.seed);
  let membership: Int32Array = new Int32Array(csr.n);
  for (let v = 0; v < csr.n; v++) membership[v] = v;
  let levels = 0;
  let moves = 0;
  if (csr.totalStrength > 0) {
    for (let it = 0; it < Math.max(1, o.iterations); it++) {
      const r = leidenPass(csr, membership, o.resolution, o.randomness, rng, o.maxLevels);
      membership = r.membership;
      levels += r.levels;
      moves += r.moves;
      if (it > 0 && r.moves === 0) break;
    }
  }
  const { ids, count } = renumber(membership);
  return { membership: ids, count, modularity: csrModularity(csr, ids, count, o.resolution), levels, moves };
}

/** Modularity of `membership` (dense ids < count) on a CSR: Σ_c in_c/2m − γ (tot_c/2m)². */
export function csrModularity(csr: Csr, membership: Int32Array, count: number, resolution: number): number {
  const twoM = csr.totalStrength;
  if (!(twoM > 0)) return 0;
  const inside = new Float64Array(count);
  const tot = new Float64Array(count);
  for (let v = 0; v < csr.n; v++) {
    const c = membership[v];
    tot[c] += csr.strength[v];
    for (let i = csr.offsets[v]; i < csr.offsets[v + 1]; i++)
      if (membership[csr.neighbors[i]] === c) inside[c] += csr.weights[i];
  }
  return modularityOfSums(inside, tot, count, twoM, resolution);
}

/** Q from each community's inside weight (both ends) and strength: Σ_c in_c/2m − γ (tot_c/2m)². */
function modularityOfSums(
  inside: Float64Array,
  tot: Float64Array,
  count: number,
  twoM: number,
  resolution: number,
): number {
  if (!(twoM > 0)) return 0;
  let q = 0;
  for (let c = 0; c < count; c++) q += inside[c] / twoM - resolution * (tot[c] / twoM) ** 2;
  return q;
}
