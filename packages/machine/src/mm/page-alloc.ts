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
 * (`__rmqueue_steal`), the terminology of the v6.15 series "mm/page_alloc: Some
 * clarifications for migratetype fallback".
 * Freeing merges a block with its free buddy (`pfn ^ (1 << order)`) as long
 * as possible (`__free_one_page`). Orders up to PAGE_ALLOC_COSTLY_ORDER and
 * the THP order go through per-CPU lists first (pcp.ts). Zones are tried in
 * zonelist order (nodes by distance) against their watermarks; the slow path
 * wakes kswapd (a hook), dips into reserves as the GFP flags allow, calls
 * the registered reclaim hook and retries.
 *
 * Context: `zone->lock` (irqsave) around free-list changes and `pcp->lock`
 * (trylock, buddy fallback) around pcp lists, through the machine's lock
 * API (page-alloc-locks.ts). "This CPU" is `machine.currentCpu`.
 */

import type { MemOptions } from '../config.js';
import { ConfigError, EINVAL, ENOMEM, InvalidArgumentError, MmBugError, MmError } from '../errors.js';
import { SpinLockArray } from '../locking/lock-array.js';
import { mightSleep } from '../locking/lockdep.js';
import type { Hotplug } from '../sched/hotplug.js';
import type { MachineCore } from '../types.js';
import { AC_FRAME } from './alloc-context.js';
import { freeOnePage } from './buddy.js';
import { FailPageAlloc } from './fail-page-alloc.js';
import { RMQUEUE_NORMAL } from './fallback.js';
import {
  type __GFP_ACCOUNT,
  type __GFP_BITS_MASK,
  type __GFP_DIRECT_RECLAIM,
  __GFP_KSWAPD_RECLAIM,
  __GFP_NOWARN,
  type __GFP_THISNODE,
  type __GFP_ZERO,
  ALLOC_NOFRAGMENT,
  type ALLOC_WMARK_LOW,
  type GFP_MOVABLE_MASK,
  type GFP_ZONEMASK,
  gfpMigratetype,
  gfpProblem,
  gfpZone,
} from './gfp.js';
import { Memmap, type MemSection } from './memmap.js';
import {
  MAX_NR_ZONES,
  MIGRATE_MOVABLE,
  MIGRATE_PCPTYPES,
  MIGRATE_UNMOVABLE,
  maxPageOrder,
  type NR_WMARK,
  type WMARK_HIGH,
  type ZONE_BELOW_HIGH,
  type ZONE_BOOSTED_WATERMARK,
  ZONE_DMA32,
  ZONE_NORMAL,
  ZoneTable,
} from './mmzone.js';
import { PCP_LOCK_NAME, pcpIsLocked, pcpSpinTrylock, pcpSpinUnlock, ZONE_LOCK_NAME } from './page-alloc-locks.js';
import {
  PAGE_FLAGS_CHECK_AT_FREE,
  PAGE_FLAGS_CHECK_AT_PREP,
  PG_head,
  PG_hwpoison,
  PGTY_buddy,
  pageTypeName,
} from './page-flags.js';
import { PageblockFlags } from './pageblock.js';
import {
  decayPcpHigh,
  drainPagesZone,
  freeFrozenPageCommit,
  type NR_PCP_LISTS,
  PerCpuPages,
  pcpAllowedOrder,
  zoneSetPagesetHighAndBatch,
} from './pcp.js';
import { type MemState, memStateJson } from './procfs.js';
import { getPageFromFreelist } from './rmqueue.js';
import { __allocPagesSlowpath } from './slowpath.js';
import {
  NR_FREE_PAGES,
  type NR_VM_EVENT_ITEMS,
  type NR_VM_NUMA_EVENT_ITEMS,
  NR_VM_ZONE_STAT_ITEMS,
  type NUMA_HIT,
  type NUMA_LOCAL,
  type NUMA_OTHER,
  type VM_EVENT,
  Vmstat,
} from './vmstat.js';
import { calculateMinFreeKbytes, setupPerZoneLowmemReserve, setupPerZoneWmarks, zoneWatermarkOk } from './watermark.js';

/** No node preference (`NUMA_NO_NODE`). */
export const NUMA_NO_NODE = -1;
/** memcg_data low bit marking a kmem (__GFP_ACCOUNT) charge. */
export const MEMCG_DATA_KMEM = 2;

// The order-0 fast paths below copy the constants they use into
// function-local `const`s typed `typeof NAME`: TypeScript rejects a copy whose
// value differs from the definition, and V8 folds a local literal into the
// arithmetic (an imported binding is a module cell it reloads, with a TDZ
// hole check, at every use).

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

/** The machine as physical memory sees it: the core and CPU hotplug (pcp pages drain at CPU death). */
export interface MemHost extends MachineCore {
  /** CPU hotplug, for draining a dead CPU's pcp lists. */
  readonly hotplug: Hotplug;
}

/**
 * The physical memory of a machine and its buddy allocator: memmap, zones,
 * pageblocks, per-CPU page lists and vmstat counters.
 */
