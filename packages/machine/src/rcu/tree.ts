/**
 * DOC: RCU (tree RCU semantics, consolidated flavours).
 *
 * Readers: `rcuReadLock`/`rcuReadUnlock` nest per CPU (a counter in an
 * `Int32Array` for the context running there); regions with preemption,
 * bottom halves or interrupts disabled are read-side sections too, as in the
 * consolidated kernel RCU. Without PREEMPT_RT a task step must not end inside
 * a reader (non-preemptible RCU). With PREEMPT_RT the machine has
 * CONFIG_PREEMPT_RCU: a task may be preempted inside a reader (its step
 * returns SCHED_AGAIN); the CPU still passes its quiescent state, and the
 * task becomes a blocked reader that holds back every grace period that
 * started after its reader began, until its outermost `rcuReadUnlock`.
 * Sleeping voluntarily inside a reader is an error in both flavours.
 *
 * Grace periods: a grace period starts with every online CPU owing a
 * quiescent state (`qsPending`). A CPU reports one at a context switch
 * (end of a scheduler step) or at an RCU tick when it is not inside a
 * read-side section; offline CPUs are excluded, and a CPU going offline
 * reports. When no CPU owes a quiescent state the grace period ends. Ticks
 * come from one clock event every {@link Rcu.tickNs} (the scheduler-clock
 * interrupt plus the grace-period kthread folded together), armed only while
 * RCU has work so an idle machine has no events.
 *
 * Callbacks: `callRcu(fn, arg)` queues on the current CPU with the number of
 * the first grace period that starts after it (so every reader running at
 * the time of the call has finished before it runs). After that grace period
 * the CPU's RCU softirq invokes its ready callbacks in queueing order. CPUs
 * can be offloaded (`rcuNocbs`, the model of `rcu_nocbs=` and of Android's
 * restriction of callback processing to some CPUs): their callbacks are
 * invoked by an `rcuo` kthread running on a housekeeping CPU, in task context
 * with bottom halves disabled, while grace periods are unaffected.
 *
 * Waiting: `synchronizeRcu()` and `rcuBarrier()` drive the machine's event
 * loop from the harness context; a task step uses the polling API
 * (`startPollSynchronizeRcu` + `sleepUntilGp`). A grace period blocked for
 * {@link Rcu.stallTimeoutNs} is reported as a stall (a warning; the
 * synchronous waiters throw {@link RcuStallError}).
 */

import type { CostAccount } from '../cost-account.js';
import { InvalidArgumentError, MmError } from '../errors.js';
import type { MightSleepHost } from '../locking/lockdep.js';
import { LockdepError, mightSleep } from '../locking/lockdep.js';
import type { Clock } from '../sched/clock.js';
import { ClockEvent } from '../sched/clock.js';
import type { Cpus } from '../sched/cpu.js';
import { RCU_SOFTIRQ } from '../sched/cpu.js';
import { SCHED_AGAIN, SCHED_SLEEP, type Sched, TASK_INTERRUPTIBLE, type Task } from '../sched/sched.js';
import type { Topology } from '../topology.js';

/** A grace period could not complete: some CPU stayed in a read-side section (an RCU CPU stall). */
export class RcuStallError extends MmError {
  /** CPUs that still owed a quiescent state. */
  readonly cpus: readonly number[];

  /** Preempted readers (task names) that held it back. */
  readonly tasks: readonly string[];

  constructor(what: string, cpus: readonly number[], tasks: readonly string[] = []) {
    super(
      'EDEADLK',
      `rcu: ${what} stalled: CPUs {${cpus.join(',')}} did not pass a quiescent state${tasks.length > 0 ? `; preempted readers: ${tasks.join(', ')}` : ''}`,
    );
    this.cpus = cpus;
    this.tasks = tasks;
  }
}

/** RCU counters. */
export interface RcuStats {
  /** Grace periods completed. */
  readonly gpCompleted: number;
  /** Callbacks queued by `call_rcu()`. */
  readonly cbsQueued: number;
  /** Callbacks invoked. */
  readonly cbsInvoked: number;
  /** Longest time from callRcu() to invocation, in virtual ns. */
  readonly maxLatencyNs: number;
  /** Longest grace period, in virtual ns. */
  readonly maxGpNs: number;
  /** Stall warnings issued. */
  readonly stalls: number;
  /** Expedited grace-period requests. */
  readonly expedited: number;
}

