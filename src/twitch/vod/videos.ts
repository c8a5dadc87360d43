import type { HelixClient } from '../helix/client.js';
import { parseTwitchDuration } from '../helix/client.js';

/** An archived broadcast to replay. */
export interface VodRef {
  id: string;
  /** Channel login, lower case. */
  channel: string;
  /** Broadcast start, epoch ms. */
  createdAt: number;
  durationSeconds: number;
  title: string;
  /** Helix `view_count`, when given. */
  viewCount?: number;
}

/**
 * Archived VODs (Get Users login → id, then Get Videos `type=archive`, newest first) created
 * within `windowDays` before `now`, with at least `minViews` views, at most `maxPerChannel` per
 * channel (counted among those kept). Logins Twitch does not know are returned in `unknown`;
 * `belowMinViews` counts the VODs left out for their views.
 */
export async function listArchiveVods(
  client: HelixClient,
  logins: readonly string[],
  opts: {
    windowDays: number;
    maxPerChannel: number;
    minViews?: number;
    now?: number;
    onChannel?: (done: number, total: number) => void;
  },
): Promise<{ vods: VodRef[]; unknown: string[]; belowMinViews: number }> {
  const minViews = opts.minViews ?? 0;
  let belowMinViews = 0;
  const now = opts.now ?? Date.now();
  const since = now - opts.windowDays * 86_400_000;
  const users = await client.usersByLogin(logins);
  const byLogin = new Map(users.map((u) => [u.login.toLowerCase(), u]));
  const unknown = logins.filter((l) => !byLogin.has(l.toLowerCase()));
  const vods: VodRef[] = [];
  let done = 0;
  for (const login of logins) {
    const user = byLogin.get(login.toLowerCase());
    if (!user) continue;
    let cursor: string | undefined;
    let kept = 0;
    pages: for (;;) {
      const page = await client.videos({
        userId: user.id,
        type: 'archive',
        first: minViews > 0 ? 100 : Math.min(100, opts.maxPerChannel),
        after: cursor,
      });
      for (const v of page.data) {
        const createdAt = Date.parse(v.created_at);
        if (!(createdAt >= since)) break pages; // newest first: the rest are older
        if (minViews > 0 && (v.view_count ?? 0) < minViews) {
          belowMinViews++;
          continue;
        }
        vods.push({
          id: v.id,
          channel: v.user_login.toLowerCase(),
          createdAt,
          durationSeconds: parseTwitchDuration(v.duration),
          title: v.title,
          ...(v.view_count !== undefined ? { viewCount: v.view_count } : {}),
        });
        if (++kept >= opts.maxPerChannel) break pages;
      }
      if (!page.cursor || page.data.length === 0 || page.cursor === cursor) break;
      cursor = page.cursor;
    }
    opts.onChannel?.(++done, logins.length);
  }
  return { vods, unknown, belowMinViews };
}
