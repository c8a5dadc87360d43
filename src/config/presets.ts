import type { ConfigInput } from './schema.js';

/**
 * Named bundles of settings, chosen with `--preset NAME` (or `preset:` in the config file).
 * A preset overrides the config file for the keys it sets; env and flags override both.
 */
export const PRESETS = {
  /** Small and fast: looser filters, fewer layout iterations, smaller PNG. */
  quick: {
    aggregate: { min_viewers: 3 },
    communities: { algorithm: 'louvain' },
    layout: { iterations: 150 },
    render: { png_width: 2000, png_height: 2000, channel_labels: 30 },
  },
  /** The defaults, as documented in config/config.yaml. */
  default: {},
  /** Tens of thousands of channels: stricter support, backbone on, Barnes-Hut always. */
  large: {
    aggregate: { min_viewers: 20 },
    overlap: { min_shared: 5, backbone: true },
    layout: { iterations: 300, barnes_hut_above: 0 },
    render: { html_max_edges: 60_000 },
  },
  /** Finer communities: weaker splits kept, deeper refinement, flat partitions at four resolutions too. */
  fine: {
    communities: { significance: 0.04, max_depth: 5, extra_resolutions: [0.5, 1, 2, 4] },
    labels: { max_games: 3 },
  },
} satisfies Record<string, ConfigInput>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
