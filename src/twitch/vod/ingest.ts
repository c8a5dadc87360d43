import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { InputError } from '../../errors.js';
import {
  coveredRanges,
  coversWholeVod,
  readTwitchDownloaderChat,
  readVodMarker,
  storeTwitchChat,
  type TwitchChatFile,
} from '../../ingest/twitch-downloader.js';
import type { ProgressFn } from '../../model/progress.js';
import { createPseudonymizer } from '../../privacy/pseudonymize.js';
import type { Storage } from '../../storage/storage.js';
import type { HelixClientOptions } from '../helix/client.js';
import { createHelixClient } from '../helix/discover.js';
import { downloadChat, findDownloader } from './downloader.js';
import {
  dueEntries,
  enqueueVods,
  loadVodQueue,
  nextAttemptAt,
  recordFailure,
  saveVodQueue,
  setState,
  type VodQueueEntry,
  waitingEntries,
} from './queue.js';
import { listArchiveVods } from './videos.js';

/**
 * VOD chat replay: list archived broadcasts of the channels (Helix) and queue them (filters
 * `vod.max_age_days`, `vod.min_views`, `vod.max_per_channel`), download the chat of each queued
 * VOD with TwitchDownloaderCLI into `vod_raw/ID.json` (attempts and backoff kept in the queue in
 * storage, so a crash mid-queue resumes), and ingest every chat JSON in `vod_raw/` (downloaded
 * now or dropped there by hand: full VODs, trimmed ranges, clips). What a file adds is stored
 * once per (VOD id, covered range) by `storeTwitchChat`; a file is then kept, moved into
 * storage or deleted (`vod.raw_after_ingest`).
 */
export interface VodOptions {
  storage: Storage;
  /** Folder of TwitchDownloader chat JSON files; `vod.raw_dir`. */
  rawDir?: string;
  /** Explicit VOD ids (queued, downloaded when missing; no filters); no Helix call needed for these. */
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
  /** Presence records stored from this file. */
  records: number;
  /** Comments stored from this file (outside what its VOD already had). */
  comments: number;
  clip: boolean;
}

/** What becomes of a chat file once ingested. */
export type RawAfterIngest = 'keep' | 'move' | 'delete';

/** Where `raw_after_ingest: move` puts a chat file in storage (under `raw/`, which the vod task may write; compaction reads only `raw/presence/`). */
export const archivedRawKey = (name: string) => `raw/vod_chat/${name}`;

export interface VodSummary {
  rawDir: string;
  /** VODs Helix listed for the channels (after the filters). */
  listed: number;
  /** Listed VODs left out by `vod.min_views`. */
  belowMinViews: number;
  downloaded: string[];
  /** Downloads not attempted because TwitchDownloaderCLI is not installed. */
  downloadsSkipped: string[];
  /** Files ingested now (that added something). */
  ingested: VodFileResult[];
  /** VOD ids skipped because their marker covers them (or the file adds nothing). */
  alreadyIngested: string[];
  /** Files or downloads that failed, with the reason (the others went in). */
  failed: { file: string; reason: string }[];
  /** Queued VODs waiting for their retry backoff. */
  waiting: { vodId: string; nextAttemptAt: string }[];
  /** Queued VODs given up now after `vod.max_attempts` failed downloads. */
  gaveUp: string[];
  /** Queued VODs dropped now for being older than `vod.max_age_days`. */
  expired: string[];
  /** What became of the ingested chat files. */
  rawAfterIngest: RawAfterIngest;
  moved: string[];
  deleted: string[];
  /** Whether the downloader was found. */
  downloader: string | null;
}

const CHAT_FILE = /^[^.].*\.json(\.gz)?$/i;
const VOD_ID = /^\d+$/;

/** `vod.raw_after_ingest` resolved: `auto` deletes when viewers are pseudonymised (the file holds logins). */
export function rawAfterIngest(config: Config): RawAfterIngest {
  const p = config.vod.raw_after_ingest;
  return p === 'auto' ? (config.privacy.pseudonymize ? 'delete' : 'keep') : p;
}

