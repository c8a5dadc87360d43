/**
 * `analyze`: presence (files or storage) or a ready-made edge list → aggregate → overlap graph →
 * communities → labels → exports. Each stage is timed; the timings, counts and parameters land in
 * summary.json. Library code: throws InputError on bad input and never exits.
 */
import { mkdirSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  aggregate,
  buildOverlapGraph,
  detectCommunities,
  graphFromEdgeTable,
  labelCommunities,
  labelGroups,
  type OverlapGraph,
} from '../analysis/index.js';
import { atlasStatistics } from '../analysis/statistics.js';
import { overlapGraphOnAthena } from '../athena/engine.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import { type EdgeFilesWorker, spawnEdgeFilesWorker } from '../export/edge-files.js';
import { type AnalysisFolder, writeAnalysisFolder } from '../export/write.js';
import {
  compactRaw,
  detectFileKind,
  encodePresenceLine,
  loadMetadataFromStorage,
  loadPresenceFromStorage,
  type RejectedRow,
  readChannelMetadataFiles,
  readEdgeList,
  readPresenceFiles,
} from '../ingest/index.js';
import { readTwitchDownloaderChat } from '../ingest/twitch-downloader.js';
import type {
  AtlasStatistics,
  AtlasSummary,
  ChannelRow,
  CommunityRow,
  EdgeRow,
  GroupRow,
  WeightKind,
} from '../model/atlas.js';
import type { EdgeTable } from '../model/presence-table.js';
import type { ProgressFn } from '../model/progress.js';
import type { ChannelMetadata } from '../model/records.js';
import { createPseudonymizer } from '../privacy/pseudonymize.js';
import { LAYOUT, openStorage, type Storage } from '../storage/index.js';
import { listStoredGraphs, loadStoredGraph } from './stored-graph.js';

export interface AnalyzeOptions {
  /** Presence files, or one edge list (+ optional node file), plus optional metadata files. Empty: read storage. */
  inputs?: string[];
  /** Output folder. */
  out: string;
  /** Storage to read when there are no inputs (default: `openStorage(config)`). */
  storage?: Storage;
  /**
   * Weight for ready-made edge lists: `given` keeps the listed weight (default; the normalised
   * `overlap.weight` would need every node's audience), a kind reweights from it.
   */
  edgeWeight?: WeightKind | 'given';
  onProgress?: ProgressFn;
  /** `athena`: aggregation and overlap run on Athena over the stored Parquet; only the channel graph comes back. */
  engine?: 'local' | 'athena';
}

export interface AnalyzeResult {
  outDir: string;
  summary: AtlasSummary;
  channels: ChannelRow[];
  communities: CommunityRow[];
  groups: GroupRow[];
  edges: EdgeRow[];
}

/** What the read stage produced: a graph directly (edge lists) or after aggregation (presence). */
interface ReadOutcome {
  kind: 'presence' | 'edges';
  paths: string[];
  graph: OverlapGraph;
  metadata: ChannelMetadata[];
  presenceRows: number;
  viewers: number;
  botsRemoved: number;
  rejectedCount: number;
  rejected: RejectedRow[];
  /** Descriptive statistics computed while the presence rows are at hand (presence input only). */
  statistics?: AtlasStatistics;
}

