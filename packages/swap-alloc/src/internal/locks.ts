/**
 * DOC: the swap allocator's locks, taken through the machine's lock API.
 *
 * The kernel's swap code takes, in this order (L-pcp, mm/swapfile.c):
 * `percpu_swap_cluster.lock` (a `local_lock_t`) → `si->global_cluster_lock`
 * (HDD only) → `ci->lock` (one per cluster) → `si->lock` (only for cluster
 * list moves) and, separately, `swap_avail_lock`, `swap_lock` and
 * `si->cont_lock`. Here they are the machine's own locks: `LocalLock`,
 * `SpinLock`, and for `ci->lock` a `SpinLockArray` per device (one
 * `spinlock_t` per cluster in typed arrays, all of one lockdep class, as the
 * kernel's are initialised at one site). So lockdep checks the order and the
 * contexts, lock_stat counts them, every acquisition is charged to the cost
 * model, and PREEMPT_RT makes them sleeping locks.
 *
 * Under PREEMPT_RT a contended lock puts the task to sleep, and the lock
 * call answers "would sleep" (false) after queueing it. No swap path can be
 * resumed from the middle (the kernel sleeps inside `spin_lock` and carries
 * on), and no swap path holds a lock across calls, so contention can only
 * come from a harness that holds a swap lock in a suspended task. The lock
 * helpers below refuse that case as a LockdepError `would-block` *before*
 * the lock call, so a "would sleep" answer is never produced and never
 * dropped; were one produced anyway, it is a broken invariant
 * (`MmBugError`). Without PREEMPT_RT the same situation is the machine's
 * `spin-deadlock` report.
 */
import {
  type LocalLock,
  LockdepError,
  localLock,
  type MachineCore,
  MmBugError,
  type SpinLock,
  type SpinLockArray,
  spinLock,
  spinLockAt,
} from '@mm/machine';

/** PREEMPT_RT: refuse to sleep for a lock another task holds (see the DOC above). */
function refuseSleep(m: MachineCore, name: string, ownerPid: number): void {
  if (ownerPid >= 0 && ownerPid !== m.sched.currentPid[m.currentCpu]) {
    throw new LockdepError(
      'would-block',
      name,
      `${name} is held by pid ${ownerPid}; the swap allocator cannot sleep for it here`,
    );
  }
}

function wouldSleep(name: string): MmBugError {
  return new MmBugError(`swap: ${name} would sleep although no other task holds it`);
}

/** `spin_lock()` of a swap spinlock, never discarding a PREEMPT_RT "would sleep". @kernel spin_lock */
export function swapSpinLock(l: SpinLock): void {
  if (l.sleeping) refuseSleep(l.machine, l.name, l.ownerPid);
  if (!spinLock(l)) throw wouldSleep(l.name);
}

/** `spin_lock(&ci->lock)`: lock `ci` of a device's cluster locks. @kernel spin_lock */
export function swapSpinLockAt(a: SpinLockArray, ci: number): void {
  if (a.sleeping) refuseSleep(a.machine, a.name, a.ownerPid[ci]!);
  if (!spinLockAt(a, ci)) throw wouldSleep(a.name);
}

/** `local_lock(&percpu_swap_cluster.lock)`. @kernel local_lock */
export function swapLocalLock(l: LocalLock): void {
  if (l.rt) refuseSleep(l.machine, l.name, l.ownerPid[l.machine.currentCpu]!);
  if (!localLock(l)) throw wouldSleep(l.name);
}

/** The lock class names (as the kernel's lockdep shows them). */
export const SWAP_LOCK_NAMES = Object.freeze({
  pcp: 'percpu_swap_cluster.lock',
  ci: '&ci->lock',
  si: '&si->lock',
  global: '&si->global_cluster_lock',
  cont: '&si->cont_lock',
  swapLock: 'swap_lock',
  swapAvailLock: 'swap_avail_lock',
});

/** Whether any CPU holds the local lock (for the validator). */
export function localLockHeldAnywhere(l: LocalLock): number {
  for (let c = 0; c < l.ownerPid.length; c++) if (l.ownerPid[c] !== -1) return c;
  return -1;
}
