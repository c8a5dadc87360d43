// ForceAtlas2 worker for src/render/layout.ts (runLayout). Plain ESM JavaScript on purpose: a
// worker thread does not inherit the tsx loader, so it must start without TypeScript support.
// It receives the kernel matrices built by buildKernelJob and runs the same iteration loop.
import { parentPort } from 'node:worker_threads';
import iterate from 'graphology-layout-forceatlas2/iterate.js';

parentPort.once('message', (job) => {
  const every = Math.max(1, Math.floor(job.iterations / 50));
  if (job.nodes.length > 0) {
    for (let i = 0; i < job.iterations; i++) {
      iterate(job.settings, job.nodes, job.edges);
      if ((i + 1) % every === 0) parentPort.postMessage({ type: 'tick', done: i + 1 });
    }
  }
  parentPort.postMessage({ type: 'done', nodes: job.nodes }, [job.nodes.buffer]);
});
