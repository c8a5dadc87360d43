import type { AtlasStatistics } from '../../model/atlas.js';
/** The data atlas.html embeds (built by src/render/html.ts, read by src/render/html/client.ts). */
export interface AtlasPayload {
  title: string;
  attribution: string;
  /** Channels, as parallel arrays (index = node id). */
  nodes: {
    name: string[];
    /** Fine community; -1 = unassigned. */
    community: number[];
    /** Top-level group; -1 = unassigned. */
    group: number[];
    viewers: number[];
    x: number[];
    y: number[];
    game: string[];
    language: string[];
  };
  /** Edges drawn: flat [source, target, weight, …], strongest first. */
  edges: number[];
  /** Edges in the analysis; more than drawn when capped. */
  edgesTotal: number;
  /** Per node: its strongest overlaps over ALL edges, flat [neighbour, weight, …] (≤ 10 pairs). */
  top: number[][];
  communities: {
    id: number;
    label: string;
    /** The parent group's id. */
    group: number;
    color: string;
    size: number;
    viewers: number;
    games: [string, number][];
    languages: [string, number][];
    topChannels: string[];
  }[];
  /** Top-level groups, biggest first (one per community when the folder has no group level). */
  groups: {
    id: number;
    label: string;
    color: string;
    size: number;
    viewers: number;
    /** Its communities' ids, biggest first. */
    communities: number[];
    games: [string, number][];
    languages: [string, number][];
    topChannels: string[];
  }[];
  /** True when the analysis had no group level: the legend is a flat list of communities. */
  flat: boolean;
  /** Channels in no community (listed apart, drawn dimmed). */
  unassigned: number;
  /** Colour of channels outside every community. */
  unassignedColor: string;
  /** Edge weight kind, for the panel ("cosine", "shared", …). */
  weightKind: string;
  /** The analysis' descriptive statistics (summary.json), when it has them. */
  statistics?: AtlasStatistics;
}
