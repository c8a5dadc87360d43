import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChannelsText } from '../src/collect/channels-file.js';
import { backoffMs } from '../src/collect/connection.js';
import { parseChatUrl } from '../src/collect/endpoint.js';
import { JoinLimiter } from '../src/collect/join-limiter.js';
import { PresenceAccumulator } from '../src/collect/presence.js';
import { fnv1a, resolveShard, shardChannels } from '../src/collect/shard.js';
import { createLogger } from '../src/observability/logger.js';
import { emfLine } from '../src/observability/metrics.js';
import { parseChatLine } from '../src/twitch/chat/events.js';
import {
  escapeTagValue,
  formatIrcLine,
  LineSplitter,
  parseIrcLine,
  unescapeTagValue,
} from '../src/twitch/chat/irc.js';

const lines = readFileSync(join(__dirname, 'fixtures/chat/twitch-lines.txt'), 'utf8')
  .split('\n')
  .filter(Boolean);

describe('IRC parsing (wire → domain)', () => {
  it('maps every fixture line to the right event', () => {
    const evs = lines.map(parseChatLine);
    expect(evs.map((e) => e.type)).toEqual([
      'cap',
      'welcome',
      'other',
      'other',
      'other',
      'other',
      'other',
      'other',
      'join',
      'other',
      'joined',
      'roomstate',
      'message',
      'message',
      'message',
      'usernotice',
      'usernotice',
      'join',
      'part',
      'notice',
      'ping',
      'reconnect',
      'roomstate',
    ]);
    expect(evs[12]).toEqual({
      type: 'message',
      channel: 'ronni',
      login: 'ronni',
      userId: '1337',
      sentAt: 1507246572675,
      displayName: 'ronni',
      id: 'db25007f-7a18-43eb-9379-80131e44d633',
      roomId: '1337',
    });
    // A localised display name never replaces the login.
    expect(evs[13]).toMatchObject({ type: 'message', login: 'xiaoming', displayName: '小明' });
    expect(evs[15]).toMatchObject({ type: 'usernotice', channel: 'dallas', login: 'ronni', kind: 'resub' });
    expect(evs[16]).toMatchObject({
      type: 'usernotice',
      channel: 'othertestchannel',
      login: 'testchannel',
      kind: 'raid',
    });
    expect(evs[11]).toMatchObject({
      type: 'roomstate',
      channel: 'ronni',
      roomId: '1337',
      slow: 0,
      followersOnly: -1,
      emoteOnly: false,
    });
    expect(evs[22]).toMatchObject({ type: 'roomstate', channel: 'ronni', roomId: undefined, slow: 10 });
    expect(evs[19]).toMatchObject({ type: 'notice', channel: 'dallas', msgId: 'msg_channel_suspended' });
  });

  it('unescapes tag values and round-trips them', () => {
    const m = parseIrcLine(lines[16] as string);
    expect(m?.tags['system-msg']).toBe('15 raiders from TestChannel have joined\n!');
    expect(unescapeTagValue('a\\sb\\:c\\\\d\\re\\nf\\')).toBe('a b;c\\d\re\nf');
    for (const v of ['plain', 'with space; semi\\back\r\n', ''])
      expect(unescapeTagValue(escapeTagValue(v))).toBe(v);
    const line = formatIrcLine({
      tags: { 'system-msg': 'x y;z' },
      prefix: 'tmi.twitch.tv',
      command: 'USERNOTICE',
      params: ['#a'],
      trailing: 'hi there',
    });
    expect(line).toBe('@system-msg=x\\sy\\:z :tmi.twitch.tv USERNOTICE #a :hi there');
    expect(parseIrcLine(line)).toEqual({
      tags: { 'system-msg': 'x y;z' },
      prefix: 'tmi.twitch.tv',
      command: 'USERNOTICE',
      params: ['#a', 'hi there'],
    });
  });

  it('turns garbage into counted invalid events, never throws', () => {
    for (const g of [
      ':',
      '@',
      '@a=b',
      ':tmi.twitch.tv',
      '\u0000junk',
      'PRIVMSG',
      ':x!x@x PRIVMSG nochannel :hi',
      '@user-id=abc :u!u@u PRIVMSG #c :t',
      '@login= :tmi.twitch.tv USERNOTICE #c',
    ]) {
      const e = parseChatLine(g);
      expect(['invalid', 'other']).toContain(e.type);
    }
    expect(parseChatLine('@user-id=abc :u!u@u PRIVMSG #c :t')).toMatchObject({ type: 'invalid' });
  });

  it('splits CRLF streams across chunk boundaries and bounds line length', () => {
    const got: string[] = [];
    let oversize = 0;
    const s = new LineSplitter(
      (l) => got.push(l),
      () => oversize++,
      10,
    );
    s.push('PING :a\r\nPI');
    s.push('NG :b\r');
    s.push('\nx\n');
    s.push('y'.repeat(20));
    s.push('\r\n');
    expect(got).toEqual(['PING :a', 'PING :b', 'x']);
    expect(oversize).toBe(1);
  });
});

