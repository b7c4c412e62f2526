/**
 * DOC: copying page tables at fork (`copy_page_range()` and below in
 * mm/memory.c, `copy_huge_pmd()` in mm/huge_memory.c).
 *
 * For each VMA the child inherits, the parent's entries are copied into the
 * child's tables (allocated as needed) under both PTE locks (the parent's
 * nested), in lazy MMU mode:
 * - present PTEs: COW mappings write-protect the entry in both processes,
 *   shared mappings hand the child a clean entry, the child's is always old;
 *   the uffd-wp bit survives only into a VMA registered for uffd-wp. Runs of
 *   one large folio go in one batch (`folio_pte_batch_flags()` with
 *   FPB_MERGE_WRITE, FPB_RESPECT_DIRTY for private and
 *   FPB_RESPECT_SOFT_DIRTY when soft-dirty tracking is on). An anonymous page
 *   that may be pinned is copied at once into a page the caller preallocates
 *   outside the locks (`copy_present_page()`).
 * - swap entries: the swap count is duplicated and the parent's exclusive
 *   bit cleared; writable migration and device-private entries become
 *   readable in a COW parent; device-exclusive entries are restored first;
 *   PTE markers follow `copy_pte_marker()`: poison (swapin errors, "mm: fix a few rare cases
 *   of using swapin error pte marker")
 *   and guard markers are always copied, uffd-wp markers only into a VMA
 *   registered for uffd-wp; hwpoison entries are copied as they are.
 * - PMD leaves of anonymous VMAs are shared write-protected with a
 *   deposited table for the child; file PMD leaves are left to refault; a
 *   possibly pinned THP is split and copied as PTEs.
 *
 * The folios, their reference counts, rmap, RSS and swap counts belong to
 * the caller ({@link CopyOps}). The parent's TLBs still hold the writable
 * translations the copy write-protected: the caller flushes the parent mm
 * after copying all VMAs, as `dup_mmap()` does with `flush_tlb_mm()`.
 */
import { EAGAIN, EBUSY, EHWPOISON, EINVAL, EIO, ENOENT, ENOMEM } from '@mm/machine';
import {
  FPB_MERGE_WRITE,
  FPB_RESPECT_DIRTY,
  FPB_RESPECT_SOFT_DIRTY,
  PGD_LEVEL,
  PMD_LEVEL,
  PTE_LEVEL,
  PUD_LEVEL,
} from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import { LEAF_KIND, PTE_MARKER_GUARD, PTE_MARKER_POISONED, PTE_MARKER_UFFD_WP, SwpEntry } from '../entry/swapops.js';
import { type MmPgtables, PgtableError } from '../table/page-tables.js';
import {
  __upperAlloc,
  pteAllocMapLock,
  pteAllocOne,
  pteFree,
  pteOffsetMapRwNolock,
  pteUnmap,
  pteUnmapUnlock,
} from '../table/pgalloc.js';
import {
  pgtableTransHugeDeposit,
  pmdpSetWrprotect,
  ptepGet,
  setPmdAt,
  setPteAt,
  setPtes,
  splitHugePmdLocked,
  wrprotectPtes,
} from '../table/pgtable.js';
import { __ptepGet, __setPte } from '../table/pte-raw.js';
import { folioPteBatchFlags, type PgtableVma } from './memory.js';
import { hostEmpty, upperDeferred } from './pagewalk.js';

/** A VMA on one side of a fork. */
export interface CopyVma extends PgtableVma {
  /** Page tables of the address space the VMA belongs to (`vma->vm_mm`). */
  readonly mm: MmPgtables;
  /** The mapping is shared (VM_SHARED): parent and child keep writing the same pages, nothing is write-protected for COW. */
  readonly shared: boolean;
  /** VM_MAYWRITE (with !VM_SHARED: a COW mapping, `is_cow_mapping()`). */
  readonly mayWrite: boolean;
  /** Soft-dirty tracking is on for the VMA (`vma_soft_dirty_enabled()`): a batch of PTEs must agree on the soft-dirty bit. */
  readonly softDirtyEnabled?: boolean;
  /** VM_COPY_ON_FORK: VM_PFNMAP, VM_MIXEDMAP, VM_UFFD_WP or VM_MAYBE_GUARD. */
  readonly copyOnFork?: boolean;
  /** `vma->anon_vma` is set. */
  readonly hasAnonVma?: boolean;
  /** `is_vm_hugetlb_page()`: copied by the hugetlb owner, not here. */
  readonly hugetlb?: boolean;
}

