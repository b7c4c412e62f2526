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
/**
 * Node stat item numbers by kernel enum name (`NODE_STAT.NR_ANON_MAPPED`, ...).
 * @kernel enum node_stat_item (include/linux/mmzone.h)
 */
export const NODE_STAT = Object.freeze({
  /** Inactive anon LRU pages on the node. */
  NR_INACTIVE_ANON: 0,
  /** Active anon LRU pages on the node. */
  NR_ACTIVE_ANON: 1,
  /** Inactive file LRU pages on the node. */
  NR_INACTIVE_FILE: 2,
  /** Active file LRU pages on the node. */
  NR_ACTIVE_FILE: 3,
  /** Unevictable LRU pages on the node. */
  NR_UNEVICTABLE: 4,
  /** Reclaimable slab memory, in bytes. */
  NR_SLAB_RECLAIMABLE_B: 5,
  /** Unreclaimable slab memory, in bytes. */
  NR_SLAB_UNRECLAIMABLE_B: 6,
  /** Anon pages temporarily isolated from the LRU. */
  NR_ISOLATED_ANON: 7,
  /** File pages temporarily isolated from the LRU. */
  NR_ISOLATED_FILE: 8,
  /** Shadow-entry xarray nodes kept for workingset detection. */
  WORKINGSET_NODES: 9,
  /** Refaults of evicted anon pages. */
  WORKINGSET_REFAULT_ANON: 10,
  /** Refaults of evicted file pages. */
  WORKINGSET_REFAULT_FILE: 11,
  /** Refaulted anon pages activated straight away. */
  WORKINGSET_ACTIVATE_ANON: 12,
  /** Refaulted file pages activated straight away. */
  WORKINGSET_ACTIVATE_FILE: 13,
  /** Refaulted anon pages restored as part of the workingset. */
  WORKINGSET_RESTORE_ANON: 14,
  /** Refaulted file pages restored as part of the workingset. */
  WORKINGSET_RESTORE_FILE: 15,
  /** Shadow-entry nodes reclaimed. */
  WORKINGSET_NODERECLAIM: 16,
  /** Mapped anon pages. */
  NR_ANON_MAPPED: 17,
  /** File pages mapped into page tables. */
  NR_FILE_MAPPED: 18,
  /** Page-cache pages (file and shmem). */
  NR_FILE_PAGES: 19,
  /** Dirty page-cache pages. */
  NR_FILE_DIRTY: 20,
  /** Pages under writeback. */
  NR_WRITEBACK: 21,
  /** Pages under writeback through temporary buffers. */
  NR_WRITEBACK_TEMP: 22,
  /** Shmem/tmpfs pages, including those in swap cache. */
  NR_SHMEM: 23,
  /** Shmem pages held in huge folios. */
  NR_SHMEM_THPS: 24,
  /** Shmem huge folios mapped by PMD. */
  NR_SHMEM_PMDMAPPED: 25,
  /** File pages held in huge folios. */
  NR_FILE_THPS: 26,
  /** File huge folios mapped by PMD. */
  NR_FILE_PMDMAPPED: 27,
  /** Anon pages held in huge folios. */
  NR_ANON_THPS: 28,
  /** Pages written out by reclaim. */
  NR_VMSCAN_WRITE: 29,
  /** Pages whose writeback ended while reclaim wanted them (rotated for immediate reclaim). */
  NR_VMSCAN_IMMEDIATE: 30,
  /** Pages dirtied since boot. */
  NR_DIRTIED: 31,
  /** Pages written back since boot. */
  NR_WRITTEN: 32,
  /** Pages written while reclaim was throttled on writeback. */
  NR_THROTTLED_WRITTEN: 33,
  /** Other reclaimable kernel memory. */
  NR_KERNEL_MISC_RECLAIMABLE: 34,
  /** `FOLL_PIN` pins taken. */
  NR_FOLL_PIN_ACQUIRED: 35,
  /** `FOLL_PIN` pins released. */
  NR_FOLL_PIN_RELEASED: 36,
  /** Kernel stacks, in KiB. */
  NR_KERNEL_STACK_KB: 37,
  /** Pages used for user page tables. */
  NR_PAGETABLE: 38,
  /** Pages used for secondary (e.g. KVM/IOMMU) page tables. */
  NR_SECONDARY_PAGETABLE: 39,
  /** Pages in the swap cache. */
  NR_SWAPCACHE: 40,
  /** Pages promoted to this (faster) node. */
  PGPROMOTE_SUCCESS: 41,
  /** Pages found hot enough to promote. */
  PGPROMOTE_CANDIDATE: 42,
  /** Pages demoted by kswapd. */
  PGDEMOTE_KSWAPD: 43,
  /** Pages demoted by direct reclaim. */
  PGDEMOTE_DIRECT: 44,
  /** Pages demoted by khugepaged. */
  PGDEMOTE_KHUGEPAGED: 45,
  /** Pages held by hugetlb pools. */
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
/**
 * VM event item numbers by kernel enum name.
 * @kernel enum vm_event_item (include/linux/vm_event_item.h)
 */
export const VM_EVENT = Object.freeze({
  /** Data read from block devices (shown in KiB by `/proc/vmstat`). */
  PGPGIN: 0,
  /** Data written to block devices (shown in KiB by `/proc/vmstat`). */
  PGPGOUT: 1,
  /** Pages swapped in. */
  PSWPIN: 2,
  /** Pages swapped out. */
  PSWPOUT: 3,
  /** Pages allocated from ZONE_DMA32. */
  PGALLOC_DMA32: 4,
  /** Pages allocated from ZONE_NORMAL. */
  PGALLOC_NORMAL: 5,
  /** Pages allocated from ZONE_MOVABLE. */
  PGALLOC_MOVABLE: 6,
  /** Direct-reclaim stalls for a ZONE_DMA32 allocation. */
  ALLOCSTALL_DMA32: 7,
  /** Direct-reclaim stalls for a ZONE_NORMAL allocation. */
  ALLOCSTALL_NORMAL: 8,
  /** Direct-reclaim stalls for a ZONE_MOVABLE allocation. */
  ALLOCSTALL_MOVABLE: 9,
  /** LRU pages skipped by reclaim because they were in ZONE_DMA32 (`PGSCAN_SKIP_DMA32`). */
  PGSKIP_DMA32: 10,
  /** LRU pages skipped by reclaim because they were in ZONE_NORMAL (`PGSCAN_SKIP_NORMAL`). */
  PGSKIP_NORMAL: 11,
  /** LRU pages skipped by reclaim because they were in ZONE_MOVABLE (`PGSCAN_SKIP_MOVABLE`). */
  PGSKIP_MOVABLE: 12,
  /** Pages freed. */
  PGFREE: 13,
  /** Pages moved to an active LRU. */
  PGACTIVATE: 14,
  /** Pages moved to an inactive LRU. */
  PGDEACTIVATE: 15,
  /** Pages marked lazy-free (`MADV_FREE`). */
  PGLAZYFREE: 16,
  /** Page faults. */
  PGFAULT: 17,
  /** Major page faults (needed I/O). */
  PGMAJFAULT: 18,
  /** Lazy-free pages reclaimed. */
  PGLAZYFREED: 19,
  /** Active pages scanned by reclaim. */
  PGREFILL: 20,
  /** Write faults that reused the anon page instead of copying it. */
  PGREUSE: 21,
  /** Pages reclaimed by kswapd. */
  PGSTEAL_KSWAPD: 22,
  /** Pages reclaimed by direct reclaim. */
  PGSTEAL_DIRECT: 23,
  /** Inactive pages scanned by kswapd. */
  PGSCAN_KSWAPD: 24,
  /** Inactive pages scanned by direct reclaim. */
  PGSCAN_DIRECT: 25,
  /** Anon pages scanned by reclaim. */
  PGSCAN_ANON: 26,
  /** File pages scanned by reclaim. */
  PGSCAN_FILE: 27,
  /** Anon pages reclaimed. */
  PGSTEAL_ANON: 28,
  /** File pages reclaimed. */
  PGSTEAL_FILE: 29,
  /** Pages reclaimed by freeing inodes (direct). */
  PGINODESTEAL: 30,
  /** Pages reclaimed by freeing inodes (kswapd). */
  KSWAPD_INODESTEAL: 31,
  /** kswapd reclaim runs. */
  PAGEOUTRUN: 32,
  /** Pages rotated to the LRU tail after writeback. */
  PGROTATED: 33,
  /** Pages migrated. */
  PGMIGRATE_SUCCESS: 34,
  /** Pages that failed to migrate. */
  PGMIGRATE_FAIL: 35,
  /** Huge pages allocated at fault time. */
  THP_FAULT_ALLOC: 36,
  /** Faults that fell back to small pages after a failed huge allocation. */
  THP_FAULT_FALLBACK: 37,
  /** Huge pages split. */
  THP_SPLIT_PAGE: 38,
  /** Pages read ahead from swap. */
  SWAP_RA: 39,
  /** Swap readahead pages later used. */
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
  /** Number of possible CPUs (`nr_cpu_ids`). */
  readonly nrCpus: number;
  /** Number of zones across all nodes. */
  readonly nrZones: number;
  /** Number of nodes (`nr_node_ids`). */
  readonly nrNodes: number;
  /** `zone->vm_stat[]` at `zone * NR_VM_ZONE_STAT_ITEMS + item`. */
  readonly zoneStat: Float64Array;
  /** System-wide zone counters, one per item, folded from the per-CPU diffs; mirrors `vm_zone_stat[]`. */
  readonly globalZoneStat: Float64Array;
  /** `per_cpu_zonestats.vm_stat_diff[]` at `(cpu * nrZones + zone) * items + item`. */
  readonly zoneDiff: Int32Array;
  /** `stat_threshold` per zone (the same on every CPU). */
  readonly zoneThreshold: Int32Array;
  /** `pgdat->vm_stat[]` at `nid * NR_VM_NODE_STAT_ITEMS + item`. */
  readonly nodeStat: Float64Array;
  /** System-wide node counters, one per item, folded from the per-CPU diffs; mirrors `vm_node_stat[]`. */
  readonly globalNodeStat: Float64Array;
  /** Per-CPU pending node-counter deltas at `(cpu * nrNodes + nid) * items + item`; mirrors `per_cpu_nodestats.vm_node_stat_diff[]`. */
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
