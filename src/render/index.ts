/**
 * renderAtlas: analysis folder → atlas.png + atlas.html, running the layout first when
 * channels.csv has no positions yet (and writing the positions back).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { InputError } from '../errors.js';
import { readAnalysisFolder } from '../export/read.js';
import { writeAnalysisFolder } from '../export/write.js';
import { htmlOptionsFromConfig, renderHtml } from './html.js';
import { layoutOptionsFromConfig, type ProgressFn, runLayout } from './layout.js';
import { buildRenderModel, hasPositions, layoutInput } from './model.js';
import { pngOptionsFromConfig, renderPng } from './png.js';

export { renderHtml } from './html.js';
export {
  computeLayout,
  type LayoutInput,
  type LayoutOptions,
  type LayoutResult,
  runLayout,
} from './layout.js';
export { type AnalysisData, buildRenderModel, layoutInput, type RenderModel } from './model.js';
export { downscalePng, renderPng } from './png.js';

/** Credit line for the bundled October 2021 data (MIT; keep it with every copy). */
export const ATLAS_2021_ATTRIBUTION =
  'Data: Twitch Atlas, October 2021 — Kiran Gershenfeld (github.com/KiranGershenfeld/VisualizingTwitchCommunities), MIT License';

export const ATLAS_2021_TITLE = 'Twitch chat communities, October 2021';

export interface RenderAtlasOptions {
  /** The analysis folder: read from, and atlas.png / atlas.html written into. */
  dir: string;
  onProgress?: ProgressFn;
  /** Credit line; by default the 2021 data's when the folder was built from it. */
  attribution?: string;
  /** Run the layout even when positions exist. */
  relayout?: boolean;
}

export interface RenderAtlasResult {
  png: string;
  html: string;
  /** Milliseconds per stage: read, layout (when it ran), png, html. */
  timings: Record<string, number>;
  /** Whether the layout ran (positions were missing or `relayout`). */
  laidOut: boolean;
  /** Whether it ran in a worker thread. */
  layoutInWorker: boolean;
}

export async function renderAtlas(config: Config, opts: RenderAtlasOptions): Promise<RenderAtlasResult> {
  const dir = resolve(opts.dir);
  const timings: Record<string, number> = {};
  let t = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = Math.round(now - t);
    t = now;
  };
  opts.onProgress?.('render: reading analysis');
  const channelsCsv = join(dir, 'channels.csv');
  if (!existsSync(channelsCsv)) {
    throw new InputError(
      'render',
      `${channelsCsv} not found: --out must be a folder written by \`vieweratlas analyze\` (or \`demo\`)`,
    );
  }
  const data = await readAnalysisFolder(dir);
  if (data.channels.length === 0)
    throw new InputError('render', `${join(dir, 'channels.csv')}: no channels to draw`);
  lap('read');

  let laidOut = false;
  let layoutInWorker = false;
  if (opts.relayout || !hasPositions(data.channels)) {
    const model = buildRenderModel(data);
    const result = await runLayout(layoutInput(model), {
      ...layoutOptionsFromConfig(config.layout),
      onProgress: opts.onProgress,
    });
    data.channels.forEach((c, i) => {
      c.x = result.x[i];
      c.y = result.y[i];
    });
    // Positions go into channels.csv, its Parquet copy and atlas.gexf, like every other column.
    opts.onProgress?.('render: writing positions');
    await writeAnalysisFolder(dir, data, { onProgress: opts.onProgress });
    laidOut = true;
    layoutInWorker = result.inWorker;
    lap('layout');
  }

  const model = buildRenderModel(data);
  const paths = data.summary?.input?.paths ?? [];
  const attribution = opts.attribution ?? defaultAttribution(paths);
  // The default title says nothing about the data; for the bundled data we know what it shows.
  const title =
    config.render.title === 'ViewerAtlas' && isAtlas2021(paths) ? ATLAS_2021_TITLE : config.render.title;
  config = { ...config, render: { ...config.render, title } };
  opts.onProgress?.('render: atlas.png');
  const png = join(dir, 'atlas.png');
  const drawn = renderPng(model, { ...pngOptionsFromConfig(config.render), attribution });
  await writeFile(png, drawn.png);
  lap('png');

  opts.onProgress?.('render: atlas.html');
  const html = join(dir, 'atlas.html');
  await writeFile(
    html,
    await renderHtml(model, {
      ...htmlOptionsFromConfig(config),
      weightKind: weightKindOf(data.summary, config),
      attribution,
    }),
  );
  lap('html');
  return { png, html, timings, laidOut, layoutInWorker };
}

const isAtlas2021 = (paths: string[]) => paths.some((p) => p.includes('twitch-atlas-2021-10'));

function defaultAttribution(paths: string[]): string {
  if (isAtlas2021(paths)) return ATLAS_2021_ATTRIBUTION;
  return 'Made with ViewerAtlas';
}

/** The weight the analysis really used (summary.json), not what the current config says. */
function weightKindOf(summary: { parameters?: Record<string, unknown> } | undefined, config: Config): string {
  const p = summary?.parameters ?? {};
  if (typeof p.edge_weight === 'string') return p.edge_weight === 'given' ? 'weight' : p.edge_weight;
  const overlap = p.overlap as { weight?: unknown } | undefined;
  return typeof overlap?.weight === 'string' ? overlap.weight : config.overlap.weight;
}
