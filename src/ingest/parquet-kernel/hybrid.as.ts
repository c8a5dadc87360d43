/**
 * AssemblyScript (compiled to WebAssembly by scripts/build.mjs): the RLE / bit-packed hybrid of
 * Parquet (definition levels and dictionary codes, `decodeHybrid` in parquet-format.ts) decoded
 * into 32-bit values, with their largest value and their sum, and dictionary codes turned into
 * the dictionary's numbers — the stored-parts read's hottest loops on its numbers' thread, one
 * unaligned load per bit-packed value and no bounds checks.
 *
 * Memory layout (byte offsets; the caller reads them from the exported globals):
 *   RESULT      the last decode's largest value (u32) and sum (f64, exact below 2^53)
 *   IN          IN_BYTES of encoded data, then slack for the eight-byte loads past its end
 *   VALUES      MAX_VALUES u32 decoded values
 *   DICT        MAX_DICT f64 dictionary numbers
 *   OUT         MAX_VALUES f64 numbers looked up
 */

export const MAX_VALUES: u32 = 1 << 18;
export const IN_BYTES: u32 = 2 << 20;
export const MAX_DICT: u32 = 1 << 17;

export const RESULT: u32 = 0;
export const IN: u32 = 64;
export const VALUES: u32 = IN + IN_BYTES + 64;
export const DICT: u32 = VALUES + 4 * MAX_VALUES;
export const OUT: u32 = DICT + 8 * MAX_DICT;
export const END: u32 = OUT + 8 * MAX_VALUES;

/**
 * `count` values of `bitWidth` bits (≤ 32) from IN[pos, end) into VALUES: 0, or -1 when the data
 * ends before them or a run header is bad. The largest value and the sum go to RESULT.
 */
export function hybrid(pos: u32, end: u32, bitWidth: u32, count: u32): i32 {
  if (bitWidth > 32 || end > IN_BYTES || count > MAX_VALUES) return -1;
  const e = IN + end;
  let p = IN + pos;
  let o: u32 = 0;
  const bytesPerValue = (bitWidth + 7) >> 3;
  const mask: u64 = (<u64>1 << <u64>bitWidth) - 1;
  let max: u32 = 0;
  let sum: f64 = 0;
  while (o < count) {
    if (p >= e) return -1;
    // the run's header, a varint (at most four bytes: runs of up to 2^27 values)
    let header: u32 = 0;
    for (let shift: u32 = 0; ; shift += 7) {
      const b = <u32>load<u8>(p++);
      header |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      if (shift >= 21 || p >= e) return -1;
    }
    if ((header & 1) == 0) {
      // a run: one value repeated
      const n = header >> 1;
      if (p + bytesPerValue > e) return -1;
      let v: u32 = 0;
      for (let k: u32 = 0; k < bytesPerValue; k++) v |= <u32>load<u8>(p + k) << (k << 3);
      p += bytesPerValue;
      const to = min(count, o + n);
      if (to > o) {
        if (v > max) max = v;
        sum += <f64>v * <f64>(to - o);
      }
      for (; o < to; o++) store<u32>(VALUES + (o << 2), v);
    } else {
      // bit-packed groups of 8 values, least significant bit first
      const groups = header >> 1;
      const take = min(groups << 3, count - o);
      if (<u64>p + ((<u64>take * <u64>bitWidth + 7) >> 3) > <u64>e) return -1;
      let bit: u64 = 0;
      for (let k: u32 = 0; k < take; k++, bit += <u64>bitWidth) {
        const v = <u32>((load<u64>(p + <u32>(bit >> 3)) >> (bit & 7)) & mask);
        if (v > max) max = v;
        sum += <f64>v;
        store<u32>(VALUES + ((o + k) << 2), v);
      }
      o += take;
      // past the end only when no value is left to read (the next run would fail on it)
      p = <u32>min(<u64>p + <u64>groups * <u64>bitWidth, <u64>e);
    }
  }
  store<u32>(RESULT, max);
  store<f64>(RESULT + 8, sum);
  return 0;
}

/** OUT[i] = DICT[VALUES[i]] for i < count (codes checked below the dictionary's size first). */
export function lookUp(count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const c = load<u32>(VALUES + (i << 2));
    store<f64>(OUT + (i << 3), load<f64>(DICT + (c << 3)));
  }
}
