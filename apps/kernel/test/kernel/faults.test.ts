/**
 * The fault path, one behaviour per test: the zero page, CoW copies and
 * reuse, PMD-mapped THP CoW (split) after fork, FAULT_FLAG_UNSHARE, file
 * faults through the page cache (private CoW, shared writes reaching the
 * file, fault-around, SIGBUS past the end), shared anonymous memory across
 * fork, guard regions, uffd-wp (bits and WP_UNPOPULATED markers, across
 * fork), device-exclusive entries, pinned pages copied at fork, the swap
 * seam, SIGSEGV with the reason, TLB shootdowns between threads.
 */
import { describe, expect, it } from 'vitest';
import {
  CLONE_THREAD,
  CLONE_VM,
  createKernel,
  type Kernel,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_HUGEPAGE,
  MADV_PAGEOUT,
  MADV_POPULATE_WRITE,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  PM_PRESENT,
  PM_UFFD_WP,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  procPidPagemap,
  type Task,
} from '../../src/index.js';

const PAGE = 4096;
const PMD = 2 * 1024 * 1024;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function pfnOf(k: Kernel, t: Task, addr: number): number {
  const e = procPidPagemap(k, t.mm!, addr, 1)[0]!;
  return (e & PM_PRESENT) === 0n ? -1 : Number(e & ((1n << 55n) - 1n));
}

function boot(arch: 'x86_64' | 'arm64' = 'x86_64', thp: 'never' | 'madvise' | 'always' = 'never'): [Kernel, Task] {
  const k = createKernel({ arch, seed: 5, thp });
  return [k, k.spawn({ name: 'p' }) as Task];
}