/** {@link Rcu.toJSON}. */
export interface RcuState extends RcuStats {
  /** Grace periods started. */
  readonly gpStarted: number;
  /** Whether a grace period is running. */
  readonly gpInProgress: boolean;
  /** Preemptible RCU (PREEMPT_RT): readers may be preempted. */
  readonly preemptible: boolean;
  /** CPUs that still owe a quiescent state to the current grace period. */
  readonly blockingCpus: readonly number[];
  /** Names of preempted readers holding back the current grace period. */
  readonly blockingTasks: readonly string[];
  /** Callbacks queued and not yet invoked, per CPU. */
  readonly callbacksPending: readonly number[];
  /** Per CPU, whether its callbacks are offloaded to rcuo kthreads (`rcu_nocbs=`). */
  readonly offloaded: readonly boolean[];
  /** Callbacks invoked, by the CPU that ran them. */
  readonly invokedOnCpu: readonly number[];
}

type Callback = (arg: unknown) => void;

/** The machine as RCU sees it (declared here: RCU sits above the scheduler, CPUs and lockdep). */
export interface RcuHost extends MightSleepHost {
  /** Machine configuration RCU reads. */
  readonly config: {
    /** `CONFIG_PREEMPT_RT`: preemptible RCU. */
    readonly preemptRt: boolean;
  };
  /** Number of CPUs. */
  readonly topology: Pick<Topology, 'nrCpus'>;
  readonly clock: Clock;
  readonly account: CostAccount;
  readonly cpus: Cpus;
  readonly sched: Sched;
  /** IPI counters of expedited grace periods. */
  readonly smp: {
    /** IPIs sent, per sending CPU. */
    readonly sent: Float64Array;
    /** Calls received, per target CPU. */
    readonly received: Float64Array;
  };
  /** Record `message` when `cond` holds; returns `cond`. @kernel WARN_ON */
  warnOn(cond: boolean, message: string): boolean;
}

/** RCU of one machine (`machine.rcu`). */
export class Rcu {
  /** `rcu_read_lock()` nesting of the context running on each CPU. */
  readonly nesting: Int32Array;
  /**
   * CONFIG_PREEMPT_RCU (on with PREEMPT_RT): a task may be preempted inside a
   * reader; it is then tracked as a blocked reader that holds back every
   * grace period that started after its reader began.
   */
  readonly preemptible: boolean;
  /** 1 while the CPU owes a quiescent state to the current grace period. */
  readonly qsPending: Uint8Array;
  /** 1 when the CPU's callbacks are offloaded to rcuo kthreads. */
  readonly offloaded: Uint8Array;
  /** Callbacks invoked, by the CPU that ran them. */
  readonly invokedOnCpu: Float64Array;
  /** Virtual ns between RCU ticks (1 ms: HZ=1000). */
  tickNs: number;
  /** Grace-period age after which a stall is reported (the kernel's 21 s). */
  stallTimeoutNs: number;
  /** Number of the last grace period started. */
  gpStarted: number;
  /** Number of the last grace period completed. */
  gpCompleted: number;
  /** True while a grace period is in progress. */
  gpInProgress: boolean;
  private readonly machine: RcuHost;
  private nrQsPending: number;
  private gpRequested: number;
  private gpStartNs: number;
  private stallReported: boolean;
  private readonly tick: ClockEvent;
  /** Expedited grace periods in flight: GP number to expedite up to (0 = none). */
  private expediteUntil: number;
  private readonly expEvent: ClockEvent;
  private nrExpedited: number;
  private readonly cbFns: Callback[][];
  private readonly cbArgs: unknown[][];
  private readonly cbGp: number[][];
  private readonly cbTime: number[][];
  private readonly cbHead: Int32Array;
  private readonly queuedOn: Float64Array;
  private readonly doneOn: Float64Array;
  private housekeeping: number[];
  private readonly rcuo: Map<number, Task>;
  private readonly gpWaiters: Task[];
  /** Preemptible RCU: grace periods started when the running context's outermost reader began. */
  private readonly entryGp: Float64Array;
  /** Preemptible RCU: tasks preempted inside a reader. */
  private readonly blockedReaders: Task[];
  private readonly gpWaiterCookies: number[];
  private cbsQueued: number;
  private cbsInvoked: number;
  private maxLatencyNs: number;
  private maxGpNs: number;
  private stalls: number;

