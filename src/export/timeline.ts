/**
 * The timeline's files: `timeline.csv` (window × channel), `timeline-communities.csv` (window ×
 * community, with its event), `timeline-moves.csv`, their Parquet twins, and `timeline.json`
 * (the windows and their figures). Column names are a contract (scripts rely on them).
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TimelineTables } from '../model/timeline.js';
import { sqlString, withDuckDB } from '../storage/duckdb.js';
import { tempPathFor, writeTextAtomic } from './atomic.js';
import { csvLine, formatNumber } from './csv.js';

export const TIMELINE_FILES = {
  channels: 'timeline.csv',
  communities: 'timeline-communities.csv',
  moves: 'timeline-moves.csv',
  summary: 'timeline.json',
} as const;

const SCHEMAS: Record<'channels' | 'communities' | 'moves', Record<string, string>> = {
  channels: {
    window_start: 'TIMESTAMPTZ',
    window_end: 'TIMESTAMPTZ',
    channel: 'VARCHAR',
    community: 'INTEGER',
    group: 'INTEGER',
    label: 'VARCHAR',
    group_label: 'VARCHAR',
    viewers: 'DOUBLE',
  },
  communities: {
    window_start: 'TIMESTAMPTZ',
    window_end: 'TIMESTAMPTZ',
    community: 'INTEGER',
    label: 'VARCHAR',
    size: 'INTEGER',
    viewers: 'DOUBLE',
    group: 'INTEGER',
    group_label: 'VARCHAR',
    event: 'VARCHAR',
    related: 'INTEGER',
  },
  moves: {
    channel: 'VARCHAR',
    window_start: 'TIMESTAMPTZ',
    window_end: 'TIMESTAMPTZ',
    from: 'INTEGER',
    to: 'INTEGER',
  },
};

const iso = (ms: number) => new Date(ms).toISOString();
/** −1 (unassigned, no relation) is an empty cell. */
const id = (n: number) => (n < 0 ? '' : String(n));

export async function writeTimelineFolder(
  dir: string,
  result: TimelineTables,
  parameters: Record<string, unknown>,
): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const win = result.windows.map((w) => [iso(w.start), iso(w.end)] as const);
  const csv = (name: keyof typeof SCHEMAS, file: string, rows: () => Iterable<string[]>) => {
    writeTextAtomic(join(dir, file), (w) => {
      w(csvLine(Object.keys(SCHEMAS[name])));
      for (const r of rows()) w(csvLine(r));
    });
  };
  csv('channels', TIMELINE_FILES.channels, function* () {
    for (const r of result.channels) {
      const [s, e] = win[r.window] as readonly [string, string];
      yield [s, e, r.channel, id(r.community), id(r.group), r.label, r.groupLabel, formatNumber(r.viewers)];
    }
  });
  csv('communities', TIMELINE_FILES.communities, function* () {
    for (const r of result.communities) {
      const [s, e] = win[r.window] as readonly [string, string];
      yield [
        s,
        e,
        String(r.community),
        r.label,
        String(r.size),
        formatNumber(r.viewers),
        id(r.group),
        r.groupLabel,
        r.event,
        id(r.related),
      ];
    }
  });
  csv('moves', TIMELINE_FILES.moves, function* () {
    for (const r of result.moves) {
      const [s, e] = win[r.window] as readonly [string, string];
      yield [r.channel, s, e, String(r.from), String(r.to)];
    }
  });
  const parquet = await toParquet(dir);
  writeTextAtomic(join(dir, TIMELINE_FILES.summary), (w) =>
    w(
      `${JSON.stringify(
        {
          version: 1,
          createdAt: new Date().toISOString(),
          parameters,
          windows: result.windows.map((x) => ({ ...x, start: iso(x.start), end: iso(x.end) })),
          counts: {
            windows: result.windows.length,
            rows: result.channels.length,
            moves: result.moves.length,
            events: Object.fromEntries(
              [...new Set(result.communities.map((c) => c.event))]
                .sort()
                .map((k) => [k, result.communities.filter((c) => c.event === k).length]),
            ),
          },
        },
        null,
        2,
      )}\n`,
    ),
  );
  return [...Object.values(TIMELINE_FILES).map((f) => join(dir, f)), ...parquet];
}

async function toParquet(dir: string): Promise<string[]> {
  const names = ['channels', 'communities', 'moves'] as const;
  const targets = names.map((n) => join(dir, TIMELINE_FILES[n].replace(/\.csv$/, '.parquet')));
  const temps = targets.map(tempPathFor);
  const sql = names
    .map((name, i) => {
      const columns = Object.entries(SCHEMAS[name])
        .map(([k, t]) => `${sqlString(k)}: ${sqlString(t)}`)
        .join(', ');
      return (
        `COPY (SELECT * FROM read_csv(${sqlString(join(dir, TIMELINE_FILES[name]))}, header = true, delim = ',', quote = '"', ` +
        `escape = '"', columns = {${columns}}, nullstr = '', auto_detect = false)) TO ${sqlString(temps[i] as string)} (FORMAT parquet, COMPRESSION zstd);`
      );
    })
    .join('\n');
  try {
    await withDuckDB((conn) => conn.run(sql).then(() => undefined));
    for (const [i, t] of targets.entries()) renameSync(temps[i] as string, t);
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
  return targets;
}