export class PageAllocator {
  /** The machine this memory belongs to. */
  readonly machine: MemHost;
  /** Largest buddy order (`MAX_PAGE_ORDER`). */
  readonly maxOrder: number;
  /** Number of buddy orders, `maxOrder + 1`; mirrors `NR_PAGE_ORDERS`. */
  readonly nrOrders: number;
  /** Order of a pageblock, the unit migratetypes are tracked in; mirrors `pageblock_order`. */
  readonly pageblockOrder: number;
  /** Pages per pageblock, `1 << pageblockOrder`; mirrors `pageblock_nr_pages`. */
  readonly pageblockNrPages: number;
  /** `HPAGE_PMD_ORDER` (order of a PMD-mapped THP). */
  readonly hpagePmdOrder: number;
  /** The `struct page` array (sparse `mem_map`). */
  readonly memmap: Memmap;
  /** Every zone of every node (`struct zone`, `pglist_data`). */
  readonly zones: ZoneTable;
  /** Pageblock migratetype flags (`pageblock_flags`). */
  readonly pageblock: PageblockFlags;
  /** Per-CPU page lists. @kernel struct per_cpu_pages */
  readonly pcp: PerCpuPages;
  /** Zone, node, NUMA and VM event counters. */
  readonly vmstat: Vmstat;
  /** Fault injection. @kernel fail_page_alloc (mm/fail_page_alloc.c) */
  readonly failPageAlloc: FailPageAlloc;
  /** Memory kept free for emergencies (KiB), spread over the zones as their WMARK_MIN; mirrors the `vm.min_free_kbytes` sysctl. */
  minFreeKbytes: number;
  /** Gap between the min, low and high watermarks in 1/10000 of the zone's memory (1..3000); mirrors the `vm.watermark_scale_factor` sysctl. */
  watermarkScaleFactor: number;
  /** Cap on the watermark boost a fragmenting fallback adds, in 1/10000 of the high watermark (0: no boosting); mirrors the `vm.watermark_boost_factor` sysctl. */
  watermarkBoostFactor: number;
  /** Caps the per-CPU lists of a zone at 1/N of its pages together (0: the default sizing); mirrors the `vm.percpu_pagelist_high_fraction` sysctl. */
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
  /**
   * `pcp_spin_trylock()` failures: allocations and frees that went to the
   * buddy lists because this CPU's pcp lock was held.
   */
  nrPcpTrylockFailed: number;
  /** `zone->lock`, one per zone (lockdep class `&zone->lock`). */
  readonly zoneLock: SpinLockArray;
  /** `pcp->lock`, one per CPU and zone at `cpu * nrZones + zone` (lockdep class `&pcp->lock`). */
  readonly pcpLock: SpinLockArray;
  /** Direct reclaim, called when an allocation fails its watermarks (null: none). */
  reclaimHook: ReclaimHook | null;
  /** Memory policy: preferred node (null: local). */
  nodePreferenceHook: NodePreferenceHook | null;
  /** Wakes kswapd (null: none). @kernel wakeup_kswapd */
  kswapdHook: KswapdHook | null;
  /** memcg kmem charge for `__GFP_ACCOUNT` (null: none). */
  memcgChargeHook: MemcgChargeHook | null;
  /** memcg kmem uncharge (null: none). */
  memcgUnchargeHook: MemcgUnchargeHook | null;

  // Hot references (one load instead of two on every list operation).
  /** @internal */
  readonly sections: (MemSection | undefined)[];
  /** @internal */
  readonly sectionShift: number;
  /** @internal */
  readonly sectionMask: number;
  /** @internal */
  readonly freeHead: Int32Array;
  /** @internal */
  readonly freeTail: Int32Array;
  /** @internal */
  readonly nrFree: Int32Array;
  /** @internal */
  readonly sectionZone: Int32Array;
  /** @internal */
  readonly cpuToNode: Int32Array;
  /** @internal */
  readonly nrNodes: number;
  /** @internal */
  readonly nrZones: number;
  /** @internal */
  readonly totalPages: number;
  /** @internal */
  readonly zoneFlags: Uint8Array;
  /** @internal */
  readonly zoneNid: Int32Array;
  /** @internal */
  readonly wmark: Float64Array;
  /** @internal */
  readonly watermarkBoost: Float64Array;
  /** @internal */
  readonly lowmemReserve: Float64Array;
  /** @internal */
  readonly nrFreeHighatomic: Float64Array;
  /** @internal */
  readonly zoneStat: Float64Array;
  /** @internal */
  readonly vmEvents: Float64Array;
  /** @internal */
  readonly numaEvents: Float64Array;
  /** @internal */
  readonly pcpHead: Int32Array;
  /** @internal */
  readonly pcpTail: Int32Array;
  /** @internal */
  readonly pcpCount: Int32Array;
  /** @internal */
  readonly pcpFreeCount: Int32Array;
  /** @internal */
  readonly pageblockMt: Uint8Array;
  /** @internal */
  readonly pageblockShift: number;
  /**
   * Derived once (zonelists and zone sizes never change): the zonelist index
   * of the first zone a request may use, at
   * `((thisnode ? nrNodes : 0) + nid) * MAX_NR_ZONES + highestZoneidx`, or -1
   * (`first_zones_zonelist()` / `ac->preferred_zoneref`).
   */
  /** @internal */
  readonly preferredIdx: Int32Array;
  /** ALLOC_NOFRAGMENT or 0 for a request whose preferred zone is `zone` (`alloc_flags_nofragment`). */
  /** @internal */
  readonly nofragment: Int32Array;
  /**
   * `gfp_zone()` and `gfp_migratetype()` by the five zone and mobility bits
   * of a GFP mask (`gfp & 0x1f`): highest zone index at `2k`, migratetype
   * at `2k + 1`.
   */
  /** @internal */
  readonly gfpZoneMt: Int8Array;

