/**
 * Starting the worker of a two-thread read (CSV or Parquet): the worker fills its block of the
 * shared columns and answers once, with its rows and names (`WorkerRows` and its counts) or an
 * error; a worker that fails or exits without answering answers with an error too.
 */
import { availableParallelism, loadavg } from 'node:os';
import type { Worker } from 'node:worker_threads';
import {
  type ColumnViews,
  columnSlice,
  exportWorkerRows,
  type FileStats,
  mergeWorkerRows,
  PresenceBuilder,
  RejectLog,
  sharedColumns,
  type WorkerRows,
} from './presence-rows.js';

/** What every read worker answers with: its rows and names, its counts and its rejects. */
export interface WorkerReadOutput extends WorkerRows {
  good: number;
  bad: number;
  outside: number;
  /** Line or row numbers count from the start of the worker's share. */
  rejected: { line: number; reason: string }[];
  rejectedCount: number;
}

export interface WorkerReply<T> {
  ok?: T;
  error?: string;
}

/** What a worker spawned ahead of its job (`warmReadWorker`) gets as its `workerData`. */
const WARM = { vieweratlasWarm: true } as const;

/** Read workers spawned ahead of their job, by script URL (one each); `alive` until they exit. */
const warm = new Map<string, { worker: Worker; alive: boolean }>();

/**
 * Spawns the read worker `url` now, before its job is known: Node's start of a worker and the
 * loading of its modules (~0.1 s) then happen while this thread is busy with something else
 * (loading its own modules, the config, the metadata), and `startReadWorker` on the same URL
 * hands it its job at once. An idle warm worker does not keep the process alive;
 * `releaseWarmReadWorkers` stops the ones no read took.
 */
export async function warmReadWorker(url: URL): Promise<Worker | undefined> {
  const known = warm.get(url.href);
  if (known?.alive) return known.worker;
  const { Worker } = await import('node:worker_threads');
  try {
    const entry = { worker: new Worker(url, { workerData: WARM }), alive: true };
    entry.worker.unref();
    // A warm worker that fails before its job is simply not used (a new one is spawned then).
    entry.worker.on('error', () => {});
    entry.worker.once('exit', () => {
      entry.alive = false;
    });
    warm.set(url.href, entry);
    return entry.worker;
  } catch {
    return undefined; // no worker: the read spawns its own, or reads in one thread
  }
}

/** Stops the warm read workers no read took. */
export function releaseWarmReadWorkers(): void {
  for (const { worker } of warm.values()) void worker.terminate();
  warm.clear();
}

/**
 * The worker's side: its job's data — its `workerData`, or for a worker spawned warm the first
 * message it gets (`startReadWorker` posts it).
 */
export async function readJob<T>(): Promise<T> {
  const { workerData, parentPort } = await import('node:worker_threads');
  if (!(workerData as typeof WARM | undefined)?.vieweratlasWarm) return workerData as T;
  return new Promise<T>((resolve) => parentPort?.once('message', (m: { job: T }) => resolve(m.job)));
}

/**
 * Spawns `url` with `workerData`, or hands `workerData` to the warm worker of `url` when there is
 * one (`warmReadWorker`); undefined when no worker can start (the caller reads alone).
 * worker_threads is loaded here, on first use, not when a reader module is imported.
 */
export async function startReadWorker<T>(
  url: URL,
  workerData: unknown,
  /** Messages `{ note }` the worker posts before its answer go here, in order. */
  onNote?: (note: unknown) => void,
): Promise<{ worker: Worker; reply: Promise<WorkerReply<T>> } | undefined> {
  const { Worker } = await import('node:worker_threads');
  let worker: Worker;
  const ready = warm.get(url.href);
  warm.delete(url.href);
  if (ready?.alive) {
    worker = ready.worker;
    worker.ref();
    worker.postMessage({ job: workerData });
  } else {
    try {
      worker = new Worker(url, { workerData });
    } catch {
      return undefined;
    }
  }
  const reply = new Promise<WorkerReply<T>>((resolve) => {
    const onMessage = (m: WorkerReply<T> | { note: unknown }) => {
      if (onNote && 'note' in m) {
        onNote(m.note);
        return;
      }
      worker.off('message', onMessage);
      resolve(m as WorkerReply<T>);
    };
    worker.on('message', onMessage);
    worker.once('error', (err) => resolve({ error: `worker: ${err.message}` }));
    worker.once('exit', (code) => resolve({ error: `worker exited with code ${code}` }));
  });
  return { worker, reply };
}

/**
 * This thread reads its share (`here`) while the worker reads the rest; the worker is stopped
 * either way (also when `here` throws). Returns this thread's result and the worker's answer.
 */
export async function readBeside<F, T>(
  started: { worker: Worker; reply: Promise<WorkerReply<T>> },
  here: () => Promise<F>,
  /** Called once the worker has answered (its core is free while this thread merges). */
  onWorkerDone?: () => void,
): Promise<{ here: F; there: WorkerReply<T> }> {
  let mine: F;
  if (onWorkerDone) void started.reply.then(onWorkerDone);
  try {
    mine = await here();
  } catch (err) {
    await started.worker.terminate();
    throw err;
  }
  const there = await started.reply;
  await started.worker.terminate();
  return { here: mine, there };
}

