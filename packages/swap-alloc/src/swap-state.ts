/**
 * DOC: the swap cache and swap-in readahead (mm/swap_state.c, Linux 6.18).
 *
 * The swap cache maps a swap entry to the folio that holds its data while
 * the folio is being written out or was just read in. Since 6.18 it is the
 * per-cluster swap table (swap-table.ts): adding a folio stores it in the
 * `nr` table slots of its entries under the cluster lock and cannot fail;
 * the folio gains `nr` references, PG_swapcache and `folio->swap`, and the
 * node counters NR_FILE_PAGES and NR_SWAPCACHE grow by `nr`. Deleting puts
 * NULL (or a workingset shadow) back.
 *
 * Readahead: `swapinReadahead` uses VMA-based readahead (the virtual
 * neighbours of the fault, read through {@link SwapVmaRa}, which the
 * consumer implements over its page tables) when `vma_ra_enabled` is set and
 * no rotational device is swapped on, else cluster readahead (the aligned
 * block of `1 << page_cluster` slots around the faulting one). Both size
 * their window with `__swapin_nr_pages()` from the readahead hits.
 */
import { EEXIST, MmError, NODE_STAT, VM_EVENT } from '@mm/machine';
import { swapClusterLock, swapClusterUnlock } from './cluster.js';
import { ioPlugBegin, swapReadFolio } from './page-io.js';
import { SWAP_HAS_CACHE } from './swap.js';
import type { SwapInfo } from './swap-info.js';
import { putSwapSlotsLocked, swapcachePrepare, swapEntryToInfo } from './swap-map.js';
import {
  folioToSwpTb,
  shadowToSwpTb,
  swapTableGet,
  swpTbIsFolio,
  swpTbIsShadow,
  swpTbToFolio,
  swpTbToShadow,
} from './swap-table.js';
import type { Swap } from './swapfile.js';
import { mkSwpEntry, swpOffset, swpType } from './swp-entry.js';

function clusterOf(swap: Swap, offset: number): number {
  return offset >>> swap.clusterShift;
}

function statMod(swap: Swap, folio: number, nr: number): void {
  const m = swap.machine;
  const nid = swap.folios.folioNid(folio);
  const vm = m.mem.vmstat;
  vm.modNodePageState(m.currentCpu, nid, NODE_STAT.NR_FILE_PAGES, nr);
  vm.modNodePageState(m.currentCpu, nid, NODE_STAT.NR_SWAPCACHE, nr);
  swap.nrSwapcache += nr;
}

/**
 * Store the folio in its `nr` table slots; the shadow found there, or -1.
 * The internal form of {@link swapCacheAddFolio} with the entry decoded.
 */
export function addFolioLocked(
  swap: Swap,
  si: SwapInfo,
  folio: number,
  entry: number,
  offset: number,
  nr: number,
): number {
  const ci = swapClusterLock(swap, si, offset);
  const shadow = addFolioToTable(swap, si, ci, folio, entry, offset, nr);
  swapClusterUnlock(si, ci);
  statMod(swap, folio, nr);
  return shadow;
}

/**
 * Store the folio in its `nr` table slots of the locked cluster `ci`, take
 * its references and set PG_swapcache; the shadow found there, or -1. The
 * node counters are left to the caller ({@link swapCacheStatAdd}, after the
 * unlock). 7.2's allocation calls this inside the allocating critical section.
 * @remarks Context: the cluster lock is held.
 */
export function addFolioToTable(
  swap: Swap,
  si: SwapInfo,
  ci: number,
  folio: number,
  entry: number,
  offset: number,
  nr: number,
): number {
  const f = swap.folios;
  const table = si.ciTable[ci]!;
  const tb = folioToSwpTb(folio);
  let shadow = -1;
  const start = offset & (swap.clusterSize - 1);
  for (let i = start, end = start + nr; i < end; i++) {
    const old = table[i]!;
    if (old !== 0) {
      if (swpTbIsFolio(old)) swap.machine.warnOn(true, `swap: slot ${offset} already caches a folio`);
      else shadow = swpTbToShadow(old);
    }
    table[i] = tb;
  }
  f.folioRefAdd(folio, nr);
  f.folioSetSwapcache(folio, entry);
  return shadow;
}

