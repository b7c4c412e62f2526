import { describe, expect, it } from 'vitest';
import {
  createMachine,
  LOCAL_LOCK_FAILED,
  LocalLock,
  LocalTryLock,
  LockdepError,
  localLock,
  localLockIrqsave,
  localtryLock,
  localtryLockIrqsave,
  localtryTrylock,
  localtryTrylockIrqsave,
  localtryUnlock,
  localtryUnlockIrqrestore,
  localUnlock,
  localUnlockIrqrestore,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
} from '../src/index.js';

function kind(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof LockdepError) return e.kind;
    throw e;
  }
  return 'no error';
}

describe('localtry_lock without PREEMPT_RT (seed 000)', () => {
  it('localtry_trylock disables preemption only, not interrupts', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'sheaves.lock');
    m.cpus.runOn(2, () => {
      expect(localtryTrylock(l)).toBe(true);
      expect(m.cpus.preemptCountOf()).toBe(1);
      expect(m.cpus.irqsDisabled()).toBe(false);
    });
    expect(l.acquired[2]).toBe(1);
    expect(l.acquired[1]).toBe(0);
    m.cpus.runOn(2, () => localtryUnlock(l));
    expect(m.cpus.preemptCount[2]).toBe(0);
    expect(l.acquired[2]).toBe(0);
  });

  it('an IRQ that preempted the holder fails its trylock; the same IRQ on another CPU succeeds', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'sheaves.lock');
    m.cpus.runOn(2, () => localtryLock(l));
    let onHolder: boolean | null = null;
    let onOther: boolean | null = null;
    // CPU 2 holds the lock with only preemption disabled, so the interrupt is delivered at once.
    expect(
      m.cpus.inHardirq(2, () => {
        onHolder = localtryTrylock(l);
      }),
    ).toBe(true);
    expect(onHolder).toBe(false);
    expect(m.cpus.preemptCount[2]).toBe(1); // the failed trylock re-enabled what it disabled
    m.cpus.inHardirq(3, () => {
      onOther = localtryTrylock(l);
      if (onOther) localtryUnlock(l);
    });
    expect(onOther).toBe(true);
    expect(m.lockdep.classStats('sheaves.lock').trylockFailures).toBe(1);
    m.cpus.runOn(2, () => localtryUnlock(l));
    let after: boolean | null = null;
    m.cpus.inHardirq(2, () => {
      after = localtryTrylock(l);
      if (after) localtryUnlock(l);
    });
    expect(after).toBe(true);
    expect(m.warnings).toEqual([]);
  });

  it('localtry_trylock_irqsave in an IRQ also fails while the holder is preempted', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'memcg_stock.lock');
    m.cpus.runOn(1, () => expect(localtryTrylock(l)).toBe(true));
    let r = 0;
    m.cpus.inHardirq(1, () => {
      r = localtryTrylockIrqsave(l);
    });
    expect(r).toBe(LOCAL_LOCK_FAILED);
    m.cpus.runOn(1, () => localtryUnlock(l));
  });

  it('localtry_lock_irqsave keeps IRQs out, and an NMI trylock fails', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'sheaves.lock');
    const flags = m.cpus.runOn(2, () => localtryLockIrqsave(l));
    expect(flags).toBe(0);
    expect(m.cpus.irqsOff[2]).toBe(1);
    expect(l.acquired[2]).toBe(1);
    let nmiTry: boolean | null = null;
    let nmiTrySave = 0;
    m.cpus.inNmi(2, () => {
      nmiTry = localtryTrylock(l);
      nmiTrySave = localtryTrylockIrqsave(l);
    });
    expect(nmiTry).toBe(false);
    expect(nmiTrySave).toBe(LOCAL_LOCK_FAILED);
    // A hard interrupt cannot arrive: it stays pending until interrupts are enabled again.
    let irqResult: boolean | null = null;
    expect(
      m.cpus.inHardirq(2, () => {
        irqResult = localtryTrylock(l);
        if (irqResult) localtryUnlock(l);
      }),
    ).toBe(false);
    expect(irqResult).toBe(null);
    expect(m.cpus.nrPendingIrqs(2)).toBe(1);
    m.cpus.runOn(2, () => localtryUnlockIrqrestore(l, flags));
    // Delivered at the restore, after the lock was released: the trylock succeeds.
    expect(irqResult).toBe(true);
    expect(m.cpus.irqsOff[2]).toBe(0);
    expect(m.cpus.nrPendingIrqs(2)).toBe(0);
  });

  it('an NMI that did not interrupt a holder can take it', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'sheaves.lock');
    let ok = 0;
    m.cpus.inNmi(0, () => {
      ok = localtryTrylockIrqsave(l);
      if (ok !== LOCAL_LOCK_FAILED) localtryUnlockIrqrestore(l, ok);
    });
    expect(ok).toBe(1); // interrupts were already disabled in the NMI
  });

  it('localtry_lock from an IRQ that preempted the holder is recursive locking', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'sheaves.lock');
    m.cpus.runOn(2, () => localtryLock(l));
    expect(kind(() => m.cpus.inHardirq(2, () => localtryLock(l)))).toBe('recursive-locking');
    // The interrupt context was unwound; the holder is unaffected.
    expect(m.cpus.preemptCount[2]).toBe(1);
    expect(l.acquired[2]).toBe(1);
    m.cpus.runOn(2, () => localtryUnlock(l));
  });

  it('trylock in hardirq plus lock in process context is not an irq inversion', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'sheaves.lock');
    m.cpus.inHardirq(1, () => {
      if (localtryTrylock(l)) localtryUnlock(l);
    });
    m.cpus.runOn(1, () => {
      localtryLock(l);
      localtryUnlock(l);
    });
    expect(m.lockdep.classStats('sheaves.lock').acquisitions).toBe(2);
  });

  it('unlock by a context that does not hold it is a bad unlock', () => {
    const m = createMachine();
    const l = new LocalTryLock(m, 'sheaves.lock');
    expect(kind(() => m.cpus.runOn(0, () => localtryUnlock(l)))).toBe('bad-unlock');
  });
});

