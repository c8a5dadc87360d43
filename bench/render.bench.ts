/**
 * `npm run bench -- render`: time of the render stages on a 10,000-channel / 100,000-edge graph
 * (planted communities, Zipf audiences, seeded), then the whole `vieweratlas demo` as a user runs it.
 * BENCH_RENDER_CHANNELS / BENCH_RENDER_EDGES change the size.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../src/analysis/rng.js';
import { loadConfig } from '../src/config/index.js';
import { writeAnalysisFolder } from '../src/export/write.js';
import type { AtlasSummary, ChannelRow, CommunityRow, EdgeRow } from '../src/model/atlas.js';
import { renderAtlas } from '../src/render/index.js';

const N = Number(process.env.BENCH_RENDER_CHANNELS ?? 10_000);
const M = Number(process.env.BENCH_RENDER_EDGES ?? 100_000);
const K = 40;
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
  const channels: ChannelRow[] = Array.from({ length: N }, (_, i) => ({
    channel: `channel_${i}`,
    community: community[i],
    label: `community ${community[i]}`,
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
    const intra = rng() < 0.8;
    const pool = intra ? members[community[a]] : null;
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
      botsRemoved: 0,
    },
    modularity: Number.NaN,
    parameters: {},
    timings: {},
  };
  return { summary, channels, communities, edges };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
try {
  const dir = join(tmp, 'big');
  await writeAnalysisFolder(dir, syntheticFolder(), { parquet: false });
  const config = loadConfig({});
  console.log(
    `render, ${N.toLocaleString('en-US')} channels / ${M.toLocaleString('en-US')} edges (default config: ${config.layout.iterations} FA2 iterations, Barnes-Hut, worker; ${config.render.png_width}×${config.render.png_height} PNG)`,
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

  console.log('\nvieweratlas demo (2,200 channels / 82,275 edges, bundled 2021 data), as a user runs it:');
  const d0 = performance.now();
  const demo = spawnSync(process.execPath, ['bin/vieweratlas.mjs', 'demo', '--out', join(tmp, 'demo')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (demo.status !== 0) throw new Error(`demo failed: ${demo.stderr}`);
  console.log(`  wall ${s(performance.now() - d0)} (budget 60 s)`);
  console.log(`  ${demo.stdout.split('\n')[1]?.trim()}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
