import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaClient } from '@aws-sdk/client-athena';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregate } from '../src/analysis/aggregate.js';
import { KNOWN_BOTS } from '../src/analysis/known-bots.js';
import { buildOverlapGraph } from '../src/analysis/overlap.js';
import { runOverlapOnAthena } from '../src/athena/athena-runner.js';
import { runOverlapOnDuckDB } from '../src/athena/duckdb-runner.js';
import { overlapGraphFromEdges, overlapGraphOnAthena } from '../src/athena/engine.js';
import {
  buildOverlapSql,
  type OverlapEdges,
  type OverlapQueryOptions,
  overlapQueryOptions,
  presenceRelation,
} from '../src/athena/overlap-sql.js';
import { loadConfig } from '../src/config/load.js';
import { importFiles, readPresenceFiles } from '../src/ingest/index.js';
import { WEIGHT_KINDS } from '../src/model/atlas.js';
import type { PresenceRecord } from '../src/model/records.js';
import { queryRows, withDuckDB } from '../src/storage/duckdb.js';
import { FsStorage } from '../src/storage/fs-driver.js';
import {
  FIXTURE_DAY0,
  syntheticPresence,
  toPresenceTable,
  writePresenceCsv,
  writePresenceParquet,
} from './helpers/presence-fixture.js';
import { runCli } from './helpers/run-cli.js';
import { TEST_CREDENTIALS } from './helpers/s3-server.js';

type Graph = { nodes: Record<string, number>; edges: string[]; total: number };

/** Name-keyed view of a graph, independent of node id order. */
function named(
  g: {
    nodeNames: string[];
    nodeAudience: Float64Array;
    source: Uint32Array;
    target: Uint32Array;
    length: number;
  },
  weights: Float64Array,
  total: number,
): Graph {
  const nodes = Object.fromEntries(g.nodeNames.map((n, i) => [n, g.nodeAudience[i] as number]));
  const edges: string[] = [];
  for (let i = 0; i < g.length; i++) {
    const [a, b] = [g.nodeNames[g.source[i] as number], g.nodeNames[g.target[i] as number]].sort();
    edges.push(`${a}|${b}|${weights[i]}`);
  }
  return { nodes, edges: edges.sort(), total };
}

const fromSql = (e: OverlapEdges): Graph => named(e, e.weight, e.totalViewers);

/** The local engine (ANALYSIS's aggregate + buildOverlapGraph, weight shared) on the same rows. */
function local(rows: PresenceRecord[], q: Partial<OverlapQueryOptions>): Graph {
  const kept = q.sources?.length ? rows.filter((r) => q.sources?.includes(r.source)) : rows;
  const audience = aggregate(toPresenceTable(kept), {
    windowStart: q.windowStart ?? null,
    windowEnd: q.windowEnd ?? null,
    minMessages: q.minMessages ?? 1,
    minBuckets: q.minBuckets ?? 1,
    minViewers: q.minViewers ?? 5,
    knownBots: false,
    extraBots: q.bots ?? [],
    maxChannelShare: q.maxChannelShare ?? 0.2,
    botMinChannels: q.botMinChannels ?? 20,
  });
  const g = buildOverlapGraph(audience, { weight: 'shared', minShared: q.minShared ?? 2 });
  return named(g, g.shared, audience.viewerCount);
}

const DAY = 86_400_000;
const SCENARIOS: [string, Partial<OverlapQueryOptions>][] = [
  ['config defaults with the bundled bot list', { bots: [...KNOWN_BOTS] }],
  [
    'two-day window, stricter cuts (min_messages, min_buckets)',
    {
      windowStart: new Date(FIXTURE_DAY0 + DAY).toISOString(),
      windowEnd: FIXTURE_DAY0 + 3 * DAY,
      minMessages: 3,
      minBuckets: 2,
      minViewers: 2,
      minShared: 2,
      bots: ['nightbot'],
    },
  ],
  [
    'no bot list: behavioural detection alone',
    { bots: [], botMinChannels: 5, maxChannelShare: 0.3, minViewers: 1, minShared: 1 },
  ],
  [
    'min_messages 0 counts membership rows; live only',
    { minMessages: 0, sources: ['live'], bots: ['streamelements'] },
  ],
  [
    'a window crossing midnight (partition pruning on dt)',
    { windowStart: FIXTURE_DAY0 + 0.5 * DAY, windowEnd: FIXTURE_DAY0 + 1.5 * DAY },
  ],
];

