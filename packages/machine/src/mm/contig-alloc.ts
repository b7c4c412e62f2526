/**
 * DOC: contiguous allocation beyond the buddy allocator's largest order
 * (CONFIG_CONTIG_ALLOC): what gigantic hugetlb folios (1 GiB on x86-64 with
 * 4 KiB pages, order 18 > MAX_PAGE_ORDER) and CMA-style users allocate.
 *
 * `allocContigRange(mem, start, end, gfp)` takes a given PFN range out of
 * the buddy allocator: it drains the pcp lists, checks that every page of
 * the range is free, removes the free blocks covering the range from their
 * lists (the first and last may stick out of it) and gives the parts that
 * stick out back. `allocContigPages(mem, nrPages, gfp, nid)` searches the
 * zones of the node's zonelist for a range aligned to `nrPages` that it can
 * take. `freeContigRange(mem, pfn, nrPages)` gives the pages back: one
 * reference on each page of a non-compound range, or the compound page
 * when the range is one.
 *
 * Departures from the kernel:
 * - **No migration.** The kernel isolates the pageblocks (MIGRATE_ISOLATE)
 *   and migrates the in-use movable pages out of the range; the model has
 *   neither, so a range holding any page in use fails with -EBUSY and
 *   changes nothing (beyond the pcp drain and materializing untouched
 *   sections, neither of which is visible in the counters).
 * - **`__GFP_COMP` is accepted** by both allocation functions and returns
 *   one compound page with a single reference on its head: the kernel of
 *   v7.2 takes `__GFP_COMP` only in the `_frozen_` variants
 *   (`alloc_contig_frozen_pages`, what hugetlb calls), whose refcount the
 *   caller then sets; the model has no frozen pages.
 * - Free blocks are found through the memmap's buddy marks, not the
 *   kernel's `find_large_buddy` + `isolate_freepages_range`; the result is
 *   the same set of pages.
 */

import { EBUSY, EINVAL, ENOMEM, MmError } from '../errors.js';
import { __freeOnePage, delPageFromFreeList, materializeSection } from './buddy.js';
import {
  __GFP_COMP,
  __GFP_FS,
  __GFP_HARDWALL,
  __GFP_IO,
  __GFP_MOVABLE,
  __GFP_NOWARN,
  __GFP_RECLAIM,
  __GFP_RECLAIMABLE,
  __GFP_RETRY_MAYFAIL,
  __GFP_THISNODE,
  __GFP_WRITE,
  __GFP_ZERO,
  __GFP_ZEROTAGS,
  GFP_ZONEMASK,
  gfpZone,
} from './gfp.js';
import type { MemSection } from './memmap.js';
import { BadPageError, checkFreePages, type PageAllocator } from './page-alloc.js';
import { PAGE_FLAGS_CHECK_AT_FREE, PAGE_FLAGS_CHECK_AT_PREP, PG_head, PGTY_buddy } from './page-flags.js';
import { VM_EVENT } from './vmstat.js';

/** No preferred node: the current CPU's. */
const NUMA_NO_NODE = -1;

/**
 * The largest folio order a contiguous compound allocation may have: 16 GiB
 * on 64-bit with hugetlb.
 * @kernel MAX_FOLIO_ORDER (include/linux/mmzone.h)
 */
export function maxFolioOrder(mem: PageAllocator): number {
  return 34 - mem.machine.topology.pageShift;
}

/** GFP flags `alloc_contig_range` accepts (placement hints are ignored). @kernel __alloc_contig_verify_gfp_mask */
const CONTIG_RECLAIM_MASK = __GFP_IO | __GFP_FS | __GFP_RECLAIM;
const CONTIG_ACTION_MASK = __GFP_COMP | __GFP_RETRY_MAYFAIL | __GFP_NOWARN | __GFP_ZERO | __GFP_ZEROTAGS;
const CONTIG_IGNORED = GFP_ZONEMASK | __GFP_RECLAIMABLE | __GFP_WRITE | __GFP_HARDWALL | __GFP_THISNODE | __GFP_MOVABLE;

