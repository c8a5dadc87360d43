/**
 * Who chats where, for twitch-sim: a seeded population from `simulate`'s model (planted
 * communities, Zipf channel popularity), turned into a stream of chat lines. A message picks a
 * channel by popularity and a sender from that channel's audience, so collected presence has
 * the same community structure the model planted.
 */
import { type Population, simulatePopulation } from '../../simulate/model.js';
import { formatIrcLine } from '../chat/irc.js';
import { userId } from './helix-data.js';

/** Options of the traffic generator; every field optional (see `TRAFFIC_DEFAULTS`). */
export interface TrafficOptions {
  /** Channels in the population. */
  channels?: number;
  /** Ordinary viewers in the population. */
  viewers?: number;
  /** Planted communities. */
  communities?: number;
  /** Share of visits outside the home community. */
  mixing?: number;
  seed?: number;
}

export const TRAFFIC_DEFAULTS: Required<TrafficOptions> = {
  channels: 200,
  viewers: 20_000,
  communities: 8,
  mixing: 0.3,
  seed: 42,
};

/** One simulated Twitch channel as chat sees it. */
export interface SimChatChannel {
  login: string;
  /** Twitch user id of the channel (ROOMSTATE `room-id`). */
  roomId: string;
  /** Viewer ids that visit this channel. */
  audience: Uint32Array;
}

/** mulberry32, seeded: the sim's traffic is reproducible for a given seed. */
export function rng32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CJK = ['視聴者', '배그러버', 'ゲーマー', '小明', '하늘'];

/** The chat-side view of a simulated population. */
export class ChatTraffic {
  readonly population: Population;
  readonly channels: SimChatChannel[];
  readonly byLogin = new Map<string, number>();
  private readonly cum: Float64Array;
  private readonly rand: () => number;
  private counter = 0;
  /** Viewers who renamed: viewer → new login (the user id stays, as on Twitch). */
  private readonly renamed = new Map<number, string>();

  constructor(options: TrafficOptions = {}) {
    const o = {
      ...TRAFFIC_DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    };
    this.population = simulatePopulation({
      channels: o.channels,
      viewers: o.viewers,
      communities: Math.min(o.communities, o.channels),
      mixing: o.mixing,
      seed: o.seed,
    });
    const C = this.population.channels.length;
    const lists: number[][] = Array.from({ length: C }, () => []);
    for (let v = 0; v < this.population.viewers; v++)
      for (const c of this.population.visitsOf(v)) lists[c]?.push(v);
    this.channels = this.population.channels.map((ch, i) => ({
      login: ch.name,
      roomId: userId(ch.name),
      audience: Uint32Array.from(lists[i] ?? []),
    }));
    for (const [i, c] of this.channels.entries()) this.byLogin.set(c.login, i);
    this.cum = new Float64Array(C);
    let acc = 0;
    for (let i = 0; i < C; i++) this.cum[i] = acc += this.population.channels[i]?.popularity ?? 0;
    this.rand = rng32(o.seed ^ 0x5bd1e995);
  }

