/**
 * DOC: spinlocks (`spinlock_t`, `raw_spinlock_t`).
 *
 * Without PREEMPT_RT a spinlock disables preemption while held (the
 * `_irq`/`_irqsave` forms also disable interrupts, `_bh` bottom halves). The
 * holder is a CPU. Taking a lock this CPU already holds (say from an
 * interrupt that preempted the holder) is the AA deadlock lockdep reports;
 * spinning on a lock another CPU holds cannot end in the one-thread model
 * (that holder is suspended by the harness) and is reported as
 * `spin-deadlock` after the contention is counted. `spinTrylock` simply
 * fails.
 *
 * With PREEMPT_RT (`createMachine({ preemptRt: true })`) `spinlock_t` is a
 * sleeping lock (an rt_mutex): the holder is a task, it stays preemptible
 * with migration disabled, `_irqsave` leaves interrupts on, taking it from
 * hardirq/NMI or with preemption/interrupts disabled is a `sleep-in-atomic`
 * report, and a contended `spinLock` puts the task to sleep (returns false,
 * retry when woken; the lock is handed to waiters in FIFO order).
 * `raw_spinlock_t` ({@link SpinLock} with `raw = true`) always spins.
 */
import { HARDIRQ_MASK, NMI_MASK, PREEMPT_MASK } from '../sched/cpu.js';
import { TaskQueue } from '../sched/sched.js';
import type { MachineCore } from '../types.js';
import { HELD_TRYLOCK, LOCK_KIND, LockdepError, LockdepMap } from './lockdep.js';

/** Returned by the `_irqsave` forms under PREEMPT_RT when the task must sleep and retry. */
export const SPIN_WOULD_SLEEP = -1;

/** A spinning lock held by a CPU (a sleeping lock under PREEMPT_RT unless `raw`). @kernel spinlock_t (include/linux/spinlock_types.h) */
export class SpinLock {
  /** The machine the lock lives on. */
  readonly machine: MachineCore;
  /** Lockdep class id: the lock's `struct lock_class`. */
  readonly classId: number;
  /** Lock class name, for reports and statistics. */
  readonly name: string;
  /** The lock's class and holder state as the lock checker sees it (`struct lockdep_map`). */
  readonly dep: LockdepMap;
  /** raw_spinlock_t: spins even under PREEMPT_RT. */
  readonly raw: boolean;
  /** True when this lock is a sleeping rt_mutex-based lock (PREEMPT_RT, not raw). */
  readonly sleeping: boolean;
  /** CPU of the holder, -1 when free. */
  ownerCpu: number;
  /** Task of the holder, -1 when free. */
  ownerPid: number;
  /** Sleeping waiters (PREEMPT_RT only). */
  readonly waiters: TaskQueue;

  /**
   * An unlocked spinlock (`raw`: a raw_spinlock_t that spins even under PREEMPT_RT).
   * @param name lock class name (locks with the same name share a lockdep class).
   * @kernel spin_lock_init (include/linux/spinlock.h)
   */
  constructor(machine: MachineCore, name: string, raw = false) {
    this.machine = machine;
    this.name = name;
    this.raw = raw;
    this.sleeping = machine.config.preemptRt && !raw;
    this.classId = machine.lockdep.registerClass(name, raw ? LOCK_KIND.rawSpin : LOCK_KIND.spin);
    this.dep = new LockdepMap(this.classId, name);
    this.ownerCpu = -1;
    this.ownerPid = -1;
    this.waiters = new TaskQueue();
  }
}

/**
 * @internal PREEMPT_RT: a sleeping spinlock taken from atomic context is a
 * `sleep-in-atomic` report (with lockdep on). Shared with lock-array.ts.
 */
export function rtCheckContext(m: MachineCore, name: string, cpu: number, what: string): void {
  const pc = m.cpus.preemptCount[cpu]!;
  if (m.lockdep.enabled && ((pc & (HARDIRQ_MASK | NMI_MASK | PREEMPT_MASK)) !== 0 || m.cpus.irqsOff[cpu] === 1)) {
    throw new LockdepError(
      'sleep-in-atomic',
      name,
      `${what}(${name}) is a sleeping lock under PREEMPT_RT and CPU ${cpu} is atomic (preempt_count 0x${pc.toString(16)}, irqs_disabled ${m.cpus.irqsOff[cpu]})`,
    );
  }
}