describe.each(['x86_64', 'arm64'] as const)('anonymous faults (%s)', (arch) => {
  it('a read maps the zero page (reads 0); the first write replaces it with a zeroed page of its own', () => {
    const [k, p] = boot(arch);
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    expect(p.read(a)).toBe(0);
    expect(pfnOf(k, p, a)).toBe(k.zeroPfn);
    expect(k.userFolios.size).toBe(0);
    expect(p.write(a + 8, 3)).toBe(0);
    expect(pfnOf(k, p, a)).not.toBe(k.zeroPfn);
    expect(p.read(a)).toBe(3);
    expect(k.events.get('zero_page_fault')).toBe(1);
    k.validate();
  });

  it('CoW after fork: each side sees its own writes; the last sharer reuses the page', () => {
    const [k, p] = boot(arch);
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    expect(p.write(a, 1)).toBe(0);
    const before = pfnOf(k, p, a);
    const c = p.fork() as Task;
    expect(pfnOf(k, c, a)).toBe(before);
    expect(c.write(a, 2)).toBe(0);
    expect(pfnOf(k, c, a)).not.toBe(before);
    expect([p.read(a), c.read(a)]).toEqual([1, 2]);
    // the parent is the only mapper now: its write reuses the page (wp_can_reuse_anon_folio)
    const copies = k.events.get('cow_fault')!;
    expect(p.write(a, 3)).toBe(0);
    expect(k.events.get('cow_fault')).toBe(copies);
    expect(pfnOf(k, p, a)).toBe(before);
    k.validate();
  });

  it('a PMD-mapped THP is copied per page after fork (the PMD is split), the rest stays shared', () => {
    const [k, p] = boot(arch, 'always');
    const raw = p.mmap(0, 2 * PMD, RW, ANON);
    const a = Math.ceil(raw / PMD) * PMD;
    expect(p.write(a, 7)).toBe(0);
    expect(k.events.get('thp_fault_alloc')).toBe(1);
    const c = p.fork() as Task;
    expect(c.write(a + 5 * PAGE, 8)).toBe(0);
    expect(k.events.get('thp_split_pmd')).toBeGreaterThanOrEqual(1);
    expect([p.read(a + 5 * PAGE), c.read(a + 5 * PAGE), c.read(a)]).toEqual([0, 8, 7]);
    expect(pfnOf(k, c, a)).toBe(pfnOf(k, p, a));
    k.validate();
    c.exit(0);
    p.exit(0);
    expect(k.userFolios.size).toBe(0);
  });

  it('mTHP orders follow the per-size sysfs settings', () => {
    const k = createKernel({ arch, seed: 1, mthp: { 16: 'always', 64: 'madvise' } });
    const p = k.spawn() as Task;
    const a = p.mmap(0, 32 * PAGE, RW, ANON);
    expect(p.write(a + 17 * PAGE, 1)).toBe(0);
    const f16 = pfnOf(k, p, a + 17 * PAGE);
    expect(k.folioPages(k.rm.memmap.compoundHead(f16) >= 0 ? k.rm.memmap.compoundHead(f16) : f16)).toBe(4);
    expect(p.madvise(a, 32 * PAGE, MADV_HUGEPAGE)).toBe(0);
    expect(p.write(a + 3 * PAGE, 1)).toBe(0); // a 64 kB block free of mappings? no: 16..19 are mapped
    expect(p.write(a + 20 * PAGE + 0, 2)).toBe(0);
    k.validate();
  });

  it('FAULT_FLAG_UNSHARE gives a read-only pin of a shared page its own copy, mapped read-only', () => {
    const [k, p] = boot(arch);
    const a = p.mmap(0, PAGE, RW, ANON);
    expect(p.write(a, 5)).toBe(0);
    const c = p.fork() as Task;
    const shared = pfnOf(k, c, a);
    expect(c.unshare(a)).toBe(0);
    expect(pfnOf(k, c, a)).not.toBe(shared);
    expect(c.read(a)).toBe(5);
    expect(k.events.get('cow_fault')).toBe(1);
    expect(c.write(a, 6)).toBe(0); // exclusive now: reused, not copied again
    expect(k.events.get('cow_fault')).toBe(1);
    k.validate();
  });

  it('SIGSEGV names the address and the reason', () => {
    const [, p] = boot(arch);
    const a = p.mmap(0, PAGE, PROT_READ, ANON);
    expect(p.write(a, 1)).toBe(-14);
    expect(p.lastFault).toEqual({
      signal: 'SIGSEGV',
      code: 'SEGV_ACCERR',
      addr: a,
      reason: 'write to a mapping without PROT_WRITE',
    });
    expect(p.exec(a)).toBe(-14);
    expect(p.lastFault?.code).toBe('SEGV_ACCERR');
    expect(p.read(0x1000)).toBe(-14);
    expect(p.lastFault?.code).toBe('SEGV_MAPERR');
    const x = p.mmap(0, PAGE, PROT_READ | PROT_EXEC, ANON);
    expect(p.exec(x)).toBe(0);
  });
});

describe('populate, mlock and fork advice through the real fault path', () => {
  it('MAP_POPULATE, MADV_POPULATE_WRITE and mlock fault pages in; DONTFORK and WIPEONFORK shape the child', () => {
    const [k, p] = boot();
    const a = p.mmap(0, 8 * PAGE, RW, ANON | MAP_POPULATE);
    expect(p.mm!.rssStat[1]).toBe(8);
    const b = p.mmap(0, 8 * PAGE, RW, ANON);
    expect(p.madvise(b, 4 * PAGE, MADV_POPULATE_WRITE)).toBe(0);
    expect(pfnOf(k, p, b + 3 * PAGE)).toBeGreaterThan(0);
    expect(pfnOf(k, p, b + 4 * PAGE)).toBe(-1);
    expect(p.mlock(b, 8 * PAGE)).toBe(0);
    expect(pfnOf(k, p, b + 7 * PAGE)).toBeGreaterThan(0);
    expect(p.write(a, 1)).toBe(0);
    expect(p.write(b, 2)).toBe(0);
    expect(p.madvise(a, 8 * PAGE, MADV_DONTFORK)).toBe(0);
    expect(p.madvise(b, 8 * PAGE, MADV_WIPEONFORK)).toBe(0);
    const c = p.fork() as Task;
    expect(c.read(a)).toBe(-14); // not in the child
    expect(c.read(b)).toBe(0); // mapped but wiped
    expect(p.read(b)).toBe(2);
    k.validate();
    c.exit(0);
    p.exit(0);
    expect(k.userFolios.size).toBe(0);
  });
});

