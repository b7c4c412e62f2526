/**
 * DOC: @mm/slab-sheaves: the SLUB slab allocator with percpu sheaves, the
 * barn, kfree_rcu batching, prefilled sheaves, kmalloc, slub_debug and stats.
 *
 * Internals (the barn's operations and limits, object states, the per-CPU
 * sheaf arrays, `flush_all`, slab layout and order calculation, the
 * allocator's size constants) are exported from `@mm/slab-sheaves/internal`
 * for tests and the kernel model; they carry no semver promise.
 * @packageDocumentation
 */
export {
  KmemCache,
  type KmemCacheArgs,
  type ResolvedSlubConfig,
  type SlabDebugReport,
  type SlabMemcgHooks,
  SlubAllocator,
  type SlubConfig,
} from './cache.js';
export { type SlabTrack, slabAccess, slabObjectTracks } from './debug.js';
export type { SlabEnv, SlabLocalTryLock, SlabSpinLock } from './env.js';
export { CacheBusyError, SlabBugError, type SlabBugKind, SlabError } from './errors.js';
export { Failslab, type FailslabAttrs, type FailslabRandom } from './failslab.js';
export {
  flushAllRcuSheaves,
  type KfreeRcuStats,
  kfreeRcu,
  kfreeRcuMonitor,
  kfreeRcuStats,
  kvfreeRcuBarrier,
} from './kfree-rcu.js';
export {
  kfree,
  kmalloc,
  kmallocMaxCacheSize,
  kmallocNode,
  kmallocSizes,
  kmallocSlab,
  ksize,
  kvfree,
  virtToCache,
} from './kmalloc.js';
export { createSlabEnv, type SlabPageSource } from './machine-env.js';
export {
  kmemCacheAllocFromSheaf,
  kmemCachePrefillSheaf,
  kmemCacheRefillSheaf,
  kmemCacheReturnSheaf,
  kmemCacheSheafSize,
  type SheafRef,
  SlabSheaf,
} from './sheaf.js';
export {
  NUMA_NO_NODE,
  SLAB_ACCOUNT,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_DEBUG_FLAGS,
  SLAB_HWCACHE_ALIGN,
  SLAB_KMALLOC,
  SLAB_POISON,
  SLAB_RECLAIM_ACCOUNT,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
  STAT,
  STAT_NAMES,
  ZERO_SIZE_PTR,
} from './slab-flags.js';
export {
  createSlubAllocator,
  kmemCacheAlloc,
  kmemCacheAllocBulk,
  kmemCacheAllocNode,
  kmemCacheCreate,
  kmemCacheDestroy,
  kmemCacheFree,
  kmemCacheFreeBulk,
  kmemCacheShrink,
  slubCpuDead,
} from './slub.js';
export {
  formatSlabinfo,
  readSlabSysfs,
  type SlabCacheJson,
  slabStateJson,
  slabStatsJson,
  slabSysfsFiles,
  writeSlabSysfs,
} from './sysfs.js';
export { kmemCacheValidate, slabValidate } from './validate.js';
