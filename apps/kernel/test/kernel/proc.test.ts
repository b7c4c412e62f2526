/**
 * /proc views driven through real system calls: seed 000's kpagecount
 * table for a 512-page folio (NO_PAGE_MAPCOUNT), MM owner tracking and
 * PM_MMAP_EXCLUSIVE across fork and exit, the CoW reuse of a PTE-mapped THP
 * after the child exits, smaps in both mapcount modes, status, meminfo,
 * vmstat and the THP sysfs files.
 */
import { folioMaybeMappedShared, pageFolio } from '@mm/folio-rmap';
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  type Kernel,
  KPF,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PM_MMAP_EXCLUSIVE,
  PM_PRESENT,
  PROT_READ,
  PROT_WRITE,
  procKpagecount,
  procKpageflags,
  procMeminfo,
  procPidPagemap,
  procPidSmaps,
  procPidSmapsRollup,
  procPidStatus,
  procVmstat,
  type Task,
  thpSysfsRead,
  thpSysfsWrite,
} from '../../src/index.js';

const PAGE = 4096;
const PMD = 2 * 1024 * 1024;

/** A PMD-aligned 2 MiB anonymous THP region of `t`, written once (a PMD-mapped THP). */
function thpRegion(t: Task): number {
  const raw = t.mmap(0, 2 * PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(raw).toBeGreaterThan(0);
  const a = Math.ceil(raw / PMD) * PMD;
  expect(t.madvise(a, PMD, MADV_HUGEPAGE)).toBe(0);
  expect(t.write(a, 1)).toBe(0);
  return a;
}

function pfnOf(k: Kernel, t: Task, addr: number): number {
  return Number(procPidPagemap(k, t.mm!, addr, 1)[0]! & ((1n << 55n) - 1n));
}

describe('seed 000: kpagecount of a 512-page folio with NO_PAGE_MAPCOUNT, through syscalls', () => {
  it('0 unmapped, 1 for 1..767 page mappings, 2 for 768..1279', () => {
    const k = createKernel({ seed: 1, mapcount: 'none', thp: 'madvise' });
    const p = k.spawn() as Task;
    const a = thpRegion(p);
    expect(k.events.get('thp_fault_alloc')).toBe(1);
    const head = pfnOf(k, p, a);
    expect(procKpageflags(k, head, 1)[0]! & (1n << BigInt(KPF.THP))).not.toBe(0n);
    // PTE-map it: mprotect one page splits the VMA and the PMD
    expect(p.mprotect(a, PAGE, PROT_READ)).toBe(0);
    expect(p.mprotect(a, PAGE, PROT_READ | PROT_WRITE)).toBe(0);
    expect(k.events.get('thp_split_pmd')).toBe(1);
    expect(procKpagecount(k, head, 1)).toEqual([1]); // 512 mappings
    const c = p.fork() as Task; // 1024 page mappings
    expect(procKpagecount(k, head + 100, 1)).toEqual([2]);
    expect(c.munmap(a, 256 * PAGE)).toBe(0); // 768
    expect(procKpagecount(k, head, 1)).toEqual([2]);
    expect(c.munmap(a + 256 * PAGE, PAGE)).toBe(0); // 767
    expect(procKpagecount(k, head, 1)).toEqual([1]);
    c.exit(0);
    expect(procKpagecount(k, head, 1)).toEqual([1]);
    expect(p.munmap(a, PMD)).toBe(0);
    expect(procKpagecount(k, head, 1)).toEqual([0]);
    k.validate();
  });
});

describe.each(['page', 'none'] as const)(
  'MM owner tracking and CoW reuse of a PTE-mapped THP (mapcount %s)',
  (mapcount) => {
    it('shared while two MMs map it, exclusive after the child exits; the parent then reuses it on write', () => {
      const k = createKernel({ seed: 2, mapcount, thp: 'madvise' });
      const p = k.spawn() as Task;
      const a = thpRegion(p);
      expect(p.mprotect(a + PAGE, PAGE, PROT_READ)).toBe(0);
      expect(p.mprotect(a + PAGE, PAGE, PROT_READ | PROT_WRITE)).toBe(0);
      const head = pfnOf(k, p, a);
      expect(procPidPagemap(k, p.mm!, a, 1)[0]! & PM_MMAP_EXCLUSIVE).toBe(PM_MMAP_EXCLUSIVE);
      const c = p.fork() as Task;
      expect(folioMaybeMappedShared(k.rm, pageFolio(k.rm, head))).toBe(true);
      expect(procPidPagemap(k, p.mm!, a, 1)[0]! & PM_MMAP_EXCLUSIVE).toBe(0n);
      expect(c.read(a)).toBe(1);
      c.exit(0);
      p.wait();
      expect(folioMaybeMappedShared(k.rm, pageFolio(k.rm, head))).toBe(false);
      expect(procPidPagemap(k, p.mm!, a, 1)[0]! & PM_MMAP_EXCLUSIVE).toBe(PM_MMAP_EXCLUSIVE);
      // seed 000: the write fault reuses the THP page instead of copying it
      const copies = k.events.get('cow_fault')!;
      expect(p.write(a + 3 * PAGE, 9)).toBe(0);
      expect(k.events.get('cow_fault')).toBe(copies);
      expect(pfnOf(k, p, a + 3 * PAGE)).toBe(head + 3);
      k.validate();
    });
  },
);

describe('smaps, smaps_rollup, status, meminfo, vmstat', () => {
  for (const mapcount of ['page', 'none'] as const) {
    it(`smaps accounts PSS and private/shared from the mapcounts (${mapcount})`, () => {
      const k = createKernel({ seed: 3, mapcount });
      const p = k.spawn() as Task;
      const a = p.mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      for (let i = 0; i < 4; i++) expect(p.write(a + i * PAGE, 10 + i)).toBe(0);
      const c = p.fork() as Task;
      expect(c.write(a, 99)).toBe(0); // the child's own copy of page 0
      const smaps = procPidSmaps(k, p.mm!);
      const i = smaps.indexOf(`${a.toString(16)}-`);
      const block = smaps.slice(i, smaps.indexOf('VmFlags', i));
      expect(block).toContain('Size:                 32 kB\n');
      expect(block).toContain('Rss:                  16 kB\n');
      // page 0 private to the parent (4 kB), pages 1-3 shared by both (12 kB, PSS 6 kB)
      expect(block).toContain('Pss:                  10 kB\n');
      expect(block).toContain('Private_Dirty:         4 kB\n');
      expect(block).toContain('Shared_Dirty:         12 kB\n');
      expect(block).toContain('Anonymous:            16 kB\n');
      expect(block).toContain('Private_Hugetlb:       0 kB\n');
      expect(smaps).toMatch(/VmFlags: rd wr mr mw me ac (sd )?\n/);
      const rollup = procPidSmapsRollup(k, p.mm!);
      expect(rollup.split('\n')[0]).toMatch(/ \[rollup\]$/);
      expect(rollup).toContain('Pss_Anon:');
      const status = procPidStatus(k, p.pid);
      expect(status).toMatch(/VmRSS:\t +\d+ kB\n/);
      expect(status).toContain(`RssAnon:\t${String(16).padStart(8)} kB\n`);
      k.validate();
    });
  }

  it('meminfo, vmstat and the THP sysfs files', () => {
    const k = createKernel({ seed: 4, mthp: { 64: 'always' } });
    const p = k.spawn() as Task;
    const a = p.mmap(0, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(p.write(a + 17 * PAGE, 5)).toBe(0);
    const flags = procKpageflags(k, pfnOf(k, p, a + 16 * PAGE), 1)[0]!;
    expect(flags & (1n << BigInt(KPF.THP))).not.toBe(0n); // a 64 kB mTHP
    expect(flags & (1n << BigInt(KPF.ANON))).not.toBe(0n);
    const meminfo = procMeminfo(k);
    expect(meminfo.split('\n')[0]).toMatch(/^MemTotal: +\d+ kB$/);
    expect(meminfo).toContain(`AnonPages:      ${String(64).padStart(8)} kB\n`);
    expect(procVmstat(k)).toMatch(/\npgfault \d+\n/);
    expect(thpSysfsRead(k, 'enabled')).toBe('always [madvise] never\n');
    expect(thpSysfsRead(k, 'hugepages-64kB/enabled')).toBe('[always] inherit madvise never\n');
    expect(thpSysfsWrite(k, 'enabled', 'bogus')).toBe(-22);
    expect(thpSysfsWrite(k, 'hugepages-64kB/enabled', 'never')).toBe(0);
    const b = p.mmap(0, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(p.write(b + 17 * PAGE, 5)).toBe(0);
    expect(procKpageflags(k, pfnOf(k, p, b + 17 * PAGE), 1)[0]! & (1n << BigInt(KPF.THP))).toBe(0n);
    // a shared anonymous mapping: shmem, file-backed in pagemap
    const s = p.mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    expect(p.write(s, 3)).toBe(0);
    expect(procPidPagemap(k, p.mm!, s, 1)[0]! & PM_PRESENT).toBe(PM_PRESENT);
    k.validate();
  });
});
