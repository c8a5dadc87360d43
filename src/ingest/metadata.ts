/**
 * Channel metadata readers: CSV `channel,language,game[,viewer_count]` (also `display_name`,
 * `observed_at`), raw JSON Lines, or Parquet with those columns.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { InputError } from '../errors.js';
import type { ChannelMetadata } from '../model/records.js';
import { readParquetRows, withDuckDB } from '../storage/duckdb.js';
import { fieldString, scanCsv } from './csv-scan.js';
import { type RejectedRow, RejectLog } from './presence.js';
import { decodeMetadataLine, parseTimestamp } from './raw-jsonl.js';

/** Reads a small CSV as string fields: header names (trimmed, lower-cased) then rows with line numbers. */
export async function readCsvRecords(
  path: string,
  onHeader: (names: string[], line: number) => void,
  onRow: (fields: string[], line: number) => void,
): Promise<void> {
  await scanCsv(path, {
    header: (names, line) =>
      onHeader(
        names.map((n) => n.trim().toLowerCase()),
        line,
      ),
    row(buf, starts, ends, count, line) {
      const fields: string[] = [];
      for (let i = 0; i < Math.min(count, starts.length); i++)
        fields.push(fieldString(buf, starts[i] as number, ends[i] as number));
      onRow(fields, line);
    },
  });
}

