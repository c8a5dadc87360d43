import { describe, expect, it } from 'vitest';
import { LABEL_DEFAULTS, labelCommunities } from '../src/analysis/labels.js';
import type { OverlapGraph } from '../src/analysis/types.js';
import type { ChannelMetadata } from '../src/model/records.js';

function graph(names: string[], audience: number[], edges: [number, number, number][] = []): OverlapGraph {
  const w = Float64Array.from(edges, (e) => e[2]);
  return {
    nodeNames: names,
    nodeAudience: Float64Array.from(audience),
    source: Uint32Array.from(edges, (e) => e[0]),
    target: Uint32Array.from(edges, (e) => e[1]),
    shared: w.slice(),
    weight: w,
    length: edges.length,
  };
}

const meta = (channel: string, game?: string, language?: string, observed_at = 1): ChannelMetadata => ({
  channel,
  game,
  language,
  observed_at,
});

describe('labelCommunities', () => {
  it('names a community by its dominant game and language with the audience-weighted share', () => {
    const g = graph(['tenz', 'shroud', 'small', 'mixer'], [620, 200, 100, 80]);
    const rows = labelCommunities(
      g,
      [0, 0, 0, 0],
      [
        meta('tenz', 'VALORANT', 'en'),
        meta('shroud', 'Apex Legends', 'en'),
        meta('small', 'Chess', 'en'),
        meta('mixer', 'Music', 'en'),
      ],
    );
    expect(rows).toHaveLength(1);
    // VALORANT 620/1000 = 62%; Apex 20% also passes min_share 0.15 → two games named.
    expect(rows[0].label).toBe('VALORANT / Apex Legends · en');
    expect(rows[0].games[0]).toEqual({ name: 'VALORANT', share: 0.62 });
    expect(rows[0].languages).toEqual([{ name: 'en', share: 1 }]);
    expect(rows[0]).toMatchObject({ community: 0, size: 4, viewers: 1000 });
    expect(rows[0].topChannels).toEqual(['tenz', 'shroud', 'small', 'mixer']);
    const one = labelCommunities(
      g,
      [0, 0, 0, 0],
      [meta('tenz', 'VALORANT', 'en'), meta('small', 'Chess', 'en')],
    );
    expect(one[0].label).toBe('VALORANT · en (86%)');
  });

  it('names two games and two languages when both are strong, with deterministic ties', () => {
    const g = graph(['a', 'b', 'c', 'd'], [100, 100, 100, 100]);
    const rows = labelCommunities(
      g,
      [0, 0, 0, 0],
      [
        meta('a', 'Just Chatting', 'es'),
        meta('b', 'Grand Theft Auto V', 'es'),
        meta('c', 'Just Chatting', 'pt'),
        meta('d', 'Grand Theft Auto V', 'es'),
      ],
    );
    // 50/50 tie: alphabetical. es 75%, pt 25% ≥ 15%.
    expect(rows[0].label).toBe('Grand Theft Auto V / Just Chatting · es/pt');
  });

  it('uses the latest metadata per channel, matching logins case-insensitively', () => {
    const g = graph(['ESL_CSGO'], [10]);
    const rows = labelCommunities(
      g,
      [0],
      [
        meta('esl_csgo', 'Dota 2', 'en', 5),
        meta('esl_csgo', 'Counter-Strike', 'en', 9),
        meta('esl_csgo', 'Art', 'fr', 1),
      ],
    );
    expect(rows[0].label).toBe('Counter-Strike · en (100%)');
  });

  it('names a community without metadata after its two or three biggest channels, and every channel keeps its community', () => {
    const g = graph(['xqc', 'pokimane', 'lonely', 'a', 'b', 'c', 'd'], [900, 500, 3, 40, 30, 20, 10]);
    const rows = labelCommunities(g, [0, 0, 1, 2, 2, 2, 2], []);
    expect(rows.map((r) => r.label)).toEqual(['xqc & pokimane', 'lonely', 'a, b & c']);
    expect(rows.map((r) => r.size)).toEqual([2, 1, 4]);
    expect(rows[0].games).toEqual([]);
  });

  it('weights by strength when no audience is known (edge lists without a node file)', () => {
    const g = graph(
      ['a', 'b', 'c'],
      [0, 0, 0],
      [
        [0, 1, 10],
        [0, 2, 10],
      ],
    );
    const rows = labelCommunities(
      g,
      [0, 0, 0],
      [meta('a', 'Chess', 'en'), meta('b', 'Art', 'en'), meta('c', 'Art', 'en')],
    );
    // strengths a 20, b 10, c 10 → Art 50%, Chess 50%: tie → alphabetical.
    expect(rows[0].games).toEqual([
      { name: 'Art', share: 0.5 },
      { name: 'Chess', share: 0.5 },
    ]);
    expect(rows[0].topChannels[0]).toBe('a');
  });

  it('makes duplicate labels unique with the top channel', () => {
    const g = graph(['a1', 'a2', 'b1', 'b2'], [50, 10, 40, 10]);
    const md = ['a1', 'a2', 'b1', 'b2'].map((c) => meta(c, 'Minecraft', 'de'));
    const rows = labelCommunities(g, [0, 0, 1, 1], md);
    expect(rows.map((r) => r.label)).toEqual([
      'Minecraft · de (100%) · around a1',
      'Minecraft · de (100%) · around b1',
    ]);
    expect(new Set(rows.map((r) => r.label)).size).toBe(2);
  });

  it('names nothing below min_share, and lists at most top_channels', () => {
    const names = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const g = graph(
      names,
      names.map(() => 1),
    );
    const md = names.map((c, i) => meta(c, `Game ${i}`, 'en'));
    const rows = labelCommunities(g, Array(12).fill(0), md, { topChannels: 3 });
    expect(rows[0].label).toBe('en');
    expect(rows[0].topChannels).toEqual(['c0', 'c1', 'c10']);
    expect(rows[0].games).toHaveLength(LABEL_DEFAULTS.maxShares);
  });
});
