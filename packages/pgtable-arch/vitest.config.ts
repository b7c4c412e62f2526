import { vitestProject } from '../../tools/vitest-preset.mjs';

export default vitestProject('pgtable-arch');
