// kernel memory: growable
/**
 * AssemblyScript (compiled to WebAssembly by scripts/build.mjs): `leidenCsr`'s passes — fast
 * local moving, refinement, aggregation — over a CSR the caller copied into this module's memory,
 * step for step as leiden.ts runs them (same loops, same order of float operations, the same
 * mulberry32 stream, and the host's own Math.exp for the refinement's choice), so the same
 * membership comes out. No bounds checks and no JIT warm-up: V8 spends about as long optimising
 * and re-optimising the JavaScript passes as running them on a 10,000-channel graph.
 *
 * Memory: the caller takes blocks with `alloc` (8-byte aligned, after a `reset`), fills the input
 * CSR and calls `leiden`; the passes take their scratch the same way and the memory grows when it
 * must (views of it must be made again after a call: `memory.buffer` may have changed).
 */

@external('host', 'exp')
declare function hostExp(x: f64): f64;

import { alloc, mark, release, zeroed } from '../../kernel-lib/heap.as-lib';

export { alloc, reset } from '../../kernel-lib/heap.as-lib';

// ---- mulberry32, as rng.ts ----
let state: u32 = 0;

function seedRng(seed: u32): void {
  state = seed ^ 0x9e3779b9;
}

function rng(): f64 {
  state += 0x6d2b79f5;
  let t = state;
  t = (t ^ (t >>> 15)) * (t | 1);
  t ^= t + (t ^ (t >>> 7)) * (t | 61);
  return <f64>(t ^ (t >>> 14)) / 4294967296.0;
}

function shuffle(a: usize, n: u32): void {
  for (let i = <i32>n - 1; i > 0; i--) {
    const j = <i32>Math.floor(rng() * <f64>(i + 1));
    const pi = a + (<usize>i << 2);
    const pj = a + (<usize>j << 2);
    const t = load<u32>(pi);
    store<u32>(pi, load<u32>(pj));
    store<u32>(pj, t);
  }
}

// ---- the graph being worked on ----
let gn: u32 = 0;
let gOff: usize = 0; // u32[n + 1]
let gNb: usize = 0; // u32[entries]
let gW: usize = 0; // f64[entries]
let gStr: usize = 0; // f64[n]
let twoM: f64 = 0;

@inline function u32At(base: usize, i: u32): u32 {
  return load<u32>(base + (<usize>i << 2));
}
@inline function i32At(base: usize, i: u32): i32 {
  return load<i32>(base + (<usize>i << 2));
}
@inline function f64At(base: usize, i: u32): f64 {
  return load<f64>(base + (<usize>i << 3));
}
@inline function setU32(base: usize, i: u32, v: u32): void {
  store<u32>(base + (<usize>i << 2), v);
}
@inline function setI32(base: usize, i: u32, v: i32): void {
  store<i32>(base + (<usize>i << 2), v);
}
@inline function setF64(base: usize, i: u32, v: f64): void {
  store<f64>(base + (<usize>i << 3), v);
}

const EPS: f64 = 1e-12;

