/**
 * `importFiles`: presence, channel metadata, edge lists and TwitchDownloader chat files from
 * disk into storage (Hive-partitioned Parquet), each file all-or-nothing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import { InputError, StorageError, VieweratlasError } from '../errors.js';
import type { ProgressFn } from '../model/progress.js';
import type { ChannelMetadata, PresenceSource } from '../model/records.js';
import type { Pseudonymizer } from '../privacy/pseudonymize.js';
import {
  createDictionaryTable,
  createDictionaryTableFromBytes,
  createTableFromColumns,
  createTypedAppender,
  type DuckDBConnection,
  queryRows,
  sqlString,
  type TypedAppender,
  type TypedColumn,
  withDuckDB,
} from '../storage/duckdb.js';
import { LAYOUT } from '../storage/layout.js';
import { putFilesAllOrNothing, type Storage } from '../storage/storage.js';
import { detectFileKind, type FileKind } from './detect.js';
import { readEdgeList } from './edges.js';
import { readChannelMetadataFile } from './metadata.js';
import {
  type BatchFn,
  PresenceBuilder,
  type PresenceExtras,
  type PresenceReadOptions,
  type RejectedRow,
  RejectLog,
  readPresenceFileInto,
} from './presence.js';
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
  /**
   * The file's content was imported before (from this path or another one, see
   * `state/import/`): nothing was stored again. Holds the earlier path.
   */
  alreadyImportedFrom?: string;
  /** The failure was storage refusing the objects (a full disk …), not the file's content. */
  storageFailure?: boolean;
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

/**
 * Opens the staging table `r` for presence rows (ids + numbers) and returns a batch function that
 * appends the builder's rows to it. The columns of kinds `kind`, of VODs `vod` and of Twitch ids
 * `vi`, `ci` are added only once a row needs them (earlier rows get 0 = chat / none): files without
 * them stage 8–13 bytes a row less, which keeps DuckDB under its import memory cap instead of
 * spilling, and the appender's time (15.7M rows: 2.8 s for 7 columns, 1.6–2.0 s for 5).
 * `storePresence` reads the columns that are there.
 */
export async function stagePresence(conn: DuckDBConnection): Promise<{ app: TypedAppender; batch: BatchFn }> {
  const column = (name: string, data: TypedColumn['data']) => ({ name, data });
  const base = [
    column('c', new Uint32Array(0)),
    column('v', new Uint32Array(0)),
    column('ts', new Float64Array(0)),
    column('m', new Uint32Array(0)),
    column('src', new Uint8Array(0)),
  ];
  /** The optional groups, in the order they may be added: whether a batch needs each. */
  const groups = [
    {
      columns: [column('kind', new Uint8Array(0))],
      sql: ['kind UTINYINT'],
      needed: (ex: PresenceExtras, n: number) => ex.kind.subarray(0, n).indexOf(1) >= 0,
      of: (ex: PresenceExtras) => [ex.kind],
      on: false,
    },
    {
      columns: [column('vod', new Uint32Array(0))],
      sql: ['vod UINTEGER'],
      needed: (ex: PresenceExtras) => ex.vodNames.size > 0,
      of: (ex: PresenceExtras) => [ex.vod],
      on: false,
    },
    {
      columns: [column('vi', new Uint32Array(0)), column('ci', new Uint32Array(0))],
      sql: ['vi UINTEGER', 'ci UINTEGER'],
      needed: (ex: PresenceExtras) => ex.idNames.size > 0,
      of: (ex: PresenceExtras) => [ex.viewerId, ex.channelId],
      on: false,
    },
  ];
  let inner = await createTypedAppender(conn, 'r', base);
  let before = 0;
  /** The table's columns, in its order (the appender's). */
  let appendOrder = base.map((c) => c.name);
  const app: TypedAppender = {
    get rows() {
      return before + inner.rows;
    },
    append: (cols, n) => inner.append(cols, n),
    close: () => inner.close(),
  };
  const batch = async (b: PresenceBuilder) => {
    const ex = b.extras as PresenceExtras;
    const adding = groups.filter((g) => !g.on && g.needed(ex, b.length));
    if (adding.length > 0) {
      before += inner.rows;
      inner.close();
      for (const g of adding) {
        for (const sql of g.sql) await conn.run(`ALTER TABLE r ADD COLUMN ${sql} DEFAULT 0`);
        g.on = true;
      }
      // the table's columns in the order they were added
      const order = (
        await queryRows(
          conn,
          "SELECT column_name AS n FROM duckdb_columns() WHERE table_name = 'r' ORDER BY column_index",
        )
      ).map((r) => String(r.n));
      const all = [...base, ...groups.flatMap((g) => (g.on ? g.columns : []))];
      inner = await createTypedAppender(
        conn,
        'r',
        order.map((n) => all.find((c) => c.name === n) as (typeof all)[number]),
        false,
      );
      appendOrder = order;
    }
    const byName = new Map<string, TypedColumn['data']>([
      ['c', b.channel],
      ['v', b.viewer],
      ['ts', b.ts],
      ['m', b.messages],
      ['src', ex.source],
    ]);
    for (const g of groups) {
      if (!g.on) continue;
      const arrays = g.of(ex);
      g.columns.forEach((c, k) => {
        byName.set(c.name, arrays[k] as TypedColumn['data']);
      });
    }
    inner.append(
      appendOrder.map((n) => byName.get(n) as TypedColumn['data']),
      b.length,
    );
    b.length = 0;
  };
  return { app, batch };
}

