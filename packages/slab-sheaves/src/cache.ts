/**
 * DOC: the allocator and cache structures (`struct kmem_cache`,
 * `kmem_cache_cpu`, `kmem_cache_node`), the object states the model keeps
 * per object, configuration, and the per-CPU statistics.
 *
 * Per-slab fields live in typed arrays of the cache indexed by a local slab
 * id (`slabPfn`, `slabInuse`, `slabFree` (freelist head as an object index),
 * `slabFrozen`, list links); per-object fields (`objNext` freelist links,
 * `objState`, debug bits) in typed arrays indexed by
 * `localId * objsPerSlab + index`. A lazily allocated per-section map turns
 * a PFN into its slab (the kernel's `page->slab_cache` via the memmap).
 */

import type { NodeBarn } from './barn.js';
import type { SlabEnv, SlabSpinLock } from './env.js';
import { type SlabBugError, SlabError } from './errors.js';
import { Failslab } from './failslab.js';
import { calculateAlignment, calculateOrder, calculateSizes, getOrder, orderObjects, WORD } from './layout.js';
import type { PercpuSheaves, SlabSheaf } from './sheaf.js';
import { MAX_OBJS_PER_PAGE, NR_SLUB_STAT_ITEMS, SLAB_DEBUG_FLAGS, SLAB_POISON, SLAB_STORE_USER } from './slab-flags.js';
/** Object states (one byte per object). */
export const OBJ_FREE = 0;
/** Handed out to a user. */
export const OBJ_ALLOC = 1;
/** Cached in a sheaf (percpu, barn or prefilled): allocated from the slab's point of view. */
export const OBJ_SHEAF = 2;
/** Freed with kfree_rcu and waiting for a grace period. */
export const OBJ_RCU = 3;
/** Object state, only inside `kmem_cache_free_bulk`'s checks: named once in this bulk free. */
export const OBJ_BULK_SEEN = 4;

/** `kmem_cache_args` (include/linux/slab.h), in camelCase. */
export interface KmemCacheArgs {
  /** Required alignment of objects (power of two). */
  align?: number;
  /** Called once per object when a new slab is set up. */
  ctor?: (object: number) => void;
  /** Percpu sheaf capacity; 0 (default) = no sheaves. */
  sheafCapacity?: number;
  /** Cache flags (SLAB_*). */
  flags?: number;
  /** Offset of the rcu_head inside the object for kvfree_rcu (default 0). */
  rcuHeadOffset?: number;
}

/** Allocator-wide configuration (boot parameters and kernel config). */
export interface SlubConfig {
  /** `slub_max_order` (default PAGE_ALLOC_COSTLY_ORDER = 3; 0 with SLUB_TINY). */
  slubMaxOrder?: number;
  /** `slub_min_order` (default 0). */
  slubMinOrder?: number;
  /** `slub_min_objects` (default 0 = computed from the CPU count). */
  slubMinObjects?: number;
  /** CONFIG_SLUB_TINY: no per-CPU slabs or partials, MIN_PARTIAL 0, no kvfree_rcu batching. */
  slubTiny?: boolean;
  /** CONFIG_TINY_RCU: also turns KVFREE_RCU_BATCHED off. */
  tinyRcu?: boolean;
  /** `slub_debug` flags applied to every cache created (like `slub_debug=FZPU`). */
  slubDebug?: number;
  /** KASAN-like checking of accesses and frees against the user-visible object state. */
  kasan?: boolean;
  /** Entries per kvfree_rcu batch before it is submitted (default KVFREE_BULK_MAX_ENTRIES). */
  kvfreeBulkMaxEntries?: number;
}

/** Memcg accounting hooks, called on real allocations and frees by users (also when served from sheaves). */
export interface SlabMemcgHooks {
  /** Charge one object; false = over the limit (the allocation fails with -ENOMEM). */
  charge(cache: KmemCache, object: number, gfp: number): boolean;
  /** Uncharge one object. */
  uncharge(cache: KmemCache, object: number): void;
}

