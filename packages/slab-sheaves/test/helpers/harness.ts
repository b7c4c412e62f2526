/**
 * DOC: test harness: a machine, its buddy allocator behind a page counter
 * (leak checks), fail_page_alloc controls, and an allocator wired to both.
 */
import { createMachine, type Machine, type MachineConfig, type PageAllocator, PGTY_none, PGTY_slab } from '@mm/machine';
import {
  createSlabEnv,
  createSlubAllocator,
  type SlabPageSource,
  type SlubAllocator,
  type SlubConfig,
} from '../../src/index.js';

/** The machine's buddy allocator, counting the pages the slab allocator holds. */
export class CountingPages implements SlabPageSource {
  readonly mem: PageAllocator;
  nrAllocated: number;

  constructor(mem: PageAllocator) {
    this.mem = mem;
    this.nrAllocated = 0;
  }

  allocPages(gfp: number, order: number, nid: number): number {
    const pfn = this.mem.allocPages(gfp, order, nid);
    if (pfn >= 0) this.nrAllocated += 2 ** order;
    return pfn;
  }

  freePages(pfn: number, order: number): void {
    this.mem.freePages(pfn, order);
    this.nrAllocated -= 2 ** order;
  }

  pageToNid(pfn: number): number {
    return this.mem.pageToNid(pfn);
  }

  setPageSlab(pfn: number, slab: boolean): void {
    const mask = this.mem.machine.topology.pagesPerSection - 1;
    this.mem.sec(pfn).pageType[pfn & mask] = slab ? PGTY_slab : PGTY_none;
  }

  /** Make the next `n` page allocations fail (fail_page_alloc with times = n). */
  set failBudget(n: number) {
    this.mem.failPageAlloc.configure(
      n > 0
        ? { probability: 100, interval: 1, times: n, space: 0, minOrder: 0, ignoreGfpReclaim: false }
        : { probability: 0 },
    );
  }

  /** Fail page allocations with probability `p` (fail_page_alloc, unlimited times). */
  set failProbability(p: number) {
    this.mem.failPageAlloc.configure(
      p > 0
        ? { probability: p * 100, interval: 1, times: -1, space: 0, minOrder: 0, ignoreGfpReclaim: false }
        : { probability: 0 },
    );
  }
}

export interface Harness {
  machine: Machine;
  pages: CountingPages;
  slab: SlubAllocator;
}

export function makeHarness(slubConfig: SlubConfig = {}, machineConfig: MachineConfig = {}): Harness {
  const machine = createMachine(machineConfig);
  const pages = new CountingPages(machine.mem);
  const slab = createSlubAllocator(createSlabEnv(machine, pages), slubConfig);
  return { machine, pages, slab };
}

/** Pages kept by the allocator for good (PFN 0, never used for slabs). */
export function reserved(slab: SlubAllocator): number {
  return slab.reservedPfn0 ? 1 : 0;
}

/** Two nodes with two CPUs each, 256 MiB per node. */
export const TWO_NODES: MachineConfig = {
  nodes: [
    { memoryBytes: 256 * 1024 * 1024, cpus: 2 },
    { memoryBytes: 256 * 1024 * 1024, cpus: 2 },
  ],
};
