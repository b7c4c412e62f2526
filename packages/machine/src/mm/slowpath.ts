/**
 * DOC: the allocation slow path: wake kswapd, retry at the min watermark
 * with the reserves the GFP flags grant, direct-reclaim through the reclaim
 * hook and retry while reclaim makes progress (`__alloc_pages_slowpath`).
 * The model has no compaction and no OOM killer.
 */

import { ENOMEM } from '../errors.js';
import { popAllocContext, pushAllocContext } from './alloc-context.js';
import {
  __GFP_DIRECT_RECLAIM,
  __GFP_MEMALLOC,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_RETRY_MAYFAIL,
  ALLOC_KSWAPD,
  ALLOC_MIN_RESERVE,
  ALLOC_NO_WATERMARKS,
  gfpToAllocFlags,
} from './gfp.js';
import { unreserveHighatomicPageblock } from './highatomic.js';
import { MAX_NR_ZONES, PAGE_ALLOC_COSTLY_ORDER, WMARK_MIN } from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import { getPageFromFreelist, wakeupKswapd } from './rmqueue.js';
import {
  NR_FREE_PAGES,
  NR_ZONE_ACTIVE_ANON,
  NR_ZONE_ACTIVE_FILE,
  NR_ZONE_INACTIVE_ANON,
  NR_ZONE_INACTIVE_FILE,
  VM_EVENT,
} from './vmstat.js';
import { zoneWatermarkOkRaw } from './watermark.js';

/** Retries of reclaim without progress before giving up (`MAX_RECLAIM_RETRIES`). */
export const MAX_RECLAIM_RETRIES = 16;

/** Upper bound on slow-path rounds: the model cannot block forever. */
const SLOWPATH_MAX_ROUNDS = 1000;

/** Index in the zonelist of the first zone the request may use, or -1. */
export function firstZoneIdx(pa: PageAllocator): number {
  const zl = pa.acZonelist;
  for (let i = 0; i < zl.length; i++) if ((zl[i] as number) % MAX_NR_ZONES <= pa.acHighestZoneidx) return i;
  return -1;
}

/**
 * Wake kswapd of every node in the zonelist (through the hook).
 * @kernel wake_all_kswapds (mm/page_alloc.c)
 */
export function wakeAllKswapds(pa: PageAllocator, order: number): void {
  const zl = pa.acZonelist;
  let last = -1;
  for (let i = 0; i < zl.length; i++) {
    const zone = zl[i] as number;
    if (zone % MAX_NR_ZONES > pa.acHighestZoneidx) continue;
    const nid = pa.zones.nid[zone] as number;
    if (nid === last) continue;
    last = nid;
    wakeupKswapd(pa, zone, order, pa.acHighestZoneidx);
  }
}

/**
 * Call the reclaim hook for this request.
 * @returns pages reclaimed.
 * @kernel __perform_reclaim / try_to_free_pages (mm/page_alloc.c, mm/vmscan.c)
 */
