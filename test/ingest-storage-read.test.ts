/**
 * The storage read's fast path (`readStoredPresence` in src/ingest/presence-parquet.ts: checks in
 * JS instead of SQL) gives exactly what the general path gives — the same ids in the same order,
 * rows, names, counts, reject reasons and row numbers — over parts with bad rows of every kind,
 * long and mixed-case logins and a window; and the two-thread read (`readStoredParts`: a worker
 * reads the later parts) gives exactly the one-thread read.
 */
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../src/analysis/rng.js';
import { ByteInterner } from '../src/ingest/csv-scan.js';
import { useNameRunsKernel } from '../src/ingest/name-runs.js';
import type { DecodedChunk } from '../src/ingest/parquet-format.js';
import { defaultThreads, readStoredParts, type StoredReadOptions } from '../src/ingest/parquet-parallel.js';
import { handEveryOther, handoffCounts } from '../src/ingest/parts-handoff.js';
import { readPresenceParquetWith } from '../src/ingest/presence-parquet.js';
import { readColumnsInTwo } from '../src/ingest/presence-parts-columns.js';
import { partUnits, planParts } from '../src/ingest/presence-parts-decode.js';
import { readPartsDirect } from '../src/ingest/presence-parts-direct.js';
import { keptRuns } from '../src/ingest/presence-parts-viewers.js';
import {
  type FileStats,
  PresenceBuilder,
  type PresenceReadOptions,
  RejectLog,
  resolveKeys,
  resolveViewerKeys,
} from '../src/ingest/presence-rows.js';
import { sqlPathList, sqlString, withDuckDB } from '../src/storage/duckdb.js';

