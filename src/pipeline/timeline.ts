/**
 * `timeline`: the analysis per time window, communities tracked across windows. The presence is
 * read once; each window is a slice of its rows run through the same stages as `analyze`
 * (aggregate → overlap graph → communities → labels, same config and seed), then
 * `trackWindow` gives every community and group an id that persists while it continues.
 */

import {
  type ChannelReport,
  channelReport,
  channelReports,
  type OverlapMover,
  overlapMovers,
} from '../analysis/channel-report.js';
import type { ProjectionHelper } from '../analysis/overlap.js';
import {
  type CommunityEvent,
  initialTracking,
  type TrackingState,
  trackWindow,
} from '../analysis/tracking.js';
import type { OverlapGraph } from '../analysis/types.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { PresenceTable } from '../model/presence-table.js';
import type { ProgressFn } from '../model/progress.js';
import type { ChannelMetadata } from '../model/records.js';
import type { TimelineTables, TimelineWindow, TimelineWindowSummary } from '../model/timeline.js';
import { type AnalysisResult, presenceGraph, runAnalysis } from './stages.js';

const DAY_MS = 86_400_000;

/** `1d`, `7d`, `30d`, `12h`, `90m` → milliseconds; null when not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(m|h|d|w)$/.exec(text.trim());
  if (!m) return null;
  const unit = { m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }[m[2] as 'm' | 'h' | 'd' | 'w'];
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : null;
}

/**
 * Windows over [first, last] row: consecutive (`every`), or sliding (`window` long, one every
 * `every`). They start at the UTC midnight of the first row, so daily windows are calendar days.
 */
export function timelineWindows(
  first: number,
  last: number,
  everyMs: number,
  windowMs = everyMs,
): TimelineWindow[] {
  const windows: TimelineWindow[] = [];
  const origin = Math.floor(first / DAY_MS) * DAY_MS;
  for (let start = origin; start <= last; start += everyMs) {
    windows.push({ start, end: start + windowMs });
    if (start + windowMs > last) break;
  }
  return windows;
}

/** The windows over the rows' time span; InputError when there are no rows. */
function windowsOf(table: PresenceTable, opts: { everyMs: number; windowMs?: number }, component: string) {
  if (table.length === 0) throw new InputError(component, 'no presence rows to analyse');
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < table.length; r++) {
    const ts = table.ts[r] as number;
    if (ts < first) first = ts;
    if (ts > last) last = ts;
  }
  return timelineWindows(first, last, opts.everyMs, opts.windowMs);
}

export interface TimelineResult extends TimelineTables {
  /** Per window: the overlap graph (for the layout and the channel reports). */
  graphs: OverlapGraph[];
}

/** What the rows of a tracked community carry from its window. */
interface TrackedInfo {
  label: string;
  size: number;
  group: number;
  groupLabel: string;
  viewers: number;
}

const emptyGraph = (): OverlapGraph => ({
  nodeNames: [],
  nodeAudience: new Float64Array(0),
  source: new Uint32Array(0),
  target: new Uint32Array(0),
  shared: new Float64Array(0),
  weight: new Float64Array(0),
  length: 0,
});

export interface TimelineOptions {
  everyMs: number;
  /** Sliding windows of this length (default: consecutive windows of `everyMs`). */
  windowMs?: number;
  onProgress?: ProgressFn;
  /** Maps bot logins to stored ids (pseudonymised storage). */
  botNameMapper?: ((login: string) => string) | null;
  /** A second thread for each window's overlap projection (`spawnProjectionWorker`). */
  projection?: ProjectionHelper;
}

