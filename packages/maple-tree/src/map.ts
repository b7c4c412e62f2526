/**
 * DOC: the idiomatic TypeScript surface: `new MapleTree<T>()`, a map from
 * index ranges to values with gap search, thin over the kernel-style API.
 * Misuse throws {@link MapleTreeError} with the kernel errno name and leaves
 * the tree unchanged.
 */

import { mtreeAllocCyclic } from './alloc-range.js';
import { badArg, checkObject } from './check.js';
import { EBUSY, EINVAL, MapleTreeError, mapleErrnoName } from './errors.js';
import {
  __mtDestroy,
  mtForEach,
  mtreeErase,
  mtreeInit,
  mtreeInsertRange,
  mtreeLoad,
  mtreeStoreRange,
} from './maple-tree.js';
import type { MapleNodeAllocator } from './node-store.js';
import type { MapleRcu } from './rcu.js';
import { MaState } from './state.js';
import { MAPLE_MAX, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU, type Mtree } from './tree.js';

/** Options of {@link MapleTree}. */
export interface MapleTreeOptions {
  /** Track gaps (`MT_FLAGS_ALLOC_RANGE`) so {@link MapleTree.findGap} is fast; default true. */
  trackGaps?: boolean;
  /** RCU mode (`MT_FLAGS_USE_RCU`); default false. */
  rcu?: boolean;
  /** Node allocator (default: the shared pool). */
  allocator?: MapleNodeAllocator;
  /** RCU deferred-free hook (default: a queue flushed by `synchronize()`). */
  rcuHook?: MapleRcu;
}

/** Options of {@link MapleTree.findGap}. */
export interface FindGapOptions {
  /** Lowest index the gap may start at (default 0). */
  min?: number;
  /** Highest index the gap may end at (default MAPLE_MAX). */
  max?: number;
  /** Take the highest fitting gap instead of the lowest. */
  highest?: boolean;
}

function checkIdx(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0)
    throw new MapleTreeError('EINVAL', `maple_tree: ${what} (${String(v)}) is not a non-negative safe integer`);
}

function checkRange(first: number, last: number, a = 'first', b = 'last'): void {
  checkIdx(a, first);
  checkIdx(b, last);
  if (first > last) throw new MapleTreeError('EINVAL', `maple_tree: first (${first}) > last (${last})`);
}

function checkValue(v: unknown): void {
  if (v === undefined)
    throw new MapleTreeError('EINVAL', 'maple_tree: cannot store undefined (it means empty; use delete/deleteRange)');
}

function check(ret: number, what: string): void {
  if (ret < 0) throw new MapleTreeError(mapleErrnoName(ret), `maple_tree: ${what} failed (${mapleErrnoName(ret)})`);
}

/** Options of {@link MapleTree.allocCyclic}. */
export interface AllocCyclicOptions {
  /** Lowest index to hand out (default 0). */
  min?: number;
  /** Highest index to hand out (default MAPLE_MAX). */
  max?: number;
}

/** The answer of {@link MapleTree.allocCyclic}. */
export interface AllocCyclicResult {
  /** The index the value was stored at. */
  index: number;
  /** The search wrapped around to `min` (or the cursor had wrapped past MAPLE_MAX). */
  wrapped: boolean;
}

/**
 * A map from ranges of non-negative integers to values: the maple tree.
 * Iteration yields `[first, last, value]` in index order.
 */
export class MapleTree<T> implements Iterable<[number, number, T]> {
  /** The kernel-style tree underneath (for the advanced API). */
  readonly mt: Mtree;

  constructor(opts: MapleTreeOptions = {}) {
    checkObject('MapleTree', 'opts', opts);
    for (const k of ['trackGaps', 'rcu'] as const)
      if (opts[k] !== undefined && typeof opts[k] !== 'boolean')
        badArg('MapleTree', `opts.${k}`, opts[k], 'a boolean or undefined');
    const flags = ((opts.trackGaps ?? true) ? MT_FLAGS_ALLOC_RANGE : 0) | (opts.rcu === true ? MT_FLAGS_USE_RCU : 0);
    const o: { allocator?: MapleNodeAllocator; rcu?: MapleRcu } = {};
    if (opts.allocator !== undefined) o.allocator = opts.allocator;
    if (opts.rcuHook !== undefined) o.rcu = opts.rcuHook;
    this.mt = mtreeInit(flags, o);
  }

  /** The value at `index`, or undefined. */
  get(index: number): T | undefined {
    checkIdx('index', index);
    return mtreeLoad(this.mt, index) as T | undefined;
  }

  /** The range holding `index` and its value, or undefined. */
  getRange(index: number): [number, number, T] | undefined {
    checkIdx('index', index);
    const mas = new MaState(this.mt, index);
    const v = mas.walk();
    return v === undefined ? undefined : [mas.index, mas.last, v as T];
  }

  /** True when `index` holds a value. */
  has(index: number): boolean {
    return this.get(index) !== undefined;
  }

