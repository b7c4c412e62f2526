/**
 * DOC: swap clusters: the lists, their transitions and allocation inside a
 * device (mm/swapfile.c, Linux 6.18).
 *
 * A device is cut into naturally aligned clusters of SWAPFILE_CLUSTER slots.
 * Every cluster is on exactly one list whose flag it carries, or off-list
 * with CLUSTER_FLAG_NONE while an allocator has isolated it:
 *
 * ```
 *              isolate (table allocated)         allocation leaves it partial
 *   free ───────────────────────────────► (none) ─────────────────────────► frag[o]
 *    ▲  ▲                                   │   allocation fills it              │
 *    │  │ discard done                      └──────────────────────────► full   │
 *    │  discard ◄── last free (PAGE_DISCARD)                              │      │
 *    │                                                                    │ free │ free
 *    └───────────── last free ◄── nonfull[o] ◄────────────────────────────┴──────┘
 * ```
 *
 * Allocation (`relocate_cluster`) moves a partly used cluster to
 * `frag[order]` and a full one to `full`; a free (`swap_entries_free`)
 * moves a partly used cluster to `nonfull[order]` and an empty one to
 * `free` (or to `discard`, on a device that discards freed clusters). A
 * non-empty cluster serves one order only (`ci->order`), so sizes never mix.
 * `cluster_alloc_swap_entry` picks a cluster in 6.18's order (L-scan):
 * one free cluster first if the device discards; all of `nonfull[order]`;
 * one free cluster; reclaim of a full cluster when swap is over half full;
 * one `frag[order]` cluster (keeps the list rotating); then, for order 0
 * only, all of `frag[o]` and `nonfull[o]` of the higher orders ("stealing").
 * Inside a cluster the scan is first-fit from the hint, stepping by the
 * allocation size, so order-N entries are aligned and contiguous.
 */
import {
  __GFP_HIGH,
  __GFP_NOMEMALLOC,
  __GFP_NOWARN,
  __GFP_ZERO,
  bugOn,
  GFP_KERNEL,
  localUnlock,
  NUMA_NO_NODE,
  spinTrylockAt,
  spinUnlock,
  spinUnlockAt,
  WorkStruct,
} from '@mm/machine';
import { swapLocalLock, swapSpinLock, swapSpinLockAt } from './internal/locks.js';
import { discardSwapCluster } from './page-io.js';
import {
  CLUSTER_FLAG_DISCARD,
  CLUSTER_FLAG_FRAG,
  CLUSTER_FLAG_FREE,
  CLUSTER_FLAG_FULL,
  CLUSTER_FLAG_NONE,
  CLUSTER_FLAG_NONFULL,
  CLUSTER_FLAG_USABLE,
  SWAP_ENTRY_INVALID,
  SWAP_HAS_CACHE,
  SWP_BLKDEV,
  SWP_PAGE_DISCARD,
  SWP_SOLIDSTATE,
  SWP_WRITEOK,
  TTRS_ANYWAY,
} from './swap.js';
import { LIST_DISCARD, LIST_FREE, LIST_FULL, type SwapInfo } from './swap-info.js';
import { tryToReclaimSwap } from './swap-map.js';
import { addFolioToTable } from './swap-state.js';
import { swapClusterFreeTable, swapTableArray } from './swap-table.js';
import { type Swap, swapRangeAlloc, vmSwapFull } from './swapfile.js';
import { mkSwpEntry } from './swp-entry.js';

// ------------------------------------------------------------------ list ops

function listAddTail(si: SwapInfo, list: number, ci: number): void {
  const tail = si.listTail[list]!;
  si.ciPrev[ci] = tail;
  si.ciNext[ci] = -1;
  if (tail === -1) si.listHead[list] = ci;
  else si.ciNext[tail] = ci;
  si.listTail[list] = ci;
  si.ciList[ci] = list;
  si.listLen[list]!++;
}

