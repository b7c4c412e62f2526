/**
 * DOC: /proc views of physical memory in the kernel's own text formats
 * (`/proc/buddyinfo`, a `/proc/zoneinfo` subset, a `/proc/pagetypeinfo`
 * subset, `/proc/vmstat`) and the same state as plain JSON.
 *
 * Field widths are those of mm/vmstat.c's seq_printf formats. The subsets
 * leave out what the model does not have: the mixed-block table of
 * pagetypeinfo (CONFIG_PAGE_OWNER), CMA and unaccepted-memory items, and
 * node stats the model does not track.
 */
import { listId } from './buddy.js';
import {
  MAX_NR_ZONES,
  MIGRATE_TYPES,
  MIGRATETYPE_NAMES,
  NR_WMARK,
  WMARK_HIGH,
  WMARK_LOW,
  WMARK_MIN,
  WMARK_PROMO,
  ZONE_NAMES,
} from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import {
  NODE_STAT_NAMES,
  NR_FREE_PAGES,
  NR_VM_NODE_STAT_ITEMS,
  NR_VM_NUMA_EVENT_ITEMS,
  NR_VM_ZONE_STAT_ITEMS,
  NUMA_STAT_NAMES,
  VM_EVENT_NAMES,
  Vmstat,
  ZONE_STAT_NAMES,
} from './vmstat.js';

/** `%<w>s` / `%<w>lu`: right-align in `w` columns. */
function pad(v: string | number, w: number): string {
  return String(v).padStart(w);
}

/** `%-<w>s`: left-align in `w` columns. */
function lpad(v: string | number, w: number): string {
  return String(v).padEnd(w);
}

/**
 * `/proc/buddyinfo`: free blocks per order for every populated zone.
 * @kernel frag_show_print (mm/vmstat.c)
 */
export function formatBuddyinfo(pa: PageAllocator): string {
  const zones = pa.zones;
  let out = '';
  for (let z = 0; z < zones.nrZones; z++) {
    if (!zones.populated(z)) continue;
    out += `Node ${zones.nid[z]}, zone ${pad(ZONE_NAMES[z % MAX_NR_ZONES] as string, 8)} `;
    for (let o = 0; o < pa.nrOrders; o++) out += `${pad(zones.nrFree[z * pa.nrOrders + o] as number, 6)} `;
    out += '\n';
  }
  return out;
}

/** Blocks on one free list (untouched sections count on the MOVABLE max-order list). */
function freeListLength(pa: PageAllocator, zone: number, order: number, mt: number, cap: number): number {
  let n = 0;
  let pfn = pa.zones.freeHead[listId(pa, zone, order, mt)] as number;
  while (pfn >= 0 && n < cap) {
    n++;
    pfn = pa.sec(pfn).next[pfn & pa.memmap.sectionMask] as number;
  }
  if (order === pa.maxOrder && mt === 1) {
    const perSection = pa.memmap.pagesPerSection / (1 << pa.maxOrder);
    n += (pa.zones.nrDeferred[zone] as number) * perSection;
  }
  return Math.min(n, cap);
}

/** Pageblocks of each migratetype in `zone`. */
function pageblockCounts(pa: PageAllocator, zone: number): number[] {
  const counts = new Array<number>(MIGRATE_TYPES).fill(0);
  const start = pa.zones.startPfn[zone] as number;
  const end = start + (pa.zones.spanned[zone] as number);
  const mts = pa.pageblock.migratetype;
  for (let b = start >>> pa.pageblockOrder; b < end >>> pa.pageblockOrder; b++) {
    const mt = mts[b] as number;
    counts[mt] = (counts[mt] as number) + 1;
  }
  return counts;
}

/**
 * `/proc/pagetypeinfo`: free blocks per migratetype and order, and
 * pageblocks per migratetype (no mixed-block table: no CONFIG_PAGE_OWNER).
 * @kernel pagetypeinfo_show (mm/vmstat.c)
 */
