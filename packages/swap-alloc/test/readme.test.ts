/**
 * The README's example, run as written (imports from the sources).
 */
import { createMachine, GFP_KERNEL } from '@mm/machine';
import { expect, it } from 'vitest';
import {
  createSwap,
  folioAllocSwap,
  folioFreeSwap,
  formatProcSwaps,
  swapCacheDelFolio,
  swapDuplicate,
  swapFree,
  swapinReadahead,
  swapoff,
  swapon,
  swapValidate,
  swapWriteout,
  swpOffset,
  swpType,
} from '../src/index.js';

it('runs the README example', () => {
  const machine = createMachine({ preset: 'small', seed: 1 });
  const swap = createSwap(machine);
  swapon(swap, { name: '/dev/nvme0n1p3', sizeBytes: 1 << 30, kind: 'ssd', priority: 10 });
  swapon(swap, { name: '/dev/zram0', sizeBytes: 256 << 20, kind: 'zram' });

  const f = swap.folios;
  const folio = f.folioAlloc(GFP_KERNEL, 0, -1);
  f.folioSetContent(folio, 0, 0xc0ffee);
  f.folioTrylock(folio);
  expect(folioAllocSwap(swap, folio)).toBe(0);
  const entry = f.folioSwap(folio);
  expect([swpType(entry), swpOffset(entry)]).toEqual([0, 1]);
  swapDuplicate(swap, entry);
  expect(swapWriteout(swap, folio)).toBeGreaterThan(0);
  f.folioTrylock(folio);
  swapCacheDelFolio(swap, folio);
  f.folioUnlock(folio);
  f.folioPut(folio);

  const back = swapinReadahead(swap, entry, GFP_KERNEL, null, 0);
  expect(f.folioContent(back, 0)).toBe(0xc0ffee);
  swapFree(swap, entry);
  f.folioTrylock(back);
  expect(folioFreeSwap(swap, back)).toBe(true);
  f.folioUnlock(back);

  expect(formatProcSwaps(swap)).toContain('/dev/zram0');
  swapValidate(swap);
  expect(swapoff(swap, '/dev/zram0', { unuse: () => 0 })).toBe(0);
  swapValidate(swap);
});
