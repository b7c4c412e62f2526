/**
 * DOC: percpu sheaves: the opt-in array caching layer of SLUB.
 *
 * A sheaf (`struct slab_sheaf`) is an array of object addresses used as a
 * stack. A cache created with `sheafCapacity > 0` has per CPU a *main* and a
 * *spare* sheaf and, for kfree_rcu batching, an *rcu_free* sheaf
 * (`struct slub_percpu_sheaves`), all protected by one per-CPU
 * `localtry_lock`: `trylock` where callers may be in IRQ context (failure →
 * fall back to the slab paths and count it), `lock` where the caller is known
 * to be allowed to block. Allocation pops from main, swaps in a non-empty
 * spare, exchanges the empty main for a full sheaf from the node's barn, and
 * only when blocking is allowed refills an empty sheaf from slabs by an
 * internal bulk allocation. Freeing pushes to main, swaps in a non-full
 * spare, exchanges the full main for an empty barn sheaf unless the barn is
 * over its full limit, in which case the spare is flushed to slabs by an
 * internal bulk free.
 *
 * Sheaf memory itself comes from kmalloc (`kzalloc(struct_size(...))`), so
 * obtaining an empty sheaf can fail like in the kernel.
 *
 * Objects in sheaves are in state OBJ_SHEAF: allocated as far as slabs (and
 * slub_debug) are concerned, free as far as users, memcg and KASAN are.
 */

import { ENOMEM, MmBugError } from '@mm/machine';
import {
  BARN_E2BIG,
  barnGetEmptySheaf,
  barnGetFullOrEmptySheaf,
  barnPutEmptySheaf,
  barnPutFullSheaf,
  barnReplaceEmptySheaf,
  barnReplaceFullSheaf,
  type NodeBarn,
} from './barn.js';
import { type KmemCache, kfreeRcuState, OBJ_ALLOC, OBJ_SHEAF, stat, statAdd } from './cache.js';
import { at, badArg, checkCache, checkGfp, checkInt } from './check.js';
import type { SlabLocalTryLock } from './env.js';
import { SlabError } from './errors.js';
import {
  __GFP_ACCOUNT,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_RECLAIM,
  GFP_KERNEL,
  GFP_NOWAIT,
} from './internal/gfp.js';
import { kfreeInternal, kmallocInternal } from './kmalloc.js';
import { objAddrOf } from './object.js';
import { slabAllocObjectsIdx } from './slab-alloc.js';
import { MAX_FULL_SHEAVES, NR_SLUB_STAT_ITEMS, NUMA_NO_NODE, PCS_BATCH_MAX, SLAB_ACCOUNT, STAT } from './slab-flags.js';
import { freeObjectIndexToSlab } from './slab-free.js';
import { freeHook } from './slub.js';

/** Largest prefilled sheaf (objects) a caller may ask for. */
const MAX_PREFILL = 1 << 20;

/** Bytes of `struct slab_sheaf` before the objects array. */
const SHEAF_HEADER_BYTES = 32;

/** A sheaf: a stack of object addresses (`struct slab_sheaf`). */
export class SlabSheaf {
  /** The cache whose objects the sheaf holds. */
  readonly cache: KmemCache;
  /** @internal Objects as global object indices of the cache; `objects[0..size)` are valid. */
  readonly objects: Int32Array;
  /** Objects in the sheaf. */
  size: number;
  /** Capacity (the cache's sheaf_capacity, or larger for oversize prefilled sheaves). */
  readonly capacity: number;
  /** @internal Node of the CPU that submitted an rcu_free sheaf. */
  node: number;
  /** @internal Prefilled from pfmemalloc reserves (always flushed on return). */
  pfmemalloc: boolean;
  /** @internal The kmalloc object holding the sheaf (its struct). */
  readonly memAddr: number;
  /** @internal Where the sheaf is: 0 detached, 1 main, 2 spare, 3 rcu_free, 4 barn, 5 rcu flight, 6 freed, 7 prefilled (a user holds it). */
  where: number;

  constructor(cache: KmemCache, capacity: number, memAddr: number) {
    this.cache = cache;
    this.objects = new Int32Array(capacity);
    this.size = 0;
    this.capacity = capacity;
    this.node = NUMA_NO_NODE;
    this.pfmemalloc = false;
    this.memAddr = memAddr;
    this.where = 0;
  }
}

/** Sheaf location: detached (a prefilled sheaf, or in transit). */
export const SHEAF_DETACHED = 0;
/** Sheaf location: a CPU's main sheaf. */
export const SHEAF_MAIN = 1;
/** Sheaf location: a CPU's spare sheaf. */
export const SHEAF_SPARE = 2;
/** Sheaf location: a CPU's rcu_free sheaf. */
export const SHEAF_RCU_FREE = 3;
/** Sheaf location: in a barn (full or empty list). */
export const SHEAF_IN_BARN = 4;
/** Sheaf location: submitted to call_rcu. */
export const SHEAF_RCU_FLIGHT = 5;
/** Sheaf location: freed. */
export const SHEAF_FREED = 6;
/** Sheaf location: handed out by `kmem_cache_prefill_sheaf` and not yet returned. */
export const SHEAF_PREFILLED = 7;

