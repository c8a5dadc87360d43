import type { CommunityRow, GroupRow, Share } from '../model/atlas.js';
import type { ChannelMetadata } from '../model/records.js';
import type { OverlapGraph } from './types.js';

/** Options of `labelCommunities`; every field optional (see `LABEL_DEFAULTS`). */
export interface LabelOptions {
  /** Games named in a label at most. */
  maxGames: number;
  /** Languages named in a label at most. */
  maxLanguages: number;
  /** A game or language is named only with at least this audience-weighted share (the top one too). */
  minShare: number;
  /** Channels listed per community in `topChannels`. */
  topChannels: number;
  /** Games and languages listed (with shares) per community in `games` / `languages`. */
  maxShares: number;
  /** Without metadata, a community is named after this many of its biggest channels. */
  nameChannels: number;
}

export const LABEL_DEFAULTS: LabelOptions = {
  maxGames: 2,
  maxLanguages: 2,
  minShare: 0.15,
  topChannels: 10,
  maxShares: 5,
  nameChannels: 3,
};

/** `a`, `a & b`, `a, b & c`. */
function nameList(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} & ${names[names.length - 1]}`;
}

/** Latest metadata record per lower-cased login. */
function latestByChannel(metadata: readonly ChannelMetadata[]): Map<string, ChannelMetadata> {
  const latest = new Map<string, ChannelMetadata>();
  for (const m of metadata) {
    const key = m.channel.toLowerCase();
    const prev = latest.get(key);
    if (!prev || m.observed_at > prev.observed_at) latest.set(key, m);
  }
  return latest;
}

/** Audience-weighted shares, biggest first, ties by name (so labels never depend on input order). */
function shares(weights: Map<string, number>): Share[] {
  let total = 0;
  for (const w of weights.values()) total += w;
  if (total <= 0) return [];
  return [...weights.entries()]
    .map(([name, w]) => ({ name, share: w / total }))
    .sort((a, b) => b.share - a.share || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Names each community from its members' metadata: the dominant game(s) and language(s) by
 * audience-weighted share, e.g. `VALORANT · en (62%)` (the percentage is the top game's share,
 * shown when one game is named) or `Grand Theft Auto V / Just Chatting · es`. A community with no
 * usable metadata is named after its two or three biggest channels (`xQcOW, Trainwreckstv &
 * ludwig`); duplicate labels get ` · around <top channel>` appended. Channel weight: its audience
 * where known, else its strength. Every community in `membership` gets a row, ordered by
 * community id; unassigned channels (-1) are in none.
 */
export function labelCommunities(
  graph: OverlapGraph,
  membership: ArrayLike<number>,
  metadata: readonly ChannelMetadata[],
  options: Partial<LabelOptions> = {},
): CommunityRow[] {
  return describe(graph, membership, metadata, options).rows;
}

/**
 * Rows for the top-level groups: games, languages and top channels from their members, the label
 * from metadata as for communities; without metadata, the biggest channel of each of the group's
 * (up to `nameChannels`) biggest communities, so the name spans the group. `communityGroup[c]`
 * is the group of community c.
 */
export function labelGroups(
  graph: OverlapGraph,
  groupMembership: ArrayLike<number>,
  communities: readonly CommunityRow[],
  communityGroup: ArrayLike<number>,
  metadata: readonly ChannelMetadata[],
  options: Partial<LabelOptions> = {},
): GroupRow[] {
  const o = { ...LABEL_DEFAULTS, ...options };
  const { rows, fromMetadata } = describe(graph, groupMembership, metadata, o);
  const inGroup: CommunityRow[][] = rows.map(() => []);
  for (const c of communities) inGroup[communityGroup[c.community]]?.push(c);
  return rows.map((r, g) => {
    const own = inGroup[g].sort(
      (a, b) => b.viewers - a.viewers || b.size - a.size || a.community - b.community,
    );
    const heads = own.map((c) => c.topChannels[0]).filter((x): x is string => x !== undefined);
    const label =
      fromMetadata[g] || heads.length < 2 ? r.label : nameList(heads.slice(0, Math.max(1, o.nameChannels)));
    return {
      group: r.community,
      label,
      size: r.size,
      viewers: r.viewers,
      communities: own.length,
      games: r.games,
      languages: r.languages,
      topChannels: r.topChannels,
    };
  });
}

function describe(
  graph: OverlapGraph,
  membership: ArrayLike<number>,
  metadata: readonly ChannelMetadata[],
  options: Partial<LabelOptions>,
): { rows: CommunityRow[]; fromMetadata: boolean[] } {
  const o = { ...LABEL_DEFAULTS, ...options };
  const n = graph.nodeNames.length;
  if (membership.length !== n) {
    throw new RangeError(`labels: membership has ${membership.length} entries for ${n} nodes`);
  }
  const meta = latestByChannel(metadata);
  let anyAudience = false;
  for (let i = 0; i < n; i++) if (graph.nodeAudience[i] > 0) anyAudience = true;
  // strengths only when there are no audiences to weigh by (a pass over every edge)
  const strength = new Float64Array(anyAudience ? 0 : n);
  if (!anyAudience) {
    for (let e = 0; e < graph.length; e++) {
      strength[graph.source[e]] += graph.weight[e];
      strength[graph.target[e]] += graph.weight[e];
    }
  }
  const weightOf = (i: number) => (anyAudience ? graph.nodeAudience[i] : strength[i]) || 0;

  let count = 0;
  for (let i = 0; i < n; i++) if (membership[i] + 1 > count) count = membership[i] + 1;
  const members: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < n; i++) if (membership[i] >= 0) members[membership[i]].push(i);
  const fromMetadata: boolean[] = [];

  const rows: CommunityRow[] = members.map((list, community) => {
    const games = new Map<string, number>();
    const languages = new Map<string, number>();
    let viewers = 0;
    for (const i of list) {
      viewers += graph.nodeAudience[i];
      const m = meta.get(graph.nodeNames[i].toLowerCase());
      // A channel without weight still votes a little, so tiny communities get names too.
      const w = weightOf(i) || 1e-9;
      if (m?.game) games.set(m.game, (games.get(m.game) ?? 0) + w);
      if (m?.language) languages.set(m.language, (languages.get(m.language) ?? 0) + w);
    }
    const top = [...list]
      .sort((a, b) => weightOf(b) - weightOf(a) || byName(graph.nodeNames[a], graph.nodeNames[b]))
      .slice(0, o.topChannels)
      .map((i) => graph.nodeNames[i]);
    const gameShares = shares(games);
    const languageShares = shares(languages);
    const named = (s: Share[], max: number) => s.filter((x) => x.share >= o.minShare).slice(0, max);
    const g = named(gameShares, o.maxGames);
    const l = named(languageShares, o.maxLanguages);
    let label = [g.map((x) => x.name).join(' / '), l.map((x) => x.name).join('/')]
      .filter(Boolean)
      .join(' · ');
    if (g.length === 1) label += ` (${Math.round(g[0].share * 100)}%)`;
    fromMetadata.push(label !== '');
    if (label === '')
      label =
        list.length > 0 ? nameList(top.slice(0, Math.max(1, o.nameChannels))) : `community ${community}`;
    return {
      community,
      label,
      group: -1,
      size: list.length,
      viewers,
      games: gameShares.slice(0, o.maxShares),
      languages: languageShares.slice(0, o.maxShares),
      topChannels: top,
    };
  });

  // Unique labels: duplicates name their biggest channel (unique, since channels are in one community).
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(r.label, (seen.get(r.label) ?? 0) + 1);
  rows.forEach((r, i) => {
    if ((seen.get(r.label) ?? 0) > 1 && fromMetadata[i] && r.topChannels.length > 0) {
      r.label = `${r.label} · around ${r.topChannels[0]}`;
    }
  });
  return { rows, fromMetadata };
}
