/**
 * DOC: per-CPU local locks: `local_lock_t` and `localtry_lock_t`.
 *
 * A local lock protects per-CPU data against other code on the same CPU.
 * Each CPU has its own instance (an owner per CPU in a typed array).
 *
 * Without PREEMPT_RT:
 * - `localLock` disables preemption, `localLockIrq`/`localLockIrqsave`
 *   disable interrupts; the lock itself only records the owner for lockdep,
 *   which reports taking it again on the same CPU.
 * - `localtry_lock_t` adds an `acquired` flag per CPU (the kernel commit "locking/
 *   local_lock: Introduce localtry_lock_t" and "add localtry_trylock()"):
 *   `localtryLock*` set it; `localtryTrylock` only disables preemption (not
 *   interrupts) and fails when the flag is already set on this CPU, that is
 *   when it runs in an interrupt that preempted the holder;
 *   `localtryLockIrqsave` disables interrupts and sets the flag, so the only
 *   thing that can still run on that CPU, an NMI, fails its trylock.
 *
 * With PREEMPT_RT each CPU's instance is a sleeping spinlock and the holder
 * only disables migration: the lock functions can sleep (false = queued,
 * retry), `_irqsave` leaves interrupts enabled (flags 0), and the trylocks
 * fail right away in hardirq or NMI context (a sleeping lock cannot be tried
 * there because of priority inheritance), otherwise behave like
 * `spin_trylock()` on this CPU's lock.
 */

import { MmBugError } from '../errors.js';
import { HARDIRQ_MASK, NMI_MASK, PREEMPT_MASK, PREEMPT_OFFSET } from '../sched/cpu.js';
import { TaskQueue } from '../sched/sched.js';
import type { MachineCore } from '../types.js';
import { HELD_TRYLOCK, LOCK_KIND, type Lockdep, LockdepError, LockdepMap } from './lockdep.js';

/** Returned by the `_irqsave` lock forms under PREEMPT_RT when the task must sleep, and by a failed `localtryTrylockIrqsave`. */
export const LOCAL_LOCK_FAILED = -1;

/** A per-CPU local lock (`local_lock_t`). */
export class LocalLock {
  /** The machine the lock lives on. */
  readonly machine: MachineCore;
  /** Lockdep class id: the lock's `struct lock_class`. */
  readonly classId: number;
  /** Lock class name, for reports and statistics. */
  readonly name: string;
  /** The lock's class and holder state as the lock checker sees it (`struct lockdep_map`). */
  readonly dep: LockdepMap;
  /** PREEMPT_RT: each CPU's instance is a sleeping spinlock. */
  readonly rt: boolean;
  /** Owner task per CPU, -1 when free. */
  readonly ownerPid: Int32Array;
  /** PREEMPT_RT sleeping waiters per CPU. */
  readonly waiters: TaskQueue[];
  /**
   * Per-CPU "acquired" flag (non-RT). `localtry_lock_t` tests it in its
   * trylocks; for `local_lock_t` it only mirrors ownership.
   */
  readonly acquired: Uint8Array;
  /** @internal The machine arrays the non-RT trylock/unlock fast paths touch (fixed for the machine's life). */
  readonly lockdep: Lockdep;
  /** @internal */
  readonly preemptCount: Int32Array;
  /** @internal */
  readonly currentPid: Int32Array;

  /** A per-CPU lock named `name`. @kernel local_lock_init (include/linux/local_lock.h) */
  constructor(machine: MachineCore, name: string) {
    const n = machine.topology.nrCpus;
    this.machine = machine;
    this.lockdep = machine.lockdep;
    this.preemptCount = machine.cpus.preemptCount;
    this.currentPid = machine.sched.currentPid;
    this.name = name;
    this.rt = machine.config.preemptRt;
    this.classId = machine.lockdep.registerClass(name, LOCK_KIND.local);
    this.dep = new LockdepMap(this.classId, name);
    this.ownerPid = new Int32Array(n).fill(-1);
    this.waiters = [];
    for (let c = 0; c < n; c++) this.waiters.push(new TaskQueue());
    this.acquired = new Uint8Array(n);
  }
}

