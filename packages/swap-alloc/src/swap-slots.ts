/**
 * DOC: the old per-CPU swap slot cache (mm/swap_slots.c, removed in 6.15),
 * kept as a switch for comparison (`createSwap(m, { slotCache: true })`).
 *
 * Each CPU keeps up to SWAP_SLOTS_CACHE_SIZE (64) order-0 entries. An empty
 * cache is refilled by one `get_swap_pages(64)` call: walk the node's
 * available devices (requeueing each, as every `get_swap_pages` call did),
 * and take up to 64 entries from the first device that has any. The cached
 * entries are allocated and pinned with SWAP_HAS_CACHE but have no folio
 * (the seed: the slot cache "pins swap slots with HAS_CACHE", which blocks
 * reclaim and allocation on them). The observable difference the seed
 * describes is rotation: with the cache, equal-priority devices take turns
 * every 64 order-0 entries; without it, every consumed cluster.
 *
 * The cache deactivates when free swap falls below 64 entries per online
 * CPU (and drains), and reactivates above 5 × 64 per CPU
 * (THRESHOLD_[DE]ACTIVATE_SWAP_SLOTS_CACHE). The refill allocates through
 * the 6.18 cluster allocator but, like the kernels that had the slot cache
 * (`si->percpu_cluster`), each device keeps its own per-CPU cluster hint, so
 * alternating refills between devices continue each device's cluster
 * instead of isolating a new one every time.
 */
import { localUnlock } from '@mm/machine';
import { clusterAllocSwapEntry } from './cluster.js';
import { swapLocalLock } from './internal/locks.js';
import { SWAP_BATCH, SWAP_ENTRY_INVALID, SWAP_HAS_CACHE } from './swap.js';
import { swapcacheClear } from './swap-map.js';
import { type Swap, swapAllocFast, swapAllocSlow } from './swapfile.js';
import { mkSwpEntry, swpType } from './swp-entry.js';

/** Entries a CPU's slot cache holds and refills at once; mirrors `SWAP_SLOTS_CACHE_SIZE`. */
export const SWAP_SLOTS_CACHE_SIZE = SWAP_BATCH;

/** Per-CPU caches of order-0 entries. */
export class SlotCache {
  /** Cached entries per CPU (`cache->slots`), used from `cur` for `nr`. */
  readonly slots: Float64Array[];
  readonly cur: Int32Array;
  readonly nr: Int32Array;
  /** Whether the per-CPU caches are used: off when free swap drops below a batch per CPU, on again above five batches per CPU; mirrors `swap_slot_cache_active`. */
  active: boolean;
  /** Per device type, per CPU: the device's own cluster hint (`si->percpu_cluster->next[0]`). */
  readonly devNext: Float64Array[];

  constructor(swap: Swap) {
    const n = swap.machine.topology.nrCpus;
    this.slots = [];
    for (let c = 0; c < n; c++) this.slots.push(new Float64Array(SWAP_SLOTS_CACHE_SIZE));
    this.cur = new Int32Array(n);
    this.nr = new Int32Array(n);
    this.active = true;
    this.devNext = [];
    for (let t = 0; t < swap.maxSwapfiles; t++) this.devNext.push(new Float64Array(n));
  }
}

function onlineCpus(swap: Swap): number {
  let n = 0;
  const on = swap.machine.cpus.online;
  for (let c = 0; c < on.length; c++) n += on[c]!;
  return n;
}

/** @kernel check_cache_active (mm/swap_slots.c) */
function checkCacheActive(swap: Swap, cache: SlotCache): boolean {
  const pages = swap.nrSwapPages;
  const cpus = onlineCpus(swap);
  if (!cache.active) {
    if (pages > cpus * 5 * SWAP_SLOTS_CACHE_SIZE) cache.active = true;
    return cache.active;
  }
  if (pages < cpus * SWAP_SLOTS_CACHE_SIZE) {
    cache.active = false;
    for (const si of swap.swapInfo) if (si !== null) slotCacheDrainDevice(swap, si.type);
  }
  return cache.active;
}

/**
 * Refill this CPU's cache with up to 64 entries from one device.
 * @kernel get_swap_pages (mm/swapfile.c, v6.14), refill_swap_slots_cache (mm/swap_slots.c)
 */
