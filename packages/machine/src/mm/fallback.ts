/**
 * DOC: migratetype fallback: claiming and stealing foreign pageblocks.
 *
 * When the free lists of the wanted migratetype are empty, `__rmqueue` falls
 * back to other migratetypes in `fallbacks[]` order: first it tries to
 * *claim* a whole pageblock for the requester (`__rmqueue_claim`,
 * `try_to_claim_block`: a block at least half a pageblock, or a pageblock
 * mostly free or alike), otherwise it just takes (*steals*) the smallest
 * foreign block without converting it (`__rmqueue_steal`), the terminology
 * of the v6.15 series "mm/page_alloc: Some clarifications for
 * migratetype fallback".
 *
 * Context: zone->lock held.
 */

import {
  __rmqueueSmallest,
  accountFreepages,
  delPageFromFreeList,
  expand,
  freeAreaEmpty,
  getPageFromFreeArea,
  moveToFreeList,
  pageDelAndExpand,
} from './buddy.js';
import { ALLOC_KSWAPD, ALLOC_NOFRAGMENT } from './gfp.js';
import {
  MIGRATE_MOVABLE,
  MIGRATE_PCPTYPES,
  MIGRATE_RECLAIMABLE,
  MIGRATE_UNMOVABLE,
  ZONE_BOOSTED_WATERMARK,
} from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import { PG_lru, PGTY_buddy } from './page-flags.js';
import { boostWatermark } from './watermark.js';

// `enum rmqueue_mode`: `__rmqueue` modes, remembered across one `rmqueue_bulk()` batch.
/** Take from the requested migratetype's lists (`RMQUEUE_NORMAL`). */
export const RMQUEUE_NORMAL = 0;
/** Claim a whole foreign pageblock (`RMQUEUE_CLAIM`). */
export const RMQUEUE_CLAIM = 2;
/** Steal one foreign block without converting its pageblock (`RMQUEUE_STEAL`). */
export const RMQUEUE_STEAL = 3;

/**
 * Migratetype fallback order.
 * @kernel fallbacks[] (mm/page_alloc.c)
 */
const FALLBACKS = new Int8Array([
  // MIGRATE_UNMOVABLE
  MIGRATE_RECLAIMABLE,
  MIGRATE_MOVABLE,
  // MIGRATE_MOVABLE
  MIGRATE_RECLAIMABLE,
  MIGRATE_UNMOVABLE,
  // MIGRATE_RECLAIMABLE
  MIGRATE_UNMOVABLE,
  MIGRATE_MOVABLE,
]);

/**
 * Check that the pageblock of `pfn` lies in `zone`; count its free and
 * movable pages into scratch fields when `count` is set.
 * @returns the pageblock's first PFN, or -1.
 * @kernel prep_move_freepages_block (mm/page_alloc.c)
 */
export function prepMoveFreepagesBlock(pa: PageAllocator, zone: number, pfn: number, count: boolean): number {
  const start = pa.pageblock.startPfn(pfn);
  const end = start + pa.pageblockNrPages;
  if (!pa.zones.spansPfn(zone, start) || !pa.zones.spansPfn(zone, end - 1)) return -1;
  if (count) {
    let nrFree = 0;
    let nrMovable = 0;
    for (let p = start; p < end; ) {
      const s = pa.sec(p);
      const i = p & pa.sectionMask;
      if (s.pageType[i] === PGTY_buddy) {
        const nr = 1 << (s.private[i] as number);
        nrFree += nr;
        p += nr;
        continue;
      }
      // Pages that could be isolated for migration count as movable.
      if ((s.flags[i] as number) & (1 << PG_lru)) nrMovable++;
      p++;
    }
    pa.scratchFree = nrFree;
    pa.scratchMovable = nrMovable;
  }
  return start;
}

/**
 * Move every free block of a pageblock from `oldMt` to `newMt` lists.
 * @returns pages moved.
 * @kernel __move_freepages_block (mm/page_alloc.c)
 */
export function __moveFreepagesBlock(
  pa: PageAllocator,
  zone: number,
  startPfn: number,
  oldMt: number,
  newMt: number,
): number {
  const end = startPfn + pa.pageblockNrPages;
  let moved = 0;
  for (let p = startPfn; p < end; ) {
    const s = pa.sec(p);
    const i = p & pa.sectionMask;
    if (s.pageType[i] !== PGTY_buddy) {
      p++;
      continue;
    }
    const order = s.private[i] as number;
    moveToFreeList(pa, p, zone, order, oldMt, newMt);
    p += 1 << order;
    moved += 1 << order;
  }
  return moved;
}

/**
 * Convert a pageblock and its free blocks to `newMt`.
 * @returns pages moved, or -1 when the block straddles the zone.
 * @kernel move_freepages_block (mm/page_alloc.c)
 */
export function moveFreepagesBlock(pa: PageAllocator, zone: number, pfn: number, oldMt: number, newMt: number): number {
  const start = prepMoveFreepagesBlock(pa, zone, pfn, false);
  if (start < 0) return -1;
  const res = __moveFreepagesBlock(pa, zone, start, oldMt, newMt);
  pa.pageblock.set(start, newMt);
  return res;
}

/**
 * Set the migratetype of every pageblock in a block of `order` >= pageblock_order.
 * @kernel change_pageblock_range (mm/page_alloc.c)
 */
export function changePageblockRange(pa: PageAllocator, pfn: number, order: number, mt: number): void {
  let n = 1 << (order - pa.pageblockOrder);
  let p = pfn;
  while (n-- > 0) {
    pa.pageblock.set(p, mt);
    p += pa.pageblockNrPages;
  }
}

