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
    if (this.length === this.source.length) this.grow();
    this.source[this.length] = s;
    this.target[this.length] = t;
    this.shared[this.length] = w;
    this.length++;
  }

  private grow(): void {
    const cap = this.length * 2;
    const source = new Uint32Array(cap);
    source.set(this.source);
    this.source = source;
    const target = new Uint32Array(cap);
    target.set(this.target);
    this.target = target;
    const shared = new Float64Array(cap);
    shared.set(this.shared);
    this.shared = shared;
  }
}

/**
 * a[0, m) as a new array, on a SharedArrayBuffer when asked; `a` itself when it is that already
 * (all of a shared buffer, m long: the arrays were made shared where they were filled).
 */
function copyOut<T extends Uint32Array | Float64Array>(a: T, m: number, onShared: boolean): T {
  if (!onShared) return a.slice(0, m) as T;
  if (
    a.buffer instanceof SharedArrayBuffer &&
    a.byteOffset === 0 &&
    a.length === m &&
    a.buffer.byteLength === a.byteLength
  )
    return a;
  const out = new (a.constructor as { new (b: SharedArrayBuffer): T })(
    new SharedArrayBuffer(m * a.BYTES_PER_ELEMENT),
  );
  out.set(a.subarray(0, m));
  return out;
}

