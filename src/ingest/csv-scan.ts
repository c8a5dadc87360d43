/**
 * A byte-level CSV scanner (RFC 4180 quoting, `\n` or `\r\n`, UTF-8 BOM skipped) over large
 * buffers read straight from the file. Fields are handed to the sink as byte ranges, so the hot
 * path never builds a JS string per field: that is what lets 16M-row files import in seconds.
 */
import { open } from 'node:fs/promises';

/** Receives the header once, then every non-empty record as byte ranges into `buf`. */
export interface CsvSink {
  header(fields: string[], line: number): void;
  /** `starts[i]..ends[i]` are field i's bytes (quotes removed, `""` unescaped); `count` may exceed the arrays' length. */
  row(buf: Uint8Array, starts: Int32Array, ends: Int32Array, count: number, line: number): void;
  /** An optional fast path for quote-free bytes, read once the header is seen. */
  readonly plain?: PlainRecords;
}

/**
 * A sink's fast path: `rows` consumes the complete records of buf[pos, end) it can handle on its
 * own (one line each, in order; never one with a quote, which only the scanner reads right) and
 * returns where it stopped, having set `count` to the records
 * consumed; the scanner hands the record there to `row` (or waits for more bytes) and then
 * offers the rest again.
 */
export interface PlainRecords {
  rows(buf: Uint8Array, pos: number, end: number): number;
  readonly count: number;
}

/** Options for `scanCsv`. */
export interface CsvScanOptions {
  /** Bytes read per system call. */
  chunkBytes?: number;
  /** Called after every chunk with bytes consumed and file size. */
  onBytes?: (done: number, total: number) => void;
  /** Sees every chunk of raw bytes read (e.g. to hash the file while scanning). */
  onChunk?: (bytes: Uint8Array) => void;
  /** Byte offset to start at (a record start); with `headerless` for all but the first range. */
  start?: number;
  /** Byte offset to stop at (exclusive; a record start or the file size). */
  end?: number;
  /** The range has no header row: every record goes to `row`. */
  headerless?: boolean;
  /** Awaited after each chunk's records (e.g. to hand a batch of rows on and bound memory). */
  afterChunk?: () => Promise<void> | void;
}

export const CSV_SCAN_DEFAULTS = { chunkBytes: 8 * 1024 * 1024 };

/** The most fields a record may carry that the sink sees (extra ones are counted, not kept). */
export const MAX_FIELDS = 64;

const NL = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

const decoder = new TextDecoder('utf-8');

/** Decodes a field's bytes to a string (slow path: headers, error messages, rare values). */
export function fieldString(buf: Uint8Array, start: number, end: number): string {
  return decoder.decode(buf.subarray(start, end));
}

/** Scans `path`; returns the number of physical lines seen and bytes read. */
export async function scanCsv(
  path: string,
  sink: CsvSink,
  options: CsvScanOptions = {},
): Promise<{ lines: number; bytes: number }> {
  const chunkBytes = options.chunkBytes ?? CSV_SCAN_DEFAULTS.chunkBytes;
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const rangeStart = options.start ?? 0;
    const total = Math.min(size, options.end ?? size);
    let buf = new Uint8Array(chunkBytes);
    let filled = 0;
    let fileOffset = rangeStart;
    let first = rangeStart === 0;
    const state = newScanState(options.headerless ?? false);

    for (;;) {
      if (filled === buf.length) {
        // A single record longer than the buffer: grow.
        const g = new Uint8Array(buf.length * 2);
        g.set(buf);
        buf = g;
      }
      const want = Math.min(buf.length - filled, total - fileOffset);
      const { bytesRead } = want > 0 ? await fh.read(buf, filled, want, fileOffset) : { bytesRead: 0 };
      if (bytesRead > 0) options.onChunk?.(buf.subarray(filled, filled + bytesRead));
      fileOffset += bytesRead;
      filled += bytesRead;
      const eof = bytesRead === 0;
      let pos = 0;
      if (first && filled >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      if (first && (filled >= 3 || eof)) first = false;

      const scanned = scanRecords(buf, pos, filled, eof, state, sink);
      pos = scanned;
      options.onBytes?.(fileOffset - (filled - pos), total);
      if (options.afterChunk) await options.afterChunk();
      if (eof) break;
      // Keep the unfinished record for the next read.
      if (pos > 0) {
        buf.copyWithin(0, pos, filled);
        filled -= pos;
      }
    }
    return { lines: state.line - 1, bytes: fileOffset - rangeStart };
  } finally {
    await fh.close();
  }
}

