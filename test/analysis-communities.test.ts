import { describe, expect, it } from 'vitest';
import {
  COMMUNITY_DEFAULTS,
  detectCommunities,
  randomiser,
  renumberBySize,
} from '../src/analysis/communities.js';
import { type Csr, csrFromGraph } from '../src/analysis/csr.js';
import { leiden, leidenCsr } from '../src/analysis/leiden.js';
import { kernelLeiden, useLeidenKernel } from '../src/analysis/leiden-kernel.js';
import { louvain } from '../src/analysis/louvain.js';
import { modularities, modularity } from '../src/analysis/modularity.js';
import { graphFromEdgeTable } from '../src/analysis/overlap.js';
import { nmi } from '../src/analysis/quality.js';
import { createRng } from '../src/analysis/rng.js';
import type { OverlapGraph } from '../src/analysis/types.js';
import { atlasAvailable, readAtlas2021 } from './fixtures/analysis/atlas2021.js';

/** A graph from `[a, b, weight?]` edges over nodes named n0..n{count-1}. */
function graphOf(count: number, edges: [number, number, number?][], names?: string[]): OverlapGraph {
  const w = Float64Array.from(edges, (e) => e[2] ?? 1);
  return {
    nodeNames: names ?? Array.from({ length: count }, (_, i) => `n${i}`),
    nodeAudience: new Float64Array(count),
    source: Uint32Array.from(edges, (e) => Math.min(e[0], e[1])),
    target: Uint32Array.from(edges, (e) => Math.max(e[0], e[1])),
    shared: w.slice(),
    weight: w,
    length: edges.length,
  };
}

/** k cliques of size s in a ring, neighbouring cliques joined by one edge. */
function ringOfCliques(k: number, s: number): OverlapGraph {
  const edges: [number, number][] = [];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < s; i++) for (let j = i + 1; j < s; j++) edges.push([c * s + i, c * s + j]);
    edges.push([c * s, ((c + 1) % k) * s + 1]);
  }
  return graphOf(k * s, edges);
}

/** A planted-partition random graph: k groups of size s, p_in / p_out, random weights. */
function plantedGraph(k: number, s: number, pIn: number, pOut: number, seed: number): OverlapGraph {
  const rng = createRng(seed);
  const edges: [number, number, number][] = [];
  const n = k * s;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const same = Math.floor(a / s) === Math.floor(b / s);
      if (rng() < (same ? pIn : pOut)) edges.push([a, b, 1 + Math.floor(rng() * 5)]);
    }
  }
  return graphOf(n, edges);
}

const twoTriangles = () =>
  graphOf(6, [
    [0, 1],
    [1, 2],
    [0, 2],
    [3, 4],
    [4, 5],
    [3, 5],
    [2, 3],
  ]);

describe('modularity', () => {
  it('matches the hand-computed value of two triangles joined by a bridge', () => {
    const g = twoTriangles();
    // m = 7; each side: 3 inside, strength 7 → Q = 2 (3/7 − (7/14)²) = 6/7 − 1/2.
    expect(modularity(g, [0, 0, 0, 1, 1, 1])).toBeCloseTo(6 / 7 - 1 / 2, 12);
    expect(modularity(g, [0, 0, 0, 1, 1, 1], 2)).toBeCloseTo(6 / 7 - 1, 12);
    expect(modularity(g, [0, 0, 0, 0, 0, 0])).toBeCloseTo(0, 12);
    expect(modularity(g, [0, 1, 2, 3, 4, 5])).toBeCloseTo(-(4 * 4 + 2 * 9) / 196, 12);
  });

  it('gives several partitions in one pass what each gives alone, unassigned nodes ignored', () => {
    const g = twoTriangles();
    const parts = [
      [0, 0, 0, 1, 1, 1],
      [-1, 0, 0, 1, 1, -1],
      [0, 1, 2, 3, 4, 5],
    ];
    for (const gamma of [1, 0.5, 2]) {
      expect(modularities(g, parts, gamma)).toEqual(parts.map((p) => modularity(g, p, gamma)));
    }
    expect(modularities(g, parts)[0]).toBeCloseTo(6 / 7 - 1 / 2, 12);
    expect(() => modularities(g, [[0, 0, 0]])).toThrow(RangeError);
  });
});

