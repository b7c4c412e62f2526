/**
 * DOC: `swap_map` reference counts (mm/swapfile.c, Linux 6.18).
 *
 * One byte per slot: 0 free; 1..SWAP_MAP_MAX (62) page-table/shmem
 * references; SWAP_MAP_BAD; SWAP_MAP_SHMEM; plus the SWAP_HAS_CACHE flag
 * (the swap cache holds the slot) and COUNT_CONTINUED (the count goes on in
 * continuation pages). A count past SWAP_MAP_MAX carries into a continuation
 * page: one page per page of `swap_map`, one byte (0..SWAP_CONT_MAX, plus
 * COUNT_CONTINUED if a further page holds more) for each entry of that
 * `swap_map` page, like decimal digits:
 *
 * ```
 *   count = low + d1·63 + d2·63·128 + ...   low in swap_map (0..62), d_i in page i (0..127)
 * ```
 *
 * Every change of a slot's byte happens under its cluster's lock; the last
 * reference (`swap_entries_free`) zeroes the bytes, updates the cluster's
 * count and moves the cluster to `nonfull` or `free`.
 */
import { EEXIST, EINVAL, ENOENT, ENOMEM, GFP_ATOMIC, MmBugError, MmError, NUMA_NO_NODE, spinUnlock } from '@mm/machine';
import { freeCluster, partialFreeCluster, swapClusterLock, swapClusterUnlock } from './cluster.js';
import { swapSpinLock } from './internal/locks.js';
import {
  COUNT_CONTINUED,
  SWAP_CONT_MAX,
  SWAP_HAS_CACHE,
  SWAP_MAP_BAD,
  SWAP_MAP_MAX,
  SWAP_MAP_SHMEM,
  SWP_CONTINUED,
  TTRS_ANYWAY,
  TTRS_FULL,
  TTRS_UNMAPPED,
} from './swap.js';
import type { SwapInfo } from './swap-info.js';
import { delFolio, swapCacheClearShadow, swapCacheDelFolio, swapCacheGetFolio } from './swap-state.js';
import { getSwapDevice, type Swap, swapRangeFree, vmSwapFull } from './swapfile.js';
import { mkSwpEntry, swpOffset, swpType } from './swp-entry.js';

// ------------------------------------------------------------- continuation

/**
 * Carry into or borrow from the continuation of `offset`, whose low digit is
 * `count` (without the cache bit). Incrementing from SWAP_MAP_MAX: true when
 * carried (the low digit becomes 0|COUNT_CONTINUED), false when a new page is
 * needed. Decrementing from COUNT_CONTINUED: true when more remains in the
 * continuation (the low digit becomes MAX|COUNT_CONTINUED), else false (MAX).
 * @remarks Context: the cluster lock is held; takes `si->cont_lock`.
 * @kernel swap_count_continued (mm/swapfile.c)
 */
export function swapCountContinued(swap: Swap, si: SwapInfo, offset: number, count: number): boolean {
  const pageShift = swap.machine.topology.pageShift;
  const pages = si.cont.get(offset >>> pageShift);
  if (pages === undefined) {
    if ((count & COUNT_CONTINUED) !== 0) swap.machine.warnOn(true, 'swap: COUNT_CONTINUED without continuation');
    return false;
  }
  const o = offset & ((1 << pageShift) - 1);
  swapSpinLock(si.contLock);
  let ret: boolean;
  let p = 0;
  if (count === SWAP_MAP_MAX) {
    // initial increment from swap_map: the first page's byte may be stale
    pages[0]![o] = 1;
    ret = true;
  } else if (count === (SWAP_MAP_MAX | COUNT_CONTINUED)) {
    // incrementing: think of how you add 1 to 999
    while (pages[p]![o] === (SWAP_CONT_MAX | COUNT_CONTINUED)) p++;
    ret = true;
    if (pages[p]![o] === SWAP_CONT_MAX) {
      p++;
      if (p === pages.length) {
        ret = false;
      } else {
        pages[p]![o] = 0;
      }
    }
    if (ret) {
      pages[p]![o] = pages[p]![o]! + 1;
      while (--p >= 0) pages[p]![o] = COUNT_CONTINUED;
    }
  } else {
    // decrementing: think of how you subtract 1 from 1000
    if (count !== COUNT_CONTINUED) throw new MmBugError(`swap: continuation decrement from 0x${count.toString(16)}`);
    while (pages[p]![o] === COUNT_CONTINUED) p++;
    let c = COUNT_CONTINUED;
    pages[p]![o] = pages[p]![o]! - 1;
    if (pages[p]![o] === 0) c = 0;
    while (--p >= 0) {
      pages[p]![o] = SWAP_CONT_MAX | c;
      c = COUNT_CONTINUED;
    }
    ret = c === COUNT_CONTINUED;
  }
  spinUnlock(si.contLock);
  return ret;
}