/** NR_FILE_PAGES and NR_SWAPCACHE of the folio's node, and the cache size, by `nr`. */
export function swapCacheStatAdd(swap: Swap, folio: number, nr: number): void {
  statMod(swap, folio, nr);
}

/**
 * Add a locked folio to the swap cache at `entry` (its slots are allocated
 * and hold the cache bit). Returns the shadow that was there (-1: none).
 * @kernel swap_cache_add_folio (mm/swap_state.c)
 */
export function swapCacheAddFolio(swap: Swap, folio: number, entry: number): number {
  const f = swap.folios;
  if (!f.folioTestLocked(folio)) throw new MmError('EINVAL', 'swap: swap_cache_add_folio of an unlocked folio');
  if (f.folioTestSwapcache(folio)) throw new MmError('EEXIST', 'swap: folio already in the swap cache');
  const si = swapEntryToInfo(swap, entry)!;
  return addFolioLocked(swap, si, folio, entry, swpOffset(entry), 1 << f.folioOrder(folio));
}

/** Replace the folio by NULL or a shadow in its table slots; clear PG_swapcache. */
export function delFolioFromTable(
  swap: Swap,
  si: SwapInfo,
  folio: number,
  offset: number,
  nr: number,
  shadow: number,
): void {
  const ci = swapClusterLock(swap, si, offset);
  delFolioFromTableLocked(swap, si, ci, folio, offset, nr, shadow);
  swapClusterUnlock(si, ci);
  statMod(swap, folio, -nr);
}

/** {@link delFolioFromTable} under the held cluster lock `ci`, without the counters. */
function delFolioFromTableLocked(
  swap: Swap,
  si: SwapInfo,
  ci: number,
  folio: number,
  offset: number,
  nr: number,
  shadow: number,
): void {
  const table = si.ciTable[ci]!;
  const tb = shadow >= 0 ? shadowToSwpTb(shadow) : 0;
  const ftb = folioToSwpTb(folio);
  const start = offset & (swap.clusterSize - 1);
  for (let i = start, end = start + nr; i < end; i++) {
    if (table[i] !== ftb) swap.machine.warnOn(true, `swap: slot ${offset} does not cache folio ${folio}`);
    table[i] = tb;
  }
  swap.folios.folioClearSwapcache(folio);
}

/**
 * Replace the folio by NULL (or `shadow` ≥ 0) in its table slots and clear
 * PG_swapcache; references and `swap_map` are left alone.
 * @remarks Context: the folio is locked, in the swap cache, not under writeback.
 * @kernel __swap_cache_del_folio (mm/swap_state.c)
 */
export function __swapCacheDelFolio(swap: Swap, folio: number, shadow: number): void {
  const f = swap.folios;
  const entry = f.folioSwap(folio);
  delFolioFromTable(swap, swapEntryToInfo(swap, entry)!, folio, swpOffset(entry), 1 << f.folioOrder(folio), shadow);
}

/** The body of swap_cache_del_folio() with the entry decoded. */
export function delFolio(swap: Swap, si: SwapInfo, folio: number, offset: number, nr: number, shadow: number): void {
  // one cluster critical section for the table and the slots, as 7.2's
  // __swap_cache_do_del_folio frees the entries under the lock it holds
  const ci = swapClusterLock(swap, si, offset);
  delFolioFromTableLocked(swap, si, ci, folio, offset, nr, shadow);
  putSwapSlotsLocked(swap, si, ci, offset, nr);
  swapClusterUnlock(si, ci);
  statMod(swap, folio, -nr);
  swap.folios.folioRefSub(folio, nr);
}

