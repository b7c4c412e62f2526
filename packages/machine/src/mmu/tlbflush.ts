/**
 * DOC: TLB shootdown: keeping every CPU's TLB consistent after a page-table change.
 *
 * The x86 protocol of `arch/x86/mm/tlb.c` (v6.15+): a flush request bumps
 * the address space's `tlb_gen`, then
 * - an address space that uses broadcast invalidation (an x86 global ASID
 *   with INVLPGB, every address space on arm64 with TLBI IS) is flushed on
 *   all CPUs by hardware, with no IPI;
 * - else, if CPUs other than this one are in its cpumask, each of them that
 *   runs it (not lazily, unless page tables were freed) gets an IPI and
 *   runs {@link flushTlbFunc}; now and then the cpumask is trimmed by also
 *   interrupting CPUs that no longer run it;
 * - else, if this CPU runs it, the flush is local.
 * A CPU that was skipped (lazy, or running something else) is behind in
 * `tlb_gen` and flushes the ASID when it next switches to the address space.
 * Ranges of more than `tlb_single_page_flush_ceiling` (33) pages become full
 * flushes of the ASID. Everything is charged to the CPUs through
 * `mmu.charge`: the initiator pays the IPIs or the broadcast, each CPU its
 * own invalidations.
 */

import { MmBugError } from '../errors.js';
import type { AddressSpace } from './address-space.js';
import { allocGlobalAsid, localTlbGen, markUpToDate, setLocalTlbGen } from './asid.js';
import type { Mmu } from './mmu.js';

/**
 * `end` of a flush request meaning "the whole address space".
 * @kernel TLB_FLUSH_ALL (arch/x86/include/asm/tlbflush.h)
 */
export const TLB_FLUSH_ALL = -1;

/**
 * `newTlbGen` of a request that names no generation (a batched flush): the
 * CPU flushes fully if it is behind at all.
 * @kernel TLB_GENERATION_INVALID (arch/x86/include/asm/tlbflush.h)
 */
export const TLB_GENERATION_INVALID = 0;

/**
 * One flush request, handed to every CPU that runs it.
 * @kernel struct flush_tlb_info (arch/x86/include/asm/tlbflush.h)
 */
export class FlushTlbInfo {
  /** The address space, or null for a kernel-range flush. */
  mm: AddressSpace | null;
  /** Start address of the range. */
  start: number;
  /** End (exclusive), or {@link TLB_FLUSH_ALL}. */
  end: number;
  /** log2 of the step between flushed addresses (PAGE_SHIFT, or PMD_SHIFT for huge mappings). */
  strideShift: number;
  /** Page tables were freed: lazy CPUs must be flushed too. */
  freedTables: boolean;
  /** The `tlb_gen` this flush brings CPUs to. */
  newTlbGen: number;
  /** CPU that asked for the flush. */
  initiatingCpu: number;
  /** Also interrupt CPUs in the cpumask that no longer run the address space, to drop them from it. */
  trimCpumask: boolean;

  constructor() {
    this.mm = null;
    this.start = 0;
    this.end = 0;
    this.strideShift = 12;
    this.freedTables = false;
    this.newTlbGen = 0;
    this.initiatingCpu = 0;
    this.trimCpumask = false;
  }
}

/**
 * Fill the scratch request; a range of more pages than the ceiling becomes a full flush.
 * @kernel init_flush_tlb_info (arch/x86/mm/tlb.c)
 */
function initFlushTlbInfo(
  mmu: Mmu,
  mm: AddressSpace | null,
  start: number,
  end: number,
  strideShift: number,
  freedTables: boolean,
  newTlbGen: number,
  cpu: number,
): FlushTlbInfo {
  const info = mmu.flushInfo;
  if (end !== TLB_FLUSH_ALL && Math.floor((end - start) / 2 ** strideShift) > mmu.singlePageFlushCeiling) {
    start = 0;
    end = TLB_FLUSH_ALL;
  }
  info.mm = mm;
  info.start = start;
  info.end = end;
  info.strideShift = strideShift;
  info.freedTables = freedTables;
  info.newTlbGen = newTlbGen;
  info.initiatingCpu = cpu;
  info.trimCpumask = false;
  return info;
}

