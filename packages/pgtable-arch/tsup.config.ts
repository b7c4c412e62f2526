import { tsupPreset } from '../../tools/tsup-preset.mjs';

export default tsupPreset();
