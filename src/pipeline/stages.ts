/**
 * The analysis stages, pure: an `AnalysisInput` (presence rows, an edge table, or a ready graph)
 * and the config in, the analysis out — graph → communities (two levels) → labels → rows and the
 * summary. No I/O: sources read the input, sinks (exports, the timeline files) write the result.
 * `analyze`, `timeline` and `run` all go through `runAnalysis`.
 */

import type { AggregateHelper } from '../analysis/aggregate.js';
import { type Csr, csrInputOf } from '../analysis/csr.js';
import {
  type Audience,
  aggregate,
  buildOverlapGraph,
  type CommunityResult,
  detectCommunities,
  graphFromEdgeTable,
  labelCommunities,
  labelGroups,
  type OverlapGraph,
  type ProjectionHelper,
} from '../analysis/index.js';
import type { CsrHelper } from '../analysis/overlap-parallel.js';
import {
  atlasStatistics,
  type PendingRepeats,
  type RepeatsHelper,
  startRepeatPass,
} from '../analysis/statistics.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import type { RejectedRow } from '../ingest/index.js';
import type {
  AtlasStatistics,
  AtlasSummary,
  ChannelRow,
  CommunityRow,
  EdgeRow,
  GroupRow,
  WeightKind,
} from '../model/atlas.js';
import type { EdgeTable, PresenceTable } from '../model/presence-table.js';
import type { ProgressFn } from '../model/progress.js';
import type { ChannelMetadata } from '../model/records.js';

interface InputCommon {
  /** What was read (files, the storage location, the Athena query). */
  paths: string[];
  metadata: ChannelMetadata[];
  /** The first rejected rows (all are counted in `rejectedCount`). */
  rejected: RejectedRow[];
  rejectedCount: number;
  /** Files inside an input folder that were not recognised, with why. */
  skipped: { file: string; reason: string }[];
}

/** What every source yields. */
export type AnalysisInput =
  | (InputCommon & {
      kind: 'presence';
      /**
       * The rows. `runAnalysis` releases it (sets it to null) once aggregated, so the rows do not
       * stay in memory through the later stages.
       */
      table: PresenceTable | null;
      presenceRows: number;
      /** Maps bot logins to stored ids when viewers are pseudonymised. */
      botNameMapper: ((login: string) => string) | null;
    })
  | (InputCommon & { kind: 'edges'; table: EdgeTable })
  | (InputCommon & { kind: 'graph'; graph: OverlapGraph; viewers: number });

export interface StageHooks {
  onProgress?: ProgressFn;
  /** Called when a stage ends, with its name (the caller times them). */
  onStage?: (stage: 'aggregate' | 'overlap' | 'communities' | 'labels') => void;
  /** Called with the graph as soon as it exists (e.g. to write the edge files beside the communities). */
  onGraph?: (graph: OverlapGraph) => void;
  /** Weight for ready-made edge lists: `given` keeps the listed weight (default). */
  edgeWeight?: WeightKind | 'given';
  /**
   * A second thread for the overlap projection and aggregate's pair pass
   * (`spawnProjectionWorker`); none: one thread.
   */
  projection?: ProjectionHelper & Partial<AggregateHelper> & RepeatsHelper & CsrHelper;
  /**
   * `false`: only the graph's statistics, not the viewers' (one pass over the rows and two over
   * every viewer id) — for callers that do not report them, like each `timeline` window.
   */
  viewerStatistics?: boolean;
}

export interface AnalysisResult {
  graph: OverlapGraph;
  detected: CommunityResult;
  channels: ChannelRow[];
  communities: CommunityRow[];
  groups: GroupRow[];
  edges: EdgeRow[];
  /** channels[rowOfNode[node]] is graph node `node`. */
  rowOfNode: Int32Array;
  /** summary.json without `timings` (the caller's). */
  summary: AtlasSummary;
}

