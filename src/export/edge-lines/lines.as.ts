// kernel memory: growable
/**
 * AssemblyScript (compiled to WebAssembly by scripts/build.mjs): the lines of the edge files —
 * atlas.gexf's `<edge …/>` lines (`writeGexfEdgeLines`) and edges.csv's rows (`writeEdgeCsvRows`)
 * — byte for byte as the JavaScript writers make them, from the edges' node ids, the nodes' text
 * (GEXF ids or CSV names) and the weights printed once (`formatNumbers`), all copied into this
 * module's memory. The caller hands out a window of output at a time and writes it to the file.
 *
 * Text is copied eight bytes at a time, reading and writing up to seven bytes past each piece: the
 * next piece overwrites them, and the caller leaves slack after every block it hands in.
 */
import { alloc } from '../../kernel-lib/heap.as-lib';

export { alloc, reset } from '../../kernel-lib/heap.as-lib';

// what `edges` set up (addresses in this memory)
let source: usize = 0; // u32 node per edge
let target: usize = 0;
let nodeBytes: usize = 0; // the nodes' text, back to back
let nodeStart: usize = 0; // u32[nodes + 1]
let weightBytes: usize = 0; // the printed weights, back to back
let weightStart: usize = 0; // u32[edges + 1]
let shared: usize = 0; // f64 per edge (CSV)
let pieces: usize = 0; // u32 offset + u32 length per piece, then the pieces' bytes

/** Bytes the last `gexfLines` / `csvLines` call wrote. */
export let written: u32 = 0;

export function edges(
  source_: usize,
  target_: usize,
  nodeBytes_: usize,
  nodeStart_: usize,
  weightBytes_: usize,
  weightStart_: usize,
  shared_: usize,
  pieces_: usize,
): void {
  source = source_;
  target = target_;
  nodeBytes = nodeBytes_;
  nodeStart = nodeStart_;
  weightBytes = weightBytes_;
  weightStart = weightStart_;
  shared = shared_;
  pieces = pieces_;
}

/** Copies [from, from + len) to `to`, eight bytes at a time (may touch seven bytes past both). */
@inline
function copy(to: usize, from: usize, len: u32): usize {
  for (let k: u32 = 0; k < len; k += 8) store<u64>(to + k, load<u64>(from + k));
  return to + len;
}

@inline
function piece(p: usize, k: u32): usize {
  const at = pieces + (<usize>k << 3);
  return copy(p, pieces + load<u32>(at), load<u32>(at + 4));
}

@inline
function node(p: usize, id: u32): usize {
  const s = load<u32>(nodeStart + (<usize>id << 2));
  return copy(p, nodeBytes + s, load<u32>(nodeStart + (<usize>(id + 1) << 2)) - s);
}

/**
 * GEXF edge lines of edges [from, to) into [out, outEnd) (pieces: the line's start, `" target="`,
 * `" weight="`, its close): `lineMax` bytes at most per line. Returns the edge it stopped at.
 */
export function gexfLines(from: u32, to: u32, out: usize, outEnd: usize, lineMax: u32): u32 {
  let p = out;
  let i = from;
  for (; i < to && p + lineMax <= outEnd; i++) {
    p = piece(p, 0);
    p = node(p, load<u32>(source + (<usize>i << 2)));
    p = piece(p, 1);
    p = node(p, load<u32>(target + (<usize>i << 2)));
    const w0 = load<u32>(weightStart + (<usize>i << 2));
    const w1 = load<u32>(weightStart + (<usize>(i + 1) << 2));
    if (w1 > w0) {
      p = piece(p, 2);
      p = copy(p, weightBytes + w0, w1 - w0);
    }
    p = piece(p, 3);
  }
  written = <u32>(p - out);
  return i;
}

/**
 * edges.csv rows of edges [from, to) into [out, outEnd): source, target, weight, then the shared
 * count (a whole number below 2^40 in plain digits). Stops at the first row whose count is not
 * one (the caller writes it), or that might not fit in `lineMax` bytes. Returns where it stopped.
 */
export function csvLines(from: u32, to: u32, out: usize, outEnd: usize, lineMax: u32): u32 {
  let p = out;
  let i = from;
  for (; i < to && p + lineMax <= outEnd; i++) {
    const n = load<f64>(shared + (<usize>i << 3));
    if (!(n >= 0 && n < 1099511627776.0 && Math.floor(n) == n)) break;
    p = node(p, load<u32>(source + (<usize>i << 2)));
    store<u8>(p++, 44);
    p = node(p, load<u32>(target + (<usize>i << 2)));
    store<u8>(p++, 44);
    const w0 = load<u32>(weightStart + (<usize>i << 2));
    p = copy(p, weightBytes + w0, load<u32>(weightStart + (<usize>(i + 1) << 2)) - w0);
    store<u8>(p++, 44);
    let v = <u64>n;
    let digits: u32 = 1;
    for (let t = v; t >= 10; t /= 10) digits++;
    let q = p + digits;
    p = q;
    do {
      store<u8>(--q, <u8>(48 + v % 10));
      v /= 10;
    } while (v > 0);
    store<u8>(p++, 10);
  }
  written = <u32>(p - out);
  return i;
}
