/**
 * DOC: per-CPU page lists (pcp): each CPU keeps, per zone, small lists of
 * free pages of orders 0..PAGE_ALLOC_COSTLY_ORDER (one per pcp migratetype)
 * and of the THP order (movable and non-movable), so most allocations and
 * frees never touch the zone's buddy lists.
 *
 * An empty list is refilled with a batch from the buddy allocator
 * (`rmqueue_bulk`); a list whose CPU holds `high` pages or more gives a batch
 * back (`free_pcppages_bulk`), oldest pages (the tail) first. Batch and high
 * are tuned as in v6.7+: `high` floats between `high_min` (the zone's low
 * watermark split over the node's CPUs) and `high_max` (an eighth of it),
 * growing while a CPU frees a lot and shrinking when the zone is below its
 * high watermark; `alloc_factor`/`free_count` scale consecutive batches.
 * Pages on a pcp list are not PageBuddy and not counted in NR_FREE_PAGES,
 * exactly as in the kernel. Lists are linked through the memmap's
 * `next`/`prev`; heads/tails and scalars are typed arrays indexed by
 * `cpu * nrZones + zone`.
 */
import { countPgalloc, zoneStatistics } from './alloc-stat.js';
import { __freeOnePage } from './buddy.js';
import { __rmqueue } from './fallback.js';

import type { MemSection } from './memmap.js';
import {
  MIGRATE_MOVABLE,
  MIGRATE_PCPTYPES,
  NR_WMARK,
  PAGE_ALLOC_COSTLY_ORDER,
  WMARK_HIGH,
  WMARK_LOW,
  ZONE_BELOW_HIGH,
  ZONE_MOVABLE,
  type ZONE_RECLAIM_ACTIVE,
} from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import {
  pcpSpinLockNopin,
  pcpSpinTrylock,
  pcpSpinUnlock,
  pcpSpinUnlockNopin,
  zoneLockIrqsave,
  zoneUnlockIrqrestore,
} from './page-alloc-locks.js';
import type { NR_VM_EVENT_ITEMS, VM_EVENT } from './vmstat.js';
import { zoneWatermarkOk } from './watermark.js';

/** Lists for orders 0..PAGE_ALLOC_COSTLY_ORDER. */
export const NR_LOWORDER_PCP_LISTS = 12; // MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1)
/** THP lists (non-movable, movable). */
export const NR_PCP_THP = 2;
/** All pcp lists of one CPU and zone. */
export const NR_PCP_LISTS = 14; // NR_LOWORDER_PCP_LISTS + NR_PCP_THP
/** Log2 cap on how far a pcp batch is scaled up for a drain or refill (`CONFIG_PCP_BATCH_SCALE_MAX`, default 5). */
export const PCP_BATCH_SCALE_MAX = 5;
/** pcp flag: the previous free was of a high order. */
export const PCPF_PREV_FREE_HIGH_ORDER = 1;
/** pcp flag: the CPU's cache slice can hold a batch of high-order frees. */
export const PCPF_FREE_HIGH_BATCH = 2;

/**
 * The per-CPU pagesets of every zone.
 * @kernel struct per_cpu_pages (include/linux/mmzone.h)
 */
export class PerCpuPages {
  /** Number of CPUs. */
  readonly nrCpus: number;
  /** Number of zones. */
  readonly nrZones: number;
  /** Whether THP-order lists exist (HPAGE_PMD_ORDER <= MAX_PAGE_ORDER). */
  readonly thp: boolean;
  /** List heads (PFN or -1) at `(cpu * nrZones + zone) * NR_PCP_LISTS + pindex`. */
  readonly head: Int32Array;
  /** List tails. */
  readonly tail: Int32Array;
  /** Pages on the lists (`count`), per pcp. */
  readonly count: Int32Array;
  /** Per pcp: pages above which frees are drained back to the buddy allocator, tuned between `highMin` and `highMax`; mirrors `per_cpu_pages::high`. */
  readonly high: Int32Array;
  /** Per pcp: lower bound for `high`; mirrors `per_cpu_pages::high_min`. */
  readonly highMin: Int32Array;
  /** Per pcp: upper bound for `high`; mirrors `per_cpu_pages::high_max`. */
  readonly highMax: Int32Array;
  /** Per pcp: pages moved to or from the buddy lists in one go; mirrors `per_cpu_pages::batch`. */
  readonly batch: Int32Array;
  /** `free_count`: pages freed recently (decays on allocation). */
  readonly freeCount: Int32Array;
  /** PCPF_* bits. */
  readonly flags: Uint8Array;
  /** `alloc_factor`: batch scale for consecutive refills. */
  readonly allocFactor: Uint8Array;

