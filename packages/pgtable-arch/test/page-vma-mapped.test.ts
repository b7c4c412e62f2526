// page_vma_mapped_walk() and the rmap operations at its position: the walk
// reports exactly the entries mapping the folio's pages (PTE-mapped pieces,
// a PMD leaf), in address order, each under its lock, and holds nothing
// afterwards; unmapping to migration entries (clear + flush, then a
// migration entry built from a view) leaves no TLB translation, a
// PVMW_MIGRATION walk finds exactly those entries, and restoring them maps
// the same frames again; young and mkclean act as folio_referenced and
// folio_mkclean need.
import { MMU_READ, MMU_USER, MMU_WRITE } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  type ArchDescriptor,
  LEAF_KIND,
  PageVmaMappedWalk,
  PMD_LEVEL,
  PTE_LEVEL,
  PTE_MARKER_GUARD,
  PteVal,
  PteView,
  PVMW_MIGRATION,
  PVMW_SYNC,
  pageMappedInVma,
  pageVmaMappedWalk,
  pageVmaMappedWalkDone,
  pteOffsetMapLock,
  ptepGetAndClear,
  pteUnmapUnlock,
  ptValidate,
  pvmwClearFlush,
  pvmwClearFlushYoung,
  pvmwIsPmd,
  pvmwMkclean,
  pvmwRead,
  pvmwSet,
  type RmapVma,
  setPteAt,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';

const RUNS = fuzzRuns(10);
const PICK = ['x86_64', 'x86', 'arm64-4k-48', 'arm64-16k-47', 'riscv64-sv39', 'ppc64-radix-4k'];
const DESCS = PICK.map((n) => ARCH_DESCRIPTORS[n]!);

function writePte(k: TestKernel, addr: number, v: PteVal): void {
  k.map(addr, 1, 1, false, false);
  const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, addr);
  const ptep = pteOffsetMapLock(k.mm, pmdp, addr);
  ptepGetAndClear(k.mm, addr, ptep, new PteVal());
  setPteAt(k.mm, addr, ptep, v);
  pteUnmapUnlock(k.mm, ptep);
  k.oracle.delete(addr / k.pageSize);
}

/** Nothing of the mm is locked. */
function noLocks(k: TestKernel): boolean {
  const pool = k.pt.pools[PTE_LEVEL]!;
  for (let t = 0; t < pool.capacity; t++) if (k.pt.tableLive(PTE_LEVEL, t) && k.pt.pteLocked(k.mm, t)) return false;
  return k.mm.pageTableLock.ownerCpu < 0;
}

/** All mappings the walk reports, as [address, isPmd]. */
function walkAll(
  pvmw: PageVmaMappedWalk,
  k: TestKernel,
  each?: (pvmw: PageVmaMappedWalk) => void,
): [number, boolean][] {
  const got: [number, boolean][] = [];
  while (pageVmaMappedWalk(pvmw)) {
    const pmd = pvmwIsPmd(pvmw);
    if (!pmd) expect(k.pt.pteLocked(k.mm, k.pt.tableOfSlot(PTE_LEVEL, pvmw.pte))).toBe(true);
    got.push([pvmw.address, pmd]);
    each?.(pvmw);
  }
  expect(noLocks(k)).toBe(true);
  return got;
}

