// rmap walks through the page-table view: page_vma_mapped_walk over PTE-
// and PMD-mapped folios (page-table crossing, migration entries),
// try_to_unmap (swap entries, exclusive bits, mlock, split, MADV_FREE,
// pinned pages, deferred flush), try_to_migrate (entry types, PMD
// migration entries), folio_referenced (young bits, recency, dying mms,
// mlock, contention) and folio_mkclean.
import {
  createMachine,
  EBUSY,
  PG_dirty,
  PG_mlocked,
  PG_swapbacked,
  PG_swapcache,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
} from '@mm/machine';
import { afterEach, describe, expect, it } from 'vitest';
import {
  anonVmaFork,
  anonVmaLockWrite,
  anonVmaUnlockWrite,
  createAddressSpace,
  createFolioRmap,
  createRmapVma,
  FolioError,
  type FolioRmap,
  folioAddFileRmapPtes,
  folioAddNewAnonRmap,
  folioClearFlag,
  folioGetAnonVma,
  folioMapcount,
  folioMapped,
  folioMkclean,
  folioPin,
  folioPut,
  folioRefAdd,
  folioRefCount,
  folioReferenced,
  folioRemoveRmapPte,
  folioRmapValidate,
  folioSetFlag,
  folioSetMapping,
  folioTestFlag,
  folioTryDupAnonRmapPtes,
  folioTrylock,
  folioUnlock,
  folioVmaWalk,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SWAPENTS,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_DIRTY,
  PTE_MIGRATION,
  PTE_MIGRATION_WRITE,
  PTE_NONE,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  PTE_YOUNG,
  PVMW_MIGRATION,
  PVMW_PGTABLE_CROSSED,
  PVMW_SYNC,
  pageAnonExclusive,
  pageMappedInVma,
  pageVmaMappedWalk,
  putAnonVma,
  RMAP_EXCLUSIVE,
  type RmapMm,
  type RmapVma,
  type SwapOps,
  TTU_BATCH_FLUSH,
  TTU_IGNORE_MLOCK,
  TTU_SPLIT_HUGE_PMD,
  tryToMigrate,
  tryToUnmap,
  tryToUnmapFlush,
  VM_LOCKED,
  VM_MAYWRITE,
  VM_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_WRITE,
  vmaIntervalTreeForeach,
  vmaLinkFile as vmaLink,
  vmaUnlinkFile,
  vmNormalFolio,
} from '../src/index.js';
import { alloc, anonVma, fileVma, newMm } from './helpers.js';
import { TestPageTables } from './pt.js';

const A = 0x40000000;
const PAGE = 4096;

class FakeSwap implements SwapOps {
  readonly counts = new Map<number, number>();
  fail = false;
  constructor(private readonly rm: () => FolioRmap) {}
  folioDupSwap(folio: number, page: number): number {
    if (this.fail) return -12;
    const e = (this.rm().sec(folio).private[folio & this.rm().mask] as number) + (page - folio);
    this.counts.set(e, (this.counts.get(e) ?? 0) + 1);
    return 0;
  }
  folioPutSwap(folio: number, page: number): void {
    const e = (this.rm().sec(folio).private[folio & this.rm().mask] as number) + (page - folio);
    this.counts.set(e, (this.counts.get(e) ?? 0) - 1);
  }
}

let current: FolioRmap | null = null;
afterEach(() => {
  if (current !== null) {
    folioRmapValidate(current, { walk: true });
    expect(current.machine.warnings).toEqual([]);
  }
  current = null;
});

function world(pageMapcount = true, locks = false) {
  const machine = createMachine({ seed: 3 });
  const pt = new TestPageTables(PAGE, 512, locks ? machine : null);
  let rmRef: FolioRmap | null = null;
  const swap = new FakeSwap(() => rmRef as FolioRmap);
  const rm = createFolioRmap(machine, { pageMapcount, pgtable: pt, swap });
  rmRef = rm;
  current = rm;
  return { machine, rm, pt, swap };
}

