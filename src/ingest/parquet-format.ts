/**
 * Reading Parquet files of flat columns, as storage parts are: the footer (Thrift compact
 * protocol) and column chunks decoded into typed arrays. What it reads: data pages v1 and v2,
 * PLAIN and dictionary-encoded values (PLAIN_DICTIONARY / RLE_DICTIONARY), RLE / bit-packed
 * definition levels, pages uncompressed or ZSTD (zstddec: zstd built to WebAssembly). Anything
 * else — nested columns, other codecs or encodings, INT96 — throws `ParquetUnsupported`, and the
 * caller hands the file to DuckDB.
 *
 * Why not a library: hyparquet (with hyparquet-compressors) took 1.9–2.2 s for one 2.2M-row part
 * of the bench store, building a JS value per cell; a reader that leaves names as bytes in the
 * page is what makes the stored-parts read cheaper than DuckDB handing its chunks over.
 *
 * Format: https://parquet.apache.org/docs/file-format/ (field ids from parquet.thrift).
 */
import type { FileHandle } from 'node:fs/promises';
import { ZSTDDecoder } from 'zstddec';
import { hybridValues, lookUpCodes } from './parquet-kernel.js';

/** The file cannot be read here (the caller takes another reader); `message` says why. */
export class ParquetUnsupported extends Error {}

/** Physical types (parquet.thrift `Type`). */
export const INT32 = 1;
export const INT64 = 2;
export const BYTE_ARRAY = 6;
/** Repetitions. */
export const REQUIRED = 0;
export const OPTIONAL = 1;
/** Converted types read here. */
export const UTF8 = 0;
export const UINT_8 = 11;
export const UINT_64 = 14;
export const INT_8 = 15;
export const INT_64 = 18;
/** Codecs. */
const UNCOMPRESSED = 0;
const ZSTD = 6;
/** Encodings. */
const PLAIN = 0;
const PLAIN_DICTIONARY = 2;
const RLE = 3;
const RLE_DICTIONARY = 8;
/** Page types. */
const DATA_PAGE = 0;
const DICTIONARY_PAGE = 2;
const DATA_PAGE_V2 = 3;

/** A decoded Thrift struct: field id → value. */
export interface ThriftStruct {
  [field: number]: ThriftValue;
}
export type ThriftValue = number | boolean | Uint8Array | ThriftValue[] | ThriftStruct;

