import { EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/mm/mman.js';
import { sysMmap } from '../../src/mm/mmap.js';
import { mmapWriteLock, mmapWriteUnlock } from '../../src/mm/mmap-lock.js';
import { sysMremap } from '../../src/mm/mremap.js';
import { mapVdso } from '../../src/mm/special-mapping.js';
import { VM_ACCOUNT, VM_LOCKED, VM_SEALED, vmFlagsSet } from '../../src/mm/vm-flags.js';
import { vmaList } from '../../src/mm/vma.js';
import { vmMunmap } from '../../src/mm/vma-munmap.js';
import { checkMm, makeMm, PAGE, ranges, vmaAt } from './helpers.js';

const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const RW = PROT_READ | PROT_WRITE;
const PMD = 2 * 1024 * 1024;

describe('mremap: in place', () => {
  it('grows in place when the space after the VMA is free, merging with the next VMA', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = 0x40000000;
    sysMmap(mm, a, 4 * PAGE, RW, ANON | MAP_FIXED);
    sysMmap(mm, a + 6 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED);
    expect(sysMremap(mm, a, 4 * PAGE, 6 * PAGE, 0)).toBe(a);
    expect(ranges(mm)).toEqual([[a / PAGE, a / PAGE + 8]]);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    expect(mm.totalVm).toBe(8);
    checkMm(t);
  });

  it('cannot grow into a neighbour without MREMAP_MAYMOVE (ENOMEM); moves with it', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = 0x40000000;
    sysMmap(mm, a, 4 * PAGE, RW, ANON | MAP_FIXED);
    sysMmap(mm, a + 4 * PAGE, PAGE, PROT_READ, ANON | MAP_FIXED);
    expect(sysMremap(mm, a, 4 * PAGE, 8 * PAGE, 0)).toBe(-ENOMEM);
    expect(ranges(mm)).toEqual([
      [a / PAGE, a / PAGE + 4],
      [a / PAGE + 4, a / PAGE + 5],
    ]);
    const b = sysMremap(mm, a, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    expect(b).not.toBe(a);
    expect(vmaAt(mm, b).vmEnd - b).toBe(8 * PAGE);
    expect(ranges(mm)).toHaveLength(2);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    checkMm(t);
  });

  it('shrinks in place: the tail is unmapped and the lock dropped', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 8 * PAGE, RW, ANON);
    expect(sysMremap(mm, a, 8 * PAGE, 3 * PAGE, 0)).toBe(a);
    expect(ranges(mm)).toEqual([[a / PAGE, a / PAGE + 3]]);
    expect(mm.mmapLock.readers).toBe(0);
    expect(mm.mmapLock.writerPid).toBe(-1);
    expect(sysMremap(mm, a, 3 * PAGE, 3 * PAGE, 0)).toBe(a);
    checkMm(t);
  });

  it('populates what an mlock()ed VMA grew by', () => {
    const t = makeMm();
    const { mm, pt } = t;
    const a = 0x40000000;
    sysMmap(mm, a, 2 * PAGE, RW, ANON | MAP_FIXED | MAP_LOCKED);
    pt.clear();
    expect(sysMremap(mm, a, 2 * PAGE, 5 * PAGE, 0)).toBe(a);
    expect(mm.lockedVm).toBe(5);
    expect(pt.callsOf('populate_vma_page_range').map((c) => c.args)).toEqual([[a + 2 * PAGE, a + 5 * PAGE]]);
    checkMm(t);
  });
});

