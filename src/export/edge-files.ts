/**
 * The edge files of an analysis folder, written straight from the graph's typed arrays:
 * edges.csv, edges.parquet and the edge section of atlas.gexf (to a part file the GEXF writer
 * copies in). They depend on the graph only, not on communities, so `analyze` writes them in a
 * worker thread while communities are detected — on a million-edge graph that takes the biggest
 * export off the critical path.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  ByteSink,
  encodeStrings,
  formatNumbers,
  printedValues,
  replaceFile,
  tempPathFor,
  writeBytesAtomic,
  writeFileAtomic,
} from './atomic.js';
import { csvField, csvLine, writeUint } from './csv.js';
import { EDGE_COLUMNS } from './edge-index.js';
import { writeEdgeLines } from './edge-lines.js';
import { GEXF_END, writeGexfEdgeLines } from './gexf.js';
import { writeParquet } from './parquet-write.js';

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
  /**
   * atlas.gexf's temp file, holding from byte `gexfEdgesFrom` on the edge lines (node ids = graph
   * node index) and the document's end; the caller puts the head in front and renames it, or
   * copies the section and removes it.
   */
  gexfEdgesPart?: string;
  gexfEdgesFrom?: number;
}

export interface EdgeFilesOptions {
  parquet?: boolean;
  gexf?: boolean;
  /** Bytes left for the GEXF head in front of its edge section (`gexfHeadRoom`); default 0. */
  gexfHeadRoom?: number;
}

/** When `writeEdgeFiles` tells what it wrote before it goes on to edges.parquet. */
export interface EdgeFilesSteps {
  /** edges.csv and the GEXF edge part are written (the GEXF can be put together from now on). */
  onPart?: (files: EdgeFiles) => void;
}

/**
 * Writes the edge files into `dir` (which must exist): edges.csv and the GEXF edge part, then
 * edges.parquet (from the arrays, with the values edges.csv prints).
 */
export async function writeEdgeFiles(
  dir: string,
  g: GraphEdges,
  options: EdgeFilesOptions = {},
  steps: EdgeFilesSteps = {},
): Promise<EdgeFiles> {
  const { parquet = true, gexf = true } = options;
  const edgesCsv = join(dir, 'edges.csv');
  // Both files print the same weights: formatted once, with the values the text reads back as
  // (edges.parquet holds those, so it agrees with edges.csv).
  const printedWeights = new Float64Array(g.length);
  const weights = formatNumbers(g.weight, g.length, printedWeights);
  writeBytesAtomic(edgesCsv, (sink) => writeEdgeCsvRows(sink, g, weights));
  const out: EdgeFiles = { edgesCsv };
  if (gexf) {
    // atlas.gexf's own temp file, its edge section from the head's room on (see `gexfHeadRoom`)
    const part = tempPathFor(join(dir, 'atlas.gexf'));
    const room = options.gexfHeadRoom ?? 0;
    writeFileAtomic(part, (fd) => {
      const sink = new ByteSink(fd, { at: room });
      writeGexfEdgeLines(sink, g.source, g.target, weights, g.length, g.nodeNames.length);
      sink.text(GEXF_END);
      sink.flush();
    });
    out.gexfEdgesPart = part;
    out.gexfEdgesFrom = room;
  }
  steps.onPart?.({ ...out });
  if (!parquet) return out;
  const target = join(dir, 'edges.parquet');
  const tmp = tempPathFor(target);
  try {
    const names = g.nodeNames.map((n) => encoder.encode(n));
    writeParquet(
      tmp,
      [
        { name: 'source', kind: 'names', names, index: g.source.subarray(0, g.length) },
        { name: 'target', kind: 'names', names, index: g.target.subarray(0, g.length) },
        // printed with 6 significant digits, weights repeat: a dictionary halves the file
        { name: 'weight', kind: 'doubles', values: printedWeights, dictionary: true },
        { name: 'shared', kind: 'doubles', values: printedShared(g.shared, g.length), dictionary: true },
      ],
      g.length,
    );
    replaceFile(tmp, target);
    out.edgesParquet = target;
  } finally {
    rmSync(tmp, { force: true });
  }
  return out;
}

const encoder = new TextEncoder();

/** `shared` as edges.csv prints it: whole counts exactly, anything else as `formatNumber` does. */
function printedShared(shared: Float64Array, length: number): Float64Array {
  const out = new Float64Array(length);
  let fractions = false;
  for (let i = 0; i < length; i++) {
    const n = shared[i] as number;
    if (Number.isInteger(n)) out[i] = n === 0 ? 0 : n;
    else fractions = true;
  }
  if (!fractions) return out;
  const rest = Array.from(shared.subarray(0, length), (n) => (Number.isInteger(n) ? 0 : n));
  const printed = printedValues(formatNumbers(rest, length), length);
  for (let i = 0; i < length; i++) if (!Number.isInteger(shared[i] as number)) out[i] = printed[i] as number;
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
  const row = (i: number) => {
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
  };
  const input = { source, target, length: g.length, nodes: names, weights, shared, pieces: [] };
  if (writeEdgeLines(sink, 'csv', input, rowMax, row)) return;
  for (let i = 0; i < g.length; i++) row(i);
}

/** A worker thread that writes one graph's edge files when given it. */
export interface EdgeFilesWorker {
  /**
   * Writes the edge files (copies the arrays to the worker, so the caller keeps the graph);
   * `onPart` as in `EdgeFilesSteps`.
   */
  run(
    dir: string,
    g: GraphEdges,
    options?: EdgeFilesOptions,
    onPart?: (files: EdgeFiles) => void,
  ): Promise<EdgeFiles>;
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
    run(dir, g, options = {}, onPart) {
      const w = worker;
      const here = (o: EdgeFilesOptions, tell?: (files: EdgeFiles) => void) =>
        writeEdgeFiles(dir, g, o, { onPart: tell });
      if (!w || failed) return here(options, onPart);
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
        let part: EdgeFiles | undefined;
        const instead = () => {
          if (settled) return;
          settled = true;
          if (!part) here(options, onPart).then(resolve, reject);
          else {
            // the caller may be copying the worker's GEXF part already: keep it, write the rest
            const told = part;
            here({ ...options, gexf: false }).then(
              (files) =>
                resolve({ ...files, gexfEdgesPart: told.gexfEdgesPart, gexfEdgesFrom: told.gexfEdgesFrom }),
              reject,
            );
          }
        };
        const onMessage = (m: { part?: EdgeFiles; ok?: EdgeFiles; error?: string }) => {
          if (m.part) {
            part = m.part;
            onPart?.(m.part);
            return;
          }
          settled = true;
          w.off('message', onMessage);
          if (m.ok) resolve(m.ok);
          else reject(new Error(`export: edge files: ${m.error}`));
        };
        w.on('message', onMessage);
        w.once('error', instead);
        w.once('exit', instead);
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
