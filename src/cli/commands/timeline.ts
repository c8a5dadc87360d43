import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import type { PresenceTable } from '../../model/presence-table.js';
import { addCommonOptions, type CommonOptions, FlagError, intFlag, resolveConfig } from '../common.js';
import { createProgress } from '../progress.js';

interface TimelineFlags extends CommonOptions {
  input?: string[];
  every: string;
  window?: string;
  out: string;
  seed?: number;
}

interface ChannelFlags extends CommonOptions {
  input?: string[];
  every: string;
  window?: string;
  out?: string;
}

/** `--every` / `--window` values: 1d, 7d, 30d, 12h … */
async function durationFlag(flag: string, value: string | undefined): Promise<number | undefined> {
  if (value === undefined) return undefined;
  const { parseDuration } = await import('../../pipeline/timeline.js');
  const ms = parseDuration(value);
  if (ms === null)
    throw new FlagError(`${flag}: expected a duration such as 1d, 7d, 30d or 12h, got "${value}"`);
  return ms;
}

const inputHelp =
  'presence files (CSV/JSONL/Parquet, TwitchDownloader chat JSON) or folders of them, with channel metadata CSVs. Default: read storage';

export function registerTimeline(program: Command): void {
  addCommonOptions(
    program
      .command('timeline')
      .description(
        'communities per time window, tracked across windows → timeline.csv, timeline-communities.csv, timeline-moves.csv (+ Parquet), timeline.json, timeline.html',
      )
      .option('--input <path...>', inputHelp)
      .option('--every <duration>', 'one window this often: 1d | 7d | 30d (or 12h, 2w …)', '7d')
      .option('--window <duration>', 'sliding windows this long (default: consecutive windows of --every)')
      .option('--out <dir>', 'output folder', 'out/timeline')
      .option('--seed <n>', 'community detection seed (communities.seed)', intFlag('--seed', 0)),
  ).action(async (flags: TimelineFlags) => {
    const everyMs = (await durationFlag('--every', flags.every)) as number;
    const windowMs = await durationFlag('--window', flags.window);
    if (windowMs !== undefined && windowMs < everyMs)
      throw new FlagError(
        `--window: ${flags.window} is shorter than --every ${flags.every} (windows would leave gaps)`,
      );
    const config = resolveConfig(
      flags,
      flags.seed !== undefined ? { communities: { seed: flags.seed } } : {},
    );
    const [
      { readPresenceSource },
      { runTimeline, channelHistories },
      { writeTimelineFolder },
      { renderTimelineHtml },
      { openStorage },
      { spawnProjectionWorker },
    ] = await Promise.all([
      import('../../pipeline/sources.js'),
      import('../../pipeline/timeline.js'),
      import('../../export/timeline.js'),
      import('../../render/timeline-html.js'),
      import('../../storage/index.js'),
      import('../../analysis/overlap-parallel.js'),
    ]);
    const progress = createProgress();
    const storage = flags.input?.length ? undefined : await openStorage(config);
    // each window's overlap projection on two threads; the worker loads while the input is read
    const projection = spawnProjectionWorker();
    try {
      const input = await readPresenceSource(config, {
        inputs: flags.input,
        storage,
        component: 'timeline',
        onProgress: progress.update,
      });
      const result = runTimeline(config, input.table as PresenceTable, input.metadata, {
        everyMs,
        windowMs,
        onProgress: progress.update,
        botNameMapper: input.botNameMapper,
        projection,
      });
      // history panels for the biggest channels (by their largest audience in any window)
      const biggest = new Map<string, number>();
      for (const r of result.channels)
        biggest.set(r.channel, Math.max(biggest.get(r.channel) ?? 0, r.viewers));
      const panelChannels = [...biggest]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 500)
        .map(([ch]) => ch);
      const reports = channelHistories(result, panelChannels, 5);
      // The page's layout runs in a worker from here on, while this thread writes the tables.
      mkdirSync(flags.out, { recursive: true });
      const page = renderTimelineHtml(flags.out, {
        title: `ViewerAtlas timeline · ${result.windows.length} windows of ${flags.window ?? flags.every}`,
        tables: result,
        graphs: result.graphs,
        reports,
        seed: config.layout.seed,
      });
      page.catch(() => {}); // awaited below; a failure of the tables' writes must not leave it unhandled
      const files = await writeTimelineFolder(flags.out, result, {
        every: flags.every,
        window: flags.window ?? flags.every,
        inputs: input.paths,
        aggregate: config.aggregate,
        overlap: config.overlap,
        communities: config.communities,
      });
      const html = await page;
      progress.done();
      const moves = result.moves.length;
      const tracked = new Set(result.channels.filter((r) => r.community >= 0).map((r) => r.community)).size;
      process.stdout.write(
        `timeline: ${result.windows.length} windows, ${tracked} tracked communities, ${moves} channel moves → ${flags.out}\n` +
          [...files, html].map((f) => `  ${f}\n`).join(''),
      );
    } finally {
      projection.close();
      progress.done();
      await storage?.close();
    }
  });
}

export function registerChannel(program: Command): void {
  addCommonOptions(
    program
      .command('channel <name>')
      .description(
        "one channel's overlaps over time: the share of its chatters also seen in each other channel, per window, and the biggest movers → channel.csv, movers.csv, channel.html",
      )
      .option('--input <path...>', inputHelp)
      .option('--every <duration>', 'one window this often: 1d | 7d | 30d', '7d')
      .option('--window <duration>', 'sliding windows this long (default: consecutive windows of --every)')
      .option('--out <dir>', 'output folder (default: out/channel-<name>)'),
  ).action(async (name: string, flags: ChannelFlags) => {
    if (!/^[a-z0-9_]{1,25}$/i.test(name)) throw new FlagError(`channel: "${name}" is not a Twitch login`);
    const everyMs = (await durationFlag('--every', flags.every)) as number;
    const windowMs = await durationFlag('--window', flags.window);
    const config = resolveConfig(flags);
    const [{ readPresenceSource }, { channelTimeline }, { writeChannelReport }, { openStorage }] =
      await Promise.all([
        import('../../pipeline/sources.js'),
        import('../../pipeline/timeline.js'),
        import('../../export/channel-report.js'),
        import('../../storage/index.js'),
      ]);
    const out = flags.out ?? `out/channel-${name.toLowerCase()}`;
    const storage = flags.input?.length ? undefined : await openStorage(config);
    try {
      const input = await readPresenceSource(config, { inputs: flags.input, storage, component: 'channel' });
      const history = channelTimeline(config, input.table as PresenceTable, name, {
        everyMs,
        windowMs,
        botNameMapper: input.botNameMapper,
      });
      const files = writeChannelReport(out, history);
      process.stdout.write(
        `channel ${history.channel}: ${history.windows.length} windows, ${history.movers.length} movers → ${out}\n` +
          files.map((f) => `  ${f}\n`).join(''),
      );
    } finally {
      await storage?.close();
    }
  });
}
