/**
 * DOC: the maple state (`struct ma_state`, include/linux/maple_tree.h): the
 * cursor of the advanced API, its status machine (`ma_start`, `ma_active`,
 * `ma_root`, `ma_none`, `ma_pause`, `ma_overflow`, `ma_underflow`,
 * `ma_error`, kept exactly because iteration results at the edges depend on
 * it), `mas_set_range` and `mas_start`, and the checks every advanced-API
 * entry point makes of the state and the tree's lock.
 */
import { badArg, checkIndex, isIndex } from './check.js';
import { masEmptyArea, masEmptyAreaRev } from './empty-area.js';
import { MapleTreeError } from './errors.js';
import { GFP_KERNEL, type MapleNodeSheaf } from './node-store.js';
import {
  masDestroy,
  masErase,
  masExpectedEntries,
  masNomem,
  masPreallocate,
  masStore,
  masStoreGfp,
  masStorePrealloc,
} from './store.js';
import { checkTreeObject, MAPLE_MAX, type Mtree, treeWriteLocked } from './tree.js';
import {
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

/** `MAPLE_NODE_SLOTS`: the offset of a maple state that points at no slot. */
const NO_SLOT = 255;

/** `enum maple_status`: pointing at a node. */
export const ma_active = 0;
/** Not yet walked: the next operation starts at the root. */
export const ma_start = 1;
/** The tree is a single direct root entry. */
export const ma_root = 2;
/** The tree is empty (or the walk found nothing). */
export const ma_none = 3;
/** Paused (`mas_pause`): restart after the last range. */
export const ma_pause = 4;
/** An upward search went past its limit. */
export const ma_overflow = 5;
/** A downward search went below its limit. */
export const ma_underflow = 6;
/** An error is stored in `error`. */
export const ma_error = 7;

/** @internal Throw EINVAL naming `fn` when the tree was destroyed. */
export function checkTree(mt: Mtree, fn = 'maple_tree'): void {
  if (mt.destroyed) throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: operation on a destroyed tree`);
}

/**
 * Check the range fields of a maple state before an operation uses them:
 * `index` and `last` are public and may have been set directly.
 */
export function checkMas(fn: string, mas: MaState): void {
  if (!(mas instanceof MaState)) badArg(fn, 'mas', mas, 'a maple state (MaState)');
  if (!isIndex(mas.index)) checkIndex(fn, 'mas.index', mas.index);
  if (!isIndex(mas.last)) checkIndex(fn, 'mas.last', mas.last);
}

/** {@link checkMas} plus a limit argument of a step (`max` or `min`). */
export function checkStep(fn: string, mas: MaState, what: string, limit: number): void {
  if (!isIndex(limit)) checkIndex(fn, what, limit);
  // A maple state has a tree with a store: anything else takes the slow path.
  if (mas?.tree?.store === undefined || !isIndex(mas.index) || !isIndex(mas.last)) checkMas(fn, mas);
}

/** @internal With a lock checker (or lockdep), a write without the tree lock is EPERM. */
export function checkWriteLock(mt: Mtree): void {
  if ((mt.lockdep || mt.externalLock !== null) && !treeWriteLocked(mt))
    throw new MapleTreeError('EPERM', 'maple_tree: write without the tree lock held (lockdep)');
}

/**
 * `struct ma_state`: a cursor into one tree for the advanced API. Reuse one
 * per loop; it allocates nothing per step.
 */
export class MaState {
  /** The tree the cursor walks (`mas->tree`). */
  tree: Mtree;
  /** Start of the range of interest; after a walk, of the range found. */
  index: number;
  /** End of the range of interest; after a walk, of the range found. */
  last: number;
  /** Current node handle (0 when none). */
  node: number;
  /** Minimum index of the current node. */
  min: number;
  /** Maximum index of the current node. */
  max: number;
  /** Slot offset in the current node. */
  offset: number;
  /** Data end of the current node. */
  end: number;
  /** Depth of the current node (root 0). */
  depth: number;
  /** Where the cursor stands: `ma_active` inside a node, `ma_start` before the first walk, else `ma_root`, `ma_none`, `ma_pause`, `ma_overflow`, `ma_underflow` or `ma_error`; mirrors `enum maple_status`. */
  status: number;
  /** The negative errno when `status` is `ma_error`. */
  error: number;
  /** The store type chosen by the last write walk (`wr_*`). */
  storeType: number;
  /** Nodes requested for the pending store (`node_request`). */
  nodeRequest: number;
  /** `MA_STATE_BULK` / `MA_STATE_REBALANCE` / `MA_STATE_PREALLOC`. */
  masFlags: number;
  /** Preallocated nodes (a prefilled sheaf), or null. */
  sheaf: MapleNodeSheaf | null;
  /** Nodes freed by this state's writes, reused before the sheaf; freed by {@link destroy}. */
  reuse: number[];

  /** A cursor over `mt` for the range [first, last], not yet walked (`ma_start`) @kernel MA_STATE (include/linux/maple_tree.h) */
  constructor(mt: Mtree, first = 0, last = first) {
    checkTreeObject('MaState', mt);
    checkIndex('MaState', 'first', first);
    checkIndex('MaState', 'last', last);
    this.tree = mt;
    this.index = first;
    this.last = last;
    this.node = 0;
    this.min = 0;
    this.max = MAPLE_MAX;
    this.offset = 0;
    this.end = 0;
    this.depth = 0;
    this.status = ma_start;
    this.error = 0;
    this.storeType = 0;
    this.nodeRequest = 0;
    this.masFlags = 0;
    this.sheaf = null;
    this.reuse = [];
  }

  /** Walk to `index`: the entry there, with `index`/`last` set to its range. @kernel mas_walk */
  walk(): unknown {
    return masWalk(this);
  }
  /** First entry at or after `index` (first call), else the next one, up to `max`. @kernel mas_find */
  find(max: number): unknown {
    return masFind(this, max);
  }
  /** Like {@link find} but stops at empty ranges too. @kernel mas_find_range */
  findRange(max: number): unknown {
    return masFindRange(this, max);
  }
  /** First entry at or below `index` (first call), else the previous one, down to `min`. @kernel mas_find_rev */
  findRev(min: number): unknown {
    return masFindRev(this, min);
  }
  /** Like {@link findRev} but stops at empty ranges too. @kernel mas_find_range_rev */
  findRangeRev(min: number): unknown {
    return masFindRangeRev(this, min);
  }
  /** The next entry after the current range, up to `max`. @kernel mas_next */
  next(max: number): unknown {
    return masNext(this, max);
  }
  /** The next range (entry or empty) up to `max`. @kernel mas_next_range */
  nextRange(max: number): unknown {
    return masNextRange(this, max);
  }
  /** The previous entry, down to `min`. @kernel mas_prev */
  prev(min: number): unknown {
    return masPrev(this, min);
  }
  /** The previous range (entry or empty), down to `min`. @kernel mas_prev_range */
  prevRange(min: number): unknown {
    return masPrevRange(this, min);
  }
  /** Store `entry` over [index, last]; returns the entry previously at `index`. @kernel mas_store */
  store(entry: unknown): unknown {
    return masStore(this, entry);
  }
  /** Store with allocation; 0, -ENOMEM or -EINVAL. @kernel mas_store_gfp */
  storeGfp(entry: unknown, gfp: number = GFP_KERNEL): number {
    return masStoreGfp(this, entry, gfp);
  }
  /** Store using the nodes of {@link preallocate}. @kernel mas_store_prealloc */
  storePrealloc(entry: unknown): void {
    masStorePrealloc(this, entry);
  }
  /** Preallocate the worst case for storing `entry` over [index, last]. @kernel mas_preallocate */
  preallocate(entry: unknown, gfp: number = GFP_KERNEL): number {
    return masPreallocate(this, entry, gfp);
  }
  /** Erase the whole range containing `index`; returns its entry. @kernel mas_erase */
  erase(): unknown {
    return masErase(this);
  }
  /** Lowest gap of `size` in [min, max]; 0, -EBUSY or -EINVAL. @kernel mas_empty_area */
  emptyArea(min: number, max: number, size: number): number {
    return masEmptyArea(this, min, max, size);
  }
  /** Highest gap of `size` in [min, max]; 0, -EBUSY or -EINVAL. @kernel mas_empty_area_rev */
  emptyAreaRev(min: number, max: number, size: number): number {
    return masEmptyAreaRev(this, min, max, size);
  }
  /** Point at `index` and restart. @kernel mas_set */
  set(index: number): void {
    checkIndex('MaState.set', 'index', index);
    masSetRange(this, index, index);
  }
  /** Point at [first, last] and restart. @kernel mas_set_range */
  setRange(first: number, last: number): void {
    masSetRange(this, first, last);
  }
  /** Restart at the root on the next operation. @kernel mas_reset */
  reset(): void {
    this.status = ma_start;
    this.node = 0;
  }
  /** Pause an iteration (to drop the lock). @kernel mas_pause */
  pause(): void {
    this.status = ma_pause;
    this.node = 0;
  }
  /** Preallocate for a bulk insert of `nr` entries. @kernel mas_expected_entries */
  expectedEntries(nr: number): number {
    return masExpectedEntries(this, nr);
  }
  /** Return unused preallocated nodes and finish a bulk insert. @kernel mas_destroy */
  destroy(): void {
    masDestroy(this);
  }
  /** Retry protocol: after -ENOMEM, allocate with `gfp` and say whether to retry. @kernel mas_nomem */
  nomem(gfp: number = GFP_KERNEL): boolean {
    return masNomem(this, gfp);
  }
  /** True when the state holds an error. @kernel mas_is_err */
  isErr(): boolean {
    return this.status === ma_error;
  }
}

/** Point the cursor at [first, last] and reset it to walk again from the root. @kernel mas_set_range (include/linux/maple_tree.h) */
export function masSetRange(mas: MaState, first: number, last: number): void {
  checkIndex('masSetRange', 'first', first);
  checkIndex('masSetRange', 'last', last);
  mas.index = first;
  mas.last = last;
  mas.status = ma_start;
  mas.node = 0;
}

/** @internal Put the state in `ma_error` with `err`. @kernel mas_set_err (lib/maple_tree.c) */
export function masSetErr(mas: MaState, err: number): void {
  mas.status = ma_error;
  mas.error = err;
  mas.node = 0;
}

/**
 * Set up a walk: on `ma_start`, look at the root.
 * @kernel mas_start (lib/maple_tree.c)
 */
export function masStart(mas: MaState): unknown {
  if (mas.status !== ma_start) return undefined;
  const mt = mas.tree;
  mas.min = 0;
  mas.max = MAPLE_MAX;
  mas.depth = 0;
  if (mt.root !== 0) {
    mas.status = ma_active;
    mas.node = mt.root;
    mas.offset = 0;
    return undefined;
  }
  mas.node = 0;
  mas.offset = NO_SLOT;
  if (mt.rootEntry === undefined) {
    mas.status = ma_none;
    return undefined;
  }
  mas.status = ma_root;
  if (mas.index > 0) return undefined;
  return mt.rootEntry;
}
