/**
 * Worker side of the two-thread overlap projection (`overlap-parallel.ts`): claims chunks of
 * source channels over the shared input arrays, answers with their edges (transferred, not
 * copied), then raises the done flag the other thread waits on. Before that, aggregate may hand it
 * the second half of its rows (`aggregatePart`: filter and pair pass over shared arrays, written
 * in place), of its sort into viewer order (`gatherPart`) or of its pair pass (`qualifyingPairs`),
 * and the statistics half of their repeat-viewer pass (`repeatPass`); after the projection, the
 * communities' CSR of the graph (`csrFromGraph`).
 */
import { workerData } from 'node:worker_threads';
import { aggregatePart, gatherPart, qualifyingPairs } from './aggregate.js';
import { csrFromEdges } from './csr.js';
import { projectChunks } from './overlap.js';
import {
  type AggregateReply,
  FLAG,
  type ProjectionJob,
  type ProjectionReply,
  type ProjectionWorkerData,
} from './overlap-parallel.js';
import { repeatPass } from './statistics.js';

const { port, flags } = workerData as ProjectionWorkerData;

port.on('message', (job: ProjectionJob) => {
  if ('pairs' in job || 'part' in job || 'gather' in job || 'repeats' in job) {
    // aggregate's share: kept rows and pairs land in the shared arrays, the rest is small
    let reply: AggregateReply;
    try {
      reply = {
        ok:
          'part' in job
            ? aggregatePart(job.part)
            : 'gather' in job
              ? gatherPart(job.gather)
              : 'repeats' in job
                ? repeatPass(job.repeats)
                : qualifyingPairs(job.pairs),
      };
    } catch (err) {
      reply = { error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
    Atomics.add(flags, FLAG.done, 1);
    Atomics.notify(flags, FLAG.done);
    return;
  }
  let reply: ProjectionReply;
  let transfer: ArrayBuffer[] = [];
  if ('csr' in job) {
    // the communities' CSR, built here while the other thread computes the statistics
    try {
      const csr = csrFromEdges(job.csr);
      reply = { ok: csr };
      transfer = [csr.offsets, csr.neighbors, csr.weights, csr.strength].map((a) => a.buffer as ArrayBuffer);
    } catch (err) {
      reply = { error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply, transfer);
    Atomics.add(flags, FLAG.done, 1);
    Atomics.notify(flags, FLAG.done);
    return;
  }
  try {
    const edges = projectChunks(job.input);
    // Only the used part of each buffer travels.
    const ok = {
      ...edges,
      source: edges.source.slice(),
      target: edges.target.slice(),
      shared: edges.shared.slice(),
    };
    reply = { ok };
    transfer = [ok.source.buffer, ok.target.buffer, ok.shared.buffer] as ArrayBuffer[];
  } catch (err) {
    reply = { error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, transfer);
  Atomics.add(flags, FLAG.done, 1);
  Atomics.notify(flags, FLAG.done);
});
Atomics.store(flags, FLAG.ready, 1);
Atomics.notify(flags, FLAG.ready);