/**
 * Cuts a table into its windows' rows. When every window is a whole number of steps (`windowMs`
 * a multiple of `everyMs`, the default), the table's rows are put in step order once, in place (a
 * stable counting sort, column by column; rows outside every step are dropped: the table is the
 * timeline's to consume), and a window is a run of steps: views of the columns, nothing copied.
 * (Each window copying its rows out of the table in row order read them a cache miss per column
 * and row: 2.8 s of 30 daily windows over 15.5M rows in `--cpu-prof`, against 1.2 s for this
 * sort.) Otherwise each window scans the table. Rows keep their order within a step; nothing
 * downstream depends on the order across steps (aggregate sorts by viewer and channel).
 */
export function windowSlicer(
  table: PresenceTable,
  windows: readonly TimelineWindow[],
  everyMs: number,
  windowMs: number,
): (w: TimelineWindow) => PresenceTable {
  const origin = windows[0]?.start ?? 0;
  if (windowMs % everyMs !== 0 || windows.length < 2) return (w) => sliceTable(table, w.start, w.end);
  const steps = windows.length - 1 + windowMs / everyMs;
  const stepOf = (ts: number) => {
    let k = Math.floor((ts - origin) / everyMs);
    // exact at step edges, whatever the division rounded to
    if (origin + k * everyMs > ts) k--;
    else if (origin + (k + 1) * everyMs <= ts) k++;
    return k;
  };
  // Each row's step (`steps`: none), then where each step starts.
  const n = table.length;
  const stepOfRow = steps < 0xffff ? new Uint16Array(n) : new Uint32Array(n);
  const start = new Uint32Array(steps + 1);
  for (let r = 0; r < n; r++) {
    const k = stepOf(table.ts[r] as number);
    if (k >= 0 && k < steps) {
      stepOfRow[r] = k;
      start[k + 1]!++;
    } else stepOfRow[r] = steps;
  }
  for (let k = 0; k < steps; k++) start[k + 1]! += start[k] as number;
  const kept = start[steps] as number;
  // Column by column (the old one can go before the next is made): rows read in order, written
  // to one run per step.
  const inStepOrder = <T extends Uint32Array | Float64Array>(column: T, empty: (n: number) => T): T => {
    const out = empty(kept);
    const fill = start.slice(0, steps);
    for (let r = 0; r < n; r++) {
      const k = stepOfRow[r] as number;
      if (k < steps) out[fill[k]!++] = column[r] as number;
    }
    return out;
  };
  table.channel = inStepOrder(table.channel, (m) => new Uint32Array(m));
  table.viewer = inStepOrder(table.viewer, (m) => new Uint32Array(m));
  table.ts = inStepOrder(table.ts, (m) => new Float64Array(m));
  table.messages = inStepOrder(table.messages, (m) => new Uint32Array(m));
  table.length = kept;
  return (w) => {
    const first = Math.round((w.start - origin) / everyMs);
    const from = start[Math.max(0, first)] as number;
    const to = start[Math.min(steps, first + windowMs / everyMs)] as number;
    return windowView(table, from, to);
  };
}

/** Rows [from, to) of `table` as a table of their own: views of its columns. */
function windowView(table: PresenceTable, from: number, to: number): PresenceTable {
  return windowTable(table, {
    channel: table.channel.subarray(from, to),
    viewer: table.viewer.subarray(from, to),
    ts: table.ts.subarray(from, to),
    messages: table.messages.subarray(from, to),
  });
}

/** A window's table: these columns, `table`'s names shared (ids stay comparable across windows). */
function windowTable(
  table: PresenceTable,
  columns: Pick<PresenceTable, 'channel' | 'viewer' | 'ts' | 'messages'>,
): PresenceTable {
  return {
    channelNames: table.channelNames,
    // Not read here (nor spread: that reads it): reading it would build every viewer's name
    // (millions of strings), and a window without `findViewer` made aggregate look each one up in
    // the bot list (~45 ms a window).
    get viewerNames() {
      return table.viewerNames;
    },
    viewerCount: table.viewerCount,
    findViewer: table.findViewer,
    findViewers: table.findViewers,
    length: columns.channel.length,
    ...columns,
  };
}

