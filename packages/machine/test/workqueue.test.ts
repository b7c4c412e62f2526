import { describe, expect, it } from 'vitest';
import { createMachine, DelayedWork, MmError, Mutex, mutexLock, WorkStruct } from '../src/index.js';

describe('workqueues', () => {
  it('work runs in a per-CPU worker task, in order, and can requeue itself', () => {
    const m = createMachine();
    const log: string[] = [];
    let again = 2;
    const w1 = new WorkStruct((w) => {
      log.push(`w1@${m.currentCpu}:${m.sched.current().name}:${m.cpus.isInTask()}`);
      if (again-- > 0) m.workqueues.queueWork(m.workqueues.systemWq, w);
    });
    const w2 = new WorkStruct(() => log.push(`w2@${m.currentCpu}`));
    m.cpus.runOn(1, () => {
      expect(m.workqueues.queueWork(m.workqueues.systemWq, w1)).toBe(true);
      expect(m.workqueues.queueWork(m.workqueues.systemWq, w1)).toBe(false); // already pending
      m.workqueues.queueWork(m.workqueues.systemWq, w2);
    });
    expect(m.workqueues.flushWorkqueue(m.workqueues.systemWq)).toBe(true);
    expect(log).toEqual([
      'w1@1:kworker/1:events:true',
      'w2@1',
      'w1@1:kworker/1:events:true',
      'w1@1:kworker/1:events:true',
    ]);
    expect(m.workqueues.systemWq.nrExecuted).toBe(4);
  });

  it('delayed work runs after its delay and can be cancelled', () => {
    const m = createMachine();
    const wq = m.workqueues.allocWorkqueue('mm_percpu_wq');
    const at: number[] = [];
    const dw = new DelayedWork(() => at.push(m.clock.now));
    expect(m.workqueues.queueDelayedWorkOn(2, wq, dw, 1_000_000)).toBe(true);
    expect(m.workqueues.queueDelayedWorkOn(2, wq, dw, 5)).toBe(false);
    m.sched.runUntil(2_000_000);
    expect(at.length).toBe(1);
    expect(at[0]).toBeGreaterThanOrEqual(1_000_000);
    m.workqueues.queueDelayedWork(wq, dw, 1_000_000);
    expect(m.workqueues.cancelDelayedWork(dw)).toBe(true);
    expect(m.workqueues.cancelDelayedWork(dw)).toBe(false);
    m.sched.runUntil(5_000_000);
    expect(at.length).toBe(1);
    expect(() => m.workqueues.queueDelayedWork(wq, dw, -1)).toThrow(MmError);
    // mod_delayed_work pushes a pending timer out (vmstat_update style).
    const t0 = m.clock.now;
    expect(m.workqueues.modDelayedWorkOn(1, wq, dw, 1_000_000)).toBe(false);
    m.sched.runFor(500_000);
    expect(m.workqueues.modDelayedWorkOn(1, wq, dw, 1_000_000)).toBe(true);
    m.sched.runFor(900_000);
    expect(at.length).toBe(1);
    m.sched.runFor(1_000_000);
    expect(at.length).toBe(2);
    expect(at[1]! - t0).toBeGreaterThanOrEqual(1_500_000);
  });
});

describe('workqueue checks', () => {
  it('a work item that leaks a lock is reported', () => {
    const m = createMachine();
    const mu = new Mutex(m, 'leaked');
    const w = new WorkStruct(() => {
      mutexLock(mu);
    });
    m.workqueues.queueWorkOn(0, m.workqueues.systemWq, w);
    expect(() => m.workqueues.flushWorkqueue(m.workqueues.systemWq)).toThrow(/held-at-exit.*leaked/);
  });
});
