/**
 * DOC: the buddy page allocator and the physical memory it manages
 * (`machine.mem`).
 *
 * Free memory sits on per-zone free lists by order (0..MAX_PAGE_ORDER) and
 * migratetype; a free block of order n is 2^n pages aligned to 2^n, marked
 * with the buddy page type and its order in `private`. Allocation takes the
 * smallest suitable block of the wanted migratetype and splits it
 * (`__rmqueue_smallest`/`expand`); when that list set is empty it falls back
 * to other migratetypes, first trying to *claim* a whole pageblock for the
 * requester (`__rmqueue_claim`/`try_to_claim_block`), otherwise just taking
 * (*stealing*) the smallest foreign block without converting it
 * (`__rmqueue_steal`), the terminology of the v6.15 series in seed 000.
 * Freeing merges a block with its free buddy (`pfn ^ (1 << order)`) as long
 * as possible (`__free_one_page`). Orders up to PAGE_ALLOC_COSTLY_ORDER and
 * the THP order go through per-CPU lists first (pcp.ts). Zones are tried in
 * zonelist order (nodes by distance) against their watermarks; the slow path
 * wakes kswapd (a hook), dips into reserves as the GFP flags allow, calls
 * the registered reclaim hook and retries.
 *
 * Context: the model is synchronous; the kernel's zone->lock and pcp locks
 * are not taken here (they are wired when the lock model is merged).
 * "This CPU" is `machine.currentCpu`.
 */
import { ConfigError, EINVAL, ENOMEM, MmBugError, MmError } from './errors.js';
import { FailPageAlloc } from './fail-page-alloc.js';
import {
  __GFP_ACCOUNT,
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_KSWAPD_RECLAIM,
  __GFP_MEMALLOC,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RETRY_MAYFAIL,
  __GFP_THISNODE,
  __GFP_ZERO,
  ALLOC_HIGHATOMIC,
  ALLOC_KSWAPD,
  ALLOC_MIN_RESERVE,
  ALLOC_NO_WATERMARKS,
  ALLOC_NOFRAGMENT,
  ALLOC_NON_BLOCK,
  ALLOC_OOM,
  ALLOC_WMARK_LOW,
  ALLOC_WMARK_MASK,
  GFP_MOVABLE_MASK,
  GFP_ZONEMASK,
  gfpMigratetype,
  gfpToAllocFlags,
  gfpZone,
} from './gfp.js';
import { mightSleep } from './lockdep.js';
import type { Machine } from './machine.js';
import { Memmap, type MemSection } from './memmap.js';
import {
  MAX_NR_ZONES,
  MIGRATE_HIGHATOMIC,
  MIGRATE_MOVABLE,
  MIGRATE_PCPTYPES,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
  maxPageOrder,
  NR_WMARK,
  PAGE_ALLOC_COSTLY_ORDER,
  WMARK_HIGH,
  WMARK_MIN,
  ZONE_BELOW_HIGH,
  ZONE_BOOSTED_WATERMARK,
  ZONE_DMA32,
  ZONE_NORMAL,
  ZONE_RECLAIM_ACTIVE,
  ZoneTable,
} from './mmzone.js';
import {
  PAGE_FLAGS_CHECK_AT_FREE,
  PAGE_FLAGS_CHECK_AT_PREP,
  PG_head,
  PG_hwpoison,
  PG_lru,
  PGTY_buddy,
  pageTypeName,
} from './page-flags.js';
import { PageblockFlags } from './pageblock.js';
import {
  decayPcpHigh,
  drainPagesZone,
  freeFrozenPageCommit,
  NR_LOWORDER_PCP_LISTS,
  NR_PCP_LISTS,
  PCP_BATCH_SCALE_MAX,
  PCPF_FREE_HIGH_BATCH,
  PCPF_PREV_FREE_HIGH_ORDER,
  PerCpuPages,
  pcpAllowedOrder,
  rmqueuePcplist,
  zoneSetPagesetHighAndBatch,
} from './pcp.js';
import { type MemState, memStateJson } from './procfs.js';
import {
  NR_FREE_PAGES,
  NR_VM_EVENT_ITEMS,
  NR_VM_NUMA_EVENT_ITEMS,
  NR_VM_ZONE_STAT_ITEMS,
  NR_ZONE_ACTIVE_ANON,
  NR_ZONE_ACTIVE_FILE,
  NR_ZONE_INACTIVE_ANON,
  NR_ZONE_INACTIVE_FILE,
  NUMA_FOREIGN,
  NUMA_HIT,
  NUMA_LOCAL,
  NUMA_MISS,
  NUMA_OTHER,
  VM_EVENT,
  Vmstat,
} from './vmstat.js';
import {
  boostWatermark,
  calculateMinFreeKbytes,
  setupPerZoneLowmemReserve,
  setupPerZoneWmarks,
  zoneWatermarkFast,
  zoneWatermarkOk,
  zoneWatermarkOkRaw,
} from './watermark.js';

/** No node preference (`NUMA_NO_NODE`). */
export const NUMA_NO_NODE = -1;
/** `__free_one_page` flag: put the merged block at the tail of its list. */
export const FPI_TO_TAIL = 2;
/** Retries of reclaim without progress before giving up (`MAX_RECLAIM_RETRIES`). */
export const MAX_RECLAIM_RETRIES = 16;
/** memcg_data low bit marking a kmem (__GFP_ACCOUNT) charge. */
export const MEMCG_DATA_KMEM = 2;

/** `__rmqueue` modes, remembered across one `rmqueue_bulk()` batch. */
const RMQUEUE_NORMAL = 0;
const RMQUEUE_CLAIM = 2;
const RMQUEUE_STEAL = 3;

/** Upper bound on slow-path rounds: the model cannot block forever. */
const SLOWPATH_MAX_ROUNDS = 1000;

/**
 * Constants the order-0 fast paths write as literals, with the values they
 * stand for. V8 reads an imported (or module-level) `const` through its
 * module cell with a TDZ hole check at every use, a dozen loads and
 * branches per allocation; a literal is an immediate. The PageAllocator
 * constructor checks every literal against its named constant.
 */
const FAST_PATH_LITERALS: readonly (readonly [string, number, number])[] = [
  ['NR_VM_ZONE_STAT_ITEMS', NR_VM_ZONE_STAT_ITEMS, 10],
  ['NR_FREE_PAGES', NR_FREE_PAGES, 0],
  ['NR_WMARK', NR_WMARK, 4],
  ['WMARK_HIGH', WMARK_HIGH, 2],
  ['MAX_NR_ZONES', MAX_NR_ZONES, 3],
  ['ZONE_BELOW_HIGH | ZONE_BOOSTED_WATERMARK', ZONE_BELOW_HIGH | ZONE_BOOSTED_WATERMARK, 5],
  ['NR_PCP_LISTS', NR_PCP_LISTS, 14],
  ['NR_VM_EVENT_ITEMS', NR_VM_EVENT_ITEMS, 41],
  ['VM_EVENT.PGALLOC_DMA32', VM_EVENT.PGALLOC_DMA32, 4],
  ['NR_VM_NUMA_EVENT_ITEMS', NR_VM_NUMA_EVENT_ITEMS, 6],
  ['NUMA_HIT', NUMA_HIT, 0],
  ['NUMA_LOCAL', NUMA_LOCAL, 4],
  ['NUMA_OTHER', NUMA_OTHER, 5],
  ['__GFP_ZERO', __GFP_ZERO, 0x100],
  ['__GFP_DIRECT_RECLAIM', __GFP_DIRECT_RECLAIM, 0x400],
  ['__GFP_KSWAPD_RECLAIM', __GFP_KSWAPD_RECLAIM, 0x800],
  ['__GFP_THISNODE', __GFP_THISNODE, 0x200000],
  ['__GFP_ACCOUNT', __GFP_ACCOUNT, 0x400000],
  ['ALLOC_WMARK_LOW', ALLOC_WMARK_LOW, 1],
  ['PAGE_FLAGS_CHECK_AT_FREE', PAGE_FLAGS_CHECK_AT_FREE, 0x14e123],
  ['PAGE_FLAGS_CHECK_AT_PREP', PAGE_FLAGS_CHECK_AT_PREP, 0xdfffff],
  ['1 << PG_hwpoison', 1 << PG_hwpoison, 0x200000],
  ['MEMCG_DATA_KMEM', MEMCG_DATA_KMEM, 2],
  ['MIGRATE_PCPTYPES', MIGRATE_PCPTYPES, 3],
  ['MIGRATE_MOVABLE', MIGRATE_MOVABLE, 1],
  ['GFP_ZONEMASK | GFP_MOVABLE_MASK', GFP_ZONEMASK | GFP_MOVABLE_MASK, 0x1f],
  // pcp.ts: freeFrozenPageCommit, nrPcpHigh.
  ['VM_EVENT.PGFREE', VM_EVENT.PGFREE, 13],
  ['PAGE_ALLOC_COSTLY_ORDER', PAGE_ALLOC_COSTLY_ORDER, 3],
  ['NR_LOWORDER_PCP_LISTS', NR_LOWORDER_PCP_LISTS, 12],
  ['PCPF_PREV_FREE_HIGH_ORDER', PCPF_PREV_FREE_HIGH_ORDER, 1],
  ['PCPF_FREE_HIGH_BATCH', PCPF_FREE_HIGH_BATCH, 2],
  ['PCP_BATCH_SCALE_MAX', PCP_BATCH_SCALE_MAX, 5],
  ['ZONE_RECLAIM_ACTIVE', ZONE_RECLAIM_ACTIVE, 2],
  ['ZONE_BELOW_HIGH', ZONE_BELOW_HIGH, 4],
];

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
 * Reclaim hook: try to free memory for an allocation that failed its
 * watermarks; returns the number of pages reclaimed (0 = no progress).
 */
export type ReclaimHook = (nid: number, order: number, gfp: number, highestZoneidx: number) => number;
/** Memory-policy hook: the preferred node for an allocation without an explicit node (-1 = local). */
export type NodePreferenceHook = (gfp: number, order: number) => number;
/** Called when an allocation wants kswapd of `nid` woken. */
export type KswapdHook = (nid: number, order: number, highestZoneidx: number) => void;
/** memcg kmem charge for __GFP_ACCOUNT: returns a memcg handle (> 0) or a negative errno. */
export type MemcgChargeHook = (pfn: number, order: number, gfp: number) => number;
/** memcg kmem uncharge when an accounted page is freed. */
export type MemcgUnchargeHook = (pfn: number, order: number, memcg: number) => void;

/** Tunables of the physical memory model. */
export interface MemOptions {
  /** Share of each node (percent, whole sections) given to ZONE_MOVABLE (`movablecore=N%`); default 0. */
  readonly movablecorePercent?: number;
  /** `vm.min_free_kbytes`; default computed like the kernel (sqrt of lowmem × 16). */
  readonly minFreeKbytes?: number;
  /** `vm.watermark_scale_factor` (default 10, i.e. 0.1% of a zone between watermarks). */
  readonly watermarkScaleFactor?: number;
  /** `vm.watermark_boost_factor` (default 15000). */
  readonly watermarkBoostFactor?: number;
  /** `vm.percpu_pagelist_high_fraction` (default 0: pcp high auto-tuned from the low watermark). */
  readonly percpuPagelistHighFraction?: number;
  /** Per-CPU data cache slice in bytes, deciding PCPF_FREE_HIGH_BATCH (default 2 MiB). */
  readonly pcpCacheSliceBytes?: number;
}

