/**
 * twitch-sim speaks Twitch chat as Twitch does: checked line by line with a raw TCP client and
 * a raw WebSocket client (no collector code involved).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseIrcLine } from '../src/twitch/chat/irc.js';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';

class RawClient {
  lines: string[] = [];
  closed = false;
  private buf = '';
  constructor(
    private readonly sendRaw: (s: string) => void,
    readonly close: () => void,
  ) {}
  static tcp(port: number): Promise<RawClient> {
    return new Promise((resolve) => {
      const sock: Socket = connect(port, '127.0.0.1', () => resolve(c));
      const c = new RawClient(
        (s) => sock.write(s),
        () => sock.destroy(),
      );
      sock.setEncoding('utf8');
      sock.on('data', (d) => c.push(String(d)));
      sock.on('close', () => {
        c.closed = true;
      });
    });
  }
  static ws(url: string): Promise<RawClient> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url);
      const c = new RawClient(
        (s) => ws.send(s),
        () => ws.terminate(),
      );
      ws.on('open', () => resolve(c));
      ws.on('message', (d) => c.push(String(d)));
      ws.on('close', () => {
        c.closed = true;
      });
    });
  }
  push(s: string): void {
    this.buf += s;
    let i = this.buf.indexOf('\r\n');
    while (i !== -1) {
      this.lines.push(this.buf.slice(0, i));
      this.buf = this.buf.slice(i + 2);
      i = this.buf.indexOf('\r\n');
    }
  }
  send(...lines: string[]): void {
    this.sendRaw(lines.map((l) => `${l}\r\n`).join(''));
  }
  async waitFor(pred: (l: string) => boolean, ms = 5000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const l = this.lines.find(pred);
      if (l) return l;
      if (Date.now() > end) throw new Error(`no matching line; got:\n${this.lines.join('\n')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

describe('twitch-sim protocol', () => {
  let sim: TwitchSim;
  beforeAll(async () => {
    sim = await startTwitchSim({
      rate: 0,
      channels: 30,
      viewers: 600,
      membershipMs: 100,
      pingSeconds: 0.3,
      reconnectGraceMs: 50,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('anonymous login over TCP: CAP ACK, welcome, JOIN replies with ROOMSTATE, tagged PRIVMSG, membership, PING', async () => {
    const c = await RawClient.tcp(sim.ircPort);
    c.send(
      'CAP REQ :twitch.tv/tags twitch.tv/commands twitch.tv/membership',
      'PASS SCHMOOPIIE',
      'NICK justinfan4711',
    );
    await c.waitFor((l) => l.includes(' 376 '));
    expect(c.lines.slice(0, 8)).toEqual([
      ':tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands twitch.tv/membership',
      ':tmi.twitch.tv 001 justinfan4711 :Welcome, GLHF!',
      ':tmi.twitch.tv 002 justinfan4711 :Your host is tmi.twitch.tv',
      ':tmi.twitch.tv 003 justinfan4711 :This server is rather new',
      ':tmi.twitch.tv 004 justinfan4711 :-',
      ':tmi.twitch.tv 375 justinfan4711 :-',
      ':tmi.twitch.tv 372 justinfan4711 :You are in a maze of twisty passages, all alike.',
      ':tmi.twitch.tv 376 justinfan4711 :>',
    ]);
    const small = sim.chat.traffic.channels.find((ch) => ch.audience.length > 0 && ch.audience.length < 1000)
      ?.login as string;
    c.send(`JOIN #${small}`);
    const rs = await c.waitFor((l) => l.includes('ROOMSTATE'));
    expect(c.lines.slice(8, 11)).toEqual([
      `:justinfan4711!justinfan4711@justinfan4711.tmi.twitch.tv JOIN #${small}`,
      `:justinfan4711.tmi.twitch.tv 353 justinfan4711 = #${small} :justinfan4711`,
      `:justinfan4711.tmi.twitch.tv 366 justinfan4711 #${small} :End of /NAMES list`,
    ]);
    expect(parseIrcLine(rs)?.tags).toMatchObject({
      'emote-only': '0',
      'followers-only': '-1',
      r9k: '0',
      slow: '0',
      'subs-only': '0',
    });
    expect(parseIrcLine(rs)?.tags['room-id']).toMatch(/^\d+$/);

    sim.chat.say({
      channel: small,
      login: 'someone',
      displayName: 'Some One',
      sentAt: 1_700_000_000_000,
      text: 'a;b c\\d',
    });
    const pm = parseIrcLine(await c.waitFor((l) => l.includes('PRIVMSG')));
    expect(pm?.prefix).toBe('someone!someone@someone.tmi.twitch.tv');
    expect(pm?.params).toEqual([`#${small}`, 'a;b c\\d']);
    expect(Object.keys(pm?.tags ?? {})).toEqual([
      'badge-info',
      'badges',
      'color',
      'display-name',
      'emotes',
      'first-msg',
      'flags',
      'id',
      'mod',
      'returning-chatter',
      'room-id',
      'subscriber',
      'tmi-sent-ts',
      'turbo',
      'user-id',
      'user-type',
    ]);
    expect(pm?.tags['display-name']).toBe('Some One'); // escaped on the wire as Some\sOne
    expect(c.lines.find((l) => l.includes('PRIVMSG'))).toContain('display-name=Some\\sOne;');

    // Membership batches arrive for a small channel; PING arrives and is answered.
    await c.waitFor((l) => / (JOIN|PART) #/.test(l) && !l.startsWith(':justinfan4711!'));
    await c.waitFor((l) => l === 'PING :tmi.twitch.tv');
    c.send('PONG :tmi.twitch.tv');
    c.send(`PART #${small}`);
    await c.waitFor((l) => l === `:justinfan4711!justinfan4711@justinfan4711.tmi.twitch.tv PART #${small}`);
    c.close();
  });

  it('drops a session that does not answer PING, refuses bad logins, NAKs unknown caps', async () => {
    const silent = await RawClient.tcp(sim.ircPort);
    silent.send('NICK justinfan1');
    await silent.waitFor((l) => l === 'PING :tmi.twitch.tv');
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (silent.closed) {
          clearInterval(t);
          r();
        }
      }, 10);
    });
    expect(sim.chat.stats.pingTimeouts).toBeGreaterThanOrEqual(1);

    const bad = await RawClient.ws(sim.chatWsUrl);
    bad.send('CAP REQ :twitch.tv/nonsense', 'PASS nope', 'NICK somebot');
    await bad.waitFor((l) => l === ':tmi.twitch.tv CAP * NAK :twitch.tv/nonsense');
    await bad.waitFor((l) => l === ':tmi.twitch.tv NOTICE * :Login authentication failed');
  });

  it('over WebSocket: several lines per frame, tags stripped without the tags cap, RECONNECT then close, control endpoint', async () => {
    const c = await RawClient.ws(sim.chatWsUrl);
    c.send('CAP REQ :twitch.tv/commands', 'NICK justinfan99', 'JOIN #zzz_custom');
    await c.waitFor((l) => l.includes('ROOMSTATE #zzz_custom'));
    expect(c.lines.find((l) => l.includes('ROOMSTATE'))).toBe(':tmi.twitch.tv ROOMSTATE #zzz_custom');
    const res = await fetch(`${sim.controlUrl}/say`, {
      method: 'POST',
      body: JSON.stringify({ channel: 'zzz_custom', login: 'viewer1', text: 'hi' }),
    });
    expect(await res.json()).toEqual({ sessions: 1 });
    expect(await c.waitFor((l) => l.includes('PRIVMSG'))).toBe(
      ':viewer1!viewer1@viewer1.tmi.twitch.tv PRIVMSG #zzz_custom :hi',
    );
    const f = await fetch(`${sim.controlUrl}/fault`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'reconnect', channel: 'zzz_custom' }),
    });
    expect(await f.json()).toEqual({ sessions: 1 });
    await c.waitFor((l) => l === ':tmi.twitch.tv RECONNECT');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.closed).toBe(true);
    const stats = (await (await fetch(`${sim.controlUrl}/stats`)).json()) as { connections: number };
    expect(stats.connections).toBeGreaterThanOrEqual(3);
    const bad = await fetch(`${sim.controlUrl}/fault`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'explode' }),
    });
    expect(bad.status).toBe(400);
  });

  it('shared chat: a line goes to its own room with source-* tags naming it, and a copy to the partner with its own id, room-id and sharedchatnotice', async () => {
    const c = await RawClient.tcp(sim.ircPort);
    c.send('CAP REQ :twitch.tv/tags twitch.tv/commands', 'NICK justinfan777', 'JOIN #sc_alpha,#sc_beta');
    await c.waitFor((l) => l.includes('ROOMSTATE #sc_beta'));
    const res = await fetch(`${sim.controlUrl}/shared-chat`, {
      method: 'POST',
      body: JSON.stringify({ channels: ['sc_alpha', 'sc_beta'] }),
    });
    expect(await res.json()).toEqual({ sessions: [['sc_alpha', 'sc_beta']] });
    const roomOf = (ch: string) =>
      parseIrcLine(c.lines.find((l) => l.includes(`ROOMSTATE #${ch}`)) as string)?.tags['room-id'];
    sim.chat.say({ channel: 'sc_alpha', login: 'typist', userId: '4242', text: 'hello both' });
    const orig = parseIrcLine(await c.waitFor((l) => l.includes('PRIVMSG #sc_alpha')));
    const copy = parseIrcLine(await c.waitFor((l) => l.includes('PRIVMSG #sc_beta')));
    expect(orig?.tags).toMatchObject({ 'room-id': roomOf('sc_alpha'), 'source-room-id': roomOf('sc_alpha') });
    expect(orig?.tags['source-id']).toBe(orig?.tags.id);
    expect(copy?.tags).toMatchObject({
      'room-id': roomOf('sc_beta'),
      'source-room-id': roomOf('sc_alpha'),
      'source-id': orig?.tags.id,
      'user-id': '4242',
      'source-only': '0',
    });
    expect(copy?.tags.id).not.toBe(orig?.tags.id);
    expect(copy?.params).toEqual(['#sc_beta', 'hello both']);
    expect(copy?.prefix).toBe('typist!typist@typist.tmi.twitch.tv');

    sim.chat.usernotice('sc_beta', 'subber', 'resub', Date.now(), 'two years');
    const n = parseIrcLine(await c.waitFor((l) => l.includes('USERNOTICE #sc_alpha')));
    expect(n?.tags).toMatchObject({
      'msg-id': 'sharedchatnotice',
      'source-msg-id': 'resub',
      'source-room-id': roomOf('sc_beta'),
      'room-id': roomOf('sc_alpha'),
      login: 'subber',
    });
    await fetch(`${sim.controlUrl}/shared-chat`, {
      method: 'POST',
      body: JSON.stringify({ channels: ['sc_alpha'], end: true }),
    });
    expect(sim.chat.sharedChats()).toEqual([]);
    c.close();
  });

  it('replays recorded lines to the sessions of their channel, and renames a viewer keeping the user id', async () => {
    const c = await RawClient.tcp(sim.ircPort);
    c.send('CAP REQ :twitch.tv/tags twitch.tv/commands', 'NICK justinfan778', 'JOIN #pajlada');
    await c.waitFor((l) => l.includes('ROOMSTATE #pajlada'));
    const line =
      '@badge-info=;badges=;color=#0000FF;display-name=JuN1oRRRR;emotes=;flags=;id=e9d998c3-36f1-430f-89ec-6b887c28af36;mod=0;room-id=11148817;subscriber=0;tmi-sent-ts=1594545155039;turbo=0;user-id=29803735;user-type= :jun1orrrr!jun1orrrr@jun1orrrr.tmi.twitch.tv PRIVMSG #pajlada :dank cam';
    const res = await fetch(`${sim.controlUrl}/replay`, {
      method: 'POST',
      body: JSON.stringify({
        lines: [line, '@msg-id=subs_on :tmi.twitch.tv NOTICE #elsewhere :x', 'PING :tmi.twitch.tv'],
      }),
    });
    expect(await res.json()).toEqual({ deliveries: 2 });
    expect(await c.waitFor((l) => l.includes('PRIVMSG'))).toBe(line);
    await c.waitFor((l) => l === 'PING :tmi.twitch.tv');

    const t = sim.chat.traffic;
    const before = t.login(3);
    sim.chat.rename(before, 'brand_new_name');
    expect(t.login(3)).toBe('brand_new_name');
    expect(t.viewerOf('brand_new_name')).toBe(3);
    const pm = parseIrcLine(t.privmsg(0, 3, Date.now()));
    expect(pm?.prefix.startsWith('brand_new_name!')).toBe(true);
    expect(pm?.tags['user-id']).toBe(t.userId(3));
    c.close();
  });

  it('serves Helix on the same port (token, streams) and 404s unknown paths', async () => {
    const tok = await fetch(
      `${sim.authUrl}/token?client_id=sim-client-id&client_secret=sim-client-secret&grant_type=client_credentials`,
      { method: 'POST' },
    );
    expect(tok.status).toBe(200);
    const { access_token } = (await tok.json()) as { access_token: string };
    const streams = await fetch(`${sim.helixUrl}/streams?first=5`, {
      headers: { 'Client-Id': 'sim-client-id', Authorization: `Bearer ${access_token}` },
    });
    expect(streams.status).toBe(200);
    const body = (await streams.json()) as { data: { user_login: string }[] };
    expect(body.data.length).toBe(5);
    expect(sim.channels).toContain(body.data[0]?.user_login);
    expect((await fetch(`http://127.0.0.1:${sim.port}/nothing`)).status).toBe(404);
  });
});
