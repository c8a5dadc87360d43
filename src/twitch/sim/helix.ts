import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  archiveVideos,
  formatTwitchDuration,
  gameId,
  type HelixSimChannel,
  type HelixSimVideo,
  userId,
} from './helix-data.js';

export type { HelixSimChannel, HelixSimVideo } from './helix-data.js';

/**
 * Twitch's Helix API and OAuth client-credentials endpoint, in process, with the JSON shapes of
 * Twitch's API reference: `/oauth2/token`, `/helix/streams`, `/helix/games`, `/helix/users`,
 * `/helix/videos`. A points bucket feeds `Ratelimit-*` headers (429 when empty), tokens expire,
 * and faults can be injected (next N Helix responses 401 / 429 / 5xx).
 * COLLECT's `startTwitchSim` mounts `handle` on its HTTP server; it answers false for other paths.
 */
export interface HelixSimOptions {
  channels: HelixSimChannel[];
  clientId: string;
  clientSecret: string;
  /** Lifetime of issued app tokens (Twitch: ~60 days; short in tests). */
  tokenTtlSeconds?: number;
  /** Bucket size (`Ratelimit-Limit`); refills fully over `rateWindowSeconds`. */
  ratePoints?: number;
  rateWindowSeconds?: number;
  /** Archived VODs listed per channel. */
  videosPerChannel?: number;
  /** Clock (epoch ms). */
  now?: () => number;
}

export const DEFAULTS = {
  tokenTtlSeconds: 5_000_000,
  ratePoints: 800,
  rateWindowSeconds: 60,
  videosPerChannel: 3,
} as const;

export type HelixSimFault = 401 | 429 | 500 | 502 | 503;

/**
 * A hostile or broken Helix, for robustness tests: `cursor-cycle` — Get Streams' cursors lead
 * from page 1 to page 2 and back to page 1, forever; `not-json` — Helix answers 200 with an HTML
 * page; `echo-body` — the token endpoint rejects the request and echoes its body (secret included);
 * `no-streams` — Get Streams finds nothing live.
 */
export type HelixSimMisbehaviour = 'cursor-cycle' | 'not-json' | 'echo-body' | 'no-streams';

export interface HelixSimRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  at: number;
}

export interface HelixSim {
  /** Serves Helix/OAuth paths; resolves false (untouched response) for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** The next `count` Helix responses fail with `status` (429 carries `Ratelimit-Reset` now + `resetSeconds`). */
  failNext(status: HelixSimFault, count?: number, opts?: { resetSeconds?: number }): void;
  /** Faults still queued. */
  pendingFaults(): number;
  /** Every request served, in order (for assertions). */
  readonly requests: HelixSimRequest[];
  /** Archived VODs of a login, newest first. */
  videosOf(login: string): HelixSimVideo[];
  /** Makes every issued token invalid (as if expired or revoked). */
  revokeTokens(): void;
  /** Switches a misbehaviour on (or off with `on = false`). */
  misbehave(kind: HelixSimMisbehaviour, on?: boolean): void;
}

interface Fault {
  status: HelixSimFault;
  resetSeconds: number;
}

const MAX_FIRST = 100;

function encodeCursor(offset: number): string {
  // Twitch cursors are opaque base64 JSON; mimic the look
  return Buffer.from(JSON.stringify({ b: null, a: { Offset: offset } })).toString('base64url');
}

function decodeCursor(cursor: string): number | null {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { a?: { Offset?: unknown } };
    const n = v.a?.Offset;
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : null;
  } catch {
    return null;
  }
}

