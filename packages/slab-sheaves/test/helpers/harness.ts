/**
 * DOC: test harness: a machine, a simple page source with a failure budget
 * and leak counters, and an allocator wired to both.
 *
 * The page source is a plain per-node free-list allocator over the node PFN
 * ranges of the machine topology (it stands in for the buddy allocator in
 * tests that do not need it; the machine's buddy allocator is used when the
 * machine has one).
 */
import { createMachine, ENOMEM, type Machine, type MachineConfig, Prng } from '@mm/machine';
import {
  createSlabEnv,
  createSlubAllocator,
  type SlabPageSource,
  type SlubAllocator,
  type SlubConfig,
} from '../../src/index.js';

export class TestPages implements SlabPageSource {
  readonly machine: Machine;
  readonly next: number[];
  readonly end: number[];
  readonly free: Map<number, number[]>[];
  readonly allocated: Map<number, number>;
  nrAllocated: number;
  /** Fail this many upcoming allocations. */
  failBudget: number;
  /** Probability of failing an allocation (fault injection). */
  failProbability: number;
  readonly prng: Prng;

  constructor(machine: Machine, seed = 1) {
    this.machine = machine;
    const t = machine.topology;
    this.next = [];
    this.end = [];
    this.free = [];
    for (let nid = 0; nid < t.nrNodes; nid++) {
      this.next.push(Math.max(1, t.nodeStartPfn[nid]!));
      this.end.push(t.nodeStartPfn[nid]! + t.nodeSpannedPages[nid]!);
      this.free.push(new Map());
    }
    this.allocated = new Map();
    this.nrAllocated = 0;
    this.failBudget = 0;
    this.failProbability = 0;
    this.prng = new Prng(seed);
  }

  allocPages(_gfp: number, order: number, nid: number): number {
    if (this.failBudget > 0) {
      this.failBudget--;
      return -ENOMEM;
    }
    if (this.failProbability > 0 && this.prng.chance(this.failProbability)) return -ENOMEM;
    const node = nid < 0 ? this.machine.topology.cpuToNode[this.machine.currentCpu]! : nid;
    const list = this.free[node]!.get(order);
    let pfn: number;
    if (list !== undefined && list.length > 0) pfn = list.pop()!;
    else {
      const n = 2 ** order;
      pfn = Math.ceil(this.next[node]! / n) * n;
      if (pfn + n > this.end[node]!) return -ENOMEM;
      this.next[node] = pfn + n;
    }
    this.allocated.set(pfn, order);
    this.nrAllocated += 2 ** order;
    return pfn;
  }

  freePages(pfn: number, order: number): void {
    if (this.allocated.get(pfn) !== order) throw new Error(`test pages: bad free of ${pfn} order ${order}`);
    this.allocated.delete(pfn);
    this.nrAllocated -= 2 ** order;
    const node = this.pageToNid(pfn);
    let list = this.free[node]!.get(order);
    if (list === undefined) {
      list = [];
      this.free[node]!.set(order, list);
    }
    list.push(pfn);
  }

  pageToNid(pfn: number): number {
    const t = this.machine.topology;
    for (let nid = t.nrNodes - 1; nid >= 0; nid--) if (pfn >= t.nodeStartPfn[nid]!) return nid;
    return 0;
  }
}

export interface Harness {
  machine: Machine;
  pages: TestPages;
  slab: SlubAllocator;
}

export function makeHarness(slubConfig: SlubConfig = {}, machineConfig: MachineConfig = {}): Harness {
  const machine = createMachine(machineConfig);
  const pages = new TestPages(machine);
  const slab = createSlubAllocator(createSlabEnv(machine, pages), slubConfig);
  return { machine, pages, slab };
}

/** Two nodes with two CPUs each, 64 MiB per node. */
export const TWO_NODES: MachineConfig = {
  nodes: [
    { memoryBytes: 256 * 1024 * 1024, cpus: 2 },
    { memoryBytes: 256 * 1024 * 1024, cpus: 2 },
  ],
};
