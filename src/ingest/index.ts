/** Ingest: file readers, raw JSON Lines, import into storage, compaction, storage loaders. */
export {
  decodeMetadataLine,
  decodePresenceLine,
  encodeMetadataLine,
  encodePresenceLine,
  parseTimestamp,
} from './raw-jsonl.js';
