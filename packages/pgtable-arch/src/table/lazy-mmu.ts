/**
 * DOC: lazy MMU mode with the 2025 rules (`arch_enter_lazy_mmu_mode()`,
 * `arch_leave_lazy_mmu_mode()`, `arch_flush_lazy_mmu_mode()`).
 *
 * The generic contract (Ryan Roberts' "Fix lazy mmu mode" series, v6.15):
 * PTE updates between enter and leave may be batched; regions never nest;
 * the mode is never entered in interrupt context; the region may or may not
 * be preemptible (kernel-PTE users hold no lock). With `debugVm` a nested
 * enter, an enter in interrupt context, or a leave/flush outside the mode is
 * a {@link LazyMmuError}. The generic `set_ptes()` no longer enters the mode.
 *
 * What each architecture does inside, and what the model counts:
 *
 * | style | enter | a PTE update inside | leave |
 * | --- | --- | --- | --- |
 * | `none` (x86 native, riscv, ppc radix) | nothing | applied at once | nothing |
 * | `xen-pv` (x86 Xen PV) | state MMU, preemptible | queued as a multicall instead of one `mmu_update` hypercall | `xen_mc_flush()`: one hypercall per batch of 32 |
 * | `ppc-hash` (powerpc hash) | `preempt_disable()` | changing a hashed (present) PTE queues the hash invalidation in `ppc64_tlb_batch` (192) | `__flush_tlb_pending()`, `preempt_enable()` |
 * | `sparc` (sparc64) | `preempt_disable()` | changing a valid PTE queues the TSB/TLB flush in `tlb_batch` (192) | flush, `preempt_enable()` |
 * | `arm64` | TIF_LAZY_MMU | a valid kernel PTE defers its `dsb(ishst); isb` (TIF_LAZY_MMU_PENDING) | one barrier pair if pending |
 *
 * Outside lazy mode the same updates flush (or issue barriers, or
 * hypercalls) one by one; `stats()` reports both, and the difference is
 * what batching saved. Updates are applied to the tables at once in every
 * case: the model does not reproduce the stale-read hazard of Xen's queue.
 */
import { MmError } from '@mm/machine';
import type { LazyMmuStyle } from '../arch/descriptor.js';
import type { MmPgtables, PageTables } from './page-tables.js';

/** Misuse of lazy MMU mode (nesting, interrupt context, leave without enter). */
export class LazyMmuError extends MmError {
  constructor(code: string, message: string) {
    super(code, `pgtable: lazy MMU: ${message}`);
  }
}

/** Xen's multicall batch size (`MC_BATCH`). */
export const XEN_MC_BATCH = 32;

/** Lazy-MMU counters. */
export interface LazyMmuStats {
  /** Regions entered. */
  readonly enters: number;
  /** PTE updates made (inside or outside the mode). */
  readonly updates: number;
  /** Updates made inside the mode. */
  readonly lazyUpdates: number;
  /** Architecture operations queued instead of done at once (flushes, hypercalls, barriers). */
  readonly queued: number;
  /** Batched operations issued (one per batch flush). */
  readonly batchFlushes: number;
  /** Architecture operations issued one by one (outside the mode). */
  readonly immediateOps: number;
  /** Operations batching saved: queued minus batch flushes. */
  readonly saved: number;
}

/** Per-CPU lazy-MMU state of a page-table context. */
export class LazyMmu {
  /** The architecture's lazy-MMU implementation. */
  readonly style: LazyMmuStyle;
  private readonly pt: PageTables;
  /** Per CPU: 1 while in lazy MMU mode. */
  readonly active: Uint8Array;
  /** Per CPU: operations queued in the current batch. */
  readonly pending: Int32Array;
  /** Per CPU: the mm the batch belongs to (sparc flushes on an mm change). */
  private readonly batchMm: Int32Array;
  private readonly batchSize: number;
  private nrEnters: number;
  private nrUpdates: number;
  private nrLazyUpdates: number;
  private nrQueued: number;
  private nrBatchFlushes: number;
  private nrImmediate: number;

  constructor(pt: PageTables, style: LazyMmuStyle) {
    const n = pt.machine.topology.nrCpus;
    this.pt = pt;
    this.style = style;
    this.active = new Uint8Array(n);
    this.pending = new Int32Array(n);
    this.batchMm = new Int32Array(n).fill(-1);
    this.batchSize = style === 'xen-pv' ? XEN_MC_BATCH : pt.desc.lazyMmuBatch > 0 ? pt.desc.lazyMmuBatch : 192;
    this.nrEnters = 0;
    this.nrUpdates = 0;
    this.nrLazyUpdates = 0;
    this.nrQueued = 0;
    this.nrBatchFlushes = 0;
    this.nrImmediate = 0;
  }