export function formatPagetypeinfo(pa: PageAllocator): string {
  const zones = pa.zones;
  const nrNodes = zones.nrZones / MAX_NR_ZONES;
  let out = '';
  for (let nid = 0; nid < nrNodes; nid++) {
    let hasMemory = false;
    for (let zt = 0; zt < MAX_NR_ZONES; zt++) if (zones.populated(nid * MAX_NR_ZONES + zt)) hasMemory = true;
    if (!hasMemory) continue;
    out += `Page block order: ${pa.pageblockOrder}\n`;
    out += `Pages per block:  ${pa.pageblockNrPages}\n\n`;
    out += `${lpad('Free pages count per migrate type at order', 43)} `;
    for (let o = 0; o < pa.nrOrders; o++) out += `${pad(o, 6)} `;
    out += '\n';
    for (let zt = 0; zt < MAX_NR_ZONES; zt++) {
      const z = nid * MAX_NR_ZONES + zt;
      if (!zones.populated(z)) continue;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        out += `Node ${pad(nid, 4)}, zone ${pad(ZONE_NAMES[zt] as string, 8)}, type ${pad(MIGRATETYPE_NAMES[mt] as string, 12)} `;
        for (let o = 0; o < pa.nrOrders; o++) {
          const n = freeListLength(pa, z, o, mt, 100000);
          out += `${n >= 100000 ? '>' : ''}${pad(n, 6)} `;
        }
        out += '\n';
      }
    }
    out += `\n${lpad('Number of blocks type ', 23)}`;
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) out += `${pad(MIGRATETYPE_NAMES[mt] as string, 12)} `;
    out += '\n';
    for (let zt = 0; zt < MAX_NR_ZONES; zt++) {
      const z = nid * MAX_NR_ZONES + zt;
      if (!zones.populated(z)) continue;
      out += `Node ${nid}, zone ${pad(ZONE_NAMES[zt] as string, 8)} `;
      for (const c of pageblockCounts(pa, z)) out += `${pad(c, 12)} `;
      out += '\n';
    }
  }
  return out;
}

/**
 * `/proc/zoneinfo` (subset): per-node stats on a node's first populated
 * zone, watermarks, sizes, protection, zone stats, NUMA events, pagesets.
 * @kernel zoneinfo_show_print (mm/vmstat.c)
 */
