/**
 * DOC: the mprotect system call (mm/mprotect.c: `do_mprotect_pkey()`,
 * `mprotect_fixup()`).
 *
 * The range must be mapped from its start without holes (-ENOMEM otherwise,
 * after the VMAs before the hole changed, as in the kernel). Per VMA the new
 * flags are the requested R/W/X plus the VMA's other flags; asking for more
 * than the `VM_MAY*` bits allow is -EACCES, and under MDWE a new
 * writable-executable or newly executable mapping too. `mprotect_fixup()`
 * charges the commit when a private mapping first becomes writable (and sets
 * VM_ACCOUNT, checking RLIMIT_DATA), gives it back when an anonymous mapping
 * that never faulted stops being writable, merges or splits through
 * `vma_modify_flags()`, sets the flags and page protection, changes the
 * PTEs (page-table seam), populates a locked private mapping that became
 * writable, and moves the VM counters between the old and new kinds.
 */
import { EACCES, EINVAL, ENOMEM, EPERM } from '@mm/machine';
import { type MmStruct, READ_IMPLIES_EXEC, type VmAreaStruct, vmaIsAnonymous, vmaStartWrite } from './mm-types.js';
import { archValidateProt, calcVmProtBits, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ } from './mman.js';
import { mmapWriteLockKillable, mmapWriteUnlock } from './mmap-lock.js';
import { securityVmEnoughMemoryMm } from './overcommit.js';
import { MM_CP_TRY_CHANGE_WRITABLE, type MmuGather } from './pgtable-ops.js';
import {
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_NORESERVE,
  VM_PKEY_FLAGS,
  VM_SHARED,
  VM_WRITE,
  vmFlagsAny,
  vmFlagsClear,
  vmFlagsSet,
} from './vm-flags.js';
import { mayExpandVm, vmStatAccount } from './vm-stat.js';
import { vmaModifyFlags, vmaSetPageProt, vmaWantsManualPteWriteUpgrade } from './vma.js';
import { VmaIterator, vmaFind, vmaIterEnd, vmaPrev } from './vma-iter.js';
import { vmaIsSealed } from './vma-munmap.js';

/**
 * Under MDWE, deny a new writable-and-executable mapping, or a mapping
 * becoming executable.
 * @returns true to deny.
 * @kernel map_deny_write_exec (mm/vma.h)
 */
export function mapDenyWriteExec(mm: MmStruct, oldFlags: number, newFlags: number): boolean {
  if (!mm.hasMdwe) return false;
  if (!(newFlags & VM_EXEC)) return false;
  if (newFlags & VM_WRITE) return true;
  if (!(oldFlags & VM_EXEC)) return true;
  return false;
}

/**
 * Change `[start, end)` of `vma` to `newflags`: account, merge or split, set
 * the flags, change the PTEs. `pprev.prev` becomes the VMA now covering the range.
 * @returns 0, or -EPERM (sealed), -ENOMEM (limits, commit, allocation, map count).
 * @remarks Context: mmap lock held for writing.
 * @kernel mprotect_fixup (mm/mprotect.c)
 */
export function mprotectFixup(
  vmi: VmaIterator,
  tlb: MmuGather,
  vmaIn: VmAreaStruct,
  pprev: { prev: VmAreaStruct | null },
  start: number,
  end: number,
  newflagsIn: number,
): number {
  const mm = vmaIn.vmMm;
  const ctx = mm.ctx;
  const oldFlags = vmaIn.vmFlags;
  let newFlags = newflagsIn;
  const nrpages = (end - start) / ctx.pageSize;
  let charged = 0;
  if (vmaIsSealed(vmaIn)) return -EPERM;
  if (oldFlags === newFlags) {
    pprev.prev = vmaIn;
    return 0;
  }
  // a private mapping made writable increases the commit; only an anonymous
  // one that never faulted gives it back when it stops being writable
  if (newFlags & VM_WRITE) {
    // check space limits when the area turns into data
    if (!mayExpandVm(mm, newFlags, nrpages) && mayExpandVm(mm, oldFlags, nrpages)) return -ENOMEM;
    if (!vmFlagsAny(oldFlags, VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE)) {
      charged = nrpages;
      if (securityVmEnoughMemoryMm(mm, charged) !== 0) return -ENOMEM;
      newFlags = vmFlagsSet(newFlags, VM_ACCOUNT);
    }
  } else if (oldFlags & VM_ACCOUNT && vmaIsAnonymous(vmaIn) && vmaIn.anonVma === null) {
    newFlags = vmFlagsClear(newFlags, VM_ACCOUNT);
  }
  const nf = { value: newFlags };
  const r = vmaModifyFlags(vmi, pprev.prev, vmaIn, start, end, nf);
  if (typeof r === 'number') {
    ctx.vmUnacctMemory(charged);
    return r;
  }
  newFlags = nf.value;
  const vma = r;
  pprev.prev = vma;
  vmaStartWrite(vma);
  vma.vmFlags = newFlags;
  let cpFlags = 0;
  if (vmaWantsManualPteWriteUpgrade(vma)) cpFlags |= MM_CP_TRY_CHANGE_WRITABLE;
  vmaSetPageProt(vma);
  ctx.pt.changeProtection(tlb, vma, start, end, cpFlags);
  if (oldFlags & VM_ACCOUNT && !(newFlags & VM_ACCOUNT)) ctx.vmUnacctMemory(nrpages);
  // a private locked VMA becoming writable: break CoW now rather than on access
  if (newFlags & VM_WRITE && oldFlags & VM_LOCKED && !(oldFlags & (VM_WRITE | VM_SHARED)))
    ctx.pt.populateVmaPageRange(vma, start, end);
  vmStatAccount(mm, oldFlags, -nrpages);
  vmStatAccount(mm, newFlags, nrpages);
  return 0;
}

