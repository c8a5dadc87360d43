/**
 * Collector throughput: one `vieweratlas collect` process against twitch-sim (its own process)
 * over loopback WebSocket, 1,000 channels, the sim generating BENCH_RATE chat lines/s (default
 * 60,000) for BENCH_SECONDS (default 60). Reports lines/s received, CPU and peak RSS of the
 * collector process (from /proc), and what the sim had to drop for back-pressure.
 * Then (BENCH_TWURPLE=0 to skip) the same sim against @twurple/chat's ChatClient for 20 s.
 *
 *   npm run bench -- collect
 *   BENCH_RATE=80000 BENCH_SECONDS=30 BENCH_HEAP_MB=256 BENCH_TRANSPORT=irc npm run bench -- collect
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadAverage,
  procStats,
  type SimStats,
  type SimUrls,
  simControl,
  startSimProcess,
  twurpleClient,
  waitForJoins,
} from './collect-helpers.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const RATE = Number(process.env.BENCH_RATE ?? 60_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CHANNELS = 1000;
const TRANSPORT = process.env.BENCH_TRANSPORT === 'irc' ? 'irc' : 'ws';
const control = (urls: SimUrls, path: string, body?: unknown) => simControl(urls.controlUrl, path, body);

async function benchCollector(urls: SimUrls, dir: string, simPid: number): Promise<void> {
  const channels = (await control(urls, 'channels')) as string[];
  writeFileSync(join(dir, 'channels.txt'), `${channels.join('\n')}\n`);
  // Verified-bot join allowance, so 1,000 joins take seconds, not 8 minutes.
  writeFileSync(
    join(dir, 'config.yaml'),
    'collect:\n  join_limit: 2000\n  join_window_seconds: 10\n  channels_per_connection: 100\n  flush_seconds: 2\n  collector_id: bench\n  status_seconds: 1\nmetrics:\n  emf: false\n',
  );
  const url = TRANSPORT === 'irc' ? urls.chatIrcUrl : urls.chatWsUrl;
  const child = spawn(
    process.execPath,
    [
      'bin/vieweratlas.mjs',
      'collect',
      '--config',
      join(dir, 'config.yaml'),
      '--channels',
      join(dir, 'channels.txt'),
      '--chat-url',
      url,
      '--data',
      join(dir, 'data'),
    ],
    { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pid = child.pid as number;
  // Wait for the joins, then start the traffic and measure.
  const t0 = Date.now();
  if (!(await waitForJoins(urls.controlUrl, CHANNELS, 60_000)))
    throw new Error('collector did not join 1,000 channels within 60 s');
  console.log(`joined ${CHANNELS} channels in ${((Date.now() - t0) / 1000).toFixed(1)} s (startup included)`);
  const before = procStats(pid);
  const simCpu0 = procStats(simPid)?.cpu ?? Number.NaN;
  const simBefore = (await control(urls, 'stats')) as {
    messagesDelivered: number;
    messagesDropped: number;
    linesSent: number;
  };
  await control(urls, 'rate', { rate: RATE });
  const start = Date.now();
  let peakRss = 0;
  const samples: number[] = [];
  while (Date.now() - start < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const p = procStats(pid);
    if (p) {
      peakRss = Math.max(peakRss, p.rssMb);
      samples.push(p.rssMb);
    }
  }
  const after = procStats(pid);
  const simCpu = (procStats(simPid)?.cpu ?? Number.NaN) - simCpu0;
  const simAfter = (await control(urls, 'stats')) as typeof simBefore;
  await control(urls, 'rate', { rate: 0 });
  const elapsed = (Date.now() - start) / 1000;
  // Let the collector drain what is in flight, then stop it the way ECS does.
  await new Promise((r) => setTimeout(r, 2000));
  child.kill('SIGTERM');
  await exited;
  const stopped = stderr
    .split('\n')
    .filter((l) => l.includes('"collector stopped"'))
    .map((l) => JSON.parse(l))[0] as
    | { linesReceived: number; recordsWritten: number; messages: number }
    | undefined;
  const delivered = simAfter.messagesDelivered - simBefore.messagesDelivered;
  const dropped = simAfter.messagesDropped - simBefore.messagesDropped;
  const cpu = before && after ? after.cpu - before.cpu : Number.NaN;
  console.log(
    `transport ${TRANSPORT}, target ${RATE.toLocaleString('en-US')} lines/s for ${elapsed.toFixed(0)} s over ${CHANNELS} channels`,
  );
  console.log(
    `sim delivered ${delivered.toLocaleString('en-US')} chat lines (${Math.round(delivered / elapsed).toLocaleString('en-US')}/s), dropped for back-pressure ${dropped.toLocaleString('en-US')}`,
  );
  if (stopped) {
    console.log(
      `collector received ${stopped.messages.toLocaleString('en-US')} chat lines (${stopped.linesReceived.toLocaleString('en-US')} lines total) → ` +
        `${Math.round(stopped.messages / elapsed).toLocaleString('en-US')} chat lines/s; ${stopped.recordsWritten.toLocaleString('en-US')} presence rows written`,
    );
  }
  const mem = stderr
    .split('\n')
    .filter((l) => l.includes('"msg":"status"'))
    .map((l) => JSON.parse(l) as { rssMb: number; heapMb: number; externalMb: number });
  console.log(
    `collector memory every 10 s (rss/heap/external MB): ${mem.map((m) => `${m.rssMb}/${m.heapMb}/${m.externalMb}`).join(' ')}`,
  );
  console.log(
    `collector CPU ${cpu.toFixed(1)} s over ${elapsed.toFixed(0)} s (${((100 * cpu) / elapsed).toFixed(0)}% of one core)`,
  );
  console.log(`twitch-sim CPU ${simCpu.toFixed(1)} s; machine load average ${loadAverage()} on 2 cores`);
  console.log(
    `collector RSS peak ${peakRss.toFixed(0)} MB during traffic (VmHWM ${after?.hwmMb.toFixed(0)} MB); first/last sample ${samples[0]?.toFixed(0)}/${samples.at(-1)?.toFixed(0)} MB`,
  );
}

/**
 * @twurple/chat against the same sim. ChatClient has no port option (8.2: hostName, ssl,
 * webSocket only; the port is 80/443/6667/6697), so the probe sets ircv3's private connection
 * target — which is itself a reason not to build on it here.
 */
