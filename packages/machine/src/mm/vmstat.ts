/**
 * DOC: vmstat counters: per-zone and per-node state items with per-CPU
 * differentials folded past a threshold, NUMA events per zone and per CPU,
 * and VM events per CPU summed on read.
 *
 * As in the kernel, a zone or node counter is a global value plus one small
 * signed differential per CPU; `__mod_zone_page_state()` adds to this CPU's
 * differential and folds it into the zone and global totals once it exceeds
 * the zone's `stat_threshold`. Readers of the folded value
 * (`zone_page_state()`) can be off by up to threshold × CPUs; the snapshot
 * readers add the differentials. `refreshCpuVmStats()` folds one CPU (the
 * vmstat worker's job). Item lists are the kernel's, in enum order, for the
 * configuration described in the README.
 */

/** Zone stat: free pages in the buddy allocator. */
export const NR_FREE_PAGES = 0;
/** Zone stat: inactive anon LRU pages. */
export const NR_ZONE_INACTIVE_ANON = 1;
/** Zone stat: active anon LRU pages. */
export const NR_ZONE_ACTIVE_ANON = 2;
/** Zone stat: inactive file LRU pages. */
export const NR_ZONE_INACTIVE_FILE = 3;
/** Zone stat: active file LRU pages. */
export const NR_ZONE_ACTIVE_FILE = 4;
/** Zone stat: unevictable LRU pages. */
export const NR_ZONE_UNEVICTABLE = 5;
/** Zone stat: dirty + writeback pages. */
export const NR_ZONE_WRITE_PENDING = 6;
/** Zone stat: mlocked pages. */
export const NR_MLOCK = 7;
/** Zone stat: zsmalloc pages. */
export const NR_ZSPAGES = 8;
/** Zone stat: free CMA pages (always 0: no CMA). */
export const NR_FREE_CMA_PAGES = 9;
/** Number of zone stat items. */
export const NR_VM_ZONE_STAT_ITEMS = 10;
/** Zone stat names (`/proc/zoneinfo`, `/proc/vmstat`). */
export const ZONE_STAT_NAMES: readonly string[] = Object.freeze([
  'nr_free_pages',
  'nr_zone_inactive_anon',
  'nr_zone_active_anon',
  'nr_zone_inactive_file',
  'nr_zone_active_file',
  'nr_zone_unevictable',
  'nr_zone_write_pending',
  'nr_mlock',
  'nr_zspages',
  'nr_free_cma',
]);

/** NUMA event: allocated on the intended node. */
export const NUMA_HIT = 0;
/** NUMA event: allocated here though another node was intended. */
export const NUMA_MISS = 1;
/** NUMA event: intended for this node but allocated elsewhere. */
export const NUMA_FOREIGN = 2;
/** NUMA event: interleave policy hit. */
export const NUMA_INTERLEAVE_HIT = 3;
/** NUMA event: allocated on the node of the allocating CPU. */
export const NUMA_LOCAL = 4;
/** NUMA event: allocated on another node than the allocating CPU's. */
export const NUMA_OTHER = 5;
/** Number of NUMA events. */
export const NR_VM_NUMA_EVENT_ITEMS = 6;
/** NUMA event names. */
export const NUMA_STAT_NAMES: readonly string[] = Object.freeze([
  'numa_hit',
  'numa_miss',
  'numa_foreign',
  'numa_interleave',
  'numa_local',
  'numa_other',
]);

