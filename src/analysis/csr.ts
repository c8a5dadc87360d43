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

/** OverlapGraph edge arrays → CSR. Parallel edges are summed; self-loops and non-positive weights dropped. */
export function csrFromGraph(graph: OverlapGraph): Csr {
  const n = graph.nodeNames.length;
  const { source, target, weight, length } = graph;
  const deg = new Uint32Array(n + 1);
  for (let e = 0; e < length; e++) {
    if (source[e] === target[e] || !(weight[e] > 0)) continue;
    deg[source[e] + 1]++;
    deg[target[e] + 1]++;
  }
  for (let i = 0; i < n; i++) deg[i + 1] += deg[i];
  const cursor = deg.slice(0, n);
  const nb = new Uint32Array(deg[n]);
  const w = new Float64Array(deg[n]);
  for (let e = 0; e < length; e++) {
    const a = source[e];
    const b = target[e];
    if (a === b || !(weight[e] > 0)) continue;
    nb[cursor[a]] = b;
    w[cursor[a]++] = weight[e];
    nb[cursor[b]] = a;
    w[cursor[b]++] = weight[e];
  }
  return sortedPairs(source, target, length) ? withStrengths(n, deg, nb, w) : compact(n, deg, nb, w);
}

/**
 * Whether every edge has source < target and the edges are in strictly ascending (source, target)
 * order, as the overlap projection emits them: then each adjacency list above comes out sorted
 * (the lower neighbours, then the higher ones) without repeats, and needs no `compact`.
 */
function sortedPairs(source: Uint32Array, target: Uint32Array, length: number): boolean {
  let ps = -1;
  let pt = -1;
  for (let e = 0; e < length; e++) {
    const s = source[e];
    const t = target[e];
    if (s >= t || s < ps || (s === ps && t <= pt)) return false;
    ps = s;
    pt = t;
  }
  return true;
}

/** The CSR of sorted, repeat-free adjacency lists: only the strengths are left to sum. */
function withStrengths(n: number, offsets: Uint32Array, nb: Uint32Array, w: Float64Array): Csr {
  const strength = new Float64Array(n);
  let total = 0;
  for (let v = 0; v < n; v++) {
    let sv = 0;
    for (let i = offsets[v]; i < offsets[v + 1]; i++) sv += w[i];
    strength[v] = sv;
    total += sv;
  }
  return { n, offsets, neighbors: nb, weights: w, strength, totalStrength: total };
}

/** Sorts each adjacency list and merges repeated neighbours into one summed entry. */
function compact(n: number, offsets: Uint32Array, nb: Uint32Array, w: Float64Array): Csr {
  const outOffsets = new Uint32Array(n + 1);
  const outNb = new Uint32Array(nb.length);
  const outW = new Float64Array(nb.length);
  const strength = new Float64Array(n);
  const acc = new Float64Array(n);
  const seen = new Uint8Array(n);
  const touched = new Uint32Array(n);
  let k = 0;
  let total = 0;
  for (let v = 0; v < n; v++) {
    let t = 0;
    for (let i = offsets[v]; i < offsets[v + 1]; i++) {
      const u = nb[i];
      if (!seen[u]) {
        seen[u] = 1;
        touched[t++] = u;
      }
      acc[u] += w[i];
    }
    const list = touched.subarray(0, t);
    list.sort();
    for (let i = 0; i < t; i++) {
      const u = list[i];
      outNb[k] = u;
      outW[k++] = acc[u];
      strength[v] += acc[u];
      acc[u] = 0;
      seen[u] = 0;
    }
    outOffsets[v + 1] = k;
    total += strength[v];
  }
  return {
    n,
    offsets: outOffsets,
    neighbors: outNb.slice(0, k),
    weights: outW.slice(0, k),
    strength,
    totalStrength: total,
  };
}
