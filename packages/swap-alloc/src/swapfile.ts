/**
 * DOC: swap devices and allocation (mm/swapfile.c, Linux 6.18).
 *
 * {@link Swap} is the swap subsystem of one machine: `swap_info[]`, the
 * active list, the per-node available lists, the global per-CPU cluster
 * (`percpu_swap_cluster`), `nr_swap_pages` / `total_swap_pages`, counters
 * and settings. `swapon` and `swapoff` add and remove devices;
 * `folioAllocSwap` is the single allocation entry (the kernel commit "mm, swap: simplify folio
 * swap allocation": "folio_alloc_swap
 * will be the only entry for allocation and adding the folio to swap cache").
 *
 * Allocation takes the per-CPU local lock, then tries the **fast path**: the
 * (device, offset) this CPU cached for the order, a cluster it is already
 * filling. Only when that fails does the **slow path** walk the node's
 * available list in priority order, *requeueing each device behind its
 * equal-priority peers before trying it* — so devices of one priority take
 * turns once per consumed cluster. HDDs are never cached per CPU: each HDD
 * allocation takes the slow path (rotating on every allocation) and is
 * serialised by the device's `global_cluster_lock`. An order > 0 request
 * that fails on the first device fails (the caller splits the folio).
 *
 * ```
 *  folioAllocSwap ──local_lock──► swap_alloc_fast ─hit─► cluster of pcp[cpu][order]
 *                                   │ miss (none, used up, device gone, HDD)
 *                                   ▼
 *                                 swap_alloc_slow: for si in avail[node] (prio order):
 *                                   requeue(si) ; cluster_alloc_swap_entry(si)
 *                                   └── SSD: the found cluster becomes pcp[cpu][order]
 * ```
 */
import {
  __GFP_ZERO,
  bugOn,
  EAGAIN,
  EINTR,
  EINVAL,
  ENOMEM,
  GFP_KERNEL,
  LocalLock,
  localUnlock,
  type Machine,
  MmError,
  type Prng,
  SpinLock,
  spinUnlock,
  WorkStruct,
} from '@mm/machine';
import {
  allocSwapScanCluster,
  clusterAllocSwapEntry,
  clusterIsUsable,
  swapClusterLock,
  swapClusterUnlock,
  swapDoScheduledDiscard,
  swapReclaimFullClusters,
} from './cluster.js';
import { MemmapFolios, type SwapFolioOps } from './folio-ops.js';
import { SWAP_LOCK_NAMES, swapLocalLock, swapSpinLock } from './internal/locks.js';
import { discardSwap, swapSlotFreeNotify, zeromapSet } from './page-io.js';
import {
  CLUSTER_FLAG_FREE,
  CLUSTER_FLAG_NONFULL,
  SWAP_ENTRY_INVALID,
  SWAP_FLAG_DISCARD,
  SWAP_FLAG_DISCARD_ONCE,
  SWAP_FLAG_DISCARD_PAGES,
  SWAP_FLAG_PRIO_MASK,
  SWAP_HAS_CACHE,
  SWAP_MAP_BAD,
  SWP_AREA_DISCARD,
  SWP_BLKDEV,
  SWP_DISCARDABLE,
  SWP_PAGE_DISCARD,
  SWP_SOLIDSTATE,
  SWP_SYNCHRONOUS_IO,
  SWP_USED,
  SWP_WRITEOK,
  type SwapGeometry,
  swapGeometry,
} from './swap.js';
import { LIST_FREE, type SwapDeviceKind, SwapInfo } from './swap-info.js';
import { clearShadows, folioFreeSwap, putSwapFolio, swapEntryToInfo } from './swap-map.js';
import { SlotCache, slotCacheAlloc, slotCacheDrainDevice } from './swap-slots.js';
import { addFolioLocked, delFolio, swapCacheGetFolio, swapCacheStatAdd } from './swap-state.js';
import { MAX_SWAPFILES_DEFAULT, mkSwpEntry, swpOffset, swpType } from './swp-entry.js';

/** Memory cgroup hooks for swap (optional; the kernel charges swap to the folio's memcg). */
export interface SwapMemcg {
  /** 0, or -ENOMEM when the memcg's swap limit is hit. @kernel mem_cgroup_try_charge_swap */
  tryChargeSwap(folio: number, entry: number): number;
  /** Return the charge of `nr` slots from `entry` on to the owning memcg. @kernel mem_cgroup_uncharge_swap */
  unchargeSwap(entry: number, nr: number): void;
}

/** Settings of the swap subsystem (all optional). */
export interface SwapConfig {
  /** MAX_SWAPFILES (default 24, see swp-entry.ts for the kernel's derivation). */
  readonly maxSwapfiles?: number;
  /** CONFIG_THP_SWAP (default true): 2^PMD_ORDER-slot clusters and large entries. */
  readonly thpSwap?: boolean;
  /** `vm.page-cluster` (default 3, or 2 below 16 MiB of RAM). */
  readonly pageCluster?: number;
  /** `/sys/kernel/mm/swap/vma_ra_enabled` (default true). */
  readonly vmaRaEnabled?: boolean;
  /** CONFIG_DEBUG_VM checks on the hot paths (default true). */
  readonly debugVm?: boolean;
  /** The pre-6.15 per-CPU slot cache for order-0 allocations (default false). */
  readonly slotCache?: boolean;
  /** Where swap tables live: buddy pages of the machine (default) or host memory only. */
  readonly tableMemory?: 'pages' | 'host';
  /** Folio services (default: {@link MemmapFolios} on the machine's memmap). */
  readonly folios?: SwapFolioOps;
  /** Memory cgroup hooks (default: none). */
  readonly memcg?: SwapMemcg;
  /** Called when a swap-in finds a workingset shadow. @kernel workingset_refault */
  readonly workingsetRefault?: (folio: number, shadow: number) => void;
}

