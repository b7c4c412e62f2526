/**
 * DOC: lockdep: the lock-correctness checker.
 *
 * Every lock instance carries a lock class (one per name given at
 * initialisation, like the kernel's static key per init site). Acquisitions
 * are recorded on the current task's held-lock stack (interrupt handlers use
 * the interrupted task's stack, tagged with their context, as the kernel
 * does). The checker throws a {@link LockdepError} whose `kind` names the
 * kernel report it models:
 *
 * | kind | kernel report |
 * | --- | --- |
 * | `recursive-locking` | "possible recursive locking detected" (AA) |
 * | `circular-dependency` | "possible circular locking dependency detected" (ABBA) |
 * | `inconsistent-irq-state` | "inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage" |
 * | `irq-safe-to-unsafe` | "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected" |
 * | `bad-unlock` | "bad unlock balance detected", mutex/local_lock owner checks |
 * | `sleep-in-atomic` | "BUG: sleeping function called from invalid context" |
 * | `held-at-exit` | "lock held when returning to user space", held locks at task exit |
 * | `preempt-leak` | preempt count / irq state unbalanced when a context ends |
 * | `suspicious-rcu-usage` | "suspicious rcu_dereference_check() usage" |
 * | `spin-deadlock` | spinning on a lock whose holder cannot run (see below) |
 * | `would-block` | a sleeping lock would block in the harness (idle) context |
 *
 * A trylock never deadlocks, so (as in the kernel) it adds no dependency, is
 * exempt from the recursion check, and a trylock in interrupt context does
 * not mark the class as used in that context (the kernel's `mark_irqflags()`
 * skips trylocks too), which is what makes the `localtry_trylock()`-in-IRQ
 * pattern of the SLUB percpu sheaves ("slab: switch percpu sheaves locking
 * to localtry_lock") legal.
 *
 * The one-thread model cannot let a CPU spin while another CPU's holder
 * finishes: a spinlock held across an operation boundary belongs to code the
 * harness suspended, so spinning on it is reported as `spin-deadlock` after
 * the contention is counted. Trylocks see the lock as held, as they should.
 *
 * Per-class statistics (`/proc/lock_stat` style) live in typed arrays
 * indexed by class id: acquisitions, contentions, failed trylocks.
 */

import type { CostEvent, CostTable } from '../cost.js';
import type { CostAccount } from '../cost-account.js';
import { MmError } from '../errors.js';
import type { Clock } from '../sched/clock.js';

/** The report a {@link LockdepError} models. */
export type LockdepKind =
  | 'recursive-locking'
  | 'circular-dependency'
  | 'inconsistent-irq-state'
  | 'irq-safe-to-unsafe'
  | 'bad-unlock'
  | 'sleep-in-atomic'
  | 'held-at-exit'
  | 'preempt-leak'
  | 'suspicious-rcu-usage'
  | 'spin-deadlock'
  | 'would-block';

const KIND_CODES: Readonly<Record<LockdepKind, string>> = {
  'recursive-locking': 'EDEADLK',
  'circular-dependency': 'EDEADLK',
  'inconsistent-irq-state': 'EDEADLK',
  'irq-safe-to-unsafe': 'EDEADLK',
  'bad-unlock': 'EPERM',
  'sleep-in-atomic': 'EDEADLK',
  'held-at-exit': 'EBUSY',
  'preempt-leak': 'EBUSY',
  'suspicious-rcu-usage': 'EINVAL',
  'spin-deadlock': 'EDEADLK',
  'would-block': 'EDEADLK',
};

/** A lock-correctness violation found by the checker (`code` is the errno name, `kind` the report). */
export class LockdepError extends MmError {
  /** Which check failed (the lockdep report kind). */
  readonly kind: LockdepKind;
  /** Name of the lock class involved ('' when none). */
  readonly lockName: string;

  constructor(kind: LockdepKind, lockName: string, message: string) {
    super(KIND_CODES[kind], `lockdep: ${kind}: ${message}`);
    this.kind = kind;
    this.lockName = lockName;
  }
}

/**
 * The lockdep identity of one lock instance (the model of `struct
 * lockdep_map`). Every lock embeds one as `dep`, so the checker only ever
 * sees this one class (its call sites stay monomorphic).
 */
export class LockdepMap {
  /** Lock class id from {@link Lockdep.registerClass}. */
  readonly classId: number;
  /** The lock's name (its class name). */
  readonly name: string;
  /** CPU of the last acquisition (for lock_stat's bounce counts), -1 before the first. */
  lastCpu: number;

  constructor(classId: number, name: string) {
    this.classId = classId;
    this.name = name;
    this.lastCpu = -1;
  }
}

/** Lock kinds, for statistics and reports. */
export const LOCK_KIND = {
  /** `spinlock_t` (a sleeping lock under PREEMPT_RT). */
  spin: 0,
  /** `raw_spinlock_t`: a spinning lock even under PREEMPT_RT. */
  rawSpin: 1,
  /** `struct mutex`: a sleeping lock with one owner at a time. */
  mutex: 2,
  /** `struct rw_semaphore`: a sleeping lock held by many readers or one writer. */
  rwsem: 3,
  /** `local_lock_t`: a per-CPU lock that disables preemption, or a per-CPU sleeping lock under PREEMPT_RT. */
  local: 4,
  /** `seqcount_t` write side. */
  seqcount: 5,
} as const;
/** One of {@link LOCK_KIND}. */
export type LockKind = (typeof LOCK_KIND)[keyof typeof LOCK_KIND];

