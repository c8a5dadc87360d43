import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

const FLUSH_CHARS = 1 << 20;

/** A temp file name next to `path` (same directory, so rename is atomic). */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Writes a file atomically: `fill` writes to the descriptor of a temp file next to `path`, which
 * is then renamed over `path`. Readers see the old file or the new one, never a half-written one.
 * (No fsync: these are re-creatable outputs, and syncing hundreds of MB would dominate the run.)
 */
export function writeFileAtomic(path: string, fill: (fd: number) => void): void {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'w');
  let open = true;
  try {
    fill(fd);
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** `writeFileAtomic` for text: strings appended through `write` are buffered into large writes. */
export function writeTextAtomic(path: string, fill: (write: (s: string) => void) => void): void {
  writeFileAtomic(path, (fd) => {
    let parts: string[] = [];
    let chars = 0;
    const flush = () => {
      if (parts.length === 0) return;
      writeSync(fd, parts.join(''));
      parts = [];
      chars = 0;
    };
    fill((s) => {
      parts.push(s);
      chars += s.length;
      if (chars >= FLUSH_CHARS) flush();
    });
    flush();
  });
}
