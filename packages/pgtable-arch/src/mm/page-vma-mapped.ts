/**
 * DOC: finding the entries that map a folio in one VMA
 * (`page_vma_mapped_walk()`, mm/page_vma_mapped.c) and the operations rmap
 * performs on them: the seam for a folio/rmap package.
 *
 * A {@link PageVmaMappedWalk} names a PFN range (the folio, or part of it),
 * the VMA and the address range where the folio would be mapped in it
 * (`vma_address()` .. `vma_address_end()`, which the caller computes from
 * the folio's index). Each call of {@link pageVmaMappedWalk} advances to the
 * next entry mapping a page of the range and returns true holding its lock:
 * either `pmd` (a PMD leaf, a PMD migration or device-private entry; `pte`
 * is -1) or `pte` (a present PTE, a device-private or device-exclusive
 * entry, or with PVMW_MIGRATION only migration entries). It returns false,
 * with nothing held, when there is no more; {@link pageVmaMappedWalkDone}
 * releases a walk stopped early.
 *
 * At the current position the caller reads the entry through the typed
 * view ({@link pvmwRead}: pfn, kind, write, young, dirty, ...), tests and
 * clears the accessed bit ({@link pvmwClearFlushYoung}), cleans and
 * write-protects it ({@link pvmwMkclean}), clears it with a TLB flush
 * ({@link pvmwClearFlush}, `nr` PTEs of one folio at once) and installs a
 * swap, migration or device entry built from a view ({@link pvmwSet}). Raw
 * bits never leave the package.
 */
