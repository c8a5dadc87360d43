/**
 * DuckDB as a local columnar engine: Parquet in and out, and fast column pulls into typed arrays.
 * One in-memory instance per `withDuckDB` call (2 threads: this runs on small machines, next to
 * Node's own work); closed when the callback settles.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBType, DuckDBVector } from '@duckdb/node-api';
import { StorageError } from '../errors.js';
import type { duckdbApi } from './duckdb-api.js';

export type { DuckDBConnection } from '@duckdb/node-api';

/** Options for the in-memory instance. */
export interface DuckDBOptions {
  /** Worker threads DuckDB may use. */
  threads?: number;
  /** DuckDB memory limit, e.g. `1GB`. */
  memoryLimit?: string;
}

export const DUCKDB_DEFAULTS: Required<DuckDBOptions> = { threads: 2, memoryLimit: '1GB' };

/** @duckdb/node-api, loaded by the first `withDuckDB` (see duckdb-api.ts). */
let duck: typeof duckdbApi | undefined;

/** The loaded API, for helpers that take a connection (so `withDuckDB` has loaded it). */
function api(): typeof duckdbApi {
  if (!duck) throw new Error('internal: DuckDB used before withDuckDB loaded it');
  return duck;
}

/** Runs `fn` with a connection to a fresh in-memory DuckDB, then closes it. */
export async function withDuckDB<T>(
  fn: (conn: DuckDBConnection) => Promise<T>,
  options: DuckDBOptions = {},
): Promise<T> {
  const o = { ...DUCKDB_DEFAULTS, ...options };
  duck ??= (await import('./duckdb-api.js')).duckdbApi;
  const instance = await duck.DuckDBInstance.create(':memory:', {
    threads: String(o.threads),
    memory_limit: o.memoryLimit,
    // Keep spill files away from the working directory.
    temp_directory: `${process.env.TMPDIR ?? '/tmp'}/vieweratlas-duckdb-${process.pid}`,
  });
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** A SQL string literal ('it''s'), for paths and names in statements. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A SQL identifier ("col"). */
export function sqlIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

/** Column types the write helpers accept. */
export type ColumnType = 'VARCHAR' | 'DOUBLE' | 'INTEGER' | 'UINTEGER' | 'BIGINT' | 'BOOLEAN';

/** One column to write: its name, type and values (null = SQL NULL). */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  values: ArrayLike<string | number | bigint | boolean | null | undefined>;
}

const columnType = (t: ColumnType): DuckDBType => api()[t];
const CHUNK = 2048;

/**
 * Creates table `table` from columns (all of equal length) through the appender, a chunk of
 * 2048 rows at a time.
 */
export async function createTableFromColumns(
  conn: DuckDBConnection,
  table: string,
  columns: ColumnSpec[],
): Promise<void> {
  if (columns.length === 0) throw new StorageError('duckdb', `table ${table}: no columns`);
  const n = columns[0]?.values.length ?? 0;
  for (const c of columns) {
    if (c.values.length !== n)
      throw new StorageError(
        'duckdb',
        `table ${table}: column ${c.name} has ${c.values.length} values, expected ${n}`,
      );
  }
  await conn.run(
    `CREATE OR REPLACE TABLE ${sqlIdent(table)} (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`,
  );
  if (n === 0) return;
  const appender = await conn.createAppender(table);
  const types = columns.map((c) => columnType(c.type));
  try {
    for (let start = 0; start < n; start += CHUNK) {
      const len = Math.min(CHUNK, n - start);
      const chunk = api().DuckDBDataChunk.create(types, len);
      chunk.setColumns(
        columns.map((c) => {
          const out = new Array(len);
          for (let i = 0; i < len; i++) {
            const v = c.values[start + i];
            out[i] =
              v === undefined || (typeof v === 'number' && Number.isNaN(v))
                ? null
                : c.type === 'BIGINT' && typeof v === 'number'
                  ? BigInt(Math.trunc(v))
                  : v;
          }
          return out;
        }),
      );
      appender.appendDataChunk(chunk);
    }
  } finally {
    appender.closeSync();
  }
}

