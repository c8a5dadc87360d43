import { describe, expect, it } from 'vitest';
import { detectCommunities } from '../src/analysis/communities.js';
import { labelCommunities, labelGroups } from '../src/analysis/labels.js';
import { nmi } from '../src/analysis/quality.js';
import { createRng } from '../src/analysis/rng.js';
import type { OverlapGraph } from '../src/analysis/types.js';

function graphFrom(n: number, edge: (a: number, b: number) => number, seed: number): OverlapGraph {
  const rng = createRng(seed);
  const s: number[] = [];
  const t: number[] = [];
  const w: number[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      if (rng() < edge(a, b)) {
        s.push(a);
        t.push(b);
        w.push(1 + Math.floor(rng() * 5));
      }
    }
  }
  return {
    nodeNames: Array.from({ length: n }, (_, i) => `n${String(i).padStart(3, '0')}`),
    nodeAudience: Float64Array.from({ length: n }, (_, i) => n - i),
    source: Uint32Array.from(s),
    target: Uint32Array.from(t),
    shared: Float64Array.from(w),
    weight: Float64Array.from(w),
    length: s.length,
  };
}

/** 8 groups of 4 sub-communities of 15 channels: dense inside a sub-community, sparser inside a group, rare across. */
function twoLevels(seed: number) {
  const size = 15;
  const subs = 4;
  const sub = (i: number) => Math.floor(i / size);
  const group = (i: number) => Math.floor(i / (size * subs));
  const n = 8 * subs * size;
  const graph = graphFrom(
    n,
    (a, b) => (sub(a) === sub(b) ? 0.7 : group(a) === group(b) ? 0.08 : 0.002),
    seed,
  );
  return {
    graph,
    subTruth: Array.from({ length: n }, (_, i) => sub(i)),
    groupTruth: Array.from({ length: n }, (_, i) => group(i)),
  };
}

describe('hierarchical communities', () => {
  it('recovers a planted two-level structure at both levels, which one flat level cannot', () => {
    for (const seed of [1, 2, 3]) {
      const { graph, subTruth, groupTruth } = twoLevels(seed);
      const r = detectCommunities(graph);
      expect(r.groups.count, `seed ${seed}`).toBe(8);
      expect(nmi(groupTruth, r.groups.membership)).toBeGreaterThanOrEqual(0.99);
      expect(r.count, `seed ${seed}`).toBeGreaterThanOrEqual(30);
      expect(nmi(subTruth, r.membership)).toBeGreaterThanOrEqual(0.98);
      // Communities nest in groups: every member of a community is in the community's group.
      for (let v = 0; v < graph.nodeNames.length; v++)
        expect(r.communityGroup[r.membership[v]]).toBe(r.groups.membership[v]);
      // Numbered by group, then size: the communities of one group are consecutive.
      for (let c = 1; c < r.count; c++)
        expect(r.communityGroup[c]).toBeGreaterThanOrEqual(r.communityGroup[c - 1]);
      const flat = detectCommunities(graph, { hierarchy: false });
      expect(nmi(subTruth, flat.membership)).toBeLessThan(0.85);
      expect(Array.from(flat.groups.membership)).toEqual(Array.from(flat.membership));
    }
  });

  it('does not split a random community (no structure), alone or among others', () => {
    for (const seed of [1, 2, 3]) {
      // One random graph: flat Leiden (resolution 1) cuts it into pieces, but the top level is
      // tested like a refinement, so the default keeps it whole: one group, one community.
      const alone = graphFrom(150, () => 0.1, seed);
      expect(detectCommunities(alone, { hierarchy: false }).count).toBeGreaterThan(3);
      const r = detectCommunities(alone);
      expect(r.splits.filter((x) => x.depth === 0)).toHaveLength(1);
      expect(r.splits.every((x) => !x.kept)).toBe(true);
      expect(r.groups.count).toBe(1);
      expect(r.count).toBe(1);
      // Three random communities with heavy-tailed degrees, loosely tied: three, none split.
      const k = 3;
      const size = 120;
      const pop = Array.from({ length: k * size }, (_, i) => 1 / ((i % size) + 5) ** 0.5);
      const three = graphFrom(
        k * size,
        (a, b) => Math.min(1, (Math.floor(a / size) === Math.floor(b / size) ? 4 : 0.03) * pop[a] * pop[b]),
        seed,
      );
      const d = detectCommunities(three);
      expect(d.groups.count).toBe(3);
      expect(d.count).toBe(3);
      const truth = Array.from({ length: k * size }, (_, i) => Math.floor(i / size));
      expect(nmi(truth, d.membership)).toBeGreaterThanOrEqual(0.98);
      // The top level (depth 0) is kept; no refinement below it is.
      expect(d.splits.filter((x) => x.depth === 0).map((x) => x.kept)).toEqual([true]);
      expect(d.splits.filter((x) => x.depth > 0).every((x) => !x.kept)).toBe(true);
    }
  });

  it('keeps a big random graph whole even where pieces of its groups pass the part test', () => {
    // 1,000 channels at mean degree 50: the top level (about 12 groups) fails its test; inside
    // some groups the part test splits a piece off, but those groups are Leiden's cuts, not
    // structure, and no group splits as a whole: one group, one community, no split reported kept.
    for (const seed of [3, 7]) {
      const r = detectCommunities(graphFrom(1000, () => 0.05, seed));
      expect(r.splits.some((x) => x.partTest !== undefined && x.partTest.parts > 0)).toBe(true);
      expect(r.groups.count).toBe(1);
      expect(r.count).toBe(1);
      expect(r.splits.every((x) => !x.kept)).toBe(true);
    }
  });

  it('keeps weak but significant structure of a dense graph at the top level', () => {
    // Six communities of 40 channels, dense inside (0.6) and across (0.25): the partition's
    // modularity (≈ 0.16) beats its randomisations' (≈ 0.11) by less than the 0.08 margin of a
    // refinement, but far beyond their spread, so the top level keeps the six.
    for (const seed of [1, 2]) {
      const g = graphFrom(240, (a, b) => (Math.floor(a / 40) === Math.floor(b / 40) ? 0.6 : 0.25), seed);
      const truth = Array.from({ length: 240 }, (_, i) => Math.floor(i / 40));
      const r = detectCommunities(g);
      expect(r.groups.count).toBe(6);
      expect(nmi(truth, r.membership)).toBeGreaterThanOrEqual(0.95);
      const top = r.splits.find((x) => x.depth === 0)!;
      expect(top.kept).toBe(true);
      expect(
        (top.modularity - Math.max(...top.nullModularity)) / (1 - Math.max(...top.nullModularity)),
      ).toBeLessThan(0.08);
    }
  });

  it('keeps disconnected random components apart, one group and one community each', () => {
    for (const seed of [1, 2]) {
      // Two random graphs of 100 channels with no edge between them.
      const two = graphFrom(200, (a, b) => (a < 100 === b < 100 ? 0.12 : 0), seed);
      const r = detectCommunities(two);
      expect(r.groups.count).toBe(2);
      expect(r.count).toBe(2);
      const side = Array.from({ length: 200 }, (_, i) => (i < 100 ? 0 : 1));
      expect(nmi(side, r.membership)).toBe(1);
      expect(r.splits.filter((x) => x.depth === 0 && x.kept)).toHaveLength(0);
    }
  });

  it('is deterministic for a seed, and the seed is what varies it', () => {
    const { graph } = twoLevels(4);
    const a = detectCommunities(graph, { seed: 5 });
    const b = detectCommunities(graph, { seed: 5 });
    expect(Array.from(b.membership)).toEqual(Array.from(a.membership));
    expect(Array.from(b.groups.membership)).toEqual(Array.from(a.groups.membership));
    expect(b.splits).toEqual(a.splits);
  });

  it('keeps the flat mode and --resolution: a higher resolution gives more groups', () => {
    const { graph } = twoLevels(5);
    const coarse = detectCommunities(graph, { hierarchy: false, resolution: 0.5 });
    const fine = detectCommunities(graph, { hierarchy: false, resolution: 8 });
    expect(fine.count).toBeGreaterThan(coarse.count);
    expect(detectCommunities(graph, { resolution: 8 }).groups.count).toBeGreaterThan(coarse.count);
  });
});

