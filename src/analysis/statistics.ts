/**
 * Descriptive statistics of one analysis, the figures users of the upstream tool asked for:
 * repeat vs one-off viewers, channels per viewer, viewers per channel, graph density, isolated
 * channels, edge weights, the top channels by degree and by strength, bots removed by rule.
 * Pure: typed arrays in, plain numbers out; one pass over the rows, one over the edges.
 */
import type { AtlasStatistics, CountDistribution, RankedChannel } from '../model/atlas.js';
import type { PresenceTable } from '../model/presence-table.js';
import type { Audience, OverlapGraph } from './types.js';

export interface StatisticsOptions {
  /** Channels listed in each top list (default 10). */
  top?: number;
  /** The aggregation window the audience came from (epoch ms; start inclusive, end exclusive). */
  windowStart?: number;
  windowEnd?: number;
}

export const STATISTICS_DEFAULTS = { top: 10 } as const;

const DAY_MS = 86_400_000;
const BINS: [string, number, number][] = [
  ['1', 1, 1],
  ['2', 2, 2],
  ['3-5', 3, 5],
  ['6-10', 6, 10],
  ['11-100', 11, 100],
  ['101-1000', 101, 1000],
  ['>1000', 1001, Number.POSITIVE_INFINITY],
];

/**
 * Mean, median, 90th percentile, max and a log-ish histogram of counts (zeros ignored). Counts
 * are integers: a counting pass over their values replaces a sort (2M viewers: ~25 ms instead
 * of ~450 ms for the sort and seven histogram passes).
 */
export function distribution(counts: Uint32Array | number[]): CountDistribution {
  let n = 0;
  let sum = 0;
  let max = 0;
  let integers = true;
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] as number;
    if (!(v > 0)) continue;
    n++;
    sum += v;
    if (v > max) max = v;
    if (integers && !Number.isInteger(v)) integers = false;
  }
  // Histogram of values 1..max when that is cheap (integers, max ≤ 4 × the count), else a sorted copy.
  const countable = integers && max <= Math.max(1024, 4 * counts.length);
  let valueAt: (rank: number) => number;
  const histogram = BINS.map(([bin]) => ({ bin, count: 0 }));
  const binOf = (v: number) => {
    for (let b = 0; b < BINS.length; b++) if (v <= (BINS[b] as [string, number, number])[2]) return b;
    return BINS.length - 1;
  };
  if (countable) {
    const freq = new Uint32Array(max + 1);
    for (let i = 0; i < counts.length; i++) {
      const v = counts[i] as number;
      if (v > 0) freq[v]!++;
    }
    for (let v = 1; v <= max; v++) if (freq[v]) histogram[binOf(v)]!.count += freq[v] as number;
    valueAt = (rank) => {
      let seen = 0;
      for (let v = 1; v <= max; v++) {
        seen += freq[v] as number;
        if (seen > rank) return v;
      }
      return max;
    };
  } else {
    const values = Float64Array.from(counts)
      .filter((v) => v > 0)
      .sort();
    for (const v of values) histogram[binOf(v)]!.count++;
    valueAt = (rank) => values[rank] as number;
  }
  const at = (q: number) => (n === 0 ? 0 : valueAt(Math.min(n - 1, Math.floor(q * (n - 1) + 0.5))));
  return {
    mean: n ? sum / n : 0,
    median: at(0.5),
    p90: at(0.9),
    max,
    histogram: histogram.filter((b) => b.count > 0),
  };
}

/** The repeat-viewer pass over rows [from, to) (one thread's share, arrays maybe shared). */
export interface RepeatPassInput {
  viewer: Uint32Array;
  ts: Float64Array;
  from: number;
  to: number;
  /** Per viewer: 0 not in the audience, 1 in it, 2 in it and seen on two days (set here). */
  inAudience: Uint8Array;
  /** Out, per viewer: 0 not seen yet, else the UTC day of its first row in the window + 2³¹. */
  firstDay: Uint32Array;
  windowStart: number;
  windowEnd: number;
}

/** A thread that takes a share of the repeat pass (`wait`: undefined when it failed). */
export interface RepeatsHelper {
  repeats?(input: RepeatPassInput): { wait(): number | undefined } | undefined;
  /** Fewer rows than this stay on one thread; default `REPEATS_PARALLEL_MIN_ROWS`. */
  minRows?: number;
}

/** Fewer rows than this stay on one thread. */
export const REPEATS_PARALLEL_MIN_ROWS = 2_000_000;

