/**
 * The connection watchdogs with the defaults the CLI really uses (issue 11): the collector is
 * started from `loadConfig()` with no test knobs, against twitch-sim, and the sim goes silent.
 * A JOIN the server never answers must be sent again after 30 s; a silent connection must be
 * PINGed after 60 s and replaced after 120 s. The clock (Date, setInterval) is faked so the
 * minutes pass instantly; sockets and the join limiter's timeouts stay real.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { type Collector, startCollector } from '../src/collect/collector.js';
import { ChatConnection, CONNECTION_DEFAULTS } from '../src/collect/connection.js';
import { parseChatUrl } from '../src/collect/endpoint.js';
import { JoinLimiter } from '../src/collect/join-limiter.js';
import { loadConfig } from '../src/config/index.js';
import { silentLogger } from '../src/observability/logger.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await realSleep(10);
  }
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function collectorWithCliDefaults(): Promise<{ sim: TwitchSim; col: Collector }> {
  const sim = await startTwitchSim({ rate: 0, channels: 5, viewers: 50, membershipMs: 0, pingSeconds: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'va-watchdog-'));
  // Exactly what `vieweratlas collect --chat-url …` resolves: defaults, nothing shortened.
  const config = loadConfig({
    configPath: '/dev/null',
    env: {},
    overrides: { collect: { chat_url: sim.chatWsUrl }, metrics: { emf: false } },
  });
  vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
  const col = startCollector(config, {
    storage: new FsStorage(dir),
    channels: ['first_ch'],
    log: silentLogger,
  });
  cleanup.push(async () => {
    await col.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await until('first join', () => col.status().channelsJoined === 1);
  return { sim, col };
}

it('a connection built with options left undefined keeps the default timings', () => {
  const conn = new ChatConnection({
    endpoint: parseChatUrl('ws://127.0.0.1:1'),
    nick: 'justinfan123',
    membership: false,
    reconnectMinMs: 1000,
    reconnectMaxMs: 60_000,
    limiter: new JoinLimiter(),
    onEvent: () => {},
    counters: { linesReceived: 0, invalidLines: 0, reconnects: 0 },
    log: silentLogger,
    idlePingMs: undefined,
    joinTimeoutMs: undefined,
  });
  expect(conn.timings).toEqual({ idlePingMs: 60_000, joinTimeoutMs: 30_000, watchdogMs: 15_000 });
  expect(CONNECTION_DEFAULTS.idlePingMs).toBe(60_000);
});

it('with the CLI defaults, a JOIN the server ignores is sent again after 30 s', async () => {
  const { sim, col } = await collectorWithCliDefaults();
  sim.chat.silence(); // from now on nothing is answered: the next JOIN is never confirmed
  col.setChannels(['first_ch', 'deaf_ch']);
  const attempts = () => sim.chat.joinLog.filter((j) => j.channel === 'deaf_ch').length;
  await until('the first JOIN', () => attempts() === 1);
  await vi.advanceTimersByTimeAsync(29_000);
  await realSleep(100);
  expect(attempts()).toBe(1); // not before the timeout
  await vi.advanceTimersByTimeAsync(17_000); // the watchdog runs every 15 s
  await until('the JOIN retried', () => attempts() === 2);
});

it('with the CLI defaults, a silent connection is PINGed after 60 s and replaced after 120 s', async () => {
  const { sim, col } = await collectorWithCliDefaults();
  sim.chat.silence();
  const heard = sim.chat.stats.linesReceived;
  const connections = sim.chat.stats.connections;
  await vi.advanceTimersByTimeAsync(59_000);
  await realSleep(100);
  expect(sim.chat.stats.linesReceived).toBe(heard);
  await vi.advanceTimersByTimeAsync(16_000);
  await until('the PING', () => sim.chat.stats.linesReceived === heard + 1);
  expect(sim.chat.stats.connections).toBe(connections);
  await vi.advanceTimersByTimeAsync(60_000); // 135 s of silence
  // backoff before reconnecting is a real timeout (0.5–1 s with the default reconnect_min_ms)
  await until('a new connection', () => sim.chat.stats.connections === connections + 1);
  await until('re-joined', () => col.status().channelsJoined === 1);
  expect(col.status().reconnects).toBe(1);
});
