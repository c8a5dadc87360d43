/**
 * Console output is safe (issue 11): control characters that come with data (ANSI escapes in a
 * game name) never reach the terminal, and no configured secret is ever printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import {
  consoleSafe,
  guardConsole,
  redactSecrets,
  registerEnvSecrets,
  registerSecret,
  stripControl,
} from '../src/observability/console.js';
import { createLogger } from '../src/observability/logger.js';
import { runCli } from './helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'va-robust-console-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('analyze prints a game name carrying ANSI and OSC sequences without the control characters', async () => {
  const rows = ['channel,viewer,ts'];
  for (let c = 0; c < 6; c++)
    for (let v = 0; v < 40; v++)
      if (c < 3 === v < 20 || v % 7 === 0) rows.push(`c${c},v${v},2026-11-01T10:00:00Z`);
  writeFileSync(join(dir, 'presence.csv'), `${rows.join('\n')}\n`);
  const evil = '\x1b[31mEvil\x1b]0;pwned\x07Game\x1b[0m\x9b2J';
  const meta = [
    'channel,language,game',
    ...[0, 1, 2, 3, 4, 5].map((c) => `c${c},en,${c < 3 ? evil : 'Chess'}`),
  ];
  writeFileSync(join(dir, 'channels.csv'), `${meta.join('\n')}\n`);
  const r = await runCli([
    'analyze',
    '--input',
    join(dir, 'presence.csv'),
    join(dir, 'channels.csv'),
    '--out',
    join(dir, 'out'),
  ]);
  expect(r.code).toBe(0);
  expect(r.out).toContain('  #0 EvilGame · en (100%)');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
  expect(r.out + r.err).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
});

it('stripControl keeps text, tabs and newlines; consoleSafe keeps only the CLI clear-line prefix', () => {
  expect(stripControl('a\tb\nc\x1b[2Jd\x07\x00\r')).toBe('a\tb\ncd');
  expect(consoleSafe('\r\x1b[2Kcollect · 3 channels')).toBe('\r\x1b[2Kcollect · 3 channels');
  expect(consoleSafe('game \r\x1b[2K\x1b[1Ahidden')).toBe('game hidden');
  expect(stripControl('\x1b]0;title\x07x\x1b]8;;http://e\x1b\\y\x9b31mz\x1bc')).toBe('xyz');
});

it('every registered secret is redacted from console lines and logs, form-encoded too', () => {
  registerEnvSecrets({ TWITCH_CLIENT_SECRET: 's3cr3t+value/x', MY_TOKEN: 'oauth:chattoken99' }, ['MY_TOKEN']);
  registerSecret('ab'); // too short to redact safely
  expect(redactSecrets('body: client_secret=s3cr3t%2Bvalue%2Fx&grant_type=x')).toBe(
    'body: client_secret=[redacted]&grant_type=x',
  );
  expect(redactSecrets('PASS oauth:chattoken99 and s3cr3t+value/x; ab')).toBe(
    'PASS oauth:[redacted] and [redacted]; ab',
  );
  const lines: string[] = [];
  createLogger({ write: (l) => lines.push(l) }).error('reply', { body: 'echo chattoken99' });
  expect(lines.join('')).toContain('echo [redacted]');

  let written = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      written += String(chunk);
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  guardConsole([stream]);
  guardConsole([stream]); // idempotent
  stream.write('error: s3cr3t+value/x \x1b[31mred\n');
  expect(written).toBe('error: [redacted] red\n');
});
