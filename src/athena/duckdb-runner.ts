import { queryRows, withDuckDB } from '../storage/duckdb.js';
import {
  buildOverlapSql,
  type OverlapEdges,
  type OverlapQueryOptions,
  type OverlapRow,
  parseOverlapRows,
} from './overlap-sql.js';

/**
 * Runs the overlap query (the same text Athena runs, DuckDB dialect) over Hive-partitioned
 * Parquet on local disk and returns the channel graph. This is how the tests prove the Athena
 * query, and a way to get the same edge list on one machine without loading presence into JS.
 */
export async function runOverlapOnDuckDB(
  parquetGlob: string,
  opts: Partial<OverlapQueryOptions> = {},
): Promise<OverlapEdges> {
  const sql = buildOverlapSql({ dialect: 'duckdb', parquetGlob }, opts);
  return withDuckDB(async (conn) => {
    // TIMESTAMP literals in the query are UTC wall time, as on Athena
    await conn.run(`SET TimeZone = 'UTC'`);
    return parseOverlapRows((await queryRows(conn, sql)) as unknown as OverlapRow[]);
  });
}
