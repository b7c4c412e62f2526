/**
 * DOC: property tests aimed at the write path a VMA workload takes: ranges
 * with holes stored in random order, then erase-and-shrink churn (as the
 * vma-mix benchmark does). That reaches every store type, the copy path's
 * splits, rebalances and spanning stores, and the in-place node store's
 * incremental gap update (`wrNodeStoreInPlace`, which skips the leaf rescan
 * when the replaced slots did not hold the leaf's largest gap). Every step is
 * checked with mtValidate and against the sorted-array oracle, and the same
 * sequence on an RCU tree (node stores copy the leaf there) must hold the
 * same ranges.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type MapleRcuQueue,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_USE_RCU,
  type Mtree,
  mtForEach,
  mtreeDestroy,
  mtreeErase,
  mtreeInit,
  mtreeLoad,
  mtreeStoreRange,
} from '../src/index.js';
import { mtValidate } from '../src/validate.js';
import { wrFastPathCounts } from '../src/write.js';
import { assertInChunks } from './fuzz.js';
import { RangeOracle } from './oracle.js';

/** [first, last, value] of every range, in order. */
function contents(mt: Mtree): Array<[number, number, unknown]> {
  const out: Array<[number, number, unknown]> = [];
  const mas = new MaState(mt, 0, 0);
  for (let e = mas.find(Number.MAX_SAFE_INTEGER); e !== undefined; e = mas.find(Number.MAX_SAFE_INTEGER))
    out.push([mas.index, mas.last, e]);
  return out;
}

interface Workload {
  /** Ranges as (hole before, length) pairs. */
  layout: Array<[number, number]>;
  /** Store order: a permutation key per range. */
  keys: number[];
  /** Churn steps: (range index, new length seed, erase only). */
  churn: Array<[number, number, boolean]>;
}

const workload: fc.Arbitrary<Workload> = fc.integer({ min: 20, max: 400 }).chain((n) =>
  fc.record({
    layout: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 8 })), {
      minLength: n,
      maxLength: n,
    }),
    keys: fc.array(fc.nat(), { minLength: n, maxLength: n }),
    churn: fc.array(fc.tuple(fc.nat({ max: n - 1 }), fc.nat(), fc.boolean()), { maxLength: 1000, size: 'max' }),
  }),
);

function run(flags: number, w: Workload, check: boolean): Mtree {
  const rcu = (flags & MT_FLAGS_USE_RCU) !== 0;
  const mt = mtreeInit(flags);
  const o = new RangeOracle();
  const first: number[] = [];
  const last: number[] = [];
  let cursor = 1000;
  for (const [hole, len] of w.layout) {
    first.push(cursor + hole * 16);
    last.push(cursor + hole * 16 + len * 16 - 1);
    cursor = last[last.length - 1]! + 1;
  }
  const order = w.keys.map((k, i) => [k, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const step = (what: string) => {
    if (!check) return;
    try {
      mtValidate(mt);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
    if (rcu) (mt.rcu as MapleRcuQueue).synchronize();
  };
  for (const [, i] of order) {
    expect(mtreeStoreRange(mt, first[i]!, last[i]!, i + 1)).toBe(0);
    o.store(first[i]!, last[i]!, i + 1);
    step(`store ${i}`);
  }
  for (const [i, seed, eraseOnly] of w.churn) {
    const f = first[i]!;
    expect(mtreeErase(mt, f)).toBe(o.erase(f));
    step(`erase ${i}`);
    if (eraseOnly) continue;
    const pages = (last[i]! - f + 1) / 16;
    const l = f + (1 + (seed % pages)) * 16 - 1;
    expect(mtreeStoreRange(mt, f, l, i + 1 + 1000)).toBe(0);
    o.store(f, l, i + 1 + 1000);
    last[i] = l;
    step(`store ${i}`);
    expect(mtreeLoad(mt, f)).toBe(o.load(f));
  }
  if (check) expect(contents(mt)).toEqual(o.ranges.map((r) => [r.first, r.last, r.value]));
  return mt;
}

describe('write paths of a VMA workload', () => {
  for (const [name, flags] of [
    ['alloc', MT_FLAGS_ALLOC_RANGE],
    ['plain', 0],
  ] as const) {
    it(`VMA-like build and churn stays valid and matches the oracle and an RCU tree (${name})`, async () => {
      const before = { ...wrFastPathCounts };
      await assertInChunks(
        fc.property(workload, (w) => {
          const mt = run(flags, w, true);
          // RCU mode copies the leaf for every node store.
          const ref = run(flags | MT_FLAGS_USE_RCU, w, false);
          expect(contents(mt)).toEqual(contents(ref));
          let n = 0;
          mtForEach(mt, () => {
            n++;
          });
          expect(n).toBe(contents(ref).length);
          // Give the nodes back: the trees share the default allocator,
          // whose nodes in use are bounded (long runs would run out).
          mtreeDestroy(mt);
          mtreeDestroy(ref);
          (ref.rcu as MapleRcuQueue).synchronize();
        }),
        25,
        { endOnFailure: true },
      );
      // The properties reached the incremental gap path (many times; gap trees only).
      if (flags === MT_FLAGS_ALLOC_RANGE)
        expect(wrFastPathCounts.nodeStoreGapKept - before.nodeStoreGapKept).toBeGreaterThan(1000);
    });
  }
});
