/**
 * Presence accumulated between flushes. Each flush drains the counts gathered since the
 * previous one as delta rows: a (channel, viewer, bucket) seen over several flushes appears in
 * several rows whose `messages` add up to what was received. Readers sum (aggregation already
 * adds messages per channel and viewer); compaction may merge them. This keeps a crash's loss
 * to the unflushed interval instead of a whole open bucket.
 *
 * Membership (a JOIN from Twitch) is recorded once per (channel, viewer, bucket), kind
 * `membership`, 0 messages.
 *
 * Rows carry the stable Twitch ids where the line had them (`viewer_id` from `user-id`,
 * `channel_id` from `room-id`): a viewer is kept apart by login *and* id, so a login reused by
 * another account, or one account seen under two logins, never share a row.
 */
import type { PresenceRecord } from '../model/records.js';

/** Stable ids that come with a chat line. */
export interface PresenceIds {
  viewerId?: string;
  channelId?: string;
}

interface ChatCell {
  viewer: string;
  viewerId?: string;
  channelId?: string;
  messages: number;
}

export class PresenceAccumulator {
  /** bucket start → channel → viewer (login, or `login\tid`) → messages since the last drain. */
  private chat = new Map<number, Map<string, Map<string, ChatCell>>>();
  /** bucket start → channel → viewers whose membership row was already taken. */
  private seenMembership = new Map<number, Map<string, Set<string>>>();
  private newMembership: PresenceRecord[] = [];
  /** Messages added since the last drain. */
  pendingMessages = 0;

  constructor(readonly bucketMs: number) {}

  bucketOf(ts: number): number {
    return ts - (ts % this.bucketMs);
  }

  addMessage(channel: string, viewer: string, ts: number, n = 1, ids?: PresenceIds): void {
    const b = this.bucketOf(ts);
    let byChannel = this.chat.get(b);
    if (!byChannel) {
      byChannel = new Map();
      this.chat.set(b, byChannel);
    }
    let byViewer = byChannel.get(channel);
    if (!byViewer) {
      byViewer = new Map();
      byChannel.set(channel, byViewer);
    }
    // Keyed by login; a second account under the same login in one bucket (a freed login reused)
    // gets its own cell under `login\tid`, so the common case builds no key string.
    const viewerId = ids?.viewerId;
    let key = viewer;
    let cell = byViewer.get(key);
    if (cell && cell.viewerId !== viewerId) {
      key = `${viewer}\t${viewerId ?? ''}`;
      cell = byViewer.get(key);
    }
    if (cell) {
      cell.messages += n;
      if (cell.channelId === undefined && ids?.channelId !== undefined) cell.channelId = ids.channelId;
    } else {
      byViewer.set(key, { viewer, viewerId, channelId: ids?.channelId, messages: n });
    }
    this.pendingMessages += n;
  }

  addMembership(channel: string, viewer: string, ts: number, channelId?: string): void {
    const b = this.bucketOf(ts);
    let byChannel = this.seenMembership.get(b);
    if (!byChannel) {
      byChannel = new Map();
      this.seenMembership.set(b, byChannel);
    }
    let seen = byChannel.get(channel);
    if (!seen) {
      seen = new Set();
      byChannel.set(channel, seen);
    }
    if (seen.has(viewer)) return;
    seen.add(viewer);
    const row: PresenceRecord = { channel, viewer, ts: b, source: 'live', messages: 0, kind: 'membership' };
    if (channelId !== undefined) row.channel_id = channelId;
    this.newMembership.push(row);
  }

  /** Rows gathered since the last drain (chat deltas, then new membership rows), and resets. */
  drain(): PresenceRecord[] {
    const rows: PresenceRecord[] = [];
    for (const [b, byChannel] of this.chat) {
      for (const [channel, byViewer] of byChannel) {
        for (const cell of byViewer.values()) {
          const row: PresenceRecord = {
            channel,
            viewer: cell.viewer,
            ts: b,
            source: 'live',
            messages: cell.messages,
          };
          if (cell.viewerId !== undefined) row.viewer_id = cell.viewerId;
          if (cell.channelId !== undefined) row.channel_id = cell.channelId;
          rows.push(row);
        }
      }
    }
    for (const r of this.newMembership) rows.push(r);
    this.chat = new Map();
    this.newMembership = [];
    this.pendingMessages = 0;
    return rows;
  }

  /** Puts rows back after a failed write, so the next flush retries them. */
  restore(rows: PresenceRecord[]): void {
    for (const r of rows) {
      if (r.kind === 'membership') this.newMembership.push(r);
      else
        this.addMessage(r.channel, r.viewer, r.ts, r.messages ?? 1, {
          viewerId: r.viewer_id,
          channelId: r.channel_id,
        });
    }
  }

  /** Forgets membership dedupe state for buckets that ended before `now - bucketMs` (bounded memory). */
  prune(now: number): void {
    const keepFrom = this.bucketOf(now) - this.bucketMs;
    for (const b of this.seenMembership.keys()) if (b < keepFrom) this.seenMembership.delete(b);
  }
}