/** The CPU issuing a machine-wide flush (`smp_processor_id()`). */
function initiatingCpu(mmu: Mmu): number {
  const cpu = mmu.machine.currentCpu;
  if (!(cpu >= 0 && cpu < mmu.nrCpus)) {
    throw new MmBugError(`mmu: machine.currentCpu ${cpu} is not a CPU of this machine`);
  }
  return cpu;
}

/**
 * Flush [start, end) of `mm` on every CPU that may cache it.
 * @kernel flush_tlb_mm_range (arch/x86/mm/tlb.c)
 */
export function flushTlbMmRange(
  mmu: Mmu,
  mm: AddressSpace,
  start: number,
  end: number,
  strideShift: number,
  freedTables: boolean,
): void {
  const cpu = initiatingCpu(mmu);
  mmu.nrFlushes[cpu]!++;
  // inc_mm_tlb_gen(): every CPU is now behind until it flushes.
  const newTlbGen = ++mm.tlbGen;
  const info = initFlushTlbInfo(mmu, mm, start, end, strideShift, freedTables, newTlbGen, cpu);
  if (mm.broadcast) {
    broadcastTlbFlush(mmu, info);
  } else if (mm.cpumaskAnyBut(cpu) >= 0) {
    info.trimCpumask = shouldTrimCpumask(mmu, mm);
    nativeFlushTlbMulti(mmu, mm.cpumask, info);
    considerGlobalAsid(mmu, mm);
  } else if (mm === mmu.loadedAs[cpu]) {
    flushTlbFunc(mmu, cpu, info, true);
  }
}

/**
 * The flush a CPU runs for a request (locally or in the IPI handler).
 * A CPU that runs another address space leaves the cpumask; a lazy one
 * switches to `init_mm`; an up-to-date one does nothing; a CPU exactly one
 * generation behind does the partial flush asked for, otherwise it flushes
 * the whole ASID. Either way it catches up to the address space's `tlb_gen`.
 * @kernel flush_tlb_func (arch/x86/mm/tlb.c)
 */
export function flushTlbFunc(mmu: Mmu, cpu: number, info: FlushTlbInfo, local: boolean): void {
  const loaded = mmu.loadedAs[cpu]!;
  if (!local) mmu.nrRemoteFlushReceived[cpu]!++;
  const mm = info.mm;
  if (mm !== null && mm !== loaded) {
    // The CPU was left in the cpumask after switching away: drop it.
    mm.cpumask[cpu] = 0;
    return;
  }
  if (loaded === mmu.initMm) return;
  if (loaded.broadcast) return;
  if (mmu.isLazy[cpu] !== 0) {
    mmu.loadInitMm(cpu);
    return;
  }
  const localGen = localTlbGen(mmu, cpu);
  if (info.newTlbGen !== TLB_GENERATION_INVALID && info.newTlbGen <= localGen) return;
  const mmGen = loaded.tlbGen;
  if (localGen === mmGen) return;
  const asid = mmu.loadedAsid[cpu]!;
  if (info.end !== TLB_FLUSH_ALL && info.newTlbGen === localGen + 1 && info.newTlbGen === mmGen) {
    const stride = 2 ** info.strideShift;
    let nr = 0;
    for (let addr = info.start; addr < info.end; addr += stride) {
      // A stride above PAGE_SIZE invalidates a huge page: also the smaller
      // entries it was splintered into (INVLPG and TLBI drop them all).
      if (info.strideShift > mmu.pageShift) mmu.invalidateLocalRange(cpu, asid, addr, addr + stride, true);
      else mmu.invalidateLocal(cpu, asid, addr, true);
      nr++;
    }
    mmu.nrLocalFlushOne[cpu]! += nr;
    mmu.charge(cpu, mmu.evTlbFlushPage, nr);
  } else {
    mmu.flushCpuAsid(cpu, asid);
  }
  setLocalTlbGen(mmu, cpu, mmGen);
}

/**
 * Whether a CPU of the cpumask needs the IPI: not when lazy (it catches up
 * at its next switch), yes when it runs the address space, and yes when the
 * cpumask is being trimmed.
 * @kernel should_flush_tlb (arch/x86/mm/tlb.c)
 */
