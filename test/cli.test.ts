/**
 * The command line as DESIGN.md promises it: the ten commands, `--help` on each, `--version`,
 * and usage mistakes as exit 1 with one line.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const COMMANDS = [
  'demo',
  'discover',
  'collect',
  'vod',
  'import',
  'compact',
  'analyze',
  'render',
  'simulate',
  'twitch-sim',
];

const cli = (args: string[]) =>
  spawnSync(process.execPath, ['bin/vieweratlas.mjs', ...args], { encoding: 'utf8' });

describe('vieweratlas CLI', () => {
  it('lists every command of the design and prints its version', () => {
    const help = cli(['--help']);
    expect(help.status).toBe(0);
    for (const c of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const version = cli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it.each(COMMANDS)('%s --help explains the command and the common flags', (command) => {
    const r = cli([command, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Usage: vieweratlas ${command}`);
    for (const flag of ['--config', '--preset', '--data']) expect(r.stdout).toContain(flag);
  });

  it('exits 1 with one line for an unknown command or option', () => {
    for (const args of [['nonsense'], ['analyze', '--bogus']]) {
      const r = cli(args);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
