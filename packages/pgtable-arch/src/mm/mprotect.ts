/**
 * DOC: changing the protections of mapped entries (`change_protection()`
 * and below in mm/mprotect.c, `change_huge_pmd()` in mm/huge_memory.c): what
 * mprotect, userfaultfd write protection (UFFDIO_WRITEPROTECT) and NUMA
 * hinting (`change_prot_numa()`) do to the page tables.
 *
 * Present entries go through `modify_prot_start_ptes()` / `pte_modify()` /
 * `modify_prot_commit_ptes()` in batches of one large folio (respecting
 * soft-dirty and write), gain or lose the uffd-wp bit, and are made writable
 * at once where the write fault would do nothing else
 * (MM_CP_TRY_CHANGE_WRITABLE: exclusive anonymous pages, dirty shared ones,
 * no soft-dirty or uffd-wp tracking pending); the TLB range is recorded in
 * the caller's mmu_gather only when the change takes permissions away
 * (`pte_needs_flush()`). Non-present entries: writable migration and
 * device-private entries become readable, uffd-wp bits on swap entries
 * follow the request, uffd-wp markers are dropped on resolve, and poison and
 * guard markers are never touched (the kernel commit "mm: fix a few rare cases of using swapin
 * error pte marker" makes mprotect "explicitly ignore swapin error
 * pte markers in change_protection()"). UFFDIO_WRITEPROTECT of a VMA that
 * uses markers also write-protects empty entries by installing markers,
 * allocating the tables for them. PMD leaves covering the whole extent change
 * in place, others are split.
 *
 * Folio questions (anonymous, exclusive, NUMA placement) go to the caller's
 * {@link ProtOps}; the caller gathers and finishes the mmu_gather.
 */
import { EAGAIN, ENOMEM } from '@mm/machine';
import { FPB_RESPECT_SOFT_DIRTY, FPB_RESPECT_WRITE, PMD_LEVEL, VM_NONE } from '../arch/pte-ops.js';
import { type PgProt, PteVal } from '../entry/pteval.js';
import { LEAF_KIND, PTE_MARKER_GUARD, PTE_MARKER_POISONED, PTE_MARKER_UFFD_WP, SwpEntry } from '../entry/swapops.js';
import { type MmPgtables, PgtableError } from '../table/page-tables.js';
import { pteAlloc, pteOffsetMapLock, pteUnmapUnlock, walkAlloc } from '../table/pgalloc.js';
import {
  modifyProtCommitPtes,
  modifyProtStartPtes,
  pmdpInvalidate,
  pteClear,
  ptepGet,
  setPmdAt,
  setPteAt,
  splitHugePmdLocked,
} from '../table/pgtable.js';
import { folioPteBatchFlags, type PgtableVma } from './memory.js';
import { type MmuGather, tlbEndVma, tlbFlushPmdRange, tlbFlushPteRange, tlbStartVma } from './mmu-gather.js';

/** Try to map entries writable without a write fault. */
export const MM_CP_TRY_CHANGE_WRITABLE = 1 << 0;
/** NUMA hinting: make entries PROT_NONE. */
export const MM_CP_PROT_NUMA = 1 << 1;
/** Write-protect for userfaultfd. */
export const MM_CP_UFFD_WP = 1 << 2;
/** Resolve userfaultfd write protection. */
export const MM_CP_UFFD_WP_RESOLVE = 1 << 3;
/** Both uffd-wp requests (never together). */
export const MM_CP_UFFD_WP_ALL = MM_CP_UFFD_WP | MM_CP_UFFD_WP_RESOLVE;

