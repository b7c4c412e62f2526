/**
 * DOC: per-CPU variables.
 *
 * `PerCpu<T>` holds one value per possible CPU, for object-valued per-CPU
 * state (a cache's per-CPU sheaves, a per-CPU page list). Numeric per-CPU
 * state is better kept in a typed array indexed by CPU id, as the machine's
 * own subsystems do; `PerCpu` is the `alloc_percpu()` of everything else.
 */
import { MmError } from './errors.js';
import type { Machine } from './machine.js';

/** One value of type T per possible CPU. */
export class PerCpu<T> {
  /** The values, indexed by CPU id. */
  readonly items: T[];
  private readonly machine: Machine;

  /**
   * Create one value per possible CPU with `init(cpu)`.
   * @kernel alloc_percpu (include/linux/percpu.h)
   */
  constructor(machine: Machine, init: (cpu: number) => T) {
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

  [Symbol.iterator](): IterableIterator<T> {
    return this.items[Symbol.iterator]();
  }
}
