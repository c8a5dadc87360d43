/**
 * vitest global set-up: compiles src/ → dist/ before any test runs, because the CLI tests spawn
 * bin/vieweratlas.mjs, which runs dist/. So `npx vitest run test/x.test.ts` after editing a source
 * never tests a stale build. `npm test` has just built it (pretest), so it is not built twice.
 */
export default async function setup(): Promise<void> {
  if (process.env.npm_lifecycle_event === 'test') return;
  // @ts-expect-error plain JavaScript build script, no declarations
  const { buildDist } = await import('../../scripts/build.mjs');
  await buildDist({ quiet: true });
}
