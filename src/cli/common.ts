import { type Command, InvalidArgumentError } from 'commander';
import type { Config, ConfigInput } from '../config/index.js';

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

/** Loads and validates the config once, with flag overrides on top. */
export function resolveConfig(opts: CommonOptions, overrides: ConfigInput = {}): Config {
  if (!config)
    throw new Error('cli: resolveConfig before loadConfigCode (run commands through buildProgram)');
  const fromFlags: ConfigInput = { ...overrides };
  if (opts.data) fromFlags.storage = { ...(fromFlags.storage ?? {}), root: opts.data };
  return config.loadConfig({ configPath: opts.config, preset: opts.preset, overrides: fromFlags });
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

/** Parses a number flag, naming the flag when it is not one. */
export function numberFlag(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new FlagError(`${name}: expected a number, got "${value}"`);
    return n;
  };
}

/** A bad flag value; commander prints it with the flag's name and the CLI exits 1. */
export class FlagError extends InvalidArgumentError {}
