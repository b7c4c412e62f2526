import { describe, expect, it } from 'vitest';
import {
  flushAllRcuSheaves,
  kfree,
  kfreeRcu,
  kfreeRcuMonitor,
  kfreeRcuStats,
  kmalloc,
  kmemCacheAlloc,
  kmemCacheAllocFromSheaf,
  kmemCacheCreate,
  kmemCacheFree,
  kmemCachePrefillSheaf,
  kmemCacheRefillSheaf,
  kmemCacheReturnSheaf,
  kmemCacheSheafSize,
  kvfreeRcuBarrier,
  type SheafRef,
  SlabError,
  STAT,
  slabStateJson,
  slabValidate,
} from '../src/index.js';
import { GFP_KERNEL, GFP_NOWAIT } from '../src/internal/gfp.js';
import { MAX_FULL_SHEAVES } from '../src/internal.js';
import { makeHarness } from './helpers/harness.js';

const CAP = 16;

describe('prefilled sheaves', () => {
  it('prefill gives at least size objects; allocations never fail until depleted; return makes it the spare', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'maple_node', 256, { sheafCapacity: CAP });
    const sheaf = kmemCachePrefillSheaf(s, GFP_KERNEL, 10)!;
    expect(sheaf).not.toBeNull();
    expect(kmemCacheSheafSize(sheaf)).toBeGreaterThanOrEqual(10);
    expect(s.statTotal(STAT.SHEAF_PREFILL_SLOW)).toBe(1);
    slabValidate(slab);
    const got: number[] = [];
    const n = kmemCacheSheafSize(sheaf);
    for (let i = 0; i < n; i++) got.push(kmemCacheAllocFromSheaf(s, GFP_NOWAIT, sheaf));
    expect(got.every((x) => x > 0)).toBe(true);
    expect(kmemCacheAllocFromSheaf(s, GFP_NOWAIT, sheaf)).toBe(-12);
    slabValidate(slab);
    kmemCacheReturnSheaf(s, GFP_KERNEL, sheaf);
    expect(s.statTotal(STAT.SHEAF_RETURN_FAST)).toBe(1);
    expect(s.pcs!.spare[0]).toBe(sheaf);
    // the next prefill takes the spare (fast)
    const again = kmemCachePrefillSheaf(s, GFP_KERNEL, 4)!;
    expect(again).toBe(sheaf);
    expect(s.statTotal(STAT.SHEAF_PREFILL_FAST)).toBe(1);
    kmemCacheReturnSheaf(s, GFP_KERNEL, again);
    for (const o of got) kmemCacheFree(s, o);
    slabValidate(slab);
    expect(() => kmemCacheReturnSheaf(s, GFP_KERNEL, sheaf)).toThrow(SlabError);
  });

  it('return without a free spare slot refills to capacity for the barn', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'p2', 64, { sheafCapacity: CAP });
    const a = kmemCachePrefillSheaf(s, GFP_KERNEL, 3)!;
    const b = kmemCachePrefillSheaf(s, GFP_KERNEL, 3)!;
    kmemCacheAllocFromSheaf(s, GFP_KERNEL, a);
    kmemCacheReturnSheaf(s, GFP_KERNEL, a); // becomes spare
    kmemCacheAllocFromSheaf(s, GFP_KERNEL, b);
    kmemCacheReturnSheaf(s, GFP_KERNEL, b); // refilled and put in the barn
    expect(s.statTotal(STAT.SHEAF_RETURN_SLOW)).toBe(1);
    expect(s.barns[0]!.nrFull).toBe(1);
    expect(s.barns[0]!.sheavesFull[0]!.size).toBe(CAP);
    slabValidate(slab);
  });

  it('oversize requests are allocated fresh and flushed and freed on return', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'p3', 64, { sheafCapacity: CAP });
    const big = kmemCachePrefillSheaf(s, GFP_KERNEL, 3 * CAP)!;
    expect(big.capacity).toBe(3 * CAP);
    expect(kmemCacheSheafSize(big)).toBe(3 * CAP);
    expect(s.statTotal(STAT.SHEAF_PREFILL_OVERSIZE)).toBe(1);
    slabValidate(slab);
    const flushed = s.statTotal(STAT.SHEAF_FLUSH_OTHER);
    kmemCacheReturnSheaf(s, GFP_KERNEL, big);
    expect(s.statTotal(STAT.SHEAF_FLUSH_OTHER) - flushed).toBe(3 * CAP);
    expect(s.pcs!.spare[0]).toBeNull();
    slabValidate(slab);
  });

  it('refill does nothing when large enough, refills in place up to capacity, replaces when larger than both', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'p4', 64, { sheafCapacity: CAP });
    const ref: SheafRef = { sheaf: kmemCachePrefillSheaf(s, GFP_KERNEL, 4)! };
    const first = ref.sheaf;
    const size0 = kmemCacheSheafSize(first);
    expect(kmemCacheRefillSheaf(s, GFP_KERNEL, ref, 2)).toBe(0);
    expect(ref.sheaf).toBe(first);
    expect(kmemCacheSheafSize(first)).toBe(size0);
    for (let i = 0; i < size0; i++) kmemCacheAllocFromSheaf(s, GFP_KERNEL, first);
    expect(kmemCacheRefillSheaf(s, GFP_KERNEL, ref, CAP)).toBe(0);
    expect(ref.sheaf).toBe(first);
    expect(kmemCacheSheafSize(first)).toBe(CAP);
    expect(kmemCacheRefillSheaf(s, GFP_KERNEL, ref, 2 * CAP)).toBe(0);
    expect(ref.sheaf).not.toBe(first);
    expect(kmemCacheSheafSize(ref.sheaf)).toBe(2 * CAP);
    slabValidate(slab);
    kmemCacheReturnSheaf(s, GFP_KERNEL, ref.sheaf);
    slabValidate(slab);
  });

  it('prefill fails cleanly when slabs cannot be had', () => {
    const { slab, pages } = makeHarness();
    const s = kmemCacheCreate(slab, 'p5', 1024, { sheafCapacity: CAP });
    pages.failBudget = 1_000_000;
    expect(kmemCachePrefillSheaf(s, GFP_KERNEL, 8)).toBeNull();
    pages.failBudget = 0;
    slabValidate(slab);
    expect(s.nrUserObjects).toBe(0);
  });
});

