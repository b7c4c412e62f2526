#!/usr/bin/env node
// DOC: part of `npm test`: every published package has the shape of the
// package template (tools/package-template.mjs): the template-owned
// package.json fields (exports map, files, engines, scripts, repository,
// homepage, bugs, keywords, license), LICENSE (the root's), README.md,
// tsconfig.build.json, and a typedoc.json that states its doc-coverage switch;
// and no README (the packages' or the repository's) points at a document a
// user cannot read (the seed documents, DESIGN.md, the project's issues).
// A package made from an older template, or edited by hand, fails here with
// the field named.
//
//   node tools/check-packages.mjs         check
//   node tools/check-packages.mjs --fix   rewrite what differs (keeps each
//                                         package's own name, description,
//                                         extra keywords, scripts, exports
//                                         entries, bin and dependencies)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync as write } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  baseKeywords,
  entryExport,
  licenseText,
  root,
  rootPkg,
  templateFields,
  tsconfigBuild,
  typedocJson,
  workspacePackages,
} from './package-template.mjs';

const fix = process.argv.includes('--fix');
const written = [];
const writeFileSync = (file, text) => {
  write(file, text);
  written.push(file);
};
const problems = [];
const json = (v) => `${JSON.stringify(v, null, 2)}\n`;

// Every package has the pinned pnpm as a devDependency: tools that pack a
// package folder (`npx publint` there runs `pnpm pack`, as the lockfile says
// pnpm) find it in the package's node_modules/.bin, which npx puts on PATH.
// (Not at the root: `pnpm exec` puts a relative ./node_modules/.bin on PATH and
// turbo would then spawn that path from each package folder.)
const pinned = /^pnpm@(.+)$/.exec(rootPkg.packageManager ?? '')?.[1];
if (rootPkg.devDependencies?.pnpm)
  problems.push('package.json (root): no pnpm devDependency here (see tools/check-packages.mjs)');
let needInstall = false;

/** Canonical key order of a package.json; unknown keys keep their order after these. */
const order = [
  'name',
  'version',
  'description',
  'keywords',
  'license',
  'repository',
  'homepage',
  'bugs',
  'type',
  'sideEffects',
  'engines',
  'exports',
  'types',
  'bin',
  'files',
  'scripts',
  'publishConfig',
  'dependencies',
  'peerDependencies',
  'optionalDependencies',
  'devDependencies',
];

