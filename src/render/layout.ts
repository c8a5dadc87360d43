/**
 * ForceAtlas2 layout of the channel graph (graphology-layout-forceatlas2's iteration kernel),
 * seeded so the same graph and options give the same positions, optionally off the main thread.
 *
 * We build the kernel's flat matrices ourselves from typed arrays instead of going through a
 * graphology Graph: at 10k nodes / 100k edges that saves building 110k attribute objects.
 */
import { Worker } from 'node:worker_threads';
import iterate from 'graphology-layout-forceatlas2/iterate.js';
import { createRng } from '../analysis/rng.js';
import type { Config } from '../config/index.js';
import { VieweratlasError } from '../errors.js';

export type { ProgressFn } from '../model/progress.js';

import type { ProgressFn } from '../model/progress.js';

/** The graph to lay out: nodes are 0..nodeCount-1, edges as parallel typed arrays. */
export interface LayoutInput {
  nodeCount: number;
  source: Uint32Array;
  target: Uint32Array;
  weight: Float64Array;
  /** Community per node; when given, nodes start near their community's seed point (faster, tidier). */
  community?: Int32Array;
  /** Top-level group per node (-1 = none); communities of one group start next to each other. */
  group?: Int32Array;
}

export interface LayoutOptions {
  /** ForceAtlas2 iterations. */
  iterations: number;
  /** Use the Barnes-Hut approximation above this many nodes. */
  barnesHutAbove: number;
  barnesHutTheta: number;
  gravity: number;
  scalingRatio: number;
  strongGravity: boolean;
  /** LinLog attraction: separates communities more clearly. */
  linLog: boolean;
  /** Seed of the initial positions. */
  seed: number;
  /** Run in a worker thread (keeps the event loop free for progress and signals). */
  worker: boolean;
  /** Damping; larger graphs need more (graphology's inferSettings uses 1 + ln n). */
  slowDown: number | 'auto';
  /**
   * Above this many edges the layout uses each channel's strongest links only (see
   * `strongestLinks`): the picture keeps its communities and the layout its speed.
   */
  maxEdges: number;
  /**
   * Edge weights as the layout sees them: 'raw' as given, or 'normalized' w / √(s·t) with s, t the
   * two channels' strengths (a cosine of the weighted graph), so a hub's many heavy links do not
   * pull every community into it.
   */
  weights: 'raw' | 'normalized';
  /** FA2's "dissuade hubs" (outboundAttractionDistribution). */
  dissuadeHubs: boolean;
  /** Weight factor of edges between two communities of the same group. */
  betweenCommunities: number;
  /** Weight factor of edges between two groups. */
  betweenGroups: number;
  onProgress?: ProgressFn;
}

export const DEFAULTS: LayoutOptions = {
  iterations: 500,
  barnesHutAbove: 2000,
  barnesHutTheta: 1.2,
  gravity: 1,
  scalingRatio: 30,
  strongGravity: false,
  linLog: true,
  seed: 42,
  worker: true,
  slowDown: 'auto',
  maxEdges: 150_000,
  weights: 'normalized',
  dissuadeHubs: false,
  betweenCommunities: 1,
  betweenGroups: 0.15,
};

export interface LayoutResult {
  x: Float64Array;
  y: Float64Array;
  iterations: number;
  barnesHut: boolean;
  ms: number;
  /** Whether the worker thread ran it. */
  inWorker: boolean;
}

/** Maps the `layout` config section onto options. */
export function layoutOptionsFromConfig(layout: Config['layout']): Partial<LayoutOptions> {
  return {
    iterations: layout.iterations,
    barnesHutAbove: layout.barnes_hut_above,
    barnesHutTheta: layout.barnes_hut_theta,
    gravity: layout.gravity,
    scalingRatio: layout.scaling_ratio,
    strongGravity: layout.strong_gravity,
    linLog: layout.lin_log,
    seed: layout.seed,
    worker: layout.worker,
    maxEdges: layout.max_edges,
  };
}