describe('mremap: moves', () => {
  it('MREMAP_FIXED unmaps the destination first and moves there', () => {
    const t = makeMm();
    const { mm, ctx, pt } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    const dst = 0x50000000;
    sysMmap(mm, dst, 8 * PAGE, PROT_READ, ANON | MAP_FIXED);
    pt.clear();
    expect(sysMremap(mm, a, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + 2 * PAGE)).toBe(dst + 2 * PAGE);
    expect(ranges(mm)).toEqual([
      [dst / PAGE, dst / PAGE + 2],
      [dst / PAGE + 2, dst / PAGE + 6],
      [dst / PAGE + 6, dst / PAGE + 8],
    ]);
    expect(vmaAt(mm, dst + 2 * PAGE).vmFlags & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect(ctx.vmMemoryCommitted()).toBe(4);
    expect(pt.callsOf('move_page_tables')).toHaveLength(1);
    checkMm(t);
  });

  // seed 000, "correctly handle partial mremap() of VMA starting at 0":
  //     addr  end               addr  end
  //      |     |                 |     |
  //  |-------------|    ->   |---|     |---|
  //  |     vma     |         | A |     | B |
  //  |-------------|         |---|     |---|
  //  0
  it('a partial move out of an accounted VMA at address 0 keeps VM_ACCOUNT on both remnants', () => {
    const t = makeMm({ mmapMinAddr: 0 });
    const { mm, ctx } = t;
    mm.capSysRawio = true;
    expect(sysMmap(mm, 0, 8 * PAGE, RW, ANON | MAP_FIXED)).toBe(0);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    const dst = 0x60000000;
    expect(sysMremap(mm, 2 * PAGE, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
    const [left, right, moved] = vmaList(mm);
    expect([left?.vmStart, left?.vmEnd, right?.vmStart, right?.vmEnd, moved?.vmStart]).toEqual([
      0,
      2 * PAGE,
      4 * PAGE,
      8 * PAGE,
      dst,
    ]);
    // the old code tested account_start (= vm_start = 0) as a truth value and left A unaccounted
    expect((left?.vmFlags ?? 0) & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect((right?.vmFlags ?? 0) & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect((moved?.vmFlags ?? 0) & VM_ACCOUNT).toBe(VM_ACCOUNT);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    checkMm(t);
    // and unmapping everything returns the whole charge
    expect(vmMunmap(mm, 0, 8 * PAGE)).toBe(0);
    expect(vmMunmap(mm, dst, 2 * PAGE)).toBe(0);
    expect(ctx.vmMemoryCommitted()).toBe(0);
    checkMm(t);
  });

  it('MREMAP_DONTUNMAP leaves the source mapped (unlocked) and charges the new length', () => {
    const t = makeMm();
    const { mm, ctx } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON | MAP_LOCKED);
    const b = sysMremap(mm, a, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    expect(b).toBeGreaterThan(0);
    expect(b).not.toBe(a);
    expect(vmaAt(mm, a).vmFlags & VM_LOCKED).toBe(0);
    expect(vmaAt(mm, b).vmFlags & VM_LOCKED).toBe(VM_LOCKED);
    expect(mm.lockedVm).toBe(4);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    checkMm(t);
  });

  it('moves every VMA of a MREMAP_FIXED range keeping the gaps between them', () => {
    const t = makeMm();
    const { mm } = t;
    const a = 0x40000000;
    sysMmap(mm, a, 2 * PAGE, RW, ANON | MAP_FIXED);
    sysMmap(mm, a + 3 * PAGE, 2 * PAGE, PROT_READ, ANON | MAP_FIXED);
    const dst = 0x50000000;
    expect(sysMremap(mm, a, 5 * PAGE, 5 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
    expect(ranges(mm)).toEqual([
      [dst / PAGE, dst / PAGE + 2],
      [dst / PAGE + 3, dst / PAGE + 5],
    ]);
    // a gap at the start of the range is EFAULT
    expect(sysMremap(mm, dst - PAGE, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a)).toBe(-EFAULT);
    checkMm(t);
  });

  it('realigns a PMD-crossing move to PMD boundaries when nothing is mapped below', () => {
    const t = makeMm();
    const { mm, pt } = t;
    const src = 0x40000000 + PMD - 2 * PAGE;
    sysMmap(mm, src, 4 * PAGE, RW, ANON | MAP_FIXED);
    const dst = 0x80000000 + PMD - 2 * PAGE;
    pt.clear();
    expect(sysMremap(mm, src, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
    const [m] = pt.callsOf('move_page_tables');
    // old_addr and new_addr aligned down to the PMD, old_end unchanged
    expect(m?.args.slice(0, 3)).toEqual([0x40000000, src + 4 * PAGE, 0x80000000]);
    checkMm(t);
  });

  it('a short page-table move is undone and the new area unmapped instead (ENOMEM)', () => {
    const t = makeMm();
    const { mm, pt, ctx } = t;
    const a = sysMmap(mm, 0, 4 * PAGE, RW, ANON);
    pt.shortMoveBytes = PAGE;
    expect(sysMremap(mm, a, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, 0x50000000)).toBe(-ENOMEM);
    expect(ranges(mm)).toEqual([[a / PAGE, a / PAGE + 4]]);
    const moves = pt.callsOf('move_page_tables').map((c) => c.args);
    expect(moves).toEqual([
      [a, a + 4 * PAGE, 0x50000000, PAGE, 0],
      [0x50000000, 0x50000000 + PAGE, a, PAGE, 1],
    ]);
    expect(ctx.vmMemoryCommitted()).toBe(4);
    checkMm(t);
  });
});

describe('mremap: errors', () => {
  it.each([
    ['an unknown flag', 0, 1, 1, 8, 0, -EINVAL],
    ['an unaligned address', 1, 1, 1, 0, 0, -EINVAL],
    ['new_len 0', 0, 1, 0, 0, 0, -EINVAL],
    ['FIXED without MAYMOVE', 0, 1, 1, MREMAP_FIXED, 0x70000000, -EINVAL],
    ['DONTUNMAP resizing', 0, 1, 2, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0, -EINVAL],
    ['an overlapping FIXED target', 0, 2, 2, MREMAP_MAYMOVE | MREMAP_FIXED, 1, -EINVAL],
    ['crossing the end of the VMA', 0, 5, 6, MREMAP_MAYMOVE, 0, -EFAULT],
    ['old_len 0 of a private mapping', 0, 0, 1, MREMAP_MAYMOVE, 0, -EINVAL],
  ])('refuses %s', (_n, off, oldPages, newPages, flags, target, err) => {
    const t = makeMm();
    const a = sysMmap(t.mm, 0, 4 * PAGE, RW, ANON);
    const newAddr = target === 0 ? 0 : target === 1 ? a + PAGE : target;
    expect(sysMremap(t.mm, a + off, oldPages * PAGE, newPages * PAGE, flags, newAddr)).toBe(err);
    expect(ranges(t.mm)).toEqual([[a / PAGE, a / PAGE + 4]]);
    checkMm(t);
  });

  it('no VMA is EFAULT; sealed is EPERM; special mappings do not grow (EFAULT)', () => {
    const t = makeMm();
    const { mm } = t;
    expect(sysMremap(mm, 0x40000000, PAGE, 2 * PAGE, MREMAP_MAYMOVE)).toBe(-EFAULT);
    const a = sysMmap(mm, 0, 2 * PAGE, RW, ANON);
    const v = vmaAt(mm, a);
    v.vmFlags = vmFlagsSet(v.vmFlags, VM_SEALED);
    expect(sysMremap(mm, a, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE)).toBe(-EPERM);
    mmapWriteLock(mm);
    const vdso = mapVdso(mm);
    mmapWriteUnlock(mm);
    expect(sysMremap(mm, vdso, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE)).toBe(-EFAULT);
    checkMm(t);
  });

  it('growing past the mlock limit is EAGAIN; past RLIMIT_AS ENOMEM', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 2 * PAGE, RW, ANON | MAP_LOCKED);
    mm.rlim.memlock.cur = 3 * PAGE;
    expect(sysMremap(mm, a, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE)).toBe(-EAGAIN);
    const b = sysMmap(mm, 0, 2 * PAGE, RW, ANON);
    mm.rlim.as.cur = 5 * PAGE;
    expect(sysMremap(mm, b, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE)).toBe(-ENOMEM);
    checkMm(t);
  });

  it('old_len 0 duplicates a shared mapping', () => {
    const t = makeMm();
    const { mm } = t;
    const a = sysMmap(mm, 0, 2 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    const b = sysMremap(mm, a, 0, 2 * PAGE, MREMAP_MAYMOVE);
    expect(b).toBeGreaterThan(0);
    expect(vmaAt(mm, b).vmFile).toBe(vmaAt(mm, a).vmFile);
    checkMm(t);
  });
});

/**
 * Commit charges Linux 7.2 does not return. The model keeps them (it is a
 * model of the kernel); checkMm() is told with `commitSkew`.
 */
describe('mremap: commit charge the kernel keeps', () => {
  it('a MREMAP_FIXED move that also shrinks charges the size difference twice (vrm_calc_charge after shrink_vma)', () => {
    // mremap_to() shrinks first (shrink_vma() unaccounts the tail), then
    // move_vma() charges vrm->delta, still old_len - new_len, for a move
    // that needs no charge at all; nothing uncharges it. Also on a real
    // 6.18 kernel: a 1 GiB private writable mapping moved with
    // MREMAP_FIXED to 512 MiB leaves Committed_AS 512 MiB higher after
    // everything is unmapped.
    const t = makeMm();
    const { mm, ctx } = t;
    const a = 0x40000000;
    const b = 0x50000000;
    sysMmap(mm, a, 8 * PAGE, RW, ANON | MAP_FIXED);
    expect(ctx.vmMemoryCommitted()).toBe(8);
    expect(sysMremap(mm, a, 8 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, b)).toBe(b);
    expect(ranges(mm)).toEqual([[b / PAGE, b / PAGE + 3]]);
    expect(ctx.vmMemoryCommitted()).toBe(3 + 5);
    t.commitSkew = 5;
    checkMm(t);
    expect(vmMunmap(mm, b, 3 * PAGE)).toBe(0);
    expect(ctx.vmMemoryCommitted()).toBe(5);
    checkMm(t);
    // shrinking in place returns the charge
    sysMmap(mm, a, 8 * PAGE, RW, ANON | MAP_FIXED);
    expect(sysMremap(mm, a, 8 * PAGE, 3 * PAGE, 0)).toBe(a);
    expect(ctx.vmMemoryCommitted()).toBe(5 + 3);
    checkMm(t);
  });

  it('when unmapping the moved source fails, the source stays and is charged again, accounted or not', () => {
    // unmap_source_vma(): "OOM: unable to split vma, just get accounts
    // right" charges old_len unconditionally; an accounted source also
    // keeps VM_ACCOUNT cleared, so its own charge is never returned.
    for (const prot of [RW, PROT_READ]) {
      const a = 0x40000000;
      const b = 0x50000000;
      let seen = false;
      for (let n = 1; !seen; n++) {
        const t = makeMm();
        const { mm, ctx } = t;
        sysMmap(mm, a, 8 * PAGE, prot, ANON | MAP_FIXED);
        const fs = t.caches.slab.failslab;
        fs.configure({ ignoreGfpReclaim: false, prefill: true, failNth: n });
        const ret = sysMremap(mm, a + 2 * PAGE, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, b);
        const fired = fs.nrFailed > 0;
        fs.configure({ failNth: 0, ignoreGfpReclaim: true, prefill: false });
        expect(fired, `no allocation ${n} left the source mapped`).toBe(true);
        if (ret !== b || ranges(mm).length !== 2 || vmaAt(mm, a + 2 * PAGE).vmStart !== a) continue;
        seen = true;
        expect(ranges(mm)).toEqual([
          [a / PAGE, a / PAGE + 8],
          [b / PAGE, b / PAGE + 2],
        ]);
        expect(vmaAt(mm, a).vmFlags & VM_ACCOUNT).toBe(0);
        const newAccounted = prot === RW ? 2 : 0;
        expect(vmaAt(mm, b).vmFlags & VM_ACCOUNT).toBe(prot === RW ? VM_ACCOUNT : 0);
        // before: 8 (or 0); after: that, plus 2 charged again
        expect(ctx.vmMemoryCommitted()).toBe((prot === RW ? 8 : 0) + 2);
        t.commitSkew = ctx.vmMemoryCommitted() - newAccounted;
        checkMm(t);
      }
    }
  });
});