function checkDel(swap: Swap, folio: number): void {
  const f = swap.folios;
  if (!f.folioTestLocked(folio) || !f.folioTestSwapcache(folio) || f.folioTestWriteback(folio)) {
    throw new MmError('EINVAL', `swap: swap_cache_del_folio of folio ${folio} that is not locked, cached and idle`);
  }
}

/**
 * Remove a locked folio from the swap cache: NULL in its slots, the cache
 * bit dropped (freeing slots no page table references), its references put.
 * @kernel swap_cache_del_folio (mm/swap_state.c)
 */
export function swapCacheDelFolio(swap: Swap, folio: number): void {
  checkDel(swap, folio);
  const f = swap.folios;
  const entry = f.folioSwap(folio);
  delFolio(swap, swapEntryToInfo(swap, entry)!, folio, swpOffset(entry), 1 << f.folioOrder(folio), -1);
}

/**
 * Reclaim's removal: leave the workingset `shadow` in the slots, then drop
 * the cache bit and the references.
 * @kernel __remove_mapping (mm/vmscan.c), swap cache part
 */
export function swapCacheDelFolioShadow(swap: Swap, folio: number, shadow: number): void {
  checkDel(swap, folio);
  const f = swap.folios;
  const entry = f.folioSwap(folio);
  delFolio(swap, swapEntryToInfo(swap, entry)!, folio, swpOffset(entry), 1 << f.folioOrder(folio), shadow);
}

/**
 * Put `newFolio` where `oldFolio` is (migration, split into same-sized parts
 * is the consumer's loop over this).
 * @kernel __swap_cache_replace_folio (mm/swap_state.c)
 */
export function swapCacheReplaceFolio(swap: Swap, oldFolio: number, newFolio: number): void {
  const f = swap.folios;
  const entry = f.folioSwap(oldFolio);
  const si = swapEntryToInfo(swap, entry)!;
  const offset = swpOffset(entry);
  const nr = 1 << f.folioOrder(newFolio);
  const ci = swapClusterLock(swap, si, offset);
  const table = si.ciTable[ci]!;
  const start = offset & (swap.clusterSize - 1);
  for (let i = start; i < start + nr; i++) table[i] = folioToSwpTb(newFolio);
  swapClusterUnlock(si, ci);
}

/**
 * The folio caching `entry`, with a reference taken, or -1. Not locked: the
 * caller locks it and checks that it still matches the entry.
 * @kernel swap_cache_get_folio (mm/swap_state.c)
 */
export function swapCacheGetFolio(swap: Swap, entry: number): number {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return -1;
  const offset = swpOffset(entry);
  if (offset >= si.max) return -1;
  const tb = swapTableGet(si, clusterOf(swap, offset), offset & (swap.clusterSize - 1));
  if (!swpTbIsFolio(tb)) return -1;
  const folio = swpTbToFolio(tb);
  swap.folios.folioRefAdd(folio, 1);
  return folio;
}

/** The workingset shadow stored for `entry`, or -1. @kernel swap_cache_get_shadow (mm/swap_state.c) */
export function swapCacheGetShadow(swap: Swap, entry: number): number {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return -1;
  const offset = swpOffset(entry);
  const tb = swapTableGet(si, clusterOf(swap, offset), offset & (swap.clusterSize - 1));
  return swpTbIsShadow(tb) ? swpTbToShadow(tb) : -1;
}

/** Clear the shadows of `nr` freed slots. @kernel __swap_cache_clear_shadow (mm/swap_state.c) */
export function swapCacheClearShadow(swap: Swap, si: SwapInfo, ci: number, offset: number, nr: number): void {
  const table = si.ciTable[ci];
  if (table === null || table === undefined) return;
  const start = offset & (swap.clusterSize - 1);
  for (let i = start, end = start + nr; i < end; i++) {
    const tb = table[i]!;
    if (tb < 0) table[i] = 0;
    else if (tb !== 0) swap.machine.warnOn(true, `swap: freed slot ${offset + i - start} still caches a folio`);
  }
}

