import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMachine, LockdepError, RcuStallError, SCHED_AGAIN, SCHED_EXIT, SCHED_SLEEP } from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

const MS = 1_000_000;

describe('RCU grace periods and callbacks', () => {
  it('a callback runs after a grace period, in softirq context on its CPU', () => {
    const m = createMachine();
    const seen: { cpu: number; softirq: boolean }[] = [];
    m.cpus.runOn(1, () =>
      m.rcu.callRcu((tag: string) => {
        expect(tag).toBe('obj');
        seen.push({ cpu: m.currentCpu, softirq: m.cpus.isInServingSoftirq() });
      }, 'obj'),
    );
    expect(seen).toEqual([]);
    m.sched.runFor(10 * MS);
    expect(seen).toEqual([{ cpu: 1, softirq: true }]);
    const s = m.rcu.stats();
    expect(s.gpCompleted).toBe(1);
    expect(s.cbsQueued).toBe(1);
    expect(s.cbsInvoked).toBe(1);
    expect(s.maxLatencyNs).toBeGreaterThan(0);
    // No work left: the RCU tick is not re-armed, the machine goes idle.
    expect(m.sched.runUntilIdle()).toBe(true);
  });

  it('a callback never runs while a reader that predates it is inside', () => {
    const m = createMachine();
    let ran = false;
    m.cpus.runOn(1, () => m.rcu.rcuReadLock());
    m.cpus.runOn(0, () =>
      m.rcu.callRcu(() => {
        ran = true;
      }, null),
    );
    m.sched.runFor(500 * MS);
    expect(ran).toBe(false);
    expect(m.rcu.gpInProgress).toBe(true);
    expect(m.rcu.blockingCpus()).toEqual([1]);
    m.cpus.runOn(1, () => m.rcu.rcuReadUnlock());
    m.sched.runFor(5 * MS);
    expect(ran).toBe(true);
  });

  it('readers nest; preempt-disabled regions are readers too', () => {
    const m = createMachine();
    let ran = false;
    m.cpus.runOn(2, () => {
      m.rcu.rcuReadLock();
      m.rcu.rcuReadLock();
      m.rcu.rcuReadUnlock();
      m.cpus.preemptDisable();
    });
    m.rcu.callRcu(() => {
      ran = true;
    }, 0);
    m.sched.runFor(50 * MS);
    expect(ran).toBe(false);
    m.cpus.runOn(2, () => m.rcu.rcuReadUnlock());
    m.sched.runFor(50 * MS);
    expect(ran).toBe(false);
    m.cpus.runOn(2, () => m.cpus.preemptEnable());
    m.sched.runFor(5 * MS);
    expect(ran).toBe(true);
  });

  it('callbacks of one CPU run in queueing order', () => {
    const m = createMachine();
    const order: number[] = [];
    for (let i = 0; i < 50; i++) {
      m.cpus.runOn(i % 2, () => m.rcu.callRcu((x: number) => order.push(x), i));
      if (i % 7 === 0) m.sched.runFor(MS / 2);
    }
    m.rcu.rcuBarrier();
    expect(order.filter((x) => x % 2 === 0)).toEqual([...Array(25).keys()].map((k) => 2 * k));
    expect(order.filter((x) => x % 2 === 1)).toEqual([...Array(25).keys()].map((k) => 2 * k + 1));
  });

  it('synchronize_rcu waits for a full grace period; inside a reader it is sleep-in-atomic', () => {
    const m = createMachine();
    const before = m.rcu.gpCompleted;
    m.rcu.synchronizeRcu();
    expect(m.rcu.gpCompleted).toBeGreaterThan(before);
    expect(m.clock.now).toBeGreaterThan(0);
    m.rcu.rcuReadLock();
    expect(() => m.rcu.synchronizeRcu()).toThrow(LockdepError);
    m.rcu.rcuReadUnlock();
  });

  it('synchronize_rcu reports a stall when a reader never leaves', () => {
    const m = createMachine();
    m.cpus.runOn(3, () => m.rcu.rcuReadLock());
    let err: unknown = null;
    try {
      m.rcu.synchronizeRcu();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RcuStallError);
    expect((err as RcuStallError).cpus).toEqual([3]);
    expect((err as RcuStallError).code).toBe('EDEADLK');
    expect(m.rcu.stats().stalls).toBe(1);
    expect(m.warnings.length).toBe(1);
  });

  it('rcu_barrier waits for every callback queued before it', () => {
    const m = createMachine();
    let n = 0;
    for (let c = 0; c < 4; c++) m.cpus.runOn(c, () => m.rcu.callRcu(() => n++, null));
    m.rcu.rcuBarrier();
    expect(n).toBe(4);
    m.rcu.rcuBarrier(); // nothing queued: returns at once
    expect(n).toBe(4);
  });

  it('grace periods complete when callback processing is restricted to a subset of CPUs', () => {
    const m = createMachine({ preset: 'server2s' });
    const all = [...Array(32).keys()];
    m.rcu.rcuNocbs(all, [0, 1]);
    const ranOn: number[] = [];
    const ctx: boolean[] = [];
    for (const c of all) {
      m.cpus.runOn(c, () =>
        m.rcu.callRcu(() => {
          ranOn.push(m.currentCpu);
          ctx.push(m.cpus.isInTask() && m.cpus.isInSoftirq());
        }, c),
      );
    }
    m.rcu.rcuBarrier();
    expect(ranOn.length).toBe(32);
    expect(new Set(ranOn)).toEqual(new Set([0, 1]));
    expect(ctx.every((x) => x)).toBe(true); // rcuo kthread: task context with BH disabled
    expect(m.rcu.invokedOnCpu[0]! + m.rcu.invokedOnCpu[1]!).toBe(32);
    expect(m.rcu.stats().gpCompleted).toBeGreaterThanOrEqual(1);
    // A reader on an offloaded CPU still holds grace periods back.
    let late = false;
    m.cpus.runOn(17, () => m.rcu.rcuReadLock());
    m.cpus.runOn(5, () =>
      m.rcu.callRcu(() => {
        late = true;
      }, 0),
    );
    m.sched.runFor(100 * MS);
    expect(late).toBe(false);
    m.cpus.runOn(17, () => m.rcu.rcuReadUnlock());
    m.sched.runFor(10 * MS);
    expect(late).toBe(true);
  });

  it('a task waits for a grace period with the polling API', () => {
    const m = createMachine();
    let cookie = -1;
    let done = false;
    m.sched.kthreadRun('waiter', 2, (t) => {
      if (cookie < 0) cookie = m.rcu.startPollSynchronizeRcu();
      if (!m.rcu.pollStateSynchronizeRcu(cookie)) return m.rcu.sleepUntilGp(t, cookie);
      done = true;
      return SCHED_EXIT;
    });
    m.sched.runUntilIdle();
    expect(done).toBe(true);
    expect(m.rcu.gpCompleted).toBeGreaterThanOrEqual(cookie);
  });

  it('synchronize_rcu from a task step is refused (it would sleep inside the step)', () => {
    const m = createMachine();
    let err: unknown = null;
    m.sched.kthreadRun('bad', 0, () => {
      try {
        m.rcu.synchronizeRcu();
      } catch (e) {
        err = e;
      }
      return SCHED_EXIT;
    });
    m.sched.runUntilIdle();
    expect((err as { code?: string }).code).toBe('EDEADLK');
  });

  it('rcu_dereference outside a reader is suspicious RCU usage', () => {
    const m = createMachine();
    const p = { x: 1 };
    expect(() => m.rcu.rcuDereference(p)).toThrow(/suspicious/);
    m.rcu.rcuReadLock();
    expect(m.rcu.rcuDereference(p)).toBe(p);
    m.rcu.rcuReadUnlock();
    expect(() => m.rcu.rcuReadUnlock()).toThrow(LockdepError);
  });

  it('an offlined CPU stops blocking grace periods and its callbacks migrate', () => {
    const m = createMachine();
    let ran = -1;
    m.cpus.runOn(3, () =>
      m.rcu.callRcu(() => {
        ran = m.currentCpu;
      }, 0),
    );
    expect(m.hotplug.cpuDown(3)).toBe(0);
    m.rcu.rcuBarrier();
    expect(ran).toBe(0);
  });
});

