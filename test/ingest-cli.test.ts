import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePresenceLine } from '../src/ingest/raw-jsonl.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { LAYOUT } from '../src/storage/layout.js';

const ROOT = join(import.meta.dirname, '..');
const FX = join(import.meta.dirname, 'fixtures', 'ingest');
const fx = (name: string) => join(FX, name);
const tmp = mkdtempSync(join(tmpdir(), 'va-ingest-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function run(args: string[], env: Record<string, string> = {}) {
  const data = join(tmp, `store-${n++}`);
  const r = spawnSync(process.execPath, ['bin/vieweratlas.mjs', ...args, '--data', data], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env, VIEWERATLAS_DEBUG: '' },
    timeout: 60_000,
  });
  const files = existsSync(data)
    ? readdirSync(data, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    : [];
  return { code: r.status, out: r.stdout, err: r.stderr, data, files };
}

describe('vieweratlas import (CLI)', () => {
  it.each([
    ['empty.csv', /empty\.csv: empty file \(0 bytes\)/],
    ['wrong-columns.csv', /wrong-columns\.csv:1: unknown header "user,channel_name,when"/],
    ['garbage-rows.csv', /garbage-rows\.csv: mostly unreadable, 5 of 6 rows rejected/],
    ['empty.parquet', /empty\.parquet: empty file \(0 bytes\)/],
    ['not-parquet.parquet', /not-parquet\.parquet: not a readable Parquet file/],
    ['edges-negative.csv', /edges-negative\.csv:3: negative weight -3/],
    ['edges-nonnumeric.csv', /edges-nonnumeric\.csv:3: non-numeric weight "lots"/],
  ])('%s: exit 1, one-line reason, nothing stored', (file, reason) => {
    const r = run(['import', fx(file)]);
    expect(r.code).toBe(1);
    const errLines = r.err.trim().split('\n');
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/^vieweratlas: import: /);
    expect(errLines[0]).toMatch(reason);
    expect(r.out).toMatch(/nothing stored from this file/);
    expect(r.files).toEqual([]);
  });

  it('imports good files, reports rejected rows as file:line and where it stored them', () => {
    const r = run(['import', fx('presence.csv'), fx('metadata.csv')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`ok ${fx('presence.csv')} [presence]: 6 rows read, 4 rejected`);
    expect(r.out).toContain(`rejected ${fx('presence.csv')}:5: empty viewer`);
    expect(r.out).toMatch(/stored presence\/source=live\/dt=2026-11-24\/part-imp-/);
    expect(r.out).toMatch(/import: 2 of 2 file\(s\) imported into .*: 9 rows, 6 rejected/);
    // 4 objects, plus one import marker per file (state/import/<content hash>.json)
    expect(r.files.filter((f) => !f.parentPath.includes('state')).length).toBe(4);
    expect(r.files.filter((f) => f.parentPath.endsWith(join('state', 'import'))).length).toBe(2);
  });

  it('a failed file among good ones: the good ones are imported, exit 1 says so', () => {
    const r = run(['import', fx('edges.csv'), fx('empty.csv')]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(
      /^vieweratlas: import: 1 of 2 file\(s\) failed and stored nothing \(the other 1 were imported\); first: .*empty\.csv: empty file/,
    );
    expect(r.files.filter((f) => !f.parentPath.includes('state')).map((f) => f.name)).toEqual([
      'edges.parquet',
    ]);
  });

  it('imports a TwitchDownloader chat JSON once per VOD', () => {
    const chat = join(ROOT, 'test', 'fixtures', 'vod', '1984567890.json');
    const r = run(['import', chat]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[twitch-chat\]/);
    expect(r.out).toMatch(/stored raw\/presence\/source=vod\/dt=2026-11-20\/hour=18\/vod-1984567890\.jsonl/);
  });

  it('rejects an unknown --kind and an unknown preset with exit 1', () => {
    expect(run(['import', '--kind', 'nope', fx('edges.csv')]).code).toBe(1);
    const p = run(['import', '--preset', 'nope', fx('edges.csv')]);
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/preset/);
  });

  it('--help explains formats and layout', () => {
    const r = spawnSync(process.execPath, ['bin/vieweratlas.mjs', 'import', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/channel,viewer,ts/);
    expect(r.stdout).toMatch(/presence\/source=/);
  });
});

describe('vieweratlas compact (CLI)', () => {
  it('compacts closed raw hours and is idempotent', async () => {
    const data = join(tmp, 'compact-store');
    const s = new FsStorage(data);
    const ts = Date.parse('2026-11-24T13:05:00Z');
    const key = LAYOUT.rawPresence('live', ts, 'c1');
    await s.append(key, encodePresenceLine({ channel: 'xqc', viewer: 'a', ts, source: 'live', messages: 1 }));
    await s.append(key, '{"torn');
    const once = spawnSync(process.execPath, ['bin/vieweratlas.mjs', 'compact', '--data', data], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(once.status).toBe(0);
    expect(once.stdout).toMatch(
      /compact: 1 raw object\(s\) → 1 Parquet part\(s\) .*1 presence rows.*1 torn line/,
    );
    const twice = spawnSync(process.execPath, ['bin/vieweratlas.mjs', 'compact', '--data', data], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(twice.status).toBe(0);
    expect(twice.stdout).toMatch(/compact: 0 raw object\(s\) → 0 Parquet part\(s\)/);
    expect((await s.list('')).map((e) => e.key)).toEqual([
      expect.stringMatching(/^presence\/source=live\/dt=2026-11-24\/part-h13-c1-[0-9a-f]{10}-0\.parquet$/),
    ]);
  });
});
