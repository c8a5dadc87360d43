/**
 * Everything that moves presence and metadata between files and storage: `importFiles`,
 * `compactRaw` (closed hours of raw JSON Lines → Hive-partitioned Parquet) and the loaders that
 * read it all back (`loadPresenceFromStorage`, `loadMetadataFromStorage`).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import { InputError, VieweratlasError } from '../errors.js';
import type { ProgressFn } from '../model/progress.js';
import type { ChannelMetadata, PresenceSource } from '../model/records.js';
import type { Pseudonymizer } from '../privacy/pseudonymize.js';
import {
  createDictionaryTable,
  createTableFromColumns,
  createTypedAppender,
  type DuckDBConnection,
  queryRows,
  sqlPathList,
  sqlString,
  type TypedAppender,
  withDuckDB,
} from '../storage/duckdb.js';
import { LAYOUT } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';
import { detectFileKind, type FileKind } from './detect.js';
import { readEdgeList } from './edges.js';
import { latestPerChannel, readChannelMetadataFile } from './metadata.js';
import {
  type BatchFn,
  PresenceBuilder,
  type PresenceExtras,
  type PresenceReadOptions,
  type PresenceReadResult,
  pushRecord,
  type RejectedRow,
  RejectLog,
  readPresenceFileInto,
  readPresenceParquetWith,
} from './presence.js';
import { decodeMetadataLine, decodePresenceLine } from './raw-jsonl.js';
import { importTwitchChatFile } from './twitch-downloader.js';

/** Where edge lists and node files go in storage (analysis can read them back by name). */
export const GRAPH_LAYOUT = {
  /** Columns source, target, weight. */
  edges: (name: string) => `graphs/${name}/edges.parquet`,
  /** Columns id, audience. */
  nodes: (name: string) => `graphs/${name}/nodes.parquet`,
  prefix: 'graphs/',
} as const;

/** Options for `importFiles`. */
export interface ImportOptions {
  /** Applied to every viewer login before it is stored (see src/privacy). Default: identity. */
  pseudonymize?: Pseudonymizer;
  /** Forces the kind of every file instead of detecting it. */
  kind?: FileKind;
  /** `observed_at` for metadata rows that carry none; epoch ms. */
  now?: number;
  onProgress?: ProgressFn;
  /** Passed to the presence readers (e.g. maxRejectShare). */
  read?: PresenceReadOptions;
  /** Bucket length for TwitchDownloader chat files (config `vod.bucket_minutes`). */
  vodBucketMinutes?: number;
}

/** What happened to one file. */
export interface ImportFileSummary {
  path: string;
  kind?: FileKind;
  ok: boolean;
  /** One-line reason when the file failed (nothing from it was stored). */
  error?: string;
  rowsRead: number;
  rejectedCount: number;
  rejected: RejectedRow[];
  /** Storage keys written. */
  stored: string[];
  ms: number;
}

export interface ImportSummary {
  files: ImportFileSummary[];
  /** Files that failed as a whole. */
  failed: number;
  rowsRead: number;
  rejectedCount: number;
  location: string;
}

/** Opens the staging table `r` for presence rows (ids + numbers) and returns a batch function that appends the builder's rows to it. */
async function stagePresence(conn: DuckDBConnection): Promise<{ app: TypedAppender; batch: BatchFn }> {
  const app = await createTypedAppender(conn, 'r', [
    { name: 'c', data: new Uint32Array(0) },
    { name: 'v', data: new Uint32Array(0) },
    { name: 'ts', data: new Float64Array(0) },
    { name: 'm', data: new Uint32Array(0) },
    { name: 'src', data: new Uint8Array(0) },
    { name: 'kind', data: new Uint8Array(0) },
    { name: 'vod', data: new Uint32Array(0) },
  ]);
  const batch = async (b: PresenceBuilder) => {
    const ex = b.extras as PresenceExtras;
    app.append([b.channel, b.viewer, b.ts, b.messages, ex.source, ex.kind, ex.vod], b.length);
    b.length = 0;
  };
  return { app, batch };
}

/** DuckDB settings for import: a tighter memory cap (it spills to disk) keeps peak RSS near the data size. */
const IMPORT_DUCKDB = { memoryLimit: '512MB' };

