/**
 * DOC: unmapping and freeing page tables (`mm/memory.c`): `zap_pte_range()`
 * and the levels above it, `zap_page_range_single()`, `unmap_page_range()`,
 * `free_pgtables()` / `free_pgd_range()`.
 *
 * A zap clears entries under the PTE lock inside lazy MMU mode, batches runs
 * of PTEs that map one folio (`folio_pte_batch()`), records the cleared
 * range in the mmu_gather and queues the pages there; the pages are handed
 * back to their owner only after the TLB flush. Dirty file folios delay
 * their rmap removal until that flush, which then happens before the PTE
 * lock is dropped (the kernel commit "mm: delay page_remove_rmap() until
 * after the TLB has been flushed", v6.2). Non-present entries follow the kernel's rules:
 * swap entries are freed, migration and device entries dropped, uffd-wp
 * markers dropped on anonymous VMAs and kept on file VMAs unless asked
 * (ZAP_FLAG_DROP_MARKER), guard markers kept unless asked, poison entries
 * cleared unless COWed pages are to be skipped. PMD leaves are zapped whole
 * when the range covers them (their deposited table freed), else split.
 *
 * The folios, their reference counts, rmap and RSS belong to the caller:
 * every decision that needs them goes through {@link ZapOps}.
 *
 * `free_pgtables()` then frees the tables of unmapped VMAs: each table only
 * when the whole range it covers lies inside [floor, ceiling) (`ceiling` 0
 * meaning the top), through the gather with `freed_tables` set.
 */
import { MmBugError } from '@mm/machine';
import {
  FPB_MERGE_WRITE,
  FPB_MERGE_YOUNG_DIRTY,
  P4D_LEVEL,
  PGD_LEVEL,
  PMD_LEVEL,
  PTE_LEVEL,
  PUD_LEVEL,
} from '../arch/pte-ops.js';
import { PteVal, TWO_32 } from '../entry/pteval.js';
import { LEAF_KIND, PTE_MARKER_GUARD, PTE_MARKER_POISONED, PTE_MARKER_UFFD_WP, SwpEntry } from '../entry/swapops.js';
import type { MmPgtables } from '../table/page-tables.js';
import { PgtableError } from '../table/page-tables.js';
import { pteOffsetMapLock, pteUnmapUnlock } from '../table/pgalloc.js';
import {
  getAndClearFullPtes,
  pmdpHugeGetAndClear,
  ptepGet,
  ptepGetAndClear,
  splitHugePmdLocked,
} from '../table/pgtable.js';
import { CHUNK_SLOTS_MASK, CHUNK_SLOTS_SHIFT } from '../table/ptdesc.js';
import { __ptepGet } from '../table/pte-raw.js';
import {
  __tlbRemoveFolioPages,
  freeTableTlb,
  type GatherVma,
  type MmuGather,
  type MmuGatherOps,
  tlbDelayRmap,
  tlbEndVma,
  tlbFlushMmu,
  tlbFlushMmuTlbonly,
  tlbFlushRmaps,
  tlbRemovePmdTlbEntry,
  tlbRemoveTlbEntries,
  tlbStartVma,
} from './mmu-gather.js';
import { freePte, reclaimPtIsEnabled, tryGetAndClearPmd, tryToFreePte } from './pt-reclaim.js';
import { ptePut, pteTrygetMapLock } from './pte-ref.js';

/** The parts of a `vm_area_struct` the page-table layer reads. */
export interface PgtableVma extends GatherVma {
  /** First address. @kernel vm_area_struct.vm_start */
  readonly start: number;
  /** End address (exclusive). @kernel vm_area_struct.vm_end */
  readonly end: number;
  /** The VMA has no vm_ops, so its memory is anonymous (`vma_is_anonymous()`). */
  readonly anonymous: boolean;
  /** `userfaultfd_wp(vma)`: the VMA is registered for uffd write protection. */
  readonly uffdWp?: boolean;
  /** `vm_page_prot`, for splits and re-installs (default: read-only user). */
  readonly pageProt?: PteVal;
  /** Anything the caller wants back in its callbacks (its VMA object). */
  readonly owner?: unknown;
}

