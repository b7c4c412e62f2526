/**
 * DOC: what the swap code asks of folios, and a default implementation.
 *
 * Folios belong to `@mm/folio-rmap`. The swap cache only stores folio
 * handles (head PFNs) and asks the consumer, through {@link SwapFolioOps},
 * for everything folio-side: order, lock, flags (PG_swapcache, PG_uptodate,
 * PG_dirty, PG_writeback, PG_readahead), `folio->swap`, references, whether
 * page tables still map it, page contents (the 32-bit content tokens of the
 * machine's memmap), allocation of swap-in folios and putting them on the
 * LRU. `apps/kernel` wires in folio-rmap's implementation.
 *
 * {@link MemmapFolios} is a complete implementation on a `@mm/machine`
 * memmap, for users of this package alone and for its tests: flags,
 * reference counts, `private` (= `folio->swap`), `_mapcount` and content
 * tokens are the machine's per-page arrays, and folios come from its buddy
 * allocator as compound pages.
 */
import {
  __GFP_COMP,
  ENOMEM,
  type Machine,
  type MemSection,
  PG_dirty,
  PG_head,
  PG_locked,
  PG_readahead,
  PG_swapbacked,
  PG_swapcache,
  PG_uptodate,
  PG_writeback,
} from '@mm/machine';

/** The folio services the swap code needs; folios are head PFNs. */
export interface SwapFolioOps {
  /** Order of the folio (log2 of its pages) @kernel folio_order (include/linux/mm.h) */
  folioOrder(folio: number): number;
  /** NUMA node of the folio (for the NR_SWAPCACHE node counter). @kernel folio_nid */
  folioNid(folio: number): number;
  /** Whether the folio is locked. @kernel folio_test_locked (include/linux/page-flags.h) */
  folioTestLocked(folio: number): boolean;
  /** Try to lock the folio without waiting; true on success. @kernel folio_trylock (include/linux/pagemap.h) */
  folioTrylock(folio: number): boolean;
  /** Unlock the folio. @kernel folio_unlock (mm/filemap.c) */
  folioUnlock(folio: number): void;
  /** Whether the folio is in the swap cache. @kernel folio_test_swapcache (include/linux/page-flags.h) */
  folioTestSwapcache(folio: number): boolean;
  /** Set PG_swapcache and `folio->swap = entry`. */
  folioSetSwapcache(folio: number, entry: number): void;
  /** Clear PG_swapcache and `folio->swap`. */
  folioClearSwapcache(folio: number): void;
  /** `folio->swap` (the first entry), meaningful while PG_swapcache is set. */
  folioSwap(folio: number): number;
  /** Whether the folio's contents are valid. @kernel folio_test_uptodate */
  folioTestUptodate(folio: number): boolean;
  /** Mark the folio's contents valid. @kernel folio_mark_uptodate */
  folioMarkUptodate(folio: number): void;
  /** Whether the folio is being written back. @kernel folio_test_writeback */
  folioTestWriteback(folio: number): boolean;
  /** Whether the folio is dirty. @kernel folio_test_dirty */
  folioTestDirty(folio: number): boolean;
  /** Mark the folio dirty. @kernel folio_set_dirty */
  folioSetDirty(folio: number): void;
  /** Clear the folio's dirty flag before writing it out. @kernel folio_clear_dirty_for_io */
  folioClearDirty(folio: number): void;
  /** Mark the folio as brought in by readahead. @kernel folio_set_readahead */
  folioSetReadahead(folio: number): void;
  /** Clear the folio's readahead mark; true if it was set. @kernel folio_test_clear_readahead */
  folioTestClearReadahead(folio: number): boolean;
  /** Mark the folio as backed by swap rather than a file. @kernel folio_set_swapbacked */
  folioSetSwapbacked(folio: number): void;
  /** Take `nr` references on the folio. @kernel folio_ref_add (include/linux/page_ref.h) */
  folioRefAdd(folio: number, nr: number): void;
  /** Drop `nr` references without freeing (the caller holds another). @kernel folio_ref_sub */
  folioRefSub(folio: number, nr: number): void;
  /** References held on the folio. @kernel folio_ref_count */
  folioRefCount(folio: number): number;
  /** Drop a reference, freeing the folio with the last one. @kernel folio_put (include/linux/mm.h) */
  folioPut(folio: number): void;
  /** Whether any page table maps the folio. @kernel folio_mapped */
  folioMapped(folio: number): boolean;
  /** Content token of page `i` of the folio. */
  folioContent(folio: number, i: number): number;
  /** Store content token `token` into page `i` of the folio. */
  folioSetContent(folio: number, i: number, token: number): void;
  /**
   * Allocate a locked-free, unmapped order-`order` folio for swap-in on node
   * `nid` (-1: local); the head PFN or a negative errno.
   * @kernel folio_alloc_mpol (mm/mempolicy.c)
   */
  folioAlloc(gfp: number, order: number, nid: number): number;
  /** Put a new swap-in folio on the LRU. @kernel folio_add_lru (mm/swap.c) */
  folioAddLru(folio: number): void;
}

/** The default {@link SwapFolioOps}: folios on the machine's memmap. */
export class MemmapFolios implements SwapFolioOps {
  /** The machine whose memmap holds the folios. */
  readonly machine: Machine;
  private readonly mask: number;
  /** The memmap's section table (filled in place as sections come online) and its shift. */
  private readonly sections: readonly (MemSection | undefined)[];
  private readonly shift: number;
  /** The zone of each section and the node of each zone (the memmap's tables, filled in place). */
  private readonly sectionZone: Int32Array;
  private readonly zoneNid: Int32Array;

