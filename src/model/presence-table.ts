/**
 * Presence in columnar form: strings interned to dense integer ids once, at the edge, so that
 * aggregation and the overlap projection run on typed arrays.
 */
export interface PresenceTable {
  /** channel id → login. */
  channelNames: string[];
  /**
   * viewer id → login (or pseudonym). The readers build it only when it is first read (millions
   * of strings): analysis needs just `viewerCount` and `findViewer`.
   */
  viewerNames: string[];
  /** Size of the viewer id space, without building `viewerNames`. */
  viewerCount?: number;
  /** The viewer id of a login (or pseudonym), -1 when absent, without building `viewerNames`. */
  findViewer?: (login: string) => number;
  /**
   * Every viewer id whose name is `login` (viewers keyed by Twitch id: two accounts may have had
   * the same login), without building `viewerNames`; where given, it answers instead of `findViewer`.
   */
  findViewers?: (login: string) => number[];
  /**
   * channel id → its stable Twitch id ('' for a channel known by login only). Present when any
   * row carried `channel_id`: channels are then keyed by Twitch id (renames count once) and
   * `channelNames` holds each one's latest login.
   */
  channelTwitchIds?: string[];
  /** viewer id → stable Twitch id (or its pseudonym), as `channelTwitchIds`. */
  viewerTwitchIds?: string[];
  /** Number of rows in use (the arrays may be longer). */
  length: number;
  /** Per row: channel id. */
  channel: Uint32Array;
  /** Per row: viewer id. */
  viewer: Uint32Array;
  /** Per row: epoch milliseconds UTC. */
  ts: Float64Array;
  /** Per row: messages in the bucket (1 when the source did not say). */
  messages: Uint32Array;
}

/** A channel graph given as interned edges (ready-made edge lists skip straight to here). */
export interface EdgeTable {
  /** node id → channel name as given. */
  nodeNames: string[];
  /** Per node: audience size where known (unique viewers / chatters), else 0. */
  nodeAudience: Float64Array;
  length: number;
  source: Uint32Array;
  target: Uint32Array;
  weight: Float64Array;
}
