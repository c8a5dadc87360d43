/**
 * GEXF 1.3 (the format Gephi opens natively): nodes carry the community and its label, the
 * top-level group and its label (both absent for unassigned channels), viewers,
 * degree, strength, language and game as attributes, plus viz:size, viz:color (by community) and
 * viz:position when a layout ran; edges carry their weight.
 */
import type { ChannelRow, EdgeRow } from '../model/atlas.js';
import { ByteSink, type ByteStrings, encodeStrings } from './atomic.js';
import { formatNumber } from './csv.js';
import { type PreparedEdges, prepareEdges } from './edge-index.js';
import { writeEdgeLines } from './edge-lines.js';

// XML 1.0 forbids these code points even when escaped; a channel name or game could carry them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to strip
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters xmlEscape strips or escapes
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff&<>"']/;

/** Escapes text for an XML attribute or element. */
export function xmlEscape(s: string): string {
  // most names and labels need nothing: one test instead of two replaces
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(INVALID_XML, '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A colour per community, stable across runs (a qualitative palette, cycled). */
const PALETTE: [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
  [174, 199, 232],
  [255, 187, 120],
  [152, 223, 138],
  [255, 152, 150],
  [197, 176, 213],
  [196, 156, 148],
  [247, 182, 210],
  [199, 199, 199],
  [219, 219, 141],
  [158, 218, 229],
];

export function communityColor(community: number): [number, number, number] {
  return community < 0 ? [200, 200, 200] : PALETTE[community % PALETTE.length]!;
}

/** Node attributes: GEXF id (the CSV column name) ← row field. */
const NODE_ATTRIBUTES: { id: string; key: keyof ChannelRow; type: 'integer' | 'double' | 'string' }[] = [
  { id: 'community', key: 'community', type: 'integer' },
  { id: 'label', key: 'label', type: 'string' },
  { id: 'group', key: 'group', type: 'integer' },
  { id: 'group_label', key: 'groupLabel', type: 'string' },
  { id: 'viewers', key: 'viewers', type: 'double' },
  { id: 'degree', key: 'degree', type: 'integer' },
  { id: 'strength', key: 'strength', type: 'double' },
  { id: 'language', key: 'language', type: 'string' },
  { id: 'game', key: 'game', type: 'string' },
];
/** Ids where -1 means "none" (unassigned): left out, as the CSV leaves the cell empty. */
const LEVEL_IDS = new Set(['community', 'group']);

const enc = new TextEncoder();
// Edge ids are optional in GEXF 1.3; leaving them out saves a tenth of a large file.
const EDGE_SOURCE = enc.encode('      <edge source="');
const EDGE_TARGET = enc.encode('" target="');
const EDGE_WEIGHT = enc.encode('" weight="');
const EDGE_CLOSE = enc.encode('"/>\n');
/** The fixed bytes of an edge line. */
const EDGE_LINE_BYTES = EDGE_SOURCE.length + EDGE_TARGET.length + EDGE_WEIGHT.length + EDGE_CLOSE.length;

/** One GEXF edge line (endpoints are node ids; `weight` already formatted, may be empty). */
export function writeGexfEdge(sink: ByteSink, source: number, target: number, weight: string): void {
  sink.bytes(EDGE_SOURCE);
  sink.uint(source);
  sink.bytes(EDGE_TARGET);
  sink.uint(target);
  if (weight !== '') {
    sink.bytes(EDGE_WEIGHT);
    sink.text(weight);
  }
  sink.bytes(EDGE_CLOSE);
}

/**
 * The edge lines of a whole graph (as `writeGexfEdge` writes them; `weights` formatted as
 * `formatNumbers` does, an empty one leaves the attribute out) straight into the sink's buffer:
 * node ids and weights are copied from blocks of bytes, no string and no call per piece.
 */
export function writeGexfEdgeLines(
  sink: ByteSink,
  source: Uint32Array,
  target: Uint32Array,
  weights: ByteStrings,
  length: number,
  /** Node ids are 0..nodes-1. */
  nodes: number,
): void {
  const ids = encodeStrings(Array.from({ length: nodes }, (_, i) => String(i)));
  const { bytes, start } = ids;
  const { bytes: wBytes, start: wStart } = weights;
  const lineMax = EDGE_LINE_BYTES + 2 * ids.longest + weights.longest;
  const pieces = [EDGE_SOURCE, EDGE_TARGET, EDGE_WEIGHT, EDGE_CLOSE];
  if (writeEdgeLines(sink, 'gexf', { source, target, length, nodes: ids, weights, pieces }, lineMax)) return;
  for (let i = 0; i < length; i++) {
    sink.ensure(lineMax);
    const buf = sink.buf;
    let p = sink.pos;
    for (let b = 0; b < EDGE_SOURCE.length; b++) buf[p++] = EDGE_SOURCE[b]!;
    const s = source[i]!;
    for (let b = start[s]!, e = start[s + 1]!; b < e; b++) buf[p++] = bytes[b]!;
    for (let b = 0; b < EDGE_TARGET.length; b++) buf[p++] = EDGE_TARGET[b]!;
    const t = target[i]!;
    for (let b = start[t]!, e = start[t + 1]!; b < e; b++) buf[p++] = bytes[b]!;
    const w0 = wStart[i]!;
    const w1 = wStart[i + 1]!;
    if (w1 > w0) {
      for (let b = 0; b < EDGE_WEIGHT.length; b++) buf[p++] = EDGE_WEIGHT[b]!;
      for (let b = w0; b < w1; b++) buf[p++] = wBytes[b]!;
    }
    for (let b = 0; b < EDGE_CLOSE.length; b++) buf[p++] = EDGE_CLOSE[b]!;
    sink.pos = p;
  }
}

/**
 * The edge section written elsewhere (a worker, while communities were detected): node ids are
 * `nodeIds[row]`; `edgesPart` holds the edge lines and the document's end (`GEXF_END`) from byte
 * `edgesFrom` on (default 0).
 */
export interface GexfEdgesWritten {
  nodeIds: Int32Array;
  edgesPart: string;
  edgesFrom?: number;
}

/**
 * Room for the GEXF head (`writeGexfHead` and `GEXF_EDGES_OPEN`) of these channels, known before
 * their communities and labels are: the edge section can then be written at this offset of the
 * document's own file beside community detection, and the head put in front of it afterwards
 * instead of copying ~100 MB of edge lines behind the head (`writeGexfHeadInto`). Each node's
 * escaped name plus `GEXF_NODE_ROOM` bytes for its tags, numbers and texts (labels, language,
 * game); a head that needs more (long labels or game names, hierarchy levels, positions) is
 * written the copying way.
 */
export function gexfHeadRoom(channelNames: readonly string[]): number {
  let names = 0;
  for (const n of channelNames) names += Buffer.byteLength(xmlEscape(n));
  return GEXF_PREAMBLE_ROOM + names + GEXF_NODE_ROOM * channelNames.length;
}

/**
 * Bytes of a node besides its escaped name that `gexfHeadRoom` allows: the tags and attribute
 * names take ~400, the values of the bench's nodes ~130 (labels like "VALORANT · es (78%)").
 */
export const GEXF_NODE_ROOM = 600;
/** The declaration, meta (with its description), attribute declarations and node section tags. */
const GEXF_PREAMBLE_ROOM = 4096;

/** Raised by `writeGexfHeadInto` when the head does not fit its room (nothing after the room is touched). */
export class GexfHeadTooLong extends Error {}

/**
 * Writes the head into bytes [0, room) of `fd`, the file whose edge section starts at `room`:
 * the head, then whitespace (after a comment saying why) up to `GEXF_EDGES_OPEN`, which ends
 * exactly at `room`. Throws `GexfHeadTooLong` before writing a byte past the room.
 */
export function writeGexfHeadInto(
  fd: number,
  room: number,
  channels: readonly ChannelRow[],
  meta: { description: string; date: string },
  nodeIds?: Int32Array,
): void {
  const sink = new ByteSink(fd, {
    limit: room,
    tooLong: () => new GexfHeadTooLong('GEXF head longer than its room'),
  });
  writeGexfHead(sink, channels, meta, nodeIds);
  let gap = room - GEXF_EDGES_OPEN.length - (sink.flushed + sink.pos);
  if (gap < 0) throw new GexfHeadTooLong('GEXF head longer than its room');
  if (gap >= GEXF_ROOM_NOTE.length) {
    sink.text(GEXF_ROOM_NOTE);
    gap -= GEXF_ROOM_NOTE.length;
  }
  // whitespace between elements, in lines of at most 128 bytes
  while (gap > 0) {
    const n = Math.min(gap, 128);
    sink.ensure(n);
    sink.buf.fill(32, sink.pos, sink.pos + n - 1);
    sink.buf[sink.pos + n - 1] = 10;
    sink.pos += n;
    gap -= n;
  }
  sink.text(GEXF_EDGES_OPEN);
  sink.flush();
}

/** Said before the whitespace that fills the head's room. */
const GEXF_ROOM_NOTE =
  '    <!-- blank space: room left for the nodes (the edges below were written beside them) -->\n';

/** Writes the GEXF document to `sink` (it can be large: one line per edge). */
export function writeGexf(
  sink: ByteSink,
  channels: readonly ChannelRow[],
  edges: readonly EdgeRow[],
  meta: { description: string; date: string },
  prepared: PreparedEdges | GexfEdgesWritten = prepareEdges(channels, edges),
): void {
  const external = 'edgesPart' in prepared ? prepared : undefined;
  writeGexfHead(sink, channels, meta, external?.nodeIds);
  sink.text(GEXF_EDGES_OPEN);
  if (external) {
    sink.copyFile(external.edgesPart, external.edgesFrom ?? 0);
  } else {
    // One short line per edge, straight into the byte buffer: millions of them in a large atlas
    // (shared counts are in edges.csv).
    const { source, target, weight } = prepared as PreparedEdges;
    for (let i = 0; i < edges.length; i++) {
      const s = source[i]!;
      const t = target[i]!;
      if (s >= 0 && t >= 0) writeGexfEdge(sink, s, t, weight[i]!);
    }
    sink.text(GEXF_END);
  }
}

/** What follows the nodes: the edge section's start. */
export const GEXF_EDGES_OPEN = '    <edges>\n';
/** What follows the edge lines. */
export const GEXF_END = '    </edges>\n  </graph>\n</gexf>\n';

/**
 * The document up to the edge section (`GEXF_EDGES_OPEN`) — declaration, meta, attributes and
 * nodes; node ids are `nodeIds[row]` when given, else the row.
 */
export function writeGexfHead(
  sink: ByteSink,
  channels: readonly ChannelRow[],
  meta: { description: string; date: string },
  nodeIds?: Int32Array,
): void {
  const write = (s: string) => sink.text(s);
  write('<?xml version="1.0" encoding="UTF-8"?>\n');
  write(
    '<gexf xmlns="http://gexf.net/1.3" xmlns:viz="http://gexf.net/1.3/viz" ' +
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
      'xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">\n',
  );
  write(`  <meta lastmodifieddate="${xmlEscape(meta.date)}">\n`);
  write('    <creator>ViewerAtlas</creator>\n');
  write(`    <description>${xmlEscape(meta.description)}</description>\n`);
  write('  </meta>\n');
  write('  <graph mode="static" defaultedgetype="undirected">\n');
  write('    <attributes class="node">\n');
  for (const a of NODE_ATTRIBUTES)
    write(`      <attribute id="${a.id}" title="${a.id}" type="${a.type}"/>\n`);
  // Hierarchy levels (communities at other resolutions), when asked for.
  const levels = [...new Set(channels.flatMap((c) => Object.keys(c.levels ?? {})))];
  for (const k of levels) {
    write(
      `      <attribute id="community_${xmlEscape(k)}" title="community_${xmlEscape(k)}" type="integer"/>\n`,
    );
  }
  write('    </attributes>\n');

  let maxViewers = 0;
  for (const c of channels) if (c.viewers > maxViewers) maxViewers = c.viewers;
  // Node ids are numbers (short, no escaping in the edge list); the label is the channel.
  write('    <nodes>\n');
  // labels, languages and games repeat from node to node: each escaped once
  const escaped = new Map<string, string>();
  const escapeRepeated = (v: string) => {
    let e = escaped.get(v);
    if (e === undefined) {
      e = xmlEscape(v);
      escaped.set(v, e);
    }
    return e;
  };
  for (let i = 0; i < channels.length; i++) {
    const c = channels[i]!;
    const id = nodeIds ? nodeIds[i]! : i;
    let s = `      <node id="${id}" label="${xmlEscape(c.channel)}">\n        <attvalues>`;
    for (const a of NODE_ATTRIBUTES) {
      const v = c[a.key];
      if (LEVEL_IDS.has(a.id) && typeof v === 'number' && v < 0) continue;
      const text = typeof v === 'number' ? formatNumber(v) : escapeRepeated(String(v ?? ''));
      if (text !== '') s += `<attvalue for="${a.id}" value="${text}"/>`;
    }
    for (const k of levels) {
      const v = c.levels?.[k];
      if (v !== undefined) s += `<attvalue for="community_${xmlEscape(k)}" value="${v}"/>`;
    }
    s += '</attvalues>\n';
    // Area proportional to audience: size ∝ √viewers, 2..50.
    const size = maxViewers > 0 ? 2 + 48 * Math.sqrt(Math.max(0, c.viewers) / maxViewers) : 5;
    const [r, g, b] = communityColor(c.community);
    s += `        <viz:size value="${formatNumber(size, 3)}"/><viz:color r="${r}" g="${g}" b="${b}"/>`;
    if (Number.isFinite(c.x) && Number.isFinite(c.y)) {
      s += `<viz:position x="${formatNumber(c.x)}" y="${formatNumber(c.y)}" z="0"/>`;
    }
    write(`${s}\n      </node>\n`);
  }
  write('    </nodes>\n');
}
