/**
 * Collector sharding as deployed: SHARD_INDEX / SHARD_COUNT give each collector a disjoint,
 * stable slice of the channel list. Properties on the real 2021 channel list, then two real
 * `vieweratlas collect` processes (SHARD_COUNT=2) against twitch-sim, both writing to one S3
 * bucket as the ECS services do: every channel is joined by exactly one of them and its
 * presence lands in exactly one collector's files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardChannels } from '../src/collect/shard.js';
import { decodePresenceLine } from '../src/ingest/raw-jsonl.js';
import { S3Storage } from '../src/storage/s3-driver.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';
import { type LocalS3, startLocalS3, TEST_CREDENTIALS } from './helpers/s3-server.js';

const REPO = join(import.meta.dirname, '..');
const REAL_CHANNELS = readFileSync(
  join(REPO, 'assets', 'atlas-2021-10', 'twitch-atlas-2021-10-channels.csv'),
  'utf8',
)
  .split('\n')
  .slice(1)
  .map((l) => l.split(',')[0]?.toLowerCase() ?? '')
  .filter(Boolean);

/** Deterministic Fisher–Yates with a xorshift seed. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

// FNV-1a 32-bit(login) % count for the golden logins in the stability test, computed independently (Python)
const GOLDEN_2 = [1, 0, 1, 0, 0, 0, 0, 0];
const GOLDEN_3 = [0, 2, 2, 1, 0, 0, 2, 2];

describe('shardChannels on the real channel list', () => {
  it('covers every channel exactly once, evenly, for 1–8 shards', () => {
    expect(REAL_CHANNELS.length).toBeGreaterThan(2000);
    for (let count = 1; count <= 8; count++) {
      const parts = Array.from({ length: count }, (_, i) => shardChannels(REAL_CHANNELS, i, count));
      const seen = new Map<string, number>();
      for (const p of parts) for (const c of p) seen.set(c, (seen.get(c) ?? 0) + 1);
      expect(seen.size).toBe(new Set(REAL_CHANNELS).size);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      const fair = REAL_CHANNELS.length / count;
      for (const p of parts) expect(Math.abs(p.length - fair) / fair, `count ${count}`).toBeLessThan(0.15);
    }
  });

  it('is stable: independent of list order and case, and the same across versions', () => {
    const a = shardChannels(REAL_CHANNELS, 1, 4);
    const b = shardChannels(shuffled(REAL_CHANNELS, 99), 1, 4);
    expect(new Set(b)).toEqual(new Set(a));
    const upper = REAL_CHANNELS.slice(0, 50).map((c) => c.toUpperCase());
    for (let i = 0; i < 4; i++) {
      expect(shardChannels(upper, i, 4).map((c) => c.toLowerCase())).toEqual(
        shardChannels(REAL_CHANNELS.slice(0, 50), i, 4),
      );
    }
    // Golden assignment: a change here reshuffles every running collector on the next deploy.
    const golden = ['xqc', 'shroud', 'pokimane', 'summit1g', 'lirik', 'sodapoppin', 'esl_csgo', 'auronplay'];
    expect(golden.map((c) => (shardChannels([c], 0, 2).length === 1 ? 0 : 1))).toEqual(GOLDEN_2);
    expect(golden.map((c) => [0, 1, 2].find((i) => shardChannels([c], i, 3).length === 1))).toEqual(GOLDEN_3);
  });

  it('adding a channel never moves the others', () => {
    const before = shardChannels(REAL_CHANNELS.slice(0, 500), 0, 3);
    const after = shardChannels([...REAL_CHANNELS.slice(0, 500), 'brand_new_channel'], 0, 3);
    expect(after.filter((c) => c !== 'brand_new_channel')).toEqual(before);
  });
});

describe('two collectors with SHARD_COUNT=2 against twitch-sim, writing to one S3 bucket', () => {
  let sim: TwitchSim;
  let s3: LocalS3;
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    sim = await startTwitchSim({ rate: 0, channels: 40, viewers: 500, membershipMs: 0, seed: 5 });
    s3 = await startLocalS3(['va-shards']);
    dir = mkdtempSync(join(tmpdir(), 'va-shard-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await sim?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('joins every channel exactly once and stores each channel under one collector', async () => {
    const channels = sim.channels.slice(0, 24);
    writeFileSync(join(dir, 'channels.txt'), `${channels.join('\n')}\n`);
    writeFileSync(
      join(dir, 'config.yaml'),
      'collect:\n  flush_seconds: 1\n  bucket_minutes: 1\n  join_limit: 100\n  join_window_seconds: 1\n  membership: false\nmetrics:\n  emf: false\n',
    );
    const exits: Promise<number | null>[] = [];
    const stderr: string[] = ['', ''];
    for (const index of [0, 1]) {
      const child = spawn(
        process.execPath,
        [
          'bin/vieweratlas.mjs',
          'collect',
          '--config',
          join(dir, 'config.yaml'),
          '--channels',
          join(dir, 'channels.txt'),
          '--chat-url',
          sim.chatWsUrl,
        ],
        {
          cwd: REPO,
          stdio: ['ignore', 'ignore', 'pipe'],
          env: {
            ...process.env,
            ...s3.env,
            SHARD_INDEX: String(index),
            SHARD_COUNT: '2',
            VIEWERATLAS_COLLECT_COLLECTOR_ID: `shard-${index}`,
            VIEWERATLAS_STORAGE_DRIVER: 's3',
            VIEWERATLAS_S3_BUCKET: 'va-shards',
            VIEWERATLAS_S3_ENDPOINT: s3.endpoint,
            VIEWERATLAS_S3_FORCE_PATH_STYLE: 'true',
          },
        },
      );
      child.stderr?.on('data', (d) => {
        stderr[index] += String(d);
      });
      children.push(child);
      exits.push(new Promise((resolve) => child.once('exit', (code) => resolve(code))));
    }

    const deadline = Date.now() + 30_000;
    const joinedBoth = () => {
      const sessions = sim.chat.listSessions();
      return (
        sim.chat.joinedChannels().length === channels.length &&
        sessions.reduce((n, s) => n + s.channels, 0) === channels.length
      );
    };
    while (!joinedBoth()) {
      if (Date.now() > deadline) throw new Error(`collectors did not join: ${stderr.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // two collectors, one connection each, no channel joined twice
    expect(sim.chat.listSessions()).toHaveLength(2);
    expect(sim.chat.joinedChannels().sort()).toEqual([...channels].sort());

    // one chat line per channel reaches exactly one collector
    const now = Date.now();
    for (const [i, channel] of channels.entries()) {
      expect(sim.chat.say({ channel, login: `viewer_${i}`, sentAt: now }), channel).toBe(1);
      sim.chat.say({ channel, login: 'everywhere', sentAt: now });
    }
    await new Promise((r) => setTimeout(r, 2500)); // > flush_seconds
    for (const c of children) c.kill('SIGTERM');
    expect(await Promise.all(exits), stderr.join('\n')).toEqual([0, 0]);

    const storage = new S3Storage(s3.s3Config('va-shards'), { credentials: TEST_CREDENTIALS });
    const byCollector = new Map<string, Set<string>>();
    for (const e of await storage.list('raw/presence/')) {
      const collector = e.key
        .split('/')
        .pop()
        ?.replace(/\.jsonl$/, '') as string;
      const set = byCollector.get(collector) ?? new Set<string>();
      for (const line of Buffer.from((await storage.get(e.key)) as Uint8Array)
        .toString('utf8')
        .split('\n')) {
        if (!line) continue;
        const r = decodePresenceLine(line);
        if (typeof r !== 'string') set.add(r.channel);
      }
      byCollector.set(collector, set);
    }
    await storage.close();
    expect([...byCollector.keys()].sort()).toEqual(['shard-0', 'shard-1']);
    const a = byCollector.get('shard-0') as Set<string>;
    const b = byCollector.get('shard-1') as Set<string>;
    expect([...a].filter((c) => b.has(c))).toEqual([]);
    expect([...a, ...b].sort()).toEqual([...channels].sort());
    expect([...a].sort()).toEqual(shardChannels(channels, 0, 2).sort());
    expect([...b].sort()).toEqual(shardChannels(channels, 1, 2).sort());
  }, 90_000);
});
