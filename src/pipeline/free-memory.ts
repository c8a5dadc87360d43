/**
 * A full garbage collection now, for the moment a stage has dropped a large input (the presence
 * rows, hundreds of MB of SharedArrayBuffers) and the next ones allocate again: V8 would collect
 * them only when it next decides to, and until then both sit in memory — on the bench's 15.5M rows
 * in time order that was the difference between ~0.96 and ~1.12 GB peak RSS, run to run. Node has
 * no API for it without `--expose-gc`: the flag is set at run time and the `gc` function taken
 * from a new context (what the `expose-gc` package does). No-op where that fails.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/** Runs a full collection; false where it could not (nothing happened). */
export function collectGarbage(): boolean {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const found = runInNewContext('gc') as unknown;
      gc = typeof found === 'function' ? (found as () => void) : null;
    } catch {
      gc = null;
    }
  }
  if (!gc) return false;
  gc();
  return true;
}
