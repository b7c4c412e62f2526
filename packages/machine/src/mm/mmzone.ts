/**
 * DOC: nodes and zones: the zone layout of each node, the zone arrays the
 * allocator works on (free areas, watermarks, reserves) and the zonelists.
 *
 * Zone indices follow the kernel's order with CONFIG_ZONE_DMA off:
 * ZONE_DMA32 (memory below 4 GiB), ZONE_NORMAL, ZONE_MOVABLE (only when
 * `movablecorePercent` carves it from the top of each node). Every node has
 * all three zones, some unpopulated, like `pgdat->node_zones[]`; zone id =
 * `nid * MAX_NR_ZONES + zoneIdx`. Zone and node boundaries fall on section
 * boundaries (4 GiB and node sizes are whole sections; the movable start is
 * rounded to a section), so a section belongs to exactly one zone and
 * `page_zone()` is two array loads.
 *
 * Per-zone scalars are typed arrays indexed by zone id; a zone's free area
 * (`free_area[order].free_list[migratetype]`) is a doubly linked list whose
 * head and tail PFNs live in `freeHead`/`freeTail` at
 * `(zone * nrOrders + order) * MIGRATE_TYPES + migratetype` and whose links
 * are the memmap's `next`/`prev`.
 */
import type { Topology } from '../topology.js';

/** Migratetype: unmovable kernel allocations. */
export const MIGRATE_UNMOVABLE = 0;
/** Migratetype: movable (user pages, page cache). */
export const MIGRATE_MOVABLE = 1;
/** Migratetype: reclaimable (slab with shrinkers). */
export const MIGRATE_RECLAIMABLE = 2;
/** Migratetypes that have per-CPU lists. */
export const MIGRATE_PCPTYPES = 3;
/** Migratetype: reserve for high-order atomic allocations. */
export const MIGRATE_HIGHATOMIC = 3;
/** Number of migratetypes (CONFIG_CMA and CONFIG_MEMORY_ISOLATION off). */
export const MIGRATE_TYPES = 4;
/** Names as /proc/pagetypeinfo prints them. */
export const MIGRATETYPE_NAMES: readonly string[] = Object.freeze([
  'Unmovable',
  'Movable',
  'Reclaimable',
  'HighAtomic',
]);

/** Zone index: memory below 4 GiB. */
export const ZONE_DMA32 = 0;
/** Zone index: the rest of kernel-usable memory. */
export const ZONE_NORMAL = 1;
/** Zone index: movable-only memory. */
export const ZONE_MOVABLE = 2;
/** Number of zone types. */
export const MAX_NR_ZONES = 3;
/** Zone names as /proc prints them. */
export const ZONE_NAMES: readonly string[] = Object.freeze(['DMA32', 'Normal', 'Movable']);

/** Watermark index: min. */
export const WMARK_MIN = 0;
/** Watermark index: low (kswapd wakes below it). */
export const WMARK_LOW = 1;
/** Watermark index: high (kswapd sleeps above it). */
export const WMARK_HIGH = 2;
/** Watermark index: promo (NUMA tiering promotion). */
export const WMARK_PROMO = 3;
/** Number of watermarks. */
export const NR_WMARK = 4;

/** Zone flag: a fallback boosted the watermark; wake kswapd on the next allocation. */
export const ZONE_BOOSTED_WATERMARK = 1;
/** Zone flag: reclaim is running on this zone's node. */
export const ZONE_RECLAIM_ACTIVE = 2;
/** Zone flag: free pages went below the high watermark. */
export const ZONE_BELOW_HIGH = 4;

/** Orders above this are "costly" (`PAGE_ALLOC_COSTLY_ORDER`). */
export const PAGE_ALLOC_COSTLY_ORDER = 3;

/** Zonelist index: all nodes by distance. */
export const ZONELIST_FALLBACK = 0;
/** Zonelist index: the local node only (__GFP_THISNODE). */
export const ZONELIST_NOFALLBACK = 1;