/** A per-CPU local lock with trylock support (`localtry_lock_t`). */
export class LocalTryLock extends LocalLock {
  /** A per-CPU lock that also supports trylock, named `name`. @kernel localtry_lock_init (include/linux/local_lock.h) */
  constructor(machine: MachineCore, name: string) {
    super(machine, name);
  }
}

/** How a non-RT acquisition masks the CPU. */
const MODE_PREEMPT = 0;
const MODE_IRQ = 1;

function recursion(l: LocalLock, cpu: number): LockdepError {
  const m = l.machine;
  return new LockdepError(
    'recursive-locking',
    l.name,
    `${l.name} taken on CPU ${cpu}, where ${m.sched.tasks[l.ownerPid[cpu]!]?.name ?? '?'} already holds it`,
  );
}

/** Non-RT acquisition: lockdep first (it may throw), then mask and mark. */
function acquireNonRt(l: LocalLock, mode: number): number {
  const m = l.machine;
  const cpu = m.currentCpu;
  if (l.ownerPid[cpu] !== -1) throw recursion(l, cpu);
  let flags = 0;
  if (mode === MODE_PREEMPT) {
    m.lockdep.acquire(l.dep, cpu, 0, 0);
    m.cpus.preemptDisable();
  } else {
    // Interrupts go off before lockdep looks, as in the kernel, so the acquisition counts as irq-safe.
    flags = m.cpus.localIrqSave();
    try {
      m.lockdep.acquire(l.dep, cpu, 0, 0);
    } catch (e) {
      m.cpus.irqsOff[cpu] = flags;
      throw e;
    }
  }
  l.ownerPid[cpu] = m.sched.currentPid[cpu]!;
  l.acquired[cpu] = 1;
  return flags;
}

function checkOwner(l: LocalLock, cpu: number, what: string): void {
  const m = l.machine;
  if (l.ownerPid[cpu] !== m.sched.currentPid[cpu]) {
    throw new LockdepError(
      'bad-unlock',
      l.name,
      `${what}(${l.name}) on CPU ${cpu} by ${m.sched.current(cpu).name}, owner ${l.ownerPid[cpu] === -1 ? 'none' : `pid ${l.ownerPid[cpu]}`}`,
    );
  }
}

function releaseNonRt(l: LocalLock, what: string): number {
  const m = l.machine;
  const cpu = m.currentCpu;
  checkOwner(l, cpu, what);
  m.lockdep.release(l.dep, cpu);
  l.ownerPid[cpu] = -1;
  l.acquired[cpu] = 0;
  return cpu;
}

function rtContextCheck(l: LocalLock, cpu: number, what: string): void {
  const m = l.machine;
  const pc = m.cpus.preemptCount[cpu]!;
  if (m.lockdep.enabled && ((pc & (HARDIRQ_MASK | NMI_MASK | PREEMPT_MASK)) !== 0 || m.cpus.irqsOff[cpu] === 1)) {
    throw new LockdepError(
      'sleep-in-atomic',
      l.name,
      `${what}(${l.name}) is a sleeping lock under PREEMPT_RT and CPU ${cpu} is atomic (preempt_count 0x${pc.toString(16)})`,
    );
  }
}

/** PREEMPT_RT acquisition of this CPU's sleeping lock; false = queued to sleep. */
function acquireRt(l: LocalLock, what: string): boolean {
  const m = l.machine;
  const cpu = m.currentCpu;
  rtContextCheck(l, cpu, what);
  const sched = m.sched;
  if (sched.takeGrant(l, cpu)) {
    m.lockdep.noteWaited(l.dep, cpu);
    m.lockdep.acquire(l.dep, cpu, 0, 0);
    m.cpus.migrateDisable();
    return true;
  }
  const pid = sched.currentPid[cpu]!;
  const owner = l.ownerPid[cpu]!;
  if (owner === -1) {
    m.lockdep.acquire(l.dep, cpu, 0, 0);
    m.cpus.migrateDisable();
    l.ownerPid[cpu] = pid;
    return true;
  }
  if (owner === pid) throw recursion(l, cpu);
  m.lockdep.noteContention(l.dep);
  m.account.chargeEvent(cpu, 'lockContended', 1);
  const t = sched.blockOn(l, l.name, cpu, false);
  l.waiters[cpu]!.push(t);
  return false;
}

