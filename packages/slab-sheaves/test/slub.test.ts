import { ENOMEM, MmBugError, PGTY_slab } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  CacheBusyError,
  formatSlabinfo,
  kfree,
  kmalloc,
  kmemCacheAlloc,
  kmemCacheAllocBulk,
  kmemCacheAllocNode,
  kmemCacheCreate,
  kmemCacheDestroy,
  kmemCacheFree,
  kmemCacheFreeBulk,
  kmemCacheShrink,
  ksize,
  readSlabSysfs,
  SLAB_HWCACHE_ALIGN,
  SlabBugError,
  SlabError,
  slabValidate,
  writeSlabSysfs,
  ZERO_SIZE_PTR,
} from '../src/index.js';
import { GFP_KERNEL } from '../src/internal/gfp.js';
import { calculateOrder, resolveSlubConfig } from '../src/internal.js';
import { makeHarness, reserved, TWO_NODES } from './helpers/harness.js';

const cfg = resolveSlubConfig();

describe('calculate_order', () => {
  // Values computed with the kernel's formula for 4 KiB pages.
  it.each([
    // size, nrCpus, order
    [8, 4, 0],
    [64, 4, 0],
    [192, 4, 0],
    [256, 4, 0],
    [512, 4, 1],
    [1024, 4, 2],
    [2048, 4, 3],
    [4096, 4, 3],
    [8192, 4, 3],
    [256, 256, 2],
    [700, 4, 2],
  ])('size %i with %i cpus -> order %i', (size, cpus, order) => {
    expect(calculateOrder(size, cpus, 4096, 12, cfg)).toBe(order);
  });

  it('slub_max_order 0 (SLUB_TINY) keeps order 0 for small objects', () => {
    expect(calculateOrder(1024, 4, 4096, 12, resolveSlubConfig({ slubTiny: true }))).toBe(0);
  });
});