/** The input's channel graph: aggregation and projection for presence, the edge table reweighted. */
function graphOf(
  config: Config,
  input: AnalysisInput,
  hooks: StageHooks,
): { graph: OverlapGraph; viewers: number; botsRemoved: number; statistics?: AtlasStatistics; csr?: Csr } {
  const progress = hooks.onProgress ?? (() => {});
  if (input.kind === 'graph') return { graph: input.graph, viewers: input.viewers, botsRemoved: 0 };
  if (input.kind === 'edges') {
    progress('overlap');
    const o = config.overlap;
    const weight = hooks.edgeWeight ?? 'given';
    const graph = graphFromEdgeTable(input.table, {
      weight,
      // A given weight can be anything (counts, shares): only the kind-specific cut applies.
      minShared: weight === 'given' ? 0 : o.min_shared,
      minWeight: o.min_weight,
      backbone: o.backbone,
      backboneAlpha: o.backbone_alpha,
    });
    hooks.onStage?.('overlap');
    let audience = 0;
    for (let i = 0; i < graph.nodeAudience.length; i++) audience += graph.nodeAudience[i]!;
    return { graph, viewers: audience, botsRemoved: 0 };
  }
  const table = input.table;
  if (!table) throw new Error('analysis: this presence input was already consumed by runAnalysis');
  // The statistics' pass over the rows goes to the projection's thread once aggregate is done,
  // while this one prepares the projection (that thread is idle then); the projection's share
  // queues behind it.
  const wantStatistics = hooks.viewerStatistics !== false;
  let repeats: PendingRepeats | undefined;
  const { audience, graph } = presenceGraph(config, table, input.botNameMapper, {
    ...hooks,
    onAudience: (a) => {
      if (wantStatistics)
        repeats = startRepeatPass(table, a.viewerIdSpace, windowOfConfig(config), hooks.projection);
    },
  });
  // The communities' CSR on the other thread while this one computes the statistics (their pass
  // over the rows was done there already): on the bench graph ~165 ms off this thread.
  const csrJob = graph.length > 0 ? hooks.projection?.csr?.(csrInputOf(graph)) : undefined;
  // here, while the rows are alive: nothing after this keeps the table
  const statistics = !wantStatistics
    ? undefined
    : atlasStatistics(
        graph,
        { table, audience, repeats },
        windowOfConfig(config),
        csrJob ? undefined : hooks.projection,
      );
  input.table = null;
  return {
    graph,
    viewers: audience.viewerCount,
    botsRemoved: audience.counts.botsRemoved.total,
    statistics,
    csr: csrJob?.wait(),
  };
}

/**
 * Presence rows → audience → overlap graph, with the config's aggregation and overlap settings
 * (for `runAnalysis`, and for callers that need only the graph, like `channel`).
 */
export function presenceGraph(
  config: Config,
  table: PresenceTable,
  botNameMapper: ((login: string) => string) | null,
  hooks: Pick<StageHooks, 'onProgress' | 'onStage' | 'projection'> & {
    /** Called with the audience before the projection begins. */
    onAudience?: (audience: Audience) => void;
  } = {},
): { audience: Audience; graph: OverlapGraph } {
  hooks.onProgress?.('aggregate');
  // The readers already applied the window; aggregate checks it again at no cost.
  const audience = aggregate(table, { ...camelKeys(config.aggregate), botNameMapper }, hooks.projection);
  hooks.onStage?.('aggregate');
  hooks.onAudience?.(audience);
  hooks.onProgress?.('overlap');
  const graph = buildOverlapGraph(audience, camelKeys(config.overlap), hooks.projection);
  hooks.onStage?.('overlap');
  return { audience, graph };
}

/** The whole analysis of one input: graph, communities, labels, rows, summary. Pure. */
export function runAnalysis(config: Config, input: AnalysisInput, hooks: StageHooks = {}): AnalysisResult {
  const progress = hooks.onProgress ?? (() => {});
  const presenceRows = input.kind === 'presence' ? input.presenceRows : 0;
  const { graph, viewers, botsRemoved, statistics, csr } = graphOf(config, input, hooks);
  if (graph.nodeNames.length === 0) {
    throw new InputError(
      'analyze',
      input.kind === 'edges'
        ? `${input.paths.join(', ')}: the edge list holds no usable edge`
        : `no channel left after aggregation (${presenceRows} presence rows; aggregate.min_viewers ${config.aggregate.min_viewers}, min_messages ${config.aggregate.min_messages})`,
    );
  }
  hooks.onGraph?.(graph);

  progress('communities');
  const detected = detectCommunities(graph, camelKeys(config.communities), csr);
  hooks.onStage?.('communities');

  progress('labels');
  const labelOptions = camelKeys(config.labels);
  const communities = labelCommunities(graph, detected.membership, input.metadata, labelOptions);
  for (const c of communities) c.group = detected.communityGroup[c.community]!;
  const groups = labelGroups(
    graph,
    detected.groups.membership,
    communities,
    detected.communityGroup,
    input.metadata,
    labelOptions,
  );
  const { rows: channels, rowOfNode } = channelRows(graph, detected, communities, groups, input.metadata);
  if (detected.levels && detected.levels.length > 0) {
    for (let node = 0; node < rowOfNode.length; node++) {
      const levels: Record<string, number> = {};
      for (const p of detected.levels) levels[`r${p.resolution}`] = p.membership[node]!;
      channels[rowOfNode[node]!]!.levels = levels;
    }
  }
  hooks.onStage?.('labels');

  const kind = input.kind === 'edges' ? 'edges' : 'presence';
  const summary: AtlasSummary = {
    version: 1,
    createdAt: new Date().toISOString(),
    input: { kind, paths: input.paths },
    counts: {
      presenceRows,
      rowsRejected: input.rejectedCount,
      channels: channels.length,
      viewers,
      edges: graph.length,
      communities: detected.count,
      groups: detected.groups.count,
      unassigned: detected.unassigned,
      botsRemoved,
    },
    modularity: detected.modularity,
    modularityByLevel: { group: detected.groups.modularity, community: detected.modularity },
    statistics: statistics ?? atlasStatistics(graph),
    parameters: {
      aggregate: kind === 'presence' ? config.aggregate : undefined,
      overlap: kind === 'presence' ? config.overlap : undefined,
      edge_weight: kind === 'edges' ? (hooks.edgeWeight ?? 'given') : undefined,
      communities: config.communities,
      labels: config.labels,
      splits: {
        tried: detected.splits.length,
        kept: detected.splits.filter((x) => x.kept).length,
      },
      levels: detected.levels?.map((p) => ({
        resolution: p.resolution,
        count: p.count,
        modularity: p.modularity,
      })),
    },
    timings: {},
    rejected: input.rejected.slice(0, 20),
    ...(input.skipped.length > 0 ? { skippedInputs: input.skipped } : {}),
  };
  // Edge rows only when asked for: `analyze` writes the edge files from the graph's arrays, and
  // 1.7M row objects cost ~0.4 s to build and collect.
  let rows: EdgeRow[] | undefined;
  return {
    graph,
    detected,
    channels,
    communities,
    groups,
    get edges() {
      rows ??= edgeRows(graph);
      return rows;
    },
    rowOfNode,
    summary,
  };
}

