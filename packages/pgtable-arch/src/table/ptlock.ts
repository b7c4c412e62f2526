/**
 * DOC: split page-table locks (`ptlock_ptr()`, `pte_lockptr()`,
 * `pmd_lockptr()`), materialized while held.
 *
 * With SPLIT_PTE_PTLOCKS every PTE table has its own spinlock (the kernel
 * embeds a `spinlock_t` in `struct ptdesc`), and with
 * ARCH_ENABLE_SPLIT_PMD_PTLOCK every PMD table too; otherwise the lock is
 * `mm->page_table_lock`. A `@mm/machine` {@link SpinLock} carries lockdep and
 * wait-queue state and costs a few hundred host bytes, far more than the
 * 4 bytes the kernel spends, and nearly every table gets locked at some
 * point. So a table gets a lock object from a small pool when someone takes
 * its lock and gives it back when the lock is released with nobody waiting:
 * while held, the table's lock is one distinct object (recursion and
 * lock-order checks work as for an embedded lock); while free, there is
 * nothing to keep. All split locks share the lockdep class `ptlock`, as the
 * kernel's do; nesting two of them needs `spin_lock_nested(...,
 * SINGLE_DEPTH_NESTING)` as in `move_ptes()`.
 */
import {
  type Machine,
  MmBugError,
  MmError,
  SpinLock,
  spinIsLocked,
  spinLock,
  spinLockNested,
  spinTrylock,
  spinUnlock,
} from '@mm/machine';
import type { TablePool } from './ptdesc.js';

/** Lockdep subclass for the second of two nested locks of one class. */
export const SINGLE_DEPTH_NESTING = 1;

/** A pool of spinlocks lent to page tables while their lock is held. */
export class PtlockPool {
  private readonly machine: Machine;
  private readonly locks: SpinLock[];
  private readonly free: number[];
  /** Locks currently lent to tables. */
  nrLent: number;
  /** Most locks ever lent at once. */
  maxLent: number;

  constructor(machine: Machine) {
    this.machine = machine;
    this.locks = [];
    this.free = [];
    this.nrLent = 0;
    this.maxLent = 0;
  }

  /**
   * The lock of table `t` of `pool`, lending one if it has none.
   * @kernel ptlock_ptr (include/linux/mm.h)
   */
  lockOf(pool: TablePool, t: number): SpinLock {
    const i = pool.ptlock[t]!;
    if (i >= 0) return this.locks[i]!;
    let j: number;
    if (this.free.length > 0) j = this.free.pop()!;
    else {
      j = this.locks.length;
      this.locks.push(new SpinLock(this.machine, 'ptlock'));
    }
    pool.ptlock[t] = j;
    this.nrLent++;
    if (this.nrLent > this.maxLent) this.maxLent = this.nrLent;
    return this.locks[j]!;
  }

  /**
   * Take the lock of table `t`.
   * @throws MmError EAGAIN when a PREEMPT_RT sleeping lock is contended (the one-thread
   *   model cannot block inside a page-table operation).
   */
  lock(pool: TablePool, t: number, nested: boolean): SpinLock {
    const l = this.lockOf(pool, t);
    const ok = nested ? spinLockNested(l, SINGLE_DEPTH_NESTING) : spinLock(l);
    if (!ok) throw new MmError('EAGAIN', 'pgtable: page-table lock contended under PREEMPT_RT');
    return l;
  }

  /**
   * Try to take the lock of table `t` without waiting.
   * @kernel spin_trylock (include/linux/spinlock.h)
   */
  trylock(pool: TablePool, t: number): boolean {
    const l = this.lockOf(pool, t);
    if (spinTrylock(l)) return true;
    this.giveBack(pool, t);
    return false;
  }

  /** Release the lock of table `t`, and the lock object when nobody waits for it. */
  unlock(pool: TablePool, t: number): void {
    const i = pool.ptlock[t]!;
    if (i < 0) throw new MmBugError(`pgtable: unlock of table ${t}, which holds no lock`);
    const l = this.locks[i]!;
    spinUnlock(l);
    this.giveBack(pool, t);
  }

  /** Return table `t`'s lock object to the pool if it is free and has no waiters. */
  giveBack(pool: TablePool, t: number): void {
    const i = pool.ptlock[t]!;
    if (i < 0) return;
    const l = this.locks[i]!;
    if (spinIsLocked(l) || l.waiters.length > 0) return;
    pool.ptlock[t] = -1;
    this.free.push(i);
    this.nrLent--;
  }

  /** Whether table `t`'s lock is held. */
  isLocked(pool: TablePool, t: number): boolean {
    const i = pool.ptlock[t]!;
    return i >= 0 && spinIsLocked(this.locks[i]!);
  }

  /** Lock objects allocated so far (lent or free). */
  get nrLocks(): number {
    return this.locks.length;
  }
}
