/**
 * What reaches a terminal or a log: no configured secret, no control character from data.
 *
 * - Secrets: every credential the program is given (app secret, chat token, pseudonym key, AWS
 *   keys, access tokens it obtains) is registered here; `redactSecrets` replaces each occurrence
 *   in any text with `[redacted]`, so an error that quotes a server's reply cannot leak one.
 * - Control characters: data (a game name, a login, a file's line) may carry ANSI escape
 *   sequences that recolour, move the cursor or retitle the terminal. `stripControl` removes C0
 *   (except tab and newline), DEL and C1 characters.
 * - `guardConsole()` applies both to everything written to stdout and stderr, in one place, so no
 *   command's `console.log` can forget it. The one sequence the CLI itself writes — `\r\x1b[2K`
 *   (back to column 0, clear the line) at the start of a status line — is kept.
 */

const secrets = new Set<string>();
let pattern: RegExp | null = null;

/** Secrets shorter than this are not registered (redacting a short word would mangle every message). */
const MIN_SECRET_LENGTH = 8;

/** Registers a secret value; every later `redactSecrets` hides it. */
export function registerSecret(value: string | undefined | null): void {
  const v = value?.trim();
  if (!v || v.length < MIN_SECRET_LENGTH || secrets.has(v)) return;
  secrets.add(v);
  // the form-encoded and `oauth:`-less spellings leak just as well
  const encoded = encodeURIComponent(v);
  if (encoded !== v) secrets.add(encoded);
  pattern = null;
}

/** Environment variables holding credentials whatever the config says. */
const SECRET_ENV = ['TWITCH_CLIENT_SECRET', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** Registers the secrets found in `env`: the well-known ones and those named by `names`. */
export function registerEnvSecrets(
  env: Record<string, string | undefined>,
  names: readonly string[] = [],
): void {
  for (const n of [...SECRET_ENV, ...names]) registerSecret(env[n]?.replace(/^oauth:/, ''));
}

/** `text` with every registered secret replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  if (secrets.size === 0) return text;
  pattern ??= new RegExp(
    [...secrets]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return text.replace(pattern, '[redacted]');
}

// C0 controls except \t (09) and \n (0a), DEL, C1 controls (0x80–0x9f: 0x9b is an 8-bit CSI).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

// Whole escape sequences go, not just their ESC: CSI (`ESC [ … final`, or 8-bit 0x9b), OSC
// (`ESC ] … BEL` or `ESC ] … ESC \\`), and two-character escapes.
const SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-~]/g;

/** `text` without terminal escape sequences and control characters (tab and newline kept). */
export function stripControl(text: string): string {
  return text.replace(SEQUENCE, '').replace(CONTROL, '');
}

/** The CLI's own "clear the status line" prefix. */
const CLEAR_LINE = '\r\x1b[2K';

/** One chunk of console output made safe: secrets redacted, control characters removed. */
export function consoleSafe(text: string): string {
  const own = text.startsWith(CLEAR_LINE);
  const safe = stripControl(redactSecrets(own ? text.slice(CLEAR_LINE.length) : text));
  return own ? CLEAR_LINE + safe : safe;
}

const guarded = new WeakSet<NodeJS.WriteStream>();

/** Filters every string written to `streams` through `consoleSafe` (idempotent). */
export function guardConsole(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    if (guarded.has(stream)) continue;
    guarded.add(stream);
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(typeof chunk === 'string' ? consoleSafe(chunk) : chunk, ...rest)) as typeof stream.write;
  }
}
