/**
 * twitch-sim: a local Twitch on 127.0.0.1 for tests and the offline demo. One HTTP server
 * carries the WebSocket chat (upgrade) and delegates every other request to the Helix
 * simulator (`helix.ts`, when present) or to the control endpoint `/_sim/…`; plain-TCP IRC
 * listens on its own port.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { ChatSim, type ChatSimOptions, type SessionFilter } from './chat.js';
import { createHelixSim } from './helix.js';

export {
  CHAT_SIM_DEFAULTS,
  ChatSim,
  type ChatSimOptions,
  type JoinEvent,
  type SessionFilter,
  type SimNoticeKind,
} from './chat.js';
export { type PrivmsgFields, privmsgLine } from './chat-traffic.js';

/** Options of `startTwitchSim`; every field optional. */
export interface TwitchSimOptions extends ChatSimOptions {
  /** HTTP + WebSocket port (0 = any free port). */
  port?: number;
  /** Plain-TCP IRC port (0 = any free port). */
  ircPort?: number;
  /** Helix client credentials the simulated token endpoint accepts. */
  clientId?: string;
  clientSecret?: string;
  /** Start generating traffic right away (default true). */
  autoStart?: boolean;
}

export interface TwitchSim {
  /** `ws://127.0.0.1:PORT` */
  chatWsUrl: string;
  /** `irc://127.0.0.1:PORT` */
  chatIrcUrl: string;
  /** `http://127.0.0.1:PORT/helix` */
  helixUrl: string;
  /** `http://127.0.0.1:PORT/oauth2` */
  authUrl: string;
  /** `http://127.0.0.1:PORT/_sim` (stats, faults, scripted lines). */
  controlUrl: string;
  port: number;
  ircPort: number;
  /** The chat simulator: scripting, faults, stats. */
  chat: ChatSim;
  /** Channel logins of the simulated population, most popular first. */
  channels: string[];
  /** Whether Helix requests are served (the Helix simulator is present). */
  helix: boolean;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

function helixHandler(
  sim: ChatSim,
  opts: TwitchSimOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const h = createHelixSim({
    channels: sim.traffic.population.channels,
    clientId: opts.clientId ?? 'sim-client-id',
    clientSecret: opts.clientSecret ?? 'sim-client-secret',
  });
  return (req, res) => h.handle(req, res);
}

const filterSchema = z.object({ session: z.number().int().optional(), channel: z.string().optional() });
const faultSchema = filterSchema.extend({
  kind: z.enum(['drop', 'reconnect', 'garbage', 'ping', 'outage']),
  /** `outage`: how long new connections are refused (default 30). */
  seconds: z.number().positive().optional(),
});
const saySchema = z.object({
  channel: z.string(),
  login: z.string(),
  sentAt: z.number().optional(),
  text: z.string().optional(),
  displayName: z.string().optional(),
  userId: z.string().optional(),
});
const membershipSchema = z.object({
  channel: z.string(),
  command: z.enum(['JOIN', 'PART']),
  logins: z.array(z.string()),
});

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const s = Buffer.concat(chunks).toString('utf8');
  return s ? JSON.parse(s) : {};
}

/** An outage: every connection dropped, new ones refused until `until` (epoch ms). */
interface Outage {
  until: number;
}

