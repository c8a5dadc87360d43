/**
 * The fast path of the CSV presence read: one pass over each plain record's bytes that finds
 * the fields, hashes and checks the names, parses the instant and the count, and stores the row.
 * It is handed all the bytes read, quotes included: a record with a quote anywhere stops every
 * loop at the quote, and is declined.
 * The general path (`readPresenceCsv`'s `row`) scans a record first and then goes over each
 * field again (hash, name checks, number parsing); on a 16M-row file those extra passes were
 * most of the read. Anything this path does not handle itself — a quote, a CR, a field count
 * other than the header's, an empty or over-long name, a NUL byte, an instant that is not epoch
 * digits or ISO-8601 bytes, a value out of range — it declines, and the general path reads that
 * record (and rejects it, with its reason, where it must). So both paths keep the same rows.
 */
import { type CsvKernel, csvKernelFor, type KernelSettings } from './csv-kernel.js';
import { FNV_OFFSET_I32, FNV_PRIME, parseTimestampBytes, sameBytes } from './csv-scan.js';
import {
  type FileStats,
  ID_KEY_TAG,
  inWindow,
  PRESENCE_LIMITS,
  type PresenceBuilder,
  type PresenceReadOptions,
  sourceCodeBytes,
} from './presence-rows.js';

/**
 * The share of records the kernel may leave to this path's own loop (each costs a call into the
 * kernel and a copy of what it had not read) before this reader stops using it.
 */
const KERNEL_MAX_LEFT = 1 / 64;

/** Records parsed before their rows are stored (see `rows`). */
const BATCH = 32;

const NL = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

/** What each field of a record is (0: a column analysis does not read). */
const CHANNEL = 1;
const VIEWER = 2;
const TS = 3;
const SOURCE = 4;
const MESSAGES = 5;
const VIEWER_ID = 6;
const CHANNEL_ID = 7;

/** A Twitch id's hash as its key's (`ID_KEY_TAG`, then the id) begins. */
const ID_SEED = Math.imul(FNV_OFFSET_I32 ^ ID_KEY_TAG, FNV_PRIME);

/** Column indexes of the header, as `mapPresenceHeader` gives them (-1: absent). */
export interface PlainColumns {
  channel: number;
  viewer: number;
  ts: number;
  source: number;
  messages: number;
  channel_id: number;
  viewer_id: number;
  kind: number;
  vod_id: number;
}

/**
 * A fast path for `PresenceBuilder` rows (keyed by Twitch id where a row has one, as
 * `channelKey` / `viewerKey` key them), and for import's rows (extras) of files without kind,
 * VOD and id columns: the source is kept per row, the other extras are none. The rest take the
 * general path (undefined here).
 */
export function plainPresenceRows(
  header: string[],
  col: PlainColumns,
  b: PresenceBuilder,
  st: FileStats,
  opts: PresenceReadOptions,
  now: number,
  kernel = true,
): PlainPresenceRows | undefined {
  const ids = col.channel_id >= 0 || col.viewer_id >= 0;
  if (b.extras && (ids || col.kind >= 0 || col.vod_id >= 0)) return undefined;
  if (b.channels.foldTable !== b.viewers.foldTable) return undefined;
  const roles = new Uint8Array(header.length);
  roles[col.channel] = CHANNEL;
  roles[col.viewer] = VIEWER;
  roles[col.ts] = TS;
  if (col.source >= 0) roles[col.source] = SOURCE;
  if (col.messages >= 0) roles[col.messages] = MESSAGES;
  if (col.viewer_id >= 0) roles[col.viewer_id] = VIEWER_ID;
  if (col.channel_id >= 0) roles[col.channel_id] = CHANNEL_ID;
  return new PlainPresenceRows(roles, b, st, opts, now, kernel, ids);
}

export class PlainPresenceRows {
  /** Records consumed by the last `rows` call. */
  count = 0;
  private readonly minTs = PRESENCE_LIMITS.minTs;
  private readonly maxTs: number;
  private readonly windowed: boolean;
  /** Parsed records waiting to be stored (see `rows`). */
  private readonly batch = {
    cs: new Int32Array(BATCH),
    ce: new Int32Array(BATCH),
    ch: new Int32Array(BATCH),
    vs: new Int32Array(BATCH),
    ve: new Int32Array(BATCH),
    vh: new Int32Array(BATCH),
    ts: new Float64Array(BATCH),
    m: new Uint32Array(BATCH),
    src: new Uint8Array(BATCH),
    // Twitch ids (an empty one: none) and their hashes as keys; the hashes the viewer table is touched with
    cis: new Int32Array(BATCH),
    cie: new Int32Array(BATCH),
    cih: new Int32Array(BATCH),
    vis: new Int32Array(BATCH),
    vie: new Int32Array(BATCH),
    vih: new Int32Array(BATCH),
    touch: new Int32Array(BATCH),
  };
  /** The previous stored row of `keyedRows` (see there). */
  private readonly prev = { channel: keyedRun(), viewer: keyedRun() };
  private readonly scratch = new Uint8Array(PRESENCE_LIMITS.maxNameBytes + 1);