  // Allocation context of the running request (struct alloc_context), kept
  // in fields so the hot path allocates nothing. A hook that may allocate
  // (reclaim, kswapd wake) runs between pushAllocContext() and
  // popAllocContext(), which save these fields in the frame of the current
  // nesting depth and put them back, so a nested request cannot change the
  // outer one's zonelist, node or migratetype.
  /** @internal */
  acZonelist: Int32Array;
  /** @internal */
  acPreferredIdx: number;
  /** @internal */
  acHighestZoneidx: number;
  /** @internal */
  acMigratetype: number;
  /** @internal */
  acNid: number;
  /** `enum rmqueue_mode` of the running `__rmqueue` sequence. */
  rmqm: number;
  /** @internal */
  noProgressLoops: number;
  /** @internal */
  lastReclaimProgress: number;
  /** @internal */
  scratchFree: number;
  /** @internal */
  scratchMovable: number;
  /** Requests suspended in a hook that may allocate (the depth of the context stack). @internal */
  allocNesting: number;
  /** Saved numeric context fields, {@link AC_FRAME} per nesting depth (grown on demand). @internal */
  acStack: Int32Array;
  /** Saved zonelists, one per nesting depth. @internal */
  acStackZonelist: Int32Array[];
  /**
   * Depth of reclaim hooks running (the kernel's PF_MEMALLOC on the
   * reclaiming task): allocations made by reclaim may use the reserves and
   * do not enter direct reclaim again. @internal
   */
  memallocDepth: number;

