/**
 * atlas.html: one self-contained file (sigma.js + graphology bundled inline by esbuild, CSS
 * inline, data as JSON in a `<script type="application/json">`), so it opens offline with no
 * request to any network.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/index.js';
import { VieweratlasError } from '../errors.js';
import type { AtlasPayload } from './html/payload.js';
import type { RenderModel } from './model.js';
import { UNASSIGNED } from './palette.js';

export interface HtmlOptions {
  title: string;
  attribution: string;
  /** Strongest edges drawn in the page; the page says so when there are more. */
  maxEdges: number;
  /** Overlaps listed per channel in its panel. */
  topOverlaps: number;
  /** Edge weight kind shown in the panel. */
  weightKind: string;
}

export const DEFAULTS: HtmlOptions = {
  title: 'ViewerAtlas',
  attribution: '',
  maxEdges: 100_000,
  topOverlaps: 10,
  weightKind: 'weight',
};

export function htmlOptionsFromConfig(config: Config): Partial<HtmlOptions> {
  return {
    title: config.render.title,
    maxEdges: config.render.html_max_edges,
    weightKind: config.overlap.weight,
  };
}

/** Coordinates rounded to what a screen can show keep the file small. */
const round = (v: number, digits: number) =>
  Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : 0;

export function buildPayload(model: RenderModel, options: Partial<HtmlOptions> = {}): AtlasPayload {
  const o = { ...DEFAULTS, ...options };
  const n = model.channels.length;
  const m = model.source.length;
  const drawn = Math.min(m, o.maxEdges);
  const edges: number[] = new Array(drawn * 3);
  for (let e = 0; e < drawn; e++) {
    edges[3 * e] = model.source[e];
    edges[3 * e + 1] = model.target[e];
    edges[3 * e + 2] = round(model.weight[e], 6);
  }
  // Edges are sorted strongest first, so the first `topOverlaps` seen per node are its strongest.
  const top: number[][] = Array.from({ length: n }, () => []);
  for (let e = 0; e < m; e++) {
    const s = model.source[e];
    const t = model.target[e];
    const w = round(model.weight[e], 6);
    if (top[s].length < 2 * o.topOverlaps) top[s].push(t, w);
    if (top[t].length < 2 * o.topOverlaps) top[t].push(s, w);
  }
  return {
    title: o.title,
    attribution: o.attribution,
    nodes: {
      name: model.channels.map((c) => c.channel),
      community: Array.from(model.community),
      group: Array.from(model.group),
      viewers: Array.from(model.viewers),
      x: Array.from(model.x, (v) => round(v, 2)),
      y: Array.from(model.y, (v) => round(v, 2)),
      game: model.channels.map((c) => c.game ?? ''),
      language: model.channels.map((c) => c.language ?? ''),
    },
    edges,
    edgesTotal: m,
    top,
    communities: model.communities.map((c) => ({
      id: c.community,
      label: c.label || `Community ${c.community}`,
      group: c.group,
      color: model.colorOf(c.community),
      size: c.size,
      viewers: c.viewers,
      games: c.games.map((s) => [s.name, s.share] as [string, number]),
      languages: c.languages.map((s) => [s.name, s.share] as [string, number]),
      topChannels: c.topChannels,
    })),
    groups: model.groups.map((g) => ({
      id: g.group,
      label: g.label || `Group ${g.group}`,
      color: model.groupColorOf(g.group),
      size: g.size,
      viewers: g.viewers,
      communities: model.communities.filter((c) => c.group === g.group).map((c) => c.community),
      games: g.games.map((s) => [s.name, s.share] as [string, number]),
      languages: g.languages.map((s) => [s.name, s.share] as [string, number]),
      topChannels: g.topChannels,
    })),
    flat: model.flat,
    unassigned: model.unassigned,
    unassignedColor: UNASSIGNED,
    weightKind: o.weightKind,
    ...(model.summary?.statistics ? { statistics: model.summary.statistics } : {}),
  };
}

/** JSON safe inside a `<script>` element: `<`, `>` and `&` become \u escapes (still valid JSON). */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

let bundled: Promise<string> | null = null;

/**
 * The client script, read once per process: compiled code (dist/) has it pre-bundled by
 * scripts/build.mjs; from src/ (tsx, vitest) esbuild bundles it here with the same options.
 */
export function clientBundle(): Promise<string> {
  bundled ??= readFile(new URL('./html/client.js', import.meta.url), 'utf8')
    .catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      const { build } = await import('esbuild');
      // the same options scripts/build.mjs bundles with
      const options = JSON.parse(
        await readFile(new URL('./html/bundle-options.json', import.meta.url), 'utf8'),
      );
      const r = await build({
        ...options,
        entryPoints: [fileURLToPath(new URL('./html/client.ts', import.meta.url))],
        write: false,
      });
      const text = r.outputFiles?.[0]?.text;
      if (text === undefined) throw new Error('esbuild wrote no output');
      return text;
    })
    .then((text) => text.replace(/<\/(script)/gi, '<\\/$1'))
    .catch((err: unknown) => {
      bundled = null;
      throw new VieweratlasError(
        'render',
        `could not bundle the atlas.html client: ${(err as Error).message}`,
        { cause: err },
      );
    });
  return bundled;
}