/**
 * The worker's side: `read` fills a builder over the caller's shared columns; the answer (rows,
 * names, counts, rejects, and whatever `more` adds from the read's result) is posted with its
 * buffers transferred, or the error's message.
 */
export async function answerRead<S extends FileStats>(
  shared: ColumnViews,
  read: (b: PresenceBuilder, log: RejectLog) => Promise<S>,
  more: (st: S) => object = () => ({}),
): Promise<void> {
  const { parentPort } = await import('node:worker_threads');
  const b = new PresenceBuilder({ capacity: 0 });
  b.adopt(shared);
  const log = new RejectLog();
  try {
    const st = await read(b, log);
    const { rows, transfer } = exportWorkerRows(b, shared);
    const out: WorkerReadOutput = {
      ...rows,
      good: st.good,
      bad: st.bad,
      outside: st.outside,
      ...more(st),
      rejected: log.rejected.map((r) => ({ line: r.line, reason: r.reason })),
      rejectedCount: log.count,
    };
    parentPort?.postMessage({ ok: out }, transfer);
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}

/** Stored parts holding fewer rows than this in all are read by one thread (a worker costs ~0.1 s). */
export const PARALLEL_PARQUET_MIN_ROWS = 1 << 20;

/**
 * Two threads when the machine has two cores and is not oversubscribed (1-minute load average
 * below twice the cores): unlike the CSV scan, the one-thread Parquet read already keeps a second
 * core half busy (DuckDB decodes beside the interning), so a worker pays only while the cores
 * have time to give — measured on the 2-core machine: at a load of 3 two threads read the bench
 * store in 6.4–6.8 s against 6.4–8.5 s, at 5–8 in 9.6–14.8 s against 7.5–10.5 s
 * (docs/storage-and-import.md, Speed).
 */
export function defaultThreads(cores = availableParallelism(), load = loadavg()[0] ?? 0): 1 | 2 {
  return cores >= 2 && load < 2 * cores ? 2 : 1;
}

/**
 * The two-thread read of stored rows, whichever reader: one set of shared columns for `total`
 * rows; this thread's `readHere` fills the first `firstRows`, the worker (started on the rest of
 * the columns) the others; then the worker's names are interned here, its rows' ids remapped and
 * its rejects numbered after this thread's rows. Undefined, with nothing kept, when the worker
 * cannot start or fails, or `readHere` throws an `internal:` error: the caller reads in one thread.
 */
export async function readInTwoThreads(
  b: PresenceBuilder,
  log: RejectLog,
  label: string,
  total: number,
  firstRows: number,
  startWorker: (
    shared: ColumnViews,
  ) => Promise<{ worker: Worker; reply: Promise<WorkerReply<WorkerReadOutput>> } | undefined>,
  readHere: () => Promise<FileStats>,
  onWorkerDone?: () => void,
): Promise<FileStats | undefined> {
  const start = b.length;
  const mid = start + firstRows;
  const cap = start + total;
  const shared = sharedColumns(cap);
  const started = await startWorker(columnSlice(shared, mid, cap));
  if (!started) return undefined;
  // The viewer table sized once for all parts (as the one-thread read would size it): the
  // worker's names then go in without a rehash, where reserving both sides' counts would double
  // the table (both mostly hold the same viewers).
  b.reserveViewersFor(total);
  const logCount = log.count;
  const logKept = log.rejected.length;
  b.adopt(columnSlice(shared, 0, mid));
  let first: FileStats;
  let msg: WorkerReply<WorkerReadOutput>;
  try {
    ({ here: first, there: msg } = await readBeside(started, readHere, onWorkerDone));
  } catch (err) {
    // a slice of a part that the stored-parts read does not take: one thread again
    if (!(err instanceof Error && err.message.startsWith('internal:'))) throw err;
    msg = { error: err.message };
    first = { good: 0, bad: 0, outside: 0 };
  }
  if (!msg.ok) {
    // One thread again, from where this read began.
    b.truncate(start);
    log.rejected.length = logKept;
    log.count = logCount;
    return undefined;
  }
  const w = msg.ok;
  mergeWorkerRows(b, shared, mid, w);
  // The worker numbered rows from its first part: they follow this thread's.
  const shift = (r: { line: number; reason: string }) => ({
    file: label,
    line: r.line + firstRows,
    reason: r.reason.replace(/^row \d+: /, `row ${r.line + firstRows}: `),
  });
  for (const r of w.rejected) {
    const s = shift(r);
    log.add(s.file, s.line, s.reason);
  }
  log.count += w.rejectedCount - w.rejected.length;
  return {
    parallel: true,
    good: first.good + w.good,
    bad: first.bad + w.bad,
    outside: first.outside + w.outside,
    firstBad: first.firstBad ?? (w.rejected[0] ? shift(w.rejected[0]) : undefined),
  };
}
