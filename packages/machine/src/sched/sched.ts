/**
 * DOC: tasks and the deterministic scheduler with per-CPU run queues.
 *
 * A task is a step function: each call does one operation and returns
 * {@link SCHED_AGAIN} (still runnable, back to the tail of its run queue),
 * {@link SCHED_SLEEP} (it set itself sleeping: waiting for a lock, a timeout
 * or a grace period; a wake-up requeues it and the step is retried, like a
 * fault returning `VM_FAULT_RETRY`) or {@link SCHED_EXIT}. Each CPU also has
 * an idle task `swapper/N` (pid = CPU id): code that the harness runs with
 * `cpus.runOn()` runs as that task.
 *
 * The event loop ({@link Sched.runUntil}) repeatedly takes whichever comes
 * first in virtual time: the earliest clock event, or a step on the CPU whose
 * local time is earliest among CPUs with runnable tasks (ties go to the lower
 * CPU id). A step is charged to its CPU (at least {@link SCHED_MIN_STEP_NS},
 * plus a context switch when the CPU changes task), so CPUs progress in
 * parallel in virtual time and the run is a pure function of the seed and the
 * inputs. A CPU whose harness context is atomic (a test left it holding a
 * spinlock, with interrupts off or inside an RCU reader) runs no task.
 *
 * After each step the scheduler checks what the kernel checks when a task
 * schedules: preemption and interrupts enabled, no RCU reader open; then the
 * context switch is a quiescent state for RCU and pending softirqs run (the
 * ksoftirqd role).
 */

import type { CostAccount } from '../cost-account.js';
import { EBUSY, EINVAL, InvalidArgumentError, MmError } from '../errors.js';
import { HeldLocks, LockdepError } from '../locking/lockdep.js';
import type { Topology } from '../topology.js';
import type { Clock } from './clock.js';
import { ClockEvent } from './clock.js';
import type { Cpus } from './cpu.js';

/**
 * A time argument of the run loop: a finite number of virtual ns. An
 * infinite or NaN limit would never be reached (timer and RCU ticks keep
 * coming on an idle machine), so it is refused instead of hanging.
 */
function checkTime(what: string, name: string, t: number): void {
  if (typeof t !== 'number' || !Number.isFinite(t)) {
    throw new InvalidArgumentError('sched', name, `${String(t)} passed to ${what}() is not a finite number of ns`);
  }
}

/** Task state: runnable. */
export const TASK_RUNNING = 0;
/** Task state: sleeping, woken by signals or an explicit wake-up. */
export const TASK_INTERRUPTIBLE = 1;
/** Task state: sleeping until the awaited event (lock hand-over, I/O). */
export const TASK_UNINTERRUPTIBLE = 2;
/** Task state: exited. */
export const TASK_DEAD = 0x80;

/** Step result: still runnable. */
export const SCHED_AGAIN = 0;
/** Step result: the task put itself to sleep. */
export const SCHED_SLEEP = 1;
/** Step result: the task exits. */
export const SCHED_EXIT = 2;

/** Minimum virtual ns charged for one task step (the cost of getting back to the scheduler). */
export const SCHED_MIN_STEP_NS = 100;

/** A task body: one operation per call; returns SCHED_AGAIN, SCHED_SLEEP or SCHED_EXIT. */
export type TaskFn = (task: Task) => number;

