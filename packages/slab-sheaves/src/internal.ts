/**
 * DOC: @mm/slab-sheaves/internal: the allocator's mechanism internals.
 *
 * The barn's operations (`barn_get_empty_sheaf`, `barn_replace_full_sheaf`,
 * ...), their result codes and the barn limits, slab layout and order
 * calculation (`calculate_sizes`, `calculate_order`), the allocator's size
 * constants, the per-object states the validator checks,
 * sheaf locations, the per-CPU sheaves structure and `flush_all`: what
 * tests, benchmarks and the kernel model use to drive or inspect one
 * mechanism. Users of the slab API should not need them; names and
 * signatures may change in any release.
 * @packageDocumentation
 */
export {
  BARN_E2BIG,
  BARN_EBUSY,
  BARN_ENOMEM,
  barnGetEmptySheaf,
  barnGetFullOrEmptySheaf,
  barnPutEmptySheaf,
  barnPutFullSheaf,
  barnReplaceEmptySheaf,
  barnReplaceFullSheaf,
  barnShrink,
  type NodeBarn,
} from './barn.js';
export { type KfreeRcuState, OBJ_ALLOC, OBJ_FREE, OBJ_RCU, OBJ_SHEAF, resolveSlubConfig } from './cache.js';
export { createKmallocCaches } from './kmalloc.js';
export {
  calcSlabOrder,
  calculateAlignment,
  calculateOrder,
  calculateSizes,
  getOrder,
  orderObjects,
  type SlabObjectLayout,
} from './layout.js';
export { objAddrOf } from './object.js';
export {
  type PercpuSheaves,
  SHEAF_DETACHED,
  SHEAF_FREED,
  SHEAF_IN_BARN,
  SHEAF_MAIN,
  SHEAF_PREFILLED,
  SHEAF_RCU_FLIGHT,
  SHEAF_RCU_FREE,
  SHEAF_SPARE,
} from './sheaf.js';
export {
  KMALLOC_SHIFT_HIGH_PAGES,
  MAX_EMPTY_SHEAVES,
  MAX_FULL_SHEAVES,
  MAX_OBJS_PER_PAGE,
  NR_SLUB_STAT_ITEMS,
  PCS_BATCH_MAX,
} from './slab-flags.js';
export { flushAll } from './slub.js';
