/**
 * DOC: fail_page_alloc: fault injection for the page allocator.
 *
 * The attributes are those of the kernel's debugfs directory
 * `/sys/kernel/debug/fail_page_alloc/` (`probability`, `interval`, `times`,
 * `space`, `min-order`, `ignore-gfp-wait`, `ignore-gfp-highmem`). The check
 * runs before the allocator touches anything, so an injected failure leaves
 * every free list and counter as it was. Random draws come from the
 * machine's `"fail_page_alloc"` PRNG stream.
 */

import type { Prng } from '../prng.js';
import { __GFP_DIRECT_RECLAIM, __GFP_HIGHMEM, __GFP_NOFAIL } from './gfp.js';

/**
 * The fault attributes of fail_page_alloc.
 * @kernel struct fault_attr (include/linux/fault-inject.h)
 */
export class FailPageAlloc {
  /** Percent chance of failure per eligible call (0 disables). */
  probability: number;
  /** Fail only every `interval`-th eligible call (1 = every call may fail). */
  interval: number;
  /** Failures left; -1 = unlimited. */
  times: number;
  /** Bytes (here: pages) allowed to succeed before failures start. */
  space: number;
  /** Smallest order that can fail (`min-order`, default 1). */
  minOrder: number;
  /** Do not fail allocations that may direct-reclaim (`ignore-gfp-wait`, default on). */
  ignoreGfpReclaim: boolean;
  /** Do not fail __GFP_HIGHMEM allocations (default on). */
  ignoreGfpHighmem: boolean;
  /** Calls counted for `interval`. */
  count: number;
  /** Failures injected so far. */
  nrFailed: number;
  private readonly prng: Prng;

  constructor(prng: Prng) {
    this.prng = prng;
    this.probability = 0;
    this.interval = 1;
    this.times = 1;
    this.space = 0;
    this.minOrder = 1;
    this.ignoreGfpReclaim = true;
    this.ignoreGfpHighmem = true;
    this.count = 0;
    this.nrFailed = 0;
  }

  /** Set several attributes at once (the debugfs writes). */
  configure(
    attrs: Partial<
      Pick<
        FailPageAlloc,
        'probability' | 'interval' | 'times' | 'space' | 'minOrder' | 'ignoreGfpReclaim' | 'ignoreGfpHighmem'
      >
    >,
  ): void {
    if (attrs.probability !== undefined) this.probability = attrs.probability;
    if (attrs.interval !== undefined) this.interval = attrs.interval;
    if (attrs.times !== undefined) this.times = attrs.times;
    if (attrs.space !== undefined) this.space = attrs.space;
    if (attrs.minOrder !== undefined) this.minOrder = attrs.minOrder;
    if (attrs.ignoreGfpReclaim !== undefined) this.ignoreGfpReclaim = attrs.ignoreGfpReclaim;
    if (attrs.ignoreGfpHighmem !== undefined) this.ignoreGfpHighmem = attrs.ignoreGfpHighmem;
  }

  /**
   * Whether this allocation should fail.
   * @kernel should_fail_alloc_page (mm/fail_page_alloc.c)
   */
  shouldFailAllocPage(gfp: number, order: number): boolean {
    if (order < this.minOrder) return false;
    if (gfp & __GFP_NOFAIL) return false;
    if (this.ignoreGfpHighmem && gfp & __GFP_HIGHMEM) return false;
    if (this.ignoreGfpReclaim && gfp & __GFP_DIRECT_RECLAIM) return false;
    return this.shouldFailEx(2 ** order);
  }

  /**
   * The generic fault-attribute decision.
   * @kernel should_fail_ex (lib/fault-inject.c)
   */
  shouldFailEx(size: number): boolean {
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
    if (this.probability <= this.prng.below(100)) return false;
    if (this.times !== -1 && this.times > 0) this.times--;
    this.nrFailed++;
    return true;
  }
}