  /**
   * The contract's layouts go to the WebAssembly kernel first (see csv-kernel.ts); undefined
   * without one, or once the kernel leaves too many records to this path (KERNEL_MAX_LEFT).
   */
  private kernelSettings: KernelSettings | undefined;
  /** Records the kernel took, and those it left to this path's own loop. */
  private kernelTook = 0;
  private kernelLeft = 0;

  constructor(
    private readonly roles: Uint8Array,
    private readonly b: PresenceBuilder,
    private readonly st: FileStats,
    private readonly opts: PresenceReadOptions,
    now: number,
    kernel: boolean,
    /** The file has Twitch-id columns: rows are stored by `keyedRows`. */
    private readonly ids = false,
  ) {
    this.maxTs = now + PRESENCE_LIMITS.futureToleranceMs;
    this.windowed = opts.windowStart !== undefined || opts.windowEnd !== undefined;
    const r = roles;
    const fields = r[0] === CHANNEL && r[1] === VIEWER && r[2] === TS ? r.length : 0;
    if (kernel && !ids && (fields === 3 || (fields === 5 && r[3] === SOURCE && r[4] === MESSAGES)))
      this.kernelSettings = {
        fields,
        fold: b.channels.foldTable,
        maxName: PRESENCE_LIMITS.maxNameBytes,
        minTs: this.minTs,
        maxTs: this.maxTs,
        maxMessages: PRESENCE_LIMITS.maxMessages,
        windowStart: opts.windowStart,
        windowEnd: opts.windowEnd,
      };
  }

  /**
   * Consumes the records of buf[pos, end) it can; returns where it stopped. The kernel, where the
   * layout has one, takes what it can; a record it leaves goes through this path's own loop, then
   * the kernel goes on after it.
   */
  rows(buf: Uint8Array, pos: number, end: number): number {
    const from = this.b.length;
    const p = this.readRows(buf, pos, end);
    const ex = this.b.extras;
    if (ex) {
      // import's rows from such a file: chat lines, no VOD, no Twitch ids (the source is set)
      const to = this.b.length;
      ex.kind.fill(0, from, to);
      ex.vod.fill(0, from, to);
      ex.viewerId.fill(0, from, to);
      ex.channelId.fill(0, from, to);
    }
    return p;
  }

  private readRows(buf: Uint8Array, pos: number, end: number): number {
    const settings = this.kernelSettings;
    const kernel: CsvKernel | undefined = settings && csvKernelFor(this, settings);
    if (!kernel) return this.scalarRows(buf, pos, end, Number.POSITIVE_INFINITY);
    const last = buf.lastIndexOf(NL, end - 1);
    const stopAt = last < pos ? pos : last + 1;
    let consumed = 0;
    let p = pos;
    for (;;) {
      const before = this.b.length;
      const q = kernel.rows(this, buf, p, stopAt, this.b);
      const kept = this.b.length - before;
      this.st.good += kept;
      this.st.outside += kernel.outside;
      consumed += kept + kernel.outside;
      p = q;
      this.kernelTook += kept + kernel.outside;
      if (p >= stopAt) break;
      // A file the kernel mostly cannot take (fractional epochs, say, or rows to reject): this
      // path's loop and the general one read it, as they did before the kernel.
      const tooMany = ++this.kernelLeft > KERNEL_MAX_LEFT * (this.kernelTook + this.kernelLeft);
      if (tooMany && this.kernelLeft >= 64) this.kernelSettings = undefined;
      // one record the kernel left: this path's loop reads it, or declines it to the general one
      const r = this.scalarRows(buf, p, end, this.kernelSettings ? 1 : Number.POSITIVE_INFINITY);
      consumed += this.count;
      p = r;
      if (this.count === 0 || !this.kernelSettings) break;
    }
    this.count = consumed;
    return p;
  }

