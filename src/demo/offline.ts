/**
 * The offline demo: the bundled October 2021 Twitch overlap data → analysis → layout → atlas.png
 * and atlas.html. No network, no storage, no arguments needed.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/index.js';
import type { ProgressFn } from '../model/progress.js';
import { analyze } from '../pipeline/analyze.js';
import { renderAtlas } from '../render/index.js';

/** The bundled data (assets/atlas-2021-10, MIT, Kiran Gershenfeld). */
export const DEMO_DATA_DIR = fileURLToPath(new URL('../../assets/atlas-2021-10/', import.meta.url));
export const DEMO_INPUTS = [
  join(DEMO_DATA_DIR, 'twitch-atlas-2021-10-edges.csv'),
  join(DEMO_DATA_DIR, 'twitch-atlas-2021-10-channels.csv'),
];

export interface DemoOptions {
  out: string;
  onProgress?: ProgressFn;
}

export interface DemoResult {
  outDir: string;
  png: string;
  html: string;
  channelsCsv: string;
  channels: number;
  edges: number;
  /** Fine communities (scenes) and the top-level groups (languages / regions) holding them. */
  communities: number;
  groups: number;
  /** Channels without an edge left: in no community. */
  unassigned: number;
  /** The biggest top-level groups with their biggest communities (labels and sizes), for the summary. */
  hierarchy: { label: string; size: number; communities: { label: string; size: number }[] }[];
  modularity: number;
  /** Milliseconds per stage: analyze, then render's read, layout, png, html. */
  timings: Record<string, number>;
}

export async function runDemo(config: Config, opts: DemoOptions): Promise<DemoResult> {
  const out = resolve(opts.out);
  const started = performance.now();
  // The default method, as `analyze --input edges nodes` runs it: raw weights, two levels.
  const analysis = await analyze(config, { inputs: DEMO_INPUTS, out, onProgress: opts.onProgress });
  const analyzeMs = Math.round(performance.now() - started);
  // renderAtlas recognises the bundled data and titles and credits the map after it.
  const rendered = await renderAtlas(config, { dir: out, onProgress: opts.onProgress });
  return {
    outDir: out,
    png: rendered.png,
    html: rendered.html,
    channelsCsv: join(out, 'channels.csv'),
    channels: analysis.summary.counts.channels,
    edges: analysis.summary.counts.edges,
    communities: analysis.summary.counts.communities,
    groups: analysis.summary.counts.groups,
    unassigned: analysis.summary.counts.unassigned,
    hierarchy: analysis.groups.slice(0, 6).map((g) => ({
      label: g.label,
      size: g.size,
      communities: analysis.communities
        .filter((c) => c.group === g.group)
        .map((c) => ({ label: c.label, size: c.size })),
    })),
    modularity: analysis.summary.modularity,
    timings: { analyze: analyzeMs, ...rendered.timings },
  };
}