/** The folio owner's side of a fork copy. */
export interface CopyOps {
  /** As {@link ZapOps.normalFolio}: the folio's first PFN, or -1 (no normal page). */
  normalFolio(vma: CopyVma, addr: number, pfn: number, special: boolean): number;
  /** Pages in the folio whose head PFN is `head`. @kernel folio_nr_pages */
  folioNrPages(head: number): number;
  /** Whether the folio is anonymous. @kernel folio_test_anon */
  folioAnon(head: number): boolean;
  /**
   * Take `nr` references on folio `head` and duplicate the rmap of pages
   * `pfn..` into `dst` (`folio_dup_file_rmap_ptes()`, or for anonymous
   * folios `folio_try_dup_anon_rmap_ptes()`), counting RSS.
   * @returns false when an anonymous page may be pinned (nothing taken):
   *   the page must be copied for the child.
   * @kernel folio_ref_add + folio_try_dup_anon_rmap_ptes (include/linux/rmap.h)
   */
  dupFolioPtes(dst: CopyVma, src: CopyVma, head: number, pfn: number, nr: number): boolean;
  /**
   * The PMD version for a PMD-mapped folio.
   * @returns false when it may be pinned (the PMD is then split and copied as PTEs).
   * @kernel folio_try_dup_anon_rmap_pmd
   */
  dupFolioPmd(dst: CopyVma, src: CopyVma, head: number): boolean;
  /**
   * Allocate a page for copying a pinned anonymous page into the child, with
   * no page-table locks held.
   * @returns its PFN, or -1 (-ENOMEM).
   * @kernel folio_prealloc (mm/memory.c)
   */
  preallocFolio(src: CopyVma, addr: number): number;
  /**
   * Copy page `srcPfn` into the preallocated `newPfn` and make it the
   * child's exclusive anonymous page at `addr` (rmap, LRU, RSS).
   * @returns 0, or -EHWPOISON when the source page is poisoned.
   * @kernel copy_mc_user_highpage + folio_add_new_anon_rmap (mm/memory.c copy_present_page)
   */
  copyPresentPage(dst: CopyVma, src: CopyVma, addr: number, srcPfn: number, newPfn: number): number;
  /**
   * Whether `pfn` is in the huge zero folio: its special PMD is copied with a
   * deposited table like an anonymous THP's, not as a PFN map. Default: never.
   * @kernel is_huge_zero_pfn (include/linux/huge_mm.h)
   */
  isHugeZeroPfn?(pfn: number): boolean;
  /**
   * The child maps the huge zero folio: take `dst`'s mm reference on it.
   * @kernel mm_get_huge_zero_folio (mm/huge_memory.c)
   */
  getHugeZeroFolio?(dst: CopyVma): void;
  /** Give back a preallocated page that was not used. @kernel folio_put */
  putPrealloc(pfn: number): void;
  /**
   * Duplicate a swap entry's count (`swap_dup_entry_direct()`), count
   * MM_SWAPENTS.
   * @returns 0, or -EIO when a swap-count continuation table is needed
   *   (the copy then calls `swapRetryTableAlloc` without locks and retries).
   */
  swapDup(dst: CopyVma, type: number, offset: number): number;
  /** @returns 0 or -ENOMEM. @kernel swap_retry_table_alloc */
  swapRetryTableAlloc(type: number, offset: number): number;
  /** A migration or device-private entry for `pfn` was copied: RSS, and for device-private a reference and the rmap. */
  dupPfnEntry(dst: CopyVma, src: CopyVma, kind: number, pfn: number): void;
  /**
   * Restore a device-exclusive entry of `pfn` to a present PTE before
   * copying: -1 when the folio lock is contended (-EBUSY), else whether the
   * restored entry may be writable (an exclusive anonymous page).
   * @kernel try_restore_exclusive_pte (mm/memory.c)
   */
  restoreExclusive(src: CopyVma, addr: number, pfn: number): -1 | 0 | 1;
}

/** `is_cow_mapping()`: private and may become writable. */
export function isCowMapping(vma: CopyVma): boolean {
  return !vma.shared && vma.mayWrite;
}

/**
 * Whether fork must copy the VMA's page tables (else the child faults them in).
 * @kernel vma_needs_copy (mm/memory.c)
 */
