/**
 * The huge zero folio (mm/huge_memory.c), one behaviour per test, on x86-64
 * and arm64 in both mapcount modes: a read fault on a THP-eligible PMD range
 * of a private anonymous VMA maps it read-only with a special PMD (one
 * `thp_zero_page_alloc` for the whole system, one reference per mm that used
 * it); it reads 0, is not in RSS, smaps or the rmap, shows PM_FILE without
 * PM_MMAP_EXCLUSIVE in pagemap (pmd_page() is not anonymous) and
 * ZERO_PAGE|THP in kpageflags. A write replaces it with a THP
 * (`do_huge_zero_wp_pmd()`), or, when no THP can be had, splits it into PTEs
 * of the small zero page and copies one page. fork copies the PMD (the
 * child's mm takes a reference), munmap and mprotect of part of it split it,
 * whole-PMD mprotect / mremap / MADV_DONTNEED keep or move or drop it whole,
 * uffd-wp protects it, `use_zero_page` 0 makes the read allocate a THP, and
 * the shrinker frees the folio once no mm holds it.
 */
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  type Kernel,
  KPF,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MMF_HUGE_ZERO_FOLIO,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PM_FILE,
  PM_MMAP_EXCLUSIVE,
  PM_PRESENT,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  procKpagecount,
  procKpageflags,
  procMeminfo,
  procPidPagemap,
  procPidSmaps,
  procVmstat,
  type Task,
  thpSysfsRead,
  thpSysfsWrite,
} from '../../src/index.js';

const PAGE = 4096;
const PMD = 2 * 1024 * 1024;
const NR = PMD / PAGE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

type Arch = 'x86_64' | 'arm64';
type Mapcount = 'page' | 'none';

function boot(arch: Arch, mapcount: Mapcount, thp: 'always' | 'madvise' | 'never' = 'always'): [Kernel, Task] {
  const k = createKernel({ arch, seed: 3, mapcount, thp });
  return [k, k.spawn({ name: 'hz' }) as Task];
}

/** A PMD-aligned address inside a new private anonymous mapping of `pmds` + 1 PMDs. */
function alignedRegion(p: Task, pmds: number, prot = RW): number {
  const raw = p.mmap(0, (pmds + 1) * PMD, prot, ANON);
  return Math.ceil(raw / PMD) * PMD;
}

function pagemap(k: Kernel, t: Task, addr: number): bigint {
  return procPidPagemap(k, t.mm!, addr, 1)[0]!;
}

function pfnOf(k: Kernel, t: Task, addr: number): number {
  const e = pagemap(k, t, addr);
  return (e & PM_PRESENT) === 0n ? -1 : Number(e & ((1n << 55n) - 1n));
}