/** Fault in a new anon folio of `order` at `addr` (PTEs, or a PMD for PMD order). */
function faultAnon(
  rm: FolioRmap,
  pt: TestPageTables,
  vma: RmapVma,
  addr: number,
  order: number,
  bits = PTE_WRITE | PTE_DIRTY | PTE_YOUNG,
): number {
  const f = alloc(rm, order);
  folioAddNewAnonRmap(rm, f, vma, addr, RMAP_EXCLUSIVE);
  const n = 1 << order;
  if (order === 9) {
    pt.setPmd(vma.vmMm, addr, PTE_PRESENT, f, bits);
  } else {
    folioRefAdd(rm, f, n - 1);
    pt.mapPtes(vma.vmMm, addr, f, n, bits);
  }
  vma.vmMm.rssStat[MM_ANONPAGES] = (vma.vmMm.rssStat[MM_ANONPAGES] as number) + n;
  return f;
}

/** fork() of one anon VMA: anon_vma_fork, write-protect, dup rmap, copy PTEs. */
function forkVma(rm: FolioRmap, pt: TestPageTables, pv: RmapVma, folio: number, addr: number, nr: number): RmapVma {
  const cv = createRmapVma(newMm(rm), pv.vmStart, pv.vmEnd, pv.vmFlags, { vmPgoff: pv.vmPgoff });
  expect(anonVmaFork(rm, cv, pv)).toBe(0);
  folioRefAdd(rm, folio, nr);
  expect(folioTryDupAnonRmapPtes(rm, folio, folio, nr, cv, pv)).toBe(0);
  for (let k = 0; k < nr; k++) {
    const e = pt.pte(pv.vmMm, addr + k * PAGE);
    e.bits &= ~PTE_WRITE;
    pt.pteWrite(pv.vmMm, addr + k * PAGE, e);
    pt.pteWrite(cv.vmMm, addr + k * PAGE, e);
  }
  cv.vmMm.rssStat[MM_ANONPAGES] = nr;
  return cv;
}

function addToSwapCache(rm: FolioRmap, folio: number, entry: number): void {
  folioSetFlag(rm, folio, PG_swapcache);
  rm.sec(folio).private[folio & rm.mask] = entry;
}

function hits(rm: FolioRmap, folio: number, vma: RmapVma, addr: number, flags = 0): [number, boolean][] {
  const w = folioVmaWalk(rm, folio, vma, addr, flags);
  const out: [number, boolean][] = [];
  while (pageVmaMappedWalk(rm, w)) out.push([w.address, w.pte]);
  return out;
}

describe('page_vma_mapped_walk', () => {
  it('finds each PTE of a PTE-mapped folio, skipping holes', () => {
    const { rm, pt } = world();
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, vma, A + 16 * PAGE, 4);
    pt.setPte(vma.vmMm, A + 20 * PAGE, PTE_NONE, 0, 0); // zap one PTE
    folioRemoveRmapPte(rm, f, f + 4, vma);
    folioPut(rm, f);
    const h = hits(rm, f, vma, A + 16 * PAGE);
    expect(h.length).toBe(15);
    expect(h[0]).toEqual([A + 16 * PAGE, true]);
    expect(h.map((x) => x[0])).not.toContain(A + 20 * PAGE);
  });

  it('reports a PMD-mapped THP once at PMD level', () => {
    const { rm, pt } = world();
    const vma = anonVma(rm, newMm(rm), A, 1024);
    const f = faultAnon(rm, pt, vma, A, 9);
    expect(hits(rm, f, vma, A)).toEqual([[A, false]]);
  });

  it('sets PVMW_PGTABLE_CROSSED when the folio spans two page tables', () => {
    const { rm, pt } = world();
    const start = A - 8 * PAGE; // 8 pages before a PMD boundary
    const vma = anonVma(rm, newMm(rm), start, 64);
    const f = faultAnon(rm, pt, vma, start, 4);
    const w = folioVmaWalk(rm, f, vma, start, 0);
    const addrs: number[] = [];
    const crossed: boolean[] = [];
    while (pageVmaMappedWalk(rm, w)) {
      addrs.push(w.address);
      crossed.push((w.flags & PVMW_PGTABLE_CROSSED) !== 0);
    }
    expect(addrs.length).toBe(16);
    expect(crossed.indexOf(true)).toBe(8);
  });
});

