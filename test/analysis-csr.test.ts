/**
 * csrFromGraph has two ways to build the adjacency lists: edges in the overlap projection's
 * order (source < target, ascending, no repeats) skip the sort-and-merge, any other order goes
 * through it. Both must give the same CSR, to the last bit of every strength.
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

describe('csrFromGraph', () => {
  it('gives the same CSR from projection-ordered edges as from the same edges in any order', () => {
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
