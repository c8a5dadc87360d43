/**
 * The column split of the two-thread stored-parts read (no window, every row kept): this thread
 * decodes and interns the viewers of every row group (presence-parts-viewers.ts), the worker
 * (`parts-direct-worker.ts`) the channels, instants and counts (`readNumberColumns`), both into
 * one set of shared columns at the rows' own places; while ahead, the worker also decodes viewer
 * columns for this thread (parts-handoff.ts). A thread that meets a row not to keep stops both,
 * and the caller reads the parts by rows.
 */
import type { ExportedNames } from './csv-scan.js';
import { type DecodedChunk, loadZstd } from './parquet-format.js';
import {
  claimHere,
  claimThere,
  type HandedColumn,
  type HandedViewers,
  handedBuffers,
  ViewerHandoff,
  viewerClaims,
} from './parts-handoff.js';
import {
  allKept,
  type Buffers,
  badName,
  buffers,
  checkNames,
  decodeUnit,
  internColumn,
  type PartPlan,
  type PartUnit,
  place,
  untrimmed,
} from './presence-parts-decode.js';
import {
  type ColumnRuns,
  internKeyedRuns,
  internRuns,
  type KeyedViewers,
  keyedViewers,
  noteKeyedRows,
  type ViewerRunScratch,
  viewerRunScratch,
  viewerRuns,
} from './presence-parts-viewers.js';
import {
  type ColumnViews,
  type ExportedIdSide,
  type FileStats,
  type IdSide,
  PRESENCE_LIMITS,
  type PresenceBuilder,
  type PresenceReadOptions,
  sharedColumns,
} from './presence-rows.js';
import { readBeside, startReadWorker, type WorkerReply } from './read-worker.js';

/**
 * The column split of the two-thread read, for reads without a window: this thread decodes and
 * interns the viewers of every row group, the worker the channels, instants and counts
 * (`readNumberColumns`), both into one set of shared columns at the rows' own places. Neither
 * interns a name twice or merges a viewer table, as splitting the rows would. It holds only when
 * every row is kept: a thread that meets a row to reject raises `stop`, and the caller reads the
 * parts again by rows (undefined here, and nothing kept).
 */
export async function readColumnsInTwo(
  plans: PartPlan[],
  units: PartUnit[],
  total: number,
  b: PresenceBuilder,
  label: string,
  opts: PresenceReadOptions,
): Promise<FileStats | undefined> {
  const start = b.length;
  const viewersBefore = b.viewers.size;
  const idsBefore = b.viewerIds;
  const loginsBefore = idsBefore?.logins.size ?? 0;
  const shared = sharedColumns(start + total);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const withIds = plans.some((p) => p.leaves.viewer_id);
  // the worker decodes viewer columns too while it is ahead (parts-handoff.ts)
  const claims = viewerClaims(units.length);
  const handoff = new ViewerHandoff();
  const started = await startReadWorker<NumbersOutput>(
    new URL('./parts-direct-worker.mjs', import.meta.url),
    {
      mode: 'numbers',
      plans,
      units,
      shared,
      at: start,
      stop,
      claims,
    } satisfies NumbersWorkerInput,
    (note) => handoff.put(note),
  );
  if (!started) return undefined;
  void started.reply.then(() => handoff.close());
  b.adopt(shared);
  b.reserveViewersFor(total);
  // with Twitch ids a viewer's first login is interned too: size that table as the keys' one
  if (withIds) {
    const logins = b.idSide('viewer').logins;
    logins.reserve(logins.size + Math.min(Math.ceil(total / 8), 1 << 22));
  }
  // viewers of rows the one-thread read would not keep may be interned by then: forget them
  const undo = () => {
    b.viewers.rollback(viewersBefore);
    if (idsBefore) idsBefore.logins.rollback(loginsBefore);
    else b.viewerIds = undefined;
    b.truncate(start);
  };
  const keyed = keyedViewers();
  let clean: boolean;
  let there: WorkerReply<NumbersOutput>;
  try {
    ({ here: clean, there } = await readBeside(
      started,
      () =>
        readViewerColumn(plans, units, b, start, stop, keyed, { claims, handoff }, (seen) =>
          opts.onProgress?.(`reading ${label}`, seen, total),
        ),
      opts.onWorkerDone,
    ));
  } catch (err) {
    undo();
    throw err;
  }
  const channels = there.ok?.channels;
  if (!clean || !channels) {
    undo();
    return undefined;
  }
  const map = b.channels.internExported(channels);
  let identity = true;
  for (let i = 0; i < map.length; i++) if (map[i] !== i) identity = false;
  if (!identity) {
    const c = b.channel;
    for (let r = start, e = start + total; r < e; r++) c[r] = map[c[r] as number] as number;
  }
  const channelIds = there.ok?.channelIds;
  if (channelIds) b.idSide('channel').merge(channelIds, map);
  if (keyed.used) noteKeyedRows(b, keyed, start, start + total);
  b.length = start + total;
  return { parallel: true, good: total, bad: 0, outside: 0 };
}

