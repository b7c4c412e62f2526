/**
 * Answers of the kernel's own page-table encoders (Linux 7.2 headers:
 * x86-64, and arm64 with 4K, 16K and 64K granules), recorded by
 * kernel-diff/build.sh through kernel-diff/kdiff.c, replayed through this
 * package's codecs and swap helpers answer by answer: PTE/PMD/PUD accessors
 * and modifiers on random raw values, pfn_pte()/pfn_pmd()/pfn_pud(),
 * pte_modify(), vm_get_page_prot(), swap entries and their flags, migration,
 * device and hwpoison entries, PTE markers, and the swap-type constants.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIGS, parseFixture, Replayer } from './kernel-diff/replay.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'kernel-diff/fixtures');

describe('kernel differential fixtures (Linux 7.2 page-table encoders)', () => {
  for (const cfg of CONFIGS) {
    it(`${cfg.fixture} (${cfg.desc.name})`, () => {
      const cases = parseFixture(readFileSync(join(dir, cfg.fixture), 'utf8'));
      expect(cases.length).toBeGreaterThan(2000);
      const r = new Replayer(cfg.desc);
      const diffs: string[] = [];
      const byFn = new Map<string, number>();
      for (const [name, args, kernel] of cases) {
        const ours = r.answer(name, args);
        if (ours !== kernel) {
          byFn.set(name, (byFn.get(name) ?? 0) + 1);
          if (diffs.length < 12) diffs.push(`${name} ${args.join(' ')}: kernel ${kernel}, ours ${ours}`);
        }
      }
      expect({ differing: Object.fromEntries(byFn), first: diffs }).toEqual({ differing: {}, first: [] });
    });
  }
});
