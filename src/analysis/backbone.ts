/** Options of `disparityFilter`. */
export interface BackboneOptions {
  /** Significance level: keep an edge when its p-value is below alpha for at least one endpoint. */
  alpha: number;
}

export const BACKBONE_DEFAULTS: BackboneOptions = { alpha: 0.05 };

/**
 * Disparity filter (Serrano, Boguñá & Vespignani 2009, PNAS 106:6483): for node i with degree
 * k and strength s, an edge of weight w is significant when
 * α_ij = (1 − w/s)^(k−1) < alpha under the null model of uniform random splits of s.
 * An edge is kept when it is significant for either endpoint; edges at a node of degree 1 are
 * kept (the test says nothing there). Returns a keep mask per edge.
 */
export function disparityFilter(
  nodeCount: number,
  source: Uint32Array,
  target: Uint32Array,
  weight: Float64Array,
  length: number,
  options: Partial<BackboneOptions> = {},
): Uint8Array {
  const { alpha } = { ...BACKBONE_DEFAULTS, ...options };
  const degree = new Uint32Array(nodeCount);
  const strength = new Float64Array(nodeCount);
  for (let e = 0; e < length; e++) {
    degree[source[e]]++;
    degree[target[e]]++;
    strength[source[e]] += weight[e];
    strength[target[e]] += weight[e];
  }
  const keep = new Uint8Array(length);
  const significant = (node: number, w: number) => {
    const k = degree[node];
    if (k <= 1) return true;
    const s = strength[node];
    if (s <= 0) return false;
    return (1 - w / s) ** (k - 1) < alpha;
  };
  for (let e = 0; e < length; e++) {
    const w = weight[e];
    if (significant(source[e], w) || significant(target[e], w)) keep[e] = 1;
  }
  return keep;
}
