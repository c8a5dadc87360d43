/**
 * Cloud pieces on loopback (`npm run bench -- cloud`):
 * 1. the S3 driver against the in-memory S3 server of the tests: appends (one chunk object each,
 *    as the collector flushes), reading an hour file back from its chunks, multipart putFile;
 * 2. the overlap query (the SQL Athena runs) on DuckDB over Hive-partitioned Parquet, against
 *    the local typed-array engine (aggregate + buildOverlapGraph) on the same rows.
 * Loopback figures say what the driver and the SQL cost here, not what S3 or Athena will take.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aggregate } from '../src/analysis/aggregate.js';
import { KNOWN_BOTS } from '../src/analysis/known-bots.js';
import { buildOverlapGraph } from '../src/analysis/overlap.js';
import { runOverlapOnDuckDB } from '../src/athena/duckdb-runner.js';
import { S3Storage } from '../src/storage/s3-driver.js';
import {
  syntheticPresence,
  toPresenceTable,
  writePresenceParquet,
} from '../test/helpers/presence-fixture.js';
import { startLocalS3, TEST_CREDENTIALS } from '../test/helpers/s3-server.js';

const ms = (t0: number) => performance.now() - t0;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function s3Driver(): Promise<void> {
  const server = await startLocalS3(['bench']);
  const dir = await mkdtemp(join(tmpdir(), 'va-bench-cloud-'));
  const s = new S3Storage(server.s3Config('bench', 'bench/', { multipart_threshold_mb: 8 }), {
    credentials: TEST_CREDENTIALS,
  });
  try {
    const line = `${JSON.stringify({ channel: 'xqc', viewer: 'someone_watching', ts: '2026-11-24T13:05:00.000Z', source: 'live', messages: 3 })}\n`;
    const chunk = line.repeat(40); // ~4 KB: one flush of a busy collector
    const key = 'raw/presence/source=live/dt=2026-11-24/hour=13/c1.jsonl';
    const n = 500;
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await s.append(key, chunk);
    const appendMs = ms(t0);
    console.log(
      `s3 append: ${n} chunks of ${chunk.length} B in ${fmt(appendMs)} ms (${(appendMs / n).toFixed(2)} ms each, ${fmt((n * 1000) / appendMs)}/s)`,
    );
    t0 = performance.now();
    const back = await s.get(key);
    console.log(
      `s3 get of the hour file: ${n} chunks, ${fmt(back?.length ?? 0)} B reassembled in ${fmt(ms(t0))} ms`,
    );
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(64 * 1024 * 1024, 7));
    t0 = performance.now();
    await s.putFile('presence/source=live/dt=2026-11-24/part-big.parquet', big);
    const putMs = ms(t0);
    console.log(
      `s3 putFile 64 MiB multipart (8 MiB parts): ${fmt(putMs)} ms (${fmt(64 / (putMs / 1000))} MiB/s)`,
    );
  } finally {
    await s.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function overlapSql(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'va-bench-sql-'));
  try {
    const rows = syntheticPresence(1, { channels: 600, viewers: 120_000, communities: 12 });
    const files = await writePresenceParquet(dir, rows, 2);
    console.log(`presence: ${fmt(rows.length)} rows in ${files.length} Parquet files`);
    const q = { bots: [...KNOWN_BOTS], minViewers: 5, minShared: 2 };
    let t0 = performance.now();
    const sql = await runOverlapOnDuckDB(join(dir, 'presence', '*', '*', '*.parquet'), q);
    const sqlMs = ms(t0);
    t0 = performance.now();
    const table = toPresenceTable(rows);
    const internMs = ms(t0);
    t0 = performance.now();
    const g = buildOverlapGraph(aggregate(table, { minViewers: 5 }), { weight: 'shared', minShared: 2 });
    const localMs = ms(t0);
    console.log(
      `overlap SQL on DuckDB (2 threads): ${fmt(sqlMs)} ms → ${sql.nodeNames.length} channels, ${fmt(sql.length)} edges\n` +
        `local engine: ${fmt(localMs)} ms aggregate+overlap (+${fmt(internMs)} ms interning) → ${g.nodeNames.length} channels, ${fmt(g.length)} edges`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await s3Driver();
await overlapSql();