/** What {@link swapon} takes (the device, its header's bad-block list and the swapon flags). */
export interface SwaponOptions {
  /** Path shown in /proc/swaps (default `/dev/<kind><type>`). */
  readonly name?: string;
  /** Size in bytes (a whole number of pages) ... */
  readonly sizeBytes?: number;
  /** ... or in pages including the header page (`si->max`). */
  readonly pages?: number;
  /** Device kind (default 'ssd'). */
  readonly kind?: SwapDeviceKind;
  /** Explicit priority 0..32767 (SWAP_FLAG_PREFER); default: the decreasing automatic priority. */
  readonly priority?: number;
  /** SWAP_FLAG_DISCARD (true), or only `'once'` (the area at swapon) or `'pages'` (freed clusters). */
  readonly discard?: boolean | 'once' | 'pages';
  /** Bad page offsets from the swap header (not 0, below max). */
  readonly badPages?: readonly number[];
  /** A swapfile on a filesystem rather than a partition (no large entries). */
  readonly file?: boolean;
  /** NUMA node of the device (automatic priorities favour it there); default none. */
  readonly node?: number;
  /** Override latencies (virtual ns) and bandwidth (bytes per virtual second). */
  readonly readLatencyNs?: number;
  /** Write latency (virtual ns per request). */
  readonly writeLatencyNs?: number;
  /** Bandwidth (bytes per virtual second). */
  readonly bandwidthBytesPerSec?: number;
  /** Random read-error probability (0..1). */
  readonly readErrorRate?: number;
}

/** Bad input to a swap API (`code` is the errno name). */
export class SwapError extends MmError {}

/** Counters: vmstat events and the model's own. */
export class SwapCounters {
  /** Pages read from swap. @kernel PSWPIN */
  pswpin = 0;
  /** Pages written to swap. @kernel PSWPOUT */
  pswpout = 0;
  /** Pages read ahead. @kernel SWAP_RA */
  swapRa = 0;
  /** Read-ahead pages that were then used. @kernel SWAP_RA_HIT */
  swapRaHit = 0;
  /** Zero-filled pages swapped in without I/O. @kernel SWPIN_ZERO */
  swpinZero = 0;
  /** Zero-filled pages swapped out without I/O. @kernel SWPOUT_ZERO */
  swpoutZero = 0;
  /** PMD-sized folios swapped out whole. @kernel THP_SWPOUT */
  thpSwpout = 0;
  /** Large entries written, per order (the per-size mTHP `swpout` stat). */
  readonly mthpSwpout: Float64Array;
  /** Allocations served by the per-CPU cluster / by the slow path / failed, per order. */
  readonly allocFast: Float64Array;
  /** Allocations served by the slow path, per order. */
  readonly allocSlow: Float64Array;
  /** Allocations that failed, per order. */
  readonly allocFail: Float64Array;
  /** Order-0 allocations served by the old slot cache, and its refills. */
  slotCacheHit = 0;
  /** Refills of the old slot cache. */
  slotCacheRefill = 0;
  /** Clusters isolated from a list by an allocator. */
  clusterIsolated = 0;
  /** Swap table allocations that needed the sleeping retry / that failed. */
  tableAllocSlow = 0;
  /** Swap table allocations that failed. */
  tableAllocFail = 0;
  /** Continuation pages in use. */
  contPages = 0;
  /** Swap cache pages reclaimed by the allocator or zap (cache-only slots). */
  cacheReclaimed = 0;
  /** Swap-ins that found another swap-in holding the slot. */
  swapinRaced = 0;
  /** Reads that failed with -EIO. */
  readErrors = 0;

  constructor(nrOrders: number) {
    this.mthpSwpout = new Float64Array(nrOrders);
    this.allocFast = new Float64Array(nrOrders);
    this.allocSlow = new Float64Array(nrOrders);
    this.allocFail = new Float64Array(nrOrders);
  }
}

/** Readahead state (`swapin_readahead_hits`, `prev_offset`, `last_readahead_pages`). */
export interface SwapRaState {
  /** Readahead pages used since the last window sizing. @kernel swapin_readahead_hits (mm/swap_state.c) */
  swapinReadaheadHits: number;
  /** Offset of the previous fault, to detect sequential access. */
  prevOffset: number;
  /** Size of the last readahead window (pages). */
  lastReadaheadPages: number;
}

