import { tsupPreset } from '../../tools/tsup-preset.mjs';

// Two entries (`@mm/machine` and `@mm/machine/internal`) share one copy of each module: splitting puts it in a common chunk.
export default tsupPreset({ entry: ['src/index.ts', 'src/internal.ts'], splitting: true });
