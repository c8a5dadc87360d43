import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import { InputError } from '../../errors.js';
import { runDemo } from '../../render/demo.js';
import { addCommonOptions, type CommonOptions, resolveConfig } from '../common.js';
import { createProgress, type Progress } from '../progress.js';

interface DemoFlags extends CommonOptions {
  out: string;
  live?: boolean;
}

const fmt = (n: number) => n.toLocaleString('en-US');

export function registerDemo(program: Command): void {
  addCommonOptions(
    program
      .command('demo')
      .description('the whole atlas from built-in data (Twitch, October 2021), offline')
      .option('--out <dir>', 'output folder', 'out/demo')
      .option('--live', 'run the full pipeline against a local twitch-sim instead of the bundled data'),
  ).action(async (flags: DemoFlags) => {
    const config = resolveConfig(flags);
    const progress = createProgress();
    if (flags.live) return runLiveDemo(config, flags, progress);
    const t0 = performance.now();
    const r = await runDemo(config, { out: flags.out, onProgress: progress.update });
    progress.done();
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `demo: ${fmt(r.channels)} channels, ${fmt(r.edges)} overlaps, ${fmt(r.communities)} communities ` +
        `(modularity ${r.modularity.toFixed(3)}) in ${s} s`,
    );
    console.log(
      `  stages: ${Object.entries(r.timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')}`,
    );
    console.log(`  map:         ${r.png}`);
    console.log(`  interactive: ${r.html}   (open it in a browser; works offline)`);
    console.log(
      `  data:        ${r.channelsCsv}  (+ communities.csv, edges.csv, .parquet, atlas.gexf, summary.json)`,
    );
    console.log('  Data: Twitch Atlas, October 2021, by Kiran Gershenfeld (MIT License).');
  });
}

/** `demo --live`: the COLLECT owner replaces this with the twitch-sim pipeline. */
async function runLiveDemo(_config: Config, _flags: DemoFlags, _progress: Progress): Promise<void> {
  throw new InputError('demo', '--live is not available yet');
}