  /** Store `value` at `index` (overwriting whatever was there). */
  set(index: number, value: T): this {
    checkIdx('index', index);
    return this.setRange(index, index, value);
  }

  /** Store `value` over [first, last], overwriting the parts of ranges it covers. */
  setRange(first: number, last: number, value: T): this {
    checkRange(first, last);
    checkValue(value);
    check(mtreeStoreRange(this.mt, first, last, value), 'setRange');
    return this;
  }

  /** Store `value` over [first, last] only if all of it is empty; EEXIST otherwise. */
  insertRange(first: number, last: number, value: T): this {
    checkRange(first, last);
    checkValue(value);
    check(mtreeInsertRange(this.mt, first, last, value), 'insertRange');
    return this;
  }

  /** Remove the whole range holding `index` (as `mtree_erase`); true if there was one. */
  delete(index: number): boolean {
    checkIdx('index', index);
    return mtreeErase(this.mt, index) !== undefined;
  }

  /** Empty [first, last], trimming ranges that stick out. */
  deleteRange(first: number, last: number): void {
    checkRange(first, last);
    check(mtreeStoreRange(this.mt, first, last, undefined), 'deleteRange');
  }

  /**
   * The start of the lowest (or highest) empty range of `size` indices within
   * [min, max]. Throws EINVAL for a size of 0 or larger than the window, EBUSY
   * when nothing fits.
   */
  findGap(size: number, opts: FindGapOptions = {}): number {
    const min = opts.min === undefined ? 0 : opts.min;
    const max = opts.max === undefined ? MAPLE_MAX : opts.max;
    checkRange(min, max, 'min', 'max');
    checkIdx('size', size);
    if (size === 0 || max - min < size - 1)
      throw new MapleTreeError('EINVAL', `maple_tree: gap size ${size} does not fit in [${min}, ${max}]`);
    const mas = new MaState(this.mt);
    const ret = opts.highest === true ? mas.emptyAreaRev(min, max, size) : mas.emptyArea(min, max, size);
    if (ret === -EBUSY) throw new MapleTreeError('EBUSY', `maple_tree: no gap of ${size} in [${min}, ${max}]`);
    if (ret === -EINVAL) throw new MapleTreeError('EINVAL', 'maple_tree: bad gap request');
    return mas.index;
  }

  /**
   * The cursor of {@link allocCyclic}: the next search starts here (the
   * kernel caller's `next`). It wraps to 0 after `MAPLE_MAX` is handed out.
   */
  cyclicNext = 0;

  /**
   * Store `value` at a free index handed out cyclically, as an ID allocator
   * does (`mtree_alloc_cyclic`): the lowest free index at or after
   * {@link cyclicNext} within [min, max], else the lowest free one from `min`
   * (a wrap); the cursor then moves past it. Needs a gap-tracking tree
   * (the default). Throws EBUSY when [min, max] is full, EINVAL for min > max
   * or a tree without gap tracking.
   */
  allocCyclic(value: T, opts: AllocCyclicOptions = {}): AllocCyclicResult {
    const min = opts.min === undefined ? 0 : opts.min;
    const max = opts.max === undefined ? MAPLE_MAX : opts.max;
    checkRange(min, max, 'min', 'max');
    checkValue(value);
    checkIdx('cyclicNext', this.cyclicNext);
    const start = { value: 0 };
    const next = { value: this.cyclicNext };
    const ret = mtreeAllocCyclic(this.mt, start, value, min, max, next);
    if (ret === -EBUSY) throw new MapleTreeError('EBUSY', `maple_tree: no free index in [${min}, ${max}]`);
    check(ret, 'allocCyclic');
    this.cyclicNext = next.value;
    return { index: start.value, wrapped: ret === 1 };
  }

  /** `[first, last, value]` for every range, in order. */
  *entries(): IterableIterator<[number, number, T]> {
    const mas = new MaState(this.mt, 0);
    for (let v = mas.find(MAPLE_MAX); v !== undefined; v = mas.find(MAPLE_MAX)) yield [mas.index, mas.last, v as T];
  }

  /** The same as {@link entries}: `for (const [first, last, value] of map)`. */
  [Symbol.iterator](): IterableIterator<[number, number, T]> {
    return this.entries();
  }

  /** Call `fn(value, first, last)` for every range in [min, max]; fast (no iterator objects). */
  forEach(fn: (value: T, first: number, last: number) => void, min = 0, max = MAPLE_MAX): void {
    checkRange(min, max, 'min', 'max');
    mtForEach(this.mt, fn as (e: unknown, f: number, l: number) => void, min, max);
  }

  /** The number of ranges holding a value (counted: O(n)). */
  get size(): number {
    let n = 0;
    mtForEach(this.mt, () => {
      n++;
    });
    return n;
  }

  /** Remove everything. */
  clear(): void {
    __mtDestroy(this.mt);
  }
}
