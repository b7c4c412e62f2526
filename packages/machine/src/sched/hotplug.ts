/**
 * DOC: CPU hotplug: the cpuhp state machine reduced to two sections.
 *
 * Subsystems register states with a startup and a teardown callback
 * (`cpuhpSetupState`). States of the `prepare` section run on a control CPU:
 * startup before the new CPU comes online, teardown after a CPU is dead
 * (where slab flushes the dead CPU's per-CPU caches, `slub_cpu_dead`).
 * States of the `online` section run on the hotplugged CPU itself: startup
 * once it is online, teardown before it goes. Startups run in registration
 * order, teardowns in reverse. A failing online teardown or any failing
 * startup rolls back the states already done and leaves the CPU as it was.
 * Taking a CPU down migrates its tasks, timers, softirqs and RCU callbacks;
 * it is refused (-EBUSY) for the last online CPU and for a CPU that is in
 * an atomic section or has tasks pinned by `migrate_disable()`.
 */
import { EBUSY, EINVAL, MmError } from '../errors.js';
import type { MachineCore } from '../types.js';
import type { Timers } from './timer.js';

/** A hotplug callback: returns 0 or a negative errno. */
export type CpuhpCallback = (cpu: number) => number;

/** The section a state belongs to. */
export type CpuhpSection = 'prepare' | 'online';

interface CpuhpState {
  readonly id: number;
  readonly name: string;
  readonly section: CpuhpSection;
  readonly startup: CpuhpCallback | null;
  readonly teardown: CpuhpCallback | null;
}

/** The machine as CPU hotplug sees it: the core and the timers it migrates. */
export interface HotplugHost extends MachineCore {
  /** Timers, migrated off a CPU going down. */
  readonly timers: Timers;
}

/** CPU hotplug of a machine (`machine.hotplug`). */
export class Hotplug {
  /** Successful offline / online operations. */
  nrDown: number;
  /** Successful online operations. */
  nrUp: number;
  private readonly machine: HotplugHost;
  private states: CpuhpState[];
  private nextId: number;

  constructor(machine: HotplugHost) {
    this.machine = machine;
    this.states = [];
    this.nextId = 0;
    this.nrDown = 0;
    this.nrUp = 0;
  }

  private ordered(section: CpuhpSection): CpuhpState[] {
    return this.states.filter((s) => s.section === section);
  }

  private call(fn: CpuhpCallback | null, runCpu: number, cpu: number): number {
    if (fn === null) return 0;
    return this.machine.cpus.runOn(runCpu, () => fn(cpu));
  }

  private controlCpu(not: number): number {
    const m = this.machine;
    if (m.currentCpu !== not && m.cpus.online[m.currentCpu] === 1) return m.currentCpu;
    for (const c of m.cpus.onlineCpus()) if (c !== not) return c;
    return not;
  }

  /**
   * Register a hotplug state and run `startup` for every online CPU (in CPU
   * order). Returns the state id (>= 0), or the negative errno of the first
   * failing startup after tearing down the CPUs already set up.
   * @kernel cpuhp_setup_state (include/linux/cpuhotplug.h)
   */
  cpuhpSetupState(
    name: string,
    section: CpuhpSection,
    startup: CpuhpCallback | null,
    teardown: CpuhpCallback | null,
  ): number {
    if (section !== 'prepare' && section !== 'online') {
      throw new MmError('EINVAL', `cpuhp: unknown section ${String(section)} for state ${name}`);
    }
    const st: CpuhpState = { id: this.nextId++, name, section, startup, teardown };
    const done: number[] = [];
    for (const cpu of this.machine.cpus.onlineCpus()) {
      const runCpu = section === 'online' ? cpu : this.controlCpu(-1);
      const err = this.call(startup, runCpu, cpu);
      if (err !== 0) {
        for (let i = done.length - 1; i >= 0; i--) {
          const c = done[i]!;
          this.call(teardown, section === 'online' ? c : this.controlCpu(-1), c);
        }
        return err < 0 ? err : -EINVAL;
      }
      done.push(cpu);
    }
    this.states.push(st);
    return st.id;
  }

  /**
   * Register a state without calling anything now.
   * @kernel cpuhp_setup_state_nocalls (include/linux/cpuhotplug.h)
   */
  cpuhpSetupStateNocalls(
    name: string,
    section: CpuhpSection,
    startup: CpuhpCallback | null,
    teardown: CpuhpCallback | null,
  ): number {
    const st: CpuhpState = { id: this.nextId++, name, section, startup, teardown };
    this.states.push(st);
    return st.id;
  }

