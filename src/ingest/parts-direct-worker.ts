/**
 * Worker side of the two-thread direct read of storage parts (`presence-parts-direct.ts`), no
 * DuckDB here. `rows`: reads its row groups into the caller's shared columns, with its own ids,
 * and sends back its names as bytes. `numbers`: the column split's channels, instants and
 * counts of every row group, and while ahead of the other thread some row groups' viewers for it
 * (parts-handoff.ts); sends back the channels' names (and their Twitch ids' latest logins), or
 * nothing when a row is not kept.
 */
import { parentPort } from 'node:worker_threads';
import { type NumbersOutput, type NumbersWorkerInput, readNumberColumns } from './presence-parts-columns.js';
import { type PartsWorkerInput, readUnits } from './presence-parts-direct.js';
import { PresenceBuilder } from './presence-rows.js';
import { answerRead, readJob, type WorkerReply } from './read-worker.js';

const input = await readJob<PartsWorkerInput | NumbersWorkerInput>();
if (input.mode === 'rows') {
  await answerRead(input.shared, (b, log) => {
    b.reserveViewersFor(input.rowsInAll);
    return readUnits(input.plans, input.units, b, log, input.label, input.opts, input.rowsInAll);
  });
} else {
  let reply: WorkerReply<NumbersOutput>;
  try {
    const b = new PresenceBuilder({ capacity: 0 });
    const clean = await readNumberColumns(input, b, (note, transfer) =>
      parentPort?.postMessage({ note }, transfer),
    );
    const channelIds = b.channelIds?.export(b.channels.size);
    reply = {
      ok: clean ? { channels: b.channels.exportNames(), ...(channelIds ? { channelIds } : {}) } : {},
    };
  } catch (err) {
    reply = { error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(reply);
}
