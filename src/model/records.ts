/**
 * The records everything in ViewerAtlas rests on. Plain data, no imports: every layer may use
 * these, and they never change shape between stages.
 */

/** Where a presence record came from. */
export type PresenceSource = 'live' | 'vod' | 'import';

export const PRESENCE_SOURCES: readonly PresenceSource[] = ['live', 'vod', 'import'];

/** How the presence was observed: a chat line (or comment), or a membership JOIN from Twitch. */
export type PresenceKind = 'chat' | 'membership';

/** One viewer seen in one channel in one time bucket. */
export interface PresenceRecord {
  /** Twitch login of the channel, lower case. */
  channel: string;
  /** Twitch login of the viewer, lower case, or a keyed pseudonym when pseudonymisation is on. */
  viewer: string;
  /** Start of the bucket (or the instant), epoch milliseconds UTC. */
  ts: number;
  source: PresenceSource;
  /** Chat lines in the bucket, where known (a membership JOIN has 0). */
  messages?: number;
  /** The VOD the comment came from, for source `vod`. */
  vod_id?: string;
  /** `membership` when the record comes from a JOIN rather than a chat line. Default `chat`. */
  kind?: PresenceKind;
  /** Stable Twitch user id of the viewer (`user-id` tag, `commenter._id`), where known. Logins change and are reused; ids do not. */
  viewer_id?: string;
  /** Stable Twitch user id of the channel (`room-id` tag, `streamer.id`), where known. */
  channel_id?: string;
}

/** What we know about a channel at one moment. */
export interface ChannelMetadata {
  /** Twitch login, lower case. */
  channel: string;
  /** Stable Twitch user id of the channel, where known. */
  channel_id?: string;
  display_name?: string;
  /** ISO 639-1 code as Twitch reports it (`en`, `es`, `other`). */
  language?: string;
  /** Game or category name. */
  game?: string;
  viewer_count?: number;
  /** When it was observed, epoch milliseconds UTC. */
  observed_at: number;
}

/** A weighted, undirected channel-to-channel edge, as edge lists and our exports carry it. */
export interface EdgeRecord {
  source: string;
  target: string;
  weight: number;
}

/**
 * A shared-chat session as one collector observed it: `channel` received copies of lines typed
 * in the partner room between `first_seen` and `last_seen` (Twitch's shared chat). One record per
 * (channel, partner) and flush; a session is the union of its records (see docs/collect.md).
 * Channel metadata: the presence of those copies is not counted in `channel`.
 */
export interface SharedChatRecord {
  /** The receiving channel's login, lower case. */
  channel: string;
  /** The receiving channel's Twitch user id (`room-id`), where known. */
  channel_id?: string;
  /** The partner (source) room's Twitch user id (`source-room-id`). */
  partner_channel_id: string;
  /** The partner's login, when the collector knows that room (it joined it too). */
  partner_channel?: string;
  /** First and last copy in this observation, epoch milliseconds UTC. */
  first_seen: number;
  last_seen: number;
  /** Copies received in this observation (chat lines and notices). */
  copies: number;
}
