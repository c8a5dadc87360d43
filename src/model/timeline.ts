/**
 * The tables `timeline` produces (timeline.csv, timeline-communities.csv, timeline-moves.csv) and
 * its windows. Plain data, no imports.
 */

/** How a tracked community changed from one window to the next. */
export type CommunityEventKind = 'born' | 'continued' | 'grew' | 'shrank' | 'split' | 'merged' | 'died';

export interface TimelineWindow {
  start: number;
  end: number;
}

/** One row of `timeline.csv`. */
export interface TimelineChannelRow {
  window: number;
  channel: string;
  /** Tracked community id; −1 when unassigned in this window. */
  community: number;
  group: number;
  label: string;
  groupLabel: string;
  viewers: number;
}

/** One row of `timeline-communities.csv`. */
export interface TimelineCommunityRow {
  window: number;
  community: number;
  label: string;
  size: number;
  viewers: number;
  group: number;
  groupLabel: string;
  event: CommunityEventKind;
  /** `split`: the id split from; `merged`: the id merged into; −1 otherwise. */
  related: number;
}

export interface TimelineMoveRow {
  window: number;
  channel: string;
  from: number;
  to: number;
}

export interface TimelineWindowSummary extends TimelineWindow {
  channels: number;
  viewers: number;
  edges: number;
  communities: number;
  groups: number;
  modularity: number;
  ms: number;
}

export interface TimelineTables {
  windows: TimelineWindowSummary[];
  channels: TimelineChannelRow[];
  communities: TimelineCommunityRow[];
  moves: TimelineMoveRow[];
}