describe('SLUB core', () => {
  it('allocates distinct objects and frees them back to the page allocator on shrink', () => {
    const { slab, pages } = makeHarness();
    const base = pages.nrAllocated;
    const s = kmemCacheCreate(slab, 'test', 100);
    expect(s.size).toBe(104);
    const objs = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const o = kmemCacheAlloc(s, GFP_KERNEL);
      expect(o).toBeGreaterThan(0);
      expect(objs.has(o)).toBe(false);
      objs.add(o);
    }
    slabValidate(slab);
    for (const o of objs) kmemCacheFree(s, o);
    slabValidate(slab);
    kmemCacheShrink(s);
    slabValidate(slab);
    expect(s.nrSlabsNode[0]).toBe(0);
    kmemCacheDestroy(s);
    expect(pages.nrAllocated - reserved(slab)).toBe(base);
  });

  it('keeps min_partial empty slabs and frees the rest', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'mp', 256);
    const objs: number[] = [];
    for (let i = 0; i < s.objsPerSlab * 20; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (const o of objs) kmemCacheFree(s, o);
    slabValidate(slab);
    // cpu slab + cpu partials + node partials may hold empty slabs; node keeps at most min_partial
    expect(s.nrPartial[0]).toBeLessThanOrEqual(s.minPartial);
  });

  it('refuses to destroy a cache with live objects, naming how many', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'busy', 32);
    const a = kmemCacheAlloc(s, GFP_KERNEL);
    kmemCacheAlloc(s, GFP_KERNEL);
    expect(() => kmemCacheDestroy(s)).toThrow(CacheBusyError);
    try {
      kmemCacheDestroy(s);
    } catch (e) {
      expect((e as CacheBusyError).nrObjects).toBe(2);
      expect((e as CacheBusyError).code).toBe('EBUSY');
    }
    kmemCacheFree(s, a);
    slabValidate(slab);
  });

  it('a destroyed cache refuses allocations with a typed error', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'gone', 32);
    kmemCacheFree(s, kmemCacheAlloc(s, GFP_KERNEL));
    kmemCacheDestroy(s);
    expect(() => kmemCacheAlloc(s, GFP_KERNEL)).toThrow(/was destroyed/);
    expect(() => kmemCacheDestroy(s)).toThrow(SlabError);
    expect(slab.caches.includes(s)).toBe(false);
    slabValidate(slab);
  });

  it('detects double, invalid and wrong-cache frees with state unchanged', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'df', 64);
    const t = kmemCacheCreate(slab, 'other', 64);
    const a = kmemCacheAlloc(s, GFP_KERNEL);
    const b = kmemCacheAlloc(t, GFP_KERNEL);
    expect(() => kmemCacheFree(s, a + 8)).toThrow(SlabBugError);
    expect(() => kmemCacheFree(s, b)).toThrow(/different cache other/);
    kmemCacheFree(s, a);
    expect(() => kmemCacheFree(s, a)).toThrow(/double-free/);
    slabValidate(slab);
  });

  it('interior pointers are refused for small and huge objects', () => {
    const { slab } = makeHarness();
    for (const size of [8, 104, 4095, 3_000_000]) {
      const s = kmemCacheCreate(slab, `obj-${size}`, size);
      const a = kmemCacheAlloc(s, GFP_KERNEL);
      const b = kmemCacheAlloc(s, GFP_KERNEL);
      expect(() => kmemCacheFree(s, a + s.size - 1)).toThrow(/not at the start of an object/);
      expect(() => kmemCacheFree(s, a + 1)).toThrow(SlabBugError);
      kmemCacheFree(s, b);
      kmemCacheFree(s, a);
    }
    slabValidate(slab);
  });

  it('node allocations come from the requested node, before partial slabs of other nodes', () => {
    const { slab } = makeHarness({}, TWO_NODES);
    const s = kmemCacheCreate(slab, 'numa', 128);
    // leave many half-used slabs on node 0
    const objs: number[] = [];
    for (let i = 0; i < s.objsPerSlab * 30; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (let i = 0; i < objs.length; i += 2) kmemCacheFree(s, objs[i]!);
    expect(s.nrPartial[0]).toBeGreaterThan(s.minPartial);
    for (let i = 0; i < 100; i++) {
      const o = kmemCacheAllocNode(s, GFP_KERNEL, 1);
      expect(slab.env.pfnToNid(Math.floor(o / 4096))).toBe(1);
    }
    slabValidate(slab);
  });

  it('bulk alloc is all or nothing', () => {
    const { slab, pages } = makeHarness();
    const s = kmemCacheCreate(slab, 'bulk', 512);
    const p = new Float64Array(100);
    expect(kmemCacheAllocBulk(s, GFP_KERNEL, 100, p)).toBe(100);
    kmemCacheFreeBulk(s, 100, p);
    kmemCacheShrink(s);
    pages.failBudget = 1000;
    expect(kmemCacheAllocBulk(s, GFP_KERNEL, 100, p)).toBe(0);
    pages.failBudget = 0;
    expect(s.nrUserObjects).toBe(0);
    slabValidate(slab);
  });

  it('returns -ENOMEM when pages run out', () => {
    const { slab, pages } = makeHarness();
    const s = kmemCacheCreate(slab, 'oom', 64);
    pages.failBudget = 2;
    expect(kmemCacheAlloc(s, GFP_KERNEL)).toBe(-ENOMEM);
    slabValidate(slab);
  });
});

describe('kmalloc', () => {
  it('serves size classes and large allocations', () => {
    const { slab, pages } = makeHarness();
    const base = pages.nrAllocated;
    expect(kmalloc(slab, 0, GFP_KERNEL)).toBe(ZERO_SIZE_PTR);
    const cases: [number, number][] = [
      [1, 8],
      [9, 16],
      [65, 96],
      [97, 128],
      [129, 192],
      [193, 256],
      [300, 512],
      [5000, 8192],
      [8193, 12288 + 4096],
    ];
    const ptrs: number[] = [];
    for (const [size, k] of cases) {
      const p = kmalloc(slab, size, GFP_KERNEL);
      expect(p).toBeGreaterThan(0);
      expect(ksize(slab, p)).toBe(k);
      ptrs.push(p);
    }
    for (const p of ptrs) kfree(slab, p);
    kfree(slab, ZERO_SIZE_PTR);
    expect(() => kfree(slab, 12345)).toThrow(SlabBugError);
    for (const s of slab.caches) kmemCacheShrink(s);
    slabValidate(slab);
    expect(pages.nrAllocated - reserved(slab)).toBe(base);
  });
});

