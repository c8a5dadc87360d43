import type { Command } from 'commander';
import type { Config } from '../../config/index.js';
import { addCommonOptions, type CommonOptions, resolveConfig, thousands } from '../common.js';
import { createProgress, type Progress } from '../progress.js';

interface DemoFlags extends CommonOptions {
  out: string;
  live?: boolean;
}

const fmt = thousands;

export function registerDemo(program: Command): void {
  addCommonOptions(
    program
      .command('demo')
      .description('the whole atlas from built-in data (Twitch, October 2021), offline')
      .option('--out <dir>', 'output folder', 'out/demo')
      .option('--live', 'run the full pipeline against a local twitch-sim instead of the bundled data'),
  ).action(async (flags: DemoFlags) => {
    const { runDemo } = await import('../../demo/offline.js');
    const config = resolveConfig(flags);
    const progress = createProgress();
    if (flags.live) return runLiveDemo(config, flags, progress);
    const t0 = performance.now();
    const r = await runDemo(config, { out: flags.out, onProgress: progress.update });
    progress.done();
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `demo: ${fmt(r.channels)} channels, ${fmt(r.edges)} overlaps, ${fmt(r.communities)} communities in ${fmt(r.groups)} groups ` +
        `(${fmt(r.unassigned)} channels unassigned) ` +
        `(modularity ${r.modularity.toFixed(3)}) in ${s} s`,
    );
    console.log(
      `  stages: ${Object.entries(r.timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')}`,
    );
    for (const g of r.hierarchy) {
      const inside = g.communities
        .slice(0, 4)
        .map((c) => `${c.label} (${c.size})`)
        .join('; ');
      const more = g.communities.length > 4 ? `; … ${g.communities.length - 4} more` : '';
      console.log(`  group ${g.label} — ${fmt(g.size)} channels: ${inside}${more}`);
    }
    console.log(`  map:         ${r.png}`);
    console.log(`  interactive: ${r.html}   (open it in a browser; works offline)`);
    console.log(
      `  data:        ${r.channelsCsv}  (+ communities.csv, groups.csv, edges.csv, .parquet, atlas.gexf, summary.json)`,
    );
    console.log('  Data: Twitch Atlas, October 2021, by Kiran Gershenfeld (MIT License).');
  });
}

/** `demo --live`: twitch-sim → collect (30 s) → analyze → render, all on 127.0.0.1 (COLLECT's `runLiveDemo`). */
async function runLiveDemo(config: Config, flags: DemoFlags, progress: Progress): Promise<void> {
  const { runLiveDemo: run } = await import('../../demo/live.js');
  const r = await run(config, { out: flags.out, seconds: 30, onProgress: progress.update });
  progress.done();
  const s = r.analysis.summary.counts;
  console.log(
    `demo --live: collected ${fmt(r.collect.messages)} chat lines from ${r.collect.channelsJoined} twitch-sim channels in ` +
      `${(r.timings.collect / 1000).toFixed(0)} s → ${fmt(s.channels)} channels, ${fmt(s.viewers)} viewers, ` +
      `${fmt(s.communities)} communities (planted ${r.plantedCommunities}, NMI ${r.nmi.toFixed(2)})`,
  );
  console.log(`  map:         ${r.render.png}`);
  console.log(`  interactive: ${r.render.html}`);
  console.log(`  data:        ${r.analysis.outDir}  (presence under ${flags.out}/data)`);
}
