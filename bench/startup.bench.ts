/**
 * `npm run bench -- startup`: how fast the CLI answers, through the bin as a user runs it
 * (`node bin/vieweratlas.mjs`, not npx, whose own start costs ~0.5 s). Targets: `--help` ≤ 0.3 s,
 * a tiny (24-row) `analyze --input` ≤ 0.8 s. Also: `node -e 0` (the floor), the same commands from
 * src/ through tsx (`npm run dev`), and where the time goes (a --cpu-prof of each, self time by
 * package). BENCH_BASELINE=<checkout> adds the same figures for another checkout's bin (e.g. the
 * main branch before the build step: BENCH_BASELINE=/work/main). BENCH_RUNS (default 7) per figure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyPresence } from '../test/fixtures/tiny-presence.js';

const REPO = join(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const tmp = mkdtempSync(join(tmpdir(), 'va-startup-'));

// 24 presence rows: three channels of 8 viewers, overlapping
const tiny = writeTinyPresence(join(tmp, 'tiny.csv'));

const env = { ...process.env, VIEWERATLAS_METRICS_EMF: 'false' };

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Wall and CPU (user + system, all threads) seconds of one run; throws when the command fails. */
function once(argv: string[], cwd: string): { wall: number; cpu: number } {
  const t0 = performance.now();
  const r = TIME
    ? spawnSync(TIME, ['-f', 'TIME %U %S', process.execPath, ...argv], { cwd, env, encoding: 'utf8' })
    : spawnSync(process.execPath, argv, { cwd, env, encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 300)}`);
  const m = /TIME ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : Number.NaN };
}

interface Figure {
  median: number;
  min: number;
  cpu: number;
}

function measure(argv: string[], cwd = REPO): Figure {
  once(argv, cwd); // warm the file cache
  const runs = Array.from({ length: RUNS }, () => once(argv, cwd));
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return {
    median: mid(runs.map((r) => r.wall)),
    min: Math.min(...runs.map((r) => r.wall)),
    cpu: mid(runs.map((r) => r.cpu)),
  };
}

/** Self time of a --cpu-prof run of the main thread, summed by package (or "ours", "node"). */
function profile(argv: string[]): string {
  const dir = mkdtempSync(join(tmp, 'prof-'));
  spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, ...argv], { cwd: REPO, env });
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()[0];
  if (!file) return '(no profile)';
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { url: string; functionName: string } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const self = new Map<number, number>();
  for (const [i, id] of p.samples.entries()) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  const by = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const us = self.get(n.id) ?? 0;
    if (n.callFrame.functionName === '(idle)') continue;
    total += us;
    const url = n.callFrame.url;
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? /dist\/vendor\/([\w-]+)\.js/.exec(url)?.[1];
    const key = pkg ?? (url.startsWith('node:') ? 'node (module loading, fs…)' : url ? 'ours' : 'native/GC');
    by.set(key, (by.get(key) ?? 0) + us);
  }
  const top = [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}`)
    .join(', ');
  return `busy ${(total / 1000).toFixed(0)} ms: ${top} (ms)`;
}

const fmt = (r: Figure) =>
  `${r.median.toFixed(2)} s (min ${r.min.toFixed(2)}; CPU ${Number.isNaN(r.cpu) ? '?' : r.cpu.toFixed(2)} s)`;
const analyzeArgs = (bin: string) => [bin, 'analyze', '--input', tiny, '--out', join(tmp, 'out')];

if (!existsSync(join(REPO, 'dist', 'cli', 'main.js'))) throw new Error('startup: run `npm run build` first');
console.log(
  `startup: median of ${RUNS} runs each: wall time of the whole process (min; median CPU, all threads)`,
);
console.log(`  node -e 0                         ${fmt(measure(['-e', '0']))}`);
const help = measure(['bin/vieweratlas.mjs', '--help']);
console.log(`  vieweratlas --help (bin, dist/)   ${fmt(help)}   target ≤ 0.30 s`);
const analyze = measure(analyzeArgs('bin/vieweratlas.mjs'));
console.log(`  vieweratlas analyze 24 rows       ${fmt(analyze)}   target ≤ 0.80 s`);
console.log(`  --help from src/ (tsx, npm run dev)  ${fmt(measure(['scripts/dev.mjs', '--help']))}`);
console.log(`  analyze 24 rows from src/ (tsx)      ${fmt(measure(analyzeArgs('scripts/dev.mjs')))}`);
const baseline = process.env.BENCH_BASELINE;
if (baseline) {
  const bin = join(baseline, 'bin', 'vieweratlas.mjs');
  console.log(`  baseline ${baseline}:`);
  console.log(`    --help                          ${fmt(measure([bin, '--help'], baseline))}`);
  console.log(`    analyze 24 rows                 ${fmt(measure(analyzeArgs(bin), baseline))}`);
}
console.log(`  profile --help:   ${profile(['bin/vieweratlas.mjs', '--help'])}`);
console.log(`  profile analyze:  ${profile(analyzeArgs('bin/vieweratlas.mjs'))}`);
console.log(
  `  load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (2 cores shared: figures vary with load)`,
);
rmSync(tmp, { recursive: true, force: true });
