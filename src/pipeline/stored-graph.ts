/**
 * Edge lists imported into storage (`graphs/<name>/edges.parquet` + optional `nodes.parquet`,
 * written by `vieweratlas import`) read back as an EdgeTable, so `analyze` without `--input`
 * also works on a store that holds a ready-made graph and no presence.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GRAPH_LAYOUT } from '../ingest/index.js';
import type { EdgeTable } from '../model/presence-table.js';
import { queryRows, sqlString, withDuckDB } from '../storage/duckdb.js';
import type { Storage } from '../storage/index.js';

export interface StoredGraph {
  /** The graph's name (its folder under `graphs/`). */
  name: string;
  edgesKey: string;
  nodesKey?: string;
}

/** The graphs in storage, the most recently written first. */
export async function listStoredGraphs(storage: Storage): Promise<StoredGraph[]> {
  const entries = await storage.list(GRAPH_LAYOUT.prefix);
  const byName = new Map<string, { edges?: string; nodes?: string; modified: number }>();
  for (const e of entries) {
    const m = /^graphs\/([^/]+)\/(edges|nodes)\.parquet$/.exec(e.key);
    if (!m) continue;
    const g = byName.get(m[1]!) ?? { modified: 0 };
    g[m[2] as 'edges' | 'nodes'] = e.key;
    g.modified = Math.max(g.modified, e.modified);
    byName.set(m[1]!, g);
  }
  return [...byName]
    .filter(([, g]) => g.edges)
    .sort((a, b) => b[1].modified - a[1].modified || (a[0] < b[0] ? -1 : 1))
    .map(([name, g]) => ({ name, edgesKey: g.edges!, nodesKey: g.nodes }));
}

/** Reads one stored graph into an EdgeTable (names interned, audiences from the node file). */
export async function loadStoredGraph(storage: Storage, graph: StoredGraph): Promise<EdgeTable> {
  let tmp: string | undefined;
  const local = async (key: string) => {
    const lp = storage.localPath(key);
    if (lp !== undefined) return lp;
    tmp ??= await mkdtemp(join(tmpdir(), 'vieweratlas-graph-'));
    const target = join(tmp, key.replaceAll('/', '_'));
    await storage.getFile(key, target);
    return target;
  };
  try {
    const edgesFile = await local(graph.edgesKey);
    const nodesFile = graph.nodesKey ? await local(graph.nodesKey) : undefined;
    const { edges, nodes } = await withDuckDB(async (conn) => ({
      edges: await queryRows(
        conn,
        `SELECT source, target, weight FROM read_parquet(${sqlString(edgesFile)})`,
      ),
      nodes: nodesFile
        ? await queryRows(conn, `SELECT id, audience FROM read_parquet(${sqlString(nodesFile)})`)
        : [],
    }));
    const id = new Map<string, number>();
    const names: string[] = [];
    const intern = (name: string) => {
      let i = id.get(name);
      if (i === undefined) {
        i = names.length;
        id.set(name, i);
        names.push(name);
      }
      return i;
    };
    for (const n of nodes) intern(String(n.id));
    const source = new Uint32Array(edges.length);
    const target = new Uint32Array(edges.length);
    const weight = new Float64Array(edges.length);
    edges.forEach((e, i) => {
      source[i] = intern(String(e.source));
      target[i] = intern(String(e.target));
      weight[i] = Number(e.weight);
    });
    const nodeAudience = new Float64Array(names.length);
    for (const n of nodes) nodeAudience[id.get(String(n.id))!] = Number(n.audience) || 0;
    return { nodeNames: names, nodeAudience, length: edges.length, source, target, weight };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
