/**
 * IRC wire format as Twitch speaks it (IRCv3 message tags, RFC 1459 framing). Parsing here is
 * purely syntactic: a line becomes an `IrcMessage` (wire type); `events.ts` validates and maps
 * it to domain events. Hand-written rather than regex-based because it sits on the hot path
 * (tens of thousands of lines per second per collector).
 */

/** One parsed IRC line. Tag values are already unescaped. */
export interface IrcMessage {
  /** IRCv3 tags (`@k=v;…`), unescaped; an absent value is the empty string. */
  tags: Record<string, string>;
  /** `nick!user@host` or a server name, without the leading colon; '' when absent. */
  prefix: string;
  /** Upper-case command or three-digit numeric. */
  command: string;
  /** Middle params plus the trailing param (without its colon) as the last element. */
  params: string[];
}

/** The nick part of a prefix (`ronni!ronni@ronni.tmi.twitch.tv` → `ronni`). */
export function prefixNick(prefix: string): string {
  const bang = prefix.indexOf('!');
  return bang === -1 ? prefix : prefix.slice(0, bang);
}

/** Unescapes an IRCv3 tag value: `\s` space, `\:` `;`, `\\` backslash, `\r`, `\n`; a lone trailing `\` is dropped. */
export function unescapeTagValue(value: string): string {
  if (value.indexOf('\\') === -1) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = value[++i];
    if (n === undefined) break;
    if (n === 's') out += ' ';
    else if (n === ':') out += ';';
    else if (n === 'r') out += '\r';
    else if (n === 'n') out += '\n';
    else out += n; // `\\` → `\`, and the spec says an unknown escape drops the backslash
  }
  return out;
}

const NEEDS_ESCAPE = /[ ;\\\r\n]/;

/** Escapes a tag value for the wire (inverse of `unescapeTagValue`). */
export function escapeTagValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  let out = '';
  for (const c of value) {
    if (c === ' ') out += '\\s';
    else if (c === ';') out += '\\:';
    else if (c === '\\') out += '\\\\';
    else if (c === '\r') out += '\\r';
    else if (c === '\n') out += '\\n';
    else out += c;
  }
  return out;
}

function parseTags(raw: string, keep?: ReadonlySet<string>): Record<string, string> {
  const tags: Record<string, string> = {};
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf(';', start);
    if (end === -1) end = raw.length;
    if (end > start) {
      let eq = raw.indexOf('=', start);
      if (eq === -1 || eq > end) eq = end;
      const key = raw.slice(start, eq);
      if (!keep || keep.has(key)) tags[key] = eq === end ? '' : unescapeTagValue(raw.slice(eq + 1, end));
    }
    start = end + 1;
  }
  return tags;
}

/**
 * Parses one line (without its CRLF). Returns null for a line that is not IRC (empty, no
 * command, a tag section without a message): the caller counts it as garbage. With `keep`,
 * only those tags are kept (a chat line carries ~17; the collector reads 4).
 */
export function parseIrcLine(line: string, keep?: ReadonlySet<string>): IrcMessage | null {
  let pos = 0;
  const len = line.length;
  let tags: Record<string, string> = {};
  if (line.charCodeAt(0) === 64 /* @ */) {
    const sp = line.indexOf(' ');
    if (sp === -1) return null;
    tags = parseTags(line.slice(1, sp), keep);
    pos = sp + 1;
    while (line.charCodeAt(pos) === 32) pos++;
  }
  let prefix = '';
  if (line.charCodeAt(pos) === 58 /* : */) {
    const sp = line.indexOf(' ', pos);
    if (sp === -1) return null;
    prefix = line.slice(pos + 1, sp);
    pos = sp + 1;
    while (line.charCodeAt(pos) === 32) pos++;
  }
  let sp = line.indexOf(' ', pos);
  if (sp === -1) sp = len;
  const command = line.slice(pos, sp).toUpperCase();
  if (command.length === 0 || !/^[A-Z]+$|^\d{3}$/.test(command)) return null;
  pos = sp + 1;
  const params: string[] = [];
  while (pos < len) {
    while (line.charCodeAt(pos) === 32) pos++;
    if (pos >= len) break;
    if (line.charCodeAt(pos) === 58) {
      params.push(line.slice(pos + 1));
      break;
    }
    let next = line.indexOf(' ', pos);
    if (next === -1) next = len;
    params.push(line.slice(pos, next));
    pos = next + 1;
  }
  return { tags, prefix, command, params };
}

/** A message to format: `trailing`, when given, is sent after ` :` (as Twitch sends chat text). */
export interface IrcOutgoing {
  tags?: Record<string, string>;
  prefix?: string;
  command: string;
  params?: string[];
  trailing?: string;
}

/** Formats a message for the wire (without CRLF); tag values are escaped. */
export function formatIrcLine(msg: IrcOutgoing): string {
  let out = '';
  const tags = msg.tags;
  if (tags) {
    let first = true;
    for (const k in tags) {
      out += `${first ? '@' : ';'}${k}=${escapeTagValue(tags[k] as string)}`;
      first = false;
    }
    if (!first) out += ' ';
  }
  if (msg.prefix) out += `:${msg.prefix} `;
  out += msg.command;
  if (msg.params) for (const p of msg.params) out += ` ${p}`;
  if (msg.trailing !== undefined) out += ` :${msg.trailing}`;
  return out;
}

/**
 * Splits a stream of bytes into CRLF (or bare LF) terminated lines, keeping a partial tail
 * between chunks. Bounded: a "line" longer than `maxLine` chars is discarded (and reported) so
 * a misbehaving peer cannot grow memory without limit.
 */
export class LineSplitter {
  private tail = '';
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOversize: (length: number) => void = () => {},
    private readonly maxLine = 64 * 1024,
  ) {}

  push(chunk: string): void {
    let data = this.tail.length > 0 ? this.tail + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = data.indexOf('\n', start);
      if (nl === -1) break;
      const end = nl > start && data.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end > start) this.onLine(data.slice(start, end));
      start = nl + 1;
    }
    data = start === 0 ? data : data.slice(start);
    if (data.length > this.maxLine) {
      this.onOversize(data.length);
      data = '';
    }
    this.tail = data;
  }

  /** Whatever arrived after the last line end (dropped on reconnect). */
  get pending(): string {
    return this.tail;
  }

  reset(): void {
    this.tail = '';
  }
}