/** Fast local moving (moveNodesFast in leiden.ts); mutates comm (i32[gn]); returns the moves. */
function moveNodesFast(comm: usize, gamma: f64): u32 {
  const n = gn;
  const at0 = mark();
  const tot = zeroed(<usize>n << 3);
  const size = zeroed(<usize>n << 2);
  for (let v: u32 = 0; v < n; v++) {
    const c = u32At(comm, v);
    setF64(tot, c, f64At(tot, c) + f64At(gStr, v));
    setU32(size, c, u32At(size, c) + 1);
  }
  // the empty communities as a stack (pushed from n − 1 down, so the smallest id pops first)
  const empty = alloc(<usize>n << 2);
  let emptyTop: u32 = 0;
  for (let c = <i32>n - 1; c >= 0; c--) if (u32At(size, <u32>c) == 0) setU32(empty, emptyTop++, <u32>c);
  const queue = alloc(<usize>n << 2);
  for (let v: u32 = 0; v < n; v++) setU32(queue, v, v);
  shuffle(queue, n);
  const inQueue = alloc(n);
  memory.fill(inQueue, 1, n);
  let head: u32 = 0;
  let queued = n;
  const neighW = zeroed(<usize>n << 3);
  const touched = alloc(<usize>n << 2);
  const eps = EPS * twoM;
  let moves: u32 = 0;
  while (queued > 0) {
    const v = u32At(queue, head);
    head = head + 1 == n ? 0 : head + 1;
    queued--;
    store<u8>(inQueue + v, 0);
    const old = u32At(comm, v);
    let nt: u32 = 0;
    const e0 = u32At(gOff, v);
    const e1 = u32At(gOff, v + 1);
    for (let i = e0; i < e1; i++) {
      const c = u32At(comm, u32At(gNb, i));
      const w = f64At(neighW, c);
      if (w == 0) setU32(touched, nt++, c);
      setF64(neighW, c, w + f64At(gW, i));
    }
    const kv = f64At(gStr, v);
    setF64(tot, old, f64At(tot, old) - kv);
    setU32(size, old, u32At(size, old) - 1);
    const scale = (gamma * kv) / twoM;
    let best = old;
    let bestGain = f64At(neighW, old) - scale * f64At(tot, old);
    for (let i: u32 = 0; i < nt; i++) {
      const c = u32At(touched, i);
      const gain = f64At(neighW, c) - scale * f64At(tot, c);
      if (gain > bestGain + eps) {
        best = c;
        bestGain = gain;
      }
    }
    if (bestGain < -eps && u32At(size, old) > 0) {
      best = u32At(empty, --emptyTop);
    } else if (bestGain < -eps) {
      best = old;
    }
    for (let i: u32 = 0; i < nt; i++) setF64(neighW, u32At(touched, i), 0);
    setF64(neighW, old, 0);
    setU32(comm, v, best);
    setF64(tot, best, f64At(tot, best) + kv);
    setU32(size, best, u32At(size, best) + 1);
    if (best != old) {
      moves++;
      if (u32At(size, old) == 0) setU32(empty, emptyTop++, old);
      for (let i = e0; i < e1; i++) {
        const u = u32At(gNb, i);
        if (load<u8>(inQueue + u) == 0 && u32At(comm, u) != best) {
          store<u8>(inQueue + u, 1);
          let tail = head + queued;
          if (tail >= n) tail -= n;
          setU32(queue, tail, u);
          queued++;
        }
      }
    }
  }
  release(at0);
  return moves;
}