/** A numeric column straight from a typed array. */
export interface TypedColumn {
  name: string;
  data: Uint32Array | Float64Array | Uint8Array;
}

function typedType(a: TypedColumn['data']): { sql: string; type: DuckDBType } {
  const { DOUBLE, UTINYINT, UINTEGER } = api();
  if (a instanceof Float64Array) return { sql: 'DOUBLE', type: DOUBLE };
  if (a instanceof Uint8Array) return { sql: 'UTINYINT', type: UTINYINT };
  return { sql: 'UINTEGER', type: UINTEGER };
}

/** Appends rows from typed arrays to one table, block by block (see `createTypedAppender`). */
export interface TypedAppender {
  /** Appends rows [0, length) of the given columns (same order and types as at creation). */
  append(columns: TypedColumn['data'][], length: number): void;
  /** Rows appended so far. */
  readonly rows: number;
  close(): void;
}

/**
 * Creates table `table` with one column per typed array kind (UINTEGER, DOUBLE, UTINYINT) and an
 * appender that copies each 2048-row block straight into the vectors' memory (no per-value
 * conversion): ~10M rows per second, and callers can stream batches through it.
 */
export async function createTypedAppender(
  conn: DuckDBConnection,
  table: string,
  columns: TypedColumn[],
  /** false: append to the existing table (its columns must match `columns`). */
  create = true,
): Promise<TypedAppender> {
  const types = columns.map((c) => typedType(c.data));
  if (create)
    await conn.run(
      `CREATE OR REPLACE TABLE ${sqlIdent(table)} (${columns.map((c, i) => `${sqlIdent(c.name)} ${types[i]?.sql}`).join(', ')})`,
    );
  const appender = await conn.createAppender(table);
  let rows = 0;
  return {
    get rows() {
      return rows;
    },
    append(data, n) {
      for (let start = 0; start < n; start += CHUNK) {
        const len = Math.min(CHUNK, n - start);
        const chunk = api().DuckDBDataChunk.create(
          types.map((t) => t.type),
          len,
        );
        for (let j = 0; j < data.length; j++) {
          const src = (data[j] as TypedColumn['data']).subarray(start, start + len);
          const vec = chunk.getColumnVector(j);
          const items = (vec as unknown as { items?: unknown }).items;
          if (
            items &&
            (items as { constructor: unknown }).constructor === src.constructor &&
            (items as ArrayLike<number>).length >= len
          ) {
            (items as Uint32Array).set(src as Uint32Array);
          } else {
            for (let i = 0; i < len; i++) vec.setItem(i, src[i] as number);
          }
          vec.flush();
        }
        appender.appendDataChunk(chunk);
      }
      rows += n;
    },
    close() {
      appender.closeSync();
    },
  };
}

/** Creates table `table` from typed arrays of equal length (one batch through `createTypedAppender`). */
export async function createTableFromTypedArrays(
  conn: DuckDBConnection,
  table: string,
  columns: TypedColumn[],
): Promise<void> {
  const a = await createTypedAppender(conn, table, columns);
  try {
    a.append(
      columns.map((c) => c.data),
      columns[0]?.data.length ?? 0,
    );
  } finally {
    a.close();
  }
}

function noControlChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 32) return false;
  return true;
}

/**
 * Creates `table (id UINTEGER, name VARCHAR)` with id = index in `names`. Large dictionaries go
 * through a temporary text file and DuckDB's CSV reader (about 10x faster than the appender for
 * millions of strings); names with control characters fall back to the appender.
 */
export async function createDictionaryTable(
  conn: DuckDBConnection,
  table: string,
  names: readonly string[],
): Promise<void> {
  const plain = names.length > 50_000 && names.every(noControlChars);
  if (!plain) {
    await createTableFromColumns(conn, table, [
      { name: 'id', type: 'UINTEGER', values: Uint32Array.from({ length: names.length }, (_, i) => i) },
      { name: 'name', type: 'VARCHAR', values: names },
    ]);
    return;
  }
  const lines: Buffer[] = [];
  const step = 100_000;
  for (let i = 0; i < names.length; i += step) {
    let text = '';
    const end = Math.min(names.length, i + step);
    for (let k = i; k < end; k++) text += `${k}\x01${names[k]}\n`;
    lines.push(Buffer.from(text));
  }
  await loadDictionaryFile(conn, table, Buffer.concat(lines));
}