/** Usage bit: the class was taken in hardirq context. */
export const LOCK_USED_IN_HARDIRQ = 1;
/** Usage bit: the class was taken in softirq context. */
export const LOCK_USED_IN_SOFTIRQ = 2;
/** Usage bit: the class was taken with hardirqs enabled. */
export const LOCK_ENABLED_HARDIRQ = 4;
/** Usage bit: the class was taken with softirqs enabled. */
export const LOCK_ENABLED_SOFTIRQ = 8;

/** Held-lock flag: taken for reading. */
export const HELD_READ = 1;
/** Held-lock flag: taken by a trylock. */
export const HELD_TRYLOCK = 2;

/** The kernel's limit on locks held at once by one task. */
export const MAX_LOCK_DEPTH = 48;

/** The held-lock stack of one task (the model of `task_struct::held_locks`). */
export class HeldLocks {
  /** The held lock instances, bottom first. */
  readonly locks: (LockdepMap | null)[];
  /** The context (preempt-count interrupt bits) each lock was taken in. */
  readonly ctx: Uint32Array;
  /** {@link HELD_READ} / {@link HELD_TRYLOCK} per entry. */
  readonly flags: Uint8Array;
  /** Lockdep subclass per entry (`spin_lock_nested`). */
  readonly subclass: Uint8Array;
  /** Virtual time each entry was acquired (lock_stat hold times). */
  readonly since: Float64Array;
  /** Number of entries in use. */
  depth: number;

  constructor() {
    this.locks = new Array<LockdepMap | null>(MAX_LOCK_DEPTH).fill(null);
    this.ctx = new Uint32Array(MAX_LOCK_DEPTH);
    this.flags = new Uint8Array(MAX_LOCK_DEPTH);
    this.subclass = new Uint8Array(MAX_LOCK_DEPTH);
    this.since = new Float64Array(MAX_LOCK_DEPTH);
    this.depth = 0;
  }

  /** Index of `lock` in the stack, or -1. */
  indexOf(lock: LockdepMap): number {
    for (let i = this.depth - 1; i >= 0; i--) if (this.locks[i] === lock) return i;
    return -1;
  }

  /** Names of the held locks, bottom first (for reports). */
  names(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.depth; i++) out.push(this.locks[i]!.name);
    return out;
  }
}

/** Interrupt bits of the preempt count (hardirq, NMI, serving softirq): a held lock's context tag. */
const CTX_MASK = 0x00ff0000 | 0x100;

/** Per-class statistics row returned by {@link Lockdep.stats}. */
export interface LockClassStats {
  /** Lock class name. */
  readonly name: string;
  /** Successful acquisitions. */
  readonly acquisitions: number;
  /** Acquisitions that found the lock held. */
  readonly contentions: number;
  /** Trylocks that failed. */
  readonly trylockFailures: number;
  /** Total and longest virtual ns tasks slept waiting for the class (sleeping locks). */
  readonly waitNsTotal: number;
  /** Longest wait, virtual ns. */
  readonly waitNsMax: number;
  /** Shortest wait (0 when none). */
  readonly waitNsMin: number;
  /** Hold times of releases seen by lockdep: count, total, shortest, longest. */
  readonly holds: number;
  /** Total hold time, virtual ns. */
  readonly holdNsTotal: number;
  /** Shortest hold, virtual ns (0 when none). */
  readonly holdNsMin: number;
  /** Longest hold, virtual ns. */
  readonly holdNsMax: number;
  /** Contentions / acquisitions where the lock was last taken on another CPU. */
  readonly conBounces: number;
  /** Acquisitions where the lock was last taken on another CPU. */
  readonly acqBounces: number;
}

/**
 * What lockdep reads of a task: its name and held locks (the `task_struct`
 * fields lockdep uses). The scheduler's `Task` has them.
 */
export interface LockdepTask {
  /** Task name, for reports. @kernel task_struct.comm */
  readonly name: string;
  /** Locks the task holds. @kernel task_struct.held_locks, task_struct.lockdep_depth */
  readonly held: HeldLocks;
  /** Virtual time the task's current or last lock wait began. */
  readonly waitStartNs: number;
}

/**
 * The machine as lockdep sees it. Declared here, structurally, so that the
 * checker depends on no module above it (the scheduler, RCU and the CPU
 * contexts all use lockdep).
 */
