/**
 * DOC: timers (`timer_list`) on the virtual clock.
 *
 * A timer is queued on the clock for its expiry time and bound to a CPU (the
 * CPU that armed it unless given). At expiry it moves to that CPU's expired
 * list and raises TIMER_SOFTIRQ there; the callback runs in softirq context
 * on that CPU as soon as the CPU can run softirqs (at once unless a test holds
 * the CPU with interrupts or bottom halves disabled). A timer whose CPU went
 * offline runs on the next online CPU (the model of `timers_dead_cpu()`
 * migrating the timer wheel). Times are absolute virtual ns, not jiffies.
 */

import { MmBugError, MmError } from '../errors.js';
import type { MachineCore } from '../types.js';
import { ClockEvent } from './clock.js';
import { TIMER_SOFTIRQ } from './cpu.js';

const TIMER_IDLE = 0;
const TIMER_QUEUED = 1;
const TIMER_EXPIRED = 2;

function fireTimer(ev: ClockEvent): void {
  const t = ev as TimerList;
  t.base!.expire(t);
}

/** A timer (the model of `struct timer_list`). */
export class TimerList extends ClockEvent {
  /** The callback, run in softirq context on the timer's CPU. */
  readonly fn: (timer: TimerList) => void;
  /** Absolute expiry time in virtual ns. */
  expires: number;
  /** CPU the timer runs on (-1 until armed). */
  cpu: number;
  /** Idle, queued on the clock, or expired and waiting for the softirq. */
  timerState: number;
  /** The timer subsystem it was armed on. */
  base: Timers | null;

  /** A timer that runs `fn` when it expires, not yet armed. @kernel timer_setup (include/linux/timer.h) */
  constructor(fn: (timer: TimerList) => void) {
    super(fireTimer);
    this.fn = fn;
    this.expires = 0;
    this.cpu = -1;
    this.timerState = TIMER_IDLE;
    this.base = null;
  }
}

/** The machine as the timer subsystem sees it: the core and its own `timers`. */
export interface TimersHost extends MachineCore {
  /** The machine's timers. */
  readonly timers: Timers;
}

/** The timer subsystem of a machine (`machine.timers`). */
export class Timers {
  /** Timer callbacks run so far. */
  nrExpired: number;
  private readonly machine: TimersHost;
  private readonly expired: TimerList[][];

  constructor(machine: TimersHost) {
    this.machine = machine;
    this.nrExpired = 0;
    this.expired = [];
    for (let c = 0; c < machine.topology.nrCpus; c++) this.expired.push([]);
    machine.cpus.openSoftirq(TIMER_SOFTIRQ, (cpu) => this.runTimerSoftirq(cpu));
  }

  /**
   * Arm `timer` at `timer.expires` on the current CPU.
   * @throws MmBugError when it is already pending.
   * @kernel add_timer (kernel/time/timer.c)
   */
  addTimer(timer: TimerList): void {
    this.addTimerOn(timer, this.machine.currentCpu);
  }

  /**
   * Arm `timer` at `timer.expires` on `cpu`.
   * @kernel add_timer_on (kernel/time/timer.c)
   */
  addTimerOn(timer: TimerList, cpu: number): void {
    this.machine.cpus.checkCpu(cpu, true);
    if (timer.timerState !== TIMER_IDLE) throw new MmBugError('timer: add_timer() of a pending timer');
    this.arm(timer, cpu, timer.expires);
  }

  private arm(timer: TimerList, cpu: number, expires: number): void {
    if (!Number.isFinite(expires)) throw new MmError('EINVAL', `timer: expiry ${expires} is not finite`);
    timer.base = this;
    timer.cpu = cpu;
    timer.expires = expires;
    timer.timerState = TIMER_QUEUED;
    this.machine.clock.schedule(timer, expires);
  }

  /**
   * Re-arm `timer` at `expiresNs` (on its CPU, or the current CPU if idle);
   * returns 1 when it was pending, 0 otherwise.
   * @kernel mod_timer (kernel/time/timer.c)
   */
  modTimer(timer: TimerList, expiresNs: number): number {
    const was = this.delTimer(timer);
    this.arm(
      timer,
      timer.cpu >= 0 && this.machine.cpus.online[timer.cpu] === 1 ? timer.cpu : this.machine.currentCpu,
      expiresNs,
    );
    return was;
  }

  /**
   * Deactivate `timer`; returns 1 when it was pending, 0 otherwise.
   * @kernel timer_delete (kernel/time/timer.c)
   */
  delTimer(timer: TimerList): number {
    if (timer.timerState === TIMER_QUEUED) {
      this.machine.clock.cancel(timer);
    } else if (timer.timerState === TIMER_EXPIRED) {
      const list = this.expired[timer.cpu]!;
      list.splice(list.indexOf(timer), 1);
    } else {
      return 0;
    }
    timer.timerState = TIMER_IDLE;
    return 1;
  }

  /** Whether `timer` is armed and has not fired yet. @kernel timer_pending (include/linux/timer.h) */
  timerPending(timer: TimerList): boolean {
    return timer.timerState !== TIMER_IDLE;
  }

  /** Called by the clock at expiry. */
  expire(timer: TimerList): void {
    const cpus = this.machine.cpus;
    let cpu = timer.cpu;
    if (cpus.online[cpu] === 0) cpu = timer.cpu = cpus.onlineCpus()[0]!;
    timer.timerState = TIMER_EXPIRED;
    this.expired[cpu]!.push(timer);
    cpus.raiseSoftirq(TIMER_SOFTIRQ, cpu);
    cpus.kickSoftirq(cpu);
  }

  private runTimerSoftirq(cpu: number): void {
    const list = this.expired[cpu]!;
    while (list.length > 0) {
      const t = list.shift()!;
      t.timerState = TIMER_IDLE;
      this.nrExpired++;
      t.fn(t);
    }
  }

  /** Move expired-but-not-run timers of a dead CPU to `to`. */
  takeOver(dead: number, to: number): void {
    const from = this.expired[dead]!;
    for (const t of from) {
      t.cpu = to;
      this.expired[to]!.push(t);
    }
    if (from.length > 0) this.machine.cpus.raiseSoftirq(TIMER_SOFTIRQ, to);
    from.length = 0;
  }
}
