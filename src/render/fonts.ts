/**
 * Fonts for atlas.png. Inter ships inside the npm package @fontsource/inter, so text renders the
 * same on a machine with no system fonts at all; a system sans-serif is the fallback.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GlobalFonts } from '@napi-rs/canvas';

/** Family name the PNG renderer asks for. */
export const ATLAS_FONT = 'ViewerAtlas Inter';
const FALLBACK = 'DejaVu Sans, Liberation Sans, sans-serif';

const EXTRA_SUBSETS = ['latin-ext', 'cyrillic', 'cyrillic-ext', 'greek', 'greek-ext', 'vietnamese'];

let registered: string | null = null;

/** Registers the bundled font once; returns the CSS font-family list to use. */
export function atlasFontFamily(): string {
  if (registered !== null) return registered;
  registered = FALLBACK;
  try {
    const require = createRequire(import.meta.url);
    const files = join(dirname(require.resolve('@fontsource/inter/package.json')), 'files');
    let ok = true;
    for (const weight of [400, 600, 700]) {
      const file = join(files, `inter-latin-${weight}-normal.woff2`);
      ok = ok && existsSync(file) && GlobalFonts.registerFromPath(file, ATLAS_FONT) !== null;
      // The other subsets cover accented, Cyrillic, Greek and Vietnamese channel and game names.
      for (const subset of EXTRA_SUBSETS) {
        const extra = join(files, `inter-${subset}-${weight}-normal.woff2`);
        if (existsSync(extra)) GlobalFonts.registerFromPath(extra, ATLAS_FONT);
      }
    }
    if (ok) registered = `"${ATLAS_FONT}", ${FALLBACK}`;
  } catch {
    // No bundled font: the system fallback still draws text where fonts are installed.
  }
  return registered;
}
