/**
 * `npx vieweratlas collect`, then SIGTERM to the npx process — what a supervisor, a script's
 * `kill $!` or a stop button does to the command it started. npm forwards the signal to its
 * `sh -c`, which dies without passing it on; the bin notices that npm is gone and stops itself as
 * if signalled: everything received is flushed, and nothing is left running.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePresenceLine } from '../src/ingest/raw-jsonl.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';

const repo = join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'va-npx-'));

function walk(d: string): string[] {
  return readdirSync(d).flatMap((e) => {
    const p = join(d, e);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every live descendant of `root` (Linux /proc), found by parent pid. */
function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parentOf.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {} // exited meanwhile
  }
  const out: number[] = [];
  const walkDown = (pid: number) => {
    for (const [child, parent] of parentOf)
      if (parent === pid) {
        out.push(child);
        walkDown(child);
      }
  };
  walkDown(root);
  return out;
}

/** Running (a zombie waiting for a parent that never reaps it is not running). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};
const command = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '?';
  }
};

describe('npx vieweratlas collect, SIGTERM to npx', () => {
  let sim: TwitchSim;
  let tree: number[] = [];
  const started: number[] = [];
  beforeAll(async () => {
    sim = await startTwitchSim({ rate: 0, channels: 10, viewers: 200, membershipMs: 0, seed: 3 });
  });
  afterAll(async () => {
    // only what this test started, by pid
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await sim.close();
    rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(process.platform !== 'linux').each([
    ['SIGTERM', ['alpha', 'beta']],
    // npm killed outright: its shell is left waiting; the bin watches npm too
    ['SIGKILL', ['gamma', 'delta']],
  ] as const)(
    '%s to npx: the collector flushes every received line and exits, nothing left running',
    async (signal, channels) => {
      const dir = join(root, signal);
      mkdirSync(dir);
      // A long flush interval: whatever is stored was written by the stop.
      writeFileSync(
        join(dir, 'config.yaml'),
        'collect:\n  flush_seconds: 600\n  bucket_minutes: 1\n  collector_id: npx\nmetrics:\n  emf: false\n',
      );
      writeFileSync(join(dir, 'channels.txt'), `${channels.join('\n')}\n`);
      const child = spawn(
        'npx',
        [
          'vieweratlas',
          'collect',
          '--duration',
          '60',
          '--chat-url',
          sim.chatWsUrl,
          '--channels',
          join(dir, 'channels.txt'),
          '--config',
          join(dir, 'config.yaml'),
          '--data',
          join(dir, 'data'),
        ],
        {
          cwd: repo,
          stdio: ['ignore', 'pipe', 'pipe'],
          // a user's shell: none of the npm_* variables `npm test` passes down
          env: {
            ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
            npm_config_update_notifier: 'false',
            npm_config_yes: 'true',
          },
        },
      );
      tree = [];
      let stderr = '';
      child.stderr?.on('data', (d) => {
        stderr += String(d);
      });
      child.stdout?.resume();
      // 'close': every process holding the pipes (npx, its shell, the collector) has exited
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

      // npx links this project the first time (and runs `prepare`), so allow it time
      await until(
        'the collector joins',
        () => channels.every((c) => sim.chat.joinedChannels().includes(c)),
        45_000,
      );
      tree = descendants(child.pid as number);
      started.push(child.pid as number, ...tree);
      expect(tree.length).toBeGreaterThanOrEqual(1);

      const now = Date.now();
      for (let i = 0; i < 120; i++)
        expect(
          sim.chat.say({ channel: channels[i % 2] as string, login: `viewer${i % 13}`, sentAt: now }),
        ).toBe(1);
      await new Promise((r) => setTimeout(r, 500)); // loopback delivery

      const t0 = Date.now();
      process.kill(child.pid as number, signal);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        closed,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`still running 15 s after ${signal}:\n${stderr}`)),
            15_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      expect(Date.now() - t0).toBeLessThan(15_000);

      // the pipes close as a process exits; the kernel may take a moment longer to finish it
      await until('every process of the tree to end', () => !tree.some(alive), 5000).catch(() => {});
      for (const pid of tree) expect(alive(pid), `pid ${pid} still running: ${command(pid)}`).toBe(false);
      let messages = 0;
      for (const f of walk(join(dir, 'data', 'raw', 'presence')))
        for (const line of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
          const r = decodePresenceLine(line);
          if (typeof r !== 'string') messages += r.messages ?? 0;
        }
      expect(messages).toBe(120);
      expect(stderr).toMatch(/collect: 120 chat lines, \d+ presence rows/);
    },
    90_000,
  );
});