/** Throws InputError for a missing or empty file. */
export async function assertNonEmpty(path: string, component = 'import'): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new InputError(
      component,
      `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  if (size === 0) throw new InputError(component, `${path}: empty file (0 bytes)`);
}

export interface MetadataReadResult {
  records: ChannelMetadata[];
  rejected: RejectedRow[];
  rejectedCount: number;
}

const COLS = {
  channel: ['channel', 'channel_login', 'login', 'user_login', 'broadcaster'],
  display_name: ['display_name', 'user_name', 'name'],
  language: ['language', 'lang', 'broadcaster_language'],
  game: ['game', 'game_name', 'category'],
  viewer_count: ['viewer_count', 'viewers'],
  observed_at: ['observed_at', 'ts', 'timestamp'],
} as const;

type MetaCol = keyof typeof COLS;

function mapHeader(names: string[]): Record<MetaCol, number> {
  const out = {} as Record<MetaCol, number>;
  for (const [k, aliases] of Object.entries(COLS) as [MetaCol, readonly string[]][])
    out[k] = names.findIndex((n) => aliases.includes(n));
  return out;
}

/** True when a header looks like channel metadata. */
export function isMetadataHeader(names: string[]): boolean {
  const c = mapHeader(names.map((n) => n.trim().toLowerCase()));
  return c.channel >= 0 && (c.language >= 0 || c.game >= 0);
}

/** Builds a record from named string values, or returns the reason it cannot be. */
function toRecord(get: (c: MetaCol) => unknown, defaultObserved: number): ChannelMetadata | string {
  const channel = String(get('channel') ?? '').trim();
  if (!channel) return 'empty channel';
  const m: ChannelMetadata = { channel: channel.toLowerCase(), observed_at: defaultObserved };
  const dn = get('display_name');
  if (dn !== undefined && dn !== null && String(dn) !== '') m.display_name = String(dn);
  const lang = get('language');
  if (lang !== undefined && lang !== null && String(lang).trim() !== '')
    m.language = String(lang).trim().toLowerCase();
  const game = get('game');
  if (game !== undefined && game !== null && String(game).trim() !== '') m.game = String(game).trim();
  const vc = get('viewer_count');
  if (vc !== undefined && vc !== null && String(vc).trim() !== '') {
    const n = Number(vc);
    if (!Number.isFinite(n) || n < 0) return `bad viewer_count "${String(vc).slice(0, 20)}"`;
    m.viewer_count = n;
  }
  const oa = get('observed_at');
  if (oa !== undefined && oa !== null && String(oa).trim() !== '') {
    const t = oa instanceof Date ? oa.getTime() : parseTimestamp(typeof oa === 'number' ? oa : String(oa));
    if (Number.isNaN(t)) return `bad observed_at "${String(oa).slice(0, 30)}"`;
    m.observed_at = t;
  }
  return m;
}

/** Reads one metadata file; InputError when it has no readable row or lacks the columns. */
export async function readChannelMetadataFile(
  path: string,
  opts: { now?: number } = {},
): Promise<MetadataReadResult> {
  await assertNonEmpty(path);
  const now = opts.now ?? Date.now();
  const log = new RejectLog();
  const records: ChannelMetadata[] = [];
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) {
    const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
    let line = 0;
    for await (const text of rl) {
      line++;
      if (!text.trim()) continue;
      // Raw lines carry observed_at; hand-written ones may not.
      let r = decodeMetadataLine(text);
      if (r === 'bad "observed_at" undefined')
        r = decodeMetadataLine(text.replace(/}\s*$/, `,"observed_at":${now}}`));
      if (typeof r === 'string') log.add(path, line, r);
      else records.push(r);
    }
  } else if (lower.endsWith('.parquet')) {
    let rows: Record<string, unknown>[];
    try {
      rows = await withDuckDB((c) => readParquetRows(c, path));
    } catch (err) {
      throw new InputError(
        'import',
        `${path}: not a readable Parquet file (${(err as Error).message.split('\n')[0]})`,
      );
    }
    const names = rows.length ? Object.keys(rows[0] as object) : [];
    const col = mapHeader(names.map((n) => n.toLowerCase()));
    if (col.channel < 0)
      throw new InputError(
        'import',
        `${path}: missing required column channel (columns: ${names.join(',')})`,
      );
    rows.forEach((row, i) => {
      const r = toRecord((c) => (col[c] >= 0 ? row[names[col[c]] as string] : undefined), now);
      if (typeof r === 'string') log.add(path, i + 1, `row ${i + 1}: ${r}`);
      else records.push(r);
    });
  } else {
    let col: Record<MetaCol, number> | undefined;
    await readCsvRecords(
      path,
      (names, line) => {
        col = mapHeader(names);
        if (col.channel < 0 || (col.language < 0 && col.game < 0)) {
          throw new InputError(
            'import',
            `${path}:${line}: missing required columns (need channel,language,game[,viewer_count]; header: ${names.join(',').slice(0, 120)})`,
          );
        }
      },
      (fields, line) => {
        const c = col as Record<MetaCol, number>;
        const r = toRecord((k) => (c[k] >= 0 ? fields[c[k]] : undefined), now);
        if (typeof r === 'string') log.add(path, line, r);
        else records.push(r);
      },
    );
  }
  if (records.length === 0) {
    const first = log.rejected[0];
    throw new InputError(
      'import',
      `${path}: no readable row${first ? ` (${log.count} rejected; first: line ${first.line}: ${first.reason})` : ''}`,
    );
  }
  return { records, rejected: log.rejected, rejectedCount: log.count };
}

/** Reads channel metadata files (CSV, JSON Lines, Parquet) into records. */
export async function readChannelMetadataFiles(
  paths: string[],
  opts: { now?: number } = {},
): Promise<MetadataReadResult> {
  const out: MetadataReadResult = { records: [], rejected: [], rejectedCount: 0 };
  for (const p of paths) {
    const r = await readChannelMetadataFile(p, opts);
    for (const rec of r.records) out.records.push(rec);
    for (const rej of r.rejected) if (out.rejected.length < 100) out.rejected.push(rej);
    out.rejectedCount += r.rejectedCount;
  }
  return out;
}

/** The latest known value of each field per channel (by observed_at; later input wins ties). */
export function latestPerChannel(records: Iterable<ChannelMetadata>): ChannelMetadata[] {
  // Field by field: a later record that does not know a field (a collector's ROOMSTATE carries no
  // game or language) must not erase what an earlier one (discovery) said.
  const sorted = [...records].sort((a, b) => a.observed_at - b.observed_at);
  const best = new Map<string, ChannelMetadata>();
  for (const r of sorted) {
    const cur = best.get(r.channel);
    if (!cur) {
      best.set(r.channel, { ...r });
      continue;
    }
    for (const [k, v] of Object.entries(r) as [keyof ChannelMetadata, unknown][]) {
      if (v !== undefined && v !== null && v !== '') (cur as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return [...best.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
}
