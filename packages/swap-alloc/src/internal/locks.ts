/**
 * DOC: the swap allocator's locks on the machine.
 *
 * The kernel's swap code takes, in this order (L-pcp, mm/swapfile.c):
 * `percpu_swap_cluster.lock` (a local_lock) → `si->global_cluster_lock`
 * (HDD only) → `ci->lock` (one per cluster) → `si->lock` (only for cluster
 * list moves) and, separately, `swap_avail_lock`, `swap_lock` and
 * `si->cont_lock`. Every one of them is lockdep-visible here: each kind of
 * lock is one lockdep class, as in the kernel (all cluster locks are
 * initialised at one site and share a class), and the machine's lockdep
 * checks the order and the contexts.
 *
 * The locks do not use the machine's `SpinLock` objects: a device has one
 * lock per cluster (thousands), and the allocation fast path takes three to
 * four locks per entry. {@link SwapLock} keeps the owner CPU in a number and
 * calls lockdep only while it is enabled; with lockdep off (a production
 * kernel) a lock is what `spin_lock` is on !PREEMPT_RT: preemption disabled
 * plus an owner mark. The cluster locks keep their owners in a per-device
 * `Int16Array` ({@link SwapInfo.ciOwner}). Taking a lock this CPU holds is
 * lockdep's AA report; one held by another CPU (only possible when a test
 * harness holds it across calls) is `spin-deadlock`, as with the machine's
 * spinlocks. PREEMPT_RT (sleeping spinlocks) is not modelled for these locks.
 */
import {
  HELD_TRYLOCK,
  LOCK_KIND,
  type LocalLock,
  LockdepError,
  LockdepMap,
  localLock,
  localUnlock,
  type Machine,
  type MachineCore,
} from '@mm/machine';

/** A lock class shared by many lock instances. */
export class SwapLockClass {
  readonly machine: Machine;
  readonly dep: LockdepMap;
  readonly name: string;

  constructor(machine: Machine, name: string) {
    this.machine = machine;
    this.name = name;
    const id = machine.lockdep.registerClass(name, LOCK_KIND.spin);
    this.dep = new LockdepMap(id, name);
  }
}

function contended(cls: SwapLockClass, cpu: number, owner: number): never {
  const m = cls.machine;
  m.account.chargeEvent(cpu, 'lockContended', 1);
  if (owner === cpu) {
    throw new LockdepError('recursive-locking', cls.name, `${cls.name} taken on CPU ${cpu}, which already holds it`);
  }
  m.lockdep.noteContention(cls.dep);
  throw new LockdepError(
    'spin-deadlock',
    cls.name,
    `CPU ${cpu} spins on ${cls.name} held by CPU ${owner}, which cannot release it while the harness holds it`,
  );
}

/** One spinlock instance (`si->lock`, `swap_avail_lock`, ...). */
export class SwapLock {
  readonly cls: SwapLockClass;
  /** CPU of the holder, -1 when free. */
  owner: number;

  constructor(cls: SwapLockClass) {
    this.cls = cls;
    this.owner = -1;
  }
}

/** @kernel spin_lock (include/linux/spinlock.h) */
export function swapSpinLock(l: SwapLock): void {
  const m = l.cls.machine;
  const cpu = m.currentCpu;
  if (l.owner !== -1) contended(l.cls, cpu, l.owner);
  if (m.lockdep.enabled) m.lockdep.acquire(l.cls.dep, cpu, 0, 0);
  const pc = m.cpus.preemptCount;
  pc[cpu] = pc[cpu]! + 1;
  l.owner = cpu;
}

/** @kernel spin_trylock (include/linux/spinlock.h) */
export function swapSpinTrylock(l: SwapLock): boolean {
  const m = l.cls.machine;
  const cpu = m.currentCpu;
  if (l.owner !== -1) return false;
  // a trylock cannot deadlock: lockdep records it without a dependency
  if (m.lockdep.enabled) m.lockdep.acquire(l.cls.dep, cpu, HELD_TRYLOCK, 0);
  const pc = m.cpus.preemptCount;
  pc[cpu] = pc[cpu]! + 1;
  l.owner = cpu;
  return true;
}