export function vmaNeedsCopy(dst: CopyVma, src: CopyVma): boolean {
  if (dst.copyOnFork === true) return true;
  return src.hasAnonVma === true;
}

const tv = new PteVal();
const orig = new PteVal();
const pv = new PteVal();
const ent = new SwpEntry();
const ent2 = new SwpEntry();
const old = new PteVal();

let rawSingles = true;

/**
 * Turn the single-entry fast path of the copy off (tests compare both paths).
 * @internal
 */
export function __setCopyRawSingles(on: boolean): void {
  rawSingles = on;
}

/** Copy-loop state shared with the helpers (what the kernel keeps in locals and `*prealloc`). */
class CopyState {
  prealloc = -1;
  /**
   * Single entries may be written with the raw accessors: no arm64
   * contiguous blocks to keep, and the PTE locks of both tables were
   * checked once when taken (the `set_ptes()`/`wrprotect_ptes()` debug
   * checks, hoisted out of the per-entry loop).
   */
  raw = false;
  /** The swap entry that needs a continuation table (-EIO). */
  ioType = -1;
  ioOffset = 0;
}

/** `pte_marker` a child gets for a source marker. @kernel copy_pte_marker (include/linux/mm_inline.h) */
export function copyPteMarker(srcMarker: number, dst: PgtableVma): number {
  let m = srcMarker & (PTE_MARKER_POISONED | PTE_MARKER_GUARD);
  if ((srcMarker & PTE_MARKER_UFFD_WP) !== 0 && dst.uffdWp === true) m |= PTE_MARKER_UFFD_WP;
  return m;
}

/**
 * Copy one non-present PTE.
 * @returns 0 (copied), -EIO (swap continuation needed), -EBUSY, or -ENOENT
 *   (a device-exclusive entry was restored: copy it as present).
 * @kernel copy_nonpresent_pte (mm/memory.c)
 */
function copyNonpresentPte(
  dst: CopyVma,
  src: CopyVma,
  dstPte: number,
  srcPte: number,
  addr: number,
  ops: CopyOps,
  st: CopyState,
): number {
  const dstMm = dst.mm;
  const srcMm = src.mm;
  const pt = srcMm.pt;
  const codec = pt.codec;
  const s = pt.swap;
  ptepGet(srcMm, srcPte, orig);
  s.pteToSwpEntry(orig, ent);
  const kind = s.entryKind(ent);
  const pte = pv.set(orig);
  if (kind === LEAF_KIND.SWAP) {
    if (ops.swapDup(dst, ent.type, ent.offset) < 0) {
      st.ioType = ent.type;
      st.ioOffset = ent.offset;
      return -EIO;
    }
    // Mark the swap entry shared.
    if (codec.pteSwpExclusive(orig)) {
      codec.pteSwpClearExclusive(pte);
      setPteAt(srcMm, addr, srcPte, pte);
    }
  } else if (
    kind === LEAF_KIND.MIGRATION_READ ||
    kind === LEAF_KIND.MIGRATION_READ_EXCLUSIVE ||
    kind === LEAF_KIND.MIGRATION_WRITE
  ) {
    ops.dupPfnEntry(dst, src, kind, s.swpOffsetPfn(ent));
    if (kind !== LEAF_KIND.MIGRATION_READ && isCowMapping(dst)) {
      // Both sides read-only: a previously exclusive entry is now shared.
      ent2.type = pt.swap.types.SWP_MIGRATION_READ;
      ent2.offset = ent.offset;
      s.swpEntryToPte(ent2, pte);
      if (codec.pteSwpSoftDirty(orig)) codec.pteSwpMksoftDirty(pte);
      if (codec.pteSwpUffdWp(orig)) codec.pteSwpMkuffdWp(pte);
      setPteAt(srcMm, addr, srcPte, pte);
    }
  } else if (kind === LEAF_KIND.DEVICE_PRIVATE_READ || kind === LEAF_KIND.DEVICE_PRIVATE_WRITE) {
    ops.dupPfnEntry(dst, src, kind, s.swpOffsetPfn(ent));
    if (kind === LEAF_KIND.DEVICE_PRIVATE_WRITE && isCowMapping(dst)) {
      s.makeReadableDevicePrivateEntry(ent2, s.swpOffsetPfn(ent));
      s.swpEntryToPte(ent2, pte);
      if (codec.pteSwpUffdWp(orig)) codec.pteSwpMkuffdWp(pte);
      setPteAt(srcMm, addr, srcPte, pte);
    }
  } else if (kind === LEAF_KIND.DEVICE_EXCLUSIVE) {
    if (!isCowMapping(src)) throw new PgtableError('EINVAL', 'fork: device-exclusive entry in a shared mapping');
    const w = ops.restoreExclusive(src, addr, s.swpOffsetPfn(ent));
    if (w < 0) return -EBUSY;
    restoreExclusivePte(src, addr, srcPte, orig, s.swpOffsetPfn(ent), w === 1);
    return -ENOENT;
  } else if (kind === LEAF_KIND.MARKER) {
    const marker = copyPteMarker(s.pteMarkerGet(ent), dst);
    if (marker !== 0) setPteAt(dstMm, addr, dstPte, s.makePteMarker(pte, marker));
    return 0;
  }
  if (dst.uffdWp !== true) codec.pteSwpClearUffdWp(pte);
  setPteAt(dstMm, addr, dstPte, pte);
  return 0;
}

