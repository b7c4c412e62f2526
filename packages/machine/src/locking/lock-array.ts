/**
 * DOC: arrays of spinlocks (`spinlock_t` embedded in every element of an array).
 *
 * The kernel often embeds a `spinlock_t` in each element of a large array:
 * `ci->lock` in every `swap_cluster_info` of a swap device, the bucket locks
 * of a hash table, `bgl_lock` in blockgroup_lock.h. All of them are
 * initialised at one site and so share one lockdep class. A
 * {@link SpinLockArray} is `n` such locks as typed arrays (12 bytes per lock:
 * the holder CPU and task, and the CPU that took it last), for arrays too large for one {@link SpinLock}
 * object per element. Each element behaves exactly like a `SpinLock` of
 * that class: without PREEMPT_RT it disables preemption while held, taking
 * it again on the holder CPU is lockdep's AA report and spinning on another
 * CPU's is `spin-deadlock`; with PREEMPT_RT it is a sleeping lock held by a
 * task (migration disabled, FIFO hand-over to sleepers, `sleep-in-atomic`
 * from atomic context, false = queued, retry when woken). Lockdep sees the
 * class: holding two elements at once without a subclass is a
 * recursive-locking report, as in the kernel. The class's one `LockdepMap`
 * is pointed at element `i`'s last CPU before each lockdep call, so the
 * per-instance statistics stay per element.
 */
import { MmBugError, MmError } from '../errors.js';
import { PREEMPT_MASK, PREEMPT_OFFSET } from '../sched/cpu.js';
import { TaskQueue } from '../sched/sched.js';
import type { MachineCore } from '../types.js';
import { HELD_TRYLOCK, LOCK_KIND, LockdepError, LockdepMap } from './lockdep.js';
import { rtCheckContext } from './spinlock.js';

/** `n` spinlocks of one lock class, held in typed arrays. */
export class SpinLockArray {
  /** The machine the lock lives on. */
  readonly machine: MachineCore;
  /** Lockdep class id: the lock's `struct lock_class`. */
  readonly classId: number;
  /** Lock class name, for reports and statistics. */
  readonly name: string;
  /** Lockdep identity of the class (shared by every element). */
  readonly dep: LockdepMap;
  /** True when the elements are sleeping rt_mutex-based locks (PREEMPT_RT). */
  readonly sleeping: boolean;
  /** Number of locks. */
  readonly length: number;
  /** CPU of each lock's holder, -1 when free. */
  readonly ownerCpu: Int32Array;
  /** Task of each lock's holder, -1 when free. */
  readonly ownerPid: Int32Array;
  /**
   * CPU that last took each lock (the kernel keeps it per instance, in
   * `lockdep_map.cpu`): lock_stat's bounce counts, and the cache-line
   * transfer the cost model charges, are about this lock's word, not any
   * lock of the class.
   */
  readonly lastCpu: Int32Array;
  /** Direct references the fast paths use (the machine's, never replaced). */
  private readonly lockdep: MachineCore['lockdep'];
  private readonly currentPid: Int32Array;
  private readonly preemptCount: Int32Array;
  /** Sleeping waiters per lock (PREEMPT_RT only; created on first contention). */
  private readonly waiters: (TaskQueue | undefined)[];

