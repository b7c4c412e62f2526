/**
 * DOC: kfree_rcu(): freeing after a grace period, batched.
 *
 * With KVFREE_RCU_BATCHED (the default; off with SLUB_TINY or tiny RCU):
 * - objects of sheaf-enabled caches from the local node go to the CPU's
 *   `rcu_free` sheaf (`__kfree_rcu_sheaf`); a full sheaf is detached and
 *   submitted with one `call_rcu`, and after the grace period
 *   `rcu_free_sheaf` puts it in the barn as a full sheaf (its objects are
 *   reused for allocations) or, when the barn is at its full limit, flushes
 *   it to slabs;
 * - when no empty sheaf can be had (the allocation here is GFP_NOWAIT) or
 *   the cache has no sheaves, objects go to the existing kvfree_rcu batches:
 *   per CPU a page of pointers (`kvfree_rcu_bulk_data`), submitted with one
 *   `call_rcu` when full or when the monitor runs, freed in bulk after the
 *   grace period.
 * Without batching every kvfree_rcu is a plain `call_rcu` whose callback
 * (`kvfree_rcu_cb`) finds the object's start from the rcu_head pointer inside it.
 */

import { MmBugError } from '@mm/machine';
import { barnGetEmptySheaf, barnPutEmptySheaf, barnPutFullSheaf } from './barn.js';
import {
  type KfreeRcuState,
  type KmemCache,
  kfreeRcuState as krc,
  OBJ_ALLOC,
  OBJ_RCU,
  type SlubAllocator,
  stat,
} from './cache.js';
import { at, cacheOfGid, checkAllocator } from './check.js';

import { SlabBugError } from './errors.js';
import { GFP_NOWAIT } from './internal/gfp.js';
import { kfree, LARGE_HEAD_MIN } from './kmalloc.js';
import { hex, objIndex, objIndexChecked } from './object.js';
import {
  allocEmptySheaf,
  barnOf,
  freeEmptySheaf,
  pcsOf,
  rcuFreeOf,
  rcuFreeSheafNobarn,
  rcuFreeSheafPrepare,
  SHEAF_DETACHED,
  SHEAF_IN_BARN,
  SHEAF_RCU_FLIGHT,
  SHEAF_RCU_FREE,
  type SlabSheaf,
  sheafFlushUnused,
  spareOf,
} from './sheaf.js';
import { MAX_EMPTY_SHEAVES, MAX_FULL_SHEAVES, SLAB_ACCOUNT, STAT, ZERO_SIZE_PTR } from './slab-flags.js';
import { slabFreeAfterHook } from './slub.js';

/** `cpu`'s kvfree_rcu batch page. */
function bulkOf(k: KfreeRcuState, cpu: number): Float64Array {
  const b = k.bulk[cpu];
  if (b === undefined) throw new MmBugError(`slab: no kvfree_rcu batch for CPU ${cpu}`);
  return b;
}

/** Counters of the kfree_rcu machinery. */
export interface KfreeRcuStats {
  /** Every call_rcu issued by kfree_rcu paths (sheaves, batches, single objects). */
  readonly callRcuSubmissions: number;
  /** rcu_free sheaves submitted. */
  readonly sheafSubmissions: number;
  /** kvfree_rcu batches submitted. */
  readonly batchesSubmitted: number;
  /** Objects waiting in kvfree_rcu batches (filling or in flight). */
  readonly batchObjectsPending: number;
  /** Objects waiting as single call_rcu callbacks (KVFREE_RCU_BATCHED off). */
  readonly singlePending: number;
  /** rcu_free sheaves put in a barn after their grace period (reused for allocations). */
  readonly rcuSheavesToBarn: number;
  /** Objects recycled through the barn that way. */
  readonly rcuObjectsToBarn: number;
  /** Objects of rcu_free sheaves flushed to slabs instead. */
  readonly rcuObjectsFlushed: number;
}

