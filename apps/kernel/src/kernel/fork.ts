/**
 * DOC: fork and exit of an address space: `dup_mmap()` and `exit_mmap()`.
 *
 * `dupMmap` copies the parent's VMAs in order (skipping VM_DONTCOPY),
 * clones each anon_vma chain with `anon_vma_fork()` (a VM_WIPEONFORK VMA
 * starts empty), links file VMAs into their i_mmap, and copies page tables
 * where `vma_needs_copy()` says so through `@mm/pgtable-arch`'s
 * `copy_page_range()`: private anonymous pages are write-protected in both
 * and shared through `folio_try_dup_anon_rmap_ptes()`, which fails for a
 * possibly pinned exclusive page, whose child copy is made at once. When an
 * allocation fails (failslab, fail_page_alloc) the child is torn down with
 * `exit_mmap()` over what was built, and -ENOMEM comes back with nothing
 * leaked.
 */
import {
  anonVmaFork,
  folioAddNewAnonRmap,
  folioDupFileRmapPtes,
  folioRefAdd,
  folioTestAnon,
  folioTryDupAnonRmapPmd,
  folioTryDupAnonRmapPtes,
  MM_ANONPAGES,
  pageAnonExclusive,
  RMAP_EXCLUSIVE,
} from '@mm/folio-rmap';
import { ENOMEM } from '@mm/machine';
import { mtreeDestroy } from '@mm/maple-tree';
import {
  type CopyOps,
  type CopyVma,
  copyPageRange,
  freePgtables,
  MmuGather,
  type PgtableVma,
  tlbFinishMmu,
  tlbGatherMmuFullmm,
  unmapPageRange,
} from '@mm/pgtable-arch';
import { getFile } from '../mm/file.js';
import type { MmStruct, VmAreaStruct } from '../mm/mm-types.js';
import { vmaMarkDetached } from '../mm/mm-types.js';
import { removeSharedVmStruct } from '../mm/unmap.js';
import { VM_ACCOUNT, VM_DONTCOPY, VM_LOCKED_MASK, VM_WIPEONFORK } from '../mm/vm-flags.js';
import { vmStatAccount } from '../mm/vm-stat.js';
import { removeVma, vmaLink, vmaLinkFileAfter, vmaList } from '../mm/vma.js';
import { vmAreaDup } from '../mm/vma-init.js';
import { isHugeZeroPfn, mmGetHugeZeroFolio } from './huge-memory.js';
import type { Kernel } from './kernel.js';
import { mmCounter } from './pt-ops.js';
import { rmapVma } from './rmap-anon-vma.js';

/** The copy callbacks of fork. */
class ForkCopyOps implements CopyOps {
  readonly k: Kernel;

  constructor(k: Kernel) {
    this.k = k;
  }

