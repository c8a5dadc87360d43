/**
 * The atlas with two levels: the layout forms separated regions on hub-heavy real data (the 2021
 * graph with raw shared-chatter weights), the PNG colours groups by hue and communities by shade,
 * labels both levels without overlaps, and draws unassigned channels dimmed and outside the legend.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import type { ChannelRow } from '../src/model/atlas.js';
import { computeLayout, layoutOptionsFromConfig } from '../src/render/layout.js';
import { layoutQuality } from '../src/render/layout-quality.js';
import { buildRenderModel, layoutInput } from '../src/render/model.js';
import { toLab } from '../src/render/palette.js';
import { legendRows, renderPng } from '../src/render/png.js';
import { decodePng, makeHierarchy, overlappingLabels } from './render-helpers.js';

/** The layout as the CLI runs it (config defaults), inline. */
function layoutOf(model: ReturnType<typeof buildRenderModel>, iterations?: number) {
  const options = { ...layoutOptionsFromConfig(loadConfig({}).layout), worker: false };
  return computeLayout(layoutInput(model), iterations ? { ...options, iterations } : options);
}

describe('layout on hub-heavy real data', () => {
  it('forms one region per community and per group, without rays into the biggest hubs', () => {
    // Raw shared-chatter weights: the biggest channels hold the heaviest edges of every community.
    const model = buildRenderModel(makeHierarchy({ raw: true, maxChannels: 1000 }));
    expect(model.groups.length).toBeGreaterThan(8);
    expect(model.communities.length).toBeGreaterThan(30);
    const { x, y } = layoutOf(model);
    const fine = layoutQuality(x, y, model.community, model.viewers, { group: model.group });
    const top = layoutQuality(x, y, model.group, model.viewers);
    // The layout before (raw weights, no damping, communities seeded flat) gave 0.64 here.
    expect(fine.ownCentroid).toBeGreaterThan(0.8);
    expect(fine.silhouette).toBeGreaterThan(0.3);
    expect(fine.hubPull).toBeLessThan(0.03);
    expect(top.ownCentroid).toBeGreaterThan(0.75);
    expect(top.silhouette).toBeGreaterThan(0.3);
  }, 150_000);
});

/** Hue angle in degrees (CIELAB). */
const hue = (hex: string) => {
  const [, a, b] = toLab(hex);
  return (Math.atan2(b, a) * 180) / Math.PI;
};
const hueGap = (p: string, q: string) => {
  const d = Math.abs(hue(p) - hue(q)) % 360;
  return Math.min(d, 360 - d);
};

