/**
 * DOC: slab pages: getting 2^order buddy pages for a new slab, setting up
 * its objects (freelist, ctor, debug state), and giving them back, at once
 * or after a grace period for SLAB_TYPESAFE_BY_RCU caches.
 * @kernel allocate_slab, new_slab, free_slab, discard_slab (mm/slub.c)
 */

import { ENOMEM } from '@mm/machine';
import { grow8, grow32, growF64, type KmemCache, OBJ_FREE, stat } from './cache.js';
import { initObjectDebug } from './debug.js';
import {
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RECLAIM,
} from './internal/gfp.js';
import { LIST_NONE } from './partial.js';
import { SLAB_STORE_USER, SLAB_TYPESAFE_BY_RCU, STAT } from './slab-flags.js';

export function allocSlabId(s: KmemCache): number {
  if (s.nrFreeIds > 0) return s.freeIds[--s.nrFreeIds] as number;
  const l = s.nrIds++;
  if (l >= s.slabPfn.length) {
    s.slabPfn = grow32(s.slabPfn);
    s.slabGid = grow32(s.slabGid);
    s.slabObjects = grow32(s.slabObjects);
    s.slabInuse = grow32(s.slabInuse);
    s.slabFree = grow32(s.slabFree);
    s.slabFreeCount = grow32(s.slabFreeCount);
    s.slabOrder = grow8(s.slabOrder);
    s.slabNid = grow32(s.slabNid);
    s.slabFrozen = grow8(s.slabFrozen);
    s.slabList = grow8(s.slabList);
    s.slabNext = grow32(s.slabNext);
    s.slabPrev = grow32(s.slabPrev);
    s.freeIds = grow32(s.freeIds);
    s.objNext = grow32(s.objNext);
    s.objState = grow8(s.objState);
    s.objDebug = grow8(s.objDebug);
    if (s.flags & SLAB_STORE_USER) {
      s.trackAllocCpu = grow32(s.trackAllocCpu);
      s.trackAllocPid = grow32(s.trackAllocPid);
      s.trackAllocNs = growF64(s.trackAllocNs);
      s.trackFreeCpu = grow32(s.trackFreeCpu);
      s.trackFreePid = grow32(s.trackFreePid);
      s.trackFreeNs = growF64(s.trackFreeNs);
    }
  }
  return l;
}

export function allocSlabPage(s: KmemCache, gfp: number, node: number, order: number): number {
  const a = s.allocator;
  for (;;) {
    const pfn = a.env.allocPages(gfp, order, node);
    if (pfn !== 0 || a.reservedPfn0) return pfn;
    // PFN 0 is kept back (the kernel reserves the first page); ask again.
    a.reservedPfn0 = true;
  }
}

/**
 * Allocate and set up a new slab on `node` (NUMA_NO_NODE = local).
 * @returns the local slab id, or -1 when the page allocator failed.
 * @kernel allocate_slab (mm/slub.c)
 */
