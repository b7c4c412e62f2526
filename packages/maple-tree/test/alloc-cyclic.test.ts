/**
 * DOC: mtree_alloc_cyclic / mas_alloc_cyclic: the kernel's documented
 * behaviour (allocation from the cursor, wrap to the range start with return
 * value 1, MT_FLAGS_ALLOC_WRAPPED when the cursor passes MAPLE_MAX, -EBUSY on
 * a full range, -EINVAL misuse, -ENOMEM leaving the tree unchanged), the
 * idiomatic MapleTree.allocCyclic, and a fast-check property against a naive
 * cyclic allocator over the sorted-array oracle, mtValidate after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EBUSY,
  EINVAL,
  ENOMEM,
  MAPLE_MAX,
  MaplePoolAllocator,
  MapleTree,
  MapleTreeError,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_ALLOC_WRAPPED,
  MT_FLAGS_USE_RCU,
  masAllocCyclic,
  mtDump,
  mtreeAllocCyclic,
  mtreeErase,
  mtreeInit,
  mtreeLoad,
  mtreeLock,
  mtreeStoreRange,
  mtreeUnlock,
  mtValidate,
  XA_ZERO_ENTRY,
} from '../src/index.js';
import { assertInChunks } from './fuzz.js';
import { RangeOracle } from './oracle.js';

const cell = (value = 0) => ({ value });

describe('mtree_alloc_cyclic: kernel semantics', () => {
  it('a reused maple state hands out consecutive indices from range_lo', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    const mas = new MaState(mt);
    const loc = cell();
    const next = cell(0);
    const entry = { e: 1 };
    mtreeLock(mt);
    for (let i = 0; i < 100; i++) {
      expect(masAllocCyclic(mas, loc, entry, 2, MAPLE_MAX, next)).toBe(0);
      expect(loc.value).toBe(i + 2);
      expect(mas.index).toBe(loc.value);
      expect(mas.last).toBe(loc.value);
      expect(next.value).toBe(i + 3);
    }
    mtreeUnlock(mt);
    mtValidate(mt);
  });

  it('the normal API stores the entry at the returned index', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    const loc = cell();
    const next = cell(0);
    for (let i = 0; i < 100; i++) {
      expect(mtreeAllocCyclic(mt, loc, i, 2, MAPLE_MAX, next)).toBe(0);
      expect(loc.value).toBe(i + 2);
      expect(next.value).toBe(i + 3);
      expect(mtreeLoad(mt, loc.value)).toBe(i);
    }
    expect(mtreeLoad(mt, 0)).toBeUndefined();
    expect(mtreeLoad(mt, 1)).toBeUndefined();
    mtValidate(mt);
  });

  it('an exhausted window wraps to the lowest free index and returns 1', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    const loc = cell();
    const next = cell(0);
    for (let i = 0; i < 1023; i++) {
      expect(mtreeAllocCyclic(mt, loc, 'x', 2, 1024, next)).toBe(0);
      expect(loc.value).toBe(i + 2);
    }
    expect(next.value).toBe(1025);
    // Full: nothing in [1025, 1024] (EINVAL) nor in [2, 1024].
    expect(mtreeAllocCyclic(mt, loc, 'x', 2, 1024, next)).toBe(-EBUSY);
    expect(next.value).toBe(1025);
    mtreeErase(mt, 123);
    expect(mtreeLoad(mt, 123)).toBeUndefined();
    expect(mtreeAllocCyclic(mt, loc, 'y', 2, 1024, next)).toBe(1);
    expect(loc.value).toBe(123);
    expect(next.value).toBe(124);
    expect(mtreeLoad(mt, 123)).toBe('y');
    mtreeErase(mt, 100);
    // [124, 1024] is full, so the search wraps to 100.
    expect(mtreeAllocCyclic(mt, loc, 'z', 2, 1024, next)).toBe(1);
    expect(loc.value).toBe(100);
    expect(next.value).toBe(101);
    mtValidate(mt);
  });

  it('a free index above the cursor is taken before a lower one (no wrap)', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtreeStoreRange(mt, 10, 19, 'a');
    const loc = cell();
    const next = cell(15);
    expect(mtreeAllocCyclic(mt, loc, 'b', 10, 30, next)).toBe(0);
    expect(loc.value).toBe(20);
    expect(next.value).toBe(21);
    // The cursor below range_lo starts at range_lo.
    next.value = 3;
    mtreeErase(mt, 10);
    expect(mtreeAllocCyclic(mt, loc, 'c', 10, 30, next)).toBe(0);
    expect(loc.value).toBe(10);
  });

  it('the cursor passing MAPLE_MAX sets MT_FLAGS_ALLOC_WRAPPED; the next allocation reports the wrap', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    const loc = cell();
    const next = cell(MAPLE_MAX - 1);
    expect(mtreeAllocCyclic(mt, loc, 1, 2, MAPLE_MAX, next)).toBe(0);
    expect(loc.value).toBe(MAPLE_MAX - 1);
    expect(next.value).toBe(MAPLE_MAX);
    expect(mt.flags & MT_FLAGS_ALLOC_WRAPPED).toBe(0);
    expect(mtreeAllocCyclic(mt, loc, 2, 2, MAPLE_MAX, next)).toBe(0);
    expect(loc.value).toBe(MAPLE_MAX);
    expect(next.value).toBe(0);
    expect(mt.flags & MT_FLAGS_ALLOC_WRAPPED).toBe(MT_FLAGS_ALLOC_WRAPPED);
    expect(mtreeAllocCyclic(mt, loc, 3, 2, MAPLE_MAX, next)).toBe(1);
    expect(loc.value).toBe(2);
    expect(next.value).toBe(3);
    expect(mt.flags & MT_FLAGS_ALLOC_WRAPPED).toBe(0);
    expect(mtreeLoad(mt, MAPLE_MAX)).toBe(2);
    mtValidate(mt);
  });

  it('a failed allocation keeps the wrapped flag for the next success', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    const loc = cell();
    const next = cell(MAPLE_MAX);
    expect(mtreeAllocCyclic(mt, loc, 'a', 5, MAPLE_MAX, next)).toBe(0);
    expect(next.value).toBe(0);
    mtreeStoreRange(mt, 5, 9, 'full');
    expect(mtreeAllocCyclic(mt, loc, 'b', 5, 9, next)).toBe(-EBUSY);
    expect(mt.flags & MT_FLAGS_ALLOC_WRAPPED).toBe(MT_FLAGS_ALLOC_WRAPPED);
    expect(mtreeAllocCyclic(mt, loc, 'c', 5, 20, next)).toBe(1);
    expect(loc.value).toBe(10);
  });

  it('next above range_hi wraps straight to range_lo', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    const loc = cell();
    const next = cell(500);
    expect(mtreeAllocCyclic(mt, loc, 'a', 7, 100, next)).toBe(1);
    expect(loc.value).toBe(7);
    expect(next.value).toBe(8);
  });

  it('empty trees and a direct root entry (index 0)', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    const loc = cell();
    const next = cell(0);
    expect(mtreeAllocCyclic(mt, loc, 'zero', 0, 10, next)).toBe(0);
    expect(loc.value).toBe(0);
    expect(mtreeLoad(mt, 0)).toBe('zero');
    expect(mtreeAllocCyclic(mt, loc, 'one', 0, 10, next)).toBe(0);
    expect(loc.value).toBe(1);
    next.value = 0;
    expect(mtreeAllocCyclic(mt, loc, 'two', 0, 10, next)).toBe(0);
    expect(loc.value).toBe(2);
    mtValidate(mt);
  });

  it('a full range returns -EBUSY and changes nothing', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtreeStoreRange(mt, 0, 99, 'wall');
    mtreeStoreRange(mt, 200, 300, 'wall2');
    const before = mtDump(mt);
    const loc = cell(-1);
    const next = cell(40);
    expect(mtreeAllocCyclic(mt, loc, 'x', 0, 99, next)).toBe(-EBUSY);
    expect(mtreeAllocCyclic(mt, loc, 'x', 40, 40, next)).toBe(-EBUSY);
    expect(loc.value).toBe(-1);
    expect(next.value).toBe(40);
    expect(mtDump(mt)).toBe(before);
  });

  it('misuse: -EINVAL without gap tracking, for the zero entry and for range_lo > range_hi', () => {
    const plain = mtreeInit(0);
    expect(mtreeAllocCyclic(plain, cell(), 'x', 0, 10, cell())).toBe(-EINVAL);
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    expect(mtreeAllocCyclic(mt, cell(), XA_ZERO_ENTRY, 0, 10, cell())).toBe(-EINVAL);
    expect(mtreeAllocCyclic(mt, cell(), 'x', 11, 10, cell())).toBe(-EINVAL);
    expect(mtreeAllocCyclic(mt, cell(), 'x', 11, 10, cell(50))).toBe(-EINVAL);
    expect(mt.root).toBe(0);
    expect(mt.rootEntry).toBeUndefined();
  });

  it('bad indices are typed EINVAL errors', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    for (const [lo, hi, nx] of [
      [-1, 10, 0],
      [0, 1.5, 0],
      [0, 10, -3],
      [0, MAPLE_MAX + 2, 0],
    ] as const) {
      let err: unknown;
      try {
        mtreeAllocCyclic(mt, cell(), 'x', lo, hi, cell(nx));
      } catch (e) {
        err = e;
      }
      expect(MapleTreeError.isInstance(err)).toBe(true);
      expect((err as MapleTreeError).code).toBe('EINVAL');
    }
    expect(mt.root).toBe(0);
  });

  it('-ENOMEM leaves the tree and both cells unchanged', () => {
    const alloc = new MaplePoolAllocator();
    // RCU mode: filling the gap replaces the leaf, so the store needs a node.
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU, { allocator: alloc });
    for (let i = 0; i < 40; i += 2) mtreeStoreRange(mt, i * 10, i * 10 + 9, i);
    const before = mtDump(mt);
    alloc.failAfter = 0;
    const loc = cell(-1);
    const next = cell(5);
    expect(mtreeAllocCyclic(mt, loc, 'x', 0, 1000, next)).toBe(-ENOMEM);
    alloc.failAfter = -1;
    expect(loc.value).toBe(-1);
    expect(next.value).toBe(5);
    expect(mtDump(mt)).toBe(before);
    mtValidate(mt);
    expect(mtreeAllocCyclic(mt, loc, 'x', 0, 1000, next)).toBe(0);
    expect(loc.value).toBe(10);
  });
});

describe('MapleTree.allocCyclic', () => {
  it('hands out indices cyclically and reports wraps', () => {
    const t = new MapleTree<string>();
    expect(t.allocCyclic('a', { min: 1, max: 3 })).toEqual({ index: 1, wrapped: false });
    expect(t.allocCyclic('b', { min: 1, max: 3 })).toEqual({ index: 2, wrapped: false });
    t.delete(1);
    expect(t.allocCyclic('c', { min: 1, max: 3 })).toEqual({ index: 3, wrapped: false });
    expect(t.allocCyclic('d', { min: 1, max: 3 })).toEqual({ index: 1, wrapped: true });
    expect(t.cyclicNext).toBe(2);
    expect([...t].map(([f, , v]) => [f, v])).toEqual([
      [1, 'd'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it('throws EBUSY on a full range (tree unchanged) and EINVAL without gap tracking', () => {
    const t = new MapleTree<number>();
    t.setRange(0, 9, 1);
    expect(() => t.allocCyclic(2, { max: 9 })).toThrow(MapleTreeError);
    try {
      t.allocCyclic(2, { max: 9 });
    } catch (e) {
      expect((e as MapleTreeError).code).toBe('EBUSY');
    }
    expect([...t]).toEqual([[0, 9, 1]]);
    expect(t.cyclicNext).toBe(0);
    const plain = new MapleTree<number>({ trackGaps: false });
    try {
      plain.allocCyclic(1);
      expect.unreachable();
    } catch (e) {
      expect((e as MapleTreeError).code).toBe('EINVAL');
    }
    expect(() => t.allocCyclic(undefined as unknown as number)).toThrow(MapleTreeError);
  });
});

// ---------------------------------------------------------------- property

type Op =
  | { t: 'alloc'; min: number; hi: number; next: number | undefined }
  | { t: 'store'; a: number; len: number; v: number | undefined }
  | { t: 'erase'; a: number };

const SPACE = 80;
const small = fc.integer({ min: 0, max: SPACE });
const nearTop = fc.integer({ min: 0, max: 3 }).map((d) => MAPLE_MAX - d);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      min: fc.oneof({ weight: 6, arbitrary: small }, { weight: 1, arbitrary: nearTop }),
      hi: fc.oneof({ weight: 6, arbitrary: small }, { weight: 1, arbitrary: nearTop }),
      next: fc.option(fc.oneof({ weight: 4, arbitrary: small }, { weight: 1, arbitrary: nearTop }), {
        nil: undefined,
        freq: 4,
      }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('store' as const),
      a: fc.oneof({ weight: 6, arbitrary: small }, { weight: 1, arbitrary: nearTop }),
      len: fc.integer({ min: 0, max: 6 }),
      v: fc.option(fc.nat(), { nil: undefined, freq: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('erase' as const), a: small }) },
);

/** The kernel's mas_alloc_cyclic over the oracle, written from its description. */
function oracleAllocCyclic(
  o: RangeOracle,
  state: { next: number; wrapped: boolean },
  min: number,
  hi: number,
): { ret: number; at: number } {
  const lowest = (lo: number): number => {
    if (lo > hi) return -EINVAL;
    const a = o.lowestFit(lo, hi, 1);
    return a < 0 ? -EBUSY : a;
  };
  const lo = Math.max(min, state.next);
  let at = lowest(lo);
  let ret = Math.min(at, 0);
  if (ret < 0 && lo > min) {
    at = lowest(min);
    ret = at < 0 ? at : 1;
  }
  if (ret < 0) return { ret, at: -1 };
  if (state.wrapped && ret === 0) {
    state.wrapped = false;
    ret = 1;
  }
  state.next = at === MAPLE_MAX ? 0 : at + 1;
  if (state.next === 0) state.wrapped = true;
  return { ret, at };
}

