/**
 * `collect` and `import` into storage that cannot be written (a read-only mount, a path under a
 * file) refuse at start: exit 1 with one line naming the path and the real reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.js';
import { canMountTmpfs } from './loss-tmpfs.js';

const work = mkdtempSync(join(tmpdir(), 'va-unwritable-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const channels = join(work, 'channels.txt');
writeFileSync(channels, 'somechannel\n');
const presence = join(work, 'presence.csv');
writeFileSync(presence, 'channel,viewer,ts\na,b,2026-11-30T10:00:00Z\n');

function collect(data: string) {
  // Nothing listens on the chat port: without the check, collect would run its second and exit 0.
  return runCli([
    'collect',
    '--data',
    data,
    '--channels',
    channels,
    '--chat-url',
    'irc://127.0.0.1:9',
    '--duration',
    '1',
  ]);
}

function oneLine(err: string): string {
  const lines = err.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

describe('unwritable --data', () => {
  const underFile = join(work, 'channels.txt', 'data');

  it('collect into a path under a file: exit 1 naming the path', async () => {
    const r = await collect(underFile);
    expect(r.code).toBe(1);
    const line = oneLine(
      r.err
        .split('\n')
        .filter((l) => !l.startsWith('{'))
        .join('\n'),
    );
    expect(line).toContain(underFile);
    expect(line).toMatch(/ENOTDIR/);
  });

  it('import into a path under a file: exit 1 naming the path, nothing imported', async () => {
    const r = await runCli(['import', '--data', underFile, presence]);
    expect(r.code).toBe(1);
    expect(oneLine(r.err)).toContain(underFile);
  });

  describe.skipIf(!canMountTmpfs)('read-only mount', () => {
    const ro = join(work, 'ro');
    it('collect and import: exit 1, EROFS (not ENOENT) and the path', async () => {
      execFileSync('mkdir', ['-p', ro]);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', ro]);
      try {
        const data = join(ro, 'data');
        const c = await collect(data);
        expect(c.code).toBe(1);
        const line = oneLine(
          c.err
            .split('\n')
            .filter((l) => !l.startsWith('{'))
            .join('\n'),
        );
        expect(line).toContain(data);
        expect(line).toMatch(/EROFS|read-only/);
        expect(line).not.toMatch(/ENOENT/);
        const i = await runCli(['import', '--data', data, presence]);
        expect(i.code).toBe(1);
        expect(oneLine(i.err)).toMatch(/EROFS|read-only/);
      } finally {
        execFileSync('umount', ['-l', ro]);
      }
    });
  });
});