/** Refinement (refine in leiden.ts): a sub-community id per node into `ref` (i32[gn]). */
function refine(comm: usize, gamma: f64, theta: f64, ref: usize): void {
  const n = gn;
  const at0 = mark();
  const refTot = alloc(<usize>n << 3);
  memory.copy(refTot, gStr, <usize>n << 3);
  const refSize = alloc(<usize>n << 2);
  const commTot = zeroed(<usize>n << 3);
  const toOwn = zeroed(<usize>n << 3);
  for (let v: u32 = 0; v < n; v++) {
    setU32(refSize, v, 1);
    setI32(ref, v, <i32>v);
    const c = u32At(comm, v);
    setF64(commTot, c, f64At(commTot, c) + f64At(gStr, v));
    const e1 = u32At(gOff, v + 1);
    for (let i = u32At(gOff, v); i < e1; i++)
      if (u32At(comm, u32At(gNb, i)) == c) setF64(toOwn, v, f64At(toOwn, v) + f64At(gW, i));
  }
  const refExt = alloc(<usize>n << 3);
  memory.copy(refExt, toOwn, <usize>n << 3);
  const order = alloc(<usize>n << 2);
  for (let v: u32 = 0; v < n; v++) setU32(order, v, v);
  shuffle(order, n);
  const neighW = zeroed(<usize>n << 3);
  const touched = alloc(<usize>n << 2);
  const gains = alloc(<usize>n << 3);
  for (let oi: u32 = 0; oi < n; oi++) {
    const v = u32At(order, oi);
    if (i32At(ref, v) != <i32>v || u32At(refSize, v) != 1) continue;
    const c = u32At(comm, v);
    const kv = f64At(gStr, v);
    const ct = f64At(commTot, c);
    if (f64At(toOwn, v) < (gamma * kv * (ct - kv)) / twoM) continue;
    let nt: u32 = 0;
    const e1 = u32At(gOff, v + 1);
    for (let i = u32At(gOff, v); i < e1; i++) {
      const u = u32At(gNb, i);
      if (u32At(comm, u) != c) continue;
      const r = <u32>i32At(ref, u);
      const w = f64At(neighW, r);
      if (w == 0) setU32(touched, nt++, r);
      setF64(neighW, r, w + f64At(gW, i));
    }
    let maxGain: f64 = 0;
    let nc: u32 = 0;
    for (let i: u32 = 0; i < nt; i++) {
      const r = u32At(touched, i);
      const rt = f64At(refTot, r);
      const gain = f64At(neighW, r) - (gamma * kv * rt) / twoM;
      if (gain >= 0 && f64At(refExt, r) >= (gamma * rt * (ct - rt)) / twoM) {
        setU32(touched, nc, r);
        setF64(gains, nc++, gain);
        if (gain > maxGain) maxGain = gain;
      } else {
        setF64(neighW, r, 0);
      }
    }
    if (nc > 0) {
      const scale = 1 / (theta * kv);
      let sum = hostExp(-maxGain * scale);
      for (let i: u32 = 0; i < nc; i++) sum += hostExp((f64At(gains, i) - maxGain) * scale);
      let pick = rng() * sum - hostExp(-maxGain * scale);
      let chosen: i32 = -1;
      for (let i: u32 = 0; i < nc && chosen < 0 && pick >= 0; i++) {
        pick -= hostExp((f64At(gains, i) - maxGain) * scale);
        if (pick < 0 || i == nc - 1) chosen = <i32>u32At(touched, i);
      }
      if (chosen >= 0) {
        const ch = <u32>chosen;
        setI32(ref, v, chosen);
        setF64(refTot, ch, f64At(refTot, ch) + kv);
        setU32(refSize, ch, u32At(refSize, ch) + 1);
        setU32(refSize, v, 0);
        setF64(refExt, ch, f64At(refExt, ch) + (f64At(toOwn, v) - 2 * f64At(neighW, ch)));
      }
      for (let i: u32 = 0; i < nc; i++) setF64(neighW, u32At(touched, i), 0);
    }
  }
  release(at0);
}

/** Dense renumbering in first-seen order (renumber in leiden.ts), in place; returns the count. */
function renumber(labels: usize, n: u32): u32 {
  let max: i32 = -1;
  for (let i: u32 = 0; i < n; i++) if (i32At(labels, i) > max) max = i32At(labels, i);
  const at0 = mark();
  const map = alloc(<usize>(max + 1) << 2);
  memory.fill(map, 0xff, <usize>(max + 1) << 2);
  let count: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const l = <u32>i32At(labels, i);
    let id = i32At(map, l);
    if (id < 0) {
      id = <i32>count;
      count++;
      setI32(map, l, id);
    }
    setI32(labels, i, id);
  }
  release(at0);
  return count;
}

/** Distinct labels (< n) of labels[0, n) (countLabels in leiden.ts). */
function countLabels(labels: usize, n: u32): u32 {
  const at0 = mark();
  const seen = zeroed(n);
  let count: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const l = u32At(labels, i);
    if (load<u8>(seen + l) == 0) {
      store<u8>(seen + l, 1);
      count++;
    }
  }
  release(at0);
  return count;
}

