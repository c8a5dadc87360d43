import { createRequire } from 'node:module';
import type { UndirectedGraph } from 'graphology';
import type louvainModule from 'graphology-communities-louvain';
import { csrFromGraph } from './csr.js';
import { modularity } from './modularity.js';
import { createRng } from './rng.js';
import type { OverlapGraph } from './types.js';

/** Options of `louvain`; every field optional (see `LOUVAIN_DEFAULTS`). */
export interface LouvainOptions {
  resolution: number;
  /** Seeds the node visiting order (graphology's `rng`). */
  seed: number;
}

/**
 * graphology and its Louvain, loaded on first use: ~30 ms of module loading that every analysis
 * with Leiden (the default) would pay at start. Both are required as CommonJS (the Louvain package
 * is one: `module.exports = louvain`), so the graph class and the algorithm come from one build.
 */
let loaded: { Graph: typeof UndirectedGraph; detailed: typeof louvainModule.default.detailed } | undefined;
function graphologyLouvain(): NonNullable<typeof loaded> {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const { UndirectedGraph: Graph } = require('graphology') as typeof import('graphology');
    const impl = require('graphology-communities-louvain') as typeof louvainModule.default;
    loaded = { Graph, detailed: impl.detailed };
  }
  return loaded;
}

export const LOUVAIN_DEFAULTS: LouvainOptions = { resolution: 1, seed: 42 };

export interface LouvainResult {
  membership: Int32Array;
  count: number;
  /** Modularity recomputed by `modularity.ts` (the library's own figure is `libraryModularity`). */
  modularity: number;
  libraryModularity: number;
  /** Aggregation levels (dendrogram depth). */
  levels: number;
  timings: { build: number; louvain: number; total: number };
}

/**
 * Louvain (Blondel et al. 2008) through graphology-communities-louvain: the typed arrays become
 * an undirected graphology Graph keyed by node index (names may repeat in odd inputs), edges
 * inserted in CSR order (by node, neighbours ascending), and a seeded rng replaces Math.random,
 * so runs are reproducible and independent of the input edge order.
 */
export function louvain(graph: OverlapGraph, options: Partial<LouvainOptions> = {}): LouvainResult {
  const o = { ...LOUVAIN_DEFAULTS, ...options };
  const t0 = performance.now();
  const n = graph.nodeNames.length;
  const { Graph, detailed } = graphologyLouvain();
  const g = new Graph({ multi: false, allowSelfLoops: false });
  const keys = Array.from({ length: n }, (_, i) => String(i));
  for (let i = 0; i < n; i++) g.addNode(keys[i]);
  // Through CSR: repeated pairs are already summed, so every edge is added once, no look-ups.
  const csr = csrFromGraph(graph);
  for (let v = 0; v < n; v++) {
    for (let i = csr.offsets[v]; i < csr.offsets[v + 1]; i++) {
      const u = csr.neighbors[i];
      if (u > v) g.addEdge(keys[v], keys[u], { weight: csr.weights[i] });
    }
  }
  const t1 = performance.now();
  const membership = new Int32Array(n);
  let libraryModularity = 0;
  let levels = 0;
  if (g.size > 0) {
    const r = detailed(g, {
      getEdgeWeight: 'weight',
      resolution: o.resolution,
      rng: createRng(o.seed),
    });
    for (let i = 0; i < n; i++) membership[i] = r.communities[String(i)];
    libraryModularity = r.modularity;
    levels = r.dendrogram.length;
  } else {
    for (let i = 0; i < n; i++) membership[i] = i;
  }
  const t2 = performance.now();
  // Dense ids in first-seen order.
  const map = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    let id = map.get(membership[i]);
    if (id === undefined) {
      id = map.size;
      map.set(membership[i], id);
    }
    membership[i] = id;
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    membership,
    count: map.size,
    modularity: modularity(graph, membership, o.resolution),
    libraryModularity,
    levels,
    timings: { build: round(t1 - t0), louvain: round(t2 - t1), total: round(performance.now() - t0) },
  };
}
