/**
 * Disk full and unwritable roots for the filesystem driver, on a real 2 MB tmpfs: an append
 * that does not fit fails and leaves nothing of itself in the file.
 */
import { readFileSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from './loss-tmpfs.js';

describe.skipIf(!canMountTmpfs)('FsStorage on a full disk (2 MB tmpfs)', () => {
  let fs: Tmpfs | undefined;
  afterEach(() => {
    fs?.unmount();
    fs = undefined;
  });

  it('never reports an append that is not whole on disk; a failed append leaves nothing of itself', async () => {
    fs = mountTmpfs('2m');
    const s = new FsStorage(fs.dir);
    const key = 'raw/presence/source=live/dt=2026-12-01/hour=09/c.jsonl';
    let okBytes = 0;
    let okRecords = 0;
    let failures = 0;
    // 3,001-byte records: each needs parts of two pages, so the last one that fits is short.
    for (let i = 0; i < 2000 && failures < 3; i++) {
      const rec = `${JSON.stringify({ i, pad: 'x'.repeat(2970) }).padEnd(3000, ' ')}\n`;
      try {
        await s.append(key, rec);
        okBytes += rec.length;
        okRecords++;
      } catch (err) {
        expect(err).toBeInstanceOf(StorageError);
        expect(String(err)).toMatch(/ENOSPC/);
        failures++;
      }
    }
    expect(failures).toBeGreaterThan(0);
    const p = s.localPath(key) as string;
    expect(statSync(p).size).toBe(okBytes);
    const lines = readFileSync(p, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBe(okRecords);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(lines.map((_, i) => i));
  });

  it('an append that fails because the disk is full succeeds once space is free again', async () => {
    fs = mountTmpfs('2m');
    const s = new FsStorage(fs.dir);
    await s.append('a.jsonl', '{"n":1}\n');
    fs.fill();
    await expect(s.append('a.jsonl', `${'y'.repeat(100_000)}\n`)).rejects.toThrow(/ENOSPC/);
    expect(readFileSync(s.localPath('a.jsonl') as string, 'utf8')).toBe('{"n":1}\n');
    fs.free();
    await s.append('a.jsonl', '{"n":2}\n');
    expect(readFileSync(s.localPath('a.jsonl') as string, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
  });
});
