/**
 * The live collector: a pool of chat connections feeding a presence accumulator that is
 * flushed to storage every `flush_seconds` (append + fsync). Viewer logins are pseudonymised
 * (when configured) the moment they arrive, before anything is kept or stored.
 */
import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import { ConfigError, InputError } from '../errors.js';
import { type Logger, silentLogger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { CollectStatus } from '../observability/status.js';
import { createPseudonymizer } from '../privacy/pseudonymize.js';
import type { Storage } from '../storage/storage.js';
import type { ChatEvent } from '../twitch/chat/events.js';
import { presenceOfLine, SYSTEM_LOGINS } from '../twitch/chat/presence-rules.js';
import { parseChatUrl } from './endpoint.js';
import { JoinLimiter } from './join-limiter.js';
import { ChatPool, unjoinableChannels, unjoinableCount } from './pool.js';
import { PresenceAccumulator } from './presence.js';
import { SharedChatTracker } from './shared-chat.js';
import { type CollectedMetadata, HeldWriter, RawWriter, type Unwritten } from './writer.js';

/** Options of `startCollector`; I/O comes in through them. */
export interface CollectorOptions {
  storage: Storage;
  /** Channels to join (already sharded). */
  channels: string[];
  /** Status every `collect.status_seconds`. */
  onStatus?: (s: CollectStatus) => void;
  log?: Logger;
  /** EMF sink (default: from config.metrics, to stdout). */
  metrics?: Metrics;
  /** Milliseconds between EMF emissions (default 60 000). */
  metricsEveryMs?: number;
  /** Environment for the token and the pseudonym key. */
  env?: Record<string, string | undefined>;
  /** Compaction of closed hours (INGEST's compactRaw), run every `compactEveryMs`; off when absent. */
  compact?: () => Promise<void>;
  compactEveryMs?: number;
  /** Client-side idle PING interval (tests shorten it). */
  idlePingMs?: number;
  /** A join not confirmed within this time is queued again (default 30 s; tests shorten it). */
  joinTimeoutMs?: number;
  /** Bound of rows held in memory while storage refuses them (default `HOLD_DEFAULTS.maxHeldRows`). */
  maxHeldRows?: number;
  /** At stop, how long to keep retrying held rows before reporting them unwritten (default 3 s). */
  stopRetryMs?: number;
  /** A failure no reconnect can cure (Twitch refused the login): the caller should stop. */
  onFatal?: (err: InputError) => void;
}

export interface CollectSummary {
  collectorId: string;
  linesReceived: number;
  messages: number;
  membershipRows: number;
  recordsWritten: number;
  metadataWritten: number;
  /** Shared-chat copies received (not presence in the receiving room). */
  sharedChatCopies: number;
  /** Shared-chat session records written. */
  sharedChatWritten: number;
  /** Lines by system or anonymous accounts (`jtv`, `ananonymousgifter`, anonymous gifts …), not presence. */
  nonViewerLines: number;
  reconnects: number;
  flushFailures: number;
  invalidLines: number;
  channelsJoined: number;
  /** Channels Twitch refused for good (suspended, banned), with the NOTICE msg-id; not retried. */
  unjoinable: { channel: string; reason: string }[];
  durationMs: number;
  /**
   * Never written (storage refused them until the end, or the hold overflowed): the CLI reports
   * these and exits non-zero. All zero on a clean run.
   */
  unwritten: Unwritten;
  /** The last storage error when `unwritten` is not zero. */
  writeError?: string;
}

export interface Collector {
  readonly collectorId: string;
  status(): CollectStatus;
  /** Applies a new channel list (SIGHUP). */
  setChannels(channels: string[]): { added: string[]; removed: string[] };
  /** Flushes what is held now. */
  flush(): Promise<void>;
  /** Closes connections, flushes everything (open buckets too) and returns the totals. */
  stop(): Promise<CollectSummary>;
}

const ANON = /^justinfan\d+$/;
/**
 * A tmi-sent-ts further than this from our clock is not trusted; the receive time is used. Kept
 * below compaction's 10-minute grace so no line is ever appended to an hour already compacted.
 */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function defaultCollectorId(config: Config): string {
  const id = config.collect.collector_id || `${hostname()}-${process.pid}`;
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function startCollector(config: Config, opts: CollectorOptions): Collector {
  const c = config.collect;
  const env = opts.env ?? process.env;
  const log = opts.log ?? silentLogger;
  if (c.bucket_minutes > 60) {
    // A bucket's rows go to its start hour's file; a longer bucket would keep writing to an hour
    // that compaction already considers closed.
    throw new ConfigError(
      `collect.bucket_minutes must be at most 60 (raw files are hourly), got ${c.bucket_minutes}`,
    );
  }
  const endpoint = parseChatUrl(c.chat_url);
  const token = env[c.token_env]?.replace(/^oauth:/, '') || undefined;
  const login = env[c.login_env]?.toLowerCase();
  if (token && !login)
    throw new ConfigError(
      `${c.token_env} is set but ${c.login_env} (the login that goes with the token) is not`,
    );
  const pseudo = createPseudonymizer(config.privacy, env);
  const collectorId = defaultCollectorId(config);
  const acc = new PresenceAccumulator(c.bucket_minutes * 60_000);
  const raw = new RawWriter(opts.storage, collectorId);
  const writer = new HeldWriter(raw, {
    maxHeldRows: opts.maxHeldRows,
    log,
  });
  const metrics =
    opts.metrics ??
    createMetrics({
      namespace: config.metrics.namespace,
      enabled: config.metrics.emf,
      dimensions: { Collector: collectorId },
    });
  const limiter = new JoinLimiter({ limit: c.join_limit, windowMs: c.join_window_seconds * 1000 });
  const startedAt = Date.now();

  let messages = 0;
  let membershipRows = 0;
  let recordsWritten = 0;
  let metadataWritten = 0;
  let flushFailures = 0;
  let metaPending: CollectedMetadata[] = [];
  const metaSeen = new Map<string, string>(); // channel → `${roomId}@${hour}` last written
  const shared = new SharedChatTracker();
  let sharedChatCopies = 0;
  let sharedChatWritten = 0;
  let nonViewerLines = 0;
  // Channel ↔ Twitch user id, from ROOMSTATE and `room-id` tags (bounded by the channels joined).
  const roomIdOf = new Map<string, string>();
  const loginOfRoom = new Map<string, string>();
  const learnRoom = (channel: string, roomId: string | undefined): void => {
    if (roomId === undefined || roomIdOf.get(channel) === roomId) return;
    roomIdOf.set(channel, roomId);
    loginOfRoom.set(roomId, channel);
  };

  const onEvent = (ev: ChatEvent): void => {
    switch (ev.type) {
      case 'message':
      case 'usernotice': {
        const now = Date.now();
        const ts = ev.sentAt !== undefined && Math.abs(ev.sentAt - now) < MAX_CLOCK_SKEW_MS ? ev.sentAt : now;
        learnRoom(ev.channel, ev.roomId);
        const verdict = presenceOfLine(ev, roomIdOf.get(ev.channel));
        if ('skip' in verdict) {
          if (verdict.skip === 'shared-chat-copy') {
            // A line typed in a partner room: a fact about the session, not about this room's viewers.
            sharedChatCopies++;
            if (ev.sourceRoomId !== undefined)
              shared.add(ev.channel, roomIdOf.get(ev.channel), ev.sourceRoomId, ts);
          } else {
            nonViewerLines++;
          }
          return;
        }
        const p = verdict.presence;
        acc.addMessage(p.channel, pseudo(p.login), ts, 1, {
          viewerId: p.viewerId === undefined ? undefined : pseudo(p.viewerId),
          channelId: p.channelId,
        });
        messages++;
        return;
      }
      case 'join':
        if (!c.membership || ANON.test(ev.login) || SYSTEM_LOGINS.has(ev.login)) return;
        acc.addMembership(ev.channel, pseudo(ev.login), Date.now(), roomIdOf.get(ev.channel));
        membershipRows++;
        return;
      case 'roomstate': {
        if (!ev.roomId) return; // a partial update (slow mode changed …) says nothing new
        learnRoom(ev.channel, ev.roomId);
        const now = Date.now();
        const mark = `${ev.roomId}@${Math.floor(now / 3600_000)}`;
        if (metaSeen.get(ev.channel) === mark) return;
        metaSeen.set(ev.channel, mark);
        metaPending.push({ channel: ev.channel, channel_id: ev.roomId, observed_at: now });
        return;
      }
      default:
        return;
    }
  };

  let nickCounter = 0;
  const pool = new ChatPool({
    endpoint,
    channelsPerConnection: c.channels_per_connection,
    limiter,
    nick: () => login ?? `justinfan${10_000 + ((process.pid * 7 + nickCounter++ * 7919) % 89_999)}`,
    token,
    membership: c.membership,
    reconnectMinMs: c.reconnect_min_ms,
    reconnectMaxMs: c.reconnect_max_ms,
    onEvent,
    log: log.child('collect'),
    idlePingMs: opts.idlePingMs,
    joinTimeoutMs: opts.joinTimeoutMs,
    onLoginRefused: (reason) => {
      const err = new InputError(
        'collect',
        token
          ? `${reason} (check ${c.token_env} and ${c.login_env})`
          : `${reason} (anonymous login; is ${c.chat_url} a Twitch chat server?)`,
      );
      if (opts.onFatal) opts.onFatal(err);
      else log.error(err.message);
    },
  });

  let flushing: Promise<void> | null = null;
  const doFlush = async (): Promise<void> => {
    const rows = acc.drain();
    const meta = metaPending;
    metaPending = [];
    acc.prune(Date.now());
    // Held rows go first; a row counts as written only once its append returned.
    const r = await writer.write(rows, meta);
    recordsWritten += r.written;
    metadataWritten += r.metadataWritten;
    if (r.failed) flushFailures++;
    const sessions = shared.drain((id) => loginOfRoom.get(id));
    try {
      sharedChatWritten += await raw.writeSharedChat(sessions);
    } catch (err) {
      flushFailures++;
      shared.restore(sessions);
      log.error('shared-chat flush failed', { error: String(err) });
    }
  };
  const flush = (): Promise<void> => {
    if (!flushing) {
      flushing = doFlush().finally(() => {
        flushing = null;
      });
    }
    return flushing;
  };

  let lastLines = 0;
  let lastAt = Date.now();
  let rate = 0;
  let lastMetricLines = 0;
  let lastMetricReconnects = 0;
  let lastMetricRecords = 0;
  let lastMetricFailures = 0;
  let lastMetricLost = 0;
  const status = (): CollectStatus => ({
    channelsWanted: pool.size,
    channelsJoined: pool.joined,
    connections: pool.connections.length,
    messagesPerSecond: rate,
    linesReceived: pool.counters.linesReceived,
    recordsWritten: recordsWritten + metadataWritten,
    reconnects: pool.counters.reconnects,
    flushFailures,
    invalidLines: pool.counters.invalidLines,
    unjoinable: unjoinableCount(pool),
  });
  const tickStatus = () => {
    const now = Date.now();
    const lines = pool.counters.linesReceived;
    rate = ((lines - lastLines) * 1000) / Math.max(1, now - lastAt);
    lastLines = lines;
    lastAt = now;
    opts.onStatus?.(status());
  };
  const emitMetrics = (s: CollectStatus = status()) => {
    metrics.emit({
      MessagesPerSecond: Math.round(s.messagesPerSecond),
      LinesReceived: s.linesReceived - lastMetricLines,
      RecordsWritten: s.recordsWritten - lastMetricRecords,
      Reconnects: s.reconnects - lastMetricReconnects,
      FlushFailures: s.flushFailures - lastMetricFailures,
      ChannelsJoined: s.channelsJoined,
      RowsHeld: writer.heldRowCount,
      RowsLost: writer.lost.rows - lastMetricLost,
    });
    lastMetricLost = writer.lost.rows;
    lastMetricLines = s.linesReceived;
    lastMetricRecords = s.recordsWritten;
    lastMetricReconnects = s.reconnects;
    lastMetricFailures = s.flushFailures;
  };

  const timers: NodeJS.Timeout[] = [
    setInterval(
      () => void flush().catch((err) => log.error('flush crashed', { error: String(err) })),
      c.flush_seconds * 1000,
    ),
    setInterval(tickStatus, c.status_seconds * 1000),
    setInterval(() => emitMetrics(), opts.metricsEveryMs ?? 60_000),
  ];
  if (opts.compact) {
    let compacting = false;
    const run = () => {
      if (compacting) return;
      compacting = true;
      opts
        .compact?.()
        .catch((err) => log.warn('compaction failed', { error: String(err) }))
        .finally(() => {
          compacting = false;
        });
    };
    timers.push(setInterval(run, opts.compactEveryMs ?? 15 * 60_000));
  }

  log.info('collector starting', {
    collector: collectorId,
    endpoint: endpoint.display,
    channels: opts.channels.length,
    anonymous: !token,
    joinLimit: `${c.join_limit}/${c.join_window_seconds}s`,
  });
  pool.setChannels(opts.channels);

  let stopped: Promise<CollectSummary> | null = null;
  return {
    collectorId,
    status,
    setChannels: (channels) => {
      const r = pool.setChannels(channels);
      log.info('channels reloaded', {
        added: r.added.length,
        removed: r.removed.length,
        channels: pool.size,
      });
      return r;
    },
    flush,
    stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        for (const t of timers) clearInterval(t);
        limiter.stop();
        const joined = pool.joined;
        tickStatus();
        const last = status();
        const unjoinable = unjoinableChannels(pool);
        pool.stop();
        await flush();
        // Held rows (a full disk) get a few more tries before they are reported unwritten.
        const retryUntil = Date.now() + (opts.stopRetryMs ?? 3000);
        while (
          (writer.heldCount > 0 || metaPending.length > 0 || shared.size > 0) &&
          Date.now() < retryUntil
        ) {
          await new Promise((r) => setTimeout(r, 500));
          await flush();
        }
        const unwritten = writer.unwritten();
        if (unwritten.rows > 0 || unwritten.metadata > 0)
          log.error('storage refused rows until the end; they are not written', {
            ...unwritten,
            error: String(writer.lastError),
          });
        emitMetrics({
          ...status(),
          channelsJoined: last.channelsJoined,
          messagesPerSecond: last.messagesPerSecond,
        });
        const summary: CollectSummary = {
          collectorId,
          linesReceived: pool.counters.linesReceived,
          messages,
          membershipRows,
          recordsWritten,
          metadataWritten,
          sharedChatCopies,
          sharedChatWritten,
          nonViewerLines,
          reconnects: pool.counters.reconnects,
          flushFailures,
          invalidLines: pool.counters.invalidLines,
          channelsJoined: joined,
          unjoinable,
          durationMs: Date.now() - startedAt,
          unwritten,
          ...(unwritten.rows > 0 || unwritten.metadata > 0
            ? { writeError: errorText(writer.lastError) }
            : {}),
        };
        log.info('collector stopped', { ...summary });
        return summary;
      })();
      return stopped;
    },
  };
}