describe.each(['leiden', 'louvain'] as const)('%s', (algorithm) => {
  it('finds the two triangles and the ring of cliques, with the modularity modularity.ts computes', () => {
    const t = detectCommunities(twoTriangles(), { algorithm });
    expect(Array.from(t.membership)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(t.modularity).toBeCloseTo(6 / 7 - 1 / 2, 12);
    const ring = ringOfCliques(10, 6);
    const r = detectCommunities(ring, { algorithm });
    expect(r.count).toBe(10);
    expect(r.sizes).toEqual(Array(10).fill(6));
    for (let c = 0; c < 10; c++) expect(new Set(r.membership.subarray(c * 6, c * 6 + 6)).size).toBe(1);
    expect(r.modularity).toBeCloseTo(modularity(ring, r.membership), 12);
  });

  it('recovers a planted partition and is deterministic for a seed', () => {
    const g = plantedGraph(6, 30, 0.3, 0.02, 5);
    const a = detectCommunities(g, { algorithm, seed: 7 });
    const b = detectCommunities(g, { algorithm, seed: 7 });
    expect(Array.from(a.membership)).toEqual(Array.from(b.membership));
    expect(a.count).toBe(6);
    const truth = Array.from({ length: 180 }, (_, i) => Math.floor(i / 30));
    expect(nmi(truth, a.membership)).toBeGreaterThan(0.9);
    const other = detectCommunities(g, { algorithm, seed: 8 });
    // Another seed: another visiting order, nearly the same optimum.
    expect(Math.abs(other.modularity - a.modularity)).toBeLessThan(0.01);
  });

  it('splits finer at a higher resolution and reports the extra resolutions', () => {
    const g = plantedGraph(4, 40, 0.25, 0.03, 9);
    const r = detectCommunities(g, { algorithm, extraResolutions: [0.3, 1, 4] });
    expect(r.levels).toHaveLength(3);
    const [coarse, same, fine] = r.levels!;
    expect(coarse.count).toBeLessThanOrEqual(same.count);
    expect(fine.count).toBeGreaterThan(same.count);
    const flat = detectCommunities(g, { algorithm, hierarchy: false });
    expect(Array.from(same.membership)).toEqual(Array.from(flat.membership));
    expect(fine.modularity).toBeCloseTo(modularity(g, fine.membership, 4), 12);
  });
});

describe('leiden specifics', () => {
  it('yields connected communities (the refinement guarantee)', () => {
    const g = plantedGraph(8, 25, 0.2, 0.03, 11);
    const { membership } = leiden(g, { seed: 3 });
    const adj: number[][] = Array.from({ length: 200 }, () => []);
    for (let e = 0; e < g.length; e++) {
      adj[g.source[e]].push(g.target[e]);
      adj[g.target[e]].push(g.source[e]);
    }
    const seen = new Uint8Array(200);
    const components = new Map<number, number>();
    for (let v = 0; v < 200; v++) {
      if (seen[v]) continue;
      const c = membership[v];
      components.set(c, (components.get(c) ?? 0) + 1);
      const stack = [v];
      seen[v] = 1;
      while (stack.length > 0) {
        const u = stack.pop()!;
        for (const x of adj[u]) {
          if (!seen[x] && membership[x] === c) {
            seen[x] = 1;
            stack.push(x);
          }
        }
      }
    }
    for (const parts of components.values()) expect(parts).toBe(1);
  });

  it('matches or beats Louvain on planted graphs', () => {
    for (const seed of [1, 2, 3]) {
      const g = plantedGraph(10, 20, 0.25, 0.04, seed);
      expect(leiden(g, { seed }).modularity).toBeGreaterThanOrEqual(louvain(g, { seed }).modularity - 0.01);
    }
  });

  it('handles graphs without edges: every node unassigned, no community', () => {
    const r = detectCommunities(graphOf(3, []), {});
    expect(r.count).toBe(0);
    expect(r.groups.count).toBe(0);
    expect(r.unassigned).toBe(3);
    expect(r.modularity).toBe(0);
    expect(Array.from(r.membership)).toEqual([-1, -1, -1]);
    expect(Array.from(r.groups.membership)).toEqual([-1, -1, -1]);
  });
});

describe('detectCommunities post-processing', () => {
  it('numbers communities by size, ties by the smallest member name', () => {
    expect(Array.from(renumberBySize([5, 5, 9, 9, 9, 2, 2], ['g', 'a', 'b', 'c', 'd', 'e', 'f']))).toEqual([
      1, 1, 0, 0, 0, 2, 2,
    ]);
  });

  it('merges communities below min_size into their best-connected neighbour; edgeless channels stay unassigned', () => {
    // A 6-clique, a pendant pair hanging off it, two separate pairs and two isolated single nodes.
    const edges: [number, number, number?][] = [];
    for (let i = 0; i < 6; i++) for (let j = i + 1; j < 6; j++) edges.push([i, j, 5]);
    edges.push([6, 7, 5], [5, 6, 1], [10, 11, 1], [12, 13, 1]);
    const g = graphOf(14, edges);
    // Flat (the top level untested): the clique, the pendant pair and the two pairs.
    const plain = detectCommunities(g, { hierarchy: false });
    expect(plain.count).toBe(4);
    expect(plain.unassigned).toBe(2);
    // The default tests the top level: cutting the pendant pair off its clique (Q 0.11) is not
    // significant (its randomisations reach 0.18–0.32), so that component is one community.
    const tested = detectCommunities(g);
    expect(tested.count).toBe(3);
    expect(tested.splits.filter((x) => x.depth === 0).map((x) => x.kept)).toEqual([false]);
    const r = detectCommunities(g, { minSize: 3, hierarchy: false });
    // The pendant pair joins the clique; the two separate pairs are pooled.
    expect(r.smallMerged).toBe(3);
    expect(r.count).toBe(2);
    expect(Array.from(r.membership)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, -1, -1, 1, 1, 1, 1]);
    expect(r.modularity).toBeCloseTo(modularity(g, r.membership), 12);
  });

  it('handles an empty graph', () => {
    for (const algorithm of ['leiden', 'louvain'] as const) {
      const r = detectCommunities(graphOf(0, []), { algorithm, extraResolutions: [2], minSize: 3 });
      expect(r).toMatchObject({ count: 0, modularity: 0, sizes: [] });
      expect(r.membership.length).toBe(0);
    }
  });

  it('rejects an unknown algorithm', () => {
    expect(() => detectCommunities(twoTriangles(), { algorithm: 'magic' as 'leiden' })).toThrow(/magic/);
  });

  it('exports its defaults, mirroring the config keys', () => {
    expect(COMMUNITY_DEFAULTS).toEqual({
      algorithm: 'leiden',
      resolution: 1,
      seed: 42,
      hierarchy: true,
      significance: 0.08,
      nullSamples: 3,
      maxDepth: 3,
      minSplitSize: 8,
      nullEstimate: true,
      extraResolutions: [],
      minSize: 1,
    });
  });
});

