/**
 * DOC: page_vma_mapped_walk: find every page-table entry of one VMA that maps
 * a page of a folio (mm/page_vma_mapped.c), through the page-table view.
 *
 * The walk starts at the address where the folio's first page would be
 * mapped in the VMA and visits [address, vma_address_end). Each `true`
 * return leaves one position "locked": a PMD-level mapping (`pmd` and not
 * `pte`: a PMD-mapped THP, or a PMD migration entry with PVMW_MIGRATION),
 * or a PTE (`pte`: present, device-private/exclusive, or a migration entry
 * with PVMW_MIGRATION) mapping a page in [pfn, pfn + nrPages). A PTE-mapped
 * large folio takes several calls; `PVMW_PGTABLE_CROSSED` is set once the
 * walk moved to another page table. Hugetlb VMAs have one huge entry, found
 * in one call. The entry found is in `pvmw.entry`.
 */
import { MmBugError, type SpinLock, spinLock, spinUnlock } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { FolioError } from './errors.js';
import { folioNrPages, folioPgoff } from './folio.js';
import {
  type PgtableView,
  PMD_LEAF,
  PMD_NONE,
  PMD_TABLE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_MIGRATION,
  PTE_NONE,
  PTE_PRESENT,
  PtEntry,
} from './pgtable-view.js';
import { isVmHugetlbPage, type RmapVma, VM_HUGETLB } from './vma.js';

/** Always take the PTE lock; wait for a racing zap of a PMD. */
export const PVMW_SYNC = 1 << 0;
/** Look for migration entries rather than present entries. */
export const PVMW_MIGRATION = 1 << 1;
/** Result flag: the walk crossed into another page table. */
export const PVMW_PGTABLE_CROSSED = 1 << 16;

/** The state of a walk over the page-table entries that map a folio within one VMA. @kernel struct page_vma_mapped_walk (include/linux/rmap.h) */
export class PageVmaMappedWalk {
  /** First PFN looked for. */
  pfn: number;
  /** Pages from `pfn` looked for. */
  nrPages: number;
  /** Page offset of `pfn` in the mapping. */
  pgoff: number;
  /** The VMA walked. */
  vma: RmapVma;
  /** The address of the entry found (adjusted as the walk moves). */
  address: number;
  /** A PMD was reached (with `pte` false: the PMD-level mapping). */
  pmd: boolean;
  /** The walk is at a PTE (or hugetlb entry). */
  pte: boolean;
  /** The lock held for the current position, if the view has locks. */
  ptl: SpinLock | null;
  /** `PVMW_*` flags. */
  flags: number;
  /** The entry at the current position. */
  readonly entry: PtEntry;
  /** Work space for decoding a second entry during a step; meaningless between calls. */
  readonly scratch: PtEntry;

  constructor(pfn: number, nrPages: number, pgoff: number, vma: RmapVma, address: number, flags: number) {
    this.pfn = pfn;
    this.nrPages = nrPages;
    this.pgoff = pgoff;
    this.vma = vma;
    this.address = address;
    this.pmd = false;
    this.pte = false;
    this.ptl = null;
    this.flags = flags;
    this.entry = new PtEntry();
    this.scratch = new PtEntry();
  }
}

/**
 * A walk over `folio`'s mappings in `vma` from `address`.
 * @kernel DEFINE_FOLIO_VMA_WALK (include/linux/rmap.h)
 */
export function folioVmaWalk(
  rm: FolioRmap,
  folio: number,
  vma: RmapVma,
  address: number,
  flags: number,
): PageVmaMappedWalk {
  return new PageVmaMappedWalk(folio, folioNrPages(rm, folio), folioPgoff(rm, folio), vma, address, flags);
}

/**
 * The walk state the package's own rmap_one callbacks reuse (they never
 * nest), so a walk over many VMAs allocates nothing: the kernel keeps it on
 * the stack.
 */
const scratch = new PageVmaMappedWalk(0, 1, 0, null as unknown as RmapVma, 0, 0);

/** {@link folioVmaWalk} into the shared scratch walk (internal: rmap_one callbacks). */
export function folioVmaWalkScratch(
  rm: FolioRmap,
  folio: number,
  vma: RmapVma,
  address: number,
  flags: number,
): PageVmaMappedWalk {
  return folioVmaWalkScratchAt(folio, folioNrPages(rm, folio), folioPgoff(rm, folio), vma, address, flags);
}

/** {@link folioVmaWalkScratch} with the folio's size and offset already known (one lookup per rmap walk). */
export function folioVmaWalkScratchAt(
  folio: number,
  nrPages: number,
  pgoff: number,
  vma: RmapVma,
  address: number,
  flags: number,
): PageVmaMappedWalk {
  const w = scratch;
  w.pfn = folio;
  w.nrPages = nrPages;
  w.pgoff = pgoff;
  w.vma = vma;
  w.address = address;
  w.pmd = false;
  w.pte = false;
  w.ptl = null;
  w.flags = flags;
  return w;
}

