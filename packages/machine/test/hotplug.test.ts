import { describe, expect, it } from 'vitest';
import { createMachine, EBUSY, EINVAL, ENOMEM, PerCpu, SCHED_AGAIN } from '../src/index.js';

describe('CPU hotplug', () => {
  it('runs callbacks in order on the right CPUs and flushes per-CPU state of the dead CPU', () => {
    const m = createMachine();
    const log: string[] = [];
    const cache = new PerCpu(m, () => [] as number[]);
    cache.get(3).push(1, 2, 3);
    const flushed: number[] = [];
    m.hotplug.cpuhpSetupState('slub:dead', 'prepare', null, (cpu) => {
      log.push(`dead ${cpu} on ${m.currentCpu} online=${m.cpus.online[cpu]}`);
      flushed.push(...cache.get(cpu).splice(0));
      return 0;
    });
    m.hotplug.cpuhpSetupState(
      'a:online',
      'online',
      (cpu) => {
        log.push(`a up ${cpu} on ${m.currentCpu}`);
        return 0;
      },
      (cpu) => {
        log.push(`a down ${cpu} on ${m.currentCpu}`);
        return 0;
      },
    );
    m.hotplug.cpuhpSetupState(
      'b:online',
      'online',
      (cpu) => {
        log.push(`b up ${cpu}`);
        return 0;
      },
      (cpu) => {
        log.push(`b down ${cpu}`);
        return 0;
      },
    );
    log.length = 0;
    expect(m.hotplug.cpuDown(3)).toBe(0);
    expect(log).toEqual(['b down 3', 'a down 3 on 3', 'dead 3 on 0 online=0']);
    expect(flushed).toEqual([1, 2, 3]);
    expect(m.cpus.nrOnline).toBe(3);
    expect(m.cpus.onlineCpus()).toEqual([0, 1, 2]);
    expect(m.hotplug.cpuDown(3)).toBe(0);
    log.length = 0;
    expect(m.hotplug.cpuUp(3)).toBe(0);
    expect(log).toEqual(['a up 3 on 3', 'b up 3']);
    expect(m.hotplug.cpuDown(9)).toBe(-EINVAL);
  });

  it('refuses the last CPU and a CPU in an atomic section', () => {
    const m = createMachine();
    m.cpus.runOn(1, () => m.rcu.rcuReadLock());
    expect(m.hotplug.cpuDown(1)).toBe(-EBUSY);
    m.cpus.runOn(1, () => m.rcu.rcuReadUnlock());
    expect(m.hotplug.cpuDown(1)).toBe(0);
    expect(m.hotplug.cpuDown(2)).toBe(0);
    expect(m.hotplug.cpuDown(3)).toBe(0);
    expect(m.hotplug.cpuDown(0)).toBe(-EBUSY);
    expect(() => m.cpus.runOn(2, () => 0)).toThrow(/offline/);
  });

  it('offlining the CPU the harness runs on moves the harness to the control CPU', () => {
    const m = createMachine();
    expect(m.currentCpu).toBe(0);
    expect(m.hotplug.cpuDown(0)).toBe(0);
    expect(m.currentCpu).toBe(1);
    let ran = -1;
    m.rcu.callRcu(() => {
      ran = m.currentCpu;
    }, 0);
    m.rcu.rcuBarrier();
    expect(ran).toBe(1);
    expect(m.hotplug.cpuUp(0)).toBe(0);
  });

  it('a failing teardown rolls back and leaves the CPU online', () => {
    const m = createMachine();
    const ups: number[] = [];
    m.hotplug.cpuhpSetupState(
      'x',
      'online',
      (cpu) => {
        ups.push(cpu);
        return 0;
      },
      () => 0,
    );
    const id = m.hotplug.cpuhpSetupState(
      'y',
      'online',
      () => 0,
      () => -EBUSY,
    );
    ups.length = 0;
    expect(m.hotplug.cpuDown(2)).toBe(-EBUSY);
    expect(m.cpus.online[2]).toBe(1);
    expect(ups).toEqual([]); // x was never torn down, so nothing to redo
    m.hotplug.cpuhpRemoveState(id);
    expect(m.hotplug.cpuDown(2)).toBe(0);
    // A failing startup when bringing it back leaves it offline.
    m.hotplug.cpuhpSetupStateNocalls('z', 'online', () => -ENOMEM, null);
    expect(m.hotplug.cpuUp(2)).toBe(-ENOMEM);
    expect(m.cpus.online[2]).toBe(0);
  });

  it('setup with a failing startup unwinds the CPUs already done', () => {
    const m = createMachine();
    const down: number[] = [];
    const r = m.hotplug.cpuhpSetupState(
      'bad',
      'online',
      (cpu) => (cpu === 2 ? -ENOMEM : 0),
      (cpu) => {
        down.push(cpu);
        return 0;
      },
    );
    expect(r).toBe(-ENOMEM);
    expect(down).toEqual([1, 0]);
  });

  it('tasks of the dead CPU move to online CPUs', () => {
    const m = createMachine();
    const cpus: number[] = [];
    let n = 0;
    m.sched.kthreadRun('t', 3, () => {
      cpus.push(m.currentCpu);
      return ++n < 5 ? SCHED_AGAIN : 2;
    });
    m.sched.runFor(1);
    expect(cpus).toEqual([3]);
    expect(m.hotplug.cpuDown(3)).toBe(0);
    m.sched.runUntilIdle();
    expect(n).toBe(5);
    expect(cpus.slice(1).every((c) => c !== 3)).toBe(true);
  });
});

describe('cpuDown with RCU callbacks queued (issue 9)', () => {
  it('keeps every CPU callback list in grace-period order, so validate() passes after a plain cpuDown', () => {
    // Before the fix, the dead CPU's callbacks were appended behind the
    // survivor's later ones ("callbacks on CPU n out of GP order").
    for (let k = 0; k < 12; k++) {
      const m = createMachine({ seed: k + 1, preset: k % 2 ? 'small' : 'server2s' });
      const rng = m.prng.stream('t');
      const n = m.topology.nrCpus;
      for (let i = 0; i < 30; i++) {
        const cpu = rng.below(n);
        if (m.cpus.online[cpu]) m.cpus.runOn(cpu, () => m.rcu.callRcu(() => {}, 0));
        if (rng.below(3) === 0) m.sched.runFor(rng.below(3_000_000));
        if (rng.below(5) === 0) {
          m.hotplug.cpuDown(rng.below(n));
          m.validate();
        }
        if (rng.below(7) === 0) m.hotplug.cpuUp(rng.below(n));
      }
      m.sched.runFor(50_000_000);
      m.validate();
    }
  });
});
