import type { PresenceTable } from '../model/presence-table.js';
import { KNOWN_BOT_SET } from './known-bots.js';
import type { Audience } from './types.js';

/** Options of `aggregate`; every field optional (see `AGGREGATE_DEFAULTS`). */
export interface AggregateOptions {
  /** Window start, epoch ms or ISO instant, inclusive; null = open. */
  windowStart: number | string | null;
  /** Window end, epoch ms or ISO instant, exclusive; null = open. */
  windowEnd: number | string | null;
  /** A viewer counts for a channel with at least this many messages there (summed over rows). */
  minMessages: number;
  /** … and in at least this many distinct time buckets (distinct `ts`) there. */
  minBuckets: number;
  /** Channels need at least this many viewers after the cuts. */
  minViewers: number;
  /** Remove the bundled known-bot list (`known-bots.ts`). */
  knownBots: boolean;
  /** More bot logins to remove (case-insensitive). */
  extraBots: readonly string[];
  /** A viewer present in more than this share of the channels … */
  maxChannelShare: number;
  /** … and in at least this many channels is treated as a bot. */
  botMinChannels: number;
  /**
   * Maps a bot login to the viewer id as stored, when viewers are pseudonymised (pass the
   * pseudonymizer): the known-bot and extra lists are then matched against the keyed hashes.
   */
  botNameMapper: ((login: string) => string) | null;
}

export const AGGREGATE_DEFAULTS: AggregateOptions = {
  windowStart: null,
  windowEnd: null,
  minMessages: 1,
  minBuckets: 1,
  minViewers: 5,
  knownBots: true,
  extraBots: [],
  maxChannelShare: 0.2,
  botMinChannels: 20,
  botNameMapper: null,
};

function toEpoch(v: number | string | null, key: string): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new RangeError(`aggregate: ${key} is not an ISO instant: ${JSON.stringify(v)}`);
  return t;
}

/**
 * Orders `rows` by viewer, stably (a counting sort; `rows` itself when it already comes viewer by
 * viewer, as simulated and many exported files do — the caller knows from its filter pass).
 */
function orderByViewer(
  rows: Uint32Array,
  viewer: Uint32Array,
  nViewers: number,
  alloc: (n: number) => Uint32Array,
): Uint32Array {
  const n = rows.length;
  const start = viewerStarts(rows, viewer, nViewers);
  const order = alloc(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    order[start[viewer[r]]++] = r;
  }
  return order;
}

/** Where each viewer's rows start in viewer order: a count per viewer, summed up. */
function viewerStarts(rows: Uint32Array, viewer: Uint32Array, nViewers: number): Uint32Array {
  const start = new Uint32Array(nViewers + 1);
  for (let i = 0; i < rows.length; i++) start[viewer[rows[i]] + 1]++;
  for (let v = 0; v < nViewers; v++) start[v + 1] += start[v];
  return start;
}

/** The columns the pair pass reads. */
interface PairColumns {
  viewer: Uint32Array;
  channel: Uint32Array;
  messages: Uint32Array;
}

/** Copies row `rows[i]`'s channel and messages to index `at[its viewer]++` of `out`, for every i. */
function scatterByViewer(rows: Uint32Array, table: PairColumns, at: Uint32Array, out: GatheredColumns): void {
  const n = rows.length;
  const { viewer, channel, messages } = table;
  const oc = out.channel;
  const om = out.messages;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const p = at[viewer[r]]++;
    oc[p] = channel[r];
    om[p] = messages[r];
  }
}

/** The copies `gatherByViewer` makes (the viewers need none: each one's run is known). */
interface GatheredColumns {
  channel: Uint32Array;
  messages: Uint32Array;
}

/** rows[0..) = each viewer v repeated up to `ends[v]` (the end of its run), v ascending. */
function fillRuns(rows: Uint32Array, ends: Uint32Array, nViewers: number): void {
  let p = 0;
  for (let v = 0; v < nViewers; v++) {
    const e = ends[v];
    while (p < e) rows[p++] = v;
  }
}

/**
 * `orderByViewer` for the pair pass, with the columns it reads copied into that order (channel
 * and messages into `out`), so that it reads them one after the other instead of one cache miss
 * per column and row: on rows in time order (a collector's) that pass took 1.7 s per thread
 * through the permutation, on 15.5M rows. `rows` becomes the viewer column in that order (each
 * viewer's run). With a helper, the work is shared (see `gatherInBuckets`); all arrays must then
 * be shared.
 */
