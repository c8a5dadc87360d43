import { createHmac } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { PresenceRecord } from '../model/records.js';

/** Maps a viewer login to what is stored: the login itself, or a keyed pseudonym. */
export type Pseudonymizer = (login: string) => string;

/** Pseudonyms are `p_` + 16 hex chars of HMAC-SHA256(key, login): stable, not reversible without the key. */
export const PSEUDONYM_PREFIX = 'p_';

export function pseudonym(key: string, login: string): string {
  return PSEUDONYM_PREFIX + createHmac('sha256', key).update(login).digest('hex').slice(0, 16);
}

/**
 * Returns the identity when `privacy.pseudonymize` is off; otherwise a keyed hash with the key
 * from the environment variable `privacy.key_env`. Applied before anything touches storage.
 */
export function createPseudonymizer(
  privacy: Config['privacy'],
  env: Record<string, string | undefined> = process.env,
): Pseudonymizer {
  if (!privacy.pseudonymize) return (login) => login;
  const key = env[privacy.key_env];
  if (!key) {
    throw new ConfigError(
      `privacy.pseudonymize is on but the key variable ${privacy.key_env} is not set in the environment`,
    );
  }
  const cache = new Map<string, string>();
  return (login) => {
    let p = cache.get(login);
    if (p === undefined) {
      p = pseudonym(key, login);
      if (cache.size > 1_000_000) cache.clear();
      cache.set(login, p);
    }
    return p;
  };
}

/**
 * A presence record as it may be stored: the viewer's login and its stable Twitch id both pass
 * through `p` (an id identifies a person as well as a login does). Channels are public and stay
 * as they are. Collectors and the VOD ingester call this before anything is written.
 */
export function pseudonymizeRecord(r: PresenceRecord, p: Pseudonymizer): PresenceRecord {
  const out: PresenceRecord = { ...r, viewer: p(r.viewer) };
  if (r.viewer_id !== undefined && r.viewer_id !== '') out.viewer_id = p(r.viewer_id);
  return out;
}
