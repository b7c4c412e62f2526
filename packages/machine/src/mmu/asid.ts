/**
 * DOC: ASID allocation: which tag an address space's TLB entries carry.
 *
 * Two schemes, chosen by architecture:
 * - x86 PCIDs (x86-64 with `asidBits` >= 4): each CPU keeps dynamic slots
 *   (tags 1..{@link TLB_NR_DYN_ASIDS}) for the last address spaces it ran;
 *   switching to another takes the next slot round-robin and flushes it
 *   (`choose_new_asid`). An address space flushed by broadcast (INVLPGB)
 *   gets a global ASID above the dynamic ones, the same on every CPU
 *   (`allocate_global_asid`).
 * - arm64-style generations (every other architecture, and x86 with fewer
 *   bits): one machine-wide allocator; when ASIDs run out the generation
 *   rolls over, the ASIDs active on CPUs are kept and every CPU flushes at
 *   its next switch (`new_context`, `flush_context`).
 *
 * The allocator state lives in the {@link Mmu} (its `@internal` fields); the
 * functions here are the allocators' steps.
 */
import { MmBugError } from '../errors.js';
import type { AddressSpace } from './address-space.js';
import type { Mmu } from './mmu.js';

/**
 * Per-CPU dynamic ASID slots of x86: each CPU keeps the PCIDs of the last
 * six address spaces it ran.
 * @kernel TLB_NR_DYN_ASIDS (arch/x86/include/asm/tlbflush.h)
 */
export const TLB_NR_DYN_ASIDS = 6;

/**
 * x86 switch: an address space with a global ASID uses it (always up to
 * date); otherwise mmu CPU's dynamic slot for it, flushed if the CPU
 * missed flushes of it, or the next slot round-robin, flushed.
 * @kernel choose_new_asid (arch/x86/mm/tlb.c)
 */
export function switchMmDynamic(mmu: Mmu, cpu: number, next: AddressSpace): void {
  const base = cpu * TLB_NR_DYN_ASIDS;
  let tag = 0;
  let slot = -1;
  let needFlush = false;
  if (next === mmu.initMm) {
    tag = 0;
  } else if (next.broadcast) {
    tag = next.asid;
  } else {
    for (let k = 0; k < mmu.nrDynAsids; k++) {
      if (mmu.ctxAs[base + k] === next) {
        slot = k;
        break;
      }
    }
    if (slot >= 0) {
      needFlush = mmu.ctxTlbGen[base + slot]! < next.tlbGen;
    } else {
      slot = mmu.nextDynAsid[cpu]!;
      mmu.nextDynAsid[cpu] = slot + 1;
      if (slot >= mmu.nrDynAsids) {
        slot = 0;
        mmu.nextDynAsid[cpu] = 1;
      }
      mmu.ctxAs[base + slot] = next;
      needFlush = true;
    }
    tag = slot + 1;
  }
  if (needFlush) mmu.flushCpuAsid(cpu, tag);
  if (slot >= 0) mmu.ctxTlbGen[base + slot] = next.tlbGen;
  next.cpumask[cpu] = 1;
  mmu.loadedAs[cpu] = next;
  mmu.loadedAsid[cpu] = tag;
  mmu.isLazy[cpu] = 0;
}

/**
 * The `tlb_gen` the TLB of `cpu` is up to date with for the
 * address space it has loaded.
 */
export function localTlbGen(mmu: Mmu, cpu: number): number {
  const as = mmu.loadedAs[cpu]!;
  if (!mmu.dynamicAsids) return as.cpuTlbGen[cpu]!;
  const tag = mmu.loadedAsid[cpu]!;
  if (tag >= 1 && tag <= TLB_NR_DYN_ASIDS) return mmu.ctxTlbGen[cpu * TLB_NR_DYN_ASIDS + tag - 1]!;
  return as.tlbGen;
}

/** Record that `cpu` caught up with `gen` for its loaded address space. */
export function setLocalTlbGen(mmu: Mmu, cpu: number, gen: number): void {
  if (!mmu.dynamicAsids) {
    mmu.loadedAs[cpu]!.cpuTlbGen[cpu] = gen;
    return;
  }
  const tag = mmu.loadedAsid[cpu]!;
  if (tag >= 1 && tag <= TLB_NR_DYN_ASIDS) mmu.ctxTlbGen[cpu * TLB_NR_DYN_ASIDS + tag - 1] = gen;
}

