import type { DuckDBDataChunk, DuckDBVector } from '@duckdb/node-api';
import { InputError } from '../errors.js';
import type { DuckDBConnection } from '../storage/duckdb.js';
import { type ByteInterner, fnv } from './csv-scan.js';

/**
 * DuckDB is loaded on first use only: CSV and JSON reads (and the CSV worker thread) never pay
 * for loading the native module.
 */
export const duck = () => import('../storage/duckdb.js');

/** SQL identifier / string literal (same as storage/duckdb's, kept here to stay DuckDB-free). */
const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`;
export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

import {
  type FileStats,
  keyString,
  mapPresenceHeader,
  PRESENCE_LIMITS,
  type PresenceBuilder,
  type PresenceColumn,
  type PresenceReadOptions,
  presenceLimitsOkSql,
  presenceLimitsSql,
  presenceNameProblem,
  type RejectLog,
  storedRowProblem,
} from './presence-rows.js';

/** Epoch-ms SQL expression for a ts column of the given DuckDB type. */
function tsExpression(col: string, type: string): string {
  const t = type.toUpperCase();
  const c = sqlIdent(col);
  if (t.startsWith('TIMESTAMP') || t === 'DATE') return `epoch_ms(${c}::TIMESTAMP)::DOUBLE`;
  if (/INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/.test(t))
    return `(CASE WHEN abs(${c}) < 1e11 THEN ${c} * 1000 ELSE ${c} END)::DOUBLE`;
  // Strings: numbers as epoch, else ISO instants (zone-less ones as UTC).
  return `coalesce(
    (CASE WHEN abs(try_cast(${c} AS DOUBLE)) < 1e11 THEN try_cast(${c} AS DOUBLE) * 1000 ELSE try_cast(${c} AS DOUBLE) END),
    epoch_ms(try_cast(${c} AS TIMESTAMPTZ))::DOUBLE)`;
}

/** Which rows a read takes (`rows`: [from, to) of its one file, by file_row_number) and how they are numbered. */
export interface ReadSlice {
  rows?: [number, number];
  lineBase: number;
}

/**
 * Reads Parquet presence through DuckDB. Strings are interned inside DuckDB (a dictionary per
 * column), then only integer ids and numbers cross into JS as typed arrays.
 */
export async function readPresenceParquetWith(
  conn: DuckDBConnection,
  source: string,
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions,
  hive = false,
  /**
   * Storage parts take `readStoredPresence` when they qualify; false: the general path, 'require':
   * fail when they do not qualify (tests compare the two).
   */
  fast: boolean | 'require' = true,
  /** Part of the rows only (one file), and row numbers after `lineBase`: the stored-parts read. */
  slice?: ReadSlice,
): Promise<FileStats> {
  const st: FileStats = { good: 0, bad: 0, outside: 0 };
  let cols: { name: string; type: string }[];
  try {
    const reader = await conn.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet(${source}${hive ? ', hive_partitioning = true' : ''})`,
    );
    cols = (reader.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((r) => ({
      name: r.column_name,
      type: r.column_type,
    }));
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new InputError('import', `${label}: not a readable Parquet file (${msg})`);
  }
  const col = mapPresenceHeader(cols.map((c) => c.name));
  const missing = (['channel', 'viewer', 'ts'] as const).filter((c) => col[c] < 0);
  if (missing.length) {
    throw new InputError(
      'import',
      `${label}: missing required column(s) ${missing.join(', ')} (columns: ${cols.map((c) => c.name).join(',')})`,
    );
  }
  const name = (c: PresenceColumn) =>
    col[c] >= 0 ? sqlIdent((cols[col[c]] as { name: string }).name) : 'NULL';
  const tsCol = cols[col.ts] as { name: string; type: string };
  if (fast && hive && !b.extras) {
    const st = await readStoredPresence(conn, source, label, b, log, opts, cols, col, slice);
    if (st) return st;
  }
  // the general path reads whole files and numbers their rows from 1
  if (fast === 'require' || (slice && (slice.rows || slice.lineBase !== 0)))
    throw new Error(`internal: ${label} does not qualify for the stored-parts read`);
  const ws = opts.windowStart ?? Number.NEGATIVE_INFINITY;
  const we = opts.windowEnd ?? Number.POSITIVE_INFINITY;
  const winCond = `(ts >= ${Number.isFinite(ws) ? ws : '-1e300'} AND ts < ${Number.isFinite(we) ? we : '1e300'})`;
  // Our own parts hold logins already lower-cased and trimmed: skip the string work there (the
  // interner folds ASCII case anyway).
  const norm = (c: string) => (hive ? `${c}::VARCHAR` : `lower(trim(${c}::VARCHAR))`);
  // Views, not tables: each pass streams the Parquet again instead of holding 10M+ rows in memory.
  await conn.run(`CREATE OR REPLACE TEMP VIEW pq AS
    SELECT
      ${norm(name('channel'))} AS channel,
      ${norm(name('viewer'))} AS viewer,
      ${tsExpression(tsCol.name, tsCol.type)} AS ts,
      ${col.messages >= 0 ? `try_cast(${name('messages')} AS BIGINT)` : '1'} AS messages,
      ${col.messages >= 0 ? `${name('messages')} IS NULL` : 'true'} AS messages_missing,
      ${col.source >= 0 ? `lower(${name('source')}::VARCHAR)` : `'import'`} AS source,
      ${col.kind >= 0 ? `${name('kind')}::VARCHAR` : 'NULL::VARCHAR'} AS kind,
      ${col.vod_id >= 0 ? `${name('vod_id')}::VARCHAR` : 'NULL::VARCHAR'} AS vod_id,
      ${col.viewer_id >= 0 ? `coalesce(trim(${name('viewer_id')}::VARCHAR), '')` : `''`} AS viewer_id,
      ${col.channel_id >= 0 ? `coalesce(trim(${name('channel_id')}::VARCHAR), '')` : `''`} AS channel_id
    FROM read_parquet(${source}${hive ? ', hive_partitioning = true' : ''})`);
  const now = Date.now();
  const limits = presenceLimitsSql(now);
  const reasonSql = `CASE
      WHEN channel IS NULL OR channel = '' THEN 'empty channel'
      WHEN viewer IS NULL OR viewer = '' THEN 'empty viewer'
      WHEN ts IS NULL OR isnan(ts) THEN 'bad ts'
      WHEN NOT messages_missing AND (messages IS NULL OR messages < 0) THEN 'bad messages (expected an integer ≥ 0)'
      WHEN source NOT IN ('live', 'vod', 'import') THEN 'bad source "' || source || '"'
      ${limits}
      ELSE NULL END`;
  // Every row passes the same checks as one conjunction first; the reason text is built only for
  // the rows that fail it (profiled: building a NULL reason per row cost more than the checks).
  const okSql = `(channel <> '' AND viewer <> '' AND NOT isnan(ts)
      AND (messages_missing OR messages >= 0) AND source IN ('live', 'vod', 'import')
      AND ${presenceLimitsOkSql(now)})`;
  await conn.run(`CREATE OR REPLACE TEMP VIEW pq2 AS SELECT *, coalesce(${okSql}, false) AS ok FROM pq`);
  // Row count and all-NULL columns from the Parquet footers (no scan): the count sizes the columns
  // once; id columns that hold no value anywhere (parts written before ids were known, files
  // without them) are not streamed at all.
  const footer = source.replace(/, union_by_name = true$/, '');
  const total = Number(
    (
      await conn.runAndReadAll(
        `SELECT coalesce(sum(num_rows), 0)::DOUBLE FROM parquet_file_metadata(${footer})`,
      )
    ).getRows()[0]?.[0] ?? 0,
  );
  const idNames = (['viewer_id', 'channel_id'] as const)
    .filter((c) => col[c] >= 0)
    .map((c) => (cols[col[c]] as { name: string }).name);
  const valued =
    idNames.length === 0
      ? []
      : (
          await conn.runAndReadAll(
            `SELECT DISTINCT path_in_schema FROM parquet_metadata(${footer})
             WHERE path_in_schema IN (${idNames.map(sqlString).join(', ')})
               AND (stats_null_count IS NULL OR stats_null_count < num_values)`,
          )
        )
          .getRows()
          .map((r) => String(r[0]));
  const start = b.length;
  b.reserve(start + total);
  // One streaming pass in scan order (deterministic): a status per row (0 keep, 1 outside the
  // window, 2 rejected, with its row number) and logins interned straight from the vectors' bytes
  // (DuckDB inlines strings of ≤ 12 bytes), so no JS string per row.
  const ex = b.extras;
  const extraCols = ex
    ? `, (CASE source WHEN 'live' THEN 0 WHEN 'vod' THEN 1 ELSE 2 END)::UTINYINT,
        (CASE WHEN kind = 'membership' THEN 1 ELSE 0 END)::UTINYINT, vod_id`
    : '';
  // Stable Twitch ids (columns 9 and 10) only when the files have them: old parts stream as before.
  const withIds = valued.length > 0;
  const idCols = withIds ? `${ex ? '' : ', NULL, NULL, NULL'}, viewer_id, channel_id` : '';
  const result = await conn.stream(
    `SELECT (CASE WHEN NOT ok THEN 2 WHEN ${winCond} THEN 0 ELSE 1 END)::UTINYINT AS status,
       (CASE WHEN ok THEN NULL ELSE ${reasonSql} END) AS reason,
       channel, viewer, coalesce(ts, 0) AS ts, coalesce(try_cast(coalesce(messages, 1) AS UINTEGER), 0) ${extraCols}${idCols} FROM pq2`,
  );
  let r = start;
  let seen = 0;
  // Channels are few (thousands) against millions of rows: a small word-keyed cache answers most
  // rows before the interner hashes bytes. 2¹⁴ slots (the hash keeps 14 bits).
  const channelCache = new Uint32Array(5 << 14);
  let pending: Promise<DuckDBDataChunk | null> | undefined = result.fetchChunk();
  const status = new Uint8Array(2048);
  for (;;) {
    // The next chunk is asked for before this one is interned: DuckDB decodes it on its own
    // threads meanwhile (profiled: the main thread otherwise sat idle ~40% of the read).
    const chunk: DuckDBDataChunk | null | undefined = await pending;
    pending = chunk && chunk.rowCount > 0 ? result.fetchChunk() : undefined;
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    copyNumbers(chunk.getColumnVector(0), n, status, 0);
    let keep = 0;
    for (let i = 0; i < n; i++) {
      const sIdx = status[i] as number;
      if (sIdx === 0) keep++;
      else if (sIdx === 1) st.outside++;
      else {
        st.bad++;
        const line = seen + i + 1;
        const reason = `row ${line}: ${String(chunk.getColumnVector(1).getItem(i))}`;
        log.add(label, line, reason);
        st.firstBad ??= { file: label, line, reason };
      }
    }
    seen += n;
    if (keep === 0) continue;
    if (r + n > b.channel.length) b.reserve(r + n);
    // Dense fast path: every row kept (the usual case); else row by row.
    const all = keep === n;
    copyNumbers(chunk.getColumnVector(4), n, b.ts, r, all ? undefined : status);
    if (withIds && !ex) {
      internKeyed(chunk.getColumnVector(2), chunk.getColumnVector(10), n, b, 'channel', r, status);
      internKeyed(chunk.getColumnVector(3), chunk.getColumnVector(9), n, b, 'viewer', r, status);
    } else {
      internVarchar(
        chunk.getColumnVector(2),
        n,
        b.channels,
        b.channel,
        r,
        all ? undefined : status,
        false,
        channelCache,
      );
      internVarchar(chunk.getColumnVector(3), n, b.viewers, b.viewer, r, all ? undefined : status);
    }
    copyNumbers(chunk.getColumnVector(5), n, b.messages, r, all ? undefined : status);
    if (ex) {
      copyNumbers(chunk.getColumnVector(6), n, ex.source, r, all ? undefined : status);
      copyNumbers(chunk.getColumnVector(7), n, ex.kind, r, all ? undefined : status);
      const vv = chunk.getColumnVector(8);
      let k = r;
      for (let i = 0; i < n; i++) {
        if (status[i] !== 0) continue;
        const id = vv.getItem(i);
        ex.vod[k++] = id === null ? 0 : ex.vodNames.internString(String(id)) + 1;
      }
      if (withIds) {
        internVarchar(chunk.getColumnVector(9), n, ex.idNames, ex.viewerId, r, status, true);
        internVarchar(chunk.getColumnVector(10), n, ex.idNames, ex.channelId, r, status, true);
      }
    }
    r += keep;
    b.length = r;
    opts.onProgress?.(`reading ${label}`, seen, total);
  }
  b.length = r;
  st.good = r - start;
  for (const t of ['pq2', 'pq']) await conn.run(`DROP VIEW IF EXISTS ${t}`);
  return st;
}