  /**
   * `n` unlocked spinlocks sharing one lock class.
   * @param name lock class name (shared with every other lock of that name).
   * @param n number of locks.
   * @kernel spin_lock_init (include/linux/spinlock.h), once per element
   */
  constructor(machine: MachineCore, name: string, n: number) {
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 30) {
      throw new MmError('EINVAL', `spinlock: array length ${n} is not an integer in [0, 2^30]`);
    }
    this.machine = machine;
    this.name = name;
    this.sleeping = machine.config.preemptRt;
    this.classId = machine.lockdep.registerClass(name, LOCK_KIND.spin);
    this.dep = new LockdepMap(this.classId, name);
    this.length = n;
    this.ownerCpu = new Int32Array(n).fill(-1);
    this.ownerPid = new Int32Array(n).fill(-1);
    this.lastCpu = new Int32Array(n).fill(-1);
    this.lockdep = machine.lockdep;
    this.currentPid = machine.sched.currentPid;
    this.preemptCount = machine.cpus.preemptCount;
    this.waiters = [];
  }

  /** @internal The class's lockdep map, loaded with lock `i`'s per-instance state. */
  depAt(i: number): LockdepMap {
    const d = this.dep;
    d.lastCpu = this.lastCpu[i]!;
    return d;
  }

  /** The FIFO of tasks sleeping on lock `i` (PREEMPT_RT); also the object they wait on. */
  private queue(i: number): TaskQueue {
    let q = this.waiters[i];
    if (q === undefined) {
      q = new TaskQueue();
      this.waiters[i] = q;
    }
    return q;
  }

  /** @internal The non-RT fast path of {@link spinLockAt} (index checked). */
  lock(i: number): boolean {
    const cpu = this.machine.currentCpu;
    const owner = this.ownerCpu[i]!;
    if (owner >= 0) throw contended(this, i, cpu, owner);
    this.lockdep.acquire(this.depAt(i), cpu, 0, 0);
    this.take(i, cpu);
    return true;
  }

  /** @internal The non-RT fast path of {@link spinTrylockAt} (index checked). */
  trylock(i: number): boolean {
    if (this.ownerCpu[i]! >= 0) {
      this.lockdep.noteTrylockFailure(this.dep);
      return false;
    }
    const cpu = this.machine.currentCpu;
    this.lockdep.acquire(this.depAt(i), cpu, HELD_TRYLOCK, 0);
    this.take(i, cpu);
    return true;
  }

  /** Non-RT: mark lock `i` held by `cpu` (lockdep has accepted it) and disable preemption. */
  private take(i: number, cpu: number): void {
    this.lastCpu[i] = cpu;
    this.preemptCount[cpu] = this.preemptCount[cpu]! + PREEMPT_OFFSET;
    this.ownerCpu[i] = cpu;
    this.ownerPid[i] = this.currentPid[cpu]!;
  }

  /** @internal The non-RT fast path of {@link spinUnlockAt} (index checked). */
  unlock(i: number): void {
    const cpu = this.machine.currentCpu;
    if (this.ownerCpu[i] !== cpu) throw badUnlock(this, i, cpu);
    this.lockdep.release(this.dep, cpu);
    this.ownerCpu[i] = -1;
    this.ownerPid[i] = -1;
    const pc = this.preemptCount[cpu]!;
    if ((pc & PREEMPT_MASK) === 0) throw preemptUnderflow(cpu);
    this.preemptCount[cpu] = pc - PREEMPT_OFFSET;
  }

  /** @internal Lock `i` under PREEMPT_RT: true when taken, false when queued. */
  acquireRt(i: number, what: string): boolean {
    const m = this.machine;
    const cpu = m.currentCpu;
    rtCheckContext(m, this.name, cpu, what);
    const sched = m.sched;
    const q = this.waiters[i];
    if (q !== undefined && sched.takeGrant(q, cpu)) {
      m.lockdep.noteWaited(this.dep, cpu);
      m.lockdep.acquire(this.depAt(i), cpu, 0, 0);
      this.lastCpu[i] = cpu;
      m.cpus.migrateDisable();
      return true;
    }
    const pid = sched.currentPid[cpu]!;
    const owner = this.ownerPid[i]!;
    if (owner === -1) {
      m.lockdep.acquire(this.depAt(i), cpu, 0, 0);
      this.lastCpu[i] = cpu;
      this.ownerPid[i] = pid;
      this.ownerCpu[i] = cpu;
      m.cpus.migrateDisable();
      return true;
    }
    if (owner === pid) {
      throw new LockdepError(
        'recursive-locking',
        this.name,
        `${this.name}[${i}] taken again by its holder ${sched.current(cpu).name}`,
      );
    }
    m.lockdep.noteContention(this.depAt(i));
    m.account.chargeEvent(cpu, 'lockContended', 1);
    const w = this.queue(i);
    w.push(sched.blockOn(w, this.name, cpu, false));
    return false;
  }

  /** @internal Release lock `i` under PREEMPT_RT, handing it to the first sleeper. */
  releaseRt(i: number): void {
    const m = this.machine;
    const cpu = m.currentCpu;
    const pid = m.sched.currentPid[cpu]!;
    if (this.ownerPid[i] !== pid) {
      throw new LockdepError(
        'bad-unlock',
        this.name,
        `spin_unlock(${this.name}[${i}]) by ${m.sched.current(cpu).name}, owner pid ${this.ownerPid[i]}`,
      );
    }
    m.lockdep.release(this.dep, cpu);
    m.cpus.migrateEnable();
    const next = this.waiters[i]?.shift() ?? null;
    if (next === null) {
      this.ownerPid[i] = -1;
      this.ownerCpu[i] = -1;
    } else {
      this.ownerPid[i] = next.pid;
      this.ownerCpu[i] = next.cpu;
      m.sched.grant(next);
    }
  }
}

