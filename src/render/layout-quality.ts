/**
 * How well a layout shows communities as regions, in three numbers (bench/render.bench.ts prints
 * them; test/render-layout.test.ts holds them on real-shaped data):
 *
 * - `ownCentroid`: share of channels (in communities of at least `minSize`) that lie closer to their
 *   own community's centroid than to any other community's centroid — 1 for an atlas of regions;
 * - `silhouette`: mean silhouette of the positions by community (on a deterministic sample), in
 *   -1..1; above ~0.25 regions are visible, near 0 they overlap;
 * - `hubPull`: share of the channels of small communities (`minSize`..`smallMax` channels) that lie
 *   nearer to one of the `hubs` biggest channels of *another* group (another community when no
 *   group is given) than to their own community's centroid — the rays of a layout whose hubs pull
 *   every community towards them. 0 for compact regions.
 */

export interface LayoutQuality {
  ownCentroid: number;
  silhouette: number;
  hubPull: number;
  /** Communities measured (at least `minSize` channels). */
  communities: number;
}

export interface QualityOptions {
  minSize: number;
  smallMax: number;
  hubs: number;
  /** Points sampled for the silhouette (it is quadratic). */
  sample: number;
  /** Group per channel, for `hubPull` (a hub of the community's own group does not count). */
  group?: ArrayLike<number>;
}

const DEFAULTS: QualityOptions = { minSize: 5, smallMax: 40, hubs: 10, sample: 1500 };

export function layoutQuality(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  community: ArrayLike<number>,
  viewers: ArrayLike<number>,
  options: Partial<QualityOptions> = {},
): LayoutQuality {
  const o = { ...DEFAULTS, ...options };
  const n = x.length;
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = community[i];
    if (!(c >= 0)) continue;
    const list = members.get(c);
    if (list) list.push(i);
    else members.set(c, [i]);
  }
  const ids = [...members.keys()].filter((c) => members.get(c)!.length >= o.minSize).sort((a, b) => a - b);
  const slot = new Map(ids.map((c, k) => [c, k]));
  const cx = new Float64Array(ids.length);
  const cy = new Float64Array(ids.length);
  ids.forEach((c, k) => {
    const list = members.get(c)!;
    for (const i of list) {
      cx[k] += x[i];
      cy[k] += y[i];
    }
    cx[k] /= list.length;
    cy[k] /= list.length;
  });

  // Own-centroid share.
  const measured: number[] = [];
  for (const c of ids) measured.push(...members.get(c)!);
  measured.sort((a, b) => a - b);
  let own = 0;
  for (const i of measured) {
    const mine = slot.get(community[i])!;
    const d0 = (x[i] - cx[mine]) ** 2 + (y[i] - cy[mine]) ** 2;
    let closest = true;
    for (let k = 0; k < ids.length && closest; k++) {
      if (k !== mine && (x[i] - cx[k]) ** 2 + (y[i] - cy[k]) ** 2 < d0) closest = false;
    }
    if (closest) own++;
  }

  // Silhouette on an evenly strided sample (deterministic).
  const step = Math.max(1, Math.ceil(measured.length / o.sample));
  const sample = measured.filter((_, k) => k % step === 0);
  const sums = new Float64Array(ids.length);
  const counts = new Float64Array(ids.length);
  for (const i of sample) counts[slot.get(community[i])!]++;
  let silhouette = 0;
  let scored = 0;
  for (const i of sample) {
    sums.fill(0);
    for (const j of sample)
      if (j !== i) sums[slot.get(community[j])!] += Math.hypot(x[i] - x[j], y[i] - y[j]);
    const mine = slot.get(community[i])!;
    if (counts[mine] < 2) continue;
    const a = sums[mine] / (counts[mine] - 1);
    let b = Infinity;
    for (let k = 0; k < ids.length; k++)
      if (k !== mine && counts[k] > 0) b = Math.min(b, sums[k] / counts[k]);
    if (!Number.isFinite(b)) continue;
    silhouette += (b - a) / Math.max(a, b, 1e-12);
    scored++;
  }

  // Hub pull.
  const hubs = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => viewers[b] - viewers[a] || a - b)
    .slice(0, o.hubs);
  let pulled = 0;
  let small = 0;
  ids.forEach((c, k) => {
    const list = members.get(c)!;
    if (list.length > o.smallMax) return;
    const home = o.group?.[list[0]];
    const foreign = hubs.filter((h) => community[h] !== c && (home === undefined || o.group?.[h] !== home));
    for (const i of list) {
      small++;
      const own = Math.hypot(x[i] - cx[k], y[i] - cy[k]);
      if (foreign.some((h) => Math.hypot(x[i] - x[h], y[i] - y[h]) < own)) pulled++;
    }
  });
  return {
    ownCentroid: measured.length > 0 ? own / measured.length : Number.NaN,
    silhouette: scored > 0 ? silhouette / scored : Number.NaN,
    hubPull: small > 0 ? pulled / small : Number.NaN,
    communities: ids.length,
  };
}
