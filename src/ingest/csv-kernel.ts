/**
 * The CSV fast path's WebAssembly record loop (`csv-kernel/rows.as.ts`, compiled by
 * scripts/build.mjs) for files in the contract's layout: `channel,viewer,ts` or
 * `channel,viewer,ts,source,messages`. It parses and hashes each record and looks its names up in
 * a cache of names interned before; this side interns the names the cache missed
 * (`ByteInterner.internHashed`, the one owner of ids), and stores the rows as blocks.
 * A record the kernel does not take whole it leaves to the JavaScript paths (`PlainPresenceRows`,
 * then the general one), which read or reject it as before: the same rows come out either way.
 *
 * Why WebAssembly: a plain byte loop in V8 costs ~1.7 ns a byte here (bounds checks), and the
 * JavaScript fast path ~330 ns a record. On the analyze bench file's first half (7.76M records,
 * one thread) that path took 2.6–2.9 s, the kernel with this side's interning 1.6–2.2 s; the
 * kernel's loop alone (no interning) 0.9–1.0 s, of which the name caches ~0.4 s.
 */

import { kernelGlobal, kernelModule } from '../wasm-kernels.js';
import type { ByteInterner } from './csv-scan.js';
import type { PresenceBuilder } from './presence-rows.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  configure(
    fields: number,
    maxName: number,
    minTs: number,
    maxTs: number,
    maxMessages: number,
    hasStart: number,
    start: number,
    hasEnd: number,
    end: number,
  ): void;
  scan(p: number, end: number): number;
  settle(n: number): void;
  [global: string]: unknown;
}

/** The read's settings the kernel checks, as `PlainPresenceRows` has them. */
export interface KernelSettings {
  fields: 3 | 5;
  fold: Uint8Array;
  maxName: number;
  minTs: number;
  maxTs: number;
  maxMessages: number;
  windowStart?: number;
  windowEnd?: number;
}

/** The first piece of records copied into the kernel, and after any record it left to the caller. */
const MIN_PIECE = 4 * 1024;

/** One kernel instance per thread, lent to one reader at a time (its cache holds that reader's ids). */
let shared: CsvKernel | undefined;

/**
 * The thread's kernel, configured for `owner`'s read (its caches emptied when the last reader
 * was another), or undefined when the compiled kernel is missing (the JavaScript path reads).
 */
export function csvKernelFor(owner: object, settings: KernelSettings): CsvKernel | undefined {
  if (!shared) {
    const mod = kernelModule('ingest/csv-kernel/rows');
    if (!mod) return undefined;
    shared = new CsvKernel(mod);
  }
  shared.lend(owner, settings);
  return shared;
}

export class CsvKernel {
  private readonly x: KernelExports;
  private readonly mem: Uint8Array;
  private readonly inAt: number;
  private readonly inBytes: number;
  private readonly cs: Int32Array;
  private readonly cl: Int32Array;
  private readonly ch: Int32Array;
  private readonly cid: Int32Array;
  private readonly vs: Int32Array;
  private readonly vl: Int32Array;
  private readonly vh: Int32Array;
  private readonly vid: Int32Array;
  /** The settled ids again, as the columns' type (so the copy into them is a block copy). */
  private readonly cidU: Uint32Array;
  private readonly vidU: Uint32Array;
  private readonly m: Uint32Array;
  private readonly ts: Float64Array;
  private readonly src: Uint8Array;
  private readonly missC: Int32Array;
  private readonly missV: Int32Array;
  private readonly missVh: Int32Array;
  private owner: object | undefined;
  private settings: KernelSettings | undefined;
  /** Rows of the last `rows` call outside the window (read and counted, not stored). */
  outside = 0;
  /** Bytes copied in for the next piece: MIN_PIECE after a record left to the caller, doubling up to the whole input. */
  private piece = MIN_PIECE;

  constructor(mod: WebAssembly.Module) {
    const x = new WebAssembly.Instance(mod, {}).exports as unknown as KernelExports;
    this.x = x;
    const at = (name: string) => kernelGlobal(x as unknown as WebAssembly.Exports, name);
    const buffer = x.memory.buffer;
    if (at('END') > buffer.byteLength) throw new Error('internal: csv kernel memory smaller than its layout');
    this.mem = new Uint8Array(buffer);
    this.inAt = at('IN');
    this.inBytes = at('IN_BYTES');
    const n = at('MAX_RECORDS');
    const i32 = (name: string) => new Int32Array(buffer, at(name), n);
    this.cs = i32('OUT_CS');
    this.cl = i32('OUT_CL');
    this.ch = i32('OUT_CH');
    this.cid = i32('OUT_CID');
    this.vs = i32('OUT_VS');
    this.vl = i32('OUT_VL');
    this.vh = i32('OUT_VH');
    this.vid = i32('OUT_VID');
    this.cidU = new Uint32Array(buffer, at('OUT_CID'), n);
    this.vidU = new Uint32Array(buffer, at('OUT_VID'), n);
    this.m = new Uint32Array(buffer, at('OUT_M'), n);
    this.ts = new Float64Array(buffer, at('OUT_TS'), n);
    this.src = new Uint8Array(buffer, at('OUT_SRC'), n);
    this.missC = i32('MISS_C');
    this.missV = i32('MISS_V');
    this.missVh = i32('MISS_VH');
  }

