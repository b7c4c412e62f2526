// Nested page allocation (issue 9 item 1): the reclaim hook runs inside the
// slow path and may allocate and free (as kernel reclaim does under
// PF_MEMALLOC); the outer request must keep its own zonelist, node, zone
// limit and migratetype.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  __GFP_NOWARN,
  __GFP_THISNODE,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_NOWAIT,
  type Machine,
  ZONE_MOVABLE,
} from '../src/index.js';
import { fuzzAssert, fuzzRuns, fuzzTimeout } from './fuzz.js';
import { smallNumaMachine } from './machines.js';

const RUNS = fuzzRuns(25);

/** Allocate order-0 pages of `nid` (no fallback, no reclaim) until the node refuses. */
function exhaustNode(m: Machine, nid: number, gfp = GFP_NOWAIT): number[] {
  const out: number[] = [];
  for (;;) {
    const pfn = m.mem.allocPages(gfp | __GFP_THISNODE | __GFP_NOWARN, 0, nid);
    if (pfn < 0) return out;
    out.push(pfn);
  }
}

describe('allocation from inside the reclaim hook', () => {
  it('GFP_KERNEL|__GFP_THISNODE for node 0 returns a node-0 page when reclaim allocates on node 1', () => {
    const m = smallNumaMachine();
    const pa = m.mem;
    const held = exhaustNode(m, 0);
    let nested = -1;
    let calls = 0;
    pa.setReclaimHook((nid) => {
      calls++;
      expect(nid).toBe(0);
      // Reclaim allocates on the other node (a nested request with its own
      // zonelist), then frees memory on node 0.
      nested = pa.allocPages(GFP_NOWAIT | __GFP_THISNODE, 0, 1);
      const freed = held.splice(0, 1024);
      for (const pfn of freed) pa.freePages(pfn, 0);
      pa.drainAllPages();
      return freed.length;
    });
    const pfn = pa.allocPages(GFP_KERNEL | __GFP_THISNODE, 0, 0);
    expect(calls).toBeGreaterThan(0);
    expect(pa.pageToNid(nested)).toBe(1);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(pa.pageToNid(pfn)).toBe(0);
    expect(pa.allocNesting).toBe(0);
    m.validate();
  });

  it('keeps the outer zone limit and migratetype: a GFP_KERNEL request never gets a ZONE_MOVABLE page', () => {
    const m = smallNumaMachine();
    const pa = m.mem;
    const held = exhaustNode(m, 0);
    pa.setReclaimHook(() => {
      // A movable nested request may use ZONE_MOVABLE; the outer one may not.
      const p = pa.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN, 0, 0);
      if (p >= 0) pa.freePages(p, 0);
      for (const q of held.splice(0, 512)) pa.freePages(q, 0);
      pa.drainAllPages();
      return 512;
    });
    const pfn = pa.allocPages(GFP_KERNEL, 0, 0);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(pa.pageZone(pfn) % 3).not.toBe(ZONE_MOVABLE);
    m.validate();
  });

  it('gives reclaim PF_MEMALLOC semantics: its own allocations do not enter reclaim again', () => {
    const m = smallNumaMachine();
    const pa = m.mem;
    exhaustNode(m, 0, GFP_KERNEL);
    let depth = 0;
    let maxDepth = 0;
    pa.setReclaimHook(() => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      pa.allocPages(GFP_KERNEL | __GFP_THISNODE | __GFP_NOWARN, 0, 0);
      depth--;
      return 0;
    });
    pa.allocPages(GFP_KERNEL | __GFP_THISNODE | __GFP_NOWARN, 0, 0);
    expect(maxDepth).toBe(1);
    expect(pa.memallocDepth).toBe(0);
    m.validate();
  });

  it('restores the context when the hook throws', () => {
    const m = smallNumaMachine();
    const pa = m.mem;
    exhaustNode(m, 0, GFP_KERNEL);
    pa.setReclaimHook(() => {
      throw new Error('hook failed');
    });
    expect(() => pa.allocPages(GFP_KERNEL | __GFP_THISNODE, 0, 0)).toThrow('hook failed');
    expect(pa.allocNesting).toBe(0);
    expect(pa.memallocDepth).toBe(0);
    m.validate();
  });

  it(
    'property: a reclaim hook that allocates and frees at random never breaks the outer request',
    async () => {
      await fuzzAssert(
        fc.property(
          fc.array(
            fc.record({
              nid: fc.integer({ min: 0, max: 1 }),
              thisnode: fc.boolean(),
              movable: fc.boolean(),
              order: fc.integer({ min: 0, max: 3 }),
              hook: fc.array(
                fc.record({
                  alloc: fc.boolean(),
                  nid: fc.integer({ min: 0, max: 1 }),
                  order: fc.integer({ min: 0, max: 2 }),
                  thisnode: fc.boolean(),
                }),
                { maxLength: 6 },
              ),
              release: fc.integer({ min: 0, max: 64 }),
            }),
            { minLength: 1, maxLength: 12 },
          ),
          (steps) => {
            const m = smallNumaMachine();
            const pa = m.mem;
            const held: [number, number][] = exhaustNode(m, 0).map((p) => [p, 0]);
            let script = steps[0]?.hook ?? [];
            let release = 0;
            pa.setReclaimHook(() => {
              for (const op of script) {
                if (op.alloc || held.length === 0) {
                  const gfp = GFP_NOWAIT | __GFP_NOWARN | (op.thisnode ? __GFP_THISNODE : 0);
                  const p = pa.allocPages(gfp, op.order, op.nid);
                  if (p >= 0) held.push([p, op.order]);
                } else {
                  const [p, o] = held.pop() as [number, number];
                  pa.freePages(p, o);
                }
              }
              let n = 0;
              for (; n < release && held.length > 0; n++) {
                const [p, o] = held.shift() as [number, number];
                pa.freePages(p, o);
              }
              return n;
            });
            for (const step of steps) {
              script = step.hook;
              release = step.release;
              const gfp = (step.movable ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL) | __GFP_NOWARN;
              const pfn = pa.allocPages(gfp | (step.thisnode ? __GFP_THISNODE : 0), step.order, step.nid);
              expect(pa.allocNesting).toBe(0);
              expect(pa.memallocDepth).toBe(0);
              if (pfn >= 0) {
                // The outer request's own constraints hold.
                if (step.thisnode) expect(pa.pageToNid(pfn)).toBe(step.nid);
                if (!step.movable) expect(pa.pageZone(pfn) % 3).not.toBe(ZONE_MOVABLE);
                expect(pa.compoundOrder(pfn)).toBe(0);
                held.push([pfn, step.order]);
              }
              m.validate();
            }
          },
        ),
        RUNS,
      );
    },
    fuzzTimeout(30_000),
  );
});
