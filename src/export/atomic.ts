import { closeSync, linkSync, openSync, readSync, renameSync, rmSync, unlink, writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { formatNumberInto, POW10, writeUint } from './csv.js';

const BUFFER_BYTES = 4 << 20;

/** A temp file name next to `path` (same directory, so rename is atomic). */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A temp file being written next to its final path. */
interface TempFile {
  path: string;
  tmp: string;
  fd: number;
  open: boolean;
}

function openTemp(path: string): TempFile {
  const tmp = tempPathFor(path);
  return { path, tmp, fd: openSync(tmp, 'w'), open: true };
}

/** Closes the temp file and renames it over the final path. */
function commit(t: TempFile): void {
  t.open = false;
  closeSync(t.fd);
  replaceFile(t.tmp, t.path);
}

/**
 * Renames `tmp` over `path` (atomically: readers see the old file or the new one). An old file
 * there is unlinked off this thread: the rename would otherwise free its pages right here, ~90 ms
 * for a 105 MB atlas.gexf on the bench machine when `analyze` writes into the folder of its last
 * run. It keeps a second link until the rename is done, then goes when the thread pool gets to it
 * (the process waits for that before it exits).
 */
export function replaceFile(tmp: string, path: string): void {
  // A worker is off the main thread already, and may be stopped before the pool gets to it.
  let old: string | undefined = isMainThread ? `${tempPathFor(path)}-old` : undefined;
  try {
    if (old) linkSync(path, old);
  } catch {
    old = undefined; // no file there yet (or no hard links on this file system): a plain rename
  }
  try {
    renameSync(tmp, path);
  } finally {
    if (old) removeSoon(old);
  }
}

/** Unlinks `path` on the thread pool (a large file's pages are freed there, not on this thread). */
export function removeSoon(path: string): void {
  unlink(path, () => {});
}

/** Closes (if still open) and removes the temp file after a failure. */
function abandon(t: TempFile): void {
  if (t.open) closeSync(t.fd);
  rmSync(t.tmp, { force: true });
}

/**
 * Writes a file atomically: `fill` writes to the descriptor of a temp file next to `path`, which
 * is then renamed over `path`. Readers see the old file or the new one, never a half-written one.
 * (No fsync: these are re-creatable outputs, and syncing hundreds of MB would dominate the run.)
 */
export function writeFileAtomic(path: string, fill: (fd: number) => void): void {
  const t = openTemp(path);
  try {
    fill(t.fd);
    commit(t);
  } catch (err) {
    abandon(t);
    throw err;
  }
}

/**
 * A large output buffer over a file descriptor. Hot writers (millions of CSV/XML rows) put bytes
 * straight into `buf` at `pos` after `ensure(n)`; the helpers copy short ASCII inline, which is
 * cheaper than a native call per piece and creates no garbage.
 */
export class ByteSink {
  buf: Buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  pos = 0;
  /** Bytes flushed so far. */
  flushed = 0;
  /** Where the next flush goes in the file (`options.at`), or undefined: the descriptor's own position. */
  private at: number | undefined;
  constructor(
    private readonly fd: number,
    private readonly options: {
      /** Writes start at this offset of the file (positional writes). */
      at?: number;
      /** At most this many bytes are written; past it, `tooLong()` is thrown instead of writing. */
      limit?: number;
      tooLong?: () => Error;
    } = {},
  ) {
    this.at = options.at;
  }

  /** Makes room for `n` more bytes (the buffer grows when n exceeds its size). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  flush(): void {
    this.writeOut(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  /** All of `b` to the file (a write may take less than it is given). */
  private writeOut(b: Uint8Array): void {
    const { limit, tooLong } = this.options;
    if (limit !== undefined && this.flushed + b.length > limit)
      throw tooLong?.() ?? new RangeError('ByteSink: past its limit');
    let off = 0;
    while (off < b.length) {
      const n = writeSync(this.fd, b, off, b.length - off, this.at ?? null);
      if (this.at !== undefined) this.at += n;
      off += n;
    }
    this.flushed += b.length;
  }

  /** Any string, UTF-8 encoded. */
  text(s: string): void {
    const n = s.length;
    if (3 * n > this.buf.length) {
      this.flush();
      this.writeOut(Buffer.from(s));
      return;
    }
    this.ensure(3 * n);
    if (n <= 96) {
      const buf = this.buf;
      const p = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[p + i] = c;
      }
      if (i === n) {
        this.pos = p + n;
        return;
      }
    }
    this.pos += this.buf.write(s, this.pos);
  }

  /** Pre-encoded bytes. */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    const buf = this.buf;
    let p = this.pos;
    if (b.length > 64) {
      buf.set(b, p);
      this.pos = p + b.length;
      return;
    }
    for (let i = 0; i < b.length; i++) buf[p++] = b[i]!;
    this.pos = p;
  }

  /** Writes `b` straight to the file, after what is buffered (no copy into the buffer). */
  direct(b: Uint8Array): void {
    this.flush();
    this.writeOut(b);
  }

  /** Appends a file's bytes from offset `from` to its end (e.g. a section another thread wrote). */
  copyFile(path: string, from = 0): void {
    this.flush();
    const fd = openSync(path, 'r');
    try {
      for (let at = from; ; ) {
        const n = readSync(fd, this.buf, 0, this.buf.length, at);
        at += n;
        if (n <= 0) break;
        this.pos = n;
        this.flush();
      }
    } finally {
      closeSync(fd);
    }
  }

  /** A non-negative integer in decimal. */
  uint(n: number): void {
    this.ensure(24);
    const buf = this.buf;
    if (n < 10) {
      buf[this.pos++] = 48 + n;
      return;
    }
    if (n < 2 ** 40) {
      this.pos = writeUint(buf, this.pos, n);
      return;
    }
    let digits = 0;
    for (let t = n; t >= 1; t = Math.floor(t / 10)) digits++;
    let q = this.pos + digits;
    for (let t = n; t >= 1; t = Math.floor(t / 10)) buf[--q] = 48 + (t % 10);
    this.pos += digits;
  }

  /** A number as `formatNumber(n, digits)` writes it (nothing for NaN/±Infinity). */
  number(n: number, digits = 6): void {
    this.ensure(48);
    this.pos = formatNumberInto(this.buf, this.pos, n, digits);
  }
}

