/**
 * `timeline.html`: one offline file (no CDN, no request) for the timeline. One layout for all
 * windows (ForceAtlas2 on the union of the windows' graphs; channels without an edge in any
 * window on a ring round it), so a channel stays where it is while the slider changes the window;
 * the channels are coloured by their tracked community.
 * Below: the flows of communities between windows (alluvial) and a channel's panel — its
 * community in each window and its top overlaps over time. Every name is set as text.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelReport } from '../analysis/channel-report.js';
import type { TimelineTables } from '../model/timeline.js';
import { scriptSafeJson } from './html.js';
import { runLayout } from './layout.js';
import { PALETTE, UNASSIGNED } from './palette.js';

export interface TimelineGraphEdges {
  /** Per window: edges by channel name and their weight. */
  nodeNames: string[];
  source: Uint32Array;
  target: Uint32Array;
  weight: Float64Array;
  length: number;
}

export interface TimelinePageInput {
  title: string;
  tables: TimelineTables;
  /** The windows' overlap graphs, in window order (for the shared layout). */
  graphs: readonly TimelineGraphEdges[];
  /** Overlap reports of the channels that get a history panel (the biggest ones), per window. */
  reports: ReadonlyMap<string, readonly (ChannelReport | null)[]>;
  seed?: number;
}

/** What the page's script reads. */
interface PageData {
  title: string;
  windows: { start: string; end: string; channels: number; communities: number }[];
  channels: string[];
  x: number[];
  y: number[];
  /** [window][channel]: tracked community, −1 unassigned, −2 absent. */
  community: number[][];
  viewers: number[][];
  /** [window] → { id: [label, size, event, related] }. */
  labels: Record<string, [string, number, string, number]>[];
  /** [window, from, to, channels] between window and window + 1. */
  flows: [number, number, number, number][];
  /** channel index → [window, other channel name, share][] */
  overlaps: Record<string, [number, string, number][]>;
  palette: string[];
  unassigned: string;
}

const colorOf = (id: number) => PALETTE[id % PALETTE.length] as string;

/** The golden angle (radians): consecutive points of a sunflower spread evenly. */
const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5));

/**
 * Positions for the page: ForceAtlas2 over the channels with an edge in some window; the others
 * (no overlap to place them by) on a ring round them, in name order, as a sunflower. FA2 over
 * all of them spent its time pushing the unlinked ones apart: on the timeline bench (30 daily
 * windows, 10,000 channels of which 6,622 never share an edge) the layout took 10.9 s, of a
 * 17–18 s run.
 */
export async function linkedLayout(
  n: number,
  source: Uint32Array,
  target: Uint32Array,
  weight: Float64Array,
  community: Int32Array,
  seed: number,
): Promise<{ x: Float64Array; y: Float64Array }> {
  const hasEdge = new Uint8Array(n);
  for (let e = 0; e < source.length; e++) {
    hasEdge[source[e] as number] = 1;
    hasEdge[target[e] as number] = 1;
  }
  // each linked channel's index among the linked ones (-1: none)
  const at = new Int32Array(n).fill(-1);
  const linked: number[] = [];
  for (let i = 0; i < n; i++) {
    if (hasEdge[i] === 0) continue;
    at[i] = linked.length;
    linked.push(i);
  }
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let cx = 0;
  let cy = 0;
  let radius = 100 * Math.sqrt(Math.max(1, n));
  if (linked.length > 0) {
    const sub = await runLayout(
      {
        nodeCount: linked.length,
        source: source.map((i) => at[i] as number),
        target: target.map((i) => at[i] as number),
        weight,
        community: Int32Array.from(linked, (i) => community[i] as number),
      },
      { seed },
    );
    linked.forEach((i, k) => {
      x[i] = sub.x[k] as number;
      y[i] = sub.y[k] as number;
    });
    for (const i of linked) {
      cx += x[i] as number;
      cy += y[i] as number;
    }
    cx /= linked.length;
    cy /= linked.length;
    radius = 0;
    for (const i of linked)
      radius = Math.max(radius, Math.hypot((x[i] as number) - cx, (y[i] as number) - cy));
    if (!(radius > 0)) radius = 100;
  }
  const alone = n - linked.length;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if ((at[i] as number) >= 0) continue;
    // an annulus from 1.15 to 1.5 radii, its area filled evenly
    const r =
      radius *
      (linked.length > 0 ? 1.15 + 0.35 * Math.sqrt((k + 0.5) / alone) : Math.sqrt((k + 0.5) / alone));
    x[i] = cx + r * Math.cos(k * GOLDEN_ANGLE);
    y[i] = cy + r * Math.sin(k * GOLDEN_ANGLE);
    k++;
  }
  return { x, y };
}

