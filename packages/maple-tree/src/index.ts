/**
 * DOC: @mm/maple-tree: the Linux kernel's maple tree (lib/maple_tree.c) as a
 * standalone range map: a B-tree of ranges with gap tracking, RCU mode and
 * the kernel's normal and advanced APIs, plus an idiomatic `MapleTree<T>`.
 * Public surface: re-export by name from the files that implement it.
 * @packageDocumentation
 */

export {
  type MtCyclicCell,
  masAllocCyclic,
  mtreeAllocCyclic,
  mtreeAllocRange,
  mtreeAllocRrange,
} from './alloc-range.js';
export {
  __mtDup,
  mtreeDup,
} from './dup.js';
export {
  masEmptyArea,
  masEmptyAreaRev,
} from './empty-area.js';
export { EBUSY, EEXIST, EINVAL, ENOMEM, EPERM, EUCLEAN, MapleTreeError, mapleErrnoName } from './errors.js';
export {
  type AllocCyclicOptions,
  type AllocCyclicResult,
  type FindGapOptions,
  MapleTree,
  type MapleTreeOptions,
} from './map.js';
export {
  __mtDestroy,
  type MtFindCursor,
  mtFind,
  mtFindAfter,
  mtForEach,
  mtInitFlags,
  mtNext,
  mtPrev,
  mtreeDestroy,
  mtreeEmpty,
  mtreeErase,
  mtreeInit,
  mtreeInsert,
  mtreeInsertRange,
  mtreeLoad,
  mtreeStore,
  mtreeStoreRange,
} from './maple-tree.js';
export {
  GFP_KERNEL,
  GFP_NOWAIT,
  MAPLE_ARANGE64_SLOTS,
  MAPLE_HEIGHT_MAX,
  MAPLE_NODE_STRIDE,
  MAPLE_RANGE64_SLOTS,
  MAPLE_STORE_MAX_NODES,
  type MapleNodeAllocator,
  type MapleNodeSheaf,
  MapleNodeStore,
  MaplePoolAllocator,
  maple_arange_64,
  maple_free,
  maple_leaf_64,
  maple_range_64,
  mtMinSlots,
  mtPivots,
  mtSlots,
} from './node-store.js';
export { type MapleRcu, MapleRcuQueue } from './rcu.js';
export {
  MaState,
  ma_active,
  ma_error,
  ma_none,
  ma_overflow,
  ma_pause,
  ma_root,
  ma_start,
  ma_underflow,
  masSetRange,
} from './state.js';
export {
  masErase,
  masStore,
  masStoreGfp,
} from './store.js';
export {
  MAPLE_MAX,
  type MapleLockChecker,
  MapleTreeStats,
  MM_MT_FLAGS,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_ALLOC_WRAPPED,
  MT_FLAGS_HEIGHT_MASK,
  MT_FLAGS_HEIGHT_OFFSET,
  MT_FLAGS_LOCK_BH,
  MT_FLAGS_LOCK_EXTERN,
  MT_FLAGS_LOCK_IRQ,
  MT_FLAGS_LOCK_MASK,
  MT_FLAGS_USE_RCU,
  Mtree,
  type MtreeOptions,
  mtAttr,
  mtClearInRcu,
  mtDefaultAllocator,
  mtExternalLock,
  mtHeight,
  mtInRcu,
  mtIsAlloc,
  mtreeLock,
  mtreeUnlock,
  mtSetExternalLock,
  mtSetInRcu,
  mtWriteLocked,
  XA_ZERO_ENTRY,
  type XaZeroEntry,
  xaIsZero,
} from './tree.js';
export {
  type MapleNodeJSON,
  type MapleTreeJSON,
  type MtDumpFormat,
  type MtStats,
  type MtValidateReport,
  mtDump,
  mtStats,
  mtToJSON,
  mtValidate,
} from './validate.js';
export {
  masFind,
  masFindRange,
  masFindRangeRev,
  masFindRev,
  masNext,
  masNextRange,
  masPrev,
  masPrevRange,
  masWalk,
} from './walk.js';
export {
  MA_STATE_BULK,
  MA_STATE_PREALLOC,
  MA_STATE_REBALANCE,
  STORE_TYPE_NAMES,
  wr_append,
  wr_exact_fit,
  wr_invalid,
  wr_new_root,
  wr_node_store,
  wr_rebalance,
  wr_slot_store,
  wr_spanning_store,
  wr_split_store,
  wr_store_root,
} from './write.js';
