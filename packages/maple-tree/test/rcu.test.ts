/**
 * DOC: RCU mode and locking: a reader iterating while a writer stores sees,
 * range by range, either the old or the new contents and never a torn node;
 * replaced nodes are freed only after the grace period; writers without the
 * lock are refused when a lock checker is set.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAPLE_MAX,
  type MapleNodeAllocator,
  MaplePoolAllocator,
  MapleRcuQueue,
  MapleTreeError,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_USE_RCU,
  maple_free,
  mtClearInRcu,
  mtreeDestroy,
  mtreeErase,
  mtreeInit,
  mtreeLock,
  mtreeStoreRange,
  mtreeUnlock,
  mtSetExternalLock,
  mtSetInRcu,
  mtValidate,
} from '../src/index.js';
import { assertInChunks } from './fuzz.js';
import { RangeOracle } from './oracle.js';

describe('RCU mode', () => {
  it('readers see old or new contents per range, and nodes are freed only after the grace period', async () => {
    await assertInChunks(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 30 }), fc.boolean()), {
          minLength: 50,
          maxLength: 200,
          size: 'max',
        }),
        (writes) => {
          const rcu = new MapleRcuQueue();
          const alloc = new MaplePoolAllocator();
          const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU, { rcu, allocator: alloc });
          const o = new RangeOracle();
          for (let i = 0; i < 800; i++) {
            const a = (i * 37) % 4000;
            mtreeStoreRange(mt, a, a + 3, `v${i}`);
            o.store(a, a + 3, `v${i}`);
          }
          rcu.synchronize();
          // Every (first, last, value) that existed at any moment of the read.
          const valid = new Set(o.ranges.map((r) => `${r.first}:${r.last}:${String(r.value)}`));
          const untouched = new Set(valid);
          const reader = new MaState(mt, 0);
          const seen: string[] = [];
          let w = 0;
          let prevLast = -1;
          for (let e = reader.find(MAPLE_MAX); e !== undefined; e = reader.find(MAPLE_MAX)) {
            // Progress, not strict order: an RCU-safe slot store (one pivot moved,
            // in place, as in the kernel) can hand the reader a new range that
            // starts inside the one it just returned.
            expect(reader.last).toBeGreaterThan(prevLast);
            prevLast = reader.last;
            seen.push(`${reader.index}:${reader.last}:${String(e)}`);
            // The writer runs between two reader steps.
            const wr = writes[w++ % writes.length]!;
            const [a, len, erase] = wr;
            for (const r of o.between(a, a + len)) untouched.delete(`${r.first}:${r.last}:${String(r.value)}`);
            if (erase) {
              const r = o.rangeAt(a);
              if (r !== undefined) untouched.delete(`${r.first}:${r.last}:${String(r.value)}`);
              mtreeErase(mt, a);
              o.erase(a);
            } else {
              mtreeStoreRange(mt, a, a + len, `w${w}`);
              o.store(a, a + len, `w${w}`);
            }
            for (const r of o.between(Math.max(0, a - 1), a + len + 1))
              valid.add(`${r.first}:${r.last}:${String(r.value)}`);
          }
          for (const s of seen) expect(valid.has(s)).toBe(true);
          const seenSet = new Set(seen);
          for (const s of untouched) expect(seenSet.has(s)).toBe(true);
          const inUseBefore = alloc.inUse;
          rcu.synchronize();
          expect(alloc.inUse).toBeLessThanOrEqual(inUseBefore);
          expect(alloc.inUse).toBe(mtValidate(mt).nodes);
        },
      ),
      25,
      { endOnFailure: true },
    );
  });

  it('hands dead nodes to an allocator with freeRcu (kfree_rcu), which keeps them readable until the grace period', () => {
    const rcu = new MapleRcuQueue();
    const pool = new MaplePoolAllocator();
    const batches: number[][] = [];
    // An allocator in the shape of apps/kernel's slab adapter: freeRcu gets the
    // dead nodes of each write at once and frees them after a grace period.
    const alloc: MapleNodeAllocator = {
      store: pool.store,
      prefillSheaf: (count, gfp) => pool.prefillSheaf(count, gfp),
      allocFromSheaf: (sheaf) => pool.allocFromSheaf(sheaf),
      returnSheaf: (sheaf) => pool.returnSheaf(sheaf),
      alloc: (gfp) => pool.alloc(gfp),
      free: (n) => pool.free(n),
      freeRcu(nodes, r) {
        batches.push([...nodes]);
        r.callRcu(() => {
          for (const n of nodes) pool.free(n);
        });
      },
    };
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU, { rcu, allocator: alloc });
    for (let i = 0; i < 400; i++) mtreeStoreRange(mt, i * 10, i * 10 + 5, i + 1);
    rcu.synchronize();
    batches.length = 0;
    const deferredBefore = mt.stats.rcuDeferred;
    for (let i = 0; i < 400; i += 3) mtreeErase(mt, i * 10);
    const dead = batches.flat();
    expect(dead.length).toBeGreaterThan(0);
    expect(dead.length).toBe(mt.stats.rcuDeferred - deferredBefore);
    // Not freed yet: still marked dead, still holding their contents.
    for (const n of dead) {
      expect(pool.store.dead[n]).toBe(1);
      expect(pool.store.type[n]).not.toBe(maple_free);
    }
    const inUse = pool.inUse;
    rcu.synchronize();
    for (const n of dead) expect(pool.store.type[n]).toBe(maple_free);
    expect(pool.inUse).toBe(inUse - dead.length);
    mtValidate(mt);
    // Destroying an RCU-mode tree goes through freeRcu too.
    batches.length = 0;
    mtreeDestroy(mt);
    expect(batches.flat().length).toBeGreaterThan(0);
    rcu.synchronize();
  });

  it('switches in and out of RCU mode', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtSetInRcu(mt);
    for (let i = 0; i < 300; i++) mtreeStoreRange(mt, i * 4, i * 4 + 1, i + 1);
    expect(mt.stats.rcuDeferred).toBeGreaterThan(0);
    mtClearInRcu(mt);
    const freed = mt.stats.freed;
    for (let i = 0; i < 300; i++) mtreeErase(mt, i * 4);
    expect(mt.stats.freed).toBeGreaterThan(freed);
    mtValidate(mt);
  });
});

describe('locking', () => {
  it('refuses advanced-API writes without the external lock', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    let held = false;
    mtSetExternalLock(mt, { isHeld: () => held });
    const mas = new MaState(mt, 10, 20);
    expect(() => mas.store('x')).toThrow(MapleTreeError);
    expect(() => mtreeStoreRange(mt, 1, 2, 'x')).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(mt.root).toBe(0);
    held = true;
    mas.store('x');
    expect(mtreeStoreRange(mt, 1, 2, 'y')).toBe(0);
    mtValidate(mt);
  });

  it('checks the internal lock under lockdep', () => {
    const mt = mtreeInit(0, { lockdep: true });
    const mas = new MaState(mt, 1, 1);
    expect(() => mas.store('x')).toThrow(expect.objectContaining({ code: 'EPERM' }));
    mtreeLock(mt);
    mas.store('x');
    mtreeUnlock(mt);
    expect(mtreeStoreRange(mt, 5, 6, 'y')).toBe(0);
    expect(mt.lockHeld).toBe(false);
  });
});
