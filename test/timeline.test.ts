import { describe, expect, it } from 'vitest';
import { nmi } from '../src/analysis/quality.js';
import { parseConfig } from '../src/config/load.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { parseDuration, runTimeline, timelineWindows, windowSlicer } from '../src/pipeline/timeline.js';
import { simulateDrift } from '../src/simulate/drift.js';

function tableOf(channels: string[], rows: [number, number, number][]): PresenceTable {
  return {
    channelNames: channels,
    viewerNames: Array.from({ length: 1 + Math.max(...rows.map((r) => r[1])) }, (_, i) => `dv${i}`),
    length: rows.length,
    channel: Uint32Array.from(rows.map((r) => r[0])),
    viewer: Uint32Array.from(rows.map((r) => r[1])),
    ts: Float64Array.from(rows.map((r) => r[2])),
    messages: new Uint32Array(rows.length).fill(1),
  };
}

describe('timeline windows', () => {
  it('parses durations and lays consecutive or sliding windows from the first UTC midnight', () => {
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('-1d')).toBeNull();
    expect(parseDuration('week')).toBeNull();
    const t0 = Date.UTC(2026, 0, 1);
    expect(timelineWindows(t0 + 5000, t0 + 2.5 * 86_400_000, 86_400_000).map((w) => w.start - t0)).toEqual([
      0, 86_400_000, 172_800_000,
    ]);
    const sliding = timelineWindows(t0, t0 + 3 * 86_400_000 - 1, 86_400_000, 2 * 86_400_000);
    expect(sliding.map((w) => [(w.start - t0) / 86_400_000, (w.end - t0) / 86_400_000])).toEqual([
      [0, 2],
      [1, 3],
    ]);
  });
});

describe('window slices', () => {
  it('hold exactly the rows with ts in [start, end), consecutive or sliding, at step edges too', () => {
    const DAY = 86_400_000;
    const origin = Date.UTC(2026, 10, 1);
    let x = 5;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x % n;
    };
    const n = 5000;
    const ts = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      // a quarter of the rows exactly on a midnight or a millisecond before one
      const day = rnd(10);
      ts[r] = rnd(4) === 0 ? origin + day * DAY - rnd(2) : origin + day * DAY + rnd(DAY);
    }
    ts[0] = origin; // the first instant is the origin's midnight
    const table: PresenceTable = {
      channelNames: ['a', 'b', 'c'],
      viewerNames: [],
      length: n,
      channel: Uint32Array.from({ length: n }, (_, r) => r % 3),
      viewer: Uint32Array.from({ length: n }, (_, r) => r),
      ts,
      messages: Uint32Array.from({ length: n }, (_, r) => 1 + (r % 4)),
    };
    let last = Number.NEGATIVE_INFINITY;
    for (const t of ts) last = Math.max(last, t);
    for (const [every, window] of [
      [DAY, DAY],
      [DAY, 3 * DAY],
      [2 * DAY, 4 * DAY],
      [DAY, 1.5 * DAY], // not whole steps: the scanning path
    ] as const) {
      const windows = timelineWindows(origin, last, every, window);
      const slice = windowSlicer(table, windows, every, window);
      for (const w of windows) {
        const got = slice(w);
        const want = [...ts.keys()].filter((r) => ts[r]! >= w.start && ts[r]! < w.end);
        expect([...got.viewer].sort((a, b) => a - b)).toEqual(want);
        for (let i = 0; i < got.length; i++) {
          const r = got.viewer[i]!;
          expect([got.ts[i], got.channel[i], got.messages[i]]).toEqual([ts[r], r % 3, 1 + (r % 4)]);
        }
      }
    }
  });
});

