/**
 * Deterministic data behind the Helix simulator: channels (from PIPELINE's simulated population
 * when the caller passes them, else a small seeded list), and the ids, games and archived VODs
 * Twitch would report for them.
 */

/** What the simulator needs of a channel; `simulatePopulation().channels` fits as is. */
export interface HelixSimChannel {
  /** Login, lower case. */
  name: string;
  language: string;
  game: string;
  /** Concurrent viewers reported by Get Streams. */
  viewerCount: number;
  /** Display name; defaults to the login. */
  displayName?: string;
  /** False = offline: absent from Get Streams, still a user with VODs. Default true. */
  live?: boolean;
}

/** One archived broadcast the simulator lists under Get Videos. */
export interface HelixSimVideo {
  id: string;
  userLogin: string;
  createdAt: number;
  durationSeconds: number;
  title: string;
}

/** FNV-1a 32-bit: stable ids from logins. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Real Twitch category ids for the common categories, so fixtures look like Twitch. */
const KNOWN_GAME_IDS: Record<string, string> = {
  'Just Chatting': '509658',
  'League of Legends': '21779',
  'Grand Theft Auto V': '32982',
  'Counter-Strike': '32399',
  VALORANT: '516575',
  Valorant: '516575',
  Minecraft: '27471',
  Fortnite: '33214',
  'Dota 2': '29595',
  Art: '509660',
  Music: '26936',
  'World of Warcraft': '18122',
  'Apex Legends': '511224',
  'Call of Duty: Warzone': '512710',
  'Dead by Daylight': '491487',
  Chess: '743',
  Hearthstone: '138585',
  'Rocket League': '30921',
  'EA Sports FC 24': '2011938005',
  'Overwatch 2': '515025',
};

/** Helix game id of a category name. */
export function gameId(name: string): string {
  return KNOWN_GAME_IDS[name] ?? String(100_000 + (fnv1a(`game:${name}`) % 900_000_000));
}

/** Helix user id of a login. */
export function userId(login: string): string {
  return String(10_000_000 + (fnv1a(`user:${login}`) % 900_000_000));
}

/** mulberry32. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GAMES = [
  'Just Chatting',
  'League of Legends',
  'Minecraft',
  'VALORANT',
  'Fortnite',
  'Art',
  'Chess',
  'Dota 2',
];
const LANGS = ['en', 'en', 'en', 'de', 'es', 'fr', 'pt', 'ja'];
const SYL = ['ka', 'zo', 'ri', 'mu', 'te', 'lan', 'vo', 'xi', 'sha', 'no', 'pe', 'dra', 'qu', 'bel'];

/** A seeded channel list (used when no population is passed): Zipf-ish viewer counts, unique logins. */
export function seedHelixChannels(count: number, seed = 7): HelixSimChannel[] {
  const r = rng(seed);
  const out: HelixSimChannel[] = [];
  const seen = new Set<string>();
  for (let i = 0; out.length < count; i++) {
    let name = '';
    const parts = 2 + Math.floor(r() * 3);
    for (let p = 0; p < parts; p++) name += SYL[Math.floor(r() * SYL.length)];
    if (seen.has(name)) name += `_${i}`;
    seen.add(name);
    out.push({
      name,
      language: LANGS[Math.floor(r() * LANGS.length)]!,
      game: GAMES[Math.floor(r() * GAMES.length)]!,
      viewerCount: Math.max(1, Math.round(50_000 / (out.length + 1) ** 1.1)),
      displayName: name.charAt(0).toUpperCase() + name.slice(1),
    });
  }
  return out;
}

/**
 * Archived VODs of a channel, newest first: one every `everyDays` days before `now`, seeded
 * durations. Ids are numeric strings like Twitch's.
 */
export function archiveVideos(login: string, now: number, count = 3, everyDays = 2): HelixSimVideo[] {
  const r = rng(fnv1a(`vod:${login}`));
  const out: HelixSimVideo[] = [];
  for (let k = 0; k < count; k++) {
    const createdAt = Math.floor((now - (k * everyDays + 0.5) * 86_400_000) / 1000) * 1000;
    out.push({
      id: String(1_000_000_000 + ((fnv1a(`${login}:${k}`) % 900_000_000) >>> 0)),
      userLogin: login,
      createdAt,
      durationSeconds: 1800 + Math.floor(r() * 6 * 3600),
      title: `${login} stream #${count - k}`,
    });
  }
  return out;
}

/** Seconds → Twitch's `3h8m33s` duration notation. */
export function formatTwitchDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}