export function formatZoneinfo(pa: PageAllocator): string {
  const zones = pa.zones;
  const vs = pa.vmstat;
  const nrCpus = pa.machine.topology.nrCpus;
  const thpNr = 1 << pa.hpagePmdOrder;
  let out = '';
  for (let z = 0; z < zones.nrZones; z++) {
    const nid = zones.nid[z] as number;
    out += `Node ${nid}, zone ${pad(ZONE_NAMES[z % MAX_NR_ZONES] as string, 8)}`;
    let first = -1;
    for (let zt = 0; zt < MAX_NR_ZONES; zt++) {
      if (zones.populated(nid * MAX_NR_ZONES + zt)) {
        first = nid * MAX_NR_ZONES + zt;
        break;
      }
    }
    if (first === z) {
      out += '\n  per-node stats';
      for (let i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
        let pages = vs.nodePageState(nid, i);
        if (Vmstat.nodeItemInThp(i)) pages = Math.floor(pages / thpNr);
        out += `\n      ${lpad(NODE_STAT_NAMES[i] as string, 12)} ${pages}`;
      }
    }
    const w = z * NR_WMARK;
    out +=
      `\n  pages free     ${vs.zonePageState(z, NR_FREE_PAGES)}` +
      `\n        boost    ${zones.watermarkBoost[z]}` +
      `\n        min      ${zones.wmark[w + WMARK_MIN]}` +
      `\n        low      ${zones.wmark[w + WMARK_LOW]}` +
      `\n        high     ${zones.wmark[w + WMARK_HIGH]}` +
      `\n        promo    ${zones.wmark[w + WMARK_PROMO]}` +
      `\n        spanned  ${zones.spanned[z]}` +
      `\n        present  ${zones.present[z]}` +
      `\n        managed  ${zones.managed[z]}` +
      '\n        cma      0';
    out += `\n        protection: (${zones.lowmemReserve[z * MAX_NR_ZONES]}`;
    for (let i = 1; i < MAX_NR_ZONES; i++) out += `, ${zones.lowmemReserve[z * MAX_NR_ZONES + i]}`;
    out += ')';
    if (!zones.populated(z)) {
      out += '\n';
      continue;
    }
    for (let i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
      out += `\n      ${lpad(ZONE_STAT_NAMES[i] as string, 12)} ${vs.zonePageState(z, i)}`;
    for (let i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++)
      out += `\n      ${lpad(NUMA_STAT_NAMES[i] as string, 12)} ${vs.zoneNumaEvent(z, i)}`;
    out += '\n  pagesets';
    const pcp = pa.pcp;
    for (let cpu = 0; cpu < nrCpus; cpu++) {
      const p = cpu * pcp.nrZones + z;
      out +=
        `\n    cpu: ${cpu}` +
        `\n              count:    ${pcp.count[p]}` +
        `\n              high:     ${pcp.high[p]}` +
        `\n              batch:    ${pcp.batch[p]}` +
        `\n              high_min: ${pcp.highMin[p]}` +
        `\n              high_max: ${pcp.highMax[p]}` +
        `\n  vm stats threshold: ${vs.zoneThreshold[z]}`;
    }
    out +=
      '\n  node_unreclaimable:  0' +
      `\n  start_pfn:           ${zones.startPfn[z]}` +
      `\n  reserved_highatomic: ${zones.nrReservedHighatomic[z]}` +
      `\n  free_highatomic:     ${zones.nrFreeHighatomic[z]}`;
    out += '\n';
  }
  return out;
}

/**
 * `/proc/vmstat` (the items the model keeps): zone stats, NUMA events,
 * node stats, VM events.
 * @kernel vmstat_show (mm/vmstat.c)
 */
export function formatVmstat(pa: PageAllocator): string {
  const vs = pa.vmstat;
  const lines: string[] = [];
  for (let i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++) lines.push(`${ZONE_STAT_NAMES[i]} ${vs.globalZonePageState(i)}`);
  for (let i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++) {
    let s = 0;
    for (let z = 0; z < pa.zones.nrZones; z++) s += vs.zoneNumaEvent(z, i);
    lines.push(`${NUMA_STAT_NAMES[i]} ${s}`);
  }
  const thpNr = 1 << pa.hpagePmdOrder;
  for (let i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
    let v = vs.globalNodePageState(i);
    if (Vmstat.nodeItemInThp(i)) v = Math.floor(v / thpNr);
    lines.push(`${NODE_STAT_NAMES[i]} ${v}`);
  }
  for (let i = 0; i < VM_EVENT_NAMES.length; i++) lines.push(`${VM_EVENT_NAMES[i]} ${vs.vmEvent(i)}`);
  return `${lines.join('\n')}\n`;
}

/** One zone in {@link MemState}. */
export interface ZoneState {
  /** Node the zone belongs to. @kernel zone_to_nid */
  readonly nid: number;
  /** Zone name (`DMA32`, `Normal`, `Movable`). */
  readonly name: string;
  /** First PFN of the zone. @kernel zone.zone_start_pfn */
  readonly startPfn: number;
  /** Pages the zone spans, holes included. @kernel zone.spanned_pages */
  readonly spanned: number;
  /** Pages physically present. @kernel zone.present_pages */
  readonly present: number;
  /** Pages the buddy allocator manages. @kernel zone_managed_pages */
  readonly managed: number;
  /** Free pages (`NR_FREE_PAGES`). */
  readonly free: number;
  /** Zone watermarks in pages. @kernel zone._watermark, zone.watermark_boost */
  readonly watermarks: {
    /** Free pages below which only atomic and reserve allocations succeed (the `min` watermark). */
    readonly min: number;
    /** Free pages below which kswapd is woken (the `low` watermark). */
    readonly low: number;
    /** Free pages at which kswapd stops reclaiming (the `high` watermark). */
    readonly high: number;
    /** The NUMA-promotion watermark, above `high` (the `promo` watermark). */
    readonly promo: number;
    /** Temporary boost added to every watermark. @kernel zone.watermark_boost */
    readonly boost: number;
  };
  /**
   * Pages kept back from allocations that could use a higher zone, per zone index.
   * @kernel zone.lowmem_reserve
   */
  readonly lowmemReserve: readonly number[];
  /** Pages in MIGRATE_HIGHATOMIC pageblocks. @kernel zone.nr_reserved_highatomic */
  readonly nrReservedHighatomic: number;
  /** Free pages in MIGRATE_HIGHATOMIC pageblocks. @kernel zone.nr_free_highatomic */
  readonly nrFreeHighatomic: number;
  /** `freeArea[order][migratetype]`: blocks on each list. */
  readonly freeArea: readonly (readonly number[])[];
  /** Pageblocks per migratetype. */
  readonly pageblocks: readonly number[];
  /** Pages on each CPU's pcp lists for this zone. */
  readonly pcpCount: readonly number[];
  /** Zone stat items by name (`/proc/zoneinfo`). */
  readonly stats: Readonly<Record<string, number>>;
}

/** Physical memory state as plain JSON (for the web page). */
export interface MemState {
  /** Largest buddy order; blocks go up to 2^maxOrder pages; mirrors `MAX_PAGE_ORDER`. */
  readonly maxOrder: number;
  /** Order of a pageblock, the unit migratetypes are tracked in; mirrors `pageblock_order`. */
  readonly pageblockOrder: number;
  /** `PAGE_SIZE` in bytes. */
  readonly pageSize: number;
  /** Every populated zone, node by node. */
  readonly zones: readonly ZoneState[];
  /** Per-node stat items. */
  readonly nodes: readonly {
    /** Node id. */
    readonly nid: number;
    /** Node stat items by name. */
    readonly stats: Readonly<Record<string, number>>;
  }[];
  /** VM event counters by name (`/proc/vmstat`). */
  readonly vmEvents: Readonly<Record<string, number>>;
  /** The model's sparse `mem_map`. */
  readonly memmap: {
    /** Memory sections whose `struct page` array has been built. */
    readonly sectionsMaterialized: number;
    /** Memory sections in all. */
    readonly nrSections: number;
    /** Host bytes the built arrays take. */
    readonly hostBytes: number;
  };
}

/** The physical memory state as JSON-ready data. */
export function memStateJson(pa: PageAllocator): MemState {
  const zones = pa.zones;
  const vs = pa.vmstat;
  const out: ZoneState[] = [];
  for (let z = 0; z < zones.nrZones; z++) {
    const freeArea: number[][] = [];
    for (let o = 0; o < pa.nrOrders; o++) {
      const row: number[] = [];
      for (let mt = 0; mt < MIGRATE_TYPES; mt++)
        row.push(zones.populated(z) ? freeListLength(pa, z, o, mt, Number.MAX_SAFE_INTEGER) : 0);
      freeArea.push(row);
    }
    const pcpCount: number[] = [];
    for (let cpu = 0; cpu < pa.pcp.nrCpus; cpu++) pcpCount.push(pa.pcp.count[cpu * pa.pcp.nrZones + z] as number);
    const stats: Record<string, number> = {};
    for (let i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
      stats[ZONE_STAT_NAMES[i] as string] = vs.zonePageStateSnapshot(z, i);
    for (let i = 0; i < NR_VM_NUMA_EVENT_ITEMS; i++) stats[NUMA_STAT_NAMES[i] as string] = vs.zoneNumaEvent(z, i);
    const w = z * NR_WMARK;
    out.push({
      nid: zones.nid[z] as number,
      name: ZONE_NAMES[z % MAX_NR_ZONES] as string,
      startPfn: zones.startPfn[z] as number,
      spanned: zones.spanned[z] as number,
      present: zones.present[z] as number,
      managed: zones.managed[z] as number,
      free: vs.zonePageStateSnapshot(z, NR_FREE_PAGES),
      watermarks: {
        min: zones.wmark[w + WMARK_MIN] as number,
        low: zones.wmark[w + WMARK_LOW] as number,
        high: zones.wmark[w + WMARK_HIGH] as number,
        promo: zones.wmark[w + WMARK_PROMO] as number,
        boost: zones.watermarkBoost[z] as number,
      },
      lowmemReserve: Array.from(zones.lowmemReserve.subarray(z * MAX_NR_ZONES, (z + 1) * MAX_NR_ZONES)),
      nrReservedHighatomic: zones.nrReservedHighatomic[z] as number,
      nrFreeHighatomic: zones.nrFreeHighatomic[z] as number,
      freeArea,
      pageblocks: zones.populated(z) ? pageblockCounts(pa, z) : new Array<number>(MIGRATE_TYPES).fill(0),
      pcpCount,
      stats,
    });
  }
  const nodes: { nid: number; stats: Record<string, number> }[] = [];
  for (let nid = 0; nid < vs.nrNodes; nid++) {
    const stats: Record<string, number> = {};
    for (let i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
      stats[NODE_STAT_NAMES[i] as string] = vs.nodePageStateSnapshot(nid, i);
    nodes.push({ nid, stats });
  }
  const vmEvents: Record<string, number> = {};
  for (let i = 0; i < VM_EVENT_NAMES.length; i++) vmEvents[VM_EVENT_NAMES[i] as string] = vs.vmEvent(i);
  return {
    maxOrder: pa.maxOrder,
    pageblockOrder: pa.pageblockOrder,
    pageSize: pa.machine.topology.pageSize,
    zones: out,
    nodes,
    vmEvents,
    memmap: {
      sectionsMaterialized: pa.memmap.nrMaterialized,
      nrSections: pa.memmap.sections.length,
      hostBytes: pa.memmap.hostBytes(),
    },
  };
}
