/**
 * csrFromGraph builds sorted adjacency lists in linear time (a transpose instead of a sort per
 * node). It must give what the plain definition gives — lists sorted by neighbour, repeated
 * pairs summed in edge order, strengths summed in list order — to the last bit.
 */
import { describe, expect, it } from 'vitest';
import { csrFromGraph } from '../src/analysis/csr.js';
import { createRng } from '../src/analysis/rng.js';
import type { OverlapGraph } from '../src/analysis/types.js';

function graph(edges: [number, number, number][], n: number): OverlapGraph {
  return {
    nodeNames: Array.from({ length: n }, (_, i) => `c${i}`),
    nodeAudience: new Float64Array(n),
    source: Uint32Array.from(edges.map((e) => e[0])),
    target: Uint32Array.from(edges.map((e) => e[1])),
    weight: Float64Array.from(edges.map((e) => e[2])),
    shared: Float64Array.from(edges.map((e) => e[2])),
    length: edges.length,
  } as unknown as OverlapGraph;
}

/** The definition, written plainly: per node a Map of neighbour → summed weight, sorted. */
function reference(edges: [number, number, number][], n: number) {
  const adj = Array.from({ length: n }, () => new Map<number, number>());
  for (const [a, b, w] of edges) {
    if (a === b || !(w > 0)) continue;
    adj[a]!.set(b, (adj[a]!.get(b) ?? 0) + w);
    adj[b]!.set(a, (adj[b]!.get(a) ?? 0) + w);
  }
  const offsets = [0];
  const neighbors: number[] = [];
  const weights: number[] = [];
  const strength: number[] = [];
  let total = 0;
  for (const m of adj) {
    let s = 0;
    for (const [u, w] of [...m].sort((x, y) => x[0] - y[0])) {
      neighbors.push(u);
      weights.push(w);
      s += w;
    }
    strength.push(s);
    total += s;
    offsets.push(neighbors.length);
  }
  return { offsets, neighbors, weights, strength, total };
}

describe('csrFromGraph', () => {
  it('gives the CSR of the plain definition bit for bit, whatever the edge order, with repeated pairs', () => {
    const rng = createRng(11);
    const n = 300;
    const edges: [number, number, number][] = [];
    for (let s = 0; s < n; s++)
      for (let t = s + 1; t < n; t++) if (rng() < 0.08) edges.push([s, t, rng() * 0.9 + 1e-3 * rng()]);
    const sorted = csrFromGraph(graph(edges, n));
    // The same edges shuffled, half of them turned round: the general path.
    const mixed = edges.map((e) => (rng() < 0.5 ? ([e[1], e[0], e[2]] as [number, number, number]) : e));
    for (let i = mixed.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [mixed[i], mixed[j]] = [mixed[j] as [number, number, number], mixed[i] as [number, number, number]];
    }
    const general = csrFromGraph(graph(mixed, n));
    // and some pairs twice (summed in edge order)
    const repeated = [
      ...mixed,
      ...mixed.slice(0, 500).map((e) => [e[1], e[0], e[2] / 3] as [number, number, number]),
    ];
    // The overlap graph's order: sources ascending, each one's targets in any order (and some
    // pairs twice, some weights 0 — dropped).
    const upward: [number, number, number][] = [];
    for (let s = 0; s < n; s++) {
      const run = edges.filter((e) => e[0] === s);
      for (const e of [...run]) if (rng() < 0.05) run.push([e[0], e[1], rng() < 0.3 ? 0 : e[2] / 7]);
      for (let i = run.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [run[i], run[j]] = [run[j] as [number, number, number], run[i] as [number, number, number]];
      }
      upward.push(...run);
    }
    expect(upward.length).toBeGreaterThan(edges.length);
    // The overlap projection's own order (each pair once, targets ascending), some weights not
    // positive (dropped): the path that scatters only the lower halves.
    const strict = edges.map((e, i) =>
      i % 17 === 3 ? ([e[0], e[1], i % 2 ? 0 : -1] as [number, number, number]) : e,
    );
    for (const [es, g] of [
      [edges, sorted],
      [strict, csrFromGraph(graph(strict, n))],
      [mixed, general],
      [repeated, csrFromGraph(graph(repeated, n))],
      [upward, csrFromGraph(graph(upward, n))],
    ] as const) {
      const want = reference(es as [number, number, number][], n);
      expect(Array.from(g.offsets)).toEqual(want.offsets);
      expect(Array.from(g.neighbors)).toEqual(want.neighbors);
      expect(Array.from(g.weights)).toEqual(want.weights);
      expect(Array.from(g.strength)).toEqual(want.strength);
      expect(g.totalStrength).toBe(want.total);
    }
    expect(Array.from(sorted.offsets)).toEqual(Array.from(general.offsets));
    expect(Array.from(sorted.neighbors)).toEqual(Array.from(general.neighbors));
    expect(Array.from(sorted.weights)).toEqual(Array.from(general.weights));
    expect(Array.from(sorted.strength)).toEqual(Array.from(general.strength));
    expect(sorted.totalStrength).toBe(general.totalStrength);
    expect(sorted.neighbors.length).toBe(2 * edges.length);
  });

  it('merges repeated pairs and drops self-loops and non-positive weights', () => {
    const g = csrFromGraph(
      graph(
        [
          [0, 1, 1],
          [1, 0, 2],
          [1, 1, 5],
          [1, 2, 0],
          [0, 2, 0.5],
        ],
        3,
      ),
    );
    expect(Array.from(g.neighbors)).toEqual([1, 2, 0, 0]);
    expect(Array.from(g.weights)).toEqual([3, 0.5, 3, 0.5]);
    expect(Array.from(g.strength)).toEqual([3.5, 3, 0.5]);
  });
});