function releaseRt(l: LocalLock, what: string): void {
  const m = l.machine;
  const cpu = m.currentCpu;
  checkOwner(l, cpu, what);
  m.lockdep.release(l.dep, cpu);
  m.cpus.migrateEnable();
  const next = l.waiters[cpu]!.shift();
  if (next === null) {
    l.ownerPid[cpu] = -1;
  } else {
    l.ownerPid[cpu] = next.pid;
    m.sched.grant(next);
  }
}

/** PREEMPT_RT trylock: fails at once in hardirq or NMI context. */
function trylockRt(l: LocalLock): boolean {
  const m = l.machine;
  const cpu = m.currentCpu;
  const pc = m.cpus.preemptCount[cpu]!;
  if ((pc & (HARDIRQ_MASK | NMI_MASK)) !== 0 || l.ownerPid[cpu] !== -1) {
    m.lockdep.noteTrylockFailure(l.dep);
    return false;
  }
  m.lockdep.acquire(l.dep, cpu, HELD_TRYLOCK, 0);
  m.cpus.migrateDisable();
  l.ownerPid[cpu] = m.sched.currentPid[cpu]!;
  return true;
}

// --- local_lock_t ---

/**
 * Take this CPU's instance of `l` (preemption disabled; under PREEMPT_RT a
 * sleeping lock: false = queued, retry).
 * @kernel local_lock (include/linux/local_lock.h)
 */
export function localLock(l: LocalLock): boolean {
  if (l.rt) return acquireRt(l, 'local_lock');
  acquireNonRt(l, MODE_PREEMPT);
  return true;
}

/** Release this CPU's instance of `l`. @kernel local_unlock (include/linux/local_lock.h) */
export function localUnlock(l: LocalLock): void {
  if (l.rt) {
    releaseRt(l, 'local_unlock');
    return;
  }
  releaseNonRt(l, 'local_unlock');
  l.machine.cpus.preemptEnable();
}

/**
 * Disable interrupts (not under PREEMPT_RT) and take `l`.
 * @kernel local_lock_irq (include/linux/local_lock.h)
 */
export function localLockIrq(l: LocalLock): boolean {
  if (l.rt) return acquireRt(l, 'local_lock_irq');
  acquireNonRt(l, MODE_IRQ);
  return true;
}

/** Release `l` and enable interrupts (not under PREEMPT_RT) @kernel local_unlock_irq (include/linux/local_lock.h) */
export function localUnlockIrq(l: LocalLock): void {
  if (l.rt) {
    releaseRt(l, 'local_unlock_irq');
    return;
  }
  releaseNonRt(l, 'local_unlock_irq');
  l.machine.cpus.localIrqEnable();
}

/**
 * Save and disable interrupts (not under PREEMPT_RT) and take `l`; returns
 * the saved flags, or {@link LOCAL_LOCK_FAILED} when the task must sleep (RT).
 * @kernel local_lock_irqsave (include/linux/local_lock.h)
 */
export function localLockIrqsave(l: LocalLock): number {
  if (l.rt) return acquireRt(l, 'local_lock_irqsave') ? 0 : LOCAL_LOCK_FAILED;
  return acquireNonRt(l, MODE_IRQ);
}

/** Release `l` and restore the interrupt state in `flags` (not under PREEMPT_RT) @kernel local_unlock_irqrestore (include/linux/local_lock.h) */
export function localUnlockIrqrestore(l: LocalLock, flags: number): void {
  if (l.rt) {
    releaseRt(l, 'local_unlock_irqrestore');
    return;
  }
  releaseNonRt(l, 'local_unlock_irqrestore');
  l.machine.cpus.localIrqRestore(flags);
}

// --- localtry_lock_t ---

/**
 * Take this CPU's instance and mark it acquired, with preemption disabled.
 * @kernel localtry_lock (include/linux/local_lock.h)
 */
