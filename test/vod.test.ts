import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { compactRaw, importFiles, loadPresenceFromStorage } from '../src/ingest/index.js';
import { decodePresenceLine, encodePresenceLine } from '../src/ingest/raw-jsonl.js';
import {
  ChatJsonScanner,
  importTwitchChatFile,
  isTwitchDownloaderChatFile,
  readTwitchDownloaderChat,
  readVodMarker,
  type TwitchChatFile,
} from '../src/ingest/twitch-downloader.js';
import type { PresenceRecord } from '../src/model/records.js';
import { pseudonym } from '../src/privacy/pseudonymize.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { LAYOUT } from '../src/storage/layout.js';
import type { Storage } from '../src/storage/storage.js';
import type { HelixSimChannel } from '../src/twitch/sim/helix-data.js';
import { archivedRawKey, runVod } from '../src/twitch/vod/ingest.js';
import {
  dueEntries,
  enqueueVods,
  loadVodQueue,
  nextAttemptAt,
  recordFailure,
  VOD_QUEUE_KEY,
} from '../src/twitch/vod/queue.js';
import { type HelixServer, startHelixServer } from './helpers/helix-server.js';
import { runCli } from './helpers/run-cli.js';

const FIXTURE = resolve('test/fixtures/vod/1984567890.json');
const STANDIN = resolve('test/fixtures/vod/TwitchDownloaderCLI');

const VIEWER_IDS: Record<string, string> = {
  alice_01: '41100001',
  bob: '41100002',
  carol: '41100003',
  tesuto_jp: '41100004',
  dave: '41100005',
  nightbot: '19264788',
};

const rec = (viewer: string, iso: string, messages: number): PresenceRecord => ({
  channel: 'cozystreamer',
  viewer,
  ts: Date.parse(iso),
  source: 'vod',
  messages,
  vod_id: '1984567890',
  viewer_id: VIEWER_IDS[viewer],
  channel_id: '123456789',
});

/** What raw JSON Lines keep of a record: the ids once the encoder (src/ingest/raw-jsonl.ts) carries them. */
const ENCODES_IDS = encodePresenceLine({ ...rec('bob', '2026-11-20T18:00:00Z', 1) }).includes('viewer_id');
const asStored = (r: PresenceRecord): PresenceRecord => {
  if (ENCODES_IDS) return r;
  const { viewer_id: _v, channel_id: _c, ...rest } = r;
  return rest;
};

// Worked out by hand from the fixture: VOD start 18:00:05Z + content_offset_seconds, 5-minute buckets
const EXPECTED: PresenceRecord[] = [
  rec('alice_01', '2026-11-20T18:00:00Z', 2), // +3.42 s, +290.1 s (18:04:55.1)
  rec('bob', '2026-11-20T18:00:00Z', 1), // +120 s
  rec('bob', '2026-11-20T18:05:00Z', 1), // +301.7 s
  rec('carol', '2026-11-20T18:05:00Z', 1), // +295 s = 18:05:00.000 exactly: the next bucket
  rec('tesuto_jp', '2026-11-20T18:05:00Z', 1), // display name てすと; keyed on the login
  rec('bob', '2026-11-20T18:15:00Z', 1), // +899 s
  rec('dave', '2026-11-20T18:15:00Z', 1), // +900.5 s, a cheer
  rec('alice_01', '2026-11-20T19:00:00Z', 2), // +3600 s, +3601 s
  rec('nightbot', '2026-11-20T19:00:00Z', 1), // bots are kept here; aggregate removes them
  rec('carol', '2026-11-20T21:35:00Z', 1), // +13000.2 s = 21:36:45.2
];

async function readAllPresence(storage: Storage): Promise<PresenceRecord[]> {
  const out: PresenceRecord[] = [];
  for (const e of await storage.list(LAYOUT.rawPresencePrefix)) {
    const text = new TextDecoder().decode((await storage.get(e.key))!);
    for (const line of text.split('\n')) {
      if (!line) continue;
      // the ids as stored, whether or not the decoder reads them back yet
      const { viewer_id, channel_id } = JSON.parse(line) as PresenceRecord;
      const r = decodePresenceLine(line) as PresenceRecord;
      if (viewer_id !== undefined) r.viewer_id = viewer_id;
      if (channel_id !== undefined) r.channel_id = channel_id;
      out.push(r);
    }
  }
  return out.sort((a, b) => a.ts - b.ts || (a.viewer < b.viewer ? -1 : 1));
}

async function snapshot(storage: Storage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await storage.list('')) out[e.key] = new TextDecoder().decode((await storage.get(e.key))!);
  return out;
}

