import { describe, expect, it } from 'vitest';
import {
  type KmemCache,
  kfreeRcu,
  kmemCacheAlloc,
  kmemCacheAllocFromSheaf,
  kmemCacheCreate,
  kmemCacheFree,
  kmemCachePrefillSheaf,
  kmemCacheReturnSheaf,
  kmemCacheShrink,
  SLAB_ACCOUNT,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
  SlabBugError,
  slabAccess,
  slabObjectTracks,
  slabValidate,
} from '../src/index.js';
import { __GFP_ACCOUNT, GFP_KERNEL } from '../src/internal/gfp.js';
import { makeHarness } from './helpers/harness.js';

const DEBUG = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON;

describe('slub_debug', () => {
  it('red zones and poison enlarge the object layout', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'dbg', 64, { flags: DEBUG });
    expect(s.size).toBeGreaterThan(64);
    expect(s.redLeftPad).toBe(8);
  });

  it('a red zone overwrite is reported at free naming cache and object; the object is not freed', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'rz', 64, { flags: DEBUG });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    slabAccess(slab, o, 60, 8, true); // 4 bytes past object_size
    let err: unknown;
    try {
      kmemCacheFree(s, o);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SlabBugError);
    expect((err as SlabBugError).kind).toBe('redzone-overwritten');
    expect((err as SlabBugError).message).toMatch(/rz/);
    expect((err as SlabBugError).object).toBe(o);
    expect(s.nrUserObjects).toBe(1);
    slabValidate(slab);
  });

  it('a write to a free object breaks the poison, reported at the next allocation', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'poison', 64, { flags: DEBUG });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    kmemCacheFree(s, o);
    slabAccess(slab, o, 0, 8, true);
    expect(slab.debugReports).toHaveLength(0);
    let again = -1;
    for (let i = 0; i < s.objsPerSlab && again !== o; i++) again = kmemCacheAlloc(s, GFP_KERNEL);
    expect(again).toBe(o);
    expect(slab.debugReports.map((r) => r.kind)).toEqual(['poison-overwritten']);
    expect(slab.debugReports[0]!.cache).toBe('poison');
  });

  it('documented limitation: a use-after-free of an object cached in a sheaf is not detected', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'blind', 64, { flags: DEBUG, sheafCapacity: 8 });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    kmemCacheFree(s, o); // goes into the percpu sheaf, still "allocated" for slub_debug
    // the first allocation refilled the main sheaf (capacity 8) and took one; the free put it back
    expect(s.pcs!.main[0]!.size).toBe(8);
    slabAccess(slab, o, 0, 8, true); // use after free: nothing notices
    const again = kmemCacheAlloc(s, GFP_KERNEL); // served from the sheaf, no debug checks
    expect(again).toBe(o);
    expect(slab.debugReports).toHaveLength(0);
    // the same write on a cache without sheaves is caught
    const t = kmemCacheCreate(slab, 'seen', 64, { flags: DEBUG });
    const p = kmemCacheAlloc(t, GFP_KERNEL);
    kmemCacheFree(t, p);
    slabAccess(slab, p, 0, 8, true);
    expect(kmemCacheAlloc(t, GFP_KERNEL)).toBe(p);
    expect(slab.debugReports.map((r) => r.cache)).toEqual(['seen']);
  });

  it('a double free into a sheaf is caught only when the sheaf is flushed', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'dfs', 64, { flags: DEBUG, sheafCapacity: 8 });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    kmemCacheFree(s, o);
    kmemCacheFree(s, o); // not detected: the object counts as allocated
    expect(slab.debugReports).toHaveLength(0);
    kmemCacheShrink(s);
    expect(slab.debugReports.map((r) => r.kind)).toEqual(['double-free']);
  });
});

describe('KASAN-like checking', () => {
  it('catches use-after-free of objects freed to slabs and to sheaves, and double frees at once', () => {
    const { slab } = makeHarness({ kasan: true });
    const s = kmemCacheCreate(slab, 'k', 64, { sheafCapacity: 8 });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    slabAccess(slab, o, 0, 64, true);
    expect(() => slabAccess(slab, o, 60, 8, false)).toThrow(/out-of-bounds/);
    kmemCacheFree(s, o);
    expect(() => slabAccess(slab, o, 0, 8, true)).toThrow(/use-after-free/);
    expect(() => kmemCacheFree(s, o)).toThrow(/double-free/);
    const t = kmemCacheCreate(slab, 'k2', 64);
    const p = kmemCacheAlloc(t, GFP_KERNEL);
    kmemCacheFree(t, p);
    expect(() => slabAccess(slab, p, 0, 8, false)).toThrow(SlabBugError);
    const q = kmemCacheAlloc(s, GFP_KERNEL);
    kfreeRcu(slab, q);
    expect(() => slabAccess(slab, q, 0, 8, false)).toThrow(/use-after-free/);
    slabValidate(slab);
  });
});