/** `struct slub_percpu_sheaves` for all CPUs of one cache (structure of arrays). */
export interface PercpuSheaves {
  /** The per-CPU `localtry_lock` protecting all three sheaves of a CPU. */
  readonly lock: SlabLocalTryLock;
  /** Every CPU's main sheaf (a CPU always has one; read with `mainOf`). */
  readonly main: SlabSheaf[];
  /** Every CPU's spare sheaf, or null. */
  readonly spare: (SlabSheaf | null)[];
  /** Every CPU's rcu_free sheaf (kfree_rcu batching), or null. */
  readonly rcuFree: (SlabSheaf | null)[];
  /** The on-stack batch of `sheaf_flush_main` (reused). */
  readonly flushBatch: Int32Array;
  /** Scratch list of local objects for `free_to_pcs_bulk` (reused, grown on demand). */
  bulkScratch: Int32Array;
}

/** The percpu sheaves of a cache that has them. */
export function pcsOf(s: KmemCache): PercpuSheaves {
  const pcs = s.pcs;
  if (pcs === null) throw new MmBugError(`slab: ${s.name} has no percpu sheaves`);
  return pcs;
}

/** `cpu`'s main sheaf: every CPU has one while the cache lives. */
export function mainOf(pcs: PercpuSheaves, cpu: number): SlabSheaf {
  const m = pcs.main[cpu];
  if (m === undefined) throw new MmBugError(`slab: no main sheaf for CPU ${cpu}`);
  return m;
}

/** `cpu`'s spare sheaf, or null. */
export function spareOf(pcs: PercpuSheaves, cpu: number): SlabSheaf | null {
  return pcs.spare[cpu] ?? null;
}

/** `cpu`'s rcu_free sheaf, or null. */
export function rcuFreeOf(pcs: PercpuSheaves, cpu: number): SlabSheaf | null {
  return pcs.rcuFree[cpu] ?? null;
}

/** The barn of node `nid`. */
export function barnOf(s: KmemCache, nid: number): NodeBarn {
  const b = s.barns[nid];
  if (b === undefined) throw new MmBugError(`slab: ${s.name} has no barn for node ${nid}`);
  return b;
}

function allowSpinning(gfp: number): boolean {
  return (gfp & __GFP_RECLAIM) !== 0;
}

/**
 * An empty sheaf of `capacity` objects, its memory from kmalloc; null when that fails.
 * @kernel __alloc_empty_sheaf (mm/slub.c)
 */
export function allocEmptySheafCap(s: KmemCache, gfp: number, capacity: number): SlabSheaf | null {
  const mem = kmallocInternal(s.allocator, SHEAF_HEADER_BYTES + capacity * 8, gfp);
  if (mem < 0) return null;
  const sheaf = new SlabSheaf(s, capacity, mem);
  s.nrSheaves++;
  stat(s, STAT.SHEAF_ALLOC);
  return sheaf;
}

/** A new sheaf with no objects, or null when its allocation fails. @kernel alloc_empty_sheaf (mm/slub.c) */
export function allocEmptySheaf(s: KmemCache, gfp: number): SlabSheaf | null {
  return allocEmptySheafCap(s, gfp, s.sheafCapacity);
}

/** Free a sheaf that holds no objects. @kernel free_empty_sheaf (mm/slub.c) */
export function freeEmptySheaf(s: KmemCache, sheaf: SlabSheaf): void {
  if (sheaf.size !== 0 || sheaf.where === SHEAF_FREED) {
    throw new MmBugError(`slab: ${s.name}: freeing a sheaf that is not empty (${sheaf.size}) or already freed`);
  }
  sheaf.where = SHEAF_FREED;
  s.nrSheaves--;
  kfreeInternal(s.allocator, sheaf.memAddr);
  stat(s, STAT.SHEAF_FREE);
}

/**
 * Fill a sheaf to the cache's capacity by an internal bulk allocation.
 * @returns 0, or -ENOMEM when not completely filled.
 * @kernel refill_sheaf (mm/slub.c)
 */
export function refillSheaf(s: KmemCache, sheaf: SlabSheaf, gfp: number): number {
  const toFill = s.sheafCapacity - sheaf.size;
  if (toFill <= 0) return 0;
  const filled = slabAllocObjectsIdx(s, gfp, toFill, sheaf.objects, sheaf.size, OBJ_SHEAF);
  sheaf.size += filled;
  statAdd(s, STAT.SHEAF_REFILL, filled);
  return filled < toFill ? -ENOMEM : 0;
}

/** @kernel alloc_full_sheaf (mm/slub.c) */
function allocFullSheaf(s: KmemCache, gfp: number): SlabSheaf | null {
  const sheaf = allocEmptySheaf(s, gfp);
  if (sheaf === null) return null;
  if (refillSheaf(s, sheaf, gfp | __GFP_NOMEMALLOC) !== 0) {
    freeEmptySheaf(s, sheaf);
    return null;
  }
  return sheaf;
}

