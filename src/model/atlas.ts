/**
 * The analysis outputs, as the exports write them and the renderer reads them back
 * (`channels.csv`, `communities.csv`, `edges.csv`, `summary.json`).
 */

export type WeightKind = 'shared' | 'jaccard' | 'cosine' | 'overlap' | 'lift';
export const WEIGHT_KINDS: readonly WeightKind[] = ['shared', 'jaccard', 'cosine', 'overlap', 'lift'];

export type CommunityAlgorithm = 'leiden' | 'louvain';
export const COMMUNITY_ALGORITHMS: readonly CommunityAlgorithm[] = ['leiden', 'louvain'];

/** One row of `channels.csv`. */
export interface ChannelRow {
  channel: string;
  /** Fine community (a scene); -1 = unassigned (no edge left after the cuts), written as an empty cell. */
  community: number;
  /** The community's label ('' when unassigned). */
  label: string;
  /** Top-level group (region / language) the community belongs to; -1 when unassigned. */
  group: number;
  /** The group's label ('' when unassigned). Written as `group_label`. */
  groupLabel: string;
  /** Unique viewers (after aggregation), or the audience count given with an edge list. */
  viewers: number;
  degree: number;
  /** Sum of edge weights. */
  strength: number;
  language: string;
  game: string;
  /** Layout position; NaN until a layout ran. */
  x: number;
  y: number;
  /**
   * Community at each extra resolution of `communities.hierarchy`, keyed `r<resolution>` (e.g.
   * `r0.5`); written as `community_r0.5` columns. Absent when no hierarchy was asked for.
   */
  levels?: Record<string, number>;
}

/** A share of a community held by one game or one language. */
export interface Share {
  name: string;
  /** 0..1, weighted by audience. */
  share: number;
}

/** One row of `communities.csv` (fine communities only; unassigned channels are not a community). */
export interface CommunityRow {
  community: number;
  label: string;
  /** The parent top-level group. */
  group: number;
  size: number;
  /** Sum of the member channels' viewers. */
  viewers: number;
  games: Share[];
  languages: Share[];
  /** Member channels by audience, biggest first. */
  topChannels: string[];
}

/** One row of `groups.csv`: a top-level group (region / language) and its communities. */
export interface GroupRow {
  group: number;
  label: string;
  /** Member channels. */
  size: number;
  /** Sum of the member channels' viewers. */
  viewers: number;
  /** Fine communities inside the group. */
  communities: number;
  games: Share[];
  languages: Share[];
  /** Member channels by audience, biggest first. */
  topChannels: string[];
}

/** One row of `edges.csv`. */
export interface EdgeRow {
  source: string;
  target: string;
  weight: number;
  /** Viewers shared, where the graph was projected from presence (else the given weight). */
  shared: number;
}

/** A distribution of per-item counts (channels per viewer, viewers per channel). */
export interface CountDistribution {
  mean: number;
  median: number;
  p90: number;
  max: number;
  /** Items per bin, bins labelled `1`, `2`, `3-5`, `6-10`, `11-100`, `101-1000`, `>1000`. */
  histogram: { bin: string; count: number }[];
}

/** A channel and a figure (its degree or strength). */
export interface RankedChannel {
  channel: string;
  value: number;
}

/** The descriptive statistics of one analysis (`summary.json` `statistics`, the atlas page). */
export interface AtlasStatistics {
  /** Viewers in the final audience seen on at least two UTC days (repeat) or on one (one-off); presence input only. */
  viewers?: { total: number; repeat: number; oneOff: number; repeatShare: number };
  /** Kept channels per viewer; presence input only. */
  channelsPerViewer?: CountDistribution;
  /** Unique viewers per kept channel; presence input only. */
  viewersPerChannel?: CountDistribution;
  graph: {
    channels: number;
    edges: number;
    /** edges / (n·(n−1)/2). */
    density: number;
    /** Channels with no edge (unassigned in the communities). */
    isolatedChannels: number;
    meanDegree: number;
    meanWeight: number;
    maxWeight: number;
    /** Shared viewers per edge (the given weight for edge lists). */
    meanShared: number;
    maxShared: number;
  };
  topByDegree: RankedChannel[];
  topByStrength: RankedChannel[];
  /** Accounts removed as bots, by rule: the bundled list (`known`) or behaviour (`behavioural`). */
  botsRemoved?: { known: number; behavioural: number; total: number };
}

/** `summary.json`. */
export interface AtlasSummary {
  version: 1;
  createdAt: string;
  input: { kind: 'presence' | 'edges'; paths: string[] };
  counts: {
    presenceRows: number;
    rowsRejected: number;
    channels: number;
    viewers: number;
    edges: number;
    /** Fine communities (never counting unassigned channels). */
    communities: number;
    /** Top-level groups. */
    groups: number;
    /** Channels with no edge left after the cuts: in no community. */
    unassigned: number;
    botsRemoved: number;
  };
  /** Modularity of the fine partition (over assigned channels). */
  modularity: number;
  /** Modularity per level of the hierarchy. */
  modularityByLevel: { group: number; community: number };
  /** Descriptive statistics (viewers, channels, graph, top channels, bots by rule). */
  statistics?: AtlasStatistics;
  parameters: Record<string, unknown>;
  /** Milliseconds per stage. */
  timings: Record<string, number>;
  /** The first rejected input rows, with file, line and reason (all are counted in `counts.rowsRejected`). */
  rejected?: { file: string; line: number; reason: string }[];
  /** Files inside an `--input` directory that were not recognised as any input kind, with why. */
  skippedInputs?: { file: string; reason: string }[];
}
