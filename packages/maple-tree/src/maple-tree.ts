/**
 * DOC: the normal API of lib/maple_tree.c and include/linux/maple_tree.h
 * (`mtree_*`, `mt_*`): init, load, store, insert, erase, destroy, `mt_find`,
 * `mt_for_each`, `mt_next`, `mt_prev`. Each call takes the tree lock itself
 * (unless an external lock is declared) and uses a reusable maple state.
 */
import { checkFunction, checkGfp, checkIndex, checkObject, isIndex } from './check.js';
import { EINVAL } from './errors.js';
import { GFP_KERNEL, type MAPLE_NODE_STRIDE } from './node-store.js';
import { MaState, ma_active, ma_error, ma_start } from './state.js';
import {
  checkRange,
  masDestroy,
  masEraseInner,
  masInsert,
  masNomem,
  scratchState,
  storeGfpInner,
  takeLock,
} from './store.js';
import {
  checkFlags,
  checkTree as checkTreeArg,
  checkTreeObject,
  checkTreeOptions,
  MAPLE_MAX,
  MT_FLAGS_HEIGHT_MASK,
  Mtree,
  type MtreeOptions,
  mtSetHeight,
  treeHeight,
  treeInRcu,
  XA_ZERO_ENTRY,
} from './tree.js';
import { masNext, masNextSlot, masPrev, masStateWalk } from './walk.js';

// Module-local copies of the node-store strides and MAPLE_MAX (their types pin
// them to the exported values): an imported binding is a live cell the JIT
// reloads on every use; a local constant folds into the index arithmetic.
const S: typeof MAPLE_NODE_STRIDE = 16;
const MAX = Number.MAX_SAFE_INTEGER; // MAPLE_MAX

/**
 * A new, empty tree.
 * @kernel mt_init_flags (include/linux/maple_tree.h)
 */
export function mtreeInit(flags = 0, opts: MtreeOptions = {}): Mtree {
  checkFlags('mtreeInit', flags);
  checkTreeOptions('mtreeInit', opts);
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
  // One cheap test on the fast path (a live tree has `destroyed === false`;
  // null, other objects and destroyed trees take the slow path, which names
  // the argument); then the index: NaN fails the comparisons.
  if (mt?.destroyed !== false) checkTreeArg('mtreeLoad', mt);
  if (!(typeof index === 'number' && index >= 0 && index <= MAX && Math.floor(index) === index))
    checkIndex('mtreeLoad', 'index', index);
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
  // One test on the fast path; the slow path names the bad argument.
  if (mt?.destroyed !== false || !isIndex(index) || !isIndex(last) || gfp >>> 0 !== gfp) {
    checkTreeArg(fn, mt);
    checkRange(fn, index, last, a, 'last');
    checkGfp(fn, gfp);
  }
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

/**
 * Erase the whole range holding `index`; returns the entry it held.
 * @remarks Context: takes the tree lock itself.
 * @kernel mtree_erase (lib/maple_tree.c)
 */
export function mtreeErase(mt: Mtree, index: number): unknown {
  if (mt?.destroyed !== false || !isIndex(index)) {
    checkTreeArg('mtreeErase', mt);
    checkIndex('mtreeErase', 'index', index);
  }
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
  const h = treeHeight(mt);
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
  if (treeInRcu(mt)) {
    for (const n of list) st.dead[n] = 1;
    mt.stats.rcuDeferred += list.length;
    const a = mt.allocator;
    if (a.freeRcu !== undefined) a.freeRcu(list, mt.rcu);
    else
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
  /** Where the search starts; {@link mtFind} moves it past the entry found (the kernel's `*index`). */
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
  forEachNode(st.pivots, st.slots, mt.root, treeHeight(mt) - 1, 0, MAPLE_MAX, index, max, fn);
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