describe('overlap SQL: DuckDB over the Parquet layout equals the local engine', () => {
  let dir: string;
  let rows: PresenceRecord[];
  let glob: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'va-athena-'));
    rows = syntheticPresence(7);
    const keys = await writePresenceParquet(dir, rows);
    expect(keys.some((k) => k.startsWith('presence/source=vod/dt=2026-11-25/part-'))).toBe(true);
    glob = join(dir, 'presence', '*', '*', '*.parquet');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const [name, q] of SCENARIOS) {
    it(name, async () => {
      const want = local(rows, q);
      const got = fromSql(await runOverlapOnDuckDB(glob, q));
      // the scenario must exercise something: several channels, edges and some cut
      expect(Object.keys(want.nodes).length).toBeGreaterThan(3);
      expect(want.edges.length).toBeGreaterThan(3);
      expect(got.nodes).toEqual(want.nodes);
      expect(got.edges).toEqual(want.edges);
      expect(got.total).toBe(want.total);
    });
  }

  it('removes the behavioural bot that the known list does not name', async () => {
    const q = { bots: [...KNOWN_BOTS], minViewers: 1, minShared: 1 };
    const withDetection = await runOverlapOnDuckDB(glob, q);
    const without = await runOverlapOnDuckDB(glob, { ...q, botMinChannels: 1000 });
    // lurkbot_9000 sits in ~70% of channels: with detection off it adds shared viewers
    const sum = (e: OverlapEdges) => e.weight.reduce((s, w) => s + w, 0);
    expect(sum(without)).toBeGreaterThan(sum(withDetection));
    expect(without.totalViewers).toBe(withDetection.totalViewers + 1);
  });
});

