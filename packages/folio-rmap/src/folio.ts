/**
 * DOC: folios over the machine's memmap.
 *
 * A folio is the PFN of its head page; a page is its PFN. Every field lives
 * in the memmap word the kernel's `struct folio` overlays on the head and
 * tail `struct page`s (64-bit layout):
 *
 * ```
 *  page   memmap word            struct folio field
 *  [0]    flags                  flags (PG_head, PG_locked, PG_swapbacked, PG_anon_exclusive per page, ...)
 *  [0]    mapping                mapping: handle << 2 | FOLIO_MAPPING_ANON/KSM
 *  [0]    index                  index (page-cache offset / anon linear page index)
 *  [0]    private                private / swap (the swap entry while in the swap cache)
 *  [0]    mapcount               _mapcount (small folio; per-page mapcount of page 0)
 *  [0]    refcount               _refcount
 *  [0]    memcgData              memcg_data
 *  [0]    order (byte)           folio order (the machine records it at allocation)
 *  [1]    flags                  _flags_1: PG_partially_mapped, PG_large_rmappable, PG_has_hwpoisoned
 *  [1]    compoundHead           _head_1
 *  [1]    next                   _large_mapcount
 *  [1]    prev                   _nr_pages_mapped   (CONFIG_PAGE_MAPCOUNT)
 *  [1]    mapping                _entire_mapcount
 *  [1]    memcgData              _pincount           (see README: the kernel's _nr_pages sits here)
 *  [1]    indexWords[0..1]       _mm_id_mapcount[2]
 *  [1]    privateWords[0..1]     _mm_id[2] with the lock (bit 31) and shared (bit 63) flags
 *  [1]    mapcount               _mapcount_1 (per-page mapcount of page 1)
 *  [2]    next/prev              _deferred_list (neighbour folios; self when not queued)
 *  [k]    mapcount               per-page _mapcount (CONFIG_PAGE_MAPCOUNT), flags: PG_anon_exclusive
 * ```
 *
 * Nothing is stored outside the memmap, so the host cost of a folio's rmap
 * metadata is the memmap's own bytes.
 */
import {
  __GFP_COMP,
  allocContigPages,
  BadPageError,
  freeContigRange,
  maxFolioOrder,
  PAGE_FLAGS_CHECK_AT_FREE,
  PG_active,
  PG_anon_exclusive,
  PG_head,
  PG_large_rmappable,
  PG_locked,
  PG_partially_mapped,
  PG_swapbacked,
  PGTY_hugetlb,
} from '@mm/machine';
import type { FolioRmap } from './env.js';
import { MTHP_STAT, modMthpStat } from './env.js';
import { FolioError } from './errors.js';
import { folioUnqueueDeferredSplit } from './huge-memory.js';
import { MMF_HAS_PINNED, type RmapVma } from './vma.js';

/** `FOLIO_MAPPING_ANON`: `folio->mapping` points to an anon_vma. */
export const FOLIO_MAPPING_ANON = 0x1;
/** `FOLIO_MAPPING_ANON_KSM`: with FOLIO_MAPPING_ANON, `folio->mapping` points to KSM's own node rather than an anon_vma. */
export const FOLIO_MAPPING_ANON_KSM = 0x2;
/** `FOLIO_MAPPING_KSM`: a KSM folio (anon + ksm bits). */
export const FOLIO_MAPPING_KSM = FOLIO_MAPPING_ANON | FOLIO_MAPPING_ANON_KSM;
/** `FOLIO_MAPPING_FLAGS`: the low tag bits of `folio->mapping`, masked off to get the pointer. */
export const FOLIO_MAPPING_FLAGS = FOLIO_MAPPING_ANON | FOLIO_MAPPING_ANON_KSM;
/** `ENTIRELY_MAPPED`: added to `_nr_pages_mapped` per entire (PMD/PUD) mapping. */
export const ENTIRELY_MAPPED = 0x800000;
/** `FOLIO_PAGES_MAPPED`: the page-count part of `_nr_pages_mapped`. */
export const FOLIO_PAGES_MAPPED = ENTIRELY_MAPPED - 1;
/** `GUP_PIN_COUNTING_BIAS`: refcount added per pin of a small folio. */
export const GUP_PIN_COUNTING_BIAS = 1024;

