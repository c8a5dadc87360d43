/**
 * `timeline`: the analysis per time window, communities tracked across windows. The presence is
 * read once; each window is a slice of its rows run through the same stages as `analyze`
 * (aggregate → overlap graph → communities → labels, same config and seed), then
 * `trackWindow` gives every community and group an id that persists while it continues.
 */

import { aggregate } from '../analysis/aggregate.js';
import {
  type ChannelReport,
  channelReport,
  channelReports,
  type OverlapMover,
  overlapMovers,
} from '../analysis/channel-report.js';
import { detectCommunities } from '../analysis/communities.js';
import { labelCommunities, labelGroups } from '../analysis/labels.js';
import { buildOverlapGraph } from '../analysis/overlap.js';
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
import { camelKeys } from './analyze.js';

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

export interface TimelineResult extends TimelineTables {
  /** Per window: the overlap graph (for the layout and the channel reports). */
  graphs: OverlapGraph[];
}

export interface TimelineOptions {
  everyMs: number;
  /** Sliding windows of this length (default: consecutive windows of `everyMs`). */
  windowMs?: number;
  onProgress?: ProgressFn;
  /** Maps bot logins to stored ids (pseudonymised storage). */
  botNameMapper?: ((login: string) => string) | null;
}

/** The rows of `table` with ts in [start, end), sharing its name arrays (ids stay comparable). */
function sliceTable(table: PresenceTable, start: number, end: number): PresenceTable {
  let n = 0;
  for (let r = 0; r < table.length; r++) {
    const ts = table.ts[r] as number;
    if (ts >= start && ts < end) n++;
  }
  const out: PresenceTable = {
    channelNames: table.channelNames,
    viewerNames: table.viewerNames,
    length: n,
    channel: new Uint32Array(n),
    viewer: new Uint32Array(n),
    ts: new Float64Array(n),
    messages: new Uint32Array(n),
  };
  let i = 0;
  for (let r = 0; r < table.length; r++) {
    const ts = table.ts[r] as number;
    if (ts < start || ts >= end) continue;
    out.channel[i] = table.channel[r] as number;
    out.viewer[i] = table.viewer[r] as number;
    out.ts[i] = ts;
    out.messages[i] = table.messages[r] as number;
    i++;
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
  if (table.length === 0) throw new InputError('timeline', 'no presence rows to analyse');
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < table.length; r++) {
    const ts = table.ts[r] as number;
    if (ts < first) first = ts;
    if (ts > last) last = ts;
  }
  const windows = timelineWindows(first, last, opts.everyMs, opts.windowMs);
  const result: TimelineResult = { windows: [], channels: [], communities: [], moves: [], graphs: [] };
  let fineState: TrackingState = initialTracking();
  let groupState: TrackingState = initialTracking();
  /** Labels of ids from the window before, for `merged` / `died` rows. */
  let lastLabel = new Map<number, { label: string; group: number; groupLabel: string; viewers: number }>();
  const aggregateOptions = { ...camelKeys(config.aggregate), windowStart: null, windowEnd: null };
  windows.forEach((w, index) => {
    const t0 = performance.now();
    progress(`timeline: window ${index + 1}/${windows.length}`, index, windows.length);
    const slice = sliceTable(table, w.start, w.end);
    const audience = aggregate(slice, { ...aggregateOptions, botNameMapper: opts.botNameMapper ?? null });
    const graph = buildOverlapGraph(audience, camelKeys(config.overlap));
    result.graphs.push(graph);
    const summary: TimelineWindowSummary = {
      ...w,
      channels: graph.nodeNames.length,
      viewers: audience.viewerCount,
      edges: graph.length,
      communities: 0,
      groups: 0,
      modularity: 0,
      ms: 0,
    };
    if (graph.nodeNames.length === 0) {
      // nothing to analyse in this window: every tracked community ends here
      const empty = new Map<string, number>();
      const fine = trackWindow(fineState, empty);
      groupState = trackWindow(groupState, empty).state;
      fineState = fine.state;
      for (const e of fine.events) pushEvent(e, index, null, null);
      lastLabel = new Map();
      summary.ms = Math.round(performance.now() - t0);
      result.windows.push(summary);
      return;
    }
    const detected = detectCommunities(graph, camelKeys(config.communities));
    const groups = detected.groups.membership;
    const labelOptions = camelKeys(config.labels);
    const labels = labelCommunities(graph, detected.membership, metadata, labelOptions);
    for (const c of labels) c.group = detected.communityGroup[c.community] as number;
    const groupLabels = labelGroups(
      graph,
      groups,
      labels,
      detected.communityGroup,
      metadata,
      labelOptions,
    ).map((g) => ({ community: g.group, label: g.label }));
    const names = graph.nodeNames;
    const fineOf = new Map<string, number>();
    const groupOf = new Map<string, number>();
    names.forEach((name, node) => {
      fineOf.set(name, detected.membership[node] as number);
      groupOf.set(name, groups[node] as number);
    });
    const fine = trackWindow(fineState, fineOf);
    const top = trackWindow(groupState, groupOf);
    fineState = fine.state;
    groupState = top.state;

    const labelOf = new Map(labels.map((c) => [c.community, c]));
    const groupLabelOf = new Map(groupLabels.map((c) => [c.community, c.label]));
    // a community's group: the group of its members (the same for all of them in a hierarchy)
    const parent = new Map<number, number>();
    names.forEach((_, node) => {
      const c = detected.membership[node] as number;
      if (c >= 0 && !parent.has(c)) parent.set(c, groups[node] as number);
    });
    names.forEach((name, node) => {
      const c = detected.membership[node] as number;
      const g = groups[node] as number;
      result.channels.push({
        window: index,
        channel: name,
        community: c >= 0 ? (fine.ids.get(c) as number) : -1,
        group: g >= 0 ? (top.ids.get(g) as number) : -1,
        label: c >= 0 ? (labelOf.get(c)?.label ?? '') : '',
        groupLabel: g >= 0 ? (groupLabelOf.get(g) ?? '') : '',
        viewers: graph.nodeAudience[node] as number,
      });
    });
    const current = new Map<number, { label: string; group: number; groupLabel: string; viewers: number }>();
    for (const [c, id] of fine.ids) {
      const g = parent.get(c) ?? -1;
      current.set(id, {
        label: labelOf.get(c)?.label ?? '',
        group: g >= 0 ? (top.ids.get(g) as number) : -1,
        groupLabel: g >= 0 ? (groupLabelOf.get(g) ?? '') : '',
        viewers: labelOf.get(c)?.viewers ?? 0,
      });
    }
    for (const e of fine.events) pushEvent(e, index, current, labelOf);
    for (const m of fine.moves) result.moves.push({ window: index, ...m });
    lastLabel = current;
    summary.communities = fine.ids.size;
    summary.groups = top.ids.size;
    summary.modularity = detected.modularity;
    summary.ms = Math.round(performance.now() - t0);
    result.windows.push(summary);
  });
  return result;

  function pushEvent(
    e: CommunityEvent,
    window: number,
    current: Map<number, { label: string; group: number; groupLabel: string; viewers: number }> | null,
    labelOf: Map<number, { size: number }> | null,
  ): void {
    const ended = e.event === 'merged' || e.event === 'died';
    const info = ended ? lastLabel.get(e.id) : current?.get(e.id);
    result.communities.push({
      window,
      community: e.id,
      label: info?.label ?? '',
      size: ended ? e.size : (labelOf?.get(e.community)?.size ?? e.size),
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
  if (table.length === 0) throw new InputError('channel', 'no presence rows to analyse');
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < table.length; r++) {
    const ts = table.ts[r] as number;
    if (ts < first) first = ts;
    if (ts > last) last = ts;
  }
  const windows = timelineWindows(first, last, opts.everyMs, opts.windowMs);
  const aggregateOptions = { ...camelKeys(config.aggregate), windowStart: null, windowEnd: null };
  const reports = windows.map((w) => {
    const audience = aggregate(sliceTable(table, w.start, w.end), {
      ...aggregateOptions,
      botNameMapper: opts.botNameMapper ?? null,
    });
    return channelReport(buildOverlapGraph(audience, camelKeys(config.overlap)), channel);
  });
  const found = reports.find((r) => r !== null);
  if (!found)
    throw new InputError(
      'channel',
      `${channel}: not in any window (absent, or below aggregate.min_viewers ${config.aggregate.min_viewers})`,
    );
  return { channel: found.channel, windows, reports, movers: overlapMovers(reports) };
}
