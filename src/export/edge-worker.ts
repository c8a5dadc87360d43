/**
 * Worker side of `spawnEdgeFilesWorker`: waits for one graph, writes its edge files, reports the
 * GEXF part as soon as it is written and the files at the end.
 */
import { parentPort } from 'node:worker_threads';
import { type EdgeWorkerInput, writeEdgeFiles } from './edge-files.js';

parentPort?.on('message', (m: EdgeWorkerInput) => {
  writeEdgeFiles(m.dir, m.graph, m.options, {
    onPart: (part) => parentPort?.postMessage({ part }),
  })
    .then(
      (ok) => parentPort?.postMessage({ ok }),
      (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }),
    )
    .finally(() => parentPort?.close());
});