// ------------------------------------------------------------------ readahead

/** What VMA-based readahead needs from the consumer's VMA and page tables. */
export interface SwapVmaRa {
  /** First address of the VMA (`vma->vm_start`). */
  readonly vmStart: number;
  /** End address of the VMA, exclusive (`vma->vm_end`); readahead stays inside [vmStart, vmEnd). */
  readonly vmEnd: number;
  /** `vma->swap_readahead_info` (0 = never set: 4 hits). */
  swapReadaheadInfo: number;
  /**
   * The swap entry in the PTE mapping `addr` (read locklessly), or -1 when
   * it is not a swap PTE or is a non-swap entry (migration, marker, ...).
   */
  swapEntryAt(addr: number): number;
  /** NUMA node to allocate readahead folios on (-1: local). */
  readonly nid?: number;
}

/** `SWAP_RA_ORDER_CEILING`: VMA readahead window at most 2^5 pages. */
export const SWAP_RA_ORDER_CEILING = 5;

/**
 * The readahead window heuristic ("+ 2 just happens to work well").
 * @kernel __swapin_nr_pages (mm/swap_state.c)
 */
export function __swapinNrPages(
  prevOffset: number,
  offset: number,
  hits: number,
  maxPages: number,
  prevWin: number,
): number {
  let pages = hits + 2;
  if (pages === 2) {
    if (offset !== prevOffset + 1 && offset !== prevOffset - 1) pages = 1;
  } else {
    let roundup = 4;
    while (roundup < pages) roundup <<= 1;
    pages = roundup;
  }
  if (pages > maxPages) pages = maxPages;
  const lastRa = prevWin >>> 1;
  if (pages < lastRa) pages = lastRa;
  return pages;
}

/** The cluster readahead window from the global hits. @kernel swapin_nr_pages (mm/swap_state.c) */
function swapinNrPages(swap: Swap, offset: number): number {
  const ra = swap.ra;
  const maxPages = 1 << swap.pageCluster;
  if (maxPages <= 1) return 1;
  const hits = ra.swapinReadaheadHits;
  ra.swapinReadaheadHits = 0;
  const pages = __swapinNrPages(ra.prevOffset, offset, hits, maxPages, ra.lastReadaheadPages);
  if (hits === 0) ra.prevOffset = offset;
  ra.lastReadaheadPages = pages;
  return pages;
}

/** Result flag of {@link readSwapCacheAsync}: the folio was newly allocated (I/O needed). */
export interface SwapinResult {
  /** The folio (with a reference) or -1. */
  folio: number;
  /** True when the folio was allocated and added here: the caller reads it. */
  allocated: boolean;
}

/**
 * Find the folio of `entry` in the swap cache, or allocate one, claim the
 * slot and add it (locked, not yet read). `folio` is -1 when the entry is
 * not in use any more, when memory ran out, or when `skipIfExists` and
 * another swap-in holds the slot.
 * @kernel __read_swap_cache_async (mm/swap_state.c)
 */
export function readSwapCacheAsync(
  swap: Swap,
  entry: number,
  gfp: number,
  nid: number,
  _skipIfExists: boolean,
  out: SwapinResult,
): SwapinResult {
  const f = swap.folios;
  out.folio = -1;
  out.allocated = false;
  const si = swapEntryToInfo(swap, entry);
  if (si === null || !si.live) return out;
  const offset = swpOffset(entry);
  const found = swapCacheGetFolio(swap, entry);
  if (found >= 0) {
    out.folio = found;
    return out;
  }
  // skip an unused slot: no page table or shmem reference
  if ((si.swapMap[offset]! & ~SWAP_HAS_CACHE) === 0) return out;
  const folio = f.folioAlloc(gfp, 0, nid);
  if (folio < 0) return out;
  const err = swapcachePrepare(swap, entry, 1);
  if (err !== 0) {
    f.folioPut(folio);
    // Another swap-in holds the slot (-EEXIST). The kernel sleeps a tick and
    // retries unless skip_if_exists; here the holder cannot progress within
    // this call, so the caller retries later (as a fault does on
    // VM_FAULT_RETRY).
    if (err === -EEXIST) swap.counters.swapinRaced++;
    return out;
  }
  f.folioTrylock(folio);
  f.folioSetSwapbacked(folio);
  const shadow = swapCacheAddFolio(swap, folio, entry);
  if (shadow >= 0) swap.workingsetRefault(folio, shadow);
  f.folioAddLru(folio);
  out.folio = folio;
  out.allocated = true;
  return out;
}