function gatherByViewer(
  rows: Uint32Array,
  table: PairColumns,
  nViewers: number,
  out: GatheredColumns,
  /** Runs of one viewer `rows` make (counted by `filterRows`). */
  runs: number,
  helper?: Partial<AggregateHelper>,
): void {
  // Rows that come in runs of one viewer, only not ascending (files sorted by name, reversed):
  // the direct copy writes run after run, one after the other, and beats the buckets (15.5M rows
  // in descending runs, one thread: 0.26–0.37 s direct, 0.52–0.62 s by buckets).
  const grouped = runs * 4 <= rows.length;
  let ends = grouped ? undefined : gatherInBuckets(rows, table, nViewers, out, helper);
  if (!ends) {
    // the starts, advanced by the copy to each viewer's end
    ends = viewerStarts(rows, table.viewer, nViewers);
    scatterByViewer(rows, table, ends, out);
  }
  fillRuns(rows, ends, nViewers);
}

/** The shift of a viewer id to its bucket in `gatherInBuckets`: ≥ 1024 viewers a bucket, ≤ 2048 buckets. */
function bucketShift(nViewers: number): number {
  let shift = 10;
  while (nViewers > 2048 * 2 ** shift) shift++;
  return shift;
}

/**
 * The sort into viewer order in two cache-friendly passes instead of one scatter to a random place
 * per row (the table of where each viewer's rows go, one entry per viewer, is far bigger than the
 * caches): first each row's channel and messages go to its viewer's bucket (≤ 2048 buckets of
 * 2^shift viewers, so ≤ 2048 write streams, which the caches hold), with the viewer's place in its
 * bucket packed under the messages; then each bucket, a few thousand rows, is counting-sorted in
 * place within the caches. On 15.5M rows in random viewer order, one thread: 2.8–3.4 s → 0.7–1.0 s.
 * Stable, so the order is the plain counting sort's exactly. Returns the end of each viewer's run,
 * or undefined (nothing written) when some row's messages leave no room for the packing
 * (≥ 2^(32 − shift)).
 *
 * With a helper (`gather`), the helper counts and copies the second half of the rows (its rows go
 * after this half's within each bucket: still stable) and sorts the buckets that hold the second
 * half. A copy or sort it declines, or a copy it fails, is done here; after a count it declines
 * or fails, or a sort it fails, this thread starts again alone.
 */
export function gatherInBuckets(
  rows: Uint32Array,
  table: PairColumns,
  nViewers: number,
  out: GatheredColumns,
  helper?: Partial<AggregateHelper>,
): Uint32Array | undefined {
  const alone = () => gatherInBuckets(rows, table, nViewers, out);
  const n = rows.length;
  const shift = bucketShift(nViewers);
  const nb = nViewers === 0 ? 0 : ((nViewers - 1) >>> shift) + 1;
  const two = helper?.gather !== undefined && n >= 2 && nb >= 2;
  const array = (k: number) => (two ? new Uint32Array(new SharedArrayBuffer(4 * k)) : new Uint32Array(k));
  const half = two ? n >>> 1 : n;
  const mine = rows.subarray(0, half);
  const theirs = rows.subarray(half);
  const theirCounts = array(nb);
  const counting = two
    ? helper.gather?.({ phase: 'count', rows: theirs, table, shift, at: theirCounts })
    : undefined;
  if (two && !counting) return alone();
  const myCounts = new Uint32Array(nb);
  let maxMessages = countBuckets(mine, table, shift, myCounts);
  if (counting) {
    const theirMax = counting.wait();
    if (theirMax === undefined) return alone();
    maxMessages = Math.max(maxMessages, theirMax);
  }
  if (maxMessages >= 2 ** (32 - shift)) return undefined;
  // bucket b: this half's rows, then the other half's
  const start = array(nb + 1);
  const myAt = new Uint32Array(nb);
  const theirAt = array(nb);
  let p = 0;
  for (let b = 0; b < nb; b++) {
    start[b] = p;
    myAt[b] = p;
    p += myCounts[b];
    theirAt[b] = p;
    p += theirCounts[b];
  }
  start[nb] = p;
  const copying = two
    ? helper.gather?.({ phase: 'scatter', rows: theirs, table, shift, at: theirAt, out })
    : undefined;
  scatterToBuckets(mine, table, shift, myAt, out);
  // the helper copies from a copy of theirAt: done again here, the copy lands where it would have
  if (two && (!copying || copying.wait() === undefined)) scatterToBuckets(theirs, table, shift, theirAt, out);
  const ends = array(nViewers);
  // the helper sorts the buckets from where half the rows lie behind
  let mid = nb;
  if (two) {
    mid = 0;
    while (mid < nb - 1 && start[mid + 1] <= n / 2) mid++;
  }
  const sort = { phase: 'sort' as const, start, shift, nViewers, out, ends };
  const sorting = mid < nb ? helper?.gather?.({ ...sort, from: mid, to: nb }) : undefined;
  sortBuckets({ ...sort, from: 0, to: sorting ? mid : nb });
  // a failed sort may leave its buckets half done: all again from the rows (still as given)
  if (sorting && sorting.wait() === undefined) return alone();
  return ends;
}

