/**
 * The overlap projection's second thread: a worker that claims chunks of source channels
 * (`projectChunks`) beside this thread. `buildOverlapGraph` is synchronous (the
 * stages are pure functions), so the hand-over is too: the job goes out on a MessagePort, this
 * thread blocks on a shared flag (`Atomics.wait`) and takes the reply with
 * `receiveMessageOnPort`. Spawn it early (it loads while the input is read); when it is not
 * ready, failed, or does not answer in time, the caller does the projection itself.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type {
  AggregateHelper,
  GatherInput,
  PairPassInput,
  PairsFound,
  PartInput,
  PartResult,
} from './aggregate.js';
import type { Csr, CsrInput } from './csr.js';
import type { ProjectedChunks, ProjectionHelper, ProjectionInput } from './overlap.js';
import type { RepeatPassInput, RepeatsHelper } from './statistics.js';

/** A thread that builds the communities' CSR of a graph (`csrFromGraph`) while this one goes on. */
export interface CsrHelper {
  csr?(input: CsrInput): { wait(): Csr | undefined } | undefined;
}

/** Flags shared with the worker (Int32 slots): loaded, and replies posted so far (jobs are answered in order). */
export const FLAG = { ready: 0, done: 1 } as const;

/** A job for the worker: chunks of the overlap projection, or aggregate's share of the rows. */
export type ProjectionJob =
  | { input: ProjectionInput }
  | { pairs: PairPassInput }
  | { part: PartInput }
  | { gather: GatherInput }
  | { repeats: RepeatPassInput }
  | { csr: CsrInput };

export type ProjectionReply = { ok: ProjectedChunks | Csr } | { error: string };
export type AggregateReply = { ok: PairsFound | PartResult | number } | { error: string };

export interface ProjectionWorkerData {
  port: MessagePort;
  flags: Int32Array;
}

type AtomicsWaitAsync = (
  a: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };

/** How long `wait` blocks before giving up on the worker: at least this … */
const MIN_WAIT_MS = 30_000;
/** … or this many times what this thread's own range took. */
const WAIT_FACTOR = 10;

export interface ProjectionWorker extends ProjectionHelper, AggregateHelper, RepeatsHelper, CsrHelper {
  csr(input: CsrInput): { wait(): Csr | undefined } | undefined;
  /** Resolves true once the worker has loaded (false if it did not within `timeoutMs`). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): void;
}

/** Spawns the worker (unref'd: it never keeps the process alive); `close` stops it. */
export function spawnProjectionWorker(
  options: { minWork?: number; minRows?: number } = {},
): ProjectionWorker {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  let worker: Worker | undefined;
  let broken = false;
  try {
    worker = new Worker(new URL('./overlap-worker.mjs', import.meta.url), {
      workerData: { port: port2, flags } satisfies ProjectionWorkerData,
      transferList: [port2],
    });
    worker.unref();
    worker.on('error', () => {
      broken = true;
    });
    port1.unref();
  } catch {
    broken = true;
  }
  const giveUp = () => {
    broken = true;
    void worker?.terminate();
  };
  // Jobs are numbered as they are posted; the worker answers them in order and counts its replies
  // in FLAG.done. A job may be posted before an earlier one is waited for (it then queues behind
  // it): replies taken for a later job's wait are kept for their own.
  let posted = 0;
  let received = 0;
  const replies = new Map<number, unknown>();
  const take = (seq: number): unknown => {
    while (received < seq) {
      received++;
      replies.set(received, receiveMessageOnPort(port1)?.message);
    }
    const reply = replies.get(seq);
    replies.delete(seq);
    return reply;
  };
  /** Sends one job; `wait` blocks until its reply (undefined: the worker failed or timed out). */
  const post = <T>(job: ProjectionJob): { wait(): T | undefined } | undefined => {
    if (broken || !worker || Atomics.load(flags, FLAG.ready) !== 1) return undefined;
    const began = performance.now();
    try {
      port1.postMessage(job);
    } catch {
      // a job that cannot be sent (e.g. not cloneable): the caller does it on its own thread
      return undefined;
    }
    const seq = ++posted;
    return {
      wait() {
        const ownMs = performance.now() - began;
        const deadline = performance.now() + Math.max(MIN_WAIT_MS, WAIT_FACTOR * ownMs);
        for (let done = Atomics.load(flags, FLAG.done); done < seq; done = Atomics.load(flags, FLAG.done)) {
          const left = deadline - performance.now();
          if (left <= 0 || broken) {
            giveUp();
            return undefined;
          }
          Atomics.wait(flags, FLAG.done, done, Math.min(left, 1000));
        }
        const reply = take(seq) as { ok: T } | { error: string } | undefined;
        if (!reply || 'error' in reply) {
          giveUp();
          return undefined;
        }
        return reply.ok;
      },
    };
  };
  return {
    ...(options.minWork !== undefined ? { minWork: options.minWork } : {}),
    ...(options.minRows !== undefined ? { minRows: options.minRows } : {}),
    start(input) {
      return post<ProjectedChunks>({ input });
    },
    pairs(input) {
      return post<PairsFound>({ pairs: input });
    },
    part(input) {
      return post<PartResult>({ part: input });
    },
    gather(input) {
      return post<number>({ gather: input });
    },
    repeats(input) {
      return post<number>({ repeats: input });
    },
    csr(input) {
      return post<Csr>({ csr: input });
    },
    async ready(timeoutMs) {
      if (Atomics.load(flags, FLAG.ready) === 1) return true;
      // Atomics.waitAsync is in Node 20 (V8), not yet in TypeScript's ES2022 lib.
      const waitAsync = (Atomics as unknown as { waitAsync: AtomicsWaitAsync }).waitAsync;
      const w = waitAsync(flags, FLAG.ready, 0, timeoutMs);
      // A pending waitAsync does not keep the event loop alive; the worker does, meanwhile.
      worker?.ref();
      if (w.async) await w.value;
      worker?.unref();
      return Atomics.load(flags, FLAG.ready) === 1 && !broken;
    },
    close() {
      broken = true;
      port1.close();
      void worker?.terminate();
    },
  };
}
