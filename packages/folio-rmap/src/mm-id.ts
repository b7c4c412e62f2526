/**
 * DOC: MM owner tracking for large folios (CONFIG_MM_ID, v6.15).
 *
 * Every mm gets a 31-bit id (`mm->mm_id`, 64-bit layout) from `mm_ida`.
 * A large folio (not hugetlb) has two slots on its first tail page, each an
 * MM id and a per-MM mapcount, plus two flag bits in the top bits of the id
 * words: a bit spinlock that serializes the large mapcount with the slots,
 * and "maybe mapped shared".
 *
 * ```
 *  page[1] memmap words                     kernel field
 *  next                                    _large_mapcount      (total - 1)
 *  indexWords[0], indexWords[1]            _mm_id_mapcount[0/1] (per-MM - 1; -1 = free slot)
 *  privateWords[0]  bit 31 | id0           _mm_id[0]: FOLIO_MM_IDS_LOCK_BITNUM (31) | MM id of slot 0
 *  privateWords[1]  bit 31 | id1           _mm_id[1]: FOLIO_MM_IDS_SHARED_BITNUM (63) | MM id of slot 1
 * ```
 *
 * A mapping by an MM enters a free slot (or adds to its slot); an MM with
 * no slot free is untracked. The shared bit is set when a second MM takes a
 * slot, or when an MM takes slot 0 while untracked mappings exist; it is
 * cleared on an unmap once one slot's count equals the total. So
 * {@link folioMaybeMappedShared} is never false for a folio two MMs map, and
 * exact while at most two MMs map it at a time (the examples in the kernel commit "mm/rmap: basic MM owner tracking
 * for large folios (!hugetlb)", v6.15).
 */
import { bitSpinLock, bitSpinUnlock, ENOSPC } from '@mm/machine';
import type { FolioRmap } from './env.js';
import type { RmapVma } from './vma.js';

/** `MM_ID_DUMMY`: the id of init_mm and of mms that never rmap pages; a free slot. */
export const MM_ID_DUMMY = 0;
/** `MM_ID_MIN`: the smallest id a real mm gets. */
export const MM_ID_MIN = 1;
/** `MM_ID_BITS` on 64-bit: `mm_id_t` is an unsigned int minus the flag bit. */
export const MM_ID_BITS = 31;
/** `MM_ID_MASK`: the id bits of a `folio->_mm_id[]` word (the bit above is a flag). */
export const MM_ID_MASK = 0x7fffffff;
/** `MM_ID_MAX`: the largest id an mm can get. */
export const MM_ID_MAX = MM_ID_MASK;
/** Largest per-mm mapcount a folio's `_mm_id_mapcount[]` holds (`MM_ID_MAPCOUNT_MAX`: INT_MAX on 64-bit). */
export const MM_ID_MAPCOUNT_MAX = 0x7fffffff;
/** `FOLIO_MM_IDS_LOCK_BITNUM`: bit 31 of `_mm_ids` (top bit of `_mm_id[0]`). */
export const FOLIO_MM_IDS_LOCK_BITNUM = MM_ID_BITS;
/** `FOLIO_MM_IDS_SHARED_BITNUM`: bit 63 of `_mm_ids` (top bit of `_mm_id[1]`). */
export const FOLIO_MM_IDS_SHARED_BITNUM = 2 * MM_ID_BITS + 1;

/**
 * `mm_ida`: hands out the lowest free id in [MM_ID_MIN, max], as
 * `ida_alloc_range()` does.
 * @kernel mm_ida, mm_alloc_id, mm_free_id (kernel/fork.c)
 */
export class MmIdAllocator {
  /** Largest id handed out (`MM_ID_MAX` unless a test narrows it). */
  readonly max: number;
  /** Ids below `next` not in `freed` are in use. */
  private next: number;
  /** Min-heap of freed ids below `next`. */
  private readonly freed: number[];
  /** Ids in use. */
  nrInUse: number;

  constructor(max = MM_ID_MAX) {
    this.max = max;
    this.next = MM_ID_MIN;
    this.freed = [];
    this.nrInUse = 0;
  }

  /**
   * The lowest free id, or -ENOSPC when all are taken.
   * @kernel mm_alloc_id / ida_alloc_range (kernel/fork.c, lib/idr.c)
   */
  alloc(): number {
    const h = this.freed;
    let id: number;
    if (h.length > 0) {
      id = h[0] as number;
      const last = h.pop() as number;
      if (h.length > 0) {
        // sift `last` down from the root
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= h.length) break;
          const r = l + 1;
          const c = r < h.length && (h[r] as number) < (h[l] as number) ? r : l;
          if ((h[c] as number) >= last) break;
          h[i] = h[c] as number;
          i = c;
        }
        h[i] = last;
      }
    } else {
      if (this.next > this.max) return -ENOSPC;
      id = this.next++;
    }
    this.nrInUse++;
    return id;
  }

  /**
   * Give `id` back (at `__mmdrop`). Freeing an id not in use is a bug.
   * @kernel mm_free_id (kernel/fork.c)
   */
  free(id: number): void {
    if (!Number.isInteger(id) || id < MM_ID_MIN || id >= this.next || this.freed.includes(id)) {
      throw new RangeError(`mm_id: free of id ${id} that is not in use`);
    }
    const h = this.freed;
    let i = h.length;
    h.push(id);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as number) <= id) break;
      h[i] = h[p] as number;
      i = p;
    }
    h[i] = id;
    this.nrInUse--;
  }

  /** Whether `id` is currently handed out. */
  inUse(id: number): boolean {
    return Number.isInteger(id) && id >= MM_ID_MIN && id < this.next && !this.freed.includes(id);
  }
}

