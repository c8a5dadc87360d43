/**
 * Pseudonymisation end to end: `import` stores keyed hashes, never logins, and `analyze` from
 * storage still removes known bots by matching the bot list through the same keyed hash.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPresenceFromStorage } from '../src/ingest/index.js';
import { pseudonym } from '../src/privacy/pseudonymize.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import { runCli } from './helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'va-privacy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = 'test-key-not-a-secret';
const env = { VIEWERATLAS_PRIVACY_PSEUDONYMIZE: 'true', VIEWERATLAS_PSEUDONYM_KEY: KEY };

describe('privacy.pseudonymize', () => {
  it('stores keyed hashes and still removes known bots', async () => {
    const rows = ['channel,viewer,ts'];
    const ts = '2026-11-20T12:00:00Z';
    for (let c = 0; c < 6; c++) {
      // two groups of three channels; each viewer sits in the channels of its group
      for (let v = 0; v < 8; v++) rows.push(`chan${c},fan${c < 3 ? 'a' : 'b'}${v},${ts}`);
      rows.push(`chan${c},nightbot,${ts}`);
    }
    const csv = join(dir, 'presence.csv');
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const data = join(dir, 'data');

    const imported = await runCli(['import', '--config', '/dev/null', '--data', data, csv], env);
    expect(imported.code, imported.err).toBe(0);

    const storage = new FsStorage(data);
    const stored = await loadPresenceFromStorage(storage);
    await storage.close();
    const names = stored.table.viewerNames;
    expect(names).toHaveLength(17);
    expect(names.every((n) => /^p_[0-9a-f]{16}$/.test(n))).toBe(true);
    expect(names).toContain(pseudonym(KEY, 'nightbot'));
    expect(names).not.toContain('nightbot');

    const out = join(dir, 'atlas');
    const analyzed = await runCli(['analyze', '--config', '/dev/null', '--data', data, '--out', out], env);
    expect(analyzed.code, analyzed.err).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.counts.botsRemoved).toBe(1);
    expect(summary.counts.viewers).toBe(16);
    expect(summary.counts.communities).toBe(2);
  });

  it('refuses to run without the key rather than store logins', async () => {
    const csv = join(dir, 'presence.csv');
    const r = await runCli(['import', '--config', '/dev/null', '--data', join(dir, 'nokey'), csv], {
      VIEWERATLAS_PRIVACY_PSEUDONYMIZE: 'true',
    });
    expect(r.code).toBe(1);
    expect(r.err).toContain('VIEWERATLAS_PSEUDONYM_KEY');
  });
});
