import { describe, expect, it } from 'vitest';
import {
  createMachine,
  DEFAULT_COSTS,
  LocalTryLock,
  LockdepError,
  localtryLock,
  localtryTrylock,
  localtryUnlock,
  Mutex,
  mutexLock,
  mutexUnlock,
  SPIN_WOULD_SLEEP,
  SpinLock,
  spinLock,
  spinTrylockIrqsave,
  spinUnlock,
  spinUnlockIrqrestore,
} from '../src/index.js';

describe('lock costs in the cost model', () => {
  it('defaults: a local lock is cheaper than a spinlock, a cmpxchg16b costs more than a locked cmpxchg', () => {
    expect(DEFAULT_COSTS.localLock).toBeLessThan(DEFAULT_COSTS.spinLock);
    expect(DEFAULT_COSTS.atomic).toBeLessThanOrEqual(DEFAULT_COSTS.spinLock);
    expect(DEFAULT_COSTS.cmpxchgDouble).toBeGreaterThan(DEFAULT_COSTS.atomic);
    expect(DEFAULT_COSTS.cacheLineTransfer).toBeGreaterThan(DEFAULT_COSTS.spinLock);
  });

  for (const lockdep of [true, false]) {
    it(`each kind charges its own event (lockdep ${lockdep ? 'on' : 'off'}), overridable per machine`, () => {
      const m = createMachine({ costs: { spinLock: 11, localLock: 3, lockAcquire: 29, cacheLineTransfer: 101 } });
      m.lockdep.enabled = lockdep;
      const sl = new SpinLock(m, 'test_spin');
      const ll = new LocalTryLock(m, 'test_local');
      const mx = new Mutex(m, 'test_mutex');
      const busy = (): number => m.account.busyNs[0]!;
      let t = busy();
      spinLock(sl);
      spinUnlock(sl);
      expect(busy() - t).toBe(11);
      expect(m.account.eventCount('spinLock')).toBe(1);
      t = busy();
      expect(localtryTrylock(ll)).toBe(true);
      localtryUnlock(ll);
      expect(localtryLock(ll)).toBe(true);
      localtryUnlock(ll);
      expect(busy() - t).toBe(6);
      expect(m.account.eventCount('localLock')).toBe(2);
      t = busy();
      expect(mutexLock(mx)).toBe(true);
      mutexUnlock(mx);
      expect(busy() - t).toBe(29);
      // the spinlock's line was last written by CPU 0: CPU 1 pays a transfer, then not again
      const t1 = m.account.busyNs[1]!;
      m.cpus.runOn(1, () => {
        spinLock(sl);
        spinUnlock(sl);
        spinLock(sl);
        spinUnlock(sl);
      });
      expect(m.account.busyNs[1]! - t1).toBe(2 * 11 + 101);
      expect(m.account.eventCount('cacheLineTransfer')).toBe(1);
      // a per-CPU local lock on another CPU is another instance: no transfer
      m.cpus.runOn(1, () => {
        localtryLock(ll);
        localtryUnlock(ll);
      });
      expect(m.account.eventCount('cacheLineTransfer')).toBe(1);
    });
  }

  it('PREEMPT_RT: a local lock is a per-CPU spinlock and costs one', () => {
    const m = createMachine({ preemptRt: true });
    const ll = new LocalTryLock(m, 'rt_local');
    const t = m.account.busyNs[0]!;
    expect(localtryLock(ll)).toBe(true);
    localtryUnlock(ll);
    expect(m.account.busyNs[0]! - t).toBe(m.costs.spinLock);
  });
});

describe('spinTrylockIrqsave', () => {
  it('saves and disables interrupts on success, restores them on failure', () => {
    const m = createMachine({});
    const l = new SpinLock(m, 'try_irqsave');
    const f = spinTrylockIrqsave(l);
    expect(f).toBe(0);
    expect(m.cpus.irqsOff[0]).toBe(1);
    // a second try on the same CPU (an NMI, say) fails and leaves interrupts as they were
    expect(spinTrylockIrqsave(l)).toBe(SPIN_WOULD_SLEEP);
    expect(m.cpus.irqsOff[0]).toBe(1);
    spinUnlockIrqrestore(l, f);
    expect(m.cpus.irqsOff[0]).toBe(0);
    m.cpus.runOn(1, () => {
      expect(spinTrylockIrqsave(l)).toBe(0);
    });
    expect(spinTrylockIrqsave(l)).toBe(SPIN_WOULD_SLEEP);
    expect(m.cpus.irqsOff[0]).toBe(0);
  });

  it('PREEMPT_RT: interrupts stay on (flags 0)', () => {
    const m = createMachine({ preemptRt: true });
    const l = new SpinLock(m, 'rt_try_irqsave');
    expect(spinTrylockIrqsave(l)).toBe(0);
    expect(m.cpus.irqsOff[0]).toBe(0);
    expect(() => spinUnlock(l)).not.toThrow(LockdepError);
  });
});
