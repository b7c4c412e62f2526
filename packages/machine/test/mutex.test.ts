import { describe, expect, it } from 'vitest';
import {
  createMachine,
  LockdepError,
  Mutex,
  mutexIsLocked,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
} from '../src/index.js';

describe('mutex', () => {
  it('contended tasks sleep and get the mutex in FIFO order; counters count', () => {
    const m = createMachine();
    const mu = new Mutex(m, 'mu');
    const log: string[] = [];
    const inside = new Set<string>();
    for (const [name, cpu] of [
      ['t0', 0],
      ['t1', 1],
      ['t2', 2],
      ['t3', 1],
    ] as const) {
      let phase = 0;
      m.sched.kthreadRun(name, cpu, () => {
        if (phase === 0) {
          if (!mutexLock(mu)) {
            log.push(`${name} waits`);
            return SCHED_SLEEP;
          }
          inside.add(name);
          expect(inside.size).toBe(1); // mutual exclusion
          log.push(`${name} in`);
          phase = 1;
          return SCHED_AGAIN; // hold it across a step
        }
        inside.delete(name);
        mutexUnlock(mu);
        return SCHED_EXIT;
      });
    }
    expect(m.sched.runUntilIdle()).toBe(true);
    expect(log.filter((s) => s.endsWith(' in'))).toEqual(['t0 in', 't1 in', 't2 in', 't3 in']);
    expect(mutexIsLocked(mu)).toBe(false);
    const st = m.lockdep.classStats('mu');
    expect(st.acquisitions).toBe(4);
    expect(st.contentions).toBe(3);
    // lock_stat wait times: three waiters slept; the last one longest.
    expect(st.waitNsMax).toBeGreaterThan(0);
    expect(st.waitNsTotal).toBeGreaterThan(st.waitNsMax);
  });

  it('trylock fails while held; recursive lock by the owner is reported', () => {
    const m = createMachine();
    const mu = new Mutex(m, 'mu');
    expect(mutexTrylock(mu)).toBe(true);
    expect(() => mutexLock(mu)).toThrow(LockdepError);
    m.sched.kthreadRun('t', 1, () => {
      expect(mutexTrylock(mu)).toBe(false);
      return SCHED_EXIT;
    });
    m.sched.runUntilIdle();
    mutexUnlock(mu);
    expect(m.lockdep.classStats('mu').trylockFailures).toBe(1);
  });

  it('the harness context cannot sleep on a held mutex', () => {
    const m = createMachine();
    const mu = new Mutex(m, 'mu');
    m.sched.kthreadRun('holder', 1, (t) => {
      if (!mutexIsLocked(mu)) mutexLock(mu);
      t.state = 1;
      return SCHED_SLEEP;
    });
    m.sched.runFor(10_000);
    try {
      mutexLock(mu);
      expect.unreachable();
    } catch (e) {
      expect((e as LockdepError).kind).toBe('would-block');
    }
  });
});