export interface LockdepHost {
  /** CPU the running code is on. @kernel smp_processor_id */
  readonly currentCpu: number;
  /** Virtual-time cost table. */
  readonly costs: CostTable;
  /** Machine configuration lockdep reads. */
  readonly config: {
    /** `CONFIG_PREEMPT_RT`: spinlocks sleep. */
    readonly preemptRt: boolean;
  };
  /** Virtual clock, for wait and hold times. */
  readonly clock: Clock;
  /** Cost account charged for checks. */
  readonly account: CostAccount;
  /** Per-CPU context: preempt count and interrupt state. */
  readonly cpus: {
    /** `preempt_count()` per CPU. */
    readonly preemptCount: Int32Array;
    /** 1 where the CPU has interrupts disabled (`irqs_disabled()`). */
    readonly irqsOff: Uint8Array;
  };
  /** Tasks and the task running on each CPU. */
  readonly sched: {
    /** Tasks by pid. */
    readonly tasks: readonly LockdepTask[];
    /** Pid of the task running on each CPU. */
    readonly currentPid: Int32Array;
    /** The task running on `cpu` (`current`). */
    current(cpu: number): LockdepTask;
  };
}

/** What {@link mightSleep} looks at: the CPU context, RCU nesting and the checker. */
export interface MightSleepHost extends LockdepHost {
  /** The machine's lock checker. */
  readonly lockdep: Lockdep;
  /** Per-CPU RCU read-side nesting depth. */
  readonly rcu: {
    /** `rcu_read_lock()` nesting per CPU. */
    readonly nesting: Int32Array;
  };
}

/**
 * The lock checker and per-class statistics of one machine (`machine.lockdep`).
 * @kernel lockdep (kernel/locking/lockdep.c)
 */
export class Lockdep {
  /** When false no check runs (statistics are still kept); the kernel's `debug_locks`. */
  enabled: boolean;
  private readonly machine: LockdepHost;
  private readonly classByName: Map<string, number>;
  private readonly classNames: string[];
  private classKinds: Uint8Array;
  private usage: Uint8Array;
  private acquisitions: Float64Array;
  private contentions: Float64Array;
  private trylockFailures: Float64Array;
  private waitNsTotal: Float64Array;
  private waitNsMax: Float64Array;
  private waitNsMin: Float64Array;
  private holdNsTotal: Float64Array;
  private holdNsMax: Float64Array;
  private holdNsMin: Float64Array;
  private holds: Float64Array;
  private conBounces: Float64Array;
  private acqBounces: Float64Array;
  /** Dependency graph (class a taken while holding class b gives edge b → a). */
  private readonly fwd: number[][];
  private readonly bwd: number[][];
  private readonly edges: Set<number>;
  private nrClasses: number;
  /** Per class: the cost event an acquisition charges (by lock kind) and its ns. */
  private costIndex: Uint8Array;
  private costNs: Float64Array;
  private readonly bounceIndex: number;
  private readonly bounceNs: number;
  // Direct references: the checker runs on every lock operation.
  private readonly tasks: readonly LockdepTask[];
  private readonly currentPid: Int32Array;
  private readonly preemptCount: Int32Array;
  private readonly irqsOff: Uint8Array;
  private readonly account: CostAccount;
  private readonly clock: Clock;
  private readonly cpuNs: Float64Array;
  private readonly busyNs: Float64Array;
  private readonly eventCounts: Float64Array;

  constructor(machine: LockdepHost) {
    this.enabled = true;
    this.machine = machine;
    this.classByName = new Map();
    this.classNames = [];
    this.classKinds = new Uint8Array(64);
    this.usage = new Uint8Array(64);
    this.acquisitions = new Float64Array(64);
    this.contentions = new Float64Array(64);
    this.trylockFailures = new Float64Array(64);
    this.waitNsTotal = new Float64Array(64);
    this.waitNsMax = new Float64Array(64);
    this.waitNsMin = new Float64Array(64);
    this.holdNsTotal = new Float64Array(64);
    this.holdNsMax = new Float64Array(64);
    this.holdNsMin = new Float64Array(64);
    this.holds = new Float64Array(64);
    this.conBounces = new Float64Array(64);
    this.acqBounces = new Float64Array(64);
    this.fwd = [];
    this.bwd = [];
    this.edges = new Set();
    this.nrClasses = 0;
    this.costIndex = new Uint8Array(64);
    this.costNs = new Float64Array(64);
    this.bounceIndex = machine.account.eventIndexOf('cacheLineTransfer');
    this.bounceNs = machine.costs.cacheLineTransfer;
    this.tasks = machine.sched.tasks;
    this.currentPid = machine.sched.currentPid;
    this.preemptCount = machine.cpus.preemptCount;
    this.irqsOff = machine.cpus.irqsOff;
    this.account = machine.account;
    this.clock = machine.clock;
    this.cpuNs = machine.clock.cpuNs;
    this.busyNs = machine.account.busyNs;
    this.eventCounts = machine.account.eventCounts;
  }

  /** Held-lock stack of the task running on `cpu`. */
  private heldOn(cpu: number): HeldLocks {
    return this.tasks[this.currentPid[cpu]!]!.held;
  }

