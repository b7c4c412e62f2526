// DOC: the shape every published package shares, in one place. Used by
// tools/new-package.mjs (writes a new package) and tools/check-packages.mjs
// (part of `npm test`: checks every package against it; `--fix` applies it).
//
// Why the exports map looks like this: one ESM build, reached through a
// `default` condition, so `import` and `require()` (Node >= 20.19 loads ESM
// synchronously through require) get the same file and so the same module
// instance: one copy of every class and of every module-level table, whoever
// loads it. A second, CommonJS build would give a process that both imports
// and requires a package (or whose packages do) two copies: `instanceof`
// across them fails and state such as a machine's registries splits in two.
// `types` comes first; `@mm/source` lets the repo's own tests and typechecks
// run on src/ without building dependencies first (never used outside).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Keywords every package carries; a package adds its own after them. */
export const baseKeywords = ['linux', 'kernel', 'memory-management', 'mm', 'simulation'];

/** `npm pack` contents: the build, and the sources the source maps point at. */
export const files = ['dist', 'src', '!src/**/*.test.ts', '!src/**/*.test-d.ts'];

/** The package checks behind `npm test` (turbo task `check-exports`). */
export const checkExportsScript =
  // attw's node16 profile covers `require` from CommonJS (node16-cjs), ESM and
  // bundlers; it models TypeScript's `module: node16`, which predates
  // require(esm), so it reports every ESM-only package as "CJS resolves to ESM".
  // That rule alone is ignored: tools/pack-test.mjs proves the CommonJS path
  // for real (TypeScript .cts under node20/nodenext, then node runs it).
  'publint --strict && attw --pack . --profile node16 --ignore-rules cjs-resolves-to-esm';

export const scripts = {
  build: 'tsup && tsc -p tsconfig.build.json',
  typecheck: 'tsc -p tsconfig.json',
  lint: 'biome check --error-on-warnings .',
  'check-exports': checkExportsScript,
  test: 'vitest run',
  bench: 'node ../../tools/bench.mjs',
};

/** The export conditions of one entry point (`src/<name>.ts` → `dist/<name>.js`). */
export function entryExport(name = 'index') {
  return { '@mm/source': `./src/${name}.ts`, types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` };
}

/** The repository address: the root package.json's `repository`, the one place to change it. */
function repoUrl() {
  const url = typeof rootPkg.repository === 'string' ? rootPkg.repository : rootPkg.repository?.url;
  if (!url) throw new Error('package.json (root): "repository.url" is missing');
  return url.replace(/^git\+/, '').replace(/\.git$/, '');
}

/**
 * The fields the template owns, for the package in `dir` (relative to the
 * repo root, e.g. `packages/machine`). Scripts and exports entries that a
 * package adds beside these are its own.
 */
export function templateFields(dir) {
  const web = repoUrl();
  return {
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20.19' },
    repository: { type: 'git', url: `git+${web}.git`, directory: dir },
    homepage: `${web}/tree/main/${dir}#readme`,
    bugs: { url: `${web}/issues` },
    exports: { '.': entryExport('index'), './package.json': './package.json' },
    types: './dist/index.d.ts',
    files,
    scripts,
    publishConfig: { access: 'public' },
  };
}

/** package.json of a new package. */
export function packageJson(fullName, description, dir, keywords = []) {
  const t = templateFields(dir);
  return {
    name: fullName,
    version: '0.0.0',
    description,
    keywords: [...baseKeywords, ...keywords],
    license: t.license,
    repository: t.repository,
    homepage: t.homepage,
    bugs: t.bugs,
    type: t.type,
    sideEffects: t.sideEffects,
    engines: t.engines,
    exports: t.exports,
    types: t.types,
    files: t.files,
    scripts: t.scripts,
    publishConfig: t.publishConfig,
  };
}

/**
 * tsconfig.build.json: declarations with declaration maps (they point into
 * the shipped src/, so "go to definition" opens the TypeScript source).
 * Sibling packages resolve to their built `dist/` here (no `@mm/source`), so
 * the emitted declarations import `@mm/machine` by name.
 */
export const tsconfigBuild = {
  extends: '../../tsconfig.base.json',
  compilerOptions: {
    noEmit: false,
    emitDeclarationOnly: true,
    declaration: true,
    declarationMap: true,
    rootDir: 'src',
    outDir: 'dist',
    customConditions: [],
  },
  include: ['src'],
  exclude: ['src/**/*.test.ts'],
};

export const tsconfig = { extends: '../../tsconfig.base.json', include: ['src', 'test', 'bench', '*.ts'] };

/**
 * typedoc.json. `validation.notDocumented` is the per-package switch of the
 * doc-coverage check (`npm test` builds the docs with warnings as errors):
 * new packages start with it on; a package that has undocumented exports
 * turns it off until they are documented.
 */
export function typedocJson(notDocumented = true) {
  return {
    extends: ['../../typedoc.base.json'],
    entryPoints: ['src/index.ts'],
    validation: { notDocumented },
  };
}

export const licenseText = () => readFileSync(join(root, 'LICENSE'), 'utf8');

/** Published packages of the workspace: `{ dir (relative), abs, pkg }`. */
export function workspacePackages({ includePrivate = false } = {}) {
  const globs = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')
    .split('\n')
    .map((l) => /^\s*-\s*["']?([^"'#]+?)\/\*["']?\s*$/.exec(l)?.[1])
    .filter(Boolean);
  const out = [];
  for (const g of globs) {
    const base = join(root, g);
    if (!existsSync(base)) continue;
    for (const name of readdirSorted(base)) {
      const abs = join(base, name);
      const file = join(abs, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.private && !includePrivate) continue;
      out.push({ dir: relative(root, abs), abs, pkg });
    }
  }
  return out;
}

function readdirSorted(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}