describe('file and shmem faults', () => {
  it('private mappings copy on write; shared ones write the file; reads come from the page cache', () => {
    const [k, p] = boot();
    const f = k.createFile('/tmp/data', 8 * PAGE);
    for (let i = 0; i < 8; i++) k.writeFile(f, i, 100 + i);
    const priv = p.mmap(0, 8 * PAGE, RW, MAP_PRIVATE, f, 0);
    const shr = p.mmap(0, 8 * PAGE, RW, MAP_SHARED, f, 0);
    expect(p.read(priv + 2 * PAGE)).toBe(102);
    expect(p.write(priv + 2 * PAGE, 7)).toBe(0);
    expect(k.readFile(f, 2)).toBe(102);
    expect(p.write(shr + 3 * PAGE, 9)).toBe(0);
    expect(k.readFile(f, 3)).toBe(9);
    expect(p.read(priv + 3 * PAGE)).toBe(9); // not yet copied: sees the file
    expect(p.read(priv + 2 * PAGE)).toBe(7);
    k.validate();
  });

  it('fault-around maps the cached neighbours of a read fault (fault_around_bytes)', () => {
    const k = createKernel({ seed: 1, faultAroundBytes: 64 * 1024 });
    const p = k.spawn() as Task;
    const f = k.createFile('/tmp/fa', 32 * PAGE);
    const warm = p.mmap(0, 32 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    for (let i = 0; i < 32; i++) p.read(warm + i * PAGE); // fill the cache
    const m = p.mmap(0, 32 * PAGE, PROT_READ, MAP_PRIVATE, f, 0);
    const faults = k.events.get('pgfault')!;
    expect(p.read(m + 5 * PAGE)).toBe(0);
    expect(k.events.get('pgfault')).toBe(faults + 1);
    // the other 15 pages of the aligned 64 kB window are mapped without faults
    for (let i = 0; i < 16; i++) if (m % (16 * PAGE) === 0) expect(pfnOf(k, p, m + i * PAGE)).toBeGreaterThan(0);
    expect(k.events.get('fault_around')).toBeGreaterThan(0);
    k.validate();
  });

  it('SIGBUS past the end of the file', () => {
    const [k, p] = boot();
    const f = k.createFile('/tmp/short', PAGE);
    const m = p.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    expect(p.read(m)).toBe(0);
    expect(p.read(m + 2 * PAGE)).toBe(-14);
    expect(p.lastFault?.signal).toBe('SIGBUS');
  });

  it('shared anonymous memory stays shared across fork and is freed with its last mapping', () => {
    const [k, p] = boot();
    const s = p.mmap(0, 4 * PAGE, RW, MAP_SHARED | MAP_ANONYMOUS);
    expect(p.write(s, 1)).toBe(0);
    const c = p.fork() as Task;
    expect(c.write(s + PAGE, 2)).toBe(0);
    expect(p.read(s + PAGE)).toBe(2);
    expect(c.read(s)).toBe(1);
    k.validate();
    c.exit(0);
    p.exit(0);
    expect(k.userFolios.size).toBe(0);
  });
});

describe('markers, device-exclusive, pins, swap seam, threads', () => {
  it('a guard region faults with SIGSEGV and survives MADV_DONTNEED', () => {
    const [, p] = boot();
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    expect(p.write(a + PAGE, 1)).toBe(0);
    expect(p.madvise(a + PAGE, PAGE, MADV_GUARD_INSTALL)).toBe(0);
    expect(p.read(a + PAGE)).toBe(-14);
    expect(p.lastFault?.signal).toBe('SIGSEGV');
    expect(p.madvise(a, 4 * PAGE, MADV_DONTNEED)).toBe(0);
    expect(p.read(a + PAGE)).toBe(-14);
    expect(p.read(a)).toBe(0);
  });

  for (const wpUnpopulated of [false, true]) {
    it(`uffd-wp write-protects ${wpUnpopulated ? 'empty entries too (WP_UNPOPULATED markers)' : 'present entries'}, also in a fork child`, () => {
      const [k, p] = boot();
      const a = p.mmap(0, 4 * PAGE, RW, ANON);
      expect(p.write(a, 1)).toBe(0);
      expect(p.uffdRegisterWp(a, 4 * PAGE, wpUnpopulated)).toBe(0);
      expect(p.uffdWriteprotect(a, 4 * PAGE, true)).toBe(0);
      expect(p.write(a, 2)).toBe(-14);
      expect(p.lastFault?.signal).toBe('UFFD_WP');
      expect(procPidPagemap(k, p.mm!, a, 1)[0]! & PM_UFFD_WP).toBe(PM_UFFD_WP);
      const empty = p.write(a + 2 * PAGE, 3);
      expect(empty).toBe(wpUnpopulated ? -14 : 0);
      const c = p.fork() as Task; // VM_UFFD_WP VMAs copy page tables with their markers
      expect(c.write(a, 4)).toBe(-14);
      expect(p.uffdWriteprotect(a, 4 * PAGE, false)).toBe(0);
      expect(p.write(a, 2)).toBe(0);
      expect(p.read(a)).toBe(2);
      k.validate();
    });
  }

  it('a device-exclusive entry is restored on CPU access and across fork', () => {
    const [k, p] = boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    expect(p.write(a, 11)).toBe(0);
    expect(p.makeDeviceExclusive(a)).toBe(0);
    expect(procPidPagemap(k, p.mm!, a, 1)[0]! & PM_PRESENT).toBe(0n);
    k.validate();
    expect(p.read(a)).toBe(11);
    expect(p.makeDeviceExclusive(a)).toBe(0);
    const c = p.fork() as Task;
    expect(c.read(a)).toBe(11);
    expect(p.makeDeviceExclusive(a + PAGE)).toBe(0);
    k.validate();
    p.exit(0);
    c.exit(0);
    expect(k.userFolios.size).toBe(0);
  });

  it('fork copies a pinned exclusive page for the child (folio_try_dup_anon_rmap fails)', () => {
    const [k, p] = boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    expect(p.write(a, 1)).toBe(0);
    expect(p.write(a + PAGE, 2)).toBe(0);
    const pinned = p.pin(a);
    expect(pinned).toBe(pfnOf(k, p, a));
    const c = p.fork() as Task;
    expect(pfnOf(k, c, a)).not.toBe(pinned); // copied at fork
    expect(pfnOf(k, c, a + PAGE)).toBe(pfnOf(k, p, a + PAGE)); // shared as usual
    expect(k.events.get('fork_pinned_copy')).toBe(1);
    expect(p.write(a, 3)).toBe(0); // still exclusive in the parent: no CoW
    expect(pfnOf(k, p, a)).toBe(pinned);
    expect(c.read(a)).toBe(1);
    k.validate();
    p.unpin(pinned);
    k.validate();
  });

  it('a swap entry faults with the typed NEEDS_SWAP result; MADV_PAGEOUT says swap is needed; a zap drops the entry', () => {
    const [k, p] = boot();
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    expect(k.installSwapEntry(p.mm!, a, 0, 42)).toBe(0);
    expect(p.read(a)).toBe(-14);
    expect(p.lastFault?.signal).toBe('NEEDS_SWAP');
    expect(p.madvise(a, 2 * PAGE, MADV_PAGEOUT)).toBe(-11);
    expect(p.munmap(a, 2 * PAGE)).toBe(0);
    expect(p.mm!.rssStat[2]).toBe(0);
    k.validate();
  });

  it("threads share the address space; an unmap shoots down the sibling CPU's TLB", () => {
    const [k, p] = boot();
    const a = p.mmap(0, PAGE, RW, ANON);
    expect(p.write(a, 1)).toBe(0);
    const t = p.clone(CLONE_VM | CLONE_THREAD) as Task;
    expect(t.cpu).not.toBe(p.cpu);
    expect(t.read(a)).toBe(1);
    const before = k.machine.mmu.stats().shootdowns;
    expect(p.munmap(a, PAGE)).toBe(0);
    expect(k.machine.mmu.stats().shootdowns).toBeGreaterThan(before);
    expect(t.read(a)).toBe(-14);
    t.exit(0);
    k.validate();
  });
});