  constructor(nrCpus: number, nrZones: number, thp: boolean) {
    const n = nrCpus * nrZones;
    this.nrCpus = nrCpus;
    this.nrZones = nrZones;
    this.thp = thp;
    this.head = new Int32Array(n * NR_PCP_LISTS).fill(-1);
    this.tail = new Int32Array(n * NR_PCP_LISTS).fill(-1);
    this.count = new Int32Array(n);
    this.high = new Int32Array(n);
    this.highMin = new Int32Array(n);
    this.highMax = new Int32Array(n);
    this.batch = new Int32Array(n).fill(1);
    this.freeCount = new Int32Array(n);
    this.flags = new Uint8Array(n);
    this.allocFactor = new Uint8Array(n);
  }
}

/**
 * Whether `order` is cached on pcp lists.
 * @kernel pcp_allowed_order (mm/page_alloc.c)
 */
export function pcpAllowedOrder(pa: PageAllocator, order: number): boolean {
  return order <= PAGE_ALLOC_COSTLY_ORDER || (pa.pcp.thp && order === pa.hpagePmdOrder);
}

/**
 * List index of (migratetype, order).
 * @kernel order_to_pindex (mm/page_alloc.c)
 */
export function orderToPindex(mt: number, order: number): number {
  if (order > PAGE_ALLOC_COSTLY_ORDER) return NR_LOWORDER_PCP_LISTS + (mt === MIGRATE_MOVABLE ? 1 : 0);
  return MIGRATE_PCPTYPES * order + mt;
}

/**
 * Order of the pages on list `pindex`.
 * @kernel pindex_to_order (mm/page_alloc.c)
 */
export function pindexToOrder(pa: PageAllocator, pindex: number): number {
  return pindex >= NR_LOWORDER_PCP_LISTS ? pa.hpagePmdOrder : Math.floor(pindex / MIGRATE_PCPTYPES);
}

/**
 * Pages to move per batch: ~0.1% of the zone or 1 MiB, whichever is
 * smaller, a quarter of it, rounded to 2^n - 1.
 * @kernel zone_batchsize (mm/page_alloc.c)
 */
export function zoneBatchsize(pa: PageAllocator, zone: number): number {
  const pageSize = pa.machine.topology.pageSize;
  let batch = Math.min(Math.floor((pa.zones.managed[zone] as number) / 1024), Math.floor((1024 * 1024) / pageSize));
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  const v = batch + (batch >>> 1);
  batch = (1 << (31 - Math.clz32(v))) - 1;
  return batch;
}

/**
 * The pcp high limit: the low watermark (or managed / fraction) split over
 * the node's CPUs, at least 4 batches.
 * @kernel zone_highsize (mm/page_alloc.c)
 */
export function zoneHighsize(pa: PageAllocator, zone: number, batch: number, highFraction: number): number {
  const total =
    highFraction === 0
      ? (pa.zones.wmark[zone * NR_WMARK + WMARK_LOW] as number)
      : Math.floor((pa.zones.managed[zone] as number) / highFraction);
  let nrSplit = pa.machine.topology.nodeCpus(pa.zones.nid[zone] as number).length;
  if (nrSplit === 0) nrSplit = pa.machine.topology.nrCpus;
  return Math.max(Math.floor(total / nrSplit), batch * 4);
}

/**
 * Set batch, high_min and high_max of every CPU's pageset of `zone`.
 * @kernel zone_set_pageset_high_and_batch / zone_pcp_update_cacheinfo (mm/page_alloc.c)
 */
