// DOC: the one tsup preset every package's three-line tsup.config.ts calls.
// ESM only (see STYLE.md: one module format, one copy of each class at run
// time), declarations and source maps, ES2022 for Node >= 20.
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} [overrides] */
export function tsupPreset(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'es2022',
    platform: 'neutral',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
