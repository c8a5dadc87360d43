import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PresenceTable } from '../../src/model/presence-table.js';
import type { PresenceRecord, PresenceSource } from '../../src/model/records.js';
import { withDuckDB, writeParquetColumns } from '../../src/storage/duckdb.js';
import { LAYOUT, utcDate } from '../../src/storage/layout.js';
import { tableOf } from '../fixtures/analysis/tables.js';

/**
 * A seeded synthetic presence set with community structure, known bots (nightbot,
 * streamelements), one behavioural bot (in most channels) and membership rows (0 messages),
 * spread over three UTC days and two sources; plus writers for the compacted Parquet layout
 * and an in-memory PresenceTable of the same rows.
 */

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export const FIXTURE_DAY0 = Date.UTC(2026, 10, 23);
const BUCKET = 5 * 60_000;

export function syntheticPresence(
  seed = 1,
  opts: { channels?: number; viewers?: number; communities?: number } = {},
): PresenceRecord[] {
  const random = rng(seed);
  const nChannels = opts.channels ?? 30;
  const nViewers = opts.viewers ?? 600;
  const k = opts.communities ?? 3;
  const channels = Array.from({ length: nChannels }, (_, i) => `chan_${String(i).padStart(2, '0')}`);
  const out: PresenceRecord[] = [];
  const visit = (viewer: string, channel: string) => {
    const buckets = 1 + Math.floor(random() * 4);
    for (let b = 0; b < buckets; b++) {
      const ts = FIXTURE_DAY0 + Math.floor(random() * 3 * 288) * BUCKET;
      const membership = random() < 0.15;
      const source: PresenceSource = random() < 0.8 ? 'live' : 'vod';
      out.push({
        channel,
        viewer,
        ts,
        source,
        messages: membership ? 0 : 1 + Math.floor(random() * 3),
        ...(membership ? { kind: 'membership' as const } : {}),
        ...(source === 'vod' ? { vod_id: `v${Math.floor(random() * 1000)}` } : {}),
      });
    }
  };
  for (let v = 0; v < nViewers; v++) {
    const home = v % k;
    const visits = 1 + Math.floor(random() * 5);
    for (let i = 0; i < visits; i++) {
      const inHome = random() < 0.85;
      const c = inHome ? home + k * Math.floor(random() * (nChannels / k)) : Math.floor(random() * nChannels);
      visit(`viewer_${v}`, channels[Math.min(c, nChannels - 1)] as string);
    }
  }
  for (const bot of ['nightbot', 'streamelements']) for (const c of channels) visit(bot, c);
  for (const c of channels) if (random() < 0.7) visit('lurkbot_9000', c);
  return out;
}

/** The PresenceTable the local engine reads, from the same rows (messages default 1). */
export function toPresenceTable(rows: readonly PresenceRecord[]): PresenceTable {
  return tableOf(rows.map((r) => [r.channel, r.viewer, r.ts, r.messages]));
}

/**
 * Writes rows as compacted presence Parquet under `root` in the real layout
 * (`presence/source=…/dt=…/part-….parquet`; partition columns only in the path), `filesPerPartition`
 * files each. Returns the keys written.
 */
export async function writePresenceParquet(
  root: string,
  rows: readonly PresenceRecord[],
  filesPerPartition = 2,
): Promise<string[]> {
  const parts = new Map<string, PresenceRecord[]>();
  for (const r of rows) {
    const id = `${r.source}|${utcDate(r.ts)}`;
    const list = parts.get(id) ?? [];
    list.push(r);
    parts.set(id, list);
  }
  const keys: string[] = [];
  await withDuckDB(async (conn) => {
    for (const [id, list] of [...parts].sort()) {
      const [source, date] = id.split('|') as [PresenceSource, string];
      for (let f = 0; f < filesPerPartition; f++) {
        const slice = list.filter((_, i) => i % filesPerPartition === f);
        if (slice.length === 0) continue;
        const key = LAYOUT.presencePart(source, date, String(f).padStart(4, '0'));
        const path = join(root, key);
        await mkdir(dirname(path), { recursive: true });
        await writeParquetColumns(
          conn,
          path,
          [
            { name: 'channel', type: 'VARCHAR', values: slice.map((r) => r.channel) },
            { name: 'viewer', type: 'VARCHAR', values: slice.map((r) => r.viewer) },
            { name: 'ts_ms', type: 'BIGINT', values: slice.map((r) => r.ts) },
            { name: 'messages', type: 'INTEGER', values: slice.map((r) => r.messages ?? null) },
            { name: 'vod_id', type: 'VARCHAR', values: slice.map((r) => r.vod_id ?? null) },
            { name: 'kind', type: 'VARCHAR', values: slice.map((r) => r.kind ?? 'chat') },
          ],
          { select: 'channel, viewer, epoch_ms(ts_ms) AS ts, messages, vod_id, kind' },
        );
        keys.push(key);
      }
    }
  });
  return keys;
}

/** Writes rows as a presence CSV (`channel,viewer,ts,source,messages`, ISO instants). */
export async function writePresenceCsv(path: string, rows: readonly PresenceRecord[]): Promise<void> {
  const lines = rows.map(
    (r) => `${r.channel},${r.viewer},${new Date(r.ts).toISOString()},${r.source},${r.messages ?? ''}`,
  );
  await writeFile(path, `channel,viewer,ts,source,messages\n${lines.join('\n')}\n`);
}