/** Flush `n` objects from `objects[from..]` to slabs (the internal bulk free). */
function flushObjects(s: KmemCache, objects: Int32Array, from: number, n: number): void {
  for (let i = 0; i < n; i++) freeObjectIndexToSlab(s, at(objects, from + i));
}

/**
 * Flush the current CPU's main sheaf to slabs in batches of PCS_BATCH_MAX,
 * dropping the lock around each bulk free.
 * @returns true when at least partially flushed.
 * @kernel sheaf_flush_main (mm/slub.c)
 */
export function sheafFlushMain(s: KmemCache): boolean {
  const pcs = pcsOf(s);
  const batchBuf = pcs.flushBatch;
  let ret = false;
  for (;;) {
    if (!pcs.lock.trylock()) return ret;
    const sheaf = mainOf(pcs, s.env.currentCpu());
    const batch = Math.min(PCS_BATCH_MAX, sheaf.size);
    sheaf.size -= batch;
    batchBuf.set(sheaf.objects.subarray(sheaf.size, sheaf.size + batch));
    const remaining = sheaf.size;
    pcs.lock.unlock();
    flushObjects(s, batchBuf, 0, batch);
    statAdd(s, STAT.SHEAF_FLUSH_MAIN, batch);
    ret = true;
    if (remaining === 0) return ret;
  }
}

/**
 * Flush a sheaf no CPU uses (barn, spare of a dead CPU, prefilled) to slabs.
 * @kernel sheaf_flush_unused (mm/slub.c)
 */
export function sheafFlushUnused(s: KmemCache, sheaf: SlabSheaf): void {
  if (sheaf.size === 0) return;
  statAdd(s, STAT.SHEAF_FLUSH_OTHER, sheaf.size);
  flushObjects(s, sheaf.objects, 0, sheaf.size);
  sheaf.size = 0;
}

/**
 * Percpu sheaves for a new cache: an empty main sheaf per CPU.
 * @throws SlabError ENOMEM when the sheaves cannot be allocated.
 * @kernel init_percpu_sheaves (mm/slub.c)
 */
export function newPercpuSheaves(s: KmemCache): PercpuSheaves {
  const nc = s.env.nrCpus;
  const main: SlabSheaf[] = [];
  const spare: (SlabSheaf | null)[] = [];
  const rcuFree: (SlabSheaf | null)[] = [];
  const pcs: PercpuSheaves = {
    lock: s.env.newLocalTryLock(`${s.name}->cpu_sheaves->lock`),
    main,
    spare,
    rcuFree,
    flushBatch: new Int32Array(PCS_BATCH_MAX),
    bulkScratch: new Int32Array(64),
  };
  for (let cpu = 0; cpu < nc; cpu++) {
    const sheaf = allocEmptySheaf(s, GFP_KERNEL);
    if (sheaf === null) {
      for (const m of main) freeEmptySheaf(s, m);
      throw new SlabError('ENOMEM', s.name, `slab: kmem_cache_create ${s.name}: no memory for percpu sheaves`);
    }
    sheaf.where = SHEAF_MAIN;
    main.push(sheaf);
    spare.push(null);
    rcuFree.push(null);
  }
  return pcs;
}

function getBarn(s: KmemCache): NodeBarn {
  return barnOf(s, s.env.cpuToNode(s.env.currentCpu()));
}

/**
 * Replace the empty main sheaf with a (partially) full one. Called with the
 * lock held; returns true with the lock held, or false with it released.
 * @kernel __pcs_replace_empty_main (mm/slub.c)
 */
function pcsReplaceEmptyMain(s: KmemCache, gfp: number): boolean {
  const pcs = pcsOf(s);
  let cpu = s.env.currentCpu();
  const spare = spareOf(pcs, cpu);
  if (spare !== null && spare.size > 0) {
    const main = mainOf(pcs, cpu);
    pcs.spare[cpu] = main;
    main.where = SHEAF_SPARE;
    pcs.main[cpu] = spare;
    spare.where = SHEAF_MAIN;
    return true;
  }
  const barn = getBarn(s);
  let full = barnReplaceEmptySheaf(s, barn, mainOf(pcs, cpu), allowSpinning(gfp));
  if (full !== null) {
    stat(s, STAT.BARN_GET);
    mainOf(pcs, cpu).where = SHEAF_IN_BARN;
    full.where = SHEAF_MAIN;
    pcs.main[cpu] = full;
    return true;
  }
  stat(s, STAT.BARN_GET_FAIL);
  const canAlloc = s.env.gfpAllowBlocking(gfp);
  let empty: SlabSheaf | null = null;
  if (canAlloc) {
    if (spare !== null) {
      empty = spare;
      pcs.spare[cpu] = null;
    } else empty = barnGetEmptySheaf(s, barn, true);
  }
  pcs.lock.unlock();
  if (!canAlloc) return false;
  if (empty !== null) {
    empty.where = SHEAF_DETACHED;
    if (refillSheaf(s, empty, gfp | __GFP_NOMEMALLOC) === 0) full = empty;
    else {
      // very low on memory: give the partial refill back and do not bother with the barn
      sheafFlushUnused(s, empty);
      freeEmptySheaf(s, empty);
    }
  } else full = allocFullSheaf(s, gfp);
  if (full === null) return false;
  // we may block here, so this is not an irq
  pcs.lock.lock();
  cpu = s.env.currentCpu();
  const main = mainOf(pcs, cpu);
  full.where = SHEAF_MAIN;
  if (main.size === 0) {
    if (spareOf(pcs, cpu) === null) {
      pcs.spare[cpu] = main;
      main.where = SHEAF_SPARE;
    } else {
      main.where = SHEAF_IN_BARN;
      barnPutEmptySheaf(barn, main);
    }
    pcs.main[cpu] = full;
    return true;
  }
  const sp = spareOf(pcs, cpu);
  if (sp === null) {
    full.where = SHEAF_SPARE;
    pcs.spare[cpu] = full;
    return true;
  }
  if (sp.size === 0) {
    sp.where = SHEAF_IN_BARN;
    barnPutEmptySheaf(barn, sp);
    full.where = SHEAF_SPARE;
    pcs.spare[cpu] = full;
    return true;
  }
  full.where = SHEAF_IN_BARN;
  barnPutFullSheaf(barn, full);
  stat(s, STAT.BARN_PUT);
  return true;
}

