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
import { Mmu } from './mmu.js';
import { PrngStreams } from './prng.js';
import { Topology } from './topology.js';

/** A warning recorded by {@link Machine.warnOn} (the model of a `WARN_ON()` splat). */
export interface MachineWarning {
  readonly message: string;
  /** The CPU that was running when the warning fired. */
  readonly cpu: number;
}

/** A simulated machine. Create one with {@link createMachine}. */
export class Machine {
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
  /** Per-CPU TLBs, the MMU access path and TLB flushing. */
  readonly mmu: Mmu;

  constructor(config: ResolvedMachineConfig) {
    this.config = config;
    this.topology = new Topology(config);
    this.costs = config.costs;
    this.prng = new PrngStreams(config.seed);
    this.warnings = [];
    this.currentCpu = 0;
    this.mmu = new Mmu(this);
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