/**
 * A device-exclusive entry back to a present PTE.
 * @kernel restore_exclusive_pte (mm/memory.c)
 */
function restoreExclusivePte(vma: CopyVma, addr: number, ptep: number, old: PteVal, pfn: number, write: boolean): void {
  const mm = vma.mm;
  const codec = mm.pt.codec;
  const pte = new PteVal();
  codec.pfnPte(pte, pfn, vmaPageProt(vma));
  codec.pteMkold(pte);
  if (codec.pteSwpSoftDirty(old)) codec.pteMksoftDirty(pte);
  if (codec.pteSwpUffdWp(old)) codec.pteMkuffdWp(pte);
  else if (write) {
    codec.pteMkwrite(pte);
    codec.pteMkdirty(pte);
  }
  // The entry was non-present: set_pte_at() may overwrite it.
  setPteAt(mm, addr, ptep, pte);
}

function vmaPageProt(vma: PgtableVma & { mm: MmPgtables }): PteVal {
  if (vma.pageProt !== undefined) return vma.pageProt;
  const p = new PteVal();
  vma.mm.pt.codec.vmGetPageProt(p, 1);
  return p;
}

/**
 * Write-protect COW entries in both processes, clean shared ones for the
 * child, make the child's old, and set them.
 * @kernel __copy_present_ptes (mm/memory.c)
 */
function __copyPresentPtes(
  dst: CopyVma,
  src: CopyVma,
  dstPte: number,
  srcPte: number,
  pte: PteVal,
  addr: number,
  nr: number,
  st: CopyState,
): void {
  const pt = src.mm.pt;
  const codec = pt.codec;
  if (nr === 1 && st.raw) {
    // One entry, written as wrprotect_ptes() and set_ptes() would write it.
    if (isCowMapping(src) && codec.pteWrite(pte)) {
      old.set(pte);
      codec.pteWrprotect(pte);
      if (!pte.same(old)) __setPte(src.mm, addr, srcPte, old, pte);
    }
    if (src.shared) codec.pteMkclean(pte);
    codec.pteMkold(pte);
    if (dst.uffdWp !== true) codec.pteClearUffdWp(pte);
    __setPte(dst.mm, addr, dstPte, __ptepGet(pt, dstPte, old), pte);
    return;
  }
  if (isCowMapping(src) && codec.pteWrite(pte)) {
    wrprotectPtes(src.mm, addr, srcPte, nr);
    codec.pteWrprotect(pte);
  }
  if (src.shared) codec.pteMkclean(pte);
  codec.pteMkold(pte);
  if (dst.uffdWp !== true) codec.pteClearUffdWp(pte);
  setPtes(dst.mm, addr, dstPte, pte, nr);
}

/**
 * Copy a present page into the preallocated page.
 * @returns 0, -EAGAIN (no page preallocated yet) or -EHWPOISON.
 * @kernel copy_present_page (mm/memory.c)
 */