  constructor(machine: RcuHost) {
    const n = machine.topology.nrCpus;
    this.machine = machine;
    this.nesting = new Int32Array(n);
    this.preemptible = machine.config.preemptRt;
    this.entryGp = new Float64Array(n);
    this.blockedReaders = [];
    this.qsPending = new Uint8Array(n);
    this.offloaded = new Uint8Array(n);
    this.invokedOnCpu = new Float64Array(n);
    this.tickNs = 1_000_000;
    this.stallTimeoutNs = 21_000_000_000;
    this.gpStarted = 0;
    this.gpCompleted = 0;
    this.gpInProgress = false;
    this.nrQsPending = 0;
    this.gpRequested = 0;
    this.gpStartNs = 0;
    this.stallReported = false;
    this.tick = new ClockEvent(() => this.onTick());
    this.expediteUntil = 0;
    this.expEvent = new ClockEvent(() => this.expediteStep());
    this.nrExpedited = 0;
    this.cbFns = [];
    this.cbArgs = [];
    this.cbGp = [];
    this.cbTime = [];
    for (let c = 0; c < n; c++) {
      this.cbFns.push([]);
      this.cbArgs.push([]);
      this.cbGp.push([]);
      this.cbTime.push([]);
    }
    this.cbHead = new Int32Array(n);
    this.queuedOn = new Float64Array(n);
    this.doneOn = new Float64Array(n);
    this.housekeeping = [];
    this.rcuo = new Map();
    this.gpWaiters = [];
    this.gpWaiterCookies = [];
    this.cbsQueued = 0;
    this.cbsInvoked = 0;
    this.maxLatencyNs = 0;
    this.maxGpNs = 0;
    this.stalls = 0;
    machine.cpus.openSoftirq(RCU_SOFTIRQ, (cpu) => this.doBatch(cpu));
  }

  // --- readers ---

  /** Enter an RCU read-side critical section on the current CPU (nests) @kernel rcu_read_lock (include/linux/rcupdate.h) */
  rcuReadLock(): void {
    const cpu = this.machine.currentCpu;
    const n = this.nesting[cpu]!;
    if (n === 0) this.entryGp[cpu] = this.gpStarted;
    this.nesting[cpu] = n + 1;
  }

  /**
   * Leave an RCU read-side critical section on the current CPU.
   * @throws LockdepError `bad-unlock` without a matching rcuReadLock.
   * @kernel rcu_read_unlock (include/linux/rcupdate.h)
   */
  rcuReadUnlock(): void {
    const cpu = this.machine.currentCpu;
    const n = this.nesting[cpu]!;
    if (n === 0) throw new LockdepError('bad-unlock', 'rcu_read_lock', `rcu_read_unlock() imbalance on CPU ${cpu}`);
    this.nesting[cpu] = n - 1;
    if (n === 1 && this.expediteUntil > this.gpCompleted) this.kickExpedited();
    if (n === 1 && this.blockedReaders.length > 0) {
      // A reader that was preempted ends: it no longer blocks grace periods.
      const i = this.blockedReaders.indexOf(this.machine.sched.current(cpu));
      if (i >= 0) this.blockedReaders.splice(i, 1);
    }
  }

  /** Scheduler hook: task `t` starts a step on `cpu` (preemptible RCU restores its reader). */
  switchIn(cpu: number, t: Task): void {
    if (!this.preemptible || t.rcuNesting === 0) return;
    this.nesting[cpu] = t.rcuNesting;
    this.entryGp[cpu] = t.rcuEntryGp;
  }

  /**
   * Scheduler hook: task `t` leaves `cpu`. Under preemptible RCU a task
   * preempted inside a reader is saved and queued as a blocked reader.
   * @kernel rcu_note_context_switch (kernel/rcu/tree_plugin.h rcu_preempt_ctxt_queue)
   */
  switchOut(cpu: number, t: Task): void {
    if (!this.preemptible) return;
    const n = this.nesting[cpu]!;
    t.rcuNesting = n;
    t.rcuEntryGp = this.entryGp[cpu]!;
    if (n !== 0) {
      if (this.blockedReaders.indexOf(t) < 0) this.blockedReaders.push(t);
      this.nesting[cpu] = 0;
    }
  }

