/**
 * DOC: behavioural cases in the spirit of lib/test_maple_tree.c: the root
 * encoding, insert/erase semantics, NULL merging, iteration edges, gap search
 * errors, the zero entry, bad input, the idiomatic MapleTree<T>.
 */
import { describe, expect, it } from 'vitest';
import {
  EBUSY,
  EEXIST,
  EINVAL,
  MAPLE_MAX,
  MapleTree,
  MapleTreeError,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  ma_overflow,
  ma_underflow,
  mtDump,
  mtFind,
  mtFindAfter,
  mtHeight,
  mtreeAllocRange,
  mtreeAllocRrange,
  mtreeDestroy,
  mtreeErase,
  mtreeInit,
  mtreeInsert,
  mtreeInsertRange,
  mtreeLoad,
  mtreeLock,
  mtreeStore,
  mtreeStoreRange,
  mtreeUnlock,
  mtToJSON,
  mtValidate,
  XA_ZERO_ENTRY,
} from '../src/index.js';

describe('root encoding', () => {
  it('keeps a single entry at index 0 as the root itself, then expands to a leaf', () => {
    const mt = mtreeInit();
    expect(mtreeStore(mt, 0, 'a')).toBe(0);
    expect(mt.root).toBe(0);
    expect(mt.rootEntry).toBe('a');
    expect(mtHeight(mt)).toBe(0);
    expect(mtreeLoad(mt, 0)).toBe('a');
    expect(mtreeLoad(mt, 1)).toBeUndefined();
    expect(mtreeStore(mt, 1, 'b')).toBe(0);
    expect(mtHeight(mt)).toBe(1);
    expect(mtreeLoad(mt, 0)).toBe('a');
    expect(mtreeLoad(mt, 1)).toBe('b');
    mtValidate(mt);
  });

  it('erasing the direct root entry empties the tree', () => {
    const mt = mtreeInit();
    mtreeStore(mt, 0, 'a');
    expect(mtreeErase(mt, 0)).toBe('a');
    expect(mt.rootEntry).toBeUndefined();
    expect(mtreeErase(mt, 0)).toBeUndefined();
  });

  it('storing NULL over everything empties a node tree', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    for (let i = 0; i < 500; i++) mtreeStoreRange(mt, i * 10, i * 10 + 4, i + 1);
    expect(mtHeight(mt)).toBeGreaterThan(1);
    expect(mtreeStoreRange(mt, 0, MAPLE_MAX, undefined)).toBe(0);
    expect(mt.root).toBe(0);
    expect(mtHeight(mt)).toBe(0);
  });
});

describe('store, insert, erase', () => {
  it('insert refuses any overlap with -EEXIST', () => {
    const mt = mtreeInit();
    expect(mtreeInsertRange(mt, 10, 20, 'x')).toBe(0);
    expect(mtreeInsertRange(mt, 15, 25, 'y')).toBe(-EEXIST);
    expect(mtreeInsertRange(mt, 0, 10, 'y')).toBe(-EEXIST);
    expect(mtreeInsertRange(mt, 21, 25, 'y')).toBe(0);
    expect(mtreeInsert(mt, 9, 'z')).toBe(0);
    expect(mtreeInsert(mt, 9, 'z')).toBe(-EEXIST);
  });

  //  0         1         2
  //  0123456789012345678901234
  //            XXXXXXXXXXX          erase(15) removes all of [10, 20]
  it('erasing an index inside a range removes the whole range', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 10, 20, 'x');
    expect(mtreeErase(mt, 15)).toBe('x');
    for (let i = 8; i < 23; i++) expect(mtreeLoad(mt, i)).toBeUndefined();
  });

  it('overwriting the middle of a range splits it and keeps the same value on both sides', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 10, 20, 'x');
    mtreeStoreRange(mt, 14, 16, 'y');
    const mas = new MaState(mt, 10);
    expect(mas.walk()).toBe('x');
    expect([mas.index, mas.last]).toEqual([10, 13]);
    mas.set(15);
    expect(mas.walk()).toBe('y');
    expect([mas.index, mas.last]).toEqual([14, 16]);
    mas.set(20);
    expect(mas.walk()).toBe('x');
    expect([mas.index, mas.last]).toEqual([17, 20]);
  });

  it('merges adjacent empty ranges', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 10, 19, 'a');
    mtreeStoreRange(mt, 20, 29, 'b');
    mtreeStoreRange(mt, 30, 39, 'c');
    mtreeErase(mt, 25);
    mtreeErase(mt, 12);
    const mas = new MaState(mt, 22);
    expect(mas.walk()).toBeUndefined();
    expect([mas.index, mas.last]).toEqual([0, 29]);
    mtValidate(mt);
  });
});

