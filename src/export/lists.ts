/**
 * Lists inside one CSV field, as communities.csv carries them: `name:share;name:share` for games
 * and languages, `a;b;c` for top channels. `\`, `;` and `:` inside names are backslash-escaped so
 * any game name round-trips.
 */
import type { Share } from '../model/atlas.js';
import { formatNumber } from './csv.js';

function escapeItem(s: string): string {
  return s.replace(/[\\;:]/g, (c) => `\\${c}`);
}

/** Splits on unescaped `sep`, unescaping the pieces. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out;
}

export function encodeShares(shares: readonly Share[]): string {
  return shares.map((s) => `${escapeItem(s.name)}:${formatNumber(s.share, 4)}`).join(';');
}

export function decodeShares(text: string): Share[] {
  if (text === '') return [];
  // Split items on unescaped ';' keeping escapes, then the share after the last unescaped ':'.
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      cur += ch + text[++i];
    } else if (ch === ';') {
      items.push(cur);
      cur = '';
    } else cur += ch;
  }
  items.push(cur);
  return items.map((item) => {
    const parts = splitEscaped(item, ':');
    const share = parts.length > 1 ? Number(parts.pop()) : Number.NaN;
    return { name: parts.join(':'), share };
  });
}

export function encodeNames(names: readonly string[]): string {
  return names.map(escapeItem).join(';');
}

export function decodeNames(text: string): string[] {
  return text === '' ? [] : splitEscaped(text, ';');
}
