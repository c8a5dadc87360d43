/** Worker side of `writeSimulation`: the second half of the presence rows, into a part file. */
import { parentPort, workerData } from 'node:worker_threads';
import { writeBytesAtomic } from '../export/atomic.js';
import { simulatePopulation } from './model.js';
import { encodePresence, type SimulateWorkerInput } from './write.js';

const input = workerData as SimulateWorkerInput;
try {
  let rows = 0;
  const pop = simulatePopulation(input.options);
  writeBytesAtomic(input.path, (w) => {
    rows = encodePresence(pop, w, input.range);
  });
  parentPort?.postMessage({ rows });
} catch (err) {
  parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
