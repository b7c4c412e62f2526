import { type KmemCache, stat } from './cache.js';
import { debugOnAlloc } from './debug.js';
import type { SlabSpinLock } from './env.js';
import { __GFP_THISNODE, GFP_NOWAIT } from './internal/gfp.js';
import { objAddrOf, objIndex } from './object.js';
import { addFull, addPartial, LIST_CPU, LIST_CPU_PARTIAL, LIST_NONE, removePartial } from './partial.js';
import { NUMA_NO_NODE, STAT } from './slab-flags.js';
import { doSlabFree } from './slab-free.js';
import { discardSlab, incSlabsNode, newSlab } from './slab-page.js';

/** Pop one object from a slab's freelist; returns the index. */
export function slabPop(s: KmemCache, l: number): number {
  const idx = s.slabFree[l] as number;
  s.slabFree[l] = s.objNext[l * s.objsPerSlab + idx] as number;
  s.slabFreeCount[l] = (s.slabFreeCount[l] as number) - 1;
  s.slabInuse[l] = (s.slabInuse[l] as number) + 1;
  return idx;
}

/**
 * Debug/SLUB_TINY allocation of one object from a node partial slab.
 * @kernel alloc_single_from_partial (mm/slub.c)
 */
export function allocSingleFromPartial(s: KmemCache, nid: number, l: number): number {
  const idx = slabPop(s, l);
  if ((s.slabFree[l] as number) < 0) {
    removePartial(s, nid, l);
    addFull(s, nid, l);
  }
  return l * s.objsPerSlab + idx;
}

/** Take one object from the fresh slab `l` and list the slab as partial or full; returns the object (debug and tiny caches bypass sheaves this way) @kernel alloc_single_from_new_slab (mm/slub.c) */
export function allocSingleFromNewSlab(s: KmemCache, l: number): number {
  const idx = slabPop(s, l);
  const nid = s.slabNid[l] as number;
  const lock = s.listLock[nid] as SlabSpinLock;
  lock.lock();
  if ((s.slabFree[l] as number) < 0) addFull(s, nid, l);
  else addPartial(s, nid, l, false);
  incSlabsNode(s, l);
  lock.unlock();
  return l * s.objsPerSlab + idx;
}

/**
 * Take the whole freelist of a slab leaving the slab frozen for a CPU.
 * @kernel freeze_slab (mm/slub.c)
 */
export function freezeSlab(s: KmemCache, l: number): number {
  s.env.chargeCmpxchgDouble();
  const head = s.slabFree[l] as number;
  s.slabFree[l] = -1;
  s.slabFreeCount[l] = 0;
  s.slabInuse[l] = s.slabObjects[l] as number;
  s.slabFrozen[l] = 1;
  s.slabList[l] = LIST_CPU;
  return head;
}

/**
 * Put a slab on this CPU's partial list, draining the list to the node first when full.
 * @kernel put_cpu_partial (mm/slub.c)
 */
export function putCpuPartial(s: KmemCache, cpu: number, l: number, drain: boolean): void {
  if (drain && (s.cpuPartialCount[cpu] as number) >= s.cpuPartialSlabs) {
    putPartials(s, cpu);
    stat(s, STAT.CPU_PARTIAL_DRAIN);
  }
  s.slabFrozen[l] = 1;
  s.slabList[l] = LIST_CPU_PARTIAL;
  s.slabNext[l] = s.cpuPartialHead[cpu] as number;
  s.slabPrev[l] = -1;
  s.cpuPartialHead[cpu] = l;
  s.cpuPartialCount[cpu] = (s.cpuPartialCount[cpu] as number) + 1;
}

/**
 * Unfreeze a CPU's partial slabs onto their nodes (discarding empty ones over min_partial).
 * @kernel __put_partials (mm/slub.c)
 */
