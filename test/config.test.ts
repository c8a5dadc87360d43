import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, PRESET_NAMES } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';
import { runCli } from './helpers/run-cli.js';

const none = { configPath: '/dev/null', env: {} };

describe('config', () => {
  it('config/config.yaml documents exactly the built-in defaults', () => {
    const documented = loadConfig({ configPath: 'config/config.yaml', env: {} });
    expect(documented).toEqual(loadConfig(none));
  });

  it('names an unknown key', () => {
    expect(() => loadConfig({ ...none, overrides: { aggregate: { bogus: 1 } as never } })).toThrow(
      'config: unknown key "aggregate.bogus"',
    );
  });

  it('names a bad value and the key', () => {
    expect(() => loadConfig({ ...none, overrides: { overlap: { weight: 'nope' as never } } })).toThrow(
      /overlap\.weight: .*\(got "nope"\)/,
    );
  });

  it('rejects an unknown preset with the known ones', () => {
    expect(() => loadConfig({ ...none, preset: 'huge' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...none, preset: 'huge' })).toThrow(/quick, default, large, fine/);
  });

  it('applies presets over the file and env over presets', () => {
    expect(PRESET_NAMES).toEqual(expect.arrayContaining(['quick', 'default', 'large', 'fine']));
    const quick = loadConfig({ ...none, preset: 'quick' });
    expect(quick.layout.iterations).toBe(150);
    const env = loadConfig({ ...none, preset: 'quick', env: { VIEWERATLAS_LAYOUT_ITERATIONS: '77' } });
    expect(env.layout.iterations).toBe(77);
    expect(env.preset).toBe('quick');
  });

  it('reads env overrides as YAML scalars and ignores non-config variables', () => {
    const c = loadConfig({
      ...none,
      env: {
        VIEWERATLAS_DISCOVER_LANGUAGES: '[en, de]',
        VIEWERATLAS_PSEUDONYM_KEY: 'secret',
        VIEWERATLAS_PRIVACY_PSEUDONYMIZE: 'true',
      },
    });
    expect(c.discover.languages).toEqual(['en', 'de']);
    expect(c.privacy.pseudonymize).toBe(true);
  });

  it('reads an empty env variable as an empty string', () => {
    const c = loadConfig({ ...none, env: { VIEWERATLAS_S3_ENDPOINT: '' } });
    expect(c.s3.endpoint).toBe('');
  });
});

describe('config errors name the line, the variable or the key (issue 11)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'va-config-'));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('a YAML syntax error names its file and line', () => {
    const p = write('syntax.yaml', 'overlap:\n  weight: jaccard\ncollect:\n  join_limit: 1\n  - x\n');
    expect(() => loadConfig({ configPath: p, env: {} })).toThrow(new RegExp(`${p}:5: invalid YAML`));
  });

  it('a bad value in the file names its line', () => {
    const p = write('value.yaml', '# comment\ncollect:\n  chat_url: ws://x\n  join_limit: -1\n');
    expect(() => loadConfig({ configPath: p, env: {} })).toThrow(
      `config: ${p}:4: collect.join_limit: Too small: expected number to be >0 (got -1)`,
    );
  });

  it('an unknown key in the file names its line', () => {
    const p = write('key.yaml', 'collect:\n  join_limit: 5\n  join_limt: 6\n');
    expect(() => loadConfig({ configPath: p, env: {} })).toThrow(
      `config: ${p}:3: unknown key "collect.join_limt"`,
    );
  });

  it('a bad value from the environment names the variable', () => {
    expect(() => loadConfig({ ...none, env: { VIEWERATLAS_OVERLAP_WEIGHT: 'heavy' } })).toThrow(
      /^config: VIEWERATLAS_OVERLAP_WEIGHT: overlap\.weight: .*\(got "heavy"\)$/,
    );
  });

  it('an unknown VIEWERATLAS_* variable is an error naming it', () => {
    expect(() => loadConfig({ ...none, env: { VIEWERATLAS_OVERLAPS_WEIGHT: 'jaccard' } })).toThrow(
      /unknown environment variable VIEWERATLAS_OVERLAPS_WEIGHT: no config section "overlaps"/,
    );
    expect(() => loadConfig({ ...none, env: { VIEWERATLAS_OVERLAP_WEIGHTS: 'jaccard' } })).toThrow(
      /unknown environment variable VIEWERATLAS_OVERLAP_WEIGHTS: section "overlap" has no key "weights"/,
    );
  });

  it('variables the program reads that are not config keys are allowed', () => {
    const env = {
      VIEWERATLAS_DEBUG: '1',
      VIEWERATLAS_LOG_LEVEL: 'warn',
      VIEWERATLAS_PSEUDONYM_KEY: 'k',
      VIEWERATLAS_MY_KEY: 'k2',
      VIEWERATLAS_PRIVACY_KEY_ENV: 'VIEWERATLAS_MY_KEY',
    };
    expect(loadConfig({ ...none, env }).privacy.key_env).toBe('VIEWERATLAS_MY_KEY');
  });

  it('through the CLI: exit 1 with one line naming the variable', async () => {
    const r = await runCli(['compact', '--data', join(dir, 'data')], {
      VIEWERATLAS_OVERLAPS_WEIGHT: 'jaccard',
    });
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain('VIEWERATLAS_OVERLAPS_WEIGHT');
  });
});
