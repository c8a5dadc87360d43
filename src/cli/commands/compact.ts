import type { Command } from 'commander';
import { addCommonOptions, type CommonOptions, intFlag, resolveConfig, thousands } from '../common.js';
import { createProgress } from '../progress.js';

interface CompactFlags extends CommonOptions {
  graceMinutes?: number;
}

/** compactRaw's default grace (COMPACT_DEFAULTS.graceMs; test/cli.test.ts keeps them equal). */
export const GRACE_MINUTES = 10;

const fmt = thousands;

export function registerCompact(program: Command): void {
  addCommonOptions(
    program
      .command('compact')
      .description('raw JSON Lines → Hive-partitioned Parquet')
      .option(
        '--grace-minutes <n>',
        // no commander default: compactRaw's own (COMPACT_DEFAULTS), so --help need not load DuckDB
        `compact an hour only this long after it ended (late flushes) (default: ${GRACE_MINUTES})`,
        intFlag('--grace-minutes', 0),
      )
      .addHelpText(
        'after',
        `
Compacts closed hours of raw/presence/… and raw/metadata/… (the collectors' append-only JSON Lines)
into presence/source=…/dt=…/part-….parquet and metadata/dt=…/part-….parquet, then deletes each raw
object once its Parquet part is stored. Safe to re-run at any time (e.g. hourly from cron): a part's
name comes from its raw object's key and content, so a re-run after a crash overwrites instead of
duplicating. A torn last line (crash mid-write) is skipped and counted.`,
      ),
  ).action(async (flags: CompactFlags) => {
    const [{ compactRaw }, { openStorage }] = await Promise.all([
      import('../../ingest/index.js'),
      import('../../storage/index.js'),
    ]);
    const config = resolveConfig(flags);
    const storage = await openStorage(config);
    const progress = createProgress();
    try {
      const s = await compactRaw(storage, {
        graceMs: flags.graceMinutes === undefined ? undefined : flags.graceMinutes * 60_000,
        onProgress: progress.update,
      });
      progress.done();
      console.log(
        `compact: ${fmt(s.filesCompacted)} raw object(s) → ${fmt(s.partsWritten.length)} Parquet part(s) in ${storage.location}: ` +
          `${fmt(s.presenceRows)} presence rows, ${fmt(s.metadataRows)} metadata rows; ${fmt(s.filesOpen)} left (hour still open), ` +
          `${fmt(s.tornLines)} torn line(s) skipped, ${fmt(s.rejectedCount)} bad line(s)`,
      );
      for (const r of s.rejected.slice(0, 5)) console.log(`  rejected ${r.file}:${r.line}: ${r.reason}`);
      if (s.filesUnreadable)
        console.log(`  ${s.filesUnreadable} raw object(s) had no readable line and were kept for inspection`);
    } finally {
      progress.done();
      await storage.close();
    }
  });
}
