import type { OverlapGraph } from './types.js';

/**
 * Weighted Newman–Girvan modularity with a resolution γ, straight from the edge list:
 * Q = Σ_c [ W_c / m − γ (K_c / 2m)² ], W_c the weight inside community c (each edge once),
 * K_c its total strength, m the total weight. Self-loops and non-positive weights are ignored,
 * as `csrFromGraph` ignores them; so are nodes with a negative id (unassigned, edgeless). Independent of both algorithms, so tests can cross-check them.
 */
export function modularity(graph: OverlapGraph, membership: ArrayLike<number>, resolution = 1): number {
  return modularities(graph, [membership], resolution)[0] as number;
}

/**
 * `modularity` of several partitions of one graph in one pass over its edges (each the same
 * number `modularity` gives alone): the two levels of an analysis cost one pass, not two.
 */
export function modularities(
  graph: OverlapGraph,
  memberships: readonly ArrayLike<number>[],
  resolution = 1,
): number[] {
  const n = graph.nodeNames.length;
  const k = memberships.length;
  const inside: Float64Array[] = [];
  const strength: Float64Array[] = [];
  for (const membership of memberships) {
    if (membership.length !== n) {
      throw new RangeError(`modularity: membership has ${membership.length} entries for ${n} nodes`);
    }
    let maxC = -1;
    for (let i = 0; i < n; i++) if (membership[i] > maxC) maxC = membership[i];
    inside.push(new Float64Array(maxC + 1));
    strength.push(new Float64Array(maxC + 1));
  }
  let m = 0;
  for (let e = 0; e < graph.length; e++) {
    const a = graph.source[e];
    const b = graph.target[e];
    const w = graph.weight[e];
    if (a === b || !(w > 0)) continue;
    m += w;
    for (let p = 0; p < k; p++) {
      const membership = memberships[p] as ArrayLike<number>;
      const ca = membership[a];
      const cb = membership[b];
      if (ca < 0 || cb < 0) continue;
      (strength[p] as Float64Array)[ca] += w;
      (strength[p] as Float64Array)[cb] += w;
      if (ca === cb) (inside[p] as Float64Array)[ca] += w;
    }
  }
  return memberships.map((_, p) => {
    if (m === 0) return 0;
    const inP = inside[p] as Float64Array;
    const stP = strength[p] as Float64Array;
    let q = 0;
    for (let c = 0; c < inP.length; c++) q += inP[c] / m - resolution * (stP[c] / (2 * m)) ** 2;
    return q;
  });
}
