// DOC: the one tsup preset every package's three-line tsup.config.ts calls.
// ESM only (one module format: one copy of each class at run time, for
// `import` and `require()` alike; see tools/package-template.mjs), ES2022 for
// Node >= 20.19 and current browsers. Source maps point into the shipped
// src/ instead of embedding it (`sourcesContent: false`), so a tarball holds
// one copy of the sources. Declarations and their maps come from
// `tsc -p tsconfig.build.json` after tsup (the build script), because tsup's
// bundled declarations cannot have maps.
import { defineConfig } from 'tsup';

/** @param {import('tsup').Options} [overrides] */
export function tsupPreset(overrides = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    target: 'es2022',
    platform: 'neutral',
    dts: false,
    sourcemap: true,
    clean: true,
    splitting: false,
    // esbuild already drops unused code of an ESM bundle; tsup's extra rollup
    // pass saved under 1 % and re-embedded the sources in the map.
    treeshake: false,
    esbuildOptions(options) {
      options.sourcesContent = false;
    },
    ...overrides,
  });
}
