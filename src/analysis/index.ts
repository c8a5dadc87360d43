/**
 * The analysis half of ViewerAtlas: pure functions from typed values to typed values, no I/O.
 * aggregate → buildOverlapGraph (or graphFromEdgeTable) → detectCommunities (groups and the
 * communities inside them) → labelCommunities / labelGroups.
 */
export { AGGREGATE_DEFAULTS, type AggregateOptions, aggregate } from './aggregate.js';
export { BACKBONE_DEFAULTS, type BackboneOptions, disparityFilter } from './backbone.js';
export {
  COMMUNITY_DEFAULTS,
  type CommunityOptions,
  type CommunityResult,
  detectCommunities,
  type Partition,
  renumberBySize,
  type SplitTest,
} from './communities.js';
export { KNOWN_BOT_SET, KNOWN_BOTS } from './known-bots.js';
export { LABEL_DEFAULTS, type LabelOptions, labelCommunities, labelGroups } from './labels.js';
export {
  csrModularity,
  LEIDEN_DEFAULTS,
  type LeidenOptions,
  type LeidenResult,
  leiden,
  leidenCsr,
} from './leiden.js';
export { LOUVAIN_DEFAULTS, type LouvainOptions, type LouvainResult, louvain } from './louvain.js';
export { modularity } from './modularity.js';
export {
  buildOverlapGraph,
  EDGE_TABLE_DEFAULTS,
  type EdgeTableOptions,
  edgeWeight,
  graphFromEdgeTable,
  OVERLAP_DEFAULTS,
  type OverlapOptions,
  type ProjectionHelper,
} from './overlap.js';
export { ari, nmi } from './quality.js';
export type { AggregateCounts, Audience, OverlapGraph, OverlapStats } from './types.js';
