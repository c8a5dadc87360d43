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
  /** Community names drawn on the map at most (biggest first; those without room are left out). */
  communityLabels: number;
}

export const DEFAULTS: PngOptions = {
  width: 4000,
  height: 4000,
  channelLabels: 60,
  title: 'ViewerAtlas',
  attribution: '',
  maxEdges: 30_000,
  legendEntries: 24,
  communityLabels: 60,
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
const CROSS = '#9aa4b8';
/** Unassigned channels (no community): dimmed, no glow, never labelled as a community. */
const DIM_ALPHA = 0.38;

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
 * Where a region's name goes: the centre of its densest part. The member with the most fellow
 * members within `radius` (a sample of at most 400 when the region is big), each counted by its
 * `mass` (√audience: where the region's audience is, not a pile of its smallest channels), anchors
 * it, and the label sits at the mean of those neighbours — on the cluster itself, where a centroid
 * or median could fall in the empty space between two lobes.
 */
function densestPoint(
  list: number[],
  px: Float64Array,
  py: Float64Array,
  radius: number,
  mass: Float64Array,
): [number, number] {
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
      if (dx * dx + dy * dy <= r2) count += mass[j];
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
  /** Labels drawn: group names, community names and channel names. */
  labels: { groups: number; communities: number; channels: number };
  /** Size in pixels of each label drawn, by kind (tests check groups read larger). */
  labelSizes: { groups: number[]; communities: number[] };
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
    const ga = model.group[a];
    // Inside a community: its colour; between communities of one group: the group's; else grey.
    const color = same
      ? model.colorOf(ca)
      : ga === model.group[b] && ga >= 0
        ? model.groupColorOf(ga)
        : CROSS;
    const level = Math.min(levels - 1, Math.floor(((m - e) / Math.max(m, 1)) * levels));
    const keyStr = `${color}|${level}`;
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
    const sameCommunity = color !== CROSS;
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
    if (model.community[i] < 0) continue;
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
    const unassigned = model.community[i] < 0;
    const color = model.colorOf(model.community[i]);
    ctx.beginPath();
    ctx.arc(px[i], py[i], radius[i], 0, 2 * Math.PI);
    ctx.fillStyle = unassigned ? rgba(color, DIM_ALPHA) : color;
    ctx.fill();
    ctx.strokeStyle = unassigned ? 'rgba(8,10,15,0.3)' : 'rgba(8,10,15,0.55)';
    ctx.stroke();
  }

  // Labels: group names first (large: they name the regions), then community names (smaller),
  // then the biggest channel of each community, then the biggest channels overall; each placed
  // where it overlaps nothing.
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
  const groupMembers = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = model.community[i];
    if (c < 0) continue;
    for (const [map, id] of [
      [members, c],
      [groupMembers, model.group[i]],
    ] as const) {
      const list = map.get(id);
      if (list) list.push(i);
      else map.set(id, [i]);
    }
  }
  const labelled = new Set<number>();
  const labelBoxes: Box[] = [];
  const pending: { text: string; x: number; y: number; size: number; weight: number; color: string }[] = [];
  const minCommunity = Math.max(3, Math.floor(n * 0.004));
  const spots: [number, number][] = [
    [0, 0],
    [0, -1.3],
    [0, 1.3],
    [-0.5, -2.6],
    [0.5, 2.6],
    [-0.6, 0],
    [0.6, 0],
    [0, -3.9],
    [0, 3.9],
  ];
  /** A region's name near the centre of its densest part; may cross nodes, never another label. */
  const mass = Float64Array.from(model.viewers, (v) => Math.sqrt(Math.max(0, v)) + 1e-9);
  const regionLabel = (
    list: number[],
    label: string,
    size: number,
    weight: number,
    color: string,
    max: number,
    reach = 0.06,
  ) => {
    const [x, y] = densestPoint(list, px, py, Math.min(map.w, map.h) * reach, mass);
    ctx.font = `${weight} ${size}px ${font}`;
    const text = ellipsize(ctx, label, max);
    const w = ctx.measureText(text).width;
    const h = size * 1.25;
    const placed = boxes.place(
      spots.map(([dx, dy]) => ({ x: x - w / 2 + dx * w, y: y - h / 2 + dy * h, w, h })),
      map,
    );
    if (!placed) return false;
    labelBoxes.push(placed);
    pending.push({ text, x: placed.x, y: placed.y + h / 2, size, weight, color });
    return true;
  };
  let groupLabels = 0;
  let communityLabels = 0;
  const labelSizes: PngResult['labelSizes'] = { groups: [], communities: [] };
  if (!model.flat) {
    for (const g of model.groups) {
      const list = groupMembers.get(g.group);
      if (!list || list.length < minCommunity) continue;
      const size = Math.round((54 + 30 * Math.min(1, list.length / (n * 0.25))) * s);
      if (
        regionLabel(
          list,
          g.label || `Group ${g.group}`,
          size,
          800,
          shade(model.groupColorOf(g.group), 0.6),
          1000 * s,
          0.09,
        )
      ) {
        groupLabels++;
        labelSizes.groups.push(size);
      }
    }
  }
  for (const row of model.communities.slice(0, o.communityLabels)) {
    const list = members.get(row.community);
    if (!list || list.length < minCommunity) continue;
    // A group of one community: the group's name already names it.
    if (!model.flat && (groupMembers.get(row.group)?.length ?? 0) === list.length && groupLabels > 0)
      continue;
    const size = model.flat
      ? Math.round((44 + 22 * Math.min(1, list.length / (n * 0.15))) * s)
      : Math.round((30 + 14 * Math.min(1, list.length / (n * 0.08))) * s);
    if (
      regionLabel(
        list,
        row.label || `Community ${row.community}`,
        size,
        700,
        shade(model.colorOf(row.community), model.flat ? 0.45 : 0.3),
        (model.flat ? 900 : 700) * s,
      )
    ) {
      communityLabels++;
      labelSizes.communities.push(size);
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
  // Region names last so they are drawn above channel labels and edges (groups on top).
  for (const p of [...pending].reverse()) drawText(p.text, p.x, p.y, p.size, p.weight, p.color);

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
    ...(model.flat ? [] : [`${model.groups.length.toLocaleString('en-US')} groups`]),
    `${model.communities.length.toLocaleString('en-US')} communities`,
    ...(model.unassigned > 0 ? [`${model.unassigned.toLocaleString('en-US')} unassigned`] : []),
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
  const note = model.flat
    ? 'Node size: unique chatters · colour: community · lines: shared chatters (strongest shown)'
    : 'Node size: unique chatters · hue: group, shade: community · grey: unassigned · lines: shared chatters';
  ctx.textAlign = 'left';
  ctx.fillText(ellipsize(ctx, o.attribution || 'Made with ViewerAtlas', W * 0.55), pad, H - 50 * s);
  ctx.textAlign = 'right';
  ctx.fillText(ellipsize(ctx, note, W * 0.4), W - pad, H - 50 * s);

  return {
    png: canvas.toBuffer('image/png'),
    labels: { groups: groupLabels, communities: communityLabels, channels: channelLabels },
    labelBoxes,
    labelSizes,
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
  ctx.fillText(model.flat ? 'Communities' : 'Groups and communities', x, y);
  y += 30 * s;
  const inner = box.w - 88 * s;
  const bottom = box.y + box.h - 330 * s; // room below the list for the scale notes
  const groupH = 84 * s;
  const rowH = model.flat ? 92 * s : 62 * s;
  // With groups: every group that fits, and under each as many of its biggest communities as the
  // column has room for (the same number per group, at most 8).
  const tail = 70 * s * ((model.unassigned > 0 ? 1 : 0) + 1);
  const height = (list: LegendRow[]) => list.reduce((h, r) => h + (r.kind === 'group' ? groupH : rowH), 0);
  let rows = legendRows(model, o.legendEntries);
  if (!model.flat) {
    for (let each = 8; each >= 0; each--) {
      rows = legendRows(model, Number.POSITIVE_INFINITY, each);
      if (height(rows) <= bottom - tail - y) break;
    }
  }
  let shownCommunities = 0;
  for (const row of rows) {
    const h = row.kind === 'group' ? groupH : rowH;
    if (y + h > bottom - tail) break;
    y += h;
    if (row.kind === 'group') {
      const g = row.group;
      ctx.fillStyle = model.groupColorOf(g.group);
      ctx.beginPath();
      ctx.roundRect(x, y - 46 * s, 36 * s, 36 * s, 8 * s);
      ctx.fill();
      ctx.fillStyle = TEXT;
      ctx.font = `800 ${Math.round(38 * s)}px ${font}`;
      ctx.fillText(ellipsize(ctx, g.label || `Group ${g.group}`, inner - 60 * s), x + 56 * s, y - 16 * s);
      ctx.fillStyle = MUTED;
      ctx.font = `400 ${Math.round(26 * s)}px ${font}`;
      const sub = `${g.size.toLocaleString('en-US')} channels · ${g.communities} ${g.communities === 1 ? 'community' : 'communities'}`;
      ctx.fillText(ellipsize(ctx, sub, inner - 60 * s), x + 56 * s, y + 18 * s);
      if (g.communities === 1) shownCommunities++;
      continue;
    }
    const c = row.community;
    shownCommunities++;
    const indent = model.flat ? 0 : 56 * s;
    ctx.beginPath();
    ctx.arc(x + indent + 18 * s, y - (model.flat ? 30 : 16) * s, (model.flat ? 18 : 14) * s, 0, 2 * Math.PI);
    ctx.fillStyle = model.colorOf(c.community);
    ctx.fill();
    ctx.fillStyle = TEXT;
    if (model.flat) {
      ctx.font = `600 ${Math.round(34 * s)}px ${font}`;
      ctx.fillText(
        ellipsize(ctx, c.label || `Community ${c.community}`, inner - 60 * s),
        x + 56 * s,
        y - 18 * s,
      );
      ctx.fillStyle = MUTED;
      ctx.font = `400 ${Math.round(26 * s)}px ${font}`;
      const top = c.topChannels.slice(0, 3).join(', ');
      const sub = `${c.size.toLocaleString('en-US')} channels${top ? ` · ${top}` : ''}`;
      ctx.fillText(ellipsize(ctx, sub, inner - 60 * s), x + 56 * s, y + 18 * s);
    } else {
      // One line per community: its name, then its size in the muted colour.
      ctx.font = `600 ${Math.round(30 * s)}px ${font}`;
      const sizeText = ` ${c.size.toLocaleString('en-US')}`;
      const name = ellipsize(ctx, c.label || `Community ${c.community}`, inner - indent - 140 * s);
      ctx.fillText(name, x + indent + 50 * s, y - 6 * s);
      const w = ctx.measureText(name).width;
      ctx.fillStyle = MUTED;
      ctx.font = `400 ${Math.round(26 * s)}px ${font}`;
      ctx.fillText(sizeText, x + indent + 50 * s + w, y - 6 * s);
    }
  }
  const rest = model.communities.length - shownCommunities;
  ctx.fillStyle = MUTED;
  ctx.font = `400 ${Math.round(30 * s)}px ${font}`;
  if (rest > 0) {
    y += 70 * s;
    ctx.fillText(`+ ${rest} smaller ${rest === 1 ? 'community' : 'communities'}`, x, y);
  }
  if (model.unassigned > 0) {
    // Unassigned channels are not a community: listed apart, in their dimmed colour.
    y += 70 * s;
    ctx.beginPath();
    ctx.arc(x + 18 * s, y - 10 * s, 14 * s, 0, 2 * Math.PI);
    ctx.fillStyle = rgba(model.colorOf(-1), DIM_ALPHA + 0.2);
    ctx.fill();
    ctx.fillStyle = MUTED;
    ctx.fillText(
      ellipsize(
        ctx,
        `${model.unassigned.toLocaleString('en-US')} unassigned (no overlap kept)`,
        inner - 56 * s,
      ),
      x + 56 * s,
      y,
    );
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

type LegendRow =
  | { kind: 'group'; group: RenderModel['groups'][number] }
  | { kind: 'community'; community: RenderModel['communities'][number] };

/**
 * The legend's rows: flat, the biggest communities; with groups, each group (biggest first) with
 * its biggest communities under it, at most `entries` communities in all, and at most a few per
 * group when many groups share the column.
 */
export function legendRows(model: RenderModel, entries: number, perGroup?: number): LegendRow[] {
  if (model.flat)
    return model.communities.slice(0, entries).map((community) => ({ kind: 'community', community }));
  const rows: LegendRow[] = [];
  const each = perGroup ?? Math.max(2, Math.ceil(entries / Math.max(1, Math.min(model.groups.length, 6))));
  let left = entries;
  for (const group of model.groups) {
    rows.push({ kind: 'group', group });
    const inside = model.communities.filter((c) => c.group === group.group);
    // A group of one community: the group row says it all.
    if (inside.length === 1) continue;
    for (const community of inside.slice(0, Math.min(each, left))) {
      rows.push({ kind: 'community', community });
      left--;
    }
  }
  return rows;
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
