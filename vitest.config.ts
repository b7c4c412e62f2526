import { defineConfig } from 'vitest/config';

// Every package and app is a vitest project with its own vitest.config.ts
// (and the repo tools one: tools/vitest.config.mjs);
// `vitest run` at the root runs them all, `vitest run` in a package runs one.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'tools/vitest.config.mjs'],
    reporters: ['default', './tools/vitest-summary-reporter.mjs'],
  },
});