/** Node stat names in `enum node_stat_item` order; the index is the item number. */
export const NODE_STAT_NAMES: readonly string[] = Object.freeze([
  'nr_inactive_anon',
  'nr_active_anon',
  'nr_inactive_file',
  'nr_active_file',
  'nr_unevictable',
  'nr_slab_reclaimable',
  'nr_slab_unreclaimable',
  'nr_isolated_anon',
  'nr_isolated_file',
  'workingset_nodes',
  'workingset_refault_anon',
  'workingset_refault_file',
  'workingset_activate_anon',
  'workingset_activate_file',
  'workingset_restore_anon',
  'workingset_restore_file',
  'workingset_nodereclaim',
  'nr_anon_pages',
  'nr_mapped',
  'nr_file_pages',
  'nr_dirty',
  'nr_writeback',
  'nr_writeback_temp',
  'nr_shmem',
  'nr_shmem_hugepages',
  'nr_shmem_pmdmapped',
  'nr_file_hugepages',
  'nr_file_pmdmapped',
  'nr_anon_transparent_hugepages',
  'nr_vmscan_write',
  'nr_vmscan_immediate_reclaim',
  'nr_dirtied',
  'nr_written',
  'nr_throttled_written',
  'nr_kernel_misc_reclaimable',
  'nr_foll_pin_acquired',
  'nr_foll_pin_released',
  'nr_kernel_stack',
  'nr_page_table_pages',
  'nr_sec_page_table_pages',
  'nr_swapcached',
  'pgpromote_success',
  'pgpromote_candidate',
  'pgdemote_kswapd',
  'pgdemote_direct',
  'pgdemote_khugepaged',
  'nr_hugetlb',
]);
/** Node stat item numbers by kernel enum name (`NODE_STAT.NR_ANON_MAPPED`, ...). */
export const NODE_STAT = Object.freeze({
  NR_INACTIVE_ANON: 0,
  NR_ACTIVE_ANON: 1,
  NR_INACTIVE_FILE: 2,
  NR_ACTIVE_FILE: 3,
  NR_UNEVICTABLE: 4,
  NR_SLAB_RECLAIMABLE_B: 5,
  NR_SLAB_UNRECLAIMABLE_B: 6,
  NR_ISOLATED_ANON: 7,
  NR_ISOLATED_FILE: 8,
  WORKINGSET_NODES: 9,
  WORKINGSET_REFAULT_ANON: 10,
  WORKINGSET_REFAULT_FILE: 11,
  WORKINGSET_ACTIVATE_ANON: 12,
  WORKINGSET_ACTIVATE_FILE: 13,
  WORKINGSET_RESTORE_ANON: 14,
  WORKINGSET_RESTORE_FILE: 15,
  WORKINGSET_NODERECLAIM: 16,
  NR_ANON_MAPPED: 17,
  NR_FILE_MAPPED: 18,
  NR_FILE_PAGES: 19,
  NR_FILE_DIRTY: 20,
  NR_WRITEBACK: 21,
  NR_WRITEBACK_TEMP: 22,
  NR_SHMEM: 23,
  NR_SHMEM_THPS: 24,
  NR_SHMEM_PMDMAPPED: 25,
  NR_FILE_THPS: 26,
  NR_FILE_PMDMAPPED: 27,
  NR_ANON_THPS: 28,
  NR_VMSCAN_WRITE: 29,
  NR_VMSCAN_IMMEDIATE: 30,
  NR_DIRTIED: 31,
  NR_WRITTEN: 32,
  NR_THROTTLED_WRITTEN: 33,
  NR_KERNEL_MISC_RECLAIMABLE: 34,
  NR_FOLL_PIN_ACQUIRED: 35,
  NR_FOLL_PIN_RELEASED: 36,
  NR_KERNEL_STACK_KB: 37,
  NR_PAGETABLE: 38,
  NR_SECONDARY_PAGETABLE: 39,
  NR_SWAPCACHE: 40,
  PGPROMOTE_SUCCESS: 41,
  PGPROMOTE_CANDIDATE: 42,
  PGDEMOTE_KSWAPD: 43,
  PGDEMOTE_DIRECT: 44,
  PGDEMOTE_KHUGEPAGED: 45,
  NR_HUGETLB: 46,
});
/** Number of node stat items. */
export const NR_VM_NODE_STAT_ITEMS = 47;
/** Node items kept in pages but printed in THP units (`vmstat_item_print_in_thp`). */
const NODE_ITEMS_IN_THP = new Set<number>([
  NODE_STAT.NR_SHMEM_THPS,
  NODE_STAT.NR_SHMEM_PMDMAPPED,
  NODE_STAT.NR_FILE_THPS,
  NODE_STAT.NR_FILE_PMDMAPPED,
  NODE_STAT.NR_ANON_THPS,
]);