describe('iteration edges', () => {
  it('mt_find moves the cursor past the entry and wraps to 0 at MAPLE_MAX', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 100, 200, 'a');
    mtreeStoreRange(mt, MAPLE_MAX - 1, MAPLE_MAX, 'z');
    const c = { index: 0 };
    expect(mtFind(mt, c, MAPLE_MAX)).toBe('a');
    expect(c.index).toBe(201);
    expect(mtFind(mt, c, MAPLE_MAX)).toBe('z');
    expect(c.index).toBe(0);
    expect(mtFindAfter(mt, c, MAPLE_MAX)).toBeUndefined();
  });

  it('mas_next overflows at max and mas_prev underflows at min', () => {
    const mt = mtreeInit();
    for (let i = 1; i <= 5; i++) mtreeStoreRange(mt, i * 10, i * 10 + 5, i);
    const mas = new MaState(mt, 30);
    expect(mas.walk()).toBe(3);
    expect(mas.next(45)).toBe(4);
    expect(mas.next(45)).toBeUndefined();
    expect(mas.status).toBe(ma_overflow);
    mas.set(30);
    mas.walk();
    expect(mas.prev(15)).toBe(2);
    expect(mas.prev(15)).toBe(1);
    expect(mas.prev(15)).toBeUndefined();
    expect(mas.status).toBe(ma_underflow);
  });

  it('nextRange and prevRange stop at empty ranges too', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 10, 19, 'a');
    mtreeStoreRange(mt, 30, 39, 'b');
    const mas = new MaState(mt, 10);
    mas.walk();
    expect(mas.nextRange(100)).toBeUndefined();
    expect([mas.index, mas.last]).toEqual([20, 29]);
    expect(mas.nextRange(100)).toBe('b');
    expect(mas.prevRange(0)).toBeUndefined();
    expect([mas.index, mas.last]).toEqual([20, 29]);
  });
});

describe('gaps and range allocation', () => {
  it('returns -EINVAL for bad requests and -EBUSY when nothing fits', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtreeStoreRange(mt, 0, 99, 'a');
    mtreeStoreRange(mt, 110, 199, 'b');
    const mas = new MaState(mt);
    expect(mas.emptyArea(0, 199, 0)).toBe(-EINVAL);
    expect(mas.emptyArea(50, 40, 1)).toBe(-EINVAL);
    expect(mas.emptyArea(0, 9, 11)).toBe(-EINVAL);
    expect(mas.emptyArea(0, 199, 11)).toBe(-EBUSY);
    // The failed search left the state in ma_error: as in the kernel, a
    // search on it answers -EBUSY until the state is reset.
    expect(mas.emptyArea(0, 199, 10)).toBe(-EBUSY);
    mas.reset();
    expect(mas.emptyArea(0, 199, 10)).toBe(0);
    expect([mas.index, mas.last]).toEqual([100, 109]);
    mas.reset();
    expect(mas.emptyAreaRev(0, 1000, 10)).toBe(0);
    expect([mas.index, mas.last]).toEqual([991, 1000]);
  });

  it('a search on an active state continues from its position, as the kernel does', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    for (let i = 0; i < 400; i++) mtreeStoreRange(mt, i * 10, i * 10 + 7, i + 1);
    // Gaps of 2 at i*10+8. Successive searches on one state continue from the
    // last answer: two slots back, or (near a leaf's start) the next node, so
    // they skip ahead. The answers are the kernel's (kernel-diff fixture
    // quirk-es-continue.txt replays the same script against lib/maple_tree.c).
    const mas = new MaState(mt);
    const found: number[] = [];
    for (let k = 0; k < 5; k++) {
      expect(mas.emptyArea(0, 3999, 2)).toBe(0);
      found.push(mas.index);
      // The caller claims the gap (as an allocator would), then searches on.
      mtreeLock(mt);
      expect(mas.storeGfp(k + 1000)).toBe(0);
      mtreeUnlock(mt);
    }
    expect(found).toEqual([8, 78, 158, 238, 318]);
    // From a position past the window the kernel's walk (sizes in unsigned
    // arithmetic) takes the first gap it meets: the window is not rechecked.
    mas.set(2000);
    expect(mas.walk()).toBe(201);
    expect(mas.emptyArea(0, 100, 2)).toBe(0);
    expect(mas.index).toBe(2078);
    // From the start (reset) the same search answers within the window.
    mas.reset();
    expect(mas.emptyArea(0, 100, 2)).toBe(0);
    expect(mas.index).toBe(18);
    // Reverse searches on one state step down.
    mas.reset();
    const rev: number[] = [];
    for (let k = 0; k < 3; k++) {
      expect(mas.emptyAreaRev(0, 3999, 2)).toBe(0);
      rev.push(mas.index);
      mtreeLock(mt);
      expect(mas.storeGfp(k + 2000)).toBe(0);
      mtreeUnlock(mt);
    }
    expect(rev).toEqual([3998, 3988, 3978]);
    mtValidate(mt);
  });

  it('alloc_range and alloc_rrange claim the lowest and highest fit', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtreeStoreRange(mt, 0, 9, 'a');
    const out = { start: -1 };
    expect(mtreeAllocRange(mt, out, 'b', 5, 0, 100)).toBe(0);
    expect(out.start).toBe(10);
    expect(mtreeAllocRrange(mt, out, 'c', 5, 0, 100)).toBe(0);
    expect(out.start).toBe(96);
    expect(mtreeLoad(mt, 98)).toBe('c');
    expect(mtreeAllocRange(mt, out, 'd', 200, 0, 100)).toBe(-EINVAL);
    const plain = mtreeInit();
    expect(mtreeAllocRange(plain, out, 'd', 1, 0, 100)).toBe(-EINVAL);
  });
});

