import { describe, expect, it } from 'vitest';
import { aggregate } from '../src/analysis/aggregate.js';
import { buildOverlapGraph } from '../src/analysis/overlap.js';
import { spawnProjectionWorker } from '../src/analysis/overlap-parallel.js';
import { createRng } from '../src/analysis/rng.js';
import {
  atlasStatistics,
  distribution,
  type RepeatsHelper,
  repeatPass,
  startRepeatPass,
} from '../src/analysis/statistics.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { tableOf } from './fixtures/analysis/tables.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 2);

describe('atlasStatistics', () => {
  // a, b, c share viewers; d is alone (no edge); nightbot is a known bot
  const rows: [string, string, number, number?][] = [];
  for (let i = 0; i < 6; i++) {
    rows.push(['a', `v${i}`, T0]);
    rows.push(['b', `v${i}`, T0 + 3600_000]);
  }
  for (let i = 4; i < 9; i++) rows.push(['c', `v${i}`, T0]);
  for (let i = 20; i < 25; i++) rows.push(['d', `v${i}`, T0]);
  // v0 and v1 come back the next day: repeat viewers; v2 only later the same day: one-off
  rows.push(['a', 'v0', T0 + DAY], ['c', 'v1', T0 + DAY + 5], ['a', 'v2', T0 + 7200_000]);
  for (const ch of ['a', 'b', 'c', 'd']) rows.push([ch, 'nightbot', T0]);
  const table = tableOf(rows);
  const audience = aggregate(table, { minViewers: 5 });
  const graph = buildOverlapGraph(audience, { weight: 'overlap', minShared: 2 });

  it('counts repeat and one-off viewers, channels per viewer and viewers per channel', () => {
    const s = atlasStatistics(graph, { table, audience });
    // audience: v0..v8 and v20..v24 = 14 viewers; v0 and v1 were seen on two days
    expect(s.viewers).toEqual({ total: 14, repeat: 2, oneOff: 12, repeatShare: 2 / 14 });
    expect(s.botsRemoved?.known).toBe(1);
    // channels per viewer: v0..v3 in a+b (v1 also c) → v0:2, v1:3, v2:2, v3:2, v4:3, v5:3, v6..v8:1, v20..24:1
    expect(s.channelsPerViewer?.max).toBe(3);
    expect(s.channelsPerViewer?.histogram).toEqual([
      { bin: '1', count: 8 },
      { bin: '2', count: 3 },
      { bin: '3-5', count: 3 },
    ]);
    expect(s.viewersPerChannel?.max).toBe(6);
    expect(s.viewersPerChannel?.median).toBe(6);
  });

  it('describes the graph: density, isolated channels, weights, top channels', () => {
    const s = atlasStatistics(graph, undefined, { top: 2 });
    const n = graph.nodeNames.length;
    expect(n).toBe(4);
    expect(s.graph.edges).toBe(graph.length);
    expect(s.graph.density).toBeCloseTo(graph.length / 6, 12);
    expect(s.graph.isolatedChannels).toBe(1); // d
    expect(s.graph.maxShared).toBe(6); // a–b share v0..v5
    expect(s.graph.maxWeight).toBe(1); // overlap a–b: 6 shared / min(6, 6)
    expect(s.topByDegree.length).toBe(2);
    expect(s.topByDegree.map((r) => r.channel)).not.toContain('d');
    expect(s.viewers).toBeUndefined();
  });

  it('distribution ignores zeros and bins counts', () => {
    const d = distribution([0, 1, 1, 2, 4, 50, 2000]);
    expect(d.max).toBe(2000);
    expect(d.median).toBe(4);
    expect(d.histogram.map((b) => b.bin)).toEqual(['1', '2', '3-5', '11-100', '>1000']);
  });

  it('distribution matches a sorted reference on many counts, small and huge', () => {
    let x = 7;
    const rnd = () => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x / 2 ** 32;
    };
    for (const spread of [10, 5000, 1e9]) {
      const counts = Array.from({ length: 3001 }, () => (rnd() < 0.2 ? 0 : Math.floor(rnd() ** 3 * spread)));
      const values = counts.filter((v) => v > 0).sort((a, b) => a - b);
      const at = (q: number) =>
        values[Math.min(values.length - 1, Math.floor(q * (values.length - 1) + 0.5))];
      const d = distribution(counts);
      expect(d.median).toBe(at(0.5));
      expect(d.p90).toBe(at(0.9));
      expect(d.max).toBe(values.at(-1));
      expect(d.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
      expect(d.histogram.reduce((a, b) => a + b.count, 0)).toBe(values.length);
      expect(d.histogram.find((b) => b.bin === '1')?.count ?? 0).toBe(values.filter((v) => v === 1).length);
    }
  });

  it('finds the same repeat viewers with the pass on two threads, and when the helper fails', async () => {
    // viewers with rows on one day, on two days in one half of the rows, or one day in each half
    const r = createRng(4);
    const many: [string, string, number][] = [];
    for (let i = 0; i < 4000; i++) {
      const v = `v${Math.floor(r() * 700)}`;
      many.push([`c${Math.floor(r() * 12)}`, v, T0 + Math.floor(r() * 3) * DAY + Math.floor(r() * 1000)]);
    }
    const plain = tableOf(many);
    const shared: PresenceTable = {
      ...plain,
      viewerNames: plain.viewerNames,
      viewer: onShared(plain.viewer),
      ts: onShared(plain.ts),
    };
    const aud = aggregate(plain, { minViewers: 1 });
    const g = buildOverlapGraph(aud, { weight: 'overlap', minShared: 1 });
    const one = atlasStatistics(g, { table: plain, audience: aud }).viewers;
    expect(one?.repeat).toBeGreaterThan(20);
    expect(one?.oneOff).toBeGreaterThan(20);
    const worker = spawnProjectionWorker({ minRows: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      let asked = 0;
      const counting: RepeatsHelper = {
        minRows: 0,
        repeats: (input) => {
          asked++;
          return worker.repeats?.(input);
        },
      };
      expect(atlasStatistics(g, { table: shared, audience: aud }, {}, counting).viewers).toEqual(one);
      expect(asked).toBe(1);
      // a helper that did part of its share and failed: the share is done again here
      const failing: RepeatsHelper = {
        minRows: 0,
        repeats: (input) => {
          repeatPass({ ...input, to: input.from + ((input.to - input.from) >> 1) });
          input.firstDay.fill(12_345); // and leaves its days wrong
          return { wait: () => undefined };
        },
      };
      expect(atlasStatistics(g, { table: shared, audience: aud }, {}, failing).viewers).toEqual(one);
      // private columns stay on one thread
      expect(atlasStatistics(g, { table: plain, audience: aud }, {}, failing).viewers).toEqual(one);

      // the pass over every row begun on the helper before the projection, which queues behind it
      // there (replies taken in any order), as runAnalysis does
      const pending = startRepeatPass(shared, aud.viewerIdSpace, {}, worker);
      expect(pending).toBeDefined();
      const projected = buildOverlapGraph(
        aud,
        { weight: 'overlap', minShared: 1 },
        { ...worker, minWork: 0 },
      );
      expect(projected.stats?.timings.threads).toBe(2);
      expect(Array.from(projected.source)).toEqual(Array.from(g.source));
      expect(Array.from(projected.target)).toEqual(Array.from(g.target));
      expect(atlasStatistics(g, { table: shared, audience: aud, repeats: pending }).viewers).toEqual(one);
      // none for private columns; a helper that failed: the pass is done here
      expect(startRepeatPass(plain, aud.viewerIdSpace, {}, worker)).toBeUndefined();
      const lost = { marks: new Uint8Array(aud.viewerIdSpace).fill(2), wait: () => undefined };
      expect(atlasStatistics(g, { table: shared, audience: aud, repeats: lost }).viewers).toEqual(one);
    } finally {
      worker.close();
    }
  });

  it('counts only the days inside the window, on the helper as here', async () => {
    const rows: [string, string, number][] = [];
    for (let i = 0; i < 50; i++) rows.push(['a', `v${i}`, T0], ['b', `v${i}`, T0 + (i % 2 ? DAY : 3 * DAY)]);
    const plain = tableOf(rows);
    const shared: PresenceTable = { ...plain, viewer: onShared(plain.viewer), ts: onShared(plain.ts) };
    const aud = aggregate(plain, { minViewers: 1 });
    const g = buildOverlapGraph(aud, { weight: 'overlap', minShared: 1 });
    const window = { windowStart: T0, windowEnd: T0 + 2 * DAY };
    // in the window: the odd viewers come back the next day, the even ones two days later (outside)
    expect(atlasStatistics(g, { table: plain, audience: aud }, window).viewers?.repeat).toBe(25);
    expect(atlasStatistics(g, { table: plain, audience: aud }).viewers?.repeat).toBe(50);
    const worker = spawnProjectionWorker({ minRows: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      const pending = startRepeatPass(shared, aud.viewerIdSpace, window, { ...worker, minRows: 0 });
      expect(
        atlasStatistics(g, { table: shared, audience: aud, repeats: pending }, window).viewers?.repeat,
      ).toBe(25);
    } finally {
      worker.close();
    }
  });
});

function onShared<T extends Uint32Array | Float64Array>(a: T): T {
  const b = new (a.constructor as new (buf: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  b.set(a as never);
  return b;
}
