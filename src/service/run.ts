/**
 * `vieweratlas run`: the single-machine service. One process discovers top streams on a
 * schedule, collects their chat without pause, compacts closed hours, and re-analyses and
 * re-renders the atlas on a schedule into a stable folder:
 *
 *   <out>/releases/<stamp>/   one complete analysis + atlas per run (the newest `keep_releases` kept)
 *   <out>/current  → releases/<newest>     swapped atomically (symlink renamed over the old one)
 *   <out>/previous → releases/<the one before>
 *
 * A reader of `<out>/current/atlas.html` never sees a half-written folder: each release is
 * written in a staging folder, renamed into `releases/`, and only then pointed at. A JSON status
 * is served on 127.0.0.1 (never another interface). The caller owns signals: aborting `signal`
 * stops the schedules, waits for a running stage, flushes the collector and resolves.
 */
import { mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { readChannelsFile } from '../collect/channels-file.js';
import { type CollectSummary, startCollector } from '../collect/collector.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import { compactRaw } from '../ingest/compact.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { analyze } from '../pipeline/analyze.js';
import { renderAtlas } from '../render/index.js';
import type { Storage } from '../storage/storage.js';
import { discover } from '../twitch/helix/discover.js';

export interface RunServiceOptions {
  storage: Storage;
  /** The stable output folder (`current`, `previous`, `releases/` live in it). */
  out: string;
  /** Channels file: written by discovery, read when discovery is off or fails. */
  channelsFile: string;
  /** Aborting it stops the service gracefully. */
  signal: AbortSignal;
  log: Logger;
  metrics?: Metrics;
  /** Environment holding TWITCH_CLIENT_ID / TWITCH_CLIENT_SECRET (discovery) and chat credentials. */
  env?: Record<string, string | undefined>;
  /** Called once the status endpoint listens, with its URL. */
  onListening?: (url: string) => void;
  /** Clock (tests). */
  now?: () => number;
}

/** What `GET /status` answers. */
export interface ServiceStatus {
  state: 'starting' | 'running' | 'stopping';
  startedAt: string;
  pid: number;
  discovery: null | { at: string; channels: number; durationMs: number; skipped?: string };
  collect: {
    channelsWanted: number;
    channelsJoined: number;
    linesPerSecond: number;
    recordsWritten: number;
  };
  compaction: null | { at: string; durationMs: number };
  analysis: null | {
    at: string;
    durationMs: number;
    channels: number;
    communities: number;
    groups: number;
    /** The release folder `current` points at. */
    folder: string;
  };
  next: { discovery: string | null; analysis: string | null };
  /** The most recent errors (at most 20), newest last. */
  errors: { at: string; stage: string; message: string }[];
}

export interface RunServiceSummary {
  collect: CollectSummary;
  discoveries: number;
  analyses: number;
  errors: number;
}

const MAX_ERRORS = 20;

/** Release folder names sort in time order: `2026-12-01T10-20-30-123Z`. */
export const releaseStamp = (ms: number): string => new Date(ms).toISOString().replace(/[:.]/g, '-');

/**
 * Points `<out>/<name>` at `target` atomically: a new symlink under a temporary name, renamed
 * over the old link (rename(2) replaces it in one step, so readers see the old or the new one).
 */
async function swapLink(out: string, name: string, target: string): Promise<void> {
  const tmp = join(out, `.${name}-${process.pid}-${Date.now()}`);
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  await rename(tmp, join(out, name));
}

async function currentTarget(out: string, name: string): Promise<string | null> {
  return readlink(join(out, name)).catch(() => null);
}

export async function runService(config: Config, opts: RunServiceOptions): Promise<RunServiceSummary> {
  const now = opts.now ?? Date.now;
  const env = opts.env ?? process.env;
  const out = resolve(opts.out);
  const releases = join(out, 'releases');
  await mkdir(releases, { recursive: true });
  const log = opts.log;
  const r = config.run;
  const iso = (ms: number) => new Date(ms).toISOString();

  const status: ServiceStatus = {
    state: 'starting',
    startedAt: iso(now()),
    pid: process.pid,
    discovery: null,
    collect: { channelsWanted: 0, channelsJoined: 0, linesPerSecond: 0, recordsWritten: 0 },
    compaction: null,
    analysis: null,
    next: { discovery: null, analysis: null },
    errors: [],
  };
  let errorCount = 0;
  const fail = (stage: string, err: unknown) => {
    errorCount += 1;
    const message = err instanceof Error ? err.message : String(err);
    status.errors.push({ at: iso(now()), stage, message });
    if (status.errors.length > MAX_ERRORS) status.errors.shift();
    log.error(`${stage} failed`, { error: message });
  };

  // --- status endpoint first: a supervisor can watch the start -------------------------------
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/status' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found; GET /status"}\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(`${JSON.stringify(status, null, 2)}\n`);
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new InputError(
              'run',
              `run.status_port ${r.status_port}: 127.0.0.1:${r.status_port} is already in use`,
            )
          : err,
      ),
    );
    server.listen(r.status_port, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as { port: number }).port;
  const statusUrl = `http://127.0.0.1:${port}/status`;
  log.info('status endpoint listening', { url: statusUrl });
  opts.onListening?.(statusUrl);

  const closeServer = () => new Promise<void>((done) => server.close(() => done()));
  const canDiscover = r.discover_seconds > 0 && Boolean(env.TWITCH_CLIENT_ID && env.TWITCH_CLIENT_SECRET);

  // --- discovery -----------------------------------------------------------------------------
  let discoveries = 0;
  const runDiscovery = async (): Promise<string[] | null> => {
    const t0 = now();
    try {
      const found = await discover(config, { storage: opts.storage, channelsFile: opts.channelsFile, env });
      discoveries += 1;
      status.discovery = { at: iso(now()), channels: found.channels.length, durationMs: now() - t0 };
      return found.channels;
    } catch (err) {
      fail('discover', err);
      return null;
    }
  };

  let channels: string[] = [];
  try {
    if (canDiscover) channels = (await runDiscovery()) ?? [];
    else
      status.discovery = {
        at: iso(now()),
        channels: 0,
        durationMs: 0,
        skipped: 'no TWITCH_CLIENT_ID / TWITCH_CLIENT_SECRET: using the channels file',
      };
    if (channels.length === 0) channels = await readChannelsFile(opts.channelsFile).catch(() => []);
    if (channels.length === 0) {
      throw new InputError(
        'run',
        `no channels to collect: ${canDiscover ? 'discovery found none and ' : 'set TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET for discovery, or '}list logins in ${opts.channelsFile}`,
      );
    }
  } catch (err) {
    await closeServer();
    throw err;
  }

  // --- collection, with compaction of closed hours -------------------------------------------
  // A failure no reconnect can cure (Twitch refused the chat login) stops the service too.
  const stopping = new AbortController();
  const onAbort = () => stopping.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  if (opts.signal.aborted) stopping.abort();
  let fatal: Error | null = null;
  const collector = startCollector(config, {
    onFatal: (err) => {
      fatal = err;
      fail('collect', err);
      stopping.abort();
    },
    storage: opts.storage,
    channels,
    log,
    metrics: opts.metrics,
    env,
    ...(r.compact_seconds > 0
      ? {
          compact: async () => {
            const t0 = now();
            try {
              await compactRaw(opts.storage, { now: now() });
              status.compaction = { at: iso(now()), durationMs: now() - t0 };
            } catch (err) {
              fail('compact', err);
            }
          },
          compactEveryMs: r.compact_seconds * 1000,
        }
      : {}),
  });
  const refreshCollect = () => {
    const s = collector.status();
    status.collect = {
      channelsWanted: s.channelsWanted,
      channelsJoined: s.channelsJoined,
      linesPerSecond: Math.round(s.messagesPerSecond * 10) / 10,
      recordsWritten: s.recordsWritten,
    };
  };
  const statusTimer = setInterval(refreshCollect, 1000);
  status.state = 'running';

  // --- analysis + render into a new release, swapped in ---------------------------------------
  let analyses = 0;
  const runAnalysis = async () => {
    const t0 = now();
    const stamp = releaseStamp(t0);
    const staging = join(releases, `.staging-${stamp}`);
    try {
      const windowed: Config =
        r.window_hours > 0
          ? {
              ...config,
              aggregate: {
                ...config.aggregate,
                window_start: iso(t0 - r.window_hours * 3_600_000),
                window_end: null,
              },
            }
          : config;
      const result = await analyze(windowed, { out: staging, storage: opts.storage });
      await renderAtlas(windowed, {
        dir: staging,
        attribution: 'Data: Twitch chat collected by ViewerAtlas',
      });
      await rename(staging, join(releases, stamp));
      const before = await currentTarget(out, 'current');
      await swapLink(out, 'current', join('releases', stamp));
      if (before) await swapLink(out, 'previous', before);
      await pruneReleases(releases, r.keep_releases);
      analyses += 1;
      status.analysis = {
        at: iso(now()),
        durationMs: now() - t0,
        channels: result.summary.counts.channels,
        communities: result.summary.counts.communities,
        groups: result.summary.counts.groups ?? result.summary.counts.communities,
        folder: join(releases, stamp),
      };
      log.info('analysis swapped in', { folder: join(out, 'current'), durationMs: now() - t0 });
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      fail('analyze', err);
    }
  };

  // --- schedules: one stage at a time, never overlapping itself ------------------------------
  const timers: NodeJS.Timeout[] = [];
  let running: Promise<void> = Promise.resolve();
  const schedule = (
    name: 'discovery' | 'analysis',
    firstMs: number,
    everyMs: number,
    task: () => Promise<void>,
  ) => {
    const arm = (ms: number) => {
      status.next[name] = iso(now() + ms);
      const t = setTimeout(() => {
        if (stopping.signal.aborted) return;
        running = running.then(task).finally(() => {
          if (!stopping.signal.aborted) arm(everyMs);
        });
      }, ms);
      timers.push(t);
    };
    arm(firstMs);
  };
  if (canDiscover && r.discover_seconds > 0) {
    schedule('discovery', r.discover_seconds * 1000, r.discover_seconds * 1000, async () => {
      const found = await runDiscovery();
      if (found === null) return;
      if (found.length === 0) {
        fail('discover', new Error('discovery found no live channels; keeping the current list'));
        return;
      }
      const change = collector.setChannels(found);
      log.info('channels updated from discovery', {
        added: change.added.length,
        removed: change.removed.length,
      });
    });
  }
  schedule('analysis', r.first_analysis_seconds * 1000, r.analyze_seconds * 1000, runAnalysis);

  // --- until the signal -----------------------------------------------------------------------
  await new Promise<void>((done) => {
    if (stopping.signal.aborted) done();
    else stopping.signal.addEventListener('abort', () => done(), { once: true });
  });
  opts.signal.removeEventListener('abort', onAbort);
  status.state = 'stopping';
  status.next = { discovery: null, analysis: null };
  for (const t of timers) clearTimeout(t);
  log.info('stopping: waiting for a running stage, then flushing the collector');
  await running;
  const collected = await collector.stop();
  clearInterval(statusTimer);
  refreshCollect();
  await closeServer();
  if (fatal) throw fatal;
  return { collect: collected, discoveries, analyses, errors: errorCount };
}

/** Deletes the oldest release folders beyond `keep` (never the ones `current`/`previous` name). */
async function pruneReleases(releases: string, keep: number): Promise<void> {
  const names = (await readdir(releases)).filter((n) => !n.startsWith('.')).sort();
  for (const old of names.slice(0, Math.max(0, names.length - keep))) {
    await rm(join(releases, old), { recursive: true, force: true });
  }
}
