/**
 * DOC: the buddy free lists (`zone->free_area[order].free_list[migratetype]`).
 *
 * A free block of order n is 2^n pages aligned to 2^n, marked with the buddy
 * page type and its order in `private`, linked into its zone's list for
 * (order, migratetype) through the memmap's `next`/`prev`. Allocation takes
 * the smallest suitable block and splits it (`__rmqueue_smallest`,
 * `expand`); freeing merges a block with its free buddy (`pfn ^ (1 << order)`)
 * as long as possible (`__free_one_page`). Untouched memory sections stand
 * for the tail of the MOVABLE max-order list and are materialized on demand
 * (deferred struct page init).
 *
 * Context: zone->lock held (the callers in rmqueue.ts, pcp.ts and
 * page-alloc.ts take it).
 */

import { MmBugError } from '../errors.js';
import type { MemSection } from './memmap.js';
import { MIGRATE_HIGHATOMIC, MIGRATE_MOVABLE, MIGRATE_PCPTYPES, MIGRATE_TYPES } from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import { zoneLockIrqsave, zoneUnlockIrqrestore } from './page-alloc-locks.js';
import { PGTY_buddy } from './page-flags.js';
import { NR_FREE_PAGES, VM_EVENT } from './vmstat.js';

/** `__free_one_page` flag: put the merged block at the tail of its list. */
export const FPI_TO_TAIL = 2;

/**
 * Materialize section `nr` (allocate its memmap) and put its boot-time free
 * blocks on the MOVABLE max-order free list of its zone, at the tail (boot
 * frees memory to the tail in PFN order). They were already counted free.
 * @kernel deferred_grow_zone / deferred_init_memmap_chunk (mm/mm_init.c)
 */
export function materializeSection(pa: PageAllocator, nr: number): MemSection {
  const existing = pa.sections[nr];
  if (existing !== undefined) return existing;
  const zone = pa.sectionZone[nr] as number;
  if (zone < 0) throw new MmBugError(`page_alloc: section ${nr} belongs to no zone`);
  const sec = pa.memmap.materialize(nr);
  const pps = pa.memmap.pagesPerSection;
  const block = 1 << pa.maxOrder;
  const base = nr * pps;
  const l = listId(pa, zone, pa.maxOrder, MIGRATE_MOVABLE);
  for (let off = 0; off < pps; off += block) {
    const pfn = base + off;
    if (pa.pageblock.get(pfn) !== MIGRATE_MOVABLE) throw new MmBugError(`page_alloc: untouched pfn ${pfn} not movable`);
    sec.pageType[off] = PGTY_buddy;
    sec.private[off] = pa.maxOrder;
    const tail = pa.freeTail[l] as number;
    sec.prev[off] = tail;
    sec.next[off] = -1;
    if (tail < 0) pa.freeHead[l] = pfn;
    else pa.sec(tail).next[tail & pa.sectionMask] = pfn;
    pa.freeTail[l] = pfn;
  }
  pa.zones.nrDeferred[zone] = (pa.zones.nrDeferred[zone] as number) - 1;
  return sec;
}

/** Materialize the next untouched section of `zone`; false if none is left. */
export function deferredGrowZone(pa: PageAllocator, zone: number): boolean {
  if ((pa.zones.nrDeferred[zone] as number) === 0) return false;
  let s = pa.zones.deferNext[zone] as number;
  const end = pa.zones.deferEnd[zone] as number;
  while (s < end && pa.sections[s] !== undefined) s++;
  if (s >= end) throw new MmBugError(`page_alloc: zone ${zone} lost track of its deferred sections`);
  materializeSection(pa, s);
  pa.zones.deferNext[zone] = s + 1;
  return true;
}

/** Free-list id of (zone, order, migratetype). */
export function listId(pa: PageAllocator, zone: number, order: number, mt: number): number {
  return (zone * pa.nrOrders + order) * MIGRATE_TYPES + mt;
}

/**
 * Whether a free list is empty (untouched sections count as the tail of
 * the MOVABLE max-order list).
 * @kernel free_area_empty (mm/internal.h)
 */
export function freeAreaEmpty(pa: PageAllocator, zone: number, order: number, mt: number): boolean {
  if ((pa.freeHead[listId(pa, zone, order, mt)] as number) >= 0) return false;
  return !(order === pa.maxOrder && mt === MIGRATE_MOVABLE && (pa.zones.nrDeferred[zone] as number) > 0);
}

/**
 * First block on a free list, or -1.
 * @kernel get_page_from_free_area (mm/page_alloc.c)
 */
export function getPageFromFreeArea(pa: PageAllocator, zone: number, order: number, mt: number): number {
  const l = listId(pa, zone, order, mt);
  const head = pa.freeHead[l] as number;
  if (head >= 0) return head;
  if (order === pa.maxOrder && mt === MIGRATE_MOVABLE && deferredGrowZone(pa, zone)) {
    return pa.freeHead[l] as number;
  }
  return -1;
}