/** The swap subsystem of a machine. */
export class Swap {
  /** The machine the subsystem belongs to. */
  readonly machine: Machine;
  /** How the subsystem reads and changes folios. */
  readonly folios: SwapFolioOps;
  /** Cluster size and orders. */
  readonly geo: SwapGeometry;
  /** `geo.clusterSize`, `geo.clusterShift`, `geo.nrOrders` as own fields (one load on hot paths). */
  readonly clusterSize: number;
  /** log2 of `clusterSize`. */
  readonly clusterShift: number;
  /** `SWAP_NR_ORDERS`: allocation orders the allocator serves. */
  readonly nrOrders: number;
  /** Most devices that can be swapped on (`MAX_SWAPFILES`). */
  readonly maxSwapfiles: number;
  /** Devices by swap type, `null` where no device is swapped on; mirrors `swap_info[]`. */
  readonly swapInfo: (SwapInfo | null)[];
  /** `nr_swap_pages`: free slots over all writable devices. */
  nrSwapPages: number;
  /** Usable slots over all swapped-on devices, free or in use; mirrors `total_swap_pages`. */
  totalSwapPages: number;
  /** `least_priority`: the last automatic priority handed out. */
  leastPriority: number;
  /** `nr_rotate_swap`: rotational devices swapped on. */
  nrRotateSwap: number;
  /** `swap_active_head`, highest priority first. */
  readonly active: SwapInfo[];
  /** `swap_avail_heads[nid]`, in plist order (ascending plist priority). */
  readonly availHeads: SwapInfo[][];
  /** `percpu_swap_cluster.si[order]` per CPU: device type or -1. */
  readonly pcpSi: Int8Array;
  /** `percpu_swap_cluster.offset[order]` per CPU (SWAP_ENTRY_INVALID = none). */
  readonly pcpOffset: Float64Array;
  /** @internal `percpu_swap_cluster.lock`. */
  readonly pcpLock: LocalLock;
  /** @internal `swap_lock`. */
  readonly swapLock: SpinLock;
  /** @internal `swap_avail_lock`. */
  readonly swapAvailLock: SpinLock;
  /** Event counters. */
  readonly counters: SwapCounters;
  /** log2 of the pages one cluster readahead reads (0: none; default 3); mirrors the `vm.page-cluster` sysctl. */
  pageCluster: number;
  /** Use VMA-based swap readahead rather than cluster readahead (`/sys/kernel/mm/swap/vma_ra_enabled`); mirrors `enable_vma_readahead`. */
  vmaRaEnabled: boolean;
  /** Readahead state. */
  readonly ra: SwapRaState;
  /** Swap tables take buddy pages (SWP_TABLE_USE_PAGE) rather than host memory only. */
  readonly tableFromPages: boolean;
  /** Host arrays of freed tables, reused. */
  readonly tablePool: Float64Array[];
  /** Swap tables allocated. */
  nrTables: number;
  /** Pages the swap tables take. */
  nrTablePages: number;
  /** Pages in the swap cache (NR_SWAPCACHE, machine-wide). */
  nrSwapcache: number;
  /**
   * CONFIG_DEBUG_VM: the VM_BUG_ON-style argument checks on the hot paths
   * (folio locked, not already cached). On by default; benchmarks of a
   * production kernel switch it off.
   */
  debugVm: boolean;
  /** @internal The old slot cache (null when switched off; see `setSlotCache`). */
  slotCache: SlotCache | null;
  /** @internal */
  readonly ioErrorPrng: Prng;
  /** swapon/swapoff events (`proc_poll_event`). */
  procPollEvent: number;
  /** Kernel log lines ("Adding 1048572k swap on ..."). */
  readonly log: string[];
  private readonly memcg: SwapMemcg | null;
  private readonly refault: ((folio: number, shadow: number) => void) | null;

  constructor(machine: Machine, config: SwapConfig = {}) {
    const topo = machine.topology;
    const max = config.maxSwapfiles ?? MAX_SWAPFILES_DEFAULT;
    if (!Number.isInteger(max) || max < 1 || max > 32) {
      throw new SwapError('EINVAL', `swap: maxSwapfiles ${max} out of range 1..32`);
    }
    const pageCluster = config.pageCluster ?? (machine.mem.totalramPages() * topo.pageSize < 16 * 2 ** 20 ? 2 : 3);
    if (!Number.isInteger(pageCluster) || pageCluster < 0 || pageCluster > 31) {
      throw new SwapError('EINVAL', `swap: page-cluster ${pageCluster} out of range 0..31`);
    }
    this.machine = machine;
    this.folios = config.folios ?? new MemmapFolios(machine);
    this.geo = swapGeometry(topo.pageShift, config.thpSwap ?? true);
    this.clusterSize = this.geo.clusterSize;
    this.clusterShift = this.geo.clusterShift;
    this.nrOrders = this.geo.nrOrders;
    this.maxSwapfiles = max;
    this.swapInfo = new Array<SwapInfo | null>(max).fill(null);
    this.nrSwapPages = 0;
    this.totalSwapPages = 0;
    this.leastPriority = -1;
    this.nrRotateSwap = 0;
    this.active = [];
    this.availHeads = [];
    for (let n = 0; n < topo.nrNodes; n++) this.availHeads.push([]);
    this.pcpSi = new Int8Array(topo.nrCpus * this.geo.nrOrders).fill(-1);
    this.pcpOffset = new Float64Array(topo.nrCpus * this.geo.nrOrders);
    this.pcpLock = new LocalLock(machine, SWAP_LOCK_NAMES.pcp);
    this.swapLock = new SpinLock(machine, SWAP_LOCK_NAMES.swapLock);
    this.swapAvailLock = new SpinLock(machine, SWAP_LOCK_NAMES.swapAvailLock);
    this.counters = new SwapCounters(this.geo.nrOrders);
    this.pageCluster = pageCluster;
    this.vmaRaEnabled = config.vmaRaEnabled ?? true;
    this.ra = { swapinReadaheadHits: 4, prevOffset: 0, lastReadaheadPages: 0 };
    this.tableFromPages = (config.tableMemory ?? 'pages') === 'pages' && this.geo.clusterSize * 8 === topo.pageSize;
    this.tablePool = [];
    this.nrTables = 0;
    this.nrTablePages = 0;
    this.nrSwapcache = 0;
    this.debugVm = config.debugVm ?? true;
    this.slotCache = null;
    this.ioErrorPrng = machine.prng.stream('swap_io_error');
    this.procPollEvent = 0;
    this.log = [];
    this.memcg = config.memcg ?? null;
    this.refault = config.workingsetRefault ?? null;
    if (config.slotCache === true) setSlotCache(this, true);
  }

