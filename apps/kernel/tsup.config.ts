import { tsupPreset } from '../../tools/tsup-preset.mjs';

export default tsupPreset({ entry: ['src/index.ts', 'src/cli.ts'], platform: 'node' });
