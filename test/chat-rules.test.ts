/**
 * Live chat semantics beyond the corpus: stable ids on rows (and pseudonymised with the login),
 * shared-chat session records, the bundled bot list and its sources.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aggregate } from '../src/analysis/aggregate.js';
import { KNOWN_BOT_SET, KNOWN_BOTS, LURKER_BOTS_SOURCE } from '../src/analysis/known-bots.js';
import { startCollector } from '../src/collect/collector.js';
import { PresenceAccumulator } from '../src/collect/presence.js';
import {
  decodeSharedChatLine,
  encodeSharedChatLine,
  mergeSharedChat,
  readSharedChatSessions,
} from '../src/collect/shared-chat.js';
import { loadConfig } from '../src/config/index.js';
import { pseudonym } from '../src/privacy/pseudonymize.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { startTwitchSim } from '../src/twitch/sim/index.js';
import { tableOf } from './fixtures/analysis/tables.js';

const tmp = mkdtempSync(join(tmpdir(), 'va-chat-rules-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rowsUnder(d: string): Record<string, unknown>[] {
  const walk = (x: string): string[] =>
    readdirSync(x).flatMap((n) => (statSync(join(x, n)).isDirectory() ? walk(join(x, n)) : [join(x, n)]));
  return walk(d).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  );
}

async function until(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('presence rows carry stable ids', () => {
  it('keeps one account under two logins, and two accounts under one login, apart; restore keeps the ids', () => {
    const acc = new PresenceAccumulator(60_000);
    acc.addMessage('chan', 'oldname', 1_000, 1, { viewerId: '42', channelId: '7' });
    acc.addMessage('chan', 'newname', 2_000, 1, { viewerId: '42', channelId: '7' });
    acc.addMessage('chan', 'reused', 3_000, 1, { viewerId: '1' });
    acc.addMessage('chan', 'reused', 4_000, 2, { viewerId: '2', channelId: '7' });
    acc.addMessage('chan', 'reused', 5_000, 1, { viewerId: '2' });
    acc.addMembership('chan', 'lurker', 6_000, '7');
    const rows = acc.drain();
    expect(rows).toEqual([
      {
        channel: 'chan',
        viewer: 'oldname',
        ts: 0,
        source: 'live',
        messages: 1,
        viewer_id: '42',
        channel_id: '7',
      },
      {
        channel: 'chan',
        viewer: 'newname',
        ts: 0,
        source: 'live',
        messages: 1,
        viewer_id: '42',
        channel_id: '7',
      },
      { channel: 'chan', viewer: 'reused', ts: 0, source: 'live', messages: 1, viewer_id: '1' },
      {
        channel: 'chan',
        viewer: 'reused',
        ts: 0,
        source: 'live',
        messages: 3,
        viewer_id: '2',
        channel_id: '7',
      },
      {
        channel: 'chan',
        viewer: 'lurker',
        ts: 0,
        source: 'live',
        messages: 0,
        kind: 'membership',
        channel_id: '7',
      },
    ]);
    acc.restore(rows);
    expect(acc.drain()).toEqual(rows);
  });

  it('collect writes viewer_id / channel_id, and pseudonymises the viewer id with the login', async () => {
    const sim = await startTwitchSim({
      rate: 0,
      channels: 10,
      viewers: 100,
      membershipMs: 0,
      pingSeconds: 0,
    });
    const root = join(tmp, 'pseudo');
    const storage = new FsStorage(root);
    const key = 'k'.repeat(32);
    const config = loadConfig({
      overrides: {
        collect: { chat_url: sim.chatWsUrl, flush_seconds: 0.2, join_limit: 100, join_window_seconds: 1 },
        privacy: { pseudonymize: true },
        metrics: { emf: false },
      },
    });
    const collector = startCollector(config, {
      storage,
      channels: ['idchan'],
      env: { VIEWERATLAS_PSEUDONYM_KEY: key },
    });
    try {
      await until(() => collector.status().channelsJoined === 1, 10_000);
      const base = collector.status().linesReceived;
      sim.chat.say({ channel: 'idchan', login: 'renamer', userId: '555', text: 'one' });
      sim.chat.usernotice('idchan', 'gifter', 'subgift', Date.now(), undefined, '556');
      sim.chat.usernotice('idchan', 'ananonymousgifter', 'subgift', Date.now(), undefined, '274598607');
      sim.chat.usernotice('idchan', 'idchan', 'anonsubmysterygift', Date.now());
      await until(() => collector.status().linesReceived >= base + 4, 5000);
    } finally {
      const s = await collector.stop();
      await sim.close();
      expect(s.messages).toBe(2);
      expect(s.nonViewerLines).toBe(2);
    }
    const rows = rowsUnder(join(root, 'raw/presence'));
    const room = (rowsUnder(join(root, 'raw/metadata'))[0] as { channel_id: string }).channel_id;
    expect(room).toMatch(/^\d+$/);
    expect(rows.map((r) => [r.viewer, r.viewer_id, r.channel_id]).sort()).toEqual(
      [
        [pseudonym(key, 'renamer'), pseudonym(key, '555'), room],
        [pseudonym(key, 'gifter'), pseudonym(key, '556'), room],
      ].sort(),
    );
  }, 30_000);
});

describe('shared-chat session records', () => {
  const rec = (channel: string, id: string, partner: string, first: number, last: number, copies = 1) => ({
    channel,
    channel_id: id,
    partner_channel_id: partner,
    first_seen: first,
    last_seen: last,
    copies,
  });

  it('round-trips a record through its raw line and rejects bad ones', () => {
    const r = {
      ...rec('a', '1', '2', Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 5), 9),
      partner_channel: 'b',
    };
    expect(decodeSharedChatLine(encodeSharedChatLine(r).trim())).toEqual(r);
    expect(
      decodeSharedChatLine('{"channel":"a","partner_channel_id":"x","first_seen":"2026-01-01T00:00:00Z"}'),
    ).toMatch(/partner_channel_id/);
    expect(decodeSharedChatLine('{"channel":"a","partner_chan')).toMatch(/torn/);
  });

  it('merges both directions and close observations into one session, and splits after a gap', () => {
    const m = 60_000;
    const sessions = mergeSharedChat([
      rec('a', '1', '2', 0, 2 * m, 5),
      { ...rec('b', '2', '1', m, 3 * m, 4) },
      rec('a', '1', '2', 10 * m, 12 * m, 1),
      rec('a', '1', '2', 40 * m, 41 * m, 2),
      rec('c', '3', '9', 0, m, 1),
    ]);
    expect(sessions).toEqual([
      { channels: ['9', 'c'], start: 0, end: m, copies: 1 },
      { channels: ['a', 'b'], start: 0, end: 12 * m, copies: 10 },
      { channels: ['a', 'b'], start: 40 * m, end: 41 * m, copies: 2 },
    ]);
  });

  it('collect records a session, drops the copies from presence, and reads back as one session', async () => {
    const sim = await startTwitchSim({
      rate: 0,
      channels: 10,
      viewers: 100,
      membershipMs: 0,
      pingSeconds: 0,
    });
    const root = join(tmp, 'shared');
    const storage = new FsStorage(root);
    const config = loadConfig({
      overrides: {
        collect: { chat_url: sim.chatIrcUrl, flush_seconds: 0.2, join_limit: 100, join_window_seconds: 1 },
        metrics: { emf: false },
      },
    });
    const collector = startCollector(config, { storage, channels: ['left_room', 'right_room'] });
    await until(() => collector.status().channelsJoined === 2, 10_000);
    const base = collector.status().linesReceived;
    sim.chat.startSharedChat(['left_room', 'right_room']);
    for (let i = 0; i < 3; i++) sim.chat.say({ channel: 'left_room', login: 'only_left', userId: '11' });
    sim.chat.say({ channel: 'right_room', login: 'only_right', userId: '12' });
    sim.chat.usernotice('right_room', 'right_subber', 'sub', Date.now(), undefined, '13');
    await until(() => collector.status().linesReceived >= base + 10, 5000);
    const s = await collector.stop();
    await sim.close();
    expect(s.sharedChatCopies).toBe(5);
    const rows = rowsUnder(join(root, 'raw/presence'));
    expect(rows.map((r) => `${r.channel}:${r.viewer}:${r.messages}`).sort()).toEqual([
      'left_room:only_left:3',
      'right_room:only_right:1',
      'right_room:right_subber:1',
    ]);
    const sessions = await readSharedChatSessions(storage);
    expect(sessions.length).toBe(1);
    expect(sessions[0]?.channels).toEqual(['left_room', 'right_room']);
    expect(sessions[0]?.copies).toBe(5);
  }, 30_000);
});

describe('bundled bot list', () => {
  it('holds valid, unique logins from the documented sources, and the analysis removes them (and user extras)', () => {
    expect(KNOWN_BOTS.every((b) => /^[a-z0-9_]{1,25}$/.test(b))).toBe(true);
    expect(KNOWN_BOT_SET.size).toBe(KNOWN_BOTS.length);
    // Service bots (hand-kept, goodbot.txt) and lurker bots (list.txt of arrowgent/Twitchtv-Bots-List).
    for (const b of [
      'nightbot',
      'streamelements',
      'sery_bot',
      'sport_scores_bot',
      '0ax2',
      'anotherttvviewer',
    ])
      expect(KNOWN_BOT_SET.has(b)).toBe(true);
    expect(KNOWN_BOTS.length).toBeGreaterThan(1000);
    expect(LURKER_BOTS_SOURCE).toMatch(
      /^https:\/\/github\.com\/arrowgent\/Twitchtv-Bots-List\/blob\/[0-9a-f]{40}\/list\.txt$/,
    );

    const rows: [string, string, number][] = [];
    for (let c = 0; c < 2; c++)
      for (const v of ['a1', 'a2', 'a3', 'a4', 'a5', '01ella', 'sport_scores_bot', 'my_own_bot'])
        rows.push([`c${c}`, v, 0]);
    const t = tableOf(rows);
    expect(aggregate(t, { minViewers: 1 }).counts.botsRemoved.known).toBe(2);
    expect(aggregate(t, { minViewers: 1, extraBots: ['My_Own_Bot'] }).counts.botsRemoved.known).toBe(3);
    expect(aggregate(t, { minViewers: 1, knownBots: false }).counts.botsRemoved.known).toBe(0);
  });
});