/**
 * Add a continuation page for `entry`, whose count reached SWAP_MAP_MAX
 * (called after {@link swapDuplicateRaw} returned -ENOMEM). Returns 0, or
 * -ENOMEM when no page could be had. Nothing is added when another page
 * already has room (or the count changed meanwhile).
 * @kernel add_swap_count_continuation (mm/swapfile.c)
 */
export function addSwapCountContinuation(swap: Swap, entry: number, gfp: number): number {
  const pfn = swap.machine.mem.allocPages(gfp, 0, NUMA_NO_NODE);
  const si = getSwapDevice(swap, entry);
  if (si === null) {
    if (pfn >= 0) swap.machine.mem.freePages(pfn, 0);
    return 0;
  }
  const offset = swpOffset(entry);
  const ci = swapClusterLock(swap, si, offset);
  let keep = false;
  let ret = 0;
  let count = si.swapMap[offset]! & ~SWAP_HAS_CACHE;
  if ((count & ~COUNT_CONTINUED) === SWAP_MAP_MAX) {
    if (pfn < 0) {
      ret = -ENOMEM;
    } else {
      const pageShift = swap.machine.topology.pageShift;
      const o = offset & ((1 << pageShift) - 1);
      const key = offset >>> pageShift;
      swapSpinLock(si.contLock);
      let pages = si.cont.get(key);
      if (pages === undefined) {
        pages = [];
        si.cont.set(key, pages);
        si.flags |= SWP_CONTINUED;
      }
      let room = false;
      for (const page of pages) {
        // a previous digit said "no continuation": our slot has room already
        if ((count & COUNT_CONTINUED) === 0) {
          room = true;
          break;
        }
        count = page[o]!;
        if ((count & ~COUNT_CONTINUED) !== SWAP_CONT_MAX) {
          room = true;
          break;
        }
      }
      if (!room) {
        pages.push(new Uint8Array(1 << pageShift));
        si.contPfns.push(pfn);
        swap.counters.contPages++;
        keep = true;
      }
      spinUnlock(si.contLock);
    }
  }
  swapClusterUnlock(si, ci);
  if (!keep && pfn >= 0) swap.machine.mem.freePages(pfn, 0);
  return ret;
}

/** Free every continuation page of a device (swapoff). @kernel free_swap_count_continuations */
export function freeSwapCountContinuations(swap: Swap, si: SwapInfo): void {
  for (const pfn of si.contPfns) swap.machine.mem.freePages(pfn, 0);
  swap.counters.contPages -= si.contPfns.length;
  si.contPfns.length = 0;
  si.cont.clear();
  si.flags &= ~SWP_CONTINUED;
}

// ----------------------------------------------------------- references up

/**
 * Add `usage` (1, SWAP_HAS_CACHE or SWAP_MAP_SHMEM) to `nr` entries of one
 * cluster: all are checked, then all are changed. Returns 0, -ENOENT (free
 * or bad slot), -EEXIST (cache bit already set), -EINVAL (count above max:
 * shmem or bad), or -ENOMEM (a continuation page is needed).
 * @kernel __swap_duplicate (mm/swapfile.c)
 */