import { EFAULT, MmBugError } from '@mm/machine';
import { PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import type { PteView } from '../entry/pte-view.js';
import { PteVal } from '../entry/pteval.js';
import { LEAF_KIND, SwpEntry } from '../entry/swapops.js';
import type { MmPgtables } from '../table/page-tables.js';
import { PgtableError } from '../table/page-tables.js';
import { pteOffsetMapLock, pteOffsetMapRwNolock, pteUnmap } from '../table/pgalloc.js';
import {
  getAndClearFullPtes,
  pmdpHugeGetAndClear,
  pmdpTestAndClearYoung,
  ptepClearFlushYoung,
  ptepGet,
  ptepTestAndClearYoung,
  setPmdAt,
  setPteAt,
  setPtes,
} from '../table/pgtable.js';
import { upperDeferred } from './pagewalk.js';

/** Look for the entries under their locks, not locklessly first. */
export const PVMW_SYNC = 1 << 0;
/** Look for migration entries (to the range) instead of mappings. */
export const PVMW_MIGRATION = 1 << 1;
/** Set by the walk when it crossed into another PTE table. */
export const PVMW_PGTABLE_CROSSED = 1 << 16;

/** A VMA as the rmap walk sees it. */
export interface RmapVma {
  /** First address of the VMA (`vma->vm_start`). */
  readonly start: number;
  /** End address of the VMA, exclusive (`vma->vm_end`). */
  readonly end: number;
  /** Page tables of the address space the VMA belongs to (`vma->vm_mm`). */
  readonly mm: MmPgtables;
  /** The VMA maps hugetlb folios (`is_vm_hugetlb_page()`): the walk checks one huge entry instead of PTEs. */
  readonly hugetlb?: boolean;
  /** log2 of the VMA's huge page size, PMD or PUD (`huge_page_shift(hstate_vma(vma))`). */
  readonly hugetlbShift?: number;
}

const RESTART = 0;
const THIS_PTE = 1;
const NEXT_PTE = 2;
const DONE = 3;

const NO_LOCK = 0;
const PTE_LOCK = 1;
const PMD_LOCK = 2;

/**
 * `struct page_vma_mapped_walk`: what to look for, and where the walk is.
 */
export class PageVmaMappedWalk {
  /** First PFN of the range. */
  readonly pfn: number;
  /** Pages in the range. */
  readonly nrPages: number;
  /** The VMA searched. */
  readonly vma: RmapVma;
  /** The current address (where the range would start at first). */
  address: number;
  /** Where the range would end in the VMA (`vma_address_end()`). */
  readonly end: number;
  /** PVMW_* flags. */
  flags: number;
  /** The current PMD slot, or -1. */
  pmd: number;
  /** The current PTE slot, or -1 (with `pmd` set: the PMD entry itself is the mapping). */
  pte: number;
  /** @internal which lock is held. */
  lock: number;
  /** @internal the PTE table whose lock is held. */
  lockedTable: number;
  /** @internal the PMD value the PTE table was found under. */
  readonly pmdval: PteVal;

  /**
   * A walk for the mappings of `nrPages` pages from `pfn` in `vma`; `flags` are `PVMW_*`.
   * @param address where the first page of the range would be mapped (`vma_address()`).
   * @param end the end of that range in the VMA; default `address + nrPages` pages, capped at the VMA's end.
   */
  constructor(vma: RmapVma, pfn: number, nrPages: number, address: number, flags = 0, end?: number) {
    const ps = vma.mm.pt.pageSize;
    if (!(nrPages >= 1 && address >= vma.start && address < vma.end && address % ps === 0)) {
      throw new PgtableError('EINVAL', 'page_vma_mapped_walk: the address is not a page of the VMA');
    }
    this.vma = vma;
    this.pfn = pfn;
    this.nrPages = nrPages;
    this.address = address;
    this.end = end ?? Math.min(address + nrPages * ps, vma.end);
    this.flags = flags;
    this.pmd = -1;
    this.pte = -1;
    this.lock = NO_LOCK;
    this.lockedTable = -1;
    this.pmdval = new PteVal();
  }
}

const tv = new PteVal();
const ent = new SwpEntry();

function unlock(pvmw: PageVmaMappedWalk): void {
  const mm = pvmw.vma.mm;
  if (pvmw.lock === PTE_LOCK) mm.pt.pteUnlock(mm, pvmw.lockedTable);
  else if (pvmw.lock === PMD_LOCK) mm.pt.pmdUnlock(mm, pvmw.pmd);
  pvmw.lock = NO_LOCK;
  pvmw.lockedTable = -1;
}

/**
 * Release what the walk holds (after a `true` the caller does not continue).
 * @kernel page_vma_mapped_walk_done (include/linux/rmap.h)
 */
export function pageVmaMappedWalkDone(pvmw: PageVmaMappedWalk): void {
  const mm = pvmw.vma.mm;
  if (pvmw.pte >= 0 && !pvmw.vma.hugetlb) {
    if (pvmw.lock === PTE_LOCK) {
      unlock(pvmw);
    }
    pteUnmap(mm, pvmw.pte);
  }
  unlock(pvmw);
}

function notFound(pvmw: PageVmaMappedWalk): boolean {
  pageVmaMappedWalkDone(pvmw);
  return false;
}

/** The PFN a non-present entry stands for, or -1. */
function entryPfn(pvmw: PageVmaMappedWalk, v: PteVal, migration: boolean): number {
  const pt = pvmw.vma.mm.pt;
  const c = pt.codec;
  if (migration) {
    if (c.pteNone(v) || c.ptePresent(v)) return -1;
    pt.swap.pteToSwpEntry(v, ent);
    return pt.swap.isMigrationEntry(ent) ? pt.swap.swpOffsetPfn(ent) : -1;
  }
  if (c.ptePresent(v)) return c.ptePfn(v);
  if (c.pteNone(v)) return -1;
  pt.swap.pteToSwpEntry(v, ent);
  const k = pt.swap.entryKind(ent);
  if (k === LEAF_KIND.DEVICE_PRIVATE_READ || k === LEAF_KIND.DEVICE_PRIVATE_WRITE || k === LEAF_KIND.DEVICE_EXCLUSIVE) {
    return pt.swap.swpOffsetPfn(ent);
  }
  return -1;
}

/** @kernel check_pte (mm/page_vma_mapped.c) */
function checkPte(pvmw: PageVmaMappedWalk, nr: number): boolean {
  const mm = pvmw.vma.mm;
  const v = pvmw.vma.hugetlb === true ? mm.pt.readEntry(hugetlbLevel(pvmw), pvmw.pte, tv) : ptepGet(mm, pvmw.pte, tv);
  const pfn = entryPfn(pvmw, v, (pvmw.flags & PVMW_MIGRATION) !== 0);
  if (pfn < 0) return false;
  return pfn + nr - 1 >= pvmw.pfn && pfn <= pvmw.pfn + pvmw.nrPages - 1;
}

/** @kernel check_pmd (mm/page_vma_mapped.c) */
function checkPmd(pvmw: PageVmaMappedWalk, pfn: number): boolean {
  const pt = pvmw.vma.mm.pt;
  const nr = pt.levelSize(PMD_LEVEL) / pt.pageSize;
  return pfn + nr - 1 >= pvmw.pfn && pfn <= pvmw.pfn + pvmw.nrPages - 1;
}

function hugetlbLevel(pvmw: PageVmaMappedWalk): number {
  const pt = pvmw.vma.mm.pt;
  return pvmw.vma.hugetlbShift === pt.shift[PUD_LEVEL] ? PUD_LEVEL : PMD_LEVEL;
}

/** Step to the next `size` boundary. @kernel step_forward */
function stepForward(pvmw: PageVmaMappedWalk, size: number): void {
  pvmw.address = (Math.floor(pvmw.address / size) + 1) * size;
}

/**
 * Map the PTE at `pvmw.address` and lock it if it may be a match.
 * @kernel map_pte (mm/page_vma_mapped.c)
 */
function mapPte(pvmw: PageVmaMappedWalk): boolean {
  const mm = pvmw.vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  if ((pvmw.flags & PVMW_SYNC) !== 0) {
    pvmw.pte = pteOffsetMapLock(mm, pvmw.pmd, pvmw.address);
    if (pvmw.pte < 0) return false;
    pvmw.lock = PTE_LOCK;
    pvmw.lockedTable = pt.tableOfSlot(PTE_LEVEL, pvmw.pte);
    return true;
  }
  const migration = (pvmw.flags & PVMW_MIGRATION) !== 0;
  for (;;) {
    pvmw.pte = pteOffsetMapRwNolock(mm, pvmw.pmd, pvmw.address, pvmw.pmdval);
    if (pvmw.pte < 0) return false;
    const v = ptepGet(mm, pvmw.pte, tv);
    if (c.pteNone(v)) return false;
    if (c.ptePresent(v)) {
      if (migration) return false;
    } else if (!migration && entryPfn(pvmw, v, false) < 0) return false;
    const t = pt.tableOfSlot(PTE_LEVEL, pvmw.pte);
    pt.pteLock(mm, t);
    if (pt.readEntry(PMD_LEVEL, pvmw.pmd, tv).same(pvmw.pmdval)) {
      pvmw.lock = PTE_LOCK;
      pvmw.lockedTable = t;
      return true;
    }
    pt.pteUnlock(mm, t);
    pteUnmap(mm, pvmw.pte);
  }
}

/**
 * Advance to the next entry mapping a page of the range, holding its lock.
 * @returns false (nothing held) when there is none left.
 * @kernel page_vma_mapped_walk (mm/page_vma_mapped.c)
 */
export function pageVmaMappedWalk(pvmw: PageVmaMappedWalk): boolean {
  const vma = pvmw.vma;
  const mm = vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  const ps = pt.pageSize;
  const pmdSize = pt.levelSize(PMD_LEVEL);
  // The only possible PMD mapping was handled on the last call.
  if (pvmw.pmd >= 0 && pvmw.pte < 0) return notFound(pvmw);
  if (vma.hugetlb === true) {
    if (pvmw.pte >= 0) return notFound(pvmw);
    const level = hugetlbLevel(pvmw);
    const size = pt.levelSize(level);
    const slot = pt.lookup(mm, level, Math.floor(pvmw.address / size) * size);
    if (slot < 0) return false;
    pvmw.pte = slot;
    // huge_pte_lock(): the PMD lock for PMD-sized pages, else the mm's lock.
    pvmw.pmd = slot;
    if (level === PMD_LEVEL) {
      pt.pmdLock(mm, slot);
      pvmw.lock = PMD_LOCK;
    } else {
      pt.mmLock(mm);
      pvmw.lock = PTE_LOCK;
      pvmw.lockedTable = -2;
    }
    if (!checkPte(pvmw, size / ps)) {
      if (level !== PMD_LEVEL) {
        pt.mmUnlock(mm);
        pvmw.lock = NO_LOCK;
      }
      return notFound(pvmw);
    }
    return true;
  }
  const end = pvmw.end;
  let state = pvmw.pte >= 0 ? NEXT_PTE : RESTART;
  for (;;) {
    if (state === RESTART) {
      state = DONE;
      while (pvmw.address < end) {
        const pudp = pt.lookup(mm, PUD_LEVEL, pvmw.address);
        // pud_present() is the real check only where the PMD level has tables.
        const pudReal = pudp >= 0 && !upperDeferred(pt, PUD_LEVEL);
        if (pudp < 0 || (pudReal && (!c.pudPresent(pt.readEntry(PUD_LEVEL, pudp, tv)) || c.pudLeaf(tv)))) {
          // No PMD table here (a missing upper table, or a PUD leaf, which maps no folio of this model).
          stepForward(pvmw, pt.levelSize(PUD_LEVEL));
          continue;
        }
        pvmw.pmd = pt.offset(PMD_LEVEL, pudp, pvmw.address);
        const pmde = pt.readEntry(PMD_LEVEL, pvmw.pmd, pvmw.pmdval);
        if (!c.pmdNone(pmde) && (c.pmdLeaf(pmde) || !c.pmdPresent(pmde))) {
          pt.pmdLock(mm, pvmw.pmd);
          pvmw.lock = PMD_LOCK;
          const now = pt.readEntry(PMD_LEVEL, pvmw.pmd, tv);
          if (!c.pmdNone(now) && !c.pmdPresent(now)) {
            // A PMD migration or device-private entry.
            pt.swap.pteToSwpEntry(now, ent);
            const mig = pt.swap.isMigrationEntry(ent);
            const dev = pt.swap.isDevicePrivateEntry(ent);
            if (!(mig || dev) || mig !== ((pvmw.flags & PVMW_MIGRATION) !== 0)) return notFound(pvmw);
            if (!checkPmd(pvmw, pt.swap.swpOffsetPfn(ent))) return notFound(pvmw);
            return true;
          }
          if (c.pmdLeaf(now)) {
            if ((pvmw.flags & PVMW_MIGRATION) !== 0) return notFound(pvmw);
            if (!checkPmd(pvmw, c.pmdPfn(now))) return notFound(pvmw);
            return true;
          }
          // Split under us: handle it at the PTE level.
          unlock(pvmw);
          pt.readEntry(PMD_LEVEL, pvmw.pmd, pvmw.pmdval);
        } else if (c.pmdNone(pmde) || !c.pmdPresent(pmde)) {
          stepForward(pvmw, pmdSize);
          continue;
        }
        if (!mapPte(pvmw)) {
          if (pvmw.pte < 0) continue;
          state = NEXT_PTE;
        } else state = THIS_PTE;
        break;
      }
      if (state === DONE) {
        pvmw.pmd = -1;
        return false;
      }
    }
    if (state === THIS_PTE) {
      if (checkPte(pvmw, 1)) return true;
      state = NEXT_PTE;
    }
    // next_pte: the next non-empty entry of this table.
    state = THIS_PTE;
    for (;;) {
      pvmw.address += ps;
      if (pvmw.address >= end) return notFound(pvmw);
      if (pvmw.address % pmdSize === 0) {
        // Crossed into another PTE table.
        if (pvmw.lock === PTE_LOCK) unlock(pvmw);
        pteUnmap(mm, pvmw.pte);
        pvmw.pte = -1;
        pvmw.flags |= PVMW_PGTABLE_CROSSED;
        state = RESTART;
        break;
      }
      pvmw.pte++;
      if (!c.pteNone(ptepGet(mm, pvmw.pte, tv))) break;
    }
    if (state === RESTART) continue;
    if (pvmw.lock === NO_LOCK) {
      const t = pt.tableOfSlot(PTE_LEVEL, pvmw.pte);
      pt.pteLock(mm, t);
      if (!pt.readEntry(PMD_LEVEL, pvmw.pmd, tv).same(pvmw.pmdval)) {
        pt.pteUnlock(mm, t);
        pteUnmap(mm, pvmw.pte);
        pvmw.pte = -1;
        state = RESTART;
        continue;
      }
      pvmw.lock = PTE_LOCK;
      pvmw.lockedTable = t;
    }
  }
}

/**
 * Whether `pfn` is mapped in `vma` at `address`.
 * @returns the address, or -EFAULT.
 * @kernel page_mapped_in_vma (mm/page_vma_mapped.c)
 */
export function pageMappedInVma(vma: RmapVma, pfn: number, address: number): number {
  const pvmw = new PageVmaMappedWalk(vma, pfn, 1, address, PVMW_SYNC);
  if (!pageVmaMappedWalk(pvmw)) return -EFAULT;
  pageVmaMappedWalkDone(pvmw);
  return address;
}

// ---- the page-table view at the current position ----

function checkHeld(pvmw: PageVmaMappedWalk, what: string): void {
  if (pvmw.lock === NO_LOCK || pvmw.pmd < 0) throw new MmBugError(`${what}: the walk holds no entry`);
}

/** Whether the current mapping is the PMD entry itself (a PMD leaf or PMD migration entry). */
export function pvmwIsPmd(pvmw: PageVmaMappedWalk): boolean {
  return pvmw.pmd >= 0 && pvmw.pte < 0;
}

/**
 * The current entry through the typed view (PTE, or PMD leaf).
 * @kernel ptep_get / pmdp_get + the pte_* / softleaf_* accessors
 */
export function pvmwRead(pvmw: PageVmaMappedWalk, out: PteView): PteView {
  checkHeld(pvmw, 'pvmw_read');
  const pt = pvmw.vma.mm.pt;
  if (pvmwIsPmd(pvmw)) return pt.entries.decodePmd(pt.readEntry(PMD_LEVEL, pvmw.pmd, tv), out);
  if (pvmw.vma.hugetlb === true) return pt.entries.decodePmd(pt.readEntry(hugetlbLevel(pvmw), pvmw.pte, tv), out);
  return pt.entries.decodePte(ptepGet(pvmw.vma.mm, pvmw.pte, tv), out);
}

/**
 * Test and clear the accessed bit of the current entry, flushing where the
 * architecture does (`folio_referenced_one()`).
 * @kernel ptep_clear_flush_young / pmdp_clear_flush_young (mm/pgtable-generic.c)
 */
export function pvmwClearFlushYoung(pvmw: PageVmaMappedWalk): boolean {
  checkHeld(pvmw, 'pvmw_clear_flush_young');
  const mm = pvmw.vma.mm;
  const pt = mm.pt;
  if (pvmwIsPmd(pvmw) || pvmw.vma.hugetlb === true) {
    const slot = pvmwIsPmd(pvmw) ? pvmw.pmd : pvmw.pte;
    const young = pmdpTestAndClearYoung(mm, pvmw.address, slot);
    const size = pt.levelSize(pvmwIsPmd(pvmw) ? PMD_LEVEL : hugetlbLevel(pvmw));
    const haddr = Math.floor(pvmw.address / size) * size;
    if (young) pt.machine.mmu.flushTlbMmRange(mm.as, haddr, haddr + size, Math.log2(size), false);
    return young;
  }
  return ptepClearFlushYoung(mm, pvmw.address, pvmw.pte);
}

/**
 * Test and clear the accessed bit without a flush (MGLRU, idle tracking).
 * @kernel ptep_test_and_clear_young / pmdp_test_and_clear_young
 */
export function pvmwTestAndClearYoung(pvmw: PageVmaMappedWalk): boolean {
  checkHeld(pvmw, 'pvmw_test_and_clear_young');
  const mm = pvmw.vma.mm;
  if (pvmwIsPmd(pvmw)) return pmdpTestAndClearYoung(mm, pvmw.address, pvmw.pmd);
  return ptepTestAndClearYoung(mm, pvmw.address, pvmw.pte);
}

/**
 * Clear `nr` PTEs of one folio from the current one (or the PMD entry) and
 * flush them from every TLB; the old entry (accessed and dirty merged over
 * the batch) is returned in `out`. The caller then installs what replaces
 * them (a swap or migration entry) with {@link pvmwSet}, or nothing.
 * @kernel ptep_clear_flush / get_and_clear_full_ptes + flush_tlb_range / pmdp_huge_clear_flush
 */
export function pvmwClearFlush(pvmw: PageVmaMappedWalk, nr: number, out: PteView): PteView {
  checkHeld(pvmw, 'pvmw_clear_flush');
  const mm = pvmw.vma.mm;
  const pt = mm.pt;
  if (pvmwIsPmd(pvmw)) {
    const size = pt.levelSize(PMD_LEVEL);
    const haddr = Math.floor(pvmw.address / size) * size;
    pmdpHugeGetAndClear(mm, haddr, pvmw.pmd, tv);
    if (pt.codec.pmdPresent(tv))
      pt.machine.mmu.flushTlbMmRange(mm.as, haddr, haddr + size, pt.shift[PMD_LEVEL]!, false);
    return pt.entries.decodePmd(tv, out);
  }
  if (pvmw.vma.hugetlb === true)
    throw new PgtableError('EOPNOTSUPP', 'pvmw_clear_flush: hugetlb entries belong to the hugetlb owner');
  const inTable = (pvmw.address % pt.levelSize(PMD_LEVEL)) / pt.pageSize;
  if (!(nr >= 1 && inTable + nr <= pt.ptrs[PTE_LEVEL]! && pvmw.address + nr * pt.pageSize <= pvmw.vma.end)) {
    throw new PgtableError('EINVAL', `pvmw_clear_flush: ${nr} entries do not fit the table and the VMA`);
  }
  getAndClearFullPtes(mm, pvmw.address, pvmw.pte, nr, false, tv);
  if (pt.codec.ptePresent(tv)) {
    pt.machine.mmu.flushTlbRange(mm.as, pvmw.address, pvmw.address + nr * pt.pageSize);
  }
  return pt.entries.decodePte(tv, out);
}

/**
 * Install the entry `view` describes at the current position (empty after
 * {@link pvmwClearFlush}): a swap entry, a migration entry, a device
 * entry, a marker, or a present entry (restoring after migration; `nr`
 * consecutive pages for a present PTE batch).
 * @kernel set_pte_at / set_ptes / set_pmd_at
 */
export function pvmwSet(pvmw: PageVmaMappedWalk, view: PteView, nr = 1): void {
  checkHeld(pvmw, 'pvmw_set');
  const mm = pvmw.vma.mm;
  const pt = mm.pt;
  const v = new PteVal();
  if (pvmwIsPmd(pvmw)) {
    pt.entries.encodePmd(v, view);
    const size = pt.levelSize(PMD_LEVEL);
    setPmdAt(mm, Math.floor(pvmw.address / size) * size, pvmw.pmd, v);
    return;
  }
  pt.entries.encodePte(v, view);
  if (nr === 1) setPteAt(mm, pvmw.address, pvmw.pte, v);
  else if (view.kind === LEAF_KIND.PRESENT) setPtes(mm, pvmw.address, pvmw.pte, v, nr);
  else throw new PgtableError('EINVAL', 'pvmw_set: only present entries are set in batches');
}

/**
 * Write-protect and clean the current entry if it is dirty or writable,
 * flushing it first (`folio_mkclean()` for writeback).
 * @returns true when it changed.
 * @kernel page_vma_mkclean_one (mm/rmap.c)
 */
export function pvmwMkclean(pvmw: PageVmaMappedWalk): boolean {
  checkHeld(pvmw, 'pvmw_mkclean');
  const mm = pvmw.vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  if (pvmwIsPmd(pvmw)) {
    const v = pt.readEntry(PMD_LEVEL, pvmw.pmd, tv);
    if (!c.pmdPresent(v) || !(c.pteDirty(v) || c.pteWrite(v))) return false;
    const size = pt.levelSize(PMD_LEVEL);
    const haddr = Math.floor(pvmw.address / size) * size;
    pmdpHugeGetAndClear(mm, haddr, pvmw.pmd, v);
    pt.machine.mmu.flushTlbMmRange(mm.as, haddr, haddr + size, pt.shift[PMD_LEVEL]!, false);
    c.pteWrprotect(v);
    c.pteMkclean(v);
    setPmdAt(mm, haddr, pvmw.pmd, v);
    return true;
  }
  const v = ptepGet(mm, pvmw.pte, tv);
  if (!c.ptePresent(v) || !(c.pteDirty(v) || c.pteWrite(v))) return false;
  getAndClearFullPtes(mm, pvmw.address, pvmw.pte, 1, false, v);
  pt.machine.mmu.flushTlbPage(mm.as, pvmw.address);
  c.pteWrprotect(v);
  c.pteMkclean(v);
  setPteAt(mm, pvmw.address, pvmw.pte, v);
  return true;
}
