import { EACCES, EAGAIN, EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, EPERM, ETXTBSY } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import { createTmpfsFile, FMODE_READ, FMODE_WRITE, iMmapVmas, S_APPEND, S_SWAPFILE } from '../../src/mm/file.js';
import {
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_SYNC,
  PROT_EXEC,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/mm/mman.js';
import { sysMmap } from '../../src/mm/mmap.js';
import { procPidMaps } from '../../src/mm/task-mmu.js';
import {
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_WIPEONFORK,
  VM_WRITE,
  vmFlagsAny,
} from '../../src/mm/vm-flags.js';
import { vmaList } from '../../src/mm/vma.js';
import { vmMunmap } from '../../src/mm/vma-munmap.js';
import { checkMm, makeMm, PAGE, ranges, vmaAt } from './helpers.js';

const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const RW = PROT_READ | PROT_WRITE;

describe('mmap: placement', () => {
  it('places anonymous mappings top-down below mmap_base and merges compatible neighbours', () => {
    const t = makeMm();
    const { mm } = t;
    // x86-64 without randomisation: 8 MiB stack limit + 1 MiB guard gap, at least 128 MiB below TASK_SIZE
    expect(mm.mmapBase).toBe(2 ** 47 - PAGE - 128 * 1024 * 1024);
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    expect(a).toBe(mm.mmapBase - 4 * PAGE);
    const b = sysMmap(mm, 0, 2 * PAGE, RW, ANON);
    expect(b).toBe(a - 2 * PAGE);
    // same flags, linear pgoff: one VMA
    expect(ranges(mm)).toEqual([[b / PAGE, (a + 4 * PAGE) / PAGE]]);
    const c = sysMmap(mm, 0, PAGE, PROT_READ, ANON);
    expect(c).toBe(b - PAGE);
    expect(vmaList(mm)).toHaveLength(2);
    checkMm(t);
  });

  it('honours a free hint, raises a hint below mmap_min_addr, ignores a busy one', () => {
    const t = makeMm();
    const { mm } = t;
    expect(sysMmap(mm, 0x200000, PAGE, RW, ANON)).toBe(0x200000);
    expect(sysMmap(mm, 0x1000, PAGE, RW, ANON)).toBe(0x10000);
    // busy hint: top-down search instead
    expect(sysMmap(mm, 0x200000, PAGE, RW, ANON)).toBe(mm.mmapBase - PAGE);
    checkMm(t);
  });

  it('aligns anonymous mappings of whole PMDs without a hint to a PMD boundary', () => {
    const t = makeMm();
    const { mm } = t;
    sysMmap(mm, 0, 3 * PAGE, RW, ANON);
    const a = sysMmap(mm, 0, 2 * 2 * 1024 * 1024, RW, ANON);
    expect(a % (2 * 1024 * 1024)).toBe(0);
    checkMm(t);
  });

  it('keeps the stack guard gap below a GROWSDOWN VMA', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const top = mm.mmapBase - 64 * PAGE;
    expect(sysMmap(mm, top, 4 * PAGE, RW, ANON | MAP_FIXED | MAP_GROWSDOWN)).toBe(top);
    // a hint right below the stack breaks its guard gap: the search avoids the gap too
    const a = sysMmap(mm, top - PAGE, PAGE, RW, ANON);
    expect(a).not.toBe(top - PAGE);
    expect(a + PAGE <= top - ctx.stackGuardGap || a >= top + 4 * PAGE).toBe(true);
    checkMm(t);
  });

  it('MAP_FIXED replaces what is there, charging only the difference', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    expect(sysMmap(mm, a + 2 * PAGE, 2 * PAGE, PROT_READ, ANON | MAP_FIXED)).toBe(a + 2 * PAGE);
    expect(ranges(mm)).toEqual([
      [a / PAGE, a / PAGE + 2],
      [a / PAGE + 2, a / PAGE + 4],
      [a / PAGE + 4, a / PAGE + 8],
    ]);
    expect(ctx.vmMemoryCommitted()).toBe(6);
    // the old PTEs were zapped while the old VMA was still in the tree
    expect(t.pt.callsOf('zap_vma_range').map((c) => c.args.slice(0, 2))).toEqual([[a + 2 * PAGE, a + 4 * PAGE]]);
    checkMm(t);
  });

  it('a MAP_FIXED mmap failing after the old PTEs went leaves a hole, and the hole keeps its charge', () => {
    // __mmap_setup() hands the replaced VMAs' charge to the new mapping
    // (vms->nr_accounted = 0) and clears their PTEs; when allocating the new
    // VMA then fails, __mmap_region() unaccounts only what it charged on top
    // and vms_abort_munmap_vmas() leaves the hole, unaccounting nothing: the
    // old pages stay committed (Linux 7.2).
    let seen = false;
    for (let n = 1; !seen; n++) {
      const t = makeMm();
      const { mm, ctx } = t;
      const a = 0x40000000;
      sysMmap(mm, a, 8 * PAGE, RW, ANON | MAP_FIXED);
      const fs = t.caches.slab.failslab;
      fs.configure({ ignoreGfpReclaim: false, prefill: true, failNth: n });
      // executable too, so that it cannot merge with the remnants
      const ret = sysMmap(mm, a + 2 * PAGE, 4 * PAGE, RW | PROT_EXEC, ANON | MAP_FIXED);
      const fired = fs.nrFailed > 0;
      fs.configure({ failNth: 0, ignoreGfpReclaim: true, prefill: false });
      expect(fired, `no allocation ${n} left a hole`).toBe(true);
      if (ret !== -ENOMEM || mm.totalVm === 8) continue;
      seen = true;
      expect(ranges(mm)).toEqual([
        [a / PAGE, a / PAGE + 2],
        [a / PAGE + 6, a / PAGE + 8],
      ]);
      expect(mm.totalVm).toBe(4);
      expect(ctx.vmMemoryCommitted()).toBe(8);
      t.commitSkew = 4;
      checkMm(t);
    }
    // a mapping that is not accountable leaves vms->nr_accounted alone: the hole is uncharged
    seen = false;
    for (let n = 1; !seen; n++) {
      const t = makeMm();
      const { mm, ctx } = t;
      const a = 0x40000000;
      sysMmap(mm, a, 8 * PAGE, RW, ANON | MAP_FIXED);
      const fs = t.caches.slab.failslab;
      fs.configure({ ignoreGfpReclaim: false, prefill: true, failNth: n });
      const ret = sysMmap(mm, a + 2 * PAGE, 4 * PAGE, PROT_READ, ANON | MAP_FIXED);
      fs.configure({ failNth: 0, ignoreGfpReclaim: true, prefill: false });
      if (ret !== -ENOMEM || mm.totalVm === 8) continue;
      seen = true;
      expect(ctx.vmMemoryCommitted()).toBe(4);
      checkMm(t);
    }
  });

  it('MAP_FIXED_NOREPLACE refuses an overlap with EEXIST and changes nothing', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    expect(sysMmap(mm, a + PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE)).toBe(-EEXIST);
    expect(sysMmap(mm, a - PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE)).toBe(a - PAGE);
    expect(ranges(mm)).toEqual([[a / PAGE - 1, a / PAGE + 4]]);
    checkMm(t);
  });
});

