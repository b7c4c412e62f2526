/**
 * DOC: cache flags, limits and the statistics items of SLUB.
 *
 * Flag values are the kernel's (include/linux/slab.h); stat items follow
 * `enum stat_item` of mm/slub.c in the v6.18 era, with the sysfs file names
 * the kernel gives them. The "SLUB percpu sheaves" RFC named the flush counters
 * `sheaf_flush_main` and `sheaf_flush_other`; we keep both (the kernel later
 * merged them into `sheaf_flush`, which sysfs also shows as their sum).
 */

/** Check every object on alloc and free (slub_debug=F). */
export const SLAB_CONSISTENCY_CHECKS = 0x100;
/** Red zones around objects (slub_debug=Z). */
export const SLAB_RED_ZONE = 0x400;
/** Poison free objects (slub_debug=P). */
export const SLAB_POISON = 0x800;
/** A kmalloc cache. */
export const SLAB_KMALLOC = 0x1000;
/** Align objects on cache lines. */
export const SLAB_HWCACHE_ALIGN = 0x2000;
/** Store the last owner (slub_debug=U). */
export const SLAB_STORE_USER = 0x10000;
/** Objects are reclaimable (shrinkers). */
export const SLAB_RECLAIM_ACCOUNT = 0x20000;
/** Slab pages are freed only after an RCU grace period. */
export const SLAB_TYPESAFE_BY_RCU = 0x80000;
/** Charge objects to the allocating memcg. */
export const SLAB_ACCOUNT = 0x4000000;
/** The slub_debug flags that move a cache off the fast paths. */
export const SLAB_DEBUG_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_CONSISTENCY_CHECKS;
/** Every cache flag the model knows (`kmem_cache_create` refuses others). */
export const SLAB_KNOWN_FLAGS =
  SLAB_DEBUG_FLAGS | SLAB_KMALLOC | SLAB_HWCACHE_ALIGN | SLAB_RECLAIM_ACCOUNT | SLAB_TYPESAFE_BY_RCU | SLAB_ACCOUNT;

/** No node preference. */
export const NUMA_NO_NODE = -1;
/** kmalloc(0) result: not NULL, but must not be dereferenced. */
export const ZERO_SIZE_PTR = 16;
/** The most objects one slab can hold (slab->objects is 15 bits). */
export const MAX_OBJS_PER_PAGE = 32767;
/** Limit of full sheaves in a barn. */
export const MAX_FULL_SHEAVES = 10;
/** Limit of empty sheaves in a barn. */
export const MAX_EMPTY_SHEAVES = 10;
/** Objects moved per batch when the main sheaf is flushed. */
export const PCS_BATCH_MAX = 32;
/** kmalloc sizes above this go straight to the page allocator (2 pages). */
export const KMALLOC_SHIFT_HIGH_PAGES = 1;