describe.runIf(atlasAvailable())('the real 2021 Twitch atlas edge list (raw weights)', () => {
  it('Leiden reaches top-level modularity ≥ 0.64, Louvain close; both deterministic', () => {
    const g = graphFromEdgeTable(readAtlas2021(false));
    expect(g.nodeNames.length).toBeGreaterThan(2000);
    expect(g.length).toBe(82_275);
    const l = detectCommunities(g, { algorithm: 'leiden', seed: 42 });
    expect(l.groups.modularity).toBeGreaterThanOrEqual(0.64);
    expect(l.groups.modularity).toBeCloseTo(modularity(g, l.groups.membership), 12);
    expect(l.modularity).toBeCloseTo(modularity(g, l.membership), 12);
    expect(l.groups.count).toBeGreaterThanOrEqual(10);
    // The fine level splits the groups: more communities, lower whole-graph modularity.
    expect(l.count).toBeGreaterThan(l.groups.count);
    expect(l.modularity).toBeLessThan(l.groups.modularity);
    const again = detectCommunities(g, { algorithm: 'leiden', seed: 42 });
    expect(Array.from(again.membership)).toEqual(Array.from(l.membership));
    const v = detectCommunities(g, { algorithm: 'louvain', seed: 42 });
    expect(v.groups.modularity).toBeGreaterThanOrEqual(0.63);
  });

  it('leaves the node file’s channels without an edge unassigned', () => {
    const g = graphFromEdgeTable(readAtlas2021(true));
    expect(g.nodeNames.length).toBe(2200);
    const r = detectCommunities(g);
    expect(r.membership.length).toBe(2200);
    expect(r.unassigned).toBe(136);
    expect(r.membership.filter((c) => c < 0).length).toBe(136);
    expect(r.sizes.every((s) => s > 0)).toBe(true);
    expect(r.groups.modularity).toBeGreaterThanOrEqual(0.64);
  });

  it('gives chess a community of its own, apart from the variety community around xQcOW', () => {
    // The whole split of xQcOW's community fails its test (its hub-heavy remainder drags the
    // modularity below the randomisations'); the chess part, judged on its own, stands out.
    const g = graphFromEdgeTable(readAtlas2021(true));
    const r = detectCommunities(g);
    const of = (name: string) => r.membership[g.nodeNames.indexOf(name)];
    const chess = ['GMHikaru', 'GothamChess', 'BotezLive', 'chessbrah', 'AnnaCramling', 'akaNemsko']
      .filter((n) => g.nodeNames.includes(n))
      .map(of);
    expect(chess.length).toBeGreaterThanOrEqual(5);
    expect(new Set(chess).size).toBe(1);
    expect(chess[0]).not.toBe(of('xQcOW'));
    expect(r.sizes[chess[0]!]).toBeLessThanOrEqual(30);
    expect(r.splits.some((s) => s.partTest && s.partTest.parts > 0)).toBe(true);
    expect(Math.max(...r.sizes)).toBeLessThanOrEqual(200);
  });
});