  /**
   * Enter lazy MMU mode on the current CPU.
   * @throws LazyMmuError EBUSY when already in the mode (nesting), EINVAL in interrupt context.
   * @kernel arch_enter_lazy_mmu_mode (include/linux/pgtable.h)
   */
  enter(): void {
    const m = this.pt.machine;
    const cpu = m.currentCpu;
    if (this.pt.debugVm) {
      if (m.cpus.isInInterrupt(cpu)) throw new LazyMmuError('EINVAL', `enter in interrupt context on CPU ${cpu}`);
      if (this.active[cpu] === 1) {
        throw new LazyMmuError('EBUSY', `nested enter on CPU ${cpu} (lazy MMU regions never nest)`);
      }
    }
    this.nrEnters++;
    if (this.style === 'ppc-hash' || this.style === 'sparc') m.cpus.preemptDisable();
    this.active[cpu] = 1;
  }

  /**
   * Leave lazy MMU mode: issue what was batched.
   * @throws LazyMmuError EINVAL when not in the mode.
   * @kernel arch_leave_lazy_mmu_mode (include/linux/pgtable.h)
   */
  leave(): void {
    const m = this.pt.machine;
    const cpu = m.currentCpu;
    if (this.active[cpu] !== 1) throw new LazyMmuError('EINVAL', `leave on CPU ${cpu} outside lazy MMU mode`);
    this.flushBatch(cpu);
    this.active[cpu] = 0;
    if (this.style === 'ppc-hash' || this.style === 'sparc') m.cpus.preemptEnable();
  }

  /**
   * Issue what was batched and stay in the mode.
   * @kernel arch_flush_lazy_mmu_mode (include/linux/pgtable.h)
   */
  flush(): void {
    const cpu = this.pt.machine.currentCpu;
    if (this.active[cpu] !== 1) throw new LazyMmuError('EINVAL', `flush on CPU ${cpu} outside lazy MMU mode`);
    this.flushBatch(cpu);
  }

  /** Whether the current CPU is in lazy MMU mode (`in_lazy_mmu_mode()`). */
  inLazyMmuMode(): boolean {
    return this.active[this.pt.machine.currentCpu] === 1;
  }

  /**
   * `nr` PTE updates of `mm` at `addr`; `oldPresent`/`newPresent` describe
   * the old and new entries (a batch of `set_ptes()` has non-present old
   * entries). Counts what the architecture does for them.
   */
  noteUpdate(mm: MmPgtables, _addr: number, nr: number, oldPresent: boolean, newPresent: boolean): void {
    this.nrUpdates += nr;
    const style = this.style;
    if (style === 'none') return;
    const cpu = this.pt.machine.currentCpu;
    const lazy = this.active[cpu] === 1;
    if (lazy) this.nrLazyUpdates += nr;
    let ops: number;
    if (style === 'xen-pv') ops = nr;
    else if (style === 'arm64') ops = mm.isInitMm && newPresent ? nr : 0;
    else ops = oldPresent ? nr : 0;
    if (ops === 0) return;
    if (!lazy) {
      this.nrImmediate += ops;
      return;
    }
    if (style === 'arm64') {
      // One pending flag: the barriers are issued once at flush/leave.
      this.nrQueued += ops;
      this.pending[cpu] = 1;
      return;
    }
    if (style === 'sparc' && this.pending[cpu]! > 0 && this.batchMm[cpu] !== mm.id) this.flushBatch(cpu);
    this.batchMm[cpu] = mm.id;
    this.nrQueued += ops;
    let p = this.pending[cpu]! + ops;
    while (p >= this.batchSize) {
      this.nrBatchFlushes++;
      p -= this.batchSize;
    }
    this.pending[cpu] = p;
  }

  private flushBatch(cpu: number): void {
    if (this.pending[cpu]! > 0) {
      this.nrBatchFlushes++;
      this.pending[cpu] = 0;
    }
    this.batchMm[cpu] = -1;
  }

  /** Counters (see {@link LazyMmuStats}). */
  stats(): LazyMmuStats {
    return {
      enters: this.nrEnters,
      updates: this.nrUpdates,
      lazyUpdates: this.nrLazyUpdates,
      queued: this.nrQueued,
      batchFlushes: this.nrBatchFlushes,
      immediateOps: this.nrImmediate,
      saved: this.nrQueued - this.nrBatchFlushes,
    };
  }

  /** Check the per-CPU state: nothing pending outside the mode. */
  validate(): string | null {
    for (let c = 0; c < this.active.length; c++) {
      if (this.active[c] === 0 && this.pending[c] !== 0)
        return `lazy MMU: CPU ${c} has ${this.pending[c]} operations pending outside the mode`;
    }
    return null;
  }
}