/** Snapshot of the kfree_rcu counters. */
export function kfreeRcuStats(a: SlubAllocator): KfreeRcuStats {
  const k = krc(a);
  return {
    callRcuSubmissions: k.callRcuSubmissions,
    sheafSubmissions: k.sheafSubmissions,
    batchesSubmitted: k.batchesSubmitted,
    batchObjectsPending: k.objectsPending,
    singlePending: k.singlePending,
    rcuSheavesToBarn: k.rcuSheavesToBarn,
    rcuObjectsToBarn: k.rcuObjectsToBarn,
    rcuObjectsFlushed: k.rcuObjectsFlushed,
  };
}

function countSheafSubmission(a: SlubAllocator, s: KmemCache): void {
  krc(a).sheafSubmissions++;
  stat(s, STAT.RCU_SHEAF_SUBMIT);
}

/**
 * Put `addr` on the current CPU's rcu_free sheaf.
 * @returns false when no sheaf could be had (fall back to the batches).
 * @kernel __kfree_rcu_sheaf (mm/slub.c)
 */
function kfreeRcuSheaf(s: KmemCache, o: number): boolean {
  const pcs = pcsOf(s);
  const env = s.env;
  if (!pcs.lock.trylock()) {
    stat(s, STAT.PCS_TRYLOCK_FAIL);
    stat(s, STAT.FREE_RCU_SHEAF_FAIL);
    return false;
  }
  let cpu = env.currentCpu();
  if (rcuFreeOf(pcs, cpu) === null) {
    const spare = spareOf(pcs, cpu);
    if (spare !== null && spare.size === 0) {
      pcs.rcuFree[cpu] = spare;
      pcs.spare[cpu] = null;
      spare.where = SHEAF_RCU_FREE;
    } else {
      const barn = barnOf(s, env.cpuToNode(cpu));
      let empty = barnGetEmptySheaf(s, barn, true);
      if (empty !== null) {
        pcs.rcuFree[cpu] = empty;
        empty.where = SHEAF_RCU_FREE;
      } else {
        pcs.lock.unlock();
        empty = allocEmptySheaf(s, GFP_NOWAIT);
        if (empty === null) {
          stat(s, STAT.FREE_RCU_SHEAF_FAIL);
          return false;
        }
        if (!pcs.lock.trylock()) {
          empty.where = SHEAF_IN_BARN;
          barnPutEmptySheaf(barn, empty);
          stat(s, STAT.FREE_RCU_SHEAF_FAIL);
          return false;
        }
        cpu = env.currentCpu();
        if (rcuFreeOf(pcs, cpu) !== null) {
          empty.where = SHEAF_IN_BARN;
          barnPutEmptySheaf(barn, empty);
        } else {
          pcs.rcuFree[cpu] = empty;
          empty.where = SHEAF_RCU_FREE;
        }
      }
    }
  }
  const rcuSheaf = rcuFreeOf(pcs, cpu);
  if (rcuSheaf === null) throw new MmBugError(`slab: ${s.name}: no rcu_free sheaf on CPU ${cpu} after installing one`);
  rcuSheaf.objects[rcuSheaf.size++] = o;
  if (rcuSheaf.size >= s.sheafCapacity) {
    pcs.rcuFree[cpu] = null;
    rcuSheaf.node = env.cpuToNode(cpu);
    rcuSheaf.where = SHEAF_RCU_FLIGHT;
    krc(s.allocator).callRcuSubmissions++;
    countSheafSubmission(s.allocator, s);
    env.callRcu(rcuFreeSheaf, rcuSheaf);
  }
  pcs.lock.unlock();
  stat(s, STAT.FREE_RCU_SHEAF);
  return true;
}

/**
 * Grace period over for an rcu_free sheaf: into the barn as a full sheaf,
 * or flushed to slabs when the barn is at its full limit.
 * @kernel rcu_free_sheaf (mm/slub.c)
 */
