/**
 * DOC: the page-table seam of the VMA layer implemented over
 * `@mm/pgtable-arch` (tables, zap, mprotect, mremap) and `@mm/folio-rmap`
 * (the folio side: references, rmap, RSS).
 *
 * The VMA code calls these where the kernel calls the functions they name;
 * each one runs the page-table layer's implementation with this file's
 * folio callbacks (`ZapOps`, `ProtOps`, `MoveOps`). A PMD-mapped THP that a
 * range cuts through is split first (`split_huge_pmd`), as the kernel's
 * zap, mprotect and mremap do.
 */
import {
  type FolioRmap,
  folioAddAnonRmapPtes,
  folioAddFileRmapPtes,
  folioNrPages,
  folioRemoveRmapPmd,
  folioRemoveRmapPtes,
  folioTestAnon,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  pageAnonExclusive,
  pageFolio,
  RMAP_EXCLUSIVE,
  RMAP_NONE,
} from '@mm/folio-rmap';
import {
  changeProtection,
  freePgdRange,
  type MmPgtables,
  type MoveOps,
  type MoveVma,
  movePageTables,
  type PgtableVma,
  PMD_LEVEL,
  type ProtOps,
  type ProtVma,
  PteVal,
  MmuGather as PtGather,
  PagetableMoveControl as PtMoveControl,
  pmdpGet,
  splitHugePmdLocked,
  tlbFinishMmu,
  tlbGatherMmu,
  unmapPageRange,
  type ZapOps,
} from '@mm/pgtable-arch';
import type { MmStruct, VmAreaStruct } from '../mm/mm-types.js';
import type { MmuGather, PageTableOps, PagetableMoveControl } from '../mm/pgtable-ops.js';
import { ZAP_FLAG_DROP_MARKER } from '../mm/pgtable-ops.js';
import type { Kernel } from './kernel.js';
import { rmapVma } from './rmap-anon-vma.js';

/** A gather of the seam carrying the page-table layer's `mmu_gather`. */
export class KernelGather implements MmuGather {
  /** The address space being flushed; mirrors `mmu_gather::mm`. */
  readonly mm: MmStruct;
  /** The page-table layer's own gather, which collects the pages and page tables to free after the flush. */
  readonly tlb: PtGather;

  constructor(mm: MmStruct, tlb: PtGather) {
    this.mm = mm;
    this.tlb = tlb;
  }
}

const pv = new PteVal();

/** The RSS counter a folio's pages count in. @kernel mm_counter (include/linux/mm.h) */
export function mmCounter(rm: FolioRmap, folio: number, vma: VmAreaStruct): number {
  if (folioTestAnon(rm, folio)) return MM_ANONPAGES;
  return vma.vmFile !== null && vma.vmFile.path === '/dev/zero (deleted)' ? MM_SHMEMPAGES : shmemCounter(vma);
}

function shmemCounter(vma: VmAreaStruct): number {
  // tmpfs files are swap-backed: their pages count as MM_SHMEMPAGES
  return vma.vmOps !== null && vma.vmOps.fault === true ? MM_SHMEMPAGES : MM_FILEPAGES;
}

/** {@link PageTableOps} for the composed kernel. */
export class ArchPageTableOps implements PageTableOps, ZapOps, ProtOps, MoveOps {
  /** The kernel whose page tables, rmap and counters the calls change. */
  readonly k: Kernel;
  /** The kernel's folio/rmap store (`k.rm`). */
  readonly rm: FolioRmap;

  constructor(k: Kernel) {
    this.k = k;
    this.rm = k.rm;
  }

  private pgt(mm: MmStruct): MmPgtables {
    return mm.pgt as MmPgtables;
  }

  // --- ZapOps / ProtOps / MoveOps: the folio side -------------------------------------------

  normalFolio(_vma: PgtableVma, _addr: number, pfn: number, special: boolean): number {
    if (special || pfn === this.k.zeroPfn) return -1;
    if (!this.rm.memmap.pfnValid(pfn)) return -1;
    return pageFolio(this.rm, pfn);
  }

  folioNrPages(head: number): number {
    return folioNrPages(this.rm, head);
  }

  folioAnon(head: number): boolean {
    return folioTestAnon(this.rm, head);
  }

  pageAnonExclusive(pfn: number): boolean {
    return pageAnonExclusive(this.rm, pfn);
  }

  zapFolioPtes(
    vma: PgtableVma,
    head: number,
    pfn: number,
    nr: number,
    _dirty: boolean,
    _young: boolean,
    delayRmap: boolean,
  ): void {
    const v = vma.owner as VmAreaStruct;
    v.vmMm.rssStat[mmCounter(this.rm, head, v)]! -= nr;
    if (!delayRmap) folioRemoveRmapPtes(this.rm, head, pfn, nr, rmapVma(v));
  }

