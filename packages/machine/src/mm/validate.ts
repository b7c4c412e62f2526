/**
 * DOC: the physical-memory validator (`mt_validate`-style), run by
 * `machine.validate()` and after every step of the property tests.
 *
 * It walks every free list and pcp list (links in both directions, marks,
 * alignment, zone, pageblock migratetype of each free block, no two free
 * buddies left unmerged), scans the memmap of every materialized section
 * (each page is inside exactly one free block, pcp entry or allocation;
 * compound tails point at their head), and checks the counters (nr_free per
 * order, NR_FREE_PAGES with every CPU's differential, nr_free_highatomic,
 * pcp counts, free + pcp + allocated = managed per zone). Untouched sections
 * are checked arithmetically, so the cost is proportional to touched memory.
 * The first violation throws {@link MmBugError} naming the zone or PFN.
 */

import { MmBugError } from '../errors.js';
import { listId } from './buddy.js';
import { MIGRATE_HIGHATOMIC, MIGRATE_PCPTYPES, MIGRATE_TYPES, ZONE_NAMES } from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import { PG_head, PG_hwpoison, PGTY_buddy } from './page-flags.js';
import { NR_PCP_LISTS, pindexToOrder } from './pcp.js';
import { NR_FREE_PAGES, NR_VM_ZONE_STAT_ITEMS } from './vmstat.js';

function fail(msg: string): never {
  throw new MmBugError(`page_alloc: validate: ${msg}`);
}

function hex(pfn: number): string {
  return `0x${pfn.toString(16)}`;
}

/**
 * The tails of a compound page of `span` pages at `head` that leaves its
 * memory section (contig_alloc.ts): every section it covers is materialized
 * and in `zone`, and every tail points at the head with no reference and
 * no buddy mark.
 */
function checkSpanningCompound(pa: PageAllocator, head: number, span: number, zone: number): void {
  const mm = pa.memmap;
  const mask = mm.sectionMask;
  for (let p = head + 1; p < head + span; ) {
    const s = mm.sectionOf(p);
    if (s === undefined) fail(`tail pfn ${hex(p)} of compound page ${hex(head)} is in an untouched section`);
    if (pa.pageZone(p) !== zone) fail(`compound page ${hex(head)} spans zones ${zone} and ${pa.pageZone(p)}`);
    const end = Math.min(head + span, p - (p & mask) + mm.pagesPerSection);
    for (; p < end; p++) {
      const j = p & mask;
      if (s.pageType[j] === PGTY_buddy) fail(`pfn ${hex(p)} of allocation ${hex(head)} is free`);
      if (s.compoundHead[j] !== head) fail(`tail pfn ${hex(p)} points at ${s.compoundHead[j]}, not head ${hex(head)}`);
      if (s.refcount[j] !== 0) fail(`tail pfn ${hex(p)} has refcount ${s.refcount[j]}`);
    }
  }
}

/** What {@link validatePageAlloc} checks. */
export interface ValidateOptions {
  /**
   * Scan every page of every materialized section (default true). Without
   * it the free lists, pcp lists and counters are still checked, in time
   * proportional to the free blocks instead of touched memory.
   */
  readonly scanMemmap?: boolean;
}

/**
 * Check every invariant of the page allocator and memmap.
 * @throws MmBugError on the first violation.
 */
