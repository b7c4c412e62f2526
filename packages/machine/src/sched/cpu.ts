/**
 * DOC: CPUs and execution contexts: preempt count, interrupt state, softirqs.
 *
 * Each CPU's context is the kernel's `preempt_count` word with the kernel's
 * bit layout (preemption 0–7, softirq 8–15, hardirq 16–19, NMI 20–23) plus
 * the interrupts-disabled flag, both in typed arrays indexed by CPU id. Code
 * runs "on" a CPU through one of four doors:
 *
 * - `runOn(cpu, fn)`: task context of the CPU's current task (the idle/boot
 *   task `swapper/N` unless the scheduler is running a task there);
 * - `inHardirq(cpu, fn)`: an interrupt. If the CPU has interrupts disabled
 *   the interrupt stays pending and is delivered when they are re-enabled
 *   (so a `localtry_lock_irqsave()` holder cannot be interrupted);
 * - `inSoftirq(cpu, fn)`: softirq context (pending while the CPU is in an
 *   interrupt or has bottom halves disabled);
 * - `inNmi(cpu, fn)`: an NMI, delivered even with interrupts disabled.
 *
 * Interrupt handlers must leave the context as they found it: locks taken
 * in the handler released, preempt count and RCU nesting balanced;
 * otherwise a {@link LockdepError} is thrown after the context is restored.
 * Softirqs raised with {@link Cpus.raiseSoftirq} run at interrupt exit,
 * at `local_bh_enable()`, when a pending interrupt is delivered, or between
 * scheduler steps (the role of ksoftirqd).
 */
import { MmBugError, MmError } from '../errors.js';
import type { HeldLocks, Lockdep } from '../locking/lockdep.js';
import { LockdepError } from '../locking/lockdep.js';
import type { Topology } from '../topology.js';

/** One unit of preemption disabling. */
export const PREEMPT_OFFSET = 1;
/** Set while serving a softirq. */
export const SOFTIRQ_OFFSET = 1 << 8;
/** One level of `local_bh_disable()`. */
export const SOFTIRQ_DISABLE_OFFSET = 2 * SOFTIRQ_OFFSET;
/** One level of hardirq nesting. */
export const HARDIRQ_OFFSET = 1 << 16;
/** One level of NMI nesting. */
export const NMI_OFFSET = 1 << 20;
/** Preemption-disable depth bits. */
export const PREEMPT_MASK = 0xff;
/** Softirq bits (serving + bh-disable depth). */
export const SOFTIRQ_MASK = 0xff00;
/** Hardirq nesting bits. */
export const HARDIRQ_MASK = 0xf0000;
/** NMI nesting bits. */
export const NMI_MASK = 0xf00000;

// Softirq vector numbers, as in the kernel (include/linux/interrupt.h).
/** High-priority tasklets. */
export const HI_SOFTIRQ = 0;
/** Timer wheel expiry (`run_timer_softirq`). */
export const TIMER_SOFTIRQ = 1;
/** Network transmit. */
export const NET_TX_SOFTIRQ = 2;
/** Network receive. */
export const NET_RX_SOFTIRQ = 3;
/** Block-layer completions. */
export const BLOCK_SOFTIRQ = 4;
/** Interrupt polling for block devices (`irq_poll`, lib/irq_poll.c). */
export const IRQ_POLL_SOFTIRQ = 5;
/** Normal tasklets. */
export const TASKLET_SOFTIRQ = 6;
/** Scheduler load balancing. */
export const SCHED_SOFTIRQ = 7;
/** hrtimer expiry. */
export const HRTIMER_SOFTIRQ = 8;
/** RCU callback invocation (`rcu_core`). */
export const RCU_SOFTIRQ = 9;
/** Number of softirq vectors. */
export const NR_SOFTIRQS = 10;

/** The kernel's bound on softirq restarts before deferring to ksoftirqd. */
export const MAX_SOFTIRQ_RESTART = 10;

