/**
 * `vieweratlas collect` as a user runs it, against twitch-sim: SIGHUP reloads the channels,
 * SIGTERM flushes everything received and exits 0 within 5 s, and after SIGKILL every stored
 * file still reads, only the unflushed interval is missing, and a restart appends cleanly.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePresenceLine } from '../src/ingest/raw-jsonl.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';

const repo = join(__dirname, '..');
const tmp: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'va-collect-cli-'));
  tmp.push(d);
  return d;
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

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function runCollect(dir: string, url: string, extra: string[] = [], env: Record<string, string> = {}): Run {
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
      url,
      '--data',
      join(dir, 'data'),
      ...extra,
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  const run: Run = {
    child,
    stdout: [],
    stderr: [],
    exit: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    ),
  };
  child.stdout?.on('data', (d) => run.stdout.push(String(d)));
  child.stderr?.on('data', (d) => run.stderr.push(String(d)));
  return run;
}

function readStored(root: string): {
  messages: number;
  bad: number;
  perFile: Map<string, { good: number; bad: number }>;
  sums: Map<string, number>;
} {
  let messages = 0;
  let bad = 0;
  const perFile = new Map<string, { good: number; bad: number }>();
  const sums = new Map<string, number>();
  for (const f of walk(join(root, 'raw/presence'))) {
    const st = { good: 0, bad: 0 };
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line) continue;
      const r = decodePresenceLine(line);
      if (typeof r === 'string') {
        st.bad++;
        bad++;
        continue;
      }
      st.good++;
      messages += r.messages ?? 0;
      const k = `${r.channel}|${r.viewer}|${r.ts}`;
      sums.set(k, (sums.get(k) ?? 0) + (r.messages ?? 0));
    }
    perFile.set(f, st);
  }
  return { messages, bad, perFile, sums };
}

describe('collect CLI against twitch-sim', () => {
  let sim: TwitchSim;
  beforeAll(async () => {
    sim = await startTwitchSim({ rate: 0, channels: 60, viewers: 3000, membershipMs: 0, seed: 7 });
  });
  afterAll(async () => {
    await sim.close();
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  it('SIGHUP reloads channels; SIGTERM flushes every received line and exits 0 within 5 s', async () => {
    const dir = tempDir();
    // A long flush interval: whatever is stored was written by the SIGTERM flush.
    writeFileSync(
      join(dir, 'config.yaml'),
      'collect:\n  flush_seconds: 60\n  bucket_minutes: 1\n  join_limit: 100\n  join_window_seconds: 1\n  collector_id: term\n  reconnect_min_ms: 100\nmetrics:\n  namespace: VATest\n',
    );
    writeFileSync(join(dir, 'channels.txt'), '# test channels\nalpha\nbeta\ngamma\n');
    const run = runCollect(dir, sim.chatWsUrl);
    const session = () => sim.chat.listSessions()[0];
    await until('joins', () => sim.chat.joinedChannels().length === 3 && session()?.channels === 3);

    writeFileSync(join(dir, 'channels.txt'), 'alpha\nbeta\ndelta\n');
    run.child.kill('SIGHUP');
    await until('reload', () => sim.chat.joinedChannels().sort().join() === 'alpha,beta,delta');

    const now = Date.now();
    const expected = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const channel = ['alpha', 'beta', 'delta'][i % 3] as string;
      const login = `viewer${i % 17}`;
      expect(sim.chat.say({ channel, login, sentAt: now })).toBe(1);
      const k = `${channel}|${login}|${now - (now % 60_000)}`;
      expected.set(k, (expected.get(k) ?? 0) + 1);
    }
    await new Promise((r) => setTimeout(r, 500)); // loopback delivery
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const exit = await run.exit;
    expect(exit.code).toBe(0);
    expect(exit.at - t0).toBeLessThan(5000);
    const stored = readStored(join(dir, 'data'));
    expect(stored.bad).toBe(0);
    expect(stored.messages).toBe(300);
    expect(Object.fromEntries(stored.sums)).toEqual(Object.fromEntries(expected));
    // Non-TTY: JSON logs on stderr, EMF metrics on stdout.
    const logs = run.stderr
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(logs.some((l) => l.msg === 'channels reloaded' && l.added === 1 && l.removed === 1)).toBe(true);
    const emf = run.stdout
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(emf.at(-1)._aws.CloudWatchMetrics[0].Namespace).toBe('VATest');
    expect(emf.at(-1).RecordsWritten).toBeGreaterThan(0);
  });

  it.each(['ircs', 'wss'])('collects over TLS (%s://) and verifies the certificate', async (scheme) => {
    const dir = tempDir();
    // A self-signed certificate for 127.0.0.1, trusted by the collector through NODE_EXTRA_CA_CERTS.
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    // TLS in front of the sim's plain port (TCP for ircs, HTTP/WebSocket for wss), as Twitch terminates TLS.
    const target = new URL(scheme === 'ircs' ? sim.chatIrcUrl : sim.chatWsUrl);
    const proxy = createTlsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (client) => {
      const upstream = netConnect(Number(target.port), '127.0.0.1');
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    writeFileSync(
      join(dir, 'config.yaml'),
      'collect:\n  flush_seconds: 60\n  bucket_minutes: 1\nmetrics:\n  emf: false\n',
    );
    const channel = `tls_${scheme}`;
    writeFileSync(join(dir, 'channels.txt'), `${channel}\n`);
    const run = runCollect(dir, `${scheme}://127.0.0.1:${port}`, [], { NODE_EXTRA_CA_CERTS: cert });
    try {
      await until('joins over TLS', () => sim.chat.joinedChannels().includes(channel));
      for (let i = 0; i < 5; i++) expect(sim.chat.say({ channel, login: `tlsviewer${i}` })).toBe(1);
      await new Promise((r) => setTimeout(r, 500));
      run.child.kill('SIGTERM');
      expect((await run.exit).code).toBe(0);
      expect(readStored(join(dir, 'data')).messages).toBe(5);
    } finally {
      run.child.kill('SIGKILL');
      await new Promise((r) => proxy.close(r));
    }
  });

  it('re-reads the channels file when it changes on disk, without SIGHUP (containers)', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'config.yaml'),
      'collect:\n  reload_seconds: 1\n  join_limit: 100\n  join_window_seconds: 1\n  collector_id: watch\nmetrics:\n  emf: false\n',
    );
    writeFileSync(join(dir, 'channels.txt'), 'epsilon\nzeta\n');
    const run = runCollect(dir, sim.chatWsUrl);
    const joined = () => sim.chat.joinedChannels().sort().join();
    await until('joins', () => joined().includes('epsilon') && joined().includes('zeta'));
    writeFileSync(join(dir, 'channels.txt'), 'epsilon\neta\n');
    await until('file reload', () => joined().includes('eta') && !joined().includes('zeta'));
    run.child.kill('SIGTERM');
    expect((await run.exit).code).toBe(0);
  });

  it('after SIGKILL every file still reads, only the unflushed interval is lost, and a restart appends cleanly', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'config.yaml'),
      'collect:\n  flush_seconds: 0.1\n  bucket_minutes: 1\n  join_limit: 100\n  join_window_seconds: 1\n  collector_id: killed\nmetrics:\n  emf: false\n',
    );
    const channels = sim.channels.slice(0, 40);
    writeFileSync(join(dir, 'channels.txt'), `${channels.join('\n')}\n`);
    const run = runCollect(dir, sim.chatIrcUrl);
    await until('joins', () => sim.chat.listSessions()[0]?.channels === 40);
    const delivered0 = sim.chat.stats.messagesDelivered;
    sim.chat.setRate(4000);
    await new Promise((r) => setTimeout(r, 2000 + Math.floor(Math.random() * 300)));
    run.child.kill('SIGKILL');
    const delivered = sim.chat.stats.messagesDelivered - delivered0;
    sim.chat.setRate(0);
    const exit = await run.exit;
    expect(exit.signal).toBe('SIGKILL');

    const root = join(dir, 'data');
    const after = readStored(root);
    expect(after.bad).toBeLessThanOrEqual(after.perFile.size); // at most a torn last line per file
    expect(delivered).toBeGreaterThan(4000);
    // Lost at most the unflushed interval: 0.1 s flush + scheduling slack, at 4,000 lines/s.
    expect(after.messages).toBeLessThanOrEqual(delivered);
    expect(after.messages).toBeGreaterThan(delivered - 4000 * 0.6);

    // A crash mid-write leaves a torn line: make one, then restart with the same collector id.
    const file = [...after.perFile.keys()].sort().at(-1) as string;
    appendFileSync(file, '{"channel":"torn","vie');
    const sizeBefore = statSync(file).size;
    await until('old session gone', () => sim.chat.listSessions().length === 0);
    const again = runCollect(dir, sim.chatIrcUrl, ['--duration', '2']);
    await until('rejoined', () => sim.chat.listSessions()[0]?.channels === 40);
    sim.chat.setRate(2000);
    const exit2 = await again.exit;
    sim.chat.setRate(0);
    expect(exit2.code).toBe(0);
    const final = readStored(root);
    const st = final.perFile.get(file) as { good: number; bad: number };
    expect(statSync(file).size).toBeGreaterThan(sizeBefore);
    expect(st.bad).toBe((after.perFile.get(file)?.bad ?? 0) + 1); // only the torn line
    expect(final.messages).toBeGreaterThan(after.messages);
  });
});
