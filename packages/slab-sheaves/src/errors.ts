/**
 * DOC: typed errors of the slab allocator.
 *
 * Misuse at the API boundary (freeing something that is not an object of the
 * cache, destroying a cache with live objects, bad cache arguments) throws a
 * subclass of `MmError` whose `code` is the kernel errno name and whose
 * message starts with `slab:` or `slub_debug:` and names the cache and the
 * object. State is unchanged when one of these is thrown.
 */
import { MmError } from '@mm/machine';

/** Bad arguments to a slab API (`code` EINVAL). */
export class SlabError extends MmError {
  /** The cache involved ("" when none). */
  readonly cache: string;

  constructor(code: string, cache: string, message: string) {
    super(code, message);
    this.cache = cache;
  }
}

/** `kmem_cache_destroy()` of a cache that still has objects (`code` EBUSY). */
export class CacheBusyError extends SlabError {
  /** Objects still allocated (by users, or waiting for RCU). */
  readonly nrObjects: number;

  constructor(cache: string, nrObjects: number) {
    super('EBUSY', cache, `slab: kmem_cache_destroy ${cache}: ${nrObjects} objects remaining`);
    this.nrObjects = nrObjects;
  }
}

/** What slub_debug or the KASAN-like checker found. */
export type SlabBugKind =
  | 'double-free'
  | 'invalid-free'
  | 'wrong-cache'
  | 'redzone-overwritten'
  | 'poison-overwritten'
  | 'use-after-free'
  | 'out-of-bounds';

/** A detected memory-safety bug naming the cache and the object (`code` EFAULT, or EINVAL for invalid frees). */
export class SlabBugError extends SlabError {
  /** The kind of bug found. */
  readonly kind: SlabBugKind;
  /** The object address (handle) concerned. */
  readonly object: number;

  constructor(kind: SlabBugKind, cache: string, object: number, message: string) {
    super(kind === 'invalid-free' || kind === 'wrong-cache' ? 'EINVAL' : 'EFAULT', cache, message);
    this.kind = kind;
    this.object = object;
  }
}
