/**
 * A seeded synthetic population of channels and viewers with planted communities.
 *
 * Channels belong to K communities (each with a dominant game and language) and have Zipf
 * popularity, so audiences are heavy-tailed. Every viewer has a home community and visits a
 * heavy-tailed number of distinct channels: with probability 1 − `mixing` a channel of the home
 * community, with probability `mixing` any channel, both proportional to popularity. The big
 * channels therefore share many viewers with every community — the hub effect a good overlap
 * weighting must undo. A few bots sit in very many channels, and known bot logins (nightbot, …)
 * in a share of them.
 *
 * Pure and seeded: each viewer draws from its own PRNG stream keyed by (seed, viewer index), so
 * any viewer's visits can be asked for in any order (the Twitch simulator does that to decide who
 * chats where) and give the same answer as a full `forEachPresence` pass.
 */

/** How the population is drawn; every field optional (see `DEFAULTS`). */
export interface SimulateOptions {
  /** Number of channels. */
  channels?: number;
  /** Number of ordinary viewers (bots come on top). */
  viewers?: number;
  /** Number of planted communities. */
  communities?: number;
  /** Share of visits that go to any channel instead of one of the home community (0..1). */
  mixing?: number;
  seed?: number;
  /** Zipf exponent of channel popularity (rank^-s): higher = fewer, bigger hubs. */
  popularityExponent?: number;
  /** Pareto scale of the channels a viewer visits (the smallest typical count). */
  visitsScale?: number;
  /** Pareto shape of the channels a viewer visits (lower = heavier tail). */
  visitsShape?: number;
  /** Cap on the channels one ordinary viewer visits. */
  maxVisits?: number;
  /** Mean number of consecutive time buckets per visit (geometric, at least 1). */
  meanBuckets?: number;
  /** Share of visits by lurkers: present (membership) but 0 messages. */
  lurkerShare?: number;
  /** Known bot logins placed in channels (from `KNOWN_BOT_NAMES`). */
  knownBots?: number;
  /** Share of channels each known bot sits in. */
  knownBotShare?: number;
  /** Unlisted bots that sit in very many channels (caught only by behaviour). */
  behaviouralBots?: number;
  /** Share of channels each unlisted bot sits in. */
  behaviouralBotShare?: number;
  /** Share of a community's channels that play its dominant game (the rest: any game). */
  gameFidelity?: number;
  /** Share of a community's channels that speak its dominant language. */
  languageFidelity?: number;
  /** Start of the observation window, epoch milliseconds UTC. */
  start?: number;
  /** Length of the observation window in days. */
  days?: number;
  /** Presence bucket length in minutes. */
  bucketMinutes?: number;
}

export const DEFAULTS: Required<SimulateOptions> = {
  channels: 1000,
  viewers: 100_000,
  communities: 12,
  mixing: 0.5,
  seed: 42,
  popularityExponent: 0.9,
  visitsScale: 2,
  visitsShape: 2.2,
  maxVisits: 60,
  meanBuckets: 2.4,
  lurkerShare: 0.05,
  knownBots: 6,
  knownBotShare: 0.15,
  behaviouralBots: 8,
  behaviouralBotShare: 0.4,
  gameFidelity: 0.75,
  languageFidelity: 0.85,
  start: Date.UTC(2026, 10, 1),
  days: 7,
  bucketMinutes: 5,
};

/** Logins of well-known chat bots (the analysis' bundled list removes them). */
export const KNOWN_BOT_NAMES = [
  'nightbot',
  'streamelements',
  'moobot',
  'fossabot',
  'streamlabs',
  'wizebot',
  'soundalerts',
  'sery_bot',
] as const;

const GAMES = [
  'Just Chatting',
  'League of Legends',
  'Grand Theft Auto V',
  'Counter-Strike',
  'Minecraft',
  'VALORANT',
  'Fortnite',
  'World of Warcraft',
  'Dota 2',
  'Apex Legends',
  'Call of Duty: Warzone',
  'Hearthstone',
  'Teamfight Tactics',
  'Rust',
  'Dead by Daylight',
  'EA Sports FC',
  'Slots',
  'Chess',
  'Music',
  'Art',
];
const LANGUAGES = ['en', 'es', 'de', 'fr', 'pt', 'ru', 'ko', 'ja', 'it', 'pl', 'tr', 'zh'];
const SYLLABLES = [
  'ka',
  'zo',
  'ri',
  'mu',
  'te',
  'lan',
  'vo',
  'xi',
  'sha',
  'no',
  'pe',
  'dra',
  'qu',
  'bel',
  'fi',
  'gor',
];

/** One simulated channel. */
export interface SimChannel {
  /** Login, lower case, unique. */
  name: string;
  /** Planted community, 0..communities-1. */
  community: number;
  /** Share of all visits this channel attracts (sums to 1 over channels). */
  popularity: number;
  language: string;
  game: string;
  /** A Helix-like concurrent viewer count, proportional to popularity. */
  viewerCount: number;
}

