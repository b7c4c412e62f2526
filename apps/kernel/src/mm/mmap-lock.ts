/**
 * DOC: the mmap lock: `mm->mmap_lock` (a machine rw-semaphore, so lockdep
 * sees it) and its sequence count `mm->mm_lock_seq`, which is odd while the
 * lock is write-held. Every VMA write-locked with `vma_start_write()` in a
 * write section is unlocked at once when the section ends (unlock or
 * downgrade bump the count), which is how the kernel releases per-VMA write
 * locks.
 *
 * The syscalls of this model are synchronous calls from the harness or a
 * task's step. A contended mmap lock would put the caller to sleep; here it
 * is a misuse of the synchronous API (an `MmBugError`) until the scheduler
 * drives syscalls as resumable steps.
 */
import { downgradeWrite, downRead, downWrite, MmBugError, upRead, upWrite } from '@mm/machine';
import type { MmStruct } from './mm-types.js';

function assertFree(mm: MmStruct, what: string, read: boolean): void {
  const sem = mm.mmapLock;
  if (sem.writerPid !== -1 || (!read && sem.readers > 0) || sem.waiters.length > 0)
    throw new MmBugError(`mm: ${what} of pid ${mm.pid} would sleep: the mmap lock is contended`);
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
