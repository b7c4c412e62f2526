/**
 * DOC: try_to_unmap: remove every page-table mapping of a folio (reclaim,
 * memory failure), installing swap entries for anon folios.
 *
 * For each mapping found by the rmap walk and page_vma_mapped_walk: an
 * mlocked VMA stops the unmap (and restores a missed mlock once it saw the
 * whole folio under one page-table lock); a PMD mapping is split first
 * (TTU_SPLIT_HUGE_PMD) or, for a lazyfree anon THP, discarded whole; the
 * PTE is cleared (a batch for large lazyfree anon and file folios), its
 * dirty bit moves to the folio, the TLB is flushed now or later
 * (TTU_BATCH_FLUSH), and the entry is replaced: a hwpoison entry
 * (TTU_HWPOISON), nothing for a file page or a clean lazyfree (MADV_FREE)
 * anon page, or a swap entry for a swap-backed anon page (taking a swap
 * count, marking an exclusive page shared first, and keeping the exclusive,
 * soft-dirty and uffd-wp bits). Then the rmap and the references go.
 */
import { PG_dirty, PG_hwpoison, PG_swapbacked, PG_swapcache } from '@mm/machine';
import type { FolioRmap, SwapOps } from './env.js';
import { FolioError } from './errors.js';
import {
  folioMapcount,
  folioMapped,
  folioNrPages,
  folioPutRefs,
  folioRefCount,
  folioSetFlag,
  folioTestAnon,
  folioTestFlag,
  folioTestHugetlb,
  folioTestLarge,
  pageAnonExclusive,
} from './folio.js';
import { mlockVmaFolio } from './mlock.js';
import {
  folioVmaWalkScratch,
  type PageVmaMappedWalk,
  PVMW_PGTABLE_CROSSED,
  PVMW_SYNC,
  pageVmaMappedWalk,
  pageVmaMappedWalkDone,
  pageVmaMappedWalkRestart,
} from './page-vma-mapped.js';
import {
  type PgtableView,
  PTE_DIRTY,
  PTE_HWPOISON,
  PTE_MARKER,
  PTE_NONE,
  PTE_PRESENT,
  PTE_SOFT_DIRTY,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_UFFD_WP,
  PTE_UNUSED,
  PTE_WRITE,
  PtEntry,
} from './pgtable-view.js';
import { folioRemoveRmapPmd, folioRemoveRmapPtes, folioTryShareAnonRmapPte, hugetlbRemoveRmap } from './rmap.js';
import { folioLockAnonVmaRead, type RmapWalkControl, rmapWalk, rmapWalkLocked } from './rmap-walk.js';
import { folioMarkDirty, splitHugePmdLocked } from './split-huge-pmd.js';
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  type RmapMm,
  type RmapVma,
  VM_LOCKED,
  VM_UFFD_WP,
  vmaTestDroppable,
} from './vma.js';

/** `enum ttu_flags` (include/linux/rmap.h). */
export const TTU_USE_SHARED_ZEROPAGE = 0x2;
/** Split a PMD mapping of the folio before unmapping. */
export const TTU_SPLIT_HUGE_PMD = 0x4;
/** Unmap mlocked folios too. */
export const TTU_IGNORE_MLOCK = 0x8;
/** Walk with PVMW_SYNC rather than skipping racy entries. */
export const TTU_SYNC = 0x10;
/** Replace the PTEs of a hwpoisoned page with hwpoison entries. */
export const TTU_HWPOISON = 0x20;
/** Defer TLB flushes to the caller's final {@link tryToUnmapFlush}. */
export const TTU_BATCH_FLUSH = 0x40;
/** The caller already holds the rmap lock. */
export const TTU_RMAP_LOCKED = 0x80;

const pteval = new PtEntry();
const swp = new PtEntry();
const probe = new PtEntry();

function swapOps(rm: FolioRmap): SwapOps {
  if (rm.swap === null) throw new FolioError('EINVAL', -1, 'rmap: try_to_unmap of an anon folio needs swap ops');
  return rm.swap;
}

