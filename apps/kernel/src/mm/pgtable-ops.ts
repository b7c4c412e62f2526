/**
 * DOC: the page-table ops seam: what the VMA code asks of page tables.
 *
 * The VMA layer (mm/vma.c, mmap.c, mremap.c, mprotect.c, madvise.c,
 * mlock.c) decides which ranges change; the page-table code (mm/memory.c,
 * mm/pgtable-generic.c, mm/mremap.c's per-extent loop, mm/mprotect.c's
 * `change_protection()`, mm/gup.c's populate) changes the entries. This
 * interface is that boundary: the composer implements it with
 * `@mm/pgtable-arch` and `@mm/folio-rmap`. Every method names the kernel
 * function it stands for and is called where the kernel calls it, with the
 * kernel's arguments.
 *
 * The VMA-side halves of the kernel functions stay in the VMA code:
 * `unmap_region()`, `unmap_vmas()` and `free_pgtables()` walk the VMAs,
 * unlink their anon_vmas and file mappings and call {@link
 * PageTableOps.zapVmaRange} / {@link PageTableOps.freePgdRange} per range,
 * as the kernel does.
 *
 * {@link RecordingPageTableOps} implements it for an address space that has
 * no populated page tables (nothing has faulted): each call is recorded
 * (tests assert them), zaps and protection changes touch no entry, a move
 * moves every (empty) extent, and populate reports the pages it was asked
 * for. Tests can make a move come up short to reach mremap's undo path.
 */
import type { MmStruct, VmAreaStruct } from './mm-types.js';

/**
 * A TLB-flush batch over one address space, opened by `tlb_gather_mmu()`
 * and flushed by `tlb_finish_mmu()`; opaque to the VMA code.
 * @kernel struct mmu_gather (include/asm-generic/tlb.h)
 */
export interface MmuGather {
  /** The address space whose TLB entries the batch flushes; mirrors `mmu_gather::mm`. */
  readonly mm: MmStruct;
}

/** `zap_details.zap_flags`: drop PTE markers (uffd-wp, guard) too. */
export const ZAP_FLAG_DROP_MARKER = 1 << 0;
/** `zap_details.zap_flags`: the range is being unmapped (not just zapped). */
export const ZAP_FLAG_UNMAP = 1 << 1;

/** The state of one page-table move. @kernel struct pagetable_move_control (mm/internal.h) */
export interface PagetableMoveControl {
  /** The source VMA, or null; mirrors `pagetable_move_control::old`. */
  old: VmAreaStruct | null;
  /** The target VMA, or null; mirrors `pagetable_move_control::new`. */
  new: VmAreaStruct | null;
  /** Advanced as extents are moved. */
  oldAddr: number;
  /** Exclusive end of the source range (never realigned). */
  readonly oldEnd: number;
  /** Where the next extent lands in the target; advanced with `oldAddr`; mirrors `pagetable_move_control::new_addr`. */
  newAddr: number;
  /** The requested length. */
  readonly lenIn: number;
  /** Take the rmap locks around entry moves (the target VMA's pgoff is below the source's). */
  needRmapLocks: boolean;
  /** A stack relocation at exec (the source and target are one VMA). */
  readonly forStack: boolean;
}

/** `MM_CP_*` flags of change_protection(). */
export const MM_CP_TRY_CHANGE_WRITABLE = 1 << 0;
/** change_protection() flag `MM_CP_PROT_NUMA` (include/linux/mm.h). */
export const MM_CP_PROT_NUMA = 1 << 1;
/** change_protection() flag `MM_CP_UFFD_WP` (include/linux/mm.h). */
export const MM_CP_UFFD_WP = 1 << 2;
/** change_protection() flag `MM_CP_UFFD_WP_RESOLVE` (include/linux/mm.h). */
export const MM_CP_UFFD_WP_RESOLVE = 1 << 3;