/** A simulated task (the model of `task_struct`, reduced to what the machine needs). */
export class Task {
  /** Task id; the idle task of CPU n has pid n. */
  readonly pid: number;
  /** `comm`, e.g. `kswapd0`, `swapper/2`. */
  readonly name: string;
  /** The CPU whose run queue holds (or will hold) the task. */
  cpu: number;
  /** TASK_RUNNING, TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE or TASK_DEAD. */
  state: number;
  /** The step function (null for idle tasks). */
  readonly fn: TaskFn | null;
  /** True for the per-CPU idle/boot tasks (they must never sleep). */
  readonly idle: boolean;
  /** `migrate_disable()` depth. */
  migrationDisabled: number;
  /** Locks held (lockdep). */
  readonly held: HeldLocks;
  /** The sleeping lock the task waits for, or null. */
  waitingOn: object | null;
  /** Set when the awaited lock was handed over to the task while it slept. */
  granted: boolean;
  /** True when the waiter wants the lock for reading (rwsem). */
  waitRead: boolean;
  /** Virtual time the current or last lock wait began. */
  waitStartNs: number;
  /** Preemptible RCU: the task's `rcu_read_lock()` nesting while it is not running. */
  rcuNesting: number;
  /** Preemptible RCU: grace periods started when its outermost reader began. */
  rcuEntryGp: number;
  /** Set by kthread_stop(). */
  shouldStop: boolean;
  /** Virtual ns of CPU time consumed. */
  sumExecNs: number;
  /** Steps run. */
  nrSteps: number;
  /** Wake-up event used by scheduleTimeout(). */
  readonly wakeEvent: ClockEvent;

  constructor(pid: number, name: string, cpu: number, fn: TaskFn | null, wake: (ev: ClockEvent) => void) {
    this.pid = pid;
    this.name = name;
    this.cpu = cpu;
    this.state = fn === null ? TASK_RUNNING : TASK_INTERRUPTIBLE;
    this.fn = fn;
    this.idle = fn === null;
    this.migrationDisabled = 0;
    this.held = new HeldLocks();
    this.waitingOn = null;
    this.granted = false;
    this.waitRead = false;
    this.waitStartNs = 0;
    this.rcuNesting = 0;
    this.rcuEntryGp = 0;
    this.shouldStop = false;
    this.sumExecNs = 0;
    this.nrSteps = 0;
    this.wakeEvent = new ClockEvent(wake);
  }
}

/** One task in {@link Sched.toJSON}. */
export interface TaskState {
  /** Task id. */
  readonly pid: number;
  /** Task name. @kernel task_struct.comm */
  readonly name: string;
  /** CPU whose run queue holds the task. */
  readonly cpu: number;
  /** `TASK_RUNNING`, `TASK_INTERRUPTIBLE`, `TASK_UNINTERRUPTIBLE` or `TASK_DEAD`. */
  readonly state: number;
  /** Virtual ns of CPU time consumed. @kernel sched_entity.sum_exec_runtime */
  readonly sumExecNs: number;
  /** Steps the task has run. */
  readonly steps: number;
  /** Names of the locks it holds. */
  readonly heldLocks: readonly string[];
}

/** {@link Sched.toJSON}. */
export interface SchedState {
  /** Context switches. @kernel nr_context_switches */
  readonly nrSwitches: number;
  /** Runnable tasks queued per CPU. */
  readonly nrRunning: readonly number[];
  /** Every task. */
  readonly tasks: readonly TaskState[];
}

/** A FIFO of tasks waiting for a sleeping lock (the model of a `wait_list`). */
export class TaskQueue {
  private items: Task[];
  private head: number;

  constructor() {
    this.items = [];
    this.head = 0;
  }

  /** Tasks queued. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Queue `t` at the tail. */
  push(t: Task): void {
    this.items.push(t);
  }

  /** The head task, or null when empty. */
  peek(): Task | null {
    return this.head < this.items.length ? this.items[this.head]! : null;
  }

