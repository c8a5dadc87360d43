/**
 * The CSV presence read's fast path (presence-csv-plain.ts) must keep exactly the rows, ids,
 * rejections (line and reason) and counts of the general path, on records of every kind it
 * declines as well as the plain ones it reads itself, at buffer sizes that split records — with
 * its WebAssembly kernel (csv-kernel.ts, forced on for these small files) and without it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRng as rng } from '../src/analysis/rng.js';
import { CsvKernel } from '../src/ingest/csv-kernel.js';
import { readPresenceCsv } from '../src/ingest/presence-csv.js';
import { PlainPresenceRows } from '../src/ingest/presence-csv-plain.js';
import { PresenceBuilder, type PresenceReadOptions, RejectLog } from '../src/ingest/presence-rows.js';

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'va-plain-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const T0 = 1_795_525_500;
/** Records the fast path declines (each is read, or rejected, by the general path). */
const ODD: ((r: () => number) => string)[] = [
  () => 'Chan1,Viewer1,1795525500,live,2\r',
  () => 'chan2,v2,1795525500,live,1,extra',
  () => 'chan3,v3',
  () => ',v4,1795525500,live,1',
  () => 'chan5,,1795525500,live,1',
  () => 'chan6,v\u00006,1795525500,live,1',
  () => `chan7,${'x'.repeat(300)},1795525500,live,1`,
  // names at the byte limit (kept) and one byte over (rejected), in both name columns
  () => `${'c'.repeat(256)},v7b,1795525500,live,1`,
  () => `${'c'.repeat(257)},v7c,1795525500,live,1`,
  () => `chan7d,${'w'.repeat(256)},1795525500,live,1`,
  () => `chan7e,${'w'.repeat(257)},1795525500,live,1`,
  // epoch digits at the 15-digit limit of the digit loop, and one more
  () => 'chan7f,v7f,000001795525500,live,1',
  () => 'chan7g,v7g,0000001795525500,live,1',
  () => 'chan8,v8,2026-11-30T10:05:00Z,vod,3',
  // ISO-8601 as parseTimestampBytes reads it (the kernel too): zones, fractions, edge values
  () => 'chan8b,v8b,2026-11-30T10:05:07.5+01:00,live,1',
  () => 'chan8c,v8c,2026-11-30T10:05:07.123456z,live,1',
  () => 'chan8d,v8d,2026-11-30T23:59:60-0530,live,1',
  () => 'chan8e,v8e,2026-11-30,live,1',
  () => 'chan8f,v8f,2026-02-29T00:00,live,1',
  () => 'chan8g,v8g,2026-13-01T00:00Z,live,1',
  () => 'chan8h,v8h,2026-11-30T24:00Z,live,1',
  () => 'chan8i,v8i,2026-11-30T10:5Z,live,1',
  () => 'chan8j,v8j,2026-11-30T10:05:07+01,live,1',
  () => 'chan8k,v8k,2026-11-30T10:05:07.Z,live,1',
  () => 'chan8l,v8l,2026-11-30t10:05Z,live,1',
  () => 'chan9,v9,2026-11-30 10:05,import,',
  () => 'chan10,v10,yesterday,live,1',
  () => 'chan11,v11,1200000000,live,1',
  () => 'chan12,v12,4102444800,live,1',
  () => 'chan13,v13,1795525500.25,live,1',
  () => 'chan14,v14,1795525500123,live,1',
  () => 'chan15,v15,1795525500,live,2000000',
  () => 'chan16,v16,1795525500,live,x',
  () => 'chan17,v17,1795525500,LIVE,1',
  () => 'chan18,v18,1795525500,radio,1',
  () => 'chan19,v19,1795525500,,1',
  () => '',
  () => '"chan20",v20,1795525500,live,1',
  () => 'chan21,"v,21",1795525500,live,1',
  () => 'chän22,vïewer22,1795525500,live,1',
  () => 'chan23,v23,,live,1',
  () => 'chan24,v24,-5,live,1',
  () => 'chan25,v25,1795525500,live,1234567890123456',
  // a count at the 15-digit limit, and one digit more of the same value
  () => 'chan25b,v25b,1795525500,live,000000000000007',
  () => 'chan25c,v25c,1795525500,live,0000000000000007',
  // names longer than the kernel's cache slots hold (it interns them every time)
  () => `chan27${'y'.repeat(47)},v27,1795525500,live,1`,
  () => `chan28,V28${'z'.repeat(60)},1795525500,live,1`,
  () => `chan28,v28${'z'.repeat(60)},1795525500,live,1`,
  (r) => `chan26,v${Math.floor(r() * 50)},${T0 + Math.floor(r() * 86_400)},live,${Math.floor(r() * 9)}`,
];

