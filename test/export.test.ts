import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// fast-xml-parser (a devDependency): a real XML well-formedness check.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { csvLine, formatNumber, parseCsv } from '../src/export/csv.js';
import { xmlEscape } from '../src/export/gexf.js';
import { decodeNames, decodeShares, encodeNames, encodeShares } from '../src/export/lists.js';
import { readAnalysisFolder } from '../src/export/read.js';
import { type AnalysisFolder, PARQUET_SCHEMAS, writeAnalysisFolder } from '../src/export/write.js';
import type { ChannelRow } from '../src/model/atlas.js';
import { queryRows, sqlString, withDuckDB } from '../src/storage/duckdb.js';

const root = mkdtempSync(join(tmpdir(), 'va-export-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NASTY = [
  'comma,name',
  'quote"name',
  '<img src=x onerror=alert(1)>',
  'multi\nline',
  ' leading space',
  'semi;colon:colon\\back',
  'ünïcødé 日本語',
];

function channel(name: string, community: number, extra: Partial<ChannelRow> = {}): ChannelRow {
  return {
    channel: name,
    community,
    label: `Game ${community} · en`,
    group: 0,
    groupLabel: 'en',
    viewers: 100 + community,
    degree: 2,
    strength: 0.123456789,
    language: 'en',
    game: 'Just Chatting',
    x: Number.NaN,
    y: Number.NaN,
    ...extra,
  };
}

function folder(): AnalysisFolder {
  const channels = [
    channel('xqc', 0, { x: 1.5, y: -2.25 }),
    ...NASTY.map((n, i) => channel(n, i % 2, { game: n, label: `label ${n}` })),
    channel('lonely', -1, { label: '', group: -1, groupLabel: '' }),
  ];
  return {
    summary: {
      version: 1,
      createdAt: '2026-11-26T07:00:00.000Z',
      input: { kind: 'presence', paths: ['a.csv'] },
      counts: {
        presenceRows: 10,
        rowsRejected: 1,
        channels: channels.length,
        viewers: 5,
        edges: 2,
        communities: 2,
        groups: 1,
        unassigned: 1,
        botsRemoved: 0,
      },
      modularity: 0.42,
      modularityByLevel: { group: 0.3, community: 0.42 },
      parameters: { weight: 'cosine' },
      timings: { read: 1, aggregate: 2 },
    },
    channels,
    communities: [
      {
        community: 0,
        label: 'Just Chatting · en',
        group: 0,
        size: 5,
        viewers: 500,
        games: [
          { name: 'Just Chatting', share: 0.6 },
          { name: 'semi;colon:colon\\back', share: 0.25 },
        ],
        languages: [{ name: 'en', share: 1 }],
        topChannels: ['xqc', 'comma,name', 'semi;colon:colon\\back'],
      },
      {
        community: 1,
        label: '<b>',
        group: 0,
        size: 3,
        viewers: 30,
        games: [],
        languages: [],
        topChannels: [],
      },
    ],
    groups: [
      {
        group: 0,
        label: 'en, with "quotes"',
        size: 8,
        viewers: 530,
        communities: 2,
        games: [{ name: 'Just Chatting', share: 0.6 }],
        languages: [{ name: 'en', share: 1 }],
        topChannels: ['xqc', 'semi;colon:colon\\back'],
      },
    ],
    edges: [
      { source: 'xqc', target: 'comma,name', weight: 0.5, shared: 10 },
      { source: '<img src=x onerror=alert(1)>', target: 'quote"name', weight: 1e-7, shared: 2 },
    ],
  };
}

describe('csv', () => {
  it('quotes fields with commas, quotes, newlines and edge spaces, and parses them back', () => {
    const line = csvLine(NASTY);
    expect(line).toContain('"comma,name"');
    expect(line).toContain('"quote""name"');
    expect(line).toContain('<img src=x onerror=alert(1)>');
    expect(parseCsv(line)).toEqual([NASTY]);
  });

  it('formats numbers deterministically', () => {
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(1 / 3)).toBe('0.333333');
    expect(formatNumber(2 / 3000)).toBe('0.000666667');
    expect(formatNumber(-1e-12)).toBe('-0.000000000001');
    expect(formatNumber(Number.NaN)).toBe('');
    expect(formatNumber(123456.7891234)).toBe('123456.789123');
  });

  it('round-trips share and name lists with separators in names', () => {
    const shares = [
      { name: 'a;b:c\\d', share: 0.5 },
      { name: 'plain', share: 0.25 },
    ];
    expect(decodeShares(encodeShares(shares))).toEqual(shares);
    expect(decodeNames(encodeNames(['x;y', 'z']))).toEqual(['x;y', 'z']);
    expect(decodeShares('')).toEqual([]);
  });
});

