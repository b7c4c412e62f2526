import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMachine,
  DEFAULT_COSTS,
  EBUSY,
  EINVAL,
  MmError,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_MIN_STEP_NS,
  TASK_DEAD,
  TASK_INTERRUPTIBLE,
} from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

describe('deterministic scheduler', () => {
  it('runs tasks on their CPUs in parallel virtual time, round robin within a CPU', () => {
    const m = createMachine();
    const trace: string[] = [];
    for (const [name, cpu] of [
      ['a', 0],
      ['b', 0],
      ['c', 1],
    ] as const) {
      let n = 0;
      m.sched.kthreadRun(name, cpu, () => {
        trace.push(`${name}@${m.currentCpu}`);
        m.account.charge(m.currentCpu, 1000);
        return ++n < 3 ? SCHED_AGAIN : SCHED_EXIT;
      });
    }
    expect(m.sched.runUntilIdle()).toBe(true);
    expect(trace.filter((t) => t.endsWith('@0'))).toEqual(['a@0', 'b@0', 'a@0', 'b@0', 'a@0', 'b@0']);
    expect(trace.filter((t) => t.endsWith('@1'))).toEqual(['c@1', 'c@1', 'c@1']);
    // CPU 1 did half the work of CPU 0 in the same virtual time.
    expect(m.account.busyNs[1]).toBeLessThan(m.account.busyNs[0]!);
    expect(m.account.eventCount('contextSwitch')).toBe(m.sched.nrSwitches);
    expect(m.sched.tasks.filter((t) => !t.idle).every((t) => t.state === TASK_DEAD)).toBe(true);
  });

  it('is deterministic: the same inputs give the same trace and times', () => {
    const run = () => {
      const m = createMachine({ seed: 7 });
      const rng = m.prng.stream('test');
      const out: string[] = [];
      for (let i = 0; i < 6; i++) {
        let n = 0;
        m.sched.kthreadRun(`t${i}`, i % 4, (t) => {
          out.push(`${t.name}:${m.clock.now}`);
          m.account.charge(m.currentCpu, rng.below(5000));
          if (++n % 3 === 0) return m.sched.scheduleTimeout(t, rng.below(100_000));
          return n < 10 ? SCHED_AGAIN : SCHED_EXIT;
        });
      }
      m.sched.runUntilIdle();
      return out.join(',');
    };
    expect(run()).toBe(run());
  });

  it('schedule_timeout sleeps in virtual time; periodic kthreads run every period', () => {
    const m = createMachine();
    const runs: number[] = [];
    const kswapd = m.sched.kthreadRunPeriodic('kswapd0', 0, 100_000_000, () => {
      runs.push(m.clock.now);
      return undefined;
    });
    m.sched.runUntil(450_000_000);
    expect(runs.length).toBe(5);
    for (let i = 1; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBeGreaterThanOrEqual(100_000_000);
    expect(kswapd.state).toBe(TASK_INTERRUPTIBLE);
    m.sched.kthreadStop(kswapd);
    m.sched.runFor(1000);
    expect(kswapd.state).toBe(TASK_DEAD);
    expect(m.sched.runUntilIdle()).toBe(true);
    expect(() => m.sched.kthreadRunPeriodic('x', 0, 0, () => undefined)).toThrow(MmError);
  });

  it('charges at least the minimum step and a context switch per task change', () => {
    const m = createMachine();
    m.sched.kthreadRun('t', 2, () => SCHED_EXIT);
    m.sched.runUntilIdle();
    expect(m.account.busyNs[2]).toBe(DEFAULT_COSTS.contextSwitch + SCHED_MIN_STEP_NS);
  });

  it('a CPU held atomic by the harness runs no task until released', () => {
    const m = createMachine();
    let ran = false;
    m.cpus.runOn(1, () => m.cpus.preemptDisable());
    m.sched.kthreadRun('t', 1, () => {
      ran = true;
      return SCHED_EXIT;
    });
    expect(m.sched.runUntilIdle(1_000_000)).toBe(false);
    expect(ran).toBe(false);
    m.cpus.runOn(1, () => m.cpus.preemptEnable());
    m.sched.runUntilIdle();
    expect(ran).toBe(true);
  });

  it('migrateTask moves queued and sleeping tasks, refusing pinned ones', () => {
    const m = createMachine();
    const where: number[] = [];
    let n = 0;
    const t = m.sched.kthreadRun('mover', 0, () => {
      where.push(m.currentCpu);
      return ++n < 3 ? SCHED_AGAIN : SCHED_EXIT;
    });
    expect(m.sched.migrateTask(t, 2)).toBe(0);
    expect(m.sched.validate()).toBe(null);
    m.sched.runUntilIdle();
    expect(where).toEqual([2, 2, 2]);
    const s = m.sched.kthreadCreate('sleeper', 1, () => SCHED_EXIT);
    s.migrationDisabled = 1;
    expect(m.sched.migrateTask(s, 3)).toBe(-EBUSY);
    s.migrationDisabled = 0;
    expect(m.sched.migrateTask(s, 3)).toBe(0);
    m.sched.wakeUpProcess(s);
    expect(m.sched.nrRunning(3)).toBe(1);
    expect(m.sched.migrateTask(m.sched.tasks[0]!, 1)).toBe(-EBUSY);
    m.hotplug.cpuDown(1);
    expect(m.sched.migrateTask(s, 1)).toBe(-EINVAL);
  });

  it('a task step cannot drive the machine (no nested event loops)', () => {
    const m = createMachine();
    let err: unknown = null;
    m.sched.kthreadRun('nested', 0, () => {
      try {
        m.sched.runFor(1000);
      } catch (e) {
        err = e;
      }
      return SCHED_EXIT;
    });
    m.sched.runUntilIdle();
    expect((err as MmError).code).toBe('EDEADLK');
  });

  it('wake_up_process returns 1 only for sleeping tasks', () => {
    const m = createMachine();
    const t = m.sched.kthreadCreate('t', 0, () => SCHED_EXIT);
    expect(m.sched.wakeUpProcess(t)).toBe(1);
    expect(m.sched.wakeUpProcess(t)).toBe(0);
    m.sched.runUntilIdle();
    expect(m.sched.wakeUpProcess(t)).toBe(0);
    expect(m.sched.wakeUpProcess(m.sched.tasks[0]!)).toBe(0);
  });
});

describe('scheduler property: run queues and the CPU heap stay consistent', () => {
  type SOp =
    | { k: 'spawn'; cpu: number; steps: number; sleepUs: number }
    | { k: 'down'; cpu: number }
    | { k: 'up'; cpu: number }
    | { k: 'atomic'; cpu: number }
    | { k: 'charge'; cpu: number; us: number }
    | { k: 'run'; us: number };
  const sop: fc.Arbitrary<SOp> = fc.oneof(
    fc.record({
      k: fc.constant('spawn' as const),
      cpu: fc.nat(7),
      steps: fc.integer({ min: 1, max: 20 }),
      sleepUs: fc.nat(50),
    }),
    fc.record({ k: fc.constant('down' as const), cpu: fc.nat(7) }),
    fc.record({ k: fc.constant('up' as const), cpu: fc.nat(7) }),
    fc.record({ k: fc.constant('atomic' as const), cpu: fc.nat(7) }),
    fc.record({ k: fc.constant('charge' as const), cpu: fc.nat(7), us: fc.nat(100) }),
    fc.record({ k: fc.constant('run' as const), us: fc.integer({ min: 1, max: 200 }) }),
  );

  it('holds under spawning, sleeping, hotplug, atomic CPUs and foreign charges', async () => {
    await fuzzAssert(
      fc.property(fc.array(sop, { maxLength: 80 }), (ops) => {
        const m = createMachine({ nodes: [{ memoryBytes: 128 * 1024 * 1024, cpus: 8 }] });
        const atomic = new Set<number>();
        let spawned = 0;
        let exited = 0;
        const check = (): boolean => {
          expect(m.sched.validate()).toBe(null);
          return true;
        };
        for (const o of ops) {
          if (o.k === 'spawn') {
            if (m.cpus.online[o.cpu] === 0) continue;
            let left = o.steps;
            spawned++;
            m.sched.kthreadRun('t', o.cpu, (t) => {
              m.account.charge(m.currentCpu, 1000);
              if (--left <= 0) {
                exited++;
                return SCHED_EXIT;
              }
              return left % 3 === 0 && o.sleepUs > 0 ? m.sched.scheduleTimeout(t, o.sleepUs * 1000) : SCHED_AGAIN;
            });
          } else if (o.k === 'down') {
            m.hotplug.cpuDown(o.cpu);
          } else if (o.k === 'up') {
            m.hotplug.cpuUp(o.cpu);
          } else if (o.k === 'atomic') {
            if (m.cpus.online[o.cpu] === 0) continue;
            if (atomic.has(o.cpu)) {
              atomic.delete(o.cpu);
              m.cpus.runOn(o.cpu, () => m.cpus.preemptEnable());
            } else {
              atomic.add(o.cpu);
              m.cpus.runOn(o.cpu, () => m.cpus.preemptDisable());
            }
          } else if (o.k === 'charge') {
            m.account.charge(o.cpu, o.us * 1000);
          } else {
            m.sched.runWhile(check, m.clock.now + o.us * 1000);
          }
          check();
        }
        for (const c of atomic) m.cpus.runOn(c, () => m.cpus.preemptEnable());
        m.sched.runWhile(check, 1e12);
        expect(exited).toBe(spawned);
      }),
      fuzzRuns(100),
    );
  });
});