/**
 * A bad page state: freeing a free page, a tail page, with the wrong order,
 * or a page still mapped, charged or flagged. Nothing was changed.
 * @kernel bad_page (mm/page_alloc.c)
 */
export class BadPageError extends MmError {
  /** The offending page. */
  readonly pfn: number;
  /** What is wrong (the kernel's bad_reason wording where it has one). */
  readonly reason: string;

  constructor(pfn: number, reason: string) {
    super('EINVAL', `page_alloc: Bad page state pfn:${pfn.toString(16).padStart(5, '0')} ${reason}`);
    this.pfn = pfn;
    this.reason = reason;
  }
}

/**
 * The physical memory of a machine and its buddy allocator: memmap, zones,
 * pageblocks, per-CPU page lists and vmstat counters.
 */
export class PageAllocator {
  readonly machine: Machine;
  /** Largest buddy order (`MAX_PAGE_ORDER`). */
  readonly maxOrder: number;
  /** `NR_PAGE_ORDERS`. */
  readonly nrOrders: number;
  /** `pageblock_order`. */
  readonly pageblockOrder: number;
  /** `pageblock_nr_pages`. */
  readonly pageblockNrPages: number;
  /** `HPAGE_PMD_ORDER` (order of a PMD-mapped THP). */
  readonly hpagePmdOrder: number;
  readonly memmap: Memmap;
  readonly zones: ZoneTable;
  readonly pageblock: PageblockFlags;
  readonly pcp: PerCpuPages;
  readonly vmstat: Vmstat;
  readonly failPageAlloc: FailPageAlloc;
  /** `vm.min_free_kbytes`. */
  minFreeKbytes: number;
  /** `vm.watermark_scale_factor`. */
  watermarkScaleFactor: number;
  /** `vm.watermark_boost_factor`. */
  watermarkBoostFactor: number;
  /** `vm.percpu_pagelist_high_fraction`. */
  percpuPagelistHighFraction: number;
  /** Per-CPU data cache slice (bytes). */
  readonly pcpCacheSliceBytes: number;
  /** `sysctl_lowmem_reserve_ratio[]` by zone type. */
  readonly lowmemReserveRatio: Int32Array;
  /** Allocation attempts that failed (warn_alloc count). */
  nrAllocFailed: number;
  /** kswapd wake requests. */
  nrKswapdWakeups: number;
  /** Fallback allocations from a foreign migratetype (the `mm_page_alloc_extfrag` tracepoint). */
  nrExtfrag: number;
  reclaimHook: ReclaimHook | null;
  nodePreferenceHook: NodePreferenceHook | null;
  kswapdHook: KswapdHook | null;
  memcgChargeHook: MemcgChargeHook | null;
  memcgUnchargeHook: MemcgUnchargeHook | null;

  // Hot references (one load instead of two on every list operation).
  private readonly sections: (MemSection | undefined)[];
  private readonly sectionShift: number;
  private readonly sectionMask: number;
  private readonly freeHead: Int32Array;
  private readonly freeTail: Int32Array;
  private readonly nrFree: Int32Array;
  private readonly sectionZone: Int32Array;
  private readonly cpuToNode: Int32Array;
  private readonly nrNodes: number;
  private readonly nrZones: number;
  private readonly totalPages: number;
  private readonly zoneFlags: Uint8Array;
  private readonly zoneNid: Int32Array;
  private readonly wmark: Float64Array;
  private readonly watermarkBoost: Float64Array;
  private readonly lowmemReserve: Float64Array;
  private readonly nrFreeHighatomic: Float64Array;
  private readonly zoneStat: Float64Array;
  private readonly vmEvents: Float64Array;
  private readonly numaEvents: Float64Array;
  private readonly pcpHead: Int32Array;
  private readonly pcpTail: Int32Array;
  private readonly pcpCount: Int32Array;
  private readonly pcpFreeCount: Int32Array;
  private readonly pageblockMt: Uint8Array;
  private readonly pageblockShift: number;
  /**
   * Derived once (zonelists and zone sizes never change): the zonelist index
   * of the first zone a request may use, at
   * `((thisnode ? nrNodes : 0) + nid) * MAX_NR_ZONES + highestZoneidx`, or -1
   * (`first_zones_zonelist()` / `ac->preferred_zoneref`).
   */
  private readonly preferredIdx: Int32Array;
  /** ALLOC_NOFRAGMENT or 0 for a request whose preferred zone is `zone` (`alloc_flags_nofragment`). */
  private readonly nofragment: Int32Array;
  /**
   * `gfp_zone()` and `gfp_migratetype()` by the five zone and mobility bits
   * of a GFP mask (`gfp & 0x1f`): highest zone index at `2k`, migratetype
   * at `2k + 1`.
   */
  private readonly gfpZoneMt: Int8Array;

  // Allocation context of the running request (struct alloc_context), kept
  // in fields so the hot path allocates nothing.
  private acZonelist: Int32Array;
  private acPreferredIdx: number;
  private acHighestZoneidx: number;
  private acMigratetype: number;
  private acNid: number;
  /** `enum rmqueue_mode` of the running `__rmqueue` sequence. */
  rmqm: number;
  private noProgressLoops: number;
  private lastReclaimProgress: number;
  private scratchFree: number;
  private scratchMovable: number;

  constructor(machine: Machine, options: MemOptions = {}) {
    this.machine = machine;
    const t = machine.topology;
    if (t.totalPages > 0x7fffffff) {
      throw new MmError('EINVAL', `page_alloc: ${t.totalPages} pages exceed the model's 2^31 PFN limit`);
    }
    const pct = options.movablecorePercent ?? 0;
    if (!(pct >= 0 && pct <= 100)) throw new ConfigError('mem.movablecorePercent', `must be in 0..100, got ${pct}`);
    const wsf = options.watermarkScaleFactor ?? 10;
    if (!Number.isInteger(wsf) || wsf < 1 || wsf > 3000) {
      throw new ConfigError('mem.watermarkScaleFactor', `must be an integer in 1..3000, got ${wsf}`);
    }
    if (
      options.minFreeKbytes !== undefined &&
      !(Number.isInteger(options.minFreeKbytes) && options.minFreeKbytes >= 0)
    ) {
      throw new ConfigError('mem.minFreeKbytes', `must be a non-negative integer, got ${options.minFreeKbytes}`);
    }
    this.maxOrder = maxPageOrder(machine.config.arch, t.pageShift, t.sectionShift);
    this.nrOrders = this.maxOrder + 1;
    this.hpagePmdOrder = t.pageShift - 3;
    this.pageblockOrder = Math.min(this.hpagePmdOrder, this.maxOrder);
    this.pageblockNrPages = 1 << this.pageblockOrder;
    this.memmap = new Memmap(t.totalPages, t.sectionShift, this.maxOrder);
    this.zones = new ZoneTable(t, this.nrOrders, pct);
    this.pageblock = new PageblockFlags(t.totalPages, this.pageblockOrder);
    this.vmstat = new Vmstat(t.nrCpus, t.nrNodes, this.zones.nrZones);
    this.pcp = new PerCpuPages(t.nrCpus, this.zones.nrZones, this.maxOrder >= this.hpagePmdOrder);
    this.failPageAlloc = new FailPageAlloc(machine.prng.stream('fail_page_alloc'));
    this.watermarkScaleFactor = wsf;
    this.watermarkBoostFactor = options.watermarkBoostFactor ?? 15000;
    this.percpuPagelistHighFraction = options.percpuPagelistHighFraction ?? 0;
    this.pcpCacheSliceBytes = options.pcpCacheSliceBytes ?? 2 * 1024 * 1024;
    this.lowmemReserveRatio = Int32Array.from([256, 32, 0]);
    this.nrAllocFailed = 0;
    this.nrKswapdWakeups = 0;
    this.nrExtfrag = 0;
    this.reclaimHook = null;
    this.nodePreferenceHook = null;
    this.kswapdHook = null;
    this.memcgChargeHook = null;
    this.memcgUnchargeHook = null;
    this.sections = this.memmap.sections;
    this.sectionShift = this.memmap.sectionShift;
    this.sectionMask = this.memmap.sectionMask;
    this.freeHead = this.zones.freeHead;
    this.freeTail = this.zones.freeTail;
    this.nrFree = this.zones.nrFree;
    this.sectionZone = this.zones.sectionZone;
    this.cpuToNode = t.cpuToNode;
    this.nrNodes = t.nrNodes;
    this.nrZones = this.zones.nrZones;
    this.totalPages = this.memmap.totalPages;
    this.zoneFlags = this.zones.flags;
    this.zoneNid = this.zones.nid;
    this.wmark = this.zones.wmark;
    this.watermarkBoost = this.zones.watermarkBoost;
    this.lowmemReserve = this.zones.lowmemReserve;
    this.nrFreeHighatomic = this.zones.nrFreeHighatomic;
    this.zoneStat = this.vmstat.zoneStat;
    this.vmEvents = this.vmstat.vmEvents;
    this.numaEvents = this.vmstat.numaEvents;
    this.pcpHead = this.pcp.head;
    this.pcpTail = this.pcp.tail;
    this.pcpCount = this.pcp.count;
    this.pcpFreeCount = this.pcp.freeCount;
    this.pageblockMt = this.pageblock.migratetype;
    this.pageblockShift = this.pageblock.order;
    this.preferredIdx = new Int32Array(2 * t.nrNodes * MAX_NR_ZONES).fill(-1);
    for (let thisnode = 0; thisnode < 2; thisnode++) {
      for (let nid = 0; nid < t.nrNodes; nid++) {
        const zl = (thisnode ? this.zones.zonelistNofallback[nid] : this.zones.zonelistFallback[nid]) as Int32Array;
        for (let hz = 0; hz < MAX_NR_ZONES; hz++) {
          let idx = -1;
          for (let k = 0; k < zl.length; k++) {
            if ((zl[k] as number) % MAX_NR_ZONES <= hz) {
              idx = k;
              break;
            }
          }
          this.preferredIdx[(thisnode * t.nrNodes + nid) * MAX_NR_ZONES + hz] = idx;
        }
      }
    }
    for (const [name, value, literal] of FAST_PATH_LITERALS) {
      if (value !== literal) throw new MmBugError(`page_alloc: fast path literal ${literal} is not ${name} (${value})`);
    }
    this.gfpZoneMt = new Int8Array(64);
    for (let k = 0; k < 32; k++) {
      this.gfpZoneMt[2 * k] = gfpZone(k);
      this.gfpZoneMt[2 * k + 1] = gfpMigratetype(k);
    }
    this.nofragment = new Int32Array(this.zones.nrZones);
    for (let z = 0; z < this.zones.nrZones; z++) this.nofragment[z] = this.allocFlagsNofragment(z, 0);
    this.acZonelist = this.zones.zonelistFallback[0] as Int32Array;
    this.acPreferredIdx = -1;
    this.acHighestZoneidx = ZONE_NORMAL;
    this.acMigratetype = MIGRATE_UNMOVABLE;
    this.acNid = 0;
    this.rmqm = RMQUEUE_NORMAL;
    this.noProgressLoops = 0;
    this.lastReclaimProgress = 0;
    this.scratchFree = 0;
    this.scratchMovable = 0;

    // Boot: every managed page is free (memblock_free_all), counted per zone.
    for (let z = 0; z < this.zones.nrZones; z++) {
      const managed = this.zones.managed[z] as number;
      this.vmstat.zoneStat[z * 10 + NR_FREE_PAGES] = managed;
      this.vmstat.globalZoneStat[NR_FREE_PAGES] = (this.vmstat.globalZoneStat[NR_FREE_PAGES] as number) + managed;
    }
    this.vmstat.refreshZoneStatThresholds(this.zones.managed, this.zones.nid, t.pageShift, t.nrCpus);
    this.minFreeKbytes = options.minFreeKbytes ?? calculateMinFreeKbytes(this);
    this.setupPerZoneWmarks();
    // CPUHP_PAGE_ALLOC: a dead CPU's pcp pages and counters go back.
    machine.hotplug.cpuhpSetupStateNocalls('mm/page_alloc:pcp', 'prepare', null, (cpu) => {
      this.pageAllocCpuDead(cpu);
      return 0;
    });
  }