/**
 * Rows a presence part's row group may hold (DuckDB's default is 122,880). A partitioned COPY
 * flushes each partition's rows about half that full (the bench import: 210 row groups of
 * 44–76k rows by default, 105 of 118–152k with this), and each row group costs the storage read
 * its own dictionaries (every channel interned again), pages and look-ups: on the bench store,
 * 4–6 alternating runs each, the read stage took 1.77–1.81 s against 1.94–2.07 s, with import
 * no slower (12.0–14.7 s both) and the store 7 % smaller (54 MB against 58). A million rows
 * read a little faster still (1.75 s) but made import ~1.5 s slower and 150 MB bigger.
 */
export const PRESENCE_ROW_GROUP_ROWS = 1 << 18;

/** DuckDB settings for import: a tighter memory cap (it spills to disk) keeps peak RSS near the data size. */
const IMPORT_DUCKDB = { memoryLimit: '512MB' };

/** Hive partition value for a source code (PRESENCE_SOURCES order). */
const SOURCE_SQL = `CASE r.src WHEN 0 THEN 'live' WHEN 1 THEN 'vod' ELSE 'import' END`;

/**
 * Writes the builder's rows as Hive-partitioned Parquet (`presence/source=…/dt=…/part-<tag>-N`)
 * and returns the keys. Viewer names pass through `pseudonymize` once per distinct viewer.
 */