/** The `aggregate.window_*` config as epoch ms. */
export function windowOfConfig(config: Config): { windowStart?: number; windowEnd?: number } {
  const { window_start, window_end } = config.aggregate;
  return {
    windowStart: window_start ? Date.parse(window_start) : undefined,
    windowEnd: window_end ? Date.parse(window_end) : undefined,
  };
}

/** Latest metadata record per channel (lower-cased login). */
function latestMetadata(records: readonly ChannelMetadata[]): Map<string, ChannelMetadata> {
  const latest = new Map<string, ChannelMetadata>();
  for (const r of records) {
    const key = r.channel.toLowerCase();
    const prev = latest.get(key);
    if (!prev || r.observed_at >= prev.observed_at) latest.set(key, r);
  }
  return latest;
}

/**
 * One row per channel, ordered by community (unassigned channels last), then audience (biggest
 * first), then name: a stable order, so the same input and seed give a byte-identical channels.csv.
 */
function channelRows(
  graph: OverlapGraph,
  detected: { membership: Int32Array; groups: { membership: Int32Array } },
  communities: readonly CommunityRow[],
  groups: readonly GroupRow[],
  metadata: readonly ChannelMetadata[],
): { rows: ChannelRow[]; rowOfNode: Int32Array } {
  const { membership } = detected;
  const n = graph.nodeNames.length;
  const degree = new Uint32Array(n);
  const strength = new Float64Array(n);
  const { source, target, weight, length } = graph;
  for (let e = 0; e < length; e++) {
    const s = source[e]!;
    const t = target[e]!;
    const w = weight[e]!;
    degree[s]!++;
    degree[t]!++;
    strength[s]! += w;
    strength[t]! += w;
  }
  const labelOf = new Map(communities.map((c) => [c.community, c.label]));
  const groupLabelOf = new Map(groups.map((g) => [g.group, g.label]));
  const meta = latestMetadata(metadata);
  const rows: ChannelRow[] = [];
  for (let i = 0; i < n; i++) {
    const name = graph.nodeNames[i]!;
    const m = meta.get(name.toLowerCase());
    const community = membership[i]!;
    const group = detected.groups.membership[i]!;
    rows.push({
      channel: name,
      community,
      label: labelOf.get(community) ?? '',
      group,
      groupLabel: groupLabelOf.get(group) ?? '',
      viewers: graph.nodeAudience[i]!,
      degree: degree[i]!,
      strength: strength[i]!,
      language: m?.language ?? '',
      game: m?.game ?? '',
      x: Number.NaN,
      y: Number.NaN,
    });
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => {
    const a = rows[i]!;
    const b = rows[j]!;
    // Unassigned (-1) after every community.
    const ca = a.community < 0 ? Number.MAX_SAFE_INTEGER : a.community;
    const cb = b.community < 0 ? Number.MAX_SAFE_INTEGER : b.community;
    return ca - cb || b.viewers - a.viewers || (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0);
  });
  const rowOfNode = new Int32Array(n);
  order.forEach((node, row) => {
    rowOfNode[node] = row;
  });
  return { rows: order.map((i) => rows[i]!), rowOfNode };
}

function edgeRows(graph: OverlapGraph): EdgeRow[] {
  const rows: EdgeRow[] = new Array(graph.length);
  const names = graph.nodeNames;
  for (let e = 0; e < graph.length; e++) {
    rows[e] = {
      source: names[graph.source[e]!]!,
      target: names[graph.target[e]!]!,
      weight: graph.weight[e]!,
      shared: graph.shared[e]!,
    };
  }
  return rows;
}

type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type CamelKeys<T> = { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] };

/** A config section (snake_case keys) as the options of its stage (camelCase mirrors of the keys). */
export function camelKeys<T extends object>(section: T): CamelKeys<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(section))
    out[k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = v;
  return out as CamelKeys<T>;
}
