/**
 * Dictionary tables for import (`createDictionaryTable` from strings, `createDictionaryTableFromBytes`
 * from an interner's bytes): the same `(id, name)` rows either way, for big dictionaries (the text
 * file path), names with control bytes and names that are not valid UTF-8 (the string path).
 */
import { describe, expect, it } from 'vitest';
import { ByteInterner } from '../src/ingest/csv-scan.js';
import {
  createDictionaryTable,
  createDictionaryTableFromBytes,
  queryRows,
  withDuckDB,
} from '../src/storage/duckdb.js';

const enc = new TextEncoder();

function interned(names: (string | Uint8Array)[]): ByteInterner {
  const i = new ByteInterner({ lowerCase: false });
  for (const n of names) {
    const b = typeof n === 'string' ? enc.encode(n) : n;
    i.intern(b, 0, b.length);
  }
  return i;
}

async function rows(fill: (conn: Parameters<Parameters<typeof withDuckDB>[0]>[0]) => Promise<void>) {
  return withDuckDB(async (conn) => {
    await fill(conn);
    return (await queryRows(conn, 'SELECT id, name FROM d ORDER BY id')).map((r) => [Number(r.id), r.name]);
  });
}

describe('dictionary tables from bytes', () => {
  it('gives the string path’s rows, for big dictionaries and odd names alike', async () => {
    const many = Array.from({ length: 60_000 }, (_, k) => `viewer_${k}${k % 7 === 0 ? 'ünï' : ''}`);
    const cases: (string | Uint8Array)[][] = [
      many,
      [...many, 'tab\there'],
      [...many, Uint8Array.from([0x61, 0xff, 0x62])],
      ['small', 'dictionary'],
    ];
    for (const names of cases) {
      const i = interned(names);
      const fromBytes = await rows((conn) =>
        createDictionaryTableFromBytes(conn, 'd', i.exportNames(), () => i.names()),
      );
      const fromStrings = await rows((conn) => createDictionaryTable(conn, 'd', i.names()));
      expect(fromBytes).toEqual(fromStrings);
      expect(fromBytes).toHaveLength(names.length);
      expect(fromBytes[1]).toEqual([1, i.names()[1]]);
    }
  }, 60_000);
});
