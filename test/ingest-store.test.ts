import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PRESENCE_ROW_GROUP_ROWS, stagePresence, storePresence } from '../src/ingest/import.js';
import {
  compactRaw,
  encodeMetadataLine,
  encodePresenceLine,
  importFiles,
  loadMetadataFromStorage,
  loadPresenceFromStorage,
} from '../src/ingest/index.js';
import { planParts } from '../src/ingest/presence-parts-decode.js';
import { PresenceBuilder, pushRecord } from '../src/ingest/presence-rows.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { pseudonym } from '../src/privacy/pseudonymize.js';
import { queryRows, sqlPathList, sqlString, withDuckDB } from '../src/storage/duckdb.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { LAYOUT } from '../src/storage/layout.js';
import type { Storage } from '../src/storage/storage.js';

const FX = join(import.meta.dirname, 'fixtures', 'ingest');
const fx = (name: string) => join(FX, name);
const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const T = Date.parse('2026-11-24T13:05:00Z');
const HOUR = 3_600_000;

/** Sorted "channel|viewer|iso|messages" strings: order-free comparison of tables. */
function keyed(t: PresenceTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    out.push(
      `${t.channelNames[t.channel[i] as number]}|${t.viewerNames[t.viewer[i] as number]}|${new Date(t.ts[i] as number).toISOString()}|${t.messages[i]}`,
    );
  }
  return out.sort();
}

let dir: string;
let s: FsStorage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'va-ingest-store-'));
  s = new FsStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('stagePresence', () => {
  it('adds the kind, VOD and Twitch-id columns when a later batch first needs them; earlier rows are chat, none', async () => {
    const rowsOf = (batch: number) =>
      Array.from({ length: 50 }, (_, i) => ({
        channel: `c${i % 3}`,
        viewer: `v${batch}_${i}`,
        ts: Date.parse('2026-11-24T10:00:00Z') + i * 60_000,
        source: 'vod' as const,
        messages: 1 + (i % 4),
        ...(batch === 1 && i === 7 ? { kind: 'membership' } : {}),
        ...(batch === 2 && i % 10 === 0 ? { vod_id: `${900 + i}` } : {}),
        ...(batch === 3 && i === 3 ? { viewer_id: '4711' } : {}),
      }));
    const keys = await withDuckDB(async (conn) => {
      const { app, batch } = await stagePresence(conn);
      const b = new PresenceBuilder({ extras: true });
      try {
        for (const k of [0, 1, 2, 3]) {
          for (const r of rowsOf(k)) pushRecord(b, r);
          await batch(b);
        }
      } finally {
        app.close();
      }
      expect(app.rows).toBe(200);
      return storePresence(conn, s, b, 'test', undefined);
    });
    const got = await withDuckDB((c) =>
      queryRows(
        c,
        `SELECT viewer, kind, vod_id, viewer_id, messages FROM read_parquet(${sqlPathList(keys.map((k) => join(dir, k)))}) ORDER BY viewer`,
      ),
    );
    expect(got).toHaveLength(200);
    const byViewer = new Map(got.map((r) => [r.viewer as string, r]));
    for (const k of [0, 1, 2, 3])
      for (const r of rowsOf(k)) {
        const row = byViewer.get(r.viewer);
        expect(row?.kind).toBe(r.kind ?? 'chat');
        expect(row?.vod_id ?? undefined).toBe(r.vod_id);
        expect(row?.viewer_id ?? undefined).toBe(r.viewer_id);
        expect(Number(row?.messages)).toBe(r.messages);
      }
  });
});

