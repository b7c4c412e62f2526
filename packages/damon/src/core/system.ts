/**
 * DOC: what DAMOS reads from the rest of the system: the free memory rate
 * for watermarks, per-node memory for the node_mem quota goals, and the
 * system "some" memory PSI total. {@link machineSystemView} reads them from
 * a `@mm/machine` Machine; a consumer can supply its own (a workload model
 * that tracks memory pressure, or a test that scripts the values).
 */
import type { Machine } from '@mm/machine';

/** The system figures DAMOS reads. */
export interface DamonSystemView {
  /**
   * Free pages × 1000 / total RAM pages (DAMOS_WMARK_FREE_MEM_RATE).
   * @kernel damos_get_wmark_metric_value (mm/damon/core.c)
   */
  freeMemRatePermil(): number;
  /**
   * Total and free pages of node `nid` into `out`; false for a node with no
   * memory (the kernel's invalid_mem_node()).
   * @kernel si_meminfo_node (mm/show_mem.c)
   */
  nodeMemInfo(nid: number, out: { totalram: number; freeram: number }): boolean;
  /**
   * Total system "some" memory pressure stall time in µs (0 without PSI).
   * @kernel damos_get_some_mem_psi_total (mm/damon/core.c)
   */
  someMemPsiTotalUs(): number;
  /** Milliseconds since boot (the model's jiffies, HZ = 1000). */
  jiffies(): number;
}

/** A {@link DamonSystemView} over a Machine's page allocator and clock; PSI reads `psiUs()` (default 0). */
export function machineSystemView(machine: Machine, psiUs: () => number = () => 0): DamonSystemView {
  return {
    freeMemRatePermil(): number {
      const total = machine.mem.totalramPages();
      return total === 0 ? 0 : Math.floor((machine.mem.nrFreePages() * 1000) / total);
    },
    nodeMemInfo(nid: number, out: { totalram: number; freeram: number }): boolean {
      const zones = machine.mem.zones;
      let total = 0;
      let free = 0;
      for (let z = 0; z < zones.nrZones; z++) {
        if (zones.nid[z] !== nid) continue;
        total += zones.managed[z]!;
        free += machine.mem.zoneFreePages(z);
      }
      if (total === 0) return false;
      out.totalram = total;
      out.freeram = free;
      return true;
    },
    someMemPsiTotalUs: psiUs,
    jiffies(): number {
      return Math.floor(machine.clock.now / 1_000_000);
    },
  };
}