/** Integer SQL types (a messages column of another type takes the general path). */
const INTEGER_TYPE = /^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|INT[1248]|LONG|SHORT)$/i;

/**
 * Storage parts (Hive layout, analysis mode, sources all known, integer messages): the
 * rows stream as they are — no check in SQL, which cost DuckDB more than the scan — and are
 * checked here, one column at a time (`scanStoredChunk`), then interned as the general path does.
 * Same ids, rows, counts and reject reasons as the general path (tested side by side). Undefined
 * when the files do not qualify (the caller takes the general path).
 */
async function readStoredPresence(
  conn: DuckDBConnection,
  source: string,
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PresenceReadOptions,
  cols: { name: string; type: string }[],
  col: Record<PresenceColumn, number>,
  slice: ReadSlice = { lineBase: 0 },
): Promise<FileStats | undefined> {
  const typeOf = (c: PresenceColumn) => (cols[col[c]] as { type: string }).type.toUpperCase();
  if (typeOf('channel') !== 'VARCHAR' || typeOf('viewer') !== 'VARCHAR') return undefined;
  if (col.messages >= 0 && !INTEGER_TYPE.test(typeOf('messages'))) return undefined;
  const name = (c: PresenceColumn) => sqlIdent((cols[col[c]] as { name: string }).name);
  const footer = source.replace(/, union_by_name = true$/, '');
  const idNames = (['viewer_id', 'channel_id'] as const)
    .filter((c) => col[c] >= 0)
    .map((c) => (cols[col[c]] as { name: string }).name);
  const rows = slice.rows;
  // DuckDB skips the row groups a file_row_number range leaves out (measured: 200,000 of a
  // part's 2.2M rows in 39 of its 363 ms)
  const from = rows
    ? `read_parquet(${source}, hive_partitioning = true, file_row_number = true)
       WHERE file_row_number >= ${rows[0]} AND file_row_number < ${rows[1]}`
    : `read_parquet(${source}, hive_partitioning = true)`;
  const srcExpr = col.source >= 0 ? `lower(${name('source')}::VARCHAR)` : `'import'`;
  // One pass over the footers and the partition values (no column data): rows, ids, sources.
  const [meta] = (
    await conn.runAndReadAll(
      `SELECT (SELECT coalesce(sum(num_rows), 0)::DOUBLE FROM parquet_file_metadata(${footer})),
        ${
          idNames.length === 0
            ? '0'
            : `(SELECT count(*)::DOUBLE FROM parquet_metadata(${footer})
                WHERE path_in_schema IN (${idNames.map(sqlString).join(', ')})
                  AND (stats_null_count IS NULL OR stats_null_count < num_values))`
        },
        (SELECT count(*)::DOUBLE FROM ${from}
          ${rows ? 'AND' : 'WHERE'} NOT coalesce(${srcExpr} IN ('live', 'vod', 'import'), false))`,
    )
  ).getRows() as [number, number, number][];
  const [inFiles, valuedIds, badSources] = (meta ?? [0, 1, 1]).map(Number) as [number, number, number];
  const total = rows ? Math.max(0, Math.min(inFiles, rows[1]) - rows[0]) : inFiles;
  if (badSources > 0) return undefined;
  // Twitch ids where any footer holds one: rows are keyed as the general path keys them.
  const withIds = valuedIds > 0;
  const idSql = (c: 'viewer_id' | 'channel_id') =>
    col[c] >= 0 ? `coalesce(trim(${name(c)}::VARCHAR), '')` : `''`;
  const tsCol = cols[col.ts] as { name: string; type: string };
  const result = await conn.stream(
    `SELECT coalesce(${name('channel')}, '') AS channel, coalesce(${name('viewer')}, '') AS viewer,
       coalesce(${tsExpression(tsCol.name, tsCol.type)}, 'NaN'::DOUBLE) AS ts,
       ${col.messages >= 0 ? `coalesce(${name('messages')}::DOUBLE, 1)` : '1::DOUBLE'} AS messages
       ${withIds ? `, ${idSql('channel_id')} AS channel_id, ${idSql('viewer_id')} AS viewer_id` : ''}
     FROM ${from}`,
  );
  const st: FileStats = { good: 0, bad: 0, outside: 0 };
  const L = PRESENCE_LIMITS;
  const now = Date.now();
  const minTs = L.minTs;
  const maxTs = now + L.futureToleranceMs;
  const maxM = L.maxMessages;
  const ws = opts.windowStart ?? Number.NEGATIVE_INFINITY;
  const we = opts.windowEnd ?? Number.POSITIVE_INFINITY;
  const start = b.length;
  b.reserve(start + total);
  b.reserveViewersFor(total);
  const scan: ScanState = {
    b,
    channelCache: new Uint32Array(5 << 14),
    status: new Uint8Array(2048),
    k: start,
    seen: 0,
    lineBase: slice.lineBase,
    st,
    log,
    label,
    minTs,
    maxTs,
    maxM,
    ws,
    we,
  };
  let pending: Promise<DuckDBDataChunk | null> | undefined = result.fetchChunk();
  for (;;) {
    const chunk: DuckDBDataChunk | null | undefined = await pending;
    pending = chunk && chunk.rowCount > 0 ? result.fetchChunk() : undefined;
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    const cvec = chunk.getColumnVector(0);
    const vvec = chunk.getColumnVector(1);
    const T = numbers(chunk.getColumnVector(2), n);
    const M = numbers(chunk.getColumnVector(3), n);
    scanStoredChunk(
      scan,
      cvec,
      vvec,
      T,
      M,
      n,
      withIds ? chunk.getColumnVector(4) : undefined,
      withIds ? chunk.getColumnVector(5) : undefined,
    );
    scan.seen += n;
    b.length = scan.k;
    opts.onProgress?.(`reading ${label}`, scan.seen, total);
  }
  b.length = scan.k;
  st.good = scan.k - start;
  return st;
}