export function localtryLock(l: LocalTryLock): boolean {
  return localLock(l);
}

/** Disable interrupts (not under PREEMPT_RT) and take `l`; false when queued to sleep. @kernel localtry_lock_irq (include/linux/local_lock.h) */
export function localtryLockIrq(l: LocalTryLock): boolean {
  return localLockIrq(l);
}

/**
 * Save and disable interrupts, take and mark acquired: an NMI's trylock on
 * this CPU then fails.
 * @kernel localtry_lock_irqsave (include/linux/local_lock.h)
 */
export function localtryLockIrqsave(l: LocalTryLock): number {
  return localLockIrqsave(l);
}

/**
 * Try to take this CPU's instance, disabling only preemption; false when it
 * is already acquired on this CPU (this code interrupted the holder), and
 * under PREEMPT_RT always false in hardirq or NMI context.
 * @kernel localtry_trylock (include/linux/local_lock.h)
 */
export function localtryTrylock(l: LocalTryLock): boolean {
  if (l.rt) return trylockRt(l);
  const cpu = l.machine.currentCpu;
  if (l.acquired[cpu] === 1) {
    l.lockdep.noteTrylockFailure(l.dep);
    return false;
  }
  l.lockdep.acquire(l.dep, cpu, HELD_TRYLOCK, 0);
  l.preemptCount[cpu] = l.preemptCount[cpu]! + PREEMPT_OFFSET;
  l.acquired[cpu] = 1;
  l.ownerPid[cpu] = l.currentPid[cpu]!;
  return true;
}

/**
 * Like {@link localtryTrylock} but saves and disables interrupts on
 * success; returns the saved flags, or {@link LOCAL_LOCK_FAILED}.
 * @kernel localtry_trylock_irqsave (include/linux/local_lock.h)
 */
export function localtryTrylockIrqsave(l: LocalTryLock): number {
  if (l.rt) return trylockRt(l) ? 0 : LOCAL_LOCK_FAILED;
  const m = l.machine;
  const cpu = m.currentCpu;
  if (l.acquired[cpu] === 1) {
    m.lockdep.noteTrylockFailure(l.dep);
    return LOCAL_LOCK_FAILED;
  }
  const flags = m.cpus.localIrqSave();
  try {
    m.lockdep.acquire(l.dep, cpu, HELD_TRYLOCK, 0);
  } catch (e) {
    m.cpus.irqsOff[cpu] = flags;
    throw e;
  }
  l.acquired[cpu] = 1;
  l.ownerPid[cpu] = m.sched.currentPid[cpu]!;
  return flags;
}

/**
 * Clear the acquired mark and re-enable preemption.
 * @kernel localtry_unlock (include/linux/local_lock.h)
 */
export function localtryUnlock(l: LocalTryLock): void {
  if (l.rt) {
    releaseRt(l, 'localtry_unlock');
    return;
  }
  // The non-RT release of localUnlock with the machine arrays at hand.
  const cpu = l.machine.currentCpu;
  if (l.ownerPid[cpu] !== l.currentPid[cpu]) checkOwner(l, cpu, 'localtry_unlock');
  l.lockdep.release(l.dep, cpu);
  l.ownerPid[cpu] = -1;
  l.acquired[cpu] = 0;
  const pc = l.preemptCount[cpu]!;
  if ((pc & PREEMPT_MASK) === 0) throw new MmBugError(`cpu: preempt_count underflow on CPU ${cpu}`);
  l.preemptCount[cpu] = pc - PREEMPT_OFFSET;
}

/** Release `l` and enable interrupts (not under PREEMPT_RT) @kernel localtry_unlock_irq (include/linux/local_lock.h) */
export function localtryUnlockIrq(l: LocalTryLock): void {
  localUnlockIrq(l);
}

/** Release `l` and restore the interrupt state in `flags` (not under PREEMPT_RT) @kernel localtry_unlock_irqrestore (include/linux/local_lock.h) */
export function localtryUnlockIrqrestore(l: LocalTryLock, flags: number): void {
  localUnlockIrqrestore(l, flags);
}
