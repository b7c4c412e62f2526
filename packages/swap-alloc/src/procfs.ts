/**
 * DOC: what users read: `/proc/swaps`, the swap lines of `/proc/vmstat`
 * and `/proc/meminfo`, per-device usage, and the whole state as JSON.
 */
import { CLUSTER_FLAG_NAMES, SWP_BLKDEV } from './swap.js';
import { LIST_DISCARD, LIST_FREE, LIST_FULL, type SwapInfo } from './swap-info.js';
import { slotCacheEntries } from './swap-slots.js';
import type { Swap } from './swapfile.js';

function escapePath(s: string): string {
  // seq_file_path(..., " \t\n\\") escapes as octal
  return s.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * `/proc/swaps`, in the kernel's layout (path padded to 40 columns, sizes in
 * KiB, an extra tab after numbers below 10,000,000).
 * @kernel swap_show (mm/swapfile.c)
 */
export function formatProcSwaps(swap: Swap): string {
  const kb = swap.machine.topology.pageSize / 1024;
  let out = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n';
  for (const si of swap.swapInfo) {
    if (si === null) continue;
    const size = si.pages * kb;
    const used = si.inusePages * kb;
    const path = escapePath(si.name);
    const type = (si.flags & SWP_BLKDEV) !== 0 ? 'partition' : 'file\t';
    out += `${path.padEnd(40, ' ')}${type}\t${size}\t${size < 10000000 ? '\t' : ''}${used}\t${used < 10000000 ? '\t' : ''}${si.prio}\n`;
  }
  return out;
}

/** The swap lines of `/proc/vmstat` (name value), in the kernel's order. */
export function formatSwapVmstat(swap: Swap): string {
  const c = swap.counters;
  const lines: [string, number][] = [
    ['nr_swapcached', swap.nrSwapcache],
    ['pswpin', c.pswpin],
    ['pswpout', c.pswpout],
    ['swap_ra', c.swapRa],
    ['swap_ra_hit', c.swapRaHit],
    ['swpin_zero', c.swpinZero],
    ['swpout_zero', c.swpoutZero],
    ['thp_swpout', c.thpSwpout],
  ];
  return lines.map(([n, v]) => `${n} ${v}\n`).join('');
}

/** The swap lines of `/proc/meminfo` (devices being swapped off still count). @kernel si_swapinfo */
export function formatSwapMeminfo(swap: Swap): string {
  const kb = swap.machine.topology.pageSize / 1024;
  let total = swap.totalSwapPages;
  let free = swap.nrSwapPages;
  for (const si of swap.swapInfo) {
    if (si?.live && !swap.active.includes(si)) {
      // mid-swapoff: USED but !WRITEOK
      total += si.pages;
      free += si.pages - si.inusePages;
    }
  }
  const pad = (name: string, v: number): string => `${`${name}:`.padEnd(16)}${String(v).padStart(8)} kB\n`;
  return pad('SwapCached', swap.nrSwapcache * kb) + pad('SwapTotal', total * kb) + pad('SwapFree', free * kb);
}

/** One device as plain JSON. */
export interface SwapDeviceState {
  /** Index of the device in `swap_info[]`. */
  readonly type: number;
  /** Path shown in /proc/swaps. */
  readonly name: string;
  /** Device kind (`ssd`, `hdd`, `zram`, ...). */
  readonly kind: string;
  /** Device state bits (`SWP_*`), as in `si->flags`. */
  readonly flags: number;
  /** Priority; devices of higher priority are used first (`si->prio`). */
  readonly prio: number;
  /** Usable slots, header and bad slots excluded (`si->pages`). */
  readonly pages: number;
  /** Slots in use. */
  readonly inusePages: number;
  /** Whether the device is on the allocators' available lists. */
  readonly onAvail: boolean;
  /** Cluster counts. */
  readonly clusters: {
    /** Clusters of the device. */
    readonly total: number;
    /** Clusters on the free list. */
    readonly free: number;
    /** Clusters on the full list. */
    readonly full: number;
    /** Clusters waiting for discard. */
    readonly discard: number;
    /** Clusters on the nonfull list, per order. */
    readonly nonfull: readonly number[];
    /** Clusters on the frag list, per order. */
    readonly frag: readonly number[];
    /** Clusters per cluster flag name (`CLUSTER_FLAG_*`). */
    readonly byFlag: Readonly<Record<string, number>>;
  };
  /** Swap count continuation pages in use. */
  readonly continuationPages: number;
  /** I/O statistics. */
  readonly io: SwapInfo['io'];
}

