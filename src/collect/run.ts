/**
 * `collect` as one library call: read and shard the channel list, run the collector until the
 * duration ends or `signal` aborts, reload the list when `reload` fires, flush, return totals.
 * Signals are the CLI's business: it turns SIGTERM/SIGINT into `signal` and SIGHUP into `reload`.
 */
import { stat } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { CollectStatus } from '../observability/status.js';
import { assertWritable, type Storage } from '../storage/storage.js';
import { readChannelsFile } from './channels-file.js';
import { type CollectSummary, startCollector } from './collector.js';
import { resolveShard, shardChannels } from './shard.js';

export interface RunCollectOptions {
  storage: Storage;
  /** Channels file (default `collect.channels_file`). */
  channelsFile?: string;
  /** Run this long, then flush and return; undefined = until `signal`. */
  durationMs?: number;
  signal?: AbortSignal;
  /** Called with a function the caller invokes to reload the channels file (SIGHUP). */
  onReloadReady?: (reload: () => Promise<void>) => void;
  onStatus?: (s: CollectStatus) => void;
  log?: Logger;
  metrics?: Metrics;
  env?: Record<string, string | undefined>;
  /** Compaction of closed hours, when available (INGEST's compactRaw). */
  compact?: () => Promise<void>;
}

export async function runCollect(config: Config, opts: RunCollectOptions): Promise<CollectSummary> {
  const file = opts.channelsFile ?? config.collect.channels_file;
  const shard = resolveShard(config.shard, opts.env ?? process.env);
  const load = async () => shardChannels(await readChannelsFile(file), shard.index, shard.count);
  const channels = await load();
  if (channels.length === 0) {
    throw new InputError('collect', `${file}: no channels for shard ${shard.index}/${shard.count}`);
  }
  // Collecting into storage that cannot take a byte would throw every row away: refuse at start.
  await assertWritable(opts.storage, 'collect');
  let fatal: Error | null = null;
  let onFatal: (() => void) | null = null;
  const collector = startCollector(config, {
    storage: opts.storage,
    channels,
    onStatus: opts.onStatus,
    log: opts.log,
    metrics: opts.metrics,
    env: opts.env,
    compact: opts.compact,
    onFatal: (err) => {
      fatal = err;
      onFatal?.();
    },
  });
  const reload = async () => {
    try {
      const next = await load();
      // An emptied file (a discovery that found nothing, a truncated copy) must not stop collection.
      if (next.length === 0)
        throw new InputError(
          'collect',
          `${file}: no channels for shard ${shard.index}/${shard.count}; refusing an empty channel list`,
        );
      collector.setChannels(next);
    } catch (err) {
      // A broken file on reload keeps the current list: the collector must not die of a typo.
      opts.log?.error('channels reload failed; keeping the current list', { error: String(err) });
    }
  };
  opts.onReloadReady?.(reload);
  // Containers cannot be sent SIGHUP (ECS): also reload when the file changes on disk.
  const version = async () => {
    const s = await stat(file).catch(() => null);
    return s ? `${s.mtimeMs}:${s.size}` : '';
  };
  let seen = await version();
  const watch =
    config.collect.reload_seconds > 0
      ? setInterval(async () => {
          const now = await version();
          if (now === '' || now === seen) return;
          seen = now;
          opts.log?.info('channels file changed, reloading', { file });
          await reload();
        }, config.collect.reload_seconds * 1000)
      : null;
  watch?.unref();
  await new Promise<void>((resolve) => {
    const timer = opts.durationMs !== undefined ? setTimeout(resolve, opts.durationMs) : null;
    onFatal = () => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    if (fatal) onFatal();
    if (opts.signal?.aborted) resolve();
    opts.signal?.addEventListener('abort', () => {
      if (timer) clearTimeout(timer);
      resolve();
    });
  });
  if (watch) clearInterval(watch);
  const summary = await collector.stop();
  // What was received before the failure is flushed; then the failure is the result.
  if (fatal) throw fatal;
  return summary;
}