/** One CPU in {@link Cpus.toJSON}. */
export interface CpuState {
  /** CPU number. */
  readonly cpu: number;
  /** Whether the CPU is online. */
  readonly online: boolean;
  /** Preemption count (kernel bit layout). @kernel preempt_count */
  readonly preemptCount: number;
  /** Whether interrupts are disabled. @kernel irqs_disabled */
  readonly irqsDisabled: boolean;
  /** Pending softirq vectors: bit n for vector n. @kernel local_softirq_pending */
  readonly softirqPending: number;
  /** Interrupts raised while disabled, waiting to be delivered. */
  readonly pendingIrqs: number;
  /** Hardirqs handled. */
  readonly hardirqs: number;
  /** NMIs handled. */
  readonly nmis: number;
  /** Softirq runs. */
  readonly softirqs: number;
}

/** {@link Cpus.toJSON}. */
export interface CpusState {
  /** CPUs online. @kernel num_online_cpus */
  readonly nrOnline: number;
  /** Every possible CPU. */
  readonly cpus: readonly CpuState[];
}

/** A softirq handler; runs on `cpu` in softirq context. */
export type SoftirqHandler = (cpu: number) => void;

/**
 * The machine as the CPU contexts see it: the running CPU, lockdep, each
 * CPU's current task (its held locks) and RCU read-side nesting. Declared
 * structurally so that this module depends only on lockdep.
 */
export interface CpusHost {
  /** CPU the running code is on. */
  currentCpu: number;
  /** CPU and node topology. */
  readonly topology: Topology;
  /** The lock checker. */
  readonly lockdep: Lockdep;
  /** Per-CPU RCU read-side nesting depth. */
  readonly rcu: {
    /** `rcu_read_lock()` nesting per CPU. */
    readonly nesting: Int32Array;
  };
  /** The current task of each CPU. */
  readonly sched: {
    /** The task running on `cpu` (`current`). */
    current(cpu: number): {
      /** Task name (`comm`). */
      readonly name: string;
      /** Locks the task holds. */
      readonly held: HeldLocks;
      /** `migrate_disable()` nesting. @kernel task_struct.migration_disabled */
      migrationDisabled: number;
    };
  };
  /** Record `message` when `cond` holds; returns `cond`. @kernel WARN_ON */
  warnOn(cond: boolean, message: string): boolean;
}

/**
 * The CPUs of a machine and their execution contexts (`machine.cpus`).
 */
export class Cpus {
  /** Number of possible CPUs. */
  readonly nrCpus: number;
  /** `preempt_count` per CPU (kernel bit layout). */
  readonly preemptCount: Int32Array;
  /** 1 when interrupts are disabled on the CPU. */
  readonly irqsOff: Uint8Array;
  /** 1 when the CPU is online. */
  readonly online: Uint8Array;
  /** Pending softirq vectors per CPU (bit n = vector n). */
  readonly softirqPending: Uint32Array;
  /** Hardirqs, NMIs and softirq runs handled per CPU. */
  readonly nrHardirqs: Float64Array;
  /** NMIs handled per CPU. */
  readonly nrNmis: Float64Array;
  /** Softirq runs per CPU. */
  readonly nrSoftirqs: Float64Array;
  /** Number of online CPUs. */
  nrOnline: number;
  private readonly machine: CpusHost;
  private readonly pendingIrqs: (() => void)[][];
  private readonly pendingSoftFns: (() => void)[][];
  private readonly handlers: (SoftirqHandler | null)[];

  constructor(machine: CpusHost) {
    const n = machine.topology.nrCpus;
    this.nrCpus = n;
    this.machine = machine;
    this.preemptCount = new Int32Array(n);
    this.irqsOff = new Uint8Array(n);
    this.online = new Uint8Array(n).fill(1);
    this.softirqPending = new Uint32Array(n);
    this.nrHardirqs = new Float64Array(n);
    this.nrNmis = new Float64Array(n);
    this.nrSoftirqs = new Float64Array(n);
    this.nrOnline = n;
    this.pendingIrqs = [];
    this.pendingSoftFns = [];
    for (let i = 0; i < n; i++) {
      this.pendingIrqs.push([]);
      this.pendingSoftFns.push([]);
    }
    this.handlers = new Array<SoftirqHandler | null>(NR_SOFTIRQS).fill(null);
  }

