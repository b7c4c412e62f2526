// walk_page_range() and apply_to_page_range() against a naive map, per
// architecture: the PTEs a walk reports are exactly the oracle's pages inside
// the walked VMAs, PTE visits, holes and skipped VMAs tile the range in order
// with holes aligned to their depth, PMD leaves are split only when PTEs are
// asked for, ACTION_CONTINUE skips subtrees, errors stop the walk; the PTE
// installer allocates every level (walk_page_range refuses it); hugetlb VMAs
// report their huge entries; apply_to_page_range creates what is missing and
// apply_to_existing_page_range visits only non-empty PTEs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTION_CONTINUE,
  ARCH_DESCRIPTORS,
  type ArchDescriptor,
  applyToExistingPageRange,
  applyToPageRange,
  type MmWalkOps,
  PGD_LEVEL,
  PMD_LEVEL,
  PteVal,
  pmdpGet,
  ptepGet,
  ptValidate,
  setPteAt,
  type WalkVma,
  walkKernelPageTableRange,
  walkPageRange,
  walkPageRangeMmUnsafe,
  walkPageVma,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';

const RUNS = fuzzRuns(10);
const DESCS = Object.values(ARCH_DESCRIPTORS).filter((d) => d.machineArch !== null);

/** A finder over a sorted VMA list (`find_vma()`). */
function finder(vmas: WalkVma[]): (addr: number) => WalkVma | null {
  return (addr) => vmas.find((v) => v.end > addr) ?? null;
}

/** Bytes a hole of `depth` is aligned to (0 = PGD .. 3 = PMD). */
function depthSize(k: TestKernel, depth: number): number {
  return k.pt.levelSize(PGD_LEVEL - depth);
}

