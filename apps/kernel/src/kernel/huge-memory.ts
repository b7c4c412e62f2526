/**
 * DOC: the anonymous PMD fault paths and the huge zero folio (mm/huge_memory.c).
 *
 * - The huge zero folio is a PMD-order folio of zeroes that is not
 *   rmappable. It is allocated on first use (`get_huge_zero_folio()`,
 *   counted as `thp_zero_page_alloc`, or `thp_zero_page_alloc_failed`) and
 *   held by a global reference count: one for the shrinker, one for every mm
 *   that ever mapped it (MMF_HUGE_ZERO_FOLIO, dropped when the mm goes).
 *   The shrinker frees it when only its own reference is left.
 * - A read fault on a THP-eligible PMD range of a private anonymous VMA maps
 *   it read-only with a special PMD and a deposited page table
 *   (`set_huge_zero_folio()`); it is not counted in RSS or the rmap.
 * - A write fault on it allocates a PMD-order THP and maps it writable in its
 *   place (`do_huge_zero_wp_pmd()`); if no THP can be had, the PMD is split
 *   into PTEs mapping the small zero page (`__split_huge_zero_page_pmd()`)
 *   and the PTE fault copies the zero page.
 * - With `use_zero_page` 0 the read fault allocates a THP as a write does.
 */
import {
  folioAddNewAnonRmap,
  folioAlloc,
  folioPut,
  folioRefAdd,
  folioTestAnon,
  MM_ANONPAGES,
  pageAnonExclusive,
  RMAP_EXCLUSIVE,
} from '@mm/folio-rmap';
import { __GFP_MOVABLE, __GFP_ZERO, __GFP_ZEROTAGS, GFP_TRANSHUGE, PG_large_rmappable } from '@mm/machine';
import {
  type MmPgtables,
  PTE_LEVEL,
  PteVal,
  pgtableTransHugeDeposit,
  pmdpGet,
  pmdpHugeClearFlush,
  pteAllocOne,
  pteFree,
  setPmdAt,
  splitHugeZeroPagePmdLocked,
} from '@mm/pgtable-arch';
import type { MmStruct, VmAreaStruct } from '../mm/mm-types.js';
import { VM_UFFD_WP, VM_WRITE } from '../mm/vm-flags.js';
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, type Kernel, VM_FAULT_OOM, VM_FAULT_UFFD_WP } from './kernel.js';
import { rmapVma } from './rmap-anon-vma.js';

/** `mm->flags` bit: the mm has used the huge zero folio (holds a reference on it). @kernel MMF_HUGE_ZERO_FOLIO (include/linux/mm_types.h) */
export const MMF_HUGE_ZERO_FOLIO = 1 << 18;
/** Fault result bit `VM_FAULT_FALLBACK`: fall back to PTEs (include/linux/mm_types.h). */
export const VM_FAULT_FALLBACK = 0x800;
/** `huge_zero_pfn` while no huge zero folio exists. @kernel HUGE_ZERO_UNSET_PFN */
export const HUGE_ZERO_UNSET_PFN = -1;

const pv = new PteVal();
const pv2 = new PteVal();

/** Whether `pfn` is a page of the huge zero folio. @kernel is_huge_zero_pfn (include/linux/huge_mm.h) */
export function isHugeZeroPfn(k: Kernel, pfn: number): boolean {
  return k.hugeZeroPfn !== HUGE_ZERO_UNSET_PFN && pfn - (pfn % k.hpageNr) === k.hugeZeroPfn;
}

/** Whether a PMD value maps the huge zero folio. @kernel is_huge_zero_pmd (include/linux/huge_mm.h) */
export function isHugeZeroPmd(k: Kernel, pmd: PteVal): boolean {
  const c = k.pt.codec;
  return !c.pmdNone(pmd) && c.pmdPresent(pmd) && c.pmdLeaf(pmd) && isHugeZeroPfn(k, c.pmdPfn(pmd));
}

/**
 * A PMD-order folio of zeroes, not rmappable.
 * @returns its PFN, or -1 (counted as `thp_zero_page_alloc_failed`).
 * @kernel alloc_huge_zero_folio (mm/huge_memory.c)
 */