function ev(k: Kernel, name: string): number {
  const line = procVmstat(k)
    .split('\n')
    .find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in /proc/vmstat`);
  return Number(line.split(' ')[1]);
}

/** The smaps field `name` (kB) of the VMA containing `addr`. */
function smapsField(k: Kernel, t: Task, addr: number, name: string): number {
  const blocks = procPidSmaps(k, t.mm!).split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  for (const b of blocks) {
    const [range] = b.split(' ');
    const [s, e] = range!.split('-').map((x) => Number.parseInt(x, 16));
    if (s! <= addr && addr < e!) {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(b);
      if (m === null) throw new Error(`no ${name} in smaps`);
      return Number(m[1]);
    }
  }
  throw new Error(`no VMA at ${addr.toString(16)}`);
}

function meminfo(k: Kernel, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(procMeminfo(k));
  return Number(m![1]);
}

function failNextPmdOrderAlloc(k: Kernel): void {
  const f = k.machine.mem.failPageAlloc;
  f.configure({
    probability: 100,
    interval: 1,
    times: 1,
    minOrder: 9,
    ignoreGfpReclaim: false,
    ignoreGfpHighmem: false,
  });
  f.count = 0;
  f.nrFailed = 0;
}

describe.each([
  ['x86_64', 'page'],
  ['x86_64', 'none'],
  ['arm64', 'page'],
  ['arm64', 'none'],
] as const)('huge zero folio (%s, mapcount %s)', (arch, mapcount) => {
  it('a read fault maps it with one read-only PMD: reads 0, no RSS, not in smaps or the rmap', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    const free0 = meminfo(k, 'MemFree');
    const rss0 = k.rss(p.mm!);
    expect(p.read(a + 5 * PAGE)).toBe(0);
    expect(k.hugeZeroPfn).toBeGreaterThanOrEqual(0);
    expect(k.hugeZeroPfn % NR).toBe(0);
    // every page of the PMD now translates without another fault
    const faults = ev(k, 'pgfault');
    for (let i = 0; i < NR; i += 37) expect(p.read(a + i * PAGE)).toBe(0);
    expect(ev(k, 'pgfault')).toBe(faults);
    expect(pfnOf(k, p, a + 7 * PAGE)).toBe(k.hugeZeroPfn + 7);
    const e = pagemap(k, p, a);
    expect(e & PM_FILE).toBe(PM_FILE); // pmd_page() is not anonymous
    expect(e & PM_MMAP_EXCLUSIVE).toBe(0n); // nor mapped (no rmap)
    expect(ev(k, 'thp_zero_page_alloc')).toBe(1);
    expect(ev(k, 'thp_fault_alloc')).toBe(0);
    expect(k.events.get('zero_page_fault')).toBe(0);
    expect(k.rss(p.mm!)).toBe(rss0);
    expect(smapsField(k, p, a, 'Rss')).toBe(0);
    expect(smapsField(k, p, a, 'AnonHugePages')).toBe(0);
    expect(meminfo(k, 'AnonHugePages')).toBe(0);
    expect(free0 - meminfo(k, 'MemFree')).toBeGreaterThanOrEqual(PMD / 1024);
    expect(k.userFolios.size).toBe(0);
    expect(p.mm!.mmFlags & MMF_HUGE_ZERO_FOLIO).toBe(MMF_HUGE_ZERO_FOLIO);
    expect(k.hugeZeroRefcount).toBe(2); // the shrinker's and this mm's
    const flags = procKpageflags(k, k.hugeZeroPfn, 2);
    const bit = (b: number): bigint => 1n << BigInt(b);
    expect(flags[0]).toBe(bit(KPF.COMPOUND_HEAD) | bit(KPF.THP) | bit(KPF.ZERO_PAGE));
    expect(flags[1]).toBe(bit(KPF.COMPOUND_TAIL) | bit(KPF.THP) | bit(KPF.ZERO_PAGE));
    expect(procKpagecount(k, k.hugeZeroPfn, 2)).toEqual([0, 0]);
    k.validate();
    // a second process: the same folio, no new allocation, one more reference
    const q = k.spawn({ name: 'hz2' }) as Task;
    const b = alignedRegion(q, 1);
    expect(q.read(b)).toBe(0);
    expect(pfnOf(k, q, b)).toBe(k.hugeZeroPfn);
    expect(ev(k, 'thp_zero_page_alloc')).toBe(1);
    expect(k.hugeZeroRefcount).toBe(3);
    k.validate();
  });

  it('only THP-eligible ranges get it: thp never, MADV_NOHUGEPAGE, no aligned PMD inside, madvise mode', () => {
    for (const [thp, advice, pmds] of [
      ['never', 0, 1],
      ['always', MADV_NOHUGEPAGE, 1],
      ['madvise', 0, 1],
      ['madvise', MADV_HUGEPAGE, 1],
      ['always', 0, 0],
    ] as const) {
      const [k, p] = boot(arch, mapcount, thp);
      const a = pmds === 0 ? p.mmap(0, PMD, RW, ANON) : alignedRegion(p, pmds);
      if (advice !== 0) expect(p.madvise(a, PMD, advice)).toBe(0);
      expect(p.read(a + PAGE)).toBe(0);
      const huge = pfnOf(k, p, a + PAGE) === k.hugeZeroPfn + 1;
      const eligible = (thp === 'always' && advice === 0 && pmds > 0) || advice === MADV_HUGEPAGE;
      // a PMD-sized mapping is only THP-aligned by chance: then it is eligible too
      if (pmds > 0 || a % PMD !== 0) expect(huge).toBe(eligible);
      if (!huge) expect(pfnOf(k, p, a + PAGE)).toBe(k.zeroPfn);
      k.validate();
    }
  });

  it('a write replaces it with a THP of zeroes holding the stored token', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    expect(p.read(a)).toBe(0);
    expect(p.write(a + 9 * PAGE, 42)).toBe(0);
    expect(ev(k, 'thp_fault_alloc')).toBe(1);
    expect(ev(k, 'thp_split_pmd')).toBe(0);
    const f = pfnOf(k, p, a);
    expect(f).not.toBe(k.hugeZeroPfn);
    expect(pfnOf(k, p, a + 9 * PAGE)).toBe(f + 9);
    expect(pagemap(k, p, a) & (PM_FILE | PM_MMAP_EXCLUSIVE)).toBe(PM_MMAP_EXCLUSIVE);
    expect([p.read(a), p.read(a + 9 * PAGE), p.read(a + PMD - PAGE)]).toEqual([0, 42, 0]);
    expect(smapsField(k, p, a, 'AnonHugePages')).toBe(PMD / 1024);
    expect(k.rss(p.mm!) * PAGE).toBeGreaterThanOrEqual(PMD);
    // the mm keeps its reference until it goes
    expect(k.hugeZeroRefcount).toBe(2);
    k.validate();
  });

  it('without a THP for the write, the PMD is split into small zero pages and one page is copied', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    expect(p.read(a)).toBe(0);
    failNextPmdOrderAlloc(k);
    expect(p.write(a + 3 * PAGE, 5)).toBe(0);
    expect(k.machine.mem.failPageAlloc.nrFailed).toBe(1);
    expect(ev(k, 'thp_fault_fallback')).toBe(1);
    expect(ev(k, 'thp_split_pmd')).toBe(1);
    expect(ev(k, 'thp_fault_alloc')).toBe(0);
    expect(pfnOf(k, p, a)).toBe(k.zeroPfn);
    expect(pfnOf(k, p, a + PMD - PAGE)).toBe(k.zeroPfn);
    expect(k.folioPages(pfnOf(k, p, a + 3 * PAGE))).toBe(1);
    expect([p.read(a + 3 * PAGE), p.read(a + 4 * PAGE)]).toEqual([5, 0]);
    expect(k.userFolios.size).toBe(1);
    k.validate();
  });

  it('without a huge zero folio the read falls back to the small zero page', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    failNextPmdOrderAlloc(k);
    expect(p.read(a)).toBe(0);
    expect(ev(k, 'thp_zero_page_alloc_failed')).toBe(1);
    expect(ev(k, 'thp_fault_fallback')).toBe(1);
    expect(pfnOf(k, p, a)).toBe(k.zeroPfn);
    expect(k.hugeZeroRefcount).toBe(0);
    expect(p.mm!.mmFlags & MMF_HUGE_ZERO_FOLIO).toBe(0);
    k.validate();
  });

  it('fork copies the PMD and the child takes a reference; each side writes its own THP', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    expect(p.read(a)).toBe(0);
    const c = p.fork() as Task;
    expect(pfnOf(k, c, a + PAGE)).toBe(k.hugeZeroPfn + 1);
    expect(c.mm!.mmFlags & MMF_HUGE_ZERO_FOLIO).toBe(MMF_HUGE_ZERO_FOLIO);
    expect(k.hugeZeroRefcount).toBe(3);
    expect(k.userFolios.size).toBe(0);
    k.validate();
    expect(c.write(a, 1)).toBe(0);
    expect([p.read(a), c.read(a)]).toEqual([0, 1]);
    expect(pfnOf(k, p, a)).toBe(k.hugeZeroPfn);
    expect(p.write(a + PAGE, 2)).toBe(0);
    expect([p.read(a + PAGE), c.read(a + PAGE), p.read(a)]).toEqual([2, 0, 0]);
    expect(ev(k, 'thp_fault_alloc')).toBe(2);
    k.validate();
    c.exit(0);
    p.wait();
    expect(k.hugeZeroRefcount).toBe(2);
    k.validate();
  });

  it('munmap and mprotect of part of it split it; of all of it keep it whole or drop it', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 3);
    for (let i = 0; i < 3; i++) expect(p.read(a + i * PMD)).toBe(0);
    // part: split into small zero pages around the hole
    expect(p.munmap(a + 4 * PAGE, PAGE)).toBe(0);
    expect(ev(k, 'thp_split_pmd')).toBe(1);
    expect(pfnOf(k, p, a + 5 * PAGE)).toBe(k.zeroPfn);
    expect(p.read(a + 4 * PAGE)).toBe(-14);
    expect(p.read(a + 5 * PAGE)).toBe(0);
    k.validate();
    // whole PMD mprotect: the leaf stays (read-only, special)
    expect(p.mprotect(a + PMD, PMD, PROT_READ)).toBe(0);
    expect(pfnOf(k, p, a + PMD)).toBe(k.hugeZeroPfn);
    expect(p.write(a + PMD, 1)).toBe(-14);
    expect(p.mprotect(a + PMD, PMD, PROT_NONE)).toBe(0);
    expect(p.read(a + PMD)).toBe(-14);
    expect(p.mprotect(a + PMD, PMD, RW)).toBe(0);
    expect(pfnOf(k, p, a + PMD)).toBe(k.hugeZeroPfn);
    expect(ev(k, 'thp_split_pmd')).toBe(1);
    k.validate();
    expect(p.write(a + PMD + PAGE, 3)).toBe(0); // a THP now
    expect(p.read(a + PMD + PAGE)).toBe(3);
    // part mprotect splits
    expect(p.mprotect(a + 2 * PMD, PAGE, PROT_READ)).toBe(0);
    expect(ev(k, 'thp_split_pmd')).toBe(2);
    expect(pfnOf(k, p, a + 2 * PMD + PAGE)).toBe(k.zeroPfn);
    k.validate();
    // whole munmap / MADV_DONTNEED of a huge zero PMD drop it with its table, no folio freed
    const q = alignedRegion(p, 2);
    expect(p.read(q)).toBe(0);
    expect(p.read(q + PMD)).toBe(0);
    const ptes = (p.mm!.pgt as { nrPtes: number }).nrPtes;
    expect(p.madvise(q, PMD, MADV_DONTNEED)).toBe(0);
    expect(pfnOf(k, p, q)).toBe(-1);
    expect(p.munmap(q + PMD, PMD)).toBe(0);
    expect((p.mm!.pgt as { nrPtes: number }).nrPtes).toBe(ptes - 2);
    expect(ev(k, 'thp_split_pmd')).toBe(2);
    expect(p.read(q)).toBe(0); // faults the huge zero PMD in again
    expect(pfnOf(k, p, q)).toBe(k.hugeZeroPfn);
    k.validate();
  });

  it('mremap moves the PMD with its table', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    expect(p.read(a)).toBe(0);
    const dst = alignedRegion(p, 1);
    expect(p.munmap(dst, PMD)).toBe(0);
    expect(p.mremap(a, PMD, PMD, MREMAP_MAYMOVE | MREMAP_FIXED, dst)).toBe(dst);
    expect(pfnOf(k, p, dst + 2 * PAGE)).toBe(k.hugeZeroPfn + 2);
    expect(p.read(dst + 2 * PAGE)).toBe(0);
    expect(ev(k, 'thp_split_pmd')).toBe(0);
    k.validate();
    expect(p.write(dst, 9)).toBe(0);
    expect(p.read(dst)).toBe(9);
    k.validate();
  });

  it('uffd-wp protects it: a write is a UFFD_WP fault until resolved', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    expect(p.read(a)).toBe(0);
    // register the whole VMA
    const vma = [...procPidSmaps(k, p.mm!).matchAll(/^([0-9a-f]+)-([0-9a-f]+) /gm)]
      .map((m) => [Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16)] as const)
      .find(([s, e]) => s <= a && a < e)!;
    expect(p.uffdRegisterWp(vma[0], vma[1] - vma[0])).toBe(0);
    expect(p.uffdWriteprotect(a, PMD, true)).toBe(0);
    expect(pfnOf(k, p, a)).toBe(k.hugeZeroPfn);
    expect(p.write(a, 1)).toBe(-14);
    expect(p.lastFault?.signal).toBe('UFFD_WP');
    expect(p.uffdWriteprotect(a, PMD, false)).toBe(0);
    expect(p.write(a, 1)).toBe(0);
    expect(p.read(a)).toBe(1);
    k.validate();
  });

  it('use_zero_page 0 makes a read fault allocate a THP; the sysfs file toggles and checks its value', () => {
    const [k, p] = boot(arch, mapcount);
    expect(thpSysfsRead(k, 'use_zero_page')).toBe('1\n');
    expect(thpSysfsWrite(k, 'use_zero_page', '2')).toBe(-22);
    expect(thpSysfsWrite(k, 'use_zero_page', 'yes')).toBe(-22);
    expect(thpSysfsWrite(k, 'use_zero_page', '0\n')).toBe(0);
    expect(thpSysfsRead(k, 'use_zero_page')).toBe('0\n');
    const a = alignedRegion(p, 1);
    expect(p.read(a)).toBe(0);
    expect(ev(k, 'thp_fault_alloc')).toBe(1);
    expect(ev(k, 'thp_zero_page_alloc')).toBe(0);
    expect(smapsField(k, p, a, 'AnonHugePages')).toBe(PMD / 1024);
    expect(pagemap(k, p, a) & PM_MMAP_EXCLUSIVE).toBe(PM_MMAP_EXCLUSIVE);
    expect(thpSysfsWrite(k, 'use_zero_page', '1')).toBe(0);
    const b = alignedRegion(p, 1);
    expect(p.read(b)).toBe(0);
    expect(pfnOf(k, p, b)).toBe(k.hugeZeroPfn);
    k.validate();
  });

  it('the shrinker frees it once no mm holds it; the next use allocates it again', () => {
    const [k, p] = boot(arch, mapcount);
    const a = alignedRegion(p, 1);
    expect(p.read(a)).toBe(0);
    expect(k.shrinkHugeZeroFolio()).toBe(0); // in use
    const c = p.fork() as Task;
    // unmapping does not drop the mm's reference: only the mm's end does
    expect(p.munmap(a, PMD)).toBe(0);
    c.exit(0);
    p.wait();
    expect(k.hugeZeroRefcount).toBe(2);
    expect(k.shrinkHugeZeroFolio()).toBe(0);
    p.exit(0);
    expect(k.hugeZeroRefcount).toBe(1);
    const pfn = k.hugeZeroPfn;
    expect(k.shrinkHugeZeroFolio()).toBe(NR);
    // back in the buddy allocator
    expect(procKpageflags(k, pfn, 1)[0]! & (1n << BigInt(KPF.BUDDY))).not.toBe(0n);
    expect(k.hugeZeroRefcount).toBe(0);
    k.validate();
    const q = k.spawn({ name: 'again' }) as Task;
    const b = alignedRegion(q, 1);
    expect(q.read(b)).toBe(0);
    expect(ev(k, 'thp_zero_page_alloc')).toBe(2);
    k.validate();
  });
});