export function validatePageAlloc(pa: PageAllocator, options: ValidateOptions = {}): void {
  const scan = options.scanMemmap ?? true;
  const zones = pa.zones;
  const mm = pa.memmap;
  const mask = mm.sectionMask;
  const nrOrders = pa.nrOrders;
  const blocksPerSection = mm.pagesPerSection / (1 << pa.maxOrder);
  const freeByZone = new Float64Array(zones.nrZones);
  const highatomicByZone = new Float64Array(zones.nrZones);
  const pcpByZone = new Float64Array(zones.nrZones);
  const allocByZone = new Float64Array(zones.nrZones);

  // Deferred (untouched) sections.
  for (let z = 0; z < zones.nrZones; z++) {
    let untouched = 0;
    const start = (zones.startPfn[z] as number) / mm.pagesPerSection;
    const end = start + (zones.spanned[z] as number) / mm.pagesPerSection;
    for (let s = start; s < end; s++) if (mm.sections[s] === undefined) untouched++;
    if (zones.populated(z)) {
      if (untouched !== zones.nrDeferred[z])
        fail(`zone ${z}: ${untouched} untouched sections, nrDeferred ${zones.nrDeferred[z]}`);
      for (let s = start; s < (zones.deferNext[z] as number); s++) {
        if (mm.sections[s] === undefined)
          fail(`zone ${z}: untouched section ${s} below deferNext ${zones.deferNext[z]}`);
      }
    }
    freeByZone[z] = untouched * mm.pagesPerSection;
  }

  // Free lists.
  for (let z = 0; z < zones.nrZones; z++) {
    for (let o = 0; o < nrOrders; o++) {
      let blocks = 0;
      for (let mt = 0; mt < MIGRATE_TYPES; mt++) {
        const l = listId(pa, z, o, mt);
        let prev = -1;
        let pfn = zones.freeHead[l] as number;
        const limit = (zones.nrFree[z * nrOrders + o] as number) + 1;
        let n = 0;
        while (pfn >= 0) {
          if (++n > limit) fail(`zone ${z} order ${o} ${mt}: list longer than nr_free (cycle?)`);
          const s = mm.sectionOf(pfn);
          if (s === undefined) fail(`free pfn ${hex(pfn)} in an untouched section`);
          const i = pfn & mask;
          if (s.prev[i] !== prev) fail(`free pfn ${hex(pfn)}: prev ${s.prev[i]} != ${prev}`);
          if (pa.pageZone(pfn) !== z) fail(`free pfn ${hex(pfn)} on zone ${z}'s list but in zone ${pa.pageZone(pfn)}`);
          if (pfn % (1 << o) !== 0) fail(`free pfn ${hex(pfn)} not aligned to order ${o}`);
          if (s.pageType[i] !== PGTY_buddy) fail(`free pfn ${hex(pfn)} lacks the buddy type`);
          if (s.private[i] !== o) fail(`free pfn ${hex(pfn)} has order ${s.private[i]} on the order-${o} list`);
          if (s.refcount[i] !== 0) fail(`free pfn ${hex(pfn)} has refcount ${s.refcount[i]}`);
          const nb = o > pa.pageblockOrder ? 1 << (o - pa.pageblockOrder) : 1;
          for (let b = 0; b < nb; b++) {
            const bmt = pa.pageblock.get(pfn + b * pa.pageblockNrPages);
            if (bmt !== mt) fail(`free pfn ${hex(pfn)} order ${o} on list ${mt} but its pageblock is ${bmt}`);
          }
          if (o < pa.maxOrder) {
            const buddy = pfn ^ (1 << o);
            const bs = mm.sectionOf(buddy);
            if (bs !== undefined && bs.pageType[buddy & mask] === PGTY_buddy && bs.private[buddy & mask] === o) {
              const bmt = pa.pageblock.get(buddy);
              const mergeable =
                o < pa.pageblockOrder || bmt === mt || (mt < MIGRATE_PCPTYPES && bmt < MIGRATE_PCPTYPES);
              if (mergeable) fail(`free buddies ${hex(pfn)} and ${hex(buddy)} of order ${o} not merged`);
            }
          }
          freeByZone[z] = (freeByZone[z] as number) + (1 << o);
          if (mt === MIGRATE_HIGHATOMIC) highatomicByZone[z] = (highatomicByZone[z] as number) + (1 << o);
          prev = pfn;
          pfn = s.next[i] as number;
          blocks++;
        }
        if (zones.freeTail[l] !== prev) fail(`zone ${z} order ${o} type ${mt}: tail ${zones.freeTail[l]} != ${prev}`);
      }
      if (o === pa.maxOrder) blocks += (zones.nrDeferred[z] as number) * blocksPerSection;
      if (blocks !== zones.nrFree[z * nrOrders + o])
        fail(`zone ${z} order ${o}: ${blocks} blocks listed, nr_free ${zones.nrFree[z * nrOrders + o]}`);
    }
  }

  // pcp lists.
  const pcp = pa.pcp;
  const pcpPages = new Map<number, number>();
  for (let cpu = 0; cpu < pcp.nrCpus; cpu++) {
    for (let z = 0; z < pcp.nrZones; z++) {
      const p = cpu * pcp.nrZones + z;
      let pages = 0;
      for (let pi = 0; pi < NR_PCP_LISTS; pi++) {
        const l = p * NR_PCP_LISTS + pi;
        const order = pindexToOrder(pa, pi);
        let prev = -1;
        let pfn = pcp.head[l] as number;
        while (pfn >= 0) {
          const s = mm.sectionOf(pfn);
          if (s === undefined) fail(`pcp pfn ${hex(pfn)} in an untouched section`);
          const i = pfn & mask;
          if (s.prev[i] !== prev) fail(`pcp pfn ${hex(pfn)}: prev ${s.prev[i]} != ${prev}`);
          if (pa.pageZone(pfn) !== z)
            fail(`pcp pfn ${hex(pfn)} on cpu ${cpu} zone ${z} list but in zone ${pa.pageZone(pfn)}`);
          if (pfn % (1 << order) !== 0) fail(`pcp pfn ${hex(pfn)} not aligned to order ${order}`);
          if (s.pageType[i] !== 0 || s.refcount[i] !== 0)
            fail(`pcp pfn ${hex(pfn)} has type ${s.pageType[i]} refcount ${s.refcount[i]}`);
          if (pcpPages.has(pfn)) fail(`pcp pfn ${hex(pfn)} on two pcp lists`);
          pcpPages.set(pfn, order);
          pages += 1 << order;
          prev = pfn;
          pfn = s.next[i] as number;
        }
        if (pcp.tail[l] !== prev) fail(`pcp cpu ${cpu} zone ${z} list ${pi}: tail ${pcp.tail[l]} != ${prev}`);
      }
      if (pages !== pcp.count[p]) fail(`pcp cpu ${cpu} zone ${z}: ${pages} pages listed, count ${pcp.count[p]}`);
      pcpByZone[z] = (pcpByZone[z] as number) + pages;
    }
  }

  // Memmap scan of materialized sections: every page is in exactly one
  // free block, pcp entry or allocation. A compound page from the
  // contiguous allocator (a gigantic folio) may span sections: its tails in
  // the following sections are checked with it and skipped there.
  let coveredTo = 0;
  for (let nr = 0; scan && nr < mm.sections.length; nr++) {
    const s = mm.sections[nr];
    if (s === undefined) continue;
    const base = nr * mm.pagesPerSection;
    const z = zones.sectionZone[nr] as number;
    let i = Math.min(Math.max(coveredTo - base, 0), mm.pagesPerSection);
    while (i < mm.pagesPerSection) {
      const pfn = base + i;
      let span: number;
      if (s.pageType[i] === PGTY_buddy) {
        span = 1 << (s.private[i] as number);
        for (let k = 1; k < span; k++) {
          if (s.pageType[i + k] !== 0 || s.refcount[i + k] !== 0)
            fail(`pfn ${hex(pfn + k)} inside free block ${hex(pfn)} is in use`);
        }
      } else if ((s.refcount[i] as number) > 0) {
        if ((s.compoundHead[i] as number) >= 0) fail(`tail pfn ${hex(pfn)} has refcount ${s.refcount[i]}`);
        span = 2 ** (s.order[i] as number);
        const compound = ((s.flags[i] as number) & (1 << PG_head)) !== 0;
        if (i + span > mm.pagesPerSection) {
          if (!compound) fail(`allocation ${hex(pfn)} of order ${s.order[i]} leaves its section`);
          checkSpanningCompound(pa, pfn, span, z);
          coveredTo = pfn + span;
          allocByZone[z] = (allocByZone[z] as number) + span;
          break;
        }
        for (let k = 1; k < span; k++) {
          if (s.pageType[i + k] === PGTY_buddy) fail(`pfn ${hex(pfn + k)} of allocation ${hex(pfn)} is free`);
          if (compound && s.compoundHead[i + k] !== pfn)
            fail(`tail pfn ${hex(pfn + k)} points at ${s.compoundHead[i + k]}, not head ${hex(pfn)}`);
          if (compound && s.refcount[i + k] !== 0) fail(`tail pfn ${hex(pfn + k)} has refcount ${s.refcount[i + k]}`);
        }
        if (!compound) {
          for (let k = 1; k < span; k++)
            if ((s.compoundHead[i + k] as number) >= 0)
              fail(`pfn ${hex(pfn + k)} of a non-compound allocation is a tail`);
        }
        allocByZone[z] = (allocByZone[z] as number) + span;
      } else if (pcpPages.has(pfn)) {
        span = 1 << (pcpPages.get(pfn) as number);
      } else if ((s.flags[i] as number) & (1 << PG_hwpoison)) {
        span = 1;
        allocByZone[z] = (allocByZone[z] as number) + 1;
      } else {
        fail(`pfn ${hex(pfn)} is neither free, on a pcp list nor allocated (leaked or a stray tail)`);
      }
      i += span;
    }
  }

  // Counters.
  const vs = pa.vmstat;
  for (let item = 0; item < NR_VM_ZONE_STAT_ITEMS; item++) {
    let sum = 0;
    for (let z = 0; z < zones.nrZones; z++) sum += vs.zoneStat[z * NR_VM_ZONE_STAT_ITEMS + item] as number;
    if (sum !== vs.globalZoneStat[item])
      fail(`global zone stat ${item}: ${vs.globalZoneStat[item]} != sum of zones ${sum}`);
  }
  for (let z = 0; z < zones.nrZones; z++) {
    const name = `zone ${z} (node ${zones.nid[z]} ${ZONE_NAMES[z % 3]})`;
    let snap = vs.zoneStat[z * NR_VM_ZONE_STAT_ITEMS + NR_FREE_PAGES] as number;
    for (let cpu = 0; cpu < vs.nrCpus; cpu++)
      snap += vs.zoneDiff[(cpu * vs.nrZones + z) * NR_VM_ZONE_STAT_ITEMS + NR_FREE_PAGES] as number;
    if (snap !== freeByZone[z]) fail(`${name}: NR_FREE_PAGES ${snap} != ${freeByZone[z]} pages on the free lists`);
    if (zones.nrFreeHighatomic[z] !== highatomicByZone[z]) {
      fail(`${name}: nr_free_highatomic ${zones.nrFreeHighatomic[z]} != ${highatomicByZone[z]} listed`);
    }
    const reserved = zones.nrReservedHighatomic[z] as number;
    if (reserved < 0) fail(`${name}: nr_reserved_highatomic ${reserved} < 0`);
    const total = (freeByZone[z] as number) + (pcpByZone[z] as number) + (allocByZone[z] as number);
    if (scan && total !== zones.managed[z]) {
      fail(
        `${name}: free ${freeByZone[z]} + pcp ${pcpByZone[z]} + allocated ${allocByZone[z]} != managed ${zones.managed[z]}`,
      );
    }
  }
  for (let b = 0; b < pa.pageblock.migratetype.length; b++) {
    if ((pa.pageblock.migratetype[b] as number) >= MIGRATE_TYPES)
      fail(`pageblock ${b} has migratetype ${pa.pageblock.migratetype[b]}`);
  }
}