/** What `scanRecords` carries from one buffer to the next. */
interface ScanState {
  /** Physical line number (within the range) of the next record's first line. */
  line: number;
  headerSeen: boolean;
  starts: Int32Array;
  ends: Int32Array;
  /** Fields that held a doubled quote, to unescape once their record is complete. */
  escaped: Int32Array;
}

function newScanState(headerSeen: boolean): ScanState {
  return {
    line: 1,
    headerSeen,
    starts: new Int32Array(MAX_FIELDS),
    ends: new Int32Array(MAX_FIELDS),
    escaped: new Int32Array(MAX_FIELDS),
  };
}

/**
 * The records in buf[pos..filled) to the sink; returns where the first unfinished record starts
 * (`filled` when none is). Synchronous and apart from `scanCsv`: an async function keeps its
 * locals in a heap context, which made this loop about twice as slow.
 */
function scanRecords(
  buf: Uint8Array,
  pos: number,
  filled: number,
  eof: boolean,
  state: ScanState,
  sink: CsvSink,
): number {
  const { starts, ends, escaped } = state;
  let line = state.line;
  let headerSeen = state.headerSeen;
  let nEscaped = 0;
  // Up to the next quote, records take the quote-free path: a loop without quoting state (most
  // files hold no quote at all). A record that reaches the quote, or the end of the bytes read,
  // is scanned again by the full loop below.
  let quoteAt = -2;
  // The sink's own fast path, dropped when it keeps declining records (e.g. a file it cannot read).
  let plain = headerSeen ? sink.plain : undefined;
  let declined = 0;
  // Where the fast path last declined the record at hand (-1: it did not).
  let declinedAt = -1;
  while (pos < filled) {
    // The sink's fast path declines records with a quote itself: it needs no search for one.
    if (plain) {
      const to = plain.rows(buf, pos, filled);
      const n = plain.count;
      line += n;
      pos = to;
      declinedAt = n === 0 ? pos : -1;
      if (pos >= filled) break;
    }
    if (quoteAt < pos && quoteAt !== -1) {
      const q = buf.subarray(pos, filled).indexOf(QUOTE);
      quoteAt = q < 0 ? -1 : pos + q;
    }
    const plainEnd = quoteAt < 0 ? filled : quoteAt;
    if (pos < plainEnd) {
      let i = pos;
      let nf = 0;
      let fieldStart = pos;
      let complete = false;
      while (i < plainEnd) {
        const c = buf[i] as number;
        if (c > COMMA) {
          i++;
          continue;
        }
        if (c === COMMA) {
          if (nf < MAX_FIELDS) {
            starts[nf] = fieldStart;
            ends[nf] = i;
          }
          nf++;
          fieldStart = ++i;
          continue;
        }
        if (c === NL) {
          if (nf < MAX_FIELDS) {
            starts[nf] = fieldStart;
            ends[nf] = i > fieldStart && buf[i - 1] === CR ? i - 1 : i;
          }
          nf++;
          i++;
          complete = true;
          break;
        }
        i++;
      }
      if (complete) {
        // A record the fast path should have read (quoted ones it must leave to the full loop):
        // when that keeps happening, the file is not for it.
        if (declinedAt === pos && ++declined > 256) plain = undefined;
        const recLine = line++;
        pos = i;
        if (nf === 1 && ends[0] === starts[0]) continue; // a blank line is not a record
        if (headerSeen) sink.row(buf, starts, ends, nf, recLine);
        else {
          headerSeen = true;
          sink.header(fieldNames(buf, starts, ends, nf), recLine);
          plain = sink.plain;
        }
        continue;
      }
    }
    const recStart = pos;
    let i = pos;
    let nf = 0;
    let fieldStart = i;
    let inQuotes = false;
    let quotedField = false;
    let fieldHasEscape = false;
    let newlinesInside = 0;
    let complete = false;
    nEscaped = 0;
    while (i < filled) {
      const c = buf[i] as number;
      // Letters, digits and most punctuation sort above ',' (44): the common case is one compare.
      if (c > COMMA) {
        i++;
        continue;
      }
      if (inQuotes) {
        if (c === QUOTE) {
          if (i + 1 < filled && buf[i + 1] === QUOTE) {
            fieldHasEscape = true;
            i += 2;
            continue;
          }
          if (i + 1 >= filled && !eof) break; // cannot tell "" from " yet
          inQuotes = false;
        } else if (c === NL) newlinesInside++;
        i++;
        continue;
      }
      if (c === COMMA || c === NL) {
        let fs = fieldStart;
        let fe = i;
        if (c === NL && fe > fs && buf[fe - 1] === CR) fe--;
        if (quotedField) {
          // Content sits between the opening quote and the last quote before the separator.
          fs++;
          let q = fe - 1;
          while (q > fs && buf[q] !== QUOTE) q--;
          fe = q;
          if (fieldHasEscape && nf < MAX_FIELDS) escaped[nEscaped++] = nf;
        }
        if (nf < MAX_FIELDS) {
          starts[nf] = fs;
          ends[nf] = fe;
        }
        nf++;
        i++;
        fieldStart = i;
        quotedField = false;
        fieldHasEscape = false;
        if (c === NL) {
          complete = true;
          break;
        }
        continue;
      }
      if (c === QUOTE && i === fieldStart) {
        inQuotes = true;
        quotedField = true;
      }
      i++;
    }
    if (!complete) {
      if (!eof) break; // need more bytes
      if (inQuotes || fieldStart < filled || nf > 0) {
        // Last record without a trailing newline (or with an unclosed quote).
        let fs = fieldStart;
        let fe = filled;
        if (fe > fs && buf[fe - 1] === CR) fe--;
        if (quotedField) {
          fs++;
          let q = fe - 1;
          while (q >= fs && buf[q] !== QUOTE) q--;
          fe = q >= fs ? q : fe;
          if (fieldHasEscape && nf < MAX_FIELDS) escaped[nEscaped++] = nf;
        }
        if (nf < MAX_FIELDS) {
          starts[nf] = fs;
          ends[nf] = fe;
        }
        nf++;
      }
      i = filled;
    }
    for (let k = 0; k < nEscaped; k++) {
      const f = escaped[k] as number;
      ends[f] = unescapeInPlace(buf, starts[f] as number, ends[f] as number);
    }
    const recLine = line;
    line += 1 + newlinesInside;
    if (!complete) line--; // no newline ended it
    pos = i;
    // A blank line is not a record.
    if (nf === 1 && ends[0] === starts[0] && !quotedFieldAt(buf, recStart)) continue;
    if (headerSeen) sink.row(buf, starts, ends, nf, recLine);
    else {
      headerSeen = true;
      sink.header(fieldNames(buf, starts, ends, nf), recLine);
      plain = sink.plain;
    }
  }
  state.line = line;
  state.headerSeen = headerSeen;
  return pos;
}

