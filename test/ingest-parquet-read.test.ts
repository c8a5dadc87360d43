/**
 * The Parquet read's fast paths (src/ingest/presence-parquet.ts) give the same rows as the values
 * in the files: rows equal to the one before, long logins (> 12 bytes, not inlined in DuckDB's
 * string_t) repeated through a Parquet dictionary, the channel word cache with more channels than
 * slots, id columns NULL in every footer (skipped) next to parts with ids, parts of the old layout
 * without id columns, and every reject reason from the one-conjunction check.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compactRaw,
  encodePresenceLine,
  loadPresenceFromStorage,
  readPresenceFiles,
} from '../src/ingest/index.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { sqlString, withDuckDB } from '../src/storage/duckdb.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { LAYOUT } from '../src/storage/layout.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'va-parquet-read-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** "channel|viewer|ts|messages" per row, sorted. */
function keyed(t: PresenceTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.length; i++)
    out.push(
      `${t.channelNames[t.channel[i] as number]}|${t.viewerNames[t.viewer[i] as number]}|${t.ts[i]}|${t.messages[i]}`,
    );
  return out.sort();
}

/** The same rows as DuckDB sees them (lower-cased like every reader), sorted. */
async function expected(path: string): Promise<string[]> {
  return withDuckDB(async (c) => {
    const r = await c.runAndReadAll(
      `SELECT lower(channel) || '|' || lower(viewer) || '|' || epoch_ms(ts) || '|' || messages FROM read_parquet(${sqlString(path)})`,
    );
    return r
      .getRows()
      .map((x) => String(x[0]))
      .sort();
  });
}

/** Equal row lists, reporting the first difference (a diff of 300k rows would take minutes). */
function expectSame(got: string[], want: string[]): void {
  expect(got.length).toBe(want.length);
  const i = got.findIndex((g, k) => g !== want[k]);
  expect(i < 0 ? undefined : { row: i, got: got[i], want: want[i] }).toBeUndefined();
}

async function copy(sql: string, path: string): Promise<void> {
  await withDuckDB((c) => c.run(`COPY (${sql}) TO ${sqlString(path)} (FORMAT parquet, COMPRESSION zstd)`));
}

