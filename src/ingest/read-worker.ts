/**
 * Starting the worker of a two-thread read (CSV or Parquet): the worker fills its block of the
 * shared columns and answers once, with its rows and names (`WorkerRows` and its counts) or an
 * error; a worker that fails or exits without answering answers with an error too.
 */
import type { Worker } from 'node:worker_threads';

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
