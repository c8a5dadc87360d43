import { InputError } from '../../errors.js';
import type { Storage } from '../../storage/storage.js';

/**
 * The VOD queue, kept in storage (`state/vod/_queue.json`) so a crash mid-queue resumes where it
 * stopped: every VOD wanted (listed by Helix or named with `--vod`) is an entry with its state,
 * attempts and the time of the next attempt. The whole object is rewritten (`put`, atomic) on
 * every change, so a reader sees the state before or after a step, never half of it.
 */
/** Under `state/vod/` with the markers (what the vod task may write, infrastructure/aws/iam/vod.json); no VOD id starts with `_`. */
export const VOD_QUEUE_KEY = 'state/vod/_queue.json';

/**
 * `pending` → (`downloading` → `ingesting`) → `done`; a failed download goes back to `pending`
 * with `next_attempt_at` in the future, or to `failed` after `max_attempts`; `expired` when it
 * got older than `vod.max_age_days` before its turn (Twitch deletes old VODs).
 */
export type VodQueueState = 'pending' | 'downloading' | 'ingesting' | 'done' | 'failed' | 'expired';

export interface VodQueueEntry {
  vod_id: string;
  /** Channel login Helix listed it under, when known. */
  channel?: string;
  /** Broadcast start (ISO), when known. */
  created_at?: string;
  view_count?: number;
  state: VodQueueState;
  /** Download attempts made so far. */
  attempts: number;
  /** ISO, for people reading the queue: when the failed entry may be tried again (see `nextAttemptAt`). */
  next_attempt_at?: string;
  last_error?: string;
  enqueued_at: string;
  updated_at: string;
}

export interface VodQueue {
  version: 1;
  entries: VodQueueEntry[];
}

export interface QueueRetry {
  maxAttempts: number;
  backoffSeconds: number;
}

/** Longest wait between attempts, whatever the doubling says. */
const MAX_BACKOFF_MS = 86_400_000;

export async function loadVodQueue(storage: Storage): Promise<VodQueue> {
  const bytes = await storage.get(VOD_QUEUE_KEY);
  if (!bytes) return { version: 1, entries: [] };
  try {
    const q = JSON.parse(new TextDecoder().decode(bytes)) as VodQueue;
    if (!Array.isArray(q.entries)) throw new Error('no "entries" array');
    return q;
  } catch (err) {
    throw new InputError('vod', `${VOD_QUEUE_KEY}: unreadable VOD queue (${(err as Error).message})`, {
      cause: err,
    });
  }
}

export async function saveVodQueue(storage: Storage, q: VodQueue): Promise<void> {
  await storage.put(VOD_QUEUE_KEY, `${JSON.stringify(q, null, 1)}\n`);
}

/**
 * Adds VODs not yet in the queue (as `pending`). With `reset`, an entry that was given up or
 * expired becomes pending again with its attempts cleared (a VOD named explicitly with `--vod`).
 * Returns the entries added or reset.
 */
export function enqueueVods(
  q: VodQueue,
  vods: readonly { id: string; channel?: string; createdAt?: number; viewCount?: number }[],
  now: number,
  opts: { reset?: boolean } = {},
): VodQueueEntry[] {
  const byId = new Map(q.entries.map((e) => [e.vod_id, e]));
  const touched: VodQueueEntry[] = [];
  const iso = new Date(now).toISOString();
  for (const v of vods) {
    const e = byId.get(v.id);
    if (e) {
      if (opts.reset && (e.state === 'failed' || e.state === 'expired')) {
        e.state = 'pending';
        e.attempts = 0;
        delete e.next_attempt_at;
        e.updated_at = iso;
        touched.push(e);
      }
      continue;
    }
    const entry: VodQueueEntry = {
      vod_id: v.id,
      ...(v.channel ? { channel: v.channel } : {}),
      ...(v.createdAt !== undefined ? { created_at: new Date(v.createdAt).toISOString() } : {}),
      ...(v.viewCount !== undefined ? { view_count: v.viewCount } : {}),
      state: 'pending',
      attempts: 0,
      enqueued_at: iso,
      updated_at: iso,
    };
    q.entries.push(entry);
    byId.set(v.id, entry);
    touched.push(entry);
  }
  return touched;
}

/**
 * When a pending entry that failed before may be tried again: its last failure
 * (`updated_at`) + `backoffSeconds × 2^(attempts − 1)`, at most a day, with the configuration
 * of now (a shorter `vod.retry_backoff_seconds` applies at once). 0 for a fresh entry.
 */
export function nextAttemptAt(e: VodQueueEntry, retry: QueueRetry): number {
  if (e.attempts === 0 || !e.last_error) return 0;
  const wait = Math.min(MAX_BACKOFF_MS, retry.backoffSeconds * 1000 * 2 ** Math.max(0, e.attempts - 1));
  return Date.parse(e.updated_at) + wait;
}

/**
 * Entries whose turn it is, in queue order: pending ones past their backoff, and those a crash
 * left `downloading` or `ingesting` (their attempt was already counted).
 */
export function dueEntries(q: VodQueue, now: number, retry: QueueRetry): VodQueueEntry[] {
  return q.entries.filter(
    (e) =>
      e.state === 'downloading' ||
      e.state === 'ingesting' ||
      (e.state === 'pending' && nextAttemptAt(e, retry) <= now),
  );
}

/** Pending entries still waiting for their backoff to pass. */
export function waitingEntries(q: VodQueue, now: number, retry: QueueRetry): VodQueueEntry[] {
  return q.entries.filter((e) => e.state === 'pending' && nextAttemptAt(e, retry) > now);
}

export function setState(e: VodQueueEntry, state: VodQueueState, now: number): void {
  e.state = state;
  e.updated_at = new Date(now).toISOString();
  if (state === 'done') {
    delete e.next_attempt_at;
    delete e.last_error;
  }
}

/**
 * Records a failed attempt: back to `pending` (`next_attempt_at` says when, see `nextAttemptAt`),
 * or `failed` once `maxAttempts` is reached.
 */
export function recordFailure(e: VodQueueEntry, reason: string, now: number, retry: QueueRetry): void {
  e.last_error = reason;
  if (e.attempts >= retry.maxAttempts) {
    setState(e, 'failed', now);
    delete e.next_attempt_at;
    return;
  }
  setState(e, 'pending', now);
  e.next_attempt_at = new Date(nextAttemptAt(e, retry)).toISOString();
}
