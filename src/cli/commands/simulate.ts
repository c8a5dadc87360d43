import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { DEFAULTS, simulatePopulation } from '../../simulate/model.js';
import { addCommonOptions, intFlag, numberFlag, resolveConfig, thousands } from '../common.js';
import { createProgress } from '../progress.js';

interface SimulateFlags {
  channels: number;
  viewers: number;
  communities: number;
  mixing: number;
  seed: number;
  out: string;
  drift?: boolean;
  days?: number;
  config?: string;
  preset?: string;
  data?: string;
}

export function registerSimulate(program: Command): void {
  addCommonOptions(
    program
      .command('simulate')
      .description('synthetic data set with planted communities: presence.csv, channels.csv, truth.csv')
      .option('--channels <n>', 'number of channels', intFlag('--channels', 1), DEFAULTS.channels)
      .option('--viewers <n>', 'number of viewers', intFlag('--viewers', 0), DEFAULTS.viewers)
      .option('--communities <n>', 'planted communities', intFlag('--communities', 1), DEFAULTS.communities)
      .option(
        '--mixing <x>',
        'share of visits outside the home community (0..1)',
        numberFlag('--mixing'),
        DEFAULTS.mixing,
      )
      .option('--seed <n>', 'random seed (same seed = same files)', intFlag('--seed', 0), DEFAULTS.seed)
      .option('--out <dir>', 'output folder', 'out/sim')
      .option(
        '--drift',
        'a drifting population over --days (for `timeline`): channels of community 1 move to community 2 half-way, community 0 splits, a new community appears; truth.csv per day',
      )
      .option('--days <n>', 'days of a --drift population (default 6)', intFlag('--days', 2)),
  ).action(async (flags: SimulateFlags) => {
    if (flags.drift) return simulateDriftFiles(flags);
    const { writeSimulation } = await import('../../simulate/write.js');
    // `… | head` closes stdout early: the work is done, so a broken pipe is not an error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
    resolveConfig(flags); // validates --config/--preset like every command
    if (flags.mixing < 0 || flags.mixing > 1)
      throw new InputError('simulate', `--mixing: expected a number within 0..1, got "${flags.mixing}"`);
    if (flags.communities > flags.channels) {
      throw new InputError(
        'simulate',
        `--communities: expected at most --channels (${flags.channels}), got "${flags.communities}"`,
      );
    }
    const progress = createProgress();
    const t0 = performance.now();
    const pop = simulatePopulation({
      channels: flags.channels,
      viewers: flags.viewers,
      communities: flags.communities,
      mixing: flags.mixing,
      seed: flags.seed,
    });
    const files = await writeSimulation(pop, flags.out, { onProgress: progress.update });
    progress.done();
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `simulate: ${thousands(flags.channels)} channels, ${thousands(flags.viewers)} viewers, ` +
        `${flags.communities} communities, mixing ${flags.mixing}, seed ${flags.seed}: ` +
        `${thousands(files.rows)} presence rows (${(files.bytes / 1e6).toFixed(1)} MB) in ${secs.toFixed(1)} s`,
    );
    console.log(`  ${files.presence}\n  ${files.channels}\n  ${files.truth}`);
  });
}

/** `simulate --drift`: presence.csv and a per-day truth.csv of `simulateDrift`. */
async function simulateDriftFiles(flags: SimulateFlags): Promise<void> {
  resolveConfig(flags);
  const [{ simulateDrift }, { writeTextAtomic }, { mkdirSync }, { join }] = await Promise.all([
    import('../../simulate/drift.js'),
    import('../../export/atomic.js'),
    import('node:fs'),
    import('node:path'),
  ]);
  if (flags.communities < 3)
    throw new InputError(
      'simulate',
      `--communities: a --drift population needs at least 3, got "${flags.communities}"`,
    );
  const days = flags.days ?? 6;
  const pop = simulateDrift({
    channels: flags.channels,
    viewers: flags.viewers,
    communities: flags.communities,
    mixing: flags.mixing,
    seed: flags.seed,
    days,
    moveDay: Math.floor(days / 2),
    splitDay: Math.min(days - 1, Math.floor((2 * days) / 3)),
    appearDay: Math.max(1, Math.floor(days / 3)),
    newChannels: Math.max(5, Math.round(flags.channels / flags.communities)),
  });
  mkdirSync(flags.out, { recursive: true });
  const presence = join(flags.out, 'presence.csv');
  const truth = join(flags.out, 'truth.csv');
  writeTextAtomic(presence, (w) => {
    w('channel,viewer,ts\n');
    for (const [c, v, t] of pop.rows) w(`${pop.channels[c]},dv${v},${new Date(t).toISOString()}\n`);
  });
  writeTextAtomic(truth, (w) => {
    w('day,channel,community\n');
    pop.truth.forEach((t, d) => {
      t.forEach((g, c) => {
        if (g >= 0)
          w(
            `${new Date(pop.options.start + d * 86_400_000).toISOString().slice(0, 10)},${pop.channels[c]},${g}\n`,
          );
      });
    });
  });
  const o = pop.options;
  console.log(
    `simulate --drift: ${pop.channels.length} channels over ${days} days, ${thousands(pop.rows.length)} presence rows; ` +
      `day ${o.appearDay}: a new community of ${o.newChannels} channels; day ${o.moveDay}: ${o.movers} channels move from community 1 to 2; ` +
      `day ${o.splitDay}: community 0 splits`,
  );
  console.log(`  ${presence}\n  ${truth}`);
}
