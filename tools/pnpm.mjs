#!/usr/bin/env node
// DOC: bootstrap pnpm on a machine that has only Node and npm.
//
// Corepack cannot install pnpm here (its signature check fails against the
// registry these machines reach), so we install the pinned pnpm with npm into
// .tools/pnpm (git-ignored), put a `pnpm` shim on PATH for every child process
// (turbo runs package scripts through the package manager it finds on PATH),
// and run pnpm with the arguments given.
//
// Usage: node tools/pnpm.mjs <pnpm arguments...>
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const match = /^pnpm@(\d+\.\d+\.\d+)$/.exec(rootPkg.packageManager ?? '');
if (!match) {
  console.error('tools/pnpm.mjs: package.json "packageManager" must be "pnpm@X.Y.Z"');
  process.exit(1);
}
const version = match[1];
const prefix = join(root, '.tools', `pnpm-${version}`);
const entry = join(prefix, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
const binDir = join(prefix, 'bin');

if (!existsSync(entry)) {
  mkdirSync(prefix, { recursive: true });
  console.error(`tools/pnpm.mjs: installing pnpm ${version} into .tools/ (once)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(
    npm,
    ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `pnpm@${version}`],
    { stdio: 'inherit', cwd: root },
  );
  if (r.status !== 0 || !existsSync(entry)) {
    console.error('tools/pnpm.mjs: npm could not install pnpm');
    process.exit(r.status || 1);
  }
}
if (!existsSync(join(binDir, 'pnpm'))) {
  mkdirSync(binDir, { recursive: true });
  const shim = `#!/bin/sh\nexec "${process.execPath}" "${entry}" "$@"\n`;
  writeFileSync(join(binDir, 'pnpm'), shim);
  chmodSync(join(binDir, 'pnpm'), 0o755);
}

const env = {
  ...process.env,
  PATH: `${binDir}${process.platform === 'win32' ? ';' : ':'}${process.env.PATH ?? ''}`,
  // pnpm must not try to fetch another pnpm for the packageManager field.
  COREPACK_ENABLE_STRICT: '0',
  npm_config_manage_package_manager_versions: 'false',
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
};
const r = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit', env, cwd: process.cwd() });
process.exit(r.status ?? 1);
