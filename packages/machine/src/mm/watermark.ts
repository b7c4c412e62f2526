/**
 * DOC: zone watermarks and the checks against them.
 *
 * `min_free_kbytes` (by default sqrt(16 × lowmem KiB), clamped to
 * 128 KiB..256 MiB) is split over the kernel zones by size into each zone's
 * min watermark; low and high sit above min by the larger of min/4 and
 * `managed × watermark_scale_factor / 10000`; promo one gap above high.
 * `lowmem_reserve[]` protects lower zones from allocations that could have
 * used a higher zone. `__zone_watermark_ok()` lets __GFP_HIGH callers use
 * half the min reserve, non-blocking ones a further quarter, OOM victims
 * more, and keeps free highatomic pages out of reach of ordinary requests.
 * A fallback that fragments a pageblock boosts the watermark
 * (`watermark_boost_factor`) so kswapd reclaims harder.
 */
import { freeAreaEmpty } from './buddy.js';
import {
  ALLOC_HIGHATOMIC,
  ALLOC_MIN_RESERVE,
  ALLOC_NON_BLOCK,
  ALLOC_OOM,
  ALLOC_RESERVES,
  ALLOC_WMARK_MASK,
} from './gfp.js';
import {
  MAX_NR_ZONES,
  MIGRATE_HIGHATOMIC,
  MIGRATE_PCPTYPES,
  NR_WMARK,
  WMARK_HIGH,
  WMARK_LOW,
  WMARK_MIN,
  WMARK_PROMO,
  ZONE_MOVABLE,
  ZONE_NORMAL,
} from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import { NR_FREE_PAGES } from './vmstat.js';

/** `SWAP_CLUSTER_MAX`: lower clamp of the ZONE_MOVABLE min watermark. */
const SWAP_CLUSTER_MAX = 32;

/**
 * The default `min_free_kbytes` for the machine's lowmem.
 * @kernel calculate_min_free_kbytes (mm/page_alloc.c)
 */
export function calculateMinFreeKbytes(pa: PageAllocator): number {
  let lowmemPages = 0;
  for (let z = 0; z < pa.zones.nrZones; z++) {
    if (z % MAX_NR_ZONES <= ZONE_NORMAL) lowmemPages += pa.zones.managed[z] as number;
  }
  const lowmemKbytes = lowmemPages * (pa.machine.topology.pageSize / 1024);
  const kb = Math.floor(Math.sqrt(lowmemKbytes * 16));
  return Math.min(Math.max(kb, 128), 262144);
}

/**
 * Set min/low/high/promo of every zone from `min_free_kbytes` and
 * `watermark_scale_factor`; reset boosts.
 * @kernel __setup_per_zone_wmarks (mm/page_alloc.c)
 */
export function setupPerZoneWmarks(pa: PageAllocator): void {
  const zones = pa.zones;
  const pagesMin = Math.floor(pa.minFreeKbytes / (pa.machine.topology.pageSize / 1024));
  let lowmemPages = 0;
  for (let z = 0; z < zones.nrZones; z++)
    if (z % MAX_NR_ZONES !== ZONE_MOVABLE) lowmemPages += zones.managed[z] as number;
  for (let z = 0; z < zones.nrZones; z++) {
    const managed = zones.managed[z] as number;
    let tmp = lowmemPages > 0 ? Math.floor((pagesMin * managed) / lowmemPages) : 0;
    let min: number;
    if (z % MAX_NR_ZONES === ZONE_MOVABLE) {
      min = Math.min(Math.max(Math.floor(managed / 1024), SWAP_CLUSTER_MAX), 128);
    } else {
      min = tmp;
    }
    tmp = Math.max(tmp >> 2, Math.floor((managed * pa.watermarkScaleFactor) / 10000));
    if (managed === 0) {
      min = 0;
      tmp = 0;
    }
    const b = z * NR_WMARK;
    zones.watermarkBoost[z] = 0;
    zones.wmark[b + WMARK_MIN] = min;
    zones.wmark[b + WMARK_LOW] = min + tmp;
    zones.wmark[b + WMARK_HIGH] = min + 2 * tmp;
    zones.wmark[b + WMARK_PROMO] = min + 3 * tmp;
  }
}

/**
 * Set `lowmem_reserve[]`: pages of a lower zone kept from allocations that
 * could have been served by the zones above it.
 * @kernel setup_per_zone_lowmem_reserve (mm/page_alloc.c)
 */
export function setupPerZoneLowmemReserve(pa: PageAllocator): void {
  const zones = pa.zones;
  const nrNodes = zones.nrZones / MAX_NR_ZONES;
  for (let nid = 0; nid < nrNodes; nid++) {
    for (let i = 0; i < MAX_NR_ZONES; i++) {
      const z = nid * MAX_NR_ZONES + i;
      const ratio = pa.lowmemReserveRatio[i] as number;
      const clear = ratio === 0 || (zones.managed[z] as number) === 0;
      let managedAbove = 0;
      zones.lowmemReserve[z * MAX_NR_ZONES + i] = 0;
      for (let j = i + 1; j < MAX_NR_ZONES; j++) {
        managedAbove += zones.managed[nid * MAX_NR_ZONES + j] as number;
        zones.lowmemReserve[z * MAX_NR_ZONES + j] = clear ? 0 : Math.floor(managedAbove / ratio);
      }
      for (let j = 0; j < i; j++) zones.lowmemReserve[z * MAX_NR_ZONES + j] = 0;
    }
  }
}

