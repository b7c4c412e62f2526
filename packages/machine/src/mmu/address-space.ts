/**
 * DOC: the address-space handle the MMU needs: the TLB side of an `mm_struct`.
 *
 * It carries what the hardware and the flush code read: the ASID (with the
 * allocator generation it belongs to, like arm64's `mm->context.id`), the
 * `mm_cpumask` of CPUs that may hold its translations, the flush generation
 * `tlb_gen` and, per CPU, the generation that CPU's TLB is up to date with
 * (x86 `cpu_tlbstate.ctxs[].tlb_gen`), whether its flushes are broadcast in
 * hardware (an x86 global ASID with INVLPGB, arm64 TLBI IS), and `root`, an
 * opaque number the hardware walker interprets (the PGD's PFN, say). The
 * page tables themselves belong to `@mm/pgtable-arch`; the VMAs and the rest
 * of `mm_struct` to the kernel model. Address spaces number in the
 * thousands, so each is an object; its per-CPU fields are typed arrays.
 *
 * Create them with `machine.mmu.createAddressSpace(root)`.
 */

/** The TLB-facing part of an `mm_struct`. */
export class AddressSpace {
  /** Small integer naming this address space (0 is `init_mm`). */
  readonly id: number;
  /** What the hardware walker starts from (CR3 / TTBR0 contents): opaque to the MMU. */
  root: number;
  /**
   * ASID tagging this address space's TLB entries with the machine-wide
   * allocator (0: kernel, or no PCID/ASID support). With x86 per-CPU PCID
   * slots it is 0 unless the address space holds a global ASID (INVLPGB);
   * the tag a CPU uses is then `mmu.loadedAsid[cpu]` / `mmu.tagOn(cpu, as)`.
   */
  asid: number;
  /** Allocator generation `asid` belongs to; a stale one is replaced at the next switch. */
  asidGeneration: number;
  /** `mm_cpumask`: 1 for each CPU that may hold translations and must be told about flushes. */
  readonly cpumask: Uint8Array;
  /** `mm->context.tlb_gen`: bumped by every flush request. */
  tlbGen: number;
  /**
   * Per CPU, the `tlbGen` that CPU's TLB has caught up with, for the
   * machine-wide allocator (x86 per-CPU slots keep it in `mmu.ctxTlbGen`).
   */
  readonly cpuTlbGen: Float64Array;
  /** Flushes are broadcast by hardware (global ASID + INVLPGB, arm64 TLBI IS): no IPIs. */
  broadcast: boolean;
  /** Batches (`TlbBatch`) holding a deferred flush of this address space: CPUs may lag until they flush. */
  nrDeferredFlushes: number;
  /** Remote flushes since the cpumask was last trimmed. */
  flushesSinceTrim: number;
  /** Set by `destroyAddressSpace`; a dead address space may not be used. */
  dead: boolean;

  /** @internal Use `machine.mmu.createAddressSpace()`. */
  constructor(id: number, root: number, nrCpus: number) {
    this.id = id;
    this.root = root;
    this.asid = 0;
    this.asidGeneration = -1;
    this.cpumask = new Uint8Array(nrCpus);
    this.tlbGen = 1;
    this.cpuTlbGen = new Float64Array(nrCpus).fill(1);
    this.broadcast = false;
    this.nrDeferredFlushes = 0;
    this.flushesSinceTrim = 0;
    this.dead = false;
  }

  /**
   * Number of CPUs in the cpumask.
   * @kernel cpumask_weight (include/linux/cpumask.h)
   */
  cpumaskWeight(): number {
    let n = 0;
    for (let c = 0; c < this.cpumask.length; c++) n += this.cpumask[c]!;
    return n;
  }

  /**
   * A CPU of the cpumask other than `cpu`, or -1 (the kernel returns `nr_cpu_ids`).
   * @kernel cpumask_any_but (include/linux/cpumask.h)
   */
  cpumaskAnyBut(cpu: number): number {
    for (let c = 0; c < this.cpumask.length; c++) if (this.cpumask[c] !== 0 && c !== cpu) return c;
    return -1;
  }

  /** The CPUs of the cpumask, ascending (for tests and reports). */
  cpumaskCpus(): number[] {
    const out: number[] = [];
    for (let c = 0; c < this.cpumask.length; c++) if (this.cpumask[c] !== 0) out.push(c);
    return out;
  }
}
