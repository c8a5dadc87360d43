/**
 * The storage read stage alone (`loadPresenceFromStorage`, what `analyze` without --input runs
 * first): the parts decoded here (`presence-parts-direct.ts`, the default) against DuckDB's read
 * of them (`direct: false`), each with one thread and two, alternating in the same run,
 * each in a child process; prints wall, process CPU, main-thread CPU (from /proc, immune to the
 * sampling profiler's bias on a loaded machine), rows and a checksum of the columns, which must
 * be the same for both.
 *
 * Env: BENCH_STORE=<storage root> reads an existing store (e.g. one `vieweratlas import` made of
 * the analyze bench's CSV); else a store is made here from `vieweratlas simulate` (BENCH_CHANNELS,
 * default 2,000; BENCH_VIEWERS, default 400,000). BENCH_RUNS (default 3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);

/** Main-thread CPU ms of this process (utime + stime of its first task). */
function mainThreadMs(): number {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * 10;
}

if (process.argv[2] === '--child') {
  const [root, threads, reader] = process.argv.slice(3) as [string, string, string];
  // The compiled code, as the bin runs it (`npm run bench` builds first): under tsx the worker
  // would transpile its modules on every start.
  const dist = join(repo, 'dist');
  const { loadPresenceFromStorage } = (await import(
    join(dist, 'ingest', 'load.js')
  )) as typeof import('../src/ingest/load.js');
  const { FsStorage } = (await import(
    join(dist, 'storage', 'fs-driver.js')
  )) as typeof import('../src/storage/fs-driver.js');
  const m0 = mainThreadMs();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await loadPresenceFromStorage(new FsStorage(root), {
    threads: Number(threads) as 1 | 2,
    direct: reader === 'direct',
  });
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const t = r.table;
  let h = 0;
  for (let i = 0; i < t.length; i++)
    h = (Math.imul(h, 31) + t.channel[i]! * 7 + t.viewer[i]! + t.messages[i]! + (t.ts[i]! % 65536)) | 0;
  console.log(
    `RESULT ${JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, mainMs: mainThreadMs() - m0, rows: r.rowsRead, viewers: t.viewerCount, channels: t.channelNames.length, h })}`,
  );
  process.exit(0);
}

const RUNS = env('BENCH_RUNS', 3);
let root = process.env.BENCH_STORE;
let work: string | undefined;
const cli = join(repo, 'bin', 'vieweratlas.mjs');
if (!root) {
  work = mkdtempSync(join(tmpdir(), 'va-bench-store-read-'));
  const sim = join(work, 'sim');
  root = join(work, 'store');
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args[0]} failed: ${r.stderr}`);
  };
  run([
    'simulate',
    '--channels',
    String(env('BENCH_CHANNELS', 2_000)),
    '--viewers',
    String(env('BENCH_VIEWERS', 400_000)),
    '--seed',
    '42',
    '--out',
    sim,
  ]);
  run(['import', '--config', '/dev/null', '--data', root, join(sim, 'presence.csv')]);
}
console.log(
  `storage read bench: ${root}; load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores, ${RUNS} runs each`,
);
interface Result {
  ms: number;
  cpuMs: number;
  mainMs: number;
  rows: number;
  viewers: number;
  channels: number;
  h: number;
}
/** Reader and threads: `direct 2` is what `analyze` runs on two cores. */
const MODES = ['direct 1', 'direct 2', 'duckdb 1', 'duckdb 2'] as const;
const results = Object.fromEntries(MODES.map((m) => [m, [] as Result[]])) as Record<
  (typeof MODES)[number],
  Result[]
>;
for (let i = 0; i < RUNS; i++) {
  for (const mode of MODES) {
    const [reader, threads] = mode.split(' ') as [string, string];
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', root as string, threads, reader],
      { cwd: repo, encoding: 'utf8' },
    );
    const m = /RESULT (.*)/.exec(r.stdout);
    if (r.status !== 0 || !m) throw new Error(`read (${mode}) failed: ${r.stderr}`);
    results[mode].push(JSON.parse(m[1] as string) as Result);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const mode of MODES) {
  const rs = results[mode];
  const r0 = rs[0] as Result;
  console.log(
    `  ${mode.replace(' ', ', ')} thread(s): median ${(median(rs.map((r) => r.ms)) / 1000).toFixed(2)} s wall, ` +
      `${(median(rs.map((r) => r.cpuMs)) / 1000).toFixed(2)} s CPU, ${(median(rs.map((r) => r.mainMs)) / 1000).toFixed(2)} s main-thread CPU; ` +
      `${r0.rows.toLocaleString('en-US')} rows, ${r0.viewers.toLocaleString('en-US')} viewers, ${r0.channels} channels, checksum ${r0.h}`,
  );
}
const all = MODES.flatMap((m) => results[m]);
const same = all.every((r) => r.h === all[0]?.h);
const ratio = median(results['direct 2'].map((r) => r.ms)) / median(results['duckdb 2'].map((r) => r.ms));
console.log(
  `  direct / DuckDB, two threads: ${ratio.toFixed(2)}; same columns from all: ${same ? 'yes' : 'NO'}`,
);
if (work) rmSync(work, { recursive: true, force: true });
if (!same) process.exitCode = 1;
