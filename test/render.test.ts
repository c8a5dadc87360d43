import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { readAnalysisFolder } from '../src/export/read.js';
import { writeAnalysisFolder } from '../src/export/write.js';
import { buildPayload, scriptSafeJson } from '../src/render/html.js';
import { renderAtlas } from '../src/render/index.js';
import { computeLayout, runLayout, strongestLinks } from '../src/render/layout.js';
import { buildRenderModel } from '../src/render/model.js';
import { assignCommunityColors, PALETTE } from '../src/render/palette.js';
import { renderPng } from '../src/render/png.js';
import { decodePng, distinctColours, makeAnalysisFolder, overlappingLabels } from './render-helpers.js';

const root = join(import.meta.dirname, '..');
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'va-render-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Two 30-node cliques joined by one weak edge. */
function twoCliques() {
  const src: number[] = [];
  const tgt: number[] = [];
  const w: number[] = [];
  for (const base of [0, 30]) {
    for (let i = 0; i < 30; i++) {
      for (let j = i + 1; j < 30; j++) {
        src.push(base + i);
        tgt.push(base + j);
        w.push(1);
      }
    }
  }
  src.push(0);
  tgt.push(30);
  w.push(0.1);
  return {
    nodeCount: 60,
    source: Uint32Array.from(src),
    target: Uint32Array.from(tgt),
    weight: Float64Array.from(w),
  };
}

describe('layout', () => {
  it('is deterministic, seeded, separates communities, and gives the same result in the worker', async () => {
    const g = twoCliques();
    const a = computeLayout(g, { iterations: 200, seed: 3 });
    const b = computeLayout(g, { iterations: 200, seed: 3 });
    const c = computeLayout(g, { iterations: 200, seed: 4 });
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
    // Mean distance inside a clique is much smaller than between the two clique centres.
    const centre = (from: number) => {
      let x = 0;
      let y = 0;
      for (let i = from; i < from + 30; i++) {
        x += a.x[i];
        y += a.y[i];
      }
      return [x / 30, y / 30];
    };
    const [c0, c1] = [centre(0), centre(30)];
    let spread = 0;
    for (let i = 0; i < 30; i++) spread += Math.hypot(a.x[i] - c0[0], a.y[i] - c0[1]) / 30;
    expect(Math.hypot(c0[0] - c1[0], c0[1] - c1[1])).toBeGreaterThan(2 * spread);
    // The worker runs the same kernel on the same matrices: bit-identical positions.
    const big = { ...g, nodeCount: 300 }; // above the inline threshold; nodes 60..299 are isolated
    const inline = computeLayout(big, { iterations: 50, worker: false });
    const worker = await runLayout(big, { iterations: 50, worker: true });
    expect(worker.inWorker).toBe(true);
    expect(Array.from(worker.x)).toEqual(Array.from(inline.x));
  });

  it('uses Barnes-Hut above the configured size', () => {
    const g = twoCliques();
    expect(computeLayout(g, { iterations: 1, barnesHutAbove: 100 }).barnesHut).toBe(false);
    expect(computeLayout(g, { iterations: 1, barnesHutAbove: 10 }).barnesHut).toBe(true);
  });
});

describe('palette', () => {
  it('gives strongly linked communities different colours', () => {
    // A path 0-1-2-…-19 of communities plus a triangle 0-1-2: no neighbours share a colour.
    const adj = (c: number): [number, number][] =>
      [c - 1, c + 1, ...(c <= 2 ? [0, 1, 2] : [])]
        .filter((d) => d >= 0 && d < 20 && d !== c)
        .map((d) => [d, 1]);
    const colors = assignCommunityColors(20, adj);
    for (let c = 0; c < 20; c++) for (const [d] of adj(c)) expect(colors[c]).not.toBe(colors[d]);
    expect(new Set(colors.slice(0, PALETTE.length)).size).toBeGreaterThan(8);
  });
});

