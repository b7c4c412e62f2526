/**
 * DOC: the SLUB core: slab pages, per-CPU slabs, partial lists, the
 * allocation and free paths and the cache API.
 *
 * A slab is a run of 2^order buddy pages holding `objects` objects of
 * `s.size` bytes. Objects are integer handles: the byte address
 * `pfn * PAGE_SIZE + red_left_pad + index * size` of the object in the slab
 * (what `virt_to_slab()` and `obj_to_index()` work on in the kernel), so
 * `kfree(ptr)` finds its slab from the address alone.
 *
 * The structures are in cache.ts, object layout and slab order in
 * layout.ts, the list primitives in partial.ts.
 *
 * Layers, as mm/slub.c of the v6.18 era:
 * - per-CPU active slab with a lockless freelist (`kmem_cache_cpu.freelist`,
 *   here `cpuFreelist`), remote frees going to `slab->freelist`;
 * - per-CPU partial slabs (`slub_percpu_partial`), drained to the node when
 *   over `cpu_partial_slabs`;
 * - per-node partial lists (`kmem_cache_node.partial`), empty slabs kept up
 *   to `min_partial` and freed to the buddy allocator beyond;
 * - debug caches and SLUB_TINY skip the per-CPU layer and allocate one
 *   object at a time from the node partial lists (`alloc_single_from_partial`).
 * Partial-list changes hold the node's `list_lock`; empty slabs are freed
 * after it is dropped.
 * Percpu sheaves (sheaf.ts) sit on top for caches created with a
 * `sheafCapacity`.
 */

import { __GFP_BITS_MASK, EINVAL, ENOMEM } from '@mm/machine';
import { barnShrink, newNodeBarn } from './barn.js';
import {
  grow8,
  grow32,
  growF64,
  KmemCache,
  type KmemCacheArgs,
  OBJ_ALLOC,
  OBJ_BULK_SEEN,
  OBJ_FREE,
  OBJ_RCU,
  OBJ_SHEAF,
  resolveSlubConfig,
  SlubAllocator,
  type SlubConfig,
  stat,
} from './cache.js';
import { badArg, checkAllocator, checkCache, checkGfp, showValue } from './check.js';
import { debugOnAlloc, debugOnFree, initObjectDebug } from './debug.js';
import type { SlabEnv } from './env.js';
import { CacheBusyError, SlabBugError, SlabError } from './errors.js';
import {
  __GFP_ACCOUNT,
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RECLAIM,
  __GFP_THISNODE,
  __GFP_ZERO,
  GFP_NOWAIT,
} from './internal/gfp.js';
import { createKmallocCaches } from './kmalloc.js';
import { WORD } from './layout.js';
import { addFull, addPartial, LIST_CPU, LIST_CPU_PARTIAL, LIST_NONE, removeFull, removePartial } from './partial.js';
import {
  allocFromPcs,
  allocFromPcsBulk,
  freeToPcs,
  freeToPcsBulk,
  hasPcsUsed,
  newPercpuSheaves,
  pcsDestroy,
  pcsFlushAll,
  pcsFlushAllCpu,
} from './sheaf.js';
import {
  NR_SLUB_STAT_ITEMS,
  NUMA_NO_NODE,
  SLAB_ACCOUNT,
  SLAB_KMALLOC,
  SLAB_KNOWN_FLAGS,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
  STAT,
} from './slab-flags.js';

/**
 * Create the allocator on `env` (see machine-env.ts for `createSlabEnv`).
 * @kernel kmem_cache_init (mm/slub.c)
 */
export function createSlubAllocator(env: SlabEnv, config: SlubConfig = {}): SlubAllocator {
  const a = new SlubAllocator(env, resolveSlubConfig(config, env.pageSize));
  env.cpuhpSetupState('slub:dead', null, (cpu) => {
    slubCpuDead(a, cpu);
    return 0;
  });
  createKmallocCaches(a);
  return a;
}

/**
 * Create a cache of `objectSize`-byte objects.
 * @throws SlabError EINVAL for a bad size, alignment or capacity.
 * @kernel __kmem_cache_create_args (mm/slab_common.c)
 */
export function kmemCacheCreate(
  a: SlubAllocator,
  name: string,
  objectSize: number,
  args: KmemCacheArgs = {},
): KmemCache {
  checkAllocator(a, 'kmem_cache_create');
  if (typeof name !== 'string' || name.length === 0) throw badArg('kmem_cache_create', 'name', name, 'is not a name');
  if (typeof args !== 'object' || args === null)
    throw badArg('kmem_cache_create', 'args', args, 'is not an object', name);
  if (args.ctor !== undefined && args.ctor !== null && typeof args.ctor !== 'function') {
    throw badArg('kmem_cache_create', 'args.ctor', args.ctor, 'is not a function', name);
  }
  const flags = args.flags ?? 0;
  if (flags >>> 0 !== flags || (flags & ~SLAB_KNOWN_FLAGS) !== 0) {
    throw badArg('kmem_cache_create', 'args.flags', flags, 'has unknown SLAB_* bits', name);
  }
  if (!Number.isInteger(objectSize) || objectSize < 1) {
    throw new SlabError(
      'EINVAL',
      name,
      `slab: kmem_cache_create ${name}: object size ${objectSize} must be a positive integer`,
    );
  }
  if (objectSize > a.env.pageSize * 2 ** 10) {
    throw new SlabError(
      'EINVAL',
      name,
      `slab: kmem_cache_create ${name}: object size ${objectSize} exceeds MAX_PAGE_ORDER pages`,
    );
  }
  const align = args.align ?? WORD;
  if (!Number.isInteger(align) || align < 1 || align > a.env.pageSize || (align & (align - 1)) !== 0) {
    throw new SlabError('EINVAL', name, `slab: kmem_cache_create ${name}: align ${align} is not a power of two`);
  }
  const cap = args.sheafCapacity ?? 0;
  if (!Number.isInteger(cap) || cap < 0 || cap > 65535) {
    throw new SlabError('EINVAL', name, `slab: kmem_cache_create ${name}: sheafCapacity ${cap} outside 0..65535`);
  }
  const off = args.rcuHeadOffset ?? 0;
  if (!Number.isInteger(off) || off < 0 || off >= objectSize) {
    throw new SlabError('EINVAL', name, `slab: kmem_cache_create ${name}: rcuHeadOffset ${off} outside the object`);
  }
  const id = a.cacheById.length;
  const s = new KmemCache(a, id, name, objectSize, args);
  if (s.sheafCapacity > 0) {
    for (let nid = 0; nid < a.env.nrNodes; nid++) s.barns.push(newNodeBarn(a.env, nid));
    s.pcs = newPercpuSheaves(s);
  }
  a.cacheById.push(s);
  a.caches.push(s);
  return s;
}