/** What an unmap leaves alone or also removes. @kernel struct zap_details (include/linux/mm.h) */
export interface ZapDetails {
  /** Zap only non-anonymous folios (truncation of a file keeps private COW copies). */
  readonly skipCows?: boolean;
  /** MADV_DONTNEED: reclaim PTE tables left empty. */
  readonly reclaimPt?: boolean;
  /** ZAP_FLAG_DROP_MARKER: drop uffd-wp and guard markers too. */
  readonly dropMarkers?: boolean;
}

/** The page owner's side of a zap: folios, rmap, RSS, swap. */
export interface ZapOps extends MmuGatherOps {
  /**
   * The folio of the page `pfn` mapped at `addr`, as the PFN of its first
   * page, or -1 when the entry maps no normal page (PFN map, zero page,
   * `special` entries).
   * @kernel vm_normal_page + page_folio (mm/memory.c)
   */
  normalFolio(vma: PgtableVma, addr: number, pfn: number, special: boolean): number;
  /** Pages in the folio whose head PFN is `head`. @kernel folio_nr_pages */
  folioNrPages(head: number): number;
  /** Whether the folio is anonymous. @kernel folio_test_anon */
  folioAnon(head: number): boolean;
  /**
   * `nr` PTEs mapping pages `pfn..` of folio `head` were cleared: update
   * RSS, mark the folio dirty / accessed, and remove the rmap now unless
   * `delayRmap` (then `removeRmap` comes after the TLB flush).
   * @kernel zap_present_folio_ptes (mm/memory.c)
   */
  zapFolioPtes(
    vma: PgtableVma,
    head: number,
    pfn: number,
    nr: number,
    dirty: boolean,
    young: boolean,
    delayRmap: boolean,
  ): void;
  /** `nr` swap entries from (type, offset) were cleared. @kernel swap_put_entries_direct */
  freeSwapEntries(vma: PgtableVma, type: number, offset: number, nr: number): void;
  /** A migration, device-private or device-exclusive entry for `pfn` was cleared. */
  zapPfnEntry(vma: PgtableVma, kind: number, pfn: number): void;
  /**
   * A PMD leaf mapping folio `head` was cleared (its rmap and RSS go now; its
   * reference after the flush through `freePages`).
   * @kernel zap_huge_pmd (mm/huge_memory.c)
   */
  zapHugePmd(vma: PgtableVma, addr: number, head: number, dirty: boolean, young: boolean): void;
}

const v1 = new PteVal();
const v2 = new PteVal();
const ent = new SwpEntry();

/**
 * The number of consecutive PTEs from `ptep` (at most `max`) mapping
 * consecutive pages of the folio `first` maps, equal to `first` once the
 * bits `flags` does not respect are ignored (accessed always; dirty,
 * soft-dirty and write unless FPB_RESPECT_*). With FPB_MERGE_* the write,
 * young and dirty state of the batch is merged into `first`. `max` must
 * already be limited to the folio's remaining pages and the VMA.
 * @kernel folio_pte_batch_flags (mm/internal.h)
 */
export function folioPteBatchFlags(mm: MmPgtables, ptep: number, first: PteVal, max: number, flags: number): number {
  if (max <= 1) return 1;
  const pt = mm.pt;
  const codec = pt.codec;
  const masks = codec.batchKeepMasks();
  const f = flags & 7;
  if (masks[3 * f + 2] === 0) return folioPteBatchSlow(mm, ptep, first, max, flags);
  const kLo = masks[3 * f]!;
  const kHi = masks[3 * f + 1]!;
  const step = codec.pfnStep(first);
  const chunks = pt.pools[PTE_LEVEL]!.chunks;
  // The expected raw value, advanced one PFN per entry (as in __set_ptes()).
  let lo = (first.lo >>> 0) + step;
  let hi = first.hi;
  if (lo >= TWO_32) {
    lo -= TWO_32;
    hi = (hi + 1) | 0;
  } else if (lo < 0) {
    lo += TWO_32;
    hi = (hi - 1) | 0;
  }
  const merge = (flags & (FPB_MERGE_WRITE | FPB_MERGE_YOUNG_DIRTY)) !== 0;
  let anyWrite = false;
  let anyYoung = false;
  let anyDirty = false;
  // A PTE table never straddles a storage chunk.
  const c = chunks[ptep >>> CHUNK_SLOTS_SHIFT]!;
  let o = ((ptep & CHUNK_SLOTS_MASK) << 1) + 2;
  let n = 1;
  for (; n < max; n++, o += 2) {
    const elo = c[o]!;
    const ehi = c[o + 1]!;
    if (((elo ^ lo) & kLo) !== 0 || ((ehi ^ hi) & kHi) !== 0) break;
    if (merge) {
      v1.setWords(elo, ehi);
      if (codec.pteWrite(v1)) anyWrite = true;
      if (codec.pteYoung(v1)) anyYoung = true;
      if (codec.pteDirty(v1)) anyDirty = true;
    }
    lo += step;
    if (lo >= TWO_32) {
      lo -= TWO_32;
      hi = (hi + 1) | 0;
    } else if (lo < 0) {
      lo += TWO_32;
      hi = (hi - 1) | 0;
    }
  }
  if ((flags & FPB_MERGE_WRITE) !== 0 && anyWrite) codec.pteMkwrite(first);
  if ((flags & FPB_MERGE_YOUNG_DIRTY) !== 0) {
    if (anyYoung) codec.pteMkyoung(first);
    if (anyDirty) codec.pteMkdirty(first);
  }
  return n;
}