/** What the VMA code asks of page tables. */
export interface PageTableOps {
  /** Start gathering page-table changes of `mm` for one TLB flush. @kernel tlb_gather_mmu (mm/mmu_gather.c) */
  tlbGatherMmu(mm: MmStruct): MmuGather;
  /** Flush the TLBs and free the pages and tables the batch gathered. @kernel tlb_finish_mmu (mm/mmu_gather.c) */
  tlbFinishMmu(tlb: MmuGather): void;
  /**
   * Zap the entries of `[start, end)` in `vma` into the caller's batch.
   * `zapFlags` are ZAP_FLAG_*; MADV_DONTNEED passes none (guard and uffd-wp
   * markers stay), unmapping passes both.
   * @kernel __zap_vma_range (mm/memory.c)
   */
  zapVmaRange(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, zapFlags: number): void;
  /**
   * Free the page tables covering `[addr, end)`, not below `floor` nor above
   * `ceiling` (0 = the top of the address space), which other VMAs may share.
   * @kernel free_pgd_range (mm/memory.c)
   */
  freePgdRange(tlb: MmuGather, addr: number, end: number, floor: number, ceiling: number): void;
  /**
   * Split huge page-table entries straddling `start`, `end` (and `next`'s new start).
   * @kernel vma_adjust_trans_huge (mm/huge_memory.c)
   */
  vmaAdjustTransHuge(vma: VmAreaStruct, start: number, end: number, next: VmAreaStruct | null): void;
  /**
   * Apply the VMA's new protection to the entries of `[start, end)`.
   * @returns the number of entries changed.
   * @kernel change_protection (mm/mprotect.c)
   */
  changeProtection(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number, cpFlags: number): number;
  /**
   * Move the entries of `[pmc.oldAddr, pmc.oldEnd)` to `pmc.newAddr`, extent by
   * extent, advancing `oldAddr`/`newAddr`; stops early when a page table
   * cannot be allocated (the caller undoes a short move).
   * @kernel move_page_tables (mm/mremap.c), the per-extent loop
   */
  movePageTables(pmc: PagetableMoveControl): void;
  /**
   * Fault in `[start, end)` of one VMA (write faults for private writable
   * mappings, none for VM_LOCKONFAULT).
   * @returns pages populated, or a negative errno.
   * @kernel populate_vma_page_range (mm/gup.c)
   */
  populateVmaPageRange(vma: VmAreaStruct, start: number, end: number): number;
  /**
   * Fault in `[start, end)` of `mm` for MADV_POPULATE_(READ|WRITE), VMA by VMA.
   * @returns pages populated, or a negative errno (-EFAULT, -EINVAL, -ENOMEM, -EHWPOISON).
   * @kernel faultin_page_range (mm/gup.c)
   */
  faultinPageRange(mm: MmStruct, start: number, end: number, write: boolean): number;
  /**
   * mlock or munlock the folios mapped in `[start, end)` after the VMA's flags became `newFlags`.
   * @kernel mlock_vma_pages_range (mm/mlock.c)
   */
  mlockVmaPages(vma: VmAreaStruct, start: number, end: number, newFlags: number): void;
  /**
   * Lazy-free the anonymous pages of `[start, end)`.
   * @kernel madvise_free_single_vma (mm/madvise.c)
   */
  madviseFree(tlb: MmuGather, vma: VmAreaStruct, start: number, end: number): void;
  /**
   * Deactivate (`pageout` false) or reclaim (`pageout` true) the exclusive folios of `[start, end)`.
   * @returns 0, or a negative errno (no swap to page out to).
   * @kernel madvise_cold_page_range / madvise_pageout_page_range (mm/madvise.c)
   */
  madviseColdOrPageout(vma: VmAreaStruct, start: number, end: number, pageout: boolean): number;
  /**
   * Read ahead / swap in `[start, end)`.
   * @returns 0 or a negative errno.
   * @kernel madvise_willneed (mm/madvise.c)
   */
  madviseWillneed(vma: VmAreaStruct, start: number, end: number): number;
  /**
   * Install guard markers on the empty entries of `[start, end)`.
   * @returns 0 when every entry of the range is a guard marker, 1 when a
   * populated entry was met (the caller zaps and retries), or a negative errno.
   * @kernel walk_page_range_mm_unsafe with guard_install_* (mm/madvise.c)
   */
  guardInstall(vma: VmAreaStruct, start: number, end: number): number;
  /**
   * Clear the guard markers of `[start, end)`.
   * @returns 0 or a negative errno.
   * @kernel walk_page_range_vma with guard_remove_* (mm/madvise.c)
   */
  guardRemove(vma: VmAreaStruct, start: number, end: number): number;
  /**
   * Raise `hiwater_rss` to the current RSS before a decrease.
   * @kernel update_hiwater_rss (include/linux/mm.h)
   */
  updateHiwaterRss(mm: MmStruct): void;
}

/** One recorded page-table call. */
export interface PageTableCall {
  /** The method called, named after the kernel function it stands for. */
  readonly op: string;
  /** The calling mm's pid. */
  readonly pid: number;
  /** The range the call covers, and call-specific numbers. */
  readonly args: readonly number[];
}

