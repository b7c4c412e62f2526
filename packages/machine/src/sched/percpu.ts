/**
 * DOC: per-CPU variables.
 *
 * `PerCpu<T>` holds one value per possible CPU, for object-valued per-CPU
 * state (a cache's per-CPU sheaves, a per-CPU page list). Numeric per-CPU
 * state is better kept in a typed array indexed by CPU id, as the machine's
 * own subsystems do; `PerCpu` is the `alloc_percpu()` of everything else.
 */
import { MmError } from '../errors.js';
import type { MachineCore } from '../types.js';
import type { Hotplug } from './hotplug.js';

/** The machine as per-CPU data sees it: the core and CPU hotplug (counters fold at CPU death). */
export interface PercpuHost extends MachineCore {
  /** CPU hotplug, for the CPU-dead callbacks. */
  readonly hotplug: Hotplug;
}

/** One value of type T per possible CPU. */
export class PerCpu<T> {
  /** The values, indexed by CPU id. */
  readonly items: T[];
  private readonly machine: PercpuHost;

  /**
   * Create one value per possible CPU with `init(cpu)`.
   * @kernel alloc_percpu (include/linux/percpu.h)
   */
  constructor(machine: PercpuHost, init: (cpu: number) => T) {
    this.machine = machine;
    this.items = [];
    for (let c = 0; c < machine.topology.nrCpus; c++) this.items.push(init(c));
  }

  /**
   * The value of `cpu`.
   * @throws MmError EINVAL for an unknown CPU.
   * @kernel per_cpu_ptr (include/linux/percpu-defs.h)
   */
  get(cpu: number): T {
    const v = this.items[cpu];
    if (v === undefined && (cpu < 0 || cpu >= this.items.length || !Number.isInteger(cpu))) {
      throw new MmError('EINVAL', `percpu: CPU ${cpu} does not exist`);
    }
    return v as T;
  }

  /** Replace the value of `cpu`. */
  set(cpu: number, value: T): void {
    this.get(cpu);
    this.items[cpu] = value;
  }

  /**
   * The value of the CPU the running code is on.
   * @kernel this_cpu_ptr (include/linux/percpu-defs.h)
   */
  thisCpu(): T {
    return this.items[this.machine.currentCpu] as T;
  }

  /** Call `fn(value, cpu)` for every possible CPU. @kernel for_each_possible_cpu (include/linux/cpumask.h) */
  forEach(fn: (value: T, cpu: number) => void): void {
    for (let c = 0; c < this.items.length; c++) fn(this.items[c] as T, c);
  }

  /** The value of each possible CPU, in CPU order. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.items[Symbol.iterator]();
  }
}

/** Counters that must fold a dead CPU's delta, per machine (registered once with hotplug). */
const counterLists = new WeakMap<PercpuHost, Set<PercpuCounter>>();

function registerCounter(machine: PercpuHost, c: PercpuCounter): void {
  let set = counterLists.get(machine);
  if (set === undefined) {
    const fresh = new Set<PercpuCounter>();
    counterLists.set(machine, fresh);
    set = fresh;
    machine.hotplug.cpuhpSetupStateNocalls('lib/percpu_cnt:dead', 'prepare', null, (cpu) => {
      for (const counter of fresh) counter.foldCpu(cpu);
      return 0;
    });
  }
  set.add(c);
}

/**
 * A per-CPU counter (the model of `struct percpu_counter`): a global count
 * plus a small delta per CPU. Adding changes only the current CPU's delta
 * until its magnitude reaches `batch`, then folds it into the global count,
 * so `percpuCounterRead` is cheap but off by less than `batch` per online
 * CPU, and `percpuCounterSum` is exact. A CPU going offline folds its delta.
 */
export class PercpuCounter {
  /** The global count (`fbc->count`). */
  count: number;
  /** Per-CPU deltas not yet folded. */
  readonly deltas: Float64Array;
  /** The machine the counter lives on. */
  readonly machine: PercpuHost;

  /** A counter starting at `initial` with a zero delta on every CPU. @kernel percpu_counter_init (lib/percpu_counter.c) */
  constructor(machine: PercpuHost, initial = 0) {
    this.machine = machine;
    this.count = initial;
    this.deltas = new Float64Array(machine.topology.nrCpus);
    registerCounter(machine, this);
  }

  /** Fold the delta of `cpu` into the global count. */
  foldCpu(cpu: number): void {
    this.count += this.deltas[cpu]!;
    this.deltas[cpu] = 0;
  }
}

/**
 * The kernel's default batch: max(32, 2 × online CPUs).
 * @kernel percpu_counter_batch (lib/percpu_counter.c compute_batch_value)
 */
export function percpuCounterBatch(machine: PercpuHost): number {
  return Math.max(32, 2 * machine.cpus.nrOnline);
}

/**
 * Add `amount` on the current CPU, folding when the delta reaches `batch`.
 * @kernel percpu_counter_add_batch (lib/percpu_counter.c)
 */
export function percpuCounterAddBatch(c: PercpuCounter, amount: number, batch: number): void {
  const cpu = c.machine.currentCpu;
  const d = c.deltas[cpu]! + amount;
  if (Math.abs(d) >= batch) {
    c.count += d;
    c.deltas[cpu] = 0;
  } else {
    c.deltas[cpu] = d;
  }
}

/** Add `amount` to the current CPU's delta, folding it into the total past the batch size. @kernel percpu_counter_add (include/linux/percpu_counter.h) */
export function percpuCounterAdd(c: PercpuCounter, amount: number): void {
  percpuCounterAddBatch(c, amount, percpuCounterBatch(c.machine));
}

/** The global count only (fast, approximate). @kernel percpu_counter_read (include/linux/percpu_counter.h) */
export function percpuCounterRead(c: PercpuCounter): number {
  return c.count;
}

/** Like percpuCounterRead but never negative. @kernel percpu_counter_read_positive (include/linux/percpu_counter.h) */
export function percpuCounterReadPositive(c: PercpuCounter): number {
  return Math.max(c.count, 0);
}

/** The exact value: global count plus every CPU's delta. @kernel percpu_counter_sum (include/linux/percpu_counter.h) */
export function percpuCounterSum(c: PercpuCounter): number {
  let s = c.count;
  for (let i = 0; i < c.deltas.length; i++) s += c.deltas[i]!;
  return s;
}

/**
 * Compare with `rhs`: -1, 0 or 1, using the cheap read when it is far enough
 * from `rhs` to be sure, the exact sum otherwise.
 * @kernel __percpu_counter_compare (lib/percpu_counter.c)
 */
export function percpuCounterCompare(c: PercpuCounter, rhs: number, batch: number): number {
  const m = c.machine;
  const approx = c.count;
  if (Math.abs(approx - rhs) > batch * m.cpus.nrOnline) return approx > rhs ? 1 : -1;
  const exact = percpuCounterSum(c);
  return exact > rhs ? 1 : exact < rhs ? -1 : 0;
}

/** Stop folding this counter on hotplug. @kernel percpu_counter_destroy (lib/percpu_counter.c) */
export function percpuCounterDestroy(c: PercpuCounter): void {
  counterLists.get(c.machine)?.delete(c);
}
