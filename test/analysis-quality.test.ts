import { describe, expect, it } from 'vitest';
import { ari, nmi } from '../src/analysis/quality.js';

describe('nmi / ari against known values', () => {
  it('scores identical partitions 1, whatever the label names', () => {
    expect(nmi([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
    expect(nmi([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1);
    expect(nmi([0, 0, 1, 1], [7, 7, 3, 3])).toBe(1);
    expect(ari([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1);
    expect(ari([5, 5, 2, 2, 9], [0, 0, 1, 1, 2])).toBe(1);
  });

  it('matches scikit-learn on [0,0,1,1] vs [0,0,1,2] (hand-computed: NMI 0.8, ARI 4/7)', () => {
    expect(nmi([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(0.8, 12);
    expect(ari([0, 0, 1, 1], [0, 0, 1, 2])).toBeCloseTo(4 / 7, 12);
    // symmetric
    expect(nmi([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(0.8, 12);
    expect(ari([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(4 / 7, 12);
  });

  it('matches the scikit-learn user-guide example (v-measure 0.515…, ARI 0.242…)', () => {
    const truth = [0, 0, 0, 1, 1, 1];
    const pred = [0, 0, 1, 1, 2, 2];
    expect(nmi(truth, pred)).toBeCloseTo(0.5158037429793888, 12);
    expect(ari(truth, pred)).toBeCloseTo(8 / 33, 12);
  });

  it('scores independent partitions 0 (NMI) and negative (ARI)', () => {
    const a = [0, 0, 0, 1, 1, 1];
    const b = [0, 1, 2, 0, 1, 2];
    expect(nmi(a, b)).toBeCloseTo(0, 12);
    expect(ari(a, b)).toBeCloseTo(-4 / 11, 12);
  });

  it('is invariant under relabelling and accepts typed arrays', () => {
    const a = Int32Array.from([0, 0, 1, 1, 2, 2, 2, 3]);
    const b = Int32Array.from([1, 1, 1, 0, 2, 2, 3, 3]);
    const perm = (x: ArrayLike<number>) => Array.from(x, (v) => [3, 0, 2, 1][v]);
    expect(nmi(perm(a), b)).toBeCloseTo(nmi(a, b), 12);
    expect(ari(a, perm(b))).toBeCloseTo(ari(a, b), 12);
    expect(nmi(a, b)).toBeGreaterThan(0);
    expect(nmi(a, b)).toBeLessThan(1);
  });

  it('handles trivial partitions like scikit-learn', () => {
    expect(nmi([0, 0, 0], [1, 1, 1])).toBe(1);
    expect(ari([0, 0, 0], [1, 1, 1])).toBe(1);
    expect(ari([0, 1, 2], [0, 1, 2])).toBe(1);
    expect(nmi([0, 0, 0, 0], [0, 1, 2, 3])).toBe(0);
  });

  it('rejects vectors of different lengths', () => {
    expect(() => nmi([0, 1], [0])).toThrow(/differ in length/);
  });
});
