/**
 * The edge files' lines in WebAssembly (`edge-lines/lines.as.ts`): atlas.gexf's edge lines and
 * edges.csv's rows, byte for byte as `writeGexfEdgeLines` and `writeEdgeCsvRows` write them in
 * JavaScript, where V8's bounds checks on every byte cost ~3 ns a byte (~0.55 s for the bench
 * graph's 150 MB of lines). The edges and texts are copied into the kernel's memory once; the
 * lines come out a window at a time and go to the file from there.
 */
import { isMainThread } from 'node:worker_threads';
import { copyIntoKernel, type GrowableKernel, kernelGlobal, kernelModule } from '../wasm-kernels.js';
import type { ByteSink, ByteStrings } from './atomic.js';

interface LinesExports extends GrowableKernel {
  reset(): void;
  edges(
    source: number,
    target: number,
    nodeBytes: number,
    nodeStart: number,
    weightBytes: number,
    weightStart: number,
    shared: number,
    pieces: number,
  ): void;
  gexfLines(from: number, to: number, out: number, outEnd: number, lineMax: number): number;
  csvLines(from: number, to: number, out: number, outEnd: number, lineMax: number): number;
}

/** Output handed to the kernel per call (then written to the file). */
const WINDOW = 1 << 20;
/** Bytes after every block: the kernel's eight-byte copies may touch seven past a piece. */
const SLACK = 16;

let kernel: LinesExports | null | undefined;
let enabled = true;

/** Tests turn the kernel off to check the JavaScript writers give the same. */
export function useEdgeLinesKernel(on: boolean): void {
  enabled = on;
}

function lines(): LinesExports | null {
  if (kernel === undefined) {
    const mod = kernelModule('export/edge-lines/lines');
    kernel = mod ? (new WebAssembly.Instance(mod, {}).exports as unknown as LinesExports) : null;
  }
  return kernel;
}

export interface EdgeLinesInput {
  source: Uint32Array;
  target: Uint32Array;
  length: number;
  /** The nodes' text (GEXF ids, or CSV names quoted as csvField quotes them). */
  nodes: ByteStrings;
  weights: ByteStrings;
  /** CSV only: the shared counts. */
  shared?: Float64Array;
  /** The fixed bytes of a line (GEXF: its start, `" target="`, `" weight="`, its close). */
  pieces: Uint8Array[];
}

/**
 * Writes edges [0, length) as GEXF edge lines or CSV rows into `sink` with the kernel; returns
 * false (having written nothing) when the kernel is off, missing or out of memory. A CSV row it
 * cannot print (a shared count that is not a whole number below 2^40) is left to `rowAt`, which
 * writes that one row into the sink as the JavaScript writer does.
 */
export function writeEdgeLines(
  sink: ByteSink,
  kind: 'gexf' | 'csv',
  input: EdgeLinesInput,
  lineMax: number,
  rowAt?: (i: number) => void,
): boolean {
  if (!enabled) return false;
  const x = lines();
  if (!x) return false;
  const { source, target, length, nodes, weights, shared, pieces } = input;
  let out: number;
  try {
    x.reset();
    const copyIn = (a: Uint8Array | Uint32Array | Float64Array, count = a.length) =>
      copyIntoKernel(x, a, count, SLACK);
    const sourceAt = copyIn(source, length);
    const targetAt = copyIn(target, length);
    const nodeBytesAt = copyIn(nodes.bytes);
    const nodeStartAt = copyIn(nodes.start);
    const weightBytesAt = copyIn(weights.bytes);
    const weightStartAt = copyIn(weights.start, length + 1);
    const sharedAt = shared ? copyIn(shared, length) : 0;
    // the pieces: offset (from the table's start) and length of each, then their bytes
    const table = new Uint32Array(2 * pieces.length);
    let off = table.byteLength;
    pieces.forEach((p, k) => {
      table[2 * k] = off;
      table[2 * k + 1] = p.length;
      off += p.length;
    });
    const piecesAt = x.alloc(off + SLACK);
    const mem = new Uint8Array(x.memory.buffer);
    mem.set(new Uint8Array(table.buffer), piecesAt);
    for (let k = 0; k < pieces.length; k++) mem.set(pieces[k]!, piecesAt + (table[2 * k] as number));
    out = x.alloc(WINDOW + lineMax + SLACK);
    x.edges(sourceAt, targetAt, nodeBytesAt, nodeStartAt, weightBytesAt, weightStartAt, sharedAt, piecesAt);
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      kernel = undefined; // its memory could not grow: a new instance next time
      return false;
    }
    throw err;
  }
  const step = kind === 'gexf' ? x.gexfLines : x.csvLines;
  const exports = x as unknown as WebAssembly.Exports;
  const view = new Uint8Array(x.memory.buffer);
  for (let i = 0; i < length; ) {
    const next = step(i, length, out, out + WINDOW + lineMax, lineMax);
    const n = kernelGlobal(exports, 'written');
    if (n > 0) sink.direct(view.subarray(out, out + n));
    if (next === i) {
      // a row the kernel does not print
      if (!rowAt) throw new Error('internal: edge-lines kernel stopped without a row writer');
      rowAt(i);
      i++;
    } else i = next;
  }
  // a WebAssembly memory never shrinks: off the worker (a long-lived process), let it go
  if (isMainThread) kernel = undefined;
  return true;
}
