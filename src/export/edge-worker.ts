/**
 * Worker side of `spawnEdgeFilesWorker`: waits for one graph, writes its edge files, reports the
 * GEXF part as soon as it is written and the files at the end; `{ goOn }` lets edges.parquet start
 * when the run waits for it.
 */
import { parentPort } from 'node:worker_threads';
import { type EdgeWorkerInput, writeEdgeFiles } from './edge-files.js';

let goOn: () => void = () => {};
const wentOn = new Promise<void>((resolve) => {
  goOn = resolve;
});

parentPort?.on('message', (m: EdgeWorkerInput | { goOn: true }) => {
  if ('goOn' in m) {
    goOn();
    return;
  }
  writeEdgeFiles(m.dir, m.graph, m.options, {
    onPart: (part) => parentPort?.postMessage({ part }),
    beforeParquet: m.options.waitForParquet ? wentOn : undefined,
  })
    .then(
      (ok) => parentPort?.postMessage({ ok }),
      (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }),
    )
    .finally(() => parentPort?.close());
});
