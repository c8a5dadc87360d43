/**
 * `vieweratlas collect` as a user runs it, against twitch-sim (issue 11): a refused chat login
 * ends the run with exit 1 and Twitch's reason; channels Twitch refuses are reported, not retried;
 * an empty channel list on reload is refused loudly; a negative `--duration` is a usage error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTwitchSim, type TwitchSim } from '../src/twitch/sim/index.js';
import { runCli } from './helpers/run-cli.js';

let sim: TwitchSim;
const dir = mkdtempSync(join(tmpdir(), 'va-robust-collect-'));
beforeAll(async () => {
  sim = await startTwitchSim({ rate: 20, channels: 5, viewers: 50, membershipMs: 0, suspended: ['gone_ch'] });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `vieweratlas collect` on `file` against the sim for `seconds`, into its own storage folder. */
const collect = (file: string, seconds: number, env: Record<string, string> = {}) =>
  runCli(
    [
      'collect',
      '--chat-url',
      sim.chatWsUrl,
      '--channels',
      file,
      '--duration',
      String(seconds),
      '--data',
      `${file}.data`,
    ],
    env,
  );

function channelsFile(name: string, logins: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, `${logins.join('\n')}\n`);
  return p;
}

it('a refused chat token ends collect with exit 1 and Twitch reason, instead of reconnecting forever', async () => {
  const file = channelsFile('token.txt', [sim.channels[0] as string]);
  const t0 = performance.now();
  const r = await collect(file, 15, {
    TWITCH_CHAT_TOKEN: 'oauth:expiredtoken',
    TWITCH_CHAT_LOGIN: 'bad-login',
    VIEWERATLAS_LOG_LEVEL: 'error',
  });
  expect(r.code).toBe(1);
  expect(performance.now() - t0).toBeLessThan(10_000);
  const last = r.err.trim().split('\n').at(-1) as string;
  expect(last).toMatch(
    /^vieweratlas: collect: .*refused the chat login "bad-login": Login authentication failed \(check TWITCH_CHAT_TOKEN and TWITCH_CHAT_LOGIN\)$/,
  );
  expect(r.err).not.toContain('expiredtoken');
});

it('channels Twitch refuses are tried once and named at the end', async () => {
  const ok = sim.channels[1] as string;
  const file = channelsFile('refused.txt', [ok, 'gone_ch']);
  const r = await collect(file, 3, { VIEWERATLAS_LOG_LEVEL: 'error' });
  expect(r.code).toBe(0);
  expect(sim.chat.joinLog.filter((j) => j.channel === 'gone_ch')).toHaveLength(1);
  expect(r.err).toContain(
    'collect: 1 channel(s) refused by Twitch, not retried until the list is reloaded: gone_ch (msg_channel_suspended)',
  );
});

it('a channels file emptied while collecting is refused loudly and the channels are kept', async () => {
  const ch = sim.channels[2] as string;
  const file = channelsFile('emptied.txt', [ch]);
  const run = collect(file, 8, { VIEWERATLAS_COLLECT_RELOAD_SECONDS: '1' });
  while (!sim.chat.joinedChannels().includes(ch)) await new Promise((r) => setTimeout(r, 50));
  writeFileSync(file, '# nothing live right now\n');
  const r = await run;
  expect(r.code).toBe(0);
  const logs = r.err
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const refused = logs.find((l) => l.level === 'error' && /reload failed/.test(l.msg));
  expect(refused?.error).toContain(`${file}: no channels for shard 0/1; refusing an empty channel list`);
  expect(logs.some((l) => l.msg === 'channels reloaded' && l.channels === 0)).toBe(false);
  expect(readFileSync(file, 'utf8')).toContain('nothing live');
});

it('collect --duration -5 is a usage error naming the flag', async () => {
  const r = await runCli(['collect', '--duration', '-5', '--data', join(dir, 'd4')]);
  expect(r.code).toBe(1);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.err).toContain('--duration');
});
