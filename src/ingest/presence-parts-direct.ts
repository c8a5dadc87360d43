/**
 * The stored-parts read without DuckDB: storage's compacted Parquet parts (Hive layout,
 * `source=…/dt=…/part-….parquet`, as `import` and `compact` write them) are decoded here
 * (`parquet-format.ts`) and their rows checked and interned as `readStoredPresence` does them —
 * the same rows, ids, counts and reject reasons, tested side by side. Names stay bytes in the
 * decoded pages: a channel is interned once per dictionary entry, a viewer once per run of rows
 * (a part holds each viewer’s rows together).
 *
 * Which parts qualify, and a row group's chunks decoded: presence-parts-decode.ts (`planParts`
 * says why a set does not, and the caller reads them through DuckDB). Two threads split the
 * work by columns when no window is asked (presence-parts-columns.ts: viewers here, channels,
 * instants and counts in a worker), which holds while every row is kept; else, or when a row is
 * not, by rows at half of them (a row group may be split), as the DuckDB read splits — this
 * module's row-by-row read (`readUnits`), which also reads one thread's share.
 */
import { type DecodedChunk, loadZstd, ParquetUnsupported } from './parquet-format.js';
import { readColumnsInTwo } from './presence-parts-columns.js';
import {
  buffers,
  checkNames,
  decodeUnit,
  internColumn,
  type PartPlan,
  type PartUnit,
  partUnits,
  place,
  planParts,
  ROLES,
} from './presence-parts-decode.js';
import {
  type ColumnViews,
  type FileStats,
  PRESENCE_LIMITS,
  type PresenceBuilder,
  type PresenceReadOptions,
  type RejectLog,
  storedRowProblem,
} from './presence-rows.js';
import {
  defaultThreads,
  PARALLEL_PARQUET_MIN_ROWS,
  readInTwoThreads,
  startReadWorker,
  type WorkerReadOutput,
} from './read-worker.js';

/** What a read of units carries from one row group to the next. */
class UnitReader {
  private readonly chunks = buffers();
  private status = new Uint8Array(0);
  private hashes = new Int32Array(0);
  private runStarts = new Int32Array(0);
  private readonly minTs = PRESENCE_LIMITS.minTs;
  private readonly maxTs = Date.now() + PRESENCE_LIMITS.futureToleranceMs;
  private readonly ws: number;
  private readonly we: number;
  readonly st: FileStats = { good: 0, bad: 0, outside: 0 };

  constructor(
    private readonly plans: PartPlan[],
    private readonly b: PresenceBuilder,
    private readonly log: RejectLog,
    private readonly label: string,
    opts: PresenceReadOptions,
    /** Rows before this read's first: reject lines count from there. */
    private readonly lineBase: number,
  ) {
    this.ws = opts.windowStart ?? Number.NEGATIVE_INFINITY;
    this.we = opts.windowEnd ?? Number.POSITIVE_INFINITY;
  }

  /** Decodes one row group and stores its kept rows. */
  async read(unit: PartUnit): Promise<void> {
    const { n, chunks } = await decodeUnit(this.plans, unit, ROLES, this.chunks);
    const plan = this.plans[unit.part] as PartPlan;
    const messages = plan.messages ? chunks.messages?.values : undefined;
    this.store(
      unit,
      n,
      chunks.channel as DecodedChunk,
      chunks.viewer as DecodedChunk,
      (chunks.ts as DecodedChunk).values,
      messages,
    );
  }

  private store(
    unit: PartUnit,
    n: number,
    channel: DecodedChunk,
    viewer: DecodedChunk,
    T: Float64Array,
    M: Float64Array | undefined,
  ): void {
    if (this.status.length < n) {
      this.status = new Uint8Array(n);
      this.hashes = new Int32Array(n);
      this.runStarts = new Int32Array(n);
    }
    const status = this.status;
    const { minTs, maxTs, ws, we } = this;
    const maxM = PRESENCE_LIMITS.maxMessages;
    const { from, to } = unit;
    // a missing count is 1, as the DuckDB read's coalesce makes it
    if (M) for (let i = from; i < to; i++) if (Number.isNaN(M[i])) M[i] = 1;
    // rows of the row group outside [from, to) are the other thread's: 3, skipped silently
    status.fill(3, 0, from);
    status.fill(3, to, n);
    for (let i = from; i < to; i++) {
      const t = T[i] as number;
      const m = M ? (M[i] as number) : 1;
      status[i] = t >= minTs && t <= maxTs && m >= 0 && m <= maxM ? 0 : 2;
    }
    checkNames(channel, n, status);
    const viewerRuns = checkNames(viewer, n, status, this.runStarts);
    let keep = 0;
    for (let i = from; i < to; i++) {
      if (status[i] === 2) {
        this.reject(unit, i, channel, viewer, T[i] as number, M ? (M[i] as number) : 1);
        continue;
      }
      const t = T[i] as number;
      if (t >= ws && t < we) keep++;
      else {
        status[i] = 1;
        this.st.outside++;
      }
    }
    const b = this.b;
    const r = b.length;
    if (r + keep > b.channel.length) b.reserve(r + keep);
    let k = r;
    for (let i = from; i < to; i++) {
      if (status[i] !== 0) continue;
      b.ts[k] = T[i] as number;
      b.messages[k] = M ? (M[i] as number) : 1;
      k++;
    }
    internColumn(channel, n, status, b.channels, b.channel, r, undefined, this.hashes);
    internColumn(viewer, n, status, b.viewers, b.viewer, r, viewerRuns, this.hashes);
    b.length = r + keep;
    this.st.good += keep;
  }

