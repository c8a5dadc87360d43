import type { OverlapGraph } from './types.js';

/** Undirected weighted graph as CSR: both directions stored, no self-loops, neighbours ascending. */
export interface Csr {
  n: number;
  offsets: Uint32Array;
  neighbors: Uint32Array;
  weights: Float64Array;
  /** Node strength: sum of incident weights (in aggregated graphs, the members' total, self-loops included). */
  strength: Float64Array;
  /** Sum of all strengths (2m). */
  totalStrength: number;
}

/**
 * OverlapGraph edge arrays → CSR. Parallel edges are summed; self-loops and non-positive weights
 * dropped. Linear: the entries are laid out per node in edge order, then transposed (node u's
 * entries (u, v) are appended to v's list for u ascending), which leaves every list sorted with
 * repeats side by side; repeats are summed in edge order, as a per-node sort and merge would.
 */
export function csrFromGraph(graph: OverlapGraph): Csr {
  return csrFromEdges(csrInputOf(graph));
}

/** A graph's edge arrays and node count: what `csrFromEdges` reads (and a worker is sent). */
export interface CsrInput {
  nodes: number;
  source: Uint32Array;
  target: Uint32Array;
  weight: Float64Array;
  length: number;
}

export function csrInputOf(graph: OverlapGraph): CsrInput {
  const { source, target, weight, length } = graph;
  return { nodes: graph.nodeNames.length, source, target, weight, length };
}

/** `csrFromGraph` of the edge arrays alone. */
export function csrFromEdges(graph: CsrInput): Csr {
  const n = graph.nodes;
  const { source, target, weight, length } = graph;
  const upward = upwardOrder(source, target, length);
  if (upward === STRICTLY_UPWARD) return csrFromDistinctUpwardEdges(n, source, target, weight, length);
  if (upward === UPWARD) return csrFromUpwardEdges(n, source, target, weight, length);
  const offsets = new Uint32Array(n + 1);
  for (let e = 0; e < length; e++) {
    if (source[e] === target[e] || !(weight[e] > 0)) continue;
    offsets[source[e] + 1]++;
    offsets[target[e] + 1]++;
  }
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i];
  const total = offsets[n];
  const cursor = offsets.slice(0, n);
  const nb = new Uint32Array(total);
  const w = new Float64Array(total);
  for (let e = 0; e < length; e++) {
    const a = source[e];
    const b = target[e];
    if (a === b || !(weight[e] > 0)) continue;
    nb[cursor[a]] = b;
    w[cursor[a]++] = weight[e];
    nb[cursor[b]] = a;
    w[cursor[b]++] = weight[e];
  }
  const sortedNb = new Uint32Array(total);
  const sortedW = new Float64Array(total);
  cursor.set(offsets.subarray(0, n));
  for (let u = 0; u < n; u++) {
    for (let i = offsets[u]; i < offsets[u + 1]; i++) {
      const k = cursor[nb[i]]++;
      sortedNb[k] = u;
      sortedW[k] = w[i];
    }
  }
  return mergeRepeats(n, offsets, sortedNb, sortedW);
}

const NOT_UPWARD = 0;
/** Every edge goes from a lower node to a higher one, sources ascending (the overlap graph's order). */
const UPWARD = 1;
/** And each source's targets strictly ascending: no pair twice (the overlap projection's output). */
const STRICTLY_UPWARD = 2;

function upwardOrder(source: Uint32Array, target: Uint32Array, length: number): number {
  let previous = 0;
  let previousTarget = -1;
  let strict = true;
  for (let e = 0; e < length; e++) {
    const s = source[e];
    const t = target[e];
    if (s < previous || s >= t) return NOT_UPWARD;
    if (s !== previous) previousTarget = -1;
    if (t <= previousTarget) strict = false;
    previous = s;
    previousTarget = t;
  }
  return strict ? STRICTLY_UPWARD : UPWARD;
}

/**
 * Where each node's list starts in the CSR of upward edges (a, b > a), and how many of its
 * entries are its lower neighbours (the edges into it), which come first. Non-positive weights
 * are left out.
 */
