/**
 * DOC: MIGRATE_HIGHATOMIC reserves: a pageblock set aside after a
 * high-order atomic allocation (at most ~1% of a zone), given back one
 * pageblock at a time when ordinary allocations are about to fail.
 */

import { getPageFromFreeArea, moveToFreeList } from './buddy.js';
import { changePageblockRange, moveFreepagesBlock } from './fallback.js';
import { MAX_NR_ZONES, MIGRATE_HIGHATOMIC, MIGRATE_PCPTYPES } from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import { zoneLockIrqsave, zoneUnlockIrqrestore } from './page-alloc-locks.js';

/**
 * After a high-order atomic allocation, reserve its pageblock for future
 * ones (at most ~1% of the zone).
 * @kernel reserve_highatomic_pageblock (mm/page_alloc.c)
 */
export function reserveHighatomicPageblock(pa: PageAllocator, pfn: number, order: number, zone: number): void {
  const managed = pa.zones.managed[zone] as number;
  if (Math.floor(managed / 100) < pa.pageblockNrPages) return;
  const maxManaged = Math.ceil(Math.floor(managed / 100) / pa.pageblockNrPages) * pa.pageblockNrPages;
  if ((pa.zones.nrReservedHighatomic[zone] as number) >= maxManaged) return;
  const flags = zoneLockIrqsave(pa, zone);
  const mt = pa.pageblock.get(pfn);
  // Only mergeable types.
  if (mt < MIGRATE_PCPTYPES) {
    if (order < pa.pageblockOrder) {
      if (moveFreepagesBlock(pa, zone, pfn, mt, MIGRATE_HIGHATOMIC) !== -1) {
        pa.zones.nrReservedHighatomic[zone] = (pa.zones.nrReservedHighatomic[zone] as number) + pa.pageblockNrPages;
      }
    } else {
      changePageblockRange(pa, pfn, order, MIGRATE_HIGHATOMIC);
      pa.zones.nrReservedHighatomic[zone] = (pa.zones.nrReservedHighatomic[zone] as number) + (1 << order);
    }
  }
  zoneUnlockIrqrestore(pa, zone, flags);
}

/**
 * Give highatomic reserves back (one pageblock per call) to the running
 * (or last) allocation's migratetype, over its zonelist; `force` also
 * releases a zone's last block.
 * Warns when `nr_reserved_highatomic` would underflow.
 * @kernel unreserve_highatomic_pageblock (mm/page_alloc.c)
 */
export function unreserveHighatomicPageblock(pa: PageAllocator, force: boolean): boolean {
  const zl = pa.acZonelist;
  for (let zi = 0; zi < zl.length; zi++) {
    const zone = zl[zi] as number;
    if (zone % MAX_NR_ZONES > pa.acHighestZoneidx) continue;
    const reserved = pa.zones.nrReservedHighatomic[zone] as number;
    if (!force && reserved <= pa.pageblockNrPages) continue;
    const flags = zoneLockIrqsave(pa, zone);
    let done = false;
    for (let order = 0; order < pa.nrOrders && !done; order++) {
      const pfn = getPageFromFreeArea(pa, zone, order, MIGRATE_HIGHATOMIC);
      if (pfn < 0) continue;
      let size = Math.max(pa.pageblockNrPages, 1 << order);
      const cur = pa.zones.nrReservedHighatomic[zone] as number;
      if (
        pa.machine.warnOn(size > cur, `page_alloc: nr_reserved_highatomic underflow in zone ${zone} (${cur} < ${size})`)
      ) {
        size = cur;
      }
      pa.zones.nrReservedHighatomic[zone] = cur - size;
      let ret: number;
      if (order < pa.pageblockOrder) {
        ret = moveFreepagesBlock(pa, zone, pfn, MIGRATE_HIGHATOMIC, pa.acMigratetype);
      } else {
        moveToFreeList(pa, pfn, zone, order, MIGRATE_HIGHATOMIC, pa.acMigratetype);
        changePageblockRange(pa, pfn, order, pa.acMigratetype);
        ret = 1;
      }
      pa.machine.warnOn(ret === -1, `page_alloc: highatomic block at pfn ${pfn} straddles its zone`);
      if (ret > 0) done = true;
    }
    zoneUnlockIrqrestore(pa, zone, flags);
    if (done) return true;
  }
  return false;
}