export function swapDuplicateRaw(swap: Swap, entry: number, usage: number, nr: number): number {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return -EINVAL;
  const offset = swpOffset(entry);
  if (offset + nr > si.max) return -EINVAL;
  const ci = swapClusterLock(swap, si, offset);
  const map = si.swapMap;
  let err = 0;
  for (let i = 0; i < nr; i++) {
    let count = map[offset + i]!;
    if ((count & ~SWAP_HAS_CACHE) === SWAP_MAP_BAD) {
      err = -ENOENT;
      break;
    }
    const hasCache = count & SWAP_HAS_CACHE;
    count &= ~SWAP_HAS_CACHE;
    if (count === 0 && hasCache === 0) err = -ENOENT;
    else if (usage === SWAP_HAS_CACHE) {
      if (hasCache !== 0) err = -EEXIST;
    } else if ((count & ~COUNT_CONTINUED) > SWAP_MAP_MAX) err = -EINVAL;
    if (err !== 0) break;
  }
  if (err === 0) {
    for (let i = 0; i < nr; i++) {
      let count = map[offset + i]!;
      let hasCache = count & SWAP_HAS_CACHE;
      count &= ~SWAP_HAS_CACHE;
      if (usage === SWAP_HAS_CACHE) hasCache = SWAP_HAS_CACHE;
      else if ((count & ~COUNT_CONTINUED) < SWAP_MAP_MAX) count += usage;
      else if (swapCountContinued(swap, si, offset + i, count)) count = COUNT_CONTINUED;
      else {
        // usage == 1 means nr == 1: nothing to roll back
        err = -ENOMEM;
        break;
      }
      map[offset + i] = count | hasCache;
    }
  }
  swapClusterUnlock(si, ci);
  return err;
}

/**
 * One more page-table reference (fork, try_to_unmap). Returns 0, or -ENOMEM
 * when a needed continuation page could not be had with GFP_ATOMIC (the
 * caller may retry {@link addSwapCountContinuation} with GFP_KERNEL after
 * dropping its locks). Other failures (a corrupt entry) return 0.
 * @kernel swap_duplicate (mm/swapfile.c)
 */
export function swapDuplicate(swap: Swap, entry: number): number {
  let err = 0;
  while (err === 0 && swapDuplicateRaw(swap, entry, 1, 1) === -ENOMEM) {
    err = addSwapCountContinuation(swap, entry, GFP_ATOMIC);
  }
  return err;
}

/**
 * Claim `nr` slots for a swap-in (the cache bit as a lock). -EEXIST when
 * someone else holds the cache bit.
 * @kernel swapcache_prepare (mm/swapfile.c)
 */
export function swapcachePrepare(swap: Swap, entry: number, nr: number): number {
  return swapDuplicateRaw(swap, entry, SWAP_HAS_CACHE, nr);
}

/**
 * Mark entries as owned by shmem (one reference dropped in one step).
 * @kernel swap_shmem_alloc (mm/swapfile.c)
 */
export function swapShmemAlloc(swap: Swap, entry: number, nr: number): number {
  return swapDuplicateRaw(swap, entry, SWAP_MAP_SHMEM, nr);
}

// --------------------------------------------------------- references down

/**
 * The last reference of `nr` entries of one cluster is gone: zero them,
 * lower the cluster count, release the slots and move the cluster.
 * @remarks Context: the cluster lock is held.
 * @kernel swap_entries_free (mm/swapfile.c)
 */
