/**
 * Community colours. A categorical palette on its own repeats or puts two similar hues side by
 * side; here each community (biggest first) takes the palette colour farthest, in perceptual
 * distance, from the colours of the communities it shares the most edge weight with.
 *
 * With two levels, each top-level group takes a palette hue that way (its neighbours being the
 * groups it shares the most weight with), and its communities take shades of that hue — steps of
 * lightness and small hue turns in CIE LCh — chosen the same way among the group's communities.
 */

/** Bright, well-separated hues that read on the atlas's dark background. */
export const PALETTE: readonly string[] = [
  '#ff6b6b', // red
  '#4dabf7', // blue
  '#ffd43b', // yellow
  '#51cf66', // green
  '#cc5de8', // purple
  '#ff922b', // orange
  '#22d3c5', // teal
  '#f783ac', // pink
  '#94d82d', // lime
  '#845ef7', // violet
  '#e8b87a', // sand
  '#3b82f6', // deep blue
  '#e64980', // magenta
  '#a5d8ff', // pale blue
  '#c2855a', // brown
  '#b2f2bb', // mint
];

/** Colour of the nodes outside every community (community -1); drawn dimmed. */
export const UNASSIGNED = '#6b7280';

export interface PaletteOptions {
  palette: readonly string[];
  /** Never reuse a colour while an unused one is left. */
  distinct: boolean;
}

export const DEFAULTS: PaletteOptions = { palette: PALETTE, distinct: false };

function hexToRgb(hex: string): [number, number, number] {
  const v = Number.parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** sRGB → CIELAB, so distances match what the eye sees. */
export function toLab(hex: string): [number, number, number] {
  const lin = hexToRgb(hex).map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const [r, g, b] = lin;
  const x = (r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047;
  const y = r * 0.2126 + g * 0.7152 + b * 0.0722;
  const z = (r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883;
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

function labDistance(a: [number, number, number], b: [number, number, number]): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/**
 * Assigns a colour to each community id 0..count-1 (ids ordered biggest first).
 * `adjacency(c)` lists the neighbouring communities of `c` with the edge weight between them.
 */
export function assignCommunityColors(
  count: number,
  adjacency: (community: number) => Iterable<[number, number]>,
  options: Partial<PaletteOptions> = {},
): string[] {
  const palette = options.palette ?? DEFAULTS.palette;
  const labs = palette.map(toLab);
  const chosen: number[] = new Array(count).fill(-1);
  const uses = new Array(palette.length).fill(0);
  for (let c = 0; c < count; c++) {
    // Score each palette colour by its distance to neighbours' colours, weighting the strongest
    // neighbours most; a colour identical to a strong neighbour's is heavily penalised.
    const neighbours = [...adjacency(c)].filter(([d]) => d !== c && chosen[d] >= 0);
    const total = neighbours.reduce((s, [, w]) => s + w, 0) || 1;
    let best = 0;
    let bestScore = -Infinity;
    const fresh = (options.distinct ?? DEFAULTS.distinct) && c < palette.length;
    for (let p = 0; p < palette.length; p++) {
      if (fresh && uses[p] > 0) continue;
      let score = 0;
      let nearest = Infinity;
      for (const [d, w] of neighbours) {
        const dist = labDistance(labs[p], labs[chosen[d]]);
        nearest = Math.min(nearest, dist);
        score += (w / total) * Math.min(dist, 60);
      }
      // Prefer colours seldom used so far, then the palette order (the first colours are the clearest).
      score += (neighbours.length > 0 ? nearest * 0.5 : 0) - uses[p] * 8 - p * 0.01;
      if (score > bestScore) {
        bestScore = score;
        best = p;
      }
    }
    chosen[c] = best;
    uses[best]++;
  }
  return chosen.map((p) => palette[p]);
}

/** CIELAB → sRGB hex (clamped to the gamut). */
function fromLab([l, a, b]: [number, number, number]): string {
  const fy = (l + 16) / 116;
  const fx = fy + a / 500;
  const fz = fy - b / 200;
  const inv = (t: number) => (t ** 3 > 0.008856 ? t ** 3 : (t - 16 / 116) / 7.787);
  const x = inv(fx) * 0.95047;
  const y = inv(fy);
  const z = inv(fz) * 1.08883;
  const lin = [
    3.2406 * x - 1.5372 * y - 0.4986 * z,
    -0.9689 * x + 1.8758 * y + 0.0415 * z,
    0.0557 * x - 0.204 * y + 1.057 * z,
  ];
  const hex = lin.map((c) => {
    const v = c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
    return Math.round(Math.min(1, Math.max(0, v)) * 255)
      .toString(16)
      .padStart(2, '0');
  });
  return `#${hex.join('')}`;
}

/** Steps around a base colour: (lightness, hue turn in degrees, chroma factor), nearest first. */
const SHADE_STEPS: readonly [number, number, number][] = [
  [0, 0, 1],
  [14, -16, 0.8],
  [-14, 16, 1.1],
  [24, 14, 0.6],
  [-22, -14, 1.1],
  [8, 30, 0.9],
  [-8, -30, 0.9],
  [30, -30, 0.5],
  [-28, 30, 1],
  [18, 0, 0.45],
  [-18, 0, 0.75],
  [4, -42, 0.8],
  [-4, 42, 0.8],
  [34, 0, 0.35],
  [-32, 0, 0.9],
  [12, 44, 0.6],
];

/** Up to `count` shades of `base` (base first), distinct to the eye and readable on dark ground. */
export function shadesOf(base: string, count: number): string[] {
  const [l, a, b] = toLab(base);
  const c = Math.hypot(a, b);
  const h = Math.atan2(b, a);
  const out: string[] = [];
  for (const [dl, dh, fc] of SHADE_STEPS.slice(0, Math.max(1, Math.min(count, SHADE_STEPS.length)))) {
    const ll = Math.min(90, Math.max(42, l + dl));
    const hh = h + (dh * Math.PI) / 180;
    const cc = Math.max(18, c * fc);
    out.push(fromLab([ll, cc * Math.cos(hh), cc * Math.sin(hh)]));
  }
  return out;
}

/**
 * Colours for two levels. `members[g]` lists the communities (0..count-1, biggest first) of group
 * g (groups biggest first). Returns each group's base colour and each community's shade.
 */
export function assignHierarchyColors(
  members: number[][],
  groupAdjacency: (group: number) => Iterable<[number, number]>,
  communityAdjacency: (community: number) => Iterable<[number, number]>,
  options: Partial<PaletteOptions> = {},
): { group: string[]; community: string[] } {
  const group = assignCommunityColors(members.length, groupAdjacency, options);
  const count = members.reduce((s, list) => s + list.length, 0);
  const community: string[] = new Array(count).fill(UNASSIGNED);
  members.forEach((list, g) => {
    const local = new Map(list.map((c, k) => [c, k]));
    const colors = assignCommunityColors(
      list.length,
      function* (k) {
        for (const [d, w] of communityAdjacency(list[k])) {
          const j = local.get(d);
          if (j !== undefined) yield [j, w] as [number, number];
        }
      },
      { palette: shadesOf(group[g], list.length), distinct: true },
    );
    list.forEach((c, k) => {
      community[c] = colors[k];
    });
  });
  return { group, community };
}
