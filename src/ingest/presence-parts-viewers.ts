/**
 * The viewer side of the column split (presence-parts-columns.ts): the runs of equal names in a
 * row group's viewer column (`keptRuns`, in WebAssembly where it can), interned once per run;
 * with Twitch ids the runs of the login and id columns merged, each run keyed as
 * `PresenceBuilder.viewerKey` keys it, and each key's latest login noted as `IdSide.note` would.
 */
import { type ByteInterner, FNV_OFFSET_I32, FNV_PRIME, sameBytes } from './csv-scan.js';
import { nameRuns, PLAIN_RUNS, type RunOptions } from './name-runs.js';
import type { DecodedChunk } from './parquet-format.js';
import { TOUCH_BATCH, untrimmed } from './presence-parts-decode.js';
import { ID_KEY_TAG, PRESENCE_LIMITS, type PresenceBuilder } from './presence-rows.js';

/**
 * The runs of equal names of a PLAIN column, every row kept: where each starts (`start`, then n)
 * and its hash; their count, or -1 when a name is bad (a row to reject). One pass over the
 * bytes: the run check, the name check and the hash together.
 */
export function keptRuns(
  c: DecodedChunk,
  n: number,
  fold: Uint8Array,
  runs: { start: Int32Array; hash: Int32Array },
  o: RunOptions = PLAIN_RUNS,
): number {
  const bytes = c.bytes;
  const start = c.start;
  const len = c.len;
  const max = PRESENCE_LIMITS.maxNameBytes;
  const rs = runs.start;
  const rh = runs.hash;
  // the same in WebAssembly where it can (name-runs.ts); this loop otherwise
  const fast = nameRuns(bytes, start, len, n, fold, max, rs, rh, o);
  if (fast !== undefined) return fast;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const s = start[i] as number;
    const l = len[i] as number;
    if (i > 0 && l === len[i - 1] && sameBytes(bytes, s, start[i - 1] as number, l)) continue;
    if (l > max || (l === 0 && !o.emptyOk)) return -1;
    let h = o.seed;
    for (let j = s, e = s + l; j < e; j++) {
      const b = bytes[j] as number;
      if (b === 0) return -1;
      h = Math.imul(h ^ (fold[b] as number), FNV_PRIME);
    }
    rs[count] = i;
    rh[count++] = h;
  }
  rs[count] = n;
  return count;
}

/** What `internRuns` and `internKeyedRuns` read of a decoded column: the names' bytes, each row's place in them, the rows. */
export type ViewerBytes = Pick<DecodedChunk, 'bytes' | 'start' | 'len' | 'rows'>;

/** `keptRuns`' runs interned in order (their slots read ahead a batch at a time), ids to out[at…]. */
export function internRuns(
  c: ViewerBytes,
  count: number,
  runs: { start: Int32Array; hash: Int32Array },
  interner: ByteInterner,
  out: Uint32Array,
  at: number,
): void {
  const bytes = c.bytes;
  const start = c.start;
  const len = c.len;
  const rs = runs.start;
  const rh = runs.hash;
  for (let b0 = 0; b0 < count; b0 += TOUCH_BATCH) {
    const b1 = Math.min(count, b0 + TOUCH_BATCH);
    interner.touchSlots(rh.subarray(b0, b1), b1 - b0);
    for (let j = b0; j < b1; j++) {
      const i = rs[j] as number;
      const s = start[i] as number;
      const id = interner.internHashed(bytes, s, s + (len[i] as number), rh[j] as number);
      for (let r = at + i, e = at + (rs[j + 1] as number); r < e; r++) out[r] = id;
    }
  }
}

/** Twitch ids' runs: hashed as their keys (`ID_KEY_TAG`, then the id) are, a missing id allowed. */
export const ID_RUNS: RunOptions = { seed: Math.imul(FNV_OFFSET_I32 ^ ID_KEY_TAG, FNV_PRIME), emptyOk: true };

/**
 * What the viewer side of the column split keeps of rows keyed by Twitch id, for `noteKeyedRows`
 * (which needs their instants, the worker's column): each key's first login in this read, and
 * the runs whose login is another (a rename), in row order.
 */
export interface KeyedViewers {
  used: boolean;
  /** Per key: its first login here (an id of the side's logins) + 1; 0 for a login key. */
  first: Uint32Array;
  otherStart: number[];
  otherEnd: number[];
  otherLogin: number[];
  scratch: Uint8Array;
  merged: { start: Int32Array; hash: Int32Array; loginHash: Int32Array; keyed: Uint8Array };
}