function view(rm: FolioRmap): PgtableView {
  const v = rm.pgtable;
  if (v === null) throw new FolioError('EINVAL', -1, 'rmap: no page-table view (createFolioRmap({ pgtable }))');
  return v;
}

/**
 * The end of the range of `pvmw.vma` that may map the folio.
 * @kernel vma_address_end (mm/internal.h)
 */
export function vmaAddressEnd(rm: FolioRmap, pvmw: PageVmaMappedWalk): number {
  const vma = pvmw.vma;
  if (pvmw.nrPages === 1) return pvmw.address + rm.pageSize;
  const address = vma.vmStart + (pvmw.pgoff + pvmw.nrPages - vma.vmPgoff) * rm.pageSize;
  return address < vma.vmStart || address > vma.vmEnd ? vma.vmEnd : address;
}

function lock(rm: FolioRmap, pvmw: PageVmaMappedWalk, level: number): void {
  if (!rm.pgtableLocks) return;
  const v = rm.pgtable as PgtableView;
  if (v.ptLock === undefined) return;
  const l = v.ptLock(pvmw.vma.vmMm, pvmw.address, level);
  if (l !== null) {
    spinLock(l);
    pvmw.ptl = l;
  }
}

function unlock(pvmw: PageVmaMappedWalk): void {
  if (pvmw.ptl !== null) {
    spinUnlock(pvmw.ptl);
    pvmw.ptl = null;
  }
}

/**
 * Release the walk's lock and position (stop a walk before it returned false).
 * @kernel page_vma_mapped_walk_done (include/linux/rmap.h)
 */
export function pageVmaMappedWalkDone(pvmw: PageVmaMappedWalk): void {
  unlock(pvmw);
}

/**
 * Drop the lock and restart at `pvmw.address` (after splitting a PMD).
 * @kernel page_vma_mapped_walk_restart (include/linux/rmap.h)
 */
export function pageVmaMappedWalkRestart(pvmw: PageVmaMappedWalk): void {
  if (!pvmw.pmd && !pvmw.pte) throw new MmBugError('page_vma_mapped_walk_restart: no position');
  unlock(pvmw);
  pvmw.pmd = false;
  pvmw.pte = false;
}

function notFound(pvmw: PageVmaMappedWalk): boolean {
  pageVmaMappedWalkDone(pvmw);
  return false;
}

/** Does the entry at the walk's position map a page in [pfn, pfn + nrPages)? @kernel check_pte (mm/page_vma_mapped.c) */
function checkEntry(pvmw: PageVmaMappedWalk, e: PtEntry, pteNr: number): boolean {
  if (pvmw.flags & PVMW_MIGRATION) {
    if (e.kind !== PTE_MIGRATION) return false;
  } else if (e.kind !== PTE_PRESENT && e.kind !== PTE_DEVICE_PRIVATE && e.kind !== PTE_DEVICE_EXCLUSIVE) {
    return false;
  }
  const pfn = e.pfn;
  if (pfn + pteNr - 1 < pvmw.pfn) return false;
  if (pfn > pvmw.pfn + pvmw.nrPages - 1) return false;
  return true;
}

/**
 * Advance to the next entry mapping the folio in `pvmw.vma`; false when
 * there is none (the lock is then released).
 * @kernel page_vma_mapped_walk (mm/page_vma_mapped.c)
 */
