/**
 * The chat half of twitch-sim: a Twitch IRC server (transport-agnostic; `index.ts` wires it to
 * TCP and WebSocket). It speaks what Twitch speaks — CAP REQ/ACK, anonymous `justinfan` or
 * `PASS oauth:` logins, the welcome numerics, JOIN replies (echo, NAMES, ROOMSTATE), PRIVMSG and
 * USERNOTICE with full IRCv3 tags, JOIN/PART membership batches for small channels, PING,
 * NOTICE, RECONNECT, shared-chat sessions (each line to its own room, and a copy with Twitch's
 * `source-*` tags to every partner room) — and lets tests script exact messages, replay recorded
 * lines and inject faults.
 */
import { formatIrcLine, type IrcMessage, LineSplitter, parseIrcLine } from '../chat/irc.js';
import { ChatTraffic, type PrivmsgFields, privmsgLine, rng32, type TrafficOptions } from './chat-traffic.js';
import { userId } from './helix-data.js';

/** Options of the chat simulator; every field optional (see `CHAT_SIM_DEFAULTS`). */
export interface ChatSimOptions extends TrafficOptions {
  /** Generated chat lines per second over all joined channels (0 = only scripted lines). */
  rate?: number;
  /** Seconds between server PINGs; a session that has not answered the previous one is dropped. */
  pingSeconds?: number;
  /** Milliseconds between membership JOIN/PART batches. */
  membershipMs?: number;
  /** Channels with a smaller audience than this get membership batches (Twitch: about 1,000). */
  membershipMaxAudience?: number;
  /** Milliseconds between a RECONNECT and the server closing the connection. */
  reconnectGraceMs?: number;
  /** When set, JOINs beyond `limit` per `windowMs` (per login) get a NOTICE and are not joined. */
  joinLimit?: { limit: number; windowMs: number } | null;
  /** A slow server: PARTs take effect after this many ms (lines keep flowing meanwhile). */
  partDelayMs?: number;
  /** Channels whose JOIN is answered with Twitch's suspended-channel NOTICE instead of joining. */
  suspended?: string[];
  /** Per-session output buffer (bytes) above which generated lines are dropped for that session. */
  maxBufferedBytes?: number;
  /** Milliseconds between traffic ticks. */
  tickMs?: number;
  /** Shared-chat sessions active from the start: groups of channel logins sharing chat. */
  sharedChat?: string[][];
  /** Room ids (channel login → Twitch user id) to announce instead of the generated ones (replays of real lines). */
  roomIds?: Record<string, string>;
}

/** USERNOTICE kinds the simulator can script. */
export type SimNoticeKind =
  | 'sub'
  | 'resub'
  | 'raid'
  | 'subgift'
  | 'submysterygift'
  | 'anonsubgift'
  | 'anonsubmysterygift'
  | 'announcement';

export const CHAT_SIM_DEFAULTS = {
  rate: 50,
  pingSeconds: 60,
  membershipMs: 10_000,
  membershipMaxAudience: 1000,
  reconnectGraceMs: 1000,
  joinLimit: null as ChatSimOptions['joinLimit'],
  suspended: [] as string[],
  partDelayMs: 0,
  maxBufferedBytes: 16 * 1024 * 1024,
  tickMs: 20,
};

/** What the simulator needs from a connection. */
export interface SimTransport {
  kind: 'ws' | 'irc';
  /** Sends text holding one or more CRLF-terminated lines (one WebSocket frame). */
  send(text: string): void;
  /** Abrupt close (a dropped connection). */
  close(): void;
  /** Bytes queued and not yet written. */
  buffered(): number;
}

/** Which sessions a fault or scripted line goes to; default all. */
export interface SessionFilter {
  session?: number;
  channel?: string;
}

/** One JOIN as the server saw it (tests assert the rate limit on these). */
export interface JoinEvent {
  at: number;
  channel: string;
  session: number;
  login: string;
}

const SERVER = 'tmi.twitch.tv';
const ALL_CAPS = ['twitch.tv/tags', 'twitch.tv/commands', 'twitch.tv/membership'];
const CHANNEL = /^#[a-z0-9_]{1,25}$/;