  /** Preemptible RCU: true when a preempted reader began before grace period `gp` started. */
  private blockedBy(gp: number): boolean {
    for (let i = 0; i < this.blockedReaders.length; i++) {
      if (this.blockedReaders[i]!.rcuEntryGp < gp) return true;
    }
    return false;
  }

  /** Names of preempted readers holding back the current grace period. */
  blockingTasks(): string[] {
    const out: string[] = [];
    for (const t of this.blockedReaders) if (t.rcuEntryGp < this.gpStarted) out.push(t.name);
    return out;
  }

  /**
   * True inside any kind of RCU read-side section on the current CPU.
   * @kernel rcu_read_lock_any_held (kernel/rcu/update.c)
   */
  rcuReadLockHeld(): boolean {
    const cpu = this.machine.currentCpu;
    return this.nesting[cpu] !== 0 || this.machine.cpus.preemptCount[cpu] !== 0 || this.machine.cpus.irqsOff[cpu] === 1;
  }

  /**
   * Read an RCU-protected value; lockdep-RCU checks that a reader is open.
   * @throws LockdepError `suspicious-rcu-usage` outside a read-side section.
   * @kernel rcu_dereference (include/linux/rcupdate.h)
   */
  rcuDereference<T>(p: T): T {
    if (this.machine.lockdep.enabled && !this.rcuReadLockHeld()) {
      throw new LockdepError(
        'suspicious-rcu-usage',
        'rcu_read_lock',
        `suspicious rcu_dereference_check() usage on CPU ${this.machine.currentCpu}: no rcu_read_lock() held`,
      );
    }
    return p;
  }

  /** True when `cpu` is outside every read-side section right now. */
  private quiescent(cpu: number): boolean {
    const cpus = this.machine.cpus;
    return this.nesting[cpu] === 0 && cpus.preemptCount[cpu] === 0 && cpus.irqsOff[cpu] === 0;
  }

  // --- grace periods ---

  private reportQs(cpu: number): void {
    if (this.qsPending[cpu] === 1) {
      this.qsPending[cpu] = 0;
      this.nrQsPending--;
    }
  }

  /** A context switch on `cpu` (called by the scheduler): a quiescent state. */
  noteContextSwitch(cpu: number): void {
    if (this.gpInProgress && this.qsPending[cpu] === 1 && this.quiescent(cpu)) {
      this.reportQs(cpu);
      if (this.expediteUntil > this.gpCompleted) this.kickExpedited();
    }
  }

  private kickExpedited(): void {
    if (!this.expEvent.queued) this.machine.clock.schedule(this.expEvent, this.machine.clock.now);
  }

  /**
   * One round of the expedited machinery: every online CPU owing a quiescent
   * state is sent an IPI and reports at once unless it is inside a reader
   * (it then reports when the reader ends); the grace period ends as soon as
   * nothing holds it back, and the next requested one starts at once.
   * @kernel rcu_exp_handler / rcu_report_exp_rdp (kernel/rcu/tree_exp.h)
   */
  private expediteStep(): void {
    const m = this.machine;
    const cpus = m.cpus;
    for (let round = 0; round < 2 && this.expediteUntil > this.gpCompleted; round++) {
      if (!this.gpInProgress) {
        if (this.gpRequested <= this.gpCompleted) return;
        this.startGp();
      }
      const from = m.currentCpu;
      for (let c = 0; c < cpus.nrCpus; c++) {
        if (this.qsPending[c] !== 1) continue;
        if (c !== from && cpus.online[c] === 1) {
          m.smp.sent[from]!++;
          m.smp.received[c]!++;
          m.account.chargeEvent(from, 'ipi', 1);
        }
        if (cpus.online[c] === 0 || this.quiescent(c)) this.reportQs(c);
      }
      if (this.nrQsPending !== 0 || this.blockedBy(this.gpStarted)) return;
      this.endGp();
    }
  }

  private requestGp(n: number): void {
    if (n > this.gpRequested) this.gpRequested = n;
    this.armTick();
  }

  private armTick(): void {
    if (this.tick.queued) return;
    const clock = this.machine.clock;
    const next = (Math.floor(clock.now / this.tickNs) + 1) * this.tickNs;
    clock.schedule(this.tick, next);
  }