/** What `scanStoredChunk` carries from one chunk to the next. */
interface ScanState {
  b: PresenceBuilder;
  /** The channel `WordCache` (see internVarchar). */
  channelCache: Uint32Array;
  /** Per row of a chunk: 0 keep, 1 outside the window, 2 rejected. */
  status: Uint8Array;
  /** Next row of the builder. */
  k: number;
  /** Rows of the chunks before. */
  seen: number;
  /** Rows before this read's first (its rows are numbered from lineBase + 1). */
  lineBase: number;
  st: FileStats;
  log: RejectLog;
  label: string;
  minTs: number;
  maxTs: number;
  maxM: number;
  ws: number;
  we: number;
}

/**
 * One chunk of stored rows into the builder: the checks the general path runs in SQL, here one
 * column at a time (tight loops: the numbers, then each login column, then the window), then
 * the kept rows' logins interned as the general path does.
 */
function scanStoredChunk(
  s: ScanState,
  cvec: DuckDBVector,
  vvec: DuckDBVector,
  T: Float64Array,
  M: Float64Array,
  n: number,
  /** Twitch-id columns, when the parts have them (then rows are keyed by `internKeyed`). */
  cidVec?: DuckDBVector,
  vidVec?: DuckDBVector,
): void {
  const b = s.b;
  if (s.k + n > b.channel.length) b.reserve(s.k + n);
  const status = s.status;
  const { minTs, maxTs, maxM, ws, we } = s;
  // NaN fails every comparison: a missing or unreadable ts is rejected here too.
  for (let i = 0; i < n; i++) {
    const ts = T[i] as number;
    const m = M[i] as number;
    status[i] = ts >= minTs && ts <= maxTs && m >= 0 && m <= maxM ? 0 : 2;
  }
  checkNames(cvec, n, status);
  checkNames(vvec, n, status);
  let keep = 0;
  for (let i = 0; i < n; i++) {
    if (status[i] === 2) {
      storedReject(s, cvec, vvec, T, M, i);
      continue;
    }
    const ts = T[i] as number;
    if (ts >= ws && ts < we) keep++;
    else {
      status[i] = 1;
      s.st.outside++;
    }
  }
  if (keep === 0) return;
  const r = s.k;
  const all = keep === n;
  const sel = all ? undefined : status;
  if (all) b.ts.set(T.subarray(0, n), r);
  else {
    let k = r;
    for (let i = 0; i < n; i++) if (status[i] === 0) b.ts[k++] = T[i] as number;
  }
  const out = b.messages;
  let k = r;
  for (let i = 0; i < n; i++) if (all || status[i] === 0) out[k++] = M[i] as number;
  if (cidVec && vidVec) {
    internKeyed(cvec, cidVec, n, b, 'channel', r, status);
    internKeyed(vvec, vidVec, n, b, 'viewer', r, status);
  } else {
    internVarchar(cvec, n, b.channels, b.channel, r, sel, false, s.channelCache);
    internVarchar(vvec, n, b.viewers, b.viewer, r, sel);
  }
  s.k = r + keep;
}