function copyPresentPage(
  dst: CopyVma,
  src: CopyVma,
  dstPte: number,
  srcPte: number,
  addr: number,
  srcPfn: number,
  ops: CopyOps,
  st: CopyState,
): number {
  if (st.prealloc < 0) return -EAGAIN;
  const r = ops.copyPresentPage(dst, src, addr, srcPfn, st.prealloc);
  if (r < 0) return r;
  const newPfn = st.prealloc;
  st.prealloc = -1;
  const codec = dst.mm.pt.codec;
  const pte = new PteVal();
  codec.pfnPte(pte, newPfn, vmaPageProt(dst));
  codec.pteMkdirty(pte);
  // maybe_mkwrite()
  if (dst.mayWrite) codec.pteMkwrite(pte);
  // userfaultfd_pte_wp(): the child keeps the uffd-wp protection.
  if (dst.uffdWp === true && codec.pteUffdWp(ptepGet(src.mm, srcPte, tv))) codec.pteMkuffdWp(pte);
  setPteAt(dst.mm, addr, dstPte, pte);
  return 0;
}

/**
 * Copy one present PTE, batching the following PTEs of the same large folio.
 * @returns the number copied, -EAGAIN (a page must be preallocated) or -EHWPOISON.
 * @kernel copy_present_ptes (mm/memory.c)
 */
function copyPresentPtes(
  dst: CopyVma,
  src: CopyVma,
  dstPte: number,
  srcPte: number,
  pte: PteVal,
  addr: number,
  maxNr: number,
  ops: CopyOps,
  st: CopyState,
): number {
  const codec = src.mm.pt.codec;
  const pfn = codec.ptePfn(pte);
  const head = ops.normalFolio(src, addr, pfn, codec.pteSpecial(pte));
  if (head < 0) {
    __copyPresentPtes(dst, src, dstPte, srcPte, pte, addr, 1, st);
    return 1;
  }
  const large = ops.folioNrPages(head) > 1;
  if (st.prealloc < 0 && large && maxNr !== 1) {
    let flags = FPB_MERGE_WRITE;
    if (!src.shared) flags |= FPB_RESPECT_DIRTY;
    if (src.softDirtyEnabled === true) flags |= FPB_RESPECT_SOFT_DIRTY;
    const limit = Math.min(maxNr, head + ops.folioNrPages(head) - pfn);
    const nr = folioPteBatchFlags(src.mm, srcPte, pte, limit, flags);
    if (!ops.dupFolioPtes(dst, src, head, pfn, nr)) return -EAGAIN;
    __copyPresentPtes(dst, src, dstPte, srcPte, pte, addr, nr, st);
    return nr;
  }
  if (!ops.dupFolioPtes(dst, src, head, pfn, 1)) {
    // The page may be pinned: the child gets its own copy now.
    const r = copyPresentPage(dst, src, dstPte, srcPte, addr, pfn, ops, st);
    return r < 0 ? r : 1;
  }
  __copyPresentPtes(dst, src, dstPte, srcPte, pte, addr, 1, st);
  return 1;
}

/**
 * Copy the PTEs of [addr, end) under one PMD.
 * @returns 0, -ENOMEM, -EBUSY or -EHWPOISON.
 * @kernel copy_pte_range (mm/memory.c)
 */
