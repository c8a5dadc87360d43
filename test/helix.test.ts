import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputError, VieweratlasError } from '../src/errors.js';
import { HelixClient, type HelixWaitReason, parseTwitchDuration } from '../src/twitch/helix/client.js';
import { formatTwitchDuration, seedHelixChannels } from '../src/twitch/sim/helix-data.js';
import { type HelixServer, startHelixServer } from './helpers/helix-server.js';

const CLIENT_ID = 'va-test-client';
const SECRET = 'va-test-secret-do-not-print';

describe('Helix client against the Helix sim', () => {
  let hs: HelixServer;
  let waits: { reason: HelixWaitReason; ms: number }[];
  const client = (over: Partial<ConstructorParameters<typeof HelixClient>[0]> = {}) =>
    new HelixClient({
      helixUrl: hs.helixUrl,
      authUrl: hs.authUrl,
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      backoffMs: 5,
      onWait: (reason, ms) => waits.push({ reason, ms }),
      ...over,
    });

  beforeEach(async () => {
    waits = [];
    hs = await startHelixServer({
      channels: seedHelixChannels(40),
      clientId: CLIENT_ID,
      clientSecret: SECRET,
    });
  });
  afterEach(() => hs.close());

  it('sends Client-Id and Bearer and parses the real response shapes', async () => {
    const c = client();
    const page = await c.streams({ first: 5 });
    expect(page.data).toHaveLength(5);
    expect(page.cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const counts = page.data.map((s) => s.viewer_count);
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);
    const users = await c.usersByLogin([page.data[0]!.user_login, 'no_such_login_xyz']);
    expect(users.map((u) => u.login)).toEqual([page.data[0]!.user_login]);
    const vids = await c.videos({ userId: users[0]!.id });
    expect(vids.data.length).toBe(3);
    expect(vids.data[0]!.type).toBe('archive');
    expect(parseTwitchDuration(vids.data[0]!.duration)).toBeGreaterThan(0);
    expect(c.stats.tokenFetches).toBe(1);
    expect(hs.sim.requests.filter((r) => r.path === '/oauth2/token')).toHaveLength(1);
  });

  it('refreshes the token after a 401 and retries once', async () => {
    const c = client();
    await c.streams({ first: 1 });
    hs.sim.failNext(401);
    const page = await c.streams({ first: 2 });
    expect(page.data).toHaveLength(2);
    expect(c.stats.tokenFetches).toBe(2);
    expect(hs.sim.requests.map((r) => `${r.path} ${r.status}`)).toEqual([
      '/oauth2/token 200',
      '/helix/streams 200',
      '/helix/streams 401',
      '/oauth2/token 200',
      '/helix/streams 200',
    ]);
  });

  it('a second 401 in a row is a credential error (exit 1)', async () => {
    const c = client();
    hs.sim.failNext(401, 2);
    const err = await c.streams({ first: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/401/);
  });

  it('renews the token before it expires', async () => {
    await hs.close();
    hs = await startHelixServer({
      channels: seedHelixChannels(5),
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      tokenTtlSeconds: 1,
    });
    const c = client();
    await c.streams({ first: 1 });
    await new Promise((r) => setTimeout(r, 1000));
    await c.streams({ first: 1 });
    expect(c.stats.tokenFetches).toBe(2);
    expect(hs.sim.requests.some((r) => r.status === 401)).toBe(false);
  });

  it('waits for Ratelimit-Reset on a 429, then succeeds', async () => {
    const c = client();
    await c.streams({ first: 1 });
    hs.sim.failNext(429, 1, { resetSeconds: 1 });
    const t0 = Date.now();
    await c.streams({ first: 1 });
    const elapsed = Date.now() - t0;
    const rejected = hs.sim.requests.find((r) => r.status === 429)!;
    const retried = hs.sim.requests.at(-1)!;
    expect(retried.status).toBe(200);
    // the reset is a whole epoch second at least 1 s after the 429
    expect(waits.filter((w) => w.reason === '429')).toHaveLength(1);
    const wait = waits[0]!.ms;
    expect(wait).toBeGreaterThan(950);
    expect(wait).toBeLessThanOrEqual(2000);
    expect(retried.at - rejected.at).toBeGreaterThanOrEqual(wait - 20);
    expect(elapsed).toBeGreaterThanOrEqual(wait - 20);
  });

  it('waits when Ratelimit-Remaining reaches 0 instead of running into 429', async () => {
    await hs.close();
    hs = await startHelixServer({
      channels: seedHelixChannels(5),
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      ratePoints: 2,
      rateWindowSeconds: 1,
    });
    const c = client();
    for (let i = 0; i < 4; i++) await c.streams({ first: 1 });
    expect(hs.sim.requests.filter((r) => r.status === 429)).toHaveLength(0);
    expect(waits.some((w) => w.reason === 'ratelimit' && w.ms > 0)).toBe(true);
  });

  it('retries 5xx with backoff and gives up after max_retries', async () => {
    const c = client({ maxRetries: 3 });
    hs.sim.failNext(500, 2);
    expect((await c.streams({ first: 1 })).data).toHaveLength(1);
    expect(c.stats.retries).toBe(2);
    expect(waits.map((w) => w.reason)).toEqual(['5xx', '5xx']);
    // exponential: the second delay is at least the first base doubled
    expect(waits[1]!.ms).toBeGreaterThanOrEqual(10);
    hs.sim.failNext(503, 10);
    const err = await c.streams({ first: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(VieweratlasError);
    expect(err.message).toMatch(/HTTP 503 after 4 attempts/);
  });

  it('a bad secret is an InputError that never shows the secret', async () => {
    const c = client({ clientSecret: 'wrong-secret-value' });
    const err = await c.streams({ first: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/rejected the app credentials.*403.*invalid client secret/);
    expect(err.message).not.toContain('wrong-secret-value');
    const err2 = await client({ clientId: 'nope' })
      .streams({})
      .catch((e) => e);
    expect(err2.message).toMatch(/400: invalid client/);
  });
});

describe('Twitch duration notation', () => {
  it('parses and formats 3h8m33s', () => {
    expect(parseTwitchDuration('3h8m33s')).toBe(3 * 3600 + 8 * 60 + 33);
    expect(parseTwitchDuration('45s')).toBe(45);
    expect(parseTwitchDuration('12m0s')).toBe(720);
    expect(parseTwitchDuration('3:08:33')).toBeNaN();
    expect(formatTwitchDuration(11313)).toBe('3h8m33s');
    expect(formatTwitchDuration(45)).toBe('45s');
    expect(formatTwitchDuration(3600)).toBe('1h0m0s');
  });
});
