#!/usr/bin/env node
// DOC: the package template. Creates packages/<name> (or apps/<name> with
// --app) with the shape every package shares (tools/package-template.mjs,
// checked by tools/check-packages.mjs in `npm test`):
//   package.json (exports map with `types`, `default` and the @mm/source
//   condition, so `import` and `require()` load the one ESM build; files;
//   repository/homepage/bugs/keywords; the pinned pnpm as a devDependency),
//   LICENSE, tsup.config.ts, tsconfig.json, tsconfig.build.json (declarations
//   with maps), vitest.config.ts, typedoc.json (doc-coverage check on),
//   README.md, src/index.ts, test/, bench/
// Usage: npm run new-package -- <name> "<one-line description>" [--app] [--keywords a,b]
// Then: node tools/pnpm.mjs install; write src/, tests in test/, benchmarks
// in bench/*.bench.ts, the README (its examples run in `npm test`, from the
// packed tarball: see CONTRIBUTING.md), and a changeset (npm run changeset).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { licenseText, packageJson, root, rootPkg, tsconfig, tsconfigBuild, typedocJson } from './package-template.mjs';

const positional = [];
let app = false;
let keywords = [];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--app') app = true;
  else if (a === '--keywords') keywords = (process.argv[++i] ?? '').split(',').filter(Boolean);
  else positional.push(a);
}
const [name, description] = positional;
if (!name || !/^[a-z][a-z0-9-]*$/.test(name) || !description) {
  console.error('usage: npm run new-package -- <kebab-name> "<description>" [--app] [--keywords a,b]');
  process.exit(2);
}
const rel = `${app ? 'apps' : 'packages'}/${name}`;
const dir = join(root, rel);
if (existsSync(dir)) {
  console.error(`new-package: ${dir} exists`);
  process.exit(1);
}

const fullName = `@mm/${name}`;
const json = (v) => `${JSON.stringify(v, null, 2)}\n`;
const pkg = packageJson(fullName, description, rel, keywords.length > 0 ? keywords : name.split('-'));
pkg.devDependencies = { pnpm: /^pnpm@(.+)$/.exec(rootPkg.packageManager)[1] };
const files = {
  'package.json': json(pkg),
  LICENSE: licenseText(),
  'tsup.config.ts': "import { tsupPreset } from '../../tools/tsup-preset.mjs';\n\nexport default tsupPreset();\n",
  'tsconfig.json': json(tsconfig),
  'tsconfig.build.json': json(tsconfigBuild),
  'vitest.config.ts': `import { vitestProject } from '../../tools/vitest-preset.mjs';\n\nexport default vitestProject('${name}');\n`,
  'typedoc.json': json(typedocJson(true)),
  'README.md': `# ${fullName}

${description}

## What it models

(In your own words, with links to the kernel's documentation or commits.)

## Example

Runnable as written: \`npm test\` installs the packed tarball in a fresh
project and runs this block (TypeScript check, tsx, node ESM and CommonJS,
Chromium). A trailing comment holding a value is checked against the result.

\`\`\`ts
import {} from '${fullName}';
\`\`\`

## Files and the kernel files they model

| file | kernel |
| --- | --- |

## Departures from the kernel
`,
  'src/index.ts': `/**\n * DOC: ${fullName}: ${description}\n * Public surface: re-export by name from the files that implement it.\n * @packageDocumentation\n */\nexport {};\n`,
};
for (const [file, text] of Object.entries(files)) {
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), text);
}
// The repo's formatting (Biome), so the new package's `lint` starts clean.
spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', dir], { stdio: 'ignore' });
mkdirSync(join(dir, 'test'), { recursive: true });
mkdirSync(join(dir, 'bench'), { recursive: true });
console.log(
  `created ${dir}\nnext: node tools/pnpm.mjs install, write src/, test/ and the README example, add a changeset`,
);
