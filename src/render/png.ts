/**
 * atlas.png: the static map, drawn with @napi-rs/canvas (Skia; its binary ships in the npm
 * package). Dark background, faint edges (the strongest only), nodes sized by audience and
 * coloured by community, non-overlapping labels, a legend column, a title and an attribution line.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { Config } from '../config/index.js';
import { atlasFontFamily } from './fonts.js';
import { type Box, CollisionIndex } from './labels.js';
import type { RenderModel } from './model.js';

export interface PngOptions {
  width: number;
  height: number;
  /** Labels for this many of the biggest channels (plus the biggest channel of each community). */
  channelLabels: number;
  title: string;
  /** Credit line for the data, drawn at the bottom. */
  attribution: string;
  /** Strongest edges drawn; the rest would only add haze. */
  maxEdges: number;
  /** Communities listed in the legend (the rest are summarised in one line). */
  legendEntries: number;
}

export const DEFAULTS: PngOptions = {
  width: 4000,
  height: 4000,
  channelLabels: 60,
  title: 'ViewerAtlas',
  attribution: '',
  maxEdges: 30_000,
  legendEntries: 24,
};

export function pngOptionsFromConfig(render: Config['render']): Partial<PngOptions> {
  return {
    width: render.png_width,
    height: render.png_height,
    channelLabels: render.channel_labels,
    title: render.title,
  };
}

const BG = '#0d1017';
const TEXT = '#e8ecf3';
const MUTED = '#8b93a5';

/** Mixes a hex colour towards white (t>0) or black (t<0). */
function shade(hex: string, t: number): string {
  const v = Number.parseInt(hex.slice(1), 16);
  const ch = [(v >> 16) & 255, (v >> 8) & 255, v & 255].map((c) =>
    Math.round(t >= 0 ? c + (255 - c) * t : c * (1 + t)),
  );
  return `rgb(${ch[0]},${ch[1]},${ch[2]})`;
}