/**
 * The mprotect system call.
 * @returns 0, or -EINVAL (arguments), -ENOMEM (unmapped parts, limits,
 * commit), -EACCES (beyond VM_MAY*, MDWE), -EPERM (sealed); the VMAs before
 * the failing one keep their new protection.
 * @kernel do_mprotect_pkey (mm/mprotect.c)
 */
export function sysMprotect(mm: MmStruct, startIn: number, lenIn: number, protIn: number): number {
  const ctx = mm.ctx;
  const page = ctx.pageSize;
  let start = startIn;
  let prot = protIn;
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  const rier = (mm.personality & READ_IMPLIES_EXEC) !== 0 && (prot & PROT_READ) !== 0;
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (start % page !== 0) return -EINVAL;
  if (lenIn === 0) return 0;
  const len = Math.ceil(lenIn / page) * page;
  const end = start + len;
  if (end <= start || end > 2 ** 64) return -ENOMEM;
  if (!archValidateProt(prot)) return -EINVAL;
  const reqprot = prot;
  const locked = mmapWriteLockKillable(mm);
  if (locked !== 0) return locked;
  const out = (err: number): number => {
    mmapWriteUnlock(mm);
    return err;
  };
  const vmi = new VmaIterator(mm, start);
  let vma = vmaFind(vmi, end);
  if (vma === null) return out(-ENOMEM);
  if (grows & PROT_GROWSDOWN) {
    if (vma.vmStart >= end) return out(-ENOMEM);
    start = vma.vmStart;
    if (!(vma.vmFlags & VM_GROWSDOWN)) return out(-EINVAL);
  } else {
    if (vma.vmStart > start) return out(-ENOMEM);
    // PROT_GROWSUP: no VM_GROWSUP stacks on the architectures modelled
    if (grows & PROT_GROWSUP) return out(-EINVAL);
  }
  const pprev: { prev: VmAreaStruct | null } = { prev: vmaPrev(vmi) };
  if (start > vma.vmStart) pprev.prev = vma;
  const tlb = ctx.pt.tlbGatherMmu(mm);
  let nstart = start;
  let tmp = vma.vmStart;
  let error = 0;
  for (vma = vmaFind(vmi, end); vma !== null; vma = vmaFind(vmi, end)) {
    if (vma.vmStart !== tmp) {
      error = -ENOMEM;
      break;
    }
    // does the application expect PROT_READ to imply PROT_EXEC?
    if (rier && vma.vmFlags & VM_MAYEXEC) prot |= PROT_EXEC;
    // every mprotect passes R/W/X explicitly: what is not asked for goes
    const newflags = vmFlagsSet(calcVmProtBits(prot), vmFlagsClear(vma.vmFlags, VM_ACCESS_FLAGS + VM_PKEY_FLAGS));
    // newflags >> 4 puts VM_MAY* in place of VM_*
    const lo = newflags >>> 0;
    if (lo & ~(lo >>> 4) & VM_ACCESS_FLAGS) {
      error = -EACCES;
      break;
    }
    if (mapDenyWriteExec(mm, vma.vmFlags, newflags)) {
      error = -EACCES;
      break;
    }
    tmp = Math.min(vma.vmEnd, end);
    if (vma.vmOps?.mprotect !== undefined) {
      error = vma.vmOps.mprotect(vma, nstart, tmp, newflags);
      if (error !== 0) break;
    }
    error = mprotectFixup(vmi, tlb, vma, pprev, nstart, tmp, newflags);
    if (error !== 0) break;
    tmp = vmaIterEnd(vmi);
    nstart = tmp;
    prot = reqprot;
  }
  ctx.pt.tlbFinishMmu(tlb);
  if (error === 0 && tmp < end) error = -ENOMEM;
  return out(error);
}