export function swapEntriesFree(swap: Swap, si: SwapInfo, ci: number, offset: number, nr: number): void {
  const map = si.swapMap;
  if ((offset + nr - 1) >>> swap.clusterShift !== ci || si.ciCount[ci]! < nr) {
    throw new MmBugError(
      `swap: swap_entries_free of ${nr} at ${offset} outside cluster ${ci} (count ${si.ciCount[ci]})`,
    );
  }
  si.ciCount[ci] = si.ciCount[ci]! - nr;
  for (let off = offset, end = offset + nr; off < end; off++) {
    const b = map[off]!;
    if (b !== SWAP_HAS_CACHE && b !== 1 && b !== SWAP_MAP_SHMEM) {
      throw new MmBugError(`swap: freeing slot ${off} with count 0x${b.toString(16)}`);
    }
    map[off] = 0;
  }
  swap.memcgUnchargeSwap(mkSwpEntry(si.type, offset), nr);
  swapRangeFree(swap, si, ci, offset, nr);
  if (si.ciCount[ci] === 0) freeCluster(swap, si, ci);
  else partialFreeCluster(swap, si, ci);
}

/**
 * Drop one reference of kind `usage` (1, or SWAP_HAS_CACHE) from a slot;
 * frees it when nothing remains. Returns the new byte (0 = freed).
 * @remarks Context: the cluster lock is held.
 * @kernel swap_entry_put_locked (mm/swapfile.c)
 */
export function swapEntryPutLocked(swap: Swap, si: SwapInfo, ci: number, offset: number, usage: number): number {
  const map = si.swapMap;
  let count = map[offset]!;
  let hasCache = count & SWAP_HAS_CACHE;
  count &= ~SWAP_HAS_CACHE;
  if (usage === SWAP_HAS_CACHE) {
    if (hasCache === 0) throw new MmBugError(`swap: dropping a cache reference slot ${offset} does not hold`);
    hasCache = 0;
  } else if (count === SWAP_MAP_SHMEM) {
    count = 0;
  } else if ((count & ~COUNT_CONTINUED) <= SWAP_MAP_MAX) {
    if (count === COUNT_CONTINUED) {
      count = swapCountContinued(swap, si, offset, count) ? SWAP_MAP_MAX | COUNT_CONTINUED : SWAP_MAP_MAX;
    } else {
      count--;
    }
  }
  const res = count | hasCache;
  if (res !== 0) map[offset] = res;
  else swapEntriesFree(swap, si, ci, offset, 1);
  return res;
}

/** Every byte of the range is exactly SWAP_HAS_CACHE. @kernel swap_only_has_cache (mm/swapfile.c) */
export function swapOnlyHasCache(si: SwapInfo, offset: number, nr: number): boolean {
  const map = si.swapMap;
  for (let off = offset, end = offset + nr; off < end; off++) if (map[off] !== SWAP_HAS_CACHE) return false;
  return true;
}

/**
 * Drop one map reference from each of `nr` entries of one cluster; true if
 * any is left held by the cache only.
 * @kernel swap_entries_put_map (mm/swapfile.c)
 */
function swapEntriesPutMap(swap: Swap, si: SwapInfo, offset: number, nr: number): boolean {
  const map = si.swapMap;
  let hasCache = false;
  const ci = swapClusterLock(swap, si, offset);
  const first = map[offset]!;
  const c = first & ~SWAP_HAS_CACHE;
  let batched = false;
  if (nr > 1 && (c === 1 || c === SWAP_MAP_SHMEM)) {
    // swap_is_last_map(): every byte equal, a last reference each
    batched = true;
    for (let off = offset + 1, end = offset + nr; off < end; off++) {
      if (map[off] !== first) {
        batched = false;
        break;
      }
    }
  }
  if (batched) {
    hasCache = (first & SWAP_HAS_CACHE) !== 0;
    if (!hasCache) swapEntriesFree(swap, si, ci, offset, nr);
    else map.fill(SWAP_HAS_CACHE, offset, offset + nr);
  } else {
    for (let i = 0; i < nr; i++) {
      if (swapEntryPutLocked(swap, si, ci, offset + i, 1) === SWAP_HAS_CACHE) hasCache = true;
    }
  }
  swapClusterUnlock(si, ci);
  return hasCache;
}