  /** `rows` without the kernel, for at most `limit` records (batches of BATCH). */
  private scalarRows(buf: Uint8Array, pos: number, end: number, limit: number): number {
    const roles = this.roles;
    const nf = roles.length;
    // The contract's order (channel, viewer, ts first, as the collectors, simulate and most
    // exports write it) is scanned by straight-line code; other orders by the loop over roles.
    const head = roles[0] === CHANNEL && roles[1] === VIEWER && roles[2] === TS ? 3 : 0;
    // ... and so is the rest of the contract's five columns (source, messages).
    const contract = head === 3 && nf === 5 && roles[3] === SOURCE && roles[4] === MESSAGES;
    const b = this.b;
    const fold = b.channels.foldTable;
    const maxName = PRESENCE_LIMITS.maxNameBytes;
    const maxMessages = PRESENCE_LIMITS.maxMessages;
    const { minTs, maxTs, windowed } = this;
    let good = 0;
    let outside = 0;
    let p = pos;
    // Up to the last newline every record is complete, and every field ends at a byte the loops
    // below stop at (',' or '\n' at the latest): they need no end-of-bytes check per byte.
    const last = buf.lastIndexOf(NL, end - 1);
    const stopAt = last < pos ? pos : last + 1;
    // The previous stored row's names (bytes in `buf`) and ids: sorted files repeat them row
    // after row, and the same bytes are the same name without a look-up.
    let pcs = 0;
    let pcl = -1;
    let pch = 0;
    let pc = 0;
    let pvs = 0;
    let pvl = -1;
    let pvh = 0;
    let pv = 0;
    // keyedRows' previous rows are bytes of the last call's buffer
    this.prev.channel.ll = -1;
    this.prev.viewer.ll = -1;
    const q = this.batch;
    const qcs = q.cs;
    const qce = q.ce;
    const qch = q.ch;
    const qvs = q.vs;
    const qve = q.ve;
    const qvh = q.vh;
    const qts = q.ts;
    const qm = q.m;
    const qsrc = q.src;
    let bail = false;
    while (!bail && p < stopAt && good + outside < limit) {
      // A batch of records is parsed first, then their names' table slots are read in one go
      // (the viewer table is far bigger than the caches: the misses then overlap instead of
      // queueing), then the rows are stored in order — the ids are those of one row at a time.
      let n = 0;
      batch: while (n < BATCH && p < stopAt && good + outside + n < limit) {
        bail = true;
        let i = p;
        let cs = 0;
        let ce = 0;
        let ch = 0;
        let vs = 0;
        let ve = 0;
        let vh = 0;
        let ts = 0;
        let m = 1;
        let src = 2;
        let cis = 0;
        let cie = 0;
        let cih = 0;
        let vis = 0;
        let vie = 0;
        let vih = 0;
        if (head === 3) {
          let c = 0;
          let h = FNV_OFFSET_I32;
          for (;;) {
            c = buf[i] as number;
            if (c <= COMMA && (c === COMMA || c === NL || c === CR || c === QUOTE || c === 0)) break;
            h = Math.imul(h ^ (fold[c] as number), FNV_PRIME);
            i++;
          }
          if (c !== COMMA || i === p || i - p > maxName) break;
          cs = p;
          ce = i;
          ch = h;
          vs = ++i;
          h = FNV_OFFSET_I32;
          for (;;) {
            c = buf[i] as number;
            if (c <= COMMA && (c === COMMA || c === NL || c === CR || c === QUOTE || c === 0)) break;
            h = Math.imul(h ^ (fold[c] as number), FNV_PRIME);
            i++;
          }
          const stop = nf === 3 ? NL : COMMA;
          if (c !== COMMA || i === vs || i - vs > maxName) break;
          ve = i;
          vh = h;
          const s = ++i;
          let v = 0;
          for (;;) {
            c = buf[i] as number;
            const d = c - 48;
            if (d >>> 0 > 9) break;
            v = v * 10 + d;
            i++;
          }
          if (c === stop && i > s && i - s <= 15) ts = v < 1e11 ? v * 1000 : v;
          else {
            while (c !== COMMA && c !== NL && c !== CR && c !== QUOTE) c = buf[++i] as number;
            if (c !== stop) break;
            ts = parseTimestampBytes(buf, s, i);
            if (Number.isNaN(ts)) break;
          }
          if (ts < minTs || ts > maxTs) break;
          i++;
          if (contract) {
            const s0 = i;
            for (;;) {
              c = buf[i] as number;
              if (c === COMMA || c === NL || c === CR || c === QUOTE) break;
              i++;
            }
            // empty, or a known source in any case ("live" tested inline: nearly every row's)
            if (c !== COMMA) break;
            if (i > s0) {
              src = isLive(buf, s0, i) ? 0 : sourceCodeBytes(buf, s0, i);
              if (src < 0) break;
            }
            const m0 = ++i;
            let v = 0;
            for (;;) {
              c = buf[i] as number;
              const d = c - 48;
              if (d >>> 0 > 9) break;
              v = v * 10 + d;
              i++;
            }
            if (c !== NL) break;
            if (i > m0) {
              if (i - m0 > 15 || v > maxMessages) break;
              m = v;
            }
            i++;
          }
        }
        for (let f = contract ? nf : head; f < nf; f++) {
          const stop = f === nf - 1 ? NL : COMMA;
          const role = roles[f] as number;
          const s = i;
          if (role === CHANNEL || role === VIEWER) {
            let h = FNV_OFFSET_I32;
            for (;;) {
              const c = buf[i] as number;
              if (c <= COMMA && (c === COMMA || c === NL || c === CR || c === QUOTE || c === 0)) break;
              h = Math.imul(h ^ (fold[c] as number), FNV_PRIME);
              i++;
            }
            if (buf[i] !== stop || i === s || i - s > maxName) break batch;
            if (role === CHANNEL) {
              cs = s;
              ce = i;
              ch = h;
            } else {
              vs = s;
              ve = i;
              vh = h;
            }
          } else if (role === TS || role === MESSAGES) {
            let v = 0;
            let digits = true;
            for (;;) {
              const c = buf[i] as number;
              if (c === COMMA || c === NL || c === CR || c === QUOTE) break;
              const d = c - 48;
              if (d < 0 || d > 9) digits = false;
              v = v * 10 + d;
              i++;
            }
            if (buf[i] !== stop) break batch;
            const len = i - s;
            if (role === TS) {
              if (digits && len > 0 && len <= 15) ts = v < 1e11 ? v * 1000 : v;
              else {
                ts = parseTimestampBytes(buf, s, i);
                if (Number.isNaN(ts)) break batch;
              }
              if (ts < minTs || ts > maxTs) break batch;
            } else if (len > 0) {
              if (!digits || len > 15 || v > maxMessages) break batch;
              m = v;
            }
          } else if (role === VIEWER_ID || role === CHANNEL_ID) {
            let h = ID_SEED;
            for (;;) {
              const c = buf[i] as number;
              if (c <= COMMA && (c === COMMA || c === NL || c === CR || c === QUOTE || c === 0)) break;
              h = Math.imul(h ^ (fold[c] as number), FNV_PRIME);
              i++;
            }
            if (buf[i] !== stop || i - s > maxName) break batch;
            if (role === VIEWER_ID) {
              vis = s;
              vie = i;
              vih = h;
            } else {
              cis = s;
              cie = i;
              cih = h;
            }
          } else {
            for (;;) {
              const c = buf[i] as number;
              if (c === COMMA || c === NL || c === CR || c === QUOTE) break;
              i++;
            }
            if (buf[i] !== stop) break batch;
            if (role === SOURCE && i > s) {
              src = sourceCodeBytes(buf, s, i);
              if (src < 0) break batch;
            }
          }
          i++;
        }
        bail = false;
        p = i;
        if (windowed && !inWindow(ts, this.opts)) {
          outside++;
          continue;
        }
        qcs[n] = cs;
        qce[n] = ce;
        qch[n] = ch;
        qvs[n] = vs;
        qve[n] = ve;
        qvh[n] = vh;
        qts[n] = ts;
        qm[n] = m;
        qsrc[n] = src;
        q.cis[n] = cis;
        q.cie[n] = cie;
        q.cih[n] = cih;
        q.vis[n] = vis;
        q.vie[n] = vie;
        q.vih[n] = vih;
        n++;
      }
      if (this.ids) {
        this.keyedRows(buf, n);
        good += n;
        continue;
      }
      const viewers = b.viewers;
      const channels = b.channels;
      viewers.touchSlots(qvh, n);
      b.room(n);
      // after room(): it may have grown the columns
      const sources = b.extras?.source;
      const channel = b.channel;
      const viewer = b.viewer;
      const tsOut = b.ts;
      const messages = b.messages;
      let r = b.length;
      for (let k = 0; k < n; k++, r++) {
        const cs = qcs[k] as number;
        const ch = qch[k] as number;
        const cl = (qce[k] as number) - cs;
        if (ch !== pch || cl !== pcl || !sameBytes(buf, cs, pcs, cl)) {
          pc = channels.internHashed(buf, cs, cs + cl, ch);
          pcs = cs;
          pcl = cl;
          pch = ch;
        }
        const vs = qvs[k] as number;
        const vh = qvh[k] as number;
        const vl = (qve[k] as number) - vs;
        if (vh !== pvh || vl !== pvl || !sameBytes(buf, vs, pvs, vl)) {
          pv = viewers.internHashed(buf, vs, vs + vl, vh);
          pvs = vs;
          pvl = vl;
          pvh = vh;
        }
        channel[r] = pc;
        viewer[r] = pv;
        tsOut[r] = qts[k] as number;
        messages[r] = qm[k] as number;
        if (sources) sources[r] = qsrc[k] as number;
      }
      b.length = r;
      good += n;
    }
    this.st.good += good;
    this.st.outside += outside;
    this.count = good + outside;
    return p;
  }