/** Weights, min_weight and backbone cuts on a graph whose `shared` counts are set; compacts in place. */
function finishGraph(
  base: Omit<OverlapGraph, 'weight' | 'stats'>,
  o: Omit<OverlapOptions, 'weight'> & { weight: WeightKind | 'given' },
  totalViewers: number,
  stats: Omit<OverlapStats, 'edgesBelowMinWeight' | 'edgesRemovedByBackbone' | 'edges'>,
  /** The edge arrays on SharedArrayBuffers (another thread then reads them without a copy). */
  onShared = false,
): OverlapGraph {
  const t = performance.now();
  const { source, target, shared, nodeAudience } = base;
  let m = base.length;
  const weight = sharedF64(m, onShared);
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
    source: copyOut(source, m, onShared),
    target: copyOut(target, m, onShared),
    shared: copyOut(shared, m, onShared),
    weight: copyOut(weight, m, onShared),
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
 * The projection's input, channel-major: for each source channel a, one span per viewer of a
 * who visits channels after a — `spanStart[i]..spanEnd[i]` index `viewerChannels`, the
 * viewer's channels after a (ascending). Viewers for whom a is the last channel have no span,
 * so the loop touches only visits that add pairs, and reads each span's bounds in order rather
 * than looking the viewer up. Arrays may sit on SharedArrayBuffers (a worker reads them as they
 * are).
 */
export interface ProjectionInput {
  channels: number;
  /** Spans of channel a: `offsets[a]..offsets[a+1]`. */
  offsets: Uint32Array;
  /** Where in `viewerChannels` each span starts; it ends at the next `SPAN_END`. */
  spanStart: Uint32Array;
  /** The channels of each viewer with two or more, ascending, each list closed by `SPAN_END`. */
  viewerChannels: Uint32Array;
  minShared: number;
  /** Chunk k holds source channels `chunks[k]..chunks[k+1]` (of about equal work). */
  chunks: Uint32Array;
  /** Slot 0: the next chunk to claim (`Atomics.add`), shared by the threads that project. */
  claim: Int32Array;
}

/** The edges of the chunks one thread claimed, in the order it claimed them. */
export interface ProjectedChunks {
  source: Uint32Array;
  target: Uint32Array;
  shared: Float64Array;
  length: number;
  /** Chunk ids claimed, and where each one's edges start (the next one's start ends them). */
  chunkIds: number[];
  chunkStarts: number[];
  pairsCounted: number;
  belowShared: number;
}

/**
 * Counts the channels of spans [from, to) into `counter`, listing each first touch in `touched`;
 * returns how many were touched. (The loops of `projectChunks` are functions of their own: V8
 * optimises each alone, instead of recompiling the whole projection at every loop it reaches.)
 */
function countPairs(
  from: number,
  to: number,
  spanStart: Uint32Array,
  viewerChannels: Uint32Array,
  counter: Uint32Array,
  touched: Uint32Array,
): number {
  let nTouched = 0;
  let ahead = 0;
  const last = to - 1;
  for (let i = from; i < to; i++) {
    // The span 8 ahead is loaded now (its value unused but kept), so its cache miss overlaps
    // this span's counting instead of waiting behind the span end's mispredicted branch
    // (--cpu-prof, bench CSV, 3–6 runs each: under countPairs 267–334 → 225–290 ms on this thread).
    ahead ^= viewerChannels[spanStart[Math.min(i + 8, last)]];
    for (let j = spanStart[i]; ; j++) {
      const b = viewerChannels[j];
      if (b === SPAN_END) break;
      if (counter[b]++ === 0) touched[nTouched++] = b;
    }
  }
  aheadSink ^= ahead;
  return nTouched;
}

/** Where `countPairs` leaves its read-ahead values (so the loads are not optimised away). */
// biome-ignore lint/correctness/noUnusedVariables: written only, to keep the loads
let aheadSink = 0;

/** Closes each viewer's channel list in `ProjectionInput.viewerChannels` (no channel id is this big). */
export const SPAN_END = 0x7fffffff;

/** Channel a's counted pairs to `edges` (those of at least `minShared`), counters cleared; returns the pairs below. */
function emitPairs(
  a: number,
  nTouched: number,
  counter: Uint32Array,
  touched: Uint32Array,
  minShared: number,
  edges: EdgeBuffer,
): number {
  let below = 0;
  for (let i = 0; i < nTouched; i++) {
    const b = touched[i];
    const s = counter[b];
    counter[b] = 0;
    if (s >= minShared) edges.push(a, b, s);
    else below++;
  }
  return below;
}

/**
 * Claims chunks until none is left and finds their pairs (a, b > a): for each source channel
 * a, a dense counter over channels plus a touched list accumulates the channels of a's spans,
 * so a pair is counted once and the work is Σ over viewers of deg² / 2. Within a chunk, edges
 * go by source ascending, targets in first-touched order (deterministic: spans go by viewer,
 * each ascending; sorting them cost ~40% of the projection). Chunks put back in id order give
 * the same edges, in the same order, however the threads shared them.
 */
export function projectChunks(p: ProjectionInput): ProjectedChunks {
  const { offsets, spanStart, viewerChannels, chunks, claim } = p;
  const counter = new Uint32Array(p.channels);
  const touched = new Uint32Array(p.channels);
  const edges = new EdgeBuffer();
  const chunkIds: number[] = [];
  const chunkStarts: number[] = [];
  let pairsCounted = 0;
  let belowShared = 0;
  const minShared = Math.max(1, p.minShared);
  const nChunks = chunks.length - 1;
  for (let k = Atomics.add(claim, 0, 1); k < nChunks; k = Atomics.add(claim, 0, 1)) {
    chunkIds.push(k);
    chunkStarts.push(edges.length);
    for (let a = chunks[k]; a < chunks[k + 1]; a++) {
      const nTouched = countPairs(offsets[a], offsets[a + 1], spanStart, viewerChannels, counter, touched);
      belowShared += emitPairs(a, nTouched, counter, touched, minShared, edges);
      pairsCounted += nTouched;
    }
  }
  return {
    source: edges.source.subarray(0, edges.length),
    target: edges.target.subarray(0, edges.length),
    shared: edges.shared.subarray(0, edges.length),
    length: edges.length,
    chunkIds,
    chunkStarts,
    pairsCounted,
    belowShared,
  };
}

/** Every chunk of `parts` in chunk-id order, as one edge list (one part: its arrays as they are). */
function concatChunks(
  parts: ProjectedChunks[],
  nChunks: number,
  /** The arrays on SharedArrayBuffers (as `finishGraph` hands them on). */
  onShared: boolean,
): Pick<ProjectedChunks, 'source' | 'target' | 'shared' | 'length' | 'pairsCounted' | 'belowShared'> {
  let pairsCounted = 0;
  let belowShared = 0;
  let m = 0;
  for (const p of parts) {
    pairsCounted += p.pairsCounted;
    belowShared += p.belowShared;
    m += p.length;
  }
  const only = parts[0]!;
  if (parts.length === 1 && only.chunkIds.every((k, i) => k === i)) {
    return {
      source: only.source,
      target: only.target,
      shared: only.shared,
      length: m,
      pairsCounted,
      belowShared,
    };
  }
  const where: { part: ProjectedChunks; start: number; end: number }[] = new Array(nChunks);
  for (const part of parts) {
    part.chunkIds.forEach((k, i) => {
      where[k] = { part, start: part.chunkStarts[i]!, end: part.chunkStarts[i + 1] ?? part.length };
    });
  }
  const source = sharedU32(m, onShared);
  const target = sharedU32(m, onShared);
  const shared = sharedF64(m, onShared);
  let at = 0;
  for (let k = 0; k < nChunks; k++) {
    const w = where[k];
    if (!w) throw new Error(`overlap: chunk ${k} of ${nChunks} was not projected`);
    source.set(w.part.source.subarray(w.start, w.end), at);
    target.set(w.part.target.subarray(w.start, w.end), at);
    shared.set(w.part.shared.subarray(w.start, w.end), at);
    at += w.end - w.start;
  }
  return { source, target, shared, length: m, pairsCounted, belowShared };
}

/**
 * Runs `projectChunks` on another thread too (see `overlap-parallel.ts`): `start` hands the
 * input over and returns at once; `wait` blocks until that thread's chunks are back, or gives
 * undefined when it could not take part (the whole projection is then done again here).
 */
export interface ProjectionHelper {
  start(p: ProjectionInput): { wait(): ProjectedChunks | undefined } | undefined;
  /** Projections with less work (pair increments) stay on one thread; default `PARALLEL_PROJECTION_MIN_WORK`. */
  minWork?: number;
}

/** Chunks per projection when two threads share it (small enough to even out, few enough to be cheap). */
const PROJECTION_CHUNKS = 64;

/** Projections smaller than this (pair increments) stay on one thread: the hand-over costs more. */
export const PARALLEL_PROJECTION_MIN_WORK = 4_000_000;

const sharedU32 = (n: number, shared: boolean) =>
  shared ? new Uint32Array(new SharedArrayBuffer(4 * n)) : new Uint32Array(n);
const sharedF64 = (n: number, shared: boolean) =>
  shared ? new Float64Array(new SharedArrayBuffer(8 * n)) : new Float64Array(n);

/**
 * Audiences → channel graph: a sparse product on typed arrays (`projectChunks`) over the
 * viewer → channels lists (from `aggregate`, or transposed here). With a `helper` (another
 * thread) and enough work, the source channels are cut into `PROJECTION_CHUNKS` chunks of equal
 * work that both threads claim; the edges are the same, in the same order, as on one thread.
 */
export function buildOverlapGraph(
  audience: Audience,
  options: Partial<OverlapOptions> = {},
  helper?: ProjectionHelper,
): OverlapGraph {
  const o = { ...OVERLAP_DEFAULTS, ...options };
  const t0 = performance.now();
  const { offsets, viewerIdSpace } = audience;
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
    const viewers = audience.viewers;
    vStart = new Uint32Array(viewerIdSpace + 1);
    for (let i = 0; i < viewers.length; i++) vStart[viewers[i] + 1]++;
    for (let v = 0; v < viewerIdSpace; v++) vStart[v + 1] += vStart[v];
    const fill = vStart.slice(0, viewerIdSpace);
    vChannels = new Uint32Array(viewers.length);
    for (let c = 0; c < nChannels; c++) {
      for (let i = offsets[c]; i < offsets[c + 1]; i++) vChannels[fill[viewers[i]]++] = c;
    }
  }

  // Spans, channel-major (see ProjectionInput): count them per channel, then fill in viewer
  // order, so each channel's spans go by viewer ascending; the channel lists of the viewers with
  // two or more are copied on the way, each closed by SPAN_END (where a span stops: no array of
  // span ends). Work per channel (for the split): its spans plus the channels in them.
  const onThreads = helper !== undefined;
  const spanOffsets = sharedU32(nChannels + 1, onThreads);
  let listedLength = 0;
  for (let v = 0; v < viewerIdSpace; v++) {
    const end = vStart[v + 1];
    if (end - vStart[v] < 2) continue;
    listedLength += end - vStart[v] + 1;
    for (let j = vStart[v]; j + 1 < end; j++) spanOffsets[vChannels[j] + 1]++;
  }
  for (let c = 0; c < nChannels; c++) spanOffsets[c + 1] += spanOffsets[c];
  const spans = spanOffsets[nChannels];
  const spanStart = sharedU32(spans, onThreads);
  const listed = sharedU32(listedLength, onThreads);
  const fill = spanOffsets.slice(0, nChannels);
  const work = new Float64Array(helper ? nChannels : 0);
  let totalWork = 0;
  let q = 0;
  for (let v = 0; v < viewerIdSpace; v++) {
    const end = vStart[v + 1];
    const d = end - vStart[v];
    if (d < 2) continue;
    for (let j = vStart[v]; j < end; j++) {
      const c = vChannels[j];
      listed[q++] = c;
      // a span from each channel but the last: the channels after it
      if (j + 1 === end) break;
      spanStart[fill[c]++] = q;
      if (helper) work[c] += end - j;
    }
    listed[q++] = SPAN_END;
    totalWork += ((d - 1) * (d + 2)) / 2;
  }
  const parallel = helper !== undefined && totalWork >= (helper.minWork ?? PARALLEL_PROJECTION_MIN_WORK);
  // Chunks of about equal work (one chunk on a single thread).
  const nChunks = parallel ? PROJECTION_CHUNKS : 1;
  const chunks = sharedU32(nChunks + 1, parallel);
  chunks[nChunks] = nChannels;
  if (parallel) {
    let acc = 0;
    let k = 1;
    for (let c = 0; c < nChannels && k < nChunks; c++) {
      acc += work[c];
      while (k < nChunks && acc >= (k * totalWork) / nChunks) chunks[k++] = c + 1;
    }
    while (k < nChunks) chunks[k++] = nChannels;
  }
  const input: ProjectionInput = {
    channels: nChannels,
    offsets: spanOffsets,
    spanStart,
    viewerChannels: listed,
    minShared: o.minShared,
    chunks,
    claim: new Int32Array(parallel ? new SharedArrayBuffer(4) : new ArrayBuffer(4)),
  };
  const tTranspose = performance.now();

  const away = parallel ? helper.start(input) : undefined;
  const parts = [projectChunks(input)];
  if (away) {
    const there = away.wait();
    // The other thread failed (rare): everything again on this one.
    if (there) parts.push(there);
    else parts[0] = projectChunks({ ...input, claim: new Int32Array(1) });
  }
  const tProject = performance.now();

  // Chunks back in id order: the same edges in the same order as on one thread.
  const onShared = helper !== undefined;
  const {
    source,
    target,
    shared,
    length: m,
    pairsCounted,
    belowShared,
  } = concatChunks(parts, nChunks, onShared);
  return finishGraph(
    { nodeNames: audience.channelNames, nodeAudience, source, target, shared, length: m },
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
        ...(parts.length > 1 ? { threads: 2 } : {}),
      },
    },
    // the helper builds the communities' CSR from these arrays next (stages.ts)
    onShared,
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