  /** Charge the folio's slots at `entry` to its memcg through the hooks; 0, or -ENOMEM over the swap limit. @kernel mem_cgroup_try_charge_swap */
  memcgTryChargeSwap(folio: number, entry: number): number {
    return this.memcg === null ? 0 : this.memcg.tryChargeSwap(folio, entry);
  }

  /** Return the memcg charge of `nr` slots from `entry` on. @kernel mem_cgroup_uncharge_swap */
  memcgUnchargeSwap(entry: number, nr: number): void {
    if (this.memcg !== null) this.memcg.unchargeSwap(entry, nr);
  }

  /** Tell the workingset code a folio read back from swap had been evicted with `shadow`. @kernel workingset_refault */
  workingsetRefault(folio: number, shadow: number): void {
    if (this.refault !== null) this.refault(folio, shadow);
  }
}

/**
 * The swap subsystem for `machine`.
 * @throws SwapError for bad settings.
 */
export function createSwap(machine: Machine, config: SwapConfig = {}): Swap {
  return new Swap(machine, config);
}

/** Switch the old per-CPU slot cache on or off (off drains it). */
export function setSlotCache(swap: Swap, on: boolean): void {
  if (on && swap.slotCache === null) swap.slotCache = new SlotCache(swap);
  else if (!on && swap.slotCache !== null) {
    for (const si of swap.swapInfo) if (si !== null) slotCacheDrainDevice(swap, si.type);
    swap.slotCache = null;
  }
}

/** Swap is over half full. @kernel vm_swap_full (mm/swap.h) */
export function vmSwapFull(swap: Swap): boolean {
  return swap.nrSwapPages * 2 < swap.totalSwapPages;
}

/** Free slots over all writable devices. @kernel get_nr_swap_pages (include/linux/swap.h) */
export function getNrSwapPages(swap: Swap): number {
  return swap.nrSwapPages;
}

/**
 * The device of `entry` if it is live (not being swapped off) and the offset
 * is inside it; null otherwise.
 * @kernel get_swap_device (mm/swapfile.c)
 */
export function getSwapDevice(swap: Swap, entry: number): SwapInfo | null {
  const si = swapEntryToInfo(swap, entry);
  if (si === null || !si.live) return null;
  const off = swpOffset(entry);
  if (off >= si.max) return null;
  return si;
}

// ------------------------------------------------------- available lists

function plistAdd(list: SwapInfo[], si: SwapInfo, nid: number): void {
  const p = si.availPrio[nid]!;
  let i = list.length;
  while (i > 0 && list[i - 1]!.availPrio[nid]! > p) i--;
  list.splice(i, 0, si);
}

function plistDel(list: SwapInfo[], si: SwapInfo): void {
  const i = list.indexOf(si);
  if (i >= 0) list.splice(i, 1);
}

/** Move `si` behind the other nodes of its priority. @kernel plist_requeue (lib/plist.c) */
function plistRequeue(list: SwapInfo[], si: SwapInfo, nid: number): void {
  const i = list.indexOf(si);
  const p = si.availPrio[nid]!;
  let j = i;
  while (j + 1 < list.length && list[j + 1]!.availPrio[nid] === p) j++;
  if (j === i) return;
  list.splice(i, 1);
  list.splice(j, 0, si);
}

/**
 * Take a device off the available lists: at swapoff (clearing WRITEOK), or
 * when it became full.
 * @kernel del_from_avail_list (mm/swapfile.c)
 */
function delFromAvailList(swap: Swap, si: SwapInfo, swapoff: boolean): void {
  swapSpinLock(swap.swapAvailLock);
  if (swapoff) si.flags &= ~SWP_WRITEOK;
  else if (si.inusePages !== si.pages || !si.onAvail) {
    spinUnlock(swap.swapAvailLock);
    return;
  }
  if (si.onAvail) {
    si.onAvail = false;
    for (const list of swap.availHeads) plistDel(list, si);
  }
  spinUnlock(swap.swapAvailLock);
}

/**
 * Put a device (back) on the available lists: at swapon (setting WRITEOK),
 * or when a full device got a free slot.
 * @kernel add_to_avail_list (mm/swapfile.c)
 */
function addToAvailList(swap: Swap, si: SwapInfo, swapon: boolean): void {
  swapSpinLock(swap.swapAvailLock);
  if (swapon) si.flags |= SWP_WRITEOK;
  if ((si.flags & SWP_WRITEOK) !== 0 && !si.onAvail && si.inusePages !== si.pages) {
    si.onAvail = true;
    for (let nid = 0; nid < swap.availHeads.length; nid++) plistAdd(swap.availHeads[nid]!, si, nid);
  }
  spinUnlock(swap.swapAvailLock);
}

/**
 * Account `nr` allocated slots; a device that became full leaves the
 * available lists (and schedules reclaim of its cache-only slots when swap
 * is over half full).
 * @kernel swap_range_alloc (mm/swapfile.c)
 */
export function swapRangeAlloc(swap: Swap, si: SwapInfo, nr: number): void {
  si.inusePages += nr;
  if (si.inusePages === si.pages) {
    delFromAvailList(swap, si, false);
    if (vmSwapFull(swap)) {
      if (si.reclaimWork === null) si.reclaimWork = new WorkStruct(() => swapReclaimFullClusters(swap, si, true));
      swap.machine.workqueues.queueWork(swap.machine.workqueues.systemWq, si.reclaimWork);
    }
  }
  swap.nrSwapPages -= nr;
}

/**
 * Account `nr` freed slots of cluster `ci`: zeromap, injected errors and
 * shadows cleared; a full device returns to the available lists.
 * @kernel swap_range_free (mm/swapfile.c)
 */