describe('TwitchDownloader chat JSON reader', () => {
  it('turns the real-format fixture into exactly the expected presence', async () => {
    const chat = await readTwitchDownloaderChat(FIXTURE, { bucketMinutes: 5 });
    expect(chat.channel).toBe('cozystreamer');
    expect(chat.vodId).toBe('1984567890');
    expect(chat.startMs).toBe(Date.parse('2026-11-20T18:00:05Z'));
    expect(chat.comments).toBe(12);
    expect(chat.records).toEqual(EXPECTED);
  });

  it('the scanner cuts out the same comments whatever the chunk boundaries', async () => {
    const bytes = await readFile(FIXTURE);
    const truth = JSON.parse(bytes.toString('utf8'));
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const comments: unknown[] = [];
      const values: Record<string, unknown> = {};
      const withoutMessage: unknown[] = [];
      const s = new ChatJsonScanner(
        (k, raw) => (values[k] = JSON.parse(raw.toString('utf8'))),
        (json) => comments.push(JSON.parse(json)),
      );
      const lean = new ChatJsonScanner(
        () => {},
        (json) => withoutMessage.push(JSON.parse(json)),
        { dropMessage: true },
      );
      for (let i = 0; i < bytes.length; i += size) {
        s.push(bytes.subarray(i, i + size));
        lean.push(bytes.subarray(i, i + size));
      }
      expect(s.complete).toBe(true);
      expect(comments).toEqual(truth.comments);
      // the message object is dropped only where its key sits in the same chunk (≥ 10 bytes before)
      expect(withoutMessage).toHaveLength(truth.comments.length);
      withoutMessage.forEach((c, j) => {
        const { message, ...rest } = truth.comments[j];
        expect(c).toEqual(
          (c as { message: unknown }).message === null ? { ...rest, message: null } : { ...rest, message },
        );
      });
      if (size === 1000)
        expect(
          withoutMessage.filter((c) => (c as { message: unknown }).message === null).length,
        ).toBeGreaterThan(6);
      expect(values).toEqual({ FileInfo: truth.FileInfo, streamer: truth.streamer, video: truth.video });
    }
  });

  it('reads .json.gz, detects the format, and derives the channel from the caller for old files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'va-tdgz-'));
    try {
      const gz = join(dir, '1984567890.json.gz');
      await writeFile(gz, gzipSync(await readFile(FIXTURE)));
      expect((await readTwitchDownloaderChat(gz)).records).toEqual(EXPECTED);
      expect(await isTwitchDownloaderChatFile(FIXTURE)).toBe(true);
      expect(await isTwitchDownloaderChatFile(gz)).toBe(true);
      // older TwitchDownloader: no streamer.login, streamer.name a display name that is not a login
      const old = JSON.parse(await readFile(FIXTURE, 'utf8'));
      old.streamer = { name: 'コージー', id: 123456789 };
      delete old.FileInfo;
      const oldPath = join(dir, 'old.json');
      await writeFile(oldPath, JSON.stringify(old, null, 2));
      expect(await isTwitchDownloaderChatFile(oldPath)).toBe(true);
      await expect(readTwitchDownloaderChat(oldPath)).rejects.toThrow(
        /old\.json: cannot tell the channel login/,
      );
      const r = await readTwitchDownloaderChat(oldPath, { channel: 'CozyStreamer' });
      expect(r.records).toEqual(EXPECTED);
      const csv = join(dir, 'x.csv');
      await writeFile(csv, 'channel,viewer,ts\n');
      expect(await isTwitchDownloaderChatFile(csv)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('vod ingestion', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'va-vod-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('ingests the folder once; a truncated and a corrupt file fail by name while the good one goes in', async () => {
    const raw = join(dir, 'raw1');
    await mkdir(raw, { recursive: true });
    await copyFile(FIXTURE, join(raw, '1984567890.json'));
    const text = await readFile(FIXTURE, 'utf8');
    await writeFile(join(raw, '1111.json'), text.slice(0, 4000).replace('1984567890', '1111'));
    await writeFile(
      join(raw, '2222.json'),
      text
        .replace('1984567890', '2222')
        .replace('"content_offset_seconds":899', '"content_offset_seconds":899}}garbage'),
    );
    const storage = new FsStorage(join(dir, 'data1'));
    const config = loadConfig({ overrides: { vod: { downloader: '/nonexistent/TwitchDownloaderCLI' } } });

    const s = await runVod(config, { storage, rawDir: raw, env: {} });
    expect(s.ingested.map((f) => [f.vodId, f.records])).toEqual([['1984567890', 10]]);
    expect(s.failed.map((f) => f.file)).toEqual([join(raw, '1111.json'), join(raw, '2222.json')]);
    expect(s.failed[0]!.reason).toMatch(
      /1111\.json: truncated TwitchDownloader JSON: the file ends inside "comments"/,
    );
    expect(s.failed[1]!.reason).toMatch(/2222\.json: corrupt TwitchDownloader JSON: .* at byte \d+/);
    expect(await readAllPresence(storage)).toEqual(EXPECTED.map(asStored));
    expect(
      JSON.parse(new TextDecoder().decode((await storage.get(LAYOUT.vodIngested('1984567890')))!)),
    ).toMatchObject({
      vod_id: '1984567890',
      channel: 'cozystreamer',
      records: 10,
      comments: 12,
      start: '2026-11-20T18:00:05.000Z',
    });

    // a second run, and a copy of the same VOD under another name: nothing goes in twice
    const before = await snapshot(storage);
    await copyFile(FIXTURE, join(raw, 'renamed-copy.json'));
    const again = await runVod(config, { storage, rawDir: raw, env: {} });
    expect(again.ingested).toEqual([]);
    expect(again.alreadyIngested).toEqual(['1984567890']);
    expect(await snapshot(storage)).toEqual(before);
    await storage.close();
  });

  it('pseudonymises viewers before storage when privacy.pseudonymize is on', async () => {
    const raw = join(dir, 'raw2');
    await mkdir(raw, { recursive: true });
    await copyFile(FIXTURE, join(raw, '1984567890.json'));
    const storage = new FsStorage(join(dir, 'data2'));
    const config = loadConfig({ overrides: { privacy: { pseudonymize: true } } });
    await runVod(config, { storage, rawDir: raw, env: { VIEWERATLAS_PSEUDONYM_KEY: 'k1' } });
    const got = await readAllPresence(storage);
    const want = EXPECTED.map((r) =>
      asStored({ ...r, viewer: pseudonym('k1', r.viewer), viewer_id: pseudonym('k1', r.viewer_id!) }),
    );
    expect(got).toEqual(want.sort((a, b) => a.ts - b.ts || (a.viewer < b.viewer ? -1 : 1)));
    const stored = JSON.stringify(await snapshot(storage));
    expect(stored).not.toContain('alice_01');
    await storage.close();
  });

  it('importTwitchChatFile (the `import` hook) stores a VOD once', async () => {
    const storage = new FsStorage(join(dir, 'data4'));
    const a = await importTwitchChatFile(storage, FIXTURE, { bucketMinutes: 5 });
    expect(a.stored).toEqual([
      'raw/presence/source=vod/dt=2026-11-20/hour=18/vod-1984567890.jsonl',
      'raw/presence/source=vod/dt=2026-11-20/hour=19/vod-1984567890.jsonl',
      'raw/presence/source=vod/dt=2026-11-20/hour=21/vod-1984567890.jsonl',
      'state/vod/1984567890.json',
    ]);
    expect(await readAllPresence(storage)).toEqual(EXPECTED.map(asStored));
    const b = await importTwitchChatFile(storage, FIXTURE, { bucketMinutes: 5 });
    expect(b.stored).toBeNull();
    expect(b.chat.vodId).toBe('1984567890');
    expect(await readAllPresence(storage)).toEqual(EXPECTED.map(asStored));
    await storage.close();
  });

  it('`import` (importFiles) accepts a TwitchDownloader chat file, once per VOD', async () => {
    const storage = new FsStorage(join(dir, 'data5'));
    const first = await importFiles(storage, [FIXTURE]);
    expect(first.files[0]).toMatchObject({ kind: 'twitch-chat', ok: true, rowsRead: 12 });
    expect(first.files[0]!.stored).toContain('state/vod/1984567890.json');
    expect(await readAllPresence(storage)).toEqual(EXPECTED.map(asStored));
    const second = await importFiles(storage, [FIXTURE]);
    expect(second.files[0]).toMatchObject({ kind: 'twitch-chat', ok: true, stored: [] });
    expect(await readAllPresence(storage)).toEqual(EXPECTED.map(asStored));
    await storage.close();
  });

  it('vod raw records survive INGEST compaction into Parquet unchanged', async () => {
    const raw = join(dir, 'raw6');
    await mkdir(raw, { recursive: true });
    await copyFile(FIXTURE, join(raw, '1984567890.json'));
    const storage = new FsStorage(join(dir, 'data6'));
    await runVod(loadConfig(), { storage, rawDir: raw, env: {} });
    const c = await compactRaw(storage, { now: Date.parse('2026-11-21T00:00:00Z') });
    expect(c.presenceRows).toBe(10);
    expect(await storage.list(LAYOUT.rawPresencePrefix)).toEqual([]);
    const { table: t } = await loadPresenceFromStorage(storage);
    const rows = Array.from({ length: t.length }, (_, i) => ({
      channel: t.channelNames[t.channel[i]!],
      viewer: t.viewerNames[t.viewer[i]!],
      ts: t.ts[i],
      messages: t.messages[i],
    })).sort((a, b) => a.ts! - b.ts! || (a.viewer! < b.viewer! ? -1 : 1));
    expect(rows).toEqual(
      EXPECTED.map(({ channel, viewer, ts, messages }) => ({ channel, viewer, ts, messages })),
    );
    // the marker stays: the VOD is not ingested again after compaction
    expect((await runVod(loadConfig(), { storage, rawDir: raw, env: {} })).ingested).toEqual([]);
    await storage.close();
  });

  it('without TwitchDownloaderCLI: a clear message, downloads skipped, files present still ingested', async () => {
    const raw = join(dir, 'raw3');
    await mkdir(raw, { recursive: true });
    await copyFile(FIXTURE, join(raw, '1984567890.json'));
    const storage = new FsStorage(join(dir, 'data3'));
    const config = loadConfig({ overrides: { vod: { downloader: 'TwitchDownloaderCLI-not-installed' } } });
    const log: string[] = [];
    const s = await runVod(config, {
      storage,
      rawDir: raw,
      vodIds: ['42', '1984567890'],
      env: { PATH: '/nonexistent' },
      log: (l) => log.push(l),
    });
    expect(s.downloader).toBeNull();
    expect(s.downloadsSkipped).toEqual(['42']);
    expect(log[0]).toMatch(
      /TwitchDownloaderCLI not found \(vod\.downloader = "TwitchDownloaderCLI-not-installed"\): skipping 1 download;.*still ingested/,
    );
    expect(s.ingested.map((f) => f.vodId)).toEqual(['1984567890']);
    expect(s.failed).toEqual([]);
    await storage.close();
  });
});

describe('vod CLI with Helix and the TwitchDownloaderCLI stand-in', () => {
  const CLIENT_ID = 'vod-client';
  const SECRET = 'vod-secret';
  const CHANNELS: HelixSimChannel[] = [
    { name: 'alpha', language: 'en', game: 'Chess', viewerCount: 500 },
    { name: 'beta', language: 'de', game: 'Art', viewerCount: 300 },
    { name: 'gamma', language: 'en', game: 'Art', viewerCount: 100 },
  ];
  let hs: HelixServer;
  let dir: string;
  beforeAll(async () => {
    hs = await startHelixServer({
      channels: CHANNELS,
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      videosPerChannel: 3,
    });
    dir = await mkdtemp(join(tmpdir(), 'va-vodcli-'));
  });
  afterAll(async () => {
    await hs.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists archives, downloads each once, ingests them; a failed download is named and exits 1', async () => {
    const channelsFile = join(dir, 'channels.txt');
    await writeFile(channelsFile, '# vod test\nalpha\nbeta\n');
    const videos = [...hs.sim.videosOf('alpha'), ...hs.sim.videosOf('beta')];
    const meta = Object.fromEntries(
      videos.map((v) => [v.id, { login: v.userLogin, created_at: new Date(v.createdAt).toISOString() }]),
    );
    const failing = videos[4]!.id;
    const env = {
      TWITCH_CLIENT_ID: CLIENT_ID,
      TWITCH_CLIENT_SECRET: SECRET,
      VIEWERATLAS_VOD_DOWNLOADER: STANDIN,
      TWITCHDOWNLOADER_STANDIN_VIDEOS: JSON.stringify(meta),
      TWITCHDOWNLOADER_STANDIN_FAIL: failing,
    };
    const raw = join(dir, 'raw');
    const data = join(dir, 'data');
    const args = [
      'vod',
      '--channels',
      channelsFile,
      '--helix-url',
      hs.helixUrl,
      '--vod-raw',
      raw,
      '--data',
      data,
    ];
    const first = await runCli(args, env);
    expect(first.code).toBe(1);
    expect(first.out).toMatch(
      /^vod: 5 files ingested \(\d+ presence records\), 0 already ingested, 5 downloaded, 6 listed by Helix/,
    );
    expect(first.err).toContain(
      `TwitchDownloaderCLI chatdownload --id ${failing} failed (exit 1): [ERROR] - Unable to find video ${failing}`,
    );
    expect(first.err).toContain(
      `vieweratlas: vod: 1 file failed: ${join(raw, `${failing}.json`)} (the others went in)`,
    );

    const storage = new FsStorage(data);
    const markers = (await storage.list(LAYOUT.vodIngestedPrefix))
      .map((e) => e.key)
      .filter((k) => k !== VOD_QUEUE_KEY)
      .sort();
    expect(markers).toEqual(
      videos
        .filter((v) => v.id !== failing)
        .map((v) => LAYOUT.vodIngested(v.id))
        .sort(),
    );
    const presence = await readAllPresence(storage);
    expect(new Set(presence.map((r) => r.channel))).toEqual(new Set(['alpha', 'beta']));
    expect(new Set(presence.map((r) => r.vod_id))).toEqual(
      new Set(markers.map((k) => k.replace(/^.*\/(\d+)\.json$/, '$1'))),
    );
    // presence time = VOD start + offset: every record within 24 comments × ≤600 s of its VOD's start
    for (const r of presence) {
      const start = meta[r.vod_id!]!.created_at;
      expect(r.ts).toBeGreaterThanOrEqual(Date.parse(start) - 300_000);
      expect(r.ts).toBeLessThan(Date.parse(start) + 24 * 600_000);
    }
    // the queue in storage: five done, the failed one pending with its attempt and backoff
    const queue = JSON.parse(new TextDecoder().decode((await storage.get(VOD_QUEUE_KEY))!));
    const failed = queue.entries.find((e: { vod_id: string }) => e.vod_id === failing);
    expect(failed).toMatchObject({ state: 'pending', attempts: 1, channel: meta[failing]!.login });
    expect(failed.last_error).toContain(`Unable to find video ${failing}`);
    const wait = Date.parse(failed.next_attempt_at) - Date.parse(failed.updated_at);
    expect(wait).toBe(600_000); // vod.retry_backoff_seconds by default
    expect(queue.entries.filter((e: { state: string }) => e.state === 'done')).toHaveLength(5);
    const before = await snapshot(storage);
    const unchanged = async () => {
      const after = await snapshot(storage);
      for (const [k, v] of Object.entries(before)) if (k !== VOD_QUEUE_KEY) expect(after[k]).toBe(v);
    };

    // second run at once: the failed VOD waits for its backoff; nothing is downloaded or ingested twice
    const second = await runCli(args, { ...env, TWITCHDOWNLOADER_STANDIN_FAIL: '' });
    expect(second.code).toBe(0);
    expect(second.out).toMatch(
      /^vod: 0 files ingested \(0 presence records\), 5 already ingested, 0 downloaded, 6 listed by Helix, 1 waiting to retry/,
    );
    expect(second.err).toContain(
      `VOD ${failing} failed before; next attempt after ${failed.next_attempt_at}`,
    );
    await unchanged();

    // once the backoff has passed (here: none), the failed VOD downloads and goes in
    const noWait = { ...env, TWITCHDOWNLOADER_STANDIN_FAIL: '', VIEWERATLAS_VOD_RETRY_BACKOFF_SECONDS: '0' };
    const third = await runCli(args, noWait);
    expect(third.err).toContain(`VOD ${failing}`);
    expect(third.code).toBe(0);
    expect(third.out).toMatch(
      /^vod: 1 file ingested \(\d+ presence records\), 5 already ingested, 1 downloaded, 6 listed by Helix/,
    );
    await unchanged();
    const fourth = await runCli(args, noWait);
    expect(fourth.code).toBe(0);
    expect(fourth.out).toMatch(
      /^vod: 0 files ingested \(0 presence records\), 6 already ingested, 0 downloaded/,
    );
    await storage.close();
  });
});

// ---- the conformance corpus: one TwitchDownloader file per shape (test/fixtures/vod/README.md) ----

const CORPUS = resolve('test/fixtures/vod');
const CHAT_FILES = readdirSync(CORPUS)
  .filter((f) => /\.json(\.gz)?$/.test(f))
  .sort();
type ExpectedRow = PresenceRecord & { file: string };
const EXPECTED_ROWS: ExpectedRow[] = readFileSync(join(CORPUS, 'expected-presence.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => {
    const r = JSON.parse(l);
    return { ...r, ts: Date.parse(r.ts) };
  });
const byTsViewer = (a: PresenceRecord, b: PresenceRecord) =>
  a.ts - b.ts || (a.viewer < b.viewer ? -1 : a.viewer > b.viewer ? 1 : 0);
const rowsOf = (file: string): PresenceRecord[] =>
  EXPECTED_ROWS.filter((r) => r.file === file)
    .map(({ file: _f, ...r }) => r)
    .sort(byTsViewer);
const sumRows = (rows: PresenceRecord[]): PresenceRecord[] => {
  const m = new Map<string, PresenceRecord>();
  for (const r of rows) {
    const k = `${r.vod_id} ${r.viewer} ${r.ts}`;
    const prev = m.get(k);
    if (prev) prev.messages! += r.messages!;
    else m.set(k, { ...r });
  }
  return [...m.values()].sort(byTsViewer);
};
const TRIM = { from: 600, to: 1201 };

describe('conformance corpus: every TwitchDownloader chat shape', () => {
  it('lists every chat file of the corpus in the expected presence', () => {
    expect(CHAT_FILES).toEqual([...new Set(EXPECTED_ROWS.map((r) => r.file))].sort());
  });

  // what each file is, as TwitchDownloader's own reader (ChatJson.cs) would take it
  const SHAPES: Record<string, Partial<TwitchChatFile>> = {
    '1984567890.json': {
      vodId: '1984567890',
      layout: 'current',
      clip: false,
      range: { from: 0, to: Infinity },
    },
    '2022222222-trim.json': { vodId: '2022222222', clip: false, range: TRIM },
    '2022222222.json': { vodId: '2022222222', clip: false, range: { from: 0, to: Infinity } },
    '2077777777.json.gz': { vodId: '2077777777', channel: 'squeezed' },
    'bom-utf8.json': { vodId: '2066666666', channel: 'bomchannel' },
    'clip-SpicyTameOtterKappa.json': {
      vodId: '2011111111',
      channel: 'clipchannel',
      clip: true,
      startMs: Date.parse('2026-11-18T20:00:00Z'), // the VOD's start, not the clip's creation (2026-11-21)
      range: { from: 5400, to: 5431 },
    },
    'helix-video-2020.json': {
      vodId: '600123456',
      channel: 'oldtimer',
      channelId: '909090',
      layout: 'helix-video',
      range: { from: 0, to: 3601 },
    },
    'legacy-2021.json': {
      vodId: '1033333333', // from the comments' content_id: the 2020–2022 video has no id
      channel: 'legacystreamer',
      layout: 'legacy',
      startMs: Date.parse('2021-06-05T15:00:00Z'), // from the comments' created_at − offset
      skipped: 1,
      range: { from: 0, to: 1801 },
    },
    'no-fileinfo-2022.json': {
      vodId: '1766666666',
      channel: 'nostalgia_nook',
      channelId: '60600606', // a stringified streamer.id
      layout: 'legacy',
      range: { from: 0, to: 401 },
    },
    'no-streamer.json': { vodId: '2044444444', channel: 'badgehost', channelId: '808080' },
    'utf16le.json': { vodId: '2088888888', channel: 'widechannel' },
  };

  it.each(CHAT_FILES)('%s read alone yields exactly its expected presence', async (file) => {
    const chat = await readTwitchDownloaderChat(join(CORPUS, file));
    expect(chat).toMatchObject(SHAPES[file]!);
    if (file === '2022222222.json') {
      // after the trimmed part: exactly what it lacked; alone: the part's rows and its own, summed
      expect(chat.presenceOutside([TRIM]).records).toEqual(rowsOf(file));
      expect(chat.records).toEqual(sumRows([...rowsOf('2022222222-trim.json'), ...rowsOf(file)]));
    } else expect(chat.records).toEqual(rowsOf(file));
    expect(await isTwitchDownloaderChatFile(join(CORPUS, file))).toBe(true);
  });

  it('a clip is stored at the VOD start + offset, not hours or days late', async () => {
    const chat = await readTwitchDownloaderChat(join(CORPUS, 'clip-SpicyTameOtterKappa.json'));
    expect(chat.records.map((r) => [r.viewer, new Date(r.ts).toISOString(), r.messages])).toEqual([
      ['kenji', '2026-11-18T21:30:00.000Z', 1],
      ['mira', '2026-11-18T21:30:00.000Z', 1],
      ['pog_fan', '2026-11-18T21:30:00.000Z', 2],
    ]);
    // without comment timestamps the VOD start must come from elsewhere (Helix), never the clip time
    const text = (await readFile(join(CORPUS, 'clip-SpicyTameOtterKappa.json'), 'utf8')).replace(
      /"created_at":"2026-11-18T[^"]*"/g,
      '"created_at":"0001-01-01T00:00:00"',
    );
    const dir = await mkdtemp(join(tmpdir(), 'va-clip-'));
    try {
      const p = join(dir, 'clip.json');
      await writeFile(p, text);
      await expect(readTwitchDownloaderChat(p)).rejects.toThrow(
        /clip\.json: a clip download .* the VOD start is unknown/,
      );
      const withStart = await readTwitchDownloaderChat(p, { vodStartMs: Date.parse('2026-11-18T20:00:00Z') });
      expect(withStart.records.map((r) => new Date(r.ts).toISOString())).toEqual([
        '2026-11-18T21:30:00.000Z',
        '2026-11-18T21:30:00.000Z',
        '2026-11-18T21:30:00.000Z',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a trimmed download, then the full one: the second adds exactly what was missing; again: nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'va-trim-'));
    const storage = new FsStorage(dir);
    try {
      const trim = await importTwitchChatFile(storage, join(CORPUS, '2022222222-trim.json'));
      expect(trim.stored).not.toBeNull();
      const full = await importTwitchChatFile(storage, join(CORPUS, '2022222222.json'));
      expect(full.stored).toContain(
        'raw/presence/source=vod/dt=2026-11-19/hour=20/vod-2022222222-part2.jsonl',
      );
      const stored = await readAllPresence(storage);
      expect(stored).toEqual(
        [...rowsOf('2022222222-trim.json'), ...rowsOf('2022222222.json')].map(asStored).sort(byTsViewer),
      );
      // every comment once: the stored messages add up to the full file's comments
      expect(stored.reduce((n, r) => n + r.messages!, 0)).toBe(full.chat.comments);
      const marker = await readVodMarker(storage, '2022222222');
      expect(marker).toMatchObject({ ranges: [[0, null]], comments: 10 });
      expect(marker!.parts!.map((p) => [p.range, p.comments])).toEqual([
        [[600, 1201], 5],
        [[0, null], 5],
      ]);
      const before = await snapshot(storage);
      expect((await importTwitchChatFile(storage, join(CORPUS, '2022222222.json'))).stored).toBeNull();
      expect((await importTwitchChatFile(storage, join(CORPUS, '2022222222-trim.json'))).stored).toBeNull();
      expect(await snapshot(storage)).toEqual(before);
    } finally {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a part whose writing a crash interrupted is removed before the next part is written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'va-pending-'));
    const storage = new FsStorage(dir);
    try {
      await importTwitchChatFile(storage, join(CORPUS, '2022222222-trim.json'));
      // as a crash leaves it: the marker lists keys of part 2, one of them already written
      const marker = (await readVodMarker(storage, '2022222222'))!;
      const torn = 'raw/presence/source=vod/dt=2026-11-19/hour=23/vod-2022222222-part2.jsonl';
      await storage.put(LAYOUT.vodIngested('2022222222'), JSON.stringify({ ...marker, pending: [torn] }));
      await storage.put(
        torn,
        '{"channel":"trim_town","viewer":"ghost","ts":"2026-11-19T23:00:00Z","source":"vod"}\n',
      );
      await importTwitchChatFile(storage, join(CORPUS, '2022222222.json'));
      expect(await storage.exists(torn)).toBe(false);
      expect((await readAllPresence(storage)).map((r) => r.viewer)).not.toContain('ghost');
      expect((await readVodMarker(storage, '2022222222'))!.pending).toBeUndefined();
    } finally {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('every corpus file end to end through `vieweratlas vod --vod-raw DIR` (CLI defaults): exactly the expected presence, once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'va-corpus-'));
    try {
      const raw = join(dir, 'vod_raw');
      await mkdir(raw);
      for (const f of CHAT_FILES) await copyFile(join(CORPUS, f), join(raw, f));
      const args = ['vod', '--vod-raw', raw, '--data', join(dir, 'data')];
      const env = { TWITCH_CLIENT_ID: '', TWITCH_CLIENT_SECRET: '' };
      const first = await runCli(args, env);
      expect(first.err).not.toMatch(/vieweratlas: /);
      expect(first.code).toBe(0);
      expect(first.out).toMatch(
        new RegExp(
          `^vod: ${CHAT_FILES.length} files ingested \\(${EXPECTED_ROWS.length} presence records\\), 0 already ingested, 0 downloaded → `,
        ),
      );
      const storage = new FsStorage(join(dir, 'data'));
      const want = EXPECTED_ROWS.map(({ file: _f, ...r }) => asStored(r)).sort(
        (a, b) => byTsViewer(a, b) || (a.vod_id! < b.vod_id! ? -1 : 1),
      );
      const sortAll = (rows: PresenceRecord[]) =>
        rows.sort((a, b) => byTsViewer(a, b) || (a.vod_id! < b.vod_id! ? -1 : 1));
      expect(sortAll(await readAllPresence(storage))).toEqual(want);
      expect(await readVodMarker(storage, '2011111111')).toMatchObject({
        start: '2026-11-18T20:00:00.000Z',
        ranges: [[5400, 5431]],
      });
      // the files stay (vod.raw_after_ingest: auto = keep without pseudonymisation)
      expect(readdirSync(raw).sort()).toEqual(CHAT_FILES);
      const before = await snapshot(storage);
      const second = await runCli(args, env);
      expect(second.code).toBe(0);
      expect(second.out).toMatch(
        /^vod: 0 files ingested \(0 presence records\), 10 already ingested, 0 downloaded/,
      );
      expect(await snapshot(storage)).toEqual(before);
      await storage.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---- VOD operations: the queue in storage, filters, what becomes of the chat files ----

describe('VOD queue: attempts, backoff, resume after a crash', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'va-vodq-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('backoff doubles with each failed attempt; the entry is given up after max_attempts', () => {
    const retry = { maxAttempts: 3, backoffSeconds: 600 };
    const q = { version: 1 as const, entries: [] };
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const [e] = enqueueVods(q, [{ id: '42' }], t0);
    const waits: number[] = [];
    for (let a = 1; a <= 3; a++) {
      e!.attempts = a;
      recordFailure(e!, 'boom', t0, retry);
      if (e!.state === 'pending') waits.push(nextAttemptAt(e!, retry) - t0);
    }
    expect(waits).toEqual([600_000, 1_200_000]);
    expect(e).toMatchObject({ state: 'failed', attempts: 3, last_error: 'boom' });
    expect(dueEntries(q, t0 + 10 * 86_400_000, retry)).toEqual([]);
  });

  it('a crash mid-queue resumes: the done download is not fetched again, the interrupted one is retried once', async () => {
    const [a, b, c] = ['3100000001', '3100000002', '3100000003'];
    const raw = join(dir, 'crash-raw');
    const data = join(dir, 'crash-data');
    const args = ['vod', '--vod', a, b, c, '--vod-raw', raw, '--data', data];
    const env = { VIEWERATLAS_VOD_DOWNLOADER: STANDIN, TWITCHDOWNLOADER_STANDIN_CRASH: b };
    const first = await runCli(args, env);
    expect(first.code).not.toBe(0); // killed by the stand-in while downloading b
    const storage = new FsStorage(data);
    const states = async () =>
      Object.fromEntries((await loadVodQueue(storage)).entries.map((e) => [e.vod_id, [e.state, e.attempts]]));
    expect(await states()).toEqual({ [a]: ['ingesting', 1], [b]: ['downloading', 1], [c]: ['pending', 0] });

    const second = await runCli(args, { ...env, TWITCHDOWNLOADER_STANDIN_CRASH: '' });
    expect(second.code).toBe(0);
    expect(second.out).toMatch(
      /^vod: 3 files ingested \(\d+ presence records\), 0 already ingested, 2 downloaded/,
    );
    expect(await states()).toEqual({ [a]: ['done', 1], [b]: ['done', 1], [c]: ['done', 1] });
    for (const id of [a, b, c]) expect(await storage.exists(LAYOUT.vodIngested(id))).toBe(true);
    await storage.close();
  });

  it('after max_attempts failures a VOD is given up; naming it with --vod queues it again', async () => {
    const raw = join(dir, 'giveup-raw');
    const storage = new FsStorage(join(dir, 'giveup-data'));
    const config = loadConfig({
      overrides: { vod: { downloader: STANDIN, max_attempts: 2, retry_backoff_seconds: 0 } },
    });
    const failing = { ...process.env, TWITCHDOWNLOADER_STANDIN_FAIL: '3200000001' };
    const run = (vodIds?: string[], env = failing) => runVod(config, { storage, rawDir: raw, vodIds, env });
    const r1 = await run(['3200000001']);
    expect([r1.failed.length, r1.gaveUp]).toEqual([1, []]);
    const r2 = await run(); // the queue alone drives it
    expect(r2.gaveUp).toEqual(['3200000001']);
    const r3 = await run();
    expect([r3.failed, r3.downloaded, r3.waiting]).toEqual([[], [], []]);
    expect((await loadVodQueue(storage)).entries[0]).toMatchObject({ state: 'failed', attempts: 2 });
    const r4 = await run(['3200000001'], { ...process.env, TWITCHDOWNLOADER_STANDIN_FAIL: '' });
    expect(r4.downloaded).toEqual(['3200000001']);
    expect(r4.ingested.map((f) => f.vodId)).toEqual(['3200000001']);
    expect((await loadVodQueue(storage)).entries[0]).toMatchObject({ state: 'done', attempts: 1 });
    await storage.close();
  });
});

describe('VOD filters (min_views, max_age_days, max_per_channel) against the local Helix', () => {
  const CLIENT_ID = 'vodf-client';
  const SECRET = 'vodf-secret';
  let hs: HelixServer;
  let dir: string;
  beforeAll(async () => {
    hs = await startHelixServer({
      channels: [
        { name: 'alpha', language: 'en', game: 'Chess', viewerCount: 500 },
        { name: 'beta', language: 'de', game: 'Art', viewerCount: 300 },
      ],
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      videosPerChannel: 6,
    });
    dir = await mkdtemp(join(tmpdir(), 'va-vodf-'));
  });
  afterAll(async () => {
    await hs.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('queues only recent VODs with enough views, at most max_per_channel each; old queued ones expire', async () => {
    const views = (id: string) => 100 + (Number(id) % 5000); // what the sim's Helix reports
    const all = [...hs.sim.videosOf('alpha'), ...hs.sim.videosOf('beta')];
    const minViews = [...all.map((v) => views(v.id))].sort((x, y) => x - y)[Math.floor(all.length / 3)]!;
    const now = Math.max(...all.map((v) => v.createdAt)) + 3_600_000;
    const config = loadConfig({
      overrides: {
        vod: {
          downloader: '/nonexistent/TwitchDownloaderCLI',
          min_views: minViews,
          max_per_channel: 2,
          max_age_days: 5,
        },
      },
    });
    const storage = new FsStorage(join(dir, 'data'));
    const env = { TWITCH_CLIENT_ID: CLIENT_ID, TWITCH_CLIENT_SECRET: SECRET };
    const s = await runVod(config, {
      storage,
      rawDir: join(dir, 'raw'),
      channels: ['alpha', 'beta'],
      helixUrl: hs.helixUrl,
      authUrl: hs.helixUrl.replace(/\/helix$/, '/oauth2'),
      env,
      now,
    });
    const want: string[] = [];
    let below = 0;
    for (const login of ['alpha', 'beta']) {
      const recent = hs.sim.videosOf(login).filter((v) => v.createdAt >= now - 5 * 86_400_000);
      // newest first, until two are kept: the ones passed over on the way were too little watched
      let kept = 0;
      for (const v of recent) {
        if (kept === 2) break;
        if (views(v.id) < minViews) below++;
        else {
          want.push(v.id);
          kept++;
        }
      }
    }
    expect(want.length).toBeGreaterThan(0);
    expect(s.belowMinViews).toBe(below);
    expect(below).toBeGreaterThan(0);
    const queue = await loadVodQueue(storage);
    expect(queue.entries.map((e) => e.vod_id)).toEqual(want);
    for (const e of queue.entries) expect(e.view_count).toBeGreaterThanOrEqual(minViews);
    expect(s.downloadsSkipped).toEqual(want); // no TwitchDownloaderCLI: they stay pending

    // ten days later the pending ones are past max_age_days: dropped, not downloaded
    const later = await runVod(config, {
      storage,
      rawDir: join(dir, 'raw'),
      env,
      now: now + 10 * 86_400_000,
    });
    expect(later.expired).toEqual(want);
    expect(later.downloadsSkipped).toEqual([]);
    expect((await loadVodQueue(storage)).entries.every((e) => e.state === 'expired')).toBe(true);
    await storage.close();
  });
});

describe('raw chat files after ingestion (vod.raw_after_ingest)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'va-vodraw-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const setUp = async (name: string) => {
    const raw = join(dir, `${name}-raw`);
    await mkdir(raw, { recursive: true });
    await copyFile(FIXTURE, join(raw, '1984567890.json'));
    await writeFile(join(raw, '1111.json'), '{"streamer":{"name":"x","id":1},"comments":[');
    return { raw, storage: new FsStorage(join(dir, `${name}-data`)) };
  };

  it('pseudonymisation on: deleted by default once ingested; a file that failed stays', async () => {
    const { raw, storage } = await setUp('auto');
    const config = loadConfig({ overrides: { privacy: { pseudonymize: true } } });
    const s = await runVod(config, { storage, rawDir: raw, env: { VIEWERATLAS_PSEUDONYM_KEY: 'k' } });
    expect(s.rawAfterIngest).toBe('delete');
    expect(s.deleted).toEqual([join(raw, '1984567890.json')]);
    expect(readdirSync(raw)).toEqual(['1111.json']);
    expect(s.ingested.map((f) => f.vodId)).toEqual(['1984567890']);
    await storage.close();
  });

  it('move: the file goes into storage byte for byte and leaves the folder; keep: it stays', async () => {
    const moved = await setUp('move');
    const config = loadConfig({ overrides: { vod: { raw_after_ingest: 'move' } } });
    const s = await runVod(config, { storage: moved.storage, rawDir: moved.raw, env: {} });
    expect(s.moved).toEqual([join(moved.raw, '1984567890.json')]);
    expect(readdirSync(moved.raw)).toEqual(['1111.json']);
    expect(Buffer.from((await moved.storage.get(archivedRawKey('1984567890.json')))!)).toEqual(
      await readFile(FIXTURE),
    );
    await moved.storage.close();

    const kept = await setUp('keep');
    const keepConfig = loadConfig({
      overrides: { privacy: { pseudonymize: true }, vod: { raw_after_ingest: 'keep' } },
    });
    const k = await runVod(keepConfig, {
      storage: kept.storage,
      rawDir: kept.raw,
      env: { VIEWERATLAS_PSEUDONYM_KEY: 'k' },
    });
    expect([k.moved, k.deleted]).toEqual([[], []]);
    expect(readdirSync(kept.raw).sort()).toEqual(['1111.json', '1984567890.json']);
    await kept.storage.close();
  });
});
