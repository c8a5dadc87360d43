/**
 * Ready-made edge lists as Gephi exports them (`Source,Target,Weight`, any capitalisation, extra
 * columns such as `Type`/`Id`/`Label` ignored) with an optional node file (`Id,Label,Count`) that
 * gives audience sizes. A negative, non-numeric or huge (> `MAX_EDGE_WEIGHT`) weight fails the
 * whole file: a weight column that is not numbers is the wrong file, not a bad row.
 */
import { InputError } from '../errors.js';
import type { EdgeTable } from '../model/presence-table.js';
import { assertNonEmpty, readCsvRecords } from './metadata.js';
import { type RejectedRow, RejectLog } from './presence.js';

export interface EdgeReadResult {
  table: EdgeTable;
  rejected: RejectedRow[];
  rejectedCount: number;
  /** Nodes that came from the node file. */
  nodesRead: number;
}

const EDGE_COLS = {
  source: ['source', 'from', 'src'],
  target: ['target', 'to', 'dst'],
  weight: ['weight', 'shared', 'count', 'value'],
};
const NODE_COLS = {
  id: ['id', 'channel', 'name', 'node'],
  label: ['label'],
  audience: ['count', 'viewers', 'audience', 'size', 'unique_viewers', 'chatters'],
};

/**
 * Largest edge weight accepted. Community detection sums weights (node strengths, the graph's
 * total); with weights near 1e308 those sums overflow to Infinity and modularity becomes NaN.
 * 1e12 leaves room for a billion such edges within float64's exact range of magnitudes.
 */
export const MAX_EDGE_WEIGHT = 1e12;

const find = (names: string[], aliases: readonly string[]) => names.findIndex((n) => aliases.includes(n));

/** True when a (lower-cased) header is an edge list. */
export function isEdgeHeader(names: string[]): boolean {
  return find(names, EDGE_COLS.source) >= 0 && find(names, EDGE_COLS.target) >= 0;
}

/** True when a (lower-cased) header is a node file. */
export function isNodeHeader(names: string[]): boolean {
  return (
    find(names, NODE_COLS.id) >= 0 &&
    (find(names, NODE_COLS.audience) >= 0 || find(names, NODE_COLS.label) >= 0)
  );
}

class NodeIndex {
  names: string[] = [];
  audience: number[] = [];
  private ids = new Map<string, number>();
  id(name: string): number {
    let i = this.ids.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.ids.set(name, i);
      this.names.push(name);
      this.audience.push(0);
    }
    return i;
  }
  has(name: string): boolean {
    return this.ids.has(name);
  }
}

/** A number from a CSV field, NaN when it is not one. */
function num(s: string | undefined): number {
  const t = (s ?? '').trim();
  return t === '' ? Number.NaN : Number(t);
}

/**
 * Reads an edge list (and an optional node file) into an interned EdgeTable. Rows without a
 * source or target are rejected and counted; a weight that is negative or not a number is an
 * InputError naming file:line. No weight column: every edge weighs 1.
 */
export async function readEdgeList(edgesPath: string, nodesPath?: string): Promise<EdgeReadResult> {
  const nodes = new NodeIndex();
  const log = new RejectLog();
  let nodesRead = 0;
  if (nodesPath) {
    await assertNonEmpty(nodesPath);
    let col = { id: -1, label: -1, audience: -1 };
    await readCsvRecords(
      nodesPath,
      (names, line) => {
        col = {
          id: find(names, NODE_COLS.id),
          label: find(names, NODE_COLS.label),
          audience: find(names, NODE_COLS.audience),
        };
        if (col.id < 0)
          throw new InputError(
            'import',
            `${nodesPath}:${line}: node file needs an Id column (header: ${names.join(',').slice(0, 120)})`,
          );
      },
      (f, line) => {
        const name = (f[col.id] ?? '').trim();
        if (!name) return log.add(nodesPath, line, 'empty node id');
        let a = 0;
        if (col.audience >= 0) {
          a = num(f[col.audience]);
          if (!Number.isFinite(a) || a < 0)
            return log.add(nodesPath, line, `bad audience "${(f[col.audience] ?? '').slice(0, 20)}"`);
        }
        const i = nodes.id(name);
        nodes.audience[i] = a;
        nodesRead++;
      },
    );
    if (nodesRead === 0) throw new InputError('import', `${nodesPath}: no readable node row`);
  }

  await assertNonEmpty(edgesPath);
  let col = { source: -1, target: -1, weight: -1 };
  let cap = 1 << 14;
  let source = new Uint32Array(cap);
  let target = new Uint32Array(cap);
  let weight = new Float64Array(cap);
  let length = 0;
  await readCsvRecords(
    edgesPath,
    (names, line) => {
      col = {
        source: find(names, EDGE_COLS.source),
        target: find(names, EDGE_COLS.target),
        weight: find(names, EDGE_COLS.weight),
      };
      if (col.source < 0 || col.target < 0) {
        throw new InputError(
          'import',
          `${edgesPath}:${line}: edge list needs Source and Target columns (header: ${names.join(',').slice(0, 120)})`,
        );
      }
    },
    (f, line) => {
      const s = (f[col.source] ?? '').trim();
      const t = (f[col.target] ?? '').trim();
      if (!s || !t) return log.add(edgesPath, line, `empty ${s ? 'target' : 'source'}`);
      let w = 1;
      if (col.weight >= 0) {
        w = num(f[col.weight]);
        if (Number.isNaN(w) || !Number.isFinite(w)) {
          throw new InputError(
            'import',
            `${edgesPath}:${line}: non-numeric weight "${(f[col.weight] ?? '').slice(0, 30)}"`,
          );
        }
        if (w < 0) throw new InputError('import', `${edgesPath}:${line}: negative weight ${w}`);
        // Sums of weights (degrees, 2m) must stay finite and exact enough: 1e308 made modularity NaN.
        if (w > MAX_EDGE_WEIGHT)
          throw new InputError(
            'import',
            `${edgesPath}:${line}: weight ${w} too large (at most ${MAX_EDGE_WEIGHT.toExponential()})`,
          );
      }
      if (s === t) return log.add(edgesPath, line, `self-loop ${s}`);
      if (length === cap) {
        cap *= 2;
        const gs = new Uint32Array(cap);
        gs.set(source);
        source = gs;
        const gt = new Uint32Array(cap);
        gt.set(target);
        target = gt;
        const gw = new Float64Array(cap);
        gw.set(weight);
        weight = gw;
      }
      source[length] = nodes.id(s);
      target[length] = nodes.id(t);
      weight[length] = w;
      length++;
    },
  );
  if (length === 0) {
    const first = log.rejected.find((r) => r.file === edgesPath);
    throw new InputError(
      'import',
      `${edgesPath}: no readable edge${first ? ` (first: line ${first.line}: ${first.reason})` : ''}`,
    );
  }
  return {
    table: {
      nodeNames: nodes.names,
      nodeAudience: Float64Array.from(nodes.audience),
      length,
      source: source.slice(0, length),
      target: target.slice(0, length),
      weight: weight.slice(0, length),
    },
    rejected: log.rejected,
    rejectedCount: log.count,
    nodesRead,
  };
}