/** Which rows `forEachPresence` yields: viewers [from, to) and, unless `bots` is false, the bots. */
export interface PresenceRange {
  from?: number;
  to?: number;
  bots?: boolean;
}

/** One presence row: viewer `viewer` seen in `channel` in the bucket starting at `ts`. */
export type PresenceCallback = (channel: number, viewer: number, ts: number, messages: number) => void;

export interface Population {
  options: Required<SimulateOptions>;
  channels: SimChannel[];
  /** Ordinary viewers; ids 0..viewers-1. Bots have ids viewers..viewers+bots.length-1. */
  viewers: number;
  /** Bot logins (known ones first), ids starting at `viewers`. */
  bots: string[];
  /** Planted community per channel index. */
  truth: Int32Array;
  /** Dominant game and language per community. */
  communityGame: string[];
  communityLanguage: string[];
  /** Home community per ordinary viewer. */
  viewerHome(viewer: number): number;
  /** Login of a viewer or bot id. */
  viewerName(id: number): string;
  /** The distinct channels an ordinary viewer visits, in visiting order. */
  visitsOf(viewer: number): number[];
  /**
   * Every presence row: viewers in id order, then bots. Deterministic; a range gives exactly the
   * rows of those viewers (so halves can be generated apart and concatenated).
   */
  forEachPresence(cb: PresenceCallback, range?: PresenceRange): void;
}

