import type { WeightKind } from '../model/atlas.js';
import type { EdgeTable } from '../model/presence-table.js';
import { disparityFilter } from './backbone.js';
import type { Audience, OverlapGraph, OverlapStats } from './types.js';

/** Options of `buildOverlapGraph`; every field optional (see `OVERLAP_DEFAULTS`). */
export interface OverlapOptions {
  /** Edge weight from the shared count s and audiences a, b (N = all viewers). */
  weight: WeightKind;
  /** Keep pairs sharing at least this many viewers (minimum support). */
  minShared: number;
  /** Then keep edges whose weight is at least this. */
  minWeight: number;
  /** Apply the disparity-filter backbone on the weights. */
  backbone: boolean;
  /** Significance level of the backbone. */
  backboneAlpha: number;
}

/**
 * `overlap` by default: on hub-heavy synthetic data (planted communities, Zipf audiences, half of
 * all visits anywhere) it recovered the planted communities best of the five kinds; raw `shared`
 * counts let hubs merge communities (figures in docs/analysis.md).
 */
export const OVERLAP_DEFAULTS: OverlapOptions = {
  weight: 'overlap',
  minShared: 2,
  minWeight: 0,
  backbone: false,
  backboneAlpha: 0.05,
};

/** The weight of a pair from its shared count and the two audiences (N: total viewers, for lift). */
export function edgeWeight(kind: WeightKind, s: number, a: number, b: number, n: number): number {
  switch (kind) {
    case 'shared':
      return s;
    case 'jaccard':
      return s / (a + b - s);
    case 'cosine':
      return s / Math.sqrt(a * b);
    case 'overlap':
      return s / Math.min(a, b);
    case 'lift':
      return (s * n) / (a * b);
  }
}

/** Growable parallel edge arrays (pairs are found channel by channel; their count is unknown up front). */
class EdgeBuffer {
  source = new Uint32Array(1 << 16);
  target = new Uint32Array(1 << 16);
  shared = new Float64Array(1 << 16);
  length = 0;
  push(s: number, t: number, w: number): void {
    if (this.length === this.source.length) {
      const cap = this.length * 2;
      const grow = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(cap);
        b.set(a);
        return b;
      };
      this.source = grow(this.source, (n) => new Uint32Array(n));
      this.target = grow(this.target, (n) => new Uint32Array(n));
      this.shared = grow(this.shared, (n) => new Float64Array(n));
    }
    this.source[this.length] = s;
    this.target[this.length] = t;
    this.shared[this.length] = w;
    this.length++;
  }
}

/** Weights, min_weight and backbone cuts on a graph whose `shared` counts are set; compacts in place. */
function finishGraph(
  base: Omit<OverlapGraph, 'weight' | 'stats'>,
  o: Omit<OverlapOptions, 'weight'> & { weight: WeightKind | 'given' },
  totalViewers: number,
  stats: Omit<OverlapStats, 'edgesBelowMinWeight' | 'edgesRemovedByBackbone' | 'edges'>,
): OverlapGraph {
  const t = performance.now();
  const { source, target, shared, nodeAudience } = base;
  let m = base.length;
  const weight = new Float64Array(m);
  for (let e = 0; e < m; e++) {
    weight[e] =
      o.weight === 'given'
        ? shared[e]
        : edgeWeight(o.weight, shared[e], nodeAudience[source[e]], nodeAudience[target[e]], totalViewers);
  }
  const keep = new Uint8Array(m).fill(1);
  let belowWeight = 0;
  for (let e = 0; e < m; e++) {
    if (!(weight[e] >= o.minWeight) || !(weight[e] > 0)) {
      keep[e] = 0;
      belowWeight++;
    }
  }
  let byBackbone = 0;
  if (o.backbone) {
    // The filter sees only the edges that survived the weight cut.
    const idx = new Uint32Array(m - belowWeight);
    let k = 0;
    for (let e = 0; e < m; e++) if (keep[e]) idx[k++] = e;
    const s2 = new Uint32Array(k);
    const t2 = new Uint32Array(k);
    const w2 = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      s2[i] = source[idx[i]];
      t2[i] = target[idx[i]];
      w2[i] = weight[idx[i]];
    }
    const mask = disparityFilter(base.nodeNames.length, s2, t2, w2, k, { alpha: o.backboneAlpha });
    for (let i = 0; i < k; i++) {
      if (!mask[i]) {
        keep[idx[i]] = 0;
        byBackbone++;
      }
    }
  }
  let w = 0;
  for (let e = 0; e < m; e++) {
    if (!keep[e]) continue;
    source[w] = source[e];
    target[w] = target[e];
    shared[w] = shared[e];
    weight[w] = weight[e];
    w++;
  }
  m = w;
  const timings = { ...stats.timings, weights: Math.round((performance.now() - t) * 10) / 10 };
  return {
    nodeNames: base.nodeNames,
    nodeAudience,
    source: source.slice(0, m),
    target: target.slice(0, m),
    shared: shared.slice(0, m),
    weight: weight.slice(0, m),
    length: m,
    stats: {
      ...stats,
      edgesBelowMinWeight: belowWeight,
      edgesRemovedByBackbone: byBackbone,
      edges: m,
      timings,
    },
  };
}