  freeSwapEntries(vma: PgtableVma, _type: number, _offset: number, nr: number): void {
    (vma.owner as VmAreaStruct).vmMm.rssStat[MM_SWAPENTS]! -= nr;
  }

  zapPfnEntry(vma: PgtableVma, _kind: number, pfn: number): void {
    // a device-exclusive entry maps a normal anon page: its rmap and reference go
    const v = vma.owner as VmAreaStruct;
    const head = pageFolio(this.rm, pfn);
    v.vmMm.rssStat[MM_ANONPAGES]!--;
    folioRemoveRmapPtes(this.rm, head, pfn, 1, rmapVma(v));
    this.k.putFolio(head, 1);
  }

  zapHugePmd(vma: PgtableVma, _addr: number, head: number): void {
    const v = vma.owner as VmAreaStruct;
    v.vmMm.rssStat[mmCounter(this.rm, head, v)]! -= folioNrPages(this.rm, head);
    folioRemoveRmapPmd(this.rm, head, head, rmapVma(v));
  }

  freePages(pfn: number, nr: number): void {
    this.k.putFolio(pageFolio(this.rm, pfn), nr);
  }

  removeRmap(pfn: number, nr: number, vma: unknown): void {
    const v = (vma as PgtableVma).owner as VmAreaStruct;
    folioRemoveRmapPtes(this.rm, pageFolio(this.rm, pfn), pfn, nr, rmapVma(v));
  }

  vmaIntersects(mm: MmPgtables, start: number, end: number): boolean {
    const kmm = this.k.mmOfPgt(mm);
    return kmm !== null && this.k.findVmaIntersection(kmm, start, end);
  }

  splitHugePmd(vma: ProtVma | MoveVma, _pmdp: number, addr: number): number {
    return this.k.splitHugePmd(vma.owner as VmAreaStruct, addr);
  }

  // --- PageTableOps -------------------------------------------------------------------------

  /** Start gathering page-table changes of `mm` for one TLB flush. @kernel tlb_gather_mmu (mm/mmu_gather.c) */
  tlbGatherMmu(mm: MmStruct): MmuGather {
    const tlb = new PtGather(this.k.pt, this);
    tlbGatherMmu(tlb, this.pgt(mm));
    return new KernelGather(mm, tlb);
  }

  /** Flush the TLB for the gathered changes and free what was queued. @kernel tlb_finish_mmu (mm/mmu_gather.c) */
  tlbFinishMmu(tlb: MmuGather): void {
    tlbFinishMmu((tlb as KernelGather).tlb);
  }

  /** Split PMD leaves the range boundaries cut through. */
  private splitEdges(vma: VmAreaStruct, start: number, end: number): void {
    const pmd = this.k.pmdSize;
    if (start % pmd !== 0) this.k.splitHugePmd(vma, start);
    if (end % pmd !== 0) this.k.splitHugePmd(vma, end);
  }

  /**
   * Zap [start, end) of `vma`; `skipCows` (unmap_mapping_range without
   * `even_cows`: hole punching) leaves anonymous CoW copies mapped.
   * @kernel __zap_vma_range (mm/memory.c)
   */
  zapVmaRange(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, zapFlags: number, skipCows = false): void {
    if (start >= end) return;
    this.splitEdges(vma, start, end);
    unmapPageRange(
      (tlb as KernelGather).tlb,
      vma,
      start,
      end,
      { dropMarkers: (zapFlags & ZAP_FLAG_DROP_MARKER) !== 0, skipCows },
      this,
    );
  }

  /** Free the page tables of [addr, end) not shared with [floor, ceiling) @kernel free_pgd_range (mm/memory.c) */
  freePgdRange(tlb: MmuGather, addr: number, end: number, floor: number, ceiling: number): void {
    freePgdRange((tlb as KernelGather).tlb, addr, end, floor, ceiling);
  }

  /** Split huge PMDs that straddle the new `start`/`end` of `vma` (and `next`'s start) @kernel vma_adjust_trans_huge (mm/huge_memory.c) */
  vmaAdjustTransHuge(vma: VmAreaStruct, start: number, end: number, next: VmAreaStruct | null): void {
    if (vma.vmMm.pgt === null) return;
    this.splitEdges(vma, start, end);
    if (next !== null && next.vmStart % this.k.pmdSize !== 0) this.k.splitHugePmd(next, next.vmStart);
  }

  /** Apply the VMA's new protection to [start, end); pages changed. @kernel change_protection (mm/mprotect.c) */
  changeProtection(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, cpFlags: number): number {
    this.splitEdges(vma, start, end);
    return changeProtection((tlb as KernelGather).tlb, vma, start, end, cpFlags, this);
  }

