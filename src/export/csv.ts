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