/** `run` with Leiden's passes in JavaScript (the WebAssembly kernel off), then on again. */
function withoutKernel<T>(run: () => T): T {
  useLeidenKernel(false);
  try {
    return run();
  } finally {
    useLeidenKernel(true);
  }
}

describe("Leiden's passes in WebAssembly (leiden-kernel)", () => {
  const graphs: [string, () => OverlapGraph][] = [
    ['planted 8 × 40', () => plantedGraph(8, 40, 0.3, 0.02, 5)],
    ['ring of 30 cliques', () => ringOfCliques(30, 5)],
    ...(atlasAvailable()
      ? ([['the 2021 atlas', () => graphFromEdgeTable(readAtlas2021(false))]] as [
          string,
          () => OverlapGraph,
        ][])
      : []),
  ];
  it.each(graphs)('%s: the same membership, levels and moves as the JavaScript passes', (_, make) => {
    const csr = csrFromGraph(make());
    expect(
      kernelLeiden(csr, { resolution: 1, randomness: 0.01, seed: 1, iterations: 1, maxLevels: 9 }),
    ).toBeDefined();
    for (const options of [
      {},
      { seed: 7, iterations: 1 },
      { resolution: 2.5, seed: 2 ** 32 + 3 },
      { randomness: 0.5 },
      { maxLevels: 1 },
    ]) {
      const fast = leidenCsr(csr, options);
      const plain = withoutKernel(() => leidenCsr(csr, options));
      expect(Array.from(fast.membership)).toEqual(Array.from(plain.membership));
      expect([fast.count, fast.levels, fast.moves, fast.modularity]).toEqual([
        plain.count,
        plain.levels,
        plain.moves,
        plain.modularity,
      ]);
    }
  });

  it.runIf(atlasAvailable())(
    'the whole hierarchy on the 2021 atlas comes out the same, splits and null models too',
    () => {
      const g = graphFromEdgeTable(readAtlas2021(true));
      const fast = detectCommunities(g);
      const plain = withoutKernel(() => detectCommunities(g));
      expect(Array.from(fast.membership)).toEqual(Array.from(plain.membership));
      expect(Array.from(fast.groups.membership)).toEqual(Array.from(plain.groups.membership));
      expect(fast.splits).toEqual(plain.splits);
      expect(fast.splits.length).toBeGreaterThan(10);
    },
  );
});

