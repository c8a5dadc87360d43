/**
 * The WebAssembly kernels `scripts/build.mjs` compiles from src/**\/*.as.ts (AssemblyScript) to
 * dist/**\/*.wasm, loaded once per thread: from beside this module when it runs from dist/, from
 * the package's dist/ when it runs from src/ (tsx; src/ and dist/ are siblings).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new Map<string, WebAssembly.Module | null>();

/** The compiled module `dist/<name>.wasm` (e.g. `ingest/csv-kernel/rows`), or null when the build has not made it. */
export function kernelModule(name: string): WebAssembly.Module | null {
  let mod = compiled.get(name);
  if (mod === undefined) {
    const file = [`./${name}.wasm`, `../dist/${name}.wasm`]
      .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
      .find((f) => existsSync(f));
    mod = file ? new WebAssembly.Module(readFileSync(file)) : null;
    compiled.set(name, mod);
  }
  return mod;
}

/** A kernel instance's exported global `name` (layout offsets and results). */
export function kernelGlobal(exports: WebAssembly.Exports, name: string): number {
  return (exports[name] as WebAssembly.Global).value as number;
}

/** A kernel with growable memory and the shared bump allocator (`kernel-lib/heap.as-lib.ts`). */
export interface GrowableKernel {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
}

/**
 * Copies `a[0, count)` into a block of `k`'s memory (with `slack` bytes after it) and returns the
 * block's address. The block is taken first: taking it may grow the memory, so the view is made
 * after. Traps (a WebAssembly.RuntimeError) when the memory cannot grow.
 */
export function copyIntoKernel(
  k: GrowableKernel,
  a: Uint8Array | Uint32Array | Float64Array,
  count = a.length,
  slack = 0,
): number {
  const bytes = count * a.BYTES_PER_ELEMENT;
  const at = k.alloc(bytes + slack);
  new Uint8Array(k.memory.buffer, at, bytes).set(new Uint8Array(a.buffer, a.byteOffset, bytes));
  return at;
}