/** The rows of `table` with ts in [start, end), sharing its name arrays (ids stay comparable). */
function sliceTable(table: PresenceTable, start: number, end: number): PresenceTable {
  let n = 0;
  for (let r = 0; r < table.length; r++) {
    const ts = table.ts[r] as number;
    if (ts >= start && ts < end) n++;
  }
  const rows = new Uint32Array(n);
  let i = 0;
  for (let r = 0; r < table.length; r++) {
    const ts = table.ts[r] as number;
    if (ts >= start && ts < end) rows[i++] = r;
  }
  return gatherRows(table, rows);
}

/** A table of the given rows of `table`, in that order, sharing its name arrays. */
function gatherRows(table: PresenceTable, rows: Uint32Array): PresenceTable {
  const n = rows.length;
  const out = windowTable(table, {
    channel: new Uint32Array(n),
    viewer: new Uint32Array(n),
    ts: new Float64Array(n),
    messages: new Uint32Array(n),
  });
  for (let i = 0; i < n; i++) {
    const r = rows[i] as number;
    out.channel[i] = table.channel[r] as number;
    out.viewer[i] = table.viewer[r] as number;
    out.ts[i] = table.ts[r] as number;
    out.messages[i] = table.messages[r] as number;
  }
  return out;
}

export function runTimeline(
  config: Config,
  table: PresenceTable,
  metadata: readonly ChannelMetadata[],
  opts: TimelineOptions,
): TimelineResult {
  const progress = opts.onProgress ?? (() => {});
  const windows = windowsOf(table, opts, 'timeline');
  const sliceOf = windowSlicer(table, windows, opts.everyMs, opts.windowMs ?? opts.everyMs);
  const result: TimelineResult = { windows: [], channels: [], communities: [], moves: [], graphs: [] };
  let fineState: TrackingState = initialTracking();
  let groupState: TrackingState = initialTracking();
  /** Labels of ids from the window before, for `merged` / `died` rows. */
  let lastLabel = new Map<number, TrackedInfo>();
  windows.forEach((w, index) => {
    const t0 = performance.now();
    progress(`timeline: window ${index + 1}/${windows.length}`, index, windows.length);
    const slice = sliceOf(w);
    const summary: TimelineWindowSummary = {
      ...w,
      channels: 0,
      viewers: 0,
      edges: 0,
      communities: 0,
      groups: 0,
      modularity: 0,
      ms: 0,
    };
    // the same stages as `analyze`, on this window's rows
    let analysed: AnalysisResult | null = null;
    try {
      analysed = runAnalysis(
        config,
        {
          kind: 'presence',
          table: slice,
          presenceRows: slice.length,
          paths: [],
          metadata: [...metadata],
          rejected: [],
          rejectedCount: 0,
          skipped: [],
          botNameMapper: opts.botNameMapper ?? null,
        },
        // the windows' viewer statistics are not reported (timeline.json has its own counts)
        { projection: opts.projection, viewerStatistics: false },
      );
    } catch (err) {
      if (!(err instanceof InputError)) throw err; // no channel left in this window
    }
    if (!analysed) {
      // nothing to analyse in this window: every tracked community ends here
      const empty = new Map<string, number>();
      const fine = trackWindow(fineState, empty);
      groupState = trackWindow(groupState, empty).state;
      fineState = fine.state;
      for (const e of fine.events) pushEvent(e, index, null);
      lastLabel = new Map();
      result.graphs.push(emptyGraph());
      summary.ms = Math.round(performance.now() - t0);
      result.windows.push(summary);
      return;
    }
    const { graph, channels, communities, groups } = analysed;
    result.graphs.push(graph);
    summary.channels = graph.nodeNames.length;
    summary.viewers = analysed.summary.counts.viewers;
    summary.edges = graph.length;
    const fineOf = new Map<string, number>();
    const groupOf = new Map<string, number>();
    for (const c of channels) {
      fineOf.set(c.channel, c.community);
      groupOf.set(c.channel, c.group);
    }
    const fine = trackWindow(fineState, fineOf);
    const top = trackWindow(groupState, groupOf);
    fineState = fine.state;
    groupState = top.state;

    const groupLabelOf = new Map(groups.map((g) => [g.group, g.label]));
    for (const c of channels) {
      result.channels.push({
        window: index,
        channel: c.channel,
        community: c.community >= 0 ? (fine.ids.get(c.community) as number) : -1,
        group: c.group >= 0 ? (top.ids.get(c.group) as number) : -1,
        label: c.label,
        groupLabel: c.groupLabel,
        viewers: c.viewers,
      });
    }
    const current = new Map<number, TrackedInfo>();
    for (const c of communities) {
      const id = fine.ids.get(c.community);
      if (id === undefined) continue;
      current.set(id, {
        label: c.label,
        size: c.size,
        group: c.group >= 0 ? (top.ids.get(c.group) ?? -1) : -1,
        groupLabel: groupLabelOf.get(c.group) ?? '',
        viewers: c.viewers,
      });
    }
    for (const e of fine.events) pushEvent(e, index, current);
    for (const m of fine.moves) result.moves.push({ window: index, ...m });
    lastLabel = current;
    summary.communities = fine.ids.size;
    summary.groups = top.ids.size;
    summary.modularity = analysed.detected.modularity;
    summary.ms = Math.round(performance.now() - t0);
    result.windows.push(summary);
  });
  return result;

  function pushEvent(e: CommunityEvent, window: number, current: Map<number, TrackedInfo> | null): void {
    const ended = e.event === 'merged' || e.event === 'died';
    const info = ended ? lastLabel.get(e.id) : current?.get(e.id);
    result.communities.push({
      window,
      community: e.id,
      label: info?.label ?? '',
      size: ended ? e.size : (info?.size ?? e.size),
      viewers: info?.viewers ?? 0,
      group: info?.group ?? -1,
      groupLabel: info?.groupLabel ?? '',
      event: e.event,
      related: e.related ?? -1,
    });
  }
}

