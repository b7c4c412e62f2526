// ptdump: golden output for a small address space on x86-64 and arm64 (the
// kernel's line formats, equal attributes merged, holes at their real depth,
// a 2M leaf, arm64's contiguous block), and the W+X check.
import { describe, expect, it } from 'vitest';
import {
  __pteAlloc,
  archDescriptor,
  arm64Descriptor,
  PteVal,
  pmdAllocWalk,
  ptdumpCheckWx,
  ptdumpWalkPgd,
  pteOffsetMapLock,
  pteUnmapUnlock,
  setPtes,
} from '../src/index.js';
import { TestKernel } from './harness.js';

/** text r-x, data rw-, a 2M leaf, and a stack-like run of 20 pages (a 64K block on arm64). */
function smallSpace(k: TestKernel): void {
  const b = 0x5555_5555_4000;
  k.map(b, 3, 0x100, false, true);
  k.map(b + 3 * 4096, 2, 0x200, true, false);
  k.mapHuge(0x7f00_0000_0000, 0x40000, true, false);
  k.map(0x7ffc_0000_0000 + 16 * 4096, 20, 0x300, true, false);
}

describe('ptdump golden output', () => {
  it('x86-64 (arch/x86/mm/dump_pagetables.c format)', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    smallSpace(k);
    expect(ptdumpWalkPgd(k.mm).text.split('\n')).toEqual([
      '---[ User Space ]---',
      '0x0000000000000000-0x0000550000000000          85T                               pgd',
      '0x0000550000000000-0x0000555540000000         341G                               pud',
      '0x0000555540000000-0x0000555555400000         340M                               pmd',
      '0x0000555555400000-0x0000555555554000        1360K                               pte',
      '0x0000555555554000-0x0000555555557000          12K USR ro                     x  pte',
      '0x0000555555557000-0x0000555555559000           8K USR RW                     NX pte',
      '0x0000555555559000-0x0000555555600000         668K                               pte',
      '0x0000555555600000-0x0000555580000000         682M                               pmd',
      '0x0000555580000000-0x0000558000000000         170G                               pud',
      '0x0000558000000000-0x00007f0000000000       42496G                               pgd',
      '0x00007f0000000000-0x00007f0000200000           2M USR RW         PSE         NX pmd',
      '0x00007f0000200000-0x00007f0040000000        1022M                               pmd',
      '0x00007f0040000000-0x00007ffc00000000        1007G                               pud',
      '0x00007ffc00000000-0x00007ffc00010000          64K                               pte',
      '0x00007ffc00010000-0x00007ffc00024000          80K USR RW                     NX pte',
      '0x00007ffc00024000-0x00007ffc00200000        1904K                               pte',
      '0x00007ffc00200000-0x00007ffc40000000        1022M                               pmd',
      '0x00007ffc40000000-0x0000800000000000          15G                               pud',
      '0x0000800000000000-0x0001000000000000         128T                               pgd',
      '',
    ]);
  });

  it('arm64 4K/48-bit (arch/arm64/mm/ptdump.c format)', () => {
    const k = new TestKernel(arm64Descriptor({ pageSize: 4096, vaBits: 48 }));
    smallSpace(k);
    expect(ptdumpWalkPgd(k.mm).text.split('\n')).toEqual([
      '---[ User Space ]---',
      '0x0000000000000000-0x0000550000000000          85T PGD',
      '0x0000550000000000-0x0000555540000000         341G PUD',
      '0x0000555540000000-0x0000555555400000         340M PMD',
      '0x0000555555400000-0x0000555555554000        1360K PTE',
      '0x0000555555554000-0x0000555555557000          12K PTE   USR ro NX SHD AF NG                MEM/NORMAL',
      '0x0000555555557000-0x0000555555559000           8K PTE   USR ro NX SHD AF NG         UXN    MEM/NORMAL',
      '0x0000555555559000-0x0000555555600000         668K PTE',
      '0x0000555555600000-0x0000555580000000         682M PMD',
      '0x0000555580000000-0x0000558000000000         170G PUD',
      '0x0000558000000000-0x00007f0000000000       42496G PGD',
      '0x00007f0000000000-0x00007f0000200000           2M PMD   USR ro NX SHD AF NG     BLK UXN    MEM/NORMAL',
      '0x00007f0000200000-0x00007f0040000000        1022M PMD',
      '0x00007f0040000000-0x00007ffc00000000        1007G PUD',
      '0x00007ffc00000000-0x00007ffc00010000          64K PTE',
      '0x00007ffc00010000-0x00007ffc00020000          64K PTE   USR ro NX SHD AF NG CON     UXN    MEM/NORMAL',
      '0x00007ffc00020000-0x00007ffc00024000          16K PTE   USR ro NX SHD AF NG         UXN    MEM/NORMAL',
      '0x00007ffc00024000-0x00007ffc00200000        1904K PTE',
      '0x00007ffc00200000-0x00007ffc40000000        1022M PMD',
      '0x00007ffc40000000-0x0000800000000000          15G PUD',
      '0x0000800000000000-0x0001000000000000         128T PGD',
      '',
    ]);
  });
});

describe('W+X check (DEBUG_WX)', () => {
  it('user text and data pass; a kernel RWX mapping fails with the kernel message', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    smallSpace(k);
    expect(ptdumpCheckWx(k.mm)).toEqual({
      passed: true,
      wxPages: 0,
      messages: ['x86/mm: Checked W+X mappings: passed, no W+X pages found.'],
    });
    // init_mm with __PAGE_KERNEL_EXEC (P | RW | A | D | G, no NX) over 3 pages.
    const init = k.pt.initMmAlloc()!;
    const addr = 0x4000_0000;
    const pmdp = pmdAllocWalk(init, addr);
    __pteAlloc(init, pmdp);
    const ptep = pteOffsetMapLock(init, pmdp, addr);
    const v = new PteVal();
    k.pt.codec.pfnPte(v, 0x500, new PteVal(0x1 | 0x2 | 0x20 | 0x40 | 0x100, 0));
    setPtes(init, addr, ptep, v, 3);
    pteUnmapUnlock(init, ptep);
    const r = ptdumpCheckWx(init);
    expect(r.passed).toBe(false);
    expect(r.wxPages).toBe(3);
    expect(r.messages).toEqual([
      'x86/mm: Found insecure W+X mapping',
      'x86/mm: Checked W+X mappings: failed, 3 W+X pages found.',
    ]);
  });

  it('needs ARCH_HAS_PTDUMP and ARCH_HAS_DEBUG_WX (sparc64 selects neither)', () => {
    const k = new TestKernel({ ...archDescriptor('x86_64'), hasPtdump: false, hasDebugWx: false });
    expect(() => ptdumpWalkPgd(k.mm)).toThrow(/ARCH_HAS_PTDUMP/);
    expect(() => ptdumpCheckWx(k.mm)).toThrow(/ARCH_HAS_DEBUG_WX/);
    expect(archDescriptor('sparc64').hasPtdump).toBe(false);
  });
});
