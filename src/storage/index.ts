import type { Config } from '../config/schema.js';
import type { Storage } from './storage.js';

export { LAYOUT, utcDate, utcHour } from './layout.js';
export { assertWritable, putFilesAllOrNothing, type Storage, type StorageEntry } from './storage.js';

/** Opens the storage the config names (`storage.driver`: `fs` under `storage.root`, or `s3`). */
export async function openStorage(config: Config): Promise<Storage> {
  if (config.storage.driver === 's3') {
    const { S3Storage } = await import('./s3-driver.js');
    return new S3Storage(config.s3);
  }
  const { FsStorage } = await import('./fs-driver.js');
  return new FsStorage(config.storage.root);
}
