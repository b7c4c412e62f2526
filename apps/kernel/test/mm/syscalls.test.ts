import { EACCES, EAGAIN, EBADF, EINVAL, ENOMEM, EPERM } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import { createTmpfsFile, FMODE_READ } from '../../src/mm/file.js';
import { madviseSetAnonName, sysMadvise } from '../../src/mm/madvise.js';
import { sysMlock, sysMlock2, sysMlockall, sysMunlock, sysMunlockall } from '../../src/mm/mlock.js';
import {
  MADV_COLD,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MAP_SHARED,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MLOCK_ONFAULT,
  PROT_EXEC,
  PROT_GROWSDOWN,
  PROT_GROWSUP,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/mm/mman.js';
import { sysBrk, sysMmap } from '../../src/mm/mmap.js';
import { sysMprotect } from '../../src/mm/mprotect.js';
import {
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_MAYBE_GUARD,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_READ,
  VM_SEALED,
  VM_SEQ_READ,
  VM_WIPEONFORK,
  VM_WRITE,
  vmFlagsAny,
  vmFlagsSet,
} from '../../src/mm/vm-flags.js';
import { vmaList } from '../../src/mm/vma.js';
import { vmMunmap } from '../../src/mm/vma-munmap.js';
import { checkMm, makeMm, PAGE, ranges, vmaAt } from './helpers.js';

const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const RW = PROT_READ | PROT_WRITE;

describe('munmap', () => {
  //  0123456789abcdef
  //  AAAAAAAAAAAAAAAA    munmap(4, 4) → AAAA    AAAAAAAA
  it('unmaps any sub-range, splitting the VMA, and frees page tables between the neighbours', () => {
    const t = makeMm();
    const { mm, pt, ctx } = t;
    const a = sysMmap(mm, 0, 16 * PAGE, RW, ANON);
    pt.clear();
    expect(vmMunmap(mm, a + 4 * PAGE, 4 * PAGE)).toBe(0);
    expect(ranges(mm)).toEqual([
      [a / PAGE, a / PAGE + 4],
      [a / PAGE + 8, a / PAGE + 16],
    ]);
    expect(ctx.vmMemoryCommitted()).toBe(12);
    expect(mm.totalVm).toBe(12);
    expect(vmaAt(mm, a + 8 * PAGE).vmPgoff).toBe(a / PAGE + 8);
    const fr = pt.callsOf('free_pgd_range');
    expect(fr.map((c) => c.args)).toEqual([[a + 4 * PAGE, a + 8 * PAGE, a + 4 * PAGE, a + 8 * PAGE]]);
    // the munmap syscall downgrades: free_pgtables runs without the write lock (seed 003)
    expect(pt.callsOf('zap_vma_range')).toHaveLength(1);
    checkMm(t);
  });

  it('unmaps across VMAs and holes; an empty range is a no-op', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    const b = sysMmap(mm, a - 8 * PAGE, 2 * PAGE, PROT_READ, ANON);
    expect(b).toBe(a - 8 * PAGE);
    expect(vmMunmap(mm, b + PAGE, 9 * PAGE)).toBe(0);
    expect(ranges(mm)).toEqual([
      [b / PAGE, b / PAGE + 1],
      [a / PAGE + 2, a / PAGE + 4],
    ]);
    expect(vmMunmap(mm, 0x100000, PAGE)).toBe(0);
    checkMm(t);
  });

  it.each([
    ['an unaligned start', 0x10001, PAGE],
    ['length 0', 0x10000, 0],
    ['past TASK_SIZE', 2 ** 47, PAGE],
  ])('refuses %s with EINVAL', (_n, start, len) => {
    const t = makeMm();
    expect(vmMunmap(t.mm, start, len)).toBe(-EINVAL);
    checkMm(t);
  });

  it('refuses a split at both ends at vm.max_map_count (ENOMEM), nothing changed', () => {
    const t = makeMm({ maxMapCount: 2 });
    const { mm } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON);
    sysMmap(mm, 0, PAGE, PROT_READ, ANON);
    expect(vmMunmap(mm, a + 2 * PAGE, 2 * PAGE)).toBe(-ENOMEM);
    expect(mm.mapCount).toBe(2);
    // one end only: allowed at the limit
    expect(vmMunmap(mm, a, 2 * PAGE)).toBe(0);
    checkMm(t);
  });

  it('refuses to unmap a sealed VMA with EPERM', () => {
    const t = makeMm();
    const a = sysMmap(t.mm, 0, 4 * PAGE, RW, ANON);
    const v = vmaAt(t.mm, a);
    v.vmFlags = vmFlagsSet(v.vmFlags, VM_SEALED);
    expect(vmMunmap(t.mm, a, PAGE)).toBe(-EPERM);
    expect(vmMunmap(t.mm, a + PAGE, PAGE)).toBe(-EPERM);
    expect(ranges(t.mm)).toEqual([[a / PAGE, a / PAGE + 4]]);
    checkMm(t);
  });
});