describe('collector parts', () => {
  it('shards by FNV-1a: disjoint, complete, stable', () => {
    const chans = Array.from({ length: 500 }, (_, i) => `chan${i}`);
    const parts = [0, 1, 2].map((i) => shardChannels(chans, i, 3));
    expect(parts.flat().sort()).toEqual([...chans].sort());
    expect(parts.every((p) => p.length > 120)).toBe(true);
    expect(fnv1a('a')).toBe(0xe40c292c); // the published FNV-1a 32-bit test vector
    expect(shardChannels(['chan1', 'chan7'], 0, 3)).toEqual(
      shardChannels(['chan7', 'chan1'], 0, 3).reverse(),
    );
    expect(resolveShard({ index: 0, count: 1 }, { SHARD_INDEX: '2', SHARD_COUNT: '4' })).toEqual({
      index: 2,
      count: 4,
    });
    expect(() => resolveShard({ index: 0, count: 1 }, { SHARD_INDEX: '4', SHARD_COUNT: '4' })).toThrow(
      /shard index 4/,
    );
  });

  it('join limiter never exceeds the limit in any window', async () => {
    let t = 0;
    const lim = new JoinLimiter({ limit: 5, windowMs: 100, marginMs: 0, now: () => t });
    const sent: number[] = [];
    for (let i = 0; i < 12; i++) {
      lim.enqueue(() => {
        sent.push(t);
        return true;
      });
    }
    lim.confirm(4); // join 4 confirmed at t = 0: no change
    expect(sent.length).toBe(5);
    lim.enqueue(() => false); // a void task uses no slot
    t = 50;
    lim.confirm(0); // the server confirmed join 0 late: its slot counts from t = 50
    const pump = () => {
      (lim as unknown as { timer: NodeJS.Timeout | null }).timer = null;
      (lim as unknown as { pump(): void }).pump();
    };
    t = 100;
    pump();
    expect(sent.length).toBe(5); // join 5 pairs with join 0, which counts from t = 50
    t = 150;
    pump();
    expect(sent.length).toBe(10);
    expect(lim.total).toBe(10);
    expect(lim.pending).toBe(3); // two joins and the void task
    lim.stop();
  });

  it('backoff grows exponentially with jitter and caps', () => {
    expect(backoffMs(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 0.5)).toBe(6000);
    expect(backoffMs(30, 1000, 60_000, () => 1)).toBe(60_000);
  });

  it('accumulates delta rows that sum to what was received', () => {
    const acc = new PresenceAccumulator(60_000);
    acc.addMessage('a', 'v', 60_500);
    acc.addMessage('a', 'v', 119_999);
    acc.addMembership('a', 'w', 61_000);
    acc.addMembership('a', 'w', 62_000);
    const first = acc.drain();
    acc.addMessage('a', 'v', 100_000);
    acc.addMessage('a', 'v', 120_000);
    const second = acc.drain();
    expect(first).toEqual([
      { channel: 'a', viewer: 'v', ts: 60_000, source: 'live', messages: 2 },
      { channel: 'a', viewer: 'w', ts: 60_000, source: 'live', messages: 0, kind: 'membership' },
    ]);
    expect(second).toEqual([
      { channel: 'a', viewer: 'v', ts: 60_000, source: 'live', messages: 1 },
      { channel: 'a', viewer: 'v', ts: 120_000, source: 'live', messages: 1 },
    ]);
    expect(acc.drain()).toEqual([]);
  });

  it('reads channels files and chat URLs, naming the bad line', () => {
    expect(parseChannelsText('# top\nXQC\n#shroud\n\npokimane  # note\nxqc\n')).toEqual([
      'xqc',
      'shroud',
      'pokimane',
    ]);
    expect(() => parseChannelsText('ok\nnot a login!\n', 'c.txt')).toThrow(/c\.txt:2/);
    expect(parseChatUrl('wss://irc-ws.chat.twitch.tv:443')).toMatchObject({
      transport: 'ws',
      secure: true,
      port: 443,
    });
    expect(parseChatUrl('irc://127.0.0.1:6667')).toMatchObject({
      transport: 'tcp',
      secure: false,
      host: '127.0.0.1',
      port: 6667,
    });
    expect(parseChatUrl('ircs://irc.chat.twitch.tv')).toMatchObject({
      transport: 'tcp',
      secure: true,
      port: 6697,
    });
    expect(() => parseChatUrl('http://x')).toThrow(/scheme/);
  });

  it('emits EMF and redacts secrets from logs', () => {
    const doc = JSON.parse(emfLine('NS', { MessagesPerSecond: 5, Reconnects: 1 }, { Collector: 'c1' }, 1000));
    expect(doc._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: 'NS',
      Dimensions: [['Collector']],
      Metrics: [
        { Name: 'MessagesPerSecond', Unit: 'Count/Second' },
        { Name: 'Reconnects', Unit: 'Count' },
      ],
    });
    expect(doc).toMatchObject({ Collector: 'c1', MessagesPerSecond: 5, Reconnects: 1 });
    const out: string[] = [];
    createLogger({ write: (l) => out.push(l) }).info('login', { token: 'sekrit', password: 'x', nick: 'n' });
    expect(out.join('')).not.toContain('sekrit');
    expect(JSON.parse(out[0] as string)).toMatchObject({ msg: 'login', token: '[redacted]', nick: 'n' });
  });
});

describe('twitch-sim traffic', () => {
  it('generated lines equal what privmsgLine formats, and parse back to the sender login', async () => {
    const { ChatTraffic, privmsgLine } = await import('../src/twitch/sim/chat-traffic.js');
    const t = new ChatTraffic({ channels: 10, viewers: 200, seed: 3 });
    for (let i = 0; i < 50; i++) {
      const c = t.pickChannel();
      const v = t.pickViewer(c);
      const line = t.privmsg(c, v, 1_700_000_000_000 + i);
      const ev = parseChatLine(line);
      expect(ev).toMatchObject({
        type: 'message',
        channel: t.channels[c]?.login,
        login: t.login(v),
        sentAt: 1_700_000_000_000 + i,
      });
      const fields = parseIrcLine(line);
      const again = privmsgLine({
        channel: t.channels[c]?.login as string,
        login: t.login(v),
        roomId: fields?.tags['room-id'],
        displayName: fields?.tags['display-name'],
        userId: fields?.tags['user-id'],
        sentAt: 1_700_000_000_000 + i,
        id: fields?.tags.id,
        subscriber: fields?.tags.subscriber === '1',
        text: fields?.params[1],
      });
      expect(again).toBe(line);
    }
  });
});
