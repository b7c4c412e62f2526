import { GFP_ATOMIC, GFP_KERNEL, Prng } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  kmalloc,
  kmemCacheAlloc,
  kmemCacheAllocBulk,
  kmemCacheCreate,
  kmemCacheFree,
  kmemCachePrefillSheaf,
  kmemCacheReturnSheaf,
  SlabError,
  slabValidate,
} from '../src/index.js';
import { makeHarness } from './helpers/harness.js';

describe('failslab', () => {
  it('is off by default, and ignore-gfp-wait spares GFP_KERNEL as in the kernel', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'vm_area_struct', 184);
    slab.failslab.configure({ probability: 100, times: -1 });
    const a = kmemCacheAlloc(s, GFP_KERNEL);
    expect(a).toBeGreaterThan(0);
    expect(kmemCacheAlloc(s, GFP_ATOMIC)).toBe(-12);
    kmemCacheFree(s, a);
    slabValidate(slab);
  });

  it('fail-nth fails exactly the n-th eligible allocation, and leaves the allocator as it was', () => {
    const { slab } = makeHarness();
    // no sheaves: every allocation is one slab_alloc_node() (a sheaf allocation would be a kmalloc, counted too)
    const s = kmemCacheCreate(slab, 'anon_vma_chain', 64);
    slab.failslab.configure({ ignoreGfpReclaim: false, failNth: 3 });
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push(kmemCacheAlloc(s, GFP_KERNEL));
    expect(got.map((x) => x > 0)).toEqual([true, true, false, true, true]);
    expect(got[2]).toBe(-12);
    expect(slab.failslab.nrFailed).toBe(1);
    expect(slab.failslab.failNth).toBe(0);
    for (const x of got) if (x > 0) kmemCacheFree(s, x);
    slabValidate(slab);
  });

  it('interval and times follow should_fail_ex; the cache filter narrows it; kmalloc and bulk are covered', () => {
    const { slab } = makeHarness();
    const a = kmemCacheCreate(slab, 'a', 64);
    const b = kmemCacheCreate(slab, 'b', 64);
    slab.failslab.configure({ ignoreGfpReclaim: false, probability: 100, interval: 2, times: 2 });
    const r = [1, 2, 3, 4, 5, 6].map(() => kmemCacheAlloc(a, GFP_KERNEL));
    expect(r.map((x) => x > 0)).toEqual([true, false, true, false, true, true]);
    for (const x of r) if (x > 0) kmemCacheFree(a, x);
    slab.failslab.configure({ interval: 1, times: -1, cacheFilter: true, caches: ['b'] });
    const ok = kmemCacheAlloc(a, GFP_KERNEL);
    expect(ok).toBeGreaterThan(0);
    expect(kmemCacheAlloc(b, GFP_KERNEL)).toBe(-12);
    kmemCacheFree(a, ok);
    slab.failslab.configure({ cacheFilter: false });
    expect(kmalloc(slab, 100, GFP_KERNEL)).toBeLessThan(0);
    const arr = [0, 0, 0];
    expect(kmemCacheAllocBulk(b, GFP_KERNEL, 3, arr)).toBe(0);
    slab.failslab.configure({ probability: 0 });
    slabValidate(slab);
  });

  it('a prefill fails when it must kmalloc a sheaf (as in the kernel); a spare sheaf fails only with prefill set', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'maple_node', 256, { sheafCapacity: 16 });
    slab.failslab.configure({ ignoreGfpReclaim: false, probability: 100, times: -1 });
    expect(kmemCachePrefillSheaf(s, GFP_KERNEL, 4)).toBeNull(); // the kmalloc of a new sheaf fails
    slab.failslab.configure({ probability: 0 });
    kmemCacheReturnSheaf(s, GFP_KERNEL, kmemCachePrefillSheaf(s, GFP_KERNEL, 4)!); // now the CPU's spare
    slab.failslab.configure({ probability: 100 });
    const sheaf = kmemCachePrefillSheaf(s, GFP_KERNEL, 4); // the spare: no allocation, no injection point
    expect(sheaf).not.toBeNull();
    kmemCacheReturnSheaf(s, GFP_KERNEL, sheaf!);
    slab.failslab.configure({ prefill: true });
    expect(kmemCachePrefillSheaf(s, GFP_KERNEL, 4)).toBeNull();
    slab.failslab.configure({ probability: 0 });
    slabValidate(slab);
  });

  it('a probability takes a seeded random source; bad attributes are typed errors', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'x', 32);
    expect(() => slab.failslab.configure({ probability: 50 })).toThrow(SlabError);
    slab.failslab.configure({ probability: 0 });
    expect(() => slab.failslab.configure({ probability: 101 })).toThrow(/probability 101/);
    expect(() => slab.failslab.configure({ interval: 0 })).toThrow(/interval/);
    slab.failslab.configure({ ignoreGfpReclaim: false, probability: 50, times: -1, random: new Prng(7) });
    let failed = 0;
    const live: number[] = [];
    for (let i = 0; i < 400; i++) {
      const x = kmemCacheAlloc(s, GFP_KERNEL);
      if (x < 0) failed++;
      else live.push(x);
    }
    expect(failed).toBeGreaterThan(120);
    expect(failed).toBeLessThan(280);
    for (const x of live) kmemCacheFree(s, x);
    slabValidate(slab);
  });
});