export async function renderTimelineHtml(dir: string, input: TimelinePageInput): Promise<string> {
  const { tables } = input;
  const names = [...new Set(tables.channels.map((r) => r.channel))].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  const W = tables.windows.length;
  const community = Array.from({ length: W }, () => new Array<number>(names.length).fill(-2));
  const viewers = Array.from({ length: W }, () => new Array<number>(names.length).fill(0));
  for (const r of tables.channels) {
    const i = index.get(r.channel) as number;
    (community[r.window] as number[])[i] = r.community;
    (viewers[r.window] as number[])[i] = r.viewers;
  }

  // One layout for all windows: the union of the windows' graphs (weights summed).
  const union = new Map<number, number>();
  const key = (a: number, b: number) => (a < b ? a * names.length + b : b * names.length + a);
  for (const g of input.graphs) {
    for (let e = 0; e < g.length; e++) {
      const a = index.get(g.nodeNames[g.source[e] as number] as string);
      const b = index.get(g.nodeNames[g.target[e] as number] as string);
      if (a === undefined || b === undefined || a === b) continue;
      const k = key(a, b);
      union.set(k, (union.get(k) ?? 0) + (g.weight[e] as number));
    }
  }
  const source = new Uint32Array(union.size);
  const target = new Uint32Array(union.size);
  const weight = new Float64Array(union.size);
  let e = 0;
  for (const [k, w] of [...union].sort((p, q) => p[0] - q[0])) {
    source[e] = Math.floor(k / names.length);
    target[e] = k % names.length;
    weight[e] = w;
    e++;
  }
  // each channel starts near its latest tracked community
  const latest = new Int32Array(names.length).fill(-1);
  for (let w = 0; w < W; w++)
    (community[w] as number[]).forEach((c, i) => {
      if (c >= 0) latest[i] = c;
    });
  const layout = await linkedLayout(names.length, source, target, weight, latest, input.seed ?? 42);

  const labels: PageData['labels'] = Array.from({ length: W }, () => ({}));
  for (const c of tables.communities) {
    (labels[c.window] as PageData['labels'][number])[String(c.community)] = [
      c.label,
      c.size,
      c.event,
      c.related,
    ];
  }
  const flows = new Map<string, number>();
  for (let w = 0; w + 1 < W; w++) {
    const now = community[w] as number[];
    const next = community[w + 1] as number[];
    for (let i = 0; i < names.length; i++) {
      if ((now[i] as number) < 0 || (next[i] as number) < 0) continue;
      const k = `${w},${now[i]},${next[i]}`;
      flows.set(k, (flows.get(k) ?? 0) + 1);
    }
  }
  const overlaps: PageData['overlaps'] = {};
  for (const [channel, reports] of input.reports) {
    const i = index.get(channel);
    if (i === undefined) continue;
    const list: [number, string, number][] = [];
    reports.forEach((r, w) => {
      for (const o of r?.overlaps.slice(0, 5) ?? [])
        list.push([w, o.other, Math.round(o.share * 1000) / 1000]);
    });
    overlaps[String(i)] = list;
  }
  const data: PageData = {
    title: input.title,
    windows: tables.windows.map((w) => ({
      start: new Date(w.start).toISOString().slice(0, 16).replace('T', ' '),
      end: new Date(w.end).toISOString().slice(0, 16).replace('T', ' '),
      channels: w.channels,
      communities: w.communities,
    })),
    channels: names,
    x: Array.from(layout.x, (v) => Math.round(v * 100) / 100),
    y: Array.from(layout.y, (v) => Math.round(v * 100) / 100),
    community,
    viewers,
    labels,
    flows: [...flows].map(([k, n]) => {
      const [w, a, b] = k.split(',').map(Number) as [number, number, number];
      return [w, a, b, n];
    }),
    overlaps,
    palette: Array.from({ length: PALETTE.length }, (_, i) => colorOf(i)),
    unassigned: UNASSIGNED,
  };
  const path = join(dir, 'timeline.html');
  writeFileSync(path, page(data));
  return path;
}