describe('window tables', () => {
  it('look viewers up as the whole table does and never build its viewer names', () => {
    const DAY = 86_400_000;
    const origin = Date.UTC(2026, 10, 1);
    const n = 300;
    const table: PresenceTable = {
      channelNames: ['a', 'b'],
      get viewerNames(): string[] {
        throw new Error('viewerNames built');
      },
      viewerCount: 100,
      findViewer: (login) => (login === 'nightbot' ? 7 : -1),
      length: n,
      channel: Uint32Array.from({ length: n }, (_, r) => r % 2),
      viewer: Uint32Array.from({ length: n }, (_, r) => r % 100),
      ts: Float64Array.from({ length: n }, (_, r) => origin + (r % 3) * DAY),
      messages: new Uint32Array(n).fill(1),
    };
    const windows = timelineWindows(origin, origin + 2 * DAY, DAY, DAY);
    for (const w of windows) {
      const got = windowSlicer(table, windows, DAY, DAY)(w);
      expect(got.viewerCount).toBe(100);
      expect(got.findViewer?.('nightbot')).toBe(7);
      expect(() => got.viewerNames).toThrow('viewerNames built');
    }
  });
});

describe('runTimeline on a drifting population with a planted truth', () => {
  const pop = simulateDrift();
  const config = parseConfig({});
  const result = runTimeline(config, tableOf(pop.channels, pop.rows), [], { everyMs: 86_400_000 });
  const idOf = (w: number, ch: string) =>
    result.channels.find((r) => r.window === w && r.channel === ch)?.community;
  const o = pop.options;

  it('finds the planted partition in every window', () => {
    expect(result.windows.length).toBe(o.days);
    for (let d = 0; d < o.days; d++) {
      const rows = result.channels.filter((r) => r.window === d);
      const truth = pop.truth[d] as Int32Array;
      const planted = rows.map((r) => truth[pop.channels.indexOf(r.channel)] as number);
      expect(planted.every((g) => g >= 0)).toBe(true);
      expect(
        nmi(
          planted,
          rows.map((r) => r.community),
        ),
        `day ${d}`,
      ).toBeGreaterThan(0.9);
    }
  });

  it('keeps ≥ 95% of tracked ids where nothing changed', () => {
    const day0 = result.channels.filter((r) => r.window === 0);
    const kept = day0.filter((r) => idOf(1, r.channel) === r.community).length;
    expect(kept / day0.length).toBeGreaterThanOrEqual(0.95);
  });

  it('movers take the id of the community they joined', () => {
    const d = o.moveDay;
    const movers = result.moves.filter((m) => m.window === d).map((m) => m.channel);
    expect(movers).toEqual(['drift_c1', 'drift_c5', 'drift_c9']);
    const community2 = idOf(d - 1, 'drift_c2');
    for (const ch of movers) expect(idOf(d, ch)).toBe(community2);
    expect(idOf(d, 'drift_c2')).toBe(community2);
  });

  it('a split keeps one id and creates one; an appearing community gets an id never used before', () => {
    const before = idOf(o.splitDay - 1, 'drift_c0') as number;
    const halves = new Set(
      pop.channels
        .map((ch, i) => (pop.truth[o.splitDay - 1]?.[i] === 0 ? idOf(o.splitDay, ch) : undefined))
        .filter((x) => x !== undefined),
    );
    expect(halves.size).toBe(2);
    expect(halves.has(before)).toBe(true);
    const split = result.communities.find((c) => c.window === o.splitDay && c.event === 'split');
    expect(split?.related).toBe(before);
    expect(halves.has(split?.community as number)).toBe(true);

    const idsBefore = new Set(result.channels.filter((r) => r.window < o.appearDay).map((r) => r.community));
    const appeared = idOf(o.appearDay, 'drift_new0') as number;
    expect(idsBefore.has(appeared)).toBe(false);
    expect(result.communities.find((c) => c.window === o.appearDay && c.community === appeared)?.event).toBe(
      'born',
    );
  });

  it('is deterministic', () => {
    const again = runTimeline(config, tableOf(pop.channels, pop.rows), [], { everyMs: 86_400_000 });
    expect(again.channels).toEqual(result.channels);
    expect(again.communities).toEqual(result.communities);
  });
});