describe('page_vma_mapped_walk of a one-page folio', () => {
  it('finds exactly the entries its flags ask for, holding the PTE lock only then', () => {
    const { rm, pt } = world(true, true);
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = alloc(rm, 0);
    const kinds = [PTE_NONE, PTE_PRESENT, PTE_SWAP, PTE_MIGRATION, PTE_DEVICE_PRIVATE, PTE_DEVICE_EXCLUSIVE];
    for (const flags of [0, PVMW_SYNC, PVMW_MIGRATION, PVMW_SYNC | PVMW_MIGRATION]) {
      for (const kind of kinds) {
        for (const pfn of [f, f + 1]) {
          pt.setPte(vma.vmMm, A, kind, kind === PTE_NONE ? 0 : pfn, 0);
          const w = folioVmaWalk(rm, f, vma, A, flags);
          const wanted =
            pfn === f &&
            ((flags & PVMW_MIGRATION) !== 0
              ? kind === PTE_MIGRATION
              : kind === PTE_PRESENT || kind === PTE_DEVICE_PRIVATE || kind === PTE_DEVICE_EXCLUSIVE);
          const found = pageVmaMappedWalk(rm, w);
          expect([flags, kind, pfn - f, found]).toEqual([flags, kind, pfn - f, wanted]);
          expect(w.ptl !== null).toBe(found);
          if (found) {
            expect([w.address, w.pte, w.entry.kind]).toEqual([A, true, kind]);
            expect(pageVmaMappedWalk(rm, w)).toBe(false); // nothing more in a one-page range
            expect(w.ptl).toBe(null);
          }
        }
      }
    }
    pt.setPte(vma.vmMm, A, PTE_NONE, 0, 0);
    // No page table at all.
    expect(pageVmaMappedWalk(rm, folioVmaWalk(rm, f, vma, A + 2 ** 21, 0))).toBe(false);
    folioPut(rm, f);
  });
});

