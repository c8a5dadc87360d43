/**
 * Starting the worker of a two-thread read (CSV or Parquet): the worker fills its block of the
 * shared columns and answers once, with its rows and names (`WorkerRows` and its counts) or an
 * error; a worker that fails or exits without answering answers with an error too.
 */
import type { Worker } from 'node:worker_threads';
import {
  type ColumnViews,
  exportWorkerRows,
  type FileStats,
  PresenceBuilder,
  RejectLog,
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

/**
 * Spawns `url` with `workerData`; undefined when no worker can start (the caller reads alone).
 * worker_threads is loaded here, on first use, not when a reader module is imported.
 */
export async function startReadWorker<T>(
  url: URL,
  workerData: unknown,
): Promise<{ worker: Worker; reply: Promise<WorkerReply<T>> } | undefined> {
  const { Worker } = await import('node:worker_threads');
  let worker: Worker;
  try {
    worker = new Worker(url, { workerData });
  } catch {
    return undefined;
  }
  const reply = new Promise<WorkerReply<T>>((resolve) => {
    worker.once('message', resolve);
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
): Promise<{ here: F; there: WorkerReply<T> }> {
  let mine: F;
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
