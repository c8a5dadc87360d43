import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../../errors.js';

/**
 * `channels.txt`: one login a line; `#` lines are comments. Discovery rewrites the logins but
 * keeps the comments (an operator's notes), atomically (temp file + fsync + rename) so a
 * collector reading it concurrently sees the old or the new list, never half.
 */

/** Logins of a channels file (lower case, deduplicated, comments and blanks dropped). */
export async function readChannelsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError('channels', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const out: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim().toLowerCase();
    if (!line) return;
    if (!/^[a-z0-9_]{1,25}$/.test(line))
      throw new InputError('channels', `${path}:${i + 1}: not a Twitch login: "${raw.trim()}"`);
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  });
  return out;
}

/** Writes `logins` to `path`, keeping the existing file's `#` comment lines on top. */
export async function writeChannelsFile(path: string, logins: readonly string[]): Promise<void> {
  let comments: string[] = [];
  try {
    comments = (await readFile(path, 'utf8')).split(/\r?\n/).filter((l) => l.trimStart().startsWith('#'));
  } catch {
    // no previous file: nothing to keep
  }
  const text = `${[...comments, ...logins].join('\n')}\n`;
  await mkdir(dirname(path) || '.', { recursive: true });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.channels.tmp`);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new InputError('discover', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
