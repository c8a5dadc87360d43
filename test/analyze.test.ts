import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
// fast-xml-parser (a devDependency): a real XML well-formedness check.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nmi } from '../src/analysis/quality.js';
import { readAnalysisFolder } from '../src/export/read.js';
import { encodePresenceLine } from '../src/ingest/index.js';
import { LAYOUT } from '../src/storage/index.js';

const root = mkdtempSync(join(tmpdir(), 'va-analyze-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, ['bin/vieweratlas.mjs', ...args], {
    encoding: 'utf8',
    env: { ...process.env, VIEWERATLAS_METRICS_EMF: 'false' },
  });
}

/** The 2021 atlas edge list: the copy in the repository, or the shared data folder. */
function realEdgeList(): { edges: string; nodes: string } | undefined {
  for (const dir of ['assets/atlas-2021-10', '../shared/data']) {
    const edges = join(dir, 'twitch-atlas-2021-10-edges.csv');
    const nodes = join(dir, 'twitch-atlas-2021-10-channels.csv');
    if (existsSync(edges) && existsSync(nodes)) return { edges, nodes };
  }
  return undefined;
}

const sim = join(root, 'sim');
beforeAll(() => {
  const r = cli([
    'simulate',
    '--channels',
    '300',
    '--viewers',
    '20000',
    '--communities',
    '8',
    '--mixing',
    '0.5',
    '--seed',
    '1',
    '--out',
    sim,
  ]);
  expect(r.status, r.stderr).toBe(0);
});

