/**
 * DOC: GFP flags (what an allocation may do and where it may come from) and
 * the allocator's internal ALLOC_* flags derived from them.
 *
 * Bit values are those of v6.15 `include/linux/gfp_types.h` with
 * CONFIG_KASAN_HW_TAGS, CONFIG_LOCKDEP, CONFIG_SLAB_OBJ_EXT and CONFIG_CMA off,
 * so `__GFP_BITS_SHIFT` is 24. `GFP_NOWAIT` includes `__GFP_NOWARN` as in
 * v6.17. The model has no ZONE_DMA (CONFIG_ZONE_DMA off, as on arm64 without
 * a DMA zone): `__GFP_DMA` is accepted and treated like `__GFP_DMA32`.
 */
import {
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_UNMOVABLE,
  ZONE_DMA32,
  ZONE_MOVABLE,
  ZONE_NORMAL,
} from './mmzone.js';

/** Allocate from ZONE_DMA (mapped to DMA32 here). */
export const __GFP_DMA = 0x01; // 1 << 0
/** Highmem allowed (64-bit: selects ZONE_MOVABLE together with __GFP_MOVABLE). */
export const __GFP_HIGHMEM = 0x02; // 1 << 1
/** Allocate below 4 GiB (ZONE_DMA32). */
export const __GFP_DMA32 = 0x04; // 1 << 2
/** Movable allocation (page can be migrated or reclaimed). */
export const __GFP_MOVABLE = 0x08; // 1 << 3
/** Reclaimable allocation (slab with shrinkers). */
export const __GFP_RECLAIMABLE = 0x10; // 1 << 4
/** High priority: may use part of the min reserve. */
export const __GFP_HIGH = 1 << 5;
/** May start physical I/O. */
export const __GFP_IO = 1 << 6;
/** May call into the filesystem. */
export const __GFP_FS = 1 << 7;
/** Return zeroed pages. */
export const __GFP_ZERO = 0x100; // 1 << 8
/** May enter direct reclaim (may sleep). */
export const __GFP_DIRECT_RECLAIM = 0x400; // 1 << 10
/** May wake kswapd. */
export const __GFP_KSWAPD_RECLAIM = 0x800; // 1 << 11
/** Page will be written soon (dirty-limit spreading). */
export const __GFP_WRITE = 1 << 12;
/** Do not warn on failure. */
export const __GFP_NOWARN = 1 << 13;
/** Retry hard, but may fail. */
export const __GFP_RETRY_MAYFAIL = 1 << 14;
/** Must not fail. */
export const __GFP_NOFAIL = 1 << 15;
/** Try once lightly, fail rather than retry. */
export const __GFP_NORETRY = 1 << 16;
/** May use all reserves (PF_MEMALLOC-like). */
export const __GFP_MEMALLOC = 1 << 17;
/** Make a compound page (head + tails). */
export const __GFP_COMP = 1 << 18;
/** Never use the emergency reserves. */
export const __GFP_NOMEMALLOC = 1 << 19;
/** Enforce the cpuset memory policy. */
export const __GFP_HARDWALL = 1 << 20;
/** Only the requested node, no fallback. */
export const __GFP_THISNODE = 0x200000; // 1 << 21
/** Charge to the memory cgroup (kmemcg). */
export const __GFP_ACCOUNT = 0x400000; // 1 << 22
/** Zero memory tags (MTE) together with the data. */
export const __GFP_ZEROTAGS = 1 << 23;
/** Number of GFP bits. */
export const __GFP_BITS_SHIFT = 24;
/** Mask of all GFP bits. */
export const __GFP_BITS_MASK = 0xffffff; // (1 << __GFP_BITS_SHIFT) - 1

/** Both reclaim bits. */
export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
/** Zone modifier bits. */
export const GFP_ZONEMASK = 0x0f; // __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE
/** Mobility bits (`GFP_MOVABLE_MASK`). */
export const GFP_MOVABLE_MASK = 0x18; // __GFP_RECLAIMABLE | __GFP_MOVABLE
/** Shift of the mobility bits (`GFP_MOVABLE_SHIFT`). */
export const GFP_MOVABLE_SHIFT = 3;