/** A VMA whose protections change. */
export interface ProtVma extends PgtableVma {
  /** Page tables of the address space the VMA belongs to (`vma->vm_mm`). */
  readonly mm: MmPgtables;
  /** `vma->vm_page_prot`, already the new protections. */
  readonly pageProt: PgProt;
  /** The mapping is shared (VM_SHARED): an entry may be made writable at once only when already dirty. */
  readonly shared: boolean;
  /** The new protections allow writing (VM_WRITE); entries are made writable only then. */
  readonly write: boolean;
  /** `vma_soft_dirty_enabled()`: clean entries keep faulting on write. */
  readonly softDirtyEnabled?: boolean;
  /** `userfaultfd_wp_use_markers()`: uffd-wp protects empty entries with markers. */
  readonly uffdWpUseMarkers?: boolean;
  /** The VMA maps hugetlb folios (`is_vm_hugetlb_page()`); refused here with EOPNOTSUPP, the hugetlb owner changes those. */
  readonly hugetlb?: boolean;
}

/** The folio owner's answers. */
export interface ProtOps {
  /** As {@link ZapOps.normalFolio}. */
  normalFolio(vma: ProtVma, addr: number, pfn: number, special: boolean): number;
  /** Pages in the folio whose head PFN is `head`. @kernel folio_nr_pages */
  folioNrPages(head: number): number;
  /** Whether the folio is anonymous. @kernel folio_test_anon */
  folioAnon(head: number): boolean;
  /** Whether the anon page at `pfn` is mapped by one process only. @kernel PageAnonExclusive */
  pageAnonExclusive(pfn: number): boolean;
  /**
   * Whether NUMA hinting may make folio `head` (-1: no normal page)
   * PROT_NONE; default: any normal page.
   * @kernel folio_can_map_prot_numa (mm/mprotect.c)
   */
  canMapProtNuma?(head: number, vma: ProtVma): boolean;
  /** Split a PMD leaf (the folio side is the caller's); default: the tables only. */
  splitHugePmd?(vma: ProtVma, pmdp: number, addr: number): number;
}

const tv = new PteVal();
const ent = new SwpEntry();
const ent2 = new SwpEntry();

/** @kernel maybe_change_pte_writable (mm/mprotect.c) */
function maybeChangePteWritable(vma: ProtVma, pte: PteVal): boolean {
  const c = vma.mm.pt.codec;
  if (!vma.write) {
    vma.mm.pt.machine.warnOn(true, 'mprotect: making an entry of a read-only VMA writable');
    return false;
  }
  if (c.pteProtnone(pte)) return false;
  // pte_needs_soft_dirty_wp()
  if (vma.softDirtyEnabled === true && !c.pteSoftDirty(pte)) return false;
  // userfaultfd_pte_wp()
  if (vma.uffdWp === true && c.pteUffdWp(pte)) return false;
  return true;
}

/**
 * Whether a present entry can become writable without a write fault.
 * @kernel can_change_pte_writable (mm/mprotect.c)
 */
export function canChangePteWritable(vma: ProtVma, addr: number, pte: PteVal, ops: ProtOps): boolean {
  if (!maybeChangePteWritable(vma, pte)) return false;
  const c = vma.mm.pt.codec;
  if (vma.shared) return c.pteDirty(pte);
  const pfn = c.ptePfn(pte);
  const head = ops.normalFolio(vma, addr, pfn, c.pteSpecial(pte));
  return head >= 0 && ops.folioAnon(head) && ops.pageAnonExclusive(pfn);
}

/** @kernel prot_commit_flush_ptes (mm/mprotect.c) */
function protCommitFlushPtes(
  tlb: MmuGather,
  vma: ProtVma,
  addr: number,
  ptep: number,
  oldPte: PteVal,
  ptent: PteVal,
  nr: number,
  idx: number,
  setWrite: boolean,
): void {
  const mm = vma.mm;
  const c = mm.pt.codec;
  const a = addr + idx * mm.pt.pageSize;
  const o = oldPte.clone();
  const n = ptent.clone();
  if (idx > 0) {
    c.pteAdvancePfn(o, idx);
    c.pteAdvancePfn(n, idx);
  }
  if (setWrite) c.pteMkwrite(n);
  modifyProtCommitPtes(mm, a, ptep + idx, o, n, nr);
  if (c.pteNeedsFlush(o, n)) tlbFlushPteRange(tlb, a, nr * mm.pt.pageSize);
}