/** VM event names in `enum vm_event_item` order (a subset); the index is the item number. */
export const VM_EVENT_NAMES: readonly string[] = Object.freeze([
  'pgpgin',
  'pgpgout',
  'pswpin',
  'pswpout',
  'pgalloc_dma32',
  'pgalloc_normal',
  'pgalloc_movable',
  'allocstall_dma32',
  'allocstall_normal',
  'allocstall_movable',
  'pgskip_dma32',
  'pgskip_normal',
  'pgskip_movable',
  'pgfree',
  'pgactivate',
  'pgdeactivate',
  'pglazyfree',
  'pgfault',
  'pgmajfault',
  'pglazyfreed',
  'pgrefill',
  'pgreuse',
  'pgsteal_kswapd',
  'pgsteal_direct',
  'pgscan_kswapd',
  'pgscan_direct',
  'pgscan_anon',
  'pgscan_file',
  'pgsteal_anon',
  'pgsteal_file',
  'pginodesteal',
  'kswapd_inodesteal',
  'pageoutrun',
  'pgrotated',
  'pgmigrate_success',
  'pgmigrate_fail',
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_split_page',
  'swap_ra',
  'swap_ra_hit',
]);
/** VM event item numbers by kernel enum name. */
export const VM_EVENT = Object.freeze({
  PGPGIN: 0,
  PGPGOUT: 1,
  PSWPIN: 2,
  PSWPOUT: 3,
  PGALLOC_DMA32: 4,
  PGALLOC_NORMAL: 5,
  PGALLOC_MOVABLE: 6,
  ALLOCSTALL_DMA32: 7,
  ALLOCSTALL_NORMAL: 8,
  ALLOCSTALL_MOVABLE: 9,
  PGSKIP_DMA32: 10,
  PGSKIP_NORMAL: 11,
  PGSKIP_MOVABLE: 12,
  PGFREE: 13,
  PGACTIVATE: 14,
  PGDEACTIVATE: 15,
  PGLAZYFREE: 16,
  PGFAULT: 17,
  PGMAJFAULT: 18,
  PGLAZYFREED: 19,
  PGREFILL: 20,
  PGREUSE: 21,
  PGSTEAL_KSWAPD: 22,
  PGSTEAL_DIRECT: 23,
  PGSCAN_KSWAPD: 24,
  PGSCAN_DIRECT: 25,
  PGSCAN_ANON: 26,
  PGSCAN_FILE: 27,
  PGSTEAL_ANON: 28,
  PGSTEAL_FILE: 29,
  PGINODESTEAL: 30,
  KSWAPD_INODESTEAL: 31,
  PAGEOUTRUN: 32,
  PGROTATED: 33,
  PGMIGRATE_SUCCESS: 34,
  PGMIGRATE_FAIL: 35,
  THP_FAULT_ALLOC: 36,
  THP_FAULT_FALLBACK: 37,
  THP_SPLIT_PAGE: 38,
  SWAP_RA: 39,
  SWAP_RA_HIT: 40,
} as const);
/** Number of VM event items. */
export const NR_VM_EVENT_ITEMS = 41;

/** `fls()`: 1-based index of the highest set bit, 0 for 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/**
 * The counters of one machine.
 * @kernel mm/vmstat.c
 */
export class Vmstat {
  readonly nrCpus: number;
  readonly nrZones: number;
  readonly nrNodes: number;
  /** `zone->vm_stat[]` at `zone * NR_VM_ZONE_STAT_ITEMS + item`. */
  readonly zoneStat: Float64Array;
  /** `vm_zone_stat[]`. */
  readonly globalZoneStat: Float64Array;
  /** `per_cpu_zonestats.vm_stat_diff[]` at `(cpu * nrZones + zone) * items + item`. */
  readonly zoneDiff: Int32Array;
  /** `stat_threshold` per zone (the same on every CPU). */
  readonly zoneThreshold: Int32Array;
  /** `pgdat->vm_stat[]` at `nid * NR_VM_NODE_STAT_ITEMS + item`. */
  readonly nodeStat: Float64Array;
  /** `vm_node_stat[]`. */
  readonly globalNodeStat: Float64Array;
  /** `per_cpu_nodestats.vm_node_stat_diff[]`. */
  readonly nodeDiff: Int32Array;
  /** Node `stat_threshold` (max of its zones'). */
  readonly nodeThreshold: Int32Array;
  /** Per-CPU NUMA events at `(cpu * nrZones + zone) * 6 + item`. */
  readonly numaEvents: Float64Array;
  /** Per-CPU VM events at `cpu * NR_VM_EVENT_ITEMS + item`. */
  readonly vmEvents: Float64Array;

