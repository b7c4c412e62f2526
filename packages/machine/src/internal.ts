/**
 * DOC: @mm/machine/internal: the machine's mechanism internals.
 *
 * What the main entry (`@mm/machine`) leaves out on purpose: the steps of the
 * buddy allocator (free-list primitives, migratetype fallback, highatomic
 * reserves, rmqueue and the slow path), pcp list tuning, watermark set-up,
 * the `ALLOC_*` flags of mm/internal.h, the TLB arrays and the IPI side of
 * TLB flushing, lockdep's usage bits. Tests, benchmarks and the kernel model
 * use them to drive or inspect one mechanism directly; users and subsystem
 * packages should not need them. Nothing here is covered by semver: names
 * and signatures follow the model's internals and may change in any release.
 * @packageDocumentation
 */

// What each subsystem declares it needs of the machine (the `Machine` class satisfies all of them).
export type { CostAccountHost } from './cost-account.js';
export type { LockdepHost, LockdepTask, MightSleepHost } from './locking/lockdep.js';
export {
  LOCK_ENABLED_HARDIRQ,
  LOCK_ENABLED_SOFTIRQ,
  LOCK_USED_IN_HARDIRQ,
  LOCK_USED_IN_SOFTIRQ,
} from './locking/lockdep.js';
export { AC_FRAME, popAllocContext, pushAllocContext } from './mm/alloc-context.js';
export { countPgalloc, zoneStatistics } from './mm/alloc-stat.js';
export {
  __addToFreeList,
  __delPageFromFreeList,
  __freeOnePage,
  __rmqueueSmallest,
  accountFreepages,
  delPageFromFreeList,
  expand,
  FPI_TO_TAIL,
  freeAreaEmpty,
  freeOnePage,
  getPageFromFreeArea,
  listId,
  materializeSection,
  moveToFreeList,
  pageIsBuddy,
} from './mm/buddy.js';
export {
  __moveFreepagesBlock,
  __rmqueue,
  __rmqueueClaim,
  __rmqueueSteal,
  canClaimBlock,
  changePageblockRange,
  findFallbackMigratetype,
  moveFreepagesBlock,
  prepMoveFreepagesBlock,
  RMQUEUE_CLAIM,
  RMQUEUE_NORMAL,
  RMQUEUE_STEAL,
  tryToClaimBlock,
} from './mm/fallback.js';
export {
  ALLOC_CMA,
  ALLOC_CPUSET,
  ALLOC_HIGHATOMIC,
  ALLOC_KSWAPD,
  ALLOC_MIN_RESERVE,
  ALLOC_NO_WATERMARKS,
  ALLOC_NOFRAGMENT,
  ALLOC_NON_BLOCK,
  ALLOC_OOM,
  ALLOC_RESERVES,
  ALLOC_TRYLOCK,
  ALLOC_WMARK_HIGH,
  ALLOC_WMARK_LOW,
  ALLOC_WMARK_MASK,
  ALLOC_WMARK_MIN,
  gfpToAllocFlags,
} from './mm/gfp.js';
export { reserveHighatomicPageblock, unreserveHighatomicPageblock } from './mm/highatomic.js';
export type { MemHost } from './mm/page-alloc.js';
export {
  __allocPages,
  __freeFrozenPages,
  checkFreePages,
  freePagesPrepare,
  freeToPcp,
  pageAllocCpuDead,
} from './mm/page-alloc.js';
export {
  PCP_LOCK_NAME,
  pcpIsLocked,
  pcpSpinLockNopin,
  pcpSpinTrylock,
  pcpSpinUnlock,
  pcpSpinUnlockNopin,
  ZONE_LOCK_NAME,
  zoneLockIrqsave,
  zoneUnlockIrqrestore,
} from './mm/page-alloc-locks.js';
export {
  decayPcpHigh,
  drainPagesZone,
  freeFrozenPageCommit,
  freePcppagesBulk,
  NR_LOWORDER_PCP_LISTS,
  NR_PCP_LISTS,
  NR_PCP_THP,
  nrPcpAlloc,
  nrPcpFree,
  nrPcpHigh,
  orderToPindex,
  PCP_BATCH_SCALE_MAX,
  PCPF_FREE_HIGH_BATCH,
  PCPF_PREV_FREE_HIGH_ORDER,
  PerCpuPages,
  pcpAllowedOrder,
  pindexToOrder,
  rmqueueBulk,
  rmqueuePcplist,
  zoneBatchsize,
  zoneHighsize,
  zoneSetPagesetHighAndBatch,
} from './mm/pcp.js';
export { getPageFromFreelist, prepCompoundPage, prepNewPage, rmqueue, rmqueueBuddy } from './mm/rmqueue.js';
export { __allocPagesSlowpath, MAX_RECLAIM_RETRIES } from './mm/slowpath.js';
export {
  boostWatermark,
  calculateMinFreeKbytes,
  setupPerZoneLowmemReserve,
  setupPerZoneWmarks,
  zoneWatermarkFast,
  zoneWatermarkOkRaw,
} from './mm/watermark.js';
export {
  allocGlobalAsid,
  flushContext,
  localTlbGen,
  markUpToDate,
  newContext,
  setLocalTlbGen,
  switchMmDynamic,
  TLB_NR_DYN_ASIDS,
  tagOn,
} from './mmu/asid.js';
export type { MmuHost } from './mmu/mmu.js';
export { TlbArray } from './mmu/tlb.js';
export {
  broadcastTlbFlush,
  FlushTlbInfo,
  flushTlbFunc,
  nativeFlushTlbMulti,
  TLB_GENERATION_INVALID,
} from './mmu/tlbflush.js';
export { fnv1a32 } from './prng.js';
export type { RcuHost } from './rcu/tree.js';
export type { CpusHost } from './sched/cpu.js';
export type { HotplugHost } from './sched/hotplug.js';
export type { PercpuHost } from './sched/percpu.js';
export type { SchedHost, SchedRcuHooks } from './sched/sched.js';
export type { SmpHost } from './sched/smp.js';
export type { TimersHost } from './sched/timer.js';
export type { WorkqueuesHost } from './sched/workqueue.js';