  private onTick(): void {
    const cpus = this.machine.cpus;
    const now = this.machine.clock.now;
    if (this.gpInProgress) {
      for (let c = 0; c < cpus.nrCpus; c++) {
        if (this.qsPending[c] === 1 && (cpus.online[c] === 0 || this.quiescent(c))) this.reportQs(c);
      }
      if (this.nrQsPending === 0 && !this.blockedBy(this.gpStarted)) this.endGp();
      else if (!this.stallReported && now - this.gpStartNs >= this.stallTimeoutNs) {
        this.stallReported = true;
        this.stalls++;
        this.machine.warnOn(
          true,
          `rcu: INFO: rcu_${this.preemptible ? 'preempt' : 'sched'} detected stalls on CPUs/tasks: {${this.blockingCpus().join(',')}} [${this.blockingTasks().join(',')}]`,
        );
      }
    }
    if (!this.gpInProgress && this.gpRequested > this.gpCompleted) this.startGp();
    if (this.gpInProgress || this.gpRequested > this.gpCompleted) this.armTick();
  }

  private startGp(): void {
    const cpus = this.machine.cpus;
    this.gpStarted++;
    this.gpInProgress = true;
    this.gpStartNs = this.machine.clock.now;
    this.stallReported = false;
    let n = 0;
    for (let c = 0; c < cpus.nrCpus; c++) {
      const on = cpus.online[c]!;
      this.qsPending[c] = on;
      n += on;
    }
    this.nrQsPending = n;
  }

  private endGp(): void {
    const m = this.machine;
    this.gpCompleted = this.gpStarted;
    this.gpInProgress = false;
    const len = m.clock.now - this.gpStartNs;
    if (len > this.maxGpNs) this.maxGpNs = len;
    // Wake tasks polling for this grace period.
    for (let i = 0; i < this.gpWaiters.length; ) {
      if (this.gpWaiterCookies[i]! <= this.gpCompleted) {
        const t = this.gpWaiters[i]!;
        this.gpWaiters.splice(i, 1);
        this.gpWaiterCookies.splice(i, 1);
        m.sched.wakeUpProcess(t);
      } else {
        i++;
      }
    }
    // Invoke ready callbacks: RCU softirq on their CPU, or the rcuo kthread for offloaded CPUs.
    const cpus = m.cpus;
    for (let c = 0; c < cpus.nrCpus; c++) {
      if (!this.hasReady(c)) continue;
      if (this.offloaded[c] === 1) {
        m.sched.wakeUpProcess(this.rcuoFor(c));
      } else {
        cpus.raiseSoftirq(RCU_SOFTIRQ, c);
        cpus.kickSoftirq(c);
      }
    }
  }

