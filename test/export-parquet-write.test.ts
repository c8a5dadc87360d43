/**
 * The Parquet writer (src/export/parquet-write.ts) against two readers we did not write: DuckDB
 * (C++) and hyparquet (JavaScript). Each must read back exactly the table given: names by index,
 * doubles with NaN/±Infinity as null and -0 as 0, over several row groups, with runs long and
 * short (RLE and bit-packed), dictionaries of every bit width around the powers of two, and a
 * row group of nothing but nulls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet/src/node.js';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng as rng } from '../src/analysis/rng.js';
import { PARQUET_ROW_GROUP, type ParquetColumn, writeParquet } from '../src/export/parquet-write.js';
import { queryRows, sqlString, withDuckDB } from '../src/storage/duckdb.js';

const root = mkdtempSync(join(tmpdir(), 'va-parquet-write-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const enc = new TextEncoder();
const NAMES = [
  'xqc',
  'comma,name',
  'quote"name',
  'multi\nline',
  ' leading space',
  'ünïcødé 日本語',
  '',
  'x'.repeat(300),
  ...Array.from({ length: 292 }, (_, i) => `chan${i}`),
];

type Row = Record<string, string | number | null>;

/** The table as both readers should give it back. */
function expected(columns: readonly ParquetColumn[], rows: number): Row[] {
  return Array.from({ length: rows }, (_, r) => {
    const row: Row = {};
    for (const c of columns) {
      if (c.kind === 'names') row[c.name] = NAMES[c.index[r] as number] as string;
      else {
        const v = c.values[r] as number;
        row[c.name] = Number.isFinite(v) ? (v === 0 ? 0 : v) : null;
      }
    }
    return row;
  });
}

/** Writes `columns` to `name`, expects both readers to give them back; DuckDB's rows. */
async function roundTrip(name: string, columns: readonly ParquetColumn[], rows: number): Promise<Row[]> {
  const path = join(root, name);
  writeParquet(path, columns, rows);
  const want = expected(columns, rows);
  const duck = await withDuckDB((conn) => queryRows(conn, `SELECT * FROM read_parquet(${sqlString(path)})`));
  expect(duck).toEqual(want);
  const hyparquet = await parquetReadObjects({ file: await asyncBufferFromFile(path) });
  expect(hyparquet).toEqual(want);
  return duck as Row[];
}

/** Index patterns: long runs (RLE), runs of 7, 8 and 9 around the RLE threshold, random. */
function indexes(n: number, distinct: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(n);
  let i = 0;
  while (i < n) {
    const kind = Math.floor(r() * 4);
    const len = kind === 0 ? 1 + Math.floor(r() * 300) : kind === 1 ? 7 + Math.floor(r() * 3) : 1;
    const v = Math.floor(r() * distinct);
    for (let k = 0; k < len && i < n; k++) out[i++] = v;
  }
  return out;
}

function doubles(n: number, seed: number, distinct: number): Float64Array {
  const r = rng(seed);
  const specials = [
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    5e-324,
    1e300,
    -2.5,
  ];
  const pool = Array.from({ length: distinct }, () => Math.round(r() * 1e6) / 1e3);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = r();
    out[i] =
      x < 0.05
        ? (specials[Math.floor(r() * specials.length)] as number)
        : (pool[Math.floor(r() * distinct)] as number);
    // runs of equal values too
    if (x > 0.9 && i > 0) out[i] = out[i - 1] as number;
  }
  return out;
}

function table(
  rows: number,
  seed: number,
  distinctNames = NAMES.length,
  distinctDoubles = 1000,
): ParquetColumn[] {
  const names = NAMES.map((n) => enc.encode(n));
  return [
    { name: 'source', kind: 'names', names, index: indexes(rows, distinctNames, seed) },
    { name: 'target', kind: 'names', names, index: indexes(rows, distinctNames, seed + 1) },
    { name: 'weight', kind: 'doubles', values: doubles(rows, seed + 2, distinctDoubles), dictionary: true },
    { name: 'shared', kind: 'doubles', values: doubles(rows, seed + 3, distinctDoubles), dictionary: false },
  ];
}

describe('writeParquet', () => {
  it.each([
    [0, 'no rows'],
    [1, 'one row'],
    [8, 'one bit-packed group'],
    [9, 'a group and one more'],
    [5000, 'one row group'],
    [2 * PARQUET_ROW_GROUP + 17, 'three row groups'],
  ])('%i rows (%s): DuckDB and hyparquet read back the table given', async (rows) => {
    await roundTrip(`t-${rows}.parquet`, table(rows, rows + 1), rows);
  });

  it('encodes dictionaries of every bit width around the powers of two', async () => {
    for (const distinct of [1, 2, 3, 4, 5, 255, 256, 257]) {
      const columns = table(3000, distinct, Math.min(distinct, NAMES.length), distinct);
      await roundTrip(`w-${distinct}.parquet`, columns, 3000);
    }
  });

  it('writes a row group whose doubles are all null', async () => {
    const rows = PARQUET_ROW_GROUP + 10;
    const values = new Float64Array(rows).fill(Number.NaN);
    values[rows - 1] = 4;
    const names = NAMES.map((n) => enc.encode(n));
    const columns: ParquetColumn[] = [
      { name: 'source', kind: 'names', names, index: new Uint32Array(rows) },
      { name: 'weight', kind: 'doubles', values, dictionary: true },
      { name: 'shared', kind: 'doubles', values, dictionary: false },
    ];
    const duck = await roundTrip('nulls.parquet', columns, rows);
    expect(duck.filter((r) => r.weight !== null)).toEqual([{ source: 'xqc', weight: 4, shared: 4 }]);
  });

  it('gives DuckDB the column types edges.parquet had (VARCHAR, DOUBLE)', async () => {
    const path = join(root, 'types.parquet');
    writeParquet(path, table(10, 3), 10);
    const types = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(path)}))`,
      ),
    );
    expect(types).toEqual([
      { column_name: 'source', column_type: 'VARCHAR' },
      { column_name: 'target', column_type: 'VARCHAR' },
      { column_name: 'weight', column_type: 'DOUBLE' },
      { column_name: 'shared', column_type: 'DOUBLE' },
    ]);
  });
});
