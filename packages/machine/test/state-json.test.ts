import { describe, expect, it } from 'vitest';
import { createMachine, SCHED_AGAIN, SCHED_EXIT, SpinLock, spinLock, spinUnlock } from '../src/index.js';

describe('core state as JSON', () => {
  it('every core subsystem serialises to plain data', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    m.cpus.runOn(1, () => {
      spinLock(l);
      spinUnlock(l);
      m.rcu.callRcu(() => {}, null);
    });
    let n = 0;
    m.sched.kthreadRun('worker', 2, () => (++n < 3 ? SCHED_AGAIN : SCHED_EXIT));
    m.sched.runFor(100_000);
    const state = JSON.parse(
      JSON.stringify({
        cpus: m.cpus,
        sched: m.sched,
        rcu: m.rcu,
        lockdep: m.lockdep,
        clock: m.clock,
        account: m.account,
      }),
    );
    expect(state.cpus.nrOnline).toBe(4);
    expect(state.cpus.cpus[1]).toMatchObject({ cpu: 1, online: true, preemptCount: 0, irqsDisabled: false });
    expect(state.sched.tasks).toEqual([
      expect.objectContaining({ name: 'worker', cpu: 2, state: 0x80, steps: 3, heldLocks: [] }),
    ]);
    expect(state.rcu.callbacksPending[1]).toBe(1);
    expect(state.rcu.gpInProgress).toBe(false); // the first RCU tick is at 1 ms
    expect(state.lockdep.classes.find((c: { name: string }) => c.name === 'L')).toMatchObject({
      name: 'L',
      acquisitions: 1,
    });
    expect(state.clock.now).toBe(100_000);
    expect(state.account.events.contextSwitch).toBe(1);
    expect(state.account.busyNs.length).toBe(4);
  });
});
