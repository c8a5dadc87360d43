import { statSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { Config, ConfigInput } from '../config/index.js';
import { InputError } from '../errors.js';
import { guardConsole, registerEnvSecrets } from '../observability/console.js';

/** Flags every command has. */
export interface CommonOptions {
  config?: string;
  preset?: string;
  data?: string;
}

export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'YAML config file (default: config/config.yaml when present)')
    .option('--preset <name>', 'settings preset: quick | default | large | fine')
    .option('--data <dir>', 'storage root directory (default: data/, or storage.root)');
}

let config: typeof import('../config/index.js') | undefined;

/**
 * Loads the config code (zod, yaml). The program runs it before any command's action (a
 * preAction hook in main.ts), so `--help` never loads it and `resolveConfig` stays synchronous.
 */
export async function loadConfigCode(): Promise<void> {
  config ??= await import('../config/index.js');
}

/**
 * Loads and validates the config once, with flag overrides on top. From here on the console is
 * guarded: the secrets the config names (chat token, pseudonym key) and the well-known ones
 * (Twitch app secret, AWS keys) are redacted from every line, and control characters from data
 * never reach the terminal.
 */
export function resolveConfig(opts: CommonOptions, overrides: ConfigInput = {}): Config {
  if (!config)
    throw new Error('cli: resolveConfig before loadConfigCode (run commands through buildProgram)');
  guardConsole();
  const fromFlags: ConfigInput = { ...overrides };
  if (opts.data) fromFlags.storage = { ...(fromFlags.storage ?? {}), root: opts.data };
  const resolved = config.loadConfig({ configPath: opts.config, preset: opts.preset, overrides: fromFlags });
  registerEnvSecrets(process.env, [resolved.collect.token_env, resolved.privacy.key_env]);
  return resolved;
}

/** Parses an integer flag, naming the flag when it is not one. */
export function intFlag(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new FlagError(`${name}: expected an integer ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}

/** Parses a number flag, naming the flag when it is not one (or not above `above` / below `min`). */
export function numberFlag(
  name: string,
  range: { above?: number; min?: number } = {},
): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n))
      throw new FlagError(`${name}: expected a number, got "${value}"`);
    if (range.above !== undefined && !(n > range.above))
      throw new FlagError(`${name}: expected a number > ${range.above}, got "${value}"`);
    if (range.min !== undefined && n < range.min)
      throw new FlagError(`${name}: expected a number ≥ ${range.min}, got "${value}"`);
    return n;
  };
}

/** A bad flag value; commander prints it with the flag's name and the CLI exits 1. */
export class FlagError extends InvalidArgumentError {}

/** File arguments that are folders are bad input naming the folder (not "internal error: EISDIR"). */
export function rejectDirectories(component: string, paths: readonly string[]): void {
  for (const p of paths) {
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory())
      throw new InputError(
        component,
        `${p}: is a directory; give the files in it (e.g. ${p.replace(/\/+$/, '')}/*.csv)`,
      );
  }
}

/**
 * A count with thousands separators, as `toLocaleString('en-US')` writes integers — without
 * its first call's set-up of the locale data (13–26 ms here, paid by every command that prints
 * one number). Anything but a safe integer goes to `toLocaleString` itself.
 */
export function thousands(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = n < 0 || Object.is(n, -0) ? '-' : '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}
