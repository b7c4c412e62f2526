// DOC: the vitest project of the repo tools (tools/test/*.test.mjs).
import { defineProject } from 'vitest/config';

export default defineProject({ test: { name: 'tools', include: ['test/**/*.test.mjs'], environment: 'node' } });
