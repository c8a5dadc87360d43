/**
 * Shared-chat sessions as channel metadata. While channels share chat, each receives copies of
 * the others' lines (`source-room-id` ≠ `room-id`); the collector does not count those copies as
 * presence but records that the session happened: one `SharedChatRecord` per (receiving
 * channel, partner room) and flush, under `LAYOUT.rawSharedChat`. `readSharedChatSessions`
 * merges them back into sessions (which channels, from when to when).
 */
import type { SharedChatRecord } from '../model/records.js';
import { LAYOUT } from '../storage/layout.js';
import type { Storage } from '../storage/storage.js';

/** Gathers observations between flushes. */
export class SharedChatTracker {
  private open = new Map<string, SharedChatRecord>();

  /** One copy received in `channel` from `partnerId` at `ts`. */
  add(channel: string, channelId: string | undefined, partnerId: string, ts: number): void {
    const key = `${channel}\t${partnerId}`;
    const r = this.open.get(key);
    if (r) {
      r.copies++;
      if (ts < r.first_seen) r.first_seen = ts;
      if (ts > r.last_seen) r.last_seen = ts;
      if (r.channel_id === undefined && channelId !== undefined) r.channel_id = channelId;
      return;
    }
    const rec: SharedChatRecord = {
      channel,
      partner_channel_id: partnerId,
      first_seen: ts,
      last_seen: ts,
      copies: 1,
    };
    if (channelId !== undefined) rec.channel_id = channelId;
    this.open.set(key, rec);
  }

  get size(): number {
    return this.open.size;
  }

  /** Records since the last drain, partner logins filled in from `loginOf` (room id → login). */
  drain(loginOf: (roomId: string) => string | undefined): SharedChatRecord[] {
    const out = [...this.open.values()];
    this.open = new Map();
    for (const r of out) {
      const login = loginOf(r.partner_channel_id);
      if (login !== undefined) r.partner_channel = login;
    }
    return out;
  }

  /** Puts records back after a failed write. */
  restore(rows: SharedChatRecord[]): void {
    for (const r of rows) {
      const key = `${r.channel}\t${r.partner_channel_id}`;
      const cur = this.open.get(key);
      if (!cur) {
        this.open.set(key, { ...r });
        continue;
      }
      cur.copies += r.copies;
      cur.first_seen = Math.min(cur.first_seen, r.first_seen);
      cur.last_seen = Math.max(cur.last_seen, r.last_seen);
    }
  }
}

/** One record as a raw line, WITH the trailing newline (instants as ISO-8601 UTC). */
export function encodeSharedChatLine(r: SharedChatRecord): string {
  const o: Record<string, unknown> = { channel: r.channel };
  if (r.channel_id !== undefined) o.channel_id = r.channel_id;
  o.partner_channel_id = r.partner_channel_id;
  if (r.partner_channel !== undefined) o.partner_channel = r.partner_channel;
  o.first_seen = new Date(r.first_seen).toISOString();
  o.last_seen = new Date(r.last_seen).toISOString();
  o.copies = r.copies;
  return `${JSON.stringify(o)}\n`;
}

/** Parses one raw line, or returns the reason it cannot be read. */
export function decodeSharedChatLine(line: string): SharedChatRecord | string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return 'not valid JSON (torn or garbage line)';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not a JSON object';
  const r = o as Record<string, unknown>;
  if (typeof r.channel !== 'string' || r.channel === '') return 'missing "channel"';
  if (typeof r.partner_channel_id !== 'string' || !/^\d+$/.test(r.partner_channel_id))
    return `bad "partner_channel_id" ${JSON.stringify(r.partner_channel_id)}`;
  const first = Date.parse(String(r.first_seen));
  const last = Date.parse(String(r.last_seen));
  if (Number.isNaN(first) || Number.isNaN(last) || last < first)
    return `bad "first_seen"/"last_seen" ${JSON.stringify([r.first_seen, r.last_seen])}`;
  const copies = Number(r.copies ?? 1);
  if (!Number.isInteger(copies) || copies < 1) return `bad "copies" ${JSON.stringify(r.copies)}`;
  const rec: SharedChatRecord = {
    channel: r.channel.toLowerCase(),
    partner_channel_id: r.partner_channel_id,
    first_seen: first,
    last_seen: last,
    copies,
  };
  if (typeof r.channel_id === 'string' && r.channel_id !== '') rec.channel_id = r.channel_id;
  if (typeof r.partner_channel === 'string' && r.partner_channel !== '')
    rec.partner_channel = r.partner_channel.toLowerCase();
  return rec;
}

/** A shared-chat session: `channels` shared chat from `start` to `end` (epoch ms). */
export interface SharedChatSession {
  /** Logins where known, else the room id, sorted. */
  channels: string[];
  start: number;
  end: number;
  copies: number;
}

/** Observations of one pair closer than this are one session. */
export const SESSION_GAP_MS = 15 * 60_000;

/**
 * Merges records into sessions: records of the same pair of rooms (either direction) whose
 * intervals overlap or lie within `gapMs` are one session.
 */
export function mergeSharedChat(records: SharedChatRecord[], gapMs = SESSION_GAP_MS): SharedChatSession[] {
  const idToLogin = new Map<string, string>();
  for (const r of records) {
    if (r.channel_id !== undefined) idToLogin.set(r.channel_id, r.channel);
    if (r.partner_channel !== undefined) idToLogin.set(r.partner_channel_id, r.partner_channel);
  }
  const byPair = new Map<string, { names: string[]; recs: SharedChatRecord[] }>();
  for (const r of records) {
    const a = r.channel_id ?? r.channel;
    const b = r.partner_channel_id;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let g = byPair.get(key);
    if (!g) {
      const names = [r.channel, idToLogin.get(b) ?? b].sort();
      g = { names, recs: [] };
      byPair.set(key, g);
    }
    g.recs.push(r);
  }
  const sessions: SharedChatSession[] = [];
  for (const { names, recs } of byPair.values()) {
    recs.sort((x, y) => x.first_seen - y.first_seen);
    let cur: SharedChatSession | null = null;
    for (const r of recs) {
      if (cur && r.first_seen <= cur.end + gapMs) {
        cur.end = Math.max(cur.end, r.last_seen);
        cur.copies += r.copies;
      } else {
        cur = { channels: names, start: r.first_seen, end: r.last_seen, copies: r.copies };
        sessions.push(cur);
      }
    }
  }
  return sessions.sort((x, y) => x.start - y.start || x.channels.join().localeCompare(y.channels.join()));
}

/** Every shared-chat record in storage (unreadable lines are counted, never fatal). */
export async function readSharedChatRecords(
  storage: Storage,
): Promise<{ records: SharedChatRecord[]; badLines: number }> {
  const records: SharedChatRecord[] = [];
  let badLines = 0;
  for (const e of await storage.list(LAYOUT.rawSharedChatPrefix)) {
    const bytes = await storage.get(e.key);
    if (!bytes) continue;
    for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const r = decodeSharedChatLine(line);
      if (typeof r === 'string') badLines++;
      else records.push(r);
    }
  }
  return { records, badLines };
}

/** The shared-chat sessions recorded in storage. */
export async function readSharedChatSessions(storage: Storage): Promise<SharedChatSession[]> {
  return mergeSharedChat((await readSharedChatRecords(storage)).records);
}
