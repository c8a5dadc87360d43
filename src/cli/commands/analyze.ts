import type { Command } from 'commander';
import type { ConfigInput } from '../../config/index.js';
import {
  COMMUNITY_ALGORITHMS,
  type CommunityAlgorithm,
  WEIGHT_KINDS,
  type WeightKind,
} from '../../model/atlas.js';
import { addCommonOptions, FlagError, intFlag, numberFlag, resolveConfig, thousands } from '../common.js';
import { createProgress } from '../progress.js';

interface AnalyzeFlags {
  input?: string[];
  engine?: 'local' | 'athena';
  out: string;
  seed?: number;
  weight?: WeightKind;
  resolution?: number;
  algorithm?: CommunityAlgorithm;
  flat?: boolean;
  config?: string;
  preset?: string;
  data?: string;
}

function oneOf<T extends string>(flag: string, allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new FlagError(`${flag}: expected one of ${allowed.join(' | ')}, got "${value}"`);
    }
    return value as T;
  };
}

const fmt = thousands;

/** The config settings the flags override. */
function overrides(flags: AnalyzeFlags): ConfigInput {
  const out: ConfigInput = {};
  if (flags.weight) out.overlap = { weight: flags.weight };
  const communities: NonNullable<ConfigInput['communities']> = {};
  if (flags.seed !== undefined) communities.seed = flags.seed;
  if (flags.resolution !== undefined) communities.resolution = flags.resolution;
  if (flags.algorithm) communities.algorithm = flags.algorithm;
  if (flags.flat) communities.hierarchy = false;
  if (Object.keys(communities).length > 0) out.communities = communities;
  return out;
}

export function registerAnalyze(program: Command): void {
  addCommonOptions(
    program
      .command('analyze')
      .description('storage or files → communities, labels and exports (CSV, Parquet, GEXF, summary.json)')
      .option(
        '--input <path...>',
        'presence files (CSV/JSONL/Parquet) or folders of them, or an edge list (+ node file); channel metadata CSVs alongside. Default: read storage',
      )
      .option('--out <dir>', 'output folder', 'out/atlas')
      .option(
        '--engine <name>',
        'local | athena (aggregation and overlap on Athena over the stored Parquet; athena.* config)',
        oneOf('--engine', ['local', 'athena'] as const),
      )
      .option('--seed <n>', 'community detection seed (communities.seed)', intFlag('--seed', 0))
      .option(
        '--weight <kind>',
        `edge weight: ${WEIGHT_KINDS.join(' | ')} (overlap.weight)`,
        oneOf('--weight', WEIGHT_KINDS),
      )
      .option(
        '--resolution <x>',
        'modularity resolution (communities.resolution)',
        numberFlag('--resolution'),
      )
      .option(
        '--algorithm <name>',
        `${COMMUNITY_ALGORITHMS.join(' | ')} (communities.algorithm)`,
        oneOf('--algorithm', COMMUNITY_ALGORITHMS),
      )
      .option('--flat', 'one level of communities, no top-level groups (communities.hierarchy: false)'),
  ).action(async (flags: AnalyzeFlags) => {
    const config = resolveConfig(flags, overrides(flags));
    // Before the pipeline's modules load: the worker of a two-thread read (a big CSV, or the
    // stored parts) starts now and is ready when the read begins (~0.1 s sooner than spawned there).
    if (flags.engine !== 'athena') {
      const warm = await import('../../ingest/warm-read.js');
      if (flags.input) await warm.warmCsvReadWorker(flags.input);
      else if (config.storage.driver === 'fs') await warm.warmStoredReadWorker(config.storage.root);
    }
    const [{ analyze }, { emitMetric }] = await Promise.all([
      import('../../pipeline/analyze.js'),
      import('../../observability/metrics.js'),
    ]);
    // `… | head` closes stdout early: the work is done, so a broken pipe is not an error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });

    const progress = createProgress();
    const t0 = performance.now();
    const result = await analyze(config, {
      inputs: flags.input,
      out: flags.out,
      engine: flags.engine,
      // An explicit --weight reweights an edge list too; otherwise its given weight is kept.
      edgeWeight: flags.weight,
      onProgress: progress.update,
    });
    progress.done();
    const ms = performance.now() - t0;
    const { summary, communities: rows, groups } = result;
    const c = summary.counts;
    const t = summary.timings;
    const weight = summary.input.kind === 'edges' ? (flags.weight ?? 'given') : config.overlap.weight;
    console.log(
      `analyze: ${fmt(c.channels)} channels, ${fmt(c.edges)} edges, ${fmt(c.communities)} communities in ${fmt(c.groups)} groups ` +
        `(${fmt(c.unassigned)} channels unassigned), ` +
        `modularity ${summary.modularity.toFixed(3)} (${config.communities.algorithm}, ${weight} weights, seed ${config.communities.seed}) ` +
        `in ${(ms / 1000).toFixed(1)} s`,
    );
    if (summary.input.kind === 'presence') {
      const rate = t.read ? Math.round((c.presenceRows / t.read) * 1000) : 0;
      console.log(
        `  ${fmt(c.presenceRows)} presence rows (${fmt(rate)} rows/s), ${fmt(c.rowsRejected)} rejected, ` +
          `${fmt(c.viewers)} viewers, ${fmt(c.botsRemoved)} bots removed`,
      );
    } else if (c.rowsRejected > 0) {
      console.log(`  ${fmt(c.rowsRejected)} rows rejected`);
    }
    for (const f of summary.skippedInputs ?? []) console.log(`  skipped ${f.file}: ${f.reason}`);
    for (const r of summary.rejected?.slice(0, 3) ?? [])
      console.log(`  rejected ${r.file}:${r.line}: ${r.reason}`);
    console.log(
      `  stages: ${Object.entries(t)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`)
        .join(', ')}`,
    );
    for (const g of groups.slice(0, 5)) {
      console.log(
        `  group ${g.group} ${g.label} — ${fmt(g.size)} channels in ${fmt(g.communities)} communities`,
      );
      const inside = rows.filter((r) => r.group === g.group);
      for (const r of inside.slice(0, 4)) {
        console.log(
          `    #${r.community} ${r.label} — ${fmt(r.size)} channels, ${fmt(Math.round(r.viewers))} viewers; ${r.topChannels.slice(0, 3).join(', ')}`,
        );
      }
      if (inside.length > 4) console.log(`    … ${inside.length - 4} more`);
    }
    if (groups.length > 5) console.log(`  … ${groups.length - 5} more groups in groups.csv`);
    console.log(
      `  files: ${result.outDir}/ channels.csv communities.csv groups.csv edges.csv (+ .parquet), atlas.gexf, summary.json`,
    );
    emitMetric(config, 'AnalysisDurationMs', Math.round(ms));
  });
}