export function zoneSetPagesetHighAndBatch(pa: PageAllocator, zone: number): void {
  const batch = Math.max(1, zoneBatchsize(pa, zone));
  let highMin: number;
  let highMax: number;
  if (pa.percpuPagelistHighFraction) {
    highMin = zoneHighsize(pa, zone, batch, pa.percpuPagelistHighFraction);
    highMax = highMin;
  } else {
    highMin = zoneHighsize(pa, zone, batch, 0);
    highMax = zoneHighsize(pa, zone, batch, 8);
  }
  const slicePages = pa.pcpCacheSliceBytes / pa.machine.topology.pageSize;
  const pcp = pa.pcp;
  for (let cpu = 0; cpu < pcp.nrCpus; cpu++) {
    const p = cpu * pcp.nrZones + zone;
    pcp.batch[p] = batch;
    pcp.highMin[p] = highMin;
    pcp.highMax[p] = highMax;
    if (slicePages > 3 * batch) pcp.flags[p] = (pcp.flags[p] as number) | PCPF_FREE_HIGH_BATCH;
    else pcp.flags[p] = (pcp.flags[p] as number) & ~PCPF_FREE_HIGH_BATCH;
  }
}

function sec(pa: PageAllocator, pfn: number): MemSection {
  return pa.sec(pfn);
}

/** Append at the tail (`list_add_tail`). */
function pcpListAddTail(pa: PageAllocator, l: number, pfn: number): void {
  const pcp = pa.pcp;
  const mask = pa.memmap.sectionMask;
  const s = sec(pa, pfn);
  const t = pcp.tail[l] as number;
  s.prev[pfn & mask] = t;
  s.next[pfn & mask] = -1;
  if (t < 0) pcp.head[l] = pfn;
  else sec(pa, t).next[t & mask] = pfn;
  pcp.tail[l] = pfn;
}

/** Unlink the head (`list_first_entry` + `list_del`). */
function pcpListPopHead(pa: PageAllocator, l: number): number {
  const pcp = pa.pcp;
  const mask = pa.memmap.sectionMask;
  const pfn = pcp.head[l] as number;
  const s = sec(pa, pfn);
  const n = s.next[pfn & mask] as number;
  pcp.head[l] = n;
  if (n < 0) pcp.tail[l] = -1;
  else sec(pa, n).prev[n & mask] = -1;
  s.next[pfn & mask] = -1;
  return pfn;
}

/** Unlink the tail (`list_last_entry` + `list_del`). */
function pcpListPopTail(pa: PageAllocator, l: number): number {
  const pcp = pa.pcp;
  const mask = pa.memmap.sectionMask;
  const pfn = pcp.tail[l] as number;
  const s = sec(pa, pfn);
  const p = s.prev[pfn & mask] as number;
  pcp.tail[l] = p;
  if (p < 0) pcp.head[l] = -1;
  else sec(pa, p).next[p & mask] = -1;
  s.prev[pfn & mask] = -1;
  return pfn;
}

/**
 * How many blocks to pull from the buddy lists for an empty list.
 * @kernel nr_pcp_alloc (mm/page_alloc.c)
 */
export function nrPcpAlloc(pa: PageAllocator, p: number, order: number): number {
  const pcp = pa.pcp;
  let high = pcp.high[p] as number;
  const baseBatch = pcp.batch[p] as number;
  if (high < baseBatch) return 1;
  let batch = order ? baseBatch : baseBatch << (pcp.allocFactor[p] as number);
  const highMax = pcp.highMax[p] as number;
  if (high < highMax && (pcp.flags[p] as number) & PCPF_FREE_HIGH_BATCH) {
    high = Math.min(high + batch, highMax);
    pcp.high[p] = high;
  }
  if (!order) {
    const maxNrAlloc = Math.max(high - (pcp.count[p] as number) - baseBatch, baseBatch);
    if (batch <= maxNrAlloc && (pcp.allocFactor[p] as number) < PCP_BATCH_SCALE_MAX)
      pcp.allocFactor[p] = (pcp.allocFactor[p] as number) + 1;
    batch = Math.min(batch, maxNrAlloc);
  }
  if (batch > 1) batch = Math.max(batch >> order, 2);
  return batch;
}

