/**
 * Which chat events are presence: who was in which room. Pure and table-driven, so the
 * conformance corpus (test/fixtures/chat/) can pin every rule. The rules come from how Twitch
 * really delivers chat (see docs/collect.md, "What counts as presence"):
 *
 * - a line counts for the room it was typed in: a shared-chat copy (`source-room-id` ≠
 *   `room-id`, or a `USERNOTICE` with `msg-id=sharedchatnotice`) is not presence in the room
 *   that received it;
 * - system and anonymous accounts are never viewers: `ananonymousgifter`, `jtv`,
 *   `twitchnotify`, Twitch's own `twitch` account (promotional gifts) and read-only
 *   `justinfan` logins; anonymous gift notices (`anonsubgift`, `anonsubmysterygift`) name the
 *   channel's own account or the anonymous gifter, never the person who gave.
 */
import type { ChatEvent } from './events.js';

/** Accounts whose lines are Twitch's, not a viewer's. */
export const SYSTEM_LOGINS: ReadonlySet<string> = new Set([
  'ananonymousgifter',
  'jtv',
  'twitchnotify',
  'twitch',
]);

/** `USERNOTICE` kinds whose `login` is not the person who acted (anonymous gifts). */
export const ANONYMOUS_NOTICE_KINDS: ReadonlySet<string> = new Set(['anonsubgift', 'anonsubmysterygift']);

const ANON_LOGIN = /^justinfan\d+$/;

/** Why a chat line is not presence. */
export type NotPresenceReason = 'shared-chat-copy' | 'system-account' | 'anonymous-gift' | 'anonymous-login';

/** The presence a chat line yields: the sender in the room, with the stable ids the line carries. */
export interface LinePresence {
  channel: string;
  login: string;
  viewerId?: string;
  channelId?: string;
}

export type PresenceVerdict = { presence: LinePresence } | { skip: NotPresenceReason };

/** True when the line is a copy delivered to a shared-chat partner, not typed in `channel`. */
export function isSharedChatCopy(
  ev: Extract<ChatEvent, { type: 'message' | 'usernotice' }>,
  channelRoomId?: string,
): boolean {
  if (ev.type === 'usernotice' && ev.kind === 'sharedchatnotice') return true;
  if (ev.sourceRoomId === undefined) return false;
  const room = ev.roomId ?? channelRoomId;
  return room !== undefined && ev.sourceRoomId !== room;
}

/**
 * The presence of one chat line (`PRIVMSG` or `USERNOTICE`), or why there is none.
 * `channelRoomId` is the channel's user id from its ROOMSTATE, used when a line lacks `room-id`.
 */
export function presenceOfLine(
  ev: Extract<ChatEvent, { type: 'message' | 'usernotice' }>,
  channelRoomId?: string,
): PresenceVerdict {
  if (isSharedChatCopy(ev, channelRoomId)) return { skip: 'shared-chat-copy' };
  if (SYSTEM_LOGINS.has(ev.login)) return { skip: 'system-account' };
  if (ANON_LOGIN.test(ev.login)) return { skip: 'anonymous-login' };
  if (ev.type === 'usernotice' && ev.kind !== undefined && ANONYMOUS_NOTICE_KINDS.has(ev.kind))
    return { skip: 'anonymous-gift' };
  return {
    presence: {
      channel: ev.channel,
      login: ev.login,
      viewerId: ev.userId,
      channelId: ev.roomId ?? channelRoomId,
    },
  };
}