function fieldNames(buf: Uint8Array, starts: Int32Array, ends: Int32Array, nf: number): string[] {
  const names: string[] = [];
  for (let f = 0; f < Math.min(nf, MAX_FIELDS); f++)
    names.push(fieldString(buf, starts[f] as number, ends[f] as number));
  return names;
}

function quotedFieldAt(buf: Uint8Array, at: number): boolean {
  return buf[at] === QUOTE;
}

/** Turns `""` into `"` inside [start, end); returns the new end. */
function unescapeInPlace(buf: Uint8Array, start: number, end: number): number {
  let w = start;
  for (let r = start; r < end; r++) {
    const c = buf[r] as number;
    buf[w++] = c;
    if (c === QUOTE && buf[r + 1] === QUOTE) r++;
  }
  return w;
}

/** An interner's names as bytes (see `ByteInterner.exportNames`). */
export interface ExportedNames {
  arena: Uint8Array;
  offs: Uint32Array;
  lens: Uint32Array;
  size: number;
}

/** Names hashed (and their slots read) at a time when one interner's names merge into another. */
const MERGE_BATCH = 32;
/** Int32 slots of an interner's table entry (see `ByteInterner.probe`). */
const SLOT = 4;

/** FNV-1a, the interners' hash: h = imul(h ^ byte, FNV_PRIME) from FNV_OFFSET. */
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;
/** `FNV_OFFSET` as the signed 32-bit integer the inlined hash loops keep (a double there costs a conversion per byte). */
export const FNV_OFFSET_I32 = FNV_OFFSET | 0;