/** The kernel's loop, entry by entry, where the clearing is not a fixed mask. */
function folioPteBatchSlow(mm: MmPgtables, ptep: number, first: PteVal, max: number, flags: number): number {
  const pt = mm.pt;
  const codec = pt.codec;
  const expect = v2.set(first);
  codec.pteAdvancePfn(expect, 1);
  codec.pteBatchClearIgnored(expect, flags);
  let anyWrite = false;
  let anyYoung = false;
  let anyDirty = false;
  let n = 1;
  for (; n < max; n++) {
    const e = __ptepGet(pt, ptep + n, v1);
    const w = codec.pteWrite(e);
    const y = codec.pteYoung(e);
    const d = codec.pteDirty(e);
    codec.pteBatchClearIgnored(e, flags);
    if (!e.same(expect)) break;
    if (w) anyWrite = true;
    if (y) anyYoung = true;
    if (d) anyDirty = true;
    codec.pteAdvancePfn(expect, 1);
  }
  if ((flags & FPB_MERGE_WRITE) !== 0 && anyWrite) codec.pteMkwrite(first);
  if ((flags & FPB_MERGE_YOUNG_DIRTY) !== 0) {
    if (anyYoung) codec.pteMkyoung(first);
    if (anyDirty) codec.pteMkdirty(first);
  }
  return n;
}

/**
 * `folio_pte_batch()`: {@link folioPteBatchFlags} ignoring accessed, dirty,
 * soft-dirty and write, merging nothing.
 * @kernel folio_pte_batch (mm/util.c)
 */
export function folioPteBatch(mm: MmPgtables, ptep: number, first: PteVal, max: number): number {
  return folioPteBatchFlags(mm, ptep, first, max, 0);
}

/** Loop state of one `zap_pte_range()` call. */
class ZapState {
  forceFlush = false;
  forceBreak = false;
  anySkipped = false;
}

function shouldZapCows(details: ZapDetails | null): boolean {
  return details === null || details.skipCows !== true;
}

function shouldZapFolio(details: ZapDetails | null, ops: ZapOps, head: number): boolean {
  if (shouldZapCows(details)) return true;
  return !ops.folioAnon(head);
}