export async function runVod(config: Config, opts: VodOptions): Promise<VodSummary> {
  const rawDir = opts.rawDir ?? config.vod.raw_dir;
  const log = opts.log ?? (() => {});
  const progress = opts.onProgress ?? (() => {});
  const pseudonymize = createPseudonymizer(config.privacy, opts.env);
  const now = opts.now ?? Date.now();
  const clock = () => opts.now ?? Date.now();
  const maxAgeDays = config.vod.window_days ?? config.vod.max_age_days;
  const retry = { maxAttempts: config.vod.max_attempts, backoffSeconds: config.vod.retry_backoff_seconds };
  const policy = rawAfterIngest(config);
  const { storage } = opts;
  await mkdir(rawDir, { recursive: true });
  const summary: VodSummary = {
    rawDir,
    listed: 0,
    belowMinViews: 0,
    downloaded: [],
    downloadsSkipped: [],
    ingested: [],
    alreadyIngested: [],
    failed: [],
    waiting: [],
    gaveUp: [],
    expired: [],
    rawAfterIngest: policy,
    moved: [],
    deleted: [],
    downloader: null,
  };
  const already = (id: string) => {
    if (!summary.alreadyIngested.includes(id)) summary.alreadyIngested.push(id);
  };
  if (policy === 'move' && config.privacy.pseudonymize)
    log(
      'vod: vod.raw_after_ingest = move keeps the chat files (with logins) in storage although privacy.pseudonymize is on',
    );

  // 1. the queue: explicit ids (reset when given up), then Helix listings (filtered)
  const queue = await loadVodQueue(storage);
  const explicit: { id: string }[] = [];
  for (const id of opts.vodIds ?? []) {
    if (!VOD_ID.test(id)) throw new InputError('vod', `--vod: not a Twitch video id: "${id}"`);
    explicit.push({ id });
  }
  let changed = enqueueVods(queue, explicit, now, { reset: true }).length > 0;
  if (opts.channels && opts.channels.length > 0) {
    const client = createHelixClient(config, opts);
    progress('vod: listing archives');
    const { vods, unknown, belowMinViews } = await listArchiveVods(client, opts.channels, {
      windowDays: maxAgeDays,
      maxPerChannel: config.vod.max_per_channel,
      minViews: config.vod.min_views,
      now,
      onChannel: (done, total) => progress('vod: listing archives', done, total),
    });
    if (unknown.length > 0) log(`vod: unknown to Twitch, skipped: ${unknown.join(', ')}`);
    summary.listed = vods.length;
    summary.belowMinViews = belowMinViews;
    if (enqueueVods(queue, vods, now).length > 0) changed = true;
  }
  const oldest = now - maxAgeDays * 86_400_000;
  for (const e of queue.entries) {
    if (e.state === 'pending' && e.created_at && Date.parse(e.created_at) < oldest) {
      setState(e, 'expired', now);
      summary.expired.push(e.vod_id);
      changed = true;
    }
  }
  if (changed) await saveVodQueue(storage, queue);
  const entryOf = new Map(queue.entries.map((e) => [e.vod_id, e]));

  // 2. download the due entries that are neither ingested nor already on disk
  const present = new Set((await readdir(rawDir)).filter((f) => CHAT_FILE.test(f)));
  const toDownload: VodQueueEntry[] = [];
  for (const e of dueEntries(queue, now, retry)) {
    if (coversWholeVod(coveredRanges(await readVodMarker(storage, e.vod_id)))) {
      setState(e, 'done', now);
      already(e.vod_id);
      await saveVodQueue(storage, queue);
      continue;
    }
    if (!present.has(`${e.vod_id}.json`) && !present.has(`${e.vod_id}.json.gz`)) toDownload.push(e);
  }
  const downloadedNow = new Set<string>();
  if (toDownload.length > 0) {
    summary.downloader = await findDownloader(config.vod.downloader, opts.env ?? process.env);
    if (!summary.downloader) {
      summary.downloadsSkipped = toDownload.map((e) => e.vod_id);
      log(
        `vod: TwitchDownloaderCLI not found (vod.downloader = "${config.vod.downloader}"): skipping ${toDownload.length} download${toDownload.length === 1 ? '' : 's'}; ` +
          `install it from https://github.com/lay295/TwitchDownloader/releases or set vod.downloader to its path. Files already in ${rawDir}/ are still ingested.`,
      );
    } else {
      let n = 0;
      for (const e of toDownload) {
        progress('vod: downloading chat', n++, toDownload.length);
        // a crash during the download leaves `downloading` with the attempt counted
        if (e.state !== 'downloading') e.attempts++;
        setState(e, 'downloading', clock());
        await saveVodQueue(storage, queue);
        const file = join(rawDir, `${e.vod_id}.json`);
        try {
          await downloadChat(summary.downloader, e.vod_id, file, {
            env: opts.env as NodeJS.ProcessEnv | undefined,
          });
          summary.downloaded.push(e.vod_id);
          downloadedNow.add(e.vod_id);
          present.add(`${e.vod_id}.json`);
          setState(e, 'ingesting', clock());
        } catch (err) {
          const reason = (err as Error).message;
          recordFailure(e, reason, clock(), retry);
          if (e.state === 'failed') summary.gaveUp.push(e.vod_id);
          summary.failed.push({ file, reason });
        }
        await saveVodQueue(storage, queue);
      }
    }
  }

  // 3. ingest every chat file in the folder: what each adds to its VOD, once
  const files = [...present].sort();
  let i = 0;
  for (const name of files) {
    const path = join(rawDir, name);
    progress('vod: ingesting', i++, files.length);
    const stem = name.replace(/\.json(\.gz)?$/i, '');
    const entry = VOD_ID.test(stem) ? entryOf.get(stem) : undefined;
    if (VOD_ID.test(stem) && coversWholeVod(coveredRanges(await readVodMarker(storage, stem)))) {
      already(stem);
      await finishFile(path, name);
      continue;
    }
    let chat: TwitchChatFile;
    try {
      chat = await readTwitchDownloaderChat(path, {
        bucketMinutes: config.vod.bucket_minutes,
        channel: entry?.channel,
        vodStartMs: entry?.created_at ? Date.parse(entry.created_at) : undefined,
        onProgress: progress,
      });
    } catch (err) {
      const reason = (err as Error).message;
      summary.failed.push({ file: path, reason });
      if (entry && downloadedNow.has(entry.vod_id)) {
        // a broken download: set it aside (hidden, not read again) so the next attempt downloads anew
        recordFailure(entry, reason, clock(), retry);
        if (entry.state === 'failed') summary.gaveUp.push(entry.vod_id);
        await rename(path, join(rawDir, `.${name}.unreadable`)).catch(() => {});
        await saveVodQueue(storage, queue);
      }
      continue;
    }
    const stored = await storeTwitchChat(storage, chat, pseudonymize, now);
    const e = entryOf.get(chat.vodId);
    if (
      e &&
      e.state !== 'done' &&
      (stem === chat.vodId || coversWholeVod(coveredRanges(await readVodMarker(storage, chat.vodId))))
    ) {
      setState(e, 'done', now);
      await saveVodQueue(storage, queue);
    }
    if (stored === null) already(chat.vodId);
    else {
      const marker = await readVodMarker(storage, chat.vodId);
      const part = marker?.parts?.[marker.parts.length - 1];
      summary.ingested.push({
        file: path,
        vodId: chat.vodId,
        channel: chat.channel,
        records: part?.records ?? 0,
        comments: part?.comments ?? 0,
        clip: chat.clip,
      });
      log(
        `vod: ${name}: ${chat.channel} ${chat.clip ? 'clip of VOD' : 'VOD'} ${chat.vodId}, ${part?.comments ?? 0} new of ${chat.comments} comments → ${part?.records ?? 0} presence records`,
      );
    }
    await finishFile(path, name);
  }
  progress('vod: done', files.length, files.length);
  summary.waiting = waitingEntries(queue, now, retry).map((e) => ({
    vodId: e.vod_id,
    nextAttemptAt: new Date(nextAttemptAt(e, retry)).toISOString(),
  }));
  return summary;

  async function finishFile(path: string, name: string): Promise<void> {
    if (policy === 'keep') return;
    if (policy === 'move') {
      await storage.putFile(archivedRawKey(name), path);
      summary.moved.push(path);
    } else summary.deleted.push(path);
    await rm(path, { force: true });
  }
}