/**
 * Allocate from the current CPU's sheaves. A specific NUMA node bypasses
 * them (sheaves do not track locality).
 * @returns the object (global index), or -1 to fall back to the slab paths.
 * @kernel alloc_from_pcs (mm/slub.c)
 */
export function allocFromPcs(s: KmemCache, gfp: number, node: number): number {
  if (node !== NUMA_NO_NODE) return -1;
  const pcs = pcsOf(s);
  if (!pcs.lock.trylock()) {
    stat(s, STAT.PCS_TRYLOCK_FAIL);
    return -1;
  }
  let cpu = s.env.currentCpu();
  let main = mainOf(pcs, cpu);
  if (main.size === 0) {
    if (!pcsReplaceEmptyMain(s, gfp)) return -1;
    cpu = s.env.currentCpu();
    main = mainOf(pcs, cpu);
  }
  const object = at(main.objects, --main.size);
  pcs.lock.unlock();
  const si = cpu * NR_SLUB_STAT_ITEMS + STAT.ALLOC_PCS;
  s.stats[si] = at(s.stats, si) + 1;
  return object;
}

/**
 * Allocate up to `size` objects from sheaves into `p`: stops as soon as no
 * full sheaf is at hand (the rest comes from slabs, no double copying).
 * @returns the number allocated.
 * @kernel alloc_from_pcs_bulk (mm/slub.c)
 */
export function allocFromPcsBulk(s: KmemCache, gfp: number, size: number, p: Float64Array | number[]): number {
  const pcs = pcsOf(s);
  let allocated = 0;
  for (;;) {
    if (!pcs.lock.trylock()) {
      stat(s, STAT.PCS_TRYLOCK_FAIL);
      return allocated;
    }
    const cpu = s.env.currentCpu();
    let main = mainOf(pcs, cpu);
    if (main.size === 0) {
      const spare = spareOf(pcs, cpu);
      if (spare !== null && spare.size > 0) {
        pcs.spare[cpu] = main;
        main.where = SHEAF_SPARE;
        pcs.main[cpu] = spare;
        spare.where = SHEAF_MAIN;
        main = spare;
      } else {
        const full = barnReplaceEmptySheaf(s, getBarn(s), main, allowSpinning(gfp));
        if (full === null) {
          stat(s, STAT.BARN_GET_FAIL);
          pcs.lock.unlock();
          return allocated;
        }
        stat(s, STAT.BARN_GET);
        main.where = SHEAF_IN_BARN;
        full.where = SHEAF_MAIN;
        pcs.main[cpu] = full;
        main = full;
      }
    }
    const want = size - allocated;
    const batch = Math.min(want, main.size);
    main.size -= batch;
    for (let i = 0; i < batch; i++) p[allocated + i] = objAddrOf(s, at(main.objects, main.size + i));
    pcs.lock.unlock();
    statAdd(s, STAT.ALLOC_PCS, batch);
    allocated += batch;
    if (allocated >= size) return allocated;
  }
}

/**
 * Install an empty sheaf obtained with the lock dropped, handling what may have changed meanwhile.
 * @kernel __pcs_install_empty_sheaf (mm/slub.c)
 */
function pcsInstallEmptySheaf(s: KmemCache, empty: SlabSheaf, barn: NodeBarn): void {
  const pcs = pcsOf(s);
  const cpu = s.env.currentCpu();
  const main = mainOf(pcs, cpu);
  const spare = spareOf(pcs, cpu);
  if (spare === null) {
    pcs.spare[cpu] = main;
    main.where = SHEAF_SPARE;
    pcs.main[cpu] = empty;
    empty.where = SHEAF_MAIN;
    return;
  }
  if (main.size < s.sheafCapacity) {
    empty.where = SHEAF_IN_BARN;
    barnPutEmptySheaf(barn, empty);
    return;
  }
  if (spare.size < s.sheafCapacity) {
    pcs.main[cpu] = spare;
    spare.where = SHEAF_MAIN;
    pcs.spare[cpu] = main;
    main.where = SHEAF_SPARE;
    empty.where = SHEAF_IN_BARN;
    barnPutEmptySheaf(barn, empty);
    return;
  }
  main.where = SHEAF_IN_BARN;
  barnPutFullSheaf(barn, main);
  stat(s, STAT.BARN_PUT);
  pcs.main[cpu] = empty;
  empty.where = SHEAF_MAIN;
}

