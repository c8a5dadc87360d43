/**
 * Shared pieces of the collector benchmarks (bench/collect-ceiling.bench.ts; bench/collect.bench.ts
 * has its own copies of the control call, the join wait and the twurple set-up, and can switch to
 * these): twitch-sim's control endpoint, the machine's load, and @twurple/chat pointed at a local server.
 */
import { readFileSync } from 'node:fs';

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