  /** Remove and return the head task, or null when empty. */
  shift(): Task | null {
    if (this.head >= this.items.length) return null;
    const t = this.items[this.head++]!;
    if (this.head > 32 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return t;
  }

  /** Whether `t` is queued. */
  includes(t: Task): boolean {
    for (let i = this.head; i < this.items.length; i++) if (this.items[i] === t) return true;
    return false;
  }

  /** Remove and return every task matching `pred`, keeping the others in order. */
  extract(pred: (t: Task) => boolean): Task[] {
    const out: Task[] = [];
    const keep: Task[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const t = this.items[i]!;
      if (pred(t)) out.push(t);
      else keep.push(t);
    }
    this.items = keep;
    this.head = 0;
    return out;
  }
}

/**
 * What the scheduler calls in RCU at a context switch (preemptible RCU's
 * blocked-reader tracking and the quiescent state); declared here so that
 * the scheduler does not depend on the RCU module, which sits above it.
 */
export interface SchedRcuHooks {
  /** Preemptible RCU (PREEMPT_RT): readers may be preempted. */
  readonly preemptible: boolean;
  /** `rcu_read_lock()` nesting per CPU. */
  readonly nesting: Int32Array;
  /** Task `t` starts a step on `cpu`: restore its preempted reader. */
  switchIn(cpu: number, t: Task): void;
  /** Task `t` leaves `cpu`: save a preempted reader. */
  switchOut(cpu: number, t: Task): void;
  /** A context switch on `cpu` is a quiescent state. @kernel rcu_note_context_switch */
  noteContextSwitch(cpu: number): void;
}

/** The machine as the scheduler sees it. */
export interface SchedHost {
  /** CPU the running code is on. */
  currentCpu: number;
  /** Number of CPUs. */
  readonly topology: Pick<Topology, 'nrCpus'>;
  /** Virtual clock. */
  readonly clock: Clock;
  /** Cost account charged for task steps. */
  readonly account: CostAccount;
  /** CPU contexts. */
  readonly cpus: Cpus;
  /** The lock checker's switch. */
  readonly lockdep: {
    /** Whether lock checks run. @kernel debug_locks */
    readonly enabled: boolean;
  };
  /** RCU hooks called around context switches. */
  readonly rcu: SchedRcuHooks;
}

/** The scheduler of a machine (`machine.sched`). */
export class Sched {
  /** All tasks by pid (idle tasks first). */
  readonly tasks: Task[];
  /** The task running on each CPU (its idle task outside scheduler steps). */
  readonly currentPid: Int32Array;
  /** Context switches performed. */
  nrSwitches: number;
  private readonly machine: SchedHost;
  private rq: Int32Array[];
  private readonly rqHead: Int32Array;
  private readonly rqLen: Int32Array;
  private readonly lastPid: Int32Array;
  // Min-heap of CPUs with queued tasks, keyed by (local time, CPU id). Local
  // times only grow, so a stored key is a lower bound and is refreshed lazily.
  private readonly heapCpu: Int32Array;
  private readonly heapKey: Float64Array;
  private readonly heapPos: Int32Array;
  private heapSize: number;
  private readonly aside: Int32Array;
  private nrQueued: number;
  /** Pid of the task whose step is running, -1 outside steps. */
  private stepping: number;

  constructor(machine: SchedHost) {
    const n = machine.topology.nrCpus;
    this.machine = machine;
    this.tasks = [];
    this.currentPid = new Int32Array(n);
    this.lastPid = new Int32Array(n);
    this.heapCpu = new Int32Array(n);
    this.heapKey = new Float64Array(n);
    this.heapPos = new Int32Array(n).fill(-1);
    this.heapSize = 0;
    this.aside = new Int32Array(n);
    this.rq = [];
    this.rqHead = new Int32Array(n);
    this.rqLen = new Int32Array(n);
    this.nrQueued = 0;
    this.nrSwitches = 0;
    this.stepping = -1;
    const noWake = (): void => {};
    for (let c = 0; c < n; c++) {
      this.tasks.push(new Task(c, `swapper/${c}`, c, null, noWake));
      this.currentPid[c] = c;
      this.lastPid[c] = c;
      this.rq.push(new Int32Array(16));
    }
  }

  /** The task currently running on `cpu` (default: the current CPU). @kernel current (arch/x86/include/asm/current.h) */
  current(cpu: number = this.machine.currentCpu): Task {
    return this.tasks[this.currentPid[cpu]!]!;
  }

