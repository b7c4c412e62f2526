/**
 * DOC: the page allocator's locks, taken through the machine's lock API.
 *
 * The kernel's page allocator takes two kinds of lock: `zone->lock` (a
 * `spinlock_t` per zone, always with interrupts saved and disabled, around
 * every free-list change) and `pcp->lock` (a `spinlock_t` in each CPU's
 * `per_cpu_pages` of each zone). The pcp lock is only ever *tried* on the
 * allocation and free paths (`pcp_spin_trylock`, with the task pinned to its
 * CPU by `preempt_disable`, or `migrate_disable` under PREEMPT_RT): when it
 * is held (an interrupt that allocates or frees while the code it
 * interrupted holds this CPU's pcp lock, or a remote drain), the request
 * goes to the buddy lists under `zone->lock` instead. Draining a pcp takes
 * its lock outright (`pcp_spin_lock_nopin`). The order is pcp->lock, then
 * zone->lock.
 *
 * Here both are `SpinLockArray`s, one lockdep class each (`&zone->lock`,
 * `&pcp->lock`): lockdep checks the order and the interrupt contexts,
 * lock_stat counts acquisitions and failed trylocks, the cost model charges
 * every acquisition, and PREEMPT_RT makes them sleeping locks. The
 * allocator counts the trylock fallbacks in `nrPcpTrylockFailed`.
 *
 * Under PREEMPT_RT a contended `spin_lock` puts the task to sleep and
 * answers "would sleep" after queueing it; no allocator path can be resumed
 * from the middle and none holds a lock across calls, so contention can only
 * come from a harness holding the lock in a suspended task. The helpers
 * refuse that case with a LockdepError `would-block` before the lock call,
 * so a "would sleep" answer is never produced and never dropped; were one
 * produced anyway, it is a broken invariant (`MmBugError`). Without
 * PREEMPT_RT the same situation is the machine's `spin-deadlock` report.
 */

import { MmBugError } from '../errors.js';
import { type SpinLockArray, spinIsLockedAt, spinLockAt, spinTrylockAt, spinUnlockAt } from '../locking/lock-array.js';
import { LockdepError } from '../locking/lockdep.js';
import type { PageAllocator } from './page-alloc.js';

/** Lockdep class name of the zone locks. */
export const ZONE_LOCK_NAME = '&zone->lock';
/** Lockdep class name of the per-CPU page list locks. */
export const PCP_LOCK_NAME = '&pcp->lock';

/** PREEMPT_RT: refuse to sleep for a lock another task holds (see the DOC above). */
function refuseSleep(pa: PageAllocator, a: SpinLockArray, i: number): void {
  const owner = a.ownerPid[i] as number;
  const m = pa.machine;
  if (owner >= 0 && owner !== m.sched.currentPid[m.currentCpu]) {
    throw new LockdepError(
      'would-block',
      a.name,
      `${a.name}[${i}] is held by pid ${owner}; the page allocator cannot sleep for it here`,
    );
  }
}

function wouldSleep(a: SpinLockArray, i: number): MmBugError {
  return new MmBugError(`page_alloc: ${a.name}[${i}] would sleep although no other task holds it`);
}

/**
 * `spin_lock_irqsave(&zone->lock, flags)`.
 * @returns the saved interrupt flags for {@link zoneUnlockIrqrestore}.
 * @kernel spin_lock_irqsave (include/linux/spinlock.h)
 */
export function zoneLockIrqsave(pa: PageAllocator, zone: number): number {
  const a = pa.zoneLock;
  if (a.sleeping) {
    // PREEMPT_RT: a sleeping lock; interrupts stay enabled.
    refuseSleep(pa, a, zone);
    if (!spinLockAt(a, zone)) throw wouldSleep(a, zone);
    return 0;
  }
  const cpus = pa.machine.cpus;
  const flags = cpus.localIrqSave();
  try {
    spinLockAt(a, zone);
  } catch (e) {
    cpus.irqsOff[pa.machine.currentCpu] = flags;
    throw e;
  }
  return flags;
}

/**
 * `spin_unlock_irqrestore(&zone->lock, flags)`.
 * @kernel spin_unlock_irqrestore (include/linux/spinlock.h)
 */
export function zoneUnlockIrqrestore(pa: PageAllocator, zone: number, flags: number): void {
  const a = pa.zoneLock;
  spinUnlockAt(a, zone);
  if (!a.sleeping) pa.machine.cpus.localIrqRestore(flags);
}

/**
 * `pcp_spin_trylock()`: pin the task to this CPU and try the pcp lock of
 * pcp index `p` (`cpu * nrZones + zone`). On failure the task is unpinned
 * and the fallback is counted.
 * @returns true when the lock is held (release with {@link pcpSpinUnlock}).
 * @kernel pcp_spin_trylock (mm/page_alloc.c)
 */
export function pcpSpinTrylock(pa: PageAllocator, p: number): boolean {
  const a = pa.pcpLock;
  if (!spinTrylockAt(a, p)) {
    pa.nrPcpTrylockFailed++;
    return false;
  }
  // pcpu_task_pin(). The kernel pins before the trylock; here nothing runs
  // in between, and neither the preempt count's PREEMPT bits nor migrate
  // disabling change what the trylock checks, so pinning after it is the
  // same and a failed trylock has nothing to undo.
  if (a.sleeping) pa.machine.cpus.migrateDisable();
  else pa.machine.cpus.preemptDisable();
  return true;
}

/**
 * `pcp_spin_unlock()`: release the pcp lock and unpin the task.
 * @kernel pcp_spin_unlock (mm/page_alloc.c)
 */
export function pcpSpinUnlock(pa: PageAllocator, p: number): void {
  const a = pa.pcpLock;
  spinUnlockAt(a, p);
  if (a.sleeping) pa.machine.cpus.migrateEnable();
  else pa.machine.cpus.preemptEnable();
}

/**
 * Whether pcp `p`'s lock is held (the order-0 fast path leaves a held pcp
 * to the general path, which tries the lock and falls back).
 * @kernel spin_is_locked (include/linux/spinlock.h)
 */
export function pcpIsLocked(pa: PageAllocator, p: number): boolean {
  return spinIsLockedAt(pa.pcpLock, p);
}

/**
 * `pcp_spin_lock_nopin()`: take a given pcp's lock outright (drains).
 * @kernel pcp_spin_lock_nopin (mm/page_alloc.c)
 */
export function pcpSpinLockNopin(pa: PageAllocator, p: number): void {
  const a = pa.pcpLock;
  if (a.sleeping) refuseSleep(pa, a, p);
  if (!spinLockAt(a, p)) throw wouldSleep(a, p);
}

/**
 * `pcp_spin_unlock_nopin()`.
 * @kernel pcp_spin_unlock_nopin (mm/page_alloc.c)
 */
export function pcpSpinUnlockNopin(pa: PageAllocator, p: number): void {
  spinUnlockAt(pa.pcpLock, p);
}