/** One thread's share of `gatherInBuckets` on two threads (the worker's jobs). */
export type GatherInput =
  /** Adds each bucket's rows to `at`; answers the most messages of a row. */
  | { phase: 'count'; rows: Uint32Array; table: PairColumns; shift: number; at: Uint32Array }
  /** Copies the rows into their buckets from `at` on (a copy of it: `at` stays as given). */
  | {
      phase: 'scatter';
      rows: Uint32Array;
      table: PairColumns;
      shift: number;
      at: Uint32Array;
      out: GatheredColumns;
    }
  /** Sorts buckets [from, to) in place and writes their viewers' `ends`. */
  | BucketSort;

interface BucketSort {
  phase: 'sort';
  /** Where each bucket starts (nb + 1 entries). */
  start: Uint32Array;
  from: number;
  to: number;
  shift: number;
  nViewers: number;
  out: GatheredColumns;
  ends: Uint32Array;
}

export function gatherPart(input: GatherInput): number {
  if (input.phase === 'count') return countBuckets(input.rows, input.table, input.shift, input.at);
  if (input.phase === 'scatter') {
    scatterToBuckets(input.rows, input.table, input.shift, input.at.slice(), input.out);
    return input.rows.length;
  }
  sortBuckets(input);
  return input.to - input.from;
}

/** at[b] += the rows of bucket b among `rows`; returns the most messages of one of them. */
function countBuckets(rows: Uint32Array, table: PairColumns, shift: number, at: Uint32Array): number {
  const { viewer, messages } = table;
  let max = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    at[viewer[r] >>> shift]++;
    const m = messages[r];
    if (m > max) max = m;
  }
  return max;
}

/** Row rows[i]'s channel, and its messages · 2^shift + its viewer's place in its bucket, to `out` at at[bucket]++. */
function scatterToBuckets(
  rows: Uint32Array,
  table: PairColumns,
  shift: number,
  at: Uint32Array,
  out: GatheredColumns,
): void {
  const { viewer, channel, messages } = table;
  const div = 2 ** shift;
  const mask = div - 1;
  const oc = out.channel;
  const om = out.messages;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const v = viewer[r];
    const p = at[v >>> shift]++;
    oc[p] = channel[r];
    om[p] = messages[r] * div + (v & mask);
  }
}

/** Counting-sorts each bucket of [from, to) by its viewers' places, unpacking the messages. */
function sortBuckets(job: BucketSort): void {
  const { start, from, to, shift, nViewers, ends } = job;
  const oc = job.out.channel;
  const om = job.out.messages;
  const div = 2 ** shift;
  const mask = div - 1;
  let biggest = 0;
  for (let b = from; b < to; b++) biggest = Math.max(biggest, start[b + 1] - start[b]);
  const sc = new Uint32Array(biggest);
  const sm = new Uint32Array(biggest);
  const place = new Uint32Array(div);
  for (let b = from; b < to; b++) {
    const s = start[b];
    const size = start[b + 1] - s;
    const first = b * div;
    const last = Math.min(nViewers - first, div);
    if (size === 0) {
      ends.fill(s, first, first + last);
      continue;
    }
    place.fill(0);
    for (let k = 0; k < size; k++) {
      const pm = om[s + k];
      sc[k] = oc[s + k];
      sm[k] = pm;
      place[pm & mask]++;
    }
    // each viewer of the bucket: where its run starts, and (in `ends`) where it ends
    let p = s;
    for (let j = 0; j < last; j++) {
      const count = place[j];
      place[j] = p;
      p += count;
      ends[first + j] = p;
    }
    for (let k = 0; k < size; k++) {
      const pm = sm[k];
      const q = place[pm & mask]++;
      oc[q] = sc[k];
      om[q] = pm >>> shift;
    }
  }
}

