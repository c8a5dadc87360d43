/**
 * The script inside atlas.html (bundled by esbuild at render time, runs offline in a browser).
 * Every string from the data reaches the page through textContent or sigma's canvas labels,
 * never through innerHTML, so a channel named `<img src=x onerror=…>` shows as text.
 */
import { UndirectedGraph } from 'graphology';
import Sigma from 'sigma';
import type { AtlasPayload } from './payload.js';

const data = JSON.parse(document.getElementById('atlas-data')?.textContent ?? '{}') as AtlasPayload;
const N = data.nodes.name.length;
const byId = new Map(data.communities.map((c) => [c.id, c]));
const byGroup = new Map(data.groups.map((g) => [g.id, g]));
const colorOf = (community: number) => byId.get(community)?.color ?? data.unassignedColor;
/** Unassigned channels are drawn dimmed: in no community, they are background. */
const DIM = hexToRgba(data.unassignedColor, 0.45);
const fmt = (v: number) => v.toLocaleString('en-US');
const fmtWeight = (w: number) =>
  Number.isInteger(w) ? fmt(w) : w < 0.001 ? w.toExponential(2) : w.toFixed(3);

/** Creates an element with text (never markup). */
function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`atlas: missing #${id}`);
  return e;
}

$('title').textContent = data.title;
document.title = data.title;
$('attribution').textContent = data.attribution;
const drawn = data.edges.length / 3;
$('stats').textContent = [
  `${fmt(N)} channels`,
  `${fmt(data.edgesTotal)} overlaps`,
  ...(data.flat ? [] : [`${fmt(data.groups.length)} groups`]),
  `${fmt(data.communities.length)} communities`,
  ...(data.unassigned > 0 ? [`${fmt(data.unassigned)} unassigned`] : []),
].join(' · ');
const capNote = $('cap-note');
if (drawn < data.edgesTotal) {
  capNote.textContent = `Showing the ${fmt(drawn)} strongest of ${fmt(data.edgesTotal)} overlaps (capped for speed; panels list every overlap).`;
  capNote.hidden = false;
}

// ---- statistics (summary.json): viewers, channels, graph, top channels, bots by rule ------
if (data.statistics) {
  const st = data.statistics;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const num = (x: number, d = 2) => (Number.isInteger(x) ? fmt(x) : x.toFixed(d));
  const dist = (d?: { mean: number; median: number; max: number }) =>
    d ? `mean ${num(d.mean)}, median ${num(d.median)}, max ${fmt(d.max)}` : '';
  const rows: [string, string][] = [
    ...(st.viewers
      ? ([
          ['viewers', fmt(st.viewers.total)],
          ['repeat viewers (≥ 2 days)', `${fmt(st.viewers.repeat)} (${pct(st.viewers.repeatShare)})`],
          ['one-off viewers', fmt(st.viewers.oneOff)],
        ] as [string, string][])
      : []),
    ...(st.channelsPerViewer
      ? ([['channels per viewer', dist(st.channelsPerViewer)]] as [string, string][])
      : []),
    ...(st.viewersPerChannel
      ? ([['viewers per channel', dist(st.viewersPerChannel)]] as [string, string][])
      : []),
    ['graph density', st.graph.density.toPrecision(3)],
    ['isolated channels', fmt(st.graph.isolatedChannels)],
    ['mean / max edge weight', `${num(st.graph.meanWeight, 4)} / ${num(st.graph.maxWeight, 4)}`],
    [
      'top channels by degree',
      st.topByDegree
        .slice(0, 5)
        .map((r) => `${r.channel} (${fmt(r.value)})`)
        .join(', '),
    ],
    [
      'top channels by strength',
      st.topByStrength
        .slice(0, 5)
        .map((r) => `${r.channel} (${num(r.value)})`)
        .join(', '),
    ],
    ...(st.botsRemoved
      ? ([
          [
            'bots removed',
            `${fmt(st.botsRemoved.total)} (known list ${fmt(st.botsRemoved.known)}, behaviour ${fmt(st.botsRemoved.behavioural)})`,
          ],
        ] as [string, string][])
      : []),
  ];
  const table = $('statistics-table');
  for (const [k, v] of rows) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.textContent = k;
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(th, td);
    table.append(tr);
  }
  $('statistics').hidden = false;
}