  /** Picks a channel index by popularity, restricted to `allowed` when given (tries a few times, then any allowed). */
  pickChannel(allowed?: Uint32Array): number {
    if (allowed && allowed.length === 0) return -1;
    const total = this.cum[this.cum.length - 1] ?? 0;
    const u = this.rand() * total;
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cum[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** A sender for channel `c`: a member of its audience (any viewer when it has none). */
  pickViewer(c: number): number {
    const a = this.channels[c]?.audience;
    if (!a || a.length === 0) return Math.floor(this.rand() * this.population.viewers);
    return a[Math.floor(this.rand() * a.length)] as number;
  }

  login(viewer: number): string {
    if (this.renamed.size > 0) {
      const r = this.renamed.get(viewer);
      if (r !== undefined) return r;
    }
    return this.population.viewerName(viewer);
  }

  /** Twitch user id of a viewer (`user-id`): stable across renames. */
  userId(viewer: number): string {
    return String(200_000_000 + viewer);
  }

  /** The viewer behind a login (current or original), or -1. */
  viewerOf(login: string): number {
    for (const [v, l] of this.renamed) if (l === login) return v;
    for (let v = 0; v < this.population.viewers; v++) if (this.population.viewerName(v) === login) return v;
    return -1;
  }

  /** Renames a viewer: from now on their lines carry `login`, with the same user id. */
  rename(viewer: number, login: string): void {
    this.renamed.set(viewer, login);
  }

  /** Display name as Twitch shows it: usually the login, sometimes other case, sometimes localised (CJK). */
  displayName(viewer: number): string {
    const login = this.login(viewer);
    const m = viewer % 20;
    if (m === 0) return CJK[viewer % CJK.length] as string;
    if (m < 4) return login.toUpperCase();
    if (m < 8) return login.charAt(0).toUpperCase() + login.slice(1);
    return login;
  }

  /** A full PRIVMSG line with IRCv3 tags as Twitch sends them. */
  privmsg(c: number, viewer: number, now: number, text?: string): string {
    const ch = this.channels[c] as SimChatChannel;
    const login = this.login(viewer);
    this.counter++;
    const body = text ?? (MESSAGES[(viewer + this.counter) % MESSAGES.length] as string);
    const id = `${(this.counter >>> 0).toString(16).padStart(8, '0')}-7a18-43eb-9379-${c.toString(16).padStart(12, '0')}`;
    // Hot path (tens of thousands of lines a second): the same line `privmsgLine` formats, built
    // by concatenation. Generated display names and ids never need tag escaping.
    const sub = viewer % 3 === 0;
    return (
      `@badge-info=${sub ? 'subscriber/8' : ''};badges=${sub ? 'subscriber/6,premium/1' : ''};color=#1E90FF;` +
      `display-name=${this.displayName(viewer)};emotes=${body.startsWith('Kappa') ? '25:0-4' : ''};first-msg=0;flags=;id=${id};` +
      `mod=0;returning-chatter=0;room-id=${ch.roomId};subscriber=${sub ? '1' : '0'};tmi-sent-ts=${now};turbo=0;` +
      `user-id=${this.userId(viewer)};user-type= :${login}!${login}@${login}.tmi.twitch.tv PRIVMSG #${ch.login} :${body}`
    );
  }
}

const MESSAGES = [
  'Kappa',
  'PogChamp that was close',
  'hi chat',
  'LUL',
  'gg',
  'what game is this?',
  'KEKW',
  'monkaS',
  'no way; really',
  'W streamer \\o/',
];

/** Fields of one scripted or generated chat line. */
export interface PrivmsgFields {
  channel: string;
  login: string;
  roomId?: string;
  displayName?: string;
  userId?: string;
  sentAt: number;
  id?: string;
  subscriber?: boolean;
  mod?: boolean;
  text?: string;
  /** Extra or overriding tags. */
  tags?: Record<string, string>;
}

/** Formats a PRIVMSG the way Twitch does (tag order and value shapes from Twitch's docs). */
export function privmsgLine(f: PrivmsgFields): string {
  const sub = f.subscriber ?? false;
  const tags: Record<string, string> = {
    'badge-info': sub ? 'subscriber/8' : '',
    badges: sub ? 'subscriber/6,premium/1' : '',
    color: '#1E90FF',
    'display-name': f.displayName ?? f.login,
    emotes: f.text?.startsWith('Kappa') ? '25:0-4' : '',
    'first-msg': '0',
    flags: '',
    id: f.id ?? '00000000-0000-0000-0000-000000000000',
    mod: f.mod ? '1' : '0',
    'returning-chatter': '0',
    'room-id': f.roomId ?? '1',
    subscriber: sub ? '1' : '0',
    'tmi-sent-ts': String(f.sentAt),
    turbo: '0',
    'user-id': f.userId ?? '1',
    'user-type': '',
    ...f.tags,
  };
  return formatIrcLine({
    tags,
    prefix: `${f.login}!${f.login}@${f.login}.tmi.twitch.tv`,
    command: 'PRIVMSG',
    params: [`#${f.channel}`],
    trailing: f.text ?? 'Kappa',
  });
}