/** The Thrift compact protocol's reader (what Parquet's metadata is written in). */
class ThriftReader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
  ) {}

  private byte(): number {
    if (this.pos >= this.buf.length) throw new ParquetUnsupported('metadata ends early');
    return this.buf[this.pos++] as number;
  }

  /** An unsigned varint (exact up to 2^53). */
  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw new ParquetUnsupported('bad varint in metadata');
  }

  zigzag(): number {
    const n = this.varint();
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  struct(depth = 0): ThriftStruct {
    if (depth > 32) throw new ParquetUnsupported('metadata nested too deep');
    const out: ThriftStruct = {};
    let field = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return out;
      const delta = h >> 4;
      field = delta === 0 ? this.zigzag() : field + delta;
      const type = h & 15;
      out[field] = type === 1 ? true : type === 2 ? false : this.value(type, depth);
    }
  }

  private value(type: number, depth: number): ThriftValue {
    switch (type) {
      case 1:
        return true;
      case 2:
        return false;
      case 3: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case 4:
      case 5:
      case 6:
        return this.zigzag();
      case 7: {
        if (this.pos + 8 > this.buf.length) throw new ParquetUnsupported('metadata ends early');
        const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case 8: {
        const n = this.varint();
        if (this.pos + n > this.buf.length) throw new ParquetUnsupported('metadata ends early');
        const v = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case 9:
      case 10: {
        const h = this.byte();
        const size = h >> 4 === 15 ? this.varint() : h >> 4;
        const et = h & 15;
        const out: ThriftValue[] = [];
        for (let i = 0; i < size; i++) {
          // booleans in a list are one byte each (1 true)
          out.push(et === 1 || et === 2 ? this.byte() === 1 : this.value(et, depth));
        }
        return out;
      }
      case 11: {
        const size = this.varint();
        const kv = size > 0 ? this.byte() : 0;
        const out: ThriftValue[] = [];
        for (let i = 0; i < size; i++) out.push([this.value(kv >> 4, depth), this.value(kv & 15, depth)]);
        return out;
      }
      case 12:
        return this.struct(depth + 1);
      default:
        throw new ParquetUnsupported(`unknown Thrift type ${type} in metadata`);
    }
  }
}

const num = (v: ThriftValue | undefined, d = -1): number => (typeof v === 'number' ? v : d);
const decoder = new TextDecoder();
const str = (v: ThriftValue | undefined): string => (v instanceof Uint8Array ? decoder.decode(v) : '');

/** A top-level column of a flat schema. */
export interface ParquetLeaf {
  name: string;
  type: number;
  repetition: number;
  /** Converted type, -1 when none. */
  converted: number;
  /** The LogicalType union (parquet.thrift), when written. */
  logical: ThriftStruct | undefined;
}

/** One column chunk of a row group: where its pages are and what they hold. */
export interface ParquetChunk {
  type: number;
  codec: number;
  /** The encodings its pages use, as the metadata lists them. */
  encodings: number[];
  /** Values, nulls included (= the row group's rows for a flat column). */
  values: number;
  /** Byte range of its pages in the file. */
  start: number;
  size: number;
  /** From the chunk's statistics; -1 when not written. */
  nullCount: number;
}

export interface ParquetRowGroup {
  rows: number;
  /** By column name. */
  chunks: Map<string, ParquetChunk>;
}

export interface ParquetFooter {
  rows: number;
  leaves: ParquetLeaf[];
  rowGroups: ParquetRowGroup[];
}

const MAGIC = [0x50, 0x41, 0x52, 0x31];

/** Reads and decodes the footer of a Parquet file of `size` bytes. */
export async function readParquetFooter(fh: FileHandle, size: number): Promise<ParquetFooter> {
  if (size < 12) throw new ParquetUnsupported('too short for Parquet');
  const tail = new Uint8Array(8);
  await fh.read(tail, 0, 8, size - 8);
  if (!MAGIC.every((b, i) => tail[4 + i] === b)) throw new ParquetUnsupported('no Parquet magic at its end');
  const len = new DataView(tail.buffer).getUint32(0, true);
  if (len + 12 > size) throw new ParquetUnsupported('footer longer than the file');
  const meta = new Uint8Array(len);
  await fh.read(meta, 0, len, size - 8 - len);
  return decodeFooter(meta);
}

/** The footer's FileMetaData into the flat schema and row groups (see `ParquetFooter`). */
export function decodeFooter(meta: Uint8Array): ParquetFooter {
  const fm = new ThriftReader(meta, 0).struct();
  const schema = (fm[2] ?? []) as ThriftStruct[];
  const root = schema[0];
  if (!root) throw new ParquetUnsupported('no schema');
  const leaves: ParquetLeaf[] = [];
  for (const el of schema.slice(1)) {
    if (num(el[5], 0) > 0) throw new ParquetUnsupported('nested columns');
    leaves.push({
      name: str(el[4]),
      type: num(el[1]),
      repetition: num(el[3], REQUIRED),
      converted: num(el[6]),
      logical: el[10] as ThriftStruct | undefined,
    });
  }
  if (leaves.length !== num(root[5], 0)) throw new ParquetUnsupported('nested columns');
  const rowGroups: ParquetRowGroup[] = [];
  for (const rg of (fm[4] ?? []) as ThriftStruct[]) {
    const chunks = new Map<string, ParquetChunk>();
    for (const cc of (rg[1] ?? []) as ThriftStruct[]) {
      const md = cc[3] as ThriftStruct | undefined;
      if (!md) throw new ParquetUnsupported('column chunk without metadata');
      if (cc[1] !== undefined) throw new ParquetUnsupported('column chunk in another file');
      const path = ((md[3] ?? []) as ThriftValue[]).map(str);
      const data = num(md[9]);
      const dict = num(md[11]);
      const start = dict > 0 && dict < data ? dict : data;
      const stats = md[12] as ThriftStruct | undefined;
      chunks.set(path.join('.'), {
        type: num(md[1]),
        codec: num(md[4]),
        encodings: ((md[2] ?? []) as ThriftValue[]).map((e) => num(e)),
        values: num(md[5]),
        start,
        size: num(md[7]),
        nullCount: stats ? num(stats[3]) : -1,
      });
    }
    rowGroups.push({ rows: num(rg[3], 0), chunks });
  }
  return { rows: num(fm[3], 0), leaves, rowGroups };
}

/** A UTF-8 string column (what DuckDB reads as VARCHAR). */
export function isStringLeaf(leaf: ParquetLeaf): boolean {
  return leaf.type === BYTE_ARRAY && (leaf.converted === UTF8 || leaf.logical?.[1] !== undefined);
}

/**
 * How to read an INT64 timestamp column as epoch milliseconds (what DuckDB's
 * `epoch_ms(ts::TIMESTAMP)` gives), or undefined: only local-time (not UTC-adjusted)
 * milliseconds and microseconds are taken, as DuckDB's TIMESTAMP type writes them.
 */
export function timestampRead(leaf: ParquetLeaf): IntegerRead | undefined {
  if (leaf.type !== INT64) return undefined;
  const ts = leaf.logical?.[8] as ThriftStruct | undefined;
  if (ts?.[1] !== false) return undefined;
  const unit = (ts[2] ?? {}) as ThriftStruct;
  if (unit[1] !== undefined) return { unsigned: false, divide: 1 };
  if (unit[2] !== undefined) return { unsigned: false, divide: 1000 };
  return undefined;
}

/** How to read an integer column (INT32 / INT64, signed or not), or undefined for other types. */
export function integerRead(leaf: ParquetLeaf): IntegerRead | undefined {
  if (leaf.type !== INT32 && leaf.type !== INT64) return undefined;
  const int = leaf.logical?.[10] as ThriftStruct | undefined;
  if (leaf.logical && !int) return undefined;
  if (int) return { unsigned: int[2] === false, divide: 1 };
  const c = leaf.converted;
  if (c === -1 || (c >= INT_8 && c <= INT_64)) return { unsigned: false, divide: 1 };
  if (c >= UINT_8 && c <= UINT_64) return { unsigned: true, divide: 1 };
  return undefined;
}

let zstd: ZSTDDecoder | undefined;

/** Loads the ZSTD decoder of this thread (WebAssembly; once). */
export async function loadZstd(): Promise<void> {
  if (zstd) return;
  const d = new ZSTDDecoder();
  await d.init();
  zstd = d;
}

function decompress(codec: number, bytes: Uint8Array, size: number): Uint8Array {
  if (codec === UNCOMPRESSED) {
    if (bytes.length !== size) throw new ParquetUnsupported('page size mismatch');
    return bytes;
  }
  if (codec === ZSTD) {
    if (!zstd) throw new Error('internal: loadZstd() first');
    if (size === 0) return new Uint8Array(0);
    const out = zstd.decode(bytes, size);
    // zstddec does not report errors: a wrong length is a corrupt page
    if (out.length !== size) throw new ParquetUnsupported('a ZSTD page does not decompress');
    return out;
  }
  throw new ParquetUnsupported(`codec ${codec}`);
}

/** Whether a chunk's codec and encodings can be read here (`loadZstd` first for ZSTD). */
export function chunkSupported(c: ParquetChunk): boolean {
  return (
    (c.codec === UNCOMPRESSED || c.codec === ZSTD) &&
    c.encodings.every((e) => e === PLAIN || e === PLAIN_DICTIONARY || e === RLE || e === RLE_DICTIONARY)
  );
}

/**
 * A decoded column chunk. Byte arrays: when all its pages are dictionary-encoded, `index` gives
 * every row's dictionary entry (-1 for a null) and start/len are not set; else value i is
 * bytes[start[i], start[i] + len[i]) (a null has length 0). Integers: `values[i]`, NaN for a null.
 */
export interface DecodedChunk {
  rows: number;
  nulls: number;
  bytes: Uint8Array;
  start: Int32Array;
  len: Int32Array;
  index: Int32Array | undefined;
  /** Dictionary entries (byte arrays): entry e is bytes[dictStart[e], dictStart[e] + dictLen[e]). */
  dictStart: Int32Array | undefined;
  dictLen: Int32Array | undefined;
  /** Integers: where the last decode put them (`own`, or the target it was given). */
  values: Float64Array;
  /** The chunk's own buffer for integers. */
  own: Float64Array;
  /** Definition level of every row (1: a value, 0: null). */
  defs: Int32Array;
  /** Held for `index`. */
  indexBuffer: Int32Array;
}

/** Reused output arrays of `decodeChunk` (one set per column being read). */
export function chunkBuffers(): DecodedChunk {
  return {
    rows: 0,
    nulls: 0,
    bytes: new Uint8Array(0),
    start: new Int32Array(0),
    len: new Int32Array(0),
    index: undefined,
    dictStart: undefined,
    dictLen: undefined,
    values: new Float64Array(0),
    own: new Float64Array(0),
    defs: new Int32Array(0),
    indexBuffer: new Int32Array(0),
  };
}

/** How integers are turned into numbers: `unsigned` for UINT_*, `divide` for time units. */
export interface IntegerRead {
  unsigned: boolean;
  /** 1 (as stored), 1000 (microseconds to milliseconds, truncated). */
  divide: number;
}

/**
 * Decodes one column chunk of `rows` values from `file` (bytes of the file starting at
 * `fileOffset`) into `out` (arrays grown as needed and reused; integers into `target` if given).
 */
export function decodeChunk(
  file: Uint8Array,
  fileOffset: number,
  chunk: ParquetChunk,
  leaf: ParquetLeaf,
  rows: number,
  out: DecodedChunk,
  ints: IntegerRead = { unsigned: false, divide: 1 },
  /** Integers go here (`rows` of them) instead of the chunk's own buffer. */
  target?: Float64Array,
): DecodedChunk {
  if (leaf.repetition !== REQUIRED && leaf.repetition !== OPTIONAL)
    throw new ParquetUnsupported(`repeated column ${leaf.name}`);
  if (chunk.values !== rows) throw new ParquetUnsupported(`column ${leaf.name}: values ≠ rows`);
  const isBytes = leaf.type === BYTE_ARRAY;
  if (!isBytes && leaf.type !== INT32 && leaf.type !== INT64)
    throw new ParquetUnsupported(`column ${leaf.name} of physical type ${leaf.type}`);
  const optional = leaf.repetition === OPTIONAL;
  if (out.start.length < rows) {
    const cap = Math.max(rows, out.start.length * 2);
    out.start = new Int32Array(cap);
    out.len = new Int32Array(cap);
    out.own = new Float64Array(cap);
    out.defs = new Int32Array(cap);
  }
  out.values = target && target.length >= rows ? target : out.own;
  out.rows = rows;
  out.nulls = 0;
  out.index = undefined;
  out.dictStart = undefined;
  out.dictLen = undefined;
  const defs = out.defs;
  // Pages first (decompressed), then their values: byte arrays point into one buffer of all pages.
  const pages: Page[] = [];
  let p = chunk.start - fileOffset;
  const end = p + chunk.size;
  if (p < 0 || end > file.length)
    throw new ParquetUnsupported(`column ${leaf.name}: chunk outside the bytes read`);
  let seen = 0;
  let dict: DictionaryPage | undefined;
  while (seen < rows) {
    if (p >= end) throw new ParquetUnsupported(`column ${leaf.name}: pages end before its values`);
    const r = new ThriftReader(file.subarray(0, end), p);
    let h: ThriftStruct;
    try {
      h = r.struct();
    } catch (err) {
      throw new ParquetUnsupported(`column ${leaf.name}: a bad page header (${(err as Error).message})`);
    }
    p = r.pos;
    const type = num(h[1]);
    const usize = num(h[2]);
    const csize = num(h[3]);
    if (usize < 0 || csize < 0 || p + csize > end)
      throw new ParquetUnsupported(`column ${leaf.name}: bad page`);
    const raw = file.subarray(p, p + csize);
    p += csize;
    if (type === DICTIONARY_PAGE) {
      const dh = (h[7] ?? {}) as ThriftStruct;
      const enc = num(dh[2], PLAIN);
      if ((enc !== PLAIN && enc !== PLAIN_DICTIONARY) || dict || pages.length)
        throw new ParquetUnsupported(`column ${leaf.name}: dictionary page`);
      dict = { body: decompress(chunk.codec, raw, usize), entries: num(dh[1], 0) };
    } else if (type === DATA_PAGE) {
      const dh = (h[5] ?? {}) as ThriftStruct;
      const values = num(dh[1], 0);
      const body = decompress(chunk.codec, raw, usize);
      let q = 0;
      let nonNull = values;
      if (optional) {
        if (num(dh[3], RLE) !== RLE) throw new ParquetUnsupported(`column ${leaf.name}: level encoding`);
        if (body.length < 4) throw new ParquetUnsupported(`column ${leaf.name}: bad page`);
        const n = body[0]! | (body[1]! << 8) | (body[2]! << 16) | (body[3]! << 24);
        if (n < 0 || 4 + n > body.length) throw new ParquetUnsupported(`column ${leaf.name}: bad levels`);
        nonNull = definitionLevels(body, 4, 4 + n, defs, seen, values);
        q = 4 + n;
      }
      pages.push({ body: body.subarray(q), encoding: num(dh[2], PLAIN), defsEnd: seen + values, nonNull });
      seen += values;
    } else if (type === DATA_PAGE_V2) {
      const dh = (h[8] ?? {}) as ThriftStruct;
      const values = num(dh[1], 0);
      const repLen = num(dh[6], 0);
      const defLen = num(dh[5], 0);
      if (repLen !== 0 || defLen < 0 || defLen > raw.length)
        throw new ParquetUnsupported(`column ${leaf.name}: levels`);
      const nonNull = optional ? definitionLevels(raw, 0, defLen, defs, seen, values) : values;
      const compressed = dh[7] !== false;
      const rest = raw.subarray(defLen);
      const body = compressed ? decompress(chunk.codec, rest, usize - defLen) : rest;
      pages.push({ body, encoding: num(dh[4], PLAIN), defsEnd: seen + values, nonNull });
      seen += values;
    } else if (type !== 1) {
      throw new ParquetUnsupported(`column ${leaf.name}: page type ${type}`);
    }
  }
  if (seen !== rows) throw new ParquetUnsupported(`column ${leaf.name}: pages hold more values than rows`);
  if (!optional) defs.fill(1, 0, rows);
  if (isBytes) decodeByteValues(leaf, pages, dict, rows, defs, out);
  else decodeIntegers(leaf, pages, dict, defs, out, ints);
  return out;
}

/** A data page, decompressed: its values' bytes, their encoding, the row after its last, its values not null. */
type Page = { body: Uint8Array; encoding: number; defsEnd: number; nonNull: number };

/** A dictionary page, decompressed: PLAIN values, `entries` of them. */
type DictionaryPage = { body: Uint8Array; entries: number };

const isDictionary = (e: number) => e === PLAIN_DICTIONARY || e === RLE_DICTIONARY;

/** Byte-array pages: every page's bytes into one buffer, each row's place in it. */
function decodeByteValues(
  leaf: ParquetLeaf,
  pages: Page[],
  dict: DictionaryPage | undefined,
  rows: number,
  defs: Int32Array,
  out: DecodedChunk,
): void {
  let total = dict ? dict.body.length : 0;
  for (const pg of pages) total += pg.body.length;
  if (out.bytes.length < total) out.bytes = new Uint8Array(Math.max(total, out.bytes.length * 2));
  const bytes = out.bytes;
  let at = 0;
  let dictStart: Int32Array | undefined;
  let dictLen: Int32Array | undefined;
  if (dict) {
    bytes.set(dict.body, 0);
    dictStart = new Int32Array(dict.entries);
    dictLen = new Int32Array(dict.entries);
    const q = plainByteArrays(dict.body, 0, dict.entries, dictStart, dictLen, 0, 0);
    if (q < 0) throw new ParquetUnsupported(`column ${leaf.name}: bad dictionary`);
    at = dict.body.length;
  }
  const start = out.start;
  const len = out.len;
  // All pages dictionary-encoded: rows are given by `index` only (start and len left unset).
  const index = pages.every((pg) => isDictionary(pg.encoding)) ? indexBuffer(out, rows) : undefined;
  let row = 0;
  let nulls = 0;
  for (const pg of pages) {
    const body = pg.body;
    bytes.set(body, at);
    const n = pg.defsEnd - row;
    const nonNull = pg.nonNull;
    nulls += n - nonNull;
    if (isDictionary(pg.encoding)) {
      if (!dictStart || !dictLen)
        throw new ParquetUnsupported(`column ${leaf.name}: dictionary page missing`);
      const codes = dictionaryCodes(leaf, body, nonNull, dictStart.length);
      if (index) {
        if (nonNull === n) index.set(codes.subarray(0, n), row);
        else
          for (let i = row, c = 0; i < pg.defsEnd; i++)
            index[i] = defs[i] === 0 ? -1 : (codes[c++] as number);
      } else {
        for (let i = row, c = 0; i < pg.defsEnd; i++) {
          const e = defs[i] === 0 ? -1 : (codes[c++] as number);
          start[i] = e < 0 ? 0 : (dictStart[e] as number);
          len[i] = e < 0 ? 0 : (dictLen[e] as number);
        }
      }
    } else if (pg.encoding === PLAIN) {
      if (nonNull === n) {
        if (plainByteArrays(body, 0, n, start, len, row, at) < 0)
          throw new ParquetUnsupported(`column ${leaf.name}: page ends early`);
      } else {
        let q = 0;
        for (let i = row; i < pg.defsEnd; i++) {
          if (defs[i] === 0) {
            start[i] = 0;
            len[i] = 0;
            continue;
          }
          q = plainByteArrays(body, q, 1, start, len, i, at);
          if (q < 0) throw new ParquetUnsupported(`column ${leaf.name}: page ends early`);
        }
      }
    } else throw new ParquetUnsupported(`column ${leaf.name}: encoding ${pg.encoding}`);
    row = pg.defsEnd;
    at += body.length;
  }
  out.nulls = nulls;
  out.index = index;
  out.dictStart = dictStart;
  out.dictLen = dictLen;
}

/**
 * `count` PLAIN byte arrays (a 4-byte length, then the bytes) from body[q…] into start/len[row…]
 * (start offset by `base`); returns where they end, or -1 when the body ends first.
 */
function plainByteArrays(
  body: Uint8Array,
  q: number,
  count: number,
  start: Int32Array,
  len: Int32Array,
  row: number,
  base: number,
): number {
  const size = body.length;
  for (let i = row, e = row + count; i < e; i++) {
    if (q + 4 > size) return -1;
    const n = (body[q]! | (body[q + 1]! << 8) | (body[q + 2]! << 16) | (body[q + 3]! << 24)) >>> 0;
    q += 4;
    if (q + n > size) return -1;
    start[i] = base + q;
    len[i] = n;
    q += n;
  }
  return q;
}

/** Definition levels of 1 in defs[from, to). */
function countValues(defs: Int32Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += defs[i] as number;
  return n;
}

/** A page's `count` definition levels (one bit, hybrid) from buf[pos, end) into defs[at…]: how many are 1. */
function definitionLevels(
  buf: Uint8Array,
  pos: number,
  end: number,
  defs: Int32Array,
  at: number,
  count: number,
): number {
  const fast = hybridValues(buf, pos, end, 1, count);
  if (fast === null) throw new ParquetUnsupported('bad definition levels');
  if (fast) {
    defs.set(fast.values, at);
    return fast.sum;
  }
  decodeHybrid(buf, pos, end, 1, defs, at, count);
  return countValues(defs, at, at + count);
}

/** A dictionary-encoded page's `count` codes (a bit width byte, then the hybrid), each checked. */
function dictionaryCodes(leaf: ParquetLeaf, body: Uint8Array, count: number, entries: number): Int32Array {
  const codes = codeBuffer(count);
  if (count === 0) return codes;
  if (body.length < 1) throw new ParquetUnsupported(`column ${leaf.name}: bad page`);
  // in WebAssembly where it can (parquet-kernel.ts): the codes and their largest in one pass
  const fast = hybridValues(body, 1, body.length, body[0] as number, count);
  if (fast === null) throw new ParquetUnsupported(`column ${leaf.name}: bad dictionary codes`);
  if (fast) {
    if (fast.max >= entries)
      throw new ParquetUnsupported(`column ${leaf.name}: dictionary index out of range`);
    return fast.values;
  }
  decodeHybrid(body, 1, body.length, body[0] as number, codes, 0, count);
  let max = 0;
  for (let i = 0; i < count; i++) if ((codes[i] as number) > max) max = codes[i] as number;
  if (max >= entries) throw new ParquetUnsupported(`column ${leaf.name}: dictionary index out of range`);
  return codes;
}

/** Integer pages (INT32 / INT64) into numbers, NaN for a null. */
function decodeIntegers(
  leaf: ParquetLeaf,
  pages: Page[],
  dict: DictionaryPage | undefined,
  defs: Int32Array,
  out: DecodedChunk,
  ints: IntegerRead,
): void {
  const width = leaf.type === INT64 ? 8 : 4;
  let dictValues: Float64Array | undefined;
  if (dict) {
    if (dict.body.length < dict.entries * width)
      throw new ParquetUnsupported(`column ${leaf.name}: bad dictionary`);
    dictValues = new Float64Array(dict.entries);
    for (let e = 0; e < dict.entries; e++) dictValues[e] = integerAt(dict.body, e * width, width, ints);
  }
  const values = out.values;
  let row = 0;
  let nulls = 0;
  for (const pg of pages) {
    const body = pg.body;
    const n = pg.defsEnd - row;
    const nonNull = pg.nonNull;
    nulls += n - nonNull;
    if (isDictionary(pg.encoding)) {
      if (!dictValues) throw new ParquetUnsupported(`column ${leaf.name}: dictionary page missing`);
      const codes = dictionaryCodes(leaf, body, nonNull, dictValues.length);
      const looked = nonNull === n ? lookUpCodes(codes, dictValues, n) : undefined;
      if (looked) values.set(looked, row);
      else if (nonNull === n)
        for (let i = 0; i < n; i++) values[row + i] = dictValues[codes[i] as number] as number;
      else
        for (let i = row, c = 0; i < pg.defsEnd; i++)
          values[i] = defs[i] === 0 ? Number.NaN : (dictValues[codes[c++] as number] as number);
    } else if (pg.encoding === PLAIN) {
      if (body.length < nonNull * width) throw new ParquetUnsupported(`column ${leaf.name}: page ends early`);
      for (let i = row, q = 0; i < pg.defsEnd; i++) {
        if (defs[i] === 0) values[i] = Number.NaN;
        else {
          values[i] = integerAt(body, q, width, ints);
          q += width;
        }
      }
    } else throw new ParquetUnsupported(`column ${leaf.name}: encoding ${pg.encoding}`);
    row = pg.defsEnd;
  }
  out.nulls = nulls;
}

/** A little-endian integer of 4 or 8 bytes as a number (INT64 rounded once, as a cast to DOUBLE does). */
function integerAt(b: Uint8Array, q: number, width: number, ints: IntegerRead): number {
  const lo = (b[q]! | (b[q + 1]! << 8) | (b[q + 2]! << 16) | (b[q + 3]! << 24)) >>> 0;
  let v: number;
  if (width === 4) v = ints.unsigned ? lo : lo | 0;
  else {
    const hi = b[q + 4]! | (b[q + 5]! << 8) | (b[q + 6]! << 16) | (b[q + 7]! << 24);
    v = (ints.unsigned ? hi >>> 0 : hi) * 4294967296 + lo;
  }
  // truncated toward zero, exactly (v % d is exact for integers)
  return ints.divide === 1 ? v : (v - (v % ints.divide)) / ints.divide;
}

let codes = new Int32Array(1 << 16);
function codeBuffer(n: number): Int32Array {
  if (codes.length < n) codes = new Int32Array(Math.max(n, codes.length * 2));
  return codes;
}

function indexBuffer(out: DecodedChunk, rows: number): Int32Array {
  if (out.indexBuffer.length < rows)
    out.indexBuffer = new Int32Array(Math.max(rows, out.indexBuffer.length * 2));
  return out.indexBuffer;
}

/**
 * The RLE / bit-packed hybrid of `count` values of `bitWidth` bits from buf[pos, end) into
 * out[at…] (definition levels and dictionary indexes).
 */
export function decodeHybrid(
  buf: Uint8Array,
  pos: number,
  end: number,
  bitWidth: number,
  out: Int32Array,
  at: number,
  count: number,
): void {
  if (bitWidth > 32) throw new ParquetUnsupported(`bit width ${bitWidth}`);
  const stop = at + count;
  let o = at;
  let p = pos;
  const bytesPerValue = (bitWidth + 7) >> 3;
  const mask = bitWidth >= 31 ? 0 : (1 << bitWidth) - 1;
  while (o < stop) {
    if (p >= end) throw new ParquetUnsupported('RLE data ends early');
    // the run's header, a varint (runs of up to 2^27 values here: a page holds fewer)
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[p++] as number;
      header |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      if (shift >= 21 || p >= end) throw new ParquetUnsupported('bad RLE header');
    }
    if ((header & 1) === 0) {
      // a run: one value repeated
      const n = header >>> 1;
      if (p + bytesPerValue > end) throw new ParquetUnsupported('RLE data ends early');
      let v = 0;
      for (let k = 0; k < bytesPerValue; k++) v += (buf[p + k] as number) * 2 ** (8 * k);
      p += bytesPerValue;
      const to = Math.min(stop, o + n);
      out.fill(v, o, to);
      o = to;
    } else {
      // bit-packed groups of 8 values, least significant bit first
      const n = (header >>> 1) * 8;
      const take = Math.min(n, stop - o);
      // the last group may be cut short after the values needed
      if (p + Math.ceil((take * bitWidth) / 8) > end) throw new ParquetUnsupported('RLE data ends early');
      if (bitWidth <= 24) {
        // value k starts at bit k·w: the 4 bytes from its first hold it (w + 7 ≤ 31 bits), read
        // while they lie inside the data; the values left, byte by byte
        let k = 0;
        const fast = Math.min(take, Math.floor(((end - 4 - p) * 8) / bitWidth) + 1) | 0;
        for (let bit = 0; k < fast; k++, bit += bitWidth) {
          const b = p + (bit >>> 3);
          const word =
            (buf[b] as number) |
            ((buf[b + 1] as number) << 8) |
            ((buf[b + 2] as number) << 16) |
            ((buf[b + 3] as number) << 24);
          out[o++] = (word >>> (bit & 7)) & mask;
        }
        for (; k < take; k++) {
          const bit = k * bitWidth;
          let v = 0;
          for (let j = 0; j < bitWidth; j++) {
            const at = bit + j;
            v |= (((buf[p + (at >>> 3)] as number) >>> (at & 7)) & 1) << j;
          }
          out[o++] = v;
        }
      } else {
        let acc = 0;
        let bits = 0;
        let q = p;
        for (let k = 0; k < take; k++) {
          while (bits < bitWidth) {
            acc += (buf[q++] as number) * 2 ** bits;
            bits += 8;
          }
          out[o++] = acc % 2 ** bitWidth;
          acc = Math.floor(acc / 2 ** bitWidth);
          bits -= bitWidth;
        }
      }
      p += (n >>> 3) * bitWidth;
    }
  }
}
