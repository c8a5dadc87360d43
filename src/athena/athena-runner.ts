import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { Config } from '../config/schema.js';
import { ConfigError, VieweratlasError } from '../errors.js';
import {
  buildOverlapSql,
  type OverlapEdges,
  type OverlapQueryOptions,
  type OverlapRow,
  parseOverlapRows,
} from './overlap-sql.js';

/** Progress of an Athena run, for a status line. */
export interface AthenaProgress {
  phase: 'submitted' | 'running' | 'fetching' | 'done';
  queryExecutionId?: string;
  /** QUEUED | RUNNING | SUCCEEDED … as Athena reports it. */
  state?: string;
  /** Bytes Athena scanned so far (what it bills). */
  scannedBytes?: number;
  /** Result rows fetched so far. */
  rows?: number;
}

/** Options of `runOverlapOnAthena`; every field optional. */
export interface AthenaRunOptions {
  /** Query thresholds; default: what the config implies (`overlapQueryOptions`). */
  query?: Partial<OverlapQueryOptions>;
  /** A client to use (tests pass one with a loopback endpoint); default: one for `athena.region`. */
  client?: AthenaClient;
  /** Poll interval, ms; default `athena.poll_ms`. */
  pollMs?: number;
  /** Give up (and stop the query) after this long, ms. */
  timeoutMs?: number;
  /** Rows per GetQueryResults page (Athena allows up to 1000). */
  pageSize?: number;
  onProgress?: (p: AthenaProgress) => void;
}

export const ATHENA_RUN_DEFAULTS = { timeoutMs: 30 * 60_000, pageSize: 1000 };

/** What a finished run brings back besides the graph. */
export interface AthenaRunStats {
  queryExecutionId: string;
  scannedBytes: number;
  engineMs: number;
  resultRows: number;
  pages: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the aggregation + overlap query on Athena in the configured workgroup and database:
 * StartQueryExecution, poll GetQueryExecution every `poll_ms`, then page GetQueryResults. Only
 * the channel graph (node audiences, edges, total viewers) comes back. Throws a
 * VieweratlasError naming the query id and Athena's reason when the query fails.
 */
export async function runOverlapOnAthena(
  config: Config,
  opts: AthenaRunOptions = {},
): Promise<OverlapEdges & { athena: AthenaRunStats }> {
  const a = config.athena;
  if (!a.database) throw new ConfigError('athena.database: required for --engine athena (got "")');
  if (!a.workgroup) throw new ConfigError('athena.workgroup: required for --engine athena (got "")');
  const sql = buildOverlapSql({ dialect: 'athena', database: a.database }, opts.query ?? {});
  // see s3-driver.ts: the pinned SDK supports Node 20; its Node 22 notice is noise per run
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client =
    opts.client ??
    new AthenaClient({
      region: a.region,
      ...(a.endpoint ? { endpoint: a.endpoint } : {}),
      maxAttempts: 5,
      retryMode: 'standard',
    });
  const pollMs = opts.pollMs ?? a.poll_ms;
  const timeoutMs = opts.timeoutMs ?? ATHENA_RUN_DEFAULTS.timeoutMs;
  const pageSize = opts.pageSize ?? ATHENA_RUN_DEFAULTS.pageSize;
  const progress = opts.onProgress ?? (() => {});
  const fail = (msg: string, cause?: unknown) => new VieweratlasError('athena', msg, { cause });

  let id: string;
  try {
    const started = await client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: a.workgroup,
        QueryExecutionContext: { Database: a.database, Catalog: 'AwsDataCatalog' },
        // the workgroup's own output location (and encryption) applies when none is configured
        ...(a.output_location
          ? {
              ResultConfiguration: {
                OutputLocation: a.output_location,
                EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
              },
            }
          : {}),
      }),
    );
    if (!started.QueryExecutionId) throw new Error('no QueryExecutionId in the response');
    id = started.QueryExecutionId;
  } catch (err) {
    throw fail(`StartQueryExecution in workgroup ${a.workgroup}: ${(err as Error).message}`, err);
  }
  progress({ phase: 'submitted', queryExecutionId: id });

  const t0 = Date.now();
  let scannedBytes = 0;
  let engineMs = 0;
  for (;;) {
    let exec: GetQueryExecutionCommandOutput;
    try {
      exec = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    } catch (err) {
      throw fail(`GetQueryExecution ${id}: ${(err as Error).message}`, err);
    }
    const q = exec.QueryExecution;
    const state = q?.Status?.State ?? 'UNKNOWN';
    scannedBytes = q?.Statistics?.DataScannedInBytes ?? scannedBytes;
    engineMs = q?.Statistics?.EngineExecutionTimeInMillis ?? engineMs;
    progress({ phase: 'running', queryExecutionId: id, state, scannedBytes });
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason =
        q?.Status?.StateChangeReason ?? q?.Status?.AthenaError?.ErrorMessage ?? 'no reason given';
      throw fail(`query ${id} ${state}: ${reason}`);
    }
    if (Date.now() - t0 > timeoutMs) {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => {});
      throw fail(`query ${id} still ${state} after ${Math.round(timeoutMs / 1000)} s; stopped it`);
    }
    await sleep(pollMs);
  }

  const rows: OverlapRow[] = [];
  let token: string | undefined;
  let pages = 0;
  let columns: string[] | undefined;
  do {
    let page: GetQueryResultsCommandOutput;
    try {
      page = await client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: pageSize }),
      );
    } catch (err) {
      throw fail(`GetQueryResults ${id} page ${pages + 1}: ${(err as Error).message}`, err);
    }
    if (columns === undefined) {
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      const missing = ['kind', 'a', 'b', 'n'].filter((c) => !columns?.includes(c));
      if (missing.length > 0)
        throw fail(`query ${id}: result lacks column(s) ${missing.join(', ')} (got ${columns.join(', ')})`);
    }
    const data = page.ResultSet?.Rows ?? [];
    // For SELECT, the first row of the first page repeats the column names.
    const skip = pages === 0 && data[0]?.Data?.every((d, i) => d.VarCharValue === columns?.[i]) ? 1 : 0;
    for (const r of data.slice(skip)) {
      const cells = r.Data ?? [];
      const get = (name: string) => {
        const i = columns?.indexOf(name) ?? -1;
        return i >= 0 ? (cells[i]?.VarCharValue ?? null) : null;
      };
      rows.push({ kind: get('kind') ?? '', a: get('a'), b: get('b'), n: get('n') });
    }
    pages++;
    token = page.NextToken;
    progress({ phase: 'fetching', queryExecutionId: id, rows: rows.length, scannedBytes });
  } while (token);
  progress({ phase: 'done', queryExecutionId: id, rows: rows.length, scannedBytes });
  if (!opts.client) client.destroy();
  return {
    ...parseOverlapRows(rows),
    athena: { queryExecutionId: id, scannedBytes, engineMs, resultRows: rows.length, pages },
  };
}
