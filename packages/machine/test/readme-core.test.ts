// The README examples of the core section, kept true by running them.
import { describe, expect, it } from 'vitest';
import { createMachine, LocalTryLock, localtryLock, localtryTrylock, localtryUnlock } from '../src/index.js';

describe('README: core examples', () => {
  it('runs code in an interrupt on CPU 2 while CPU 2 holds a lock', () => {
    const m = createMachine();
    const lock = new LocalTryLock(m, 'sheaves.lock');
    m.cpus.runOn(2, () => localtryLock(lock));
    let got: boolean | undefined;
    m.cpus.inHardirq(2, () => {
      got = localtryTrylock(lock);
    });
    let nmi = false;
    m.cpus.inNmi(2, () => {
      nmi = m.cpus.isInNmi();
    });
    m.cpus.runOn(2, () => localtryUnlock(lock));
    expect(got).toBe(false);
    expect(nmi).toBe(true);
  });

  it('shows an RCU callback run after a grace period', () => {
    const m = createMachine();
    const freed: string[] = [];
    m.cpus.runOn(1, () => m.rcu.rcuReadLock());
    m.rcu.callRcu((obj) => freed.push(obj), 'node');
    m.sched.runFor(100_000_000);
    expect(m.rcu.stats().cbsInvoked).toBe(0);
    m.cpus.runOn(1, () => m.rcu.rcuReadUnlock());
    m.sched.runFor(2_000_000);
    expect(freed).toEqual(['node']);
    m.rcu.synchronizeRcu();
    m.rcu.rcuNocbs([0, 1, 2, 3], [0]);
    m.rcu.callRcu((obj) => freed.push(obj), 'again');
    m.rcu.rcuBarrier();
    expect(freed).toEqual(['node', 'again']);
  });
});
