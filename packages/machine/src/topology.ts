/**
 * DOC: the machine's topology: CPUs, NUMA nodes, distances and the physical
 * address layout.
 *
 * CPUs are numbered node by node (node 0's CPUs first), as firmware usually
 * enumerates them. Nodes own contiguous physical ranges laid out from PFN 0 in
 * node order; each starts on a memory-section boundary because node sizes are
 * whole sections. A section is the unit in which the memmap is allocated
 * (SPARSEMEM), so a terabyte machine costs nothing until its pages are touched.
 */
import { type ResolvedMachineConfig, sectionSizeBits } from './config.js';

/** Numbers derived from a resolved configuration; immutable. */
export class Topology {
  /** Number of NUMA nodes. */
  readonly nrNodes: number;
  /** Number of possible CPUs. */
  readonly nrCpus: number;
  /** `cpuToNode[cpu]` is the node of `cpu` (`cpu_to_node`). */
  readonly cpuToNode: Int32Array;
  /** log2 of the base page size (PAGE_SHIFT). */
  readonly pageShift: number;
  /** Base page size in bytes (PAGE_SIZE). */
  readonly pageSize: number;
  /** log2 of the pages per memory section (PFN_SECTION_SHIFT). */
  readonly sectionShift: number;
  /** Pages per memory section (PAGES_PER_SECTION). */
  readonly pagesPerSection: number;
  /** Sections spanned by all nodes together. */
  readonly nrSections: number;
  /** Total pages of memory. */
  readonly totalPages: number;
  /** First PFN of each node, by nid (`node_start_pfn`). */
  readonly nodeStartPfn: Float64Array;
  /** Pages each node spans, holes included, by nid (`node_spanned_pages`). */
  readonly nodeSpannedPages: Float64Array;
  private readonly cpusOfNode: readonly (readonly number[])[];
  private readonly dist: Uint8Array;

  constructor(config: ResolvedMachineConfig) {
    const nodes = config.nodes;
    this.nrNodes = nodes.length;
    this.pageSize = config.pageSize;
    this.pageShift = Math.log2(config.pageSize);
    this.sectionShift = sectionSizeBits(config.arch, config.pageSize) - this.pageShift;
    this.pagesPerSection = 2 ** this.sectionShift;

    let nrCpus = 0;
    for (const n of nodes) nrCpus += n.cpus;
    this.nrCpus = nrCpus;
    this.cpuToNode = new Int32Array(nrCpus);
    const cpusOfNode: number[][] = [];
    let cpu = 0;
    nodes.forEach((n, nid) => {
      const list: number[] = [];
      for (let i = 0; i < n.cpus; i++, cpu++) {
        this.cpuToNode[cpu] = nid;
        list.push(cpu);
      }
      cpusOfNode.push(Object.freeze(list) as number[]);
    });
    this.cpusOfNode = Object.freeze(cpusOfNode);

    this.nodeStartPfn = new Float64Array(this.nrNodes);
    this.nodeSpannedPages = new Float64Array(this.nrNodes);
    let pfn = 0;
    nodes.forEach((n, nid) => {
      const pages = n.memoryBytes / config.pageSize;
      this.nodeStartPfn[nid] = pfn;
      this.nodeSpannedPages[nid] = pages;
      pfn += pages;
    });
    this.totalPages = pfn;
    this.nrSections = pfn / this.pagesPerSection;

    this.dist = new Uint8Array(this.nrNodes * this.nrNodes);
    for (let a = 0; a < this.nrNodes; a++) {
      for (let b = 0; b < this.nrNodes; b++) this.dist[a * this.nrNodes + b] = config.distances[a]?.[b] ?? 0;
    }
  }

  /**
   * SLIT distance between two nodes (10 local).
   * @kernel node_distance (include/linux/topology.h)
   */
  distance(from: number, to: number): number {
    return this.dist[from * this.nrNodes + to] ?? 0;
  }

  /**
   * The CPUs of node `nid`, ascending.
   * @kernel cpumask_of_node (include/asm-generic/topology.h)
   */
  nodeCpus(nid: number): readonly number[] {
    return this.cpusOfNode[nid] ?? [];
  }

  /** The node whose memory holds `pfn`, or -1 outside every node. */
  pfnToNid(pfn: number): number {
    for (let nid = 0; nid < this.nrNodes; nid++) {
      const start = this.nodeStartPfn[nid] as number;
      if (pfn >= start && pfn < start + (this.nodeSpannedPages[nid] as number)) return nid;
    }
    return -1;
  }

  /**
   * Nodes ordered by distance from `nid` (nearest first, ties by node number):
   * the order the page allocator's zonelist falls back in.
   * @kernel build_zonelists / find_next_best_node (mm/page_alloc.c)
   */
  nodesByDistance(nid: number): number[] {
    const order = Array.from({ length: this.nrNodes }, (_, i) => i);
    return order.sort((a, b) => this.distance(nid, a) - this.distance(nid, b) || a - b);
  }
}