describe('localtry_lock with PREEMPT_RT', () => {
  it('trylock returns false right away in hard IRQ and NMI context, even when free', () => {
    const m = createMachine({ preemptRt: true });
    const l = new LocalTryLock(m, 'sheaves.lock');
    let irq: boolean | null = null;
    let nmi: boolean | null = null;
    let nmiSave = 0;
    m.cpus.inHardirq(1, () => {
      irq = localtryTrylock(l);
    });
    m.cpus.inNmi(1, () => {
      nmi = localtryTrylock(l);
      nmiSave = localtryTrylockIrqsave(l);
    });
    expect(irq).toBe(false);
    expect(nmi).toBe(false);
    expect(nmiSave).toBe(LOCAL_LOCK_FAILED);
    expect(l.ownerPid[1]).toBe(-1);
  });

  it('in task context it is a preemptible per-CPU spinlock: migration off, preemption and irqs on', () => {
    const m = createMachine({ preemptRt: true });
    const l = new LocalTryLock(m, 'sheaves.lock');
    m.cpus.runOn(2, () => {
      expect(localtryTrylock(l)).toBe(true);
      expect(m.cpus.preemptCountOf()).toBe(0);
      expect(m.sched.current().migrationDisabled).toBe(1);
      localtryUnlock(l);
      const flags = localtryLockIrqsave(l);
      expect(flags).toBe(0);
      expect(m.cpus.irqsDisabled()).toBe(false);
      localtryUnlockIrqrestore(l, flags);
      expect(m.sched.current().migrationDisabled).toBe(0);
    });
  });

  it('another task on the same CPU fails the trylock while the holder is preempted, and sleeps on lock', () => {
    const m = createMachine({ preemptRt: true });
    const l = new LocalTryLock(m, 'sheaves.lock');
    const log: string[] = [];
    let holderPhase = 0;
    // The holder takes the lock in one step and releases it three steps later (preempted in between).
    m.sched.kthreadRun('holder', 1, () => {
      holderPhase++;
      if (holderPhase === 1) {
        expect(localtryLock(l)).toBe(true);
        log.push('holder locked');
        return SCHED_AGAIN;
      }
      if (holderPhase < 4) return SCHED_AGAIN;
      localtryUnlock(l);
      log.push('holder unlocked');
      return SCHED_EXIT;
    });
    let tried = false;
    m.sched.kthreadRun('other', 1, () => {
      if (!tried) {
        tried = true;
        log.push(`other trylock ${localtryTrylock(l)}`);
      }
      if (!localtryLock(l)) {
        log.push('other sleeps');
        return SCHED_SLEEP;
      }
      log.push('other locked');
      localtryUnlock(l);
      return SCHED_EXIT;
    });
    expect(m.sched.runUntilIdle()).toBe(true);
    expect(log).toEqual(['holder locked', 'other trylock false', 'other sleeps', 'holder unlocked', 'other locked']);
    expect(m.lockdep.classStats('sheaves.lock').contentions).toBe(1);
  });

  it('the lock is per CPU: tasks on different CPUs do not contend', () => {
    const m = createMachine({ preemptRt: true });
    const l = new LocalTryLock(m, 'sheaves.lock');
    m.cpus.runOn(0, () => expect(localtryTrylock(l)).toBe(true));
    m.cpus.runOn(1, () => expect(localtryTrylock(l)).toBe(true));
    m.cpus.runOn(0, () => localtryUnlock(l));
    m.cpus.runOn(1, () => localtryUnlock(l));
  });

  it('taking the sleeping lock with preemption disabled is sleep-in-atomic', () => {
    const m = createMachine({ preemptRt: true });
    const l = new LocalTryLock(m, 'sheaves.lock');
    expect(
      kind(() =>
        m.cpus.runOn(0, () => {
          m.cpus.preemptDisable();
          try {
            localtryLock(l);
          } finally {
            m.cpus.preemptEnable();
          }
        }),
      ),
    ).toBe('sleep-in-atomic');
  });
});

describe('local_lock', () => {
  it('local_lock_irqsave disables interrupts; local_lock disables preemption', () => {
    const m = createMachine();
    const l = new LocalLock(m, 'pcp.lock');
    m.cpus.runOn(3, () => {
      const f = localLockIrqsave(l);
      expect(m.cpus.irqsDisabled()).toBe(true);
      expect(m.cpus.preemptCountOf()).toBe(0);
      localUnlockIrqrestore(l, f);
      expect(m.cpus.irqsDisabled()).toBe(false);
      localLock(l);
      expect(m.cpus.preemptCountOf()).toBe(1);
      localUnlock(l);
    });
  });

  it('local_lock taken in hardirq and with irqs on in process context is an inconsistent state', () => {
    const m = createMachine();
    const l = new LocalLock(m, 'pcp.lock');
    m.cpus.inHardirq(0, () => {
      localLock(l);
      localUnlock(l);
    });
    expect(kind(() => m.cpus.runOn(1, () => localLock(l)))).toBe('inconsistent-irq-state');
    // State unchanged by the rejected acquisition.
    expect(l.ownerPid[1]).toBe(-1);
    expect(m.cpus.preemptCount[1]).toBe(0);
    // With irqsave it is fine.
    m.cpus.runOn(1, () => {
      const f = localLockIrqsave(l);
      localUnlockIrqrestore(l, f);
    });
  });
});