/** Statistics items (kernel `enum stat_item`). */
export const STAT = {
  /** Objects allocated from a percpu sheaf. */
  ALLOC_PCS: 0,
  /** Allocations served from the CPU slab's lockless freelist. */
  ALLOC_FASTPATH: 1,
  /** Allocations that had to find another slab for the CPU. */
  ALLOC_SLOWPATH: 2,
  /** Objects freed into a percpu sheaf. */
  FREE_PCS: 3,
  /** kfree_rcu objects put in an rcu_free sheaf. */
  FREE_RCU_SHEAF: 4,
  /** kfree_rcu objects that could not go to an rcu_free sheaf. */
  FREE_RCU_SHEAF_FAIL: 5,
  /** Frees onto the CPU slab's freelist. */
  FREE_FASTPATH: 6,
  /** Frees that went to a slab other than the CPU slab. */
  FREE_SLOWPATH: 7,
  /** Frees to a slab frozen as some CPU's slab. */
  FREE_FROZEN: 8,
  /** Frees that put a full slab on the node partial list. */
  FREE_ADD_PARTIAL: 9,
  /** Frees that emptied a slab and took it off the partial list. */
  FREE_REMOVE_PARTIAL: 10,
  /** CPU slabs taken from a node partial list. */
  ALLOC_FROM_PARTIAL: 11,
  /** New slabs from the page allocator. */
  ALLOC_SLAB: 12,
  /** CPU freelists refilled from their slab's remote frees. */
  ALLOC_REFILL: 13,
  /** CPU slabs dropped because an allocation asked for another node. */
  ALLOC_NODE_MISMATCH: 14,
  /** Empty slabs given back to the page allocator. */
  FREE_SLAB: 15,
  /** CPU slabs flushed back to their node. */
  CPUSLAB_FLUSH: 16,
  /** Deactivated CPU slabs that were full. */
  DEACTIVATE_FULL: 17,
  /** Deactivated CPU slabs that were empty. */
  DEACTIVATE_EMPTY: 18,
  /** Deactivated CPU slabs put at the head of the partial list. */
  DEACTIVATE_TO_HEAD: 19,
  /** Deactivated CPU slabs put at the tail of the partial list. */
  DEACTIVATE_TO_TAIL: 20,
  /** Deactivated CPU slabs that had collected remote frees. */
  DEACTIVATE_REMOTE_FREES: 21,
  /** CPU slabs dropped without deactivation (their freelist was used up). */
  DEACTIVATE_BYPASS: 22,
  /** New slabs allocated at the minimum order after the preferred order failed. */
  ORDER_FALLBACK: 23,
  /** CPU slabs taken from the CPU partial list. */
  CPU_PARTIAL_ALLOC: 24,
  /** Slabs put on a CPU partial list by a free. */
  CPU_PARTIAL_FREE: 25,
  /** Slabs moved from a node partial list to a CPU partial list. */
  CPU_PARTIAL_NODE: 26,
  /** CPU partial lists drained to their nodes. */
  CPU_PARTIAL_DRAIN: 27,
  /** Objects flushed from a main sheaf to slabs. */
  SHEAF_FLUSH_MAIN: 28,
  /** Objects flushed from other sheaves (spare, barn, prefilled) to slabs. */
  SHEAF_FLUSH_OTHER: 29,
  /** Objects moved from slabs into sheaves. */
  SHEAF_REFILL: 30,
  /** Empty sheaves allocated. */
  SHEAF_ALLOC: 31,
  /** Empty sheaves freed. */
  SHEAF_FREE: 32,
  /** Full sheaves taken from a barn. */
  BARN_GET: 33,
  /** Attempts to take a full sheaf from a barn that had none. */
  BARN_GET_FAIL: 34,
  /** Full sheaves put in a barn. */
  BARN_PUT: 35,
  /** Full sheaves a barn could not take (over its limit or no empty sheaf to trade). */
  BARN_PUT_FAIL: 36,
  /** Prefilled sheaves served from the CPU's spare. */
  SHEAF_PREFILL_FAST: 37,
  /** Prefilled sheaves served from a barn or a new sheaf. */
  SHEAF_PREFILL_SLOW: 38,
  /** Prefilled sheaves larger than the cache's capacity. */
  SHEAF_PREFILL_OVERSIZE: 39,
  /** Returned prefilled sheaves kept as the CPU's spare. */
  SHEAF_RETURN_FAST: 40,
  /** Returned prefilled sheaves refilled for the barn or flushed. */
  SHEAF_RETURN_SLOW: 41,
  /** Model-only: sheaf operations that skipped the barn lock after a racy check (data_race() reads). */
  BARN_LOCK_AVOIDED: 42,
  /** Model-only: kfree_rcu objects that went to the kvfree_rcu batches. */
  KVFREE_RCU_FALLBACK: 43,
  /** Model-only: sheaf trylocks that failed (IRQ on a CPU holding its sheaves). */
  PCS_TRYLOCK_FAIL: 44,
  /** Model-only: rcu_free sheaves submitted to call_rcu. */
  RCU_SHEAF_SUBMIT: 45,
} as const;

/** Number of stat items. */
export const NR_SLUB_STAT_ITEMS = 46;

/** Sysfs file names of the stat items, in item order. */
export const STAT_NAMES: readonly string[] = [
  'alloc_cpu_sheaf',
  'alloc_fastpath',
  'alloc_slowpath',
  'free_cpu_sheaf',
  'free_rcu_sheaf',
  'free_rcu_sheaf_fail',
  'free_fastpath',
  'free_slowpath',
  'free_frozen',
  'free_add_partial',
  'free_remove_partial',
  'alloc_from_partial',
  'alloc_slab',
  'alloc_refill',
  'alloc_node_mismatch',
  'free_slab',
  'cpuslab_flush',
  'deactivate_full',
  'deactivate_empty',
  'deactivate_to_head',
  'deactivate_to_tail',
  'deactivate_remote_frees',
  'deactivate_bypass',
  'order_fallback',
  'cpu_partial_alloc',
  'cpu_partial_free',
  'cpu_partial_node',
  'cpu_partial_drain',
  'sheaf_flush_main',
  'sheaf_flush_other',
  'sheaf_refill',
  'sheaf_alloc',
  'sheaf_free',
  'barn_get',
  'barn_get_fail',
  'barn_put',
  'barn_put_fail',
  'sheaf_prefill_fast',
  'sheaf_prefill_slow',
  'sheaf_prefill_oversize',
  'sheaf_return_fast',
  'sheaf_return_slow',
  'barn_lock_avoided',
  'kvfree_rcu_fallback',
  'pcs_trylock_fail',
  'rcu_sheaf_submit',
];

/** Internal: a cache checked by the KASAN-like checker. */
export const SLAB_KASAN_FLAG = 0x8000000;