  /** CPUs that still owe a quiescent state to the current grace period. */
  blockingCpus(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.qsPending.length; c++) if (this.qsPending[c] === 1) out.push(c);
    return out;
  }

  // --- callbacks ---

  /**
   * Queue `fn(arg)` to run after a grace period, on the current CPU's list.
   * @kernel call_rcu (kernel/rcu/tree.c)
   */
  callRcu<T>(fn: (arg: T) => void, arg: T): void {
    if (typeof fn !== 'function') throw new InvalidArgumentError('rcu', 'fn', `must be a function, got ${typeof fn}`);
    const cpu = this.machine.currentCpu;
    const gp = this.gpStarted + 1;
    this.cbFns[cpu]!.push(fn as Callback);
    this.cbArgs[cpu]!.push(arg);
    this.cbGp[cpu]!.push(gp);
    this.cbTime[cpu]!.push(this.machine.clock.cpuNow(cpu));
    this.queuedOn[cpu]!++;
    this.cbsQueued++;
    this.requestGp(gp);
  }

  private hasReady(cpu: number): boolean {
    const h = this.cbHead[cpu]!;
    const gps = this.cbGp[cpu]!;
    return h < gps.length && gps[h]! <= this.gpCompleted;
  }

  /** Callbacks queued on `cpu` and not yet invoked. */
  nrPending(cpu: number): number {
    return this.cbGp[cpu]!.length - this.cbHead[cpu]!;
  }

  /** Invoke the ready callbacks queued on CPU `q`, in order, on the current CPU. */
  private doBatch(q: number): void {
    const m = this.machine;
    const fns = this.cbFns[q]!;
    const args = this.cbArgs[q]!;
    const gps = this.cbGp[q]!;
    const times = this.cbTime[q]!;
    const runCpu = m.currentCpu;
    let h = this.cbHead[q]!;
    while (h < gps.length && gps[h]! <= this.gpCompleted) {
      const fn = fns[h]!;
      const arg = args[h];
      const lat = m.clock.cpuNow(runCpu) - times[h]!;
      if (lat > this.maxLatencyNs) this.maxLatencyNs = lat;
      fns[h] = noop;
      args[h] = undefined;
      h++;
      this.cbHead[q] = h;
      this.cbsInvoked++;
      this.doneOn[q]!++;
      this.invokedOnCpu[runCpu]!++;
      fn(arg);
    }
    if (h > 1024 && h * 2 > gps.length) {
      fns.splice(0, h);
      args.splice(0, h);
      gps.splice(0, h);
      times.splice(0, h);
      this.cbHead[q] = 0;
    }
    if (this.nrPending(q) > 0) this.requestGp(gps[gps.length - 1]!);
  }

  private rcuoFor(cpu: number): Task {
    const hk = this.housekeeping[cpu % this.housekeeping.length]!;
    const existing = this.rcuo.get(hk);
    if (existing !== undefined) return existing;
    const m = this.machine;
    const t = m.sched.kthreadCreate(`rcuop/${hk}`, hk, (task) => {
      const cpus = m.cpus;
      cpus.localBhDisable();
      try {
        for (let c = 0; c < cpus.nrCpus; c++) {
          if (this.offloaded[c] === 1 && this.housekeeping[c % this.housekeeping.length] === hk) this.doBatch(c);
        }
      } finally {
        cpus.localBhEnable();
      }
      task.state = TASK_INTERRUPTIBLE;
      return SCHED_SLEEP;
    });
    this.rcuo.set(hk, t);
    return t;
  }

  /**
   * Offload the callbacks of `cpus` to rcuo kthreads that run only on the
   * `housekeeping` CPUs (`rcu_nocbs=` with the rcuo threads' affinity
   * restricted, as on Android). An empty `cpus` list turns offloading off.
   * @throws MmError EINVAL for unknown CPUs or no online housekeeping CPU.
   */
  rcuNocbs(cpus: readonly number[], housekeeping: readonly number[]): void {
    const mc = this.machine.cpus;
    for (const c of cpus) mc.checkCpu(c, false);
    if (cpus.length > 0) {
      if (housekeeping.length === 0) throw new MmError('EINVAL', 'rcu: rcu_nocbs needs at least one housekeeping CPU');
      for (const c of housekeeping) mc.checkCpu(c, true);
    }
    this.offloaded.fill(0);
    for (const c of cpus) this.offloaded[c] = 1;
    this.housekeeping = [...housekeeping];
    this.rcuo.clear();
    // Ready callbacks left behind are picked up by their new path.
    for (let c = 0; c < mc.nrCpus; c++) {
      if (!this.hasReady(c)) continue;
      if (this.offloaded[c] === 1) this.machine.sched.wakeUpProcess(this.rcuoFor(c));
      else mc.raiseSoftirq(RCU_SOFTIRQ, c);
    }
  }

  // --- waiting ---

  /**
   * A cookie that {@link Rcu.pollStateSynchronizeRcu} accepts once a full
   * grace period has elapsed after this call.
   * @kernel get_state_synchronize_rcu (kernel/rcu/tree.c)
   */
  getStateSynchronizeRcu(): number {
    return this.gpStarted + 1;
  }

  /**
   * Like getStateSynchronizeRcu, and make sure that grace period will start.
   * @kernel start_poll_synchronize_rcu (kernel/rcu/tree.c)
   */
  startPollSynchronizeRcu(): number {
    const cookie = this.getStateSynchronizeRcu();
    this.requestGp(cookie);
    return cookie;
  }

  /** Whether the grace period `cookie` names has completed. @kernel poll_state_synchronize_rcu (kernel/rcu/tree.c) */
  pollStateSynchronizeRcu(cookie: number): boolean {
    return this.gpCompleted >= cookie;
  }

  /**
   * From a task step: sleep until the grace period of `cookie` has completed.
   * Returns SCHED_SLEEP (the task sleeps and is woken then) or SCHED_AGAIN
   * when it already has.
   */
  sleepUntilGp(task: Task, cookie: number): number {
    if (this.pollStateSynchronizeRcu(cookie)) return SCHED_AGAIN;
    task.state = TASK_INTERRUPTIBLE;
    this.gpWaiters.push(task);
    this.gpWaiterCookies.push(cookie);
    this.requestGp(cookie);
    return SCHED_SLEEP;
  }

  private mustBeHarness(what: string): void {
    const m = this.machine;
    mightSleep(m, what);
    if (!m.sched.current().idle) {
      throw new MmError(
        'EDEADLK',
        `rcu: ${what} from task ${m.sched.current().name} would sleep inside a step; use startPollSynchronizeRcu() and sleepUntilGp()`,
      );
    }
  }

  /**
   * Wait for a full grace period, running the machine (events and tasks)
   * meanwhile. Harness context only.
   * @throws RcuStallError when a CPU never leaves its read-side section.
   * @kernel synchronize_rcu (kernel/rcu/tree.c)
   */
  synchronizeRcu(): void {
    this.mustBeHarness('synchronize_rcu()');
    const m = this.machine;
    const cookie = this.startPollSynchronizeRcu();
    const ok = m.sched.runWhile(() => this.gpCompleted < cookie, m.clock.now + this.stallTimeoutNs + this.tickNs);
    if (!ok) throw new RcuStallError('synchronize_rcu()', this.blockingCpus(), this.blockingTasks());
  }

  /**
   * Wait for a full grace period, expedited: CPUs are asked by IPI for a
   * quiescent state at once instead of at the next tick, so the wait ends
   * as soon as the readers that predate it have ended. Harness context only.
   * @throws RcuStallError when a CPU never leaves its read-side section.
   * @kernel synchronize_rcu_expedited (kernel/rcu/tree_exp.h)
   */
  synchronizeRcuExpedited(): void {
    this.mustBeHarness('synchronize_rcu_expedited()');
    const m = this.machine;
    const cookie = this.startPollSynchronizeRcu();
    if (cookie > this.expediteUntil) this.expediteUntil = cookie;
    this.nrExpedited++;
    this.expediteStep();
    // Readers ending (rcuReadUnlock) and context switches kick the next round.
    const ok = m.sched.runWhile(() => this.gpCompleted < cookie, m.clock.now + this.stallTimeoutNs + this.tickNs);
    if (!ok) throw new RcuStallError('synchronize_rcu_expedited()', this.blockingCpus(), this.blockingTasks());
  }

  /**
   * Wait until every callback queued before the call has been invoked,
   * running the machine meanwhile. Harness context only.
   * @throws RcuStallError when a grace period cannot complete.
   * @kernel rcu_barrier (kernel/rcu/tree.c)
   */
  rcuBarrier(): void {
    this.mustBeHarness('rcu_barrier()');
    const m = this.machine;
    const target = Float64Array.from(this.queuedOn);
    const done = (): boolean => {
      for (let c = 0; c < target.length; c++) if (this.doneOn[c]! < target[c]!) return false;
      return true;
    };
    if (done()) return;
    this.requestGp(this.gpStarted + 1);
    const ok = m.sched.runWhile(() => !done(), m.clock.now + 2 * this.stallTimeoutNs + this.tickNs);
    if (!ok) throw new RcuStallError('rcu_barrier()', this.blockingCpus(), this.blockingTasks());
  }

  // --- hotplug ---

  /**
   * `cpu` went offline: it stops owing quiescent states and its callbacks
   * move, in order, to the end of `to`'s list.
   * @kernel rcutree_migrate_callbacks (kernel/rcu/tree.c)
   */
  cpuDead(cpu: number, to: number): void {
    this.reportQs(cpu);
    if (this.expediteUntil > this.gpCompleted) this.kickExpedited();
    const h = this.cbHead[cpu]!;
    const fns = this.cbFns[cpu]!;
    // `to`'s list stays ordered by grace period: a migrated callback waits
    // at least for the last GP `to` already waits for (rcu_segcblist_merge
    // puts the dead CPU's pending callbacks behind the survivor's).
    const toGps = this.cbGp[to]!;
    let last = toGps.length > this.cbHead[to]! ? toGps[toGps.length - 1]! : Number.NEGATIVE_INFINITY;
    for (let i = h; i < fns.length; i++) {
      const gp = Math.max(this.cbGp[cpu]![i]!, last);
      last = gp;
      this.cbFns[to]!.push(fns[i]!);
      this.cbArgs[to]!.push(this.cbArgs[cpu]![i]);
      this.cbGp[to]!.push(gp);
      this.cbTime[to]!.push(this.cbTime[cpu]![i]!);
      this.queuedOn[to]!++;
      this.doneOn[cpu]!++;
    }
    fns.length = 0;
    this.cbArgs[cpu]!.length = 0;
    this.cbGp[cpu]!.length = 0;
    this.cbTime[cpu]!.length = 0;
    this.cbHead[cpu] = 0;
    if (this.hasReady(to)) {
      if (this.offloaded[to] === 1) this.machine.sched.wakeUpProcess(this.rcuoFor(to));
      else this.machine.cpus.raiseSoftirq(RCU_SOFTIRQ, to);
    }
    const gps = this.cbGp[to]!;
    if (this.nrPending(to) > 0) this.requestGp(gps[gps.length - 1]!);
  }

  /**
   * Check the RCU state: the pending-QS count, grace-period numbers, and
   * every queued callback waiting for a grace period that is at most one
   * past the last started. Returns an error message or null.
   */
  validate(): string | null {
    let n = 0;
    for (let c = 0; c < this.qsPending.length; c++) {
      n += this.qsPending[c]!;
      if (this.nesting[c]! < 0) return `rcu: negative nesting on CPU ${c}`;
      if (this.qsPending[c] === 1 && this.machine.cpus.online[c] === 0) return `rcu: offline CPU ${c} owes a QS`;
    }
    if (n !== this.nrQsPending) return `rcu: nrQsPending ${this.nrQsPending} != ${n}`;
    for (const t of this.blockedReaders) {
      if (t.rcuNesting <= 0) return `rcu: blocked reader ${t.name} is not in a reader`;
      if (t.state === 0x80) return `rcu: blocked reader ${t.name} has exited`;
    }
    if (!this.gpInProgress && n !== 0) return 'rcu: CPUs owe a QS with no grace period in progress';
    if (this.gpCompleted !== this.gpStarted - (this.gpInProgress ? 1 : 0)) {
      return `rcu: started ${this.gpStarted}, completed ${this.gpCompleted}, in progress ${this.gpInProgress}`;
    }
    for (let c = 0; c < this.cbGp.length; c++) {
      const gps = this.cbGp[c]!;
      for (let i = this.cbHead[c]!; i < gps.length; i++) {
        if (gps[i]! > this.gpStarted + 1) return `rcu: callback on CPU ${c} waits for future GP ${gps[i]}`;
        if (i > this.cbHead[c]! && gps[i]! < gps[i - 1]!) return `rcu: callbacks on CPU ${c} out of GP order`;
      }
      if (this.nrPending(c) > 0 && this.gpRequested < gps[gps.length - 1]!) return `rcu: GP not requested for CPU ${c}`;
    }
    return null;
  }

  /** A snapshot of the grace-period, callback and stall counters. */
  stats(): RcuStats {
    return {
      gpCompleted: this.gpCompleted,
      cbsQueued: this.cbsQueued,
      cbsInvoked: this.cbsInvoked,
      maxLatencyNs: this.maxLatencyNs,
      maxGpNs: this.maxGpNs,
      stalls: this.stalls,
      expedited: this.nrExpedited,
    };
  }

  /** Grace-period state, counters and per-CPU callback queues as plain JSON. */
  toJSON(): RcuState {
    const pending: number[] = [];
    for (let c = 0; c < this.nesting.length; c++) pending.push(this.nrPending(c));
    return {
      ...this.stats(),
      gpStarted: this.gpStarted,
      gpInProgress: this.gpInProgress,
      preemptible: this.preemptible,
      blockingCpus: this.blockingCpus(),
      blockingTasks: this.blockingTasks(),
      callbacksPending: pending,
      offloaded: Array.from(this.offloaded, (x) => x === 1),
      invokedOnCpu: Array.from(this.invokedOnCpu),
    };
  }
}

function noop(): void {}