/** @kernel spin_unlock (include/linux/spinlock.h) */
export function swapSpinUnlock(l: SwapLock): void {
  const m = l.cls.machine;
  const cpu = m.currentCpu;
  if (l.owner !== cpu) {
    throw new LockdepError('bad-unlock', l.cls.name, `spin_unlock(${l.cls.name}) on CPU ${cpu}, holder CPU ${l.owner}`);
  }
  if (m.lockdep.enabled) m.lockdep.release(l.cls.dep, cpu);
  l.owner = -1;
  const pc = m.cpus.preemptCount;
  pc[cpu] = pc[cpu]! - 1;
}

/** Take the lock at `owners[i]` (a cluster lock). */
export function swapIndexedLock(cls: SwapLockClass, owners: Int16Array, i: number): void {
  const m = cls.machine;
  const cpu = m.currentCpu;
  const o = owners[i]!;
  if (o !== -1) contended(cls, cpu, o);
  if (m.lockdep.enabled) m.lockdep.acquire(cls.dep, cpu, 0, 0);
  const pc = m.cpus.preemptCount;
  pc[cpu] = pc[cpu]! + 1;
  owners[i] = cpu;
}

/** Try to take the lock at `owners[i]`; false when it is held. */
export function swapIndexedTrylock(cls: SwapLockClass, owners: Int16Array, i: number): boolean {
  const m = cls.machine;
  const cpu = m.currentCpu;
  if (owners[i] !== -1) return false;
  if (m.lockdep.enabled) m.lockdep.acquire(cls.dep, cpu, HELD_TRYLOCK, 0);
  const pc = m.cpus.preemptCount;
  pc[cpu] = pc[cpu]! + 1;
  owners[i] = cpu;
  return true;
}

/** Release the lock at `owners[i]`. */
export function swapIndexedUnlock(cls: SwapLockClass, owners: Int16Array, i: number): void {
  const m = cls.machine;
  const cpu = m.currentCpu;
  if (owners[i] !== cpu) {
    throw new LockdepError(
      'bad-unlock',
      cls.name,
      `spin_unlock(${cls.name}[${i}]) on CPU ${cpu}, holder CPU ${owners[i]}`,
    );
  }
  if (m.lockdep.enabled) m.lockdep.release(cls.dep, cpu);
  owners[i] = -1;
  const pc = m.cpus.preemptCount;
  pc[cpu] = pc[cpu]! - 1;
}

/**
 * The per-CPU local lock of `percpu_swap_cluster`: the machine's
 * `local_lock_t` (lockdep, PREEMPT_RT), or, with lockdep off and !RT, exactly
 * what `local_lock()` is in a production kernel: preempt_disable() plus the
 * owner mark, on the machine lock's own arrays.
 */
export class SwapLocalLock {
  readonly l: LocalLock;
  readonly machine: MachineCore;
  /** Per CPU: 1 when the holding was taken on the fast path. */
  readonly fast: Uint8Array;

  constructor(l: LocalLock) {
    this.l = l;
    this.machine = l.machine;
    this.fast = new Uint8Array(l.machine.topology.nrCpus);
  }

  /** @kernel local_lock (include/linux/local_lock.h) */
  lock(): void {
    const m = this.machine;
    const l = this.l;
    if (m.lockdep.enabled || l.rt) {
      localLock(l);
      return;
    }
    const cpu = m.currentCpu;
    if (l.ownerPid[cpu] !== -1) {
      throw new LockdepError('recursive-locking', l.name, `${l.name} taken on CPU ${cpu}, which already holds it`);
    }
    const pc = m.cpus.preemptCount;
    pc[cpu] = pc[cpu]! + 1;
    l.ownerPid[cpu] = m.sched.currentPid[cpu]!;
    l.acquired[cpu] = 1;
    this.fast[cpu] = 1;
  }

  /** @kernel local_unlock (include/linux/local_lock.h) */
  unlock(): void {
    const m = this.machine;
    const cpu = m.currentCpu;
    if (this.fast[cpu] === 0) {
      localUnlock(this.l);
      return;
    }
    const l = this.l;
    this.fast[cpu] = 0;
    l.acquired[cpu] = 0;
    l.ownerPid[cpu] = -1;
    const pc = m.cpus.preemptCount;
    pc[cpu] = pc[cpu]! - 1;
  }

  /** Whether the current CPU holds the lock. */
  held(): boolean {
    return this.l.ownerPid[this.machine.currentCpu] !== -1;
  }
}
