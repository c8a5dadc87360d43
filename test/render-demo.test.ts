import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'va-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('vieweratlas demo', () => {
  it('builds the whole atlas from the bundled 2021 data, offline, within 60 s, and says where it is', () => {
    const out = join(tmp, 'demo');
    const started = Date.now();
    const r = spawnSync(process.execPath, ['bin/vieweratlas.mjs', 'demo', '--out', out], {
      cwd: root,
      encoding: 'utf8',
    });
    const seconds = (Date.now() - started) / 1000;
    expect(r.status, r.stderr).toBe(0);
    expect(seconds).toBeLessThan(60);
    for (const f of [
      'atlas.png',
      'atlas.html',
      'channels.csv',
      'communities.csv',
      'edges.csv',
      'atlas.gexf',
      'summary.json',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(r.stdout).toContain(join(out, 'atlas.png'));
    expect(r.stdout).toContain(join(out, 'atlas.html'));
    expect(r.stdout).toContain(join(out, 'channels.csv'));
    expect(r.stdout).toMatch(/2,200 channels, 82,275 overlaps/);
    // Every channel got a position, and the page credits the data.
    const rows = readFileSync(join(out, 'channels.csv'), 'utf8').trim().split('\n').slice(1);
    expect(rows).toHaveLength(2200);
    expect(rows.every((l) => /,-?\d+(\.\d+)?,-?\d+(\.\d+)?$/.test(l))).toBe(true);
    const html = readFileSync(join(out, 'atlas.html'), 'utf8');
    expect(html).toContain('Kiran Gershenfeld');
    // The panel names the weight the analysis used (summary.json), not the config default.
    const used = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).parameters.edge_weight as string;
    expect(html).toContain(`"weightKind":"${used === 'given' ? 'weight' : used}"`);
  });
});