  constructor(nrCpus: number, nrNodes: number, nrZones: number) {
    this.nrCpus = nrCpus;
    this.nrZones = nrZones;
    this.nrNodes = nrNodes;
    this.zoneStat = new Float64Array(nrZones * NR_VM_ZONE_STAT_ITEMS);
    this.globalZoneStat = new Float64Array(NR_VM_ZONE_STAT_ITEMS);
    this.zoneDiff = new Int32Array(nrCpus * nrZones * NR_VM_ZONE_STAT_ITEMS);
    this.zoneThreshold = new Int32Array(nrZones);
    this.nodeStat = new Float64Array(nrNodes * NR_VM_NODE_STAT_ITEMS);
    this.globalNodeStat = new Float64Array(NR_VM_NODE_STAT_ITEMS);
    this.nodeDiff = new Int32Array(nrCpus * nrNodes * NR_VM_NODE_STAT_ITEMS);
    this.nodeThreshold = new Int32Array(nrNodes);
    this.numaEvents = new Float64Array(nrCpus * nrZones * NR_VM_NUMA_EVENT_ITEMS);
    this.vmEvents = new Float64Array(nrCpus * NR_VM_EVENT_ITEMS);
  }

  /**
   * Set every zone's and node's threshold from its managed pages.
   * @kernel refresh_zone_stat_thresholds / calculate_normal_threshold (mm/vmstat.c)
   */
  refreshZoneStatThresholds(managed: Float64Array, zoneNid: Int32Array, pageShift: number, onlineCpus: number): void {
    this.nodeThreshold.fill(0);
    for (let z = 0; z < this.nrZones; z++) {
      const pages = managed[z] as number;
      let t = 0;
      if (pages > 0) {
        const mem = Math.floor(pages / 2 ** (27 - pageShift));
        t = Math.min(125, 2 * fls(onlineCpus) * (1 + fls(mem)));
      }
      this.zoneThreshold[z] = t;
      const nid = zoneNid[z] as number;
      if (t > (this.nodeThreshold[nid] as number)) this.nodeThreshold[nid] = t;
    }
  }

  /**
   * Add `delta` to a zone counter through `cpu`'s differential.
   * @kernel __mod_zone_page_state (mm/vmstat.c)
   */
  modZonePageState(cpu: number, zone: number, item: number, delta: number): void {
    const i = (cpu * this.nrZones + zone) * NR_VM_ZONE_STAT_ITEMS + item;
    const x = delta + (this.zoneDiff[i] as number);
    const t = this.zoneThreshold[zone] as number;
    if (x > t || x < -t) {
      this.zoneStat[zone * NR_VM_ZONE_STAT_ITEMS + item] =
        (this.zoneStat[zone * NR_VM_ZONE_STAT_ITEMS + item] as number) + x;
      this.globalZoneStat[item] = (this.globalZoneStat[item] as number) + x;
      this.zoneDiff[i] = 0;
    } else {
      this.zoneDiff[i] = x;
    }
  }

  /**
   * Add `delta` to a node counter through `cpu`'s differential.
   * @kernel __mod_node_page_state (mm/vmstat.c)
   */
  modNodePageState(cpu: number, nid: number, item: number, delta: number): void {
    const i = (cpu * this.nrNodes + nid) * NR_VM_NODE_STAT_ITEMS + item;
    const x = delta + (this.nodeDiff[i] as number);
    const t = this.nodeThreshold[nid] as number;
    if (x > t || x < -t) {
      this.nodeStat[nid * NR_VM_NODE_STAT_ITEMS + item] =
        (this.nodeStat[nid * NR_VM_NODE_STAT_ITEMS + item] as number) + x;
      this.globalNodeStat[item] = (this.globalNodeStat[item] as number) + x;
      this.nodeDiff[i] = 0;
    } else {
      this.nodeDiff[i] = x;
    }
  }

  /**
   * Count VM events on `cpu`.
   * @kernel __count_vm_events (include/linux/vmstat.h)
   */
  countVmEvents(cpu: number, item: number, n: number): void {
    this.vmEvents[cpu * NR_VM_EVENT_ITEMS + item] = (this.vmEvents[cpu * NR_VM_EVENT_ITEMS + item] as number) + n;
  }

  /**
   * Count a NUMA event for `zone` on `cpu`.
   * @kernel __count_numa_events (mm/vmstat.c)
   */
  countNumaEvents(cpu: number, zone: number, item: number, n: number): void {
    this.numaEvents[(cpu * this.nrZones + zone) * NR_VM_NUMA_EVENT_ITEMS + item] =
      (this.numaEvents[(cpu * this.nrZones + zone) * NR_VM_NUMA_EVENT_ITEMS + item] as number) + n;
  }

