/** Worker side of `spawnEdgeFilesWorker`: waits for one graph, writes its edge files, reports. */
import { parentPort } from 'node:worker_threads';
import { type EdgeWorkerInput, writeEdgeFiles } from './edge-files.js';

parentPort?.once('message', (input: EdgeWorkerInput) => {
  writeEdgeFiles(input.dir, input.graph, input.options)
    .then(
      (ok) => parentPort?.postMessage({ ok }),
      (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }),
    )
    .finally(() => parentPort?.close());
});