/**
 * Destroy a cache: flush sheaves and per-CPU slabs, free all empty slabs.
 * @throws CacheBusyError (EBUSY) naming how many objects are still allocated; the cache stays usable.
 * @kernel kmem_cache_destroy (mm/slab_common.c)
 */
export function kmemCacheDestroy(s: KmemCache): void {
  if (!(s instanceof KmemCache)) checkCache(s, 'kmem_cache_destroy');
  if (s.destroyed) throw new SlabError('EINVAL', s.name, `slab: kmem_cache_destroy ${s.name}: already destroyed`);
  if (s.flags & SLAB_KMALLOC) {
    // boot caches (refcount -1 in the kernel) are never destroyed; kmalloc keeps using them
    throw new SlabError('EINVAL', s.name, `slab: kmem_cache_destroy: s (${s.name}) is a kmalloc cache`);
  }
  const busy = s.nrUserObjects + s.nrRcuObjects;
  if (busy > 0) throw new CacheBusyError(s.name, busy);
  if (s.nrRcuSlabs > 0) {
    // the kernel's kmem_cache_destroy() waits with rcu_barrier(); the caller does that here
    throw new SlabError(
      'EBUSY',
      s.name,
      `slab: kmem_cache_destroy ${s.name}: ${s.nrRcuSlabs} slabs wait for an RCU grace period (rcu_barrier first)`,
    );
  }
  kmemCacheShrink(s);
  // __kmem_cache_shutdown: objects still in slabs (say in sheaves of a CPU
  // that cannot be flushed) keep the cache alive, with the kernel's complaint.
  let remaining = 0;
  for (let l = 0; l < s.nrIds; l++) if (s.slabPfn[l]! >= 0 && s.slabObjects[l]! > 0) remaining += s.slabInuse[l]!;
  for (let cpu = 0; cpu < s.env.nrCpus; cpu++) remaining -= s.cpuFreelistLength(cpu);
  if (remaining > 0) throw new CacheBusyError(s.name, remaining);
  // free every remaining (empty) slab (free_partial)
  for (let nid = 0; nid < s.env.nrNodes; nid++) {
    const lock = s.listLock[nid]!;
    lock.lock();
    const discard: number[] = [];
    let l = s.partialHead[nid]!;
    while (l >= 0) {
      const next = s.slabNext[l]!;
      if (s.slabInuse[l] === 0) {
        removePartial(s, nid, l);
        discard.push(l);
      }
      l = next;
    }
    lock.unlock();
    for (const x of discard) discardSlab(s, x);
  }
  if (s.pcs !== null) pcsDestroy(s);
  s.destroyed = true;
  const a = s.allocator;
  a.cacheById[s.id] = null;
  const i = a.caches.indexOf(s);
  if (i >= 0) a.caches.splice(i, 1);
}

// ---------------------------------------------------------------------------
// Slab pages

