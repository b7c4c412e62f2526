/**
 * DOC: the simulated machine: configuration, topology, costs, random streams
 * and the subsystems attached to it.
 *
 * `createMachine(config)` is the one entry point. Subsystems (CPUs and
 * contexts, locks, RCU, clock, physical memory, TLBs) hang off the machine as
 * fields, built in the constructor in dependency order.
 */

import { type MachineConfig, type ResolvedMachineConfig, resolveConfig } from './config.js';
import type { CostTable } from './cost.js';
import { CostAccount } from './cost-account.js';
import { MmBugError } from './errors.js';
import { Lockdep } from './locking/lockdep.js';
import { PageAllocator } from './mm/page-alloc.js';
import { validatePageAlloc } from './mm/validate.js';
import { Mmu } from './mmu/mmu.js';
import { PrngStreams } from './prng.js';
import { Rcu } from './rcu/tree.js';
import { Clock } from './sched/clock.js';
import { Cpus } from './sched/cpu.js';
import { Hotplug } from './sched/hotplug.js';
import { Sched } from './sched/sched.js';
import { SmpStats } from './sched/smp.js';
import { Timers } from './sched/timer.js';
import { Workqueues } from './sched/workqueue.js';
import { Topology } from './topology.js';
import type { MachineCore, MachineWarning } from './types.js';

/** The JSON form of a {@link Machine} (see {@link Machine.toJSON}). */
export interface MachineState {
  /** The resolved configuration. */
  readonly config: ResolvedMachineConfig;
  /** CPU, node and memory layout. */
  readonly topology: {
    /** Number of nodes. */
    readonly nrNodes: number;
    /** Number of CPUs. */
    readonly nrCpus: number;
    /** Base page size in bytes; mirrors `PAGE_SIZE`. */
    readonly pageSize: number;
    /** Pages per memory section, the unit the sparse memmap is allocated in; mirrors `PAGES_PER_SECTION`. */
    readonly pagesPerSection: number;
    /** Pages of physical memory in all. */
    readonly totalPages: number;
    /** Node of each CPU. @kernel cpu_to_node */
    readonly cpuToNode: readonly number[];
    /** First PFN of each node. @kernel node_start_pfn */
    readonly nodeStartPfn: readonly number[];
    /** Pages each node spans. @kernel node_spanned_pages */
    readonly nodeSpannedPages: readonly number[];
  };
  /** `WARN_ON()` reports recorded so far. */
  readonly warnings: readonly MachineWarning[];
  /** Virtual clock. */
  readonly clock: ReturnType<Clock['toJSON']>;
  /** CPU contexts. */
  readonly cpus: ReturnType<Cpus['toJSON']>;
  /** Scheduler: tasks and run queues. */
  readonly sched: ReturnType<Sched['toJSON']>;
  /** Lock checker state and per-class statistics. */
  readonly lockdep: ReturnType<Lockdep['toJSON']>;
  /** RCU state. */
  readonly rcu: ReturnType<Rcu['toJSON']>;
  /** Virtual time and events charged. */
  readonly account: ReturnType<CostAccount['toJSON']>;
  /** Physical memory: zones, nodes, VM events. */
  readonly mem: ReturnType<PageAllocator['toJSON']>;
  /** MMU and TLB state. */
  readonly mmu: ReturnType<Mmu['stateJson']>;
}

/** A simulated machine. Create one with {@link createMachine}. */
export class Machine implements MachineCore {
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
  /**
   * The CPU the running code is on (`smp_processor_id()`); 0 at boot.
   * Code that runs "on" a CPU (the scheduler, `runOn`) sets it.
   */
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
  /** Timer-wheel timers that fire from TIMER_SOFTIRQ. @kernel kernel/time/timer.c */
  readonly timers: Timers;
  /** Workqueues and delayed work. */
  readonly workqueues: Workqueues;
  /** CPU hotplug. */
  readonly hotplug: Hotplug;
  /** Cross-CPU call (IPI) counters. */
  readonly smp: SmpStats;
  /** Physical memory: memmap, zones, buddy allocator, pcp lists, vmstat. */
  readonly mem: PageAllocator;
  /** Per-CPU TLBs, the MMU access path and TLB flushing. */
  readonly mmu: Mmu;

  constructor(config: ResolvedMachineConfig) {
    this.config = config;
    this.topology = new Topology(config);
    this.costs = config.costs;
    this.prng = new PrngStreams(config.seed);
    this.warnings = [];
    this.currentCpu = 0;
    this.clock = new Clock(this.topology);
    this.account = new CostAccount(this);
    this.cpus = new Cpus(this);
    this.sched = new Sched(this);
    this.lockdep = new Lockdep(this);
    this.rcu = new Rcu(this);
    this.timers = new Timers(this);
    this.workqueues = new Workqueues(this);
    this.hotplug = new Hotplug(this);
    this.smp = new SmpStats(this.topology.nrCpus);
    this.mem = new PageAllocator(this, config.mem);
    this.mmu = new Mmu(this);
  }

  /**
   * Check the invariants of every subsystem; throws `MmBugError` on the first violation.
   */
  validate(): void {
    for (const problem of [this.clock.validate(), this.sched.validate(), this.rcu.validate()]) {
      if (problem !== null) throw new MmBugError(problem);
    }
    validatePageAlloc(this.mem);
    this.mmu.validate();
  }

  /**
   * The whole machine state as plain JSON (what `JSON.stringify(machine)`
   * gives): configuration, topology, time, CPUs, scheduler, locks, RCU, cost
   * accounting, physical memory and TLBs. For the web page and for diffing runs.
   */
  toJSON(): MachineState {
    const t = this.topology;
    return {
      config: this.config,
      topology: {
        nrNodes: t.nrNodes,
        nrCpus: t.nrCpus,
        pageSize: t.pageSize,
        pagesPerSection: t.pagesPerSection,
        totalPages: t.totalPages,
        cpuToNode: Array.from(t.cpuToNode),
        nodeStartPfn: Array.from(t.nodeStartPfn),
        nodeSpannedPages: Array.from(t.nodeSpannedPages),
      },
      warnings: this.warnings,
      clock: this.clock.toJSON(),
      cpus: this.cpus.toJSON(),
      sched: this.sched.toJSON(),
      lockdep: this.lockdep.toJSON(),
      rcu: this.rcu.toJSON(),
      account: this.account.toJSON(),
      mem: this.mem.toJSON(),
      mmu: this.mmu.stateJson(),
    };
  }

  /**
   * Record a warning when `cond` holds and return `cond`, so callers can write
   * `if (machine.warnOn(x < 0, 'slab: negative count')) return`.
   * @kernel WARN_ON (include/asm-generic/bug.h)
   */
  warnOn(cond: boolean, message: string): boolean {
    if (cond) this.warnings.push({ message, cpu: this.currentCpu });
    return cond;
  }
}

/**
 * Build a machine from `config` (on top of the `small` preset unless
 * `config.preset` names another).
 * @throws ConfigError naming the offending field.
 */
export function createMachine(config: MachineConfig = {}): Machine {
  return new Machine(resolveConfig(config));
}
