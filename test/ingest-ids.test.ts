/**
 * Stable Twitch ids through the reading side (issue 10 item 1): every presence reader keys
 * viewers and channels by `viewer_id` / `channel_id` when a row has them (login as fallback), a
 * channel's name is its latest login, a renamed account counts once, a login Twitch gave to a
 * new account counts as two, and pseudonymisation hashes the ids as well as the logins.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../src/analysis/aggregate.js';
import { stagePresence, storePresence } from '../src/ingest/import.js';
import {
  compactRaw,
  decodePresenceLine,
  encodePresenceLine,
  importFiles,
  loadPresenceFromStorage,
  readPresenceFiles,
} from '../src/ingest/index.js';
import { PresenceBuilder, pushRecord } from '../src/ingest/presence-rows.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import type { PresenceRecord } from '../src/model/records.js';
import { createPseudonymizer, pseudonym, pseudonymizeRecord } from '../src/privacy/pseudonymize.js';
import { queryRows, sqlString, withDuckDB } from '../src/storage/duckdb.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { LAYOUT } from '../src/storage/layout.js';

const T = Date.parse('2026-11-24T13:00:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The scenario, as records:
 * - channel id 100 streams as `oldname`, then renames to `newname` (one channel, named `newname`);
 * - channel login `reused` belongs to id 200, later Twitch gives it to id 201 (two channels);
 * - viewer id 1 chats as `alice`, renames to `alice2` (one viewer);
 * - viewer login `bob` is id 5, later id 6 (two viewers);
 * - `carol` has no id at all (login fallback) — and `dave` has an id in one row and none in another:
 *   the row without joins the id whose latest login it is.
 */
function scenario(): PresenceRecord[] {
  const r: PresenceRecord[] = [];
  const add = (
    channel: string,
    channel_id: string,
    viewer: string,
    viewer_id: string | undefined,
    t: number,
  ) =>
    r.push({
      channel,
      channel_id,
      viewer,
      ...(viewer_id ? { viewer_id } : {}),
      ts: T + t * MIN,
      source: 'live',
    });
  for (const [ch, cid, t0] of [
    ['oldname', '100', 0],
    ['newname', '100', 30],
    ['reused', '200', 0],
    ['reused', '201', 60],
  ] as const) {
    add(ch, cid, t0 < 30 ? 'alice' : 'alice2', '1', t0);
    add(ch, cid, 'bob', t0 < 30 ? '5' : '6', t0 + 1);
    add(ch, cid, 'carol', undefined, t0 + 2);
    add(ch, cid, 'dave', '9', t0 + 3);
    add(ch, cid, 'dave', undefined, t0 + 4);
  }
  return r;
}

/** channel name → sorted viewer names, through aggregate with the CLI defaults except min_viewers. */
function audiences(t: PresenceTable): Record<string, string[]> {
  const a = aggregate(t, { minViewers: 1 });
  const out: Record<string, string[]> = {};
  a.channelNames.forEach((name, c) => {
    const vs: string[] = [];
    for (let i = a.offsets[c] as number; i < (a.offsets[c + 1] as number); i++)
      vs.push(
        `${t.viewerNames[a.viewers[i] as number]}${t.viewerTwitchIds?.[a.viewers[i] as number] ? `@${t.viewerTwitchIds[a.viewers[i] as number]}` : ''}`,
      );
    out[name] = vs.sort();
  });
  return out;
}

