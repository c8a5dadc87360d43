import type { z } from 'zod';
import { ConfigError, InputError, VieweratlasError } from '../../errors.js';
import { redactSecrets, registerSecret } from '../../observability/console.js';
import {
  errorBodySchema,
  gamesResponseSchema,
  type HelixGame,
  type HelixStream,
  type HelixUser,
  type HelixVideo,
  streamsResponseSchema,
  tokenResponseSchema,
  usersResponseSchema,
  videosResponseSchema,
} from './helix.external.js';

/**
 * A lean Helix client on `fetch`. Why not @twurple/api: its base URLs are fixed
 * (`https://api.twitch.tv/helix`, `https://id.twitch.tv/oauth2`); the only override is the
 * process-wide `TWURPLE_MOCK_API_PORT`, which forces `http://localhost:PORT/mock/…` and
 * `/auth/…`, so `discover.helix_url` could not point at an arbitrary URL (a proxy, our sim).
 *
 * App access token by client credentials, refreshed before expiry and once on a 401; every call
 * sends `Client-Id` and `Authorization: Bearer`; waits for `Ratelimit-Reset` when
 * `Ratelimit-Remaining` hits 0 and on 429; retries 5xx and network errors with exponential
 * backoff and jitter.
 */
export interface HelixClientOptions {
  /** Helix base URL, e.g. `https://api.twitch.tv/helix`. */
  helixUrl: string;
  /** OAuth base URL; the token is POSTed to `{authUrl}/token`. */
  authUrl: string;
  clientId: string;
  clientSecret: string;
  /** Retries on 429, 5xx and network errors before giving up. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry, plus up to 50% jitter. */
  backoffMs?: number;
  /** Cap on one backoff delay. */
  maxBackoffMs?: number;
  /** Longest wait for a rate-limit reset (guards against a bogus header). */
  maxResetWaitMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /**
   * Called before every wait (rate limit, 429, retry), with the reason, milliseconds and a
   * sentence for the user (what happened, how long, until when).
   */
  onWait?: (reason: HelixWaitReason, ms: number, message: string) => void;
}

export type HelixWaitReason = 'ratelimit' | '429' | '5xx' | 'network';

export const DEFAULTS = {
  maxRetries: 5,
  backoffMs: 500,
  maxBackoffMs: 30_000,
  maxResetWaitMs: 120_000,
} as const;

/** Counters for reports and tests. */
export interface HelixStats {
  requests: number;
  tokenFetches: number;
  retries: number;
  waitedMs: number;
}

export type QueryValue = string | number | readonly string[] | undefined;

/** Reads `TWITCH_CLIENT_ID` / `TWITCH_CLIENT_SECRET`; ConfigError (exit 1) when missing. */
export function helixCredentialsFromEnv(env: Record<string, string | undefined> = process.env): {
  clientId: string;
  clientSecret: string;
} {
  const clientId = env.TWITCH_CLIENT_ID?.trim();
  const clientSecret = env.TWITCH_CLIENT_SECRET?.trim();
  if (!clientId || !clientSecret) {
    throw new ConfigError(
      'Helix needs an app: set TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET in the environment (https://dev.twitch.tv/console/apps)',
    );
  }
  return { clientId, clientSecret };
}

