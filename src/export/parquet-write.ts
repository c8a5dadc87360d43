/**
 * A Parquet writer for column arrays of three kinds: UTF-8 strings given as indexes into a table
 * of names (required, or optional with `NULL_NAME` for null), optional doubles and optional
 * 32-bit integers (NaN and ±Infinity = null). Names are dictionary-encoded per row group (a PLAIN
 * dictionary page, then one RLE_DICTIONARY data page of RLE / bit-packed runs); doubles too, or
 * PLAIN; integers PLAIN. No compression, no statistics: what edges.parquet needs, written straight
 * from the graph's typed arrays, and the small tables of an analysis folder (channels,
 * communities, groups), so `analyze` needs no DuckDB for its exports.
 *
 * Why not a library: on the bench graph (1.66M edges) DuckDB converting edges.csv took 1.0 s of
 * CPU (0.5 s parsing the CSV, 0.5 s writing) and hyparquet-writer 1.5–3.0 s from arrays; this
 * takes 0.15–0.4 s on one thread.
 *
 * Format: https://parquet.apache.org/docs/file-format/ (Thrift compact protocol for the metadata,
 * data pages v1).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { ByteStrings } from './atomic.js';

/** Parquet physical types, repetitions, encodings and page types used here (parquet.thrift). */
const INT32 = 1;
const DOUBLE = 5;
const BYTE_ARRAY = 6;
const REQUIRED = 0;
const OPTIONAL = 1;
const UTF8 = 0;
const PLAIN = 0;
const RLE = 3;
const RLE_DICTIONARY = 8;
const DATA_PAGE = 0;
const DICTIONARY_PAGE = 2;

/** Thrift compact protocol type ids. */
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
const T_STRUCT = 12;

/** Rows per row group (DuckDB's default): readers scan row groups in parallel. */
export const PARQUET_ROW_GROUP = 122_880;

/** An index of a `names` column that is null (only where the column is `nullable`). */
export const NULL_NAME = 0xffffffff;

/** One column of a table: names (by index into `names`), optional doubles or optional integers. */
export type ParquetColumn =
  | {
      name: string;
      kind: 'names';
      names: readonly Uint8Array[];
      index: Uint32Array;
      /** Optional: an index of `NULL_NAME` is null. Default: required. */
      nullable?: boolean;
    }
  | {
      name: string;
      kind: 'doubles';
      values: Float64Array;
      /** Dictionary-encode (few distinct values) or write them PLAIN. */
      dictionary: boolean;
    }
  /** Signed 32-bit integers (NaN: null). */
  | { name: string; kind: 'ints'; values: Float64Array };

const physicalType = (c: ParquetColumn) =>
  c.kind === 'names' ? BYTE_ARRAY : c.kind === 'ints' ? INT32 : DOUBLE;
const required = (c: ParquetColumn) => c.kind === 'names' && !c.nullable;

