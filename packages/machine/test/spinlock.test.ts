import { describe, expect, it } from 'vitest';
import {
  createMachine,
  LockdepError,
  Mutex,
  mutexLock,
  mutexUnlock,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
  SPIN_WOULD_SLEEP,
  SpinLock,
  spinIsLocked,
  spinLock,
  spinLockBh,
  spinLockIrq,
  spinLockIrqsave,
  spinTrylock,
  spinUnlock,
  spinUnlockBh,
  spinUnlockIrq,
  spinUnlockIrqrestore,
} from '../src/index.js';

describe('spinlock_t without PREEMPT_RT', () => {
  it('disables preemption; _irq, _irqsave and _bh mask what they say', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    m.cpus.runOn(1, () => {
      spinLock(l);
      expect(m.cpus.preemptCountOf()).toBe(1);
      expect(spinIsLocked(l)).toBe(true);
      spinUnlock(l);
      spinLockIrq(l);
      expect(m.cpus.irqsDisabled()).toBe(true);
      spinUnlockIrq(l);
      expect(m.cpus.irqsDisabled()).toBe(false);
      m.cpus.localIrqDisable();
      const f = spinLockIrqsave(l);
      expect(f).toBe(1);
      spinUnlockIrqrestore(l, f);
      expect(m.cpus.irqsDisabled()).toBe(true); // restored to disabled
      m.cpus.localIrqEnable();
      spinLockBh(l);
      expect(m.cpus.isInSoftirq()).toBe(true);
      expect(m.cpus.isInServingSoftirq()).toBe(false);
      spinUnlockBh(l);
      expect(m.cpus.preemptCountOf()).toBe(0);
    });
  });

  it('an interrupt on the holder CPU fails the trylock; a softirq raised under spin_lock_bh waits', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    m.cpus.runOn(2, () => spinLockBh(l));
    let got: boolean | null = null;
    m.cpus.inHardirq(2, () => {
      got = spinTrylock(l);
    });
    expect(got).toBe(false);
    let softRan = false;
    expect(
      m.cpus.inSoftirq(2, () => {
        softRan = true;
      }),
    ).toBe(false);
    expect(softRan).toBe(false);
    m.cpus.runOn(2, () => spinUnlockBh(l));
    expect(softRan).toBe(true);
  });
});

describe('spinlock_t with PREEMPT_RT', () => {
  it('is a sleeping lock: irqsave leaves irqs on, contention sleeps, FIFO hand-over', () => {
    const m = createMachine({ preemptRt: true });
    const l = new SpinLock(m, 'L');
    const raw = new SpinLock(m, 'R', true);
    expect(l.sleeping).toBe(true);
    expect(raw.sleeping).toBe(false);
    m.cpus.runOn(0, () => {
      const f = spinLockIrqsave(l);
      expect(f).toBe(0);
      expect(m.cpus.irqsDisabled()).toBe(false);
      expect(m.cpus.preemptCountOf()).toBe(0);
      spinUnlockIrqrestore(l, f);
      // A sleeping lock inside a raw spinlock is an invalid context.
      spinLock(raw);
      expect(() => spinLock(l)).toThrow(LockdepError);
      spinUnlock(raw);
    });
    const order: string[] = [];
    let phase = 0;
    const waiters = ['b', 'c'].map((name) =>
      m.sched.kthreadCreate(name, 1, () => {
        if (!spinLock(l)) {
          order.push(`${name} sleeps`);
          return SCHED_SLEEP;
        }
        order.push(`${name} locked`);
        spinUnlock(l);
        return SCHED_EXIT;
      }),
    );
    m.sched.kthreadRun('a', 0, () => {
      phase++;
      if (phase === 1) {
        spinLock(l);
        order.push('a locked');
        for (const w of waiters) m.sched.wakeUpProcess(w);
        return SCHED_AGAIN;
      }
      if (phase < 10) return SCHED_AGAIN; // preempted while holding it
      spinUnlock(l);
      order.push('a unlocked');
      return SCHED_EXIT;
    });
    m.sched.runUntilIdle();
    expect(order).toEqual(['a locked', 'b sleeps', 'c sleeps', 'a unlocked', 'b locked', 'c locked']);
    expect(spinIsLocked(l)).toBe(false);
    expect(spinLockIrqsave.length).toBe(1);
    expect(SPIN_WOULD_SLEEP).toBe(-1);
  });

  it('sleeping while holding a (preemptible) spinlock_t is still an invalid context', () => {
    const m = createMachine({ preemptRt: true });
    const l = new SpinLock(m, 'L');
    const mu = new Mutex(m, 'M');
    m.cpus.runOn(0, () => {
      spinLock(l);
      expect(m.cpus.preemptible()).toBe(true);
      expect(() => mutexLock(mu)).toThrow(/invalid wait context/);
      spinUnlock(l);
      expect(mutexLock(mu)).toBe(true);
      mutexUnlock(mu);
    });
  });

  it('contended from the harness context is would-block', () => {
    const m = createMachine({ preemptRt: true });
    const l = new SpinLock(m, 'L');
    m.sched.kthreadRun('holder', 0, () => {
      spinLock(l);
      return SCHED_SLEEP_FOREVER(m);
    });
    m.sched.runFor(1000);
    expect(() => m.cpus.runOn(1, () => spinLock(l))).toThrow(/would-block/);
  });
});

function SCHED_SLEEP_FOREVER(m: ReturnType<typeof createMachine>): number {
  m.sched.current().state = 1;
  return SCHED_SLEEP;
}
