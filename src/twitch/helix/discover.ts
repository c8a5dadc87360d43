import type { Config } from '../../config/schema.js';
import { InputError } from '../../errors.js';
import { encodeMetadataLine } from '../../ingest/raw-jsonl.js';
import type { ProgressFn } from '../../model/progress.js';
import type { ChannelMetadata } from '../../model/records.js';
import { LAYOUT } from '../../storage/layout.js';
import type { Storage } from '../../storage/storage.js';
import { readChannelsFile, writeChannelsFile } from './channels-file.js';
import { HelixClient, type HelixClientOptions, helixCredentialsFromEnv } from './client.js';

/**
 * Channel discovery: the top live channels by viewers (Helix Get Streams, paged by cursor,
 * `first=100`), filtered by language and game, until `max` channels or a stream below
 * `minViewers`. Writes `channels.txt` and one raw metadata line per channel
 * (`LAYOUT.rawMetadata(now, 'discover')`, which INGEST's compaction turns into Parquet).
 */
export interface DiscoverOptions {
  storage: Storage;
  /** Where the logins go (`#` comment lines of an existing file are kept). */
  channelsFile: string;
  /** Overrides `discover.max_channels`. */
  max?: number;
  /** Overrides `discover.min_viewers`. */
  minViewers?: number;
  /** Overrides `discover.languages`. */
  languages?: string[];
  /** Overrides `discover.games` (names, resolved to ids with Get Games). */
  games?: string[];
  /** Overrides `discover.helix_url`. */
  helixUrl?: string;
  /** Overrides `discover.auth_url`. */
  authUrl?: string;
  onProgress?: ProgressFn;
  /** Environment holding TWITCH_CLIENT_ID / TWITCH_CLIENT_SECRET. */
  env?: Record<string, string | undefined>;
  /** Client knobs for tests (fetch, sleep, clock, backoff). */
  client?: Partial<HelixClientOptions>;
  /** Clock for `observed_at`. */
  now?: number;
  /**
   * Write an empty list when Helix finds no channel. Off by default: an empty result (an outage,
   * a filter that matches nothing) never replaces a non-empty channels file.
   */
  allowEmpty?: boolean;
  /** Things the user should know that do not stop discovery (waits, skipped logins, a cursor loop). */
  onWarning?: (message: string) => void;
}

export interface DiscoverSummary {
  /** Logins written, by viewers descending. */
  channels: string[];
  channelsFile: string;
  /** Storage key of the metadata lines. */
  metadataKey: string;
  /** Get Streams pages read. */
  pages: number;
  /** Why paging stopped (`cursor_repeat`: Helix sent a cursor it had sent before; `page_limit`: see `maxPages`). */
  stoppedBy: 'max' | 'min_viewers' | 'end' | 'cursor_repeat' | 'page_limit';
  /** Streams skipped because their `user_login` is not a Twitch login (JSON-quoted, first 10). */
  invalidLogins: string[];
  /** Game name → Helix id, for the requested games. */
  gameIds: Record<string, string>;
  requests: number;
  retries: number;
  waitedMs: number;
}

/** Twitch's login grammar (what `channels.txt` and the chat JOIN accept). */
export const TWITCH_LOGIN = /^[a-z0-9_]{1,25}$/;

/**
 * Most Get Streams pages read for `max` channels: enough for the pages to overlap a little (viewer
 * counts shift between requests), never unbounded whatever the cursors do.
 */
export function maxPages(max: number, pageSize = 100): number {
  return Math.ceil(max / pageSize) + 10;
}

/** Collector id used in the raw metadata key. */
export const DISCOVER_COLLECTOR_ID = 'discover';

export function createHelixClient(
  config: Config,
  opts: Pick<DiscoverOptions, 'helixUrl' | 'authUrl' | 'env' | 'client'> = {},
): HelixClient {
  const creds = helixCredentialsFromEnv(opts.env);
  return new HelixClient({
    helixUrl: opts.helixUrl ?? config.discover.helix_url,
    authUrl: opts.authUrl ?? config.discover.auth_url,
    maxRetries: config.discover.max_retries,
    ...creds,
    ...opts.client,
  });
}

