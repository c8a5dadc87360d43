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
import { type ByteSink, encodeStrings, formatNumbers, tempPathFor, writeBytesAtomic } from './atomic.js';
import { csvField, csvLine, writeUint } from './csv.js';
import { EDGE_COLUMNS } from './edge-index.js';
import { writeGexfEdgeLines } from './gexf.js';

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
  const edgesCsv = join(dir, 'edges.csv');
  // Both files print the same weights: formatted once.
  const weights = formatNumbers(g.weight, g.length);
  writeBytesAtomic(edgesCsv, (sink) => writeEdgeCsvRows(sink, g, weights));
  const out: EdgeFiles = { edgesCsv };
  const writePart = () => {
    if (!gexf) return;
    const part = tempPathFor(join(dir, 'atlas.gexf.edges'));
    writeBytesAtomic(part, (sink) =>
      writeGexfEdgeLines(sink, g.source, g.target, weights, g.length, g.nodeNames.length),
    );
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

/**
 * edges.csv from the arrays: each row goes straight into the sink's buffer (names and weights
 * copied from blocks of bytes made once), no string per edge.
 */
export function writeEdgeCsvRows(
  sink: ByteSink,
  g: GraphEdges,
  weights = formatNumbers(g.weight, g.length),
): void {
  sink.text(csvLine(EDGE_COLUMNS));
  const names = encodeStrings(g.nodeNames.map(csvField));
  const { bytes, start } = names;
  const { bytes: wBytes, start: wStart } = weights;
  // Two names, two numbers (48 bytes each at most), three separators and the newline.
  const rowMax = 2 * names.longest + weights.longest + 60;
  const { source, target, shared } = g;
  for (let i = 0; i < g.length; i++) {
    sink.ensure(rowMax);
    const buf = sink.buf;
    let p = sink.pos;
    const s = source[i]!;
    for (let b = start[s]!, e = start[s + 1]!; b < e; b++) buf[p++] = bytes[b]!;
    buf[p++] = 44;
    const t = target[i]!;
    for (let b = start[t]!, e = start[t + 1]!; b < e; b++) buf[p++] = bytes[b]!;
    buf[p++] = 44;
    for (let b = wStart[i]!, e = wStart[i + 1]!; b < e; b++) buf[p++] = wBytes[b]!;
    buf[p++] = 44;
    const n = shared[i]!;
    // as writeEdgeCsvRow: whole counts plainly, anything else as formatNumber
    if (Number.isInteger(n) && n >= 0 && n < 2 ** 40) p = writeUint(buf, p, n);
    else {
      sink.pos = p;
      if (Number.isInteger(n) && n >= 0) sink.uint(n);
      else sink.number(n);
      p = sink.pos;
    }
    buf[p++] = 10;
    sink.pos = p;
  }
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
      const graph: GraphEdges = {
        nodeNames: g.nodeNames,
        source: g.source.slice(0, g.length),
        target: g.target.slice(0, g.length),
        weight: g.weight.slice(0, g.length),
        shared: g.shared.slice(0, g.length),
        length: g.length,
      };
      const input: EdgeWorkerInput = { dir, options, graph };
      // The copies move to the worker rather than being cloned a second time.
      const transfer = [graph.source, graph.target, graph.weight, graph.shared].map(
        (a) => a.buffer as ArrayBuffer,
      );
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
        w.postMessage(input, transfer);
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
