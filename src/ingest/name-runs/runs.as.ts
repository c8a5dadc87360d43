/**
 * AssemblyScript (compiled to WebAssembly by scripts/build.mjs): the runs of equal names in a
 * slice of a PLAIN byte-array column (the direct stored-parts read's viewers, `keptRuns` in
 * presence-parts-direct.ts). For each row it compares the name with the row before; where a new
 * run starts it checks the name (not empty, not over `maxName` bytes, no NUL) and hashes it with
 * the interners' FNV-1a over the fold table's bytes. Rows are given as START / LEN entries into IN
 * (offsets plus `delta`); entry 0 may be the previous slice's last row, to go on with its run.
 *
 * Memory layout (byte offsets; the caller reads them from the exported globals):
 *   FOLD        256 bytes, byte → byte as names are hashed (the interner's fold table)
 *   START, LEN  MAX_ROWS entries each
 *   RUN_START   the rows where runs start (plus `rowBase`), RUN_HASH their names' hashes
 *   IN          IN_BYTES of names, then slack for the eight-byte compares
 */

export const MAX_ROWS: u32 = 1 << 16;
export const IN_BYTES: u32 = 8 << 20;

export const FOLD: u32 = 0;
export const START: u32 = 1024;
export const LEN: u32 = START + 4 * MAX_ROWS;
export const RUN_START: u32 = LEN + 4 * MAX_ROWS;
export const RUN_HASH: u32 = RUN_START + 4 * MAX_ROWS;
export const IN: u32 = RUN_HASH + 4 * MAX_ROWS;
export const END: u32 = IN + IN_BYTES + 64;

const FNV_PRIME: u32 = 0x01000193;

/** Bytes [a, a + len) and [b, b + len) are the same (eight at a time, the last word masked). */
@inline
function same(a: u32, b: u32, len: u32): bool {
  let j: u32 = 0;
  let diff: u64 = 0;
  for (; j + 8 <= len; j += 8) diff |= load<u64>(a + j) ^ load<u64>(b + j);
  if (j < len) diff |= (load<u64>(a + j) ^ load<u64>(b + j)) & ((<u64>1 << (<u64>(len - j) << 3)) - 1);
  return diff == 0;
}

/**
 * Runs of rows [first, n) (row first − 1, when first is 1, only to compare with): their count, or
 * -1 when a run's name is bad (a row to reject), -2 when a row lies outside [IN, IN + inLen).
 * Hashes start from `seed` (FNV_OFFSET, or the hash of a prefix the interned key has before the
 * name); with `emptyOk` an empty name is a run of its own kind (a missing Twitch id), not bad.
 */
export function runs(
  first: u32,
  n: u32,
  delta: i32,
  rowBase: i32,
  maxName: u32,
  seed: u32,
  emptyOk: bool,
  inLen: u32,
): i32 {
  let count: u32 = 0;
  // the bytes copied in: a row outside them is not laid out in order (a null's start, a dictionary)
  const lim = min(inLen, IN_BYTES);
  const limit = IN + lim;
  for (let i: u32 = 0; i < first; i++) {
    const s = <u32>(load<i32>(START + (i << 2)) + delta);
    const l = load<u32>(LEN + (i << 2));
    if (s < IN || l > lim || s > limit - l) return -2;
  }
  for (let i = first; i < n; i++) {
    const s = <u32>(load<i32>(START + (i << 2)) + delta);
    const l = load<u32>(LEN + (i << 2));
    if (s < IN || l > lim || s > limit - l) return -2;
    if (i > 0) {
      const pl = load<u32>(LEN + ((i - 1) << 2));
      if (l == pl && same(s, <u32>(load<i32>(START + ((i - 1) << 2)) + delta), l)) continue;
    }
    if (l > maxName || (l == 0 && !emptyOk)) return -1;
    let h: u32 = seed;
    for (let j = s, e = s + l; j < e; j++) {
      const c = <u32>load<u8>(j);
      if (c == 0) return -1;
      h = (h ^ <u32>load<u8>(FOLD + c)) * FNV_PRIME;
    }
    store<i32>(RUN_START + (count << 2), <i32>i + rowBase);
    store<u32>(RUN_HASH + (count << 2), h);
    count++;
  }
  return <i32>count;
}
