/**
 * DOC: wait queues and completions: how a task step sleeps until an event.
 *
 * A step that must wait for something (a page to be unlocked, I/O to end,
 * a reclaim pass) checks its condition; when it does not hold, it calls
 * `prepareToWait(wq, task)` and returns the result, `SCHED_SLEEP`. The code
 * that makes the condition true calls `wakeUp(wq)`, which makes the waiters
 * runnable; their steps run again and re-check the condition (wake-ups can
 * be spurious, as in the kernel's `wait_event()` loop). A completion is a
 * counted one-shot event built the same way.
 */
import type { MachineCore } from '../types.js';
import { SCHED_AGAIN, SCHED_SLEEP, TASK_UNINTERRUPTIBLE, type Task, TaskQueue } from './sched.js';

/** A wait queue head (the model of `wait_queue_head_t`). */
export class WaitQueueHead {
  /** The machine the wait queue lives on. */
  readonly machine: MachineCore;
  /** Tasks waiting, in arrival order. */
  readonly waiters: TaskQueue;

  /** An empty wait queue. @kernel init_waitqueue_head (include/linux/wait.h) */
  constructor(machine: MachineCore) {
    this.machine = machine;
    this.waiters = new TaskQueue();
  }
}

/**
 * Queue `task` on `wq` and put it to sleep; return the result for its step.
 * @kernel prepare_to_wait (kernel/sched/wait.c)
 */
export function prepareToWait(wq: WaitQueueHead, task: Task): number {
  task.state = TASK_UNINTERRUPTIBLE;
  if (!wq.waiters.includes(task)) wq.waiters.push(task);
  return SCHED_SLEEP;
}

/**
 * Sleep on `wq` unless `cond()` already holds: SCHED_AGAIN when it holds
 * (go on), SCHED_SLEEP after queueing the task.
 * @kernel wait_event (include/linux/wait.h)
 */
export function waitEvent(wq: WaitQueueHead, task: Task, cond: () => boolean): number {
  return cond() ? SCHED_AGAIN : prepareToWait(wq, task);
}

/**
 * Wake every waiter of `wq`; returns how many were woken.
 * @kernel wake_up_all (include/linux/wait.h)
 */
export function wakeUpAll(wq: WaitQueueHead): number {
  let n = 0;
  for (let t = wq.waiters.shift(); t !== null; t = wq.waiters.shift()) n += wq.machine.sched.wakeUpProcess(t);
  return n;
}

/**
 * Wake the first waiter of `wq`; returns 1 when one was woken.
 * @kernel wake_up (include/linux/wait.h)
 */
export function wakeUp(wq: WaitQueueHead): number {
  for (let t = wq.waiters.shift(); t !== null; t = wq.waiters.shift()) {
    if (wq.machine.sched.wakeUpProcess(t) === 1) return 1;
  }
  return 0;
}

/** Whether any task waits on `wq`. @kernel waitqueue_active (include/linux/wait.h) */
export function waitqueueActive(wq: WaitQueueHead): boolean {
  return wq.waiters.length > 0;
}

/** A completion (the model of `struct completion`). */
export class Completion {
  /** Completions not yet consumed (`done`). */
  done: number;
  /** Tasks waiting for `done`. @kernel completion.wait */
  readonly wait: WaitQueueHead;

  /** A completion not yet done. @kernel init_completion (include/linux/completion.h) */
  constructor(machine: MachineCore) {
    this.done = 0;
    this.wait = new WaitQueueHead(machine);
  }
}

/**
 * Signal one waiter (or the next one to come).
 * @kernel complete (kernel/sched/completion.c)
 */
export function complete(c: Completion): void {
  c.done++;
  wakeUp(c.wait);
}

/**
 * Signal every current and future waiter.
 * @kernel complete_all (kernel/sched/completion.c)
 */
export function completeAll(c: Completion): void {
  c.done = Number.MAX_SAFE_INTEGER;
  wakeUpAll(c.wait);
}

/**
 * From a task step: consume a completion (SCHED_AGAIN: go on) or sleep
 * until one is signalled (SCHED_SLEEP: retry the step when woken).
 * @kernel wait_for_completion (kernel/sched/completion.c)
 */
export function waitForCompletion(c: Completion, task: Task): number {
  if (c.done > 0) {
    if (c.done !== Number.MAX_SAFE_INTEGER) c.done--;
    return SCHED_AGAIN;
  }
  return prepareToWait(c.wait, task);
}

/** Consume one completion without waiting; false when none is done. @kernel try_wait_for_completion (kernel/sched/completion.c) */
export function tryWaitForCompletion(c: Completion): boolean {
  if (c.done === 0) return false;
  if (c.done !== Number.MAX_SAFE_INTEGER) c.done--;
  return true;
}