/**
 * Link a block into a free list (no accounting, no buddy mark).
 * @kernel __add_to_free_list (mm/page_alloc.c)
 */
export function __addToFreeList(
  pa: PageAllocator,
  pfn: number,
  zone: number,
  order: number,
  mt: number,
  tail: boolean,
): void {
  const l = (zone * pa.nrOrders + order) * MIGRATE_TYPES + mt;
  const s = pa.sections[pfn >>> pa.sectionShift] as MemSection;
  const i = pfn & pa.sectionMask;
  if (tail) {
    const t = pa.freeTail[l] as number;
    s.prev[i] = t;
    s.next[i] = -1;
    if (t < 0) pa.freeHead[l] = pfn;
    else (pa.sections[t >>> pa.sectionShift] as MemSection).next[t & pa.sectionMask] = pfn;
    pa.freeTail[l] = pfn;
  } else {
    const h = pa.freeHead[l] as number;
    s.next[i] = h;
    s.prev[i] = -1;
    if (h < 0) pa.freeTail[l] = pfn;
    else (pa.sections[h >>> pa.sectionShift] as MemSection).prev[h & pa.sectionMask] = pfn;
    pa.freeHead[l] = pfn;
  }
  pa.nrFree[zone * pa.nrOrders + order] = (pa.nrFree[zone * pa.nrOrders + order] as number) + 1;
}

/** Unlink `pfn` from list `l`. */
export function unlink(pa: PageAllocator, pfn: number, l: number): void {
  const s = pa.sections[pfn >>> pa.sectionShift] as MemSection;
  const i = pfn & pa.sectionMask;
  const n = s.next[i] as number;
  const p = s.prev[i] as number;
  if (p < 0) pa.freeHead[l] = n;
  else (pa.sections[p >>> pa.sectionShift] as MemSection).next[p & pa.sectionMask] = n;
  if (n < 0) pa.freeTail[l] = p;
  else (pa.sections[n >>> pa.sectionShift] as MemSection).prev[n & pa.sectionMask] = p;
  s.next[i] = -1;
  s.prev[i] = -1;
}

/**
 * Remove a free block from its list and clear its buddy mark (no accounting).
 * @kernel __del_page_from_free_list (mm/page_alloc.c)
 */
export function __delPageFromFreeList(pa: PageAllocator, pfn: number, zone: number, order: number, mt: number): void {
  unlink(pa, pfn, (zone * pa.nrOrders + order) * MIGRATE_TYPES + mt);
  const s = pa.sections[pfn >>> pa.sectionShift] as MemSection;
  const i = pfn & pa.sectionMask;
  s.pageType[i] = 0;
  s.private[i] = 0;
  pa.nrFree[zone * pa.nrOrders + order] = (pa.nrFree[zone * pa.nrOrders + order] as number) - 1;
}

/**
 * Remove a free block and account it as no longer free.
 * @kernel del_page_from_free_list (mm/page_alloc.c)
 */
export function delPageFromFreeList(pa: PageAllocator, pfn: number, zone: number, order: number, mt: number): void {
  __delPageFromFreeList(pa, pfn, zone, order, mt);
  accountFreepages(pa, zone, -(1 << order), mt);
}

/**
 * Move a free block to the tail of another migratetype's list.
 * @kernel move_to_free_list (mm/page_alloc.c)
 */
export function moveToFreeList(
  pa: PageAllocator,
  pfn: number,
  zone: number,
  order: number,
  oldMt: number,
  newMt: number,
): void {
  unlink(pa, pfn, listId(pa, zone, order, oldMt));
  const l = listId(pa, zone, order, newMt);
  const s = pa.sec(pfn);
  const i = pfn & pa.sectionMask;
  const t = pa.freeTail[l] as number;
  s.prev[i] = t;
  s.next[i] = -1;
  if (t < 0) pa.freeHead[l] = pfn;
  else pa.sec(t).next[t & pa.sectionMask] = pfn;
  pa.freeTail[l] = pfn;
  accountFreepages(pa, zone, -(1 << order), oldMt);
  accountFreepages(pa, zone, 1 << order, newMt);
}

/**
 * Account `nr` pages entering (+) or leaving (-) the free lists.
 * @kernel account_freepages (mm/page_alloc.c)
 */
export function accountFreepages(pa: PageAllocator, zone: number, nr: number, mt: number): void {
  pa.vmstat.modZonePageState(pa.machine.currentCpu, zone, NR_FREE_PAGES, nr);
  if (mt === MIGRATE_HIGHATOMIC) pa.zones.nrFreeHighatomic[zone] = (pa.zones.nrFreeHighatomic[zone] as number) + nr;
}

/** Mark a free block head (`set_buddy_order`). */
export function setBuddyOrder(pa: PageAllocator, pfn: number, order: number): void {
  const s = pa.sections[pfn >>> pa.sectionShift] as MemSection;
  const i = pfn & pa.sectionMask;
  s.pageType[i] = PGTY_buddy;
  s.private[i] = order;
}