/** The RSS counter a folio is charged to: MM_ANONPAGES, MM_SHMEMPAGES or MM_FILEPAGES. @kernel mm_counter (include/linux/mm.h) */
export function mmCounter(rm: FolioRmap, folio: number): number {
  if (folioTestAnon(rm, folio)) return MM_ANONPAGES;
  return folioTestFlag(rm, folio, PG_swapbacked) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

function addMmCounter(mm: RmapMm, member: number, value: number): void {
  mm.rssStat[member] = (mm.rssStat[member] as number) + value;
}

/**
 * The TLB flush of a cleared PTE: deferred under TTU_BATCH_FLUSH (until
 * {@link tryToUnmapFlush}), immediate otherwise.
 * @kernel should_defer_flush / set_tlb_ubc_flush_pending (mm/rmap.c)
 */
function flushOrDefer(rm: FolioRmap, mm: RmapMm, start: number, end: number, flags: number): void {
  if (flags & TTU_BATCH_FLUSH) rm.tlbUbc.push({ mm, start, end });
  else (rm.pgtable as PgtableView).flushTlbRange(mm, start, end);
}

/**
 * Flush the TLB entries deferred by TTU_BATCH_FLUSH unmaps.
 * @kernel try_to_unmap_flush (mm/rmap.c)
 */
export function tryToUnmapFlush(rm: FolioRmap): void {
  const v = rm.pgtable as PgtableView;
  for (const p of rm.tlbUbc) v.flushTlbRange(p.mm, p.start, p.end);
  rm.tlbUbc.length = 0;
}

/**
 * How many PTEs from the walk's position can be unmapped in one batch:
 * only large lazyfree-anon or file folios, within the VMA and page table,
 * consecutive pages of the folio with the same write and soft-dirty bits.
 * @kernel folio_unmap_pte_batch (mm/rmap.c)
 */
function folioUnmapPteBatch(rm: FolioRmap, folio: number, pvmw: PageVmaMappedWalk, flags: number, e: PtEntry): number {
  if (flags & TTU_HWPOISON) return 1;
  if (!folioTestLarge(rm, folio)) return 1;
  const vma = pvmw.vma;
  const pmdSize = rm.pageSize * rm.hpagePmdNr;
  let end = Math.floor(pvmw.address / pmdSize) * pmdSize + pmdSize;
  if (end > vma.vmEnd) end = vma.vmEnd;
  const maxNr = (end - pvmw.address) / rm.pageSize;
  if (folioTestAnon(rm, folio) && folioTestFlag(rm, folio, PG_swapbacked)) return 1;
  if (e.bits & PTE_UNUSED) return 1;
  if (vma.vmFlags & VM_UFFD_WP) return 1;
  return folioPteBatch(rm, folio, vma.vmMm, pvmw.address, e, maxNr, PTE_WRITE | PTE_SOFT_DIRTY);
}

/**
 * Count the PTEs from `addr` (the first being `first`) that map consecutive
 * pages of `folio`, up to `maxNr`, comparing the `respect` bits.
 * @kernel folio_pte_batch_flags (mm/internal.h)
 */
export function folioPteBatch(
  rm: FolioRmap,
  folio: number,
  mm: RmapMm,
  addr: number,
  first: PtEntry,
  maxNr: number,
  respect: number,
): number {
  const v = rm.pgtable as PgtableView;
  const folioEnd = folio + folioNrPages(rm, folio);
  let n = 1;
  let pfn = first.pfn + 1;
  const want = first.bits & respect;
  while (n < maxNr && pfn < folioEnd) {
    v.pteRead(mm, addr + n * rm.pageSize, probe);
    if (probe.kind !== PTE_PRESENT || probe.pfn !== pfn || (probe.bits & respect) !== want) break;
    n++;
    pfn++;
  }
  return n;
}

/**
 * Discard a clean lazyfree (MADV_FREE) anon THP mapped by a PMD; false when
 * it was redirtied or has extra references (then it is swap-backed again or kept).
 * @kernel unmap_huge_pmd_locked / __discard_anon_folio_pmd_locked (mm/huge_memory.c)
 */
function unmapHugePmdLocked(rm: FolioRmap, vma: RmapVma, addr: number, folio: number): boolean {
  const v = rm.pgtable as PgtableView;
  const mm = vma.vmMm;
  v.pmdRead(mm, addr, pteval);
  if (pteval.bits & PTE_DIRTY) folioSetFlag(rm, folio, PG_dirty);
  if (folioTestFlag(rm, folio, PG_dirty) && !vmaTestDroppable(vma)) {
    folioSetFlag(rm, folio, PG_swapbacked);
    return false;
  }
  v.pmdGetAndClear(mm, addr, pteval);
  v.flushTlbRange(mm, addr, addr + rm.pageSize * rm.hpagePmdNr);
  const refCount = folioRefCount(rm, folio);
  const mapCount = folioMapcount(rm, folio);
  if (pteval.bits & PTE_DIRTY) folioSetFlag(rm, folio, PG_dirty);
  if (folioTestFlag(rm, folio, PG_dirty) && !vmaTestDroppable(vma)) {
    folioSetFlag(rm, folio, PG_swapbacked);
    v.pmdWrite(mm, addr, pteval);
    return false;
  }
  if (refCount !== mapCount + 1) {
    v.pmdWrite(mm, addr, pteval);
    return false;
  }
  folioRemoveRmapPmd(rm, folio, pteval.pfn, vma);
  addMmCounter(mm, MM_ANONPAGES, -rm.hpagePmdNr);
  folioPutRefs(rm, folio, 1);
  return true;
}

/**
 * Unmap `folio` from one VMA; false when the unmap must stop (mlocked VMA,
 * a pinned or redirtied page, no swap count).
 * @kernel try_to_unmap_one (mm/rmap.c)
 */
function tryToUnmapOne(rm: FolioRmap, folio: number, vma: RmapVma, address: number, arg: { flags: number }): boolean {
  const v = rm.pgtable as PgtableView;
  const mm = vma.vmMm;
  let flags = arg.flags;
  const pvmw = folioVmaWalkScratch(rm, folio, vma, address, flags & TTU_SYNC ? PVMW_SYNC : 0);
  let ret = true;
  let ptes = 0;
  const nrFolio = folioNrPages(rm, folio);
  const anon = folioTestAnon(rm, folio);
  const hugetlb = folioTestHugetlb(rm, folio);
  while (pageVmaMappedWalk(rm, pvmw)) {
    let nrPages = 1;
    // An mlocked VMA: the folio must not be swapped out.
    if (!(flags & TTU_IGNORE_MLOCK) && vma.vmFlags & VM_LOCKED) {
      ptes++;
      ret = false;
      // Only mlock fully mapped folios, with all PTEs under one lock.
      if (pvmw.pte && ptes !== pvmw.nrPages) continue;
      if (!(pvmw.flags & PVMW_PGTABLE_CROSSED)) mlockVmaFolio(rm, folio, vma);
      pageVmaMappedWalkDone(pvmw);
      break;
    }
    if (!pvmw.pte) {
      if (anon && !folioTestFlag(rm, folio, PG_swapbacked)) {
        if (unmapHugePmdLocked(rm, vma, pvmw.address, folio)) {
          pageVmaMappedWalkDone(pvmw);
          break;
        }
        ret = false;
        pageVmaMappedWalkDone(pvmw);
        break;
      }
      if (flags & TTU_SPLIT_HUGE_PMD) {
        splitHugePmdLocked(rm, vma, pvmw.address, false);
        flags &= ~TTU_SPLIT_HUGE_PMD;
        pageVmaMappedWalkRestart(pvmw);
        continue;
      }
      pageVmaMappedWalkDone(pvmw);
      throw new FolioError('EINVAL', folio, 'rmap: try_to_unmap of a PMD-mapped THP without TTU_SPLIT_HUGE_PMD');
    }
    address = pvmw.address;
    pteval.set(pvmw.entry);
    const present = pteval.kind === PTE_PRESENT;
    const subpage = pteval.pfn;
    const anonExclusive = anon && pageAnonExclusive(rm, subpage);
    if (hugetlb) {
      // Only hwpoisoned hugetlb folios get here.
      v.pmdGetAndClear(mm, address, pteval);
      v.flushTlbRange(mm, address, address + nrFolio * rm.pageSize);
      if (pteval.bits & PTE_DIRTY) folioMarkDirty(rm, folio);
    } else if (present) {
      nrPages = folioUnmapPteBatch(rm, folio, pvmw, flags, pteval);
      const end = address + nrPages * rm.pageSize;
      v.pteGetAndClear(mm, address, nrPages, pteval);
      flushOrDefer(rm, mm, address, end, flags);
      if (pteval.bits & PTE_DIRTY) folioMarkDirty(rm, folio);
    } else {
      swp.kind = PTE_NONE;
      swp.bits = 0;
      v.pteWrite(mm, address, swp);
    }
    // A uffd-wp armed file PTE keeps its tracking as a marker.
    if (!anon && pteval.bits & PTE_UFFD_WP && vma.vmFlags & VM_UFFD_WP) {
      swp.kind = PTE_MARKER;
      swp.pfn = 0;
      swp.val = 0;
      swp.bits = PTE_UFFD_WP;
      v.pteWrite(mm, address, swp);
    }
    let discard = false;
    if (folioTestFlag(rm, subpage, PG_hwpoison) && flags & TTU_HWPOISON) {
      swp.kind = PTE_HWPOISON;
      swp.pfn = subpage;
      swp.val = 0;
      swp.bits = 0;
      if (hugetlb) v.pmdWrite(mm, address, swp);
      else {
        addMmCounter(mm, mmCounter(rm, folio), -1);
        v.pteWrite(mm, address, swp);
      }
      discard = true;
    } else if (present && pteval.bits & PTE_UNUSED && !(vma.vmFlags & VM_UFFD_WP)) {
      addMmCounter(mm, mmCounter(rm, folio), -1);
      discard = true;
    } else if (anon) {
      const swapbacked = folioTestFlag(rm, folio, PG_swapbacked);
      if (swapbacked !== folioTestFlag(rm, folio, PG_swapcache)) {
        rm.machine.warnOn(true, 'rmap: try_to_unmap of an anon folio swapbacked != swapcache');
        ret = false;
        pageVmaMappedWalkDone(pvmw);
        break;
      }
      if (!swapbacked) {
        // MADV_FREE: discard unless redirtied or referenced elsewhere.
        const refCount = folioRefCount(rm, folio);
        const mapCount = folioMapcount(rm, folio);
        if (folioTestFlag(rm, folio, PG_dirty) && !vmaTestDroppable(vma)) {
          restorePtes(rm, mm, address, nrPages, pteval);
          folioSetFlag(rm, folio, PG_swapbacked);
          ret = false;
          pageVmaMappedWalkDone(pvmw);
          break;
        }
        if (refCount !== 1 + mapCount) {
          restorePtes(rm, mm, address, nrPages, pteval);
          ret = false;
          pageVmaMappedWalkDone(pvmw);
          break;
        }
        addMmCounter(mm, MM_ANONPAGES, -nrPages);
        discard = true;
      } else {
        const swap = swapOps(rm);
        if (swap.folioDupSwap(folio, subpage) < 0) {
          v.pteWrite(mm, address, pteval);
          ret = false;
          pageVmaMappedWalkDone(pvmw);
          break;
        }
        // See folio_try_share_anon_rmap(): the PTE is cleared first.
        if (anonExclusive && folioTryShareAnonRmapPte(rm, folio, subpage) !== 0) {
          swap.folioPutSwap(folio, subpage);
          v.pteWrite(mm, address, pteval);
          ret = false;
          pageVmaMappedWalkDone(pvmw);
          break;
        }
        mm.onMmlist = true;
        addMmCounter(mm, MM_ANONPAGES, -1);
        addMmCounter(mm, MM_SWAPENTS, 1);
        swp.kind = PTE_SWAP;
        swp.pfn = 0;
        swp.val = (rm.sec(folio).private[folio & rm.mask] as number) + (subpage - folio);
        swp.bits = (anonExclusive ? PTE_SWP_EXCLUSIVE : 0) | (pteval.bits & (PTE_SOFT_DIRTY | PTE_UFFD_WP));
        v.pteWrite(mm, address, swp);
        discard = true;
      }
    } else {
      addMmCounter(mm, folioTestFlag(rm, folio, PG_swapbacked) ? MM_SHMEMPAGES : MM_FILEPAGES, -nrPages);
      discard = true;
    }
    if (discard) {
      if (hugetlb) hugetlbRemoveRmap(rm, folio);
      else folioRemoveRmapPtes(rm, folio, subpage, nrPages, vma);
      folioPutRefs(rm, folio, nrPages);
      // The whole folio was batched and cleared: stop right here.
      if (nrPages === nrFolio) {
        pageVmaMappedWalkDone(pvmw);
        break;
      }
    }
  }
  return ret;
}

function restorePtes(rm: FolioRmap, mm: RmapMm, address: number, nr: number, e: PtEntry): void {
  const v = rm.pgtable as PgtableView;
  const pfn = e.pfn;
  for (let k = 0; k < nr; k++) {
    e.pfn = pfn + k;
    v.pteWrite(mm, address + k * rm.pageSize, e);
  }
  e.pfn = pfn;
}

function folioNotMapped(rm: FolioRmap, folio: number): boolean {
  return !folioMapped(rm, folio);
}

/**
 * Try to remove every page-table mapping of `folio` (locked, referenced by
 * the caller). Returns the walk control (its `contended`/`wouldBlock`); the
 * caller checks `folioMapped` afterwards, as in the kernel.
 * @kernel try_to_unmap (mm/rmap.c)
 */
export function tryToUnmap(
  rm: FolioRmap,
  folio: number,
  flags: number,
): RmapWalkControl<{
  /** The `TTU_*` flags the walk was started with. */
  flags: number;
}> {
  const rwc: RmapWalkControl<{ flags: number }> = {
    arg: { flags },
    tryLock: false,
    contended: false,
    wouldBlock: false,
    rmapOne: tryToUnmapOne,
    done: folioNotMapped,
    anonLock: folioLockAnonVmaRead,
    invalidVma: null,
  };
  if (flags & TTU_RMAP_LOCKED) rmapWalkLocked(rm, folio, rwc);
  else rmapWalk(rm, folio, rwc);
  return rwc;
}