function zapPresentPtes(
  tlb: MmuGather,
  vma: PgtableVma,
  ptep: number,
  ptent: PteVal,
  maxNr: number,
  addr: number,
  details: ZapDetails | null,
  ops: ZapOps,
  st: ZapState,
): number {
  const mm = tlb.mm!;
  const codec = mm.pt.codec;
  const pfn = codec.ptePfn(ptent);
  const head = ops.normalFolio(vma, addr, pfn, codec.pteSpecial(ptent));
  if (head < 0) {
    ptepGetAndClear(mm, addr, ptep, v1);
    tlbRemoveTlbEntries(tlb, addr, 1);
    return 1;
  }
  if (!shouldZapFolio(details, ops, head)) {
    st.anySkipped = true;
    return 1;
  }
  const folioPages = ops.folioNrPages(head);
  let nr = 1;
  if (folioPages > 1 && maxNr > 1) nr = folioPteBatch(mm, ptep, ptent, Math.min(maxNr, head + folioPages - pfn));
  // zap_present_folio_ptes()
  const anon = ops.folioAnon(head);
  const cleared = getAndClearFullPtes(mm, addr, ptep, nr, tlb.fullmm, v1);
  let delayRmap = false;
  const dirty = codec.pteDirty(cleared);
  const young = codec.pteYoung(cleared);
  if (!anon && dirty && tlbDelayRmap(tlb)) {
    delayRmap = true;
    st.forceFlush = true;
  }
  tlbRemoveTlbEntries(tlb, addr, nr);
  ops.zapFolioPtes(vma, head, pfn, nr, !anon && dirty, !anon && young, delayRmap);
  if (__tlbRemoveFolioPages(tlb, pfn, nr, delayRmap)) {
    st.forceFlush = true;
    st.forceBreak = true;
  }
  return nr;
}

function zapNonpresentPtes(
  tlb: MmuGather,
  vma: PgtableVma,
  ptep: number,
  ptent: PteVal,
  maxNr: number,
  addr: number,
  details: ZapDetails | null,
  ops: ZapOps,
  st: ZapState,
): number {
  const mm = tlb.mm!;
  const pt = mm.pt;
  const s = pt.swap;
  st.anySkipped = true;
  s.pteToSwpEntry(ptent, ent);
  const kind = s.entryKind(ent);
  let nr = 1;
  const drop = details?.dropMarkers === true;
  if (
    kind === LEAF_KIND.DEVICE_PRIVATE_READ ||
    kind === LEAF_KIND.DEVICE_PRIVATE_WRITE ||
    kind === LEAF_KIND.DEVICE_EXCLUSIVE
  ) {
    const pfn = s.swpOffsetPfn(ent);
    if (!shouldZapFolio(details, ops, pfn)) return 1;
    ops.zapPfnEntry(vma, kind, pfn);
  } else if (kind === LEAF_KIND.SWAP) {
    if (!shouldZapCows(details)) return 1;
    // swap_pte_batch(): consecutive swap entries of one device.
    const type = ent.type;
    const offset = ent.offset;
    const c = pt.codec;
    for (; nr < maxNr; nr++) {
      const e = __ptepGet(pt, ptep + nr, v2);
      if (c.ptePresent(e) || c.pteNone(e)) break;
      const f = s.pteToSwpEntry(e, new SwpEntry());
      if (f.type !== type || f.offset !== offset + nr) break;
      if (c.pteSwpExclusive(e) !== c.pteSwpExclusive(ptent)) break;
    }
    ops.freeSwapEntries(vma, type, offset, nr);
  } else if (
    kind === LEAF_KIND.MIGRATION_READ ||
    kind === LEAF_KIND.MIGRATION_READ_EXCLUSIVE ||
    kind === LEAF_KIND.MIGRATION_WRITE
  ) {
    const pfn = s.swpOffsetPfn(ent);
    if (!shouldZapFolio(details, ops, pfn)) return 1;
    ops.zapPfnEntry(vma, kind, pfn);
  } else if (kind === LEAF_KIND.MARKER) {
    const m = s.pteMarkerGet(ent);
    if ((m & PTE_MARKER_UFFD_WP) !== 0) {
      if (!vma.anonymous && !drop) return 1;
    } else if ((m & PTE_MARKER_GUARD) !== 0) {
      if (!drop) return 1;
    } else if ((m & PTE_MARKER_POISONED) !== 0) {
      if (!shouldZapCows(details)) return 1;
    }
  } else if (kind === LEAF_KIND.HWPOISON) {
    if (!shouldZapCows(details)) return 1;
  } else {
    pt.machine.warnOn(true, `pgtable: unrecognized swap entry ${ptent.toHex()}`);
  }
  // clear_not_present_full_ptes()
  for (let i = 0; i < nr; i++) ptepGetAndClear(mm, addr + i * pt.pageSize, ptep + i, v2);
  st.anySkipped = false;
  return nr;
}

/**
 * Zap [addr, end) of the PTE table under `pmdp` (one PMD's range).
 * @returns where it stopped (== end unless there was no table).
 * @kernel zap_pte_range (mm/memory.c)
 */
