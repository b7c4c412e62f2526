/**
 * DOC: read-write semaphores (`struct rw_semaphore`, e.g. `mmap_lock`).
 *
 * Many readers or one writer, owned by tasks, sleeping when contended. The
 * wait list is FIFO; a new reader does not overtake queued waiters (so
 * writers are not starved), and trylocks fail while anyone waits, as the
 * kernel's waiter flag makes them. When the lock becomes free the first
 * waiter decides: a writer gets it alone; otherwise every queued reader is
 * granted at once (`rwsem_mark_wake()` wakes all readers on the list).
 * `downgradeWrite` turns the writer into a reader and grants the queued
 * readers. A contended `downRead`/`downWrite` returns false after queueing
 * the task (retry the step when woken).
 */

import { type Task, TaskQueue } from '../sched/sched.js';
import type { MachineCore } from '../types.js';
import { HELD_READ, HELD_TRYLOCK, LOCK_KIND, LockdepError, LockdepMap, mightSleep } from './lockdep.js';

/** A read-write semaphore. */
export class RwSemaphore {
  /** The machine the lock lives on. */
  readonly machine: MachineCore;
  /** Lockdep class id: the lock's `struct lock_class`. */
  readonly classId: number;
  /** Lock class name, for reports and statistics. */
  readonly name: string;
  /** The lock's class and holder state as the lock checker sees it (`struct lockdep_map`). */
  readonly dep: LockdepMap;
  /** Number of readers holding it. */
  readers: number;
  /** Writer pid, -1 when none. */
  writerPid: number;
  /** Sleeping waiters, FIFO (each Task's `waitRead` says which side). */
  readonly waiters: TaskQueue;

  /** An unlocked rw_semaphore named `name`. @kernel init_rwsem (include/linux/rwsem.h) */
  constructor(machine: MachineCore, name: string) {
    this.machine = machine;
    this.name = name;
    this.classId = machine.lockdep.registerClass(name, LOCK_KIND.rwsem);
    this.dep = new LockdepMap(this.classId, name);
    this.readers = 0;
    this.writerPid = -1;
    this.waiters = new TaskQueue();
  }
}

function wait(sem: RwSemaphore, cpu: number, read: boolean): boolean {
  const m = sem.machine;
  m.lockdep.noteContention(sem.dep);
  m.account.chargeEvent(cpu, 'lockContended', 1);
  const t = m.sched.blockOn(sem, sem.name, cpu, read);
  sem.waiters.push(t);
  return false;
}

/**
 * Take `sem` for reading. Returns true when acquired, false when queued to sleep.
 * @kernel down_read (kernel/locking/rwsem.c)
 */
export function downRead(sem: RwSemaphore): boolean {
  const m = sem.machine;
  const cpu = m.currentCpu;
  mightSleep(m, `down_read(${sem.name})`);
  if (m.sched.takeGrant(sem, cpu)) {
    m.lockdep.noteWaited(sem.dep, cpu);
    m.lockdep.acquire(sem.dep, cpu, HELD_READ, 0);
    return true;
  }
  if (sem.writerPid === -1 && sem.waiters.length === 0) {
    m.lockdep.acquire(sem.dep, cpu, HELD_READ, 0);
    sem.readers++;
    return true;
  }
  if (sem.writerPid === m.sched.currentPid[cpu]) {
    throw new LockdepError('recursive-locking', sem.name, `down_read(${sem.name}) by its writer`);
  }
  return wait(sem, cpu, true);
}

/**
 * Take `sem` for writing. Returns true when acquired, false when queued to sleep.
 * @kernel down_write (kernel/locking/rwsem.c)
 */
export function downWrite(sem: RwSemaphore): boolean {
  const m = sem.machine;
  const cpu = m.currentCpu;
  mightSleep(m, `down_write(${sem.name})`);
  if (m.sched.takeGrant(sem, cpu)) {
    m.lockdep.noteWaited(sem.dep, cpu);
    m.lockdep.acquire(sem.dep, cpu, 0, 0);
    return true;
  }
  const pid = m.sched.currentPid[cpu]!;
  if (sem.writerPid === -1 && sem.readers === 0 && sem.waiters.length === 0) {
    m.lockdep.acquire(sem.dep, cpu, 0, 0);
    sem.writerPid = pid;
    return true;
  }
  if (sem.writerPid === pid || m.lockdep.isHeld(sem.dep, cpu)) {
    throw new LockdepError('recursive-locking', sem.name, `down_write(${sem.name}) by a task that already holds it`);
  }
  return wait(sem, cpu, false);
}