  // ---------------------------------------------------------------- tunables

  /**
   * Recompute watermarks, lowmem reserves and pcp high/batch (after a sysctl write).
   * @kernel setup_per_zone_wmarks (mm/page_alloc.c)
   */
  setupPerZoneWmarks(): void {
    setupPerZoneWmarks(this);
    setupPerZoneLowmemReserve(this);
    for (let z = 0; z < this.zones.nrZones; z++) if (this.zones.populated(z)) zoneSetPagesetHighAndBatch(this, z);
  }

  /**
   * Write `vm.min_free_kbytes`.
   * @kernel min_free_kbytes_sysctl_handler (mm/page_alloc.c)
   */
  setMinFreeKbytes(kbytes: number): void {
    if (!Number.isInteger(kbytes) || kbytes < 0) throw new MmError('EINVAL', `page_alloc: min_free_kbytes ${kbytes}`);
    this.minFreeKbytes = kbytes;
    this.setupPerZoneWmarks();
  }

  /**
   * Write `vm.watermark_scale_factor` (1..3000).
   * @kernel watermark_scale_factor_sysctl_handler (mm/page_alloc.c)
   */
  setWatermarkScaleFactor(factor: number): void {
    if (!Number.isInteger(factor) || factor < 1 || factor > 3000) {
      throw new MmError('EINVAL', `page_alloc: watermark_scale_factor ${factor} not in 1..3000`);
    }
    this.watermarkScaleFactor = factor;
    this.setupPerZoneWmarks();
  }

  /**
   * Write `vm.percpu_pagelist_high_fraction` (0 or >= 8).
   * @kernel percpu_pagelist_high_fraction_sysctl_handler (mm/page_alloc.c)
   */
  setPercpuPagelistHighFraction(fraction: number): void {
    if (!Number.isInteger(fraction) || (fraction !== 0 && fraction < 8)) {
      throw new MmError('EINVAL', `page_alloc: percpu_pagelist_high_fraction ${fraction} must be 0 or >= 8`);
    }
    this.percpuPagelistHighFraction = fraction;
    for (let z = 0; z < this.zones.nrZones; z++) if (this.zones.populated(z)) zoneSetPagesetHighAndBatch(this, z);
  }

  /** Register the reclaim hook (direct reclaim of the kernel model). */
  setReclaimHook(hook: ReclaimHook | null): void {
    this.reclaimHook = hook;
  }

  /** Register the memory-policy hook choosing the preferred node. */
  setNodePreferenceHook(hook: NodePreferenceHook | null): void {
    this.nodePreferenceHook = hook;
  }

  /** Register the kswapd wake hook. */
  setKswapdHook(hook: KswapdHook | null): void {
    this.kswapdHook = hook;
  }

  /** Register memcg kmem charge/uncharge hooks for __GFP_ACCOUNT. */
  setMemcgHooks(charge: MemcgChargeHook | null, uncharge: MemcgUnchargeHook | null): void {
    this.memcgChargeHook = charge;
    this.memcgUnchargeHook = uncharge;
  }

  /**
   * kswapd finished balancing `nid`: drop its zones' watermark boosts.
   * @kernel balance_pgdat (mm/vmscan.c), the boost reset
   */
  clearWatermarkBoost(nid: number): void {
    for (let zt = 0; zt < MAX_NR_ZONES; zt++) this.zones.watermarkBoost[nid * MAX_NR_ZONES + zt] = 0;
  }

  // ---------------------------------------------------------------- memmap

  /** Section of a PFN known to be materialized. */
  sec(pfn: number): MemSection {
    return this.sections[pfn >>> this.sectionShift] as MemSection;
  }

  /**
   * The zone id of `pfn`.
   * @kernel page_zone (include/linux/mm.h)
   */
  pageZone(pfn: number): number {
    return this.sectionZone[pfn >>> this.sectionShift] as number;
  }

  /**
   * The node of `pfn`.
   * @kernel page_to_nid (include/linux/mm.h)
   */
  pageToNid(pfn: number): number {
    return this.zones.nid[this.sectionZone[pfn >>> this.sectionShift] as number] as number;
  }

  /**
   * Materialize section `nr` (allocate its memmap) and put its boot-time free
   * blocks on the MOVABLE max-order free list of its zone, at the tail (boot
   * frees memory to the tail in PFN order). They were already counted free.
   * @kernel deferred_grow_zone / deferred_init_memmap_chunk (mm/mm_init.c)
   */
  materializeSection(nr: number): MemSection {
    const existing = this.sections[nr];
    if (existing !== undefined) return existing;
    const zone = this.sectionZone[nr] as number;
    if (zone < 0) throw new MmBugError(`page_alloc: section ${nr} belongs to no zone`);
    const sec = this.memmap.materialize(nr);
    const pps = this.memmap.pagesPerSection;
    const block = 1 << this.maxOrder;
    const base = nr * pps;
    const l = this.listId(zone, this.maxOrder, MIGRATE_MOVABLE);
    for (let off = 0; off < pps; off += block) {
      const pfn = base + off;
      if (this.pageblock.get(pfn) !== MIGRATE_MOVABLE)
        throw new MmBugError(`page_alloc: untouched pfn ${pfn} not movable`);
      sec.pageType[off] = PGTY_buddy;
      sec.private[off] = this.maxOrder;
      const tail = this.freeTail[l] as number;
      sec.prev[off] = tail;
      sec.next[off] = -1;
      if (tail < 0) this.freeHead[l] = pfn;
      else this.sec(tail).next[tail & this.sectionMask] = pfn;
      this.freeTail[l] = pfn;
    }
    this.zones.nrDeferred[zone] = (this.zones.nrDeferred[zone] as number) - 1;
    return sec;
  }

  /** Materialize the next untouched section of `zone`; false if none is left. */
  private deferredGrowZone(zone: number): boolean {
    if ((this.zones.nrDeferred[zone] as number) === 0) return false;
    let s = this.zones.deferNext[zone] as number;
    const end = this.zones.deferEnd[zone] as number;
    while (s < end && this.sections[s] !== undefined) s++;
    if (s >= end) throw new MmBugError(`page_alloc: zone ${zone} lost track of its deferred sections`);
    this.materializeSection(s);
    this.zones.deferNext[zone] = s + 1;
    return true;
  }

  // ---------------------------------------------------------------- free lists

  /** Free-list id of (zone, order, migratetype). */
  listId(zone: number, order: number, mt: number): number {
    return (zone * this.nrOrders + order) * MIGRATE_TYPES + mt;
  }

  /**
   * Whether a free list is empty (untouched sections count as the tail of
   * the MOVABLE max-order list).
   * @kernel free_area_empty (mm/internal.h)
   */
  freeAreaEmpty(zone: number, order: number, mt: number): boolean {
    if ((this.freeHead[this.listId(zone, order, mt)] as number) >= 0) return false;
    return !(order === this.maxOrder && mt === MIGRATE_MOVABLE && (this.zones.nrDeferred[zone] as number) > 0);
  }

  /**
   * First block on a free list, or -1.
   * @kernel get_page_from_free_area (mm/page_alloc.c)
   */
  getPageFromFreeArea(zone: number, order: number, mt: number): number {
    const l = this.listId(zone, order, mt);
    const head = this.freeHead[l] as number;
    if (head >= 0) return head;
    if (order === this.maxOrder && mt === MIGRATE_MOVABLE && this.deferredGrowZone(zone)) {
      return this.freeHead[l] as number;
    }
    return -1;
  }

  /**
   * Link a block into a free list (no accounting, no buddy mark).
   * @kernel __add_to_free_list (mm/page_alloc.c)
   */
  __addToFreeList(pfn: number, zone: number, order: number, mt: number, tail: boolean): void {
    const l = (zone * this.nrOrders + order) * MIGRATE_TYPES + mt;
    const s = this.sections[pfn >>> this.sectionShift] as MemSection;
    const i = pfn & this.sectionMask;
    if (tail) {
      const t = this.freeTail[l] as number;
      s.prev[i] = t;
      s.next[i] = -1;
      if (t < 0) this.freeHead[l] = pfn;
      else (this.sections[t >>> this.sectionShift] as MemSection).next[t & this.sectionMask] = pfn;
      this.freeTail[l] = pfn;
    } else {
      const h = this.freeHead[l] as number;
      s.next[i] = h;
      s.prev[i] = -1;
      if (h < 0) this.freeTail[l] = pfn;
      else (this.sections[h >>> this.sectionShift] as MemSection).prev[h & this.sectionMask] = pfn;
      this.freeHead[l] = pfn;
    }
    this.nrFree[zone * this.nrOrders + order] = (this.nrFree[zone * this.nrOrders + order] as number) + 1;
  }

  /** Unlink `pfn` from list `l`. */
  private unlink(pfn: number, l: number): void {
    const s = this.sections[pfn >>> this.sectionShift] as MemSection;
    const i = pfn & this.sectionMask;
    const n = s.next[i] as number;
    const p = s.prev[i] as number;
    if (p < 0) this.freeHead[l] = n;
    else (this.sections[p >>> this.sectionShift] as MemSection).next[p & this.sectionMask] = n;
    if (n < 0) this.freeTail[l] = p;
    else (this.sections[n >>> this.sectionShift] as MemSection).prev[n & this.sectionMask] = p;
    s.next[i] = -1;
    s.prev[i] = -1;
  }

  /**
   * Remove a free block from its list and clear its buddy mark (no accounting).
   * @kernel __del_page_from_free_list (mm/page_alloc.c)
   */
  __delPageFromFreeList(pfn: number, zone: number, order: number, mt: number): void {
    this.unlink(pfn, (zone * this.nrOrders + order) * MIGRATE_TYPES + mt);
    const s = this.sections[pfn >>> this.sectionShift] as MemSection;
    const i = pfn & this.sectionMask;
    s.pageType[i] = 0;
    s.private[i] = 0;
    this.nrFree[zone * this.nrOrders + order] = (this.nrFree[zone * this.nrOrders + order] as number) - 1;
  }