  constructor(machine: MemHost, options: MemOptions = {}) {
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
    this.nrPcpTrylockFailed = 0;
    this.zoneLock = new SpinLockArray(machine, ZONE_LOCK_NAME, this.zones.nrZones);
    this.pcpLock = new SpinLockArray(machine, PCP_LOCK_NAME, t.nrCpus * this.zones.nrZones);
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
    this.gfpZoneMt = new Int8Array(64);
    for (let k = 0; k < 32; k++) {
      // A refused combination has zone -1: __allocPages rejects it.
      this.gfpZoneMt[2 * k] = gfpProblem(k) === null ? gfpZone(k) : -1;
      this.gfpZoneMt[2 * k + 1] = gfpMigratetype(k);
    }
    this.nofragment = new Int32Array(this.zones.nrZones);
    for (let z = 0; z < this.zones.nrZones; z++) this.nofragment[z] = allocFlagsNofragment(this, z, 0);
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
    this.allocNesting = 0;
    this.acStack = new Int32Array(4 * AC_FRAME);
    this.acStackZonelist = [];
    this.memallocDepth = 0;

    // Boot: every managed page is free (memblock_free_all), counted per zone.
    for (let z = 0; z < this.zones.nrZones; z++) {
      const managed = this.zones.managed[z] as number;
      this.vmstat.zoneStat[z * NR_VM_ZONE_STAT_ITEMS + NR_FREE_PAGES] = managed;
      this.vmstat.globalZoneStat[NR_FREE_PAGES] = (this.vmstat.globalZoneStat[NR_FREE_PAGES] as number) + managed;
    }
    this.vmstat.refreshZoneStatThresholds(this.zones.managed, this.zones.nid, t.pageShift, t.nrCpus);
    this.minFreeKbytes = options.minFreeKbytes ?? calculateMinFreeKbytes(this);
    this.setupPerZoneWmarks();
    // CPUHP_PAGE_ALLOC: a dead CPU's pcp pages and counters go back.
    machine.hotplug.cpuhpSetupStateNocalls('mm/page_alloc:pcp', 'prepare', null, (cpu) => {
      pageAllocCpuDead(this, cpu);
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
    // An int sysctl (proc_dointvec_minmax, min 0).
    if (!Number.isInteger(kbytes) || kbytes < 0 || kbytes > 0x7fffffff) {
      throw new InvalidArgumentError('page_alloc', 'kbytes', `min_free_kbytes ${String(kbytes)} not in 0..INT_MAX`);
    }
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
    if (!Number.isInteger(fraction) || (fraction !== 0 && fraction < 8) || fraction > 0x7fffffff) {
      throw new MmError('EINVAL', `page_alloc: percpu_pagelist_high_fraction ${fraction} must be 0 or >= 8`);
    }
    this.percpuPagelistHighFraction = fraction;
    for (let z = 0; z < this.zones.nrZones; z++) if (this.zones.populated(z)) zoneSetPagesetHighAndBatch(this, z);
  }

  /** Register the reclaim hook (direct reclaim of the kernel model). */
  setReclaimHook(hook: ReclaimHook | null): void {
    checkHook('hook', hook);
    this.reclaimHook = hook;
  }

  /** Register the memory-policy hook choosing the preferred node. */
  setNodePreferenceHook(hook: NodePreferenceHook | null): void {
    checkHook('hook', hook);
    this.nodePreferenceHook = hook;
  }

  /** Register the kswapd wake hook. */
  setKswapdHook(hook: KswapdHook | null): void {
    checkHook('hook', hook);
    this.kswapdHook = hook;
  }

  /** Register memcg kmem charge/uncharge hooks for __GFP_ACCOUNT. */
  setMemcgHooks(charge: MemcgChargeHook | null, uncharge: MemcgUnchargeHook | null): void {
    checkHook('charge', charge);
    checkHook('uncharge', uncharge);
    this.memcgChargeHook = charge;
    this.memcgUnchargeHook = uncharge;
  }

  /**
   * kswapd finished balancing `nid`: drop its zones' watermark boosts.
   * @kernel balance_pgdat (mm/vmscan.c), the boost reset
   */
  clearWatermarkBoost(nid: number): void {
    if (nid >>> 0 !== nid || nid >= this.nrNodes) {
      throw new InvalidArgumentError('page_alloc', 'nid', `${nid} is not a node (nr_node_ids ${this.nrNodes})`);
    }
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
    if (pfn >>> 0 !== pfn || pfn >= this.totalPages) checkPfn(this, 'page_zone', pfn);
    return this.sectionZone[pfn >>> this.sectionShift] as number;
  }

  /**
   * The node of `pfn`.
   * @kernel page_to_nid (include/linux/mm.h)
   */
  pageToNid(pfn: number): number {
    if (pfn >>> 0 !== pfn || pfn >= this.totalPages) checkPfn(this, 'page_to_nid', pfn);
    return this.zones.nid[this.sectionZone[pfn >>> this.sectionShift] as number] as number;
  }

  // ---------------------------------------------------------------- free lists

  // ---------------------------------------------------------------- split

  // ---------------------------------------------------------------- pageblocks

  // ---------------------------------------------------------------- fallback

  // ---------------------------------------------------------------- highatomic

  // ---------------------------------------------------------------- rmqueue

  /**
   * Folio/compound order of `pfn`'s head (0 for a non-compound page).
   * @kernel compound_order (include/linux/mm.h)
   */
  compoundOrder(pfn: number): number {
    checkPfn(this, 'compound_order', pfn);
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
      if (hook !== null) {
        node = hook(gfp, order);
        if (node !== NUMA_NO_NODE && (node >>> 0 !== node || node >= this.nrNodes)) {
          throw new MmBugError(`page_alloc: the node-preference hook answered ${node}, not a node or NUMA_NO_NODE`);
        }
      }
      if (node === NUMA_NO_NODE) node = this.cpuToNode[this.machine.currentCpu] as number;
    }
    return __allocPages(this, gfp, order, node);
  }

  // ---------------------------------------------------------------- free

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
      checkFreePages(this, pfn, order);
    }
    const s = this.sections[pfn >>> this.sectionShift];
    if (s === undefined) {
      checkFreePages(this, pfn, order);
      return;
    }
    const i = pfn & this.sectionMask;
    const ref = s.refcount[i] as number;
    const flags = s.flags[i] as number;
    if (order === 0 && ref === 1) {
      // The last reference on a single page (the common case): the same
      // checks and steps as below, without the per-page loops.
      const CHECK_AT_FREE: typeof PAGE_FLAGS_CHECK_AT_FREE = 0x14e123;
      const KMEM: typeof MEMCG_DATA_KMEM = 2;
      const memcg = s.memcgData[i] as number;
      if (
        s.pageType[i] !== 0 ||
        (s.compoundHead[i] as number) >= 0 ||
        s.order[i] !== 0 ||
        s.mapcount[i] !== -1 ||
        s.mapping[i] !== 0 ||
        (flags & CHECK_AT_FREE) !== 0 ||
        (memcg !== 0 && !(memcg & KMEM))
      ) {
        checkFreePages(this, pfn, order);
        throw new MmBugError(`page_alloc: pfn ${pfn} failed the fast free check but passed the full one`);
      }
      s.refcount[i] = 0;
      freeUnrefPage(this, s, i, pfn, memcg);
      return;
    }
    if (
      ref <= 0 ||
      s.order[i] !== order ||
      (s.compoundHead[i] as number) >= 0 ||
      s.pageType[i] !== 0 ||
      ((ref === 1 || !(flags & (1 << PG_head))) &&
        !pagesExpectedState(s, i, pfn, order, ref === 1 ? 0 : 1, (flags & (1 << PG_head)) !== 0))
    ) {
      checkFreePages(this, pfn, order);
      throw new MmBugError(`page_alloc: pfn ${pfn} failed the fast free check but passed the full one`);
    }
    __freePages(this, pfn, order);
  }

  /**
   * Take a reference on an allocated page (on its head for a compound tail).
   * @kernel get_page / folio_get (include/linux/mm.h)
   */
  getPage(pfn: number): void {
    checkPfn(this, 'get_page', pfn);
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
    checkPfn(this, 'put_page', pfn);
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
    checkPfn(this, 'split_page', pfn);
    if (order >>> 0 !== order || order > this.maxOrder) {
      throw new InvalidArgumentError('page_alloc', 'order', `${order} is not an order in 0..${this.maxOrder}`);
    }
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
    checkCpuArg(this, cpu);
    for (let z = 0; z < this.zones.nrZones; z++) if (this.zones.populated(z)) drainPagesZone(this, cpu, z);
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
    checkZoneArg(this, zone);
    return this.vmstat.zonePageStateSnapshot(zone, NR_FREE_PAGES);
  }

  /** The physical memory state as plain JSON (`JSON.stringify(machine.mem)`). */
  toJSON(): MemState {
    return memStateJson(this);
  }

  /** `zone_watermark_ok()` for outside callers (kswapd, compaction models). */
  zoneWatermarkOk(zone: number, order: number, mark: number, highestZoneidx: number, allocFlags: number): boolean {
    checkZoneArg(this, zone);
    if (order >>> 0 !== order || order > this.maxOrder) {
      throw new InvalidArgumentError('page_alloc', 'order', `${order} is not an order in 0..${this.maxOrder}`);
    }
    if (typeof mark !== 'number' || !Number.isFinite(mark)) {
      throw new InvalidArgumentError('page_alloc', 'mark', `${String(mark)} is not a number of pages`);
    }
    if (highestZoneidx >>> 0 !== highestZoneidx || highestZoneidx >= MAX_NR_ZONES) {
      throw new InvalidArgumentError('page_alloc', 'highestZoneidx', `${highestZoneidx} is not a zone index`);
    }
    if (allocFlags >>> 0 !== allocFlags) {
      throw new InvalidArgumentError('page_alloc', 'allocFlags', `${allocFlags} is not a set of ALLOC_* flags`);
    }
    return zoneWatermarkOk(this, zone, order, mark, highestZoneidx, allocFlags);
  }
}

