/**
 * The collector on a full disk (a real 2 MB tmpfs): a row counts as written only when it is whole
 * on disk; rows the disk refuses are held and written once space is back; SIGTERM while the disk
 * is still full reports what is lost and exits non-zero.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../src/collect/collector.js';
import { loadConfig } from '../src/config/index.js';
import { decodePresenceLine } from '../src/ingest/raw-jsonl.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from './loss-tmpfs.js';

const REPO = join(import.meta.dirname, '..');

const COLLECT = {
  flush_seconds: 0.2,
  bucket_minutes: 1,
  join_limit: 200,
  join_window_seconds: 1,
  reconnect_min_ms: 50,
  reconnect_max_ms: 400,
  status_seconds: 0.1,
  membership: false,
};

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

/** Metadata lines on disk. */
function metadataLines(root: string): number {
  try {
    return files(join(root, 'raw', 'metadata'))
      .map((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).length)
      .reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}

/** Presence on disk: rows, messages, and lines that do not decode (torn or partial). */
function onDisk(root: string): { rows: number; messages: number; bad: number } {
  let rows = 0;
  let messages = 0;
  let bad = 0;
  let list: string[] = [];
  try {
    list = files(join(root, 'raw', 'presence'));
  } catch {
    return { rows, messages, bad };
  }
  for (const f of list) {
    const text = readFileSync(f, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) bad++; // a torn tail
    for (const line of text.split('\n')) {
      if (!line) continue;
      const r = decodePresenceLine(line);
      if (typeof r === 'string') bad++;
      else {
        rows++;
        messages += r.messages ?? 1;
      }
    }
  }
  return { rows, messages, bad };
}

describe.skipIf(!canMountTmpfs)('collect on a full disk (2 MB tmpfs)', () => {
  let sim: TwitchSim;
  let fs: Tmpfs | undefined;
  beforeAll(async () => {
    sim = await startTwitchSim({ rate: 0, channels: 5, viewers: 100, membershipMs: 0 });
  });
  afterAll(() => sim.close());
  afterEach(() => {
    fs?.unmount();
    fs = undefined;
  });

  let viewer = 0;
  /** `n` chat lines from new viewers (one presence row each), spread over the channels. */
  const sayMany = (n: number, channels: string[]) => {
    for (let i = 0; i < n; i++) {
      const channel = channels[i % channels.length] as string;
      expect(sim.chat.say({ channel, login: `viewer_long_${viewer++}`, sentAt: Date.now() })).toBe(1);
    }
  };

  it('counts only rows whole on disk, holds what the disk refuses, writes it once space is back', async () => {
    fs = mountTmpfs('2m');
    const channels = ['alpha', 'beta', 'gamma'];
    const warnings: string[] = [];
    const col = startCollector(
      loadConfig({
        overrides: {
          collect: { ...COLLECT, chat_url: sim.chatWsUrl, collector_id: 'full' },
          metrics: { emf: false },
        },
      }),
      {
        storage: new FsStorage(fs.dir),
        channels,
        log: createLogger({ level: 'warn', write: (l) => void warnings.push(l) }),
      },
    );
    await until('joins', () => col.status().channelsJoined === 3);
    sayMany(200, channels);
    await until('first rows written', () => col.status().recordsWritten >= 200);

    // Almost full: the next flush (≈ 30 KB) is a short write, then ENOSPC.
    fs.fill(8192);
    sayMany(300, channels);
    await until('failed flushes', () => col.status().flushFailures >= 3);
    const during = onDisk(fs.dir);
    expect(during.bad).toBe(0);
    // status counts presence rows and metadata lines (one ROOMSTATE line per channel)
    expect(col.status().recordsWritten).toBe(during.rows + metadataLines(fs.dir));
    expect(during.messages).toBeLessThan(500);
    expect(warnings.some((w) => w.includes('rows held in memory'))).toBe(true);

    fs.free();
    await until('held rows written', () => col.status().recordsWritten >= 500 + metadataLines(fs?.dir ?? ''));
    const summary = await col.stop();
    const after = onDisk(fs.dir);
    expect(after).toEqual({ rows: 500, messages: 500, bad: 0 });
    expect(summary.recordsWritten).toBe(500);
    expect(summary.unwritten).toEqual({ rows: 0, messages: 0, metadata: 0 });
  });

  it('the hold is bounded: beyond maxHeldRows the oldest held rows are dropped, logged, counted (RowsLost) and reported', async () => {
    fs = mountTmpfs('2m');
    const channels = ['zeta', 'eta'];
    const logs: string[] = [];
    const emf: string[] = [];
    const col = startCollector(
      loadConfig({
        overrides: {
          collect: { ...COLLECT, chat_url: sim.chatWsUrl, collector_id: 'bounded' },
          metrics: { emf: false },
        },
      }),
      {
        storage: new FsStorage(fs.dir),
        channels,
        log: createLogger({ level: 'warn', write: (l) => void logs.push(l) }),
        metrics: createMetrics({ enabled: true, write: (l) => void emf.push(l) }),
        maxHeldRows: 50,
        stopRetryMs: 500,
      },
    );
    await until('joins', () => col.status().channelsJoined === 2);
    await until('metadata written', () => col.status().recordsWritten >= 2);
    fs.fill();
    sayMany(300, channels);
    await until('failed flushes', () => col.status().flushFailures >= 2);
    const summary = await col.stop();
    expect(summary.unwritten).toEqual({ rows: 300, messages: 300, metadata: 0 });
    expect(logs.some((l) => l.includes('held rows over the limit') && l.includes('"dropped":250'))).toBe(
      true,
    );
    const last = JSON.parse(emf.at(-1) as string) as Record<string, number>;
    expect(last.RowsLost).toBe(250);
    expect(last.RowsHeld).toBe(50);
    expect(onDisk(fs.dir).rows).toBe(0);
  });

  it('SIGTERM while the disk is full: the lost rows are reported in one line and the exit code is 2', async () => {
    fs = mountTmpfs('2m');
    const channels = ['delta', 'epsilon'];
    const file = join(fs.dir, '..', `${Date.now()}-channels.txt`);
    writeFileSync(file, `${channels.join('\n')}\n`);
    const data = join(fs.dir, 'data');
    const child = spawn(
      process.execPath,
      ['bin/vieweratlas.mjs', 'collect', '--data', data, '--channels', file, '--chat-url', sim.chatWsUrl],
      {
        cwd: REPO,
        env: {
          ...process.env,
          VIEWERATLAS_METRICS_EMF: 'false',
          VIEWERATLAS_COLLECT_FLUSH_SECONDS: '0.2',
          VIEWERATLAS_COLLECT_BUCKET_MINUTES: '1',
          VIEWERATLAS_COLLECT_COLLECTOR_ID: 'sigterm',
        },
      },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const joined = () => sim.chat.listSessions().some((s) => s.channels === 2);
    await until('joins', joined, 30_000);
    sayMany(100, channels);
    await until('first rows on disk', () => onDisk(data).rows >= 100, 30_000).catch((e) => {
      throw new Error(`${e}: ${JSON.stringify(onDisk(data))} ${err}`);
    });
    fs.fill(4096);
    sayMany(400, channels);
    await new Promise((r) => setTimeout(r, 1000)); // several failed flushes
    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(2);
    const stored = onDisk(data);
    expect(stored.bad).toBe(0);
    const last = err.trim().split('\n').pop() as string;
    const m =
      /collect: ([\d,]+) presence rows \(([\d,]+) chat messages\) and \d+ metadata lines could not be written to (\S+) and are lost: .*ENOSPC/.exec(
        last,
      );
    expect(m, last).not.toBeNull();
    const lostMessages = Number(m?.[2]?.replace(/,/g, ''));
    expect(m?.[3]).toBe(data);
    expect(lostMessages).toBeGreaterThan(0);
    // Nothing vanishes silently: what is on disk plus what was reported lost is what was sent.
    expect(stored.messages + lostMessages).toBe(500);
  });
});
