/**
 * CSV encoding and decoding (RFC 4180): a field is quoted when it holds a comma, a quote, CR or
 * LF, or starts/ends with a space; quotes double inside. Numbers are formatted deterministically so
 * the same analysis gives byte-identical files.
 */

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV record with its trailing `\n`. */
export function csvLine(fields: readonly string[]): string {
  let s = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) s += ',';
    s += csvField(fields[i]!);
  }
  return `${s}\n`;
}

/**
 * A float as text: integers plainly, others with up to 6 significant decimals (trailing zeros
 * trimmed), NaN/±Infinity as an empty field. Stable across runs and platforms.
 */
export function formatNumber(n: number, digits = 6): string {
  if (!Number.isFinite(n)) return '';
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  // Fixed notation keeps files diff-friendly; tiny values keep significant digits.
  const decimals = abs >= 1 ? digits : Math.min(20, digits - Math.floor(Math.log10(abs)) - 1);
  const s = n.toFixed(decimals);
  // Trim trailing zeros and a bare point (hot: millions of edge weights, so no regex).
  let end = s.length;
  if (s.includes('.')) {
    while (s.charCodeAt(end - 1) === 48) end--;
    if (s.charCodeAt(end - 1) === 46) end--;
  }
  const t = end === s.length ? s : s.slice(0, end);
  return t === '-0' ? '0' : t;
}

/** Exact powers of ten (10^0 … 10^22 are exact doubles). */
export const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** 10^-e as the nearest doubles, e = 0 … 30. */
const NEG10 = Array.from({ length: 31 }, (_, e) => 10 ** -e);
/** "00" … "99" as character codes. */
const DIGIT_PAIRS = Uint8Array.from(
  { length: 200 },
  (_, i) => 48 + (i % 2 === 0 ? Math.floor(i / 20) : (i >> 1) % 10),
);
/** Scaled values below this have an error under 2^-13 (one rounding at 53 bits). */
const EXACT_BELOW = 2 ** 40;

/**
 * `formatNumber(n, digits)` written as ASCII into `buf` at `pos` (room for 48 bytes needed);
 * returns the position after it. No string is made for the usual weights: the value is scaled
 * to an integer count of the last decimal and its digits written; when the scaled value is too
 * close to a rounding tie to decide it safely (or too large), `formatNumber` itself answers.
 * With `back`, `back[at]` gets the number the text reads back as (NaN for none): the scaled
 * count over its power of ten, which IEEE division rounds as a correct decimal parser rounds
 * the text — what `printedValues` would parse from it, without the parse.
 */
export function formatNumberInto(
  buf: Uint8Array,
  pos: number,
  n: number,
  digits = 6,
  back?: Float64Array,
  at = 0,
): number {
  if (!Number.isFinite(n)) {
    if (back) back[at] = Number.NaN;
    return pos;
  }
  let p = pos;
  if (Number.isInteger(n)) {
    // integers print exactly (-0 as 0)
    if (back) back[at] = n === 0 ? 0 : n;
    if (n > -EXACT_BELOW && n < EXACT_BELOW) {
      if (n < 0) buf[p++] = 45;
      return writeUint(buf, p, Math.abs(n));
    }
    return writeAscii(buf, p, String(n));
  }
  const abs = Math.abs(n);
  const decimals = abs >= 1 ? digits : Math.min(20, digits - floorLog10Below1(abs) - 1);
  if (decimals >= 0 && decimals <= 22) {
    const scale = POW10[decimals]!;
    const x = abs * scale;
    if (x < EXACT_BELOW) {
      let k = Math.floor(x);
      const f = x - k;
      // toFixed rounds the exact value to nearest; x is within 2^-13 of it.
      if (Math.abs(f - 0.5) > 2 ** -12) {
        if (f > 0.5) k++;
        if (k === 0) {
          if (back) back[at] = 0;
          buf[p] = 48;
          return p + 1;
        }
        if (back) back[at] = n < 0 ? -(k / scale) : k / scale;
        if (n < 0) buf[p++] = 45;
        const whole = Math.floor(k / scale);
        const frac = k - whole * scale;
        p = writeUint(buf, p, whole);
        if (frac === 0) return p;
        buf[p++] = 46;
        // all the decimals, then the trailing zeros trimmed (as formatNumber trims toFixed's)
        p = writeFixedWidth(buf, p, frac, decimals);
        while (buf[p - 1] === 48) p--;
        return p;
      }
    }
  }
  const text = formatNumber(n, digits);
  if (back) back[at] = Number(text);
  return writeAscii(buf, p, text);
}

/**
 * `Math.floor(Math.log10(abs))` for 0 < abs < 1, by comparing with powers of ten; Math.log10
 * itself decides values within a relative 1e-12 of one (where rounding could tip it).
 */
function floorLog10Below1(abs: number): number {
  let e = 1;
  while (e < 30 && abs < NEG10[e]!) e++;
  if (e === 30 || abs < NEG10[e]! * (1 + 1e-12) || abs > NEG10[e - 1]! * (1 - 1e-12)) {
    return Math.floor(Math.log10(abs));
  }
  return -e;
}

/** A non-negative integer below 2^40 in decimal, into `buf` at `pos`; returns the position after it. */
export function writeUint(buf: Uint8Array, pos: number, n: number): number {
  let len = 1;
  while (len < 13 && n >= POW10[len]!) len++;
  return writeFixedWidth(buf, pos, n, len);
}

/** The last `width` decimal digits of a non-negative integer below 2^40, zero-padded. */
function writeFixedWidth(buf: Uint8Array, pos: number, n: number, width: number): number {
  let q = pos + width;
  let t = n;
  while (t >= 2147483648 && q > pos) {
    const next = Math.floor(t / 10);
    buf[--q] = 48 + (t - next * 10);
    t = next;
  }
  // int32 from here: two digits per integer division
  let u = t | 0;
  while (q - pos >= 2) {
    const next = (u / 100) | 0;
    const pair = (u - next * 100) << 1;
    buf[--q] = DIGIT_PAIRS[pair + 1]!;
    buf[--q] = DIGIT_PAIRS[pair]!;
    u = next;
  }
  if (q > pos) buf[--q] = 48 + (u - ((u / 10) | 0) * 10);
  return pos + width;
}

function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

/** Parses CSV text into records (handles quoted fields with commas, quotes and newlines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    let end = text.indexOf('\n', i);
    if (end < 0) end = n;
    const lineEnd = end > i && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const line = text.slice(i, lineEnd);
    if (!line.includes('"')) {
      // Fast path: most records have no quotes at all.
      rows.push(line.split(','));
      i = end + 1;
      continue;
    }
    i = parseQuotedRecord(text, i, rows);
  }
  return rows;
}

/** Parses one record that contains quotes (it may span lines); returns where the next starts. */
function parseQuotedRecord(text: string, i: number, rows: string[][]): number {
  const n = text.length;
  const row: string[] = [];
  let field = '';
  let quoted = false;
  while (i < n) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
    } else if (ch === '"' && field === '') {
      quoted = true;
      i++;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (ch === '\n' || ch === '\r') {
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      break;
    } else {
      field += ch;
      i++;
    }
  }
  row.push(field);
  rows.push(row);
  return i;
}
