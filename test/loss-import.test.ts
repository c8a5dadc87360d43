/**
 * Import without loss or duplicates: a file that storage refuses half-way (a full 1 MB tmpfs)
 * leaves nothing of itself; two different `edges.csv` from two folders are both kept; a copied or
 * touched file is recognised by its content and not imported twice.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { importFiles, loadPresenceFromStorage } from '../src/ingest/index.js';
import { listStoredGraphs, loadStoredGraph } from '../src/pipeline/stored-graph.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { runCli } from './helpers/run-cli.js';
import { canMountTmpfs, mountTmpfs, type Tmpfs } from './loss-tmpfs.js';

const FX = join(import.meta.dirname, 'fixtures', 'ingest');
const work = mkdtempSync(join(tmpdir(), 'va-loss-import-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe.skipIf(!canMountTmpfs)('import onto a disk that fills half-way (1 MB tmpfs)', () => {
  let fs: Tmpfs | undefined;
  afterEach(() => {
    fs?.unmount();
    fs = undefined;
  });

  it('stores nothing of the file: no part, no temp file, no marker; the file is reported failed', async () => {
    fs = mountTmpfs('1m');
    // 60 days × 3,000 hard-to-compress viewers: 60 Parquet parts, together well over 1 MB.
    const csv = join(work, 'big.csv');
    const lines = ['channel,viewer,ts'];
    let x = 12345;
    for (let d = 0; d < 60; d++) {
      const day = Date.UTC(2026, 9, 1) + d * 86_400_000;
      for (let i = 0; i < 3000; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        lines.push(`chan${i % 7},v${x.toString(36)}${(x ^ (i * 2654435761)).toString(36)},${day + i * 1000}`);
      }
    }
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const s = new FsStorage(join(fs.dir, 'data'));
    let summary: Awaited<ReturnType<typeof importFiles>> | undefined;
    let thrown: unknown;
    try {
      summary = await importFiles(s, [csv]);
    } catch (err) {
      thrown = err;
    }
    const left = allFiles(fs.dir);
    expect(left.filter((f) => f.endsWith('.parquet'))).toEqual([]);
    expect(left.filter((f) => f.includes('.vatmp-'))).toEqual([]);
    expect(left.filter((f) => f.includes('state'))).toEqual([]);
    expect(thrown).toBeUndefined();
    expect(summary?.failed).toBe(1);
    expect(summary?.files[0]?.storageFailure).toBe(true);
    expect(summary?.files[0]?.error).toMatch(/ENOSPC/);
    expect(summary?.files[0]?.stored).toEqual([]);

    // The same through the CLI: one line, exit 2 (storage failed, not the file), nothing stored.
    const r = await runCli(['import', '--data', join(fs.dir, 'data'), csv]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/FAILED .*big\.csv: .*ENOSPC.*\(nothing stored from this file\)/);
    const err = r.err.trim().split('\n');
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^vieweratlas: import: .*big\.csv.*ENOSPC/);
    expect(allFiles(fs.dir).filter((f) => f.endsWith('.parquet') || f.includes('.vatmp-'))).toEqual([]);
  });
});

describe('import keyed by content', () => {
  it('two different edges.csv from two folders are both kept, under two names; the same one again is skipped', async () => {
    const root = join(work, 'edges-store');
    const a = join(work, 'a');
    const b = join(work, 'b');
    mkdirSync(a);
    mkdirSync(b);
    copyFileSync(join(FX, 'edges.csv'), join(a, 'edges.csv'));
    writeFileSync(join(b, 'edges.csv'), 'Source,Target,Weight\nx,y,3\ny,z,4\n');
    const s = new FsStorage(root);
    await importFiles(s, [join(a, 'edges.csv')]);
    const second = await importFiles(s, [join(b, 'edges.csv')]);
    expect(second.files[0]?.stored[0]).toMatch(/^graphs\/edges-[0-9a-f]{8}\/edges\.parquet$/);
    const graphs = await listStoredGraphs(s);
    expect(graphs.map((g) => g.name).sort()).toEqual(
      ['edges', second.files[0]?.stored[0]?.split('/')[1]].sort(),
    );
    const byName = new Map(graphs.map((g) => [g.name, g]));
    const first = await loadStoredGraph(s, byName.get('edges') as (typeof graphs)[number]);
    expect(first.length).toBe(4); // the first file's 4 edges, not overwritten
    // The first file again (touched, from a copy): recognised, nothing new stored.
    copyFileSync(join(a, 'edges.csv'), join(b, 'edges-copy.csv'));
    const again = await importFiles(s, [join(b, 'edges-copy.csv')]);
    expect(again.files[0]?.ok).toBe(true);
    expect(again.files[0]?.alreadyImportedFrom).toBe(join(a, 'edges.csv'));
    expect((await listStoredGraphs(s)).length).toBe(2);
  });

  it('re-importing a copied or touched presence file does not double its rows', async () => {
    const s = new FsStorage(join(work, 'presence-store'));
    const orig = join(work, 'presence.csv');
    copyFileSync(join(FX, 'presence.csv'), orig);
    await importFiles(s, [orig]);
    const rows = (await loadPresenceFromStorage(s)).rowsRead;
    expect(rows).toBeGreaterThan(0);
    const copy = join(work, 'copy-of-presence.csv');
    copyFileSync(orig, copy);
    utimesSync(orig, new Date(), new Date(Date.now() + 60_000)); // touched
    const r = await importFiles(s, [orig, copy]);
    expect(r.files.map((f) => [f.ok, f.alreadyImportedFrom])).toEqual([
      [true, orig],
      [true, orig],
    ]);
    expect((await loadPresenceFromStorage(s)).rowsRead).toBe(rows);
  });
});