  /** Runnable tasks queued on `cpu`. */
  nrRunning(cpu: number): number {
    return this.rqLen[cpu]!;
  }

  /**
   * Create a kernel thread bound to `cpu`, not yet running (wake it with
   * {@link Sched.wakeUpProcess}).
   * @kernel kthread_create_on_cpu (kernel/kthread.c)
   */
  kthreadCreate(name: string, cpu: number, fn: TaskFn): Task {
    this.machine.cpus.checkCpu(cpu, false);
    const pid = this.tasks.length;
    const t = new Task(pid, name, cpu, fn, (ev) => {
      if (ev === t.wakeEvent) this.wakeUpProcess(t);
    });
    this.tasks.push(t);
    return t;
  }

  /** Create and wake a kernel thread. @kernel kthread_run (include/linux/kthread.h) */
  kthreadRun(name: string, cpu: number, fn: TaskFn): Task {
    if (typeof fn !== 'function') throw new InvalidArgumentError('sched', 'fn', `must be a function, got ${typeof fn}`);
    const t = this.kthreadCreate(name, cpu, fn);
    this.wakeUpProcess(t);
    return t;
  }

  /**
   * A kernel thread that calls `fn` every `periodNs` (kswapd, kdamond and
   * friends sleeping in `schedule_timeout()` between rounds); `fn` returning
   * false ends the thread, as does {@link Sched.kthreadStop}.
   */
  kthreadRunPeriodic(name: string, cpu: number, periodNs: number, fn: (task: Task) => boolean | undefined): Task {
    if (!(periodNs > 0)) throw new MmError('EINVAL', `sched: period ${periodNs} ns must be > 0`);
    return this.kthreadRun(name, cpu, (t) => {
      if (t.shouldStop) return SCHED_EXIT;
      if (fn(t) === false) return SCHED_EXIT;
      return this.scheduleTimeout(t, periodNs);
    });
  }

  /**
   * Ask a kernel thread to exit and wake it; it exits at its next step.
   * @kernel kthread_stop (kernel/kthread.c)
   */
  kthreadStop(t: Task): void {
    t.shouldStop = true;
    if (t.state !== TASK_DEAD) this.wakeUpProcess(t);
  }

  /**
   * Make a sleeping task runnable on its CPU (or the first online CPU if its
   * CPU went offline). Returns 1 when it was woken, 0 when already runnable
   * or dead.
   * @kernel wake_up_process (kernel/sched/core.c)
   */
  wakeUpProcess(t: Task): number {
    if (t.state === TASK_RUNNING || t.state === TASK_DEAD || t.idle) return 0;
    this.machine.clock.cancel(t.wakeEvent);
    t.state = TASK_RUNNING;
    if (this.machine.cpus.online[t.cpu] === 0) t.cpu = this.fallbackCpu(t.cpu);
    this.enqueue(t.cpu, t.pid);
    return 1;
  }

  /**
   * Put task `t` to sleep for `ns` virtual ns; return the result its step
   * returns.
   * @kernel schedule_timeout (kernel/time/sleep_timeout.c)
   */
  scheduleTimeout(t: Task, ns: number): number {
    t.state = TASK_INTERRUPTIBLE;
    this.machine.clock.schedule(t.wakeEvent, this.machine.clock.cpuNow(t.cpu) + ns);
    return SCHED_SLEEP;
  }

  /**
   * Put the current task of `cpu` to sleep waiting for sleeping lock `lock`.
   * @throws LockdepError `would-block` in an idle (harness) context, which cannot sleep.
   */
  blockOn(lock: object, name: string, cpu: number, read: boolean): Task {
    const t = this.current(cpu);
    if (t.idle) {
      throw new LockdepError(
        'would-block',
        name,
        `${name} is held elsewhere and ${t.name} cannot sleep; run the code as a task (sched.kthreadRun)`,
      );
    }
    t.state = TASK_UNINTERRUPTIBLE;
    t.waitingOn = lock;
    t.granted = false;
    t.waitRead = read;
    t.waitStartNs = this.machine.clock.cpuNow(cpu);
    return t;
  }