function swapEntriesPutMapNr(swap: Swap, si: SwapInfo, offset: number, nr: number): boolean {
  const C = swap.clusterSize;
  let rest = C - (offset % C);
  let hasCache = false;
  while (nr > 0) {
    const n = Math.min(nr, rest);
    if (swapEntriesPutMap(swap, si, offset, n)) hasCache = true;
    rest = C;
    nr -= n;
    offset += n;
  }
  return hasCache;
}

function checkRange(swap: Swap, entry: number, nr: number, what: string): SwapInfo | null {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return null;
  const off = swpOffset(entry);
  if (off === 0 || off + nr > si.max || !(nr >= 1)) {
    swap.machine.warnOn(true, `swap: ${what} of bad entry ${swpType(entry)}:${off} (+${nr})`);
    return null;
  }
  return si;
}

/**
 * Drop one page-table reference from each of `nr` entries (swap-in
 * finished). Entries left with only the cache bit stay in the swap cache.
 * @kernel swap_free_nr (mm/swapfile.c)
 */
export function swapFreeNr(swap: Swap, entry: number, nr: number): void {
  const si = checkRange(swap, entry, nr, 'swap_free_nr');
  if (si === null) return;
  let offset = swpOffset(entry);
  const C = swap.clusterSize;
  while (nr > 0) {
    const n = Math.min(nr, C - (offset % C));
    swapEntriesPutMap(swap, si, offset, n);
    offset += n;
    nr -= n;
  }
}

/** Drop one reference to the slot of `entry`, freeing the slot with the last one. @kernel swap_free (include/linux/swap.h) */
export function swapFree(swap: Swap, entry: number): void {
  swapFreeNr(swap, entry, 1);
}

/**
 * Drop the swap cache's reference on the folio's slots (after the folio left
 * the swap cache, or when adding it failed).
 * @kernel put_swap_folio (mm/swapfile.c)
 */
export function putSwapFolio(swap: Swap, folio: number, entry: number): void {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return;
  putSwapSlots(swap, si, swpOffset(entry), 1 << swap.folios.folioOrder(folio));
}

/** The body of put_swap_folio() with the entry decoded. */
export function putSwapSlots(swap: Swap, si: SwapInfo, offset: number, size: number): void {
  const ci = swapClusterLock(swap, si, offset);
  putSwapSlotsLocked(swap, si, ci, offset, size);
  swapClusterUnlock(si, ci);
}

/**
 * {@link putSwapSlots} with the cluster lock `ci` already held (the swap
 * cache removal frees the slots in the same critical section).
 * @remarks Context: the cluster lock is held.
 */
export function putSwapSlotsLocked(swap: Swap, si: SwapInfo, ci: number, offset: number, size: number): void {
  if (size === 1) {
    // the order-0 common case without the scan loop
    if (si.swapMap[offset] === SWAP_HAS_CACHE) swapEntriesFree(swap, si, ci, offset, 1);
    else swapEntryPutLocked(swap, si, ci, offset, SWAP_HAS_CACHE);
  } else if (swapOnlyHasCache(si, offset, size)) swapEntriesFree(swap, si, ci, offset, size);
  else for (let i = 0; i < size; i++) swapEntryPutLocked(swap, si, ci, offset + i, SWAP_HAS_CACHE);
}

/**
 * Drop the cache bit taken by {@link swapcachePrepare} on the synchronous
 * swap-in path (no folio was added to the swap cache).
 * @kernel swapcache_clear (mm/swapfile.c)
 */
export function swapcacheClear(swap: Swap, entry: number, nr: number): void {
  const si = checkRange(swap, entry, nr, 'swapcache_clear');
  if (si === null) return;
  const offset = swpOffset(entry);
  const ci = swapClusterLock(swap, si, offset);
  if (swapOnlyHasCache(si, offset, nr)) swapEntriesFree(swap, si, ci, offset, nr);
  else for (let i = 0; i < nr; i++) swapEntryPutLocked(swap, si, ci, offset + i, SWAP_HAS_CACHE);
  swapClusterUnlock(si, ci);
}