/** @kernel change_present_ptes + set_write_prot_commit_flush_ptes (mm/mprotect.c) */
function changePresentPtes(
  tlb: MmuGather,
  vma: ProtVma,
  addr: number,
  ptep: number,
  nr: number,
  newProt: PgProt,
  head: number,
  cpFlags: number,
  ops: ProtOps,
): void {
  const mm = vma.mm;
  const c = mm.pt.codec;
  const oldPte = modifyProtStartPtes(mm, addr, ptep, nr, new PteVal());
  const ptent = oldPte.clone();
  c.pteModify(ptent, newProt);
  if ((cpFlags & MM_CP_UFFD_WP) !== 0) c.pteMkuffdWp(ptent);
  else if ((cpFlags & MM_CP_UFFD_WP_RESOLVE) !== 0) c.pteClearUffdWp(ptent);
  if ((cpFlags & MM_CP_TRY_CHANGE_WRITABLE) === 0 || c.pteWrite(ptent)) {
    protCommitFlushPtes(tlb, vma, addr, ptep, oldPte, ptent, nr, 0, false);
    return;
  }
  if (vma.shared) {
    protCommitFlushPtes(
      tlb,
      vma,
      addr,
      ptep,
      oldPte,
      ptent,
      nr,
      0,
      maybeChangePteWritable(vma, ptent) && c.pteDirty(ptent),
    );
    return;
  }
  if (!(maybeChangePteWritable(vma, ptent) && head >= 0 && ops.folioAnon(head))) {
    protCommitFlushPtes(tlb, vma, addr, ptep, oldPte, ptent, nr, 0, false);
    return;
  }
  // commit_anon_folio_batch(): sub-batches of equal PageAnonExclusive().
  const pfn = c.ptePfn(oldPte);
  let idx = 0;
  while (idx < nr) {
    const excl = ops.pageAnonExclusive(pfn + idx);
    let len = 1;
    while (idx + len < nr && ops.pageAnonExclusive(pfn + idx + len) === excl) len++;
    protCommitFlushPtes(tlb, vma, addr, ptep, oldPte, ptent, len, idx, excl);
    idx += len;
  }
}

/**
 * A non-present entry.
 * @returns 1 when it changed, else 0.
 * @kernel change_softleaf_pte (mm/mprotect.c)
 */
function changeSoftleafPte(
  vma: ProtVma,
  addr: number,
  ptep: number,
  oldPte: PteVal,
  cpFlags: number,
  ops: ProtOps,
): number {
  const mm = vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  const s = pt.swap;
  s.pteToSwpEntry(oldPte, ent);
  const kind = s.entryKind(ent);
  const newPte = new PteVal();
  if (kind === LEAF_KIND.MIGRATION_WRITE) {
    const pfn = s.swpOffsetPfn(ent);
    const head = ops.normalFolio(vma, addr, pfn, false);
    // A protection check is difficult: just disable write.
    ent2.type = head >= 0 && ops.folioAnon(head) ? s.types.SWP_MIGRATION_READ_EXCLUSIVE : s.types.SWP_MIGRATION_READ;
    ent2.offset = ent.offset;
    s.swpEntryToPte(ent2, newPte);
    if (c.pteSwpSoftDirty(oldPte)) c.pteSwpMksoftDirty(newPte);
  } else if (kind === LEAF_KIND.DEVICE_PRIVATE_WRITE) {
    s.makeReadableDevicePrivateEntry(ent2, s.swpOffsetPfn(ent));
    s.swpEntryToPte(ent2, newPte);
    if (c.pteSwpUffdWp(oldPte)) c.pteSwpMkuffdWp(newPte);
  } else if (kind === LEAF_KIND.MARKER) {
    const m = s.pteMarkerGet(ent);
    // Poison (swapin errors) and guard markers are never changed.
    if ((m & (PTE_MARKER_POISONED | PTE_MARKER_GUARD)) !== 0) return 0;
    if ((cpFlags & MM_CP_UFFD_WP_RESOLVE) !== 0) {
      pteClear(mm, addr, ptep);
      return 1;
    }
    return 0;
  } else {
    newPte.set(oldPte);
  }
  if ((cpFlags & MM_CP_UFFD_WP) !== 0) c.pteSwpMkuffdWp(newPte);
  else if ((cpFlags & MM_CP_UFFD_WP_RESOLVE) !== 0) c.pteSwpClearUffdWp(newPte);
  if (!oldPte.same(newPte)) {
    setPteAt(mm, addr, ptep, newPte);
    return 1;
  }
  return 0;
}

