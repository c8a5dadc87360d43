/**
 * The edge files of an analysis folder, written straight from the graph's typed arrays:
 * edges.csv, edges.parquet and the edge section of atlas.gexf (to a part file the GEXF writer
 * copies in). They depend on the graph only, not on communities, so `analyze` writes them in a
 * worker thread while communities are detected — on a million-edge graph that takes the biggest
 * export off the critical path.
 */
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { sqlString, withDuckDB } from '../storage/duckdb.js';
import { tempPathFor, writeBytesAtomic } from './atomic.js';
import { csvField, csvLine, formatNumber } from './csv.js';
import { EDGE_COLUMNS, writeEdgeCsvRow } from './edge-index.js';
import { writeGexfEdge } from './gexf.js';

/** A graph's edges as parallel arrays (node ids index `nodeNames`). */
export interface GraphEdges {
  nodeNames: string[];
  source: Uint32Array;
  target: Uint32Array;
  weight: Float64Array;
  shared: Float64Array;
  length: number;
}

/** What `writeEdgeFiles` wrote. */
export interface EdgeFiles {
  edgesCsv: string;
  edgesParquet?: string;
  /** GEXF edge lines with node ids = graph node index; the caller removes it after use. */
  gexfEdgesPart?: string;
}

export interface EdgeFilesOptions {
  parquet?: boolean;
  gexf?: boolean;
}

export const EDGES_PARQUET_COLUMNS =
  "{'source': 'VARCHAR', 'target': 'VARCHAR', 'weight': 'DOUBLE', 'shared': 'DOUBLE'}";

/** Writes the edge files into `dir` (which must exist). */
export async function writeEdgeFiles(
  dir: string,
  g: GraphEdges,
  options: EdgeFilesOptions = {},
): Promise<EdgeFiles> {
  const { parquet = true, gexf = true } = options;
  const enc = new TextEncoder();
  const names = g.nodeNames.map((n) => enc.encode(csvField(n)));
  const weights: string[] = new Array(g.length);
  for (let i = 0; i < g.length; i++) weights[i] = formatNumber(g.weight[i]!);
  const edgesCsv = join(dir, 'edges.csv');
  writeBytesAtomic(edgesCsv, (sink) => {
    sink.text(csvLine(EDGE_COLUMNS));
    for (let i = 0; i < g.length; i++) {
      writeEdgeCsvRow(sink, names[g.source[i]!]!, names[g.target[i]!]!, weights[i]!, g.shared[i]!);
    }
  });
  const out: EdgeFiles = { edgesCsv };
  const writePart = () => {
    if (!gexf) return;
    const part = tempPathFor(join(dir, 'atlas.gexf.edges'));
    writeBytesAtomic(part, (sink) => {
      for (let i = 0; i < g.length; i++) writeGexfEdge(sink, g.source[i]!, g.target[i]!, weights[i]!);
    });
    out.gexfEdgesPart = part;
  };
  if (!parquet) {
    writePart();
    return out;
  }
  const target = join(dir, 'edges.parquet');
  const tmp = tempPathFor(target);
  try {
    await withDuckDB(async (conn) => {
      // Queued to DuckDB's threads before the GEXF part blocks this one.
      const copying = conn.run(
        `COPY (SELECT * FROM read_csv(${sqlString(edgesCsv)}, header = true, delim = ',', quote = '"', escape = '"', ` +
          `columns = ${EDGES_PARQUET_COLUMNS}, nullstr = '', auto_detect = false)) ` +
          `TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION lz4)`,
      );
      try {
        writePart();
      } finally {
        await copying;
      }
    });
    renameSync(tmp, target);
    out.edgesParquet = target;
  } finally {
    rmSync(tmp, { force: true });
  }
  return out;
}

/** A worker thread that writes one graph's edge files when given it. */
export interface EdgeFilesWorker {
  /** Writes the edge files (copies the arrays to the worker, so the caller keeps the graph). */
  run(dir: string, g: GraphEdges, options?: EdgeFilesOptions): Promise<EdgeFiles>;
  /** Stops the worker (when the run is abandoned). */
  close(): void;
}

/**
 * Spawns the worker early, so it has loaded its modules by the time the graph is ready; when no
 * worker can run, `run` writes on this thread instead.
 */
export function spawnEdgeFilesWorker(): EdgeFilesWorker {
  let worker: Worker | undefined;
  let failed = false;
  try {
    worker = new Worker(new URL('./edge-worker.mjs', import.meta.url));
    worker.once('error', () => {
      failed = true;
    });
    worker.unref();
  } catch {
    failed = true;
  }
  return {
    run(dir, g, options = {}) {
      const w = worker;
      if (!w || failed) return writeEdgeFiles(dir, g, options);
      w.ref();
      const input: EdgeWorkerInput = {
        dir,
        options,
        graph: {
          nodeNames: g.nodeNames,
          source: g.source.slice(0, g.length),
          target: g.target.slice(0, g.length),
          weight: g.weight.slice(0, g.length),
          shared: g.shared.slice(0, g.length),
          length: g.length,
        },
      };
      return new Promise<EdgeFiles>((resolve, reject) => {
        let settled = false;
        // The worker could not run (e.g. no loader for TypeScript there): write on this thread.
        const here = () => {
          if (settled) return;
          settled = true;
          writeEdgeFiles(dir, g, options).then(resolve, reject);
        };
        w.once('message', (m: { ok?: EdgeFiles; error?: string }) => {
          settled = true;
          if (m.ok) resolve(m.ok);
          else reject(new Error(`export: edge files: ${m.error}`));
        });
        w.once('error', here);
        w.once('exit', here);
        w.postMessage(input);
      });
    },
    close() {
      void worker?.terminate();
    },
  };
}

export interface EdgeWorkerInput {
  dir: string;
  graph: GraphEdges;
  options: EdgeFilesOptions;
}
