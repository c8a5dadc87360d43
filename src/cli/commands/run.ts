import type { Command } from 'commander';
import { addCommonOptions, type CommonOptions, intFlag, resolveConfig, thousands } from '../common.js';

interface RunFlags extends CommonOptions {
  out: string;
  channels?: string;
  statusPort?: number;
}

export function registerRun(program: Command): void {
  addCommonOptions(
    program
      .command('run')
      .description(
        'the single-machine service: discover on a schedule, collect, compact closed hours, re-analyse and re-render ' +
          'into --out/current (the previous release kept as --out/previous); JSON status on 127.0.0.1; SIGTERM/SIGINT stop gracefully',
      )
      .option('--out <dir>', 'stable output folder (current/, previous/, releases/)', 'out/atlas')
      .option('--channels <file>', 'channels file (default: collect.channels_file)')
      .option(
        '--status-port <n>',
        'status endpoint port on 127.0.0.1 (default: run.status_port; 0 = any)',
        intFlag('--status-port'),
      ),
  ).action(async (flags: RunFlags) => {
    const config = resolveConfig(
      flags,
      flags.statusPort !== undefined ? { run: { status_port: flags.statusPort } } : {},
    );
    // Modules load only when the command runs (`--help` stays fast).
    const [{ runService }, { createLogger }, { createMetrics }, { openStorage }, { defaultCollectorId }] =
      await Promise.all([
        import('../../service/run.js'),
        import('../../observability/logger.js'),
        import('../../observability/metrics.js'),
        import('../../storage/index.js'),
        import('../../collect/collector.js'),
      ]);
    const log = createLogger({ component: 'run' });
    const storage = await openStorage(config);
    const metrics = createMetrics({
      namespace: config.metrics.namespace,
      enabled: config.metrics.emf && !process.stdout.isTTY,
      dimensions: { Collector: defaultCollectorId(config) },
    });
    const abort = new AbortController();
    const onSignal = (signal: string) => () => {
      log.info('signal received, stopping', { signal });
      abort.abort();
    };
    const onTerm = onSignal('SIGTERM');
    const onInt = onSignal('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    try {
      const summary = await runService(config, {
        storage,
        out: flags.out,
        channelsFile: flags.channels ?? config.collect.channels_file,
        signal: abort.signal,
        log,
        metrics,
        onListening: (url) => process.stderr.write(`run: status on ${url}\n`),
      });
      process.stderr.write(
        `run: stopped; ${thousands(summary.collect.recordsWritten)} presence rows stored, ` +
          `${summary.analyses} analyses, ${summary.discoveries} discoveries, ${summary.errors} errors\n`,
      );
      const u = summary.collect.unwritten;
      if (u.rows > 0 || u.metadata > 0) {
        // Rows that storage refused until the end (a full disk) are gone: say so and fail.
        const { StorageError } = await import('../../errors.js');
        throw new StorageError(
          'run',
          `${u.rows} presence rows (${u.messages} chat messages) and ${u.metadata} metadata lines could not be written to ${storage.location} and are lost: ${summary.collect.writeError ?? 'storage error'}`,
        );
      }
    } finally {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      await storage.close();
    }
  });
}
