/**
 * The quality targets of the analysis, end to end on presence rows: aggregate → overlap →
 * communities with DEFAULT settings recover planted communities on hub-heavy data at mixing 0.5
 * (NMI ≥ 0.90), where raw shared counts do measurably worse.
 */
import { describe, expect, it } from 'vitest';
import {
  AGGREGATE_DEFAULTS,
  aggregate,
  buildOverlapGraph,
  detectCommunities,
  nmi,
  OVERLAP_DEFAULTS,
} from '../src/analysis/index.js';
import type { WeightKind } from '../src/model/atlas.js';
import type { PresenceTable } from '../src/model/presence-table.js';
import { synthesize } from './fixtures/analysis/synthetic.js';

function recover(table: PresenceTable, truthOf: (name: string) => number, weight?: WeightKind) {
  const audience = aggregate(table, AGGREGATE_DEFAULTS);
  const graph = buildOverlapGraph(audience, weight ? { ...OVERLAP_DEFAULTS, weight } : OVERLAP_DEFAULTS);
  const result = detectCommunities(graph);
  const truth = graph.nodeNames.map(truthOf);
  return { audience, graph, result, nmi: nmi(truth, result.membership) };
}

describe('planted communities, hub-heavy, mixing 0.5 (test generator with niche communities)', () => {
  const { table, truth } = synthesize({
    channels: 1000,
    viewers: 120_000,
    communities: 12,
    mixing: 0.5,
    nicheShare: 0.5,
    seed: 1,
  });
  const truthOf = (name: string) => truth.get(name)!;

  it('default settings recover them with NMI ≥ 0.90', () => {
    const r = recover(table, truthOf);
    expect(r.graph.nodeNames.length).toBe(1000);
    expect(r.nmi).toBeGreaterThanOrEqual(0.9);
    expect(r.result.count).toBe(12);
  });

  it('raw shared counts show the hub problem: communities merge, NMI clearly lower', () => {
    const def = recover(table, truthOf);
    const shared = recover(table, truthOf, 'shared');
    expect(shared.result.count).toBeLessThan(12);
    expect(def.nmi - shared.nmi).toBeGreaterThan(0.05);
  });
});

describe('planted communities from src/simulate (the product simulator), mixing 0.5', () => {
  it('default settings recover them with NMI ≥ 0.90 and remove the planted bots', async () => {
    const { simulatePopulation } = await import('../src/simulate/model.js');
    const pop = simulatePopulation({ channels: 800, viewers: 80_000, communities: 10, mixing: 0.5, seed: 3 });
    const ch: number[] = [];
    const vw: number[] = [];
    const ts: number[] = [];
    const ms: number[] = [];
    pop.forEachPresence((c, v, t, m) => {
      ch.push(c);
      vw.push(v);
      ts.push(t);
      ms.push(m);
    });
    const nViewers = pop.viewers + pop.bots.length;
    const table: PresenceTable = {
      channelNames: pop.channels.map((c) => c.name),
      viewerNames: Array.from({ length: nViewers }, (_, i) => pop.viewerName(i)),
      length: ch.length,
      channel: Uint32Array.from(ch),
      viewer: Uint32Array.from(vw),
      ts: Float64Array.from(ts),
      messages: Uint32Array.from(ms),
    };
    const community = new Map(pop.channels.map((c) => [c.name, c.community]));
    const r = recover(table, (name) => community.get(name)!);
    expect(r.nmi).toBeGreaterThanOrEqual(0.9);
    const behavioural = pop.options.behaviouralBots;
    expect(r.audience.counts.botsRemoved.known).toBe(pop.bots.length - behavioural);
    expect(r.audience.counts.botsRemoved.behavioural).toBe(behavioural);
  });
});
