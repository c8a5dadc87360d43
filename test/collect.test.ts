/**
 * The collector against twitch-sim, in process: a scripted session with RECONNECT, a dropped
 * connection, garbage and membership JOINs must store exactly the expected presence; 1,000
 * channels get joined within the (scaled) join limit; token logins and pseudonymisation.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Collector, startCollector } from '../src/collect/collector.js';
import { type Config, loadConfig } from '../src/config/index.js';
import { decodePresenceLine } from '../src/ingest/raw-jsonl.js';
import { createLogger } from '../src/observability/logger.js';
import { pseudonym } from '../src/privacy/pseudonymize.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'va-collect-'));
  tmp.push(d);
  return d;
}

function config(
  url: string,
  collect: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Config {
  return loadConfig({
    overrides: {
      collect: {
        chat_url: url,
        flush_seconds: 0.2,
        bucket_minutes: 1,
        join_limit: 200,
        join_window_seconds: 1,
        reconnect_min_ms: 50,
        reconnect_max_ms: 400,
        collector_id: 'test',
        status_seconds: 0.1,
        ...collect,
      },
      metrics: { emf: false },
      ...extra,
    },
  });
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Stored presence summed per (channel, viewer, bucket, kind): the readers' view. */
function storedPresence(root: string): { sums: Map<string, number>; bad: number; files: string[] } {
  const sums = new Map<string, number>();
  let bad = 0;
  const files = walk(join(root, 'raw/presence'));
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const r = decodePresenceLine(line);
      if (typeof r === 'string') {
        bad++;
        continue;
      }
      const k = `${r.channel}|${r.viewer}|${new Date(r.ts).toISOString()}|${r.kind ?? 'chat'}`;
      sums.set(k, (sums.get(k) ?? 0) + (r.messages ?? 1));
    }
  }
  return { sums, bad, files };
}

