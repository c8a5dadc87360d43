import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // compiles dist/ first: the CLI tests run bin/vieweratlas.mjs, which runs the compiled code
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
