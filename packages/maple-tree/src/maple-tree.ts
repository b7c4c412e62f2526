/**
 * DOC: the maple tree API (lib/maple_tree.c): the maple state (`struct
 * ma_state`, the advanced API) and the normal API (`mtree_*`, `mt_*`).
 *
 * Readers walk from the root (`mas_walk`, `mtree_load`), step between slots
 * and nodes (`mas_next_slot`, `mas_prev_slot`) and search gaps
 * (`mas_empty_area`, `mas_empty_area_rev`). The maple state's status machine
 * (`ma_start`, `ma_active`, `ma_root`, `ma_none`, `ma_pause`, `ma_overflow`,
 * `ma_underflow`, `ma_error`) is kept exactly, because iteration results at the
 * edges depend on it. A reader in RCU mode that finds its node dead rewalks
 * from its last position.
 */
import { checkCount, checkFunction, checkGfp, checkIndex, checkObject, isIndex } from './check.js';
import { EBUSY, EEXIST, EINVAL, ENOMEM, MapleTreeError } from './errors.js';
import {
  GFP_KERNEL,
  GFP_NOWAIT,
  type MAPLE_GAP_STRIDE,
  type MAPLE_NODE_STRIDE,
  type MapleNodeSheaf,
} from './node-store.js';
import {
  checkFlags,
  checkTree as checkTreeArg,
  checkTreeObject,
  MAPLE_MAX,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_ALLOC_WRAPPED,
  MT_FLAGS_HEIGHT_MASK,
  MT_FLAGS_HEIGHT_OFFSET,
  Mtree,
  type MtreeOptions,
  mtAttr,
  mtHeight,
  mtInRcu,
  mtIsAlloc,
  mtSetHeight,
  mtWriteLocked,
  XA_ZERO_ENTRY,
} from './tree.js';
import {
  MA_STATE_BULK,
  MA_STATE_PREALLOC,
  MA_STATE_REBALANCE,
  masBulkRebalance,
  masPreallocCalc,
  masWrStore,
  masWrStoreType,
  masWrStoreTypeErase,
  wr,
  wr_new_root,
  wr_spanning_store,
  wr_store_root,
} from './write.js';

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

/** `MAPLE_NODE_SLOTS`: the offset of a maple state that points at no slot. */
const NO_SLOT = 255;

// Module-local copies of the node-store strides (their types pin them to the
// exported values). An imported binding is a live cell that the JIT loads
// again on every use; a local constant folds into the index arithmetic, which
// halves the cost of the gap search and helps every walk.
const S: typeof MAPLE_NODE_STRIDE = 16;
const GS: typeof MAPLE_GAP_STRIDE = 10;
const MAX = Number.MAX_SAFE_INTEGER; // MAPLE_MAX