describe('kfree_rcu', () => {
  it('batches objects into rcu_free sheaves: one call_rcu per full sheaf, recycled through the barn', () => {
    const { slab, machine } = makeHarness();
    const s = kmemCacheCreate(slab, 'rcu', 64, { sheafCapacity: CAP });
    const n = 5 * CAP;
    const objs: number[] = [];
    for (let i = 0; i < n; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    const before = kfreeRcuStats(slab).callRcuSubmissions;
    for (const o of objs) kfreeRcu(slab, o);
    slabValidate(slab);
    expect(kfreeRcuStats(slab).sheafSubmissions).toBe(5);
    expect(s.statTotal(STAT.RCU_SHEAF_SUBMIT)).toBe(5);
    expect(kfreeRcuStats(slab).callRcuSubmissions - before).toBe(5);
    expect(s.nrRcuObjects).toBe(n);
    machine.rcu.rcuBarrier();
    slabValidate(slab);
    expect(s.nrRcuObjects).toBe(0);
    expect(s.barns[0]!.nrFull).toBe(5);
    expect(s.statTotal(STAT.FREE_RCU_SHEAF)).toBe(n);
    // allocations now take the recycled sheaves
    const gets = s.statTotal(STAT.BARN_GET);
    for (let i = 0; i < 3 * CAP; i++) kmemCacheAlloc(s, GFP_NOWAIT);
    expect(s.statTotal(STAT.BARN_GET)).toBeGreaterThan(gets);
    slabValidate(slab);
  });

  it('flushes rcu sheaves to slabs when the barn is full', () => {
    const { slab, machine } = makeHarness();
    const s = kmemCacheCreate(slab, 'rcu2', 64, { sheafCapacity: CAP });
    const n = (MAX_FULL_SHEAVES + 3) * CAP;
    const objs: number[] = [];
    for (let i = 0; i < n; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (const o of objs) kfreeRcu(slab, o);
    machine.rcu.rcuBarrier();
    slabValidate(slab);
    expect(s.barns[0]!.nrFull).toBe(MAX_FULL_SHEAVES);
    expect(s.statTotal(STAT.BARN_PUT_FAIL)).toBeGreaterThanOrEqual(3);
  });

  it('falls back to kvfree_rcu batches when no empty sheaf can be had', () => {
    const { slab, machine, pages } = makeHarness();
    const s = kmemCacheCreate(slab, 'rcu3', 2048, { sheafCapacity: CAP });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    // the empty spare left by the first refill is borrowed as a prefilled sheaf
    const held = kmemCachePrefillSheaf(s, GFP_KERNEL, 1)!;
    expect(s.pcs!.spare[0]).toBeNull();
    // no spare, barn empty; sheaf allocation (kmalloc, GFP_NOWAIT) fails
    pages.failBudget = 1_000_000;
    // use up the kmalloc cache that sheaves come from
    const hog: number[] = [];
    for (;;) {
      const p = kmalloc(slab, 32 + 8 * CAP, GFP_NOWAIT);
      if (p < 0) break;
      hog.push(p);
    }
    kfreeRcu(slab, o);
    pages.failBudget = 0;
    for (const p of hog) kfree(slab, p);
    kmemCacheReturnSheaf(s, GFP_KERNEL, held);
    expect(s.statTotal(STAT.FREE_RCU_SHEAF_FAIL)).toBe(1);
    expect(kfreeRcuStats(slab).batchObjectsPending).toBe(1);
    slabValidate(slab);
    kfreeRcuMonitor(slab);
    machine.rcu.rcuBarrier();
    expect(kfreeRcuStats(slab).batchObjectsPending).toBe(0);
    expect(s.nrRcuObjects).toBe(0);
    slabValidate(slab);
  });

  it('kmalloc objects (no sheaves) use the batches; a full page of pointers is one call_rcu', () => {
    const { slab, machine } = makeHarness({ kvfreeBulkMaxEntries: 10 });
    const ptrs: number[] = [];
    for (let i = 0; i < 25; i++) ptrs.push(kmalloc(slab, 100, GFP_KERNEL));
    for (const p of ptrs) kfreeRcu(slab, p);
    expect(kfreeRcuStats(slab).batchesSubmitted).toBe(2);
    kfreeRcuMonitor(slab);
    expect(kfreeRcuStats(slab).batchesSubmitted).toBe(3);
    machine.rcu.rcuBarrier();
    expect(kfreeRcuStats(slab).batchObjectsPending).toBe(0);
    slabValidate(slab);
  });

  it('without KVFREE_RCU_BATCHED (SLUB_TINY) each kfree_rcu is a call_rcu whose callback finds the object from the rcu_head', () => {
    const { slab, machine } = makeHarness({ slubTiny: true });
    const s = kmemCacheCreate(slab, 'tiny', 100, { sheafCapacity: CAP, rcuHeadOffset: 40 });
    const objs: number[] = [];
    for (let i = 0; i < 20; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (const o of objs) kfreeRcu(slab, o);
    expect(kfreeRcuStats(slab).callRcuSubmissions).toBe(20);
    expect(kfreeRcuStats(slab).singlePending).toBe(20);
    machine.rcu.rcuBarrier();
    expect(kfreeRcuStats(slab).singlePending).toBe(0);
    expect(s.nrRcuObjects).toBe(0);
    expect(s.nrUserObjects).toBe(0);
    slabValidate(slab);
  });

  it('flush_all_rcu_sheaves submits partly filled rcu sheaves', () => {
    const { slab, machine } = makeHarness();
    const s = kmemCacheCreate(slab, 'rcu4', 64, { sheafCapacity: CAP });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    kfreeRcu(slab, o);
    expect(s.pcs!.rcuFree[0]!.size).toBe(1);
    flushAllRcuSheaves(slab);
    machine.rcu.rcuBarrier();
    expect(s.nrRcuObjects).toBe(0);
    slabValidate(slab);
  });

  it('kvfree_rcu_barrier waits for sheaves and batches', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'rcu5', 64, { sheafCapacity: CAP });
    const objs: number[] = [];
    for (let i = 0; i < 10; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    const k = kmalloc(slab, 40, GFP_KERNEL);
    for (const o of objs) kfreeRcu(slab, o);
    kfreeRcu(slab, k);
    kvfreeRcuBarrier(slab);
    expect(s.nrRcuObjects).toBe(0);
    expect(kfreeRcuStats(slab).batchObjectsPending).toBe(0);
    const state = slabStateJson(slab).find((c) => c.name === 'rcu5')!;
    expect(state.rcuObjects).toBe(0);
    // the partly filled rcu_free sheaf was flushed to slabs (rcu_free_sheaf_nobarn), not put in the barn
    expect(state.barns[0]!.full).toBe(0);
    expect(state.cpuSheaves[0]!.rcuFree).toBe(null);
    slabValidate(slab);
  });
});
