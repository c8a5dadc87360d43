/**
 * Leiden's passes in WebAssembly (`leiden-kernel/passes.as.ts`): `leidenCsr` copies its CSR into
 * the kernel's memory and gets back the membership the JavaScript passes in leiden.ts give — the
 * same loops in the same order, the same random stream, the host's Math.exp — without V8's
 * bounds checks and the optimising compiler's work on long-running loops.
 */
import { copyIntoKernel, type GrowableKernel, kernelGlobal, kernelModule } from '../wasm-kernels.js';
import type { Csr } from './csr.js';

interface PassesExports extends GrowableKernel {
  reset(): void;
  leiden(
    n: number,
    offsets: number,
    neighbors: number,
    weights: number,
    strength: number,
    totalStrength: number,
    membership: number,
    gamma: number,
    theta: number,
    seed: number,
    iterations: number,
    maxLevels: number,
  ): number;
  communityTotals(
    n: number,
    offsets: number,
    neighbors: number,
    weights: number,
    strength: number,
    membership: number,
    inside: number,
    tot: number,
    count: number,
  ): void;
}

let kernel: PassesExports | null | undefined;
/** Tests turn the kernel off to check the JavaScript passes give the same. */
let enabled = true;

export function useLeidenKernel(on: boolean): void {
  enabled = on;
}

/**
 * Lets the kernel's memory go (a WebAssembly memory never shrinks: after a large graph it holds
 * its arrays until the instance is collected); the next call makes a new instance.
 */
export function releaseLeidenKernel(): void {
  if (kernel) kernel = undefined;
}

function passes(): PassesExports | null {
  if (kernel === undefined) {
    const mod = kernelModule('analysis/leiden-kernel/passes');
    kernel = mod
      ? (new WebAssembly.Instance(mod, { host: { exp: Math.exp } }).exports as unknown as PassesExports)
      : null;
  }
  return kernel;
}

export interface KernelLeiden {
  membership: Int32Array;
  count: number;
  levels: number;
  moves: number;
  /** Per community: the weight inside it (each edge from both ends) and its strength (`csrModularity`'s sums). */
  inside: Float64Array;
  tot: Float64Array;
}

/**
 * `leidenCsr`'s passes on `csr` (2m > 0) in the kernel, or undefined when it is off, missing, or
 * its memory cannot grow to the graph (the caller runs the JavaScript passes).
 */
export function kernelLeiden(
  csr: Csr,
  o: { resolution: number; randomness: number; seed: number; iterations: number; maxLevels: number },
): KernelLeiden | undefined {
  if (!enabled) return undefined;
  const x = passes();
  if (!x) return undefined;
  const n = csr.n;
  const entries = csr.neighbors.length;
  x.reset();
  let memberAt: number;
  let count: number;
  let insideAt: number;
  let totAt: number;
  try {
    const offAt = copyIntoKernel(x, csr.offsets, n + 1);
    const nbAt = copyIntoKernel(x, csr.neighbors, entries);
    const wAt = copyIntoKernel(x, csr.weights, entries);
    const strAt = copyIntoKernel(x, csr.strength, n);
    memberAt = x.alloc(4 * n);
    count = x.leiden(
      n,
      offAt,
      nbAt,
      wAt,
      strAt,
      csr.totalStrength,
      memberAt,
      o.resolution,
      o.randomness,
      o.seed >>> 0,
      o.iterations,
      o.maxLevels,
    );
    // the partition's modularity sums while the graph is here (a pass over its edges)
    insideAt = x.alloc(8 * count);
    totAt = x.alloc(8 * count);
    x.communityTotals(n, offAt, nbAt, wAt, strAt, memberAt, insideAt, totAt, count);
  } catch (err) {
    // the memory could not grow to the graph (it traps): the JavaScript passes need less
    if (err instanceof WebAssembly.RuntimeError) {
      kernel = undefined;
      return undefined;
    }
    throw err;
  }
  const exports = x as unknown as WebAssembly.Exports;
  return {
    // the memory may have grown during the call: a view of the buffer it has now
    membership: new Int32Array(x.memory.buffer, memberAt, n).slice(),
    count,
    inside: new Float64Array(x.memory.buffer, insideAt, count).slice(),
    tot: new Float64Array(x.memory.buffer, totAt, count).slice(),
    levels: kernelGlobal(exports, 'levelsRun'),
    moves: kernelGlobal(exports, 'movesMade'),
  };
}