/**
 * Page tables of an address space that has never faulted: every call is
 * recorded and changes no entry.
 */
export class RecordingPageTableOps implements PageTableOps {
  /** The calls made so far, oldest first (filled only while `record` is set). */
  readonly calls: PageTableCall[];
  /** When set, the next move stops after this many bytes (to reach mremap's undo path); cleared after use. */
  shortMoveBytes: number | null;
  /** Whether to keep the call list (counts are kept anyway). */
  record: boolean;
  /** Calls per op. */
  readonly counts: Map<string, number>;

  constructor(record = true) {
    this.calls = [];
    this.shortMoveBytes = null;
    this.record = record;
    this.counts = new Map();
  }

  private note(op: string, mm: MmStruct, args: readonly number[]): void {
    this.counts.set(op, (this.counts.get(op) ?? 0) + 1);
    if (this.record) this.calls.push({ op, pid: mm.pid, args });
  }

  /** Recorded calls of one op. */
  callsOf(op: string): PageTableCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  /** Forget the recorded calls. */
  clear(): void {
    this.calls.length = 0;
  }

  tlbGatherMmu(mm: MmStruct): MmuGather {
    this.note('tlb_gather_mmu', mm, []);
    return { mm };
  }

  tlbFinishMmu(tlb: MmuGather): void {
    this.note('tlb_finish_mmu', tlb.mm, []);
  }

  zapVmaRange(tlb: MmuGather, _vma: VmAreaStruct, start: number, end: number, zapFlags: number): void {
    this.note('zap_vma_range', tlb.mm, [start, end, zapFlags]);
  }

  freePgdRange(tlb: MmuGather, addr: number, end: number, floor: number, ceiling: number): void {
    this.note('free_pgd_range', tlb.mm, [addr, end, floor, ceiling]);
  }

  vmaAdjustTransHuge(vma: VmAreaStruct, start: number, end: number, next: VmAreaStruct | null): void {
    this.note('vma_adjust_trans_huge', vma.vmMm, [start, end, next === null ? 0 : next.vmStart]);
  }

  changeProtection(tlb: MmuGather, _vma: VmAreaStruct, start: number, end: number, cpFlags: number): number {
    this.note('change_protection', tlb.mm, [start, end, cpFlags]);
    return 0;
  }

  movePageTables(pmc: PagetableMoveControl): void {
    const mm = (pmc.old as VmAreaStruct).vmMm;
    let len = pmc.oldEnd - pmc.oldAddr;
    if (this.shortMoveBytes !== null) {
      len = Math.min(len, this.shortMoveBytes);
      this.shortMoveBytes = null;
    }
    this.note('move_page_tables', mm, [pmc.oldAddr, pmc.oldEnd, pmc.newAddr, len, pmc.needRmapLocks ? 1 : 0]);
    pmc.oldAddr += len;
    pmc.newAddr += len;
  }

  populateVmaPageRange(vma: VmAreaStruct, start: number, end: number): number {
    this.note('populate_vma_page_range', vma.vmMm, [start, end]);
    return (end - start) / vma.vmMm.ctx.pageSize;
  }

  faultinPageRange(mm: MmStruct, start: number, end: number, write: boolean): number {
    this.note('faultin_page_range', mm, [start, end, write ? 1 : 0]);
    return (end - start) / mm.ctx.pageSize;
  }

  mlockVmaPages(vma: VmAreaStruct, start: number, end: number, newFlags: number): void {
    this.note('mlock_vma_pages_range', vma.vmMm, [start, end, newFlags]);
  }

  madviseFree(tlb: MmuGather, _vma: VmAreaStruct, start: number, end: number): void {
    this.note('madvise_free', tlb.mm, [start, end]);
  }

  madviseColdOrPageout(vma: VmAreaStruct, start: number, end: number, pageout: boolean): number {
    this.note(pageout ? 'madvise_pageout' : 'madvise_cold', vma.vmMm, [start, end]);
    return 0;
  }

  madviseWillneed(vma: VmAreaStruct, start: number, end: number): number {
    this.note('madvise_willneed', vma.vmMm, [start, end]);
    return 0;
  }

  guardInstall(vma: VmAreaStruct, start: number, end: number): number {
    this.note('guard_install', vma.vmMm, [start, end]);
    return 0;
  }

  guardRemove(vma: VmAreaStruct, start: number, end: number): number {
    this.note('guard_remove', vma.vmMm, [start, end]);
    return 0;
  }

  updateHiwaterRss(mm: MmStruct): void {
    this.note('update_hiwater_rss', mm, []);
  }
}