/** Runs the whole analysis and writes the output folder. */
export async function analyze(config: Config, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const progress = opts.onProgress ?? (() => {});
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  let mark = t0;
  // The edge files are written by a worker from the graph while communities are found; it is
  // spawned once the input is read, so it loads its modules while aggregate and overlap run.
  let edgeWorker: EdgeFilesWorker | undefined;
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = Math.round(now - mark);
    mark = now;
    if (stage === 'read') edgeWorker ??= spawnEdgeFilesWorker();
  };
  try {
    return await run();
  } finally {
    edgeWorker?.close();
  }

  async function run(): Promise<AnalyzeResult> {
    const skipped: { file: string; reason: string }[] = [];
    const read = await readInputs(config, opts, progress, lap, skipped);
    const { graph } = read;
    if (graph.nodeNames.length === 0) {
      throw new InputError(
        'analyze',
        read.kind === 'edges'
          ? `${read.paths.join(', ')}: the edge list holds no usable edge`
          : `no channel left after aggregation (${read.presenceRows} presence rows; aggregate.min_viewers ${config.aggregate.min_viewers}, min_messages ${config.aggregate.min_messages})`,
      );
    }

    mkdirSync(opts.out, { recursive: true });
    edgeWorker ??= spawnEdgeFilesWorker();
    const edgeFiles = edgeWorker.run(opts.out, graph);
    edgeFiles.catch(() => {}); // awaited by the exports; an early failure must not go unhandled

    progress('communities');
    const detected = detectCommunities(graph, camelKeys(config.communities));
    lap('communities');

    progress('labels');
    const labelOptions = camelKeys(config.labels);
    const communities = labelCommunities(graph, detected.membership, read.metadata, labelOptions);
    for (const c of communities) c.group = detected.communityGroup[c.community]!;
    const groups = labelGroups(
      graph,
      detected.groups.membership,
      communities,
      detected.communityGroup,
      read.metadata,
      labelOptions,
    );
    const { rows: channels, rowOfNode } = channelRows(graph, detected, communities, groups, read.metadata);
    if (detected.levels && detected.levels.length > 0) {
      for (let node = 0; node < rowOfNode.length; node++) {
        const levels: Record<string, number> = {};
        for (const p of detected.levels) levels[`r${p.resolution}`] = p.membership[node]!;
        channels[rowOfNode[node]!]!.levels = levels;
      }
    }
    const edges = edgeRows(graph);
    const nodeIds = new Int32Array(rowOfNode.length);
    for (let node = 0; node < rowOfNode.length; node++) nodeIds[rowOfNode[node]!] = node;
    lap('labels');

    const summary: AtlasSummary = {
      version: 1,
      createdAt: new Date().toISOString(),
      input: { kind: read.kind, paths: read.paths },
      counts: {
        presenceRows: read.presenceRows,
        rowsRejected: read.rejectedCount,
        channels: channels.length,
        viewers: read.viewers,
        edges: edges.length,
        communities: detected.count,
        groups: detected.groups.count,
        unassigned: detected.unassigned,
        botsRemoved: read.botsRemoved,
      },
      modularity: detected.modularity,
      modularityByLevel: { group: detected.groups.modularity, community: detected.modularity },
      statistics: read.statistics ?? atlasStatistics(graph),
      parameters: {
        aggregate: read.kind === 'presence' ? config.aggregate : undefined,
        overlap: read.kind === 'presence' ? config.overlap : undefined,
        edge_weight: read.kind === 'edges' ? (opts.edgeWeight ?? 'given') : undefined,
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
      timings,
      rejected: read.rejected.slice(0, 20),
      ...(skipped.length > 0 ? { skippedInputs: skipped } : {}),
    };
    const folder: AnalysisFolder = { summary, channels, communities, groups, edges };
    await writeAnalysisFolder(opts.out, folder, {
      onProgress: progress,
      edgeFiles: { done: edgeFiles, nodeIds },
      // summary.json is written last, so it can carry the export time and the total.
      beforeSummary: () => {
        lap('exports');
        timings.total = Math.round(performance.now() - t0);
      },
    });
    return { outDir: opts.out, summary, channels, communities, groups, edges };
  }
}

/** Files an `--input` folder may hold: tables, JSON Lines, Parquet, TwitchDownloader JSON (also gzipped). */
const DATA_FILE = /\.(csv|tsv|txt|jsonl|ndjson|json|parquet|gz)$/i;

