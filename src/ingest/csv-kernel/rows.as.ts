/**
 * AssemblyScript (compiled to WebAssembly by scripts/build.mjs, not by esbuild or tsc): the CSV
 * fast path's record loop for the contract's layouts, `channel,viewer,ts` and
 * `channel,viewer,ts,source,messages`, over bytes the caller copied into this module's memory.
 *
 * Per record it finds the fields, hashes both names (FNV-1a over the bytes mapped by the fold
 * table, as `ByteInterner.internHashed` takes it), checks them, parses the instant (epoch digits
 * or ISO-8601, as `parseTimestampBytes` reads them) and the
 * count, and looks each name up in a direct-mapped cache of names the caller interned before:
 * a hit gives the interner's id, a miss is listed for the caller to intern (`settle` then files
 * the ids). It stops at the first record it does not take whole — a quote, a CR, a NUL, an empty
 * or over-long name, an instant in another form (a fractional epoch), a value out of range, an unknown source —
 * and leaves that record to the JavaScript paths, which read it or reject it with its reason.
 * So the same rows come out, and the interner stays the one owner of ids.
 *
 * Names are compared and copied into the caches 16 bytes at a time and the instant's digits read 8
 * at a time (SIMD and SWAR; `--enable simd` in scripts/build.mjs): on the first 64 MB of the bench
 * file, scanned alone, 57–59 → 51–57 ns a record, and the two-thread read of the whole file
 * 1.19–1.24 → 1.09–1.19 s (runs alternating with the byte-at-a-time kernel, same rows).
 *
 * Memory layout (byte offsets; the caller reads them from the exported globals):
 *   FOLD       256 bytes, byte → byte as names are hashed (the interner's fold table)
 *   OUT_*      MAX_RECORDS entries each: channel / viewer start, length, hash, id; count; instant;
 *              source code (PRESENCE_SOURCES index; 2, import, when the field is empty or absent)
 *   MISS_*     records whose channel / viewer missed the cache, and those viewers' hashes
 *   CACHE_*    CACHE_SLOTS slots of SLOT_BYTES: hash, length, id, then the name's bytes
 *   IN         IN_BYTES of input; records must end with '\n' inside it
 */

export const MAX_RECORDS: u32 = 4096;
export const CACHE_SLOTS: u32 = 1 << 16;
const SLOT_BYTES: u32 = 64;
/** Longest name a cache slot holds; longer ones always miss (and are interned by the caller). */
export const SLOT_NAME: u32 = SLOT_BYTES - 12;
export const IN_BYTES: u32 = 4 << 20;

export const FOLD: u32 = 0;
export const OUT_CS: u32 = 1024;
export const OUT_CL: u32 = OUT_CS + 4 * MAX_RECORDS;
export const OUT_CH: u32 = OUT_CL + 4 * MAX_RECORDS;
export const OUT_CID: u32 = OUT_CH + 4 * MAX_RECORDS;
export const OUT_VS: u32 = OUT_CID + 4 * MAX_RECORDS;
export const OUT_VL: u32 = OUT_VS + 4 * MAX_RECORDS;
export const OUT_VH: u32 = OUT_VL + 4 * MAX_RECORDS;
export const OUT_VID: u32 = OUT_VH + 4 * MAX_RECORDS;
export const OUT_M: u32 = OUT_VID + 4 * MAX_RECORDS;
export const OUT_TS: u32 = OUT_M + 4 * MAX_RECORDS;
export const OUT_SRC: u32 = OUT_TS + 8 * MAX_RECORDS;
export const MISS_C: u32 = OUT_SRC + MAX_RECORDS;
export const MISS_V: u32 = MISS_C + 4 * MAX_RECORDS;
export const MISS_VH: u32 = MISS_V + 4 * MAX_RECORDS;
export const CACHE_C: u32 = MISS_VH + 4 * MAX_RECORDS;
export const CACHE_V: u32 = CACHE_C + SLOT_BYTES * CACHE_SLOTS;
export const IN: u32 = CACHE_V + SLOT_BYTES * CACHE_SLOTS;
export const END: u32 = IN + IN_BYTES + 64;

const FNV_OFFSET: u32 = 0x811c9dc5;
const FNV_PRIME: u32 = 0x01000193;
const NL: u32 = 10;
const CR: u32 = 13;
const QUOTE: u32 = 34;
const COMMA: u32 = 44;
/** A cache slot's id before the caller interned its name: -(record + 2). */
const PENDING: i32 = -2;

/** Where the last `scan` stopped (an offset into memory: the first record it did not take). */
export let stoppedAt: u32 = 0;
/** Records of the last `scan` outside the window (read, counted, not output). */
export let outside: u32 = 0;
export let channelMisses: u32 = 0;
export let viewerMisses: u32 = 0;