describe('importFiles', () => {
  it('stores presence as Hive-partitioned Parquet that DuckDB reads with hive_partitioning', async () => {
    const sum = await importFiles(s, [fx('presence.csv')]);
    expect(sum.failed).toBe(0);
    expect(sum.files[0]).toMatchObject({ kind: 'presence', ok: true, rowsRead: 6, rejectedCount: 4 });
    const keys = (await s.list('presence/')).map((e) => e.key);
    expect(keys).toEqual(sum.files[0]?.stored.slice().sort());
    // parts as import writes them are the ones the storage read decodes itself
    expect(await planParts(keys.map((k) => join(dir, k)))).toMatchObject({ rows: 6 });
    expect(
      keys.every((k) =>
        /^presence\/source=(live|vod|import)\/dt=2026-11-24\/part-imp-[0-9a-f]{12}-\d+\.parquet$/.test(k),
      ),
    ).toBe(true);
    const rows = await withDuckDB((c) =>
      queryRows(
        c,
        `SELECT source, dt::VARCHAR AS dt, count(*)::INT AS n, sum(messages)::INT AS m, min(ts)::VARCHAR AS first
         FROM read_parquet(${sqlString(join(dir, 'presence', '**', '*.parquet'))}, hive_partitioning = true)
         GROUP BY ALL ORDER BY source`,
      ),
    );
    expect(rows).toEqual([
      // An empty source cell means "import".
      { source: 'import', dt: '2026-11-24', n: 2, m: 2, first: '2026-11-24 13:05:00' },
      { source: 'live', dt: '2026-11-24', n: 3, m: 5, first: '2026-11-24 13:05:00' },
      { source: 'vod', dt: '2026-11-24', n: 1, m: 1, first: '2026-11-24 13:05:00' },
    ]);
    // What analyze gets back from storage equals what the file reader gives.
    const back = await loadPresenceFromStorage(s);
    expect(back.rowsRead).toBe(6);
    expect(keyed(back.table)).toEqual([
      'pokimane|eve, the second|2026-11-24T13:05:00.000Z|1',
      'shroud|o"brien|2026-11-24T13:05:00.000Z|2',
      'xqc|alice|2026-11-24T13:05:00.000Z|3',
      'xqc|bob|2026-11-24T13:05:00.000Z|1',
      'xqc|frank|2026-11-24T13:20:00.250Z|0',
      'xqc|grace|2026-11-24T13:25:00.000Z|1',
    ]);
  });

  it("writes row groups of up to PRESENCE_ROW_GROUP_ROWS rows, past DuckDB's 122,880", async () => {
    // 600,000 rows of one day and source: one part, several row groups
    const lines = ['channel,viewer,ts,source,messages'];
    for (let i = 0; i < 600_000; i++)
      lines.push(`c${i % 997},v${Math.floor(i / 3)},${new Date(T + (i % 600) * 1000).toISOString()},live,1`);
    const file = join(dir, 'many.csv');
    await writeFile(file, `${lines.join('\n')}\n`);
    const sum = await importFiles(s, [file]);
    expect(sum.files[0]).toMatchObject({ ok: true, rowsRead: 600_000 });
    const keys = (await s.list('presence/')).map((e) => e.key);
    const planned = await planParts(keys.map((k) => join(dir, k)));
    if ('why' in planned) throw new Error(planned.why);
    expect(planned.rows).toBe(600_000);
    const sizes = planned.plans.flatMap((p) => p.rowGroups.map((g) => g.rows));
    expect(Math.max(...sizes)).toBeGreaterThan(122_880);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(PRESENCE_ROW_GROUP_ROWS);
  });

  it('loads through downloads when the driver has no local paths (as on S3)', async () => {
    await importFiles(s, [fx('presence.csv'), fx('metadata.csv')], { now: T });
    // Same objects, but the driver offers no local file: the loaders must fetch them.
    const remote: Storage = Object.assign(Object.create(s) as FsStorage, { localPath: () => undefined });
    const back = await loadPresenceFromStorage(remote);
    expect(keyed(back.table)).toEqual(keyed((await loadPresenceFromStorage(s)).table));
    expect(back.rowsRead).toBe(6);
    expect((await loadMetadataFromStorage(remote)).map((m) => m.channel)).toEqual([
      'auronplay',
      'shroud',
      'xqc',
    ]);
  });

  it('re-importing the same file overwrites its parts instead of duplicating', async () => {
    await importFiles(s, [fx('presence.csv')]);
    await importFiles(s, [fx('presence.csv')]);
    expect((await loadPresenceFromStorage(s)).rowsRead).toBe(6);
  });

  it('pseudonymises viewers before storing', async () => {
    const p = (login: string) => pseudonym('k3y', login);
    await importFiles(s, [fx('presence.jsonl')], { pseudonymize: p });
    const t = (await loadPresenceFromStorage(s)).table;
    expect(t.viewerNames.slice().sort()).toEqual([p('alice'), p('bob'), p('carol')].sort());
    expect(t.channelNames.slice().sort()).toEqual(['shroud', 'xqc']);
  });

  it('stores metadata, edge lists and node files; a bad file stores nothing while good ones are imported', async () => {
    const sum = await importFiles(
      s,
      [fx('metadata.csv'), fx('edges-negative.csv'), fx('edges.csv'), fx('nodes.csv')],
      {
        now: T,
      },
    );
    expect(sum.files.map((f) => [f.kind, f.ok, f.rowsRead])).toEqual([
      ['metadata', true, 3],
      ['edges', false, 0],
      ['edges', true, 4],
      ['nodes', true, 5],
    ]);
    expect(sum.failed).toBe(1);
    expect(sum.files[1]?.error).toMatch(/edges-negative\.csv:3: negative weight -3/);
    expect((await s.list('')).map((e) => e.key).filter((k) => !k.startsWith('state/import/'))).toEqual([
      'graphs/edges/edges.parquet',
      'graphs/edges/nodes.parquet',
      expect.stringMatching(/^metadata\/dt=2026-11-24\/part-imp-[0-9a-f]{12}\.parquet$/),
    ]);
    const meta = await loadMetadataFromStorage(s);
    expect(meta.map((m) => m.channel)).toEqual(['auronplay', 'shroud', 'xqc']);
    expect(meta[2]).toEqual({
      channel: 'xqc',
      language: 'en',
      game: 'Just Chatting',
      viewer_count: 52000,
      observed_at: T,
    });
    const edges = await withDuckDB((c) =>
      queryRows(c, `SELECT * FROM read_parquet(${sqlString(join(dir, 'graphs/edges/edges.parquet'))})`),
    );
    expect(edges[2]).toEqual({ source: 'b', target: 'c', weight: 7.5 });
  });

  it('imports the real 2021 edge list and node file', async () => {
    const sum = await importFiles(s, [
      join(DATA, 'twitch-atlas-2021-10-edges.csv'),
      join(DATA, 'twitch-atlas-2021-10-channels.csv'),
    ]);
    expect(sum.files.map((f) => [f.kind, f.rowsRead])).toEqual([
      ['edges', 82_275],
      ['nodes', 2_200],
    ]);
    expect(sum.files[1]?.stored).toEqual(['graphs/twitch-atlas-2021-10-edges/nodes.parquet']);
  });
});