/** The whole swap state as plain JSON. */
export interface SwapState {
  /** `nr_swap_pages`: free slots over all writable devices. */
  readonly nrSwapPages: number;
  /** Usable slots over all swapped-on devices, free or in use; mirrors `total_swap_pages`. */
  readonly totalSwapPages: number;
  /** Pages in the swap cache (NR_SWAPCACHE). */
  readonly nrSwapcache: number;
  /** log2 of the pages one cluster readahead reads (0: none; default 3); mirrors the `vm.page-cluster` sysctl. */
  readonly pageCluster: number;
  /** Whether VMA-based readahead is on. */
  readonly vmaRaEnabled: boolean;
  /** Whether the old slot cache is on. */
  readonly slotCache: boolean;
  /** Cluster size and orders. */
  readonly geometry: Swap['geo'];
  /** The swapped-on devices, by type. */
  readonly devices: readonly SwapDeviceState[];
  /** Every {@link SwapCounters} field (per-order arrays as lists). */
  readonly counters: Readonly<Record<string, number | readonly number[]>>;
  /** The per-CPU cluster of each CPU and order that has one. */
  readonly percpuCluster: readonly {
    /** The CPU. */
    readonly cpu: number;
    /** The allocation order. */
    readonly order: number;
    /** Device of the cluster. */
    readonly type: number;
    /** Next slot to allocate from. */
    readonly offset: number;
  }[];
  /** Slots held by the old slot cache. */
  readonly slotCacheEntries: number;
}

/** The state of device `si` as JSON. */
export function swapDeviceState(swap: Swap, si: SwapInfo): SwapDeviceState {
  const n = swap.nrOrders;
  const nonfull: number[] = [];
  const frag: number[] = [];
  for (let o = 0; o < n; o++) {
    nonfull.push(si.listLen[si.nonfullList(o)]!);
    frag.push(si.listLen[si.fragList(o, n)]!);
  }
  const byFlag: Record<string, number> = {};
  for (let ci = 0; ci < si.nrClusters; ci++) {
    const name = CLUSTER_FLAG_NAMES[si.ciFlags[ci]!]!;
    byFlag[name] = (byFlag[name] ?? 0) + 1;
  }
  return {
    type: si.type,
    name: si.name,
    kind: si.kind,
    flags: si.flags,
    prio: si.prio,
    pages: si.pages,
    inusePages: si.inusePages,
    onAvail: si.onAvail,
    clusters: {
      total: si.nrClusters,
      free: si.listLen[LIST_FREE]!,
      full: si.listLen[LIST_FULL]!,
      discard: si.listLen[LIST_DISCARD]!,
      nonfull,
      frag,
      byFlag,
    },
    continuationPages: si.contPfns.length,
    io: { ...si.io },
  };
}

/** The whole swap state as plain JSON (`JSON.stringify`-ready, deterministic). */
export function swapStateJson(swap: Swap): SwapState {
  const c = swap.counters;
  const counters: Record<string, number | readonly number[]> = {};
  for (const [k, v] of Object.entries(c)) counters[k] = v instanceof Float64Array ? Array.from(v) : (v as number);
  const pcp: { cpu: number; order: number; type: number; offset: number }[] = [];
  const n = swap.nrOrders;
  for (let i = 0; i < swap.pcpSi.length; i++) {
    if (swap.pcpSi[i]! >= 0)
      pcp.push({ cpu: Math.floor(i / n), order: i % n, type: swap.pcpSi[i]!, offset: swap.pcpOffset[i]! });
  }
  return {
    nrSwapPages: swap.nrSwapPages,
    totalSwapPages: swap.totalSwapPages,
    nrSwapcache: swap.nrSwapcache,
    pageCluster: swap.pageCluster,
    vmaRaEnabled: swap.vmaRaEnabled,
    slotCache: swap.slotCache !== null,
    geometry: swap.geo,
    devices: swap.swapInfo.filter((s): s is SwapInfo => s !== null).map((si) => swapDeviceState(swap, si)),
    counters,
    percpuCluster: pcp,
    slotCacheEntries: slotCacheEntries(swap).length,
  };
}
