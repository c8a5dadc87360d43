import { describe, expect, it } from 'vitest';
import { aggregate } from '../src/analysis/aggregate.js';
import { disparityFilter } from '../src/analysis/backbone.js';
import { detectCommunities } from '../src/analysis/communities.js';
import { csrFromGraph, csrInputOf } from '../src/analysis/csr.js';
import {
  buildOverlapGraph,
  type edgeWeight,
  graphFromEdgeTable,
  OVERLAP_DEFAULTS,
} from '../src/analysis/overlap.js';
import { spawnProjectionWorker } from '../src/analysis/overlap-parallel.js';
import { createRng } from '../src/analysis/rng.js';
import type { Audience, OverlapGraph } from '../src/analysis/types.js';
import type { EdgeTable } from '../src/model/presence-table.js';
import { tableOf } from './fixtures/analysis/tables.js';

/** Audience straight from channel → viewer-id lists (ids sorted). */
function audienceFrom(lists: number[][], viewerIdSpace: number): Audience {
  const offsets = new Uint32Array(lists.length + 1);
  lists.forEach((l, i) => {
    offsets[i + 1] = offsets[i] + l.length;
  });
  const all = new Set(lists.flat());
  return {
    channelNames: lists.map((_, i) => `c${i}`),
    channelIds: Uint32Array.from(lists.keys()),
    offsets,
    viewers: Uint32Array.from(lists.flatMap((l) => [...l].sort((a, b) => a - b))),
    viewerIdSpace,
    viewerCount: all.size,
    counts: {} as Audience['counts'],
    timings: {},
  };
}

function edgesOf(g: OverlapGraph): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (let e = 0; e < g.length; e++) {
    out[`${g.nodeNames[g.source[e]]}-${g.nodeNames[g.target[e]]}`] = [g.shared[e], g.weight[e]];
  }
  return out;
}