/** SLUB configuration after defaults. */
export interface ResolvedSlubConfig {
  /** Largest page order a slab may use (`slab_max_order=` boot option); mirrors `slub_max_order`. */
  readonly slubMaxOrder: number;
  /** Smallest page order a slab may use (`slab_min_order=` boot option); mirrors `slub_min_order`. */
  readonly slubMinOrder: number;
  /** `slub_min_objects` (0: computed from the CPU count). */
  readonly slubMinObjects: number;
  /** CONFIG_SLUB_TINY: the small-memory SLUB; no per-CPU sheaves, order-0 slabs by default, no minimum of partial slabs. */
  readonly slubTiny: boolean;
  /** CONFIG_KVFREE_RCU_BATCHED (off with SLUB_TINY or tiny RCU). */
  readonly kvfreeRcuBatched: boolean;
  /** `slub_debug` flags applied to every cache. */
  readonly slubDebug: number;
  /** KASAN-like checking of accesses and frees. */
  readonly kasan: boolean;
  /** Pointers per kvfree_rcu batch page. */
  readonly kvfreeBulkMaxEntries: number;
}

/** Reports recorded by slub_debug checks that run inside the allocator (the model of `slab_err()` output). */
export interface SlabDebugReport {
  /** What was found. */
  readonly kind: SlabBugError['kind'];
  /** Name of the cache the object belongs to. */
  readonly cache: string;
  /** Address of the object the check failed on. */
  readonly object: number;
  /** The report text. */
  readonly message: string;
}

/**
 * The allocator: every cache, the pfn → slab map, kmalloc caches and the
 * kvfree_rcu batches. Create one per machine with `createSlubAllocator`.
 */
export class SlubAllocator {
  /** @internal */
  readonly env: SlabEnv;
  /** The resolved configuration. */
  readonly config: ResolvedSlubConfig;
  /** `slab_caches` (creation order; destroyed caches removed). */
  readonly caches: KmemCache[];
  /** Indexed by cache id (destroyed → null). */
  readonly cacheById: (KmemCache | null)[];
  /** @internal Per memory section: global slab id + 1 per PFN (0 none, negative: large kmalloc, see below). */
  readonly pfnMap: (Int32Array | undefined)[];
  /** @internal Global slab id → cache id. */
  slabCacheId: Int32Array;
  /** @internal Global slab id → local slab id in its cache. */
  slabLocal: Int32Array;
  /** @internal Free global ids. */
  freeGids: Int32Array;
  /** @internal */
  nrFreeGids: number;
  /** @internal */
  nrGids: number;
  /** Memcg hooks (null = memcg off). */
  memcg: SlabMemcgHooks | null;
  /** Fault injection (`/sys/kernel/debug/failslab`); off until configured. */
  readonly failslab: Failslab;
  /** slub_debug reports found inside allocator paths (flushes, RCU callbacks). */
  readonly debugReports: SlabDebugReport[];
  /** @internal Set up by kmalloc.ts: kmalloc caches by index, and large kmalloc bookkeeping. */
  kmallocCaches: (KmemCache | null)[];
  /** @internal kvfree_rcu batching state (kfree-rcu.ts). */
  krc: KfreeRcuState | null;
  /** Pages held by the large kmalloc path and slab pages, for leak checks. */
  nrSlabPages: number;
  /** Pages held by large kmalloc allocations. */
  nrLargeKmallocPages: number;
  /** @internal The reserved page 0 if the page allocator ever returned it (kept, like the kernel's low reserve). */
  reservedPfn0: boolean;
  /** @internal Copies of the env geometry for the hot paths. */
  readonly sectionShift: number;
  /** @internal */
  readonly sectionMask: number;