describe('analysis folder', () => {
  it('writes every file and reads the same rows back', async () => {
    const dir = join(root, 'round');
    const f = folder();
    await writeAnalysisFolder(dir, f);
    expect(readdirSync(dir).sort()).toEqual([
      'atlas.gexf',
      'channels.csv',
      'channels.parquet',
      'communities.csv',
      'communities.parquet',
      'edges.csv',
      'edges.parquet',
      'groups.csv',
      'groups.parquet',
      'summary.json',
    ]);
    const back = await readAnalysisFolder(dir);
    expect(back.summary).toEqual(f.summary);
    expect(back.channels.map((c) => c.channel)).toEqual(f.channels.map((c) => c.channel));
    expect(back.channels[0]).toMatchObject({ x: 1.5, y: -2.25, strength: 0.123457 });
    expect(Number.isNaN(back.channels[1]!.x)).toBe(true);
    expect(back.channels.map((c) => c.game)).toEqual(f.channels.map((c) => c.game));
    expect(back.communities).toEqual(f.communities);
    expect(back.groups).toEqual(f.groups);
    expect(back.channels.map((c) => [c.community, c.group, c.groupLabel])).toEqual(
      f.channels.map((c) => [c.community, c.group, c.groupLabel]),
    );
    expect(back.edges).toEqual([
      { source: 'xqc', target: 'comma,name', weight: 0.5, shared: 10 },
      { source: '<img src=x onerror=alert(1)>', target: 'quote"name', weight: 1e-7, shared: 2 },
    ]);
  });

  it('writes byte-identical CSVs for the same rows', async () => {
    await writeAnalysisFolder(join(root, 'a'), folder(), { parquet: false });
    await writeAnalysisFolder(join(root, 'b'), folder(), { parquet: false });
    for (const f of ['channels.csv', 'communities.csv', 'groups.csv', 'edges.csv', 'atlas.gexf']) {
      expect(readFileSync(join(root, 'a', f)).equals(readFileSync(join(root, 'b', f))), f).toBe(true);
    }
  });

  it('writes typed Parquet holding what the CSV holds', async () => {
    const dir = join(root, 'round');
    const rows = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT channel, community, x, game FROM read_parquet(${sqlString(join(dir, 'channels.parquet'))})`,
      ),
    );
    expect(rows.map((r) => r.channel)).toEqual(folder().channels.map((c) => c.channel));
    expect(rows[0]).toMatchObject({ community: 0, x: 1.5 });
    expect(rows[1]!.x).toBeNull();
    const edges = await withDuckDB((conn) =>
      queryRows(conn, `SELECT * FROM read_parquet(${sqlString(join(dir, 'edges.parquet'))})`),
    );
    expect(edges[1]).toMatchObject({
      source: '<img src=x onerror=alert(1)>',
      target: 'quote"name',
      weight: 1e-7,
    });
  });

  it('writes channels, communities and groups Parquet (our writer) exactly as DuckDB reads their CSVs', async () => {
    const f = folder();
    f.channels.forEach((c, i) => {
      c.levels = { 'r0.5': i % 2 ? 0 : Number.NaN, r2: i };
    });
    f.communities[0]!.label = 'comma, "quoted" & ünïcode';
    // nulls before values in the same column, not only at the end
    f.channels[0]!.game = '';
    f.channels[1]!.language = '';
    const dir = join(root, 'typed');
    await writeAnalysisFolder(dir, f);
    for (const table of ['channels', 'communities', 'groups'] as const) {
      const csv = join(dir, `${table}.csv`);
      const header = readFileSync(csv, 'utf8').split('\n')[0]!.split(',');
      const types: Record<string, string> = PARQUET_SCHEMAS[table];
      const columns = header.map((k) => `${sqlString(k)}: ${sqlString(types[k] ?? 'INTEGER')}`).join(', ');
      await withDuckDB(async (conn) => {
        const fromCsv = `read_csv(${sqlString(csv)}, header = true, delim = ',', quote = '"', escape = '"', columns = {${columns}}, nullstr = '', auto_detect = false)`;
        const fromParquet = `read_parquet(${sqlString(join(dir, `${table}.parquet`))})`;
        const describe = async (q: string) =>
          (await queryRows(conn, `DESCRIBE SELECT * FROM ${q}`)).map((r) => [r.column_name, r.column_type]);
        expect(await describe(fromParquet), table).toEqual(await describe(fromCsv));
        const rows = async (q: string) => queryRows(conn, `SELECT * FROM ${q}`);
        const want = await rows(fromCsv);
        expect(await rows(fromParquet), table).toEqual(want);
        expect(want.length).toBeGreaterThan(0);
        // nulls and values both present in what was compared
        expect(
          want.some((r) => Object.values(r).includes(null)),
          table,
        ).toBe(table !== 'groups');
      });
    }
  });

  it('writes GEXF 1.3 that parses as XML, with node attributes, positions and escaped names', () => {
    const xml = readFileSync(join(root, 'round', 'atlas.gexf'), 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toContain('<img');
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(xml);
    const graph = doc.gexf.graph;
    expect(doc.gexf['@version']).toBe('1.3');
    expect(graph.attributes['@class']).toBe('node');
    expect(graph.attributes.attribute.map((a: Record<string, string>) => a['@id'])).toEqual([
      'community',
      'label',
      'group',
      'group_label',
      'viewers',
      'degree',
      'strength',
      'language',
      'game',
    ]);
    const nodes = graph.nodes.node;
    expect(nodes).toHaveLength(folder().channels.length);
    expect(nodes[0]['viz:position']).toMatchObject({ '@x': '1.5', '@y': '-2.25' });
    expect(nodes[1]['viz:position']).toBeUndefined();
    const img = nodes.find(
      (n: Record<string, string>) => n['@label'] === '<img src=x onerror=alert(1)>', // the parser decodes the escaped name back,
    );
    expect(img).toBeDefined();
    // Edges refer to nodes by id.
    expect(graph.edges.edge[1]).toMatchObject({ '@source': img['@id'], '@weight': '0.0000001' });
    expect(graph.edges.edge).toHaveLength(2);
    expect(xmlEscape('a&b<"\'>\u0001')).toBe('a&amp;b&lt;&quot;&apos;&gt;');
  });

  it('writes hierarchy levels as community_r… columns, GEXF attributes and typed Parquet, and reads them back', async () => {
    const dir = join(root, 'levels');
    const f = folder();
    f.channels.forEach((c, i) => {
      c.levels = { 'r0.5': 0, r2: i };
    });
    await writeAnalysisFolder(dir, f);
    expect(readFileSync(join(dir, 'channels.csv'), 'utf8').split('\n')[0]).toBe(
      'channel,community,label,group,group_label,viewers,degree,strength,language,game,x,y,community_r0.5,community_r2',
    );
    const back = await readAnalysisFolder(dir);
    expect(back.channels.map((c) => c.levels)).toEqual(f.channels.map((c) => c.levels));
    expect(readFileSync(join(dir, 'atlas.gexf'), 'utf8')).toContain(
      '<attvalue for="community_r2" value="3"/>',
    );
    const rows = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT "community_r2" AS r2 FROM read_parquet(${sqlString(join(dir, 'channels.parquet'))})`,
      ),
    );
    expect(rows.map((r) => r.r2)).toEqual(f.channels.map((_, i) => i));
  });

  it('writes unassigned channels with empty community and group cells, in no GEXF community, and the groups table', async () => {
    const dir = join(root, 'round');
    const lines = readFileSync(join(dir, 'channels.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(
      'channel,community,label,group,group_label,viewers,degree,strength,language,game,x,y',
    );
    expect(lines.at(-1)).toBe('lonely,,,,,99,2,0.123457,en,Just Chatting,,');
    expect(readFileSync(join(dir, 'communities.csv'), 'utf8').split('\n')[0]).toBe(
      'community,label,group,size,viewers,games,languages,top_channels',
    );
    expect(readFileSync(join(dir, 'groups.csv'), 'utf8').split('\n')[0]).toBe(
      'group,label,size,viewers,communities,games,languages,top_channels',
    );
    const parquet = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT community, "group", group_label FROM read_parquet(${sqlString(join(dir, 'channels.parquet'))}) WHERE channel = 'lonely'`,
      ),
    );
    expect(parquet).toEqual([{ community: null, group: null, group_label: null }]);
    const groups = await withDuckDB((conn) =>
      queryRows(
        conn,
        `SELECT "group", communities FROM read_parquet(${sqlString(join(dir, 'groups.parquet'))})`,
      ),
    );
    expect(groups).toEqual([{ group: 0, communities: 2 }]);
    const xml = readFileSync(join(dir, 'atlas.gexf'), 'utf8');
    const lonely = xml.slice(xml.indexOf('label="lonely"'));
    expect(lonely.slice(0, lonely.indexOf('</node>'))).not.toMatch(/for="(community|group)"/);
    expect(xml).toContain('<attvalue for="group" value="0"/><attvalue for="group_label" value="en"/>');
  });

  it('reads a folder written before groups existed as one group per community', async () => {
    const dir = join(root, 'old');
    const f = folder();
    await writeAnalysisFolder(dir, f, { parquet: false });
    rmSync(join(dir, 'groups.csv'));
    // An old channels.csv: no group columns.
    const old = readFileSync(join(dir, 'channels.csv'), 'utf8')
      .split('\n')
      .map((l) => parseCsv(l)[0] ?? [])
      .filter((r) => r.length > 1)
      .map((r) => csvLine([...r.slice(0, 3), ...r.slice(5)]))
      .join('');
    writeFileSync(join(dir, 'channels.csv'), old);
    const back = await readAnalysisFolder(dir);
    expect(back.groups.map((g) => [g.group, g.label])).toEqual(
      f.communities.map((c) => [c.community, c.label]),
    );
    expect(back.channels[0]).toMatchObject({ community: 0, group: 0, groupLabel: 'Game 0 · en' });
    expect(back.channels.at(-1)).toMatchObject({ community: -1, group: -1 });
  });

  it('names the missing file when a folder is not an analysis folder', async () => {
    await expect(readAnalysisFolder(join(root, 'nope'))).rejects.toThrow(/summary\.json: not found/);
  });
});