function refill(swap: Swap, cache: SlotCache, cpu: number): number {
  const goal = Math.min(SWAP_SLOTS_CACHE_SIZE, swap.nrSwapPages);
  const slots = cache.slots[cpu]!;
  if (goal <= 0) return 0;
  // The device's own per-CPU hint stands in for the global one during the
  // refill (the global per-CPU cluster did not exist yet).
  const idx = cpu * swap.nrOrders;
  const savedType = swap.pcpSi[idx]!;
  const savedOff = swap.pcpOffset[idx]!;
  let n = 0;
  // one plist walk, which rotates the device it tries first
  const list = swap.availHeads[swap.machine.topology.cpuToNode[cpu]!]!;
  const first = list[0];
  if (first !== undefined) {
    swap.pcpSi[idx] = first.type;
    swap.pcpOffset[idx] = cache.devNext[first.type]![cpu]!;
  }
  let e = swapAllocFast(swap, 0);
  if (e === 0) e = swapAllocSlow(swap, 0, SWAP_HAS_CACHE);
  else rotate(swap, cpu, swpType(e));
  if (e !== 0) {
    slots[n++] = e;
    const si = swap.swapInfo[swpType(e)]!;
    while (n < goal) {
      e = swapAllocFast(swap, 0);
      if (e === 0) {
        const off = clusterAllocSwapEntry(swap, si, 0, SWAP_HAS_CACHE);
        if (off === SWAP_ENTRY_INVALID) break;
        e = mkSwpEntry(si.type, off);
      }
      slots[n++] = e;
    }
    if (swap.pcpSi[idx] === si.type) cache.devNext[si.type]![cpu] = swap.pcpOffset[idx]!;
  }
  swap.pcpSi[idx] = savedType;
  swap.pcpOffset[idx] = savedOff;
  cache.cur[cpu] = 0;
  cache.nr[cpu] = n;
  swap.counters.slotCacheRefill++;
  return n;
}

/** `get_swap_pages()` requeued the device it used behind its peers. */
function rotate(swap: Swap, cpu: number, type: number): void {
  const nid = swap.machine.topology.cpuToNode[cpu]!;
  const list = swap.availHeads[nid]!;
  const i = list.findIndex((s) => s.type === type);
  if (i < 0) return;
  const si = list[i]!;
  let j = i;
  while (j + 1 < list.length && list[j + 1]!.availPrio[nid] === si.availPrio[nid]) j++;
  list.splice(i, 1);
  list.splice(j, 0, si);
}

/**
 * An order-0 entry from this CPU's slot cache (refilled when empty), or 0.
 * @kernel folio_alloc_swap (mm/swap_slots.c, v6.14)
 */
export function slotCacheAlloc(swap: Swap): number {
  const cache = swap.slotCache!;
  if (!checkCacheActive(swap, cache)) return 0;
  const cpu = swap.machine.currentCpu;
  swapLocalLock(swap.pcpLock);
  let entry = 0;
  if (cache.nr[cpu]! > 0 || refill(swap, cache, cpu) > 0) {
    const i = cache.cur[cpu]!;
    entry = cache.slots[cpu]![i]!;
    cache.slots[cpu]![i] = 0;
    cache.cur[cpu] = i + 1;
    cache.nr[cpu] = cache.nr[cpu]! - 1;
  }
  localUnlock(swap.pcpLock);
  if (entry !== 0) swap.counters.slotCacheHit++;
  return entry;
}

/** Give back every cached entry of device `type` (swapoff, deactivation, switch off). */
export function slotCacheDrainDevice(swap: Swap, type: number): void {
  const cache = swap.slotCache;
  if (cache === null) return;
  for (let cpu = 0; cpu < cache.slots.length; cpu++) {
    const slots = cache.slots[cpu]!;
    const from = cache.cur[cpu]!;
    const to = from + cache.nr[cpu]!;
    let w = from;
    for (let i = from; i < to; i++) {
      const e = slots[i]!;
      if (swpType(e) === type) swapcacheClear(swap, e, 1);
      else slots[w++] = e;
    }
    for (let i = w; i < to; i++) slots[i] = 0;
    cache.nr[cpu] = w - from;
  }
  cache.devNext[type]!.fill(SWAP_ENTRY_INVALID);
}

/** The entries cached per CPU (for validation and JSON). */
export function slotCacheEntries(swap: Swap): number[] {
  const cache = swap.slotCache;
  const out: number[] = [];
  if (cache === null) return out;
  for (let cpu = 0; cpu < cache.slots.length; cpu++) {
    for (let i = cache.cur[cpu]!, end = i + cache.nr[cpu]!; i < end; i++) out.push(cache.slots[cpu]![i]!);
  }
  return out;
}
