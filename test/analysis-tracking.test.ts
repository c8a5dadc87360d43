import { describe, expect, it } from 'vitest';
import { initialTracking, trackWindow } from '../src/analysis/tracking.js';

/** channel → community from `{ community: [channels] }`. */
const m = (groups: Record<number, string[]>) =>
  new Map(Object.entries(groups).flatMap(([c, chs]) => chs.map((ch) => [ch, Number(c)] as [string, number])));
const range = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

describe('trackWindow', () => {
  it('keeps ids when nothing changed, whatever the window numbers its communities', () => {
    const w1 = trackWindow(initialTracking(), m({ 0: range('a', 0, 20), 1: range('b', 0, 10) }));
    expect(w1.events.map((e) => e.event)).toEqual(['born', 'born']);
    // the same communities, numbered the other way round
    const w2 = trackWindow(w1.state, m({ 1: range('a', 0, 20), 0: range('b', 0, 10) }));
    expect(w2.moves).toEqual([]);
    for (const ch of [...range('a', 0, 20), ...range('b', 0, 10)])
      expect(w2.channels.get(ch)).toBe(w1.channels.get(ch));
    expect(w2.events.map((e) => e.event)).toEqual(['continued', 'continued']);
  });

  it('a moved channel takes the id of the community it joined; growth and shrinkage are named', () => {
    const w1 = trackWindow(initialTracking(), m({ 0: range('a', 0, 20), 1: range('b', 0, 10) }));
    const w2 = trackWindow(
      w1.state,
      m({ 0: range('a', 0, 17), 1: [...range('b', 0, 10), 'a17', 'a18', 'a19'] }),
    );
    const idA = w1.channels.get('a0');
    const idB = w1.channels.get('b0');
    expect(w2.channels.get('a0')).toBe(idA);
    expect(w2.channels.get('a18')).toBe(idB);
    expect(w2.moves).toEqual([
      { channel: 'a17', from: idA, to: idB },
      { channel: 'a18', from: idA, to: idB },
      { channel: 'a19', from: idA, to: idB },
    ]);
    expect(w2.events.find((e) => e.id === idA)?.event).toBe('shrank');
    expect(w2.events.find((e) => e.id === idB)?.event).toBe('grew');
  });

  it('a split keeps one id and creates one; a new community gets an id never used before', () => {
    const w1 = trackWindow(initialTracking(), m({ 0: range('a', 0, 30), 1: range('b', 0, 10) }));
    const idA = w1.channels.get('a0') as number;
    const w2 = trackWindow(
      w1.state,
      m({ 0: range('a', 0, 18), 1: range('a', 18, 30), 2: range('b', 0, 10), 3: range('n', 0, 8) }),
    );
    expect(w2.channels.get('a0')).toBe(idA); // the bigger part keeps the id
    const splitId = w2.channels.get('a20') as number;
    expect(splitId).not.toBe(idA);
    expect(w2.events.find((e) => e.id === splitId)).toMatchObject({ event: 'split', related: idA, size: 12 });
    const born = w2.events.find((e) => e.event === 'born');
    expect(born?.size).toBe(8);
    const used = new Set(w1.channels.values());
    expect(used.has(born?.id as number)).toBe(false);
    expect(used.has(splitId)).toBe(false);
    // a community that dies frees nothing: the next new one still gets a fresh id
    const w3 = trackWindow(w2.state, m({ 0: range('a', 0, 18), 1: range('z', 0, 6) }));
    const ended = w3.events.filter((e) => e.event === 'died').map((e) => e.id);
    expect(ended.sort()).toEqual([w1.channels.get('b0'), splitId, born?.id].sort());
    const z = w3.channels.get('z0') as number;
    expect([...used, splitId, born?.id]).not.toContain(z);
  });

  it('a merge keeps the bigger id and reports the other as merged into it', () => {
    const w1 = trackWindow(initialTracking(), m({ 0: range('a', 0, 20), 1: range('b', 0, 8) }));
    const w2 = trackWindow(w1.state, m({ 0: [...range('a', 0, 20), ...range('b', 0, 8)] }));
    const idA = w1.channels.get('a0') as number;
    const idB = w1.channels.get('b0') as number;
    expect(w2.channels.get('b3')).toBe(idA);
    expect(w2.events).toEqual([
      { id: idA, community: 0, event: 'grew', size: 28 },
      { id: idB, community: -1, event: 'merged', related: idA, size: 8 },
    ]);
  });

  it('ignores unassigned channels', () => {
    const w = trackWindow(
      initialTracking(),
      new Map([
        ['x', -1],
        ['y', 0],
      ]),
    );
    expect([...w.channels.keys()]).toEqual(['y']);
  });
});