describe.each([
  ['PAGE_MAPCOUNT', true],
  ['NO_PAGE_MAPCOUNT', false],
])('try_to_unmap (CONFIG_%s)', (_n, pageMapcount) => {
  it('installs swap entries in parent and child and moves the dirty bit to the folio', () => {
    const { rm, pt, swap } = world(pageMapcount, true);
    const pv = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, pv, A, 0);
    const cv = forkVma(rm, pt, pv, f, A, 1);
    addToSwapCache(rm, f, 0x5000);
    folioRefAdd(rm, f, 1); // the swap cache's reference
    expect(folioTrylock(rm, f)).toBe(true);
    tryToUnmap(rm, f, 0);
    expect(folioMapped(rm, f)).toBe(false);
    expect(folioTestFlag(rm, f, PG_dirty)).toBe(true);
    for (const mm of [pv.vmMm, cv.vmMm]) {
      const e = pt.pte(mm, A);
      expect([e.kind, e.val, e.bits & PTE_SWP_EXCLUSIVE]).toEqual([PTE_SWAP, 0x5000, 0]);
      expect([mm.rssStat[MM_ANONPAGES], mm.rssStat[MM_SWAPENTS], mm.onMmlist]).toEqual([0, 1, true]);
    }
    expect(swap.counts.get(0x5000)).toBe(2);
    expect(folioRefCount(rm, f)).toBe(1);
    folioUnlock(rm, f);
  });

  it('keeps the exclusive bit of an exclusive page in its swap entry', () => {
    const { rm, pt } = world(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, vma, A, 2);
    addToSwapCache(rm, f, 0x800);
    folioRefAdd(rm, f, 1); // the swap cache's reference
    folioTrylock(rm, f);
    tryToUnmap(rm, f, 0);
    for (let k = 0; k < 4; k++) {
      const e = pt.pte(vma.vmMm, A + k * PAGE);
      expect([e.kind, e.val, e.bits & PTE_SWP_EXCLUSIVE]).toEqual([PTE_SWAP, 0x800 + k, PTE_SWP_EXCLUSIVE]);
      expect(pageAnonExclusive(rm, f + k)).toBe(false);
    }
    expect(folioMapcount(rm, f)).toBe(0);
  });

  it('stops at an mlocked VMA and restores the mlock', () => {
    const { rm, pt } = world(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 64, VM_READ | VM_WRITE | VM_LOCKED);
    const f = faultAnon(rm, pt, vma, A, 2);
    addToSwapCache(rm, f, 0x800);
    folioRefAdd(rm, f, 1);
    folioTrylock(rm, f);
    tryToUnmap(rm, f, 0);
    expect(folioMapcount(rm, f)).toBe(4);
    expect(folioTestFlag(rm, f, PG_mlocked)).toBe(true);
    tryToUnmap(rm, f, TTU_IGNORE_MLOCK);
    expect(folioMapped(rm, f)).toBe(false);
  });

  it('splits a PMD mapping with TTU_SPLIT_HUGE_PMD and refuses without it', () => {
    const { rm, pt } = world(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 1024);
    const f = faultAnon(rm, pt, vma, A, 9);
    addToSwapCache(rm, f, 0x10000);
    folioRefAdd(rm, f, 1);
    folioTrylock(rm, f);
    expect(() => tryToUnmap(rm, f, 0)).toThrow(FolioError);
    tryToUnmap(rm, f, TTU_SPLIT_HUGE_PMD);
    expect(folioMapped(rm, f)).toBe(false);
    expect(pt.pmd(vma.vmMm, A).kind).toBe(PTE_NONE);
    expect(pt.pte(vma.vmMm, A + 511 * PAGE).val).toBe(0x10000 + 511);
    expect(folioRefCount(rm, f)).toBe(1);
  });

  it('fails on a pinned exclusive page and restores its PTE', () => {
    const { rm, pt, swap } = world(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, vma, A, 2);
    addToSwapCache(rm, f, 0x800);
    folioPin(rm, f, 1, vma.vmMm);
    folioTrylock(rm, f);
    tryToUnmap(rm, f, 0);
    expect(folioMapcount(rm, f)).toBe(4);
    expect(pt.pte(vma.vmMm, A).kind).toBe(PTE_PRESENT);
    expect(swap.counts.get(0x800)).toBe(0);
    swap.fail = true;
    const g = faultAnon(rm, pt, vma, A + 0x10000, 0);
    addToSwapCache(rm, g, 0x900);
    folioTrylock(rm, g);
    tryToUnmap(rm, g, 0);
    expect(pt.pte(vma.vmMm, A + 0x10000).kind).toBe(PTE_PRESENT);
  });

  it('discards a clean MADV_FREE folio and keeps a redirtied one', () => {
    const { rm, pt } = world(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, vma, A, 2, PTE_WRITE | PTE_YOUNG);
    folioClearFlag(rm, f, PG_swapbacked); // lazyfree
    folioRefAdd(rm, f, 1); // isolation
    folioTrylock(rm, f);
    tryToUnmap(rm, f, 0);
    expect(folioMapped(rm, f)).toBe(false);
    expect(pt.pte(vma.vmMm, A).kind).toBe(PTE_NONE);
    expect(vma.vmMm.rssStat[MM_ANONPAGES]).toBe(0);
    const g = faultAnon(rm, pt, vma, A + 0x10000, 2, PTE_WRITE | PTE_DIRTY);
    folioClearFlag(rm, g, PG_swapbacked);
    folioTrylock(rm, g);
    tryToUnmap(rm, g, 0);
    expect(folioMapcount(rm, g)).toBe(4);
    expect(folioTestFlag(rm, g, PG_swapbacked)).toBe(true);
    expect(pt.pte(vma.vmMm, A + 0x10000).kind).toBe(PTE_PRESENT);
  });

  it('unmaps a file folio from every VMA, batching its PTEs; TTU_BATCH_FLUSH defers the flush', () => {
    const { rm, pt } = world(pageMapcount);
    const file = createAddressSpace(rm, 'f');
    const f = alloc(rm, 4);
    folioSetMapping(rm, f, file, 32);
    const vmas: RmapVma[] = [];
    for (let k = 0; k < 3; k++) {
      const v = fileVma(rm, newMm(rm), file, A, 64, 0);
      vmas.push(v);
    }
    for (const v of vmas) {
      expect(vmaLink(rm, v)).toBe(0);
      folioAddFileRmapPtes(rm, f, f, 16, v);
      folioRefAdd(rm, f, 16);
      pt.mapPtes(v.vmMm, A + 32 * PAGE, f, 16, PTE_YOUNG);
      v.vmMm.rssStat[MM_FILEPAGES] = 16;
    }
    folioTrylock(rm, f);
    const flushes = pt.flushes;
    tryToUnmap(rm, f, TTU_BATCH_FLUSH);
    expect(folioMapped(rm, f)).toBe(false);
    expect(pt.flushes).toBe(flushes);
    expect(rm.tlbUbc.length).toBe(3); // one batch per VMA
    tryToUnmapFlush(rm);
    expect(pt.flushes).toBe(flushes + 3);
    for (const v of vmas) expect(v.vmMm.rssStat[MM_FILEPAGES]).toBe(0);
    expect(folioRefCount(rm, f)).toBe(1);
  });
});