describe('mprotect', () => {
  it('splits and merges: the middle of a VMA, then back', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON);
    expect(sysMprotect(mm, a + 2 * PAGE, 2 * PAGE, PROT_READ)).toBe(0);
    expect(ranges(mm)).toHaveLength(3);
    expect(vmaAt(mm, a + 2 * PAGE).vmFlags & (VM_READ | VM_WRITE)).toBe(VM_READ);
    expect(sysMprotect(mm, a + 2 * PAGE, 2 * PAGE, RW)).toBe(0);
    expect(ranges(mm)).toEqual([[a / PAGE, a / PAGE + 8]]);
    checkMm(t);
  });

  it('charges the commit when a private mapping first becomes writable and returns it for unfaulted anonymous memory', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, PROT_READ, ANON);
    expect(ctx.vmMemoryCommitted()).toBe(0);
    expect(sysMprotect(mm, a, 4 * PAGE, RW)).toBe(0);
    expect(ctx.vmMemoryCommitted()).toBe(4);
    expect(vmaAt(mm, a).vmFlags & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect(sysMprotect(mm, a, 2 * PAGE, PROT_READ)).toBe(0);
    // no anon_vma yet: the read-only part gives its charge back
    expect(ctx.vmMemoryCommitted()).toBe(2);
    expect(vmaAt(mm, a).vmFlags & VM_ACCOUNT).toBe(0);
    // moves data_vm
    expect(mm.dataVm).toBe(2);
    checkMm(t);
  });

  it('a hole stops it with ENOMEM after the VMAs before it changed', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    const b = sysMmap(mm, a - 8 * PAGE, 4 * PAGE, RW, ANON);
    expect(sysMprotect(mm, b, 12 * PAGE, PROT_READ)).toBe(-ENOMEM);
    expect(vmaAt(mm, b).vmFlags & VM_WRITE).toBe(0);
    expect(vmaAt(mm, a).vmFlags & VM_WRITE).toBe(VM_WRITE);
    expect(sysMprotect(mm, b - 4 * PAGE, PAGE, PROT_READ)).toBe(-ENOMEM);
    checkMm(t);
  });

  it('refuses more than VM_MAY* allows (EACCES) and bad arguments (EINVAL); len 0 is 0', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const f = createTmpfsFile(ctx, '/ro', 1 << 20, FMODE_READ);
    const a = sysMmap(mm, 0, 2 * PAGE, PROT_READ, MAP_SHARED, f);
    expect(sysMprotect(mm, a, PAGE, RW)).toBe(-EACCES);
    expect(sysMprotect(mm, a + 1, PAGE, PROT_READ)).toBe(-EINVAL);
    expect(sysMprotect(mm, a, PAGE, 0x10)).toBe(-EINVAL);
    expect(sysMprotect(mm, a, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP)).toBe(-EINVAL);
    expect(sysMprotect(mm, a, 0, RW)).toBe(0);
    // PROT_GROWSDOWN on a VMA that does not grow down
    expect(sysMprotect(mm, a, PAGE, PROT_READ | PROT_GROWSDOWN)).toBe(-EINVAL);
    checkMm(t);
  });

  it('PROT_GROWSDOWN extends the change to the start of a stack VMA', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON | MAP_GROWSDOWN);
    expect(sysMprotect(mm, a + 6 * PAGE, PAGE, PROT_READ | PROT_GROWSDOWN)).toBe(0);
    expect(ranges(mm)).toEqual([
      [a / PAGE, a / PAGE + 7],
      [a / PAGE + 7, a / PAGE + 8],
    ]);
    expect(vmaAt(mm, a).vmFlags & VM_WRITE).toBe(0);
    checkMm(t);
  });

  it('under MDWE refuses writable-executable and newly executable mappings', () => {
    const t = makeMm();
    const { mm } = t;
    mm.hasMdwe = true;
    expect(sysMmap(mm, 0, PAGE, RW | PROT_EXEC, ANON)).toBe(-EACCES);
    const a = sysMmap(mm, 0, PAGE, RW, ANON);
    expect(sysMprotect(mm, a, PAGE, PROT_READ | PROT_EXEC)).toBe(-EACCES);
    const b = sysMmap(mm, 0, PAGE, PROT_READ | PROT_EXEC, ANON);
    expect(sysMprotect(mm, b, PAGE, PROT_READ | PROT_EXEC)).toBe(0);
    checkMm(t);
  });

  it('changes protection through the seam with the try-writable hint for private writable VMAs', () => {
    const t = makeMm();
    const a = sysMmap(t.mm, 0, 2 * PAGE, PROT_READ, ANON);
    t.pt.clear();
    expect(sysMprotect(t.mm, a, 2 * PAGE, RW)).toBe(0);
    expect(t.pt.callsOf('change_protection').map((c) => c.args)).toEqual([[a, a + 2 * PAGE, 1]]);
    checkMm(t);
  });
});

