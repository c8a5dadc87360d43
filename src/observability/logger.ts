/**
 * JSON logs, one object a line on stderr: `{"ts","level","component","msg",…fields}`. Field
 * names that look like secrets (token, password, secret, authorization) are redacted whatever
 * their value, so a careless `log.info('x', { token })` cannot leak a credential.
 */

import { redactSecrets } from './console.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /token|passw|secret|authorization|oauth|api[-_]?key/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger with a different component name, same sink. */
  child(component: string): Logger;
}

/** Options of `createLogger`; every field optional. */
export interface LoggerOptions {
  component?: string;
  /** Minimum level written (default `info`, or `VIEWERATLAS_LOG_LEVEL`). */
  level?: LogLevel;
  /** Where lines go (default: process.stderr). */
  write?: (line: string) => void;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const envLevel = process.env.VIEWERATLAS_LOG_LEVEL as LogLevel | undefined;
  const min = ORDER[options.level ?? (envLevel && envLevel in ORDER ? envLevel : 'info')];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const make = (component: string): Logger => {
    const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < min) return;
      const rec = { ts: new Date().toISOString(), level, component, msg, ...(fields ? redact(fields) : {}) };
      // a value that quotes a secret (an error echoing a reply) is redacted by value too
      write(`${redactSecrets(JSON.stringify(rec))}\n`);
    };
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (c) => make(c),
    };
  };
  return make(options.component ?? 'vieweratlas');
}

/** A logger that drops everything (library default when the caller gives none). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