let fields: u32 = 5;
let maxName: u32 = 256;
let minTs: f64 = 0;
let maxTs: f64 = 0;
let maxMessages: u64 = 0;
let windowed: bool = false;
let windowStart: f64 = 0;
let windowEnd: f64 = 0;

/** The read's settings; empties the caches (ids belong to one reader's interners). */
export function configure(
  nFields: u32,
  nameBytes: u32,
  earliest: f64,
  latest: f64,
  mostMessages: u32,
  hasStart: bool,
  start: f64,
  hasEnd: bool,
  end: f64,
): void {
  fields = nFields;
  maxName = nameBytes;
  minTs = earliest;
  maxTs = latest;
  maxMessages = mostMessages;
  windowed = hasStart || hasEnd;
  windowStart = hasStart ? start : -Infinity;
  windowEnd = hasEnd ? end : Infinity;
  memory.fill(CACHE_C, 0, IN - CACHE_C);
}

@inline
function isNameStop(c: u32): bool {
  return c <= COMMA && (c == COMMA || c == NL || c == CR || c == QUOTE || c == 0);
}

/**
 * The cached id of the name at [start, start + len) with hash h, or -1 (a miss: the slot now
 * waits for record k's id). Names longer than SLOT_NAME are never cached.
 */
@inline
function lookUp(cache: u32, start: u32, len: u32, h: u32, k: u32): i32 {
  if (len > SLOT_NAME) return -1;
  const slot = cache + (h & (CACHE_SLOTS - 1)) * SLOT_BYTES;
  if (load<u32>(slot) == h && load<u32>(slot, 4) == len && sameName(slot + 12, start, len)) return load<i32>(slot, 8);
  store<u32>(slot, h);
  store<u32>(slot, len, 4);
  store<i32>(slot, PENDING - <i32>k, 8);
  copyName(slot + 12, start, len);
  return -1;
}

/** Whether the `len` bytes at a and b are the same, compared 16 at a time. */
@inline
function sameName(a: u32, b: u32, len: u32): bool {
  let k: u32 = 0;
  while (k + 16 <= len) {
    if (i8x16.bitmask(i8x16.eq(v128.load(a + k), v128.load(b + k))) != 0xffff) return false;
    k += 16;
  }
  if (k == len) return true;
  const want: u32 = (1 << (len - k)) - 1;
  return (i8x16.bitmask(i8x16.eq(v128.load(a + k), v128.load(b + k))) & want) == want;
}

/** A name into a cache slot: 16 bytes at a time within the slot's SLOT_NAME bytes. */
@inline
function copyName(to: u32, from: u32, len: u32): void {
  if (len > SLOT_NAME - 4) {
    memory.copy(to, from, len);
    return;
  }
  for (let k: u32 = 0; k < len; k += 16) v128.store(to + k, v128.load(from + k));
}

/**
 * Reads records from p up to `end` (exclusive; records end with '\n' before it), at most
 * MAX_RECORDS kept; returns how many were kept. `stoppedAt` is where it stopped.
 */
