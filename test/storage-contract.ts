/**
 * The contract every `Storage` driver passes (unstorage-style): one suite, run against the
 * filesystem driver here and against S3 (a local S3 server) by the cloud tests. Driver-agnostic:
 * it touches storage only through the interface (and local temp files for putFile/getFile).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { putFilesAllOrNothing, type Storage } from '../src/storage/storage.js';

export interface StorageHarness {
  storage: Storage;
  cleanup: () => Promise<void>;
}

const text = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('utf8'));

/** Deterministic pseudo-random bytes (xorshift) so a failure reproduces. */
function bytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function storageContract(name: string, make: () => Promise<StorageHarness>): void {
  describe(`storage contract: ${name}`, () => {
    let h: StorageHarness;
    let s: Storage;
    let tmp: string;
    // A fresh prefix per test keeps tests independent without recreating the driver.
    let n = 0;
    let p = '';

    beforeAll(async () => {
      h = await make();
      s = h.storage;
      tmp = await mkdtemp(join(tmpdir(), 'va-contract-'));
    });
    afterAll(async () => {
      await s?.close();
      await h?.cleanup();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });
    beforeEach(() => {
      n++;
      p = `t${n}-${randomBytes(3).toString('hex')}/`;
    });

    it('reports its kind and location', () => {
      expect(['fs', 's3']).toContain(s.kind);
      expect(typeof s.location).toBe('string');
      expect(s.location.length).toBeGreaterThan(0);
    });

    it('round-trips strings and bytes', async () => {
      await s.put(`${p}a.txt`, 'héllo wörld\n');
      expect(text(await s.get(`${p}a.txt`))).toBe('héllo wörld\n');
      const b = bytes(4096);
      await s.put(`${p}b.bin`, b);
      const got = await s.get(`${p}b.bin`);
      expect(got).not.toBeNull();
      expect(Buffer.from(got as Uint8Array).equals(Buffer.from(b))).toBe(true);
    });

    it('keeps binary data intact (all byte values, NUL, invalid UTF-8)', async () => {
      const all = new Uint8Array(512);
      for (let i = 0; i < 512; i++) all[i] = i & 0xff;
      await s.put(`${p}all.bin`, all);
      expect(Buffer.from((await s.get(`${p}all.bin`)) as Uint8Array).equals(Buffer.from(all))).toBe(true);
    });

    it('round-trips an empty object', async () => {
      await s.put(`${p}empty`, '');
      const got = await s.get(`${p}empty`);
      expect(got).not.toBeNull();
      expect((got as Uint8Array).length).toBe(0);
      expect(await s.exists(`${p}empty`)).toBe(true);
    });

    it('overwrites', async () => {
      await s.put(`${p}k`, 'first version, longer');
      await s.put(`${p}k`, 'second');
      expect(text(await s.get(`${p}k`))).toBe('second');
      const entries = await s.list(p);
      expect(entries.map((e) => e.key)).toEqual([`${p}k`]);
      expect(entries[0]?.size).toBe(6);
    });

    it('returns null / false for missing objects', async () => {
      expect(await s.get(`${p}missing`)).toBeNull();
      expect(await s.exists(`${p}missing`)).toBe(false);
      expect(await s.getFile(`${p}missing`, join(tmp, `${n}-missing`))).toBe(false);
      expect(await s.list(`${p}nothing/`)).toEqual([]);
    });

    it('exists', async () => {
      await s.put(`${p}x/y.json`, '{}');
      expect(await s.exists(`${p}x/y.json`)).toBe(true);
      // A "directory" is not an object.
      expect(await s.exists(`${p}x`)).toBe(false);
    });

    it('lists by prefix, recursively, sorted by key, with sizes', async () => {
      const keys = [`${p}b/2.txt`, `${p}a/1.txt`, `${p}a/sub/3.txt`, `${p}c.txt`, `${p}ab.txt`];
      for (const [i, k] of keys.entries()) await s.put(k, 'x'.repeat(i + 1));
      const all = await s.list(p);
      expect(all.map((e) => e.key)).toEqual([...keys].sort());
      const sizes = Object.fromEntries(all.map((e) => [e.key, e.size]));
      expect(sizes[`${p}a/sub/3.txt`]).toBe(3);
      expect(sizes[`${p}ab.txt`]).toBe(5);
      for (const e of all) expect(e.modified).toBeGreaterThan(0);
      // Folder prefix vs. plain string prefix.
      expect((await s.list(`${p}a/`)).map((e) => e.key)).toEqual([`${p}a/1.txt`, `${p}a/sub/3.txt`]);
      expect((await s.list(`${p}a`)).map((e) => e.key)).toEqual([
        `${p}a/1.txt`,
        `${p}a/sub/3.txt`,
        `${p}ab.txt`,
      ]);
    });

    it('deletes, and deleting a missing object is fine', async () => {
      await s.put(`${p}d.txt`, 'bye');
      await s.delete(`${p}d.txt`);
      expect(await s.get(`${p}d.txt`)).toBeNull();
      expect(await s.exists(`${p}d.txt`)).toBe(false);
      await s.delete(`${p}d.txt`);
      await s.delete(`${p}never/was.txt`);
      expect(await s.list(p)).toEqual([]);
    });

    it('appends in order, creating the object on first append', async () => {
      const k = `${p}raw/presence/source=live/dt=2026-11-24/hour=13/c1.jsonl`;
      for (let i = 0; i < 20; i++) await s.append(k, `{"i":${i}}\n`);
      await s.append(k, Buffer.from('{"i":"bytes"}\n'));
      const lines = (text(await s.get(k)) as string).trimEnd().split('\n');
      expect(lines).toHaveLength(21);
      expect(lines[0]).toBe('{"i":0}');
      expect(lines[19]).toBe('{"i":19}');
      expect(lines[20]).toBe('{"i":"bytes"}');
    });

    it('appends to an object created by put', async () => {
      await s.put(`${p}log`, 'a\n');
      await s.append(`${p}log`, 'b\n');
      expect(text(await s.get(`${p}log`))).toBe('a\nb\n');
    });

    it('putFile / getFile round-trip a multi-MB file', async () => {
      const big = bytes(6 * 1024 * 1024 + 123, 99);
      const src = join(tmp, `${n}-src.bin`);
      const dst = join(tmp, `${n}-out`, 'nested', 'dst.bin');
      await writeFile(src, big);
      await s.putFile(`${p}big/file.parquet`, src);
      expect(await s.exists(`${p}big/file.parquet`)).toBe(true);
      expect((await s.list(`${p}big/`))[0]?.size).toBe(big.length);
      expect(await s.getFile(`${p}big/file.parquet`, dst)).toBe(true);
      expect((await readFile(dst)).equals(Buffer.from(big))).toBe(true);
      const viaGet = await s.get(`${p}big/file.parquet`);
      expect(viaGet?.length).toBe(big.length);
    });

    it('putFilesAllOrNothing stores every file, or none when one fails (an object already there stays)', async () => {
      const a = join(tmp, `${n}-a`);
      const b = join(tmp, `${n}-b`);
      await writeFile(a, 'A');
      await writeFile(b, 'B');
      await putFilesAllOrNothing(s, [
        { key: `${p}dt=1/a`, localPath: a },
        { key: `${p}dt=2/b`, localPath: b },
      ]);
      expect([text(await s.get(`${p}dt=1/a`)), text(await s.get(`${p}dt=2/b`))]).toEqual(['A', 'B']);
      await expect(
        putFilesAllOrNothing(s, [
          { key: `${p}dt=1/a`, localPath: b },
          { key: `${p}dt=3/c`, localPath: a },
          { key: `${p}dt=4/d`, localPath: join(tmp, `${n}-missing`) },
        ]),
      ).rejects.toThrow();
      expect((await s.list(p)).map((e) => e.key)).toEqual([`${p}dt=1/a`, `${p}dt=2/b`]);
      expect(text(await s.get(`${p}dt=2/b`))).toBe('B');
    });

    it('stores Hive-partitioned keys with = and nested folders', async () => {
      const k1 = `${p}presence/source=live/dt=2026-11-24/part-0001.parquet`;
      const k2 = `${p}presence/source=vod/dt=2026-11-23/part-0001.parquet`;
      const k3 = `${p}presence/source=live/dt=2026-11-25/part-a=b.parquet`;
      await s.put(k1, '1');
      await s.put(k2, '2');
      await s.put(k3, '3');
      expect((await s.list(`${p}presence/source=live/`)).map((e) => e.key)).toEqual([k1, k3]);
      expect((await s.list(`${p}presence/`)).map((e) => e.key)).toEqual([k1, k3, k2]);
      expect(text(await s.get(k3))).toBe('3');
      const lp = s.localPath(k1);
      if (lp !== undefined) expect((await readFile(lp)).toString()).toBe('1');
    });

    it('handles concurrent puts to different keys', async () => {
      const keys = Array.from(
        { length: 24 },
        (_, i) => `${p}conc/dt=2026-01-0${i % 3}/k${String(i).padStart(2, '0')}`,
      );
      await Promise.all(keys.map((k, i) => s.put(k, `value ${i}`)));
      const listed = await s.list(`${p}conc/`);
      expect(listed).toHaveLength(24);
      for (const [i, k] of keys.entries()) expect(text(await s.get(k))).toBe(`value ${i}`);
    });

    it('concurrent puts to the same key leave one whole value', async () => {
      const vals = Array.from({ length: 8 }, (_, i) => String(i).repeat(10_000 + i));
      await Promise.all(vals.map((v) => s.put(`${p}same`, v)));
      expect(vals).toContain(text(await s.get(`${p}same`)));
      expect(await s.list(p)).toHaveLength(1);
    });

    it('rejects keys that escape or are not relative POSIX paths', async () => {
      for (const bad of ['../x', 'a/../../x', '/abs', 'a//b', 'a/./b', '']) {
        await expect(s.put(bad, 'x'), bad).rejects.toThrow(/storage/);
      }
    });
  });
}
