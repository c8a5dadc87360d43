/** Ingest: file readers, raw JSON Lines, import into storage, compaction, storage loaders. */

export { COMPACT_DEFAULTS, type CompactOptions, type CompactSummary, compactRaw } from './compact.js';
export { ByteInterner, parseTimestampBytes, scanCsv } from './csv-scan.js';
export { detectFileKind, type FileKind, kindFromColumns } from './detect.js';
export { type EdgeReadResult, readEdgeList } from './edges.js';
export {
  GRAPH_LAYOUT,
  type ImportFileSummary,
  type ImportOptions,
  type ImportSummary,
  importFiles,
} from './import.js';
export { loadMetadataFromStorage, loadPresenceFromStorage } from './load.js';
export { latestPerChannel, type MetadataReadResult, readChannelMetadataFiles } from './metadata.js';
export {
  MAX_REJECTED_KEPT,
  PRESENCE_COLUMNS,
  PRESENCE_READ_DEFAULTS,
  type PresenceReadOptions,
  type PresenceReadResult,
  type RejectedRow,
  readPresenceFiles,
} from './presence.js';
export {
  decodeMetadataLine,
  decodePresenceLine,
  encodeMetadataLine,
  encodePresenceLine,
  parseTimestamp,
} from './raw-jsonl.js';
