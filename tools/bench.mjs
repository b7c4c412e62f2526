#!/usr/bin/env node
// DOC: the bench runner. Run in a package directory (turbo's `bench` task
// does that): runs every bench/*.bench.ts in its own Node process on the
// package's sources, then writes <repo>/bench-results/<package>.json as
//   { package, node, date, results: [{ name, value, unit, reference?, ratio? }] }
// and prints the merged table. Benchmarks are not run by `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable } from './bench-harness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = process.cwd();
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const benchDir = join(pkgDir, 'bench');
const files = existsSync(benchDir)
  ? readdirSync(benchDir)
      .filter((f) => f.endsWith('.bench.ts'))
      .sort()
  : [];
if (files.length === 0) {
  console.log(`${pkg.name}: no benchmarks`);
  process.exit(0);
}
const only = process.argv.slice(2);
const out = join(tmpdir(), `mm-bench-${process.pid}.jsonl`);
rmSync(out, { force: true });
let failed = 0;
for (const f of files) {
  if (only.length > 0 && !only.some((o) => f.includes(o))) continue;
  const r = spawnSync(
    process.execPath,
    ['--conditions=@mm/source', '--expose-gc', '--import', 'tsx', join(benchDir, f)],
    {
      stdio: 'inherit',
      cwd: pkgDir,
      env: { ...process.env, MM_BENCH_OUT: out },
    },
  );
  if (r.status !== 0) {
    console.error(`bench: ${f} failed (exit ${r.status})`);
    failed++;
  }
}
const results = existsSync(out)
  ? readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(out, { force: true });
const short = pkg.name.replace(/^@[^/]+\//, '');
mkdirSync(join(root, 'bench-results'), { recursive: true });
const report = { package: pkg.name, node: process.version, date: new Date().toISOString(), results };
writeFileSync(join(root, 'bench-results', `${short}.json`), `${JSON.stringify(report, null, 2)}\n`);
printTable(`${pkg.name} (all benchmarks) -> bench-results/${basename(short)}.json`, results);
process.exit(failed > 0 ? 1 : 0);
