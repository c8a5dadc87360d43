import { describe, expect, it } from 'vitest';
import {
  type AggregateHelper,
  aggregate,
  aggregatePart,
  type GatherInput,
  gatherInBuckets,
  gatherPart,
  qualifyingPairs,
} from '../src/analysis/aggregate.js';
import { spawnProjectionWorker } from '../src/analysis/overlap-parallel.js';
import { createRng as rng } from '../src/analysis/rng.js';
import type { Audience } from '../src/analysis/types.js';
import type { PresenceTable } from '../src/model/presence-table.js';

interface Row {
  channel: number;
  viewer: number;
  ts: number;
  messages: number;
}

/** Random presence: most viewers in a few channels, some heavy ones (long runs), repeats of pairs. */
function randomRows(seed: number, nChannels: number, nViewers: number): Row[] {
  const r = rng(seed);
  const rows: Row[] = [];
  for (let v = 0; v < nViewers; v++) {
    const heavy = r() < 0.03;
    const visits = heavy ? 40 + Math.floor(r() * 200) : 1 + Math.floor(r() * 12);
    const home = Math.floor(r() * nChannels);
    for (let k = 0; k < visits; k++) {
      const c = r() < 0.6 ? (home + Math.floor(r() * 3)) % nChannels : Math.floor(r() * nChannels);
      rows.push({
        channel: c,
        viewer: v,
        ts: Math.floor(r() * 6) * 3_600_000,
        messages: 1 + Math.floor(r() * 3),
      });
    }
  }
  return rows;
}

function tableOfRows(rows: readonly Row[], nChannels: number, nViewers: number): PresenceTable {
  return {
    channelNames: Array.from({ length: nChannels }, (_, c) => `ch${c}`),
    viewerNames: Array.from({ length: nViewers }, (_, v) => (v === 7 ? 'nightbot' : `v${v}`)),
    length: rows.length,
    channel: Uint32Array.from(rows, (x) => x.channel),
    viewer: Uint32Array.from(rows, (x) => x.viewer),
    ts: Float64Array.from(rows, (x) => x.ts),
    messages: Uint32Array.from(rows, (x) => x.messages),
  };
}

/** What the audience says, as plain arrays (every output the analysis reads). */
function plain(a: Audience) {
  return {
    channelNames: a.channelNames,
    channelIds: Array.from(a.channelIds),
    offsets: Array.from(a.offsets),
    viewers: Array.from(a.viewers),
    viewerOffsets: Array.from(a.viewerOffsets ?? []),
    viewerChannels: Array.from(a.viewerChannels ?? []),
    viewerCount: a.viewerCount,
    counts: a.counts,
  };
}

/** The definition, written plainly with maps: the reference the typed-array code must match. */
function reference(
  rows: readonly Row[],
  nChannels: number,
  o: {
    minMessages: number;
    minBuckets: number;
    minViewers: number;
    botMinChannels: number;
    maxChannelShare: number;
    bot: number;
  },
) {
  const pairs = new Map<string, { v: number; c: number; msgs: number; ts: Set<number>; rows: number }>();
  for (const x of rows) {
    if (x.viewer === o.bot) continue;
    const key = `${x.viewer}:${x.channel}`;
    let p = pairs.get(key);
    if (!p) {
      p = { v: x.viewer, c: x.channel, msgs: 0, ts: new Set(), rows: 0 };
      pairs.set(key, p);
    }
    p.msgs += x.messages;
    p.ts.add(x.ts);
    p.rows++;
  }
  const ok = [...pairs.values()].filter((p) => p.msgs >= o.minMessages && p.ts.size >= o.minBuckets);
  const active = new Set(ok.map((p) => p.c)).size;
  const degree = new Map<number, number>();
  for (const p of ok) degree.set(p.v, (degree.get(p.v) ?? 0) + 1);
  const threshold = Math.max(o.botMinChannels, Math.floor(o.maxChannelShare * active) + 1);
  const human = ok.filter((p) => (degree.get(p.v) ?? 0) < threshold);
  const size = new Map<number, number>();
  for (const p of human) size.set(p.c, (size.get(p.c) ?? 0) + 1);
  const kept = [...size.keys()].filter((c) => size.get(c)! >= o.minViewers).sort((a, b) => a - b);
  const audience: Record<string, number[]> = {};
  for (const c of kept) {
    audience[`ch${c}`] = human
      .filter((p) => p.c === c)
      .map((p) => p.v)
      .sort((a, b) => a - b);
  }
  const keptSet = new Set(kept);
  const rowsUsed = human.filter((p) => keptSet.has(p.c)).reduce((s, p) => s + p.rows, 0);
  return { audience, rowsUsed, pairsQualified: ok.length, channels: nChannels };
}