describe('Parquet presence read', () => {
  it('long logins through a dictionary, equal neighbours and 40,000 channels (more than the cache has slots)', async () => {
    const path = join(dir, 'mixed.parquet');
    // 300k rows: channel names of 3–22 bytes (some long ones share length and 4-byte prefix),
    // viewers in runs (sorted) and interleaved, mixed case that must fold to one id.
    await copy(
      `SELECT
         CASE WHEN i % 3 = 0 THEN 'Streamer_long_' || lpad((i % 997)::VARCHAR, 6, '0')
              ELSE 'c' || (i % 40000)::VARCHAR END AS channel,
         CASE WHEN i < 100000 THEN 'viewer_with_a_long_name_' || (i // 7)::VARCHAR
              WHEN i < 200000 THEN 'u' || (i // 5)::VARCHAR || (CASE WHEN i % 10 < 5 THEN 'Ab' ELSE 'ab' END)
              ELSE (CASE WHEN i % 2 = 0 THEN 'V' ELSE 'v' END) || ((i * 7919) % 50000)::VARCHAR END AS viewer,
         TIMESTAMP '2026-11-24 00:00:00' + INTERVAL (i % 86400) SECOND AS ts,
         (i % 5)::UINTEGER AS messages
       FROM range(300000) t(i)`,
      path,
    );
    const res = await readPresenceFiles([path]);
    expect(res.rowsRead).toBe(300_000);
    expect(res.rejectedCount).toBe(0);
    expectSame(keyed(res.table), await expected(path));
    // 40,000 short channels and 997 long ones; viewers: 100,000 / 7 long ones, 20,000 in runs
    // of 5 (case folded) and 50,000 interleaved (case folded).
    expect(res.table.channelNames.length).toBe(40_997);
    expect(res.table.viewerCount).toBe(Math.ceil(100_000 / 7) + 20_000 + 50_000);
  });

  it('every bad row gets its reason; the good rows around them are kept', async () => {
    const path = join(dir, 'bad.parquet');
    await copy(
      `SELECT * FROM (VALUES
         ('xqc', 'alice', TIMESTAMP '2026-11-24 13:00:00', 1::BIGINT, 'live'),
         ('', 'bob', TIMESTAMP '2026-11-24 13:00:00', 1, 'live'),
         ('xqc', NULL, TIMESTAMP '2026-11-24 13:00:00', 1, 'live'),
         ('xqc', 'carol', NULL, 1, 'live'),
         ('xqc', 'dave', TIMESTAMP '2026-11-24 13:00:00', -1, 'live'),
         ('xqc', 'erin', TIMESTAMP '2026-11-24 13:00:00', 1, 'tv'),
         ('xqc', 'frank', TIMESTAMP '2026-11-24 13:00:00', 2000000, 'live'),
         ('xqc', 'grace', TIMESTAMP '2010-01-01 00:00:00', 1, 'live'),
         ('shroud', 'heidi', TIMESTAMP '2026-11-24 13:05:00', NULL, 'vod')
       ) t(channel, viewer, ts, messages, source)`,
      path,
    );
    const res = await readPresenceFiles([path], { maxRejectShare: 1 });
    expect(keyed(res.table)).toEqual([
      `shroud|heidi|${Date.parse('2026-11-24T13:05:00Z')}|1`,
      `xqc|alice|${Date.parse('2026-11-24T13:00:00Z')}|1`,
    ]);
    expect(res.rejected.map((r) => `${r.line}: ${r.reason.replace(/^row \d+: /, '')}`)).toEqual([
      '2: empty channel',
      '3: empty viewer',
      '4: bad ts',
      '5: bad messages (expected an integer ≥ 0)',
      '6: bad source "tv"',
      '7: messages 2000000 out of range (at most 1000000 per row)',
      '8: ts before Twitch existed (2011-06-06)',
    ]);
  });
});

describe('storage parts of every layout', () => {
  /** Writes a part into `root` at the Hive path of `dt` (live). */
  async function part(root: string, dt: string, name: string, select: string): Promise<void> {
    const folder = join(root, 'presence', 'source=live', `dt=${dt}`);
    await mkdir(folder, { recursive: true });
    await copy(select, join(folder, `part-${name}.parquet`));
  }
  const OLD = (dt: string, viewers: string[]) =>
    `SELECT 'xqc' AS channel, v AS viewer, TIMESTAMP '${dt} 10:00:00' AS ts, 1::UINTEGER AS messages,
       NULL::VARCHAR AS vod_id, 'chat' AS kind FROM (VALUES ${viewers.map((v) => `('${v}')`).join(',')}) t(v)`;
  /** Old parts and, at `nullDt`, a part of the current layout whose id columns are all NULL. */
  async function oldAndNullIds(root: string, nullDt: string, nullViewers: string[]): Promise<void> {
    await part(root, '2026-11-20', 'old', OLD('2026-11-20', ['alice', 'bob']));
    await part(
      root,
      nullDt,
      'nullids',
      `SELECT *, NULL::VARCHAR AS viewer_id, NULL::VARCHAR AS channel_id FROM (${OLD(nullDt, nullViewers)})`,
    );
  }

  it('old parts without id columns and parts whose id columns are all NULL read as login-keyed rows', async () => {
    const root = join(dir, 'store-no-ids');
    await oldAndNullIds(root, '2026-11-21', ['alice', 'carol']);
    const res = await loadPresenceFromStorage(new FsStorage(root));
    expect(res.rowsRead).toBe(4);
    expect(res.table.viewerCount).toBe(3);
    expect(res.table.viewerTwitchIds).toBeUndefined();
    expect(keyed(res.table).map((k) => k.split('|')[1])).toEqual(['alice', 'alice', 'bob', 'carol']);
  });

  it('a part with ids next to old and all-NULL parts keys by id: a renamed viewer counts once', async () => {
    const root = join(dir, 'store-ids');
    await oldAndNullIds(root, '2026-11-21', ['carol']);
    // id 7 was 'alice_before' on the 22nd and 'alice' on the 23rd: rows of 'alice' without an id
    // join it; 'alice_before' is the same viewer.
    await part(
      root,
      '2026-11-22',
      'ids',
      `SELECT 'xqc' AS channel, v AS viewer, ts, 1::UINTEGER AS messages, NULL::VARCHAR AS vod_id, 'chat' AS kind,
         vid AS viewer_id, '100' AS channel_id
       FROM (VALUES ('alice_before', '7', TIMESTAMP '2026-11-22 10:00:00'), ('alice', '7', TIMESTAMP '2026-11-23 10:00:00'),
                    ('dave', '9', TIMESTAMP '2026-11-22 10:00:00')) t(v, vid, ts)`,
    );
    const res = await loadPresenceFromStorage(new FsStorage(root));
    expect(res.rowsRead).toBe(6);
    const t = res.table;
    // alice (id 7, also alice_before and the login-only row), bob, carol, dave.
    expect(new Set(Array.from(t.viewer)).size).toBe(4);
    const byName = new Map<string, number>();
    for (let i = 0; i < t.length; i++) {
      const nm = t.viewerNames[t.viewer[i] as number] as string;
      byName.set(nm, (byName.get(nm) ?? 0) + 1);
    }
    expect(Object.fromEntries(byName)).toEqual({ alice: 3, bob: 1, carol: 1, dave: 1 });
    // The login-keyed 'xqc' rows joined channel id 100 (whose latest login is xqc).
    expect(new Set(Array.from(t.channel, (c) => t.channelNames[c])).size).toBe(1);
    expect(new Set(Array.from(t.channel)).size).toBe(1);
  });
});

