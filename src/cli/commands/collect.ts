import type { Command } from 'commander';
import { StorageError } from '../../errors.js';
import type { Storage } from '../../storage/storage.js';
import { addCommonOptions, type CommonOptions, numberFlag, resolveConfig, thousands } from '../common.js';

const fmt = thousands;

interface CollectFlags extends CommonOptions {
  channels?: string;
  chatUrl?: string;
  duration?: number;
}

/** INGEST's compactRaw, when that module provides it. */
async function compactor(storage: Storage): Promise<(() => Promise<void>) | undefined> {
  try {
    const spec = '../../ingest/index.js';
    const mod = (await import(spec)) as {
      compactRaw?: (s: Storage, o?: { now?: number }) => Promise<unknown>;
    };
    const fn = mod.compactRaw;
    return fn ? async () => void (await fn(storage, { now: Date.now() })) : undefined;
  } catch {
    return undefined;
  }
}

export function registerCollect(program: Command): void {
  addCommonOptions(
    program
      .command('collect')
      .description(
        'live chat → presence records (SIGTERM/SIGINT flush and exit 0, 2 when storage refused rows until the end; SIGHUP reloads the channels file)',
      )
      .option('--channels <file>', 'channels file, one login a line (default: collect.channels_file)')
      .option(
        '--chat-url <url>',
        'chat endpoint: wss://, ws://, irc:// or ircs:// (default: collect.chat_url)',
      )
      .option(
        '--duration <seconds>',
        'run this long, flush and exit',
        numberFlag('--duration', { above: 0 }),
      ),
  ).action(async (flags: CollectFlags) => {
    const [
      { defaultCollectorId },
      { runCollect },
      { createLogger },
      { createMetrics },
      { createStatusSink },
      { openStorage },
    ] = await Promise.all([
      import('../../collect/collector.js'),
      import('../../collect/run.js'),
      import('../../observability/logger.js'),
      import('../../observability/metrics.js'),
      import('../../observability/status.js'),
      import('../../storage/index.js'),
    ]);
    const config = resolveConfig(flags, flags.chatUrl ? { collect: { chat_url: flags.chatUrl } } : {});
    // On a terminal: the status line, and only warnings and errors (clearing the line first).
    // Elsewhere: JSON logs on stderr. EMF metrics go to stdout unless stdout is a terminal.
    const tty = Boolean(process.stderr.isTTY);
    const log = createLogger({
      component: 'collect',
      level: tty ? 'warn' : undefined,
      write: tty ? (line) => process.stderr.write(`\r\x1b[2K${line}`) : undefined,
    });
    const storage = await openStorage(config);
    const status = createStatusSink(log, process.stderr, Math.max(10, config.collect.status_seconds) * 1000);
    const metrics = createMetrics({
      namespace: config.metrics.namespace,
      enabled: config.metrics.emf && !process.stdout.isTTY,
      dimensions: { Collector: defaultCollectorId(config) },
    });
    const abort = new AbortController();
    const stop = (sig: string) => {
      log.info('signal received, flushing', { signal: sig });
      abort.abort();
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    let reload: (() => Promise<void>) | null = null;
    const onHup = () => void reload?.();
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
    try {
      const summary = await runCollect(config, {
        storage,
        channelsFile: flags.channels,
        durationMs: flags.duration !== undefined ? flags.duration * 1000 : undefined,
        signal: abort.signal,
        onReloadReady: (r) => {
          reload = r;
        },
        onStatus: (s) => status.update(s),
        log,
        metrics,
        compact: await compactor(storage),
      });
      status.done();
      process.stderr.write(
        `collect: ${fmt(summary.messages)} chat lines, ${fmt(summary.recordsWritten)} presence rows ` +
          `in ${storage.location} (collector ${summary.collectorId})\n`,
      );
      if (summary.unjoinable.length > 0) {
        const list = summary.unjoinable.slice(0, 20).map((u) => `${u.channel} (${u.reason})`);
        process.stderr.write(
          `collect: ${summary.unjoinable.length} channel(s) refused by Twitch, not retried until the list is reloaded: ${list.join(', ')}${summary.unjoinable.length > 20 ? ', …' : ''}\n`,
        );
      }
      const u = summary.unwritten;
      if (u.rows > 0 || u.metadata > 0) {
        // Rows that storage refused until the end (a full disk) are gone: say so and fail.
        throw new StorageError(
          'collect',
          `${fmt(u.rows)} presence rows (${fmt(u.messages)} chat messages) and ${fmt(u.metadata)} metadata lines could not be written to ${storage.location} and are lost: ${summary.writeError ?? 'storage error'}`,
        );
      }
    } finally {
      status.done();
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      await storage.close();
    }
  });
}