/**
 * Allocate `mm->mm_id` for a new mm (fork, exec): the id, or -ENOSPC.
 * @kernel mm_alloc_id (kernel/fork.c)
 */
export function mmAllocId(rm: FolioRmap): number {
  return rm.mmIds.alloc();
}

/**
 * Free `mm->mm_id` when the mm_struct is freed (`__mmdrop`), not at exit_mmap.
 * @kernel mm_free_id (kernel/fork.c)
 */
export function mmFreeId(rm: FolioRmap, id: number): void {
  rm.mmIds.free(id);
}

/**
 * The MM id in slot `idx` (0 or 1) of a large folio.
 * @kernel folio_mm_id (include/linux/rmap.h)
 */
export function folioMmId(rm: FolioRmap, folio: number, idx: number): number {
  const s = rm.sec(folio);
  return (s.privateWords[2 * ((folio & rm.mask) + 1) + idx] as number) & MM_ID_MASK;
}

/**
 * The mapcount of slot `idx` (the stored value + 1: 0 for a free slot).
 * @kernel folio->_mm_id_mapcount[idx] (include/linux/mm_types.h)
 */
export function folioMmIdMapcount(rm: FolioRmap, folio: number, idx: number): number {
  const s = rm.sec(folio);
  return (s.indexWords[2 * ((folio & rm.mask) + 1) + idx] as number) + 1;
}

/**
 * Whether the "maybe mapped shared" bit is set.
 * @kernel test_bit(FOLIO_MM_IDS_SHARED_BITNUM, &folio->_mm_ids)
 */
export function folioTestMmIdsShared(rm: FolioRmap, folio: number): boolean {
  const s = rm.sec(folio);
  return (s.privateWords[2 * ((folio & rm.mask) + 1) + 1] as number) < 0;
}

/**
 * Take the large-mapcount bit lock (bit 31 of `_mm_ids`), disabling preemption.
 * @kernel folio_lock_large_mapcount (include/linux/rmap.h)
 */
export function folioLockLargeMapcount(rm: FolioRmap, folio: number): void {
  const s = rm.sec(folio);
  bitSpinLock(rm.machine, s.privateWords, 2 * ((folio & rm.mask) + 1), FOLIO_MM_IDS_LOCK_BITNUM);
}

/**
 * Release the large-mapcount bit lock.
 * @kernel folio_unlock_large_mapcount (include/linux/rmap.h)
 */
export function folioUnlockLargeMapcount(rm: FolioRmap, folio: number): void {
  const s = rm.sec(folio);
  bitSpinUnlock(rm.machine, s.privateWords, 2 * ((folio & rm.mask) + 1), FOLIO_MM_IDS_LOCK_BITNUM);
}

/** The sanity checks of the slot code (VM_WARN_ON_ONCE); false when any fires. */
function sanityChecks(rm: FolioRmap, s: import('@mm/machine').MemSection, j: number, diff: number, mmId: number): void {
  const m = rm.machine;
  const w0 = s.privateWords[2 * j] as number;
  const w1 = s.privateWords[2 * j + 1] as number;
  const c0 = s.indexWords[2 * j] as number;
  const c1 = s.indexWords[2 * j + 1] as number;
  if (
    diff <= 0 ||
    mmId < MM_ID_MIN ||
    mmId > MM_ID_MAX ||
    ((w0 & MM_ID_MASK) === MM_ID_DUMMY ? c0 !== -1 : c0 < 0) ||
    ((w1 & MM_ID_MASK) === MM_ID_DUMMY ? c1 !== -1 : c1 < 0) ||
    ((s.next[j] as number) < 0 && w1 < 0)
  ) {
    m.warnOn(true, `folio_rmap: large mapcount sanity check failed (diff ${diff}, mm_id ${mmId})`);
  }
}

/**
 * Set the mapcount of a new folio mapped `mapcount` times by `vma`'s mm:
 * `_large_mapcount` and slot 0; both slots must be free.
 * @kernel folio_set_large_mapcount (include/linux/rmap.h)
 */
