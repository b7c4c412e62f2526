/**
 * DOC: swap constants: the `swap_map` byte encoding, `swap_info_struct`
 * flags, swapon flags, cluster flags and the cluster geometry.
 *
 * Values are the kernel's (include/linux/swap.h and mm/swap.h, Linux 6.18).
 * The geometry depends on the page size and on CONFIG_THP_SWAP, so it is
 * computed per {@link SwapGeometry} rather than fixed here.
 */

/** `swap_map` byte: no reference. */
export const SWAP_MAP_FREE = 0x00;
/** Largest page-table reference count held in the `swap_map` byte itself. */
export const SWAP_MAP_MAX = 0x3e;
/** Bad slot (and the header slot 0): never allocated. */
export const SWAP_MAP_BAD = 0x3f;
/** Flag: the slot is held by the swap cache (or claimed by a swap-in). */
export const SWAP_HAS_CACHE = 0x40;
/** Largest digit of a continuation byte. */
export const SWAP_CONT_MAX = 0x7f;
/** Flag: the count continues in a continuation page. */
export const COUNT_CONTINUED = 0x80;
/** Owned by shmem/tmpfs: one reference dropped in one step. */
export const SWAP_MAP_SHMEM = 0xbf;

/** Invalid offset (slot 0 is the header, so offset 0 never names an entry). */
export const SWAP_ENTRY_INVALID = 0;
/** Entries the old slot cache fetched per refill (`SWAP_SLOTS_CACHE_SIZE` = `SWAP_BATCH`). */
export const SWAP_BATCH = 64;
/** How often `find_next_to_unuse` would reschedule. */
export const LATENCY_LIMIT = 256;
/** Reclaim batch size of vmscan (not a swap cluster: do not confuse with SWAPFILE_CLUSTER). */
export const SWAP_CLUSTER_MAX = 32;

/* enum in include/linux/swap.h: swap_info_struct->flags */
/** The slot in `swap_info[]` is in use. */
export const SWP_USED = 1 << 0;
/** Allocation allowed. */
export const SWP_WRITEOK = 1 << 1;
/** The block device supports discard. */
export const SWP_DISCARDABLE = 1 << 2;
/** A discard is running. */
export const SWP_DISCARDING = 1 << 3;
/** Seeks are cheap (`bdev_nonrot()`). */
export const SWP_SOLIDSTATE = 1 << 4;
/** Some continuation page exists. */
export const SWP_CONTINUED = 1 << 5;
/** A block device (partition), not a file. */
export const SWP_BLKDEV = 1 << 6;
/** `swap_activate` succeeded. */
export const SWP_ACTIVATED = 1 << 7;
/** I/O goes through the filesystem. */
export const SWP_FS_OPS = 1 << 8;
/** Discard the whole area once at swapon. */
export const SWP_AREA_DISCARD = 1 << 9;
/** Discard each freed cluster. */
export const SWP_PAGE_DISCARD = 1 << 10;
/** No overwrite of pages under writeback. */
export const SWP_STABLE_WRITES = 1 << 11;
/** Synchronous I/O is efficient (zram, pmem: `bdev_synchronous()`). */
export const SWP_SYNCHRONOUS_IO = 1 << 12;

/* swapon(2) flags */
/** Use the priority in the low bits. */
export const SWAP_FLAG_PREFER = 0x8000;
/** Priority bits of the swapon flags. */
export const SWAP_FLAG_PRIO_MASK = 0x7fff;
/** Enable discard (area once and per freed cluster, unless narrowed). */
export const SWAP_FLAG_DISCARD = 0x10000;
/** Discard the area once at swapon only. */
export const SWAP_FLAG_DISCARD_ONCE = 0x20000;
/** Discard freed clusters only. */
export const SWAP_FLAG_DISCARD_PAGES = 0x40000;

/* enum swap_cluster_flags (mm/swap.h) */
/** Off-list (isolated by an allocator, or a discard in progress). */
export const CLUSTER_FLAG_NONE = 0;
/** On `free_clusters`. */
export const CLUSTER_FLAG_FREE = 1;
/** On `nonfull_clusters[order]`. */
export const CLUSTER_FLAG_NONFULL = 2;
/** On `frag_clusters[order]`. */
export const CLUSTER_FLAG_FRAG = 3;
/** Highest flag a usable cluster can have. */
export const CLUSTER_FLAG_USABLE = CLUSTER_FLAG_FRAG;
/** On `full_clusters`. */
export const CLUSTER_FLAG_FULL = 4;
/** On `discard_clusters` (or off-list while being discarded). */
export const CLUSTER_FLAG_DISCARD = 5;
/** Number of cluster flags. */
export const CLUSTER_FLAG_MAX = 6;
/** Names of the cluster flags, by value. */
export const CLUSTER_FLAG_NAMES: readonly string[] = Object.freeze([
  'none',
  'free',
  'nonfull',
  'frag',
  'full',
  'discard',
]);

/* __try_to_reclaim_swap() flags */
/** Reclaim the swap cache folio whatever its state. */
export const TTRS_ANYWAY = 0x1;
/** Reclaim if no page table maps the folio any more. */
export const TTRS_UNMAPPED = 0x2;
/** Reclaim if swap is getting full. */
export const TTRS_FULL = 0x4;

/**
 * The cluster geometry of a kernel build: SWAPFILE_CLUSTER, SWAP_NR_ORDERS
 * and PMD_ORDER, which depend on the page size and CONFIG_THP_SWAP.
 */
export interface SwapGeometry {
  /** CONFIG_THP_SWAP (`def_bool y` on 64-bit with THP). */
  readonly thpSwap: boolean;
  /** `PMD_ORDER` = PAGE_SHIFT − 3 (one page of 8-byte entries per PTE table). */
  readonly pmdOrder: number;
  /** `SWAPFILE_CLUSTER`: HPAGE_PMD_NR with THP_SWAP, else 256. */
  readonly clusterSize: number;
  /** log2 of {@link SwapGeometry.clusterSize}. */
  readonly clusterShift: number;
  /** `SWAP_NR_ORDERS`: PMD_ORDER + 1 with THP_SWAP, else 1. */
  readonly nrOrders: number;
}

/**
 * The geometry for a page size: 512-slot clusters and orders 0..9 for 4 KiB
 * pages with THP_SWAP (x86-64), 256-slot clusters and order 0 only without.
 * @kernel SWAPFILE_CLUSTER (mm/swap.h)
 */
export function swapGeometry(pageShift: number, thpSwap: boolean): SwapGeometry {
  const pmdOrder = pageShift - 3;
  const clusterShift = thpSwap ? pmdOrder : 8;
  return Object.freeze({
    thpSwap,
    pmdOrder,
    clusterSize: 1 << clusterShift,
    clusterShift,
    nrOrders: thpSwap ? pmdOrder + 1 : 1,
  });
}

/** `swap_count()`: the byte without the cache bit (COUNT_CONTINUED kept). */
export function swapCount(ent: number): number {
  return ent & ~SWAP_HAS_CACHE & 0xff;
}