export function swapRangeFree(swap: Swap, si: SwapInfo, ci: number, offset: number, nr: number): void {
  zeromapSet(si, offset, nr, false);
  if (si.badReads.size !== 0) for (let i = 0; i < nr; i++) swapSlotFreeNotify(si, offset + i);
  clearShadows(swap, si, ci, offset, nr);
  swap.nrSwapPages += nr;
  si.inusePages -= nr;
  if (!si.onAvail) addToAvailList(swap, si, false);
}

// ------------------------------------------------------------- allocation

/**
 * Allocate from this CPU's cached cluster for the order; 0 on a miss.
 * @remarks Context: the per-CPU cluster local lock is held.
 * @kernel swap_alloc_fast (mm/swapfile.c)
 */
export function swapAllocFast(swap: Swap, order: number, folio = -1): number {
  const idx = swap.machine.currentCpu * swap.nrOrders + order;
  const type = swap.pcpSi[idx]!;
  let offset = swap.pcpOffset[idx]!;
  if (type < 0 || offset === SWAP_ENTRY_INVALID) return 0;
  const si = swap.swapInfo[type];
  if (si === null || si === undefined || !si.live) return 0;
  const ci = swapClusterLock(swap, si, offset);
  let found = SWAP_ENTRY_INVALID;
  if (clusterIsUsable(si, ci, order)) {
    if (si.ciCount[ci] === 0) offset = ci * swap.clusterSize;
    found = allocSwapScanCluster(swap, si, ci, offset, order, SWAP_HAS_CACHE, folio);
  } else {
    swapClusterUnlock(si, ci);
  }
  return found === SWAP_ENTRY_INVALID ? 0 : mkSwpEntry(type, found);
}

/**
 * Walk this node's available devices in priority order, requeueing each
 * behind its equal-priority peers before trying it; 0 when none has room.
 * @remarks Context: the per-CPU cluster local lock is held.
 * @kernel swap_alloc_slow (mm/swapfile.c)
 */
export function swapAllocSlow(swap: Swap, order: number, usage: number): number {
  const m = swap.machine;
  const list = swap.availHeads[m.topology.cpuToNode[m.currentCpu]!]!;
  const nid = m.topology.cpuToNode[m.currentCpu]!;
  swapSpinLock(swap.swapAvailLock);
  let si: SwapInfo | undefined = list[0];
  while (si !== undefined) {
    const i = list.indexOf(si);
    const next: SwapInfo | undefined = list[i + 1];
    plistRequeue(list, si, nid);
    spinUnlock(swap.swapAvailLock);
    if (si.live) {
      const off = clusterAllocSwapEntry(swap, si, order, usage);
      if (off !== SWAP_ENTRY_INVALID) return mkSwpEntry(si.type, off);
      if (order > 0) return 0;
    }
    swapSpinLock(swap.swapAvailLock);
    if (next === undefined) break;
    // the list changed while unlocked: start over if `next` left it
    si = list.indexOf(next) < 0 ? list[0] : next;
  }
  spinUnlock(swap.swapAvailLock);
  return 0;
}

/**
 * Allocate swap space for a locked folio and add it to the swap cache: 0,
 * -ENOMEM (no space, or the memcg's swap limit), -EAGAIN (a large folio
 * without THP_SWAP: split it), -EINVAL (a folio larger than a cluster).
 * @kernel folio_alloc_swap (mm/swapfile.c)
 */
export function folioAllocSwap(swap: Swap, folio: number, _gfp = 0): number {
  const f = swap.folios;
  const order = f.folioOrder(folio);
  if (swap.debugVm) {
    bugOn(!f.folioTestLocked(folio), 'swap: folio_alloc_swap of an unlocked folio');
    if (f.folioTestSwapcache(folio)) throw new SwapError('EEXIST', `swap: folio ${folio} is already in the swap cache`);
  }
  if (order > 0 && !swap.geo.thpSwap) return -EAGAIN;
  if (1 << order > swap.clusterSize) {
    swap.machine.warnOn(true, `swap: folio of order ${order} larger than a swap cluster`);
    return -EINVAL;
  }
  let entry = 0;
  // whether the fast path already put the folio in the swap cache (7.2 does
  // that inside the allocating cluster critical section)
  let added = false;
  if (order === 0 && swap.slotCache !== null) entry = slotCacheAlloc(swap);
  if (entry === 0) {
    for (;;) {
      swapLocalLock(swap.pcpLock);
      entry = swapAllocFast(swap, order, folio);
      if (entry !== 0) {
        swap.counters.allocFast[order]!++;
        added = true;
      } else {
        entry = swapAllocSlow(swap, order, SWAP_HAS_CACHE);
        if (entry !== 0) swap.counters.allocSlow[order]!++;
      }
      localUnlock(swap.pcpLock);
      // 6.18 (stable fix): run pending discards synchronously, then retry
      if (entry === 0 && order === 0 && swapSyncDiscard(swap)) continue;
      break;
    }
  }
  if (added) swapCacheStatAdd(swap, folio, 1 << order);
  // charged even on failure, so that the memcg counts the failure
  if (swap.memcgTryChargeSwap(folio, entry) !== 0) {
    if (added) delFolio(swap, swap.swapInfo[swpType(entry)]!, folio, swpOffset(entry), 1 << order, -1);
    else if (entry !== 0) putSwapFolio(swap, folio, entry);
    swap.counters.allocFail[order]!++;
    return -ENOMEM;
  }
  if (entry === 0) {
    swap.counters.allocFail[order]!++;
    return -ENOMEM;
  }
  if (!added) addFolioLocked(swap, swap.swapInfo[swpType(entry)]!, folio, entry, swpOffset(entry), 1 << order);
  return 0;
}