export async function storePresence(
  conn: DuckDBConnection,
  storage: Storage,
  b: PresenceBuilder,
  tag: string,
  /** Undefined: logins stored as read. */
  pseudonymize: Pseudonymizer | undefined,
  onProgress?: ProgressFn,
  /** A commit record published with the parts (last), given their keys: the import marker. */
  seal?: (keys: string[]) => { key: string; data: string },
  /**
   * Write each part's rows grouped by viewer, then channel and time (compaction: an hour's rows,
   * sorted in memory). Readers intern a run of equal logins once; `import` of big files skips the
   * sort, which would spill.
   */
  sorted = false,
): Promise<string[]> {
  const ex = b.extras;
  if (!ex) throw new VieweratlasError('import', 'internal: presence builder without extras');
  await createDictionaryTable(conn, 'cn', b.channels.names());
  if (pseudonymize) await createDictionaryTable(conn, 'vn', b.viewers.names().map(pseudonymize));
  else await createDictionaryTableFromBytes(conn, 'vn', b.viewers.exportNames(), () => b.viewers.names());
  await createDictionaryTable(conn, 'vd', ex.vodNames.names());
  // the staged optional columns (see stagePresence); absent ones are chat, no VOD, no ids
  const staged = new Set(
    (await queryRows(conn, "SELECT column_name AS n FROM duckdb_columns() WHERE table_name = 'r'")).map((r) =>
      String(r.n),
    ),
  );
  // Twitch ids share one dictionary; viewer ids are pseudonymised like viewer logins. Staged only
  // when some row had one; the columns are always written.
  const withIds = staged.has('vi');
  if (withIds) {
    const ids = ex.idNames.names();
    await createDictionaryTable(conn, 'vid', pseudonymize ? ids.map(pseudonymize) : ids);
    await createDictionaryTable(conn, 'cid', ids);
  }
  const kindSql = staged.has('kind') ? "CASE r.kind WHEN 1 THEN 'membership' ELSE 'chat' END" : "'chat'";
  const vodJoin = staged.has('vod');
  const dir = await mkdtemp(join(tmpdir(), 'vieweratlas-parts-'));
  try {
    onProgress?.('import: writing Parquet');
    await conn.run(`COPY (
        SELECT cn.name AS channel, vn.name AS viewer, epoch_ms(r.ts::BIGINT) AS ts, r.m AS messages,
          ${vodJoin ? 'vd.name' : 'NULL::VARCHAR'} AS vod_id, ${kindSql} AS kind,
          ${withIds ? 'vid.name AS viewer_id, cid.name AS channel_id' : 'NULL::VARCHAR AS viewer_id, NULL::VARCHAR AS channel_id'},
          ${SOURCE_SQL} AS source, epoch_ms(r.ts::BIGINT)::DATE AS dt
        FROM r JOIN cn ON cn.id = r.c JOIN vn ON vn.id = r.v ${vodJoin ? 'LEFT JOIN vd ON vd.id + 1 = r.vod' : ''}
          ${withIds ? 'LEFT JOIN vid ON vid.id + 1 = r.vi LEFT JOIN cid ON cid.id + 1 = r.ci' : ''}
        ${sorted ? 'ORDER BY r.v, r.c, r.ts' : ''}
      ) TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (source, dt), FILENAME_PATTERN 'f{i}',
          ROW_GROUP_SIZE ${PRESENCE_ROW_GROUP_ROWS})`);
    const parts: { key: string; localPath: string }[] = [];
    for (const file of (await listFiles(dir)).sort()) {
      const rel = relative(dir, file).split(sep);
      const source = (rel[0] ?? '').replace(/^source=/, '') as PresenceSource;
      const dt = (rel[1] ?? '').replace(/^dt=/, '');
      const i = basename(file)
        .replace(/^f/, '')
        .replace(/\.parquet$/, '');
      parts.push({ key: LAYOUT.presencePart(source, dt, `${tag}-${i}`), localPath: file });
    }
    const keys = parts.map((p) => p.key);
    if (seal) parts.push(await localEntry(dir, 'seal.json', seal(keys)));
    // All parts or none: a full disk half-way must not leave some days of the file stored.
    await putFilesAllOrNothing(storage, parts);
    return keys;
  } finally {
    for (const t of ['r', 'cn', 'vn', 'vd', 'vid', 'cid']) await conn.run(`DROP TABLE IF EXISTS ${t}`);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `data` to a local file in `dir`, as an entry for `putFilesAllOrNothing`. */
async function localEntry(
  dir: string,
  name: string,
  obj: { key: string; data: string },
): Promise<{ key: string; localPath: string }> {
  const localPath = join(dir, name);
  await writeFile(localPath, obj.data);
  return { key: obj.key, localPath };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

/**
 * The content key of an input file: SHA-256 of its bytes plus how it is read (`salt`: kind,
 * pseudonymised or not). A copy of the file elsewhere, or the same file touched, has the same key;
 * two different files of the same name do not.
 */
async function contentHash(path: string, salt: string): Promise<string> {
  const h = createHash('sha256');
  // 1 MB reads: the stream's default 64 kB made hashing the bench's 523 MB CSV take 0.83 s, not 0.39
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  h.update(`|${salt}`);
  return h.digest('hex');
}

/** What `state/import/<hash>.json` records. */
interface ImportMarker {
  path: string;
  kind: FileKind;
  keys: string[];
  importedAt: string;
}

/** The marker of an earlier import of the same content, when all its objects are still there. */
async function alreadyImported(storage: Storage, hash: string): Promise<ImportMarker | null> {
  const bytes = await storage.get(LAYOUT.importedFile(hash));
  if (!bytes) return null;
  let m: ImportMarker;
  try {
    m = JSON.parse(Buffer.from(bytes).toString('utf8')) as ImportMarker;
  } catch {
    return null;
  }
  if (!Array.isArray(m.keys)) return null;
  for (const k of m.keys) if (!(await storage.exists(k))) return null;
  return m;
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
export async function storeMetadata(
  conn: DuckDBConnection,
  storage: Storage,
  records: ChannelMetadata[],
  key: string,
  seal?: { key: string; data: string },
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
    const entries = [{ key, localPath: file }];
    if (seal) entries.push(await localEntry(dir, 'seal.json', seal));
    await putFilesAllOrNothing(storage, entries);
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
  const pseudoSalt = opts.pseudonymize ? 'p' : '';
  // Content keys, and the graph name of every edge list: its file name, unless that name already
  // holds a different edge list (two `edges.csv` from two folders), then `<name>-<hash>`.
  const hashes = new Map<string, string>();
  const graphNames = new Map<string, string>();
  const taken = new Set<string>();
  for (const p of edgeFiles) {
    const hash = await contentHash(p, `edges|${pseudoSalt}`).catch(() => undefined);
    if (!hash) continue;
    hashes.set(p, hash);
    const prior = await alreadyImported(storage, hash);
    const priorName = prior?.keys.map((k) => /^graphs\/([^/]+)\/edges\.parquet$/.exec(k)?.[1]).find(Boolean);
    let name = priorName ?? stem(p);
    if (!priorName && (taken.has(name) || (await storage.exists(GRAPH_LAYOUT.edges(name)))))
      name = `${name}-${hash.slice(0, 8)}`;
    taken.add(name);
    graphNames.set(p, name);
  }
  const partnerOf = (path: string) =>
    edgeFiles.find(
      (e) => stem(e).replace(/edges?$/i, '') === stem(path).replace(/(nodes?|channels?)$/i, ''),
    ) ?? edgeFiles[0];
  const graphName = (edges: string) => graphNames.get(edges) ?? stem(edges);
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
        if (kind === undefined) throw new VieweratlasError('import', `internal: no kind for ${path}`);
        const fileKind: FileKind = kind;
        f.kind = kind;
        // Chat files are keyed by VOD id (their own marker); every other file by its content.
        let hash = '';
        if (kind !== 'twitch-chat') {
          const partner = kind === 'nodes' ? partnerOf(path) : undefined;
          hash =
            hashes.get(path) ??
            (await contentHash(path, `${kind}|${pseudoSalt}|${partner ? graphName(partner) : ''}`));
          const prior = await alreadyImported(storage, hash);
          if (prior) {
            f.ok = true;
            f.alreadyImportedFrom = prior.path;
            f.ms = performance.now() - t0;
            continue;
          }
        }
        const seal = (keys: string[]) => ({
          key: LAYOUT.importedFile(hash),
          data: `${JSON.stringify({ path: resolve(path), kind: fileKind, keys, importedAt: new Date().toISOString() } satisfies ImportMarker)}\n`,
        });
        const tag = `imp-${hash.slice(0, 12)}`;
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
          f.stored = await storePresence(conn, storage, b, tag, opts.pseudonymize, opts.onProgress, seal);
        } else if (kind === 'metadata') {
          const r = await readChannelMetadataFile(path, { now });
          f.rowsRead = r.records.length;
          f.rejectedCount = r.rejectedCount;
          f.rejected = r.rejected;
          const key = LAYOUT.metadataPart(new Date(now).toISOString().slice(0, 10), tag);
          await storeMetadata(conn, storage, r.records, key, seal([key]));
          f.stored = [key];
        } else if (kind === 'edges') {
          const r = await readEdgeList(path);
          f.rowsRead = r.table.length;
          f.rejectedCount = r.rejectedCount;
          f.rejected = r.rejected;
          const t = r.table;
          const key = GRAPH_LAYOUT.edges(graphName(path));
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
            await putFilesAllOrNothing(storage, [
              { key, localPath: file },
              await localEntry(dir, 'seal.json', seal([key])),
            ]);
            f.stored = [key];
          } finally {
            await conn.run('DROP TABLE IF EXISTS e');
            await rm(dir, { recursive: true, force: true });
          }
        } else if (kind === 'nodes') {
          // Read it through an edge list of the same call when there is one (validates both), else alone.
          const partner = partnerOf(path);
          const r = partner ? await readEdgeList(partner, path) : await readNodesOnly(path);
          f.rowsRead = r.nodesRead;
          f.rejectedCount = r.rejected.filter((x) => x.file === path).length;
          f.rejected = r.rejected.filter((x) => x.file === path);
          const key = GRAPH_LAYOUT.nodes(partner ? graphName(partner) : stem(path));
          const dir = await mkdtemp(join(tmpdir(), 'vieweratlas-nodes-'));
          try {
            const file = join(dir, 'nodes.parquet');
            await createTableFromColumns(conn, 'n', [
              { name: 'id', type: 'VARCHAR', values: r.table.nodeNames },
              { name: 'audience', type: 'DOUBLE', values: r.table.nodeAudience },
            ]);
            await conn.run(`COPY n TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
            await putFilesAllOrNothing(storage, [
              { key, localPath: file },
              await localEntry(dir, 'seal.json', seal([key])),
            ]);
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
        // A bad file, or storage refusing its objects (a full disk): either way nothing of it is
        // stored (objects go in all together) and the next file is tried.
        if (!(err instanceof InputError) && !(err instanceof StorageError)) throw err;
        f.storageFailure = err instanceof StorageError;
        // Storage messages name the object; say which input file it was for.
        f.error = f.storageFailure ? `${path}: ${err.message}` : err.message;
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

/** A file-name-safe form of a string (storage keys, part names). */
export function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '_');
}