function spinAcquire(l: SpinLock, subclass: number): boolean {
  const m = l.machine;
  const cpu = m.currentCpu;
  if (l.sleeping) {
    rtCheckContext(m, l.name, cpu, 'spin_lock');
    const sched = m.sched;
    if (sched.takeGrant(l, cpu)) {
      m.lockdep.noteWaited(l.dep, cpu);
      m.lockdep.acquire(l.dep, cpu, 0, subclass);
      m.cpus.migrateDisable();
      return true;
    }
    const pid = sched.currentPid[cpu]!;
    if (l.ownerPid === -1) {
      m.lockdep.acquire(l.dep, cpu, 0, subclass);
      l.ownerPid = pid;
      l.ownerCpu = cpu;
      m.cpus.migrateDisable();
      return true;
    }
    if (l.ownerPid === pid) {
      throw new LockdepError(
        'recursive-locking',
        l.name,
        `${l.name} taken again by its holder ${sched.current(cpu).name}`,
      );
    }
    m.lockdep.noteContention(l.dep);
    m.account.chargeEvent(cpu, 'lockContended', 1);
    const t = sched.blockOn(l, l.name, cpu, false);
    l.waiters.push(t);
    return false;
  }
  if (l.ownerCpu >= 0) {
    if (l.ownerCpu === cpu) {
      throw new LockdepError(
        'recursive-locking',
        l.name,
        `${l.name} taken on CPU ${cpu}, which already holds it (AA deadlock: ${m.sched.current(cpu).name} held: [${m.sched.current(cpu).held.names().join(', ')}])`,
      );
    }
    m.lockdep.noteContention(l.dep);
    m.account.chargeEvent(cpu, 'lockContended', 1);
    throw new LockdepError(
      'spin-deadlock',
      l.name,
      `CPU ${cpu} spins on ${l.name} held by CPU ${l.ownerCpu}, which cannot release it while the harness holds it`,
    );
  }
  m.lockdep.acquire(l.dep, cpu, 0, subclass);
  m.cpus.preemptDisable();
  l.ownerCpu = cpu;
  l.ownerPid = m.sched.currentPid[cpu]!;
  return true;
}

/**
 * Take `l`. Returns true; false only under PREEMPT_RT when the task was
 * queued to sleep (retry the step when woken).
 * @kernel spin_lock (include/linux/spinlock.h)
 */
export function spinLock(l: SpinLock): boolean {
  return spinAcquire(l, 0);
}

/**
 * Take `l` with a lockdep subclass (nesting two locks of one class in a fixed order).
 * @kernel spin_lock_nested (include/linux/spinlock.h)
 */
export function spinLockNested(l: SpinLock, subclass: number): boolean {
  return spinAcquire(l, subclass);
}

/**
 * Try to take `l` without waiting.
 * @kernel spin_trylock (include/linux/spinlock.h)
 */
export function spinTrylock(l: SpinLock): boolean {
  const m = l.machine;
  const cpu = m.currentCpu;
  if (l.sleeping) {
    rtCheckContext(m, l.name, cpu, 'spin_trylock');
    if (l.ownerPid !== -1) {
      m.lockdep.noteTrylockFailure(l.dep);
      return false;
    }
    m.lockdep.acquire(l.dep, cpu, HELD_TRYLOCK, 0);
    l.ownerPid = m.sched.currentPid[cpu]!;
    l.ownerCpu = cpu;
    m.cpus.migrateDisable();
    return true;
  }
  if (l.ownerCpu >= 0) {
    m.lockdep.noteTrylockFailure(l.dep);
    return false;
  }
  m.lockdep.acquire(l.dep, cpu, HELD_TRYLOCK, 0);
  m.cpus.preemptDisable();
  l.ownerCpu = cpu;
  l.ownerPid = m.sched.currentPid[cpu]!;
  return true;
}

/**
 * Release `l`.
 * @throws LockdepError `bad-unlock` when this CPU/task does not hold it.
 * @kernel spin_unlock (include/linux/spinlock.h)
 */
