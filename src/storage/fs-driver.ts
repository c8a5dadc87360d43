import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StorageError } from '../errors.js';
import type { Storage, StorageEntry } from './storage.js';

/** Temp files carry this marker so `list` never shows a half-written object. */
const TEMP_MARK = '.vatmp-';

/**
 * Rejects keys that could escape the root or that no other driver could store the same way:
 * empty, absolute, backslashes, `.`/`..` segments, empty segments.
 */
export function validateKey(key: string, allowEmpty = false): void {
  if (key === '' && allowEmpty) return;
  const bad =
    key === '' ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    /^[a-zA-Z]:/.test(key) ||
    key.split('/').some((seg) => seg === '..' || seg === '.' || seg === '');
  if (bad)
    throw new StorageError('storage', `invalid key "${key}" (relative POSIX path without . or .. segments)`);
  if (key.includes(TEMP_MARK))
    throw new StorageError('storage', `invalid key "${key}" (reserved temp marker)`);
}

/**
 * Objects as plain files under a root directory (default `data/`). Puts write a temp file in the
 * same directory, fsync it and rename it over the target, so readers see the old or the new bytes;
 * appends are fsynced so a record that returned is on disk, and one that threw (a full disk: short
 * write, then ENOSPC) is cut back out, so it is never half there.
 */
export class FsStorage implements Storage {
  readonly kind = 'fs' as const;
  readonly location: string;
  private readonly root: string;

  constructor(root = 'data') {
    this.root = resolve(root);
    this.location = this.root;
  }

  private path(key: string): string {
    validateKey(key);
    return join(this.root, ...key.split('/'));
  }

  localPath(key: string): string | undefined {
    return this.path(key);
  }

  async get(key: string): Promise<Uint8Array | null> {
    const p = this.path(key);
    try {
      return await readFile(p);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw wrap('get', key, err);
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const p = this.path(key);
    await this.atomicWrite(key, p, async (tmp) => {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const p = this.path(key);
    await this.atomicWrite(key, p, async (tmp) => {
      await copyFile(localPath, tmp, constants.COPYFILE_EXCL);
      const fh = await open(tmp, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  async putFiles(entries: { key: string; localPath: string }[]): Promise<void> {
    // Stage: every file copied and fsynced beside its target under a hidden temp name. This is
    // where the space goes, so a full disk fails here, before any object is visible.
    const staged: { key: string; tmp: string; target: string }[] = [];
    try {
      for (const e of entries) {
        const target = this.path(e.key);
        const dir = dirname(target);
        const tmp = join(dir, `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
        await mkdirs(dir);
        staged.push({ key: e.key, tmp, target });
        await copyFile(e.localPath, tmp, constants.COPYFILE_EXCL);
        const fh = await open(tmp, 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
    } catch (err) {
      for (const s of staged) await rm(s.tmp, { force: true }).catch(() => {});
      throw wrap('put', staged.at(-1)?.key ?? entries[0]?.key ?? '', err);
    }
    // Publish: renames take no space.
    const dirs = new Set<string>();
    for (const [i, s] of staged.entries()) {
      try {
        await rename(s.tmp, s.target);
      } catch (err) {
        for (const t of staged.slice(i)) await rm(t.tmp, { force: true }).catch(() => {});
        throw wrap('put', s.key, err);
      }
      dirs.add(dirname(s.target));
    }
    for (const d of dirs) await syncDir(d);
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const p = this.path(key);
    try {
      await mkdir(dirname(resolve(localPath)), { recursive: true });
      if (resolve(localPath) === p) return true;
      await copyFile(p, localPath);
      return true;
    } catch (err) {
      if (isNotFound(err) && !(await exists(p))) return false;
      throw wrap('getFile', key, err);
    }
  }

  async append(key: string, data: Uint8Array | string): Promise<void> {
    const p = this.path(key);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      await mkdirs(dirname(p));
    } catch (err) {
      throw wrap('append', key, err);
    }
    let fh: FileHandle;
    try {
      fh = await open(p, 'a');
    } catch (err) {
      throw wrap('append', key, err);
    }
    let start = -1;
    try {
      start = (await fh.stat()).size;
      // With O_APPEND every write lands at the end. A write may be short (a full disk takes what
      // fits, then fails): keep writing until every byte is in, or fail.
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
        if (bytesWritten <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
        off += bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      // A record is whole in the file or absent: cut a partial tail back to where it started.
      // Shrinking a file needs no free space, so this works on a full disk.
      const cut =
        start >= 0
          ? await fh.truncate(start).then(
              () => fh.sync().catch(() => {}),
              (e: unknown) => e,
            )
          : undefined;
      await fh.close().catch(() => {});
      const e = wrap('append', key, err);
      if (cut instanceof Error) e.message += ` (and cutting the partial write back failed: ${cut.message})`;
      throw e;
    }
    try {
      await fh.close();
    } catch (err) {
      throw wrap('append', key, err);
    }
  }

  async exists(key: string): Promise<boolean> {
    return exists(this.path(key));
  }

  async list(prefix: string): Promise<StorageEntry[]> {
    // Walk only the directory the prefix names; then filter on the full key.
    if (prefix !== '') {
      if (prefix.startsWith('/') || prefix.split('/').some((s) => s === '..' || s === '.')) {
        throw new StorageError('storage', `invalid prefix "${prefix}"`);
      }
    }
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: StorageEntry[] = [];
    const walk = async (dirPath: string, keyBase: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dirPath, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw wrap('list', prefix, err);
      }
      for (const e of entries) {
        const key = keyBase ? `${keyBase}/${e.name}` : e.name;
        if (e.name.includes(TEMP_MARK)) continue;
        if (e.isDirectory()) {
          // Prune subtrees that cannot match the prefix.
          const k = `${key}/`;
          if (k.startsWith(prefix) || prefix.startsWith(k)) await walk(join(dirPath, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix)) {
          try {
            const s = await stat(join(dirPath, e.name));
            out.push({ key, size: s.size, modified: s.mtimeMs });
          } catch (err) {
            if (!isNotFound(err)) throw wrap('list', key, err);
          }
        }
      }
    };
    await walk(dirKey ? join(this.root, ...dirKey.split('/')) : this.root, dirKey);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  async delete(key: string): Promise<void> {
    const p = this.path(key);
    try {
      await unlink(p);
    } catch (err) {
      if (!isNotFound(err)) throw wrap('delete', key, err);
    }
  }

  async close(): Promise<void> {}

  private async atomicWrite(
    key: string,
    target: string,
    writeTemp: (tmp: string) => Promise<void>,
  ): Promise<void> {
    const dir = dirname(target);
    const tmp = join(dir, `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    try {
      await mkdirs(dir);
      await writeTemp(tmp);
      await rename(tmp, target);
      await syncDir(dir);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw wrap('put', key, err);
    }
  }
}

/**
 * `mkdir -p` that reports the real reason. Node's recursive mkdir says ENOENT when a missing
 * folder cannot be created on a read-only file system; creating the first missing folder alone
 * gives EROFS (or EACCES, ENOTDIR) instead.
 */
export async function mkdirs(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    let missing = dir;
    for (let up = dirname(missing); up !== missing; missing = up, up = dirname(up)) {
      if (
        await stat(up).then(
          () => true,
          () => false,
        )
      )
        break;
    }
    await mkdir(missing); // throws the real error
    await mkdir(dir, { recursive: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename itself durable; some filesystems refuse fsync on a directory, which is fine.
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

function wrap(op: string, key: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new StorageError('storage', `${op} ${key}: ${msg}`, { cause: err });
}