function allocHugeZeroFolio(k: Kernel): number {
  const gfp = (GFP_TRANSHUGE | __GFP_ZERO | __GFP_ZEROTAGS) & ~__GFP_MOVABLE;
  const pfn = folioAlloc(k.rm, gfp, Math.log2(k.hpageNr));
  if (pfn < 0) {
    k.vmEvent('thp_zero_page_alloc_failed');
    return -1;
  }
  // folio_clear_large_rmappable(): explicitly not rmappable
  const rm = k.rm;
  const s = rm.sec(pfn + 1);
  const j = (pfn + 1) & rm.mask;
  s.flags[j] = (s.flags[j] as number) & ~(1 << PG_large_rmappable);
  for (let i = 0; i < k.hpageNr; i++) k.setToken(pfn + i, 0);
  return pfn;
}

/**
 * Take a reference on the huge zero folio, allocating it (with the
 * shrinker's reference) when there is none.
 * @returns false when it could not be allocated.
 * @kernel get_huge_zero_folio (mm/huge_memory.c)
 */
function getHugeZeroFolio(k: Kernel): boolean {
  if (k.hugeZeroRefcount > 0) {
    k.hugeZeroRefcount++;
    return true;
  }
  const pfn = allocHugeZeroFolio(k);
  if (pfn < 0) return false;
  k.hugeZeroPfn = pfn;
  k.hugeZeroRefcount = 2; // +1 for the shrinker
  k.vmEvent('thp_zero_page_alloc');
  return true;
}

/**
 * The huge zero folio for `mm`: the mm's first use takes a reference and
 * sets MMF_HUGE_ZERO_FOLIO.
 * @returns its PFN, or -1 when it could not be allocated.
 * @kernel mm_get_huge_zero_folio (mm/huge_memory.c)
 */
export function mmGetHugeZeroFolio(k: Kernel, mm: MmStruct): number {
  if ((mm.mmFlags & MMF_HUGE_ZERO_FOLIO) !== 0) return k.hugeZeroPfn;
  if (!getHugeZeroFolio(k)) return -1;
  mm.mmFlags |= MMF_HUGE_ZERO_FOLIO;
  return k.hugeZeroPfn;
}

/**
 * Drop `mm`'s reference on the huge zero folio (when the mm goes).
 * @kernel mm_put_huge_zero_folio (mm/huge_memory.c)
 */
export function mmPutHugeZeroFolio(k: Kernel, mm: MmStruct): void {
  if ((mm.mmFlags & MMF_HUGE_ZERO_FOLIO) === 0) return;
  mm.mmFlags &= ~MMF_HUGE_ZERO_FOLIO;
  // put_huge_zero_folio(): only the shrinker puts the last reference
  k.machine.warnOn(k.hugeZeroRefcount <= 1, 'huge_memory: put_huge_zero_folio dropped the last reference');
  k.hugeZeroRefcount--;
}

/**
 * The huge zero folio's shrinker: free it when only the shrinker's own
 * reference is left.
 * @returns the pages freed (HPAGE_PMD_NR or 0).
 * @kernel shrink_huge_zero_folio_count / shrink_huge_zero_folio_scan (mm/huge_memory.c)
 */
export function shrinkHugeZeroFolio(k: Kernel): number {
  if (k.hugeZeroRefcount !== 1) return 0;
  const pfn = k.hugeZeroPfn;
  k.hugeZeroRefcount = 0;
  k.hugeZeroPfn = HUGE_ZERO_UNSET_PFN;
  folioPut(k.rm, pfn);
  return k.hpageNr;
}

/**
 * A PMD-order folio for an anonymous fault, or -1 (counted as
 * `thp_fault_fallback`).
 * @kernel vma_alloc_anon_folio_pmd (mm/huge_memory.c)
 */
function vmaAllocAnonFolioPmd(k: Kernel): number {
  const folio = k.allocFolio(Math.log2(k.hpageNr));
  if (folio < 0) {
    k.vmEvent('thp_fault_fallback');
    return -1;
  }
  for (let i = 0; i < k.hpageNr; i++) k.setToken(folio + i, 0);
  return folio;
}

/**
 * Map a new anonymous THP with a PMD: exclusive rmap, writable if the VMA
 * is, dirty; RSS and `thp_fault_alloc`.
 * @remarks Context: the PMD lock held.
 * @kernel map_anon_folio_pmd_pf (mm/huge_memory.c)
 */