describe('memcg hook', () => {
  it('charges and uncharges real user allocations, including those served from sheaves and prefilled sheaves', () => {
    const { slab } = makeHarness();
    const charged = new Set<number>();
    let limit = 1000;
    slab.memcg = {
      charge: (_c: KmemCache, obj: number) => {
        if (charged.size >= limit) return false;
        charged.add(obj);
        return true;
      },
      uncharge: (_c: KmemCache, obj: number) => {
        expect(charged.delete(obj)).toBe(true);
      },
    };
    const s = kmemCacheCreate(slab, 'acct', 64, { flags: SLAB_ACCOUNT, sheafCapacity: 8 });
    const objs: number[] = [];
    for (let i = 0; i < 20; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    expect(charged.size).toBe(20);
    for (const o of objs.splice(0, 10)) kmemCacheFree(s, o);
    expect(charged.size).toBe(10);
    const sheaf = kmemCachePrefillSheaf(s, GFP_KERNEL, 4)!;
    expect(charged.size).toBe(10); // objects in a sheaf are not charged
    objs.push(kmemCacheAllocFromSheaf(s, GFP_KERNEL, sheaf));
    expect(charged.size).toBe(11);
    kmemCacheReturnSheaf(s, GFP_KERNEL, sheaf);
    limit = charged.size;
    expect(kmemCacheAlloc(s, GFP_KERNEL)).toBe(-12);
    slabValidate(slab);
    const u = kmemCacheCreate(slab, 'unacct', 64);
    limit = 1000;
    const x = kmemCacheAlloc(u, GFP_KERNEL | __GFP_ACCOUNT);
    expect(charged.has(x)).toBe(true);
  });
});

describe('SLAB_TYPESAFE_BY_RCU', () => {
  it('slab pages go back to the page allocator only after a grace period', () => {
    const { slab, machine, pages } = makeHarness();
    const s = kmemCacheCreate(slab, 'typesafe', 512, { flags: SLAB_TYPESAFE_BY_RCU });
    const objs: number[] = [];
    for (let i = 0; i < s.objsPerSlab * 12; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (const o of objs) kmemCacheFree(s, o);
    kmemCacheShrink(s);
    expect(s.nrRcuSlabs).toBeGreaterThan(0);
    const held = pages.nrAllocated;
    slabValidate(slab);
    machine.rcu.rcuBarrier();
    expect(s.nrRcuSlabs).toBe(0);
    expect(pages.nrAllocated).toBeLessThan(held);
    slabValidate(slab);
  });
});

describe('SLAB_STORE_USER tracks', () => {
  it('record the last alloc and free; with sheaves they show sheaf refill/flush, not the user call', () => {
    const { slab, machine } = makeHarness();
    const plain = kmemCacheCreate(slab, 'tracked', 64, { flags: SLAB_STORE_USER });
    const sheafy = kmemCacheCreate(slab, 'tracked-sheaves', 64, { flags: SLAB_STORE_USER, sheafCapacity: 4 });
    const a = machine.cpus.runOn(2, () => kmemCacheAlloc(plain, GFP_KERNEL));
    const b = machine.cpus.runOn(2, () => kmemCacheAlloc(sheafy, GFP_KERNEL));
    const keep = machine.cpus.runOn(2, () => kmemCacheAlloc(sheafy, GFP_KERNEL)); // keeps the slab alive
    expect(slabObjectTracks(slab, a).alloc.cpu).toBe(2);
    expect(slabObjectTracks(slab, b).alloc.cpu).toBe(2); // the refill ran on CPU 2 too
    machine.cpus.runOn(3, () => {
      kmemCacheFree(plain, a);
      kmemCacheFree(sheafy, b);
    });
    expect(slabObjectTracks(slab, a).free.cpu).toBe(3);
    // b sits in CPU 3's sheaf: slub_debug has not seen the free
    expect(slabObjectTracks(slab, b).free.cpu).toBe(-1);
    machine.cpus.runOn(0, () => kmemCacheShrink(sheafy));
    // the flush worker ran on CPU 3 (flush work runs on the CPU it flushes)
    expect(slabObjectTracks(slab, b).free.cpu).toBe(3);
    expect(() => slabObjectTracks(slab, 12345)).toThrow(SlabBugError);
    kmemCacheFree(sheafy, keep);
    slabValidate(slab);
  });
});