function listDel(si: SwapInfo, ci: number): void {
  const list = si.ciList[ci]!;
  const p = si.ciPrev[ci]!;
  const n = si.ciNext[ci]!;
  if (p === -1) si.listHead[list] = n;
  else si.ciNext[p] = n;
  if (n === -1) si.listTail[list] = p;
  else si.ciPrev[n] = p;
  si.ciPrev[ci] = -1;
  si.ciNext[ci] = -1;
  si.ciList[ci] = -1;
  si.listLen[list]!--;
}

/**
 * Put a cluster whose lock is held on `list` with `flag` (the list lock,
 * `si->lock`, only around the list change).
 * @kernel move_cluster (mm/swapfile.c)
 */
export function moveCluster(swap: Swap, si: SwapInfo, ci: number, list: number, flag: number): void {
  if (si.ciFlags[ci] === flag) swap.machine.warnOn(true, `swap: move_cluster of cluster ${ci} to the list it is on`);
  swapSpinLock(si.lock);
  if (si.ciList[ci] !== -1) listDel(si, ci);
  listAddTail(si, list, ci);
  spinUnlock(si.lock);
  si.ciFlags[ci] = flag;
}

/** Lock the cluster of `offset`; returns the cluster index. @kernel swap_cluster_lock (mm/swap.h) */
export function swapClusterLock(swap: Swap, si: SwapInfo, offset: number): number {
  const ci = offset >>> swap.clusterShift;
  swapSpinLockAt(si.ciLock, ci);
  return ci;
}

/** Release the lock of cluster `ci`. @kernel swap_cluster_unlock (mm/swap.h) */
export function swapClusterUnlock(si: SwapInfo, ci: number): void {
  spinUnlockAt(si.ciLock, ci);
}

/** Whether cluster `ci` can serve an allocation of `order`: on a usable list, with a table, and free or already of that order. @kernel cluster_is_usable (mm/swapfile.c) */
export function clusterIsUsable(si: SwapInfo, ci: number, order: number): boolean {
  if (si.ciFlags[ci]! > CLUSTER_FLAG_USABLE) return false;
  if (si.ciTable[ci] === null) return false;
  if (order === 0) return true;
  return si.ciCount[ci] === 0 || si.ciOrder[ci] === order;
}

// ------------------------------------------------------------- table memory

function tableTryAlloc(swap: Swap, si: SwapInfo, ci: number, gfp: number): boolean {
  let pfn = -1;
  if (swap.tableFromPages) {
    pfn = swap.machine.mem.allocPages(gfp | __GFP_ZERO, 0, NUMA_NO_NODE);
    if (pfn < 0) return false;
    swap.nrTablePages++;
  }
  si.ciTable[ci] = swapTableArray(swap);
  si.ciTablePfn[ci] = pfn;
  swap.nrTables++;
  return true;
}

/**
 * Give an isolated free cluster its swap table: an atomic try first, then,
 * with the cluster lock, the HDD lock and the local lock dropped, a sleeping
 * one. On failure the cluster goes back to the free list: -1.
 * @kernel swap_cluster_alloc_table (mm/swapfile.c)
 */
export function swapClusterAllocTable(swap: Swap, si: SwapInfo, ci: number): number {
  bugOn(
    si.ciFlags[ci] !== CLUSTER_FLAG_NONE || si.ciCount[ci] !== 0,
    'swap: table for a cluster that is not isolated and empty',
  );
  if (tableTryAlloc(swap, si, ci, __GFP_HIGH | __GFP_NOMEMALLOC | __GFP_NOWARN)) return ci;
  swap.counters.tableAllocSlow++;
  const hdd = (si.flags & SWP_SOLIDSTATE) === 0;
  swapClusterUnlock(si, ci);
  if (hdd) spinUnlock(si.globalClusterLock);
  localUnlock(swap.pcpLock);
  const ok = tableTryAlloc(swap, si, ci, __GFP_HIGH | __GFP_NOMEMALLOC | GFP_KERNEL);
  swapLocalLock(swap.pcpLock);
  if (hdd) swapSpinLock(si.globalClusterLock);
  swapSpinLockAt(si.ciLock, ci);
  if (!ok) {
    swap.counters.tableAllocFail++;
    moveCluster(swap, si, ci, LIST_FREE, CLUSTER_FLAG_FREE);
    swapClusterUnlock(si, ci);
    return -1;
  }
  return ci;
}