/** `3h8m33s` (Twitch video duration) → seconds; NaN when it is not that notation. */
export function parseTwitchDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') return Number.NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class HelixClient {
  readonly stats: HelixStats = { requests: 0, tokenFetches: 0, retries: 0, waitedMs: 0 };
  private readonly opts: Required<Omit<HelixClientOptions, 'onWait'>> & Pick<HelixClientOptions, 'onWait'>;
  private token: string | null = null;
  private tokenExpiresAt = 0;
  private rateRemaining: number | null = null;
  private rateResetMs = 0;

  constructor(options: HelixClientOptions) {
    this.opts = {
      maxRetries: DEFAULTS.maxRetries,
      backoffMs: DEFAULTS.backoffMs,
      maxBackoffMs: DEFAULTS.maxBackoffMs,
      maxResetWaitMs: DEFAULTS.maxResetWaitMs,
      fetch: globalThis.fetch,
      sleep: realSleep,
      now: Date.now,
      random: Math.random,
      ...options,
      helixUrl: options.helixUrl.replace(/\/+$/, ''),
      authUrl: options.authUrl.replace(/\/+$/, ''),
    };
    registerSecret(this.opts.clientSecret);
  }

  /** Get Streams, one page. */
  async streams(params: {
    first?: number;
    after?: string;
    language?: readonly string[];
    gameId?: readonly string[];
  }): Promise<{ data: HelixStream[]; cursor?: string }> {
    const body = await this.get(
      '/streams',
      { first: params.first ?? 100, after: params.after, language: params.language, game_id: params.gameId },
      streamsResponseSchema,
    );
    return { data: body.data, cursor: body.pagination?.cursor || undefined };
  }

  /** Get Games by name (at most 100 names per request; batched here). */
  async gamesByName(names: readonly string[]): Promise<HelixGame[]> {
    const out: HelixGame[] = [];
    for (let i = 0; i < names.length; i += 100) {
      const body = await this.get('/games', { name: names.slice(i, i + 100) }, gamesResponseSchema);
      out.push(...body.data);
    }
    return out;
  }

  /** Get Users by login (batched by 100). */
  async usersByLogin(logins: readonly string[]): Promise<HelixUser[]> {
    const out: HelixUser[] = [];
    for (let i = 0; i < logins.length; i += 100) {
      const body = await this.get('/users', { login: logins.slice(i, i + 100) }, usersResponseSchema);
      out.push(...body.data);
    }
    return out;
  }

  /** Get Videos of one user, one page. */
  async videos(params: {
    userId: string;
    type?: 'all' | 'archive' | 'highlight' | 'upload';
    first?: number;
    after?: string;
  }): Promise<{ data: HelixVideo[]; cursor?: string }> {
    const body = await this.get(
      '/videos',
      {
        user_id: params.userId,
        type: params.type ?? 'archive',
        first: params.first ?? 100,
        after: params.after,
      },
      videosResponseSchema,
    );
    return { data: body.data, cursor: body.pagination?.cursor || undefined };
  }

  /** One authenticated GET, parsed with `schema`. Repeated array values become repeated keys. */
  async get<S extends z.ZodType>(
    path: string,
    query: Record<string, QueryValue>,
    schema: S,
  ): Promise<z.infer<S>> {
    const url = new URL(this.opts.helixUrl + path);
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item);
      else url.searchParams.set(k, String(v));
    }
    let refreshedOn401 = false;
    for (let attempt = 0; ; attempt++) {
      await this.waitForRateLimit();
      const token = await this.ensureToken();
      const res = await this.send(
        url.href,
        { headers: { 'Client-Id': this.opts.clientId, Authorization: `Bearer ${token}` } },
        attempt,
      );
      if (res === null) continue; // network error, already waited
      this.readRateLimit(res);
      if (res.status === 401) {
        const reason = await errorMessage(res);
        if (refreshedOn401) {
          throw new InputError(
            'helix',
            `${path}: Twitch rejected the app access token twice (HTTP 401: ${reason}); check TWITCH_CLIENT_ID / TWITCH_CLIENT_SECRET`,
          );
        }
        refreshedOn401 = true;
        this.token = null; // expired or revoked: fetch a new one and retry once
        attempt--;
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        await res.body?.cancel();
        if (attempt >= this.opts.maxRetries) {
          throw new VieweratlasError(
            'helix',
            `${path}: HTTP ${res.status} after ${attempt + 1} attempts (discover.max_retries = ${this.opts.maxRetries})`,
          );
        }
        this.stats.retries++;
        if (res.status === 429) {
          const reset = this.resetWait();
          await this.wait(
            '429',
            reset ?? this.backoff(attempt),
            `${path}: HTTP 429 (rate limited)${this.resetNote()}`,
          );
          this.rateRemaining = null; // that wait was the rate-limit wait: do not wait again for it
        } else await this.wait('5xx', this.backoff(attempt), `${path}: HTTP ${res.status}`);
        continue;
      }
      if (!res.ok) {
        throw new InputError(
          'helix',
          `${url.pathname}${url.search}: HTTP ${res.status}: ${await errorMessage(res)}`,
        );
      }
      const json = await readJson(res, `GET ${url.pathname}`);
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const at = issue?.path ?? [];
        throw new InputError(
          'helix',
          `GET ${url.pathname}: unexpected response shape at ${at.join('.') || '(root)'}: ${issue?.message} (got ${snippet(JSON.stringify(valueAt(json, at)) ?? 'undefined')})`,
        );
      }
      return parsed.data;
    }
  }

  /** Client-credentials token, cached until shortly before it expires. */
  private async ensureToken(): Promise<string> {
    if (this.token && this.opts.now() < this.tokenExpiresAt) return this.token;
    const body = new URLSearchParams({
      client_id: this.opts.clientId,
      client_secret: this.opts.clientSecret,
      grant_type: 'client_credentials',
    });
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(
        `${this.opts.authUrl}/token`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: body.toString(),
        },
        attempt,
      );
      if (res === null) continue;
      if (res.status === 429 || res.status >= 500) {
        await res.body?.cancel();
        if (attempt >= this.opts.maxRetries) {
          throw new VieweratlasError(
            'helix',
            `token endpoint ${this.opts.authUrl}/token: HTTP ${res.status} after ${attempt + 1} attempts`,
          );
        }
        this.stats.retries++;
        await this.wait(
          res.status === 429 ? '429' : '5xx',
          this.backoff(attempt),
          `token endpoint: HTTP ${res.status}`,
        );
        continue;
      }
      if (!res.ok) {
        // 400 "invalid client" / 403 "invalid client secret". The body of an auth reply is never
        // printed: a server may echo the request, secret included. Only Twitch's short reason.
        throw new InputError(
          'helix',
          `Twitch rejected the app credentials (TWITCH_CLIENT_ID=${this.opts.clientId}, TWITCH_CLIENT_SECRET=<hidden>) at ${this.opts.authUrl}/token: HTTP ${res.status}: ${await authReason(res)}`,
        );
      }
      let tokenJson: unknown;
      try {
        tokenJson = JSON.parse(await res.text());
      } catch {
        tokenJson = undefined;
      }
      const parsed = tokenResponseSchema.safeParse(tokenJson);
      if (!parsed.success)
        throw new VieweratlasError(
          'helix',
          `token endpoint ${this.opts.authUrl}/token: HTTP ${res.status} without an access token (${res.headers.get('content-type') ?? 'no content type'}; body withheld)`,
        );
      registerSecret(parsed.data.access_token);
      this.stats.tokenFetches++;
      const ttlMs = parsed.data.expires_in * 1000;
      // renew a little early: 10% of the lifetime, at most a minute
      this.tokenExpiresAt = this.opts.now() + ttlMs - Math.min(60_000, ttlMs * 0.1);
      this.token = parsed.data.access_token;
      return this.token;
    }
  }

  /** fetch, with network errors turned into a backoff (null) or, past the budget, an error. */
  private async send(url: string, init: RequestInit, attempt: number): Promise<Response | null> {
    this.stats.requests++;
    try {
      return await this.opts.fetch(url, init);
    } catch (err) {
      if (attempt >= this.opts.maxRetries) {
        throw new VieweratlasError(
          'helix',
          `${url.split('?')[0]}: ${(err as Error).message} after ${attempt + 1} attempts`,
          { cause: err },
        );
      }
      this.stats.retries++;
      await this.wait('network', this.backoff(attempt), `${url.split('?')[0]}: ${(err as Error).message}`);
      return null;
    }
  }

  private readRateLimit(res: Response): void {
    const remaining = res.headers.get('ratelimit-remaining');
    const reset = res.headers.get('ratelimit-reset');
    if (
      remaining !== null &&
      reset !== null &&
      Number.isFinite(Number(remaining)) &&
      Number.isFinite(Number(reset))
    ) {
      this.rateRemaining = Number(remaining);
      this.rateResetMs = Number(reset) * 1000;
    }
  }

  /** Milliseconds until `Ratelimit-Reset`, or undefined when unknown or past. */
  private resetWait(): number | undefined {
    const ms = this.rateResetMs - this.opts.now();
    return this.rateResetMs > 0 && ms > 0 ? Math.min(ms, this.opts.maxResetWaitMs) : undefined;
  }

  /** `; Ratelimit-Reset at … (in N s)`, and the cap when the reset is further than we wait. */
  private resetNote(): string {
    if (this.rateResetMs <= 0) return '';
    const inMs = this.rateResetMs - this.opts.now();
    const at = new Date(this.rateResetMs).toISOString();
    const capped =
      inMs > this.opts.maxResetWaitMs
        ? `, waiting at most ${Math.round(this.opts.maxResetWaitMs / 1000)} s before trying again`
        : '';
    return `; Ratelimit-Reset ${at} (in ${Math.max(0, Math.round(inMs / 1000))} s${capped})`;
  }

  private async waitForRateLimit(): Promise<void> {
    if (this.rateRemaining !== null && this.rateRemaining <= 0) {
      const ms = this.resetWait();
      if (ms !== undefined) await this.wait('ratelimit', ms, `rate-limit bucket empty${this.resetNote()}`);
      this.rateRemaining = null;
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** attempt);
    return Math.round(base * (1 + 0.5 * this.opts.random()));
  }

  private async wait(reason: HelixWaitReason, ms: number, why: string): Promise<void> {
    this.opts.onWait?.(reason, ms, `Helix ${why}: waiting ${formatWait(ms)}`);
    this.stats.waitedMs += ms;
    await this.opts.sleep(ms);
  }
}