/** Ascending sort of u32[lo, hi) (the ids are distinct; any correct sort gives the same order). */
function sortU32(a: usize, lo: i32, hi: i32): void {
  while (hi - lo > 16) {
    const mid = lo + ((hi - lo) >> 1);
    const p = u32At(a, <u32>mid);
    let i = lo;
    let j = hi - 1;
    while (i <= j) {
      while (u32At(a, <u32>i) < p) i++;
      while (u32At(a, <u32>j) > p) j--;
      if (i <= j) {
        const t = u32At(a, <u32>i);
        setU32(a, <u32>i, u32At(a, <u32>j));
        setU32(a, <u32>j, t);
        i++;
        j--;
      }
    }
    // recurse into the smaller side, loop on the larger
    if (j - lo < hi - 1 - i) {
      sortU32(a, lo, j + 1);
      lo = i;
    } else {
      sortU32(a, i, hi);
      hi = j + 1;
    }
  }
  for (let i = lo + 1; i < hi; i++) {
    const x = u32At(a, <u32>i);
    let k = i - 1;
    while (k >= lo && u32At(a, <u32>k) > x) {
      setU32(a, <u32>(k + 1), u32At(a, <u32>k));
      k--;
    }
    setU32(a, <u32>(k + 1), x);
  }
}

/**
 * Collapses each group (dense ids < count) into one node (aggregateGraph in leiden.ts): the new
 * graph's arrays are taken first and it becomes the graph worked on. Its blocks stay taken
 * until the pass ends.
 */
function aggregateGraph(group: usize, count: u32): void {
  const n = gn;
  const entries = u32At(gOff, n);
  // the output first (it outlives the scratch); the neighbours fit in the input's count
  const outOff = zeroed((<usize>count + 1) << 2);
  const outStr = zeroed(<usize>count << 3);
  const outNb = alloc(<usize>entries << 2);
  const outW = alloc(<usize>entries << 3);
  const at0 = mark();
  const start = zeroed((<usize>count + 1) << 2);
  for (let v: u32 = 0; v < n; v++) {
    const g = u32At(group, v) + 1;
    setU32(start, g, u32At(start, g) + 1);
  }
  for (let c: u32 = 0; c < count; c++) setU32(start, c + 1, u32At(start, c + 1) + u32At(start, c));
  const members = alloc(<usize>n << 2);
  const cur = alloc(<usize>count << 2);
  memory.copy(cur, start, <usize>count << 2);
  for (let v: u32 = 0; v < n; v++) {
    const g = u32At(group, v);
    const at = u32At(cur, g);
    setU32(members, at, v);
    setU32(cur, g, at + 1);
  }
  const acc = zeroed(<usize>count << 3);
  const touched = alloc(<usize>count << 2);
  let k: u32 = 0;
  for (let c: u32 = 0; c < count; c++) {
    let nt: u32 = 0;
    const m1 = u32At(start, c + 1);
    for (let m = u32At(start, c); m < m1; m++) {
      const v = u32At(members, m);
      setF64(outStr, c, f64At(outStr, c) + f64At(gStr, v));
      const e1 = u32At(gOff, v + 1);
      for (let i = u32At(gOff, v); i < e1; i++) {
        const d = u32At(group, u32At(gNb, i));
        if (d == c) continue;
        const a = f64At(acc, d);
        if (a == 0) setU32(touched, nt++, d);
        setF64(acc, d, a + f64At(gW, i));
      }
    }
    sortU32(touched, 0, <i32>nt);
    for (let i: u32 = 0; i < nt; i++) {
      const d = u32At(touched, i);
      setU32(outNb, k, d);
      setF64(outW, k++, f64At(acc, d));
      setF64(acc, d, 0);
    }
    setU32(outOff, c + 1, k);
  }
  release(at0);
  gn = count;
  gOff = outOff;
  gNb = outNb;
  gW = outW;
  gStr = outStr;
}