function rcuFreeSheaf(arg: unknown): void {
  const sheaf = arg as SlabSheaf;
  const s = sheaf.cache;
  rcuFreeSheafPrepare(s, sheaf);
  const barn = barnOf(s, sheaf.node);
  if (sheaf.size > 0) {
    if (barn.nrFull < MAX_FULL_SHEAVES) {
      const k = krc(s.allocator);
      k.rcuSheavesToBarn++;
      k.rcuObjectsToBarn += sheaf.size;
      stat(s, STAT.BARN_PUT);
      sheaf.where = SHEAF_IN_BARN;
      barnPutFullSheaf(barn, sheaf);
      return;
    }
    stat(s, STAT.BARN_PUT_FAIL);
    sheaf.where = SHEAF_DETACHED;
    krc(s.allocator).rcuObjectsFlushed += sheaf.size;
    sheafFlushUnused(s, sheaf);
  }
  if (barn.nrEmpty < MAX_EMPTY_SHEAVES) {
    sheaf.where = SHEAF_IN_BARN;
    barnPutEmptySheaf(barn, sheaf);
    return;
  }
  sheaf.where = SHEAF_DETACHED;
  freeEmptySheaf(s, sheaf);
}

/** Objects pending in kfree_rcu flight are freed here, through the normal free path (sheaves included). */
function freeAfterGp(a: SlubAllocator, addr: number): void {
  const pfn = Math.floor(addr / a.env.pageSize);
  const v = a.pfnLookup(pfn);
  if (v <= 0) {
    // large kmalloc
    kfree(a, addr);
    return;
  }
  const s = cacheOfGid(a, v - 1);
  const o = objIndex(s, addr);
  s.nrRcuObjects--;
  const memcg = a.memcg;
  if (memcg !== null && s.flags & SLAB_ACCOUNT) memcg.uncharge(s, addr);
  slabFreeAfterHook(s, o, addr);
}

function kfreeBulkCb(arg: unknown): void {
  const { a, ptrs } = arg as { a: SlubAllocator; ptrs: Float64Array };
  const k = krc(a);
  k.batchesInFlight--;
  k.objectsPending -= ptrs.length;
  for (let i = 0; i < ptrs.length; i++) freeAfterGp(a, at(ptrs, i));
}

function submitBatch(a: SlubAllocator, cpu: number): void {
  const k = krc(a);
  const n = at(k.bulkCount, cpu);
  if (n === 0) return;
  const ptrs = bulkOf(k, cpu).slice(0, n);
  k.bulkCount[cpu] = 0;
  k.batchesInFlight++;
  k.batchesSubmitted++;
  k.callRcuSubmissions++;
  a.env.callRcu(kfreeBulkCb, { a, ptrs });
}

/**
 * The kvfree_rcu monitor: submit every CPU's partly filled batch.
 * @kernel kfree_rcu_monitor (mm/slab_common.c)
 */
export function kfreeRcuMonitor(a: SlubAllocator): void {
  const env = a.env;
  for (let cpu = 0; cpu < env.nrCpus; cpu++) {
    if (krc(a).bulkCount[cpu] === 0) continue;
    // the monitor is work on the batch's CPU (another online CPU once it went away)
    onlineCpuRun(a, cpu, () => submitBatch(a, cpu));
  }
}

function onlineCpuRun(a: SlubAllocator, cpu: number, fn: () => void): void {
  const env = a.env;
  let target = cpu;
  if (!env.cpuOnline(target)) {
    target = env.currentCpu();
    for (let c = 0; !env.cpuOnline(target) && c < env.nrCpus; c++) target = c;
  }
  if (target === env.currentCpu()) fn();
  else env.runOn(target, fn);
}

/**
 * Submit every CPU's rcu_free sheaf (what `kvfree_rcu_barrier()` does before waiting).
 * @kernel flush_all_rcu_sheaves (mm/slub.c)
 */
export function flushAllRcuSheaves(a: SlubAllocator): void {
  for (const s of a.caches) {
    const pcs = s.pcs;
    if (pcs === null) continue;
    for (let cpu = 0; cpu < a.env.nrCpus; cpu++) {
      const sheaf = rcuFreeOf(pcs, cpu);
      if (sheaf === null || !a.env.cpuOnline(cpu)) continue;
      // flush_rcu_sheaf() runs as work on each online CPU
      onlineCpuRun(a, cpu, () => {
        pcs.lock.lock();
        pcs.rcuFree[cpu] = null;
        sheaf.node = a.env.cpuToNode(cpu);
        sheaf.where = SHEAF_RCU_FLIGHT;
        const k = krc(a);
        k.callRcuSubmissions = k.callRcuSubmissions + 1;
        countSheafSubmission(a, s);
        a.env.callRcu(rcuFreeSheafNobarn, sheaf);
        pcs.lock.unlock();
      });
    }
  }
}