/** What every reader must produce from `scenario()`. */
const EXPECTED = {
  // id 100: both logins' rows, under its latest login; alice/alice2 is one viewer (latest: alice2).
  newname: ['alice2@1', 'bob@5', 'bob@6', 'carol', 'dave@9'],
  // the login's newer owner keeps the plain name, the older one is told apart by its id
  reused: ['alice2@1', 'bob@6', 'carol', 'dave@9'],
  'reused#200': ['alice2@1', 'bob@5', 'carol', 'dave@9'],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'va-ingest-ids-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const csvOf = (recs: PresenceRecord[]) =>
  `channel,channel_id,viewer,viewer_id,ts,source\n${recs
    .map(
      (r) => `${r.channel},${r.channel_id ?? ''},${r.viewer},${r.viewer_id ?? ''},${iso(r.ts)},${r.source}`,
    )
    .join('\n')}\n`;

describe('presence readers key by Twitch id', () => {
  it('CSV: a renamed channel and viewer count once, a reused login counts twice', async () => {
    const p = join(dir, 'ids.csv');
    await writeFile(p, csvOf(scenario()));
    const r = await readPresenceFiles([p]);
    expect(audiences(r.table)).toEqual(EXPECTED);
    const a = aggregate(r.table, { minViewers: 1 });
    expect(a.counts.channelsKept).toBe(3);
    expect(a.counts.viewers).toBe(5); // alice2, bob@5, bob@6, carol, dave
    // Channel ids come along with the names.
    const ids = Object.fromEntries(r.table.channelNames.map((n, i) => [n, r.table.channelTwitchIds?.[i]]));
    expect(ids).toMatchObject({ newname: '100', reused: '201', 'reused#200': '200' });
  });

  it('CSV read by two threads merges the id keys and latest logins the same way', async () => {
    // Enough rows that the split lands inside the file: the scenario repeated at later times.
    const recs: PresenceRecord[] = [];
    for (let k = 0; k < 400; k++) for (const r of scenario()) recs.push({ ...r, ts: r.ts + k * 1000 });
    // A rename that happens only in the second half: the worker's login must win the merge.
    recs.push({
      channel: 'newest',
      channel_id: '100',
      viewer: 'zed',
      viewer_id: '77',
      ts: T + 999 * MIN,
      source: 'live',
    });
    const p = join(dir, 'ids-big.csv');
    await writeFile(p, csvOf(recs));
    const one = await readPresenceFiles([p], { threads: 1 });
    const two = await readPresenceFiles([p], { threads: 2, parallelMinBytes: 1 });
    expect(two.filesReadInParallel).toBe(1);
    expect(audiences(two.table)).toEqual(audiences(one.table));
    expect(Object.keys(audiences(two.table)).sort()).toEqual(['newest', 'reused', 'reused#200']);
  });

  it('JSON Lines: the same, and the raw line format round-trips the ids', async () => {
    const recs = scenario();
    const line = encodePresenceLine(recs[0] as PresenceRecord);
    expect(JSON.parse(line)).toMatchObject({ viewer_id: '1', channel_id: '100' });
    expect(decodePresenceLine(line)).toEqual(recs[0]);
    expect(
      decodePresenceLine('{"channel":"a","viewer":"b","ts":1764547200000,"source":"live","viewer_id":12}'),
    ).toMatchObject({
      viewer_id: '12',
    });
    expect(
      decodePresenceLine('{"channel":"a","viewer":"b","ts":1764547200000,"source":"live","viewer_id":"1 2"}'),
    ).toMatch(/bad "viewer_id"/);
    const p = join(dir, 'ids.jsonl');
    await writeFile(p, recs.map(encodePresenceLine).join(''));
    expect(audiences((await readPresenceFiles([p])).table)).toEqual(EXPECTED);
  });

  it('Parquet: the same (ids as text or numbers; long values through the slow path)', async () => {
    const csv = join(dir, 'for-parquet.csv');
    await writeFile(csv, csvOf(scenario()));
    const p = join(dir, 'ids.parquet');
    const pLong = join(dir, 'ids-long.parquet');
    await withDuckDB(async (c) => {
      await c.run(
        `COPY (SELECT channel, channel_id::BIGINT AS channel_id, viewer, viewer_id, ts FROM read_csv(${sqlString(csv)}, all_varchar = true)) TO ${sqlString(p)} (FORMAT parquet)`,
      );
      // Ids and logins longer than 12 bytes are not inlined by DuckDB.
      await c.run(
        `COPY (SELECT channel || '_long_login_x' AS channel, 'chan-id-long-' || channel_id AS channel_id, viewer || '_long_login_y' AS viewer, CASE WHEN viewer_id <> '' THEN 'viewer-id-long-' || viewer_id END AS viewer_id, ts FROM read_csv(${sqlString(csv)}, all_varchar = true)) TO ${sqlString(pLong)} (FORMAT parquet)`,
      );
    });
    expect(audiences((await readPresenceFiles([p])).table)).toEqual(EXPECTED);
    const long = audiences((await readPresenceFiles([pLong])).table);
    expect(Object.keys(long).sort()).toEqual([
      'newname_long_login_x',
      'reused_long_login_x',
      'reused_long_login_x#chan-id-long-200',
    ]);
    expect(long.newname_long_login_x).toEqual([
      'alice2_long_login_y@viewer-id-long-1',
      'bob_long_login_y@viewer-id-long-5',
      'bob_long_login_y@viewer-id-long-6',
      'carol_long_login_y',
      'dave_long_login_y@viewer-id-long-9',
    ]);
  });

  it('import keeps viewer_id and channel_id in storage; analysis from storage keys by them', async () => {
    const csv = join(dir, 'import.csv');
    await writeFile(csv, csvOf(scenario()));
    const data = join(dir, 'data-import');
    const s = new FsStorage(data);
    const sum = await importFiles(s, [csv]);
    expect(sum.failed).toBe(0);
    const files = (await s.list(LAYOUT.presencePrefix)).map((e) => s.localPath(e.key) as string);
    const stored = await withDuckDB((c) =>
      queryRows(
        c,
        `SELECT DISTINCT viewer, viewer_id, channel, channel_id FROM read_parquet([${files.map(sqlString).join(',')}]) ORDER BY ALL`,
      ),
    );
    expect(stored).toContainEqual({ viewer: 'alice', viewer_id: '1', channel: 'oldname', channel_id: '100' });
    expect(stored).toContainEqual({ viewer: 'carol', viewer_id: null, channel: 'reused', channel_id: '201' });
    expect(audiences((await loadPresenceFromStorage(s)).table)).toEqual(EXPECTED);
    await s.close();
  });

  it('import staging adds the id columns when the first id arrives in a later batch', async () => {
    const s = new FsStorage(join(dir, 'data-batches'));
    const recs = scenario();
    await withDuckDB(async (conn) => {
      const b = new PresenceBuilder({ extras: true });
      const { app, batch } = await stagePresence(conn);
      // A first batch without any id, then the rest.
      pushRecord(b, { channel: 'early', viewer: 'zoe', ts: T - MIN, source: 'live' });
      await batch(b);
      for (const r of recs) pushRecord(b, r);
      await batch(b);
      app.close();
      expect(app.rows).toBe(recs.length + 1);
      await storePresence(conn, s, b, 'batches', (x) => x);
    });
    const t = (await loadPresenceFromStorage(s)).table;
    await s.close();
    const a = audiences(t);
    expect(a.early).toEqual(['zoe']);
    expect(a.newname).toEqual(EXPECTED.newname);
  });

  it('compact turns raw lines with ids into Parquet that keeps them', async () => {
    const data = join(dir, 'data-compact');
    const s = new FsStorage(data);
    const recs = scenario();
    await s.put(LAYOUT.rawPresence('live', T, 'c1'), Buffer.from(recs.map(encodePresenceLine).join('')));
    // Raw lines still in storage are read with their ids too (before compaction) …
    expect(audiences((await loadPresenceFromStorage(s)).table)).toEqual(EXPECTED);
    const r = await compactRaw(s, { now: T + 5 * 3_600_000 });
    expect(r.presenceRows).toBe(recs.length);
    // … and after it, from the Parquet parts.
    expect(audiences((await loadPresenceFromStorage(s)).table)).toEqual(EXPECTED);
    await s.close();
  });

  it('pseudonymisation hashes viewer ids like logins (channels stay public)', async () => {
    const key = 'test-key-not-a-secret';
    const p = createPseudonymizer({ pseudonymize: true, key_env: 'K' } as never, { K: key });
    const rec = scenario()[0] as PresenceRecord;
    const out = pseudonymizeRecord(rec, p);
    expect(out).toMatchObject({
      viewer: pseudonym(key, 'alice'),
      viewer_id: pseudonym(key, '1'),
      channel_id: '100',
    });
    expect(pseudonymizeRecord({ ...rec, viewer_id: undefined }, p).viewer_id).toBeUndefined();

    const csv = join(dir, 'pseudo.csv');
    await writeFile(csv, csvOf(scenario()));
    const s = new FsStorage(join(dir, 'data-pseudo'));
    await importFiles(s, [csv], { pseudonymize: p });
    const t = (await loadPresenceFromStorage(s)).table;
    await s.close();
    expect(t.viewerTwitchIds?.filter((x) => x !== '').sort()).toEqual(
      ['1', '5', '6', '9'].map((id) => pseudonym(key, id)).sort(),
    );
    expect(t.viewerNames.every((n) => n.startsWith('p_'))).toBe(true);
    // Renames still count once under pseudonyms: the id's hash is the key.
    const a = aggregate(t, { minViewers: 1 });
    expect(a.counts.viewers).toBe(5);
    expect(a.channelNames.sort()).toEqual(['newname', 'reused', 'reused#200']);
  });
});