// The error paths live out of line, so that the lock and unlock fast paths
// stay small enough for V8 to inline them into their callers.

function badIndex(a: SpinLockArray, i: number): MmError {
  return new MmError('EINVAL', `spinlock: index ${i} of ${a.name} is not an integer in [0, ${a.length - 1}]`);
}

/** Spinning on a held lock: AA on the holder CPU, else a lock that cannot be released. */
function contended(a: SpinLockArray, i: number, cpu: number, owner: number): LockdepError {
  const m = a.machine;
  if (owner === cpu) {
    return new LockdepError(
      'recursive-locking',
      a.name,
      `${a.name}[${i}] taken on CPU ${cpu}, which already holds it (AA deadlock)`,
    );
  }
  m.lockdep.noteContention(a.depAt(i));
  m.account.chargeEvent(cpu, 'lockContended', 1);
  return new LockdepError(
    'spin-deadlock',
    a.name,
    `CPU ${cpu} spins on ${a.name}[${i}] held by CPU ${owner}, which cannot release it while the harness holds it`,
  );
}

function preemptUnderflow(cpu: number): MmBugError {
  return new MmBugError(`cpu: preempt_count underflow on CPU ${cpu}`);
}

function badUnlock(a: SpinLockArray, i: number, cpu: number): LockdepError {
  return new LockdepError(
    'bad-unlock',
    a.name,
    `spin_unlock(${a.name}[${i}]) on CPU ${cpu}, holder CPU ${a.ownerCpu[i]}`,
  );
}

/**
 * Take lock `i` of `a`. Returns true; false only under PREEMPT_RT when the
 * task was queued to sleep (retry the step when woken).
 * @throws LockdepError `recursive-locking` (AA), `spin-deadlock` (held by a
 *   CPU that cannot run), `sleep-in-atomic` (RT from atomic context).
 * @kernel spin_lock (include/linux/spinlock.h)
 */
export function spinLockAt(a: SpinLockArray, i: number): boolean {
  if (i >>> 0 !== i || i >= a.length) throw badIndex(a, i);
  return a.sleeping ? a.acquireRt(i, 'spin_lock') : a.lock(i);
}

/**
 * Try to take lock `i` of `a` without waiting.
 * @kernel spin_trylock (include/linux/spinlock.h)
 */
export function spinTrylockAt(a: SpinLockArray, i: number): boolean {
  if (i >>> 0 !== i || i >= a.length) throw badIndex(a, i);
  if (a.sleeping) {
    const m = a.machine;
    const cpu = m.currentCpu;
    rtCheckContext(m, a.name, cpu, 'spin_trylock');
    if (a.ownerPid[i] !== -1) {
      m.lockdep.noteTrylockFailure(a.dep);
      return false;
    }
    m.lockdep.acquire(a.depAt(i), cpu, HELD_TRYLOCK, 0);
    a.lastCpu[i] = cpu;
    a.ownerPid[i] = m.sched.currentPid[cpu]!;
    a.ownerCpu[i] = cpu;
    m.cpus.migrateDisable();
    return true;
  }
  return a.trylock(i);
}

/**
 * Release lock `i` of `a`.
 * @throws LockdepError `bad-unlock` when this CPU (task, under RT) does not hold it.
 * @kernel spin_unlock (include/linux/spinlock.h)
 */
export function spinUnlockAt(a: SpinLockArray, i: number): void {
  if (i >>> 0 !== i || i >= a.length) throw badIndex(a, i);
  if (a.sleeping) a.releaseRt(i);
  else a.unlock(i);
}

/** Whether lock `i` of the array is held. @kernel spin_is_locked (include/linux/spinlock.h) */
export function spinIsLockedAt(a: SpinLockArray, i: number): boolean {
  if (i >>> 0 !== i || i >= a.length) throw badIndex(a, i);
  return a.ownerCpu[i]! >= 0;
}