/**
 * Audiences → channel graph. The projection is a sparse product on typed arrays: viewer →
 * channels lists (sorted; from `aggregate`, or transposed here), then for each channel a, a dense
 * counter over channels plus a touched list accumulates, for every viewer of a, the channels
 * b > a that viewer also visits. A per-viewer cursor walks each sorted list once, so a pair is
 * counted once and the work is Σ over viewers of deg² / 2. Edges come out with source < target,
 * grouped by source; targets within a source in a deterministic, not sorted, order.
 */
export function buildOverlapGraph(audience: Audience, options: Partial<OverlapOptions> = {}): OverlapGraph {
  const o = { ...OVERLAP_DEFAULTS, ...options };
  const t0 = performance.now();
  const { offsets, viewers, viewerIdSpace } = audience;
  const nChannels = audience.channelNames.length;
  const nodeAudience = new Float64Array(nChannels);
  for (let c = 0; c < nChannels; c++) nodeAudience[c] = offsets[c + 1] - offsets[c];

  // Viewer → its channels, ascending: from aggregate when it gave them, else by transposing.
  let vStart: Uint32Array;
  let vChannels: Uint32Array;
  if (audience.viewerOffsets && audience.viewerChannels) {
    vStart = audience.viewerOffsets;
    vChannels = audience.viewerChannels;
  } else {
    vStart = new Uint32Array(viewerIdSpace + 1);
    for (let i = 0; i < viewers.length; i++) vStart[viewers[i] + 1]++;
    for (let v = 0; v < viewerIdSpace; v++) vStart[v + 1] += vStart[v];
    const fill = vStart.slice(0, viewerIdSpace);
    vChannels = new Uint32Array(viewers.length);
    for (let c = 0; c < nChannels; c++) {
      for (let i = offsets[c]; i < offsets[c + 1]; i++) vChannels[fill[viewers[i]]++] = c;
    }
  }

  // Viewers in a single channel add nothing to any pair (often most chatters in real data): when
  // there are any, keep per channel only the viewers seen in two or more channels.
  let single = 0;
  for (let v = 0; v < viewerIdSpace; v++) if (vStart[v + 1] - vStart[v] === 1) single++;
  let fOffsets = offsets;
  let fViewers = viewers;
  if (single > 0) {
    fOffsets = new Uint32Array(nChannels + 1);
    fViewers = new Uint32Array(viewers.length - single);
    for (let c = 0, k = 0; c < nChannels; c++) {
      for (let i = offsets[c]; i < offsets[c + 1]; i++) {
        const v = viewers[i];
        if (vStart[v + 1] - vStart[v] > 1) fViewers[k++] = v;
      }
      fOffsets[c + 1] = k;
    }
  }
  const cursor = vStart.slice(0, viewerIdSpace);
  const tTranspose = performance.now();

  const counter = new Uint32Array(nChannels);
  const touched = new Uint32Array(nChannels);
  const edges = new EdgeBuffer();
  let pairsCounted = 0;
  let belowShared = 0;
  const minShared = Math.max(1, o.minShared);
  for (let a = 0; a < nChannels; a++) {
    let nTouched = 0;
    for (let i = fOffsets[a]; i < fOffsets[a + 1]; i++) {
      const v = fViewers[i];
      const end = vStart[v + 1];
      // vChannels[cursor[v]] === a here; the channels after it are > a.
      for (let j = ++cursor[v]; j < end; j++) {
        const b = vChannels[j];
        if (counter[b]++ === 0) touched[nTouched++] = b;
      }
    }
    // Targets stay in first-touched order: deterministic (viewers and their channel lists are
    // sorted), and sorting them cost ~40% of the projection.
    for (let i = 0; i < nTouched; i++) {
      const b = touched[i];
      const s = counter[b];
      counter[b] = 0;
      if (s >= minShared) edges.push(a, b, s);
      else belowShared++;
    }
    pairsCounted += nTouched;
  }
  const tProject = performance.now();

  return finishGraph(
    {
      nodeNames: audience.channelNames,
      nodeAudience,
      source: edges.source,
      target: edges.target,
      shared: edges.shared,
      length: edges.length,
    },
    o,
    audience.viewerCount,
    {
      weight: o.weight,
      pairsCounted,
      edgesBelowMinShared: belowShared,
      totalViewers: audience.viewerCount,
      timings: {
        transpose: Math.round((tTranspose - t0) * 10) / 10,
        project: Math.round((tProject - tTranspose) * 10) / 10,
      },
    },
  );
}