/**
 * Whether `buddy` is a free block of `order` that `pfn` can merge with.
 * @kernel page_is_buddy (mm/page_alloc.c)
 */
export function pageIsBuddy(pa: PageAllocator, buddy: number, order: number): boolean {
  // The buddy lies in the same max-order block, hence the same section and zone.
  const s = pa.sections[buddy >>> pa.sectionShift] as MemSection;
  const i = buddy & pa.sectionMask;
  return s.pageType[i] === PGTY_buddy && s.private[i] === order;
}

/**
 * Split a block of order `high` down to `low`, putting the upper halves on
 * the free lists; returns the pages put back.
 * @kernel expand (mm/page_alloc.c)
 */
export function expand(pa: PageAllocator, zone: number, pfn: number, low: number, high: number, mt: number): number {
  let size = 1 << high;
  let added = 0;
  let h = high;
  while (h > low) {
    h--;
    size >>>= 1;
    const p = pfn + size;
    __addToFreeList(pa, p, zone, h, mt, false);
    setBuddyOrder(pa, p, h);
    added += size;
  }
  return added;
}

/** Take the free block of order `high` at `pfn` off its list and return the unneeded halves down to order `low` to the free lists. @kernel page_del_and_expand (mm/page_alloc.c) */
export function pageDelAndExpand(
  pa: PageAllocator,
  zone: number,
  pfn: number,
  low: number,
  high: number,
  mt: number,
): void {
  let nr = 1 << high;
  __delPageFromFreeList(pa, pfn, zone, high, mt);
  nr -= expand(pa, zone, pfn, low, high, mt);
  accountFreepages(pa, zone, -nr, mt);
}

/**
 * Take the smallest free block of `mt` of at least `order` and split it.
 * @returns the PFN or -1.
 * @kernel __rmqueue_smallest (mm/page_alloc.c)
 */
export function __rmqueueSmallest(pa: PageAllocator, zone: number, order: number, mt: number): number {
  for (let co = order; co < pa.nrOrders; co++) {
    const pfn = getPageFromFreeArea(pa, zone, co, mt);
    if (pfn < 0) continue;
    pageDelAndExpand(pa, zone, pfn, order, co, mt);
    return pfn;
  }
  return -1;
}

/**
 * Free a block to the buddy lists, pageblock by pageblock.
 * @kernel free_one_page / split_large_buddy (mm/page_alloc.c)
 */
export function freeOnePage(pa: PageAllocator, zone: number, pfn: number, order: number, fpi: number): void {
  const end = pfn + (1 << order);
  const o = Math.min(order, pa.pageblockOrder);
  let p = pfn;
  const flags = zoneLockIrqsave(pa, zone);
  do {
    __freeOnePage(pa, p, zone, o, pa.pageblock.get(p), fpi);
    p += 1 << o;
  } while (p !== end);
  zoneUnlockIrqrestore(pa, zone, flags);
  pa.vmstat.countVmEvents(pa.machine.currentCpu, VM_EVENT.PGFREE, 1 << order);
}

/**
 * Put a block on the free lists, merging with free buddies as far as
 * possible; blocks of unmergeable pageblocks (highatomic) do not merge
 * across pageblocks.
 * @kernel __free_one_page (mm/page_alloc.c)
 */
export function __freeOnePage(
  pa: PageAllocator,
  pfn: number,
  zone: number,
  order: number,
  mt: number,
  fpi: number,
): void {
  accountFreepages(pa, zone, 1 << order, mt);
  let p = pfn;
  let o = order;
  let buddy = 0;
  while (o < pa.maxOrder) {
    let buddyMt = mt;
    buddy = p ^ (1 << o);
    if (!pageIsBuddy(pa, buddy, o)) break;
    if (o >= pa.pageblockOrder) {
      buddyMt = pa.pageblock.get(buddy);
      if (mt !== buddyMt && (mt >= MIGRATE_PCPTYPES || buddyMt >= MIGRATE_PCPTYPES)) break;
    }
    __delPageFromFreeList(pa, buddy, zone, o, buddyMt);
    if (buddyMt !== mt) pa.pageblock.set(buddy, mt);
    p = p & buddy;
    o++;
  }
  setBuddyOrder(pa, p, o);
  const toTail = fpi & FPI_TO_TAIL ? true : buddyMergeLikely(pa, p, buddy, o);
  __addToFreeList(pa, p, zone, o, mt, toTail);
}

/**
 * Whether the merged block's own buddy is free one order up: then put it
 * at the tail so it stays free longer and can merge.
 * @kernel buddy_merge_likely (mm/page_alloc.c)
 */
export function buddyMergeLikely(pa: PageAllocator, pfn: number, buddy: number, order: number): boolean {
  if (order >= pa.maxOrder - 1) return false;
  const higher = buddy & pfn;
  return pageIsBuddy(pa, higher ^ (1 << (order + 1)), order + 1);
}