export function scan(p: u32, end: u32): u32 {
  let n: u32 = 0;
  let out: u32 = 0;
  let cm: u32 = 0;
  let vm: u32 = 0;
  const five = fields == 5;
  while (n < MAX_RECORDS && p < end) {
    let i = p;
    let c: u32 = 0;
    let h: u32 = FNV_OFFSET;
    for (;;) {
      c = load<u8>(i);
      if (isNameStop(c)) break;
      h = (h ^ <u32>load<u8>(FOLD + c)) * FNV_PRIME;
      i++;
    }
    if (c != COMMA || i == p || i - p > maxName) break;
    const cs = p;
    const cl = i - p;
    const ch = h;
    const vs = ++i;
    h = FNV_OFFSET;
    for (;;) {
      c = load<u8>(i);
      if (isNameStop(c)) break;
      h = (h ^ <u32>load<u8>(FOLD + c)) * FNV_PRIME;
      i++;
    }
    if (c != COMMA || i == vs || i - vs > maxName) break;
    const vl = i - vs;
    const vh = h;
    const s = ++i;
    // the instant's digits found and read 16 bytes / 8 digits at a time
    const nd = digitsAfter(s);
    i = s + nd;
    c = load<u8>(i);
    const v: u64 = nd > 0 && nd <= 15 ? digitValue(s, nd) : 0;
    const stop = five ? COMMA : NL;
    let ts: f64 = 0;
    if (c == stop && i > s && i - s <= 15) {
      ts = <f64>v;
      if (ts < 1e11) ts *= 1000;
    } else {
      // ISO-8601 (`parseTimestampBytes`' rules), else the record is the caller's
      while (c != COMMA && c != NL && c != CR && c != QUOTE) c = load<u8>(++i);
      if (c != stop) break;
      ts = isoMs(s, i);
      if (isNaN(ts)) break;
    }
    if (ts < minTs || ts > maxTs) break;
    i++;
    let m: u32 = 1;
    let src: u32 = 2;
    if (five) {
      const s0 = i;
      for (;;) {
        c = load<u8>(i);
        if (c == COMMA || c == NL || c == CR || c == QUOTE) break;
        i++;
      }
      if (c != COMMA) break;
      if (i > s0) {
        src = sourceCode(s0, i - s0);
        if (src > 2) break;
      }
      const m0 = ++i;
      let mv: u64 = 0;
      for (;;) {
        c = load<u8>(i);
        const d = c - 48;
        if (d > 9) break;
        mv = mv * 10 + d;
        i++;
      }
      if (c != NL) break;
      if (i > m0) {
        if (i - m0 > 15 || mv > maxMessages) break;
        m = <u32>mv;
      }
      i++;
    }
    p = i;
    if (windowed && (ts < windowStart || ts >= windowEnd)) {
      out++;
      continue;
    }
    const k = n << 2;
    store<u32>(OUT_CS + k, cs);
    store<u32>(OUT_CL + k, cl);
    store<u32>(OUT_CH + k, ch);
    store<u32>(OUT_VS + k, vs);
    store<u32>(OUT_VL + k, vl);
    store<u32>(OUT_VH + k, vh);
    store<u32>(OUT_M + k, m);
    store<f64>(OUT_TS + (n << 3), ts);
    store<u8>(OUT_SRC + n, <u8>src);
    const cid = lookUp(CACHE_C, cs, cl, ch, n);
    store<i32>(OUT_CID + k, cid);
    if (cid == -1) {
      store<u32>(MISS_C + (cm << 2), n);
      cm++;
    }
    const vid = lookUp(CACHE_V, vs, vl, vh, n);
    store<i32>(OUT_VID + k, vid);
    if (vid == -1) {
      store<u32>(MISS_V + (vm << 2), n);
      store<u32>(MISS_VH + (vm << 2), vh);
      vm++;
    }
    n++;
  }
  stoppedAt = p;
  outside = out;
  channelMisses = cm;
  viewerMisses = vm;
  return n;
}

/** Decimal digits from `at` (up to 16: more read as 16 and go to the ISO branch). */
@inline
function digitsAfter(at: u32): u32 {
  const b = v128.load(at);
  const bits = i8x16.bitmask(i8x16.gt_u(i8x16.sub(b, i8x16.splat(<i8>48)), i8x16.splat(<i8>9)));
  return bits == 0 ? 16 : ctz(bits);
}

/** Eight ASCII digits (first the most significant) in a little-endian word, as a number. */
@inline
function eightDigits(w: u64): u64 {
  w -= 0x3030303030303030;
  w = w * 10 + (w >> 8);
  return (((w & 0x000000ff000000ff) * (100 + (1000000 << 32))) + (((w >> 16) & 0x000000ff000000ff) * (1 + (10000 << 32)))) >> 32;
}

/**
 * The `n` digits (1..15, checked by the caller) at `at` as a number. Past 8, the first n - 8 are
 * read as a word that ends where the last 8 begin, its bytes before `at` taken as '0'; fewer than
 * 8 (no instant in range has them) by `digitsAt`.
 */
@inline
function digitValue(at: u32, n: u32): u64 {
  if (n < 8) return <u64>digitsAt(at, n);
  const lo = eightDigits(load<u64>(at + n - 8));
  if (n == 8) return lo;
  const w = load<u64>(at + n - 16);
  const pad: u64 = (<u64>1 << (<u64>(16 - n) << 3)) - 1;
  return eightDigits((w & ~pad) | (0x3030303030303030 & pad)) * 100000000 + lo;
}

/** `n` decimal digits at `at` as a number, or -1 (`digits` in csv-scan.ts). */
@inline
function digitsAt(at: u32, n: u32): f64 {
  let v: f64 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const d = <i32>load<u8>(at + k) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + <f64>d;
  }
  return v;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (`daysFromCivil` in csv-scan.ts). */
