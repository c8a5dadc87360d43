import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KNOWN_BOT_NAMES, simulatePopulation } from '../src/simulate/model.js';
import { writeSimulation } from '../src/simulate/write.js';

const root = mkdtempSync(join(tmpdir(), 'va-simulate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SMALL = { channels: 300, viewers: 30_000, communities: 8, mixing: 0.5, seed: 7 };

/** Per channel: its set of viewers (ordinary viewers only). */
function audiences(pop: ReturnType<typeof simulatePopulation>): Set<number>[] {
  const sets = pop.channels.map(() => new Set<number>());
  pop.forEachPresence((c, v) => {
    if (v < pop.viewers) sets[c]!.add(v);
  });
  return sets;
}

describe('simulatePopulation', () => {
  it('is deterministic: same seed gives the same rows, another seed different ones', () => {
    const rows = (seed: number) => {
      const out: string[] = [];
      simulatePopulation({ ...SMALL, viewers: 2000, seed }).forEachPresence((c, v, ts, m) =>
        out.push(`${c},${v},${ts},${m}`),
      );
      return out;
    };
    const a = rows(7);
    expect(rows(7)).toEqual(a);
    expect(rows(8)).not.toEqual(a);
  });

  it('visitsOf answers for any viewer in any order, matching the full pass', () => {
    const pop = simulatePopulation(SMALL);
    const seen = new Map<number, Set<number>>();
    pop.forEachPresence((c, v) => {
      if (v >= 20) return;
      if (!seen.has(v)) seen.set(v, new Set());
      seen.get(v)!.add(c);
    });
    for (const v of [19, 3, 0, 11]) expect(new Set(pop.visitsOf(v))).toEqual(seen.get(v) ?? new Set());
  });

  it('has heavy-tailed audiences: the top 1% of channels hold far more than 1% of presence', () => {
    const pop = simulatePopulation({ ...SMALL, channels: 1000, viewers: 50_000 });
    const sizes = audiences(pop)
      .map((s) => s.size)
      .sort((a, b) => b - a);
    const total = sizes.reduce((a, b) => a + b, 0);
    const top1 = sizes.slice(0, 10).reduce((a, b) => a + b, 0);
    expect(top1 / total).toBeGreaterThan(0.1);
    expect(sizes[0]! / sizes[500]!).toBeGreaterThan(20);
  });

  it('makes big channels hubs: they share viewers with every community, small ones mostly with their own', () => {
    const pop = simulatePopulation(SMALL);
    const aud = audiences(pop);
    const byPop = pop.channels.map((c, i) => ({ i, p: c.popularity })).sort((a, b) => b.p - a.p);
    const communitiesReached = (i: number) => {
      const homes = new Set<number>();
      for (const v of aud[i]!) homes.add(pop.viewerHome(v));
      return homes.size;
    };
    // The biggest channel has viewers from every community.
    expect(communitiesReached(byPop[0]!.i)).toBe(SMALL.communities);
    // Viewers of a channel come from its own community far more often than 1/K.
    const mid = byPop[150]!.i;
    let own = 0;
    for (const v of aud[mid]!) if (pop.viewerHome(v) === pop.truth[mid]) own++;
    expect(own / aud[mid]!.size).toBeGreaterThan(0.4);
  });

  it('places known and behavioural bots in many channels', () => {
    const pop = simulatePopulation(SMALL);
    const channelsOf = new Map<number, Set<number>>();
    pop.forEachPresence((c, v) => {
      if (v < pop.viewers) return;
      if (!channelsOf.has(v)) channelsOf.set(v, new Set());
      channelsOf.get(v)!.add(c);
    });
    expect(pop.viewerName(pop.viewers)).toBe(KNOWN_BOT_NAMES[0]);
    const shares = [...channelsOf.values()].map((s) => s.size / SMALL.channels);
    expect(shares.length).toBe(pop.bots.length);
    expect(Math.max(...shares)).toBeGreaterThan(0.3);
  });

  it('rejects bad options with the option named', () => {
    expect(() => simulatePopulation({ mixing: 1.5 })).toThrow(/mixing/);
    expect(() => simulatePopulation({ channels: 3, communities: 5 })).toThrow(/communities/);
  });
});

describe('vieweratlas simulate', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, ['bin/vieweratlas.mjs', 'simulate', ...args], { encoding: 'utf8' });

  it('writes presence, channels and truth; the same seed gives byte-identical files', () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    const args = [
      '--channels',
      '200',
      '--viewers',
      '5000',
      '--communities',
      '5',
      '--mixing',
      '0.4',
      '--seed',
      '3',
    ];
    const ra = run([...args, '--out', a]);
    expect(ra.status, ra.stderr).toBe(0);
    expect(run([...args, '--out', b]).status).toBe(0);
    for (const f of ['presence.csv', 'channels.csv', 'truth.csv']) {
      expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
    }
    const presence = readFileSync(join(a, 'presence.csv'), 'utf8').split('\n');
    expect(presence[0]).toBe('channel,viewer,ts,source,messages');
    expect(presence[1]).toMatch(/^[a-z0-9_]+,[a-z0-9_]+,\d{10},live,\d+$/);
    expect(readFileSync(join(a, 'channels.csv'), 'utf8').split('\n')[0]).toBe(
      'channel,language,game,viewer_count',
    );
    const truth = readFileSync(join(a, 'truth.csv'), 'utf8').trim().split('\n');
    expect(truth.length).toBe(201);
    expect(new Set(truth.slice(1).map((l) => l.split(',')[1])).size).toBe(5);
  });

  it('writes the same rows as the library, byte-identical with and without the worker thread', async () => {
    const pop = simulatePopulation({ ...SMALL, viewers: 3001 });
    const one = await writeSimulation(pop, join(root, 'one'), { parallel: false });
    const two = await writeSimulation(pop, join(root, 'two'), { parallel: true });
    const lines = readFileSync(one.presence, 'utf8').trim().split('\n');
    let n = 0;
    pop.forEachPresence(() => n++);
    expect(lines.length - 1).toBe(n);
    expect(one.rows).toBe(n);
    expect(two.rows).toBe(n);
    expect(readFileSync(two.presence).equals(readFileSync(one.presence))).toBe(true);
    expect(readdirSync(join(root, 'two'))).toEqual(['channels.csv', 'presence.csv', 'truth.csv']);
  });

  it('exits 1 with one line on a bad flag', () => {
    const r = run(['--mixing', '2', '--out', join(root, 'bad')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--mixing/);
  });
});