  /**
   * The batch's n rows stored with their keys, as `channelKey` / `viewerKey` give them: a row with
   * a Twitch id is keyed by it and its login noted for the key with its instant (`IdSide.note`),
   * one without by its login. A row with the previous row's login and id bytes takes its key and
   * login id without a look-up.
   */
  private keyedRows(buf: Uint8Array, n: number): void {
    const b = this.b;
    const q = this.batch;
    const touch = q.touch;
    for (let k = 0; k < n; k++)
      touch[k] = ((q.vie[k] as number) > (q.vis[k] as number) ? q.vih[k] : q.vh[k]) as number;
    b.viewers.touchSlots(touch, n);
    b.room(n);
    let r = b.length;
    for (let k = 0; k < n; k++, r++) {
      const ts = q.ts[k] as number;
      b.channel[r] = this.key(
        buf,
        'channel',
        q.cs[k] as number,
        q.ce[k] as number,
        q.ch[k] as number,
        q.cis[k] as number,
        q.cie[k] as number,
        q.cih[k] as number,
        ts,
      );
      b.viewer[r] = this.key(
        buf,
        'viewer',
        q.vs[k] as number,
        q.ve[k] as number,
        q.vh[k] as number,
        q.vis[k] as number,
        q.vie[k] as number,
        q.vih[k] as number,
        ts,
      );
      b.ts[r] = ts;
      b.messages[r] = q.m[k] as number;
    }
    b.length = r;
  }