describe.each(DESCS.map((d) => [d.name, d] as const))('%s: walk_page_range', (_n, d: ArchDescriptor) => {
  it('visits exactly the mapped PTEs of walked VMAs; visits and holes tile the range', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            page: fc.integer({ min: 0, max: 4095 }),
            nr: fc.integer({ min: 1, max: 300 }),
            huge: fc.boolean(),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.integer({ min: 0, max: 4096 }), { minLength: 2, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        (maps, cuts, skipOdd, continueLeaves) => {
          const k = new TestKernel(d, {}, 2);
          const ps = k.pageSize;
          const pmdPages = k.pmdSize / ps;
          const span = Math.min(4096, 8 * pmdPages);
          const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
          for (const m of maps) {
            const p = m.page % span;
            if (m.huge && (d.leafLevels & 2) !== 0 && span >= 2 * pmdPages) {
              const a = base + Math.floor(p / pmdPages) * k.pmdSize;
              k.unmap(a, pmdPages);
              k.mapHuge(a, pmdPages * 3, true, false);
            } else k.map(base + p * ps, Math.min(m.nr, span - p), 1000 + p, true, false);
          }
          // VMAs between sorted cut points; every other gap is left outside any VMA.
          const pts = [...new Set(cuts.map((c) => c % (span + 1)))].sort((a, b) => a - b);
          const vmas: WalkVma[] = [];
          for (let i = 0; i + 1 < pts.length; i += 2) {
            if (pts[i] === pts[i + 1]) continue;
            vmas.push({ start: base + pts[i]! * ps, end: base + pts[i + 1]! * ps, anonymous: true });
          }
          const start = base;
          const end = base + span * ps;
          const seen: { a: number; e: number; kind: string }[] = [];
          const ptes = new Map<number, number>();
          const v = new PteVal();
          const ops: MmWalkOps<null> = {
            pteEntry(slot, addr, next, walk) {
              expect(walk.vma).not.toBeNull();
              seen.push({ a: addr, e: next, kind: 'pte' });
              const e = ptepGet(walk.mm, slot, v);
              if (!k.pt.codec.pteNone(e)) ptes.set(addr / ps, k.pt.codec.ptePfn(e));
              return 0;
            },
            pmdEntry(slot, addr, next, walk) {
              const pmd = pmdpGet(walk.mm, slot, v);
              if (continueLeaves && k.pt.codec.pmdLeaf(pmd)) {
                walk.action = ACTION_CONTINUE;
                seen.push({ a: addr, e: next, kind: 'leaf' });
                const hvpn = Math.floor(addr / k.pmdSize) * pmdPages;
                for (let vpn = addr / ps; vpn < next / ps; vpn++) ptes.set(vpn, k.pt.codec.pmdPfn(pmd) + vpn - hvpn);
              }
              return 0;
            },
            pteHole(addr, next, depth, walk) {
              seen.push({ a: addr, e: next, kind: `hole${depth}` });
              if (depth >= 0) {
                const sz = depthSize(k, depth);
                // A hole at a real depth covers whole entries of that level, clipped to the VMA.
                const lo = Math.max(start, walk.vma!.start);
                const hi = Math.min(end, walk.vma!.end);
                expect(addr === lo || addr % sz === 0).toBe(true);
                expect(next === hi || next % sz === 0).toBe(true);
              }
              return 0;
            },
            testWalk(addr, next, walk) {
              const skip = skipOdd && vmas.indexOf(walk.vma!) % 2 === 1;
              if (skip) seen.push({ a: addr, e: next, kind: 'skip' });
              return skip ? 1 : 0;
            },
          };
          expect(walkPageRange(k.mm, start, end, ops, null, finder(vmas))).toBe(0);
          // Tiling: consecutive, no gap, no overlap.
          let at = start;
          for (const s of seen) {
            expect(s.a, `${s.kind} at 0x${s.a.toString(16)}`).toBe(at);
            expect(s.e).toBeGreaterThan(s.a);
            at = s.e;
          }
          expect(at).toBe(end);
          // Exactly the oracle's pages inside walked VMAs.
          const want = new Map<number, number>();
          vmas.forEach((vma, i) => {
            if (skipOdd && i % 2 === 1) return;
            for (let vpn = vma.start / ps; vpn < vma.end / ps; vpn++) {
              const o = k.oracle.get(vpn);
              if (o !== undefined) want.set(vpn, o.pfn);
            }
          });
          const got = new Map([...ptes].filter(([vpn]) => want.has(vpn) || !continueLeaves));
          expect(new Map([...got].filter(([vpn]) => want.has(vpn)))).toEqual(want);
          if (!continueLeaves) expect(got).toEqual(want);
          ptValidate(k.pt);
          expect(k.machine.warnings).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('apply_to_page_range creates every level; apply_to_existing_page_range visits non-empty PTEs only', () => {
    const k = new TestKernel(d, {}, 2);
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 3) / k.pmdSize) * k.pmdSize + 5 * ps;
    const nr = k.pmdSize / ps + 7;
    const v = new PteVal();
    const prot = k.protOf(true, false);
    let calls = 0;
    const r = applyToPageRange(
      k.mm,
      base,
      nr * ps,
      (ptep, addr, data: { pfn: number }) => {
        calls++;
        if ((addr / ps) % 3 === 0) {
          k.pt.codec.pfnPte(v, data.pfn + addr / ps - base / ps, prot);
          setPteAt(k.mm, addr, ptep, v);
        }
        return 0;
      },
      { pfn: 4000 },
    );
    expect(r).toBe(0);
    expect(calls).toBe(nr);
    const seen: number[] = [];
    expect(
      applyToExistingPageRange(
        k.mm,
        base - 5 * ps,
        (nr + 20) * ps,
        (ptep, addr) => {
          expect(k.pt.codec.ptePfn(ptepGet(k.mm, ptep, v))).toBe(4000 + addr / ps - base / ps);
          seen.push(addr / ps);
          return 0;
        },
        null,
      ),
    ).toBe(0);
    const want: number[] = [];
    for (let i = 0; i < nr; i++) if ((base / ps + i) % 3 === 0) want.push(base / ps + i);
    expect(seen).toEqual(want);
    // A callback's error stops the walk and is returned.
    let n = 0;
    expect(applyToExistingPageRange(k.mm, base, nr * ps, () => (++n === 3 ? -5 : 0), null)).toBe(-5);
    expect(n).toBe(3);
    ptValidate(k.pt);
  });

  it('install_pte allocates every level and fills the holes; walk_page_range refuses it', () => {
    const k = new TestKernel(d, {}, 2);
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize + k.pmdSize - 3 * ps;
    const vma: WalkVma = { start: base, end: base + 10 * ps, anonymous: true };
    k.map(base + 4 * ps, 1, 77, true, false);
    const prot = k.protOf(false, false);
    const ops: MmWalkOps<null> = {
      installPte(addr, _next, out) {
        k.pt.codec.pfnPte(out, 100 + (addr - base) / ps, prot);
        return 0;
      },
    };
    expect(walkPageRange(k.mm, vma.start, vma.end, ops, null, () => vma)).toBeLessThan(0);
    expect(walkPageRangeMmUnsafe(k.mm, vma.start, vma.end, ops, null, () => vma)).toBe(0);
    const pfns: number[] = [];
    walkPageVma(
      k.mm,
      vma,
      {
        pteEntry(s, _a, _n, w) {
          pfns.push(k.pt.codec.ptePfn(ptepGet(w.mm, s, new PteVal())));
          return 0;
        },
      },
      null,
    );
    expect(pfns).toEqual([100, 101, 102, 103, 77, 105, 106, 107, 108, 109]);
    ptValidate(k.pt);
  });

  it('hugetlb VMAs report their huge entries, holes with depth -1', () => {
    if ((d.leafLevels & 2) === 0) return;
    const k = new TestKernel(d, {}, 2);
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    k.mapHuge(base + k.pmdSize, 0, true, false);
    const vma: WalkVma = {
      start: base,
      end: base + 3 * k.pmdSize,
      anonymous: false,
      hugetlb: true,
      hugetlbShift: k.pt.shift[PMD_LEVEL]!,
    };
    const got: string[] = [];
    const v = new PteVal();
    walkPageVma(
      k.mm,
      vma,
      {
        hugetlbEntry(slot, hmask, addr, next, w) {
          expect(hmask).toBe(-k.pmdSize);
          const pmd = pmdpGet(w.mm, slot, v);
          got.push(
            `${(addr - base) / k.pmdSize}-${(next - base) / k.pmdSize}:${k.pt.codec.pmdNone(pmd) ? 'none' : 'leaf'}`,
          );
          return 0;
        },
        pteHole(addr, next, depth) {
          got.push(`hole ${(addr - base) / k.pmdSize}-${(next - base) / k.pmdSize} ${depth}`);
          return 0;
        },
      },
      null,
    );
    // The PMD table exists (the leaf's), so all three entries are seen.
    expect(got).toEqual(['0-1:none', '1-2:leaf', '2-3:none']);
  });

  it('kernel walks take no PTE locks and never split leaves', () => {
    const k = new TestKernel(d, {}, 2);
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    k.map(base, 3, 10, true, false);
    const leaf = (d.leafLevels & 2) !== 0 && k.mapHuge(base + k.pmdSize, 0, true, false);
    const addrs: number[] = [];
    walkKernelPageTableRange(
      k.mm,
      base,
      base + 2 * k.pmdSize,
      {
        pteEntry(slot, addr, _next, w) {
          expect(k.pt.pteLocked(w.mm, k.pt.tableOfSlot(0, slot))).toBe(false);
          if (!k.pt.codec.pteNone(ptepGet(w.mm, slot, new PteVal()))) addrs.push((addr - base) / ps);
          return 0;
        },
      },
      null,
    );
    expect(addrs).toEqual([0, 1, 2]);
    if (leaf) expect(k.huge.has((base + k.pmdSize) / ps)).toBe(true);
    if (leaf)
      expect(k.pt.codec.pmdLeaf(pmdpGet(k.mm, k.pt.lookup(k.mm, PMD_LEVEL, base + k.pmdSize), new PteVal()))).toBe(
        true,
      );
  });
});
