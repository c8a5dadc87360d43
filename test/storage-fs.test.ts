import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../src/errors.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { storageContract } from './storage-contract.js';

storageContract('fs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'va-fs-'));
  return { storage: new FsStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

describe('FsStorage specifics', () => {
  let dir: string;
  let s: FsStorage;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'va-fs2-'));
    s = new FsStorage(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('stores objects as plain files under the root, at localPath', async () => {
    await s.put('presence/source=live/dt=2026-11-24/part-1.parquet', 'abc');
    const p = s.localPath('presence/source=live/dt=2026-11-24/part-1.parquet') as string;
    expect(p).toBe(join(dir, 'presence', 'source=live', 'dt=2026-11-24', 'part-1.parquet'));
    expect(await readFile(p, 'utf8')).toBe('abc');
    expect(s.location).toBe(dir);
  });

  it('leaves no temp files behind after many puts and putFiles', async () => {
    const src = join(dir, '..', `${Date.now()}-src`);
    await writeFile(src, 'file');
    await Promise.all(Array.from({ length: 30 }, (_, i) => s.put(`a/k${i % 5}`, `v${i}`)));
    await s.putFile('a/f', src);
    await rm(src);
    const files = await walk(dir);
    expect(files.every((f) => !f.includes('.vatmp-'))).toBe(true);
    expect(files).toHaveLength(6);
  });

  it('a failed put keeps the old value and leaves no temp file', async () => {
    await s.put('k/v.txt', 'old');
    // putFile from a missing source fails mid-way.
    await expect(s.putFile('k/v.txt', join(dir, 'does-not-exist'))).rejects.toBeInstanceOf(StorageError);
    expect(Buffer.from((await s.get('k/v.txt')) as Uint8Array).toString()).toBe('old');
    expect((await walk(dir)).map((f) => f.slice(dir.length))).toEqual([join('/k', 'v.txt')]);
  });

  it('never lists a temp file that a crashed writer left behind', async () => {
    await s.put('x/real', '1');
    await writeFile(join(dir, 'x', '.vatmp-deadbeef'), 'partial');
    expect((await s.list('x/')).map((e) => e.key)).toEqual(['x/real']);
  });

  it('readers never see a partial object while a big put is in flight', async () => {
    const a = Buffer.alloc(4 * 1024 * 1024, 0x61);
    const b = Buffer.alloc(4 * 1024 * 1024, 0x62);
    await s.put('big', a);
    const writing = s.put('big', b);
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      const got = Buffer.from((await s.get('big')) as Uint8Array);
      expect(got.length).toBe(a.length);
      const first = got[0] as number;
      expect(got.every((c) => c === first)).toBe(true);
      seen.push(first);
    }
    await writing;
    expect((await s.get('big'))?.[0]).toBe(0x62);
  });

  it('rejects invalid keys with a StorageError naming the key', async () => {
    expect(() => s.localPath('../etc/passwd')).toThrow(StorageError);
    expect(() => s.localPath('../etc/passwd')).toThrow(/\.\.\/etc\/passwd/);
    await expect(s.get('/etc/passwd')).rejects.toBeInstanceOf(StorageError);
    await expect(s.append('a\\b', 'x')).rejects.toBeInstanceOf(StorageError);
    await expect(s.list('../')).rejects.toBeInstanceOf(StorageError);
  });

  it('lists nothing when the root does not exist yet', async () => {
    const fresh = new FsStorage(join(dir, 'not-yet'));
    expect(await fresh.list('')).toEqual([]);
    expect(await fresh.list('raw/')).toEqual([]);
  });
});