/**
 * Pull `count` blocks of `order` from the buddy lists onto pcp list `l`.
 * @returns blocks obtained.
 * @kernel rmqueue_bulk (mm/page_alloc.c)
 */
export function rmqueueBulk(
  pa: PageAllocator,
  zone: number,
  order: number,
  count: number,
  l: number,
  mt: number,
  allocFlags: number,
): number {
  pa.rmqm = 0;
  let i = 0;
  const flags = zoneLockIrqsave(pa, zone);
  for (; i < count; i++) {
    const pfn = __rmqueue(pa, zone, order, mt, allocFlags);
    if (pfn < 0) break;
    pcpListAddTail(pa, l, pfn);
  }
  zoneUnlockIrqrestore(pa, zone, flags);
  return i;
}

/**
 * Allocate from this CPU's pcp list of `zone`, refilling it if empty.
 * @returns the PFN or -1.
 * @kernel rmqueue_pcplist / __rmqueue_pcplist (mm/page_alloc.c)
 */
export function rmqueuePcplist(
  pa: PageAllocator,
  preferredZone: number,
  zone: number,
  order: number,
  mt: number,
  allocFlags: number,
): number {
  const pcp = pa.pcp;
  const p = pa.machine.currentCpu * pcp.nrZones + zone;
  // spin_trylock may fail (an interrupt on a pcp holder, a drain): the caller falls back to the buddy lists.
  if (!pcpSpinTrylock(pa, p)) return -1;
  pcp.freeCount[p] = (pcp.freeCount[p] as number) >> 1;
  const l = p * NR_PCP_LISTS + orderToPindex(mt, order);
  if ((pcp.head[l] as number) < 0) {
    const batch = nrPcpAlloc(pa, p, order);
    let got: number;
    try {
      got = rmqueueBulk(pa, zone, order, batch, l, mt, allocFlags);
    } catch (e) {
      pcpSpinUnlock(pa, p);
      throw e;
    }
    pcp.count[p] = (pcp.count[p] as number) + got * (1 << order);
    if ((pcp.head[l] as number) < 0) {
      pcpSpinUnlock(pa, p);
      return -1;
    }
  }
  const pfn = pcpListPopHead(pa, l);
  pcp.count[p] = (pcp.count[p] as number) - (1 << order);
  pcpSpinUnlock(pa, p);
  countPgalloc(pa, zone, 1 << order);
  zoneStatistics(pa, preferredZone, zone);
  return pfn;
}

/**
 * Return `count` pages from a pcp to the buddy lists, round-robin over its
 * lists starting with `pindex`, oldest (tail) pages first.
 * @kernel free_pcppages_bulk (mm/page_alloc.c)
 */
export function freePcppagesBulk(pa: PageAllocator, zone: number, count: number, p: number, pindex: number): void {
  const pcp = pa.pcp;
  let todo = Math.min(pcp.count[p] as number, count);
  let pi = pindex - 1;
  const base = p * NR_PCP_LISTS;
  if (todo <= 0) return;
  const irq = zoneLockIrqsave(pa, zone);
  while (todo > 0) {
    let l: number;
    do {
      if (++pi > NR_PCP_LISTS - 1) pi = 0;
      l = base + pi;
    } while ((pcp.head[l] as number) < 0);
    const order = pindexToOrder(pa, pi);
    const nr = 1 << order;
    do {
      const pfn = pcpListPopTail(pa, l);
      const mt = pa.pageblock.get(pfn);
      todo -= nr;
      pcp.count[p] = (pcp.count[p] as number) - nr;
      __freeOnePage(pa, pfn, zone, order, mt, 0);
    } while (todo > 0 && (pcp.head[l] as number) >= 0);
  }
  zoneUnlockIrqrestore(pa, zone, irq);
}

/**
 * The effective high limit for this free, adapting `pcp->high`.
 * @kernel nr_pcp_high (mm/page_alloc.c)
 */