// ---------------------------------------------------------------- layout

/** Whether `pfn` is the head of a large folio. @kernel folio_test_large (include/linux/page-flags.h) */
export function folioTestLarge(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  return ((s.flags[folio & rm.mask] as number) & (1 << PG_head)) !== 0;
}

/** Order of the folio (0 for a small folio). @kernel folio_order (include/linux/mm.h) */
export function folioOrder(rm: FolioRmap, folio: number): number {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  return (s.flags[i] as number) & (1 << PG_head) ? (s.order[i] as number) : 0;
}

/** Pages in the folio. @kernel folio_nr_pages (include/linux/mm.h) */
export function folioNrPages(rm: FolioRmap, folio: number): number {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  return (s.flags[i] as number) & (1 << PG_head) ? 1 << (s.order[i] as number) : 1;
}

/** Whether the folio can be PMD-mapped (order ≥ HPAGE_PMD_ORDER). @kernel folio_test_pmd_mappable (include/linux/huge_mm.h) */
export function folioTestPmdMappable(rm: FolioRmap, folio: number): boolean {
  return folioOrder(rm, folio) >= rm.hpagePmdOrder;
}

/** The folio a page belongs to (its head). @kernel page_folio (include/linux/page-flags.h) */
export function pageFolio(rm: FolioRmap, page: number): number {
  const s = rm.sec(page);
  const h = s.compoundHead[page & rm.mask] as number;
  return h >= 0 ? h : page;
}

/** Whether the folio is a hugetlb folio. @kernel folio_test_hugetlb (include/linux/page-flags.h) */
export function folioTestHugetlb(rm: FolioRmap, folio: number): boolean {
  return rm.sec(folio).pageType[folio & rm.mask] === PGTY_hugetlb;
}

/** Raw `folio->mapping` word. */
export function folioRawMapping(rm: FolioRmap, folio: number): number {
  return rm.sec(folio).mapping[folio & rm.mask] as number;
}

/** Whether the folio is anonymous (`folio->mapping` points to an anon_vma) @kernel folio_test_anon (include/linux/page-flags.h) */
export function folioTestAnon(rm: FolioRmap, folio: number): boolean {
  return ((rm.sec(folio).mapping[folio & rm.mask] as number) & FOLIO_MAPPING_ANON) !== 0;
}

/** Whether the folio is a KSM folio. @kernel folio_test_ksm (include/linux/page-flags.h) */
export function folioTestKsm(rm: FolioRmap, folio: number): boolean {
  return ((rm.sec(folio).mapping[folio & rm.mask] as number) & FOLIO_MAPPING_FLAGS) === FOLIO_MAPPING_KSM;
}

/** `folio->index`: page-cache offset or anon linear page index. @kernel folio_pgoff (include/linux/pagemap.h) */
export function folioPgoff(rm: FolioRmap, folio: number): number {
  return rm.sec(folio).index[folio & rm.mask] as number;
}

/** Test a page flag (PG_*) on the head. */
export function folioTestFlag(rm: FolioRmap, folio: number, bit: number): boolean {
  return (((rm.sec(folio).flags[folio & rm.mask] as number) >>> bit) & 1) === 1;
}

/** Set a page flag on the head. */
export function folioSetFlag(rm: FolioRmap, folio: number, bit: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  s.flags[i] = (s.flags[i] as number) | (1 << bit);
}

/** Clear a page flag on the head. */
export function folioClearFlag(rm: FolioRmap, folio: number, bit: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  s.flags[i] = (s.flags[i] as number) & ~(1 << bit);
}

/** Test a flag on the first tail page (`_flags_1`: PG_partially_mapped, PG_large_rmappable). */
export function folioTestFlag1(rm: FolioRmap, folio: number, bit: number): boolean {
  return (((rm.sec(folio).flags[(folio & rm.mask) + 1] as number) >>> bit) & 1) === 1;
}

