/**
 * Wire → domain for Twitch chat. A parsed `IrcMessage` (wire type) is validated here, at the
 * edge, with zod, and mapped to a `ChatEvent` (domain type). Nothing downstream sees IRC
 * tags or raw prefixes. Invalid input becomes an `invalid` event carrying the reason; it is
 * counted, never thrown.
 */
import { z } from 'zod';
import { type IrcMessage, parseIrcLine, prefixNick } from './irc.js';

/** A Twitch login: lower case letters, digits and underscores (we lower-case before checking). */
const LOGIN = /^[a-z0-9_]{1,25}$/;
const digits = z.string().regex(/^\d+$/);
/** `1`/`0` flags as Twitch sends them. */
const flag = z.enum(['0', '1']);

/** Tags of a PRIVMSG we rely on. Other tags (badges, emotes, color …) are accepted and ignored. */
export const privmsgTagsSchema = z.looseObject({
  /** Unique per message: tells the copies of a line apart when two sockets carry it. */
  id: z.string().optional(),
  'user-id': digits.optional(),
  'room-id': digits.optional(),
  'tmi-sent-ts': digits.optional(),
  'display-name': z.string().optional(),
  /** Shared chat: the room the line was typed in (equal to `room-id` in that room itself). */
  'source-room-id': digits.optional(),
  /** Shared chat: the `id` of the line in its source room. */
  'source-id': z.string().optional(),
});

/** Tags of a USERNOTICE (sub, raid …): `login` is the acting user. */
export const usernoticeTagsSchema = z.looseObject({
  login: z.string().min(1),
  id: z.string().optional(),
  'msg-id': z.string().optional(),
  'user-id': digits.optional(),
  'room-id': digits.optional(),
  'tmi-sent-ts': digits.optional(),
  'source-room-id': digits.optional(),
  'source-id': z.string().optional(),
  /** Shared chat: the original kind of a `sharedchatnotice` copy (`sub`, `raid`, `announcement` …). */
  'source-msg-id': z.string().optional(),
});

/** ROOMSTATE tags; a full ROOMSTATE (on join) carries them all, an update only what changed. */
export const roomstateTagsSchema = z.looseObject({
  'room-id': digits.optional(),
  'emote-only': flag.optional(),
  'followers-only': z
    .string()
    .regex(/^-?\d+$/)
    .optional(),
  r9k: flag.optional(),
  slow: digits.optional(),
  'subs-only': flag.optional(),
});

export type ChatEvent =
  /** A chat line by `login` in `channel`. */
  | {
      type: 'message';
      channel: string;
      login: string;
      userId?: string;
      sentAt?: number;
      displayName?: string;
      /** The message's unique id (`id` tag). */
      id?: string;
      /** The receiving channel's user id (`room-id`). */
      roomId?: string;
      /** Shared chat: the user id of the room the line was typed in (`source-room-id`). */
      sourceRoomId?: string;
    }
  /** A sub, resub, raid … announced by Twitch; `login` is the acting user. */
  | {
      type: 'usernotice';
      channel: string;
      login: string;
      /** `msg-id`: `sub`, `resub`, `subgift`, `anonsubgift`, `raid`, `announcement`, `sharedchatnotice` … */
      kind?: string;
      sentAt?: number;
      /** The notice's unique id (`id` tag). */
      id?: string;
      userId?: string;
      roomId?: string;
      sourceRoomId?: string;
      /** `source-msg-id`: the original kind of a shared-chat copy. */
      sourceKind?: string;
    }
  /** Membership (needs twitch.tv/membership): `login` joined or left `channel`. */
  | { type: 'join'; channel: string; login: string }
  | { type: 'part'; channel: string; login: string }
  /** Room settings; `roomId` is the channel's user id. */
  | {
      type: 'roomstate';
      channel: string;
      roomId?: string;
      slow?: number;
      followersOnly?: number;
      emoteOnly?: boolean;
      subsOnly?: boolean;
      r9k?: boolean;
    }
  | { type: 'ping'; token: string }
  | { type: 'pong'; token: string }
  /** The server will drop the connection soon: reconnect and re-join. */
  | { type: 'reconnect' }
  | { type: 'notice'; channel?: string; msgId?: string; text: string }
  /** 001: the login was accepted. */
  | { type: 'welcome'; nick: string }
  | { type: 'cap'; ack: boolean; caps: string[] }
  /** 366 end of NAMES: the join of `channel` completed. */
  | { type: 'joined'; channel: string }
  | { type: 'other'; command: string }
  | { type: 'invalid'; reason: string; line: string };

function channelParam(msg: IrcMessage): string | null {
  const p = msg.params[0];
  if (p?.charCodeAt(0) !== 35 /* # */) return null;
  const c = p.slice(1).toLowerCase();
  return LOGIN.test(c) ? c : null;
}

function loginOf(nick: string): string | null {
  const l = nick.toLowerCase();
  return LOGIN.test(l) ? l : null;
}