/**
 * Largest buddy order for a machine: the architecture's (10 with 4K pages,
 * 11 with 16K and 13 with 64K on arm64, 8 with 64K on ppc64), never more
 * than a memory section.
 * @kernel MAX_PAGE_ORDER (include/linux/mmzone.h)
 */
export function maxPageOrder(arch: string, pageShift: number, sectionShift: number): number {
  let order = 10;
  if (arch === 'arm64' && pageShift === 14) order = 11;
  else if (arch === 'arm64' && pageShift === 16) order = 13;
  else if (arch === 'ppc64le' && pageShift === 16) order = 8;
  return Math.min(order, sectionShift);
}

/**
 * All zones of the machine as typed arrays indexed by zone id.
 * @kernel struct zone, struct pglist_data (include/linux/mmzone.h)
 */
export class ZoneTable {
  /** Number of zones (nodes × MAX_NR_ZONES). */
  readonly nrZones: number;
  /** Buddy orders (`NR_PAGE_ORDERS`). */
  readonly nrOrders: number;
  /** Node of each zone. */
  readonly nid: Int32Array;
  /** First PFN (`zone_start_pfn`; 0 when unpopulated). */
  readonly startPfn: Float64Array;
  /** Pages from the zone's first to last PFN, holes included; mirrors `zone::spanned_pages`. */
  readonly spanned: Float64Array;
  /** `present_pages` (no holes in the model: equal to spanned). */
  readonly present: Float64Array;
  /** `managed_pages` (pages the buddy allocator owns). */
  readonly managed: Float64Array;
  /** `_watermark[]` at `zone * NR_WMARK + WMARK_*`. */
  readonly wmark: Float64Array;
  /** Pages temporarily added to every watermark after fragmenting fallbacks, decayed by kswapd; mirrors `zone::watermark_boost`. */
  readonly watermarkBoost: Float64Array;
  /** `lowmem_reserve[]` at `zone * MAX_NR_ZONES + highestZoneidx`. */
  readonly lowmemReserve: Float64Array;
  /** `nr_reserved_highatomic` (pages). */
  readonly nrReservedHighatomic: Float64Array;
  /** `nr_free_highatomic` (pages free on highatomic lists). */
  readonly nrFreeHighatomic: Float64Array;
  /** ZONE_* flag bits. */
  readonly flags: Uint8Array;
  /** Free-list heads by list id (PFN or -1). */
  readonly freeHead: Int32Array;
  /** Free-list tails by list id. */
  readonly freeTail: Int32Array;
  /** `free_area[order].nr_free` at `zone * nrOrders + order` (blocks). */
  readonly nrFree: Int32Array;
  /** Next section that may still be untouched (deferred), per zone. */
  readonly deferNext: Int32Array;
  /** End (exclusive) of the zone's sections. */
  readonly deferEnd: Int32Array;
  /** Untouched sections left in the zone. */
  readonly nrDeferred: Int32Array;
  /** `node_zonelists[ZONELIST_FALLBACK]` of each node: zone ids, best first. */
  readonly zonelistFallback: readonly Int32Array[];
  /** `node_zonelists[ZONELIST_NOFALLBACK]` of each node. */
  readonly zonelistNofallback: readonly Int32Array[];
  /** Section → zone id. */
  readonly sectionZone: Int32Array;