/** Options of `graphFromEdgeTable`. */
export interface EdgeTableOptions {
  /** `given` keeps the listed weight; another kind reweights from it as a shared count (needs audiences). */
  weight: WeightKind | 'given';
  /** Keep edges whose given weight is at least this (the shared count when reweighting). */
  minShared: number;
  minWeight: number;
  backbone: boolean;
  backboneAlpha: number;
  /** N for `lift`; default: the sum of the node audiences (an upper bound on distinct viewers). */
  totalViewers: number | null;
}

export const EDGE_TABLE_DEFAULTS: EdgeTableOptions = {
  weight: 'given',
  minShared: 0,
  minWeight: 0,
  backbone: false,
  backboneAlpha: 0.05,
  totalViewers: null,
};

/**
 * A ready-made edge list → OverlapGraph. Self-loops are dropped; an edge listed twice (either
 * direction) keeps its largest weight, since Gephi exports list an undirected edge once and a
 * repeat is a duplicate, not more viewers. Reweighting to jaccard/cosine/… treats the given
 * weight as the shared count and needs every endpoint's audience.
 */
export function graphFromEdgeTable(edges: EdgeTable, options: Partial<EdgeTableOptions> = {}): OverlapGraph {
  const o = { ...EDGE_TABLE_DEFAULTS, ...options };
  const t0 = performance.now();
  const n = edges.nodeNames.length;
  const m0 = edges.length;
  // Canonical (low, high) pairs, sorted, duplicates merged.
  const order = new Uint32Array(m0);
  let m = 0;
  for (let e = 0; e < m0; e++) if (edges.source[e] !== edges.target[e]) order[m++] = e;
  const lo = (e: number) => Math.min(edges.source[e], edges.target[e]);
  const hi = (e: number) => Math.max(edges.source[e], edges.target[e]);
  const sorted = Array.from(order.subarray(0, m)).sort((x, y) => lo(x) - lo(y) || hi(x) - hi(y) || x - y);
  const source = new Uint32Array(m);
  const target = new Uint32Array(m);
  const shared = new Float64Array(m);
  let k = 0;
  let belowShared = 0;
  for (const e of sorted) {
    const a = lo(e);
    const b = hi(e);
    const w = edges.weight[e];
    if (k > 0 && source[k - 1] === a && target[k - 1] === b) {
      if (w > shared[k - 1]) shared[k - 1] = w;
      continue;
    }
    source[k] = a;
    target[k] = b;
    shared[k] = w;
    k++;
  }
  let w = 0;
  for (let e = 0; e < k; e++) {
    if (shared[e] < o.minShared) {
      belowShared++;
      continue;
    }
    source[w] = source[e];
    target[w] = target[e];
    shared[w] = shared[e];
    w++;
  }
  const nodeAudience = Float64Array.from(edges.nodeAudience.subarray(0, n));
  if (o.weight !== 'given') {
    for (let e = 0; e < w; e++) {
      for (const node of [source[e], target[e]]) {
        if (!(nodeAudience[node] > 0)) {
          throw new RangeError(
            `overlap: weight '${o.weight}' needs node audiences, none for '${edges.nodeNames[node]}' (give a node file or use weight 'given')`,
          );
        }
      }
    }
  }
  let total = o.totalViewers ?? 0;
  if (o.totalViewers === null) for (let i = 0; i < n; i++) total += nodeAudience[i];
  return finishGraph(
    { nodeNames: edges.nodeNames, nodeAudience, source, target, shared, length: w },
    o,
    total,
    {
      weight: o.weight,
      pairsCounted: k,
      edgesBelowMinShared: belowShared,
      totalViewers: total,
      timings: { edges: Math.round((performance.now() - t0) * 10) / 10 },
    },
  );
}