/** A PFN argument: an integer inside memory, else a BadPageError naming it (nothing changed). */
function checkPfn(pa: PageAllocator, what: string, pfn: number): void {
  if (pfn >>> 0 !== pfn || pfn >= pa.totalPages) {
    throw new BadPageError(Number.isInteger(pfn) ? pfn : -1, `${what}: pfn ${String(pfn)} outside memory`);
  }
}

/** A CPU argument: an existing CPU id. */
function checkCpuArg(pa: PageAllocator, cpu: number): void {
  const n = pa.machine.topology.nrCpus;
  if (cpu >>> 0 !== cpu || cpu >= n) {
    throw new InvalidArgumentError('page_alloc', 'cpu', `${String(cpu)} is not a CPU (nr_cpu_ids ${n})`);
  }
}

/** A zone argument: a zone id of this machine. */
function checkZoneArg(pa: PageAllocator, zone: number): void {
  if (zone >>> 0 !== zone || zone >= pa.nrZones) {
    throw new InvalidArgumentError('page_alloc', 'zone', `${String(zone)} is not a zone id (0..${pa.nrZones - 1})`);
  }
}

/** A hook argument: a function or null. */
function checkHook(name: string, hook: unknown): void {
  if (hook !== null && typeof hook !== 'function') {
    throw new InvalidArgumentError('page_alloc', name, `must be a function or null, got ${typeof hook}`);
  }
}

/**
 * The allocator's entry: checks, fault injection, fast path, slow path.
 * @kernel __alloc_pages (mm/page_alloc.c)
 */
