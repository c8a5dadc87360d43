/**
 * `npm run bench -- render`:
 * 1. layout separation before → after (src/render/layout-quality.ts: own-centroid share, silhouette,
 *    hub pull, per community and per group) on the real 2021 graph with raw shared-chatter weights
 *    (default `analyze`, hub-heavy) and on the 10,000-channel planted graph, with layout times;
 * 2. time of the render stages on the 10,000-channel / 100,000-edge graph (planted communities in
 *    groups, Zipf audiences, seeded);
 * 3. the whole `vieweratlas demo` as a user runs it.
 * BENCH_RENDER_CHANNELS / BENCH_RENDER_EDGES change the size; BENCH_RENDER_SKIP=demo,big skip parts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../src/analysis/rng.js';
import { loadConfig } from '../src/config/index.js';
import { readAnalysisFolder } from '../src/export/read.js';
import { writeAnalysisFolder } from '../src/export/write.js';
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow } from '../src/model/atlas.js';
import { analyze } from '../src/pipeline/analyze.js';
import {
  type AnalysisData,
  buildRenderModel,
  computeLayout,
  layoutInput,
  renderAtlas,
} from '../src/render/index.js';
import { type LayoutOptions, layoutOptionsFromConfig } from '../src/render/layout.js';
import { layoutQuality } from '../src/render/layout-quality.js';

const N = Number(process.env.BENCH_RENDER_CHANNELS ?? 10_000);
const M = Number(process.env.BENCH_RENDER_EDGES ?? 100_000);
const K = 40;
/** Planted groups: communities 0..4 form group 0, 5..9 group 1, … (a region of five scenes). */
const PER_GROUP = 5;
const root = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'va-render-bench-'));

function syntheticFolder() {
  const rng = createRng(11);
  // Community sizes ∝ 1/(rank+3): a few big ones and a long tail, like real platforms.
  const weights = Array.from({ length: K }, (_, i) => 1 / (i + 3));
  const total = weights.reduce((a, b) => a + b, 0);
  const community = new Int32Array(N);
  let next = 0;
  for (let c = 0; c < K; c++) {
    const size = c === K - 1 ? N - next : Math.round((weights[c] / total) * N);
    for (let i = 0; i < size && next < N; i++) community[next++] = c;
  }
  const members: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < N; i++) members[community[i]].push(i);
  const groupOf = (c: number) => Math.floor(c / PER_GROUP);
  const groupMembers: number[][] = Array.from({ length: Math.ceil(K / PER_GROUP) }, () => []);
  for (let i = 0; i < N; i++) groupMembers[groupOf(community[i])].push(i);
  const channels: ChannelRow[] = Array.from({ length: N }, (_, i) => ({
    channel: `channel_${i}`,
    community: community[i],
    label: `community ${community[i]}`,
    group: groupOf(community[i]),
    groupLabel: `region ${groupOf(community[i])}`,
    viewers: Math.round(2_000_000 / (1 + i) ** 0.9 / (0.5 + rng())),
    degree: 0,
    strength: 0,
    language: 'en',
    game: `game ${community[i] % 12}`,
    x: Number.NaN,
    y: Number.NaN,
  }));
  const seen = new Set<string>();
  const edges: EdgeRow[] = [];
  while (edges.length < M) {
    const a = Math.floor(rng() * N);
    // 70% inside the community, 15% to another community of its group, 15% anywhere.
    const r = rng();
    const intra = r < 0.7;
    const pool = intra ? members[community[a]] : r < 0.85 ? groupMembers[groupOf(community[a])] : null;
    const b = pool ? pool[Math.floor(rng() * pool.length)] : Math.floor(rng() * N);
    if (a === b) continue;
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const weight = intra ? 0.05 + 0.45 * rng() : 0.01 + 0.09 * rng();
    edges.push({
      source: channels[a].channel,
      target: channels[b].channel,
      weight,
      shared: Math.round(weight * 1000),
    });
  }
  const communities: CommunityRow[] = members.map((list, c) => {
    const sorted = [...list].sort((x, y) => channels[y].viewers - channels[x].viewers);
    return {
      community: c,
      label: `community ${c}`,
      group: groupOf(c),
      size: list.length,
      viewers: list.reduce((s, i) => s + channels[i].viewers, 0),
      games: [{ name: `game ${c % 12}`, share: 1 }],
      languages: [{ name: 'en', share: 1 }],
      topChannels: sorted.slice(0, 10).map((i) => channels[i].channel),
    };
  });
  const summary: AtlasSummary = {
    version: 1,
    createdAt: new Date(0).toISOString(),
    input: { kind: 'edges', paths: ['synthetic'] },
    counts: {
      presenceRows: 0,
      rowsRejected: 0,
      channels: N,
      viewers: 0,
      edges: M,
      communities: K,
      groups: groupMembers.length,
      unassigned: 0,
      botsRemoved: 0,
    },
    modularity: Number.NaN,
    modularityByLevel: { group: Number.NaN, community: Number.NaN },
    parameters: {},
    timings: {},
  };
  return { summary, channels, communities, edges };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const skip = new Set((process.env.BENCH_RENDER_SKIP ?? '').split(','));