async function control(
  sim: ChatSim,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  outage: Outage,
): Promise<void> {
  const send = (code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  try {
    if (req.method === 'GET' && path === '/_sim/stats')
      return send(200, { ...sim.stats, sessions: sim.listSessions() });
    if (req.method === 'GET' && path === '/_sim/joins') return send(200, sim.joinLog);
    if (req.method === 'GET' && path === '/_sim/channels')
      return send(
        200,
        sim.traffic.channels.map((c) => c.login),
      );
    if (req.method !== 'POST') return send(405, { error: 'use POST' });
    const body = await readJson(req);
    if (path === '/_sim/fault') {
      const f = faultSchema.parse(body);
      const filter: SessionFilter = { session: f.session, channel: f.channel };
      if (f.kind === 'outage') {
        outage.until = Date.now() + (f.seconds ?? 30) * 1000;
        return send(200, { sessions: sim.drop({}), until: outage.until });
      }
      const n =
        f.kind === 'drop'
          ? sim.drop(filter)
          : f.kind === 'reconnect'
            ? sim.reconnect(filter)
            : f.kind === 'garbage'
              ? sim.garbage(filter)
              : sim.ping(filter);
      return send(200, { sessions: n });
    }
    if (path === '/_sim/say') {
      const s = saySchema.parse(body);
      return send(200, { sessions: sim.say({ ...s, sentAt: s.sentAt ?? Date.now() }) });
    }
    if (path === '/_sim/membership') {
      const m = membershipSchema.parse(body);
      return send(200, { sessions: sim.membership(m.channel, m.command, m.logins) });
    }
    if (path === '/_sim/replay') {
      const r = z.object({ lines: z.array(z.string()) }).parse(body);
      return send(200, { deliveries: sim.replay(r.lines) });
    }
    if (path === '/_sim/shared-chat') {
      const r = z.object({ channels: z.array(z.string()).min(1), end: z.boolean().optional() }).parse(body);
      if (r.end) for (const c of r.channels) sim.endSharedChat(c);
      else sim.startSharedChat(r.channels);
      return send(200, { sessions: sim.sharedChats() });
    }
    if (path === '/_sim/rename') {
      const r = z.object({ from: z.string(), to: z.string() }).parse(body);
      sim.rename(r.from, r.to);
      return send(200, { renamed: r });
    }
    if (path === '/_sim/rate') {
      const r = z.object({ rate: z.number().nonnegative() }).parse(body);
      sim.setRate(r.rate);
      return send(200, { rate: r.rate });
    }
    return send(404, { error: `unknown control path ${path}` });
  } catch (err) {
    return send(400, { error: err instanceof Error ? err.message : String(err) });
  }
}

function listen(server: Server | ReturnType<typeof createTcpServer>, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

/** Starts chat (WebSocket + TCP IRC), Helix (when present) and the control endpoint on 127.0.0.1. */
export async function startTwitchSim(opts: TwitchSimOptions = {}): Promise<TwitchSim> {
  const chat = new ChatSim(opts);
  const helix = helixHandler(chat, opts);
  const outage: Outage = { until: 0 };
  const down = () => Date.now() < outage.until;

  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (path.startsWith('/_sim/')) return void control(chat, req, res, path, outage);
    const fallback = () => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: 'Not Found', status: 404, message: `twitch-sim: no handler for ${path}` }),
      );
    };
    helix(req, res).then(
      (handled) => {
        if (!handled) fallback();
      },
      (err) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'Internal Server Error', status: 500, message: String(err) }));
      },
    );
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on('upgrade', (req, socket, head) => {
    if (down()) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s = chat.attach({
        kind: 'ws',
        send: (text) => ws.send(text),
        close: () => ws.terminate(),
        buffered: () => ws.bufferedAmount,
      });
      ws.on('message', (data) => chat.receive(s, data.toString()));
      ws.on('close', () => chat.detach(s));
      ws.on('error', () => chat.detach(s));
    });
  });

  const sockets = new Set<Socket>();
  const irc = createTcpServer((sock) => {
    if (down()) return void sock.destroy();
    sockets.add(sock);
    sock.setEncoding('utf8');
    sock.setNoDelay(true);
    const s = chat.attach({
      kind: 'irc',
      send: (text) => {
        if (!sock.destroyed) sock.write(text);
      },
      close: () => sock.destroy(),
      buffered: () => sock.writableLength,
    });
    sock.on('data', (d) => chat.receive(s, d as unknown as string));
    sock.on('close', () => {
      sockets.delete(sock);
      chat.detach(s);
    });
    sock.on('error', () => chat.detach(s));
  });

  const port = await listen(http, opts.port ?? 0);
  // A taken IRC port must not leave the HTTP server listening (the process would never exit).
  const ircPort = await listen(irc, opts.ircPort ?? 0).catch(async (err) => {
    await new Promise<void>((r) => http.close(() => r()));
    throw err;
  });
  if (opts.autoStart !== false) chat.start();

  return {
    chatWsUrl: `ws://${HOST}:${port}`,
    chatIrcUrl: `irc://${HOST}:${ircPort}`,
    helixUrl: `http://${HOST}:${port}/helix`,
    authUrl: `http://${HOST}:${port}/oauth2`,
    controlUrl: `http://${HOST}:${port}/_sim`,
    port,
    ircPort,
    chat,
    channels: chat.traffic.population.channels
      .map((c) => ({ login: c.name, p: c.popularity }))
      .sort((a, b) => b.p - a.p)
      .map((c) => c.login),
    helix: true,
    async close() {
      chat.stop();
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => wss.close(() => r())),
        new Promise<void>((r) => http.close(() => r())),
        new Promise<void>((r) => irc.close(() => r())),
      ]);
      http.closeAllConnections?.();
    },
  };
}
