/**
 * DOC: the page-table view `@mm/folio-rmap`'s rmap walks read and write
 * through (`PgtableView`), implemented over `@mm/pgtable-arch`.
 *
 * `folio_referenced`, `try_to_unmap` and `folio_mkclean` find a folio's
 * mappings with `rmap_walk` (the anon_vma tree, or the file's i_mmap
 * interval tree by page offset) and `page_vma_mapped_walk`, then test and
 * clear young bits, clear PTEs or write them back cleaned and
 * write-protected. Each call here finds the entry with `mm_find_pmd` /
 * `pte_offset_map`, and takes the PTE table's lock for a write
 * (`pte_offset_map_lock`), so the page-table layer's lock checks hold.
 * Entries cross decoded (`EntryCodec`); a present entry written back
 * after `get_and_clear` keeps its architecture bits (protection, exec,
 * user) with only the rmap's changes applied, as `pte_wrprotect(pte_mkclean())`
 * of the cleared value does in the kernel.
 */
import {
  type PgtableView,
  PMD_LEAF,
  PMD_NONE,
  PMD_TABLE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_DIRTY,
  PTE_HWPOISON,
  PTE_MARKER,
  PTE_MIGRATION,
  PTE_MIGRATION_WRITE,
  PTE_NONE,
  PTE_PRESENT,
  PTE_SOFT_DIRTY,
  PTE_SPECIAL,
  PTE_SWAP,
  PTE_SWP_EXCLUSIVE,
  PTE_UFFD_WP,
  PTE_WRITE,
  PTE_YOUNG,
  type PtEntry,
  type RmapMm,
} from '@mm/folio-rmap';
import { MmBugError } from '@mm/machine';
import {
  getAndClearFullPtes,
  LEAF_KIND,
  type MmPgtables,
  mmFindPmd,
  type PageTables,
  PTE_LEVEL,
  PTE_MARKER_UFFD_WP,
  PteVal,
  PteView,
  pmdpGet,
  pmdpHugeGetAndClear,
  pmdpTestAndClearYoung,
  pteOffsetMap,
  pteOffsetMapLock,
  ptepClearFlushYoung,
  ptepGet,
  ptepGetAndClear,
  pteUnmap,
  pteUnmapUnlock,
  setPmdAt,
  setPteAt,
} from '@mm/pgtable-arch';
import type { MmStruct } from '../mm/mm-types.js';

const KIND_OF_LEAF: readonly number[] = [
  PTE_NONE, // NONE
  PTE_PRESENT, // PRESENT
  PTE_SWAP, // SWAP
  PTE_MIGRATION, // MIGRATION_READ
  PTE_MIGRATION, // MIGRATION_READ_EXCLUSIVE
  PTE_MIGRATION, // MIGRATION_WRITE
  PTE_DEVICE_PRIVATE, // DEVICE_PRIVATE_READ
  PTE_DEVICE_PRIVATE, // DEVICE_PRIVATE_WRITE
  PTE_DEVICE_EXCLUSIVE, // DEVICE_EXCLUSIVE
  PTE_HWPOISON, // HWPOISON
  PTE_MARKER, // MARKER
];

/** {@link PgtableView} over `@mm/pgtable-arch`'s tables of the kernel's mms. */
export class ArchRmapView implements PgtableView {
  private readonly pt: PageTables;
  private readonly view = new PteView();
  private readonly v = new PteVal();
  private readonly w = new PteVal();
  /** The last entry `pteGetAndClear` cleared (one PTE), kept for the write-back. */
  private readonly stash = new PteVal();
  private stashMm: MmPgtables | null = null;
  private stashAddr = -1;
  /** The last PMD leaf `pmdGetAndClear` took, for the `pmdWrite` that puts it back changed. */
  private readonly pmdStash = new PteVal();
  private pmdStashMm: MmPgtables | null = null;
  private pmdStashAddr = -1;

  constructor(pt: PageTables) {
    this.pt = pt;
  }

  private pgt(mm: RmapMm): MmPgtables {
    const p = (mm as MmStruct).pgt;
    if (p === null) throw new MmBugError('rmap view: an mm without page tables');
    return p as MmPgtables;
  }