/** Whether the anon page is mapped by one process only, so a write fault may reuse it. @kernel PageAnonExclusive (include/linux/page-flags.h): hugetlb keeps it on the head. */
export function pageAnonExclusive(rm: FolioRmap, page: number): boolean {
  const s = rm.sec(page);
  const i = page & rm.mask;
  const h = s.compoundHead[i] as number;
  if (h >= 0) {
    // The head's own memmap section: a gigantic folio's tail may sit in another.
    const hs = rm.sec(h);
    if (hs.pageType[h & rm.mask] === PGTY_hugetlb) {
      return (((hs.flags[h & rm.mask] as number) >>> PG_anon_exclusive) & 1) === 1;
    }
  }
  return (((s.flags[i] as number) >>> PG_anon_exclusive) & 1) === 1;
}

/** Mark the anon page exclusive to one process. @kernel SetPageAnonExclusive (include/linux/page-flags.h) */
export function setPageAnonExclusive(rm: FolioRmap, page: number): void {
  const s = rm.sec(page);
  const i = page & rm.mask;
  s.flags[i] = (s.flags[i] as number) | (1 << PG_anon_exclusive);
}

/** Mark the anon page possibly shared. @kernel ClearPageAnonExclusive (include/linux/page-flags.h) */
export function clearPageAnonExclusive(rm: FolioRmap, page: number): void {
  const s = rm.sec(page);
  const i = page & rm.mask;
  s.flags[i] = (s.flags[i] as number) & ~(1 << PG_anon_exclusive);
}

// ---------------------------------------------------------------- counters

/** References held on the folio. @kernel folio_ref_count (include/linux/page_ref.h) */
export function folioRefCount(rm: FolioRmap, folio: number): number {
  return rm.sec(folio).refcount[folio & rm.mask] as number;
}

/**
 * Total mapcount: PTEs mapping any page plus PMD/PUD mappings.
 * @kernel folio_mapcount (include/linux/mm.h)
 */
export function folioMapcount(rm: FolioRmap, folio: number): number {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if ((s.flags[i] as number) & (1 << PG_head)) return (s.next[i + 1] as number) + 1;
  if (s.pageType[i] !== 0) return 0;
  return (s.mapcount[i] as number) + 1;
}

/** Whether any page table maps the folio. @kernel folio_mapped (include/linux/mm.h) */
export function folioMapped(rm: FolioRmap, folio: number): boolean {
  return folioMapcount(rm, folio) >= 1;
}

/** `_large_mapcount + 1`. @kernel folio_large_mapcount (include/linux/mm.h) */
export function folioLargeMapcount(rm: FolioRmap, folio: number): number {
  return (rm.sec(folio).next[(folio & rm.mask) + 1] as number) + 1;
}

/** PMD/PUD mappings of a large folio (0 for a small one). @kernel folio_entire_mapcount (include/linux/mm.h) */
export function folioEntireMapcount(rm: FolioRmap, folio: number): number {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (!((s.flags[i] as number) & (1 << PG_head))) return 0;
  return (s.mapping[i + 1] as number) + 1;
}

/**
 * `_nr_pages_mapped` of a large folio, or -1 with CONFIG_NO_PAGE_MAPCOUNT.
 * @kernel folio_nr_pages_mapped (mm/internal.h)
 */
export function folioNrPagesMapped(rm: FolioRmap, folio: number): number {
  if (!rm.pageMapcount) return -1;
  return rm.sec(folio).prev[(folio & rm.mask) + 1] as number;
}

/** `page->_mapcount + 1` of one page (the raw per-page count; -1 stored means 0). */
export function pageMapcountRaw(rm: FolioRmap, page: number): number {
  return (rm.sec(page).mapcount[page & rm.mask] as number) + 1;
}

/** `_pincount` of a large folio. @kernel folio_pincount (mm_types.h field) */
export function folioPincount(rm: FolioRmap, folio: number): number {
  return rm.sec(folio).memcgData[(folio & rm.mask) + 1] as number;
}