/**
 * Take and lock the first cluster on `list` whose lock can be trylocked,
 * unlinked with its flag cleared; -1 if none (even for a non-empty list).
 * A cluster taken from the free list gets its swap table here.
 * @kernel isolate_lock_cluster (mm/swapfile.c)
 */
export function isolateLockCluster(swap: Swap, si: SwapInfo, list: number): number {
  let found = -1;
  let flags = CLUSTER_FLAG_NONE;
  swapSpinLock(si.lock);
  for (let ci = si.listHead[list]!; ci !== -1; ci = si.ciNext[ci]!) {
    if (!spinTrylockAt(si.ciLock, ci)) continue;
    bugOn(si.ciFlags[ci] === CLUSTER_FLAG_NONE, 'swap: cluster on a list without a flag');
    listDel(si, ci);
    flags = si.ciFlags[ci]!;
    si.ciFlags[ci] = CLUSTER_FLAG_NONE;
    found = ci;
    break;
  }
  spinUnlock(si.lock);
  if (found >= 0 && flags === CLUSTER_FLAG_FREE) return swapClusterAllocTable(swap, si, found);
  return found;
}

// ----------------------------------------------------------- transitions

/**
 * Put an empty cluster on the free list, dropping its table and order.
 * @kernel __free_cluster (mm/swapfile.c)
 */
export function freeClusterNow(swap: Swap, si: SwapInfo, ci: number): void {
  swapClusterFreeTable(swap, si, ci);
  moveCluster(swap, si, ci, LIST_FREE, CLUSTER_FLAG_FREE);
  si.ciOrder[ci] = 0;
}

function scheduleDiscard(swap: Swap, si: SwapInfo, ci: number): void {
  bugOn(si.ciFlags[ci] === CLUSTER_FLAG_FREE, 'swap: discard of a free cluster');
  moveCluster(swap, si, ci, LIST_DISCARD, CLUSTER_FLAG_DISCARD);
  if (si.discardWork === null) si.discardWork = new WorkStruct(() => swapDoScheduledDiscard(swap, si));
  swap.machine.workqueues.queueWork(swap.machine.workqueues.systemWq, si.discardWork);
}

/**
 * A cluster became empty: to the discard list on a discarding device, else free.
 * @kernel free_cluster (mm/swapfile.c)
 */
export function freeCluster(swap: Swap, si: SwapInfo, ci: number): void {
  bugOn(si.ciCount[ci] !== 0, 'swap: free_cluster of a used cluster');
  bugOn(si.ciFlags[ci] === CLUSTER_FLAG_FREE, 'swap: free_cluster of a free cluster');
  if ((si.flags & (SWP_WRITEOK | SWP_PAGE_DISCARD)) === (SWP_WRITEOK | SWP_PAGE_DISCARD)) {
    scheduleDiscard(swap, si, ci);
    return;
  }
  freeClusterNow(swap, si, ci);
}

/**
 * After a free that left the cluster partly used: to `nonfull[order]`.
 * @kernel partial_free_cluster (mm/swapfile.c)
 */
export function partialFreeCluster(swap: Swap, si: SwapInfo, ci: number): void {
  if (si.ciFlags[ci] !== CLUSTER_FLAG_NONFULL) {
    moveCluster(swap, si, ci, si.nonfullList(si.ciOrder[ci]!), CLUSTER_FLAG_NONFULL);
  }
}

