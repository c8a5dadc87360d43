/**
 * The analysis at scale: simulate 10,000 channels / 2,000,000 viewers (~16M presence rows as
 * CSV) in os.tmpdir(), then, alternating in the same run (median of BENCH_RUNS, default 3):
 *   - `vieweratlas analyze --input` on the CSV in a child process, through communities and exports;
 *   - the DuckDB data step on the same file (@duckdb/node-api, both cores, child process): load →
 *     distinct (channel, viewer) → audience sizes → self-join pair counts (see DUCKDB_STEP);
 *   - `vieweratlas analyze` from storage after `vieweratlas import` of the CSV (compacted Parquet).
 * Prints wall time, CPU, peak RSS, stage timings, the ratios analyze / DuckDB and storage / CSV,
 * NMI against the planted communities and a hash of channels.csv (same seed → same file).
 * Targets (issue 12): analyze ≤ 0.5 × the DuckDB step, ≤ 1 GB peak RSS, storage ≤ 1 × CSV.
 *
 * Env: BENCH_CHANNELS, BENCH_VIEWERS, BENCH_COMMUNITIES, BENCH_MIXING to change the size;
 * BENCH_ORDER=time to read the rows in time order (a collector's) instead of simulate's;
 * BENCH_IDS=1 to give every row the stable Twitch ids `collect` writes (viewer_id, channel_id: one
 * per login, so channels.csv stays the same), which key the rows in every reader;
 * BENCH_RUNS; BENCH_STORAGE=0 skips the storage runs; BENCH_KEEP=1 keeps the temp folder.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
const RUNS = env('BENCH_RUNS', 3);
const TARGET_RATIO = 0.5;
const TARGET_RSS_MB = 1024;

/**
 * The DuckDB data step, written as well as we can: both cores, logins dictionary-encoded to
 * integers before the self-join, and the same behavioural-bot cut as `aggregate` (a viewer in more
 * than 20 % of the channels and at least 20 of them) — without that cut the 14 planted bots alone
 * add ~28M pairs to the join and DuckDB takes 3–5× longer, which would flatter us. Pairs sharing
 * fewer than 2 viewers are dropped (`overlap.min_shared`).
 */
const DUCKDB_STEP = (csv: string) => [
  `CREATE TABLE raw AS SELECT channel, viewer FROM read_csv('${csv.replaceAll("'", "''")}', header = true)`,
  `CREATE TABLE ch AS SELECT channel, (row_number() OVER ())::UINTEGER AS c FROM (SELECT DISTINCT channel FROM raw)`,
  `CREATE TABLE vw AS SELECT viewer, (row_number() OVER ())::UINTEGER AS v FROM (SELECT DISTINCT viewer FROM raw)`,
  'CREATE TABLE p AS SELECT DISTINCT c, v FROM raw JOIN ch USING (channel) JOIN vw USING (viewer)',
  'DROP TABLE raw',
  `CREATE TABLE q AS SELECT p.c, p.v FROM p JOIN (SELECT v, count(*) AS d FROM p GROUP BY v) USING (v)
     WHERE d < greatest(20, floor(0.2 * (SELECT count(DISTINCT c) FROM p)) + 1)`,
  'CREATE TABLE audience AS SELECT c, count(*) AS n FROM q GROUP BY c',
  `CREATE TABLE pairs AS SELECT a.c AS s, b.c AS t, count(*) AS w FROM q a JOIN q b ON a.v = b.v AND a.c < b.c
     GROUP BY ALL HAVING count(*) >= 2`,
];

/** Child mode: `--duckdb <csv>` runs the step and prints one line of figures. */
if (process.argv[2] === '--duckdb') {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const t0 = performance.now();
  const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await inst.connect();
  for (const sql of DUCKDB_STEP(process.argv[3] as string)) await c.run(sql);
  const e = (
    await c.runAndReadAll('SELECT count(*)::DOUBLE, (SELECT count(*) FROM audience)::DOUBLE FROM pairs')
  ).getRows()[0];
  console.log(
    `DUCK_RESULT ${JSON.stringify({ seconds: (performance.now() - t0) / 1000, pairs: Number(e?.[0]), channels: Number(e?.[1]) })}`,
  );
  c.closeSync();
  inst.closeSync();
  process.exit(0);
}

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