/** Try to take `sem` for reading without sleeping; true on success. @kernel down_read_trylock (kernel/locking/rwsem.c) */
export function downReadTrylock(sem: RwSemaphore): boolean {
  const m = sem.machine;
  const cpu = m.currentCpu;
  if (sem.writerPid !== -1 || sem.waiters.length > 0) {
    m.lockdep.noteTrylockFailure(sem.dep);
    return false;
  }
  m.lockdep.acquire(sem.dep, cpu, HELD_READ | HELD_TRYLOCK, 0);
  sem.readers++;
  return true;
}

/** Try to take `sem` for writing without sleeping; true on success. @kernel down_write_trylock (kernel/locking/rwsem.c) */
export function downWriteTrylock(sem: RwSemaphore): boolean {
  const m = sem.machine;
  const cpu = m.currentCpu;
  if (sem.writerPid !== -1 || sem.readers > 0 || sem.waiters.length > 0) {
    m.lockdep.noteTrylockFailure(sem.dep);
    return false;
  }
  m.lockdep.acquire(sem.dep, cpu, HELD_TRYLOCK, 0);
  sem.writerPid = m.sched.currentPid[cpu]!;
  return true;
}

/**
 * Release a read hold.
 * @kernel up_read (kernel/locking/rwsem.c)
 */
export function upRead(sem: RwSemaphore): void {
  const m = sem.machine;
  const cpu = m.currentCpu;
  if (sem.readers === 0) throw new LockdepError('bad-unlock', sem.name, `up_read(${sem.name}) with no reader`);
  m.lockdep.release(sem.dep, cpu);
  sem.readers--;
  if (sem.readers === 0) wake(sem);
}

/**
 * Release the write hold.
 * @kernel up_write (kernel/locking/rwsem.c)
 */
export function upWrite(sem: RwSemaphore): void {
  const m = sem.machine;
  const cpu = m.currentCpu;
  if (sem.writerPid !== m.sched.currentPid[cpu]) {
    throw new LockdepError('bad-unlock', sem.name, `up_write(${sem.name}) by a task that is not the writer`);
  }
  m.lockdep.release(sem.dep, cpu);
  sem.writerPid = -1;
  wake(sem);
}

/**
 * Turn the caller's write hold into a read hold and let queued readers in.
 * @kernel downgrade_write (kernel/locking/rwsem.c)
 */
export function downgradeWrite(sem: RwSemaphore): void {
  const m = sem.machine;
  const cpu = m.currentCpu;
  if (sem.writerPid !== m.sched.currentPid[cpu]) {
    throw new LockdepError('bad-unlock', sem.name, `downgrade_write(${sem.name}) by a task that is not the writer`);
  }
  m.lockdep.downgrade(sem.dep, cpu);
  sem.writerPid = -1;
  sem.readers = 1;
  grantReaders(sem);
}

function grantReaders(sem: RwSemaphore): void {
  const granted: Task[] = sem.waiters.extract((t) => t.waitRead);
  sem.readers += granted.length;
  for (const t of granted) sem.machine.sched.grant(t);
}

function wake(sem: RwSemaphore): void {
  const first = sem.waiters.peek();
  if (first === null || sem.writerPid !== -1) return;
  if (!first.waitRead) {
    if (sem.readers !== 0) return;
    sem.waiters.shift();
    sem.writerPid = first.pid;
    sem.machine.sched.grant(first);
    return;
  }
  grantReaders(sem);
}

/** Whether `sem` is held by readers or a writer. @kernel rwsem_is_locked (include/linux/rwsem.h) */
export function rwsemIsLocked(sem: RwSemaphore): boolean {
  return sem.readers > 0 || sem.writerPid !== -1;
}