function upwardLayout(
  n: number,
  source: Uint32Array,
  target: Uint32Array,
  weight: Float64Array,
  length: number,
): { lower: Uint32Array; offsets: Uint32Array } {
  const lower = new Uint32Array(n);
  const upper = new Uint32Array(n);
  for (let e = 0; e < length; e++) {
    if (!(weight[e] > 0)) continue;
    upper[source[e]]++;
    lower[target[e]]++;
  }
  const offsets = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) offsets[v + 1] = offsets[v] + lower[v] + upper[v];
  return { lower, offsets };
}

/**
 * `csrFromGraph` for distinct edges (a, b > a), sources ascending, each source's targets
 * ascending: a node's list is its lower neighbours (the edges into it, laid out in edge order,
 * so ascending) then its upper ones (its own edges out, one run of the edge arrays, copied in
 * order). Only the lower halves are scattered; there are no repeats to merge, and the strengths
 * are summed on the way.
 */
function csrFromDistinctUpwardEdges(
  n: number,
  source: Uint32Array,
  target: Uint32Array,
  weight: Float64Array,
  length: number,
): Csr {
  const { offsets } = upwardLayout(n, source, target, weight, length);
  const total = offsets[n];
  const nb = new Uint32Array(total);
  const w = new Float64Array(total);
  const strength = new Float64Array(n);
  const cursor = offsets.slice(0, n);
  for (let e = 0; e < length; e++) {
    const x = weight[e];
    if (!(x > 0)) continue;
    const b = target[e];
    const a = source[e];
    nb[cursor[b]] = a;
    w[cursor[b]++] = x;
    strength[a] += x;
    strength[b] += x;
  }
  // each source's edges are one run of the arrays: after its lower neighbours, in order
  for (let e = 0; e < length; e++) {
    const x = weight[e];
    if (!(x > 0)) continue;
    const a = source[e];
    nb[cursor[a]] = target[e];
    w[cursor[a]++] = x;
  }
  let totalStrength = 0;
  for (let v = 0; v < n; v++) totalStrength += strength[v];
  return { n, offsets, neighbors: nb, weights: w, strength, totalStrength };
}

/**
 * `csrFromGraph` for edges (a, b > a) with sources ascending: node b's entries for the edges
 * into it are laid out in edge order, which is already ascending a; then those lists are
 * transposed into each a's entries for its edges out (ascending b, after its lower neighbours).
 * Half the writes of the general path, the same lists.
 */
function csrFromUpwardEdges(
  n: number,
  source: Uint32Array,
  target: Uint32Array,
  weight: Float64Array,
  length: number,
): Csr {
  const { lower, offsets } = upwardLayout(n, source, target, weight, length);
  const total = offsets[n];
  const nb = new Uint32Array(total);
  const w = new Float64Array(total);
  // each node's lower neighbours first
  const cursor = offsets.slice(0, n);
  for (let e = 0; e < length; e++) {
    if (!(weight[e] > 0)) continue;
    const b = target[e];
    nb[cursor[b]] = source[e];
    w[cursor[b]++] = weight[e];
  }
  // then, b ascending, b after the lower neighbours of each a in b's list
  for (let b = 0; b < n; b++) {
    for (let i = offsets[b], end = offsets[b] + lower[b]; i < end; i++) {
      const a = nb[i];
      nb[cursor[a]] = b;
      w[cursor[a]++] = w[i];
    }
  }
  return mergeRepeats(n, offsets, nb, w);
}

/** Sums runs of the same neighbour in sorted adjacency lists; computes the strengths. */
function mergeRepeats(n: number, offsets: Uint32Array, nb: Uint32Array, w: Float64Array): Csr {
  const strength = new Float64Array(n);
  const outOffsets = new Uint32Array(n + 1);
  let k = 0;
  let total = 0;
  for (let v = 0; v < n; v++) {
    let sv = 0;
    const end = offsets[v + 1];
    for (let i = offsets[v]; i < end; ) {
      const u = nb[i];
      let sum = 0;
      do sum += w[i++];
      while (i < end && nb[i] === u);
      nb[k] = u;
      w[k++] = sum;
      sv += sum;
    }
    outOffsets[v + 1] = k;
    strength[v] = sv;
    total += sv;
  }
  return {
    n,
    offsets: outOffsets,
    neighbors: k === nb.length ? nb : nb.slice(0, k),
    weights: k === w.length ? w : w.slice(0, k),
    strength,
    totalStrength: total,
  };
}
