/**
 * DOC: workqueues and delayed work.
 *
 * Each workqueue has one worker task per CPU (`kworker/N:name`), created on
 * first use. Queued work items run in that worker's task context, one per
 * scheduler step, in queueing order; the pending bit is cleared before the
 * function runs so a work item can requeue itself (the kernel's rule).
 * Delayed work is a timer that queues the work on expiry. A work function
 * runs to completion: it may take sleeping locks only with trylock, or
 * requeue itself to try again later.
 */
import { MmError } from '../errors.js';
import type { MachineCore } from '../types.js';
import { SCHED_AGAIN, SCHED_SLEEP, TASK_INTERRUPTIBLE, type Task } from './sched.js';
import { TimerList, type Timers } from './timer.js';

/** A work item (the model of `struct work_struct`). */
export class WorkStruct {
  /** The function run in a worker's task context. */
  readonly fn: (work: WorkStruct) => void;
  /** True from queueing until the function starts. */
  pending: boolean;
  /** The workqueue and CPU it was last queued on. */
  wq: Workqueue | null;
  /** CPU it was last queued on (-1 before). */
  cpu: number;

  /** A work item that runs `fn`. @kernel INIT_WORK (include/linux/workqueue.h) */
  constructor(fn: (work: WorkStruct) => void) {
    this.fn = fn;
    this.pending = false;
    this.wq = null;
    this.cpu = -1;
  }
}

/** Delayed work (the model of `struct delayed_work`): a work item and its timer. */
export class DelayedWork {
  /** The work item queued when the timer fires. @kernel delayed_work.work */
  readonly work: WorkStruct;
  /** The delay timer. @kernel delayed_work.timer */
  readonly timer: TimerList;
  /** Target of the queueing in progress. */
  wq: Workqueue | null;
  /** CPU to queue on when the timer fires. */
  cpu: number;

  /** A work item that runs `fn` after a delay. @kernel INIT_DELAYED_WORK (include/linux/workqueue.h) */
  constructor(fn: (work: WorkStruct) => void) {
    this.work = new WorkStruct(fn);
    this.wq = null;
    this.cpu = -1;
    this.timer = new TimerList(() => {
      const wq = this.wq!;
      this.work.pending = false;
      wq.owner.queueWorkOn(this.cpu, wq, this.work);
    });
  }
}

/** A workqueue (the model of `struct workqueue_struct`). */
export class Workqueue {
  /** Workqueue name. */
  readonly name: string;
  /** The machine's set of workqueues. */
  readonly owner: Workqueues;
  /** Queued items per CPU. */
  readonly queues: WorkStruct[][];
  /** Worker task per CPU (null until first use). */
  readonly workers: (Task | null)[];
  /** Work functions run so far. */
  nrExecuted: number;

  constructor(owner: Workqueues, name: string, nrCpus: number) {
    this.name = name;
    this.owner = owner;
    this.queues = [];
    this.workers = [];
    for (let c = 0; c < nrCpus; c++) {
      this.queues.push([]);
      this.workers.push(null);
    }
    this.nrExecuted = 0;
  }

  /** Items queued and not yet started, over all CPUs. */
  get nrQueued(): number {
    let n = 0;
    for (const q of this.queues) n += q.length;
    return n;
  }
}

/** The machine as workqueues see it: the core, timers (delayed work) and its own `workqueues`. */
export interface WorkqueuesHost extends MachineCore {
  /** Timers, for delayed work. */
  readonly timers: Timers;
  /** The machine's workqueues. */
  readonly workqueues: Workqueues;
}

/** The workqueue subsystem of a machine (`machine.workqueues`). */
export class Workqueues {
  /** The default queue (`system_wq`). */
  readonly systemWq: Workqueue;
  private readonly machine: WorkqueuesHost;

  constructor(machine: WorkqueuesHost) {
    this.machine = machine;
    this.systemWq = new Workqueue(this, 'events', machine.topology.nrCpus);
  }

  /** A new workqueue named `name`, with a pool per CPU. @kernel alloc_workqueue (kernel/workqueue.c) */
  allocWorkqueue(name: string): Workqueue {
    return new Workqueue(this, name, this.machine.topology.nrCpus);
  }

  /**
   * Queue `work` on the current CPU; false when it was already pending.
   * @kernel queue_work (include/linux/workqueue.h)
   */
  queueWork(wq: Workqueue, work: WorkStruct): boolean {
    return this.queueWorkOn(this.machine.currentCpu, wq, work);
  }

