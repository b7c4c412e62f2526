// Empty PTE-table reclaim in both modes, with page-table memory before and
// after: upstream (CONFIG_PT_RECLAIM after MADV_DONTNEED of a whole table)
// and seed 002's pte_refcount design (every entry and every visitor holds a
// reference; the last put frees the table), including the helper table's
// failure kinds and a property test of the refcount invariants.
import { MmBugError, NODE_STAT } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  __pteAlloc,
  archDescriptor,
  getAndClearFullPtes,
  MmuGather,
  type PgtableVma,
  PMD_LEVEL,
  PTE_LEVEL,
  PteVal,
  pmdAllocWalk,
  pteAllocGetMapLock,
  ptePut,
  ptePutVmf,
  pteToPmd,
  pteTryGet,
  pteTrygetMapLock,
  pteUnmapUnlock,
  ptValidate,
  setPtes,
  TRYGET_FAILED_HUGE_PMD,
  TRYGET_FAILED_NONE,
  TRYGET_FAILED_ZERO,
  TRYGET_SUCCESSED,
  tlbFinishMmu,
  tlbGatherMmu,
  unmapPageRange,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';
import { TestPages } from './pages.js';

const X86 = archDescriptor('x86_64');
const BASE = 0x7f00_0000_0000;

function vma(_k: TestKernel): PgtableVma {
  return { start: 0, end: 2 ** 47, anonymous: true };
}

/** The refcount-mode fault path: allocate-or-get the table, set the entries, put the reference. */
function faultIn(k: TestKernel, pages: TestPages, addr: number, nr: number): void {
  // The folios first (allocation may sleep), then the table lock.
  const pfns: number[] = [];
  for (let i = 0; i < nr; i++) pfns.push(pages.alloc(0, true));
  const pmdp = pmdAllocWalk(k.mm, addr);
  const ptep = pteAllocGetMapLock(k.mm, pmdp, addr);
  expect(ptep).toBeGreaterThanOrEqual(0);
  const v = new PteVal();
  for (let i = 0; i < nr; i++) {
    k.pt.codec.pfnPte(v, pfns[i]!, k.protOf(true, false));
    setPtes(k.mm, addr + i * 4096, ptep + i, v, 1);
    pages.mapped(pfns[i]!, 1, addr + i * 4096);
  }
  pteUnmapUnlock(k.mm, ptep);
  ptePutVmf(k.mm, pmdp, addr);
}

function zap(k: TestKernel, pages: TestPages, start: number, end: number, reclaimPt: boolean): void {
  const tlb = new MmuGather(k.pt, pages);
  tlbGatherMmu(tlb, k.mm);
  unmapPageRange(tlb, vma(k), start, end, { reclaimPt }, pages);
  tlbFinishMmu(tlb);
}

function pageTablePages(k: TestKernel): number {
  k.machine.mem.refreshVmStats();
  return k.machine.mem.vmstat.globalNodePageState(NODE_STAT.NR_PAGETABLE);
}

describe('page-table memory before and after MADV_DONTNEED of 64 MiB', () => {
  it.each([
    ['off', false],
    ['upstream', true],
    ['refcount', false],
  ] as const)('%s', (mode, reclaimPt) => {
    const k = new TestKernel(X86, { ptReclaim: mode });
    const pages = new TestPages(k.machine, k.mm);
    const pmd = k.pmdSize;
    // 32 PTE tables, every other page touched.
    for (let t = 0; t < 32; t++) {
      for (let i = 0; i < 512; i += 2) {
        if (mode === 'refcount') faultIn(k, pages, BASE + t * pmd + i * 4096, 1);
        else {
          const pfn = pages.alloc(0, true);
          k.map(BASE + t * pmd + i * 4096, 1, pfn, true, false);
          pages.mapped(pfn, 1, BASE + t * pmd + i * 4096);
        }
      }
    }
    const before = { bytes: k.mm.pgtablesBytes, pages: pageTablePages(k) };
    zap(k, pages, BASE, BASE + 32 * pmd, reclaimPt);
    k.machine.rcu.synchronizeRcu();
    k.machine.rcu.rcuBarrier();
    const after = { bytes: k.mm.pgtablesBytes, pages: pageTablePages(k) };
    // 32 PTE tables + 1 PMD + 1 PUD + the PGD.
    expect(before.bytes).toBe(34 * 4096);
    expect(before.pages).toBe(35);
    if (mode === 'off') expect(after).toEqual(before);
    else {
      expect(after.bytes).toBe(2 * 4096);
      expect(after.pages).toBe(3);
    }
    expect(pages.violations).toEqual([]);
    ptValidate(k.pt);
  });
});

