import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// fast-xml-parser (a devDependency): a real XML well-formedness check.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng as rng } from '../src/analysis/rng.js';
import {
  type ByteSink,
  formatNumbers,
  printedValues,
  replaceFile,
  writeBytesAtomic,
} from '../src/export/atomic.js';
import { formatNumber, formatNumberInto, parseCsv } from '../src/export/csv.js';
import {
  type EdgeFiles,
  type GraphEdges,
  spawnEdgeFilesWorker,
  writeEdgeFiles,
} from '../src/export/edge-files.js';
import { useEdgeLinesKernel } from '../src/export/edge-lines.js';
import {
  GEXF_END,
  GexfHeadTooLong,
  gexfHeadRoom,
  writeGexf,
  writeGexfEdge,
  writeGexfHeadInto,
} from '../src/export/gexf.js';
import { edgesCsv } from '../src/export/write.js';
import type { ChannelRow, EdgeRow } from '../src/model/atlas.js';
import { queryRows, sqlString, withDuckDB } from '../src/storage/duckdb.js';
import { kernelModule } from '../src/wasm-kernels.js';

const root = mkdtempSync(join(tmpdir(), 'va-edge-files-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dec = new TextDecoder();
const scratch = new Uint8Array(64);
const into = (n: number, digits?: number) =>
  dec.decode(scratch.subarray(0, formatNumberInto(scratch, 0, n, digits)));

/** Numbers that stress formatting: ties at the 6th/7th decimal, carries, tiny, huge, signs, any bits. */
function hardNumbers(count: number): number[] {
  const r = rng(3);
  const out = [
    0,
    -0,
    1,
    -1,
    0.5,
    1.5,
    2.5,
    0.1,
    0.2,
    0.3,
    4.35,
    1.005,
    Math.PI,
    -Math.E,
    1e-7,
    1e-15,
    1e-21,
    1e-25,
    -1e-25,
    5e-324,
    -1e-300,
    0.0000005,
    0.00000049999,
    9.9999995,
    9.99999949,
    0.99999995,
    0.9999999,
    1.0000005,
    1.0000015,
    2.0000025,
    999999.9999999,
    123456.7890125,
    1e12 + 0.5,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 40,
    2 ** 40 + 0.5,
    2 ** 53,
    -(2 ** 53),
    2 ** 60,
    1e21,
    1e22,
    1e300,
    0.000123456789,
  ];
  // Around every power of ten (where the decimal count changes), a few ulps and 1e-11 away.
  for (let e = -25; e <= 15; e++) {
    const p = 10 ** e;
    for (const f of [1, 1 + 2 ** -52, 1 - 2 ** -53, 1 + 1e-11, 1 - 1e-11, 1 + 1e-13, 1 - 1e-13])
      out.push(p * f);
  }
  const bits = new Uint32Array(2);
  const asDouble = new Float64Array(bits.buffer);
  for (let i = 0; i < count; i++) {
    const x = r();
    switch (i % 7) {
      case 0:
        out.push(x);
        break;
      case 1:
        out.push(x * 10 ** Math.floor(r() * 34 - 17));
        break;
      case 2: // exact ties of the 7th decimal, as far as doubles allow
        out.push(Math.round(x * 1e7) / 1e7 + 5e-8);
        break;
      case 3:
        out.push((Math.floor(x * 1e6) / 1e6) * 1000 + 0.0000005);
        break;
      case 4:
        out.push((r() - 0.5) * 1e13);
        break;
      case 5:
        bits[0] = (r() * 2 ** 32) >>> 0;
        bits[1] = (r() * 2 ** 32) >>> 0;
        out.push(asDouble[0]!);
        break;
      default:
        out.push(Math.floor(x * 1e9) * (r() < 0.5 ? 1 : -1));
    }
  }
  return out;
}

describe('formatNumberInto', () => {
  it('writes exactly what formatNumber returns (6 and 3 digits, any value)', () => {
    const values = hardNumbers(200_000);
    let mismatches = 0;
    for (const v of values) {
      for (const d of [6, 3]) {
        for (const x of [v, -v]) if (into(x, d) !== formatNumber(x, d)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
    expect(into(Number.NaN)).toBe('');
    expect(into(Number.POSITIVE_INFINITY)).toBe('');
    expect(into(0.0504331)).toBe('0.0504331');
    expect(into(-0.00000001, 6)).toBe('-0.00000001');
    expect(into(1e-25)).toBe('0');
  });
});

describe('printedValues', () => {
  it('reads the printed numbers back exactly as Number() reads the text, as formatNumbers gives them unparsed (what edges.parquet holds)', () => {
    const values = [...hardNumbers(100_000), Number.NaN, Number.NEGATIVE_INFINITY, 2 ** 53 + 2, 1e21, -1e-7];
    const all = [...values, ...values.map((v) => -v)];
    // the values formatNumbers gives beside the text (what writeEdgeFiles puts in edges.parquet)
    const unparsed = new Float64Array(all.length);
    const printed = formatNumbers(all, all.length, unparsed);
    const back = printedValues(printed, all.length);
    let mismatches = 0;
    let unparsedMismatches = 0;
    for (let i = 0; i < all.length; i++) {
      const text = formatNumber(all[i]!);
      const want = text === '' ? Number.NaN : Number(text);
      if (!Object.is(back[i], want)) mismatches++;
      if (!Object.is(unparsed[i], want)) unparsedMismatches++;
    }
    expect(mismatches).toBe(0);
    expect(unparsedMismatches).toBe(0);
    // -0 prints as "0", and reads back as 0
    expect(Object.is(printedValues(formatNumbers([-0], 1), 1)[0], 0)).toBe(true);
    const zero = new Float64Array(1);
    formatNumbers([-0], 1, zero);
    expect(Object.is(zero[0], 0)).toBe(true);
  });
});

describe('ByteSink', () => {
  const sinkText = (fill: (s: ByteSink) => void) => {
    const path = join(root, 'sink.txt');
    writeBytesAtomic(path, fill);
    return readFileSync(path, 'utf8');
  };

  it('writes integers as String(n) around every digit-count boundary', () => {
    const values: number[] = [];
    for (let p = 1; p <= 1e15; p *= 10) values.push(p - 1, p, p + 1);
    values.push(2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 4294967295, 123456789, 3999999999);
    const r = rng(5);
    for (let i = 0; i < 20_000; i++) values.push(Math.floor(r() * 2 ** (1 + (i % 34))));
    const written = sinkText((s) => {
      for (const v of values) {
        s.uint(v);
        s.text(' ');
      }
    });
    expect(written).toBe(values.map((v) => `${v} `).join(''));
  });

  it('makes room for a piece larger than its buffer', () => {
    const big = 'x'.repeat(5 << 20);
    expect(
      sinkText((s) => {
        s.text('a');
        s.ensure(big.length);
        s.buf.write(big, s.pos, 'latin1');
        s.pos += big.length;
        s.text('b');
      }),
    ).toBe(`a${big}b`);
  });
});

describe('replaceFile', () => {
  it('puts the new file in place atomically and removes the old one off the thread, leaving nothing behind', async () => {
    const dir = join(root, 'replace');
    mkdirSync(dir);
    const path = join(dir, 'atlas.gexf');
    writeFileSync(path, 'old contents');
    // a reader that opened the old file keeps reading it whole
    const reader = openSync(path, 'r');
    writeFileSync(join(dir, 'new.tmp'), 'new contents');
    replaceFile(join(dir, 'new.tmp'), path);
    expect(readFileSync(path, 'utf8')).toBe('new contents');
    const held = Buffer.alloc(32);
    expect(held.toString('utf8', 0, readSync(reader, held, 0, 32, 0))).toBe('old contents');
    // the old file's second link goes on the thread pool
    for (let i = 0; i < 100 && readdirSync(dir).length > 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(dir)).toEqual(['atlas.gexf']);
    // no file there yet: a plain rename
    writeFileSync(join(dir, 'first.tmp'), 'first');
    replaceFile(join(dir, 'first.tmp'), join(dir, 'channels.csv'));
    expect(readFileSync(join(dir, 'channels.csv'), 'utf8')).toBe('first');
    expect(readdirSync(dir).sort()).toEqual(['atlas.gexf', 'channels.csv']);
  });
});

describe('writeEdgeFiles', () => {
  const names = [
    'comma,name',
    'quote"name',
    '<img src=x onerror=alert(1)>',
    'multi\nline',
    ' leading space',
    'ünïcødé 日本語',
    ...Array.from({ length: 40 }, (_, i) => `chan${i}`),
  ];
  const r = rng(11);
  const m = 5000;
  const g: GraphEdges = {
    nodeNames: names,
    source: new Uint32Array(m),
    target: new Uint32Array(m),
    weight: new Float64Array(m),
    shared: new Float64Array(m),
    length: m,
  };
  const specials = [Number.NaN, Number.POSITIVE_INFINITY, 0, 3, -0.25, 1e-9, 123456.789, 0.0504331];
  for (let i = 0; i < m; i++) {
    g.source[i] = Math.floor(r() * names.length);
    g.target[i] = Math.floor(r() * names.length);
    g.weight[i] =
      i < specials.length ? specials[i]! : i % 3 === 0 ? r() : r() * 10 ** Math.floor(r() * 8 - 4);
    g.shared[i] = i % 50 === 0 ? r() * 100 : i % 77 === 0 ? Number.NaN : Math.floor(r() * 5000);
  }

  it('writes edges.csv and the GEXF edge lines byte for byte as the row writers do', async () => {
    const dir = mkdtempSync(join(root, 'files-'));
    const files = await writeEdgeFiles(dir, g, { parquet: false });
    // The row writers `writeAnalysisFolder` uses when no worker wrote the edges.
    const channels = names.map((channel) => ({ channel }) as ChannelRow);
    const edges: EdgeRow[] = Array.from({ length: m }, (_, i) => ({
      source: names[g.source[i]!]!,
      target: names[g.target[i]!]!,
      weight: g.weight[i]!,
      shared: g.shared[i]!,
    }));
    const expectedCsv = join(dir, 'expected.csv');
    writeBytesAtomic(expectedCsv, (sink) => edgesCsv(sink, channels, edges));
    expect(readFileSync(files.edgesCsv).equals(readFileSync(expectedCsv))).toBe(true);
    const expectedGexf = join(dir, 'expected.gexf');
    writeBytesAtomic(expectedGexf, (sink) => {
      for (let i = 0; i < m; i++) writeGexfEdge(sink, g.source[i]!, g.target[i]!, formatNumber(g.weight[i]!));
      sink.text(GEXF_END);
    });
    expect(readFileSync(files.gexfEdgesPart!).equals(readFileSync(expectedGexf))).toBe(true);
    expect(readFileSync(files.gexfEdgesPart!, 'utf8').split('\n')[0]).toMatch(
      /^ {6}<edge source="\d+" target="\d+"\/>$/,
    );
  });

  it('writes the same bytes with the WebAssembly line writer as without, over many output windows', async () => {
    expect(kernelModule('export/edge-lines/lines')).not.toBeNull();
    const big = 300_000;
    const wide: GraphEdges = {
      ...g,
      nodeNames: [...names, ...Array.from({ length: 3000 }, (_, i) => `channel_${i}_${'x'.repeat(i % 23)}`)],
      source: new Uint32Array(big),
      target: new Uint32Array(big),
      weight: new Float64Array(big),
      shared: new Float64Array(big),
      length: big,
    };
    for (let i = 0; i < big; i++) {
      wide.source[i] = Math.floor(r() * wide.nodeNames.length);
      wide.target[i] = Math.floor(r() * wide.nodeNames.length);
      wide.weight[i] = i % 1000 === 0 ? Number.NaN : r() * 10 ** Math.floor(r() * 6 - 3);
      wide.shared[i] =
        i % 997 === 0 ? r() * 10 : i % 1999 === 0 ? 2 ** 41 : i % 2003 === 0 ? -0 : Math.floor(r() * 1e6);
    }
    const fast = await writeEdgeFiles(mkdtempSync(join(root, 'fast-')), wide, { parquet: false });
    useEdgeLinesKernel(false);
    let plain: EdgeFiles;
    try {
      plain = await writeEdgeFiles(mkdtempSync(join(root, 'plain-')), wide, { parquet: false });
    } finally {
      useEdgeLinesKernel(true);
    }
    const csv = readFileSync(fast.edgesCsv);
    expect(csv.length).toBeGreaterThan(8 << 20);
    expect(csv.equals(readFileSync(plain.edgesCsv))).toBe(true);
    expect(readFileSync(fast.gexfEdgesPart!).equals(readFileSync(plain.gexfEdgesPart!))).toBe(true);
  });

  it('writes edges.parquet with the rows edges.csv holds', async () => {
    const dir = mkdtempSync(join(root, 'parquet-'));
    const files = await writeEdgeFiles(dir, g);
    const csv = parseCsv(readFileSync(files.edgesCsv, 'utf8')).slice(1);
    const rows = await withDuckDB((conn) =>
      queryRows(conn, `SELECT * FROM read_parquet(${sqlString(files.edgesParquet!)})`),
    );
    expect(rows.length).toBe(m);
    const num = (s: string) => (s === '' ? null : Number(s));
    expect(rows.map((x) => [x.source, x.target, x.weight, x.shared])).toEqual(
      csv.map(([s, t, w, sh]) => [s, t, num(w!), num(sh!)]),
    );
  });

  it('tells the GEXF part before it is done with edges.parquet (worker)', async () => {
    const dir = mkdtempSync(join(root, 'steps-'));
    const worker = spawnEdgeFilesWorker();
    try {
      let told: EdgeFiles | undefined;
      let toldBeforeDone = false;
      const done = worker.run(dir, g, {}, (part) => {
        told = part;
        toldBeforeDone = existsSync(part.gexfEdgesPart ?? '');
      });
      const files = await done;
      expect(toldBeforeDone).toBe(true);
      expect(told?.edgesParquet).toBeUndefined();
      expect(files.edgesParquet).toBe(join(dir, 'edges.parquet'));
      expect(files.gexfEdgesPart).toBe(told?.gexfEdgesPart);
      expect(readFileSync(files.edgesCsv).equals(readFileSync(join(dir, 'edges.csv')))).toBe(true);
    } finally {
      worker.close();
    }
  });

  it('writes the same files in the worker, and the caller keeps its arrays (copies are transferred)', async () => {
    const here = await writeEdgeFiles(mkdtempSync(join(root, 'here-')), g, { parquet: false });
    const before = Array.from(g.weight);
    const worker = spawnEdgeFilesWorker();
    try {
      const there = await worker.run(mkdtempSync(join(root, 'there-')), g, { parquet: false });
      expect(readFileSync(there.edgesCsv).equals(readFileSync(here.edgesCsv))).toBe(true);
      expect(readFileSync(there.gexfEdgesPart!).equals(readFileSync(here.gexfEdgesPart!))).toBe(true);
    } finally {
      worker.close();
    }
    expect(g.source.length).toBe(m);
    expect(Array.from(g.weight)).toEqual(before);
  });
  describe('the GEXF head put into the room left in front of the edge section', () => {
    const rows = (label: string): ChannelRow[] =>
      names.map((channel, i) => ({
        channel,
        community: i % 7,
        label: `${label} ${i % 7}`,
        group: i % 3,
        groupLabel: `${label} group ${i % 3}`,
        viewers: 100 + i,
        degree: i,
        strength: i / 3,
        language: 'en',
        game: 'Just Chatting',
        x: Number.NaN,
        y: Number.NaN,
      }));
    const meta = { description: 'test', date: '2026-12-04' };
    const nodeIds = Int32Array.from(names, (_, i) => i);
    /** The document as the copying way writes it: the head, then the section copied behind it. */
    const copied = (dir: string, channels: ChannelRow[], part: string, from: number) => {
      const path = join(dir, `copied-${from}.gexf`);
      writeBytesAtomic(path, (sink) =>
        writeGexf(sink, channels, [], meta, { nodeIds, edgesPart: part, edgesFrom: from }),
      );
      return readFileSync(path);
    };

    it('fills the room exactly: the same document as the copying way, with blank lines between nodes and edges', async () => {
      const dir = mkdtempSync(join(root, 'room-'));
      const channels = rows('Rust · es (80%)');
      const room = gexfHeadRoom(names);
      const files = await writeEdgeFiles(dir, g, { parquet: false, gexfHeadRoom: room });
      expect(files.gexfEdgesFrom).toBe(room);
      const expected = copied(dir, channels, files.gexfEdgesPart!, room);
      const fd = openSync(files.gexfEdgesPart!, 'r+');
      try {
        writeGexfHeadInto(fd, room, channels, meta, nodeIds);
      } finally {
        closeSync(fd);
      }
      const doc = readFileSync(files.gexfEdgesPart!);
      expect(doc.subarray(room - '    <edges>\n'.length, room).toString()).toBe('    <edges>\n');
      // without the note and the blank lines, byte for byte the copying way's document
      const note = doc.indexOf('    <!-- blank space');
      expect(note).toBeGreaterThan(0);
      const edgesAt = doc.indexOf('    <edges>\n');
      expect(doc.subarray(note, edgesAt).toString()).toMatch(/^ {4}<!--[^\n]*-->\n( *\n)+$/);
      expect(Buffer.concat([doc.subarray(0, note), doc.subarray(edgesAt)]).equals(expected)).toBe(true);
      const xml = doc.toString('utf8');
      expect(XMLValidator.validate(xml)).toBe(true);
      const graph = new XMLParser({ ignoreAttributes: false }).parse(xml).gexf.graph;
      expect(graph.nodes.node).toHaveLength(names.length);
      expect(graph.edges.edge).toHaveLength(m);
    });

    it('leaves the edge section as it is when the head is longer than its room (labels past the estimate)', async () => {
      const dir = mkdtempSync(join(root, 'room-short-'));
      const channels = rows('x'.repeat(800));
      const room = gexfHeadRoom(names);
      const files = await writeEdgeFiles(dir, g, { parquet: false, gexfHeadRoom: room });
      const section = readFileSync(files.gexfEdgesPart!).subarray(room);
      const fd = openSync(files.gexfEdgesPart!, 'r+');
      try {
        expect(() => writeGexfHeadInto(fd, room, channels, meta, nodeIds)).toThrow(GexfHeadTooLong);
      } finally {
        closeSync(fd);
      }
      expect(readFileSync(files.gexfEdgesPart!).subarray(room).equals(section)).toBe(true);
      // the copying way then gives the document with no blank space
      const doc = copied(dir, channels, files.gexfEdgesPart!, room);
      expect(doc.includes('<!-- blank space')).toBe(false);
      expect(doc.subarray(doc.indexOf('    <edges>\n') + '    <edges>\n'.length).equals(section)).toBe(true);
    });
  });
});