/**
 * Marks rows (status 2) whose login is empty, holds a NUL byte or is longer than the limit: the
 * inlined ones (≤ 12 bytes) from their bytes, longer ones from their string, once per pointer.
 */
function checkNames(vec: DuckDBVector, n: number, status: Uint8Array): void {
  const s = stringBytes(vec, n);
  if (!s) {
    for (let i = 0; i < n; i++) {
      if (status[i] !== 0) continue;
      const v = String(vec.getItem(i) ?? '');
      if (v === '' || presenceNameProblem('viewer', v) !== undefined) status[i] = 2;
    }
    return;
  }
  const w = s.words;
  const bytes = s.bytes;
  // Long logins already checked in this chunk: pointer → length.
  let good: Map<number, number> | undefined;
  for (let i = 0; i < n; i++) {
    const len = w[i * 4] as number;
    if (len <= 12) {
      if (len === 0) status[i] = 2;
      else
        for (let j = i * 16 + 4, e = j + len; j < e; j++)
          if (bytes[j] === 0) {
            status[i] = 2;
            break;
          }
      continue;
    }
    if (status[i] !== 0) continue;
    const key = (w[i * 4 + 2] as number) + (w[i * 4 + 3] as number) * 4294967296;
    if (good?.get(key) === len) continue;
    if (presenceNameProblem('viewer', String(vec.getItem(i) ?? '')) !== undefined) status[i] = 2;
    else {
      good ??= new Map();
      good.set(key, len);
    }
  }
}

