/**
 * Answers of the kernel's own mm/vma.c (Linux 7.2, tools/testing/vma
 * harness), recorded by test/kernel-diff/run-vma.ts --record through
 * kernel-diff/vdiff.c, replayed through this package's VMA layer operation
 * by operation: every result (merged range and state, errno, returned VMA)
 * and the whole address space after it (map_count, VM counters, each VMA's
 * range, pgoff, flags, anon_vma, chain length, file, close hook) must be
 * identical.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compactAnswers, runVmaScript } from './kernel-diff/vma-ops.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'kernel-diff/vma-fixtures');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.txt'));

describe('mm/vma.c differential fixtures (Linux 7.2)', () => {
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
      const ours = compactAnswers(runVmaScript(ops));
      expect(ours.length).toBe(kernel.length);
      const diffs: string[] = [];
      for (let i = 0; i < ops.length; i++) {
        if (ours[i] !== kernel[i] && diffs.length < 5)
          diffs.push(`op ${i + 1} '${ops[i]}':\n  kernel '${kernel[i]}'\n  ours   '${ours[i]}'`);
      }
      expect(diffs).toEqual([]);
    });
  }
});