/**
 * The worker's answer in the column split: its channels' names when every row was kept, and
 * their latest logins where rows had Twitch ids.
 */
export interface NumbersOutput {
  channels?: ExportedNames;
  channelIds?: ExportedIdSide;
}

/** What the worker of the column split gets. */
export interface NumbersWorkerInput {
  mode: 'numbers';
  plans: PartPlan[];
  units: PartUnit[];
  /** The shared columns; rows go to `at` + their row number. */
  shared: ColumnViews;
  at: number;
  /** Raised (1) by the thread that meets a row to reject. */
  stop: Int32Array;
  /** Who decodes each row group's viewers (parts-handoff.ts); none: this thread, all of them. */
  claims?: Int32Array;
}

/** This thread's side of the column split: the viewers of every row group. False when stopped. */
async function readViewerColumn(
  plans: PartPlan[],
  units: PartUnit[],
  b: PresenceBuilder,
  at: number,
  stop: Int32Array,
  keyed: KeyedViewers,
  worker: { claims: Int32Array; handoff: ViewerHandoff },
  progress: (seen: number) => void,
): Promise<boolean> {
  await loadZstd();
  const into = buffers();
  const scratch = viewerRunScratch();
  const { claims, handoff } = worker;
  let seen = 0;
  for (let k = 0; k < units.length; k++) {
    const u = units[k] as PartUnit;
    if (Atomics.load(stop, 0) !== 0) return false;
    const row = at + u.firstRow;
    if (!claimHere(claims, k)) {
      // the worker decoded them (or declined: then they are decoded here)
      const h = await handoff.take(k);
      const logins = h?.logins;
      if (logins) {
        const runsOf = (c: HandedColumn) => ({ start: c.runStart, hash: c.runHash });
        if (!h.ids) internRuns(logins, logins.count, runsOf(logins), b.viewers, b.viewer, row);
        else if (!internKeyedRuns(logins, h.ids, runsOf(logins), runsOf(h.ids), b, row, keyed)) {
          Atomics.store(stop, 0, 1);
          return false;
        }
        seen += logins.rows;
        progress(seen);
        continue;
      }
    }
    const { n, chunks } = await decodeUnit(plans, u, ['viewer', 'viewer_id'], into);
    const viewer = chunks.viewer as DecodedChunk;
    const ids = chunks.viewer_id;
    const found = viewerRuns(viewer, ids, n, b.viewers.foldTable, scratch);
    if (ids) {
      // rows keyed by Twitch id, every row kept
      const keys = found?.ids;
      if (
        !found ||
        !keys ||
        !internKeyedRuns(found.logins.names, keys.names, found.logins.runs, keys.runs, b, row, keyed)
      ) {
        Atomics.store(stop, 0, 1);
        return false;
      }
    } else if (found) {
      internRuns(viewer, found.logins.count, found.logins.runs, b.viewers, b.viewer, row);
    } else {
      // a dictionary column (not how DuckDB writes viewers), or a name to reject
      const status = allKept(n);
      const flags = new Int32Array(n);
      checkNames(viewer, n, status, flags);
      if (status.subarray(0, n).some((x) => x !== 0)) {
        status.fill(0, 0, n);
        Atomics.store(stop, 0, 1);
        return false;
      }
      internColumn(viewer, n, status, b.viewers, b.viewer, row, flags, scratch.logins.hash);
    }
    seen += n;
    progress(seen);
  }
  return true;
}

/**
 * The worker's side of the column split: channels (interned into `channels`), instants and
 * counts of every row group into the shared columns. False when stopped or a row is not kept.
 */