describe('upstream reclaim follows 7.2 PT_RECLAIM (RCU table free, no HAVE_ARCH_TLB_REMOVE_TABLE)', () => {
  it.each(['x86', 'arm64-4k-39', 'arm64-64k-42', 'riscv64-sv48', 'ppc64-radix-4k'])('%s', (name) => {
    const d = archDescriptor(name);
    expect(d.ptReclaim).toBe(d.family !== 'powerpc64' && d.family !== 'sparc64');
    if (!d.ptReclaim) {
      expect(() => new TestKernel(d, { ptReclaim: 'upstream' })).toThrow(/PT_RECLAIM/);
      return;
    }
    const k = new TestKernel(d);
    const pages = new TestPages(k.machine, k.mm);
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    for (let i = 0; i < 8; i++) {
      const pfn = pages.alloc(0, true);
      k.map(base + k.pmdSize + i * 2 * k.pageSize, 1, pfn, true, false);
      pages.mapped(pfn, 1, base + k.pmdSize + i * 2 * k.pageSize);
    }
    const tables = k.mm.nrPtes;
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(
      tlb,
      { start: base, end: base + 4 * k.pmdSize, anonymous: true },
      base + k.pmdSize,
      base + 2 * k.pmdSize,
      { reclaimPt: true },
      pages,
    );
    tlbFinishMmu(tlb);
    k.machine.rcu.synchronizeRcu();
    k.machine.rcu.rcuBarrier();
    expect(k.mm.nrPtes).toBe(tables - 1);
    expect(
      k.pt.lookup(k.mm, PMD_LEVEL, base + k.pmdSize) < 0 ||
        k.pt.codec.pmdNone(k.pt.readEntry(PMD_LEVEL, k.pt.lookup(k.mm, PMD_LEVEL, base + k.pmdSize), new PteVal())),
    ).toBe(true);
    expect(pages.violations).toEqual([]);
    ptValidate(k.pt);
  });
});