  /** Throw unless `cpu` is a valid CPU id (and online when `mustBeOnline`). */
  checkCpu(cpu: number, mustBeOnline: boolean): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpus) {
      throw new MmError('EINVAL', `cpu: CPU ${cpu} does not exist (nr_cpu_ids ${this.nrCpus})`);
    }
    if (mustBeOnline && this.online[cpu] === 0) throw new MmError('EINVAL', `cpu: CPU ${cpu} is offline`);
  }

  /** The online CPU ids in increasing order. */
  onlineCpus(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.nrCpus; c++) if (this.online[c] === 1) out.push(c);
    return out;
  }

  /**
   * Run `fn` on `cpu` in the task context of that CPU's current task and
   * return its result. Contexts nest: the previous CPU is restored after.
   */
  runOn<T>(cpu: number, fn: () => T): T {
    this.checkCpu(cpu, true);
    const m = this.machine;
    const prev = m.currentCpu;
    m.currentCpu = cpu;
    try {
      return fn();
    } finally {
      m.currentCpu = prev;
    }
  }

  /**
   * Run `fn` as a hardware interrupt handler on `cpu`. When the CPU has
   * interrupts disabled the interrupt stays pending and `fn` runs when they
   * are enabled again; returns whether `fn` ran now.
   * @kernel irq_enter / irq_exit (kernel/softirq.c)
   */
  inHardirq(cpu: number, fn: () => void): boolean {
    this.checkCpu(cpu, true);
    if (this.irqsOff[cpu] === 1) {
      this.pendingIrqs[cpu]!.push(fn);
      return false;
    }
    this.deliverHardirq(cpu, fn);
    return true;
  }

  private deliverHardirq(cpu: number, fn: () => void): void {
    const m = this.machine;
    const prevCpu = m.currentCpu;
    const savedPc = this.preemptCount[cpu]!;
    const savedRcu = m.rcu.nesting[cpu]!;
    const depth = m.sched.current(cpu).held.depth;
    m.currentCpu = cpu;
    this.preemptCount[cpu] = savedPc + HARDIRQ_OFFSET;
    this.irqsOff[cpu] = 1;
    this.nrHardirqs[cpu]!++;
    let err: LockdepError | null = null;
    let ok = false;
    try {
      fn();
      ok = true;
    } finally {
      if (ok) err = this.contextExitError(cpu, savedPc + HARDIRQ_OFFSET, 1, savedRcu, depth, 'hardirq');
      this.preemptCount[cpu] = savedPc;
      this.irqsOff[cpu] = 0;
      m.rcu.nesting[cpu] = savedRcu;
      m.currentCpu = prevCpu;
    }
    if (err !== null) throw err;
    // irq_exit(): run softirqs unless we interrupted an interrupt or a bh-disabled section.
    if ((savedPc & (SOFTIRQ_MASK | HARDIRQ_MASK | NMI_MASK)) === 0 && this.hasPendingSoftirq(cpu)) this.doSoftirq(cpu);
    // Interrupts raised while this one ran were held pending; they fire on return.
    if (this.pendingIrqs[cpu]!.length > 0 && this.irqsOff[cpu] === 0) this.deliverPending(cpu);
  }

  /**
   * Run `fn` as a non-maskable interrupt on `cpu` (delivered even with
   * interrupts disabled).
   * @kernel nmi_enter / nmi_exit (include/linux/hardirq.h)
   */
  inNmi(cpu: number, fn: () => void): void {
    this.checkCpu(cpu, true);
    const m = this.machine;
    const prevCpu = m.currentCpu;
    const savedPc = this.preemptCount[cpu]!;
    const savedIrq = this.irqsOff[cpu]!;
    const savedRcu = m.rcu.nesting[cpu]!;
    const depth = m.sched.current(cpu).held.depth;
    m.currentCpu = cpu;
    this.preemptCount[cpu] = savedPc + NMI_OFFSET + HARDIRQ_OFFSET;
    this.irqsOff[cpu] = 1;
    this.nrNmis[cpu]!++;
    let err: LockdepError | null = null;
    let ok = false;
    try {
      fn();
      ok = true;
    } finally {
      if (ok) err = this.contextExitError(cpu, savedPc + NMI_OFFSET + HARDIRQ_OFFSET, 1, savedRcu, depth, 'NMI');
      this.preemptCount[cpu] = savedPc;
      this.irqsOff[cpu] = savedIrq;
      m.rcu.nesting[cpu] = savedRcu;
      m.currentCpu = prevCpu;
    }
    if (err !== null) throw err;
    if (this.pendingIrqs[cpu]!.length > 0 && this.irqsOff[cpu] === 0) this.deliverPending(cpu);
  }

  /**
   * Run `fn` in softirq context on `cpu`. When the CPU is in an interrupt,
   * has bottom halves or interrupts disabled, `fn` stays pending until
   * softirqs can run there; returns whether it ran now.
   */
  inSoftirq(cpu: number, fn: () => void): boolean {
    this.checkCpu(cpu, true);
    this.pendingSoftFns[cpu]!.push(fn);
    if (!this.canRunSoftirq(cpu)) return false;
    this.doSoftirq(cpu);
    return true;
  }

  /** True when softirqs could run on `cpu` right now. */
  canRunSoftirq(cpu: number): boolean {
    return (this.preemptCount[cpu]! & (SOFTIRQ_MASK | HARDIRQ_MASK | NMI_MASK)) === 0 && this.irqsOff[cpu] === 0;
  }

  private hasPendingSoftirq(cpu: number): boolean {
    return this.softirqPending[cpu] !== 0 || this.pendingSoftFns[cpu]!.length > 0;
  }

  /**
   * Register the handler of softirq vector `nr`.
   * @kernel open_softirq (kernel/softirq.c)
   */
  openSoftirq(nr: number, handler: SoftirqHandler): void {
    if (!Number.isInteger(nr) || nr < 0 || nr >= NR_SOFTIRQS) {
      throw new MmError('EINVAL', `cpu: softirq vector ${nr} out of range`);
    }
    this.handlers[nr] = handler;
  }

  /**
   * Mark softirq `nr` pending on `cpu` (default: the current CPU). It runs at
   * the next interrupt exit, `local_bh_enable()` or scheduler step there.
   * @kernel raise_softirq (kernel/softirq.c)
   */
  raiseSoftirq(nr: number, cpu: number = this.machine.currentCpu): void {
    this.softirqPending[cpu] = this.softirqPending[cpu]! | (1 << nr);
  }

  /**
   * Run pending softirqs on `cpu` now if its context allows (the model of
   * the interrupt that would deliver them, or of ksoftirqd).
   */
  kickSoftirq(cpu: number): void {
    if (this.online[cpu] === 1 && this.hasPendingSoftirq(cpu) && this.canRunSoftirq(cpu)) this.doSoftirq(cpu);
  }

  /**
   * Run the pending softirqs of `cpu` in softirq context, restarting up to
   * {@link MAX_SOFTIRQ_RESTART} times; what remains waits for the next run.
   * @kernel __do_softirq (kernel/softirq.c)
   */
  private doSoftirq(cpu: number): void {
    const m = this.machine;
    const prevCpu = m.currentCpu;
    const savedPc = this.preemptCount[cpu]!;
    const savedIrq = this.irqsOff[cpu]!;
    const savedRcu = m.rcu.nesting[cpu]!;
    const depth = m.sched.current(cpu).held.depth;
    m.currentCpu = cpu;
    this.preemptCount[cpu] = savedPc + SOFTIRQ_OFFSET;
    let err: LockdepError | null = null;
    try {
      for (let round = 0; round < MAX_SOFTIRQ_RESTART && err === null; round++) {
        let pending = this.softirqPending[cpu]!;
        const fns = this.pendingSoftFns[cpu]!;
        if (pending === 0 && fns.length === 0) break;
        this.softirqPending[cpu] = 0;
        for (let nr = 0; pending !== 0; nr++, pending >>>= 1) {
          if ((pending & 1) === 0) continue;
          const h = this.handlers[nr];
          if (h === null || h === undefined) continue;
          this.nrSoftirqs[cpu]!++;
          h(cpu);
          err = this.contextExitError(cpu, savedPc + SOFTIRQ_OFFSET, 0, savedRcu, depth, 'softirq');
          if (err !== null) break;
        }
        while (fns.length > 0 && err === null) {
          const fn = fns.shift()!;
          this.nrSoftirqs[cpu]!++;
          fn();
          err = this.contextExitError(cpu, savedPc + SOFTIRQ_OFFSET, 0, savedRcu, depth, 'softirq');
        }
      }
    } finally {
      this.preemptCount[cpu] = savedPc;
      this.irqsOff[cpu] = savedIrq;
      m.rcu.nesting[cpu] = savedRcu;
      m.currentCpu = prevCpu;
    }
    if (err !== null) throw err;
  }

  /** The error to throw when a context ends unbalanced, or null. */
  private contextExitError(
    cpu: number,
    expectPc: number,
    expectIrqOff: number,
    expectRcu: number,
    depth: number,
    where: string,
  ): LockdepError | null {
    const m = this.machine;
    const held = m.sched.current(cpu).held;
    if (m.lockdep.enabled && held.depth > depth) {
      return new LockdepError(
        'held-at-exit',
        held.locks[depth]!.name,
        `${where} handler on CPU ${cpu} returned with locks held: ${held.names().slice(depth).join(', ')}`,
      );
    }
    if (m.rcu.nesting[cpu] !== expectRcu) {
      return new LockdepError(
        'held-at-exit',
        'rcu_read_lock',
        `${where} handler on CPU ${cpu} returned inside rcu_read_lock()`,
      );
    }
    if (this.preemptCount[cpu] !== expectPc || this.irqsOff[cpu] !== expectIrqOff) {
      return new LockdepError(
        'preempt-leak',
        '',
        `${where} handler on CPU ${cpu} changed the context: preempt_count 0x${expectPc.toString(16)} -> 0x${this.preemptCount[cpu]!.toString(16)}, irqs_disabled ${expectIrqOff} -> ${this.irqsOff[cpu]}`,
      );
    }
    return null;
  }

  // --- kernel-style context operations on the current CPU ---

  /** The current CPU id. @kernel smp_processor_id (include/linux/smp.h) */
  smpProcessorId(): number {
    return this.machine.currentCpu;
  }

  /** Preemption count of `cpu`: preempt-disable depth plus the softirq, hardirq and NMI bits. @kernel preempt_count (include/linux/preempt.h) */
  preemptCountOf(cpu: number = this.machine.currentCpu): number {
    return this.preemptCount[cpu]!;
  }

  /** Disable preemption on the current CPU (nests) @kernel preempt_disable (include/linux/preempt.h) */
  preemptDisable(): void {
    const cpu = this.machine.currentCpu;
    this.preemptCount[cpu] = this.preemptCount[cpu]! + PREEMPT_OFFSET;
  }

  /**
   * Undo one preempt_disable on the current CPU.
   * @throws MmBugError on underflow.
   * @kernel preempt_enable (include/linux/preempt.h)
   */
  preemptEnable(): void {
    const cpu = this.machine.currentCpu;
    const pc = this.preemptCount[cpu]!;
    if ((pc & PREEMPT_MASK) === 0) throw new MmBugError(`cpu: preempt_count underflow on CPU ${cpu}`);
    this.preemptCount[cpu] = pc - PREEMPT_OFFSET;
  }

  /** Disable interrupts on the current CPU. @kernel local_irq_disable (include/linux/irqflags.h) */
  localIrqDisable(): void {
    this.irqsOff[this.machine.currentCpu] = 1;
  }

  /**
   * Enable interrupts; pending interrupts are delivered at once.
   * @kernel local_irq_enable (include/linux/irqflags.h)
   */
  localIrqEnable(): void {
    const cpu = this.machine.currentCpu;
    if ((this.preemptCount[cpu]! & (HARDIRQ_MASK | NMI_MASK)) !== 0) {
      this.machine.warnOn(true, `cpu: local_irq_enable() in hardirq context on CPU ${cpu}`);
      return;
    }
    this.irqsOff[cpu] = 0;
    this.deliverPending(cpu);
  }

  /**
   * Disable interrupts and return the previous state (1 = were disabled).
   * @kernel local_irq_save (include/linux/irqflags.h)
   */
  localIrqSave(): number {
    const cpu = this.machine.currentCpu;
    const flags = this.irqsOff[cpu]!;
    this.irqsOff[cpu] = 1;
    return flags;
  }

  /** Restore the interrupt state saved in `flags`. @kernel local_irq_restore (include/linux/irqflags.h) */
  localIrqRestore(flags: number): void {
    if (flags === 0) this.localIrqEnable();
    else this.irqsOff[this.machine.currentCpu] = 1;
  }

  private deliverPending(cpu: number): void {
    const q = this.pendingIrqs[cpu]!;
    while (q.length > 0 && this.irqsOff[cpu] === 0) this.deliverHardirq(cpu, q.shift()!);
    if (this.irqsOff[cpu] === 0) this.kickSoftirq(cpu);
  }

  /** Interrupts waiting on `cpu` for interrupts to be enabled. */
  nrPendingIrqs(cpu: number): number {
    return this.pendingIrqs[cpu]!.length;
  }

  /** Disable softirq processing on the current CPU (nests) @kernel local_bh_disable (include/linux/bottom_half.h) */
  localBhDisable(): void {
    const cpu = this.machine.currentCpu;
    this.preemptCount[cpu] = this.preemptCount[cpu]! + SOFTIRQ_DISABLE_OFFSET;
  }

  /**
   * Re-enable bottom halves; pending softirqs run when the count drops to 0.
   * @kernel local_bh_enable (include/linux/bottom_half.h)
   */
  localBhEnable(): void {
    const cpu = this.machine.currentCpu;
    const pc = this.preemptCount[cpu]!;
    if ((pc & SOFTIRQ_MASK) < SOFTIRQ_DISABLE_OFFSET)
      throw new MmBugError(`cpu: local_bh_enable() underflow on CPU ${cpu}`);
    this.preemptCount[cpu] = pc - SOFTIRQ_DISABLE_OFFSET;
    this.kickSoftirq(cpu);
  }

  /**
   * Pin the current task to its CPU (it stays preemptible).
   * @kernel migrate_disable (kernel/sched/core.c)
   */
  migrateDisable(): void {
    this.machine.sched.current(this.machine.currentCpu).migrationDisabled++;
  }

  /** Allow the current task to migrate again (undoes one migrate_disable) @kernel migrate_enable (kernel/sched/core.c) */
  migrateEnable(): void {
    const t = this.machine.sched.current(this.machine.currentCpu);
    if (t.migrationDisabled === 0) throw new MmBugError(`cpu: migrate_enable() underflow in ${t.name}`);
    t.migrationDisabled--;
  }

  // --- context queries (on the current CPU unless given) ---

  /** The hardirq nesting bits of `cpu`'s preemption count. @kernel hardirq_count (include/linux/preempt.h) */
  hardirqCount(cpu: number = this.machine.currentCpu): number {
    return this.preemptCount[cpu]! & HARDIRQ_MASK;
  }

  /** The softirq bits of `cpu`'s preemption count. @kernel softirq_count (include/linux/preempt.h) */
  softirqCount(cpu: number = this.machine.currentCpu): number {
    return this.preemptCount[cpu]! & SOFTIRQ_MASK;
  }

  /** True in hardirq (or NMI) context. @kernel in_hardirq (include/linux/preempt.h) */
  isInHardirq(cpu: number = this.machine.currentCpu): boolean {
    return (this.preemptCount[cpu]! & HARDIRQ_MASK) !== 0;
  }

  /** True while serving a softirq. @kernel in_serving_softirq (include/linux/preempt.h) */
  isInServingSoftirq(cpu: number = this.machine.currentCpu): boolean {
    return (this.preemptCount[cpu]! & SOFTIRQ_OFFSET) !== 0;
  }

  /** True while serving a softirq or with bottom halves disabled. @kernel in_softirq (include/linux/preempt.h) */
  isInSoftirq(cpu: number = this.machine.currentCpu): boolean {
    return (this.preemptCount[cpu]! & SOFTIRQ_MASK) !== 0;
  }

  /** Whether `cpu` is handling an NMI. @kernel in_nmi (include/linux/preempt.h) */
  isInNmi(cpu: number = this.machine.currentCpu): boolean {
    return (this.preemptCount[cpu]! & NMI_MASK) !== 0;
  }

  /** Hardirq, softirq or NMI (including bh-disabled). @kernel in_interrupt (include/linux/preempt.h) */
  isInInterrupt(cpu: number = this.machine.currentCpu): boolean {
    return (this.preemptCount[cpu]! & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_MASK)) !== 0;
  }

  /** Task context (not hardirq, NMI or serving softirq). @kernel in_task (include/linux/preempt.h) */
  isInTask(cpu: number = this.machine.currentCpu): boolean {
    return (this.preemptCount[cpu]! & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)) === 0;
  }

  /** Whether `cpu` runs in atomic context (any preemption count) @kernel in_atomic (include/linux/preempt.h) */
  isInAtomic(cpu: number = this.machine.currentCpu): boolean {
    return this.preemptCount[cpu] !== 0;
  }

  /** Whether interrupts are disabled on `cpu`. @kernel irqs_disabled (include/linux/irqflags.h) */
  irqsDisabled(cpu: number = this.machine.currentCpu): boolean {
    return this.irqsOff[cpu] === 1;
  }

  /** Whether the code on `cpu` may be preempted (no preemption count, interrupts on) @kernel preemptible (include/linux/preempt.h) */
  preemptible(cpu: number = this.machine.currentCpu): boolean {
    return this.preemptCount[cpu] === 0 && this.irqsOff[cpu] === 0;
  }

  /** True when the CPU's task context may be switched away (not atomic, irqs on, no RCU reader). */
  schedulable(cpu: number): boolean {
    return (
      this.online[cpu] === 1 &&
      this.preemptCount[cpu] === 0 &&
      this.irqsOff[cpu] === 0 &&
      this.machine.rcu.nesting[cpu] === 0
    );
  }

  /** Mark `cpu` online or offline (used by CPU hotplug). */
  setOnline(cpu: number, online: boolean): void {
    const was = this.online[cpu] === 1;
    if (was === online) return;
    this.online[cpu] = online ? 1 : 0;
    this.nrOnline += online ? 1 : -1;
    if (!online) {
      this.pendingIrqs[cpu]!.length = 0;
    }
  }

  /** Move pending softirq work of a dead CPU to `to`. */
  takeOverSoftirqs(dead: number, to: number): void {
    this.softirqPending[to] = this.softirqPending[to]! | this.softirqPending[dead]!;
    this.softirqPending[dead] = 0;
    const fns = this.pendingSoftFns[dead]!;
    for (const fn of fns) this.pendingSoftFns[to]!.push(fn);
    fns.length = 0;
  }

  /** Per-CPU context state as plain JSON (for the web page). */
  toJSON(): CpusState {
    const cpus: CpuState[] = [];
    for (let c = 0; c < this.nrCpus; c++) {
      cpus.push({
        cpu: c,
        online: this.online[c] === 1,
        preemptCount: this.preemptCount[c]!,
        irqsDisabled: this.irqsOff[c] === 1,
        softirqPending: this.softirqPending[c]!,
        pendingIrqs: this.pendingIrqs[c]!.length,
        hardirqs: this.nrHardirqs[c]!,
        nmis: this.nrNmis[c]!,
        softirqs: this.nrSoftirqs[c]!,
      });
    }
    return { nrOnline: this.nrOnline, cpus };
  }
}
