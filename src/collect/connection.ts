/**
 * One chat connection of the collector's pool: connects over WebSocket or TCP (TLS or not),
 * logs in (anonymous `justinfan` or token), requests the Twitch capabilities, joins its
 * channels through the shared join limiter, answers PING, obeys RECONNECT, and reconnects with
 * exponential backoff and jitter, re-joining every channel it holds.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { registerSecret } from '../observability/console.js';
import type { Logger } from '../observability/logger.js';
import { type ChatEvent, parseChatLine } from '../twitch/chat/events.js';
import { LineSplitter } from '../twitch/chat/irc.js';
import type { ChatEndpoint } from './endpoint.js';
import type { JoinLimiter } from './join-limiter.js';

/** Options of a connection; the pool fills them from the config. */
export interface ConnectionOptions {
  endpoint: ChatEndpoint;
  /** Login: `justinfanNNNNN` for anonymous reading, or the token's login. */
  nick: string;
  /** OAuth token (without `oauth:`), or undefined for anonymous. Never logged. */
  token?: string;
  /** Request twitch.tv/membership. */
  membership: boolean;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  limiter: JoinLimiter;
  /** Every domain event except our own JOIN/PART echoes and protocol chatter. */
  onEvent: (ev: ChatEvent) => void;
  /** Counters shared by the pool (hot path: plain fields). */
  counters: ConnectionCounters;
  log: Logger;
  /** Silence after which we PING the server; twice that without data and we reconnect (default 60 s). */
  idlePingMs?: number;
  /** A join not confirmed within this time is queued again (default 30 s). */
  joinTimeoutMs?: number;
  /** Random source for jitter (tests). */
  random?: () => number;
  /**
   * Twitch refused the login (bad or expired token): reconnecting cannot help. Called once with
   * Twitch's reason; the connection has stopped. Without it the refusal is only logged.
   */
  onLoginRefused?: (reason: string) => void;
}

export interface ConnectionCounters {
  linesReceived: number;
  invalidLines: number;
  reconnects: number;
}

type State = 'idle' | 'connecting' | 'registering' | 'ready' | 'stopped';