/**
 * Run the pending discards of the available devices; true if any ran.
 * @kernel swap_sync_discard (mm/swapfile.c)
 */
export function swapSyncDiscard(swap: Swap): boolean {
  for (const si of [...swap.active]) {
    if (si.live && (si.flags & SWP_PAGE_DISCARD) !== 0 && swapDoScheduledDiscard(swap, si)) return true;
  }
  return false;
}

/**
 * Hibernation: one order-0 slot of device `type` with one reference, not
 * through the per-CPU cache; the entry or 0.
 * @kernel get_swap_page_of_type (mm/swapfile.c)
 */
export function getSwapPageOfType(swap: Swap, type: number): number {
  const si = swap.swapInfo[type];
  if (si === null || si === undefined || !si.live) return 0;
  swapLocalLock(swap.pcpLock);
  let off = SWAP_ENTRY_INVALID;
  if ((si.flags & SWP_WRITEOK) !== 0) off = clusterAllocSwapEntry(swap, si, 0, 1);
  localUnlock(swap.pcpLock);
  return off === SWAP_ENTRY_INVALID ? 0 : mkSwpEntry(type, off);
}

/**
 * Forget every CPU's cached cluster on `si` (swapoff).
 * @kernel flush_percpu_swap_cluster (mm/swapfile.c)
 */
function flushPercpuSwapCluster(swap: Swap, si: SwapInfo): void {
  for (let i = 0; i < swap.pcpSi.length; i++) {
    if (swap.pcpSi[i] === si.type) {
      swap.pcpSi[i] = -1;
      swap.pcpOffset[i] = SWAP_ENTRY_INVALID;
    }
  }
}

// ------------------------------------------------------------------ swapon

const DEFAULT_BANDWIDTH: Record<SwapDeviceKind, number> = {
  ssd: 2e9,
  hdd: 150e6,
  zram: 20e9,
  pmem: 8e9,
};

/**
 * Swap on a device: set up its map and clusters and make it available.
 * Returns the type (index in `swap_info[]`).
 * @throws SwapError EPERM when every type is taken, EINVAL for a bad size or
 *   bad-page list, ENOMEM when a swap table for a cluster with bad slots
 *   could not be allocated (nothing is left behind).
 * @kernel sys_swapon (mm/swapfile.c)
 */
