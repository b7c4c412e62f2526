/**
 * DOC: the deferred split queue of large anon folios (`deferred_split_lru`).
 *
 * When an unmap leaves an anon large folio partially mapped, the rmap queues
 * it for splitting later (the shrinker splits it and frees the unmapped
 * pages). The queue is a list per node, linked through the folio's
 * `_deferred_list`, which lives in the `next`/`prev` memmap words of page[2]
 * (a folio of order ≤ 1 has no page[2] and is never queued). An unqueued
 * folio's list head points at itself, as after `INIT_LIST_HEAD`; a queued
 * one links to its neighbours' head PFNs (-1 at the ends).
 */
import { PG_partially_mapped, PG_swapcache } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { MTHP_STAT, modMthpStat } from './env.js';

/** Whether the folio sits on a deferred split queue. */
export function folioOnDeferredList(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if ((s.order[i] as number) <= 1) return false;
  return s.next[i + 2] !== folio;
}

/** Whether the large folio has been found partly unmapped and queued for a deferred split. @kernel folio_test_partially_mapped (include/linux/page-flags.h) */
export function folioTestPartiallyMapped(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  return (((s.flags[(folio & rm.mask) + 1] as number) >>> PG_partially_mapped) & 1) === 1;
}

/**
 * Queue an anon large folio for deferred split; with `partiallyMapped`, mark
 * it PG_partially_mapped and count THP_DEFERRED_SPLIT_PAGE (PMD-mappable
 * folios), `split_deferred` and `nr_anon_partially_mapped`. Folios of order
 * ≤ 1 and swap-cache folios are not queued.
 * @kernel deferred_split_folio (mm/huge_memory.c)
 */
export function deferredSplitFolio(rm: FolioRmap, folio: number, partiallyMapped: boolean): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const order = s.order[i] as number;
  if (order <= 1) return;
  if ((s.flags[i] as number) & (1 << PG_swapcache)) return;
  if (partiallyMapped) {
    const f1 = s.flags[i + 1] as number;
    if (!(f1 & (1 << PG_partially_mapped))) {
      s.flags[i + 1] = f1 | (1 << PG_partially_mapped);
      if (order >= rm.hpagePmdOrder) rm.thpDeferredSplitPage++;
      modMthpStat(rm, order, MTHP_STAT.MTHP_STAT_SPLIT_DEFERRED, 1);
      modMthpStat(rm, order, MTHP_STAT.MTHP_STAT_NR_ANON_PARTIALLY_MAPPED, 1);
    }
  } else {
    rm.machine.warnOn(
      (((s.flags[i + 1] as number) >>> PG_partially_mapped) & 1) === 1,
      'deferred_split: a partially mapped folio cannot become non-partially mapped',
    );
  }
  // __list_lru_add: only when not on a list yet.
  if (s.next[i + 2] !== folio) return;
  const nid = rm.mem.pageToNid(folio);
  const tail = rm.splitQueueTail[nid] as number;
  s.next[i + 2] = -1;
  s.prev[i + 2] = tail;
  if (tail < 0) rm.splitQueueHead[nid] = folio;
  else rm.sec(tail).next[(tail & rm.mask) + 2] = folio;
  rm.splitQueueTail[nid] = folio;
  rm.splitQueueLen[nid] = (rm.splitQueueLen[nid] as number) + 1;
}

/**
 * Take the folio off its deferred split queue (at free or split), clearing
 * PG_partially_mapped and its statistic; true when it was queued.
 * @kernel __folio_unqueue_deferred_split (mm/huge_memory.c)
 */
export function folioUnqueueDeferredSplit(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const order = s.order[i] as number;
  if (order <= 1 || s.next[i + 2] === folio) return false;
  const nid = rm.mem.pageToNid(folio);
  const next = s.next[i + 2] as number;
  const prev = s.prev[i + 2] as number;
  if (prev < 0) rm.splitQueueHead[nid] = next;
  else rm.sec(prev).next[(prev & rm.mask) + 2] = next;
  if (next < 0) rm.splitQueueTail[nid] = prev;
  else rm.sec(next).prev[(next & rm.mask) + 2] = prev;
  s.next[i + 2] = folio;
  s.prev[i + 2] = folio;
  rm.splitQueueLen[nid] = (rm.splitQueueLen[nid] as number) - 1;
  const f1 = s.flags[i + 1] as number;
  if (f1 & (1 << PG_partially_mapped)) {
    s.flags[i + 1] = f1 & ~(1 << PG_partially_mapped);
    modMthpStat(rm, order, MTHP_STAT.MTHP_STAT_NR_ANON_PARTIALLY_MAPPED, -1);
  }
  return true;
}

/** The folios on node `nid`'s deferred split queue, in queue order. */
export function deferredSplitQueue(rm: FolioRmap, nid: number): number[] {
  const out: number[] = [];
  let f = rm.splitQueueHead[nid] as number;
  while (f >= 0 && out.length <= (rm.splitQueueLen[nid] as number)) {
    out.push(f);
    f = rm.sec(f).next[(f & rm.mask) + 2] as number;
  }
  return out;
}