export function keyedViewers(): KeyedViewers {
  return {
    used: false,
    first: new Uint32Array(1024),
    otherStart: [],
    otherEnd: [],
    otherLogin: [],
    scratch: new Uint8Array(PRESENCE_LIMITS.maxNameBytes + 1),
    merged: {
      start: new Int32Array(0),
      hash: new Int32Array(0),
      loginHash: new Int32Array(0),
      keyed: new Uint8Array(0),
    },
  };
}

/**
 * A dictionary column's rows as a PLAIN column's: each row's entry's start and length in `into`
 * (a null has length 0). Its rows are not in byte order then, which `nameRuns` declines and
 * `keptRuns`' own loop takes.
 */
export function plainView(
  c: DecodedChunk,
  n: number,
  into: { start: Int32Array; len: Int32Array },
): DecodedChunk {
  const index = c.index;
  if (!index) return c;
  if (into.start.length < n) {
    into.start = new Int32Array(n);
    into.len = new Int32Array(n);
  }
  const dictStart = c.dictStart as Int32Array;
  const dictLen = c.dictLen as Int32Array;
  const { start, len } = into;
  for (let i = 0; i < n; i++) {
    const e = index[i] as number;
    start[i] = e < 0 ? 0 : (dictStart[e] as number);
    len[i] = e < 0 ? 0 : (dictLen[e] as number);
  }
  return { ...c, index: undefined, start, len };
}

/** Runs of a column: where each starts (then the row count) and its hash. */
export interface Runs {
  start: Int32Array;
  hash: Int32Array;
}

/** A column's names (each row's place in its bytes) and their runs. */
export interface ColumnRuns {
  names: DecodedChunk;
  runs: Runs;
  count: number;
}

/** What `viewerRuns` keeps from row group to row group. */
export interface ViewerRunScratch {
  logins: Runs;
  ids: Runs;
  loginView: { start: Int32Array; len: Int32Array };
  idView: { start: Int32Array; len: Int32Array };
}

export function viewerRunScratch(): ViewerRunScratch {
  const runs = () => ({ start: new Int32Array(0), hash: new Int32Array(0) });
  const view = () => ({ start: new Int32Array(0), len: new Int32Array(0) });
  return { logins: runs(), ids: runs(), loginView: view(), idView: view() };
}

/**
 * A row group's viewers as runs (`keptRuns`), as both threads of the column split find them: the
 * logins, and with Twitch ids the ids' runs too (logins and ids of any encoding, as rows'
 * places). Undefined when a name is bad, or when logins without ids are a dictionary (their
 * reader takes them another way). The runs live in `s` until the next call.
 */
export function viewerRuns(
  viewer: DecodedChunk,
  ids: DecodedChunk | undefined,
  n: number,
  fold: Uint8Array,
  s: ViewerRunScratch,
): { logins: ColumnRuns; ids?: ColumnRuns } | undefined {
  const sized = (r: Runs) => {
    if (r.start.length < n + 1) {
      r.start = new Int32Array(n + 1);
      r.hash = new Int32Array(n);
    }
    return r;
  };
  // sized first: a caller reading a column another way uses its hashes as scratch
  sized(s.logins);
  if (!ids) {
    if (viewer.index) return undefined;
    const count = keptRuns(viewer, n, fold, s.logins);
    return count < 0 ? undefined : { logins: { names: viewer, runs: s.logins, count } };
  }
  const logins = plainView(viewer, n, s.loginView);
  const count = keptRuns(logins, n, fold, s.logins);
  if (count < 0) return undefined;
  const idNames = plainView(ids, n, s.idView);
  const idCount = keptRuns(idNames, n, fold, sized(s.ids), ID_RUNS);
  if (idCount < 0) return undefined;
  return {
    logins: { names: logins, runs: s.logins, count },
    ids: { names: idNames, runs: s.ids, count: idCount },
  };
}

/**
 * A row group's viewers keyed as `PresenceBuilder.viewerKey` keys them, ids to out[at…]: a row
 * with a Twitch id by `ID_KEY_TAG` + id, one without by its login. The runs of either column
 * (`keptRuns`) split the rows into runs of one key and one login, interned once each (their
 * slots read ahead a batch at a time); a key's login is interned where the key is first seen
 * and compared with later runs' logins (a rename is kept for `noteKeyedRows`). False at an id
 * the DuckDB read would trim (then it reads the parts).
 */