export function allocateSlab(s: KmemCache, gfp: number, node: number): number {
  let order = s.order;
  let objects = s.objsPerSlab;
  // s->allocflags: slabs of order > 0 are compound pages
  gfp |= s.order > 0 ? __GFP_COMP : 0;
  let allocGfp = (gfp | __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_NOFAIL;
  if (allocGfp & __GFP_DIRECT_RECLAIM && order > s.minOrder) allocGfp = (allocGfp | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM;
  let pfn = allocSlabPage(s, allocGfp, node, order);
  if (pfn < 0) {
    order = s.minOrder;
    objects = s.minObjects;
    pfn = order === s.order ? -ENOMEM : allocSlabPage(s, order > 0 ? gfp : gfp & ~__GFP_COMP, node, order);
    if (pfn < 0) return -1;
    stat(s, STAT.ORDER_FALLBACK);
  }
  const a = s.allocator;
  const l = allocSlabId(s);
  const gid = a.allocGid(s.id, l);
  const nPages = 2 ** order;
  for (let i = 0; i < nPages; i++) a.pfnSet(pfn + i, gid + 1);
  a.nrSlabPages += nPages;
  a.env.setPageSlab(pfn, true);
  s.slabPfn[l] = pfn;
  s.slabGid[l] = gid;
  s.slabObjects[l] = objects;
  s.slabInuse[l] = 0;
  s.slabOrder[l] = order;
  s.slabNid[l] = a.env.pfnToNid(pfn);
  s.slabFrozen[l] = 0;
  s.slabList[l] = LIST_NONE;
  s.slabNext[l] = -1;
  s.slabPrev[l] = -1;
  const base = l * s.objsPerSlab;
  for (let i = 0; i < objects; i++) {
    s.objNext[base + i] = i + 1 < objects ? i + 1 : -1;
    s.objState[base + i] = OBJ_FREE;
    s.objDebug[base + i] = 0;
  }
  s.slabFree[l] = 0;
  s.slabFreeCount[l] = objects;
  if (s.ctor !== null) {
    const ctor = s.ctor;
    try {
      for (let i = 0; i < objects; i++) ctor(s.objAddr(l, i));
    } catch (e) {
      // a kernel ctor cannot fail; a throwing one leaves no slab behind
      freeSlabPages(s, l);
      throw e;
    }
  }
  if (s.debug) for (let i = 0; i < objects; i++) initObjectDebug(s, base + i);
  return l;
}

/** Allocate and set up a new slab for `s` on `node`; its handle, or -1 when the page allocation fails. @kernel new_slab (mm/slub.c) */
export function newSlab(s: KmemCache, gfp: number, node: number): number {
  return allocateSlab(s, gfp, node);
}

export function freeSlabPages(s: KmemCache, l: number): void {
  const a = s.allocator;
  const pfn = s.slabPfn[l] as number;
  const order = s.slabOrder[l] as number;
  const nPages = 2 ** order;
  for (let i = 0; i < nPages; i++) a.pfnSet(pfn + i, 0);
  a.freeGid(s.slabGid[l] as number);
  a.nrSlabPages -= nPages;
  s.slabPfn[l] = -1;
  s.slabObjects[l] = 0;
  s.freeIds[s.nrFreeIds++] = l;
  a.env.setPageSlab(pfn, false);
  a.env.freePages(pfn, order);
}

/**
 * Give a slab's pages back: now, or after a grace period for SLAB_TYPESAFE_BY_RCU.
 * @kernel free_slab (mm/slub.c)
 */
export function freeSlab(s: KmemCache, l: number): void {
  if (s.flags & SLAB_TYPESAFE_BY_RCU) {
    // The pages stay a slab of this cache until the grace period ends.
    s.slabList[l] = LIST_NONE;
    s.slabFrozen[l] = 2;
    s.nrRcuSlabs++;
    s.env.callRcu(rcuFreeSlab, { s, l });
    return;
  }
  freeSlabPages(s, l);
}

export function rcuFreeSlab(arg: unknown): void {
  const { s, l } = arg as { s: KmemCache; l: number };
  s.nrRcuSlabs--;
  freeSlabPages(s, l);
}

/** Free slab `l`, which must hold no objects, back to the page allocator. @kernel discard_slab (mm/slub.c) */
export function discardSlab(s: KmemCache, l: number): void {
  const nid = s.slabNid[l] as number;
  s.nrSlabsNode[nid] = (s.nrSlabsNode[nid] as number) - 1;
  s.totalObjectsNode[nid] = (s.totalObjectsNode[nid] as number) - (s.slabObjects[l] as number);
  freeSlab(s, l);
}

export function incSlabsNode(s: KmemCache, l: number): void {
  const nid = s.slabNid[l] as number;
  s.nrSlabsNode[nid] = (s.nrSlabsNode[nid] as number) + 1;
  s.totalObjectsNode[nid] = (s.totalObjectsNode[nid] as number) + (s.slabObjects[l] as number);
}