  constructor(machine: Machine) {
    this.machine = machine;
    this.mask = machine.topology.pagesPerSection - 1;
    this.sections = machine.mem.sections;
    this.shift = machine.topology.sectionShift;
    this.sectionZone = machine.mem.zones.sectionZone;
    this.zoneNid = machine.mem.zones.nid;
  }

  /** The section of `pfn`: `mem.sec()` without the two loads to reach it (every folio call starts here). */
  private s(pfn: number): MemSection {
    return this.sections[pfn >>> this.shift] as MemSection;
  }

  private test(folio: number, bit: number): boolean {
    return (this.s(folio).flags[folio & this.mask]! & (1 << bit)) !== 0;
  }

  private set(folio: number, bit: number): void {
    const s = this.s(folio);
    const i = folio & this.mask;
    s.flags[i] = s.flags[i]! | (1 << bit);
  }

  private clear(folio: number, bit: number): void {
    const s = this.s(folio);
    const i = folio & this.mask;
    s.flags[i] = s.flags[i]! & ~(1 << bit);
  }

  folioOrder(folio: number): number {
    const s = this.s(folio);
    const i = folio & this.mask;
    return (s.flags[i]! & (1 << PG_head)) !== 0 ? s.order[i]! : 0;
  }
  folioNid(folio: number): number {
    // page_to_nid() without re-validating the PFN: a folio is a valid page
    return this.zoneNid[this.sectionZone[folio >>> this.shift]!]!;
  }
  folioTestLocked(folio: number): boolean {
    return this.test(folio, PG_locked);
  }
  folioTrylock(folio: number): boolean {
    if (this.test(folio, PG_locked)) return false;
    this.set(folio, PG_locked);
    return true;
  }
  folioUnlock(folio: number): void {
    this.clear(folio, PG_locked);
  }
  folioTestSwapcache(folio: number): boolean {
    return this.test(folio, PG_swapcache);
  }
  folioSetSwapcache(folio: number, entry: number): void {
    const s = this.s(folio);
    const i = folio & this.mask;
    s.flags[i] = s.flags[i]! | (1 << PG_swapcache);
    s.private[i] = entry;
  }
  folioClearSwapcache(folio: number): void {
    const s = this.s(folio);
    const i = folio & this.mask;
    s.flags[i] = s.flags[i]! & ~(1 << PG_swapcache);
    s.private[i] = 0;
  }
  folioSwap(folio: number): number {
    return this.s(folio).private[folio & this.mask]!;
  }
  folioTestUptodate(folio: number): boolean {
    return this.test(folio, PG_uptodate);
  }
  folioMarkUptodate(folio: number): void {
    this.set(folio, PG_uptodate);
  }
  folioTestWriteback(folio: number): boolean {
    return this.test(folio, PG_writeback);
  }
  folioTestDirty(folio: number): boolean {
    return this.test(folio, PG_dirty);
  }
  folioSetDirty(folio: number): void {
    this.set(folio, PG_dirty);
  }
  folioClearDirty(folio: number): void {
    this.clear(folio, PG_dirty);
  }
  folioSetReadahead(folio: number): void {
    this.set(folio, PG_readahead);
  }
  folioTestClearReadahead(folio: number): boolean {
    const r = this.test(folio, PG_readahead);
    if (r) this.clear(folio, PG_readahead);
    return r;
  }
  folioSetSwapbacked(folio: number): void {
    this.set(folio, PG_swapbacked);
  }
  folioRefAdd(folio: number, nr: number): void {
    const s = this.s(folio);
    const i = folio & this.mask;
    s.refcount[i] = s.refcount[i]! + nr;
  }
  folioRefSub(folio: number, nr: number): void {
    const s = this.s(folio);
    const i = folio & this.mask;
    s.refcount[i] = s.refcount[i]! - nr;
  }
  folioRefCount(folio: number): number {
    return this.s(folio).refcount[folio & this.mask]!;
  }
  folioPut(folio: number): void {
    const s = this.s(folio);
    const i = folio & this.mask;
    if (s.refcount[i] === 1) {
      // the last reference: the page allocator wants the owner's flags gone
      s.flags[i] = s.flags[i]! & (1 << PG_head);
      s.private[i] = 0;
    }
    this.machine.mem.putPage(folio);
  }
  folioMapped(folio: number): boolean {
    const s = this.s(folio);
    const i = folio & this.mask;
    const n = 1 << this.folioOrder(folio);
    for (let k = 0; k < n; k++) if (s.mapcount[i + k]! >= 0) return true;
    return false;
  }
  folioContent(folio: number, i: number): number {
    const p = folio + i;
    return this.s(p).content[p & this.mask]!;
  }
  folioSetContent(folio: number, i: number, token: number): void {
    const p = folio + i;
    this.s(p).content[p & this.mask] = token;
  }
  folioAlloc(gfp: number, order: number, nid: number): number {
    const pfn = this.machine.mem.allocPages(order > 0 ? gfp | __GFP_COMP : gfp, order, nid);
    return pfn < 0 ? -ENOMEM : pfn;
  }
  folioAddLru(_folio: number): void {
    // no LRU in the memmap-only implementation
  }
}