function audienceByName(a: Audience): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  a.channelNames.forEach((c, i) => {
    out[c] = Array.from(a.viewers.subarray(a.offsets[i], a.offsets[i + 1]));
  });
  return out;
}

describe('aggregate on viewer-ordered and shuffled rows', () => {
  const nChannels = 60;
  const nViewers = 900;
  const ordered = randomRows(7, nChannels, nViewers);
  const r = rng(99);
  const shuffled = [...ordered];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  // Viewer by viewer but not ascending: needs the sort too.
  const descending = [...ordered].sort((a, b) => b.viewer - a.viewer);
  const settings = [
    { minMessages: 1, minBuckets: 1, minViewers: 5, botMinChannels: 20, maxChannelShare: 0.2 },
    // min_buckets 1 sorts by copying the columns into viewer order (messages included)
    { minMessages: 3, minBuckets: 1, minViewers: 2, botMinChannels: 10, maxChannelShare: 0.1 },
    { minMessages: 3, minBuckets: 2, minViewers: 3, botMinChannels: 10, maxChannelShare: 0.1 },
    { minMessages: 2, minBuckets: 4, minViewers: 1, botMinChannels: 5, maxChannelShare: 0.05 },
  ];
  for (const s of settings) {
    it(`gives identical audiences and counts in any row order (${JSON.stringify(s)})`, () => {
      const a = aggregate(tableOfRows(ordered, nChannels, nViewers), s);
      const b = aggregate(tableOfRows(shuffled, nChannels, nViewers), s);
      const c = aggregate(tableOfRows(descending, nChannels, nViewers), s);
      expect(plain(b)).toEqual(plain(a));
      expect(plain(c)).toEqual(plain(a));
      // … and what the definition says (nightbot, viewer 7, is a known bot)
      const ref = reference(ordered, nChannels, { ...s, bot: 7 });
      expect(audienceByName(a)).toEqual(ref.audience);
      expect(a.counts.rowsUsed).toBe(ref.rowsUsed);
      expect(a.counts.pairsQualified).toBe(ref.pairsQualified);
      expect(a.counts.botsRemoved.known).toBe(1);
      expect(a.counts.viewersSeen).toBe(nViewers);
    });
  }
});