function checkPfnArg(mem: PageAllocator, name: string, pfn: number, allowEnd: boolean): void {
  const limit = mem.memmap.totalPages;
  if (!Number.isInteger(pfn) || pfn < 0 || pfn > limit || (!allowEnd && pfn === limit)) {
    throw new MmError('EINVAL', `contig_alloc: ${name} ${pfn} is not a PFN of this machine (0..${limit})`);
  }
}

/**
 * The free block holding `pfn` in a materialized section: its head, with
 * its order in `blockOrder`; -1 when the page is not free in the buddy
 * allocator. A free block is aligned to its size, so the candidate heads
 * are `pfn` rounded down to each order.
 */
function freeBlockOf(mem: PageAllocator, s: MemSection, pfn: number): number {
  for (let o = 0; o <= mem.maxOrder; o++) {
    const h = pfn - (pfn % (1 << o));
    const j = h & mem.sectionMask;
    if (s.pageType[j] === PGTY_buddy && (s.private[j] as number) >= o) {
      foundOrder = s.private[j] as number;
      return h;
    }
  }
  return -1;
}
/** The order of the block {@link freeBlockOf} last found (a second return value). */
let foundOrder = 0;

/** Whether every page of [start, end) is free (untouched sections are). */
function rangeFree(mem: PageAllocator, start: number, end: number): boolean {
  const pps = mem.memmap.pagesPerSection;
  let p = start;
  while (p < end) {
    const s = mem.sections[p >>> mem.sectionShift];
    if (s === undefined) {
      p = (Math.floor(p / pps) + 1) * pps;
      continue;
    }
    const h = freeBlockOf(mem, s, p);
    if (h < 0) return false;
    p = h + (1 << foundOrder);
  }
  return true;
}

/** Put [from, to) (free, unlisted pages of `zone`) back on the free lists in aligned blocks. */
function giveBack(mem: PageAllocator, zone: number, from: number, to: number): void {
  let p = from;
  while (p < to) {
    let o = 0;
    while (o < mem.pageblockOrder && p % (1 << (o + 1)) === 0 && p + (1 << (o + 1)) <= to) o++;
    __freeOnePage(mem, p, zone, o, mem.pageblock.get(p), 0);
    p += 1 << o;
  }
}

/**
 * Allocate the pages [start, end), all in one zone. Without `__GFP_COMP`
 * each page comes back as an order-0 page with one reference; with it the
 * range (a power of two of pages, aligned to its size, order at most
 * {@link maxFolioOrder}) is one compound page with one reference on its head.
 * @returns 0, -EBUSY when a page of the range is in use (nothing changed), or
 *   -EINVAL for GFP flags the kernel refuses or a misshapen compound range.
 * @throws MmError EINVAL when the range is not PFNs of one zone.
 * @kernel alloc_contig_range / alloc_contig_frozen_range (mm/page_alloc.c)
 */