describe('RCU property: no callback runs while a reader that predates it is inside', () => {
  type Op =
    | { k: 'lock'; cpu: number }
    | { k: 'unlock'; cpu: number }
    | { k: 'call'; cpu: number }
    | { k: 'run'; us: number }
    | { k: 'task'; cpu: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant('lock' as const), cpu: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ k: fc.constant('unlock' as const), cpu: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ k: fc.constant('call' as const), cpu: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ k: fc.constant('run' as const), us: fc.integer({ min: 1, max: 5000 }) }),
    fc.record({ k: fc.constant('task' as const), cpu: fc.integer({ min: 0, max: 3 }) }),
  );

  it('holds for random interleavings of readers, callbacks and time', async () => {
    await fuzzAssert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.boolean(), fc.boolean(), (ops, offload, rt) => {
        const m = createMachine({ preemptRt: rt });
        if (offload) m.rcu.rcuNocbs([1, 2, 3], [0]);
        // Reader sections get ids; a callback records the sections open when it was queued.
        let nextReader = 0;
        const open: number[][] = [[], [], [], []];
        const active = new Set<number>();
        let queued = 0;
        let invoked = 0;
        const perCpuOrder: number[][] = [[], [], [], []];
        for (const o of ops) {
          if (o.k === 'lock') {
            m.cpus.runOn(o.cpu, () => m.rcu.rcuReadLock());
            const id = nextReader++;
            open[o.cpu]!.push(id);
            active.add(id);
          } else if (o.k === 'unlock') {
            const id = open[o.cpu]!.pop();
            if (id === undefined) continue;
            m.cpus.runOn(o.cpu, () => m.rcu.rcuReadUnlock());
            active.delete(id);
          } else if (o.k === 'call') {
            const predating = [...active];
            const seq = queued++;
            const cpu = o.cpu;
            m.cpus.runOn(cpu, () =>
              m.rcu.callRcu(() => {
                for (const r of predating) {
                  if (active.has(r)) throw new Error(`callback ${seq} ran inside reader ${r}`);
                }
                perCpuOrder[cpu]!.push(seq);
                invoked++;
              }, null),
            );
          } else if (o.k === 'task') {
            // A task with a reader: within one step, or (preemptible RCU) across many steps.
            const id = nextReader++;
            let steps = 0;
            const span = rt ? 1 + (id % 8) * 40 : 0; // up to ~6 ms of virtual time inside the reader
            m.sched.kthreadRun('reader', o.cpu, () => {
              if (steps === 0) {
                m.rcu.rcuReadLock();
                active.add(id);
              }
              m.account.charge(m.currentCpu, 20_000); // 20 us of work per step
              if (steps++ < span) return SCHED_AGAIN;
              active.delete(id);
              m.rcu.rcuReadUnlock();
              return SCHED_EXIT;
            });
          } else {
            m.sched.runFor(o.us * 1000);
          }
          expect(m.rcu.validate()).toBe(null);
          expect(m.sched.validate()).toBe(null);
        }
        for (let c = 0; c < 4; c++) {
          while (open[c]!.length > 0) {
            active.delete(open[c]!.pop()!);
            m.cpus.runOn(c, () => m.rcu.rcuReadUnlock());
          }
        }
        m.rcu.rcuBarrier();
        expect(invoked).toBe(queued);
        for (const seqs of perCpuOrder) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(m.rcu.stats().cbsInvoked).toBe(queued);
        expect(m.clock.validate()).toBe(null);
      }),
      fuzzRuns(150),
    );
  });
});