describe('compaction layout', () => {
  it('writes an hour as a part grouped by viewer, then channel and time, holding the same rows', async () => {
    const root = join(dir, 'store-compact');
    const s = new FsStorage(root);
    const T = Date.parse('2026-11-24T13:00:00Z');
    // As a collector appends: bucket by bucket, channels and viewers interleaved.
    const lines: string[] = [];
    for (let b = 0; b < 12; b++)
      for (let i = 0; i < 400; i++)
        lines.push(
          encodePresenceLine({
            channel: `ch${(i * 7) % 13}`,
            viewer: `viewer${(i * 31 + b) % 150}`,
            ts: T + b * 300_000,
            source: 'live',
            messages: 1 + (i % 3),
          }),
        );
    await s.append(LAYOUT.rawPresence('live', T, 'c1'), lines.join(''));
    const before = await loadPresenceFromStorage(s);
    const sum = await compactRaw(s, { now: T + 2 * 3_600_000 });
    expect(sum.filesCompacted).toBe(1);
    const after = await loadPresenceFromStorage(s);
    expectSame(keyed(after.table), keyed(before.table));
    const part = join(root, ...(sum.partsWritten[0] as string).split('/'));
    const order = await withDuckDB(async (c) =>
      (
        await c.runAndReadAll(
          `SELECT viewer, channel, epoch_ms(ts) FROM read_parquet(${sqlString(part)}, file_row_number = true) ORDER BY file_row_number`,
        )
      ).getRows(),
    );
    expect(order.length).toBe(12 * 400);
    // Each viewer's rows are one run; inside it, channels are runs and times ascend.
    const seenViewers = new Set<string>();
    for (let i = 1; i < order.length; i++) {
      const [v, c, t] = order[i] as [string, string, number];
      const [pv, pc, pt] = order[i - 1] as [string, string, number];
      if (v !== pv) {
        expect(seenViewers.has(v)).toBe(false);
        seenViewers.add(pv);
      } else if (c === pc) expect(Number(t)).toBeGreaterThanOrEqual(Number(pt));
    }
    expect(seenViewers.size).toBe(149);
  });
});
