/**
 * DOC: the machine as its subsystems see it.
 *
 * The core of the machine (CPU contexts, scheduler, lockdep, RCU, clock and
 * cost accounting) is built first; every subsystem above it (locks, timers,
 * workqueues, hotplug, cross-CPU calls, per-CPU data, physical memory, the
 * MMU) reaches the rest of the machine through {@link MachineCore}, never
 * through the `Machine` class, so that no module imports machine.ts (which
 * builds them all). A module that needs more than the core (the page
 * allocator registers a hotplug state, the MMU counts IPIs) extends the
 * interface with exactly that. The core modules themselves declare what they
 * need structurally (`LockdepHost`, `CpusHost`, `SchedHost`, `RcuHost`), so
 * the type graph has no cycle through the machine either.
 */
import type { ResolvedMachineConfig } from './config.js';
import type { CostTable } from './cost.js';
import type { CostAccount } from './cost-account.js';
import type { Lockdep } from './locking/lockdep.js';
import type { PrngStreams } from './prng.js';
import type { Rcu } from './rcu/tree.js';
import type { Clock } from './sched/clock.js';
import type { Cpus } from './sched/cpu.js';
import type { Sched } from './sched/sched.js';
import type { Topology } from './topology.js';

/** A warning recorded by {@link MachineCore.warnOn} (the model of a `WARN_ON()` splat). */
export interface MachineWarning {
  /** The warning text. */
  readonly message: string;
  /** The CPU that was running when the warning fired. */
  readonly cpu: number;
}

/**
 * The core of a simulated machine: configuration, topology, costs, random
 * streams, and the CPU, scheduler, lockdep, RCU, clock and accounting
 * subsystems. `Machine` (from `createMachine`) implements it; locks, timers,
 * workqueues and the other subsystems take it in their constructors.
 */
export interface MachineCore {
  /** The checked configuration the machine was built from. */
  readonly config: ResolvedMachineConfig;
  /** CPUs, nodes, distances and physical layout. */
  readonly topology: Topology;
  /** Virtual ns charged per event. */
  readonly costs: CostTable;
  /** Named seeded random streams (one per consumer). */
  readonly prng: PrngStreams;
  /** Warnings recorded so far (tests assert this stays empty). */
  readonly warnings: MachineWarning[];
  /** The CPU the running code is on (`smp_processor_id()`). */
  currentCpu: number;
  /** Virtual time and the event queue. */
  readonly clock: Clock;
  /** Per-CPU busy time charged from the cost table. */
  readonly account: CostAccount;
  /** CPUs, execution contexts, softirqs. */
  readonly cpus: Cpus;
  /** Tasks and the deterministic scheduler. */
  readonly sched: Sched;
  /** The lock checker and lock statistics. */
  readonly lockdep: Lockdep;
  /** Tree RCU: readers, grace periods and callbacks. @kernel kernel/rcu/tree.c */
  readonly rcu: Rcu;
  /**
   * Record a warning when `cond` holds and return `cond`.
   * @kernel WARN_ON (include/asm-generic/bug.h)
   */
  warnOn(cond: boolean, message: string): boolean;
}
