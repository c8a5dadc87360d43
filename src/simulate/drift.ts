/**
 * A drifting population with a known truth per day, for `timeline` tests and demos: planted
 * communities whose viewers chat mostly inside them, plus three kinds of change — channels
 * that move to another community on a given day, a community that splits in two on a given
 * day (its viewers with it), and a new community that appears on a given day. Seeded.
 */
import { createRng } from '../analysis/rng.js';

export interface DriftOptions {
  channels?: number;
  viewers?: number;
  communities?: number;
  days?: number;
  /** Share of visits to a random channel instead of one of the viewer's community. */
  mixing?: number;
  /** Channels visited per viewer and day. */
  visits?: number;
  /** Channels of community 1 that move to community 2 on `moveDay` (0 = none). */
  movers?: number;
  moveDay?: number;
  /** Community 0 splits into two halves on this day (−1 = never). */
  splitDay?: number;
  /** A new community of `newChannels` channels (and viewers in proportion) appears on this day (−1 = never). */
  appearDay?: number;
  newChannels?: number;
  seed?: number;
  /** Epoch ms of day 0 (UTC midnight). */
  start?: number;
}

export const DRIFT_DEFAULTS: Required<DriftOptions> = {
  channels: 60,
  viewers: 3000,
  communities: 4,
  days: 6,
  mixing: 0.1,
  visits: 3,
  movers: 3,
  moveDay: 3,
  splitDay: 4,
  appearDay: 2,
  newChannels: 12,
  seed: 7,
  start: Date.UTC(2026, 10, 2),
};

export interface DriftPopulation {
  /** Channel logins; the appearing community's channels come last. */
  channels: string[];
  /** Rows `[channel index, viewer index, ts]`, one per visit. */
  rows: [number, number, number][];
  /** Per day: the planted community of each channel (−1: not live that day). */
  truth: Int32Array[];
  options: Required<DriftOptions>;
}

const DAY_MS = 86_400_000;

export function simulateDrift(options: DriftOptions = {}): DriftPopulation {
  const o = { ...DRIFT_DEFAULTS, ...options };
  const rng = createRng(o.seed);
  const base = o.channels;
  const n = base + (o.appearDay >= 0 ? o.newChannels : 0);
  const channels = Array.from({ length: n }, (_, i) => (i < base ? `drift_c${i}` : `drift_new${i - base}`));
  const k = o.communities;
  const splitId = k; // the half that splits off
  const newId = k + 1; // the community that appears
  const home = new Int32Array(n);
  for (let c = 0; c < n; c++) home[c] = c < base ? c % k : newId;
  const movers = new Set<number>();
  for (let c = 1; c < base && movers.size < o.movers; c += k) movers.add(c); // community 1's first channels
  const inCommunity0 = [...home.keys()].filter((c) => c < base && home[c] === 0);
  const splitHalf = new Set(inCommunity0.slice(Math.ceil(inCommunity0.length / 2)));

  const truth: Int32Array[] = [];
  for (let d = 0; d < o.days; d++) {
    const t = new Int32Array(n);
    for (let c = 0; c < n; c++) {
      let g = home[c] as number;
      if (g === newId && (o.appearDay < 0 || d < o.appearDay)) g = -1;
      if (movers.has(c) && d >= o.moveDay) g = 2;
      if (splitHalf.has(c) && o.splitDay >= 0 && d >= o.splitDay) g = splitId;
      t[c] = g;
    }
    truth.push(t);
  }

  // Viewers: a home community each; those of community 0 split with it (by viewer parity).
  const newViewers = o.appearDay >= 0 ? Math.round((o.viewers * o.newChannels) / base) : 0;
  const totalViewers = o.viewers + newViewers;
  const rows: [number, number, number][] = [];
  for (let d = 0; d < o.days; d++) {
    const t = truth[d] as Int32Array;
    const members = new Map<number, number[]>();
    const live: number[] = [];
    for (let c = 0; c < n; c++) {
      const g = t[c] as number;
      if (g < 0) continue;
      live.push(c);
      const list = members.get(g) ?? [];
      list.push(c);
      members.set(g, list);
    }
    for (let v = 0; v < totalViewers; v++) {
      let g = v < o.viewers ? v % k : newId;
      if (g === newId && (o.appearDay < 0 || d < o.appearDay)) continue;
      if (g === 0 && o.splitDay >= 0 && d >= o.splitDay && Math.floor(v / k) % 2 === 1) g = splitId;
      const own = members.get(g) ?? live;
      const seen = new Set<number>();
      for (let i = 0; i < o.visits; i++) {
        const pool = rng() < o.mixing ? live : own;
        const c = pool[Math.floor(rng() * pool.length)] as number;
        if (seen.has(c)) continue;
        seen.add(c);
        rows.push([c, v, o.start + d * DAY_MS + Math.floor(rng() * DAY_MS)]);
      }
    }
  }
  return { channels, rows, truth, options: o };
}
