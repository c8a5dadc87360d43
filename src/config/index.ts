export {
  DEFAULT_CONFIG_PATH,
  envOverrides,
  type LoadConfigOptions,
  loadConfig,
  mergeConfig,
  parseConfig,
} from './load.js';
export { PRESET_NAMES, PRESETS, type PresetName } from './presets.js';
export { type Config, type ConfigInput, configSchema, SECTIONS } from './schema.js';