describe('renderAtlas on the 2021 Twitch data', () => {
  let dir: string;
  let result: Awaited<ReturnType<typeof renderAtlas>>;
  beforeAll(async () => {
    dir = join(tmp, 'atlas');
    await makeAnalysisFolder(dir, { maxChannels: 600 });
    const config = loadConfig({
      overrides: { render: { png_width: 1600, png_height: 1200 }, layout: { iterations: 150 } },
    });
    result = await renderAtlas(config, { dir });
  });

  it('lays out, writes positions back and renders a PNG with a legend', async () => {
    expect(result.laidOut).toBe(true);
    expect(result.layoutInWorker).toBe(true);
    const folder = await readAnalysisFolder(dir);
    expect(folder.channels.every((c) => Number.isFinite(c.x) && Number.isFinite(c.y))).toBe(true);
    expect(readFileSync(join(dir, 'atlas.gexf'), 'utf8')).toMatch(/<viz:position x="-?\d/);

    const img = await decodePng(readFileSync(result.png));
    expect([img.width, img.height]).toEqual([1600, 1200]);
    expect(distinctColours(img.region(0, 0, img.width, img.height), 97)).toBeGreaterThan(50);
    // The legend column (right 30%) holds community swatches: saturated pixels well off the background.
    const legend = img.region(Math.floor(img.width * 0.72), 200, Math.floor(img.width * 0.26), 400);
    let saturated = 0;
    for (let i = 0; i < legend.length; i += 4) {
      const [r, g, b] = [legend[i], legend[i + 1], legend[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 80) saturated++;
    }
    expect(saturated).toBeGreaterThan(200);
  });

  it('re-renders without a new layout, with identical positions', async () => {
    const before = readFileSync(join(dir, 'channels.csv'), 'utf8');
    const again = await renderAtlas(
      loadConfig({ overrides: { render: { png_width: 800, png_height: 800 } } }),
      { dir },
    );
    expect(again.laidOut).toBe(false);
    expect(readFileSync(join(dir, 'channels.csv'), 'utf8')).toBe(before);
  });

  it('labels communities and channels without any two labels overlapping', async () => {
    const model = buildRenderModel(await readAnalysisFolder(dir));
    const out = renderPng(model, { width: 2000, height: 2000, channelLabels: 80 });
    expect(out.labels.communities).toBeGreaterThan(5);
    expect(out.labels.channels).toBeGreaterThan(30);
    expect(overlappingLabels(out.labelBoxes)).toEqual([]);
  });
});

describe('html payload', () => {
  it('escapes markup in the embedded JSON and caps edges', async () => {
    const dir = join(tmp, 'small');
    await makeAnalysisFolder(dir, {
      maxChannels: 200,
      rename: { shroud: '</script><img src=x onerror=alert(1)>' },
    });
    const folder = await readAnalysisFolder(dir);
    for (const [i, c] of folder.channels.entries()) {
      c.x = i;
      c.y = -i;
    }
    const model = buildRenderModel(folder);
    const payload = buildPayload(model, { maxEdges: 100 });
    expect(payload.edges.length).toBe(300);
    expect(payload.edgesTotal).toBe(model.source.length);
    // The strongest overlaps per node come from ALL edges, sorted.
    const i = payload.nodes.name.indexOf('</script><img src=x onerror=alert(1)>');
    expect(i).toBeGreaterThanOrEqual(0);
    const top = payload.top[i];
    expect(top.length).toBe(20);
    for (let k = 3; k < top.length; k += 2) expect(top[k]).toBeLessThanOrEqual(top[k - 2]);
    const json = scriptSafeJson(payload);
    expect(json).not.toMatch(/[<>]/);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(payload)));
  });

  it('draws a PNG for a graph whose positions are all equal (no division by zero)', () => {
    const model = buildRenderModel({
      summary: null,
      channels: ['a', 'b'].map((channel) => ({
        channel,
        community: 0,
        label: 'x',
        group: 0,
        groupLabel: 'x',
        viewers: 1,
        degree: 1,
        strength: 1,
        language: '',
        game: '',
        x: 0,
        y: 0,
      })),
      communities: [],
      edges: [{ source: 'a', target: 'b', weight: 1, shared: 1 }],
    });
    const out = renderPng(model, { width: 400, height: 400 });
    expect(out.png.subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('degenerate folders', () => {
  const summary = {
    version: 1 as const,
    createdAt: '2026-11-26T00:00:00.000Z',
    input: { kind: 'edges' as const, paths: [] },
    counts: {
      presenceRows: 0,
      rowsRejected: 0,
      channels: 1,
      viewers: 0,
      edges: 0,
      communities: 0,
      groups: 0,
      unassigned: 1,
      botsRemoved: 0,
    },
    modularity: 0,
    modularityByLevel: { group: 0, community: 0 },
    parameters: {},
    timings: {},
  };
  const row = {
    label: '',
    group: -1,
    groupLabel: '',
    viewers: 10,
    degree: 0,
    strength: 0,
    language: '',
    game: '',
    x: Number.NaN,
    y: Number.NaN,
  };

  it('draws one unassigned channel with no edges', async () => {
    const dir = join(tmp, 'lonely');
    await writeAnalysisFolder(
      dir,
      { summary, channels: [{ channel: 'alone', community: -1, ...row }], communities: [], edges: [] },
      { parquet: false },
    );
    const r = await renderAtlas(loadConfig({ overrides: { render: { png_width: 300, png_height: 300 } } }), {
      dir,
    });
    expect(r.laidOut).toBe(true);
    expect((await decodePng(readFileSync(r.png))).width).toBe(300);
    expect(readFileSync(r.html, 'utf8')).toContain('"alone"');
  });

  it('refuses a folder whose channels.csv has no channel (exit-1 error naming the file)', async () => {
    const dir = join(tmp, 'empty');
    await writeAnalysisFolder(dir, { summary, channels: [], communities: [], edges: [] }, { parquet: false });
    await expect(renderAtlas(loadConfig({}), { dir })).rejects.toThrow(/channels\.csv: no channels to draw/);
  });
});

describe('vieweratlas render', () => {
  it('fails with exit 1 and names channels.csv when the folder is not an analysis folder', () => {
    const r = spawnSync(
      process.execPath,
      ['bin/vieweratlas.mjs', 'render', '--out', join(tmp, 'nothing-here')],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/channels\.csv not found/);
  });
});

describe('strongestLinks (layout on big graphs)', () => {
  it("keeps at most maxEdges, each node's strongest link, and nothing when small enough", () => {
    // a star of heavy spokes plus a ring of light links: 8 nodes, 14 edges
    const source: number[] = [];
    const target: number[] = [];
    const weight: number[] = [];
    for (let i = 1; i < 8; i++) {
      source.push(0, i);
      target.push(i, i === 7 ? 1 : i + 1);
      weight.push(10 + i, i / 10);
    }
    const input = {
      nodeCount: 8,
      source: Uint32Array.from(source),
      target: Uint32Array.from(target),
      weight: Float64Array.from(weight),
    };
    expect(strongestLinks(input, 14)).toBe(input);
    const kept = strongestLinks(input, 8); // k = 1 link per node
    expect(kept.source.length).toBeLessThanOrEqual(8);
    // every spoke (each leaf's strongest link) survives; ring links only where a node had none
    for (let i = 1; i < 8; i++) {
      const has = [...kept.source].some((s, e) => s === 0 && kept.target[e] === i);
      expect(has, `spoke to ${i}`).toBe(true);
    }
    expect([...kept.weight].every((w) => w > 10)).toBe(true);
    expect(strongestLinks(input, 8)).toEqual(kept);
  });
});
