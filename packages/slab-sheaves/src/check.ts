/**
 * DOC: argument checks at the slab API boundary.
 *
 * Every public entry point checks its arguments before it changes anything
 * and throws a {@link SlabError} (`code` EINVAL) whose message names the
 * function, the argument and the value, so a bad call leaves the allocator
 * as it was. The checks are one or two comparisons on the fast paths.
 */
import { __GFP_BITS_MASK, MmBugError } from '@mm/machine';
import { KmemCache, SlubAllocator } from './cache.js';
import { SlabError } from './errors.js';

/** A value for an error message (strings quoted, objects by their type). */
export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'function') return 'a function';
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

/** The EINVAL error for argument `arg` of `fn`. */
export function badArg(fn: string, arg: string, value: unknown, want: string, cache = ''): SlabError {
  return new SlabError('EINVAL', cache, `slab: ${fn}: ${arg} ${showValue(value)} ${want}`);
}

/** `s` must be a live cache. */
export function checkCache(s: unknown, fn: string): asserts s is KmemCache {
  if (!(s instanceof KmemCache)) throw badArg(fn, 's', s, 'is not a kmem_cache');
  if (s.destroyed) throw new SlabError('EINVAL', s.name, `slab: ${fn}: s (cache ${s.name}) was destroyed`);
}

/** `a` must be an allocator made by createSlubAllocator. */
export function checkAllocator(a: unknown, fn: string): asserts a is SlubAllocator {
  if (!(a instanceof SlubAllocator)) throw badArg(fn, 'a', a, 'is not a slab allocator');
}

/** `gfp` must be a set of known GFP bits. */
export function checkGfp(gfp: number, fn: string, cache = ''): void {
  if (gfp >>> 0 !== gfp || (gfp & ~__GFP_BITS_MASK) !== 0) {
    throw badArg(fn, 'gfp', gfp, `is not a GFP mask (bits within 0x${__GFP_BITS_MASK.toString(16)})`, cache);
  }
}

/** An integer in `min..max`. */
export function checkInt(v: number, min: number, max: number, fn: string, arg: string, cache = ''): void {
  if (!Number.isInteger(v) || v < min || v > max) throw badArg(fn, arg, v, `outside ${min}..${max}`, cache);
}

/** `a[i]` where the caller keeps `i` in range; a broken invariant otherwise. */
export function at(a: Int32Array | Float64Array | readonly number[], i: number): number {
  const v = a[i];
  if (v === undefined) throw new MmBugError(`slab: index ${i} outside an array of ${a.length}`);
  return v;
}

/** The cache owning global slab id `gid` (from the pfn map); a broken invariant when there is none. */
export function cacheOfGid(a: SlubAllocator, gid: number): KmemCache {
  const s = a.cacheById[at(a.slabCacheId, gid)];
  if (s === undefined || s === null) throw new MmBugError(`slab: slab ${gid} belongs to no live cache`);
  return s;
}