/**
 * Replace the full main sheaf with a (partially) empty one. Called with the
 * lock held; returns true with it held, or false with it released.
 * @kernel __pcs_replace_full_main (mm/slub.c)
 */
function pcsReplaceFullMain(s: KmemCache): boolean {
  const pcs = pcsOf(s);
  for (;;) {
    const cpu = s.env.currentCpu();
    const barn = getBarn(s);
    let putFail = false;
    const spare = spareOf(pcs, cpu);
    let empty: SlabSheaf | null = null;
    let gotEmpty = false;
    if (spare === null) {
      empty = barnGetEmptySheaf(s, barn, true);
      if (empty !== null) {
        const main = mainOf(pcs, cpu);
        pcs.spare[cpu] = main;
        main.where = SHEAF_SPARE;
        pcs.main[cpu] = empty;
        empty.where = SHEAF_MAIN;
        return true;
      }
    } else if (spare.size < s.sheafCapacity) {
      const main = mainOf(pcs, cpu);
      pcs.spare[cpu] = main;
      main.where = SHEAF_SPARE;
      pcs.main[cpu] = spare;
      spare.where = SHEAF_MAIN;
      return true;
    } else {
      const r = barnReplaceFullSheaf(s, barn, mainOf(pcs, cpu), true);
      if (typeof r !== 'number') {
        stat(s, STAT.BARN_PUT);
        mainOf(pcs, cpu).where = SHEAF_IN_BARN;
        pcs.main[cpu] = r;
        r.where = SHEAF_MAIN;
        return true;
      }
      if (r === BARN_E2BIG) {
        // the barn is over its full limit: flush the (full) spare to slabs
        stat(s, STAT.BARN_PUT_FAIL);
        pcs.spare[cpu] = null;
        spare.where = SHEAF_DETACHED;
        pcs.lock.unlock();
        sheafFlushUnused(s, spare);
        empty = spare;
        gotEmpty = true;
      } else putFail = true;
    }
    if (!gotEmpty) {
      pcs.lock.unlock();
      empty = allocEmptySheaf(s, GFP_NOWAIT);
      if (empty === null) {
        if (putFail) stat(s, STAT.BARN_PUT_FAIL);
        if (!sheafFlushMain(s)) return false;
        if (!pcs.lock.trylock()) return false;
        // flushed; check again in case we were interrupted
        if (mainOf(pcs, s.env.currentCpu()).size === s.sheafCapacity) continue;
        return true;
      }
    }
    if (empty === null) throw new MmBugError(`slab: ${s.name}: no empty sheaf after getting one`);
    if (!pcs.lock.trylock()) {
      empty.where = SHEAF_IN_BARN;
      barnPutEmptySheaf(barn, empty);
      return false;
    }
    pcsInstallEmptySheaf(s, empty, barn);
    return true;
  }
}

/**
 * Free an object (that passed the free hooks) to the current CPU's sheaves.
 * @returns false when the slab path must take it.
 * @kernel free_to_pcs (mm/slub.c)
 */
export function freeToPcs(s: KmemCache, o: number): boolean {
  const pcs = pcsOf(s);
  if (!pcs.lock.trylock()) {
    stat(s, STAT.PCS_TRYLOCK_FAIL);
    return false;
  }
  let cpu = s.env.currentCpu();
  let main = mainOf(pcs, cpu);
  if (main.size === s.sheafCapacity) {
    if (!pcsReplaceFullMain(s)) return false;
    cpu = s.env.currentCpu();
    main = mainOf(pcs, cpu);
  }
  main.objects[main.size++] = o;
  s.objState[o] = OBJ_SHEAF;
  pcs.lock.unlock();
  const si = cpu * NR_SLUB_STAT_ITEMS + STAT.FREE_PCS;
  s.stats[si] = at(s.stats, si) + 1;
  return true;
}

/**
 * Bulk free into sheaves while empty sheaves are available; the rest, and
 * objects of remote nodes, go to slabs directly. Runs the free hooks.
 * @kernel free_to_pcs_bulk (mm/slub.c)
 */