/** `table (id, name)` from lines `id\x01name\n`, through a temporary file and DuckDB's CSV reader. */
async function loadDictionaryFile(conn: DuckDBConnection, table: string, text: Uint8Array): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vieweratlas-dict-'));
  const file = join(dir, 'names.txt');
  try {
    await writeFile(file, text);
    await conn.run(
      `CREATE OR REPLACE TABLE ${sqlIdent(table)} AS SELECT id, coalesce(name, '') AS name FROM read_csv(${sqlString(file)}, header = false, delim = '\x01', quote = '', escape = '', columns = {'id': 'UINTEGER', 'name': 'VARCHAR'}, strict_mode = false)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Names as an interner holds them: name i is arena[offs[i], offs[i] + lens[i]) (UTF-8). */
export interface NameBytes {
  arena: Uint8Array;
  offs: ArrayLike<number>;
  lens: ArrayLike<number>;
  size: number;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `createDictionaryTable` from the names' bytes: the text file is written from them as they are,
 * without a JavaScript string per name (2M viewer names: 0.55 s to make the strings, then their
 * lines). Names with control bytes or that are not valid UTF-8 go the string way, as before:
 * `strings()` gives the same names as strings (the interner's `names`).
 */
export async function createDictionaryTableFromBytes(
  conn: DuckDBConnection,
  table: string,
  names: NameBytes,
  strings: () => readonly string[],
): Promise<void> {
  const { arena, offs, lens, size } = names;
  let plain = size > 50_000;
  let bytes = 0;
  for (let i = 0; plain && i < size; i++) {
    const o = offs[i] as number;
    const l = lens[i] as number;
    bytes += l;
    for (let k = o; k < o + l; k++) {
      if ((arena[k] as number) < 32) {
        plain = false;
        break;
      }
    }
  }
  if (plain) {
    try {
      fatalUtf8.decode(arena);
    } catch {
      plain = false;
    }
  }
  if (!plain) {
    await createDictionaryTable(conn, table, strings());
    return;
  }
  // `${id}\x01${name}\n` per name; ids have at most 10 digits
  const out = Buffer.allocUnsafe(bytes + size * 12);
  let p = 0;
  for (let i = 0; i < size; i++) {
    p += out.write(String(i), p, 'latin1');
    out[p++] = 1;
    const o = offs[i] as number;
    const l = lens[i] as number;
    out.set(arena.subarray(o, o + l), p);
    p += l;
    out[p++] = 10;
  }
  await loadDictionaryFile(conn, table, out.subarray(0, p));
}

/** Options for Parquet output. */
export interface ParquetWriteOptions {
  /** SELECT list applied on the way out (e.g. `channel, epoch_ms(ts::BIGINT) AS ts`); default `*`. */
  select?: string;
  /** ORDER BY clause for the output rows (helps compression and determinism). */
  orderBy?: string;
  /** Parquet row-group size. */
  rowGroupSize?: number;
}

/** Copies a query's result to one ZSTD-compressed Parquet file. */
export async function copyQueryToParquet(
  conn: DuckDBConnection,
  query: string,
  path: string,
  options: ParquetWriteOptions = {},
): Promise<void> {
  const rg = options.rowGroupSize ? `, ROW_GROUP_SIZE ${options.rowGroupSize}` : '';
  await conn.run(`COPY (${query}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd${rg})`);
}

/** Writes columns to one Parquet file (ZSTD), through a temporary table. */
export async function writeParquetColumns(
  conn: DuckDBConnection,
  path: string,
  columns: ColumnSpec[],
  options: ParquetWriteOptions = {},
): Promise<void> {
  const table = `tmp_write_${Math.random().toString(36).slice(2, 10)}`;
  await createTableFromColumns(conn, table, columns);
  try {
    const order = options.orderBy ? ` ORDER BY ${options.orderBy}` : '';
    await copyQueryToParquet(
      conn,
      `SELECT ${options.select ?? '*'} FROM ${sqlIdent(table)}${order}`,
      path,
      options,
    );
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${sqlIdent(table)}`);
  }
}

