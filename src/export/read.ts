/**
 * Reads an analysis folder back (the renderer uses it): the CSVs and summary.json, by column
 * name, so added columns do not break older readers. Both levels come back: each channel's
 * `community` and `group` (-1 for an empty cell: unassigned), the communities with their parent
 * group, and the groups (from groups.csv; a folder written before groups existed gets one group
 * per community).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow, GroupRow } from '../model/atlas.js';
import { parseCsv } from './csv.js';
import { decodeNames, decodeShares } from './lists.js';
import { type AnalysisFolder, FILES, groupsFromCommunities } from './write.js';

async function readOptionalText(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readText(dir: string, name: string): Promise<string> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(
        'export',
        `${join(dir, name)}: not found (is ${dir} an analysis folder? run \`vieweratlas analyze\`)`,
      );
    }
    throw err;
  }
}

/** Parses a CSV with a header into records keyed by column, checking the required columns. */
function records(path: string, text: string, required: readonly string[]): Record<string, string>[] {
  const rows = parseCsv(text);
  const header = rows[0] ?? [];
  for (const col of required) {
    if (!header.includes(col)) throw new InputError('export', `${path}: missing column "${col}"`);
  }
  const out: Record<string, string>[] = [];
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.length === 1 && row[0] === '') continue;
    const rec: Record<string, string> = {};
    for (let j = 0; j < header.length; j++) rec[header[j]!] = row[j] ?? '';
    out.push(rec);
  }
  return out;
}

/** Empty field → NaN (x, y before a layout). */
function num(s: string | undefined): number {
  return s === undefined || s === '' ? Number.NaN : Number(s);
}

/** A community or group id: an empty cell (unassigned) is -1. */
function levelId(s: string | undefined): number {
  return s === undefined || s.trim() === '' ? -1 : Number(s);
}

/** `community_r…` columns → `levels` (only when the file has them). */
function levelsOf(r: Record<string, string>): { levels?: Record<string, number> } {
  let levels: Record<string, number> | undefined;
  for (const [k, v] of Object.entries(r)) {
    if (!k.startsWith('community_')) continue;
    levels ??= {};
    levels[k.slice('community_'.length)] = num(v);
  }
  return levels ? { levels } : {};
}

export async function readAnalysisFolder(dir: string): Promise<AnalysisFolder> {
  // summary.json first: it is written last, so its absence is the clearest message.
  const summaryText = await readText(dir, FILES.summary);
  const [channelsText, communitiesText, groupsText, edgesText] = await Promise.all([
    readText(dir, FILES.channels),
    readText(dir, FILES.communities),
    readOptionalText(dir, FILES.groups),
    readText(dir, FILES.edges),
  ]);
  let summary: AtlasSummary;
  try {
    summary = JSON.parse(summaryText) as AtlasSummary;
  } catch (err) {
    throw new InputError('export', `${join(dir, FILES.summary)}: not valid JSON`, { cause: err });
  }
  const channels: ChannelRow[] = records(join(dir, FILES.channels), channelsText, [
    'channel',
    'community',
  ]).map((r) => ({
    channel: r.channel!,
    community: levelId(r.community),
    label: r.label ?? '',
    // Without a group column (older folders) each community is its own group.
    group: r.group === undefined ? levelId(r.community) : levelId(r.group),
    groupLabel: r.group === undefined ? (r.label ?? '') : (r.group_label ?? ''),
    viewers: num(r.viewers),
    degree: num(r.degree),
    strength: num(r.strength),
    language: r.language ?? '',
    game: r.game ?? '',
    x: num(r.x),
    y: num(r.y),
    ...levelsOf(r),
  }));
  const communities: CommunityRow[] = records(join(dir, FILES.communities), communitiesText, [
    'community',
  ]).map((r) => ({
    community: num(r.community),
    label: r.label ?? '',
    group: r.group === undefined ? num(r.community) : levelId(r.group),
    size: num(r.size),
    viewers: num(r.viewers),
    games: decodeShares(r.games ?? ''),
    languages: decodeShares(r.languages ?? ''),
    topChannels: decodeNames(r.top_channels ?? ''),
  }));
  const groups: GroupRow[] =
    groupsText === undefined
      ? groupsFromCommunities(communities)
      : records(join(dir, FILES.groups), groupsText, ['group']).map((r) => ({
          group: num(r.group),
          label: r.label ?? '',
          size: num(r.size),
          viewers: num(r.viewers),
          communities: num(r.communities),
          games: decodeShares(r.games ?? ''),
          languages: decodeShares(r.languages ?? ''),
          topChannels: decodeNames(r.top_channels ?? ''),
        }));
  const edges: EdgeRow[] = records(join(dir, FILES.edges), edgesText, ['source', 'target', 'weight']).map(
    (r) => ({
      source: r.source!,
      target: r.target!,
      weight: num(r.weight),
      shared: num(r.shared),
    }),
  );
  return { summary, channels, communities, groups, edges };
}
