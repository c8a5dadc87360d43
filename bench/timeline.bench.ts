/**
 * The timeline at scale: the analyze benchmark's population (10,000 channels / 2,000,000 viewers,
 * ~16M presence rows) spread over 30 days, then, in child processes, one `analyze --input` of the
 * whole period and one `timeline --every 1d` (30 daily windows, tracked). Target: the timeline
 * within 3× the single analysis. Prints both walls, peak RSS and the ratio.
 *
 * Env: BENCH_CHANNELS, BENCH_VIEWERS, BENCH_DAYS to change the size; BENCH_KEEP=1 keeps the files.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulatePopulation } from '../src/simulate/model.js';
import { writeSimulation } from '../src/simulate/write.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const CHANNELS = env('BENCH_CHANNELS', 10_000);
const VIEWERS = env('BENCH_VIEWERS', 2_000_000);
const DAYS = env('BENCH_DAYS', 30);
const TARGET_RATIO = 3;

const work = mkdtempSync(join(tmpdir(), 'va-bench-timeline-'));
const cli = join(repo, 'bin', 'vieweratlas.mjs');

async function measure(
  args: string[],
): Promise<{ code: number; wallS: number; rssMb: number; err: string; out: string }> {
  const gnuTime = existsSync('/usr/bin/time');
  const cmd = gnuTime ? '/usr/bin/time' : process.execPath;
  const argv = gnuTime ? ['-f', 'BENCH_TIME %e %M', process.execPath, cli, ...args] : [cli, ...args];
  const t0 = performance.now();
  const child = spawn(cmd, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
  const m = /BENCH_TIME ([\d.]+) (\d+)/.exec(err);
  return {
    code,
    wallS: m ? Number(m[1]) : (performance.now() - t0) / 1000,
    rssMb: m ? Number(m[2]) / 1024 : Number.NaN,
    err,
    out,
  };
}

try {
  console.log(
    `simulating ${CHANNELS.toLocaleString()} channels, ${VIEWERS.toLocaleString()} viewers over ${DAYS} days…`,
  );
  const pop = simulatePopulation({
    channels: CHANNELS,
    viewers: VIEWERS,
    communities: 40,
    mixing: 0.5,
    seed: 1,
    days: DAYS,
  });
  const files = await writeSimulation(pop, join(work, 'sim'));
  console.log(
    `${files.rows.toLocaleString()} rows, ${(files.bytes / 1e6).toFixed(0)} MB; load ${loadavg()[0]?.toFixed(1)}`,
  );
  const analyze = await measure(['analyze', '--input', join(work, 'sim'), '--out', join(work, 'atlas')]);
  if (analyze.code !== 0) throw new Error(`analyze failed: ${analyze.err}`);
  const timeline = await measure([
    'timeline',
    '--input',
    join(work, 'sim'),
    '--every',
    '1d',
    '--out',
    join(work, 'timeline'),
  ]);
  if (timeline.code !== 0) throw new Error(`timeline failed: ${timeline.err}`);
  const summary = JSON.parse(readFileSync(join(work, 'timeline', 'timeline.json'), 'utf8')) as {
    windows: { ms: number; channels: number; communities: number }[];
  };
  const ratio = timeline.wallS / analyze.wallS;
  console.log('| run | wall s | peak RSS MB |');
  console.log('| --- | ---: | ---: |');
  console.log(`| analyze (whole period) | ${analyze.wallS.toFixed(1)} | ${analyze.rssMb.toFixed(0)} |`);
  console.log(
    `| timeline --every 1d (${summary.windows.length} windows) | ${timeline.wallS.toFixed(1)} | ${timeline.rssMb.toFixed(0)} |`,
  );
  const perWindow = summary.windows.map((w) => w.ms);
  console.log(
    `per window: median ${perWindow.sort((a, b) => a - b)[Math.floor(perWindow.length / 2)]} ms; ` +
      `channels per window ${summary.windows[0]?.channels}…; load ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(
    `timeline / analyze = ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}) ${ratio <= TARGET_RATIO ? 'OK' : 'OVER'}`,
  );
} finally {
  if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
}