export function internKeyedRuns(
  viewer: ViewerBytes,
  ids: ViewerBytes,
  runs: { start: Int32Array; hash: Int32Array },
  idRuns: { start: Int32Array; hash: Int32Array },
  b: PresenceBuilder,
  at: number,
  keyed: KeyedViewers,
): boolean {
  const keys = b.viewers;
  const logins = b.idSide('viewer').logins;
  keyed.used = true;
  const { bytes: vb, start: vs, len: vl } = viewer;
  const { bytes: ib, start: is, len: il } = ids;
  const ra = runs.start;
  const ha = runs.hash;
  const rb = idRuns.start;
  const hb = idRuns.hash;
  const n = viewer.rows;
  let m = keyed.merged;
  if (m.start.length < n + 1) {
    m = {
      start: new Int32Array(n + 1),
      hash: new Int32Array(n),
      loginHash: new Int32Array(n),
      keyed: new Uint8Array(n),
    };
    keyed.merged = m;
  }
  const ms = m.start;
  const mh = m.hash;
  const mk = m.keyed;
  const ml = m.loginHash;
  // the runs of both columns merged: each a run of one login and one id
  let count = 0;
  for (let a = 0, q = 0, cur = 0; cur < n; count++) {
    const ea = ra[a + 1] as number;
    const eb = rb[q + 1] as number;
    const next = Math.min(ea, eb);
    ms[count] = cur;
    const withId = (il[cur] as number) > 0;
    mk[count] = withId ? 1 : 0;
    ml[count] = ha[a] as number;
    mh[count] = withId ? (hb[q] as number) : (ml[count] as number);
    if (ea === next) a++;
    if (eb === next) q++;
    cur = next;
  }
  ms[count] = n;
  const out = b.viewer;
  const sc = keyed.scratch;
  sc[0] = ID_KEY_TAG;
  for (let b0 = 0; b0 < count; b0 += TOUCH_BATCH) {
    const b1 = Math.min(count, b0 + TOUCH_BATCH);
    keys.touchSlots(mh.subarray(b0, b1), b1 - b0);
    for (let j = b0; j < b1; j++) {
      const i = ms[j] as number;
      const ls = vs[i] as number;
      const le = ls + (vl[i] as number);
      let key: number;
      if (mk[j] === 0) key = keys.internHashed(vb, ls, le, mh[j] as number);
      else {
        const s0 = is[i] as number;
        const l0 = il[i] as number;
        if (untrimmed(ib, s0, l0)) return false;
        for (let k = 0; k < l0; k++) sc[k + 1] = ib[s0 + k] as number;
        key = keys.internHashed(sc, 0, l0 + 1, mh[j] as number);
        if (key >= keyed.first.length) {
          const g = new Uint32Array(Math.max(key + 1, keyed.first.length * 2));
          g.set(keyed.first);
          keyed.first = g;
        }
        const f = keyed.first[key] as number;
        if (f === 0) keyed.first[key] = logins.internHashed(vb, ls, le, ml[j] as number) + 1;
        else if (!logins.sameName(f - 1, vb, ls, le)) {
          keyed.otherStart.push(at + i);
          keyed.otherEnd.push(at + (ms[j + 1] as number));
          keyed.otherLogin.push(logins.internHashed(vb, ls, le, ml[j] as number));
        }
      }
      for (let r = at + i, e = at + (ms[j + 1] as number); r < e; r++) out[r] = key;
    }
  }
  return true;
}

/**
 * The latest login of each Twitch-id key the column split read, as `IdSide.note` gives it row by
 * row (by ts; on equal ts the row read last): every row of rows [from, to) with its key's first
 * login, or its rename's.
 */
export function noteKeyedRows(b: PresenceBuilder, keyed: KeyedViewers, from: number, to: number): void {
  const side = b.idSide('viewer');
  side.reserve(b.viewers.size);
  if (keyed.first.length < b.viewers.size) {
    const g = new Uint32Array(b.viewers.size);
    g.set(keyed.first);
    keyed.first = g;
  }
  const first = keyed.first;
  const loginOf = side.loginOf;
  const latest = side.latestTs;
  const viewer = b.viewer;
  const ts = b.ts;
  const { otherStart: os, otherEnd: oe, otherLogin: ol } = keyed;
  let e = 0;
  let next = os.length > 0 ? (os[0] as number) : to;
  for (let r = from; r < to; r++) {
    const k = viewer[r] as number;
    const f = first[k] as number;
    if (f === 0) continue;
    let login = f - 1;
    if (r >= next) {
      while (e < os.length && r >= (oe[e] as number)) e++;
      next = e < os.length ? (os[e] as number) : to;
      if (r >= next) login = ol[e] as number;
    }
    const t = ts[r] as number;
    if (t >= (latest[k] as number)) {
      latest[k] = t;
      loginOf[k] = login;
    }
  }
}