function allocSlabId(s: KmemCache): number {
  if (s.nrFreeIds > 0) return s.freeIds[--s.nrFreeIds]!;
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

function allocSlabPage(s: KmemCache, gfp: number, node: number, order: number): number {
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
function allocateSlab(s: KmemCache, gfp: number, node: number): number {
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

/** @kernel new_slab (mm/slub.c) */
function newSlab(s: KmemCache, gfp: number, node: number): number {
  return allocateSlab(s, gfp, node);
}

function freeSlabPages(s: KmemCache, l: number): void {
  const a = s.allocator;
  const pfn = s.slabPfn[l]!;
  const order = s.slabOrder[l]!;
  const nPages = 2 ** order;
  for (let i = 0; i < nPages; i++) a.pfnSet(pfn + i, 0);
  a.freeGid(s.slabGid[l]!);
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
function freeSlab(s: KmemCache, l: number): void {
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

function rcuFreeSlab(arg: unknown): void {
  const { s, l } = arg as { s: KmemCache; l: number };
  s.nrRcuSlabs--;
  freeSlabPages(s, l);
}

/** @kernel discard_slab (mm/slub.c) */
function discardSlab(s: KmemCache, l: number): void {
  const nid = s.slabNid[l]!;
  s.nrSlabsNode[nid] = s.nrSlabsNode[nid]! - 1;
  s.totalObjectsNode[nid] = s.totalObjectsNode[nid]! - s.slabObjects[l]!;
  freeSlab(s, l);
}

function incSlabsNode(s: KmemCache, l: number): void {
  const nid = s.slabNid[l]!;
  s.nrSlabsNode[nid] = s.nrSlabsNode[nid]! + 1;
  s.totalObjectsNode[nid] = s.totalObjectsNode[nid]! + s.slabObjects[l]!;
}

// ---------------------------------------------------------------------------
// Lists

// ---------------------------------------------------------------------------
// Allocation from slabs

/** Pop one object from a slab's freelist; returns the index. */
function slabPop(s: KmemCache, l: number): number {
  const idx = s.slabFree[l]!;
  s.slabFree[l] = s.objNext[l * s.objsPerSlab + idx]!;
  s.slabFreeCount[l] = s.slabFreeCount[l]! - 1;
  s.slabInuse[l] = s.slabInuse[l]! + 1;
  return idx;
}

/**
 * Debug/SLUB_TINY allocation of one object from a node partial slab.
 * @kernel alloc_single_from_partial (mm/slub.c)
 */
function allocSingleFromPartial(s: KmemCache, nid: number, l: number): number {
  const idx = slabPop(s, l);
  if (s.slabFree[l]! < 0) {
    removePartial(s, nid, l);
    addFull(s, nid, l);
  }
  return l * s.objsPerSlab + idx;
}

/** @kernel alloc_single_from_new_slab (mm/slub.c) */
function allocSingleFromNewSlab(s: KmemCache, l: number): number {
  const idx = slabPop(s, l);
  const nid = s.slabNid[l]!;
  const lock = s.listLock[nid]!;
  lock.lock();
  if (s.slabFree[l]! < 0) addFull(s, nid, l);
  else addPartial(s, nid, l, false);
  incSlabsNode(s, l);
  lock.unlock();
  return l * s.objsPerSlab + idx;
}

/**
 * Take the whole freelist of a slab leaving the slab frozen for a CPU.
 * @kernel freeze_slab (mm/slub.c)
 */
function freezeSlab(s: KmemCache, l: number): number {
  s.env.chargeCmpxchgDouble();
  const head = s.slabFree[l]!;
  s.slabFree[l] = -1;
  s.slabFreeCount[l] = 0;
  s.slabInuse[l] = s.slabObjects[l]!;
  s.slabFrozen[l] = 1;
  s.slabList[l] = LIST_CPU;
  return head;
}

/**
 * Put a slab on this CPU's partial list, draining the list to the node first when full.
 * @kernel put_cpu_partial (mm/slub.c)
 */
function putCpuPartial(s: KmemCache, cpu: number, l: number, drain: boolean): void {
  if (drain && s.cpuPartialCount[cpu]! >= s.cpuPartialSlabs) {
    putPartials(s, cpu);
    stat(s, STAT.CPU_PARTIAL_DRAIN);
  }
  s.slabFrozen[l] = 1;
  s.slabList[l] = LIST_CPU_PARTIAL;
  s.slabNext[l] = s.cpuPartialHead[cpu]!;
  s.slabPrev[l] = -1;
  s.cpuPartialHead[cpu] = l;
  s.cpuPartialCount[cpu] = s.cpuPartialCount[cpu]! + 1;
}

/**
 * Unfreeze a CPU's partial slabs onto their nodes (discarding empty ones over min_partial).
 * @kernel __put_partials (mm/slub.c)
 */
function putPartials(s: KmemCache, cpu: number): void {
  let l = s.cpuPartialHead[cpu]!;
  s.cpuPartialHead[cpu] = -1;
  s.cpuPartialCount[cpu] = 0;
  while (l >= 0) {
    const next = s.slabNext[l]!;
    s.slabFrozen[l] = 0;
    s.slabList[l] = LIST_NONE;
    const nid = s.slabNid[l]!;
    const lock = s.listLock[nid]!;
    lock.lock();
    if (s.slabInuse[l] === 0 && s.nrPartial[nid]! >= s.minPartial) {
      lock.unlock();
      stat(s, STAT.FREE_SLAB);
      discardSlab(s, l);
    } else {
      addPartial(s, nid, l, true);
      lock.unlock();
      stat(s, STAT.FREE_ADD_PARTIAL);
    }
    l = next;
  }
}

/**
 * Take a partial slab from `nid`: the first becomes the CPU slab (returned
 * frozen), more fill the CPU partial list up to half of cpu_partial_slabs.
 * For single-object caches returns an object instead (encoded as -2 - objIndex).
 * @kernel get_partial_node (mm/slub.c)
 */
function getPartialNode(s: KmemCache, nid: number, cpu: number): number {
  // racy check: no partial slabs, no lock
  if (s.nrPartial[nid] === 0) return -1;
  const lock = s.listLock[nid]!;
  lock.lock();
  let l = s.partialHead[nid]!;
  if (s.singlePaths) {
    const o = allocSingleFromPartial(s, nid, l);
    lock.unlock();
    return -2 - o;
  }
  let got = -1;
  let partialSlabs = 0;
  while (l >= 0) {
    const next = s.slabNext[l]!;
    removePartial(s, nid, l);
    if (got < 0) {
      got = l;
      stat(s, STAT.ALLOC_FROM_PARTIAL);
    } else {
      putCpuPartial(s, cpu, l, false);
      stat(s, STAT.CPU_PARTIAL_NODE);
      if (++partialSlabs > s.cpuPartialSlabs / 2) break;
    }
    if (s.cpuPartialSlabs === 0) break;
    l = next;
  }
  lock.unlock();
  return got;
}

/**
 * Partial slab from the requested node, else from other nodes by distance
 * (unless __GFP_THISNODE).
 * @kernel get_partial (mm/slub.c)
 */
function getPartial(s: KmemCache, node: number, gfp: number, cpu: number): number {
  const search = node === NUMA_NO_NODE ? s.env.cpuToNode(cpu) : node;
  const r = getPartialNode(s, search, cpu);
  if (r !== -1 || (node !== NUMA_NO_NODE && gfp & __GFP_THISNODE)) return r;
  // get_any_partial(): other nodes with more than min_partial slabs.
  for (let nid = 0; nid < s.env.nrNodes; nid++) {
    if (nid === search || s.nrPartial[nid]! <= s.minPartial) continue;
    const o = getPartialNode(s, nid, cpu);
    if (o !== -1) return o;
  }
  return -1;
}

/**
 * Put a CPU slab back: objects of the CPU freelist return to the slab, which
 * goes to the node partial list, is discarded when empty, or stays off-list when full.
 * @kernel deactivate_slab (mm/slub.c)
 */
function deactivateSlab(s: KmemCache, l: number, freelist: number): void {
  const base = l * s.objsPerSlab;
  // remote frees collected on the slab: put it at the tail of the partial list
  const remote = s.slabFree[l]! >= 0;
  if (remote) stat(s, STAT.DEACTIVATE_REMOTE_FREES);
  let n = 0;
  let tail = -1;
  for (let i = freelist; i >= 0; i = s.objNext[base + i]!) {
    n++;
    tail = i;
  }
  if (n > 0) {
    s.objNext[base + tail] = s.slabFree[l]!;
    s.slabFree[l] = freelist;
    s.slabFreeCount[l] = s.slabFreeCount[l]! + n;
    s.slabInuse[l] = s.slabInuse[l]! - n;
  }
  s.slabFrozen[l] = 0;
  s.slabList[l] = LIST_NONE;
  const nid = s.slabNid[l]!;
  if (s.slabInuse[l] === 0 && s.nrPartial[nid]! >= s.minPartial) {
    stat(s, STAT.DEACTIVATE_EMPTY);
    discardSlab(s, l);
    stat(s, STAT.FREE_SLAB);
  } else if (s.slabFree[l]! >= 0) {
    const lock = s.listLock[nid]!;
    lock.lock();
    addPartial(s, nid, l, remote);
    lock.unlock();
    stat(s, remote ? STAT.DEACTIVATE_TO_TAIL : STAT.DEACTIVATE_TO_HEAD);
  } else {
    stat(s, STAT.DEACTIVATE_FULL);
  }
}

/**
 * The SLUB slow path for one object (`___slab_alloc`) plus the lockless
 * fast path on the CPU freelist. Returns the object's global index
 * (`local * objsPerSlab + idx`) or -1.
 * @kernel __slab_alloc_node (mm/slub.c)
 */
export function slabAllocObject(s: KmemCache, gfp: number, node: number): number {
  const cpu = s.env.currentCpu();
  const per = s.objsPerSlab;
  if (s.singlePaths) return allocSingle(s, gfp, node, cpu);
  // fast path: c->freelist
  let slab = s.cpuSlab[cpu]!;
  let head = s.cpuFreelist[cpu]!;
  if (head >= 0 && (node === NUMA_NO_NODE || s.slabNid[slab] === node)) {
    s.cpuFreelist[cpu] = s.objNext[slab * per + head]!;
    s.env.chargeCmpxchgDouble();
    stat(s, STAT.ALLOC_FASTPATH);
    return slab * per + head;
  }
  stat(s, STAT.ALLOC_SLOWPATH);
  for (;;) {
    slab = s.cpuSlab[cpu]!;
    if (slab >= 0) {
      if (node !== NUMA_NO_NODE && s.slabNid[slab] !== node) {
        stat(s, STAT.ALLOC_NODE_MISMATCH);
        s.cpuSlab[cpu] = -1;
        deactivateSlab(s, slab, s.cpuFreelist[cpu]!);
        s.cpuFreelist[cpu] = -1;
      } else {
        // get_freelist(): remote frees collected on the frozen slab.
        head = freezeSlab(s, slab);
        if (head >= 0) {
          stat(s, STAT.ALLOC_REFILL);
          s.cpuFreelist[cpu] = s.objNext[slab * per + head]!;
          return slab * per + head;
        }
        s.cpuSlab[cpu] = -1;
        s.cpuFreelist[cpu] = -1;
        s.slabFrozen[slab] = 0;
        s.slabList[slab] = LIST_NONE;
        stat(s, STAT.DEACTIVATE_BYPASS);
      }
    }
    // new_slab: CPU partial first
    const p = s.cpuPartialHead[cpu]!;
    if (p >= 0) {
      s.cpuPartialHead[cpu] = s.slabNext[p]!;
      s.cpuPartialCount[cpu] = s.cpuPartialCount[cpu]! - 1;
      s.slabNext[p] = -1;
      if (node !== NUMA_NO_NODE && s.slabNid[p] !== node) {
        // __put_partials() of the one slab: back to its node.
        s.slabFrozen[p] = 0;
        s.slabList[p] = LIST_NONE;
        const nid = s.slabNid[p]!;
        if (s.slabInuse[p] === 0 && s.nrPartial[nid]! >= s.minPartial) {
          stat(s, STAT.FREE_SLAB);
          discardSlab(s, p);
        } else {
          const lock = s.listLock[nid]!;
          lock.lock();
          addPartial(s, nid, p, true);
          lock.unlock();
        }
        continue;
      }
      stat(s, STAT.CPU_PARTIAL_ALLOC);
      s.cpuSlab[cpu] = p;
      s.slabList[p] = LIST_CPU;
      continue;
    }
    // new_objects: node partial lists, then a new slab
    const l = newObjects(s, gfp, node, cpu);
    if (l === -1) return -1;
    head = freezeSlab(s, l);
    s.cpuSlab[cpu] = l;
    s.cpuFreelist[cpu] = s.objNext[l * per + head]!;
    return l * per + head;
  }
}

function allocSingle(s: KmemCache, gfp: number, node: number, cpu: number): number {
  stat(s, STAT.ALLOC_SLOWPATH);
  const r = newObjects(s, gfp, node, cpu);
  if (r === -1) return -1;
  if (r <= -2) return -2 - r;
  return allocSingleFromNewSlab(s, r);
}

/**
 * The `new_objects:` part of `___slab_alloc`: a partial slab (or, for
 * single-object caches, an object encoded as -2 - index), else a new slab
 * (counted in the node's slabs here, or by `alloc_single_from_new_slab` for
 * single-object caches), else -1. With a node requested and no __GFP_THISNODE it
 * first tries that node only, opportunistically (GFP_NOWAIT | __GFP_THISNODE),
 * then any node with the caller's flags.
 * @kernel ___slab_alloc (mm/slub.c)
 */
function newObjects(s: KmemCache, gfp: number, node: number, cpu: number): number {
  let tryThisnode = node !== NUMA_NO_NODE && !(gfp & __GFP_THISNODE);
  for (;;) {
    const pcGfp = tryThisnode ? GFP_NOWAIT | __GFP_THISNODE : gfp;
    const r = getPartial(s, node, pcGfp, cpu);
    if (r !== -1) return r;
    const l = newSlab(s, pcGfp, node);
    if (l >= 0) {
      stat(s, STAT.ALLOC_SLAB);
      if (!s.singlePaths) incSlabsNode(s, l);
      return l;
    }
    if (!tryThisnode) return -1;
    tryThisnode = false;
  }
}

// ---------------------------------------------------------------------------
// Freeing to slabs

/**
 * Free `cnt` objects of one slab, given as a chain through objNext from
 * `head` to `tail` (indices within the slab).
 * @kernel __slab_free (mm/slub.c)
 */
function slabFreeChain(s: KmemCache, l: number, head: number, tail: number, cnt: number): void {
  const base = l * s.objsPerSlab;
  const nid = s.slabNid[l]!;
  const prior = s.slabFree[l]!;
  const wasFrozen = s.slabFrozen[l] === 1;
  s.env.chargeCmpxchgDouble();
  s.objNext[base + tail] = prior;
  s.slabFree[l] = head;
  s.slabFreeCount[l] = s.slabFreeCount[l]! + cnt;
  s.slabInuse[l] = s.slabInuse[l]! - cnt;
  const inuse = s.slabInuse[l]!;
  if (s.singlePaths) {
    // free_to_partial_list(): all under the list lock, the slab freed after it
    const lock = s.listLock[nid]!;
    lock.lock();
    let free = false;
    if (inuse === 0 && s.nrPartial[nid]! >= s.minPartial) free = true;
    if (prior < 0) {
      removeFull(s, nid, l);
      if (!free) {
        addPartial(s, nid, l, true);
        stat(s, STAT.FREE_ADD_PARTIAL);
      }
    } else if (free) {
      removePartial(s, nid, l);
      stat(s, STAT.FREE_REMOVE_PARTIAL);
    }
    lock.unlock();
    if (free) {
      stat(s, STAT.FREE_SLAB);
      discardSlab(s, l);
    }
    return;
  }
  if (wasFrozen) {
    stat(s, STAT.FREE_FROZEN);
    return;
  }
  if (prior < 0 && s.cpuPartialSlabs > 0) {
    // A full slab got its first free object: onto this CPU's partial list.
    putCpuPartial(s, s.env.currentCpu(), l, true);
    stat(s, STAT.CPU_PARTIAL_FREE);
    return;
  }
  if (inuse !== 0 && prior >= 0) return; // stays on the partial list: no lock needed
  const lock = s.listLock[nid]!;
  lock.lock();
  if (inuse === 0 && s.nrPartial[nid]! >= s.minPartial) {
    if (prior >= 0) {
      removePartial(s, nid, l);
      stat(s, STAT.FREE_REMOVE_PARTIAL);
    }
    lock.unlock();
    stat(s, STAT.FREE_SLAB);
    discardSlab(s, l);
    return;
  }
  if (prior < 0) {
    addPartial(s, nid, l, true);
    stat(s, STAT.FREE_ADD_PARTIAL);
  }
  lock.unlock();
}

/**
 * Free one object (global index `o`) to its slab: onto the CPU freelist when
 * it belongs to this CPU's slab, else `__slab_free`.
 * @kernel do_slab_free (mm/slub.c)
 */
export function doSlabFree(s: KmemCache, o: number): void {
  const per = s.objsPerSlab;
  const l = (o / per) | 0;
  const idx = o - l * per;
  s.objState[o] = OBJ_FREE;
  if (s.debug) debugOnFree(s, o);
  const cpu = s.env.currentCpu();
  if (!s.singlePaths && s.cpuSlab[cpu] === l) {
    s.objNext[o] = s.cpuFreelist[cpu]!;
    s.cpuFreelist[cpu] = idx;
    s.env.chargeCmpxchgDouble();
    stat(s, STAT.FREE_FASTPATH);
    return;
  }
  slabFreeChain(s, l, idx, idx, 1);
  stat(s, STAT.FREE_SLOWPATH);
}

/**
 * Allocate `n` objects from slabs into `out[at..]` as objects in state `state`.
 * All or nothing: on failure everything taken is freed and 0 returned.
 * @kernel __kmem_cache_alloc_bulk (mm/slub.c)
 */
export function kmemCacheAllocBulkSlabs(
  s: KmemCache,
  gfp: number,
  n: number,
  out: Float64Array | number[],
  at: number,
  state: number,
): number {
  for (let i = 0; i < n; i++) {
    const o = slabAllocObject(s, gfp, NUMA_NO_NODE);
    if (o < 0) {
      for (let j = 0; j < i; j++) doSlabFree(s, objIndex(s, out[at + j]!));
      return 0;
    }
    if (s.debug) debugOnAlloc(s, o);
    s.objState[o] = state;
    out[at + i] = objAddrOf(s, o);
  }
  return n;
}

/**
 * Allocate `n` objects from slabs into `out[at..]` as global object indices
 * in state `state` (the form sheaves keep). All or nothing: returns `n`, or
 * 0 with everything taken given back.
 * @kernel __kmem_cache_alloc_bulk (mm/slub.c)
 */
export function slabAllocObjectsIdx(
  s: KmemCache,
  gfp: number,
  n: number,
  out: Int32Array,
  at: number,
  state: number,
): number {
  for (let i = 0; i < n; i++) {
    const o = slabAllocObject(s, gfp, NUMA_NO_NODE);
    if (o < 0) {
      for (let j = 0; j < i; j++) doSlabFree(s, out[at + j]!);
      return 0;
    }
    if (s.debug) debugOnAlloc(s, o);
    s.objState[o] = state;
    out[at + i] = o;
  }
  return n;
}

/**
 * Free one object (global index) that sat in a sheaf to its slab; a second
 * copy of an object already back on its slab is reported, not freed again.
 * @kernel __kmem_cache_free_bulk (mm/slub.c)
 */
export function freeObjectIndexToSlab(s: KmemCache, o: number): void {
  if (s.objState[o] === OBJ_FREE) {
    const addr = objAddrOf(s, o);
    s.allocator.debugReports.push({
      kind: 'double-free',
      cache: s.name,
      object: addr,
      message: `slub_debug: ${s.name}: object ${hex(addr)} already free`,
    });
    return;
  }
  doSlabFree(s, o);
}

/**
 * Free `n` object addresses from `p[at..]` to their slabs.
 * @kernel __kmem_cache_free_bulk (mm/slub.c)
 */
export function kmemCacheFreeBulkSlabs(s: KmemCache, n: number, p: Float64Array | number[], at: number): void {
  for (let i = 0; i < n; i++) {
    const o = objIndexChecked(s, p[at + i]!, true);
    if (o < 0) continue;
    doSlabFree(s, o);
  }
}

// ---------------------------------------------------------------------------
// Object handles

/**
 * Address of the object with global index `o`.
 * @kernel fixup_red_left (mm/slub.c)
 */
export function objAddrOf(s: KmemCache, o: number): number {
  const per = s.objsPerSlab;
  const l = (o / per) | 0;
  return s.slabPfn[l]! * s.pageSize + s.redLeftPad + (o - l * per) * s.size;
}

/**
 * Global object index of a valid object address of `s` (no checks).
 * @kernel obj_to_index (mm/slab.h)
 */
export function objIndex(s: KmemCache, addr: number): number {
  const a = s.allocator;
  const pfn = Math.floor(addr / s.env.pageSize);
  const gid = a.pfnLookup(pfn) - 1;
  const l = a.slabLocal[gid]!;
  const off = addr - s.slabPfn[l]! * s.env.pageSize - s.redLeftPad;
  return l * s.objsPerSlab + Math.floor(off / s.size);
}

/**
 * Global object index of `addr` in `s`, checking it is the start of an object of a live slab of `s`.
 * When `report` is set, a failure is recorded as a debug report and -1 returned; otherwise it throws.
 * @kernel check_valid_pointer (mm/slub.c)
 */
export function objIndexChecked(s: KmemCache, addr: number, report: boolean): number {
  const a = s.allocator;
  // fast path: a valid object of this cache. Addresses below 2^31 take a
  // shift instead of a float division; the object index multiplies by the
  // reciprocal of the size (off < 2^26, so the rounding error is far below
  // the 2^-20 nudge) and is then checked exactly.
  if (addr >= 0 && addr <= MAX_SAFE_ADDR) {
    const v = a.pfnLookup(addr < 2147483648 ? addr >>> s.pageShift : Math.floor(addr / s.pageSize));
    if (v > 0) {
      const gid = v - 1;
      if (a.slabCacheId[gid] === s.id) {
        const l = a.slabLocal[gid]!;
        const off = addr - s.slabPfn[l]! * s.pageSize - s.redLeftPad;
        if (off >= 0) {
          const idx = (off * s.invSize + 9.5e-7) | 0;
          if (off === idx * s.size && idx < s.slabObjects[l]!) return l * s.objsPerSlab + idx;
        }
      }
    }
  }
  return objIndexBad(s, addr, report);
}

/** Largest address handle (PFNs are below 2^32, pages at most 64 KiB). */
const MAX_SAFE_ADDR = 2 ** 48;

function objIndexBad(s: KmemCache, addr: number, report: boolean): number {
  const a = s.allocator;
  const v = Number.isFinite(addr) && addr >= 0 ? a.pfnLookup(Math.floor(addr / s.env.pageSize)) : 0;
  let msg: string | null = null;
  let kind: SlabBugError['kind'] = 'invalid-free';
  let o = -1;
  if (v <= 0) msg = `slab: kmem_cache_free(${s.name}, ${hex(addr)}): object is not in a slab page`;
  else {
    const gid = v - 1;
    const cid = a.slabCacheId[gid]!;
    if (cid !== s.id) {
      kind = 'wrong-cache';
      msg = `slab: kmem_cache_free(${s.name}, ${hex(addr)}): object belongs to different cache ${a.cacheById[cid]?.name ?? '?'}`;
    } else {
      const l = a.slabLocal[gid]!;
      const off = addr - s.slabPfn[l]! * s.env.pageSize - s.redLeftPad;
      const idx = Math.floor(off / s.size);
      if (off < 0 || off !== idx * s.size || idx >= s.slabObjects[l]!) {
        msg = `slab: ${s.name}: invalid free of ${hex(addr)}: pointer is not at the start of an object`;
      } else o = l * s.objsPerSlab + idx;
    }
  }
  if (msg === null) return o;
  if (report) {
    a.debugReports.push({ kind, cache: s.name, object: addr, message: msg });
    return -1;
  }
  throw new SlabBugError(kind, s.name, addr, msg);
}

/** Hex rendering of an address for messages. */
export function hex(x: number): string {
  return typeof x === 'number' ? `0x${x.toString(16)}` : showValue(x);
}

// ---------------------------------------------------------------------------
// Hooks on real allocations and frees by users

function postAllocHook(s: KmemCache, o: number, addr: number, gfp: number): number {
  s.objState[o] = OBJ_ALLOC;
  s.nrUserObjects++;
  const memcg = s.allocator.memcg;
  if (memcg !== null && (s.flags & SLAB_ACCOUNT || gfp & __GFP_ACCOUNT)) {
    if (!memcg.charge(s, addr, gfp)) {
      // memcg_alloc_abort_single(): straight back to the slab.
      s.nrUserObjects--;
      doSlabFree(s, o);
      return -ENOMEM;
    }
  }
  if (gfp & __GFP_ZERO) s.objDebug[o] = s.objDebug[o]! & ~2;
  return addr;
}

/**
 * The checks and hooks of a user free; returns the global object index or
 * throws (state unchanged) for an invalid or double free.
 * @kernel slab_free_hook (mm/slub.c)
 */
export function freeHook(s: KmemCache, addr: number): number {
  const o = objIndexChecked(s, addr, false);
  const st = s.objState[o]!;
  if (st !== OBJ_ALLOC) {
    const kasan = s.allocator.config.kasan;
    // Objects cached in sheaves count as allocated for slub_debug: only
    // KASAN (hooked on the user-visible state) sees this double free.
    // An object waiting for kfree_rcu is known to be freed already (the
    // kernel would free it twice when the grace period ends).
    if (st === OBJ_FREE || st === OBJ_RCU || kasan) {
      const where =
        st === OBJ_FREE
          ? 'already free'
          : st === OBJ_SHEAF
            ? 'already freed (cached in a sheaf)'
            : 'already freed (waiting for RCU)';
      throw new SlabBugError(
        'double-free',
        s.name,
        addr,
        `${kasan ? 'kasan' : 'slub_debug'}: double-free of ${s.name} object ${hex(addr)}: ${where}`,
      );
    }
    return -2 - o;
  }
  if (s.debug && s.objDebug[o]! & 1) {
    throw new SlabBugError(
      'redzone-overwritten',
      s.name,
      addr,
      `slub_debug: ${s.name}: right red zone overwritten in object ${hex(addr)}`,
    );
  }
  const memcg = s.allocator.memcg;
  if (memcg !== null && s.flags & SLAB_ACCOUNT) memcg.uncharge(s, addr);
  s.nrUserObjects--;
  return o;
}

// ---------------------------------------------------------------------------
// Public allocation API

/**
 * Allocate one object (`slab_alloc_node`): percpu sheaves first for caches
 * that have them (unless a specific node is requested), then the slab paths.
 * @returns the object address, or -ENOMEM.
 * @kernel slab_alloc_node (mm/slub.c)
 */
export function slabAllocNode(s: KmemCache, gfp: number, node: number): number {
  // slab_pre_alloc_hook()
  if (s.allocator.failslab.shouldFailslab(s.name, s.objectSize, gfp)) return -ENOMEM;
  if (s.pcs !== null) {
    const o = allocFromPcs(s, gfp, node);
    if (o >= 0) return postAllocHook(s, o, objAddrOf(s, o), gfp);
  }
  const o = slabAllocObject(s, gfp, node);
  if (o < 0) return -ENOMEM;
  if (s.debug) debugOnAlloc(s, o);
  return postAllocHook(s, o, objAddrOf(s, o), gfp);
}

/**
 * Allocate an object from `s`.
 * @returns the object address (a handle), or -ENOMEM.
 * @remarks Context: any; GFP flags without __GFP_DIRECT_RECLAIM when atomic.
 * @kernel kmem_cache_alloc (mm/slub.c)
 */
export function kmemCacheAlloc(s: KmemCache, gfp: number): number {
  if (!(s instanceof KmemCache) || s.destroyed) checkCache(s, 'kmem_cache_alloc');
  if (gfp >>> 0 !== gfp || (gfp & ~__GFP_BITS_MASK) !== 0) checkGfp(gfp, 'kmem_cache_alloc', s.name);
  return slabAllocNode(s, gfp, NUMA_NO_NODE);
}

/**
 * Allocate an object on NUMA node `node`; a specific node bypasses the percpu sheaves.
 * @returns the object address, or -ENOMEM / -EINVAL (bad node).
 * @kernel kmem_cache_alloc_node (mm/slub.c)
 */
export function kmemCacheAllocNode(s: KmemCache, gfp: number, node: number): number {
  checkCache(s, 'kmem_cache_alloc_node');
  checkGfp(gfp, 'kmem_cache_alloc_node', s.name);
  if (node !== NUMA_NO_NODE && (!Number.isInteger(node) || node < 0 || node >= s.env.nrNodes)) return -EINVAL;
  return slabAllocNode(s, gfp, node);
}

/**
 * Free an object of `s` (`slab_free`): to the percpu sheaves when the object
 * is from the local node, else (or when the sheaves cannot take it) to its slab.
 * @throws SlabBugError for an invalid, wrong-cache or double free (state unchanged).
 * @kernel kmem_cache_free (mm/slub.c)
 */
export function kmemCacheFree(s: KmemCache, addr: number): void {
  if (!(s instanceof KmemCache) || s.destroyed) checkCache(s, 'kmem_cache_free');
  const o = freeHook(s, addr);
  if (o < 0) {
    // slub_debug blind spot: a second free of an object sitting in a sheaf
    // goes into a sheaf again; it is caught (if at all) when flushed.
    slabFreeAfterHook(s, -2 - o, addr);
    return;
  }
  slabFreeAfterHook(s, o, addr);
}

/**
 * The part of slab_free after the hooks.
 * @kernel slab_free (mm/slub.c)
 */
export function slabFreeAfterHook(s: KmemCache, o: number, addr: number): void {
  if (s.pcs !== null) {
    const l = (o / s.objsPerSlab) | 0;
    if (s.slabNid[l] === s.cpuNode[s.env.currentCpu()]) {
      if (freeToPcs(s, o)) return;
    }
  }
  if (s.objState[o] !== OBJ_ALLOC && s.objState[o] !== OBJ_RCU) {
    // a duplicate that reached the slab directly
    s.allocator.debugReports.push({
      kind: 'double-free',
      cache: s.name,
      object: addr,
      message: `slub_debug: ${s.name}: object ${hex(addr)} already free`,
    });
    return;
  }
  doSlabFree(s, o);
}

/**
 * Allocate `size` objects into `p` (all or nothing). Uses full sheaves while
 * available, then slabs directly.
 * @returns `size`, or 0 on failure (nothing allocated).
 * @kernel kmem_cache_alloc_bulk (mm/slub.c)
 */
export function kmemCacheAllocBulk(s: KmemCache, gfp: number, size: number, p: Float64Array | number[]): number {
  checkCache(s, 'kmem_cache_alloc_bulk');
  checkGfp(gfp, 'kmem_cache_alloc_bulk', s.name);
  if (!(p instanceof Float64Array) && (!Array.isArray(p) || Object.isFrozen(p))) {
    throw badArg('kmem_cache_alloc_bulk', 'p', p, 'is not a writable array or Float64Array', s.name);
  }
  if (!Number.isInteger(size) || size < 0 || size > p.length) {
    throw new SlabError(
      'EINVAL',
      s.name,
      `slab: kmem_cache_alloc_bulk ${s.name}: size ${size} does not fit the array of ${p.length}`,
    );
  }
  if (size === 0) return 0;
  // slab_pre_alloc_hook()
  if (s.allocator.failslab.shouldFailslab(s.name, s.objectSize, gfp)) return 0;
  let i = 0;
  if (s.pcs !== null) i = allocFromPcsBulk(s, gfp, size, p);
  if (i < size) {
    if (kmemCacheAllocBulkSlabs(s, gfp, size - i, p, i, OBJ_ALLOC) === 0) {
      if (i > 0) freeBulkNoHooks(s, i, p);
      return 0;
    }
  }
  // slab_post_alloc_hook for all
  for (let j = 0; j < size; j++) {
    const addr = p[j]!;
    const r = postAllocHook(s, objIndex(s, addr), addr, gfp);
    if (r < 0) {
      for (let k = 0; k < j; k++) kmemCacheFree(s, p[k]!);
      for (let k = j + 1; k < size; k++) {
        const o = objIndex(s, p[k]!);
        doSlabFree(s, o);
      }
      return 0;
    }
  }
  return size;
}

function freeBulkNoHooks(s: KmemCache, n: number, p: Float64Array | number[]): void {
  for (let j = 0; j < n; j++) doSlabFree(s, objIndex(s, p[j]!));
}

/**
 * Free `size` objects from `p`: into sheaves while empty sheaves are
 * available, the rest (and remote-node objects) straight to slabs.
 * @throws SlabBugError before anything is freed when one of them is invalid.
 * @kernel kmem_cache_free_bulk (mm/slub.c)
 */
export function kmemCacheFreeBulk(s: KmemCache, size: number, p: Float64Array | number[]): void {
  checkCache(s, 'kmem_cache_free_bulk');
  if (!(p instanceof Float64Array) && !Array.isArray(p)) {
    throw badArg('kmem_cache_free_bulk', 'p', p, 'is not an array or Float64Array', s.name);
  }
  if (!Number.isInteger(size) || size < 0 || size > p.length) {
    throw new SlabError(
      'EINVAL',
      s.name,
      `slab: kmem_cache_free_bulk ${s.name}: size ${size} does not fit the array of ${p.length}`,
    );
  }
  // validate all first so that a bad entry changes nothing: every object
  // must be allocated to a user, once (unlike single frees, a bulk free of
  // an object cached in a sheaf is refused rather than cached twice)
  // (duplicates are found by marking each object seen in its state byte,
  // restored before anything is freed or thrown)
  let j = 0;
  try {
    for (; j < size; j++) {
      const addr = p[j]!;
      const o = objIndexChecked(s, addr, false);
      if (s.objState[o] !== OBJ_ALLOC) {
        throw new SlabBugError(
          'double-free',
          s.name,
          addr,
          `slub_debug: double-free of ${s.name} object ${hex(addr)} in a bulk free`,
        );
      }
      s.objState[o] = OBJ_BULK_SEEN;
    }
  } finally {
    for (let k = 0; k < j; k++) s.objState[objIndex(s, p[k]!)] = OBJ_ALLOC;
  }
  if (s.pcs !== null) {
    freeToPcsBulk(s, size, p);
    return;
  }
  for (let j = 0; j < size; j++) {
    const o = freeHook(s, p[j]!);
    doSlabFree(s, o);
  }
}

// ---------------------------------------------------------------------------
// Flushing and shrinking

/**
 * Flush one CPU's slab and partial slabs back to the nodes.
 * @kernel __flush_cpu_slab (mm/slub.c)
 */
export function flushCpuSlab(s: KmemCache, cpu: number): void {
  const l = s.cpuSlab[cpu]!;
  if (l >= 0) {
    s.cpuSlab[cpu] = -1;
    const f = s.cpuFreelist[cpu]!;
    s.cpuFreelist[cpu] = -1;
    deactivateSlab(s, l, f);
    s.stats[cpu * NR_SLUB_STAT_ITEMS + STAT.CPUSLAB_FLUSH] =
      s.stats[cpu * NR_SLUB_STAT_ITEMS + STAT.CPUSLAB_FLUSH]! + 1;
  }
  putPartials(s, cpu);
}

/**
 * Flush every online CPU's sheaves, slab and partials.
 * @kernel flush_all (mm/slub.c)
 */
export function flushAll(s: KmemCache): void {
  const env = s.env;
  const saved = env.currentCpu();
  for (let cpu = 0; cpu < env.nrCpus; cpu++) {
    if (!env.cpuOnline(cpu)) continue;
    if (s.pcs !== null && hasPcsUsed(s, cpu)) pcsFlushAll(s, cpu);
    flushCpuSlab(s, cpu);
  }
  if (env.currentCpu() !== saved) throw new SlabError('EINVAL', s.name, 'slab: flush_all changed the current CPU');
}

/**
 * Flush all per-CPU caching, empty the barns, free every empty slab and sort
 * partial lists so the fullest slabs come first.
 * @returns 0.
 * @kernel kmem_cache_shrink (mm/slab_common.c), __kmem_cache_do_shrink (mm/slub.c)
 */
export function kmemCacheShrink(s: KmemCache): number {
  checkCache(s, 'kmem_cache_shrink');
  flushAll(s);
  for (let nid = 0; nid < s.env.nrNodes; nid++) {
    if (s.pcs !== null) barnShrink(s, s.barns[nid]!);
    // under the list lock: take empty slabs off, fullest slabs first; discard after
    const lock = s.listLock[nid]!;
    lock.lock();
    const slabs: number[] = [];
    const discard: number[] = [];
    let l = s.partialHead[nid]!;
    while (l >= 0) {
      const next = s.slabNext[l]!;
      removePartial(s, nid, l);
      if (s.slabInuse[l] === 0) discard.push(l);
      else slabs.push(l);
      l = next;
    }
    slabs.sort((x, y) => s.slabInuse[y]! - s.slabInuse[x]!);
    for (const x of slabs) addPartial(s, nid, x, true);
    lock.unlock();
    for (const x of discard) discardSlab(s, x);
  }
  return 0;
}

/**
 * CPU hotplug teardown: the dead CPU's slab, partials and sheaves go back.
 * @kernel slub_cpu_dead (mm/slub.c)
 */
export function slubCpuDead(a: SlubAllocator, cpu: number): void {
  checkAllocator(a, 'slub_cpu_dead');
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= a.env.nrCpus) {
    throw new SlabError('EINVAL', '', `slab: slub_cpu_dead: cpu ${cpu} is not a CPU (0..${a.env.nrCpus - 1})`);
  }
  for (const s of a.caches) {
    if (s.pcs !== null) pcsFlushAllCpu(s, cpu);
    flushCpuSlab(s, cpu);
  }
}

/** Allocation gfp used for sheaf refills in kfree_rcu context. */
export const SHEAF_NOWAIT = GFP_NOWAIT;