/** A rejected row: its reason, as the general path's SQL gives it (same order of checks). */
function storedReject(
  s: ScanState,
  cvec: DuckDBVector,
  vvec: DuckDBVector,
  T: Float64Array,
  M: Float64Array,
  i: number,
): void {
  s.st.bad++;
  const line = s.lineBase + s.seen + i + 1;
  const reason = `row ${line}: ${storedRowProblem(
    String(cvec.getItem(i) ?? ''),
    String(vvec.getItem(i) ?? ''),
    T[i] as number,
    M[i] as number,
    s.maxTs,
  )}`;
  s.log.add(s.label, line, reason);
  s.st.firstBad ??= { file: s.label, line, reason };
}

/** A DOUBLE vector's values (raw memory when exposed, else read item by item). */
function numbers(vec: DuckDBVector, n: number): Float64Array {
  const items = (vec as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array && items.length >= n) return items;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(vec.getItem(i) ?? Number.NaN);
  return out;
}

/**
 * Interns a VARCHAR vector's strings into `out[at…]`, reading inlined strings as raw bytes. With
 * `status`, only rows whose status is 0 are taken (packed).
 */
function internVarchar(
  vec: DuckDBVector,
  n: number,
  interner: ByteInterner,
  out: Uint32Array,
  at: number,
  status?: Uint8Array,
  /** Store id + 1, and 0 for an empty string (optional id columns). */
  plusOne = false,
  /** A `WordCache` for columns of few distinct short values (channels). */
  cache?: Uint32Array,
): void {
  const s = stringBytes(vec, n);
  const add = plusOne ? 1 : 0;
  let k = at;
  if (!s) {
    for (let i = 0; i < n; i++) {
      if (status && status[i] !== 0) continue;
      const v = String(vec.getItem(i) ?? '');
      out[k++] = plusOne && v === '' ? 0 : interner.internString(v) + add;
    }
    return;
  }
  // DuckDB string_t: uint32 length, then the bytes inline when ≤ 12 (zero-padded), else a 4-byte
  // prefix and a pointer. Equal 16-byte structs are equal strings (inline: the same bytes; long:
  // the same pointer, e.g. into a Parquet dictionary, alive for this chunk), so a row equal to the
  // one before (rows come sorted, see storePresence) or a long string seen earlier in the chunk
  // (dictionary-encoded logins share one pointer) is not hashed again.
  const w = s.words;
  // Without a cache (viewers: many distinct names, a table far bigger than the caches), every
  // inlined name that starts a run is hashed first and its table slot read (`touchSlots`), so the
  // look-ups' cache misses overlap instead of queueing one by one.
  const hashes = cache ? undefined : hashRunStarts(s, n, interner.foldTable, status, plusOne);
  if (hashes) interner.touchSlots(hashes.list, hashes.count);
  let prev = -1;
  let long: Map<number, number> | undefined;
  for (let i = 0; i < n; i++) {
    if (status && status[i] !== 0) {
      prev = -1;
      continue;
    }
    const o = i * 4;
    if (prev >= 0 && sameAsRowBefore(w, o)) {
      out[k++] = prev;
      continue;
    }
    const len = w[o] as number;
    let id: number;
    if (len === 0 && plusOne) id = 0;
    else if (len <= 12 && hashes)
      id = interner.internHashed(s.bytes, i * 16 + 4, i * 16 + 4 + len, hashes.byRow[i] as number) + add;
    else if (len <= 12) {
      if (cache) {
        // Direct-mapped: 4 words of string_t, then id + 1 (0 = empty slot).
        const a = w[o + 1] as number;
        const b2 = w[o + 2] as number;
        const c = w[o + 3] as number;
        const slot =
          (Math.imul(a ^ Math.imul(b2, 0x9e3779b1) ^ Math.imul(c ^ len, 0x85ebca6b), 0xc2b2ae35) >>> 18) * 5;
        if (
          cache[slot + 4] !== 0 &&
          cache[slot] === len &&
          cache[slot + 1] === a &&
          cache[slot + 2] === b2 &&
          cache[slot + 3] === c
        )
          id = (cache[slot + 4] as number) - 1;
        else {
          id = interner.intern(s.bytes, i * 16 + 4, i * 16 + 4 + len) + add;
          cache[slot] = len;
          cache[slot + 1] = a;
          cache[slot + 2] = b2;
          cache[slot + 3] = c;
          cache[slot + 4] = id + 1;
        }
      } else id = interner.intern(s.bytes, i * 16 + 4, i * 16 + 4 + len) + add;
    } else {
      // Pointer (low 32 bits, then high 16 of a 48-bit address) as one number key.
      const key = (w[o + 2] as number) + (w[o + 3] as number) * 4294967296;
      long ??= new Map();
      const seen = long.get(key);
      // Value: id · 512 + length (a shorter string may start at the same address).
      if (seen !== undefined && seen % 512 === len) id = (seen - len) / 512;
      else {
        id = interner.internString(String(vec.getItem(i) ?? '')) + add;
        if (len < 512) long.set(key, id * 512 + len);
      }
    }
    out[k++] = id;
    prev = id;
  }
}

