/**
 * DOC: one swap device (`struct swap_info_struct`) and its clusters
 * (`struct swap_cluster_info`), as structure-of-arrays state.
 *
 * Per slot: the `swap_map` byte (a `Uint8Array` of `max` bytes, allocated at
 * swapon like the kernel's `vzalloc`), one bit of the zeromap, and, only
 * while the slot's cluster is off the free list, one 8-byte swap-table entry
 * (`Float64Array` per cluster, see swap-table.ts). Per cluster: `count`
 * (`Uint16Array`), `flags` and `order` (`Uint8Array`), the list links
 * (`Int32Array` next/prev: the kernel's `struct list_head list`) and its
 * `spinlock_t` (element `ci` of the device's machine `SpinLockArray`). The
 * cluster lists are intrusive doubly linked lists over those links, one
 * head/tail pair per list:
 *
 * ```
 *   list id   kernel list                 cluster flag
 *   0         free_clusters               CLUSTER_FLAG_FREE
 *   1         full_clusters               CLUSTER_FLAG_FULL
 *   2         discard_clusters            CLUSTER_FLAG_DISCARD
 *   3 + o     nonfull_clusters[o]         CLUSTER_FLAG_NONFULL
 *   3 + N + o frag_clusters[o]            CLUSTER_FLAG_FRAG     (N = SWAP_NR_ORDERS)
 * ```
 */
import { type Machine, SpinLock, SpinLockArray, type WorkStruct } from '@mm/machine';
import { SWAP_LOCK_NAMES } from './internal/locks.js';
import type { SwapGeometry } from './swap.js';

/** Kind of backing device (decides flags, latency and bandwidth). */
export type SwapDeviceKind = 'ssd' | 'hdd' | 'zram' | 'pmem';

/** List ids of the fixed lists. */
export const LIST_FREE = 0;
export const LIST_FULL = 1;
export const LIST_DISCARD = 2;
/** First per-order list id. */
export const LIST_NONFULL_BASE = 3;

/** Per-device I/O statistics (what the block layer would count). */
export interface SwapIoStats {
  /** Pages read. */
  readPages: number;
  /** Pages written. */
  writtenPages: number;
  /** Read requests (a plug of readahead pages counts as one). */
  readRequests: number;
  /** Write requests. */
  writeRequests: number;
  /** Reads that failed (injected errors). */
  readErrors: number;
  /** Clusters discarded. */
  discards: number;
  /** Virtual ns the device spent busy (transfer time). */
  busyNs: number;
}

/** `struct swap_info_struct` plus its `cluster_info[]` and backing store. */
export class SwapInfo {
  /** Index in `swap_info[]`. */
  readonly type: number;
  /** Path shown in /proc/swaps. */
  name: string;
  /** Device kind; sets the default latencies and bandwidth. */
  readonly kind: SwapDeviceKind;
  /** Device state bits (`SWP_USED`, `SWP_WRITEOK`, `SWP_SOLIDSTATE`, ...); mirrors `si->flags`. */
  flags: number;
  /** Priority given at swapon, or an automatic one counting down from -2; devices of higher priority are used first. Mirrors `si->prio`. */
  prio: number;
  /** Plist priority per node (`avail_lists[nid].prio`): lower sorts first. */
  readonly availPrio: Int32Array;
  /** Whether the device is on the per-node available lists (the kernel's OFFLIST bit, inverted). */
  onAvail: boolean;
  /** `percpu_ref_tryget_live(&si->users)` would succeed. */
  live: boolean;
  /** NUMA node of the backing device (`swap_node()`), -1 for none. */
  readonly node: number;
  /** `si->max`: slots including the header. */
  readonly max: number;
  /** `si->pages`: usable slots (max − 1 − bad). */
  pages: number;
  /** `si->inuse_pages` without the OFFLIST bit. */
  inusePages: number;
  /** Per-slot use count plus the SWAP_HAS_CACHE bit (SWAP_MAP_BAD marks bad slots and the header); mirrors `si->swap_map`. */
  readonly swapMap: Uint8Array;
  /** `si->zeromap`: one bit per slot, set when the page written there was all zero. */
  readonly zeromap: Int32Array;
  /** Number of clusters (`DIV_ROUND_UP(max, SWAPFILE_CLUSTER)`). */
  readonly nrClusters: number;
  /** `ci->count`: used slots including bad, header and tail slots. */
  readonly ciCount: Uint16Array;
  /** Per cluster: which list it is on (a `CLUSTER_FLAG_*` value, NONE when isolated); mirrors `ci->flags`. */
  readonly ciFlags: Uint8Array;
  /** Per cluster: the folio order its allocations serve, meaningful while the cluster is in use; mirrors `ci->order`. */
  readonly ciOrder: Uint8Array;
  /** List links (`ci->list`), -1 = none. */
  readonly ciNext: Int32Array;
  /** @internal */
  readonly ciPrev: Int32Array;
  /** List id the cluster is on (-1: off-list). */
  readonly ciList: Int8Array;
  /** @internal `ci->lock` of every cluster (one lock class; holders in typed arrays). */
  readonly ciLock: SpinLockArray;
  /** `ci->table` (null while the cluster is free). */
  readonly ciTable: (Float64Array | null)[];
  /** PFN of the page the table lives in (-1: none or not page-backed). */
  readonly ciTablePfn: Float64Array;
  /** List heads and tails by list id (-1 = empty), and lengths. */
  readonly listHead: Int32Array;
  /** @internal */
  readonly listTail: Int32Array;
  /** @internal */
  readonly listLen: Int32Array;
  /** HDD: `si->global_cluster->next[order]`. */
  readonly globalNext: Float64Array;
  /** @internal `si->lock` (cluster list moves only). */
  readonly lock: SpinLock;
  /** @internal `si->global_cluster_lock` (HDD allocation serialisation). */
  readonly globalClusterLock: SpinLock;
  /** @internal `si->cont_lock`. */
  readonly contLock: SpinLock;
  /**
   * Count continuation pages per `swap_map` page (index = offset >> PAGE_SHIFT):
   * the list hanging off the vmalloc page's `lru`, one byte per entry of that page.
   */
  readonly cont: Map<number, Uint8Array[]>;
  /** PFNs of the continuation pages (freed at swapoff). */
  readonly contPfns: number[];
  /** Backing store: content token per slot, allocated per cluster on first write. */
  readonly store: (Uint32Array | null)[];
  /** Slots whose next read fails with -EIO (error injection), by offset. */
  readonly badReads: Set<number>;
  /** Random read-error probability (0..1), drawn from the `swap_io_error` stream. */
  readErrorRate: number;
  /** Read latency, write latency (virtual ns per request) and bandwidth (bytes per virtual ns). */
  readLatencyNs: number;
  /** Write latency (virtual ns per request). */
  writeLatencyNs: number;
  /** Bandwidth (bytes per virtual ns). */
  bytesPerNs: number;
  /** Whether the device work is done by the CPU (zram: compression) rather than DMA. */
  readonly cpuBound: boolean;
  /** Virtual time until which the device is busy transferring. */
  busyUntilNs: number;
  /** I/O statistics. */
  readonly io: SwapIoStats;
  /** `si->discard_work` / `si->reclaim_work`. */
  discardWork: WorkStruct | null;
  /** @internal */
  reclaimWork: WorkStruct | null;
  /** Number of bad slots given at swapon (excluding the header). */
  readonly nrBad: number;