describe.each(DESCS.map((d) => [d.name, d] as const))('%s: page_vma_mapped_walk', (_n, d: ArchDescriptor) => {
  it('finds exactly the folio pages mapped in the range; migration round trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        fc.boolean(),
        fc.boolean(),
        (order, present, huge, sync) => {
          const k = new TestKernel(d, {}, 2);
          const { pt, mm } = k;
          const ps = k.pageSize;
          const pmdPages = k.pmdSize / ps;
          const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
          const usePmd = huge && (d.leafLevels & 2) !== 0 && pmdPages <= 4096;
          const nr = usePmd ? pmdPages : 2 ** order;
          const folio = usePmd ? 8 * pmdPages : 4096;
          // The folio at base + pmdSize - 3 pages (so it crosses a PTE table), or PMD-mapped at base.
          const addr = usePmd ? base : base + k.pmdSize - 3 * ps;
          const vma: RmapVma = { start: base, end: base + 4 * k.pmdSize, mm };
          const want: number[] = [];
          if (usePmd) {
            k.mapHuge(addr, folio, true, false);
            want.push(addr);
          } else {
            for (let i = 0; i < nr; i++) {
              if (present[i]) {
                k.map(addr + i * ps, 1, folio + i, true, false);
                want.push(addr + i * ps);
              } else if (i % 3 === 0) k.map(addr + i * ps, 1, 90_000 + i, true, false);
              else if (i % 3 === 1) writePte(k, addr + i * ps, pt.swap.makePteMarker(new PteVal(), PTE_MARKER_GUARD));
            }
          }
          // Neighbours that map other frames, and the same frames outside the range, do not count.
          k.map(addr + nr * ps, 2, folio + 1, true, false);
          const pvmw = new PageVmaMappedWalk(vma, folio, nr, addr, sync ? PVMW_SYNC : 0);
          expect(walkAll(pvmw, k).map(([a]) => a)).toEqual(want);
          // try_to_migrate_one(): clear and flush, install a migration entry.
          for (const a of want) for (const cpu of [0, 1]) k.machine.mmu.access(cpu, mm.as, a, MMU_READ | MMU_USER);
          const view = new PteView();
          const saved = new Map<number, PteView>();
          walkAll(new PageVmaMappedWalk(vma, folio, nr, addr), k, (w) => {
            const old = pvmwClearFlush(w, 1, new PteView());
            expect(old.kind).toBe(LEAF_KIND.PRESENT);
            saved.set(w.address, old);
            view.clear();
            view.kind = old.write ? LEAF_KIND.MIGRATION_WRITE : LEAF_KIND.MIGRATION_READ;
            view.pfn = old.pfn;
            view.young = old.young;
            view.dirty = old.dirty;
            pvmwSet(w, view);
          });
          const all = usePmd ? Array.from({ length: nr }, (_, i) => addr + i * ps) : want;
          for (const a of all) {
            k.oracle.delete(a / ps);
            for (const cpu of [0, 1]) expect(k.machine.mmu.access(cpu, mm.as, a, MMU_READ | MMU_USER)).toBe(-14);
          }
          // Mappings are gone; migration entries are found instead.
          expect(walkAll(new PageVmaMappedWalk(vma, folio, nr, addr), k)).toEqual([]);
          const mig = walkAll(new PageVmaMappedWalk(vma, folio, nr, addr, PVMW_MIGRATION), k, (w) => {
            expect(pvmwRead(w, view).pfn).toBe(saved.get(w.address)!.pfn);
            // remove_migration_pte(): the page back, with its state.
            const back = saved.get(w.address)!;
            pvmwClearFlush(w, 1, new PteView());
            pvmwSet(w, back);
          });
          expect(mig.map(([a]) => a)).toEqual(want);
          for (const a of all) {
            const pfn = usePmd ? folio + (a - addr) / ps : folio + (a - addr) / ps;
            k.oracle.set(a / ps, { pfn, write: true, exec: false });
            expect(k.machine.mmu.access(1, mm.as, a, MMU_READ | MMU_USER)).toBe(pfn);
          }
          if (want.length > 0) expect(pageMappedInVma(vma, pvmwPfnAt(k, want[0]!), want[0]!)).toBe(want[0]);
          ptValidate(pt);
          expect(k.machine.warnings).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('clear-flush-young and mkclean', () => {
    const k = new TestKernel(d, {}, 2);
    const { mm } = k;
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    const vma: RmapVma = { start: base, end: base + k.pmdSize, mm };
    k.map(base, 4, 500, true, false);
    const view = new PteView();
    // Make all four old, then touch pages 1 (read) and 2 (write).
    walkAll(new PageVmaMappedWalk(vma, 500, 4, base), k, (w) => pvmwClearFlushYoung(w));
    k.machine.mmu.flushTlbMm(mm.as);
    expect(k.machine.mmu.access(0, mm.as, base + ps, MMU_READ | MMU_USER)).toBe(501);
    expect(k.machine.mmu.access(0, mm.as, base + 2 * ps, MMU_WRITE | MMU_USER)).toBe(502);
    const young: boolean[] = [];
    walkAll(new PageVmaMappedWalk(vma, 500, 4, base), k, (w) => {
      young.push(pvmwClearFlushYoung(w));
      expect(pvmwRead(w, view).young).toBe(false);
    });
    expect(young).toEqual([false, true, true, false]);
    // folio_mkclean(): every writable or dirty entry is cleaned and write-protected.
    const dirty: boolean[] = [];
    walkAll(new PageVmaMappedWalk(vma, 500, 4, base), k, (w) => {
      dirty.push(pvmwRead(w, view).dirty);
      expect(pvmwMkclean(w)).toBe(true);
      expect(pvmwRead(w, view).write || pvmwRead(w, view).dirty).toBe(false);
    });
    expect(dirty).toEqual([false, false, true, false]);
    for (let i = 0; i < 4; i++) k.oracle.get(base / ps + i)!.write = false;
    expect(k.machine.mmu.access(0, mm.as, base + 2 * ps, MMU_WRITE | MMU_USER)).toBe(-14);
    ptValidate(k.pt);
  });

  it('stopping early releases the lock', () => {
    const k = new TestKernel(d, {}, 2);
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    k.map(base, 4, 500, true, false);
    const pvmw = new PageVmaMappedWalk({ start: base, end: base + k.pmdSize, mm: k.mm }, 500, 4, base);
    expect(pageVmaMappedWalk(pvmw)).toBe(true);
    expect(noLocks(k)).toBe(false);
    pageVmaMappedWalkDone(pvmw);
    expect(noLocks(k)).toBe(true);
    expect(() => new PageVmaMappedWalk({ start: base, end: base + k.pmdSize, mm: k.mm }, 500, 4, base - 4096)).toThrow(
      /not a page of the VMA/,
    );
  });
});

function pvmwPfnAt(k: TestKernel, addr: number): number {
  return k.oracle.get(addr / k.pageSize)!.pfn;
}
