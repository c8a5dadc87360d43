import type { Command } from 'commander';
import { InputError, StorageError } from '../../errors.js';
import type { FileKind, ImportFileSummary } from '../../ingest/index.js';
import {
  addCommonOptions,
  type CommonOptions,
  FlagError,
  rejectDirectories,
  resolveConfig,
  thousands,
} from '../common.js';
import { createProgress } from '../progress.js';

interface ImportFlags extends CommonOptions {
  kind?: FileKind;
  maxReject?: number;
}

const KINDS: FileKind[] = ['presence', 'metadata', 'edges', 'nodes'];
const fmt = thousands;

/** The per-file lines `import` prints. */
export function describeImportFile(f: ImportFileSummary): string[] {
  if (!f.ok)
    return [`FAILED ${f.path}: ${f.error?.replace(/^import: /, '')} (nothing stored from this file)`];
  if (f.alreadyImportedFrom !== undefined)
    return [
      `ok ${f.path} [${f.kind}]: already imported (same content as ${f.alreadyImportedFrom}): nothing stored`,
    ];
  const lines = [
    `ok ${f.path} [${f.kind}]: ${fmt(f.rowsRead)} rows read, ${fmt(f.rejectedCount)} rejected, ${(f.ms / 1000).toFixed(1)} s`,
  ];
  for (const r of f.rejected.slice(0, 5)) lines.push(`  rejected ${r.file}:${r.line}: ${r.reason}`);
  if (f.rejectedCount > 5) lines.push(`  … ${fmt(f.rejectedCount - 5)} more rejected rows`);
  if (f.kind === 'twitch-chat' && f.stored.length === 0) lines.push('  VOD already ingested: nothing stored');
  const shown = f.stored.slice(0, 4);
  for (const k of shown) lines.push(`  stored ${k}`);
  if (f.stored.length > shown.length) lines.push(`  … and ${f.stored.length - shown.length} more objects`);
  return lines;
}

export function registerImport(program: Command): void {
  addCommonOptions(
    program
      .command('import')
      .description('presence, channel metadata or edge-list files → storage')
      .argument('<files...>', 'CSV, JSON Lines or Parquet files; the kind is detected from the header')
      .option('--kind <kind>', `treat every file as this kind: ${KINDS.join(' | ')}`, (v: string) => {
        if (!KINDS.includes(v as FileKind))
          throw new FlagError(`--kind: expected one of ${KINDS.join(', ')}, got "${v}"`);
        return v as FileKind;
      })
      .option(
        '--max-reject <share>',
        'a file whose rejected rows exceed this share fails as a whole (0..1)',
        (v: string) => {
          const n = Number(v);
          if (!(n >= 0 && n <= 1))
            throw new FlagError(`--max-reject: expected a number within 0..1, got "${v}"`);
          return n;
        },
      )
      .addHelpText(
        'after',
        `
Formats (header row required; column names in any case):
  presence   channel,viewer,ts[,source,messages,vod_id,kind]   ts: ISO-8601 (no zone = UTC) or epoch s/ms
  metadata   channel,language,game[,viewer_count,display_name,observed_at]
  edges      Source,Target[,Weight]   (Gephi export; weight must be a number ≥ 0)
  nodes      Id[,Label],Count         (audience sizes; pairs with the edge list given in the same call)
  chat       TwitchDownloaderCLI chat JSON (.json or .json.gz): stored once per VOD and covered range as vod presence

Presence is stored as Parquet under presence/source=<source>/dt=<day>/ (source column or "import"),
metadata under metadata/dt=<day>/, edge lists under graphs/<name>/. Viewer logins are pseudonymised
first when privacy.pseudonymize is on. Bad rows are reported as file:line and counted; a file that is
empty, lacks the required columns or is mostly unreadable stores nothing and makes the exit code 1
(the other files of the same call are still imported).

Examples:
  vieweratlas import presence.csv channels.csv
  vieweratlas import ../shared/data/twitch-atlas-2021-10-edges.csv ../shared/data/twitch-atlas-2021-10-channels.csv
  vieweratlas import --data /tmp/store chat.parquet`,
      ),
  ).action(async (files: string[], flags: ImportFlags) => {
    const [{ importFiles }, { createPseudonymizer }, { assertWritable, openStorage }] = await Promise.all([
      import('../../ingest/index.js'),
      import('../../privacy/pseudonymize.js'),
      import('../../storage/index.js'),
    ]);
    const config = resolveConfig(flags);
    rejectDirectories('import', files);
    const pseudonymize = createPseudonymizer(config.privacy);
    const storage = await openStorage(config);
    const progress = createProgress();
    try {
      await assertWritable(storage, 'import');
      const summary = await importFiles(storage, files, {
        kind: flags.kind,
        pseudonymize: config.privacy.pseudonymize ? pseudonymize : undefined,
        onProgress: progress.update,
        read: flags.maxReject === undefined ? undefined : { maxRejectShare: flags.maxReject },
        vodBucketMinutes: config.vod.bucket_minutes,
      });
      progress.done();
      for (const f of summary.files) for (const line of describeImportFile(f)) console.log(line);
      const ok = summary.files.length - summary.failed;
      console.log(
        `import: ${ok} of ${summary.files.length} file(s) imported into ${summary.location}: ${fmt(summary.rowsRead)} rows, ${fmt(summary.rejectedCount)} rejected`,
      );
      if (summary.failed > 0) {
        const failed = summary.files.filter((f) => !f.ok);
        const first = failed[0]?.error?.replace(/^import: /, '') ?? '';
        // Storage refusing the objects (a full disk) is not the file's fault: exit 2, not 1.
        const Err = failed.some((f) => f.storageFailure) ? StorageError : InputError;
        throw new Err(
          'import',
          failed.length === 1 && summary.files.length === 1
            ? first
            : `${failed.length} of ${summary.files.length} file(s) failed and stored nothing${ok ? ` (the other ${ok} were imported)` : ''}; first: ${first}`,
        );
      }
    } finally {
      progress.done();
      await storage.close();
    }
  });
}
