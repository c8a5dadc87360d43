/**
 * The stored parts the direct read takes (presence-parts-direct.ts): their plans (each part's
 * footer: its columns by role, row groups and chunks; why a set does not qualify), the unit of
 * work (a row group, or part of one), a unit's chunks read and decoded (`parquet-format.ts`), and
 * the checks and interning both ways of reading share (a name's checks, a column interned once
 * per dictionary entry or run).
 */
import { open } from 'node:fs/promises';
import { fnv, sameBytes } from './csv-scan.js';
import {
  chunkBuffers,
  chunkSupported,
  type DecodedChunk,
  decodeChunk,
  type IntegerRead,
  integerRead,
  isStringLeaf,
  type ParquetChunk,
  type ParquetLeaf,
  ParquetUnsupported,
  readParquetFooter,
  timestampRead,
} from './parquet-format.js';
import { mapPresenceHeader, PRESENCE_LIMITS, type PresenceBuilder } from './presence-rows.js';

/** The columns read, by role. */
export const ROLES = ['channel', 'viewer', 'ts', 'messages'] as const;

/** The Twitch-id columns: read when a row group holds any (only the column split reads them). */
export const ID_ROLES = ['viewer_id', 'channel_id'] as const;

export type Role = (typeof ROLES)[number] | (typeof ID_ROLES)[number];

/** One part as the direct read takes it (plain data: it is sent to the worker as is). */
export interface PartPlan {
  path: string;
  /** Leaves of the read columns (messages may be absent). */
  leaves: Partial<Record<Role, ParquetLeaf>>;
  ts: IntegerRead;
  messages: IntegerRead | undefined;
  rowGroups: { rows: number; chunks: Partial<Record<Role, ParquetChunk>> }[];
}

/** A row group of a part: the unit the two threads split. */
export interface PartUnit {
  part: number;
  rowGroup: number;
  /** Rows before the row group in all parts (its rows are numbered from here + 1). */
  firstRow: number;
  /** The rows of the row group it takes: [from, to) (the two threads may split one). */
  from: number;
  to: number;
}

export const HIVE_SOURCE = /(?:^|[\\/])source=([^\\/]*)[\\/]/g;

/**
 * The parts' footers checked and planned, or why they do not qualify (the caller then takes
 * DuckDB; the reason is for tests and debugging).
 */
export async function planParts(
  files: string[],
): Promise<{ plans: PartPlan[]; rows: number; ids: boolean } | { why: string }> {
  const plans: PartPlan[] = [];
  let rows = 0;
  let withIds = false;
  for (const path of files) {
    // DuckDB reads the partition value from the path: only the sources analysis knows go here
    const sources = [...path.matchAll(HIVE_SOURCE)].map((m) => (m[1] ?? '').toLowerCase());
    if (sources.length !== 1 || !['live', 'vod', 'import'].includes(sources[0] as string))
      return { why: `${path}: no known source= in its path` };
    const fh = await open(path, 'r');
    try {
      const footer = await readParquetFooter(fh, (await fh.stat()).size);
      const names = footer.leaves.map((l) => l.name);
      const col = mapPresenceHeader(names);
      if (col.source >= 0) return { why: `${path}: a source column beside source=` };
      const leaves: PartPlan['leaves'] = {};
      for (const role of ROLES) {
        const i = col[role];
        if (i < 0) {
          if (role !== 'messages') return { why: `${path}: no ${role} column` };
          continue;
        }
        const leaf = footer.leaves[i] as ParquetLeaf;
        if (leaf.name !== role) return { why: `${path}: ${role} is the column ${leaf.name}` };
        leaves[role] = leaf;
      }
      if (!isStringLeaf(leaves.channel as ParquetLeaf) || !isStringLeaf(leaves.viewer as ParquetLeaf))
        return { why: `${path}: channel or viewer not a string column` };
      const ts = timestampRead(leaves.ts as ParquetLeaf);
      if (!ts) return { why: `${path}: ts not a local-time timestamp in ms or µs` };
      const messages = leaves.messages ? integerRead(leaves.messages) : undefined;
      if (leaves.messages && !messages) return { why: `${path}: messages not an integer column` };
      const rowGroups: PartPlan['rowGroups'] = [];
      for (const rg of footer.rowGroups) {
        const chunks: PartPlan['rowGroups'][number]['chunks'] = {};
        // Twitch ids key rows (see `IdSide`): read where a row group holds any, as strings
        for (const role of ID_ROLES) {
          const i = col[role];
          if (i < 0) continue;
          const leaf = footer.leaves[i] as ParquetLeaf;
          const c = rg.chunks.get(leaf.name);
          if (!c || (c.nullCount >= 0 && c.nullCount >= c.values)) continue;
          if (leaf.name !== role) return { why: `${path}: Twitch ids in the column ${leaf.name}` };
          if (!isStringLeaf(leaf)) return { why: `${path}: ${role} not a string column` };
          if (!chunkSupported(c))
            return { why: `${path}: ${role} has codec ${c.codec}, encodings ${c.encodings.join(',')}` };
          leaves[role] = leaf;
          chunks[role] = c;
          withIds = true;
        }
        for (const role of ROLES) {
          if (!leaves[role]) continue;
          const c = rg.chunks.get(role);
          if (!c) return { why: `${path}: a row group without ${role}` };
          if (!chunkSupported(c))
            return { why: `${path}: ${role} has codec ${c.codec}, encodings ${c.encodings.join(',')}` };
          chunks[role] = c;
        }
        rowGroups.push({ rows: rg.rows, chunks });
        rows += rg.rows;
      }
      plans.push({ path, leaves, ts, messages, rowGroups });
    } catch (err) {
      if (err instanceof ParquetUnsupported) return { why: `${path}: ${err.message}` };
      throw err;
    } finally {
      await fh.close();
    }
  }
  return { plans, rows, ids: withIds };
}

