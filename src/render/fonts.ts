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
      // Latin-ext covers accented channel and game names (ł, ő, ș …).
      const ext = join(files, `inter-latin-ext-${weight}-normal.woff2`);
      if (existsSync(ext)) GlobalFonts.registerFromPath(ext, ATLAS_FONT);
    }
    if (ok) registered = `"${ATLAS_FONT}", ${FALLBACK}`;
  } catch {
    // No bundled font: the system fallback still draws text where fonts are installed.
  }
  return registered;
}