describe('buildOverlapGraph', () => {
  it('counts shared viewers and computes every weight kind by its formula', () => {
    const t = tableOf([
      ...['p', 'q', 'r', 's'].map((v) => ['a', v, 0] as [string, string, number]),
      ...['p', 'q', 'x'].map((v) => ['b', v, 0] as [string, string, number]),
      ...['p', 'y'].map((v) => ['c', v, 0] as [string, string, number]),
    ]);
    const aud = aggregate(t, { minViewers: 1 });
    const N = 6;
    const g = buildOverlapGraph(aud, { weight: 'shared', minShared: 1 });
    expect(edgesOf(g)).toEqual({ 'a-b': [2, 2], 'a-c': [1, 1], 'b-c': [1, 1] });
    expect(Array.from(g.nodeAudience)).toEqual([4, 3, 2]);
    const ab = (kind: Parameters<typeof edgeWeight>[0]) =>
      edgesOf(buildOverlapGraph(aud, { weight: kind, minShared: 1 }))['a-b'][1];
    expect(ab('jaccard')).toBeCloseTo(2 / 5, 12);
    expect(ab('cosine')).toBeCloseTo(2 / Math.sqrt(12), 12);
    expect(ab('overlap')).toBeCloseTo(2 / 3, 12);
    expect(ab('lift')).toBeCloseTo((2 * N) / 12, 12);
    expect(g.stats).toMatchObject({ pairsCounted: 3, edges: 3, totalViewers: N });
  });

  it('matches a brute-force set intersection on a random audience', () => {
    const rng = createRng(3);
    const lists = Array.from({ length: 40 }, () => {
      const s = new Set<number>();
      const size = 1 + Math.floor(rng() * 60);
      while (s.size < size) s.add(Math.floor(rng() * 300));
      return [...s];
    });
    const g = buildOverlapGraph(audienceFrom(lists, 300), { weight: 'jaccard', minShared: 3 });
    let expected = 0;
    const got = edgesOf(g);
    for (let a = 0; a < lists.length; a++) {
      const A = new Set(lists[a]);
      for (let b = a + 1; b < lists.length; b++) {
        const s = lists[b].filter((v) => A.has(v)).length;
        if (s < 3) continue;
        expected++;
        const [shared, w] = got[`c${a}-c${b}`];
        expect(shared).toBe(s);
        expect(w).toBeCloseTo(s / (lists[a].length + lists[b].length - s), 12);
      }
    }
    expect(g.length).toBe(expected);
    expect(g.stats!.edgesBelowMinShared).toBeGreaterThan(0);
    // Edges come out grouped by source, with source < target.
    for (let e = 0; e < g.length; e++) {
      expect(g.source[e]).toBeLessThan(g.target[e]);
      if (e > 0) expect(g.source[e]).toBeGreaterThanOrEqual(g.source[e - 1]);
    }
  });

  it('gives the same graph from aggregate’s viewer lists as from transposing the audience', () => {
    const rng = createRng(9);
    const rows: [string, string, number][] = [];
    for (let i = 0; i < 3000; i++)
      rows.push([`c${Math.floor(rng() ** 2 * 30)}`, `v${Math.floor(rng() * 400)}`, 0]);
    const aud = aggregate(tableOf(rows), { minViewers: 3 });
    expect(aud.viewerOffsets).toBeDefined();
    const direct = buildOverlapGraph(aud, { weight: 'lift', minShared: 2 });
    const { viewerOffsets: _o, viewerChannels: _c, ...bare } = aud;
    const transposed = buildOverlapGraph(bare, { weight: 'lift', minShared: 2 });
    expect(direct.length).toBeGreaterThan(50);
    expect(edgesOf(transposed)).toEqual(edgesOf(direct));
  });

  it('gives the same edges in the same order on two threads as on one (a real worker)', async () => {
    const rng = createRng(21);
    // 300 channels of very different sizes, so the 64 chunks differ in work.
    const lists = Array.from({ length: 300 }, (_, c) => {
      const s = new Set<number>();
      const size = 2 + Math.floor(2000 / (c + 1)) + Math.floor(rng() * 20);
      while (s.size < size) s.add(Math.floor(rng() ** 1.5 * 3000));
      return [...s];
    });
    const { viewerOffsets: _o, ...aud } = audienceFrom(lists, 3000);
    const one = buildOverlapGraph(aud, { minShared: 2 });
    const worker = spawnProjectionWorker({ minWork: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      for (let run = 0; run < 3; run++) {
        const two = buildOverlapGraph(aud, { minShared: 2 }, worker);
        expect(two.stats!.timings.threads).toBe(2);
        expect(two.length).toBe(one.length);
        expect(Buffer.from(two.source.buffer, two.source.byteOffset, two.source.byteLength)).toEqual(
          Buffer.from(one.source.buffer, one.source.byteOffset, one.source.byteLength),
        );
        expect(Array.from(two.target)).toEqual(Array.from(one.target));
        expect(Array.from(two.shared)).toEqual(Array.from(one.shared));
        expect(two.stats!.pairsCounted).toBe(one.stats!.pairsCounted);
        expect(two.stats!.edgesBelowMinShared).toBe(one.stats!.edgesBelowMinShared);
      }
    } finally {
      worker.close();
    }
    expect(one.length).toBeGreaterThan(1000);
  });

  it('builds the communities CSR on the worker as on this thread, and runAnalysis uses it', async () => {
    const rng = createRng(8);
    const lists = Array.from({ length: 120 }, () => {
      const s = new Set<number>();
      while (s.size < 30) s.add(Math.floor(rng() ** 2 * 4000));
      return [...s];
    });
    const graph = buildOverlapGraph(audienceFrom(lists, 4000), { minShared: 2 });
    const here = csrFromGraph(graph);
    const worker = spawnProjectionWorker({ minWork: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      const there = worker.csr(csrInputOf(graph))?.wait();
      expect(there).toBeDefined();
      expect(there!.n).toBe(here.n);
      expect(there!.totalStrength).toBe(here.totalStrength);
      for (const k of ['offsets', 'neighbors', 'weights', 'strength'] as const)
        expect(Array.from(there![k]), k).toEqual(Array.from(here[k]));
      expect(here.neighbors.length).toBeGreaterThan(1000);
      // a CSR of another graph is refused, not used
      expect(() => detectCommunities(graph, {}, { ...here, n: here.n + 1 })).toThrow(/not of this graph/);
      expect(Array.from(detectCommunities(graph, {}, there).membership)).toEqual(
        Array.from(detectCommunities(graph).membership),
      );
    } finally {
      worker.close();
    }
  });

  it('stays on one thread when the worker is gone', async () => {
    const worker = spawnProjectionWorker({ minWork: 0 });
    expect(await worker.ready(20_000)).toBe(true);
    worker.close();
    const lists = [
      [1, 2, 3],
      [2, 3, 4],
      [3, 4, 5],
    ];
    const t = performance.now();
    const g = buildOverlapGraph(audienceFrom(lists, 6), { minShared: 1 }, worker);
    // at once: a closed worker is never handed work (nor waited for)
    expect(performance.now() - t).toBeLessThan(5000);
    expect(g.stats!.timings.threads).toBeUndefined();
    expect(g.length).toBe(3);
  });

  it('applies min_shared then min_weight', () => {
    const aud = audienceFrom(
      [
        [1, 2, 3, 4],
        [1, 2, 3, 9],
        [4, 10, 11, 12, 13, 14, 15, 16, 17],
      ],
      20,
    );
    expect(Object.keys(edgesOf(buildOverlapGraph(aud, { weight: 'cosine', minShared: 2 })))).toEqual([
      'c0-c1',
    ]);
    const g = buildOverlapGraph(aud, { weight: 'cosine', minShared: 1, minWeight: 0.2 });
    expect(Object.keys(edgesOf(g))).toEqual(['c0-c1']);
    expect(g.stats).toMatchObject({ edgesBelowMinShared: 0, edgesBelowMinWeight: 1 });
  });

  it('defaults to a normalised weight with a minimum-support cut', () => {
    expect(OVERLAP_DEFAULTS.weight).not.toBe('shared');
    expect(OVERLAP_DEFAULTS.minShared).toBeGreaterThanOrEqual(2);
  });
});

describe('disparityFilter', () => {
  it('keeps the dominant edge of a hub and drops the uniform ones', () => {
    // Node 0 has 10 neighbours: one carries most of its strength.
    const src = Uint32Array.from({ length: 10 }, () => 0);
    const tgt = Uint32Array.from({ length: 10 }, (_, i) => i + 1);
    const w = Float64Array.from({ length: 10 }, (_, i) => (i === 0 ? 100 : 1));
    // Leaves have degree 1: the test says nothing there, so give them a second, heavier edge.
    const s2 = Uint32Array.from([...src, ...Array.from({ length: 9 }, (_, i) => i + 2)]);
    const t2 = Uint32Array.from([...tgt, ...Array.from({ length: 9 }, () => 11)]);
    const w2 = Float64Array.from([...w, ...Array.from({ length: 9 }, () => 50)]);
    const keep = disparityFilter(12, s2, t2, w2, s2.length, { alpha: 0.05 });
    expect(keep[0]).toBe(1); // 0–1, weight 100: (1 − 100/109)^9 ≈ 3e-10
    for (let i = 1; i < 10; i++) expect(keep[i]).toBe(0); // 0–k, weight 1: (1 − 1/109)^9 ≈ 0.92 and tiny at k
  });

  it('is available from buildOverlapGraph as an option', () => {
    const aud = audienceFrom(
      [
        Array.from({ length: 50 }, (_, i) => i),
        Array.from({ length: 45 }, (_, i) => i),
        [0, 1, 100, 101],
        [2, 3, 102, 103],
        [4, 5, 104, 105],
      ],
      200,
    );
    const full = buildOverlapGraph(aud, { weight: 'shared', minShared: 2 });
    const bb = buildOverlapGraph(aud, {
      weight: 'shared',
      minShared: 2,
      backbone: true,
      backboneAlpha: 0.05,
    });
    expect(bb.length).toBeLessThan(full.length);
    expect(bb.stats!.edgesRemovedByBackbone).toBe(full.length - bb.length);
    expect(Object.keys(edgesOf(bb))).toContain('c0-c1');
  });
});

describe('graphFromEdgeTable', () => {
  const table: EdgeTable = {
    nodeNames: ['A', 'B', 'C'],
    nodeAudience: Float64Array.from([100, 50, 0]),
    length: 4,
    source: Uint32Array.from([0, 1, 2, 2]),
    target: Uint32Array.from([1, 0, 2, 0]),
    weight: Float64Array.from([10, 12, 5, 3]),
  };

  it('keeps the given weight by default, merges a repeated pair and drops self-loops', () => {
    const g = graphFromEdgeTable(table);
    expect(edgesOf(g)).toEqual({ 'A-B': [12, 12], 'A-C': [3, 3] });
    expect(g.stats!.weight).toBe('given');
  });

  it('reweights from shared counts when audiences are known, and says when they are not', () => {
    const two: EdgeTable = { ...table, length: 2 };
    const g = graphFromEdgeTable(two, { weight: 'cosine' });
    expect(g.weight[0]).toBeCloseTo(12 / Math.sqrt(5000), 12);
    expect(() => graphFromEdgeTable(table, { weight: 'jaccard' })).toThrow(/needs node audiences.*'C'/);
  });
});
