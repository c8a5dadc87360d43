import { once } from 'node:events';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { ByteInterner, parseTimestampBytes, scanCsv } from '../src/ingest/csv-scan.js';
import {
  decodePresenceLine,
  detectFileKind,
  encodeMetadataLine,
  encodePresenceLine,
  readChannelMetadataFiles,
  readEdgeList,
  readPresenceFiles,
} from '../src/ingest/index.js';
import { PARALLEL_CSV_MIN_BYTES } from '../src/ingest/presence-csv.js';
import { defaultThreads, releaseWarmReadWorkers, warmReadWorker } from '../src/ingest/read-worker.js';
import { warmCsvReadWorker, warmStoredReadWorker } from '../src/ingest/warm-read.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { sqlString, withDuckDB } from '../src/storage/duckdb.js';

const FX = join(import.meta.dirname, 'fixtures', 'ingest');
const fx = (name: string) => join(FX, name);
const DATA = join(import.meta.dirname, '..', '..', 'shared', 'data');
const T = Date.parse('2026-11-24T13:05:00Z');

/** Rows of a table as readable tuples, in row order. */
function rows(t: PresenceTable): [string, string, string, number][] {
  const out: [string, string, string, number][] = [];
  for (let i = 0; i < t.length; i++) {
    out.push([
      t.channelNames[t.channel[i] as number] as string,
      t.viewerNames[t.viewer[i] as number] as string,
      new Date(t.ts[i] as number).toISOString(),
      t.messages[i] as number,
    ]);
  }
  return out;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'va-ingest-readers-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('presence CSV', () => {
  it('reads the fixture: BOM, CRLF, quotes, ISO/epoch s/epoch ms/offsets, defaults; rejects with file:line', async () => {
    const r = await readPresenceFiles([fx('presence.csv')]);
    expect(rows(r.table)).toEqual([
      ['xqc', 'alice', '2026-11-24T13:05:00.000Z', 3],
      ['xqc', 'bob', '2026-11-24T13:05:00.000Z', 1],
      ['shroud', 'o"brien', '2026-11-24T13:05:00.000Z', 2],
      ['pokimane', 'eve, the second', '2026-11-24T13:05:00.000Z', 1],
      ['xqc', 'frank', '2026-11-24T13:20:00.250Z', 0],
      ['xqc', 'grace', '2026-11-24T13:25:00.000Z', 1],
    ]);
    expect(r.rowsRead).toBe(6);
    expect(r.rejectedCount).toBe(4);
    expect(r.rejected.map((x) => [x.line, x.reason.split(' ')[0] + (x.reason.split(' ')[1] ?? '')])).toEqual([
      [5, 'emptyviewer'],
      [6, 'badts'],
      [7, 'badmessages'],
      [12, 'badsource'],
    ]);
    expect(r.rejected[0]?.file).toBe(fx('presence.csv'));
    // Interned ids are dense and shared across rows.
    expect(r.table.channelNames).toEqual(['xqc', 'shroud', 'pokimane']);
    expect(r.table.channel).toBeInstanceOf(Uint32Array);
    expect(r.table.ts).toBeInstanceOf(Float64Array);
  });

  it('applies the window [start, end)', async () => {
    const r = await readPresenceFiles([fx('presence.csv')], {
      windowStart: T + 60_000,
      windowEnd: Date.parse('2026-11-24T13:25:00Z'),
    });
    expect(rows(r.table).map((x) => x[1])).toEqual(['frank']);
    expect(r.rowsOutsideWindow).toBe(5);
  });

  it('keeps records and line numbers right across read-chunk boundaries', async () => {
    // 3000 rows with bad ones at known lines, scanned with a tiny buffer so records straddle reads.
    const lines = ['channel,viewer,ts,messages'];
    const bad = new Set([17, 1000, 2999]);
    for (let i = 0; i < 3000; i++) {
      const line = i + 2;
      lines.push(
        bad.has(line) ? `c${i % 7},"v${i}",garbage,1` : `c${i % 7},"v""${i}",${1_795_525_500 + i},${i % 5}`,
      );
    }
    const path = join(tmp, 'chunks.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const seen: number[] = [];
    let n = 0;
    await scanCsv(
      path,
      {
        header: () => {},
        row: (_b, _s, _e, count, line) => {
          if (count === 4) n++;
          if (line % 997 === 0) seen.push(line);
        },
      },
      { chunkBytes: 64 },
    );
    expect(n).toBe(3000);
    expect(seen).toEqual([997, 1994, 2991]);
    const r = await readPresenceFiles([path]);
    expect(r.rowsRead).toBe(2997);
    expect(r.rejected.map((x) => x.line)).toEqual([17, 1000, 2999]);
    expect(r.table.viewerNames[0]).toBe('v"0');
    expect(r.table.channelNames).toHaveLength(7);
  });

  it('scans quoted and plain records alike at every buffer size (against a string-level RFC 4180 reference)', async () => {
    let x = 11;
    const rnd = (n: number) => {
      x = (x * 1103515245 + 12345) >>> 0;
      return x % n;
    };
    const kinds = [
      () => `w${rnd(1000)}`,
      () => '',
      () => `"a,${rnd(9)}"`,
      () => `"say ""hi"" ${rnd(9)}"`,
      () => `"two\nlines ${rnd(9)}"`,
      () => `"plain${rnd(9)}"`,
    ];
    const records: string[] = [];
    for (let r = 0; r < 400; r++) {
      // long quote-free stretches, then quoted fields, so both paths meet at every offset
      const quoted = r % 50 > 40;
      const fields = Array.from({ length: 4 }, () =>
        quoted ? kinds[rnd(kinds.length)]!() : kinds[rnd(2)]!(),
      );
      records.push(fields.join(','));
    }
    const text = `h1,h2,h3,h4\n${records.map((r, i) => r + (i % 7 === 3 ? '\r\n' : '\n')).join('')}\nlast,"x""y",,z`;
    // Reference: RFC 4180 on the string, blank lines skipped, CR before LF dropped.
    const want: string[][] = [];
    let i = 0;
    while (i < text.length) {
      const fields: string[] = [];
      for (;;) {
        let f = '';
        if (text[i] === '"') {
          i++;
          for (;;) {
            if (text[i] === '"' && text[i + 1] === '"') {
              f += '"';
              i += 2;
            } else if (text[i] === '"') {
              i++;
              break;
            } else f += text[i++];
          }
        }
        while (i < text.length && text[i] !== ',' && text[i] !== '\n') f += text[i++];
        fields.push(f.endsWith('\r') ? f.slice(0, -1) : f);
        if (text[i] === ',') {
          i++;
          continue;
        }
        i++; // newline or end
        break;
      }
      if (fields.length > 1 || fields[0] !== '') want.push(fields);
    }
    const path = join(tmp, 'mixed-quotes.csv');
    await writeFile(path, text);
    const dec = new TextDecoder();
    for (const chunkBytes of [16, 61, 256, 4096, undefined]) {
      const got: string[][] = [];
      await scanCsv(
        path,
        {
          header: (names) => got.push(names),
          row: (b, st, en, count) => {
            got.push(Array.from({ length: count }, (_, f) => dec.decode(b.subarray(st[f], en[f]))));
          },
        },
        chunkBytes ? { chunkBytes } : {},
      );
      expect(got).toEqual(want);
    }
    expect(want.length).toBe(402);
  });

  it('two threads (this one + a worker) read exactly what one thread reads, bad-row lines included', async () => {
    const lines = ['channel,viewer,ts,source,messages'];
    for (let i = 0; i < 40_000; i++) {
      const line = i + 2;
      if (line === 9 || line === 39_000) lines.push(`c${i % 13},,${1_795_525_500 + i},live,1`);
      else lines.push(`C${(i * 7) % 13},v${(i * 31) % 5000},${1_795_525_500 + (i % 977) * 60},live,${i % 4}`);
    }
    const path = join(tmp, 'parallel.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const one = await readPresenceFiles([path], { threads: 1 });
    const two = await readPresenceFiles([path], { threads: 2, parallelMinBytes: 0 });
    expect(two.rowsRead).toBe(39_998);
    expect(two.rejected.map((r) => [r.line, r.reason])).toEqual([
      [9, 'empty viewer'],
      [39_000, 'empty viewer'],
    ]);
    expect(rows(two.table)).toEqual(rows(one.table));
    expect(two.table.viewerNames.length).toBe(one.table.viewerNames.length);
    expect(two.filesReadInParallel).toBe(1);
    expect(one.filesReadInParallel).toBe(0);
  });

  it('a warm worker (spawned before the read, as analyze does) takes the read; one no read took is stopped', async () => {
    const lines = ['channel,viewer,ts,source,messages'];
    for (let i = 0; i < 30_000; i++) lines.push(`c${i % 11},v${(i * 17) % 4000},${1_795_525_500 + i},live,1`);
    const path = join(tmp, 'warm.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const one = await readPresenceFiles([path], { threads: 1 });
    const url = new URL('../src/ingest/csv-worker.mjs', import.meta.url);
    const exited = (w: Worker | undefined) =>
      Promise.race([
        once(w as Worker, 'exit').then(() => 'exited'),
        new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000)),
      ]);
    // spawned warm, then handed its job (and stopped after it); told once it has answered
    const first = await warmReadWorker(url);
    expect(first).toBeDefined();
    const firstExit = exited(first);
    let told = 0;
    const two = await readPresenceFiles([path], {
      threads: 2,
      parallelMinBytes: 0,
      onWorkerDone: () => told++,
    });
    expect(await firstExit).toBe('exited');
    expect(told).toBe(1);
    expect(two.filesReadInParallel).toBe(1);
    expect(rows(two.table)).toEqual(rows(one.table));
    // a warm worker that died before its job is not handed one: the read spawns its own
    const dead = await warmReadWorker(url);
    await dead?.terminate();
    const again = await readPresenceFiles([path], { threads: 2, parallelMinBytes: 0 });
    expect(again.filesReadInParallel).toBe(1);
    expect(rows(again.table)).toEqual(rows(one.table));
    // one no read takes is stopped by the release
    const unused = await warmReadWorker(url);
    const unusedExit = exited(unused);
    releaseWarmReadWorkers();
    expect(await unusedExit).toBe('exited');
  });

  it('analyze warms a read worker only for inputs the two-thread read takes: a big CSV (or a folder with one), big stored parts', async () => {
    const small = join(tmp, 'small.csv');
    await writeFile(small, 'channel,viewer,ts\nc,v,1795525500\n');
    const big = join(tmp, 'warm-folder', 'presence.csv');
    await mkdir(join(tmp, 'warm-folder'));
    await writeFile(big, '');
    await truncate(big, PARALLEL_CSV_MIN_BYTES);
    const store = join(tmp, 'warm-store');
    await mkdir(join(store, 'presence', 'source=import', 'dt=2026-11-24'), { recursive: true });
    const part = join(store, 'presence', 'source=import', 'dt=2026-11-24', 'part-0.parquet');
    await writeFile(part, '');
    try {
      expect(await warmCsvReadWorker([small])).toBe(false);
      expect(await warmCsvReadWorker([join(tmp, 'no-such.csv')])).toBe(false);
      expect(await warmCsvReadWorker([small, join(tmp, 'warm-folder')])).toBe(availableParallelism() >= 2);
      expect(await warmCsvReadWorker([big])).toBe(availableParallelism() >= 2);
      expect(await warmStoredReadWorker(store)).toBe(false);
      await truncate(part, 8 * 1024 * 1024);
      expect(await warmStoredReadWorker(store)).toBe(defaultThreads() === 2);
    } finally {
      releaseWarmReadWorkers();
    }
  });

  it('never splits a file that uses quotes (a newline could hide inside a field)', async () => {
    const path = join(tmp, 'quoted-big.csv');
    const body = Array.from({ length: 5000 }, (_, i) => `"c${i % 3}","v${i}",1795525500`).join('\n');
    await writeFile(path, `channel,viewer,ts\n${body}\n`);
    const r = await readPresenceFiles([path], { threads: 2, parallelMinBytes: 0 });
    expect(r.filesReadInParallel).toBe(0);
    expect(r.rowsRead).toBe(5000);
  });

  it.each([
    ['long rows first (the worker outgrows its shared block)', false],
    ['short rows first (this thread outgrows its block)', true],
  ])('two threads stay exact when row sizes are uneven: %s', async (_name, shortFirst) => {
    const long = Array.from({ length: 1500 }, (_, i) => `xqc,${'v'.repeat(150)}${i},1795525500,live,1`);
    const short = Array.from({ length: 15_000 }, (_, i) => `c${i % 9},u${i % 700},1795525500,live,2`);
    const body = shortFirst ? [...short, ...long] : [...long, ...short];
    const path = join(tmp, `uneven-${shortFirst}.csv`);
    await writeFile(path, `channel,viewer,ts,source,messages\n${body.join('\n')}\n`);
    const one = await readPresenceFiles([path], { threads: 1 });
    const two = await readPresenceFiles([path], { threads: 2, parallelMinBytes: 0 });
    expect(two.rowsRead).toBe(16_500);
    expect(rows(two.table)).toEqual(rows(one.table));
  });

  it('reads a last line without newline and a quoted field with an embedded newline', async () => {
    const path = join(tmp, 'nl.csv');
    await writeFile(path, 'channel,viewer,ts\nxqc,"multi\nline",1795525500\nxqc,last,1795525500');
    const r = await readPresenceFiles([path]);
    expect(r.table.viewerNames).toEqual(['multi\nline', 'last']);
  });

  it('fails a file with no readable row, a missing column, or mostly garbage: InputError naming the file', async () => {
    await expect(readPresenceFiles([fx('empty.csv')])).rejects.toThrow(/empty\.csv: empty file/);
    await expect(readPresenceFiles([fx('wrong-columns.csv')])).rejects.toThrow(
      /wrong-columns\.csv:1: missing required column\(s\) channel, ts/,
    );
    const garbage = readPresenceFiles([fx('garbage-rows.csv')]);
    await expect(garbage).rejects.toBeInstanceOf(InputError);
    await expect(readPresenceFiles([fx('garbage-rows.csv')])).rejects.toThrow(
      /garbage-rows\.csv: mostly unreadable, 5 of 6 rows rejected \(first: line 3/,
    );
    const headerOnly = join(tmp, 'header-only.csv');
    await writeFile(headerOnly, 'channel,viewer,ts\n');
    await expect(readPresenceFiles([headerOnly])).rejects.toThrow(/no readable row/);
  });
});

describe('presence JSON Lines and Parquet', () => {
  it('reads JSON Lines (raw format), counting bad lines', async () => {
    const r = await readPresenceFiles([fx('presence.jsonl')]);
    expect(rows(r.table)).toEqual([
      ['xqc', 'alice', '2026-11-24T13:05:00.000Z', 3],
      ['xqc', 'bob', '2026-11-24T13:05:00.000Z', 1],
      ['shroud', 'alice', '2026-11-24T13:05:00.000Z', 0],
      ['shroud', 'carol', '2026-11-24T13:10:00.000Z', 2],
    ]);
    expect(r.rejected.map((x) => [x.line, x.reason])).toEqual([
      [4, 'not valid JSON (torn or garbage line)'],
      [5, 'missing "viewer"'],
    ]);
  });

  it('reads Parquet (timestamp, string or epoch ts), interning across files', async () => {
    const pq = join(tmp, 'p.parquet');
    const pq2 = join(tmp, 'p2.parquet');
    await withDuckDB(async (c) => {
      await c.run(`COPY (SELECT * FROM (VALUES
          ('XQC', 'Alice', TIMESTAMP '2026-11-24 13:05:00', 3, 'live'),
          ('xqc', NULL, TIMESTAMP '2026-11-24 13:05:00', 1, 'live'),
          ('shroud', 'bob', TIMESTAMP '2026-11-24 13:10:00', NULL, 'vod')) t(channel, viewer, ts, messages, source))
        TO ${sqlString(pq)} (FORMAT parquet)`);
      await c.run(`COPY (SELECT * FROM (VALUES ('xqc', 'carol', '2026-11-24T13:05:00Z'), ('xqc', 'dan', '1795525500')) t(channel, viewer, ts))
        TO ${sqlString(pq2)} (FORMAT parquet)`);
    });
    const r = await readPresenceFiles([fx('presence.csv'), pq, pq2]);
    const got = rows(r.table).slice(6);
    expect(got).toEqual([
      ['xqc', 'alice', '2026-11-24T13:05:00.000Z', 3],
      ['shroud', 'bob', '2026-11-24T13:10:00.000Z', 1],
      ['xqc', 'carol', '2026-11-24T13:05:00.000Z', 1],
      ['xqc', 'dan', '2026-11-24T13:05:00.000Z', 1],
    ]);
    // Same names map to the same ids as in the CSV.
    expect(r.table.channelNames).toEqual(['xqc', 'shroud', 'pokimane']);
    expect(r.rejected.find((x) => x.file === pq)).toMatchObject({ line: 2, reason: 'row 2: empty viewer' });
  });

  it('a 0-byte or non-Parquet .parquet file is an InputError', async () => {
    await expect(readPresenceFiles([fx('empty.parquet')])).rejects.toThrow(
      /empty\.parquet: empty file \(0 bytes\)/,
    );
    await expect(readPresenceFiles([fx('not-parquet.parquet')])).rejects.toThrow(
      /not-parquet\.parquet: not a readable Parquet file/,
    );
  });
});

describe('metadata and edge lists', () => {
  it('reads channel metadata CSV, rejecting bad rows with line numbers', async () => {
    const r = await readChannelMetadataFiles([fx('metadata.csv')], { now: T });
    expect(r.records).toEqual([
      { channel: 'xqc', language: 'en', game: 'Just Chatting', viewer_count: 52000, observed_at: T },
      { channel: 'shroud', language: 'en', game: 'VALORANT', observed_at: T },
      { channel: 'auronplay', language: 'es', game: 'Minecraft', viewer_count: 31000, observed_at: T },
    ]);
    expect(r.rejected.map((x) => [x.line, x.reason])).toEqual([
      [4, 'bad viewer_count "notanumber"'],
      [5, 'empty channel'],
    ]);
  });

  it('reads a Gephi edge list with its node file', async () => {
    const r = await readEdgeList(fx('edges.csv'), fx('nodes.csv'));
    const t = r.table;
    expect(t.nodeNames).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(Array.from(t.nodeAudience)).toEqual([100, 80, 60, 40, 20]);
    expect(t.length).toBe(4);
    expect(Array.from(t.weight)).toEqual([10, 5, 7.5, 1]);
    expect(r.rejected.map((x) => [x.line, x.reason])).toEqual([
      [6, 'empty source'],
      [7, 'self-loop d'],
    ]);
  });

  it('negative or non-numeric weights fail the file naming file:line', async () => {
    await expect(readEdgeList(fx('edges-negative.csv'))).rejects.toThrow(
      /edges-negative\.csv:3: negative weight -3/,
    );
    await expect(readEdgeList(fx('edges-nonnumeric.csv'))).rejects.toThrow(
      /edges-nonnumeric\.csv:3: non-numeric weight "lots"/,
    );
  });

  it('reads the real 2021 atlas: 82,275 edges and 2,200 nodes with audiences', async () => {
    const r = await readEdgeList(
      join(DATA, 'twitch-atlas-2021-10-edges.csv'),
      join(DATA, 'twitch-atlas-2021-10-channels.csv'),
    );
    expect(r.table.length).toBe(82_275);
    expect(r.table.nodeNames).toHaveLength(2_200);
    expect(r.nodesRead).toBe(2_200);
    expect(r.rejectedCount).toBe(0);
    const i = r.table.nodeNames.indexOf('ESL_CSGOb');
    expect(r.table.nodeAudience[i]).toBe(73_590);
    expect(r.table.source[0]).toBe(r.table.nodeNames.indexOf('GUANYAR'));
    expect(r.table.weight[0]).toBe(1035);
  });
});

describe('detectFileKind', () => {
  it('tells the kinds apart from headers', async () => {
    expect(await detectFileKind(fx('presence.csv'))).toBe('presence');
    expect(await detectFileKind(fx('presence.jsonl'))).toBe('presence');
    expect(await detectFileKind(fx('metadata.csv'))).toBe('metadata');
    expect(await detectFileKind(fx('edges.csv'))).toBe('edges');
    expect(await detectFileKind(fx('nodes.csv'))).toBe('nodes');
    expect(await detectFileKind(join(DATA, 'twitch-atlas-2021-10-channels.csv'))).toBe('nodes');
    const chat = join(tmp, 'chat.json');
    await writeFile(
      chat,
      JSON.stringify({
        streamer: { name: 'x', id: 1 },
        video: { id: '1' },
        comments: [{ content_offset_seconds: 1 }],
      }),
    );
    expect(await detectFileKind(chat)).toBe('twitch-chat');
    await expect(detectFileKind(fx('wrong-columns.csv'))).rejects.toThrow(
      /wrong-columns\.csv:1: unknown header/,
    );
    await expect(detectFileKind(fx('empty.csv'))).rejects.toThrow(/empty file/);
  });
});

describe('raw JSON Lines and low-level parsers', () => {
  it('round-trips presence and metadata lines', () => {
    const rec = {
      channel: 'xqc',
      viewer: 'someone',
      ts: T,
      source: 'vod' as const,
      messages: 3,
      vod_id: '42',
    };
    const line = encodePresenceLine(rec);
    expect(line).toBe(
      '{"channel":"xqc","viewer":"someone","ts":"2026-11-24T13:05:00.000Z","source":"vod","messages":3,"vod_id":"42"}\n',
    );
    expect(decodePresenceLine(line)).toEqual(rec);
    expect(decodePresenceLine(line.slice(0, 30))).toMatch(/torn/);
    expect(encodeMetadataLine({ channel: 'xqc', game: 'Just Chatting', observed_at: T })).toBe(
      '{"channel":"xqc","game":"Just Chatting","observed_at":"2026-11-24T13:05:00.000Z"}\n',
    );
  });

  it('parses timestamp bytes like Date.parse (UTC when no zone)', () => {
    const b = (s: string) => {
      const buf = Buffer.from(s);
      return parseTimestampBytes(buf, 0, buf.length);
    };
    for (const s of [
      '2026-11-24T13:05:00Z',
      '2026-11-24T13:05:00.123Z',
      '2026-11-24T13:05:00+02:00',
      '2026-11-24T13:05:00-0530',
      '2000-02-29T23:59:59.9Z',
      '1969-12-31T23:59:59Z',
    ]) {
      expect(b(s), s).toBe(Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')));
    }
    expect(b('2026-11-24 13:05')).toBe(Date.parse('2026-11-24T13:05:00Z'));
    expect(b('2026-11-24')).toBe(Date.parse('2026-11-24T00:00:00Z'));
    expect(b('1795525500')).toBe(1_795_525_500_000);
    expect(b('1795525500000')).toBe(1_795_525_500_000);
    expect(b('1795525500.5')).toBe(1_795_525_500_500);
    expect(b('nope')).toBeNaN();
    expect(b('2026-13-01')).toBeNaN();
  });

  it('interns bytes case-insensitively to dense ids and decodes names back', () => {
    const it = new ByteInterner();
    const ids: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const s = Buffer.from(i % 2 ? `User${i % 5000}` : `user${i % 5000}`);
      ids.push(it.intern(s, 0, s.length));
    }
    expect(it.size).toBe(5000);
    expect(ids[0]).toBe(0);
    expect(ids[1]).toBe(1);
    expect(ids[5000]).toBe(0);
    expect(it.internString('USER1')).toBe(1);
    expect(it.names().slice(0, 3)).toEqual(['user0', 'user1', 'user2']);
    const exact = new ByteInterner({ lowerCase: false });
    expect(exact.internString('A')).not.toBe(exact.internString('a'));
  });
});

describe('latestPerChannel', () => {
  it('keeps the latest value of each field: a later ROOMSTATE record does not erase discovery', async () => {
    const { latestPerChannel } = await import('../src/ingest/index.js');
    const merged = latestPerChannel([
      { channel: 'b', observed_at: 5, game: 'Chess' },
      { channel: 'a', observed_at: 10, language: 'en', game: 'VALORANT', viewer_count: 120 },
      { channel: 'a', observed_at: 20, display_name: 'A' },
      { channel: 'a', observed_at: 30, game: 'Just Chatting' },
    ]);
    expect(merged).toEqual([
      {
        channel: 'a',
        observed_at: 30,
        language: 'en',
        game: 'Just Chatting',
        viewer_count: 120,
        display_name: 'A',
      },
      { channel: 'b', observed_at: 5, game: 'Chess' },
    ]);
  });
});