/** Every row group of the plans, in order. */
export function partUnits(plans: PartPlan[]): PartUnit[] {
  const units: PartUnit[] = [];
  let firstRow = 0;
  for (let part = 0; part < plans.length; part++) {
    const groups = (plans[part] as PartPlan).rowGroups;
    for (let rowGroup = 0; rowGroup < groups.length; rowGroup++) {
      const rows = (groups[rowGroup] as { rows: number }).rows;
      units.push({ part, rowGroup, firstRow, from: 0, to: rows });
      firstRow += rows;
    }
  }
  return units;
}

/** Decoding buffers of each role (reused from row group to row group). */
export type Buffers = Record<Role, DecodedChunk>;

export function buffers(): Buffers {
  return {
    channel: chunkBuffers(),
    viewer: chunkBuffers(),
    ts: chunkBuffers(),
    messages: chunkBuffers(),
    viewer_id: chunkBuffers(),
    channel_id: chunkBuffers(),
  };
}

/**
 * Reads a row group's chunks of `roles` (those the part has) in one read and decodes them; ts in
 * epoch ms and messages as the plan says to read them.
 */
export async function decodeUnit(
  plans: PartPlan[],
  unit: PartUnit,
  roles: readonly Role[],
  into: Buffers,
  /** Where a role's integers go instead of its buffer (see `decodeChunk`). */
  targets: Partial<Record<Role, Float64Array>> = {},
): Promise<{ n: number; chunks: Partial<Buffers> }> {
  const plan = plans[unit.part] as PartPlan;
  const rg = plan.rowGroups[unit.rowGroup] as PartPlan['rowGroups'][number];
  const present = roles.filter((r) => rg.chunks[r]);
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const r of present) {
    const c = rg.chunks[r] as ParquetChunk;
    lo = Math.min(lo, c.start);
    hi = Math.max(hi, c.start + c.size);
  }
  const bytes = new Uint8Array(Math.max(0, hi - lo));
  const fh = await open(plan.path, 'r');
  try {
    const { bytesRead } = await fh.read(bytes, 0, bytes.length, lo);
    if (bytesRead !== bytes.length)
      throw new ParquetUnsupported(`${plan.path}: shorter than its footer says`);
  } finally {
    await fh.close();
  }
  const chunks: Partial<Buffers> = {};
  for (const r of present) {
    const ints = r === 'ts' ? plan.ts : r === 'messages' ? plan.messages : undefined;
    chunks[r] = decodeNamed(plan.path, () =>
      decodeChunk(
        bytes,
        lo,
        rg.chunks[r] as ParquetChunk,
        plan.leaves[r] as ParquetLeaf,
        rg.rows,
        into[r],
        ints,
        targets[r],
      ),
    );
  }
  return { n: rg.rows, chunks };
}

/** `decode()`, its `ParquetUnsupported` naming the part. */
export function decodeNamed<T>(path: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ParquetUnsupported) throw new ParquetUnsupported(`${path}: ${err.message}`);
    throw err;
  }
}

/** Where row i's bytes are: [start, length]. */
export function place(c: DecodedChunk, i: number): [number, number] {
  if (c.index) {
    const e = c.index[i] as number;
    return e < 0
      ? [0, 0]
      : [(c.dictStart as Int32Array)[e] as number, (c.dictLen as Int32Array)[e] as number];
  }
  return [c.start[i] as number, c.len[i] as number];
}

/** A name is rejected when empty (or null), longer than the limit, or holding a NUL byte. */
export function badName(bytes: Uint8Array, s: number, l: number): boolean {
  if (l === 0 || l > PRESENCE_LIMITS.maxNameBytes) return true;
  for (let j = s, e = s + l; j < e; j++) if (bytes[j] === 0) return true;
  return false;
}

