/**
 * The pool of chat connections: channels are packed `channelsPerConnection` to a connection;
 * every connection shares one join limiter (Twitch counts joins per account, not per socket).
 * `setChannels` applies a new list (SIGHUP reload): joins the new channels, parts the removed.
 */

import type { Logger } from '../observability/logger.js';
import type { ChatEvent } from '../twitch/chat/events.js';
import { ChatConnection, type ConnectionCounters } from './connection.js';
import type { ChatEndpoint } from './endpoint.js';
import type { JoinLimiter } from './join-limiter.js';

export interface PoolOptions {
  endpoint: ChatEndpoint;
  channelsPerConnection: number;
  limiter: JoinLimiter;
  nick: () => string;
  token?: string;
  membership: boolean;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  onEvent: (ev: ChatEvent) => void;
  log: Logger;
  idlePingMs?: number;
  joinTimeoutMs?: number;
  /** Twitch refused the login (see `ConnectionOptions.onLoginRefused`); the pool has stopped. */
  onLoginRefused?: (reason: string) => void;
}

/** Channels refused for good, over every connection. */
export function unjoinableCount(pool: ChatPool): number {
  let n = 0;
  for (const c of pool.connections) n += c.unjoinable.size;
  return n;
}

/** Channels refused for good, with Twitch's reason (the NOTICE msg-id), sorted by channel. */
export function unjoinableChannels(pool: ChatPool): { channel: string; reason: string }[] {
  const out: { channel: string; reason: string }[] = [];
  for (const c of pool.connections)
    for (const [channel, reason] of c.unjoinable) out.push({ channel, reason });
  return out.sort((a, b) => (a.channel < b.channel ? -1 : 1));
}

export class ChatPool {
  readonly connections: ChatConnection[] = [];
  private readonly owner = new Map<string, ChatConnection>();
  readonly counters: ConnectionCounters = { linesReceived: 0, invalidLines: 0, reconnects: 0 };

  constructor(private readonly o: PoolOptions) {}

  /** Channels wanted. */
  get size(): number {
    return this.owner.size;
  }

  get joined(): number {
    let n = 0;
    for (const c of this.connections) n += c.joined.size;
    return n;
  }

  /** Applies a channel list; returns what changed. */
  setChannels(channels: string[]): { added: string[]; removed: string[] } {
    const next = new Set(channels);
    const removed = [...this.owner.keys()].filter((c) => !next.has(c));
    const added = [...next].filter((c) => !this.owner.has(c));
    for (const conn of this.connections) conn.retryUnjoinable();
    for (const c of removed) {
      this.owner.get(c)?.remove(c);
      this.owner.delete(c);
    }
    for (let i = this.connections.length - 1; i >= 0; i--) {
      const conn = this.connections[i] as ChatConnection;
      if (conn.wanted.size === 0) {
        conn.stop();
        this.connections.splice(i, 1);
      }
    }
    for (const c of added) {
      let conn = this.connections.find((k) => k.wanted.size < this.o.channelsPerConnection);
      if (!conn) {
        conn = new ChatConnection({
          endpoint: this.o.endpoint,
          nick: this.o.nick(),
          token: this.o.token,
          membership: this.o.membership,
          reconnectMinMs: this.o.reconnectMinMs,
          reconnectMaxMs: this.o.reconnectMaxMs,
          limiter: this.o.limiter,
          onEvent: this.o.onEvent,
          counters: this.counters,
          log: this.o.log,
          idlePingMs: this.o.idlePingMs,
          joinTimeoutMs: this.o.joinTimeoutMs,
          onLoginRefused: (reason) => this.loginRefused(reason),
        });
        this.connections.push(conn);
        conn.start();
      }
      conn.add(c);
      this.owner.set(c, conn);
    }
    return { added, removed };
  }

  private refused = false;
  /** One refusal stops every connection (they share the credentials) and is reported once. */
  private loginRefused(reason: string): void {
    if (this.refused) return;
    this.refused = true;
    for (const c of this.connections) c.stop();
    this.o.onLoginRefused?.(reason);
  }

  stop(): void {
    for (const c of this.connections) c.stop();
    this.connections.length = 0;
    this.owner.clear();
  }
}