export function allocContigRange(mem: PageAllocator, start: number, end: number, gfp: number): number {
  checkPfnArg(mem, 'start', start, false);
  checkPfnArg(mem, 'end', end, true);
  if (end <= start) throw new MmError('EINVAL', `contig_alloc: empty range [${start}, ${end})`);
  const zone = mem.pageZone(start);
  if (zone < 0 || mem.pageZone(end - 1) !== zone) {
    throw new MmError('EINVAL', `contig_alloc: range [${start}, ${end}) is not in one zone`);
  }
  const g = gfp & ~CONTIG_IGNORED;
  if ((g & ~(CONTIG_RECLAIM_MASK | CONTIG_ACTION_MASK)) !== 0) return -EINVAL;
  const nr = end - start;
  const compound = (gfp & __GFP_COMP) !== 0;
  let order = 0;
  if (compound) {
    order = Math.log2(nr);
    if (!Number.isInteger(order) || start % nr !== 0 || order > maxFolioOrder(mem)) return -EINVAL;
  }
  mem.drainAllPages();
  if (!rangeFree(mem, start, end)) return -EBUSY;

  // Materialize untouched sections (their max-order blocks join the free lists).
  const pps = mem.memmap.pagesPerSection;
  for (let nrSec = Math.floor(start / pps); nrSec <= Math.floor((end - 1) / pps); nrSec++) {
    if (mem.sections[nrSec] === undefined) materializeSection(mem, nrSec);
  }
  // Take every free block covering the range off its list.
  let outerStart = start;
  let outerEnd = end;
  let p = start;
  while (p < end) {
    const s = mem.sec(p);
    const h = freeBlockOf(mem, s, p);
    if (h < 0) throw new MmError('EBUSY', `contig_alloc: pfn ${p} stopped being free`);
    const o = foundOrder;
    if (h < outerStart) outerStart = h;
    delPageFromFreeList(mem, h, zone, o, mem.pageblock.get(h));
    p = h + (1 << o);
    if (p > outerEnd) outerEnd = p;
  }
  giveBack(mem, zone, outerStart, start);
  giveBack(mem, zone, end, outerEnd);

  // Set up the pages, section by section.
  const zero = (gfp & __GFP_ZERO) !== 0;
  p = start;
  while (p < end) {
    const s = mem.sec(p);
    const i = p & mem.sectionMask;
    const n = Math.min(end - p, pps - i);
    s.private.fill(0, i, i + n);
    if (zero) s.content.fill(0, i, i + n);
    if (!compound) {
      s.refcount.fill(1, i, i + n);
      s.order.fill(0, i, i + n);
    } else {
      s.refcount.fill(0, i, i + n);
      s.compoundHead.fill(start, i, i + n);
    }
    p += n;
  }
  if (compound) {
    const s = mem.sec(start);
    const i = start & mem.sectionMask;
    s.compoundHead[i] = -1;
    s.refcount[i] = 1;
    s.order[i] = order;
    if (order > 0) s.flags[i] = (s.flags[i] as number) | (1 << PG_head);
    else s.compoundHead[i] = -1;
  }
  return 0;
}

/**
 * Find and allocate `nrPages` contiguous pages, aligned to `nrPages` (rounded
 * up to a multiple of it), in the zones `gfp` allows on `nid`'s zonelist
 * (only `nid`'s zones with `__GFP_THISNODE`), best zone first.
 * @returns the first PFN, or -ENOMEM when no range could be taken.
 * @throws MmError EINVAL for a page count that is not a positive integer.
 * @kernel alloc_contig_pages / alloc_contig_frozen_pages (mm/page_alloc.c)
 */
export function allocContigPages(mem: PageAllocator, nrPages: number, gfp: number, nid = NUMA_NO_NODE): number {
  if (!Number.isInteger(nrPages) || nrPages < 1 || nrPages > mem.memmap.totalPages) {
    throw new MmError('EINVAL', `contig_alloc: nrPages ${nrPages} is not a page count of this machine`);
  }
  const node = nid === NUMA_NO_NODE ? (mem.cpuToNode[mem.machine.currentCpu] as number) : nid;
  const zones = mem.zones;
  if (!Number.isInteger(node) || node < 0 || node >= zones.zonelistFallback.length) {
    throw new MmError('EINVAL', `contig_alloc: nid ${nid} is not a node`);
  }
  const list = (gfp & __GFP_THISNODE) !== 0 ? zones.zonelistNofallback[node]! : zones.zonelistFallback[node]!;
  const highest = gfpZone(gfp);
  for (let k = 0; k < list.length; k++) {
    const z = list[k] as number;
    if (zones.zoneIdx(z) > highest) continue;
    const zStart = zones.startPfn[z] as number;
    const zEnd = zStart + (zones.spanned[z] as number);
    for (let pfn = Math.ceil(zStart / nrPages) * nrPages; pfn + nrPages <= zEnd; pfn += nrPages) {
      const r = allocContigRange(mem, pfn, pfn + nrPages, gfp);
      if (r === 0) return pfn;
      if (r !== -EBUSY) return -ENOMEM;
    }
  }
  return -ENOMEM;
}

/**
 * Give back `nrPages` pages from `pfn` taken with {@link allocContigRange} or
 * {@link allocContigPages}: for a compound page (the range must be exactly
 * it) one reference on its head, the last freeing all of it; otherwise one
 * reference on each page, freeing those whose last it was (a warning counts
 * pages still in use, as the kernel's does).
 * @throws BadPageError (nothing changed) when a page cannot be freed: free,
 *   a stray tail, or still mapped / typed / flagged.
 * @throws MmError EINVAL when the count does not match the compound page or leaves the machine.
 * @kernel free_contig_range / free_contig_frozen_range (mm/page_alloc.c)
 */
