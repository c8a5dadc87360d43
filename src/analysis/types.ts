/**
 * The values the analysis stages hand to each other. All ids are dense integers; names live in
 * one array per kind so the hot loops never touch strings.
 */

/** Who was in which channel, after aggregation: per kept channel, its sorted unique viewer ids (CSR). */
export interface Audience {
  /** Kept channel index → login. */
  channelNames: string[];
  /** Kept channel index → channel id in the source PresenceTable. */
  channelIds: Uint32Array;
  /** CSR offsets, length channels + 1: viewers of channel c are `viewers[offsets[c]..offsets[c+1])`. */
  offsets: Uint32Array;
  /** Viewer ids (PresenceTable viewer ids), ascending within each channel. */
  viewers: Uint32Array;
  /** Optional transpose, viewer-major CSR (length viewerIdSpace + 1); `aggregate` fills it. */
  viewerOffsets?: Uint32Array;
  /** Kept channel indices per viewer, ascending: `viewerChannels[viewerOffsets[v]..viewerOffsets[v+1])`. */
  viewerChannels?: Uint32Array;
  /** Size of the viewer id space (PresenceTable.viewerNames.length). */
  viewerIdSpace: number;
  /** Distinct viewers left in at least one kept channel. */
  viewerCount: number;
  counts: AggregateCounts;
  /** Milliseconds per step. */
  timings: Record<string, number>;
}

export interface AggregateCounts {
  /** Rows in the table. */
  rows: number;
  /** Rows inside the time window. */
  rowsInWindow: number;
  /** Rows that ended up in a kept (viewer, channel) pair. */
  rowsUsed: number;
  /** (viewer, channel) pairs that met min_messages and min_buckets, before bot and channel cuts. */
  pairsQualified: number;
  /** (viewer, channel) pairs in the audience. */
  pairs: number;
  channelsSeen: number;
  channelsKept: number;
  /** Channels dropped for fewer than min_viewers viewers. */
  channelsBelowMinViewers: number;
  viewersSeen: number;
  viewers: number;
  botsRemoved: { known: number; behavioural: number; total: number };
}

/** An undirected weighted channel graph as parallel typed arrays (one entry per edge, source < target). */
export interface OverlapGraph {
  /** Node index → channel name. */
  nodeNames: string[];
  /** Node index → unique viewers (or the audience given with an edge list; 0 when unknown). */
  nodeAudience: Float64Array;
  source: Uint32Array;
  target: Uint32Array;
  /** Viewers shared (or the given weight for edge lists without audiences). */
  shared: Float64Array;
  /** The edge weight communities and layout use. */
  weight: Float64Array;
  length: number;
  /** How the graph was made (counts and timings), when built by this package. */
  stats?: OverlapStats;
}

export interface OverlapStats {
  weight: string;
  /** Candidate pairs (sharing at least one viewer) seen by the projection. */
  pairsCounted: number;
  edgesBelowMinShared: number;
  edgesBelowMinWeight: number;
  edgesRemovedByBackbone: number;
  edges: number;
  /** Total viewers used as N for `lift`. */
  totalViewers: number;
  timings: Record<string, number>;
}