export function copyPteRange(
  dst: CopyVma,
  src: CopyVma,
  dstPmd: number,
  srcPmd: number,
  addr: number,
  end: number,
  ops: CopyOps,
): number {
  const dstMm = dst.mm;
  const srcMm = src.mm;
  const pt = srcMm.pt;
  const codec = pt.codec;
  const pageSize = pt.pageSize;
  const st = new CopyState();
  const pmdval = new PteVal();
  let ret = 0;
  for (;;) {
    const dstStart = pteAllocMapLock(dstMm, dstPmd, addr);
    if (dstStart < 0) {
      ret = -ENOMEM;
      break;
    }
    const srcStart = pteOffsetMapRwNolock(srcMm, srcPmd, addr, pmdval);
    if (srcStart < 0) {
      pteUnmapUnlock(dstMm, dstStart);
      break;
    }
    const srcTable = pt.tableOfSlot(PTE_LEVEL, srcStart);
    // spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING): another mm's lock.
    pt.pteLock(srcMm, srcTable, true);
    st.raw = rawSingles && !pt.contpte && !dstMm.isInitMm && !srcMm.isInitMm;
    if (st.raw && pt.debugVm) {
      // What set_ptes() and wrprotect_ptes() check on every entry, once per table.
      if (!pt.pteLocked(dstMm, pt.tableOfSlot(PTE_LEVEL, dstStart)) || !pt.pteLocked(srcMm, srcTable)) {
        throw new PgtableError('EPERM', 'copy_pte_range: PTE table is not locked');
      }
    }
    pt.lazy.enter();
    let dstPte = dstStart;
    let srcPte = srcStart;
    ret = 0;
    do {
      let nr = 1;
      const ptent = ptepGet(srcMm, srcPte, tv);
      if (!codec.pteNone(ptent)) {
        let present = codec.ptePresent(ptent);
        if (!present) {
          ret = copyNonpresentPte(dst, src, dstPte, srcPte, addr, ops, st);
          if (ret === -EIO || ret === -EBUSY) break;
          if (ret === 0) {
            dstPte += nr;
            srcPte += nr;
            addr += pageSize * nr;
            continue;
          }
          // -ENOENT: a restored device-exclusive entry, now present.
          ptepGet(srcMm, srcPte, ptent);
          present = true;
        }
        const pte = pv.set(ptent);
        ret = copyPresentPtes(dst, src, dstPte, srcPte, pte, addr, (end - addr) / pageSize, ops, st);
        if (ret === -EAGAIN || ret === -EHWPOISON) break;
        if (st.prealloc >= 0) {
          // A preallocated page is not reused for a later entry.
          ops.putPrealloc(st.prealloc);
          st.prealloc = -1;
        }
        nr = ret;
        ret = 0;
      }
      dstPte += nr;
      srcPte += nr;
      addr += pageSize * nr;
    } while (addr !== end);
    pt.lazy.leave();
    pt.pteUnlock(srcMm, srcTable);
    pteUnmap(srcMm, srcStart);
    pteUnmapUnlock(dstMm, dstStart);
    if (ret === -EIO) {
      if (ops.swapRetryTableAlloc(st.ioType, st.ioOffset) < 0) {
        ret = -ENOMEM;
        break;
      }
    } else if (ret === -EBUSY || ret === -EHWPOISON) {
      break;
    } else if (ret === -EAGAIN) {
      st.prealloc = ops.preallocFolio(src, addr);
      if (st.prealloc < 0) return -ENOMEM;
    }
    ret = 0;
    if (addr === end) break;
  }
  if (st.prealloc >= 0) ops.putPrealloc(st.prealloc);
  return ret;
}

/**
 * Copy a PMD leaf (or PMD migration / device-private entry).
 * @returns 0 (copied or left to refault), -ENOMEM, or -EAGAIN (copy as PTEs:
 *   the leaf was split, or is no longer there).
 * @kernel copy_huge_pmd (mm/huge_memory.c)
 */
export function copyHugePmd(
  dst: CopyVma,
  src: CopyVma,
  dstPmd: number,
  srcPmd: number,
  addr: number,
  ops: CopyOps,
): number {
  const dstMm = dst.mm;
  const srcMm = src.mm;
  const pt = srcMm.pt;
  const codec = pt.codec;
  const pmd = pt.readEntry(PMD_LEVEL, srcPmd, new PteVal());
  const isHugeZero = (v: PteVal): boolean => codec.pmdPresent(v) && ops.isHugeZeroPfn?.(codec.pmdPfn(v)) === true;
  if (codec.pmdPresent(pmd) && codec.pteSpecial(pmd) && !isHugeZero(pmd)) {
    // A PFN map: copied as it is.
    pt.pmdLock(dstMm, dstPmd);
    pt.pmdLock(srcMm, srcPmd, true);
    codec.pteMkold(pmd);
    setPmdAt(dstMm, addr, dstPmd, pmd);
    pt.pmdUnlock(srcMm, srcPmd);
    pt.pmdUnlock(dstMm, dstPmd);
    return 0;
  }
  // File THPs refault in the child.
  if (!dst.anonymous) return 0;
  const table = pteAllocOne(dstMm);
  if (table < 0) return -ENOMEM;
  pt.pmdLock(dstMm, dstPmd);
  pt.pmdLock(srcMm, srcPmd, true);
  let ret = -EAGAIN;
  const unlock = (): void => {
    pt.pmdUnlock(srcMm, srcPmd);
    pt.pmdUnlock(dstMm, dstPmd);
  };
  pt.readEntry(PMD_LEVEL, srcPmd, pmd);
  if (!codec.pmdNone(pmd) && !codec.pmdPresent(pmd)) {
    copyHugeNonPresentPmd(dst, src, dstPmd, srcPmd, addr, pmd, table, ops);
    unlock();
    return 0;
  }
  if (!codec.pmdLeaf(pmd)) {
    pteFree(dstMm, table);
    unlock();
    return ret;
  }
  // The huge zero folio: no rmap, the child's mm takes its reference (out_zero_page).
  const hugeZero = isHugeZero(pmd);
  if (hugeZero) ops.getHugeZeroFolio?.(dst);
  const head = hugeZero ? -1 : ops.normalFolio(src, addr, codec.pmdPfn(pmd), codec.pteSpecial(pmd));
  if (head >= 0 && !ops.dupFolioPmd(dst, src, head)) {
    // Maybe pinned: split, and copy the PTEs (copying the pinned pages).
    pteFree(dstMm, table);
    pt.pmdUnlock(srcMm, srcPmd);
    pt.pmdUnlock(dstMm, dstPmd);
    pt.pmdLock(srcMm, srcPmd);
    const r = splitHugePmdLocked(srcMm, addr, srcPmd, vmaPageProt(src));
    pt.pmdUnlock(srcMm, srcPmd);
    return r < 0 ? r : -EAGAIN;
  }
  pt.mmIncNr(dstMm, PTE_LEVEL, 1);
  pgtableTransHugeDeposit(dstMm, dstPmd, table);
  pmdpSetWrprotect(srcMm, addr, srcPmd);
  if (dst.uffdWp !== true) codec.pteClearUffdWp(pmd);
  codec.pteWrprotect(pmd);
  codec.pteMkold(pmd);
  setPmdAt(dstMm, addr, dstPmd, pmd);
  ret = 0;
  unlock();
  return ret;
}