describe('collector against twitch-sim', () => {
  let sim: TwitchSim;
  beforeAll(async () => {
    sim = await startTwitchSim({
      rate: 0,
      channels: 20,
      viewers: 500,
      membershipMs: 0,
      reconnectGraceMs: 100,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  for (const transport of ['ws', 'irc'] as const) {
    it(`scripted session over ${transport}: stored presence is exactly what was received`, async () => {
      const root = tempDir();
      const url = transport === 'ws' ? sim.chatWsUrl : sim.chatIrcUrl;
      const col: Collector = startCollector(config(url, { collector_id: `scripted-${transport}` }), {
        storage: new FsStorage(root),
        channels: ['alpha', 'beta', 'gamma'],
        log: createLogger({ level: 'error' }),
      });
      const joinedAll = () => {
        const s = sim.chat.listSessions();
        return s.length === 1 && s[0]?.channels === 3 && col.status().channelsJoined === 3;
      };
      await until('joins', joinedAll);

      const bucket = Math.floor(Date.now() / 60_000) * 60_000;
      const prev = bucket - 60_000;
      const expected = new Map<string, number>();
      const expect1 = (channel: string, viewer: string, ts: number, kind = 'chat', n = 1) => {
        const k = `${channel}|${viewer}|${new Date(Math.floor(ts / 60_000) * 60_000).toISOString()}|${kind}`;
        expected.set(k, (expected.get(k) ?? 0) + n);
      };
      const say = (channel: string, login: string, sentAt: number, displayName?: string) => {
        expect(sim.chat.say({ channel, login, sentAt, displayName, text: 'hello; world \\o/' })).toBe(1);
        expect1(channel, login, sentAt);
      };

      say('alpha', 'viewer_a', bucket + 1000);
      say('alpha', 'viewer_a', bucket + 2000, 'VIEWER_A');
      say('alpha', 'viewer_b', prev + 5000, '視聴者'); // CJK display name: keyed on the login
      say('beta', 'viewer_a', bucket + 3000);
      sim.chat.garbage();
      sim.chat.say({ channel: 'notjoined', login: 'ghost', sentAt: bucket }); // nobody there: not delivered
      sim.chat.sendRaw([
        '@badge-info=;room-id=1;tmi-sent-ts=1 :stray!stray@stray.tmi.twitch.tv PRIVMSG #notjoined :hi',
      ]);
      expect(sim.chat.membership('gamma', 'JOIN', ['lurker1', 'lurker2', 'lurker1'])).toBe(1);
      expect(sim.chat.usernotice('gamma', 'subber', 'sub', bucket + 4000)).toBe(1);
      expect1('gamma', 'subber', bucket + 4000);
      await until('lines before RECONNECT', () => col.status().linesReceived >= 30);

      sim.chat.reconnect();
      await until('rejoin after RECONNECT', () => col.status().reconnects >= 1 && joinedAll());
      say('alpha', 'viewer_a', bucket + 5000);
      say('gamma', 'viewer_c', bucket + 6000);

      sim.chat.drop();
      await until('rejoin after drop', () => col.status().reconnects >= 2 && joinedAll());
      say('beta', 'viewer_b', bucket + 7000);
      say('beta', 'viewer_b', bucket + 8000);
      await new Promise((r) => setTimeout(r, 100));

      const summary = await col.stop();
      expect(summary.invalidLines).toBeGreaterThanOrEqual(8);
      expect(summary.reconnects).toBe(2);

      const membershipBucket = Math.floor(Date.now() / 60_000) * 60_000;
      const { sums, bad } = storedPresence(root);
      // Membership rows carry 0 messages; compare their presence by bucket.
      for (const l of ['lurker1', 'lurker2']) {
        const keys = [...sums.keys()].filter((k) => k.startsWith(`gamma|${l}|`) && k.endsWith('|membership'));
        expect(keys.length).toBe(1);
        expect([bucket, membershipBucket].map((b) => new Date(b).toISOString())).toContain(
          keys[0]?.split('|')[2],
        );
        expect(sums.get(keys[0] as string)).toBe(0);
        sums.delete(keys[0] as string);
      }
      expect(bad).toBe(0);
      expect(Object.fromEntries(sums)).toEqual(Object.fromEntries(expected));

      const meta = readFileSync(walk(join(root, 'raw/metadata'))[0] as string, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(meta.map((m) => m.channel).sort()).toEqual(['alpha', 'beta', 'gamma']);
      expect(meta[0].channel_id).toMatch(/^\d+$/);
    });
  }

  it('joins 1,000 channels without ever exceeding the join limit (200 per 1 s, scaled from 20 per 10 s)', async () => {
    // The sim runs in its own process so that this process's event loop cannot delay when the
    // server reads the JOINs: arrival times are the server's own observation.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "const m = await import('./src/twitch/sim/index.ts'); const s = await m.startTwitchSim({ rate: 0, channels: 5, viewers: 50, membershipMs: 0 }); console.log(JSON.stringify({ ws: s.chatWsUrl, control: s.controlUrl }));",
      ],
      { cwd: join(__dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const urls = await new Promise<{ ws: string; control: string }>((resolve, reject) => {
        child.stdout.once('data', (d) => resolve(JSON.parse(String(d))));
        child.once('exit', (code) => reject(new Error(`sim exited ${code}`)));
      });
      const root = tempDir();
      const channels = Array.from({ length: 1000 }, (_, i) => `chan_${i}`);
      const t0 = Date.now();
      const col = startCollector(config(urls.ws, { channels_per_connection: 100, collector_id: 'many' }), {
        storage: new FsStorage(root),
        channels,
        log: createLogger({ level: 'error' }),
      });
      await until('1000 joins', () => col.status().channelsJoined === 1000, 20_000);
      const elapsed = Date.now() - t0;
      await col.stop();
      const log = (await (await fetch(`${urls.control}/joins`)).json()) as {
        at: number;
        channel: string;
        session: number;
      }[];
      const joins = log.map((j) => j.at);
      expect(new Set(log.map((j) => j.channel)).size).toBe(1000);
      expect(joins.length).toBe(1000); // no join had to be retried
      // Sliding window over the server's arrival times: never more than 200 in any 1,000 ms.
      let maxInWindow = 0;
      let lo = 0;
      for (let hi = 0; hi < joins.length; hi++) {
        while ((joins[hi] as number) - (joins[lo] as number) >= 1000) lo++;
        maxInWindow = Math.max(maxInWindow, hi - lo + 1);
      }
      expect(maxInWindow).toBeLessThanOrEqual(200);
      expect(maxInWindow).toBeGreaterThan(150); // and the allowance is used
      expect(elapsed).toBeGreaterThanOrEqual(4000); // 5 windows' worth cannot finish sooner
      expect(new Set(log.map((j) => j.session)).size).toBe(10); // 100 channels per connection
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('logs in with a token from the environment without logging it, and pseudonymises before storing', async () => {
    const root = tempDir();
    const logs: string[] = [];
    const env = {
      TWITCH_CHAT_TOKEN: 'oauth:s3cr3tt0k3n',
      TWITCH_CHAT_LOGIN: 'MyBot',
      VIEWERATLAS_PSEUDONYM_KEY: 'k3y',
    };
    const col = startCollector(
      config(sim.chatWsUrl, { collector_id: 'tok' }, { privacy: { pseudonymize: true } }),
      {
        storage: new FsStorage(root),
        channels: ['delta'],
        env,
        log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
      },
    );
    await until('join', () => col.status().channelsJoined === 1);
    expect(sim.chat.tokenLogins.at(-1)).toEqual({ nick: 'mybot', token: 's3cr3tt0k3n' });
    const seen = col.status().linesReceived;
    expect(sim.chat.say({ channel: 'delta', login: 'realperson', sentAt: Date.now() })).toBe(1);
    await until('line', () => col.status().linesReceived > seen);
    await col.stop();
    const stored = walk(root)
      .map((f) => readFileSync(f, 'utf8'))
      .join('');
    expect(stored).not.toContain('realperson');
    expect(stored).toContain(pseudonym('k3y', 'realperson'));
    expect(logs.join('')).not.toContain('s3cr3tt0k3n');
  });

  it('gives up on a suspended channel instead of burning join allowance, and retries it on reload', async () => {
    const sim2 = await startTwitchSim({
      rate: 0,
      channels: 5,
      viewers: 50,
      membershipMs: 0,
      suspended: ['gone_ch'],
    });
    try {
      const col = startCollector(config(sim2.chatWsUrl, { collector_id: 'susp' }), {
        storage: new FsStorage(tempDir()),
        channels: ['ok_ch', 'gone_ch'],
        log: createLogger({ level: 'error' }),
        joinTimeoutMs: 200,
      });
      await until('join', () => col.status().channelsJoined === 1 && col.status().unjoinable === 1);
      await new Promise((r) => setTimeout(r, 1000)); // five join timeouts
      const attempts = () => sim2.chat.joinLog.filter((j) => j.channel === 'gone_ch').length;
      expect(attempts()).toBe(1);
      col.setChannels(['ok_ch', 'gone_ch']); // SIGHUP: try again
      await until('retry', () => attempts() === 2);
      await col.stop();
      expect(sim2.chat.joinLog.filter((j) => j.channel === 'ok_ch').length).toBe(1);
    } finally {
      await sim2.close();
    }
  });

  it('RECONNECT hands over without a gap: the old socket reads until each channel is re-joined, copies are dropped', async () => {
    // The server keeps the old connection 3 s; re-joining 3 channels at 1 join per 0.4 s takes ~1 s;
    // PARTs take 300 ms to apply, so lines reach both sockets meanwhile and must be counted once.
    const sim3 = await startTwitchSim({
      rate: 0,
      channels: 5,
      viewers: 50,
      membershipMs: 0,
      reconnectGraceMs: 3000,
      partDelayMs: 300,
    });
    try {
      const root = tempDir();
      const col = startCollector(
        config(sim3.chatWsUrl, { collector_id: 'handover', join_limit: 1, join_window_seconds: 0.4 }),
        {
          storage: new FsStorage(root),
          channels: ['ch_a', 'ch_b', 'ch_c'],
          log: createLogger({ level: 'error' }),
        },
      );
      await until('joins', () => col.status().channelsJoined === 3);
      const sent = new Map<string, number>();
      let both = false;
      let copies = 0;
      let i = 0;
      const t0 = Date.now();
      sim3.chat.reconnect();
      while (Date.now() - t0 < 2500) {
        for (const channel of ['ch_a', 'ch_b', 'ch_c']) {
          const login = `v${i % 7}`;
          const ts = Date.now();
          const reached = sim3.chat.say({ channel, login, sentAt: ts });
          expect(reached).toBeGreaterThanOrEqual(1);
          if (reached === 2) copies++;
          const k = `${channel}|${login}|${new Date(ts - (ts % 60_000)).toISOString()}|chat`;
          sent.set(k, (sent.get(k) ?? 0) + 1);
          i++;
        }
        if (sim3.chat.listSessions().length === 2 && sim3.chat.listSessions().every((s) => s.channels > 0))
          both = true;
        await new Promise((r) => setTimeout(r, 20));
      }
      await until('old socket closed', () => sim3.chat.listSessions().length === 1);
      await new Promise((r) => setTimeout(r, 100));
      const summary = await col.stop();
      expect(both).toBe(true); // two sockets really overlapped
      expect(copies).toBeGreaterThan(10); // and carried the same lines
      expect(summary.reconnects).toBe(1);
      const { sums, bad } = storedPresence(root);
      expect(bad).toBe(0);
      expect(Object.fromEntries(sums)).toEqual(Object.fromEntries(sent));
    } finally {
      await sim3.close();
    }
  });
});
