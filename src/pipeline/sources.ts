/**
 * The analysis sources: `--input` files and folders, storage, or Athena — each read into one
 * `AnalysisInput` (the rows, an edge table, or a ready graph) that the stages take. I/O lives
 * here and in the sinks; `stages.ts` is pure.
 */
import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import { detectFileKind } from '../ingest/detect.js';
import { readEdgeList } from '../ingest/edges.js';
import { readChannelMetadataFiles } from '../ingest/metadata.js';
import { readPresenceFiles } from '../ingest/presence.js';
import type { RejectedRow } from '../ingest/presence-rows.js';
import { encodePresenceLine } from '../ingest/raw-jsonl.js';
import type { ProgressFn } from '../model/progress.js';
import type { ChannelMetadata } from '../model/records.js';
import type { Storage } from '../storage/index.js';
import { type AnalysisInput, windowOfConfig } from './stages.js';

export interface SourceOptions {
  /** Presence files, or one edge list (+ optional node file), plus optional metadata files, or folders of them. Empty: read storage. */
  inputs?: string[];
  /** Storage to read when there are no inputs (default: `openStorage(config)`, closed after). */
  storage?: Storage;
  /** `athena`: aggregation and overlap run on Athena over the stored Parquet; only the channel graph comes back. */
  engine?: 'local' | 'athena';
  onProgress?: ProgressFn;
  /** Called when a part of the read ends (`compact`, `athena`): the caller times them. */
  onStage?: (stage: 'compact' | 'athena') => void;
  /** A two-thread presence read's worker has answered (see `PresenceReadOptions.onWorkerDone`). */
  onReadWorkerDone?: () => void;
  /** The command named in errors (default `analyze`). */
  component?: string;
}

/** Files an `--input` folder may hold: tables, JSON Lines, Parquet, TwitchDownloader JSON (also gzipped). */
const DATA_FILE = /\.(csv|tsv|txt|jsonl|ndjson|json|parquet|gz)$/i;

/**
 * Reads the analysis input: `--input` files and folders (presence, metadata, an edge list with
 * its node file, TwitchDownloader chat), storage, or Athena. Nothing is aggregated here.
 */
export async function readSource(config: Config, opts: SourceOptions): Promise<AnalysisInput> {
  const progress = opts.onProgress ?? (() => {});
  const component = opts.component ?? 'analyze';
  const inputs = opts.inputs ?? [];
  const skipped: { file: string; reason: string }[] = [];
  if (opts.engine === 'athena') {
    if (inputs.length > 0)
      throw new InputError(component, '--engine athena reads the stored Parquet; it takes no --input files');
    return (await import('./stored-sources.js')).readAthena(config, opts, progress);
  }
  // storage and Athena load their modules (DuckDB's, the Parquet reader's, the AWS SDK's) only here
  if (inputs.length === 0)
    return (await import('./stored-sources.js')).readStorage(config, opts, progress, component);

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
    if (!st) throw new InputError(component, `${path}: no such file`);
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
        throw new InputError(component, `${path}: no presence, metadata or edge-list file in this folder`);
      continue;
    }
    if (!st.isFile()) throw new InputError(component, `${path}: not a file or folder`);
    add(path, await detectFileKind(path));
  }
  const metadata = await readMetadata(byKind.metadata);

  if (byKind.edges.length > 0 || byKind.nodes.length > 0) {
    if (byKind.presence.length > 0 || chatFiles.length > 0) {
      throw new InputError(
        component,
        `give presence files or an edge list, not both (${byKind.presence[0]}, ${byKind.edges[0] ?? byKind.nodes[0]})`,
      );
    }
    if (byKind.edges.length !== 1) {
      throw new InputError(
        component,
        byKind.edges.length === 0
          ? `${byKind.nodes[0]}: a node file needs its edge list (source,target,weight)`
          : `one edge list at a time, got ${byKind.edges.join(', ')}`,
      );
    }
    if (byKind.nodes.length > 1)
      throw new InputError(component, `one node file at a time, got ${byKind.nodes.join(', ')}`);
    progress('read edges');
    const edgesPath = byKind.edges[0]!;
    const { table, rejected, rejectedCount } = await readEdgeList(edgesPath, byKind.nodes[0]);
    return {
      kind: 'edges',
      table,
      paths: [edgesPath, ...byKind.nodes, ...byKind.metadata],
      metadata: metadata.records,
      rejected: [...rejected, ...metadata.rejected],
      rejectedCount: rejectedCount + metadata.rejectedCount,
      skipped,
    };
  }

  if (byKind.presence.length === 0 && chatFiles.length === 0) {
    throw new InputError(component, `no presence or edge-list file among the inputs (${inputs.join(', ')})`);
  }
  const window = windowOfConfig(config);
  // TwitchDownloader chat files become bucketed presence lines in a temp JSONL file, so one reader
  // interns everything.
  const tmp = chatFiles.length > 0 ? await mkdtemp(join(tmpdir(), 'vieweratlas-chat-')) : undefined;
  try {
    const files = [...byKind.presence];
    if (tmp) {
      const jsonl = join(tmp, 'chat-presence.jsonl');
      const { readTwitchDownloaderChat } = await import('../ingest/twitch-downloader.js');
      for (const path of chatFiles) {
        progress(`read ${path}`);
        const chat = await readTwitchDownloaderChat(path, { bucketMinutes: config.vod.bucket_minutes });
        await appendFile(jsonl, chat.records.map(encodePresenceLine).join(''));
      }
      files.push(jsonl);
    }
    const presence = await readPresenceFiles(files, {
      ...window,
      onProgress: progress,
      onWorkerDone: opts.onReadWorkerDone,
    });
    return {
      kind: 'presence',
      table: presence.table,
      paths: [...byKind.presence, ...chatFiles],
      metadata: metadata.records,
      presenceRows: presence.rowsRead,
      rejected: [...presence.rejected, ...metadata.rejected],
      rejectedCount: presence.rejectedCount + metadata.rejectedCount,
      botNameMapper: null,
      skipped,
    };
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

/** A presence source (for `timeline` and `channel`, which need the rows' times): an edge list is refused. */
export async function readPresenceSource(
  config: Config,
  opts: SourceOptions & { component: string },
): Promise<Extract<AnalysisInput, { kind: 'presence' }>> {
  const input = await readSource(config, opts);
  if (input.kind !== 'presence')
    throw new InputError(
      opts.component,
      `${input.paths[0] ?? 'the input'}: an edge list has no time; ${opts.component} needs presence (channel,viewer,ts)`,
    );
  return input;
}