describe('RCU sleep in task', () => {
  it('a task sleeping in sleepUntilGp does not hold back the grace period', () => {
    const m = createMachine();
    const t = m.sched.kthreadCreate('w', 1, (task) => m.rcu.sleepUntilGp(task, m.rcu.startPollSynchronizeRcu()));
    m.sched.wakeUpProcess(t);
    m.sched.runFor(MS / 10);
    expect(t.state).not.toBe(0);
    expect(SCHED_SLEEP).toBe(1);
    m.sched.runFor(20 * MS);
    expect(m.rcu.gpCompleted).toBeGreaterThanOrEqual(1);
  });
});

describe('preemptible RCU (PREEMPT_RT)', () => {
  it('a task preempted inside a reader holds back grace periods that started after its reader', () => {
    const m = createMachine({ preemptRt: true });
    expect(m.rcu.preemptible).toBe(true);
    let phase = 0;
    let ranWhileInside = false;
    let insideReader = false;
    m.sched.kthreadRun('reader', 1, () => {
      phase++;
      if (phase === 1) {
        m.rcu.rcuReadLock();
        insideReader = true;
        return SCHED_AGAIN; // preempted inside the reader, over many steps
      }
      if (phase < 100_000) return SCHED_AGAIN; // 100 ns per step: about 10 ms inside the reader
      insideReader = false;
      m.rcu.rcuReadUnlock();
      return SCHED_EXIT;
    });
    m.sched.runFor(10_000);
    expect(insideReader).toBe(true);
    let ran = false;
    m.rcu.callRcu(() => {
      ran = true;
      ranWhileInside = insideReader;
    }, null);
    m.sched.runFor(5_000_000);
    // CPU 1 keeps switching tasks (quiescent states), yet the preempted reader blocks the grace period.
    expect(m.rcu.blockingCpus()).toEqual([]);
    expect(m.rcu.blockingTasks()).toEqual(['reader']);
    expect(ran).toBe(false);
    expect(m.rcu.validate()).toBe(null);
    m.rcu.rcuBarrier();
    expect(ran).toBe(true);
    expect(ranWhileInside).toBe(false);
  });

  it('a reader that began after the grace period started does not hold it back', () => {
    const m = createMachine({ preemptRt: true });
    let ran = false;
    m.rcu.callRcu(() => {
      ran = true;
    }, null);
    m.sched.runWhile(() => !m.rcu.gpInProgress, 1e9);
    let steps = 0;
    m.sched.kthreadRun('late-reader', 2, () => {
      if (steps++ === 0) m.rcu.rcuReadLock();
      if (ran) {
        m.rcu.rcuReadUnlock();
        return SCHED_EXIT;
      }
      return SCHED_AGAIN;
    });
    m.sched.runFor(5_000_000);
    expect(ran).toBe(true);
  });

  it('sleeping voluntarily inside a reader is still an error', () => {
    const m = createMachine({ preemptRt: true });
    m.sched.kthreadRun('bad', 0, (t) => {
      m.rcu.rcuReadLock();
      return m.sched.scheduleTimeout(t, 1000);
    });
    expect(() => m.sched.runUntilIdle()).toThrow(/voluntary context switch/);
  });

  it('without PREEMPT_RT a step that ends inside a reader is a preempt leak', () => {
    const m = createMachine();
    m.sched.kthreadRun('bad', 0, () => {
      m.rcu.rcuReadLock();
      return SCHED_AGAIN;
    });
    expect(() => m.sched.runUntilIdle()).toThrow(LockdepError);
  });
});

