import { describe, expect, it } from 'vitest';
import { loadConfig, PRESET_NAMES } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';

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