/** Exponential backoff with "equal jitter": half the step fixed, half random, capped. */
export function backoffMs(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Defaults of the optional connection options (an option given as `undefined` keeps its default). */
export const CONNECTION_DEFAULTS = {
  idlePingMs: 60_000,
  joinTimeoutMs: 30_000,
  random: Math.random,
} as const;

/** NOTICE msg-ids after which a JOIN will never succeed (Twitch's docs, NOTICE tags). */
const JOIN_REFUSED_FOR_GOOD = new Set([
  'msg_channel_suspended',
  'msg_banned',
  'tos_ban',
  'msg_channel_blocked',
]);

/** NOTICE texts (no msg-id) with which Twitch refuses a login; the same credentials never pass. */
const LOGIN_REFUSED = [
  'Login authentication failed',
  'Improperly formatted auth',
  'Login unsuccessful',
  'Error logging in',
  'Invalid NICK',
];

/** The longest an old socket is kept after a RECONNECT (Twitch closes it sooner). */
const MAX_DRAIN_MS = 5 * 60_000;

/** One socket (WebSocket or TCP/TLS) with its own line splitter. */
interface Link {
  splitter: LineSplitter;
  send(line: string): void;
  close(): void;
}

let nextConnId = 1;

export class ChatConnection {
  readonly id = nextConnId++;
  /** Channels this connection should be in. */
  readonly wanted = new Set<string>();
  /** Channels the server confirmed. */
  readonly joined = new Set<string>();
  /** Channels Twitch refused for good (suspended, banned …) → the NOTICE's msg-id; not retried until reloaded. */
  readonly unjoinable = new Map<string, string>();
  /** Channel → when its JOIN was queued or sent (awaiting confirmation). */
  private readonly pending = new Map<string, number>();
  /** Channel → limiter sequence number of its JOIN in flight. */
  private readonly joinSeq = new Map<string, number>();
  private state: State = 'idle';
  /** The live socket. */
  private link: Link | null = null;
  /**
   * After a RECONNECT: the old socket, kept reading its channels until the new one has re-joined
   * each of them (or the server closes it), so the re-join through the join limiter loses nothing.
   */
  private draining: { link: Link; channels: Set<string>; parting: Set<string>; since: number } | null = null;
  /** Message ids seen while two sockets may carry the same lines (two generations, bounded). */
  private seenIds = new Set<string>();
  private seenOld = new Set<string>();
  private dedupeUntil = 0;
  private attempt = 0;
  private readyAt = 0;
  /** Incremented at each successful login; queued joins of an older session are void. */
  private session = 0;
  private lastData = 0;
  private pinged = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly o: Required<Omit<ConnectionOptions, 'token' | 'onLoginRefused'>> &
    Pick<ConnectionOptions, 'token' | 'onLoginRefused'>;
  /** Closed by us on purpose (RECONNECT, watchdog) — the next close is expected. */
  private closingOnPurpose = false;

  constructor(options: ConnectionOptions) {
    // `{ ...defaults, ...options }` would let an option passed as `undefined` (the pool forwards
    // the collector's unset test knobs) erase its default: NaN timeouts, a watchdog firing every
    // millisecond and never acting. Only defined options override.
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...CONNECTION_DEFAULTS, ...given } as typeof this.o;
    registerSecret(this.o.token);
    for (const k of ['idlePingMs', 'joinTimeoutMs', 'reconnectMinMs', 'reconnectMaxMs'] as const) {
      if (!(Number.isFinite(this.o[k]) && this.o[k] > 0))
        throw new RangeError(`collect: connection option ${k} must be a positive number, got ${this.o[k]}`);
    }
  }

  /** The watchdog's effective timings (after defaults). */
  get timings(): { idlePingMs: number; joinTimeoutMs: number; watchdogMs: number } {
    return {
      idlePingMs: this.o.idlePingMs,
      joinTimeoutMs: this.o.joinTimeoutMs,
      watchdogMs: this.watchdogMs(),
    };
  }

  private watchdogMs(): number {
    return Math.max(100, Math.min(this.o.idlePingMs, this.o.joinTimeoutMs) / 2);
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.open();
    this.watchdog = setInterval(() => this.check(), this.watchdogMs());
    this.watchdog.unref();
  }

  /** Adds a channel; joins it (through the limiter) when connected. */
  add(channel: string): void {
    if (this.wanted.has(channel)) return;
    this.wanted.add(channel);
    if (this.state === 'ready') this.queueJoin(channel);
  }

  /** Removes a channel; parts it when joined. */
  remove(channel: string): void {
    this.unjoinable.delete(channel);
    if (!this.wanted.delete(channel)) return;
    this.pending.delete(channel);
    if (this.joined.delete(channel) && this.state === 'ready') this.send(`PART #${channel}`);
  }

  /** Tries the channels Twitch refused for good again (the channel list was reloaded). */
  retryUnjoinable(): void {
    const again = [...this.unjoinable.keys()];
    this.unjoinable.clear();
    if (this.state === 'ready') for (const c of again) if (this.wanted.has(c)) this.queueJoin(c);
  }

  /** Closes for good. */
  stop(): void {
    this.state = 'stopped';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.reconnectTimer = null;
    this.watchdog = null;
    this.teardown();
    this.endDrain('stopped');
    this.joined.clear();
    this.pending.clear();
  }

  private open(): void {
    const e = this.o.endpoint;
    this.state = 'connecting';
    this.lastData = Date.now();
    this.pinged = false;
    this.closingOnPurpose = false;
    let link: Link;
    const splitter = new LineSplitter(
      (line) => this.onLine(line, link),
      (len) => {
        this.o.counters.invalidLines++;
        this.o.log.warn('oversized line discarded', { connection: this.id, length: len });
      },
    );
    const onError = (err: Error) =>
      this.o.log.warn('connection error', { connection: this.id, error: err.message });
    if (e.transport === 'ws') {
      const ws = new WebSocket(e.url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
      link = {
        splitter,
        send: (line) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(`${line}\r\n`);
        },
        close: () => ws.terminate(),
      };
      ws.on('open', () => this.onOpen(link));
      ws.on('message', (data) => this.onData(link, typeof data === 'string' ? data : data.toString()));
      ws.on('close', () => this.onClose(link));
      ws.on('error', onError);
    } else {
      const sock: Socket = e.secure
        ? // SNI takes host names only (RFC 6066); the certificate is still checked against an IP host.
          tlsConnect({ host: e.host, port: e.port, servername: isIP(e.host) ? undefined : e.host })
        : netConnect({ host: e.host, port: e.port });
      link = {
        splitter,
        send: (line) => {
          if (!sock.destroyed) sock.write(`${line}\r\n`);
        },
        close: () => sock.destroy(),
      };
      sock.setEncoding('utf8');
      sock.setNoDelay(true);
      sock.on(e.secure ? 'secureConnect' : 'connect', () => this.onOpen(link));
      sock.on('data', (d) => this.onData(link, d as unknown as string));
      sock.on('close', () => this.onClose(link));
      sock.on('error', onError);
    }
    this.link = link;
  }

  private teardown(): void {
    const l = this.link;
    this.link = null;
    l?.close();
  }

  private send(line: string): void {
    this.link?.send(line);
  }

  private onOpen(link: Link): void {
    if (link !== this.link) return;
    this.state = 'registering';
    const caps = ['twitch.tv/tags', 'twitch.tv/commands'];
    if (this.o.membership) caps.push('twitch.tv/membership');
    this.send(`CAP REQ :${caps.join(' ')}`);
    // Anonymous logins need no PASS; Twitch accepts any, we send none.
    if (this.o.token) this.send(`PASS oauth:${this.o.token}`);
    this.send(`NICK ${this.o.nick}`);
  }

  private onData(link: Link, text: string): void {
    if (link === this.link) {
      this.lastData = Date.now();
      this.pinged = false;
    }
    link.splitter.push(text);
  }

  /** Passes chat lines on, dropping the copy of a line both sockets carried during a handover. */
  private forward(ev: Extract<ChatEvent, { type: 'message' | 'usernotice' }>): void {
    if (this.dedupeUntil > 0 && ev.id) {
      if (Date.now() > this.dedupeUntil) {
        this.dedupeUntil = 0;
        this.seenIds = new Set();
        this.seenOld = new Set();
      } else {
        if (this.seenIds.has(ev.id) || this.seenOld.has(ev.id)) return;
        this.seenIds.add(ev.id);
        if (this.seenIds.size > 200_000) {
          this.seenOld = this.seenIds;
          this.seenIds = new Set();
        }
      }
    }
    this.o.onEvent(ev);
  }

  /** Lines from the old socket during a handover: only its channels not yet re-joined. */
  private onDrainLine(ev: ChatEvent, link: Link): void {
    const d = this.draining;
    if (!d || d.link !== link) return;
    switch (ev.type) {
      case 'ping':
        link.send(`PONG :${ev.token}`);
        return;
      case 'message':
      case 'usernotice':
        // Until the server confirms our PART here, lines may still come this way: count them,
        // and let the id dedupe drop the copies the new socket also carried.
        if ((d.channels.has(ev.channel) || d.parting.has(ev.channel)) && this.wanted.has(ev.channel))
          this.forward(ev);
        return;
      case 'join':
        if (ev.login !== this.o.nick && d.channels.has(ev.channel) && this.wanted.has(ev.channel))
          this.o.onEvent(ev);
        return;
      case 'part':
        // Our PART echo: every line of that channel sent before it has arrived (one TCP stream).
        if (
          ev.login === this.o.nick &&
          d.parting.delete(ev.channel) &&
          d.channels.size === 0 &&
          d.parting.size === 0
        ) {
          this.endDrain('all channels re-joined');
        }
        return;
      case 'invalid':
        this.o.counters.invalidLines++;
        return;
      default:
        return;
    }
  }

  private handOver(): void {
    const link = this.link as Link;
    this.draining = { link, channels: new Set(this.joined), parting: new Set(), since: Date.now() };
    this.dedupeUntil = Number.POSITIVE_INFINITY;
    this.link = null;
    this.o.log.info(
      'server asked to reconnect; the old connection keeps reading until its channels are re-joined',
      {
        connection: this.id,
        channels: this.draining.channels.size,
      },
    );
    this.scheduleReconnect(0);
  }

  private endDrain(reason: string): void {
    const d = this.draining;
    if (!d) return;
    this.draining = null;
    d.link.close();
    // Copies of a line can trail by a moment on the other socket: keep deduplicating briefly.
    this.dedupeUntil = Date.now() + 5000;
    this.o.log.info('old connection closed', { connection: this.id, reason, channelsLeft: d.channels.size });
  }

  private onLine(line: string, link: Link): void {
    this.o.counters.linesReceived++;
    const ev = parseChatLine(line);
    if (link !== this.link) {
      this.onDrainLine(ev, link);
      return;
    }
    switch (ev.type) {
      case 'message':
      case 'usernotice':
        // Only channels we asked for: a stray line for another channel is not presence.
        if (this.wanted.has(ev.channel)) this.forward(ev);
        return;
      case 'roomstate':
        if (this.wanted.has(ev.channel)) this.o.onEvent(ev);
        return;
      case 'join':
        if (ev.login === this.o.nick) {
          const seq = this.joinSeq.get(ev.channel);
          if (seq !== undefined) this.o.limiter.confirm(seq);
          this.joinSeq.delete(ev.channel);
          this.pending.delete(ev.channel);
          if (this.wanted.has(ev.channel)) this.joined.add(ev.channel);
          else this.send(`PART #${ev.channel}`); // removed while the join was in flight
          // The old socket of a handover can let go of this channel now.
          const d = this.draining;
          if (d?.channels.delete(ev.channel)) {
            d.parting.add(ev.channel);
            d.link.send(`PART #${ev.channel}`);
          }
          return;
        }
        if (this.wanted.has(ev.channel)) this.o.onEvent(ev);
        return;
      case 'part':
        if (ev.login === this.o.nick) {
          this.joined.delete(ev.channel);
          return;
        }
        this.o.onEvent(ev);
        return;
      case 'ping':
        this.send(`PONG :${ev.token}`);
        return;
      case 'welcome':
        this.state = 'ready';
        this.readyAt = Date.now();
        this.session++;
        this.o.log.info('connected', {
          connection: this.id,
          endpoint: this.o.endpoint.display,
          nick: this.o.nick,
          channels: this.wanted.size,
        });
        for (const c of this.wanted) this.queueJoin(c);
        return;
      case 'reconnect':
        // Make before break: a new socket re-joins while this one keeps reading (once at a time).
        if (!this.draining && this.state === 'ready' && this.joined.size > 0) this.handOver();
        else this.restart(0);
        return;
      case 'notice':
        this.onNotice(ev);
        return;
      case 'cap':
        if (!ev.ack) this.o.log.warn('capabilities refused', { connection: this.id, caps: ev.caps });
        return;
      case 'invalid':
        this.o.counters.invalidLines++;
        if (this.o.counters.invalidLines <= 20 || this.o.counters.invalidLines % 10_000 === 0) {
          this.o.log.warn('invalid line', {
            connection: this.id,
            reason: ev.reason,
            line: ev.line,
            total: this.o.counters.invalidLines,
          });
        }
        this.o.onEvent(ev);
        return;
      default:
        return;
    }
  }

  private onNotice(ev: Extract<ChatEvent, { type: 'notice' }>): void {
    if (LOGIN_REFUSED.some((t) => ev.text.startsWith(t))) {
      // Reconnecting with the same credentials would be refused forever (about 13 times in 8 s).
      this.o.log.error('chat login refused', { connection: this.id, nick: this.o.nick, reason: ev.text });
      this.stop();
      this.o.onLoginRefused?.(
        `${this.o.endpoint.display} refused the chat login "${this.o.nick}": ${ev.text}`,
      );
      return;
    }
    if (ev.channel && ev.msgId && JOIN_REFUSED_FOR_GOOD.has(ev.msgId)) {
      // Retrying would only burn join allowance: give the channel up until the list is reloaded.
      this.pending.delete(ev.channel);
      if (this.wanted.has(ev.channel) && !this.unjoinable.has(ev.channel)) {
        this.unjoinable.set(ev.channel, ev.msgId);
        this.o.log.warn('channel cannot be joined; not retrying until the channel list is reloaded', {
          connection: this.id,
          channel: ev.channel,
          msgId: ev.msgId,
        });
      }
      return;
    }
    if (ev.msgId === 'msg_ratelimit' && ev.channel) {
      // The join was refused: queue it again (the limiter spaces it out).
      this.pending.delete(ev.channel);
      if (this.wanted.has(ev.channel) && !this.joined.has(ev.channel)) this.queueJoin(ev.channel);
    }
    this.o.log.info('notice', { connection: this.id, channel: ev.channel, msgId: ev.msgId, text: ev.text });
  }

  private queueJoin(channel: string): void {
    if (this.joined.has(channel) || this.pending.has(channel) || this.unjoinable.has(channel)) return;
    this.pending.set(channel, Date.now());
    const epoch = this.session;
    this.o.limiter.enqueue((seq) => {
      // Still wanted, still on the same live session, not joined meanwhile? Else it costs no slot.
      if (
        this.state !== 'ready' ||
        this.session !== epoch ||
        !this.wanted.has(channel) ||
        this.joined.has(channel)
      ) {
        return false;
      }
      this.pending.set(channel, Date.now());
      this.joinSeq.set(channel, seq);
      this.send(`JOIN #${channel}`);
      return true;
    });
  }

  /** Watchdog: idle PING, dead-connection detection, unconfirmed joins. */
  private check(): void {
    if (this.state === 'stopped' || this.state === 'idle') return;
    const now = Date.now();
    if (this.draining && now - this.draining.since > MAX_DRAIN_MS) this.endDrain('handover took too long');
    const silent = now - this.lastData;
    if (this.state === 'ready' || this.state === 'registering' || this.state === 'connecting') {
      if (silent > 2 * this.o.idlePingMs) {
        this.o.log.warn('connection silent, reconnecting', { connection: this.id, silentMs: silent });
        this.restart();
        return;
      }
      if (silent > this.o.idlePingMs && !this.pinged && this.state === 'ready') {
        this.pinged = true;
        this.send('PING :tmi.twitch.tv');
      }
    }
    if (this.state === 'ready') {
      for (const [c, at] of this.pending) {
        if (now - at > this.o.joinTimeoutMs) {
          this.pending.delete(c);
          this.queueJoin(c);
        }
      }
    }
  }

  /** Drops the current socket and reconnects after `delayMs` (default: backoff). */
  private restart(delayMs?: number): void {
    if (this.state === 'stopped') return;
    this.closingOnPurpose = true;
    const current = this.link;
    this.teardown();
    if (current) this.scheduleReconnect(delayMs);
  }

  private onClose(link: Link): void {
    if (link === this.draining?.link) {
      this.endDrain('closed by the server');
      return;
    }
    if (this.state === 'stopped') return;
    // A close of a socket we already replaced is old news.
    if (link !== this.link) return;
    this.link = null;
    this.scheduleReconnect();
  }

  private scheduleReconnect(delayMs?: number): void {
    if (this.reconnectTimer || this.state === 'stopped') return;
    const lived = this.readyAt > 0 ? Date.now() - this.readyAt : 0;
    if (this.state === 'ready' && lived > 30_000) this.attempt = 0;
    this.state = 'connecting';
    this.joined.clear();
    this.pending.clear();
    this.joinSeq.clear();
    this.readyAt = 0;
    const delay =
      delayMs ?? backoffMs(this.attempt, this.o.reconnectMinMs, this.o.reconnectMaxMs, this.o.random);
    this.attempt++;
    this.o.counters.reconnects++;
    this.o.log.info('reconnecting', {
      connection: this.id,
      delayMs: delay,
      attempt: this.attempt,
      onPurpose: this.closingOnPurpose,
    });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state !== 'stopped') this.open();
    }, delay);
  }
}
