/**
 * DOC: kmalloc over the standard size classes (mm/slab_common.c).
 *
 * Requests up to KMALLOC_MAX_CACHE_SIZE (two pages) are served by the
 * `kmalloc-<size>` caches (8, 16, 32, 64, 96, 128, 192, 256, 512, 1k, 2k,
 * 4k, 8k for 4 KiB pages), larger ones straight from the page allocator as
 * compound pages (`kmalloc_large`). `kfree` finds the cache (or the large
 * allocation) from the address alone, `ksize` reports the usable size, and
 * `kvfree` equals `kfree` (vmalloc is not modelled).
 */
import { __GFP_BITS_MASK, EINVAL, ENOMEM } from '@mm/machine';
import { type KmemCache, SlubAllocator } from './cache.js';
import { checkAllocator, checkGfp, checkInt } from './check.js';
import { SlabBugError } from './errors.js';
import { __GFP_COMP } from './internal/gfp.js';
import { getOrder } from './layout.js';
import { hex } from './object.js';
import {
  KMALLOC_SHIFT_HIGH_PAGES,
  NUMA_NO_NODE,
  SLAB_KASAN_FLAG,
  SLAB_KMALLOC,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
  ZERO_SIZE_PTR,
} from './slab-flags.js';
import { kmemCacheCreate, kmemCacheFree, slabAllocNode } from './slub.js';

/** Largest buddy order (`MAX_PAGE_ORDER`): a large kmalloc's head PFN maps to -1 - order. */
const MAX_PAGE_ORDER = 10;
/** @internal The smallest pfn-map value of a large kmalloc head page. */
export const LARGE_HEAD_MIN = -1 - MAX_PAGE_ORDER;

/** Encoded pfn-map values for large kmalloc pages: head = -1 - order, tail = LARGE_TAIL. */
const LARGE_TAIL = -100;

/**
 * The kmalloc size of every index (0 = unused), for a page size.
 * @kernel kmalloc_info (mm/slab_common.c)
 */
export function kmallocSizes(pageSize: number): number[] {
  const sizes = [0, 96, 192];
  for (let sz = 8; sz <= pageSize * 2 ** KMALLOC_SHIFT_HIGH_PAGES; sz *= 2) sizes.push(sz);
  return sizes.filter((x) => x > 0).sort((a, b) => a - b);
}

/**
 * `KMALLOC_MAX_CACHE_SIZE`.
 * @kernel KMALLOC_MAX_CACHE_SIZE (include/linux/slab.h)
 */
export function kmallocMaxCacheSize(a: SlubAllocator): number {
  return a.env.pageSize * 2 ** KMALLOC_SHIFT_HIGH_PAGES;
}

function sizeName(sz: number): string {
  if (sz >= 1024 * 1024) return `${sz / (1024 * 1024)}M`;
  if (sz >= 1024) return `${sz / 1024}k`;
  return `${sz}`;
}

/**
 * Create the kmalloc caches (boot time).
 * @kernel create_kmalloc_caches (mm/slab_common.c)
 */
export function createKmallocCaches(a: SlubAllocator): void {
  for (const sz of kmallocSizes(a.env.pageSize)) {
    a.kmallocCaches.push(kmemCacheCreate(a, `kmalloc-${sizeName(sz)}`, sz, { flags: SLAB_KMALLOC }));
  }
}

/**
 * The kmalloc cache serving `size` bytes.
 * @kernel kmalloc_slab (mm/slab_common.c)
 */
export function kmallocSlab(a: SlubAllocator, size: number): KmemCache {
  checkAllocator(a, 'kmalloc_slab');
  checkInt(size, 0, kmallocMaxCacheSize(a), 'kmalloc_slab', 'size');
  const caches = a.kmallocCaches;
  for (let i = 0; i < caches.length; i++) {
    const c = caches[i] as KmemCache;
    if (c.objectSize >= size) return c;
  }
  return caches[caches.length - 1] as KmemCache;
}

function kmallocLarge(a: SlubAllocator, size: number, gfp: number, node: number): number {
  const order = getOrder(size, a.env.pageShift);
  if (order > MAX_PAGE_ORDER) return -ENOMEM;
  let pfn = a.env.allocPages(gfp | __GFP_COMP, order, node);
  if (pfn === 0 && !a.reservedPfn0) {
    a.reservedPfn0 = true;
    pfn = a.env.allocPages(gfp | __GFP_COMP, order, node);
  }
  if (pfn < 0) return -ENOMEM;
  a.pfnSet(pfn, -1 - order);
  for (let i = 1; i < 2 ** order; i++) a.pfnSet(pfn + i, LARGE_TAIL);
  a.nrLargeKmallocPages += 2 ** order;
  return pfn * a.env.pageSize;
}

/**
 * Allocate `size` bytes on `node` (NUMA_NO_NODE = any).
 * @returns the address, ZERO_SIZE_PTR for 0 bytes, or -ENOMEM.
 * @kernel __kmalloc_node (mm/slub.c)
 */