function shouldFlushTlb(mmu: Mmu, cpu: number, info: FlushTlbInfo): boolean {
  if (mmu.isLazy[cpu] !== 0) return false;
  if (info.mm === null) return true;
  if (mmu.loadedAs[cpu] === info.mm) return true;
  return info.trimCpumask;
}

/**
 * Trim the cpumask once per `trimCpumaskInterval` remote flushes (the kernel: once a second).
 * @kernel should_trim_cpumask (arch/x86/mm/tlb.c)
 */
function shouldTrimCpumask(mmu: Mmu, mm: AddressSpace): boolean {
  if (++mm.flushesSinceTrim >= mmu.trimCpumaskInterval) {
    mm.flushesSinceTrim = 0;
    return true;
  }
  return false;
}

/**
 * Send the flush to the CPUs of the cpumask by IPI (running it directly on
 * the initiating CPU when that one is in the mask). When page tables were
 * freed every CPU of the mask is interrupted, lazy ones included.
 * @kernel native_flush_tlb_multi (arch/x86/mm/tlb.c)
 */
export function nativeFlushTlbMulti(mmu: Mmu, cpumask: Uint8Array, info: FlushTlbInfo): void {
  const sender = info.initiatingCpu;
  mmu.nrShootdowns[sender]!++;
  const smp = mmu.machine.smp;
  for (let c = 0; c < mmu.nrCpus; c++) {
    if (cpumask[c] === 0 || mmu.online[c] === 0) continue;
    if (!info.freedTables && !shouldFlushTlb(mmu, c, info)) continue;
    if (c === sender) {
      flushTlbFunc(mmu, c, info, true);
    } else {
      mmu.nrIpisSent[sender]!++;
      smp.sent[sender]!++;
      smp.received[c]!++;
      mmu.charge(sender, mmu.evIpi, 1);
      flushTlbFunc(mmu, c, info, false);
    }
  }
}

/**
 * Invalidate the range (or the whole ASID) on every CPU with one broadcast
 * instruction sequence (INVLPGB + TLBSYNC, arm64 `tlbi ...is` + `dsb ish`):
 * no IPI, no cpumask, and every CPU is up to date afterwards.
 * @kernel broadcast_tlb_flush (arch/x86/mm/tlb.c)
 */
export function broadcastTlbFlush(mmu: Mmu, info: FlushTlbInfo): void {
  const sender = info.initiatingCpu;
  const mm = info.mm!;
  mmu.nrBroadcastFlushes[sender]!++;
  mmu.charge(sender, mmu.evTlbBroadcastFlush, 1);
  const stride = 2 ** info.strideShift;
  for (let c = 0; c < mmu.nrCpus; c++) {
    if (info.end === TLB_FLUSH_ALL) {
      mmu.invalidateLocalAsid(c, mm.asid);
    } else {
      for (let addr = info.start; addr < info.end; addr += stride) {
        if (info.strideShift > mmu.pageShift) mmu.invalidateLocalRange(c, mm.asid, addr, addr + stride, false);
        else mmu.invalidateLocal(c, mm.asid, addr, false);
      }
    }
    mm.cpuTlbGen[c] = mm.tlbGen;
  }
}

/**
 * Give an address space that runs on more than three CPUs at once a global
 * ASID, so its flushes become broadcasts. The kernel samples this check
 * (pid and jiffies); the model makes it after every IPI shootdown.
 * @kernel consider_global_asid (arch/x86/mm/tlb.c)
 */
function considerGlobalAsid(mmu: Mmu, mm: AddressSpace): void {
  if (!mmu.broadcastFlush || mm.broadcast || mm === mmu.initMm) return;
  let active = 0;
  for (let c = 0; c < mmu.nrCpus; c++) {
    if (mmu.loadedAs[c] === mm && mmu.isLazy[c] === 0) active++;
  }
  if (active > 3) useGlobalAsid(mmu, mm);
}

/**
 * Switch `mm` to broadcast flushing for good. CPUs behind in its `tlb_gen`
 * flush its ASID now: on x86 they would move to the new global ASID, which
 * holds nothing stale.
 * @kernel use_global_asid (arch/x86/mm/tlb.c)
 */