/** The layout before this change: raw weights, every edge alike, communities seeded on one spiral. */
const BEFORE: Partial<LayoutOptions> = { weights: 'raw', betweenCommunities: 1, betweenGroups: 1 };

function separation(name: string, data: AnalysisData) {
  const model = buildRenderModel(data);
  const base = { ...layoutOptionsFromConfig(loadConfig({}).layout), worker: false };
  console.log(
    `\n${name}: ${model.channels.length.toLocaleString('en-US')} channels, ${model.source.length.toLocaleString('en-US')} edges, ${model.flat ? 'no group level (each community its own group)' : `${model.groups.length} groups`}, ${model.communities.length} communities`,
  );
  console.log(
    '  layout                      | wall   | cpu    | community: own  silh.  hub pull | group: own  silh.',
  );
  for (const [label, opts, groups] of [
    ['before (raw, flat seeding)', BEFORE, false],
    ['after (defaults)', {}, true],
  ] as const) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const input = layoutInput(model);
    const r = computeLayout(groups ? input : { ...input, group: undefined }, { ...base, ...opts });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const c = layoutQuality(r.x, r.y, model.community, model.viewers, { group: model.group });
    const g = layoutQuality(r.x, r.y, model.group, model.viewers);
    const f = (v: number) => v.toFixed(3).padStart(6);
    console.log(
      `  ${label.padEnd(27)} | ${s(ms).padStart(6)} | ${s(cpuMs).padStart(6)} | ${f(c.ownCentroid)} ${f(c.silhouette)} ${f(c.hubPull)}   | ${f(g.ownCentroid)} ${f(g.silhouette)}`,
    );
  }
}

try {
  console.log(
    'Layout separation (own: share of channels nearest their own centroid; silh.: silhouette of positions; hub pull: share of small-community channels nearer a foreign top-10 hub than their own centroid)',
  );
  const raw = join(tmp, 'raw2021');
  await analyze(loadConfig({}), {
    inputs: [
      join(root, 'assets', 'atlas-2021-10', 'twitch-atlas-2021-10-edges.csv'),
      join(root, 'assets', 'atlas-2021-10', 'twitch-atlas-2021-10-channels.csv'),
    ],
    out: raw,
  });
  separation(
    '2021 Twitch graph, raw shared-chatter weights (default analyze)',
    await readAnalysisFolder(raw),
  );
  if (!skip.has('big'))
    separation(`planted graph, ${K} communities in ${K / PER_GROUP} groups`, syntheticFolder());
  const dir = join(tmp, 'big');
  await writeAnalysisFolder(dir, syntheticFolder(), { parquet: false });
  const config = loadConfig({});
  console.log(
    `\nrender, ${N.toLocaleString('en-US')} channels / ${M.toLocaleString('en-US')} edges (default config: ${config.layout.iterations} FA2 iterations, Barnes-Hut, worker; ${config.render.png_width}×${config.render.png_height} PNG)`,
  );
  const t0 = performance.now();
  const r = await renderAtlas(config, { dir });
  const t = r.timings;
  console.log(
    `  layout ${s(t.layout)} (incl. writing positions back), png ${s(t.png)}, html ${s(t.html)}; total ${s(performance.now() - t0)}`,
  );
  console.log(
    `  atlas.png ${(statSync(r.png).size / 1e6).toFixed(1)} MB, atlas.html ${(statSync(r.html).size / 1e6).toFixed(1)} MB`,
  );

  if (!skip.has('demo')) {
    console.log('\nvieweratlas demo (2,200 channels / 82,275 edges, bundled 2021 data), as a user runs it:');
    const d0 = performance.now();
    const demo = spawnSync(process.execPath, ['bin/vieweratlas.mjs', 'demo', '--out', join(tmp, 'demo')], {
      cwd: root,
      encoding: 'utf8',
    });
    if (demo.status !== 0) throw new Error(`demo failed: ${demo.stderr}`);
    console.log(`  wall ${s(performance.now() - d0)} (budget 60 s)`);
    console.log(`  ${demo.stdout.split('\n')[1]?.trim()}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
