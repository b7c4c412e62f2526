/**
 * DOC: slub_debug and a KASAN-like checker.
 *
 * The model has no object bytes, so users report their accesses with
 * {@link slabAccess} (`obj[offset..offset+len)` read or written). What the
 * checks see depends on the object's state:
 * - KASAN (allocator `kasan: true`) follows the user-visible state: any
 *   access to an object that is not allocated to a user, including objects
 *   cached in sheaves or waiting for RCU, throws `use-after-free`; accesses
 *   past `object_size` throw `out-of-bounds`.
 * - slub_debug (cache flags) follows the slab's view: a write into the red
 *   zone of an allocated object is found when it is freed (the object is not
 *   freed, as the kernel leaves it); a write to a free object on a slab
 *   breaks its poison and is reported when the object is next allocated.
 *   Objects in sheaves count as allocated, so a use-after-free of such an
 *   object is not detected at all (a limitation the "SLUB percpu sheaves" series documents).
 */

import { type KmemCache, OBJ_ALLOC, OBJ_FREE, type SlubAllocator } from './cache.js';
import { badArg, checkAllocator, checkInt } from './check.js';
import { SlabBugError } from './errors.js';
import { hex, objAddrOf, objIndexChecked } from './object.js';
import { SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER } from './slab-flags.js';

/** Object debug bits. */
const DBG_REDZONE_BAD = 1;
const DBG_POISON_BAD = 2;

/**
 * Fresh object: poisoned, red zones intact, no owner.
 * @kernel setup_object_debug (mm/slub.c)
 */
export function initObjectDebug(s: KmemCache, o: number): void {
  s.objDebug[o] = 0;
  if (s.flags & SLAB_STORE_USER) {
    s.trackAllocCpu[o] = -1;
    s.trackAllocPid[o] = -1;
    s.trackAllocNs[o] = 0;
    s.trackFreeCpu[o] = -1;
    s.trackFreePid[o] = -1;
    s.trackFreeNs[o] = 0;
  }
}

/** @kernel set_track (mm/slub.c) */
function setTrack(s: KmemCache, o: number, alloc: boolean): void {
  const env = s.env;
  if (alloc) {
    s.trackAllocCpu[o] = env.currentCpu();
    s.trackAllocPid[o] = env.currentPid();
    s.trackAllocNs[o] = env.nowNs();
  } else {
    s.trackFreeCpu[o] = env.currentCpu();
    s.trackFreePid[o] = env.currentPid();
    s.trackFreeNs[o] = env.nowNs();
  }
}

/** Checks when an object leaves its slab. @kernel alloc_debug_processing (mm/slub.c) */
export function debugOnAlloc(s: KmemCache, o: number): void {
  if (s.flags & SLAB_STORE_USER) setTrack(s, o, true);
  if (s.flags & SLAB_POISON && (s.objDebug[o] as number) & DBG_POISON_BAD) {
    const addr = objAddrOf(s, o);
    s.allocator.debugReports.push({
      kind: 'poison-overwritten',
      cache: s.name,
      object: addr,
      message: `slub_debug: ${s.name}: poison overwritten in free object ${hex(addr)} (use after free)`,
    });
    s.objDebug[o] = (s.objDebug[o] as number) & ~DBG_POISON_BAD;
  }
}

/** Checks when an object returns to its slab. @kernel free_debug_processing (mm/slub.c) */
export function debugOnFree(s: KmemCache, o: number): void {
  s.objDebug[o] = (s.objDebug[o] as number) & ~DBG_POISON_BAD;
  if (s.flags & SLAB_STORE_USER) setTrack(s, o, false);
}

/** One `struct track`: who last allocated or freed an object (cpu -1 = never). */
export interface SlabTrack {
  /** CPU of the last allocation or free (-1: none yet). */
  readonly cpu: number;
  /** Task of it. */
  readonly pid: number;
  /** Virtual time of it. */
  readonly timeNs: number;
}

/**
 * The alloc and free tracks slub_debug keeps for an object of a
 * SLAB_STORE_USER cache. With sheaves they record when the object moved
 * between a sheaf and its slab, not the user's call (the "SLUB percpu sheaves" series notes that
 * collected traces become less useful).
 * @throws SlabBugError when `addr` is no object of a SLAB_STORE_USER cache.
 * @kernel get_track (mm/slub.c)
 */
