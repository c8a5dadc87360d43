/**
 * The hybrid decoding of Parquet pages in WebAssembly (`parquet-kernel/hybrid.as.ts`): definition
 * levels and dictionary codes as `decodeHybrid` (parquet-format.ts) gives them, with their largest
 * value and sum from the same pass, and integer dictionaries looked up — on the stored-parts read's
 * numbers thread these loops took ~9 ns a value in JavaScript. The encoded bytes are copied into
 * the kernel's memory; what does not fit its layout, or a build without the kernel, is answered
 * undefined and decoded by the JavaScript loops.
 */
import { kernelGlobal, kernelModule } from '../wasm-kernels.js';

interface HybridExports {
  memory: WebAssembly.Memory;
  hybrid(pos: number, end: number, bitWidth: number, count: number): number;
  lookUp(count: number): void;
}

class HybridKernel {
  readonly x: HybridExports;
  readonly mem: Uint8Array;
  readonly values: Int32Array;
  readonly dict: Float64Array;
  readonly out: Float64Array;
  readonly result: DataView;
  readonly inAt: number;
  readonly inBytes: number;
  readonly maxValues: number;
  readonly maxDict: number;
  /** The dictionary last copied into DICT (pages of one chunk share it). */
  dictOf: Float64Array | undefined;

  constructor(mod: WebAssembly.Module) {
    const exports = new WebAssembly.Instance(mod, {}).exports;
    this.x = exports as unknown as HybridExports;
    const at = (name: string) => kernelGlobal(exports, name);
    const buffer = this.x.memory.buffer;
    if (at('END') > buffer.byteLength)
      throw new Error('internal: hybrid kernel memory smaller than its layout');
    this.mem = new Uint8Array(buffer);
    this.maxValues = at('MAX_VALUES');
    this.maxDict = at('MAX_DICT');
    this.values = new Int32Array(buffer, at('VALUES'), this.maxValues);
    this.dict = new Float64Array(buffer, at('DICT'), this.maxDict);
    this.out = new Float64Array(buffer, at('OUT'), this.maxValues);
    this.result = new DataView(buffer, at('RESULT'), 16);
    this.inAt = at('IN');
    this.inBytes = at('IN_BYTES');
  }
}

let kernel: HybridKernel | null | undefined;
/** Tests turn the kernel off to check the JavaScript loops give the same. */
let enabled = true;

export function useHybridKernel(on: boolean): void {
  enabled = on;
}

function hybridKernel(): HybridKernel | null {
  if (!enabled) return null;
  if (kernel === undefined) {
    const mod = kernelModule('ingest/parquet-kernel/hybrid');
    kernel = mod ? new HybridKernel(mod) : null;
  }
  return kernel;
}

/** A decode's values (a view of the kernel's memory: valid until its next call), largest and sum. */
export interface HybridValues {
  values: Int32Array;
  max: number;
  sum: number;
}

/**
 * `count` hybrid-encoded values of `bitWidth` bits from buf[pos, end): their values, largest
 * value and sum; null when the data is bad (ends early, a bad header); undefined when the kernel
 * cannot take it (missing, off, or more than its layout holds).
 */
export function hybridValues(
  buf: Uint8Array,
  pos: number,
  end: number,
  bitWidth: number,
  count: number,
): HybridValues | null | undefined {
  const k = hybridKernel();
  if (!k || end - pos > k.inBytes || count > k.maxValues || bitWidth > 32) return undefined;
  k.mem.set(buf.subarray(pos, end), k.inAt);
  if (k.x.hybrid(0, end - pos, bitWidth, count) !== 0) return null;
  return {
    values: k.values.subarray(0, count),
    max: k.result.getUint32(0, true),
    sum: k.result.getFloat64(8, true),
  };
}

/**
 * dict[codes[i]] for i < count, where `codes` are the values `hybridValues` last gave (each
 * checked below the dictionary's size by the caller): a view of the kernel's memory, valid until
 * its next call; or undefined when the codes are not those or the dictionary does not fit.
 */
export function lookUpCodes(codes: Int32Array, dict: Float64Array, count: number): Float64Array | undefined {
  const k = hybridKernel();
  if (!k || codes.buffer !== k.values.buffer || codes.byteOffset !== k.values.byteOffset) return undefined;
  if (dict.length > k.maxDict || count > codes.length) return undefined;
  if (k.dictOf !== dict) {
    k.dict.set(dict);
    k.dictOf = dict;
  }
  k.x.lookUp(count);
  return k.out.subarray(0, count);
}
