// The augmented red-black interval tree against a naive scan: random
// insert / insert-after / remove / query sequences over several trees
// sharing one node pool; every query returns exactly the overlapping
// intervals, in the kernel's order (start, then insertion order), and the
// validator (red-black rules, subtree_last, leftmost) passes after each step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalTreePool, RB_NIL, RbRootCached } from '../src/index.js';
import { fuzzRuns } from './helpers.js';

interface Item {
  seq: number;
  start: number;
  last: number;
  tree: number;
  h: number;
}

type Op =
  | { t: 'ins'; tree: number; start: number; len: number }
  | { t: 'after'; i: number }
  | { t: 'rm'; i: number }
  | { t: 'q'; tree: number; start: number; len: number };

const K = 40; // small key space: many overlaps and equal starts
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('ins' as const), tree: fc.nat(2), start: fc.nat(K), len: fc.nat(12) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('after' as const), i: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('rm' as const), i: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('q' as const), tree: fc.nat(2), start: fc.nat(K + 10), len: fc.nat(15) }),
  },
);

describe('interval tree', () => {
  it('matches a naive scan under random operations', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 300, size: 'max' }), (ops) => {
        const pool = new IntervalTreePool<Item>(4);
        const roots = [new RbRootCached(), new RbRootCached(), new RbRootCached()];
        const live: Item[] = [];
        let seq = 0;
        // Insertion order among equal starts: a real-valued rank so that
        // insert-after can slot between two neighbours.
        const rank = new Map<Item, number>();
        for (const op of ops) {
          if (op.t === 'ins') {
            const it: Item = { seq: seq++, start: op.start, last: op.start + op.len, tree: op.tree, h: 0 };
            it.h = pool.alloc(it, it.start, it.last);
            pool.insert(roots[op.tree] as RbRootCached, it.h);
            rank.set(it, it.seq);
            live.push(it);
          } else if (op.t === 'after' && live.length > 0) {
            const prev = live[op.i % live.length] as Item;
            const it: Item = { seq: seq++, start: prev.start, last: prev.last, tree: prev.tree, h: 0 };
            it.h = pool.alloc(it, it.start, it.last);
            pool.insertAfter(roots[prev.tree] as RbRootCached, it.h, prev.h);
            // just after prev: between prev and its successor among equal starts in this tree
            const after = live
              .filter(
                (x) =>
                  x.tree === prev.tree &&
                  x.start === prev.start &&
                  (rank.get(x) as number) > (rank.get(prev) as number),
              )
              .map((x) => rank.get(x) as number);
            const next = after.length > 0 ? Math.min(...after) : (rank.get(prev) as number) + 1;
            rank.set(it, ((rank.get(prev) as number) + next) / 2);
            live.push(it);
          } else if (op.t === 'rm' && live.length > 0) {
            const k = op.i % live.length;
            const it = live[k] as Item;
            pool.remove(roots[it.tree] as RbRootCached, it.h);
            pool.free(it.h);
            live.splice(k, 1);
          } else if (op.t === 'q') {
            const root = roots[op.tree] as RbRootCached;
            const got: Item[] = [];
            const qs = op.start;
            const ql = op.start + op.len;
            for (let h = pool.iterFirst(root, qs, ql); h !== RB_NIL; h = pool.iterNext(h, qs, ql)) {
              got.push(pool.owner[h] as Item);
            }
            const want = live
              .filter((x) => x.tree === op.tree && x.start <= ql && qs <= x.last)
              .sort((a, b) => a.start - b.start || (rank.get(a) as number) - (rank.get(b) as number));
            expect(got.map((x) => x.seq)).toEqual(want.map((x) => x.seq));
          }
          let n = 0;
          for (const r of roots) n += pool.validate(r);
          expect(n).toBe(live.length);
          expect(pool.nrNodes).toBe(live.length);
        }
      }),
      { numRuns: fuzzRuns(150) },
    );
  });

  it('keeps large keys (page offsets near 2^52) exact', () => {
    const pool = new IntervalTreePool<number>();
    const root = new RbRootCached();
    const base = 2 ** 52;
    const hs = [0, 5, 10].map((d) => {
      const h = pool.alloc(d, base + d, base + d + 4);
      pool.insert(root, h);
      return h;
    });
    const got: number[] = [];
    for (let h = pool.iterFirst(root, base + 4, base + 5); h !== RB_NIL; h = pool.iterNext(h, base + 4, base + 5)) {
      got.push(pool.owner[h] as number);
    }
    expect(got).toEqual([0, 5]);
    expect(pool.validate(root)).toBe(3);
    expect(hs.length).toBe(3);
  });
});