  normalFolio(vma: CopyVma, addr: number, pfn: number, special: boolean): number {
    return this.k.ptOps.normalFolio(vma, addr, pfn, special);
  }
  folioNrPages(head: number): number {
    return this.k.ptOps.folioNrPages(head);
  }
  folioAnon(head: number): boolean {
    return this.k.ptOps.folioAnon(head);
  }
  dupFolioPtes(dst: CopyVma, src: CopyVma, head: number, pfn: number, nr: number): boolean {
    const d = dst.owner as VmAreaStruct;
    const s = src.owner as VmAreaStruct;
    const rm = this.k.rm;
    // folio_test_anon() once: it also picks the RSS counter (mm_counter()).
    let counter = MM_ANONPAGES;
    if (folioTestAnon(rm, head)) {
      if (folioTryDupAnonRmapPtes(rm, head, pfn, nr, rmapVma(d), rmapVma(s)) !== 0) return false;
    } else {
      folioDupFileRmapPtes(rm, head, pfn, nr, rmapVma(d));
      counter = mmCounter(rm, head, d);
    }
    folioRefAdd(rm, head, nr);
    d.vmMm.rssStat[counter]! += nr;
    return true;
  }
  dupFolioPmd(dst: CopyVma, src: CopyVma, head: number): boolean {
    const d = dst.owner as VmAreaStruct;
    const s = src.owner as VmAreaStruct;
    const rm = this.k.rm;
    if (folioTryDupAnonRmapPmd(rm, head, head, rmapVma(d), rmapVma(s)) !== 0) return false;
    folioRefAdd(rm, head, this.k.hpageNr);
    d.vmMm.rssStat[MM_ANONPAGES]! += this.k.hpageNr;
    return true;
  }
  isHugeZeroPfn(pfn: number): boolean {
    return isHugeZeroPfn(this.k, pfn);
  }
  getHugeZeroFolio(dst: CopyVma): void {
    mmGetHugeZeroFolio(this.k, (dst.owner as VmAreaStruct).vmMm);
  }
  preallocFolio(_src: CopyVma, _addr: number): number {
    const f = this.k.allocFolio(0);
    return f < 0 ? -1 : f;
  }
  copyPresentPage(dst: CopyVma, _src: CopyVma, addr: number, srcPfn: number, newPfn: number): number {
    const d = dst.owner as VmAreaStruct;
    this.k.setToken(newPfn, this.k.token(srcPfn));
    folioAddNewAnonRmap(this.k.rm, newPfn, rmapVma(d), addr, RMAP_EXCLUSIVE);
    d.vmMm.rssStat[MM_ANONPAGES]!++;
    this.k.vmEvent('fork_pinned_copy');
    return 0;
  }
  putPrealloc(pfn: number): void {
    this.k.putFolio(pfn, 1);
  }
  swapDup(): number {
    return 0;
  }
  swapRetryTableAlloc(): number {
    return 0;
  }
  dupPfnEntry(): void {
    /* no migration or device-private entries in this model */
  }
  restoreExclusive(src: CopyVma, _addr: number, pfn: number): -1 | 0 | 1 {
    // the restored entry may be writable when the page is exclusive and the VMA writable
    return (src.owner as VmAreaStruct).write && pageAnonExclusive(this.k.rm, pfn) ? 1 : 0;
  }
}

const copyOpsOf = new WeakMap<Kernel, ForkCopyOps>();

/**
 * Copy `oldmm`'s address space into the empty `mm`.
 * @returns 0 or -ENOMEM (the child is then emptied: call {@link exitMmap}).
 * @kernel dup_mmap (mm/mmap.c)
 */
