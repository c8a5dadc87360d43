import type { OverlapGraph } from './types.js';

/**
 * Weighted Newman–Girvan modularity with a resolution γ, straight from the edge list:
 * Q = Σ_c [ W_c / m − γ (K_c / 2m)² ], W_c the weight inside community c (each edge once),
 * K_c its total strength, m the total weight. Self-loops and non-positive weights are ignored,
 * as `csrFromGraph` ignores them; so are nodes with a negative id (unassigned, edgeless). Independent of both algorithms, so tests can cross-check them.
 */
export function modularity(graph: OverlapGraph, membership: ArrayLike<number>, resolution = 1): number {
  const n = graph.nodeNames.length;
  if (membership.length !== n) {
    throw new RangeError(`modularity: membership has ${membership.length} entries for ${n} nodes`);
  }
  let maxC = -1;
  for (let i = 0; i < n; i++) if (membership[i] > maxC) maxC = membership[i];
  const inside = new Float64Array(maxC + 1);
  const strength = new Float64Array(maxC + 1);
  let m = 0;
  for (let e = 0; e < graph.length; e++) {
    const a = graph.source[e];
    const b = graph.target[e];
    const w = graph.weight[e];
    if (a === b || !(w > 0)) continue;
    m += w;
    const ca = membership[a];
    const cb = membership[b];
    if (ca < 0 || cb < 0) continue;
    strength[ca] += w;
    strength[cb] += w;
    if (ca === cb) inside[ca] += w;
  }
  if (m === 0) return 0;
  let q = 0;
  for (let c = 0; c <= maxC; c++) q += inside[c] / m - resolution * (strength[c] / (2 * m)) ** 2;
  return q;
}
