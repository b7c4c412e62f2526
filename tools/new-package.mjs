#!/usr/bin/env node
// DOC: the package template. Creates packages/<name> (or apps/<name> with
// --app) with the shape every package shares:
//   package.json (ESM-only exports map with the @mm/source condition), tsup.config.ts,
//   tsconfig.json, vitest.config.ts, typedoc.json, README.md, src/index.ts, test/, bench/
// Usage: npm run new-package -- <name> "<one-line description>" [--app]
// Then: write src/, tests in test/, benchmarks in bench/*.bench.ts, the README,
// and a changeset (npm run changeset).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const app = args.includes('--app');
const [name, description] = args.filter((a) => a !== '--app');
if (!name || !/^[a-z][a-z0-9-]*$/.test(name) || !description) {
  console.error('usage: npm run new-package -- <kebab-name> "<description>" [--app]');
  process.exit(2);
}
const dir = join(root, app ? 'apps' : 'packages', name);
if (existsSync(dir)) {
  console.error(`new-package: ${dir} exists`);
  process.exit(1);
}

export function packageJson(fullName, desc, extra = {}) {
  return {
    name: fullName,
    version: '0.0.0',
    description: desc,
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20.19' },
    exports: {
      '.': { '@mm/source': './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js' },
      './package.json': './package.json',
    },
    types: './dist/index.d.ts',
    files: ['dist', 'src', '!src/**/*.test.ts'],
    scripts: {
      build: 'tsup',
      typecheck: 'tsc -p tsconfig.json',
      lint: 'biome check --error-on-warnings .',
      'check-exports': 'publint --strict && attw --pack . --profile esm-only',
      test: 'vitest run',
      bench: 'node ../../tools/bench.mjs',
    },
    publishConfig: { access: 'public' },
    ...extra,
  };
}

const fullName = `@mm/${name}`;
const files = {
  'package.json': `${JSON.stringify(packageJson(fullName, description), null, 2)}\n`,
  'tsup.config.ts': "import { tsupPreset } from '../../tools/tsup-preset.mjs';\n\nexport default tsupPreset();\n",
  'tsconfig.json': `${JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src', 'test', 'bench', '*.ts'] }, null, 2)}\n`,
  'vitest.config.ts': `import { vitestProject } from '../../tools/vitest-preset.mjs';\n\nexport default vitestProject('${name}');\n`,
  'typedoc.json': `${JSON.stringify({ extends: ['../../typedoc.base.json'], entryPoints: ['src/index.ts'] }, null, 2)}\n`,
  'README.md': `# ${fullName}\n\n${description}\n\n## What it models\n\n## Example\n\n## Files and the kernel files they model\n\n| file | kernel |\n| --- | --- |\n\n## Departures from the kernel\n`,
  'src/index.ts': `/**\n * DOC: ${fullName}: ${description}\n * Public surface: re-export by name from the files that implement it.\n * @packageDocumentation\n */\nexport {};\n`,
};
for (const [rel, text] of Object.entries(files)) {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), text);
}
mkdirSync(join(dir, 'test'), { recursive: true });
mkdirSync(join(dir, 'bench'), { recursive: true });
console.log(`created ${dir}\nnext: node tools/pnpm.mjs install, write src/ and test/, add a changeset`);