  /** Decode a raw entry into the rmap's {@link PtEntry}. */
  private decode(v: PteVal, pmd: boolean, out: PtEntry): void {
    const c = this.pt.codec;
    if (!pmd) {
      // the common cases without the full view: none, and present PTEs
      if (c.pteNone(v)) {
        out.kind = PTE_NONE;
        out.pfn = 0;
        out.val = 0;
        out.bits = 0;
        return;
      }
      if (c.ptePresent(v)) {
        out.kind = PTE_PRESENT;
        out.pfn = c.ptePfn(v);
        out.val = 0;
        out.bits =
          (c.pteWrite(v) ? PTE_WRITE : 0) |
          (c.pteDirty(v) ? PTE_DIRTY : 0) |
          (c.pteYoung(v) ? PTE_YOUNG : 0) |
          (c.pteSpecial(v) ? PTE_SPECIAL : 0) |
          (c.pteSoftDirty(v) ? PTE_SOFT_DIRTY : 0) |
          (c.pteUffdWp(v) ? PTE_UFFD_WP : 0);
        return;
      }
    }
    const e = this.pt.entries;
    const d = pmd ? e.decodePmd(v, this.view) : e.decodePte(v, this.view);
    out.kind = KIND_OF_LEAF[d.kind] ?? PTE_NONE;
    out.pfn = Math.max(d.pfn, 0);
    out.val = d.kind === LEAF_KIND.SWAP ? d.swapOffset : 0;
    let bits = 0;
    if (d.kind === LEAF_KIND.PRESENT) {
      if (d.write) bits |= PTE_WRITE;
      if (d.dirty) bits |= PTE_DIRTY;
      if (d.young) bits |= PTE_YOUNG;
      if (d.special) bits |= PTE_SPECIAL;
    } else {
      if (d.exclusive) bits |= PTE_SWP_EXCLUSIVE;
      if (d.kind === LEAF_KIND.MIGRATION_WRITE || d.kind === LEAF_KIND.DEVICE_PRIVATE_WRITE)
        bits |= PTE_MIGRATION_WRITE;
      if (d.kind === LEAF_KIND.MIGRATION_READ_EXCLUSIVE) bits |= PTE_SWP_EXCLUSIVE;
    }
    if (d.softDirty) bits |= PTE_SOFT_DIRTY;
    if (d.uffdWp || (d.kind === LEAF_KIND.MARKER && (d.marker & PTE_MARKER_UFFD_WP) !== 0)) bits |= PTE_UFFD_WP;
    out.bits = bits;
  }

  /** Build the raw PTE for `e` at `addr` (present: from the stashed cleared value when it is the same page). */
  private encodePte(pgt: MmPgtables, addr: number, e: PtEntry, out: PteVal): PteVal {
    const c = this.pt.codec;
    if (e.kind === PTE_NONE) {
      out.setWords(0, 0);
      return out;
    }
    if (e.kind === PTE_PRESENT) {
      if (this.stashMm === pgt && this.stashAddr === addr && c.ptePfn(this.stash) === e.pfn) {
        out.lo = this.stash.lo;
        out.hi = this.stash.hi;
        if (e.bits & PTE_WRITE) c.pteMkwrite(out);
        else c.pteWrprotect(out);
        if (e.bits & PTE_DIRTY) c.pteMkdirty(out);
        else c.pteMkclean(out);
        if (e.bits & PTE_YOUNG) c.pteMkyoung(out);
        else c.pteMkold(out);
        if (e.bits & PTE_SOFT_DIRTY) c.pteMksoftDirty(out);
        else c.pteClearSoftDirty(out);
        if (e.bits & PTE_UFFD_WP) c.pteMkuffdWp(out);
        return out;
      }
      throw new MmBugError(`rmap view: write of a present PTE at ${addr.toString(16)} that was not cleared first`);
    }
    const d = this.view.clear();
    d.pfn = e.pfn;
    d.uffdWp = (e.bits & PTE_UFFD_WP) !== 0;
    d.softDirty = (e.bits & PTE_SOFT_DIRTY) !== 0;
    d.exclusive = (e.bits & PTE_SWP_EXCLUSIVE) !== 0;
    switch (e.kind) {
      case PTE_MARKER:
        d.kind = LEAF_KIND.MARKER;
        d.marker = e.bits & PTE_UFFD_WP ? PTE_MARKER_UFFD_WP : 0;
        d.uffdWp = false;
        break;
      case PTE_MIGRATION:
        d.kind =
          e.bits & PTE_MIGRATION_WRITE
            ? LEAF_KIND.MIGRATION_WRITE
            : e.bits & PTE_SWP_EXCLUSIVE
              ? LEAF_KIND.MIGRATION_READ_EXCLUSIVE
              : LEAF_KIND.MIGRATION_READ;
        d.exclusive = false;
        break;
      case PTE_HWPOISON:
        d.kind = LEAF_KIND.HWPOISON;
        break;
      default:
        // swap entries need a swap device (swap is not modelled yet)
        throw new MmBugError(`rmap view: cannot install an entry of kind ${e.kind} at ${addr.toString(16)}`);
    }
    return this.pt.entries.encodePte(out, d);
  }

