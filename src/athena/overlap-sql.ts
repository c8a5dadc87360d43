import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { EdgeTable } from '../model/presence-table.js';
import type { PresenceSource } from '../model/records.js';
import { utcDate } from '../storage/layout.js';

/**
 * ONE definition of the aggregation + overlap query, rendered for two dialects: Athena (Trino)
 * over the Glue tables of `infrastructure/aws/athena-schema.sql`, and DuckDB over the same
 * Hive-partitioned Parquet on disk (which is how the tests prove the query). The dialects
 * differ only in the relation the presence rows come from; every filter, threshold and join is
 * the same text. The semantics mirror `aggregate` + `buildOverlapGraph` (weight `shared`) in
 * src/analysis, step for step:
 *
 * 1. rows in [window_start, window_end) whose viewer is not on the bot list;
 * 2. (viewer, channel) pairs with Σ messages ≥ min_messages and ≥ min_buckets distinct buckets;
 * 3. behavioural bots: viewers in ≥ max(bot_min_channels, ⌊max_channel_share · active⌋ + 1)
 *    channels, `active` = channels with at least one qualifying pair;
 * 4. channels with ≥ min_viewers viewers left (and at least one);
 * 5. channel pairs sharing ≥ min_shared of those viewers.
 *
 * One statement returns everything in one result (`kind` = `node` | `edge` | `total`), so Athena
 * runs (and bills) one query and only the small channel graph travels back.
 */

/** Options of the overlap query; camelCase mirrors of the `aggregate`/`overlap` config keys. */
export interface OverlapQueryOptions {
  /** Window start, epoch ms or ISO instant, inclusive; null = open. */
  windowStart: number | string | null;
  /** Window end, epoch ms or ISO instant, exclusive; null = open. */
  windowEnd: number | string | null;
  /** A viewer counts for a channel with at least this many messages there. */
  minMessages: number;
  /** … in at least this many distinct time buckets. */
  minBuckets: number;
  /** Channels need at least this many viewers after the cuts. */
  minViewers: number;
  /** Keep channel pairs sharing at least this many viewers. */
  minShared: number;
  /** Viewer logins to exclude outright (the known-bot list plus extra bots), lower case. */
  bots: readonly string[];
  /** A viewer in more than this share of the active channels … */
  maxChannelShare: number;
  /** … and in at least this many channels is a behavioural bot. */
  botMinChannels: number;
  /** Presence sources to read; empty = all. */
  sources: readonly PresenceSource[];
}

export const OVERLAP_QUERY_DEFAULTS: OverlapQueryOptions = {
  windowStart: null,
  windowEnd: null,
  minMessages: 1,
  minBuckets: 1,
  minViewers: 5,
  minShared: 2,
  bots: [],
  maxChannelShare: 0.2,
  botMinChannels: 20,
  sources: [],
};

/** The query options a config implies; `knownBots` is the bundled list when `aggregate.known_bots`. */
export function overlapQueryOptions(config: Config, knownBots: readonly string[]): OverlapQueryOptions {
  const a = config.aggregate;
  return {
    windowStart: a.window_start,
    windowEnd: a.window_end,
    minMessages: a.min_messages,
    minBuckets: a.min_buckets,
    minViewers: a.min_viewers,
    minShared: config.overlap.min_shared,
    bots: [...(a.known_bots ? knownBots : []), ...a.extra_bots.map((b) => b.toLowerCase())],
    maxChannelShare: a.max_channel_share,
    botMinChannels: a.bot_min_channels,
    sources: [],
  };
}

/** Where the presence rows come from, per dialect. */
export type OverlapSource =
  | {
      dialect: 'athena';
      /** Glue database (config athena.database). */
      database: string;
      /** Presence table name (athena-schema.sql). */
      table?: string;
    }
  | {
      dialect: 'duckdb';
      /** Glob over the Hive-partitioned Parquet, e.g. `data/presence/source=*\/dt=*\/*.parquet`. */
      parquetGlob: string;
    };

export const PRESENCE_TABLE = 'presence';

const str = (s: string) => `'${s.replaceAll("'", "''")}'`;
const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;

function toEpoch(v: number | string | null, key: string): number | null {
  if (v === null) return null;
  const t = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(t)) throw new InputError('athena', `${key} is not an instant: ${JSON.stringify(v)}`);
  return t;
}

