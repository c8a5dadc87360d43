/**
 * The part of @duckdb/node-api that `duckdb.ts` uses at run time, in a module of its own so that
 * `duckdb.ts` can load it (and DuckDB's native binding, ~60 ms) the first time a connection is
 * opened instead of whenever a module that might need DuckDB is imported: `analyze --input` of a
 * CSV never opens one.
 */
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  UINTEGER,
  UTINYINT,
  VARCHAR,
} from '@duckdb/node-api';

export const duckdbApi = {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  INTEGER,
  UINTEGER,
  UTINYINT,
  VARCHAR,
};
