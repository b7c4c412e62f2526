/**
 * DOC: object handles: an object is the byte address of its start; these
 * turn a global object index into that address and back, checking that an
 * address is the start of an object of a live slab of the cache.
 * @kernel obj_to_index (mm/slab.h), check_valid_pointer (mm/slub.c)
 */

import type { KmemCache } from './cache.js';
import { showValue } from './check.js';
import { SlabBugError } from './errors.js';

/**
 * Address of the object with global index `o`.
 * @kernel fixup_red_left (mm/slub.c)
 */
export function objAddrOf(s: KmemCache, o: number): number {
  const per = s.objsPerSlab;
  const l = (o / per) | 0;
  return (s.slabPfn[l] as number) * s.pageSize + s.redLeftPad + (o - l * per) * s.size;
}

/**
 * Global object index of a valid object address of `s` (no checks).
 * @kernel obj_to_index (mm/slab.h)
 */
export function objIndex(s: KmemCache, addr: number): number {
  const a = s.allocator;
  const pfn = Math.floor(addr / s.env.pageSize);
  const gid = a.pfnLookup(pfn) - 1;
  const l = a.slabLocal[gid] as number;
  const off = addr - (s.slabPfn[l] as number) * s.env.pageSize - s.redLeftPad;
  return l * s.objsPerSlab + Math.floor(off / s.size);
}

/**
 * Global object index of `addr` in `s`, checking it is the start of an object of a live slab of `s`.
 * When `report` is set, a failure is recorded as a debug report and -1 returned; otherwise it throws.
 * @kernel check_valid_pointer (mm/slub.c)
 */
export function objIndexChecked(s: KmemCache, addr: number, report: boolean): number {
  const a = s.allocator;
  // fast path: a valid object of this cache. Addresses below 2^31 take a
  // shift instead of a float division; the object index multiplies by the
  // reciprocal of the size (off < 2^26, so the rounding error is far below
  // the 2^-20 nudge) and is then checked exactly.
  if (addr >= 0 && addr <= MAX_SAFE_ADDR) {
    const v = a.pfnLookup(addr < 2147483648 ? addr >>> s.pageShift : Math.floor(addr / s.pageSize));
    if (v > 0) {
      const gid = v - 1;
      if (a.slabCacheId[gid] === s.id) {
        const l = a.slabLocal[gid] as number;
        const off = addr - (s.slabPfn[l] as number) * s.pageSize - s.redLeftPad;
        if (off >= 0) {
          const idx = (off * s.invSize + 9.5e-7) | 0;
          if (off === idx * s.size && idx < (s.slabObjects[l] as number)) return l * s.objsPerSlab + idx;
        }
      }
    }
  }
  return objIndexBad(s, addr, report);
}

/** Largest address handle (PFNs are below 2^32, pages at most 64 KiB). */
const MAX_SAFE_ADDR = 2 ** 48;

export function objIndexBad(s: KmemCache, addr: number, report: boolean): number {
  const a = s.allocator;
  const v = Number.isFinite(addr) && addr >= 0 ? a.pfnLookup(Math.floor(addr / s.env.pageSize)) : 0;
  let msg: string | null = null;
  let kind: SlabBugError['kind'] = 'invalid-free';
  let o = -1;
  if (v <= 0) msg = `slab: kmem_cache_free(${s.name}, ${hex(addr)}): object is not in a slab page`;
  else {
    const gid = v - 1;
    const cid = a.slabCacheId[gid] as number;
    if (cid !== s.id) {
      kind = 'wrong-cache';
      msg = `slab: kmem_cache_free(${s.name}, ${hex(addr)}): object belongs to different cache ${a.cacheById[cid]?.name ?? '?'}`;
    } else {
      const l = a.slabLocal[gid] as number;
      const off = addr - (s.slabPfn[l] as number) * s.env.pageSize - s.redLeftPad;
      const idx = Math.floor(off / s.size);
      if (off < 0 || off !== idx * s.size || idx >= (s.slabObjects[l] as number)) {
        msg = `slab: ${s.name}: invalid free of ${hex(addr)}: pointer is not at the start of an object`;
      } else o = l * s.objsPerSlab + idx;
    }
  }
  if (msg === null) return o;
  if (report) {
    a.debugReports.push({ kind, cache: s.name, object: addr, message: msg });
    return -1;
  }
  throw new SlabBugError(kind, s.name, addr, msg);
}

/** Hex rendering of an address for messages. */
export function hex(x: number): string {
  return typeof x === 'number' ? `0x${x.toString(16)}` : showValue(x);
}