describe("seed 002's refcount helpers", () => {
  it('pte_try_get failure kinds: none, huge PMD, zero', () => {
    const k = new TestKernel(X86, { ptReclaim: 'refcount' });
    const pmdp = pmdAllocWalk(k.mm, BASE);
    expect(pteTryGet(k.mm, pmdp)).toBe(TRYGET_FAILED_NONE);
    // A table installed without a reference (the non-refcount path) has a zero count.
    expect(__pteAlloc(k.mm, pmdp)).toBe(0);
    expect(pteTryGet(k.mm, pmdp)).toBe(TRYGET_FAILED_ZERO);
    const huge = pmdAllocWalk(k.mm, BASE + 4 * k.pmdSize);
    k.mapHuge(BASE + 4 * k.pmdSize, 512, true, false);
    expect(pteTryGet(k.mm, huge)).toBe(TRYGET_FAILED_HUGE_PMD);
    // A table holding entries: the visitor gets its reference.
    const pages = new TestPages(k.machine, k.mm);
    faultIn(k, pages, BASE + 8 * k.pmdSize, 1);
    const live = k.pt.lookup(k.mm, PMD_LEVEL, BASE + 8 * k.pmdSize);
    expect(pteTryGet(k.mm, live)).toBe(TRYGET_SUCCESSED);
    ptePut(k.mm, live, BASE + 8 * k.pmdSize);
  });

  it('every entry and every visitor holds a reference; the last put frees the table', () => {
    const k = new TestKernel(X86, { ptReclaim: 'refcount' });
    const pages = new TestPages(k.machine, k.mm);
    faultIn(k, pages, BASE, 5);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const ptep = k.pt.lookup(k.mm, PTE_LEVEL, BASE);
    const t = k.pt.tableOfSlot(PTE_LEVEL, ptep);
    const pool = k.pt.pools[PTE_LEVEL]!;
    expect(pool.refcount[t]).toBe(5);
    expect(pteToPmd(k.mm, ptep)).toBe(pmdp);
    ptValidate(k.pt);
    // A visitor: the count includes it, validation knows about it.
    const p = pteTrygetMapLock(k.mm, pmdp, BASE);
    expect(pool.refcount[t]).toBe(6);
    ptValidate(k.pt, { allowHeldLocks: true });
    // Clear every entry while holding the reference: the count drops to the visitor's.
    getAndClearFullPtes(k.mm, BASE, ptep, 5, false, new PteVal());
    expect(pool.refcount[t]).toBe(1);
    pteUnmapUnlock(k.mm, p);
    k.machine.mmu.flushTlbMm(k.mm.as);
    ptePut(k.mm, pmdp, BASE);
    expect(k.pt.codec.pmdNone(k.pt.readEntry(PMD_LEVEL, pmdp, new PteVal()))).toBe(true);
    expect(k.mm.nrPtes).toBe(0);
    k.machine.rcu.synchronizeRcu();
    k.machine.rcu.rcuBarrier();
    expect(k.pt.tableLive(PTE_LEVEL, t)).toBe(false);
  });

  it('clearing the last entry without a reference is a bug', () => {
    const k = new TestKernel(X86, { ptReclaim: 'refcount' });
    const pages = new TestPages(k.machine, k.mm);
    faultIn(k, pages, BASE, 1);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const p = k.pt.lookup(k.mm, PTE_LEVEL, BASE);
    k.pt.pteLock(k.mm, k.pt.tableOfSlot(PTE_LEVEL, p));
    expect(() => getAndClearFullPtes(k.mm, BASE, p, 1, false, new PteVal())).toThrow(MmBugError);
    void pmdp;
  });
});

describe('refcount mode property', () => {
  it('random fault-in and zap keep pte_refcount = entries + visitors, and empty tables always go', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('fault' as const),
              page: fc.nat(4 * 512 - 1),
              nr: fc.integer({ min: 1, max: 16 }),
            }),
            fc.record({
              op: fc.constant('zap' as const),
              page: fc.nat(4 * 512 - 1),
              nr: fc.integer({ min: 1, max: 700 }),
            }),
          ),
          { maxLength: 25 },
        ),
        (ops) => {
          const k = new TestKernel(X86, { ptReclaim: 'refcount' });
          const pages = new TestPages(k.machine, k.mm);
          for (const o of ops) {
            const start = BASE + o.page * 4096;
            if (o.op === 'fault') {
              // Stay inside one table and on empty entries (the set_ptes contract).
              const nr = Math.min(o.nr, 512 - (o.page % 512));
              let empty = true;
              for (let i = 0; i < nr; i++) if (k.oracle.has(start / 4096 + i)) empty = false;
              if (!empty) continue;
              faultIn(k, pages, start, nr);
              for (let i = 0; i < nr; i++) k.oracle.set(start / 4096 + i, { pfn: 0, write: true, exec: false });
            } else {
              const end = Math.min(start + o.nr * 4096, BASE + 4 * k.pmdSize);
              zap(k, pages, start, end, false);
              for (let v = start / 4096; v < end / 4096; v++) k.oracle.delete(v);
            }
            ptValidate(k.pt);
            // A table exists exactly for the PMDs with a mapped page.
            const used = new Set(Array.from(k.oracle.keys()).map((v) => Math.floor(v / 512)));
            expect(k.mm.nrPtes).toBe(used.size);
            expect(pages.violations).toEqual([]);
          }
        },
      ),
      { numRuns: fuzzRuns(15) },
    );
  });
});