export function pageVmaMappedWalk(rm: FolioRmap, pvmw: PageVmaMappedWalk): boolean {
  const v = view(rm);
  const vma = pvmw.vma;
  const mm = vma.vmMm;
  const e = pvmw.entry;
  // The first step for a one-page folio mapped by PTEs (the common case of
  // the rmap walks): one PMD read, one PTE read, the same decisions as the
  // general loop below takes for a range of one page.
  if (pvmw.nrPages === 1 && !pvmw.pmd && !pvmw.pte && (vma.vmFlags & VM_HUGETLB) === 0) {
    if (v.pmdRead(mm, pvmw.address, e) === PMD_TABLE) {
      pvmw.pmd = true;
      pvmw.pte = true;
      v.pteRead(mm, pvmw.address, e);
      const kind = e.kind;
      const migration = (pvmw.flags & PVMW_MIGRATION) !== 0;
      if (
        (pvmw.flags & PVMW_SYNC) === 0 &&
        (kind === PTE_NONE ||
          (kind === PTE_PRESENT
            ? migration
            : !migration && kind !== PTE_DEVICE_PRIVATE && kind !== PTE_DEVICE_EXCLUSIVE))
      ) {
        // Not interesting: the next PTE is already past the one-page range.
        pvmw.address += rm.pageSize;
        return notFound(pvmw);
      }
      lock(rm, pvmw, 0);
      if (checkEntry(pvmw, e, 1)) return true;
      pvmw.address += rm.pageSize;
      return notFound(pvmw);
    }
  }
  const pageSize = rm.pageSize;
  const pmdSize = pageSize * rm.hpagePmdNr;
  // The only possible PMD mapping was handled on the last iteration.
  if (pvmw.pmd && !pvmw.pte) return notFound(pvmw);
  if (isVmHugetlbPage(vma)) {
    // One huge entry (a PMD-level leaf for the hugetlb sizes the model has).
    if (pvmw.pte) return notFound(pvmw);
    if (v.pmdRead(mm, pvmw.address, e) !== PMD_LEAF) return false;
    pvmw.pte = true;
    lock(rm, pvmw, 1);
    if (!checkEntry(pvmw, e, pvmw.nrPages)) return notFound(pvmw);
    return true;
  }
  const end = vmaAddressEnd(rm, pvmw);
  let resume = pvmw.pte;
  for (;;) {
    if (!resume) {
      // restart: find the PMD of pvmw.address.
      if (pvmw.address >= end) return false;
      pvmw.pmd = true;
      const kind = v.pmdRead(mm, pvmw.address, e);
      if (kind === PMD_LEAF) {
        lock(rm, pvmw, 1);
        v.pmdRead(mm, pvmw.address, e);
        if (e.kind === PTE_MIGRATION) {
          if (!(pvmw.flags & PVMW_MIGRATION)) return notFound(pvmw);
          return checkEntry(pvmw, e, rm.hpagePmdNr) ? true : notFound(pvmw);
        }
        if (e.kind === PTE_DEVICE_PRIVATE) {
          if (pvmw.flags & PVMW_MIGRATION) return notFound(pvmw);
          return checkEntry(pvmw, e, rm.hpagePmdNr) ? true : notFound(pvmw);
        }
        if (e.kind !== PTE_PRESENT || pvmw.flags & PVMW_MIGRATION) return notFound(pvmw);
        return checkEntry(pvmw, e, rm.hpagePmdNr) ? true : notFound(pvmw);
      }
      if (kind === PMD_NONE) {
        // step_forward(PMD_SIZE)
        pvmw.address = Math.floor(pvmw.address / pmdSize) * pmdSize + pmdSize;
        continue;
      }
      // A PTE table: map_pte.
      pvmw.pte = true;
      v.pteRead(mm, pvmw.address, e);
      if (pvmw.flags & PVMW_SYNC) {
        lock(rm, pvmw, 0);
      } else {
        let interesting = false;
        if (e.kind === PTE_NONE) interesting = false;
        else if (e.kind === PTE_PRESENT) interesting = !(pvmw.flags & PVMW_MIGRATION);
        else if (pvmw.flags & PVMW_MIGRATION) interesting = true;
        else interesting = e.kind === PTE_DEVICE_PRIVATE || e.kind === PTE_DEVICE_EXCLUSIVE;
        if (interesting) lock(rm, pvmw, 0);
        else resume = true; // goto next_pte
      }
      if (!resume) {
        // this_pte
        if (checkEntry(pvmw, e, 1)) return true;
        resume = true;
      }
    }
    // next_pte: step to the next non-none PTE of this table.
    let crossed = false;
    do {
      pvmw.address += pageSize;
      if (pvmw.address >= end) return notFound(pvmw);
      if (pvmw.address % pmdSize === 0) {
        unlock(pvmw);
        pvmw.pte = false;
        pvmw.flags |= PVMW_PGTABLE_CROSSED;
        crossed = true;
        break;
      }
      v.pteRead(mm, pvmw.address, e);
    } while (e.kind === PTE_NONE);
    if (crossed) {
      resume = false;
      continue;
    }
    if (pvmw.ptl === null) lock(rm, pvmw, 0);
    if (checkEntry(pvmw, e, 1)) return true;
    resume = true;
  }
}

/**
 * The address where `page` is mapped in `vma`, or -EFAULT (-14) when it is
 * outside the VMA or not present.
 * @kernel page_mapped_in_vma (mm/page_vma_mapped.c)
 */
export function pageMappedInVma(rm: FolioRmap, page: number, folio: number, vma: RmapVma): number {
  const pgoff = folioPgoff(rm, folio) + (page - folio);
  let address: number;
  if (pgoff >= vma.vmPgoff) {
    address = vma.vmStart + (pgoff - vma.vmPgoff) * rm.pageSize;
    if (address < vma.vmStart || address >= vma.vmEnd) return -14;
  } else {
    return -14;
  }
  const pvmw = new PageVmaMappedWalk(page, 1, pgoff, vma, address, PVMW_SYNC);
  if (!pageVmaMappedWalk(rm, pvmw)) return -14;
  pageVmaMappedWalkDone(pvmw);
  return pvmw.address;
}