describe('atlas.png with two levels', () => {
  const data = makeHierarchy({ maxChannels: 600 });
  data.channels.push({
    ...data.channels[0],
    channel: 'lonely_channel',
    community: -1,
    label: '',
    group: -1,
    groupLabel: '',
    degree: 0,
  } satisfies ChannelRow);
  const model0 = buildRenderModel(data);
  const { x, y } = layoutOf(model0, 150);
  data.channels.forEach((c, i) => {
    c.x = x[i];
    c.y = y[i];
  });
  const model = buildRenderModel(data);

  it('gives each group a hue family: communities share their group hue and differ in shade', () => {
    expect(model.flat).toBe(false);
    const multi = model.groups.filter((g) => g.communities >= 2);
    expect(multi.length).toBeGreaterThan(2);
    const inside: number[] = [];
    for (const g of multi) {
      const colours = model.communities
        .filter((c) => c.group === g.group)
        .map((c) => model.colorOf(c.community));
      expect(new Set(colours).size, g.label).toBe(colours.length);
      for (const c of colours) inside.push(hueGap(c, model.groupColorOf(g.group)));
    }
    const bases = model.groups.slice(0, 8).map((g) => model.groupColorOf(g.group));
    const between: number[] = [];
    for (let i = 0; i < bases.length; i++)
      for (let j = i + 1; j < bases.length; j++) between.push(hueGap(bases[i], bases[j]));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(Math.max(...inside)).toBeLessThanOrEqual(50);
    expect(mean(inside)).toBeLessThan(mean(between) / 2);
  });

  it('labels both levels, group names larger, no two labels overlapping', () => {
    const out = renderPng(model, { width: 2000, height: 2000, channelLabels: 60 });
    expect(out.labels.groups).toBeGreaterThan(4);
    expect(out.labels.communities).toBeGreaterThan(5);
    expect(Math.min(...out.labelSizes.groups)).toBeGreaterThan(Math.max(...out.labelSizes.communities));
    expect(overlappingLabels(out.labelBoxes)).toEqual([]);
  });

  it('lists communities under their group in the legend, never the unassigned channels', () => {
    const rows = legendRows(model, 24);
    expect(rows[0].kind).toBe('group');
    let group = -1;
    for (const r of rows) {
      if (r.kind === 'group') group = r.group.group;
      else {
        expect(r.community.group).toBe(group);
        expect(r.community.community).toBeGreaterThanOrEqual(0);
      }
    }
    expect(model.unassigned).toBe(1);
    expect(model.communities.some((c) => c.community < 0)).toBe(false);
  });

  it('draws an unassigned channel dimmed', async () => {
    // Three big channels far apart: two in a community, one unassigned.
    const row = (channel: string, community: number, cx: number): ChannelRow => ({
      channel,
      community,
      label: community < 0 ? '' : 'pair',
      group: community < 0 ? -1 : 0,
      groupLabel: community < 0 ? '' : 'region',
      viewers: 1000,
      degree: community < 0 ? 0 : 1,
      strength: 0,
      language: '',
      game: '',
      x: cx,
      y: 0,
    });
    const tiny = buildRenderModel({
      summary: null,
      channels: [row('a', 0, 0), row('b', 0, 50), row('c', -1, 100)],
      communities: [],
      edges: [{ source: 'a', target: 'b', weight: 1, shared: 1 }],
    });
    const out = renderPng(tiny, { width: 1000, height: 1000, channelLabels: 0 });
    const img = await decodePng(out.png);
    // Node centres: the map spans x 0..100 symmetrically; sample a few pixels inside each disc.
    const px = (i: number) => {
      const map = { x: 17.5, w: 1000 - 230 - 35 };
      const inner = 15 + 62 * 0.25 * Math.min(1.2, Math.max(0.35, Math.sqrt(2000 / 3)));
      return Math.round(map.x + inner + ((map.w - 2 * inner) * i) / 2);
    };
    const cy = Math.round(75 + (1000 - 75 - 27.5 - 17.5) / 2);
    const brightness = (x: number) => {
      const p = img.region(x - 2, cy - 2, 5, 5);
      let m = 0;
      for (let k = 0; k < p.length; k += 4) m = Math.max(m, p[k], p[k + 1], p[k + 2]);
      return m;
    };
    expect(brightness(px(0))).toBeGreaterThan(150);
    expect(brightness(px(2))).toBeLessThan(80);
    expect(brightness(px(2))).toBeGreaterThan(25);
  });
});

describe('render model of a folder written before the hierarchy', () => {
  it('treats each community as its own group and an empty community cell as unassigned', () => {
    const old = (channel: string, community: number) =>
      ({
        channel,
        community,
        label: `c${community}`,
        viewers: 10,
        degree: 1,
        strength: 1,
        language: '',
        game: '',
        x: 0,
        y: 0,
      }) as unknown as ChannelRow; // no group / groupLabel: an old channels.csv
    const model = buildRenderModel({
      summary: null,
      channels: [old('a', 0), old('b', 0), old('c', 1), old('d', Number.NaN)],
      communities: [],
      edges: [
        { source: 'a', target: 'b', weight: 1, shared: 1 },
        { source: 'b', target: 'c', weight: 1, shared: 1 },
      ],
    });
    expect(model.flat).toBe(true);
    expect(model.groups.map((g) => g.group)).toEqual([0, 1]);
    expect(Array.from(model.group)).toEqual([0, 0, 1, -1]);
    expect(Array.from(model.community)).toEqual([0, 0, 1, -1]);
    expect(model.unassigned).toBe(1);
    expect(model.colorOf(0)).not.toBe(model.colorOf(1));
    expect(legendRows(model, 10).every((r) => r.kind === 'community')).toBe(true);
  });

  it('draws a group level that only repeats the communities (no group holds two) flat', () => {
    const row = (channel: string, community: number): ChannelRow => ({
      channel,
      community,
      label: `c${community}`,
      group: community + 10,
      groupLabel: `g${community}`,
      viewers: 10,
      degree: 1,
      strength: 1,
      language: '',
      game: '',
      x: 0,
      y: 0,
    });
    const model = buildRenderModel({
      summary: null,
      channels: [row('a', 0), row('b', 0), row('c', 1)],
      communities: [],
      edges: [{ source: 'a', target: 'c', weight: 1, shared: 1 }],
    });
    expect(model.flat).toBe(true);
    expect(model.groupColorOf(10)).toBe(model.colorOf(0));
    expect(model.colorOf(0)).not.toBe(model.colorOf(1));
  });
});
