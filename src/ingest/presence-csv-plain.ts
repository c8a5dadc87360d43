/**
 * The fast path of the CSV presence read: one pass over each plain record's bytes that finds
 * the fields, hashes and checks the names, parses the instant and the count, and stores the row.
 * The general path (`readPresenceCsv`'s `row`) scans a record first and then goes over each
 * field again (hash, name checks, number parsing); on a 16M-row file those extra passes were
 * most of the read. Anything this path does not handle itself — a quote, a CR, a field count
 * other than the header's, an empty or over-long name, a NUL byte, an instant that is not epoch
 * digits or ISO-8601 bytes, a value out of range — it declines, and the general path reads that
 * record (and rejects it, with its reason, where it must). So both paths keep the same rows.
 */
import { FNV_OFFSET, FNV_PRIME, parseTimestampBytes } from './csv-scan.js';
import {
  type FileStats,
  inWindow,
  PRESENCE_LIMITS,
  type PresenceBuilder,
  type PresenceReadOptions,
  sourceCodeBytes,
} from './presence-rows.js';

/** Records parsed before their rows are stored (see `rows`). */
const BATCH = 32;

const NL = 10;
const CR = 13;
const COMMA = 44;

/** What each field of a record is (0: a column analysis does not read). */
const CHANNEL = 1;
const VIEWER = 2;
const TS = 3;
const SOURCE = 4;
const MESSAGES = 5;

/** Column indexes of the header, as `mapPresenceHeader` gives them (-1: absent). */
export interface PlainColumns {
  channel: number;
  viewer: number;
  ts: number;
  source: number;
  messages: number;
  channel_id: number;
  viewer_id: number;
}

/**
 * A fast path for `PresenceBuilder` rows without extras or Twitch ids (those take the general
 * path), or undefined when the file's columns need the general path anyway.
 */
export function plainPresenceRows(
  header: string[],
  col: PlainColumns,
  b: PresenceBuilder,
  st: FileStats,
  opts: PresenceReadOptions,
  now: number,
): PlainPresenceRows | undefined {
  if (b.extras || col.channel_id >= 0 || col.viewer_id >= 0) return undefined;
  if (b.channels.foldTable !== b.viewers.foldTable) return undefined;
  const roles = new Uint8Array(header.length);
  roles[col.channel] = CHANNEL;
  roles[col.viewer] = VIEWER;
  roles[col.ts] = TS;
  if (col.source >= 0) roles[col.source] = SOURCE;
  if (col.messages >= 0) roles[col.messages] = MESSAGES;
  return new PlainPresenceRows(roles, b, st, opts, now);
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
  };

  constructor(
    private readonly roles: Uint8Array,
    private readonly b: PresenceBuilder,
    private readonly st: FileStats,
    private readonly opts: PresenceReadOptions,
    now: number,
  ) {
    this.maxTs = now + PRESENCE_LIMITS.futureToleranceMs;
    this.windowed = opts.windowStart !== undefined || opts.windowEnd !== undefined;
  }

  /** Consumes the records of buf[pos, end) it can; returns where it stopped. */
  rows(buf: Uint8Array, pos: number, end: number): number {
    const roles = this.roles;
    const nf = roles.length;
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
    const q = this.batch;
    let bail = false;
    while (!bail && p < stopAt) {
      // A batch of records is parsed first, then their names' table slots are read in one go
      // (the viewer table is far bigger than the caches: the misses then overlap instead of
      // queueing), then the rows are stored in order — the ids are those of one row at a time.
      let n = 0;
      batch: while (n < BATCH && p < stopAt) {
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
        for (let f = 0; f < nf; f++) {
          const stop = f === nf - 1 ? NL : COMMA;
          const role = roles[f] as number;
          const s = i;
          if (role === CHANNEL || role === VIEWER) {
            let h = FNV_OFFSET;
            for (;;) {
              const c = buf[i] as number;
              if (c <= COMMA && (c === COMMA || c === NL || c === CR || c === 0)) break;
              h = Math.imul(h ^ (fold[c] as number), FNV_PRIME);
              i++;
            }
            if (buf[i] !== stop || i === s || i - s > maxName) break batch;
            if (role === CHANNEL) {
              cs = s;
              ce = i;
              ch = h | 0;
            } else {
              vs = s;
              ve = i;
              vh = h | 0;
            }
          } else if (role === TS || role === MESSAGES) {
            let v = 0;
            let digits = true;
            for (;;) {
              const c = buf[i] as number;
              if (c === COMMA || c === NL || c === CR) break;
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
          } else {
            for (;;) {
              const c = buf[i] as number;
              if (c === COMMA || c === NL || c === CR) break;
              i++;
            }
            if (buf[i] !== stop) break batch;
            if (role === SOURCE && i > s && sourceCodeBytes(buf, s, i) < 0) break batch;
          }
          i++;
        }
        bail = false;
        p = i;
        if (windowed && !inWindow(ts, this.opts)) {
          outside++;
          continue;
        }
        q.cs[n] = cs;
        q.ce[n] = ce;
        q.ch[n] = ch;
        q.vs[n] = vs;
        q.ve[n] = ve;
        q.vh[n] = vh;
        q.ts[n] = ts;
        q.m[n] = m;
        n++;
      }
      b.viewers.touchSlots(q.vh, n);
      for (let k = 0; k < n; k++) {
        const cs = q.cs[k] as number;
        const ce = q.ce[k] as number;
        const ch = q.ch[k] as number;
        const vs = q.vs[k] as number;
        const ve = q.ve[k] as number;
        const vh = q.vh[k] as number;
        b.room();
        const r = b.length++;
        const cl = ce - cs;
        if (ch !== pch || cl !== pcl || !sameBytes(buf, cs, pcs, cl)) {
          pc = b.channels.internHashed(buf, cs, ce, ch);
          pcs = cs;
          pcl = cl;
          pch = ch;
        }
        const vl = ve - vs;
        if (vh !== pvh || vl !== pvl || !sameBytes(buf, vs, pvs, vl)) {
          pv = b.viewers.internHashed(buf, vs, ve, vh);
          pvs = vs;
          pvl = vl;
          pvh = vh;
        }
        b.channel[r] = pc;
        b.viewer[r] = pv;
        b.ts[r] = q.ts[k] as number;
        b.messages[r] = q.m[k] as number;
      }
      good += n;
    }
    this.st.good += good;
    this.st.outside += outside;
    this.count = good + outside;
    return p;
  }
}

function sameBytes(buf: Uint8Array, a: number, b: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (buf[a + k] !== buf[b + k]) return false;
  return true;
}
