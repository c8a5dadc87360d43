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
import { parseChatUrl } from './endpoint.js';
import { JoinLimiter } from './join-limiter.js';
import { ChatPool, unjoinableChannels, unjoinableCount } from './pool.js';
import { PresenceAccumulator } from './presence.js';
import { type CollectedMetadata, RawWriter } from './writer.js';

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
  reconnects: number;
  flushFailures: number;
  invalidLines: number;
  channelsJoined: number;
  /** Channels Twitch refused for good (suspended, banned), with the NOTICE msg-id; not retried. */
  unjoinable: { channel: string; reason: string }[];
  durationMs: number;
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
  const writer = new RawWriter(opts.storage, collectorId);
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

  const onEvent = (ev: ChatEvent): void => {
    switch (ev.type) {
      case 'message':
      case 'usernotice': {
        const now = Date.now();
        const ts = ev.sentAt !== undefined && Math.abs(ev.sentAt - now) < MAX_CLOCK_SKEW_MS ? ev.sentAt : now;
        acc.addMessage(ev.channel, pseudo(ev.login), ts);
        messages++;
        return;
      }
      case 'join':
        if (!c.membership || ANON.test(ev.login)) return;
        acc.addMembership(ev.channel, pseudo(ev.login), Date.now());
        membershipRows++;
        return;
      case 'roomstate': {
        if (!ev.roomId) return; // a partial update (slow mode changed …) says nothing new
        const now = Date.now();
        const mark = `${ev.roomId}@${Math.floor(now / 3600_000)}`;
        if (metaSeen.get(ev.channel) === mark) return;
        metaSeen.set(ev.channel, mark);
        metaPending.push({ channel: ev.channel, observed_at: now, room_id: ev.roomId });
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
    const r = await writer.writePresence(rows);
    recordsWritten += r.written;
    if (r.failed.length > 0) {
      flushFailures++;
      acc.restore(r.failed);
      log.error('flush failed; rows kept for the next flush', {
        rows: r.failed.length,
        error: String(r.error),
      });
    }
    try {
      metadataWritten += await writer.writeMetadata(meta);
    } catch (err) {
      flushFailures++;
      metaPending = meta.concat(metaPending);
      log.error('metadata flush failed', { error: String(err) });
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
    });
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
        // Rows restored by a failed flush get one more try before giving up.
        if (acc.pendingMessages > 0 || metaPending.length > 0) await flush();
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
          reconnects: pool.counters.reconnects,
          flushFailures,
          invalidLines: pool.counters.invalidLines,
          channelsJoined: joined,
          unjoinable,
          durationMs: Date.now() - startedAt,
        };
        log.info('collector stopped', { ...summary });
        return summary;
      })();
      return stopped;
    },
  };
}