function daysFromCivil(y0: f64, m: f64, d: f64): f64 {
  const y = y0 - (m <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Epoch ms of ISO-8601 bytes [s, e): `YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH:MM]` (no zone = UTC),
 * exactly as `parseTimestampBytes` reads them (its ISO branch), or NaN. It may read past e (as
 * that function reads past its end): the bytes there are the record's own, up to its '\n'.
 */
function isoMs(s: u32, e: u32): f64 {
  const len = e - s;
  if (len < 10 || load<u8>(s + 4) != 45 || load<u8>(s + 7) != 45) return NaN;
  const y = digitsAt(s, 4);
  const mo = digitsAt(s + 5, 2);
  const d = digitsAt(s + 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31) return NaN;
  let ms = daysFromCivil(y, mo, d) * 86_400_000;
  if (len == 10) return ms;
  const sep = load<u8>(s + 10);
  if ((sep != 84 && sep != 32) || len < 16 || load<u8>(s + 13) != 58) return NaN;
  const hh = digitsAt(s + 11, 2);
  const mi = digitsAt(s + 14, 2);
  if (hh < 0 || hh > 23 || mi < 0 || mi > 59) return NaN;
  ms += hh * 3_600_000 + mi * 60_000;
  let i = s + 16;
  if (i < e && load<u8>(i) == 58) {
    const ss = digitsAt(i + 1, 2);
    if (ss < 0 || ss > 60 || i + 3 > e) return NaN;
    ms += ss * 1000;
    i += 3;
    if (i < e && load<u8>(i) == 46) {
      i++;
      let scale: f64 = 100;
      let frac: f64 = 0;
      while (i < e) {
        const dd = <i32>load<u8>(i) - 48;
        if (dd < 0 || dd > 9) break;
        frac += <f64>dd * scale;
        scale /= 10;
        i++;
      }
      ms += Math.floor(frac);
    }
  }
  if (i == e) return ms;
  const z = load<u8>(i);
  if ((z == 90 || z == 122) && i + 1 == e) return ms;
  if (z == 43 || z == 45) {
    const colon = load<u8>(i + 3) == 58;
    const oh = digitsAt(i + 1, 2);
    const om = colon ? digitsAt(i + 4, 2) : digitsAt(i + 3, 2);
    const used: u32 = colon ? 6 : 5;
    if (oh < 0 || om < 0 || i + used != e) return NaN;
    const off = (oh * 60 + om) * 60_000;
    return z == 43 ? ms - off : ms + off;
  }
  return NaN;
}

/** 0, 1, 2 for "live", "vod", "import" in any case (as `sourceCodeBytes`), 255 for another source. */
@inline
function sourceCode(s: u32, len: u32): u32 {
  if (len == 4)
    return (load<u8>(s) | 32) == 108 &&
      (load<u8>(s, 1) | 32) == 105 &&
      (load<u8>(s, 2) | 32) == 118 &&
      (load<u8>(s, 3) | 32) == 101
      ? 0
      : 255;
  if (len == 3)
    return (load<u8>(s) | 32) == 118 && (load<u8>(s, 1) | 32) == 111 && (load<u8>(s, 2) | 32) == 100 ? 1 : 255;
  if (len == 6)
    return (load<u8>(s) | 32) == 105 &&
      (load<u8>(s, 1) | 32) == 109 &&
      (load<u8>(s, 2) | 32) == 112 &&
      (load<u8>(s, 3) | 32) == 111 &&
      (load<u8>(s, 4) | 32) == 114 &&
      (load<u8>(s, 5) | 32) == 116
      ? 2
      : 255;
  return 255;
}

/**
 * After the caller wrote the interned ids of the last scan's misses into OUT_CID / OUT_VID: the
 * cache slots that waited for them get them, and every record that hit a waiting slot takes the
 * id of the record it waited for (an earlier one, so settled before it).
 */
export function settle(n: u32): void {
  settleSide(OUT_CH, OUT_CID, MISS_C, channelMisses, CACHE_C, n);
  settleSide(OUT_VH, OUT_VID, MISS_V, viewerMisses, CACHE_V, n);
}

@inline
function settleSide(hashes: u32, ids: u32, misses: u32, nMisses: u32, cache: u32, n: u32): void {
  for (let j: u32 = 0; j < nMisses; j++) {
    const k = load<u32>(misses + (j << 2));
    const slot = cache + (load<u32>(hashes + (k << 2)) & (CACHE_SLOTS - 1)) * SLOT_BYTES;
    // still waiting for this record (a later miss of this scan may have taken the slot since)
    if (load<i32>(slot, 8) == PENDING - <i32>k) store<i32>(slot, load<i32>(ids + (k << 2)), 8);
  }
  for (let k: u32 = 0; k < n; k++) {
    const id = load<i32>(ids + (k << 2));
    if (id <= PENDING) store<i32>(ids + (k << 2), load<i32>(ids + (<u32>(PENDING - id) << 2)));
  }
}