describe('labels on both levels', () => {
  it('names communities without metadata after their two or three biggest channels, groups after their biggest communities', () => {
    const { graph } = twoLevels(1);
    const r = detectCommunities(graph);
    const communities = labelCommunities(graph, r.membership, []);
    for (const c of communities) {
      c.group = r.communityGroup[c.community];
      expect(c.label).toBe(`${c.topChannels[0]}, ${c.topChannels[1]} & ${c.topChannels[2]}`);
    }
    const groups = labelGroups(graph, r.groups.membership, communities, r.communityGroup, []);
    expect(groups).toHaveLength(8);
    for (const g of groups) {
      const own = communities.filter((c) => c.group === g.group).sort((a, b) => b.viewers - a.viewers);
      expect(g.communities).toBe(own.length);
      expect(g.size).toBe(own.reduce((s, c) => s + c.size, 0));
      expect(g.label).toBe(
        `${own[0]!.topChannels[0]}, ${own[1]!.topChannels[0]} & ${own[2]!.topChannels[0]}`,
      );
    }
  });

  it('labels both levels from metadata where there is some, and skips unassigned channels', () => {
    const { graph } = twoLevels(2);
    const r = detectCommunities(graph);
    const metadata = graph.nodeNames.map((channel, i) => ({
      channel,
      observed_at: Date.UTC(2021, 9, 1),
      source: 'test',
      game: `Game ${Math.floor(i / 15)}`,
      language: `l${Math.floor(i / 60)}`,
    }));
    const membership = Int32Array.from(r.membership);
    membership[0] = -1;
    const communities = labelCommunities(graph, membership, metadata);
    expect(communities.reduce((s, c) => s + c.size, 0)).toBe(graph.nodeNames.length - 1);
    expect(communities.every((c) => /^Game \d+ · l\d \(\d+%\)$/.test(c.label))).toBe(true);
    const groups = labelGroups(graph, r.groups.membership, communities, r.communityGroup, metadata);
    expect(groups.every((g) => /· l\d$/.test(g.label))).toBe(true);
  });
});