export async function readNumberColumns(
  input: NumbersWorkerInput,
  b: PresenceBuilder,
  /** Posts a row group's viewers to the other thread (with `claims`: see parts-handoff.ts). */
  handOver?: (note: HandedViewers, transfer: ArrayBuffer[]) => void,
): Promise<boolean> {
  await loadZstd();
  const channels = b.channels;
  const { plans, units, shared, at, stop, claims } = input;
  const into = buffers();
  // the viewers' own (`decodeUnit` reuses a role's buffers, and the numbers' ids are the channels')
  const viewerInto = buffers();
  const viewerScratch = viewerRunScratch();
  const minTs = PRESENCE_LIMITS.minTs;
  const maxTs = Date.now() + PRESENCE_LIMITS.futureToleranceMs;
  const maxM = PRESENCE_LIMITS.maxMessages;
  let hashes = new Int32Array(0);
  for (let k = 0; k < units.length; k++) {
    const u = units[k] as PartUnit;
    if (Atomics.load(stop, 0) !== 0) return false;
    if (handOver && claims && claimThere(claims, k))
      await handViewers(plans, u, k, viewerInto, viewerScratch, b, handOver);
    const r = at + u.firstRow;
    const rows = (plans[u.part] as PartPlan).rowGroups[u.rowGroup]?.rows ?? 0;
    // the instants straight into their column (kept only when every row is)
    const { n, chunks } = await decodeUnit(plans, u, ['channel', 'ts', 'messages', 'channel_id'], into, {
      ts: shared.ts.subarray(r, r + rows),
    });
    if (hashes.length < n) hashes = new Int32Array(n);
    const T = (chunks.ts as DecodedChunk).values;
    const M = (plans[u.part] as PartPlan).messages ? chunks.messages?.values : undefined;
    const channel = chunks.channel as DecodedChunk;
    const ids = chunks.channel_id;
    if (ids) {
      // rows keyed by Twitch id: dictionaries of both (as DuckDB writes them), every row kept
      const ok =
        channel.index && ids.index
          ? dictionaryRows(channel, ids, n, T, M, { minTs, maxTs, maxM }, b, shared, r)
          : keyedRows(channel, ids, n, T, M, { minTs, maxTs, maxM }, b, shared, r);
      if (!ok) {
        Atomics.store(stop, 0, 1);
        return false;
      }
      continue;
    }
    if (channel.index) {
      // a dictionary (as DuckDB writes channels): every check, count and id in one pass
      if (!dictionaryRows(channel, undefined, n, T, M, { minTs, maxTs, maxM }, b, shared, r)) {
        Atomics.store(stop, 0, 1);
        return false;
      }
      continue;
    }
    const status = allKept(n);
    checkNames(channel, n, status);
    let odd = false;
    for (let i = 0; i < n; i++) {
      const t = T[i] as number;
      const m = M ? (M[i] as number) : 1;
      // a missing count (NaN) is 1
      if (!(t >= minTs && t <= maxTs) || m < 0 || m > maxM || status[i] !== 0) odd = true;
    }
    if (odd) {
      status.fill(0, 0, n);
      Atomics.store(stop, 0, 1);
      return false;
    }
    const out = shared.messages;
    if (M) for (let i = 0; i < n; i++) out[r + i] = Number.isNaN(M[i]) ? 1 : (M[i] as number);
    else out.fill(1, r, r + n);
    internColumn(chunks.channel as DecodedChunk, n, status, channels, shared.channel, r, undefined, hashes);
  }
  return true;
}

/**
 * The worker's share of the other thread's work (parts-handoff.ts): row group `k`'s viewer
 * column (and its Twitch ids) decoded and their runs found as `readViewerColumn` finds them,
 * posted with copies of what that thread reads; declined when a name is bad or the logins are a
 * dictionary without ids (that thread then decodes them, and stops where it should).
 */
async function handViewers(
  plans: PartPlan[],
  u: PartUnit,
  k: number,
  into: Buffers,
  scratch: ViewerRunScratch,
  b: PresenceBuilder,
  handOver: (note: HandedViewers, transfer: ArrayBuffer[]) => void,
): Promise<void> {
  const { n, chunks } = await decodeUnit(plans, u, ['viewer', 'viewer_id'], into);
  const found = viewerRuns(chunks.viewer as DecodedChunk, chunks.viewer_id, n, b.viewers.foldTable, scratch);
  // copies of what the other thread reads (the scratch and the decoded pages are this thread's)
  const copy = ({ names: c, runs, count }: ColumnRuns): HandedColumn => {
    let end = 0;
    for (let i = 0; i < n; i++) end = Math.max(end, (c.start[i] as number) + (c.len[i] as number));
    return {
      bytes: c.bytes.slice(0, end),
      start: c.start.slice(0, n),
      len: c.len.slice(0, n),
      rows: n,
      runStart: runs.start.slice(0, count + 1),
      runHash: runs.hash.slice(0, count),
      count,
    };
  };
  const note: HandedViewers = found
    ? { unit: k, logins: copy(found.logins), ...(found.ids ? { ids: copy(found.ids) } : {}) }
    : { unit: k, declined: true };
  handOver(note, handedBuffers(note));
}

