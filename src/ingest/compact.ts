/**
 * `compactRaw`: closed hours of raw JSON Lines (what collectors and `vod` append) → Hive-partitioned
 * Parquet, idempotently, tolerating a torn last line.
 */
import { createHash } from 'node:crypto';
import type { ProgressFn } from '../model/progress.js';
import type { PresenceSource } from '../model/records.js';
import { withDuckDB } from '../storage/duckdb.js';
import { LAYOUT } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import { safe, stagePresence, storeMetadata, storePresence } from './import.js';
import { PresenceBuilder, pushRecord, type RejectedRow, RejectLog } from './presence.js';
import { decodeMetadataLine, decodePresenceLine } from './raw-jsonl.js';
/** Options for `compactRaw`. */
export interface CompactOptions {
  /** Current time (epoch ms); hours that ended at least `graceMs` before it are closed. */
  now?: number;
  /** How long after an hour ends before it is compacted (late flushes). */
  graceMs?: number;
  onProgress?: ProgressFn;
}

export const COMPACT_DEFAULTS = { graceMs: 10 * 60_000 };

export interface CompactSummary {
  /** Raw objects compacted (and deleted). */
  filesCompacted: number;
  /** Raw objects left because their hour is still open. */
  filesOpen: number;
  /** Raw objects left because no line in them could be read (kept for inspection). */
  filesUnreadable: number;
  presenceRows: number;
  metadataRows: number;
  /** Torn last lines skipped (a crash mid-write). */
  tornLines: number;
  rejectedCount: number;
  rejected: RejectedRow[];
  partsWritten: string[];
}

export const RAW_PRESENCE =
  /^raw\/presence\/source=(live|vod|import)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([^/]+)\.jsonl$/;
export const RAW_METADATA = /^raw\/metadata\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([^/]+)\.jsonl$/;

function hourEnd(dt: string, hour: string): number {
  return Date.parse(`${dt}T${hour}:00:00Z`) + 3_600_000;
}

/** Decodes a raw object: good records, rejected lines, and whether the last line was torn. */
export function decodeRaw<T>(
  key: string,
  bytes: Uint8Array,
  decode: (line: string) => T | string,
  log: RejectLog,
): { records: T[]; torn: number; bad: number } {
  const text = Buffer.from(bytes).toString('utf8');
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const records: T[] = [];
  let bad = 0;
  let torn = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const r = decode(line);
    if (typeof r === 'string') {
      bad++;
      log.add(key, i + 1, r);
    } else records.push(r);
  });
  if (tail.trim() !== '') {
    // Appends are whole lines ending in \n: a tail without one was cut by a crash.
    const r = decode(tail);
    if (typeof r === 'string') torn++;
    else records.push(r);
  }
  return { records, torn, bad };
}

/**
 * Compacts closed hours of raw JSON Lines into Parquet: one part per raw object, named from its
 * key and content hash, so re-running (after a crash between writing the part and deleting the
 * raw object) overwrites the same part instead of duplicating rows. Raw objects are deleted only
 * after their part is stored. A torn last line is skipped and counted.
 */
export async function compactRaw(storage: Storage, opts: CompactOptions = {}): Promise<CompactSummary> {
  const now = opts.now ?? Date.now();
  const grace = opts.graceMs ?? COMPACT_DEFAULTS.graceMs;
  const s: CompactSummary = {
    filesCompacted: 0,
    filesOpen: 0,
    filesUnreadable: 0,
    presenceRows: 0,
    metadataRows: 0,
    tornLines: 0,
    rejectedCount: 0,
    rejected: [],
    partsWritten: [],
  };
  const log = new RejectLog();
  const presence = (await storage.list(LAYOUT.rawPresencePrefix)).filter((e) => RAW_PRESENCE.test(e.key));
  const metadata = (await storage.list(LAYOUT.rawMetadataPrefix)).filter((e) => RAW_METADATA.test(e.key));
  const total = presence.length + metadata.length;
  let done = 0;
  if (total === 0) return s;
  await withDuckDB(async (conn) => {
    for (const e of presence) {
      opts.onProgress?.('compact', done++, total);
      const [, source, dt, hour, collector] = RAW_PRESENCE.exec(e.key) as unknown as [
        string,
        PresenceSource,
        string,
        string,
        string,
      ];
      if (hourEnd(dt, hour) + grace > now) {
        s.filesOpen++;
        continue;
      }
      const bytes = await storage.get(e.key);
      if (!bytes) continue; // deleted by a concurrent compaction
      const { records, torn, bad } = decodeRaw(e.key, bytes, (l) => decodePresenceLine(l, source), log);
      s.tornLines += torn;
      if (records.length === 0 && bad > 0) {
        s.filesUnreadable++;
        continue;
      }
      if (records.length > 0) {
        const b = new PresenceBuilder({ extras: true, capacity: records.length });
        for (const r of records) pushRecord(b, r);
        const tag = `h${hour}-${safe(collector)}-${createHash('sha256').update(bytes).digest('hex').slice(0, 10)}`;
        // Raw viewers are already pseudonymised by the collector when privacy asks for it.
        const { app, batch } = await stagePresence(conn);
        try {
          await batch(b);
        } finally {
          app.close();
        }
        const keys = await storePresence(conn, storage, b, tag, undefined, undefined, undefined, true);
        s.partsWritten.push(...keys);
        s.presenceRows += records.length;
      }
      await storage.delete(e.key);
      s.filesCompacted++;
    }
    for (const e of metadata) {
      opts.onProgress?.('compact', done++, total);
      const [, dt, hour, collector] = RAW_METADATA.exec(e.key) as unknown as [string, string, string, string];
      if (hourEnd(dt, hour) + grace > now) {
        s.filesOpen++;
        continue;
      }
      const bytes = await storage.get(e.key);
      if (!bytes) continue;
      const { records, torn, bad } = decodeRaw(e.key, bytes, decodeMetadataLine, log);
      s.tornLines += torn;
      if (records.length === 0 && bad > 0) {
        s.filesUnreadable++;
        continue;
      }
      if (records.length > 0) {
        const key = LAYOUT.metadataPart(
          dt,
          `h${hour}-${safe(collector)}-${createHash('sha256').update(bytes).digest('hex').slice(0, 10)}`,
        );
        await storeMetadata(conn, storage, records, key);
        s.partsWritten.push(key);
        s.metadataRows += records.length;
      }
      await storage.delete(e.key);
      s.filesCompacted++;
    }
  });
  opts.onProgress?.('compact', total, total);
  s.rejected = log.rejected;
  s.rejectedCount = log.count;
  return s;
}