const invalid = (reason: string, line: string): ChatEvent => ({
  type: 'invalid',
  reason,
  line: line.slice(0, 200),
});

function tsOf(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Maps one validated wire message to a domain event. `line` is kept only for error reports. */
export function toChatEvent(msg: IrcMessage, line = ''): ChatEvent {
  switch (msg.command) {
    case 'PRIVMSG': {
      const channel = channelParam(msg);
      const login = loginOf(prefixNick(msg.prefix));
      if (!channel || !login) return invalid('PRIVMSG without a valid #channel or sender login', line);
      const t = privmsgTagsSchema.safeParse(msg.tags);
      if (!t.success)
        return invalid(
          `PRIVMSG tags: ${t.error.issues[0]?.path.join('.')} ${t.error.issues[0]?.message}`,
          line,
        );
      return {
        type: 'message',
        channel,
        login,
        userId: t.data['user-id'],
        sentAt: tsOf(t.data['tmi-sent-ts']),
        displayName: t.data['display-name'],
        id: t.data.id,
        roomId: t.data['room-id'],
        sourceRoomId: t.data['source-room-id'],
      };
    }
    case 'USERNOTICE': {
      const channel = channelParam(msg);
      const t = usernoticeTagsSchema.safeParse(msg.tags);
      const login = t.success ? loginOf(t.data.login) : null;
      if (!channel || !t.success || !login)
        return invalid('USERNOTICE without a valid #channel or login tag', line);
      return {
        type: 'usernotice',
        channel,
        login,
        kind: t.data['msg-id'],
        sentAt: tsOf(t.data['tmi-sent-ts']),
        id: t.data.id,
        userId: t.data['user-id'],
        roomId: t.data['room-id'],
        sourceRoomId: t.data['source-room-id'],
        sourceKind: t.data['source-msg-id'],
      };
    }
    case 'JOIN':
    case 'PART': {
      const channel = channelParam(msg);
      const login = loginOf(prefixNick(msg.prefix));
      if (!channel || !login) return invalid(`${msg.command} without a valid #channel or login`, line);
      return { type: msg.command === 'JOIN' ? 'join' : 'part', channel, login };
    }
    case 'ROOMSTATE': {
      const channel = channelParam(msg);
      const t = roomstateTagsSchema.safeParse(msg.tags);
      if (!channel || !t.success) return invalid('ROOMSTATE without a valid #channel or tags', line);
      const d = t.data;
      return {
        type: 'roomstate',
        channel,
        roomId: d['room-id'],
        slow: d.slow === undefined ? undefined : Number(d.slow),
        followersOnly: d['followers-only'] === undefined ? undefined : Number(d['followers-only']),
        emoteOnly: d['emote-only'] === undefined ? undefined : d['emote-only'] === '1',
        subsOnly: d['subs-only'] === undefined ? undefined : d['subs-only'] === '1',
        r9k: d.r9k === undefined ? undefined : d.r9k === '1',
      };
    }
    case 'PING':
      return { type: 'ping', token: msg.params[msg.params.length - 1] ?? 'tmi.twitch.tv' };
    case 'PONG':
      return { type: 'pong', token: msg.params[msg.params.length - 1] ?? '' };
    case 'RECONNECT':
      return { type: 'reconnect' };
    case 'NOTICE': {
      const p0 = msg.params[0] ?? '';
      return {
        type: 'notice',
        channel: p0.startsWith('#') ? p0.slice(1).toLowerCase() : undefined,
        msgId: msg.tags['msg-id'],
        text: msg.params[msg.params.length - 1] ?? '',
      };
    }
    case '001':
      return { type: 'welcome', nick: msg.params[0] ?? '' };
    case 'CAP': {
      const sub = msg.params[1] ?? '';
      if (sub !== 'ACK' && sub !== 'NAK') return { type: 'other', command: 'CAP' };
      return { type: 'cap', ack: sub === 'ACK', caps: (msg.params[2] ?? '').split(' ').filter(Boolean) };
    }
    case '366': {
      const p = msg.params[1] ?? '';
      const channel = p.startsWith('#') ? p.slice(1).toLowerCase() : '';
      return channel ? { type: 'joined', channel } : invalid('366 without a channel', line);
    }
    default:
      return { type: 'other', command: msg.command };
  }
}

/** Every tag `toChatEvent` reads: the rest of a line's tags are skipped while parsing. */
export const USED_TAGS: ReadonlySet<string> = new Set([
  ...Object.keys(privmsgTagsSchema.shape),
  ...Object.keys(usernoticeTagsSchema.shape),
  ...Object.keys(roomstateTagsSchema.shape),
  'msg-id',
]);

/** Parses and maps one raw line. */
export function parseChatLine(line: string): ChatEvent {
  const msg = parseIrcLine(line, USED_TAGS);
  return msg ? toChatEvent(msg, line) : invalid('not an IRC line', line);
}