  /**
   * The class id for `name` (registered on first use); every lock initialised
   * with the same name shares the class, as locks from one init site do.
   * @kernel lockdep_init_map (kernel/locking/lockdep.c)
   */
  registerClass(name: string, kind: LockKind): number {
    const found = this.classByName.get(name);
    if (found !== undefined) return found;
    const id = this.nrClasses++;
    if (id >= this.usage.length) this.grow();
    this.classByName.set(name, id);
    this.classNames.push(name);
    this.classKinds[id] = kind;
    // The cost model's event per kind: spinning locks and PREEMPT_RT local
    // locks (per-CPU spinlocks there) are `spinLock`, non-RT local locks
    // `localLock`, sleeping locks and seqcount writers `lockAcquire`.
    const ev: CostEvent =
      kind === LOCK_KIND.spin ||
      kind === LOCK_KIND.rawSpin ||
      (kind === LOCK_KIND.local && this.machine.config.preemptRt)
        ? 'spinLock'
        : kind === LOCK_KIND.local
          ? 'localLock'
          : 'lockAcquire';
    this.costIndex[id] = this.machine.account.eventIndexOf(ev);
    this.costNs[id] = this.machine.costs[ev];
    this.waitNsMin[id] = Number.POSITIVE_INFINITY;
    this.holdNsMin[id] = Number.POSITIVE_INFINITY;
    this.fwd.push([]);
    this.bwd.push([]);
    return id;
  }

  private grow(): void {
    const n = this.usage.length * 2;
    const k = new Uint8Array(n);
    k.set(this.classKinds);
    this.classKinds = k;
    const u = new Uint8Array(n);
    u.set(this.usage);
    this.usage = u;
    const a = new Float64Array(n);
    a.set(this.acquisitions);
    this.acquisitions = a;
    const c = new Float64Array(n);
    c.set(this.contentions);
    this.contentions = c;
    const t = new Float64Array(n);
    t.set(this.trylockFailures);
    this.trylockFailures = t;
    const wt = new Float64Array(n);
    wt.set(this.waitNsTotal);
    this.waitNsTotal = wt;
    const wm = new Float64Array(n);
    wm.set(this.waitNsMax);
    this.waitNsMax = wm;
    const grow = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const ci = new Uint8Array(n);
    ci.set(this.costIndex);
    this.costIndex = ci;
    this.costNs = grow(this.costNs);
    this.waitNsMin = grow(this.waitNsMin);
    this.holdNsTotal = grow(this.holdNsTotal);
    this.holdNsMax = grow(this.holdNsMax);
    this.holdNsMin = grow(this.holdNsMin);
    this.holds = grow(this.holds);
    this.conBounces = grow(this.conBounces);
    this.acqBounces = grow(this.acqBounces);
  }

  /** Number of lock classes registered. */
  get nrLockClasses(): number {
    return this.nrClasses;
  }

  /** The usage bits of a class ({@link LOCK_USED_IN_HARDIRQ} …). */
  classUsage(classId: number): number {
    return this.usage[classId]!;
  }

  /** Count a contended acquisition (the lock had to be waited for). */
  noteContention(lock: LockdepMap): void {
    this.contentions[lock.classId]!++;
    if (lock.lastCpu >= 0 && lock.lastCpu !== this.machine.currentCpu) this.conBounces[lock.classId]!++;
  }

  /**
   * Account the wait of the current task of `cpu`, which was just handed
   * `lock` after sleeping (lock_stat's waittime).
   */
  noteWaited(lock: LockdepMap, cpu: number): void {
    const waited = this.machine.clock.cpuNow(cpu) - this.taskOn(cpu).waitStartNs;
    const id = lock.classId;
    if (waited < this.waitNsMin[id]!) this.waitNsMin[id] = waited;
    this.waitNsTotal[id]! += waited;
    if (waited > this.waitNsMax[id]!) this.waitNsMax[id] = waited;
  }

  private taskOn(cpu: number): LockdepTask {
    return this.tasks[this.currentPid[cpu]!]!;
  }

  /** Count a failed trylock. */
  noteTrylockFailure(lock: LockdepMap): void {
    this.trylockFailures[lock.classId]!++;
  }

  /**
   * Check and record an acquisition of `lock` by the current context of
   * `cpu`. Throws before changing anything when a rule is broken; the caller
   * changes the lock's state only after this returns.
   * @kernel lock_acquire (kernel/locking/lockdep.c)
   */
  acquire(lock: LockdepMap, cpu: number, flags: number, subclass: number): void {
    // Kept small so that V8 inlines it into the lock functions: the
    // debug_locks-off path touches only the statistics and the cost account.
    const id = lock.classId;
    const last = lock.lastCpu;
    if (last !== cpu) {
      if (last >= 0) this.bounce(id, cpu);
      lock.lastCpu = cpu;
    }
    if (this.enabled) {
      this.acquireChecked(lock, cpu, flags, subclass);
      return;
    }
    this.acquisitions[id]!++;
    this.charge(id, cpu);
  }

  /**
   * The lock word was last written by another CPU: its cache line moves
   * here (local locks are per CPU: one map stands for every CPU's instance).
   */
  private bounce(id: number, cpu: number): void {
    this.acqBounces[id]!++;
    if (this.classKinds[id] !== LOCK_KIND.local) this.account.chargeAt(cpu, this.bounceIndex, this.bounceNs);
  }