/** Sorts a[0..n) ascending (insertion sort for the usual few values, else a typed sort). */
function sortSmall(a: Uint32Array, n: number): void {
  if (n > 32) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

/** Distinct values in ts[rows[from..to)] (small runs: pairwise scan; large: sort a copy). */
function distinctBuckets(ts: Float64Array, rows: Uint32Array, from: number, to: number): number {
  const n = to - from;
  if (n <= 1) return n;
  if (n <= 16) {
    let distinct = 0;
    for (let i = from; i < to; i++) {
      let dup = false;
      for (let j = from; j < i; j++) {
        if (ts[rows[j]] === ts[rows[i]]) {
          dup = true;
          break;
        }
      }
      if (!dup) distinct++;
    }
    return distinct;
  }
  const copy = new Float64Array(n);
  for (let i = 0; i < n; i++) copy[i] = ts[rows[from + i]];
  copy.sort();
  let distinct = 1;
  for (let i = 1; i < n; i++) if (copy[i] !== copy[i - 1]) distinct++;
  return distinct;
}

/**
 * The pair pass over one range of viewer-ordered rows (all of them, or one thread's share).
 * Arrays may sit on SharedArrayBuffers: a worker then writes its share in place.
 */
export interface PairPassInput {
  channel: Uint32Array;
  viewer: Uint32Array;
  ts: Float64Array;
  messages: Uint32Array;
  /** The range's rows, viewer-ordered; the pairs' viewers are written over it. */
  byViewer: Uint32Array;
  /**
   * The columns are in viewer order already: the range's rows are `sequential + j` for j over
   * `byViewer`'s indexes, whose values are not read (it only receives the pairs' viewers).
   */
  sequential?: number;
  /** Out: the pairs' channels and presence rows (at least `byViewer.length` long). */
  pairChannel: Uint32Array;
  pairRows: Uint32Array;
  /** Out: qualifying channels per viewer, over the whole id space (only the range's viewers change). */
  viewerDegree: Uint32Array;
  nChannels: number;
  minMessages: number;
  minBuckets: number;
}

/** What a pair pass found besides the pairs it wrote. */
export interface PairsFound {
  count: number;
  viewersSeen: number;
  channelActive: Uint8Array;
  channelsSeenMask: Uint8Array;
}

/** The row filter over rows [from, to): in the window and not a known bot. */
export interface FilterInput {
  viewer: Uint32Array;
  ts: Float64Array;
  /** Per viewer: 1 = known bot. */
  isBot: Uint8Array;
  /** Out: 1 for each known bot that had rows in the window. */
  knownBotsSeen: Uint8Array;
  from: number;
  to: number;
  /** Out: the kept row numbers, from index 0. */
  rows: Uint32Array;
  windowStart: number;
  windowEnd: number;
}

export interface FilterResult {
  kept: number;
  rowsInWindow: number;
  /** The kept rows come viewer by viewer (ascending). */
  ordered: boolean;
  /** Viewer of the first and last kept row (0 when none). */
  first: number;
  last: number;
  /** Runs of one viewer the kept rows make (1 + the changes of viewer from a kept row to the next). */
  runs: number;
}

/** Rows to keep, noting on the way whether they come viewer by viewer (then no sort is needed). */
export function filterRows(input: FilterInput): FilterResult {
  const { viewer, ts, isBot, knownBotsSeen, from, to, rows, windowStart, windowEnd } = input;
  let kept = 0;
  let rowsInWindow = 0;
  let ordered = true;
  let previous = 0;
  let first = -1;
  let runs = 0;
  // An open window (the usual case) needs no look at the times.
  const windowed = windowStart > Number.NEGATIVE_INFINITY || windowEnd < Number.POSITIVE_INFINITY;
  for (let r = from; r < to; r++) {
    if (windowed) {
      const time = ts[r];
      if (time < windowStart || time >= windowEnd) continue;
    }
    rowsInWindow++;
    const v = viewer[r];
    if (isBot[v] === 1) {
      knownBotsSeen[v] = 1;
      continue;
    }
    if (v < previous) ordered = false;
    if (v !== previous || first < 0) runs++;
    if (first < 0) first = v;
    previous = v;
    rows[kept++] = r;
  }
  return { kept, rowsInWindow, ordered, first: Math.max(first, 0), last: previous, runs };
}

/** Rows this thread filters between looks at whether the worker is ready (at most). */
const FILTER_CHUNK = 1 << 19;

/** Two consecutive filter results as one (the second's rows right after the first's). */
function joinFiltered(a: FilterResult, b: FilterResult): FilterResult {
  if (a.kept === 0)
    return { ...b, rowsInWindow: a.rowsInWindow + b.rowsInWindow, ordered: a.ordered && b.ordered };
  if (b.kept === 0)
    return { ...a, rowsInWindow: a.rowsInWindow + b.rowsInWindow, ordered: a.ordered && b.ordered };
  return {
    kept: a.kept + b.kept,
    rowsInWindow: a.rowsInWindow + b.rowsInWindow,
    ordered: a.ordered && b.ordered && a.last <= b.first,
    first: a.first,
    last: b.last,
    runs: a.runs + b.runs - (a.last === b.first ? 1 : 0),
  };
}

/**
 * One thread's share of the rows: their filter, and (`pairs` given) their pair pass over the kept
 * rows, done only when they come viewer by viewer and after viewer `after`.
 */
export interface PartInput {
  filter: FilterInput;
  pairs?: PairPassInput & { after: number };
}

export interface PartResult {
  filter: FilterResult;
  /** Absent when the pair pass was not asked for or the rows were not in order. */
  pairs?: PairsFound;
}

/** `filterRows`, then the pair pass when asked for and the rows allow it (the worker's job). */
export function aggregatePart(input: PartInput): PartResult {
  const filter = filterRows(input.filter);
  const p = input.pairs;
  if (!p || !filter.ordered || (filter.kept > 0 && filter.first <= p.after)) return { filter };
  const byViewer = input.filter.rows.subarray(0, filter.kept);
  return {
    filter,
    pairs: qualifyingPairs({
      ...p,
      byViewer,
      pairChannel: p.pairChannel.subarray(0, filter.kept),
      pairRows: p.pairRows.subarray(0, filter.kept),
    }),
  };
}

/**
 * A second thread for aggregate (`spawnProjectionWorker` gives one): `part` hands it the filter
 * (and pair pass) of the second half of the rows, `pairs` the pair pass over a range of ordered
 * rows; both return undefined when it cannot take the job, and `wait` undefined when it failed.
 */
export interface AggregateHelper {
  part(input: PartInput): { wait(): PartResult | undefined } | undefined;
  pairs(input: PairPassInput): { wait(): PairsFound | undefined } | undefined;
  /** A share of the sort into viewer order (`gatherPart`). */
  gather?(input: GatherInput): { wait(): number | undefined } | undefined;
  /** Fewer kept rows than this stay on one thread; default `PARALLEL_AGGREGATE_MIN_ROWS`. */
  minRows?: number;
}

/** Below this many kept rows the pair pass stays on one thread (the hand-over costs more). */
export const PARALLEL_AGGREGATE_MIN_ROWS = 2_000_000;

/**
 * One pass over the viewers' runs of rows (`byViewer`, viewer-ordered): per channel of the run
 * its messages and rows are summed in scratch slots, then the run's channels (few) are sorted and
 * the pairs meeting min_messages / min_buckets come out in (viewer, channel) order. Rows are
 * summed in row order, as a sort by (viewer, channel, row) would. The viewers of the pairs reuse
 * `byViewer` (pair p is written at index p ≤ the start of the run just read, and later reads are
 * further on).
 */
export function qualifyingPairs(input: PairPassInput): PairsFound {
  const { channel, viewer, ts, messages, byViewer, pairChannel, pairRows, viewerDegree } = input;
  const { nChannels, minMessages, minBuckets } = input;
  const kept = byViewer.length;
  const pairViewer = byViewer;
  const channelActive = new Uint8Array(nChannels);
  const channelsSeenMask = new Uint8Array(nChannels);
  const runRows = new Uint32Array(nChannels);
  const runMessages = new Float64Array(nChannels);
  const touched = new Uint32Array(nChannels);
  // min_buckets > 1 only: the run's rows grouped by channel, and where each channel's group starts.
  const checkBuckets = minBuckets > 1;
  let grouped = new Uint32Array(checkBuckets ? 64 : 0);
  const groupAt = new Uint32Array(checkBuckets ? nChannels : 0);
  let pairs = 0;
  let viewersSeen = 0;
  let i = 0;
  const base = input.sequential ?? -1;
  while (i < kept) {
    const v = viewer[base >= 0 ? base + i : byViewer[i]];
    let j = i;
    let distinct = 0;
    for (; j < kept; j++) {
      const r = base >= 0 ? base + j : byViewer[j];
      if (viewer[r] !== v) break;
      const c = channel[r];
      if (runRows[c] === 0) touched[distinct++] = c;
      runRows[c]++;
      runMessages[c] += messages[r];
    }
    viewersSeen++;
    sortSmall(touched, distinct);
    if (checkBuckets) {
      if (grouped.length < j - i) grouped = new Uint32Array(2 * (j - i));
      let at = 0;
      for (let d = 0; d < distinct; d++) {
        const c = touched[d];
        groupAt[c] = at;
        at += runRows[c];
      }
      for (let q = i; q < j; q++) {
        const r = base >= 0 ? base + q : byViewer[q];
        grouped[groupAt[channel[r]]++] = r;
      }
    }
    let end = 0;
    for (let d = 0; d < distinct; d++) {
      const c = touched[d];
      const count = runRows[c];
      const msgs = runMessages[c];
      runRows[c] = 0;
      runMessages[c] = 0;
      channelsSeenMask[c] = 1;
      end += count;
      if (
        msgs >= minMessages &&
        (!checkBuckets || distinctBuckets(ts, grouped, end - count, end) >= minBuckets)
      ) {
        pairViewer[pairs] = v;
        pairChannel[pairs] = c;
        pairRows[pairs] = count;
        pairs++;
        viewerDegree[v]++;
        channelActive[c] = 1;
      }
    }
    i = j;
  }
  return { count: pairs, viewersSeen, channelActive, channelsSeenMask };
}

/**
 * Appends the pairs the other thread wrote at `from` in `arrays` (viewers, channels, rows) to
 * those of this thread, which end at `found.count`, and merges what both saw.
 */
function appendPairs(found: PairsFound, other: PairsFound, arrays: Uint32Array[], from: number): void {
  for (const a of arrays) a.copyWithin(found.count, from, from + other.count);
  found.count += other.count;
  found.viewersSeen += other.viewersSeen;
  for (let c = 0; c < found.channelActive.length; c++) {
    found.channelActive[c] |= other.channelActive[c];
    found.channelsSeenMask[c] |= other.channelsSeenMask[c];
  }
}

/**
 * Presence rows → audiences: per channel the sorted unique viewers who count for it.
 * Steps, all on typed arrays: window + known-bot cut per row; rows ordered by viewer (a stable
 * counting sort, skipped when they already are); per viewer, its rows summed by channel and its
 * channels sorted; per (viewer, channel), min_messages and min_buckets;
 * behavioural bots (in more than `maxChannelShare` of the active channels and at least
 * `botMinChannels` of them); channels below `minViewers` dropped; CSR by channel.
 */
export function aggregate(
  table: PresenceTable,
  options: Partial<AggregateOptions> = {},
  helper?: Partial<AggregateHelper>,
): Audience {
  const o = { ...AGGREGATE_DEFAULTS, ...options };
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number) => {
    timings[name] = Math.round((performance.now() - since) * 10) / 10;
    return performance.now();
  };
  const windowStart = toEpoch(o.windowStart, 'windowStart') ?? Number.NEGATIVE_INFINITY;
  const windowEnd = toEpoch(o.windowEnd, 'windowEnd') ?? Number.POSITIVE_INFINITY;
  const nChannels = table.channelNames.length;
  const nViewers = table.viewerCount ?? table.viewerNames.length;
  const n = table.length;

  // Two threads (filter and pair pass split at a viewer boundary) when a helper is there, the rows
  // are many and the columns are shared (the readers give shared columns); the arrays both
  // threads read or write are shared then too.
  const parallel =
    helper?.part !== undefined &&
    helper.pairs !== undefined &&
    n >= (helper.minRows ?? PARALLEL_AGGREGATE_MIN_ROWS) &&
    [table.channel, table.viewer, table.ts, table.messages].every(
      (a) => a.buffer instanceof SharedArrayBuffer,
    );
  const alloc = (len: number) =>
    parallel ? new Uint32Array(new SharedArrayBuffer(4 * len)) : new Uint32Array(len);
  const allocBytes = (len: number) =>
    parallel ? new Uint8Array(new SharedArrayBuffer(len)) : new Uint8Array(len);

  // Known bots: one look-up per distinct viewer name, never per row.
  const isBot = allocBytes(nViewers);
  const botNames = new Set<string>();
  const stored = o.botNameMapper ?? ((login: string) => login);
  if (o.knownBots) for (const b of KNOWN_BOT_SET) botNames.add(stored(b));
  for (const b of o.extraBots) botNames.add(stored(b.toLowerCase()));
  const knownBotIds = new Set<number>();
  const { findViewer, findViewers } = table;
  if (botNames.size > 0 && (findViewer || findViewers)) {
    // Look the few bot names up instead of building millions of viewer names.
    for (const name of botNames) {
      for (const v of findViewers ? findViewers(name) : [(findViewer as (login: string) => number)(name)]) {
        if (v >= 0 && v < nViewers) {
          isBot[v] = 1;
          knownBotIds.add(v);
        }
      }
    }
  } else if (botNames.size > 0) {
    for (let v = 0; v < nViewers; v++) {
      if (botNames.has(table.viewerNames[v])) {
        isBot[v] = 1;
        knownBotIds.add(v);
      }
    }
  }

  // Rows to keep: in the window, not a known bot; noting on the way whether they come viewer by
  // viewer (then no sort is needed).
  let t = performance.now();
  const rows = alloc(n);
  const { channel, viewer, ts, messages } = table;
  const knownBotsSeen = allocBytes(nViewers);
  // The pairs: viewers over the kept rows, channels and row counts beside them.
  const pairChannel = alloc(n);
  const pairRows = alloc(n);
  const viewerDegree = alloc(nViewers);
  const filterOf = (from: number, to: number): FilterInput => ({
    viewer,
    ts,
    isBot,
    knownBotsSeen,
    from,
    to,
    rows: rows.subarray(from),
    windowStart,
    windowEnd,
  });
  const passOf = (byViewer: Uint32Array, at: number): PairPassInput => ({
    channel,
    viewer,
    ts,
    messages,
    byViewer,
    pairChannel: pairChannel.subarray(at, at + byViewer.length),
    pairRows: pairRows.subarray(at, at + byViewer.length),
    viewerDegree,
    nChannels,
    minMessages: o.minMessages,
    minBuckets: o.minBuckets,
  });
  let kept: number;
  let rowsInWindow: number;
  let viewerOrdered: boolean;
  /** Runs of one viewer the kept rows make (when they are not viewer-ordered). */
  let runs = 0;
  /** The pairs, when both threads already found them (viewer-ordered rows). */
  let found: PairsFound | undefined;
  if (!parallel) {
    const all = filterRows(filterOf(0, n));
    ({ kept, rowsInWindow, ordered: viewerOrdered, runs } = all);
  } else {
    // This thread filters chunk by chunk; as soon as the worker is ready (usually at once, else
    // after a few chunks) it takes the rows from a viewer boundary near the middle on: it filters
    // them, and pairs them too when they come viewer by viewer after the viewers before them
    // (checked again below, with this thread's kept rows).
    let mine: FilterResult = { kept: 0, rowsInWindow: 0, ordered: true, first: 0, last: 0, runs: 0 };
    let job: { wait(): PartResult | undefined } | undefined;
    let rawSplit = n;
    const chunk = Math.min(FILTER_CHUNK, Math.max(64, n >>> 4));
    // The pair pass costs about twice the filter, so the split that evens the work out stays near
    // the middle: n/2 + pos/6. Past it, the pair pass alone is shared (below).
    let tryPart = true;
    for (let pos = 0; pos < rawSplit; ) {
      let split = Math.floor(n / 2 + pos / 6);
      if (split < pos + chunk) tryPart = false;
      if (!job && tryPart) {
        while (split < n && viewer[split] === viewer[split - 1]) split++;
        const rest = filterOf(split, n);
        const after = viewer[split - 1];
        if (split < n) {
          job = helper?.part?.({
            filter: rest,
            pairs: mine.ordered ? { ...passOf(rest.rows, split), after } : undefined,
          });
        }
        if (job) rawSplit = split;
      }
      const to = Math.min(rawSplit, pos + chunk);
      mine = joinFiltered(mine, filterRows({ ...filterOf(pos, to), rows: rows.subarray(mine.kept) }));
      pos = to;
    }
    if (!job) {
      ({ kept, rowsInWindow, ordered: viewerOrdered, runs } = mine);
    } else if (mine.ordered) {
      found = qualifyingPairs(passOf(rows.subarray(0, mine.kept), 0));
      const theirs = job.wait();
      // Without its pairs (its rows were not in order), with a failure, or with its first viewer
      // not after this thread's last (a filtered row can hide that), this thread's rows are gone
      // (pairs were written over them): start again on this thread alone.
      if (!theirs?.pairs || (mine.kept > 0 && theirs.filter.kept > 0 && mine.last >= theirs.filter.first)) {
        return aggregate(table, options);
      }
      appendPairs(found, theirs.pairs, [rows, pairChannel, pairRows], rawSplit);
      timings.threads = 2;
      kept = mine.kept + theirs.filter.kept;
      rowsInWindow = mine.rowsInWindow + theirs.filter.rowsInWindow;
      viewerOrdered = true;
    } else {
      const theirs = job.wait();
      // A failure, or pairs over rows that follow rows out of order: its rows are gone.
      if (!theirs || theirs.pairs) return aggregate(table, options);
      const other = theirs.filter;
      rows.copyWithin(mine.kept, rawSplit, rawSplit + other.kept);
      ({ kept, rowsInWindow, ordered: viewerOrdered, runs } = joinFiltered(mine, other));
    }
  }
  let knownRemoved = 0;
  for (const v of knownBotIds) knownRemoved += knownBotsSeen[v];
  t = lap('filter', t);

  let pairViewer: Uint32Array = rows;
  if (!found) {
    const keptRows = rows.subarray(0, kept);
    let byViewer: Uint32Array = keptRows;
    let pass = passOf;
    if (!viewerOrdered && o.minBuckets > 1) {
      // the bucket check reads each row's instant through the order
      byViewer = orderByViewer(keptRows, viewer, nViewers, alloc);
    } else if (!viewerOrdered) {
      // The copies: channels and messages where the pass writes its pairs' channels and row
      // counts, the viewers over the kept rows (pair p is written at index p ≤ the start of the
      // run just read, as over byViewer).
      const gathered = { channel: pairChannel, messages: pairRows };
      const columns = { viewer, channel, messages };
      gatherByViewer(keptRows, columns, nViewers, gathered, runs, parallel ? helper : undefined);
      // keptRows is the viewer column now; the pass reads the copies in order
      pass = (b, at) => ({ ...passOf(b, at), ...gathered, viewer: keptRows, sequential: at });
    }
    t = lap('sort', t);
    // The second thread takes the pair pass from a viewer boundary near the middle on.
    let split = kept;
    let theirs: { wait(): PairsFound | undefined } | undefined;
    if (parallel) {
      split = Math.max(1, kept >>> 1);
      const { viewer: runViewer, sequential } = pass(byViewer, 0);
      const at = (k: number) => runViewer[sequential === undefined ? byViewer[k] : k];
      while (split < kept && at(split) === at(split - 1)) split++;
      theirs = split < kept ? helper?.pairs?.(pass(byViewer.subarray(split), split)) : undefined;
      if (!theirs) split = kept;
    }
    found = qualifyingPairs(pass(byViewer.subarray(0, split), 0));
    if (theirs) {
      const other = theirs.wait();
      // It wrote into these arrays and gave up or failed: start again on this thread alone.
      if (!other) return aggregate(table, options);
      appendPairs(found, other, [byViewer, pairChannel, pairRows], split);
      timings.threads = 2;
    }
    pairViewer = byViewer;
  }
  const { channelActive, channelsSeenMask, viewersSeen } = found;
  const pairs = found.count;
  const pairsQualified = pairs;
  let channelsSeen = 0;
  for (let c = 0; c < nChannels; c++) channelsSeen += channelsSeenMask[c];
  let activeChannels = 0;
  for (let c = 0; c < nChannels; c++) activeChannels += channelActive[c];
  t = lap('pairs', t);

  // Behavioural bots: present in an implausible share of the channels.
  const botThreshold = Math.max(o.botMinChannels, Math.floor(o.maxChannelShare * activeChannels) + 1);
  let behavioural = 0;
  for (let v = 0; v < nViewers; v++) {
    if (viewerDegree[v] >= botThreshold) {
      isBot[v] = 2;
      behavioural++;
    }
  }

  // Channel sizes without the behavioural bots, then the min_viewers cut.
  const channelSize = new Uint32Array(nChannels);
  for (let p = 0; p < pairs; p++) if (isBot[pairViewer[p]] === 0) channelSize[pairChannel[p]]++;
  const keptIndex = new Int32Array(nChannels).fill(-1);
  const channelIds: number[] = [];
  let below = 0;
  for (let c = 0; c < nChannels; c++) {
    if (channelSize[c] === 0) continue;
    if (channelSize[c] < o.minViewers) {
      below++;
      continue;
    }
    keptIndex[c] = channelIds.length;
    channelIds.push(c);
  }
  const k = channelIds.length;

  // Viewer-major CSR of the kept pairs (they are in viewer order, channels ascending, and the
  // kept-channel renumbering keeps that order): what the projection reads.
  const viewerOffsets = new Uint32Array(nViewers + 1);
  let used = 0;
  for (let c = 0; c < k; c++) used += channelSize[channelIds[c] as number] as number;
  const viewerChannels = new Uint32Array(used);
  let rowsUsed = 0;
  let w = 0;
  for (let p = 0; p < pairs; p++) {
    const kc = keptIndex[pairChannel[p]];
    const v = pairViewer[p];
    if (kc < 0 || isBot[v] !== 0) continue;
    viewerChannels[w++] = kc;
    viewerOffsets[v + 1]++;
    rowsUsed += pairRows[p];
  }
  let viewerCount = 0;
  for (let v = 0; v < nViewers; v++) {
    if (viewerOffsets[v + 1] > 0) viewerCount++;
    viewerOffsets[v + 1] += viewerOffsets[v];
  }
  // Channel-major CSR: offsets from the channel sizes; the viewer lists (a transpose, scattered
  // writes over the whole array) only when something reads them — the analysis does not.
  const offsets = new Uint32Array(k + 1);
  for (let c = 0; c < k; c++) offsets[c + 1] = offsets[c] + (channelSize[channelIds[c] as number] as number);
  let viewers: Uint32Array | undefined;
  const channelMajor = () => {
    if (viewers) return viewers;
    const list = new Uint32Array(used);
    const cursor = offsets.slice(0, k);
    for (let v = 0; v < nViewers; v++) {
      for (let j = viewerOffsets[v]; j < viewerOffsets[v + 1]; j++) list[cursor[viewerChannels[j]]++] = v;
    }
    viewers = list;
    return list;
  };
  lap('csr', t);
  timings.total = Math.round((performance.now() - t0) * 10) / 10;

  return {
    channelNames: channelIds.map((c) => table.channelNames[c]),
    channelIds: Uint32Array.from(channelIds),
    offsets,
    get viewers() {
      return channelMajor();
    },
    viewerOffsets,
    viewerChannels,
    viewerIdSpace: nViewers,
    viewerCount,
    counts: {
      rows: n,
      rowsInWindow,
      rowsUsed,
      pairsQualified,
      pairs: used,
      channelsSeen,
      channelsKept: k,
      channelsBelowMinViewers: below,
      viewersSeen: viewersSeen + knownRemoved,
      viewers: viewerCount,
      botsRemoved: { known: knownRemoved, behavioural, total: knownRemoved + behavioural },
    },
    timings,
  };
}