export function useGlobalAsid(mmu: Mmu, mm: AddressSpace): void {
  if (mm.broadcast) return;
  if (mmu.dynamicAsids) {
    // x86: a global ASID, the same PCID on every CPU; CPUs running the mm
    // reload with it (the kernel's ASID transition), leaving their stale
    // dynamic-slot entries unreachable.
    const asid = allocGlobalAsid(mmu);
    if (mmu.machine.warnOn(asid < 0, 'mmu: ran out of global ASIDs')) return;
    mm.asid = asid;
    mm.broadcast = true;
    for (let c = 0; c < mmu.nrCpus; c++) if (mmu.loadedAs[c] === mm) mmu.loadedAsid[c] = asid;
    return;
  }
  mm.broadcast = true;
  for (let c = 0; c < mmu.nrCpus; c++) {
    if (mm.cpuTlbGen[c]! < mm.tlbGen) {
      mmu.flushCpuAsid(c, mm.asid);
      mm.cpuTlbGen[c] = mm.tlbGen;
    }
  }
}

/**
 * Flush every entry, global ones included, on every CPU: by broadcast when
 * available, else by an IPI to each other CPU.
 * @kernel flush_tlb_all (arch/x86/mm/tlb.c)
 */
export function flushTlbAll(mmu: Mmu): void {
  const sender = initiatingCpu(mmu);
  mmu.nrFlushes[sender]!++;
  if (mmu.broadcastFlush) {
    mmu.nrBroadcastFlushes[sender]!++;
    mmu.charge(sender, mmu.evTlbBroadcastFlush, 1);
    for (let c = 0; c < mmu.nrCpus; c++) mmu.invalidateLocalAll(c, false);
    return;
  }
  onEachCpu(mmu, sender);
  for (let c = 0; c < mmu.nrCpus; c++) if (mmu.online[c] !== 0) mmu.flushCpuAll(c, false);
}

/**
 * Flush the kernel range [start, end) on every CPU (whole TLBs above the
 * ceiling): by broadcast when available, else by IPIs to all other CPUs.
 * Each CPU drops the range's global entries and its current ASID's ones
 * (what `invlpg` of each page does).
 * @kernel flush_tlb_kernel_range (arch/x86/mm/tlb.c)
 */
export function flushTlbKernelRange(mmu: Mmu, start: number, end: number): void {
  const sender = initiatingCpu(mmu);
  const info = initFlushTlbInfo(mmu, null, start, end, mmu.pageShift, false, 0, sender);
  if (info.end === TLB_FLUSH_ALL) {
    flushTlbAll(mmu);
    return;
  }
  mmu.nrFlushes[sender]!++;
  const pages = Math.ceil((end - start) / 2 ** mmu.pageShift);
  if (mmu.broadcastFlush) {
    mmu.nrBroadcastFlushes[sender]!++;
    mmu.charge(sender, mmu.evTlbBroadcastFlush, 1);
    for (let c = 0; c < mmu.nrCpus; c++) mmu.invalidateLocalRange(c, mmu.loadedAsid[c]!, start, end, true);
    return;
  }
  onEachCpu(mmu, sender);
  for (let c = 0; c < mmu.nrCpus; c++) {
    if (mmu.online[c] === 0) continue;
    mmu.invalidateLocalRange(c, mmu.loadedAsid[c]!, start, end, true);
    mmu.nrLocalFlushOne[c]! += pages;
    mmu.charge(c, mmu.evTlbFlushPage, pages);
  }
}

/** Count and charge an IPI from `sender` to every other online CPU. @kernel on_each_cpu (include/linux/smp.h) */
function onEachCpu(mmu: Mmu, sender: number): void {
  mmu.nrShootdowns[sender]!++;
  const smp = mmu.machine.smp;
  for (let c = 0; c < mmu.nrCpus; c++) {
    if (c === sender || mmu.online[c] === 0) continue;
    smp.sent[sender]!++;
    smp.received[c]!++;
    mmu.nrIpisSent[sender]!++;
    mmu.charge(sender, mmu.evIpi, 1);
    mmu.nrRemoteFlushReceived[c]!++;
  }
}