  /** The acquisition's cost-model charge: {@link CostAccount.chargeAt} with the class's precomputed event. */
  private charge(id: number, cpu: number): void {
    const ns = this.costNs[id]!;
    const ev = this.costIndex[id]!;
    this.eventCounts[ev]!++;
    this.busyNs[cpu]! += ns;
    const clock = this.clock;
    const cpuNs = this.cpuNs;
    const t = cpuNs[cpu]!;
    const now = clock.now;
    cpuNs[cpu] = Math.max(t, now) + ns;
  }

  /** {@link Lockdep.acquire} with debug_locks on: every check, then the held-lock record. */
  private acquireChecked(lock: LockdepMap, cpu: number, flags: number, subclass: number): void {
    const id = lock.classId;
    const held = this.heldOn(cpu);
    const depth = held.depth;
    const pc = this.preemptCount[cpu]!;
    const trylock = (flags & HELD_TRYLOCK) !== 0;
    if (depth >= MAX_LOCK_DEPTH) {
      throw new LockdepError('held-at-exit', lock.name, `too many held locks (MAX_LOCK_DEPTH ${MAX_LOCK_DEPTH})`);
    }
    const locks = held.locks;
    if (!trylock) {
      for (let i = 0; i < depth; i++) {
        const h = locks[i]!;
        if (h === lock || (h.classId === id && held.subclass[i] === subclass)) {
          throw new LockdepError(
            'recursive-locking',
            lock.name,
            `${lock.name} acquired on CPU ${cpu} while already held (held: ${held.names().join(', ')})`,
          );
        }
      }
    }
    // Usage bits this acquisition adds.
    const inHard = (pc & 0x00ff0000) !== 0;
    const inSoftServing = (pc & 0x100) !== 0;
    const irqsOn = this.irqsOff[cpu] === 0;
    let add = 0;
    if (!trylock) {
      if (inHard) add |= LOCK_USED_IN_HARDIRQ;
      else if (inSoftServing) add |= LOCK_USED_IN_SOFTIRQ;
    }
    if (!inHard && irqsOn) add |= LOCK_ENABLED_HARDIRQ;
    if (!inHard && !inSoftServing && irqsOn && (pc & 0xff00) === 0) add |= LOCK_ENABLED_SOFTIRQ;
    const old = this.usage[id]!;
    const merged = old | add;
    if (merged !== old) this.checkUsage(lock, old, merged);
    const ctx = pc & CTX_MASK;
    if (!trylock && depth > 0) {
      // Dependencies from every lock held in this context to the new one:
      // all checked first, then all recorded, so a report changes nothing.
      let fresh = 0;
      for (let pass = 0; pass < 2; pass++) {
        for (let i = 0; i < depth; i++) {
          if (held.ctx[i] !== ctx || (held.flags[i]! & HELD_TRYLOCK) !== 0) continue;
          const prev = locks[i]!.classId;
          if (prev === id || this.hasEdge(prev, id)) continue;
          if (pass === 0) {
            this.checkDependency(prev, id, lock.name, merged);
            fresh++;
          } else {
            this.recordDependency(prev, id);
          }
        }
        if (fresh === 0) break;
      }
    }
    this.usage[id] = merged;
    this.acquisitions[id]!++;
    this.charge(id, cpu);
    // Push on the held-lock stack (depth < MAX_LOCK_DEPTH was checked above).
    locks[depth] = lock;
    held.ctx[depth] = ctx;
    held.flags[depth] = flags;
    held.subclass[depth] = subclass;
    const t = this.cpuNs[cpu]!;
    const now = this.clock.now;
    held.since[depth] = Math.max(t, now);
    held.depth = depth + 1;
  }

  /** Whether the dependency prev → next is recorded (a scan of prev's short forward list, no hashing). */
  private hasEdge(prev: number, next: number): boolean {
    const f = this.fwd[prev]!;
    for (let i = 0; i < f.length; i++) if (f[i] === next) return true;
    return false;
  }

