/**
 * Counterexamples the property test (property.test.ts) found, each replayed
 * through the same oracle with what it pins down.
 */
import { describe, expect, it } from 'vitest';
import { SWAP_HAS_CACHE } from '../src/index.js';
import { type Op, run } from './helpers/property-model.js';

describe('swap allocator: counterexamples the property found', () => {
  // Seed -2094084610: after two swapoffs only the HDD (two clusters) is left.
  // An order-9 folio fills cluster 1 and stays cached with no reference; an
  // order-1 allocation then finds no room with swap over half full, and
  // swap_reclaim_full_clusters() reclaims the order-9 folio from the full
  // cluster (TTRS_ANYWAY), as the kernel does. The oracle had not known that
  // an allocation may take idle cache-only folios out of the swap cache.
  it('an allocation over vm_swap_full reclaims an idle cache-only folio of a full cluster', () => {
    const ops: readonly Op[] = [
      { t: 'swapoff', k: 0 },
      { t: 'swapoff', k: 0 },
      { t: 'alloc', cpu: 0, order: 9 },
      { t: 'alloc', cpu: 0, order: 0 },
      { t: 'alloc', cpu: 0, order: 1 },
      { t: 'dup', k: 0, n: 1 },
      { t: 'drop', k: 0 },
      { t: 'freeSwap', k: 0 },
      { t: 'alloc', cpu: 0, order: 0 },
      { t: 'free', k: 0 },
      { t: 'zap', k: 0 },
      { t: 'alloc', cpu: 0, order: 0 },
      { t: 'alloc', cpu: 0, order: 0 },
      { t: 'dup', k: 0, n: 1 },
      { t: 'alloc', cpu: 0, order: 1 },
      { t: 'dup', k: 0, n: 60 },
      { t: 'alloc', cpu: 0, order: 1 },
      { t: 'freeSwap', k: 0 },
      { t: 'zap', k: 0 },
      { t: 'freeSwap', k: 0 },
      { t: 'free', k: 0 },
      { t: 'freeSwap', k: 0 },
    ];
    const h = run(ops, 1);
    expect(h.swap.counters.cacheReclaimed).toBeGreaterThanOrEqual(512);
  });

  // Seed 408201416 (MM_FUZZ_RUNS=50): swap is over half full when CPU 0, whose
  // cached cluster went with a swapoff, takes the slow path; nonfull[0] gives
  // cluster 0, whose slot 2 is held only by an idle swap cache folio.
  // cluster_scan_range() accepts it under vm_swap_full, cluster_reclaim_range()
  // reclaims the folio, and the slot is handed out again: the same offset
  // twice, legitimately. The oracle checked for a collision before it had
  // learnt of the reclaim.
  it('an allocation over vm_swap_full reclaims a cache-only slot in the range it scans and hands it out', () => {
    const ops: readonly Op[] = [
      { t: 'alloc', cpu: 0, order: 1 },
      { t: 'alloc', cpu: 0, order: 0 },
      { t: 'slotCache', on: true },
      { t: 'alloc', cpu: 0, order: 9 },
      { t: 'alloc', cpu: 0, order: 0 },
      { t: 'swapoff', k: 629284442 },
      { t: 'freeSwap', k: 260363204 },
      { t: 'swapon', kind: 'ssd', clusters: 1, prio: 0 },
      { t: 'dup', k: 0, n: 60 },
      { t: 'dup', k: 0, n: 1 },
      { t: 'slotCache', on: false },
      { t: 'dup', k: 0, n: 1 },
      { t: 'alloc', cpu: 3, order: 0 },
      { t: 'zap', k: 0 },
      { t: 'dup', k: 0, n: 60 },
      { t: 'alloc', cpu: 0, order: 1 },
      { t: 'drop', k: 0 },
      { t: 'swapoff', k: 153778927 },
      { t: 'zap', k: 0 },
      { t: 'alloc', cpu: 3, order: 0 },
      { t: 'alloc', cpu: 0, order: 9 },
      { t: 'zap', k: 0 },
      { t: 'freeSwap', k: 0 },
      { t: 'freeSwap', k: 0 },
      { t: 'dup', k: 0, n: 60 },
      { t: 'alloc', cpu: 0, order: 0 },
    ];
    const h = run(ops, 1);
    // the last allocation reclaimed the order-0 folio at 0:2 and got its slot
    expect(h.swap.counters.cacheReclaimed).toBe(1);
    expect(h.swap.swapInfo[0]!.swapMap[2]).toBe(SWAP_HAS_CACHE);
  });
});