  private reject(
    unit: PartUnit,
    i: number,
    channel: DecodedChunk,
    viewer: DecodedChunk,
    ts: number,
    m: number,
  ) {
    this.st.bad++;
    const line = unit.firstRow - this.lineBase + i + 1;
    const reason = `row ${line}: ${storedRowProblem(nameAt(channel, i), nameAt(viewer, i), ts, m, this.maxTs)}`;
    this.log.add(this.label, line, reason);
    this.st.firstBad ??= { file: this.label, line, reason };
  }
}

const utf8 = new TextDecoder();

/** Row i's name as a string ('' for a null). */
function nameAt(c: DecodedChunk, i: number): string {
  const [s, l] = place(c, i);
  return utf8.decode(c.bytes.subarray(s, s + l));
}

/** Reads the units into `b` (this thread). */
export async function readUnits(
  plans: PartPlan[],
  units: PartUnit[],
  b: PresenceBuilder,
  log: RejectLog,
  label: string,
  opts: PresenceReadOptions,
  total: number,
): Promise<FileStats> {
  await loadZstd();
  const lineBase = units[0] ? units[0].firstRow + units[0].from : 0;
  const reader = new UnitReader(plans, b, log, label, opts, lineBase);
  let seen = 0;
  for (const u of units) {
    await reader.read(u);
    seen += u.to - u.from;
    opts.onProgress?.(`reading ${label}`, seen, total);
  }
  return reader.st;
}

/** Options of `readPartsDirect` (those of `readStoredParts`). */
export interface PartsReadOptions extends PresenceReadOptions {
  /** Parts of fewer rows in all are read by one thread; default `PARALLEL_PARQUET_MIN_ROWS`. */
  parallelMinRows?: number;
}

/**
 * Reads the parts into `b` when they qualify (see the module's comment), by two threads when
 * `defaultThreads` (or `opts.threads`) gives two and they hold `parallelMinRows` rows or more;
 * else, with nothing kept, why not (`declined`): they do not qualify, or (`broken`) a page of a
 * part that did cannot be decoded here — a corrupt part, or one DuckDB may still read.
 */
export async function readPartsDirect(
  files: string[],
  label: string,
  b: PresenceBuilder,
  log: RejectLog,
  opts: PartsReadOptions,
): Promise<FileStats | { declined: string; broken: boolean }> {
  if (b.extras || files.length === 0) return { declined: 'rows with extras, or no parts', broken: false };
  const planned = await planParts(files);
  if ('why' in planned) return { declined: planned.why, broken: false };
  const { plans, rows: total, ids } = planned;
  const units = partUnits(plans);
  const start = b.length;
  const logCount = log.count;
  const logKept = log.rejected.length;
  const threads = opts.threads ?? defaultThreads();
  try {
    const two = threads >= 2 && total >= 2 && total >= (opts.parallelMinRows ?? PARALLEL_PARQUET_MIN_ROWS);
    const split = two && opts.windowStart === undefined && opts.windowEnd === undefined;
    if (split) {
      const st = await readColumnsInTwo(plans, units, total, b, label, opts);
      if (st) return st;
    }
    // rows keyed by Twitch id are read here by the column split alone: DuckDB reads the rest
    if (ids)
      return {
        declined: split
          ? 'Twitch ids, and a row the column split does not keep'
          : 'Twitch ids outside the column split (one thread, or a window)',
        broken: false,
      };
    if (two) {
      // this thread: the rows up to half of all, the worker the rest (a row group may be split)
      const firstRows = Math.floor(total / 2);
      const mine: PartUnit[] = [];
      const theirs: PartUnit[] = [];
      for (const u of units) {
        const cut = Math.min(u.to, Math.max(u.from, firstRows - u.firstRow));
        if (cut > u.from) mine.push({ ...u, to: cut });
        if (cut < u.to) theirs.push({ ...u, from: cut });
      }
      const st = await readInTwoThreads(
        b,
        log,
        label,
        total,
        firstRows,
        (shared) =>
          startReadWorker<WorkerReadOutput>(new URL('./parts-direct-worker.mjs', import.meta.url), {
            mode: 'rows',
            plans,
            units: theirs,
            label,
            opts: { windowStart: opts.windowStart, windowEnd: opts.windowEnd },
            shared,
            rowsInAll: total,
          } satisfies PartsWorkerInput),
        () => internalOnUnsupported(readUnits(plans, mine, b, log, label, opts, total)),
        opts.onWorkerDone,
      );
      if (st) return st;
    }
    b.reserve(start + total);
    b.reserveViewersFor(total);
    return await readUnits(plans, units, b, log, label, opts, total);
  } catch (err) {
    if (!(err instanceof ParquetUnsupported)) throw err;
    b.truncate(start);
    log.rejected.length = logKept;
    log.count = logCount;
    return { declined: err.message, broken: true };
  }
}

/** A page this reader cannot take ends the two-thread read as the worker failing would. */
async function internalOnUnsupported(read: Promise<FileStats>): Promise<FileStats> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof ParquetUnsupported) throw new Error(`internal: ${err.message}`);
    throw err;
  }
}

/** What the worker of the two-thread read gets (`parts-direct-worker.ts`). */
export interface PartsWorkerInput {
  mode: 'rows';
  plans: PartPlan[];
  /** Its row groups, in order (its reject lines count from the first one's first row). */
  units: PartUnit[];
  label: string;
  opts: Pick<PresenceReadOptions, 'windowStart' | 'windowEnd'>;
  shared: ColumnViews;
  /** Rows of all parts: its viewer table is sized for them, as this thread's is. */
  rowsInAll: number;
}