  lend(owner: object, s: KernelSettings): void {
    if (this.owner === owner && this.settings === s) return;
    this.owner = owner;
    this.settings = s;
    this.piece = MIN_PIECE;
    this.mem.set(s.fold, kernelGlobal(this.x as unknown as WebAssembly.Exports, 'FOLD'));
    this.x.configure(
      s.fields,
      s.maxName,
      s.minTs,
      s.maxTs,
      s.maxMessages,
      s.windowStart === undefined ? 0 : 1,
      s.windowStart ?? 0,
      s.windowEnd === undefined ? 0 : 1,
      s.windowEnd ?? 0,
    );
  }

  /**
   * Stores the records of buf[pos, stopAt) (stopAt just after a '\n') the kernel takes, in order,
   * into `b`; returns where it stopped: stopAt, or the first record it left to the caller.
   * `owner` must be the reader the kernel was lent to last (`csvKernelFor`).
   */
  rows(owner: object, buf: Uint8Array, pos: number, stopAt: number, b: PresenceBuilder): number {
    if (owner !== this.owner) throw new Error('internal: csv kernel lent to another reader');
    const x = this.x;
    const mem = this.mem;
    const inAt = this.inAt;
    const stopped = x.stoppedAt as WebAssembly.Global;
    const outsideG = x.outside as WebAssembly.Global;
    const cMisses = x.channelMisses as WebAssembly.Global;
    const vMisses = x.viewerMisses as WebAssembly.Global;
    const channels = b.channels;
    const viewers = b.viewers;
    let outside = 0;
    let p = pos;
    while (p < stopAt) {
      // A piece of whole records: up to the last '\n' that fits in `piece` bytes (or, for one long
      // record, in the kernel's whole input).
      let pieceEnd = stopAt;
      if (pieceEnd - p > this.piece) {
        pieceEnd = buf.lastIndexOf(10, p + this.piece - 1) + 1;
        if (pieceEnd <= p && stopAt - p > this.inBytes)
          pieceEnd = buf.lastIndexOf(10, p + this.inBytes - 1) + 1;
        else if (pieceEnd <= p) pieceEnd = stopAt;
        if (pieceEnd <= p) return p; // one record longer than the kernel's input: the caller's
      }
      mem.set(buf.subarray(p, pieceEnd), inAt);
      const end = inAt + (pieceEnd - p);
      let q = inAt;
      while (q < end) {
        const n = x.scan(q, end);
        outside += outsideG.value as number;
        if (n > 0) this.store(b, channels, viewers, n, cMisses.value as number, vMisses.value as number);
        const next = stopped.value as number;
        if (next === q) {
          this.outside = outside;
          // the kernel left this record to the caller: start small again (copying a whole input
          // for each record left would make a file of such records quadratic)
          this.piece = MIN_PIECE;
          return p + (q - inAt);
        }
        q = next;
      }
      p = pieceEnd;
      this.piece = Math.min(2 * this.piece, this.inBytes);
    }
    this.outside = outside;
    return p;
  }

  private store(
    b: PresenceBuilder,
    channels: ByteInterner,
    viewers: ByteInterner,
    n: number,
    nc: number,
    nv: number,
  ): void {
    const mem = this.mem;
    const { cs, cl, ch, cid, vs, vl, vh, vid, missC, missV } = this;
    for (let j = 0; j < nc; j++) {
      const k = missC[j] as number;
      const s = cs[k] as number;
      cid[k] = channels.internHashed(mem, s, s + (cl[k] as number), ch[k] as number);
    }
    // the viewer table is far bigger than the caches: read the missed names' slots in one go
    if (nv > 0) viewers.touchSlots(this.missVh, nv);
    for (let j = 0; j < nv; j++) {
      const k = missV[j] as number;
      const s = vs[k] as number;
      vid[k] = viewers.internHashed(mem, s, s + (vl[k] as number), vh[k] as number);
    }
    this.x.settle(n);
    b.room(n);
    const r = b.length;
    b.channel.set(this.cidU.subarray(0, n), r);
    b.viewer.set(this.vidU.subarray(0, n), r);
    b.ts.set(this.ts.subarray(0, n), r);
    b.messages.set(this.m.subarray(0, n), r);
    if (b.extras) b.extras.source.set(this.src.subarray(0, n), r);
    b.length = r + n;
  }
}
