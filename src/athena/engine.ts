import { KNOWN_BOTS } from '../analysis/known-bots.js';
import { graphFromEdgeTable } from '../analysis/overlap.js';
import type { OverlapGraph } from '../analysis/types.js';
import type { Config } from '../config/schema.js';
import type { AthenaRunOptions, AthenaRunStats } from './athena-runner.js';
import { type OverlapEdges, overlapQueryOptions } from './overlap-sql.js';

/**
 * `analyze --engine athena`: the aggregation and the overlap projection run on Athena; only the
 * channel graph comes back, and the configured weight (cosine, jaccard, …, lift with N = the
 * distinct viewers Athena counted), min_weight and backbone apply here exactly as in
 * `buildOverlapGraph` — so community detection sees the same graph as with the local engine.
 */
export function overlapGraphFromEdges(edges: OverlapEdges, overlap: Config['overlap']): OverlapGraph {
  return graphFromEdgeTable(edges, {
    weight: overlap.weight,
    // already cut by the query; repeated so the stats count the same way
    minShared: overlap.min_shared,
    minWeight: overlap.min_weight,
    backbone: overlap.backbone,
    backboneAlpha: overlap.backbone_alpha,
    totalViewers: edges.totalViewers,
  });
}

/** Runs the config's query on Athena and returns the weighted graph plus what Athena reported. */
export async function overlapGraphOnAthena(
  config: Config,
  opts: Omit<AthenaRunOptions, 'query'> = {},
): Promise<{ graph: OverlapGraph; totalViewers: number; athena: AthenaRunStats }> {
  // The AWS SDK loads only for `--engine athena` (it costs ~0.3 s of every local analyze's start).
  const { runOverlapOnAthena } = await import('./athena-runner.js');
  const edges = await runOverlapOnAthena(config, { ...opts, query: overlapQueryOptions(config, KNOWN_BOTS) });
  return {
    graph: overlapGraphFromEdges(edges, config.overlap),
    totalViewers: edges.totalViewers,
    athena: edges.athena,
  };
}
