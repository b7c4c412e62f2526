// folio_pte_batch_flags(): the raw-word comparison with the codec's keep
// masks gives exactly the kernel's definition (clear the ignored bits with
// the pte_mk* helpers, compare with pte_same, advance the expected PFN), on
// random tables of every architecture and for every flag combination.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  FPB_MERGE_WRITE,
  FPB_MERGE_YOUNG_DIRTY,
  folioPteBatchFlags,
  PMD_LEVEL,
  PteVal,
  pteOffsetMapLock,
  ptepGet,
  ptepGetAndClear,
  pteUnmapUnlock,
  setPteAt,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';

const RUNS = fuzzRuns(40);
const DESCS = Object.values(ARCH_DESCRIPTORS);

/** Perturbations of one entry of a folio run. */
const MUT = ['none', 'dirty', 'young', 'softdirty', 'wrprotect', 'uffdwp', 'skip', 'clear', 'exec'] as const;

describe('the batch keep masks equal pte_batch_clear_ignored', () => {
  for (const d of DESCS) {
    it(d.name, () => {
      const codec = d.codec();
      const masks = codec.batchKeepMasks();
      fc.assert(
        fc.property(fc.integer(), fc.integer(), fc.integer({ min: 0, max: 7 }), (lo, hi, flags) => {
          // Where the codec calls the clearing a fixed mask, it keeps exactly
          // the mask's bits of any value and fixes the others.
          if (masks[3 * flags + 2] === 0) return;
          const a = new PteVal(lo, hi);
          const b = a.clone();
          codec.pteBatchClearIgnored(b, flags);
          const z = new PteVal();
          codec.pteBatchClearIgnored(z, flags);
          expect(b.lo).toBe((a.lo & masks[3 * flags]!) | (z.lo & ~masks[3 * flags]!) | 0);
          expect(b.hi).toBe((a.hi & masks[3 * flags + 1]!) | (z.hi & ~masks[3 * flags + 1]!) | 0);
        }),
        { numRuns: RUNS * 10 },
      );
      // The flags the kernel's callers pass without FPB_RESPECT_DIRTY are fixed masks (the fast path).
      for (const f of [0, 2 | 4, 4]) expect(masks[3 * f + 2]).toBe(1);
    });
  }
});

describe('folioPteBatchFlags against the kernel definition', () => {
  for (const d of DESCS.filter((x) => x.machineArch !== null)) {
    it(d.name, () => {
      const k = new TestKernel(d, {}, 2);
      const { pt, mm } = k;
      const codec = pt.codec;
      const base = 0x4000_0000;
      const n = Math.min(64, d.levels[0].ptrs);
      fc.assert(
        fc.property(
          fc.integer({ min: 16, max: 1 << 20 }),
          fc.boolean(),
          fc.array(fc.tuple(fc.integer({ min: 1, max: n - 1 }), fc.constantFrom(...MUT)), { maxLength: 6 }),
          fc.integer({ min: 0, max: 31 }),
          fc.integer({ min: 1, max: n }),
          (pfn, write, muts, flags, max) => {
            k.map(base, n, pfn, write, false);
            const pmdp = pt.lookup(mm, PMD_LEVEL, base);
            const ptep = pteOffsetMapLock(mm, pmdp, base);
            const v = new PteVal();
            for (const [i, m] of muts) {
              const a = base + i * pt.pageSize;
              ptepGetAndClear(mm, a, ptep + i, v);
              if (codec.pteNone(v) || m === 'clear') continue;
              if (m === 'dirty') codec.pteMkdirty(v);
              else if (m === 'young') codec.pteMkyoung(v);
              else if (m === 'softdirty') codec.pteMksoftDirty(v);
              else if (m === 'wrprotect') codec.pteWrprotect(v);
              else if (m === 'uffdwp') codec.pteMkuffdWp(v);
              else if (m === 'skip') codec.pteAdvancePfn(v, 1);
              else if (m === 'exec') {
                codec.pteModify(v, k.protOf(write, true));
              }
              setPteAt(mm, a, ptep + i, v);
            }
            // The reference: the kernel's loop, entry by entry.
            const first = ptepGet(mm, ptep, new PteVal());
            const exp = first.clone();
            codec.pteAdvancePfn(exp, 1);
            codec.pteBatchClearIgnored(exp, flags);
            let want = 1;
            let anyW = false;
            let anyY = false;
            let anyD = false;
            const e = new PteVal();
            for (; want < max; want++) {
              ptepGet(mm, ptep + want, e);
              const c = e.clone();
              codec.pteBatchClearIgnored(c, flags);
              if (!c.same(exp)) break;
              anyW ||= codec.pteWrite(e);
              anyY ||= codec.pteYoung(e);
              anyD ||= codec.pteDirty(e);
              codec.pteAdvancePfn(exp, 1);
            }
            const wantFirst = first.clone();
            if ((flags & FPB_MERGE_WRITE) !== 0 && anyW) codec.pteMkwrite(wantFirst);
            if ((flags & FPB_MERGE_YOUNG_DIRTY) !== 0 && anyY) codec.pteMkyoung(wantFirst);
            if ((flags & FPB_MERGE_YOUNG_DIRTY) !== 0 && anyD) codec.pteMkdirty(wantFirst);
            const got = first.clone();
            const nr = codec.ptePresent(first) ? folioPteBatchFlags(mm, ptep, got, max, flags) : want;
            pteUnmapUnlock(mm, ptep);
            k.unmap(base, n);
            if (!codec.ptePresent(first)) return;
            expect(nr).toBe(want);
            expect(got.toHex()).toBe(wantFirst.toHex());
          },
        ),
        { numRuns: RUNS },
      );
    });
  }
});