/** `TIMESTAMP 'YYYY-MM-DD HH:MM:SS.mmm'` (UTC wall time): the literal both dialects read. */
function timestampLiteral(ms: number): string {
  return `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
}

function checkNumber(name: string, v: number, min: number): number {
  if (!Number.isFinite(v) || v < min)
    throw new InputError('athena', `${name} must be a number ≥ ${min} (got ${v})`);
  return v;
}

/** The relation presence rows are read from: the only text in which the dialects differ. */
export function presenceRelation(source: OverlapSource): string {
  if (source.dialect === 'athena')
    return `${ident(source.database)}.${ident(source.table ?? PRESENCE_TABLE)}`;
  // Partition values stay strings, as in Glue (DuckDB would otherwise guess dt is a DATE).
  return `read_parquet(${str(source.parquetGlob)}, hive_partitioning = true, hive_types = {'source': VARCHAR, 'dt': VARCHAR}, union_by_name = true)`;
}

/** The whole query for one dialect. Result columns: kind, a, b, n (see the module comment). */
export function buildOverlapSql(source: OverlapSource, options: Partial<OverlapQueryOptions> = {}): string {
  const o = { ...OVERLAP_QUERY_DEFAULTS, ...options };
  const start = toEpoch(o.windowStart, 'window_start');
  const end = toEpoch(o.windowEnd, 'window_end');
  const minMessages = checkNumber('min_messages', o.minMessages, 0);
  const minBuckets = checkNumber('min_buckets', o.minBuckets, 0);
  const minViewers = checkNumber('min_viewers', o.minViewers, 0);
  const minShared = Math.max(1, checkNumber('min_shared', o.minShared, 0));
  const share = checkNumber('max_channel_share', o.maxChannelShare, 0);
  const botMin = checkNumber('bot_min_channels', o.botMinChannels, 0);

  const where: string[] = [];
  // Partition pruning first (Athena bills the bytes it scans), then the exact instants.
  if (start !== null) where.push(`dt >= ${str(utcDate(start))}`, `ts >= ${timestampLiteral(start)}`);
  if (end !== null) where.push(`dt <= ${str(utcDate(end - 1))}`, `ts < ${timestampLiteral(end)}`);
  if (o.sources.length > 0) where.push(`source IN (${o.sources.map(str).join(', ')})`);
  const bots = [...new Set(o.bots)].sort();
  if (bots.length > 0) where.push(`viewer NOT IN (${bots.map(str).join(', ')})`);
  const whereSql = where.length > 0 ? `\n  WHERE ${where.join('\n    AND ')}` : '';
  const bucketCut = minBuckets > 1 ? ` AND count(DISTINCT ts) >= ${minBuckets}` : '';

  return `WITH rows_in AS (
  SELECT channel, viewer, ts, coalesce(messages, 1) AS messages
  FROM ${presenceRelation(source)}${whereSql}
),
pairs AS (
  SELECT viewer, channel
  FROM rows_in
  GROUP BY viewer, channel
  HAVING sum(messages) >= ${minMessages}${bucketCut}
),
active AS (
  SELECT count(DISTINCT channel) AS n FROM pairs
),
behavioural_bots AS (
  SELECT d.viewer
  FROM (SELECT viewer, count(*) AS deg FROM pairs GROUP BY viewer) d
  CROSS JOIN active
  WHERE d.deg >= greatest(${botMin}, floor(${share} * active.n) + 1)
),
clean AS (
  SELECT p.viewer, p.channel
  FROM pairs p
  LEFT JOIN behavioural_bots b ON p.viewer = b.viewer
  WHERE b.viewer IS NULL
),
audience AS (
  SELECT channel, count(*) AS viewers
  FROM clean
  GROUP BY channel
  HAVING count(*) >= ${Math.max(1, minViewers)}
),
kept AS (
  SELECT c.viewer, c.channel
  FROM clean c
  JOIN audience a ON c.channel = a.channel
),
edges AS (
  SELECT x.channel AS a, y.channel AS b, count(*) AS shared
  FROM kept x
  JOIN kept y ON x.viewer = y.viewer AND x.channel < y.channel
  GROUP BY x.channel, y.channel
  HAVING count(*) >= ${minShared}
)
SELECT 'node' AS kind, channel AS a, CAST(NULL AS VARCHAR) AS b, CAST(viewers AS BIGINT) AS n FROM audience
UNION ALL
SELECT 'edge' AS kind, a, b, CAST(shared AS BIGINT) AS n FROM edges
UNION ALL
SELECT 'total' AS kind, CAST(NULL AS VARCHAR) AS a, CAST(NULL AS VARCHAR) AS b, CAST(count(DISTINCT viewer) AS BIGINT) AS n FROM kept
ORDER BY kind, a, b`;
}

/** A result row as both engines return it (Athena gives strings, DuckDB native values). */
export interface OverlapRow {
  kind: string;
  a: string | null;
  b: string | null;
  n: string | number | bigint | null;
}

/** The channel graph the query brings back: an EdgeTable (weight = shared viewers) plus N. */
export interface OverlapEdges extends EdgeTable {
  /** Distinct viewers in the kept channels (N for the `lift` weight). */
  totalViewers: number;
}

/**
 * Result rows → an EdgeTable with nodes sorted by name (isolated kept channels included, with
 * their audience) and edges (source < target) sorted by (source, target).
 */
export function parseOverlapRows(rows: Iterable<OverlapRow>): OverlapEdges {
  const nodes = new Map<string, number>();
  const edges: [string, string, number][] = [];
  let total = 0;
  const num = (v: OverlapRow['n'], what: string): number => {
    const n = Number(v);
    if (v === null || !Number.isFinite(n) || n < 0)
      throw new InputError('athena', `bad count ${String(v)} in ${what} row`);
    return n;
  };
  for (const r of rows) {
    if (r.kind === 'node' && r.a !== null) nodes.set(r.a, num(r.n, `node ${r.a}`));
    else if (r.kind === 'edge' && r.a !== null && r.b !== null)
      edges.push([r.a, r.b, num(r.n, `edge ${r.a}-${r.b}`)]);
    else if (r.kind === 'total') total = num(r.n, 'total');
    else throw new InputError('athena', `unexpected result row ${JSON.stringify(r)}`);
  }
  const nodeNames = [...nodes.keys()].sort();
  const index = new Map(nodeNames.map((n, i) => [n, i]));
  const ids = edges.map(([a, b, w]) => {
    const s = index.get(a);
    const t = index.get(b);
    if (s === undefined || t === undefined)
      throw new InputError('athena', `edge ${a}-${b} names a channel without a node row`);
    return [Math.min(s, t), Math.max(s, t), w] as const;
  });
  ids.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  return {
    nodeNames,
    nodeAudience: Float64Array.from(nodeNames, (n) => nodes.get(n) as number),
    length: ids.length,
    source: Uint32Array.from(ids, (e) => e[0]),
    target: Uint32Array.from(ids, (e) => e[1]),
    weight: Float64Array.from(ids, (e) => e[2]),
    totalViewers: total,
  };
}