describe('preemptible RCU property: preempted readers hold back the grace periods they predate', () => {
  type TOp = { k: 'task'; cpu: number; span: number } | { k: 'call'; cpu: number } | { k: 'run'; us: number };
  const top: fc.Arbitrary<TOp> = fc.oneof(
    fc.record({ k: fc.constant('task' as const), cpu: fc.nat(3), span: fc.integer({ min: 1, max: 300 }) }),
    fc.record({ k: fc.constant('call' as const), cpu: fc.nat(3) }),
    fc.record({ k: fc.constant('run' as const), us: fc.integer({ min: 1, max: 3000 }) }),
  );

  it('holds for random task readers spanning many steps', async () => {
    await fuzzAssert(
      fc.property(fc.array(top, { maxLength: 60 }), (ops) => {
        const m = createMachine({ preemptRt: true });
        const active = new Set<number>();
        let next = 0;
        let queued = 0;
        let invoked = 0;
        for (const o of ops) {
          if (o.k === 'task') {
            const id = next++;
            let steps = 0;
            m.sched.kthreadRun(`r${id}`, o.cpu, () => {
              if (steps === 0) {
                m.rcu.rcuReadLock();
                active.add(id);
              }
              m.account.charge(m.currentCpu, 20_000);
              if (steps++ < o.span) return SCHED_AGAIN;
              active.delete(id);
              m.rcu.rcuReadUnlock();
              return SCHED_EXIT;
            });
          } else if (o.k === 'call') {
            const predating = [...active];
            queued++;
            m.cpus.runOn(o.cpu, () =>
              m.rcu.callRcu(() => {
                for (const r of predating) if (active.has(r)) throw new Error(`callback ran inside reader r${r}`);
                invoked++;
              }, null),
            );
          } else {
            m.sched.runFor(o.us * 1000);
          }
          expect(m.rcu.validate()).toBe(null);
        }
        m.rcu.rcuBarrier();
        expect(invoked).toBe(queued);
      }),
      fuzzRuns(100),
    );
  });
});

