/**
 * DOC: object layout and slab order: how big an object really is (word
 * alignment, red zones, a free pointer moved out of the object, track
 * records), how it is aligned, and how many pages a slab of such objects
 * takes (`calculate_sizes()`, `calculate_alignment()`, `calculate_order()`,
 * `calc_slab_order()`).
 */
import {
  MAX_OBJS_PER_PAGE,
  SLAB_HWCACHE_ALIGN,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
} from './slab-flags.js';

/** Bytes in a pointer (`sizeof(void *)`): the free pointer and the minimum alignment. */
export const WORD = 8;
/** `cache_line_size()` of the model (x86-64). */
export const CACHE_LINE = 64;
/** sizeof(struct track) * 2 (alloc + free) without stack depot. */
export const TRACK_BYTES = 2 * 32;

/**
 * `get_order()`: smallest order whose pages hold `size` bytes.
 * @kernel get_order (include/asm-generic/getorder.h)
 */
export function getOrder(size: number, pageShift: number): number {
  let order = 0;
  while (2 ** (order + pageShift) < size) order++;
  return order;
}

/** Find last set bit (1-based; 0 for 0). */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/**
 * `order_objects()`: objects of `size` bytes in an order-`order` slab.
 * @kernel order_objects (mm/slub.c)
 */
export function orderObjects(order: number, size: number, pageSize: number): number {
  return Math.floor((pageSize * 2 ** order) / size);
}

/**
 * The slab order for objects of `size` bytes: the smallest order in
 * [minOrder, maxOrder] whose leftover is at most 1/fraction of the slab.
 * @kernel calc_slab_order (mm/slub.c)
 */
export function calcSlabOrder(
  size: number,
  minOrder: number,
  maxOrder: number,
  fraction: number,
  pageSize: number,
): number {
  let order = minOrder;
  for (; order <= maxOrder; order++) {
    const slabSize = pageSize * 2 ** order;
    const rem = slabSize % size;
    if (rem <= slabSize / fraction) break;
  }
  return order;
}

/**
 * The page order of a cache's slabs.
 * @returns the order, or -ENOSYS... never: objects larger than MAX_PAGE_ORDER are refused earlier.
 * @kernel calculate_order (mm/slub.c)
 */
export function calculateOrder(
  size: number,
  nrCpus: number,
  pageSize: number,
  pageShift: number,
  cfg: { readonly slubMaxOrder: number; readonly slubMinOrder: number; readonly slubMinObjects: number },
): number {
  let minObjects = cfg.slubMinObjects;
  if (minObjects === 0) minObjects = 4 * (fls(nrCpus) + 1);
  const maxObjects = Math.max(orderObjects(cfg.slubMaxOrder, size, pageSize), 1);
  minObjects = Math.min(minObjects, maxObjects);
  const minOrder = Math.max(cfg.slubMinOrder, getOrder(minObjects * size, pageShift));
  if (orderObjects(minOrder, size, pageSize) > MAX_OBJS_PER_PAGE)
    return getOrder(size * MAX_OBJS_PER_PAGE, pageShift) - 1;
  for (let fraction = 16; fraction > 1; fraction /= 2) {
    const order = calcSlabOrder(size, minOrder, cfg.slubMaxOrder, fraction, pageSize);
    if (order <= cfg.slubMaxOrder) return order;
  }
  return getOrder(size, pageShift);
}

/** Round `x` up to a multiple of `a` (`ALIGN(x, a)`). */
export function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/**
 * Final alignment of a cache.
 * @kernel calculate_alignment (mm/slab_common.c)
 */
export function calculateAlignment(flags: number, align: number, size: number): number {
  if (flags & SLAB_HWCACHE_ALIGN) {
    let ralign = CACHE_LINE;
    while (size <= ralign / 2) ralign /= 2;
    align = Math.max(align, ralign);
  }
  align = Math.max(align, WORD);
  return alignUp(align, WORD);
}

/** What {@link calculateSizes} decides. */
export interface SlabObjectLayout {
  /** Bytes per object including metadata and padding (`s->size`). */
  readonly size: number;
  /** Offset of the metadata after the object (`s->inuse`). */
  readonly inuse: number;
  /** Left red zone before each object (`s->red_left_pad`). */
  readonly redLeftPad: number;
}

/**
 * The layout of one object: the user's bytes rounded to a word (plus a word
 * of right red zone when they fill it), the free pointer outside the object
 * when the object's bytes must survive a free (poison, ctor,
 * SLAB_TYPESAFE_BY_RCU), the alloc/free track records, the left red zone,
 * all rounded to the cache's alignment.
 * @kernel calculate_sizes (mm/slub.c)
 */
export function calculateSizes(flags: number, objectSize: number, align: number, hasCtor: boolean): SlabObjectLayout {
  let size = alignUp(objectSize, WORD);
  if (flags & SLAB_RED_ZONE && size === objectSize) size += WORD;
  const inuse = size;
  if (flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON) || hasCtor) size += WORD;
  if (flags & SLAB_STORE_USER) size += TRACK_BYTES;
  let redLeft = 0;
  if (flags & SLAB_RED_ZONE) {
    size += WORD;
    redLeft = alignUp(WORD, align);
    size += redLeft;
  }
  size = alignUp(size, align);
  return { size, inuse, redLeftPad: redLeft };
}