export function kmallocNode(a: SlubAllocator, size: number, gfp: number, node: number): number {
  if (!(a instanceof SlubAllocator)) checkAllocator(a, 'kmalloc_node');
  if (gfp >>> 0 !== gfp || (gfp & ~__GFP_BITS_MASK) !== 0) checkGfp(gfp, 'kmalloc_node');
  if (!Number.isInteger(size) || size < 0) return -EINVAL;
  // as kmem_cache_alloc_node(): a node that does not exist is -EINVAL
  if (node !== NUMA_NO_NODE && (!Number.isInteger(node) || node < 0 || node >= a.env.nrNodes)) return -EINVAL;
  if (size > kmallocMaxCacheSize(a)) return kmallocLarge(a, size, gfp, node);
  if (size === 0) return ZERO_SIZE_PTR;
  return slabAllocNode(kmallocSlab(a, size), gfp, node);
}

/**
 * Allocate `size` bytes.
 * @returns the address, ZERO_SIZE_PTR for 0 bytes, or -ENOMEM.
 * @kernel kmalloc (include/linux/slab.h)
 */
export function kmalloc(a: SlubAllocator, size: number, gfp: number): number {
  return kmallocNode(a, size, gfp, NUMA_NO_NODE);
}

/**
 * Internal kmalloc for allocator metadata (sheaves).
 * @kernel kzalloc (include/linux/slab.h)
 */
export function kmallocInternal(a: SlubAllocator, size: number, gfp: number): number {
  return kmallocNode(a, size, gfp, NUMA_NO_NODE);
}

/**
 * Internal kfree for allocator metadata.
 * @kernel kfree (mm/slub.c)
 */
export function kfreeInternal(a: SlubAllocator, addr: number): void {
  kfree(a, addr);
}

/**
 * What an address is: a slab object's cache, a large kmalloc, or nothing.
 * @kernel virt_to_cache (mm/slab.h)
 */
export function virtToCache(a: SlubAllocator, addr: number): KmemCache | null {
  checkAllocator(a, 'virt_to_cache');
  if (!Number.isFinite(addr) || addr < 0) return null;
  const v = a.pfnLookup(Math.floor(addr / a.env.pageSize));
  if (v <= 0) return null;
  return a.cacheById[a.slabCacheId[v - 1] as number] ?? null;
}

/**
 * Free memory from kmalloc (or any slab object).
 * @throws SlabBugError for an address that is no allocation (state unchanged).
 * @kernel kfree (mm/slub.c)
 */
export function kfree(a: SlubAllocator, addr: number): void {
  if (!(a instanceof SlubAllocator)) checkAllocator(a, 'kfree');
  if (addr === ZERO_SIZE_PTR || addr === 0) return;
  const pfn = Number.isFinite(addr) && addr > 0 ? Math.floor(addr / a.env.pageSize) : -1;
  const v = pfn >= 0 ? a.pfnLookup(pfn) : 0;
  if (v > 0) {
    kmemCacheFree(a.cacheById[a.slabCacheId[v - 1] as number] as KmemCache, addr);
    return;
  }
  if (v < 0 && v >= LARGE_HEAD_MIN && addr === pfn * a.env.pageSize) {
    const order = -1 - v;
    for (let i = 0; i < 2 ** order; i++) a.pfnSet(pfn + i, 0);
    a.nrLargeKmallocPages -= 2 ** order;
    a.env.freePages(pfn, order);
    return;
  }
  throw new SlabBugError('invalid-free', '', addr, `slab: kfree(${hex(addr)}): not a kmalloc or slab allocation`);
}

/**
 * `kvfree`: vmalloc is not modelled, so this is kfree.
 * @kernel kvfree (mm/util.c)
 */
export function kvfree(a: SlubAllocator, addr: number): void {
  kfree(a, addr);
}

/**
 * The usable size of an allocation.
 * @returns bytes, or 0 for ZERO_SIZE_PTR.
 * @throws SlabBugError for an address that is no allocation.
 * @kernel ksize (mm/slub.c)
 */
export function ksize(a: SlubAllocator, addr: number): number {
  checkAllocator(a, 'ksize');
  if (addr === ZERO_SIZE_PTR || addr === 0) return 0;
  const pfn = Number.isFinite(addr) && addr > 0 ? Math.floor(addr / a.env.pageSize) : -1;
  const v = pfn >= 0 ? a.pfnLookup(pfn) : 0;
  if (v < 0 && v >= LARGE_HEAD_MIN) return a.env.pageSize * 2 ** (-1 - v);
  if (v <= 0)
    throw new SlabBugError('invalid-free', '', addr, `slab: ksize(${hex(addr)}): not a kmalloc or slab allocation`);
  const s = a.cacheById[a.slabCacheId[v - 1] as number] as KmemCache;
  if (s.flags & (SLAB_RED_ZONE | SLAB_POISON) || a.config.kasan || s.flags & SLAB_KASAN_FLAG) return s.objectSize;
  if (s.flags & (SLAB_TYPESAFE_BY_RCU | SLAB_STORE_USER)) return s.inuse;
  return s.size;
}