  private checkUsage(lock: LockdepMap, old: number, merged: number): void {
    if ((merged & LOCK_USED_IN_HARDIRQ) !== 0 && (merged & LOCK_ENABLED_HARDIRQ) !== 0) {
      throw new LockdepError(
        'inconsistent-irq-state',
        lock.name,
        `inconsistent {IN-HARDIRQ} -> {HARDIRQ-ON} usage of ${lock.name}: taken in hardirq context and with hardirqs enabled`,
      );
    }
    if ((merged & LOCK_USED_IN_SOFTIRQ) !== 0 && (merged & LOCK_ENABLED_SOFTIRQ) !== 0) {
      throw new LockdepError(
        'inconsistent-irq-state',
        lock.name,
        `inconsistent {IN-SOFTIRQ} -> {SOFTIRQ-ON} usage of ${lock.name}: taken in softirq context and with softirqs enabled`,
      );
    }
    const id = lock.classId;
    // Newly irq-unsafe: is any class that is taken before it irq-safe?
    if ((old & LOCK_ENABLED_HARDIRQ) === 0 && (merged & LOCK_ENABLED_HARDIRQ) !== 0) {
      const safe = this.search(id, this.bwd, LOCK_USED_IN_HARDIRQ);
      if (safe >= 0) this.safeToUnsafe(safe, id, 'HARDIRQ');
    }
    if ((old & LOCK_ENABLED_SOFTIRQ) === 0 && (merged & LOCK_ENABLED_SOFTIRQ) !== 0) {
      const safe = this.search(id, this.bwd, LOCK_USED_IN_SOFTIRQ | LOCK_USED_IN_HARDIRQ);
      if (safe >= 0 && (this.usage[safe]! & LOCK_USED_IN_SOFTIRQ) !== 0) this.safeToUnsafe(safe, id, 'SOFTIRQ');
    }
    // Newly irq-safe: is any class taken after it irq-unsafe?
    if ((old & LOCK_USED_IN_HARDIRQ) === 0 && (merged & LOCK_USED_IN_HARDIRQ) !== 0) {
      const unsafe = this.search(id, this.fwd, LOCK_ENABLED_HARDIRQ);
      if (unsafe >= 0) this.safeToUnsafe(id, unsafe, 'HARDIRQ');
    }
    if ((old & LOCK_USED_IN_SOFTIRQ) === 0 && (merged & LOCK_USED_IN_SOFTIRQ) !== 0) {
      const unsafe = this.search(id, this.fwd, LOCK_ENABLED_SOFTIRQ);
      if (unsafe >= 0) this.safeToUnsafe(id, unsafe, 'SOFTIRQ');
    }
  }

  private safeToUnsafe(safe: number, unsafe: number, what: string): never {
    const s = this.classNames[safe]!;
    const u = this.classNames[unsafe]!;
    throw new LockdepError(
      'irq-safe-to-unsafe',
      u,
      `${what}-safe -> ${what}-unsafe lock order detected: ${s} (taken in ${what.toLowerCase()} context) is held while taking ${u} (taken with ${what.toLowerCase()}s enabled)`,
    );
  }

  /** Breadth-first search from `start` (excluded) along `adj` for a class with any of `bits`; -1 when none. */
  private search(start: number, adj: number[][], bits: number): number {
    const seen = new Uint8Array(this.nrClasses);
    const queue = [start];
    seen[start] = 1;
    for (let q = 0; q < queue.length; q++) {
      const next = adj[queue[q]!]!;
      for (let i = 0; i < next.length; i++) {
        const c = next[i]!;
        if (seen[c]) continue;
        seen[c] = 1;
        if ((this.usage[c]! & bits) !== 0) return c;
        queue.push(c);
      }
    }
    return -1;
  }

  private reaches(from: number, to: number): boolean {
    if (from === to) return true;
    const seen = new Uint8Array(this.nrClasses);
    const stack = [from];
    seen[from] = 1;
    while (stack.length > 0) {
      const next = this.fwd[stack.pop()!]!;
      for (let i = 0; i < next.length; i++) {
        const c = next[i]!;
        if (c === to) return true;
        if (!seen[c]) {
          seen[c] = 1;
          stack.push(c);
        }
      }
    }
    return false;
  }

  private checkDependency(prev: number, next: number, name: string, nextUsage: number): void {
    if (this.reaches(next, prev)) {
      throw new LockdepError(
        'circular-dependency',
        name,
        `possible circular locking dependency: taking ${this.classNames[next]} while holding ${this.classNames[prev]}, but ${this.classNames[prev]} has been taken while holding ${this.classNames[next]}`,
      );
    }
    // Irq usage across the new edge: no irq-safe class at or before `prev`
    // may lead to an irq-unsafe class at or after `next`.
    this.checkEdgeUsage(prev, next, nextUsage, LOCK_USED_IN_HARDIRQ, LOCK_ENABLED_HARDIRQ, 'HARDIRQ');
    this.checkEdgeUsage(prev, next, nextUsage, LOCK_USED_IN_SOFTIRQ, LOCK_ENABLED_SOFTIRQ, 'SOFTIRQ');
  }

  private checkEdgeUsage(
    prev: number,
    next: number,
    nextUsage: number,
    safeBit: number,
    unsafeBit: number,
    what: string,
  ): void {
    const unsafe = (nextUsage & unsafeBit) !== 0 ? next : this.search(next, this.fwd, unsafeBit);
    if (unsafe < 0) return;
    const safe = (this.usage[prev]! & safeBit) !== 0 ? prev : this.search(prev, this.bwd, safeBit);
    if (safe >= 0) this.safeToUnsafe(safe, unsafe, what);
  }

  private recordDependency(prev: number, next: number): void {
    const key = prev * 0x100000 + next;
    if (this.edges.has(key)) return;
    this.edges.add(key);
    this.fwd[prev]!.push(next);
    this.bwd[next]!.push(prev);
  }

