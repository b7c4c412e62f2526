/**
 * DOC: taking a block from a zone: `get_page_from_freelist()` walks the
 * zonelist against the watermarks, `rmqueue()` takes from the per-CPU lists
 * or the buddy lists, `prep_new_page()` sets the page up, and the NUMA and
 * PGALLOC counters are kept.
 */

import { popAllocContext, pushAllocContext } from './alloc-context.js';
import { countPgalloc, zoneStatistics } from './alloc-stat.js';
import { __rmqueueSmallest } from './buddy.js';
import { __rmqueue, RMQUEUE_NORMAL } from './fallback.js';
import {
  __GFP_COMP,
  __GFP_ZERO,
  ALLOC_HIGHATOMIC,
  ALLOC_KSWAPD,
  ALLOC_NO_WATERMARKS,
  ALLOC_NOFRAGMENT,
  ALLOC_NON_BLOCK,
  ALLOC_OOM,
  ALLOC_WMARK_MASK,
} from './gfp.js';
import { reserveHighatomicPageblock } from './highatomic.js';
import type { MemSection } from './memmap.js';
import { MAX_NR_ZONES, MIGRATE_HIGHATOMIC, WMARK_HIGH, ZONE_BELOW_HIGH, ZONE_BOOSTED_WATERMARK } from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import { zoneLockIrqsave, zoneUnlockIrqrestore } from './page-alloc-locks.js';
import { PG_head } from './page-flags.js';
import { pcpAllowedOrder, rmqueuePcplist } from './pcp.js';
import { zoneWatermarkFast } from './watermark.js';

/**
 * Take a block straight from the buddy lists (highatomic first for
 * ALLOC_HIGHATOMIC; highatomic as a last resort for non-blocking callers).
 * @kernel rmqueue_buddy (mm/page_alloc.c)
 */
export function rmqueueBuddy(
  pa: PageAllocator,
  preferredZone: number,
  zone: number,
  order: number,
  allocFlags: number,
  mt: number,
): number {
  let pfn = -1;
  const flags = zoneLockIrqsave(pa, zone);
  if (allocFlags & ALLOC_HIGHATOMIC) pfn = __rmqueueSmallest(pa, zone, order, MIGRATE_HIGHATOMIC);
  if (pfn < 0) {
    pa.rmqm = RMQUEUE_NORMAL;
    pfn = __rmqueue(pa, zone, order, mt, allocFlags);
    if (pfn < 0 && allocFlags & (ALLOC_OOM | ALLOC_NON_BLOCK))
      pfn = __rmqueueSmallest(pa, zone, order, MIGRATE_HIGHATOMIC);
  }
  zoneUnlockIrqrestore(pa, zone, flags);
  if (pfn < 0) return -1;
  countPgalloc(pa, zone, 1 << order);
  zoneStatistics(pa, preferredZone, zone);
  return pfn;
}

/**
 * Allocate from one zone: per-CPU list for small orders, else buddy.
 * @kernel rmqueue (mm/page_alloc.c)
 */
export function rmqueue(
  pa: PageAllocator,
  preferredZone: number,
  zone: number,
  order: number,
  allocFlags: number,
  mt: number,
): number {
  let pfn = -1;
  if (pcpAllowedOrder(pa, order)) pfn = rmqueuePcplist(pa, preferredZone, zone, order, mt, allocFlags);
  if (pfn < 0) pfn = rmqueueBuddy(pa, preferredZone, zone, order, allocFlags, mt);
  if (allocFlags & ALLOC_KSWAPD && (pa.zones.flags[zone] as number) & ZONE_BOOSTED_WATERMARK) {
    pa.zones.flags[zone] = (pa.zones.flags[zone] as number) & ~ZONE_BOOSTED_WATERMARK;
    wakeupKswapd(pa, zone, 0, zone % MAX_NR_ZONES);
  }
  return pfn;
}

/**
 * Walk the zonelist from the preferred zone and allocate from the first
 * zone that passes its watermark.
 * @kernel get_page_from_freelist (mm/page_alloc.c)
 */