let dir: string;
let files: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'va-storage-read-'));
  files = await writeStore(join(dir, 'store'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/**
 * Writes a part at the Hive path of `source` and `dt`; returns its path. DuckDB on one thread
 * writes the rows in the order `select` gives them (a UNION ALL's sides one after the other).
 */
async function part(
  root: string,
  source: string,
  dt: string,
  select: string,
  /** COPY options after FORMAT parquet. */
  options = 'COMPRESSION zstd',
): Promise<string> {
  const folder = join(root, 'presence', `source=${source}`, `dt=${dt}`);
  await mkdir(folder, { recursive: true });
  const path = join(folder, 'part-a.parquet');
  await withDuckDB((c) => c.run(`COPY (${select}) TO ${sqlString(path)} (FORMAT parquet, ${options})`), {
    threads: 1,
  });
  return path;
}

/** Generated rows: channels short, long and mixed case; viewers in runs, long and interleaved. */
const ROWS = (from: number, n: number, day: string) => `
  SELECT
    CASE WHEN i % 7 = 0 THEN 'Streamer_with_a_long_name_' || (i % 13)::VARCHAR
         WHEN i % 5 = 0 THEN 'XQC' ELSE 'c' || (i % 37)::VARCHAR END AS channel,
    CASE WHEN i % 11 = 0 THEN 'viewer_with_a_long_name_' || (i // 3 % 500)::VARCHAR
         WHEN i % 2 = 0 THEN 'u' || (i // 4)::VARCHAR
         ELSE (CASE WHEN i % 4 = 1 THEN 'V' ELSE 'v' END) || ((i * 7919) % 3000)::VARCHAR END AS viewer,
    TIMESTAMP '${day} 00:00:00' + INTERVAL (i % 86400) SECOND AS ts,
    (i % 4)::UINTEGER AS messages, NULL::VARCHAR AS vod_id, 'chat' AS kind,
    NULL::VARCHAR AS viewer_id, NULL::VARCHAR AS channel_id
  FROM range(${from}, ${from + n}) t(i)`;

/** Bad rows of every kind, between good ones. */
const BAD = `
  SELECT * FROM (VALUES
    ('xqc', 'alice', TIMESTAMP '2026-11-21 13:00:00', 1::BIGINT),
    ('', 'bob', TIMESTAMP '2026-11-21 13:00:00', 1),
    ('xqc', NULL, TIMESTAMP '2026-11-21 13:00:00', 1),
    (NULL, 'bob', TIMESTAMP '2026-11-21 13:00:00', 1),
    ('xqc', 'carol', NULL, 1),
    ('xqc', 'dave', TIMESTAMP '2026-11-21 13:00:00', -1),
    ('xqc', 'frank', TIMESTAMP '2026-11-21 13:00:00', 2000000),
    ('xqc', 'grace', TIMESTAMP '2010-01-01 00:00:00', 1),
    ('xqc', 'heidi', TIMESTAMP '2099-01-01 00:00:00', 1),
    ('xqc', 'iv' || chr(0) || 'an', TIMESTAMP '2026-11-21 13:00:00', 1),
    ('a_long_channel_name' || chr(0), 'judy', TIMESTAMP '2026-11-21 13:00:00', 1),
    (repeat('x', 300), 'mallory', TIMESTAMP '2026-11-21 13:00:00', 1),
    ('xqc', repeat('y', 257), TIMESTAMP '2026-11-21 13:00:00', 1),
    ('xqc', 'Alice', TIMESTAMP '2026-11-21 13:01:00', NULL),
    ('shroud', 'a_viewer_with_a_long_login', TIMESTAMP '2026-11-21 13:05:00', 3)
  ) t(channel, viewer, ts, messages)`;

async function writeStore(root: string): Promise<string[]> {
  return [
    await part(root, 'live', '2026-11-20', `${ROWS(0, 30_000, '2026-11-20')} ORDER BY viewer, channel, ts`),
    await part(root, 'live', '2026-11-21', BAD),
    await part(root, 'vod', '2026-11-22', ROWS(20_000, 25_000, '2026-11-22')),
  ];
}

interface Read {
  st: FileStats;
  b: PresenceBuilder;
  log: RejectLog;
}

async function read(paths: string[], opts: PresenceReadOptions, fast: boolean | 'require'): Promise<Read> {
  const b = new PresenceBuilder();
  const log = new RejectLog();
  const st = await withDuckDB((c) =>
    readPresenceParquetWith(
      c,
      `${sqlPathList(paths)}, union_by_name = true`,
      'store',
      b,
      log,
      opts,
      true,
      fast,
    ),
  );
  return { st, b, log };
}

/** Everything a read produced, as plain values. */
function snapshot(r: Read) {
  const n = r.b.length;
  return {
    st: r.st,
    rows: n,
    channel: Array.from(r.b.channel.subarray(0, n)),
    viewer: Array.from(r.b.viewer.subarray(0, n)),
    ts: Array.from(r.b.ts.subarray(0, n)),
    messages: Array.from(r.b.messages.subarray(0, n)),
    channels: r.b.channels.names(),
    viewers: r.b.viewers.names(),
    rejected: r.log.rejected,
    rejectedCount: r.log.count,
  };
}

describe('stored parts: fast path = general path', () => {
  const windows: [string, PresenceReadOptions][] = [
    ['no window', {}],
    [
      'a window inside the days',
      { windowStart: Date.parse('2026-11-20T06:00:00Z'), windowEnd: Date.parse('2026-11-22T12:00:00Z') },
    ],
  ];
  for (const [what, opts] of windows) {
    it(`same ids, rows, names, counts and reasons (${what})`, async () => {
      const fast = snapshot(await read(files, opts, 'require'));
      const general = snapshot(await read(files, opts, false));
      expect(fast.rows).toBeGreaterThan(10_000);
      expect(fast.rejectedCount).toBe(12);
      expect(fast).toEqual(general);
    });
  }

  it('names each bad row as the general path does, with its row number across parts', async () => {
    const { log, st } = await read(files, {}, 'require');
    expect(st.bad).toBe(12);
    expect(log.rejected.map((r) => r.reason)).toEqual([
      'row 30002: empty channel',
      'row 30003: empty viewer',
      'row 30004: empty channel',
      'row 30005: bad ts',
      'row 30006: bad messages (expected an integer ≥ 0)',
      'row 30007: messages 2000000 out of range (at most 1000000 per row)',
      'row 30008: ts before Twitch existed (2011-06-06)',
      'row 30009: ts more than 24 h in the future',
      'row 30010: viewer holds a NUL byte',
      'row 30011: channel holds a NUL byte',
      'row 30012: channel of 300 bytes (at most 256)',
      'row 30013: viewer of 257 bytes (at most 256)',
    ]);
  });
});

describe('stored parts with Twitch ids: fast path = general path', () => {
  let idFiles: string[];
  beforeAll(async () => {
    const root = join(dir, 'store-ids');
    // Ids on some rows: viewer 7 renamed (alice_before → alice), login-only rows of alice, an id
    // column NULL on the old rows, and the bad rows part (no id columns at all).
    idFiles = [
      await part(root, 'live', '2026-11-20', `${ROWS(0, 20_000, '2026-11-20')} ORDER BY viewer`),
      await part(
        root,
        'live',
        '2026-11-21',
        `SELECT CASE WHEN i % 3 = 0 THEN 'xqc' ELSE 'c' || (i % 37)::VARCHAR END AS channel,
           CASE WHEN i % 5 = 0 THEN 'alice_before' WHEN i % 5 = 1 THEN 'alice' ELSE 'u' || (i // 4)::VARCHAR END AS viewer,
           TIMESTAMP '2026-11-21 00:00:00' + INTERVAL (i % 86400) SECOND AS ts, 1::UINTEGER AS messages,
           NULL::VARCHAR AS vod_id, 'chat' AS kind,
           CASE WHEN i % 5 < 2 THEN '7' WHEN i % 2 = 0 THEN (1000 + i // 4)::VARCHAR ELSE NULL END AS viewer_id,
           CASE WHEN i % 3 = 0 THEN '100' ELSE NULL END AS channel_id
         FROM range(30000) t(i)`,
      ),
      await part(root, 'vod', '2026-11-22', BAD),
      await part(root, 'vod', '2026-11-23', ROWS(10_000, 20_000, '2026-11-23')),
    ];
  });

  it('same ids, rows, names, latest logins, counts and reasons', async () => {
    const fast = await read(idFiles, {}, 'require');
    const general = await read(idFiles, {}, false);
    expect(fast.b.viewerIds).toBeDefined();
    expect(snapshot(fast)).toEqual(snapshot(general));
    expect(fast.b.table().viewerNames).toEqual(general.b.table().viewerNames);
    expect(fast.b.table().channelNames).toEqual(general.b.table().channelNames);
  });

  it('two threads give the one-thread read (the worker’s latest logins merged)', async () => {
    const one = new PresenceBuilder();
    const oneLog = new RejectLog();
    const st1 = await readStoredParts(idFiles, 'store', one, oneLog, { threads: 1 });
    const two = new PresenceBuilder();
    const twoLog = new RejectLog();
    const st2 = await readStoredParts(idFiles, 'store', two, twoLog, { threads: 2, parallelMinRows: 0 });
    expect(st2.parallel).toBe(true);
    const { parallel: _, ...rest } = st2;
    expect(snapshot({ st: rest, b: two, log: twoLog })).toEqual(snapshot({ st: st1, b: one, log: oneLog }));
    const t1 = one.table();
    const t2 = two.table();
    expect(Array.from(t2.viewer)).toEqual(Array.from(t1.viewer));
    expect(Array.from(t2.channel)).toEqual(Array.from(t1.channel));
    expect(t2.viewerNames).toEqual(t1.viewerNames);
    expect(t2.channelNames).toEqual(t1.channelNames);
  });
});

/** Reads `parts` with one thread and with two, expects the same of both; the two-thread log. */
async function twoAsOne(parts: string[], opts: PresenceReadOptions): Promise<RejectLog> {
  const one = new PresenceBuilder();
  const oneLog = new RejectLog();
  const st1 = await readStoredParts(parts, 'store', one, oneLog, { ...opts, threads: 1 });
  const two = new PresenceBuilder();
  const twoLog = new RejectLog();
  const st2 = await readStoredParts(parts, 'store', two, twoLog, { ...opts, threads: 2, parallelMinRows: 0 });
  expect(st2.parallel).toBe(true);
  expect(st1.parallel).toBeUndefined();
  const { parallel: _, ...rest } = st2;
  expect(snapshot({ st: rest, b: two, log: twoLog })).toEqual(snapshot({ st: st1, b: one, log: oneLog }));
  return twoLog;
}

describe('stored parts: two threads = one thread', () => {
  it('same ids, rows, names, counts and reasons (row numbers continue across the split)', async () => {
    for (const opts of [{}, { windowStart: Date.parse('2026-11-20T06:00:00Z') }] as PresenceReadOptions[]) {
      const twoLog = await twoAsOne(files, opts);
      // The split falls after the first part: the bad rows are the worker's, numbered from 30,001.
      expect(twoLog.count).toBe(12);
      expect(twoLog.rejected[0]?.reason).toBe('row 30002: empty channel');
    }
  });

  it('parts of the old layout (no id columns) on one side of the split, bad rows on the other', async () => {
    const root = join(dir, 'store-bad-late');
    // 6,000 | 4,000 | 15 rows: the split falls inside the first part (old layout: no vod_id, kind
    // or id columns), at row 5,007: this thread reads its first 5,007 rows, the worker the rest.
    const late = [
      await part(
        root,
        'live',
        '2026-11-20',
        `SELECT channel, viewer, ts, messages FROM (${ROWS(0, 6_000, '2026-11-20')})`,
      ),
      await part(root, 'live', '2026-11-21', ROWS(6_000, 4_000, '2026-11-21')),
      await part(root, 'live', '2026-11-22', BAD),
    ];
    const twoLog = await twoAsOne(late, {});
    expect(twoLog.rejected[0]?.reason).toBe('row 10002: empty channel');
  });

  it('a split inside a part: its first rows (bad ones among them) here, the rest there; one part alone', async () => {
    const root = join(dir, 'store-split-inside');
    // 6,000 | 15 bad + 10,000 rows: half of 16,015 is 8,007, inside the second part, whose bad
    // rows are this thread's, numbered after the first part's 6,000
    const inside = [
      await part(root, 'live', '2026-11-20', ROWS(0, 6_000, '2026-11-20')),
      await part(
        root,
        'live',
        '2026-11-21',
        `${BAD} UNION ALL BY NAME (${ROWS(6_000, 10_000, '2026-11-21')})`,
      ),
    ];
    const alone = [
      await part(join(dir, 'store-one-part'), 'live', '2026-11-20', ROWS(0, 20_000, '2026-11-20')),
    ];
    for (const [parts, firstBad] of [
      [inside, 'row 6002: empty channel'],
      [alone, undefined],
    ] as const) {
      for (const opts of [{}, { windowStart: Date.parse('2026-11-20T06:00:00Z') }] as PresenceReadOptions[]) {
        const twoLog = await twoAsOne(parts, opts);
        expect(twoLog.rejected[0]?.reason).toBe(firstBad);
      }
    }
  });
});

describe('stored parts: two threads when a part takes the general path', () => {
  it("a whole part this thread reads the general way (an unknown source), the split part's rest there", async () => {
    const root = join(dir, 'store-general-first');
    // 6,000 rows under source=bogus (rejected, by the general path) | 10,000: the split falls in
    // the second part, whose first 2,000 rows are this thread's
    const parts = [
      await part(root, 'bogus', '2026-11-20', ROWS(0, 6_000, '2026-11-20')),
      await part(root, 'live', '2026-11-21', ROWS(6_000, 10_000, '2026-11-21')),
    ];
    const twoLog = await twoAsOne(parts, {});
    expect(twoLog.count).toBe(6_000);
    expect(twoLog.rejected[0]?.reason).toBe('row 1: bad source "bogus"');
  });
});

describe('stored parts: threads by default', () => {
  it('two on two cores unless the load is twice the cores, else one', () => {
    expect(defaultThreads(2, 0.4)).toBe(2);
    expect(defaultThreads(2, 3)).toBe(2);
    expect(defaultThreads(2, 4)).toBe(1);
    expect(defaultThreads(2, 7.5)).toBe(1);
    expect(defaultThreads(1, 0)).toBe(1);
    expect(defaultThreads(8, 12)).toBe(2);
  });
});

/** A read through `readStoredParts` with `opts`, as plain values (the thread count left out). */
async function stored(parts: string[], opts: StoredReadOptions) {
  const b = new PresenceBuilder();
  const log = new RejectLog();
  const { parallel: _, ...st } = await readStoredParts(parts, 'store', b, log, opts);
  return snapshot({ st, b, log });
}

/**
 * Expects the direct read (one thread, two) to give exactly DuckDB's one-thread read (`sameThreads`:
 * DuckDB's read with as many threads, for parts the direct read hands to DuckDB anyway).
 */
async function directAsDuckDB(
  parts: string[],
  opts: PresenceReadOptions,
  sameThreads = false,
): Promise<void> {
  const duck = await stored(parts, { ...opts, direct: false, threads: 1 });
  for (const threads of [1, 2] as const) {
    const o = { ...opts, threads, parallelMinRows: 0 };
    const want = sameThreads ? await stored(parts, { ...o, direct: false }) : duck;
    expect(await stored(parts, o)).toEqual(want);
  }
}

/** `read` with every other row group's viewers handed over by the worker; at least one must be. */
async function handingEveryOther<T>(read: () => Promise<T>): Promise<T> {
  handEveryOther(true);
  handoffCounts.handed = 0;
  try {
    const got = await read();
    expect(handoffCounts.handed).toBeGreaterThan(0);
    return got;
  } finally {
    handEveryOther(false);
  }
}

describe('stored parts decoded here (no DuckDB) = read through DuckDB', () => {
  const windows: PresenceReadOptions[] = [{}, { windowStart: Date.parse('2026-11-20T06:00:00Z') }];

  it('parts as import writes them qualify', async () => {
    const planned = await planParts(files);
    expect('why' in planned ? planned.why : planned.rows).toBe(30_000 + 15 + 25_000);
  });

  it('same ids, rows, names, counts, reasons and row numbers: bad rows of every kind, a window, two threads', async () => {
    for (const opts of windows) await directAsDuckDB(files, opts);
  });

  it("the writer's variants: small row groups split between threads, everything PLAIN, dictionary viewers, uncompressed", async () => {
    const root = join(dir, 'store-variants');
    // few viewers (a dictionary), many channels (PLAIN); then no dictionary at all
    const fewViewers = `SELECT 'c' || (i % 5000)::VARCHAR AS channel, 'u' || (i // 3 % 40)::VARCHAR AS viewer,
        TIMESTAMP '2026-11-20 00:00:00' + INTERVAL (i) SECOND AS ts, (i % 4)::UINTEGER AS messages
      FROM range(0, 20000) t(i)`;
    const parts = [
      await part(root, 'live', '2026-11-20', fewViewers, 'COMPRESSION zstd, ROW_GROUP_SIZE 2048'),
      await part(
        root,
        'live',
        '2026-11-21',
        ROWS(0, 9_000, '2026-11-21'),
        'COMPRESSION uncompressed, ROW_GROUP_SIZE 2048',
      ),
      await part(
        root,
        'vod',
        '2026-11-22',
        `${BAD} UNION ALL BY NAME (${fewViewers})`,
        'COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1, ROW_GROUP_SIZE 4096',
      ),
      await part(
        root,
        'import',
        '2026-11-23',
        `SELECT channel, viewer, ts FROM (${ROWS(0, 3_000, '2026-11-23')})`,
      ),
    ];
    const planned = await planParts(parts);
    expect('why' in planned ? planned.why : partUnits(planned.plans).length).toBeGreaterThan(10);
    for (const opts of windows) await directAsDuckDB(parts, opts);
  });

  it('viewer columns the worker decodes for this thread (every other row group): the same rows, PLAIN ones handed over, dictionaries declined', async () => {
    const root = join(dir, 'store-handoff');
    const fewViewers = `SELECT 'c' || (i % 50)::VARCHAR AS channel, 'u' || (i // 3 % 40)::VARCHAR AS viewer,
        TIMESTAMP '2026-11-20 00:00:00' + INTERVAL (i) SECOND AS ts, (i % 4)::UINTEGER AS messages
      FROM range(0, 12000) t(i)`;
    const parts = [
      await part(
        root,
        'live',
        '2026-11-20',
        ROWS(0, 9_000, '2026-11-20'),
        'COMPRESSION zstd, ROW_GROUP_SIZE 2048',
      ),
      await part(root, 'live', '2026-11-21', fewViewers, 'COMPRESSION zstd, ROW_GROUP_SIZE 2048'),
      await part(
        root,
        'vod',
        '2026-11-22',
        ROWS(9_000, 9_000, '2026-11-22'),
        'COMPRESSION uncompressed, ROW_GROUP_SIZE 2048',
      ),
    ];
    const planned = await planParts(parts);
    if ('why' in planned) throw new Error(planned.why);
    handEveryOther(true);
    try {
      handoffCounts.handed = 0;
      handoffCounts.declined = 0;
      const b = new PresenceBuilder();
      const st = await readColumnsInTwo(
        planned.plans,
        partUnits(planned.plans),
        planned.rows,
        b,
        'store',
        {},
      );
      expect(st?.good).toBe(planned.rows);
      expect(handoffCounts.handed).toBeGreaterThan(3);
      expect(handoffCounts.declined).toBeGreaterThan(0);
      await directAsDuckDB(parts, {});
    } finally {
      handEveryOther(false);
    }
  });

  it('viewer runs in WebAssembly = keptRuns’ own loop: slices past the kernel’s rows, runs across them, bad names', () => {
    // 200,000 rows (the kernel takes 65,536 at a time), runs of 1–6 rows of one name, names of
    // 1 to 60 bytes in both cases, then the same with a bad name (empty, NUL, too long) late on
    const rng = createRng(5);
    const names: Uint8Array[] = [];
    for (let i = 0; names.length < 200_000; i++) {
      const name = new TextEncoder().encode(
        `${rng() < 0.1 ? 'V' : 'v'}${i}${'x'.repeat(Math.floor(rng() * 50))}`,
      );
      for (let k = 1 + Math.floor(rng() * 6); k > 0 && names.length < 200_000; k--) names.push(name);
      // next to it, a name that differs only in its last byte (the kernel compares 8 bytes at a time)
      if (rng() < 0.2) names.push(Uint8Array.from(name, (b, j) => (j === name.length - 1 ? b ^ 1 : b)));
    }
    const chunk = (list: Uint8Array[]) => {
      const bytes = new Uint8Array(list.reduce((s, b) => s + b.length + 4, 16));
      const start = new Int32Array(list.length);
      const len = new Int32Array(list.length);
      let at = 16; // names do not start at offset 0
      list.forEach((b, i) => {
        at += 4;
        bytes.set(b, at);
        start[i] = at;
        len[i] = b.length;
        at += b.length;
      });
      return { bytes, start, len, index: undefined } as unknown as DecodedChunk;
    };
    const runsOf = (c: DecodedChunk, n: number, kernel: boolean) => {
      const runs = { start: new Int32Array(n + 1), hash: new Int32Array(n) };
      useNameRunsKernel(kernel);
      try {
        const count = keptRuns(c, n, new ByteInterner().foldTable, runs);
        return {
          count,
          start: Array.from(runs.start.subarray(0, count + 1)),
          hash: Array.from(runs.hash.subarray(0, count)),
        };
      } finally {
        useNameRunsKernel(true);
      }
    };
    const good = chunk(names);
    const want = runsOf(good, names.length, false);
    expect(want.count).toBeGreaterThan(50_000);
    expect(runsOf(good, names.length, true)).toEqual(want);
    // the first rows only (a unit's prefix) and a run cut at the kernel's slice boundary
    expect(runsOf(good, 65_537, true)).toEqual(runsOf(good, 65_537, false));
    for (const bad of [
      new Uint8Array(0),
      new TextEncoder().encode('a\u0000b'),
      new Uint8Array(257).fill(97),
    ]) {
      const list = [...names];
      list[150_001] = bad;
      const c = chunk(list);
      expect(runsOf(c, list.length, true).count).toBe(-1);
      expect(runsOf(c, list.length, false).count).toBe(-1);
    }
  });

  it('parts it cannot read go through DuckDB, with the same result', async () => {
    const root = join(dir, 'store-declined');
    const cases: [string, string, string][] = [
      ['snappy', ROWS(0, 3_000, '2026-11-20'), 'COMPRESSION snappy'],
      ['DELTA pages (Parquet v2)', ROWS(0, 3_000, '2026-11-20'), 'COMPRESSION zstd, PARQUET_VERSION V2'],
      [
        'a DOUBLE count',
        `SELECT channel, viewer, ts, messages::DOUBLE AS messages FROM (${ROWS(0, 3_000, '2026-11-20')})`,
        'COMPRESSION zstd',
      ],
      [
        'a UTC timestamp',
        `SELECT channel, viewer, ts::TIMESTAMPTZ AS ts FROM (${ROWS(0, 3_000, '2026-11-20')})`,
        'COMPRESSION zstd',
      ],
      [
        'a login column by another name',
        `SELECT channel, viewer AS login, ts FROM (${ROWS(0, 3_000, '2026-11-20')})`,
        'COMPRESSION zstd',
      ],
      [
        'Twitch ids as integers',
        `SELECT channel, viewer, ts, 12345::BIGINT AS viewer_id FROM (${ROWS(0, 3_000, '2026-11-20')})`,
        'COMPRESSION zstd',
      ],
    ];
    const small = await part(
      join(root, 'small'),
      'live',
      '2026-11-21',
      `${BAD} UNION ALL BY NAME (${ROWS(0, 2_000, '2026-11-21')})`,
    );
    for (const [what, select, options] of cases) {
      const one = [
        await part(join(root, what.replaceAll(' ', '-')), 'live', '2026-11-20', select, options),
        small,
      ];
      const planned = await planParts(one);
      expect('why' in planned, what).toBe(true);
      await directAsDuckDB(one, {}, true);
    }
    const bogus = await part(join(root, 'bogus'), 'bogus', '2026-11-20', ROWS(0, 100, '2026-11-20'));
    expect(await planParts([bogus])).toEqual({ why: expect.stringContaining('no known source=') });
  });

  it('the column split keeps nothing when a row is not kept (the rows split then reads it)', async () => {
    const clean = [
      await part(
        join(dir, 'store-clean'),
        'live',
        '2026-11-20',
        ROWS(0, 20_000, '2026-11-20'),
        'COMPRESSION zstd, ROW_GROUP_SIZE 4096',
      ),
    ];
    for (const [parts, kept] of [
      [clean, true],
      [files, false],
    ] as const) {
      const planned = await planParts(parts);
      if ('why' in planned) throw new Error(planned.why);
      const b = new PresenceBuilder();
      b.viewers.intern(Buffer.from('before'), 0, 6);
      const st = await readColumnsInTwo(
        planned.plans,
        partUnits(planned.plans),
        planned.rows,
        b,
        'store',
        {},
      );
      expect(st !== undefined).toBe(kept);
      expect(b.length).toBe(kept ? planned.rows : 0);
      if (!kept) expect(b.viewers.names()).toEqual(['before']);
    }
    // and when it holds, it is the one-thread read
    await directAsDuckDB(clean, {});
  });

  it('a page it cannot parse is not read as rows: DuckDB gets the part, fails on it too, and the error names the part', async () => {
    const path = await part(
      join(dir, 'store-corrupt'),
      'live',
      '2026-11-20',
      ROWS(0, 20_000, '2026-11-20'),
      'COMPRESSION zstd, ROW_GROUP_SIZE 4096',
    );
    const planned = await planParts([path]);
    if ('why' in planned) throw new Error(planned.why);
    // garbage over the viewer column's first page header in the third row group
    const at = planned.plans[0]?.rowGroups[2]?.chunks.viewer?.start as number;
    const fh = await open(path, 'r+');
    await fh.write(new Uint8Array(64).fill(0xff), 0, 64, at);
    await fh.close();
    for (const threads of [1, 2] as const) {
      // the direct read names the part and the page; DuckDB's own message does not
      await expect(stored([path], { threads, parallelMinRows: 0 })).rejects.toThrow(
        /^storage: a stored part cannot be read: .*part-a\.parquet: column viewer: .*\(DuckDB: /,
      );
      await expect(stored([path], { threads, direct: false, parallelMinRows: 0 })).rejects.toThrow();
    }
  });

  it('a bad name alone among good rows is rejected, not kept (the column split checks each channel entry and viewer run)', async () => {
    const root = join(dir, 'store-bad-name');
    const bad = ["'bad' || chr(0)", "repeat('x', 300)", "''"];
    const cases = [...bad.map((name) => [name, "'u_1'"]), ...bad.map((name) => ["'xqc'", name])];
    for (const [k, [channel, viewer]] of cases.entries()) {
      const one = `SELECT ${channel} AS channel, ${viewer} AS viewer, TIMESTAMP '2026-11-20 13:00:00' AS ts, 1::UINTEGER AS messages`;
      const path = await part(
        join(root, String(k)),
        'live',
        '2026-11-20',
        `${ROWS(0, 2_000, '2026-11-20')} UNION ALL BY NAME (${one})`,
      );
      // the DuckDB read rejects that one row; the direct reads must give the same
      await directAsDuckDB([path], {});
    }
  });
});

/**
 * Rows keyed by Twitch id as the collector writes them: a rename inside a part (equal instants:
 * the row read last wins) and across parts, a login two ids share, login-only rows that merge
 * into an id's latest login, empty ids, channels with and without ids and a channel rename.
 */
const KEYED = (day: string, next: string) => `
  SELECT
    CASE WHEN i % 3 = 0 THEN 'xqc' WHEN i % 3 = 1 THEN 'c' || (i % 29)::VARCHAR
         ELSE (CASE WHEN i % 4 < 2 THEN 'old_name' ELSE '${next}' END) END AS channel,
    CASE WHEN i % 3 = 0 THEN '100' WHEN i % 3 = 2 THEN '200' ELSE NULL END AS channel_id,
    CASE i % 20 WHEN 0 THEN 'zed_old' WHEN 1 THEN 'zed_new' WHEN 2 THEN 'bob' WHEN 3 THEN 'Bob'
         WHEN 4 THEN 'alice' WHEN 5 THEN 'alice' WHEN 6 THEN 'carol' WHEN 7 THEN '${next}'
         ELSE 'u' || (i // 20 % 3000)::VARCHAR END AS viewer,
    CASE i % 20 WHEN 0 THEN '900' WHEN 1 THEN '900' WHEN 2 THEN '901' WHEN 3 THEN '902'
         WHEN 4 THEN NULL WHEN 5 THEN '903' WHEN 6 THEN '' WHEN 7 THEN '900'
         ELSE (CASE WHEN i // 20 % 2 = 0 THEN (5000 + i // 20 % 3000)::VARCHAR END) END AS viewer_id,
    TIMESTAMP '${day} 00:00:00' + INTERVAL (i // 20 % 86400) SECOND AS ts,
    (i % 4)::UINTEGER AS messages, NULL::VARCHAR AS vod_id, 'chat' AS kind
  FROM range(0, 40000) t(i)`;

describe('stored parts with Twitch ids decoded here (no DuckDB) = read through DuckDB', () => {
  let keyed: string[];
  beforeAll(async () => {
    const root = join(dir, 'store-keyed');
    keyed = [
      // as compaction writes them (grouped by viewer), and as import of a big file does (not)
      await part(
        root,
        'live',
        '2026-11-20',
        `${KEYED('2026-11-20', 'zed_newer')} ORDER BY viewer, channel, ts`,
      ),
      await part(
        root,
        'live',
        '2026-11-21',
        KEYED('2026-11-21', 'new_name'),
        'COMPRESSION zstd, ROW_GROUP_SIZE 4096',
      ),
    ];
  });

  /** A read's rows and, resolved, its names and Twitch ids. */
  async function keyedRead(parts: string[], opts: StoredReadOptions) {
    const b = new PresenceBuilder();
    const log = new RejectLog();
    const { parallel: _, ...st } = await readStoredParts(parts, 'store', b, log, opts);
    const snap = snapshot({ st, b, log });
    const t = b.table();
    return {
      snap,
      viewer: Array.from(t.viewer),
      channel: Array.from(t.channel),
      viewerNames: t.viewerNames,
      channelNames: t.channelNames,
      viewerIds: t.viewerTwitchIds,
      channelIds: t.channelTwitchIds,
    };
  }

  it('the column split takes them: the same rows, keys, latest logins and names as DuckDB', async () => {
    const b = new PresenceBuilder();
    const direct = await readPartsDirect(keyed, 'store', b, new RejectLog(), {
      threads: 2,
      parallelMinRows: 0,
    });
    expect('declined' in direct ? direct.declined : direct.good).toBe(80_000);
    const here = await keyedRead(keyed, { threads: 2, parallelMinRows: 0 });
    const duck = await keyedRead(keyed, { direct: false, threads: 1 });
    expect(here).toEqual(duck);
    // logins and ids of every other row group decoded by the worker
    expect(await handingEveryOther(() => keyedRead(keyed, { threads: 2, parallelMinRows: 0 }))).toEqual(duck);
    // what the fixture is there to show
    const names = here.viewerNames as string[];
    const ids = here.viewerIds as string[];
    expect(names[ids.indexOf('900')]).toBe('new_name');
    expect(names.filter((n) => n.startsWith('bob'))).toHaveLength(2);
    expect(names).not.toContain('zed_old');
    expect(here.channelNames[(here.channelIds as string[]).indexOf('200')]).toBe('new_name');
  });

  it('viewer keys resolved without strings up front = resolveKeys: remap, names, ids, every key of a bot login', async () => {
    for (const threads of [1, 2] as const) {
      const b = new PresenceBuilder();
      await readStoredParts(keyed, 'store', b, new RejectLog(), { threads, parallelMinRows: 0 });
      const side = b.viewerIds as NonNullable<typeof b.viewerIds>;
      const want = resolveKeys(b.viewers.names(), side, false);
      const got = resolveViewerKeys(b.viewers, side);
      expect(got.remap).toBeDefined();
      expect(Array.from(got.remap ?? [])).toEqual(Array.from(want.remap ?? []));
      expect(got.names()).toEqual(want.names);
      expect(got.ids()).toEqual(want.ids);
      for (const login of ['bob', 'alice', 'carol', 'new_name', 'zed_old', 'u7', 'nobody'])
        expect(got.findViewers(login).sort(), login).toEqual(
          want.names.flatMap((n, k) => (n === login ? [k] : [])).sort(),
        );
    }
  });

  it('the WebAssembly runs decline rows not laid out in order (nulls first and last) rather than read past them', () => {
    const fold = new ByteInterner().foldTable;
    const o = { seed: 12345, emptyOk: true };
    const runsOf = (text: string, start: number[], len: number[]) => {
      const n = start.length;
      const c = {
        bytes: new TextEncoder().encode(text),
        start: Int32Array.from(start),
        len: Int32Array.from(len),
        index: undefined,
        rows: n,
      } as unknown as DecodedChunk;
      const r = { start: new Int32Array(n + 1), hash: new Int32Array(n) };
      const count = keptRuns(c, n, fold, r, o);
      return {
        count,
        start: Array.from(r.start.subarray(0, count + 1)),
        hash: Array.from(r.hash.subarray(0, count)),
      };
    };
    // other names in the kernel's memory first; then ids with a null (start 0) first and last,
    // whose slice of bytes, from the first row's start to the last row's end, is empty
    runsOf('zzzzzzzz', [0, 4], [4, 4]);
    const rows: [string, number[], number[]] = ['xx1234', [0, 2, 4, 0], [0, 2, 2, 0]];
    const kernel = runsOf(...rows);
    useNameRunsKernel(false);
    try {
      expect(kernel).toEqual(runsOf(...rows));
    } finally {
      useNameRunsKernel(true);
    }
    expect(kernel.count).toBe(4);
  });

  it('everything PLAIN (no dictionaries: ids with nulls between them, channels row by row): the same as DuckDB', async () => {
    const plain = [
      await part(
        join(dir, 'store-keyed-plain'),
        'live',
        '2026-11-24',
        `${KEYED('2026-11-24', 'zed_newer')} ORDER BY viewer`,
        'COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1, ROW_GROUP_SIZE 8192',
      ),
    ];
    const b = new PresenceBuilder();
    const direct = await readPartsDirect(plain, 'store', b, new RejectLog(), {
      threads: 2,
      parallelMinRows: 0,
    });
    expect('declined' in direct ? direct.declined : direct.good).toBe(40_000);
    const duck = await keyedRead(plain, { direct: false, threads: 1 });
    expect(await keyedRead(plain, { threads: 2, parallelMinRows: 0 })).toEqual(duck);
    expect(await handingEveryOther(() => keyedRead(plain, { threads: 2, parallelMinRows: 0 }))).toEqual(duck);
  });

  it('the latest login of a renamed id at equal instants is the row read last', async () => {
    const one = [keyed[0] as string];
    const here = await keyedRead(one, { threads: 2, parallelMinRows: 0 });
    expect(here).toEqual(await keyedRead(one, { direct: false, threads: 1 }));
    // zed_new, zed_newer and zed_old share id 900 and every instant; sorted by login, zed_old is read last
    expect((here.viewerNames as string[])[(here.viewerIds as string[]).indexOf('900')]).toBe('zed_old');
  });

  it('one thread, a window, a bad row or an id to trim: DuckDB reads them, with the same result', async () => {
    const root = join(dir, 'store-keyed-declined');
    const padded = await part(
      root,
      'live',
      '2026-11-22',
      `SELECT * REPLACE (CASE WHEN viewer = 'bob' THEN ' 901' ELSE viewer_id END AS viewer_id)
       FROM (${KEYED('2026-11-22', 'x')})`,
    );
    const bad = await part(root, 'vod', '2026-11-23', BAD);
    const cases: [string[], StoredReadOptions][] = [
      [keyed, { threads: 1 }],
      [keyed, { threads: 2, parallelMinRows: 0, windowStart: Date.parse('2026-11-20T06:00:00Z') }],
      [[...keyed, bad], { threads: 2, parallelMinRows: 0 }],
      [[padded], { threads: 2, parallelMinRows: 0 }],
    ];
    for (const [parts, opts] of cases) {
      const b = new PresenceBuilder();
      const r = await readPartsDirect(parts, 'store', b, new RejectLog(), opts);
      expect('declined' in r).toBe(true);
      expect(b.length).toBe(0);
      const { threads: _, ...rest } = opts;
      expect(await keyedRead(parts, opts)).toEqual(
        await keyedRead(parts, { ...rest, direct: false, threads: 1 }),
      );
    }
  });
});