/** mulberry32: tiny, fast, good enough for simulation; reseedable to avoid allocation per viewer. */
class Rng {
  private s = 0;
  constructor(seed: number) {
    this.s = seed | 0;
  }
  reseed(seed: number): void {
    this.s = seed | 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** A 32-bit avalanche mix, to derive independent stream seeds from (seed, index). */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function streamSeed(seed: number, stream: number, index: number): number {
  return mix32(mix32(seed ^ Math.imul(stream, 0x9e3779b9)) + index);
}

/** Index of the first cumulative value > u (cum is increasing, last = total). */
function pick(cum: Float64Array, u: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function checkOptions(o: Required<SimulateOptions>): void {
  const ints: (keyof SimulateOptions)[] = ['channels', 'viewers', 'communities', 'seed', 'maxVisits'];
  for (const k of ints) {
    const v = o[k] as number;
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`simulate: ${k} must be a non-negative integer, got ${v}`);
  }
  if (o.channels < 1) throw new RangeError(`simulate: channels must be at least 1, got ${o.channels}`);
  if (o.communities < 1 || o.communities > o.channels) {
    throw new RangeError(
      `simulate: communities must be between 1 and channels (${o.channels}), got ${o.communities}`,
    );
  }
  if (!(o.mixing >= 0 && o.mixing <= 1))
    throw new RangeError(`simulate: mixing must be within 0..1, got ${o.mixing}`);
  if (!(o.meanBuckets >= 1)) throw new RangeError(`simulate: meanBuckets must be ≥ 1, got ${o.meanBuckets}`);
  if (!(o.days > 0 && o.bucketMinutes > 0))
    throw new RangeError('simulate: days and bucketMinutes must be positive');
}

/** Draws the population. Cheap: visits are generated lazily, per viewer. */
export function simulatePopulation(options: SimulateOptions = {}): Population {
  const o: Required<SimulateOptions> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  checkOptions(o);
  const C = o.channels;
  const K = o.communities;
  const rng = new Rng(streamSeed(o.seed, 1, 0));

  // Communities: a dominant game and language each, spread so labels tell communities apart.
  const communityGame: string[] = [];
  const communityLanguage: string[] = [];
  const gameOrder = shuffled(GAMES.length, rng);
  const langOrder = shuffled(LANGUAGES.length, rng);
  for (let k = 0; k < K; k++) {
    communityGame.push(GAMES[gameOrder[k % GAMES.length]!]!);
    communityLanguage.push(
      LANGUAGES[langOrder[(k * 7 + Math.floor(k / LANGUAGES.length)) % LANGUAGES.length]!]!,
    );
  }

  // Channels: community uniform at random (the first K seeded one each, so none is empty),
  // popularity Zipf over a random rank order.
  const truth = new Int32Array(C);
  for (let i = 0; i < C; i++) truth[i] = i < K ? i : rng.int(K);
  const rank = shuffled(C, rng);
  const pop = new Float64Array(C);
  let popTotal = 0;
  for (let i = 0; i < C; i++) {
    pop[i] = (rank[i]! + 1) ** -o.popularityExponent;
    popTotal += pop[i]!;
  }
  const channels: SimChannel[] = [];
  const usedNames = new Set<string>();
  for (let i = 0; i < C; i++) {
    const k = truth[i]!;
    const game = rng.next() < o.gameFidelity ? communityGame[k]! : GAMES[rng.int(GAMES.length)]!;
    const language =
      rng.next() < o.languageFidelity ? communityLanguage[k]! : LANGUAGES[rng.int(LANGUAGES.length)]!;
    const popularity = pop[i]! / popTotal;
    let name = channelName(i, rng);
    while (usedNames.has(name)) name += 'x';
    usedNames.add(name);
    channels.push({
      name,
      community: k,
      popularity,
      language,
      game,
      viewerCount: Math.max(1, Math.round(popularity * o.viewers * 0.2)),
    });
  }

  // Samplers: cumulative popularity over all channels and within each community.
  const globalCum = new Float64Array(C);
  let acc = 0;
  for (let i = 0; i < C; i++) globalCum[i] = acc += pop[i]!;
  const members: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < C; i++) members[truth[i]!]!.push(i);
  const communityCum = members.map((m) => {
    const cum = new Float64Array(m.length);
    let a = 0;
    for (let j = 0; j < m.length; j++) cum[j] = a += pop[m[j]!]!;
    return cum;
  });
  const communityMembers = members.map((m) => Uint32Array.from(m));
  // Viewers' home community proportional to the community's total popularity, so big
  // communities have big home audiences.
  const homeCum = new Float64Array(K);
  for (let k = 0; k < K; k++)
    homeCum[k] = (k > 0 ? homeCum[k - 1]! : 0) + communityCum[k]![communityCum[k]!.length - 1]!;

  const bots: string[] = [];
  for (let b = 0; b < Math.min(o.knownBots, KNOWN_BOT_NAMES.length); b++) bots.push(KNOWN_BOT_NAMES[b]!);
  for (let b = 0; b < o.behaviouralBots; b++) bots.push(`watcher${b}${SYLLABLES[b % SYLLABLES.length]}`);
  const knownBotCount = bots.length - o.behaviouralBots;

  const vr = new Rng(0);
  const bucketMs = o.bucketMinutes * 60_000;
  const nBuckets = Math.max(1, Math.floor((o.days * 24 * 60) / o.bucketMinutes));
  const continueBucket = 1 - 1 / o.meanBuckets;

  const viewerHome = (v: number): number => {
    vr.reseed(streamSeed(o.seed, 2, v));
    return pick(homeCum, vr.next() * homeCum[K - 1]!);
  };

  // Draws the visits of viewer v into `out` using the viewer's own stream (left positioned after
  // the visits, so the caller can keep drawing buckets from the same stream).
  const drawVisits = (v: number, out: number[]): void => {
    out.length = 0;
    const home = viewerHome(v);
    const cum = communityCum[home]!;
    const mem = communityMembers[home]!;
    const homeTotal = cum[cum.length - 1]!;
    const want = Math.min(
      o.maxVisits,
      C,
      Math.floor(o.visitsScale * (1 - vr.next()) ** (-1 / o.visitsShape)),
    );
    for (let n = 0; n < want; n++) {
      for (let attempt = 0; attempt < 8; attempt++) {
        const c =
          vr.next() < o.mixing
            ? pick(globalCum, vr.next() * popTotal)
            : mem[pick(cum, vr.next() * homeTotal)]!;
        if (!out.includes(c)) {
          out.push(c);
          break;
        }
      }
    }
  };

  return {
    options: o,
    channels,
    viewers: o.viewers,
    bots,
    truth,
    communityGame,
    communityLanguage,
    viewerHome,
    viewerName: (id) => (id < o.viewers ? `u${id.toString(36)}` : bots[id - o.viewers]!),
    visitsOf(v) {
      const out: number[] = [];
      drawVisits(v, out);
      return out;
    },
    forEachPresence(cb, range = {}) {
      const visits: number[] = [];
      const from = Math.max(0, range.from ?? 0);
      const to = Math.min(o.viewers, range.to ?? o.viewers);
      for (let v = from; v < to; v++) {
        drawVisits(v, visits);
        for (let j = 0; j < visits.length; j++) {
          const lurker = vr.next() < o.lurkerShare;
          let buckets = 1;
          while (buckets < nBuckets && vr.next() < continueBucket) buckets++;
          const first = vr.int(nBuckets - buckets + 1);
          for (let b = 0; b < buckets; b++) {
            cb(visits[j]!, v, o.start + (first + b) * bucketMs, lurker ? 0 : messagesDraw(vr));
          }
        }
      }
      if (range.bots === false) return;
      // Bots: one row per channel they sit in, in a random bucket, chatting (commands, alerts).
      const br = new Rng(0);
      for (let b = 0; b < bots.length; b++) {
        br.reseed(streamSeed(o.seed, 3, b));
        const share = b < knownBotCount ? o.knownBotShare : o.behaviouralBotShare;
        for (let c = 0; c < C; c++) {
          if (br.next() < share) cb(c, o.viewers + b, o.start + br.int(nBuckets) * bucketMs, 1 + br.int(5));
        }
      }
    },
  };
}

/** Messages in one bucket by an active chatter: 1 + geometric, capped. */
function messagesDraw(r: Rng): number {
  let m = 1;
  while (m < 30 && r.next() < 0.45) m++;
  return m;
}

function shuffled(n: number, rng: Rng): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

function channelName(i: number, rng: Rng): string {
  const parts = 2 + rng.int(2);
  let s = '';
  for (let p = 0; p < parts; p++) s += SYLLABLES[rng.int(SYLLABLES.length)];
  return `${s}${i.toString(36)}`;
}