/**
 * At most `maxEdges` edges: each node's k strongest links (k = ⌊maxEdges / nodes⌋, at least 1),
 * chosen greedily from the strongest edge down; an edge is kept while either end has fewer than
 * k. Deterministic (ties by edge order). Returns the input itself when it is small enough.
 */
export function strongestLinks(input: LayoutInput, maxEdges: number): LayoutInput {
  const m = input.source.length;
  const n = input.nodeCount;
  if (m <= maxEdges || n === 0) return input;
  const k = Math.max(1, Math.floor(maxEdges / n));
  const order = new Uint32Array(m);
  for (let e = 0; e < m; e++) order[e] = e;
  order.sort((a, b) => input.weight[b] - input.weight[a] || a - b);
  const taken = new Uint32Array(n);
  const keep: number[] = [];
  for (let i = 0; i < m && keep.length < maxEdges; i++) {
    const e = order[i];
    const s = input.source[e];
    const t = input.target[e];
    if (taken[s] >= k && taken[t] >= k) continue;
    taken[s]++;
    taken[t]++;
    keep.push(e);
  }
  keep.sort((a, b) => a - b);
  const pick = <T extends Uint32Array | Float64Array>(a: T, out: T): T => {
    keep.forEach((e, i) => {
      out[i] = a[e];
    });
    return out;
  };
  return {
    ...input,
    source: pick(input.source, new Uint32Array(keep.length)),
    target: pick(input.target, new Uint32Array(keep.length)),
    weight: pick(input.weight, new Float64Array(keep.length)),
  };
}

/** Settings object as the kernel reads it. */
export interface KernelSettings {
  linLogMode: boolean;
  outboundAttractionDistribution: boolean;
  adjustSizes: boolean;
  edgeWeightInfluence: number;
  scalingRatio: number;
  strongGravityMode: boolean;
  gravity: number;
  slowDown: number;
  barnesHutOptimize: boolean;
  barnesHutTheta: number;
}

/** What the worker receives (all transferable). */
export interface KernelJob {
  settings: KernelSettings;
  iterations: number;
  nodes: Float32Array;
  edges: Float32Array;
}

const PPN = 10; // kernel floats per node
const PPE = 3; // kernel floats per edge

