/**
 * shmem THP (mm/shmem.c, do_set_pmd in mm/memory.c), on x86-64 and arm64 in
 * both mapcount modes: which settings let a shmem fault allocate a
 * PMD-sized folio in the page cache (`shmem_enabled` for shared anonymous
 * memory with the per-size `hugepages-2048kB/shmem_enabled`, `deny` and
 * `force`, the tmpfs mount's `huge=` for files, MADV_HUGEPAGE for `advise`,
 * `within_size`, MADV_NOHUGEPAGE), the PMD mapping of it (ShmemPmdMapped,
 * ShmemHugePages, smaps ShmemPmdMapped, RssShmem, `thp_file_alloc` /
 * `thp_file_mapped`), PTE mappings when the file offset is not PMD-aligned (and no THP is allocated for such a VMA),
 * fork (the child refaults: file PMDs are not copied), partial munmap /
 * mprotect (the PMD goes, the pages refault as PTEs), private mappings (a
 * read-only PMD, CoW to small anonymous pages), allocation failure
 * (`thp_file_fallback`), and the end (nothing leaked).
 */

import { type MmPgtables, PMD_LEVEL, PteVal, pmdpGet } from '@mm/pgtable-arch';
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  type Kernel,
  type KernelOptions,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PM_FILE,
  PM_PRESENT,
  PROT_READ,
  PROT_WRITE,
  procMeminfo,
  procPidPagemap,
  procPidSmaps,
  procPidStatus,
  procVmstat,
  type Task,
  thpSysfsRead,
  thpSysfsWrite,
} from '../../src/index.js';

const PAGE = 4096;
const PMD = 2 * 1024 * 1024;
const NR = PMD / PAGE;
const RW = PROT_READ | PROT_WRITE;

type Arch = 'x86_64' | 'arm64';
type Mapcount = 'page' | 'none';

function boot(arch: Arch, mapcount: Mapcount, opts: Partial<KernelOptions> = {}): [Kernel, Task] {
  const k = createKernel({ arch, seed: 4, mapcount, ...opts });
  return [k, k.spawn({ name: 'shm' }) as Task];
}

/** A PMD-aligned hole of `pmds` PMDs (reserved, then unmapped). */
function alignedHole(p: Task, pmds: number): number {
  const raw = p.mmap(0, (pmds + 1) * PMD, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  const a = Math.ceil(raw / PMD) * PMD;
  expect(p.munmap(raw, (pmds + 1) * PMD)).toBe(0);
  return a;
}

/** Shared anonymous memory of `pmds` PMDs at a PMD-aligned address. */
function shmAnon(p: Task, pmds: number): number {
  const a = alignedHole(p, pmds);
  expect(p.mmap(a, pmds * PMD, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)).toBe(a);
  return a;
}

function pfnOf(k: Kernel, t: Task, addr: number): number {
  const e = procPidPagemap(k, t.mm!, addr, 1)[0]!;
  return (e & PM_PRESENT) === 0n ? -1 : Number(e & ((1n << 55n) - 1n));
}

function meminfo(k: Kernel, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(procMeminfo(k))![1]);
}

function ev(k: Kernel, name: string): number {
  const line = procVmstat(k)
    .split('\n')
    .find((l) => l.startsWith(`${name} `));
  return Number(line!.split(' ')[1]);
}

function smapsField(k: Kernel, t: Task, addr: number, name: string): number {
  for (const b of procPidSmaps(k, t.mm!).split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [s, e] = b
      .split(' ')[0]!
      .split('-')
      .map((x) => Number.parseInt(x, 16));
    if (s! <= addr && addr < e!) return Number(new RegExp(`^${name}:\\s+(\\d+)( kB)?$`, 'm').exec(b)![1]);
  }
  throw new Error('no VMA');
}

/** Whether `addr` is mapped by a PMD leaf of a PMD-sized folio. */
function pmdMapped(k: Kernel, t: Task, addr: number): boolean {
  const pgt = t.mm!.pgt as MmPgtables;
  const pmdp = k.pt.lookup(pgt, PMD_LEVEL, addr);
  if (pmdp < 0) return false;
  const v = pmdpGet(pgt, pmdp, new PteVal());
  const c = k.pt.codec;
  return !c.pmdNone(v) && c.pmdPresent(v) && c.pmdLeaf(v) && k.folioPages(c.pmdPfn(v)) === NR;
}