/**
 * After an allocation attempt: empty → free, partial → `frag[order]`,
 * full → `full`; a cluster waiting for discard is left alone.
 * @kernel relocate_cluster (mm/swapfile.c)
 */
export function relocateCluster(swap: Swap, si: SwapInfo, ci: number): void {
  const flags = si.ciFlags[ci]!;
  if (flags === CLUSTER_FLAG_DISCARD) return;
  const count = si.ciCount[ci]!;
  if (count === 0) {
    if (flags !== CLUSTER_FLAG_FREE) freeCluster(swap, si, ci);
  } else if (count !== swap.clusterSize) {
    if (flags !== CLUSTER_FLAG_FRAG) {
      moveCluster(swap, si, ci, si.fragList(si.ciOrder[ci]!, swap.nrOrders), CLUSTER_FLAG_FRAG);
    }
  } else if (flags !== CLUSTER_FLAG_FULL) {
    moveCluster(swap, si, ci, LIST_FULL, CLUSTER_FLAG_FULL);
  }
}

/**
 * Discard every cluster waiting on the discard list and free it; true if any.
 * @kernel swap_do_scheduled_discard (mm/swapfile.c)
 */
export function swapDoScheduledDiscard(swap: Swap, si: SwapInfo): boolean {
  let ret = false;
  swapSpinLock(si.lock);
  while (si.listHead[LIST_DISCARD] !== -1) {
    const ci = si.listHead[LIST_DISCARD]!;
    // off the list, but the DISCARD flag stays: allocators keep away
    listDel(si, ci);
    spinUnlock(si.lock);
    discardSwapCluster(swap, si, ci);
    swapSpinLockAt(si.ciLock, ci);
    si.ciFlags[ci] = CLUSTER_FLAG_NONE;
    freeClusterNow(swap, si, ci);
    swapClusterUnlock(si, ci);
    ret = true;
    swapSpinLock(si.lock);
  }
  spinUnlock(si.lock);
  return ret;
}

// ------------------------------------------------------- inside a cluster

/** @kernel cluster_scan_range (mm/swapfile.c) */
function clusterScanRange(swap: Swap, si: SwapInfo, ci: number, start: number, nr: number): number {
  // returns 0: not usable, 1: free, 2: usable after reclaiming cache-only slots
  if (si.ciCount[ci] === 0) return 1;
  const map = si.swapMap;
  let needReclaim = 1;
  for (let off = start, end = start + nr; off < end; off++) {
    const b = map[off]!;
    if (b === 0) continue;
    if (b === SWAP_HAS_CACHE) {
      if (!vmSwapFull(swap)) return 0;
      needReclaim = 2;
      continue;
    }
    return 0;
  }
  return needReclaim;
}

/**
 * Drop the cluster lock and reclaim the cache-only slots of [start, start+nr);
 * relock. Returns 0: cluster no longer usable for the order, 1: the range is
 * still not free, 2: the range is free.
 * @kernel cluster_reclaim_range (mm/swapfile.c)
 */
function clusterReclaimRange(swap: Swap, si: SwapInfo, ci: number, start: number, order: number): number {
  const end = start + (1 << order);
  const map = si.swapMap;
  swapClusterUnlock(si, ci);
  let off = start;
  do {
    const b = map[off]!;
    if (b === 0) {
      off++;
    } else if (b === SWAP_HAS_CACHE) {
      const n = tryToReclaimSwap(swap, si, off, TTRS_ANYWAY);
      if (n > 0) off += n;
      else break;
    } else {
      break;
    }
  } while (off < end);
  swapSpinLockAt(si.ciLock, ci);
  if (!clusterIsUsable(si, ci, order)) return 0;
  if (si.ciCount[ci] === 0) return 2;
  for (off = start; off < end; off++) if (map[off] !== 0) return 1;
  return 2;
}