  /** Move the page tables `pmc` describes. @kernel move_page_tables (mm/mremap.c) */
  movePageTables(pmc: PagetableMoveControl): void {
    const old = pmc.old as VmAreaStruct;
    const nw = pmc.new as VmAreaStruct;
    const len = pmc.oldEnd - pmc.oldAddr;
    this.splitEdges(old, pmc.oldAddr, pmc.oldEnd);
    const c = new PtMoveControl(old, nw, pmc.oldAddr, pmc.newAddr, len);
    c.needRmapLocks = pmc.needRmapLocks;
    c.forStack = pmc.forStack;
    const moved = movePageTables(c, this);
    pmc.oldAddr += moved;
    pmc.newAddr += moved;
  }

  /** Fault in [start, end) of `vma` (mlock, MAP_POPULATE); pages faulted in, or a negative errno. @kernel populate_vma_page_range (mm/gup.c) */
  populateVmaPageRange(vma: VmAreaStruct, start: number, end: number): number {
    return this.k.populateRange(vma, start, end, null);
  }

  /** Fault in [start, end) of `mm`, for writing if `write`; pages faulted in, or a negative errno. @kernel faultin_page_range (mm/gup.c) */
  faultinPageRange(mm: MmStruct, start: number, end: number, write: boolean): number {
    return this.k.faultinRange(mm, start, end, write);
  }

  /** mlock or munlock the pages of [start, end) as `newFlags` say. @kernel mlock_vma_pages_range (mm/mlock.c) */
  mlockVmaPages(vma: VmAreaStruct, start: number, end: number, newFlags: number): void {
    // PG_mlocked follows the VMA flag for the mapped folios; faulting them in is the caller's populate
    this.k.mlockRange(vma, start, end, (newFlags & 0x2000) !== 0);
  }

  /** MADV_FREE: mark the anon pages of [start, end) lazily freeable. @kernel madvise_free_single_vma (mm/madvise.c) */
  madviseFree(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number): void {
    // Without reclaim, lazily freed pages are never discarded: the model keeps them (their contents stay).
    void tlb;
    void vma;
    void start;
    void end;
  }

  /** MADV_COLD / MADV_PAGEOUT on [start, end) @kernel madvise_cold_page_range / madvise_pageout_page_range (mm/madvise.c) */
  madviseColdOrPageout(_vma: VmAreaStruct, _start: number, _end: number, pageout: boolean): number {
    // deactivation has no LRU to act on yet; pageout needs swap (a later issue)
    return pageout ? this.k.needsSwap() : 0;
  }

  /** MADV_WILLNEED on [start, end); no readahead in the model. @kernel madvise_willneed (mm/madvise.c) */
  madviseWillneed(_vma: VmAreaStruct, _start: number, _end: number): number {
    return 0;
  }

  /** Install guard markers over [start, end) (MADV_GUARD_INSTALL) @kernel guard_install (mm/madvise.c) */
  guardInstall(vma: VmAreaStruct, start: number, end: number): number {
    return this.k.installMarkers(vma, start, end, 'guard');
  }

  /** Remove guard markers from [start, end) (MADV_GUARD_REMOVE) @kernel guard_remove (mm/madvise.c) */
  guardRemove(vma: VmAreaStruct, start: number, end: number): number {
    return this.k.removeMarkers(vma, start, end, 'guard');
  }

  /** Raise the mm's RSS high-water mark to its current RSS. @kernel update_hiwater_rss (include/linux/mm.h) */
  updateHiwaterRss(mm: MmStruct): void {
    const rss = mm.rssStat[MM_ANONPAGES]! + mm.rssStat[MM_FILEPAGES]! + mm.rssStat[MM_SHMEMPAGES]!;
    if (rss > mm.hiwaterRss) mm.hiwaterRss = rss;
  }
}

/** Whether the PMD slot holds a leaf. */
export function pmdIsLeaf(mm: MmPgtables, pmdp: number): boolean {
  const c = mm.pt.codec;
  const v = pmdpGet(mm, pmdp, pv);
  return !c.pmdNone(v) && c.pmdPresent(v) && c.pmdLeaf(v);
}

/** Re-map a split PMD's pages in the rmap (PMD mapping → 512 PTE mappings). */
export function rmapSplitPmd(
  rm: FolioRmap,
  vma: VmAreaStruct,
  head: number,
  haddr: number,
  anonExclusive: boolean,
): void {
  const nr = folioNrPages(rm, head);
  if (folioTestAnon(rm, head)) {
    folioAddAnonRmapPtes(rm, head, head, nr, rmapVma(vma), haddr, anonExclusive ? RMAP_EXCLUSIVE : RMAP_NONE);
  } else {
    folioAddFileRmapPtes(rm, head, head, nr, rmapVma(vma));
  }
  folioRemoveRmapPmd(rm, head, head, rmapVma(vma));
}

export { PMD_LEVEL, splitHugePmdLocked };