describe.each([
  ['x86_64', 'page'],
  ['x86_64', 'none'],
  ['arm64', 'page'],
  ['arm64', 'none'],
] as const)('shmem THP (%s, mapcount %s)', (arch, mapcount) => {
  it('shmem_enabled and the per-size files read and write the kernel values', () => {
    const [k] = boot(arch, mapcount);
    expect(thpSysfsRead(k, 'shmem_enabled')).toBe('always within_size advise [never] deny force\n');
    expect(thpSysfsRead(k, 'hugepages-2048kB/shmem_enabled')).toBe('always [inherit] within_size advise never\n');
    expect(thpSysfsRead(k, 'hugepages-64kB/shmem_enabled')).toBe('always inherit within_size advise [never]\n');
    expect(thpSysfsWrite(k, 'shmem_enabled', 'sometimes')).toBe(-22);
    expect(thpSysfsWrite(k, 'shmem_enabled', 'force')).toBe(0);
    expect(thpSysfsRead(k, 'shmem_enabled')).toBe('always within_size advise never deny [force]\n');
    expect(thpSysfsWrite(k, 'hugepages-2048kB/shmem_enabled', 'deny')).toBe(-22);
    expect(thpSysfsWrite(k, 'hugepages-2048kB/shmem_enabled', 'within_size')).toBe(0);
    expect(thpSysfsRead(k, 'hugepages-2048kB/shmem_enabled')).toBe('always inherit [within_size] advise never\n');
  });

  it('shared anonymous memory with shmem_enabled=always: one PMD maps a cached THP; counted as the kernel does', () => {
    const [k, p] = boot(arch, mapcount, { shmemEnabled: 'always' });
    const a = shmAnon(p, 2);
    expect(p.read(a + 3 * PAGE)).toBe(0);
    expect(pmdMapped(k, p, a)).toBe(true);
    expect(procPidPagemap(k, p.mm!, a, 1)[0]! & PM_FILE).toBe(PM_FILE);
    expect([ev(k, 'thp_file_alloc'), ev(k, 'thp_file_mapped')]).toEqual([1, 1]);
    expect(meminfo(k, 'ShmemHugePages')).toBe(2048);
    expect(meminfo(k, 'ShmemPmdMapped')).toBe(2048);
    expect(meminfo(k, 'Shmem')).toBe(2048);
    expect(smapsField(k, p, a, 'ShmemPmdMapped')).toBe(2048);
    expect(smapsField(k, p, a, 'Rss')).toBe(2048);
    expect(/RssShmem:\s+2048 kB/.test(procPidStatus(k, p.pid))).toBe(true);
    expect(smapsField(k, p, a, 'THPeligible')).toBe(1);
    // the PMD is writable (a shared mapping's protections): stores need no further fault
    const faults = ev(k, 'pgfault');
    expect(p.write(a + 5 * PAGE, 11)).toBe(0);
    expect(ev(k, 'pgfault')).toBe(faults);
    expect(p.read(a + 5 * PAGE)).toBe(11);
    // the second PMD: another THP
    expect(p.write(a + PMD, 12)).toBe(0);
    expect(pmdMapped(k, p, a + PMD)).toBe(true);
    expect(meminfo(k, 'ShmemHugePages')).toBe(4096);
    k.validate();
  });

  it('the default (never) caches small folios; per-size always, advise, within_size, deny, force and MADV_NOHUGEPAGE', () => {
    const cases: [Partial<KernelOptions>, number, boolean][] = [
      [{}, 0, false],
      [{ shmemMthp: { 2048: 'always' } }, 0, true],
      [{ shmemEnabled: 'advise' }, 0, false],
      [{ shmemEnabled: 'advise' }, MADV_HUGEPAGE, true],
      [{ shmemMthp: { 2048: 'advise' } }, MADV_HUGEPAGE, true],
      [{ shmemEnabled: 'within_size' }, 0, true], // the mapping's size covers the PMD
      [{ shmemEnabled: 'always' }, MADV_NOHUGEPAGE, false],
      [{ shmemEnabled: 'deny', shmemMthp: { 2048: 'always' } }, 0, false],
      [{ shmemEnabled: 'force', shmemMthp: { 2048: 'always' } }, 0, false], // force: inherit orders only
      [{ shmemEnabled: 'force' }, 0, true],
    ];
    for (const [opts, advice, huge] of cases) {
      const [k, p] = boot(arch, mapcount, opts);
      const a = shmAnon(p, 1);
      if (advice !== 0) expect(p.madvise(a, PMD, advice)).toBe(0);
      expect(p.write(a + PAGE, 1)).toBe(0);
      expect([JSON.stringify(opts), advice, pmdMapped(k, p, a)]).toEqual([JSON.stringify(opts), advice, huge]);
      expect(meminfo(k, 'ShmemHugePages')).toBe(huge ? 2048 : 0);
      expect(smapsField(k, p, a, 'THPeligible')).toBe(huge ? 1 : 0);
      k.validate();
    }
  });

  it('tmpfs files follow the mount option; a misaligned file offset maps the THP with PTEs', () => {
    const [k, p] = boot(arch, mapcount, { tmpfsHuge: 'always', shmemEnabled: 'never' });
    const f = k.createFile('/tmp/big', 4 * PMD);
    for (let i = 0; i < 4 * NR; i += 100) k.writeFile(f, i, 1000 + i);
    const a = alignedHole(p, 2);
    expect(p.mmap(a, PMD, RW, MAP_SHARED | MAP_FIXED, f, 0)).toBe(a);
    expect(p.read(a + 100 * PAGE)).toBe(1100);
    expect(pmdMapped(k, p, a)).toBe(true);
    expect(ev(k, 'thp_file_mapped')).toBe(1);
    // file offset one page in: the cached THP of [0, 512) is mapped page by page; no new THP for a misfit VMA
    expect(p.mmap(a + PMD, PMD, RW, MAP_SHARED | MAP_FIXED, f, PAGE)).toBe(a + PMD);
    expect(p.read(a + PMD + 99 * PAGE)).toBe(1100);
    expect(pfnOf(k, p, a + PMD + 99 * PAGE)).toBe(pfnOf(k, p, a + 100 * PAGE));
    expect(pmdMapped(k, p, a + PMD)).toBe(false);
    expect(p.read(a + 2 * PMD - PAGE)).toBe(0); // file index 512: a small folio
    expect(k.folioPages(pfnOf(k, p, a + 2 * PMD - PAGE))).toBe(1);
    expect(ev(k, 'thp_file_alloc')).toBe(1);
    expect(ev(k, 'thp_file_mapped')).toBe(1);
    expect(meminfo(k, 'ShmemPmdMapped')).toBe(2048);
    expect(meminfo(k, 'ShmemHugePages')).toBe(2048);
    // shmem_enabled does not reach tmpfs files, except force and deny
    const [k2, p2] = boot(arch, mapcount, { shmemEnabled: 'always' });
    const g = k2.createFile('/tmp/small', PMD);
    const b = alignedHole(p2, 1);
    expect(p2.mmap(b, PMD, RW, MAP_SHARED | MAP_FIXED, g, 0)).toBe(b);
    expect(p2.read(b)).toBe(0);
    expect(pmdMapped(k2, p2, b)).toBe(false);
    expect(thpSysfsWrite(k2, 'shmem_enabled', 'force')).toBe(0);
    expect(p2.read(b + PMD - PAGE)).toBe(0);
    expect(meminfo(k2, 'ShmemHugePages')).toBe(0); // the small page at 0 is in the way
    const h = k2.createFile('/tmp/forced', PMD);
    const c = alignedHole(p2, 1);
    expect(p2.mmap(c, PMD, RW, MAP_SHARED | MAP_FIXED, h, 0)).toBe(c);
    expect(p2.read(c)).toBe(0);
    expect(pmdMapped(k2, p2, c)).toBe(true);
    k.validate();
    k2.validate();
  });

  it('fork does not copy the file PMD: the child refaults it; both see one page cache', () => {
    const [k, p] = boot(arch, mapcount, { shmemEnabled: 'always' });
    const a = shmAnon(p, 1);
    expect(p.write(a, 5)).toBe(0);
    const c = p.fork() as Task;
    expect(pfnOf(k, c, a)).toBe(-1);
    expect(c.read(a)).toBe(5);
    expect(pmdMapped(k, c, a)).toBe(true);
    expect(pfnOf(k, c, a)).toBe(pfnOf(k, p, a));
    expect(ev(k, 'thp_file_mapped')).toBe(2);
    expect(meminfo(k, 'ShmemPmdMapped')).toBe(2048);
    expect(c.write(a + PAGE, 6)).toBe(0);
    expect(p.read(a + PAGE)).toBe(6);
    k.validate();
    c.exit(0);
    p.wait();
    k.validate();
  });

  it('partial munmap or mprotect drops the PMD; the pages refault as PTEs and keep their contents', () => {
    const [k, p] = boot(arch, mapcount, { shmemEnabled: 'always' });
    const a = shmAnon(p, 2);
    expect(p.write(a + 7 * PAGE, 7)).toBe(0);
    expect(p.write(a + PMD + 8 * PAGE, 8)).toBe(0);
    expect(p.munmap(a + 3 * PAGE, PAGE)).toBe(0);
    expect(ev(k, 'thp_split_pmd')).toBe(1);
    expect(meminfo(k, 'ShmemPmdMapped')).toBe(2048); // the second THP only
    expect(meminfo(k, 'ShmemHugePages')).toBe(4096); // both stay cached
    expect(p.read(a + 7 * PAGE)).toBe(7);
    expect(p.read(a + 3 * PAGE)).toBe(-14);
    expect(pmdMapped(k, p, a)).toBe(false);
    k.validate();
    expect(p.mprotect(a + PMD, PAGE, PROT_READ)).toBe(0);
    expect(ev(k, 'thp_split_pmd')).toBe(2);
    expect(meminfo(k, 'ShmemPmdMapped')).toBe(0);
    expect(p.read(a + PMD + 8 * PAGE)).toBe(8);
    expect(p.write(a + PMD, 1)).toBe(-14);
    expect(p.write(a + PMD + PAGE, 2)).toBe(0);
    k.validate();
    p.exit(0);
    k.releaseDeadFiles();
    expect(k.userFolios.size).toBe(0);
    expect(meminfo(k, 'ShmemHugePages')).toBe(0);
    k.validate();
  });

  it('a private mapping of a tmpfs THP maps it read-only with a PMD; a write copies one small page', () => {
    const [k, p] = boot(arch, mapcount, { tmpfsHuge: 'always' });
    const f = k.createFile('/tmp/priv', PMD);
    k.writeFile(f, 9, 99);
    const a = alignedHole(p, 1);
    expect(p.mmap(a, PMD, RW, MAP_PRIVATE | MAP_FIXED, f, 0)).toBe(a);
    expect(p.read(a + 9 * PAGE)).toBe(99);
    expect(pmdMapped(k, p, a)).toBe(true);
    expect(p.write(a + 9 * PAGE, 100)).toBe(0);
    expect(ev(k, 'thp_split_pmd')).toBe(1);
    expect(k.folioPages(pfnOf(k, p, a + 9 * PAGE))).toBe(1);
    expect([p.read(a + 9 * PAGE), k.readFile(f, 9), p.read(a + 10 * PAGE)]).toEqual([100, 99, 0]);
    expect(smapsField(k, p, a, 'Anonymous')).toBe(4);
    k.validate();
  });

  it('without a THP the fault falls back to a small folio (thp_file_fallback)', () => {
    const [k, p] = boot(arch, mapcount, { shmemEnabled: 'always' });
    const a = shmAnon(p, 1);
    const fpa = k.machine.mem.failPageAlloc;
    fpa.configure({
      probability: 100,
      interval: 1,
      times: 1,
      minOrder: 9,
      ignoreGfpReclaim: false,
      ignoreGfpHighmem: false,
    });
    fpa.count = 0;
    fpa.nrFailed = 0;
    expect(p.write(a, 3)).toBe(0);
    expect(fpa.nrFailed).toBe(1);
    expect(ev(k, 'thp_file_fallback')).toBe(1);
    expect(pmdMapped(k, p, a)).toBe(false);
    expect(p.read(a)).toBe(3);
    // the small page now in the range keeps later faults small too
    expect(p.read(a + PAGE)).toBe(0);
    expect(meminfo(k, 'ShmemHugePages')).toBe(0);
    k.validate();
  });
});
