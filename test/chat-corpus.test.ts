/**
 * The IRC conformance corpus (test/fixtures/chat/corpus.irc, real Twitch lines — see the README
 * beside it): every line must yield exactly the presence in corpus.expected.json. Checked line by
 * line against the rules, and end to end: `vieweratlas collect` (the CLI, default config) against
 * twitch-sim replaying the lines, reading back what landed in storage — once plainly, once during
 * a RECONNECT handover in which both sockets deliver every line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseChatLine } from '../src/twitch/chat/events.js';
import { presenceOfLine } from '../src/twitch/chat/presence-rules.js';
import { startTwitchSim } from '../src/twitch/sim/index.js';

interface ExpectedPresence {
  channel: string;
  viewer: string;
  viewer_id?: string;
  channel_id?: string;
  messages: number;
  kind?: 'membership';
}
interface Entry {
  line: number;
  kind: string;
  source: string;
  presence: ExpectedPresence[];
  metadata?: { channel: string; channel_id: string };
  shared_chat?: { channel: string; partner_channel_id: string };
}

const dir = join(import.meta.dirname, 'fixtures/chat');
const lines = readFileSync(join(dir, 'corpus.irc'), 'utf8').split('\n').slice(0, -1);
const expected = JSON.parse(readFileSync(join(dir, 'corpus.expected.json'), 'utf8')) as {
  channels: Record<string, string>;
  entries: Entry[];
};
const tmp = mkdtempSync(join(tmpdir(), 'va-chat-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const keyOf = (p: {
  channel: string;
  viewer: string;
  viewer_id?: string;
  channel_id?: string;
  kind?: string;
}) => [p.channel, p.viewer, p.viewer_id ?? '', p.channel_id ?? '', p.kind ?? 'chat'].join('|');

/** Expected presence summed per (channel, viewer, ids, kind), as storage holds it. */
function expectedSums(entries: Entry[]): Record<string, number> {
  const sums = new Map<string, number>();
  for (const e of entries)
    for (const p of e.presence) {
      const k = keyOf(p);
      // Membership is one row per (channel, viewer, bucket): repeats add nothing.
      sums.set(k, p.kind === 'membership' ? 0 : (sums.get(k) ?? 0) + p.messages);
    }
  return Object.fromEntries([...sums].sort());
}

function walk(d: string): string[] {
  let out: string[] = [];
  for (const n of readdirSync(d)) {
    const p = join(d, n);
    out = statSync(p).isDirectory() ? out.concat(walk(p)) : out.concat(p);
  }
  return out;
}