/** Atomic context: cannot sleep, may use reserves. */
export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
/** Normal kernel allocation; may sleep, reclaim, do I/O and call filesystems. */
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
/** GFP_KERNEL charged to the memory cgroup. */
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
/** Cannot sleep, no reserves, no warning. */
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
/** May reclaim but not start I/O. */
export const GFP_NOIO = __GFP_RECLAIM;
/** May reclaim and do I/O but not call filesystems. */
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
/** User-space allocation (cpuset enforced). */
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
/** DMA-able memory (ZONE_DMA32 here). */
export const GFP_DMA = __GFP_DMA;
/** Memory below 4 GiB. */
export const GFP_DMA32 = __GFP_DMA32;
/** User-space allocation from highmem. */
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
/** Movable user pages (anon faults, page cache): may come from ZONE_MOVABLE. */
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
/** THP fault allocation: no direct reclaim, no warning. */
export const GFP_TRANSHUGE_LIGHT =
  (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
/** khugepaged THP allocation. */
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/**
 * The migratetype an allocation groups into.
 * @kernel gfp_migratetype (include/linux/gfp.h)
 */
export function gfpMigratetype(gfp: number): number {
  const mt = (gfp & GFP_MOVABLE_MASK) >>> GFP_MOVABLE_SHIFT;
  // Both bits set is invalid (the kernel VM_WARNs); treat as unmovable.
  return mt === 3 ? MIGRATE_UNMOVABLE : mt === 1 ? MIGRATE_MOVABLE : mt === 2 ? MIGRATE_RECLAIMABLE : MIGRATE_UNMOVABLE;
}

/**
 * The zone-modifier combinations `gfp_zone()` refuses, one bit per value of
 * `gfp & GFP_ZONEMASK`: DMA with HIGHMEM or DMA32, DMA32 with HIGHMEM, and
 * those with MOVABLE too.
 * @kernel GFP_ZONE_BAD (include/linux/gfp.h)
 */
export const GFP_ZONE_BAD =
  (1 << 0x3) | (1 << 0x5) | (1 << 0x6) | (1 << 0x7) | (1 << 0xb) | (1 << 0xd) | (1 << 0xe) | (1 << 0xf);

/**
 * What is wrong with a GFP mask, or null when the allocator accepts it: a
 * non-integer, bits above `__GFP_BITS_MASK`, a zone-modifier combination in
 * {@link GFP_ZONE_BAD}, or both mobility bits (`gfp_migratetype()` warns).
 */
export function gfpProblem(gfp: unknown): string | null {
  if (typeof gfp !== 'number' || (gfp | 0) !== gfp) return `${String(gfp)} is not a GFP mask (an integer)`;
  if (gfp & ~__GFP_BITS_MASK) return `0x${(gfp >>> 0).toString(16)} has bits above __GFP_BITS_MASK`;
  if ((GFP_ZONE_BAD >> (gfp & GFP_ZONEMASK)) & 1) {
    return `0x${gfp.toString(16)} combines zone modifiers that exclude each other (GFP_ZONE_BAD)`;
  }
  if ((gfp & GFP_MOVABLE_MASK) === GFP_MOVABLE_MASK) {
    return `0x${gfp.toString(16)} is both __GFP_RECLAIMABLE and __GFP_MOVABLE`;
  }
  return null;
}

/**
 * The highest zone an allocation may use.
 * @kernel gfp_zone (include/linux/gfp.h)
 */
export function gfpZone(gfp: number): number {
  if (gfp & (__GFP_DMA | __GFP_DMA32)) return ZONE_DMA32;
  if ((gfp & (__GFP_HIGHMEM | __GFP_MOVABLE)) === (__GFP_HIGHMEM | __GFP_MOVABLE)) return ZONE_MOVABLE;
  return ZONE_NORMAL;
}

/**
 * Whether the allocation may sleep (direct reclaim allowed).
 * @kernel gfpflags_allow_blocking (include/linux/gfp.h)
 */
export function gfpflagsAllowBlocking(gfp: number): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

// ALLOC_* flags (mm/internal.h): the allocator's view of one attempt.
/** Check the min watermark. */
export const ALLOC_WMARK_MIN = 0;
/** Check the low watermark (fast path). */
export const ALLOC_WMARK_LOW = 1;
/** Check the high watermark. */
export const ALLOC_WMARK_HIGH = 2;
/** Ignore watermarks entirely. */
export const ALLOC_NO_WATERMARKS = 0x04;
/** Mask of the watermark index. */
export const ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1;
/** OOM victim: may dip deeper into reserves. */
export const ALLOC_OOM = 0x08;
/** Caller cannot block: may use more of the min reserve. */
export const ALLOC_NON_BLOCK = 0x10;
/** __GFP_HIGH: may use half of the min reserve (equal to __GFP_HIGH's value). */
export const ALLOC_MIN_RESERVE = 0x20;
/** Honour cpusets. */
export const ALLOC_CPUSET = 0x40;
/** May use CMA areas. */
export const ALLOC_CMA = 0x80;
/** Avoid fragmenting fallbacks (prefer whole pageblocks). */
export const ALLOC_NOFRAGMENT = 0x100;
/** High-order atomic allocation: may use and create highatomic reserves. */
export const ALLOC_HIGHATOMIC = 0x200;
/** Only trylock the zone lock. */
export const ALLOC_TRYLOCK = 0x400;
/** May wake kswapd (equal to __GFP_KSWAPD_RECLAIM's value). */
export const ALLOC_KSWAPD = 0x800;
/** Flags that grant access to reserves. */
export const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_HIGHATOMIC | ALLOC_OOM;

/**
 * ALLOC_* flags for the slow path.
 * @kernel gfp_to_alloc_flags (mm/page_alloc.c)
 */
export function gfpToAllocFlags(gfp: number, order: number): number {
  let allocFlags = ALLOC_WMARK_MIN | ALLOC_CPUSET;
  // __GFP_HIGH and __GFP_KSWAPD_RECLAIM share values with ALLOC_MIN_RESERVE and ALLOC_KSWAPD.
  allocFlags |= gfp & (__GFP_HIGH | __GFP_KSWAPD_RECLAIM);
  if (!(gfp & __GFP_DIRECT_RECLAIM)) {
    if (!(gfp & __GFP_NOMEMALLOC)) {
      allocFlags |= ALLOC_NON_BLOCK;
      if (order > 0) allocFlags |= ALLOC_HIGHATOMIC;
    }
    if (allocFlags & ALLOC_MIN_RESERVE) allocFlags &= ~ALLOC_CPUSET;
  }
  return allocFlags;
}
