/**
 * DOC: the tree root (`struct maple_tree`), its flags, statistics, locking and
 * the shared constants of the index and entry model.
 *
 * Indices are non-negative safe integers and {@link MAPLE_MAX}
 * (`Number.MAX_SAFE_INTEGER`) plays `ULONG_MAX`. Entries are any JS value;
 * `undefined` is NULL (empty). {@link XA_ZERO_ENTRY} is the reserved marker
 * with the role of the kernel's `XA_ZERO_ENTRY`.
 */
import { badArg, checkFunction, checkObject } from './check.js';
import { MapleTreeError } from './errors.js';
import { MAPLE_HEIGHT_MAX, type MapleNodeAllocator, MapleNodeStore, MaplePoolAllocator } from './node-store.js';
import { type MapleRcu, MapleRcuQueue } from './rcu.js';

/** Track the largest gap below every internal slot (`maple_arange_64` nodes). */
export const MT_FLAGS_ALLOC_RANGE = 0x01;
/** Operate in RCU mode: replace nodes instead of changing them, free after a grace period. */
export const MT_FLAGS_USE_RCU = 0x02;
/** Position of the tree height in the flags. */
export const MT_FLAGS_HEIGHT_OFFSET = 0x02;
/** Mask of the tree height in the flags. */
export const MT_FLAGS_HEIGHT_MASK = 0x7c;
/** Mask of the lock type bits. */
export const MT_FLAGS_LOCK_MASK = 0x300;
/** The tree lock is taken irq-safe. */
export const MT_FLAGS_LOCK_IRQ = 0x100;
/** The tree lock is taken bh-safe. */
export const MT_FLAGS_LOCK_BH = 0x200;
/** An external lock protects the tree (`mt_set_external_lock`). */
export const MT_FLAGS_LOCK_EXTERN = 0x300;
/** Set once `mtree_alloc_cyclic` has wrapped back to the start of its range (`MT_FLAGS_ALLOC_WRAPPED`). */
export const MT_FLAGS_ALLOC_WRAPPED = 0x0800;
/** The flags a VMA tree uses (`MM_MT_FLAGS`). */
export const MM_MT_FLAGS = MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU;

/** The largest index: the role of `ULONG_MAX`. */
export const MAPLE_MAX = Number.MAX_SAFE_INTEGER;

/** The type of {@link XA_ZERO_ENTRY}. */
export interface XaZeroEntry {
  /** Brands the marker; always true. */
  readonly xaZeroEntry: true;
}
/**
 * A reserved entry that reads as empty through the normal API (`mtreeLoad`,
 * `mtFind` skip it) but occupies its range: the kernel stores it where a fork
 * failed part way through duplicating a VMA tree (`XA_ZERO_ENTRY`). The normal
 * store API refuses it (`-EINVAL`); the advanced API stores it.
 */
export const XA_ZERO_ENTRY: XaZeroEntry = Object.freeze({ xaZeroEntry: true as const });

/** Test for {@link XA_ZERO_ENTRY}. @kernel xa_is_zero (include/linux/xarray.h) */
export function xaIsZero(entry: unknown): boolean {
  return entry === XA_ZERO_ENTRY;
}

/** Decides whether the caller holds the tree's lock (a lockdep stand-in). */
export interface MapleLockChecker {
  /** True when the lock is held (read or write). */
  isHeld(): boolean;
  /** True when the lock is held for writing; defaults to {@link isHeld}. */
  isWriteHeld?(): boolean;
}

/** Node counters of one tree (allocation interface and preallocation figures). */
export class MapleTreeStats {
  /** Nodes asked of the allocator (sum of prefill requests). */
  requested = 0;
  /** Nodes the allocator gave (sum of successful prefills and single allocations). */
  allocated = 0;
  /** Nodes taken into the tree. */
  used = 0;
  /** Preallocated nodes given back unused (sheaf remainders). */
  returned = 0;
  /** Nodes freed at once. */
  freed = 0;
  /** Nodes handed to `callRcu` for a deferred free. */
  rcuDeferred = 0;
  /** Bulk requests made (sheaf prefills). */
  bulkRequests = 0;
  /** Requests the allocator refused (ENOMEM). */
  failedRequests = 0;
  /** Nodes allocated one at a time because a store ran out of preallocated nodes. */
  extra = 0;
  /** Nodes a write freed and a later write of the same state took again (`mas_push_node`). */
  reused = 0;
  /** Stores per store type (index = `wr_*` constant). */
  readonly storeTypes: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