export function __allocPages(pa: PageAllocator, gfp: number, order: number, preferredNid: number): number {
  const DIRECT_RECLAIM: typeof __GFP_DIRECT_RECLAIM = 0x400;
  const KSWAPD_RECLAIM: typeof __GFP_KSWAPD_RECLAIM = 0x800;
  const THISNODE: typeof __GFP_THISNODE = 0x200000;
  const ACCOUNT: typeof __GFP_ACCOUNT = 0x400000;
  const ZONEMASK: typeof GFP_ZONEMASK = 0x0f;
  const MOVABLE_MASK: typeof GFP_MOVABLE_MASK = 0x18;
  const WMARK_LOW_FLAG: typeof ALLOC_WMARK_LOW = 1;
  const ZONES: typeof MAX_NR_ZONES = 3;
  const BITS_MASK: typeof __GFP_BITS_MASK = 0xffffff;
  // `x >>> 0 !== x` rejects negatives, fractions and NaN in one test.
  if (order >>> 0 !== order) throw new InvalidArgumentError('page_alloc', 'order', `${order} is not an order`);
  if (preferredNid >>> 0 !== preferredNid || preferredNid >= pa.nrNodes) {
    throw new InvalidArgumentError('page_alloc', 'nid', `${preferredNid} is not a node (nr_node_ids ${pa.nrNodes})`);
  }
  // An integer without bits above __GFP_BITS_MASK whose zone bits gfp_zone() accepts.
  if ((gfp & BITS_MASK) !== gfp || (pa.gfpZoneMt[(gfp & (ZONEMASK | MOVABLE_MASK)) << 1] as number) < 0) {
    throw new InvalidArgumentError('page_alloc', 'gfp', gfpProblem(gfp) ?? `${String(gfp)} refused`);
  }
  if (order > pa.maxOrder) {
    pa.machine.warnOn(!(gfp & __GFP_NOWARN), `page_alloc: order ${order} > MAX_PAGE_ORDER ${pa.maxOrder}`);
    return -EINVAL;
  }
  // prepare_alloc_pages: might_alloc() — a blocking request must come from a context that may sleep.
  if (gfp & DIRECT_RECLAIM) mightSleep(pa.machine, 'alloc_pages');
  const zm = (gfp & (ZONEMASK | MOVABLE_MASK)) << 1;
  const hz = pa.gfpZoneMt[zm] as number;
  const mt = pa.gfpZoneMt[zm + 1] as number;
  const thisnode = (gfp & THISNODE) !== 0;
  const zl = (
    thisnode ? pa.zones.zonelistNofallback[preferredNid] : pa.zones.zonelistFallback[preferredNid]
  ) as Int32Array;
  pa.acNid = preferredNid;
  pa.acHighestZoneidx = hz;
  pa.acZonelist = zl;
  pa.acMigratetype = mt;
  const fail = pa.failPageAlloc;
  if (fail.probability !== 0 && fail.shouldFailAllocPage(gfp, order)) return -ENOMEM;
  const prefIdx = pa.preferredIdx[((thisnode ? pa.nrNodes : 0) + preferredNid) * ZONES + hz] as number;
  pa.acPreferredIdx = prefIdx;
  let pfn = -1;
  if (prefIdx >= 0) {
    const preferredZone = zl[prefIdx] as number;
    if (order === 0) pfn = rmqueuePcplistFast(pa, preferredZone, hz, mt, gfp);
    if (pfn < 0) {
      const allocFlags = WMARK_LOW_FLAG | (gfp & KSWAPD_RECLAIM) | (pa.nofragment[preferredZone] as number);
      pfn = getPageFromFreelist(pa, gfp, order, allocFlags);
    }
  }
  if (pfn < 0) pfn = __allocPagesSlowpath(pa, gfp, order);
  if (pfn >= 0 && gfp & ACCOUNT && pa.memcgChargeHook !== null) {
    const memcg = pa.memcgChargeHook(pfn, order, gfp);
    if (memcg < 0) {
      __freePages(pa, pfn, order);
      return -ENOMEM;
    }
    pa.sec(pfn).memcgData[pfn & pa.sectionMask] = memcg * 4 + MEMCG_DATA_KMEM;
  }
  return pfn;
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
export function rmqueuePcplistFast(pa: PageAllocator, zone: number, hz: number, mt: number, gfp: number): number {
  const BELOW_HIGH: typeof ZONE_BELOW_HIGH = 4;
  const BOOSTED: typeof ZONE_BOOSTED_WATERMARK = 1;
  const ZONE_STATS: typeof NR_VM_ZONE_STAT_ITEMS = 10;
  const FREE_PAGES: typeof NR_FREE_PAGES = 0;
  const WMARKS: typeof NR_WMARK = 4;
  const HIGH: typeof WMARK_HIGH = 2;
  const ZONES: typeof MAX_NR_ZONES = 3;
  const PCP_LISTS: typeof NR_PCP_LISTS = 14;
  const EVENTS: typeof NR_VM_EVENT_ITEMS = 41;
  const PGALLOC_DMA32: typeof VM_EVENT.PGALLOC_DMA32 = 4;
  const NUMA_EVENTS: typeof NR_VM_NUMA_EVENT_ITEMS = 6;
  const HIT: typeof NUMA_HIT = 0;
  const LOCAL: typeof NUMA_LOCAL = 4;
  const OTHER: typeof NUMA_OTHER = 5;
  const ZERO: typeof __GFP_ZERO = 0x100;
  if ((pa.zoneFlags[zone] as number) & (BELOW_HIGH | BOOSTED)) return -1;
  // zone_page_state() clamps at 0; free highatomic pages are not usable.
  const free = Math.max(pa.zoneStat[zone * ZONE_STATS + FREE_PAGES] as number, 0);
  const usable = free - Math.min(free, pa.nrFreeHighatomic[zone] as number);
  const mark =
    (pa.wmark[zone * WMARKS + HIGH] as number) +
    (pa.watermarkBoost[zone] as number) +
    (pa.lowmemReserve[zone * ZONES + hz] as number);
  if (!(usable > mark)) return -1;
  const cpu = pa.machine.currentCpu;
  const nrZones = pa.nrZones;
  const p = cpu * nrZones + zone;
  const l = p * PCP_LISTS + mt;
  const pfn = pa.pcpHead[l] as number;
  if (pfn < 0) return -1;
  // pcp_spin_trylock(): a held pcp lock is left to the general path, which
  // tries it and falls back to the buddy lists.
  if (pcpIsLocked(pa, p) || !pcpSpinTrylock(pa, p)) return -1;
  pa.pcpFreeCount[p] = (pa.pcpFreeCount[p] as number) >> 1;
  // Unlink the head (pcpListPopHead).
  const sections = pa.sections;
  const shift = pa.sectionShift;
  const mask = pa.sectionMask;
  const s = sections[pfn >>> shift] as MemSection;
  const i = pfn & mask;
  const n = s.next[i] as number;
  pa.pcpHead[l] = n;
  if (n < 0) pa.pcpTail[l] = -1;
  else (sections[n >>> shift] as MemSection).prev[n & mask] = -1;
  s.next[i] = -1;
  pa.pcpCount[p] = (pa.pcpCount[p] as number) - 1;
  pcpSpinUnlock(pa, p);
  // countPgalloc + zoneStatistics for preferred zone == zone (a NUMA hit).
  const ev = pa.vmEvents;
  const e = cpu * EVENTS + PGALLOC_DMA32 + (zone % ZONES);
  ev[e] = (ev[e] as number) + 1;
  const numa = pa.numaEvents;
  const zb = p * NUMA_EVENTS;
  numa[zb + HIT] = (numa[zb + HIT] as number) + 1;
  const local = zb + (pa.zoneNid[zone] === pa.cpuToNode[cpu] ? LOCAL : OTHER);
  numa[local] = (numa[local] as number) + 1;
  // prepNewPage, order 0.
  s.private[i] = 0;
  s.refcount[i] = 1;
  s.order[i] = 0;
  if (gfp & ZERO) s.content[i] = 0;
  return pfn;
}

/**
 * ALLOC_NOFRAGMENT for Normal-zone allocations on a node with DMA32, and
 * ALLOC_KSWAPD from __GFP_KSWAPD_RECLAIM.
 * @kernel alloc_flags_nofragment (mm/page_alloc.c)
 */
export function allocFlagsNofragment(pa: PageAllocator, zone: number, gfp: number): number {
  const flags = gfp & __GFP_KSWAPD_RECLAIM;
  if (zone % MAX_NR_ZONES !== ZONE_NORMAL) return flags;
  const dma32 = zone - ZONE_NORMAL + ZONE_DMA32;
  if (pa.nrNodes > 1 && !pa.zones.populated(dma32)) return flags;
  return flags | ALLOC_NOFRAGMENT;
}

/**
 * Check that freeing `pfn` at `order` is legal, without changing anything.
 * @throws BadPageError naming the PFN.
 * @kernel free_page_is_bad / free_tail_page_prepare (mm/page_alloc.c)
 */
export function checkFreePages(pa: PageAllocator, pfn: number, order: number): void {
  if (!pa.memmap.pfnValid(pfn)) throw new BadPageError(Number.isInteger(pfn) ? pfn : -1, 'pfn outside memory');
  if (!Number.isInteger(order) || order < 0 || order > pa.maxOrder) throw new BadPageError(pfn, `wrong order ${order}`);
  const s = pa.memmap.sectionOf(pfn);
  if (s === undefined) throw new BadPageError(pfn, 'page already free (never allocated)');
  const i = pfn & pa.sectionMask;
  if (s.pageType[i] === PGTY_buddy) throw new BadPageError(pfn, 'page already free (in buddy)');
  if ((s.compoundHead[i] as number) >= 0)
    throw new BadPageError(pfn, `tail page of compound page ${s.compoundHead[i]}`);
  const ref = s.refcount[i] as number;
  if (ref <= 0)
    throw new BadPageError(pfn, 'nonzero _refcount expected: page already free or not the first page of an allocation');
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
    if (s.pageType[j] !== 0) throw new BadPageError(p, `page type ${pageTypeName(s.pageType[j] as number)} still set`);
    if (s.mapping[j] !== 0) throw new BadPageError(p, 'non-NULL mapping');
    if ((s.flags[j] as number) & PAGE_FLAGS_CHECK_AT_FREE)
      throw new BadPageError(p, 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set');
    const memcg = s.memcgData[j] as number;
    if (memcg !== 0 && !(k === 0 && memcg & MEMCG_DATA_KMEM)) throw new BadPageError(p, 'page still charged to cgroup');
  }
}

/**
 * Whether pages `[from, 2^order)` of an allocation are in the state a free
 * expects (no mapcount, mapping, type, checked flags or memcg; tails
 * consistent).
 * @kernel page_expected_state (mm/page_alloc.c)
 */
export function pagesExpectedState(
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
export function freeUnrefPage(pa: PageAllocator, s: MemSection, i: number, pfn: number, memcg: number): void {
  const KMEM: typeof MEMCG_DATA_KMEM = 2;
  const CHECK_AT_PREP: typeof PAGE_FLAGS_CHECK_AT_PREP = 0xdfffff;
  const HWPOISON: typeof PG_hwpoison = 21;
  const PCPTYPES: typeof MIGRATE_PCPTYPES = 3;
  const MOVABLE: typeof MIGRATE_MOVABLE = 1;
  if (memcg & KMEM) {
    s.memcgData[i] = 0;
    if (pa.memcgUnchargeHook !== null) pa.memcgUnchargeHook(pfn, 0, (memcg - KMEM) / 4);
  }
  const flags = s.flags[i] as number;
  s.flags[i] = flags & ~CHECK_AT_PREP;
  s.order[i] = 0;
  // A hwpoisoned page stays out of the allocator.
  if (flags & (1 << HWPOISON)) return;
  s.compoundHead[i] = -1;
  s.private[i] = 0;
  const zone = pa.sectionZone[pfn >>> pa.sectionShift] as number;
  let mt = pa.pageblockMt[pfn >>> pa.pageblockShift] as number;
  // Only the pcp types have lists; highatomic pages go to the movable list.
  if (mt >= PCPTYPES) mt = MOVABLE;
  freeToPcp(pa, zone, pfn, mt, 0);
}

/**
 * The end of `__free_frozen_pages()` for a pcp order: this CPU's pcp list
 * under its lock, or the buddy lists when the trylock fails.
 * @kernel __free_frozen_pages (mm/page_alloc.c)
 */
export function freeToPcp(pa: PageAllocator, zone: number, pfn: number, mt: number, order: number): void {
  const p = pa.machine.currentCpu * pa.nrZones + zone;
  if (pcpSpinTrylock(pa, p)) {
    try {
      freeFrozenPageCommit(pa, zone, pfn, mt, order);
    } finally {
      pcpSpinUnlock(pa, p);
    }
  } else {
    freeOnePage(pa, zone, pfn, order, 0);
  }
}

/** `__free_pages` after the checks. */
export function __freePages(pa: PageAllocator, pfn: number, order: number): void {
  const s = pa.sec(pfn);
  const i = pfn & pa.sectionMask;
  const head = ((s.flags[i] as number) & (1 << PG_head)) !== 0;
  const ref = (s.refcount[i] as number) - 1;
  s.refcount[i] = ref;
  if (ref === 0) {
    __freeFrozenPages(pa, pfn, order, 0);
  } else if (!head) {
    let o = order;
    s.order[i] = 0;
    while (o-- > 0) {
      const p = pfn + (1 << o);
      pa.sec(p).order[p & pa.sectionMask] = o;
      __freeFrozenPages(pa, p, o, 0);
    }
  }
}

/**
 * Reset page state on its way to the free lists; false keeps a hwpoisoned
 * order-0 page out of the allocator.
 * @kernel free_pages_prepare (mm/page_alloc.c)
 */
export function freePagesPrepare(pa: PageAllocator, pfn: number, order: number): boolean {
  const s = pa.sec(pfn);
  const i = pfn & pa.sectionMask;
  const memcg = s.memcgData[i] as number;
  if (memcg & MEMCG_DATA_KMEM) {
    s.memcgData[i] = 0;
    if (pa.memcgUnchargeHook !== null) pa.memcgUnchargeHook(pfn, order, (memcg - MEMCG_DATA_KMEM) / 4);
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
export function __freeFrozenPages(pa: PageAllocator, pfn: number, order: number, fpi: number): void {
  if (!pcpAllowedOrder(pa, order)) {
    if (freePagesPrepare(pa, pfn, order)) freeOnePage(pa, pa.pageZone(pfn), pfn, order, fpi);
    return;
  }
  if (!freePagesPrepare(pa, pfn, order)) return;
  const zone = pa.pageZone(pfn);
  let mt = pa.pageblock.get(pfn);
  // Only the pcp types have lists; highatomic pages go to the movable list.
  if (mt >= MIGRATE_PCPTYPES) mt = MIGRATE_MOVABLE;
  freeToPcp(pa, zone, pfn, mt, order);
}

/**
 * CPU hotplug teardown: give back the dead CPU's pcp pages, move its VM
 * events to this CPU and fold its counter differentials.
 * @kernel page_alloc_cpu_dead (mm/page_alloc.c)
 */
export function pageAllocCpuDead(pa: PageAllocator, cpu: number): void {
  checkCpuArg(pa, cpu);
  pa.drainPages(cpu);
  const vs = pa.vmstat;
  const here = pa.machine.currentCpu;
  if (here !== cpu) {
    const n = vs.vmEvents.length / vs.nrCpus;
    for (let i = 0; i < n; i++) {
      vs.vmEvents[here * n + i] = (vs.vmEvents[here * n + i] as number) + (vs.vmEvents[cpu * n + i] as number);
      vs.vmEvents[cpu * n + i] = 0;
    }
  }
  vs.refreshCpuVmStats(cpu);
}