export function getPageFromFreelist(pa: PageAllocator, gfp: number, order: number, allocFlags: number): number {
  const zl = pa.acZonelist;
  const hz = pa.acHighestZoneidx;
  const zflags = pa.zones.flags;
  let flags = allocFlags;
  for (;;) {
    const noFallback = flags & ALLOC_NOFRAGMENT;
    const pref = pa.acPreferredIdx;
    if (pref < 0) return -1;
    const preferredZone = zl[pref] as number;
    let restart = false;
    for (let zi = pref; zi < zl.length; zi++) {
      const zone = zl[zi] as number;
      if (zone % MAX_NR_ZONES > hz) continue;
      if (noFallback && pa.nrNodes > 1 && zone !== preferredZone) {
        // Moving to a remote node: locality beats fragmentation avoidance.
        if (pa.zones.nid[zone] !== pa.zones.nid[preferredZone]) {
          flags &= ~ALLOC_NOFRAGMENT;
          restart = true;
          break;
        }
      }
      let ok = false;
      if (!((zflags[zone] as number) & ZONE_BELOW_HIGH)) {
        if (zoneWatermarkFast(pa, zone, order, pa.zones.wmarkPages(zone, WMARK_HIGH), hz, flags)) ok = true;
        else zflags[zone] = (zflags[zone] as number) | ZONE_BELOW_HIGH;
      }
      if (!ok) {
        const mark = pa.zones.wmarkPages(zone, flags & ALLOC_WMARK_MASK);
        if (!zoneWatermarkFast(pa, zone, order, mark, hz, flags) && !(flags & ALLOC_NO_WATERMARKS)) continue;
      }
      const pfn = rmqueue(pa, preferredZone, zone, order, flags, pa.acMigratetype);
      if (pfn >= 0) {
        prepNewPage(pa, pfn, order, gfp);
        if (flags & ALLOC_HIGHATOMIC) reserveHighatomicPageblock(pa, pfn, order, zone);
        return pfn;
      }
    }
    if (restart) continue;
    if (noFallback) {
      flags &= ~ALLOC_NOFRAGMENT;
      continue;
    }
    return -1;
  }
}

/**
 * Set up a fresh allocation: refcount 1, zeroed content for __GFP_ZERO,
 * compound metadata for __GFP_COMP. The model also records the order on
 * the first page of every allocation so a free with the wrong order is caught.
 * @kernel prep_new_page / post_alloc_hook (mm/page_alloc.c)
 */
export function prepNewPage(pa: PageAllocator, pfn: number, order: number, gfp: number): void {
  const s = pa.sections[pfn >>> pa.sectionShift] as MemSection;
  const i = pfn & pa.sectionMask;
  s.private[i] = 0;
  s.refcount[i] = 1;
  s.order[i] = order;
  if (gfp & __GFP_ZERO) s.content.fill(0, i, i + (1 << order));
  if (order > 0 && gfp & __GFP_COMP) prepCompoundPage(pa, pfn, order);
}

/**
 * Make a compound page: PG_head and the order on the head, every tail
 * pointing at the head.
 * @kernel prep_compound_page (mm/page_alloc.c)
 */
export function prepCompoundPage(pa: PageAllocator, pfn: number, order: number): void {
  const s = pa.sec(pfn);
  const i = pfn & pa.sectionMask;
  s.flags[i] = (s.flags[i] as number) | (1 << PG_head);
  s.order[i] = order;
  const n = 1 << order;
  s.compoundHead.fill(pfn, i + 1, i + n);
  s.refcount.fill(0, i + 1, i + n);
}

/** Ask kswapd to reclaim on `zone`'s node for an allocation of `order` (counted, then handed to the kswapd hook if any) @kernel wakeup_kswapd (mm/vmscan.c) */
export function wakeupKswapd(pa: PageAllocator, zone: number, order: number, highestZoneidx: number): void {
  pa.nrKswapdWakeups++;
  const hook = pa.kswapdHook;
  if (hook === null) return;
  // The hook may allocate: keep the running request's context.
  pushAllocContext(pa);
  try {
    hook(pa.zones.nid[zone] as number, order, highestZoneidx);
  } finally {
    popAllocContext(pa);
  }
}
