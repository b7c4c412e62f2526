/**
 * DOC: mutexes (`struct mutex`).
 *
 * A sleeping lock owned by a task. `mutexLock` checks that the context may
 * sleep; when the mutex is held by another task the caller is queued, put to
 * sleep, and the function returns false: the task's step returns and is
 * retried when woken. Unlock hands the mutex to the first waiter (FIFO, the
 * kernel's handoff without optimistic spinning), so the retried
 * `mutexLock` returns true at once. Only the owner may unlock.
 */

import { TaskQueue } from '../sched/sched.js';
import type { MachineCore } from '../types.js';
import { HELD_TRYLOCK, LOCK_KIND, LockdepError, LockdepMap, mightSleep } from './lockdep.js';

/** A sleeping lock owned by one task, handed to waiters in FIFO order. @kernel struct mutex (include/linux/mutex_types.h) */
export class Mutex {
  /** The machine the lock lives on. */
  readonly machine: MachineCore;
  /** Lockdep class id: the lock's `struct lock_class`. */
  readonly classId: number;
  /** Lock class name, for reports and statistics. */
  readonly name: string;
  /** The lock's class and holder state as the lock checker sees it (`struct lockdep_map`). */
  readonly dep: LockdepMap;
  /** Owner task pid, -1 when unlocked. */
  ownerPid: number;
  /** Sleeping waiters, FIFO. */
  readonly waiters: TaskQueue;

  /** An unlocked mutex named `name`. @kernel mutex_init (include/linux/mutex.h) */
  constructor(machine: MachineCore, name: string) {
    this.machine = machine;
    this.name = name;
    this.classId = machine.lockdep.registerClass(name, LOCK_KIND.mutex);
    this.dep = new LockdepMap(this.classId, name);
    this.ownerPid = -1;
    this.waiters = new TaskQueue();
  }
}

/**
 * Take `m`, sleeping if needed. Returns true when acquired, false when the
 * current task was queued to sleep (retry the step when woken).
 * @throws LockdepError `sleep-in-atomic`, `recursive-locking`, or `would-block` from the harness context.
 * @kernel mutex_lock (kernel/locking/mutex.c)
 */
export function mutexLock(mu: Mutex): boolean {
  const m = mu.machine;
  const cpu = m.currentCpu;
  mightSleep(m, `mutex_lock(${mu.name})`);
  const sched = m.sched;
  if (sched.takeGrant(mu, cpu)) {
    m.lockdep.noteWaited(mu.dep, cpu);
    m.lockdep.acquire(mu.dep, cpu, 0, 0);
    return true;
  }
  const pid = sched.currentPid[cpu]!;
  if (mu.ownerPid === -1) {
    m.lockdep.acquire(mu.dep, cpu, 0, 0);
    mu.ownerPid = pid;
    return true;
  }
  if (mu.ownerPid === pid) {
    throw new LockdepError(
      'recursive-locking',
      mu.name,
      `mutex_lock(${mu.name}) by its owner ${sched.current(cpu).name}`,
    );
  }
  m.lockdep.noteContention(mu.dep);
  m.account.chargeEvent(cpu, 'lockContended', 1);
  const t = sched.blockOn(mu, mu.name, cpu, false);
  mu.waiters.push(t);
  return false;
}

/**
 * Take `m` if it is free (never sleeps).
 * @kernel mutex_trylock (kernel/locking/mutex.c)
 */
export function mutexTrylock(mu: Mutex): boolean {
  const m = mu.machine;
  const cpu = m.currentCpu;
  if (mu.ownerPid !== -1) {
    m.lockdep.noteTrylockFailure(mu.dep);
    return false;
  }
  m.lockdep.acquire(mu.dep, cpu, HELD_TRYLOCK, 0);
  mu.ownerPid = m.sched.currentPid[cpu]!;
  return true;
}

/**
 * Release `m`; the first waiter (if any) becomes the owner and is woken.
 * @throws LockdepError `bad-unlock` when the current task is not the owner.
 * @kernel mutex_unlock (kernel/locking/mutex.c)
 */
export function mutexUnlock(mu: Mutex): void {
  const m = mu.machine;
  const cpu = m.currentCpu;
  const pid = m.sched.currentPid[cpu]!;
  if (mu.ownerPid !== pid) {
    throw new LockdepError(
      'bad-unlock',
      mu.name,
      `mutex_unlock(${mu.name}) by ${m.sched.current(cpu).name}, which is not the owner (pid ${mu.ownerPid})`,
    );
  }
  m.lockdep.release(mu.dep, cpu);
  const next = mu.waiters.shift();
  if (next === null) {
    mu.ownerPid = -1;
  } else {
    mu.ownerPid = next.pid;
    m.sched.grant(next);
  }
}

/** Whether `mu` is held. @kernel mutex_is_locked (include/linux/mutex.h) */
export function mutexIsLocked(mu: Mutex): boolean {
  return mu.ownerPid !== -1;
}