  /**
   * Folded zone counter, clamped at 0 like the kernel's reader.
   * @kernel zone_page_state (include/linux/vmstat.h)
   */
  zonePageState(zone: number, item: number): number {
    const x = this.zoneStat[zone * NR_VM_ZONE_STAT_ITEMS + item] as number;
    return Math.max(x, 0);
  }

  /**
   * Zone counter including every CPU's differential.
   * @kernel zone_page_state_snapshot (include/linux/vmstat.h)
   */
  zonePageStateSnapshot(zone: number, item: number): number {
    let x = this.zoneStat[zone * NR_VM_ZONE_STAT_ITEMS + item] as number;
    for (let cpu = 0; cpu < this.nrCpus; cpu++) {
      x += this.zoneDiff[(cpu * this.nrZones + zone) * NR_VM_ZONE_STAT_ITEMS + item] as number;
    }
    return Math.max(x, 0);
  }

  /**
   * Folded node counter, clamped at 0.
   * @kernel node_page_state_pages (mm/vmstat.c)
   */
  nodePageState(nid: number, item: number): number {
    const x = this.nodeStat[nid * NR_VM_NODE_STAT_ITEMS + item] as number;
    return Math.max(x, 0);
  }

  /** Node counter including every CPU's differential. */
  nodePageStateSnapshot(nid: number, item: number): number {
    let x = this.nodeStat[nid * NR_VM_NODE_STAT_ITEMS + item] as number;
    for (let cpu = 0; cpu < this.nrCpus; cpu++) {
      x += this.nodeDiff[(cpu * this.nrNodes + nid) * NR_VM_NODE_STAT_ITEMS + item] as number;
    }
    return Math.max(x, 0);
  }

  /** Global zone counter (`global_zone_page_state`). */
  globalZonePageState(item: number): number {
    const x = this.globalZoneStat[item] as number;
    return Math.max(x, 0);
  }

  /** Global node counter (`global_node_page_state_pages`). */
  globalNodePageState(item: number): number {
    const x = this.globalNodeStat[item] as number;
    return Math.max(x, 0);
  }

  /** A VM event summed over CPUs (`all_vm_events`). */
  vmEvent(item: number): number {
    let s = 0;
    for (let cpu = 0; cpu < this.nrCpus; cpu++) s += this.vmEvents[cpu * NR_VM_EVENT_ITEMS + item] as number;
    return s;
  }

  /** A zone's NUMA event summed over CPUs (`zone_numa_event_state` after folding). */
  zoneNumaEvent(zone: number, item: number): number {
    let s = 0;
    for (let cpu = 0; cpu < this.nrCpus; cpu++) {
      s += this.numaEvents[(cpu * this.nrZones + zone) * NR_VM_NUMA_EVENT_ITEMS + item] as number;
    }
    return s;
  }

  /** Whether node item `item` prints in THP units. */
  static nodeItemInThp(item: number): boolean {
    return NODE_ITEMS_IN_THP.has(item);
  }

  /**
   * Fold `cpu`'s differentials into the zone, node and global counters.
   * @kernel refresh_cpu_vm_stats (mm/vmstat.c)
   */
  refreshCpuVmStats(cpu: number): number {
    let changes = 0;
    const zb = cpu * this.nrZones * NR_VM_ZONE_STAT_ITEMS;
    for (let i = 0; i < this.nrZones * NR_VM_ZONE_STAT_ITEMS; i++) {
      const d = this.zoneDiff[zb + i] as number;
      if (d !== 0) {
        this.zoneStat[i] = (this.zoneStat[i] as number) + d;
        this.globalZoneStat[i % NR_VM_ZONE_STAT_ITEMS] = (this.globalZoneStat[i % NR_VM_ZONE_STAT_ITEMS] as number) + d;
        this.zoneDiff[zb + i] = 0;
        changes++;
      }
    }
    const nb = cpu * this.nrNodes * NR_VM_NODE_STAT_ITEMS;
    for (let i = 0; i < this.nrNodes * NR_VM_NODE_STAT_ITEMS; i++) {
      const d = this.nodeDiff[nb + i] as number;
      if (d !== 0) {
        this.nodeStat[i] = (this.nodeStat[i] as number) + d;
        this.globalNodeStat[i % NR_VM_NODE_STAT_ITEMS] = (this.globalNodeStat[i % NR_VM_NODE_STAT_ITEMS] as number) + d;
        this.nodeDiff[nb + i] = 0;
        changes++;
      }
    }
    return changes;
  }
}