  /**
   * Run the teardown of state `id` for every online CPU and unregister it.
   * @kernel cpuhp_remove_state (include/linux/cpuhotplug.h)
   */
  cpuhpRemoveState(id: number): void {
    const i = this.states.findIndex((s) => s.id === id);
    if (i < 0) throw new MmError('ENOENT', `cpuhp: no state ${id}`);
    const st = this.states[i]!;
    const cpus = this.machine.cpus.onlineCpus();
    for (let j = cpus.length - 1; j >= 0; j--) {
      const c = cpus[j]!;
      this.call(st.teardown, st.section === 'online' ? c : this.controlCpu(-1), c);
    }
    this.states.splice(i, 1);
  }

  /**
   * Take `cpu` offline. Returns 0 (also when already offline), -EINVAL for
   * an unknown CPU, -EBUSY when it is the last online CPU or cannot be
   * emptied now, or the error of a failing teardown (after rollback).
   * @kernel cpu_down (kernel/cpu.c)
   */
  cpuDown(cpu: number): number {
    const m = this.machine;
    const cpus = m.cpus;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cpus.nrCpus) return -EINVAL;
    if (cpus.online[cpu] === 0) return 0;
    if (cpus.nrOnline === 1) return -EBUSY;
    if (!cpus.schedulable(cpu) || m.sched.pinnedTasks(cpu).length > 0) return -EBUSY;
    const online = this.ordered('online');
    for (let i = online.length - 1; i >= 0; i--) {
      const err = this.call(online[i]!.teardown, cpu, cpu);
      if (err !== 0) {
        for (let j = i + 1; j < online.length; j++) this.call(online[j]!.startup, cpu, cpu);
        return err < 0 ? err : -EBUSY;
      }
    }
    const control = this.controlCpu(cpu);
    cpus.setOnline(cpu, false);
    // Code running on the dying CPU (the harness itself) moves to the control CPU.
    if (m.currentCpu === cpu) m.currentCpu = control;
    m.sched.migrateTasksOff(cpu);
    m.rcu.cpuDead(cpu, control);
    m.timers.takeOver(cpu, control);
    cpus.takeOverSoftirqs(cpu, control);
    const prepare = this.ordered('prepare');
    for (let i = prepare.length - 1; i >= 0; i--) {
      const st = prepare[i]!;
      const err = this.call(st.teardown, control, cpu);
      m.warnOn(err !== 0, `cpuhp: teardown of ${st.name} for dead CPU ${cpu} failed (${err})`);
    }
    cpus.kickSoftirq(control);
    this.nrDown++;
    return 0;
  }

  /**
   * Bring `cpu` online. Returns 0 (also when already online), -EINVAL for
   * an unknown CPU, or the error of a failing startup (after rollback).
   * @kernel cpu_up (kernel/cpu.c)
   */
  cpuUp(cpu: number): number {
    const m = this.machine;
    const cpus = m.cpus;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cpus.nrCpus) return -EINVAL;
    if (cpus.online[cpu] === 1) return 0;
    const control = this.controlCpu(cpu);
    const prepare = this.ordered('prepare');
    for (let i = 0; i < prepare.length; i++) {
      const err = this.call(prepare[i]!.startup, control, cpu);
      if (err !== 0) {
        for (let j = i - 1; j >= 0; j--) this.call(prepare[j]!.teardown, control, cpu);
        return err < 0 ? err : -EINVAL;
      }
    }
    cpus.setOnline(cpu, true);
    // The CPU starts idle and in sync with the rest of the machine.
    m.clock.cpuNs[cpu] = Math.max(m.clock.cpuNs[cpu]!, m.clock.now);
    const online = this.ordered('online');
    for (let i = 0; i < online.length; i++) {
      const err = this.call(online[i]!.startup, cpu, cpu);
      if (err !== 0) {
        for (let j = i - 1; j >= 0; j--) this.call(online[j]!.teardown, cpu, cpu);
        cpus.setOnline(cpu, false);
        for (let j = prepare.length - 1; j >= 0; j--) this.call(prepare[j]!.teardown, control, cpu);
        return err < 0 ? err : -EINVAL;
      }
    }
    this.nrUp++;
    return 0;
  }
}