export class SimSession {
  readonly caps = new Set<string>();
  nick = '';
  pass = '';
  registered = false;
  readonly channels = new Set<string>();
  awaitingPong = false;
  closed = false;
  readonly out: string[] = [];
  readonly splitter: LineSplitter;
  constructor(
    readonly id: number,
    readonly transport: SimTransport,
    onLine: (line: string) => void,
  ) {
    this.splitter = new LineSplitter(onLine);
  }
  /** Whether the login is anonymous (justinfan). */
  get anonymous(): boolean {
    return /^justinfan\d+$/.test(this.nick);
  }
}

export class ChatSim {
  readonly options: typeof CHAT_SIM_DEFAULTS & ChatSimOptions;
  readonly traffic: ChatTraffic;
  private readonly sessions = new Map<number, SimSession>();
  private readonly members = new Map<string, Set<SimSession>>();
  /** Viewers present per small channel (membership simulation). */
  private readonly present = new Map<string, Set<number>>();
  private nextId = 1;
  private scripted = 0;
  private timers: NodeJS.Timeout[] = [];
  private carry = 0;
  private lastTick = Date.now();
  private readonly rand: () => number;
  /** Every JOIN the server accepted or refused, in arrival order. */
  readonly joinLog: JoinEvent[] = [];
  readonly stats = {
    connections: 0,
    linesSent: 0,
    messagesGenerated: 0,
    /** Chat lines (PRIVMSG) queued to sessions, generated or scripted, summed over sessions. */
    messagesDelivered: 0,
    messagesDropped: 0,
    joinsRefused: 0,
    pongs: 0,
    pingTimeouts: 0,
    linesReceived: 0,
  };
  /** Logins that logged in with a token, and the token they sent (tests check it arrived). */
  readonly tokenLogins: { nick: string; token: string }[] = [];
  /** Shared chat: channel → the partner channels that receive copies of its lines. */
  private readonly sharedOf = new Map<string, string[]>();
  private noticeCounter = 0;
  private copyCounter = 0;

