/**
 * DOC: property tests against a sorted array of ranges: random stores, empty
 * stores, inserts, erases, range allocations, loads, finds in both directions
 * and empty-area searches in both directions, with mt_validate after every
 * step, on plain, allocation (gap-tracking) and RCU trees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EBUSY,
  EEXIST,
  MAPLE_MAX,
  type MapleRcuQueue,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_USE_RCU,
  type Mtree,
  mtFind,
  mtForEach,
  mtHeight,
  mtreeAllocRange,
  mtreeAllocRrange,
  mtreeErase,
  mtreeInit,
  mtreeInsertRange,
  mtreeLoad,
  mtreeStoreRange,
} from '../src/index.js';
import { mtValidate } from '../src/validate.js';
import { assertInChunks } from './fuzz.js';
import { RangeOracle } from './oracle.js';

type Op =
  | { t: 'store'; a: number; len: number; v: number | undefined }
  | { t: 'insert'; a: number; len: number; v: number }
  | { t: 'erase'; a: number }
  | { t: 'alloc'; size: number; min: number; span: number; rev: boolean; v: number }
  | { t: 'probe'; a: number; span: number; size: number };

const SPACE = 5000;
const idx = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: SPACE }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, MAPLE_MAX - 1, MAPLE_MAX) },
);
const len = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 4 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 400 }) },
  { weight: 1, arbitrary: fc.constant(MAPLE_MAX) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('store' as const),
      a: idx,
      len,
      v: fc.option(fc.nat(), { nil: undefined, freq: 5 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('insert' as const), a: idx, len, v: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('erase' as const), a: idx }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      size: fc.integer({ min: 1, max: 50 }),
      min: fc.integer({ min: 0, max: SPACE }),
      span: fc.integer({ min: 0, max: 3000 }),
      rev: fc.boolean(),
      v: fc.nat(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('probe' as const),
      a: idx,
      span: fc.integer({ min: 0, max: 2000 }),
      size: fc.integer({ min: 1, max: 40 }),
    }),
  },
);

function clampLast(a: number, l: number): number {
  return l >= MAPLE_MAX - a ? MAPLE_MAX : a + l;
}

function run(flags: number, ops: Op[]): void {
  const mt = mtreeInit(flags);
  const o = new RangeOracle();
  const alloc = (flags & MT_FLAGS_ALLOC_RANGE) !== 0;
  const mas = new MaState(mt);
  let tag = 1;
  for (const x of ops) {
    switch (x.t) {
      case 'store': {
        const last = clampLast(x.a, x.len);
        const v = x.v === undefined ? undefined : { v: x.v, tag: tag++ };
        expect(mtreeStoreRange(mt, x.a, last, v)).toBe(0);
        o.store(x.a, last, v);
        break;
      }
      case 'insert': {
        const last = clampLast(x.a, x.len);
        const v = { v: x.v, tag: tag++ };
        // Kernel quirk kept on purpose: on a single-leaf tree, inserting
        // [0, MAX] is a wr_new_root store and mas_insert() does not check it.
        const whole = o.ranges.length === 1 && o.ranges[0]!.first === 0 && o.ranges[0]!.last === MAPLE_MAX;
        const quirk = mtHeight(mt) === 1 && x.a === 0 && last === MAPLE_MAX && !whole;
        const ret = mtreeInsertRange(mt, x.a, last, v);
        if (o.overlaps(x.a, last) && !quirk) expect(ret).toBe(-EEXIST);
        else {
          expect(ret).toBe(0);
          o.store(x.a, last, v);
        }
        break;
      }
      case 'erase':
        expect(mtreeErase(mt, x.a)).toBe(o.erase(x.a));
        break;
      case 'alloc': {
        const max = Math.min(MAPLE_MAX, x.min + x.span);
        const out = { start: -1 };
        const v = { v: x.v, tag: tag++ };
        const ret = (x.rev ? mtreeAllocRrange : mtreeAllocRange)(mt, out, v, x.size, x.min, max);
        if (!alloc) {
          expect(ret).toBe(-22);
          break;
        }
        if (max - x.min < x.size - 1) {
          expect(ret).toBe(-22);
          break;
        }
        const want = gapBlind(mt, x.min, max, x.rev)
          ? -1
          : x.rev
            ? o.highestFit(x.min, max, x.size)
            : o.lowestFit(x.min, max, x.size);
        if (want < 0) expect(ret).toBe(-EBUSY);
        else {
          expect(ret).toBe(0);
          expect(out.start).toBe(want);
          o.store(want, want + x.size - 1, v);
        }
        break;
      }
      case 'probe': {
        expect(mtreeLoad(mt, x.a)).toBe(o.load(x.a));
        // mas_walk: the range containing a (entries and maximal empty ranges).
        mas.set(x.a);
        const w = mas.walk();
        const r = o.rangeAt(x.a);
        if (r !== undefined) {
          expect(w).toBe(r.value);
          expect([mas.index, mas.last]).toEqual([r.first, r.last]);
        } else {
          expect(w).toBeUndefined();
          const gap = o.gaps().find(([g0, g1]) => g0 <= x.a && x.a <= g1)!;
          expect([mas.index, mas.last]).toEqual(gap);
        }
        // mt_find forward over [a, a + span].
        const hi = Math.min(MAPLE_MAX, x.a + x.span);
        const cursor = { index: x.a };
        const want = o.between(x.a, hi);
        const got: unknown[] = [];
        for (
          let e = mtFind(mt, cursor, hi);
          e !== undefined;
          e = cursor.index === 0 ? undefined : mtFind(mt, cursor, hi)
        )
          got.push(e);
        expect(got).toEqual(want.map((q) => q.value));
        const each: Array<[number, number, unknown]> = [];
        mtForEach(mt, (e, f, l) => each.push([f, l, e]), x.a, hi);
        expect(each).toEqual(want.map((q) => [q.first, q.last, q.value]));
        // mas_find / mas_find_rev iterations with ranges.
        mas.set(x.a);
        const fwd: Array<[number, number, unknown]> = [];
        for (let e = mas.find(hi); e !== undefined; e = mas.find(hi)) fwd.push([mas.index, mas.last, e]);
        expect(fwd).toEqual(want.map((q) => [q.first, q.last, q.value]));
        const lo = Math.max(0, x.a - x.span);
        mas.set(x.a);
        const rev: Array<[number, number, unknown]> = [];
        for (let e = mas.findRev(lo); e !== undefined; e = mas.findRev(lo)) rev.push([mas.index, mas.last, e]);
        // A direct root entry (the kernel's non-node ma_root) is returned by
        // mas_find_rev from any index above 0, whatever the minimum.
        const direct = mt.root === 0 && mt.rootEntry !== undefined && x.a > 0;
        expect(rev).toEqual(
          direct
            ? [[0, 0, mt.rootEntry]]
            : o
                .between(lo, x.a)
                .reverse()
                .map((q) => [q.first, q.last, q.value]),
        );
        // Empty areas both ways.
        if (alloc) {
          const amax = Math.min(MAPLE_MAX, x.a + x.span);
          // From the start: a search on an active state continues from it.
          mas.reset();
          const ret = mas.emptyArea(x.a, amax, x.size);
          if (amax - x.a < x.size - 1) expect(ret).toBe(-22);
          else {
            const fit = gapBlind(mt, x.a, amax, false) ? -1 : o.lowestFit(x.a, amax, x.size);
            if (fit < 0) expect(ret).toBe(-EBUSY);
            else {
              expect(ret).toBe(0);
              expect([mas.index, mas.last]).toEqual([fit, fit + x.size - 1]);
            }
          }
          mas.reset();
          const ret2 = mas.emptyAreaRev(x.a, amax, x.size);
          if (amax - x.a < x.size - 1) expect(ret2).toBe(-22);
          else {
            const fit = gapBlind(mt, x.a, amax, true) ? -1 : o.highestFit(x.a, amax, x.size);
            if (fit < 0) expect(ret2).toBe(-EBUSY);
            else {
              expect(ret2).toBe(0);
              expect([mas.index, mas.last]).toEqual([fit, fit + x.size - 1]);
            }
          }
          mas.reset();
        }
        break;
      }
    }
    mtValidate(mt);
    if ((flags & MT_FLAGS_USE_RCU) !== 0) (mt.rcu as MapleRcuQueue).synchronize();
  }
  for (const r of o.ranges) {
    expect(mtreeLoad(mt, r.first)).toBe(r.value);
    expect(mtreeLoad(mt, r.last)).toBe(r.value);
  }
}

/**
 * A leaf root holding one empty range [0, MAPLE_MAX] (left by an exact-fit
 * erase): the kernel's gap walks size that slot in unsigned long arithmetic,
 * where [0, ULONG_MAX] has size 0: every reverse search, and a forward one
 * over the window [0, MAPLE_MAX], answers -EBUSY (kernel-diff: `arr`/`ar`
 * after `me` emptied a one-entry tree, Linux 7.2).
 */