export function freeToPcsBulk(s: KmemCache, size: number, p: Float64Array | number[]): void {
  const pcs = pcsOf(s);
  const node = s.env.cpuToNode(s.env.currentCpu());
  if (pcs.bulkScratch.length < size) pcs.bulkScratch = new Int32Array(Math.max(size, 2 * pcs.bulkScratch.length));
  const local = pcs.bulkScratch;
  let nLocal = 0;
  for (let i = 0; i < size; i++) {
    const addr = at(p, i);
    const o = freeHook(s, addr);
    const l = (o / s.objsPerSlab) | 0;
    if (s.slabNid[l] !== node) {
      freeObjectIndexToSlab(s, o);
    } else local[nLocal++] = o;
  }
  let i = 0;
  while (i < nLocal) {
    if (!pcs.lock.trylock()) {
      stat(s, STAT.PCS_TRYLOCK_FAIL);
      break;
    }
    const cpu = s.env.currentCpu();
    let main = mainOf(pcs, cpu);
    if (main.size >= s.sheafCapacity) {
      const barn = getBarn(s);
      const spare = spareOf(pcs, cpu);
      if (spare === null) {
        const empty = barnGetEmptySheaf(s, barn, true);
        if (empty === null) {
          pcs.lock.unlock();
          break;
        }
        pcs.spare[cpu] = main;
        main.where = SHEAF_SPARE;
        pcs.main[cpu] = empty;
        empty.where = SHEAF_MAIN;
      } else if (spare.size < s.sheafCapacity) {
        pcs.spare[cpu] = main;
        main.where = SHEAF_SPARE;
        pcs.main[cpu] = spare;
        spare.where = SHEAF_MAIN;
      } else {
        const r = barnReplaceFullSheaf(s, barn, main, true);
        if (typeof r === 'number') {
          stat(s, STAT.BARN_PUT_FAIL);
          pcs.lock.unlock();
          break;
        }
        stat(s, STAT.BARN_PUT);
        main.where = SHEAF_IN_BARN;
        pcs.main[cpu] = r;
        r.where = SHEAF_MAIN;
      }
      main = mainOf(pcs, cpu);
    }
    const batch = Math.min(nLocal - i, s.sheafCapacity - main.size);
    for (let k = 0; k < batch; k++) {
      const o = at(local, i + k);
      main.objects[main.size++] = o;
      s.objState[o] = OBJ_SHEAF;
    }
    pcs.lock.unlock();
    statAdd(s, STAT.FREE_PCS, batch);
    i += batch;
  }
  // fallback: the rest straight to slabs
  for (; i < nLocal; i++) {
    freeObjectIndexToSlab(s, at(local, i));
  }
}

/**
 * Flush this CPU's sheaves: spare and main to slabs (skipping the barn),
 * the rcu_free sheaf to call_rcu.
 * @kernel pcs_flush_all (mm/slub.c)
 */
export function pcsFlushAll(s: KmemCache, cpu: number): void {
  const pcs = pcsOf(s);
  runOnCpu(s, cpu, () => {
    pcs.lock.lock();
    const spare = spareOf(pcs, cpu);
    pcs.spare[cpu] = null;
    const rcuFree = rcuFreeOf(pcs, cpu);
    pcs.rcuFree[cpu] = null;
    pcs.lock.unlock();
    if (spare !== null) {
      spare.where = SHEAF_DETACHED;
      sheafFlushUnused(s, spare);
      freeEmptySheaf(s, spare);
    }
    if (rcuFree !== null) submitRcuSheafNobarn(s, rcuFree);
    sheafFlushMain(s);
  });
}

/** Run `fn` on `cpu` (flush work is queued on the CPU it flushes). */
function runOnCpu(s: KmemCache, cpu: number, fn: () => void): void {
  if (s.env.currentCpu() === cpu) fn();
  else s.env.runOn(cpu, fn);
}

/** After the grace period: memcg/KASAN free hooks of an rcu_free sheaf's objects. */
export function rcuFreeSheafPrepare(s: KmemCache, sheaf: SlabSheaf): void {
  const memcg = s.allocator.memcg;
  for (let i = 0; i < sheaf.size; i++) {
    const o = at(sheaf.objects, i);
    s.objState[o] = OBJ_SHEAF;
    if (memcg !== null && s.flags & SLAB_ACCOUNT) memcg.uncharge(s, objAddrOf(s, o));
  }
  s.nrRcuObjects -= sheaf.size;
}

/**
 * Grace period over for an rcu_free sheaf of a flushed CPU: straight to slabs.
 * @kernel rcu_free_sheaf_nobarn (mm/slub.c)
 */
export function rcuFreeSheafNobarn(arg: unknown): void {
  const sheaf = arg as SlabSheaf;
  const s = sheaf.cache;
  rcuFreeSheafPrepare(s, sheaf);
  sheaf.where = SHEAF_DETACHED;
  kfreeRcuState(s.allocator).rcuObjectsFlushed += sheaf.size;
  sheafFlushUnused(s, sheaf);
  freeEmptySheaf(s, sheaf);
}

/**
 * Submit the rcu_free sheaf of a CPU being flushed: after the grace period
 * its objects go to the slabs, not to the barn.
 * @kernel pcs_flush_all (mm/slub.c, the `call_rcu(..., rcu_free_sheaf_nobarn)` part)
 */
function submitRcuSheafNobarn(s: KmemCache, sheaf: SlabSheaf): void {
  sheaf.where = SHEAF_RCU_FLIGHT;
  kfreeRcuState(s.allocator).callRcuSubmissions++;
  s.env.callRcu(rcuFreeSheafNobarn, sheaf);
}

/**
 * Flush a dead CPU's sheaves (it runs nothing, so no lock).
 * @kernel __pcs_flush_all_cpu (mm/slub.c)
 */
