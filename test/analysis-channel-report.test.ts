import { describe, expect, it } from 'vitest';
import { channelReport, overlapMovers } from '../src/analysis/channel-report.js';
import type { OverlapGraph } from '../src/analysis/types.js';

function graph(audience: Record<string, number>, edges: [string, string, number][]): OverlapGraph {
  const nodeNames = Object.keys(audience);
  const id = (n: string) => nodeNames.indexOf(n);
  return {
    nodeNames,
    nodeAudience: Float64Array.from(nodeNames.map((n) => audience[n] as number)),
    source: Uint32Array.from(edges.map((e) => id(e[0]))),
    target: Uint32Array.from(edges.map((e) => id(e[1]))),
    shared: Float64Array.from(edges.map((e) => e[2])),
    weight: Float64Array.from(edges.map((e) => e[2] / 10)),
    length: edges.length,
  };
}

describe('channelReport', () => {
  const g = graph({ xqc: 1000, poki: 400, lirik: 200 }, [
    ['xqc', 'poki', 100],
    ['lirik', 'xqc', 150],
  ]);
  it('gives the share of the channel’s chatters also seen in each other channel', () => {
    const r = channelReport(g, 'XQC');
    expect(r?.viewers).toBe(1000);
    expect(r?.overlaps).toEqual([
      { other: 'lirik', shared: 150, share: 0.15, shareOfOther: 0.75, weight: 15 },
      { other: 'poki', shared: 100, share: 0.1, shareOfOther: 0.25, weight: 10 },
    ]);
    expect(channelReport(g, 'nobody')).toBeNull();
  });
  it('names the biggest movers between the first and the last window', () => {
    const later = graph({ xqc: 1000, poki: 400, lirik: 200 }, [['xqc', 'poki', 300]]);
    const movers = overlapMovers([channelReport(g, 'xqc'), null, channelReport(later, 'xqc')]);
    expect(movers.map((m) => m.other)).toEqual(['poki', 'lirik']);
    expect(movers[0]).toMatchObject({ first: 0.1, last: 0.3 });
    expect(movers[0]?.change).toBeCloseTo(0.2, 12);
    expect(movers[1]).toEqual({ other: 'lirik', first: 0.15, last: 0, change: -0.15 });
  });
});

describe('channelReports', () => {
  it('gives the same reports as one channelReport per channel, in one pass', async () => {
    const { channelReports } = await import('../src/analysis/channel-report.js');
    const g = graph({ a: 10, b: 20, c: 30, d: 5 }, [
      ['a', 'b', 4],
      ['b', 'c', 9],
      ['a', 'c', 2],
      ['c', 'd', 5],
    ]);
    const many = channelReports(g, ['a', 'c', 'zz'], 2);
    expect([...many.keys()].sort()).toEqual(['a', 'c']);
    expect(many.get('a')).toEqual(channelReport(g, 'a', 2));
    expect(many.get('c')).toEqual(channelReport(g, 'c', 2));
  });
});
