/**
 * A small real tmpfs for disk-full tests: `mount -t tmpfs -o size=… tmpfs DIR`. Needs root; CI
 * runs as root, so the tests skip only on a developer machine that is neither root nor CI.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const canMountTmpfs = process.getuid?.() === 0 || Boolean(process.env.CI);

export interface Tmpfs {
  dir: string;
  /**
   * Fills the free space with a ballast file, then gives `leaveBytes` back (rounded to pages), so
   * the next large write is short: it takes what fits, then fails with ENOSPC.
   */
  fill(leaveBytes?: number): void;
  /** Deletes the ballast: the space is free again. */
  free(): void;
  unmount(): void;
}

export function mountTmpfs(size = '2m'): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'va-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  const ballast = join(dir, 'ballast');
  return {
    dir,
    fill(leaveBytes = 0) {
      const fd = openSync(ballast, 'a');
      const chunk = Buffer.alloc(64 * 1024, 120);
      try {
        for (;;) {
          try {
            if (writeSync(fd, chunk) === 0) break;
          } catch {
            // a full page may still take a few bytes: fill it to the last byte
            try {
              for (;;) if (writeSync(fd, chunk, 0, 1) === 0) break;
            } catch {
              /* full */
            }
            break;
          }
        }
        if (leaveBytes > 0) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leaveBytes));
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(ballast, { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