/** The table with its columns on SharedArrayBuffers, as the readers give them. */
function shared(t: PresenceTable): PresenceTable {
  const onShared = <T extends Uint32Array | Float64Array>(a: T): T => {
    const b = new (a.constructor as new (buf: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
    b.set(a as never);
    return b;
  };
  return {
    ...t,
    channel: onShared(t.channel),
    viewer: onShared(t.viewer),
    ts: onShared(t.ts),
    messages: onShared(t.messages),
  };
}

describe('aggregate with the pair pass on two threads', () => {
  const nChannels = 80;
  const nViewers = 3000;
  const ordered = randomRows(21, nChannels, nViewers);
  const r = rng(5);
  const shuffled = [...ordered];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }

  it('gives what one thread gives (rows in order, shuffled, half shuffled, twice over; min_buckets 1 and 3)', async () => {
    const worker = spawnProjectionWorker({ minRows: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      const half = ordered.length >> 1;
      // first half in order, second shuffled; and the rows twice over (each half in order, not the whole)
      const halfShuffled = [
        ...ordered.slice(0, half),
        ...shuffled.filter((x) => x.viewer >= ordered[half]!.viewer),
      ];
      const twice = [...ordered, ...ordered];
      for (const rows of [ordered, shuffled, halfShuffled, twice]) {
        for (const s of [
          {},
          { minMessages: 3, botMinChannels: 8 },
          { minBuckets: 3, minMessages: 2, botMinChannels: 8, maxChannelShare: 0.1 },
        ]) {
          const table = shared(tableOfRows(rows, nChannels, nViewers));
          const one = aggregate(table, s);
          const two = aggregate(table, s, worker);
          // (other orders may be redone on one thread: the result is what counts)
          if (rows === ordered || rows === shuffled) expect(two.timings.threads).toBe(2);
          expect(one.timings.threads).toBeUndefined();
          expect(plain(two)).toEqual(plain(one));
        }
      }
    } finally {
      worker.close();
    }
  });

  it('does not trust halves that only look in order because a filtered row sat at the boundary', async () => {
    // First half: viewers 100…198, then a known bot (viewer 7) as its last row; second half:
    // viewers 150…249 — each half in order, the whole not.
    const rows: Row[] = [];
    for (let v = 100; v < 199; v++) rows.push({ channel: v % 5, viewer: v, ts: 0, messages: 1 });
    rows.push({ channel: 0, viewer: 7, ts: 0, messages: 1 });
    for (let v = 150; v < 250; v++) rows.push({ channel: v % 5, viewer: v, ts: 0, messages: 1 });
    const table = shared(tableOfRows(rows, 5, 250));
    const worker = spawnProjectionWorker({ minRows: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      expect(plain(aggregate(table, { minViewers: 1 }, worker))).toEqual(
        plain(aggregate(table, { minViewers: 1 })),
      );
    } finally {
      worker.close();
    }
  });

  it('hands the rows over after filtering its own when the worker was not ready at first', async () => {
    const worker = spawnProjectionWorker({ minRows: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      for (const rows of [ordered, shuffled]) {
        let calls = 0;
        // not ready for the first job (as when aggregate starts right after the read)
        const late: AggregateHelper = {
          minRows: 0,
          part: (input) => (calls++ === 0 ? undefined : worker.part(input)),
          pairs: (input) => worker.pairs(input),
        };
        const table = shared(tableOfRows(rows, nChannels, nViewers));
        const two = aggregate(table, {}, late);
        expect(calls).toBe(2);
        expect(two.timings.threads).toBe(2);
        expect(plain(two)).toEqual(plain(aggregate(table)));
      }
    } finally {
      worker.close();
    }
  });

  it('stays on one thread for private columns, and when the worker is gone', async () => {
    const worker = spawnProjectionWorker({ minRows: 0 });
    expect(await worker.ready(20_000)).toBe(true);
    const table = shared(tableOfRows(ordered, nChannels, nViewers));
    const one = aggregate(table);
    const privateColumns = aggregate(tableOfRows(ordered, nChannels, nViewers), {}, worker);
    expect(privateColumns.timings.threads).toBeUndefined();
    expect(plain(privateColumns)).toEqual(plain(one));
    worker.close();
    const gone = aggregate(table, {}, worker);
    expect(gone.timings.threads).toBeUndefined();
    expect(plain(gone)).toEqual(plain(one));
  });

  it('sorts rows into viewer order on two threads, and redoes what the helper failed', () => {
    const table = shared(tableOfRows(shuffled, nChannels, nViewers));
    const one = aggregate(table);
    const modes = ['ok', 'count fails', 'copy fails', 'sort fails', 'declines', 'declines the sort'];
    for (const mode of modes) {
      const phases: string[] = [];
      const helper: AggregateHelper = {
        minRows: 0,
        part: () => undefined,
        pairs: () => undefined,
        gather(input: GatherInput) {
          phases.push(input.phase);
          if (mode === 'declines' || (mode === 'declines the sort' && input.phase === 'sort'))
            return undefined;
          if (mode === 'count fails' && input.phase === 'count') {
            // counted, then more: the counts it leaves are wrong
            gatherPart(input);
            gatherPart(input);
            return { wait: () => undefined };
          }
          if (mode === 'copy fails' && input.phase === 'scatter') {
            gatherPart({ ...input, rows: input.rows.subarray(0, input.rows.length >> 1) });
            return { wait: () => undefined };
          }
          if (mode === 'sort fails' && input.phase === 'sort') {
            // half its buckets sorted, then rubbish over its rows
            gatherPart({ ...input, to: (input.from + input.to) >> 1 });
            const { start, from, to, out } = input;
            out.channel.fill(1, start[from], start[to]);
            out.messages.fill(7, start[from], start[to]);
            return { wait: () => undefined };
          }
          const answer = gatherPart(input);
          return { wait: () => answer };
        },
      };
      const two = aggregate(table, {}, helper);
      expect(plain(two), mode).toEqual(plain(one));
      const all = ['count', 'scatter', 'sort'];
      expect(phases, mode).toEqual(mode === 'declines' || mode === 'count fails' ? ['count'] : all);
    }
  });

  it('declines a job it cannot send to the worker (the caller then does it)', async () => {
    const worker = spawnProjectionWorker({ minRows: 0 });
    try {
      expect(await worker.ready(20_000)).toBe(true);
      const column = new Uint32Array(new SharedArrayBuffer(8));
      const table = { viewer: column, channel: column, messages: column, find: () => 0 };
      const at = new Uint32Array(new SharedArrayBuffer(4));
      const job = { phase: 'count' as const, rows: column, table, shift: 10, at };
      expect(worker.gather?.(job)).toBeUndefined();
      // and it still takes the next job (it answers the most messages of a row)
      const columns = { viewer: column, channel: column, messages: column };
      expect(worker.gather?.({ ...job, table: columns })?.wait()).toBe(0);
      expect(at[0]).toBe(2);
    } finally {
      worker.close();
    }
  });

  it('starts again on one thread when the helper wrote its share and then failed', () => {
    for (const rows of [ordered, shuffled]) {
      const table = shared(tableOfRows(rows, nChannels, nViewers));
      const one = aggregate(table);
      let taken = 0;
      // A helper that does its share in place (as the worker does) but reports a failure.
      const failing: AggregateHelper = {
        minRows: 0,
        part(input) {
          taken++;
          aggregatePart(input);
          return { wait: () => undefined };
        },
        pairs(input) {
          taken++;
          qualifyingPairs(input);
          return { wait: () => undefined };
        },
      };
      const again = aggregate(table, {}, failing);
      expect(taken).toBe(1);
      expect(plain(again)).toEqual(plain(one));
    }
  });
});

describe('gatherInBuckets: the sort into viewer order by buckets', () => {
  /** A stable sort of `rows` by viewer, written plainly: what the buckets must give. */
  function plainSort(
    rows: Uint32Array,
    t: { viewer: Uint32Array; channel: Uint32Array; messages: Uint32Array },
  ) {
    const order = Array.from(rows).sort((a, b) => t.viewer[a]! - t.viewer[b]! || a - b);
    return { channel: order.map((r) => t.channel[r]!), messages: order.map((r) => t.messages[r]!) };
  }
  const sharedU32 = (n: number) => new Uint32Array(new SharedArrayBuffer(4 * Math.max(1, n)));
  /** A helper that does each share at once on this thread, as the worker would. */
  const inline: AggregateHelper = {
    minRows: 0,
    part: () => undefined,
    pairs: () => undefined,
    gather(input: GatherInput) {
      const answer = gatherPart(input);
      return { wait: () => answer };
    },
  };

  // bucket sizes of 1024 viewers up to 2048 buckets, then 2048 (shift 11): one bucket, a partial
  // last one, empty buckets between, and more viewers than 2048 buckets of 1024 hold
  for (const nViewers of [1, 5, 1024, 1025, 5000, 2048 * 1024 + 3]) {
    for (const threads of [1, 2]) {
      it(`gives the plain stable sort (${nViewers} viewers, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
        const r = rng(nViewers + threads);
        const n = 6000;
        const table = { viewer: sharedU32(n), channel: sharedU32(n), messages: sharedU32(n) };
        for (let i = 0; i < n; i++) {
          // viewers clustered in a few ranges, so some buckets stay empty
          const cluster = Math.floor(r() * 3) * Math.floor(nViewers / 3);
          table.viewer[i] = Math.min(nViewers - 1, cluster + Math.floor(r() * Math.min(nViewers, 700)));
          table.channel[i] = Math.floor(r() * 50);
          table.messages[i] = Math.floor(r() * 4) + (i === 17 ? 4000 : 0);
        }
        // the kept rows: every row but a few, as the filter leaves them
        const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i % 11 !== 3);
        const rows = sharedU32(kept.length);
        rows.set(kept);
        const want = plainSort(rows, table);
        const out = { channel: sharedU32(rows.length), messages: sharedU32(rows.length) };
        const ends = gatherInBuckets(rows, table, nViewers, out, threads === 2 ? inline : undefined);
        expect(ends).toBeDefined();
        expect(Array.from(out.channel.subarray(0, rows.length))).toEqual(want.channel);
        expect(Array.from(out.messages.subarray(0, rows.length))).toEqual(want.messages);
        // ends[v]: where viewer v's run ends, for every viewer (those without rows too)
        let p = 0;
        const sorted = Array.from(rows).map((k) => table.viewer[k]!);
        sorted.sort((a, b) => a - b);
        for (let v = 0; v < nViewers; v++) {
          while (p < sorted.length && sorted[p] === v) p++;
          if (ends![v] !== p) expect(`viewer ${v}: end ${ends![v]}`).toBe(`viewer ${v}: end ${p}`);
        }
      });
    }
  }

  it('gives up, writing nothing, when a row has too many messages to pack', () => {
    const table = {
      viewer: Uint32Array.from([3, 1, 2]),
      channel: Uint32Array.from([0, 1, 2]),
      messages: Uint32Array.from([1, 2 ** 22, 1]),
    };
    const out = { channel: new Uint32Array(3).fill(9), messages: new Uint32Array(3).fill(9) };
    expect(gatherInBuckets(Uint32Array.from([0, 1, 2]), table, 4, out)).toBeUndefined();
    expect(Array.from(out.channel)).toEqual([9, 9, 9]);
    // one message less fits (shift 10: 22 bits for the messages)
    table.messages[1] = 2 ** 22 - 1;
    expect(gatherInBuckets(Uint32Array.from([0, 1, 2]), table, 4, out)).toBeDefined();
    expect(Array.from(out.messages)).toEqual([2 ** 22 - 1, 1, 1]);
  });

  it('aggregate still sorts such rows (the plain counting sort)', () => {
    const rows = randomRows(3, 20, 300).map((x, i) => ({ ...x, messages: i === 5 ? 2 ** 23 : x.messages }));
    const r = rng(8);
    const shuffled = [...rows];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const a = aggregate(tableOfRows(rows, 20, 300));
    const b = aggregate(tableOfRows(shuffled, 20, 300));
    expect(plain(b)).toEqual(plain(a));
  });
});
