/**
 * The presence source for callers that need the rows themselves (timeline, channel): presence
 * files, folders of them (with channel metadata and TwitchDownloader chat files), or storage —
 * read once into one interned table plus the channel metadata. Edge lists have no time and are
 * refused here.
 */
import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import { compactRaw } from '../ingest/compact.js';
import { detectFileKind } from '../ingest/detect.js';
import { loadMetadataFromStorage, loadPresenceFromStorage } from '../ingest/load.js';
import { readChannelMetadataFiles } from '../ingest/metadata.js';
import { readPresenceFiles } from '../ingest/presence.js';
import { encodePresenceLine } from '../ingest/raw-jsonl.js';
import { readTwitchDownloaderChat } from '../ingest/twitch-downloader.js';
import type { PresenceTable } from '../model/presence-table.js';
import type { ProgressFn } from '../model/progress.js';
import type { ChannelMetadata } from '../model/records.js';
import { createPseudonymizer } from '../privacy/pseudonymize.js';
import { LAYOUT } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';

export interface PresenceInput {
  table: PresenceTable;
  metadata: ChannelMetadata[];
  /** What was read (files, or the storage location). */
  paths: string[];
  rowsRead: number;
  rejectedCount: number;
  /** Maps bot logins to stored ids when viewers are pseudonymised in storage. */
  botNameMapper: ((login: string) => string) | null;
}

/** Files a folder may hold: tables, JSON Lines, Parquet, TwitchDownloader JSON (also gzipped). */
const DATA_FILE = /\.(csv|tsv|txt|jsonl|ndjson|json|parquet|gz)$/i;

export async function loadPresenceInput(
  config: Config,
  opts: { inputs?: string[]; storage?: Storage; component: string; onProgress?: ProgressFn },
): Promise<PresenceInput> {
  const progress = opts.onProgress ?? (() => {});
  const inputs = opts.inputs ?? [];
  if (inputs.length === 0) {
    if (!opts.storage) throw new InputError(opts.component, 'no --input files and no storage to read');
    const storage = opts.storage;
    if ((await storage.list(LAYOUT.rawPresencePrefix)).length > 0) {
      progress('compact');
      await compactRaw(storage, { onProgress: progress });
    }
    const presence = await loadPresenceFromStorage(storage, { onProgress: progress });
    return {
      table: presence.table,
      metadata: await loadMetadataFromStorage(storage),
      paths: [storage.location],
      rowsRead: presence.rowsRead,
      rejectedCount: presence.rejectedCount,
      botNameMapper: config.privacy.pseudonymize ? createPseudonymizer(config.privacy) : null,
    };
  }
  const presenceFiles: string[] = [];
  const metadataFiles: string[] = [];
  const chatFiles: string[] = [];
  const add = async (path: string) => {
    const kind = await detectFileKind(path);
    if (kind === 'presence') presenceFiles.push(path);
    else if (kind === 'metadata') metadataFiles.push(path);
    else if (kind === 'twitch-chat') chatFiles.push(path);
    else
      throw new InputError(
        opts.component,
        `${path}: an edge list has no time; ${opts.component} needs presence (channel,viewer,ts)`,
      );
  };
  for (const path of inputs) {
    const st = await stat(path).catch(() => null);
    if (!st) throw new InputError(opts.component, `${path}: no such file`);
    if (!st.isDirectory()) {
      await add(path);
      continue;
    }
    for (const name of (await readdir(path)).filter((n) => DATA_FILE.test(n)).sort()) {
      const file = join(path, name);
      if (!(await stat(file)).isFile()) continue;
      // in a folder, files of no known kind (truth.csv, notes) and edge lists are passed over
      await add(file).catch((err) => {
        if (!(err instanceof InputError)) throw err;
      });
    }
  }
  if (presenceFiles.length === 0 && chatFiles.length === 0)
    throw new InputError(opts.component, `no presence file among the inputs (${inputs.join(', ')})`);
  const tmp = chatFiles.length > 0 ? await mkdtemp(join(tmpdir(), 'vieweratlas-chat-')) : undefined;
  try {
    const files = [...presenceFiles];
    if (tmp) {
      const jsonl = join(tmp, 'chat-presence.jsonl');
      for (const path of chatFiles) {
        progress(`read ${path}`);
        const chat = await readTwitchDownloaderChat(path, { bucketMinutes: config.vod.bucket_minutes });
        await appendFile(jsonl, chat.records.map(encodePresenceLine).join(''));
      }
      files.push(jsonl);
    }
    const presence = await readPresenceFiles(files, { onProgress: progress });
    const metadata =
      metadataFiles.length > 0
        ? await readChannelMetadataFiles(metadataFiles)
        : { records: [], rejectedCount: 0 };
    return {
      table: presence.table,
      metadata: metadata.records,
      paths: [...presenceFiles, ...chatFiles, ...metadataFiles],
      rowsRead: presence.rowsRead,
      rejectedCount: presence.rejectedCount + metadata.rejectedCount,
      botNameMapper: null,
    };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