  /** Hand a sleeping lock to waiter `t` and wake it (its retried step completes the acquisition). */
  grant(t: Task): void {
    t.granted = true;
    this.wakeUpProcess(t);
  }

  /** If the current task of `cpu` was handed `lock` while asleep, consume the grant and return true. */
  takeGrant(lock: object, cpu: number): boolean {
    const t = this.current(cpu);
    if (t.waitingOn !== lock || !t.granted) return false;
    t.waitingOn = null;
    t.granted = false;
    return true;
  }

  private enqueue(cpu: number, pid: number): void {
    let q = this.rq[cpu]!;
    const len = this.rqLen[cpu]!;
    if (len === q.length) {
      const bigger = new Int32Array(q.length * 2);
      const h = this.rqHead[cpu]!;
      for (let i = 0; i < len; i++) bigger[i] = q[(h + i) % q.length]!;
      this.rq[cpu] = bigger;
      this.rqHead[cpu] = 0;
      q = bigger;
    }
    q[(this.rqHead[cpu]! + len) % q.length] = pid;
    this.rqLen[cpu] = len + 1;
    this.nrQueued++;
    if (this.heapPos[cpu] === -1) this.heapInsert(cpu, this.machine.clock.cpuNow(cpu));
  }

  private heapLess(a: number, b: number): boolean {
    const ka = this.heapKey[a]!;
    const kb = this.heapKey[b]!;
    return ka < kb || (ka === kb && a < b);
  }

  private heapInsert(cpu: number, key: number): void {
    this.heapKey[cpu] = key;
    let i = this.heapSize++;
    const h = this.heapCpu;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pc = h[p]!;
      if (!this.heapLess(cpu, pc)) break;
      h[i] = pc;
      this.heapPos[pc] = i;
      i = p;
    }
    h[i] = cpu;
    this.heapPos[cpu] = i;
  }