  /**
   * Queue `work` on `cpu` (the next online CPU if it is offline); false when
   * it was already pending.
   * @kernel queue_work_on (kernel/workqueue.c)
   */
  queueWorkOn(cpu: number, wq: Workqueue, work: WorkStruct): boolean {
    const cpus = this.machine.cpus;
    cpus.checkCpu(cpu, false);
    if (work.pending) return false;
    if (cpus.online[cpu] === 0) cpu = cpus.onlineCpus()[0]!;
    work.pending = true;
    work.wq = wq;
    work.cpu = cpu;
    wq.queues[cpu]!.push(work);
    const w = this.worker(wq, cpu);
    this.machine.sched.wakeUpProcess(w);
    return true;
  }

  private worker(wq: Workqueue, cpu: number): Task {
    const existing = wq.workers[cpu];
    if (existing !== null && existing !== undefined) return existing;
    const q = wq.queues[cpu]!;
    const t = this.machine.sched.kthreadCreate(`kworker/${cpu}:${wq.name}`, cpu, (task) => {
      const work = q.shift();
      if (work === undefined) {
        task.state = TASK_INTERRUPTIBLE;
        return SCHED_SLEEP;
      }
      work.pending = false;
      wq.nrExecuted++;
      const depth = task.held.depth;
      work.fn(work);
      // process_one_work(): "BUG: workqueue leaked lock or atomic".
      this.machine.lockdep.checkDepth(this.machine.currentCpu, depth, `work item of ${task.name}`);
      if (q.length > 0) return SCHED_AGAIN;
      task.state = TASK_INTERRUPTIBLE;
      return SCHED_SLEEP;
    });
    wq.workers[cpu] = t;
    return t;
  }

  /**
   * Queue `dwork` on `wq` after `delayNs` on the current CPU; false when pending.
   * @kernel queue_delayed_work (include/linux/workqueue.h)
   */
  queueDelayedWork(wq: Workqueue, dwork: DelayedWork, delayNs: number): boolean {
    return this.queueDelayedWorkOn(this.machine.currentCpu, wq, dwork, delayNs);
  }

  /**
   * Queue `dwork` on `wq` and `cpu` after `delayNs` (at once when 0).
   * @kernel queue_delayed_work_on (kernel/workqueue.c)
   */
  queueDelayedWorkOn(cpu: number, wq: Workqueue, dwork: DelayedWork, delayNs: number): boolean {
    if (!(delayNs >= 0)) throw new MmError('EINVAL', `workqueue: delay ${delayNs} ns must be >= 0`);
    if (dwork.work.pending || this.machine.timers.timerPending(dwork.timer)) return false;
    if (delayNs === 0) return this.queueWorkOn(cpu, wq, dwork.work);
    dwork.wq = wq;
    dwork.cpu = cpu;
    dwork.timer.expires = this.machine.clock.cpuNow(this.machine.currentCpu) + delayNs;
    this.machine.timers.addTimerOn(dwork.timer, cpu);
    return true;
  }

  /**
   * Queue `dwork` after `delayNs` on `cpu`, or move its timer there if it is
   * already pending; returns whether it was pending before.
   * @kernel mod_delayed_work_on (kernel/workqueue.c)
   */
  modDelayedWorkOn(cpu: number, wq: Workqueue, dwork: DelayedWork, delayNs: number): boolean {
    if (!(delayNs >= 0)) throw new MmError('EINVAL', `workqueue: delay ${delayNs} ns must be >= 0`);
    const was = this.cancelDelayedWork(dwork);
    this.queueDelayedWorkOn(cpu, wq, dwork, delayNs);
    return was;
  }

  /**
   * Cancel `dwork` if its timer is pending or it is queued and not started;
   * returns whether it was pending.
   * @kernel cancel_delayed_work (kernel/workqueue.c)
   */
  cancelDelayedWork(dwork: DelayedWork): boolean {
    if (this.machine.timers.delTimer(dwork.timer) === 1) return true;
    return this.cancelWork(dwork.work);
  }

  /**
   * Remove `work` from its queue if it has not started; returns whether it was pending.
   * @kernel cancel_work (kernel/workqueue.c)
   */
  cancelWork(work: WorkStruct): boolean {
    if (!work.pending || work.wq === null) return false;
    const q = work.wq.queues[work.cpu]!;
    const i = q.indexOf(work);
    if (i >= 0) q.splice(i, 1);
    work.pending = false;
    return true;
  }

  /**
   * Run the machine until `wq` has no queued work (from the harness context).
   * Returns false when the work could not drain within `limitNs` of virtual time.
   * @kernel flush_workqueue (kernel/workqueue.c)
   */
  flushWorkqueue(wq: Workqueue, limitNs = 10_000_000_000): boolean {
    const m = this.machine;
    return m.sched.runWhile(() => wq.nrQueued > 0, m.clock.now + limitNs);
  }
}