function checkTree(mt: Mtree, fn = 'maple_tree'): void {
  if (mt.destroyed) throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: operation on a destroyed tree`);
}

/**
 * Check the range fields of a maple state before an operation uses them:
 * `index` and `last` are public and may have been set directly.
 */
function checkMas(fn: string, mas: MaState): void {
  if (!(mas instanceof MaState)) checkObject(fn, 'mas', null);
  if (!isIndex(mas.index)) checkIndex(fn, 'mas.index', mas.index);
  if (!isIndex(mas.last)) checkIndex(fn, 'mas.last', mas.last);
}

/** {@link checkMas} plus a limit argument of a step (`max` or `min`). */
function checkStep(fn: string, mas: MaState, what: string, limit: number): void {
  if (!isIndex(limit)) checkIndex(fn, what, limit);
  if (!isIndex(mas.index) || !isIndex(mas.last) || !(mas instanceof MaState)) checkMas(fn, mas);
}

function checkWriteLock(mt: Mtree): void {
  if ((mt.lockdep || mt.externalLock !== null) && !mtWriteLocked(mt))
    throw new MapleTreeError('EPERM', 'maple_tree: write without the tree lock held (lockdep)');
}

/**
 * `struct ma_state`: a cursor into one tree for the advanced API. Reuse one
 * per loop; it allocates nothing per step.
 */
export class MaState {
  /** The tree. */
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
  /** `enum maple_status`. */
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

  /** @kernel MA_STATE (include/linux/maple_tree.h) */
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

/** @kernel mas_set_range (include/linux/maple_tree.h) */
export function masSetRange(mas: MaState, first: number, last: number): void {
  checkIndex('masSetRange', 'first', first);
  checkIndex('masSetRange', 'last', last);
  mas.index = first;
  mas.last = last;
  mas.status = ma_start;
  mas.node = 0;
}

function masSetErr(mas: MaState, err: number): void {
  mas.status = ma_error;
  mas.error = err;
  mas.node = 0;
}

/**
 * Set up a walk: on `ma_start`, look at the root.
 * @kernel mas_start (lib/maple_tree.c)
 */
function masStart(mas: MaState): unknown {
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

/**
 * Descend from the current node to the leaf slot holding `mas.index`.
 * @kernel mtree_range_walk (lib/maple_tree.c)
 */
function mtreeRangeWalk(mas: MaState): unknown {
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const leafDepth = mtHeight(mas.tree) - 1;
  const index = mas.index;
  let n = mas.node;
  if (st.dead[n] === 1) {
    mas.status = ma_start;
    mas.node = 0;
    return undefined;
  }
  let min = mas.min;
  let max = mas.max;
  let d = mas.depth;
  for (;;) {
    const b = n * S;
    const e = piv[n * S + 15]!;
    let o = 0;
    while (o < e && piv[b + o]! < index) o++;
    const smin = o > 0 ? piv[b + o - 1]! + 1 : min;
    const smax = o < e ? piv[b + o]! : max;
    if (d >= leafDepth) {
      mas.node = n;
      mas.min = min;
      mas.max = max;
      mas.offset = o;
      mas.end = e;
      mas.index = smin;
      mas.last = smax;
      mas.depth = d;
      return st.slots[b + o];
    }
    n = slots[b + o] as number;
    min = smin;
    max = smax;
    d++;
  }
}

/** @kernel mas_state_walk (lib/maple_tree.c) */
function masStateWalk(mas: MaState): unknown {
  const entry = masStart(mas);
  if (mas.status === ma_none) return undefined;
  if (mas.status === ma_root) return entry;
  return mtreeRangeWalk(mas);
}

/** @kernel mas_walk (lib/maple_tree.c) */
export function masWalk(mas: MaState): unknown {
  checkMas('masWalk', mas);
  return masWalkInner(mas);
}

function masWalkInner(mas: MaState): unknown {
  mas.status = ma_start;
  let entry = masStateWalk(mas);
  while (mas.status === ma_start) entry = masStateWalk(mas);
  if (mas.status === ma_none) {
    mas.index = 0;
    mas.last = MAPLE_MAX;
  } else if (mas.status === ma_root) {
    if (mas.index === 0) {
      mas.last = 0;
      return entry;
    }
    mas.index = 1;
    mas.last = MAPLE_MAX;
    mas.status = ma_none;
    return undefined;
  }
  return entry;
}

function masRewalk(mas: MaState, index: number): void {
  do {
    masSetRange(mas, index, index);
    masStateWalk(mas);
  } while (mas.status === ma_start);
}

/**
 * Move up one level, computing the parent's bounds.
 * @kernel mas_ascend (lib/maple_tree.c)
 * @returns 1 when the node is dead (the caller rewalks).
 */
function masAscend(mas: MaState): number {
  const st = mas.tree.store;
  const n = mas.node;
  const p = st.parent[n]!;
  if (p === 0) {
    mas.offset = 0;
    return 0;
  }
  if (st.dead[n] === 1) return 1;
  const off = st.parentSlot[n]!;
  mas.offset = off;
  mas.node = p;
  mas.depth--;
  const parent = st.parent;
  if (parent[p] === 0) {
    mas.min = 0;
    mas.max = MAPLE_MAX;
    return 0;
  }
  const piv = st.pivots;
  let min = 0;
  let max = MAPLE_MAX;
  let setMin = false;
  let setMax = false;
  if (off === 0) {
    min = mas.min;
    setMin = true;
  }
  if (mas.max === MAPLE_MAX) setMax = true;
  let a = p;
  while (!setMin || !setMax) {
    const ap = parent[a]!;
    if (ap === 0) break;
    const as = st.parentSlot[a]!;
    if (!setMin && as > 0) {
      min = piv[ap * S + as - 1]! + 1;
      setMin = true;
    }
    if (!setMax && as < piv[ap * S + 15]!) {
      max = piv[ap * S + as]!;
      setMax = true;
    }
    a = ap;
  }
  mas.min = min;
  mas.max = max;
  return 0;
}

/**
 * Move to the next node at the same level; `ma_overflow` past `max`.
 * @kernel mas_next_node (lib/maple_tree.c)
 * @returns 1 on a dead node.
 */
function masNextNode(mas: MaState, max: number): number {
  if (mas.max >= max) {
    mas.status = ma_overflow;
    return 0;
  }
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const min = mas.max + 1;
  let n = mas.node;
  // Fast path: the next node is a sibling that is not its parent's last
  // child, so its bounds come from the parent's pivots without ascending
  // further (the usual step of an iteration, ~7 of every 8 leaves).
  const p = st.parent[n]!;
  if (p !== 0 && st.dead[n] === 0 && st.dead[p] === 0) {
    const o = st.parentSlot[n]! + 1;
    if (o < piv[p * S + 15]!) {
      const c = slots[p * S + o] as number;
      mas.offset = o;
      mas.node = c;
      mas.min = min;
      mas.max = piv[p * S + o]!;
      mas.end = piv[c * S + 15]!;
      return 0;
    }
  }
  let level = 0;
  for (;;) {
    if (st.parent[n] === 0) {
      mas.status = ma_overflow;
      return 0;
    }
    if (masAscend(mas) !== 0) return 1;
    level++;
    n = mas.node;
    if (mas.offset < piv[n * S + 15]!) break;
  }
  const o = mas.offset + 1;
  let nmax = o < piv[n * S + 15]! ? piv[n * S + o]! : mas.max;
  let c = slots[n * S + o] as number;
  mas.depth++;
  while (--level > 0) {
    n = c;
    nmax = piv[n * S + 15]! > 0 ? piv[n * S]! : nmax;
    c = slots[n * S] as number;
    mas.depth++;
  }
  mas.node = c;
  mas.min = min;
  mas.max = nmax;
  mas.end = piv[c * S + 15]!;
  return 0;
}

/**
 * Move to the previous node at the same level; `ma_underflow` below `min`.
 * @kernel mas_prev_node (lib/maple_tree.c)
 * @returns 1 on a dead node.
 */
function masPrevNode(mas: MaState, min: number): number {
  if (mas.min === 0 || mas.min - 1 < min) {
    mas.status = ma_underflow;
    return 0;
  }
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const max = mas.min - 1;
  let level = 0;
  let n = mas.node;
  for (;;) {
    if (st.parent[n] === 0) {
      mas.status = ma_underflow;
      return 0;
    }
    if (masAscend(mas) !== 0) return 1;
    level++;
    n = mas.node;
    if (mas.offset > 0) break;
  }
  const o = mas.offset - 1;
  let nmin = o > 0 ? piv[n * S + o - 1]! + 1 : mas.min;
  let c = slots[n * S + o] as number;
  mas.depth++;
  while (--level > 0) {
    n = c;
    const e = piv[n * S + 15]!;
    nmin = e > 0 ? piv[n * S + e - 1]! + 1 : nmin;
    c = slots[n * S + e] as number;
    mas.depth++;
  }
  mas.node = c;
  mas.min = nmin;
  mas.max = max;
  mas.offset = piv[c * S + 15]!;
  mas.end = piv[c * S + 15]!;
  return 0;
}

/**
 * The entry of the next slot, or of the next non-empty one unless `empty`.
 * @kernel mas_next_slot (lib/maple_tree.c)
 */
function masNextSlot(mas: MaState, max: number, empty: boolean, save = mas.last): unknown {
  const st = mas.tree.store;
  for (;;) {
    // retry
    let n = mas.node;
    if (st.dead[n] === 1) {
      masRewalk(mas, save);
      continue;
    }
    let piv = st.pivots;
    if (mas.max >= max) {
      const pivot = mas.offset < mas.end ? piv[n * S + mas.offset]! : mas.max;
      if (pivot >= max) {
        mas.status = ma_overflow;
        return undefined;
      }
    }
    let dead = false;
    for (;;) {
      if (mas.offset < mas.end) {
        mas.index = piv[n * S + mas.offset]! + 1;
        mas.offset++;
        mas.last = mas.offset < mas.end ? piv[n * S + mas.offset]! : mas.max;
      } else {
        if (mas.last >= max) {
          mas.status = ma_overflow;
          return undefined;
        }
        if (masNextNode(mas, max) !== 0) {
          masRewalk(mas, save);
          dead = true;
          break;
        }
        if (mas.status === ma_overflow) return undefined;
        n = mas.node;
        piv = st.pivots;
        mas.offset = 0;
        mas.index = mas.min;
        mas.last = mas.end > 0 ? piv[n * S]! : mas.max;
      }
      const entry = st.slots[n * S + mas.offset];
      if (entry !== undefined) return entry;
      if (empty) return undefined;
      if (mas.last >= max) {
        mas.status = ma_overflow;
        return undefined;
      }
    }
    if (!dead) return undefined;
  }
}

/**
 * The entry of the previous slot, or of the previous non-empty one unless `empty`.
 * @kernel mas_prev_slot (lib/maple_tree.c)
 */
function masPrevSlot(mas: MaState, min: number, empty: boolean): unknown {
  const st = mas.tree.store;
  const save = mas.index;
  for (;;) {
    let n = mas.node;
    if (st.dead[n] === 1) {
      masRewalk(mas, save);
      continue;
    }
    let piv = st.pivots;
    if (mas.min <= min) {
      const pivot = mas.offset > 0 ? piv[n * S + mas.offset - 1]! + 1 : mas.min;
      if (pivot <= min) {
        mas.status = ma_underflow;
        return undefined;
      }
    }
    let dead = false;
    for (;;) {
      if (mas.offset > 0) {
        mas.offset--;
        mas.last = mas.index - 1;
        mas.index = mas.offset > 0 ? piv[n * S + mas.offset - 1]! + 1 : mas.min;
      } else {
        if (mas.index <= min) {
          mas.status = ma_underflow;
          return undefined;
        }
        if (masPrevNode(mas, min) !== 0) {
          masRewalk(mas, save);
          dead = true;
          break;
        }
        if (mas.status === ma_underflow) return undefined;
        n = mas.node;
        piv = st.pivots;
        mas.last = mas.max;
        mas.index = mas.offset > 0 ? piv[n * S + mas.offset - 1]! + 1 : mas.min;
      }
      const entry = st.slots[n * S + mas.offset];
      if (entry !== undefined) return entry;
      if (empty) return undefined;
      if (mas.index <= min) {
        mas.status = ma_underflow;
        return undefined;
      }
    }
    if (!dead) return undefined;
  }
}

// Setup helpers return `true` when `setupEntry` is the answer.
let setupEntry: unknown;

/** @kernel mas_next_setup (lib/maple_tree.c) */
/**
 * Departure: an overflow/underflow state with no live node (it never reached
 * one, or the tree lost its last node under it, e.g. `mas_erase` emptying it)
 * restarts from the root. The kernel turns such a state active and walks the
 * NULL or freed node (Linux 7.2: a NULL dereference or a use-after-free).
 */
function masRestartIfNodeless(mas: MaState): void {
  if ((mas.status === ma_underflow || mas.status === ma_overflow) && (mas.node === 0 || mas.tree.root === 0))
    mas.status = ma_start;
}

function masNextSetup(mas: MaState, max: number): boolean {
  masRestartIfNodeless(mas);
  const wasNone = mas.status === ma_none;
  setupEntry = undefined;
  if (mas.last >= max) {
    mas.status = ma_overflow;
    return true;
  }
  switch (mas.status) {
    case ma_active:
      return false;
    case ma_none:
    case ma_pause:
      mas.status = ma_start;
      masWalkInner(mas);
      break;
    case ma_start:
      masWalkInner(mas);
      break;
    case ma_overflow:
      mas.status = ma_active;
      break;
    case ma_underflow:
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_active) return false;
  if (mas.status === ma_root) {
    setupEntry = undefined;
    if (wasNone && mas.index === 0) {
      mas.index = 0;
      mas.last = 0;
      return true;
    }
    mas.index = 1;
    mas.last = MAPLE_MAX;
    mas.status = ma_none;
    return true;
  }
  return mas.status === ma_none;
}

/** @kernel mas_next (lib/maple_tree.c) */
export function masNext(mas: MaState, max: number): unknown {
  checkStep('masNext', mas, 'max', max);
  if (masNextSetup(mas, max)) return setupEntry;
  return masNextSlot(mas, max, false);
}

/** @kernel mas_next_range (lib/maple_tree.c) */
export function masNextRange(mas: MaState, max: number): unknown {
  checkStep('masNextRange', mas, 'max', max);
  if (masNextSetup(mas, max)) return setupEntry;
  return masNextSlot(mas, max, true);
}

/** @kernel mas_prev_setup (lib/maple_tree.c) */
function masPrevSetup(mas: MaState, min: number): boolean {
  masRestartIfNodeless(mas);
  setupEntry = undefined;
  if (mas.index <= min) {
    mas.status = ma_underflow;
    return true;
  }
  switch (mas.status) {
    case ma_active:
      return false;
    case ma_start:
      break;
    case ma_none:
    case ma_pause:
      mas.status = ma_start;
      break;
    case ma_underflow:
      mas.status = ma_active;
      break;
    case ma_overflow:
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_start) masWalkInner(mas);
  if (mas.status === ma_root) {
    if (mas.index === 0) {
      mas.status = ma_none;
      return true;
    }
    mas.index = 0;
    mas.last = 0;
    setupEntry = mas.tree.rootEntry;
    return true;
  }
  if (mas.status === ma_none) {
    if (mas.index !== 0) {
      mas.index = 0;
      mas.last = 0;
      mas.status = ma_root;
      setupEntry = mas.tree.rootEntry;
      return true;
    }
    return true;
  }
  return false;
}

/** @kernel mas_prev (lib/maple_tree.c) */
export function masPrev(mas: MaState, min: number): unknown {
  checkStep('masPrev', mas, 'min', min);
  if (masPrevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, false);
}

/** @kernel mas_prev_range (lib/maple_tree.c) */
export function masPrevRange(mas: MaState, min: number): unknown {
  checkStep('masPrevRange', mas, 'min', min);
  if (masPrevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, true);
}

/** @kernel mas_find_setup (lib/maple_tree.c) */
function masFindSetup(mas: MaState, max: number): boolean {
  masRestartIfNodeless(mas);
  setupEntry = undefined;
  switch (mas.status) {
    case ma_active:
      return mas.last >= max;
    case ma_start:
      break;
    case ma_pause:
      if (mas.last >= max) return true;
      mas.last++;
      mas.index = mas.last;
      mas.status = ma_start;
      break;
    case ma_none:
      if (mas.last >= max) return true;
      mas.index = mas.last;
      mas.status = ma_start;
      break;
    case ma_underflow:
      if (mas.index >= max) {
        mas.status = ma_overflow;
        return true;
      }
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_overflow:
      if (mas.last >= max) return true;
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_start) {
    if (mas.index > max) return true;
    setupEntry = masWalkInner(mas);
    if (setupEntry !== undefined) return true;
  }
  if (mas.status === ma_root) {
    mas.status = ma_none;
    mas.index = 1;
    mas.last = MAPLE_MAX;
    setupEntry = undefined;
    return true;
  }
  if (mas.status === ma_none) return true;
  return mas.index === max;
}

/** Returned by {@link masFindStep} when the general path must take over. */
const MAS_FIND_SLOW: object = Object.freeze({});

/**
 * The common step of mas_for_each(): the next entry of this leaf, or of the
 * following leaves while each is a sibling under the same parent (not its
 * last child) and ends below `max`, so no overflow and no ascent can happen.
 * Leaves the state exactly where mas_next_slot() would; returns
 * {@link MAS_FIND_SLOW} (state consistent, nothing skipped) for every other
 * case: dead nodes, ascending, reaching `max`.
 */
function masFindStep(mas: MaState, max: number): unknown {
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const dead = st.dead;
  let n = mas.node;
  let nmax = mas.max;
  if (dead[n] !== 0 || nmax >= max) return MAS_FIND_SLOW;
  let b = n * S;
  let e = mas.end;
  let o = mas.offset;
  for (;;) {
    while (o < e) {
      const index = piv[b + o]! + 1;
      o++;
      const entry = slots[b + o];
      if (entry !== undefined) {
        mas.index = index;
        mas.last = o < e ? piv[b + o]! : nmax;
        mas.offset = o;
        return entry;
      }
    }
    const p = st.parent[n]!;
    const ps = st.parentSlot[n]! + 1;
    const c = p === 0 ? 0 : (slots[p * S + ps] as number);
    if (p === 0 || dead[p] !== 0 || ps >= piv[p * S + 15]! || dead[c] !== 0) {
      mas.index = e > 0 ? piv[b + e - 1]! + 1 : mas.min;
      mas.last = nmax;
      mas.offset = e;
      return MAS_FIND_SLOW;
    }
    const min = nmax + 1;
    n = c;
    nmax = piv[p * S + ps]!;
    b = n * S;
    e = piv[b + 15]!;
    mas.node = n;
    mas.min = min;
    mas.max = nmax;
    mas.end = e;
    mas.offset = 0;
    mas.index = min;
    mas.last = e > 0 ? piv[b]! : nmax;
    const entry = slots[b];
    if (entry !== undefined) return entry;
    if (nmax >= max) return MAS_FIND_SLOW;
    o = 0;
  }
}

/** @kernel mas_find (lib/maple_tree.c) */
export function masFind(mas: MaState, max: number): unknown {
  checkStep('masFind', mas, 'max', max);
  if (mas.status === ma_active && mas.last < max) {
    const save = mas.last;
    const entry = masFindStep(mas, max);
    if (entry !== MAS_FIND_SLOW) return entry;
    // Go on from where the step stopped, rewalking from the original range
    // end if a node turns out dead (mas_next_slot()'s save point).
    const next = masNextSlot(mas, max, false, save);
    mas.status = ma_active;
    return next;
  }
  if (masFindSetup(mas, max)) return setupEntry;
  const entry = masNextSlot(mas, max, false);
  mas.status = ma_active;
  return entry;
}

/** @kernel mas_find_range (lib/maple_tree.c) */
export function masFindRange(mas: MaState, max: number): unknown {
  checkStep('masFindRange', mas, 'max', max);
  if (masFindSetup(mas, max)) return setupEntry;
  return masNextSlot(mas, max, true);
}

/** @kernel mas_find_rev_setup (lib/maple_tree.c) */
function masFindRevSetup(mas: MaState, min: number): boolean {
  masRestartIfNodeless(mas);
  setupEntry = undefined;
  switch (mas.status) {
    case ma_active:
      return mas.index < min;
    case ma_start:
      break;
    case ma_pause:
      if (mas.index <= min) {
        mas.status = ma_underflow;
        return true;
      }
      mas.index--;
      mas.last = mas.index;
      mas.status = ma_start;
      break;
    case ma_none:
      if (mas.index <= min) {
        mas.status = ma_none;
        return true;
      }
      mas.last = mas.index;
      mas.status = ma_start;
      break;
    case ma_overflow:
      if (mas.index <= min) {
        mas.status = ma_underflow;
        return true;
      }
      mas.status = ma_active;
      break;
    case ma_underflow:
      if (mas.index <= min) return true;
      mas.status = ma_active;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_start) {
    if (mas.index < min) return true;
    setupEntry = masWalkInner(mas);
    if (setupEntry !== undefined) return true;
  }
  if (mas.status === ma_root) {
    mas.status = ma_none;
    return true;
  }
  if (mas.status === ma_none) {
    mas.last = 0;
    mas.index = 0;
    mas.status = ma_root;
    setupEntry = mas.tree.rootEntry;
    return true;
  }
  return mas.index < min;
}

/** @kernel mas_find_rev (lib/maple_tree.c) */
export function masFindRev(mas: MaState, min: number): unknown {
  checkStep('masFindRev', mas, 'min', min);
  if (masFindRevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, false);
}

/** @kernel mas_find_range_rev (lib/maple_tree.c) */
export function masFindRangeRev(mas: MaState, min: number): unknown {
  checkStep('masFindRangeRev', mas, 'min', min);
  if (masFindRevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, true);
}

// ---------------------------------------------------------------- gaps

/** @kernel mas_sparse_area (lib/maple_tree.c) */
function masSparseArea(mas: MaState, min: number, max: number, size: number, fwd: boolean): number {
  if (mas.status !== ma_none && min === 0) {
    min++;
    if (min > max || max - min + 1 < size) return -EBUSY;
  }
  if (fwd) {
    mas.index = min;
    mas.last = min + size - 1;
  } else {
    mas.last = max;
    mas.index = max - size + 1;
  }
  return 0;
}

// Explicit descent stack of the gap searches (node, next offset, bounds).
const stNode = new Int32Array(34);
const stOff = new Int32Array(34);
const stMin = new Float64Array(34);
const stMax = new Float64Array(34);

/**
 * The gap search proper: a depth-first walk that enters a child only when its
 * recorded largest gap (`maple_arange_64`) can hold `size`, lowest slots first
 * (`rev` false) or highest first. Equivalent to the kernel's
 * `mas_awalk()`/`mas_rev_awalk()` with their ascend/skip/rewind steps, but
 * keeps the path on a stack instead of re-deriving bounds through parents.
 * Leaves `mas` on the leaf slot of the gap. Returns 0 or -EBUSY.
 */
function gapSearch(mas: MaState, min: number, max: number, size: number, rev: boolean): number {
  const mt = mas.tree;
  const st = mt.store;
  const piv = st.pivots;
  const slots = st.slots;
  const gaps = st.gaps;
  const gapIdx = st.gapIdx;
  const hasGaps = mtIsAlloc(mt);
  const leafDepth = mtHeight(mt) - 1;
  let d = 0;
  stNode[0] = mt.root;
  stOff[0] = rev ? piv[mt.root * S + 15]! : 0;
  stMin[0] = 0;
  stMax[0] = MAPLE_MAX;
  for (;;) {
    const n = stNode[d]!;
    const b = n * S;
    const e = piv[n * S + 15]!;
    const nmin = stMin[d]!;
    const nmax = stMax[d]!;
    let o = stOff[d]!;
    let next = -1;
    if (!rev) {
      let lo = o > 0 ? piv[b + o - 1]! + 1 : nmin;
      for (; o <= e; o++) {
        const hi = o < e ? piv[b + o]! : nmax;
        if (hi >= min) {
          if (lo > max) return -EBUSY;
          if (d === leafDepth) {
            if (slots[b + o] === undefined) {
              const s0 = Math.max(lo, min);
              const t0 = Math.min(hi, max);
              if (t0 - s0 + 1 >= size) {
                mas.index = s0;
                mas.last = s0 + size - 1;
                next = o;
                break;
              }
            }
          } else if (!hasGaps || gaps[gapIdx[n]! * GS + o]! >= size) {
            stOff[d] = o + 1;
            d++;
            stNode[d] = slots[b + o] as number;
            stOff[d] = 0;
            stMin[d] = lo;
            stMax[d] = hi;
            next = -2;
            break;
          }
        }
        lo = hi + 1;
      }
    } else {
      for (; o >= 0; o--) {
        const lo = o > 0 ? piv[b + o - 1]! + 1 : nmin;
        if (lo <= max) {
          const hi = o < e ? piv[b + o]! : nmax;
          if (hi < min) return -EBUSY;
          if (lo === 0 && max === MAPLE_MAX) {
            // The kernel's fit test `size <= mas->last - min + 1` wraps to 0
            // in unsigned long arithmetic here, so mas_rev_awalk never takes
            // a slot starting at 0 when the window ends at ULONG_MAX
            // (Linux 7.2 and earlier; found by the differential test).
          } else if (d === leafDepth) {
            if (slots[b + o] === undefined) {
              const s0 = Math.max(lo, min);
              const t0 = Math.min(hi, max);
              if (t0 - s0 + 1 >= size) {
                mas.last = t0;
                mas.index = t0 - size + 1;
                next = o;
                break;
              }
            }
          } else if (!hasGaps || gaps[gapIdx[n]! * GS + o]! >= size) {
            stOff[d] = o - 1;
            d++;
            const c = slots[b + o] as number;
            stNode[d] = c;
            stOff[d] = piv[c * S + 15]!;
            stMin[d] = lo;
            stMax[d] = hi;
            next = -2;
            break;
          }
        }
      }
    }
    if (next >= 0) {
      mas.node = n;
      mas.offset = next;
      mas.min = nmin;
      mas.max = nmax;
      mas.end = e;
      mas.depth = d;
      mas.status = ma_active;
      return 0;
    }
    if (next === -2) continue;
    if (d === 0) return -EBUSY;
    d--;
  }
}

/**
 * The lowest-first gap search (see {@link gapSearch}), kept separate and
 * flat: the bounds of the current node live in locals and only a descent
 * pushes a frame, so the common search (straight down the left edge, then a
 * few leaf slots) touches the stack once per level.
 */
function gapSearchFwd(mas: MaState, min: number, max: number, size: number): number {
  const mt = mas.tree;
  const st = mt.store;
  const piv = st.pivots;
  const slots = st.slots;
  const gaps = st.gaps;
  const gapIdx = st.gapIdx;
  const flags = mt.flags;
  const hasGaps = (flags & MT_FLAGS_ALLOC_RANGE) !== 0;
  const leafDepth = ((flags & MT_FLAGS_HEIGHT_MASK) >>> MT_FLAGS_HEIGHT_OFFSET) - 1;
  const sn = stNode;
  const so = stOff;
  const smin = stMin;
  const smax = stMax;
  let d = 0;
  let n = mt.root;
  let o = 0;
  let nmin = 0;
  let nmax = MAX;
  for (;;) {
    const b = n * S;
    const e = piv[b + 15]!;
    let lo = o > 0 ? piv[b + o - 1]! + 1 : nmin;
    if (d === leafDepth) {
      for (; o <= e; o++) {
        const hi = o < e ? piv[b + o]! : nmax;
        if (hi >= min) {
          if (lo > max) return -EBUSY;
          if (slots[b + o] === undefined) {
            const s0 = Math.max(lo, min);
            const t0 = Math.min(hi, max);
            if (t0 - s0 + 1 >= size) {
              mas.index = s0;
              mas.last = s0 + size - 1;
              mas.node = n;
              mas.offset = o;
              mas.min = nmin;
              mas.max = nmax;
              mas.end = e;
              mas.depth = d;
              mas.status = ma_active;
              return 0;
            }
          }
        }
        lo = hi + 1;
      }
    } else {
      let down = false;
      for (; o <= e; o++) {
        const hi = o < e ? piv[b + o]! : nmax;
        if (hi >= min) {
          if (lo > max) return -EBUSY;
          if (!hasGaps || gaps[gapIdx[n]! * GS + o]! >= size) {
            sn[d] = n;
            so[d] = o + 1;
            smin[d] = nmin;
            smax[d] = nmax;
            d++;
            n = slots[b + o] as number;
            o = 0;
            nmin = lo;
            nmax = hi;
            down = true;
            break;
          }
        }
        lo = hi + 1;
      }
      if (down) continue;
    }
    if (d === 0) return -EBUSY;
    d--;
    n = sn[d]!;
    o = so[d]!;
    nmin = smin[d]!;
    nmax = smax[d]!;
  }
}

/**
 * Whether a gap search can see gaps below the root. Without
 * MT_FLAGS_ALLOC_RANGE internal nodes keep no gaps and the kernel's search
 * only counts NULL slots as gaps; an internal node never has one, so a tree
 * taller than one leaf answers -EBUSY (checked against lib/maple_tree.c 7.2).
 */
function gapsTracked(mt: Mtree): boolean {
  return mtIsAlloc(mt) || mtHeight(mt) <= 1;
}

/** @kernel mas_empty_area (lib/maple_tree.c) */
export function masEmptyArea(mas: MaState, min: number, max: number, size: number): number {
  checkMas('masEmptyArea', mas);
  checkTree(mas.tree, 'masEmptyArea');
  checkIndex('masEmptyArea', 'min', min);
  checkIndex('masEmptyArea', 'max', max);
  checkCount('masEmptyArea', 'size', size);
  if (min > max) return -EINVAL;
  if (size === 0 || max - min < size - 1) return -EINVAL;
  // Departure: a search always starts from the root (callers reset between searches).
  if (mas.tree.root === 0) {
    mas.status = ma_start;
    masStart(mas);
    return masSparseArea(mas, min, max, size, true);
  }
  // gapSearchFwd() sets the whole position on success; on failure the state
  // is left as mas_start() put it, then marked with the error.
  const ret = gapsTracked(mas.tree) ? gapSearchFwd(mas, min, max, size) : -EBUSY;
  if (ret !== 0) {
    mas.status = ma_start;
    masStart(mas);
    masSetErr(mas, ret);
  }
  return ret;
}

/** @kernel mas_empty_area_rev (lib/maple_tree.c) */
export function masEmptyAreaRev(mas: MaState, min: number, max: number, size: number): number {
  checkMas('masEmptyAreaRev', mas);
  checkTree(mas.tree, 'masEmptyAreaRev');
  checkIndex('masEmptyAreaRev', 'min', min);
  checkIndex('masEmptyAreaRev', 'max', max);
  checkCount('masEmptyAreaRev', 'size', size);
  if (min > max) return -EINVAL;
  if (size === 0 || max - min < size - 1) return -EINVAL;
  if (mas.tree.root === 0) {
    mas.status = ma_start;
    masStart(mas);
    return masSparseArea(mas, min, max, size, false);
  }
  // As in masEmptyArea(): the search sets the whole position on success.
  const ret = gapsTracked(mas.tree) ? gapSearch(mas, min, max, size, true) : -EBUSY;
  if (ret !== 0) {
    mas.status = ma_start;
    masStart(mas);
    masSetErr(mas, ret);
  }
  return ret;
}

// ---------------------------------------------------------------- writes

/** Ask the allocator for `count` nodes into the state's sheaf. */
function masNodeCount(mas: MaState, count: number, gfp: number): void {
  const mt = mas.tree;
  const have = mas.sheaf === null ? 0 : mas.sheaf.size;
  if (have >= count) return;
  if (mas.sheaf !== null) {
    mt.stats.returned += mas.sheaf.size;
    mt.allocator.returnSheaf(mas.sheaf);
    mas.sheaf = null;
  }
  mt.stats.requested += count;
  mt.stats.bulkRequests++;
  const sheaf = mt.allocator.prefillSheaf(count, gfp);
  if (sheaf === null) {
    mt.stats.failedRequests++;
    mas.nodeRequest = count;
    masSetErr(mas, -ENOMEM);
    return;
  }
  mt.stats.allocated += sheaf.size;
  mas.sheaf = sheaf;
}

/** Walk, pick the store type and preallocate its worst case (GFP_NOWAIT). @kernel mas_wr_preallocate */
function masWrPreallocate(mas: MaState, entry: unknown, gfp: number): number {
  mas.status = ma_start;
  const type = masWrStoreType(mas, entry);
  mas.storeType = type;
  const request = masPreallocCalc(mas.tree, type, mas.index, mas.last);
  mas.nodeRequest = request;
  if (request > 0) masNodeCount(mas, request, gfp);
  return type;
}

/** What `mas_start()` reports for the tree's root: a node, a direct entry, or nothing. */
function rootStatus(mt: Mtree): number {
  if (mt.root !== 0) return ma_active;
  return mt.rootEntry !== undefined ? ma_root : ma_none;
}

/**
 * Leave the state where the kernel's store leaves it: active on the range just
 * written; after a store into an empty or direct-entry root, as
 * `mas_store_root()` does (a NULL store keeps `mas_start()`'s status, a direct
 * entry at 0 restarts); after a NULL `mas_new_root()`, restarted.
 * `pre` is {@link rootStatus} before the write.
 */
function masPositionAfterWrite(mas: MaState, entry: unknown, pre: number): void {
  const type = mas.storeType;
  if (type === wr_store_root) {
    if (entry === undefined) {
      mas.status = pre;
      return;
    }
    if (mas.index === 0 && mas.last === 0) {
      mas.status = ma_start;
      return;
    }
    // mas_root_expand(): active on the new leaf at the entry's slot, the
    // range as stored, and `end` left as it was (the kernel does not set it).
    const index = mas.index;
    mas.node = mas.tree.root;
    mas.min = 0;
    mas.max = MAPLE_MAX;
    mas.depth = 0;
    mas.offset = index === 0 ? 0 : pre === ma_root && index > 1 ? 2 : 1;
    mas.status = ma_active;
    return;
  } else if (type === wr_new_root && entry === undefined) {
    mas.status = ma_start;
    return;
  }
  mas.status = ma_start;
  masStateWalk(mas);
}

/** @kernel mas_store (lib/maple_tree.c) */
export function masStore(mas: MaState, entry: unknown): unknown {
  checkMas('masStore', mas);
  const mt = mas.tree;
  checkTree(mt, 'masStore');
  checkWriteLock(mt);
  if (mas.index > mas.last) {
    masSetErr(mas, -EINVAL);
    return undefined;
  }
  mas.status = ma_start;
  const type = masWrStoreType(mas, entry);
  mas.storeType = type;
  const content = wr.content;
  const pre = rootStatus(mt);
  if ((mas.masFlags & MA_STATE_PREALLOC) !== 0) {
    masWrStore(mas, entry, type);
    masPositionAfterWrite(mas, entry, pre);
    return content;
  }
  const request = masPreallocCalc(mt, type, mas.index, mas.last);
  if (request > 0) {
    masNodeCount(mas, request, GFP_NOWAIT);
    if (mas.status === ma_error) return undefined;
  }
  masWrStore(mas, entry, type);
  masDestroy(mas);
  masPositionAfterWrite(mas, entry, pre);
  return content;
}

/** @kernel mas_store_gfp (lib/maple_tree.c) */
export function masStoreGfp(mas: MaState, entry: unknown, gfp: number): number {
  checkMas('masStoreGfp', mas);
  checkGfp('masStoreGfp', gfp);
  const mt = mas.tree;
  checkTree(mt, 'masStoreGfp');
  checkWriteLock(mt);
  const pre = rootStatus(mt);
  const ret = storeGfpInner(mas, entry, gfp);
  if (ret === 0) masPositionAfterWrite(mas, entry, pre);
  return ret;
}

function storeGfpInner(mas: MaState, entry: unknown, gfp: number): number {
  const index = mas.index;
  const last = mas.last;
  if (index > last) return -EINVAL;
  let type: number;
  for (;;) {
    type = masWrPreallocate(mas, entry, GFP_NOWAIT);
    if (masNomem(mas, gfp)) {
      mas.index = index;
      mas.last = last;
      continue;
    }
    break;
  }
  let ret = 0;
  if (mas.status === ma_error) ret = mas.error;
  else masWrStore(mas, entry, type);
  masDestroy(mas);
  return ret;
}

/** @kernel mas_store_prealloc (lib/maple_tree.c) */
export function masStorePrealloc(mas: MaState, entry: unknown): void {
  checkMas('masStorePrealloc', mas);
  const mt = mas.tree;
  checkTree(mt, 'masStorePrealloc');
  checkWriteLock(mt);
  mas.status = ma_start;
  const type = masWrStoreType(mas, entry);
  mas.storeType = type;
  const pre = rootStatus(mt);
  masWrStore(mas, entry, type);
  masDestroy(mas);
  masPositionAfterWrite(mas, entry, pre);
}

/** @kernel mas_preallocate (lib/maple_tree.c) */
export function masPreallocate(mas: MaState, entry: unknown, gfp: number): number {
  checkMas('masPreallocate', mas);
  checkGfp('masPreallocate', gfp);
  const mt = mas.tree;
  checkTree(mt, 'masPreallocate');
  const index = mas.index;
  const last = mas.last;
  masWrPreallocate(mas, entry, gfp);
  mas.index = index;
  mas.last = last;
  if (mas.status === ma_error) {
    const ret = mas.error;
    masDestroy(mas);
    mas.status = ma_start;
    return ret;
  }
  mas.status = ma_start;
  mas.masFlags |= MA_STATE_PREALLOC;
  return 0;
}

/** @kernel mas_nomem (lib/maple_tree.c) */
export function masNomem(mas: MaState, gfp: number): boolean {
  checkGfp('masNomem', gfp);
  if (mas.status !== ma_error || mas.error !== -ENOMEM) return false;
  const mt = mas.tree;
  const count = mas.nodeRequest;
  mt.stats.requested += count;
  mt.stats.bulkRequests++;
  const sheaf = mt.allocator.prefillSheaf(count, gfp);
  if (sheaf === null) {
    mt.stats.failedRequests++;
    return false;
  }
  mt.stats.allocated += sheaf.size;
  if (mas.sheaf !== null) {
    mt.stats.returned += mas.sheaf.size;
    mt.allocator.returnSheaf(mas.sheaf);
  }
  mas.sheaf = sheaf;
  mas.status = ma_start;
  mas.error = 0;
  return true;
}

/** @kernel mas_destroy (lib/maple_tree.c) */
export function masDestroy(mas: MaState): void {
  if ((mas.masFlags & (MA_STATE_REBALANCE | MA_STATE_BULK)) !== 0) {
    masBulkRebalance(mas);
    mas.masFlags &= ~MA_STATE_REBALANCE;
  }
  mas.masFlags &= ~(MA_STATE_BULK | MA_STATE_PREALLOC);
  const reuse = mas.reuse;
  if (reuse.length > 0) {
    const mt = mas.tree;
    for (let i = 0; i < reuse.length; i++) mt.allocator.free(reuse[i]!);
    mt.stats.freed += reuse.length;
    reuse.length = 0;
  }
  if (mas.sheaf !== null) {
    const mt = mas.tree;
    mt.stats.returned += mas.sheaf.size;
    mt.allocator.returnSheaf(mas.sheaf);
    mas.sheaf = null;
  }
}

/** @kernel mas_expected_entries (lib/maple_tree.c) */
export function masExpectedEntries(mas: MaState, nrEntries: number): number {
  checkCount('masExpectedEntries', 'nrEntries', nrEntries);
  const mt = mas.tree;
  checkTree(mt, 'masExpectedEntries');
  let nonleafCap = 10 - 2;
  mas.masFlags |= MA_STATE_BULK;
  let nrNodes = Math.max(nrEntries, nrEntries * 2 + 1);
  if (!mtIsAlloc(mt)) nonleafCap = 16 - 2;
  nrNodes = Math.ceil(nrNodes / (16 - 2));
  nrNodes += Math.ceil(nrNodes / nonleafCap);
  masNodeCount(mas, nrNodes + 3, GFP_KERNEL);
  mas.masFlags |= MA_STATE_PREALLOC;
  if (mas.status !== ma_error) return 0;
  const ret = mas.error;
  mas.status = ma_start;
  masDestroy(mas);
  return ret;
}

/** @kernel mas_erase (lib/maple_tree.c) */
export function masErase(mas: MaState): unknown {
  checkMas('masErase', mas);
  return masEraseInner(mas, true);
}

/**
 * {@link masErase}; `position` false skips leaving the state on the emptied
 * range (a re-walk from the root) for callers whose state is thrown away
 * (`mtree_erase()`'s on-stack state).
 */
function masEraseInner(mas: MaState, position: boolean): unknown {
  const mt = mas.tree;
  checkTree(mt);
  checkWriteLock(mt);
  const index = mas.index;
  for (;;) {
    mas.status = ma_start;
    let entry: unknown;
    let type: number;
    if (mt.root === 0) {
      entry = masStateWalk(mas);
      if (entry === undefined) return undefined;
      type = masWrPreallocate(mas, undefined, GFP_NOWAIT);
    } else {
      // One walk finds the range and decides the store type (the kernel walks twice).
      type = masWrStoreTypeErase(mas);
      if (type < 0) {
        // Nothing to erase: like the kernel, leave the state on the empty range.
        mas.status = ma_start;
        if (position) masStateWalk(mas);
        return undefined;
      }
      entry = wr.content;
      mas.storeType = type;
      const request = masPreallocCalc(mt, type, mas.index, mas.last);
      mas.nodeRequest = request;
      if (request > 0) masNodeCount(mas, request, GFP_NOWAIT);
    }
    if (masNomem(mas, GFP_KERNEL)) {
      mas.index = index;
      mas.last = index;
      continue;
    }
    if (mas.status !== ma_error) {
      const pre = rootStatus(mt);
      masWrStore(mas, undefined, type);
      masDestroy(mas);
      // Like the kernel, leave the state on the range now empty.
      if (position) masPositionAfterWrite(mas, undefined, pre);
      return entry;
    }
    masDestroy(mas);
    return entry;
  }
}

/**
 * Insert when [index, last] is empty, else `-EEXIST` in the state.
 * @kernel mas_insert (lib/maple_tree.c)
 */
function masInsert(mas: MaState, entry: unknown): void {
  mas.status = ma_start;
  const content = masStart(mas);
  if (content !== undefined) {
    masSetErr(mas, -EEXIST);
    return;
  }
  const type = masWrPreallocate(mas, entry, GFP_NOWAIT);
  if (mas.status === ma_error) return;
  if (type === wr_spanning_store) {
    masSetErr(mas, -EEXIST);
    return;
  }
  if (type !== wr_new_root && type !== wr_store_root) {
    if (wr.content !== undefined || mas.last > wr.rMax) {
      masSetErr(mas, -EEXIST);
      return;
    }
  }
  masWrStore(mas, entry, type);
}

// ---------------------------------------------------------------- normal API

/**
 * A new, empty tree.
 * @kernel mt_init_flags (include/linux/maple_tree.h)
 */
export function mtreeInit(flags = 0, opts: MtreeOptions = {}): Mtree {
  checkFlags('mtreeInit', flags);
  checkObject('mtreeInit', 'opts', opts);
  return new Mtree(flags, opts);
}

/**
 * Re-initialise `mt` (empty, with `flags`), also after {@link mtreeDestroy}.
 * @kernel mt_init_flags (include/linux/maple_tree.h)
 */
export function mtInitFlags(mt: Mtree, flags: number): void {
  checkTreeObject('mtInitFlags', mt);
  checkFlags('mtInitFlags', flags);
  if (mt.root !== 0 && !mt.destroyed) mtreeDestroy(mt);
  mt.flags = flags & ~MT_FLAGS_HEIGHT_MASK;
  mt.root = 0;
  mt.rootEntry = undefined;
  mt.destroyed = false;
  mt.gen++;
}

/** True when the tree holds nothing. @kernel mtree_empty (include/linux/maple_tree.h) */
export function mtreeEmpty(mt: Mtree): boolean {
  checkTreeObject('mtreeEmpty', mt);
  return mt.root === 0 && mt.rootEntry === undefined;
}

/**
 * The entry at `index` (`undefined` when empty; the zero entry reads as empty).
 * @kernel mtree_load (lib/maple_tree.c)
 */
export function mtreeLoad(mt: Mtree, index: number): unknown {
  if (!(mt instanceof Mtree) || mt.destroyed) checkTreeArg('mtreeLoad', mt);
  if (!(index >= 0 && index <= MAX && Number.isInteger(index))) checkIndex('mtreeLoad', 'index', index);
  let n = mt.root;
  if (n === 0) {
    if (index !== 0) return undefined;
    const e = mt.rootEntry;
    return e === XA_ZERO_ENTRY ? undefined : e;
  }
  const st = mt.store;
  const piv = st.pivots;
  const slots = st.slots;
  let levels = (mt.flags & MT_FLAGS_HEIGHT_MASK) >>> 2;
  for (;;) {
    const b = n * S;
    // pivot[end] holds the node's max, so the scan needs no data end (one
    // cache line less per level, as the kernel's mtree_lookup_walk).
    let o = 0;
    while (o < 15 && piv[b + o]! < index) o++;
    if (--levels === 0) {
      const v = st.slots[b + o];
      return v === XA_ZERO_ENTRY ? undefined : v;
    }
    n = slots[b + o] as number;
  }
}

/** A reusable maple state for the normal API (no allocation per call). */
function scratchState(mt: Mtree, first: number, last: number): MaState {
  let mas = mt.scratchState as MaState | null;
  if (mas === null) {
    mas = new MaState(mt, first, last);
    mt.scratchState = mas;
  }
  mas.index = first;
  mas.last = last;
  mas.status = ma_start;
  mas.node = 0;
  mas.error = 0;
  mas.masFlags = 0;
  return mas;
}

function checkRange(fn: string, first: number, last: number, a = 'first', b = 'last'): void {
  checkIndex(fn, a, first);
  checkIndex(fn, b, last);
}

function takeLock(mt: Mtree): boolean {
  if (mt.externalLock !== null) {
    checkWriteLock(mt);
    return false;
  }
  if (mt.lockHeld) return false;
  mt.lockHeld = true;
  return true;
}

/**
 * Store `entry` over [index, last] (`undefined` erases the range).
 * @returns 0, -EINVAL (index > last, or the zero entry) or -ENOMEM.
 * @remarks Context: takes the tree lock itself.
 * @kernel mtree_store_range (lib/maple_tree.c)
 */
export function mtreeStoreRange(mt: Mtree, index: number, last: number, entry: unknown, gfp = GFP_KERNEL): number {
  return storeRange('mtreeStoreRange', mt, index, last, entry, gfp, 'first');
}

function storeRange(
  fn: string,
  mt: Mtree,
  index: number,
  last: number,
  entry: unknown,
  gfp: number,
  a: string,
): number {
  checkTreeArg(fn, mt);
  checkRange(fn, index, last, a, 'last');
  checkGfp(fn, gfp);
  if (entry === XA_ZERO_ENTRY) return -EINVAL;
  if (index > last) return -EINVAL;
  const took = takeLock(mt);
  const mas = scratchState(mt, index, last);
  const ret = storeGfpInner(mas, entry, gfp);
  if (took) mt.lockHeld = false;
  return ret;
}

/**
 * Store `entry` at `index`.
 * @kernel mtree_store (lib/maple_tree.c)
 */
export function mtreeStore(mt: Mtree, index: number, entry: unknown, gfp = GFP_KERNEL): number {
  return storeRange('mtreeStore', mt, index, index, entry, gfp, 'index');
}

/**
 * Insert `entry` over [first, last] if the whole range is empty.
 * @returns 0, or -EEXIST / -EINVAL / -ENOMEM.
 * @remarks Context: takes the tree lock itself.
 * @kernel mtree_insert_range (lib/maple_tree.c)
 */
export function mtreeInsertRange(mt: Mtree, first: number, last: number, entry: unknown, gfp = GFP_KERNEL): number {
  return insertRange('mtreeInsertRange', mt, first, last, entry, gfp, 'first');
}

function insertRange(
  fn: string,
  mt: Mtree,
  first: number,
  last: number,
  entry: unknown,
  gfp: number,
  a: string,
): number {
  checkTreeArg(fn, mt);
  checkRange(fn, first, last, a, 'last');
  checkGfp(fn, gfp);
  if (entry === XA_ZERO_ENTRY) return -EINVAL;
  if (first > last) return -EINVAL;
  const took = takeLock(mt);
  const mas = scratchState(mt, first, last);
  for (;;) {
    masInsert(mas, entry);
    if (masNomem(mas, gfp)) {
      mas.index = first;
      mas.last = last;
      continue;
    }
    break;
  }
  if (took) mt.lockHeld = false;
  const ret = mas.status === ma_error ? mas.error : 0;
  masDestroy(mas);
  return ret;
}

/**
 * Insert `entry` at `index` if empty.
 * @kernel mtree_insert (lib/maple_tree.c)
 */
export function mtreeInsert(mt: Mtree, index: number, entry: unknown, gfp = GFP_KERNEL): number {
  return insertRange('mtreeInsert', mt, index, index, entry, gfp, 'index');
}

function allocRange(
  mt: Mtree,
  startp: { start: number },
  entry: unknown,
  size: number,
  min: number,
  max: number,
  gfp: number,
  rev: boolean,
): number {
  const fn = rev ? 'mtreeAllocRrange' : 'mtreeAllocRange';
  checkTreeArg(fn, mt);
  checkObject(fn, 'startp', startp);
  checkCount(fn, 'size', size);
  checkRange(fn, min, max, 'min', 'max');
  checkGfp(fn, gfp);
  if (!mtIsAlloc(mt)) return -EINVAL;
  if (entry === XA_ZERO_ENTRY) return -EINVAL;
  const took = takeLock(mt);
  const mas = scratchState(mt, 0, 0);
  let ret: number;
  for (;;) {
    ret = rev ? masEmptyAreaRev(mas, min, max, size) : masEmptyArea(mas, min, max, size);
    if (ret !== 0) break;
    masInsert(mas, entry);
    if (masNomem(mas, gfp)) continue;
    if (mas.status === ma_error) ret = mas.error;
    else startp.start = mas.index;
    break;
  }
  if (took) mt.lockHeld = false;
  masDestroy(mas);
  return ret;
}

/**
 * Find the lowest free range of `size` in [min, max], store `entry` there and
 * report its start in `startp.start`.
 * @returns 0, -EBUSY (no room), -EINVAL (not an allocation tree, bad size) or -ENOMEM.
 * @kernel mtree_alloc_range (lib/maple_tree.c)
 */
export function mtreeAllocRange(
  mt: Mtree,
  startp: { start: number },
  entry: unknown,
  size: number,
  min: number,
  max: number,
  gfp = GFP_KERNEL,
): number {
  return allocRange(mt, startp, entry, size, min, max, gfp, false);
}

/**
 * Like {@link mtreeAllocRange} but the highest free range.
 * @kernel mtree_alloc_rrange (lib/maple_tree.c)
 */
export function mtreeAllocRrange(
  mt: Mtree,
  startp: { start: number },
  entry: unknown,
  size: number,
  min: number,
  max: number,
  gfp = GFP_KERNEL,
): number {
  return allocRange(mt, startp, entry, size, min, max, gfp, true);
}

function checkCyclicArgs(
  fn: string,
  startp: MtCyclicCell,
  rangeLo: number,
  rangeHi: number,
  next: MtCyclicCell,
  gfp: number,
): void {
  checkObject(fn, 'startp', startp);
  checkIndex(fn, 'rangeLo', rangeLo);
  checkIndex(fn, 'rangeHi', rangeHi);
  checkObject(fn, 'next', next);
  checkIndex(fn, 'next.value', next.value);
  checkGfp(fn, gfp);
}

/** In/out cell of {@link mtreeAllocCyclic} (the kernel's `unsigned long *`). */
export interface MtCyclicCell {
  value: number;
}

/**
 * Find the lowest free index in [max(rangeLo, next.value), rangeHi], or,
 * when there is none, in [rangeLo, rangeHi] (the search wraps); insert
 * `entry` there, report the index in `startp.value` and move `next.value`
 * just past it. `next.value` wraps to 0 after MAPLE_MAX, which sets
 * `MT_FLAGS_ALLOC_WRAPPED` on the tree; the next successful call clears the
 * flag and reports the wrap. The state is left on the new entry.
 * @returns 0, 1 when the search wrapped (or the flag was set), -EBUSY when
 *   the range is full, -EINVAL for an empty range, -ENOMEM.
 * @remarks Context: the caller holds the tree's lock.
 * @kernel mas_alloc_cyclic (lib/maple_tree.c)
 */
export function masAllocCyclic(
  mas: MaState,
  startp: MtCyclicCell,
  entry: unknown,
  rangeLo: number,
  rangeHi: number,
  next: MtCyclicCell,
  gfp = GFP_KERNEL,
): number {
  checkMas('masAllocCyclic', mas);
  const mt = mas.tree;
  checkTree(mt, 'masAllocCyclic');
  checkCyclicArgs('masAllocCyclic', startp, rangeLo, rangeHi, next, gfp);
  checkWriteLock(mt);
  const min = rangeLo;
  let ret: number;
  for (;;) {
    const lo = Math.max(min, next.value);
    ret = masEmptyArea(mas, lo, rangeHi, 1);
    if (ret < 0 && lo > min) {
      mas.reset();
      ret = masEmptyArea(mas, min, rangeHi, 1);
      if (ret === 0) ret = 1;
    }
    if (ret < 0) {
      masDestroy(mas);
      return ret;
    }
    masInsert(mas, entry);
    if (!masNomem(mas, gfp)) break;
  }
  if (mas.status === ma_error) {
    ret = mas.error;
    masDestroy(mas);
    return ret;
  }
  if ((mt.flags & MT_FLAGS_ALLOC_WRAPPED) !== 0 && ret === 0) {
    mt.flags &= ~MT_FLAGS_ALLOC_WRAPPED;
    ret = 1;
  }
  startp.value = mas.index;
  // `*next = *startp + 1` in unsigned long arithmetic: MAPLE_MAX + 1 is 0.
  next.value = mas.index === MAPLE_MAX ? 0 : mas.index + 1;
  if (next.value === 0) mt.flags |= MT_FLAGS_ALLOC_WRAPPED;
  masDestroy(mas);
  return ret;
}

/**
 * Allocate an index cyclically: the lowest free index at or after
 * `next.value` within [rangeLo, rangeHi], wrapping around to `rangeLo`; store
 * `entry` there, report it in `startp.value` and advance `next.value`
 * (see {@link masAllocCyclic}). The tree must track gaps.
 * @returns 0, 1 when the allocation wrapped, -EBUSY (range full), -EINVAL (not
 *   an allocation tree, the zero entry, or rangeLo > rangeHi) or -ENOMEM.
 * @remarks Context: takes the tree lock itself.
 * @kernel mtree_alloc_cyclic (lib/maple_tree.c)
 */
export function mtreeAllocCyclic(
  mt: Mtree,
  startp: MtCyclicCell,
  entry: unknown,
  rangeLo: number,
  rangeHi: number,
  next: MtCyclicCell,
  gfp = GFP_KERNEL,
): number {
  checkTreeArg('mtreeAllocCyclic', mt);
  checkCyclicArgs('mtreeAllocCyclic', startp, rangeLo, rangeHi, next, gfp);
  if (!mtIsAlloc(mt)) return -EINVAL;
  if (entry === XA_ZERO_ENTRY) return -EINVAL;
  const took = takeLock(mt);
  const mas = scratchState(mt, 0, 0);
  const ret = masAllocCyclic(mas, startp, entry, rangeLo, rangeHi, next, gfp);
  if (took) mt.lockHeld = false;
  return ret;
}

/**
 * Erase the whole range holding `index`; returns the entry it held.
 * @remarks Context: takes the tree lock itself.
 * @kernel mtree_erase (lib/maple_tree.c)
 */
export function mtreeErase(mt: Mtree, index: number): unknown {
  checkTreeArg('mtreeErase', mt);
  checkIndex('mtreeErase', 'index', index);
  const took = takeLock(mt);
  const mas = scratchState(mt, index, index);
  // The scratch state is reset by its next user: no need to position it.
  const entry = masEraseInner(mas, false);
  if (took) mt.lockHeld = false;
  return entry;
}

/**
 * Free every node; the tree is then unusable until re-initialised.
 * @kernel mtree_destroy (lib/maple_tree.c)
 */
export function mtreeDestroy(mt: Mtree): void {
  checkTreeArg('mtreeDestroy', mt);
  freeAll(mt);
  mt.destroyed = true;
}

/**
 * Free every node and leave an empty, usable tree.
 * @kernel __mt_destroy (lib/maple_tree.c)
 */
export function __mtDestroy(mt: Mtree): void {
  checkTreeArg('__mtDestroy', mt);
  freeAll(mt);
}

function freeAll(mt: Mtree): void {
  mt.gen++;
  const root = mt.root;
  const h = mtHeight(mt);
  mt.root = 0;
  mt.rootEntry = undefined;
  mtSetHeight(mt, 0);
  if (root === 0) return;
  const st = mt.store;
  const list: number[] = [];
  const stack: number[] = [root, 0];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const n = stack.pop()!;
    list.push(n);
    if (d < h - 1) for (let i = 0; i <= st.pivots[n * S + 15]!; i++) stack.push(st.slots[n * S + i] as number, d + 1);
  }
  if (mtInRcu(mt)) {
    for (const n of list) st.dead[n] = 1;
    mt.stats.rcuDeferred += list.length;
    const a = mt.allocator;
    mt.rcu.callRcu(() => {
      for (const n of list) a.free(n);
    });
  } else {
    for (const n of list) mt.allocator.free(n);
    mt.stats.freed += list.length;
  }
}

/** Output of {@link mtFind}: where the next search starts. */
export interface MtFindCursor {
  index: number;
}

/**
 * The first entry intersecting [cursor.index, max]; moves `cursor.index` past
 * it (to 0 when the entry ends at MAPLE_MAX, as `ULONG_MAX + 1` wraps).
 * @kernel mt_find (lib/maple_tree.c)
 */
export function mtFind(mt: Mtree, cursor: MtFindCursor, max: number): unknown {
  checkFindArgs('mtFind', mt, cursor, max);
  return mtFindInner(mt, cursor, max);
}

function checkFindArgs(fn: string, mt: Mtree, cursor: MtFindCursor, max: number): void {
  checkTreeArg(fn, mt);
  checkObject(fn, 'cursor', cursor);
  checkIndex(fn, 'cursor.index', cursor.index);
  checkIndex(fn, 'max', max);
}

function mtFindInner(mt: Mtree, cursor: MtFindCursor, max: number): unknown {
  if (cursor.index > max) return undefined;
  const mas = new MaState(mt, cursor.index, cursor.index);
  let entry = masStateWalk(mas);
  while (mas.status === ma_start) entry = masStateWalk(mas);
  if (entry === XA_ZERO_ENTRY) entry = undefined;
  if (entry === undefined) {
    while (mas.status === ma_active && mas.last < max) {
      entry = masNextSlot(mas, max, false);
      if (entry !== undefined && entry !== XA_ZERO_ENTRY) break;
    }
    if (entry === XA_ZERO_ENTRY) entry = undefined;
  }
  if (entry !== undefined) cursor.index = mas.last === MAPLE_MAX ? 0 : mas.last + 1;
  return entry;
}

/**
 * {@link mtFind}, but nothing when `cursor.index` wrapped to 0.
 * @kernel mt_find_after (lib/maple_tree.c)
 */
export function mtFindAfter(mt: Mtree, cursor: MtFindCursor, max: number): unknown {
  checkFindArgs('mtFindAfter', mt, cursor, max);
  if (cursor.index === 0) return undefined;
  return mtFindInner(mt, cursor, max);
}

/**
 * Call `fn(entry, first, last)` for every entry intersecting [index, max], in
 * order (the zero entry is skipped, as `mt_find()` does). `fn` must not modify
 * the tree.
 * @kernel mt_for_each (include/linux/maple_tree.h)
 */
export function mtForEach(
  mt: Mtree,
  fn: (entry: unknown, first: number, last: number) => void,
  index = 0,
  max = MAPLE_MAX,
): void {
  checkTreeArg('mtForEach', mt);
  checkFunction('mtForEach', 'fn', fn);
  checkIndex('mtForEach', 'index', index);
  checkIndex('mtForEach', 'max', max);
  if (index > max) return;
  if (mt.root === 0) {
    const e = mt.rootEntry;
    if (index === 0 && e !== undefined && e !== XA_ZERO_ENTRY) fn(e, 0, 0);
    return;
  }
  // A recursive walk (a node calls itself for its children): each call is
  // short, so the JIT optimises it within the first iteration of a large
  // tree, where one long loop would wait for on-stack replacement. Slots that
  // end below `index` are skipped on the way down, so the walk starts where
  // mas_find() would. In RCU mode it keeps reading the nodes it reached (a
  // writer replaces nodes without changing them and frees them after a grace
  // period), so it sees one consistent version of each node.
  const st = mt.store;
  forEachNode(st.pivots, st.slots, mt.root, mtHeight(mt) - 1, 0, MAPLE_MAX, index, max, fn);
}

/**
 * {@link mtForEach} below node `n` (bounds [min, nodeMax], `levels` above
 * the leaves); false once a range starts beyond `max`.
 */
function forEachNode(
  piv: Float64Array,
  slots: unknown[],
  n: number,
  levels: number,
  min: number,
  nodeMax: number,
  index: number,
  max: number,
  fn: (entry: unknown, first: number, last: number) => void,
): boolean {
  const b = n * S;
  const e = piv[b + 15]!;
  let o = 0;
  while (o < e && piv[b + o]! < index) o++;
  let lo = o > 0 ? piv[b + o - 1]! + 1 : min;
  if (levels === 0) return leafForEach(piv, slots, b, o, e, lo, nodeMax, max, fn);
  for (; o <= e; o++) {
    if (lo > max) return false;
    const hi = o < e ? piv[b + o]! : nodeMax;
    if (!forEachNode(piv, slots, slots[b + o] as number, levels - 1, lo, hi, index, max, fn)) return false;
    lo = hi + 1;
  }
  return true;
}

/**
 * Call `fn` for the entries of one leaf from slot `o` (starting at `lo`) to
 * the data end `e`; false once a range starts beyond `max`.
 */
function leafForEach(
  piv: Float64Array,
  slots: unknown[],
  b: number,
  o: number,
  e: number,
  lo: number,
  nodeMax: number,
  max: number,
  fn: (entry: unknown, first: number, last: number) => void,
): boolean {
  for (; o <= e; o++) {
    if (lo > max) return false;
    const hi = o < e ? piv[b + o]! : nodeMax;
    const v = slots[b + o];
    // Through Function.prototype.call: the JIT then calls `fn` generically
    // instead of inlining the one closure it saw, whose code would be thrown
    // away (a deoptimisation and a cold restart) when a caller passes a new
    // closure each time and the old one is collected.
    if (v !== undefined && v !== XA_ZERO_ENTRY) fn.call(undefined, v, lo, hi);
    lo = hi + 1;
  }
  return true;
}

/**
 * The next entry above `index`, up to `max`.
 * @kernel mt_next (lib/maple_tree.c)
 */
export function mtNext(mt: Mtree, index: number, max: number): unknown {
  checkTreeArg('mtNext', mt);
  checkIndex('mtNext', 'index', index);
  checkIndex('mtNext', 'max', max);
  const mas = new MaState(mt, index, index);
  return masNext(mas, max);
}

/**
 * The previous entry below `index`, down to `min`.
 * @kernel mt_prev (lib/maple_tree.c)
 */
export function mtPrev(mt: Mtree, index: number, min: number): unknown {
  checkTreeArg('mtPrev', mt);
  checkIndex('mtPrev', 'index', index);
  checkIndex('mtPrev', 'min', min);
  const mas = new MaState(mt, index, index);
  return masPrev(mas, min);
}

// ---------------------------------------------------------------- duplication

/**
 * Duplicate `mt` into the empty tree `dst` node by node (fork's bulk copy).
 * @returns 0, -EINVAL (attributes differ or `dst` not empty) or -ENOMEM (nothing left allocated).
 * @remarks Context: the caller holds both locks.
 * @kernel __mt_dup (lib/maple_tree.c)
 */
export function __mtDup(mt: Mtree, dst: Mtree, gfp = GFP_KERNEL): number {
  checkDupArgs('__mtDup', mt, dst, gfp);
  return mtDupInner(mt, dst, gfp);
}

function checkDupArgs(fn: string, mt: Mtree, dst: Mtree, gfp: number): void {
  checkTreeArg(fn, mt);
  checkTreeArg(fn, dst, 'dst');
  checkGfp(fn, gfp);
  if (dst === mt) throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: dst is the source tree`);
}

