/**
 * Twitch's JOIN limit (20 per 10 s per account by default), shared by every connection of a
 * collector. A sliding-window log rather than a token bucket: a token bucket of size L that
 * refills continuously lets up to 2L joins through in one window (a full bucket, then the
 * refill), which is exactly what Twitch punishes. Here at most `limit` joins are ever sent in
 * any `windowMs`, plus a safety margin so network jitter cannot squeeze two windows into one
 * at the server. And a join counts from when the server confirmed it (its JOIN echo), when that
 * is later than when we sent it: the server's clock is the one that matters, and a server slow
 * to process a burst would otherwise see the next window's joins too close to the last ones.
 */

/** Options of the join limiter; every field optional (see `JOIN_LIMITER_DEFAULTS`). */
export interface JoinLimiterOptions {
  /** Joins allowed per window. */
  limit?: number;
  /** Window length in milliseconds. */
  windowMs?: number;
  /** Extra wait added to the window, in ms (default: 2% of the window, at least 50 ms). */
  marginMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export const JOIN_LIMITER_DEFAULTS = { limit: 20, windowMs: 10_000 };

/**
 * A queued join, called when a slot is free with the join's sequence number (to `confirm` it
 * later); returns false when the join is no longer wanted (it then uses no slot).
 */
export type JoinTask = (seq: number) => boolean;

export class JoinLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly marginMs: number;
  private readonly now: () => number;
  /** Send times of the last `limit` joins (ring buffer). */
  private readonly sent: Float64Array;
  /** Sequence number of the join in each ring slot. */
  private readonly seqs: Float64Array;
  private head = 0;
  private count = 0;
  private readonly queue: JoinTask[] = [];
  private qHead = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Joins sent so far. */
  total = 0;

  constructor(options: JoinLimiterOptions = {}) {
    this.limit = options.limit ?? JOIN_LIMITER_DEFAULTS.limit;
    this.windowMs = options.windowMs ?? JOIN_LIMITER_DEFAULTS.windowMs;
    this.marginMs = options.marginMs ?? Math.max(50, this.windowMs * 0.02);
    this.now = options.now ?? Date.now;
    this.sent = new Float64Array(this.limit);
    this.seqs = new Float64Array(this.limit).fill(-1);
  }

  /** Joins waiting for a slot. */
  get pending(): number {
    return this.queue.length - this.qHead;
  }

  enqueue(task: JoinTask): void {
    if (this.stopped) return;
    this.queue.push(task);
    this.pump();
  }

  /** The server confirmed join `seq`: its slot counts from now if that is later than the send. */
  confirm(seq: number): void {
    const slot = seq % this.limit;
    if (this.seqs[slot] !== seq) return; // the slot has moved on: the window passed long ago
    const now = this.now();
    if (now > (this.sent[slot] as number)) this.sent[slot] = now;
  }

  /** Drops every queued task and timer. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.qHead = 0;
  }

  /** Milliseconds until the next slot frees (0 = now). */
  private waitMs(now: number): number {
    if (this.count < this.limit) return 0;
    const oldest = this.sent[this.head] as number; // the ring is full: head is the oldest
    return Math.max(0, oldest + this.windowMs + this.marginMs - now);
  }

  private pump(): void {
    if (this.timer || this.stopped) return;
    while (this.pending > 0) {
      const now = this.now();
      const wait = this.waitMs(now);
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      const task = this.queue[this.qHead++] as JoinTask;
      if (this.qHead > 1024 && this.qHead * 2 > this.queue.length) {
        this.queue.splice(0, this.qHead);
        this.qHead = 0;
      }
      if (task(this.total)) {
        let slot: number;
        if (this.count < this.limit) {
          slot = (this.head + this.count) % this.limit;
          this.count++;
        } else {
          slot = this.head;
          this.head = (this.head + 1) % this.limit;
        }
        this.sent[slot] = now;
        this.seqs[slot] = this.total;
        this.total++;
      }
    }
  }
}