/** Builds the kernel's matrices: seeded start positions, mass = 1 + √degree, weights scaled to mean 1. */
export function buildKernelJob(input: LayoutInput, options: Partial<LayoutOptions> = {}): KernelJob {
  const o = { ...DEFAULTS, ...options };
  input = strongestLinks(input, o.maxEdges);
  const n = input.nodeCount;
  const m = input.source.length;
  if (input.target.length !== m || input.weight.length !== m) {
    throw new VieweratlasError(
      'layout',
      `edge arrays differ in length (${m}, ${input.target.length}, ${input.weight.length})`,
    );
  }
  const nodes = new Float32Array(n * PPN);
  const edges = new Float32Array(m * PPE);
  const rand = createRng(o.seed);
  const spread = Math.sqrt(n) * 10;

  const centers = seedCenters(input, spread);
  const jitter = input.community ? spread * 0.25 : spread;
  for (let i = 0; i < n; i++) {
    const j = i * PPN;
    const [cx, cy, r0] = centers.get(input.community?.[i] ?? -1) ?? [0, 0, jitter];
    // Uniform in a disc around the centre.
    const r = r0 * Math.sqrt(rand());
    const a = rand() * 2 * Math.PI;
    nodes[j] = cx + r * Math.cos(a);
    nodes[j + 1] = cy + r * Math.sin(a);
    nodes[j + 7] = 1; // convergence
    nodes[j + 8] = 1; // size (adjustSizes is off)
  }
  const deg = new Float64Array(n);
  const strength = new Float64Array(n);
  for (let e = 0; e < m; e++) {
    const s = input.source[e];
    const t = input.target[e];
    if (s >= n || t >= n)
      throw new VieweratlasError('layout', `edge ${e} names node ${Math.max(s, t)} but there are ${n}`);
    deg[s]++;
    deg[t]++;
    strength[s] += input.weight[e];
    strength[t] += input.weight[e];
  }
  const w = layoutWeights(input, strength, o);
  let sum = 0;
  for (let e = 0; e < m; e++) sum += w[e];
  const scale = m > 0 && sum > 0 ? m / sum : 1;
  for (let e = 0; e < m; e++) {
    const k = e * PPE;
    edges[k] = input.source[e] * PPN; // the kernel stores matrix offsets, not node ids
    edges[k + 1] = input.target[e] * PPN;
    edges[k + 2] = w[e] * scale;
  }
  // Mass = 1 + √degree. With Gephi's 1 + degree, repulsion between two hubs grows with the product of
  // their degrees and flings the biggest channels to the rim; with √degree they sit inside their
  // community (compared on the 2021 Twitch data: clusters are clear, hubs stay with their own).
  for (let i = 0; i < n; i++) nodes[i * PPN + 6] = 1 + Math.sqrt(deg[i]);
  return {
    iterations: o.iterations,
    nodes,
    edges,
    settings: {
      linLogMode: o.linLog,
      outboundAttractionDistribution: o.dissuadeHubs,
      adjustSizes: false,
      edgeWeightInfluence: 1,
      scalingRatio: o.scalingRatio,
      strongGravityMode: o.strongGravity,
      gravity: o.gravity,
      slowDown: o.slowDown === 'auto' ? 1 + Math.log(Math.max(n, 1)) : o.slowDown,
      barnesHutOptimize: n > o.barnesHutAbove,
      barnesHutTheta: o.barnesHutTheta,
    },
  };
}

/**
 * Seed points per community: [x, y, radius]. Groups sit on a golden-angle spiral (biggest in the
 * middle), each group's communities on a smaller spiral around the group's point, so FA2 starts
 * from regions and untangles less. Without groups every community is its own group.
 */
function seedCenters(input: LayoutInput, spread: number): Map<number, [number, number, number]> {
  const centers = new Map<number, [number, number, number]>();
  const community = input.community;
  if (!community) return centers;
  const size = new Map<number, number>();
  const groupOf = new Map<number, number>();
  for (let i = 0; i < community.length; i++) {
    const c = community[i];
    if (!(c >= 0)) continue;
    size.set(c, (size.get(c) ?? 0) + 1);
    const g = input.group?.[i];
    if (!groupOf.has(c)) groupOf.set(c, g !== undefined && g >= 0 ? g : -1 - c);
  }
  const groups = new Map<number, number[]>();
  for (const c of [...size.keys()].sort((a, b) => a - b)) {
    const g = groupOf.get(c)!;
    const list = groups.get(g);
    if (list) list.push(c);
    else groups.set(g, [c]);
  }
  const total = [...size.values()].reduce((a, b) => a + b, 0) || 1;
  const gsize = (list: number[]) => list.reduce((a, c) => a + size.get(c)!, 0);
  const order = [...groups.entries()].sort((a, b) => gsize(b[1]) - gsize(a[1]) || a[0] - b[0]);
  order.forEach(([, list], gi) => {
    const r = spread * 0.8 * Math.sqrt((gi + 0.5) / order.length);
    const theta = gi * 2.399963229728653;
    const gx = r * Math.cos(theta);
    const gy = r * Math.sin(theta);
    // A group's disc has an area in proportion to its channels.
    const gr = spread * 0.8 * Math.sqrt(gsize(list) / total);
    const sorted = [...list].sort((a, b) => size.get(b)! - size.get(a)! || a - b);
    sorted.forEach((c, ci) => {
      const rr = sorted.length === 1 ? 0 : gr * 0.7 * Math.sqrt((ci + 0.5) / sorted.length);
      const th = ci * 2.399963229728653;
      const cr = Math.max(spread * 0.02, gr * Math.sqrt(size.get(c)! / gsize(list)) * 0.5);
      centers.set(c, [gx + rr * Math.cos(th), gy + rr * Math.sin(th), cr]);
    });
  });
  return centers;
}