describe('mlock', () => {
  it('locks and unlocks ranges, counting locked_vm, splitting and merging', () => {
    const t = makeMm();
    const { mm, pt } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON);
    expect(sysMlock(mm, a + PAGE + 100, PAGE)).toBe(0);
    // the range grows to whole pages: [a + PAGE, a + 3 PAGE)
    expect(mm.lockedVm).toBe(2);
    expect(vmaAt(mm, a + PAGE).vmFlags & VM_LOCKED).toBe(VM_LOCKED);
    expect(ranges(mm)).toHaveLength(3);
    expect(pt.callsOf('mlock_vma_pages_range')).toHaveLength(1);
    expect(pt.callsOf('populate_vma_page_range').map((c) => c.args)).toEqual([[a + PAGE, a + 3 * PAGE]]);
    expect(sysMunlock(mm, a, 8 * PAGE)).toBe(0);
    expect(mm.lockedVm).toBe(0);
    expect(ranges(mm)).toEqual([[a / PAGE, a / PAGE + 8]]);
    checkMm(t);
  });

  it('refuses without RLIMIT_MEMLOCK (EPERM) and over it (ENOMEM), CAP_IPC_LOCK passes; holes are ENOMEM', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON);
    mm.rlim.memlock.cur = 0;
    expect(sysMlock(mm, a, PAGE)).toBe(-EPERM);
    mm.rlim.memlock.cur = 4 * PAGE;
    expect(sysMlock(mm, a, 5 * PAGE)).toBe(-ENOMEM);
    expect(sysMlock(mm, a, 4 * PAGE)).toBe(0);
    // already locked pages do not count twice
    expect(sysMlock(mm, a, 4 * PAGE)).toBe(0);
    mm.capIpcLock = true;
    expect(sysMlock(mm, a, 8 * PAGE)).toBe(0);
    expect(mm.lockedVm).toBe(8);
    expect(sysMlock(mm, a + 7 * PAGE, 4 * PAGE)).toBe(-ENOMEM);
    expect(sysMlock2(mm, a, PAGE, 8)).toBe(-EINVAL);
    checkMm(t);
  });

  it('mlock2(MLOCK_ONFAULT) sets VM_LOCKONFAULT; mlockall(MCL_FUTURE) locks later mappings', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 2 * PAGE, RW, ANON);
    expect(sysMlock2(mm, a, 2 * PAGE, MLOCK_ONFAULT)).toBe(0);
    expect(vmaAt(mm, a).vmFlags & (VM_LOCKED | VM_LOCKONFAULT)).toBe(VM_LOCKED | VM_LOCKONFAULT);
    expect(sysMlockall(mm, MCL_ONFAULT)).toBe(-EINVAL);
    expect(sysMlockall(mm, MCL_FUTURE)).toBe(0);
    const b = sysMmap(mm, 0, 3 * PAGE, RW, ANON);
    expect(vmaAt(mm, b).vmFlags & VM_LOCKED).toBe(VM_LOCKED);
    expect(mm.lockedVm).toBe(5);
    expect(sysMunlockall(mm)).toBe(0);
    expect(mm.lockedVm).toBe(0);
    expect(sysMlockall(mm, MCL_CURRENT)).toBe(0);
    expect(mm.lockedVm).toBe(5);
    checkMm(t);
  });
});