describe('expedited grace periods', () => {
  it('complete without waiting for a tick, sending IPIs', () => {
    const m = createMachine();
    const t0 = m.clock.now;
    m.rcu.synchronizeRcuExpedited();
    expect(m.rcu.gpCompleted).toBe(1);
    expect(m.clock.now - t0).toBeLessThan(m.rcu.tickNs);
    expect(m.smp.totalSent()).toBe(3);
    expect(m.rcu.stats().expedited).toBe(1);
    const t1 = m.clock.now;
    m.rcu.synchronizeRcu();
    expect(m.clock.now - t1).toBeGreaterThanOrEqual(m.rcu.tickNs / 2);
  });

  it('wait for a preempted task reader that predates them, and end when it ends (PREEMPT_RT)', () => {
    const m = createMachine({ preemptRt: true });
    let steps = 0;
    let endedAt = -1;
    m.sched.kthreadRun('reader', 2, () => {
      if (steps === 0) m.rcu.rcuReadLock();
      m.account.charge(m.currentCpu, 10_000);
      if (steps++ < 30) return SCHED_AGAIN; // preempted inside the reader
      m.rcu.rcuReadUnlock();
      endedAt = m.clock.now;
      return SCHED_EXIT;
    });
    m.sched.runFor(5_000); // the reader is open and preempted
    let ran = false;
    m.rcu.callRcu(() => {
      ran = true;
    }, null);
    m.rcu.synchronizeRcuExpedited();
    expect(endedAt).toBeGreaterThanOrEqual(0);
    expect(m.rcu.gpCompleted).toBeGreaterThanOrEqual(1);
    expect(m.clock.now - endedAt).toBeLessThan(m.rcu.tickNs);
    expect(m.clock.now).toBeLessThan(m.rcu.tickNs); // no tick was needed
    m.rcu.rcuBarrier();
    expect(ran).toBe(true);
  });

  it('stall on a harness reader like synchronize_rcu', () => {
    const m = createMachine();
    m.cpus.runOn(1, () => m.rcu.rcuReadLock());
    expect(() => m.rcu.synchronizeRcuExpedited()).toThrow(RcuStallError);
  });
});