/**
 * Whether the folio may be pinned by GUP (FOLL_PIN): the pincount of a large
 * folio, a refcount ≥ GUP_PIN_COUNTING_BIAS for a small one (fuzzy: false is exact).
 * @kernel folio_maybe_dma_pinned (include/linux/mm.h)
 */
export function folioMaybeDmaPinned(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if ((s.flags[i] as number) & (1 << PG_head)) return (s.memcgData[i + 1] as number) > 0;
  return (s.refcount[i] as number) >>> 0 >= GUP_PIN_COUNTING_BIAS;
}

/**
 * Whether fork must copy instead of sharing: the mm has pinned pages and the folio may be pinned.
 * @kernel folio_needs_cow_for_dma (include/linux/mm.h)
 */
export function folioNeedsCowForDma(rm: FolioRmap, vma: RmapVma, folio: number): boolean {
  if (!(vma.vmMm.mmFlags & MMF_HAS_PINNED)) return false;
  return folioMaybeDmaPinned(rm, folio);
}

/**
 * Whether the folio is maybe mapped by more than one MM: never false when two
 * MMs map it; exact for small and hugetlb folios and while at most two MMs
 * ever mapped a large folio at the same time.
 * @kernel folio_maybe_mapped_shared (include/linux/mm.h)
 */
export function folioMaybeMappedShared(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (!((s.flags[i] as number) & (1 << PG_head)) || s.pageType[i] === PGTY_hugetlb) {
    return folioMapcount(rm, folio) > 1;
  }
  // A single mapping implies "mapped exclusively", whatever the bit says.
  if ((s.next[i + 1] as number) + 1 <= 1) return false;
  return (s.privateWords[2 * (i + 1) + 1] as number) < 0;
}

// ---------------------------------------------------------------- references

/**
 * Take a reference.
 * @kernel folio_get (include/linux/mm.h)
 */
export function folioGet(rm: FolioRmap, folio: number): void {
  folioRefAdd(rm, folio, 1);
}

/**
 * Take `nr` references.
 * @throws FolioError (EINVAL) on a free folio or a tail page.
 * @kernel folio_ref_add (include/linux/page_ref.h)
 */
export function folioRefAdd(rm: FolioRmap, folio: number, nr: number): void {
  const s = rm.sections[folio >>> rm.shift];
  const i = folio & rm.mask;
  if (s === undefined || (s.refcount[i] as number) <= 0 || (s.compoundHead[i] as number) >= 0) {
    throw new FolioError('EINVAL', folio, `folio: get on pfn ${folio}, which is not the head of an allocated folio`);
  }
  s.refcount[i] = (s.refcount[i] as number) + nr;
  rm.chargeAtomics(1);
}

/**
 * Drop a reference; the last one frees the folio (unqueueing it from the
 * deferred split queue, uncounting an anon folio's mTHP stat).
 * @throws BadPageError (nothing changed) when the folio is still mapped, pinned or in a bad state at free.
 * @kernel folio_put / __folio_put (include/linux/mm.h, mm/swap.c)
 */
export function folioPut(rm: FolioRmap, folio: number): void {
  folioPutRefs(rm, folio, 1);
}

/**
 * Drop `refs` references.
 * @kernel folio_put_refs (include/linux/mm.h)
 */
export function folioPutRefs(rm: FolioRmap, folio: number, refs: number): void {
  const s = rm.sections[folio >>> rm.shift];
  const i = folio & rm.mask;
  if (s === undefined || (s.compoundHead[i] as number) >= 0) {
    throw new FolioError('EINVAL', folio, `folio: put on pfn ${folio}, which is not the head of an allocated folio`);
  }
  const ref = s.refcount[i] as number;
  if (ref < refs || refs <= 0) {
    throw new FolioError('EINVAL', folio, `folio: put of ${refs} references on pfn ${folio} with refcount ${ref}`);
  }
  rm.chargeAtomics(1);
  if (ref > refs) {
    s.refcount[i] = ref - refs;
    return;
  }
  s.refcount[i] = 1;
  freeFolio(rm, folio);
}

