/**
 * DOC: the mmap lock: `mm->mmap_lock` (a machine rw-semaphore, so lockdep
 * sees it) and its sequence count `mm->mm_lock_seq`, which is odd while the
 * lock is write-held. Every VMA write-locked with `vma_start_write()` in a
 * write section is unlocked at once when the section ends (unlock or
 * downgrade bump the count), which is how the kernel releases per-VMA write
 * locks.
 *
 * The lock sleeps when contended, as the kernel's does, but only a task the
 * machine's scheduler runs can sleep: its step queues on the rw-semaphore's
 * wait list ({@link mmapLockWait}, {@link mmapReadLockTask},
 * {@link mmapWriteLockTask} return false) and returns `SCHED_SLEEP`; the
 * releasing task hands the lock over and wakes it, and the retried step
 * finds the lock granted. The system calls themselves take the lock with
 * the plain functions below: they run inside one step, after the step made
 * sure the lock is free or handed over to it. A contended lock met by a
 * synchronous call (the harness, which runs as a CPU's idle task and
 * cannot sleep) is a misuse, an `MmBugError`.
 */
import { downgradeWrite, downRead, downWrite, MmBugError, upRead, upWrite } from '@mm/machine';
import type { MmStruct } from './mm-types.js';

/** Whether the current task was handed `mm`'s mmap lock while it slept (its retried step takes it). */
export function mmapLockGranted(mm: MmStruct): boolean {
  const sem = mm.mmapLock;
  const m = sem.machine;
  const t = m.sched.current(m.currentCpu);
  return t.waitingOn === sem && t.granted;
}

/** Whether taking the lock now (for reading or writing) would have to wait. */
export function mmapLockContended(mm: MmStruct, read: boolean): boolean {
  const sem = mm.mmapLock;
  return sem.writerPid !== -1 || (!read && sem.readers > 0) || sem.waiters.length > 0;
}

function assertFree(mm: MmStruct, what: string, read: boolean): void {
  if (!mmapLockContended(mm, read) || mmapLockGranted(mm)) return;
  const m = mm.mmapLock.machine;
  const t = m.sched.current(m.currentCpu);
  throw new MmBugError(
    t.idle
      ? `mm: ${what} of pid ${mm.pid} would sleep: the mmap lock is contended and ${t.name} (the harness) cannot sleep; run the call as a scheduled task`
      : `mm: ${what} of pid ${mm.pid} would sleep in the middle of a system call (only a call's first mmap-lock acquisition may sleep in the model)`,
  );
}

/** Take `mm`'s mmap lock for writing, opening a write section. @kernel mmap_write_lock (include/linux/mmap_lock.h) */
export function mmapWriteLock(mm: MmStruct): void {
  assertFree(mm, 'mmap_write_lock', false);
  downWrite(mm.mmapLock);
  mm.mmLockSeq++;
}

/**
 * The killable form; a fatal signal would return -EINTR (no signals yet).
 * @kernel mmap_write_lock_killable (include/linux/mmap_lock.h)
 */
export function mmapWriteLockKillable(mm: MmStruct): number {
  mmapWriteLock(mm);
  return 0;
}

/** Ends the write section: every VMA write lock of it is released. @kernel mmap_write_unlock (include/linux/mmap_lock.h) */
export function mmapWriteUnlock(mm: MmStruct): void {
  mm.mmLockSeq++;
  upWrite(mm.mmapLock);
}

/** Keep the lock for reading; ends the VMA write locks. @kernel mmap_write_downgrade (include/linux/mmap_lock.h) */
export function mmapWriteDowngrade(mm: MmStruct): void {
  mm.mmLockSeq++;
  downgradeWrite(mm.mmapLock);
}

/** Take `mm`'s mmap lock for reading. @kernel mmap_read_lock (include/linux/mmap_lock.h) */
export function mmapReadLock(mm: MmStruct): void {
  assertFree(mm, 'mmap_read_lock', true);
  downRead(mm.mmapLock);
}

/** Release `mm`'s mmap lock taken for reading. @kernel mmap_read_unlock (include/linux/mmap_lock.h) */
export function mmapReadUnlock(mm: MmStruct): void {
  upRead(mm.mmapLock);
}

/**
 * From a scheduled task's step, before a system call that takes the lock
 * itself: true when the call may run now (the lock is free, or was handed
 * over to this task while it slept: the call's own `mmap_*_lock` takes the
 * hand-over); false after queueing the task on the lock's wait list (the
 * step returns `SCHED_SLEEP` and runs the call again when woken).
 * @kernel rwsem_down_read_slowpath / rwsem_down_write_slowpath (kernel/locking/rwsem.c)
 */
export function mmapLockWait(mm: MmStruct, read: boolean): boolean {
  if (mmapLockGranted(mm) || !mmapLockContended(mm, read)) return true;
  return read ? downRead(mm.mmapLock) : mmapWriteLockTask(mm);
}

/**
 * `mmap_read_lock()` from a scheduled task's step: true when held, false
 * after queueing the task (retry the step when woken: the lock is then
 * handed over).
 * @kernel mmap_read_lock (include/linux/mmap_lock.h)
 */
export function mmapReadLockTask(mm: MmStruct): boolean {
  return downRead(mm.mmapLock);
}

/**
 * `mmap_write_lock()` from a scheduled task's step: true when held (the
 * write section begins: `mm_lock_seq` turns odd), false after queueing.
 * @kernel mmap_write_lock (include/linux/mmap_lock.h)
 */
export function mmapWriteLockTask(mm: MmStruct): boolean {
  if (!downWrite(mm.mmapLock)) return false;
  mm.mmLockSeq++;
  return true;
}

/**
 * Give back a hand-over the task did not use (its system call failed before
 * taking the lock): take it and release it, waking the next waiters.
 */
export function mmapLockDropGrant(mm: MmStruct): void {
  const sem = mm.mmapLock;
  const m = sem.machine;
  if (!mmapLockGranted(mm)) return;
  const read = m.sched.current(m.currentCpu).waitRead;
  if (read) {
    downRead(sem);
    upRead(sem);
  } else {
    mmapWriteLock(mm);
    mmapWriteUnlock(mm);
  }
}
