/**
 * Community tracking across time windows: a community that continues keeps its id; splits,
 * merges, births and deaths are detected by member overlap. Pure: one window's membership in,
 * tracked ids and events out; the state carries the previous window and the next unused id.
 *
 * The rule (k = channels a current community C shares with a previous tracked community P):
 * - C **continues** P when they are each other's best match (largest k; ties: the bigger
 *   community, then the smaller id) and k covers at least `minShare` of P or of C. It keeps P's
 *   id; its event is `grew` / `shrank` when its size changed by more than `sizeChange`, else
 *   `continued`.
 * - Another C whose best match P continued elsewhere, with k ≥ `minShare` of C, **split from** P:
 *   a new id. Any other C is **born**: a new id. New ids are never reused.
 * - A P that no C continued is **merged into** the C holding at least `minShare` of its
 *   channels, else it **died**.
 * - A channel in both windows whose tracked id changed has **moved** (from → to).
 */

import type { CommunityEventKind } from '../model/timeline.js';

export type { CommunityEventKind };

export interface CommunityEvent {
  /** Tracked id (for `merged` / `died`: the id that ended). */
  id: number;
  /** The window's own community number (−1 for `merged` / `died`, which have none). */
  community: number;
  event: CommunityEventKind;
  /** `split`: the id it split from; `merged`: the id it merged into. */
  related?: number;
  /** Channels in the window (for `merged` / `died`: in the previous window). */
  size: number;
}

export interface ChannelMove {
  channel: string;
  from: number;
  to: number;
}

export interface TrackingState {
  /** Channel → tracked id in the previous window; null before the first. */
  previous: ReadonlyMap<string, number> | null;
  /** The next id never used. */
  nextId: number;
}

export interface TrackOptions {
  /** Share of members that makes a match (default 0.5). */
  minShare?: number;
  /** Relative size change that counts as growing or shrinking (default 0.1). */
  sizeChange?: number;
}

export const TRACK_DEFAULTS = { minShare: 0.5, sizeChange: 0.1 } as const;

export interface TrackedWindow {
  /** Window community number → tracked id. */
  ids: Map<number, number>;
  /** Channel → tracked id in this window (unassigned channels, community −1, are left out). */
  channels: Map<string, number>;
  events: CommunityEvent[];
  moves: ChannelMove[];
  state: TrackingState;
}

export const initialTracking = (): TrackingState => ({ previous: null, nextId: 0 });

/**
 * Tracks one window. `membership`: channel → the window's community number (−1 = unassigned,
 * ignored). Deterministic: the result depends only on the inputs, not on map order.
 */
export function trackWindow(
  state: TrackingState,
  membership: ReadonlyMap<string, number>,
  options: TrackOptions = {},
): TrackedWindow {
  const minShare = options.minShare ?? TRACK_DEFAULTS.minShare;
  const sizeChange = options.sizeChange ?? TRACK_DEFAULTS.sizeChange;
  const channelsSorted = [...membership.keys()].filter((c) => (membership.get(c) as number) >= 0).sort();

  const curSize = new Map<number, number>();
  for (const ch of channelsSorted) {
    const c = membership.get(ch) as number;
    curSize.set(c, (curSize.get(c) ?? 0) + 1);
  }
  const prevSize = new Map<number, number>();
  for (const p of state.previous?.values() ?? []) prevSize.set(p, (prevSize.get(p) ?? 0) + 1);

  // k for every (current, previous) pair that shares channels
  const shared = new Map<number, Map<number, number>>();
  for (const ch of channelsSorted) {
    const p = state.previous?.get(ch);
    if (p === undefined) continue;
    const c = membership.get(ch) as number;
    const row = shared.get(c) ?? new Map<number, number>();
    shared.set(c, row);
    row.set(p, (row.get(p) ?? 0) + 1);
  }
  const communities = [...curSize.keys()].sort((a, b) => a - b);
  const bestPrevOf = new Map<number, { p: number; k: number }>();
  const bestCurOf = new Map<number, { c: number; k: number }>();
  for (const c of communities) {
    for (const [p, k] of [...(shared.get(c) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0])) {
      const bp = bestPrevOf.get(c);
      if (!bp || k > bp.k) bestPrevOf.set(c, { p, k });
      const bc = bestCurOf.get(p);
      const size = curSize.get(c) as number;
      if (!bc || k > bc.k || (k === bc.k && size > (curSize.get(bc.c) as number))) bestCurOf.set(p, { c, k });
    }
  }

  let nextId = state.nextId;
  const ids = new Map<number, number>();
  const events: CommunityEvent[] = [];
  const continued = new Set<number>();
  for (const c of communities) {
    const bp = bestPrevOf.get(c);
    if (!bp || bestCurOf.get(bp.p)?.c !== c) continue;
    const size = curSize.get(c) as number;
    const before = prevSize.get(bp.p) as number;
    if (bp.k < minShare * before && bp.k < minShare * size) continue;
    ids.set(c, bp.p);
    continued.add(bp.p);
    const ratio = size / before;
    const event = ratio > 1 + sizeChange ? 'grew' : ratio < 1 - sizeChange ? 'shrank' : 'continued';
    events.push({ id: bp.p, community: c, event, size });
  }
  for (const c of communities) {
    if (ids.has(c)) continue;
    const id = nextId++;
    ids.set(c, id);
    const bp = bestPrevOf.get(c);
    const size = curSize.get(c) as number;
    if (bp && bp.k >= minShare * size && continued.has(bp.p))
      events.push({ id, community: c, event: 'split', related: bp.p, size });
    else events.push({ id, community: c, event: 'born', size });
  }
  for (const p of [...prevSize.keys()].sort((a, b) => a - b)) {
    if (continued.has(p)) continue;
    const bc = bestCurOf.get(p);
    const before = prevSize.get(p) as number;
    if (bc && bc.k >= minShare * before)
      events.push({ id: p, community: -1, event: 'merged', related: ids.get(bc.c) as number, size: before });
    else events.push({ id: p, community: -1, event: 'died', size: before });
  }

  const channels = new Map<string, number>();
  const moves: ChannelMove[] = [];
  for (const ch of channelsSorted) {
    const to = ids.get(membership.get(ch) as number) as number;
    channels.set(ch, to);
    const from = state.previous?.get(ch);
    if (from !== undefined && from !== to) moves.push({ channel: ch, from, to });
  }
  events.sort((a, b) => a.id - b.id || a.event.localeCompare(b.event));
  return { ids, channels, events, moves, state: { previous: channels, nextId } };
}