/**
 * Many short byte strings in one block: string i is `bytes[start[i] .. start[i + 1])`. Hot
 * writers copy them byte by byte instead of encoding or formatting the same value again.
 */
export interface ByteStrings {
  bytes: Uint8Array;
  start: Uint32Array;
  /** Bytes of the longest string. */
  longest: number;
}

/** `ByteStrings` of JS strings, UTF-8 encoded. */
export function encodeStrings(strings: readonly string[]): ByteStrings {
  const enc = new TextEncoder();
  const parts = strings.map((x) => enc.encode(x));
  const start = new Uint32Array(parts.length + 1);
  let longest = 0;
  for (let i = 0; i < parts.length; i++) {
    start[i + 1] = start[i]! + parts[i]!.length;
    if (parts[i]!.length > longest) longest = parts[i]!.length;
  }
  const bytes = new Uint8Array(start[parts.length]!);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, start[i]!);
  return { bytes, start, longest };
}

/**
 * `ByteStrings` of numbers as `formatNumberInto` writes them (empty for NaN/±Infinity), made
 * once for all the files that print them.
 */
export function formatNumbers(
  values: ArrayLike<number>,
  length: number,
  /** Filled with what each number's text reads back as (`printedValues` of the result, unparsed). */
  printed?: Float64Array,
): ByteStrings {
  const start = new Uint32Array(length + 1);
  let bytes = new Uint8Array(length * 12 + 64);
  let p = 0;
  let longest = 0;
  for (let i = 0; i < length; i++) {
    if (p + 48 > bytes.length) {
      const g = new Uint8Array(bytes.length * 2);
      g.set(bytes.subarray(0, p));
      bytes = g;
    }
    const q = formatNumberInto(bytes, p, values[i]!, 6, printed, i);
    if (q - p > longest) longest = q - p;
    start[i + 1] = p = q;
  }
  return { bytes: bytes.subarray(0, p), start, longest };
}

/**
 * The numbers `formatNumbers` printed, read back as a CSV reader reads them (empty: NaN). A plain
 * decimal of up to 15 digits is k / 10^d, which IEEE division rounds exactly as a correct decimal
 * parser does; anything else goes through `Number`.
 */
export function printedValues(printed: ByteStrings, length: number): Float64Array {
  const { bytes, start } = printed;
  const out = new Float64Array(length);
  const dec = new TextDecoder();
  for (let i = 0; i < length; i++) {
    const b = start[i] as number;
    const e = start[i + 1] as number;
    if (b === e) {
      out[i] = Number.NaN;
      continue;
    }
    const negative = bytes[b] === 45;
    let p = negative ? b + 1 : b;
    let k = 0;
    let digits = 0;
    let decimals = -1;
    for (; p < e; p++) {
      const c = bytes[p] as number;
      if (c === 46 && decimals < 0) decimals = 0;
      else if (c >= 48 && c <= 57) {
        k = k * 10 + (c - 48);
        digits++;
        if (decimals >= 0) decimals++;
      } else break;
    }
    if (p === e && digits > 0 && digits <= 15 && decimals <= 22) {
      const v = decimals > 0 ? k / (POW10[decimals] as number) : k;
      out[i] = negative ? -v : v;
    } else out[i] = Number(dec.decode(bytes.subarray(b, e)));
  }
  return out;
}

/** `writeFileAtomic` through a `ByteSink`. */
export function writeBytesAtomic(path: string, fill: (sink: ByteSink) => void): void {
  writeFileAtomic(path, (fd) => {
    const sink = new ByteSink(fd);
    fill(sink);
    sink.flush();
  });
}

/** `writeBytesAtomic` whose filler may await (e.g. another thread's part of the file). */
export async function writeBytesAtomicAsync(
  path: string,
  fill: (sink: ByteSink) => Promise<void>,
): Promise<void> {
  const t = openTemp(path);
  try {
    const sink = new ByteSink(t.fd);
    await fill(sink);
    sink.flush();
    commit(t);
  } catch (err) {
    abandon(t);
    throw err;
  }
}

/** `writeFileAtomic` for text: strings appended through `write`, buffered into large writes. */
export function writeTextAtomic(path: string, fill: (write: (s: string) => void) => void): void {
  writeBytesAtomic(path, (sink) => fill((s) => sink.text(s)));
}
