#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (scripts/build.mjs; `npm ci` builds it through the
// `prepare` script, `npm test` through `pretest`). Development without a build: `npm run dev -- …`.
const entry = new URL('../dist/cli/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('vieweratlas: dist/cli/main.js is missing: run `npm run build` (npm ci runs it)\n');
  process.exit(2);
}
process.exitCode = await main(process.argv);
