/**
 * DOC: what the slab allocator needs from the machine it runs on.
 *
 * SLUB sits on top of the page allocator, per-CPU data, local locks,
 * spinlocks and RCU. This file names exactly those services as one small
 * interface, {@link SlabEnv}, so the allocator code reads like mm/slub.c and
 * never reaches into machine internals. `createSlabEnv(machine)` (in
 * machine-env.ts) builds it from a `@mm/machine` Machine: pages come from the
 * buddy allocator, locks are the machine's lockdep-checked locks, RCU is the
 * machine's tree RCU.
 */

/** A per-CPU `localtry_lock_t` as the allocator uses it (one instance per cache). */
export interface SlabLocalTryLock {
  /**
   * Take the lock of the current CPU (callers known to be allowed to block).
   * @kernel local_lock (include/linux/local_lock.h)
   */
  lock(): void;
  /**
   * Try to take the lock of the current CPU; false when an interrupt preempted a
   * holder on this CPU.
   * @kernel local_trylock (include/linux/local_lock.h)
   */
  trylock(): boolean;
  /** Release the local lock. @kernel local_unlock (include/linux/local_lock.h) */
  unlock(): void;
}

/** A `spinlock_t` taken with interrupts saved, as barn and list locks are. */
export interface SlabSpinLock {
  /** Take the spinlock with interrupts disabled. @kernel spin_lock_irqsave (include/linux/spinlock.h) */
  lock(): void;
  /** Try to take the spinlock with interrupts disabled; true on success. @kernel spin_trylock_irqsave (include/linux/spinlock.h) */
  trylock(): boolean;
  /** Release the spinlock and restore interrupts. @kernel spin_unlock_irqrestore (include/linux/spinlock.h) */
  unlock(): void;
}

/** The machine services SLUB uses. */
export interface SlabEnv {
  /** Number of CPUs. */
  readonly nrCpus: number;
  /** Number of NUMA nodes. */
  readonly nrNodes: number;
  /** Base page size in bytes (PAGE_SIZE). */
  readonly pageSize: number;
  /** log2 of the base page size (PAGE_SHIFT). */
  readonly pageShift: number;
  /** PFN bits per memory section (for the lazily allocated pfn → slab map). */
  readonly sectionShift: number;
  /** CONFIG_PREEMPT_RT (kfree_rcu then bypasses the sheaves). */
  readonly preemptRt: boolean;
  /** The CPU the calling code runs on (`smp_processor_id()`). */
  currentCpu(): number;
  /** `current->pid` on the current CPU. */
  currentPid(): number;
  /** Virtual time in ns (`local_clock()`). */
  nowNs(): number;
  /** NUMA node of `cpu` (`cpu_to_node()`). */
  cpuToNode(cpu: number): number;
  /** Whether `cpu` is online (`cpu_online()`). */
  cpuOnline(cpu: number): boolean;
  /** NUMA node of the page at `pfn` (`page_to_nid(pfn_to_page(pfn))`). */
  pfnToNid(pfn: number): number;
  /**
   * Allocate 2^order pages; returns the head PFN or a negative errno.
   * @kernel __alloc_frozen_pages (mm/page_alloc.c)
   */
  allocPages(gfp: number, order: number, nid: number): number;
  /** Free the 2^order pages at `pfn`, not refcounted. @kernel free_frozen_pages (mm/page_alloc.c) */
  freePages(pfn: number, order: number): void;
  /** Mark the head page of a slab as such (page type PGTY_slab) or clear it. @kernel __SetPageSlab / __ClearPageSlab */
  setPageSlab(pfn: number, slab: boolean): void;
  /** Whether `gfp` lets the caller sleep. @kernel gfpflags_allow_blocking */
  gfpAllowBlocking(gfp: number): boolean;
  /**
   * Charge one double-word compare-and-exchange (`cmpxchg16b`) to the current
   * CPU in the machine's cost model: SLUB's CPU-slab fast paths do one per
   * allocation and free (`this_cpu_cmpxchg_double`), the slab freelist
   * updates one each (`slab_update_freelist`). Sheaves avoid it, which is
   * where their gain comes from.
   * @kernel this_cpu_cmpxchg_double (include/linux/percpu-defs.h)
   */
  chargeCmpxchgDouble(): void;
  /** A new per-CPU `localtry_lock_t` named `name` (one lockdep class per name). */
  newLocalTryLock(name: string): SlabLocalTryLock;
  /** A new `spinlock_t` named `name`. */
  newSpinLock(name: string): SlabSpinLock;
  /** Run `fn(arg)` after an RCU grace period. @kernel call_rcu (kernel/rcu/tree.c) */
  callRcu(fn: (arg: unknown) => void, arg: unknown): void;
  /** Wait for every queued RCU callback (from the harness context). @kernel rcu_barrier (kernel/rcu/tree.c) */
  rcuBarrier(): void;
  /** Run `fn` as code on `cpu` (`smp_call_function_single` / work queued on that CPU). */
  runOn(cpu: number, fn: () => void): void;
  /** Register CPU hotplug callbacks (dead = after the CPU stopped running). */
  cpuhpSetupState(
    name: string,
    startup: ((cpu: number) => number) | null,
    teardown: ((cpu: number) => number) | null,
  ): void;
}