// ---- graph -------------------------------------------------------------------------------
const graph = new UndirectedGraph();
let vmax = 0;
for (let i = 0; i < N; i++) vmax = Math.max(vmax, data.nodes.viewers[i]);
const sizeScale = Math.max(0.5, Math.min(1.2, Math.sqrt(2000 / Math.max(N, 1))));
for (let i = 0; i < N; i++) {
  const unassigned = data.nodes.community[i] < 0;
  graph.addNode(String(i), {
    x: data.nodes.x[i],
    y: data.nodes.y[i],
    size:
      (2 + 16 * Math.sqrt(vmax > 0 ? data.nodes.viewers[i] / vmax : 0)) * sizeScale * (unassigned ? 0.7 : 1),
    color: unassigned ? DIM : colorOf(data.nodes.community[i]),
    label: data.nodes.name[i],
    community: data.nodes.community[i],
  });
}
const alphaBase = Math.max(0.04, Math.min(0.25, 2500 / Math.max(drawn, 1)));
function hexToRgba(hex: string, a: number): string {
  const v = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255},${(v >> 8) & 255},${v & 255},${a.toFixed(3)})`;
}
// Edge colours are precomputed strings at a few alpha levels: sigma caches parsed colours by
// string, so 100,000 distinct rgba() strings would each be parsed (seconds at 100k edges).
const ALPHA_LEVELS = 6;
const CROSS = '#9aa4b8';
const edgeColours = new Map<string, string>();
function edgeColour(hex: string, level: number): string {
  const key = `${hex}|${level}`;
  let c = edgeColours.get(key);
  if (c === undefined) {
    // Edges across communities are grey and fainter: they would otherwise haze over the middle.
    const across = hex === CROSS ? 0.5 : 1;
    c = hexToRgba(hex, across * alphaBase * (0.5 + (level + 0.5) / ALPHA_LEVELS));
    edgeColours.set(key, c);
  }
  return c;
}
for (let e = drawn - 1; e >= 0; e--) {
  const s = data.edges[3 * e];
  const t = data.edges[3 * e + 1];
  const w = data.edges[3 * e + 2];
  const key = `${s}-${t}`;
  if (graph.hasEdge(key)) continue;
  const sc = data.nodes.community[s];
  const tc = data.nodes.community[t];
  const base = sc === tc ? colorOf(sc) : CROSS;
  const strength = 1 - e / Math.max(drawn, 1);
  graph.addEdgeWithKey(key, String(s), String(t), {
    weight: w,
    base,
    color: edgeColour(base, Math.min(ALPHA_LEVELS - 1, Math.floor(strength * ALPHA_LEVELS))),
    size: 0.4 + strength,
    sc,
    tc,
  });
}

const hiddenCommunities = new Set<number>();
let hovered: string | null = null;
let hoverNeighbours = new Set<string>();
let selected: string | null = null;

const container = $('graph');
const sigma = new Sigma(graph, container, {
  settings: {
    hideEdgesOnMove: drawn > 20_000,
    labelDensity: 0.5,
    labelGridCellSize: 120,
    labelRenderedSizeThreshold: 7,
    // Sizes in screen pixels (sigma 4 defaults to graph units, which depend on the layout's scale).
    itemSizesReference: 'screen',
    minCameraRatio: 0.02,
    maxCameraRatio: 4,
    stagePadding: 30,
  },
  nodeReducer: (key, d, attrs) => {
    const out: Record<string, unknown> = { labelColor: '#e8ecf3' };
    if (hiddenCommunities.has(attrs.community as number)) {
      out.visibility = 'hidden';
      return out;
    }
    if (hovered !== null) {
      if (key === hovered) {
        out.zIndex = 2;
        out.labelVisibility = 'visible';
        // Sigma's default hover backdrop is white: keep it dark so the light label stays readable.
        out.backdropColor = '#1b2030';
        out.backdropShadowColor = 'rgba(0,0,0,0.6)';
      } else if (hoverNeighbours.has(key)) {
        out.zIndex = 1;
      } else {
        out.color = '#2a2f3a';
        out.labelVisibility = 'hidden';
      }
    }
    if (key === selected) {
      out.labelVisibility = 'visible';
      out.zIndex = 3;
      out.size = d.size * 1.5;
    }
    return out;
  },
  // The common case returns nothing new: colour and size come from the edge's attributes.
  edgeReducer: (key, _d, attrs) => {
    if (
      hiddenCommunities.size > 0 &&
      (hiddenCommunities.has(attrs.sc as number) || hiddenCommunities.has(attrs.tc as number))
    ) {
      return { visibility: 'hidden' };
    }
    if (hovered !== null) {
      const s = graph.source(key);
      if (s === hovered || graph.target(key) === hovered) {
        return { color: hexToRgba(attrs.base as string, 0.7), size: (attrs.size as number) * 1.5, zIndex: 1 };
      }
      return { visibility: 'hidden' };
    }
    return {};
  },
});

function refresh(): void {
  sigma.refresh({ skipIndexation: true });
}

sigma.on('enterNode', ({ node }) => {
  hovered = node;
  hoverNeighbours = new Set(graph.neighbors(node));
  // The strongest overlaps light up too, even when their edge is beyond the drawing cap.
  for (let k = 0; k < data.top[Number(node)].length; k += 2)
    hoverNeighbours.add(String(data.top[Number(node)][k]));
  refresh();
});
sigma.on('leaveNode', () => {
  hovered = null;
  hoverNeighbours = new Set();
  refresh();
});
sigma.on('clickNode', ({ node }) => showChannel(Number(node), false));
sigma.on('clickStage', () => {
  selected = null;
  refresh();
});

// ---- panel -------------------------------------------------------------------------------
const panel = $('panel');

function swatch(color: string): HTMLElement {
  const s = el('span', undefined, 'swatch');
  s.style.background = color;
  return s;
}

function channelLink(i: number): HTMLElement {
  const a = el('button', data.nodes.name[i], 'link');
  a.type = 'button';
  a.addEventListener('click', () => showChannel(i, true));
  return a;
}

function communityLink(id: number): HTMLElement {
  const c = byId.get(id);
  const b = el('button', undefined, 'link community-link');
  b.type = 'button';
  b.append(swatch(colorOf(id)), el('span', c ? c.label : 'Unassigned (no overlap kept)'));
  b.addEventListener('click', () => (c ? showCommunity(id) : showUnassigned()));
  return b;
}

function groupLink(id: number): HTMLElement {
  const g = byGroup.get(id);
  const b = el('button', undefined, 'link group-link');
  b.type = 'button';
  const sw = swatch(g ? g.color : data.unassignedColor);
  sw.classList.add('group-swatch');
  b.append(sw, el('span', g ? g.label : 'None'));
  if (g) b.addEventListener('click', () => showGroup(id));
  return b;
}

function shareList(title: string, shares: [string, number][]): HTMLElement[] {
  if (shares.length === 0) return [];
  const ul = el('ul', undefined, 'shares');
  for (const [name, share] of shares) {
    const li = el('li');
    li.append(
      el('span', name),
      el('span', Number.isFinite(share) ? `${Math.round(share * 100)}%` : '', 'num'),
    );
    ul.append(li);
  }
  return [el('h3', title), ul];
}

function openPanel(kind: 'channel' | 'community' | 'group' | 'unassigned', nodes: HTMLElement[]): void {
  panel.replaceChildren(...nodes);
  panel.dataset.kind = kind;
  panel.hidden = false;
  const close = el('button', '×', 'close');
  close.type = 'button';
  close.setAttribute('aria-label', 'Close panel');
  close.addEventListener('click', () => {
    panel.hidden = true;
    selected = null;
    refresh();
  });
  panel.prepend(close);
}

function focusNode(i: number): void {
  const d = sigma.getNodeDisplayData(String(i));
  if (d) void sigma.getCamera().animate({ x: d.x, y: d.y, ratio: 0.3 }, { duration: 600 });
}

function showChannel(i: number, focus: boolean): void {
  selected = String(i);
  const community = data.nodes.community[i];
  if (hiddenCommunities.has(community)) setHidden([community], false);
  const h = el('h2', data.nodes.name[i], 'channel-name');
  const meta = el('dl');
  const row = (k: string, v: HTMLElement | string) => {
    const dd = el('dd');
    if (typeof v === 'string') dd.textContent = v;
    else dd.append(v);
    meta.append(el('dt', k), dd);
  };
  row('Community', communityLink(community));
  if (!data.flat && community >= 0) row('Group', groupLink(data.nodes.group[i]));
  row('Audience', `${fmt(data.nodes.viewers[i])} unique chatters`);
  if (data.nodes.game[i]) row('Game', data.nodes.game[i]);
  if (data.nodes.language[i]) row('Language', data.nodes.language[i]);
  const list = el('ol', undefined, 'overlaps');
  const top = data.top[i];
  for (let k = 0; k < top.length; k += 2) {
    const li = el('li');
    li.append(
      swatch(colorOf(data.nodes.community[top[k]])),
      channelLink(top[k]),
      el('span', fmtWeight(top[k + 1]), 'num'),
    );
    list.append(li);
  }
  openPanel('channel', [
    h,
    meta,
    el('h3', `Top ${top.length / 2} overlaps (${data.weightKind})`),
    top.length > 0 ? list : el('p', 'No overlaps above the thresholds.', 'muted'),
  ]);
  panel.dataset.community = String(community);
  panel.dataset.group = String(data.nodes.group[i]);
  panel.dataset.channel = data.nodes.name[i];
  if (focus) focusNode(i);
  refresh();
}

function showCommunity(id: number): void {
  const c = byId.get(id);
  if (!c) return;
  const h = el('h2', undefined, 'community-name');
  h.append(swatch(c.color), el('span', c.label));
  const list = el('ol', undefined, 'top-channels');
  const index = new Map(data.nodes.name.map((n, i) => [n, i]));
  for (const name of c.topChannels) {
    const i = index.get(name);
    const li = el('li');
    li.append(i === undefined ? el('span', name) : channelLink(i));
    if (i !== undefined) li.append(el('span', fmt(data.nodes.viewers[i]), 'num'));
    list.append(li);
  }
  const inGroup = data.flat ? [] : [el('p', undefined, 'muted in-group')];
  if (inGroup[0]) inGroup[0].append(el('span', 'In '), groupLink(c.group));
  openPanel('community', [
    h,
    ...inGroup,
    el('p', `${fmt(c.size)} channels · ${fmt(c.viewers)} chatters (summed over channels)`, 'muted'),
    el('h3', 'Top channels'),
    list,
    ...shareList('Games', c.games),
    ...shareList('Languages', c.languages),
  ]);
  panel.dataset.community = String(id);
  panel.dataset.group = String(c.group);
  delete panel.dataset.channel;
}

const nameIndex = new Map(data.nodes.name.map((n, i) => [n, i]));

function channelList(names: string[], cls: string): HTMLElement {
  const list = el('ol', undefined, cls);
  for (const name of names) {
    const i = nameIndex.get(name);
    const li = el('li');
    li.append(i === undefined ? el('span', name) : channelLink(i));
    if (i !== undefined) li.append(el('span', fmt(data.nodes.viewers[i]), 'num'));
    list.append(li);
  }
  return list;
}

function showGroup(id: number): void {
  const g = byGroup.get(id);
  if (!g) return;
  const h = el('h2', undefined, 'community-name');
  const sw = swatch(g.color);
  sw.classList.add('group-swatch');
  h.append(sw, el('span', g.label));
  const list = el('ol', undefined, 'group-communities');
  for (const cid of g.communities) {
    const c = byId.get(cid);
    if (!c) continue;
    const li = el('li');
    li.append(communityLink(cid), el('span', fmt(c.size), 'num'));
    list.append(li);
  }
  openPanel('group', [
    h,
    el(
      'p',
      `${fmt(g.size)} channels in ${fmt(g.communities.length)} ${g.communities.length === 1 ? 'community' : 'communities'}`,
      'muted',
    ),
    el('h3', 'Communities'),
    list,
    el('h3', 'Top channels'),
    channelList(g.topChannels, 'top-channels'),
    ...shareList('Games', g.games),
    ...shareList('Languages', g.languages),
  ]);
  panel.dataset.group = String(id);
  delete panel.dataset.community;
  delete panel.dataset.channel;
}

function showUnassigned(): void {
  const names: string[] = [];
  for (let i = 0; i < N; i++) if (data.nodes.community[i] < 0) names.push(data.nodes.name[i]);
  names.sort((a, b) => data.nodes.viewers[nameIndex.get(b)!] - data.nodes.viewers[nameIndex.get(a)!]);
  openPanel('unassigned', [
    el('h2', 'Unassigned channels'),
    el(
      'p',
      `${fmt(names.length)} channels with no overlap left after the cuts: in no community, drawn dimmed.`,
      'muted',
    ),
    el('h3', 'Biggest'),
    channelList(names.slice(0, 50), 'top-channels'),
  ]);
  delete panel.dataset.group;
  delete panel.dataset.community;
  delete panel.dataset.channel;
}

// ---- legend ------------------------------------------------------------------------------
// Grouped by group (collapse/expand); a checkbox on a group shows or hides all its communities,
// one on a community just that community; unassigned channels have an entry of their own (-1).
const legend = $('legend-items');
const expanded = new Set<number>();
function syncLegend(): void {
  for (const item of document.querySelectorAll<HTMLElement>('#legend [data-community]')) {
    const off = hiddenCommunities.has(Number(item.dataset.community));
    item.classList.toggle('off', off);
    const box = item.querySelector<HTMLInputElement>(':scope > input, :scope > .row > input');
    if (box) box.checked = !off;
  }
  for (const item of legend.querySelectorAll<HTMLElement>('[data-group]')) {
    const g = byGroup.get(Number(item.dataset.group))!;
    const hidden = g.communities.filter((c) => hiddenCommunities.has(c)).length;
    const box = item.querySelector<HTMLInputElement>(':scope > .row > input')!;
    box.checked = hidden < g.communities.length;
    box.indeterminate = hidden > 0 && hidden < g.communities.length;
    item.classList.toggle('off', hidden === g.communities.length);
    const open = expanded.has(g.id);
    item.querySelector<HTMLElement>(':scope > ul')?.toggleAttribute('hidden', !open);
    const arrow = item.querySelector<HTMLElement>(':scope > .row > .expand');
    if (arrow) {
      arrow.textContent = open ? '▾' : '▸';
      arrow.setAttribute('aria-expanded', String(open));
    }
  }
}
function setHidden(ids: number[], hide: boolean): void {
  for (const id of ids) {
    if (hide) hiddenCommunities.add(id);
    else hiddenCommunities.delete(id);
  }
  syncLegend();
  refresh();
}
function toggleCommunity(id: number): void {
  setHidden([id], !hiddenCommunities.has(id));
}
function toggleGroup(id: number): void {
  const g = byGroup.get(id);
  if (!g) return;
  // Any community shown → hide them all; all hidden → show them all.
  setHidden(
    g.communities,
    g.communities.some((c) => !hiddenCommunities.has(c)),
  );
}
function checkbox(label: string, onChange: () => void): HTMLInputElement {
  const toggle = el('input');
  toggle.type = 'checkbox';
  toggle.checked = true;
  toggle.title = `Show or hide ${label}`;
  toggle.setAttribute('aria-label', `Show ${label}`);
  toggle.addEventListener('change', onChange);
  return toggle;
}
function communityItem(c: AtlasPayload['communities'][number]): HTMLElement {
  const li = el('li');
  li.dataset.community = String(c.id);
  const name = el('button', undefined, 'link');
  name.type = 'button';
  name.append(swatch(c.color), el('span', c.label));
  name.addEventListener('click', () => showCommunity(c.id));
  li.append(
    checkbox(c.label, () => toggleCommunity(c.id)),
    name,
    el('span', fmt(c.size), 'num'),
  );
  return li;
}
if (data.flat) {
  for (const c of data.communities) legend.append(communityItem(c));
} else {
  $('legend-title').textContent = 'Groups and communities';
  for (const g of data.groups) {
    const li = el('li', undefined, 'group');
    li.dataset.group = String(g.id);
    const row = el('div', undefined, 'row');
    const arrow = el('button', '▸', 'expand');
    arrow.type = 'button';
    arrow.setAttribute('aria-label', `Expand or collapse ${g.label}`);
    arrow.addEventListener('click', () => {
      if (expanded.has(g.id)) expanded.delete(g.id);
      else expanded.add(g.id);
      syncLegend();
    });
    const name = el('button', undefined, 'link');
    name.type = 'button';
    const sw = swatch(g.color);
    sw.classList.add('group-swatch');
    name.append(sw, el('span', g.label));
    name.addEventListener('click', () => showGroup(g.id));
    row.append(
      arrow,
      checkbox(g.label, () => toggleGroup(g.id)),
      name,
      el('span', fmt(g.size), 'num'),
    );
    const members = el('ul', undefined, 'members');
    for (const id of g.communities) {
      const c = byId.get(id);
      if (c) members.append(communityItem(c));
    }
    li.append(row, members);
    legend.append(li);
  }
  // The biggest group starts open when there are few.
  if (data.groups.length > 0 && data.groups.length <= 3) expanded.add(data.groups[0].id);
}
if (data.unassigned > 0) {
  const li = el('li');
  li.dataset.community = '-1';
  li.dataset.unassigned = 'true';
  const name = el('button', undefined, 'link');
  name.type = 'button';
  name.append(swatch(DIM), el('span', 'Unassigned (no overlap kept)'));
  name.addEventListener('click', () => showUnassigned());
  li.append(
    checkbox('unassigned channels', () => toggleCommunity(-1)),
    name,
    el('span', fmt(data.unassigned), 'num'),
  );
  $('legend-unassigned').append(li);
}
syncLegend();
$('legend-all').addEventListener('click', () => {
  const all = [...data.communities.map((c) => c.id), ...(data.unassigned > 0 ? [-1] : [])];
  setHidden(all, hiddenCommunities.size === 0);
});

// ---- search ------------------------------------------------------------------------------
const input = $('search') as HTMLInputElement;
const results = $('search-results');
const lower = data.nodes.name.map((n) => n.toLowerCase());
let matches: number[] = [];
function search(q: string): number[] {
  const needle = q.trim().toLowerCase();
  if (needle === '') return [];
  const exact: number[] = [];
  const prefix: number[] = [];
  const inside: number[] = [];
  for (let i = 0; i < N; i++) {
    if (lower[i] === needle) exact.push(i);
    else if (lower[i].startsWith(needle)) prefix.push(i);
    else if (lower[i].includes(needle)) inside.push(i);
  }
  const byAudience = (a: number, b: number) => data.nodes.viewers[b] - data.nodes.viewers[a];
  return [...exact, ...prefix.sort(byAudience), ...inside.sort(byAudience)].slice(0, 12);
}
function choose(i: number): void {
  results.replaceChildren();
  results.hidden = true;
  input.value = data.nodes.name[i];
  showChannel(i, true);
}
input.addEventListener('input', () => {
  matches = search(input.value);
  results.replaceChildren(
    ...matches.map((i) => {
      const li = el('li');
      const b = el('button', undefined, 'link');
      b.type = 'button';
      b.append(swatch(colorOf(data.nodes.community[i])), el('span', data.nodes.name[i]));
      b.addEventListener('click', () => choose(i));
      li.append(b, el('span', fmt(data.nodes.viewers[i]), 'num'));
      return li;
    }),
  );
  results.hidden = matches.length === 0;
});
input.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') {
    const found = matches.length > 0 ? matches : search(input.value);
    if (found.length > 0) choose(found[0]);
    else {
      results.replaceChildren(el('li', `No channel matches “${input.value}”.`, 'muted'));
      results.hidden = false;
    }
  } else if (ev.key === 'Escape') {
    results.hidden = true;
  }
});

// For tests and the curious: read-only handles (no data path goes through HTML).
(window as unknown as { atlas: unknown }).atlas = {
  sigma,
  graph,
  hiddenCommunities,
  expanded,
  search,
  nodeVisible: (name: string) => {
    const i = data.nodes.name.indexOf(name);
    return i >= 0 && sigma.getNodeDisplayData(String(i))?.visibility !== 'hidden';
  },
  /** The hovered channel's name, or null. */
  hovered: () => (hovered === null ? null : data.nodes.name[Number(hovered)]),
  /** Where a channel is drawn, in page pixels. */
  pagePosition: (name: string) => {
    const d = sigma.getNodeDisplayData(String(data.nodes.name.indexOf(name)));
    if (!d) return null;
    const v = sigma.framedGraphToViewport(d);
    const r = container.getBoundingClientRect();
    return { x: v.x + r.left, y: v.y + r.top };
  },
  /** The colour a channel is drawn with now (dimmed while another channel is hovered). */
  drawnColor: (name: string) => sigma.getNodeDisplayData(String(data.nodes.name.indexOf(name)))?.color,
};
document.body.dataset.ready = 'true';