function file(seed: number, rows: number): string {
  const r = rng(seed);
  const out = ['channel,viewer,ts,source,messages'];
  for (let i = 0; i < rows; i++) {
    if (r() < 0.15) out.push((ODD[Math.floor(r() * ODD.length)] as (r: () => number) => string)(r));
    else {
      const c = `C${Math.floor(r() * 40)}`;
      const v = `${r() < 0.5 ? 'U' : 'u'}${Math.floor(r() * 300)}`;
      out.push(
        `${c},${v},${T0 + Math.floor(r() * 86_400 * 3)},live,${r() < 0.1 ? '' : Math.floor(r() * 20)}`,
      );
    }
  }
  return `${out.join('\n')}${r() < 0.5 ? '\n' : ''}`;
}

async function read(path: string, opts: PresenceReadOptions) {
  const b = new PresenceBuilder({ capacity: 0 });
  const log = new RejectLog();
  const st = await readPresenceCsv(path, b, log, opts);
  const channels = b.channels.names();
  const viewers = b.viewers.names();
  return {
    st,
    rows: Array.from({ length: b.length }, (_, i) => [
      channels[b.channel[i] as number],
      viewers[b.viewer[i] as number],
      b.ts[i],
      b.messages[i],
    ]),
    // ids in first-seen order must match too: later stages number channels by them
    channels,
    viewers,
    rejected: log.rejected.map((x) => [x.line, x.reason]),
    count: log.count,
  };
}

/**
 * `read` into a builder with extras (as import reads), whose arrays hold other values first (as
 * import's reused batch arrays do, so a path that left an extra unwritten shows): the rows, then
 * each row's source, kind, VOD and Twitch-id codes.
 */
async function readExtras(path: string, opts: PresenceReadOptions) {
  const b = new PresenceBuilder({ capacity: 20_000, extras: true });
  const ex = b.extras;
  if (!ex) throw new Error('no extras');
  for (const a of [ex.source, ex.kind, ex.vod, ex.viewerId, ex.channelId]) a.fill(7);
  const log = new RejectLog();
  const st = await readPresenceCsv(path, b, log, opts);
  const channels = b.channels.names();
  const viewers = b.viewers.names();
  const rows: unknown[][] = [];
  const extras: number[][] = [];
  for (let i = 0; i < b.length; i++) {
    rows.push([channels[b.channel[i] as number], viewers[b.viewer[i] as number], b.ts[i], b.messages[i]]);
    extras.push([
      ex.source[i] as number,
      ex.kind[i] as number,
      ex.vod[i] as number,
      ex.viewerId[i] as number,
      ex.channelId[i] as number,
    ]);
  }
  return { st, rows, extras, rejected: log.rejected.map((x) => [x.line, x.reason]), count: log.count };
}

/**
 * Reads `path` by the general path and by the fast one with and without the kernel, at each
 * chunk size, and expects the same; the general path's reads.
 */