async function benchTwurple(urls: SimUrls): Promise<void> {
  const channels = ((await control(urls, 'channels')) as string[]).slice(0, CHANNELS);
  const client = await twurpleClient(urls.chatWsUrl, channels);
  let messages = 0;
  client.onMessage(() => {
    messages++;
  });
  const t0 = Date.now();
  client.connect();
  if (!(await waitForJoins(urls.controlUrl, channels.length, 60_000))) {
    const s = (await control(urls, 'stats')) as SimStats;
    const joined = s.sessions.reduce((a, x) => a + x.channels, 0);
    console.log(`twurple: joined only ${joined}/${channels.length} channels in 60 s`);
  }
  console.log(
    `twurple: joined in ${((Date.now() - t0) / 1000).toFixed(1)} s (one connection; botLevel verified)`,
  );
  const cpu0 = process.cpuUsage();
  await control(urls, 'rate', { rate: RATE });
  const m0 = messages;
  const start = Date.now();
  const seconds = 20;
  let peak = 0;
  while (Date.now() - start < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    peak = Math.max(peak, process.memoryUsage().rss / 2 ** 20);
  }
  await control(urls, 'rate', { rate: 0 });
  const elapsed = (Date.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const sim = (await control(urls, 'stats')) as { messagesDropped: number };
  console.log(
    `twurple: ${Math.round((messages - m0) / elapsed).toLocaleString('en-US')} chat lines/s received (onMessage) at a target of ${RATE.toLocaleString('en-US')}/s; ` +
      `CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s over ${elapsed.toFixed(0)} s; bench process RSS peak ${peak.toFixed(0)} MB; sim dropped (cumulative) ${sim.messagesDropped.toLocaleString('en-US')}`,
  );
  client.quit();
}

const dir = mkdtempSync(join(tmpdir(), 'va-collect-bench-'));
const { child: sim, urls } = await startSimProcess({
  channels: CHANNELS,
  viewers: 100_000,
  nodeArgs: ['--import', 'tsx'],
});
try {
  await benchCollector(urls, dir, sim.pid as number);
  if (process.env.BENCH_TWURPLE !== '0') await benchTwurple(urls);
} finally {
  sim.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
