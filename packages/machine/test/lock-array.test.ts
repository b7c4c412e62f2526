import { describe, expect, it } from 'vitest';
import {
  createMachine,
  LockdepError,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
  SpinLock,
  SpinLockArray,
  spinIsLockedAt,
  spinLock,
  spinLockAt,
  spinTrylock,
  spinTrylockAt,
  spinUnlock,
  spinUnlockAt,
} from '../src/index.js';

describe('an array of spinlock_t without PREEMPT_RT', () => {
  it('each element is a spinlock: preemption off while held, independent of the others', () => {
    const m = createMachine();
    const a = new SpinLockArray(m, '&ci->lock', 1000);
    m.cpus.runOn(1, () => {
      expect(spinLockAt(a, 7)).toBe(true);
      expect(m.cpus.preemptCountOf()).toBe(1);
      expect(spinIsLockedAt(a, 7)).toBe(true);
      expect(spinIsLockedAt(a, 8)).toBe(false);
      expect(a.ownerCpu[7]).toBe(1);
      spinUnlockAt(a, 7);
      expect(m.cpus.preemptCountOf()).toBe(0);
      expect(spinIsLockedAt(a, 7)).toBe(false);
    });
    // another CPU takes element 8 while CPU 1 holds element 7
    m.lockdep.enabled = false; // two elements of one class held at once on different CPUs is fine
    m.cpus.runOn(1, () => spinLockAt(a, 7));
    m.cpus.runOn(2, () => {
      expect(spinTrylockAt(a, 7)).toBe(false);
      expect(spinTrylockAt(a, 8)).toBe(true);
      spinUnlockAt(a, 8);
    });
    m.cpus.runOn(1, () => spinUnlockAt(a, 7));
  });

  it('reports AA on the holder CPU, spin-deadlock on another, bad unlocks, and bad indices', () => {
    const m = createMachine();
    const a = new SpinLockArray(m, 'bucket', 4);
    m.cpus.runOn(0, () => spinLockAt(a, 2));
    expect(() => m.cpus.runOn(0, () => spinLockAt(a, 2))).toThrow(/recursive-locking|AA/);
    expect(() => m.cpus.runOn(3, () => spinLockAt(a, 2))).toThrow(/spin-deadlock|spins on bucket\[2\]/);
    expect(() => m.cpus.runOn(3, () => spinUnlockAt(a, 2))).toThrow(LockdepError);
    expect(() => spinLockAt(a, 4)).toThrow(/index 4 of bucket/);
    expect(() => spinLockAt(a, -1)).toThrow(/EINVAL|index -1/);
    expect(() => spinTrylockAt(a, 1.5)).toThrow(/index 1.5/);
    expect(() => new SpinLockArray(m, 'x', -1)).toThrow(/array length -1/);
    m.cpus.runOn(0, () => spinUnlockAt(a, 2));
    expect(m.lockdep.stats().find((c) => c.name === 'bucket')!.contentions).toBe(1);
  });

  it('is one lockdep class: two elements held at once is recursive locking; order against other classes is checked', () => {
    const m = createMachine();
    const a = new SpinLockArray(m, '&ci->lock', 8);
    const b = new SpinLockArray(m, '&ci->lock', 8); // same name: same class
    const si = new SpinLock(m, '&si->lock');
    expect(b.classId).toBe(a.classId);
    m.cpus.runOn(0, () => {
      spinLockAt(a, 0);
      expect(() => spinLockAt(a, 1)).toThrow(/recursive-locking|already held/);
      expect(() => spinLockAt(b, 1)).toThrow(/recursive-locking|already held/);
      // ci->lock then si->lock establishes the order ...
      spinLock(si);
      spinUnlock(si);
      spinUnlockAt(a, 0);
      // ... and the inverse is an ABBA report
      spinLock(si);
      expect(() => spinLockAt(a, 3)).toThrow(LockdepError);
      spinUnlock(si);
    });
  });

  it('charges the cost model exactly as a SpinLock does', () => {
    const m = createMachine();
    m.lockdep.enabled = false;
    const a = new SpinLockArray(m, 'A', 2);
    const l = new SpinLock(m, 'S');
    const acct = m.account;
    const snap = (): number[] => [acct.totalBusyNs(), ...acct.eventCounts];
    const diff = (x: number[], y: number[]): number[] => y.map((v, k) => v - x[k]!);
    const s0 = snap();
    m.cpus.runOn(0, () => {
      spinLock(l);
      spinUnlock(l);
      expect(spinTrylock(l)).toBe(true);
      spinUnlock(l);
    });
    const s1 = snap();
    m.cpus.runOn(0, () => {
      spinLockAt(a, 1);
      spinUnlockAt(a, 1);
      expect(spinTrylockAt(a, 0)).toBe(true);
      spinUnlockAt(a, 0);
    });
    const s2 = snap();
    const single = diff(s0, s1);
    expect(single[0]).toBeGreaterThan(0);
    expect(diff(s1, s2)).toEqual(single);
  });
});

