/**
 * DOC: the counters every allocation updates: PGALLOC per zone type and the
 * NUMA hit/miss/foreign/local/other events of the zone it came from.
 */
import { MAX_NR_ZONES } from './mmzone.js';
import type { PageAllocator } from './page-alloc.js';
import {
  NR_VM_NUMA_EVENT_ITEMS,
  NUMA_FOREIGN,
  NUMA_HIT,
  NUMA_LOCAL,
  NUMA_MISS,
  NUMA_OTHER,
  VM_EVENT,
} from './vmstat.js';

/** Count `nr` pages allocated from zone id `zone` in the current CPU's PGALLOC event of that zone type. @kernel __count_zid_vm_events (include/linux/vmstat.h) */
export function countPgalloc(pa: PageAllocator, zone: number, nr: number): void {
  pa.vmstat.countVmEvents(pa.machine.currentCpu, VM_EVENT.PGALLOC_DMA32 + (zone % MAX_NR_ZONES), nr);
}

/**
 * NUMA hit/miss/foreign/local/other accounting of one allocation.
 * @kernel zone_statistics (mm/page_alloc.c)
 */
export function zoneStatistics(pa: PageAllocator, preferredZone: number, zone: number): void {
  const cpu = pa.machine.currentCpu;
  const nid = pa.zones.nid[zone] as number;
  const ev = pa.vmstat.numaEvents;
  const base = cpu * pa.zones.nrZones * NR_VM_NUMA_EVENT_ITEMS;
  const zb = base + zone * NR_VM_NUMA_EVENT_ITEMS;
  if (nid === pa.zones.nid[preferredZone]) {
    ev[zb + NUMA_HIT] = (ev[zb + NUMA_HIT] as number) + 1;
  } else {
    ev[zb + NUMA_MISS] = (ev[zb + NUMA_MISS] as number) + 1;
    const pb = base + preferredZone * NR_VM_NUMA_EVENT_ITEMS + NUMA_FOREIGN;
    ev[pb] = (ev[pb] as number) + 1;
  }
  const local = zb + (nid === pa.cpuToNode[cpu] ? NUMA_LOCAL : NUMA_OTHER);
  ev[local] = (ev[local] as number) + 1;
}
