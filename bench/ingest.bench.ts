/**
 * Ingest at scale: simulate 10,000 channels / 2,000,000 viewers (~16M presence rows, ~530 MB CSV)
 * in os.tmpdir(), append a few bad rows at known lines, then in fresh child processes:
 *   - `readPresenceFiles` (what `analyze --input` uses) with 2 threads and with 1 thread, and
 *     with 1 thread on the general path only (`general1`: the CSV fast path off, for its gain),
 *   - a DuckDB `read_csv` + SQL interning variant, for comparison,
 *   - `vieweratlas import` into a temp storage (CSV → Hive Parquet), then the same job as one
 *     DuckDB `COPY (SELECT …) TO … (FORMAT parquet, PARTITION_BY …)`, and their ratio.
 * Prints rows/s, wall time and peak RSS of each, and checks that the bad rows were reported with
 * their line numbers. Target for the reader: ≤ 4 s and ≤ 800 MB RSS on a 2-core machine.
 *
 * Env: BENCH_CSV=path reuses a presence CSV (no bad rows appended); BENCH_CHANNELS, BENCH_VIEWERS
 * change the size; BENCH_IMPORT=0 skips the import run; BENCH_KEEP=1 keeps the temp folder.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);

/** Child mode: `--child <mode> <csv>` reads and prints one JSON line of figures. */
async function child(mode: string, csv: string): Promise<void> {
  const t0 = performance.now();
  if (mode === 'duckdb') {
    const { withDuckDB, pullNumericColumns, pullStringColumn, sqlString } = await import(
      '../src/storage/duckdb.js'
    );
    // DuckDB needs more than its default 1 GB here; the figure shows the cost of this route.
    const r = await withDuckDB(
      async (c) => {
        await c.run(`CREATE TABLE p AS SELECT lower(channel) AS channel, lower(viewer) AS viewer,
          (CASE WHEN ts < 1e11 THEN ts * 1000 ELSE ts END)::DOUBLE AS ts, coalesce(messages, 1)::UINTEGER AS messages
        FROM read_csv(${sqlString(csv)}, header = true, columns = {'channel': 'VARCHAR', 'viewer': 'VARCHAR', 'ts': 'DOUBLE', 'source': 'VARCHAR', 'messages': 'INTEGER'}, ignore_errors = true)
        WHERE channel <> '' AND viewer <> '' AND ts IS NOT NULL AND coalesce(messages, 1) >= 0`);
        await c.run(
          'CREATE TABLE dc AS SELECT channel, (row_number() OVER () - 1)::UINTEGER AS id FROM (SELECT DISTINCT channel FROM p)',
        );
        await c.run(
          'CREATE TABLE dv AS SELECT viewer, (row_number() OVER () - 1)::UINTEGER AS id FROM (SELECT DISTINCT viewer FROM p)',
        );
        const channelNames = await pullStringColumn(c, 'SELECT channel FROM dc ORDER BY id');
        const viewerNames = await pullStringColumn(c, 'SELECT viewer FROM dv ORDER BY id');
        const cols = await pullNumericColumns(
          c,
          'SELECT dc.id, dv.id, p.ts, p.messages FROM p JOIN dc USING (channel) JOIN dv USING (viewer)',
          ['u32', 'u32', 'f64', 'u32'],
          16_000_000,
        );
        return {
          rows: cols.length,
          channels: channelNames.length,
          viewers: viewerNames.length,
          rejected: -1,
          lines: [],
        };
      },
      { memoryLimit: '4GB' },
    );
    print(t0, r);
    return;
  }
  if (mode === 'copy') {
    // What `import` does, as one DuckDB statement: CSV → lower-cased logins, UTC timestamps,
    // Hive-partitioned ZSTD Parquet by (source, day), on both cores.
    const { withDuckDB, sqlString } = await import('../src/storage/duckdb.js');
    const out = process.argv[process.argv.indexOf('--child') + 3] as string;
    await withDuckDB(
      async (c) => {
        await c.run('SET preserve_insertion_order = false');
        await c.run(`COPY (
          SELECT lower(channel) AS channel, lower(viewer) AS viewer, to_timestamp(ts) AS ts,
            coalesce(messages, 1) AS messages, NULL::VARCHAR AS vod_id, 'chat' AS kind, source, to_timestamp(ts)::DATE AS dt
          FROM read_csv(${sqlString(csv)}, header = true, columns = {'channel': 'VARCHAR', 'viewer': 'VARCHAR', 'ts': 'DOUBLE', 'source': 'VARCHAR', 'messages': 'INTEGER'}, ignore_errors = true)
          WHERE channel <> '' AND viewer <> '' AND ts IS NOT NULL
        ) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (source, dt), OVERWRITE_OR_IGNORE)`);
      },
      { memoryLimit: '4GB' },
    );
    print(t0, { rows: -1, channels: -1, viewers: -1, rejected: -1, lines: [] });
    return;
  }
  const { readPresenceFiles } = await import('../src/ingest/index.js');
  // general1: one thread with every record on the general path (no fast path), for comparison
  const r = await readPresenceFiles([csv], {
    threads: mode === 'threads2' ? 2 : 1,
    plainPath: mode !== 'general1',
  });
  print(t0, {
    rows: r.rowsRead,
    channels: r.table.channelNames.length,
    viewers: r.table.viewerCount ?? r.table.viewerNames.length,
    rejected: r.rejectedCount,
    lines: r.rejected.map((x) => x.line),
  });
}

