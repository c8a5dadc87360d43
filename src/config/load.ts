import { existsSync, readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { PRESET_NAMES, PRESETS, type PresetName } from './presets.js';
import { type Config, type ConfigInput, configSchema, SECTIONS } from './schema.js';

/** The config file used when `--config` is not given and it exists in the working directory. */
export const DEFAULT_CONFIG_PATH = 'config/config.yaml';

export interface LoadConfigOptions {
  /** Path of a YAML config file; when absent, `config/config.yaml` is used if it exists. */
  configPath?: string;
  /** Preset name; overrides the file's `preset:`. */
  preset?: string;
  /** Environment to read `VIEWERATLAS_<SECTION>_<KEY>` overrides from. */
  env?: Record<string, string | undefined>;
  /** Highest-priority overrides (from command-line flags). */
  overrides?: ConfigInput;
  /** Directory relative paths are resolved against (default: process.cwd()). */
  cwd?: string;
}

type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge of plain objects; arrays and scalars from `b` replace those of `a`. */
export function mergeConfig(a: Plain, b: Plain): Plain {
  const out: Plain = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] = isPlain(v) && isPlain(out[k]) ? mergeConfig(out[k] as Plain, v) : v;
  }
  return out;
}

function readConfigFile(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    throw new ConfigError(`${path}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const value = doc.toJS() ?? {};
  if (!isPlain(value)) throw new ConfigError(`${path}: expected a mapping of sections at the top level`);
  return value;
}

/** Reads `VIEWERATLAS_<SECTION>_<KEY>=value` (value parsed as YAML: numbers, booleans, lists). */
export function envOverrides(env: Record<string, string | undefined>): Plain {
  const out: Plain = {};
  const sections = [...SECTIONS].sort((a, b) => b.length - a.length);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('VIEWERATLAS_') || raw === undefined) continue;
    const rest = name.slice('VIEWERATLAS_'.length).toLowerCase();
    if (rest === 'preset') {
      out.preset = raw;
      continue;
    }
    const section = sections.find((s) => rest.startsWith(`${s}_`));
    if (!section) continue; // not a config variable (e.g. VIEWERATLAS_PSEUDONYM_KEY, VIEWERATLAS_DEBUG)
    const key = rest.slice(section.length + 1);
    let value: unknown = raw;
    try {
      // An empty variable means an empty string, not YAML's null.
      if (raw.trim() !== '') value = YAML.parse(raw);
    } catch {
      // keep the raw string; the schema will say what is wrong with it
    }
    out[section] = { ...((out[section] as Plain) ?? {}), [key]: value };
  }
  return out;
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const p of path) {
    if (!isPlain(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => [...issue.path, k].join('.'));
    return `unknown key ${keys.map((k) => `"${k}"`).join(', ')}`;
  }
  const key = issue.path.join('.');
  const got = valueAt(input, issue.path);
  return `${key}: ${issue.message} (${got === undefined ? 'not set' : `got ${JSON.stringify(got)}`})`;
}

/** Validates a merged config object; throws ConfigError naming the key and the bad value. */
export function parseConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(describeIssue(result.error.issues[0]!, input));
  }
  return result.data as Config;
}

/**
 * YAML file → preset → environment → flags, merged over the defaults and validated once.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let file: Plain = {};
  if (options.configPath) {
    file = readConfigFile(options.configPath);
  } else {
    const fallback = `${cwd}/${DEFAULT_CONFIG_PATH}`;
    if (existsSync(fallback)) file = readConfigFile(fallback);
  }
  const fromEnv = envOverrides(env);
  const presetName =
    options.preset ??
    (fromEnv.preset as string | undefined) ??
    (file.preset as string | undefined) ??
    'default';
  if (!PRESET_NAMES.includes(presetName as PresetName)) {
    throw new ConfigError(`unknown preset "${presetName}" (known: ${PRESET_NAMES.join(', ')})`);
  }
  let merged = mergeConfig(file, PRESETS[presetName as PresetName] as Plain);
  merged = mergeConfig(merged, fromEnv);
  merged = mergeConfig(merged, (options.overrides ?? {}) as Plain);
  merged.preset = presetName;
  return parseConfig(merged);
}
