/**
 * Reading storage back for analysis: `loadPresenceFromStorage` (compacted Parquet plus raw JSON
 * Lines not compacted yet) and `loadMetadataFromStorage` (latest known fields per channel).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { InputError } from '../errors.js';
import type { ChannelMetadata, PresenceSource } from '../model/records.js';
import { queryRows, sqlPathList, withDuckDB } from '../storage/duckdb.js';
import { LAYOUT } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import { decodeRaw, RAW_METADATA, RAW_PRESENCE } from './compact.js';
import { latestPerChannel } from './metadata.js';
import { readStoredParts, type StoredReadOptions } from './parquet-parallel.js';
import {
  PresenceBuilder,
  type PresenceReadOptions,
  type PresenceReadResult,
  pushRecord,
  RejectLog,
} from './presence.js';
import { decodeMetadataLine, decodePresenceLine } from './raw-jsonl.js';

/** Local paths for storage keys: in place when the driver has them, else downloaded to `dir`. */
async function localFiles(storage: Storage, keys: string[], dir: () => Promise<string>): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys) {
    const lp = storage.localPath(key);
    if (lp !== undefined) out.push(lp);
    else {
      const target = join(await dir(), key.split('/').join(sep));
      if (await storage.getFile(key, target)) out.push(target);
    }
  }
  return out;
}

/** True when a `dt=YYYY-MM-DD` partition can hold rows inside the window. */
function dayInWindow(key: string, o: PresenceReadOptions): boolean {
  const m = /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(key);
  if (!m) return true;
  const start = Date.parse(`${m[1]}T00:00:00Z`);
  if (o.windowEnd !== undefined && start >= o.windowEnd) return false;
  if (o.windowStart !== undefined && start + 86_400_000 <= o.windowStart) return false;
  return true;
}

/**
 * All presence in storage: compacted Parquet (read in place through DuckDB, Hive partitions
 * pruned by the window) plus raw JSON Lines not compacted yet. InputError when there is none.
 */
export async function loadPresenceFromStorage(
  storage: Storage,
  opts: PresenceReadOptions & Pick<StoredReadOptions, 'direct'> = {},
): Promise<PresenceReadResult> {
  const parts = (await storage.list(LAYOUT.presencePrefix))
    .filter((e) => e.key.endsWith('.parquet') && dayInWindow(e.key, opts))
    .map((e) => e.key);
  const raw = (await storage.list(LAYOUT.rawPresencePrefix))
    .filter((e) => RAW_PRESENCE.test(e.key) && dayInWindow(e.key, opts))
    .map((e) => e.key);
  if (parts.length === 0 && raw.length === 0) {
    throw new InputError(
      'analyze',
      `no presence in storage ${storage.location} (run import, collect or vod first, or pass --input)`,
    );
  }
  const b = new PresenceBuilder();
  const log = new RejectLog();
  let outside = 0;
  let tmp: string | undefined;
  const dir = async () => {
    tmp ??= await mkdtemp(join(tmpdir(), 'vieweratlas-load-'));
    return tmp;
  };
  try {
    if (parts.length > 0) {
      opts.onProgress?.('loading presence', 0, parts.length);
      const files = await localFiles(storage, parts, dir);
      const st = await readStoredParts(files, `${storage.location}/${LAYOUT.presencePrefix}`, b, log, opts);
      outside += st.outside;
    }
    for (const key of raw) {
      const m = RAW_PRESENCE.exec(key) as RegExpExecArray;
      const bytes = await storage.get(key);
      if (!bytes) continue;
      const { records, torn } = decodeRaw(
        key,
        bytes,
        (l) => decodePresenceLine(l, m[1] as PresenceSource),
        log,
      );
      if (torn) log.add(key, 0, 'torn last line (crash mid-write), skipped');
      for (const r of records) {
        if (
          (opts.windowStart !== undefined && r.ts < opts.windowStart) ||
          (opts.windowEnd !== undefined && r.ts >= opts.windowEnd)
        ) {
          outside++;
          continue;
        }
        pushRecord(b, r);
      }
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return {
    table: b.table(),
    rowsRead: b.length,
    rejected: log.rejected,
    rejectedCount: log.count,
    rowsOutsideWindow: outside,
  };
}

/** Channel metadata in storage (Parquet parts and raw lines), the latest record per channel. */
export async function loadMetadataFromStorage(storage: Storage): Promise<ChannelMetadata[]> {
  const parts = (await storage.list(LAYOUT.metadataPrefix))
    .filter((e) => e.key.endsWith('.parquet'))
    .map((e) => e.key);
  const raw = (await storage.list(LAYOUT.rawMetadataPrefix))
    .filter((e) => RAW_METADATA.test(e.key))
    .map((e) => e.key);
  const records: ChannelMetadata[] = [];
  let tmp: string | undefined;
  const dir = async () => {
    tmp ??= await mkdtemp(join(tmpdir(), 'vieweratlas-meta-'));
    return tmp;
  };
  try {
    if (parts.length > 0) {
      const files = await localFiles(storage, parts, dir);
      const rows = await withDuckDB((conn) =>
        queryRows(
          conn,
          `SELECT channel, display_name, language, game, viewer_count, epoch_ms(observed_at)::DOUBLE AS observed_at FROM read_parquet(${sqlPathList(files)}, union_by_name = true)`,
        ),
      );
      for (const r of rows) {
        if (typeof r.channel !== 'string' || !r.channel) continue;
        const m: ChannelMetadata = { channel: r.channel, observed_at: Number(r.observed_at) };
        if (typeof r.display_name === 'string') m.display_name = r.display_name;
        if (typeof r.language === 'string') m.language = r.language;
        if (typeof r.game === 'string') m.game = r.game;
        if (r.viewer_count !== null && r.viewer_count !== undefined) m.viewer_count = Number(r.viewer_count);
        records.push(m);
      }
    }
    const log = new RejectLog();
    for (const key of raw) {
      const bytes = await storage.get(key);
      if (bytes) records.push(...decodeRaw(key, bytes, decodeMetadataLine, log).records);
    }
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  return latestPerChannel(records);
}