describe('the zero entry', () => {
  it('occupies its range but reads as empty through the normal API', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 10, 20, 'a');
    const mas = new MaState(mt, 30, 40);
    mas.store(XA_ZERO_ENTRY);
    expect(mtreeLoad(mt, 35)).toBeUndefined();
    mas.set(35);
    expect(mas.walk()).toBe(XA_ZERO_ENTRY);
    const c = { index: 21 };
    expect(mtFind(mt, c, 100)).toBeUndefined();
    expect(mtreeInsert(mt, 35, 'x')).toBe(-EEXIST);
    expect(mtreeStoreRange(mt, 50, 60, XA_ZERO_ENTRY)).toBe(-EINVAL);
  });
});

describe('bad input', () => {
  it('throws EINVAL for negative, fractional or unsafe indices and leaves the tree unchanged', () => {
    const mt = mtreeInit();
    mtreeStoreRange(mt, 1, 2, 'a');
    const before = mtDump(mt);
    for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      expect(() => mtreeStoreRange(mt, bad, 10, 'x')).toThrow(MapleTreeError);
      expect(() => mtreeErase(mt, bad)).toThrow(/non-negative safe integer/);
    }
    expect(mtreeStoreRange(mt, 10, 5, 'x')).toBe(-EINVAL);
    expect(mtDump(mt)).toBe(before);
  });

  it('refuses every operation on a destroyed tree', () => {
    const mt = mtreeInit();
    mtreeStore(mt, 5, 'x');
    mtreeDestroy(mt);
    try {
      mtreeStore(mt, 1, 'y');
      expect.unreachable();
    } catch (e) {
      expect(MapleTreeError.isInstance(e)).toBe(true);
      expect((e as MapleTreeError).code).toBe('EINVAL');
    }
    expect(() => mtreeLoad(mt, 5)).toThrow(MapleTreeError);
  });
});

describe('MapleTree<T>', () => {
  it('is a range map with gap search', () => {
    const t = new MapleTree<string>();
    t.setRange(0x1000, 0x1fff, 'text').setRange(0x3000, 0x3fff, 'data').set(0x5000, 'page');
    expect(t.get(0x1800)).toBe('text');
    expect(t.getRange(0x3001)).toEqual([0x3000, 0x3fff, 'data']);
    expect([...t]).toEqual([
      [0x1000, 0x1fff, 'text'],
      [0x3000, 0x3fff, 'data'],
      [0x5000, 0x5000, 'page'],
    ]);
    expect(t.size).toBe(3);
    expect(t.findGap(0x1000, { min: 0x1000 })).toBe(0x2000);
    expect(t.findGap(0x1000, { min: 0x1000, max: 0x4fff, highest: true })).toBe(0x4000);
    expect(() => t.findGap(0x2000, { min: 0x1000, max: 0x4fff })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(() => t.findGap(0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => t.insertRange(0x3800, 0x4800, 'x')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => t.set(1, undefined as unknown as string)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => t.setRange(5, 4, 'x')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(t.delete(0x3333)).toBe(true);
    expect(t.get(0x3000)).toBeUndefined();
    t.deleteRange(0x1800, 0x4fff);
    expect([...t]).toEqual([
      [0x1000, 0x17ff, 'text'],
      [0x5000, 0x5000, 'page'],
    ]);
    t.clear();
    expect(t.size).toBe(0);
    mtValidate(t.mt);
    expect(mtToJSON(t.mt).root).toBeNull();
  });
});

describe('a state whose tree lost its last node', () => {
  it('restarts instead of walking the freed node (the kernel reads freed memory here)', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtreeStoreRange(mt, 5, 9, 'a');
    const mas = new MaState(mt, 6, 6);
    expect(mas.erase()).toBe('a');
    expect(mtHeight(mt)).toBe(0);
    // index 0 <= min: underflow without a walk, the node left from before the erase.
    expect(mas.prevRange(5)).toBeUndefined();
    expect(mas.status).toBe(ma_underflow);
    // Another tree takes the freed node; a walk through it would find 'x'.
    const other = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtreeStoreRange(other, 0, 100, 'x');
    expect(mas.findRange(MAPLE_MAX)).toBeUndefined();
    expect(mas.status).not.toBe(ma_underflow);
    mtreeStoreRange(mt, 20, 30, 'b');
    mas.reset();
    expect(mas.find(MAPLE_MAX)).toBe('b');
    expect([mas.index, mas.last]).toEqual([20, 30]);
    mtValidate(mt);
    mtValidate(other);
  });
});
