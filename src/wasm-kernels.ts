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