describe('mmap: flags', () => {
  it('sets VM_ flags from PROT_ and MAP_ bits: MAY*, ACCOUNT for private writable, SOFTDIRTY', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, PAGE, RW, ANON);
    expect(vmaAt(mm, a).vmFlags).toBe(
      VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT | VM_SOFTDIRTY,
    );
    const b = sysMmap(mm, 0, PAGE, RW, ANON | MAP_NORESERVE);
    expect(vmFlagsAny(vmaAt(mm, b).vmFlags, VM_NORESERVE)).toBe(true);
    expect(vmFlagsAny(vmaAt(mm, b).vmFlags, VM_ACCOUNT)).toBe(false);
    const c = sysMmap(mm, 0, PAGE, RW, ANON | MAP_STACK);
    expect(vmaAt(mm, c).vmFlags & VM_NOHUGEPAGE).not.toBe(0);
    const d = sysMmap(mm, 0, 2 * PAGE, RW, MAP_DROPPABLE | MAP_ANONYMOUS);
    expect(vmFlagsAny(vmaAt(mm, d).vmFlags, VM_DROPPABLE)).toBe(true);
    expect(vmaAt(mm, d).vmFlags & (VM_WIPEONFORK | VM_DONTDUMP)).toBe(VM_WIPEONFORK | VM_DONTDUMP);
    expect(vmFlagsAny(vmaAt(mm, d).vmFlags, VM_ACCOUNT)).toBe(false);
    checkMm(t);
  });

  it('MAP_SHARED anonymous memory is a shmem file shown as /dev/zero (deleted), not accounted', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = sysMmap(mm, 0, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    const v = vmaAt(mm, a);
    expect(v.vmFlags & (VM_SHARED | VM_MAYSHARE)).toBe(VM_SHARED | VM_MAYSHARE);
    expect(v.vmPgoff).toBe(0);
    expect(ctx.vmMemoryCommitted()).toBe(0);
    expect(procPidMaps(mm)).toMatch(/ rw-s 00000000 00:01 \d+ +\/dev\/zero \(deleted\)\n$/);
    checkMm(t);
  });

  it('MAP_LOCKED counts locked_vm and populates; MAP_POPULATE populates after unlocking', () => {
    const t = makeMm();
    const { mm, pt } = t;
    const a = sysMmap(mm, 0, 3 * PAGE, RW, ANON | MAP_LOCKED);
    expect(vmaAt(mm, a).vmFlags & VM_LOCKED).toBe(VM_LOCKED);
    expect(mm.lockedVm).toBe(3);
    const b = sysMmap(mm, 0, 2 * PAGE, PROT_READ, ANON | MAP_POPULATE);
    expect(pt.callsOf('populate_vma_page_range').map((c) => c.args)).toEqual([
      [a, a + 3 * PAGE],
      [b, b + 2 * PAGE],
    ]);
    expect(mm.mmapLock.readers + (mm.mmapLock.writerPid === -1 ? 0 : 1)).toBe(0);
    checkMm(t);
  });

  it.each([
    ['length 0', 0, 0, RW, ANON, -EINVAL],
    ['no MAP_PRIVATE or MAP_SHARED', 0, PAGE, RW, MAP_ANONYMOUS, -EINVAL],
    ['huge pages (no pool)', 0, PAGE, RW, ANON | MAP_HUGETLB, -ENOMEM],
    ['shared GROWSDOWN', 0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -EINVAL],
    ['droppable and locked', 0, PAGE, RW, MAP_DROPPABLE | MAP_ANONYMOUS | MAP_LOCKED, -EINVAL],
    ['longer than the address space', 0, 2 ** 48, RW, ANON, -ENOMEM],
    ['MAP_FIXED past TASK_SIZE', 2 ** 47 - PAGE, 2 * PAGE, RW, ANON | MAP_FIXED, -ENOMEM],
    ['MAP_FIXED unaligned', 0x10001, PAGE, RW, ANON | MAP_FIXED, -EINVAL],
    ['MAP_FIXED below mmap_min_addr', 0x1000, PAGE, RW, ANON | MAP_FIXED, -EPERM],
  ])('refuses %s', (_name, addr, len, prot, flags, err) => {
    const t = makeMm();
    expect(sysMmap(t.mm, addr, len, prot, flags)).toBe(err);
    expect(t.mm.mapCount).toBe(0);
    checkMm(t);
  });

  it('refuses a file mapping without a file (EBADF) and an unaligned offset (EINVAL)', () => {
    const t = makeMm();
    const f = createTmpfsFile(t.ctx, '/f', 1 << 20);
    expect(sysMmap(t.mm, 0, PAGE, RW, MAP_PRIVATE, null)).toBe(-EBADF);
    expect(sysMmap(t.mm, 0, PAGE, RW, MAP_PRIVATE, f, 100)).toBe(-EINVAL);
    checkMm(t);
  });

  it('MAP_LOCKED without RLIMIT_MEMLOCK is EPERM; past the limit EAGAIN', () => {
    const t = makeMm();
    t.mm.rlim.memlock.cur = 0;
    expect(sysMmap(t.mm, 0, PAGE, RW, ANON | MAP_LOCKED)).toBe(-EPERM);
    t.mm.rlim.memlock.cur = 2 * PAGE;
    expect(sysMmap(t.mm, 0, 3 * PAGE, RW, ANON | MAP_LOCKED)).toBe(-EAGAIN);
    expect(sysMmap(t.mm, 0, 2 * PAGE, RW, ANON | MAP_LOCKED)).toBeGreaterThan(0);
    t.mm.capIpcLock = true;
    expect(sysMmap(t.mm, 0, 3 * PAGE, RW, ANON | MAP_LOCKED)).toBeGreaterThan(0);
    checkMm(t);
  });

  it('refuses mappings past RLIMIT_AS and RLIMIT_DATA with ENOMEM', () => {
    const t = makeMm();
    t.mm.rlim.as.cur = 4 * PAGE;
    expect(sysMmap(t.mm, 0, 5 * PAGE, PROT_READ, ANON)).toBe(-ENOMEM);
    t.mm.rlim.as.cur = Infinity;
    t.mm.rlim.data.cur = 2 * PAGE;
    expect(sysMmap(t.mm, 0, 3 * PAGE, RW, ANON)).toBe(-ENOMEM);
    // not a data mapping: read-only is fine
    expect(sysMmap(t.mm, 0, 3 * PAGE, PROT_READ, ANON)).toBeGreaterThan(0);
    checkMm(t);
  });

  it('refuses a mapping at vm.max_map_count with ENOMEM', () => {
    const t = makeMm({ maxMapCount: 3 });
    for (let i = 0; i < 4; i++) expect(sysMmap(t.mm, 0, PAGE, i % 2 ? RW : PROT_READ, ANON)).toBeGreaterThan(0);
    // map_count 4 > 3
    expect(sysMmap(t.mm, 0, PAGE, RW, ANON)).toBe(-ENOMEM);
    checkMm(t);
  });
});

