/**
 * Answers of the kernel's own lib/maple_tree.c (Linux 7.2), recorded by
 * test/kernel-diff/run.ts --record through kernel-diff/kdiff.c, replayed
 * through this package operation by operation: every API answer (return
 * values, entries, the ranges and status a maple state is left with, gap
 * search results, errnos) must be identical. Shape answers (height, node
 * count, store type, nodes preallocated) are counted, not asserted: the
 * tree's node layout is allowed to differ from the kernel's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './kernel-diff/ops.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'kernel-diff/fixtures');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.txt'));

function api(answer: string): string {
  const bar = answer.indexOf('|');
  return (bar < 0 ? answer : answer.slice(0, bar)).trim();
}

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
        if (api(ours[i] ?? '') !== api(kernel[i] ?? '') && diffs.length < 5)
          diffs.push(`op ${i + 1} '${ops[i]}': kernel '${kernel[i]}', ours '${ours[i]}'`);
      }
      expect(diffs).toEqual([]);
    });
  }
});