/** Every CPU's TLB now holds nothing stale of `as` (after a broadcast invalidation). */
export function markUpToDate(mmu: Mmu, as: AddressSpace): void {
  as.cpuTlbGen.fill(as.tlbGen);
  if (!mmu.dynamicAsids) return;
  for (let i = 0; i < mmu.ctxAs.length; i++) if (mmu.ctxAs[i] === as) mmu.ctxTlbGen[i] = as.tlbGen;
}

/** The tag `as`'s entries carry on `cpu`, or -1 when it has none there. */
export function tagOn(mmu: Mmu, cpu: number, as: AddressSpace): number {
  if (!mmu.dynamicAsids || as === mmu.initMm) return as === mmu.initMm ? 0 : as.asid;
  if (as.broadcast) return as.asid;
  const base = cpu * TLB_NR_DYN_ASIDS;
  for (let k = 0; k < TLB_NR_DYN_ASIDS; k++) if (mmu.ctxAs[base + k] === as) return k + 1;
  return -1;
}

/**
 * A global ASID (x86, for broadcast flushing), flushed on every
 * CPU so that it holds nothing stale, or -1 when none is free.
 * @kernel allocate_global_asid (arch/x86/mm/tlb.c)
 */
export function allocGlobalAsid(mmu: Mmu): number {
  for (let a = TLB_NR_DYN_ASIDS + 1; a < mmu.nrAsids; a++) {
    if (mmu.globalAsidUsed[a] !== 0) continue;
    mmu.globalAsidUsed[a] = 1;
    for (let c = 0; c < mmu.nrCpus; c++) mmu.invalidateLocalAsid(c, a);
    return a;
  }
  return -1;
}

/**
 * Give `as` an ASID of the current generation: keep its number if a CPU
 * had it active at the last rollover, else take a free one, rolling the
 * generation over when none is left.
 * @kernel new_context (arch/arm64/mm/context.c)
 */
export function newContext(mmu: Mmu, as: AddressSpace): void {
  if (as.asidGeneration >= 0) {
    for (let c = 0; c < mmu.nrCpus; c++) {
      if (mmu.reservedAs[c] === as) {
        as.asidGeneration = mmu.asidGeneration;
        return;
      }
    }
  }
  let asid = findFreeAsid(mmu);
  if (asid < 0) {
    mmu.asidGeneration++;
    flushContext(mmu);
    asid = findFreeAsid(mmu);
    if (asid < 0) throw new MmBugError('mmu: no free ASID right after a rollover');
  }
  mmu.asidMap[asid] = 1;
  mmu.nextAsidHint = asid + 1;
  as.asid = asid;
  as.asidGeneration = mmu.asidGeneration;
  // No CPU holds entries of mmu address space under its new ASID.
  as.cpumask.fill(0);
  as.cpuTlbGen.fill(as.tlbGen);
}

/**
 * A free ASID of the global allocator, searching from the last one handed
 * out and wrapping; -1 when none is free (the caller rolls the generation).
 * @kernel new_context (arch/arm64/mm/context.c), the bitmap search
 */
export function findFreeAsid(mmu: Mmu): number {
  for (let a = mmu.nextAsidHint; a < mmu.nrAsids; a++) if (mmu.asidMap[a] === 0) return a;
  for (let a = 1; a < mmu.nextAsidHint && a < mmu.nrAsids; a++) if (mmu.asidMap[a] === 0) return a;
  return -1;
}

/**
 * Start a new ASID generation: only the ASIDs active on a CPU (or reserved
 * by one that has not switched since) stay taken, and every CPU owes a
 * full flush before its next switch completes.
 * @kernel flush_context (arch/arm64/mm/context.c)
 */
export function flushContext(mmu: Mmu): void {
  mmu.asidMap.fill(0);
  mmu.asidMap[0] = 1;
  for (let c = 0; c < mmu.nrCpus; c++) {
    const active = mmu.activeAs[c] ?? null;
    if (active !== null) mmu.reservedAs[c] = active;
    mmu.activeAs[c] = null;
    const r = mmu.reservedAs[c] ?? null;
    if (r !== null && !r.dead) mmu.asidMap[r.asid] = 1;
    mmu.tlbFlushPending[c] = 1;
  }
  mmu.nextAsidHint = 1;
  mmu.initMm.asidGeneration = mmu.asidGeneration;
}
