// Lockdep's fast path with debug_locks off must model the same locks: the
// same lock states (owners, preempt counts, interrupt state), the same
// statistics lock_stat keeps either way, and the same virtual-time charges as
// with lockdep on. Only the checks and the held-lock records (with their hold
// times) are skipped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMachine,
  GFP_ATOMIC,
  GFP_KERNEL,
  LocalTryLock,
  localtryTrylock,
  localtryUnlock,
  type Machine,
  SpinLock,
  SpinLockArray,
  spinLockAt,
  spinLockIrqsave,
  spinTrylockAt,
  spinUnlockAt,
  spinUnlockIrqrestore,
  ZONE_DMA32,
} from '../src/index.js';
import { pcpSpinTrylock, pcpSpinUnlock } from '../src/internal.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

type Op =
  | { readonly k: 'alloc'; readonly cpu: number; readonly order: number; readonly irq: boolean }
  | { readonly k: 'free'; readonly cpu: number; readonly pick: number; readonly irq: boolean }
  | { readonly k: 'pcpHeldIrq'; readonly cpu: number }
  | { readonly k: 'array'; readonly cpu: number; readonly i: number; readonly nested: boolean }
  | { readonly k: 'local'; readonly cpu: number }
  | { readonly k: 'spin'; readonly cpu: number };

const NR_CPUS = 4;
const cpuArb = fc.integer({ min: 0, max: NR_CPUS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    k: fc.constant('alloc' as const),
    cpu: cpuArb,
    order: fc.constantFrom(0, 0, 0, 1, 3, 5, 9),
    irq: fc.boolean(),
  }),
  fc.record({ k: fc.constant('free' as const), cpu: cpuArb, pick: fc.nat(), irq: fc.boolean() }),
  fc.record({ k: fc.constant('pcpHeldIrq' as const), cpu: cpuArb }),
  fc.record({ k: fc.constant('array' as const), cpu: cpuArb, i: fc.nat(7), nested: fc.boolean() }),
  fc.record({ k: fc.constant('local' as const), cpu: cpuArb }),
  fc.record({ k: fc.constant('spin' as const), cpu: cpuArb }),
);

/** Run `ops` on a fresh machine with lockdep on or off; return everything the two runs must agree on. */
function run(ops: readonly Op[], lockdep: boolean): unknown {
  const m: Machine = createMachine({ preset: 'small', seed: 7 });
  m.lockdep.enabled = lockdep;
  const pa = m.mem;
  const arr = new SpinLockArray(m, 'test-array', 8);
  const inner = new SpinLockArray(m, 'test-inner', 8);
  const ll = new LocalTryLock(m, 'test-local');
  const sl = new SpinLock(m, 'test-spin');
  const held: [number, number][] = [];
  const results: number[] = [];
  for (const op of ops) {
    m.currentCpu = op.cpu;
    switch (op.k) {
      case 'alloc': {
        const go = (): void => {
          const pfn = pa.allocPages(op.irq ? GFP_ATOMIC : GFP_KERNEL, op.order);
          results.push(pfn);
          if (pfn >= 0) held.push([pfn, op.order]);
        };
        if (op.irq) m.cpus.inHardirq(op.cpu, go);
        else go();
        break;
      }
      case 'free': {
        if (held.length === 0) break;
        const [pfn, order] = held.splice(op.pick % held.length, 1)[0] as [number, number];
        if (op.irq) m.cpus.inHardirq(op.cpu, () => pa.freePages(pfn, order));
        else pa.freePages(pfn, order);
        break;
      }
      case 'pcpHeldIrq': {
        // An interrupt allocates while the code it interrupted holds this CPU's pcp lock.
        pa.freePages(pa.allocPages(GFP_KERNEL, 0), 0); // this CPU's pcp list is not empty
        const p = op.cpu * pa.nrZones + ZONE_DMA32;
        results.push(pcpSpinTrylock(pa, p) ? 1 : 0);
        m.cpus.inHardirq(op.cpu, () => {
          const pfn = pa.allocPages(GFP_ATOMIC, 0);
          results.push(pfn);
          if (pfn >= 0) pa.freePages(pfn, 0);
        });
        pcpSpinUnlock(pa, p);
        break;
      }
      case 'array': {
        results.push(spinTrylockAt(arr, op.i) ? 1 : 0);
        if (op.nested) {
          spinLockAt(inner, op.i);
          results.push(spinTrylockAt(inner, op.i) ? 1 : 0); // fails: held by this CPU
          spinUnlockAt(inner, op.i);
        }
        spinUnlockAt(arr, op.i);
        break;
      }
      case 'local': {
        results.push(localtryTrylock(ll) ? 1 : 0);
        m.cpus.inHardirq(op.cpu, () => {
          results.push(localtryTrylock(ll) ? 1 : 0); // fails: interrupted the holder
        });
        localtryUnlock(ll);
        break;
      }
      case 'spin': {
        const f = spinLockIrqsave(sl);
        spinUnlockIrqrestore(sl, f);
        break;
      }
    }
  }
  // Statistics both modes keep (hold times need the held-lock records, which only lockdep on keeps).
  const stats = m.lockdep
    .stats()
    .map((s) => [s.name, s.acquisitions, s.contentions, s.trylockFailures, s.acqBounces, s.conBounces]);
  return {
    results,
    stats,
    eventCounts: Array.from(m.account.eventCounts),
    busyNs: Array.from(m.account.busyNs),
    cpuNs: Array.from(m.clock.cpuNs),
    preemptCount: Array.from(m.cpus.preemptCount),
    irqsOff: Array.from(m.cpus.irqsOff),
    zoneOwners: Array.from(pa.zoneLock.ownerCpu),
    pcpOwners: Array.from(pa.pcpLock.ownerCpu),
    pcpLastCpu: Array.from(pa.pcpLock.lastCpu),
    arrayOwners: [Array.from(arr.ownerCpu), Array.from(arr.ownerPid), Array.from(inner.ownerCpu)],
    localOwners: [Array.from(ll.ownerPid), Array.from(ll.acquired)],
    spinOwner: [sl.ownerCpu, sl.ownerPid],
    trylockFallbacks: pa.nrPcpTrylockFailed,
    nrFree: pa.nrFreePages(),
  };
}

describe('lockdep off (debug_locks off) models the same locks as lockdep on', () => {
  it('same lock states, statistics and virtual-time charges for a random workload', async () => {
    await fuzzAssert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
        const on = run(ops, true);
        const off = run(ops, false);
        expect(off).toEqual(on);
      }),
      fuzzRuns(40),
    );
  });

  it('a fixed workload charges lock events in virtual time either way', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 40; i++) {
      ops.push({ k: 'alloc', cpu: i % NR_CPUS, order: i % 5 === 0 ? 3 : 0, irq: i % 7 === 0 });
      ops.push({ k: 'pcpHeldIrq', cpu: (i + 1) % NR_CPUS });
      ops.push({ k: 'array', cpu: i % NR_CPUS, i: i % 8, nested: i % 2 === 0 });
      ops.push({ k: 'local', cpu: i % NR_CPUS });
      if (i % 3 === 0) ops.push({ k: 'free', cpu: i % NR_CPUS, pick: i, irq: false });
    }
    const on = run(ops, true) as { eventCounts: number[]; busyNs: number[]; trylockFallbacks: number };
    const off = run(ops, false) as typeof on;
    expect(off).toEqual(on);
    expect(on.busyNs.some((ns) => ns > 0)).toBe(true);
    expect(on.trylockFallbacks).toBeGreaterThan(0);
  });
});
