/** `channels.txt`: one channel login a line; `#` starts a comment; blank lines ignored; `#login` accepted. */
import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';

const LOGIN = /^[a-z0-9_]{1,25}$/;

/** Parses the file's text; a line that is not a Twitch login fails with file:line. */
export function parseChannelsText(text: string, file = 'channels.txt'): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let l = (lines[i] as string).trim();
    if (l.startsWith('#') && LOGIN.test(l.slice(1).toLowerCase())) l = l.slice(1);
    else
      l = l
        .replace(/\s#.*$/, '')
        .replace(/^#.*$/, '')
        .trim();
    if (!l) continue;
    const login = l.toLowerCase();
    if (!LOGIN.test(login))
      throw new InputError('collect', `${file}:${i + 1}: not a Twitch login: "${l.slice(0, 60)}"`);
    if (!seen.has(login)) {
      seen.add(login);
      out.push(login);
    }
  }
  return out;
}

export async function readChannelsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(
      'collect',
      `cannot read channels file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      { cause: err },
    );
  }
  return parseChannelsText(text, path);
}
