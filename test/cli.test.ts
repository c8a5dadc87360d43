/**
 * The command line as DESIGN.md promises it: the ten commands, `--help` on each, `--version`,
 * and usage mistakes as exit 1 with one line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GRACE_MINUTES } from '../src/cli/commands/compact.js';
import { thousands } from '../src/cli/common.js';
import { buildProgram } from '../src/cli/main.js';
import { COMPACT_DEFAULTS } from '../src/ingest/index.js';
import { writeTinyPresence } from './fixtures/tiny-presence.js';

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

describe('thousands', () => {
  it('writes integers as toLocaleString("en-US") does', () => {
    const values = [0, 1, 12, 999, 1000, 9999, 12_345, 999_999, 1_000_000, 15_526_632, 2 ** 53 - 1];
    for (let d = 1; d <= 15; d++) values.push(10 ** d - 1, 10 ** d, 7 * 10 ** d + 123);
    for (const v of [...values, ...values.map((x) => -x).filter((x) => x !== 0)])
      expect(thousands(v)).toBe(v.toLocaleString('en-US'));
    expect(thousands(-0)).toBe((-0).toLocaleString('en-US'));
    // not an integer: toLocaleString's own answer
    expect(thousands(1234.5678)).toBe((1234.5678).toLocaleString('en-US'));
  });
});

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

// --- what a command loads ----------------------------------------------------------------------

const TMP = mkdtempSync(join(tmpdir(), 'va-cli-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** A loader hook that writes every module URL the process loads (ESM graph) to VA_LOADED. */
const HOOKS = join(TMP, 'hooks.mjs');
writeFileSync(
  HOOKS,
  `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.VA_LOADED, url + '\\n');
  return next(url, context);
}
`,
);
const REGISTER = join(TMP, 'register.mjs');
writeFileSync(
  REGISTER,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(HOOKS).href)});\n`,
);

/** Runs the bin and returns the packages and files of this repository it loaded. */
function loaded(args: string[]): { status: number | null; packages: Set<string>; files: string[] } {
  const list = join(TMP, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(list, '');
  const r = spawnSync(process.execPath, ['--import', REGISTER, 'bin/vieweratlas.mjs', ...args], {
    encoding: 'utf8',
    env: { ...process.env, VA_LOADED: list, VIEWERATLAS_METRICS_EMF: 'false' },
  });
  const urls = readFileSync(list, 'utf8').split('\n').filter(Boolean);
  const packages = new Set<string>();
  for (const u of urls) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
    if (m) packages.add(m[1] as string);
  }
  const root = pathToFileURL(process.cwd()).href;
  const files = urls
    .filter((u) => u.startsWith(root) && !u.includes('/node_modules/'))
    .map((u) => u.slice(root.length + 1));
  return { status: r.status, packages, files };
}

const HEAVY = [
  '@duckdb/node-api',
  '@napi-rs/canvas',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-athena',
  'ws',
  'zod',
  'yaml',
  'graphology',
  'tsx',
  'esbuild',
];

describe('the bin runs the compiled code and loads a command only when it runs', () => {
  it('--help and each command’s --help load only our compiled CLI modules (commander bundled)', () => {
    // every registered command, including ones added after the design's ten
    const names = buildProgram().commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(COMMANDS));
    for (const args of [['--help'], ...names.map((c) => [c, '--help'])]) {
      const r = loaded(args);
      expect(r.status, args.join(' ')).toBe(0);
      for (const p of HEAVY) expect(r.packages.has(p), `${args.join(' ')} loads ${p}`).toBe(false);
      expect([...r.packages]).toEqual([]);
      expect(r.files).toContain('dist/vendor/commander.js');
      expect(
        r.files.filter((f) => !/^(bin|dist)\//.test(f)),
        `${args.join(' ')} loads sources`,
      ).toEqual([]);
      expect(r.files).toContain('dist/cli/main.js');
    }
  });

  it('a local analyze runs compiled code only and never loads the AWS SDK, canvas, DuckDB or tsx', () => {
    const input = writeTinyPresence(join(TMP, 'tiny.csv'));
    const r = loaded(['analyze', '--input', input, '--out', join(TMP, 'out')]);
    expect(r.status).toBe(0);
    // a CSV in, the Parquet exports written by our own writer: DuckDB is never loaded
    expect(r.files).not.toContain('dist/vendor/duckdb-node-api.js');
    expect(existsSync(join(TMP, 'out', 'channels.parquet'))).toBe(true);
    const never = [
      '@aws-sdk/client-s3',
      '@aws-sdk/client-athena',
      '@napi-rs/canvas',
      '@duckdb/node-bindings',
    ];
    for (const p of [...never, 'tsx', 'esbuild']) expect(r.packages.has(p), `analyze loads ${p}`).toBe(false);
    expect(r.files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    // the edge-files worker thread starts from its compiled entry too
    expect(r.files).toEqual(
      expect.arrayContaining(['dist/export/edge-worker.mjs', 'dist/export/edge-worker.js']),
    );
  });

  it('compact --help shows compactRaw’s own default grace', () => {
    expect(GRACE_MINUTES).toBe(COMPACT_DEFAULTS.graceMs / 60_000);
    expect(cli(['compact', '--help']).stdout).toContain(`(default: ${GRACE_MINUTES})`);
  });
});
