export {
  type AthenaProgress,
  type AthenaRunOptions,
  type AthenaRunStats,
  runOverlapOnAthena,
} from './athena-runner.js';
export { runOverlapOnDuckDB } from './duckdb-runner.js';
export { overlapGraphFromEdges, overlapGraphOnAthena } from './engine.js';
export {
  buildOverlapSql,
  OVERLAP_QUERY_DEFAULTS,
  type OverlapEdges,
  type OverlapQueryOptions,
  type OverlapSource,
  overlapQueryOptions,
  parseOverlapRows,
} from './overlap-sql.js';