function rgba(hex: string, a: number): string {
  const v = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255},${(v >> 8) & 255},${v & 255},${a.toFixed(3)})`;
}

/** Shortens text to fit `max` pixels, with an ellipsis. */
function ellipsize(ctx: SKRSContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= max) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/**
 * Where a community's name goes: the centre of its densest part. The member with the most fellow
 * members within `radius` (a sample of at most 400 when the community is big) anchors it, and the
 * label sits at the mean of those neighbours — on the cluster itself, where a centroid or median
 * could fall in the empty space between two lobes.
 */
function densestPoint(list: number[], px: Float64Array, py: Float64Array, radius: number): [number, number] {
  const step = Math.max(1, Math.floor(list.length / 400));
  const r2 = radius * radius;
  let best = list[0];
  let bestCount = -1;
  for (let a = 0; a < list.length; a += step) {
    const i = list[a];
    let count = 0;
    for (let b = 0; b < list.length; b += step) {
      const j = list[b];
      const dx = px[i] - px[j];
      const dy = py[i] - py[j];
      if (dx * dx + dy * dy <= r2) count++;
    }
    if (count > bestCount) {
      bestCount = count;
      best = i;
    }
  }
  let sx = 0;
  let sy = 0;
  let k = 0;
  for (const j of list) {
    const dx = px[best] - px[j];
    const dy = py[best] - py[j];
    if (dx * dx + dy * dy <= r2) {
      sx += px[j];
      sy += py[j];
      k++;
    }
  }
  return [sx / k, sy / k];
}

export interface PngResult {
  png: Buffer;
  /** Labels drawn: community names and channel names. */
  labels: { communities: number; channels: number };
  /** The boxes of every label drawn (they never overlap). */
  labelBoxes: Box[];
  edgesDrawn: number;
  /** Where the legend column is (tests look for it). */
  legend: Box;
}

export function renderPng(model: RenderModel, options: Partial<PngOptions> = {}): PngResult {
  const o = { ...DEFAULTS, ...options };
  const W = o.width;
  const H = o.height;
  const s = Math.min(W, H) / 4000; // every size below is in 4000-px units
  const font = atlasFontFamily();
  const canvas = createCanvas(W, H);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, W, H);

  // Regions: header on top, footer at the bottom, legend column on the right, the map in between.
  const header = 300 * s;
  const footer = 110 * s;
  const legendW = Math.min(920 * s, W * 0.3);
  const pad = 70 * s;
  const map: Box = { x: pad, y: header, w: W - legendW - 2 * pad, h: H - header - footer - pad };
  const legend: Box = { x: W - legendW - pad * 0.5, y: header, w: legendW, h: H - header - footer - pad };

  const n = model.channels.length;
  // Fit the layout to the map, ignoring the 0.3% farthest points so one outlier cannot shrink the rest.
  const xs = Float64Array.from(model.x).sort();
  const ys = Float64Array.from(model.y).sort();
  const qx0 = quantile(xs, 0.003);
  const qx1 = quantile(xs, 0.997);
  const qy0 = quantile(ys, 0.003);
  const qy1 = quantile(ys, 0.997);
  const nodeScale = Math.min(1.2, Math.max(0.35, Math.sqrt(2000 / Math.max(n, 1))));
  const rMax = 62 * s * nodeScale;
  const rMin = 3.5 * s * nodeScale;
  const inner = 60 * s + rMax;
  const k = Math.min(
    (map.w - 2 * inner) / Math.max(qx1 - qx0, 1e-9),
    (map.h - 2 * inner) / Math.max(qy1 - qy0, 1e-9),
  );
  const cx = map.x + map.w / 2;
  const cy = map.y + map.h / 2;
  const mx = (qx0 + qx1) / 2;
  const my = (qy0 + qy1) / 2;
  const px = new Float64Array(n);
  const py = new Float64Array(n);
  const radius = new Float64Array(n);
  let vmax = 0;
  for (let i = 0; i < n; i++) vmax = Math.max(vmax, model.viewers[i]);
  for (let i = 0; i < n; i++) {
    const x = Number.isFinite(model.x[i]) ? model.x[i] : mx;
    const y = Number.isFinite(model.y[i]) ? model.y[i] : my;
    // Screen y grows downwards; flip so the picture matches Gephi and the HTML view.
    px[i] = Math.min(map.x + map.w - inner, Math.max(map.x + inner, cx + (x - mx) * k));
    py[i] = Math.min(map.y + map.h - inner, Math.max(map.y + inner, cy - (y - my) * k));
    radius[i] = rMin + (rMax - rMin) * Math.sqrt(vmax > 0 ? model.viewers[i] / vmax : 0);
  }

  // Edges: the strongest `maxEdges`, weakest first so strong ones end on top. Batched into one
  // path per (colour, alpha level) — 30k separate strokes would be ten times slower.
  const m = Math.min(o.maxEdges, model.source.length);
  const levels = 4;
  const batches = new Map<string, number[]>();
  for (let e = m - 1; e >= 0; e--) {
    const a = model.source[e];
    const b = model.target[e];
    const ca = model.community[a];
    const same = ca === model.community[b];
    const level = Math.min(levels - 1, Math.floor(((m - e) / Math.max(m, 1)) * levels));
    const keyStr = `${same ? model.colorOf(ca) : '#9aa4b8'}|${level}`;
    const list = batches.get(keyStr);
    if (list) list.push(e);
    else batches.set(keyStr, [e]);
  }
  const orderedBatches = [...batches.entries()].sort(
    (p, q) => Number(p[0].split('|')[1]) - Number(q[0].split('|')[1]),
  );
  ctx.lineCap = 'round';
  for (const [keyStr, list] of orderedBatches) {
    const [color, levelStr] = keyStr.split('|');
    const level = Number(levelStr);
    const sameCommunity = color !== '#9aa4b8';
    const alpha = (sameCommunity ? 0.05 : 0.035) + level * (sameCommunity ? 0.05 : 0.025);
    ctx.strokeStyle = rgba(color, alpha * Math.min(1.5, Math.sqrt(20_000 / Math.max(m, 1))));
    ctx.lineWidth = (1.2 + level * 0.7) * s;
    ctx.beginPath();
    for (const e of list) {
      ctx.moveTo(px[model.source[e]], py[model.source[e]]);
      ctx.lineTo(px[model.target[e]], py[model.target[e]]);
    }
    ctx.stroke();
  }

  // Nodes, small first so big channels sit on top; a soft glow in the community colour first.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => radius[a] - radius[b] || a - b);
  for (const i of order) {
    const r = radius[i] * 2.2;
    const glow = ctx.createRadialGradient(px[i], py[i], radius[i] * 0.6, px[i], py[i], r);
    const color = model.colorOf(model.community[i]);
    glow.addColorStop(0, rgba(color, 0.22));
    glow.addColorStop(1, rgba(color, 0));
    ctx.fillStyle = glow;
    ctx.beginPath();
    ctx.arc(px[i], py[i], r, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.lineWidth = Math.max(1, 2 * s);
  for (const i of order) {
    const color = model.colorOf(model.community[i]);
    ctx.beginPath();
    ctx.arc(px[i], py[i], radius[i], 0, 2 * Math.PI);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.strokeStyle = 'rgba(8,10,15,0.55)';
    ctx.stroke();
  }

  // Labels: community names first (they name the regions), then the biggest channel of each
  // community, then the biggest channels overall; each placed where it overlaps nothing.
  const boxes = new CollisionIndex(Math.max(32, 160 * s));
  const drawText = (text: string, x: number, y: number, size: number, weight: number, fill: string) => {
    ctx.font = `${weight} ${size}px ${font}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    ctx.lineJoin = 'round';
    ctx.lineWidth = Math.max(2, size * 0.22);
    ctx.strokeStyle = 'rgba(13,16,23,0.92)';
    ctx.strokeText(text, x, y);
    ctx.fillStyle = fill;
    ctx.fillText(text, x, y);
  };

  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = model.community[i];
    if (c < 0) continue;
    const list = members.get(c);
    if (list) list.push(i);
    else members.set(c, [i]);
  }
  const labelled = new Set<number>();
  const labelBoxes: Box[] = [];
  let communityLabels = 0;
  const pending: { text: string; x: number; y: number; size: number; color: string }[] = [];
  const minCommunity = Math.max(3, Math.floor(n * 0.004));
  for (const row of model.communities.slice(0, o.legendEntries)) {
    const list = members.get(row.community);
    if (!list || list.length < minCommunity) continue;
    const [x, y] = densestPoint(list, px, py, Math.min(map.w, map.h) * 0.06);
    const size = Math.round((44 + 22 * Math.min(1, list.length / (n * 0.15))) * s);
    ctx.font = `700 ${size}px ${font}`;
    const text = ellipsize(ctx, row.label || `Community ${row.community}`, 900 * s);
    const w = ctx.measureText(text).width;
    const h = size * 1.25;
    const cands: Box[] = [];
    // Community names may cross nodes (they are drawn last, with a halo) but never each other;
    // when the spot is taken, try nearby ones.
    for (const [dx, dy] of [
      [0, 0],
      [0, -1.3],
      [0, 1.3],
      [-0.5, -2.6],
      [0.5, 2.6],
      [-0.6, 0],
      [0.6, 0],
      [0, -3.9],
      [0, 3.9],
    ]) {
      cands.push({ x: x - w / 2 + dx * w, y: y - h / 2 + dy * h, w, h });
    }
    const placed = boxes.place(cands, map);
    if (placed) {
      labelBoxes.push(placed);
      pending.push({
        text,
        x: placed.x,
        y: placed.y + h / 2,
        size,
        color: shade(model.colorOf(row.community), 0.45),
      });
      communityLabels++;
    }
  }

  // Big node discs are obstacles for channel labels, so those do not cover the biggest channels.
  for (let i = 0; i < n; i++) {
    if (radius[i] > rMax * 0.35)
      boxes.add({ x: px[i] - radius[i], y: py[i] - radius[i], w: 2 * radius[i], h: 2 * radius[i] });
  }
  const byViewers = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => model.viewers[b] - model.viewers[a] || a - b,
  );
  const candidates: number[] = [];
  for (const row of model.communities) {
    const list = members.get(row.community);
    if (!list || list.length < minCommunity) continue;
    let best = list[0];
    for (const i of list) if (model.viewers[i] > model.viewers[best]) best = i;
    candidates.push(best);
  }
  candidates.push(...byViewers.slice(0, o.channelLabels));
  let channelLabels = 0;
  for (const i of candidates) {
    if (labelled.has(i)) continue;
    labelled.add(i);
    const size = Math.round((24 + 22 * Math.sqrt(vmax > 0 ? model.viewers[i] / vmax : 0)) * s);
    ctx.font = `600 ${size}px ${font}`;
    const text = ellipsize(ctx, model.channels[i].channel, 700 * s);
    const w = ctx.measureText(text).width;
    const h = size * 1.2;
    const r = radius[i] + 6 * s;
    const cands: Box[] = [
      { x: px[i] + r, y: py[i] - h / 2, w, h },
      { x: px[i] - r - w, y: py[i] - h / 2, w, h },
      { x: px[i] - w / 2, y: py[i] - r - h, w, h },
      { x: px[i] - w / 2, y: py[i] + r, w, h },
    ];
    const placed = boxes.place(cands, map);
    if (placed) {
      labelBoxes.push(placed);
      drawText(text, placed.x, placed.y + h / 2, size, 600, TEXT);
      channelLabels++;
    }
  }
  // Community names last so they are drawn above channel labels and edges.
  for (const p of pending) drawText(p.text, p.x, p.y, p.size, 700, p.color);

  // Header: title and one line of figures.
  const sm = model.summary;
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  ctx.fillStyle = TEXT;
  ctx.font = `700 ${Math.round(104 * s)}px ${font}`;
  ctx.fillText(ellipsize(ctx, o.title, W - 2 * pad), pad, 150 * s);
  const figures = [
    `${n.toLocaleString('en-US')} channels`,
    `${model.source.length.toLocaleString('en-US')} overlaps`,
    `${model.communities.length.toLocaleString('en-US')} communities`,
    ...(sm && Number.isFinite(sm.modularity) ? [`modularity ${sm.modularity.toFixed(3)}`] : []),
  ].join('  ·  ');
  ctx.fillStyle = MUTED;
  ctx.font = `400 ${Math.round(44 * s)}px ${font}`;
  ctx.fillText(ellipsize(ctx, figures, W - 2 * pad), pad, 228 * s);

  drawLegend(ctx, model, o, legend, s, font, m);

  // Footer: attribution on the left, how to read it on the right.
  ctx.textBaseline = 'alphabetic';
  ctx.font = `400 ${Math.round(30 * s)}px ${font}`;
  ctx.fillStyle = MUTED;
  const note = 'Node size: unique chatters · colour: community · lines: shared chatters (strongest shown)';
  ctx.textAlign = 'left';
  ctx.fillText(ellipsize(ctx, o.attribution || 'Made with ViewerAtlas', W * 0.55), pad, H - 50 * s);
  ctx.textAlign = 'right';
  ctx.fillText(ellipsize(ctx, note, W * 0.4), W - pad, H - 50 * s);

  return {
    png: canvas.toBuffer('image/png'),
    labels: { communities: communityLabels, channels: channelLabels },
    labelBoxes,
    edgesDrawn: m,
    legend,
  };
}