export function folioSetLargeMapcount(rm: FolioRmap, folio: number, mapcount: number, vma: RmapVma): void {
  const s = rm.sec(folio);
  const j = (folio & rm.mask) + 1;
  const id = vma.vmMm.mmId;
  sanityChecks(rm, s, j, mapcount, id);
  rm.machine.warnOn(
    ((s.privateWords[2 * j] as number) & MM_ID_MASK) !== MM_ID_DUMMY ||
      ((s.privateWords[2 * j + 1] as number) & MM_ID_MASK) !== MM_ID_DUMMY,
    'folio_rmap: folio_set_large_mapcount on a folio with an occupied slot',
  );
  s.next[j] = mapcount - 1;
  s.indexWords[2 * j] = mapcount - 1;
  s.privateWords[2 * j] = ((s.privateWords[2 * j] as number) & ~MM_ID_MASK) | id;
  rm.chargeAtomics(1);
}

/**
 * Add `diff` mappings by `vma`'s mm to the large mapcount and the slots,
 * under the bit lock; returns the new total mapcount.
 * @kernel folio_add_return_large_mapcount (include/linux/rmap.h)
 */
export function folioAddReturnLargeMapcount(rm: FolioRmap, folio: number, diff: number, vma: RmapVma): number {
  const s = rm.sec(folio);
  const j = (folio & rm.mask) + 1;
  const mmId = vma.vmMm.mmId;
  const ids = s.privateWords;
  const cnt = s.indexWords;
  bitSpinLock(rm.machine, ids, 2 * j, FOLIO_MM_IDS_LOCK_BITNUM);
  sanityChecks(rm, s, j, diff, mmId);
  const v = (s.next[j] as number) + diff;
  s.next[j] = v;
  const w0 = ids[2 * j] as number;
  const w1 = ids[2 * j + 1] as number;
  if ((w0 & MM_ID_MASK) === mmId) {
    cnt[2 * j] = (cnt[2 * j] as number) + diff;
  } else if ((w1 & MM_ID_MASK) === mmId) {
    cnt[2 * j + 1] = (cnt[2 * j + 1] as number) + diff;
  } else if ((w0 & MM_ID_MASK) === MM_ID_DUMMY) {
    ids[2 * j] = (w0 & ~MM_ID_MASK) | mmId;
    cnt[2 * j] = diff - 1;
    // We might have other (untracked) mappings already.
    if (v !== diff - 1) ids[2 * j + 1] = w1 | (1 << 31);
  } else if ((w1 & MM_ID_MASK) === MM_ID_DUMMY) {
    cnt[2 * j + 1] = diff - 1;
    // Slot 0 certainly has mappings as well.
    ids[2 * j + 1] = (w1 & ~MM_ID_MASK) | mmId | (1 << 31);
  }
  bitSpinUnlock(rm.machine, ids, 2 * j, FOLIO_MM_IDS_LOCK_BITNUM);
  rm.chargeAtomics(1);
  return v + 1;
}

/**
 * Remove `diff` mappings by `vma`'s mm; returns the new total mapcount.
 * @kernel folio_sub_return_large_mapcount (include/linux/rmap.h)
 */
export function folioSubReturnLargeMapcount(rm: FolioRmap, folio: number, diff: number, vma: RmapVma): number {
  const s = rm.sec(folio);
  const j = (folio & rm.mask) + 1;
  const mmId = vma.vmMm.mmId;
  const ids = s.privateWords;
  const cnt = s.indexWords;
  bitSpinLock(rm.machine, ids, 2 * j, FOLIO_MM_IDS_LOCK_BITNUM);
  sanityChecks(rm, s, j, diff, mmId);
  const v = (s.next[j] as number) - diff;
  s.next[j] = v;
  let out = false;
  // Valid corner cases can underflow a per-MM count (mappings added while
  // no slot was free, others once one was): a negative count frees the slot.
  if (((ids[2 * j] as number) & MM_ID_MASK) === mmId) {
    const c = (cnt[2 * j] as number) - diff;
    if (c >= 0) {
      cnt[2 * j] = c;
      out = true;
    } else {
      cnt[2 * j] = -1;
      ids[2 * j] = (ids[2 * j] as number) & ~MM_ID_MASK;
    }
  } else if (((ids[2 * j + 1] as number) & MM_ID_MASK) === mmId) {
    const c = (cnt[2 * j + 1] as number) - diff;
    if (c >= 0) {
      cnt[2 * j + 1] = c;
      out = true;
    } else {
      cnt[2 * j + 1] = -1;
      ids[2 * j + 1] = (ids[2 * j + 1] as number) & ~MM_ID_MASK;
    }
  }
  // If one MM slot owns all mappings, the folio is mapped exclusively (also
  // when now unmapped: both slots are free, -1 == -1).
  if (!out && (cnt[2 * j] === v || cnt[2 * j + 1] === v)) ids[2 * j + 1] = (ids[2 * j + 1] as number) & MM_ID_MASK;
  bitSpinUnlock(rm.machine, ids, 2 * j, FOLIO_MM_IDS_LOCK_BITNUM);
  rm.chargeAtomics(1);
  return v + 1;
}