  /**
   * Record the release of `lock` by the current context of `cpu`.
   * @throws LockdepError `bad-unlock` when the current task does not hold it.
   * @kernel lock_release (kernel/locking/lockdep.c)
   */
  release(lock: LockdepMap, cpu: number): void {
    const held = this.heldOn(cpu);
    const last = held.depth - 1;
    // Locks are mostly released in reverse order: try the top first.
    if (last >= 0 && held.locks[last] === lock) {
      this.noteHold(lock.classId, held.since[last]!, cpu);
      held.locks[last] = null;
      held.depth = last;
      return;
    }
    if (last < 0 && !this.enabled) return;
    this.releaseSlow(held, lock, cpu);
  }

  /** lock_stat hold-time statistics of one release. */
  private noteHold(id: number, since: number, cpu: number): void {
    const t = this.cpuNs[cpu]!;
    const now = this.clock.now;
    const hold = Math.max(t, now) - since;
    if (hold < this.holdNsMin[id]!) this.holdNsMin[id] = hold;
    if (hold > this.holdNsMax[id]!) this.holdNsMax[id] = hold;
    this.holdNsTotal[id]! += hold;
    this.holds[id]!++;
  }

  /** {@link Lockdep.release} of a lock that is not on top of the held stack. */
  private releaseSlow(held: HeldLocks, lock: LockdepMap, cpu: number): void {
    const i = held.indexOf(lock);
    if (i < 0) {
      if (!this.enabled) return;
      throw new LockdepError(
        'bad-unlock',
        lock.name,
        `bad unlock balance: ${lock.name} released on CPU ${cpu} by ${this.machine.sched.current(cpu).name}, which does not hold it`,
      );
    }
    this.noteHold(lock.classId, held.since[i]!, cpu);
    const last = held.depth - 1;
    for (let j = i; j < last; j++) {
      held.locks[j] = held.locks[j + 1]!;
      held.ctx[j] = held.ctx[j + 1]!;
      held.flags[j] = held.flags[j + 1]!;
      held.subclass[j] = held.subclass[j + 1]!;
      held.since[j] = held.since[j + 1]!;
    }
    held.locks[last] = null;
    held.depth = last;
  }

  /**
   * Turn a held write acquisition into a read one.
   * @kernel lock_downgrade (kernel/locking/lockdep.c)
   */
  downgrade(lock: LockdepMap, cpu: number): void {
    const held = this.machine.sched.current(cpu).held;
    const i = held.indexOf(lock);
    if (i >= 0) held.flags[i] = held.flags[i]! | HELD_READ;
  }

  /** Name of the innermost spinlock, local lock or seqcount write section held on `cpu`, or null. */
  heldSpinning(cpu: number): string | null {
    const held = this.heldOn(cpu);
    for (let i = held.depth - 1; i >= 0; i--) {
      const k = this.classKinds[held.locks[i]!.classId]!;
      if (k === LOCK_KIND.spin || k === LOCK_KIND.rawSpin || k === LOCK_KIND.local || k === LOCK_KIND.seqcount) {
        return held.locks[i]!.name;
      }
    }
    return null;
  }

  /** True when the current task of `cpu` holds `lock`. */
  isHeld(lock: LockdepMap, cpu: number = this.machine.currentCpu): boolean {
    return this.machine.sched.current(cpu).held.indexOf(lock) >= 0;
  }

  /**
   * Throw unless the current context holds `lock`.
   * @kernel lockdep_assert_held (include/linux/lockdep.h)
   */
  assertHeld(lock: LockdepMap): void {
    if (this.enabled && !this.isHeld(lock)) {
      throw new LockdepError('bad-unlock', lock.name, `${lock.name} is not held on CPU ${this.machine.currentCpu}`);
    }
  }

  /**
   * Throw `held-at-exit` when the held stack of the current task of `cpu`
   * is deeper than `depth` (locks taken in a context that is ending).
   */
  checkDepth(cpu: number, depth: number, where: string): void {
    if (!this.enabled) return;
    const held = this.machine.sched.current(cpu).held;
    if (held.depth > depth) {
      const names = held.names().slice(depth).join(', ');
      throw new LockdepError(
        'held-at-exit',
        held.locks[depth]!.name,
        `${where} on CPU ${cpu} ended with locks held: ${names}`,
      );
    }
  }

  /**
   * Throw `held-at-exit` when the current task of the current CPU holds any
   * lock: call it where an operation ends (a system call or fault returning
   * to user space).
   * @kernel debug_check_no_locks_held (kernel/locking/lockdep.c)
   */
  debugCheckNoLocksHeld(): void {
    const cpu = this.machine.currentCpu;
    this.checkDepth(cpu, 0, `${this.machine.sched.current(cpu).name}: operation`);
  }

  private row(i: number): LockClassStats {
    return {
      name: this.classNames[i]!,
      acquisitions: this.acquisitions[i]!,
      contentions: this.contentions[i]!,
      trylockFailures: this.trylockFailures[i]!,
      waitNsTotal: this.waitNsTotal[i]!,
      waitNsMax: this.waitNsMax[i]!,
      waitNsMin: Number.isFinite(this.waitNsMin[i]!) ? this.waitNsMin[i]! : 0,
      holds: this.holds[i]!,
      holdNsTotal: this.holdNsTotal[i]!,
      holdNsMin: Number.isFinite(this.holdNsMin[i]!) ? this.holdNsMin[i]! : 0,
      holdNsMax: this.holdNsMax[i]!,
      conBounces: this.conBounces[i]!,
      acqBounces: this.acqBounces[i]!,
    };
  }