export function freeContigRange(mem: PageAllocator, pfn: number, nrPages: number): void {
  checkPfnArg(mem, 'pfn', pfn, false);
  if (!Number.isInteger(nrPages) || nrPages < 1 || pfn + nrPages > mem.memmap.totalPages) {
    throw new MmError('EINVAL', `contig_alloc: nrPages ${nrPages} from pfn ${pfn} leaves the machine`);
  }
  const s0 = mem.memmap.sectionOf(pfn);
  const i0 = pfn & mem.sectionMask;
  if (s0 !== undefined && ((s0.flags[i0] as number) & (1 << PG_head)) !== 0 && (s0.refcount[i0] as number) > 0) {
    freeContigCompound(mem, s0, i0, pfn, nrPages);
    return;
  }
  for (let k = 0; k < nrPages; k++) checkFreePages(mem, pfn + k, 0);
  let busy = 0;
  for (let k = 0; k < nrPages; k++) {
    const p = pfn + k;
    if ((mem.sec(p).refcount[p & mem.sectionMask] as number) !== 1) busy++;
    mem.freePages(p, 0);
  }
  mem.machine.warnOn(busy !== 0, `contig_alloc: ${busy} pages are still in use`);
}

/** The compound case of {@link freeContigRange}. */
function freeContigCompound(mem: PageAllocator, s0: MemSection, i0: number, pfn: number, nrPages: number): void {
  const order = s0.order[i0] as number;
  if (nrPages !== 2 ** order) {
    throw new MmError('EINVAL', `contig_alloc: pfn ${pfn}: nrPages ${nrPages} != ${2 ** order} of the compound page`);
  }
  if (order <= mem.maxOrder) {
    mem.freePages(pfn, order);
    return;
  }
  const ref = s0.refcount[i0] as number;
  if (ref > 1) {
    s0.refcount[i0] = ref - 1;
    return;
  }
  // The last reference: check every page before changing anything.
  for (let k = 0; k < nrPages; k++) {
    const p = pfn + k;
    const s = mem.sec(p);
    const j = p & mem.sectionMask;
    if (k > 0 && (s.compoundHead[j] !== pfn || s.refcount[j] !== 0)) {
      throw new BadPageError(p, 'compound_head not consistent');
    }
    const memcg = s.memcgData[j] as number;
    if (
      s.mapcount[j] !== -1 ||
      s.pageType[j] !== 0 ||
      s.mapping[j] !== 0 ||
      ((s.flags[j] as number) & PAGE_FLAGS_CHECK_AT_FREE) !== 0 ||
      (memcg !== 0 && !(k === 0 && memcg & 2))
    ) {
      throw new BadPageError(p, 'page in use (mapcount, type, mapping, flags or memcg) at free');
    }
  }
  s0.refcount[i0] = 0;
  const memcg = s0.memcgData[i0] as number;
  if (memcg & 2 /* MEMCG_DATA_KMEM */) {
    s0.memcgData[i0] = 0;
    if (mem.memcgUnchargeHook !== null) mem.memcgUnchargeHook(pfn, order, (memcg - 2) / 4);
  }
  const zone = mem.pageZone(pfn);
  const chunk = 1 << mem.maxOrder;
  for (let p = pfn; p < pfn + nrPages; p += chunk) {
    const s = mem.sec(p);
    const i = p & mem.sectionMask;
    for (let j = i; j < i + chunk; j++) s.flags[j] = (s.flags[j] as number) & ~PAGE_FLAGS_CHECK_AT_PREP;
    s.compoundHead.fill(-1, i, i + chunk);
    s.order.fill(0, i, i + chunk);
    s.private.fill(0, i, i + chunk);
    const pbChunk = 1 << mem.pageblockOrder;
    for (let q = p; q < p + chunk; q += pbChunk)
      __freeOnePage(mem, q, zone, mem.pageblockOrder, mem.pageblock.get(q), 0);
  }
  mem.vmstat.countVmEvents(mem.machine.currentCpu, VM_EVENT.PGFREE, nrPages);
}