/** Row `o / 4`'s string_t is the row before's (the same inlined bytes, or the same pointer). */
function sameAsRowBefore(w: Uint32Array, o: number): boolean {
  return w[o] === w[o - 4] && w[o + 1] === w[o - 3] && w[o + 2] === w[o - 2] && w[o + 3] === w[o - 1];
}

/** Per chunk: hashes by row, and the same packed for `touchSlots` (reused from chunk to chunk). */
const runHashes = { byRow: new Int32Array(4096), list: new Int32Array(4096), count: 0 };

/**
 * The interner's hash of each kept row's inlined name (≤ 12 bytes) where it starts a run, i.e.
 * where `internVarchar` will look it up: the rows it takes the id of the row before for, long
 * names and (with `plusOne`) empty ones are left out, exactly as it skips them.
 */
function hashRunStarts(
  s: { bytes: Uint8Array; words: Uint32Array },
  n: number,
  fold: Uint8Array,
  status: Uint8Array | undefined,
  plusOne: boolean,
): typeof runHashes {
  if (runHashes.byRow.length < n) {
    runHashes.byRow = new Int32Array(n);
    runHashes.list = new Int32Array(n);
  }
  const { byRow, list } = runHashes;
  const w = s.words;
  let count = 0;
  let prevKept = false;
  for (let i = 0; i < n; i++) {
    if (status && status[i] !== 0) {
      prevKept = false;
      continue;
    }
    const o = i * 4;
    const repeat = prevKept && sameAsRowBefore(w, o);
    prevKept = true;
    if (repeat) continue;
    const len = w[o] as number;
    if (len > 12 || (len === 0 && plusOne)) continue;
    const h = fnv(fold, s.bytes, i * 16 + 4, i * 16 + 4 + len);
    byRow[i] = h;
    list[count++] = h;
  }
  runHashes.count = count;
  return runHashes;
}