/** The overlap reports of `channels` in each window (null where a channel is absent): one pass per window. */
export function channelHistories(
  result: TimelineResult,
  channels: readonly string[],
  top = 20,
): Map<string, (ChannelReport | null)[]> {
  const out = new Map<string, (ChannelReport | null)[]>(channels.map((c) => [c, []]));
  for (const g of result.graphs) {
    const reports = channelReports(g, channels, top);
    for (const c of channels) out.get(c)?.push(reports.get(c) ?? null);
  }
  return out;
}

export interface ChannelHistory {
  channel: string;
  windows: TimelineWindow[];
  /** Per window: the channel's overlaps (null where it is not in that window's graph). */
  reports: (ChannelReport | null)[];
  movers: OverlapMover[];
}

/**
 * One channel's overlaps per window (the `channel` command): aggregation and the overlap graph
 * only — no communities are needed for the shares. InputError when the channel is in no window.
 */
export function channelTimeline(
  config: Config,
  table: PresenceTable,
  channel: string,
  opts: Omit<TimelineOptions, 'onProgress'>,
): ChannelHistory {
  const windows = windowsOf(table, opts, 'channel');
  const sliceOf = windowSlicer(table, windows, opts.everyMs, opts.windowMs ?? opts.everyMs);
  // the same aggregation and projection as `timeline` and `analyze`, on each window's rows
  const reports = windows.map((w) =>
    channelReport(presenceGraph(config, sliceOf(w), opts.botNameMapper ?? null).graph, channel),
  );
  const found = reports.find((r) => r !== null);
  if (!found)
    throw new InputError(
      'channel',
      `${channel}: not in any window (absent, or below aggregate.min_viewers ${config.aggregate.min_viewers})`,
    );
  return { channel: found.channel, windows, reports, movers: overlapMovers(reports) };
}