export function zapPteRange(
  tlb: MmuGather,
  vma: PgtableVma,
  pmdp: number,
  addr: number,
  end: number,
  details: ZapDetails | null,
  ops: ZapOps,
): number {
  const mm = tlb.mm!;
  const pt = mm.pt;
  const codec = pt.codec;
  const pageSize = pt.pageSize;
  const start = addr;
  let canReclaim = reclaimPtIsEnabled(mm, addr, end, details?.reclaimPt === true);
  let directReclaim = true;
  let reclaimedTable = -1;
  const st = new ZapState();
  // The refcount mode ("Free user PTE page table pages" series): the zap is a visitor holding a reference while it works.
  const refMode = pt.ptReclaim === 'refcount' && !mm.isInitMm;
  for (;;) {
    const mapAddr = addr;
    const startPte = refMode ? pteTrygetMapLock(mm, pmdp, addr) : pteOffsetMapLock(mm, pmdp, addr);
    if (startPte < 0) return addr;
    const table = pt.tableOfSlot(PTE_LEVEL, startPte);
    pt.lazy.enter();
    let ptep = startPte;
    st.forceFlush = false;
    st.forceBreak = false;
    do {
      st.anySkipped = false;
      let maxNr = (end - addr) / pageSize;
      let ptent = ptepGet(mm, ptep, v1);
      let nr = 0;
      if (codec.pteNone(ptent)) {
        for (nr = 1; nr < maxNr; nr++) {
          if (!codec.pteNone(__ptepGet(pt, ptep + nr, v1))) break;
        }
        maxNr -= nr;
        if (maxNr === 0) {
          ptep += nr;
          addr += nr * pageSize;
          continue;
        }
        ptent = ptepGet(mm, ptep + nr, v1);
      }
      const p = ptep + nr;
      const a = addr + nr * pageSize;
      if (codec.ptePresent(ptent)) nr += zapPresentPtes(tlb, vma, p, ptent, maxNr, a, details, ops, st);
      else nr += zapNonpresentPtes(tlb, vma, p, ptent, maxNr, a, details, ops, st);
      if (st.anySkipped) canReclaim = false;
      ptep += nr;
      addr += nr * pageSize;
      if (st.forceBreak) {
        directReclaim = false;
        break;
      }
    } while (addr !== end);
    if (canReclaim && directReclaim && addr === end) {
      directReclaim = tryGetAndClearPmd(mm, pmdp, table);
      if (directReclaim) reclaimedTable = table;
    }
    pt.lazy.leave();
    // The TLB flush before dropping the PTL, for delayed rmaps and full batches.
    if (st.forceFlush) {
      tlbFlushMmuTlbonly(tlb);
      tlbFlushRmaps(tlb, vma.owner ?? vma);
    }
    pteUnmapUnlock(mm, startPte);
    if (st.forceFlush) tlbFlushMmu(tlb);
    // The last reference frees an emptied table through the gather.
    if (refMode) ptePut(mm, pmdp, mapAddr, tlb);
    if (addr === end) break;
  }
  if (canReclaim) {
    if (reclaimedTable >= 0) freePte(mm, start, tlb, reclaimedTable);
    else tryToFreePte(mm, pmdp, start, tlb);
  }
  return addr;
}

/**
 * Zap a PMD leaf: clear it, record the TLB range, free the deposited table,
 * give the folio to the caller and queue it for freeing (a special leaf,
 * such as the huge zero folio's, has no folio: only its table goes).
 * @kernel zap_huge_pmd (mm/huge_memory.c)
 */