function mtDupInner(mt: Mtree, dst: Mtree, gfp: number): number {
  if (mtAttr(mt) !== mtAttr(dst) || !mtreeEmpty(dst)) return -EINVAL;
  if (mt.root === 0) {
    dst.rootEntry = mt.rootEntry;
    dst.flags = mt.flags;
    return 0;
  }
  const src = mt.store;
  const a = dst.allocator;
  const got: number[] = [];
  const h = mtHeight(mt);
  // Depth-first copy: (source node, depth, parent copy, slot).
  const stack: number[] = [mt.root, 0, 0, 0];
  let newRoot = 0;
  while (stack.length > 0) {
    const slot = stack.pop()!;
    const pcopy = stack.pop()!;
    const d = stack.pop()!;
    const n = stack.pop()!;
    const c = a.alloc(gfp);
    dst.stats.requested++;
    if (c === 0) {
      dst.stats.failedRequests++;
      for (const m of got) a.free(m);
      return -ENOMEM;
    }
    dst.stats.allocated++;
    dst.stats.used++;
    got.push(c);
    const ds = dst.store;
    ds.ensure(c);
    ds.init(c, src.type[n]!);
    const sb = n * S;
    const db = c * S;
    const e = src.pivots[n * S + 15]!;
    ds.pivots[c * S + 15] = e;
    ds.gapOffset[c] = src.gapOffset[n]!;
    for (let i = 0; i <= e && i < 15; i++) ds.pivots[db + i] = src.pivots[sb + i]!;
    if (d === h - 1) for (let i = 0; i <= e; i++) ds.slots[db + i] = src.slots[sb + i];
    else {
      {
        const dg = ds.gapIdx[c]! * GS;
        const sg = src.gapIdx[n]! * GS;
        for (let i = 0; i <= e; i++) ds.gaps[dg + i] = src.gaps[sg + i]!;
      }
      for (let i = e; i >= 0; i--) stack.push(src.slots[sb + i] as number, d + 1, c, i);
    }
    if (pcopy === 0) newRoot = c;
    else {
      ds.slots[pcopy * S + slot] = c;
      ds.parent[c] = pcopy;
      ds.parentSlot[c] = slot;
    }
  }
  dst.root = newRoot;
  dst.flags = mt.flags;
  dst.gen++;
  return 0;
}

/**
 * {@link __mtDup} taking both trees' locks.
 * @kernel mtree_dup (lib/maple_tree.c)
 */
export function mtreeDup(mt: Mtree, dst: Mtree, gfp = GFP_KERNEL): number {
  checkDupArgs('mtreeDup', mt, dst, gfp);
  const t1 = takeLock(dst);
  const t2 = takeLock(mt);
  const ret = mtDupInner(mt, dst, gfp);
  if (t2) mt.lockHeld = false;
  if (t1) dst.lockHeld = false;
  return ret;
}