/**
 * The column split's rows of a row group whose channels are a dictionary (as DuckDB writes
 * them), their Twitch ids too where the row group has any: each row checked (its channel's entry,
 * instant and count), its count and channel key stored at out[r + i]; false at the first row not
 * to keep, or an id the DuckDB read would trim. A row's key is its login, or with an id
 * `ID_KEY_TAG` + id, its login then noted for the key with its instant (`IdSide.note`, row by
 * row). Entries are checked once; an entry remembers the id entry it was last seen with, and that
 * pair's key and login, interned where first used.
 */
function dictionaryRows(
  channel: DecodedChunk,
  ids: DecodedChunk | undefined,
  n: number,
  T: Float64Array,
  M: Float64Array | undefined,
  limits: { minTs: number; maxTs: number; maxM: number },
  b: PresenceBuilder,
  shared: ColumnViews,
  r: number,
): boolean {
  const { minTs, maxTs, maxM } = limits;
  const bytes = channel.bytes;
  const index = channel.index as Int32Array;
  const dictStart = channel.dictStart as Int32Array;
  const dictLen = channel.dictLen as Int32Array;
  const idBytes = ids?.bytes as Uint8Array;
  const idIndex = ids?.index;
  const idStart = ids?.dictStart as Int32Array;
  const idLen = ids?.dictLen as Int32Array;
  const entries = dictStart.length;
  // per channel entry: the id entry last seen with it (-2 none yet; -1 a null), its key, login (-1: a login key)
  const withId = new Int32Array(entries).fill(-2);
  const key = new Int32Array(entries);
  const login = new Int32Array(entries);
  const bad = new Uint8Array(entries);
  for (let e = 0; e < entries; e++)
    bad[e] = badName(bytes, dictStart[e] as number, dictLen[e] as number) ? 1 : 0;
  const oc = shared.channel;
  const om = shared.messages;
  for (let i = 0; i < n; i++) {
    const t = T[i] as number;
    // a missing count (NaN) is 1
    const m0 = M ? (M[i] as number) : 1;
    const m = Number.isNaN(m0) ? 1 : m0;
    const e = index[i] as number;
    if (e < 0 || bad[e] === 1 || !(t >= minTs && t <= maxTs) || m < 0 || m > maxM) return false;
    const d = idIndex ? (idIndex[i] as number) : -1;
    if (withId[e] !== d) {
      const ls = dictStart[e] as number;
      const le = ls + (dictLen[e] as number);
      const l0 = d < 0 ? 0 : (idLen[d] as number);
      if (l0 === 0) {
        key[e] = b.channels.intern(bytes, ls, le);
        login[e] = -1;
      } else {
        const s0 = idStart[d] as number;
        if (untrimmed(idBytes, s0, l0)) return false;
        const side = b.idSide('channel');
        key[e] = side.idKey(b.channels, idBytes, s0, s0 + l0);
        login[e] = side.logins.intern(bytes, ls, le);
      }
      withId[e] = d;
    }
    const k = key[e] as number;
    const l = login[e] as number;
    if (l >= 0) (b.channelIds as IdSide).note(k, l, t);
    oc[r + i] = k;
    om[r + i] = m;
  }
  return true;
}

/**
 * `dictionaryRows` with Twitch ids for columns of any encoding (channels PLAIN: many of them in a row
 * group), row by row with `IdSide.key`.
 */
function keyedRows(
  channel: DecodedChunk,
  ids: DecodedChunk,
  n: number,
  T: Float64Array,
  M: Float64Array | undefined,
  limits: { minTs: number; maxTs: number; maxM: number },
  b: PresenceBuilder,
  shared: ColumnViews,
  r: number,
): boolean {
  const { minTs, maxTs, maxM } = limits;
  for (let i = 0; i < n; i++) {
    const t = T[i] as number;
    const m0 = M ? (M[i] as number) : 1;
    const m = Number.isNaN(m0) ? 1 : m0;
    const [ls, ll] = place(channel, i);
    const [is, il] = place(ids, i);
    if (badName(channel.bytes, ls, ll) || !(t >= minTs && t <= maxTs) || m < 0 || m > maxM) return false;
    if (il > 0 && untrimmed(ids.bytes, is, il)) return false;
    shared.channel[r + i] =
      il === 0
        ? b.channels.intern(channel.bytes, ls, ls + ll)
        : b.idSide('channel').key(b.channels, ids.bytes, is, is + il, channel.bytes, ls, ls + ll, t);
    shared.messages[r + i] = m;
  }
  return true;
}
