/**
 * `folio_alloc_swap` charges the memcg after the allocation; 7.2 (and this
 * model's per-CPU fast path) has already put the folio in the swap cache by
 * then, so a refused charge takes it out again. Either way the caller sees
 * -ENOMEM with nothing changed: the slot is free, the folio is not in the
 * swap cache and keeps its references, and the counters are where they were.
 */
import { ENOMEM, NODE_STAT } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import { folioAllocSwap, swapon, swapValidate, swpOffset } from '../src/index.js';
import { allocOn, makeHarness, newFolio } from './helpers/harness.js';

describe('memcg swap charge refused', () => {
  it.each([
    ['per-CPU cluster (fast path)', true],
    ['first allocation (slow path)', false],
  ])('leaves the device, the folio and the counters unchanged: %s', (_name, warm) => {
    const charged: number[] = [];
    const uncharged: number[] = [];
    let refuse = false;
    const h = makeHarness({
      memcg: {
        tryChargeSwap: (_folio, entry) => {
          charged.push(entry);
          return refuse ? -ENOMEM : 0;
        },
        unchargeSwap: (entry, nr) => {
          uncharged.push(entry, nr);
        },
      },
    });
    swapon(h.swap, { pages: 4 * 512 });
    if (warm) allocOn(h, 0, 0); // this CPU now has a per-CPU cluster
    const si = h.swap.swapInfo[0]!;
    const f = h.swap.folios;
    const folio = newFolio(h, 0);
    const vm = h.machine.mem.vmstat;
    const nid = f.folioNid(folio);
    const before = {
      inuse: si.inusePages,
      cache: h.swap.nrSwapcache,
      ref: f.folioRefCount(folio),
      nrSwapcache: vm.nodePageState(nid, NODE_STAT.NR_SWAPCACHE),
      fastAllocs: h.swap.counters.allocFast[0],
    };
    refuse = true;
    expect(folioAllocSwap(h.swap, folio)).toBe(-ENOMEM);
    const entry = charged.at(-1)!;
    expect(entry).not.toBe(0);
    expect(h.swap.counters.allocFast[0]).toBe(before.fastAllocs! + (warm ? 1 : 0));
    expect(uncharged).toEqual([entry, 1]);
    expect(si.swapMap[swpOffset(entry)]).toBe(0);
    expect(si.inusePages).toBe(before.inuse);
    expect(h.swap.nrSwapcache).toBe(before.cache);
    expect(vm.nodePageState(nid, NODE_STAT.NR_SWAPCACHE)).toBe(before.nrSwapcache);
    expect(f.folioTestSwapcache(folio)).toBe(false);
    expect(f.folioSwap(folio)).toBe(0);
    expect(f.folioRefCount(folio)).toBe(before.ref);
    swapValidate(h.swap);
    // and the folio gets a slot once the charge succeeds
    refuse = false;
    expect(folioAllocSwap(h.swap, folio)).toBe(0);
    expect(f.folioTestSwapcache(folio)).toBe(true);
    swapValidate(h.swap);
  });
});
