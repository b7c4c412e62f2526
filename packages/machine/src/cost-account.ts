/**
 * DOC: per-CPU busy-time accounting for the cost model.
 *
 * Charging `ns` to a CPU adds to its busy time and advances its local clock
 * (`clock.cpuNs`), starting from the global time when the CPU was idle. A
 * count per cost event (`tlbHit`, `ipi`, …) is kept in a typed array indexed
 * by the event's position in the cost table.
 */

import type { CostEvent, CostTable } from './cost.js';
import { MmError } from './errors.js';
import type { Clock } from './sched/clock.js';
import type { Topology } from './topology.js';

/** What the accounting needs of a machine: its clock, cost table and CPU count. */
export interface CostAccountHost {
  /** Number of CPUs. */
  readonly topology: Pick<Topology, 'nrCpus'>;
  /** Virtual clock, advanced by charges. */
  readonly clock: Clock;
  /** Cost table in virtual ns. */
  readonly costs: CostTable;
}

/** Busy time and event counts per CPU (`machine.account`). */
export class CostAccount {
  /** Busy virtual ns charged to each CPU. */
  readonly busyNs: Float64Array;
  /** Events charged, indexed like {@link CostAccount.eventNames}. */
  readonly eventCounts: Float64Array;
  /** The cost-table event names, in index order. */
  readonly eventNames: readonly CostEvent[];
  private readonly machine: CostAccountHost;
  private readonly clock: Clock;
  private readonly costs: CostTable;
  private readonly eventIndex: Readonly<Record<string, number>>;

  constructor(machine: CostAccountHost) {
    this.machine = machine;
    this.clock = machine.clock;
    this.costs = machine.costs;
    this.busyNs = new Float64Array(machine.topology.nrCpus);
    const names = Object.keys(machine.costs) as CostEvent[];
    this.eventNames = names;
    const index: Record<string, number> = {};
    names.forEach((n, i) => {
      index[n] = i;
    });
    this.eventIndex = index;
    this.eventCounts = new Float64Array(names.length);
  }

  /**
   * Charge `ns` of work to `cpu`: busy time grows and the CPU's local clock
   * moves forward from max(its time, global now).
   */
  charge(cpu: number, ns: number): void {
    this.busyNs[cpu]! += ns;
    const clock = this.clock;
    const t = clock.cpuNs[cpu]!;
    clock.cpuNs[cpu] = Math.max(t, clock.now) + ns;
  }

  /** Charge `count` events of kind `event` (cost from the machine's cost table) to `cpu`. */
  chargeEvent(cpu: number, event: CostEvent, count: number): void {
    const i = this.eventIndex[event];
    if (i === undefined) throw new MmError('EINVAL', `cost: unknown cost event ${String(event)}`);
    this.eventCounts[i]! += count;
    this.charge(cpu, this.costs[event] * count);
  }

  /** Index of `event` in {@link CostAccount.eventCounts}, for {@link CostAccount.chargeAt}. */
  eventIndexOf(event: CostEvent): number {
    const i = this.eventIndex[event];
    if (i === undefined) throw new MmError('EINVAL', `cost: unknown cost event ${String(event)}`);
    return i;
  }

  /**
   * Hot-path form of {@link CostAccount.chargeEvent}: the event index and its
   * cost are looked up once by the caller (no string-keyed lookup per call).
   */
  chargeAt(cpu: number, index: number, ns: number): void {
    this.eventCounts[index]!++;
    this.charge(cpu, ns);
  }

  /** Count of events of kind `event` charged so far. */
  eventCount(event: CostEvent): number {
    const i = this.eventIndex[event];
    return i === undefined ? 0 : this.eventCounts[i]!;
  }

  /** Busy time summed over all CPUs. */
  totalBusyNs(): number {
    let s = 0;
    for (let i = 0; i < this.busyNs.length; i++) s += this.busyNs[i]!;
    return s;
  }

  /** Fraction of elapsed virtual time `cpu` was busy (0 when no time has passed). */
  utilisation(cpu: number): number {
    const now = this.machine.clock.cpuNow(cpu);
    return now > 0 ? this.busyNs[cpu]! / now : 0;
  }

  /** Zero busy times and event counts (clocks are left alone). */
  reset(): void {
    this.busyNs.fill(0);
    this.eventCounts.fill(0);
  }

  /** Busy time per CPU and event counts by name as plain JSON. */
  toJSON(): {
    /** Virtual ns charged per CPU. */
    readonly busyNs: readonly number[];
    /** Event counts by cost-table name. */
    readonly events: Readonly<Record<string, number>>;
  } {
    const events: Record<string, number> = {};
    this.eventNames.forEach((n, i) => {
      events[n] = this.eventCounts[i]!;
    });
    return { busyNs: Array.from(this.busyNs), events };
  }
}