/** @kernel copy_huge_non_present_pmd (mm/huge_memory.c) */
function copyHugeNonPresentPmd(
  dst: CopyVma,
  src: CopyVma,
  dstPmd: number,
  srcPmd: number,
  addr: number,
  pmd: PteVal,
  table: number,
  ops: CopyOps,
): void {
  const pt = src.mm.pt;
  const codec = pt.codec;
  const s = pt.swap;
  const old = pmd.clone();
  s.pteToSwpEntry(pmd, ent);
  const kind = s.entryKind(ent);
  if (kind === LEAF_KIND.MIGRATION_WRITE || kind === LEAF_KIND.MIGRATION_READ_EXCLUSIVE) {
    ent2.type = s.types.SWP_MIGRATION_READ;
    ent2.offset = ent.offset;
    s.swpEntryToPte(ent2, pmd);
    if (codec.pteSwpSoftDirty(old)) codec.pteSwpMksoftDirty(pmd);
    if (codec.pteSwpUffdWp(old)) codec.pteSwpMkuffdWp(pmd);
    setPmdAt(src.mm, addr, srcPmd, pmd);
  } else if (kind === LEAF_KIND.DEVICE_PRIVATE_READ || kind === LEAF_KIND.DEVICE_PRIVATE_WRITE) {
    if (kind === LEAF_KIND.DEVICE_PRIVATE_WRITE) {
      s.makeReadableDevicePrivateEntry(ent2, s.swpOffsetPfn(ent));
      s.swpEntryToPte(ent2, pmd);
      if (codec.pteSwpSoftDirty(old)) codec.pteSwpMksoftDirty(pmd);
      if (codec.pteSwpUffdWp(old)) codec.pteSwpMkuffdWp(pmd);
      setPmdAt(src.mm, addr, srcPmd, pmd);
    }
  }
  ops.dupPfnEntry(dst, src, kind, s.swpOffsetPfn(ent));
  pt.mmIncNr(dst.mm, PTE_LEVEL, 1);
  pgtableTransHugeDeposit(dst.mm, dstPmd, table);
  if (dst.uffdWp !== true) codec.pteSwpClearUffdWp(pmd);
  setPmdAt(dst.mm, addr, dstPmd, pmd);
}