export function slabObjectTracks(
  a: SlubAllocator,
  addr: number,
): {
  /** The last allocation of the object. */
  alloc: SlabTrack;
  /** The last free of the object. */
  free: SlabTrack;
} {
  checkAllocator(a, 'slab_object_tracks');
  const v = Number.isFinite(addr) && addr >= 0 ? a.pfnLookup(Math.floor(addr / a.env.pageSize)) : 0;
  const s = v > 0 ? a.cacheById[a.slabCacheId[v - 1] as number] : undefined;
  if (s === undefined || s === null || !(s.flags & SLAB_STORE_USER)) {
    throw new SlabBugError(
      'invalid-free',
      s?.name ?? '',
      addr,
      `slab: ${hex(addr)} is not an object of a SLAB_STORE_USER cache`,
    );
  }
  const o = objIndexChecked(s, addr, false);
  return {
    alloc: {
      cpu: s.trackAllocCpu[o] as number,
      pid: s.trackAllocPid[o] as number,
      timeNs: s.trackAllocNs[o] as number,
    },
    free: { cpu: s.trackFreeCpu[o] as number, pid: s.trackFreePid[o] as number, timeNs: s.trackFreeNs[o] as number },
  };
}

/**
 * Report an access by a user to `len` bytes at `offset` of the object at `addr`.
 * @throws SlabBugError `use-after-free` / `out-of-bounds` (KASAN) or when `addr` is no object.
 * @kernel kasan_check_range (mm/kasan/generic.c), check_object (mm/slub.c)
 */
export function slabAccess(a: SlubAllocator, addr: number, offset: number, len: number, write: boolean): void {
  checkAllocator(a, 'slab_access');
  if (!Number.isSafeInteger(offset)) throw badArg('slab_access', 'offset', offset, 'is not an integer');
  checkInt(len, 0, 2 ** 31, 'slab_access', 'len');
  const v = Number.isFinite(addr) && addr >= 0 ? a.pfnLookup(Math.floor(addr / a.env.pageSize)) : 0;
  if (v <= 0) throw new SlabBugError('invalid-free', '', addr, `slab: access to ${hex(addr)}: not a slab object`);
  const s = a.cacheById[a.slabCacheId[v - 1] as number] as KmemCache;
  const l = a.slabLocal[v - 1] as number;
  const off = addr - (s.slabPfn[l] as number) * a.env.pageSize - s.redLeftPad;
  const idx = Math.floor(off / s.size);
  if (off < 0 || off !== idx * s.size || idx >= (s.slabObjects[l] as number)) {
    throw new SlabBugError(
      'invalid-free',
      s.name,
      addr,
      `slab: access to ${hex(addr)}: not the start of a ${s.name} object`,
    );
  }
  const o = l * s.objsPerSlab + idx;
  const st = s.objState[o] as number;
  const end = offset + len;
  if (a.config.kasan) {
    if (st !== OBJ_ALLOC) {
      throw new SlabBugError(
        'use-after-free',
        s.name,
        addr,
        `kasan: slab-use-after-free in ${s.name} object ${hex(addr)} (${write ? 'write' : 'read'} of ${len} at offset ${offset})`,
      );
    }
    if (offset < 0 || end > s.objectSize) {
      throw new SlabBugError(
        'out-of-bounds',
        s.name,
        addr,
        `kasan: slab-out-of-bounds in ${s.name} object ${hex(addr)} (${write ? 'write' : 'read'} of ${len} at offset ${offset}, object size ${s.objectSize})`,
      );
    }
    return;
  }
  if (!write) return;
  if (st === OBJ_ALLOC) {
    if (s.flags & SLAB_RED_ZONE && end > s.objectSize) s.objDebug[o] = (s.objDebug[o] as number) | DBG_REDZONE_BAD;
  } else if (st === OBJ_FREE && s.flags & SLAB_POISON) {
    s.objDebug[o] = (s.objDebug[o] as number) | DBG_POISON_BAD;
  }
}