/**
 * The PTEs of [addr, end) under `pmdp`.
 * @returns pages changed, or -EAGAIN when no table is there any more.
 * @kernel change_pte_range (mm/mprotect.c)
 */
function changePteRange(
  tlb: MmuGather,
  vma: ProtVma,
  pmdp: number,
  addr: number,
  end: number,
  newProt: PgProt,
  cpFlags: number,
  ops: ProtOps,
): number {
  const mm = vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  const protNuma = (cpFlags & MM_CP_PROT_NUMA) !== 0;
  const uffdWp = (cpFlags & MM_CP_UFFD_WP) !== 0;
  const start = pteOffsetMapLock(mm, pmdp, addr);
  if (start < 0) return -EAGAIN;
  let ptep = start;
  let pages = 0;
  const old = new PteVal();
  pt.lazy.enter();
  do {
    let nr = 1;
    ptepGet(mm, ptep, old);
    if (c.ptePresent(old)) {
      const maxNr = (end - addr) / pt.pageSize;
      if (!(protNuma && c.pteProtnone(old))) {
        const pfn = c.ptePfn(old);
        const head = ops.normalFolio(vma, addr, pfn, c.pteSpecial(old));
        const large = head >= 0 && ops.folioNrPages(head) > 1;
        const limit = large ? Math.min(maxNr, head + ops.folioNrPages(head) - pfn) : 1;
        const canNuma = ops.canMapProtNuma ? ops.canMapProtNuma(head, vma) : head >= 0;
        if (protNuma && !canNuma) {
          nr = large ? folioPteBatchFlags(mm, ptep, tv.set(old), limit, 0) : 1;
        } else {
          nr = large ? folioPteBatchFlags(mm, ptep, tv.set(old), limit, FPB_RESPECT_SOFT_DIRTY | FPB_RESPECT_WRITE) : 1;
          changePresentPtes(tlb, vma, addr, ptep, nr, newProt, head, cpFlags, ops);
          pages += nr;
        }
      }
    } else if (c.pteNone(old)) {
      if (uffdWp && vma.uffdWpUseMarkers === true) {
        // Write-protect an empty entry: the page cache may still have the page.
        setPteAt(mm, addr, ptep, pt.swap.makePteMarker(tv, PTE_MARKER_UFFD_WP));
        pages++;
      }
    } else {
      pages += changeSoftleafPte(vma, addr, ptep, old, cpFlags, ops);
    }
    ptep += nr;
    addr += nr * pt.pageSize;
  } while (addr !== end);
  pt.lazy.leave();
  pteUnmapUnlock(mm, start);
  return pages;
}

/** Tables are populated for UFFDIO_WRITEPROTECT of a VMA using markers. @kernel pgtable_populate_needed */
function populateNeeded(vma: ProtVma, cpFlags: number): boolean {
  return (cpFlags & MM_CP_UFFD_WP) !== 0 && vma.uffdWpUseMarkers === true;
}

/**
 * Change a PMD leaf (or PMD migration entry) covering the whole extent.
 * @returns 0 when it is no longer a leaf, 1 when unchanged, else the pages changed.
 * @kernel change_huge_pmd (mm/huge_memory.c)
 */