function gapBlind(mt: Mtree, lo: number, hi: number, rev: boolean): boolean {
  const st = mt.store;
  const r = mt.root;
  const blind = r !== 0 && mtHeight(mt) === 1 && st.pivots[r * 16 + 15] === 0 && st.slots[r * 16] === undefined;
  return blind && (rev || (lo === 0 && hi === MAPLE_MAX));
}

describe('maple tree against a sorted-array oracle', () => {
  for (const [name, flags] of [
    ['plain', 0],
    ['alloc', MT_FLAGS_ALLOC_RANGE],
    ['alloc+rcu', MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU],
  ] as const) {
    it(`random operation sequences (${name})`, async () => {
      await assertInChunks(
        fc.property(fc.array(op, { minLength: 1, maxLength: 300, size: 'max' }), (ops) => run(flags, ops)),
        80,
        { endOnFailure: true },
      );
    });
  }

  it('long sequences build tall trees and stay valid (alloc)', async () => {
    await assertInChunks(
      fc.property(fc.array(op, { minLength: 1000, maxLength: 1500 }), (ops) => run(MT_FLAGS_ALLOC_RANGE, ops)),
      3,
      { endOnFailure: true },
    );
  });
});

describe('several trees at once', () => {
  it('interleaved writes to three trees (shared scratch state) stay independent', async () => {
    await assertInChunks(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 2 }),
            fc.integer({ min: 0, max: 3000 }),
            fc.integer({ min: 0, max: 40 }),
            fc.boolean(),
          ),
          { minLength: 50, maxLength: 600, size: 'max' },
        ),
        (ops) => {
          const trees = [
            mtreeInit(MT_FLAGS_ALLOC_RANGE),
            mtreeInit(0),
            mtreeInit(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU),
          ];
          const oracles = [new RangeOracle(), new RangeOracle(), new RangeOracle()];
          let tag = 0;
          for (const [t, a, len, erase] of ops) {
            const mt = trees[t]!;
            const o = oracles[t]!;
            if (erase) expect(mtreeErase(mt, a)).toBe(o.erase(a));
            else {
              const v = { tag: tag++ };
              mtreeStoreRange(mt, a, a + len, v);
              o.store(a, a + len, v);
            }
            mtValidate(mt);
            expect(mtreeLoad(mt, a)).toBe(o.load(a));
          }
          for (let t = 0; t < 3; t++)
            for (const r of oracles[t]!.ranges) expect(mtreeLoad(trees[t]!, r.first)).toBe(r.value);
        },
      ),
      40,
      { endOnFailure: true },
    );
  });
});