/**
 * Drop one reference from each of `nr` entries (zap, munmap) and reclaim the
 * swap cache folios left unmapped with no reference.
 * @kernel free_swap_and_cache_nr (mm/swapfile.c)
 */
export function freeSwapAndCacheNr(swap: Swap, entry: number, nr: number): void {
  const type = swpType(entry);
  if (type >= swap.maxSwapfiles) return; // a non-swap entry
  const si = getSwapDevice(swap, entry);
  if (si === null) return;
  const start = swpOffset(entry);
  const end = start + nr;
  if (end > si.max || start === 0) {
    swap.machine.warnOn(true, `swap: free_swap_and_cache_nr past the device (${start}+${nr})`);
    return;
  }
  if (!swapEntriesPutMapNr(swap, si, start, nr)) return;
  // reclaim per folio: folios are naturally aligned in swap
  for (let offset = start; offset < end; ) {
    let n = 1;
    if (si.swapMap[offset] === SWAP_HAS_CACHE) {
      n = tryToReclaimSwap(swap, si, offset, TTRS_UNMAPPED | TTRS_FULL);
      if (n === 0) n = 1;
      else if (n < 0) n = -n;
      n = Math.ceil((offset + 1) / n) * n - offset;
    }
    offset += n;
  }
}

// ----------------------------------------------------------------- queries

/** The device of an entry, or null for a bad type. @kernel swap_entry_to_info */
export function swapEntryToInfo(swap: Swap, entry: number): SwapInfo | null {
  const t = swpType(entry);
  if (t >= swap.maxSwapfiles) return null;
  return swap.swapInfo[t] ?? null;
}

/** The swap count without the cache bit (COUNT_CONTINUED kept). @kernel __swap_count (mm/swapfile.c) */
export function __swapCount(swap: Swap, entry: number): number {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return 0;
  return si.swapMap[swpOffset(entry)]! & ~SWAP_HAS_CACHE;
}

/**
 * The exact number of references (page tables, shmem), continuation included.
 * @kernel swp_swapcount (mm/swapfile.c)
 */
export function swpSwapcount(swap: Swap, entry: number): number {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return 0;
  const offset = swpOffset(entry);
  let count = si.swapMap[offset]! & ~SWAP_HAS_CACHE;
  if (count === SWAP_MAP_SHMEM) return 1;
  if ((count & COUNT_CONTINUED) === 0) return count;
  count &= ~COUNT_CONTINUED;
  const pageShift = swap.machine.topology.pageShift;
  const pages = si.cont.get(offset >>> pageShift);
  if (pages === undefined) return count;
  const o = offset & ((1 << pageShift) - 1);
  let n = SWAP_MAP_MAX + 1;
  for (const page of pages) {
    const d = page[o]!;
    count += (d & ~COUNT_CONTINUED) * n;
    n *= SWAP_CONT_MAX + 1;
    if ((d & COUNT_CONTINUED) === 0) break;
  }
  return count;
}

/** Whether the slot has any page-table/shmem reference. @kernel swap_entry_swapped (mm/swapfile.c) */
export function swapEntrySwapped(si: SwapInfo, offset: number): boolean {
  return (si.swapMap[offset]! & ~SWAP_HAS_CACHE) !== 0;
}

function slotsSwapped(swap: Swap, si: SwapInfo, offset: number, nr: number): boolean {
  const ci = swapClusterLock(swap, si, offset);
  const ret = slotsMaybeSwapped(si, offset, nr);
  swapClusterUnlock(si, ci);
  return ret;
}

/**
 * Whether any of the slots has a page-table/shmem reference, read without
 * the cluster lock: the caller holds the lock of the folio caching them, so
 * they cannot be freed (7.2 `folio_maybe_swapped`, an RCU read).
 */