function drawLegend(
  ctx: SKRSContext2D,
  model: RenderModel,
  o: PngOptions,
  box: Box,
  s: number,
  font: string,
  edgesDrawn: number,
): void {
  ctx.fillStyle = 'rgba(255,255,255,0.035)';
  ctx.strokeStyle = 'rgba(255,255,255,0.08)';
  ctx.lineWidth = 2 * s;
  ctx.beginPath();
  ctx.roundRect(box.x, box.y, box.w, box.h, 28 * s);
  ctx.fill();
  ctx.stroke();
  const x = box.x + 44 * s;
  let y = box.y + 90 * s;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.fillStyle = TEXT;
  ctx.font = `700 ${Math.round(50 * s)}px ${font}`;
  ctx.fillText('Communities', x, y);
  y += 30 * s;
  const rowH = 92 * s;
  const reserve = 330 * s; // room below the list for the scale notes
  const fitRows = Math.max(1, Math.floor((box.y + box.h - y - reserve) / rowH));
  const shown = model.communities.slice(0, Math.min(o.legendEntries, fitRows));
  const inner = box.w - 88 * s;
  for (const row of shown) {
    y += rowH;
    const color = model.colorOf(row.community);
    ctx.beginPath();
    ctx.arc(x + 18 * s, y - 30 * s, 18 * s, 0, 2 * Math.PI);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.fillStyle = TEXT;
    ctx.font = `600 ${Math.round(34 * s)}px ${font}`;
    ctx.fillText(
      ellipsize(ctx, row.label || `Community ${row.community}`, inner - 60 * s),
      x + 56 * s,
      y - 18 * s,
    );
    ctx.fillStyle = MUTED;
    ctx.font = `400 ${Math.round(26 * s)}px ${font}`;
    const top = row.topChannels.slice(0, 3).join(', ');
    const sub = `${row.size.toLocaleString('en-US')} channels${top ? ` · ${top}` : ''}`;
    ctx.fillText(ellipsize(ctx, sub, inner - 60 * s), x + 56 * s, y + 18 * s);
  }
  const rest = model.communities.length - shown.length;
  if (rest > 0) {
    y += 70 * s;
    ctx.fillStyle = MUTED;
    ctx.font = `400 ${Math.round(30 * s)}px ${font}`;
    ctx.fillText(`+ ${rest} smaller ${rest === 1 ? 'community' : 'communities'}`, x, y);
  }
  // Scale notes at the bottom of the column.
  let by = box.y + box.h - 190 * s;
  ctx.fillStyle = MUTED;
  ctx.font = `400 ${Math.round(28 * s)}px ${font}`;
  const total = model.source.length;
  const edgesNote =
    edgesDrawn < total
      ? `Lines: the ${edgesDrawn.toLocaleString('en-US')} strongest of ${total.toLocaleString('en-US')} overlaps`
      : `Lines: all ${total.toLocaleString('en-US')} overlaps`;
  ctx.fillText(ellipsize(ctx, edgesNote, inner), x, by);
  by += 48 * s;
  ctx.fillText(ellipsize(ctx, 'Layout: ForceAtlas2 (LinLog); near = shared chatters', inner), x, by);
  by += 48 * s;
  ctx.fillText(ellipsize(ctx, 'Node area grows with unique chatters', inner), x, by);
}

/** A smaller copy of a PNG (for docs and previews), keeping the aspect ratio. */
export async function downscalePng(png: Buffer, width: number): Promise<Buffer> {
  const { loadImage } = await import('@napi-rs/canvas');
  const img = await loadImage(png);
  const w = Math.min(width, img.width);
  const h = Math.round((img.height * w) / img.width);
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(img, 0, 0, w, h);
  return canvas.toBuffer('image/png');
}