/**
 * Deferred flushes of reclaim's batched unmapping (TTU_BATCH_FLUSH): the
 * CPUs that may cache any of the unmapped pages, gathered until one flush.
 * @kernel struct arch_tlbflush_unmap_batch (arch/x86/include/asm/tlbbatch.h)
 */
export class TlbBatch {
  /** CPUs to flush (the union of the cpumasks of the address spaces added). */
  readonly cpumask: Uint8Array;
  /** Pages were unmapped from some address space since the last flush. */
  unmappedPages: boolean;
  /** The address spaces with a flush deferred to this batch. */
  readonly spaces: AddressSpace[];

  constructor(nrCpus: number) {
    this.cpumask = new Uint8Array(nrCpus);
    this.unmappedPages = false;
    this.spaces = [];
  }
}

/**
 * Whether unmapping from `mm` should join a batch rather than flush now:
 * only when another CPU may cache its entries.
 * @kernel arch_tlbbatch_should_defer (arch/x86/include/asm/tlbflush.h)
 */
export function archTlbbatchShouldDefer(mmu: Mmu, mm: AddressSpace): boolean {
  return mm.cpumaskAnyBut(initiatingCpu(mmu)) >= 0;
}

/**
 * Record that [start, end) of `mm` was unmapped and its flush deferred to
 * {@link archTlbbatchFlush}: bump its `tlb_gen` and add its cpumask to the
 * batch. An address space flushed by broadcast has the range invalidated now
 * (an asynchronous INVLPGB the final flush waits for).
 * @kernel arch_tlbbatch_add_pending (arch/x86/mm/tlb.c)
 */
export function archTlbbatchAddPending(mmu: Mmu, batch: TlbBatch, mm: AddressSpace, start: number, end: number): void {
  const cpu = initiatingCpu(mmu);
  const newTlbGen = ++mm.tlbGen;
  if (mm.broadcast) {
    broadcastTlbFlush(mmu, initFlushTlbInfo(mmu, mm, start, end, mmu.pageShift, false, newTlbGen, cpu));
  } else {
    for (let c = 0; c < mmu.nrCpus; c++) batch.cpumask[c]! |= mm.cpumask[c]!;
    if (!batch.spaces.includes(mm)) {
      batch.spaces.push(mm);
      mm.nrDeferredFlushes++;
    }
  }
  batch.unmappedPages = true;
}

/**
 * Flush everything a batch deferred: every CPU of its cpumask that is behind
 * on the address space it runs flushes that address space fully (by IPI, or
 * locally when only this CPU is concerned); with broadcast invalidation, one
 * broadcast of all non-global entries instead. The batch is then empty.
 * @kernel arch_tlbbatch_flush (arch/x86/mm/tlb.c)
 */
export function archTlbbatchFlush(mmu: Mmu, batch: TlbBatch): void {
  const cpu = initiatingCpu(mmu);
  mmu.nrFlushes[cpu]!++;
  const info = initFlushTlbInfo(mmu, null, 0, TLB_FLUSH_ALL, mmu.pageShift, false, TLB_GENERATION_INVALID, cpu);
  const mask = batch.cpumask;
  let other = false;
  for (let c = 0; c < mmu.nrCpus; c++) if (mask[c] !== 0 && c !== cpu) other = true;
  if (mmu.broadcastFlush && batch.unmappedPages) {
    // invlpgb_flush_all_nonglobals(): every CPU drops every non-global entry.
    mmu.nrBroadcastFlushes[cpu]!++;
    mmu.charge(cpu, mmu.evTlbBroadcastFlush, 1);
    for (let c = 0; c < mmu.nrCpus; c++) mmu.invalidateLocalAll(c, true);
    for (const mm of batch.spaces) markUpToDate(mmu, mm);
    batch.unmappedPages = false;
  } else if (other) {
    nativeFlushTlbMulti(mmu, mask, info);
  } else if (mask[cpu] !== 0) {
    flushTlbFunc(mmu, cpu, info, true);
  }
  mask.fill(0);
  for (const mm of batch.spaces) mm.nrDeferredFlushes--;
  batch.spaces.length = 0;
}