function slotsMaybeSwapped(si: SwapInfo, offset: number, nr: number): boolean {
  const map = si.swapMap;
  for (let off = offset, end = offset + nr; off < end; off++) {
    if ((map[off]! & ~SWAP_HAS_CACHE) !== 0) return true;
  }
  return false;
}

/** Whether any slot of the folio has a page-table reference. @kernel folio_swapped (mm/swapfile.c) */
export function folioSwapped(swap: Swap, folio: number): boolean {
  const entry = swap.folios.folioSwap(folio);
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return false;
  return slotsSwapped(swap, si, swpOffset(entry), 1 << swap.folios.folioOrder(folio));
}

/** In the swap cache and not under writeback (and storage not suspended). @kernel folio_swapcache_freeable */
export function folioSwapcacheFreeable(swap: Swap, folio: number): boolean {
  const f = swap.folios;
  if (swap.debugVm && !f.folioTestLocked(folio))
    throw new MmError('EINVAL', 'swap: folio_swapcache_freeable of an unlocked folio');
  return f.folioTestSwapcache(folio) && !f.folioTestWriteback(folio);
}

/**
 * Free the swap space of a locked swap cache folio that no page table
 * references any more; the folio becomes dirty (its only copy is in memory).
 * @kernel folio_free_swap (mm/swapfile.c)
 */
export function folioFreeSwap(swap: Swap, folio: number): boolean {
  if (!folioSwapcacheFreeable(swap, folio)) return false;
  const f = swap.folios;
  const entry = f.folioSwap(folio);
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return false;
  const offset = swpOffset(entry);
  const nr = 1 << f.folioOrder(folio);
  // 7.2 folio_maybe_swapped(): no cluster lock, the folio lock pins the slots
  if (slotsMaybeSwapped(si, offset, nr)) return false;
  delFolio(swap, si, folio, offset, nr, -1);
  f.folioSetDirty(folio);
  return true;
}

/**
 * Try to drop the swap cache folio at `offset` (TTRS_* conditions). Returns
 * +nr when reclaimed, −nr when a folio was found but kept, 0 when none.
 * @kernel __try_to_reclaim_swap (mm/swapfile.c)
 */
export function tryToReclaimSwap(swap: Swap, si: SwapInfo, offset: number, flags: number): number {
  const f = swap.folios;
  const entry = mkSwpEntry(si.type, offset);
  for (;;) {
    const folio = swapCacheGetFolio(swap, entry);
    if (folio < 0) return 0;
    const nr = 1 << f.folioOrder(folio);
    let ret = -nr;
    if (!f.folioTrylock(folio)) {
      f.folioPut(folio);
      return ret;
    }
    const fe = f.folioSwap(folio);
    if (
      !f.folioTestSwapcache(folio) ||
      swpType(fe) !== si.type ||
      offset < swpOffset(fe) ||
      offset >= swpOffset(fe) + nr
    ) {
      f.folioUnlock(folio);
      f.folioPut(folio);
      continue;
    }
    const start = swpOffset(fe);
    const need =
      (flags & TTRS_ANYWAY) !== 0 ||
      ((flags & TTRS_UNMAPPED) !== 0 && !f.folioMapped(folio)) ||
      ((flags & TTRS_FULL) !== 0 && vmSwapFull(swap));
    if (need && folioSwapcacheFreeable(swap, folio)) {
      const ci = swapClusterLock(swap, si, start);
      const only = swapOnlyHasCache(si, start, nr);
      swapClusterUnlock(si, ci);
      if (only) {
        swapCacheDelFolio(swap, folio);
        f.folioSetDirty(folio);
        swap.counters.cacheReclaimed += nr;
        ret = nr;
      }
    }
    f.folioUnlock(folio);
    f.folioPut(folio);
    return ret;
  }
}

/** Clear the shadows of freed slots (part of swap_range_free). */
export function clearShadows(swap: Swap, si: SwapInfo, ci: number, offset: number, nr: number): void {
  swapCacheClearShadow(swap, si, ci, offset, nr);
}
