/**
 * swapoff: every entry comes back through the consumer's unuse callback,
 * cache-only folios are dropped, the automatic priorities close the gap,
 * an aborted swapoff puts the device back, nothing leaks; /proc/swaps.
 */
import { describe, expect, it } from 'vitest';
import {
  formatProcSwaps,
  formatSwapMeminfo,
  type Swap,
  setSlotCache,
  swapoff,
  swapon,
  swapStateJson,
  swapValidate,
  swpType,
} from '../src/index.js';
import { allocOn, type Harness, makeHarness, TinyMm } from './helpers/harness.js';

const MiB = 2 ** 20;

function unuseFor(h: Harness, mms: TinyMm[]) {
  return {
    unuse(_swap: Swap, type: number): number {
      for (const mm of mms) {
        for (let i = 0; i < mm.swp.length; i++) {
          const e = mm.swp[i]!;
          if (e >= 0 && swpType(e) === type) mm.swapIn(h, i);
        }
      }
      return 0;
    },
  };
}

describe('swapoff', () => {
  it('brings every entry back and frees the device, leaking nothing', () => {
    const h = makeHarness({ slotCache: true });
    const freePages = () => {
      h.machine.mem.drainAllPages();
      h.machine.mem.refreshVmStats(); // fold the per-CPU counter differentials
      return h.machine.mem.nrFreePages();
    };
    const free0 = freePages();
    const a = swapon(h.swap, { sizeBytes: 16 * MiB, priority: 1 });
    const b = swapon(h.swap, { sizeBytes: 16 * MiB, priority: 1 });
    const mm = new TinyMm(3000, 0x5000);
    for (let i = 0; i < 3000; i++) mm.swapOut(h, i);
    const child = mm.fork(h);
    // cache-only folios too (allocated, never unmapped)
    const cacheOnly = [allocOn(h, 0, 0), allocOn(h, 1, 4)];
    for (const c of cacheOnly) {
      expect(c.entry).toBeGreaterThan(0);
      h.swap.folios.folioUnlock(c.folio);
    }
    expect(new Set(mm.swp.map(swpType))).toEqual(new Set([a, b]));
    expect(swapoff(h.swap, a, unuseFor(h, [mm, child]))).toBe(0);
    expect(h.swap.swapInfo[a]).toBeNull();
    expect(mm.swp.filter((e) => e >= 0 && swpType(e) === a)).toEqual([]);
    for (let i = 0; i < 3000; i++) if (mm.swp[i]! < 0) expect(mm.tok[i]).toBe(0x5000 + i);
    swapValidate(h.swap);
    expect(swapoff(h.swap, '/dev/ssd1', unuseFor(h, [mm, child]))).toBe(0);
    swapValidate(h.swap);
    for (let i = 0; i < 3000; i++) {
      expect(mm.tok[i]).toBe(0x5000 + i);
      expect(child.tok[i]).toBe(0x5000 + i);
    }
    expect(h.swap.totalSwapPages).toBe(0);
    // the folios that were only cached are ours to free
    for (const c of cacheOnly) {
      expect(h.swap.folios.folioTestSwapcache(c.folio)).toBe(false);
      h.swap.folios.folioPut(c.folio);
    }
    setSlotCache(h.swap, false);
    h.machine.rcu.rcuBarrier();
    expect(h.swap.nrTablePages).toBe(0);
    expect(freePages()).toBe(free0);
  });

  it('closes the gap in automatic priorities', () => {
    const h = makeHarness();
    const a = swapon(h.swap, { sizeBytes: 4 * MiB });
    const b = swapon(h.swap, { sizeBytes: 4 * MiB });
    const c = swapon(h.swap, { sizeBytes: 4 * MiB });
    expect(swapoff(h.swap, b, unuseFor(h, []))).toBe(0);
    expect(h.swap.swapInfo[a]!.prio).toBe(-2);
    expect(h.swap.swapInfo[c]!.prio).toBe(-3);
    const d = swapon(h.swap, { sizeBytes: 4 * MiB });
    expect(d).toBe(b); // the type is reused
    expect(h.swap.swapInfo[d]!.prio).toBe(-4);
    swapValidate(h.swap);
  });

  it('puts the device back when unuse fails', () => {
    const h = makeHarness();
    const a = swapon(h.swap, { sizeBytes: 4 * MiB, priority: 2 });
    const mm = new TinyMm(100, 1);
    for (let i = 0; i < 100; i++) mm.swapOut(h, i);
    expect(swapoff(h.swap, a, { unuse: () => -12 })).toBe(-12);
    const si = h.swap.swapInfo[a]!;
    expect(si.onAvail).toBe(true);
    expect(si.prio).toBe(2);
    swapValidate(h.swap);
    expect(allocOn(h, 0, 0).entry).toBeGreaterThan(0);
    // a consumer that forgets references: swapoff gives up with -EINTR
    expect(swapoff(h.swap, a, { unuse: () => 0 })).toBe(-4);
    swapValidate(h.swap);
    expect(() => swapoff(h.swap, 9, { unuse: () => 0 })).toThrow(/not an active swap area/);
  });
});

describe('observability', () => {
  it('prints /proc/swaps in the kernel layout', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 64 * MiB, name: '/dev/sda2' });
    swapon(h.swap, { sizeBytes: 16 * MiB, name: '/swap file', file: true, priority: 10 });
    for (let k = 0; k < 10; k++) allocOn(h, 0, 0);
    expect(formatProcSwaps(h.swap)).toBe(
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n' +
        '/dev/sda2                               partition\t65532\t\t0\t\t-2\n' +
        '/swap\\040file                           file\t\t16380\t\t40\t\t10\n',
    );
    expect(formatSwapMeminfo(h.swap)).toContain('SwapTotal:         81912 kB');
    const json = JSON.parse(JSON.stringify(swapStateJson(h.swap)));
    expect(json.devices[1].inusePages).toBe(10);
    expect(json.nrSwapcache).toBe(10);
  });
});
