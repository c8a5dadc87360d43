import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { InputError } from '../../errors.js';
import {
  readTwitchDownloaderChat,
  storeTwitchChat,
  type TwitchChatFile,
} from '../../ingest/twitch-downloader.js';
import type { ProgressFn } from '../../model/progress.js';
import { createPseudonymizer } from '../../privacy/pseudonymize.js';
import { LAYOUT } from '../../storage/layout.js';
import type { Storage } from '../../storage/storage.js';
import type { HelixClientOptions } from '../helix/client.js';
import { createHelixClient } from '../helix/discover.js';
import { downloadChat, findDownloader } from './downloader.js';
import { listArchiveVods, type VodRef } from './videos.js';

/**
 * VOD chat replay: list archived broadcasts of the channels (Helix), download the chat of each
 * VOD not yet ingested with TwitchDownloaderCLI into `vod_raw/ID.json`, and ingest every chat
 * JSON in `vod_raw/` (downloaded now or dropped there by hand). Records go to raw JSON Lines,
 * one object per VOD and hour (`LAYOUT.rawPresence('vod', hour, 'vod-ID')`, written whole with
 * `put`, so a re-run after a crash overwrites instead of duplicating); then the marker
 * `LAYOUT.vodIngested(ID)` is written, and a VOD with a marker is never read again.
 */
export interface VodOptions {
  storage: Storage;
  /** Folder of TwitchDownloader chat JSON files; `vod.raw_dir`. */
  rawDir?: string;
  /** Explicit VOD ids (downloaded when missing); no Helix call needed for these. */
  vodIds?: string[];
  /** Channel logins whose recent archives are listed with Helix. */
  channels?: string[];
  onProgress?: ProgressFn;
  /** Permanent messages (missing downloader, unknown logins, per-file results). */
  log?: (line: string) => void;
  env?: Record<string, string | undefined>;
  helixUrl?: string;
  authUrl?: string;
  client?: Partial<HelixClientOptions>;
  now?: number;
}

export interface VodFileResult {
  file: string;
  vodId: string;
  channel: string;
  records: number;
  comments: number;
}

export interface VodSummary {
  rawDir: string;
  /** VODs Helix listed for the channels. */
  listed: number;
  downloaded: string[];
  /** Downloads not attempted because TwitchDownloaderCLI is not installed. */
  downloadsSkipped: string[];
  /** Files ingested now. */
  ingested: VodFileResult[];
  /** VOD ids skipped because their marker exists. */
  alreadyIngested: string[];
  /** Files or downloads that failed, with the reason (the others went in). */
  failed: { file: string; reason: string }[];
  /** Whether the downloader was found. */
  downloader: string | null;
}

const CHAT_FILE = /^[^.].*\.json(\.gz)?$/;

export async function runVod(config: Config, opts: VodOptions): Promise<VodSummary> {
  const rawDir = opts.rawDir ?? config.vod.raw_dir;
  const log = opts.log ?? (() => {});
  const progress = opts.onProgress ?? (() => {});
  const pseudonymize = createPseudonymizer(config.privacy, opts.env);
  const { storage } = opts;
  await mkdir(rawDir, { recursive: true });
  const summary: VodSummary = {
    rawDir,
    listed: 0,
    downloaded: [],
    downloadsSkipped: [],
    ingested: [],
    alreadyIngested: [],
    failed: [],
    downloader: null,
  };
  const channelOf = new Map<string, string>(); // vod id → login from Helix (fallback for old files)

  // 1. which VODs we want
  const wanted: string[] = [];
  for (const id of opts.vodIds ?? []) {
    if (!/^\d+$/.test(id)) throw new InputError('vod', `--vod: not a Twitch video id: "${id}"`);
    wanted.push(id);
  }
  if (opts.channels && opts.channels.length > 0) {
    const client = createHelixClient(config, opts);
    progress('vod: listing archives');
    const { vods, unknown } = await listArchiveVods(client, opts.channels, {
      windowDays: config.vod.window_days,
      maxPerChannel: config.vod.max_per_channel,
      now: opts.now,
      onChannel: (done, total) => progress('vod: listing archives', done, total),
    });
    if (unknown.length > 0) log(`vod: unknown to Twitch, skipped: ${unknown.join(', ')}`);
    summary.listed = vods.length;
    for (const v of vods as VodRef[]) {
      channelOf.set(v.id, v.channel);
      wanted.push(v.id);
    }
  }

  // 2. download what is neither ingested nor already on disk
  const present = new Set((await readdir(rawDir)).filter((f) => CHAT_FILE.test(f)));
  const toDownload: string[] = [];
  for (const id of new Set(wanted)) {
    if (await storage.exists(LAYOUT.vodIngested(id))) {
      summary.alreadyIngested.push(id);
      continue;
    }
    if (!present.has(`${id}.json`) && !present.has(`${id}.json.gz`)) toDownload.push(id);
  }
  if (toDownload.length > 0) {
    summary.downloader = await findDownloader(config.vod.downloader, opts.env ?? process.env);
    if (!summary.downloader) {
      summary.downloadsSkipped = toDownload;
      log(
        `vod: TwitchDownloaderCLI not found (vod.downloader = "${config.vod.downloader}"): skipping ${toDownload.length} download${toDownload.length === 1 ? '' : 's'}; ` +
          `install it from https://github.com/lay295/TwitchDownloader/releases or set vod.downloader to its path. Files already in ${rawDir}/ are still ingested.`,
      );
    } else {
      let n = 0;
      for (const id of toDownload) {
        progress('vod: downloading chat', n++, toDownload.length);
        try {
          await downloadChat(summary.downloader, id, join(rawDir, `${id}.json`), {
            env: opts.env as NodeJS.ProcessEnv | undefined,
          });
          summary.downloaded.push(id);
          present.add(`${id}.json`);
        } catch (err) {
          summary.failed.push({ file: join(rawDir, `${id}.json`), reason: (err as Error).message });
        }
      }
    }
  }

  // 3. ingest every chat file in the folder, once per VOD id
  const files = [...present].sort();
  let i = 0;
  for (const name of files) {
    const path = join(rawDir, name);
    progress('vod: ingesting', i++, files.length);
    const stem = name.replace(/\.json(\.gz)?$/, '');
    if (/^\d+$/.test(stem) && (await storage.exists(LAYOUT.vodIngested(stem)))) {
      if (!summary.alreadyIngested.includes(stem)) summary.alreadyIngested.push(stem);
      continue;
    }
    let chat: TwitchChatFile;
    try {
      chat = await readTwitchDownloaderChat(path, {
        bucketMinutes: config.vod.bucket_minutes,
        channel: channelOf.get(stem),
        onProgress: progress,
      });
    } catch (err) {
      summary.failed.push({ file: path, reason: (err as Error).message });
      continue;
    }
    if ((await storeTwitchChat(storage, chat, pseudonymize, opts.now)) === null) {
      if (!summary.alreadyIngested.includes(chat.vodId)) summary.alreadyIngested.push(chat.vodId);
      continue;
    }
    summary.ingested.push({
      file: path,
      vodId: chat.vodId,
      channel: chat.channel,
      records: chat.records.length,
      comments: chat.comments,
    });
    log(
      `vod: ${name}: ${chat.channel} VOD ${chat.vodId}, ${chat.comments} comments → ${chat.records.length} presence records`,
    );
  }
  progress('vod: done', files.length, files.length);
  return summary;
}