  /** Zero all counters. */
  reset(): void {
    this.requested = 0;
    this.allocated = 0;
    this.used = 0;
    this.returned = 0;
    this.freed = 0;
    this.rcuDeferred = 0;
    this.bulkRequests = 0;
    this.failedRequests = 0;
    this.extra = 0;
    this.reused = 0;
    this.storeTypes.fill(0);
  }
}

/** Options of {@link mtreeInit}. */
export interface MtreeOptions {
  /** Where nodes come from; default: one shared {@link MaplePoolAllocator}. */
  allocator?: MapleNodeAllocator;
  /** Deferred freeing in RCU mode; default: a {@link MapleRcuQueue} per tree. */
  rcu?: MapleRcu;
  /** Check that advanced-API writers hold the internal lock (lockdep). */
  lockdep?: boolean;
  /** Use the old full-height worst case in `mas_prealloc_calc` (for comparison). */
  fullHeightPrealloc?: boolean;
}

let defaultAllocator: MaplePoolAllocator | null = null;

/** The allocator trees use when none is given. */
export function mtDefaultAllocator(): MaplePoolAllocator {
  if (defaultAllocator === null) defaultAllocator = new MaplePoolAllocator();
  return defaultAllocator;
}

/**
 * `struct maple_tree`: the root of a tree. The root is either a node handle
 * (`root`), or, for a tree holding a single entry at index 0, that entry
 * directly (`rootEntry`, the kernel's non-node `ma_root`), or nothing.
 */
export class Mtree {
  /** `ma_flags`: attributes and the height. */
  flags: number;
  /** Root node handle; 0 when the root is empty or a direct entry. */
  root: number;
  /** The direct root entry (index 0 only) when `root` is 0. */
  rootEntry: unknown;
  /** The node allocator. */
  readonly allocator: MapleNodeAllocator;
  /** The node memory (`allocator.store`). */
  readonly store: MapleNodeStore;
  /** Deferred free in RCU mode. */
  rcu: MapleRcu;
  /** Node allocation and free counters of this tree. */
  readonly stats: MapleTreeStats;
  /** The internal lock (`ma_lock`) is held. */
  lockHeld: boolean;
  /** Check the lock on advanced-API writes. */
  lockdep: boolean;
  /** External lock checker (`mt_set_external_lock`), or null. */
  externalLock: MapleLockChecker | null;
  /** Use the old full-height preallocation worst case. */
  fullHeightPrealloc: boolean;
  /** Set by `mtreeDestroy`; any later operation throws. */
  destroyed: boolean;
  /** @internal A maple state the normal API reuses. */
  scratchState: object | null;
  /** @internal Bumped by every write that changes nodes other than one leaf in place. */
  gen: number;

  /**
   * A new, empty tree; {@link mtreeInit} is the kernel-style spelling.
   * @throws MapleTreeError (EINVAL) naming a bad flag or option; nothing is created.
   */
  constructor(flags = 0, opts: MtreeOptions = {}) {
    checkFlags('Mtree', flags);
    checkTreeOptions('Mtree', opts);
    this.flags = flags & ~MT_FLAGS_HEIGHT_MASK;
    this.root = 0;
    this.rootEntry = undefined;
    this.allocator = opts.allocator ?? mtDefaultAllocator();
    this.store = this.allocator.store;
    this.rcu = opts.rcu ?? new MapleRcuQueue();
    this.stats = new MapleTreeStats();
    this.lockHeld = false;
    this.lockdep = opts.lockdep ?? false;
    this.externalLock = null;
    this.fullHeightPrealloc = opts.fullHeightPrealloc ?? false;
    this.destroyed = false;
    this.scratchState = null;
    this.gen = 0;
  }
}

/**
 * The height of the tree: 0 when empty or a direct root entry, 1 for a single
 * leaf root (root depth 0, height 1).
 * @kernel mt_height (lib/maple_tree.c)
 */
