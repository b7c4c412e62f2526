import { defineConfig } from 'vitest/config';

// Every package and app is a vitest project with its own vitest.config.ts;
// `vitest run` at the root runs them all, `vitest run` in a package runs one.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
    reporters: ['default', './tools/vitest-summary-reporter.mjs'],
  },
});