function run(flags: number, ops: Op[]): void {
  const mt = mtreeInit(flags);
  const o = new RangeOracle();
  const state = { next: 0, wrapped: false };
  const next = cell(0);
  const loc = cell(-1);
  let tag = 0;
  for (const x of ops) {
    if (x.t === 'alloc') {
      if (x.next !== undefined) {
        next.value = x.next;
        state.next = x.next;
      }
      const entry = { tag: tag++ };
      const want = oracleAllocCyclic(o, state, x.min, x.hi);
      const got = mtreeAllocCyclic(mt, loc, entry, x.min, x.hi, next);
      expect(got).toBe(want.ret);
      expect(next.value).toBe(state.next);
      expect((mt.flags & MT_FLAGS_ALLOC_WRAPPED) !== 0).toBe(state.wrapped);
      if (want.ret >= 0) {
        expect(loc.value).toBe(want.at);
        o.store(want.at, want.at, entry);
        expect(mtreeLoad(mt, want.at)).toBe(entry);
      }
    } else if (x.t === 'store') {
      const last = Math.min(MAPLE_MAX, x.a + x.len);
      mtreeStoreRange(mt, x.a, last, x.v);
      o.store(x.a, last, x.v);
    } else {
      expect(mtreeErase(mt, x.a)).toBe(o.erase(x.a));
    }
    mtValidate(mt);
  }
  for (const r of o.ranges) expect(mtreeLoad(mt, r.first)).toBe(r.value);
}

describe('mtree_alloc_cyclic against a naive cyclic allocator', () => {
  for (const [name, flags] of [
    ['alloc', MT_FLAGS_ALLOC_RANGE],
    ['alloc+rcu', MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU],
  ] as const) {
    it(`random allocation, store and erase sequences (${name})`, async () => {
      await assertInChunks(
        fc.property(fc.array(op, { minLength: 1, maxLength: 200, size: 'max' }), (ops) => run(flags, ops)),
        60,
        { endOnFailure: true },
      );
    });
  }
});