export function mtHeight(mt: Mtree): number {
  checkTreeObject('mtHeight', mt);
  return treeHeight(mt);
}

/** @internal {@link mtHeight} without the argument check (the write and walk paths). */
export function treeHeight(mt: Mtree): number {
  return (mt.flags & MT_FLAGS_HEIGHT_MASK) >>> MT_FLAGS_HEIGHT_OFFSET;
}

/** @internal Set the height bits. */
export function mtSetHeight(mt: Mtree, height: number): void {
  if (height > MAPLE_HEIGHT_MAX) throw new Error('maple_tree: height above MAPLE_HEIGHT_MAX');
  mt.flags = (mt.flags & ~MT_FLAGS_HEIGHT_MASK) | (height << MT_FLAGS_HEIGHT_OFFSET);
}

/** The flags without the height. @kernel mt_attr (lib/maple_tree.c) */
export function mtAttr(mt: Mtree): number {
  checkTreeObject('mtAttr', mt);
  return treeAttr(mt);
}

/** @internal {@link mtAttr} without the argument check. */
export function treeAttr(mt: Mtree): number {
  return mt.flags & ~MT_FLAGS_HEIGHT_MASK;
}

/** True for a gap-tracking tree. @kernel mt_is_alloc (lib/maple_tree.c) */
export function mtIsAlloc(mt: Mtree): boolean {
  checkTreeObject('mtIsAlloc', mt);
  return treeIsAlloc(mt);
}

/** @internal {@link mtIsAlloc} without the argument check. */
export function treeIsAlloc(mt: Mtree): boolean {
  return (mt.flags & MT_FLAGS_ALLOC_RANGE) !== 0;
}

/** True in RCU mode. @kernel mt_in_rcu (include/linux/maple_tree.h) */
export function mtInRcu(mt: Mtree): boolean {
  checkTreeObject('mtInRcu', mt);
  return treeInRcu(mt);
}

/** @internal {@link mtInRcu} without the argument check. */
export function treeInRcu(mt: Mtree): boolean {
  return (mt.flags & MT_FLAGS_USE_RCU) !== 0;
}

/**
 * Switch the tree to RCU mode.
 * @kernel mt_set_in_rcu (include/linux/maple_tree.h)
 */
export function mtSetInRcu(mt: Mtree): void {
  checkTreeObject('mtSetInRcu', mt);
  mt.flags |= MT_FLAGS_USE_RCU;
}

/**
 * Leave RCU mode (only one user left: nodes may be changed in place again).
 * @kernel mt_clear_in_rcu (include/linux/maple_tree.h)
 */
export function mtClearInRcu(mt: Mtree): void {
  checkTreeObject('mtClearInRcu', mt);
  mt.flags &= ~MT_FLAGS_USE_RCU;
}

/** True for an external-lock tree. @kernel mt_external_lock (include/linux/maple_tree.h) */
export function mtExternalLock(mt: Mtree): boolean {
  checkTreeObject('mtExternalLock', mt);
  return (mt.flags & MT_FLAGS_LOCK_MASK) === MT_FLAGS_LOCK_EXTERN;
}

/**
 * Declare the lock that protects the tree: writers must hold it; with a
 * checker set, a write without it is a typed `EPERM` error.
 * @kernel mt_set_external_lock (include/linux/maple_tree.h)
 */
export function mtSetExternalLock(mt: Mtree, checker: MapleLockChecker): void {
  checkTreeObject('mtSetExternalLock', mt);
  checkLockChecker('mtSetExternalLock', checker);
  mt.flags = (mt.flags & ~MT_FLAGS_LOCK_MASK) | MT_FLAGS_LOCK_EXTERN;
  mt.externalLock = checker;
}

/**
 * Take the internal tree lock.
 * @kernel mtree_lock (include/linux/maple_tree.h)
 */
export function mtreeLock(mt: Mtree): void {
  checkTreeObject('mtreeLock', mt);
  mt.lockHeld = true;
}

/**
 * Release the internal tree lock.
 * @kernel mtree_unlock (include/linux/maple_tree.h)
 */
