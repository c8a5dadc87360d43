/** Worker side of `startEdgeFiles`: writes the edge files and reports their paths. */
import { parentPort, workerData } from 'node:worker_threads';
import { type EdgeWorkerInput, writeEdgeFiles } from './edge-files.js';

const input = workerData as EdgeWorkerInput;
writeEdgeFiles(input.dir, input.graph, input.options).then(
  (ok) => parentPort?.postMessage({ ok }),
  (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);