  constructor(topology: Topology, nrOrders: number, movablecorePercent: number) {
    const nrNodes = topology.nrNodes;
    const nz = nrNodes * MAX_NR_ZONES;
    this.nrZones = nz;
    this.nrOrders = nrOrders;
    this.nid = new Int32Array(nz);
    this.startPfn = new Float64Array(nz);
    this.spanned = new Float64Array(nz);
    this.present = new Float64Array(nz);
    this.managed = new Float64Array(nz);
    this.wmark = new Float64Array(nz * NR_WMARK);
    this.watermarkBoost = new Float64Array(nz);
    this.lowmemReserve = new Float64Array(nz * MAX_NR_ZONES);
    this.nrReservedHighatomic = new Float64Array(nz);
    this.nrFreeHighatomic = new Float64Array(nz);
    this.flags = new Uint8Array(nz);
    this.freeHead = new Int32Array(nz * nrOrders * MIGRATE_TYPES).fill(-1);
    this.freeTail = new Int32Array(nz * nrOrders * MIGRATE_TYPES).fill(-1);
    this.nrFree = new Int32Array(nz * nrOrders);
    this.deferNext = new Int32Array(nz);
    this.deferEnd = new Int32Array(nz);
    this.nrDeferred = new Int32Array(nz);
    this.sectionZone = new Int32Array(topology.nrSections).fill(-1);

    const pps = topology.pagesPerSection;
    const dma32Limit = 2 ** 32 / topology.pageSize;
    for (let nid = 0; nid < nrNodes; nid++) {
      const start = topology.nodeStartPfn[nid] as number;
      const end = start + (topology.nodeSpannedPages[nid] as number);
      const dmaEnd = Math.min(end, dma32Limit);
      const normalStart = Math.max(start, dma32Limit);
      // ZONE_MOVABLE: the top movablecorePercent of the node, whole sections,
      // carved out of the node's highest kernel zone (find_zone_movable_pfns_for_nodes).
      const highestStart = normalStart < end ? normalStart : start;
      let movablePages = Math.floor(((end - start) * movablecorePercent) / 100 / pps) * pps;
      if (movablePages > end - highestStart) movablePages = end - highestStart;
      const movableStart = end - movablePages;
      const ranges: [number, number][] = [
        [start, Math.min(dmaEnd, movableStart)],
        [normalStart, movableStart],
        [movableStart, end],
      ];
      for (let zt = 0; zt < MAX_NR_ZONES; zt++) {
        const z = nid * MAX_NR_ZONES + zt;
        this.nid[z] = nid;
        const r = ranges[zt] as [number, number];
        const lo = r[0];
        const hi = r[1];
        if (hi > lo) {
          this.startPfn[z] = lo;
          this.spanned[z] = hi - lo;
          this.present[z] = hi - lo;
          this.managed[z] = hi - lo;
          this.deferNext[z] = lo / pps;
          this.deferEnd[z] = hi / pps;
          this.nrDeferred[z] = (hi - lo) / pps;
          for (let s = lo / pps; s < hi / pps; s++) this.sectionZone[s] = z;
          this.nrFree[z * nrOrders + nrOrders - 1] = (hi - lo) / (1 << (nrOrders - 1));
        }
      }
    }

    const fallback: Int32Array[] = [];
    const nofallback: Int32Array[] = [];
    for (let nid = 0; nid < nrNodes; nid++) {
      const all: number[] = [];
      for (const n of topology.nodesByDistance(nid)) {
        for (let zt = MAX_NR_ZONES - 1; zt >= 0; zt--) {
          const z = n * MAX_NR_ZONES + zt;
          if ((this.managed[z] as number) > 0) all.push(z);
        }
      }
      fallback.push(Int32Array.from(all));
      nofallback.push(Int32Array.from(all.filter((z) => this.nid[z] === nid)));
    }
    this.zonelistFallback = fallback;
    this.zonelistNofallback = nofallback;
  }

  /** Zone type (ZONE_*) of zone id `z`. */
  zoneIdx(z: number): number {
    return z % MAX_NR_ZONES;
  }

  /** Whether zone id `z` has pages; the model tests managed pages where the kernel tests `present_pages`. @kernel populated_zone (include/linux/mmzone.h) */
  populated(z: number): boolean {
    return (this.managed[z] as number) > 0;
  }

  /** Whether `pfn` lies in zone id `z`'s span [start, start + spanned), holes included. @kernel zone_spans_pfn (include/linux/mmzone.h) */
  spansPfn(z: number, pfn: number): boolean {
    const start = this.startPfn[z] as number;
    return pfn >= start && pfn < start + (this.spanned[z] as number);
  }

  /** Watermark `i` plus the boost (`wmark_pages()`). */
  wmarkPages(z: number, i: number): number {
    return (this.wmark[z * NR_WMARK + i] as number) + (this.watermarkBoost[z] as number);
  }
}
