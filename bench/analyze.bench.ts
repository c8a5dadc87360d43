/**
 * The analysis at scale: simulate 10,000 channels / 2,000,000 viewers (~16M presence rows as
 * CSV) in os.tmpdir(), then `vieweratlas analyze --input` on it in a child process, through
 * communities and exports (no rendering). Prints wall time, peak RSS, stage timings, import rows/s
 * and NMI against the planted communities. Targets: ≤ 10 s wall, ≤ 1.5 GB peak RSS.
 *
 * Env: BENCH_CHANNELS, BENCH_VIEWERS, BENCH_COMMUNITIES, BENCH_MIXING to change the size;
 * BENCH_KEEP=1 keeps the temp folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nmi } from '../src/analysis/quality.js';
import { readAnalysisFolder } from '../src/export/read.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const CHANNELS = env('BENCH_CHANNELS', 10_000);
const VIEWERS = env('BENCH_VIEWERS', 2_000_000);
const COMMUNITIES = env('BENCH_COMMUNITIES', 40);
const MIXING = env('BENCH_MIXING', 0.5);
const TARGET_WALL_S = 10;
const TARGET_RSS_MB = 1536;

const work = mkdtempSync(join(tmpdir(), 'va-bench-analyze-'));
const sim = join(work, 'sim');
const out = join(work, 'atlas');
const cli = join(repo, 'bin', 'vieweratlas.mjs');

interface Measured {
  code: number;
  wallS: number;
  peakRssMb: number;
  /** User + system CPU seconds (GNU time only; NaN otherwise): steadier than wall on a shared machine. */
  cpuS: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in a child process and measures wall time and peak RSS (GNU time, or /proc polling). */
async function measure(args: string[]): Promise<Measured> {
  const gnuTime = existsSync('/usr/bin/time');
  const cmd = gnuTime ? '/usr/bin/time' : process.execPath;
  const argv = gnuTime ? ['-f', 'BENCH_TIME %e %M %U %S', process.execPath, cli, ...args] : [cli, ...args];
  const t0 = performance.now();
  const child = spawn(cmd, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let polledKb = 0;
  const poll = gnuTime
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) polledKb = Math.max(polledKb, Number(m[1]));
        } catch {}
      }, 20);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (poll) clearInterval(poll);
  const wallS = (performance.now() - t0) / 1000;
  const m = /BENCH_TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
  return {
    code,
    wallS: m ? Number(m[1]) : wallS,
    peakRssMb: (m ? Number(m[2]) : polledKb) / 1024,
    cpuS: m ? Number(m[3]) + Number(m[4]) : Number.NaN,
    stdout,
    stderr: stderr.replace(/BENCH_TIME.*\n?/, ''),
  };
}

function fail(step: string, r: Measured): never {
  console.error(`${step} failed (exit ${r.code}):\n${r.stderr}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
}

console.log(
  `analyze bench: ${CHANNELS} channels, ${VIEWERS} viewers, ${COMMUNITIES} communities, mixing ${MIXING}`,
);
console.log(`  work folder ${work}; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);

const s = await measure([
  'simulate',
  '--channels',
  String(CHANNELS),
  '--viewers',
  String(VIEWERS),
  '--communities',
  String(COMMUNITIES),
  '--mixing',
  String(MIXING),
  '--seed',
  '42',
  '--out',
  sim,
]);
if (s.code !== 0) fail('simulate', s);
const presenceBytes = statSync(join(sim, 'presence.csv')).size;
console.log(
  `simulate: ${s.wallS.toFixed(2)} s wall, ${s.peakRssMb.toFixed(0)} MB peak RSS, presence.csv ${(presenceBytes / 1e6).toFixed(0)} MB`,
);

const a = await measure([
  'analyze',
  '--input',
  join(sim, 'presence.csv'),
  join(sim, 'channels.csv'),
  '--out',
  out,
]);
if (a.code !== 0) fail('analyze', a);
const folder = await readAnalysisFolder(out);
const { summary } = folder;
const t = summary.timings;
const rows = summary.counts.presenceRows;
const truth = new Map(
  readFileSync(join(sim, 'truth.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const [name, k] = l.split(',');
      return [name!, Number(k)] as const;
    }),
);
const found: number[] = [];
const planted: number[] = [];
for (const c of folder.channels) {
  const k = truth.get(c.channel);
  if (k === undefined) continue;
  found.push(c.community);
  planted.push(k);
}

const outBytes = (f: string) => (existsSync(join(out, f)) ? statSync(join(out, f)).size : 0);
console.log(
  `analyze: ${a.wallS.toFixed(2)} s wall, ${a.cpuS.toFixed(2)} s CPU, ${a.peakRssMb.toFixed(0)} MB peak RSS ` +
    `(targets ≤ ${TARGET_WALL_S} s, ≤ ${TARGET_RSS_MB} MB)`,
);
console.log(
  `  stages (ms): ${Object.entries(t)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `  import: ${rows.toLocaleString('en-US')} rows in ${t.read} ms = ${Math.round((rows / (t.read ?? 1)) * 1000).toLocaleString('en-US')} rows/s ` +
    `(${((presenceBytes / 1e6 / (t.read ?? 1)) * 1000).toFixed(0)} MB/s)`,
);
console.log(
  `  graph: ${summary.counts.channels} channels, ${summary.counts.edges.toLocaleString('en-US')} edges, ` +
    `${summary.counts.communities} communities, modularity ${summary.modularity.toFixed(3)}, ` +
    `NMI vs planted ${nmi(found, planted).toFixed(3)}`,
);
console.log(
  `  outputs: edges.csv ${(outBytes('edges.csv') / 1e6).toFixed(0)} MB, atlas.gexf ${(outBytes('atlas.gexf') / 1e6).toFixed(0)} MB, ` +
    `edges.parquet ${(outBytes('edges.parquet') / 1e6).toFixed(0)} MB`,
);
const wallOk = a.wallS <= TARGET_WALL_S;
const rssOk = a.peakRssMb <= TARGET_RSS_MB;
console.log(`  wall ${wallOk ? 'OK' : 'OVER TARGET'}, peak RSS ${rssOk ? 'OK' : 'OVER TARGET'}`);

if (process.env.BENCH_KEEP) console.log(`  kept ${work}`);
else rmSync(work, { recursive: true, force: true });
// GNU time absent and /proc unreadable: say so rather than print 0 MB as a figure.
if (a.peakRssMb === 0) console.log('  (peak RSS unavailable on this system)');