describe('try_to_migrate', () => {
  it('writes writable, readable-exclusive and readable migration entries', () => {
    const { rm, pt } = world();
    const pv = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, pv, A, 0); // writable, exclusive
    const g = faultAnon(rm, pt, pv, A + PAGE, 0, PTE_YOUNG); // read-only, exclusive
    const h = faultAnon(rm, pt, pv, A + 2 * PAGE, 0, PTE_YOUNG);
    const cv = forkVma(rm, pt, pv, h, A + 2 * PAGE, 1); // shared with a child
    for (const x of [f, g, h]) {
      folioRefAdd(rm, x, 1);
      folioTrylock(rm, x);
      tryToMigrate(rm, x, 0);
      expect(folioMapped(rm, x)).toBe(false);
    }
    const ef = pt.pte(pv.vmMm, A);
    expect([ef.kind, ef.pfn, ef.bits & (PTE_MIGRATION_WRITE | PTE_YOUNG | PTE_DIRTY)]).toEqual([
      PTE_MIGRATION,
      f,
      PTE_MIGRATION_WRITE | PTE_YOUNG | PTE_DIRTY,
    ]);
    expect(folioTestFlag(rm, f, PG_dirty)).toBe(true);
    expect(pt.pte(pv.vmMm, A + PAGE).bits & (PTE_MIGRATION_WRITE | PTE_SWP_EXCLUSIVE)).toBe(PTE_SWP_EXCLUSIVE);
    expect(pt.pte(cv.vmMm, A + 2 * PAGE).bits & (PTE_MIGRATION_WRITE | PTE_SWP_EXCLUSIVE)).toBe(0);
    // The walk finds migration entries with PVMW_MIGRATION only.
    expect(hits(rm, g, pv, A + PAGE, PVMW_MIGRATION).length).toBe(1);
    expect(hits(rm, g, pv, A + PAGE).length).toBe(0);
    expect(() => tryToMigrate(rm, f, TTU_IGNORE_MLOCK)).toThrow(FolioError);
  });

  it('a PMD-mapped THP gets a PMD migration entry, or 512 PTE entries with TTU_SPLIT_HUGE_PMD', () => {
    const { rm, pt } = world(false);
    const vma = anonVma(rm, newMm(rm), A, 2048);
    const f = faultAnon(rm, pt, vma, A, 9);
    const g = faultAnon(rm, pt, vma, A + 0x200000, 9);
    for (const x of [f, g]) {
      folioRefAdd(rm, x, 1);
      folioTrylock(rm, x);
    }
    tryToMigrate(rm, f, 0);
    const e = pt.pmd(vma.vmMm, A);
    expect([e.kind, e.pfn]).toEqual([PTE_MIGRATION, f]);
    expect(folioMapped(rm, f)).toBe(false);
    tryToMigrate(rm, g, TTU_SPLIT_HUGE_PMD);
    expect(folioMapped(rm, g)).toBe(false);
    const p = pt.pte(vma.vmMm, A + 0x200000 + 100 * PAGE);
    expect([p.kind, p.pfn]).toEqual([PTE_MIGRATION, g + 100]);
    expect(folioRefCount(rm, g)).toBe(1);
  });

  it('fails on a pinned exclusive page: -EBUSY from try_share, PTE restored', () => {
    const { rm, pt } = world();
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, vma, A, 2);
    folioPin(rm, f, 1, vma.vmMm);
    folioTrylock(rm, f);
    tryToMigrate(rm, f, 0);
    expect(folioMapcount(rm, f)).toBe(4);
    expect(pt.pte(vma.vmMm, A).kind).toBe(PTE_PRESENT);
    expect(EBUSY).toBe(16);
  });
});