/** Hive partition value for a source code (PRESENCE_SOURCES order). */
const SOURCE_SQL = `CASE r.src WHEN 0 THEN 'live' WHEN 1 THEN 'vod' ELSE 'import' END`;

/**
 * Writes the builder's rows as Hive-partitioned Parquet (`presence/source=…/dt=…/part-<tag>-N`)
 * and returns the keys. Viewer names pass through `pseudonymize` once per distinct viewer.
 */
async function storePresence(
  conn: DuckDBConnection,
  storage: Storage,
  b: PresenceBuilder,
  tag: string,
  pseudonymize: Pseudonymizer,
  onProgress?: ProgressFn,
): Promise<string[]> {
  const ex = b.extras;
  if (!ex) throw new VieweratlasError('import', 'internal: presence builder without extras');
  await createDictionaryTable(conn, 'cn', b.channels.names());
  await createDictionaryTable(conn, 'vn', b.viewers.names().map(pseudonymize));
  await createDictionaryTable(conn, 'vd', ex.vodNames.names());
  const dir = await mkdtemp(join(tmpdir(), 'vieweratlas-parts-'));
  try {
    onProgress?.('import: writing Parquet');
    await conn.run(`COPY (
        SELECT cn.name AS channel, vn.name AS viewer, epoch_ms(r.ts::BIGINT) AS ts, r.m AS messages,
          vd.name AS vod_id, CASE r.kind WHEN 1 THEN 'membership' ELSE 'chat' END AS kind,
          ${SOURCE_SQL} AS source, epoch_ms(r.ts::BIGINT)::DATE AS dt
        FROM r JOIN cn ON cn.id = r.c JOIN vn ON vn.id = r.v LEFT JOIN vd ON vd.id + 1 = r.vod
      ) TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (source, dt), FILENAME_PATTERN 'f{i}')`);
    const keys: string[] = [];
    for (const file of (await listFiles(dir)).sort()) {
      const rel = relative(dir, file).split(sep);
      const source = (rel[0] ?? '').replace(/^source=/, '') as PresenceSource;
      const dt = (rel[1] ?? '').replace(/^dt=/, '');
      const i = basename(file)
        .replace(/^f/, '')
        .replace(/\.parquet$/, '');
      const key = LAYOUT.presencePart(source, dt, `${tag}-${i}`);
      await storage.putFile(key, file);
      keys.push(key);
    }
    return keys;
  } finally {
    for (const t of ['r', 'cn', 'vn', 'vd']) await conn.run(`DROP TABLE IF EXISTS ${t}`);
    await rm(dir, { recursive: true, force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

/** A stable tag for an input file: re-importing the same unchanged file overwrites its parts. */
async function fileTag(path: string, salt: string): Promise<string> {
  const s = await stat(path);
  const h = createHash('sha256')
    .update(`${resolve(path)}|${s.size}|${s.mtimeMs}|${salt}`)
    .digest('hex');
  return `imp-${h.slice(0, 12)}`;
}

const METADATA_COLUMNS = [
  { name: 'channel', type: 'VARCHAR' },
  { name: 'display_name', type: 'VARCHAR' },
  { name: 'language', type: 'VARCHAR' },
  { name: 'game', type: 'VARCHAR' },
  { name: 'viewer_count', type: 'DOUBLE' },
  { name: 'observed_at', type: 'BIGINT' },
] as const;

/** Writes metadata records as one Parquet object at `key`. */
async function storeMetadata(
  conn: DuckDBConnection,
  storage: Storage,
  records: ChannelMetadata[],
  key: string,
): Promise<void> {
  await createTableFromColumns(
    conn,
    'meta',
    METADATA_COLUMNS.map((c) => ({
      name: c.name,
      type: c.type,
      values: records.map((r) => r[c.name] ?? null),
    })),
  );
  const dir = await mkdtemp(join(tmpdir(), 'vieweratlas-meta-'));
  try {
    const file = join(dir, 'part.parquet');
    await conn.run(
      `COPY (SELECT channel, display_name, language, game, viewer_count, epoch_ms(observed_at) AS observed_at FROM meta) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    await storage.putFile(key, file);
  } finally {
    await conn.run('DROP TABLE IF EXISTS meta');
    await rm(dir, { recursive: true, force: true });
  }
}

/** Storage-safe name from a file name: `twitch-atlas-2021-10-edges`. */
function stem(path: string): string {
  return (
    basename(path)
      .replace(/\.[^.]+$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+/, '') || 'graph'
  );
}

/**
 * Imports files into storage, one at a time: presence → Hive-partitioned Parquet, channel
 * metadata → `metadata/dt=…/part-…parquet`, edge lists and node files → `graphs/<name>/…`.
 * A file that fails (no readable row, missing columns, mostly garbage, bad weights) stores
 * nothing and is reported; the other files are still imported. Never throws InputError for a
 * single bad file: callers decide from `failed`.
 */
export async function importFiles(
  storage: Storage,
  paths: string[],
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const pseudonymize = opts.pseudonymize ?? ((s: string) => s);
  const now = opts.now ?? Date.now();
  const summary: ImportSummary = {
    files: [],
    failed: 0,
    rowsRead: 0,
    rejectedCount: 0,
    location: storage.location,
  };
  // Node files pair with the edge list of the same call (Gephi exports come as two files).
  const kinds = new Map<string, FileKind | Error>();
  for (const p of paths) {
    try {
      kinds.set(p, opts.kind ?? (await detectFileKind(p)));
    } catch (err) {
      kinds.set(p, err as Error);
    }
  }
  const edgeFiles = paths.filter((p) => kinds.get(p) === 'edges');
  await withDuckDB(async (conn) => {
    // Row order inside a part does not matter; not keeping it lets DuckDB stream the COPY.
    await conn.run('SET preserve_insertion_order = false');
    for (const path of paths) {
      const t0 = performance.now();
      const kind = kinds.get(path);
      const f: ImportFileSummary = {
        path,
        ok: false,
        rowsRead: 0,
        rejectedCount: 0,
        rejected: [],
        stored: [],
        ms: 0,
      };
      summary.files.push(f);
      try {
        if (kind instanceof Error) throw kind;
        f.kind = kind;
        if (kind === 'presence') {
          const b = new PresenceBuilder({ extras: true });
          const log = new RejectLog();
          // Rows stream into DuckDB a batch at a time: memory stays bounded by the batch, not the file.
          const { app, batch } = await stagePresence(conn);
          try {
            await readPresenceFileInto(
              path,
              b,
              log,
              { ...opts.read, onProgress: opts.onProgress },
              conn,
              batch,
            );
            await batch(b);
          } finally {
            app.close();
          }
          b.release();
          f.rowsRead = app.rows;
          f.rejectedCount = log.count;
          f.rejected = log.rejected;
          f.stored = await storePresence(
            conn,
            storage,
            b,
            await fileTag(path, opts.pseudonymize ? 'p' : ''),
            pseudonymize,
            opts.onProgress,
          );
        } else if (kind === 'metadata') {
          const r = await readChannelMetadataFile(path, { now });
          f.rowsRead = r.records.length;
          f.rejectedCount = r.rejectedCount;
          f.rejected = r.rejected;
          const key = LAYOUT.metadataPart(new Date(now).toISOString().slice(0, 10), await fileTag(path, ''));
          await storeMetadata(conn, storage, r.records, key);
          f.stored = [key];
        } else if (kind === 'edges') {
          const r = await readEdgeList(path);
          f.rowsRead = r.table.length;
          f.rejectedCount = r.rejectedCount;
          f.rejected = r.rejected;
          const t = r.table;
          const key = GRAPH_LAYOUT.edges(stem(path));
          const dir = await mkdtemp(join(tmpdir(), 'vieweratlas-edges-'));
          try {
            await createTableFromColumns(conn, 'e', [
              {
                name: 'source',
                type: 'VARCHAR',
                values: Array.from(t.source, (i) => t.nodeNames[i] as string),
              },
              {
                name: 'target',
                type: 'VARCHAR',
                values: Array.from(t.target, (i) => t.nodeNames[i] as string),
              },
              { name: 'weight', type: 'DOUBLE', values: t.weight },
            ]);
            const file = join(dir, 'edges.parquet');
            await conn.run(`COPY e TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
            await storage.putFile(key, file);
            f.stored = [key];
          } finally {
            await conn.run('DROP TABLE IF EXISTS e');
            await rm(dir, { recursive: true, force: true });
          }
        } else if (kind === 'nodes') {
          // Read it through an edge list of the same call when there is one (validates both), else alone.
          const partner =
            edgeFiles.find(
              (e) => stem(e).replace(/edges?$/i, '') === stem(path).replace(/(nodes?|channels?)$/i, ''),
            ) ?? edgeFiles[0];
          const r = partner ? await readEdgeList(partner, path) : await readNodesOnly(path);
          f.rowsRead = r.nodesRead;
          f.rejectedCount = r.rejected.filter((x) => x.file === path).length;
          f.rejected = r.rejected.filter((x) => x.file === path);
          const key = GRAPH_LAYOUT.nodes(partner ? stem(partner) : stem(path));
          const dir = await mkdtemp(join(tmpdir(), 'vieweratlas-nodes-'));
          try {
            const file = join(dir, 'nodes.parquet');
            await createTableFromColumns(conn, 'n', [
              { name: 'id', type: 'VARCHAR', values: r.table.nodeNames },
              { name: 'audience', type: 'DOUBLE', values: r.table.nodeAudience },
            ]);
            await conn.run(`COPY n TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
            await storage.putFile(key, file);
            f.stored = [key];
          } finally {
            await conn.run('DROP TABLE IF EXISTS n');
            await rm(dir, { recursive: true, force: true });
          }
        } else {
          // TwitchDownloaderCLI chat JSON: stored once per VOD id, the same path as `vieweratlas vod`
          const r = await importTwitchChatFile(storage, path, {
            bucketMinutes: opts.vodBucketMinutes,
            pseudonymize,
            now,
            onProgress: opts.onProgress,
          });
          f.rowsRead = r.chat.comments;
          f.stored = r.stored ?? [];
        }
        f.ok = true;
        summary.rowsRead += f.rowsRead;
        summary.rejectedCount += f.rejectedCount;
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        f.error = err.message;
        f.stored = [];
        summary.failed++;
      }
      f.ms = performance.now() - t0;
    }
  }, IMPORT_DUCKDB);
  return summary;
}

/** A node file on its own (no edge list in the same call). */
async function readNodesOnly(path: string) {
  // An edge list with no edges is not allowed, so read the nodes through a tiny shim.
  const { readCsvRecords, assertNonEmpty } = await import('./metadata.js');
  await assertNonEmpty(path);
  const names: string[] = [];
  const audience: number[] = [];
  const rejected: RejectedRow[] = [];
  let idCol = -1;
  let aCol = -1;
  await readCsvRecords(
    path,
    (h) => {
      idCol = h.findIndex((n) => ['id', 'channel', 'name', 'node'].includes(n));
      aCol = h.findIndex((n) =>
        ['count', 'viewers', 'audience', 'size', 'unique_viewers', 'chatters'].includes(n),
      );
    },
    (fields, line) => {
      const id = (fields[idCol] ?? '').trim();
      const a = aCol >= 0 ? Number(fields[aCol]) : 0;
      if (!id || !Number.isFinite(a) || a < 0)
        rejected.push({ file: path, line, reason: id ? 'bad audience' : 'empty node id' });
      else {
        names.push(id);
        audience.push(a);
      }
    },
  );
  if (names.length === 0) throw new InputError('import', `${path}: no readable node row`);
  return {
    table: { nodeNames: names, nodeAudience: Float64Array.from(audience) },
    rejected,
    nodesRead: names.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Compaction

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

const RAW_PRESENCE =
  /^raw\/presence\/source=(live|vod|import)\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([^/]+)\.jsonl$/;
const RAW_METADATA = /^raw\/metadata\/dt=(\d{4}-\d{2}-\d{2})\/hour=(\d{2})\/([^/]+)\.jsonl$/;

function hourEnd(dt: string, hour: string): number {
  return Date.parse(`${dt}T${hour}:00:00Z`) + 3_600_000;
}

/** Decodes a raw object: good records, rejected lines, and whether the last line was torn. */
function decodeRaw<T>(
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
        const keys = await storePresence(conn, storage, b, tag, (x) => x);
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

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_');
}

// ---------------------------------------------------------------------------------------------
// Loaders

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
  opts: PresenceReadOptions = {},
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
      const list = `${sqlPathList(files)}, union_by_name = true`;
      await withDuckDB(async (conn) => {
        const st = await readPresenceParquetWith(
          conn,
          list,
          `${storage.location}/${LAYOUT.presencePrefix}`,
          b,
          log,
          opts,
          true,
        );
        outside += st.outside;
      });
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