export function nrPcpHigh(pa: PageAllocator, p: number, zone: number, batch: number, freeHigh: boolean): number {
  const SCALE_MAX: typeof PCP_BATCH_SCALE_MAX = 5;
  const RECLAIM_ACTIVE: typeof ZONE_RECLAIM_ACTIVE = 2;
  const BELOW_HIGH: typeof ZONE_BELOW_HIGH = 4;
  const pcp = pa.pcp;
  const highMin = pcp.highMin[p] as number;
  const highMax = pcp.highMax[p] as number;
  let high = Math.min(Math.max(pcp.high[p] as number, highMin), highMax);
  pcp.high[p] = high;
  if (high === 0) return 0;
  if (freeHigh) {
    pcp.high[p] = Math.max(high - (batch << SCALE_MAX), highMin);
    return 0;
  }
  const zflags = pa.zones.flags[zone] as number;
  if (zflags & RECLAIM_ACTIVE) {
    const fc = Math.max(pcp.freeCount[p] as number, batch);
    pcp.high[p] = Math.max(high - fc, highMin);
    return Math.min(batch << 2, pcp.high[p] as number);
  }
  if (highMin === highMax) return high;
  const count = pcp.count[p] as number;
  if (zflags & BELOW_HIGH) {
    const fc = Math.max(pcp.freeCount[p] as number, batch);
    pcp.high[p] = Math.max(high - fc, highMin);
    high = Math.max(count, highMin);
  } else if (count >= high) {
    const needHigh = (pcp.freeCount[p] as number) + batch;
    if ((pcp.high[p] as number) < needHigh) pcp.high[p] = Math.min(Math.max(needHigh, highMin), highMax);
  }
  return high;
}

/**
 * Pages to give back when a pcp reaches its high limit.
 * @kernel nr_pcp_free (mm/page_alloc.c)
 */
export function nrPcpFree(pa: PageAllocator, p: number, batch: number, high: number, freeHigh: boolean): number {
  const pcp = pa.pcp;
  if (freeHigh) return Math.min(pcp.count[p] as number, batch << PCP_BATCH_SCALE_MAX);
  if (high < batch) return 1;
  const minNrFree = batch;
  const maxNrFree = high - batch;
  return Math.min(Math.max(pcp.freeCount[p] as number, minNrFree), maxNrFree);
}

/**
 * Put a freed block on this CPU's pcp list and give a batch back to the
 * buddy lists if the pcp is over its high limit.
 * @kernel free_frozen_page_commit (mm/page_alloc.c)
 */
