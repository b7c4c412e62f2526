// DOC: the vitest project preset every package's vitest.config.ts calls.
// Tests run on the sources of the workspace packages they import, through the
// `@mm/source` export condition, so a test never needs a dependency built first.
import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

const conditions = ['@mm/source', 'module', 'node', 'import', 'default'];

/** @param {string} name project name shown by vitest */
export function vitestProject(name, test = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      environment: 'node',
      // Fixed fast-check seed in the default run, fresh seeds when fuzzing.
      setupFiles: [fileURLToPath(new URL('./vitest-setup.mjs', import.meta.url))],
      // Property tests run thousands of steps; on a loaded 2-core machine one
      // took 5.6 s, past vitest's 5 s default. A hang still fails, later.
      // MM_FUZZ_RUNS multiplies the property runs, and so the time allowed.
      testTimeout: 60_000 * Math.max(1, Number(process.env.MM_FUZZ_RUNS ?? 1) || 1),
      ...test,
    },
  });
}
