import { describe, expect, it } from 'vitest';
import { AGGREGATE_DEFAULTS, aggregate } from '../src/analysis/aggregate.js';
import { KNOWN_BOTS } from '../src/analysis/known-bots.js';
import type { Audience } from '../src/analysis/types.js';
import { tableOf } from './fixtures/analysis/tables.js';

/** channel name → sorted viewer names. */
function audienceOf(a: Audience, viewerNames: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  a.channelNames.forEach((c, i) => {
    out[c] = Array.from(a.viewers.subarray(a.offsets[i], a.offsets[i + 1]), (v) => viewerNames[v]);
  });
  return out;
}

const H = 3_600_000;

describe('aggregate', () => {
  it('keeps unique viewers per channel, sorted by id, and counts what it did', () => {
    const t = tableOf([
      ['a', 'x', 0],
      ['a', 'x', H], // same pair, second bucket
      ['a', 'y', 0],
      ['b', 'y', 0],
      ['b', 'x', 2 * H],
      ['a', 'z', 0],
    ]);
    const a = aggregate(t, { minViewers: 1 });
    expect(audienceOf(a, t.viewerNames)).toEqual({ a: ['x', 'y', 'z'], b: ['x', 'y'] });
    expect(a.counts).toMatchObject({
      rows: 6,
      rowsInWindow: 6,
      rowsUsed: 6,
      pairs: 5,
      channelsKept: 2,
      viewers: 3,
    });
    expect(a.viewerCount).toBe(3);
    expect(Array.from(a.offsets)).toEqual([0, 3, 5]);
  });

  it('applies the time window (start inclusive, end exclusive; ISO or epoch ms)', () => {
    const t = tableOf([
      ['a', 'x', Date.parse('2026-11-01T00:00:00Z')],
      ['a', 'y', Date.parse('2026-11-02T00:00:00Z')],
      ['a', 'z', Date.parse('2026-11-03T00:00:00Z')],
    ]);
    const a = aggregate(t, {
      minViewers: 1,
      windowStart: '2026-11-02T00:00:00Z',
      windowEnd: Date.parse('2026-11-03T00:00:00Z'),
    });
    expect(audienceOf(a, t.viewerNames)).toEqual({ a: ['y'] });
    expect(a.counts.rowsInWindow).toBe(1);
    expect(() => aggregate(t, { windowStart: 'yesterday' })).toThrow(/windowStart.*yesterday/);
  });

  it('requires min_messages (summed) and min_buckets (distinct ts) per viewer and channel', () => {
    const t = tableOf([
      ['a', 'x', 0, 1],
      ['a', 'x', 0, 1], // duplicate bucket: messages add, buckets do not
      ['a', 'y', 0, 1],
      ['a', 'y', H, 1],
      ['a', 'z', 0, 5],
      ['a', 'w', 0, 0], // lurker (membership only)
    ]);
    expect(audienceOf(aggregate(t, { minViewers: 1, minMessages: 2 }), t.viewerNames)).toEqual({
      a: ['x', 'y', 'z'],
    });
    expect(audienceOf(aggregate(t, { minViewers: 1, minMessages: 0, minBuckets: 2 }), t.viewerNames)).toEqual(
      {
        a: ['y'],
      },
    );
    expect(audienceOf(aggregate(t, { minViewers: 1, minMessages: 0 }), t.viewerNames).a).toContain('w');
    expect(audienceOf(aggregate(t, { minViewers: 1, minMessages: 1 }), t.viewerNames).a).not.toContain('w');
  });

  it('counts distinct buckets correctly in long runs (> 16 rows for one pair, > 48 for one viewer)', () => {
    const rows: [string, string, number][] = [];
    // x: 120 rows over 3 channels, interleaved, 10 distinct buckets in 'a', 4 in 'b', 2 in 'c'.
    for (let i = 0; i < 40; i++) {
      rows.push(['c', 'x', (i % 2) * H]);
      rows.push(['a', 'x', (i % 10) * H]);
      rows.push(['b', 'x', (i % 4) * H]);
    }
    rows.push(['a', 'y', 0]);
    rows.push(['c', 'x', 0]);
    const t = tableOf(rows);
    expect(audienceOf(aggregate(t, { minViewers: 1, minBuckets: 10 }), t.viewerNames)).toEqual({ a: ['x'] });
    expect(audienceOf(aggregate(t, { minViewers: 1, minBuckets: 3 }), t.viewerNames)).toEqual({
      a: ['x'],
      b: ['x'],
    });
    expect(aggregate(t, { minViewers: 1, minBuckets: 11 }).channelNames).toEqual([]);
    const all = aggregate(t, { minViewers: 1 });
    expect(audienceOf(all, t.viewerNames)).toEqual({ a: ['x', 'y'], b: ['x'], c: ['x'] });
    expect(all.counts.rowsUsed).toBe(122);
  });

  it('gives the same audience whatever the row order', () => {
    const rows: [string, string, number][] = [];
    for (let v = 0; v < 30; v++)
      for (let c = 0; c < 5; c++) if ((v + c) % 3 !== 0) rows.push([`c${c}`, `v${v}`, v * H]);
    const sortedByViewer = aggregate(tableOf(rows), { minViewers: 1 });
    const shuffled = [...rows].reverse();
    const t2 = tableOf(shuffled);
    const other = aggregate(t2, { minViewers: 1 });
    const names = (a: typeof other, t: { viewerNames: string[] }) =>
      Object.fromEntries(Object.entries(audienceOf(a, t.viewerNames)).map(([c, v]) => [c, [...v].sort()]));
    expect(names(other, t2)).toEqual(names(sortedByViewer, tableOf(rows)));
  });

  it('drops channels below min_viewers', () => {
    const t = tableOf([
      ['big', 'x', 0],
      ['big', 'y', 0],
      ['big', 'z', 0],
      ['small', 'x', 0],
    ]);
    const a = aggregate(t, { minViewers: 2 });
    expect(a.channelNames).toEqual(['big']);
    expect(a.counts.channelsBelowMinViewers).toBe(1);
    expect(Array.from(a.channelIds)).toEqual([0]);
  });

  it('removes the bundled known bots and extra bots (case-insensitive), and counts them', () => {
    expect(KNOWN_BOTS).toEqual(expect.arrayContaining(['nightbot', 'streamelements', 'moobot', 'fossabot']));
    expect(new Set(KNOWN_BOTS).size).toBe(KNOWN_BOTS.length);
    const t = tableOf([
      ['a', 'nightbot', 0],
      ['a', 'streamelements', 0],
      ['a', 'mybot', 0],
      ['a', 'x', 0],
      ['b', 'nightbot', 0],
      ['b', 'x', 0],
    ]);
    const a = aggregate(t, { minViewers: 1, extraBots: ['MyBot'] });
    expect(audienceOf(a, t.viewerNames)).toEqual({ a: ['x'], b: ['x'] });
    expect(a.counts.botsRemoved).toEqual({ known: 3, behavioural: 0, total: 3 });
    const off = aggregate(t, { minViewers: 1, knownBots: false });
    expect(audienceOf(off, t.viewerNames).a).toContain('nightbot');
  });

  it('removes bots from a table as the readers give it (bot names looked up, viewer names never built)', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readPresenceFiles } = await import('../src/ingest/index.js');
    const dir = await mkdtemp(join(tmpdir(), 'va-agg-bots-'));
    try {
      const p = join(dir, 'p.csv');
      await writeFile(
        p,
        'channel,viewer,ts\na,NightBot,1764547200000\na,MyBot,1764547200000\na,x,1764547200000\nb,nightbot,1764547200000\nb,x,1764547200000\nb,y,1764547200000\n',
      );
      const r = await readPresenceFiles([p]);
      expect(r.table.findViewer?.('nightbot')).toBeGreaterThanOrEqual(0);
      expect(r.table.findViewer?.('nobody')).toBe(-1);
      const a = aggregate(r.table, { minViewers: 1, extraBots: ['MYBOT'] });
      expect(a.counts.botsRemoved).toEqual({ known: 2, behavioural: 0, total: 2 });
      expect(audienceOf(a, r.table.viewerNames)).toEqual({ a: ['x'], b: ['x', 'y'] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('matches bots against pseudonymised viewer ids through botNameMapper', () => {
    const hash = (login: string) => `h:${login.split('').reverse().join('')}`;
    const t = tableOf([
      ['a', hash('nightbot'), 0],
      ['a', hash('mybot'), 0],
      ['a', hash('x'), 0],
    ]);
    const a = aggregate(t, { minViewers: 1, extraBots: ['MyBot'], botNameMapper: hash });
    expect(audienceOf(a, t.viewerNames)).toEqual({ a: [hash('x')] });
    expect(a.counts.botsRemoved.known).toBe(2);
    expect(aggregate(t, { minViewers: 1 }).counts.botsRemoved.known).toBe(0);
  });

  it('removes behavioural bots: in more than max_channel_share of channels and at least bot_min_channels', () => {
    const rows: [string, string, number][] = [];
    for (let c = 0; c < 30; c++) {
      rows.push([`ch${c}`, `fan${c}`, 0]);
      rows.push([`ch${c}`, 'lurkerbot', 0]); // in all 30 channels
      if (c < 5) rows.push([`ch${c}`, 'busyhuman', 0]); // 5 of 30 = 17%
    }
    const t = tableOf(rows);
    const a = aggregate(t, { minViewers: 1, maxChannelShare: 0.2, botMinChannels: 4 });
    expect(a.counts.botsRemoved).toEqual({ known: 0, behavioural: 1, total: 1 });
    expect(audienceOf(a, t.viewerNames).ch0).toEqual(['fan0', 'busyhuman']);
    // The absolute floor protects small collections: 30 channels < bot_min_channels 40.
    const floor = aggregate(t, { minViewers: 1, maxChannelShare: 0.2, botMinChannels: 40 });
    expect(floor.counts.botsRemoved.behavioural).toBe(0);
  });

  it('exports its defaults, mirroring the config keys', () => {
    expect(AGGREGATE_DEFAULTS).toMatchObject({
      minMessages: 1,
      minBuckets: 1,
      minViewers: 5,
      maxChannelShare: 0.2,
    });
  });
});
