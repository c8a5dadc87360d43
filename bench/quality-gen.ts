/**
 * Heavy-tailed planted presence for `npm run bench -- quality`: community sizes from a Pareto
 * tail (most of 5–40 channels, a few of hundreds, optionally one giant), Zipf channel popularity
 * (hubs), and viewers who visit a heavy-tailed number of channels — each visit to their home
 * community with probability 1 − mixing, otherwise to any channel by popularity. This is the
 * shape that defeats one global modularity resolution (docs/analysis.md).
 */
import { createRng } from '../src/analysis/rng.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { simulatePopulation } from '../src/simulate/model.js';

export interface HeavyTailOptions {
  /** Planted communities. */
  communities: number;
  /** Smallest community (channels). */
  minSize: number;
  /** Pareto shape of the sizes (lower: heavier tail). */
  sizeShape: number;
  /** Cap on the size drawn. */
  maxSize: number;
  /** When > 0, community 0 has exactly this many channels (a giant). */
  giant: number;
  /** Share of visits that go to any channel (by popularity) instead of the home community. */
  mixing: number;
  /** Ordinary viewers. */
  viewers: number;
  /** Mean channels visited per viewer (1 + Pareto excess with shape 2, capped at 40). */
  meanVisits: number;
  /** Zipf exponent of channel popularity. */
  zipf: number;
  seed: number;
}

export interface HeavyTail {
  table: PresenceTable;
  /** Planted community per channel name. */
  truth: Map<string, number>;
  sizes: number[];
  /** Mean distinct channels per viewer, as drawn. */
  channelsPerViewer: number;
}

function cumulative(weights: ArrayLike<number>): Float64Array {
  const cum = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) {
    s += weights[i];
    cum[i] = s;
  }
  return cum;
}

function pick(cum: Float64Array, rng: () => number, lo = 0, hi = cum.length - 1): number {
  const base = lo > 0 ? cum[lo - 1] : 0;
  const x = base + rng() * (cum[hi] - base);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function heavyTail(o: HeavyTailOptions): HeavyTail {
  const rng = createRng(o.seed);
  const sizes = Array.from({ length: o.communities }, () =>
    Math.min(o.maxSize, Math.floor(o.minSize * (1 - rng()) ** (-1 / o.sizeShape))),
  );
  if (o.giant > 0) sizes[0] = o.giant;
  const n = sizes.reduce((a, b) => a + b, 0);
  // Channels are laid out community by community; popularity ranks are shuffled over all of them.
  const ranks = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [ranks[i], ranks[j]] = [ranks[j], ranks[i]];
  }
  const popularity = ranks.map((r) => 1 / (r + 1) ** o.zipf);
  const cum = cumulative(popularity);
  const start: number[] = [];
  let s = 0;
  for (const k of sizes) {
    start.push(s);
    s += k;
  }
  // A viewer's home community is drawn by the community's total popularity.
  const communityWeight = sizes.map((k, c) => {
    let w = 0;
    for (let i = start[c]; i < start[c] + k; i++) w += popularity[i];
    return w;
  });
  const homeCum = cumulative(communityWeight);
  const names = Array.from({ length: n }, (_, i) => `ch${String(i).padStart(5, '0')}`);
  const community = new Uint32Array(n);
  sizes.forEach((k, c) => {
    community.fill(c, start[c], start[c] + k);
  });
  const channel: number[] = [];
  const viewer: number[] = [];
  const seen = new Set<number>();
  for (let v = 0; v < o.viewers; v++) {
    const home = pick(homeCum, rng);
    // 1 + a Pareto(2) excess scaled to the mean: heavy-tailed, mean ≈ meanVisits.
    const excess = (o.meanVisits - 1) * (0.5 / Math.sqrt(1 - rng()));
    const visits = Math.min(40, 1 + Math.floor(excess + rng()));
    seen.clear();
    for (let i = 0; i < visits; i++) {
      const c =
        rng() < o.mixing ? pick(cum, rng) : pick(cum, rng, start[home], start[home] + sizes[home] - 1);
      if (seen.has(c)) continue;
      seen.add(c);
      channel.push(c);
      viewer.push(v);
    }
  }
  const len = channel.length;
  const table: PresenceTable = {
    channelNames: names,
    viewerNames: Array.from({ length: o.viewers }, (_, i) => `v${i}`),
    length: len,
    channel: Uint32Array.from(channel),
    viewer: Uint32Array.from(viewer),
    ts: new Float64Array(len).fill(Date.UTC(2026, 10, 1)),
    messages: new Uint32Array(len).fill(1),
  };
  return {
    table,
    truth: new Map(names.map((name, i) => [name, community[i]])),
    sizes,
    channelsPerViewer: len / o.viewers,
  };
}

/** src/simulate's population as an in-memory presence table (the 10,000-channel benchmark graph's source). */
export function simulateTable(options: Parameters<typeof simulatePopulation>[0]) {
  const pop = simulatePopulation(options);
  let cap = 1 << 20;
  let n = 0;
  let channel = new Uint32Array(cap);
  let viewer = new Uint32Array(cap);
  let ts = new Float64Array(cap);
  let messages = new Uint32Array(cap);
  const grow = <T extends Uint32Array | Float64Array>(a: T, b: T): T => {
    b.set(a);
    return b;
  };
  pop.forEachPresence((c, v, t, m) => {
    if (n === cap) {
      cap *= 2;
      channel = grow(channel, new Uint32Array(cap));
      viewer = grow(viewer, new Uint32Array(cap));
      ts = grow(ts, new Float64Array(cap));
      messages = grow(messages, new Uint32Array(cap));
    }
    channel[n] = c;
    viewer[n] = v;
    ts[n] = t;
    messages[n] = m;
    n++;
  });
  const nViewers = pop.viewers + pop.bots.length;
  const table: PresenceTable = {
    channelNames: pop.channels.map((c) => c.name),
    viewerNames: Array.from({ length: nViewers }, (_, i) => pop.viewerName(i)),
    length: n,
    channel,
    viewer,
    ts,
    messages,
  };
  return { table, truth: new Map(pop.channels.map((c) => [c.name, c.community])) };
}
