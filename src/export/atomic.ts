import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

const BUFFER_BYTES = 4 << 20;

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

/** `writeFileAtomic` for text: strings appended through `write` are encoded into a large buffer. */
export function writeTextAtomic(path: string, fill: (write: (s: string) => void) => void): void {
  writeFileAtomic(path, (fd) => {
    const buf = Buffer.allocUnsafe(BUFFER_BYTES);
    let pos = 0;
    const flush = () => {
      let off = 0;
      while (off < pos) off += writeSync(fd, buf, off, pos - off);
      pos = 0;
    };
    fill((s) => {
      const n = s.length;
      if (pos + 3 * n > BUFFER_BYTES) {
        flush();
        if (3 * n > BUFFER_BYTES) {
          writeSync(fd, s);
          return;
        }
      }
      // Short ASCII strings (most CSV/XML pieces) are copied inline: cheaper than a native call.
      if (n <= 96) {
        let i = 0;
        for (; i < n; i++) {
          const c = s.charCodeAt(i);
          if (c > 127) break;
          buf[pos + i] = c;
        }
        if (i === n) {
          pos += n;
          return;
        }
      }
      pos += buf.write(s, pos);
    });
    flush();
  });
}
