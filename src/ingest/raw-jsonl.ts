/**
 * Raw JSON Lines: the append-only format collectors and the VOD ingester write, one object per
 * line, `ts` as an ISO-8601 UTC string. Decoders return a reason string instead of throwing so
 * callers can count bad lines (a torn last line after a crash is expected, never fatal).
 */
import type { ChannelMetadata, PresenceKind, PresenceRecord, PresenceSource } from '../model/records.js';
import { presenceValuesProblem } from './presence-rows.js';

/** One presence record as a raw line, WITH the trailing newline. */
export function encodePresenceLine(r: PresenceRecord): string {
  const o: Record<string, unknown> = {
    channel: r.channel,
    viewer: r.viewer,
    ts: new Date(r.ts).toISOString(),
    source: r.source,
  };
  if (r.messages !== undefined) o.messages = r.messages;
  if (r.vod_id !== undefined) o.vod_id = r.vod_id;
  if (r.kind !== undefined && r.kind !== 'chat') o.kind = r.kind;
  if (r.viewer_id !== undefined) o.viewer_id = r.viewer_id;
  if (r.channel_id !== undefined) o.channel_id = r.channel_id;
  return `${JSON.stringify(o)}\n`;
}

/** One channel-metadata record as a raw line, WITH the trailing newline. */
export function encodeMetadataLine(m: ChannelMetadata): string {
  const o: Record<string, unknown> = { channel: m.channel };
  if (m.channel_id !== undefined) o.channel_id = m.channel_id;
  if (m.display_name !== undefined) o.display_name = m.display_name;
  if (m.language !== undefined) o.language = m.language;
  if (m.game !== undefined) o.game = m.game;
  if (m.viewer_count !== undefined) o.viewer_count = m.viewer_count;
  o.observed_at = new Date(m.observed_at).toISOString();
  return `${JSON.stringify(o)}\n`;
}

const SOURCES = new Set<string>(['live', 'vod', 'import']);

/** Epoch ms from an ISO string or epoch seconds/milliseconds number; NaN when unreadable. */
export function parseTimestamp(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? (Math.abs(v) < 1e11 ? v * 1000 : v) : Number.NaN;
  if (typeof v !== 'string' || v.length === 0) return Number.NaN;
  const s = v.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return parseTimestamp(Number(s));
  // A date-time without a zone is taken as UTC, not local time.
  const zoned = /[zZ]$|[+-]\d\d:?\d\d$/.test(s) || !/\d[T ]\d/.test(s) ? s : `${s}Z`;
  return Date.parse(zoned.replace(' ', 'T'));
}

/** An id as Twitch writes them: 1–64 printable characters, no spaces. */
function plainId(v: string): boolean {
  if (v.length > 64) return false;
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) <= 32) return false;
  return true;
}

function str(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

/** One line as a JSON object, or the reason it is not one. */
function parseObject(line: string): Record<string, unknown> | string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return 'not valid JSON (torn or garbage line)';
  }
  return typeof o === 'object' && o !== null && !Array.isArray(o)
    ? (o as Record<string, unknown>)
    : 'not a JSON object';
}

/** Parses one raw presence line into a record, or returns the reason it cannot be read. */
export function decodePresenceLine(line: string, defaultSource?: PresenceSource): PresenceRecord | string {
  const r = parseObject(line);
  if (typeof r === 'string') return r;
  if (!str(r.channel)) return 'missing "channel"';
  if (!str(r.viewer)) return 'missing "viewer"';
  const ts = parseTimestamp(r.ts);
  if (Number.isNaN(ts)) return `bad "ts" ${JSON.stringify(r.ts)}`;
  const source = r.source === undefined ? defaultSource : r.source;
  if (typeof source !== 'string' || !SOURCES.has(source)) return `bad "source" ${JSON.stringify(r.source)}`;
  const rec: PresenceRecord = {
    channel: r.channel.toLowerCase(),
    viewer: r.viewer.toLowerCase(),
    ts,
    source: source as PresenceSource,
  };
  if (r.messages !== undefined && r.messages !== null) {
    const m = Number(r.messages);
    if (!Number.isInteger(m) || m < 0) return `bad "messages" ${JSON.stringify(r.messages)}`;
    rec.messages = m;
  }
  if (r.vod_id !== undefined && r.vod_id !== null) rec.vod_id = String(r.vod_id);
  if (r.kind !== undefined && r.kind !== null) {
    if (r.kind !== 'chat' && r.kind !== 'membership') return `bad "kind" ${JSON.stringify(r.kind)}`;
    rec.kind = r.kind as PresenceKind;
  }
  // Stable Twitch ids: strings as Twitch sends them; numbers (other tools' exports) as digits.
  for (const k of ['viewer_id', 'channel_id'] as const) {
    const v = r[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) rec[k] = String(v);
    else if (typeof v === 'string' && plainId(v)) rec[k] = v;
    else return `bad "${k}" ${JSON.stringify(v).slice(0, 80)}`;
  }
  // issue 11: out-of-range values (a count that would wrap, a 10 MB login, NUL, year 1970)
  return presenceValuesProblem(rec) ?? rec;
}

/** Parses one raw metadata line, or returns the reason it cannot be read. */
export function decodeMetadataLine(line: string): ChannelMetadata | string {
  const r = parseObject(line);
  if (typeof r === 'string') return r;
  if (!str(r.channel)) return 'missing "channel"';
  const observed = parseTimestamp(r.observed_at);
  if (Number.isNaN(observed)) return `bad "observed_at" ${JSON.stringify(r.observed_at)}`;
  const m: ChannelMetadata = { channel: r.channel.toLowerCase(), observed_at: observed };
  if (str(r.display_name)) m.display_name = r.display_name;
  if (str(r.language)) m.language = r.language;
  if (str(r.game)) m.game = r.game;
  if (r.viewer_count !== undefined && r.viewer_count !== null) {
    const n = Number(r.viewer_count);
    if (!Number.isFinite(n) || n < 0) return `bad "viewer_count" ${JSON.stringify(r.viewer_count)}`;
    m.viewer_count = n;
  }
  return m;
}

/**
 * Splits a raw JSONL object into lines, tolerating a torn tail: the last piece without a newline
 * is reported separately so callers can count it instead of failing.
 */
export function splitLines(text: string): { lines: string[]; tornTail: string | null } {
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  return { lines, tornTail: last.length > 0 ? last : null };
}