  constructor(env: SlabEnv, config: ResolvedSlubConfig) {
    this.env = env;
    this.config = config;
    this.caches = [];
    this.cacheById = [];
    this.pfnMap = [];
    this.slabCacheId = new Int32Array(64);
    this.slabLocal = new Int32Array(64);
    this.freeGids = new Int32Array(64);
    this.nrFreeGids = 0;
    this.nrGids = 0;
    this.memcg = null;
    this.failslab = new Failslab();
    this.debugReports = [];
    this.kmallocCaches = [];
    this.krc = null;
    this.nrSlabPages = 0;
    this.nrLargeKmallocPages = 0;
    this.reservedPfn0 = false;
    this.sectionShift = env.sectionShift;
    this.sectionMask = 2 ** env.sectionShift - 1;
  }

  /** Map value of `pfn` (0 = not a slab or large kmalloc page). */
  pfnLookup(pfn: number): number {
    const sec = this.pfnMap[pfn >>> this.sectionShift];
    if (sec === undefined) return 0;
    return sec[pfn & this.sectionMask] as number;
  }

  /** Set the pfn map entry of `pfn` (slab gid + 1, a large-kmalloc mark, or 0). */
  pfnSet(pfn: number, v: number): void {
    const shift = this.env.sectionShift;
    const s = pfn >>> shift;
    let sec = this.pfnMap[s];
    if (sec === undefined) {
      sec = new Int32Array(1 << shift);
      // fill up to `s` so the array stays densely packed (a far-off index
      // would turn it into a slow dictionary-mode array)
      const map = this.pfnMap;
      while (map.length <= s) map.push(undefined);
      map[s] = sec;
    }
    sec[pfn & ((1 << shift) - 1)] = v;
  }

  /** A global slab id for slab `local` of cache `cacheId`. */
  allocGid(cacheId: number, local: number): number {
    let gid: number;
    if (this.nrFreeGids > 0) gid = this.freeGids[--this.nrFreeGids] as number;
    else {
      gid = this.nrGids++;
      if (gid >= this.slabCacheId.length) {
        this.slabCacheId = grow32(this.slabCacheId);
        this.slabLocal = grow32(this.slabLocal);
        this.freeGids = grow32(this.freeGids);
      }
    }
    this.slabCacheId[gid] = cacheId;
    this.slabLocal[gid] = local;
    return gid;
  }

  /** Release a global slab id. */
  freeGid(gid: number): void {
    this.slabCacheId[gid] = -1;
    this.freeGids[this.nrFreeGids++] = gid;
  }
}

/** Per-CPU kvfree_rcu batch state (kfree-rcu.ts owns the logic). */
export interface KfreeRcuState {
  /** Per CPU: pending pointers of the batch being filled. */
  readonly bulk: Float64Array[];
  /** Pointers in each CPU's filling batch. */
  readonly bulkCount: Int32Array;
  /** Batches submitted to call_rcu and not yet freed. */
  batchesInFlight: number;
  /** Objects waiting in batches (being filled or in flight). */
  objectsPending: number;
  /** Objects passed to per-object call_rcu (KVFREE_RCU_BATCHED off). */
  singlePending: number;
  /** Every call_rcu the kfree_rcu paths issued: sheaves, batches and single objects. */
  callRcuSubmissions: number;
  /** Batches submitted to call_rcu. */
  batchesSubmitted: number;
  /** rcu_free sheaves submitted. */
  sheafSubmissions: number;
  /** rcu_free sheaves that went to a barn after their grace period, and their objects. */
  rcuSheavesToBarn: number;
  /** Objects recycled through the barn after their grace period. */
  rcuObjectsToBarn: number;
  /** Objects of rcu_free sheaves flushed to slabs (barn full, or flushed CPU). */
  rcuObjectsFlushed: number;
}

