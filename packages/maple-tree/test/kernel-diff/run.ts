/**
 * DOC: differential run against the kernel's lib/maple_tree.c.
 *
 *   kernel-diff/build.sh                      # once: builds kernel-diff/.build/kdiff
 *   node --conditions=@mm/source --import tsx test/kernel-diff/run.ts [options]
 *
 * Generates scripts (ops.ts), runs each through the kernel driver and through
 * this package, and compares the answers line by line: API answers must be
 * identical; shape answers (after ` | `: height, node count, store type, nodes
 * requested) are counted and the first differences shown. Options:
 *   --seeds N      scripts per profile (default 4)    --ops N   operations per script (default 4000)
 *   --seed S       first seed (default 1)
 *   --record DIR   write each script with the kernel's answers to DIR/<name>.txt (the test fixtures)
 *   --show N       differences to print per script (default 5)
 *   --shape        print shape differences too (by default only API differences are printed)
 *   --only NAME    run only the script called NAME (e.g. p0-f1-s1)
 *   --big          tall trees instead: fills of 30,000 ranges (height 4-5) on
 *                  allocation, RCU and plain trees
 * Exit status 1 when any API answer differs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateScript, runScript, type ScriptProfile } from './ops.js';

const here = dirname(fileURLToPath(import.meta.url));
const kdiff = process.env.MM_KDIFF ?? join(here, '../../kernel-diff/.build/kdiff');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
}
const seeds = arg('--seeds', 4);
const ops = arg('--ops', 4000);
const seed0 = arg('--seed', 1);
const show = arg('--show', 5);
const cyclic = true; // mtree_alloc_cyclic is in every script
const showShape = process.argv.includes('--shape');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt < 0 ? null : (process.argv[onlyAt + 1] ?? null);
const recordAt = process.argv.indexOf('--record');
const recordDir = recordAt < 0 ? null : (process.argv[recordAt + 1] ?? null);

/** Profiles: small and large index spaces, both node types, RCU mode, deep trees. */
const bigProfiles: Omit<ScriptProfile, 'seed' | 'ops'>[] = [
  { flags: 1, space: 400000, fill: 30000 },
  { flags: 3, space: 400000, fill: 30000 },
  { flags: 0, space: 400000, fill: 30000 },
];
const profiles: Omit<ScriptProfile, 'seed' | 'ops'>[] = process.argv.includes('--big')
  ? bigProfiles
  : [
      { flags: 1, space: 200, fill: 0 },
      { flags: 1, space: 5000, fill: 600 },
      { flags: 0, space: 3000, fill: 400 },
      { flags: 3, space: 3000, fill: 300 },
      { flags: 1, space: 40000, fill: 3000 },
      // Tiny index spaces: the tree is often empty, a direct root entry or one leaf.
      { flags: 1, space: 6, fill: 0 },
      { flags: 2, space: 40, fill: 0 },
    ];

export function splitAnswer(line: string): [string, string] {
  const bar = line.indexOf('|');
  return bar < 0 ? [line.trim(), ''] : [line.slice(0, bar).trim(), line.slice(bar + 1).trim()];
}

let apiDiffs = 0;
let shapeDiffs = 0;
let shapeTotal = 0;
let answers = 0;
for (const [pi, prof] of profiles.entries()) {
  for (let s = 0; s < seeds; s++) {
    const p: ScriptProfile = { ...prof, seed: seed0 + s * 7919 + pi * 104729, ops, cyclic };
    const name = `p${pi}-f${p.flags}-s${p.seed}`;
    if (only !== null && name !== only) continue;
    const script = generateScript(p);
    const res = spawnSync(kdiff, { input: `${script.join('\n')}\n`, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (res.status !== 0) {
      console.error(`${name}: kernel driver failed (${res.status}): ${res.stderr.slice(0, 2000)}`);
      process.exit(2);
    }
    const kernel = res.stdout.trimEnd().split('\n');
    let ours: string[];
    try {
      ours = runScript(script);
    } catch (err) {
      console.error(`${name}: threw ${(err as Error).stack ?? String(err)}`);
      apiDiffs++;
      continue;
    }
    const opLines = script.filter((l) => l.trim() !== '' && !l.startsWith('#'));
    let shown = 0;
    let api = 0;
    let shape = 0;
    for (let i = 0; i < opLines.length; i++) {
      const [ka, ks] = splitAnswer(kernel[i] ?? '<none>');
      const [oa, os] = splitAnswer(ours[i] ?? '<none>');
      answers++;
      if (ks !== '' || os !== '') shapeTotal++;
      if (ka !== oa) {
        api++;
        if (shown++ < show)
          console.log(`${name} op ${i + 1}: ${opLines[i]}\n   kernel: ${kernel[i]}\n   ours:   ${ours[i]}`);
      } else if (ks !== os) {
        shape++;
        if (showShape && shown++ < show)
          console.log(`${name} op ${i + 1} (shape): ${opLines[i]}\n   kernel: ${kernel[i]}\n   ours:   ${ours[i]}`);
      }
    }
    apiDiffs += api;
    shapeDiffs += shape;
    console.log(`${name}: ${opLines.length} ops, ${api} API differences, ${shape} shape differences`);
    if (recordDir !== null) {
      mkdirSync(recordDir, { recursive: true });
      const body = opLines.map((l, i) => `${l} => ${kernel[i]}`).join('\n');
      writeFileSync(
        join(recordDir, `${name}.txt`),
        `# kernel answers: lib/maple_tree.c (Linux 7.2) via kernel-diff/kdiff.c\n${body}\n`,
      );
    }
  }
}
console.log(
  `kernel-diff: ${answers} answers, ${apiDiffs} API differences, shape ${shapeTotal - shapeDiffs}/${shapeTotal} identical`,
);
process.exit(apiDiffs === 0 ? 0 : 1);