function copyPmdRange(
  dst: CopyVma,
  src: CopyVma,
  dstPud: number,
  srcPud: number,
  addr: number,
  end: number,
  ops: CopyOps,
): number {
  const pt = src.mm.pt;
  const codec = pt.codec;
  while (addr !== end) {
    const next = pt.addrEnd(PMD_LEVEL, addr, end);
    const srcPmd = pt.offset(PMD_LEVEL, srcPud, addr);
    const dstPmd = pt.offset(PMD_LEVEL, dstPud, addr);
    let v = pt.readEntry(PMD_LEVEL, srcPmd, tv);
    if (!codec.pmdNone(v) && (codec.pmdLeaf(v) || !codec.pmdPresent(v))) {
      if (next - addr !== pt.levelSize(PMD_LEVEL)) throw new PgtableError('EINVAL', 'fork: a PMD leaf crosses the VMA');
      const err = copyHugePmd(dst, src, dstPmd, srcPmd, addr, ops);
      if (err === -ENOMEM) return -ENOMEM;
      if (err === 0) {
        addr = next;
        continue;
      }
      v = pt.readEntry(PMD_LEVEL, srcPmd, tv);
    }
    // pmd_none_or_clear_bad()
    if (codec.pmdNone(v) || codec.pmdLeaf(v) || !codec.pmdPresent(v)) {
      addr = next;
      continue;
    }
    if (copyPteRange(dst, src, dstPmd, srcPmd, addr, next, ops) !== 0) return -ENOMEM;
    addr = next;
  }
  return 0;
}

/**
 * Copy the entries of `level` (PGD, P4D, PUD; PMD hands over to
 * {@link copyPmdRange}) under the upper slots `dstUp` / `srcUp`: where the
 * parent's entry holds a table, the child's table below is allocated
 * (`p4d_alloc()`, `pud_alloc()`, `pmd_alloc()`) and copied into.
 * @kernel copy_p4d_range / copy_pud_range (mm/memory.c)
 */
function copyLevel(
  dst: CopyVma,
  src: CopyVma,
  level: number,
  dstUp: number,
  srcUp: number,
  addr: number,
  end: number,
  ops: CopyOps,
): number {
  if (level === PMD_LEVEL) return copyPmdRange(dst, src, dstUp, srcUp, addr, end, ops);
  const pt = src.mm.pt;
  while (addr !== end) {
    const next = pt.addrEnd(level, addr, end);
    const srcSlot = level === PGD_LEVEL ? pt.pgdOffset(src.mm, addr) : pt.offset(level, srcUp, addr);
    let skip = srcSlot < 0;
    if (!skip && !upperDeferred(pt, level)) {
      // *_none_or_clear_bad(): the real checks, where the level below has tables.
      const v = pt.readEntry(level, srcSlot, tv);
      if (level === PUD_LEVEL && !pt.codec.pudNone(v) && pt.codec.pudLeaf(v)) {
        throw new PgtableError('EOPNOTSUPP', 'fork: PUD leaves (DAX, 1G THP) are copied by their owner');
      }
      skip = hostEmpty(pt, level, srcSlot) || pt.childTable(pt.host[level]!, v) < 0;
    }
    if (!skip) {
      const dstSlot = level === PGD_LEVEL ? pt.pgdOffset(dst.mm, addr) : pt.offset(level, dstUp, addr);
      if (pt.folded[level - 1] === 0 && hostEmpty(pt, level, dstSlot) && __upperAlloc(dst.mm, level - 1, dstSlot) < 0) {
        return -ENOMEM;
      }
      if (copyLevel(dst, src, level - 1, dstSlot, srcSlot, addr, next, ops) !== 0) return -ENOMEM;
    }
    addr = next;
  }
  return 0;
}

/**
 * Copy the page tables of `src` (the parent's VMA) into `dst` (the child's
 * VMA, same range, in the child mm) for fork.
 * @returns 0 or -ENOMEM (the child is then torn down by the caller).
 * @remarks Context: both mmap locks held for write. Flush the parent's TLB afterwards.
 * @kernel copy_page_range (mm/memory.c)
 */
export function copyPageRange(dst: CopyVma, src: CopyVma, ops: CopyOps): number {
  if (dst.start !== src.start || dst.end !== src.end) return -EINVAL;
  if (!vmaNeedsCopy(dst, src)) return 0;
  if (src.hugetlb === true) {
    throw new PgtableError(
      'EOPNOTSUPP',
      'fork: hugetlb VMAs are copied by copy_hugetlb_page_range (the hugetlb owner)',
    );
  }
  const pt = src.mm.pt;
  pt.checkRange(src.start, src.end);
  return copyLevel(dst, src, PGD_LEVEL, -1, -1, src.start, src.end, ops);
}