  /** @kernel pmdp_get_lockless + pmd_trans_huge (via mm_find_pmd) */
  pmdRead(mm: RmapMm, addr: number, out: PtEntry): number {
    const pgt = this.pgt(mm);
    const pmdp = mmFindPmd(pgt, addr);
    if (pmdp < 0) return PMD_NONE;
    const c = this.pt.codec;
    const v = pmdpGet(pgt, pmdp, this.v);
    if (c.pmdNone(v)) return PMD_NONE;
    if (c.pmdPresent(v) && !c.pmdLeaf(v)) return PMD_TABLE;
    this.decode(v, true, out);
    return PMD_LEAF;
  }

  /** @kernel pte_offset_map + ptep_get */
  pteRead(mm: RmapMm, addr: number, out: PtEntry): void {
    const pgt = this.pgt(mm);
    const pmdp = mmFindPmd(pgt, addr);
    const ptep = pmdp < 0 ? -1 : pteOffsetMap(pgt, pmdp, addr);
    if (ptep < 0) {
      out.kind = PTE_NONE;
      out.pfn = 0;
      out.val = 0;
      out.bits = 0;
      return;
    }
    this.decode(ptepGet(pgt, ptep, this.v), false, out);
    pteUnmap(pgt, ptep);
  }

  /** Lock the PTE table of `addr`: its slot, or throws (the walk found an entry there). */
  private lockPte(pgt: MmPgtables, addr: number): number {
    const pmdp = mmFindPmd(pgt, addr);
    const ptep = pmdp < 0 ? -1 : pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0) throw new MmBugError(`rmap view: no PTE table at ${addr.toString(16)}`);
    return ptep;
  }

  /** @kernel set_pte_at (pte_clear for a none entry) */
  pteWrite(mm: RmapMm, addr: number, e: PtEntry): void {
    const pgt = this.pgt(mm);
    const ptep = this.lockPte(pgt, addr);
    if (e.kind === PTE_NONE) ptepGetAndClear(pgt, addr, ptep, this.w);
    else setPteAt(pgt, addr, ptep, this.encodePte(pgt, addr, e, this.w));
    pteUnmapUnlock(pgt, ptep);
  }

  /** @kernel get_and_clear_ptes */
  pteGetAndClear(mm: RmapMm, addr: number, nr: number, out: PtEntry): void {
    const pgt = this.pgt(mm);
    const ptep = this.lockPte(pgt, addr);
    const v = getAndClearFullPtes(pgt, addr, ptep, nr, false, this.v);
    this.stash.lo = v.lo;
    this.stash.hi = v.hi;
    this.stashMm = pgt;
    this.stashAddr = addr;
    this.decode(v, false, out);
    pteUnmapUnlock(pgt, ptep);
  }

  /** @kernel clear_flush_young_ptes (ptep_clear_flush_young per PTE) */
  pteClearFlushYoung(mm: RmapMm, addr: number, nr: number): boolean {
    const pgt = this.pgt(mm);
    const ptep = this.lockPte(pgt, addr);
    let young = false;
    for (let i = 0; i < nr; i++) {
      if (ptepClearFlushYoung(pgt, addr + i * this.pt.pageSize, ptep + i)) young = true;
    }
    pteUnmapUnlock(pgt, ptep);
    return young;
  }

  /**
   * Write a PMD leaf: none (clear it), or a present leaf rebuilt from the one
   * `pmdGetAndClear` just took at the same address with the access bits
   * `e` gives (`folio_mkclean` of a PMD-mapped shmem THP). Migration
   * entries at PMD level are not wired (no migration): `MmBugError`.
   * @kernel set_pmd_at (include/linux/pgtable.h)
   */
  pmdWrite(mm: RmapMm, addr: number, e: PtEntry): void {
    const pgt = this.pgt(mm);
    const pmdp = mmFindPmd(pgt, addr);
    if (pmdp < 0) throw new MmBugError(`rmap view: no PMD at ${addr.toString(16)}`);
    const c = this.pt.codec;
    const pmdSize = this.pt.pageSize * (this.pt.ptrs[PTE_LEVEL] as number);
    const haddr = addr - (addr % pmdSize);
    const out = this.w;
    if (e.kind === PTE_NONE) {
      out.setWords(0, 0);
    } else if (
      e.kind === PTE_PRESENT &&
      this.pmdStashMm === pgt &&
      this.pmdStashAddr === haddr &&
      c.pmdPfn(this.pmdStash) === e.pfn
    ) {
      out.lo = this.pmdStash.lo;
      out.hi = this.pmdStash.hi;
      if (e.bits & PTE_WRITE) c.pteMkwrite(out);
      else c.pteWrprotect(out);
      if (e.bits & PTE_DIRTY) c.pteMkdirty(out);
      else c.pteMkclean(out);
      if (e.bits & PTE_YOUNG) c.pteMkyoung(out);
      else c.pteMkold(out);
      if (e.bits & PTE_SOFT_DIRTY) c.pteMksoftDirty(out);
      else c.pteClearSoftDirty(out);
      if (e.bits & PTE_UFFD_WP) c.pteMkuffdWp(out);
    } else {
      throw new MmBugError(`rmap view: cannot write a PMD entry of kind ${e.kind} at ${addr.toString(16)}`);
    }
    this.pt.pmdLock(pgt, pmdp);
    setPmdAt(pgt, haddr, pmdp, out);
    this.pt.pmdUnlock(pgt, pmdp);
  }

  /** @kernel pmdp_huge_get_and_clear */
  pmdGetAndClear(mm: RmapMm, addr: number, out: PtEntry): void {
    const pgt = this.pgt(mm);
    const pmdp = mmFindPmd(pgt, addr);
    if (pmdp < 0) throw new MmBugError(`rmap view: no PMD at ${addr.toString(16)}`);
    this.pt.pmdLock(pgt, pmdp);
    const pmdSize = this.pt.pageSize * (this.pt.ptrs[PTE_LEVEL] as number);
    const haddr = addr - (addr % pmdSize);
    const v = pmdpHugeGetAndClear(pgt, haddr, pmdp, this.v);
    this.pmdStash.lo = v.lo;
    this.pmdStash.hi = v.hi;
    this.pmdStashMm = pgt;
    this.pmdStashAddr = haddr;
    this.decode(v, true, out);
    this.pt.pmdUnlock(pgt, pmdp);
  }

  /** @kernel pmdp_clear_flush_young */
  pmdClearFlushYoung(mm: RmapMm, addr: number): boolean {
    const pgt = this.pgt(mm);
    const pmdp = mmFindPmd(pgt, addr);
    if (pmdp < 0) return false;
    this.pt.pmdLock(pgt, pmdp);
    const young = pmdpTestAndClearYoung(pgt, addr, pmdp);
    this.pt.pmdUnlock(pgt, pmdp);
    return young;
  }

  /** @kernel pgtable_trans_huge_withdraw + pmd_populate (not needed without PMD unmaps) */
  pmdPopulateTable(_mm: RmapMm, addr: number): void {
    throw new MmBugError(`rmap view: PMD table population is not wired (at ${addr.toString(16)})`);
  }

  /** @kernel flush_tlb_range */
  flushTlbRange(mm: RmapMm, start: number, end: number): void {
    this.pt.machine.mmu.flushTlbRange(this.pgt(mm).as, start, end);
  }
}
