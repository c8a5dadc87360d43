import type { Command } from 'commander';
import { addCommonOptions, type CommonOptions, intFlag, resolveConfig } from '../common.js';
import { createProgress } from '../progress.js';

interface DiscoverFlags extends CommonOptions {
  helixUrl?: string;
  authUrl?: string;
  channels?: string;
  max?: number;
  language?: string[];
  game?: string[];
  minViewers?: number;
  allowEmpty?: boolean;
}

export function registerDiscover(program: Command): void {
  addCommonOptions(
    program
      .command('discover')
      .description('Helix top live channels (by viewers) → channels.txt + channel metadata in storage')
      .option('--helix-url <url>', 'Helix base URL (default: discover.helix_url)')
      .option('--auth-url <url>', 'OAuth base URL for the app token (default: discover.auth_url)')
      .option('--channels <file>', 'channels file to write (default: collect.channels_file)')
      .option(
        '--max <n>',
        'stop after this many channels (default: discover.max_channels)',
        intFlag('--max', 1),
      )
      .option('--language <code...>', 'only streams in these languages (e.g. en de)')
      .option('--game <name...>', 'only streams in these games/categories (exact names)')
      .option('--min-viewers <n>', 'stop at streams with fewer viewers', intFlag('--min-viewers', 0))
      .option(
        '--allow-empty',
        'write an empty channels file when Helix lists no channel (default: keep the old one, exit 1)',
      ),
  ).action(async (flags: DiscoverFlags) => {
    const [{ openStorage }, { discover }] = await Promise.all([
      import('../../storage/index.js'),
      import('../../twitch/helix/discover.js'),
    ]);
    const authUrl = flags.authUrl ?? (flags.helixUrl ? sameHostAuthUrl(flags.helixUrl) : undefined);
    const config = resolveConfig(flags, {
      discover: {
        ...(flags.helixUrl ? { helix_url: flags.helixUrl } : {}),
        ...(authUrl ? { auth_url: authUrl } : {}),
        ...(flags.max !== undefined ? { max_channels: flags.max } : {}),
        ...(flags.minViewers !== undefined ? { min_viewers: flags.minViewers } : {}),
        ...(flags.language ? { languages: flags.language } : {}),
        ...(flags.game ? { games: flags.game } : {}),
      },
    });
    const storage = await openStorage(config);
    const progress = createProgress();
    try {
      const s = await discover(config, {
        storage,
        channelsFile: flags.channels ?? config.collect.channels_file,
        onProgress: progress.update,
        allowEmpty: flags.allowEmpty,
        onWarning: (m) => progress.log(`discover: ${m}`),
      });
      progress.done();
      process.stdout.write(
        `discover: ${s.channels.length} channels (${s.pages} page${s.pages === 1 ? '' : 's'}, stopped by ${s.stoppedBy}) → ${s.channelsFile}\n` +
          `discover: channel metadata → ${storage.location}/${s.metadataKey}\n`,
      );
    } finally {
      progress.done();
      await storage.close();
    }
  });
}

/**
 * A local Helix (twitch-sim, a recording proxy) also serves the token at `/oauth2`: with
 * `--helix-url http://host/helix` and no `--auth-url`, use `http://host/oauth2` rather than send
 * the app secret to id.twitch.tv for a token the local server would not know.
 */
export function sameHostAuthUrl(helixUrl: string): string | undefined {
  const m = /^(https?:\/\/[^/]+)(\/.*)?\/helix\/?$/.exec(helixUrl);
  if (!m || /(^|\.)twitch\.tv$/.test(new URL(helixUrl).hostname)) return undefined;
  return `${m[1]}${m[2] ?? ''}/oauth2`;
}