/** The weights the layout uses: normalised and damped across communities and groups (see options). */
function layoutWeights(input: LayoutInput, strength: Float64Array, o: LayoutOptions): Float64Array {
  const m = input.source.length;
  const w = new Float64Array(m);
  for (let e = 0; e < m; e++) {
    const s = input.source[e];
    const t = input.target[e];
    let v = input.weight[e];
    if (o.weights === 'normalized') {
      const d = Math.sqrt(strength[s] * strength[t]);
      v = d > 0 ? v / d : 0;
    }
    const cs = input.community?.[s] ?? -1;
    const ct = input.community?.[t] ?? -1;
    if (cs !== ct || cs < 0) {
      const gs = input.group?.[s] ?? -1 - cs;
      const gt = input.group?.[t] ?? -1 - ct;
      v *= gs === gt && gs >= 0 ? o.betweenCommunities : o.betweenGroups;
    }
    w[e] = v;
  }
  return w;
}

/** Runs the kernel on the calling thread; mutates `job.nodes`. */
export function runKernel(job: KernelJob, onTick?: (done: number) => void): void {
  if (job.nodes.length === 0) return;
  const every = Math.max(1, Math.floor(job.iterations / 50));
  for (let i = 0; i < job.iterations; i++) {
    iterate(job.settings, job.nodes, job.edges);
    if (onTick && (i + 1) % every === 0) onTick(i + 1);
  }
}

function readPositions(nodes: Float32Array): { x: Float64Array; y: Float64Array } {
  const n = nodes.length / PPN;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = nodes[i * PPN];
    y[i] = nodes[i * PPN + 1];
  }
  return { x, y };
}

/** Synchronous layout on the calling thread. */
export function computeLayout(input: LayoutInput, options: Partial<LayoutOptions> = {}): LayoutResult {
  const started = performance.now();
  const job = buildKernelJob(input, options);
  runKernel(job, (done) => options.onProgress?.('layout', done, job.iterations));
  return {
    ...readPositions(job.nodes),
    iterations: job.iterations,
    barnesHut: job.settings.barnesHutOptimize,
    ms: performance.now() - started,
    inWorker: false,
  };
}

/**
 * The layout, in a worker thread when `options.worker` is on (same kernel, same result). The
 * worker is plain ESM JavaScript so it starts the same way under tsx, vitest and bin/vieweratlas.mjs.
 */
export async function runLayout(
  input: LayoutInput,
  options: Partial<LayoutOptions> = {},
): Promise<LayoutResult> {
  const o = { ...DEFAULTS, ...options };
  // A tiny graph finishes before a worker would even start.
  if (!o.worker || input.nodeCount < 200) return computeLayout(input, o);
  const started = performance.now();
  const job = buildKernelJob(input, o);
  const nodes = await new Promise<Float32Array>((resolve, reject) => {
    const worker = new Worker(new URL('./layout-worker.mjs', import.meta.url));
    worker.on('message', (msg: { type: 'tick'; done: number } | { type: 'done'; nodes: Float32Array }) => {
      if (msg.type === 'tick') o.onProgress?.('layout', msg.done, job.iterations);
      else {
        resolve(msg.nodes);
        void worker.terminate();
      }
    });
    worker.on('error', (err) =>
      reject(new VieweratlasError('layout', `worker failed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', (code) => {
      if (code !== 0) reject(new VieweratlasError('layout', `worker exited with code ${code}`));
    });
    worker.postMessage(job, [job.nodes.buffer as ArrayBuffer, job.edges.buffer as ArrayBuffer]);
  });
  return {
    ...readPositions(nodes),
    iterations: job.iterations,
    barnesHut: job.settings.barnesHutOptimize,
    ms: performance.now() - started,
    inWorker: true,
  };
}
