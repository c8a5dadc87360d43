import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { addCommonOptions, type CommonOptions, resolveConfig } from '../common.js';
import { createProgress } from '../progress.js';
import { sameHostAuthUrl } from './discover.js';

interface VodFlags extends CommonOptions {
  vodRaw?: string;
  vod?: string[];
  channels?: string;
  helixUrl?: string;
  authUrl?: string;
}

export function registerVod(program: Command): void {
  addCommonOptions(
    program
      .command('vod')
      .description(
        'VOD chat replays (TwitchDownloaderCLI chat JSON: VODs, trimmed ranges, clips) → presence records, once per VOD and range',
      )
      .option(
        '--vod-raw <dir>',
        'folder of chat JSON files, downloaded to and ingested from (default: vod.raw_dir)',
      )
      .option(
        '--vod <id...>',
        'queue these VOD ids (downloaded when not in the folder; a given-up one is retried); no Helix listing',
      )
      .option(
        '--channels <file>',
        'list recent archives of these channels with Helix (default: collect.channels_file when present and credentials are set)',
      )
      .option('--helix-url <url>', 'Helix base URL (default: discover.helix_url)')
      .option('--auth-url <url>', 'OAuth base URL (default: discover.auth_url)'),
  ).action(async (flags: VodFlags) => {
    const [{ openStorage }, { readChannelsFile }, { runVod }] = await Promise.all([
      import('../../storage/index.js'),
      import('../../twitch/helix/channels-file.js'),
      import('../../twitch/vod/ingest.js'),
    ]);
    const authUrl = flags.authUrl ?? (flags.helixUrl ? sameHostAuthUrl(flags.helixUrl) : undefined);
    const config = resolveConfig(flags, {
      ...(flags.vodRaw ? { vod: { raw_dir: flags.vodRaw } } : {}),
      discover: {
        ...(flags.helixUrl ? { helix_url: flags.helixUrl } : {}),
        ...(authUrl ? { auth_url: authUrl } : {}),
      },
    });
    const progress = createProgress();
    let channels: string[] | undefined;
    if (flags.channels) channels = await readChannelsFile(flags.channels);
    else if (!flags.vod && existsSync(config.collect.channels_file)) {
      if (process.env.TWITCH_CLIENT_ID && process.env.TWITCH_CLIENT_SECRET)
        channels = await readChannelsFile(config.collect.channels_file);
      else
        progress.log(
          `vod: TWITCH_CLIENT_ID / TWITCH_CLIENT_SECRET not set: not listing the VODs of ${config.collect.channels_file}; ingesting ${config.vod.raw_dir}/ only`,
        );
    }
    const storage = await openStorage(config);
    try {
      const s = await runVod(config, {
        storage,
        vodIds: flags.vod,
        channels,
        onProgress: progress.update,
        log: progress.log,
      });
      progress.done();
      const records = s.ingested.reduce((n, f) => n + f.records, 0);
      const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
      process.stdout.write(
        `vod: ${plural(s.ingested.length, 'file')} ingested (${records} presence records), ` +
          `${s.alreadyIngested.length} already ingested, ${s.downloaded.length} downloaded` +
          `${s.downloadsSkipped.length ? `, ${s.downloadsSkipped.length} downloads skipped (no TwitchDownloaderCLI)` : ''}` +
          `${s.listed ? `, ${s.listed} listed by Helix` : ''}` +
          `${s.belowMinViews ? `, ${s.belowMinViews} below vod.min_views` : ''}` +
          `${s.waiting.length ? `, ${s.waiting.length} waiting to retry` : ''}` +
          `${s.gaveUp.length ? `, ${s.gaveUp.length} given up after vod.max_attempts` : ''}` +
          `${s.expired.length ? `, ${s.expired.length} expired (vod.max_age_days)` : ''}` +
          `${s.moved.length ? `, ${s.moved.length} chat files moved into storage` : ''}` +
          `${s.deleted.length ? `, ${s.deleted.length} chat files deleted` : ''} → ${storage.location}\n`,
      );
      for (const w of s.waiting)
        progress.log(`vod: VOD ${w.vodId} failed before; next attempt after ${w.nextAttemptAt}`);
      if (s.failed.length > 0) {
        for (const f of s.failed)
          process.stderr.write(
            `vieweratlas: ${f.reason.startsWith('vod: ') ? f.reason : `vod: ${f.file}: ${f.reason}`}\n`,
          );
        throw new InputError(
          'vod',
          `${s.failed.length} file${s.failed.length === 1 ? '' : 's'} failed: ${s.failed.map((f) => f.file).join(', ')} (the others went in)`,
        );
      }
    } finally {
      progress.done();
      await storage.close();
    }
  });
}