export function performReclaim(pa: PageAllocator, gfp: number, order: number): number {
  pa.vmstat.countVmEvents(pa.machine.currentCpu, VM_EVENT.ALLOCSTALL_DMA32 + pa.acHighestZoneidx, 1);
  const hook = pa.reclaimHook;
  if (hook === null) return 0;
  const nid = pa.acNid;
  const hz = pa.acHighestZoneidx;
  // Reclaim may allocate (PF_MEMALLOC): this request's context is saved
  // on the context stack and comes back whatever the hook did.
  pushAllocContext(pa);
  pa.memallocDepth++;
  let n: number;
  try {
    n = hook(nid, order, gfp, hz);
  } finally {
    pa.memallocDepth--;
    popAllocContext(pa);
  }
  // A hook answering NaN or a negative count made no progress.
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** Reclaim directly, then retry the allocation; the PFN, or -1. @kernel __alloc_pages_direct_reclaim (mm/page_alloc.c) */
export function allocPagesDirectReclaim(pa: PageAllocator, gfp: number, order: number, allocFlags: number): number {
  const progress = performReclaim(pa, gfp, order);
  pa.lastReclaimProgress = progress;
  if (progress === 0) return -1;
  let pfn = getPageFromFreelist(pa, gfp, order, allocFlags);
  if (pfn < 0) {
    // Pages may sit on pcp lists or in highatomic reserves: release and retry once.
    unreserveHighatomicPageblock(pa, false);
    pa.drainAllPages();
    pfn = getPageFromFreelist(pa, gfp, order, allocFlags);
  }
  return pfn;
}

/**
 * Whether another reclaim round could make the allocation succeed.
 * @kernel should_reclaim_retry (mm/page_alloc.c)
 */
export function shouldReclaimRetry(
  pa: PageAllocator,
  order: number,
  allocFlags: number,
  didProgress: boolean,
): boolean {
  if (didProgress && order <= PAGE_ALLOC_COSTLY_ORDER) pa.noProgressLoops = 0;
  else pa.noProgressLoops++;
  if (pa.noProgressLoops > MAX_RECLAIM_RETRIES) return unreserveHighatomicPageblock(pa, true);
  const zl = pa.acZonelist;
  for (let i = 0; i < zl.length; i++) {
    const zone = zl[i] as number;
    if (zone % MAX_NR_ZONES > pa.acHighestZoneidx) continue;
    const vs = pa.vmstat;
    const reclaimable =
      vs.zonePageStateSnapshot(zone, NR_ZONE_INACTIVE_FILE) +
      vs.zonePageStateSnapshot(zone, NR_ZONE_ACTIVE_FILE) +
      vs.zonePageStateSnapshot(zone, NR_ZONE_INACTIVE_ANON) +
      vs.zonePageStateSnapshot(zone, NR_ZONE_ACTIVE_ANON);
    const available = reclaimable + vs.zonePageStateSnapshot(zone, NR_FREE_PAGES);
    if (
      zoneWatermarkOkRaw(
        pa,
        zone,
        order,
        pa.zones.wmarkPages(zone, WMARK_MIN),
        pa.acHighestZoneidx,
        allocFlags,
        available,
      )
    ) {
      return true;
    }
  }
  return false;
}

/**
 * The slow path: wake kswapd, retry at the min watermark with the
 * reserves the GFP flags grant, direct-reclaim through the hook and retry.
 * The model has no OOM killer; __GFP_NOFAIL keeps going while reclaim makes
 * progress and, since the model cannot wait forever, fails with a warning
 * when nothing can be freed.
 * @kernel __alloc_pages_slowpath (mm/page_alloc.c)
 */
export function __allocPagesSlowpath(pa: PageAllocator, gfp: number, order: number): number {
  const canDirectReclaim = (gfp & __GFP_DIRECT_RECLAIM) !== 0;
  const costly = order > PAGE_ALLOC_COSTLY_ORDER;
  pa.noProgressLoops = 0;
  let allocFlags = gfpToAllocFlags(gfp, order);
  pa.acPreferredIdx = firstZoneIdx(pa);
  if (pa.acPreferredIdx < 0) return allocFailed(pa, gfp);
  if (allocFlags & ALLOC_KSWAPD) wakeAllKswapds(pa, order);
  let pfn = getPageFromFreelist(pa, gfp, order, allocFlags);
  if (pfn >= 0) return pfn;
  for (let round = 0; round < SLOWPATH_MAX_ROUNDS; round++) {
    if (allocFlags & ALLOC_KSWAPD) wakeAllKswapds(pa, order);
    // __gfp_pfmemalloc_flags: __GFP_MEMALLOC, or an allocation made by
    // reclaim itself (PF_MEMALLOC), may use every reserve.
    if ((gfp & __GFP_MEMALLOC || pa.memallocDepth > 0) && !(gfp & __GFP_NOMEMALLOC))
      allocFlags = ALLOC_NO_WATERMARKS | (allocFlags & ALLOC_KSWAPD);
    pfn = getPageFromFreelist(pa, gfp, order, allocFlags);
    if (pfn >= 0) return pfn;
    if (!canDirectReclaim) break;
    // Avoid recursion of direct reclaim (PF_MEMALLOC).
    if (pa.memallocDepth > 0) break;
    pfn = allocPagesDirectReclaim(pa, gfp, order, allocFlags);
    if (pfn >= 0) return pfn;
    if (gfp & __GFP_NORETRY && !(gfp & __GFP_NOFAIL)) break;
    if (costly && !(gfp & (__GFP_RETRY_MAYFAIL | __GFP_NOFAIL))) break;
    if (shouldReclaimRetry(pa, order, allocFlags, pa.lastReclaimProgress > 0)) continue;
    break;
  }
  if (gfp & __GFP_NOFAIL) {
    // Some access to the reserves, never ALLOC_NO_WATERMARKS.
    for (let round = 0; round < SLOWPATH_MAX_ROUNDS; round++) {
      pfn = getPageFromFreelist(pa, gfp, order, ALLOC_MIN_RESERVE);
      if (pfn >= 0) return pfn;
      if (!canDirectReclaim || pa.memallocDepth > 0 || performReclaim(pa, gfp, order) === 0) break;
    }
    pa.machine.warnOn(
      true,
      `page_alloc: __GFP_NOFAIL order-${order} allocation failed: no memory and no reclaim progress`,
    );
  }
  return allocFailed(pa, gfp);
}

/**
 * Count a failed allocation and return -ENOMEM (the model's `warn_alloc` tally).
 * @kernel warn_alloc (mm/page_alloc.c)
 */
export function allocFailed(pa: PageAllocator, _gfp: number): number {
  pa.nrAllocFailed++;
  return -ENOMEM;
}
