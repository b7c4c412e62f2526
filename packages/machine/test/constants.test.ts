// Constants written as literals so that hot paths can pin local copies to them
// by type (`const X: typeof NAME = 14`): each literal is checked here against
// the kernel's derivation from the constants it is built from.
import { describe, expect, it } from 'vitest';
import {
  __GFP_ACCOUNT,
  __GFP_BITS_MASK,
  __GFP_BITS_SHIFT,
  __GFP_DIRECT_RECLAIM,
  __GFP_DMA,
  __GFP_DMA32,
  __GFP_HIGHMEM,
  __GFP_KSWAPD_RECLAIM,
  __GFP_MOVABLE,
  __GFP_RECLAIMABLE,
  __GFP_THISNODE,
  __GFP_ZERO,
  GFP_MOVABLE_MASK,
  GFP_ZONEMASK,
  MIGRATE_PCPTYPES,
  PAGE_ALLOC_COSTLY_ORDER,
  PAGE_FLAGS_CHECK_AT_FREE,
  PAGE_FLAGS_CHECK_AT_PREP,
  PG_active,
  PG_hwpoison,
  PG_locked,
  PG_lru,
  PG_mlocked,
  PG_private,
  PG_private_2,
  PG_reserved,
  PG_unevictable,
  PG_writeback,
} from '../src/index.js';
import { NR_LOWORDER_PCP_LISTS, NR_PCP_LISTS, NR_PCP_THP } from '../src/internal.js';
import { __NR_PAGEFLAGS } from '../src/mm/page-flags.js';

describe('literal constants match their derivations', () => {
  it('GFP bits', () => {
    expect([__GFP_DMA, __GFP_HIGHMEM, __GFP_DMA32, __GFP_MOVABLE, __GFP_RECLAIMABLE]).toEqual([
      1 << 0,
      1 << 1,
      1 << 2,
      1 << 3,
      1 << 4,
    ]);
    expect([__GFP_ZERO, __GFP_DIRECT_RECLAIM, __GFP_KSWAPD_RECLAIM, __GFP_THISNODE, __GFP_ACCOUNT]).toEqual([
      1 << 8,
      1 << 10,
      1 << 11,
      1 << 21,
      1 << 22,
    ]);
    expect(GFP_ZONEMASK).toBe(__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE);
    expect(GFP_MOVABLE_MASK).toBe(__GFP_RECLAIMABLE | __GFP_MOVABLE);
    expect(__GFP_BITS_MASK).toBe((1 << __GFP_BITS_SHIFT) - 1);
  });

  it('page flag masks', () => {
    expect(PAGE_FLAGS_CHECK_AT_FREE).toBe(
      (1 << PG_lru) |
        (1 << PG_locked) |
        (1 << PG_private) |
        (1 << PG_private_2) |
        (1 << PG_writeback) |
        (1 << PG_reserved) |
        (1 << PG_active) |
        (1 << PG_unevictable) |
        (1 << PG_mlocked),
    );
    expect(PAGE_FLAGS_CHECK_AT_PREP).toBe(((1 << __NR_PAGEFLAGS) - 1) & ~(1 << PG_hwpoison));
  });

  it('pcp list counts', () => {
    expect(NR_LOWORDER_PCP_LISTS).toBe(MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1));
    expect(NR_PCP_LISTS).toBe(NR_LOWORDER_PCP_LISTS + NR_PCP_THP);
  });
});