const scratch: SwapinResult = { folio: -1, allocated: false };

/**
 * Read `entry` and the aligned block of `1 << page_cluster` slots around it.
 * Returns the target folio (referenced, unlocked once read) or -1.
 * @kernel swap_cluster_readahead (mm/swap_state.c)
 */
export function swapClusterReadahead(swap: Swap, entry: number, gfp: number, nid: number): number {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return -1;
  const target = swpOffset(entry);
  const mask = swapinNrPages(swap, target) - 1;
  if (mask > 0) {
    let start = target & ~mask;
    let end = target | mask;
    if (start === 0) start = 1;
    if (end >= si.max) end = si.max - 1;
    const plug = ioPlugBegin(si);
    for (let off = start; off <= end; off++) {
      const r = readSwapCacheAsync(swap, mkSwpEntry(si.type, off), gfp, nid, false, scratch);
      if (r.folio < 0) continue;
      if (r.allocated) {
        swapReadFolio(swap, r.folio, plug);
        if (off !== target) {
          swap.folios.folioSetReadahead(r.folio);
          countRa(swap);
        }
      }
      swap.folios.folioPut(r.folio);
    }
  }
  return readTarget(swap, entry, gfp, nid);
}

function countRa(swap: Swap): void {
  swap.counters.swapRa++;
  swap.machine.mem.vmstat.countVmEvents(swap.machine.currentCpu, VM_EVENT.SWAP_RA, 1);
}

function readTarget(swap: Swap, entry: number, gfp: number, nid: number): number {
  const r = readSwapCacheAsync(swap, entry, gfp, nid, false, scratch);
  if (r.allocated) swapReadFolio(swap, r.folio, -1);
  return r.folio;
}

const SWAP_RA_WIN_SHIFT_OF = (pageShift: number): number => pageShift >>> 1;

/** Pack `vma->swap_readahead_info`. @kernel SWAP_RA_VAL (mm/swap_state.c) */
export function swapRaVal(swap: Swap, addr: number, win: number, hits: number): number {
  const ps = swap.machine.topology.pageSize;
  const sh = SWAP_RA_WIN_SHIFT_OF(swap.machine.topology.pageShift);
  return Math.floor(addr / ps) * ps + win * 2 ** sh + hits;
}

function unpackRa(swap: Swap, val: number): { addr: number; win: number; hits: number } {
  const ps = swap.machine.topology.pageSize;
  const sh = SWAP_RA_WIN_SHIFT_OF(swap.machine.topology.pageShift);
  const v = val === 0 ? 4 : val;
  const low = v % ps;
  return { addr: v - low, win: low >>> sh, hits: low & ((1 << sh) - 1) };
}

/**
 * Read the swap entries mapped around the fault address `addr` in the VMA
 * (window from the VMA's readahead state, clamped to the VMA and the PMD).
 * @kernel swap_vma_readahead (mm/swap_state.c)
 */