function kvfreeRcuCb(arg: unknown): void {
  const { a, ptr } = arg as { a: SlubAllocator; ptr: number };
  krc(a).singlePending--;
  const pfn = Math.floor(ptr / a.env.pageSize);
  const v = a.pfnLookup(pfn);
  if (v <= 0) {
    // large kmalloc: the rcu_head is within the first page
    freeAfterGp(a, pfn * a.env.pageSize);
    return;
  }
  // find the object start from a pointer into its middle (obj_to_index)
  const s = cacheOfGid(a, v - 1);
  const l = at(a.slabLocal, v - 1);
  const base = at(s.slabPfn, l) * a.env.pageSize;
  const idx = Math.floor((ptr - base) / s.size);
  freeAfterGp(a, base + s.redLeftPad + idx * s.size);
}

/**
 * Free `addr` (an object from kmalloc or any cache) after a grace period.
 * @throws SlabBugError for an invalid or double free (state unchanged).
 * @kernel kvfree_call_rcu (mm/slab_common.c), kfree_rcu (include/linux/rcupdate.h)
 */
export function kfreeRcu(a: SlubAllocator, addr: number): void {
  checkAllocator(a, 'kfree_rcu');
  if (addr === ZERO_SIZE_PTR || addr === 0) return;
  const pfn = Number.isFinite(addr) && addr > 0 ? Math.floor(addr / a.env.pageSize) : -1;
  const v = pfn >= 0 ? a.pfnLookup(pfn) : 0;
  let s: KmemCache | null = null;
  let o = -1;
  if (v > 0) {
    s = cacheOfGid(a, v - 1);
    o = objIndexChecked(s, addr, false);
    if (s.objState[o] !== OBJ_ALLOC) {
      throw new SlabBugError(
        'double-free',
        s.name,
        addr,
        `slab: kfree_rcu of ${s.name} object ${hex(addr)} that is not allocated`,
      );
    }
    s.objState[o] = OBJ_RCU;
    s.nrUserObjects--;
    s.nrRcuObjects++;
  } else if (!(v < 0 && v >= LARGE_HEAD_MIN && addr === pfn * a.env.pageSize)) {
    throw new SlabBugError('invalid-free', '', addr, `slab: kfree_rcu(${hex(addr)}): not a kmalloc or slab allocation`);
  }
  const k = krc(a);
  if (!a.config.kvfreeRcuBatched) {
    const ptr = s === null ? addr : addr + s.rcuHeadOffset;
    k.singlePending++;
    k.callRcuSubmissions++;
    a.env.callRcu(kvfreeRcuCb, { a, ptr });
    return;
  }
  // PREEMPT_RT bypasses the sheaves: kvfree_call_rcu() may be called under a raw spinlock
  if (s !== null && s.pcs !== null && !a.env.preemptRt) {
    const l = (o / s.objsPerSlab) | 0;
    if (s.slabNid[l] === a.env.cpuToNode(a.env.currentCpu()) && kfreeRcuSheaf(s, o)) return;
  }
  if (s !== null) stat(s, STAT.KVFREE_RCU_FALLBACK);
  const cpu = a.env.currentCpu();
  const filled = at(k.bulkCount, cpu);
  bulkOf(k, cpu)[filled] = addr;
  k.bulkCount[cpu] = filled + 1;
  k.objectsPending++;
  if (filled + 1 >= a.config.kvfreeBulkMaxEntries) submitBatch(a, cpu);
}

/**
 * Wait until every object passed to kfree_rcu so far has been freed: submit
 * the rcu_free sheaves and the partly filled batches, then wait for the
 * callbacks (from the harness context, like the machine's rcu_barrier()).
 * @kernel kvfree_rcu_barrier (mm/slab_common.c)
 */
export function kvfreeRcuBarrier(a: SlubAllocator): void {
  flushAllRcuSheaves(a);
  kfreeRcuMonitor(a);
  a.env.rcuBarrier();
}
