/**
 * `npm run bench -- analysis`: quality and speed of the analysis stages.
 * 1. NMI / ARI per weight kind (Leiden, defaults otherwise) on hub-heavy planted data at mixing 0.5:
 *    the test generator with niche communities, and src/simulate's population.
 * 2. Modularity and time per algorithm on the real 2021 Twitch atlas edge list (raw weights).
 * 3. Scale: src/simulate at 10,000 channels / 2,000,000 viewers (~16M rows): aggregate (rows
 *    viewer by viewer, and reversed), overlap, the edge files (edges.csv, GEXF edge part,
 *    edges.parquet), the projection on one thread vs two, Leiden timings. Skip with BENCH_SCALE=0.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  aggregate,
  ari,
  buildOverlapGraph,
  detectCommunities,
  graphFromEdgeTable,
  nmi,
  OVERLAP_DEFAULTS,
} from '../src/analysis/index.js';
import { spawnProjectionWorker } from '../src/analysis/overlap-parallel.js';
import { writeEdgeFiles } from '../src/export/edge-files.js';
import { WEIGHT_KINDS } from '../src/model/atlas.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { sqlString, withDuckDB } from '../src/storage/duckdb.js';
import { ATLAS_EDGES, readAtlas2021 } from '../test/fixtures/analysis/atlas2021.js';
import { synthesize } from '../test/fixtures/analysis/synthetic.js';
import { simulateTable as simTable } from './quality-gen.js';

const ms = (t: number) => `${Math.round(performance.now() - t)} ms`;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return `${Math.round((u.user + u.system) / 1000)} ms`;
};

function weightSweep(title: string, table: PresenceTable, truth: Map<string, number>) {
  console.log(`\n${title}: ${table.length} rows, ${table.channelNames.length} channels`);
  const audience = aggregate(table);
  console.log(`  weight   edges     k   NMI    ARI    Q      (default: ${OVERLAP_DEFAULTS.weight})`);
  for (const weight of WEIGHT_KINDS) {
    const graph = buildOverlapGraph(audience, { weight });
    const r = detectCommunities(graph);
    const t = graph.nodeNames.map((n) => truth.get(n)!);
    console.log(
      `  ${weight.padEnd(8)} ${String(graph.length).padEnd(9)} ${String(r.count).padEnd(3)} ${nmi(t, r.membership).toFixed(3)}  ${ari(t, r.membership).toFixed(3)}  ${r.modularity.toFixed(3)}`,
    );
  }
}

const s1 = synthesize({
  channels: 1000,
  viewers: 120_000,
  communities: 12,
  mixing: 0.5,
  nicheShare: 0.5,
  seed: 1,
});
weightSweep('test generator, 12 communities (6 niche), mixing 0.5, seed 1', s1.table, s1.truth);
const s2 = simTable({ channels: 1000, viewers: 100_000, communities: 12, mixing: 0.5, seed: 42 });
weightSweep(
  'src/simulate defaults (1000 channels, 100k viewers, 12 communities, mixing 0.5)',
  s2.table,
  s2.truth,
);
const s3 = simTable({
  channels: 1000,
  viewers: 100_000,
  communities: 12,
  mixing: 0.5,
  seed: 1,
  popularityExponent: 1.1,
});
weightSweep('src/simulate, popularityExponent 1.1 (bigger hubs), seed 1', s3.table, s3.truth);

if (existsSync(ATLAS_EDGES)) {
  console.log('\nreal 2021 Twitch atlas edge list, raw weights (82,275 edges)');
  const graph = graphFromEdgeTable(readAtlas2021(false));
  // Flat: one partition at resolution 1 (the figure other tools print). Two levels (the default):
  // Q of its groups, and of its communities, which split groups and so score lower on Q.
  for (const hierarchy of [false, true]) {
    for (const algorithm of ['leiden', 'louvain'] as const) {
      for (const seed of [1, 42]) {
        const t = performance.now();
        const r = detectCommunities(graph, { algorithm, seed, hierarchy });
        const what = hierarchy
          ? `groups Q ${r.groups.modularity.toFixed(4)} k ${r.groups.count}, communities Q ${r.modularity.toFixed(4)} k ${r.count}`
          : `Q ${r.modularity.toFixed(4)}  k ${r.count}`;
        console.log(
          `  ${hierarchy ? 'two levels' : 'flat      '} ${algorithm.padEnd(8)} seed ${String(seed).padEnd(3)} ${what}  ${ms(t)}`,
        );
      }
    }
  }
}

if (process.env.BENCH_SCALE !== '0') {
  console.log('\nscale: src/simulate 10,000 channels / 2,000,000 viewers');
  let t = performance.now();
  const big = simTable({ channels: 10_000, viewers: 2_000_000, communities: 12, mixing: 0.5, seed: 42 });
  console.log(`  simulate ${big.table.length} rows in memory: ${ms(t)}`);
  t = performance.now();
  let cpu = process.cpuUsage();
  const audience = aggregate(big.table);
  console.log(
    `  aggregate (rows viewer by viewer): ${ms(t)}, ${cpuMs(cpu)} CPU ${JSON.stringify(audience.timings)} pairs ${audience.counts.pairs}`,
  );
  {
    // The same rows backwards: viewers descending, so the counting sort by viewer runs.
    const b = big.table;
    const reversed = {
      ...b,
      channel: b.channel.slice(0, b.length).reverse(),
      viewer: b.viewer.slice(0, b.length).reverse(),
      ts: b.ts.slice(0, b.length).reverse(),
      messages: b.messages.slice(0, b.length).reverse(),
    };
    // The same audience from the rows in another order, and its time.
    const sameFrom = (what: string, rows: typeof b) => {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const again = aggregate(rows);
      console.log(
        `  aggregate (rows ${what}): ${ms(t0)}, ${cpuMs(cpu0)} CPU ${JSON.stringify(again.timings)}`,
      );
      if (
        JSON.stringify(again.counts) !== JSON.stringify(audience.counts) ||
        Buffer.compare(
          Buffer.from(again.viewerChannels!.buffer),
          Buffer.from(audience.viewerChannels!.buffer),
        ) !== 0
      )
        throw new Error(`aggregate: ${what} rows gave another audience`);
    };
    sameFrom('reversed', reversed);
    // Shuffled (a fixed permutation): no viewer's rows together, as in a collector's time order;
    // the sort by viewer goes through buckets (`gatherInBuckets`).
    const n = b.length;
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    let x = 1;
    for (let i = n - 1; i > 0; i--) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const j = x % (i + 1);
      const tmp = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = tmp;
    }
    const pick = <T extends Uint32Array | Float64Array>(a: T): T => {
      const c = new (a.constructor as new (k: number) => T)(n);
      for (let i = 0; i < n; i++) c[i] = a[perm[i]!]!;
      return c;
    };
    const shuffled = {
      ...b,
      channel: pick(b.channel),
      viewer: pick(b.viewer),
      ts: pick(b.ts),
      messages: pick(b.messages),
    };
    sameFrom('shuffled', shuffled);
  }
  {
    // One thread vs two (the projection worker takes the second half of the rows, as in
    // `analyze`), alternating, median of 3: needs the columns on SharedArrayBuffers, as the
    // readers give them.
    const b = big.table;
    const onShared = <T extends Uint32Array | Float64Array>(a: T): T => {
      const c = new (a.constructor as new (buf: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
      c.set(a as never);
      return c;
    };
    const sharedTable = {
      ...b,
      channel: onShared(b.channel.subarray(0, b.length)),
      viewer: onShared(b.viewer.subarray(0, b.length)),
      ts: onShared(b.ts.subarray(0, b.length)),
      messages: onShared(b.messages.subarray(0, b.length)),
    };
    const helper = spawnProjectionWorker();
    if (await helper.ready(30_000)) {
      const wall: Record<'one' | 'two', number[]> = { one: [], two: [] };
      for (let i = 0; i < 3; i++) {
        for (const mode of ['one', 'two'] as const) {
          const t0 = performance.now();
          const a = aggregate(sharedTable, {}, mode === 'two' ? helper : undefined);
          wall[mode].push(performance.now() - t0);
          if ((a.timings.threads === 2) !== (mode === 'two'))
            throw new Error(`aggregate: ${mode} thread(s) expected`);
          if (JSON.stringify(a.counts) !== JSON.stringify(audience.counts))
            throw new Error(`aggregate: the ${mode}-thread run gave other counts`);
        }
      }
      const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[1]!;
      console.log(
        `  aggregate, one thread vs two (shared columns, median of 3, alternating, same counts): ${Math.round(med(wall.one))} ms vs ${Math.round(med(wall.two))} ms`,
      );
    } else console.log('  aggregate on two threads: the worker did not start (skipped)');
    helper.close();
  }
  t = performance.now();
  const graph = buildOverlapGraph(audience);
  console.log(
    `  overlap (${OVERLAP_DEFAULTS.weight}): ${ms(t)} ${JSON.stringify(graph.stats?.timings)} edges ${graph.length}`,
  );
  // The edge files `analyze` writes in its worker (here on this thread), from the graph's arrays.
  {
    const dir = mkdtempSync(join(tmpdir(), 'va-bench-edges-'));
    try {
      for (const parquet of [false, true]) {
        t = performance.now();
        cpu = process.cpuUsage();
        const files = await writeEdgeFiles(dir, graph, { parquet });
        const what = parquet ? 'edges.csv + GEXF edge part + edges.parquet' : 'edges.csv + GEXF edge part';
        console.log(
          `  edge files, ${what}: ${ms(t)}, ${cpuMs(cpu)} CPU; edges.csv ${Math.round(statSync(files.edgesCsv).size / 1e6)} MB` +
            (files.edgesParquet
              ? `, edges.parquet ${Math.round(statSync(files.edgesParquet).size / 1e6)} MB`
              : ''),
        );
        if (files.gexfEdgesPart) rmSync(files.gexfEdgesPart);
      }
      // The reference: DuckDB converting that edges.csv, as analyze made edges.parquet before.
      t = performance.now();
      cpu = process.cpuUsage();
      const duckParquet = join(dir, 'duckdb-edges.parquet');
      await withDuckDB((conn) =>
        conn
          .run(
            `COPY (SELECT * FROM read_csv(${sqlString(join(dir, 'edges.csv'))}, header = true, delim = ',', quote = '"', escape = '"', ` +
              `columns = {'source': 'VARCHAR', 'target': 'VARCHAR', 'weight': 'DOUBLE', 'shared': 'DOUBLE'}, nullstr = '', auto_detect = false)) ` +
              `TO ${sqlString(duckParquet)} (FORMAT parquet, COMPRESSION lz4)`,
          )
          .then(() => undefined),
      );
      console.log(
        `  edges.parquet by DuckDB from that edges.csv (the way before): ${ms(t)}, ${cpuMs(cpu)} CPU (its threads too); ${Math.round(statSync(duckParquet).size / 1e6)} MB`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // The projection on one thread and on two (the worker analyze spawns), alternating, median of 3;
  // the edges must come out identical.
  const worker = spawnProjectionWorker();
  if (await worker.ready(30_000)) {
    const wall: Record<'one' | 'two', number[]> = { one: [], two: [] };
    for (let i = 0; i < 3; i++) {
      for (const mode of ['one', 'two'] as const) {
        const t0 = performance.now();
        const g = buildOverlapGraph(audience, {}, mode === 'two' ? worker : undefined);
        wall[mode].push(performance.now() - t0);
        const same =
          g.length === graph.length &&
          Buffer.compare(
            Buffer.from(g.target.buffer, g.target.byteOffset, g.target.byteLength),
            Buffer.from(graph.target.buffer, graph.target.byteOffset, graph.target.byteLength),
          ) === 0;
        if (!same) throw new Error(`overlap: the ${mode}-thread projection gave other edges`);
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    console.log(
      `  overlap, one thread vs two (median of 3, alternating, same edges): ${Math.round(med(wall.one))} ms vs ${Math.round(med(wall.two))} ms (×${(med(wall.one) / med(wall.two)).toFixed(2)})`,
    );
  } else console.log('  overlap on two threads: the worker did not start (skipped)');
  worker.close();
  t = performance.now();
  const r = detectCommunities(graph);
  const truth = graph.nodeNames.map((n) => big.truth.get(n)!);
  console.log(
    `  leiden: ${ms(t)} k ${r.count} Q ${r.modularity.toFixed(3)} NMI ${nmi(truth, r.membership).toFixed(3)}`,
  );
  console.log(`  peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
}