export function pcsFlushAllCpu(s: KmemCache, cpu: number): void {
  const pcs = pcsOf(s);
  sheafFlushUnused(s, mainOf(pcs, cpu));
  const spare = spareOf(pcs, cpu);
  if (spare !== null) {
    pcs.spare[cpu] = null;
    spare.where = SHEAF_DETACHED;
    sheafFlushUnused(s, spare);
    freeEmptySheaf(s, spare);
  }
  const rcuFree = rcuFreeOf(pcs, cpu);
  if (rcuFree !== null) {
    pcs.rcuFree[cpu] = null;
    submitRcuSheafNobarn(s, rcuFree);
  }
}

/** Whether `cpu` still has, for `s`, a spare or rcu_free sheaf or objects in its main sheaf. @kernel has_pcs_used (mm/slub.c) */
export function hasPcsUsed(s: KmemCache, cpu: number): boolean {
  const pcs = pcsOf(s);
  return spareOf(pcs, cpu) !== null || rcuFreeOf(pcs, cpu) !== null || mainOf(pcs, cpu).size > 0;
}

/**
 * Free the (empty) main sheaves of a cache being destroyed.
 * @kernel pcs_destroy (mm/slub.c)
 */
export function pcsDestroy(s: KmemCache): void {
  const pcs = pcsOf(s);
  for (let cpu = 0; cpu < s.env.nrCpus; cpu++) {
    const main = mainOf(pcs, cpu);
    if (main.size === 0 && main.where !== SHEAF_FREED) freeEmptySheaf(s, main);
  }
}

// ---------------------------------------------------------------------------
// Prefilled sheaves

/**
 * A sheaf holding at least `size` objects for guaranteed allocations. Sizes
 * above the cache's capacity get a fresh oversize sheaf (not efficient).
 * @returns the sheaf, or null when it cannot be had or filled.
 * @kernel kmem_cache_prefill_sheaf (mm/slub.c)
 */
export function kmemCachePrefillSheaf(s: KmemCache, gfp: number, size: number): SlabSheaf | null {
  checkCache(s, 'kmem_cache_prefill_sheaf');
  checkGfp(gfp, 'kmem_cache_prefill_sheaf', s.name);
  checkInt(size, 0, MAX_PREFILL, 'kmem_cache_prefill_sheaf', 'size', s.name);
  if (size === 0) return null;
  const fs = s.allocator.failslab;
  if (fs.prefill && fs.shouldFailslab(s.name, s.objectSize, gfp)) return null;
  // a cache without sheaves has capacity 0: every request is oversize, as in the kernel
  if (size > s.sheafCapacity) {
    const sheaf = allocEmptySheafCap(s, gfp, size);
    if (sheaf === null) return null;
    stat(s, STAT.SHEAF_PREFILL_OVERSIZE);
    if (slabAllocObjectsIdx(s, gfp, size, sheaf.objects, 0, OBJ_SHEAF) === 0) {
      freeEmptySheaf(s, sheaf);
      return null;
    }
    sheaf.size = size;
    sheaf.where = SHEAF_PREFILLED;
    s.prefilled.add(sheaf);
    return sheaf;
  }
  const pcs = pcsOf(s);
  pcs.lock.lock();
  const cpu = s.env.currentCpu();
  let sheaf: SlabSheaf | null = spareOf(pcs, cpu);
  if (sheaf !== null) {
    pcs.spare[cpu] = null;
    stat(s, STAT.SHEAF_PREFILL_FAST);
  } else {
    stat(s, STAT.SHEAF_PREFILL_SLOW);
    sheaf = barnGetFullOrEmptySheaf(s, getBarn(s));
    if (sheaf !== null && sheaf.size > 0) stat(s, STAT.BARN_GET);
    else stat(s, STAT.BARN_GET_FAIL);
  }
  pcs.lock.unlock();
  if (sheaf === null) sheaf = allocEmptySheaf(s, gfp);
  if (sheaf !== null) {
    sheaf.where = SHEAF_DETACHED;
    sheaf.pfmemalloc = false;
    if (sheaf.size < size && refillSheaf(s, sheaf, gfp) !== 0) {
      sheafFlushUnused(s, sheaf);
      freeEmptySheaf(s, sheaf);
      sheaf = null;
    }
  }
  if (sheaf !== null) {
    sheaf.where = SHEAF_PREFILLED;
    s.prefilled.add(sheaf);
  }
  return sheaf;
}

/**
 * Give a prefilled sheaf back: it becomes the CPU's spare if there is none,
 * else it is refilled to capacity for the barn; oversize sheaves, refill
 * failures and a barn over its limit flush and free it.
 * @kernel kmem_cache_return_sheaf (mm/slub.c)
 */