function page(data: PageData): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>ViewerAtlas timeline</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#101418;color:#e8eaed}
header{padding:10px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
h1{font-size:18px;margin:0}
#window{width:360px}
main{display:grid;grid-template-columns:minmax(0,1fr) 340px;gap:12px;padding:0 16px 16px}
canvas{background:#0b0e11;width:100%;height:auto;border-radius:6px}
aside{overflow:auto;max-height:80vh}
#communities li{list-style:none;margin:2px 0}#communities{padding:0}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
table{border-collapse:collapse;width:100%}td,th{padding:2px 4px;text-align:left;border-bottom:1px solid #222}
#flows{background:#0b0e11;border-radius:6px;margin:0 16px 16px;display:block}
input[type=search]{padding:4px 6px}
</style></head><body>
<header><h1 id="title"></h1>
<label>window <input id="window" type="range" min="0" step="1" value="0"></label>
<span id="window-label"></span>
<input id="search" type="search" placeholder="channel…" list="names"><datalist id="names"></datalist>
</header>
<main><canvas id="map" width="1000" height="760"></canvas>
<aside><section id="channel" hidden><h2 id="channel-name"></h2><table id="history"><thead><tr><th>window</th><th>community</th><th>top overlaps</th></tr></thead><tbody></tbody></table></section>
<h3>communities in this window</h3><ul id="communities"></ul></aside></main>
<svg id="flows" width="1000" height="320"></svg>
<script id="data" type="application/json">${scriptSafeJson(data)}</script>
<script>${CLIENT}</script>
</body></html>
`;
}

/** The page's script: plain DOM and canvas, names always set with textContent. */
const CLIENT = `
(() => {
const D = JSON.parse(document.getElementById('data').textContent);
const W = D.windows.length, N = D.channels.length;
const color = (id) => id < 0 ? D.unassigned : D.palette[id % D.palette.length];
const $ = (id) => document.getElementById(id);
$('title').textContent = D.title;
const slider = $('window'); slider.max = String(Math.max(0, W - 1));
const canvas = $('map'), ctx = canvas.getContext('2d');
let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
for (let i = 0; i < N; i++) { minX = Math.min(minX, D.x[i]); maxX = Math.max(maxX, D.x[i]); minY = Math.min(minY, D.y[i]); maxY = Math.max(maxY, D.y[i]); }
const pad = 20, sx = (canvas.width - 2 * pad) / Math.max(1e-9, maxX - minX), sy = (canvas.height - 2 * pad) / Math.max(1e-9, maxY - minY), s = Math.min(sx, sy);
const px = (i) => pad + (D.x[i] - minX) * s, py = (i) => pad + (D.y[i] - minY) * s;
let maxViewers = 1; for (const row of D.viewers) for (const v of row) maxViewers = Math.max(maxViewers, v);
let current = 0, selected = -1;
function draw(w) {
  current = w;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  let drawn = 0;
  const comm = D.community[w];
  for (let i = 0; i < N; i++) {
    const c = comm[i]; if (c === -2) continue;
    const r = 2 + 8 * Math.sqrt(D.viewers[w][i] / maxViewers);
    ctx.globalAlpha = c === -1 ? 0.35 : 0.9;
    ctx.fillStyle = color(c); ctx.beginPath(); ctx.arc(px(i), py(i), r, 0, 2 * Math.PI); ctx.fill();
    drawn++;
  }
  ctx.globalAlpha = 1;
  if (selected >= 0 && comm[selected] !== -2) { ctx.strokeStyle = '#fff'; ctx.lineWidth = 2; ctx.beginPath(); ctx.arc(px(selected), py(selected), 12, 0, 2 * Math.PI); ctx.stroke(); }
  canvas.dataset.window = String(w); canvas.dataset.drawn = String(drawn);
  const win = D.windows[w];
  $('window-label').textContent = win.start + ' – ' + win.end + ' · ' + win.communities + ' communities · ' + win.channels + ' channels';
  const list = $('communities'); list.replaceChildren();
  const entries = Object.entries(D.labels[w]).sort((a, b) => b[1][1] - a[1][1]);
  for (const [id, [label, size, event, related]] of entries) {
    const li = document.createElement('li');
    const sw = document.createElement('span'); sw.className = 'sw'; sw.style.background = color(Number(id));
    const ended = event === 'merged' || event === 'died';
    li.append(sw, document.createTextNode('#' + id + ' ' + (label || '') + ' · ' + size + ' · ' + event + (related >= 0 ? ' ' + (event === 'merged' ? 'into' : 'from') + ' #' + related : '')));
    if (ended) li.style.opacity = '0.55';
    list.append(li);
  }
}
function showChannel(i) {
  selected = i;
  $('channel').hidden = false;
  $('channel-name').textContent = D.channels[i];
  const body = $('history').tBodies[0]; body.replaceChildren();
  const ov = D.overlaps[String(i)] || [];
  for (let w = 0; w < W; w++) {
    const tr = document.createElement('tr');
    const c = D.community[w][i];
    const cells = [D.windows[w].start.slice(0, 10), c === -2 ? '—' : c === -1 ? 'unassigned' : '#' + c + ' ' + ((D.labels[w][String(c)] || [''])[0]), ov.filter((o) => o[0] === w).map((o) => o[1] + ' ' + Math.round(o[2] * 100) + '%').join(', ')];
    for (const text of cells) { const td = document.createElement('td'); td.textContent = text; tr.append(td); }
    body.append(tr);
  }
  draw(current);
}
slider.addEventListener('input', () => draw(Number(slider.value)));
const names = $('names');
for (const n of D.channels) { const o = document.createElement('option'); o.value = n; names.append(o); }
$('search').addEventListener('change', (ev) => { const i = D.channels.indexOf(ev.target.value.trim().toLowerCase()); if (i >= 0) showChannel(i); });
canvas.addEventListener('click', (ev) => {
  const rect = canvas.getBoundingClientRect(), x = (ev.clientX - rect.left) * canvas.width / rect.width, y = (ev.clientY - rect.top) * canvas.height / rect.height;
  let best = -1, bd = 15 * 15;
  for (let i = 0; i < N; i++) { if (D.community[current][i] === -2) continue; const d = (px(i) - x) ** 2 + (py(i) - y) ** 2; if (d < bd) { bd = d; best = i; } }
  if (best >= 0) showChannel(best);
});
// alluvial: a column per window, a bar per community, flows of channels between them
const svg = $('flows'), NS = 'http://www.w3.org/2000/svg', H = 290, colW = W > 1 ? (980 - 20) / (W - 1) : 0;
const bars = [];
for (let w = 0; w < W; w++) {
  const sizes = new Map(); for (const c of D.community[w]) if (c >= 0) sizes.set(c, (sizes.get(c) || 0) + 1);
  const total = [...sizes.values()].reduce((a, b) => a + b, 0) || 1;
  let y = 10; const at = new Map();
  for (const [c, n] of [...sizes].sort((a, b) => a[0] - b[0])) { const h = (H - 10 - sizes.size * 2) * n / total; at.set(c, { y, h, inY: y, outY: y }); y += h + 2; }
  bars.push(at);
}
for (const [w, a, b, n] of D.flows) {
  const from = bars[w].get(a), to = bars[w + 1].get(b); if (!from || !to) continue;
  const total = [...bars[w].values()].reduce((s, v) => s + v.h, 0), count = D.community[w].filter((c) => c >= 0).length || 1;
  const h = (H - 10) * n / count;
  const x0 = 14 + w * colW, x1 = 10 + (w + 1) * colW;
  const y0 = from.outY + h / 2, y1 = to.inY + h / 2; from.outY += h; to.inY += h;
  const p = document.createElementNS(NS, 'path');
  p.setAttribute('d', 'M' + x0 + ',' + y0 + ' C' + (x0 + colW / 2) + ',' + y0 + ' ' + (x1 - colW / 2) + ',' + y1 + ' ' + x1 + ',' + y1);
  p.setAttribute('stroke', color(a === b ? a : b)); p.setAttribute('stroke-opacity', '0.45'); p.setAttribute('fill', 'none'); p.setAttribute('stroke-width', String(Math.max(1, h)));
  const t = document.createElementNS(NS, 'title'); t.textContent = '#' + a + ' → #' + b + ': ' + n + ' channels'; p.append(t);
  svg.append(p); void total;
}
bars.forEach((at, w) => { for (const [c, b] of at) { const r = document.createElementNS(NS, 'rect'); r.setAttribute('x', String(10 + w * colW)); r.setAttribute('y', String(b.y)); r.setAttribute('width', '4'); r.setAttribute('height', String(Math.max(1, b.h))); r.setAttribute('fill', color(c)); const t = document.createElementNS(NS, 'title'); t.textContent = '#' + c + ' ' + ((D.labels[w][String(c)] || [''])[0]); r.append(t); svg.append(r); } });
draw(0);
window.__timeline = { draw, showChannel };
})();
`;
