/**
 * Writes an analysis folder: channels.csv, communities.csv, groups.csv, edges.csv, the same four
 * as Parquet, atlas.gexf and summary.json. Every file is written to a temp name and renamed, so a reader
 * never sees a half-written file. Same rows ⇒ byte-identical CSV (numbers go through
 * `formatNumber`, row order is the caller's).
 */
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow, GroupRow } from '../model/atlas.js';
import type { ProgressFn } from '../model/progress.js';
import { sqlString, withDuckDB } from '../storage/duckdb.js';
import {
  type ByteSink,
  removeSoon,
  replaceFile,
  tempPathFor,
  writeBytesAtomic,
  writeTextAtomic,
} from './atomic.js';
import { csvField, csvLine, formatNumber } from './csv.js';
import type { EdgeFiles } from './edge-files.js';
import {
  EDGE_COLUMNS,
  type EdgeEndpoints,
  type PreparedEdges,
  prepareEdges,
  writeEdgeCsvRow,
} from './edge-index.js';
import { NULL_NAME, type ParquetColumn, writeParquet } from './parquet-write.js';

export { EDGE_COLUMNS };

import { GexfHeadTooLong, writeGexf, writeGexfHeadInto } from './gexf.js';
import { encodeNames, encodeShares } from './lists.js';

/** What an analysis folder holds: both levels of the hierarchy (groups ⊃ communities ⊃ channels). */
export interface AnalysisFolder {
  summary: AtlasSummary;
  channels: ChannelRow[];
  /** Fine communities; unassigned channels (community -1) are in none. */
  communities: CommunityRow[];
  /** Top-level groups. */
  groups: GroupRow[];
  edges: EdgeRow[];
}

/** What `writeAnalysisFolder` takes: `groups` may be left out (then each community is its own group). */
export type AnalysisFolderInput = Omit<AnalysisFolder, 'groups'> & { groups?: GroupRow[] };

export interface WriteOptions {
  /** Also write the tables as Parquet (default true). */
  parquet?: boolean;
  /** Also write atlas.gexf (default true). */
  gexf?: boolean;
  onProgress?: ProgressFn;
  /** Edge endpoints as row numbers in `channels` (saves a name lookup per edge on big graphs). */
  edgeEndpoints?: EdgeEndpoints;
  /**
   * The edge files are being written elsewhere (`spawnEdgeFilesWorker`, from the graph, while
   * communities were detected): wait for them instead of writing edges.csv/.parquet, and use
   * their GEXF edge section. `part` settles once edges.csv and that section are written, `done`
   * once all are; `parquet`: that writer writes edges.parquet too. `nodeIds[row]` is the graph
   * node index of each channel row.
   */
  edgeFiles?: {
    part?: Promise<EdgeFiles>;
    done: Promise<EdgeFiles>;
    parquet?: boolean;
    nodeIds: Int32Array;
  };
  /** Called after the other files and before summary.json (so it can carry the export time). */
  beforeSummary?: () => void;
}

export const FILES = {
  channels: 'channels.csv',
  communities: 'communities.csv',
  groups: 'groups.csv',
  edges: 'edges.csv',
  gexf: 'atlas.gexf',
  summary: 'summary.json',
} as const;

export const CHANNEL_COLUMNS = [
  'channel',
  'community',
  'label',
  'group',
  'group_label',
  'viewers',
  'degree',
  'strength',
  'language',
  'game',
  'x',
  'y',
] as const;
export const COMMUNITY_COLUMNS = [
  'community',
  'label',
  'group',
  'size',
  'viewers',
  'games',
  'languages',
  'top_channels',
] as const;
export const GROUP_COLUMNS = [
  'group',
  'label',
  'size',
  'viewers',
  'communities',
  'games',
  'languages',
  'top_channels',
] as const;

type Table = 'channels' | 'communities' | 'groups' | 'edges';

