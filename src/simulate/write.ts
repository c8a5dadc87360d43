/**
 * Writes a simulated population as files: `presence.csv` (channel,viewer,ts,source,messages with
 * ts in epoch seconds), `channels.csv` (channel,language,game,viewer_count) and `truth.csv`
 * (channel,community). Rows are encoded straight into a large byte buffer (no string per row), so
 * ~16M rows take a few seconds. Every file is written to a temp name and renamed.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ByteSink, tempPathFor, writeBytesAtomic, writeBytesAtomicAsync } from '../export/atomic.js';
import { csvLine } from '../export/csv.js';
import type { ProgressFn } from '../model/progress.js';
import type { Population, PresenceRange, SimulateOptions } from './model.js';

export interface SimulationFiles {
  presence: string;
  channels: string;
  truth: string;
  /** Presence rows written. */
  rows: number;
  /** Bytes of presence.csv. */
  bytes: number;
}

const COMMA = 44;
const PLAIN_LOGIN = /^[a-z0-9_]+$/;
const NEWLINE = 10;

/** Populations at least this big write their second half in a worker thread. */
const PARALLEL_MIN_VIEWERS = 200_000;

/** Writes the three files into `dir` (created when missing). */
export async function writeSimulation(
  pop: Population,
  dir: string,
  opts: {
    onProgress?: ProgressFn /** Write half the rows in a worker thread (default: from 200,000 viewers). */;
    parallel?: boolean;
  } = {},
): Promise<SimulationFiles> {
  mkdirSync(dir, { recursive: true });
  const presence = join(dir, 'presence.csv');
  const channels = join(dir, 'channels.csv');
  const truth = join(dir, 'truth.csv');

  writeBytesAtomic(channels, (w) => {
    w.text('channel,language,game,viewer_count\n');
    for (const c of pop.channels) w.text(csvLine([c.name, c.language, c.game, String(c.viewerCount)]));
  });
  writeBytesAtomic(truth, (w) => {
    w.text('channel,community\n');
    for (const c of pop.channels) w.text(`${csvLine([c.name, String(c.community)])}`);
  });

  const V = pop.viewers;
  const parallel = (opts.parallel ?? V >= PARALLEL_MIN_VIEWERS) && V >= 2;
  const mid = parallel ? Math.floor(V / 2) : V;
  // The second half (and the bots) go to a part file in a worker; rows per viewer are independent
  // streams, so the concatenation is byte-identical to a single pass.
  const second = parallel ? startSecondHalf(pop, mid, tempPathFor(presence)) : undefined;
  let rows = 0;
  let bytes = 0;
  await writeBytesAtomicAsync(presence, async (w) => {
    w.text('channel,viewer,ts,source,messages\n');
    rows += encodePresence(pop, w, { from: 0, to: mid, bots: !parallel }, opts.onProgress);
    if (second) {
      opts.onProgress?.('simulate: presence (second half)');
      const part = await second;
      try {
        w.copyFile(part.path);
        rows += part.rows;
      } finally {
        rmSync(part.path, { force: true });
      }
    }
    opts.onProgress?.('simulate: presence', V, V);
    bytes = w.flushed + w.pos;
  });
  return { presence, channels, truth, rows, bytes };
}