export async function discover(config: Config, opts: DiscoverOptions): Promise<DiscoverSummary> {
  const max = opts.max ?? config.discover.max_channels;
  const minViewers = opts.minViewers ?? config.discover.min_viewers;
  const languages = opts.languages ?? config.discover.languages;
  const games = opts.games ?? config.discover.games;
  const warn = opts.onWarning ?? (() => {});
  const client = createHelixClient(config, {
    ...opts,
    client: { onWait: (_reason, ms, message) => ms >= 1000 && warn(message), ...opts.client },
  });
  const progress = opts.onProgress ?? (() => {});

  const gameIds: Record<string, string> = {};
  if (games.length > 0) {
    progress('discover: resolving games');
    const found = await client.gamesByName(games);
    const byName = new Map(found.map((g) => [g.name.toLowerCase(), g.id]));
    const missing = games.filter((g) => !byName.has(g.toLowerCase()));
    if (missing.length > 0) {
      throw new InputError(
        'discover',
        `unknown game ${missing.map((g) => JSON.stringify(g)).join(', ')} (Helix Get Games found no category with that name)`,
      );
    }
    for (const g of games) gameIds[g] = byName.get(g.toLowerCase())!;
  }

  const now = opts.now ?? Date.now();
  const seen = new Set<string>();
  const metadata: ChannelMetadata[] = [];
  let cursor: string | undefined;
  const cursors = new Set<string>();
  const pageLimit = maxPages(max);
  const invalid: string[] = [];
  let invalidCount = 0;
  let pages = 0;
  let stoppedBy: DiscoverSummary['stoppedBy'] = 'end';
  paging: for (;;) {
    const page = await client.streams({
      first: 100,
      after: cursor,
      language: languages,
      gameId: Object.values(gameIds),
    });
    pages++;
    for (const s of page.data) {
      if (s.viewer_count < minViewers) {
        stoppedBy = 'min_viewers';
        break paging;
      }
      const login = s.user_login.toLowerCase();
      // Validated at the edge: a path or a newline in a login would become lines of channels.txt.
      if (!TWITCH_LOGIN.test(login)) {
        if (invalid.length < 10) invalid.push(JSON.stringify(s.user_login.slice(0, 40)));
        invalidCount++;
        continue;
      }
      // viewer counts shift between pages, so a channel can appear twice
      if (seen.has(login)) continue;
      seen.add(login);
      metadata.push({
        channel: login,
        display_name: s.user_name,
        language: s.language,
        game: s.game_name,
        viewer_count: s.viewer_count,
        observed_at: now,
      });
      if (metadata.length >= max) {
        stoppedBy = 'max';
        break paging;
      }
    }
    progress('discover: live channels', metadata.length, max);
    if (!page.cursor || page.data.length === 0) break;
    // A server repeating a cursor (A→B→A…) would otherwise page forever.
    if (page.cursor === cursor || cursors.has(page.cursor)) {
      stoppedBy = 'cursor_repeat';
      warn(
        `Get Streams sent a cursor it had already sent (page ${pages}): stopped paging with ${metadata.length} channels`,
      );
      break;
    }
    if (pages >= pageLimit) {
      stoppedBy = 'page_limit';
      warn(
        `Get Streams: stopped after ${pages} pages (at most ${pageLimit} for ${max} channels) with ${metadata.length} channels`,
      );
      break;
    }
    cursors.add(page.cursor);
    cursor = page.cursor;
  }
  if (invalidCount > 0)
    warn(`skipped ${invalidCount} stream(s) whose user_login is not a Twitch login: ${invalid.join(', ')}`);

  const channels = metadata.map((m) => m.channel);
  if (channels.length === 0 && !opts.allowEmpty) {
    const existing = await readChannelsFile(opts.channelsFile).catch(() => []);
    if (existing.length > 0) {
      throw new InputError(
        'discover',
        `Helix listed no live channel${minViewers > 0 ? ` with ≥ ${minViewers} viewers` : ''}${languages.length ? ` in ${languages.join('/')}` : ''}${games.length ? ` playing ${games.join('/')}` : ''}; ${opts.channelsFile} keeps its ${existing.length} channels (--allow-empty writes an empty list)`,
      );
    }
  }
  await writeChannelsFile(opts.channelsFile, channels);
  const metadataKey = LAYOUT.rawMetadata(now, DISCOVER_COLLECTOR_ID);
  if (metadata.length > 0) await opts.storage.append(metadataKey, metadata.map(encodeMetadataLine).join(''));
  return {
    channels,
    channelsFile: opts.channelsFile,
    metadataKey,
    pages,
    stoppedBy,
    invalidLogins: invalid,
    gameIds,
    requests: client.stats.requests,
    retries: client.stats.retries,
    waitedMs: client.stats.waitedMs,
  };
}