export function zapHugePmd(tlb: MmuGather, vma: PgtableVma, pmdp: number, addr: number, ops: ZapOps): boolean {
  const mm = tlb.mm!;
  const pt = mm.pt;
  const codec = pt.codec;
  pt.pmdLock(mm, pmdp);
  const old = pmdpHugeGetAndClear(mm, addr, pmdp, v1);
  tlbRemovePmdTlbEntry(tlb, addr);
  const dep = pt.withdraw(pmdp);
  pt.pmdUnlock(mm, pmdp);
  if (dep >= 0) {
    // zap_deposited_table(): pte_free() + mm_dec_nr_ptes()
    pt.mmIncNr(mm, PTE_LEVEL, -1);
    pt.pagetableDtorFree(PTE_LEVEL, dep);
  }
  if (codec.pmdPresent(old)) {
    // vm_normal_folio_pmd(): a special leaf (the huge zero folio, a PFN map) has no folio to give back
    const pfn = ops.normalFolio(vma, addr, codec.pmdPfn(old), codec.pteSpecial(old));
    if (pfn >= 0) {
      ops.zapHugePmd(vma, addr, pfn, codec.pteDirty(old), codec.pteYoung(old));
      const nr = pt.levelSize(PMD_LEVEL) / pt.pageSize;
      if (__tlbRemoveFolioPages(tlb, pfn, nr, false)) tlbFlushMmu(tlb);
    }
  } else {
    // A PMD migration entry.
    pt.swap.pteToSwpEntry(old, ent);
    ops.zapPfnEntry(vma, pt.swap.entryKind(ent), pt.swap.swpOffsetPfn(ent));
  }
  return true;
}

function zapPmdRange(
  tlb: MmuGather,
  vma: PgtableVma,
  pudp: number,
  addr: number,
  end: number,
  details: ZapDetails | null,
  ops: ZapOps,
): void {
  const mm = tlb.mm!;
  const pt = mm.pt;
  const codec = pt.codec;
  const pmdSize = pt.levelSize(PMD_LEVEL);
  while (addr !== end) {
    const next = pt.addrEnd(PMD_LEVEL, addr, end);
    const pmdp = pt.offset(PMD_LEVEL, pudp, addr);
    if (pmdp >= 0) {
      const pmd = pt.readEntry(PMD_LEVEL, pmdp, v2);
      if (!codec.pmdNone(pmd) && (codec.pmdLeaf(pmd) || !codec.pmdPresent(pmd))) {
        if (next - addr === pmdSize) {
          zapHugePmd(tlb, vma, pmdp, addr, ops);
          addr = next;
          continue;
        }
        pt.pmdLock(mm, pmdp);
        const r = splitHugePmdLocked(mm, addr, pmdp, vma.pageProt ?? defaultProt(mm));
        pt.pmdUnlock(mm, pmdp);
        if (r < 0) throw new PgtableError('ENOMEM', 'zap: no page table to split a PMD leaf');
      }
      if (!codec.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, v2))) zapPteRange(tlb, vma, pmdp, addr, next, details, ops);
    }
    addr = next;
  }
}

function defaultProt(mm: MmPgtables): PteVal {
  const p = new PteVal();
  mm.pt.codec.vmGetPageProt(p, 1);
  return p;
}

/** Zap the levels above the PMD, recursing through unfolded levels. */
function zapUpper(
  tlb: MmuGather,
  vma: PgtableVma,
  level: number,
  slot: number,
  addr: number,
  end: number,
  details: ZapDetails | null,
  ops: ZapOps,
): void {
  const pt = tlb.pt;
  if (level === PMD_LEVEL) {
    zapPmdRange(tlb, vma, slot, addr, end, details, ops);
    return;
  }
  // level is the level of the entries to iterate (PUD, P4D); slot is in the level above.
  while (addr !== end) {
    const next = pt.addrEnd(level, addr, end);
    const s = pt.offset(level, slot, addr);
    if (s >= 0) {
      const e = pt.readEntry(level, s, v2);
      if (!(e.lo === 0 && e.hi === 0)) {
        if (level === PUD_LEVEL && pt.codec.pudLeaf(e)) {
          throw new PgtableError('EOPNOTSUPP', 'zap: PUD leaves (1G THP, hugetlb) are zapped by their owner');
        }
        zapUpper(tlb, vma, level - 1, s, addr, next, details, ops);
      }
    }
    addr = next;
  }
}

/**
 * Zap [addr, end) of `vma` into `tlb`.
 * @remarks Context: mmap lock held (read for MADV_DONTNEED, write for munmap).
 * @kernel unmap_page_range (mm/memory.c)
 */