describe('folio_referenced', () => {
  it('counts referencing mappings, clears young bits, ignores VMAs without recency', () => {
    const { rm, pt } = world();
    const pv = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, pv, A, 2);
    const cv = forkVma(rm, pt, pv, f, A, 4);
    const out = { vmFlags: 0 };
    expect(folioReferenced(rm, f, false, null, out)).toBe(2);
    expect(out.vmFlags & VM_WRITE).toBe(VM_WRITE);
    expect(pt.pte(pv.vmMm, A + PAGE).bits & PTE_YOUNG).toBe(0);
    expect(folioReferenced(rm, f, false)).toBe(0);
    pt.setPte(cv.vmMm, A + 3 * PAGE, PTE_PRESENT, f + 3, PTE_YOUNG);
    cv.vmFlags |= VM_SEQ_READ; // MADV_SEQUENTIAL: no recency
    expect(folioReferenced(rm, f, false)).toBe(0);
    cv.vmFlags &= ~VM_SEQ_READ;
    expect(folioReferenced(rm, f, false, (mm: RmapMm) => mm !== cv.vmMm)).toBe(0); // other memcg
    expect(folioReferenced(rm, f, false)).toBe(1);
  });

  it('returns -1 for an exclusive anon folio of a dying process and on contention', () => {
    const { rm, pt, machine } = world();
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, vma, A, 0);
    vma.vmMm.mmUsers = 0;
    expect(folioReferenced(rm, f, false)).toBe(-1);
    vma.vmMm.mmUsers = 1;
    const av = vma.anonVma;
    if (av === null) throw new Error('no anon_vma');
    // A task on CPU 1 holds the anon_vma tree's lock for write.
    let phase = 0;
    machine.sched.kthreadRun('writer', 1, () => {
      if (phase === 0) {
        expect(anonVmaLockWrite(av)).toBe(true);
        phase = 1;
      }
      if (phase === 2) {
        anonVmaUnlockWrite(av);
        return SCHED_EXIT;
      }
      return SCHED_AGAIN;
    });
    machine.sched.runFor(2000);
    expect(phase).toBe(1);
    expect(folioReferenced(rm, f, false)).toBe(-1); // try_lock walk: contended
    // try_to_unmap's walk sleeps on the lock instead: it queues the task.
    let unmapped = false;
    let rounds = 0;
    addToSwapCache(rm, f, 0x700);
    folioRefAdd(rm, f, 1);
    machine.sched.kthreadRun('reclaim', 2, () => {
      rounds++;
      if (rounds === 1) folioTrylock(rm, f);
      const rwc = tryToUnmap(rm, f, 0);
      if (rwc.wouldBlock) return SCHED_SLEEP;
      unmapped = !folioMapped(rm, f);
      folioUnlock(rm, f);
      return SCHED_EXIT;
    });
    machine.sched.runFor(2000);
    expect([rounds, unmapped]).toEqual([1, false]);
    phase = 2;
    machine.sched.runUntilIdle();
    expect([rounds, unmapped]).toEqual([2, true]);
  });

  it('reports VM_LOCKED and mlocks a fully mapped folio', () => {
    const { rm, pt } = world();
    const vma = anonVma(rm, newMm(rm), A, 64, VM_READ | VM_WRITE | VM_LOCKED);
    const f = faultAnon(rm, pt, vma, A, 2);
    const out = { vmFlags: 0 };
    folioReferenced(rm, f, false, null, out);
    expect(out.vmFlags & VM_LOCKED).toBe(VM_LOCKED);
    expect(folioTestFlag(rm, f, PG_mlocked)).toBe(true);
  });
});