/** buf[a, a + len) and buf[b, b + len) hold the same bytes. */
export function sameBytes(buf: Uint8Array, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (buf[a + k] !== buf[b + k]) return false;
  return true;
}

/**
 * FNV-1a of bytes [start, end) of `buf` mapped by `fold`, as a signed 32-bit integer: the hash
 * `ByteInterner.internHashed` takes, with `fold` its `foldTable`.
 */
export function fnv(fold: Uint8Array, buf: Uint8Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (fold[buf[i] as number] as number), FNV_PRIME);
  return h | 0;
}

const IDENTITY = Uint8Array.from({ length: 256 }, (_, i) => i);
const LOWER = Uint8Array.from({ length: 256 }, (_, i) => (i >= 65 && i <= 90 ? i | 32 : i));

/**
 * Interns byte strings to dense ids (ASCII letters lower-cased) with an open-addressing hash
 * table over one byte arena: no JS string per row, one string per distinct name at the end.
 */
export class ByteInterner {
  private arena = new Uint8Array(1 << 16);
  private arenaLen = 0;
  private offs = new Uint32Array(1 << 10);
  private lens = new Uint32Array(1 << 10);
  /** SLOT ints per slot: hash, id + 1 (0: empty), the name's arena offset and length. */
  private table = new Int32Array(SLOT << 12);
  private mask = (1 << 12) - 1;
  private last = -1;
  /** The hash of `last`. */
  private lastHash = 0;
  /** Distinct names so far. */
  size = 0;
  private scratch = new Uint8Array(256);
  private readonly lower: boolean;
  /** Byte → byte as stored (ASCII lower-casing or identity). */
  private readonly fold: Uint8Array;
  private hasSeparator = false;
  /** Where `touchSlots` leaves its reads, so they are not optimised away. */
  private touched = 0;

  constructor(options: { lowerCase?: boolean } = {}) {
    this.lower = options.lowerCase ?? true;
    this.fold = this.lower ? LOWER : IDENTITY;
  }

  /** The id of bytes [start, end) of `buf`. */
  intern(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    // Sorted inputs repeat the previous name row after row: compare with it before hashing.
    const last = this.last;
    if (last >= 0 && this.lens[last] === len && this.equals(last, buf, start, len)) return last;
    return this.probe(buf, start, len, fnv(this.fold, buf, start, end));
  }

  /**
   * `intern` for callers that hashed the bytes while scanning them: `h` must be FNV-1a
   * (`FNV_OFFSET`, `FNV_PRIME`) over the bytes mapped by `foldTable`, as a signed 32-bit integer.
   */
  internHashed(buf: Uint8Array, start: number, end: number, h: number): number {
    const len = end - start;
    const last = this.last;
    if (h === this.lastHash && last >= 0 && this.lens[last] === len && this.equals(last, buf, start, len))
      return last;
    return this.probe(buf, start, len, h);
  }

  /** Byte → byte as names are stored and hashed (see `internHashed`). */
  get foldTable(): Uint8Array {
    return this.fold;
  }