function mapAnonFolioPmdPf(k: Kernel, folio: number, pmdp: number, vma: VmAreaStruct, haddr: number): void {
  const pgt = vma.vmMm.pgt as MmPgtables;
  const c = k.pt.codec;
  folioAddNewAnonRmap(k.rm, folio, rmapVma(vma), haddr, RMAP_EXCLUSIVE);
  folioRefAdd(k.rm, folio, k.hpageNr - 1);
  c.pfnPmd(pv2, folio, vma.pageProt);
  c.pmdMkhuge(pv2);
  if ((vma.vmFlags & VM_WRITE) !== 0) c.pteMkwrite(pv2);
  c.pteMkdirty(pv2);
  c.pteMkyoung(pv2);
  setPmdAt(pgt, haddr, pmdp, pv2);
  vma.vmMm.rssStat[MM_ANONPAGES]! += k.hpageNr;
  k.vmEvent('thp_fault_alloc');
}

/**
 * A fault on an empty PMD of a THP-eligible anonymous range: map the huge
 * zero folio on a read (when `use_zero_page` allows), else a new THP.
 * @returns 0, VM_FAULT_OOM, or VM_FAULT_FALLBACK (use PTEs).
 * @kernel do_huge_pmd_anonymous_page / __do_huge_pmd_anonymous_page (mm/huge_memory.c)
 */
export function doHugePmdAnonymousPage(
  k: Kernel,
  vma: VmAreaStruct,
  addr: number,
  pmdp: number,
  flags: number,
): number {
  const mm = vma.vmMm;
  const pgt = mm.pgt as MmPgtables;
  const c = k.pt.codec;
  const haddr = addr - (addr % k.pmdSize);
  // thp_vma_suitable_order() is the caller's thpVmaAllowable()
  if (k.ctx.anon.anonVmaPrepare(vma) !== 0) return VM_FAULT_OOM;
  if ((flags & FAULT_FLAG_WRITE) === 0 && k.thpUseZeroPage) {
    const table = pteAllocOne(pgt);
    if (table < 0) return VM_FAULT_OOM;
    const zero = mmGetHugeZeroFolio(k, mm);
    if (zero < 0) {
      pteFree(pgt, table);
      k.vmEvent('thp_fault_fallback');
      return VM_FAULT_FALLBACK;
    }
    k.pt.pmdLock(pgt, pmdp);
    if (!c.pmdNone(pmdpGet(pgt, pmdp, pv))) {
      k.pt.pmdUnlock(pgt, pmdp);
      pteFree(pgt, table);
      return 0;
    }
    // set_huge_zero_folio(): read-only (a private mapping's protections), special
    c.pfnPmd(pv2, zero, vma.pageProt);
    c.pmdMkhuge(pv2);
    c.pteMkspecial(pv2);
    pgtableTransHugeDeposit(pgt, pmdp, table);
    setPmdAt(pgt, haddr, pmdp, pv2);
    pgt.pt.mmIncNr(pgt, PTE_LEVEL, 1);
    k.pt.pmdUnlock(pgt, pmdp);
    return 0;
  }
  const folio = vmaAllocAnonFolioPmd(k);
  if (folio < 0) return VM_FAULT_FALLBACK;
  const table = pteAllocOne(pgt);
  if (table < 0) {
    k.putFolio(folio, 1);
    return VM_FAULT_OOM;
  }
  k.pt.pmdLock(pgt, pmdp);
  if (!c.pmdNone(pmdpGet(pgt, pmdp, pv))) {
    k.pt.pmdUnlock(pgt, pmdp);
    pteFree(pgt, table);
    k.putFolio(folio, 1);
    return 0;
  }
  pgtableTransHugeDeposit(pgt, pmdp, table);
  mapAnonFolioPmdPf(k, folio, pmdp, vma, haddr);
  pgt.pt.mmIncNr(pgt, PTE_LEVEL, 1);
  k.pt.pmdUnlock(pgt, pmdp);
  return 0;
}

/**
 * A write fault on the huge zero PMD: a new THP in its place (the deposited
 * table stays).
 * @returns 0 or VM_FAULT_FALLBACK (no THP).
 * @kernel do_huge_zero_wp_pmd (mm/huge_memory.c)
 */