describe('per-element state', () => {
  it('counts a bounce only when this element was last taken on another CPU (lockdep_map.cpu is per instance)', () => {
    const m = createMachine();
    const a = new SpinLockArray(m, 'A', 4);
    const take = (cpu: number, i: number): void =>
      m.cpus.runOn(cpu, () => {
        spinLockAt(a, i);
        spinUnlockAt(a, i);
      });
    const bounces = (): number => m.lockdep.stats().find((c) => c.name === 'A')!.acqBounces;
    take(0, 0);
    take(1, 1);
    take(0, 0);
    take(1, 1);
    expect(bounces()).toBe(0);
    take(1, 0);
    expect(bounces()).toBe(1);
    expect(a.lastCpu[0]).toBe(1);
    expect(a.lastCpu[2]).toBe(-1);
  });
});

describe('an array of spinlock_t with PREEMPT_RT', () => {
  it('each element is a sleeping lock: preemptible holder, FIFO hand-over per element', () => {
    const m = createMachine({ preemptRt: true });
    const a = new SpinLockArray(m, 'L', 3);
    expect(a.sleeping).toBe(true);
    m.cpus.runOn(0, () => {
      expect(spinLockAt(a, 1)).toBe(true);
      expect(m.cpus.preemptCountOf()).toBe(0);
      spinUnlockAt(a, 1);
    });
    const order: string[] = [];
    let phase = 0;
    const waiters = ['b', 'c'].map((name) =>
      m.sched.kthreadCreate(name, 1, () => {
        if (!spinLockAt(a, 2)) {
          order.push(`${name} sleeps`);
          return SCHED_SLEEP;
        }
        order.push(`${name} locked`);
        spinUnlockAt(a, 2);
        return SCHED_EXIT;
      }),
    );
    m.sched.kthreadRun('a', 0, () => {
      phase++;
      if (phase === 1) {
        spinLockAt(a, 2);
        order.push('a locked');
        for (const w of waiters) m.sched.wakeUpProcess(w);
        return SCHED_AGAIN;
      }
      if (phase === 2) {
        // another element is free meanwhile
        expect(spinTrylockAt(a, 0)).toBe(true);
        spinUnlockAt(a, 0);
      }
      if (phase < 10) return SCHED_AGAIN; // preempted while holding it
      spinUnlockAt(a, 2);
      order.push('a unlocked');
      return SCHED_EXIT;
    });
    m.sched.runUntilIdle();
    expect(order).toEqual(['a locked', 'b sleeps', 'c sleeps', 'a unlocked', 'b locked', 'c locked']);
    expect(spinIsLockedAt(a, 2)).toBe(false);
  });

  it('taken in atomic context is sleep-in-atomic; contended from the harness is would-block', () => {
    const m = createMachine({ preemptRt: true });
    const a = new SpinLockArray(m, 'L', 2);
    const raw = new SpinLock(m, 'R', true);
    m.cpus.runOn(0, () => {
      spinLock(raw);
      expect(() => spinLockAt(a, 0)).toThrow(/sleep-in-atomic|sleeping lock/);
      expect(() => spinTrylockAt(a, 0)).toThrow(/sleep-in-atomic|sleeping lock/);
      spinUnlock(raw);
    });
    m.sched.kthreadRun('holder', 0, () => {
      spinLockAt(a, 1);
      m.sched.current().state = 1;
      return SCHED_SLEEP;
    });
    m.sched.runFor(1000);
    expect(() => m.cpus.runOn(1, () => spinLockAt(a, 1))).toThrow(/would-block/);
    expect(m.cpus.runOn(1, () => spinTrylockAt(a, 1))).toBe(false);
  });
});