function changeHugePmd(
  tlb: MmuGather,
  vma: ProtVma,
  pmdp: number,
  addr: number,
  newProt: PgProt,
  cpFlags: number,
  ops: ProtOps,
): number {
  const mm = vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  const nrPages = pt.levelSize(PMD_LEVEL) / pt.pageSize;
  pt.pmdLock(mm, pmdp);
  const pmd = pt.readEntry(PMD_LEVEL, pmdp, new PteVal());
  let ret = 1;
  if (c.pmdNone(pmd) || (c.pmdPresent(pmd) && !c.pmdLeaf(pmd))) {
    ret = 0;
  } else if (!c.pmdPresent(pmd)) {
    // change_non_present_huge_pmd()
    const s = pt.swap;
    s.pteToSwpEntry(pmd, ent);
    const kind = s.entryKind(ent);
    const n = pmd.clone();
    if (kind === LEAF_KIND.MIGRATION_WRITE) {
      const head = ops.normalFolio(vma, addr, s.swpOffsetPfn(ent), false);
      ent2.type = head >= 0 && ops.folioAnon(head) ? s.types.SWP_MIGRATION_READ_EXCLUSIVE : s.types.SWP_MIGRATION_READ;
      ent2.offset = ent.offset;
      s.swpEntryToPte(ent2, n);
      if (c.pteSwpSoftDirty(pmd)) c.pteSwpMksoftDirty(n);
    } else if (kind === LEAF_KIND.DEVICE_PRIVATE_WRITE) {
      s.makeReadableDevicePrivateEntry(ent2, s.swpOffsetPfn(ent));
      s.swpEntryToPte(ent2, n);
      if (c.pteSwpUffdWp(pmd)) c.pteSwpMkuffdWp(n);
    }
    if ((cpFlags & MM_CP_UFFD_WP) !== 0) c.pteSwpMkuffdWp(n);
    else if ((cpFlags & MM_CP_UFFD_WP_RESOLVE) !== 0) c.pteSwpClearUffdWp(n);
    if (!n.same(pmd)) setPmdAt(mm, addr, pmdp, n);
  } else {
    const protNuma = (cpFlags & MM_CP_PROT_NUMA) !== 0;
    const head = ops.normalFolio(vma, addr, c.pmdPfn(pmd), c.pteSpecial(pmd));
    const skip =
      protNuma &&
      (head < 0 || c.pmdProtnone(pmd) || (ops.canMapProtNuma !== undefined && !ops.canMapProtNuma(head, vma)));
    if (!skip) {
      const oldPmd = pmdpInvalidate(mm, addr, pmdp, new PteVal());
      const entry = oldPmd.clone();
      c.pmdModify(entry, newProt);
      if ((cpFlags & MM_CP_UFFD_WP) !== 0) c.pteMkuffdWp(entry);
      else if ((cpFlags & MM_CP_UFFD_WP_RESOLVE) !== 0) c.pteClearUffdWp(entry);
      // can_change_pmd_writable(): as for PTEs, the folio is PMD-mapped whole.
      if ((cpFlags & MM_CP_TRY_CHANGE_WRITABLE) !== 0 && !c.pteWrite(entry) && maybeChangePteWritable(vma, entry)) {
        const ok = vma.shared ? c.pteDirty(entry) : head >= 0 && ops.folioAnon(head) && ops.pageAnonExclusive(head);
        if (ok) c.pteMkwrite(entry);
      }
      ret = nrPages;
      setPmdAt(mm, addr, pmdp, entry);
      if (c.hugePmdNeedsFlush(oldPmd, entry)) tlbFlushPmdRange(tlb, addr, pt.levelSize(PMD_LEVEL));
    }
  }
  pt.pmdUnlock(mm, pmdp);
  return ret;
}

function defaultSplit(vma: ProtVma, pmdp: number, addr: number): number {
  const mm = vma.mm;
  const pt = mm.pt;
  pt.pmdLock(mm, pmdp);
  let r = 0;
  if (pt.codec.pmdLeaf(pt.readEntry(PMD_LEVEL, pmdp, tv))) r = splitHugePmdLocked(mm, addr, pmdp, vma.pageProt);
  pt.pmdUnlock(mm, pmdp);
  return r;
}