/** One full Leiden pass (leidenPass in leiden.ts) from `membership` (i32[n], updated in place). */
function leidenPass(
  n: u32,
  off: usize,
  nb: usize,
  w: usize,
  str: usize,
  membership: usize,
  gamma: f64,
  theta: f64,
  maxLevels: f64,
): u32 {
  const at0 = mark();
  gn = n;
  gOff = off;
  gNb = nb;
  gW = w;
  gStr = str;
  let comm = alloc(<usize>n << 2);
  memory.copy(comm, membership, <usize>n << 2);
  const nodeOf = alloc(<usize>n << 2);
  for (let v: u32 = 0; v < n; v++) setU32(nodeOf, v, v);
  let levels: f64 = 0;
  let moves: u32 = 0;
  for (;;) {
    moves += moveNodesFast(comm, gamma);
    if (countLabels(comm, gn) == gn || levels >= maxLevels) break;
    let refIds = alloc(<usize>gn << 2);
    refine(comm, gamma, theta, refIds);
    let refCount = renumber(refIds, gn);
    if (refCount == gn) {
      memory.copy(refIds, comm, <usize>gn << 2);
      refCount = renumber(refIds, gn);
    }
    const next = alloc(<usize>refCount << 2);
    for (let v: u32 = 0; v < gn; v++) setU32(next, u32At(refIds, v), u32At(comm, v));
    for (let v: u32 = 0; v < n; v++) setU32(nodeOf, v, u32At(refIds, u32At(nodeOf, v)));
    aggregateGraph(refIds, refCount);
    renumber(next, refCount);
    comm = next;
    levels++;
  }
  for (let v: u32 = 0; v < n; v++) setU32(membership, v, u32At(comm, u32At(nodeOf, v)));
  renumber(membership, n);
  release(at0);
  levelsRun = levels;
  return moves;
}

/** Levels run and moves made by the last `leiden` call. */
export let levelsRun: f64 = 0;
export let movesMade: f64 = 0;

/**
 * Leiden (leidenCsr in leiden.ts) on the CSR at off/nb/w/str (n nodes, 2m = totalStrength > 0):
 * the membership (i32[n], renumbered in first-seen order) into `membership`; its count returned.
 */
export function leiden(
  n: u32,
  off: usize,
  nb: usize,
  w: usize,
  str: usize,
  totalStrength: f64,
  membership: usize,
  gamma: f64,
  theta: f64,
  seed: u32,
  iterations: f64,
  maxLevels: f64,
): u32 {
  twoM = totalStrength;
  seedRng(seed);
  for (let v: u32 = 0; v < n; v++) setU32(membership, v, v);
  let levels: f64 = 0;
  let moves: f64 = 0;
  const passes = iterations > 1 ? iterations : 1;
  for (let it: f64 = 0; it < passes; it++) {
    const m = leidenPass(n, off, nb, w, str, membership, gamma, theta, maxLevels);
    levels += levelsRun;
    moves += <f64>m;
    if (it > 0 && m == 0) break;
  }
  levelsRun = levels;
  movesMade = moves;
  return renumber(membership, n);
}

/**
 * Each community's strength (`tot`) and weight inside it (`inside`, each edge counted from both
 * ends) for `membership` (ids < count) on the CSR at off/nb/w/str: csrModularity's pass in
 * leiden.ts, the same loops in the same order, so the same sums (the caller finishes Q from them).
 */
export function communityTotals(
  n: u32,
  off: usize,
  nb: usize,
  w: usize,
  str: usize,
  membership: usize,
  inside: usize,
  tot: usize,
  count: u32,
): void {
  memory.fill(inside, 0, <usize>count << 3);
  memory.fill(tot, 0, <usize>count << 3);
  for (let v: u32 = 0; v < n; v++) {
    const c = u32At(membership, v);
    setF64(tot, c, f64At(tot, c) + f64At(str, v));
    let sum = f64At(inside, c);
    for (let i = u32At(off, v), end = u32At(off, v + 1); i < end; i++)
      if (u32At(membership, u32At(nb, i)) == c) sum += f64At(w, i);
    setF64(inside, c, sum);
  }
}
