/**
 * DOC: failslab: fault injection for slab allocations.
 *
 * The attributes are those of the kernel's `/sys/kernel/debug/failslab/`
 * (`probability`, `interval`, `times`, `space`, `ignore-gfp-wait`,
 * `cache-filter`) plus the per-task `/proc/<pid>/fail-nth` countdown, which
 * is how syzkaller and the kernel's own selftests fail "the n-th allocation
 * of this call": set `failNth = n` and the n-th eligible allocation fails,
 * whatever the probability. The check runs before the allocator touches
 * anything (`slab_pre_alloc_hook()`), so an injected failure changes no
 * slab, sheaf or counter.
 *
 * Departure: the kernel does not consult failslab in
 * `kmem_cache_prefill_sheaf()` (a prefill fails only when the page allocator
 * does). With `prefill` set the model does, so that callers' preallocation
 * failure paths (a maple tree store's `mas_preallocate()`, which the
 * kernel's own tools/testing harnesses reach by forcing it to fail) can be
 * injected the same way as every other allocation. Off by default.
 */
import { __GFP_DIRECT_RECLAIM, __GFP_NOFAIL } from '@mm/machine';
import { SlabError } from './errors.js';

/** A uniform integer source in [0, n): a seeded PRNG such as `@mm/machine`'s `Prng`. */
export interface FailslabRandom {
  /** A uniform integer in 0..n-1. */
  below(n: number): number;
}

/** The writable attributes of {@link Failslab}. */
export interface FailslabAttrs {
  /** Percent chance of failure per eligible allocation (0 disables; `fail-nth` works regardless). */
  probability?: number;
  /** Fail only every `interval`-th eligible allocation. */
  interval?: number;
  /** Failures left; -1 = unlimited. */
  times?: number;
  /** Bytes allowed to succeed before failures start. */
  space?: number;
  /** Do not fail allocations that may direct-reclaim (`ignore-gfp-wait`, kernel default on). */
  ignoreGfpReclaim?: boolean;
  /** Fail only caches named in `caches` (`cache-filter` with the per-cache `failslab` flag). */
  cacheFilter?: boolean;
  /** The caches eligible under `cacheFilter` (`/sys/kernel/slab/<cache>/failslab`). */
  caches?: readonly string[];
  /** Also fail `kmem_cache_prefill_sheaf()` (model-only, see the file comment). */
  prefill?: boolean;
  /** The n-th eligible allocation from now fails (`/proc/<pid>/fail-nth`; 0 = off). */
  failNth?: number;
  /** The random source for `probability` below 100. */
  random?: FailslabRandom | null;
}

/**
 * The failslab fault attributes of one slab allocator.
 * @kernel failslab (mm/failslab.c), struct fault_attr (include/linux/fault-inject.h)
 */
export class Failslab {
  /** `probability`: percent of eligible allocations to fail. */
  probability: number;
  /** `interval`: fail at most every interval-th eligible allocation. */
  interval: number;
  /** `times`: failures left (-1: unlimited). */
  times: number;
  /** `space`: bytes of allocations to let through first. */
  space: number;
  /** `ignore-gfp-wait`: spare allocations that may reclaim. */
  ignoreGfpReclaim: boolean;
  /** `cache-filter`: only caches marked with `failslab` fail. */
  cacheFilter: boolean;
  /** Caches marked for the cache filter. */
  readonly caches: Set<string>;
  /** Model switch: also fail kmem_cache_prefill_sheaf(). */
  prefill: boolean;
  /** `current->fail_nth`: counts down on every eligible call; the call that reaches 0 fails. */
  failNth: number;
  /** Eligible calls counted for `interval`. */
  count: number;
  /** Failures injected so far. */
  nrFailed: number;
  /** The random source deciding failures. */
  random: FailslabRandom | null;

  constructor() {
    this.probability = 0;
    this.interval = 1;
    this.times = 1;
    this.space = 0;
    this.ignoreGfpReclaim = true;
    this.cacheFilter = false;
    this.caches = new Set();
    this.prefill = false;
    this.failNth = 0;
    this.count = 0;
    this.nrFailed = 0;
    this.random = null;
  }

  /**
   * Set attributes (the debugfs writes).
   * @throws SlabError EINVAL for a value the kernel's debugfs would refuse.
   */
  configure(attrs: FailslabAttrs): void {
    const int = (name: string, v: number, min: number) => {
      if (!Number.isInteger(v) || v < min)
        throw new SlabError('EINVAL', 'failslab', `failslab: ${name} must be an integer >= ${min}, got ${v}`);
    };
    if (attrs.probability !== undefined) {
      int('probability', attrs.probability, 0);
      if (attrs.probability > 100)
        throw new SlabError('EINVAL', 'failslab', `failslab: probability ${attrs.probability} > 100`);
      this.probability = attrs.probability;
    }
    if (attrs.interval !== undefined) {
      int('interval', attrs.interval, 1);
      this.interval = attrs.interval;
    }
    if (attrs.times !== undefined) {
      int('times', attrs.times, -1);
      this.times = attrs.times;
    }
    if (attrs.space !== undefined) {
      int('space', attrs.space, 0);
      this.space = attrs.space;
    }
    if (attrs.failNth !== undefined) {
      int('fail-nth', attrs.failNth, 0);
      this.failNth = attrs.failNth;
    }
    if (attrs.ignoreGfpReclaim !== undefined) this.ignoreGfpReclaim = attrs.ignoreGfpReclaim;
    if (attrs.cacheFilter !== undefined) this.cacheFilter = attrs.cacheFilter;
    if (attrs.caches !== undefined) {
      this.caches.clear();
      for (const c of attrs.caches) this.caches.add(c);
    }
    if (attrs.prefill !== undefined) this.prefill = attrs.prefill;
    if (attrs.random !== undefined) this.random = attrs.random;
    if (this.probability > 0 && this.probability < 100 && this.random === null)
      throw new SlabError('EINVAL', 'failslab', 'failslab: a probability below 100 needs a random source');
  }

  /**
   * Whether this allocation from cache `name` should fail.
   * @kernel should_failslab (mm/failslab.c)
   */
  shouldFailslab(name: string, objectSize: number, gfp: number): boolean {
    if (gfp & __GFP_NOFAIL) return false;
    if (this.ignoreGfpReclaim && gfp & __GFP_DIRECT_RECLAIM) return false;
    if (this.cacheFilter && !this.caches.has(name)) return false;
    return this.shouldFailEx(objectSize);
  }

  /**
   * The generic fault-attribute decision, `fail-nth` first.
   * @kernel should_fail_ex (lib/fault-inject.c)
   */
  shouldFailEx(size: number): boolean {
    if (this.failNth > 0) {
      this.failNth--;
      if (this.failNth !== 0) return false;
      this.fail();
      return true;
    }
    if (this.probability === 0) return false;
    if (this.times === 0) return false;
    if (this.space > size) {
      this.space -= size;
      return false;
    }
    if (this.interval > 1) {
      this.count++;
      if (this.count % this.interval !== 0) return false;
    }
    if (this.probability < 100 && this.probability <= (this.random as FailslabRandom).below(100)) return false;
    this.fail();
    return true;
  }

  private fail(): void {
    if (this.times !== -1 && this.times > 0) this.times--;
    this.nrFailed++;
  }
}
