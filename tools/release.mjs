#!/usr/bin/env node
// DOC: `npm run release`: build everything, then do a dry-run publish of every
// changed package. A package has changed when its current version has no
// release tag `<name>@<version>` yet (the tag `changeset tag` makes at a real
// release). Pass --publish to publish for real and tag (maintainers only).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const real = process.argv.includes('--publish');
const pnpm = (args, cwd = root) =>
  spawnSync(process.execPath, [join(root, 'tools', 'pnpm.mjs'), ...args], { stdio: 'inherit', cwd }).status ?? 1;

if (pnpm(['install', '--frozen-lockfile']) !== 0) process.exit(1);
if (pnpm(['exec', 'turbo', 'run', 'build', 'check-exports', '--output-logs=errors-only']) !== 0) process.exit(1);

const tags = new Set(
  spawnSync('git', ['tag', '--list'], { cwd: root, encoding: 'utf8' }).stdout.split('\n').filter(Boolean),
);
const dirs = ['packages', 'apps'].flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n)));
let failed = 0;
let n = 0;
for (const dir of dirs) {
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    continue;
  }
  if (pkg.private) continue;
  const tag = `${pkg.name}@${pkg.version}`;
  if (tags.has(tag)) {
    console.log(`release: ${tag} is released already (tag exists), skipped`);
    continue;
  }
  n++;
  console.log(`release: ${real ? 'publishing' : 'dry-run publish of'} ${tag}`);
  const args = ['publish', '--no-git-checks', '--access', 'public', ...(real ? [] : ['--dry-run'])];
  if (pnpm(args, dir) !== 0) failed++;
}
if (real && failed === 0) pnpm(['exec', 'changeset', 'tag']);
console.log(`release: ${n} package(s) ${real ? 'published' : 'checked with a dry run'}, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