/** Writes presence rows of `range` as CSV into `w`; returns the rows written. */
export function encodePresence(
  pop: Population,
  w: ByteSink,
  range: PresenceRange,
  onProgress?: ProgressFn,
): number {
  let rows = 0;
  const from = range.from ?? 0;
  const to = range.to ?? pop.viewers;
  const enc = new TextEncoder();
  const fieldBytes = (name: string) => enc.encode(csvLine([name]).slice(0, -1));
  const channelBytes = pop.channels.map((c) => fieldBytes(c.name));
  // Timestamps fall on bucket starts: their digits are encoded once per bucket.
  const { start, bucketMinutes } = pop.options;
  const bucketMs = bucketMinutes * 60_000;
  const tsBytes: Uint8Array[] = [];
  const tsField = (ts: number): Uint8Array => {
    const b = (ts - start) / bucketMs;
    if (!(Number.isInteger(b) && b >= 0 && b < 1 << 20)) return enc.encode(String(Math.floor(ts / 1000)));
    let bytes = tsBytes[b];
    if (!bytes) {
      bytes = enc.encode(String(Math.floor(ts / 1000)));
      tsBytes[b] = bytes;
    }
    return bytes;
  };
  // Rows are collected into columns and encoded in batches: a tight loop over locals is
  // several times faster than encoding inside the per-row callback.
  const BATCH = 1 << 16;
  const bChannel = new Uint32Array(BATCH);
  const bViewer = new Uint32Array(BATCH);
  const bTs = new Float64Array(BATCH);
  const bMessages = new Uint32Array(BATCH);
  let n = 0;
  let lastViewer = -1;
  let viewerBytes = new Uint8Array(32);
  let viewerLen = 0;
  const encodeBatch = () => {
    let buf = w.buf;
    let p = w.pos;
    const limit = buf.length - 512;
    for (let r = 0; r < n; r++) {
      const viewer = bViewer[r]!;
      if (viewer !== lastViewer) {
        lastViewer = viewer;
        const name = pop.viewerName(viewer);
        // Plain logins are copied char by char; anything else goes through the encoder.
        if (name.length <= 32 && PLAIN_LOGIN.test(name)) {
          viewerLen = name.length;
          for (let i = 0; i < viewerLen; i++) viewerBytes[i] = name.charCodeAt(i);
        } else {
          const e = fieldBytes(name);
          if (e.length > viewerBytes.length) viewerBytes = new Uint8Array(e.length);
          viewerBytes.set(e);
          viewerLen = e.length;
        }
      }
      const cb = channelBytes[bChannel[r]!]!;
      if (p + cb.length + viewerLen > limit) {
        w.pos = p;
        w.flush();
        buf = w.buf;
        p = w.pos;
      }
      // Byte loops beat TypedArray.set for fields this short.
      for (let i = 0; i < cb.length; i++) buf[p++] = cb[i]!;
      buf[p++] = COMMA;
      for (let i = 0; i < viewerLen; i++) buf[p++] = viewerBytes[i]!;
      buf[p++] = COMMA;
      const tb = tsField(bTs[r]!);
      for (let i = 0; i < tb.length; i++) buf[p++] = tb[i]!;
      buf[p++] = COMMA;
      buf[p++] = 108; // live
      buf[p++] = 105;
      buf[p++] = 118;
      buf[p++] = 101;
      buf[p++] = COMMA;
      const m = bMessages[r]!;
      if (m < 10) buf[p++] = 48 + m;
      else p = writeUint(buf, p, m);
      buf[p++] = NEWLINE;
    }
    w.pos = p;
    rows += n;
    n = 0;
    if (lastViewer < to) onProgress?.('simulate: presence', lastViewer - from, to - from);
  };
  pop.forEachPresence((channel, viewer, ts, messages) => {
    bChannel[n] = channel;
    bViewer[n] = viewer;
    bTs[n] = ts;
    bMessages[n] = messages;
    if (++n === BATCH) encodeBatch();
  }, range);
  encodeBatch();
  return rows;
}

/** Runs `encodePresence` for viewers [mid, end) and the bots in a worker, into `path`. */
function startSecondHalf(
  pop: Population,
  mid: number,
  path: string,
): Promise<{ path: string; rows: number }> {
  const input: SimulateWorkerInput = { options: pop.options, range: { from: mid, bots: true }, path };
  const here = () => {
    let rows = 0;
    writeBytesAtomic(path, (w) => {
      rows = encodePresence(pop, w, input.range);
    });
    return { path, rows };
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fallback = () => {
      if (settled) return;
      settled = true;
      try {
        resolve(here());
      } catch (err) {
        reject(err);
      }
    };
    let worker: Worker;
    try {
      worker = new Worker(new URL('./write-worker.mjs', import.meta.url), { workerData: input });
    } catch {
      fallback();
      return;
    }
    worker.once('message', (m: { rows?: number; error?: string }) => {
      settled = true;
      if (m.rows !== undefined) resolve({ path, rows: m.rows });
      else reject(new Error(`simulate: worker: ${m.error}`));
    });
    // A worker that cannot run (no TypeScript loader there): write the half on this thread.
    worker.once('error', fallback);
    worker.once('exit', fallback);
  });
}

export interface SimulateWorkerInput {
  options: SimulateOptions;
  range: PresenceRange;
  path: string;
}

/** Writes the decimal digits of a non-negative integer; returns the new position. */
function writeUint(buf: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 48 + n;
    return p + 1;
  }
  let digits = 0;
  for (let t = n; t > 0; t = Math.floor(t / 10)) digits++;
  let q = p + digits;
  for (let t = n; t > 0; t = Math.floor(t / 10)) buf[--q] = 48 + (t % 10);
  return p + digits;
}