/**
 * Free pages a request may not count: the rest of its own block, and free
 * highatomic pages unless it may use reserves.
 * @kernel __zone_watermark_unusable_free (mm/page_alloc.c)
 */
export function zoneWatermarkUnusableFree(pa: PageAllocator, zone: number, order: number, allocFlags: number): number {
  let unusable = (1 << order) - 1;
  if (!(allocFlags & ALLOC_RESERVES)) unusable += pa.zones.nrFreeHighatomic[zone] as number;
  return unusable;
}

/**
 * The watermark check with an explicit free-page count.
 * @kernel __zone_watermark_ok (mm/page_alloc.c)
 */
export function zoneWatermarkOkRaw(
  pa: PageAllocator,
  zone: number,
  order: number,
  mark: number,
  highestZoneidx: number,
  allocFlags: number,
  freePagesIn: number,
): boolean {
  let min = mark;
  const freePages = freePagesIn - zoneWatermarkUnusableFree(pa, zone, order, allocFlags);
  if (allocFlags & ALLOC_RESERVES) {
    if (allocFlags & ALLOC_MIN_RESERVE) {
      min -= Math.floor(min / 2);
      if (allocFlags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
    if (allocFlags & ALLOC_OOM) min -= Math.floor(min / 2);
  }
  if (freePages <= min + (pa.zones.lowmemReserve[zone * MAX_NR_ZONES + highestZoneidx] as number)) return false;
  if (order === 0) return true;
  for (let o = order; o < pa.nrOrders; o++) {
    if ((pa.zones.nrFree[zone * pa.nrOrders + o] as number) === 0) continue;
    for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) if (!freeAreaEmpty(pa, zone, o, mt)) return true;
    if (allocFlags & (ALLOC_HIGHATOMIC | ALLOC_OOM) && !freeAreaEmpty(pa, zone, o, MIGRATE_HIGHATOMIC)) return true;
  }
  return false;
}

/**
 * Whether `zone` has enough free pages above `mark` for the request.
 * @kernel zone_watermark_ok (mm/page_alloc.c)
 */
export function zoneWatermarkOk(
  pa: PageAllocator,
  zone: number,
  order: number,
  mark: number,
  highestZoneidx: number,
  allocFlags: number,
): boolean {
  return zoneWatermarkOkRaw(
    pa,
    zone,
    order,
    mark,
    highestZoneidx,
    allocFlags,
    pa.vmstat.zonePageState(zone, NR_FREE_PAGES),
  );
}

/**
 * The fast-path watermark check (an order-0 shortcut first).
 * @kernel zone_watermark_fast (mm/page_alloc.c)
 */
export function zoneWatermarkFast(
  pa: PageAllocator,
  zone: number,
  order: number,
  mark: number,
  highestZoneidx: number,
  allocFlags: number,
): boolean {
  const freePages = pa.vmstat.zonePageState(zone, NR_FREE_PAGES);
  const reserve = pa.zones.lowmemReserve[zone * MAX_NR_ZONES + highestZoneidx] as number;
  if (order === 0) {
    let usable = freePages;
    const reserved = zoneWatermarkUnusableFree(pa, zone, 0, allocFlags);
    usable -= Math.min(usable, reserved);
    if (usable > mark + reserve) return true;
  }
  if (zoneWatermarkOkRaw(pa, zone, order, mark, highestZoneidx, allocFlags, freePages)) return true;
  // __GFP_HIGH order-0 requests ignore the boost when checking the min watermark.
  if (
    order === 0 &&
    allocFlags & ALLOC_MIN_RESERVE &&
    (pa.zones.watermarkBoost[zone] as number) > 0 &&
    (allocFlags & ALLOC_WMARK_MASK) === WMARK_MIN
  ) {
    return zoneWatermarkOkRaw(
      pa,
      zone,
      order,
      pa.zones.wmark[zone * NR_WMARK + WMARK_MIN] as number,
      highestZoneidx,
      allocFlags,
      freePages,
    );
  }
  return false;
}

/**
 * Raise the zone's watermark boost by a pageblock (up to
 * high × watermark_boost_factor / 10000) after a fragmenting fallback.
 * @returns whether the boost was applied.
 * @kernel boost_watermark (mm/page_alloc.c)
 */
export function boostWatermark(pa: PageAllocator, zone: number): boolean {
  if (!pa.watermarkBoostFactor) return false;
  if (pa.pageblockNrPages * 4 > (pa.zones.managed[zone] as number)) return false;
  let maxBoost = Math.floor(
    ((pa.zones.wmark[zone * NR_WMARK + WMARK_HIGH] as number) * pa.watermarkBoostFactor) / 10000,
  );
  if (!maxBoost) return false;
  maxBoost = Math.max(pa.pageblockNrPages, maxBoost);
  pa.zones.watermarkBoost[zone] = Math.min((pa.zones.watermarkBoost[zone] as number) + pa.pageblockNrPages, maxBoost);
  return true;
}