/**
 * Marks rows (status 2) whose name is bad: per dictionary entry once, else per run of equal
 * names. With `runs`, returns it filled: 1 where a row's bytes differ from the row before's.
 */
export function checkNames(
  c: DecodedChunk,
  n: number,
  status: Uint8Array,
  runs?: Int32Array,
): Int32Array | undefined {
  const bytes = c.bytes;
  if (c.index) {
    const dictStart = c.dictStart as Int32Array;
    const dictLen = c.dictLen as Int32Array;
    const bad = new Uint8Array(dictStart.length);
    for (let e = 0; e < bad.length; e++)
      bad[e] = badName(bytes, dictStart[e] as number, dictLen[e] as number) ? 1 : 0;
    const index = c.index;
    for (let i = 0; i < n; i++) {
      const e = index[i] as number;
      if (e < 0 || bad[e] === 1) status[i] = 2;
    }
    if (runs) for (let i = 0; i < n; i++) runs[i] = i === 0 || index[i] !== index[i - 1] ? 1 : 0;
    return runs;
  }
  const start = c.start;
  const len = c.len;
  let wasBad = false;
  for (let i = 0; i < n; i++) {
    const s = start[i] as number;
    const l = len[i] as number;
    const run = i > 0 && l === len[i - 1] && sameBytes(bytes, s, start[i - 1] as number, l) ? 0 : 1;
    if (runs) runs[i] = run;
    if (run === 1) wasBad = badName(bytes, s, l);
    if (wasBad) status[i] = 2;
  }
  return runs;
}

/** Rows hashed and their table slots read together before the look-ups (see `touchSlots`). */
export const TOUCH_BATCH = 256;

/**
 * The kept rows' (status 0) names into ids at out[at…], in row order: per dictionary entry
 * once; or, with `runs`, once per run (a row equal to the kept row before takes its id), the run
 * starts hashed and their slots touched a batch at a time first.
 */
export function internColumn(
  c: DecodedChunk,
  n: number,
  status: Uint8Array,
  interner: PresenceBuilder['channels'],
  out: Uint32Array,
  at: number,
  runs: Int32Array | undefined,
  hashes: Int32Array,
): void {
  const bytes = c.bytes;
  let k = at;
  if (c.index) {
    const dictStart = c.dictStart as Int32Array;
    const dictLen = c.dictLen as Int32Array;
    const ids = new Int32Array(dictStart.length).fill(-1);
    const index = c.index;
    for (let i = 0; i < n; i++) {
      if (status[i] !== 0) continue;
      const e = index[i] as number;
      let id = ids[e] as number;
      if (id < 0) {
        const s = dictStart[e] as number;
        id = interner.intern(bytes, s, s + (dictLen[e] as number));
        ids[e] = id;
      }
      out[k++] = id;
    }
    return;
  }
  const start = c.start;
  const len = c.len;
  const fold = interner.foldTable;
  let prevKept = -1;
  let prevId = 0;
  for (let b0 = 0; b0 < n; b0 += TOUCH_BATCH) {
    const b1 = Math.min(n, b0 + TOUCH_BATCH);
    // which kept rows start a run (against the kept row before), hashed
    let count = 0;
    let last = prevKept;
    for (let i = b0; i < b1; i++) {
      if (status[i] !== 0) continue;
      const repeat = runs !== undefined && last === i - 1 && runs[i] === 0;
      last = i;
      if (repeat) continue;
      const s = start[i] as number;
      hashes[count++] = fnv(fold, bytes, s, s + (len[i] as number));
    }
    interner.touchSlots(hashes, count);
    let h = 0;
    for (let i = b0; i < b1; i++) {
      if (status[i] !== 0) continue;
      const repeat = runs !== undefined && prevKept === i - 1 && runs[i] === 0;
      prevKept = i;
      if (!repeat) {
        const s = start[i] as number;
        prevId = interner.internHashed(bytes, s, s + (len[i] as number), hashes[h++] as number);
      }
      out[k++] = prevId;
    }
  }
}

/** A zero status per row: every row kept. */
let kept = new Uint8Array(0);

export function allKept(n: number): Uint8Array {
  if (kept.length < n) kept = new Uint8Array(n);
  return kept;
}

/** An id the DuckDB read would trim (it takes `trim(viewer_id)`): a space or control byte, or non-ASCII, at an end. */
export function untrimmed(bytes: Uint8Array, s: number, l: number): boolean {
  const a = bytes[s] as number;
  const z = bytes[s + l - 1] as number;
  return a <= 0x20 || a >= 0x7f || z <= 0x20 || z >= 0x7f;
}
