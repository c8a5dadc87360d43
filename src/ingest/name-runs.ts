/**
 * The direct stored-parts read's viewer runs in WebAssembly (`name-runs/runs.as.ts`): the rows of
 * a PLAIN byte-array column where a new name starts, with the names' hashes and checks, as
 * `keptRuns` finds them — one pass over the bytes without V8's bounds checks. Slices of up to
 * MAX_ROWS rows (and IN_BYTES of names) are copied into the kernel's memory; each slice after the
 * first carries the row before it, so a run goes on across slices.
 */

import { kernelGlobal, kernelModule } from '../wasm-kernels.js';
import { FNV_OFFSET_I32 } from './csv-scan.js';

interface RunsExports {
  memory: WebAssembly.Memory;
  runs(
    first: number,
    n: number,
    delta: number,
    rowBase: number,
    maxName: number,
    seed: number,
    emptyOk: number,
    inLen: number,
  ): number;
}

class RunsKernel {
  readonly x: RunsExports;
  readonly mem: Uint8Array;
  readonly start: Int32Array;
  readonly len: Int32Array;
  readonly runStart: Int32Array;
  readonly runHash: Int32Array;
  readonly inAt: number;
  readonly inBytes: number;
  readonly maxRows: number;
  private readonly foldAt: number;
  private fold: Uint8Array | undefined;

  constructor(mod: WebAssembly.Module) {
    const exports = new WebAssembly.Instance(mod, {}).exports;
    this.x = exports as unknown as RunsExports;
    const at = (name: string) => kernelGlobal(exports, name);
    const buffer = this.x.memory.buffer;
    if (at('END') > buffer.byteLength)
      throw new Error('internal: name-runs kernel memory smaller than its layout');
    this.mem = new Uint8Array(buffer);
    this.maxRows = at('MAX_ROWS');
    this.start = new Int32Array(buffer, at('START'), this.maxRows);
    this.len = new Int32Array(buffer, at('LEN'), this.maxRows);
    this.runStart = new Int32Array(buffer, at('RUN_START'), this.maxRows);
    this.runHash = new Int32Array(buffer, at('RUN_HASH'), this.maxRows);
    this.inAt = at('IN');
    this.inBytes = at('IN_BYTES');
    this.foldAt = at('FOLD');
  }

  useFold(fold: Uint8Array): void {
    if (this.fold === fold) return;
    this.mem.set(fold, this.foldAt);
    this.fold = fold;
  }
}

/**
 * How runs are hashed and checked: FNV-1a from `seed` (the interners' offset, or their hash of a
 * prefix the key has in front of the name: a Twitch id's tag byte); with `emptyOk` an empty name
 * (a missing Twitch id) starts a run like any other rather than being bad.
 */
export interface RunOptions {
  seed: number;
  emptyOk: boolean;
}

/** Logins: hashed as the interners hash them, an empty one bad. */
export const PLAIN_RUNS: RunOptions = { seed: FNV_OFFSET_I32, emptyOk: false };

let kernel: RunsKernel | null | undefined;
/** Tests turn the kernel off to check `keptRuns`' own loop gives the same. */
let enabled = true;

export function useNameRunsKernel(on: boolean): void {
  enabled = on;
}

/**
 * The runs of rows [0, n) of `bytes` (row i at start[i], len[i] bytes; starts ascending), as
 * `keptRuns` gives them into `runStart` / `runHash` (then `runStart[count] = n`): their count, -1
 * when a name is bad, or undefined when the kernel is missing or off, or the rows are not laid
 * out in order (the caller's own loop then answers).
 */
export function nameRuns(
  bytes: Uint8Array,
  start: Int32Array,
  len: Int32Array,
  n: number,
  fold: Uint8Array,
  maxName: number,
  runStart: Int32Array,
  runHash: Int32Array,
  /** Hashes from this seed; empty names allowed (see `RunOptions`). */
  o: RunOptions = PLAIN_RUNS,
): number | undefined {
  if (!enabled) return undefined;
  if (kernel === undefined) {
    const mod = kernelModule('ingest/name-runs/runs');
    kernel = mod ? new RunsKernel(mod) : null;
  }
  const k = kernel;
  if (!k) return undefined;
  k.useFold(fold);
  let count = 0;
  let i0 = 0;
  while (i0 < n) {
    // this slice: row i0 - 1 (to go on with its run) and rows i0… while they fit
    const prev = i0 > 0 ? 1 : 0;
    const from = i0 - prev;
    const lo = start[from] as number;
    let i1 = Math.min(n, from + k.maxRows);
    // names ascending in `bytes`: the slice's bytes are [lo, start[i1 - 1] + len[i1 - 1])
    while (i1 > i0 + 1 && (start[i1 - 1] as number) + (len[i1 - 1] as number) - lo > k.inBytes)
      i1 = i0 + Math.ceil((i1 - i0) / 2);
    const hi = (start[i1 - 1] as number) + (len[i1 - 1] as number);
    if (hi - lo > k.inBytes || hi < lo) return undefined;
    k.mem.set(bytes.subarray(lo, hi), k.inAt);
    k.start.set(start.subarray(from, i1));
    k.len.set(len.subarray(from, i1));
    const got = k.x.runs(
      prev,
      i1 - from,
      k.inAt - lo,
      from,
      maxName,
      o.seed >>> 0,
      o.emptyOk ? 1 : 0,
      hi - lo,
    );
    if (got === -2) return undefined; // a row outside the slice's bytes: not laid out in order
    if (got < 0) return -1;
    runStart.set(k.runStart.subarray(0, got), count);
    runHash.set(k.runHash.subarray(0, got), count);
    count += got;
    i0 = i1;
  }
  runStart[count] = n;
  return count;
}
