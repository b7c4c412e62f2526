/**
 * DOC: the lists a slab can be on: a node's partial list
 * (`kmem_cache_node.partial`, slabs with free objects), its full list (kept
 * only with SLAB_STORE_USER, for validation), a CPU's partial list and the
 * CPU slab. Context: the node's `list_lock` held for node lists.
 */

import type { KmemCache } from './cache.js';
import { SLAB_STORE_USER } from './slab-flags.js';

/** Which list a slab is on (`slabList`): none (CPU-less, full without SLAB_STORE_USER, or in flight). */
export const LIST_NONE = 0;
export const LIST_PARTIAL = 1;
export const LIST_FULL = 2;
export const LIST_CPU_PARTIAL = 3;
export const LIST_CPU = 4;

export function addPartial(s: KmemCache, nid: number, l: number, tail: boolean): void {
  s.nrPartial[nid] = (s.nrPartial[nid] as number) + 1;
  s.slabList[l] = LIST_PARTIAL;
  if (tail) {
    const t = s.partialTail[nid] as number;
    s.slabPrev[l] = t;
    s.slabNext[l] = -1;
    if (t >= 0) s.slabNext[t] = l;
    else s.partialHead[nid] = l;
    s.partialTail[nid] = l;
  } else {
    const h = s.partialHead[nid] as number;
    s.slabNext[l] = h;
    s.slabPrev[l] = -1;
    if (h >= 0) s.slabPrev[h] = l;
    else s.partialTail[nid] = l;
    s.partialHead[nid] = l;
  }
}

export function removePartial(s: KmemCache, nid: number, l: number): void {
  const p = s.slabPrev[l] as number;
  const n = s.slabNext[l] as number;
  if (p >= 0) s.slabNext[p] = n;
  else s.partialHead[nid] = n;
  if (n >= 0) s.slabPrev[n] = p;
  else s.partialTail[nid] = p;
  s.slabList[l] = LIST_NONE;
  s.slabNext[l] = -1;
  s.slabPrev[l] = -1;
  s.nrPartial[nid] = (s.nrPartial[nid] as number) - 1;
}

export function addFull(s: KmemCache, nid: number, l: number): void {
  if (!(s.flags & SLAB_STORE_USER)) return;
  const h = s.fullHead[nid] as number;
  s.slabNext[l] = h;
  s.slabPrev[l] = -1;
  if (h >= 0) s.slabPrev[h] = l;
  s.fullHead[nid] = l;
  s.slabList[l] = LIST_FULL;
}

export function removeFull(s: KmemCache, nid: number, l: number): void {
  if (s.slabList[l] !== LIST_FULL) return;
  const p = s.slabPrev[l] as number;
  const n = s.slabNext[l] as number;
  if (p >= 0) s.slabNext[p] = n;
  else s.fullHead[nid] = n;
  if (n >= 0) s.slabPrev[n] = p;
  s.slabList[l] = LIST_NONE;
  s.slabNext[l] = -1;
  s.slabPrev[l] = -1;
}
