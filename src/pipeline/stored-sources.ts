/**
 * The stored sources of `analyze`: storage (compacted Parquet, raw lines compacted first, or an
 * imported edge list) and Athena. `sources.ts` loads this module only when there are no
 * `--input` files, so a file analysis does not load the storage, Parquet and Athena code.
 */
import { overlapGraphOnAthena } from '../athena/engine.js';
import type { Config } from '../config/schema.js';
import { InputError } from '../errors.js';
import { compactRaw, loadMetadataFromStorage, loadPresenceFromStorage } from '../ingest/index.js';
import type { ProgressFn } from '../model/progress.js';
import { createPseudonymizer } from '../privacy/pseudonymize.js';
import { LAYOUT, openStorage } from '../storage/index.js';
import type { SourceOptions } from './sources.js';
import { type AnalysisInput, windowOfConfig } from './stages.js';
import { listStoredGraphs, loadStoredGraph } from './stored-graph.js';

/** `--engine athena` (src/athena): compact closed raw hours, run the overlap query on Athena, keep the graph. */
export async function readAthena(
  config: Config,
  opts: SourceOptions,
  progress: ProgressFn,
): Promise<AnalysisInput> {
  const storage = opts.storage ?? (await openStorage(config));
  try {
    progress('compact');
    await compactRaw(storage, { onProgress: progress });
    opts.onStage?.('compact');
    progress('athena');
    const { graph, totalViewers, athena } = await overlapGraphOnAthena(config, {
      onProgress: (p) => progress(`athena ${p.state ?? p.phase}`, p.rows),
    });
    opts.onStage?.('athena');
    const metadata = await loadMetadataFromStorage(storage);
    return {
      kind: 'graph',
      graph,
      viewers: totalViewers,
      paths: [`athena:${config.athena.workgroup}/${athena.queryExecutionId}`],
      metadata,
      rejected: [],
      rejectedCount: 0,
      skipped: [],
    };
  } finally {
    if (!opts.storage) await storage.close();
  }
}

/** Storage: compact pending raw JSON Lines first (so nothing collected is missed), then load. */
export async function readStorage(
  config: Config,
  opts: SourceOptions,
  progress: ProgressFn,
  component: string,
): Promise<AnalysisInput> {
  const storage = opts.storage ?? (await openStorage(config));
  try {
    const raw = await storage.list(LAYOUT.rawPresencePrefix);
    const rawMeta = await storage.list(LAYOUT.rawMetadataPrefix);
    if (raw.length > 0 || rawMeta.length > 0) {
      progress('compact');
      await compactRaw(storage, { onProgress: progress });
      opts.onStage?.('compact');
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
      return {
        kind: 'edges',
        table,
        paths: [`${storage.location}/${g.edgesKey}`],
        metadata,
        rejected: [],
        rejectedCount: 0,
        skipped: [],
      };
    }
    const presence = await loadPresenceFromStorage(storage, {
      ...windowOfConfig(config),
      onProgress: progress,
      onWorkerDone: opts.onReadWorkerDone,
    });
    const metadata = await loadMetadataFromStorage(storage);
    if (presence.rowsRead === 0) {
      throw new InputError(
        component,
        `${storage.location}: no presence stored (run collect, vod or import first, or pass --input)`,
      );
    }
    return {
      kind: 'presence',
      table: presence.table,
      paths: [storage.location],
      metadata,
      presenceRows: presence.rowsRead,
      rejected: presence.rejected,
      rejectedCount: presence.rejectedCount,
      // Stored viewers are keyed hashes when pseudonymisation is on: match the bot lists the same way.
      botNameMapper: config.privacy.pseudonymize ? createPseudonymizer(config.privacy) : null,
      skipped: [],
    };
  } finally {
    if (!opts.storage) await storage.close();
  }
}
