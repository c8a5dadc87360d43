/**
 * `analyze`: a source (files, storage or Athena) → the stages (`runAnalysis`: aggregate → overlap
 * graph → communities → labels) → the exports. Each stage is timed; the timings, counts and
 * parameters land in summary.json. Library code: throws InputError on bad input and never exits.
 */
import { mkdirSync } from 'node:fs';
import { type ProjectionWorker, spawnProjectionWorker } from '../analysis/overlap-parallel.js';
import type { Config } from '../config/schema.js';
import { type EdgeFiles, type EdgeFilesWorker, spawnEdgeFilesWorker } from '../export/edge-files.js';
import { gexfHeadRoom } from '../export/gexf.js';
import { writeAnalysisFolder } from '../export/write.js';
import { releaseWarmReadWorkers } from '../ingest/read-worker.js';
import type {
  AtlasSummary,
  ChannelRow,
  CommunityRow,
  EdgeRow,
  GroupRow,
  WeightKind,
} from '../model/atlas.js';
import type { ProgressFn } from '../model/progress.js';
import type { Storage } from '../storage/index.js';
import { collectGarbage } from './free-memory.js';
import { readSource } from './sources.js';
import { runAnalysis } from './stages.js';

export { camelKeys } from './stages.js';

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

/** Presence inputs from this many rows on are collected away once the graph is built (`collectGarbage`). */
const FREE_AFTER_ROWS = 1_000_000;

/** Runs the whole analysis and writes the output folder. */
export async function analyze(config: Config, opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const progress = opts.onProgress ?? (() => {});
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  let mark = t0;
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = Math.round(now - mark);
    mark = now;
  };
  // The edge files are written by a worker from the graph while communities are found; the
  // overlap projection's second thread (presence only) helps aggregate and overlap. Both are
  // spawned once a two-thread read's worker is done — they load their modules on its core while
  // this thread merges its rows — or else once the input is read.
  let edgeWorker: EdgeFilesWorker | undefined;
  let projection: ProjectionWorker | undefined;
  const spawnHelpers = (presence: boolean) => {
    if (presence) projection ??= spawnProjectionWorker();
    edgeWorker ??= spawnEdgeFilesWorker();
  };
  try {
    const input = await readSource(config, {
      inputs: opts.inputs,
      storage: opts.storage,
      engine: opts.engine,
      onProgress: progress,
      onStage: lap,
      onReadWorkerDone: () => spawnHelpers(true),
    });
    lap('read');
    spawnHelpers(input.kind === 'presence');
    let edgeFiles: Promise<EdgeFiles> | undefined;
    // edges.csv and the GEXF's edges, told before the worker goes on to edges.parquet
    let edgePart: Promise<EdgeFiles> | undefined;
    const result = runAnalysis(config, input, {
      onProgress: progress,
      onStage: lap,
      edgeWeight: opts.edgeWeight,
      projection,
      onGraph: (graph) => {
        // The rows are dropped by now (after the statistics): let them go before communities and
        // the edge files allocate again. The projection worker's work is done, and its isolate
        // holds the rows' shared buffers too until it would next collect: it goes first.
        projection?.close();
        if (input.kind === 'presence' && input.presenceRows >= FREE_AFTER_ROWS) collectGarbage();
        mkdirSync(opts.out, { recursive: true });
        // The edge files beside communities: edges.csv, the GEXF's edges, then edges.parquet.
        // Waiting with edges.parquet until communities were found spared them ~75 ms of sharing
        // the cores, but the exports then waited ~140 ms for it (bench CSV, 5 alternating runs).
        let toldPart: (files: EdgeFiles) => void = () => {};
        edgePart = new Promise((resolve) => {
          toldPart = resolve;
        });
        // the GEXF's edge section goes behind room for its head, which is put in front afterwards
        const gexfRoom = gexfHeadRoom(graph.nodeNames);
        edgeFiles = (edgeWorker as EdgeFilesWorker).run(
          opts.out,
          graph,
          { gexfHeadRoom: gexfRoom },
          toldPart,
        );
        edgeFiles.catch(() => {}); // awaited by the exports; an early failure must not go unhandled
      },
    });
    const { summary, channels, communities, groups, rowOfNode } = result;
    if (!edgeFiles) throw new Error('analyze: the stages produced no graph');
    summary.timings = timings;
    const nodeIds = new Int32Array(rowOfNode.length);
    for (let node = 0; node < rowOfNode.length; node++) nodeIds[rowOfNode[node]!] = node;
    await writeAnalysisFolder(
      opts.out,
      {
        summary,
        channels,
        communities,
        groups,
        // the worker writes the edge files: edge rows would cost ~0.4 s to build for nothing
        edges: [],
      },
      {
        onProgress: progress,
        // a failure before the part rejects `done`: the exports wait for whichever settles first
        edgeFiles: {
          part: Promise.race([edgePart as Promise<EdgeFiles>, edgeFiles]),
          done: edgeFiles,
          parquet: true,
          nodeIds,
        },
        // summary.json is written last, so it can carry the export time and the total.
        beforeSummary: () => {
          lap('exports');
          timings.total = Math.round(performance.now() - t0);
        },
      },
    );
    return {
      outDir: opts.out,
      summary,
      channels,
      communities,
      groups,
      get edges() {
        return result.edges;
      },
    };
  } finally {
    edgeWorker?.close();
    projection?.close();
    releaseWarmReadWorkers();
  }
}