describe('madvise', () => {
  it.each([
    [MADV_RANDOM, VM_RAND_READ, MADV_NORMAL],
    [MADV_SEQUENTIAL, VM_SEQ_READ, MADV_NORMAL],
    [MADV_DONTFORK, VM_DONTCOPY, MADV_DOFORK],
    [MADV_WIPEONFORK, VM_WIPEONFORK, MADV_KEEPONFORK],
    [MADV_HUGEPAGE, VM_HUGEPAGE, MADV_NOHUGEPAGE],
  ])('advice %i sets its flag on the range (split) and the undo merges back', (advice, flag, undo) => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON);
    expect(sysMadvise(mm, a + 2 * PAGE, 3 * PAGE, advice)).toBe(0);
    expect(vmaAt(mm, a + 2 * PAGE).vmFlags & flag).toBe(flag);
    expect(vmaAt(mm, a).vmFlags & flag).toBe(0);
    expect(ranges(mm)).toHaveLength(3);
    expect(sysMadvise(mm, a + 2 * PAGE, 3 * PAGE, undo)).toBe(0);
    expect(ranges(mm)).toHaveLength(advice === MADV_HUGEPAGE ? 3 : 1);
    checkMm(t);
  });

  it('NOHUGEPAGE replaces HUGEPAGE; SEQUENTIAL replaces RANDOM', () => {
    const t = makeMm();
    const a = sysMmap(t.mm, 0, PAGE, RW, ANON);
    sysMadvise(t.mm, a, PAGE, MADV_HUGEPAGE);
    sysMadvise(t.mm, a, PAGE, MADV_NOHUGEPAGE);
    expect(vmaAt(t.mm, a).vmFlags & (VM_HUGEPAGE | VM_NOHUGEPAGE)).toBe(VM_NOHUGEPAGE);
    sysMadvise(t.mm, a, PAGE, MADV_RANDOM);
    sysMadvise(t.mm, a, PAGE, MADV_SEQUENTIAL);
    expect(vmaAt(t.mm, a).vmFlags & (VM_RAND_READ | VM_SEQ_READ)).toBe(VM_SEQ_READ);
    checkMm(t);
  });

  it('advises every mapped part and reports a hole with ENOMEM at the end', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 2 * PAGE, RW, ANON);
    const b = sysMmap(mm, a - 4 * PAGE, 2 * PAGE, RW, ANON);
    expect(sysMadvise(mm, b, 6 * PAGE, MADV_RANDOM)).toBe(-ENOMEM);
    expect(vmaAt(mm, a).vmFlags & VM_RAND_READ).toBe(VM_RAND_READ);
    expect(vmaAt(mm, b).vmFlags & VM_RAND_READ).toBe(VM_RAND_READ);
    expect(sysMadvise(mm, a + 2 * PAGE, PAGE, MADV_RANDOM)).toBe(-ENOMEM);
    checkMm(t);
  });

  it('DONTNEED zaps without dropping markers; FREE only on anonymous memory; locked VMAs refuse DONTNEED', () => {
    const t = makeMm();
    const { mm, pt, ctx } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    pt.clear();
    expect(sysMadvise(mm, a, 2 * PAGE, MADV_DONTNEED)).toBe(0);
    expect(pt.callsOf('zap_vma_range').map((c) => c.args)).toEqual([[a, a + 2 * PAGE, 0]]);
    expect(sysMadvise(mm, a, 2 * PAGE, MADV_FREE)).toBe(0);
    const f = createTmpfsFile(ctx, '/f', 1 << 20);
    const b = sysMmap(mm, 0, PAGE, RW, MAP_PRIVATE, f);
    expect(sysMadvise(mm, b, PAGE, MADV_FREE)).toBe(-EINVAL);
    // one mmu_gather across the VMAs of the range (madvise_init_tlb)
    sysMprotect(mm, a + PAGE, PAGE, PROT_READ);
    pt.clear();
    expect(sysMadvise(mm, a, 4 * PAGE, MADV_DONTNEED)).toBe(0);
    expect(pt.calls.map((c) => c.op)).toEqual([
      'tlb_gather_mmu',
      'zap_vma_range',
      'zap_vma_range',
      'zap_vma_range',
      'tlb_finish_mmu',
    ]);
    sysMlock(mm, a, PAGE);
    expect(sysMadvise(mm, a, PAGE, MADV_DONTNEED)).toBe(-EINVAL);
    expect(sysMadvise(mm, a, PAGE, MADV_COLD)).toBe(-EINVAL);
    expect(sysMadvise(mm, a + PAGE, PAGE, MADV_PAGEOUT)).toBe(0);
    checkMm(t);
  });

  it('GUARD_INSTALL sets the sticky VM_MAYBE_GUARD, prepares the anon_vma, installs markers; refused on locked VMAs', () => {
    const t = makeMm();
    const { mm, pt } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    expect(sysMadvise(mm, a + PAGE, PAGE, MADV_GUARD_INSTALL)).toBe(0);
    const v = vmaAt(mm, a);
    expect(vmFlagsAny(v.vmFlags, VM_MAYBE_GUARD)).toBe(true);
    expect(v.anonVma).not.toBeNull();
    expect(pt.callsOf('guard_install').map((c) => c.args)).toEqual([[a + PAGE, a + 2 * PAGE]]);
    expect(sysMadvise(mm, a + PAGE, PAGE, MADV_GUARD_REMOVE)).toBe(0);
    // the flag is sticky: a neighbour without it still merges
    const b = sysMmap(mm, a - PAGE, PAGE, RW, ANON | MAP_FIXED);
    expect(b).toBe(a - PAGE);
    sysMlock(mm, a, PAGE);
    expect(sysMadvise(mm, a, PAGE, MADV_GUARD_INSTALL)).toBe(-EINVAL);
    expect(sysMadvise(mm, a, PAGE, MADV_GUARD_REMOVE)).toBe(0);
    checkMm(t);
  });

  it('refuses bad advice and alignment (EINVAL), WIPEONFORK on files, KEEPONFORK on droppable', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = sysMmap(mm, 0, PAGE, RW, ANON);
    expect(sysMadvise(mm, a, PAGE, 77)).toBe(-EINVAL);
    expect(sysMadvise(mm, a + 1, PAGE, MADV_RANDOM)).toBe(-EINVAL);
    expect(sysMadvise(mm, a, 0, MADV_RANDOM)).toBe(0);
    const f = createTmpfsFile(ctx, '/f', 1 << 20);
    const b = sysMmap(mm, 0, PAGE, RW, MAP_PRIVATE, f);
    expect(sysMadvise(mm, b, PAGE, MADV_WIPEONFORK)).toBe(-EINVAL);
    checkMm(t);
  });

  it('names anonymous ranges ([anon:NAME]); a file mapping refuses a name with EBADF', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    expect(madviseSetAnonName(mm, a + PAGE, 2 * PAGE, 'buf')).toBe(0);
    expect(ranges(mm)).toHaveLength(3);
    expect(vmaAt(mm, a + PAGE).anonName?.name).toBe('buf');
    expect(madviseSetAnonName(mm, a + PAGE, 2 * PAGE, null)).toBe(0);
    expect(ranges(mm)).toHaveLength(1);
    const f = createTmpfsFile(ctx, '/f', 1 << 20);
    const b = sysMmap(mm, 0, PAGE, RW, MAP_PRIVATE, f);
    expect(madviseSetAnonName(mm, b, PAGE, 'x')).toBe(-EBADF);
    checkMm(t);
  });
});

