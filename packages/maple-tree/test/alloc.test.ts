/**
 * DOC: the node allocation interface: the preallocation worst case is never
 * below what a store uses (every store type, random trees, with and without
 * RCU), vacant/sufficient height never asks for more than the full-height
 * worst case, ENOMEM at every possible point leaves the tree valid and
 * unchanged with no node leaked, and mtree_dup.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  __mtDup,
  ENOMEM,
  MAPLE_MAX,
  MaplePoolAllocator,
  type MapleRcuQueue,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_USE_RCU,
  mtDump,
  mtreeDup,
  mtreeErase,
  mtreeInit,
  mtreeInsertRange,
  mtreeStoreRange,
  mtValidate,
  STORE_TYPE_NAMES,
} from '../src/index.js';
import { assertInChunks } from './fuzz.js';

const store = fc.record({
  a: fc.integer({ min: 0, max: 3000 }),
  len: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 600 })),
  empty: fc.boolean(),
});

/** The dump without node handles (two trees never share handles). */
function shape(mt: Parameters<typeof mtDump>[0]): string {
  return mtDump(mt, 'dec', (e) => JSON.stringify(e)).replace(/(node|parent|root) \d+/g, '$1 _');
}

function build(flags: number, seed: number, n: number, alloc = new MaplePoolAllocator()) {
  const mt = mtreeInit(flags, { allocator: alloc });
  let x = seed | 1;
  const rnd = (m: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % m;
  };
  for (let i = 0; i < n; i++) {
    const a = rnd(3000);
    mtreeStoreRange(mt, a, a + rnd(8), rnd(4) === 0 ? undefined : i + 1);
  }
  return mt;
}

describe('preallocation', () => {
  for (const [name, flags] of [
    ['plain', 0],
    ['alloc', MT_FLAGS_ALLOC_RANGE],
    ['alloc+rcu', MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU],
  ] as const) {
    it(`mas_preallocate covers what the store uses (${name})`, async () => {
      const seen = new Set<number>();
      await assertInChunks(
        fc.property(
          fc.integer({ min: 1, max: 1 << 30 }),
          fc.integer({ min: 0, max: 1500 }),
          fc.array(store, { minLength: 1, maxLength: 40, size: 'max' }),
          (seed, n, stores) => {
            const mt = build(flags, seed, n);
            for (const s of stores) {
              const last = Math.min(MAPLE_MAX, s.a + s.len);
              const entry = s.empty ? undefined : { s };
              const mas = new MaState(mt, s.a, last);
              expect(mas.preallocate(entry)).toBe(0);
              const have = mas.sheaf === null ? 0 : mas.sheaf.size;
              expect(have).toBe(mas.nodeRequest);
              seen.add(mas.storeType);
              const used0 = mt.stats.used;
              mas.storePrealloc(entry);
              expect(mt.stats.used - used0).toBeLessThanOrEqual(have);
              expect(mt.stats.extra).toBe(0);
              mtValidate(mt);
              if ((flags & MT_FLAGS_USE_RCU) !== 0) (mt.rcu as MapleRcuQueue).synchronize();
            }
          },
        ),
        40,
      );
      const names = [...seen].map((t) => STORE_TYPE_NAMES[t]);
      for (const t of ['wr_exact_fit', 'wr_spanning_store', 'wr_split_store', 'wr_rebalance', 'wr_node_store'])
        expect(names).toContain(t);
      if ((flags & MT_FLAGS_USE_RCU) === 0) expect(names).toContain('wr_slot_store');
    });
  }

  it('vacant and sufficient height never ask for more than the full height', () => {
    const a = build(MT_FLAGS_ALLOC_RANGE, 7, 3000);
    const b = build(MT_FLAGS_ALLOC_RANGE, 7, 3000);
    b.fullHeightPrealloc = true;
    let x = 99;
    for (let i = 0; i < 3000; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      const first = x % 3000;
      const last = first + (x % 7);
      const v = x % 5 === 0 ? undefined : i;
      const m1 = new MaState(a, first, last);
      const m2 = new MaState(b, first, last);
      m1.preallocate(v);
      m2.preallocate(v);
      expect(m1.storeType).toBe(m2.storeType);
      expect(m1.nodeRequest).toBeLessThanOrEqual(m2.nodeRequest);
      m1.storePrealloc(v);
      m2.storePrealloc(v);
    }
    expect(a.stats.requested).toBeLessThan(b.stats.requested);
    expect(shape(a)).toEqual(shape(b));
  });
});

