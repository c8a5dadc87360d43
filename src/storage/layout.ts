import type { PresenceSource } from '../model/records.js';

/**
 * Where things live inside storage: raw JSON Lines per collector per hour, then compacted,
 * Hive-partitioned Parquet that DuckDB and Athena read alike.
 */

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD` of an epoch-ms instant, in UTC. */
export function utcDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `HH` (00–23) of an epoch-ms instant, in UTC. */
export function utcHour(ms: number): string {
  return pad(new Date(ms).getUTCHours());
}

export const LAYOUT = {
  /** Raw presence, append-only JSON Lines, one file per collector per hour. */
  rawPresence: (source: PresenceSource, ms: number, collector: string) =>
    `raw/presence/source=${source}/dt=${utcDate(ms)}/hour=${utcHour(ms)}/${collector}.jsonl`,
  rawPresencePrefix: 'raw/presence/',
  /** Raw channel metadata, same scheme. */
  rawMetadata: (ms: number, collector: string) =>
    `raw/metadata/dt=${utcDate(ms)}/hour=${utcHour(ms)}/${collector}.jsonl`,
  rawMetadataPrefix: 'raw/metadata/',
  /** Raw shared-chat session observations (channel metadata), same scheme. */
  rawSharedChat: (ms: number, collector: string) =>
    `raw/shared-chat/dt=${utcDate(ms)}/hour=${utcHour(ms)}/${collector}.jsonl`,
  rawSharedChatPrefix: 'raw/shared-chat/',
  /** Compacted presence: columns channel, viewer, ts, messages, vod_id, kind; partitions source, dt. */
  presencePart: (source: PresenceSource, date: string, part: string) =>
    `presence/source=${source}/dt=${date}/part-${part}.parquet`,
  presencePrefix: 'presence/',
  /** Compacted channel metadata: columns channel, display_name, language, game, viewer_count, observed_at. */
  metadataPart: (date: string, part: string) => `metadata/dt=${date}/part-${part}.parquet`,
  metadataPrefix: 'metadata/',
  /** Marker per ingested VOD (idempotency). */
  vodIngested: (vodId: string) => `state/vod/${vodId}.json`,
  vodIngestedPrefix: 'state/vod/',
  /**
   * Marker per imported file, keyed by a SHA-256 of its content (and how it was read): written
   * after the file's objects, it lists them. A copied or touched file has the same key.
   */
  importedFile: (contentHash: string) => `state/import/${contentHash}.json`,
  importedFilePrefix: 'state/import/',
} as const;