  private heapSiftDown(i: number): void {
    const h = this.heapCpu;
    const n = this.heapSize;
    const cpu = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.heapLess(h[r]!, h[l]!) ? r : l;
      const cc = h[c]!;
      if (!this.heapLess(cc, cpu)) break;
      h[i] = cc;
      this.heapPos[cc] = i;
      i = c;
    }
    h[i] = cpu;
    this.heapPos[cpu] = i;
  }

  private heapPopTop(): number {
    const h = this.heapCpu;
    const top = h[0]!;
    this.heapPos[top] = -1;
    const last = --this.heapSize;
    if (last > 0) {
      h[0] = h[last]!;
      this.heapPos[h[0]!] = 0;
      this.heapSiftDown(0);
    }
    return top;
  }

  private dequeue(cpu: number): number {
    const q = this.rq[cpu]!;
    const h = this.rqHead[cpu]!;
    const pid = q[h]!;
    this.rqHead[cpu] = (h + 1) % q.length;
    this.rqLen[cpu] = this.rqLen[cpu]! - 1;
    this.nrQueued--;
    return pid;
  }

  private fallbackCpu(from: number): number {
    const cpus = this.machine.cpus;
    for (let i = 1; i <= cpus.nrCpus; i++) {
      const c = (from + i) % cpus.nrCpus;
      if (cpus.online[c] === 1) return c;
    }
    return from;
  }

  /** The CPU that should run next (earliest local time with runnable tasks), or -1. */
  private pickCpu(): number {
    if (this.nrQueued === 0) return -1;
    const m = this.machine;
    const rqLen = this.rqLen;
    const online = m.cpus.online;
    const pc = m.cpus.preemptCount;
    const irqsOff = m.cpus.irqsOff;
    const nesting = m.rcu.nesting;
    const cpuNs = m.clock.cpuNs;
    const now = m.clock.now;
    let nAside = 0;
    let best = -1;
    while (this.heapSize > 0) {
      const c = this.heapCpu[0]!;
      if (rqLen[c] === 0) {
        this.heapPopTop();
        continue;
      }
      if (online[c] === 0 || pc[c] !== 0 || irqsOff[c] !== 0 || nesting[c] !== 0) {
        // Not schedulable now: set aside, put back below.
        this.aside[nAside++] = this.heapPopTop();
        continue;
      }
      const key = Math.max(cpuNs[c]!, now);
      if (key > this.heapKey[c]!) {
        this.heapKey[c] = key;
        this.heapSiftDown(0);
        continue;
      }
      best = c;
      break;
    }
    for (let i = 0; i < nAside; i++) {
      const c = this.aside[i]!;
      this.heapInsert(c, Math.max(cpuNs[c]!, now));
    }
    return best;
  }

  /** The same choice by a linear scan (the reference the heap is checked against). */
  private pickCpuLinear(): number {
    if (this.nrQueued === 0) return -1;
    const cpus = this.machine.cpus;
    const clock = this.machine.clock;
    let best = -1;
    let bestT = Number.POSITIVE_INFINITY;
    for (let c = 0; c < cpus.nrCpus; c++) {
      if (this.rqLen[c] === 0 || !cpus.schedulable(c)) continue;
      const t = clock.cpuNow(c);
      if (t < bestT) {
        bestT = t;
        best = c;
      }
    }
    return best;
  }

  /** Run one step of the task at the head of `cpu`'s run queue. */
  private runStep(cpu: number): void {
    const m = this.machine;
    const clock = m.clock;
    const pid = this.dequeue(cpu);
    const t = this.tasks[pid]!;
    clock.advanceTo(clock.cpuNow(cpu));
    if (this.lastPid[cpu] !== pid) {
      m.account.chargeEvent(cpu, 'contextSwitch', 1);
      this.lastPid[cpu] = pid;
      this.nrSwitches++;
    }
    const start = clock.cpuNow(cpu);
    const prevCpu = m.currentCpu;
    this.currentPid[cpu] = pid;
    m.currentCpu = cpu;
    // Preemptible RCU: the task's reader state follows it onto the CPU.
    m.rcu.switchIn(cpu, t);
    let r: number;
    this.stepping = pid;
    try {
      r = t.fn!(t);
      const spent = clock.cpuNs[cpu]! - start;
      if (spent < SCHED_MIN_STEP_NS) m.account.charge(cpu, SCHED_MIN_STEP_NS - spent);
      t.sumExecNs += clock.cpuNs[cpu]! - start;
      t.nrSteps++;
      this.checkStepEnd(t, cpu, r);
    } finally {
      this.stepping = -1;
      m.rcu.switchOut(cpu, t);
      this.currentPid[cpu] = cpu;
      m.currentCpu = prevCpu;
    }
    if (r === SCHED_EXIT) t.state = TASK_DEAD;
    else if (t.state === TASK_RUNNING) this.enqueue(cpu, pid);
    m.rcu.noteContextSwitch(cpu);
    m.cpus.kickSoftirq(cpu);
  }

  private checkStepEnd(t: Task, cpu: number, r: number): void {
    const m = this.machine;
    const cpus = m.cpus;
    const reader = m.rcu.nesting[cpu] !== 0;
    if (reader && m.rcu.preemptible && r === SCHED_AGAIN && t.state === TASK_RUNNING) {
      // Preemptible RCU: preempted inside a reader is fine (it is tracked as a blocked reader).
    } else if (reader && m.rcu.preemptible && r === SCHED_EXIT) {
      throw new LockdepError(
        'held-at-exit',
        'rcu_read_lock',
        `${t.name} exited inside an RCU read-side critical section`,
      );
    } else if (reader && m.rcu.preemptible) {
      throw new LockdepError(
        'sleep-in-atomic',
        'rcu_read_lock',
        `${t.name} on CPU ${cpu}: voluntary context switch within an RCU read-side critical section`,
      );
    }
    if (cpus.preemptCount[cpu] !== 0 || cpus.irqsOff[cpu] !== 0 || (reader && !m.rcu.preemptible)) {
      throw new LockdepError(
        'preempt-leak',
        t.held.depth > 0 ? t.held.locks[t.held.depth - 1]!.name : '',
        `${t.name} scheduled on CPU ${cpu} in atomic context: preempt_count 0x${cpus.preemptCount[cpu]!.toString(16)}, irqs_disabled ${cpus.irqsOff[cpu]}, rcu_read_lock nesting ${m.rcu.nesting[cpu]}; held: [${t.held.names().join(', ')}]`,
      );
    }
    if (r === SCHED_EXIT && t.held.depth > 0 && m.lockdep.enabled) {
      throw new LockdepError(
        'held-at-exit',
        t.held.locks[0]!.name,
        `${t.name} exited with locks held: ${t.held.names().join(', ')}`,
      );
    }
  }

  /**
   * Run events and task steps in virtual-time order until `tNs`; the clock
   * ends at `tNs`.
   */
  runUntil(tNs: number): void {
    checkTime('runUntil', 'tNs', tNs);
    this.drive(null, tNs);
    this.machine.clock.advanceTo(tNs);
  }

  /** Run for `ns` virtual ns from now. */
  runFor(ns: number): void {
    checkTime('runFor', 'ns', ns);
    if (ns < 0) throw new InvalidArgumentError('sched', 'ns', `${ns} is negative (runFor cannot go back in time)`);
    this.runUntil(this.machine.clock.now + ns);
  }

  /**
   * Run until no event is queued and no task is runnable, or until
   * `limitNs`; returns true when the machine went idle.
   */
  runUntilIdle(limitNs: number = this.machine.clock.now + 60_000_000_000): boolean {
    checkTime('runUntilIdle', 'limitNs', limitNs);
    this.drive(null, limitNs);
    return this.machine.clock.nextEventTime() === Number.POSITIVE_INFINITY && this.nrQueued === 0;
  }

  /**
   * Run while `cond()` holds (checked before every event or step) and the
   * clock has not passed `limitNs`; returns true when `cond()` turned false.
   */
  runWhile(cond: () => boolean, limitNs: number): boolean {
    if (typeof cond !== 'function') {
      throw new InvalidArgumentError('sched', 'cond', `must be a function, got ${typeof cond}`);
    }
    checkTime('runWhile', 'limitNs', limitNs);
    return this.drive(cond, limitNs);
  }

  private drive(cond: (() => boolean) | null, limitNs: number): boolean {
    if (this.stepping >= 0) {
      throw new MmError(
        'EDEADLK',
        `sched: ${this.tasks[this.stepping]!.name} tried to run the machine from inside its step; return SCHED_SLEEP and wait instead`,
      );
    }
    const clock = this.machine.clock;
    for (;;) {
      if (cond !== null && !cond()) return true;
      const tEv = clock.nextEventTime();
      const c = this.pickCpu();
      const tCpu = c >= 0 ? clock.cpuNow(c) : Number.POSITIVE_INFINITY;
      if (tEv <= tCpu) {
        if (tEv > limitNs) return false;
        clock.fireNext();
      } else {
        if (tCpu > limitNs) return false;
        this.runStep(c);
      }
    }
  }

  /**
   * Move task `t` to `cpu` (its run queue now, or at its next wake-up).
   * Returns 0, -EINVAL for an offline CPU, -EBUSY when the task has
   * migration disabled or is an idle task.
   * @kernel set_cpus_allowed_ptr (kernel/sched/core.c)
   */
  migrateTask(t: Task, cpu: number): number {
    const cpus = this.machine.cpus;
    cpus.checkCpu(cpu, false);
    if (cpus.online[cpu] === 0) return -EINVAL;
    if (t.idle || t.migrationDisabled > 0) return -EBUSY;
    if (t.cpu === cpu || t.state === TASK_DEAD) return 0;
    if (t.state === TASK_RUNNING) {
      this.removeQueued(t.cpu, t.pid);
      t.cpu = cpu;
      this.enqueue(cpu, t.pid);
    } else {
      t.cpu = cpu;
    }
    return 0;
  }

  private removeQueued(cpu: number, pid: number): void {
    const n = this.rqLen[cpu]!;
    const keep: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.dequeue(cpu);
      if (p !== pid) keep.push(p);
    }
    for (const p of keep) this.enqueue(cpu, p);
  }

  /** Move the queued tasks of a CPU going offline to the online CPUs (round robin). */
  migrateTasksOff(dead: number): void {
    const cpus = this.machine.cpus;
    let target = dead;
    while (this.rqLen[dead]! > 0) {
      const pid = this.dequeue(dead);
      target = this.fallbackCpu(target);
      const t = this.tasks[pid]!;
      t.cpu = target;
      this.enqueue(target, pid);
    }
    for (const t of this.tasks)
      if (!t.idle && t.cpu === dead && cpus.online[dead] === 0) t.cpu = this.fallbackCpu(dead);
  }

  /**
   * Check the run queues: every queued task is runnable, queued once, on the
   * queue of its CPU; every runnable non-idle task is queued. Returns an
   * error message or null.
   */
  validate(): string | null {
    const seen = new Uint8Array(this.tasks.length);
    let total = 0;
    for (let c = 0; c < this.rq.length; c++) {
      const q = this.rq[c]!;
      const h = this.rqHead[c]!;
      for (let i = 0; i < this.rqLen[c]!; i++) {
        const pid = q[(h + i) % q.length]!;
        const t = this.tasks[pid];
        if (t === undefined) return `sched: CPU ${c} queues unknown pid ${pid}`;
        if (seen[pid]) return `sched: ${t.name} queued twice`;
        seen[pid] = 1;
        if (t.state !== TASK_RUNNING) return `sched: ${t.name} queued in state ${t.state}`;
        if (t.cpu !== c) return `sched: ${t.name} queued on CPU ${c} but belongs to CPU ${t.cpu}`;
        total++;
      }
    }
    if (total !== this.nrQueued) return `sched: nrQueued ${this.nrQueued} != ${total}`;
    for (let c = 0; c < this.rq.length; c++) {
      if (this.rqLen[c]! > 0 && this.heapPos[c] === -1) return `sched: CPU ${c} has tasks but is not in the CPU heap`;
    }
    const viaHeap = this.pickCpu();
    const viaScan = this.pickCpuLinear();
    if (viaHeap !== viaScan) return `sched: CPU heap picks ${viaHeap}, a scan picks ${viaScan}`;
    for (const t of this.tasks) {
      if (!t.idle && t.state === TASK_RUNNING && !seen[t.pid]) return `sched: runnable ${t.name} is not queued`;
    }
    return null;
  }

  /** Pids of tasks on `cpu` that cannot leave it (migrate_disable() held across a sleep). */
  pinnedTasks(cpu: number): number[] {
    const out: number[] = [];
    for (const t of this.tasks)
      if (!t.idle && t.cpu === cpu && t.state !== TASK_DEAD && t.migrationDisabled > 0) out.push(t.pid);
    return out;
  }

  /** Tasks and run queues as plain JSON (for the web page). */
  toJSON(): SchedState {
    const tasks: TaskState[] = [];
    for (const t of this.tasks) {
      if (t.idle) continue;
      tasks.push({
        pid: t.pid,
        name: t.name,
        cpu: t.cpu,
        state: t.state,
        sumExecNs: t.sumExecNs,
        steps: t.nrSteps,
        heldLocks: t.held.names(),
      });
    }
    return { nrSwitches: this.nrSwitches, nrRunning: Array.from(this.rqLen), tasks };
  }
}