// A README is read on the registry and in the API docs, where the project's
// internal documents (its seed documents, the shared design and style notes,
// its issues, the kernel fact sheets) cannot be opened: it says what it needs
// in its own words and links kernel documentation or names kernel commits.
const INTERNAL_REFERENCES = [
  [/\bseeds? ?\d{3}\b|\bseed documents?\b/i, 'a seed document'],
  [/\b(DESIGN|STYLE|COMMON)\.md\b/, 'an internal design or style document'],
  [/\bissues? #?\d+\b/i, 'an issue of the project tracker'],
  [/\bkernel-notes\/|(^|[\s(`'"])\.{0,2}\/?shared\//, 'the shared notes'],
];

function internalReferences(file, where) {
  const out = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      for (const [re, what] of INTERNAL_REFERENCES) {
        const m = re.exec(line);
        if (m) out.push(`${where}:${i + 1}: "${m[0].trim()}" points at ${what}, which a user cannot read`);
      }
    });
  return out;
}

function exportProblems(exp) {
  const out = [];
  if (!exp || typeof exp !== 'object') return ['"exports" must be an object'];
  if (!isDeepStrictEqual(exp['.'], entryExport('index')))
    out.push(`exports["."] must be ${JSON.stringify(entryExport('index'))}`);
  if (exp['./package.json'] !== './package.json') out.push('exports["./package.json"] must be "./package.json"');
  for (const [key, value] of Object.entries(exp)) {
    if (key === '.' || key === './package.json') continue;
    const stem = /^\.\/src\/(.+)\.ts$/.exec(value?.['@mm/source'] ?? '')?.[1];
    if (!stem || !isDeepStrictEqual(value, entryExport(stem))) {
      out.push(`exports[${JSON.stringify(key)}] must have the shape ${JSON.stringify(entryExport('<file>'))}`);
    }
  }
  return out;
}

for (const { dir, abs, pkg } of workspacePackages()) {
  const where = `${dir}/package.json`;
  const t = templateFields(dir);
  const mine = [];
  for (const [key, want] of Object.entries(t)) {
    if (key === 'exports') mine.push(...exportProblems(pkg.exports));
    else if (key === 'scripts') {
      for (const [s, cmd] of Object.entries(want)) {
        if (pkg.scripts?.[s] !== cmd) mine.push(`scripts.${s} must be ${JSON.stringify(cmd)}`);
      }
    } else if (!isDeepStrictEqual(pkg[key], want)) mine.push(`"${key}" must be ${JSON.stringify(want)}`);
  }
  const kw = pkg.keywords ?? [];
  const missing = baseKeywords.filter((k) => !kw.includes(k));
  if (missing.length > 0) mine.push(`keywords lack ${missing.join(', ')}`);
  if (kw.every((k) => baseKeywords.includes(k))) mine.push('keywords: add at least one of the package’s own');
  if (pkg.devDependencies?.pnpm !== pinned)
    mine.push(`devDependencies.pnpm must be "${pinned}" (the packageManager version)`);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
      if (dep.startsWith('@mm/') && range !== 'workspace:^') mine.push(`${field}.${dep} must be "workspace:^"`);
    }
  }
  if (fix && mine.length > 0) {
    const next = { ...pkg, ...t };
    if (pkg.devDependencies?.pnpm !== pinned) {
      next.devDependencies = { ...pkg.devDependencies, pnpm: pinned };
      needInstall = true;
    }
    const own = kw.filter((k) => !baseKeywords.includes(k));
    // Without keywords of its own a package gets its name's words (refine by hand).
    next.keywords = [...baseKeywords, ...(own.length > 0 ? own : pkg.name.replace(/^@mm\//, '').split('-'))];
    next.scripts = {
      ...t.scripts,
      ...Object.fromEntries(Object.entries(pkg.scripts ?? {}).filter(([s]) => !(s in t.scripts))),
    };
    const extraExports = Object.entries(pkg.exports ?? {}).filter(([k]) => k !== '.' && k !== './package.json');
    next.exports = {
      '.': entryExport('index'),
      ...Object.fromEntries(
        extraExports.map(([k, v]) => [
          k,
          entryExport(/^\.\/src\/(.+)\.ts$/.exec(v?.['@mm/source'] ?? '')?.[1] ?? k.slice(2)),
        ]),
      ),
      './package.json': './package.json',
    };
    const sorted = {};
    for (const k of order) if (k in next) sorted[k] = next[k];
    for (const k of Object.keys(next)) if (!(k in sorted)) sorted[k] = next[k];
    writeFileSync(join(abs, 'package.json'), json(sorted));
  } else problems.push(...mine.map((m) => `${where}: ${m}`));

  // Files beside package.json.
  const license = join(abs, 'LICENSE');
  if (!existsSync(license) || readFileSync(license, 'utf8') !== licenseText()) {
    if (fix) writeFileSync(license, licenseText());
    else problems.push(`${dir}/LICENSE: missing or different from the root LICENSE`);
  }
  if (!existsSync(join(abs, 'README.md'))) problems.push(`${dir}/README.md: missing`);
  else problems.push(...internalReferences(join(abs, 'README.md'), `${dir}/README.md`));
  const buildCfg = join(abs, 'tsconfig.build.json');
  if (!existsSync(buildCfg) || !isDeepStrictEqual(JSON.parse(readFileSync(buildCfg, 'utf8')), tsconfigBuild)) {
    if (fix) writeFileSync(buildCfg, json(tsconfigBuild));
    else problems.push(`${dir}/tsconfig.build.json: missing or different from the template`);
  }
  const tdFile = join(abs, 'typedoc.json');
  const td = existsSync(tdFile) ? JSON.parse(readFileSync(tdFile, 'utf8')) : undefined;
  if (typeof td?.validation?.notDocumented !== 'boolean') {
    // A package from an older template starts with the switch off: turning it
    // on is a decision for whoever documents the package.
    if (fix)
      writeFileSync(
        tdFile,
        json({ ...typedocJson(false), ...td, validation: { ...td?.validation, notDocumented: false } }),
      );
    else problems.push(`${dir}/typedoc.json: must state validation.notDocumented (true or false)`);
  }
}

problems.push(...internalReferences(join(root, 'README.md'), 'README.md'));

// Written files take the repo's formatting (Biome), so `lint` stays clean.
if (written.length > 0)
  spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', ...written], { stdio: 'inherit' });

if (needInstall) console.error('check-packages: devDependencies changed; run `node tools/pnpm.mjs install`');

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(
    `check-packages: ${problems.length} problem(s)${fix ? '' : '; `node tools/check-packages.mjs --fix` applies the template'}`,
  );
  process.exit(1);
}
console.log(`check-packages: ${workspacePackages().length} packages match the template${fix ? ' (fixed)' : ''}`);
