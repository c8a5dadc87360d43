/**
 * The worker of a two-thread read (a big CSV, or the stored parts), spawned before the read is
 * reached: `analyze` starts it as its command begins, so Node's start of the worker and its
 * modules (~0.1 s) overlap the loading of the pipeline and the metadata instead of delaying the
 * worker's share of the rows.
 */
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { PARALLEL_CSV_MIN_BYTES } from './presence-csv.js';
import { defaultThreads, warmReadWorker } from './read-worker.js';

const isCsv = (name: string) => /\.csv$/i.test(name);

/** Is `path` (a file, or a folder's files) a CSV big enough for the two-thread read? */
function bigCsv(path: string): boolean {
  try {
    const st = statSync(path);
    if (st.isFile()) return isCsv(path) && st.size >= PARALLEL_CSV_MIN_BYTES;
    if (!st.isDirectory()) return false;
    return readdirSync(path).some((name) => {
      if (!isCsv(name)) return false;
      const s = statSync(join(path, name), { throwIfNoEntry: false });
      return s?.isFile() === true && s.size >= PARALLEL_CSV_MIN_BYTES;
    });
  } catch {
    return false;
  }
}

/**
 * Spawns the CSV read worker now when an input looks like it will be read by two threads (a
 * `.csv` of `PARALLEL_CSV_MIN_BYTES` or more, on a machine with two cores). A guess: the read
 * decides from the file's kind and contents, and a warm worker no read takes is stopped by
 * `releaseWarmReadWorkers`. Returns whether one was started.
 */
export async function warmCsvReadWorker(inputs: readonly string[]): Promise<boolean> {
  if (availableParallelism() < 2 || !inputs.some(bigCsv)) return false;
  await warmReadWorker(new URL('./csv-worker.mjs', import.meta.url));
  return true;
}

/**
 * Stored parts of this many bytes in all hold about `PARALLEL_PARQUET_MIN_ROWS` rows (the bench
 * store: 15.5M rows in 53 MB), the least the stored read splits between two threads.
 */
const PARALLEL_STORED_MIN_BYTES = 4 * 1024 * 1024;

/** Bytes of the `.parquet` files under `dir`, counted until `enough`. */
function parquetBytes(dir: string, enough: number): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (total >= enough) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.parquet')) total += statSync(p).size;
    }
  };
  try {
    walk(dir);
  } catch {
    // unreadable storage: the read itself says why
  }
  return total;
}

/**
 * Spawns the stored parts' read worker now when the filesystem storage at `root` holds enough
 * presence Parquet for the two-thread read and the machine has the cores for it (`defaultThreads`).
 * A guess, as for `warmCsvReadWorker`. Returns whether one was started.
 */
export async function warmStoredReadWorker(root: string): Promise<boolean> {
  if (defaultThreads() < 2) return false;
  if (parquetBytes(join(root, 'presence'), PARALLEL_STORED_MIN_BYTES) < PARALLEL_STORED_MIN_BYTES)
    return false;
  await warmReadWorker(new URL('./parts-direct-worker.mjs', import.meta.url));
  return true;
}