export function unmapPageRange(
  tlb: MmuGather,
  vma: PgtableVma,
  addr: number,
  end: number,
  details: ZapDetails | null,
  ops: ZapOps,
): void {
  const mm = tlb.mm;
  if (mm === null) throw new PgtableError('EINVAL', 'unmap_page_range without tlb_gather_mmu');
  const pt = mm.pt;
  pt.checkRange(addr, end);
  if (addr < vma.start || end > vma.end) throw new PgtableError('EINVAL', 'zap range outside the VMA');
  tlbStartVma(tlb, vma);
  let a = addr;
  while (a !== end) {
    const next = pt.addrEnd(PGD_LEVEL, a, end);
    const pgdp = pt.pgdOffset(mm, a);
    const e = pt.readEntry(PGD_LEVEL, pgdp, v2);
    if (!(e.lo === 0 && e.hi === 0)) zapUpper(tlb, vma, P4D_LEVEL, pgdp, a, next, details, ops);
    a = next;
  }
  tlbEndVma(tlb, vma);
}

/**
 * Zap [addr, addr + size) of one VMA with its own gather (MADV_DONTNEED
 * passes `reclaimPt`).
 * @kernel zap_page_range_single (mm/memory.c)
 */
export function zapPageRangeSingle(
  tlb: MmuGather,
  vma: PgtableVma,
  addr: number,
  size: number,
  details: ZapDetails | null,
  ops: ZapOps,
  gather: (tlb: MmuGather) => void,
  finish: (tlb: MmuGather) => void,
): void {
  gather(tlb);
  unmapPageRange(tlb, vma, addr, addr + size, details, ops);
  finish(tlb);
}

// ---- free_pgtables ----

/** Callbacks of `free_pgtables()` for the VMA side (rmap unlinking, VMA locks). */
export interface FreePgtablesOps {
  /** `vma_start_write()`: lock a VMA that was not isolated under the write lock. */
  vmaStartWrite?(vma: PgtableVma): void;
  /** `unlink_anon_vmas()` + `unlink_file_vma_batch_add()`. */
  unlinkVma?(vma: PgtableVma): void;
}

function clearUpper(mm: MmPgtables, level: number, slot: number): void {
  v1.setWords(0, 0);
  mm.pt.writeEntry(level, slot, v1);
}

/**
 * Free the tables of [addr, end) at the levels from `level` down, with the
 * floor/ceiling rule at each level: a table is freed only if the range it
 * covers lies wholly inside [floor, ceiling).
 */
function freeRange(
  tlb: MmuGather,
  level: number,
  upperSlot: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const mm = tlb.mm!;
  const pt = mm.pt;
  const start = addr;
  if (level === PTE_LEVEL) throw new MmBugError('pgtable: free_*_range at the PTE level');
  // Iterate the entries of `level` (pmd for free_pmd_range etc.).
  let a = addr;
  while (a !== end) {
    const next = pt.addrEnd(level, a, end);
    const s = pt.offset(level, upperSlot, a);
    if (s >= 0) {
      const e = pt.readEntry(level, s, v2);
      if (!(e.lo === 0 && e.hi === 0)) {
        const below = level - 1;
        if (below === PTE_LEVEL) {
          // free_pte_range(): pmd_clear() + pte_free_tlb() + mm_dec_nr_ptes().
          if (pt.codec.pmdPresent(e) && !pt.codec.pmdLeaf(e)) {
            const t = pt.tableOfPfn(pt.codec.tableEntryPfn(e, PMD_LEVEL));
            clearUpper(mm, PMD_LEVEL, s);
            pt.pools[PTE_LEVEL]!.parent[t] = -1;
            freeTableTlb(tlb, PTE_LEVEL, t, a);
            pt.mmIncNr(mm, PTE_LEVEL, -1);
          }
        } else if (pt.folded[below] === 1) {
          freeRange(tlb, below, s, a, next, floor, ceiling);
        } else if (pt.codec.tableEntryOk(e, level as 1 | 2 | 3 | 4)) {
          freeRange(tlb, below, s, a, next, floor, ceiling);
        }
      }
    }
    a = next;
  }
  // Now the table of `level` itself (free_pmd_range's tail): only if its whole range is inside.
  if (pt.folded[level] === 1 || level === PGD_LEVEL) return;
  const size = pt.levelSize(level + 1);
  const tableStart = start - (start % size);
  if (tableStart < floor) return;
  const ceil = ceiling === 0 ? Number.POSITIVE_INFINITY : ceiling - (ceiling % size);
  if (ceil === 0) return;
  if (end - 1 > ceil - 1) return;
  const upper = pt.readEntry(level + 1, upperSlot, v2);
  if (!pt.codec.tableEntryOk(upper, (level + 1) as 1 | 2 | 3 | 4)) return;
  const t = pt.tableOfPfn(pt.codec.tableEntryPfn(upper, (level + 1) as 1 | 2 | 3 | 4));
  clearUpper(mm, pt.host[level + 1]!, upperSlot);
  pt.pools[level]!.parent[t] = -1;
  freeTableTlb(tlb, level, t, tableStart);
  pt.mmIncNr(mm, level, -1);
}

