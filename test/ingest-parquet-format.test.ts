/**
 * The Parquet reader (src/ingest/parquet-format.ts) against what it did not write: the format
 * spec's RLE / bit-packing example, a reference bit packer for every width, and files DuckDB
 * writes (data pages v1 and v2, dictionaries and PLAIN pages, nulls, ZSTD and uncompressed),
 * each column compared value for value with what DuckDB reads from the same file.
 */
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chunkBuffers,
  type DecodedChunk,
  decodeChunk,
  decodeHybrid,
  integerRead,
  loadZstd,
  ParquetUnsupported,
  readParquetFooter,
  timestampRead,
} from '../src/ingest/parquet-format.js';
import { hybridValues, useHybridKernel } from '../src/ingest/parquet-kernel.js';
import { sqlString, withDuckDB } from '../src/storage/duckdb.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'va-parquet-format-'));
  await loadZstd();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Packs `values` of `width` bits, least significant bit first (the spec's bit-packing), by bit. */
function pack(values: number[], width: number): number[] {
  const bytes = new Array(Math.ceil((values.length * width) / 8)).fill(0);
  values.forEach((v, k) => {
    for (let j = 0; j < width; j++) {
      const bit = k * width + j;
      if (Math.floor(v / 2 ** j) % 2 === 1) bytes[bit >> 3] |= 1 << (bit & 7);
    }
  });
  return bytes;
}

/**
 * The hybrid decoded by the JavaScript loop and by the WebAssembly kernel (parquet-kernel.ts,
 * which gives the largest value and the sum too): out[0, count) as decodeHybrid writes it.
 */
const decoders: [string, (buf: Uint8Array, width: number, out: Int32Array, count: number) => void][] = [
  ['JavaScript', (buf, width, out, count) => decodeHybrid(buf, 0, buf.length, width, out, 0, count)],
  [
    'WebAssembly',
    (buf, width, out, count) => {
      const got = hybridValues(buf, 0, buf.length, width, count);
      if (got === undefined) throw new Error('the kernel declined');
      if (got === null) throw new ParquetUnsupported('bad hybrid data');
      out.set(got.values);
      let max = 0;
      let sum = 0;
      for (let i = 0; i < count; i++) {
        max = Math.max(max, got.values[i]! >>> 0);
        sum += got.values[i]! >>> 0;
      }
      expect([got.max, got.sum]).toEqual([max, sum]);
    },
  ],
];

for (const [kind, decode] of decoders) {
  describe(`RLE / bit-packed hybrid (${kind})`, () => {
    it("decodes the format spec's example and a run", () => {
      // bit-packed, one group: 0..7 at width 3 is 10001000 11000110 11111010
      const out = new Int32Array(13);
      decode(new Uint8Array([0x03, 0x88, 0xc6, 0xfa, 0x0a, 0x07]), 3, out, 13);
      expect(Array.from(out)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7]);
    });

    it('every bit width 1..32, counts cut inside a group, runs between groups', () => {
      let seed = 7;
      const rnd = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed;
      };
      for (let width = 1; width <= 32; width++) {
        const groups = 9;
        const values = Array.from({ length: groups * 8 }, () => (width === 32 ? rnd() : rnd() % 2 ** width));
        const run = width === 32 ? 4294967295 : 2 ** width - 1;
        // a run of 5, then the bit-packed groups; only 70 of the 72 packed values are asked for
        const runBytes = pack([run], Math.ceil(width / 8) * 8);
        const bytes = new Uint8Array([10, ...runBytes, (groups << 1) | 1, ...pack(values, width)]);
        const count = 5 + 70;
        const out = new Int32Array(count);
        decode(bytes, width, out, count);
        const want = [...new Array(5).fill(run), ...values.slice(0, 70)].map((v) => v | 0);
        expect(Array.from(out), `width ${width}`).toEqual(want);
      }
    });

    it('refuses data that ends early', () => {
      const out = new Int32Array(8);
      expect(() => decode(new Uint8Array([0x03, 0x88]), 3, out, 8)).toThrow(ParquetUnsupported);
      expect(() => decode(new Uint8Array([0x0a]), 3, out, 5)).toThrow(ParquetUnsupported);
      // a bit-packed run claiming 2^27 groups, then nothing: the count is not reached
      expect(() => decode(new Uint8Array([0xff, 0xff, 0xff, 0x7f, 0x01]), 8, out, 8)).toThrow(
        ParquetUnsupported,
      );
    });
  });
}

it('the hybrid kernel declines what its layout does not hold (the JavaScript loop decodes it)', () => {
  expect(hybridValues(new Uint8Array([0x02, 0x01]), 0, 2, 1, 1 << 20)).toBeUndefined();
  expect(hybridValues(new Uint8Array(3 << 20), 0, 3 << 20, 1, 8)).toBeUndefined();
  expect(hybridValues(new Uint8Array([0x02, 0x01]), 0, 2, 33, 1)).toBeUndefined();
});

/** Writes `select` with DuckDB; returns the file and DuckDB's own reading of each column. */
async function duckFile(name: string, select: string, options: string) {
  const path = join(dir, `${name}.parquet`);
  const rows = await withDuckDB(async (c) => {
    await c.run(`COPY (${select}) TO ${sqlString(path)} (FORMAT parquet, ${options})`);
    const r = await c.runAndReadAll(
      `SELECT channel, viewer, epoch_ms(ts)::DOUBLE AS ts, messages::DOUBLE AS messages FROM ${sqlString(path)}`,
    );
    return r.getRowObjectsJS() as {
      channel: string | null;
      viewer: string | null;
      ts: number | null;
      messages: number | null;
    }[];
  });
  return { path, rows };
}