export function mtreeUnlock(mt: Mtree): void {
  checkTreeObject('mtreeUnlock', mt);
  mt.lockHeld = false;
}

/** True when the writer holds the tree's lock. @kernel mt_write_locked (lib/maple_tree.c) */
export function mtWriteLocked(mt: Mtree): boolean {
  checkTreeObject('mtWriteLocked', mt);
  return treeWriteLocked(mt);
}

/** @internal {@link mtWriteLocked} without the argument check. */
export function treeWriteLocked(mt: Mtree): boolean {
  const ext = mt.externalLock;
  if (ext !== null) return ext.isWriteHeld ? ext.isWriteHeld() : ext.isHeld();
  return mt.lockHeld;
}

/** Every bit `ma_flags` defines. */
const MT_FLAGS_KNOWN =
  MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU | MT_FLAGS_HEIGHT_MASK | MT_FLAGS_LOCK_MASK | MT_FLAGS_ALLOC_WRAPPED;

/** @internal Check tree flags: a non-negative integer using only the bits of `ma_flags`. */
export function checkFlags(fn: string, flags: unknown): asserts flags is number {
  if (typeof flags !== 'number' || flags >>> 0 !== flags || (flags & ~MT_FLAGS_KNOWN) !== 0)
    badArg(fn, 'flags', flags, `a combination of the MT_FLAGS_* bits (0x${MT_FLAGS_KNOWN.toString(16)})`);
}

/** @internal Check that `mt` is a tree (`Mtree`) that was not destroyed. */
export function checkTree(fn: string, mt: unknown, what = 'mt'): asserts mt is Mtree {
  if (!(mt instanceof Mtree)) badArg(fn, what, mt, 'a maple tree (Mtree)');
  if (mt.destroyed) throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: operation on a destroyed tree`);
}

/** @internal Check that `mt` is a tree (`Mtree`), destroyed or not. */
export function checkTreeObject(fn: string, mt: unknown, what = 'mt'): asserts mt is Mtree {
  if (!(mt instanceof Mtree)) badArg(fn, what, mt, 'a maple tree (Mtree)');
}

/** Check a lock checker: an object with an `isHeld` function (and `isWriteHeld`, if given, a function). */
function checkLockChecker(fn: string, c: unknown): asserts c is MapleLockChecker {
  checkObject(fn, 'checker', c);
  const o = c as Record<string, unknown>;
  if (typeof o.isHeld !== 'function') badArg(fn, 'checker.isHeld', o.isHeld, 'a function');
  if (o.isWriteHeld !== undefined && typeof o.isWriteHeld !== 'function')
    badArg(fn, 'checker.isWriteHeld', o.isWriteHeld, 'a function or undefined');
}

const ALLOCATOR_METHODS = ['prefillSheaf', 'allocFromSheaf', 'returnSheaf', 'alloc', 'free'] as const;

/** @internal Check the options of a new tree ({@link MtreeOptions}). */
export function checkTreeOptions(fn: string, opts: unknown): asserts opts is MtreeOptions {
  checkObject(fn, 'opts', opts);
  const o = opts as Record<string, unknown>;
  const a = o.allocator;
  if (a !== undefined) {
    checkObject(fn, 'opts.allocator', a);
    const r = a as Record<string, unknown>;
    if (!(r.store instanceof MapleNodeStore))
      badArg(fn, 'opts.allocator', a, 'a MapleNodeAllocator (its store is not a MapleNodeStore)');
    for (const m of ALLOCATOR_METHODS)
      if (typeof r[m] !== 'function') badArg(fn, `opts.allocator.${m}`, r[m], 'a function');
    if (r.freeRcu !== undefined && typeof r.freeRcu !== 'function')
      badArg(fn, 'opts.allocator.freeRcu', r.freeRcu, 'a function or undefined');
  }
  if (o.rcu !== undefined) {
    checkObject(fn, 'opts.rcu', o.rcu);
    checkFunction(fn, 'opts.rcu.callRcu', (o.rcu as Record<string, unknown>).callRcu);
  }
  for (const k of ['lockdep', 'fullHeightPrealloc'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'boolean') badArg(fn, `opts.${k}`, o[k], 'a boolean or undefined');
}