  private probe(buf: Uint8Array, start: number, len: number, h: number): number {
    // A slot holds the hash, the id, and where the name is: one cache line for the slot and one
    // for the name's bytes answer a probe (the table and the names are far bigger than the caches).
    const table = this.table;
    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const at = SLOT * slot;
      const idp = table[at + 1] as number;
      if (idp === 0) break;
      if (table[at] === h && table[at + 3] === len && this.sameAt(table[at + 2] as number, buf, start, len)) {
        this.last = idp - 1;
        this.lastHash = h;
        return idp - 1;
      }
      slot = (slot + 1) & mask;
    }
    const id = this.insert(buf, start, len, h, slot);
    this.last = id;
    this.lastHash = h;
    return id;
  }

  /** The id of a JS string already interned, or -1 (a look-up: nothing is added). */
  find(s: string): number {
    if (s.length * 3 > this.scratch.length) this.scratch = new Uint8Array(s.length * 3 + 16);
    const len = textEncoder.encodeInto(s, this.scratch).written ?? 0;
    return this.lookUp(this.scratch, 0, len);
  }

  /** The id of bytes [start, start + len) of `buf` when interned, else -1. */
  private lookUp(buf: Uint8Array, start: number, len: number): number {
    const h = fnv(this.fold, buf, start, start + len);
    const table = this.table;
    const mask = this.mask;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const at = SLOT * slot;
      const idp = table[at + 1] as number;
      if (idp === 0) return -1;
      if (table[at] === h && table[at + 3] === len && this.sameAt(table[at + 2] as number, buf, start, len))
        return idp - 1;
    }
  }

  /** The id of a JS string (slow path for JSON and Parquet readers). */
  internString(s: string): number {
    if (s.length * 3 > this.scratch.length) this.scratch = new Uint8Array(s.length * 3 + 16);
    const n = textEncoder.encodeInto(s, this.scratch).written ?? 0;
    return this.intern(this.scratch, 0, n);
  }

  /** Name `id` starts with byte `b`. */
  startsWith(id: number, b: number): boolean {
    return (this.lens[id] as number) > 0 && this.arena[this.offs[id] as number] === b;
  }

  /** The id here of name `id` of `other` (compared as this interner folds), or -1: a look-up. */
  findName(other: ByteInterner, id: number): number {
    return this.lookUp(other.arena, other.offs[id] as number, other.lens[id] as number);
  }

  /** Name `id` is bytes [start, end) of `buf` (as interned: folded). */
  sameName(id: number, buf: Uint8Array, start: number, end: number): boolean {
    return this.lens[id] === end - start && this.equals(id, buf, start, end - start);
  }

  private equals(id: number, buf: Uint8Array, start: number, len: number): boolean {
    return this.sameAt(this.offs[id] as number, buf, start, len);
  }

  /** The stored bytes at arena offset `o` are buf[start, start + len) folded. */
  private sameAt(o: number, buf: Uint8Array, start: number, len: number): boolean {
    const a = this.arena;
    const fold = this.fold;
    for (let k = 0; k < len; k++) if (a[o + k] !== fold[buf[start + k] as number]) return false;
    return true;
  }

  private insert(buf: Uint8Array, start: number, len: number, h: number, slot: number): number {
    const id = this.size++;
    if (id >= this.offs.length) {
      const cap = this.offs.length * 2;
      this.offs = grow32(this.offs, cap);
      this.lens = grow32(this.lens, cap);
    }
    // Names are stored NUL-separated so all of them decode in one call.
    if (this.arenaLen + len + 1 > this.arena.length) {
      const g = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len + 1));
      g.set(this.arena.subarray(0, this.arenaLen));
      this.arena = g;
    }
    const o = this.arenaLen;
    const arena = this.arena;
    const fold = this.fold;
    let min = 255;
    for (let k = 0; k < len; k++) {
      const c = fold[buf[start + k] as number] as number;
      if (c < min) min = c;
      arena[o + k] = c;
    }
    if (min === 0 && len > 0) this.hasSeparator = true;
    arena[o + len] = 0;
    this.arenaLen += len + 1;
    this.offs[id] = o;
    this.lens[id] = len;
    const at = SLOT * slot;
    this.table[at] = h;
    this.table[at + 1] = id + 1;
    this.table[at + 2] = o;
    this.table[at + 3] = len;
    if (this.size * 3 > this.mask * 2) this.rehash();
    return id;
  }

  /**
   * Sizes the table for `names` distinct names (load ≤ 2/3), so a big read does not rehash its
   * way up from a few thousand slots (each doubling re-inserts every name).
   */
  reserve(names: number): void {
    if (names * 3 > this.mask * 2) {
      let slots = (this.mask + 1) * 2;
      while (names * 3 > (slots - 1) * 2) slots *= 2;
      this.rehash(slots);
    }
    if (names > this.offs.length) {
      this.offs = grow32(this.offs, names);
      this.lens = grow32(this.lens, names);
    }
  }

  private rehash(slots = (this.mask + 1) * 2): void {
    const mask = slots - 1;
    const old = this.table;
    const table = writtenInt32(SLOT * slots);
    for (let s = 0; s <= this.mask; s++) {
      const from = SLOT * s;
      if ((old[from + 1] as number) === 0) continue;
      const h = old[from] as number;
      let slot = h & mask;
      while ((table[SLOT * slot + 1] as number) !== 0) slot = (slot + 1) & mask;
      // by hand: a subarray and a set per entry made a rehash of 32k names take 0.25 s
      const to = SLOT * slot;
      for (let k = 0; k < SLOT; k++) table[to + k] = old[from + k] as number;
    }
    this.table = table;
    this.mask = mask;
  }

  /**
   * Forgets the names of ids `size` and up (a read that is done again another way): the table
   * is built again from the names kept.
   */
  rollback(size: number): void {
    if (size >= this.size) return;
    this.size = Math.max(0, size);
    this.arenaLen =
      this.size > 0 ? (this.offs[this.size - 1] as number) + (this.lens[this.size - 1] as number) + 1 : 0;
    this.last = -1;
    this.lastHash = 0;
    const table = this.table;
    table.fill(0);
    const mask = this.mask;
    for (let id = 0; id < this.size; id++) {
      const o = this.offs[id] as number;
      const len = this.lens[id] as number;
      const h = fnv(this.fold, this.arena, o, o + len);
      let slot = h & mask;
      while ((table[SLOT * slot + 1] as number) !== 0) slot = (slot + 1) & mask;
      const at = SLOT * slot;
      table[at] = h;
      table[at + 1] = id + 1;
      table[at + 2] = o;
      table[at + 3] = len;
    }
  }

  /** The raw name bytes (already case-folded), e.g. to send to another thread. */
  exportNames(): ExportedNames {
    return {
      arena: this.arena.slice(0, this.arenaLen),
      offs: this.offs.slice(0, this.size),
      lens: this.lens.slice(0, this.size),
      size: this.size,
    };
  }

  /** Interns every name of another interner's export; returns its id → id here. */
  internExported(x: ExportedNames): Uint32Array {
    const map = new Uint32Array(x.size);
    const { arena, offs, lens } = x;
    const hashes = new Int32Array(MERGE_BATCH);
    for (let b = 0; b < x.size; b += MERGE_BATCH) {
      const end = Math.min(x.size, b + MERGE_BATCH);
      // Hash a batch and read each one's first slot before probing any (`touchSlots`).
      for (let i = b; i < end; i++) {
        const o = offs[i] as number;
        hashes[i - b] = fnv(this.fold, arena, o, o + (lens[i] as number));
      }
      this.touchSlots(hashes, end - b);
      for (let i = b; i < end; i++) {
        const o = offs[i] as number;
        map[i] = this.probe(arena, o, lens[i] as number, hashes[i - b] as number);
      }
    }
    return map;
  }

  /**
   * Reads the first table slot of each of `hashes[0..n)`, before they are looked up one by one:
   * the table is far bigger than the caches, and reads with nothing in between that depends on
   * them are in flight together (their cache and TLB misses overlap instead of queueing). Merging
   * 1M names into a 2M-name table took half the time.
   */
  touchSlots(hashes: Int32Array, n: number): void {
    const table = this.table;
    const mask = this.mask;
    const arena = this.arena;
    let touch = this.touched;
    // the slot, then the name's first bytes (runs of one name, as in sorted files, once)
    let previous = 0;
    for (let i = 0; i < n; i++) {
      const h = hashes[i] as number;
      if (h === previous && i > 0) continue;
      previous = h;
      touch ^= arena[table[SLOT * (h & mask) + 2] as number] as number;
    }
    this.touched = touch;
  }

  /** The name of every id, in id order. */
  names(): string[] {
    if (this.size === 0) return [];
    if (!this.hasSeparator) {
      const all = decoder.decode(this.arena.subarray(0, this.arenaLen - 1));
      const parts = all.split('\0');
      if (parts.length === this.size) return parts;
    }
    const out: string[] = new Array(this.size);
    for (let id = 0; id < this.size; id++) {
      const o = this.offs[id] as number;
      out[id] = decoder.decode(this.arena.subarray(o, o + (this.lens[id] as number)));
    }
    return out;
  }
}