describe('overlap SQL over the Parquet that `import` really writes', () => {
  it('equals the local engine on the same file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'va-athena-import-'));
    try {
      const rows = syntheticPresence(21);
      const csv = join(dir, 'presence.csv');
      await writePresenceCsv(csv, rows);
      const storage = new FsStorage(join(dir, 'data'));
      const summary = await importFiles(storage, [csv]);
      expect(summary.failed).toBe(0);
      const q = { bots: [...KNOWN_BOTS], minViewers: 3 };
      const got = fromSql(await runOverlapOnDuckDB(join(dir, 'data', 'presence', '*', '*', '*.parquet'), q));
      const { table } = await readPresenceFiles([csv]);
      const audience = aggregate(table, { minViewers: 3 });
      const g = buildOverlapGraph(audience, { weight: 'shared' });
      expect(got.edges.length).toBeGreaterThan(10);
      expect(got).toEqual(named(g, g.shared, audience.viewerCount));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('analyze --engine athena: the graph community detection sees', () => {
  let dir: string;
  let rows: PresenceRecord[];
  let glob: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'va-athena-graph-'));
    rows = syntheticPresence(3);
    await writePresenceParquet(dir, rows, 1);
    glob = join(dir, 'presence', '*', '*', '*.parquet');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('equals the local engine for every weight kind, min_weight and the backbone', async () => {
    const config = loadConfig({ env: {}, cwd: tmpdir() });
    const q = overlapQueryOptions(config, KNOWN_BOTS);
    const edges = await runOverlapOnDuckDB(glob, q);
    const audience = aggregate(toPresenceTable(rows), {
      minMessages: q.minMessages,
      minViewers: q.minViewers,
      knownBots: true,
      maxChannelShare: q.maxChannelShare,
      botMinChannels: q.botMinChannels,
    });
    const variants = [
      ...WEIGHT_KINDS.map((weight) => ({ ...config.overlap, weight })),
      { ...config.overlap, weight: 'jaccard' as const, min_weight: 0.05 },
      { ...config.overlap, weight: 'cosine' as const, backbone: true, backbone_alpha: 0.3 },
    ];
    for (const overlap of variants) {
      const mine = overlapGraphFromEdges(edges, overlap);
      const theirs = buildOverlapGraph(audience, {
        weight: overlap.weight,
        minShared: overlap.min_shared,
        minWeight: overlap.min_weight,
        backbone: overlap.backbone,
        backboneAlpha: overlap.backbone_alpha,
      });
      const label = JSON.stringify(overlap);
      expect(theirs.length, label).toBeGreaterThan(10);
      expect(named(mine, mine.weight, 0), label).toEqual(named(theirs, theirs.weight, 0));
    }
  });

  it('overlapGraphOnAthena runs the config’s query and weights it (loopback Athena)', async () => {
    const stub = await startAthenaStub(glob);
    try {
      const config = loadConfig({
        env: {},
        cwd: tmpdir(),
        overrides: { athena: { poll_ms: 1 }, overlap: { weight: 'jaccard' } },
      });
      const { graph, totalViewers, athena } = await overlapGraphOnAthena(config, { client: stub.client });
      const sql = String(stub.calls[0]?.body.QueryString);
      expect(sql).toContain("'nightbot'"); // the bundled known-bot list went into the query
      expect(athena.queryExecutionId).toBe('q-1');
      const audience = aggregate(toPresenceTable(rows), {});
      const local = buildOverlapGraph(audience, { weight: 'jaccard' });
      expect(totalViewers).toBe(audience.viewerCount);
      expect(named(graph, graph.weight, 0)).toEqual(named(local, local.weight, 0));
    } finally {
      await stub.close();
    }
  });
});

describe('overlap SQL text', () => {
  it('is one definition: the dialects differ only in the presence relation', () => {
    const q: Partial<OverlapQueryOptions> = {
      windowStart: '2026-11-24T00:00:00Z',
      windowEnd: '2026-11-25T06:00:00Z',
      bots: ["o'brien", 'nightbot'],
    };
    const athena = buildOverlapSql({ dialect: 'athena', database: 'vieweratlas' }, q);
    const duck = buildOverlapSql({ dialect: 'duckdb', parquetGlob: '/d/presence/*/*/*.parquet' }, q);
    expect(athena).toContain('FROM "vieweratlas"."presence"');
    expect(athena).not.toMatch(/read_parquet|hive_/);
    expect(athena.replace(presenceRelation({ dialect: 'athena', database: 'vieweratlas' }), 'X')).toBe(
      duck.replace(presenceRelation({ dialect: 'duckdb', parquetGlob: '/d/presence/*/*/*.parquet' }), 'X'),
    );
    // partition pruning on dt, exact instants on ts, quotes escaped
    expect(athena).toContain("dt >= '2026-11-24'");
    expect(athena).toContain("dt <= '2026-11-25'");
    expect(athena).toContain("ts >= TIMESTAMP '2026-11-24 00:00:00.000'");
    expect(athena).toContain("ts < TIMESTAMP '2026-11-25 06:00:00.000'");
    expect(athena).toContain("'o''brien'");
    expect(() => buildOverlapSql({ dialect: 'athena', database: 'x' }, { windowStart: 'yesterday' })).toThrow(
      /window_start/,
    );
  });

  it('maps the config (known bots only when aggregate.known_bots)', () => {
    const config = loadConfig({
      env: {},
      cwd: tmpdir(),
      overrides: { aggregate: { extra_bots: ['SomeBot'], min_viewers: 9 } },
    });
    const q = overlapQueryOptions(config, ['nightbot']);
    expect(q.bots).toEqual(['nightbot', 'somebot']);
    expect(q.minViewers).toBe(9);
    expect(q.minShared).toBe(config.overlap.min_shared);
    const off = loadConfig({ env: {}, cwd: tmpdir(), overrides: { aggregate: { known_bots: false } } });
    expect(overlapQueryOptions(off, ['nightbot']).bots).toEqual([]);
  });
});

/**
 * A local Athena speaking the JSON 1.1 protocol on 127.0.0.1. It "executes" a query by running
 * the received Athena SQL on DuckDB with only the table reference swapped for the Parquet files,
 * reports QUEUED → RUNNING → SUCCEEDED over successive polls and pages the results.
 */
async function startAthenaStub(glob: string, behaviour: { fail?: string } = {}) {
  const calls: { target: string; body: Record<string, unknown> }[] = [];
  const queries = new Map<string, { sql: string; polls: number; rows?: Record<string, unknown>[] }>();
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
  };
  const server: Server = createServer(async (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '').replace('AmazonAthena.', '');
    const body = await read(req);
    calls.push({ target, body });
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(json));
    };
    const q = queries.get(String(body.QueryExecutionId));
    if (target === 'StartQueryExecution') {
      const id = `q-${queries.size + 1}`;
      queries.set(id, { sql: String(body.QueryString), polls: 0 });
      return reply(200, { QueryExecutionId: id });
    }
    if (!q) return reply(400, { __type: 'InvalidRequestException', Message: 'unknown query id' });
    if (target === 'GetQueryExecution') {
      q.polls++;
      const state =
        q.polls === 1 ? 'QUEUED' : q.polls === 2 ? 'RUNNING' : behaviour.fail ? 'FAILED' : 'SUCCEEDED';
      return reply(200, {
        QueryExecution: {
          QueryExecutionId: body.QueryExecutionId,
          Status: { State: state, ...(state === 'FAILED' ? { StateChangeReason: behaviour.fail } : {}) },
          Statistics: { DataScannedInBytes: 1234 * q.polls, EngineExecutionTimeInMillis: 50 * q.polls },
        },
      });
    }
    if (target === 'GetQueryResults') {
      q.rows ??= await withDuckDB(async (conn) => {
        await conn.run(`SET TimeZone = 'UTC'`);
        const sql = q.sql.replace(
          '"vieweratlas"."presence"',
          presenceRelation({ dialect: 'duckdb', parquetGlob: glob }),
        );
        return queryRows(conn, sql);
      });
      const pageSize = Number(body.MaxResults ?? 1000);
      const start = body.NextToken ? Number(body.NextToken) : 0;
      // the first page starts with the header row, as Athena's does for SELECT
      const all = [{ kind: 'kind', a: 'a', b: 'b', n: 'n' }, ...q.rows];
      const page = all.slice(start, start + pageSize);
      return reply(200, {
        ResultSet: {
          ResultSetMetadata: {
            ColumnInfo: ['kind', 'a', 'b', 'n'].map((Name) => ({
              Name,
              Type: Name === 'n' ? 'bigint' : 'varchar',
            })),
          },
          Rows: page.map((r) => ({
            Data: ['kind', 'a', 'b', 'n'].map((c) =>
              r[c as keyof typeof r] === null ? {} : { VarCharValue: String(r[c as keyof typeof r]) },
            ),
          })),
        },
        ...(start + pageSize < all.length ? { NextToken: String(start + pageSize) } : {}),
      });
    }
    if (target === 'StopQueryExecution') return reply(200, {});
    return reply(400, { __type: 'InvalidRequestException', Message: `unsupported ${target}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new AthenaClient({
    region: 'us-east-1',
    endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
  });
  return { calls, client, endpoint, close: () => new Promise((r) => server.close(r)) };
}

describe('runOverlapOnAthena against a loopback Athena', () => {
  let dir: string;
  let rows: PresenceRecord[];
  let glob: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'va-athena-stub-'));
    rows = syntheticPresence(11, { channels: 24, viewers: 400 });
    await writePresenceParquet(dir, rows, 1);
    glob = join(dir, 'presence', '*', '*', '*.parquet');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const config = () =>
    loadConfig({
      env: {},
      cwd: tmpdir(),
      overrides: {
        athena: {
          workgroup: 'va-wg',
          database: 'vieweratlas',
          output_location: 's3://results/athena/',
          poll_ms: 5,
        },
      },
    });

  it('submits in the workgroup, polls until SUCCEEDED, pages the results, parses the edge list', async () => {
    const stub = await startAthenaStub(glob);
    try {
      const q = { bots: [...KNOWN_BOTS], minViewers: 3 };
      const phases: string[] = [];
      const got = await runOverlapOnAthena(config(), {
        client: stub.client,
        query: q,
        pageSize: 17,
        onProgress: (p) => phases.push(`${p.phase}:${p.state ?? ''}`),
      });
      const start = stub.calls[0];
      expect(start?.target).toBe('StartQueryExecution');
      expect(start?.body.WorkGroup).toBe('va-wg');
      expect(start?.body.QueryExecutionContext).toEqual({
        Database: 'vieweratlas',
        Catalog: 'AwsDataCatalog',
      });
      expect(start?.body.ResultConfiguration).toEqual({
        OutputLocation: 's3://results/athena/',
        EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
      });
      expect(stub.calls.filter((c) => c.target === 'GetQueryExecution')).toHaveLength(3);
      const pages = stub.calls.filter((c) => c.target === 'GetQueryResults');
      expect(got.athena.pages).toBe(pages.length);
      expect(pages.length).toBeGreaterThan(2);
      expect(pages.every((p) => p.body.MaxResults === 17)).toBe(true);
      expect(phases.slice(0, 4)).toEqual([
        'submitted:',
        'running:QUEUED',
        'running:RUNNING',
        'running:SUCCEEDED',
      ]);
      expect(got.athena.scannedBytes).toBe(1234 * 3);
      // the same graph as the local engine and as DuckDB
      expect(fromSql(got)).toEqual(local(rows, q));
      expect(fromSql(got)).toEqual(fromSql(await runOverlapOnDuckDB(glob, q)));
    } finally {
      await stub.close();
    }
  });

  it('reports a FAILED query with its id and Athena’s reason', async () => {
    const stub = await startAthenaStub(glob, { fail: 'SYNTAX_ERROR: line 1:8: Column x cannot be resolved' });
    try {
      await expect(runOverlapOnAthena(config(), { client: stub.client })).rejects.toThrow(
        /^athena: query q-1 FAILED: SYNTAX_ERROR: line 1:8/,
      );
    } finally {
      await stub.close();
    }
  });

  it('stops a query that outlives the timeout', async () => {
    const stub = await startAthenaStub(glob);
    try {
      await expect(
        runOverlapOnAthena(config(), { client: stub.client, timeoutMs: 0, pollMs: 1 }),
      ).rejects.toThrow(/still QUEUED after 0 s; stopped it/);
      expect(stub.calls.map((c) => c.target)).toContain('StopQueryExecution');
    } finally {
      await stub.close();
    }
  });
});

describe('vieweratlas analyze --engine athena (CLI, loopback Athena)', () => {
  const run = runCli;

  it('finds the same graph and communities as the local engine on the same stored data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'va-athena-cli-'));
    const stub = await startAthenaStub(join(dir, 'data', 'presence', '*', '*', '*.parquet'));
    try {
      const rows = syntheticPresence(5);
      const csv = join(dir, 'presence.csv');
      await writePresenceCsv(csv, rows);
      const imported = await run(['import', '--data', join(dir, 'data'), csv], {});
      expect(imported.code, imported.err).toBe(0);
      const local = await run(['analyze', '--data', join(dir, 'data'), '--out', join(dir, 'local')], {});
      expect(local.code, local.err).toBe(0);
      const env = {
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
        VIEWERATLAS_ATHENA_ENDPOINT: stub.endpoint,
        VIEWERATLAS_ATHENA_POLL_MS: '5',
      };
      const athena = await run(
        ['analyze', '--engine', 'athena', '--data', join(dir, 'data'), '--out', join(dir, 'athena')],
        env,
      );
      expect(athena.code, athena.err).toBe(0);
      expect(stub.calls.map((c) => c.target)).toContain('GetQueryResults');
      const read = async (sub: string, file: string) =>
        (await readFile(join(dir, sub, file), 'utf8')).trim().split('\n');
      // the same weighted edges (cosine by default), whatever their order
      const edges = async (sub: string) =>
        (await read(sub, 'edges.csv'))
          .slice(1)
          .map((l) => {
            const [a = '', b = '', ...rest] = l.split(',');
            return [...[a, b].sort(), ...rest].join(',');
          })
          .sort();
      expect((await edges('athena')).length).toBeGreaterThan(10);
      expect(await edges('athena')).toEqual(await edges('local'));
      // the same channels with the same audiences and degrees
      const channels = async (sub: string) => {
        const [head = '', ...lines] = await read(sub, 'channels.csv');
        const cols = head.split(',');
        const pick = (l: string) => {
          const v = l.split(',');
          return ['channel', 'viewers', 'degree'].map((c) => v[cols.indexOf(c)]).join(',');
        };
        return lines.map(pick).sort();
      };
      expect(await channels('athena')).toEqual(await channels('local'));
      const summary = JSON.parse(await readFile(join(dir, 'athena', 'summary.json'), 'utf8')) as {
        input: { paths: string[] };
      };
      expect(summary.input.paths[0]).toBe('athena:vieweratlas/q-1');
      // Athena reads what is stored: explicit input files are a usage error (exit 1)
      const withInput = await run(
        ['analyze', '--engine', 'athena', '--input', csv, '--out', join(dir, 'x')],
        env,
      );
      expect(withInput.code).toBe(1);
      expect(withInput.err).toContain('--engine athena reads the stored Parquet');
    } finally {
      await stub.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