export function spinUnlock(l: SpinLock): void {
  const m = l.machine;
  const cpu = m.currentCpu;
  if (l.sleeping) {
    const pid = m.sched.currentPid[cpu]!;
    if (l.ownerPid !== pid) {
      throw new LockdepError(
        'bad-unlock',
        l.name,
        `spin_unlock(${l.name}) by ${m.sched.current(cpu).name}, owner pid ${l.ownerPid}`,
      );
    }
    m.lockdep.release(l.dep, cpu);
    m.cpus.migrateEnable();
    const next = l.waiters.shift();
    if (next === null) {
      l.ownerPid = -1;
      l.ownerCpu = -1;
    } else {
      l.ownerPid = next.pid;
      l.ownerCpu = next.cpu;
      m.sched.grant(next);
    }
    return;
  }
  if (l.ownerCpu !== cpu) {
    throw new LockdepError('bad-unlock', l.name, `spin_unlock(${l.name}) on CPU ${cpu}, holder CPU ${l.ownerCpu}`);
  }
  m.lockdep.release(l.dep, cpu);
  l.ownerCpu = -1;
  l.ownerPid = -1;
  m.cpus.preemptEnable();
}

/**
 * Disable interrupts (not under PREEMPT_RT) and take `l`; returns the saved
 * interrupt flags, or {@link SPIN_WOULD_SLEEP} when the task must sleep.
 * @kernel spin_lock_irqsave (include/linux/spinlock.h)
 */
export function spinLockIrqsave(l: SpinLock): number {
  if (l.sleeping) return spinAcquire(l, 0) ? 0 : SPIN_WOULD_SLEEP;
  const cpus = l.machine.cpus;
  const flags = cpus.localIrqSave();
  try {
    spinAcquire(l, 0);
  } catch (e) {
    cpus.irqsOff[l.machine.currentCpu] = flags;
    throw e;
  }
  return flags;
}

/**
 * Save and disable interrupts (not under PREEMPT_RT, where flags are 0) and
 * try to take `l`; on failure the interrupt state is restored.
 * @returns the saved flags, or {@link SPIN_WOULD_SLEEP} (-1) when the lock is busy.
 * @kernel spin_trylock_irqsave (include/linux/spinlock.h)
 */
export function spinTrylockIrqsave(l: SpinLock): number {
  if (l.sleeping) return spinTrylock(l) ? 0 : SPIN_WOULD_SLEEP;
  const cpus = l.machine.cpus;
  const flags = cpus.localIrqSave();
  let ok = false;
  try {
    ok = spinTrylock(l);
  } finally {
    if (!ok) cpus.irqsOff[l.machine.currentCpu] = flags;
  }
  return ok ? flags : SPIN_WOULD_SLEEP;
}

/**
 * Release `l` and restore the interrupt state saved by spinLockIrqsave.
 * @kernel spin_unlock_irqrestore (include/linux/spinlock.h)
 */
export function spinUnlockIrqrestore(l: SpinLock, flags: number): void {
  spinUnlock(l);
  if (!l.sleeping) l.machine.cpus.localIrqRestore(flags);
}

/**
 * Disable interrupts (not under PREEMPT_RT) and take `l`.
 * @kernel spin_lock_irq (include/linux/spinlock.h)
 */
export function spinLockIrq(l: SpinLock): boolean {
  if (l.sleeping) return spinAcquire(l, 0);
  const cpus = l.machine.cpus;
  const flags = cpus.localIrqSave();
  try {
    return spinAcquire(l, 0);
  } catch (e) {
    cpus.irqsOff[l.machine.currentCpu] = flags;
    throw e;
  }
}

/** Release `l` and enable interrupts. @kernel spin_unlock_irq (include/linux/spinlock.h) */
export function spinUnlockIrq(l: SpinLock): void {
  spinUnlock(l);
  if (!l.sleeping) l.machine.cpus.localIrqEnable();
}

/**
 * Disable bottom halves and take `l`.
 * @kernel spin_lock_bh (include/linux/spinlock.h)
 */
export function spinLockBh(l: SpinLock): boolean {
  const cpus = l.machine.cpus;
  cpus.localBhDisable();
  let ok = false;
  try {
    ok = spinAcquire(l, 0);
  } finally {
    if (!ok) cpus.localBhEnable();
  }
  return ok;
}

/** Release `l` and enable softirqs. @kernel spin_unlock_bh (include/linux/spinlock.h) */
export function spinUnlockBh(l: SpinLock): void {
  spinUnlock(l);
  l.machine.cpus.localBhEnable();
}

/** Whether `l` is held. @kernel spin_is_locked (include/linux/spinlock.h) */
export function spinIsLocked(l: SpinLock): boolean {
  return l.sleeping ? l.ownerPid !== -1 : l.ownerCpu >= 0;
}
