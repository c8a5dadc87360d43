import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { DEFAULTS, simulatePopulation } from '../../simulate/model.js';
import { addCommonOptions, intFlag, numberFlag, resolveConfig } from '../common.js';
import { createProgress } from '../progress.js';

interface SimulateFlags {
  channels: number;
  viewers: number;
  communities: number;
  mixing: number;
  seed: number;
  out: string;
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
      .option('--out <dir>', 'output folder', 'out/sim'),
  ).action(async (flags: SimulateFlags) => {
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
      `simulate: ${flags.channels.toLocaleString('en-US')} channels, ${flags.viewers.toLocaleString('en-US')} viewers, ` +
        `${flags.communities} communities, mixing ${flags.mixing}, seed ${flags.seed}: ` +
        `${files.rows.toLocaleString('en-US')} presence rows (${(files.bytes / 1e6).toFixed(1)} MB) in ${secs.toFixed(1)} s`,
    );
    console.log(`  ${files.presence}\n  ${files.channels}\n  ${files.truth}`);
  });
}
