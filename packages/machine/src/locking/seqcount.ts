/**
 * DOC: sequence counters and sequential locks (`seqcount_t`, `seqlock_t`).
 *
 * Writers make the sequence odd while they update and even again after;
 * readers take a snapshot and retry when the sequence moved. The kernel's
 * reader spins while a writer is inside; here a reader that starts during a
 * write gets a stale even snapshot, so its `readSeqcountRetry` is true and
 * it goes round again, which is what the spin amounts to in a one-thread
 * model. Writers of a plain `seqcount_t` must be serialised and
 * non-preemptible (lockdep asserts preemption is disabled); `seqlock_t`
 * brings its own spinlock.
 */
import { HARDIRQ_MASK, NMI_MASK } from '../sched/cpu.js';
import type { MachineCore } from '../types.js';
import { LOCK_KIND, LockdepError, LockdepMap } from './lockdep.js';
import { SpinLock, spinLock, spinUnlock } from './spinlock.js';

/** A sequence counter. */
export class SeqCount {
  /** The machine the lock lives on. */
  readonly machine: MachineCore;
  /** Lockdep class id: the lock's `struct lock_class`. */
  readonly classId: number;
  /** Lock class name, for reports and statistics. */
  readonly name: string;
  /** The lock's class and holder state as the lock checker sees it (`struct lockdep_map`). */
  readonly dep: LockdepMap;
  /** The sequence (odd while a writer is inside). */
  sequence: number;

  /** A sequence counter named `name`, starting even (no writer) @kernel seqcount_init (include/linux/seqlock.h) */
  constructor(machine: MachineCore, name: string) {
    this.machine = machine;
    this.name = name;
    this.classId = machine.lockdep.registerClass(name, LOCK_KIND.seqcount);
    this.dep = new LockdepMap(this.classId, name);
    this.sequence = 0;
  }
}

/**
 * Start a read section: returns the (even) snapshot to pass to
 * {@link readSeqcountRetry}.
 * @kernel read_seqcount_begin (include/linux/seqlock.h)
 */
export function readSeqcountBegin(s: SeqCount): number {
  return s.sequence & ~1;
}

/**
 * True when the read section that began with `start` saw a concurrent write
 * and must be retried.
 * @kernel read_seqcount_retry (include/linux/seqlock.h)
 */
export function readSeqcountRetry(s: SeqCount, start: number): boolean {
  return s.sequence !== start;
}

/**
 * Enter a write section.
 * @throws LockdepError `preempt-leak` when preemptible (writers must not be
 *   preempted), `recursive-locking` when a write section is already open.
 * @kernel write_seqcount_begin (include/linux/seqlock.h)
 */
export function writeSeqcountBegin(s: SeqCount): void {
  const m = s.machine;
  const cpu = m.currentCpu;
  if (m.lockdep.enabled) {
    if (m.cpus.preemptible(cpu) && (m.cpus.preemptCount[cpu]! & (HARDIRQ_MASK | NMI_MASK)) === 0) {
      throw new LockdepError(
        'preempt-leak',
        s.name,
        `write_seqcount_begin(${s.name}) with preemption enabled on CPU ${cpu}`,
      );
    }
    if ((s.sequence & 1) === 1) {
      throw new LockdepError(
        'recursive-locking',
        s.name,
        `write_seqcount_begin(${s.name}) inside another write section`,
      );
    }
  }
  m.lockdep.acquire(s.dep, cpu, 0, 0);
  s.sequence++;
}

/**
 * Leave the write section.
 * @kernel write_seqcount_end (include/linux/seqlock.h)
 */
export function writeSeqcountEnd(s: SeqCount): void {
  const m = s.machine;
  if ((s.sequence & 1) === 0)
    throw new LockdepError('bad-unlock', s.name, `write_seqcount_end(${s.name}) without a write section`);
  m.lockdep.release(s.dep, m.currentCpu);
  s.sequence++;
}

/** A sequential lock: a sequence counter plus a spinlock serialising writers. */
export class SeqLock {
  /** The sequence counter readers check. @kernel seqlock_t.seqcount */
  readonly seqcount: SeqCount;
  /** The spinlock serialising writers. @kernel seqlock_t.lock */
  readonly lock: SpinLock;

  /** A seqlock (a spinlock plus a sequence counter) named `name`. @kernel seqlock_init (include/linux/seqlock.h) */
  constructor(machine: MachineCore, name: string) {
    this.seqcount = new SeqCount(machine, `${name}.seqcount`);
    this.lock = new SpinLock(machine, `${name}.lock`);
  }
}

/** Start a read section; returns the sequence to check with {@link readSeqretry}. @kernel read_seqbegin (include/linux/seqlock.h) */
export function readSeqbegin(sl: SeqLock): number {
  return readSeqcountBegin(sl.seqcount);
}

/** Whether a writer ran since {@link readSeqbegin} returned `start`, so the read must be retried. @kernel read_seqretry (include/linux/seqlock.h) */
export function readSeqretry(sl: SeqLock, start: number): boolean {
  return readSeqcountRetry(sl.seqcount, start);
}

/**
 * Take the writer lock and open a write section. Under PREEMPT_RT the lock
 * may have to be waited for: false means the task was queued (retry).
 * @kernel write_seqlock (include/linux/seqlock.h)
 */
export function writeSeqlock(sl: SeqLock): boolean {
  if (!spinLock(sl.lock)) return false;
  const m = sl.seqcount.machine;
  // Under PREEMPT_RT the writer stays preemptible; the lock serialises writers and readers spin on it.
  if (m.config.preemptRt) {
    m.lockdep.acquire(sl.seqcount.dep, m.currentCpu, 0, 0);
    sl.seqcount.sequence++;
  } else {
    writeSeqcountBegin(sl.seqcount);
  }
  return true;
}

/** End a write section and release the lock. @kernel write_sequnlock (include/linux/seqlock.h) */
export function writeSequnlock(sl: SeqLock): void {
  writeSeqcountEnd(sl.seqcount);
  spinUnlock(sl.lock);
}