/** @kernel change_pmd_range (mm/mprotect.c) */
function changePmdRange(
  tlb: MmuGather,
  vma: ProtVma,
  addr: number,
  end: number,
  newProt: PgProt,
  cpFlags: number,
  ops: ProtOps,
): number {
  const mm = vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  const pmdSize = pt.levelSize(PMD_LEVEL);
  const populate = populateNeeded(vma, cpFlags);
  let pages = 0;
  while (addr !== end) {
    const next = pt.addrEnd(PMD_LEVEL, addr, end);
    // change_prepare() at every level, then change_pmd_prepare().
    const pmdp = populate ? walkAlloc(mm, addr, PMD_LEVEL) : pt.lookup(mm, PMD_LEVEL, addr);
    if (populate && (pmdp < 0 || pteAlloc(mm, pmdp) < 0)) return -ENOMEM;
    if (pmdp < 0) {
      addr = next;
      continue;
    }
    for (;;) {
      const pmd = pt.readEntry(PMD_LEVEL, pmdp, tv);
      if (c.pmdNone(pmd)) break;
      if (c.pmdLeaf(pmd) || !c.pmdPresent(pmd)) {
        const splitNeeded = (cpFlags & MM_CP_UFFD_WP) !== 0 && !vma.anonymous;
        if (next - addr !== pmdSize || splitNeeded) {
          const r = ops.splitHugePmd ? ops.splitHugePmd(vma, pmdp, addr) : defaultSplit(vma, pmdp, addr);
          if (r < 0) return r;
          if (populate && pteAlloc(mm, pmdp) < 0) return -ENOMEM;
          // A non-present PMD (migration entry) is not split here: leave it.
          if (!c.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, tv)) && !c.pmdPresent(tv)) break;
        } else {
          const r = changeHugePmd(tlb, vma, pmdp, addr, newProt, cpFlags, ops);
          if (r !== 0) {
            if (r === pmdSize / pt.pageSize) pages += r;
            break;
          }
        }
      }
      const r = changePteRange(tlb, vma, pmdp, addr, next, newProt, cpFlags, ops);
      if (r < 0) continue;
      pages += r;
      break;
    }
    addr = next;
  }
  return pages;
}

/**
 * Apply `vma.pageProt` (PAGE_NONE for MM_CP_PROT_NUMA) and the uffd-wp
 * request to the entries of [start, end) of `vma`, recording flushes in `tlb`.
 * @returns the number of pages whose entries changed, or -ENOMEM.
 * @remarks Context: the mmap lock held (write for mprotect; read for NUMA
 *   hinting and UFFDIO_WRITEPROTECT); `tlb` gathered by the caller.
 * @kernel change_protection (mm/mprotect.c)
 */
export function changeProtection(
  tlb: MmuGather,
  vma: ProtVma,
  start: number,
  end: number,
  cpFlags: number,
  ops: ProtOps,
): number {
  if ((cpFlags & MM_CP_UFFD_WP_ALL) === MM_CP_UFFD_WP_ALL) {
    throw new PgtableError('EINVAL', 'mprotect: MM_CP_UFFD_WP and MM_CP_UFFD_WP_RESOLVE together');
  }
  if (vma.hugetlb === true) {
    throw new PgtableError('EOPNOTSUPP', 'mprotect: hugetlb_change_protection belongs to the hugetlb owner');
  }
  const pt = vma.mm.pt;
  pt.checkRange(start, end);
  if (start >= end) throw new PgtableError('EINVAL', 'mprotect: empty range');
  let newProt = vma.pageProt;
  if ((cpFlags & MM_CP_PROT_NUMA) !== 0) {
    newProt = new PteVal();
    pt.codec.vmGetPageProt(newProt, VM_NONE);
  }
  tlbStartVma(tlb, vma);
  const pages = changePmdRange(tlb, vma, start, end, newProt, cpFlags, ops);
  tlbEndVma(tlb, vma);
  return pages;
}