  /** @internal Devices are created by `swapon`. */
  constructor(
    machine: Machine,
    geo: SwapGeometry,
    type: number,
    opts: {
      name: string;
      kind: SwapDeviceKind;
      node: number;
      max: number;
      nrBad: number;
    },
  ) {
    const nrNodes = machine.topology.nrNodes;
    this.type = type;
    this.name = opts.name;
    this.kind = opts.kind;
    this.flags = 0;
    this.prio = 0;
    this.availPrio = new Int32Array(nrNodes);
    this.onAvail = false;
    this.live = false;
    this.node = opts.node;
    this.max = opts.max;
    this.pages = 0;
    this.inusePages = 0;
    this.swapMap = new Uint8Array(opts.max);
    this.zeromap = new Int32Array((opts.max + 31) >>> 5);
    const nc = Math.ceil(opts.max / geo.clusterSize);
    this.nrClusters = nc;
    this.ciCount = new Uint16Array(nc);
    this.ciFlags = new Uint8Array(nc);
    this.ciOrder = new Uint8Array(nc);
    this.ciNext = new Int32Array(nc).fill(-1);
    this.ciPrev = new Int32Array(nc).fill(-1);
    this.ciList = new Int8Array(nc).fill(-1);
    this.ciLock = new SpinLockArray(machine, SWAP_LOCK_NAMES.ci, nc);
    this.ciTable = new Array<Float64Array | null>(nc).fill(null);
    this.ciTablePfn = new Float64Array(nc).fill(-1);
    const nrLists = LIST_NONFULL_BASE + 2 * geo.nrOrders;
    this.listHead = new Int32Array(nrLists).fill(-1);
    this.listTail = new Int32Array(nrLists).fill(-1);
    this.listLen = new Int32Array(nrLists);
    this.globalNext = new Float64Array(geo.nrOrders);
    this.lock = new SpinLock(machine, SWAP_LOCK_NAMES.si);
    this.globalClusterLock = new SpinLock(machine, SWAP_LOCK_NAMES.global);
    this.contLock = new SpinLock(machine, SWAP_LOCK_NAMES.cont);
    this.cont = new Map();
    this.contPfns = [];
    this.store = new Array<Uint32Array | null>(nc).fill(null);
    this.badReads = new Set();
    this.readErrorRate = 0;
    this.readLatencyNs = 0;
    this.writeLatencyNs = 0;
    this.bytesPerNs = 1;
    this.cpuBound = opts.kind === 'zram';
    this.busyUntilNs = 0;
    this.io = {
      readPages: 0,
      writtenPages: 0,
      readRequests: 0,
      writeRequests: 0,
      readErrors: 0,
      discards: 0,
      busyNs: 0,
    };
    this.discardWork = null;
    this.reclaimWork = null;
    this.nrBad = opts.nrBad;
  }

  /** `nonfull_clusters[order]` list id. */
  nonfullList(order: number): number {
    return LIST_NONFULL_BASE + order;
  }

  /** `frag_clusters[order]` list id. */
  fragList(order: number, nrOrders: number): number {
    return LIST_NONFULL_BASE + nrOrders + order;
  }

  /** Host bytes held by this device's allocator state (swap_map, zeromap, cluster info, tables). */
  hostBytes(): number {
    let tables = 0;
    for (const t of this.ciTable) if (t !== null) tables += t.byteLength;
    const perCluster = 2 + 1 + 1 + 4 + 4 + 1 + 12 + 8 + 8 + 8; // count, flags, order, next, prev, list, lock (owner CPU, pid, last CPU), table ref, table pfn, store ref
    return this.swapMap.byteLength + this.zeromap.byteLength + this.nrClusters * perCluster + tables;
  }
}