describe('vieweratlas analyze on simulated data', () => {
  it('recovers the planted communities at mixing 0.5 with default settings (NMI ≥ 0.90)', async () => {
    const out = join(root, 'atlas-a');
    const r = cli(['analyze', '--input', join(sim, 'presence.csv'), join(sim, 'channels.csv'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /analyze: 300 channels, [\d,]+ edges, \d+ communities in \d+ groups \(\d+ channels unassigned\), modularity 0\.\d+/,
    );
    const folder = await readAnalysisFolder(out);
    const truth = new Map(
      readFileSync(join(sim, 'truth.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(','))
        .map(([c, k]) => [c!, Number(k)] as const),
    );
    const found = folder.channels.map((c) => c.community);
    const planted = folder.channels.map((c) => truth.get(c.channel)!);
    expect(planted.every((k) => k !== undefined)).toBe(true);
    expect(nmi(found, planted)).toBeGreaterThanOrEqual(0.9);
    // Labels come from the channel metadata: every community is named after a game.
    expect(folder.communities.length).toBe(folder.summary.counts.communities);
    expect(folder.communities.every((c) => c.games.length > 0 && c.label.length > 0)).toBe(true);
    expect(folder.channels.every((c) => c.game !== '' && c.language !== '')).toBe(true);
    // Bots are removed: the known ones by name, the others by behaviour.
    expect(folder.summary.counts.botsRemoved).toBeGreaterThanOrEqual(14);
    for (const stage of ['read', 'aggregate', 'overlap', 'communities', 'labels', 'exports', 'total']) {
      expect(folder.summary.timings[stage], stage).toBeTypeOf('number');
    }
    // Both levels: every community sits in one group, and the groups table counts them.
    expect(folder.groups.length).toBe(folder.summary.counts.groups);
    for (const c of folder.communities) expect(folder.groups.some((g) => g.group === c.group)).toBe(true);
    for (const g of folder.groups)
      expect(g.communities).toBe(folder.communities.filter((c) => c.group === g.group).length);
    const groupOf = new Map(folder.communities.map((c) => [c.community, c.group]));
    for (const ch of folder.channels) expect(ch.group).toBe(groupOf.get(ch.community));
    expect(folder.summary.modularityByLevel.community).toBe(folder.summary.modularity);
    for (const f of [
      'channels.parquet',
      'communities.parquet',
      'groups.parquet',
      'edges.parquet',
      'atlas.gexf',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // The GEXF (edges written by a worker thread) is well-formed and its edges join its nodes.
    const xml = readFileSync(join(out, 'atlas.gexf'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    // the head went into the room the edge writer left in front of its section (no copy)
    expect(xml).toContain('<!-- blank space: room left for the nodes');
    const g = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(xml).gexf.graph;
    const label = new Map<string, string>(
      g.nodes.node.map((n: Record<string, string>) => [String(n['@id']), n['@label']]),
    );
    expect(label.size).toBe(folder.channels.length);
    expect(g.edges.edge).toHaveLength(folder.edges.length);
    const e0 = folder.edges[0]!;
    const gexfEdge0 = g.edges.edge[0];
    expect([label.get(String(gexfEdge0['@source'])), label.get(String(gexfEdge0['@target']))]).toEqual([
      e0.source,
      e0.target,
    ]);
    for (const e of g.edges.edge)
      expect(label.has(String(e['@source'])) && label.has(String(e['@target']))).toBe(true);
  });

  it('writes byte-identical outputs on a second run with the same seed, both levels included', () => {
    const out = join(root, 'atlas-b');
    const r = cli(['analyze', '--input', join(sim, 'presence.csv'), join(sim, 'channels.csv'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const a = readFileSync(join(root, 'atlas-a', 'channels.csv'));
    expect(a.length).toBeGreaterThan(1000);
    for (const f of ['channels.csv', 'communities.csv', 'groups.csv', 'edges.csv', 'atlas.gexf']) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(root, 'atlas-a', f))), f).toBe(true);
    }
    const summary = (dir: string) => {
      const {
        createdAt: _,
        timings: __,
        ...rest
      } = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
      return rest;
    };
    expect(summary(out)).toEqual(summary(join(root, 'atlas-a')));
    // again into the same folder: its files replaced, nothing else left there
    const listed = readdirSync(out).sort();
    const again = cli([
      'analyze',
      '--input',
      join(sim, 'presence.csv'),
      join(sim, 'channels.csv'),
      '--out',
      out,
    ]);
    expect(again.status, again.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(listed);
    expect(
      readFileSync(join(out, 'atlas.gexf')).equals(readFileSync(join(root, 'atlas-a', 'atlas.gexf'))),
    ).toBe(true);
  });

  it('reads every data file of an --input folder, and lists the files it skipped', () => {
    const out = join(root, 'atlas-folder');
    const r = cli(['analyze', '--input', sim, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    // simulate's folder: presence.csv + channels.csv are read, truth.csv is skipped and said so.
    expect(
      readFileSync(join(out, 'channels.csv')).equals(readFileSync(join(root, 'atlas-a', 'channels.csv'))),
    ).toBe(true);
    expect(r.stdout).toContain(`skipped ${join(sim, 'truth.csv')}`);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.skippedInputs.map((s: { file: string }) => s.file)).toEqual([join(sim, 'truth.csv')]);

    // A folder with nothing readable, given after a good one, still fails by name.
    const onlyTruth = join(root, 'only-truth');
    mkdirSync(onlyTruth, { recursive: true });
    copyFileSync(join(sim, 'truth.csv'), join(onlyTruth, 'truth.csv'));
    const bad = cli(['analyze', '--input', sim, onlyTruth, '--out', join(root, 'atlas-bad-folder')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(
      `vieweratlas: analyze: ${onlyTruth}: no presence, metadata or edge-list file in this folder`,
    );
  });

  it('takes --weight, --algorithm, --resolution and --seed, and records them in summary.json', async () => {
    const out = join(root, 'atlas-louvain');
    const r = cli([
      'analyze',
      '--input',
      join(sim, 'presence.csv'),
      '--out',
      out,
      '--weight',
      'jaccard',
      '--algorithm',
      'louvain',
      '--resolution',
      '1.5',
      '--seed',
      '7',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const { summary, channels } = await readAnalysisFolder(out);
    expect(channels[0]!.levels).toBeUndefined();
    expect(summary.parameters).toMatchObject({
      overlap: { weight: 'jaccard' },
      communities: { algorithm: 'louvain', resolution: 1.5, seed: 7 },
    });
  });
});

describe('vieweratlas analyze with extra resolutions', () => {
  it('exports the community at every resolution of --preset fine', async () => {
    const out = join(root, 'atlas-fine');
    const r = cli(['analyze', '--preset', 'fine', '--input', join(sim, 'presence.csv'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const { summary, channels } = await readAnalysisFolder(out);
    expect(Object.keys(channels[0]!.levels ?? {})).toEqual(['r0.5', 'r1', 'r2', 'r4']);
    const communitiesAt = (k: string) => new Set(channels.map((c) => c.levels![k])).size;
    // Higher resolution, more communities.
    expect(communitiesAt('r4')).toBeGreaterThan(communitiesAt('r1'));
    expect(summary.parameters.levels).toHaveLength(4);
  });
});

describe('vieweratlas analyze on the real 2021 atlas edge list', () => {
  const real = realEdgeList();
  it('reaches top-level modularity ≥ 0.64 with the raw weights, and lists edgeless channels apart', async () => {
    const out = join(root, 'atlas-2021');
    const r = cli(['analyze', '--input', real!.edges, real!.nodes, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const { summary, channels, edges, communities, groups } = await readAnalysisFolder(out);
    expect(summary.input.kind).toBe('edges');
    expect(summary.modularityByLevel.group).toBeGreaterThanOrEqual(0.64);
    // The 136 channels of the node file without any edge are in no community and counted apart.
    expect(summary.counts.unassigned).toBe(136);
    expect(channels.filter((c) => c.community === -1 && c.group === -1 && c.label === '')).toHaveLength(136);
    expect(channels.slice(-136).every((c) => c.community === -1)).toBe(true);
    expect(communities.length).toBe(summary.counts.communities);
    expect(communities.every((c) => c.size >= 1 && c.community >= 0)).toBe(true);
    expect(groups.length).toBe(summary.counts.groups);
    expect(summary.counts.communities).toBeGreaterThan(summary.counts.groups);
    // No metadata: communities are named after two or three of their biggest channels.
    expect(communities.every((c) => c.size < 2 || c.label.includes(' & '))).toBe(true);
    // English Twitch is split into its scenes: no fine community near the ~500 channels of its group.
    expect(Math.max(...communities.map((c) => c.size))).toBeLessThanOrEqual(200);
    const communityOf = (name: string) => channels.find((c) => c.channel === name)!.community;
    expect(
      new Set(
        ['VALORANT', 'loltyler1', 'Ramee', 'tommyinnit', 'Mongraal', 'TSM_ImperialHal'].map(communityOf),
      ).size,
    ).toBe(6);
    const groupOf = (name: string) => channels.find((c) => c.channel === name)!.group;
    expect(groupOf('VALORANT')).toBe(groupOf('loltyler1'));
    // A non-English language community stays whole at the top level.
    expect(new Set(['auronplay', 'ibai', 'Rubius', 'TheGrefg', 'elxokas'].map(groupOf)).size).toBe(1);
    const again = join(root, 'atlas-2021-again');
    expect(cli(['analyze', '--input', real!.edges, real!.nodes, '--out', again]).status).toBe(0);
    for (const f of ['channels.csv', 'communities.csv', 'groups.csv', 'atlas.gexf'])
      expect(readFileSync(join(again, f)).equals(readFileSync(join(out, f))), f).toBe(true);
    expect(channels.length).toBeGreaterThan(1500);
    expect(edges.length).toBeGreaterThan(50_000);
    // Audiences come from the node file.
    expect(channels.find((c) => c.channel === 'ESL_CSGOb')?.viewers).toBe(73590);
  });
});

describe('vieweratlas analyze on a TwitchDownloader chat file', () => {
  it('buckets the comments into presence and analyses them', async () => {
    const out = join(root, 'atlas-vod');
    const r = cli(['analyze', '--input', 'test/fixtures/vod/1984567890.json', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const { summary, channels } = await readAnalysisFolder(out);
    expect(summary.counts.presenceRows).toBe(10);
    expect(channels.map((c) => c.channel)).toEqual(['cozystreamer']);
  });
});

describe('vieweratlas analyze from storage', () => {
  it('compacts raw JSON Lines first, then analyses what import and the collectors stored', async () => {
    const data = join(root, 'store');
    const imp = cli(['import', '--data', data, join(sim, 'presence.csv'), join(sim, 'channels.csv')]);
    expect(imp.status, imp.stderr).toBe(0);
    // A collector's raw hour file, as it would be left on disk (an hour long closed).
    const ts = Date.UTC(2026, 10, 2, 10, 5);
    const lines = ['aaa_new', 'bbb_new', 'ccc_new', 'ddd_new', 'eee_new', 'fff_new']
      .flatMap((v) =>
        ['rawchan_one', 'rawchan_two'].map((channel) =>
          encodePresenceLine({ channel, viewer: v, ts, source: 'live', messages: 2 }),
        ),
      )
      .join('');
    const rawKey = LAYOUT.rawPresence('live', ts, 'c1');
    mkdirSync(join(data, dirname(rawKey)), { recursive: true });
    writeFileSync(join(data, rawKey), lines);

    const out = join(root, 'atlas-store');
    const r = cli(['analyze', '--data', data, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const { summary, channels } = await readAnalysisFolder(out);
    expect(summary.counts.presenceRows).toBeGreaterThan(150_000);
    expect(summary.timings.compact).toBeTypeOf('number');
    expect(channels.map((c) => c.channel)).toEqual(expect.arrayContaining(['rawchan_one', 'rawchan_two']));
    // Metadata came from storage too.
    expect(channels.filter((c) => c.game !== '').length).toBeGreaterThanOrEqual(300);
  });

  it('analyses an imported edge list when the store holds no presence', async () => {
    const real = realEdgeList();
    if (!real) return;
    const data = join(root, 'store-graph');
    expect(cli(['import', '--data', data, real.edges, real.nodes]).status).toBe(0);
    const out = join(root, 'atlas-store-graph');
    const r = cli(['analyze', '--data', data, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const { summary } = await readAnalysisFolder(out);
    expect(summary.input.kind).toBe('edges');
    expect(summary.modularityByLevel.group).toBeGreaterThanOrEqual(0.64);
  });

  it('exits 1 with one line on an empty store', () => {
    const r = cli(['analyze', '--data', join(root, 'store-empty'), '--out', join(root, 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no presence in storage/);
  });
});

describe('vieweratlas analyze on bad input', () => {
  const oneLine = (r: ReturnType<typeof cli>) => {
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    return r.stderr;
  };

  it('exits 1 with one line for a missing file', () => {
    expect(oneLine(cli(['analyze', '--input', join(root, 'nope.csv'), '--out', join(root, 'x')]))).toMatch(
      /nope\.csv/,
    );
  });

  it('exits 1 with one line for an empty file, and writes nothing', () => {
    const empty = join(root, 'empty.csv');
    writeFileSync(empty, '');
    const out = join(root, 'out-empty');
    expect(oneLine(cli(['analyze', '--input', empty, '--out', out]))).toMatch(/empty\.csv/);
    expect(existsSync(join(out, 'channels.csv'))).toBe(false);
  });

  it('exits 1 with one line for a file without the required columns', () => {
    const bad = join(root, 'bad.csv');
    writeFileSync(bad, 'foo,bar\n1,2\n3,4\n');
    expect(oneLine(cli(['analyze', '--input', bad, '--out', join(root, 'out-bad')]))).toMatch(/bad\.csv/);
  });

  it('exits 1 with one line when presence and an edge list are mixed, or no file holds presence', () => {
    const real = realEdgeList();
    if (real) {
      expect(
        oneLine(cli(['analyze', '--input', join(sim, 'presence.csv'), real.edges, '--out', join(root, 'x')])),
      ).toMatch(/presence files or an edge list, not both/);
    }
    expect(oneLine(cli(['analyze', '--input', join(sim, 'channels.csv'), '--out', join(root, 'x')]))).toMatch(
      /no presence or edge-list file/,
    );
  });

  it('exits 1 naming the flag for an unknown weight', () => {
    // Commander adds its "(run with --help for usage)" hint on a second line.
    const r = cli(['analyze', '--weight', 'magic', '--out', join(root, 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/--weight: expected one of shared \| jaccard/);
  });
});
