import { existsSync, readFileSync } from 'node:fs';
import YAML, { type Document, LineCounter } from 'yaml';
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

/** A parsed config file, kept with its YAML document so errors can name the line of a key. */
interface ConfigFile {
  path: string;
  value: Plain;
  /** Line (1-based) of the value at `path`, or of its key when `key` is true. */
  lineOf(path: PropertyKey[], key?: boolean): number | undefined;
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config file ${path}: ${code ?? (err as Error).message}`, {
      cause: err,
    });
  }
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: false, lineCounter });
  const lineAt = (offset: number | undefined) =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = lineAt(e.pos?.[0]);
    throw new ConfigError(`${path}${line ? `:${line}` : ''}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  const value = doc.toJS() ?? {};
  if (!isPlain(value)) throw new ConfigError(`${path}: expected a mapping of sections at the top level`);
  return { path, value, lineOf: (p, key) => lineAt(nodeOffset(doc, p, key)) };
}

/** Offset of the YAML node at `path` (or of the key naming it), or of its nearest ancestor. */
function nodeOffset(doc: Document, path: PropertyKey[], key?: boolean): number | undefined {
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    if (key || n < path.length) {
      const pair = YAML.isMap(parent)
        ? parent.items.find((it) => YAML.isScalar(it.key) && it.key.value === path[n - 1])
        : undefined;
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (range) return range[0];
    } else {
      const node = doc.getIn(path as unknown[], true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return node.range[0];
    }
  }
  return undefined;
}

/**
 * `VIEWERATLAS_*` variables that are not `<SECTION>_<KEY>` config overrides but are read by the
 * program (or its tests); every other `VIEWERATLAS_*` name is a typo and an error.
 */
export const NON_CONFIG_ENV = new Set([
  'VIEWERATLAS_DEBUG',
  'VIEWERATLAS_LOG_LEVEL',
  'VIEWERATLAS_PRESET',
  'VIEWERATLAS_SHARED_DATA',
]);

let keysBySection: Map<string, Set<string>> | null = null;
/** The keys a section has (from its defaults). */
function sectionKeys(section: string): Set<string> {
  keysBySection ??= new Map(
    Object.entries(configSchema.parse({}))
      .filter(([, v]) => isPlain(v))
      .map(([s, v]) => [s, new Set(Object.keys(v as Plain))]),
  );
  return keysBySection.get(section) ?? new Set();
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
    if (!section) continue; // not a config variable (checked by `checkEnvNames` once config is known)
    const key = rest.slice(section.length + 1);
    if (!sectionKeys(section).has(key)) continue; // a typo: `checkEnvNames` names it
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

/** Where a merged value came from, to name it in an error: `file:line: `, `VARIABLE: ` or nothing. */
type Origin = (path: PropertyKey[], key?: boolean) => string;

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
export function parseConfig(input: unknown, origin?: Origin): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    // where the bad value came from: the file's line, the variable (nothing for flags and defaults)
    const where =
      issue.code === 'unrecognized_keys'
        ? origin?.([...issue.path, issue.keys[0] as string], true)
        : origin?.(issue.path);
    throw new ConfigError(`${where ?? ''}${describeIssue(issue, input)}`);
  }
  return result.data as Config;
}

/** An unknown `VIEWERATLAS_*` variable (a typo like `VIEWERATLAS_OVERLAPS_WEIGHT`) is an error naming it. */
export function checkEnvNames(env: Record<string, string | undefined>, config: Config): void {
  const named = new Set<string>(NON_CONFIG_ENV);
  // variables named by `*_env` keys, as configured and by default (VIEWERATLAS_PSEUDONYM_KEY stays
  // known when privacy.key_env names another one)
  for (const c of [config, configSchema.parse({}) as Config]) {
    for (const section of SECTIONS) {
      for (const [key, value] of Object.entries(c[section])) {
        if (key.endsWith('_env') && typeof value === 'string') named.add(value);
      }
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('VIEWERATLAS_') || value === undefined || named.has(name)) continue;
    const rest = name.slice('VIEWERATLAS_'.length).toLowerCase();
    const section = SECTIONS.filter((s) => rest.startsWith(`${s}_`)).sort((a, b) => b.length - a.length)[0];
    const key = section ? rest.slice(section.length + 1) : '';
    if (section && sectionKeys(section).has(key)) continue;
    const hint = section
      ? `section "${section}" has no key "${key}"`
      : `no config section "${rest.split('_')[0]}" (sections: ${SECTIONS.join(', ')})`;
    throw new ConfigError(
      `unknown environment variable ${name}: ${hint}; config variables are VIEWERATLAS_<SECTION>_<KEY>`,
    );
  }
}

/**
 * YAML file → preset → environment → flags, merged over the defaults and validated once.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let fileInfo: ConfigFile | undefined;
  if (options.configPath) {
    fileInfo = readConfigFile(options.configPath);
  } else {
    const fallback = `${cwd}/${DEFAULT_CONFIG_PATH}`;
    if (existsSync(fallback)) fileInfo = readConfigFile(fallback);
  }
  const file = fileInfo?.value ?? {};
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
  const flags = (options.overrides ?? {}) as Plain;
  // The layer a bad value came from: flags win over env, env over presets, presets over the file.
  const origin: Origin = (path, key) => {
    if (valueAt(flags, path) !== undefined) return '';
    if (valueAt(fromEnv, path) !== undefined) return `VIEWERATLAS_${path.join('_').toUpperCase()}: `;
    if (fileInfo && valueAt(file, path) !== undefined) {
      const line = fileInfo.lineOf(path, key);
      return `${fileInfo.path}${line ? `:${line}` : ''}: `;
    }
    return '';
  };
  const config = parseConfig(merged, origin);
  checkEnvNames(env, config);
  return config;
}