/** DuckDB column types of the CSVs, so the Parquet copies are typed (not sniffed). */
export const PARQUET_SCHEMAS: Record<Table, Record<string, string>> = {
  channels: {
    channel: 'VARCHAR',
    community: 'INTEGER',
    label: 'VARCHAR',
    group: 'INTEGER',
    group_label: 'VARCHAR',
    viewers: 'DOUBLE',
    degree: 'INTEGER',
    strength: 'DOUBLE',
    language: 'VARCHAR',
    game: 'VARCHAR',
    x: 'DOUBLE',
    y: 'DOUBLE',
  },
  communities: {
    community: 'INTEGER',
    label: 'VARCHAR',
    group: 'INTEGER',
    size: 'INTEGER',
    viewers: 'DOUBLE',
    games: 'VARCHAR',
    languages: 'VARCHAR',
    top_channels: 'VARCHAR',
  },
  groups: {
    group: 'INTEGER',
    label: 'VARCHAR',
    size: 'INTEGER',
    viewers: 'DOUBLE',
    communities: 'INTEGER',
    games: 'VARCHAR',
    languages: 'VARCHAR',
    top_channels: 'VARCHAR',
  },
  edges: { source: 'VARCHAR', target: 'VARCHAR', weight: 'DOUBLE', shared: 'DOUBLE' },
};

/** The hierarchy level keys of the rows (`r0.5`, …), in first-seen order. */
export function levelKeys(channels: readonly ChannelRow[]): string[] {
  const keys = new Set<string>();
  for (const c of channels) for (const k of Object.keys(c.levels ?? {})) keys.add(k);
  return [...keys];
}

/** A community or group id as a cell: unassigned (-1, or unknown) is an empty cell. */
function levelId(id: number): string {
  return Number.isInteger(id) && id >= 0 ? String(id) : '';
}

/** A table as the CSV holds it: its header and each row's cells (before CSV quoting). */
interface TableCells {
  header: string[];
  rows: string[][];
}

function channelCells(channels: readonly ChannelRow[]): TableCells {
  const levels = levelKeys(channels);
  return {
    header: [...CHANNEL_COLUMNS, ...levels.map((k) => `community_${k}`)],
    rows: channels.map((c) => [
      c.channel,
      levelId(c.community),
      c.label,
      levelId(c.group),
      c.groupLabel,
      formatNumber(c.viewers),
      String(c.degree),
      formatNumber(c.strength),
      c.language,
      c.game,
      formatNumber(c.x),
      formatNumber(c.y),
      ...levels.map((k) => formatNumber(c.levels?.[k] ?? Number.NaN)),
    ]),
  };
}

function communityCells(communities: readonly CommunityRow[]): TableCells {
  return {
    header: [...COMMUNITY_COLUMNS],
    rows: communities.map((c) => [
      String(c.community),
      c.label,
      levelId(c.group),
      String(c.size),
      formatNumber(c.viewers),
      encodeShares(c.games),
      encodeShares(c.languages),
      encodeNames(c.topChannels),
    ]),
  };
}

function groupCells(groups: readonly GroupRow[]): TableCells {
  return {
    header: [...GROUP_COLUMNS],
    rows: groups.map((g) => [
      String(g.group),
      g.label,
      String(g.size),
      formatNumber(g.viewers),
      String(g.communities),
      encodeShares(g.games),
      encodeShares(g.languages),
      encodeNames(g.topChannels),
    ]),
  };
}

function writeCsvCells(write: (s: string) => void, t: TableCells): void {
  write(csvLine(t.header));
  for (const r of t.rows) write(csvLine(r));
}

/**
 * A table's Parquet twin from the cells its CSV holds, typed by `PARQUET_SCHEMAS` as DuckDB reads
 * that CSV (`read_csv` with those column types and `nullstr = ''`): an empty cell is null, a
 * VARCHAR the cell itself, an INTEGER or DOUBLE the number the cell prints — so the Parquet holds
 * exactly what the CSV holds. Our own writer: the folder's small tables need no DuckDB.
 */