/** The raw string_t array of a VARCHAR vector, when the binding exposes it. */
function stringBytes(
  vec: DuckDBVector,
  n: number,
): { dv: DataView; bytes: Uint8Array; words: Uint32Array } | undefined {
  const dv = (vec as unknown as { dataView?: DataView }).dataView;
  if (!(dv instanceof DataView) || dv.byteLength < n * 16 || dv.byteOffset % 4 !== 0) return undefined;
  return {
    dv,
    bytes: new Uint8Array(dv.buffer, dv.byteOffset, n * 16),
    words: new Uint32Array(dv.buffer, dv.byteOffset, n * 4),
  };
}

/**
 * Keys of a login vector and its (possibly empty) Twitch-id vector into the builder's column
 * (`channelKey` / `viewerKey` on the bytes; long values through strings). `b.ts[at…]` must be filled.
 */
function internKeyed(
  loginVec: DuckDBVector,
  idVec: DuckDBVector,
  n: number,
  b: PresenceBuilder,
  side: 'channel' | 'viewer',
  at: number,
  status: Uint8Array,
): void {
  const L = stringBytes(loginVec, n);
  const I = stringBytes(idVec, n);
  const out = side === 'channel' ? b.channel : b.viewer;
  const keys = side === 'channel' ? b.channels : b.viewers;
  let k = at;
  for (let i = 0; i < n; i++) {
    if (status[i] !== 0) continue;
    const ll = L ? L.dv.getUint32(i * 16, true) : 13;
    const il = I ? I.dv.getUint32(i * 16, true) : 13;
    const ts = b.ts[k] as number;
    if (il === 0) {
      out[k++] =
        ll <= 12 && L
          ? keys.intern(L.bytes, i * 16 + 4, i * 16 + 4 + ll)
          : keys.internString(String(loginVec.getItem(i) ?? ''));
    } else if (ll <= 12 && il <= 12 && L && I) {
      const s = b.idSide(side);
      out[k++] = s.key(keys, I.bytes, i * 16 + 4, i * 16 + 4 + il, L.bytes, i * 16 + 4, i * 16 + 4 + ll, ts);
    } else {
      const id = String(idVec.getItem(i) ?? '');
      const login = String(loginVec.getItem(i) ?? '');
      out[k++] = id === '' ? keys.internString(login) : keyString(b, side, login, id, ts);
    }
  }
}

/** Copies a fixed-width numeric vector into `out[at…]` (raw memory when exposed); `status` as above. */
function copyNumbers(
  vec: DuckDBVector,
  n: number,
  out: Uint32Array | Float64Array | Uint8Array,
  at: number,
  status?: Uint8Array,
): void {
  const items = (vec as unknown as { items?: unknown }).items;
  const raw =
    items &&
    (items as { constructor: unknown }).constructor === out.constructor &&
    (items as ArrayLike<number>).length >= n
      ? (items as ArrayLike<number>)
      : undefined;
  if (raw && !status) {
    out.set((raw as Uint32Array).subarray(0, n), at);
    return;
  }
  let k = at;
  for (let i = 0; i < n; i++) {
    if (status && status[i] !== 0) continue;
    out[k++] = raw ? (raw[i] as number) : Number(vec.getItem(i) ?? 0);
  }
}