function readJsonl(root: string): Record<string, unknown>[] {
  let files: string[];
  try {
    files = walk(root);
  } catch {
    return [];
  }
  return files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

function storedSums(data: string): Record<string, number> {
  const sums = new Map<string, number>();
  for (const r of readJsonl(join(data, 'raw/presence'))) {
    const k = keyOf(r as unknown as ExpectedPresence);
    sums.set(k, (sums.get(k) ?? 0) + Number(r.messages ?? 1));
  }
  return Object.fromEntries([...sums].sort());
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('IRC conformance corpus', () => {
  it('covers every kind the issue lists, each line with its expectation', () => {
    expect(expected.entries.length).toBe(lines.length);
    expected.entries.forEach((e, i) => {
      expect(e.line).toBe(i + 1);
      expect(e.source.length).toBeGreaterThan(0);
    });
    const kinds = expected.entries.map((e) => e.kind).join('\n');
    for (const k of [
      'PRIVMSG ACTION',
      'PRIVMSG reply',
      'PRIVMSG bits',
      'USERNOTICE sub',
      'USERNOTICE resub',
      'USERNOTICE subgift',
      'USERNOTICE anonsubgift',
      'USERNOTICE anonsubmysterygift',
      'USERNOTICE raid',
      'USERNOTICE announcement',
      'USERNOTICE sharedchatnotice',
      'PRIVMSG shared-chat copy',
      'CLEARCHAT',
      'CLEARMSG',
      'ROOMSTATE',
      'JOIN',
      'PART',
      '353',
      'NOTICE',
      'RECONNECT',
      'jtv',
    ])
      expect(kinds).toContain(k);
  });

  it('maps each line to exactly its expected presence (rules, line by line)', () => {
    const rooms = new Map<string, string>();
    expected.entries.forEach((e, i) => {
      const ev = parseChatLine(lines[i] as string);
      expect(ev.type, `line ${i + 1} (${e.kind})`).not.toBe('invalid');
      let got: ExpectedPresence[] = [];
      if (ev.type === 'roomstate' && ev.roomId) rooms.set(ev.channel, ev.roomId);
      if (ev.type === 'message' || ev.type === 'usernotice') {
        // As the collector does: the channel's id is learned from ROOMSTATE and from `room-id` tags.
        if (ev.roomId) rooms.set(ev.channel, ev.roomId);
        const v = presenceOfLine(ev, rooms.get(ev.channel));
        if ('presence' in v) {
          const p = v.presence;
          got = [
            {
              channel: p.channel,
              viewer: p.login,
              viewer_id: p.viewerId,
              channel_id: p.channelId,
              messages: 1,
            },
          ];
        }
        expect('skip' in v && v.skip === 'shared-chat-copy', `line ${i + 1} shared-chat copy`).toBe(
          e.shared_chat !== undefined,
        );
      }
      if (ev.type === 'join')
        got = [
          {
            channel: ev.channel,
            viewer: ev.login,
            channel_id: rooms.get(ev.channel),
            messages: 0,
            kind: 'membership',
          },
        ];
      const clean = (ps: ExpectedPresence[]) => ps.map((p) => JSON.parse(JSON.stringify(p)));
      expect(clean(got), `line ${i + 1} (${e.kind})`).toEqual(clean(e.presence));
    });
  });

  /**
   * Runs `vieweratlas collect` (the CLI, default config) against a twitch-sim that replays the
   * corpus once the collector has joined; stops it with SIGTERM (it flushes and exits 0) once the
   * expected rows have landed, or after a deadline — whatever is stored then is compared.
   */
  async function collectAgainstReplay(
    handover: boolean,
  ): Promise<{ data: string; code: number | null; err: string }> {
    const data = join(tmp, handover ? 'handover' : 'plain');
    const channelsFile = join(tmp, 'channels.txt');
    writeFileSync(channelsFile, `${Object.keys(expected.channels).join('\n')}\n`);
    const sim = await startTwitchSim({
      rate: 0,
      membershipMs: 0,
      pingSeconds: 0,
      roomIds: expected.channels,
      // The old socket of a handover keeps receiving for a while: both sockets carry the replay.
      partDelayMs: handover ? 4000 : 0,
      reconnectGraceMs: 60_000,
      channels: 20,
      viewers: 200,
    });
    const child = spawn(
      process.execPath,
      [
        'bin/vieweratlas.mjs',
        'collect',
        '--channels',
        channelsFile,
        '--chat-url',
        sim.chatWsUrl,
        '--data',
        data,
      ],
      {
        cwd: join(import.meta.dirname, '..'),
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, VIEWERATLAS_METRICS_EMF: 'false' },
      },
    );
    let err = '';
    child.stderr?.on('data', (d) => {
      err += String(d);
    });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const want = Object.keys(expected.channels).length;
      await until(() => sim.chat.joinedChannels().length === want, 60_000, 'the collector to join');
      let replay = lines;
      if (handover) {
        sim.chat.reconnect();
        await until(
          () => sim.chat.listSessions().filter((x) => x.channels === want).length === 2,
          30_000,
          'a second socket joined to every channel',
        );
        replay = lines.filter((l) => !l.endsWith('RECONNECT'));
      }
      sim.chat.replay(replay);
      const rows = Object.keys(expectedSums(expected.entries)).length;
      const landed = () => {
        try {
          return Object.keys(storedSums(data)).length >= rows;
        } catch {
          return false; // a line being appended right now
        }
      };
      await until(landed, 30_000, 'the rows to be flushed').catch(() => {});
      // Give a duplicate the other socket carried time to arrive too, before the final flush.
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGTERM');
      return { data, code: await exit, err };
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await sim.close();
    }
  }

  for (const handover of [false, true]) {
    it(handover
      ? 'yields exactly that presence through `collect` while both sockets of a RECONNECT handover deliver every line'
      : 'yields exactly that presence end to end: `collect` against twitch-sim replaying the corpus', async () => {
      const { data, code, err } = await collectAgainstReplay(handover);
      expect(code, err).toBe(0);
      expect(storedSums(data)).toEqual(expectedSums(expected.entries));

      // ROOMSTATE: metadata with the channel id.
      const meta = readJsonl(join(data, 'raw/metadata'));
      for (const e of expected.entries.filter((x) => x.metadata))
        expect(meta).toContainEqual(expect.objectContaining(e.metadata));
      // Shared-chat copies: recorded as sessions (channel metadata), not presence.
      const shared = readJsonl(join(data, 'raw/shared-chat'));
      const pairs = new Set(shared.map((s) => `${s.channel}|${s.partner_channel_id}`));
      const wantPairs = new Set(
        expected.entries.flatMap((e) =>
          e.shared_chat ? [`${e.shared_chat.channel}|${e.shared_chat.partner_channel_id}`] : [],
        ),
      );
      expect(pairs).toEqual(wantPairs);
      const copies = shared.reduce((n, s) => n + Number(s.copies), 0);
      expect(copies).toBe(expected.entries.filter((e) => e.shared_chat).length);
    }, 40_000);
  }
});
