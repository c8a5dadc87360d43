/**
 * Shared pieces of the collector benchmarks (collect, collect-ceiling, soak): twitch-sim started
 * in its own process and its control endpoint, /proc figures of a process, the machine's load,
 * and @twurple/chat pointed at a local server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What `vieweratlas twitch-sim` prints on start (the part the benches use). */
export interface SimUrls {
  chatWsUrl: string;
  chatIrcUrl: string;
  controlUrl: string;
}

/** `vieweratlas twitch-sim` in its own process, traffic off (`--rate 0`), PING every 60 s. */
export function startSimProcess(opts: {
  channels: number;
  viewers: number;
  /** Node flags before the bin (e.g. `--import tsx`). */
  nodeArgs?: string[];
}): Promise<{ child: ChildProcess; urls: SimUrls }> {
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      'bin/vieweratlas.mjs',
      'twitch-sim',
      '--channels',
      String(opts.channels),
      '--viewers',
      String(opts.viewers),
      '--rate',
      '0',
      '--ping-seconds',
      '60',
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (d) => resolve({ child, urls: JSON.parse(String(d)) as SimUrls }));
    child.once('exit', (code) => reject(new Error(`twitch-sim exited ${code}`)));
  });
}

/** CPU seconds (user + system), RSS and peak RSS of a process, from /proc; null once it is gone. */
export function procStats(pid: number): { cpu: number; rssMb: number; hwmMb: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { cpu: ticks / 100, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** The control endpoint of a twitch-sim (`controlUrl`): GET without a body, POST with one. */
export async function simControl(controlUrl: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(
    `${controlUrl}/${path}`,
    body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
  );
  return res.json();
}

/** The part of `GET /_sim/stats` the benches read: the open sessions and their joined channels. */
export interface SimStats {
  sessions: { channels: number }[];
}

/** Waits until the sim's sessions hold `channels` joins in all; false after `timeoutMs`. */
export async function waitForJoins(
  controlUrl: string,
  channels: number,
  timeoutMs: number,
): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    const s = (await simControl(controlUrl, 'stats')) as SimStats;
    if (s.sessions.reduce((a, x) => a + x.channels, 0) >= channels) return true;
    if (Date.now() - t0 > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The machine's 1/5/15-minute load averages, as printed by the benches. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/**
 * An @twurple/chat ChatClient (8.2) for a local `ws://127.0.0.1:PORT`. ChatClient has no port
 * option (hostName, ssl, webSocket only; ports fixed to 80/443/6667/6697), so this sets ircv3's
 * private connection target. Not connected yet; `onMessage` counts chat lines.
 */
export async function twurpleClient(chatWsUrl: string, channels: string[]) {
  const { ChatClient } = await import('@twurple/chat');
  const port = Number(new URL(chatWsUrl).port);
  const client = new ChatClient({
    hostName: '127.0.0.1',
    ssl: false,
    webSocket: true,
    channels,
    botLevel: 'verified',
    requestMembershipEvents: true,
    logger: { minLevel: 'error' },
  });
  const irc = (
    client as unknown as {
      _ircClient: { _options: { connection: { port?: number } }; _connection: { _target: { port: number } } };
    }
  )._ircClient;
  irc._options.connection.port = port;
  irc._connection._target.port = port;
  return client;
}
