/**
 * The column split's viewer columns decoded by the worker for this thread (presence-parts-columns.ts):
 * this thread interns every row group's viewers, which takes longer than the worker's channels,
 * instants and counts (on the bench store 1.47 s against 1.07 s). So when the worker is ahead
 * of this thread, it also decompresses a row group's viewer column and finds its runs of one
 * name (what this thread would do before interning them) and hands them over. Who decodes a row
 * group's viewers is settled by a claim per row group in shared memory (compare-and-exchange,
 * the first thread wins): self-balancing, as the worker takes row groups only while 2 to 8 ahead. With
 * Twitch ids (the bench file with ids: this thread 4.3 s, the worker 2.1 s) both columns' runs
 * are handed over.
 */

/** A row group's viewer column is not claimed yet, this thread's, the worker's. */
export const FREE = 0;
export const MINE = 1;
export const THEIRS = 2;

/**
 * The worker takes a row group's viewers only this many row groups ahead of this thread, so that
 * they are there when this thread gets to them (it does not wait on a decode under way).
 */
const LEAD = 2;
/**
 * Nor more than this many ahead: what is handed over waits here until this thread gets to it
 * (~2.5 MB a row group of 262,144 rows, ~5 MB with Twitch ids), so a worker far ahead leaves the
 * row groups to this thread rather than holding all of them in memory.
 */
const MAX_AHEAD = 8;

/** A row group the worker takes whatever the threads' pace (tests: `handEveryOther`). */
const PRESET = 3;
let everyOther = false;

/** Tests: the worker takes every other row group's viewers, from the second on, however far ahead. */
export function handEveryOther(on: boolean): void {
  everyOther = on;
}

/** Row groups handed over and declined since the counts were last reset (tests read them). */
export const handoffCounts = { handed: 0, declined: 0 };

/**
 * Claims, one per row group of the read, then the row group this thread is at (shared between
 * both threads).
 */
export function viewerClaims(units: number): Int32Array {
  const claims = new Int32Array(new SharedArrayBuffer(4 * (units + 1)));
  if (everyOther) for (let k = 1; k < units; k += 2) claims[k] = PRESET;
  return claims;
}

/** This thread takes row group `unit`'s viewers: whether they were still free. */
export function claimHere(claims: Int32Array, unit: number): boolean {
  Atomics.store(claims, claims.length - 1, unit);
  return Atomics.compareExchange(claims, unit, FREE, MINE) === FREE;
}

/** The worker takes row group `unit`'s viewers: whether it is far enough ahead, not too far, and they were free. */
export function claimThere(claims: Int32Array, unit: number): boolean {
  if (Atomics.compareExchange(claims, unit, PRESET, THEIRS) === PRESET) return true;
  const here = Atomics.load(claims, claims.length - 1);
  if (unit < here + LEAD || unit > here + MAX_AHEAD) return false;
  return Atomics.compareExchange(claims, unit, FREE, THEIRS) === FREE;
}

/**
 * A column of names as the worker decoded it: the bytes, each row's place in them, and its runs
 * (`keptRuns`: where each starts, then the row count; their hashes).
 */
export interface HandedColumn {
  bytes: Uint8Array;
  start: Int32Array;
  len: Int32Array;
  /** Rows. */
  rows: number;
  runStart: Int32Array;
  runHash: Int32Array;
  count: number;
}

/**
 * A row group's viewers as the worker decoded them: the logins, and the Twitch ids where the row
 * group has them. `declined` when they are not names with every row kept (a dictionary of logins
 * without ids, a bad name): this thread decodes them.
 */
export interface HandedViewers {
  unit: number;
  declined?: true;
  logins?: HandedColumn;
  ids?: HandedColumn;
}

/** The buffers of a hand-over, to transfer with its message. */
export function handedBuffers(h: HandedViewers): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const c of [h.logins, h.ids]) {
    if (!c) continue;
    for (const a of [c.bytes, c.start, c.len, c.runStart, c.runHash]) out.push(a.buffer as ArrayBuffer);
  }
  return out;
}

/** This thread's side: the row groups handed over, waited for by row group. */
export class ViewerHandoff {
  private readonly got = new Map<number, HandedViewers>();
  private readonly waiting = new Map<number, (h: HandedViewers | undefined) => void>();
  private closed = false;

  /** A note from the worker. */
  put(note: unknown): void {
    const h = note as HandedViewers;
    const wake = this.waiting.get(h.unit);
    if (wake) {
      this.waiting.delete(h.unit);
      wake(h);
    } else this.got.set(h.unit, h);
  }

  /** The worker has answered (or failed): nothing more comes; a row group still awaited is undefined. */
  close(): void {
    this.closed = true;
    for (const wake of this.waiting.values()) wake(undefined);
    this.waiting.clear();
  }

  /** Row group `unit`'s viewers (claimed by the worker): undefined when they never came. */
  async take(unit: number): Promise<HandedViewers | undefined> {
    let h = this.got.get(unit);
    if (h) this.got.delete(unit);
    else if (!this.closed)
      h = await new Promise<HandedViewers | undefined>((resolve) => this.waiting.set(unit, resolve));
    if (h?.declined) handoffCounts.declined++;
    else if (h) handoffCounts.handed++;
    return h;
  }
}