/** Sorts the inputs by kind and reads them (or storage), through aggregation and projection. */
async function readInputs(
  config: Config,
  opts: AnalyzeOptions,
  progress: ProgressFn,
  lap: (stage: string) => void,
  /** Filled with the files of an input folder that were not recognised. */
  skipped: { file: string; reason: string }[],
): Promise<ReadOutcome> {
  const inputs = opts.inputs ?? [];
  if (opts.engine === 'athena') {
    if (inputs.length > 0)
      throw new InputError('analyze', '--engine athena reads the stored Parquet; it takes no --input files');
    return readAthena(config, opts, progress, lap);
  }
  if (inputs.length === 0) return readStorage(config, opts, progress, lap);

  const byKind: Record<'presence' | 'metadata' | 'edges' | 'nodes', string[]> = {
    presence: [],
    metadata: [],
    edges: [],
    nodes: [],
  };
  const chatFiles: string[] = [];
  const add = (path: string, kind: Awaited<ReturnType<typeof detectFileKind>>) => {
    if (kind === 'twitch-chat') chatFiles.push(path);
    else byKind[kind].push(path);
  };
  for (const path of inputs) {
    const st = await stat(path).catch(() => null);
    if (!st) throw new InputError('analyze', `${path}: no such file`);
    if (st.isDirectory()) {
      // A folder (e.g. what `simulate --out` wrote): every data file in it; files of no known
      // kind (truth.csv, notes) are skipped and listed in summary.json and the output.
      const names = (await readdir(path)).filter((n) => DATA_FILE.test(n)).sort();
      let recognised = 0;
      for (const name of names) {
        const file = join(path, name);
        if (!(await stat(file)).isFile()) continue;
        try {
          add(file, await detectFileKind(file));
          recognised++;
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          skipped.push({ file, reason: err.message });
        }
      }
      // Counted per folder: `skipped` collects across all the folders given.
      if (recognised === 0)
        throw new InputError('analyze', `${path}: no presence, metadata or edge-list file in this folder`);
      continue;
    }
    if (!st.isFile()) throw new InputError('analyze', `${path}: not a file or folder`);
    add(path, await detectFileKind(path));
  }
  const metadata = await readMetadata(byKind.metadata);

  if (byKind.edges.length > 0 || byKind.nodes.length > 0) {
    if (byKind.presence.length > 0 || chatFiles.length > 0) {
      throw new InputError(
        'analyze',
        `give presence files or an edge list, not both (${byKind.presence[0]}, ${byKind.edges[0] ?? byKind.nodes[0]})`,
      );
    }
    if (byKind.edges.length !== 1) {
      throw new InputError(
        'analyze',
        byKind.edges.length === 0
          ? `${byKind.nodes[0]}: a node file needs its edge list (source,target,weight)`
          : `one edge list at a time, got ${byKind.edges.join(', ')}`,
      );
    }
    if (byKind.nodes.length > 1)
      throw new InputError('analyze', `one node file at a time, got ${byKind.nodes.join(', ')}`);
    progress('read edges');
    const edgesPath = byKind.edges[0]!;
    const { table, rejected, rejectedCount } = await readEdgeList(edgesPath, byKind.nodes[0]);
    lap('read');
    return fromEdgeTable(
      config,
      opts,
      table,
      [edgesPath, ...byKind.nodes, ...byKind.metadata],
      {
        records: metadata.records,
        rejected: [...rejected, ...metadata.rejected],
        rejectedCount: rejectedCount + metadata.rejectedCount,
      },
      progress,
      lap,
    );
  }

  if (byKind.presence.length === 0 && chatFiles.length === 0) {
    throw new InputError('analyze', `no presence or edge-list file among the inputs (${inputs.join(', ')})`);
  }
  const window = windowOf(config);
  // TwitchDownloader chat files become bucketed presence lines in a temp JSONL file, so one reader
  // interns everything.
  const tmp = chatFiles.length > 0 ? await mkdtemp(join(tmpdir(), 'vieweratlas-chat-')) : undefined;
  try {
    const files = [...byKind.presence];
    if (tmp) {
      const jsonl = join(tmp, 'chat-presence.jsonl');
      for (const path of chatFiles) {
        progress(`read ${path}`);
        const chat = await readTwitchDownloaderChat(path, { bucketMinutes: config.vod.bucket_minutes });
        await appendFile(jsonl, chat.records.map(encodePresenceLine).join(''));
      }
      files.push(jsonl);
    }
    const presence = await readPresenceFiles(files, { ...window, onProgress: progress });
    lap('read');
    return fromPresence(config, presence, metadata, [...byKind.presence, ...chatFiles], progress, lap);
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

async function readMetadata(
  paths: string[],
): Promise<{ records: ChannelMetadata[]; rejected: RejectedRow[]; rejectedCount: number }> {
  if (paths.length === 0) return { records: [], rejected: [], rejectedCount: 0 };
  return readChannelMetadataFiles(paths);
}

function windowOf(config: Config): { windowStart?: number; windowEnd?: number } {
  const { window_start, window_end } = config.aggregate;
  return {
    windowStart: window_start ? Date.parse(window_start) : undefined,
    windowEnd: window_end ? Date.parse(window_end) : undefined,
  };
}

/** `--engine athena` (src/athena): compact closed raw hours, run the overlap query on Athena, keep the graph. */
async function readAthena(
  config: Config,
  opts: AnalyzeOptions,
  progress: ProgressFn,
  lap: (stage: string) => void,
): Promise<ReadOutcome> {
  const storage = opts.storage ?? (await openStorage(config));
  try {
    progress('compact');
    await compactRaw(storage, { onProgress: progress });
    lap('compact');
    progress('athena');
    const { graph, totalViewers, athena } = await overlapGraphOnAthena(config, {
      onProgress: (p) => progress(`athena ${p.state ?? p.phase}`, p.rows),
    });
    lap('athena');
    const metadata = await loadMetadataFromStorage(storage);
    lap('read');
    return {
      kind: 'presence',
      paths: [`athena:${config.athena.workgroup}/${athena.queryExecutionId}`],
      graph,
      metadata,
      presenceRows: 0,
      viewers: totalViewers,
      botsRemoved: 0,
      rejectedCount: 0,
      rejected: [],
    };
  } finally {
    if (!opts.storage) await storage.close();
  }
}

/** Storage: compact pending raw JSON Lines first (so nothing collected is missed), then load. */
async function readStorage(
  config: Config,
  opts: AnalyzeOptions,
  progress: ProgressFn,
  lap: (stage: string) => void,
): Promise<ReadOutcome> {
  const storage = opts.storage ?? (await openStorage(config));
  try {
    const raw = await storage.list(LAYOUT.rawPresencePrefix);
    const rawMeta = await storage.list(LAYOUT.rawMetadataPrefix);
    if (raw.length > 0 || rawMeta.length > 0) {
      progress('compact');
      await compactRaw(storage, { onProgress: progress });
      lap('compact');
    }
    const presenceStored =
      raw.length > 0 || (await storage.list(LAYOUT.presencePrefix)).some((e) => e.key.endsWith('.parquet'));
    const graphs = presenceStored ? [] : await listStoredGraphs(storage);
    if (graphs.length > 0) {
      // No presence but an imported edge list: analyse the most recent one.
      const g = graphs[0]!;
      progress(`read graph ${g.name}`);
      const table = await loadStoredGraph(storage, g);
      const metadata = await loadMetadataFromStorage(storage);
      lap('read');
      const where = `${storage.location}/${g.edgesKey}`;
      return fromEdgeTable(
        config,
        opts,
        table,
        [where],
        { records: metadata, rejected: [], rejectedCount: 0 },
        progress,
        lap,
      );
    }
    const presence = await loadPresenceFromStorage(storage, { ...windowOf(config), onProgress: progress });
    const metadata = await loadMetadataFromStorage(storage);
    lap('read');
    if (presence.rowsRead === 0) {
      throw new InputError(
        'analyze',
        `${storage.location}: no presence stored (run collect, vod or import first, or pass --input)`,
      );
    }
    return fromPresence(
      config,
      presence,
      { records: metadata, rejected: [], rejectedCount: 0 },
      [storage.location],
      progress,
      lap,
      // Stored viewers are keyed hashes when pseudonymisation is on: match the bot lists the same way.
      config.privacy.pseudonymize ? createPseudonymizer(config.privacy) : null,
    );
  } finally {
    if (!opts.storage) await storage.close();
  }
}

/** A ready-made edge list → graph (the listed weight kept unless `edgeWeight` says otherwise). */
function fromEdgeTable(
  config: Config,
  opts: AnalyzeOptions,
  table: EdgeTable,
  paths: string[],
  metadata: { records: ChannelMetadata[]; rejected: RejectedRow[]; rejectedCount: number },
  progress: ProgressFn,
  lap: (stage: string) => void,
): ReadOutcome {
  progress('overlap');
  const o = config.overlap;
  const weight = opts.edgeWeight ?? 'given';
  const graph = graphFromEdgeTable(table, {
    weight,
    // A given weight can be anything (counts, shares): only the kind-specific cut applies.
    minShared: weight === 'given' ? 0 : o.min_shared,
    minWeight: o.min_weight,
    backbone: o.backbone,
    backboneAlpha: o.backbone_alpha,
  });
  lap('overlap');
  let audience = 0;
  for (let i = 0; i < graph.nodeAudience.length; i++) audience += graph.nodeAudience[i]!;
  return {
    kind: 'edges',
    paths,
    graph,
    metadata: metadata.records,
    presenceRows: 0,
    viewers: audience,
    botsRemoved: 0,
    rejectedCount: metadata.rejectedCount,
    rejected: metadata.rejected,
  };
}

function fromPresence(
  config: Config,
  presence: Awaited<ReturnType<typeof readPresenceFiles>>,
  metadata: { records: ChannelMetadata[]; rejected: RejectedRow[]; rejectedCount: number },
  paths: string[],
  progress: ProgressFn,
  lap: (stage: string) => void,
  botNameMapper: ((login: string) => string) | null = null,
): ReadOutcome {
  progress('aggregate');
  // The readers already applied the window; aggregate checks it again at no cost.
  const audience = aggregate(presence.table, { ...camelKeys(config.aggregate), botNameMapper });
  lap('aggregate');
  progress('overlap');
  const graph = buildOverlapGraph(audience, camelKeys(config.overlap));
  lap('overlap');
  // here, while the rows are alive: the summary must not keep the table through the later stages
  const statistics = atlasStatistics(graph, { table: presence.table, audience }, windowOf(config));
  return {
    statistics,
    kind: 'presence',
    paths,
    graph,
    metadata: metadata.records,
    presenceRows: presence.rowsRead,
    viewers: audience.viewerCount,
    botsRemoved: audience.counts.botsRemoved.total,
    rejectedCount: presence.rejectedCount + metadata.rejectedCount,
    rejected: [...presence.rejected, ...metadata.rejected],
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
  for (let e = 0; e < graph.length; e++) {
    const s = graph.source[e]!;
    const t = graph.target[e]!;
    const w = graph.weight[e]!;
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