export function swapVmaReadahead(swap: Swap, entry: number, gfp: number, vma: SwapVmaRa, addr: number): number {
  const ps = swap.machine.topology.pageSize;
  const nid = vma.nid ?? -1;
  const maxWin = 1 << Math.min(swap.pageCluster, SWAP_RA_ORDER_CEILING);
  if (maxWin > 1) {
    const faddr = Math.floor(addr / ps) * ps;
    const prev = unpackRa(swap, vma.swapReadaheadInfo);
    const win = __swapinNrPages(prev.addr / ps, faddr / ps, prev.hits, maxWin, prev.win);
    vma.swapReadaheadInfo = swapRaVal(swap, faddr, win, 0);
    if (win > 1) {
      let left: number;
      if (faddr === prev.addr + ps) left = faddr;
      else if (prev.addr === faddr + ps) left = faddr - win * ps + ps;
      else left = faddr - Math.floor((win - 1) / 2) * ps;
      const right = left + win * ps;
      if (left < 0) left = 0;
      const pmdSize = ps * 2 ** swap.geo.pmdOrder;
      const pmdStart = Math.floor(faddr / pmdSize) * pmdSize;
      const start = Math.max(left, vma.vmStart, pmdStart);
      const end = Math.min(right, vma.vmEnd, pmdStart + pmdSize);
      let plugSi: SwapInfo | null = null;
      let plug = -1;
      for (let a = start; a < end; a += ps) {
        const e = vma.swapEntryAt(a);
        if (e < 0 || swpType(e) >= swap.maxSwapfiles) continue;
        const r = readSwapCacheAsync(swap, e, gfp, nid, false, scratch);
        if (r.folio < 0) continue;
        if (r.allocated) {
          const si = swapEntryToInfo(swap, e)!;
          if (si !== plugSi) {
            plugSi = si;
            plug = ioPlugBegin(si);
          }
          swapReadFolio(swap, r.folio, plug);
          if (a !== faddr) {
            swap.folios.folioSetReadahead(r.folio);
            countRa(swap);
          }
        }
        swap.folios.folioPut(r.folio);
      }
    }
  }
  return readTarget(swap, entry, gfp, nid);
}

/** VMA readahead is used: enabled and no rotational device is on. @kernel swap_use_vma_readahead */
export function swapUseVmaReadahead(swap: Swap): boolean {
  return swap.vmaRaEnabled && swap.nrRotateSwap === 0;
}

/**
 * Swap in `entry` with readahead (VMA-based when possible and a VMA is
 * given). Returns the folio with a reference, or -1 (-ENOMEM-like: no memory,
 * or the entry is gone).
 * @kernel swapin_readahead (mm/swap_state.c)
 */
export function swapinReadahead(swap: Swap, entry: number, gfp: number, vma: SwapVmaRa | null, addr: number): number {
  if (vma !== null && swapUseVmaReadahead(swap)) return swapVmaReadahead(swap, entry, gfp, vma, addr);
  return swapClusterReadahead(swap, entry, gfp, vma?.nid ?? -1);
}

/**
 * Account a swap cache hit: a folio read ahead was used.
 * @kernel swap_update_readahead (mm/swap_state.c)
 */
export function swapUpdateReadahead(swap: Swap, folio: number, vma: SwapVmaRa | null, addr: number): void {
  const f = swap.folios;
  if (f.folioOrder(folio) > 0) return;
  const readahead = f.folioTestClearReadahead(folio);
  const vmaRa = swapUseVmaReadahead(swap);
  if (vma !== null && vmaRa) {
    const prev = unpackRa(swap, vma.swapReadaheadInfo);
    let hits = prev.hits;
    const sh = SWAP_RA_WIN_SHIFT_OF(swap.machine.topology.pageShift);
    if (readahead) hits = Math.min(hits + 1, (1 << sh) - 1);
    vma.swapReadaheadInfo = swapRaVal(swap, addr, prev.win, hits);
  }
  if (readahead) {
    swap.counters.swapRaHit++;
    swap.machine.mem.vmstat.countVmEvents(swap.machine.currentCpu, VM_EVENT.SWAP_RA_HIT, 1);
    if (vma === null || !vmaRa) swap.ra.swapinReadaheadHits++;
  }
}