/** @kernel cluster_alloc_range (mm/swapfile.c) */
function clusterAllocRange(swap: Swap, si: SwapInfo, ci: number, start: number, usage: number, order: number): boolean {
  if ((si.flags & SWP_WRITEOK) === 0) return false;
  const nr = 1 << order;
  if (si.ciCount[ci] === 0) si.ciOrder[ci] = order;
  const map = si.swapMap;
  if (nr === 1) map[start] = usage;
  else map.fill(usage, start, start + nr);
  swapRangeAlloc(swap, si, nr);
  si.ciCount[ci] = si.ciCount[ci]! + nr;
  return true;
}

/**
 * Allocate one order-`order` range in the locked cluster `ci`, scanning
 * first-fit from `offset`; unlocks the cluster and stores the next hint (the
 * CPU's per-CPU cluster for SSDs, the device's global cluster for HDDs).
 * Returns the offset found or SWAP_ENTRY_INVALID. With a `folio` (≥ 0) the
 * range found is also given to it in the swap cache before the unlock (the
 * caller then adds the node counters).
 * @kernel alloc_swap_scan_cluster (mm/swapfile.c)
 */
export function allocSwapScanCluster(
  swap: Swap,
  si: SwapInfo,
  ci: number,
  offset: number,
  order: number,
  usage: number,
  folio = -1,
): number {
  const C = swap.clusterSize;
  const nr = 1 << order;
  const start = ci * C;
  let end = start + C;
  if (end > si.max) end = si.max;
  let next = SWAP_ENTRY_INVALID;
  let found = SWAP_ENTRY_INVALID;
  if (!(end < nr || si.ciCount[ci]! + nr > C)) {
    const map = si.swapMap;
    for (end -= nr; offset <= end; offset += nr) {
      // the common rejection without a call: the first slot holds a reference
      const b0 = map[offset]!;
      if (b0 !== 0 && b0 !== SWAP_HAS_CACHE) continue;
      const scan = clusterScanRange(swap, si, ci, offset, nr);
      if (scan === 0) continue;
      if (scan === 2) {
        const r = clusterReclaimRange(swap, si, ci, offset, order);
        if (r === 0) break;
        if (si.ciCount[ci] === 0) offset = start;
        if (r === 1) continue;
      }
      if (!clusterAllocRange(swap, si, ci, offset, usage, order)) break;
      // 7.2: the folio enters the swap cache in the allocating critical section
      if (folio >= 0) addFolioToTable(swap, si, ci, folio, mkSwpEntry(si.type, offset), offset, nr);
      found = offset;
      offset += nr;
      if (si.ciCount[ci]! < C && offset <= end) next = offset;
      break;
    }
  }
  relocateCluster(swap, si, ci);
  swapClusterUnlock(si, ci);
  if ((si.flags & SWP_SOLIDSTATE) !== 0) {
    const idx = swap.machine.currentCpu * swap.nrOrders + order;
    swap.pcpOffset[idx] = next;
    swap.pcpSi[idx] = si.type;
  } else {
    si.globalNext[order] = next;
  }
  return found;
}

function allocSwapScanList(
  swap: Swap,
  si: SwapInfo,
  list: number,
  order: number,
  usage: number,
  scanAll: boolean,
): number {
  let found = SWAP_ENTRY_INVALID;
  do {
    const ci = isolateLockCluster(swap, si, list);
    if (ci < 0) break;
    swap.counters.clusterIsolated++;
    found = allocSwapScanCluster(swap, si, ci, ci * swap.clusterSize, order, usage);
    if (found !== SWAP_ENTRY_INVALID) break;
  } while (scanAll);
  return found;
}

/**
 * Reclaim cache-only slots of full clusters: one cluster, or (`force`, the
 * reclaim work) as many as the device's usage in clusters.
 * @kernel swap_reclaim_full_clusters (mm/swapfile.c)
 */