  /**
   * Remove a free block and account it as no longer free.
   * @kernel del_page_from_free_list (mm/page_alloc.c)
   */
  delPageFromFreeList(pfn: number, zone: number, order: number, mt: number): void {
    this.__delPageFromFreeList(pfn, zone, order, mt);
    this.accountFreepages(zone, -(1 << order), mt);
  }

  /**
   * Move a free block to the tail of another migratetype's list.
   * @kernel move_to_free_list (mm/page_alloc.c)
   */
  moveToFreeList(pfn: number, zone: number, order: number, oldMt: number, newMt: number): void {
    this.unlink(pfn, this.listId(zone, order, oldMt));
    const l = this.listId(zone, order, newMt);
    const s = this.sec(pfn);
    const i = pfn & this.sectionMask;
    const t = this.freeTail[l] as number;
    s.prev[i] = t;
    s.next[i] = -1;
    if (t < 0) this.freeHead[l] = pfn;
    else this.sec(t).next[t & this.sectionMask] = pfn;
    this.freeTail[l] = pfn;
    this.accountFreepages(zone, -(1 << order), oldMt);
    this.accountFreepages(zone, 1 << order, newMt);
  }

  /**
   * Account `nr` pages entering (+) or leaving (-) the free lists.
   * @kernel account_freepages (mm/page_alloc.c)
   */
  accountFreepages(zone: number, nr: number, mt: number): void {
    this.vmstat.modZonePageState(this.machine.currentCpu, zone, NR_FREE_PAGES, nr);
    if (mt === MIGRATE_HIGHATOMIC)
      this.zones.nrFreeHighatomic[zone] = (this.zones.nrFreeHighatomic[zone] as number) + nr;
  }

  /** Mark a free block head (`set_buddy_order`). */
  private setBuddyOrder(pfn: number, order: number): void {
    const s = this.sections[pfn >>> this.sectionShift] as MemSection;
    const i = pfn & this.sectionMask;
    s.pageType[i] = PGTY_buddy;
    s.private[i] = order;
  }

  /**
   * Whether `buddy` is a free block of `order` that `pfn` can merge with.
   * @kernel page_is_buddy (mm/page_alloc.c)
   */
  pageIsBuddy(buddy: number, order: number): boolean {
    // The buddy lies in the same max-order block, hence the same section and zone.
    const s = this.sections[buddy >>> this.sectionShift] as MemSection;
    const i = buddy & this.sectionMask;
    return s.pageType[i] === PGTY_buddy && s.private[i] === order;
  }

  // ---------------------------------------------------------------- split

  /**
   * Split a block of order `high` down to `low`, putting the upper halves on
   * the free lists; returns the pages put back.
   * @kernel expand (mm/page_alloc.c)
   */
  expand(zone: number, pfn: number, low: number, high: number, mt: number): number {
    let size = 1 << high;
    let added = 0;
    let h = high;
    while (h > low) {
      h--;
      size >>>= 1;
      const p = pfn + size;
      this.__addToFreeList(p, zone, h, mt, false);
      this.setBuddyOrder(p, h);
      added += size;
    }
    return added;
  }

  /** @kernel page_del_and_expand (mm/page_alloc.c) */
  private pageDelAndExpand(zone: number, pfn: number, low: number, high: number, mt: number): void {
    let nr = 1 << high;
    this.__delPageFromFreeList(pfn, zone, high, mt);
    nr -= this.expand(zone, pfn, low, high, mt);
    this.accountFreepages(zone, -nr, mt);
  }

  /**
   * Take the smallest free block of `mt` of at least `order` and split it.
   * @returns the PFN or -1.
   * @kernel __rmqueue_smallest (mm/page_alloc.c)
   */
  __rmqueueSmallest(zone: number, order: number, mt: number): number {
    for (let co = order; co < this.nrOrders; co++) {
      const pfn = this.getPageFromFreeArea(zone, co, mt);
      if (pfn < 0) continue;
      this.pageDelAndExpand(zone, pfn, order, co, mt);
      return pfn;
    }
    return -1;
  }

  // ---------------------------------------------------------------- pageblocks

