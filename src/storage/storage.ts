import { randomBytes } from 'node:crypto';
import { InputError } from '../errors.js';

/**
 * One storage interface, two drivers (filesystem, S3). Keys are relative POSIX paths such as
 * `presence/source=live/dt=2026-11-24/part-0001.parquet` (see `layout.ts`). Every driver passes
 * the shared contract suite in `test/storage-contract.ts`.
 */
export interface StorageEntry {
  key: string;
  size: number;
  /** Last modification, epoch milliseconds. */
  modified: number;
}

export interface Storage {
  /** `fs` or `s3`. */
  readonly kind: 'fs' | 's3';
  /** Human-readable location for messages: a directory path or `s3://bucket/prefix`. */
  readonly location: string;
  /** The object's bytes, or null when it does not exist. */
  get(key: string): Promise<Uint8Array | null>;
  /** Writes the whole object atomically: readers see the old or the new bytes, never a mix. */
  put(key: string, data: Uint8Array | string): Promise<void>;
  /** Uploads a local file as the object (atomically; multipart on S3 for large files). */
  putFile(key: string, localPath: string): Promise<void>;
  /**
   * Optional: uploads several local files as one unit, staging them all before publishing any
   * (the filesystem driver copies every file to a hidden temp first, then renames them in), so a
   * full disk fails the whole set. Use `putFilesAllOrNothing`, which falls back to put-and-undo.
   */
  putFiles?(entries: { key: string; localPath: string }[]): Promise<void>;
  /** Downloads the object to a local file; false when it does not exist. */
  getFile(key: string, localPath: string): Promise<boolean>;
  /**
   * Appends bytes durably (fsync on the filesystem). Used for raw JSON Lines; a record is either
   * whole in the object or absent. Drivers without native append emulate it.
   */
  append(key: string, data: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<StorageEntry[]>;
  /** Removes the object; no error when it does not exist. */
  delete(key: string): Promise<void>;
  /**
   * A local filesystem path for the key when the driver stores objects as local files (so
   * DuckDB can read them in place), else undefined.
   */
  localPath(key: string): string | undefined;
  /** Releases clients and handles. */
  close(): Promise<void>;
}

/**
 * Writes and deletes a small probe object, so a command that stores things fails at start, not
 * after collecting for an hour. Throws `InputError` naming the location and the reason (read-only
 * file system, a path under a file, no permission, bucket refused …): the storage setting is wrong.
 */
export async function assertWritable(storage: Storage, component: string): Promise<void> {
  const key = `state/write-check/${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await storage.put(key, 'ok\n');
    await storage.delete(key);
  } catch (err) {
    const cause = (err as { cause?: unknown })?.cause ?? err;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new InputError(component, `storage ${storage.location} is not writable: ${reason}`, {
      cause: err,
    });
  }
}

/**
 * Stores local files as objects, all or none: through the driver's `putFiles` when it has one,
 * else one `putFile` at a time, deleting the objects this call created when one fails.
 */
export async function putFilesAllOrNothing(
  storage: Storage,
  entries: { key: string; localPath: string }[],
): Promise<void> {
  if (storage.putFiles) return storage.putFiles(entries);
  const created: string[] = [];
  try {
    for (const e of entries) {
      const existed = await storage.exists(e.key);
      await storage.putFile(e.key, e.localPath);
      if (!existed) created.push(e.key);
    }
  } catch (err) {
    for (const k of created) await storage.delete(k).catch(() => {});
    throw err;
  }
}