const textEncoder = new TextEncoder();

/**
 * A zeroed Int32Array whose pages are written once now. A fresh page that is read before it is
 * written (an empty slot probed) is first mapped to the kernel's shared zero page, and the first
 * write then faults again and flushes that mapping from every core's TLB: with a second thread
 * running, an inter-processor interrupt per page, which in this VM cost more than the fault
 * itself (perf: ~0.3 s of CPU in the bench's two-thread read of 16M rows went to those flushes,
 * nearly all from the viewer table's probes and rehash).
 */
function writtenInt32(length: number): Int32Array<ArrayBuffer> {
  const a = new Int32Array(length);
  for (let i = 0; i < length; i += 1024) a[i] = 0;
  return a;
}

function grow32(a: Uint32Array, cap: number): Uint32Array<ArrayBuffer> {
  const g = new Uint32Array(cap);
  g.set(a);
  return g;
}

/** Parses an unsigned decimal integer from bytes; -1 when the bytes are not one. */
export function parseUint(buf: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = (buf[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function digits(buf: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = (buf[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Epoch ms from timestamp bytes without making a string: epoch seconds or ms (by magnitude), or
 * ISO-8601 `YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH:MM]` (no zone = UTC). NaN when it needs the slow
 * path (the caller then tries `parseTimestamp` on the string).
 */
export function parseTimestampBytes(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len <= 0) return Number.NaN;
  const c0 = buf[start] as number;
  if (len >= 10 && buf[start + 4] === 45 && buf[start + 7] === 45) {
    const y = digits(buf, start, 4);
    const mo = digits(buf, start + 5, 2);
    const d = digits(buf, start + 8, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31) return Number.NaN;
    let ms = daysFromCivil(y, mo, d) * 86_400_000;
    if (len === 10) return ms;
    const sep = buf[start + 10];
    if ((sep !== 84 && sep !== 32) || len < 16 || buf[start + 13] !== 58) return Number.NaN;
    const hh = digits(buf, start + 11, 2);
    const mi = digits(buf, start + 14, 2);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59) return Number.NaN;
    ms += hh * 3_600_000 + mi * 60_000;
    let i = start + 16;
    if (i < end && buf[i] === 58) {
      const ss = digits(buf, i + 1, 2);
      if (ss < 0 || ss > 60 || i + 3 > end) return Number.NaN;
      ms += ss * 1000;
      i += 3;
      if (i < end && buf[i] === 46) {
        i++;
        let scale = 100;
        let frac = 0;
        while (i < end) {
          const dd = (buf[i] as number) - 48;
          if (dd < 0 || dd > 9) break;
          frac += dd * scale;
          scale /= 10;
          i++;
        }
        ms += Math.floor(frac);
      }
    }
    if (i === end) return ms;
    const z = buf[i] as number;
    if ((z === 90 || z === 122) && i + 1 === end) return ms;
    if (z === 43 || z === 45) {
      const oh = digits(buf, i + 1, 2);
      const om = buf[i + 3] === 58 ? digits(buf, i + 4, 2) : digits(buf, i + 3, 2);
      const used = buf[i + 3] === 58 ? 6 : 5;
      if (oh < 0 || om < 0 || i + used !== end) return Number.NaN;
      const off = (oh * 60 + om) * 60_000;
      return z === 43 ? ms - off : ms + off;
    }
    return Number.NaN;
  }
  if ((c0 >= 48 && c0 <= 57) || c0 === 45) {
    // Epoch number, possibly with a fraction.
    let v = 0;
    let i = start;
    const neg = c0 === 45;
    if (neg) i++;
    let any = false;
    while (i < end) {
      const d = (buf[i] as number) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      any = true;
      i++;
    }
    if (i < end && buf[i] === 46) {
      i++;
      let scale = 0.1;
      while (i < end) {
        const d = (buf[i] as number) - 48;
        if (d < 0 || d > 9) return Number.NaN;
        v += d * scale;
        scale /= 10;
        i++;
      }
    }
    if (!any || i !== end) return Number.NaN;
    if (neg) v = -v;
    return Math.abs(v) < 1e11 ? Math.round(v * 1000) : Math.round(v);
  }
  return Number.NaN;
}