  /** One side's key of a row (login [ls, le) hashed lh, id [is, ie) hashed ih; see `keyedRows`). */
  private key(
    buf: Uint8Array,
    side: 'channel' | 'viewer',
    ls: number,
    le: number,
    lh: number,
    is: number,
    ie: number,
    ih: number,
    ts: number,
  ): number {
    const b = this.b;
    const keys = side === 'channel' ? b.channels : b.viewers;
    const p = this.prev[side];
    const ll = le - ls;
    const il = ie - is;
    const same =
      lh === p.lh &&
      ll === p.ll &&
      il === p.il &&
      (il === 0 || ih === p.ih) &&
      sameBytes(buf, ls, p.ls, ll) &&
      sameBytes(buf, is, p.is, il);
    if (!same) {
      p.ls = ls;
      p.ll = ll;
      p.lh = lh;
      p.is = is;
      p.il = il;
      p.ih = ih;
      if (il === 0) {
        p.key = keys.internHashed(buf, ls, le, lh);
        p.login = -1;
      } else {
        const sc = this.scratch;
        sc[0] = ID_KEY_TAG;
        for (let j = 0; j < il; j++) sc[j + 1] = buf[is + j] as number;
        p.key = keys.internHashed(sc, 0, il + 1, ih);
        p.login = b.idSide(side).logins.internHashed(buf, ls, le, lh);
      }
    }
    if (p.login >= 0) b.idSide(side).note(p.key, p.login, ts);
    return p.key;
  }
}

/** A side's previous stored row in `keyedRows`: its login and id bytes (in `buf`), hashes, key, login id. */
interface KeyedRun {
  ls: number;
  ll: number;
  lh: number;
  is: number;
  il: number;
  ih: number;
  key: number;
  login: number;
}

function keyedRun(): KeyedRun {
  return { ls: 0, ll: -1, lh: 0, is: 0, il: -1, ih: 0, key: 0, login: -1 };
}

/** buf[start, end) is "live" in any case. */
function isLive(buf: Uint8Array, start: number, end: number): boolean {
  return (
    end - start === 4 &&
    ((buf[start] as number) | 32) === 108 &&
    ((buf[start + 1] as number) | 32) === 105 &&
    ((buf[start + 2] as number) | 32) === 118 &&
    ((buf[start + 3] as number) | 32) === 101
  );
}