/**
 * Whether a fallback at `order` should claim the whole pageblock.
 * @kernel should_try_claim_block (mm/page_alloc.c), can_claim_block in later kernels
 */
export function canClaimBlock(pa: PageAllocator, order: number, startMt: number): boolean {
  if (order >= pa.pageblockOrder) return true;
  if (order >= pa.pageblockOrder >>> 1) return true;
  return startMt === MIGRATE_RECLAIMABLE || startMt === MIGRATE_UNMOVABLE;
}

/**
 * First fallback migratetype with a free block of `order`, or -1.
 * @kernel find_fallback_migratetype (mm/page_alloc.c)
 */
export function findFallbackMigratetype(pa: PageAllocator, zone: number, order: number, mt: number): number {
  if ((pa.nrFree[zone * pa.nrOrders + order] as number) === 0) return -1;
  for (let i = 0; i < MIGRATE_PCPTYPES - 1; i++) {
    const fmt = FALLBACKS[mt * 2 + i] as number;
    if (!freeAreaEmpty(pa, zone, order, fmt)) return fmt;
  }
  return -1;
}

/**
 * Take a foreign block; convert the whole pageblock to `startType` when the
 * block is that large or at least half the pageblock is free or alike.
 * @returns the allocated PFN or -1 (block not claimed).
 * @kernel try_to_claim_block (mm/page_alloc.c)
 */
export function tryToClaimBlock(
  pa: PageAllocator,
  zone: number,
  pfn: number,
  currentOrder: number,
  order: number,
  startType: number,
  blockType: number,
  allocFlags: number,
): number {
  if (currentOrder >= pa.pageblockOrder) {
    delPageFromFreeList(pa, pfn, zone, currentOrder, blockType);
    changePageblockRange(pa, pfn, currentOrder, startType);
    const added = expand(pa, zone, pfn, order, currentOrder, startType);
    accountFreepages(pa, zone, added, startType);
    return pfn;
  }
  if (boostWatermark(pa, zone) && allocFlags & ALLOC_KSWAPD)
    pa.zones.flags[zone] = (pa.zones.flags[zone] as number) | ZONE_BOOSTED_WATERMARK;
  const start = prepMoveFreepagesBlock(pa, zone, pfn, true);
  if (start < 0) return -1;
  const freePages = pa.scratchFree;
  const movablePages = pa.scratchMovable;
  let alike: number;
  if (startType === MIGRATE_MOVABLE) alike = movablePages;
  else if (blockType === MIGRATE_MOVABLE) alike = pa.pageblockNrPages - (freePages + movablePages);
  else alike = 0;
  if (freePages + alike >= 1 << (pa.pageblockOrder - 1)) {
    __moveFreepagesBlock(pa, zone, start, blockType, startType);
    pa.pageblock.set(start, startType);
    return __rmqueueSmallest(pa, zone, order, startType);
  }
  return -1;
}

/**
 * Fallback that claims whole foreign pageblocks, largest blocks first.
 * @kernel __rmqueue_claim (mm/page_alloc.c)
 */
export function __rmqueueClaim(
  pa: PageAllocator,
  zone: number,
  order: number,
  startMt: number,
  allocFlags: number,
): number {
  let minOrder = order;
  if (order < pa.pageblockOrder && allocFlags & ALLOC_NOFRAGMENT) minOrder = pa.pageblockOrder;
  for (let co = pa.maxOrder; co >= minOrder; co--) {
    if (!canClaimBlock(pa, co, startMt)) break;
    const fmt = findFallbackMigratetype(pa, zone, co, startMt);
    if (fmt < 0) continue;
    const pfn = getPageFromFreeArea(pa, zone, co, fmt);
    const page = tryToClaimBlock(pa, zone, pfn, co, order, startMt, fmt, allocFlags);
    if (page >= 0) {
      pa.nrExtfrag++;
      return page;
    }
  }
  return -1;
}

/**
 * Fallback that just takes the smallest foreign block, leaving its
 * pageblock's type alone.
 * @kernel __rmqueue_steal (mm/page_alloc.c)
 */
export function __rmqueueSteal(pa: PageAllocator, zone: number, order: number, startMt: number): number {
  for (let co = order; co < pa.nrOrders; co++) {
    const fmt = findFallbackMigratetype(pa, zone, co, startMt);
    if (fmt < 0) continue;
    const pfn = getPageFromFreeArea(pa, zone, co, fmt);
    pageDelAndExpand(pa, zone, pfn, order, co, fmt);
    pa.nrExtfrag++;
    return pfn;
  }
  return -1;
}

/**
 * Remove a block of `order` for `mt`: native lists, then claim, then steal,
 * starting from the mode remembered in `rmqm`.
 * @kernel __rmqueue (mm/page_alloc.c)
 */
export function __rmqueue(pa: PageAllocator, zone: number, order: number, mt: number, allocFlags: number): number {
  let mode = pa.rmqm;
  let pfn: number;
  if (mode === RMQUEUE_NORMAL) {
    pfn = __rmqueueSmallest(pa, zone, order, mt);
    if (pfn >= 0) return pfn;
    mode = RMQUEUE_CLAIM;
  }
  if (mode === RMQUEUE_CLAIM) {
    pfn = __rmqueueClaim(pa, zone, order, mt, allocFlags);
    if (pfn >= 0) {
      pa.rmqm = RMQUEUE_NORMAL;
      return pfn;
    }
  }
  if (!(allocFlags & ALLOC_NOFRAGMENT)) {
    pfn = __rmqueueSteal(pa, zone, order, mt);
    if (pfn >= 0) {
      pa.rmqm = RMQUEUE_STEAL;
      return pfn;
    }
  }
  return -1;
}
