/**
 * Sharding the channel list across collectors: each collector keeps the channels whose login
 * hashes (FNV-1a, 32 bit) to its index. Stable across restarts and machines, independent of
 * the list's order, so adding a channel never moves the others.
 */
import { ConfigError } from '../errors.js';

/** FNV-1a over the UTF-16 code units of `s` (logins are ASCII). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The channels of shard `index` out of `count` (logins compared lower case). */
export function shardChannels(channels: string[], index: number, count: number): string[] {
  if (!Number.isInteger(count) || count < 1)
    throw new ConfigError(`shard.count must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new ConfigError(`shard.index must be within 0..${count - 1}, got ${index}`);
  }
  if (count === 1) return channels.slice();
  return channels.filter((c) => fnv1a(c.toLowerCase()) % count === index);
}

/** Shard index and count: config `shard.*`, overridden by SHARD_INDEX / SHARD_COUNT. */
export function resolveShard(
  shard: { index: number; count: number },
  env: Record<string, string | undefined> = process.env,
): { index: number; count: number } {
  const read = (name: string, fallback: number) => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new ConfigError(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
  const count = read('SHARD_COUNT', shard.count);
  const index = read('SHARD_INDEX', shard.index);
  if (count < 1) throw new ConfigError(`SHARD_COUNT must be at least 1, got ${count}`);
  if (index >= count) throw new ConfigError(`shard index ${index} is not below the shard count ${count}`);
  return { index, count };
}
