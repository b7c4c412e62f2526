/**
 * DOC: the cost model: virtual nanoseconds charged per hardware or kernel event.
 *
 * The figures are nominal, of the order a 2020s x86-64 server shows (an STLB
 * hit costs a few ns, a remote shootdown IPI around a microsecond and a half,
 * an SSD read tens of microseconds); they make runs comparable with each other,
 * not with a particular machine. A machine overrides any of them through
 * `createMachine({ costs: { ipi: 3000 } })`.
 */

/** Virtual nanoseconds per event. */
export interface CostTable {
  /** An access that hits the first-level TLB. */
  readonly tlbHit: number;
  /** A first-level TLB miss (the second-level TLB lookup), before any walk. */
  readonly tlbMiss: number;
  /** One page-table level read by the hardware walker. */
  readonly pageWalkLevel: number;
  /** Entering and leaving the page-fault handler (exception entry and return). */
  readonly faultEntry: number;
  /** Zeroing one base page (`clear_page`). */
  readonly zeroPage: number;
  /** Copying one base page (`copy_page`, e.g. for CoW). */
  readonly copyPage: number;
  /** Sending one inter-processor interrupt and having it handled. */
  readonly ipi: number;
  /** A memory access served by the local node. */
  readonly localMemoryAccess: number;
  /** Extra latency of an access served by a remote node (per 10 units of distance above local). */
  readonly remoteNumaAccess: number;
  /** Invalidating one TLB entry locally (`invlpg`, `tlbi vale1`). */
  readonly tlbFlushPage: number;
  /** Flushing the whole local TLB (or one ASID of it). */
  readonly tlbFlushAll: number;
  /** A broadcast TLB invalidation with no IPI (INVLPGB + TLBSYNC, arm64 `tlbi ...is`). */
  readonly tlbBroadcastFlush: number;
  /** An uncontended lock acquisition and release. */
  readonly lockAcquire: number;
  /** Extra cost of a contended acquisition (cache-line transfer, spinning). */
  readonly lockContended: number;
  /** A context switch between tasks. */
  readonly contextSwitch: number;
  /** Reading one page from an SSD (swap-in, page cache miss). */
  readonly ioSsdRead: number;
  /** Writing one page to an SSD. */
  readonly ioSsdWrite: number;
  /** A seek-bound page read or write on a rotating disk. */
  readonly ioHdd: number;
  /** Compressing or decompressing one page in zram. */
  readonly ioZram: number;
  /** Reading or writing one page of persistent memory. */
  readonly ioPmem: number;
}

/** The default cost table (nominal figures; see the file header). */
export const DEFAULT_COSTS: CostTable = Object.freeze({
  tlbHit: 1,
  tlbMiss: 7,
  pageWalkLevel: 20,
  faultEntry: 500,
  zeroPage: 250,
  copyPage: 500,
  ipi: 1500,
  localMemoryAccess: 80,
  remoteNumaAccess: 50,
  tlbFlushPage: 30,
  tlbFlushAll: 150,
  tlbBroadcastFlush: 400,
  lockAcquire: 20,
  lockContended: 200,
  contextSwitch: 2000,
  ioSsdRead: 80_000,
  ioSsdWrite: 25_000,
  ioHdd: 5_000_000,
  ioZram: 3_000,
  ioPmem: 1_000,
});

/** Names of the events in the cost table. */
export type CostEvent = keyof CostTable;
