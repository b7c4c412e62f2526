// The README examples, run as written.
import { createMachine, MMU_USER, MMU_WRITE } from '@mm/machine';
import { expect, it } from 'vitest';
import {
  archDescriptor,
  createPageTables,
  EntryCodec,
  LEAF_KIND,
  PteVal,
  PteView,
  pmdAllocWalk,
  ptdumpWalkPgd,
  pteAlloc,
  pteOffsetMapLock,
  ptepGet,
  pteUnmapUnlock,
  setPtes,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  walkPageRange,
} from '../src/index.js';

it('README: encode and decode an x86-64 PTE', () => {
  const ec = new EntryCodec(archDescriptor('x86_64'));
  const view = new PteView();
  view.kind = LEAF_KIND.PRESENT;
  view.pfn = 0x1234;
  view.write = true;
  view.dirty = true;
  view.young = true;
  const pte = ec.encodePte(new PteVal(), view);
  expect(pte.toHex()).toBe('0x8000000001234067');
  expect(ec.decodePte(pte, new PteView()).kind).toBe(LEAF_KIND.PRESENT);
});

it('README: build an address space, access it through the MMU, walk it, dump it', () => {
  const machine = createMachine({ arch: 'x86_64', seed: 1, nodes: [{ memoryBytes: 2 ** 30, cpus: 2 }] });
  const pt = createPageTables(machine, { arch: archDescriptor('x86_64') }); // registers the walker
  const mm = pt.mmAlloc()!;

  // Map 16 pages at 0x7f0000001000 to frames 0x5000.. as a shared writable mapping.
  const addr = 0x7f00_0000_1000;
  const pmdp = pmdAllocWalk(mm, addr); // allocates the PUD and PMD tables
  pteAlloc(mm, pmdp); // and the PTE table
  const ptep = pteOffsetMapLock(mm, pmdp, addr);
  const prot = new PteVal();
  pt.codec.vmGetPageProt(prot, VM_READ | VM_WRITE | VM_SHARED);
  const pte = new PteVal();
  pt.codec.pfnPte(pte, 0x5000, prot);
  setPtes(mm, addr, ptep, pte, 16);
  pteUnmapUnlock(mm, ptep);

  // A store from CPU 1: TLB miss, hardware walk (A and D set), frame 0x5005.
  expect(machine.mmu.access(1, mm.as, addr + 5 * 4096 + 8, MMU_WRITE | MMU_USER)).toBe(0x5005);

  // walk_page_range() over the VMA: the typed view of every mapped PTE.
  const view = new PteView();
  const seen: string[] = [];
  const vma = { start: addr, end: addr + 16 * 4096, anonymous: false };
  walkPageRange(
    mm,
    vma.start,
    vma.end,
    {
      pteEntry(slot, a, _next, walk) {
        pt.entries.decodePte(ptepGet(walk.mm, slot, new PteVal()), view);
        if (view.dirty) seen.push(`0x${a.toString(16)} -> pfn 0x${view.pfn.toString(16)} dirty`);
        return 0;
      },
    },
    null,
    (a) => (a < vma.end ? vma : null),
  );
  expect(seen).toEqual(['0x7f0000006000 -> pfn 0x5005 dirty']);

  // ptdump in the kernel's x86 format (ranges split where any flag differs, A/D included).
  expect(ptdumpWalkPgd(mm, { start: 0x7f00_0000_0000, end: 0x7f00_0020_0000 }).text).toBe(
    [
      '---[ User Space ]---',
      '0x00007f0000000000-0x00007f0000001000           4K                               pte',
      '0x00007f0000001000-0x00007f0000006000          20K USR RW                     NX pte',
      '0x00007f0000006000-0x00007f0000007000           4K USR RW                     NX pte', // A and D differ
      '0x00007f0000007000-0x00007f0000011000          40K USR RW                     NX pte',
      '0x00007f0000011000-0x00007f0000200000        1980K                               pte',
      '',
    ].join('\n'),
  );
});