export function grow32(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

export function growF64(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

export function grow8(a: Uint8Array): Uint8Array {
  const b = new Uint8Array(a.length * 2);
  b.set(a);
  return b;
}

/** Resolve a SLUB configuration. */
export function resolveSlubConfig(cfg: SlubConfig = {}, pageSize = 4096): ResolvedSlubConfig {
  const tiny = cfg.slubTiny ?? false;
  const maxOrder = cfg.slubMaxOrder ?? (tiny ? 0 : 3);
  if (!Number.isInteger(maxOrder) || maxOrder < 0 || maxOrder > 10) {
    throw new SlabError('EINVAL', '', `slab: slubMaxOrder ${maxOrder} outside 0..10`);
  }
  const minOrder = cfg.slubMinOrder ?? 0;
  if (!Number.isInteger(minOrder) || minOrder < 0 || minOrder > maxOrder) {
    throw new SlabError('EINVAL', '', `slab: slubMinOrder ${minOrder} outside 0..slubMaxOrder`);
  }
  const bulk = cfg.kvfreeBulkMaxEntries ?? Math.floor((pageSize - 3 * WORD) / WORD);
  if (!Number.isInteger(bulk) || bulk < 1) throw new SlabError('EINVAL', '', `slab: kvfreeBulkMaxEntries ${bulk} < 1`);
  const minObjects = cfg.slubMinObjects ?? 0;
  if (!Number.isInteger(minObjects) || minObjects < 0 || minObjects > MAX_OBJS_PER_PAGE) {
    throw new SlabError('EINVAL', '', `slab: slubMinObjects ${minObjects} outside 0..${MAX_OBJS_PER_PAGE}`);
  }
  const debug = cfg.slubDebug ?? 0;
  if (debug >>> 0 !== debug || (debug & ~SLAB_DEBUG_FLAGS) !== 0) {
    throw new SlabError('EINVAL', '', `slab: slubDebug ${debug} has bits other than SLAB_DEBUG_FLAGS`);
  }
  return {
    slubMaxOrder: maxOrder,
    slubMinOrder: minOrder,
    slubMinObjects: minObjects,
    slubTiny: tiny,
    kvfreeRcuBatched: !tiny && !(cfg.tinyRcu ?? false),
    slubDebug: debug,
    kasan: cfg.kasan ?? false,
    kvfreeBulkMaxEntries: bulk,
  };
}

/** A slab cache (`struct kmem_cache`). */
export class KmemCache {
  /** The allocator the cache belongs to. */
  readonly allocator: SlubAllocator;
  /** @internal */
  readonly env: SlabEnv;
  /** Index of the cache in its allocator. */
  readonly id: number;
  /** Cache name (as in /proc/slabinfo). */
  readonly name: string;
  /** Bytes the user asked for (`object_size`). */
  readonly objectSize: number;
  /** Bytes per object including metadata and padding (`size`). */
  readonly size: number;
  /** Offset of metadata after the object (`inuse`). */
  readonly inuse: number;
  /** Object alignment in bytes (`s->align`). */
  readonly align: number;
  /** Left red zone bytes before each object (`s->red_left_pad`). */
  readonly redLeftPad: number;
  /** SLAB_* flags of the cache. */
  readonly flags: number;
  /** Constructor run on each object when a slab is set up, or null. */
  readonly ctor: ((object: number) => void) | null;
  /** Offset of the rcu_head inside an object, for kvfree_rcu. */
  readonly rcuHeadOffset: number;
  /** Preferred slab order (`oo`) and its objects. */
  readonly order: number;
  /** Objects per slab at the preferred order (`oo_objects(s->oo)`). */
  readonly objsPerSlab: number;
  /** Fallback order (`min`) and its objects. */
  readonly minOrder: number;
  /** Objects per slab at the minimum order (`oo_objects(s->min)`). */
  readonly minObjects: number;
  /** Empty slabs kept on each node partial list (`s->min_partial`). */
  readonly minPartial: number;
  /** `cpu_partial` (objects) and `cpu_partial_slabs`. */
  readonly cpuPartial: number;
  /** Slabs a CPU partial list holds before draining (`s->cpu_partial_slabs`). */
  readonly cpuPartialSlabs: number;
  /** Objects per percpu sheaf; 0 without sheaves. */
  readonly sheafCapacity: number;
  /** kmem_cache_debug(): debug flags set. */
  readonly debug: boolean;
  /** PAGE_SIZE and PAGE_SHIFT (copied for the hot paths). */
  readonly pageSize: number;
  /** PAGE_SHIFT (copied for the hot paths). */
  readonly pageShift: number;
  /** @internal 1 / size, for the object index of an address. */
  readonly invSize: number;
  /** @internal cpu_to_node() by CPU (copied for the hot paths). */
  readonly cpuNode: Int32Array;
  /** @internal Single-object paths on the node partial lists (debug caches, SLUB_TINY). */
  readonly singlePaths: boolean;

  // --- slabs (local ids) ---
  /** @internal */
  slabPfn: Int32Array;
  /** @internal */
  slabGid: Int32Array;
  /** @internal */
  slabObjects: Int32Array;
  /** @internal */
  slabInuse: Int32Array;
  /** @internal */
  slabFree: Int32Array;
  /** @internal */
  slabFreeCount: Int32Array;
  /** @internal */
  slabOrder: Uint8Array;
  /** @internal */
  slabNid: Int32Array;
  /** @internal */
  slabFrozen: Uint8Array;
  /** @internal */
  slabList: Uint8Array;
  /** @internal */
  slabNext: Int32Array;
  /** @internal */
  slabPrev: Int32Array;
  /** @internal */
  freeIds: Int32Array;
  /** @internal */
  nrFreeIds: number;
  /** @internal */
  nrIds: number;

  // --- objects (local * objsPerSlab + index) ---
  /** @internal */
  objNext: Int32Array;
  /** @internal */
  objState: Uint8Array;
  /** @internal Debug bits: 1 = red zone overwritten, 2 = free object written (poison). */
  objDebug: Uint8Array;
  /**
   * SLAB_STORE_USER tracks (`struct track`), per object: CPU, pid and
   * virtual time of the last allocation and free as seen by slub_debug
   * (empty arrays without the flag).
   * @internal
   */
  trackAllocCpu: Int32Array;
  /** @internal */
  trackAllocPid: Int32Array;
  /** @internal */
  trackAllocNs: Float64Array;
  /** @internal */
  trackFreeCpu: Int32Array;
  /** @internal */
  trackFreePid: Int32Array;
  /** @internal */
  trackFreeNs: Float64Array;

  // --- per node ---
  /** @internal */
  readonly partialHead: Int32Array;
  /** @internal */
  readonly partialTail: Int32Array;
  /** @internal */
  readonly nrPartial: Int32Array;
  /** @internal */
  readonly fullHead: Int32Array;
  /** @internal */
  readonly nrSlabsNode: Float64Array;
  /** @internal */
  readonly totalObjectsNode: Float64Array;
  /** @internal `kmem_cache_node.list_lock` per node (one lockdep class for all, as in the kernel). */
  readonly listLock: SlabSpinLock[];
  /** @internal */
  readonly barns: NodeBarn[];

  // --- per CPU ---
  /** @internal */
  readonly cpuSlab: Int32Array;
  /** @internal */
  readonly cpuFreelist: Int32Array;
  /** @internal */
  readonly cpuPartialHead: Int32Array;
  /** @internal */
  readonly cpuPartialCount: Int32Array;
  /** @internal Percpu sheaves (null without `sheafCapacity`; set up by `kmemCacheCreate`). */
  pcs: PercpuSheaves | null;

  /** @internal Per CPU statistics: `stats[cpu * NR_SLUB_STAT_ITEMS + item]`. */
  readonly stats: Float64Array;
  /** Objects held by users (allocated and not freed). */
  nrUserObjects: number;
  /** Objects in kfree_rcu flight for this cache. */
  nrRcuObjects: number;
  /** Slabs freed with SLAB_TYPESAFE_BY_RCU waiting for their grace period. */
  nrRcuSlabs: number;
  /** Live sheaves of this cache (percpu, barn, prefilled, rcu), for leak checks. */
  nrSheaves: number;
  /** @internal Prefilled sheaves handed out and not returned. */
  readonly prefilled: Set<SlabSheaf>;
  /** Set by kmemCacheDestroy; every later call on the cache is refused. */
  destroyed: boolean;

  constructor(allocator: SlubAllocator, id: number, name: string, objectSize: number, args: KmemCacheArgs) {
    const env = allocator.env;
    const cfg = allocator.config;
    this.allocator = allocator;
    this.env = env;
    this.id = id;
    this.name = name;
    this.objectSize = objectSize;
    this.pageSize = env.pageSize;
    this.pageShift = env.pageShift;
    this.cpuNode = new Int32Array(env.nrCpus);
    for (let c = 0; c < env.nrCpus; c++) this.cpuNode[c] = env.cpuToNode(c);
    let flags = (args.flags ?? 0) | cfg.slubDebug;
    if (cfg.kasan) flags &= ~SLAB_POISON;
    this.flags = flags;
    this.ctor = args.ctor ?? null;
    this.rcuHeadOffset = args.rcuHeadOffset ?? 0;
    const align = calculateAlignment(flags, args.align ?? WORD, objectSize);
    this.align = align;
    const sizes = calculateSizes(flags, objectSize, align, this.ctor !== null);
    const size = sizes.size;
    this.inuse = sizes.inuse;
    this.size = size;
    this.invSize = 1 / size;
    this.redLeftPad = sizes.redLeftPad;
    this.order = calculateOrder(size, env.nrCpus, env.pageSize, env.pageShift, cfg);
    this.objsPerSlab = orderObjects(this.order, size, env.pageSize);
    this.minOrder = getOrder(size, env.pageShift);
    this.minObjects = orderObjects(this.minOrder, size, env.pageSize);
    // set_min_partial(s, ilog2(s->size) / 2)
    const minPartial = cfg.slubTiny ? 0 : Math.min(10, Math.max(5, Math.floor(Math.log2(size) / 2)));
    this.minPartial = minPartial;
    this.debug = (flags & SLAB_DEBUG_FLAGS) !== 0;
    this.singlePaths = this.debug || cfg.slubTiny;
    // set_cpu_partial()
    let nrObjects: number;
    if (this.singlePaths) nrObjects = 0;
    else if (size >= env.pageSize) nrObjects = 6;
    else if (size >= 1024) nrObjects = 24;
    else if (size >= 256) nrObjects = 52;
    else nrObjects = 120;
    this.cpuPartial = nrObjects;
    this.cpuPartialSlabs = nrObjects === 0 ? 0 : Math.ceil((nrObjects * 2) / this.objsPerSlab);
    this.sheafCapacity = args.sheafCapacity ?? 0;

    const n0 = 16;
    this.slabPfn = new Int32Array(n0);
    this.slabGid = new Int32Array(n0);
    this.slabObjects = new Int32Array(n0);
    this.slabInuse = new Int32Array(n0);
    this.slabFree = new Int32Array(n0);
    this.slabFreeCount = new Int32Array(n0);
    this.slabOrder = new Uint8Array(n0);
    this.slabNid = new Int32Array(n0);
    this.slabFrozen = new Uint8Array(n0);
    this.slabList = new Uint8Array(n0);
    this.slabNext = new Int32Array(n0);
    this.slabPrev = new Int32Array(n0);
    this.freeIds = new Int32Array(n0);
    this.nrFreeIds = 0;
    this.nrIds = 0;
    this.objNext = new Int32Array(n0 * this.objsPerSlab);
    this.objState = new Uint8Array(n0 * this.objsPerSlab);
    this.objDebug = new Uint8Array(n0 * this.objsPerSlab);
    const nt = flags & SLAB_STORE_USER ? n0 * this.objsPerSlab : 0;
    this.trackAllocCpu = new Int32Array(nt);
    this.trackAllocPid = new Int32Array(nt);
    this.trackAllocNs = new Float64Array(nt);
    this.trackFreeCpu = new Int32Array(nt);
    this.trackFreePid = new Int32Array(nt);
    this.trackFreeNs = new Float64Array(nt);

    const nn = env.nrNodes;
    this.partialHead = new Int32Array(nn).fill(-1);
    this.partialTail = new Int32Array(nn).fill(-1);
    this.nrPartial = new Int32Array(nn);
    this.fullHead = new Int32Array(nn).fill(-1);
    this.nrSlabsNode = new Float64Array(nn);
    this.totalObjectsNode = new Float64Array(nn);
    const nc = env.nrCpus;
    this.cpuSlab = new Int32Array(nc).fill(-1);
    this.cpuFreelist = new Int32Array(nc).fill(-1);
    this.cpuPartialHead = new Int32Array(nc).fill(-1);
    this.cpuPartialCount = new Int32Array(nc);
    this.stats = new Float64Array(nc * NR_SLUB_STAT_ITEMS);
    this.nrUserObjects = 0;
    this.nrRcuObjects = 0;
    this.nrRcuSlabs = 0;
    this.nrSheaves = 0;
    this.prefilled = new Set();
    this.destroyed = false;
    this.listLock = [];
    for (let nid = 0; nid < nn; nid++) this.listLock.push(env.newSpinLock('kmem_cache_node->list_lock'));
    // The barns and percpu sheaves are set up by kmemCacheCreate() once the cache exists (sheaves are kmalloc'ed).
    this.barns = [];
    this.pcs = null;
  }

  /** True when objects of this cache are cached in percpu sheaves. */
  get hasSheaves(): boolean {
    return this.pcs !== null;
  }

  /** Object address of (local slab, index). */
  objAddr(local: number, idx: number): number {
    return (this.slabPfn[local] as number) * this.env.pageSize + this.redLeftPad + idx * this.size;
  }

  /** Sum of one statistic over all CPUs. */
  statTotal(item: number): number {
    let t = 0;
    const nc = this.env.nrCpus;
    for (let c = 0; c < nc; c++) t += this.stats[c * NR_SLUB_STAT_ITEMS + item] as number;
    return t;
  }

  /** Live objects in slabs (inuse summed over all slabs, cpu freelists excluded). */
  get nrObjectsInUse(): number {
    let t = 0;
    for (let l = 0; l < this.nrIds; l++)
      if ((this.slabPfn[l] as number) >= 0 && (this.slabObjects[l] as number) > 0) t += this.slabInuse[l] as number;
    for (let c = 0; c < this.env.nrCpus; c++) t -= this.cpuFreelistLength(c);
    return t;
  }

  /** Objects on `cpu`'s lockless freelist. */
  cpuFreelistLength(cpu: number): number {
    const slab = this.cpuSlab[cpu] as number;
    if (slab < 0) return 0;
    let n = 0;
    const base = slab * this.objsPerSlab;
    for (let i = this.cpuFreelist[cpu] as number; i >= 0; i = this.objNext[base + i] as number) n++;
    return n;
  }
}

/**
 * `stat()` on the current CPU.
 * @kernel stat (mm/slub.c)
 */
export function stat(s: KmemCache, item: number): void {
  const i = s.env.currentCpu() * NR_SLUB_STAT_ITEMS + item;
  s.stats[i] = (s.stats[i] as number) + 1;
}

/**
 * `stat_add()` on the current CPU.
 * @kernel stat_add (mm/slub.c)
 */
export function statAdd(s: KmemCache, item: number, v: number): void {
  const i = s.env.currentCpu() * NR_SLUB_STAT_ITEMS + item;
  s.stats[i] = (s.stats[i] as number) + v;
}

/** The allocator's kfree_rcu state, created on first use. */
export function kfreeRcuState(a: SlubAllocator): KfreeRcuState {
  let k = a.krc;
  if (k === null) {
    const bulk: Float64Array[] = [];
    for (let c = 0; c < a.env.nrCpus; c++) bulk.push(new Float64Array(a.config.kvfreeBulkMaxEntries));
    k = {
      bulk,
      bulkCount: new Int32Array(a.env.nrCpus),
      batchesInFlight: 0,
      objectsPending: 0,
      singlePending: 0,
      callRcuSubmissions: 0,
      batchesSubmitted: 0,
      sheafSubmissions: 0,
      rcuSheavesToBarn: 0,
      rcuObjectsToBarn: 0,
      rcuObjectsFlushed: 0,
    };
    a.krc = k;
  }
  return k;
}