/** A whole Parquet file and its footer. */
async function whole(path: string) {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const footer = await readParquetFooter(fh, size);
    const all = new Uint8Array(size);
    await fh.read(all, 0, size, 0);
    return { footer, all };
  } finally {
    await fh.close();
  }
}

/** Every column of every row group decoded here, as DuckDB gives the rows. */
async function decodeAll(path: string) {
  const { footer, all } = await whole(path);
  const leaf = (n: string) => footer.leaves.find((l) => l.name === n)!;
  const rows: {
    channel: string | null;
    viewer: string | null;
    ts: number | null;
    messages: number | null;
  }[] = [];
  const text = (c: DecodedChunk, i: number): string | null => {
    if (c.defs[i] === 0) return null;
    const e = c.index ? c.index[i]! : -1;
    const s = c.index ? c.dictStart![e]! : c.start[i]!;
    const l = c.index ? c.dictLen![e]! : c.len[i]!;
    return new TextDecoder().decode(c.bytes.subarray(s, s + l));
  };
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  for (const rg of footer.rowGroups) {
    const get = (n: string, ints?: ReturnType<typeof integerRead>) =>
      decodeChunk(all, 0, rg.chunks.get(n)!, leaf(n), rg.rows, chunkBuffers(), ints);
    const channel = get('channel');
    const viewer = get('viewer');
    const ts = get('ts', timestampRead(leaf('ts')));
    const messages = get('messages', integerRead(leaf('messages')));
    for (let i = 0; i < rg.rows; i++)
      rows.push({
        channel: text(channel, i),
        viewer: text(viewer, i),
        ts: num(ts.values[i]!),
        messages: num(messages.values[i]!),
      });
  }
  return rows;
}

/** Rows with nulls, repeats, Unicode and long names; counts unsigned and past 2^31. */
const SELECT = (type: string) => `
  SELECT
    CASE WHEN i % 97 = 0 THEN NULL WHEN i % 7 = 0 THEN 'Streamer_ü_' || (i % 13)::VARCHAR ELSE 'c' || (i % 37)::VARCHAR END AS channel,
    CASE WHEN i % 89 = 0 THEN NULL WHEN i % 11 = 0 THEN repeat('v', 40 + i % 200) ELSE 'u' || (i // 4)::VARCHAR END AS viewer,
    CASE WHEN i % 83 = 0 THEN NULL ELSE TIMESTAMP '2026-11-20 00:00:00' + INTERVAL (i * 1001) MILLISECOND END AS ts,
    CASE WHEN i % 79 = 0 THEN NULL WHEN i % 5 = 0 THEN 4000000000 ELSE i % 4 END::${type} AS messages
  FROM range(0, 30000) t(i)`;

describe('column chunks as DuckDB writes them', () => {
  const variants: [string, string, string][] = [
    ['v1 zstd', 'UINTEGER', 'COMPRESSION zstd, ROW_GROUP_SIZE 8192'],
    ['v1 uncompressed', 'BIGINT', 'COMPRESSION uncompressed'],
    ['v1 all PLAIN', 'UBIGINT', 'COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1, ROW_GROUP_SIZE 5000'],
  ];
  for (const [name, type, options] of variants) {
    it(`${name}: every value as DuckDB reads it (levels and codes in WebAssembly and in JavaScript)`, async () => {
      const { path, rows } = await duckFile(name.replaceAll(' ', '-'), SELECT(type), options);
      expect(await decodeAll(path)).toEqual(rows);
      useHybridKernel(false);
      try {
        expect(await decodeAll(path)).toEqual(rows);
      } finally {
        useHybridKernel(true);
      }
    });
  }

  it('data pages v2 (dictionary columns; DELTA ones are refused)', async () => {
    const { path, rows } = await duckFile('v2', SELECT('UINTEGER'), 'COMPRESSION zstd, PARQUET_VERSION V2');
    const { footer, all } = await whole(path);
    const leaf = footer.leaves.find((l) => l.name === 'messages')!;
    const got: (number | null)[] = [];
    for (const rg of footer.rowGroups) {
      const c = decodeChunk(
        all,
        0,
        rg.chunks.get('messages')!,
        leaf,
        rg.rows,
        chunkBuffers(),
        integerRead(leaf),
      );
      for (let i = 0; i < rg.rows; i++) got.push(Number.isNaN(c.values[i]!) ? null : c.values[i]!);
    }
    expect(got).toEqual(rows.map((r) => r.messages));
    const ts = footer.leaves.find((l) => l.name === 'ts')!;
    const rg = footer.rowGroups[0]!;
    expect(() =>
      decodeChunk(all, 0, rg.chunks.get('ts')!, ts, rg.rows, chunkBuffers(), timestampRead(ts)),
    ).toThrow(ParquetUnsupported);
  });

  it('refuses what is not Parquet, or cut short', async () => {
    const { path } = await duckFile('whole', SELECT('UINTEGER'), 'COMPRESSION zstd');
    const bad = join(dir, 'not.parquet');
    await writeFile(bad, 'channel,viewer,ts\nxqc,alice,1\n');
    const cut = join(dir, 'cut.parquet');
    const bytes = new Uint8Array(await readFile(path));
    await writeFile(cut, bytes.subarray(0, bytes.length - 100));
    for (const f of [bad, cut]) {
      const fh = await open(f, 'r');
      try {
        await expect(readParquetFooter(fh, (await fh.stat()).size)).rejects.toThrow(ParquetUnsupported);
      } finally {
        await fh.close();
      }
    }
  });
});