async function bothPathsAgree(
  path: string,
  chunkSizes: (number | undefined)[],
  opts: PresenceReadOptions = {},
) {
  const reads = [];
  for (const csvChunkBytes of chunkSizes) {
    const general = await read(path, { ...opts, csvChunkBytes, plainPath: false });
    for (const csvKernel of [false, true])
      expect(await read(path, { ...opts, csvChunkBytes, csvKernel })).toEqual(general);
    reads.push(general);
  }
  return reads;
}

describe('CSV presence fast path', () => {
  it('reads exactly what the general path reads, at every buffer size, with and without a window', async () => {
    const spy = vi.spyOn(PlainPresenceRows.prototype, 'rows');
    for (const seed of [1, 2, 3]) {
      const path = join(tmp, `mixed-${seed}.csv`);
      await writeFile(path, file(seed, 3000));
      for (const csvChunkBytes of [23, 64, 1000, undefined]) {
        for (const window of [
          {},
          { windowStart: (T0 + 86_400) * 1000, windowEnd: (T0 + 2 * 86_400) * 1000 },
        ]) {
          const general = await read(path, { ...window, csvChunkBytes, plainPath: false });
          for (const csvKernel of [false, true]) {
            const calls = spy.mock.calls.length;
            const plain = await read(path, { ...window, csvChunkBytes, csvKernel });
            expect(spy.mock.calls.length).toBeGreaterThan(calls);
            expect(plain).toEqual(general);
          }
          expect(general.count).toBeGreaterThan(50);
          expect(general.rows.length).toBeGreaterThan('windowStart' in window ? 500 : 2000);
        }
      }
    }
    // The fast path really read rows (it is not always declining).
    const consumed = spy.mock.results.some(
      (r, i) => (r.value as number) > (spy.mock.calls[i]?.[1] as number),
    );
    expect(consumed).toBe(true);
    spy.mockRestore();
  });

  it("import's rows (extras): each row's source as the general path reads it, and no kind, VOD or ids", async () => {
    const spy = vi.spyOn(PlainPresenceRows.prototype, 'rows');
    const sources = ['live', 'vod', 'import', 'LIVE', 'Vod', 'IMPORT', '', 'radio', 'lives'];
    const r = rng(5);
    const lines = ['channel,viewer,ts,source,messages'];
    for (let i = 0; i < 4000; i++) {
      if (r() < 0.1) lines.push((ODD[Math.floor(r() * ODD.length)] as (r: () => number) => string)(r));
      else {
        const src = sources[Math.floor(r() * sources.length)];
        lines.push(`c${i % 23},u${Math.floor(r() * 400)},${T0 + i * 30},${src},${i % 7}`);
      }
    }
    const path = join(tmp, 'sources.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    for (const csvChunkBytes of [29, 500, undefined]) {
      const general = await readExtras(path, { csvChunkBytes, plainPath: false });
      for (const csvKernel of [false, true]) {
        const calls = spy.mock.calls.length;
        expect(await readExtras(path, { csvChunkBytes, csvKernel })).toEqual(general);
        expect(spy.mock.calls.length).toBeGreaterThan(calls);
      }
      const seen = new Set(general.extras.map((x) => x[0]));
      expect([...seen].sort()).toEqual([0, 1, 2]);
      expect(general.rejected.some(([, why]) => String(why).includes('radio'))).toBe(true);
    }
    spy.mockRestore();
  });

  it("import's rows (extras) of files in another column order: the source through the loop over roles", async () => {
    const sources = ['live', 'VOD', 'import', '', 'radio'];
    const r = rng(9);
    const lines = ['source,ts,viewer,channel'];
    for (let i = 0; i < 1500; i++)
      lines.push(`${sources[Math.floor(r() * sources.length)]},${T0 + i * 11},u${i % 77},c${i % 9}`);
    const path = join(tmp, 'sources-order.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    for (const csvChunkBytes of [41, undefined]) {
      const general = await readExtras(path, { csvChunkBytes, plainPath: false });
      expect(await readExtras(path, { csvChunkBytes, csvKernel: false })).toEqual(general);
      expect(new Set(general.extras.map((x) => x[0]))).toEqual(new Set([0, 1, 2]));
    }
  });

  it("import's rows of files with kind or VOD columns stay on the general path", async () => {
    const lines = ['channel,viewer,ts,source,messages,vod_id,kind'];
    for (let i = 0; i < 500; i++)
      lines.push(
        `c${i % 7},u${i % 31},${T0 + i},vod,1,${i % 3 ? '' : `v${i % 4}`},${i % 5 ? 'chat' : 'membership'}`,
      );
    const path = join(tmp, 'vod-kind.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const general = await readExtras(path, { plainPath: false });
    expect(await readExtras(path, { csvKernel: true })).toEqual(general);
    expect(general.extras.filter(([, kind]) => kind === 1)).toHaveLength(100);
    expect(general.extras.filter(([, , vod]) => vod > 0)).toHaveLength(167);
  });

  it('leaves every record with a quote to the scanner, even in a column it does not read', async () => {
    const r = rng(11);
    const notes = ['', 'plain', '"a\nb"', '"x,y"', '"q""q"', '"\n"'];
    const lines = ['channel,viewer,ts,source,messages,note'];
    for (let i = 0; i < 3000; i++) {
      lines.push(
        `c${i % 17},u${i % 101},${T0 + i * 60},live,${i % 7},${notes[Math.floor(r() * notes.length)]}`,
      );
    }
    // quoted fields the fast path reads itself would have: all of them declined, none misread
    lines.push(`"c1",u1,${T0},live,1,`, `c1,"u1",${T0},live,1,`, `c1,u1,"${T0}",live,1,`);
    lines.push(`c1,u1,${T0},"live",1,`, `c1,u1,${T0},live,"1",`, `c2,u2,${T0},live,2,"`);
    const path = join(tmp, 'quoted.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    for (const general of await bothPathsAgree(path, [29, 4096, undefined])) {
      // a newline inside quotes is not the end of a record: every record's row is there
      expect(general.rows.length).toBeGreaterThanOrEqual(3005);
      expect(general.rows[2999]).toEqual(['c7', 'u70', (T0 + 2999 * 60) * 1000, 3]);
    }
  });

  it('stays on for files where many records are quoted (those are not held against it)', async () => {
    const lines = ['channel,viewer,ts,source,messages'];
    for (let i = 0; i < 3000; i++) {
      // two quoted records in a row: the fast path declines the second one outright
      lines.push(
        i % 4 < 2 ? `"c${i % 9}",u${i % 70},${T0 + i},live,1` : `c${i % 9},u${i % 70},${T0 + i},live,1`,
      );
    }
    const text = `${lines.join('\n')}\n`;
    const path = join(tmp, 'half-quoted.csv');
    await writeFile(path, text);
    const spy = vi.spyOn(PlainPresenceRows.prototype, 'rows');
    const plain = await read(path, {});
    const late = Buffer.byteLength(lines.slice(0, 2900).join('\n'));
    expect(spy.mock.results.some((r) => (r.value as number) > late)).toBe(true);
    spy.mockRestore();
    expect(plain).toEqual(await read(path, { plainPath: false }));
    expect(plain.rows.length).toBe(3000);
  });

  it('reads files of the three required columns only, odd records included', async () => {
    const r = rng(13);
    const lines = ['channel,viewer,ts'];
    for (let i = 0; i < 2000; i++) {
      const odd = r();
      if (odd < 0.03) lines.push(`c${i % 7},u${i % 50},2026-11-30T10:05:00Z`);
      else if (odd < 0.05) lines.push(`c${i % 7},u${i % 50},${T0 + i}\r`);
      else if (odd < 0.07) lines.push(`c${i % 7},u${i % 50},${T0 + i},extra`);
      else if (odd < 0.09) lines.push(`c${i % 7},u${i % 50}`);
      else lines.push(`c${i % 7},u${i % 50},${T0 + i * 7}`);
    }
    const path = join(tmp, 'three.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    for (const general of await bothPathsAgree(path, [17, undefined])) {
      expect(general.rows.length).toBeGreaterThan(1800);
      expect(general.count).toBeGreaterThan(10);
    }
  });

  it('reads columns in any order and skips the ones analysis does not use', async () => {
    const r = rng(7);
    const lines = ['kind,ts,Viewer,extra,channel,vod_id'];
    for (let i = 0; i < 2000; i++) {
      const bad = r() < 0.05 ? ',' : '';
      lines.push(`chat,${T0 + i * 60},u${i % 97}${bad},x${i},c${i % 13},${i % 5 ? '' : '123'}`);
    }
    const path = join(tmp, 'order.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    for (const general of await bothPathsAgree(path, [31, undefined])) {
      expect(general.rows.length).toBeGreaterThan(1800);
      // a record with one field too many (the viewer's comma) shifts its channel: both paths agree
      expect(general.rows).toContainEqual(['c1', 'u1', (T0 + 60) * 1000, 1]);
    }
  });

  it('kernel: a file of records it cannot take (fractional epochs) is read by the JavaScript loop, not record by record', async () => {
    const lines = ['channel,viewer,ts,source,messages'];
    for (let i = 0; i < 60_000; i++) {
      // every 50th record plain epoch digits (the kernel takes those)
      lines.push(`ch${i % 300},v${i % 9000},${i % 50 === 0 ? T0 + i : `${T0 + i}.25`},live,${i % 5}`);
    }
    const path = join(tmp, 'kernel-fractions.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const spy = vi.spyOn(CsvKernel.prototype, 'rows');
    const [general] = await bothPathsAgree(path, [undefined, 100_000]);
    // it gave up on the kernel after ~64 records left to the loop, not one call per record
    expect(spy.mock.calls.length).toBeGreaterThan(0);
    expect(spy.mock.calls.length).toBeLessThan(400);
    spy.mockRestore();
    expect(general?.rows.length).toBe(60_000);
  });

  it('kernel: ISO-8601 instants of every form it reads, as parseTimestampBytes reads them', async () => {
    const r = rng(31);
    const lines = ['channel,viewer,ts,source,messages'];
    const pad = (n: number, w = 2) => String(n).padStart(w, '0');
    for (let i = 0; i < 20_000; i++) {
      const t = new Date((T0 - Math.floor(r() * 400 * 86_400)) * 1000);
      const date = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
      const time = `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`;
      const secs =
        r() < 0.7
          ? `:${pad(t.getUTCSeconds())}${r() < 0.4 ? `.${String(Math.floor(r() * 1e6)).slice(0, 1 + Math.floor(r() * 6))}` : ''}`
          : '';
      const zone = ['', 'Z', 'z', '+01:00', '-0530', '+14:00'][Math.floor(r() * 6)];
      const ts = r() < 0.05 ? date : `${date}${r() < 0.8 ? 'T' : ' '}${time}${secs}${zone}`;
      lines.push(`ch${i % 200},v${Math.floor(r() * 3000)},${ts},live,${i % 3}`);
    }
    const path = join(tmp, 'kernel-iso.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const spy = vi.spyOn(CsvKernel.prototype, 'rows');
    const [general] = await bothPathsAgree(path, [undefined, 4096]);
    // the kernel took them (nearly all the bytes of both kernel reads), in a few calls each
    const taken = spy.mock.calls.reduce(
      (sum, c, i) => sum + (spy.mock.results[i]?.value as number) - (c[2] as number),
      0,
    );
    expect(taken).toBeGreaterThan(2 * 0.95 * Buffer.byteLength(lines.join('\n')));
    expect(spy.mock.calls.length).toBeLessThan(400);
    spy.mockRestore();
    expect(general?.rows.length).toBeGreaterThan(19_000);
  });

  it('kernel: epoch instants of every width it reads 8 digits at a time, as the JavaScript paths read them', async () => {
    // seconds and milliseconds, zero-padded to every width from 1 to 18 digits (too few: before
    // Twitch; more than 15: not an epoch), names of every length, past what a cache slot holds
    const r = rng(41);
    const lines = ['channel,viewer,ts,source,messages'];
    for (let i = 0; i < 6000; i++) {
      const seconds = T0 - Math.floor(r() * 400 * 86_400);
      const value = r() < 0.5 ? String(seconds) : String(seconds * 1000 + Math.floor(r() * 1000));
      const width = 1 + Math.floor(r() * 18);
      const ts = width >= value.length ? value.padStart(width, '0') : value.slice(0, width);
      const name = (n: number) => `x${'abcdefghijklmnopqrstuvwxyz'.repeat(3).slice(0, n)}`;
      lines.push(`${name(Math.floor(r() * 60))},${name(Math.floor(r() * 60))}${i % 97},${ts},vod,${i % 5}`);
    }
    const path = join(tmp, 'kernel-widths.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const spy = vi.spyOn(CsvKernel.prototype, 'rows');
    const [general] = await bothPathsAgree(path, [undefined, 4096]);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    // the widths the contract reads (10–15 digits, value in range) came out, the others were rejected
    expect(general?.rows.length).toBeGreaterThan(1500);
    expect(general?.rows.length).toBeLessThan(5000);
  });

  it('kernel: the same rows on a file bigger than its input and its caches, with every kind of miss', async () => {
    // 120,000 viewers (its caches hold 65,536 slots: names evict each other, within one scan too),
    // runs of one viewer as in sorted files, names of both cases (a miss each, interned alike),
    // 7 MB of records (its input takes 4 MB at a time) and a record longer than that input.
    const r = rng(21);
    const lines = ['channel,viewer,ts,source,messages'];
    // first, 100,000 rows of viewers drawn at random (as in a file in time order): the viewer
    // cache hardly hits
    for (let i = 0; i < 100_000; i++)
      lines.push(`ch${i % 3000},viewer${Math.floor(r() * 120_000)},${T0 + i},live,1`);
    for (let i = 0; i < 240_000; i++) {
      const v = Math.floor(r() * 120_000);
      const run = r() < 0.3 ? 1 + Math.floor(r() * 6) : 1;
      const viewer = `${r() < 0.02 ? 'V' : 'v'}iewer${v}`;
      for (let k = 0; k < run; k++)
        lines.push(`ch${Math.floor(r() * 3000)},${viewer},${T0 + Math.floor(r() * 86_400)},live,${k}`);
      if (i === 120_000) lines.push(`ch1,${'w'.repeat(5 << 20)},${T0},live,1`);
      if (i % 50_000 === 7) lines.push(`ch2,v2,2026-11-30T10:05:00Z,vod,3`);
    }
    const path = join(tmp, 'kernel-big.csv');
    await writeFile(path, `${lines.join('\n')}\n`);
    const spy = vi.spyOn(CsvKernel.prototype, 'rows');
    const [general] = await bothPathsAgree(path, [undefined]);
    expect(spy.mock.calls.length).toBeGreaterThan(0);
    spy.mockRestore();
    expect(general?.viewers.length).toBeGreaterThan(100_000);
    expect(general?.rows.length).toBe(lines.length - 2);
    const longLine = lines.findIndex((l) => l.length > 1 << 20) + 1;
    expect(general?.rejected).toEqual([[longLine, expect.stringContaining('viewer')]]);
  }, 120_000);
});

/**
 * Rows keyed by Twitch id (`viewer_id` / `channel_id`): renames (a viewer's or channel's login
 * changing under one id, at equal instants too), a login two ids share, rows without an id
 * (empty, or the column missing in a short record), ids the fast path declines (quoted, with a
 * space, a NUL, over the name limit), runs of one viewer, in the contract's column order and
 * another.
 */
function keyedFile(seed: number, rows: number, cols: string[]): string {
  const r = rng(seed);
  const out = [cols.join(',')];
  for (let i = 0; i < rows; ) {
    const v = Math.floor(r() * 300);
    const c = Math.floor(r() * 30);
    const rec: Record<string, string> = {
      channel: r() < 0.05 ? `newname${c % 4}` : `c${c}`,
      channel_id: c % 3 === 0 ? '' : String(500 + c),
      viewer: r() < 0.05 ? `renamed${v}` : v % 50 === 0 ? 'Shared' : `u${v}`,
      viewer_id: r() < 0.1 ? '' : String(1000 + v),
      ts: String(T0 + Math.floor(r() * 200) * 60),
      source: 'live',
      messages: String(Math.floor(r() * 5)),
    };
    const odd = r();
    if (odd < 0.01) rec.viewer_id = `"${rec.viewer_id}"`;
    else if (odd < 0.02) rec.viewer_id = ` ${rec.viewer_id}`;
    else if (odd < 0.025) rec.channel_id = `5\u00000`;
    else if (odd < 0.03) rec.viewer_id = '9'.repeat(300);
    // a viewer's run: the same record at later instants (or the same one)
    for (let k = Math.floor(r() * 4); k >= 0 && i < rows; k--, i++) {
      out.push(cols.map((x) => rec[x]).join(','));
      rec.ts = String(Number(rec.ts) + (r() < 0.3 ? 0 : 60));
    }
  }
  if (cols.at(-1) === 'channel_id') out.push('c1,u1,1795525500,live,1');
  return `${out.join('\n')}\n`;
}

/** `read`, then the table: keys resolved to latest logins, Twitch ids and merged rows. */
async function readKeyed(path: string, opts: PresenceReadOptions) {
  const b = new PresenceBuilder({ capacity: 0 });
  const log = new RejectLog();
  const st = await readPresenceCsv(path, b, log, opts);
  const keys = { channels: b.channels.names(), viewers: b.viewers.names() };
  const t = b.table();
  return {
    st,
    keys,
    rows: Array.from({ length: t.length }, (_, i) => [t.channel[i], t.viewer[i], t.ts[i], t.messages[i]]),
    channelNames: t.channelNames,
    channelIds: t.channelTwitchIds,
    viewerNames: t.viewerNames,
    viewerIds: t.viewerTwitchIds,
    rejected: log.rejected.map((x) => [x.line, x.reason]),
  };
}

describe('CSV presence fast path with Twitch ids', () => {
  it('keys, latest logins, names and rows as the general path gives them, in either column order', async () => {
    const spy = vi.spyOn(PlainPresenceRows.prototype, 'rows');
    for (const [seed, cols] of [
      [1, ['channel', 'viewer', 'ts', 'source', 'messages', 'viewer_id', 'channel_id']],
      [2, ['viewer_id', 'channel', 'channel_id', 'viewer', 'ts']],
    ] as const) {
      const path = join(tmp, `keyed-${seed}.csv`);
      await writeFile(path, keyedFile(seed, 4000, [...cols]));
      for (const csvChunkBytes of [64, 1000, undefined]) {
        const general = await readKeyed(path, { csvChunkBytes, plainPath: false });
        expect(general.viewerIds?.filter((x) => x !== '').length).toBeGreaterThan(200);
        expect(general.viewerNames.filter((n) => n === 'shared').length).toBeGreaterThan(1);
        for (const csvKernel of [false, true]) {
          const consumed = spy.mock.results.length;
          expect(await readKeyed(path, { csvChunkBytes, csvKernel })).toEqual(general);
          // the fast path read most records itself
          const took = spy.mock.results
            .slice(consumed)
            .reduce(
              (a, x, i) => a + ((x.value as number) - (spy.mock.calls[consumed + i]?.[1] as number)),
              0,
            );
          expect(took).toBeGreaterThan(10_000);
        }
      }
    }
    spy.mockRestore();
  });
});