/** Check what `free_tail_page_prepare` / `free_page_is_bad` check, without changing anything. */
function checkFolioFree(rm: FolioRmap, folio: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const mapping = s.mapping[i] as number;
  if (mapping !== 0 && !(mapping & FOLIO_MAPPING_FLAGS)) throw new BadPageError(folio, 'non-NULL mapping');
  if ((s.flags[i] as number) & PAGE_FLAGS_CHECK_AT_FREE)
    throw new BadPageError(folio, 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set');
  if (!((s.flags[i] as number) & (1 << PG_head))) {
    if ((s.mapcount[i] as number) !== -1) throw new BadPageError(folio, 'nonzero mapcount');
    return;
  }
  const j = i + 1;
  const order = s.order[i] as number;
  if ((s.next[j] as number) !== -1) throw new BadPageError(folio + 1, 'nonzero large_mapcount');
  if (rm.pageMapcount && (s.prev[j] as number) !== 0) throw new BadPageError(folio + 1, 'nonzero nr_pages_mapped');
  if ((s.indexWords[2 * j] as number) !== -1 || (s.indexWords[2 * j + 1] as number) !== -1) {
    throw new BadPageError(folio + 1, 'nonzero mm mapcount');
  }
  if ((s.mapping[j] as number) !== -1) throw new BadPageError(folio + 1, 'nonzero entire_mapcount');
  if ((s.memcgData[j] as number) !== 0) throw new BadPageError(folio + 1, 'nonzero pincount');
  // Page by page through the memmap sections (a gigantic folio spans several).
  const n = 2 ** order;
  for (let p = folio; p < folio + n; ) {
    const ps = rm.sec(p);
    const end = Math.min(folio + n, p - (p & rm.mask) + rm.mask + 1);
    for (; p < end; p++) {
      if ((ps.mapcount[p & rm.mask] as number) !== -1) throw new BadPageError(p, 'nonzero mapcount');
    }
  }
}

/** Free a folio whose last reference is being dropped (refcount 1 on entry). */
function freeFolio(rm: FolioRmap, folio: number): void {
  checkFolioFree(rm, folio);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const large = ((s.flags[i] as number) & (1 << PG_head)) !== 0;
  const order = large ? (s.order[i] as number) : 0;
  const mapping = s.mapping[i] as number;
  if (large) {
    if (s.pageType[i] !== PGTY_hugetlb) folioUnqueueDeferredSplit(rm, folio);
    const j = i + 1;
    // Back to the state the allocator expects of tail pages.
    s.next[j] = -1;
    s.prev[j] = -1;
    s.mapping[j] = 0;
    s.memcgData[j] = 0;
    s.index[j] = 0;
    s.private[j] = 0;
    s.flags[j] = (s.flags[j] as number) & ~((1 << PG_partially_mapped) | (1 << PG_large_rmappable) | (1 << PG_active));
    if (order > 1) {
      s.next[i + 2] = -1;
      s.prev[i + 2] = -1;
    }
    if (s.pageType[i] === PGTY_hugetlb) s.pageType[i] = 0;
  }
  if (mapping & FOLIO_MAPPING_FLAGS) {
    if (mapping & FOLIO_MAPPING_ANON) modMthpStat(rm, order, MTHP_STAT.MTHP_STAT_NR_ANON, -1);
    s.mapping[i] = 0;
  }
  if (order > rm.memmap.maxOrder) freeContigRange(rm.mem, folio, 2 ** order);
  else rm.mem.freePages(folio, order);
}

// ---------------------------------------------------------------- allocation

/**
 * Initialize the folio fields of a fresh compound page.
 * @kernel prep_compound_head (mm/internal.h)
 */
export function prepCompoundHead(rm: FolioRmap, folio: number, order: number): void {
  const s = rm.sec(folio);
  const j = (folio & rm.mask) + 1;
  s.next[j] = -1; // _large_mapcount
  s.prev[j] = 0; // _nr_pages_mapped
  s.privateWords[2 * j] = 0; // _mm_ids
  s.privateWords[2 * j + 1] = 0;
  s.indexWords[2 * j] = -1; // _mm_id_mapcount[0]
  s.indexWords[2 * j + 1] = -1;
  s.memcgData[j] = 0; // _pincount
  s.mapping[j] = -1; // _entire_mapcount
  if (order > 1) {
    s.next[j + 1] = folio; // INIT_LIST_HEAD(&folio->_deferred_list)
    s.prev[j + 1] = folio;
  }
}

/**
 * Allocate a folio of `order` (0 … MAX_PAGE_ORDER): one reference, unmapped,
 * large folios prepared for the rmap (large_rmappable). Returns the head PFN
 * or a negative errno (-ENOMEM).
 * @kernel folio_alloc / page_rmappable_folio / folio_prep_large_rmappable (mm/page_alloc.c, mm/huge_memory.c)
 */
export function folioAlloc(rm: FolioRmap, gfp: number, order: number, nid = -1): number {
  if (!Number.isInteger(order) || order < 0 || order > rm.memmap.maxOrder) {
    throw new FolioError('EINVAL', -1, `folio: order ${order} outside 0..${rm.memmap.maxOrder}`);
  }
  const pfn = rm.mem.allocPages(order > 0 ? gfp | __GFP_COMP : gfp, order, nid);
  if (pfn < 0) return pfn;
  if (order > 0) {
    prepCompoundHead(rm, pfn, order);
    const s = rm.sec(pfn);
    const j = (pfn & rm.mask) + 1;
    s.flags[j] = (s.flags[j] as number) | (1 << PG_large_rmappable);
  }
  return pfn;
}

/**
 * Allocate a hugetlb folio of `order` (a page of PGTY_hugetlb, from the
 * buddy allocator here rather than a pre-reserved pool). Returns the head or -ENOMEM.
 * @kernel alloc_hugetlb_folio / init_new_hugetlb_folio (mm/hugetlb.c)
 */
export function folioAllocHugetlb(rm: FolioRmap, gfp: number, order: number, nid = -1): number {
  const maxOrder = maxFolioOrder(rm.mem);
  if (!Number.isInteger(order) || order < 1 || order > maxOrder) {
    throw new FolioError('EINVAL', -1, `folio: hugetlb order ${order} outside 1..${maxOrder}`);
  }
  // Gigantic folios (beyond MAX_PAGE_ORDER, e.g. 1 GiB) come from the contiguous allocator.
  const pfn =
    order > rm.memmap.maxOrder
      ? allocContigPages(rm.mem, 2 ** order, gfp | __GFP_COMP, nid)
      : rm.mem.allocPages(gfp | __GFP_COMP, order, nid);
  if (pfn < 0) return pfn;
  prepCompoundHead(rm, pfn, order);
  rm.sec(pfn).pageType[pfn & rm.mask] = PGTY_hugetlb;
  return pfn;
}

// ---------------------------------------------------------------- folio lock

/**
 * Take the folio lock if free.
 * @kernel folio_trylock (include/linux/pagemap.h)
 */
export function folioTrylock(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const f = s.flags[i] as number;
  if (f & (1 << PG_locked)) return false;
  s.flags[i] = f | (1 << PG_locked);
  return true;
}

/**
 * Release the folio lock.
 * @kernel folio_unlock (mm/filemap.c)
 */
export function folioUnlock(rm: FolioRmap, folio: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const f = s.flags[i] as number;
  if (!(f & (1 << PG_locked))) throw new FolioError('EINVAL', folio, `folio: unlock of unlocked folio ${folio}`);
  s.flags[i] = f & ~(1 << PG_locked);
}

/** Whether the folio is locked. @kernel folio_test_locked (include/linux/page-flags.h) */
export function folioTestLocked(rm: FolioRmap, folio: number): boolean {
  return folioTestFlag(rm, folio, PG_locked);
}

/** Whether the folio is backed by swap (anon or shmem) rather than a file. @kernel folio_test_swapbacked (include/linux/page-flags.h) */
export function folioTestSwapbacked(rm: FolioRmap, folio: number): boolean {
  return folioTestFlag(rm, folio, PG_swapbacked);
}

/** Node of the folio. @kernel folio_nid (include/linux/mm.h) */
export function folioNid(rm: FolioRmap, folio: number): number {
  return rm.mem.pageToNid(folio);
}