  constructor(options: ChatSimOptions = {}) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...CHAT_SIM_DEFAULTS, ...given };
    this.traffic = new ChatTraffic(options);
    this.rand = rng32((options.seed ?? 42) ^ 0x1234567);
    for (const group of options.sharedChat ?? []) this.startSharedChat(group);
  }

  /** Starts a shared-chat session between `channels` (logins): each receives the others' lines. */
  startSharedChat(channels: string[]): void {
    const set = [...new Set(channels.map((c) => c.toLowerCase()))];
    if (set.length < 2)
      throw new RangeError(`twitch-sim: a shared chat needs 2+ channels, got ${JSON.stringify(channels)}`);
    for (const c of set) {
      if (this.sharedOf.has(c)) throw new RangeError(`twitch-sim: ${c} is already in a shared chat`);
    }
    for (const c of set)
      this.sharedOf.set(
        c,
        set.filter((o) => o !== c),
      );
  }

  /** Ends the shared-chat session `channel` is in. */
  endSharedChat(channel: string): void {
    const partners = this.sharedOf.get(channel);
    if (!partners) return;
    this.sharedOf.delete(channel);
    for (const p of partners) this.sharedOf.delete(p);
  }

  /** Channels currently sharing chat, one group per session. */
  sharedChats(): string[][] {
    const seen = new Set<string>();
    const out: string[][] = [];
    for (const [c, partners] of this.sharedOf) {
      if (seen.has(c)) continue;
      const g = [c, ...partners].sort();
      for (const x of g) seen.add(x);
      out.push(g);
    }
    return out;
  }

  /** Renames a viewer of the population (same user id, new login), as Twitch lets users do. */
  rename(from: string, to: string): void {
    const v = this.traffic.viewerOf(from);
    if (v < 0) throw new RangeError(`twitch-sim: no viewer ${JSON.stringify(from)} to rename`);
    this.traffic.rename(v, to.toLowerCase());
  }

  /** Starts traffic, membership and ping timers. */
  start(): void {
    const o = this.options;
    this.lastTick = Date.now();
    this.timers.push(setInterval(() => this.tick(), o.tickMs));
    if (o.membershipMs > 0) this.timers.push(setInterval(() => this.membershipBatch(), o.membershipMs));
    if (o.pingSeconds > 0) this.timers.push(setInterval(() => this.pingAll(), o.pingSeconds * 1000));
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const s of this.sessions.values()) this.closeSession(s);
  }

  /** Changes the generated message rate (lines per second). */
  setRate(rate: number): void {
    this.options.rate = rate;
  }

  /** A new connection: returns the session; feed it received text with `receive`. */
  attach(transport: SimTransport): SimSession {
    const id = this.nextId++;
    const s: SimSession = new SimSession(id, transport, (line) => this.handleLine(s, line));
    this.sessions.set(id, s);
    this.stats.connections++;
    return s;
  }

  receive(s: SimSession, text: string): void {
    s.splitter.push(text);
  }

  /** The transport closed (either side). */
  detach(s: SimSession): void {
    if (s.closed) return;
    s.closed = true;
    this.sessions.delete(s.id);
    for (const c of s.channels) this.members.get(c)?.delete(s);
    s.channels.clear();
  }

  private closeSession(s: SimSession): void {
    this.flushSession(s);
    this.detach(s);
    s.transport.close();
  }

  /** Sessions currently connected, for tests and the control endpoint. */
  listSessions(): {
    id: number;
    kind: 'ws' | 'irc';
    nick: string;
    anonymous: boolean;
    channels: number;
    caps: string[];
  }[] {
    return [...this.sessions.values()].map((s) => ({
      id: s.id,
      kind: s.transport.kind,
      nick: s.nick,
      anonymous: s.anonymous,
      channels: s.channels.size,
      caps: [...s.caps],
    }));
  }

  /** Channels with at least one joined session. */
  joinedChannels(): string[] {
    return [...this.members.entries()].filter(([, m]) => m.size > 0).map(([c]) => c);
  }

  private queue(s: SimSession, line: string): void {
    if (s.closed) return;
    s.out.push(line);
  }

  private flushSession(s: SimSession): void {
    if (s.out.length === 0 || s.closed) return;
    const text = `${s.out.join('\r\n')}\r\n`;
    this.stats.linesSent += s.out.length;
    s.out.length = 0;
    s.transport.send(text);
  }

  private flushAll(): void {
    for (const s of this.sessions.values()) this.flushSession(s);
  }

  private reply(s: SimSession, lines: string[]): void {
    for (const l of lines) this.queue(s, l);
    this.flushSession(s);
  }

  private handleLine(s: SimSession, line: string): void {
    this.stats.linesReceived++;
    const msg = parseIrcLine(line);
    if (!msg) return;
    const nick = s.nick || '*';
    switch (msg.command) {
      case 'CAP':
        this.handleCap(s, msg);
        return;
      case 'PASS':
        s.pass = msg.params[0] ?? '';
        return;
      case 'NICK':
        s.nick = (msg.params[0] ?? '').toLowerCase();
        this.register(s);
        return;
      case 'USER':
        return;
      case 'PING':
        this.reply(s, [
          formatIrcLine({
            prefix: SERVER,
            command: 'PONG',
            params: [SERVER],
            trailing: msg.params[0] ?? SERVER,
          }),
        ]);
        return;
      case 'PONG':
        s.awaitingPong = false;
        this.stats.pongs++;
        return;
      case 'QUIT':
        this.closeSession(s);
        return;
      case 'JOIN':
        if (!s.registered) return;
        for (const c of (msg.params[0] ?? '').split(',')) this.join(s, c.toLowerCase());
        this.flushSession(s);
        return;
      case 'PART': {
        if (!s.registered) return;
        const doPart = () => {
          for (const c of (msg.params[0] ?? '').split(',')) this.part(s, c.toLowerCase());
          this.flushSession(s);
        };
        if (this.options.partDelayMs > 0) setTimeout(doPart, this.options.partDelayMs).unref();
        else doPart();
        return;
      }
      case 'PRIVMSG':
        if (s.anonymous) return; // Twitch silently ignores messages from anonymous logins
        return;
      default:
        this.reply(s, [`:${SERVER} 421 ${nick} ${msg.command} :Unknown command`]);
        return;
    }
  }

  private handleCap(s: SimSession, msg: IrcMessage): void {
    const sub = (msg.params[0] ?? '').toUpperCase();
    if (sub === 'LS') {
      this.reply(s, [`:${SERVER} CAP * LS :${ALL_CAPS.join(' ')}`]);
      return;
    }
    if (sub !== 'REQ') return;
    const wanted = (msg.params[1] ?? '').split(' ').filter(Boolean);
    if (wanted.every((c) => ALL_CAPS.includes(c))) {
      for (const c of wanted) s.caps.add(c);
      this.reply(s, [`:${SERVER} CAP * ACK :${wanted.join(' ')}`]);
    } else {
      this.reply(s, [`:${SERVER} CAP * NAK :${wanted.join(' ')}`]);
    }
  }

  private register(s: SimSession): void {
    const n = s.nick;
    if (!s.anonymous) {
      const token = s.pass.startsWith('oauth:') ? s.pass.slice(6) : '';
      if (!token || !/^[a-z0-9_]{1,25}$/.test(n)) {
        this.reply(s, [`:${SERVER} NOTICE * :Login authentication failed`]);
        this.closeSession(s);
        return;
      }
      this.tokenLogins.push({ nick: n, token });
    }
    s.registered = true;
    this.reply(s, [
      `:${SERVER} 001 ${n} :Welcome, GLHF!`,
      `:${SERVER} 002 ${n} :Your host is ${SERVER}`,
      `:${SERVER} 003 ${n} :This server is rather new`,
      `:${SERVER} 004 ${n} :-`,
      `:${SERVER} 375 ${n} :-`,
      `:${SERVER} 372 ${n} :You are in a maze of twisty passages, all alike.`,
      `:${SERVER} 376 ${n} :>`,
    ]);
  }

  private roomIdOf(channel: string): string {
    // The same user id the Helix simulator reports for the channel, unless a replay names the real one.
    return this.options.roomIds?.[channel] ?? userId(channel);
  }

  private join(s: SimSession, target: string): void {
    if (!CHANNEL.test(target)) {
      this.queue(s, `:${SERVER} NOTICE ${target || '*'} :Invalid channel name`);
      return;
    }
    const channel = target.slice(1);
    const now = Date.now();
    if (this.options.suspended.includes(channel)) {
      this.joinLog.push({ at: now, channel, session: s.id, login: s.nick });
      this.queue(
        s,
        `@msg-id=msg_channel_suspended :${SERVER} NOTICE #${channel} :This channel has been suspended.`,
      );
      return;
    }
    const lim = this.options.joinLimit;
    if (lim) {
      let recent = 0;
      for (let i = this.joinLog.length - 1; i >= 0; i--) {
        const j = this.joinLog[i] as JoinEvent;
        if (now - j.at >= lim.windowMs) break;
        if (j.login === s.nick) recent++;
      }
      if (recent >= lim.limit) {
        this.stats.joinsRefused++;
        this.queue(
          s,
          `@msg-id=msg_ratelimit :${SERVER} NOTICE #${channel} :You are joining channels too quickly.`,
        );
        return;
      }
    }
    this.joinLog.push({ at: now, channel, session: s.id, login: s.nick });
    if (s.channels.has(channel)) return;
    s.channels.add(channel);
    let m = this.members.get(channel);
    if (!m) {
      m = new Set();
      this.members.set(channel, m);
    }
    m.add(s);
    const n = s.nick;
    this.queue(s, `:${n}!${n}@${n}.tmi.twitch.tv JOIN #${channel}`);
    this.queue(s, `:${n}.tmi.twitch.tv 353 ${n} = #${channel} :${n}`);
    this.queue(s, `:${n}.tmi.twitch.tv 366 ${n} #${channel} :End of /NAMES list`);
    if (s.caps.has('twitch.tv/commands')) {
      const tags = {
        'emote-only': '0',
        'followers-only': '-1',
        r9k: '0',
        'room-id': this.roomIdOf(channel),
        slow: '0',
        'subs-only': '0',
      };
      this.queue(
        s,
        formatIrcLine({
          tags: s.caps.has('twitch.tv/tags') ? tags : undefined,
          prefix: SERVER,
          command: 'ROOMSTATE',
          params: [`#${channel}`],
        }),
      );
    }
  }

  private part(s: SimSession, target: string): void {
    const channel = target.slice(1);
    if (!s.channels.delete(channel)) return;
    this.members.get(channel)?.delete(s);
    const n = s.nick;
    this.queue(s, `:${n}!${n}@${n}.tmi.twitch.tv PART #${channel}`);
  }

  /** Sends `line` to every session in `channel` (tags stripped for sessions without the tags cap). */
  private deliver(channel: string, line: string, cap?: string): number {
    const m = this.members.get(channel);
    if (!m) return 0;
    let n = 0;
    const limit = this.options.maxBufferedBytes;
    for (const s of m) {
      if (cap && !s.caps.has(cap)) continue;
      if (s.transport.buffered() > limit) {
        this.stats.messagesDropped++;
        continue;
      }
      this.queue(
        s,
        s.caps.has('twitch.tv/tags') || line.charCodeAt(0) !== 64 ? line : line.slice(line.indexOf(' ') + 1),
      );
      n++;
    }
    if (cap === undefined) this.stats.messagesDelivered += n;
    return n;
  }

  /**
   * Sends a chat line typed in `channel`: to `channel`, and during a shared-chat session to every
   * partner as a copy the way Twitch delivers it — its own `id` and `room-id`, the source room in
   * `source-room-id`/`source-id`/`source-badges`, and `msg-id=sharedchatnotice` for a USERNOTICE.
   * The original carries the `source-*` tags too (naming its own room).
   */
  private emit(channel: string, line: string, cap?: string): number {
    const partners = this.sharedOf.get(channel);
    if (!partners) return this.deliver(channel, line, cap);
    const msg = parseIrcLine(line);
    if (!msg) return this.deliver(channel, line, cap);
    const t = msg.tags;
    const source: Record<string, string> = {
      'source-badge-info': t['badge-info'] ?? '',
      'source-badges': t.badges ?? '',
      'source-id': t.id ?? '',
      'source-only': '0',
      'source-room-id': t['room-id'] ?? this.roomIdOf(channel),
    };
    if (msg.command === 'USERNOTICE') source['source-msg-id'] = t['msg-id'] ?? '';
    const trailing = msg.params.length > 1 ? msg.params[msg.params.length - 1] : undefined;
    const format = (target: string, tags: Record<string, string>) =>
      formatIrcLine({ tags, prefix: msg.prefix, command: msg.command, params: [`#${target}`], trailing });
    let n = this.deliver(channel, format(channel, { ...t, ...source }), cap);
    for (const p of partners) {
      this.copyCounter++;
      const copy: Record<string, string> = {
        ...t,
        'badge-info': '',
        badges: '',
        id: `5ca7ed${this.copyCounter.toString(16).padStart(2, '0')}-c0de-4000-8000-${Date.now().toString(16).padStart(12, '0')}`,
        'room-id': this.roomIdOf(p),
        ...source,
      };
      if (msg.command === 'USERNOTICE') copy['msg-id'] = 'sharedchatnotice';
      n += this.deliver(p, format(p, copy), cap);
    }
    return n;
  }

  /**
   * Replays recorded lines as they are: a line for `#channel` goes to the sessions joined to that
   * channel (tags stripped for sessions without the tags capability), any other line (PING,
   * RECONNECT …) to every session. Returns the deliveries made.
   */
  replay(lines: string[]): number {
    let n = 0;
    for (const line of lines) {
      const target = parseIrcLine(line)?.params[0];
      if (target?.startsWith('#')) n += this.deliver(target.slice(1).toLowerCase(), line);
      else
        for (const s of this.sessions.values()) {
          if (!s.registered) continue;
          this.queue(s, line);
          n++;
        }
    }
    this.flushAll();
    return n;
  }

  private tick(): void {
    const now = Date.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    const want = (this.options.rate * elapsed) / 1000 + this.carry;
    let n = Math.floor(want);
    this.carry = want - n;
    if (n > 0 && this.members.size > 0) {
      // Cap one tick's work so a stalled event loop does not produce a burst of millions.
      n = Math.min(n, Math.max(1000, this.options.rate));
      const t = this.traffic;
      for (let i = 0; i < n; i++) {
        let c = -1;
        for (let attempt = 0; attempt < 4 && c < 0; attempt++) {
          const pick = t.pickChannel();
          const login = t.channels[pick]?.login as string;
          if ((this.members.get(login)?.size ?? 0) > 0) c = pick;
        }
        if (c < 0) continue;
        const ch = t.channels[c] as { login: string };
        this.emit(ch.login, t.privmsg(c, t.pickViewer(c), now));
        this.stats.messagesGenerated++;
      }
    }
    this.flushAll();
  }

  private membershipBatch(): void {
    const t = this.traffic;
    for (const [channel, m] of this.members) {
      if (m.size === 0) continue;
      const idx = t.byLogin.get(channel);
      if (idx === undefined) continue;
      const audience = t.channels[idx]?.audience as Uint32Array;
      if (audience.length === 0 || audience.length >= this.options.membershipMaxAudience) continue;
      let present = this.present.get(channel);
      if (!present) {
        present = new Set();
        this.present.set(channel, present);
      }
      const lines: string[] = [];
      for (let k = 0; k < 3; k++) {
        const v = audience[Math.floor(this.rand() * audience.length)] as number;
        const login = t.login(v);
        if (present.has(v)) {
          if (this.rand() < 0.3) {
            present.delete(v);
            lines.push(`:${login}!${login}@${login}.tmi.twitch.tv PART #${channel}`);
          }
        } else {
          present.add(v);
          lines.push(`:${login}!${login}@${login}.tmi.twitch.tv JOIN #${channel}`);
        }
      }
      for (const l of lines) this.deliver(channel, l, 'twitch.tv/membership');
    }
    this.flushAll();
  }

  private pingAll(): void {
    for (const s of [...this.sessions.values()]) {
      if (!s.registered) continue;
      if (s.awaitingPong) {
        this.stats.pingTimeouts++;
        this.closeSession(s);
        continue;
      }
      s.awaitingPong = true;
      this.queue(s, `PING :${SERVER}`);
    }
    this.flushAll();
  }

  private select(f: SessionFilter = {}): SimSession[] {
    return [...this.sessions.values()].filter(
      (s) =>
        (f.session === undefined || s.id === f.session) &&
        (f.channel === undefined || s.channels.has(f.channel)),
    );
  }

  // ---- scripting and faults (tests, the control endpoint) ----

  /** Delivers one scripted chat line to every session joined to `f.channel`; returns the sessions reached. */
  say(f: Omit<PrivmsgFields, 'sentAt'> & { sentAt?: number }): number {
    // Every scripted line gets its own id, as on Twitch (clients deduplicate on it).
    this.scripted++;
    const id = `5c41${this.scripted.toString(16).padStart(4, '0')}-0000-4000-8000-${Date.now().toString(16).padStart(12, '0')}`;
    // Sent now unless the script says when (a missing sentAt must not become `tmi-sent-ts=undefined`).
    const line = privmsgLine({ roomId: this.roomIdOf(f.channel), id, ...f, sentAt: f.sentAt ?? Date.now() });
    const n = this.emit(f.channel, line);
    this.flushAll();
    return n;
  }

  /** Membership JOINs or PARTs of `logins` in `channel`, as one batch. */
  membership(channel: string, command: 'JOIN' | 'PART', logins: string[]): number {
    let n = 0;
    for (const l of logins)
      n = this.deliver(
        channel,
        `:${l}!${l}@${l}.tmi.twitch.tv ${command} #${channel}`,
        'twitch.tv/membership',
      );
    this.flushAll();
    return n;
  }

  /**
   * A USERNOTICE (sub, raid …) by `login` in `channel`, with its own `id` (as on Twitch). For the
   * anonymous kinds, `login` is what Twitch puts there: `ananonymousgifter` or the channel itself.
   */
  usernotice(
    channel: string,
    login: string,
    msgId: SimNoticeKind,
    sentAt: number,
    text?: string,
    userId = '87654321',
  ): number {
    this.noticeCounter++;
    const tags: Record<string, string> = {
      'badge-info': '',
      badges: 'staff/1,broadcaster/1,turbo/1',
      color: '#008000',
      'display-name': login.toUpperCase(),
      emotes: '',
      id: `0071ce${this.noticeCounter.toString(16).padStart(2, '0')}-0000-4000-8000-${Date.now().toString(16).padStart(12, '0')}`,
      login,
      mod: '0',
      'msg-id': msgId,
      'room-id': this.roomIdOf(channel),
      subscriber: '0',
      'system-msg':
        msgId === 'raid' ? `15 raiders from ${login} have joined!` : `${login} subscribed at Tier 1.`,
      'tmi-sent-ts': String(sentAt),
      'user-id': userId,
      'user-type': 'staff',
    };
    const line = formatIrcLine({
      tags,
      prefix: SERVER,
      command: 'USERNOTICE',
      params: [`#${channel}`],
      trailing: text,
    });
    const n = this.emit(channel, line, 'twitch.tv/commands');
    this.flushAll();
    return n;
  }

  /** A NOTICE to the sessions in `channel` (or all). */
  notice(text: string, msgId = 'msg_channel_suspended', f: SessionFilter = {}): void {
    for (const s of this.select(f))
      this.reply(s, [`@msg-id=${msgId} :${SERVER} NOTICE #${f.channel ?? '*'} :${text}`]);
  }

  /** Raw lines, sent as they are (one frame). */
  sendRaw(lines: string[], f: SessionFilter = {}): number {
    const sel = this.select(f);
    for (const s of sel) this.reply(s, lines);
    return sel.length;
  }

  /** Malformed lines a client must survive. */
  static readonly GARBAGE = [
    ':',
    '@',
    '@badge-info=;badges=',
    ':tmi.twitch.tv',
    '\u0000\u0001\u0002 binary junk',
    ':nick!nick@nick.tmi.twitch.tv PRIVMSG notachannel :hi',
    ':!@ PRIVMSG #somechannel :no nick',
    '@user-id=abc;tmi-sent-ts=xyz :bad!bad@bad.tmi.twitch.tv PRIVMSG #somechannel :bad tags',
    '@login= :tmi.twitch.tv USERNOTICE #somechannel :empty login',
    'PRIVMSG',
    '@a=b\\ :x!x@x PRIVMSG #somechannel :trailing backslash in tag',
  ];

  garbage(f: SessionFilter = {}): number {
    return this.sendRaw(ChatSim.GARBAGE, f);
  }

  /** Sends RECONNECT, then closes the connection after `reconnectGraceMs`. */
  reconnect(f: SessionFilter = {}): number {
    const sel = this.select(f);
    for (const s of sel) {
      this.reply(s, [`:${SERVER} RECONNECT`]);
      const t = setTimeout(() => this.closeSession(s), this.options.reconnectGraceMs);
      t.unref();
    }
    return sel.length;
  }

  /** Drops connections abruptly (no RECONNECT). */
  drop(f: SessionFilter = {}): number {
    const sel = this.select(f);
    for (const s of sel) {
      s.out.length = 0;
      this.detach(s);
      s.transport.close();
    }
    return sel.length;
  }

  /**
   * The server goes silent on matching sessions (a hung edge): the socket stays open, lines sent
   * to it are still read and JOINs still logged in `joinLog`, but nothing is ever answered.
   */
  silence(f: SessionFilter = {}): number {
    const sel = this.select(f);
    for (const s of sel) {
      s.out.length = 0;
      this.detach(s);
    }
    return sel.length;
  }

  /** Sends a PING now to matching sessions. */
  ping(f: SessionFilter = {}): number {
    const sel = this.select(f);
    for (const s of sel) {
      s.awaitingPong = true;
      this.reply(s, [`PING :${SERVER}`]);
    }
    return sel.length;
  }
}
