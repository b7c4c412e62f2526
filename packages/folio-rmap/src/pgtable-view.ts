/**
 * DOC: the page-table view: everything the rmap reads or writes in page
 * tables, as a small interface the composer implements over
 * `@mm/pgtable-arch` (tests implement it over a plain table).
 *
 * Entries cross the interface decoded into a reused {@link PtEntry} (kind,
 * PFN or swap value, arch-neutral bits), so this package never sees an
 * architecture's encoding and no call allocates. Addresses are user virtual
 * addresses of the given mm; a PMD-level call names any address inside the
 * PMD. The walker ({@link pageVmaMappedWalk}) asks for one PMD and then for
 * the PTEs of the range, in order; the rmap walks write through the
 * `set`/`clear` calls while "holding" the lock the view returns (none when
 * the view has no locks).
 *
 * Contract, per mm: `pmdRead` says whether the address range of a PMD has
 * no page table (PMD_NONE), a PTE table (PMD_TABLE), or a leaf or
 * non-present huge entry (PMD_LEAF, `out` filled). `pteRead` fills `out`
 * for one PTE (PTE_NONE for none). The `clearFlushYoung` calls test and
 * clear the accessed bit and flush the TLB entry (`ptep_clear_flush_young`);
 * `getAndClear` calls clear entries and return the old value with the dirty
 * and young bits OR'ed over the batch (`get_and_clear_ptes`), the caller
 * flushes through `flushTlbRange` (or defers it).
 */
import type { SpinLock } from '@mm/machine';
import type { RmapMm } from './vma.js';

/** Kinds of entries. */
export const PTE_NONE = 0;
/** A present entry mapping `pfn`. */
export const PTE_PRESENT = 1;
/** A swap entry; `val` is the swap entry value (`swp_entry_t.val`). */
export const PTE_SWAP = 2;
/** A migration entry for `pfn`. */
export const PTE_MIGRATION = 3;
/** A device-private entry for `pfn` (counts as a mapping). */
export const PTE_DEVICE_PRIVATE = 4;
/** A device-exclusive entry for `pfn` (counts as a mapping). */
export const PTE_DEVICE_EXCLUSIVE = 5;
/** A hwpoison entry for `pfn`. */
export const PTE_HWPOISON = 6;
/** A PTE marker (uffd-wp on a none PTE, poisoned, guard). */
export const PTE_MARKER = 7;

/** Bits of {@link PtEntry.bits}. Present entries: */
export const PTE_WRITE = 1 << 0;
/** `pte_dirty`: the page was written through this entry. */
export const PTE_DIRTY = 1 << 1;
/** `pte_young`: the page was accessed through this entry since the bit was last cleared. */
export const PTE_YOUNG = 1 << 2;
/** `pte_soft_dirty`: written since soft-dirty bits were last cleared (/proc/PID/clear_refs). */
export const PTE_SOFT_DIRTY = 1 << 3;
/** `pte_uffd_wp`: userfaultfd write-protected. */
export const PTE_UFFD_WP = 1 << 4;
/** `pte_special`: no struct page behind it as far as the rmap cares. */
export const PTE_SPECIAL = 1 << 5;
/** `pte_unused`: a guest discarded the page (s390). */
export const PTE_UNUSED = 1 << 6;
/** Swap and migration entries: `pte_swp_exclusive` (the page was PageAnonExclusive). */
export const PTE_SWP_EXCLUSIVE = 1 << 7;
/** Migration entries: writable (else readable; readable-exclusive with PTE_SWP_EXCLUSIVE). */
export const PTE_MIGRATION_WRITE = 1 << 8;

/** Results of {@link PgtableView.pmdRead}. */
export const PMD_NONE = 0;
/** The PMD points to a PTE table. */
export const PMD_TABLE = 1;
/** The PMD maps a huge page or holds a non-present huge entry. */
export const PMD_LEAF = 2;

/** A decoded page-table entry (reuse one; views fill it in place). */
export class PtEntry {
  /** PTE_NONE, PTE_PRESENT, PTE_SWAP, ... */
  kind: number;
  /** Page frame of present, migration, device and hwpoison entries. */
  pfn: number;
  /** Swap entry value of PTE_SWAP entries. */
  val: number;
  /** PTE_WRITE | PTE_DIRTY | ... */
  bits: number;

  constructor() {
    this.kind = PTE_NONE;
    this.pfn = 0;
    this.val = 0;
    this.bits = 0;
  }

  /** Copy `o` into this entry. */
  set(o: PtEntry): this {
    this.kind = o.kind;
    this.pfn = o.pfn;
    this.val = o.val;
    this.bits = o.bits;
    return this;
  }
}

/**
 * The page-table operations the rmap needs (the composer adapts
 * `@mm/pgtable-arch`; see the README for the mapping to kernel helpers).
 */
export interface PgtableView {
  /** PMD_NONE / PMD_TABLE, or PMD_LEAF with `out` filled (present THP, migration or device entry). `pmdp_get_lockless`. */
  pmdRead(mm: RmapMm, addr: number, out: PtEntry): number;
  /** Fill `out` with the PTE mapping `addr`. `ptep_get`. */
  pteRead(mm: RmapMm, addr: number, out: PtEntry): void;
  /** Write `e` into the PTE at `addr`. `set_pte_at`. */
  pteWrite(mm: RmapMm, addr: number, e: PtEntry): void;
  /** Clear `nr` PTEs from `addr`; `out` gets the first, with PTE_DIRTY/PTE_YOUNG OR'ed over all. `get_and_clear_ptes`. */
  pteGetAndClear(mm: RmapMm, addr: number, nr: number, out: PtEntry): void;
  /** Test and clear the young bit of `nr` PTEs from `addr`, flushing it from TLBs; true if any was young. `clear_flush_young_ptes`. */
  pteClearFlushYoung(mm: RmapMm, addr: number, nr: number): boolean;
  /** Write `e` into the PMD covering `addr`. `set_pmd_at`. */
  pmdWrite(mm: RmapMm, addr: number, e: PtEntry): void;
  /** Clear the PMD leaf covering `addr`, `out` gets the old value. `pmdp_huge_get_and_clear` / `pmdp_invalidate`. */
  pmdGetAndClear(mm: RmapMm, addr: number, out: PtEntry): void;
  /** Test and clear the young bit of the PMD leaf, flushing it. `pmdp_clear_flush_young`. */
  pmdClearFlushYoung(mm: RmapMm, addr: number): boolean;
  /**
   * Give the (cleared) PMD covering `addr` a PTE table with every entry none,
   * the deposited table of a THP (`pgtable_trans_huge_withdraw` + `pmd_populate`).
   */
  pmdPopulateTable(mm: RmapMm, addr: number): void;
  /** Flush the TLB entries of [start, end). `flush_tlb_range`. */
  flushTlbRange(mm: RmapMm, start: number, end: number): void;
  /** The lock of the PTE table (or PMD, `level` 1) covering `addr`; null for a view without locks. `pte_lockptr` / `pmd_lockptr`. */
  ptLock?(mm: RmapMm, addr: number, level: number): SpinLock | null;
}
