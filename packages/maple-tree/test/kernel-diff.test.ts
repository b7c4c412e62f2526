/**
 * Answers of the kernel's own lib/maple_tree.c (Linux 7.2), recorded by
 * test/kernel-diff/run.ts --record through kernel-diff/kdiff.c, replayed
 * through this package operation by operation: every API answer (return
 * values, entries, the ranges and status a maple state is left with, gap
 * search results, errnos) must be identical, and so must every shape answer
 * (height, node count, store type, nodes preallocated): the write path builds
 * the kernel's node layout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './kernel-diff/ops.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'kernel-diff/fixtures');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.txt'));

describe('kernel differential fixtures (lib/maple_tree.c, Linux 7.2)', () => {
  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(5);
  });
  for (const name of fixtures) {
    it(name, () => {
      const lines = readFileSync(join(dir, name), 'utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'));
      const ops = lines.map((l) => l.slice(0, l.indexOf(' => ')));
      const kernel = lines.map((l) => l.slice(l.indexOf(' => ') + 4));
      const ours = runScript(ops);
      expect(ours.length).toBe(kernel.length);
      const diffs: string[] = [];
      for (let i = 0; i < ops.length; i++) {
        if ((ours[i] ?? '').trim() !== (kernel[i] ?? '').trim() && diffs.length < 5)
          diffs.push(`op ${i + 1} '${ops[i]}': kernel '${kernel[i]}', ours '${ours[i]}'`);
      }
      expect(diffs).toEqual([]);
    });
  }
});