describe('randomiser: the null model of the significance tests', () => {
  /** The definition, written plainly: edges as objects, shuffled, stably sorted by weight, swapped. */
  function plainRandomised(g: Csr, rng: () => number): Csr {
    const order: { a: number; b: number; w: number }[] = [];
    for (let v = 0; v < g.n; v++)
      for (let i = g.offsets[v]!; i < g.offsets[v + 1]!; i++)
        if (g.neighbors[i]! > v) order.push({ a: v, b: g.neighbors[i]!, w: g.weights[i]! });
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.sort((x, y) => x.w - y.w);
    const m = order.length;
    const a = order.map((e) => e.a);
    const b = order.map((e) => e.b);
    for (let s = 4 * m; s > 0 && m >= 2; s--) {
      const x = Math.floor(rng() * m);
      const d = 1 + Math.floor(rng() * 8);
      const y = rng() < 0.5 ? x - d : x + d;
      if (y < 0 || y >= m) continue;
      if (rng() < 0.5) {
        if (a[x] === b[y] || a[y] === b[x]) continue;
        [b[x], b[y]] = [b[y]!, b[x]!];
      } else {
        if (a[x] === a[y] || b[x] === b[y]) continue;
        const t = b[x]!;
        b[x] = a[y]!;
        a[y] = t;
      }
    }
    const w = Float64Array.from(order, (e) => e.w);
    return csrFromGraph({
      nodeNames: new Array<string>(g.n),
      nodeAudience: new Float64Array(0),
      source: Uint32Array.from(a),
      target: Uint32Array.from(b),
      shared: w,
      weight: w,
      length: m,
    });
  }

  it('gives the plain definition’s graph, sample after sample (many equal weights, ties kept shuffled)', () => {
    const r = createRng(3);
    const n = 300;
    const source: number[] = [];
    const target: number[] = [];
    const weight: number[] = [];
    for (let e = 0; e < 4000; e++) {
      const s = Math.floor(r() * n);
      const t = Math.floor(r() * n);
      if (s === t) continue;
      source.push(s);
      target.push(t);
      // few distinct weights, as small shared counts give
      weight.push(r() < 0.7 ? 1 + Math.floor(r() * 4) : r());
    }
    const g = csrFromGraph({
      nodeNames: new Array<string>(n),
      nodeAudience: new Float64Array(0),
      source: Uint32Array.from(source),
      target: Uint32Array.from(target),
      shared: Float64Array.from(weight),
      weight: Float64Array.from(weight),
      length: source.length,
    });
    const fast = randomiser(g);
    const rngA = createRng(11);
    const rngB = createRng(11);
    for (let s = 0; s < 3; s++) {
      const x = fast(rngA);
      const y = plainRandomised(g, rngB);
      expect(Array.from(x.offsets)).toEqual(Array.from(y.offsets));
      expect(Array.from(x.neighbors)).toEqual(Array.from(y.neighbors));
      expect(Array.from(x.weights)).toEqual(Array.from(y.weights));
    }
  });
});