function formatWait(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The first characters of a reply, quoted (control characters escaped) and secrets redacted. */
function snippet(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(redactSecrets(cut));
}

function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let cur = value;
  for (const p of path)
    cur = cur && typeof cur === 'object' ? (cur as Record<PropertyKey, unknown>)[p] : undefined;
  return cur;
}

/** A successful reply's JSON; a body that is not JSON fails naming the endpoint and what came. */
async function readJson(res: Response, endpoint: string): Promise<unknown> {
  const text = await res.text().catch(() => '');
  try {
    return JSON.parse(text);
  } catch {
    const type = res.headers.get('content-type') ?? 'no content type';
    // Mostly a --helix-url that is not a Helix (a web page, a proxy's error page): bad input.
    throw new InputError(
      'helix',
      `${endpoint}: expected JSON, got HTTP ${res.status} ${type}${text ? `: ${snippet(text)}` : ' with an empty body'}`,
    );
  }
}

/** Helix's reason for a 4xx: its JSON `message`, else the start of the body (secrets redacted). */
async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = errorBodySchema.parse(JSON.parse(text));
    return redactSecrets(body.message ?? body.error ?? res.statusText);
  } catch {
    return text ? snippet(text, 200) : res.statusText;
  }
}

/**
 * The OAuth endpoint's reason, only when it is one short plain sentence like Twitch's
 * (`invalid client secret`); anything else — an echo of the form, HTML — is withheld.
 */
async function authReason(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = errorBodySchema.parse(JSON.parse(text));
    const m = body.message ?? body.error;
    if (m && /^[A-Za-z][A-Za-z0-9 ,.'()-]{0,79}$/.test(m)) return redactSecrets(m);
  } catch {
    // not JSON: withheld below
  }
  return `${res.statusText || 'rejected'} (response body withheld)`;
}