describe('brk', () => {
  it('grows the heap (one VMA, merged), shrinks it, and returns the old break on failure', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    mm.startBrk = 0x555555560000;
    mm.brk = mm.startBrk;
    expect(sysBrk(mm, mm.startBrk + 3 * PAGE + 5)).toBe(mm.startBrk + 3 * PAGE + 5);
    expect(ranges(mm)).toEqual([[mm.startBrk / PAGE, mm.startBrk / PAGE + 4]]);
    expect(sysBrk(mm, mm.startBrk + 8 * PAGE)).toBe(mm.startBrk + 8 * PAGE);
    expect(ranges(mm)).toHaveLength(1);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    expect(mm.dataVm).toBe(8);
    expect(sysBrk(mm, mm.startBrk + 2 * PAGE)).toBe(mm.startBrk + 2 * PAGE);
    expect(ranges(mm)).toEqual([[mm.startBrk / PAGE, mm.startBrk / PAGE + 2]]);
    const old = mm.brk;
    expect(sysBrk(mm, mm.startBrk - PAGE)).toBe(old);
    mm.rlim.data.cur = 4 * PAGE;
    expect(sysBrk(mm, mm.startBrk + 5 * PAGE)).toBe(old);
    // a mapping within the stack guard gap above the heap stops it
    mm.rlim.data.cur = Infinity;
    sysMmap(mm, mm.startBrk + 10 * PAGE, PAGE, RW, ANON | MAP_FIXED | MAP_GROWSDOWN);
    expect(sysBrk(mm, mm.startBrk + 9 * PAGE)).toBe(old);
    expect(vmaList(mm)).toHaveLength(2);
    checkMm(t);
  });
});