export function kmemCacheReturnSheaf(s: KmemCache, gfp: number, sheaf: SlabSheaf): void {
  checkCache(s, 'kmem_cache_return_sheaf');
  checkGfp(gfp, 'kmem_cache_return_sheaf', s.name);
  checkPrefilled(s, sheaf, 'kmem_cache_return_sheaf');
  s.prefilled.delete(sheaf);
  sheaf.where = SHEAF_DETACHED;
  if (sheaf.capacity !== s.sheafCapacity || sheaf.pfmemalloc) {
    sheafFlushUnused(s, sheaf);
    freeEmptySheaf(s, sheaf);
    return;
  }
  const pcs = pcsOf(s);
  pcs.lock.lock();
  const cpu = s.env.currentCpu();
  const barn = getBarn(s);
  let rest: SlabSheaf | null = sheaf;
  if (spareOf(pcs, cpu) === null) {
    pcs.spare[cpu] = sheaf;
    sheaf.where = SHEAF_SPARE;
    rest = null;
    stat(s, STAT.SHEAF_RETURN_FAST);
  }
  pcs.lock.unlock();
  if (rest === null) return;
  stat(s, STAT.SHEAF_RETURN_SLOW);
  if (barn.nrFull >= MAX_FULL_SHEAVES || refillSheaf(s, rest, gfp) !== 0) {
    sheafFlushUnused(s, rest);
    freeEmptySheaf(s, rest);
    return;
  }
  rest.where = SHEAF_IN_BARN;
  barnPutFullSheaf(barn, rest);
  stat(s, STAT.BARN_PUT);
}

function checkPrefilled(s: KmemCache, sheaf: SlabSheaf, fn: string): void {
  if (!(sheaf instanceof SlabSheaf) || sheaf.cache !== s || sheaf.where !== SHEAF_PREFILLED) {
    throw badArg(fn, 'sheaf', sheaf, `is not a prefilled sheaf of ${s.name} held by the caller`, s.name);
  }
}

/** The indirect sheaf pointer of kmem_cache_refill_sheaf (`struct slab_sheaf **`). */
export interface SheafRef {
  /** The sheaf (replaced by a larger one when a refill needs it). */
  sheaf: SlabSheaf;
}

/**
 * Refill a prefilled sheaf to at least `size` objects. Nothing happens when
 * it is large enough; a size above both the sheaf's and the cache's
 * capacity replaces the sheaf (in `ref`) with a new, larger one.
 * @returns 0, or -ENOMEM (the existing sheaf is left intact).
 * @kernel kmem_cache_refill_sheaf (mm/slub.c)
 */
export function kmemCacheRefillSheaf(s: KmemCache, gfp: number, ref: SheafRef, size: number): number {
  checkCache(s, 'kmem_cache_refill_sheaf');
  checkGfp(gfp, 'kmem_cache_refill_sheaf', s.name);
  if (typeof ref !== 'object' || ref === null)
    throw badArg('kmem_cache_refill_sheaf', 'ref', ref, 'is not a { sheaf } reference', s.name);
  const sheaf = ref.sheaf;
  checkPrefilled(s, sheaf, 'kmem_cache_refill_sheaf');
  checkInt(size, 0, MAX_PREFILL, 'kmem_cache_refill_sheaf', 'size', s.name);
  if (sheaf.size >= size) return 0;
  if (sheaf.capacity >= size) {
    if (sheaf.capacity === s.sheafCapacity) return refillSheaf(s, sheaf, gfp);
    const n = sheaf.capacity - sheaf.size;
    if (slabAllocObjectsIdx(s, gfp, n, sheaf.objects, sheaf.size, OBJ_SHEAF) === 0) return -ENOMEM;
    sheaf.size = sheaf.capacity;
    return 0;
  }
  const bigger = kmemCachePrefillSheaf(s, gfp, size);
  if (bigger === null) return -ENOMEM;
  kmemCacheReturnSheaf(s, gfp, sheaf);
  ref.sheaf = bigger;
  return 0;
}

/**
 * Allocate from a prefilled sheaf; never fails until the sheaf is empty (no
 * fallback to the cache). Memcg charging is forced (__GFP_NOFAIL).
 * @returns the object address, or -ENOMEM when the sheaf is empty.
 * @kernel kmem_cache_alloc_from_sheaf (mm/slub.c)
 */
export function kmemCacheAllocFromSheaf(s: KmemCache, gfp: number, sheaf: SlabSheaf): number {
  checkCache(s, 'kmem_cache_alloc_from_sheaf');
  checkGfp(gfp, 'kmem_cache_alloc_from_sheaf', s.name);
  checkPrefilled(s, sheaf, 'kmem_cache_alloc_from_sheaf');
  if (sheaf.size === 0) return -ENOMEM;
  const o = at(sheaf.objects, --sheaf.size);
  const addr = objAddrOf(s, o);
  s.objState[o] = OBJ_ALLOC;
  s.nrUserObjects++;
  const memcg = s.allocator.memcg;
  if (memcg !== null && (s.flags & SLAB_ACCOUNT || gfp & __GFP_ACCOUNT)) memcg.charge(s, addr, gfp | __GFP_NOFAIL);
  return addr;
}

/** Objects in a prefilled sheaf. @kernel kmem_cache_sheaf_size (mm/slub.c) */
export function kmemCacheSheafSize(sheaf: SlabSheaf): number {
  if (!(sheaf instanceof SlabSheaf)) throw badArg('kmem_cache_sheaf_size', 'sheaf', sheaf, 'is not a sheaf');
  return sheaf.size;
}
