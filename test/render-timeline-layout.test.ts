/**
 * The timeline page's positions (`linkedLayout`): ForceAtlas2 over the channels with an edge in
 * some window, as the layout gives them on their own graph, and every channel without one on a
 * ring outside them, the same on every run.
 */
import { describe, expect, it } from 'vitest';
import { runLayout } from '../src/render/layout.js';
import { linkedLayout } from '../src/render/timeline-html.js';

/** Two 6-cliques (channels 0–5 and 7–12, linked by one edge) among 30 channels; the rest alone. */
function graph() {
  const n = 30;
  const source: number[] = [];
  const target: number[] = [];
  const weight: number[] = [];
  for (const base of [0, 7])
    for (let a = base; a < base + 6; a++)
      for (let b = a + 1; b < base + 6; b++) {
        source.push(a);
        target.push(b);
        weight.push(1 + ((a * 7 + b) % 5));
      }
  source.push(5);
  target.push(7);
  weight.push(0.5);
  const community = new Int32Array(n).fill(-1);
  for (let i = 0; i < 13; i++) if (i !== 6) community[i] = i < 6 ? 0 : 1;
  return {
    n,
    source: Uint32Array.from(source),
    target: Uint32Array.from(target),
    weight: Float64Array.from(weight),
    community,
  };
}

describe('timeline page layout', () => {
  it('lays out the linked channels alone and rings the others round them, deterministically', async () => {
    const g = graph();
    const a = await linkedLayout(g.n, g.source, g.target, g.weight, g.community, 42);
    const b = await linkedLayout(g.n, g.source, g.target, g.weight, g.community, 42);
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.y)).toEqual(Array.from(b.y));
    const linked = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12];
    // the linked channels where the layout puts them on their own graph (ids renumbered in order)
    const at = new Map(linked.map((i, k) => [i, k]));
    const alone = await runLayout(
      {
        nodeCount: linked.length,
        source: g.source.map((i) => at.get(i) as number),
        target: g.target.map((i) => at.get(i) as number),
        weight: g.weight,
        community: Int32Array.from(linked, (i) => g.community[i] as number),
      },
      { seed: 42 },
    );
    linked.forEach((i, k) => {
      expect(a.x[i]).toBe(alone.x[k]);
      expect(a.y[i]).toBe(alone.y[k]);
    });
    const cx = linked.reduce((s, i) => s + (a.x[i] as number), 0) / linked.length;
    const cy = linked.reduce((s, i) => s + (a.y[i] as number), 0) / linked.length;
    const dist = (i: number) => Math.hypot((a.x[i] as number) - cx, (a.y[i] as number) - cy);
    const outer = Math.max(...linked.map(dist));
    const unlinked = Array.from({ length: g.n }, (_, i) => i).filter((i) => !linked.includes(i));
    expect(unlinked).toHaveLength(18);
    for (const i of unlinked) {
      expect(dist(i)).toBeGreaterThan(1.1 * outer);
      expect(dist(i)).toBeLessThan(1.55 * outer);
    }
    // spread round the ring, not heaped on one side
    const angles = unlinked.map((i) => Math.atan2((a.y[i] as number) - cy, (a.x[i] as number) - cx));
    expect(angles.filter((t) => t > 0).length).toBeGreaterThan(5);
    expect(angles.filter((t) => t < 0).length).toBeGreaterThan(5);
  });

  it('places every channel when none shares an edge', async () => {
    const n = 12;
    const r = await linkedLayout(
      n,
      new Uint32Array(0),
      new Uint32Array(0),
      new Float64Array(0),
      new Int32Array(n).fill(-1),
      1,
    );
    const points = new Set(Array.from({ length: n }, (_, i) => `${r.x[i]},${r.y[i]}`));
    expect(points.size).toBe(n);
    expect(Array.from(r.x).every(Number.isFinite)).toBe(true);
  });
});
