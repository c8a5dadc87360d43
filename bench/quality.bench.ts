/**
 * `npm run bench -- quality`: is the default community method right?
 * 1. Heavy-tailed planted sets (bench/quality-gen.ts): NMI of flat Leiden and of the default
 *    (two levels), with every set's parameters. Target: default NMI ≥ 0.95 on every set.
 * 2. The real October 2021 Twitch atlas, analysed exactly as the demo does (`analyze` with the
 *    default config on the bundled edge list + node file, raw weights): scene → its community →
 *    share of the scene's well-known channels (bench/quality-scenes.ts), the biggest community,
 *    and each big non-English language community's share in one top-level group.
 * 3. Calibration of the analytic null estimate against randomisations (subgraphs ≥ 200 channels).
 * 4. Cost: flat Leiden vs the default on the 10,000-channel simulate graph (median of 3, runs
 *    alternated) and on the real graph. BENCH_SCALE=0 skips the 10,000-channel graph.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  aggregate,
  buildOverlapGraph,
  detectCommunities,
  graphFromEdgeTable,
  nmi,
  type OverlapGraph,
} from '../src/analysis/index.js';
import { loadConfig } from '../src/config/index.js';
import { DEMO_INPUTS } from '../src/demo/offline.js';
import { analyze } from '../src/pipeline/analyze.js';
import { ATLAS_EDGES, ATLAS_NODES, readAtlas2021 } from '../test/fixtures/analysis/atlas2021.js';
import { type HeavyTailOptions, heavyTail, simulateTable } from './quality-gen.js';
import { ENGLISH_SCENES, LANGUAGES } from './quality-scenes.js';

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 1. Heavy-tailed planted sets.
const BASE: Omit<HeavyTailOptions, 'seed'> = {
  communities: 60,
  minSize: 5,
  sizeShape: 1.2,
  maxSize: 500,
  giant: 0,
  mixing: 0.3,
  viewers: 150_000,
  meanVisits: 4,
  zipf: 0.9,
};
const SETS: { name: string; o: HeavyTailOptions }[] = [
  { name: 'tail-60', o: { ...BASE, seed: 1 } },
  { name: 'few-20', o: { ...BASE, communities: 20, minSize: 8, maxSize: 600, mixing: 0.5, seed: 2 } },
  { name: 'many-150', o: { ...BASE, communities: 150, mixing: 0.4, viewers: 250_000, seed: 3 } },
  {
    name: 'giant',
    o: { ...BASE, communities: 40, maxSize: 300, giant: 800, mixing: 0.5, viewers: 200_000, seed: 4 },
  },
  {
    name: 'sparse',
    o: { ...BASE, communities: 50, mixing: 0.4, viewers: 300_000, meanVisits: 1.7, seed: 5 },
  },
  { name: 'mixing-0.6', o: { ...BASE, communities: 40, minSize: 6, mixing: 0.6, viewers: 200_000, seed: 6 } },
];

console.log(
  '\n1. heavy-tailed planted sets (Pareto community sizes, Zipf popularity; default analyze settings)',
);
console.log(
  `  ${pad('set', 11)}${pad('k', 5)}${pad('sizes (max…min)', 17)}${pad('giant', 6)}${pad('mix', 5)}${pad('viewers', 9)}` +
    `${pad('ch/viewer', 10)}${pad('channels', 9)}${pad('edges', 8)}| ${pad('flat k', 7)}${pad('NMI', 7)}| ` +
    `${pad('groups', 7)}${pad('k', 5)}${pad('NMI', 7)}`,
);
const splitLog: { set: string; size: number; estimate: number; sampled: number }[] = [];
let worst = 1;
for (const { name, o } of SETS) {
  const h = heavyTail(o);
  const graph = buildOverlapGraph(aggregate(h.table));
  const truth = graph.nodeNames.map((n) => h.truth.get(n)!);
  const flat = detectCommunities(graph, { hierarchy: false });
  const def = detectCommunities(graph);
  const sorted = [...h.sizes].sort((a, b) => b - a);
  const score = nmi(truth, def.membership);
  worst = Math.min(worst, score);
  console.log(
    `  ${pad(name, 11)}${pad(o.communities, 5)}${pad(`${sorted[0]}…${sorted.at(-1)}`, 17)}${pad(o.giant || '-', 6)}` +
      `${pad(o.mixing, 5)}${pad(o.viewers, 9)}${pad(h.channelsPerViewer.toFixed(2), 10)}${pad(graph.nodeNames.length, 9)}` +
      `${pad(graph.length, 8)}| ${pad(flat.count, 7)}${pad(nmi(truth, flat.membership).toFixed(3), 7)}| ` +
      `${pad(def.groups.count, 7)}${pad(def.count, 5)}${pad(score.toFixed(3), 7)}${score >= 0.95 ? '' : ' < 0.95'}`,
  );
  // For the calibration table: the same sets, always randomising.
  for (const s of detectCommunities(graph, { nullEstimate: false }).splits) {
    if (s.size >= 200)
      splitLog.push({
        set: name,
        size: s.size,
        estimate: 0.97 / Math.sqrt((2 * s.edges) / s.size),
        sampled: s.nullModularity[0]!,
      });
  }
}
console.log(
  `  worst default NMI ${worst.toFixed(3)} (target ≥ 0.95); zipf ${BASE.zipf}, size shape ${BASE.sizeShape}`,
);

// 2. The real 2021 atlas, as the demo analyses it.
console.log('\n2. real Twitch atlas, October 2021: `analyze` with the default config on the demo inputs');
const same =
  readFileSync(DEMO_INPUTS[0]!).equals(readFileSync(ATLAS_EDGES)) &&
  readFileSync(DEMO_INPUTS[1]!).equals(readFileSync(ATLAS_NODES));
console.log(
  `  inputs: ${DEMO_INPUTS.join(' + ')} (${same ? 'byte-identical to' : 'DIFFERENT from'} ${ATLAS_EDGES})`,
);
const config = loadConfig({});
const out = await mkdtemp(join(tmpdir(), 'va-quality-'));
let t = performance.now();
const real = await analyze(config, { inputs: DEMO_INPUTS, out });
const analyzeMs = performance.now() - t;
await rm(out, { recursive: true, force: true });
const c = real.summary.counts;
console.log(
  `  ${c.channels} channels, ${c.edges} edges → ${c.groups} groups, ${c.communities} communities, ${c.unassigned} unassigned; ` +
    `modularity ${real.summary.modularityByLevel.group.toFixed(3)} (groups) / ${real.summary.modularityByLevel.community.toFixed(3)} (communities); ${Math.round(analyzeMs)} ms`,
);
const rowOf = new Map(real.channels.map((r) => [r.channel.toLowerCase(), r]));
const communityOf = new Map(real.communities.map((r) => [r.community, r]));
const groupOf = new Map(real.groups.map((r) => [r.group, r]));
const dominant = (names: string[], key: 'community' | 'group') => {
  const present = names
    .map((n) => rowOf.get(n.toLowerCase()))
    .filter((r) => r !== undefined && r.community >= 0);
  const count = new Map<number, number>();
  for (const r of present) count.set(r![key], (count.get(r![key]) ?? 0) + 1);
  const [id, n] = [...count].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] ?? [-1, 0];
  return {
    id,
    share: present.length > 0 ? n / present.length : 0,
    present: present.length,
    listed: names.length,
  };
};
console.log(
  `  ${pad('scene', 24)}${pad('found/listed', 13)}${pad('community', 10)}${pad('size', 6)}${pad('share', 7)}label`,
);
const used = new Map<number, string>();
let ownScenes = 0;
for (const [scene, names] of Object.entries(ENGLISH_SCENES)) {
  const d = dominant(names, 'community');
  const row = communityOf.get(d.id);
  const clash = used.get(d.id);
  used.set(d.id, scene);
  if (!clash) ownScenes++;
  console.log(
    `  ${pad(scene, 24)}${pad(`${d.present}/${d.listed}`, 13)}${pad(`#${d.id}`, 10)}${pad(row?.size ?? 0, 6)}` +
      `${pad(`${Math.round(d.share * 100)}%`, 7)}${row?.label ?? ''}${clash ? `  (same community as ${clash})` : ''}`,
  );
}
const biggest = [...real.communities].sort((a, b) => b.size - a.size)[0]!;
console.log(
  `  biggest fine community: #${biggest.community} ${biggest.label}, ${biggest.size} channels (target ≤ ~200)`,
);
console.log(
  `  scenes with a community of their own: ${ownScenes} of ${Object.keys(ENGLISH_SCENES).length} (a scene sharing its community with an earlier row is flagged)`,
);
console.log(
  `  ${pad('language', 24)}${pad('found/listed', 13)}${pad('group', 10)}${pad('size', 6)}${pad('share', 7)}label`,
);
for (const [language, names] of Object.entries(LANGUAGES)) {
  const d = dominant(names, 'group');
  const row = groupOf.get(d.id);
  console.log(
    `  ${pad(language, 24)}${pad(`${d.present}/${d.listed}`, 13)}${pad(`g${d.id}`, 10)}${pad(row?.size ?? 0, 6)}` +
      `${pad(`${Math.round(d.share * 100)}%`, 7)}${row?.label ?? ''}`,
  );
}

let languagesWhole = 0;
for (const names of Object.values(LANGUAGES)) if (dominant(names, 'group').share === 1) languagesWhole++;
console.log(`  languages whole in one group: ${languagesWhole} of ${Object.keys(LANGUAGES).length}`);

// 3. The analytic estimate against randomisations.
const realGraph = graphFromEdgeTable(readAtlas2021(true));
for (const s of detectCommunities(realGraph, { nullEstimate: false }).splits) {
  if (s.size >= 200)
    splitLog.push({
      set: 'real 2021',
      size: s.size,
      estimate: 0.97 / Math.sqrt((2 * s.edges) / s.size),
      sampled: s.nullModularity[0]!,
    });
}
console.log(
  '\n3. null model: 0.97/√(mean degree) vs the modularity Leiden finds on a randomisation (subgraphs ≥ 200 channels)',
);
const below = splitLog.filter((x) => x.estimate <= x.sampled).length;
const belowMargin = splitLog.filter((x) => 0.8 * x.estimate <= x.sampled).length;
const big = splitLog.filter((x) => x.size >= 300);
const ratios = big.map((x) => x.sampled / x.estimate);
for (const x of splitLog)
  console.log(
    `  ${pad(x.set, 12)}${lpad(x.size, 5)} channels  estimate ${x.estimate.toFixed(3)}  randomised ${x.sampled.toFixed(3)}`,
  );
console.log(
  `  estimate ≤ randomised on ${below} of ${splitLog.length} subgraphs (${big.filter((x) => x.estimate <= x.sampled).length} of ${big.length} from 300 channels); ` +
    `0.8 × estimate ≤ randomised on ${belowMargin} of ${splitLog.length}; ` +
    `randomised / estimate from 300 channels: ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} (the default decides on the estimate below 0.8 and above 3)`,
);

// 3b. No structure, no split; same input and seed, same output.
console.log('\n3b. random graphs (no structure) through the default options, and determinism');
{
  const { createRng } = await import('../src/analysis/rng.js');
  const randomGraph = (n: number, p: number, seed: number): OverlapGraph => {
    const rng = createRng(seed);
    const s: number[] = [];
    const tg: number[] = [];
    const w: number[] = [];
    for (let a = 0; a < n; a++)
      for (let b = a + 1; b < n; b++)
        if (rng() < p) {
          s.push(a);
          tg.push(b);
          w.push(1 + Math.floor(rng() * 5));
        }
    return {
      nodeNames: Array.from({ length: n }, (_, i) => `n${i}`),
      nodeAudience: new Float64Array(n),
      source: Uint32Array.from(s),
      target: Uint32Array.from(tg),
      shared: Float64Array.from(w),
      weight: Float64Array.from(w),
      length: s.length,
    };
  };
  let whole = 0;
  let tried = 0;
  const cases: string[] = [];
  for (const [n, p] of [
    [60, 0.3],
    [150, 0.1],
    [400, 0.03],
    [1000, 0.05],
  ] as const) {
    for (const seed of [1, 2, 3]) {
      const g = randomGraph(n, p, seed);
      const flatK = detectCommunities(g, { hierarchy: false }).count;
      const d = detectCommunities(g);
      tried++;
      if (d.count === 1 && d.groups.count === 1) whole++;
      if (seed === 1) cases.push(`${n} ch p ${p}: flat ${flatK}, default ${d.groups.count}/${d.count}`);
    }
  }
  console.log(`  ${cases.join('; ')} (groups/communities)`);
  console.log(`  random graphs kept whole (1 group, 1 community): ${whole} of ${tried}`);
  const a = detectCommunities(realGraph);
  const b = detectCommunities(realGraph);
  const same =
    Buffer.from(a.membership.buffer).equals(Buffer.from(b.membership.buffer)) &&
    Buffer.from(a.groups.membership.buffer).equals(Buffer.from(b.groups.membership.buffer));
  console.log(`  real 2021 twice, seed ${42}: ${same ? 'identical' : 'DIFFERENT'} communities and groups`);
}

// 4. Cost. CPU time (user + system) as well as wall time: on a shared machine the wall time
// swings with the other jobs, the CPU time of this single-threaded work much less.
function cost(label: string, graph: OverlapGraph) {
  const flatMs: number[] = [];
  const defMs: number[] = [];
  const flatCpu: number[] = [];
  const defCpu: number[] = [];
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  let k = [0, 0, 0];
  let refine: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let c0 = process.cpuUsage();
    let t0 = performance.now();
    const f = detectCommunities(graph, { hierarchy: false });
    flatMs.push(performance.now() - t0);
    flatCpu.push(cpuMs(process.cpuUsage(c0)));
    c0 = process.cpuUsage();
    t0 = performance.now();
    const d = detectCommunities(graph);
    defMs.push(performance.now() - t0);
    defCpu.push(cpuMs(process.cpuUsage(c0)));
    k = [f.count, d.groups.count, d.count];
    refine = [...refine, d.timings.refine ?? 0];
  }
  const pct = (a: number, b: number) => `${a >= b ? '+' : ''}${Math.round((a / b - 1) * 100)}%`;
  console.log(
    `  ${pad(label, 40)} flat ${lpad(Math.round(median(flatMs)), 6)} ms wall / ${lpad(Math.round(median(flatCpu)), 6)} ms CPU (k ${k[0]})` +
      `   default ${lpad(Math.round(median(defMs)), 6)} ms wall / ${lpad(Math.round(median(defCpu)), 6)} ms CPU (${k[1]} groups, ${k[2]} communities, refinement ${Math.round(median(refine))} ms)` +
      `   ${pct(median(defMs), median(flatMs))} wall, ${pct(median(defCpu), median(flatCpu))} CPU`,
  );
}
console.log(
  '\n4. cost of the hierarchy (median of 3, flat and default alternated; target ≤ +30% on the 10,000-channel graph)',
);
cost(`real 2021 (${realGraph.nodeNames.length} channels, ${realGraph.length} edges)`, realGraph);
if (process.env.BENCH_SCALE !== '0') {
  t = performance.now();
  const { table } = simulateTable({
    channels: 10_000,
    viewers: 2_000_000,
    communities: 12,
    mixing: 0.5,
    seed: 42,
  });
  const scale = buildOverlapGraph(aggregate(table));
  console.log(`  (10,000-channel graph built in ${Math.round(performance.now() - t)} ms)`);
  cost(`simulate 10k (${scale.nodeNames.length} channels, ${scale.length} edges)`, scale);
}
console.log(
  `  machine load: ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (2 cores, shared)`,
);