  /** Per-class statistics (`/proc/lock_stat` style), in class order. */
  stats(): LockClassStats[] {
    const out: LockClassStats[] = [];
    for (let i = 0; i < this.nrClasses; i++) out.push(this.row(i));
    return out;
  }

  /** Statistics of one class by name (zeros when unknown). */
  classStats(name: string): LockClassStats {
    const id = this.classByName.get(name);
    if (id !== undefined) return this.row(id);
    return {
      name,
      acquisitions: 0,
      contentions: 0,
      trylockFailures: 0,
      waitNsTotal: 0,
      waitNsMax: 0,
      waitNsMin: 0,
      holds: 0,
      holdNsTotal: 0,
      holdNsMin: 0,
      holdNsMax: 0,
      conBounces: 0,
      acqBounces: 0,
    };
  }

  /**
   * `/proc/lock_stat` text: one line per class with acquisitions, sorted by
   * contentions then acquisitions, times in microseconds with two decimals
   * as the kernel prints them. The model has no contention call sites, so
   * the per-site lines below each class are left out.
   * @kernel lock_stat_show (kernel/locking/lockdep_proc.c)
   */
  formatLockStat(): string {
    const us = (ns: number): string => (ns / 1000).toFixed(2);
    const col = (v: string): string => v.padStart(14);
    const rule = '-'.repeat(40 + 14 * 12 + 13);
    const lines: string[] = ['lock_stat version 0.4', rule];
    lines.push(
      `${'class name'.padStart(40)}${[
        'con-bounces',
        'contentions',
        'waittime-min',
        'waittime-max',
        'waittime-total',
        'waittime-avg',
        'acq-bounces',
        'acquisitions',
        'holdtime-min',
        'holdtime-max',
        'holdtime-total',
        'holdtime-avg',
      ]
        .map((h) => ` ${col(h)}`)
        .join('')}`,
    );
    lines.push(rule, '');
    const rows = this.stats()
      .filter((r) => r.acquisitions > 0 || r.contentions > 0)
      .sort((a, b) => b.contentions - a.contentions || b.acquisitions - a.acquisitions);
    for (const r of rows) {
      const waits = r.contentions > 0 ? r.waitNsTotal / r.contentions : 0;
      const holdAvg = r.holds > 0 ? r.holdNsTotal / r.holds : 0;
      const cells = [
        String(r.conBounces),
        String(r.contentions),
        us(r.waitNsMin),
        us(r.waitNsMax),
        us(r.waitNsTotal),
        us(waits),
        String(r.acqBounces),
        String(r.acquisitions),
        us(r.holdNsMin),
        us(r.holdNsMax),
        us(r.holdNsTotal),
        us(holdAvg),
      ];
      lines.push(`${`${r.name}:`.padStart(41)}${cells.map((c) => ` ${col(c)}`).join('')}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** Per-class statistics as plain JSON. */
  toJSON(): {
    /** {@link Lockdep.enabled}. */
    readonly enabled: boolean;
    /** {@link Lockdep.stats}. */
    readonly classes: readonly LockClassStats[];
  } {
    return { enabled: this.enabled, classes: this.stats() };
  }
}

/**
 * Check that the current context of the machine may sleep.
 * @throws LockdepError `sleep-in-atomic` in interrupt context, with
 *   preemption or interrupts disabled, or inside an RCU read-side section.
 * @kernel might_sleep (include/linux/kernel.h, kernel/sched/core.c __might_sleep)
 */
export function mightSleep(machine: MightSleepHost, what = 'might_sleep'): void {
  if (!machine.lockdep.enabled) return;
  const cpu = machine.currentCpu;
  const pc = machine.cpus.preemptCount[cpu]!;
  const irqsOff = machine.cpus.irqsOff[cpu] === 1;
  const rcu = machine.rcu.nesting[cpu]!;
  const spinning = machine.lockdep.heldSpinning(cpu);
  if (spinning !== null) {
    // Under PREEMPT_RT a spinlock_t or local lock holder is preemptible, but sleeping
    // inside it is still invalid (lockdep's wait-type check).
    throw new LockdepError(
      'sleep-in-atomic',
      spinning,
      `invalid wait context: ${what} on CPU ${cpu} while holding ${spinning}, a spinning lock`,
    );
  }
  if (pc !== 0 || irqsOff || rcu !== 0) {
    const held = machine.sched.current(cpu).held.names();
    throw new LockdepError(
      'sleep-in-atomic',
      held[held.length - 1] ?? '',
      `sleeping function called from invalid context (${what}) on CPU ${cpu}: in_atomic(): ${pc !== 0 ? 1 : 0}, irqs_disabled(): ${irqsOff ? 1 : 0}, rcu_read_lock nesting: ${rcu}, preempt_count: 0x${pc.toString(16)}; held: [${held.join(', ')}]`,
    );
  }
}
