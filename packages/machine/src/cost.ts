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
  /**
   * An uncontended acquisition and release of a sleeping lock (mutex,
   * rw_semaphore) or a seqcount write section: an atomic on the owner word
   * each way.
   */
  readonly lockAcquire: number;
  /** Extra cost of a contended acquisition (waiting, spinning). */
  readonly lockContended: number;
  /**
   * An uncontended `spin_lock` + `spin_unlock` (also `raw_spinlock_t`): one
   * locked read-modify-write to take the lock word, a release store to drop it.
   */
  readonly spinLock: number;
  /**
   * A `local_lock` / `localtry_trylock` + unlock without PREEMPT_RT: no atomic,
   * only the preempt count (or interrupt flag) and the per-CPU `acquired` byte.
   * Under PREEMPT_RT a local lock is a per-CPU spinlock and costs `spinLock`.
   */
  readonly localLock: number;
  /** One locked read-modify-write on a line this CPU owns (`cmpxchg`, `atomic_inc`, `xchg`). */
  readonly atomic: number;
  /**
   * One double-word compare-and-exchange on per-CPU data
   * (`this_cpu_cmpxchg_double` / `this_cpu_try_cmpxchg128`: `cmpxchg16b` on
   * x86-64), as SLUB's CPU-slab fast paths do once per allocation and free.
   */
  readonly cmpxchgDouble: number;
  /**
   * Moving a cache line from another CPU's cache (a lock or counter last
   * written elsewhere, within one socket; remote NUMA adds `remoteNumaAccess`).
   */
  readonly cacheLineTransfer: number;
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
  // The lock and atomic figures are cycle counts at ~3 GHz from Agner Fog's
  // instruction tables (uops.info agrees within a few cycles): a LOCK CMPXCHG
  // / LOCK XADD on an owned line is ~18-25 cycles on Skylake/Zen 3 (~7 ns),
  // a spin_lock/unlock pair is one of those plus a plain release store (8);
  // CMPXCHG16B is ~25-30 cycles even without the LOCK prefix that
  // this_cpu_cmpxchg_double() omits (~10 ns); a non-RT local lock is a
  // preempt_count increment and a byte store (~1 ns). A core-to-core line
  // transfer within a socket is 40-70 ns (David, Guerraoui, Trigonakis,
  // "Everything you always wanted to know about synchronization but were
  // afraid to ask", SOSP 2013; Intel MLC c2c figures): 40.
  spinLock: 8,
  localLock: 1,
  atomic: 7,
  cmpxchgDouble: 10,
  cacheLineTransfer: 40,
  contextSwitch: 2000,
  ioSsdRead: 80_000,
  ioSsdWrite: 25_000,
  ioHdd: 5_000_000,
  ioZram: 3_000,
  ioPmem: 1_000,
});

/** Names of the events in the cost table. */
export type CostEvent = keyof CostTable;