export function dupMmap(k: Kernel, mm: MmStruct, oldmm: MmStruct): number {
  let ops = copyOpsOf.get(k);
  if (ops === undefined) {
    ops = new ForkCopyOps(k);
    copyOpsOf.set(k, ops);
  }
  // the layout fields (dup_mm copies the whole struct)
  mm.totalVm = oldmm.totalVm;
  mm.dataVm = oldmm.dataVm;
  mm.execVm = oldmm.execVm;
  mm.stackVm = oldmm.stackVm;
  mm.hiwaterVm = oldmm.hiwaterVm;
  mm.defFlags = oldmm.defFlags;
  mm.mmapBase = oldmm.mmapBase;
  mm.mmapLegacyBase = oldmm.mmapLegacyBase;
  mm.topdown = oldmm.topdown;
  mm.hasMdwe = oldmm.hasMdwe;
  mm.startCode = oldmm.startCode;
  mm.endCode = oldmm.endCode;
  mm.startData = oldmm.startData;
  mm.endData = oldmm.endData;
  mm.startBrk = oldmm.startBrk;
  mm.brk = oldmm.brk;
  mm.startStack = oldmm.startStack;
  mm.argStart = oldmm.argStart;
  mm.argEnd = oldmm.argEnd;
  mm.envStart = oldmm.envStart;
  mm.envEnd = oldmm.envEnd;
  mm.personality = oldmm.personality;
  // mm->locked_vm is not inherited (VM_LOCKED is cleared below)
  mm.lockedVm = 0;
  let retval = 0;
  let charged = 0;
  for (const mpnt of vmaList(oldmm)) {
    if ((mpnt.vmFlags & VM_DONTCOPY) !== 0) {
      vmStatAccount(mm, mpnt.vmFlags, -(mpnt.vmEnd - mpnt.vmStart) / k.pageSize);
      continue;
    }
    if ((mpnt.vmFlags & VM_ACCOUNT) !== 0) {
      const len = (mpnt.vmEnd - mpnt.vmStart) / k.pageSize;
      k.ctx.vmAcctMemory(len);
      charged += len;
    }
    const tmp = vmAreaDup(mpnt);
    if (tmp === null) {
      retval = -ENOMEM;
      break;
    }
    tmp.vmMm = mm;
    tmp.vmFlags &= ~VM_LOCKED_MASK;
    tmp.vmLockSeq = 0xffffffff;
    tmp.anonVma = null;
    let r = 0;
    if ((tmp.vmFlags & VM_WIPEONFORK) === 0 && mpnt.anonVma !== null)
      r = anonVmaFork(k.rm, rmapVma(tmp), rmapVma(mpnt));
    if (r !== 0) {
      freeDetached(tmp);
      retval = -ENOMEM;
      break;
    }
    if (tmp.vmFile !== null) getFile(tmp.vmFile);
    if (vmaLink(mm, tmp, false) !== 0) {
      // the VMA never made it into the tree: undo what was set up for it
      if (tmp.anonVma !== null || tmp.anonVmaChain.length > 0) k.ctx.anon.unlinkAnonVmas(tmp);
      vmaMarkDetached(tmp);
      removeVma(tmp);
      retval = -ENOMEM;
      break;
    }
    if (tmp.vmOps?.open !== undefined) tmp.vmOps.open(tmp);
    // the child's VMA goes into the file's i_mmap just after the parent's
    vmaLinkFileAfter(tmp, mpnt);
    if ((tmp.vmFlags & VM_WIPEONFORK) === 0) {
      const c = copyPageRange(tmp, mpnt, ops);
      if (c !== 0) {
        retval = c;
        break;
      }
    }
  }
  // flush the parent's TLB for the write-protected entries (flush_tlb_mm)
  k.machine.mmu.flushTlbMm((oldmm.pgt as NonNullable<MmStruct['pgt']>).as);
  if (retval !== 0) {
    void charged;
    return retval;
  }
  return 0;
}

function freeDetached(vma: VmAreaStruct): void {
  vmaMarkDetached(vma);
  removeVmaNoFile(vma);
}

function removeVmaNoFile(vma: VmAreaStruct): void {
  // the file reference was not taken yet
  const f = vma.vmFile;
  if (f !== null) f.fCount++;
  removeVma(vma);
}

/**
 * Tear down every mapping of `mm`: unmap all VMAs through one full-mm
 * gather, free the page tables, unlink and free the VMAs, uncharge
 * accounted memory, and free the page tables' root and the mm.
 * @kernel exit_mmap (mm/mmap.c)
 */
export function exitMmap(k: Kernel, mm: MmStruct): void {
  const pgt = mm.pgt;
  if (pgt === null) return;
  const vmas = vmaList(mm);
  const tlb = new MmuGather(k.pt, k.ptOps);
  tlbGatherMmuFullmm(tlb, pgt);
  for (const vma of vmas) {
    if (vma.vmEnd > vma.vmStart) unmapPageRange(tlb, vma, vma.vmStart, vma.vmEnd, { dropMarkers: true }, k.ptOps);
  }
  // free_pgtables() over every VMA, then the anon_vma and file links go
  freePgtables(tlb, vmas as readonly PgtableVma[], 0, 0, true);
  tlbFinishMmu(tlb);
  let nrAccounted = 0;
  for (const vma of vmas) {
    if ((vma.vmFlags & VM_ACCOUNT) !== 0) nrAccounted += (vma.vmEnd - vma.vmStart) / k.pageSize;
    if (vma.anonVma !== null || vma.anonVmaChain.length > 0) k.ctx.anon.unlinkAnonVmas(vma);
    if (vma.vmFile !== null) removeSharedVmStruct(vma, vma.vmFile.fMapping);
    vmaMarkDetached(vma);
    removeVma(vma);
    mm.mapCount--;
  }
  k.ctx.vmUnacctMemory(nrAccounted);
  mtreeDestroy(mm.mmMt);
  mm.totalVm = 0;
  mm.lockedVm = 0;
  mm.dataVm = 0;
  mm.execVm = 0;
  mm.stackVm = 0;
}
