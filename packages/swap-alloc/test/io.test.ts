/**
 * The backing store and I/O: content tokens survive swap-out and swap-in,
 * zero pages go to the zeromap, read errors reach the consumer (and its
 * poison markers are inherited across fork), and I/O time follows each
 * device kind's latency and bandwidth.
 */
import { GFP_KERNEL } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  swapDuplicate,
  swapInjectReadError,
  swapinReadahead,
  swapoff,
  swapon,
  swapReadFolio,
  swapStoredContent,
  swapValidate,
  swapWriteout,
} from '../src/index.js';
import { allocOn, makeHarness, TinyMm } from './helpers/harness.js';

const MiB = 2 ** 20;

describe('backing store', () => {
  it('gives back exactly the tokens written, across devices and after fork', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 4 * MiB, priority: 3 });
    swapon(h.swap, { sizeBytes: 4 * MiB, priority: 3, kind: 'zram' });
    const mm = new TinyMm(1500, 0x1000);
    for (let i = 0; i < 1500; i++) expect(mm.swapOut(h, i)).toBe(true);
    const child = mm.fork(h);
    for (let i = 0; i < 1500; i++) mm.tok[i] = 0;
    for (let i = 1499; i >= 0; i--) expect(mm.swapIn(h, i)).toBe(true);
    for (let i = 0; i < 1500; i++) expect(mm.tok[i]).toBe(0x1000 + i);
    for (let i = 0; i < 1500; i += 7) expect(child.swapIn(h, i)).toBe(true);
    for (let i = 0; i < 1500; i += 7) expect(child.tok[i]).toBe(0x1000 + i);
    swapValidate(h.swap);
  });

  it('records zero pages in the zeromap instead of writing them', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 4 * MiB });
    const mm = new TinyMm(10, 0);
    mm.tok[0] = 0; // page 0 is all zero; the others carry tokens 1..9
    for (let i = 0; i < 10; i++) mm.swapOut(h, i);
    expect(h.swap.counters.swpoutZero).toBe(1);
    expect(h.swap.counters.pswpout).toBe(9);
    expect(mm.swapIn(h, 0)).toBe(true);
    expect(mm.tok[0]).toBe(0);
    expect(h.swap.counters.swpinZero).toBeGreaterThanOrEqual(1);
  });

  it('reports a read error to the consumer, which poisons the page; fork keeps the marker', () => {
    const h = makeHarness({ pageCluster: 0 });
    swapon(h.swap, { sizeBytes: 4 * MiB });
    const mm = new TinyMm(4, 10);
    for (let i = 0; i < 4; i++) mm.swapOut(h, i);
    const early = mm.fork(h); // shares the entry before the error
    swapInjectReadError(h.swap, mm.swp[2]!);
    expect(mm.swapIn(h, 2)).toBe(false);
    expect(mm.poisoned[2]).toBe(true);
    expect(h.swap.counters.readErrors).toBe(1);
    const late = mm.fork(h);
    expect(late.poisoned[2]).toBe(true);
    // the earlier child still holds the entry: its swap-in fails the same way
    expect(early.swapIn(h, 2)).toBe(false);
    // other pages are fine
    expect(mm.swapIn(h, 1)).toBe(true);
    expect(mm.tok[1]).toBe(11);
    swapValidate(h.swap);
  });

  it('swapoff meets a read error: the page gets a poison marker, swapoff completes, fork keeps the marker (seed 003)', () => {
    const h = makeHarness({ pageCluster: 0 });
    const t = swapon(h.swap, { sizeBytes: 4 * MiB });
    const mm = new TinyMm(8, 40);
    for (let i = 0; i < 8; i++) mm.swapOut(h, i);
    swapInjectReadError(h.swap, mm.swp[5]!);
    const res = swapoff(h.swap, t, {
      unuse: () => {
        for (let i = 0; i < 8; i++) if (mm.swp[i]! >= 0) mm.swapIn(h, i);
        return 0;
      },
    });
    expect(res).toBe(0);
    expect(h.swap.swapInfo[t]).toBeNull();
    expect(mm.poisoned).toEqual([false, false, false, false, false, true, false, false]);
    for (const i of [0, 1, 2, 3, 4, 6, 7]) expect(mm.tok[i]).toBe(40 + i);
    // the child of a later fork must see the error too, not stale data
    const child = mm.fork(h);
    expect(child.poisoned[5]).toBe(true);
    swapValidate(h.swap);
  });

  it('charges per-kind latency and bandwidth, and zram work to the CPU', () => {
    for (const kind of ['ssd', 'hdd', 'pmem', 'zram'] as const) {
      const h = makeHarness();
      swapon(h.swap, { sizeBytes: 4 * MiB, kind });
      const { folio, entry } = allocOn(h, 0, 0, 99);
      swapDuplicate(h.swap, entry);
      const t0 = h.machine.clock.cpuNow(0);
      const busy0 = h.machine.account.busyNs[0]!;
      const done = swapWriteout(h.swap, folio);
      const c = h.machine.costs;
      const ps = h.machine.topology.pageSize;
      // expected latency + transfer, plus the lock acquisitions on the way (a few 10 ns)
      const near = (x: number, want: number) => expect(x >= want && x < want + 200).toBe(true);
      if (kind === 'ssd') near(done - t0, c.ioSsdWrite + ps / 2);
      if (kind === 'hdd') near(done - t0, c.ioHdd + ps / 0.15);
      if (kind === 'pmem') near(done - t0, c.ioPmem + ps / 8);
      if (kind === 'zram') near(h.machine.account.busyNs[0]! - busy0, c.ioZram);
      expect(swapStoredContent(h.swap, entry)).toBe(99);
      // read it back into a fresh folio
      h.swap.folios.folioTrylock(folio);
      const r = swapReadFolio(h.swap, folio, -1);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(h.swap.folios.folioTestUptodate(folio)).toBe(true);
    }
  });

  it('keeps failing reads at the configured random rate, deterministically per seed', () => {
    const fails = (seed: number) => {
      const h = makeHarness({ pageCluster: 0 }, { seed });
      swapon(h.swap, { sizeBytes: 4 * MiB, readErrorRate: 0.3 });
      const mm = new TinyMm(200, 1);
      for (let i = 0; i < 200; i++) mm.swapOut(h, i);
      let n = 0;
      for (let i = 0; i < 200; i++) if (!mm.swapIn(h, i)) n++;
      swapValidate(h.swap);
      return n;
    };
    const a = fails(7);
    expect(a).toBeGreaterThan(30);
    expect(a).toBeLessThan(100);
    expect(fails(7)).toBe(a);
  });

  it('swapin_readahead returns -1 for an entry that is no longer in use', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 4 * MiB });
    const { entry, folio } = allocOn(h, 0, 0);
    h.swap.folios.folioUnlock(folio);
    // only the cache holds it: not "swapped", no read
    expect(swapinReadahead(h.swap, entry + 1, GFP_KERNEL, null, 0)).toBe(-1);
  });
});