/**
 * Marks the viewers seen on two or more UTC days among rows [from, to) in the window. Two threads
 * may run it on the same `inAudience` at once (each only ever writes 2, and a viewer it sees
 * marked already needs no more looks); each has its own `firstDay`.
 */
export function repeatPass(input: RepeatPassInput): number {
  const { viewer, ts, from, to, inAudience, firstDay, windowStart, windowEnd } = input;
  // firstDay: days of any instant fit in 32 bits with the offset; a viewer marked 2 is known to
  // repeat, so its later rows cost one load.
  const OFFSET = 2 ** 31;
  for (let r = from; r < to; r++) {
    const v = viewer[r] as number;
    if (inAudience[v] !== 1) continue;
    const t = ts[r] as number;
    if (t < windowStart || t >= windowEnd) continue;
    const day = Math.floor(t / DAY_MS) + OFFSET;
    const first = firstDay[v] as number;
    if (first === 0) firstDay[v] = day;
    else if (first !== day) inAudience[v] = 2;
  }
  return to - from;
}

/** Whether `helper` can take a repeat pass over `table`'s rows: shared columns, enough rows. */
function helperTakes(
  table: PresenceTable,
  helper: RepeatsHelper | undefined,
): helper is RepeatsHelper & Required<Pick<RepeatsHelper, 'repeats'>> {
  return (
    helper?.repeats !== undefined &&
    [table.viewer, table.ts].every((a) => a.buffer instanceof SharedArrayBuffer) &&
    table.length >= (helper.minRows ?? REPEATS_PARALLEL_MIN_ROWS)
  );
}

/** A repeat pass over every row on a helper, begun before the audience is known (`startRepeatPass`). */
export interface PendingRepeats {
  /** Per viewer, set by the helper: 2 for a viewer seen on two or more UTC days in the window. */
  marks: Uint8Array;
  /** The helper's answer; undefined when it failed (the pass is then done here). */
  wait(): number | undefined;
}

/**
 * Hands the repeat pass over all of `table`'s rows to `helper` now (while this thread goes on with
 * the overlap), every viewer counted as in the audience; `atlasStatistics` keeps the marks of the
 * viewers that are. Undefined when the helper cannot take it (private columns, few rows).
 */
export function startRepeatPass(
  table: PresenceTable,
  viewerIdSpace: number,
  options: Pick<StatisticsOptions, 'windowStart' | 'windowEnd'>,
  helper: RepeatsHelper | undefined,
): PendingRepeats | undefined {
  if (!helperTakes(table, helper)) return undefined;
  const marks = new Uint8Array(new SharedArrayBuffer(viewerIdSpace)).fill(1);
  const job = helper.repeats({
    viewer: table.viewer,
    ts: table.ts,
    from: 0,
    to: table.length,
    inAudience: marks,
    firstDay: new Uint32Array(new SharedArrayBuffer(4 * viewerIdSpace)),
    windowStart: options.windowStart ?? Number.NEGATIVE_INFINITY,
    windowEnd: options.windowEnd ?? Number.POSITIVE_INFINITY,
  });
  return job ? { marks, wait: () => job.wait() } : undefined;
}

function topChannels(names: readonly string[], value: Float64Array, top: number): RankedChannel[] {
  const order = Array.from(value.keys()).filter((i) => (value[i] as number) > 0);
  order.sort((a, b) => (value[b] as number) - (value[a] as number) || (names[a]! < names[b]! ? -1 : 1));
  return order.slice(0, top).map((i) => ({ channel: names[i] as string, value: value[i] as number }));
}