describe('folio_mkclean', () => {
  it('write-protects and cleans the shared mappings only', () => {
    const { rm, pt } = world();
    const file = createAddressSpace(rm, 'f');
    const f = alloc(rm, 0);
    folioSetMapping(rm, f, file, 0);
    const shared = fileVma(rm, newMm(rm), file, A, 16, 0, VM_READ | VM_WRITE | VM_SHARED | VM_MAYWRITE);
    const priv = fileVma(rm, newMm(rm), file, A, 16, 0, VM_READ | VM_WRITE);
    for (const v of [shared, priv]) {
      expect(vmaLink(rm, v)).toBe(0);
      folioAddFileRmapPtes(rm, f, f, 1, v);
      folioRefAdd(rm, f, 1);
      pt.setPte(v.vmMm, A, PTE_PRESENT, f, PTE_WRITE | PTE_DIRTY);
    }
    expect(() => folioMkclean(rm, f)).toThrow(FolioError);
    folioTrylock(rm, f);
    expect(folioMkclean(rm, f)).toBe(1);
    expect(pt.pte(shared.vmMm, A).bits & (PTE_WRITE | PTE_DIRTY)).toBe(0);
    expect(pt.pte(priv.vmMm, A).bits & PTE_DIRTY).toBe(PTE_DIRTY);
    expect(folioMkclean(rm, f)).toBe(0);
    folioUnlock(rm, f);
    folioPut(rm, f);
  });
});

describe('helpers', () => {
  it('vmNormalFolio, pageMappedInVma, folioGetAnonVma', () => {
    const { rm, pt } = world();
    const vma = anonVma(rm, newMm(rm), A, 64);
    const f = faultAnon(rm, pt, vma, A + 4 * PAGE, 2);
    const e = pt.pte(vma.vmMm, A + 6 * PAGE);
    expect(vmNormalFolio(rm, vma, A + 6 * PAGE, e)).toBe(f);
    e.bits |= PTE_SPECIAL;
    expect(vmNormalFolio(rm, vma, A + 6 * PAGE, e)).toBe(-1);
    expect(vmNormalFolio(rm, vma, A, pt.pte(vma.vmMm, A))).toBe(-1); // none
    expect(vmNormalFolio(rm, vma, A + 6 * PAGE, pt.pte(vma.vmMm, A + 6 * PAGE), f + 2)).toBe(-1); // the zero page
    expect(pageMappedInVma(rm, f + 3, f, vma)).toBe(A + 7 * PAGE);
    pt.setPte(vma.vmMm, A + 7 * PAGE, PTE_NONE, 0, 0);
    expect(pageMappedInVma(rm, f + 3, f, vma)).toBe(-14);
    pt.mapPtes(vma.vmMm, A + 7 * PAGE, f + 3, 1, PTE_WRITE);
    const av = folioGetAnonVma(rm, f);
    expect(av).toBe(vma.anonVma);
    expect(av?.refcount).toBe(2);
    if (av !== null) putAnonVma(rm, av);
  });

  it('file VMAs link into and out of i_mmap; the walk follows', () => {
    const { rm, pt } = world();
    const file = createAddressSpace(rm, 'f');
    const f = alloc(rm, 0);
    folioSetMapping(rm, f, file, 3);
    const v1 = fileVma(rm, newMm(rm), file, A, 16, 0, VM_READ | VM_SHARED | VM_MAYWRITE);
    const v2 = fileVma(rm, newMm(rm), file, A, 16, 0);
    expect([vmaLink(rm, v1), vmaLink(rm, v2)]).toEqual([0, 0]);
    expect(file.iMmapWritable).toBe(1);
    expect(vmaIntervalTreeForeach(rm, file, 3, 3)).toEqual([v1, v2]);
    expect(vmaUnlinkFile(rm, v1)).toBe(0);
    expect(file.iMmapWritable).toBe(0);
    expect(vmaIntervalTreeForeach(rm, file, 0, 100)).toEqual([v2]);
    expect(v1.sharedRb).toBe(-1);
    expect(pt.flushes).toBe(0);
  });
});