export function freeFrozenPageCommit(pa: PageAllocator, zone: number, pfn: number, mt: number, order: number): void {
  // Local copies pinned to their definitions by type (see page-alloc.ts).
  const EVENTS: typeof NR_VM_EVENT_ITEMS = 41;
  const PGFREE: typeof VM_EVENT.PGFREE = 13;
  const COSTLY: typeof PAGE_ALLOC_COSTLY_ORDER = 3;
  const PCPTYPES: typeof MIGRATE_PCPTYPES = 3;
  const LOWORDER_LISTS: typeof NR_LOWORDER_PCP_LISTS = 12;
  const MOVABLE: typeof MIGRATE_MOVABLE = 1;
  const PCP_LISTS: typeof NR_PCP_LISTS = 14;
  const PREV_FREE_HIGH_ORDER: typeof PCPF_PREV_FREE_HIGH_ORDER = 1;
  const FREE_HIGH_BATCH: typeof PCPF_FREE_HIGH_BATCH = 2;
  const SCALE_MAX: typeof PCP_BATCH_SCALE_MAX = 5;
  const pcp = pa.pcp;
  const cpu = pa.machine.currentCpu;
  const p = cpu * pcp.nrZones + zone;
  const nr = 1 << order;
  pcp.allocFactor[p] = (pcp.allocFactor[p] as number) >> 1;
  // __count_vm_events(PGFREE, 1 << order)
  const ev = pa.vmstat.vmEvents;
  const e = cpu * EVENTS + PGFREE;
  ev[e] = (ev[e] as number) + nr;
  // order_to_pindex()
  const pindex = order <= COSTLY ? PCPTYPES * order + mt : LOWORDER_LISTS + (mt === MOVABLE ? 1 : 0);
  // list_add(): push at the head.
  const l = p * PCP_LISTS + pindex;
  const sections = pa.memmap.sections;
  const shift = pa.memmap.sectionShift;
  const mask = pa.memmap.sectionMask;
  const s = sections[pfn >>> shift] as MemSection;
  const h = pcp.head[l] as number;
  s.next[pfn & mask] = h;
  s.prev[pfn & mask] = -1;
  if (h < 0) pcp.tail[l] = pfn;
  else (sections[h >>> shift] as MemSection).prev[h & mask] = pfn;
  pcp.head[l] = pfn;
  const count = (pcp.count[p] as number) + nr;
  pcp.count[p] = count;
  const batch = pcp.batch[p] as number;
  let freeHigh = false;
  const flags = pcp.flags[p] as number;
  const freeCount = pcp.freeCount[p] as number;
  if (order !== 0 && order <= COSTLY) {
    freeHigh =
      freeCount >= batch + ((pcp.highMin[p] as number) >> 1) &&
      (flags & PREV_FREE_HIGH_ORDER) !== 0 &&
      (!(flags & FREE_HIGH_BATCH) || count >= batch);
    pcp.flags[p] = flags | PREV_FREE_HIGH_ORDER;
  } else if (flags & PREV_FREE_HIGH_ORDER) {
    pcp.flags[p] = flags & ~PREV_FREE_HIGH_ORDER;
  }
  if (freeCount < batch << SCALE_MAX) pcp.freeCount[p] = freeCount + nr;
  const high = nrPcpHigh(pa, p, zone, batch, freeHigh);
  if ((pcp.count[p] as number) >= high) {
    freePcppagesBulk(pa, zone, nrPcpFree(pa, p, batch, high, freeHigh), p, pindex);
    if (
      (pa.zones.flags[zone] as number) & ZONE_BELOW_HIGH &&
      zoneWatermarkOk(pa, zone, 0, pa.zones.wmarkPages(zone, WMARK_HIGH), ZONE_MOVABLE, 0)
    ) {
      pa.zones.flags[zone] = (pa.zones.flags[zone] as number) & ~ZONE_BELOW_HIGH;
    }
  }
}

/**
 * Give back all of a CPU's pcp pages of `zone`, a bounded batch at a time.
 * @kernel drain_pages_zone (mm/page_alloc.c)
 */
export function drainPagesZone(pa: PageAllocator, cpu: number, zone: number): void {
  const pcp = pa.pcp;
  const p = cpu * pcp.nrZones + zone;
  let count = pcp.count[p] as number;
  while (count > 0) {
    const todo = Math.min(count, (pcp.batch[p] as number) << PCP_BATCH_SCALE_MAX);
    pcpSpinLockNopin(pa, p);
    try {
      freePcppagesBulk(pa, zone, todo, p, 0);
    } finally {
      pcpSpinUnlockNopin(pa, p);
    }
    count = pcp.count[p] as number;
  }
}

/**
 * Periodic decay of an idle pcp's high limit, giving back what lies above it.
 * @kernel decay_pcp_high (mm/page_alloc.c)
 */
export function decayPcpHigh(pa: PageAllocator, cpu: number, zone: number): number {
  const pcp = pa.pcp;
  const p = cpu * pcp.nrZones + zone;
  const highMin = pcp.highMin[p] as number;
  const batch = pcp.batch[p] as number;
  let todo = 0;
  const high = pcp.high[p] as number;
  if (high > highMin) {
    pcp.high[p] = Math.max((pcp.count[p] as number) - (batch << PCP_BATCH_SCALE_MAX), high - (high >> 3), highMin);
    if ((pcp.high[p] as number) > highMin) todo++;
  }
  const toDrain = (pcp.count[p] as number) - (pcp.high[p] as number);
  if (toDrain > 0) {
    pcpSpinLockNopin(pa, p);
    try {
      freePcppagesBulk(pa, zone, toDrain, p, 0);
    } finally {
      pcpSpinUnlockNopin(pa, p);
    }
    todo++;
  }
  return todo;
}