describe('overcommit', () => {
  it('mode 0 refuses only a request larger than RAM plus swap', () => {
    const t = makeMm();
    const ram = t.ctx.totalramPages();
    expect(sysMmap(t.mm, 0, (ram + 1) * PAGE, RW, ANON)).toBe(-ENOMEM);
    expect(sysMmap(t.mm, 0, ram * PAGE, RW, ANON)).toBeGreaterThan(0);
    expect(sysMmap(t.mm, 0, ram * PAGE, RW, ANON)).toBeGreaterThan(0);
    expect(t.ctx.vmMemoryCommitted()).toBe(2 * ram);
    checkMm(t);
  });

  it('mode 1 never refuses; MAP_NORESERVE is not charged', () => {
    const t = makeMm({ overcommitMemory: 1 });
    const ram = t.ctx.totalramPages();
    expect(sysMmap(t.mm, 0, 4 * ram * PAGE, RW, ANON)).toBeGreaterThan(0);
    checkMm(t);
  });

  it('mode 2 refuses past CommitLimit less the reserves, and ignores MAP_NORESERVE', () => {
    const t = makeMm({ overcommitMemory: 2 });
    const { ctx, mm } = t;
    const ram = ctx.totalramPages();
    const limit = Math.floor((ram * 50) / 100) - ctx.sysctlAdminReserveKbytes / 4;
    // the strict test: committed (with the request) < allowed
    expect(sysMmap(mm, 0, limit * PAGE, RW, ANON)).toBe(-ENOMEM);
    expect(sysMmap(mm, 0, (limit - 1) * PAGE, RW, ANON)).toBeGreaterThan(0);
    expect(sysMmap(mm, 0, PAGE, RW, ANON | 0x4000)).toBe(-ENOMEM);
    expect(sysMmap(mm, 0, PAGE, PROT_READ, ANON)).toBeGreaterThan(0);
    // CAP_SYS_ADMIN may use the admin reserve (2048 pages), but a process this big
    // also keeps min(total_vm / 32, user_reserve) free: 4096 pages here
    mm.capSysAdmin = true;
    expect(Math.floor(mm.totalVm / 32)).toBeGreaterThan(ctx.sysctlAdminReserveKbytes / 4);
    expect(sysMmap(mm, 0, PAGE, RW, ANON)).toBe(-ENOMEM);
    checkMm(t);
  });

  it('mode 2: root gets the admin reserve when the user reserve is small', () => {
    const t = makeMm({ overcommitMemory: 2 });
    const { ctx, mm } = t;
    const ram = ctx.totalramPages();
    const admin = ctx.sysctlAdminReserveKbytes / 4;
    const limit = Math.floor((ram * 50) / 100) - admin;
    // another process committed everything non-root may have (the check reads the
    // folded count: a one-page charge stays in this CPU's delta, below the batch)
    ctx.vmAcctMemory(limit);
    expect(sysMmap(mm, 0, PAGE, RW, ANON)).toBe(-ENOMEM);
    mm.capSysAdmin = true;
    expect(sysMmap(mm, 0, PAGE, RW, ANON)).toBeGreaterThan(0);
    ctx.vmUnacctMemory(limit);
    checkMm(t);
  });

  it('switching to mode 2 folds the per-CPU deltas so the check is exact', () => {
    const t = makeMm();
    const { ctx, machine, mm } = t;
    machine.cpus.runOn(1, () => sysMmap(mm, 0, 3 * PAGE, RW, ANON));
    expect(ctx.vmCommittedAs.count).toBe(0);
    ctx.setOvercommitMemory(2);
    expect(ctx.vmCommittedAs.count).toBe(3);
    expect(() => ctx.setOvercommitMemory(3)).toThrow(/overcommit_memory/);
    checkMm(t);
  });
});

describe('PROT_NONE and mprotect round trips keep the counters', () => {
  it('data_vm follows writability', () => {
    const t = makeMm();
    const a = sysMmap(t.mm, 0, 4 * PAGE, PROT_NONE, ANON);
    expect(t.mm.dataVm).toBe(0);
    expect(sysMprotect(t.mm, a, 4 * PAGE, RW)).toBe(0);
    expect(t.mm.dataVm).toBe(4);
    expect(sysMprotect(t.mm, a, 4 * PAGE, PROT_READ | PROT_EXEC)).toBe(0);
    expect(t.mm.execVm).toBe(4);
    expect(t.mm.dataVm).toBe(0);
    expect(sysMadvise(t.mm, a, 4 * PAGE, MADV_RANDOM)).toBe(0);
    checkMm(t);
    void EAGAIN;
  });
});