/** Runs `args` (the CLI by default) in a child process; wall time and peak RSS (GNU time, or /proc polling). */
async function measure(args: string[], script = cli): Promise<Measured> {
  const gnuTime = existsSync('/usr/bin/time');
  const base = script === cli ? [script] : ['--import', 'tsx', script];
  const cmd = gnuTime ? '/usr/bin/time' : process.execPath;
  const argv = gnuTime
    ? ['-f', 'BENCH_TIME %e %M %U %S', process.execPath, ...base, ...args]
    : [...base, ...args];
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

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

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

const self = fileURLToPath(import.meta.url);
/**
 * BENCH_ORDER=time: the rows sorted by instant first (coreutils `sort`), as a collector writes
 * them. simulate writes them viewer by viewer, which the readers' same-as-the-row-before caches
 * and aggregate's already-ordered check favour.
 */
/** A path quoted for bash. */
const q = (f: string) => `'${f.replaceAll("'", "'\\''")}'`;
const ORDER = process.env.BENCH_ORDER === 'time' ? 'time' : 'simulated';
let csvPath = join(sim, 'presence.csv');
if (ORDER === 'time') {
  const sorted = join(sim, 'presence-by-time.csv');
  const r = spawnSync(
    'bash',
    ['-c', `(head -n 1 ${q(csvPath)} && tail -n +2 ${q(csvPath)} | sort -t, -k3,3n -S 1G) > ${q(sorted)}`],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('BENCH_ORDER=time: sorting the rows failed');
  csvPath = sorted;
}
/**
 * BENCH_IDS=1: viewer_id and channel_id columns added (an id per login, numbered as first seen),
 * as a collector's rows have them; 54 % more bytes on the bench file.
 */
const IDS = process.env.BENCH_IDS === '1';
if (IDS) {
  const keyed = join(sim, 'presence-with-ids.csv');
  const awk =
    'NR == 1 { print $0 ",viewer_id,channel_id"; next } ' +
    '{ if (!($2 in v)) v[$2] = 100000000 + nv++; if (!($1 in c)) c[$1] = 5000000 + nc++; print $0 "," v[$2] "," c[$1] }';
  const r = spawnSync('bash', ['-c', `awk -F, '${awk}' ${q(csvPath)} > ${q(keyed)}`], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('BENCH_IDS=1: adding the id columns failed');
  csvPath = keyed;
}
console.log(
  `  rows in ${ORDER === 'time' ? 'time order (BENCH_ORDER=time)' : "simulate's order (viewer by viewer)"}` +
    (IDS ? ', with Twitch ids (BENCH_IDS=1)' : ''),
);
const store = join(work, 'store');
const withStorage = process.env.BENCH_STORAGE !== '0';
if (withStorage) {
  const imp = await measure(['import', '--config', '/dev/null', '--data', store, csvPath]);
  if (imp.code !== 0) fail('import', imp);
  console.log(
    `import (for the storage runs): ${imp.wallS.toFixed(2)} s wall, ${imp.peakRssMb.toFixed(0)} MB peak RSS`,
  );
}
const runs: { csv: Measured[]; duck: Measured[]; duckS: number[]; store: Measured[] } = {
  csv: [],
  duck: [],
  duckS: [],
  store: [],
};
/** The read stage (summary.json `timings.read`, ms) of each CSV and each storage run. */
const readMs: { csv: number[]; store: number[] } = { csv: [], store: [] };
const readStage = (dir: string) =>
  Number(
    (JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { timings: { read: number } }).timings
      .read,
  );
let a: Measured | undefined;
let duckPairs = 0;
for (let i = 0; i < RUNS; i++) {
  // Alternating, so a change in the machine's load hits both sides alike.
  const r = await measure([
    'analyze',
    '--config',
    '/dev/null',
    '--input',
    csvPath,
    join(sim, 'channels.csv'),
    '--out',
    out,
  ]);
  if (r.code !== 0) fail('analyze', r);
  runs.csv.push(r);
  readMs.csv.push(readStage(out));
  a = r;
  const d = await measure(['--duckdb', csvPath], self);
  const dr = /DUCK_RESULT (.*)/.exec(d.stdout);
  if (d.code !== 0 || !dr) fail('duckdb step', d);
  const x = JSON.parse(dr[1] as string) as { seconds: number; pairs: number };
  runs.duck.push(d);
  runs.duckS.push(d.wallS);
  duckPairs = x.pairs;
  if (withStorage) {
    const st = await measure([
      'analyze',
      '--config',
      '/dev/null',
      '--data',
      store,
      '--out',
      join(work, 'atlas-store'),
    ]);
    if (st.code !== 0) fail('analyze from storage', st);
    runs.store.push(st);
    readMs.store.push(readStage(join(work, 'atlas-store')));
  }
  console.log(
    `  run ${i + 1}: analyze --input ${r.wallS.toFixed(2)} s, DuckDB step ${d.wallS.toFixed(2)} s` +
      (withStorage ? `, analyze from storage ${(runs.store.at(-1) as Measured).wallS.toFixed(2)} s` : '') +
      `; load ${loadavg()[0]!.toFixed(1)}`,
  );
}
if (!a) throw new Error('BENCH_RUNS must be ≥ 1');
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
const wall = median(runs.csv.map((r) => r.wallS));
const duck = median(runs.duckS);
const rss = Math.max(...runs.csv.map((r) => r.peakRssMb));
console.log(
  `analyze --input: median ${wall.toFixed(2)} s wall, ${median(runs.csv.map((r) => r.cpuS)).toFixed(2)} s CPU, ${rss.toFixed(0)} MB peak RSS (max of ${RUNS})`,
);
console.log(
  `DuckDB data step: median ${duck.toFixed(2)} s wall, ${median(runs.duck.map((r) => r.cpuS)).toFixed(2)} s CPU, ${Math.max(...runs.duck.map((r) => r.peakRssMb)).toFixed(0)} MB peak RSS, ${duckPairs.toLocaleString('en-US')} pairs ≥ 2 shared`,
);
const ratio = wall / duck;
console.log(
  `  ratio analyze / DuckDB: ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}) ${ratio <= TARGET_RATIO ? 'OK' : 'OVER TARGET'}; ` +
    `peak RSS ${rss <= TARGET_RSS_MB ? 'OK' : 'OVER TARGET'} (≤ ${TARGET_RSS_MB} MB)`,
);
if (withStorage) {
  const sw = median(runs.store.map((r) => r.wallS));
  console.log(
    `analyze from storage (Parquet): median ${sw.toFixed(2)} s wall, ${median(runs.store.map((r) => r.cpuS)).toFixed(2)} s CPU, ` +
      `${Math.max(...runs.store.map((r) => r.peakRssMb)).toFixed(0)} MB peak RSS; ratio storage / CSV ${(sw / wall).toFixed(2)} (target ≤ 1) ${sw <= wall ? 'OK' : 'OVER TARGET'}`,
  );
  // The stages after the read are the same code for both: the read stage is where they differ.
  const rc = median(readMs.csv);
  const rs = median(readMs.store);
  console.log(
    `  read stage: CSV median ${rc} ms, storage median ${rs} ms; ratio storage / CSV ${(rs / rc).toFixed(2)} ${rs <= rc ? 'OK' : 'OVER TARGET'}`,
  );
}
console.log(
  `  stages of the last CSV run (ms): ${Object.entries(t)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}`,
);
console.log(
  `  read: ${rows.toLocaleString('en-US')} rows in ${t.read} ms = ${Math.round((rows / (t.read ?? 1)) * 1000).toLocaleString('en-US')} rows/s ` +
    `(${((statSync(csvPath).size / 1e6 / (t.read ?? 1)) * 1000).toFixed(0)} MB/s)`,
);
console.log(
  `  graph: ${summary.counts.channels} channels, ${summary.counts.edges.toLocaleString('en-US')} edges, ` +
    `${summary.counts.communities} communities, modularity ${summary.modularity.toFixed(3)}, ` +
    `NMI vs planted ${nmi(found, planted).toFixed(3)}`,
);
console.log(
  `  channels.csv sha256 ${createHash('sha256')
    .update(readFileSync(join(out, 'channels.csv')))
    .digest('hex')
    .slice(0, 16)} (seed 42)`,
);
console.log(
  `  outputs: edges.csv ${(outBytes('edges.csv') / 1e6).toFixed(0)} MB, atlas.gexf ${(outBytes('atlas.gexf') / 1e6).toFixed(0)} MB, ` +
    `edges.parquet ${(outBytes('edges.parquet') / 1e6).toFixed(0)} MB`,
);

if (process.env.BENCH_KEEP) console.log(`  kept ${work}`);
else rmSync(work, { recursive: true, force: true });
// GNU time absent and /proc unreadable: say so rather than print 0 MB as a figure.
if (a.peakRssMb === 0) console.log('  (peak RSS unavailable on this system)');
