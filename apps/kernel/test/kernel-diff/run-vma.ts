/**
 * DOC: differential run against the kernel's mm/vma.c.
 *
 *   MM_KERNEL_SRC=/path/to/linux bash kernel-diff/build.sh   # once: builds kernel-diff/.build/vdiff
 *   node --conditions=@mm/source --import tsx test/kernel-diff/run-vma.ts [options]
 *
 * Generates scripts (vma-ops.ts), runs each through the kernel driver and
 * through this package, and compares the answers line by line; every answer
 * (result and the whole address space after the operation) must be
 * identical. Options:
 *   --seeds N      scripts per profile (default 4)    --ops N   operations per script (default 3000)
 *   --seed S       first seed (default 1)
 *   --record DIR   write each script with the kernel's answers to DIR/<name>.txt (the test fixtures)
 *   --show N       differences to print per script (default 5)
 *   --only NAME    run only the script called NAME
 * Exit status 1 when any answer differs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactAnswers, generateVmaScript, runVmaScript, type VmaScriptProfile } from './vma-ops.js';

const here = dirname(fileURLToPath(import.meta.url));
const vdiff = process.env.MM_VDIFF ?? join(here, '../../kernel-diff/.build/vdiff');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
}
const seeds = arg('--seeds', 4);
const ops = arg('--ops', 3000);
const seed0 = arg('--seed', 1);
const show = arg('--show', 5);
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? null : (process.argv[onlyAt + 1] ?? null);
const recordAt = process.argv.indexOf('--record');
const recordDir = recordAt < 0 ? null : (process.argv[recordAt + 1] ?? null);

/** Small and large address spaces, with and without files, at the map-count limit. */
const profiles: Omit<VmaScriptProfile, 'seed' | 'ops'>[] = [
  { space: 64, maxMap: 0, files: false },
  { space: 256, maxMap: 0, files: true },
  { space: 96, maxMap: 24, files: true },
  { space: 2048, maxMap: 0, files: true },
  { space: 32, maxMap: 10, files: false },
];

let diffs = 0;
let answers = 0;
for (const [pi, prof] of profiles.entries()) {
  for (let s = 0; s < seeds; s++) {
    const p: VmaScriptProfile = { ...prof, seed: seed0 + s * 7919 + pi * 104729, ops };
    const name = `v${pi}-s${p.seed}`;
    if (only !== null && name !== only) continue;
    const script = generateVmaScript(p);
    const res = spawnSync(vdiff, {
      input: `${script.join('\n')}\n`,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
      // the harness stubs free_pgtables(), so unmapped VMAs keep their anon_vma chains
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' },
    });
    if (res.status !== 0) {
      console.error(`${name}: kernel driver failed (${res.status}): ${res.stderr.slice(0, 2000)}`);
      process.exit(2);
    }
    if (res.stderr.trim() !== '') console.error(`${name}: kernel driver stderr: ${res.stderr.slice(0, 2000)}`);
    const kernel = res.stdout.trimEnd().split('\n');
    let ours: string[];
    try {
      ours = runVmaScript(script);
    } catch (err) {
      console.error(`${name}: threw ${(err as Error).stack ?? String(err)}`);
      diffs++;
      continue;
    }
    let shown = 0;
    let d = 0;
    for (let i = 0; i < script.length; i++) {
      answers++;
      if (kernel[i] !== ours[i]) {
        d++;
        if (shown++ < show)
          console.log(`${name} op ${i + 1}: ${script[i]}\n   kernel: ${kernel[i]}\n   ours:   ${ours[i]}`);
      }
    }
    diffs += d;
    console.log(`${name}: ${script.length} ops, ${d} differences`);
    if (recordDir !== null) {
      mkdirSync(recordDir, { recursive: true });
      const compact = compactAnswers(kernel);
      const body = script.map((l, i) => `${l} => ${compact[i]}`).join('\n');
      writeFileSync(
        join(recordDir, `${name}.txt`),
        `# kernel answers: mm/vma.c (Linux 7.2) via kernel-diff/vdiff.c\n${body}\n`,
      );
    }
  }
}
console.log(`vma kernel-diff: ${answers} answers, ${diffs} differences`);
process.exit(diffs === 0 ? 0 : 1);