export function createHelixSim(options: HelixSimOptions): HelixSim {
  const o = { ...DEFAULTS, now: Date.now, ...options };
  const channels = [...o.channels].sort(
    (a, b) => b.viewerCount - a.viewerCount || (a.name < b.name ? -1 : 1),
  );
  const byLogin = new Map(channels.map((c) => [c.name, c]));
  const byUserId = new Map(channels.map((c) => [userId(c.name), c]));
  const tokens = new Map<string, number>(); // token → expiry ms
  const faults: Fault[] = [];
  const requests: HelixSimRequest[] = [];
  const videoCache = new Map<string, HelixSimVideo[]>();
  const startedAt = o.now();
  let points = o.ratePoints;
  let pointsAt = o.now();
  const misbehaving = new Set<HelixSimMisbehaviour>();

  const videosOf = (login: string): HelixSimVideo[] => {
    let v = videoCache.get(login);
    if (!v) {
      v = archiveVideos(login, startedAt, o.videosPerChannel);
      videoCache.set(login, v);
    }
    return v;
  };
  const videoById = (id: string): HelixSimVideo | undefined => {
    for (const c of channels) for (const v of videosOf(c.name)) if (v.id === id) return v;
    return undefined;
  };

  const refill = (now: number) => {
    const rate = o.ratePoints / (o.rateWindowSeconds * 1000);
    points = Math.min(o.ratePoints, points + (now - pointsAt) * rate);
    pointsAt = now;
  };
  const rateHeaders = (now: number): Record<string, string> => {
    const rate = o.ratePoints / (o.rateWindowSeconds * 1000);
    const fullAt = now + (o.ratePoints - points) / rate;
    return {
      'Ratelimit-Limit': String(o.ratePoints),
      'Ratelimit-Remaining': String(Math.max(0, Math.floor(points))),
      'Ratelimit-Reset': String(Math.ceil(fullAt / 1000)),
    };
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
    return status;
  };
  const helixError = (
    res: ServerResponse,
    status: number,
    message: string,
    headers?: Record<string, string>,
  ) =>
    send(
      res,
      status,
      {
        error:
          status === 401
            ? 'Unauthorized'
            : status === 429
              ? 'Too Many Requests'
              : status >= 500
                ? 'Internal Server Error'
                : 'Bad Request',
        status,
        message,
      },
      headers,
    );

  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const token = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> => {
    if (req.method !== 'POST') return send(res, 404, { status: 404, message: 'Not Found' });
    // Twitch accepts the parameters as a form body or in the query string
    const params = new URLSearchParams(await readBody(req));
    for (const [k, v] of url.searchParams) if (!params.has(k)) params.set(k, v);
    if (misbehaving.has('echo-body')) {
      const text = `{"status":400,"message":"malformed request: ${params.toString()}"}`;
      res.writeHead(400, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return 400;
    }
    if (params.get('grant_type') !== 'client_credentials')
      return send(res, 400, { status: 400, message: 'unsupported grant type' });
    if (params.get('client_id') !== o.clientId)
      return send(res, 400, { status: 400, message: 'invalid client' });
    if (params.get('client_secret') !== o.clientSecret)
      return send(res, 403, { status: 403, message: 'invalid client secret' });
    const t = randomBytes(15).toString('base64url').toLowerCase();
    tokens.set(t, o.now() + o.tokenTtlSeconds * 1000);
    return send(res, 200, { access_token: t, expires_in: o.tokenTtlSeconds, token_type: 'bearer' });
  };

  const pageOf = <T>(
    items: T[],
    url: URL,
    res: ServerResponse,
    headers: Record<string, string>,
    map: (t: T) => unknown,
  ): number => {
    const firstRaw = url.searchParams.get('first');
    const first = firstRaw === null ? 20 : Number(firstRaw);
    if (!Number.isInteger(first) || first < 1 || first > MAX_FIRST) {
      return helixError(
        res,
        400,
        `The parameter "first" was malformed: the value must be greater than or equal to 1 and less than or equal to ${MAX_FIRST}`,
        headers,
      );
    }
    const after = url.searchParams.get('after');
    const offset = after ? decodeCursor(after) : 0;
    if (offset === null)
      return helixError(
        res,
        400,
        'The parameter "after" was malformed: the value is not a valid cursor',
        headers,
      );
    const slice = items.slice(offset, offset + first);
    // cursor-cycle: the second page points back at the first
    const nextOffset = misbehaving.has('cursor-cycle') && offset >= first ? 0 : offset + first;
    const next = nextOffset < items.length ? { cursor: encodeCursor(nextOffset) } : {};
    return send(res, 200, { data: slice.map(map), pagination: next }, headers);
  };

  const streamJson = (c: HelixSimChannel) => ({
    id: String(40_000_000_000 + (Number(userId(c.name)) % 1_000_000_000)),
    user_id: userId(c.name),
    user_login: c.name,
    user_name: c.displayName ?? c.name,
    game_id: gameId(c.game),
    game_name: c.game,
    type: 'live',
    title: `${c.game} with ${c.displayName ?? c.name}`,
    viewer_count: c.viewerCount,
    started_at: new Date(Math.floor(startedAt / 1000) * 1000 - 3_600_000).toISOString().replace('.000Z', 'Z'),
    language: c.language,
    thumbnail_url: `https://static-cdn.jtvnw.net/previews-ttv/live_user_${c.name}-{width}x{height}.jpg`,
    tag_ids: [],
    tags: [c.language === 'en' ? 'English' : c.language],
    is_mature: false,
  });
  const userJson = (c: HelixSimChannel) => ({
    id: userId(c.name),
    login: c.name,
    display_name: c.displayName ?? c.name,
    type: '',
    broadcaster_type: c.viewerCount > 1000 ? 'partner' : 'affiliate',
    description: '',
    profile_image_url: `https://static-cdn.jtvnw.net/jtv_user_pictures/${c.name}-profile_image-300x300.png`,
    offline_image_url: '',
    view_count: 0,
    created_at: '2016-12-14T20:32:28Z',
  });
  const videoJson = (v: HelixSimVideo) => {
    const c = byLogin.get(v.userLogin);
    const iso = new Date(v.createdAt).toISOString().replace('.000Z', 'Z');
    return {
      id: v.id,
      stream_id: String(40_000_000_000 + (Number(v.id) % 1_000_000_000)),
      user_id: userId(v.userLogin),
      user_login: v.userLogin,
      user_name: c?.displayName ?? v.userLogin,
      title: v.title,
      description: '',
      created_at: iso,
      published_at: iso,
      url: `https://www.twitch.tv/videos/${v.id}`,
      thumbnail_url: '',
      viewable: 'public',
      view_count: 100 + (Number(v.id) % 5000),
      language: c?.language ?? 'en',
      type: 'archive',
      duration: formatTwitchDuration(v.durationSeconds),
      muted_segments: null,
    };
  };

  const helix = (req: IncomingMessage, res: ServerResponse, url: URL, route: string): number => {
    const now = o.now();
    refill(now);
    const fault = faults.shift();
    if (fault) {
      if (fault.status === 401) {
        tokens.clear();
        return helixError(res, 401, 'Invalid OAuth token', rateHeaders(now));
      }
      if (fault.status === 429) {
        return helixError(res, 429, 'Too Many Requests', {
          ...rateHeaders(now),
          'Ratelimit-Remaining': '0',
          'Ratelimit-Reset': String(Math.ceil(now / 1000 + fault.resetSeconds)),
        });
      }
      return helixError(res, fault.status, 'Internal Server Error', rateHeaders(now));
    }
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer (.+)$/i.exec(auth)?.[1];
    const clientId = req.headers['client-id'];
    if (!bearer) return helixError(res, 401, 'OAuth token is missing');
    const expiry = tokens.get(bearer);
    if (expiry === undefined || expiry <= now) return helixError(res, 401, 'Invalid OAuth token');
    if (clientId !== o.clientId) return helixError(res, 401, 'Client ID and OAuth token do not match');
    if (points < 1) return helixError(res, 429, 'Too Many Requests', rateHeaders(now));
    points -= 1;
    const headers = rateHeaders(now);
    if (req.method !== 'GET') return helixError(res, 404, 'Not Found', headers);
    if (misbehaving.has('not-json')) {
      const html = '<html><head><title>502 Bad Gateway</title></head><body>upstream error</body></html>';
      res.writeHead(200, {
        'Content-Type': 'text/html',
        'Content-Length': Buffer.byteLength(html),
        ...headers,
      });
      res.end(html);
      return 200;
    }
    const q = url.searchParams;
    switch (route) {
      case 'streams': {
        const langs = new Set(q.getAll('language'));
        const games = new Set(q.getAll('game_id'));
        const logins = new Set(q.getAll('user_login').map((l) => l.toLowerCase()));
        if (langs.size > 100 || games.size > 100 || logins.size > 100)
          return helixError(res, 400, 'Too many filter values (max 100)', headers);
        const live = channels.filter(
          (c) =>
            !misbehaving.has('no-streams') &&
            c.live !== false &&
            (langs.size === 0 || langs.has(c.language)) &&
            (games.size === 0 || games.has(gameId(c.game))) &&
            (logins.size === 0 || logins.has(c.name)),
        );
        return pageOf(live, url, res, headers, streamJson);
      }
      case 'games': {
        const names = q.getAll('name').map((n) => n.toLowerCase());
        const ids = new Set(q.getAll('id'));
        if (names.length + ids.size === 0)
          return helixError(res, 400, 'Missing required parameter "id" or "name"', headers);
        const all = new Map<string, string>();
        for (const c of channels) all.set(gameId(c.game), c.game);
        const data = [...all]
          .filter(([id, name]) => ids.has(id) || names.includes(name.toLowerCase()))
          .map(([id, name]) => ({
            id,
            name,
            box_art_url: `https://static-cdn.jtvnw.net/ttv-boxart/${id}-{width}x{height}.jpg`,
            igdb_id: '',
          }));
        return send(res, 200, { data }, headers);
      }
      case 'users': {
        const logins = q.getAll('login').map((l) => l.toLowerCase());
        const ids = q.getAll('id');
        if (logins.length + ids.length > 100)
          return helixError(res, 400, 'Too many logins or ids (max 100)', headers);
        const found: HelixSimChannel[] = [];
        for (const l of logins) {
          const c = byLogin.get(l);
          if (c) found.push(c);
        }
        for (const id of ids) {
          const c = byUserId.get(id);
          if (c) found.push(c);
        }
        return send(res, 200, { data: found.map(userJson) }, headers);
      }
      case 'videos': {
        const ids = q.getAll('id');
        if (ids.length > 0) {
          const vids = ids.map(videoById).filter((v): v is HelixSimVideo => v !== undefined);
          if (vids.length === 0) return helixError(res, 404, 'Not Found', headers);
          return send(res, 200, { data: vids.map(videoJson), pagination: {} }, headers);
        }
        const uid = q.get('user_id');
        if (!uid) return helixError(res, 400, 'Missing required parameter "user_id"', headers);
        const type = q.get('type') ?? 'all';
        if (!['all', 'archive', 'highlight', 'upload'].includes(type))
          return helixError(res, 400, `The parameter "type" was malformed: "${type}"`, headers);
        const c = byUserId.get(uid);
        const vids = c && (type === 'all' || type === 'archive') ? videosOf(c.name) : [];
        return pageOf(vids, url, res, headers, videoJson);
      }
      default:
        return helixError(res, 404, 'Not Found', headers);
    }
  };

  return {
    requests,
    videosOf,
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://sim.local');
      const m = /^\/(?:helix\/(streams|games|users|videos)|oauth2\/(token))\/?$/.exec(url.pathname);
      if (!m) return false;
      const status = m[2] ? await token(req, res, url) : helix(req, res, url, m[1]!);
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.search,
        status,
        at: o.now(),
      });
      return true;
    },
    failNext(status, count = 1, opts = {}) {
      for (let i = 0; i < count; i++) faults.push({ status, resetSeconds: opts.resetSeconds ?? 1 });
    },
    pendingFaults: () => faults.length,
    revokeTokens: () => tokens.clear(),
    misbehave(kind, on = true) {
      if (on) misbehaving.add(kind);
      else misbehaving.delete(kind);
    },
  };
}
