/**
 * `discover` against a hostile or broken Helix (issue 11): cursors that cycle, a far
 * `Ratelimit-Reset`, HTML instead of JSON, a token endpoint that echoes the secret, logins that
 * are paths or hold newlines, and an empty result that must not empty `channels.txt`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { parseChannelsText } from '../src/collect/channels-file.js';
import { loadConfig } from '../src/config/index.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { discover } from '../src/twitch/helix/discover.js';
import type { HelixSimChannel } from '../src/twitch/sim/helix-data.js';
import { type HelixServer, startHelixServer } from './helpers/helix-server.js';
import { runCli } from './helpers/run-cli.js';

const CLIENT_ID = 'robust-client';
const SECRET = 'robust-secret-never-printed';
const ENV = { TWITCH_CLIENT_ID: CLIENT_ID, TWITCH_CLIENT_SECRET: SECRET };

const CHANNELS: HelixSimChannel[] = [
  ...Array.from({ length: 300 }, (_, i) => ({
    name: `ch${i}`,
    language: 'en',
    game: 'Chess',
    viewerCount: 10_000 - i,
  })),
  { name: '../../etc/passwd', language: 'en', game: 'Chess', viewerCount: 20_000 },
  { name: 'evil\nline', language: 'en', game: 'Chess', viewerCount: 19_000 },
];

let hs: HelixServer;
let dir: string;
beforeAll(async () => {
  hs = await startHelixServer({ channels: CHANNELS, clientId: CLIENT_ID, clientSecret: SECRET });
  dir = await mkdtemp(join(tmpdir(), 'va-robust-discover-'));
});
afterEach(() => {
  for (const k of ['cursor-cycle', 'not-json', 'echo-body', 'no-streams'] as const)
    hs.sim.misbehave(k, false);
});
afterAll(async () => {
  await hs.close();
  await rm(dir, { recursive: true, force: true });
});

const cli = (file: string, ...extra: string[]) =>
  runCli(
    ['discover', '--helix-url', hs.helixUrl, '--channels', file, '--data', join(dir, 'data'), ...extra],
    ENV,
  );

it('a cursor cycle (A→B→A) is detected: paging stops, the channels found are kept, the user is told', async () => {
  hs.sim.misbehave('cursor-cycle');
  const before = hs.sim.requests.length;
  const warnings: string[] = [];
  const config = loadConfig({ overrides: { discover: { helix_url: hs.helixUrl, auth_url: hs.authUrl } } });
  const run = discover(config, {
    storage: new FsStorage(join(dir, 'cycle-data')),
    channelsFile: join(dir, 'cycle.txt'),
    env: ENV,
    onWarning: (m) => warnings.push(m),
  });
  const s = await Promise.race([
    run,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('discover never ended')), 10_000)),
  ]);
  expect(s.stoppedBy).toBe('cursor_repeat');
  expect(s.channels).toHaveLength(198); // two pages of 100, two logins not logins
  const streamCalls = hs.sim.requests.slice(before).filter((r) => r.path === '/helix/streams');
  expect(streamCalls.length).toBeLessThanOrEqual(3);
  expect(warnings.join('\n')).toMatch(/cursor it had already sent/);
});

it('a 429 with a far Ratelimit-Reset says how long it waits', async () => {
  hs.sim.failNext(429, 1, { resetSeconds: 3600 });
  const warnings: string[] = [];
  const slept: number[] = [];
  const config = loadConfig({ overrides: { discover: { helix_url: hs.helixUrl, auth_url: hs.authUrl } } });
  const s = await discover(config, {
    storage: new FsStorage(join(dir, 'wait-data')),
    channelsFile: join(dir, 'wait.txt'),
    max: 10,
    env: ENV,
    onWarning: (m) => warnings.push(m),
    // the real client, only its sleep shortened: the test does not wait two minutes
    client: { sleep: async (ms) => void slept.push(ms) },
  });
  expect(s.channels).toHaveLength(10);
  expect(slept).toEqual([120_000]);
  const waits = warnings.filter((w) => w.includes('waiting'));
  expect(waits).toHaveLength(1);
  expect(waits[0]).toMatch(
    /^Helix \/streams: HTTP 429 \(rate limited\); Ratelimit-Reset \d{4}-\d\d-\d\dT[\d:.]+Z \(in 360[01] s, waiting at most 120 s before trying again\): waiting 2 min$/,
  );
});

it('HTML instead of JSON names the endpoint and what came back (exit 1, one line)', async () => {
  hs.sim.misbehave('not-json');
  const r = await cli(join(dir, 'html.txt'));
  expect(r.code).toBe(1);
  expect(r.err).toMatch(
    /^vieweratlas: helix: GET \/helix\/streams: expected JSON, got HTTP 200 text\/html: "<html><head><title>502 Bad Gateway/,
  );
  expect(r.err.trim().split('\n')).toHaveLength(1);
});

it('a token endpoint that echoes the request never gets the secret printed', async () => {
  hs.sim.misbehave('echo-body');
  const r = await cli(join(dir, 'echo.txt'));
  expect(r.code).toBe(1);
  expect(r.err).toContain('Twitch rejected the app credentials');
  expect(r.err).toContain('response body withheld');
  expect(r.err).not.toContain(SECRET);
  expect(r.err).not.toContain('client_secret');
});

it('logins that are not Twitch logins are skipped and reported, never written to channels.txt', async () => {
  const file = join(dir, 'logins.txt');
  const r = await cli(file, '--max', '5');
  expect(r.code).toBe(0);
  const text = await readFile(file, 'utf8');
  expect(text).toBe('ch0\nch1\nch2\nch3\nch4\n');
  expect(parseChannelsText(text, file)).toEqual(['ch0', 'ch1', 'ch2', 'ch3', 'ch4']);
  expect(r.err).toContain(
    'skipped 2 stream(s) whose user_login is not a Twitch login: "../../etc/passwd", "evil\\nline"',
  );
});

it('an empty result never empties a non-empty channels.txt unless --allow-empty', async () => {
  const file = join(dir, 'keep.txt');
  await writeFile(file, '# mine\nalpha\nbeta\n');
  hs.sim.misbehave('no-streams');
  const r = await cli(file);
  expect(r.code).toBe(1);
  expect(r.err).toBe(
    `vieweratlas: discover: Helix listed no live channel; ${file} keeps its 2 channels (--allow-empty writes an empty list)\n`,
  );
  expect(await readFile(file, 'utf8')).toBe('# mine\nalpha\nbeta\n');
  const forced = await cli(file, '--allow-empty');
  expect(forced.code).toBe(0);
  expect(await readFile(file, 'utf8')).toBe('# mine\n');
});