/**
 * Free the page tables of [addr, end) that no other mapping needs: `floor`
 * and `ceiling` are the ends of the neighbouring mappings (0 ceiling: none
 * above).
 * @kernel free_pgd_range (mm/memory.c)
 */
export function freePgdRange(tlb: MmuGather, addr: number, end: number, floor: number, ceiling: number): void {
  const mm = tlb.mm;
  if (mm === null) throw new PgtableError('EINVAL', 'free_pgd_range without tlb_gather_mmu');
  const pt = mm.pt;
  const pmdSize = pt.levelSize(PMD_LEVEL);
  // The PMD-level rounding of the kernel: tables are freed whole or not at all.
  addr -= addr % pmdSize;
  if (addr < floor) {
    addr += pmdSize;
  }
  let ceil = ceiling;
  if (ceil !== 0) {
    ceil -= ceil % pmdSize;
    if (ceil === 0) return;
  }
  let e = end;
  if (ceil !== 0 && e - 1 > ceil - 1) e -= pmdSize;
  if (addr > e - 1) return;
  e = Math.min(e, pt.addrLimit);
  let a = addr;
  while (a < e) {
    const next = pt.addrEnd(PGD_LEVEL, a, e);
    const pgdp = pt.pgdOffset(mm, a);
    const g = pt.readEntry(PGD_LEVEL, pgdp, v2);
    if (!(g.lo === 0 && g.hi === 0)) freeRange(tlb, P4D_LEVEL, pgdp, a, next, floor, ceil);
    a = next;
  }
}

/**
 * Free the page tables of the unmapped VMAs `vmas` (sorted, non-overlapping):
 * neighbours closer than a PMD are merged into one range; `floor` and
 * `ceiling` bound what may be freed (the previous and next mappings). With
 * `mmWrLocked` false the VMAs were isolated under their write locks already
 * (munmap) and are not locked again (the kernel commit "mm: conditionally
 * write-lock VMA in free_pgtables", v6.4).
 * @kernel free_pgtables (mm/memory.c)
 */
export function freePgtables(
  tlb: MmuGather,
  vmas: readonly PgtableVma[],
  floor: number,
  ceiling: number,
  mmWrLocked: boolean,
  ops: FreePgtablesOps = {},
): void {
  const mm = tlb.mm;
  if (mm === null) throw new PgtableError('EINVAL', 'free_pgtables without tlb_gather_mmu');
  // tlb_free_vmas(): PFN maps flush early (their pages can go at once).
  if (vmas.some((v) => v.pfnmap === true)) tlbFlushMmuTlbonly(tlb);
  const pmdSize = mm.pt.levelSize(PMD_LEVEL);
  let i = 0;
  while (i < vmas.length) {
    const vma = vmas[i]!;
    const addr = vma.start;
    if (mmWrLocked) ops.vmaStartWrite?.(vma);
    ops.unlinkVma?.(vma);
    let last = vma;
    i++;
    // Optimization: gather nearby VMAs into one call down.
    while (
      i < vmas.length &&
      vmas[i]!.start <= last.end + pmdSize &&
      vma.hugetlb !== true &&
      vmas[i]!.hugetlb !== true
    ) {
      last = vmas[i]!;
      if (mmWrLocked) ops.vmaStartWrite?.(last);
      ops.unlinkVma?.(last);
      i++;
    }
    const next = i < vmas.length ? vmas[i]!.start : ceiling;
    freePgdRange(tlb, addr, last.end, floor, next);
  }
}