/** Writes objects (one per row) to one Parquet file; `columns` fixes names, types and order. */
export async function writeParquetRows<T extends Record<string, unknown>>(
  conn: DuckDBConnection,
  path: string,
  rows: readonly T[],
  columns: { name: keyof T & string; type: ColumnType }[],
  options: ParquetWriteOptions = {},
): Promise<void> {
  const specs: ColumnSpec[] = columns.map((c) => ({
    name: c.name,
    type: c.type,
    values: rows.map((r) => r[c.name] as string | number | boolean | null | undefined),
  }));
  await writeParquetColumns(conn, path, specs, options);
}

/** Runs a query and returns its rows as plain objects (small results: metadata, summaries). */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** Reads a whole Parquet file (or glob / list) as row objects; for small files. */
export async function readParquetRows(
  conn: DuckDBConnection,
  paths: string | string[],
): Promise<Record<string, unknown>[]> {
  return queryRows(conn, `SELECT * FROM read_parquet(${sqlPathList(paths)})`);
}

/** `'a'` or `['a', 'b']` as SQL, for read_parquet / read_csv. */
export function sqlPathList(paths: string | string[]): string {
  return Array.isArray(paths) ? `[${paths.map(sqlString).join(', ')}]` : sqlString(paths);
}

type NumericArray = Uint32Array | Int32Array | Float64Array;

/** The typed array behind a fixed-width vector, when the binding exposes it (fast path). */
function vectorItems(vec: DuckDBVector): NumericArray | undefined {
  const items = (vec as unknown as { items?: unknown }).items;
  return items instanceof Uint32Array || items instanceof Int32Array || items instanceof Float64Array
    ? items
    : undefined;
}

/** What `pullNumericColumns` should produce per result column (by position). */
export type NumericTarget = 'u32' | 'f64';

/**
 * Streams a query whose columns are all UINTEGER/INTEGER (→ `u32`) or DOUBLE (→ `f64`) straight
 * into typed arrays: no per-value JS objects, which is what makes 10M+ rows cheap. The fast path
 * copies raw vector memory, so COALESCE NULLs in the SQL. `expectedRows` sizes the arrays up front (they grow if it is short).
 */
export async function pullNumericColumns(
  conn: DuckDBConnection,
  sql: string,
  targets: NumericTarget[],
  expectedRows = 1 << 16,
  onRows?: (rows: number) => void,
): Promise<{ length: number; columns: (Uint32Array | Float64Array)[] }> {
  let cap = Math.max(16, expectedRows);
  let cols: (Uint32Array | Float64Array)[] = targets.map((t) =>
    t === 'u32' ? new Uint32Array(cap) : new Float64Array(cap),
  );
  let length = 0;
  const result = await conn.stream(sql);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const n = chunk.rowCount;
    if (length + n > cap) {
      cap = Math.max(length + n, Math.ceil(cap * 1.5));
      cols = cols.map((c) => {
        const g = c instanceof Uint32Array ? new Uint32Array(cap) : new Float64Array(cap);
        g.set(c.subarray(0, length));
        return g;
      });
    }
    for (let j = 0; j < targets.length; j++) {
      const vec = chunk.getColumnVector(j);
      const dst = cols[j] as Uint32Array | Float64Array;
      const items = vectorItems(vec);
      if (items && items.length >= n && items instanceof Float64Array === dst instanceof Float64Array) {
        dst.set(items.subarray(0, n), length);
      } else {
        for (let i = 0; i < n; i++) dst[length + i] = Number(vec.getItem(i) ?? 0);
      }
    }
    length += n;
    onRows?.(length);
  }
  return { length, columns: cols };
}

/** Streams one VARCHAR column into a string array (dictionary pulls: names of interned ids). */
export async function pullStringColumn(conn: DuckDBConnection, sql: string): Promise<string[]> {
  const out: string[] = [];
  const result = await conn.stream(sql);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const vec = chunk.getColumnVector(0);
    for (let i = 0; i < chunk.rowCount; i++) out.push(String(vec.getItem(i) ?? ''));
  }
  return out;
}