export function swapReclaimFullClusters(swap: Swap, si: SwapInfo, force: boolean): void {
  const C = swap.clusterSize;
  let toScan = force ? Math.floor(si.inusePages / C) : 1;
  const map = si.swapMap;
  for (;;) {
    const ci = isolateLockCluster(swap, si, LIST_FULL);
    if (ci < 0) break;
    let offset = ci * C;
    const end = Math.min(si.max, offset + C);
    toScan--;
    while (offset < end) {
      if (map[offset] === SWAP_HAS_CACHE) {
        swapClusterUnlock(si, ci);
        const n = tryToReclaimSwap(swap, si, offset, TTRS_ANYWAY);
        swapSpinLockAt(si.ciLock, ci);
        if (n !== 0) {
          offset += Math.abs(n);
          continue;
        }
      }
      offset++;
    }
    if (si.ciFlags[ci] === CLUSTER_FLAG_NONE) relocateCluster(swap, si, ci);
    swapClusterUnlock(si, ci);
    if (toScan <= 0) break;
  }
}

/**
 * Allocate an order-`order` range on one device, choosing the cluster in
 * 6.18's order; SWAP_ENTRY_INVALID when nothing fits.
 * @remarks Context: the per-CPU cluster local lock is held.
 * @kernel cluster_alloc_swap_entry (mm/swapfile.c)
 */
export function clusterAllocSwapEntry(swap: Swap, si: SwapInfo, order: number, usage: number): number {
  const geo = swap.geo;
  let found = SWAP_ENTRY_INVALID;
  // a swapfile on a filesystem cannot hold large entries
  if (order > 0 && (si.flags & SWP_BLKDEV) === 0) return SWAP_ENTRY_INVALID;
  const hdd = (si.flags & SWP_SOLIDSTATE) === 0;
  if (hdd) {
    // HDD allocation is serialised per device, sequentially from the global cluster
    swapSpinLock(si.globalClusterLock);
    let offset = si.globalNext[order]!;
    if (offset !== SWAP_ENTRY_INVALID) {
      const ci = swapClusterLock(swap, si, offset);
      if (clusterIsUsable(si, ci, order)) {
        if (si.ciCount[ci] === 0) offset = ci * geo.clusterSize;
        found = allocSwapScanCluster(swap, si, ci, offset, order, usage);
      } else {
        swapClusterUnlock(si, ci);
      }
    }
  }
  if (found === SWAP_ENTRY_INVALID) found = clusterAllocNew(swap, si, order, usage);
  if (hdd) spinUnlock(si.globalClusterLock);
  return found;
}

function clusterAllocNew(swap: Swap, si: SwapInfo, order: number, usage: number): number {
  const geo = swap.geo;
  let found: number;
  const discard = (si.flags & SWP_PAGE_DISCARD) !== 0;
  // a discarding device prefers a new cluster, to spread writes
  if (discard) {
    found = allocSwapScanList(swap, si, LIST_FREE, order, usage, false);
    if (found) return found;
  }
  if (order < geo.pmdOrder || !geo.thpSwap) {
    found = allocSwapScanList(swap, si, si.nonfullList(order), order, usage, true);
    if (found) return found;
  }
  if (!discard) {
    found = allocSwapScanList(swap, si, LIST_FREE, order, usage, false);
    if (found) return found;
  }
  if (vmSwapFull(swap)) swapReclaimFullClusters(swap, si, false);
  if (order < geo.pmdOrder || !geo.thpSwap) {
    // one fragment cluster is enough, and keeps the list rotating
    found = allocSwapScanList(swap, si, si.fragList(order, geo.nrOrders), order, usage, false);
    if (found) return found;
  }
  if (order > 0) return SWAP_ENTRY_INVALID;
  // order 0 steals from the higher orders' clusters
  for (let o = 1; o < geo.nrOrders; o++) {
    found = allocSwapScanList(swap, si, si.fragList(o, geo.nrOrders), 0, usage, true);
    if (found) return found;
    found = allocSwapScanList(swap, si, si.nonfullList(o), 0, usage, true);
    if (found) return found;
  }
  return SWAP_ENTRY_INVALID;
}