function print(t0: number, r: Record<string, unknown>): void {
  const cpu = process.cpuUsage();
  console.log(
    `BENCH_RESULT ${JSON.stringify({ ...r, seconds: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6 })}`,
  );
}

interface Run {
  wallS: number;
  rssMb: number;
  result?: {
    rows: number;
    channels: number;
    viewers: number;
    rejected: number;
    lines: number[];
    seconds: number;
    /** The child's whole CPU time (all threads, start-up included). */
    cpuS: number;
  };
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a command under GNU time (peak RSS); falls back to no RSS when it is missing. */
function measure(argv: string[]): Run {
  const gnu = existsSync('/usr/bin/time');
  const r = gnu
    ? spawnSync('/usr/bin/time', ['-f', 'BENCH_TIME %e %M', ...argv], {
        cwd: repo,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      })
    : spawnSync(argv[0] as string, argv.slice(1), { cwd: repo, encoding: 'utf8', maxBuffer: 64 << 20 });
  const t = /BENCH_TIME ([\d.]+) (\d+)/.exec(r.stderr);
  const res = /BENCH_RESULT (.*)/.exec(r.stdout);
  return {
    wallS: t ? Number(t[1]) : Number.NaN,
    rssMb: t ? Number(t[2]) / 1024 : Number.NaN,
    result: res ? JSON.parse(res[1] as string) : undefined,
    stdout: r.stdout,
    stderr: r.stderr,
    code: r.status,
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'va-bench-ingest-'));
  const fmt = (n: number) => n.toLocaleString('en-US');
  try {
    console.log(
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );
    let csv = process.env.BENCH_CSV ?? '';
    const badLines: number[] = [];
    if (!csv) {
      const channels = env('BENCH_CHANNELS', 10_000);
      const viewers = env('BENCH_VIEWERS', 2_000_000);
      const sim = join(work, 'sim');
      const s = spawnSync(
        process.execPath,
        [
          join(repo, 'bin', 'vieweratlas.mjs'),
          'simulate',
          '--channels',
          String(channels),
          '--viewers',
          String(viewers),
          '--seed',
          '7',
          '--out',
          sim,
        ],
        { cwd: repo, encoding: 'utf8' },
      );
      if (s.status !== 0) throw new Error(`simulate failed: ${s.stderr}`);
      console.log(s.stdout.trim().split('\n')[0]);
      csv = join(sim, 'presence.csv');
      // Correctness guard: bad rows at the end (read by the worker's half) must be reported with their lines.
      const rows = Number(/([\d,]+) presence rows/.exec(s.stdout)?.[1]?.replaceAll(',', '') ?? 0);
      appendFileSync(
        csv,
        'xqc,,1795525500,live,1\nxqc,someone,yesterday,live,1\nxqc,other,1795525500,live,-2\n',
      );
      badLines.push(rows + 2, rows + 3, rows + 4);
    }
    const mb = statSync(csv).size / 1e6;
    console.log(`input: ${csv} (${mb.toFixed(0)} MB)`);
    const self = fileURLToPath(import.meta.url);
    for (const mode of ['threads2', 'threads1', 'general1', 'duckdb']) {
      const r = measure([process.execPath, '--import', 'tsx', self, '--child', mode, csv]);
      if (!r.result) {
        console.log(`${mode}: FAILED (exit ${r.code}) ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        continue;
      }
      const x = r.result;
      console.log(
        `${mode.padEnd(8)}: ${fmt(x.rows)} rows, ${fmt(x.channels)} channels, ${fmt(x.viewers)} viewers in ${x.seconds.toFixed(2)} s ` +
          `(${(x.rows / x.seconds / 1e6).toFixed(2)} M rows/s, ${(mb / x.seconds).toFixed(0)} MB/s); process wall ${r.wallS.toFixed(2)} s, CPU ${x.cpuS.toFixed(2)} s, peak RSS ${r.rssMb.toFixed(0)} MB`,
      );
      if (mode !== 'duckdb' && badLines.length) {
        const ok = x.rejected === badLines.length && badLines.every((l) => x.lines.includes(l));
        console.log(
          `          bad rows reported at ${x.lines.join(', ')} (expected ${badLines.join(', ')}): ${ok ? 'OK' : 'MISMATCH'}`,
        );
        if (!ok) process.exitCode = 1;
      }
    }
    if (process.env.BENCH_IMPORT !== '0') {
      const store = join(work, 'store');
      const r = measure([
        process.execPath,
        join(repo, 'bin', 'vieweratlas.mjs'),
        'import',
        '--data',
        store,
        csv,
      ]);
      const rows = Number(/(\d[\d,]*) rows read/.exec(r.stdout)?.[1]?.replaceAll(',', '') ?? Number.NaN);
      console.log(
        `import  : exit ${r.code}, ${fmt(rows)} rows → Hive Parquet in ${r.wallS.toFixed(2)} s (${(rows / r.wallS / 1e6).toFixed(2)} M rows/s), peak RSS ${r.rssMb.toFixed(0)} MB`,
      );
      if (r.code !== 0) console.log(r.stderr.trim().split('\n').slice(-3).join('\n'));
      // The same job as one DuckDB COPY, right after (issue 12: import within 2× of it).
      const d = measure([
        process.execPath,
        '--import',
        'tsx',
        self,
        '--child',
        'copy',
        csv,
        join(work, 'copy'),
      ]);
      console.log(
        `copy    : DuckDB COPY (SELECT …) TO … (FORMAT parquet, PARTITION_BY (source, dt)) in ${d.wallS.toFixed(2)} s, peak RSS ${d.rssMb.toFixed(0)} MB` +
          (d.code === 0 ? '' : ` FAILED: ${d.stderr.trim().split('\n').slice(-2).join(' | ')}`),
      );
      const ratio = r.wallS / d.wallS;
      console.log(
        `          ratio import / COPY: ${ratio.toFixed(2)} (target ≤ 2) ${ratio <= 2 ? 'OK' : 'OVER TARGET'}`,
      );
    }
  } finally {
    if (process.env.BENCH_KEEP === '1') console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(process.argv[i + 1] as string, process.argv[i + 2] as string);
else await main();