/** Growable bytes with the Thrift compact protocol's primitives. */
class Bytes {
  buf = new Uint8Array(1 << 16);
  length = 0;
  private outer: number[] = [];
  private last = 0;

  ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const g = new Uint8Array(size);
    g.set(this.buf.subarray(0, this.length));
    this.buf = g;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** An unsigned LEB128 varint (exact below 2^53). */
  varint(n: number): void {
    this.ensure(10);
    let v = n;
    while (v >= 128) {
      this.buf[this.length++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  uint32LE(n: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.length;
    b[p] = n & 255;
    b[p + 1] = (n >>> 8) & 255;
    b[p + 2] = (n >>> 16) & 255;
    b[p + 3] = (n >>> 24) & 255;
    this.length += 4;
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  // A field header is (id delta << 4 | type) while the delta is 1 … 15, else the type and the id.
  private field(id: number, type: number): void {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.varint(zigzag(id));
    }
    this.last = id;
  }

  /** An i32 field (or i64 with `T_I64`): a zigzag varint. */
  int(id: number, value: number, type = T_I32): void {
    this.field(id, type);
    this.varint(zigzag(value));
  }

  long(id: number, value: number): void {
    this.int(id, value, T_I64);
  }

  string(id: number, s: string): void {
    this.field(id, T_BINARY);
    this.binary(s);
  }

  /** A string's bytes, length first (a binary field's value or list element). */
  binary(s: string): void {
    const b = encoder.encode(s);
    this.varint(b.length);
    this.bytes(b);
  }

  /** A struct field: `fill` writes its fields. */
  struct(id: number, fill: () => void): void {
    this.field(id, T_STRUCT);
    this.fields(fill);
  }

  /** A list field of `count` elements of `type`; `each` writes element i. */
  list(id: number, type: number, count: number, each: (i: number) => void): void {
    this.field(id, T_LIST);
    if (count < 15) this.byte((count << 4) | type);
    else {
      this.byte(0xf0 | type);
      this.varint(count);
    }
    for (let i = 0; i < count; i++) each(i);
  }

  /** A struct's fields (their ids count from 0 again), then its stop byte. */
  fields(fill: () => void): void {
    this.outer.push(this.last);
    this.last = 0;
    fill();
    this.byte(0);
    this.last = this.outer.pop() as number;
  }
}

const encoder = new TextEncoder();

function zigzag(n: number): number {
  return n >= 0 ? 2 * n : -2 * n - 1;
}

/** An optional column's definition levels (bit width 1) at the start of its data page, prefixed by their byte length. */
function definitionLevels(data: Bytes, levels: Int32Array, n: number): void {
  const lv = new Bytes();
  encodeHybrid(lv, levels, n, 1);
  data.uint32LE(lv.length);
  data.bytes(lv.view());
}

/** Equal values from this many on are an RLE run; fewer are bit-packed (one group's worth). */
const MIN_RUN = 8;

/**
 * values[0, n) in Parquet's RLE / bit-packed hybrid: runs of `MIN_RUN` or more equal values as
 * RLE runs, the rest bit-packed in groups of 8 (the last group padded with zeros). Values below
 * 2^24.
 */
function encodeHybrid(out: Bytes, values: Int32Array, n: number, bitWidth: number): void {
  const valueBytes = Math.ceil(bitWidth / 8);
  let i = 0;
  while (i < n) {
    let run = 1;
    while (i + run < n && values[i + run] === values[i]) run++;
    if (run >= MIN_RUN) {
      out.varint(run * 2);
      for (let k = 0, v = values[i] as number; k < valueBytes; k++, v >>>= 8) out.byte(v & 255);
      i += run;
      continue;
    }
    // Literals up to where a run starts on a group boundary (or the end), at most 63 groups (a
    // one-byte header). Not at i itself: no run starts there (the same MIN_RUN decided it).
    let end = i + 1;
    while (end < n && end - i < 8 * 63) {
      if ((end - i) % 8 === 0) {
        let r = 1;
        while (end + r < n && r < MIN_RUN && values[end + r] === values[end]) r++;
        if (r >= MIN_RUN) break;
      }
      end++;
    }
    const groups = Math.ceil((end - i) / 8);
    out.varint(groups * 2 + 1);
    out.ensure(groups * bitWidth);
    const buf = out.buf;
    let p = out.length;
    // least significant bits first; under 8 bits wait in acc, so with values below 2^24 acc
    // stays below 2^31 (a small integer to V8: no conversion, no deoptimisation)
    let acc = 0;
    let bits = 0;
    for (let k = 0; k < groups * 8; k++) {
      const v = i + k < end ? (values[i + k] as number) : 0;
      acc |= v << bits;
      bits += bitWidth;
      while (bits >= 8) {
        buf[p++] = acc & 255;
        acc >>>= 8;
        bits -= 8;
      }
    }
    out.length = p;
    i = end;
  }
}

interface ChunkMeta {
  type: number;
  /** -1: no dictionary page. */
  dictionaryOffset: number;
  dataOffset: number;
  size: number;
  values: number;
}

/**
 * A row group's dictionary codes of a names column: rows [from, from + n) of `index`, each name's
 * code in first-use order (`slot`: name → code, -1 before its first use) into `codes`, its PLAIN
 * bytes appended to `dict` at its first use, definition levels into `levels` when nullable.
 * Returns the entries and the codes written. (The row loops are functions of their
 * own so that V8 optimises them alone, not all of `writeParquet` once per loop it reaches.)
 */
function nameCodes(
  index: Uint32Array,
  from: number,
  n: number,
  nullable: boolean,
  plain: ByteStrings,
  slot: Int32Array,
  codes: Int32Array,
  levels: Int32Array,
  dict: Bytes,
): { entries: number; present: number } {
  const { bytes, start } = plain;
  let entries = 0;
  let present = 0;
  for (let r = 0; r < n; r++) {
    const id = index[from + r] as number;
    if (nullable) {
      levels[r] = id === NULL_NAME ? 0 : 1;
      if (id === NULL_NAME) continue;
    }
    let code = slot[id] as number;
    if (code < 0) {
      code = entries++;
      slot[id] = code;
      // the names are short: copied byte by byte
      const b = start[id] as number;
      const e = start[id + 1] as number;
      dict.ensure(e - b);
      const out = dict.buf;
      let q = dict.length;
      for (let k = b; k < e; k++) out[q++] = bytes[k] as number;
      dict.length = q;
    }
    codes[present++] = code;
  }
  return { entries, present };
}

/** Definition levels of values [from, from + n) into `levels` (NaN: null), the present values into `keys`; returns their count. */
function valueLevels(
  values: Float64Array,
  from: number,
  n: number,
  levels: Int32Array,
  keys: Float64Array,
): number {
  let present = 0;
  for (let r = 0; r < n; r++) {
    const v = values[from + r] as number;
    const level = Number.isFinite(v) ? 1 : 0;
    levels[r] = level;
    if (level) keys[present++] = v === 0 ? 0 : v;
  }
  return present;
}

/** Writes `rows` rows of `columns` to `path` (creating or replacing it). */
export function writeParquet(path: string, columns: readonly ParquetColumn[], rows: number): void {
  const fd = openSync(path, 'w');
  try {
    let offset = 0;
    const emit = (b: Uint8Array) => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
      offset += b.length;
    };
    emit(MAGIC);
    const most = Math.min(rows, PARQUET_ROW_GROUP);
    const slot = new Int32Array(
      Math.max(1, ...columns.map((c) => (c.kind === 'names' ? c.names.length : 0))),
    );
    const codes = new Int32Array(most);
    const levels = new Int32Array(most);
    const keys = new Float64Array(most);
    const table = doubleTable(2 * most);
    const plainNames = new Map<readonly Uint8Array[], ByteStrings>();
    const groups: { rows: number; chunks: ChunkMeta[] }[] = [];
    for (let from = 0; from < rows; from += PARQUET_ROW_GROUP) {
      const n = Math.min(PARQUET_ROW_GROUP, rows - from);
      const chunks: ChunkMeta[] = [];
      for (const c of columns) {
        const dict = new Bytes();
        const data = new Bytes();
        let entries = 0;
        let present = n;
        let dictionary = true;
        if (c.kind === 'names') {
          let plain = plainNames.get(c.names);
          if (!plain) {
            plain = plainEncoded(c.names);
            plainNames.set(c.names, plain);
          }
          slot.fill(-1);
          ({ entries, present } = nameCodes(
            c.index,
            from,
            n,
            c.nullable === true,
            plain,
            slot,
            codes,
            levels,
            dict,
          ));
          if (c.nullable) definitionLevels(data, levels, n);
        } else {
          dictionary = c.kind === 'doubles' && c.dictionary;
          present = valueLevels(c.values, from, n, levels, keys);
          definitionLevels(data, levels, n);
          if (c.kind === 'ints') {
            const ints = new Int32Array(present);
            for (let k = 0; k < present; k++) ints[k] = keys[k] as number;
            data.bytes(new Uint8Array(ints.buffer));
          }
          // little-endian doubles, as Parquet stores them (and as the platforms Node runs on are)
          else if (!dictionary) data.bytes(new Uint8Array(keys.buffer, 0, present * 8));
          else {
            entries = dictionaryCodes(keys, present, codes, table);
            dict.bytes(new Uint8Array(keys.buffer, 0, entries * 8));
          }
        }
        let dictionaryOffset = -1;
        if (dictionary) {
          // at most PARQUET_ROW_GROUP entries: 17 bits
          const bitWidth = Math.max(1, Math.ceil(Math.log2(Math.max(1, entries))));
          data.byte(bitWidth);
          encodeHybrid(data, codes, present, bitWidth);
          dictionaryOffset = offset;
          emit(pageHeader(DICTIONARY_PAGE, dict.length, entries, PLAIN));
          emit(dict.view());
        }
        const dataOffset = offset;
        emit(pageHeader(DATA_PAGE, data.length, n, dictionary ? RLE_DICTIONARY : PLAIN));
        emit(data.view());
        chunks.push({
          type: physicalType(c),
          dictionaryOffset,
          dataOffset,
          size: offset - (dictionary ? dictionaryOffset : dataOffset),
          values: n,
        });
      }
      groups.push({ rows: n, chunks });
    }
    const meta = fileMetadata(columns, rows, groups);
    emit(meta.view());
    const tail = new Bytes();
    tail.uint32LE(meta.length);
    tail.bytes(MAGIC);
    emit(tail.view());
  } finally {
    closeSync(fd);
  }
}

const MAGIC = encoder.encode('PAR1');

/** Open-addressing slots for `dictionaryCodes` (a power of two, at least `min`). */
function doubleTable(min: number) {
  let size = 1024;
  while (size < min) size *= 2;
  const key = new Float64Array(1);
  return { codes: new Int32Array(size), mask: size - 1, key, bits: new Int32Array(key.buffer) };
}

/**
 * Replaces keys[0, n) by their distinct values in first-seen order, writes each value's code
 * to `codes`, and returns how many distinct values there are. Hashes the values' bits (a Map
 * here cost more than all the rest of the file).
 */
function dictionaryCodes(
  keys: Float64Array,
  n: number,
  codes: Int32Array,
  t: ReturnType<typeof doubleTable>,
): number {
  const { codes: table, key, bits, mask } = t;
  table.fill(-1);
  let entries = 0;
  for (let r = 0; r < n; r++) {
    key[0] = keys[r] as number;
    let h = Math.imul((bits[0] as number) ^ Math.imul(bits[1] as number, 0x9e3779b1), 0x85ebca6b);
    h = (h ^ (h >>> 15)) & mask;
    let code = table[h] as number;
    while (code >= 0 && keys[code] !== key[0]) {
      h = (h + 1) & mask;
      code = table[h] as number;
    }
    if (code < 0) {
      // entries ≤ r: the slot written is one already read
      code = entries++;
      table[h] = code;
      keys[code] = key[0] as number;
    }
    codes[r] = code;
  }
  return entries;
}

/** Each name as a PLAIN BYTE_ARRAY value: its length (4 bytes, little-endian), then its bytes. */
function plainEncoded(names: readonly Uint8Array[]): ByteStrings {
  const start = new Uint32Array(names.length + 1);
  let longest = 0;
  for (let i = 0; i < names.length; i++) {
    const len = (names[i] as Uint8Array).length;
    start[i + 1] = (start[i] as number) + 4 + len;
    if (len > longest) longest = len;
  }
  const bytes = new Uint8Array(start[names.length] as number);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < names.length; i++) {
    const b = names[i] as Uint8Array;
    view.setUint32(start[i] as number, b.length, true);
    bytes.set(b, (start[i] as number) + 4);
  }
  return { bytes, start, longest };
}

function pageHeader(type: number, size: number, values: number, encoding: number): Uint8Array {
  const h = new Bytes();
  h.int(1, type);
  h.int(2, size);
  h.int(3, size);
  if (type === DATA_PAGE) {
    h.struct(5, () => {
      h.int(1, values);
      h.int(2, encoding);
      h.int(3, RLE);
      h.int(4, RLE);
    });
  } else {
    h.struct(7, () => {
      h.int(1, values);
      h.int(2, encoding);
    });
  }
  h.byte(0);
  return h.view().slice();
}

function fileMetadata(
  columns: readonly ParquetColumn[],
  rows: number,
  groups: { rows: number; chunks: ChunkMeta[] }[],
): Bytes {
  const m = new Bytes();
  m.int(1, 1);
  m.list(2, T_STRUCT, columns.length + 1, (i) =>
    m.fields(() => {
      if (i === 0) {
        m.string(4, 'schema');
        m.int(5, columns.length);
        return;
      }
      const c = columns[i - 1] as ParquetColumn;
      m.int(1, physicalType(c));
      m.int(3, required(c) ? REQUIRED : OPTIONAL);
      m.string(4, c.name);
      if (c.kind === 'names') {
        m.int(6, UTF8);
        // LogicalType { STRING: StringType {} }
        m.struct(10, () => m.struct(1, () => {}));
      }
    }),
  );
  m.long(3, rows);
  m.list(4, T_STRUCT, groups.length, (g) =>
    m.fields(() => {
      const group = groups[g] as { rows: number; chunks: ChunkMeta[] };
      m.list(1, T_STRUCT, group.chunks.length, (k) =>
        m.fields(() => {
          const ch = group.chunks[k] as ChunkMeta;
          m.long(2, ch.dictionaryOffset >= 0 ? ch.dictionaryOffset : ch.dataOffset);
          m.struct(3, () => {
            const encodings = ch.dictionaryOffset >= 0 ? [PLAIN, RLE, RLE_DICTIONARY] : [PLAIN, RLE];
            m.int(1, ch.type);
            m.list(2, T_I32, encodings.length, (e) => m.varint(zigzag(encodings[e] as number)));
            m.list(3, T_BINARY, 1, () => m.binary((columns[k] as ParquetColumn).name));
            m.int(4, 0);
            m.long(5, ch.values);
            m.long(6, ch.size);
            m.long(7, ch.size);
            m.long(9, ch.dataOffset);
            if (ch.dictionaryOffset >= 0) m.long(11, ch.dictionaryOffset);
          });
        }),
      );
      m.long(
        2,
        group.chunks.reduce((s, ch) => s + ch.size, 0),
      );
      m.long(3, group.rows);
    }),
  );
  m.string(6, 'ViewerAtlas');
  m.byte(0);
  return m;
}