export function swapon(swap: Swap, opts: SwaponOptions): number {
  const m = swap.machine;
  const geo = swap.geo;
  const ps = m.topology.pageSize;
  const kind = opts.kind ?? 'ssd';
  if (!(kind in DEFAULT_BANDWIDTH)) throw new SwapError('EINVAL', `swap: swapon: unknown device kind ${String(kind)}`);
  let max: number;
  if (opts.pages !== undefined) max = opts.pages;
  else if (opts.sizeBytes !== undefined) {
    if (opts.sizeBytes % ps !== 0)
      throw new SwapError('EINVAL', `swap: swapon: size ${opts.sizeBytes} is not a whole number of pages`);
    max = opts.sizeBytes / ps;
  } else throw new SwapError('EINVAL', 'swap: swapon: give sizeBytes or pages');
  if (!Number.isInteger(max) || max < 2 || max > 2 ** 31) {
    throw new SwapError('EINVAL', `swap: swapon: ${max} pages is not a usable size (2..2^31 pages)`);
  }
  const prio = opts.priority;
  if (prio !== undefined && (!Number.isInteger(prio) || prio < 0 || prio > SWAP_FLAG_PRIO_MASK)) {
    throw new SwapError('EINVAL', `swap: swapon: priority ${prio} out of range 0..${SWAP_FLAG_PRIO_MASK}`);
  }
  const bad = [...(opts.badPages ?? [])];
  const seen = new Set<number>();
  for (const b of bad) {
    if (!Number.isInteger(b) || b <= 0 || b >= max || seen.has(b)) {
      throw new SwapError('EINVAL', `swap: swapon: bad page ${b} is invalid or duplicated (max ${max})`);
    }
    seen.add(b);
  }
  if (max - 1 - bad.length <= 0) throw new SwapError('EINVAL', 'swap: swapon: Empty swap-file');
  const node = opts.node ?? -1;
  if (!Number.isInteger(node) || node < -1 || node >= m.topology.nrNodes) {
    throw new SwapError('EINVAL', `swap: swapon: node ${node} does not exist`);
  }
  const rate = opts.readErrorRate ?? 0;
  if (!(rate >= 0 && rate <= 1)) throw new SwapError('EINVAL', `swap: swapon: readErrorRate ${rate} not in 0..1`);

  // alloc_swap_info(): the first free type
  swapSpinLock(swap.swapLock);
  let type = -1;
  for (let t = 0; t < swap.maxSwapfiles; t++) {
    if (swap.swapInfo[t] === null) {
      type = t;
      break;
    }
  }
  spinUnlock(swap.swapLock);
  if (type < 0) throw new SwapError('EPERM', `swap: swapon: all ${swap.maxSwapfiles} swap types are in use`);
  const name = opts.name ?? `/dev/${kind}${type}`;
  for (const other of swap.swapInfo) {
    if (other !== null && other.name === name)
      throw new SwapError('EBUSY', `swap: swapon: ${name} is already a swap area`);
  }

  const si = new SwapInfo(m, geo, type, {
    name,
    kind,
    node,
    max,
    nrBad: bad.length,
  });
  si.flags = SWP_USED;
  if (opts.file !== true) si.flags |= SWP_BLKDEV;
  if (kind !== 'hdd') si.flags |= SWP_SOLIDSTATE;
  if (kind === 'zram' || kind === 'pmem') si.flags |= SWP_SYNCHRONOUS_IO;
  si.pages = max - 1 - bad.length;
  const costs = m.costs;
  si.readLatencyNs =
    opts.readLatencyNs ??
    (kind === 'ssd' ? costs.ioSsdRead : kind === 'hdd' ? costs.ioHdd : kind === 'pmem' ? costs.ioPmem : 0);
  si.writeLatencyNs =
    opts.writeLatencyNs ??
    (kind === 'ssd' ? costs.ioSsdWrite : kind === 'hdd' ? costs.ioHdd : kind === 'pmem' ? costs.ioPmem : 0);
  si.bytesPerNs = (opts.bandwidthBytesPerSec ?? DEFAULT_BANDWIDTH[kind]) / 1e9;
  si.readErrorRate = rate;

  // the map: header and bad slots are BAD
  si.swapMap[0] = SWAP_MAP_BAD;
  for (const b of bad) si.swapMap[b] = SWAP_MAP_BAD;
  // setup_clusters(): unusable slots (header, bad, tail) count as used
  const C = geo.clusterSize;
  si.ciCount[0] = si.ciCount[0]! + 1;
  for (const b of bad) si.ciCount[b >>> geo.clusterShift]!++;
  const tail = si.nrClusters * C - max;
  if (tail > 0) si.ciCount[si.nrClusters - 1] = si.ciCount[si.nrClusters - 1]! + tail;
  for (let ci = 0; ci < si.nrClusters; ci++) {
    if (si.ciCount[ci]! > 0) {
      // clusters with unusable slots need their table for marking; they start on nonfull[0]
      if (!setupTable(swap, si, ci)) {
        for (let c = 0; c < ci; c++) releaseTable(swap, si, c);
        throw new SwapError('ENOMEM', `swap: swapon ${name}: no memory for swap tables`);
      }
      addSetupList(si, ci, si.nonfullList(0), CLUSTER_FLAG_NONFULL);
    } else {
      addSetupList(si, ci, LIST_FREE, CLUSTER_FLAG_FREE);
    }
  }
  if (kind === 'hdd') {
    swap.nrRotateSwap++;
    si.globalNext.fill(SWAP_ENTRY_INVALID);
  }
  if (opts.discard !== undefined && opts.discard !== false && (kind === 'ssd' || kind === 'zram')) {
    const flags =
      SWAP_FLAG_DISCARD |
      (opts.discard === 'once' ? SWAP_FLAG_DISCARD_ONCE : 0) |
      (opts.discard === 'pages' ? SWAP_FLAG_DISCARD_PAGES : 0);
    si.flags |= SWP_DISCARDABLE | SWP_AREA_DISCARD | SWP_PAGE_DISCARD;
    if (flags & SWAP_FLAG_DISCARD_ONCE) si.flags &= ~SWP_PAGE_DISCARD;
    else if (flags & SWAP_FLAG_DISCARD_PAGES) si.flags &= ~SWP_AREA_DISCARD;
    discardSwap(swap, si);
  }

  // enable_swap_info()
  swapSpinLock(swap.swapLock);
  swap.swapInfo[type] = si;
  enableSwapInfo(swap, si, prio ?? -1);
  spinUnlock(swap.swapLock);
  addToAvailList(swap, si, true);
  swap.procPollEvent++;
  const flagsTxt =
    ((si.flags & SWP_SOLIDSTATE) !== 0 ? 'SS' : '') +
    ((si.flags & SWP_DISCARDABLE) !== 0 ? 'D' : '') +
    ((si.flags & SWP_AREA_DISCARD) !== 0 ? 's' : '') +
    ((si.flags & SWP_PAGE_DISCARD) !== 0 ? 'c' : '');
  const kb = ps / 1024;
  swap.log.push(
    `Adding ${si.pages * kb}k swap on ${name}.  Priority:${si.prio} extents:1 across:${si.pages * kb}k ${flagsTxt}`,
  );
  return type;
}

/**
 * Priorities (explicit, or the next automatic one; the device's own node
 * puts an automatic device first there), the global counts and the active
 * list. Context: swap_lock held.
 * @kernel setup_swap_info, _enable_swap_info (mm/swapfile.c)
 */
function enableSwapInfo(swap: Swap, si: SwapInfo, prio: number): void {
  if (prio >= 0) si.prio = prio;
  else si.prio = --swap.leastPriority;
  for (let nid = 0; nid < si.availPrio.length; nid++) {
    if (si.prio >= 0) si.availPrio[nid] = -si.prio;
    else si.availPrio[nid] = si.node === nid ? 1 : -si.prio;
  }
  swap.nrSwapPages += si.pages;
  swap.totalSwapPages += si.pages;
  let i = 0;
  while (i < swap.active.length && swap.active[i]!.prio >= si.prio) i++;
  swap.active.splice(i, 0, si);
  si.live = true;
}

function addSetupList(si: SwapInfo, ci: number, list: number, flag: number): void {
  const tail = si.listTail[list]!;
  si.ciPrev[ci] = tail;
  si.ciNext[ci] = -1;
  if (tail === -1) si.listHead[list] = ci;
  else si.ciNext[tail] = ci;
  si.listTail[list] = ci;
  si.ciList[ci] = list;
  si.listLen[list]!++;
  si.ciFlags[ci] = flag;
}

function setupTable(swap: Swap, si: SwapInfo, ci: number): boolean {
  let pfn = -1;
  if (swap.tableFromPages) {
    pfn = swap.machine.mem.allocPages(GFP_KERNEL | __GFP_ZERO, 0, -1);
    if (pfn < 0) return false;
    swap.nrTablePages++;
  }
  si.ciTable[ci] = new Float64Array(swap.clusterSize);
  si.ciTablePfn[ci] = pfn;
  swap.nrTables++;
  return true;
}