export async function renderHtml(model: RenderModel, options: Partial<HtmlOptions> = {}): Promise<string> {
  const payload = buildPayload(model, options);
  const script = await clientBundle();
  const title = payload.title.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; worker-src blob:">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<div id="graph" aria-label="Channel map"></div>
<header class="card" id="header">
  <h1 id="title"></h1>
  <p id="stats" class="muted"></p>
  <div class="search-box">
    <input id="search" type="search" placeholder="Find a channel…" autocomplete="off" spellcheck="false" aria-label="Find a channel">
    <ul id="search-results" hidden></ul>
  </div>
  <p id="cap-note" class="note" hidden></p>
  <details id="statistics" hidden><summary>Statistics</summary><table id="statistics-table"></table></details>
</header>
<nav class="card" id="legend" aria-label="Communities">
  <div class="legend-head"><h2 id="legend-title">Communities</h2><button type="button" id="legend-all" class="link">show/hide all</button></div>
  <ul id="legend-items"></ul>
  <ul id="legend-unassigned"></ul>
</nav>
<aside class="card" id="panel" hidden></aside>
<footer id="attribution" class="muted"></footer>
<script type="application/json" id="atlas-data">${scriptSafeJson(payload)}</script>
<script>${script}</script>
</body>
</html>
`;
}

const CSS = `
:root{--bg:#0d1017;--card:rgba(20,24,33,.92);--line:rgba(255,255,255,.09);--text:#e8ecf3;--muted:#8b93a5;--accent:#4dabf7}
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:var(--bg);color:var(--text);font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
#graph{position:fixed;inset:0}
@media (min-width:1100px){#graph{left:360px}}
.card{position:fixed;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px;backdrop-filter:blur(6px);box-shadow:0 8px 30px rgba(0,0,0,.35)}
#header{top:14px;left:14px;width:340px;z-index:3}
h1{margin:0;font-size:20px}
h2{margin:0 0 8px;font-size:17px;word-break:break-word}
h3{margin:14px 0 6px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.muted{color:var(--muted)}
#stats{margin:4px 0 10px;font-size:12.5px}
.note{margin:10px 0 0;font-size:12px;color:#ffd43b}
.search-box{position:relative}
#search{width:100%;padding:8px 10px;border-radius:8px;border:1px solid var(--line);background:#0b0e14;color:var(--text);font:inherit}
#search:focus{outline:2px solid var(--accent);outline-offset:0}
#search-results{position:absolute;left:0;right:0;top:40px;margin:0;padding:4px;list-style:none;background:#141821;border:1px solid var(--line);border-radius:8px;max-height:320px;overflow:auto}
#search-results li{display:flex;align-items:center;justify-content:space-between;padding:3px 6px}
#legend{left:14px;bottom:34px;width:340px;max-height:calc(100vh - 290px);overflow:auto;z-index:2}
.legend-head{display:flex;justify-content:space-between;align-items:baseline}
#legend ul{list-style:none;margin:0;padding:0}
#legend li{display:flex;align-items:center;gap:6px;padding:2px 0}
#legend li.off>.row .link,#legend li.off>.link{opacity:.4}
#legend .row{display:flex;align-items:center;gap:6px;width:100%}
#legend li.group{display:block;padding:4px 0;border-top:1px solid var(--line)}
#legend li.group:first-child{border-top:0}
#legend li.group>.row>.link{font-weight:650}
#legend ul.members{padding-left:22px}
#legend .expand{background:none;border:0;color:var(--muted);cursor:pointer;width:16px;padding:0;font-size:11px;flex:none}
#legend .group-swatch{border-radius:3px}
#legend-unassigned{margin-top:6px!important;padding-top:6px!important;border-top:1px dashed var(--line)!important}
#legend-unassigned:empty{display:none}
#legend input{margin:0;accent-color:var(--accent)}
#panel{top:14px;right:14px;width:360px;max-height:calc(100vh - 60px);overflow:auto;z-index:3}
#panel dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:8px 0}
#panel dt{color:var(--muted)}
#panel dd{margin:0;word-break:break-word}
#panel ol{margin:0;padding-left:22px}
#panel li{padding:2px 0}
#panel li>*{vertical-align:middle}
.shares{list-style:none;margin:0;padding:0}
.shares li{display:flex;justify-content:space-between}
.close{position:absolute;top:8px;right:10px;background:none;border:0;color:var(--muted);font-size:22px;cursor:pointer;line-height:1}
.link{background:none;border:0;padding:0;color:var(--text);font:inherit;cursor:pointer;text-align:left;display:inline-flex;align-items:center;gap:6px;word-break:break-word}
.link:hover{color:var(--accent)}
.num{color:var(--muted);font-variant-numeric:tabular-nums;margin-left:auto;padding-left:10px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:50%;flex:none}
.community-name{display:flex;align-items:center;gap:8px;padding-right:24px}
.channel-name{padding-right:24px}
#attribution{position:fixed;right:14px;bottom:8px;font-size:11.5px;z-index:1;max-width:60vw;text-align:right}
@media (max-width:800px){#header,#legend{width:calc(100vw - 28px)}#panel{left:14px;width:auto;top:auto;bottom:14px;max-height:50vh}}
`;
