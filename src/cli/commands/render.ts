import type { Command } from 'commander';
import { addCommonOptions, type CommonOptions, resolveConfig } from '../common.js';
import { createProgress } from '../progress.js';

interface RenderFlags extends CommonOptions {
  out: string;
  relayout?: boolean;
}

export function registerRender(program: Command): void {
  addCommonOptions(
    program
      .command('render')
      .description(
        'analysis folder → atlas.png + atlas.html (runs the layout first when channels.csv has no x,y)',
      )
      .option('--out <dir>', 'the analysis folder to draw (written by `analyze`)', 'out/atlas')
      .option('--relayout', 'run the layout again even when channels.csv has positions'),
  ).action(async (flags: RenderFlags) => {
    const { renderAtlas } = await import('../../render/index.js');
    const config = resolveConfig(flags);
    const progress = createProgress();
    const result = await renderAtlas(config, {
      dir: flags.out,
      relayout: flags.relayout,
      onProgress: progress.update,
    });
    progress.done();
    const t = Object.entries(result.timings)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
      .join(', ');
    const layout = result.laidOut
      ? ` (layout${result.layoutInWorker ? ' in a worker thread' : ''}; positions written to channels.csv and atlas.gexf)`
      : '';
    console.log(`render: ${t}${layout}`);
    console.log(`  ${result.png}`);
    console.log(`  ${result.html}`);
  });
}