function releaseTable(swap: Swap, si: SwapInfo, ci: number): void {
  if (si.ciTable[ci] === null) return;
  si.ciTable[ci] = null;
  swap.nrTables--;
  const pfn = si.ciTablePfn[ci]!;
  si.ciTablePfn[ci] = -1;
  if (pfn >= 0) {
    swap.machine.mem.freePages(pfn, 0);
    swap.nrTablePages--;
  }
}

// ----------------------------------------------------------------- swapoff

/** The consumer's part of swapoff: bring back every reference to a device. */
export interface SwapUnuse {
  /**
   * For every page-table (and shmem) reference to a slot of device `type`:
   * get the folio (`swapCacheGetFolio`, else `swapinReadahead`), lock it,
   * make the mapping present again (or install a poison marker if the folio
   * is not uptodate), drop the reference with `swapFree`, and call
   * `folioFreeSwap`. Return 0, or a negative errno to abort swapoff.
   * @kernel unuse_mm (mm/swapfile.c), shmem_unuse (mm/shmem.c)
   */
  unuse(swap: Swap, type: number): number;
}

/** Unuse rounds before swapoff gives up with -EINTR (the kernel retries until a signal). */
export const TRY_TO_UNUSE_ROUNDS = 8;

/**
 * Bring every entry of `type` back: the consumer's unuse, then drop the
 * remaining cache-only folios. 0, or the consumer's error, or -EINTR.
 * @kernel try_to_unuse (mm/swapfile.c)
 */
export function tryToUnuse(swap: Swap, type: number, unuse: SwapUnuse): number {
  const si = swap.swapInfo[type]!;
  const f = swap.folios;
  for (let round = 0; round < TRY_TO_UNUSE_ROUNDS && si.inusePages > 0; round++) {
    const err = unuse.unuse(swap, type);
    if (err !== 0) return err;
    // find_next_to_unuse(): folios left only in the swap cache
    for (let off = 1; off < si.max && si.inusePages > 0; off++) {
      const b = si.swapMap[off]!;
      if (b === 0 || b === SWAP_MAP_BAD) continue;
      const folio = swapCacheGetFolio(swap, mkSwpEntry(type, off));
      if (folio < 0) continue;
      if (f.folioTrylock(folio)) {
        folioFreeSwap(swap, folio);
        f.folioUnlock(folio);
      }
      f.folioPut(folio);
    }
  }
  return si.inusePages > 0 ? -EINTR : 0;
}

/**
 * Swap off device `type` (or the device named so): stop allocation, bring
 * every entry back through `unuse`, and free the device. Returns 0 or a
 * negative errno (the device is then put back as it was).
 * @throws SwapError EINVAL when no such device is swapped on.
 * @kernel sys_swapoff (mm/swapfile.c)
 */
export function swapoff(swap: Swap, which: number | string, unuse: SwapUnuse): number {
  const si =
    typeof which === 'number'
      ? (swap.swapInfo[which] ?? null)
      : (swap.swapInfo.find((s) => s !== null && s.name === which) ?? null);
  if (si === null || (si.flags & SWP_WRITEOK) === 0) {
    throw new SwapError('EINVAL', `swap: swapoff: ${String(which)} is not an active swap area`);
  }
  delFromAvailList(swap, si, true);
  const oldPrio = si.prio;
  if (si.prio < 0) {
    for (const o of swap.active) {
      if (o === si || o.prio >= si.prio) continue;
      o.prio++;
      for (let nid = 0; nid < o.availPrio.length; nid++) if (o.availPrio[nid] !== 1) o.availPrio[nid]!--;
    }
    swap.leastPriority++;
  }
  swapSpinLock(swap.swapLock);
  swap.active.splice(swap.active.indexOf(si), 1);
  swap.nrSwapPages -= si.pages;
  swap.totalSwapPages -= si.pages;
  spinUnlock(swap.swapLock);
  // the old slot cache pins slots of this device: give them back first
  slotCacheDrainDevice(swap, si.type);
  flushPercpuSwapCluster(swap, si);
  const err = tryToUnuse(swap, si.type, unuse);
  if (err !== 0) {
    // reinsert_swap_info(): an automatic priority is handed out anew
    swapSpinLock(swap.swapLock);
    enableSwapInfo(swap, si, oldPrio >= 0 ? oldPrio : -1);
    spinUnlock(swap.swapLock);
    addToAvailList(swap, si, true);
    return err;
  }
  si.live = false;
  flushPercpuSwapCluster(swap, si);
  // flush the discard work: whatever waits is freed now
  swapDoScheduledDiscard(swap, si);
  for (let ci = 0; ci < si.nrClusters; ci++) releaseTableAtSwapoff(swap, si, ci);
  for (const pfn of si.contPfns) swap.machine.mem.freePages(pfn, 0);
  swap.counters.contPages -= si.contPfns.length;
  si.contPfns.length = 0;
  si.cont.clear();
  if (si.kind === 'hdd') swap.nrRotateSwap--;
  swapSpinLock(swap.swapLock);
  swap.swapInfo[si.type] = null;
  si.flags = 0;
  spinUnlock(swap.swapLock);
  swap.procPollEvent++;
  return 0;
}

function releaseTableAtSwapoff(swap: Swap, si: SwapInfo, ci: number): void {
  if (si.ciTable[ci] === null) return;
  bugOn(
    si.ciTable[ci]!.some((v) => v > 0),
    `swap: swapoff with a folio still cached in cluster ${ci}`,
  );
  releaseTable(swap, si, ci);
}
