/**
 * DOC: the allocation context stack. The request's `struct alloc_context`
 * lives in PageAllocator fields (`ac*`, read by the hot path); a hook that
 * may allocate runs between {@link pushAllocContext} and
 * {@link popAllocContext}, so a nested request (reclaim allocating, as the
 * kernel's PF_MEMALLOC reclaim does) leaves the outer request's context as
 * it found it.
 */

import { MmBugError } from '../errors.js';
import type { PageAllocator } from './page-alloc.js';

/** Int32 slots of one saved allocation context . */
export const AC_FRAME = 7;

/**
 * Save the running request's allocation context before a hook that may
 * allocate; {@link popAllocContext} restores it. Frames are indexed by
 * nesting depth, preallocated and grown on demand.
 */
export function pushAllocContext(pa: PageAllocator): void {
  const d = pa.allocNesting;
  let st = pa.acStack;
  if ((d + 1) * AC_FRAME > st.length) {
    const grown = new Int32Array(st.length * 2);
    grown.set(st);
    pa.acStack = grown;
    st = grown;
  }
  const b = d * AC_FRAME;
  st[b] = pa.acNid;
  st[b + 1] = pa.acHighestZoneidx;
  st[b + 2] = pa.acMigratetype;
  st[b + 3] = pa.acPreferredIdx;
  st[b + 4] = pa.noProgressLoops;
  st[b + 5] = pa.lastReclaimProgress;
  st[b + 6] = pa.rmqm;
  pa.acStackZonelist[d] = pa.acZonelist;
  pa.allocNesting = d + 1;
}

/** Restore the context saved by the matching {@link pushAllocContext}. */
export function popAllocContext(pa: PageAllocator): void {
  const d = pa.allocNesting - 1;
  if (d < 0) throw new MmBugError('page_alloc: allocation context stack underflow');
  const st = pa.acStack;
  const b = d * AC_FRAME;
  pa.acNid = st[b] as number;
  pa.acHighestZoneidx = st[b + 1] as number;
  pa.acMigratetype = st[b + 2] as number;
  pa.acPreferredIdx = st[b + 3] as number;
  pa.noProgressLoops = st[b + 4] as number;
  pa.lastReclaimProgress = st[b + 5] as number;
  pa.rmqm = st[b + 6] as number;
  pa.acZonelist = pa.acStackZonelist[d] as Int32Array;
  pa.allocNesting = d;
}