  /**
   * Check that the pageblock of `pfn` lies in `zone`; count its free and
   * movable pages into scratch fields when `count` is set.
   * @returns the pageblock's first PFN, or -1.
   * @kernel prep_move_freepages_block (mm/page_alloc.c)
   */
  prepMoveFreepagesBlock(zone: number, pfn: number, count: boolean): number {
    const start = this.pageblock.startPfn(pfn);
    const end = start + this.pageblockNrPages;
    if (!this.zones.spansPfn(zone, start) || !this.zones.spansPfn(zone, end - 1)) return -1;
    if (count) {
      let nrFree = 0;
      let nrMovable = 0;
      for (let p = start; p < end; ) {
        const s = this.sec(p);
        const i = p & this.sectionMask;
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
      this.scratchFree = nrFree;
      this.scratchMovable = nrMovable;
    }
    return start;
  }

  /**
   * Move every free block of a pageblock from `oldMt` to `newMt` lists.
   * @returns pages moved.
   * @kernel __move_freepages_block (mm/page_alloc.c)
   */
  __moveFreepagesBlock(zone: number, startPfn: number, oldMt: number, newMt: number): number {
    const end = startPfn + this.pageblockNrPages;
    let moved = 0;
    for (let p = startPfn; p < end; ) {
      const s = this.sec(p);
      const i = p & this.sectionMask;
      if (s.pageType[i] !== PGTY_buddy) {
        p++;
        continue;
      }
      const order = s.private[i] as number;
      this.moveToFreeList(p, zone, order, oldMt, newMt);
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
  moveFreepagesBlock(zone: number, pfn: number, oldMt: number, newMt: number): number {
    const start = this.prepMoveFreepagesBlock(zone, pfn, false);
    if (start < 0) return -1;
    const res = this.__moveFreepagesBlock(zone, start, oldMt, newMt);
    this.pageblock.set(start, newMt);
    return res;
  }

  /**
   * Set the migratetype of every pageblock in a block of `order` >= pageblock_order.
   * @kernel change_pageblock_range (mm/page_alloc.c)
   */
  changePageblockRange(pfn: number, order: number, mt: number): void {
    let n = 1 << (order - this.pageblockOrder);
    let p = pfn;
    while (n-- > 0) {
      this.pageblock.set(p, mt);
      p += this.pageblockNrPages;
    }
  }

  // ---------------------------------------------------------------- fallback

  /**
   * Whether a fallback at `order` should claim the whole pageblock.
   * @kernel should_try_claim_block (mm/page_alloc.c), can_claim_block in later kernels
   */
  canClaimBlock(order: number, startMt: number): boolean {
    if (order >= this.pageblockOrder) return true;
    if (order >= this.pageblockOrder >>> 1) return true;
    return startMt === MIGRATE_RECLAIMABLE || startMt === MIGRATE_UNMOVABLE;
  }

  /**
   * First fallback migratetype with a free block of `order`, or -1.
   * @kernel find_fallback_migratetype (mm/page_alloc.c)
   */
  findFallbackMigratetype(zone: number, order: number, mt: number): number {
    if ((this.nrFree[zone * this.nrOrders + order] as number) === 0) return -1;
    for (let i = 0; i < MIGRATE_PCPTYPES - 1; i++) {
      const fmt = FALLBACKS[mt * 2 + i] as number;
      if (!this.freeAreaEmpty(zone, order, fmt)) return fmt;
    }
    return -1;
  }

  /**
   * Take a foreign block; convert the whole pageblock to `startType` when the
   * block is that large or at least half the pageblock is free or alike.
   * @returns the allocated PFN or -1 (block not claimed).
   * @kernel try_to_claim_block (mm/page_alloc.c)
   */
  tryToClaimBlock(
    zone: number,
    pfn: number,
    currentOrder: number,
    order: number,
    startType: number,
    blockType: number,
    allocFlags: number,
  ): number {
    if (currentOrder >= this.pageblockOrder) {
      this.delPageFromFreeList(pfn, zone, currentOrder, blockType);
      this.changePageblockRange(pfn, currentOrder, startType);
      const added = this.expand(zone, pfn, order, currentOrder, startType);
      this.accountFreepages(zone, added, startType);
      return pfn;
    }
    if (boostWatermark(this, zone) && allocFlags & ALLOC_KSWAPD)
      this.zones.flags[zone] = (this.zones.flags[zone] as number) | ZONE_BOOSTED_WATERMARK;
    const start = this.prepMoveFreepagesBlock(zone, pfn, true);
    if (start < 0) return -1;
    const freePages = this.scratchFree;
    const movablePages = this.scratchMovable;
    let alike: number;
    if (startType === MIGRATE_MOVABLE) alike = movablePages;
    else if (blockType === MIGRATE_MOVABLE) alike = this.pageblockNrPages - (freePages + movablePages);
    else alike = 0;
    if (freePages + alike >= 1 << (this.pageblockOrder - 1)) {
      this.__moveFreepagesBlock(zone, start, blockType, startType);
      this.pageblock.set(start, startType);
      return this.__rmqueueSmallest(zone, order, startType);
    }
    return -1;
  }

  /**
   * Fallback that claims whole foreign pageblocks, largest blocks first.
   * @kernel __rmqueue_claim (mm/page_alloc.c)
   */
  __rmqueueClaim(zone: number, order: number, startMt: number, allocFlags: number): number {
    let minOrder = order;
    if (order < this.pageblockOrder && allocFlags & ALLOC_NOFRAGMENT) minOrder = this.pageblockOrder;
    for (let co = this.maxOrder; co >= minOrder; co--) {
      if (!this.canClaimBlock(co, startMt)) break;
      const fmt = this.findFallbackMigratetype(zone, co, startMt);
      if (fmt < 0) continue;
      const pfn = this.getPageFromFreeArea(zone, co, fmt);
      const page = this.tryToClaimBlock(zone, pfn, co, order, startMt, fmt, allocFlags);
      if (page >= 0) {
        this.nrExtfrag++;
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
  __rmqueueSteal(zone: number, order: number, startMt: number): number {
    for (let co = order; co < this.nrOrders; co++) {
      const fmt = this.findFallbackMigratetype(zone, co, startMt);
      if (fmt < 0) continue;
      const pfn = this.getPageFromFreeArea(zone, co, fmt);
      this.pageDelAndExpand(zone, pfn, order, co, fmt);
      this.nrExtfrag++;
      return pfn;
    }
    return -1;
  }

  /**
   * Remove a block of `order` for `mt`: native lists, then claim, then steal,
   * starting from the mode remembered in `rmqm`.
   * @kernel __rmqueue (mm/page_alloc.c)
   */
  __rmqueue(zone: number, order: number, mt: number, allocFlags: number): number {
    let mode = this.rmqm;
    let pfn: number;
    if (mode === RMQUEUE_NORMAL) {
      pfn = this.__rmqueueSmallest(zone, order, mt);
      if (pfn >= 0) return pfn;
      mode = RMQUEUE_CLAIM;
    }
    if (mode === RMQUEUE_CLAIM) {
      pfn = this.__rmqueueClaim(zone, order, mt, allocFlags);
      if (pfn >= 0) {
        this.rmqm = RMQUEUE_NORMAL;
        return pfn;
      }
    }
    if (!(allocFlags & ALLOC_NOFRAGMENT)) {
      pfn = this.__rmqueueSteal(zone, order, mt);
      if (pfn >= 0) {
        this.rmqm = RMQUEUE_STEAL;
        return pfn;
      }
    }
    return -1;
  }

  // ---------------------------------------------------------------- highatomic

  /**
   * After a high-order atomic allocation, reserve its pageblock for future
   * ones (at most ~1% of the zone).
   * @kernel reserve_highatomic_pageblock (mm/page_alloc.c)
   */
  reserveHighatomicPageblock(pfn: number, order: number, zone: number): void {
    const managed = this.zones.managed[zone] as number;
    if (Math.floor(managed / 100) < this.pageblockNrPages) return;
    const maxManaged = Math.ceil(Math.floor(managed / 100) / this.pageblockNrPages) * this.pageblockNrPages;
    if ((this.zones.nrReservedHighatomic[zone] as number) >= maxManaged) return;
    const mt = this.pageblock.get(pfn);
    if (mt >= MIGRATE_PCPTYPES) return; // only mergeable types
    if (order < this.pageblockOrder) {
      if (this.moveFreepagesBlock(zone, pfn, mt, MIGRATE_HIGHATOMIC) === -1) return;
      this.zones.nrReservedHighatomic[zone] = (this.zones.nrReservedHighatomic[zone] as number) + this.pageblockNrPages;
    } else {
      this.changePageblockRange(pfn, order, MIGRATE_HIGHATOMIC);
      this.zones.nrReservedHighatomic[zone] = (this.zones.nrReservedHighatomic[zone] as number) + (1 << order);
    }
  }

  /**
   * Give highatomic reserves back (one pageblock per call) to the running
   * (or last) allocation's migratetype, over its zonelist; `force` also
   * releases a zone's last block.
   * Warns when `nr_reserved_highatomic` would underflow.
   * @kernel unreserve_highatomic_pageblock (mm/page_alloc.c)
   */
  unreserveHighatomicPageblock(force: boolean): boolean {
    const zl = this.acZonelist;
    for (let zi = 0; zi < zl.length; zi++) {
      const zone = zl[zi] as number;
      if (zone % MAX_NR_ZONES > this.acHighestZoneidx) continue;
      const reserved = this.zones.nrReservedHighatomic[zone] as number;
      if (!force && reserved <= this.pageblockNrPages) continue;
      for (let order = 0; order < this.nrOrders; order++) {
        const pfn = this.getPageFromFreeArea(zone, order, MIGRATE_HIGHATOMIC);
        if (pfn < 0) continue;
        let size = Math.max(this.pageblockNrPages, 1 << order);
        const cur = this.zones.nrReservedHighatomic[zone] as number;
        if (
          this.machine.warnOn(
            size > cur,
            `page_alloc: nr_reserved_highatomic underflow in zone ${zone} (${cur} < ${size})`,
          )
        ) {
          size = cur;
        }
        this.zones.nrReservedHighatomic[zone] = cur - size;
        let ret: number;
        if (order < this.pageblockOrder) {
          ret = this.moveFreepagesBlock(zone, pfn, MIGRATE_HIGHATOMIC, this.acMigratetype);
        } else {
          this.moveToFreeList(pfn, zone, order, MIGRATE_HIGHATOMIC, this.acMigratetype);
          this.changePageblockRange(pfn, order, this.acMigratetype);
          ret = 1;
        }
        this.machine.warnOn(ret === -1, `page_alloc: highatomic block at pfn ${pfn} straddles its zone`);
        if (ret > 0) return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- rmqueue

  /**
   * Take a block straight from the buddy lists (highatomic first for
   * ALLOC_HIGHATOMIC; highatomic as a last resort for non-blocking callers).
   * @kernel rmqueue_buddy (mm/page_alloc.c)
   */
  rmqueueBuddy(preferredZone: number, zone: number, order: number, allocFlags: number, mt: number): number {
    let pfn = -1;
    if (allocFlags & ALLOC_HIGHATOMIC) pfn = this.__rmqueueSmallest(zone, order, MIGRATE_HIGHATOMIC);
    if (pfn < 0) {
      this.rmqm = RMQUEUE_NORMAL;
      pfn = this.__rmqueue(zone, order, mt, allocFlags);
      if (pfn < 0 && allocFlags & (ALLOC_OOM | ALLOC_NON_BLOCK))
        pfn = this.__rmqueueSmallest(zone, order, MIGRATE_HIGHATOMIC);
      if (pfn < 0) return -1;
    }
    this.countPgalloc(zone, 1 << order);
    this.zoneStatistics(preferredZone, zone);
    return pfn;
  }

  /** `__count_zid_vm_events(PGALLOC, ...)`. */
  countPgalloc(zone: number, nr: number): void {
    this.vmstat.countVmEvents(this.machine.currentCpu, VM_EVENT.PGALLOC_DMA32 + (zone % MAX_NR_ZONES), nr);
  }

  /**
   * NUMA hit/miss/foreign/local/other accounting of one allocation.
   * @kernel zone_statistics (mm/page_alloc.c)
   */
  zoneStatistics(preferredZone: number, zone: number): void {
    const cpu = this.machine.currentCpu;
    const nid = this.zones.nid[zone] as number;
    const ev = this.vmstat.numaEvents;
    const base = cpu * this.zones.nrZones * NR_VM_NUMA_EVENT_ITEMS;
    const zb = base + zone * NR_VM_NUMA_EVENT_ITEMS;
    if (nid === this.zones.nid[preferredZone]) {
      ev[zb + NUMA_HIT] = (ev[zb + NUMA_HIT] as number) + 1;
    } else {
      ev[zb + NUMA_MISS] = (ev[zb + NUMA_MISS] as number) + 1;
      const pb = base + preferredZone * NR_VM_NUMA_EVENT_ITEMS + NUMA_FOREIGN;
      ev[pb] = (ev[pb] as number) + 1;
    }
    const local = zb + (nid === this.cpuToNode[cpu] ? NUMA_LOCAL : NUMA_OTHER);
    ev[local] = (ev[local] as number) + 1;
  }

  /**
   * Allocate from one zone: per-CPU list for small orders, else buddy.
   * @kernel rmqueue (mm/page_alloc.c)
   */
  rmqueue(preferredZone: number, zone: number, order: number, allocFlags: number, mt: number): number {
    let pfn = -1;
    if (pcpAllowedOrder(this, order)) pfn = rmqueuePcplist(this, preferredZone, zone, order, mt, allocFlags);
    if (pfn < 0) pfn = this.rmqueueBuddy(preferredZone, zone, order, allocFlags, mt);
    if (allocFlags & ALLOC_KSWAPD && (this.zones.flags[zone] as number) & ZONE_BOOSTED_WATERMARK) {
      this.zones.flags[zone] = (this.zones.flags[zone] as number) & ~ZONE_BOOSTED_WATERMARK;
      this.wakeupKswapd(zone, 0, zone % MAX_NR_ZONES);
    }
    return pfn;
  }

  /**
   * Walk the zonelist from the preferred zone and allocate from the first
   * zone that passes its watermark.
   * @kernel get_page_from_freelist (mm/page_alloc.c)
   */
  getPageFromFreelist(gfp: number, order: number, allocFlags: number): number {
    const zl = this.acZonelist;
    const hz = this.acHighestZoneidx;
    const zflags = this.zones.flags;
    let flags = allocFlags;
    for (;;) {
      const noFallback = flags & ALLOC_NOFRAGMENT;
      const pref = this.acPreferredIdx;
      if (pref < 0) return -1;
      const preferredZone = zl[pref] as number;
      let restart = false;
      for (let zi = pref; zi < zl.length; zi++) {
        const zone = zl[zi] as number;
        if (zone % MAX_NR_ZONES > hz) continue;
        if (noFallback && this.nrNodes > 1 && zone !== preferredZone) {
          // Moving to a remote node: locality beats fragmentation avoidance.
          if (this.zones.nid[zone] !== this.zones.nid[preferredZone]) {
            flags &= ~ALLOC_NOFRAGMENT;
            restart = true;
            break;
          }
        }
        let ok = false;
        if (!((zflags[zone] as number) & ZONE_BELOW_HIGH)) {
          if (zoneWatermarkFast(this, zone, order, this.zones.wmarkPages(zone, WMARK_HIGH), hz, flags)) ok = true;
          else zflags[zone] = (zflags[zone] as number) | ZONE_BELOW_HIGH;
        }
        if (!ok) {
          const mark = this.zones.wmarkPages(zone, flags & ALLOC_WMARK_MASK);
          if (!zoneWatermarkFast(this, zone, order, mark, hz, flags) && !(flags & ALLOC_NO_WATERMARKS)) continue;
        }
        const pfn = this.rmqueue(preferredZone, zone, order, flags, this.acMigratetype);
        if (pfn >= 0) {
          this.prepNewPage(pfn, order, gfp);
          if (flags & ALLOC_HIGHATOMIC) this.reserveHighatomicPageblock(pfn, order, zone);
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
  prepNewPage(pfn: number, order: number, gfp: number): void {
    const s = this.sections[pfn >>> this.sectionShift] as MemSection;
    const i = pfn & this.sectionMask;
    s.private[i] = 0;
    s.refcount[i] = 1;
    s.order[i] = order;
    if (gfp & __GFP_ZERO) s.content.fill(0, i, i + (1 << order));
    if (order > 0 && gfp & __GFP_COMP) this.prepCompoundPage(pfn, order);
  }

  /**
   * Make a compound page: PG_head and the order on the head, every tail
   * pointing at the head.
   * @kernel prep_compound_page (mm/page_alloc.c)
   */
  prepCompoundPage(pfn: number, order: number): void {
    const s = this.sec(pfn);
    const i = pfn & this.sectionMask;
    s.flags[i] = (s.flags[i] as number) | (1 << PG_head);
    s.order[i] = order;
    const n = 1 << order;
    s.compoundHead.fill(pfn, i + 1, i + n);
    s.refcount.fill(0, i + 1, i + n);
  }

  /**
   * Folio/compound order of `pfn`'s head (0 for a non-compound page).
   * @kernel compound_order (include/linux/mm.h)
   */
  compoundOrder(pfn: number): number {
    const s = this.memmap.sectionOf(pfn);
    if (s === undefined) return 0;
    const i = pfn & this.sectionMask;
    return (s.flags[i] as number) & (1 << PG_head) ? (s.order[i] as number) : 0;
  }

  // ---------------------------------------------------------------- entry points

  /**
   * Node of this CPU.
   * @kernel numa_node_id (include/linux/topology.h)
   */
  numaNodeId(): number {
    return this.cpuToNode[this.machine.currentCpu] as number;
  }

  /**
   * Allocate 2^order pages. `nid` chooses the preferred node (as
   * `alloc_pages_node`); without it the node-preference hook (mempolicy)
   * decides, else this CPU's node.
   * @returns the first PFN, or -ENOMEM (also for injected failures).
   * @remarks Context: any; may call the reclaim hook when __GFP_DIRECT_RECLAIM is set.
   * @kernel alloc_pages / alloc_pages_node (include/linux/gfp.h)
   */
  allocPages(gfp: number, order: number, nid: number = NUMA_NO_NODE): number {
    let node = nid;
    if (node === NUMA_NO_NODE) {
      const hook = this.nodePreferenceHook;
      node = hook !== null ? hook(gfp, order) : NUMA_NO_NODE;
      if (node === NUMA_NO_NODE) node = this.cpuToNode[this.machine.currentCpu] as number;
    }
    return this.__allocPages(gfp, order, node);
  }

  /**
   * The allocator's entry: checks, fault injection, fast path, slow path.
   * @kernel __alloc_pages (mm/page_alloc.c)
   */
  __allocPages(gfp: number, order: number, preferredNid: number): number {
    // `x >>> 0 !== x` rejects negatives, fractions and NaN in one test.
    if (order >>> 0 !== order) throw new MmError('EINVAL', `page_alloc: invalid order ${order}`);
    if (preferredNid >>> 0 !== preferredNid || preferredNid >= this.nrNodes) {
      throw new MmError('EINVAL', `page_alloc: invalid node ${preferredNid}`);
    }
    if (order > this.maxOrder) {
      this.machine.warnOn(!(gfp & __GFP_NOWARN), `page_alloc: order ${order} > MAX_PAGE_ORDER ${this.maxOrder}`);
      return -EINVAL;
    }
    // prepare_alloc_pages: might_alloc() — a blocking request must come from a context that may sleep.
    // Literals: see FAST_PATH_LITERALS.
    if (gfp & 0x400 /* __GFP_DIRECT_RECLAIM */) mightSleep(this.machine, 'alloc_pages');
    const zm = (gfp & 0x1f) /* GFP_ZONEMASK | GFP_MOVABLE_MASK */ << 1;
    const hz = this.gfpZoneMt[zm] as number;
    const mt = this.gfpZoneMt[zm + 1] as number;
    const thisnode = (gfp & 0x200000) /* __GFP_THISNODE */ !== 0;
    const zl = (
      thisnode ? this.zones.zonelistNofallback[preferredNid] : this.zones.zonelistFallback[preferredNid]
    ) as Int32Array;
    this.acNid = preferredNid;
    this.acHighestZoneidx = hz;
    this.acZonelist = zl;
    this.acMigratetype = mt;
    const fail = this.failPageAlloc;
    if (fail.probability !== 0 && fail.shouldFailAllocPage(gfp, order)) return -ENOMEM;
    const prefIdx = this.preferredIdx[((thisnode ? this.nrNodes : 0) + preferredNid) * 3 + hz] as number;
    this.acPreferredIdx = prefIdx;
    let pfn = -1;
    if (prefIdx >= 0) {
      const preferredZone = zl[prefIdx] as number;
      if (order === 0) pfn = this.rmqueuePcplistFast(preferredZone, hz, mt, gfp);
      if (pfn < 0) {
        const allocFlags =
          1 /* ALLOC_WMARK_LOW */ |
          (gfp & 0x800) /* __GFP_KSWAPD_RECLAIM */ |
          (this.nofragment[preferredZone] as number);
        pfn = this.getPageFromFreelist(gfp, order, allocFlags);
      }
    }
    if (pfn < 0) pfn = this.__allocPagesSlowpath(gfp, order);
    if (pfn >= 0 && gfp & 0x400000 /* __GFP_ACCOUNT */ && this.memcgChargeHook !== null) {
      const memcg = this.memcgChargeHook(pfn, order, gfp);
      if (memcg < 0) {
        this.__freePages(pfn, order);
        return -ENOMEM;
      }
      this.sec(pfn).memcgData[pfn & this.sectionMask] = memcg * 4 + MEMCG_DATA_KMEM;
    }
    return pfn;
  }

  /** Index in the zonelist of the first zone the request may use, or -1. */
  private firstZoneIdx(): number {
    const zl = this.acZonelist;
    for (let i = 0; i < zl.length; i++) if ((zl[i] as number) % MAX_NR_ZONES <= this.acHighestZoneidx) return i;
    return -1;
  }

  /**
   * The order-0 pcp hit, the common case of `get_page_from_freelist()`
   * specialised: the preferred zone passes its high watermark with the
   * order-0 shortcut of `zone_watermark_fast()` (so ZONE_BELOW_HIGH stays
   * clear), its watermark is not boosted, and this CPU's pcp list for the
   * migratetype has a page. Then the outcome is exactly that of the general
   * walk: pop the list head, count PGALLOC and a local NUMA hit, prepare the
   * page. Anything else returns -1 having changed nothing, and the general
   * path runs.
   * @returns the PFN or -1.
   * @kernel get_page_from_freelist / rmqueue_pcplist / prep_new_page (mm/page_alloc.c)
   */
  private rmqueuePcplistFast(zone: number, hz: number, mt: number, gfp: number): number {
    // Literals: see FAST_PATH_LITERALS.
    if ((this.zoneFlags[zone] as number) & 5 /* ZONE_BELOW_HIGH | ZONE_BOOSTED_WATERMARK */) return -1;
    // zone_page_state() clamps at 0; free highatomic pages are not usable.
    const free = Math.max(this.zoneStat[zone * 10 /* NR_VM_ZONE_STAT_ITEMS */ /* + NR_FREE_PAGES */] as number, 0);
    const usable = free - Math.min(free, this.nrFreeHighatomic[zone] as number);
    const mark =
      (this.wmark[zone * 4 /* NR_WMARK */ + 2 /* WMARK_HIGH */] as number) +
      (this.watermarkBoost[zone] as number) +
      (this.lowmemReserve[zone * 3 /* MAX_NR_ZONES */ + hz] as number);
    if (!(usable > mark)) return -1;
    const cpu = this.machine.currentCpu;
    const nrZones = this.nrZones;
    const p = cpu * nrZones + zone;
    const l = p * 14 /* NR_PCP_LISTS */ + mt;
    const pfn = this.pcpHead[l] as number;
    if (pfn < 0) return -1;
    this.pcpFreeCount[p] = (this.pcpFreeCount[p] as number) >> 1;
    // Unlink the head (pcpListPopHead).
    const sections = this.sections;
    const shift = this.sectionShift;
    const mask = this.sectionMask;
    const s = sections[pfn >>> shift] as MemSection;
    const i = pfn & mask;
    const n = s.next[i] as number;
    this.pcpHead[l] = n;
    if (n < 0) this.pcpTail[l] = -1;
    else (sections[n >>> shift] as MemSection).prev[n & mask] = -1;
    s.next[i] = -1;
    this.pcpCount[p] = (this.pcpCount[p] as number) - 1;
    // countPgalloc + zoneStatistics for preferred zone == zone (a NUMA hit).
    const ev = this.vmEvents;
    const e = cpu * 41 /* NR_VM_EVENT_ITEMS */ + 4 /* VM_EVENT.PGALLOC_DMA32 */ + (zone % 3); /* MAX_NR_ZONES */
    ev[e] = (ev[e] as number) + 1;
    const numa = this.numaEvents;
    const zb = p * 6; /* NR_VM_NUMA_EVENT_ITEMS; NUMA_HIT = 0 */
    numa[zb] = (numa[zb] as number) + 1;
    const local = zb + (this.zoneNid[zone] === this.cpuToNode[cpu] ? 4 /* NUMA_LOCAL */ : 5); /* NUMA_OTHER */
    numa[local] = (numa[local] as number) + 1;
    // prepNewPage, order 0.
    s.private[i] = 0;
    s.refcount[i] = 1;
    s.order[i] = 0;
    if (gfp & 0x100 /* __GFP_ZERO */) s.content[i] = 0;
    return pfn;
  }

  /**
   * ALLOC_NOFRAGMENT for Normal-zone allocations on a node with DMA32, and
   * ALLOC_KSWAPD from __GFP_KSWAPD_RECLAIM.
   * @kernel alloc_flags_nofragment (mm/page_alloc.c)
   */
  private allocFlagsNofragment(zone: number, gfp: number): number {
    const flags = gfp & __GFP_KSWAPD_RECLAIM;
    if (zone % MAX_NR_ZONES !== ZONE_NORMAL) return flags;
    const dma32 = zone - ZONE_NORMAL + ZONE_DMA32;
    if (this.nrNodes > 1 && !this.zones.populated(dma32)) return flags;
    return flags | ALLOC_NOFRAGMENT;
  }

  /**
   * Wake kswapd of every node in the zonelist (through the hook).
   * @kernel wake_all_kswapds (mm/page_alloc.c)
   */
  private wakeAllKswapds(order: number): void {
    const zl = this.acZonelist;
    let last = -1;
    for (let i = 0; i < zl.length; i++) {
      const zone = zl[i] as number;
      if (zone % MAX_NR_ZONES > this.acHighestZoneidx) continue;
      const nid = this.zones.nid[zone] as number;
      if (nid === last) continue;
      last = nid;
      this.wakeupKswapd(zone, order, this.acHighestZoneidx);
    }
  }

  /** @kernel wakeup_kswapd (mm/vmscan.c) */
  private wakeupKswapd(zone: number, order: number, highestZoneidx: number): void {
    this.nrKswapdWakeups++;
    const hook = this.kswapdHook;
    if (hook !== null) hook(this.zones.nid[zone] as number, order, highestZoneidx);
  }

  /**
   * Call the reclaim hook for this request.
   * @returns pages reclaimed.
   * @kernel __perform_reclaim / try_to_free_pages (mm/page_alloc.c, mm/vmscan.c)
   */
  private performReclaim(gfp: number, order: number): number {
    this.vmstat.countVmEvents(this.machine.currentCpu, VM_EVENT.ALLOCSTALL_DMA32 + this.acHighestZoneidx, 1);
    const hook = this.reclaimHook;
    if (hook === null) return 0;
    const n = hook(this.acNid, order, gfp, this.acHighestZoneidx);
    return Math.max(n, 0);
  }

  /** @kernel __alloc_pages_direct_reclaim (mm/page_alloc.c) */
  private allocPagesDirectReclaim(gfp: number, order: number, allocFlags: number): number {
    const progress = this.performReclaim(gfp, order);
    this.lastReclaimProgress = progress;
    if (progress === 0) return -1;
    let pfn = this.getPageFromFreelist(gfp, order, allocFlags);
    if (pfn < 0) {
      // Pages may sit on pcp lists or in highatomic reserves: release and retry once.
      this.unreserveHighatomicPageblock(false);
      this.drainAllPages();
      pfn = this.getPageFromFreelist(gfp, order, allocFlags);
    }
    return pfn;
  }

  /**
   * Whether another reclaim round could make the allocation succeed.
   * @kernel should_reclaim_retry (mm/page_alloc.c)
   */
  private shouldReclaimRetry(order: number, allocFlags: number, didProgress: boolean): boolean {
    if (didProgress && order <= PAGE_ALLOC_COSTLY_ORDER) this.noProgressLoops = 0;
    else this.noProgressLoops++;
    if (this.noProgressLoops > MAX_RECLAIM_RETRIES) return this.unreserveHighatomicPageblock(true);
    const zl = this.acZonelist;
    for (let i = 0; i < zl.length; i++) {
      const zone = zl[i] as number;
      if (zone % MAX_NR_ZONES > this.acHighestZoneidx) continue;
      const vs = this.vmstat;
      const reclaimable =
        vs.zonePageStateSnapshot(zone, NR_ZONE_INACTIVE_FILE) +
        vs.zonePageStateSnapshot(zone, NR_ZONE_ACTIVE_FILE) +
        vs.zonePageStateSnapshot(zone, NR_ZONE_INACTIVE_ANON) +
        vs.zonePageStateSnapshot(zone, NR_ZONE_ACTIVE_ANON);
      const available = reclaimable + vs.zonePageStateSnapshot(zone, NR_FREE_PAGES);
      if (
        zoneWatermarkOkRaw(
          this,
          zone,
          order,
          this.zones.wmarkPages(zone, WMARK_MIN),
          this.acHighestZoneidx,
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
  private __allocPagesSlowpath(gfp: number, order: number): number {
    const canDirectReclaim = (gfp & __GFP_DIRECT_RECLAIM) !== 0;
    const costly = order > PAGE_ALLOC_COSTLY_ORDER;
    this.noProgressLoops = 0;
    let allocFlags = gfpToAllocFlags(gfp, order);
    this.acPreferredIdx = this.firstZoneIdx();
    if (this.acPreferredIdx < 0) return this.allocFailed(gfp);
    if (allocFlags & ALLOC_KSWAPD) this.wakeAllKswapds(order);
    let pfn = this.getPageFromFreelist(gfp, order, allocFlags);
    if (pfn >= 0) return pfn;
    for (let round = 0; round < SLOWPATH_MAX_ROUNDS; round++) {
      if (allocFlags & ALLOC_KSWAPD) this.wakeAllKswapds(order);
      if (gfp & __GFP_MEMALLOC && !(gfp & __GFP_NOMEMALLOC))
        allocFlags = ALLOC_NO_WATERMARKS | (allocFlags & ALLOC_KSWAPD);
      pfn = this.getPageFromFreelist(gfp, order, allocFlags);
      if (pfn >= 0) return pfn;
      if (!canDirectReclaim) break;
      pfn = this.allocPagesDirectReclaim(gfp, order, allocFlags);
      if (pfn >= 0) return pfn;
      if (gfp & __GFP_NORETRY && !(gfp & __GFP_NOFAIL)) break;
      if (costly && !(gfp & (__GFP_RETRY_MAYFAIL | __GFP_NOFAIL))) break;
      if (this.shouldReclaimRetry(order, allocFlags, this.lastReclaimProgress > 0)) continue;
      break;
    }
    if (gfp & __GFP_NOFAIL) {
      // Some access to the reserves, never ALLOC_NO_WATERMARKS.
      for (let round = 0; round < SLOWPATH_MAX_ROUNDS; round++) {
        pfn = this.getPageFromFreelist(gfp, order, ALLOC_MIN_RESERVE);
        if (pfn >= 0) return pfn;
        if (!canDirectReclaim || this.performReclaim(gfp, order) === 0) break;
      }
      this.machine.warnOn(
        true,
        `page_alloc: __GFP_NOFAIL order-${order} allocation failed: no memory and no reclaim progress`,
      );
    }
    return this.allocFailed(gfp);
  }

  private allocFailed(_gfp: number): number {
    this.nrAllocFailed++;
    return -ENOMEM;
  }

  // ---------------------------------------------------------------- free

  /**
   * Check that freeing `pfn` at `order` is legal, without changing anything.
   * @throws BadPageError naming the PFN.
   * @kernel free_page_is_bad / free_tail_page_prepare (mm/page_alloc.c)
   */
  checkFreePages(pfn: number, order: number): void {
    if (!this.memmap.pfnValid(pfn)) throw new BadPageError(Number.isInteger(pfn) ? pfn : -1, 'pfn outside memory');
    if (!Number.isInteger(order) || order < 0 || order > this.maxOrder)
      throw new BadPageError(pfn, `wrong order ${order}`);
    const s = this.memmap.sectionOf(pfn);
    if (s === undefined) throw new BadPageError(pfn, 'page already free (never allocated)');
    const i = pfn & this.sectionMask;
    if (s.pageType[i] === PGTY_buddy) throw new BadPageError(pfn, 'page already free (in buddy)');
    if ((s.compoundHead[i] as number) >= 0)
      throw new BadPageError(pfn, `tail page of compound page ${s.compoundHead[i]}`);
    const ref = s.refcount[i] as number;
    if (ref <= 0)
      throw new BadPageError(
        pfn,
        'nonzero _refcount expected: page already free or not the first page of an allocation',
      );
    if ((s.order[i] as number) !== order)
      throw new BadPageError(pfn, `wrong order: freed as order ${order}, allocated as order ${s.order[i]}`);
    const compound = ((s.flags[i] as number) & (1 << PG_head)) !== 0;
    // Dropping a reference frees nothing, except the other pages of a
    // non-compound allocation; the last reference frees everything.
    if (ref > 1 && compound) return;
    const n = 1 << order;
    for (let k = ref > 1 ? 1 : 0; k < n; k++) {
      const j = i + k;
      const p = pfn + k;
      if (k > 0) {
        if (compound && s.compoundHead[j] !== pfn) throw new BadPageError(p, 'compound_head not consistent');
        if (!compound && (s.compoundHead[j] as number) >= 0) throw new BadPageError(p, 'unexpected tail page');
        if (s.refcount[j] !== 0) throw new BadPageError(p, 'nonzero _refcount');
      }
      if (s.mapcount[j] !== -1) throw new BadPageError(p, 'nonzero mapcount');
      if (s.pageType[j] !== 0)
        throw new BadPageError(p, `page type ${pageTypeName(s.pageType[j] as number)} still set`);
      if (s.mapping[j] !== 0) throw new BadPageError(p, 'non-NULL mapping');
      if ((s.flags[j] as number) & PAGE_FLAGS_CHECK_AT_FREE)
        throw new BadPageError(p, 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set');
      const memcg = s.memcgData[j] as number;
      if (memcg !== 0 && !(k === 0 && memcg & MEMCG_DATA_KMEM))
        throw new BadPageError(p, 'page still charged to cgroup');
    }
  }

  /**
   * Drop a reference on 2^order pages and free them when it was the last.
   * A non-compound allocation whose first page is still referenced frees its
   * other pages (the kernel's `___free_pages` rule).
   * @throws BadPageError (nothing changed) for a free page, a tail page, a wrong order or a page in a bad state.
   * @kernel __free_pages (mm/page_alloc.c)
   */
  freePages(pfn: number, order: number): void {
    // Fast acceptance test; anything suspicious goes to checkFreePages(),
    // which names the problem and throws before anything changes.
    if (
      (pfn | 0) !== pfn ||
      pfn < 0 ||
      pfn >= this.totalPages ||
      (order | 0) !== order ||
      order < 0 ||
      order > this.maxOrder
    ) {
      this.checkFreePages(pfn, order);
    }
    const s = this.sections[pfn >>> this.sectionShift];
    if (s === undefined) {
      this.checkFreePages(pfn, order);
      return;
    }
    const i = pfn & this.sectionMask;
    const ref = s.refcount[i] as number;
    const flags = s.flags[i] as number;
    if (order === 0 && ref === 1) {
      // The last reference on a single page (the common case): the same
      // checks and steps as below, without the per-page loops.
      const memcg = s.memcgData[i] as number;
      if (
        s.pageType[i] !== 0 ||
        (s.compoundHead[i] as number) >= 0 ||
        s.order[i] !== 0 ||
        s.mapcount[i] !== -1 ||
        s.mapping[i] !== 0 ||
        (flags & 0x14e123) /* PAGE_FLAGS_CHECK_AT_FREE */ !== 0 ||
        (memcg !== 0 && !(memcg & 2)) /* MEMCG_DATA_KMEM */
      ) {
        this.checkFreePages(pfn, order);
        throw new MmBugError(`page_alloc: pfn ${pfn} failed the fast free check but passed the full one`);
      }
      s.refcount[i] = 0;
      this.freeUnrefPage(s, i, pfn, memcg);
      return;
    }
    if (
      ref <= 0 ||
      s.order[i] !== order ||
      (s.compoundHead[i] as number) >= 0 ||
      s.pageType[i] !== 0 ||
      ((ref === 1 || !(flags & (1 << PG_head))) &&
        !this.pagesExpectedState(s, i, pfn, order, ref === 1 ? 0 : 1, (flags & (1 << PG_head)) !== 0))
    ) {
      this.checkFreePages(pfn, order);
      throw new MmBugError(`page_alloc: pfn ${pfn} failed the fast free check but passed the full one`);
    }
    this.__freePages(pfn, order);
  }

  /**
   * Whether pages `[from, 2^order)` of an allocation are in the state a free
   * expects (no mapcount, mapping, type, checked flags or memcg; tails
   * consistent).
   * @kernel page_expected_state (mm/page_alloc.c)
   */
  private pagesExpectedState(
    s: MemSection,
    i: number,
    pfn: number,
    order: number,
    from: number,
    compound: boolean,
  ): boolean {
    const n = 1 << order;
    for (let k = from; k < n; k++) {
      const j = i + k;
      const memcg = s.memcgData[j] as number;
      if (
        s.mapcount[j] !== -1 ||
        s.pageType[j] !== 0 ||
        s.mapping[j] !== 0 ||
        ((s.flags[j] as number) & PAGE_FLAGS_CHECK_AT_FREE) !== 0 ||
        (memcg !== 0 && !(k === 0 && memcg & MEMCG_DATA_KMEM))
      ) {
        return false;
      }
      if (k > 0 && (s.refcount[j] !== 0 || s.compoundHead[j] !== (compound ? pfn : -1))) return false;
    }
    return true;
  }

  /**
   * Free a single page whose refcount just reached zero: `free_pages_prepare`
   * and `__free_frozen_pages` for order 0, straight to this CPU's pcp list.
   * @kernel free_unref_page / free_frozen_pages (mm/page_alloc.c)
   */
  private freeUnrefPage(s: MemSection, i: number, pfn: number, memcg: number): void {
    // Literals: see FAST_PATH_LITERALS.
    if (memcg & 2 /* MEMCG_DATA_KMEM */) {
      s.memcgData[i] = 0;
      if (this.memcgUnchargeHook !== null) this.memcgUnchargeHook(pfn, 0, (memcg - MEMCG_DATA_KMEM) / 4);
    }
    const flags = s.flags[i] as number;
    s.flags[i] = flags & ~0xdfffff; /* PAGE_FLAGS_CHECK_AT_PREP */
    s.order[i] = 0;
    // A hwpoisoned page stays out of the allocator.
    if (flags & 0x200000 /* 1 << PG_hwpoison */) return;
    s.compoundHead[i] = -1;
    s.private[i] = 0;
    const zone = this.sectionZone[pfn >>> this.sectionShift] as number;
    let mt = this.pageblockMt[pfn >>> this.pageblockShift] as number;
    // Only the pcp types have lists; highatomic pages go to the movable list.
    if (mt >= 3 /* MIGRATE_PCPTYPES */) mt = 1; /* MIGRATE_MOVABLE */
    freeFrozenPageCommit(this, zone, pfn, mt, 0);
  }

  /** `__free_pages` after the checks. */
  private __freePages(pfn: number, order: number): void {
    const s = this.sec(pfn);
    const i = pfn & this.sectionMask;
    const head = ((s.flags[i] as number) & (1 << PG_head)) !== 0;
    const ref = (s.refcount[i] as number) - 1;
    s.refcount[i] = ref;
    if (ref === 0) {
      this.__freeFrozenPages(pfn, order, 0);
    } else if (!head) {
      let o = order;
      s.order[i] = 0;
      while (o-- > 0) {
        const p = pfn + (1 << o);
        this.sec(p).order[p & this.sectionMask] = o;
        this.__freeFrozenPages(p, o, 0);
      }
    }
  }

  /**
   * Take a reference on an allocated page (on its head for a compound tail).
   * @kernel get_page / folio_get (include/linux/mm.h)
   */
  getPage(pfn: number): void {
    const s = this.memmap.sectionOf(pfn);
    const i = pfn & this.sectionMask;
    const head = s === undefined ? -1 : (s.compoundHead[i] as number);
    const hp = head >= 0 ? head : pfn;
    const hs = head >= 0 ? this.sec(head) : s;
    if (hs === undefined || (hs.refcount[hp & this.sectionMask] as number) <= 0) {
      throw new BadPageError(pfn, 'get_page on a free page');
    }
    hs.refcount[hp & this.sectionMask] = (hs.refcount[hp & this.sectionMask] as number) + 1;
  }

  /**
   * Drop a reference (on the head for a compound tail); the last one frees
   * the page or the whole compound page.
   * @throws BadPageError when the page is already free (nothing changed).
   * @kernel put_page / folio_put (include/linux/mm.h)
   */
  putPage(pfn: number): void {
    const s = this.memmap.sectionOf(pfn);
    if (s === undefined) throw new BadPageError(pfn, 'put_page on a free page');
    const head = s.compoundHead[pfn & this.sectionMask] as number;
    const hp = head >= 0 ? head : pfn;
    this.freePages(hp, this.sec(hp).order[hp & this.sectionMask] as number);
  }

  /**
   * Turn a non-compound order-`order` allocation into 2^order independent
   * order-0 pages, each with its own reference.
   * @throws BadPageError for a compound, free or tail page.
   * @kernel split_page (mm/page_alloc.c)
   */
  splitPage(pfn: number, order: number): void {
    const s = this.memmap.sectionOf(pfn);
    const i = pfn & this.sectionMask;
    if (s === undefined || (s.refcount[i] as number) <= 0 || (s.compoundHead[i] as number) >= 0) {
      throw new BadPageError(pfn, 'split_page of a free or tail page');
    }
    if ((s.flags[i] as number) & (1 << PG_head)) throw new BadPageError(pfn, 'split_page of a compound page');
    if (s.order[i] !== order)
      throw new BadPageError(pfn, `split_page with wrong order ${order} (allocated as ${s.order[i]})`);
    s.order[i] = 0;
    for (let k = 1; k < 1 << order; k++) s.refcount[i + k] = 1;
  }

  /**
   * Free pages in the buddy allocator, machine-wide (folded counter).
   * @kernel nr_free_pages (include/linux/swap.h)
   */
  nrFreePages(): number {
    return this.vmstat.globalZonePageState(NR_FREE_PAGES);
  }

  /**
   * Pages managed by the buddy allocator, machine-wide.
   * @kernel totalram_pages (include/linux/mm.h)
   */
  totalramPages(): number {
    let n = 0;
    for (let z = 0; z < this.zones.nrZones; z++) n += this.zones.managed[z] as number;
    return n;
  }

  /**
   * Reset page state on its way to the free lists; false keeps a hwpoisoned
   * order-0 page out of the allocator.
   * @kernel free_pages_prepare (mm/page_alloc.c)
   */
  freePagesPrepare(pfn: number, order: number): boolean {
    const s = this.sec(pfn);
    const i = pfn & this.sectionMask;
    const memcg = s.memcgData[i] as number;
    if (memcg & MEMCG_DATA_KMEM) {
      s.memcgData[i] = 0;
      if (this.memcgUnchargeHook !== null) this.memcgUnchargeHook(pfn, order, (memcg - MEMCG_DATA_KMEM) / 4);
    }
    if ((s.flags[i] as number) & (1 << PG_hwpoison) && order === 0) {
      s.flags[i] = (s.flags[i] as number) & ~PAGE_FLAGS_CHECK_AT_PREP;
      s.order[i] = 0;
      return false;
    }
    const n = 1 << order;
    const flags = s.flags;
    for (let j = i; j < i + n; j++) flags[j] = (flags[j] as number) & ~PAGE_FLAGS_CHECK_AT_PREP;
    if (n === 1) {
      s.compoundHead[i] = -1;
      s.order[i] = 0;
      s.private[i] = 0;
    } else {
      // Native fills: a 1024-page block costs one pass per field.
      s.compoundHead.fill(-1, i, i + n);
      s.order.fill(0, i, i + n);
      s.private.fill(0, i, i + n);
    }
    return true;
  }

  /**
   * Free a page whose refcount already reached zero: pcp list for pcp
   * orders, buddy otherwise.
   * @kernel __free_frozen_pages (mm/page_alloc.c)
   */
  __freeFrozenPages(pfn: number, order: number, fpi: number): void {
    if (!pcpAllowedOrder(this, order)) {
      if (this.freePagesPrepare(pfn, order)) this.freeOnePage(this.pageZone(pfn), pfn, order, fpi);
      return;
    }
    if (!this.freePagesPrepare(pfn, order)) return;
    const zone = this.pageZone(pfn);
    let mt = this.pageblock.get(pfn);
    // Only the pcp types have lists; highatomic pages go to the movable list.
    if (mt >= MIGRATE_PCPTYPES) mt = MIGRATE_MOVABLE;
    freeFrozenPageCommit(this, zone, pfn, mt, order);
  }

  /**
   * Free a block to the buddy lists, pageblock by pageblock.
   * @kernel free_one_page / split_large_buddy (mm/page_alloc.c)
   */
  freeOnePage(zone: number, pfn: number, order: number, fpi: number): void {
    const end = pfn + (1 << order);
    const o = Math.min(order, this.pageblockOrder);
    let p = pfn;
    do {
      this.__freeOnePage(p, zone, o, this.pageblock.get(p), fpi);
      p += 1 << o;
    } while (p !== end);
    this.vmstat.countVmEvents(this.machine.currentCpu, VM_EVENT.PGFREE, 1 << order);
  }

  /**
   * Put a block on the free lists, merging with free buddies as far as
   * possible; blocks of unmergeable pageblocks (highatomic) do not merge
   * across pageblocks.
   * @kernel __free_one_page (mm/page_alloc.c)
   */
  __freeOnePage(pfn: number, zone: number, order: number, mt: number, fpi: number): void {
    this.accountFreepages(zone, 1 << order, mt);
    let p = pfn;
    let o = order;
    let buddy = 0;
    while (o < this.maxOrder) {
      let buddyMt = mt;
      buddy = p ^ (1 << o);
      if (!this.pageIsBuddy(buddy, o)) break;
      if (o >= this.pageblockOrder) {
        buddyMt = this.pageblock.get(buddy);
        if (mt !== buddyMt && (mt >= MIGRATE_PCPTYPES || buddyMt >= MIGRATE_PCPTYPES)) break;
      }
      this.__delPageFromFreeList(buddy, zone, o, buddyMt);
      if (buddyMt !== mt) this.pageblock.set(buddy, mt);
      p = p & buddy;
      o++;
    }
    this.setBuddyOrder(p, o);
    const toTail = fpi & FPI_TO_TAIL ? true : this.buddyMergeLikely(p, buddy, o);
    this.__addToFreeList(p, zone, o, mt, toTail);
  }

  /**
   * Whether the merged block's own buddy is free one order up: then put it
   * at the tail so it stays free longer and can merge.
   * @kernel buddy_merge_likely (mm/page_alloc.c)
   */
  private buddyMergeLikely(pfn: number, buddy: number, order: number): boolean {
    if (order >= this.maxOrder - 1) return false;
    const higher = buddy & pfn;
    return this.pageIsBuddy(higher ^ (1 << (order + 1)), order + 1);
  }

  /**
   * Return every CPU's pcp pages to the buddy lists.
   * @kernel drain_all_pages (mm/page_alloc.c)
   */
  drainAllPages(): void {
    const nrCpus = this.machine.topology.nrCpus;
    for (let cpu = 0; cpu < nrCpus; cpu++) this.drainPages(cpu);
  }

  /**
   * Return one CPU's pcp pages to the buddy lists.
   * @kernel drain_pages (mm/page_alloc.c)
   */
  drainPages(cpu: number): void {
    for (let z = 0; z < this.zones.nrZones; z++) if (this.zones.populated(z)) drainPagesZone(this, cpu, z);
  }

  /**
   * CPU hotplug teardown: give back the dead CPU's pcp pages, move its VM
   * events to this CPU and fold its counter differentials.
   * @kernel page_alloc_cpu_dead (mm/page_alloc.c)
   */
  pageAllocCpuDead(cpu: number): void {
    this.drainPages(cpu);
    const vs = this.vmstat;
    const here = this.machine.currentCpu;
    if (here !== cpu) {
      const n = vs.vmEvents.length / vs.nrCpus;
      for (let i = 0; i < n; i++) {
        vs.vmEvents[here * n + i] = (vs.vmEvents[here * n + i] as number) + (vs.vmEvents[cpu * n + i] as number);
        vs.vmEvents[cpu * n + i] = 0;
      }
    }
    vs.refreshCpuVmStats(cpu);
  }

  /**
   * The vmstat worker: fold every CPU's differentials and decay pcp high.
   * @kernel refresh_cpu_vm_stats / decay_pcp_high (mm/vmstat.c, mm/page_alloc.c)
   */
  refreshVmStats(): void {
    const nrCpus = this.machine.topology.nrCpus;
    for (let cpu = 0; cpu < nrCpus; cpu++) {
      for (let z = 0; z < this.zones.nrZones; z++) if (this.zones.populated(z)) decayPcpHigh(this, cpu, z);
      this.vmstat.refreshCpuVmStats(cpu);
    }
  }

  /** Free pages of a zone including untouched sections (`zone_page_state_snapshot(NR_FREE_PAGES)`). */
  zoneFreePages(zone: number): number {
    return this.vmstat.zonePageStateSnapshot(zone, NR_FREE_PAGES);
  }

  /** The physical memory state as plain JSON (`JSON.stringify(machine.mem)`). */
  toJSON(): MemState {
    return memStateJson(this);
  }

  /** `zone_watermark_ok()` for outside callers (kswapd, compaction models). */
  zoneWatermarkOk(zone: number, order: number, mark: number, highestZoneidx: number, allocFlags: number): boolean {
    return zoneWatermarkOk(this, zone, order, mark, highestZoneidx, allocFlags);
  }
}