function doHugeZeroWpPmd(k: Kernel, vma: VmAreaStruct, addr: number, pmdp: number, orig: PteVal): number {
  const pgt = vma.vmMm.pgt as MmPgtables;
  const haddr = addr - (addr % k.pmdSize);
  const folio = vmaAllocAnonFolioPmd(k);
  if (folio < 0) return VM_FAULT_FALLBACK;
  k.pt.pmdLock(pgt, pmdp);
  if (!pmdpGet(pgt, pmdp, pv).same(orig)) {
    k.pt.pmdUnlock(pgt, pmdp);
    k.putFolio(folio, 1);
    return 0;
  }
  pmdpHugeClearFlush(pgt, haddr, pmdp, pv);
  mapAnonFolioPmdPf(k, folio, pmdp, vma, haddr);
  k.pt.pmdUnlock(pgt, pmdp);
  return 0;
}

/**
 * A write (or unshare) fault on a read-only anonymous PMD: the huge zero
 * folio is replaced by a THP; an exclusive THP is made writable in place;
 * otherwise the PMD is split and the PTE fault copies.
 * @returns 0 or VM_FAULT_FALLBACK (the PMD was split: handle the PTE fault).
 * @kernel do_huge_pmd_wp_page (mm/huge_memory.c)
 */
function doHugePmdWpPage(k: Kernel, vma: VmAreaStruct, addr: number, pmdp: number, flags: number): number {
  const pgt = vma.vmMm.pgt as MmPgtables;
  const c = k.pt.codec;
  const orig = pmdpGet(pgt, pmdp, new PteVal());
  const haddr = addr - (addr % k.pmdSize);
  if (isHugeZeroPmd(k, orig)) {
    const r = doHugeZeroWpPmd(k, vma, addr, pmdp, orig);
    if ((r & VM_FAULT_FALLBACK) === 0) return r;
  } else {
    const head = c.pmdPfn(orig);
    if (folioTestAnon(k.rm, head) && pageAnonExclusive(k.rm, head)) {
      // reuse
      if ((flags & FAULT_FLAG_UNSHARE) !== 0) return 0;
      c.pteMkyoung(orig);
      c.pteMkdirty(orig);
      if ((vma.vmFlags & VM_WRITE) !== 0) c.pteMkwrite(orig);
      k.pt.pmdLock(pgt, pmdp);
      setPmdAt(pgt, haddr, pmdp, orig);
      k.pt.pmdUnlock(pgt, pmdp);
      k.machine.mmu.flushTlbRange(pgt.as, haddr, haddr + k.pmdSize);
      k.vmEvent('cow_reuse');
      return 0;
    }
  }
  k.splitHugePmd(vma, addr);
  return VM_FAULT_FALLBACK;
}

/**
 * A write or unshare fault on a present, read-only PMD leaf.
 * @returns 0, VM_FAULT_UFFD_WP, or VM_FAULT_FALLBACK (handle the PTE fault).
 * @kernel wp_huge_pmd (mm/memory.c)
 */
export function wpHugePmd(k: Kernel, vma: VmAreaStruct, addr: number, pmdp: number, flags: number): number {
  const pgt = vma.vmMm.pgt as MmPgtables;
  if (vma.vmOps === null) {
    // userfaultfd_huge_pmd_wp()
    if (
      (flags & FAULT_FLAG_UNSHARE) === 0 &&
      (vma.vmFlags & VM_UFFD_WP) !== 0 &&
      k.pt.codec.pteUffdWp(pmdpGet(pgt, pmdp, pv))
    ) {
      return VM_FAULT_UFFD_WP;
    }
    return doHugePmdWpPage(k, vma, addr, pmdp, flags);
  }
  // CoW or write-notify of a file PMD is handled on PTEs
  k.splitHugePmd(vma, addr);
  return VM_FAULT_FALLBACK;
}

/**
 * Split the huge zero PMD at `addr` into PTEs mapping the small zero page
 * (`thp_split_pmd`).
 * @returns 0 or -ENOMEM.
 * @kernel __split_huge_zero_page_pmd (mm/huge_memory.c)
 */
export function splitHugeZeroPagePmd(k: Kernel, vma: VmAreaStruct, addr: number, pmdp: number): number {
  const pgt = vma.vmMm.pgt as MmPgtables;
  k.pt.pmdLock(pgt, pmdp);
  const r = splitHugeZeroPagePmdLocked(pgt, addr, pmdp, k.zeroPfn, vma.pageProt);
  k.pt.pmdUnlock(pgt, pmdp);
  if (r === 0) k.vmEvent('thp_split_pmd');
  return r;
}