describe('ENOMEM', () => {
  it('fails at every possible point without changing the tree or leaking a node', async () => {
    await assertInChunks(
      fc.property(
        fc.integer({ min: 1, max: 1 << 30 }),
        fc.integer({ min: 0, max: 1200 }),
        fc.array(fc.tuple(store, fc.constantFrom('store', 'insert', 'erase')), { minLength: 1, maxLength: 15 }),
        (seed, n, ops) => {
          const alloc = new MaplePoolAllocator();
          const mt = build(MT_FLAGS_ALLOC_RANGE, seed, n, alloc);
          for (const [s, kind] of ops) {
            const last = Math.min(MAPLE_MAX, s.a + s.len);
            for (let budget = 0; ; budget++) {
              const before = shape(mt);
              const inUse = alloc.inUse;
              alloc.failAfter = budget;
              const ret =
                kind === 'store'
                  ? mtreeStoreRange(mt, s.a, last, s.empty ? undefined : s)
                  : kind === 'insert'
                    ? mtreeInsertRange(mt, s.a, last, s)
                    : mtreeErase(mt, s.a);
              alloc.failAfter = -1;
              if (ret === -ENOMEM) {
                expect(shape(mt)).toBe(before);
                expect(alloc.inUse).toBe(inUse);
                mtValidate(mt);
                continue;
              }
              mtValidate(mt);
              break;
            }
          }
          expect(alloc.inUse).toBe(mtValidate(mt).nodes);
        },
      ),
      40,
    );
  });
});

describe('mtree_dup', () => {
  it('copies every node; fails cleanly on ENOMEM and on non-empty or mismatched targets', () => {
    const src = build(MT_FLAGS_ALLOC_RANGE, 5, 2000);
    const r = mtValidate(src);
    const alloc = new MaplePoolAllocator();
    const dst = mtreeInit(MT_FLAGS_ALLOC_RANGE, { allocator: alloc });
    for (const budget of [0, 1, Math.floor(r.nodes / 2), r.nodes - 1]) {
      alloc.failAfter = budget;
      expect(__mtDup(src, dst)).toBe(-ENOMEM);
      expect(dst.root).toBe(0);
      expect(alloc.inUse).toBe(0);
    }
    alloc.failAfter = -1;
    expect(mtreeDup(src, dst)).toBe(0);
    expect(shape(dst)).toEqual(shape(src));
    expect(mtValidate(dst).nodes).toBe(r.nodes);
    expect(mtreeDup(src, dst)).toBe(-22);
    expect(mtreeDup(src, mtreeInit(0))).toBe(-22);
    // The copy is independent.
    mtreeStoreRange(dst, 0, 100000, undefined);
    mtValidate(src);
    expect(mtValidate(src).entries).toBe(r.entries);
  });
});

describe('bulk insert (mas_expected_entries)', () => {
  it('preallocates, builds a valid tree in order and rebalances the last leaf on destroy', () => {
    for (const n of [1, 7, 15, 100, 1000, 5000]) {
      const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE, { allocator: new MaplePoolAllocator() });
      const mas = new MaState(mt);
      expect(mas.expectedEntries(n)).toBe(0);
      expect(mt.stats.requested).toBeGreaterThan(0);
      for (let i = 0; i < n; i++) {
        mas.setRange(i * 10, i * 10 + 4);
        mas.store(i + 1);
      }
      mas.destroy();
      const r = mtValidate(mt);
      expect(r.entries).toBe(n);
      // Freed nodes go back to the state and are reused (mas_push_node); the
      // estimate of mas_expected_entries assumes fuller leaves than splits
      // leave, so a long run may allocate a few more (counted as extra).
      expect(mt.stats.reused).toBeGreaterThan(n >= 100 ? 0 : -1);
      expect(mt.stats.extra).toBeLessThanOrEqual(Math.ceil(n / 5));
      for (let i = 0; i < n; i++) expect(mtreeErase(mt, i * 10 + 2)).toBe(i + 1);
      mtValidate(mt);
    }
  });
});