describe('text output', () => {
  it('slabinfo and sysfs show the cache', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'vm_area_struct', 184, { sheafCapacity: 32 });
    for (let i = 0; i < 10; i++) kmemCacheAlloc(s, GFP_KERNEL);
    const info = formatSlabinfo(slab);
    expect(info.split('\n')[0]).toBe('slabinfo - version: 2.1');
    expect(info).toMatch(/^vm_area_struct\s+\d+\s+\d+\s+184\s+\d+\s+\d+ : tunables\s+0\s+0\s+0 : slabdata/m);
    expect(readSlabSysfs(slab, 'vm_area_struct', 'object_size')).toBe('184\n');
    expect(readSlabSysfs(slab, 'vm_area_struct', 'sheaf_capacity')).toBe('32\n');
    expect(readSlabSysfs(slab, 'vm_area_struct', 'alloc_cpu_sheaf')).toBe('10 C0=10\n');
    expect(() => readSlabSysfs(slab, 'nope', 'order')).toThrow(/no such cache/);
    writeSlabSysfs(slab, 'vm_area_struct', 'validate', '1');
    writeSlabSysfs(slab, 'vm_area_struct', 'shrink', '1');
    // the main sheaf held the rest of its refill: 32 - 10 objects flushed
    expect(readSlabSysfs(slab, 'vm_area_struct', 'sheaf_flush')).toBe('22 C0=22\n');
    expect(() => writeSlabSysfs(slab, 'vm_area_struct', 'order', '3')).toThrow(/read-only/);
  });

  it('validate finds a broken invariant', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'broken', 64);
    kmemCacheAlloc(s, GFP_KERNEL);
    s.nrUserObjects = 5;
    expect(() => slabValidate(slab)).toThrow(MmBugError);
  });
});

describe('cache arguments', () => {
  it('SLAB_HWCACHE_ALIGN aligns objects on cache lines; align is honoured', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'hw', 100, { flags: SLAB_HWCACHE_ALIGN });
    expect(s.align).toBe(64);
    expect(s.size).toBe(128);
    const t = kmemCacheCreate(slab, 'al', 24, { align: 32 });
    for (let i = 0; i < 50; i++) {
      expect(kmemCacheAlloc(s, GFP_KERNEL) % 64).toBe(0);
      expect(kmemCacheAlloc(t, GFP_KERNEL) % 32).toBe(0);
    }
    expect(() => kmemCacheCreate(slab, 'bad', 24, { align: 24 })).toThrow(/power of two/);
    expect(() => kmemCacheCreate(slab, 'bad', 0)).toThrow(SlabError);
  });

  it('the constructor runs once per object when its slab is set up', () => {
    const { slab } = makeHarness();
    const seen = new Set<number>();
    const s = kmemCacheCreate(slab, 'ctor', 64, { ctor: (o) => seen.add(o) });
    const a = kmemCacheAlloc(s, GFP_KERNEL);
    expect(seen.size).toBe(s.objsPerSlab);
    expect(seen.has(a)).toBe(true);
    kmemCacheFree(s, a);
    kmemCacheAlloc(s, GFP_KERNEL);
    expect(seen.size).toBe(s.objsPerSlab);
  });

  it('slab pages carry the slab page type in the memmap', () => {
    const { slab, machine } = makeHarness();
    const s = kmemCacheCreate(slab, 'pt', 64);
    const a = kmemCacheAlloc(s, GFP_KERNEL);
    const pfn = Math.floor(a / 4096);
    const mask = machine.topology.pagesPerSection - 1;
    expect(machine.mem.sec(pfn).pageType[pfn & mask]).toBe(PGTY_slab);
    kmemCacheFree(s, a);
    kmemCacheShrink(s);
    expect(machine.mem.sec(pfn).pageType[pfn & mask]).not.toBe(PGTY_slab);
    machine.validate();
  });
});

describe('larger machines', () => {
  it('server2s: caches across 32 CPUs and 2 nodes of 32 GiB', () => {
    const { slab, machine } = makeHarness({}, { preset: 'server2s' });
    const s = kmemCacheCreate(slab, 'big', 192, { sheafCapacity: 16 });
    const objs: number[] = [];
    for (const cpu of [0, 17, 31]) {
      machine.cpus.runOn(cpu, () => {
        for (let i = 0; i < 100; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
      });
    }
    const nodes = new Set(objs.map((o) => slab.env.pfnToNid(Math.floor(o / 4096))));
    expect(nodes).toEqual(new Set([0, 1]));
    expect(s.order).toBe(calculateOrder(s.size, 32, 4096, 12, cfg));
    for (const o of objs) kmemCacheFree(s, o);
    slabValidate(slab);
  });
});
