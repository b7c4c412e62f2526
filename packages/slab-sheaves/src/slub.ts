/**
 * DOC: the SLUB core: the cache API over slab pages, per-CPU slabs,
 * partial lists and the allocation and free paths.
 *
 * A slab is a run of 2^order buddy pages holding `objects` objects of
 * `s.size` bytes. Objects are integer handles: the byte address
 * `pfn * PAGE_SIZE + red_left_pad + index * size` of the object in the slab
 * (what `virt_to_slab()` and `obj_to_index()` work on in the kernel), so
 * `kfree(ptr)` finds its slab from the address alone.
 *
 * This file holds the cache API (create, destroy, alloc, free, bulk, shrink,
 * hotplug) and the user hooks; the mechanisms are in their own files: slab
 * pages in slab-page.ts, allocation from slabs (`___slab_alloc`) in
 * slab-alloc.ts, freeing to slabs in slab-free.ts, object handles in
 * object.ts, the structures in cache.ts, object layout and slab order in
 * layout.ts, the list primitives in partial.ts, argument checks in check.ts.
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

import { __GFP_BITS_MASK, EINVAL, ENOMEM, MmBugError } from '@mm/machine';
import { barnShrink, type NodeBarn, newNodeBarn } from './barn.js';
import {
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
} from './cache.js';
import { badArg, checkAllocator, checkCache, checkGfp } from './check.js';
import { debugOnAlloc } from './debug.js';
import type { SlabEnv, SlabSpinLock } from './env.js';
import { CacheBusyError, SlabBugError, SlabError } from './errors.js';
import { __GFP_ACCOUNT, __GFP_ZERO, GFP_NOWAIT } from './internal/gfp.js';
import { createKmallocCaches } from './kmalloc.js';
import { WORD } from './layout.js';
import { hex, objAddrOf, objIndex, objIndexChecked } from './object.js';
import { addPartial, removePartial } from './partial.js';
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
import { deactivateSlab, kmemCacheAllocBulkSlabs, putPartials, slabAllocObject } from './slab-alloc.js';
import { NR_SLUB_STAT_ITEMS, NUMA_NO_NODE, SLAB_ACCOUNT, SLAB_KMALLOC, SLAB_KNOWN_FLAGS, STAT } from './slab-flags.js';
import { doSlabFree } from './slab-free.js';
import { discardSlab } from './slab-page.js';

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
  for (let l = 0; l < s.nrIds; l++)
    if ((s.slabPfn[l] as number) >= 0 && (s.slabObjects[l] as number) > 0) remaining += s.slabInuse[l] as number;
  for (let cpu = 0; cpu < s.env.nrCpus; cpu++) remaining -= s.cpuFreelistLength(cpu);
  if (remaining > 0) throw new CacheBusyError(s.name, remaining);
  // free every remaining (empty) slab (free_partial)
  for (let nid = 0; nid < s.env.nrNodes; nid++) {
    const lock = s.listLock[nid] as SlabSpinLock;
    lock.lock();
    const discard: number[] = [];
    let l = s.partialHead[nid] as number;
    while (l >= 0) {
      const next = s.slabNext[l] as number;
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
  if (gfp & __GFP_ZERO) s.objDebug[o] = (s.objDebug[o] as number) & ~2;
  return addr;
}

/**
 * The checks and hooks of a user free; returns the global object index or
 * throws (state unchanged) for an invalid or double free.
 * @kernel slab_free_hook (mm/slub.c)
 */
export function freeHook(s: KmemCache, addr: number): number {
  const o = objIndexChecked(s, addr, false);
  const st = s.objState[o] as number;
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
  if (s.debug && (s.objDebug[o] as number) & 1) {
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
    const addr = p[j] as number;
    const r = postAllocHook(s, objIndex(s, addr), addr, gfp);
    if (r < 0) {
      for (let k = 0; k < j; k++) kmemCacheFree(s, p[k] as number);
      for (let k = j + 1; k < size; k++) {
        const o = objIndex(s, p[k] as number);
        doSlabFree(s, o);
      }
      return 0;
    }
  }
  return size;
}

function freeBulkNoHooks(s: KmemCache, n: number, p: Float64Array | number[]): void {
  for (let j = 0; j < n; j++) doSlabFree(s, objIndex(s, p[j] as number));
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
      const addr = p[j] as number;
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
    for (let k = 0; k < j; k++) s.objState[objIndex(s, p[k] as number)] = OBJ_ALLOC;
  }
  if (s.pcs !== null) {
    freeToPcsBulk(s, size, p);
    return;
  }
  for (let j = 0; j < size; j++) {
    const o = freeHook(s, p[j] as number);
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
  const l = s.cpuSlab[cpu] as number;
  if (l >= 0) {
    s.cpuSlab[cpu] = -1;
    const f = s.cpuFreelist[cpu] as number;
    s.cpuFreelist[cpu] = -1;
    deactivateSlab(s, l, f);
    s.stats[cpu * NR_SLUB_STAT_ITEMS + STAT.CPUSLAB_FLUSH] =
      (s.stats[cpu * NR_SLUB_STAT_ITEMS + STAT.CPUSLAB_FLUSH] as number) + 1;
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
  if (env.currentCpu() !== saved) throw new MmBugError(`slab: flush_all of ${s.name} changed the current CPU`);
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
    if (s.pcs !== null) barnShrink(s, s.barns[nid] as NodeBarn);
    // under the list lock: take empty slabs off, fullest slabs first; discard after
    const lock = s.listLock[nid] as SlabSpinLock;
    lock.lock();
    const slabs: number[] = [];
    const discard: number[] = [];
    let l = s.partialHead[nid] as number;
    while (l >= 0) {
      const next = s.slabNext[l] as number;
      removePartial(s, nid, l);
      if (s.slabInuse[l] === 0) discard.push(l);
      else slabs.push(l);
      l = next;
    }
    slabs.sort((x, y) => (s.slabInuse[y] as number) - (s.slabInuse[x] as number));
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