describe('mmap: files', () => {
  it('maps a file privately and shared with the file rules', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const rw = createTmpfsFile(ctx, '/data/rw', 1 << 20, FMODE_READ | FMODE_WRITE);
    const ro = createTmpfsFile(ctx, '/data/ro', 1 << 20, FMODE_READ);
    const a = sysMmap(mm, 0, 2 * PAGE, RW, MAP_SHARED, rw, 4 * PAGE);
    expect(vmaAt(mm, a).vmPgoff).toBe(4);
    expect(vmaAt(mm, a).vmFlags & VM_SHARED).toBe(VM_SHARED);
    expect(rw.fMapping.iMmapWritable).toBe(1);
    expect(iMmapVmas(rw.fMapping)).toEqual([vmaAt(mm, a)]);
    // a read-only file: shared writable refused; shared read-only loses MAYWRITE and SHARED
    expect(sysMmap(mm, 0, PAGE, RW, MAP_SHARED, ro)).toBe(-EACCES);
    const b = sysMmap(mm, 0, PAGE, PROT_READ, MAP_SHARED, ro);
    expect(vmaAt(mm, b).vmFlags & (VM_SHARED | VM_MAYWRITE | VM_MAYSHARE)).toBe(VM_MAYSHARE);
    // private writable mapping of a read-only file is fine (CoW)
    const c = sysMmap(mm, 0, PAGE, RW, MAP_PRIVATE, ro);
    expect(vmaAt(mm, c).vmFlags & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect(procPidMaps(mm)).toContain(' rw-s 00004000 00:19 ');
    expect(vmMunmap(mm, a, 2 * PAGE)).toBe(0);
    expect(rw.fMapping.iMmapWritable).toBe(0);
    expect(iMmapVmas(rw.fMapping)).toEqual([]);
    expect(rw.fCount).toBe(1);
    checkMm(t);
  });

  it.each([
    [
      'append-only opened for writing',
      (f: { fInode: { iFlags: number } }) => (f.fInode.iFlags |= S_APPEND),
      RW,
      MAP_SHARED,
      -EACCES,
    ],
    ['a swapfile', (f: { fInode: { iFlags: number } }) => (f.fInode.iFlags |= S_SWAPFILE), RW, MAP_SHARED, -ETXTBSY],
    ['PROT_EXEC on noexec', (f: { noexec: boolean }) => (f.noexec = true), PROT_READ | PROT_EXEC, MAP_PRIVATE, -EPERM],
    ['GROWSDOWN', () => {}, RW, MAP_PRIVATE | MAP_GROWSDOWN, -EINVAL],
    ['MAP_SYNC with MAP_SHARED_VALIDATE', () => {}, RW, MAP_SHARED_VALIDATE | MAP_SYNC, -EOPNOTSUPP],
    ['no ->mmap', (f: { fOp: unknown }) => Object.assign(f, { fOp: { mmap: null } }), PROT_READ, MAP_PRIVATE, -ENODEV],
  ] as const)('refuses %s', (_n, setup, prot, flags, err) => {
    const t = makeMm();
    const f = createTmpfsFile(t.ctx, '/f', 1 << 20, FMODE_READ | FMODE_WRITE);
    (setup as (f: unknown) => void)(f);
    expect(sysMmap(t.mm, 0, PAGE, prot, flags, f)).toBe(err);
    expect(t.mm.mapCount).toBe(0);
    expect(f.fCount).toBe(1);
    checkMm(t);
  });

  it('plain MAP_SHARED drops unknown flags silently', () => {
    const t = makeMm();
    const f = createTmpfsFile(t.ctx, '/f', 1 << 20);
    expect(sysMmap(t.mm, 0, PAGE, RW, MAP_SHARED | MAP_SYNC, f)).toBeGreaterThan(0);
    checkMm(t);
  });

  it('PROT_NONE mappings exist, unaccounted and inaccessible', () => {
    const t = makeMm();
    const a = sysMmap(t.mm, 0, 4 * PAGE, PROT_NONE, ANON);
    expect(vmaAt(t.mm, a).vmFlags & (VM_READ | VM_WRITE)).toBe(0);
    expect(t.ctx.vmMemoryCommitted()).toBe(0);
    checkMm(t);
  });

  it('GROWSDOWN anonymous mappings carry VM_GROWSDOWN', () => {
    const t = makeMm();
    const a = sysMmap(t.mm, 0, 4 * PAGE, RW, ANON | MAP_GROWSDOWN);
    expect(vmaAt(t.mm, a).vmFlags & VM_GROWSDOWN).toBe(VM_GROWSDOWN);
    expect(t.mm.stackVm).toBe(4);
    checkMm(t);
  });

  it('an executable file mapping counts as exec_vm, PROT_EXEC without READ works', () => {
    const t = makeMm();
    const f = createTmpfsFile(t.ctx, '/bin/x', 1 << 20, FMODE_READ);
    const a = sysMmap(t.mm, 0, 3 * PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, f);
    expect(t.mm.execVm).toBe(3);
    expect(sysMmap(t.mm, 0, PAGE, PROT_EXEC, MAP_PRIVATE, f)).toBeGreaterThan(0);
    expect(a).toBeGreaterThan(0);
    checkMm(t);
  });
});