function writeCellsParquet(path: string, table: Exclude<Table, 'edges'>, t: TableCells): void {
  const types: Record<string, string> = PARQUET_SCHEMAS[table];
  const enc = new TextEncoder();
  const columns: ParquetColumn[] = t.header.map((name, j) => {
    const type = types[name] ?? (name.startsWith('community_') ? 'INTEGER' : undefined);
    if (type === 'VARCHAR') {
      const ids = new Map<string, number>();
      const names: Uint8Array[] = [];
      const index = new Uint32Array(t.rows.length);
      t.rows.forEach((r, i) => {
        const cell = r[j]!;
        if (cell === '') {
          index[i] = NULL_NAME;
          return;
        }
        let id = ids.get(cell);
        if (id === undefined) {
          id = names.length;
          ids.set(cell, id);
          names.push(enc.encode(cell));
        }
        index[i] = id;
      });
      return { name, kind: 'names', names, index, nullable: true };
    }
    const values = Float64Array.from(t.rows, (r) => (r[j] === '' ? Number.NaN : Number(r[j])));
    if (type === 'INTEGER') return { name, kind: 'ints', values };
    if (type === 'DOUBLE') return { name, kind: 'doubles', values, dictionary: false };
    throw new Error(`internal: ${table}.parquet: no type for column ${name}`);
  });
  const tmp = tempPathFor(path);
  try {
    writeParquet(tmp, columns, t.rows.length);
    replaceFile(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Groups for a folder that has none (older folders, callers with one level): each community is its
 * own group, with its label and shares.
 */
export function groupsFromCommunities(communities: readonly CommunityRow[]): GroupRow[] {
  return communities.map((c) => ({
    group: c.community,
    label: c.label,
    size: c.size,
    viewers: c.viewers,
    communities: 1,
    games: c.games,
    languages: c.languages,
    topChannels: c.topChannels,
  }));
}

/** edges.csv: endpoints pre-encoded once per channel, weights pre-formatted (millions of rows). */
export function edgesCsv(
  sink: ByteSink,
  channels: readonly ChannelRow[],
  edges: readonly EdgeRow[],
  prepared: PreparedEdges = prepareEdges(channels, edges),
): void {
  sink.text(csvLine(EDGE_COLUMNS));
  const enc = new TextEncoder();
  const nameBytes = channels.map((c) => enc.encode(csvField(c.channel)));
  const { source, target, weight } = prepared;
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i]!;
    const s = source[i]!;
    const t = target[i]!;
    writeEdgeCsvRow(
      sink,
      s >= 0 ? nameBytes[s]! : enc.encode(csvField(e.source)),
      t >= 0 ? nameBytes[t]! : enc.encode(csvField(e.target)),
      weight[i]!,
      e.shared,
    );
  }
}

/** Writes every file of the folder; returns the paths written. */
export async function writeAnalysisFolder(
  dir: string,
  input: AnalysisFolderInput,
  options: WriteOptions = {},
): Promise<string[]> {
  const folder: AnalysisFolder = {
    ...input,
    groups: input.groups ?? groupsFromCommunities(input.communities),
  };
  const { parquet = true, gexf = true, onProgress, beforeSummary } = options;
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const text = (name: string, fill: (write: (s: string) => void) => void) => {
    onProgress?.(`export: ${name}`);
    const path = join(dir, name);
    writeTextAtomic(path, fill);
    written.push(path);
  };
  const cells = {
    channels: channelCells(folder.channels),
    communities: communityCells(folder.communities),
    groups: groupCells(folder.groups),
  };
  text(FILES.channels, (w) => writeCsvCells(w, cells.channels));
  text(FILES.communities, (w) => writeCsvCells(w, cells.communities));
  text(FILES.groups, (w) => writeCsvCells(w, cells.groups));
  const meta = {
    description: `ViewerAtlas channel overlap: ${folder.channels.length} channels, ${folder.summary.counts.edges} edges, ${folder.communities.length} communities in ${folder.groups.length} groups`,
    date: folder.summary.createdAt.slice(0, 10),
  };
  // edges.parquet: from edges.csv by DuckDB, unless the edge writer makes it
  let edgesByDuckDB = true;
  let writeGexfFile: () => void;
  let cleanup = () => {};
  let edgesParquet = async () => {};
  if (options.edgeFiles) {
    onProgress?.('export: edges (worker)');
    const edgeFiles = options.edgeFiles;
    const files = await (edgeFiles.part ?? edgeFiles.done);
    written.push(files.edgesCsv);
    // edges.parquet from edges.csv below with the others, unless the edge writer makes it
    if (parquet && (edgeFiles.parquet || files.edgesParquet)) {
      edgesByDuckDB = false;
      edgesParquet = async () => {
        const all = await edgeFiles.done;
        if (all.edgesParquet) written.push(all.edgesParquet);
      };
    }
    const part = files.gexfEdgesPart;
    const from = files.gexfEdgesFrom ?? 0;
    let placed = false;
    cleanup = () => {
      if (part && !placed) removeSoon(part);
    };
    const nodeIds = options.edgeFiles.nodeIds;
    writeGexfFile = () => {
      if (!gexf || !part) return;
      onProgress?.(`export: ${FILES.gexf}`);
      const path = join(dir, FILES.gexf);
      // the head into the room the edge writer left in front of its section, else the section
      // copied behind the head
      if (from > 0 && headIntoRoom(part, from, folder.channels, meta, nodeIds)) {
        replaceFile(part, path);
        placed = true;
      } else {
        writeBytesAtomic(path, (sink) =>
          writeGexf(sink, folder.channels, [], meta, { nodeIds, edgesPart: part, edgesFrom: from }),
        );
      }
      written.push(path);
    };
  } else {
    const prepared = prepareEdges(folder.channels, folder.edges, options.edgeEndpoints);
    onProgress?.(`export: ${FILES.edges}`);
    writeBytesAtomic(join(dir, FILES.edges), (sink) =>
      edgesCsv(sink, folder.channels, folder.edges, prepared),
    );
    written.push(join(dir, FILES.edges));
    writeGexfFile = () => {
      if (!gexf) return;
      onProgress?.(`export: ${FILES.gexf}`);
      writeBytesAtomic(join(dir, FILES.gexf), (sink) =>
        writeGexf(sink, folder.channels, folder.edges, meta, prepared),
      );
      written.push(join(dir, FILES.gexf));
    };
  }
  try {
    if (parquet && edgesByDuckDB) {
      // DuckDB converts edges.csv to Parquet on its own threads while the GEXF is written here.
      written.push(...(await csvToParquet(dir, ['edges'], [], writeGexfFile)));
    } else {
      writeGexfFile();
    }
    if (parquet) {
      for (const table of ['channels', 'communities', 'groups'] as const) {
        const path = join(dir, `${table}.parquet`);
        writeCellsParquet(path, table, cells[table]);
        written.push(path);
      }
      onProgress?.('export: parquet');
    }
  } finally {
    cleanup();
  }
  await edgesParquet();
  beforeSummary?.();
  text(FILES.summary, (w) => w(`${JSON.stringify(folder.summary, null, 2)}\n`));
  return written;
}

/**
 * Copies the CSVs just written to Parquet with DuckDB (typed columns, ZSTD): its CSV reader
 * is multi-threaded C++, far faster than appending millions of rows from JS, and the Parquet
 * holds exactly what the CSV holds.
 */
async function csvToParquet(
  dir: string,
  names: readonly Table[],
  levels: string[],
  meanwhile: () => void,
): Promise<string[]> {
  const targets = names.map((name) => join(dir, `${name}.parquet`));
  const temps = targets.map(tempPathFor);
  // One multi-statement run, so all the copies proceed without needing the JS event loop.
  const sql = names
    .map((name, i) => {
      const schema: Record<string, string> = { ...PARQUET_SCHEMAS[name] };
      if (name === 'channels') for (const k of levels) schema[`community_${k}`] = 'INTEGER';
      const columns = Object.entries(schema)
        .map(([k, t]) => `${sqlString(k)}: ${sqlString(t)}`)
        .join(', ');
      const query =
        `SELECT * FROM read_csv(${sqlString(join(dir, `${name}.csv`))}, header = true, delim = ',', quote = '"', ` +
        `escape = '"', columns = {${columns}}, nullstr = '', auto_detect = false)`;
      // LZ4: a third of ZSTD's write time on millions of edges, for slightly bigger files.
      return `COPY (${query}) TO ${sqlString(temps[i]!)} (FORMAT parquet, COMPRESSION lz4);`;
    })
    .join('\n');
  try {
    await withDuckDB(async (conn) => {
      // The statement is queued to DuckDB's threads before `meanwhile` blocks this one.
      const copying = conn.run(sql);
      try {
        meanwhile();
      } finally {
        await copying;
      }
    });
    targets.forEach((target, i) => {
      replaceFile(temps[i]!, target);
    });
  } finally {
    for (const tmp of temps) rmSync(tmp, { force: true });
  }
  return targets;
}

/** `writeGexfHeadInto` the edge writer's file; false (the room's bytes left as they are) when the head does not fit. */
function headIntoRoom(
  file: string,
  room: number,
  channels: readonly ChannelRow[],
  meta: { description: string; date: string },
  nodeIds: Int32Array,
): boolean {
  const fd = openSync(file, 'r+');
  try {
    writeGexfHeadInto(fd, room, channels, meta, nodeIds);
    return true;
  } catch (err) {
    if (err instanceof GexfHeadTooLong) return false;
    throw err;
  } finally {
    closeSync(fd);
  }
}
