/**
 * Partition agreement scores for comparing detected communities with a planted truth.
 * Both take two label vectors of equal length (any integer labels; only equality matters).
 */

/** Relabels `labels` to dense ids 0..k-1 (first-seen order); returns the ids and k. */
function densify(labels: ArrayLike<number>): { ids: Int32Array; k: number } {
  const ids = new Int32Array(labels.length);
  const seen = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    let id = seen.get(v);
    if (id === undefined) {
      id = seen.size;
      seen.set(v, id);
    }
    ids[i] = id;
  }
  return { ids, k: seen.size };
}

/** Sparse contingency table: counts per (a, b) label pair, plus the marginals. */
function contingency(a: ArrayLike<number>, b: ArrayLike<number>) {
  if (a.length !== b.length) {
    throw new RangeError(`quality: label vectors differ in length (${a.length} vs ${b.length})`);
  }
  const A = densify(a);
  const B = densify(b);
  const rowSums = new Float64Array(A.k);
  const colSums = new Float64Array(B.k);
  const counts = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    const x = A.ids[i];
    const y = B.ids[i];
    rowSums[x]++;
    colSums[y]++;
    const key = x * B.k + y;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // Cells as [row, column, count] triples, only the non-zero ones.
  const cells: [number, number, number][] = [];
  for (const [key, c] of counts) {
    const x = Math.floor(key / B.k);
    cells.push([x, key - x * B.k, c]);
  }
  return { n: a.length, rowSums, colSums, cells };
}

function entropy(counts: Float64Array, n: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

/**
 * Normalized mutual information with arithmetic-mean normalisation,
 * `MI / ((H(a) + H(b)) / 2)`, as scikit-learn's `normalized_mutual_info_score` by default.
 * Two single-cluster labellings (both entropies 0) score 1, like scikit-learn.
 */
export function nmi(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { n, rowSums, colSums, cells } = contingency(a, b);
  if (n === 0) return 1;
  const ha = entropy(rowSums, n);
  const hb = entropy(colSums, n);
  if (ha === 0 && hb === 0) return 1;
  // MI = sum p_xy log(p_xy / (p_x p_y)), over the non-zero cells.
  let mi = 0;
  for (const [x, y, c] of cells) mi += (c / n) * Math.log((c * n) / (rowSums[x] * colSums[y]));
  const denom = (ha + hb) / 2;
  return Math.max(0, Math.min(1, mi / denom));
}

const choose2 = (x: number) => (x * (x - 1)) / 2;

/**
 * Adjusted Rand index (Hubert & Arabie 1985), as scikit-learn's `adjusted_rand_score`:
 * 1 for identical partitions, about 0 for random ones, can be negative.
 */
export function ari(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const { n, rowSums, colSums, cells } = contingency(a, b);
  if (n < 2) return 1;
  let sumCells = 0;
  for (const [, , c] of cells) sumCells += choose2(c);
  let sumRows = 0;
  for (const c of rowSums) sumRows += choose2(c);
  let sumCols = 0;
  for (const c of colSums) sumCols += choose2(c);
  const expected = (sumRows * sumCols) / choose2(n);
  const max = (sumRows + sumCols) / 2;
  // Both partitions trivial in the same way (all singletons or one cluster): perfect agreement.
  if (max === expected) return 1;
  return (sumCells - expected) / (max - expected);
}