export function atlasStatistics(
  graph: OverlapGraph,
  /** With `repeats`: the repeat pass begun on a helper (`startRepeatPass`) over these rows. */
  presence?: { table: PresenceTable; audience: Audience; repeats?: PendingRepeats },
  options: StatisticsOptions = {},
  /** A second thread for the pass over the rows (`spawnProjectionWorker`); none: one thread. */
  helper?: RepeatsHelper,
): AtlasStatistics {
  const top = options.top ?? STATISTICS_DEFAULTS.top;
  const n = graph.nodeNames.length;
  const degree = new Float64Array(n);
  const strength = new Float64Array(n);
  let maxWeight = 0;
  let sumWeight = 0;
  let maxShared = 0;
  let sumShared = 0;
  const { source, target, weight, shared } = graph;
  for (let e = 0; e < graph.length; e++) {
    const s = source[e] as number;
    const t = target[e] as number;
    const w = weight[e] as number;
    const sh = shared[e] as number;
    degree[s]! += 1;
    degree[t]! += 1;
    strength[s]! += w;
    strength[t]! += w;
    sumWeight += w;
    sumShared += sh;
    if (w > maxWeight) maxWeight = w;
    if (sh > maxShared) maxShared = sh;
  }
  let isolated = 0;
  for (let i = 0; i < n; i++) if (degree[i] === 0) isolated++;
  const m = graph.length;
  const stats: AtlasStatistics = {
    graph: {
      channels: n,
      edges: m,
      density: n > 1 ? m / ((n * (n - 1)) / 2) : 0,
      isolatedChannels: isolated,
      meanDegree: n ? (2 * m) / n : 0,
      meanWeight: m ? sumWeight / m : 0,
      maxWeight,
      meanShared: m ? sumShared / m : 0,
      maxShared,
    },
    topByDegree: topChannels(graph.nodeNames, degree, top),
    topByStrength: topChannels(graph.nodeNames, strength, top),
  };
  if (!presence) return stats;

  const { table, audience } = presence;
  const viewersPerChannel = new Uint32Array(audience.channelNames.length);
  for (let c = 0; c < viewersPerChannel.length; c++)
    viewersPerChannel[c] = (audience.offsets[c + 1] as number) - (audience.offsets[c] as number);
  stats.viewersPerChannel = distribution(viewersPerChannel);

  // The repeat pass below goes over the rows on two threads when a helper can take half of them
  // (shared columns, enough rows); the arrays both threads touch are shared then.
  const len = table.length;
  const parallel = helperTakes(table, helper);
  const onThreads = (bytes: number) => (parallel ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));

  // Viewers in the audience: those with at least one kept channel (viewer-major CSR when present).
  const inAudience = new Uint8Array(onThreads(audience.viewerIdSpace));
  const channelsPerViewer = new Uint32Array(audience.viewerIdSpace);
  const vo = audience.viewerOffsets;
  if (vo) {
    for (let v = 0; v < audience.viewerIdSpace; v++) {
      const d = (vo[v + 1] as number) - (vo[v] as number);
      channelsPerViewer[v] = d;
      inAudience[v] = d > 0 ? 1 : 0;
    }
  } else {
    for (let i = 0; i < audience.viewers.length; i++) {
      const v = audience.viewers[i] as number;
      inAudience[v] = 1;
      channelsPerViewer[v]! += 1;
    }
  }
  stats.channelsPerViewer = distribution(channelsPerViewer);

  // Repeat = seen on two or more UTC days inside the window (one pass over the rows; with a
  // helper, it takes the second half of the rows and the days are merged).
  const start = options.windowStart ?? Number.NEGATIVE_INFINITY;
  const end = options.windowEnd ?? Number.POSITIVE_INFINITY;
  const half = len >>> 1;
  const pass = (from: number, to: number): RepeatPassInput => ({
    viewer: table.viewer,
    ts: table.ts,
    from,
    to,
    inAudience,
    firstDay: new Uint32Array(onThreads(4 * audience.viewerIdSpace)),
    windowStart: start,
    windowEnd: end,
  });
  const pending = presence.repeats;
  if (pending && pending.wait() !== undefined) {
    // the helper's pass over every row: its marks count for the viewers in the audience
    const marks = pending.marks;
    for (let v = 0; v < inAudience.length; v++) if (inAudience[v] === 1 && marks[v] === 2) inAudience[v] = 2;
  } else {
    // here (a pass begun on a helper that failed is done again), maybe sharing it with `helper`
    const theirs = parallel ? pass(half, len) : undefined;
    const job = theirs && helper?.repeats?.(theirs);
    const mine = pass(0, job ? half : len);
    repeatPass(mine);
    if (job && theirs) {
      if (job.wait() === undefined) {
        theirs.firstDay.fill(0);
        repeatPass(theirs);
      }
      // seen on one day in each half: a repeat when the days differ
      const a = mine.firstDay;
      const b = theirs.firstDay;
      for (let v = 0; v < inAudience.length; v++) {
        if (inAudience[v] === 1 && a[v] !== 0 && b[v] !== 0 && a[v] !== b[v]) inAudience[v] = 2;
      }
    }
  }
  let total = 0;
  let repeats = 0;
  for (let v = 0; v < inAudience.length; v++) {
    const a = inAudience[v] as number;
    if (a === 0) continue;
    total++;
    if (a === 2) repeats++;
  }
  stats.viewers = {
    total,
    repeat: repeats,
    oneOff: total - repeats,
    repeatShare: total ? repeats / total : 0,
  };
  stats.botsRemoved = { ...audience.counts.botsRemoved };
  return stats;
}