describe('compactRaw', () => {
  async function writeRaw(collector: string, hourOffset: number, viewers: string[], torn = false) {
    const ts = T + hourOffset * HOUR;
    const key = LAYOUT.rawPresence('live', ts, collector);
    for (const v of viewers)
      await s.append(key, encodePresenceLine({ channel: 'xqc', viewer: v, ts, source: 'live', messages: 2 }));
    if (torn) await s.append(key, '{"channel":"xqc","viewer":"tor');
    return key;
  }

  it('compacts closed hours, skips a torn last line, leaves the open hour, and is idempotent', async () => {
    const closed = await writeRaw('c1', 0, ['a', 'b', 'c'], true);
    await writeRaw('c2', 0, ['d']);
    const open = await writeRaw('c1', 2, ['e']);
    await s.append(
      LAYOUT.rawMetadata(T, 'c1'),
      encodeMetadataLine({ channel: 'xqc', game: 'Chess', observed_at: T }),
    );
    const now = T + 2 * HOUR; // hour 15 is open, 13 is closed
    // Before compaction the loader already sees raw rows (torn line skipped and counted).
    const before = await loadPresenceFromStorage(s);
    expect(before.rowsRead).toBe(5);
    expect(before.rejected.some((r) => r.file === closed && /torn/.test(r.reason))).toBe(true);

    const first = await compactRaw(s, { now });
    expect(first).toMatchObject({
      filesCompacted: 3,
      filesOpen: 1,
      presenceRows: 4,
      metadataRows: 1,
      tornLines: 1,
    });
    expect(await s.exists(closed)).toBe(false);
    expect(await s.exists(open)).toBe(true);
    const after = await loadPresenceFromStorage(s);
    expect(keyed(after.table)).toEqual(keyed(before.table));
    // and so are compaction's
    const parts = (await s.list(LAYOUT.presencePrefix)).filter((e) => e.key.endsWith('.parquet'));
    expect(await planParts(parts.map((e) => join(dir, e.key)))).toMatchObject({ rows: 4 });

    const second = await compactRaw(s, { now });
    expect(second).toMatchObject({ filesCompacted: 0, filesOpen: 1, presenceRows: 0 });
    expect((await loadPresenceFromStorage(s)).rowsRead).toBe(5);
    expect((await loadMetadataFromStorage(s)).map((m) => m.game)).toEqual(['Chess']);
  });

  it('a crash after writing the part but before deleting the raw object never duplicates rows', async () => {
    const key = await writeRaw('c1', 0, ['a', 'b']);
    const bytes = (await s.get(key)) as Uint8Array;
    await compactRaw(s, { now: T + 3 * HOUR });
    // Simulate the crash: the raw object is back, the part is already stored.
    await s.put(key, bytes);
    const again = await compactRaw(s, { now: T + 3 * HOUR });
    expect(again.filesCompacted).toBe(1);
    expect((await s.list('presence/')).length).toBe(1);
    expect((await loadPresenceFromStorage(s)).rowsRead).toBe(2);
  });

  it('keeps a raw object whose lines are all unreadable and drops one holding only a torn line', async () => {
    const bad = LAYOUT.rawPresence('vod', T, 'garbage');
    await s.append(bad, 'not json\nstill not json\n');
    const tornOnly = LAYOUT.rawPresence('vod', T, 'torn');
    await s.append(tornOnly, '{"channel":"x');
    const r = await compactRaw(s, { now: T + 3 * HOUR });
    expect(r).toMatchObject({ filesUnreadable: 1, filesCompacted: 1, tornLines: 1, rejectedCount: 2 });
    expect(r.rejected[0]).toMatchObject({ file: bad, line: 1 });
    expect(await s.exists(bad)).toBe(true);
    expect(await s.exists(tornOnly)).toBe(false);
  });

  it('loads with window pruning and errors clearly on empty storage', async () => {
    await expect(loadPresenceFromStorage(s)).rejects.toThrow(/no presence in storage/);
    await writeRaw('c1', 0, ['a']);
    await writeRaw('c1', 30, ['b']);
    await compactRaw(s, { now: T + 40 * HOUR });
    const r = await loadPresenceFromStorage(s, { windowStart: T + 24 * HOUR });
    expect(keyed(r.table)).toEqual(['xqc|b|2026-11-25T19:05:00.000Z|2']);
  });
});
