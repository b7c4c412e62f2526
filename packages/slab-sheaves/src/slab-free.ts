import { type KmemCache, OBJ_FREE, stat } from './cache.js';
import { debugOnFree } from './debug.js';
import type { SlabSpinLock } from './env.js';
import { hex, objAddrOf, objIndexChecked } from './object.js';
import { addPartial, removeFull, removePartial } from './partial.js';
import { putCpuPartial } from './slab-alloc.js';
import { STAT } from './slab-flags.js';
import { discardSlab } from './slab-page.js';

/**
 * Free `cnt` objects of one slab, given as a chain through objNext from
 * `head` to `tail` (indices within the slab).
 * @kernel __slab_free (mm/slub.c)
 */
export function slabFreeChain(s: KmemCache, l: number, head: number, tail: number, cnt: number): void {
  const base = l * s.objsPerSlab;
  const nid = s.slabNid[l] as number;
  const prior = s.slabFree[l] as number;
  const wasFrozen = s.slabFrozen[l] === 1;
  s.env.chargeCmpxchgDouble();
  s.objNext[base + tail] = prior;
  s.slabFree[l] = head;
  s.slabFreeCount[l] = (s.slabFreeCount[l] as number) + cnt;
  s.slabInuse[l] = (s.slabInuse[l] as number) - cnt;
  const inuse = s.slabInuse[l] as number;
  if (s.singlePaths) {
    // free_to_partial_list(): all under the list lock, the slab freed after it
    const lock = s.listLock[nid] as SlabSpinLock;
    lock.lock();
    let free = false;
    if (inuse === 0 && (s.nrPartial[nid] as number) >= s.minPartial) free = true;
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
  const lock = s.listLock[nid] as SlabSpinLock;
  lock.lock();
  if (inuse === 0 && (s.nrPartial[nid] as number) >= s.minPartial) {
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
    s.objNext[o] = s.cpuFreelist[cpu] as number;
    s.cpuFreelist[cpu] = idx;
    s.env.chargeCmpxchgDouble();
    stat(s, STAT.FREE_FASTPATH);
    return;
  }
  slabFreeChain(s, l, idx, idx, 1);
  stat(s, STAT.FREE_SLOWPATH);
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
    const o = objIndexChecked(s, p[at + i] as number, true);
    if (o < 0) continue;
    doSlabFree(s, o);
  }
}