export function putPartials(s: KmemCache, cpu: number): void {
  let l = s.cpuPartialHead[cpu] as number;
  s.cpuPartialHead[cpu] = -1;
  s.cpuPartialCount[cpu] = 0;
  while (l >= 0) {
    const next = s.slabNext[l] as number;
    s.slabFrozen[l] = 0;
    s.slabList[l] = LIST_NONE;
    const nid = s.slabNid[l] as number;
    const lock = s.listLock[nid] as SlabSpinLock;
    lock.lock();
    if (s.slabInuse[l] === 0 && (s.nrPartial[nid] as number) >= s.minPartial) {
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
export function getPartialNode(s: KmemCache, nid: number, cpu: number): number {
  // racy check: no partial slabs, no lock
  if (s.nrPartial[nid] === 0) return -1;
  const lock = s.listLock[nid] as SlabSpinLock;
  lock.lock();
  let l = s.partialHead[nid] as number;
  if (s.singlePaths) {
    const o = allocSingleFromPartial(s, nid, l);
    lock.unlock();
    return -2 - o;
  }
  let got = -1;
  let partialSlabs = 0;
  while (l >= 0) {
    const next = s.slabNext[l] as number;
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
export function getPartial(s: KmemCache, node: number, gfp: number, cpu: number): number {
  const search = node === NUMA_NO_NODE ? s.env.cpuToNode(cpu) : node;
  const r = getPartialNode(s, search, cpu);
  if (r !== -1 || (node !== NUMA_NO_NODE && gfp & __GFP_THISNODE)) return r;
  // get_any_partial(): other nodes with more than min_partial slabs.
  for (let nid = 0; nid < s.env.nrNodes; nid++) {
    if (nid === search || (s.nrPartial[nid] as number) <= s.minPartial) continue;
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
export function deactivateSlab(s: KmemCache, l: number, freelist: number): void {
  const base = l * s.objsPerSlab;
  // remote frees collected on the slab: put it at the tail of the partial list
  const remote = (s.slabFree[l] as number) >= 0;
  if (remote) stat(s, STAT.DEACTIVATE_REMOTE_FREES);
  let n = 0;
  let tail = -1;
  for (let i = freelist; i >= 0; i = s.objNext[base + i] as number) {
    n++;
    tail = i;
  }
  if (n > 0) {
    s.objNext[base + tail] = s.slabFree[l] as number;
    s.slabFree[l] = freelist;
    s.slabFreeCount[l] = (s.slabFreeCount[l] as number) + n;
    s.slabInuse[l] = (s.slabInuse[l] as number) - n;
  }
  s.slabFrozen[l] = 0;
  s.slabList[l] = LIST_NONE;
  const nid = s.slabNid[l] as number;
  if (s.slabInuse[l] === 0 && (s.nrPartial[nid] as number) >= s.minPartial) {
    stat(s, STAT.DEACTIVATE_EMPTY);
    discardSlab(s, l);
    stat(s, STAT.FREE_SLAB);
  } else if ((s.slabFree[l] as number) >= 0) {
    const lock = s.listLock[nid] as SlabSpinLock;
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
  let slab = s.cpuSlab[cpu] as number;
  let head = s.cpuFreelist[cpu] as number;
  if (head >= 0 && (node === NUMA_NO_NODE || s.slabNid[slab] === node)) {
    s.cpuFreelist[cpu] = s.objNext[slab * per + head] as number;
    s.env.chargeCmpxchgDouble();
    stat(s, STAT.ALLOC_FASTPATH);
    return slab * per + head;
  }
  stat(s, STAT.ALLOC_SLOWPATH);
  for (;;) {
    slab = s.cpuSlab[cpu] as number;
    if (slab >= 0) {
      if (node !== NUMA_NO_NODE && s.slabNid[slab] !== node) {
        stat(s, STAT.ALLOC_NODE_MISMATCH);
        s.cpuSlab[cpu] = -1;
        deactivateSlab(s, slab, s.cpuFreelist[cpu] as number);
        s.cpuFreelist[cpu] = -1;
      } else {
        // get_freelist(): remote frees collected on the frozen slab.
        head = freezeSlab(s, slab);
        if (head >= 0) {
          stat(s, STAT.ALLOC_REFILL);
          s.cpuFreelist[cpu] = s.objNext[slab * per + head] as number;
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
    const p = s.cpuPartialHead[cpu] as number;
    if (p >= 0) {
      s.cpuPartialHead[cpu] = s.slabNext[p] as number;
      s.cpuPartialCount[cpu] = (s.cpuPartialCount[cpu] as number) - 1;
      s.slabNext[p] = -1;
      if (node !== NUMA_NO_NODE && s.slabNid[p] !== node) {
        // __put_partials() of the one slab: back to its node.
        s.slabFrozen[p] = 0;
        s.slabList[p] = LIST_NONE;
        const nid = s.slabNid[p] as number;
        if (s.slabInuse[p] === 0 && (s.nrPartial[nid] as number) >= s.minPartial) {
          stat(s, STAT.FREE_SLAB);
          discardSlab(s, p);
        } else {
          const lock = s.listLock[nid] as SlabSpinLock;
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
    s.cpuFreelist[cpu] = s.objNext[l * per + head] as number;
    return l * per + head;
  }
}

export function allocSingle(s: KmemCache, gfp: number, node: number, cpu: number): number {
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
export function newObjects(s: KmemCache, gfp: number, node: number, cpu: number): number {
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
      for (let j = 0; j < i; j++) doSlabFree(s, objIndex(s, out[at + j] as number));
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
      for (let j = 0; j < i; j++) doSlabFree(s, out[at + j] as number);
      return 0;
    }
    if (s.debug) debugOnAlloc(s, o);
    s.objState[o] = state;
    out[at + i] = o;
  }
  return n;
}
