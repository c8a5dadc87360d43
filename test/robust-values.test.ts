/**
 * Bad values are refused with a reason instead of stored wrong or misreported (issue 11):
 * presence counts that would wrap, 10 MB logins, NUL bytes, instants before Twitch or far in the
 * future (CSV, JSON Lines and Parquet alike); edge weights that overflow modularity; `import` of
 * a folder; `twitch-sim --port` already taken.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEdgeList } from '../src/ingest/edges.js';
import { readPresenceFiles } from '../src/ingest/index.js';
import { PRESENCE_LIMITS } from '../src/ingest/presence-rows.js';
import { sqlString, withDuckDB } from '../src/storage/duckdb.js';
import { runCli } from './helpers/run-cli.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'va-robust-values-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const GOOD_TS = '2026-11-24T13:05:00Z';
const FUTURE = new Date(Date.now() + 3 * 24 * 3600_000).toISOString();
const BIG = 'v'.repeat(10 * 1024 * 1024);

/** Each bad row with the reason it must be rejected for; good rows around them. */
const BAD: { channel: string; viewer: string; ts: string; messages: number; reason: RegExp }[] = [
  {
    channel: 'xqc',
    viewer: 'wrap',
    ts: GOOD_TS,
    messages: 4294967296,
    reason: /messages 4294967296 out of range/,
  },
  {
    channel: 'xqc',
    viewer: 'many',
    ts: GOOD_TS,
    messages: 1_000_001,
    reason: /messages 1000001 out of range/,
  },
  {
    channel: 'xqc',
    viewer: BIG,
    ts: GOOD_TS,
    messages: 1,
    reason: /viewer of 10485760 bytes \(at most 256\)/,
  },
  { channel: 'x\u0000qc', viewer: 'nul', ts: GOOD_TS, messages: 1, reason: /channel holds a NUL byte/ },
  { channel: 'xqc', viewer: 'old', ts: '2009-01-01T00:00:00Z', messages: 1, reason: /before Twitch existed/ },
  {
    channel: 'xqc',
    viewer: 'epoch',
    ts: '1970-01-01T00:00:00Z',
    messages: 1,
    reason: /before Twitch existed/,
  },
  { channel: 'xqc', viewer: 'future', ts: FUTURE, messages: 1, reason: /more than 24 h in the future/ },
];
const GOOD = Array.from({ length: 20 }, (_, i) => ({
  channel: 'xqc',
  viewer: `ok${i}`,
  ts: GOOD_TS,
  messages: 1_000_000,
}));

function expectRejected(r: Awaited<ReturnType<typeof readPresenceFiles>>, csvLines = false): void {
  expect(r.rowsRead).toBe(GOOD.length);
  expect(r.rejectedCount).toBe(BAD.length);
  for (const [i, b] of BAD.entries()) expect(r.rejected[i]?.reason).toMatch(b.reason);
  if (csvLines) expect(r.rejected.map((x) => x.line)).toEqual(BAD.map((_, i) => i + 2));
  expect([...r.table.messages].every((m) => m === 1_000_000)).toBe(true);
  expect(r.table.viewerNames.every((v) => v.startsWith('ok'))).toBe(true);
}

describe('presence values out of range are rejected with the reason (limits in PRESENCE_LIMITS)', () => {
  it('CSV (the fast byte path)', async () => {
    const path = join(tmp, 'bad.csv');
    const lines = [...BAD, ...GOOD].map((r) => `${r.channel},${r.viewer},${r.ts},${r.messages}`);
    await writeFile(path, `channel,viewer,ts,messages\n${lines.join('\n')}\n`);
    expectRejected(await readPresenceFiles([path]), true);
  });

  it('JSON Lines', async () => {
    const path = join(tmp, 'bad.jsonl');
    await writeFile(path, `${[...BAD, ...GOOD].map((r) => JSON.stringify(r)).join('\n')}\n`);
    expectRejected(await readPresenceFiles([path]));
  });

  it('Parquet', async () => {
    const path = join(tmp, 'bad.parquet');
    // a NUL cannot sit inside a SQL literal: spell it chr(0)
    const text = (v: string) => v.split('\u0000').map(sqlString).join(' || chr(0) || ');
    const values = [...BAD, ...GOOD]
      .map(
        (r) =>
          `(${text(r.channel)}, ${text(r.viewer)}, TIMESTAMP ${sqlString(r.ts.replace('Z', ''))}, ${r.messages}::BIGINT)`,
      )
      .join(',');
    await withDuckDB(async (c) => {
      await c.run(
        `COPY (SELECT * FROM (VALUES ${values}) t(channel, viewer, ts, messages)) TO ${sqlString(path)} (FORMAT parquet)`,
      );
    });
    expectRejected(await readPresenceFiles([path]));
  });

  it('the limits are the documented ones', () => {
    expect(PRESENCE_LIMITS.minTs).toBe(Date.parse('2011-06-06T00:00:00Z'));
    expect(PRESENCE_LIMITS.futureToleranceMs).toBe(24 * 3600_000);
  });
});

describe('edge weights', () => {
  it('a weight of 1e308 (modularity NaN) is refused naming file:line', async () => {
    const path = join(tmp, 'huge-edges.csv');
    await writeFile(path, 'Source,Target,Weight\na,b,1\nb,c,1e308\nc,a,2\n');
    await expect(readEdgeList(path)).rejects.toThrow(`${path}:3: weight 1e+308 too large (at most 1e+12)`);
    const r = await runCli(['analyze', '--input', path, '--out', join(tmp, 'huge-out')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`vieweratlas: import: ${path}:3: weight 1e+308 too large (at most 1e+12)\n`);
    expect(r.out).not.toContain('NaN');
  });
});

describe('usage mistakes are exit 1 with one line naming the thing', () => {
  it('import DIR names the folder instead of "internal error: EISDIR"', async () => {
    const folder = join(tmp, 'a-folder');
    await rm(folder, { recursive: true, force: true });
    await writeFile(join(tmp, 'x'), ''); // tmp exists
    await import('node:fs/promises').then((fs) => fs.mkdir(folder));
    const r = await runCli(['import', folder, '--data', join(tmp, 'import-data')]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain(`${folder}: is a directory`);
  });

  it.each(['--port', '--irc-port'])(
    'twitch-sim %s that is in use names the port (and exits)',
    async (flag) => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as { port: number }).port;
      try {
        const child = spawn(process.execPath, ['bin/vieweratlas.mjs', 'twitch-sim', flag, String(port)], {
          cwd: join(import.meta.dirname, '..'),
        });
        let err = '';
        child.stderr.on('data', (d) => {
          err += String(d);
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        clearTimeout(timer);
        expect(code).toBe(1);
        expect(err).toBe(`vieweratlas: twitch-sim: ${flag} ${port}: 127.0.0.1:${port} is already in use\n`);
      } finally {
        blocker.close();
      }
    },
  );
});
