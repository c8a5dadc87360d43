/**
 * `vieweratlas run` end to end against twitch-sim, as a user starts it: discovery (Helix) →
 * collection → an analysis + atlas swapped into --out/current (the previous release kept) → the
 * status endpoint on 127.0.0.1 shows it → SIGTERM exits 0 with every received line stored.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePresenceLine } from '../src/ingest/raw-jsonl.js';
import type { ServiceStatus } from '../src/service/run.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';

const repo = join(import.meta.dirname, '..');
const CLIENT_ID = 'run-test-client';
const CLIENT_SECRET = 'run-test-secret';

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('vieweratlas run (the single-machine service)', () => {
  let sim: TwitchSim;
  let dir: string;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    sim = await startTwitchSim({
      rate: 1500,
      channels: 40,
      viewers: 2500,
      communities: 4,
      mixing: 0.15,
      seed: 11,
      membershipMs: 0,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
    });
    dir = mkdtempSync(join(tmpdir(), 'va-run-'));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('discovers, collects, swaps analyses into out/current, serves its status, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const out = join(dir, 'out');
    let stderr = '';
    child = spawn(
      process.execPath,
      [
        'bin/vieweratlas.mjs',
        'run',
        '--out',
        out,
        '--channels',
        join(dir, 'channels.txt'),
        '--data',
        join(dir, 'data'),
        '--status-port',
        String(port),
      ],
      {
        cwd: repo,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          TWITCH_CLIENT_ID: CLIENT_ID,
          TWITCH_CLIENT_SECRET: CLIENT_SECRET,
          VIEWERATLAS_DISCOVER_HELIX_URL: sim.helixUrl,
          VIEWERATLAS_DISCOVER_AUTH_URL: sim.authUrl,
          VIEWERATLAS_DISCOVER_MIN_VIEWERS: '0',
          VIEWERATLAS_COLLECT_CHAT_URL: sim.chatWsUrl,
          VIEWERATLAS_COLLECT_JOIN_LIMIT: '1000',
          VIEWERATLAS_COLLECT_JOIN_WINDOW_SECONDS: '1',
          VIEWERATLAS_COLLECT_BUCKET_MINUTES: '1',
          VIEWERATLAS_COLLECT_FLUSH_SECONDS: '1',
          VIEWERATLAS_RUN_FIRST_ANALYSIS_SECONDS: '6',
          VIEWERATLAS_RUN_ANALYZE_SECONDS: '5',
          VIEWERATLAS_RUN_DISCOVER_SECONDS: '4',
          VIEWERATLAS_METRICS_EMF: 'false',
        },
      },
    );
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((r) => child?.on('exit', (code) => r(code)));
    const status = async () =>
      (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as ServiceStatus;

    // discovery ran and the collector joined the discovered channels
    const joined = await until('channels joined', async () => {
      const s = await status();
      return s.collect.channelsJoined > 0 && s.discovery ? s : undefined;
    });
    expect(joined.state).toBe('running');
    expect(joined.discovery?.channels).toBeGreaterThan(20);
    expect(readFileSync(join(dir, 'channels.txt'), 'utf8')).toContain(sim.channels[0]);

    // the first analysis is swapped in, then a second one: current and previous are complete releases
    const first = await until('first analysis', async () => (await status()).analysis ?? undefined);
    expect(first.channels).toBeGreaterThan(10);
    expect(first.communities).toBeGreaterThan(1);
    const current = () => readlinkSync(join(out, 'current'));
    expect(join(out, current())).toBe(first.folder);
    for (const f of ['atlas.html', 'atlas.png', 'channels.csv', 'summary.json'])
      expect(existsSync(join(out, 'current', f)), f).toBe(true);
    const second = await until('second analysis', async () => {
      const a = (await status()).analysis;
      return a && a.folder !== first.folder ? a : undefined;
    });
    expect(join(out, current())).toBe(second.folder);
    expect(join(out, readlinkSync(join(out, 'previous')))).toBe(first.folder);
    expect(existsSync(join(out, 'previous', 'atlas.html'))).toBe(true);
    const s = await status();
    expect(s.collect.linesPerSecond).toBeGreaterThan(0);
    expect(s.discovery?.at).toBeTruthy();
    expect(s.errors).toEqual([]);
    // the endpoint answers on loopback only, and unknown paths are 404
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);

    // lines received just before SIGTERM are all stored by the final flush
    const channel = sim.channels[3] as string;
    const logins = Array.from({ length: 25 }, (_, i) => `runprobe${i}`);
    for (const login of logins) expect(sim.chat.say({ channel, login, text: 'hi' })).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(/run: stopped; [\d,]+ presence rows stored, \d+ analyses/);
    const stored = new Set<string>();
    for (const f of walk(join(dir, 'data', 'raw', 'presence')))
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        const r = line ? decodePresenceLine(line) : null;
        if (r && typeof r !== 'string' && r.channel === channel) stored.add(r.viewer);
      }
    for (const login of logins) expect(stored.has(login), login).toBe(true);
    // nothing is left listening
    await expect(fetch(`http://127.0.0.1:${port}/status`)).rejects.toThrow();
  }, 240_000);
});
