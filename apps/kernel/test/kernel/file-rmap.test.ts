/**
 * The reverse map of file folios: VMAs in their file's i_mmap interval
 * tree (mmap, split, merge, mremap, munmap, fork's insert-after, exit),
 * rmap walks (folio_referenced, try_to_unmap, folio_mkclean) reaching every
 * PTE mapping a page-cache folio in every process, and truncation
 * (ftruncate: unmap everywhere, SIGBUS after, private CoW copies zapped too;
 * fallocate PUNCH_HOLE and MADV_REMOVE: CoW copies kept), with the errno
 * rules; then a fast-check property over file mappings with validate() after
 * every step.
 */
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  EFBIG,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FMODE_READ,
  fput,
  iMmapVmas,
  type Kernel,
  MADV_REMOVE,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_MAYMOVE,
  PM_PRESENT,
  PROT_READ,
  PROT_WRITE,
  procPidPagemap,
  rmapWalkVmas,
  S_APPEND,
  type Task,
  type VmAreaStruct,
} from '../../src/index.js';
import { createTmpfsFile } from '../../src/mm/file.js';
import { findVma, vmaList } from '../../src/mm/vma.js';

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const EINVAL = 22;
const EPERM = 1;
const EBADF = 9;
const EOPNOTSUPP = 95;
const EFAULT = 14;
const runs = (n: number) => n * Number(process.env.MM_FUZZ_RUNS ?? 1);

function present(k: Kernel, t: Task, addr: number): boolean {
  return (procPidPagemap(k, t.mm!, addr, 1)[0]! & PM_PRESENT) !== 0n;
}

function vmaAt(t: Task, addr: number): VmAreaStruct {
  return findVma(t.mm!, addr) as VmAreaStruct;
}

describe.each(['x86_64', 'arm64'] as const)('file rmap (%s)', (arch) => {
  it('a file mapped shared in four processes (two by fork): the rmap walk finds all of them, the child right after its parent', () => {
    const k = createKernel({ arch, seed: 3 });
    const f = k.createFile('/tmp/shared', 8 * PAGE);
    k.writeFile(f, 2, 42);
    const a = k.spawn({ name: 'a' }) as Task;
    const b = k.spawn({ name: 'b' }) as Task;
    const ma = a.mmap(0, 8 * PAGE, RW, MAP_SHARED, f, 0);
    const mb = b.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, f, 2 * PAGE); // pages 2..5
    expect(a.read(ma + 2 * PAGE)).toBe(42);
    expect(b.read(mb)).toBe(42);
    const c = a.fork() as Task;
    const d = b.fork() as Task;
    expect(c.read(ma + 2 * PAGE)).toBe(42);
    const folio = k.fileFolio(f, 2);
    expect(folio).toBeGreaterThan(0);
    const walked = rmapWalkVmas(k, folio);
    expect(walked).toEqual([vmaAt(a, ma), vmaAt(c, ma), vmaAt(b, mb), vmaAt(d, mb)]);
    // every VMA is in the tree once, with its page-offset range
    expect(iMmapVmas(f.fMapping).length).toBe(4);
    expect(iMmapVmas(f.fMapping, 6, 7)).toEqual([vmaAt(a, ma), vmaAt(c, ma)]);
    k.validate();
    // folio_referenced: the mappings that touched it (a, b, c; d has not), young bits cleared
    const out = { vmFlags: 0 };
    expect(k.folioReferenced(folio, out)).toBe(3);
    expect(out.vmFlags & 0x8).toBe(0x8); // VM_SHARED
    expect(k.folioReferenced(folio)).toBe(0);
    expect(d.read(mb)).toBe(42);
    expect(k.folioReferenced(folio)).toBe(1);
    // try_to_unmap: gone from every process, still cached; the next access faults it back
    expect(k.tryToUnmap(folio)).toBe(0);
    for (const [t, addr] of [
      [a, ma + 2 * PAGE],
      [b, mb],
      [c, ma + 2 * PAGE],
      [d, mb],
    ] as const)
      expect(present(k, t, addr)).toBe(false);
    expect(k.fileFolio(f, 2)).toBe(folio);
    k.validate();
    expect(b.read(mb)).toBe(42);
    expect(present(k, b, mb)).toBe(true);
    for (const t of [c, d, a, b]) t.exit(0);
    k.validate();
  });

  it('folio_mkclean write-protects and cleans every shared mapping; the next store faults and dirties it again', () => {
    const k = createKernel({ arch, seed: 4 });
    const f = k.createFile('/tmp/clean', 4 * PAGE);
    const a = k.spawn() as Task;
    const m = a.mmap(0, 4 * PAGE, RW, MAP_SHARED, f, 0);
    expect(a.write(m + PAGE, 5)).toBe(0);
    const b = a.fork() as Task;
    expect(b.write(m + PAGE, 6)).toBe(0);
    const folio = k.fileFolio(f, 1);
    expect(k.folioMkclean(folio)).toBe(2);
    expect(k.folioMkclean(folio)).toBe(0); // nothing left dirty or writable
    const faults = k.events.get('pgfault')!;
    expect(a.write(m + PAGE, 7)).toBe(0);
    expect(k.events.get('pgfault')).toBe(faults + 1);
    expect(b.read(m + PAGE)).toBe(7);
    expect(k.readFile(f, 1)).toBe(7);
    k.validate();
    expect(k.folioMkclean(folio)).toBe(1);
    // an anonymous folio is refused
    const anon = a.mmap(0, PAGE, RW, 0x22);
    a.write(anon, 1);
    const pfn = Number(procPidPagemap(k, a.mm!, anon, 1)[0]! & ((1n << 55n) - 1n));
    expect(k.folioMkclean(pfn)).toBe(-EINVAL);
    b.exit(0);
    a.exit(0);
  });

  it('try_to_unmap leaves mappings in mlocked VMAs (reclaim skips mlocked pages) unless told to ignore mlock', () => {
    const k = createKernel({ arch, seed: 10 });
    const f = k.createFile('/tmp/locked', 4 * PAGE);
    const a = k.spawn() as Task;
    const b = k.spawn() as Task;
    const ma = a.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    const mb = b.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    expect(a.read(ma)).toBe(0);
    expect(b.read(mb)).toBe(0);
    expect(b.mlock(mb, 4 * PAGE)).toBe(0);
    const folio = k.fileFolio(f, 0);
    expect(k.tryToUnmap(folio)).toBe(-11); // EAGAIN: b's mapping stays
    expect(present(k, a, ma)).toBe(false);
    expect(present(k, b, mb)).toBe(true);
    k.validate();
    expect(k.tryToUnmap(folio, true)).toBe(0);
    expect(present(k, b, mb)).toBe(false);
    k.validate();
    a.exit(0);
    b.exit(0);
  });

  it('a uffd-wp protected file PTE that try_to_unmap clears leaves a marker: the next write is still caught', () => {
    const k = createKernel({ arch, seed: 11 });
    const f = k.createFile('/tmp/uffd', 4 * PAGE);
    const a = k.spawn() as Task;
    const m = a.mmap(0, 4 * PAGE, RW, MAP_SHARED, f, 0);
    expect(a.write(m, 3)).toBe(0);
    expect(a.uffdRegisterWp(m, 4 * PAGE)).toBe(0);
    expect(a.uffdWriteprotect(m, PAGE, true)).toBe(0);
    expect(k.tryToUnmap(k.fileFolio(f, 0))).toBe(0);
    expect(present(k, a, m)).toBe(false);
    k.validate();
    expect(a.write(m, 4)).toBe(-EFAULT);
    expect(a.lastFault?.signal).toBe('UFFD_WP');
    expect(a.read(m)).toBe(3);
    k.validate();
    a.exit(0);
  });

  it('the i_mmap tree follows split, merge, mremap and munmap (validate checks every node and key)', () => {
    const k = createKernel({ arch, seed: 5 });
    const f = k.createFile('/tmp/split', 64 * PAGE);
    const a = k.spawn() as Task;
    const m = a.mmap(0, 16 * PAGE, RW, MAP_SHARED, f, 8 * PAGE);
    for (let i = 0; i < 16; i++) a.write(m + i * PAGE, 100 + i);
    expect(a.mprotect(m + 4 * PAGE, 4 * PAGE, PROT_READ)).toBe(0); // split into three
    expect(iMmapVmas(f.fMapping).map((v) => v.vmPgoff)).toEqual([8, 12, 16]);
    k.validate();
    expect(a.mprotect(m + 4 * PAGE, 4 * PAGE, RW)).toBe(0); // merged back
    expect(iMmapVmas(f.fMapping).map((v) => [v.vmPgoff, (v.vmEnd - v.vmStart) / PAGE])).toEqual([[8, 16]]);
    const n = a.mremap(m, 16 * PAGE, 32 * PAGE, MREMAP_MAYMOVE);
    expect(n).toBeGreaterThan(0);
    expect(iMmapVmas(f.fMapping).map((v) => [v.vmPgoff, (v.vmEnd - v.vmStart) / PAGE])).toEqual([[8, 32]]);
    expect(a.read(n + 15 * PAGE)).toBe(115);
    expect(rmapWalkVmas(k, k.fileFolio(f, 23))).toEqual([vmaAt(a, n)]);
    k.validate();
    expect(a.munmap(n + 8 * PAGE, 8 * PAGE)).toBe(0); // a hole: two VMAs
    expect(iMmapVmas(f.fMapping).map((v) => v.vmPgoff)).toEqual([8, 24]);
    expect(rmapWalkVmas(k, k.fileFolio(f, 17))).toEqual([]);
    k.validate();
    a.exit(0);
    expect(iMmapVmas(f.fMapping)).toEqual([]);
  });
});

describe('truncate', () => {
  it('ftruncate unmaps the pages beyond the new size in every process; an access there is SIGBUS', () => {
    const k = createKernel({ seed: 6 });
    const f = k.createFile('/tmp/trunc', 8 * PAGE);
    const a = k.spawn() as Task;
    const m = a.mmap(0, 8 * PAGE, RW, MAP_SHARED, f, 0);
    for (let i = 0; i < 8; i++) a.write(m + i * PAGE, 10 + i);
    const b = a.fork() as Task;
    const c = k.spawn() as Task;
    const mc = c.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, f, 4 * PAGE);
    expect(c.read(mc + PAGE)).toBe(15);
    const cached = k.pageCache.nrPages;
    expect(k.ftruncate(f, 3 * PAGE + 100)).toBe(0); // keeps pages 0..3 (3 partly)
    expect(f.fInode.iSize).toBe(3 * PAGE + 100);
    expect(k.pageCache.nrPages).toBe(cached - 4);
    for (const [t, base] of [
      [a, m],
      [b, m],
    ] as const) {
      // the parent's PTE below the end stays (the child never faulted: fork does not copy shared file PTEs)
      expect(present(k, t, base + 3 * PAGE)).toBe(t === a);
      expect(present(k, t, base + 4 * PAGE)).toBe(false);
      expect(t.read(base + 3 * PAGE)).toBe(13);
      expect(t.read(base + 5 * PAGE)).toBe(-EFAULT);
      expect(t.lastFault?.signal).toBe('SIGBUS');
      expect(t.lastFault?.code).toBe('BUS_ADRERR');
    }
    expect(c.read(mc)).toBe(-EFAULT);
    expect(c.lastFault?.signal).toBe('SIGBUS');
    k.validate();
    // growing again: the pages read 0 (a hole), no SIGBUS
    expect(k.ftruncate(f, 8 * PAGE)).toBe(0);
    expect(a.read(m + 6 * PAGE)).toBe(0);
    expect(k.readFile(f, 5)).toBe(0);
    expect(c.read(mc + PAGE)).toBe(0);
    k.validate();
    for (const t of [b, a, c]) t.exit(0);
    k.validate();
  });

  it('truncation zaps private CoW copies beyond the end too (even_cows); below it they stay', () => {
    const k = createKernel({ seed: 7 });
    const f = k.createFile('/tmp/cow', 4 * PAGE);
    for (let i = 0; i < 4; i++) k.writeFile(f, i, 50 + i);
    const a = k.spawn() as Task;
    const p = a.mmap(0, 4 * PAGE, RW, MAP_PRIVATE, f, 0);
    expect(a.write(p + PAGE, 7)).toBe(0); // CoW copy of page 1
    expect(a.write(p + 3 * PAGE, 9)).toBe(0); // CoW copy of page 3
    expect(a.read(p + 2 * PAGE)).toBe(52); // the file's page, mapped
    const anonBefore = a.mm!.rssStat[1]!;
    expect(anonBefore).toBe(2);
    expect(k.ftruncate(f, 2 * PAGE)).toBe(0);
    expect(a.mm!.rssStat[1]).toBe(1); // the copy of page 3 went
    expect(a.read(p + PAGE)).toBe(7); // the copy below the end stays
    expect(a.read(p + 3 * PAGE)).toBe(-EFAULT);
    expect(a.lastFault?.signal).toBe('SIGBUS');
    expect(a.read(p + 2 * PAGE)).toBe(-EFAULT);
    k.validate();
    a.exit(0);
    k.validate();
  });

  it('punching a hole unmaps shared mappings but keeps private CoW copies; the hole reads 0', () => {
    const k = createKernel({ seed: 8 });
    const f = k.createFile('/tmp/hole', 8 * PAGE);
    for (let i = 0; i < 8; i++) k.writeFile(f, i, 20 + i);
    const a = k.spawn() as Task;
    const s = a.mmap(0, 8 * PAGE, RW, MAP_SHARED, f, 0);
    const p = a.mmap(0, 8 * PAGE, RW, MAP_PRIVATE, f, 0);
    for (let i = 0; i < 8; i++) a.read(s + i * PAGE);
    expect(a.write(p + 3 * PAGE, 99)).toBe(0);
    expect(a.read(p + 4 * PAGE)).toBe(24);
    // bytes [2.5 pages, 6.5 pages): whole pages 3..5
    expect(k.fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2.5 * PAGE, 4 * PAGE)).toBe(0);
    expect(f.fInode.iSize).toBe(8 * PAGE);
    expect(present(k, a, s + 2 * PAGE)).toBe(true);
    for (let i = 3; i <= 5; i++) expect(present(k, a, s + i * PAGE)).toBe(false);
    expect(present(k, a, s + 6 * PAGE)).toBe(true);
    expect(a.read(s + 4 * PAGE)).toBe(0);
    expect(a.read(p + 3 * PAGE)).toBe(99); // the private copy stays
    expect(a.read(p + 4 * PAGE)).toBe(0); // the private file page went with the hole
    expect(a.read(s + 2 * PAGE)).toBe(22);
    k.validate();
    // MADV_REMOVE punches the file range a shared mapping covers
    expect(a.madvise(s + 6 * PAGE, PAGE, MADV_REMOVE)).toBe(0);
    expect(k.readFile(f, 6)).toBe(0);
    expect(a.read(s + 7 * PAGE)).toBe(27);
    expect(a.madvise(p, PAGE, MADV_REMOVE)).toBe(-13); // EACCES: private
    k.validate();
    a.exit(0);
  });

  it('errno rules of ftruncate and fallocate, state unchanged on error', () => {
    const k = createKernel({ seed: 9 });
    const f = k.createFile('/tmp/e', 4 * PAGE);
    expect(k.ftruncate(f, -1)).toBe(-EINVAL);
    expect(k.ftruncate(f, 1.5)).toBe(-EINVAL);
    expect(k.ftruncate(f, 2 ** 60)).toBe(-EFBIG);
    const ro = createTmpfsFile(k.ctx, '/tmp/ro', 4 * PAGE, FMODE_READ);
    expect(k.ftruncate(ro, 0)).toBe(-EINVAL);
    expect(k.fallocate(ro, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE)).toBe(-EBADF);
    f.fInode.iFlags |= S_APPEND;
    expect(k.ftruncate(f, 0)).toBe(-EPERM);
    expect(k.fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE)).toBe(-EPERM);
    f.fInode.iFlags &= ~S_APPEND;
    expect(k.fallocate(f, FALLOC_FL_PUNCH_HOLE, 0, PAGE)).toBe(-EOPNOTSUPP);
    expect(k.fallocate(f, 0x40, 0, PAGE)).toBe(-EOPNOTSUPP);
    expect(k.fallocate(f, 0, -1, PAGE)).toBe(-EINVAL);
    expect(k.fallocate(f, 0, 0, 0)).toBe(-EINVAL);
    expect(f.fInode.iSize).toBe(4 * PAGE);
    expect(k.fallocate(f, 0, 4 * PAGE, PAGE)).toBe(0);
    expect(f.fInode.iSize).toBe(5 * PAGE);
    expect(k.fallocate(f, FALLOC_FL_KEEP_SIZE, 8 * PAGE, PAGE)).toBe(0);
    expect(f.fInode.iSize).toBe(5 * PAGE);
    fput(ro);
  });
});

/** One step of the property: a system call on a file mapping, fork or exit. */
type Step =
  | { op: 'mmap'; t: number; file: number; pgoff: number; pages: number; shared: boolean; write: boolean }
  | { op: 'munmap'; t: number; slot: number; off: number; pages: number }
  | { op: 'mremap'; t: number; slot: number; pages: number }
  | { op: 'mprotect'; t: number; slot: number; off: number; pages: number; write: boolean }
  | { op: 'touch'; t: number; slot: number; off: number; token: number }
  | { op: 'fork'; t: number }
  | { op: 'exit'; t: number }
  | { op: 'truncate'; file: number; pages: number }
  | { op: 'unmapFolio'; file: number; index: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('mmap' as const),
      t: fc.nat(7),
      file: fc.nat(1),
      pgoff: fc.nat(12),
      pages: fc.integer({ min: 1, max: 8 }),
      shared: fc.boolean(),
      write: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('munmap' as const),
      t: fc.nat(7),
      slot: fc.nat(7),
      off: fc.nat(6),
      pages: fc.integer({ min: 1, max: 4 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('mremap' as const),
      t: fc.nat(7),
      slot: fc.nat(7),
      pages: fc.integer({ min: 1, max: 10 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('mprotect' as const),
      t: fc.nat(7),
      slot: fc.nat(7),
      off: fc.nat(6),
      pages: fc.integer({ min: 1, max: 4 }),
      write: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('touch' as const),
      t: fc.nat(7),
      slot: fc.nat(7),
      off: fc.nat(9),
      token: fc.integer({ min: 0, max: 1000 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ op: fc.constant('fork' as const), t: fc.nat(7) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('exit' as const), t: fc.nat(7) }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('truncate' as const), file: fc.nat(1), pages: fc.nat(24) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant('unmapFolio' as const), file: fc.nat(1), index: fc.nat(20) }),
    weight: 1,
  },
);

interface Proc {
  t: Task;
  /** Mappings made by this process (start, pages); may be stale after munmap/mremap. */
  slots: { start: number; pages: number }[];
}

describe('property: file mappings over mmap/munmap/mremap/mprotect/fork/exit/truncate', () => {
  it.each(['x86_64', 'arm64'] as const)('validate() after every step (%s)', (arch) => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.nat(1000), (steps, seed) => {
        const k = createKernel({ arch, seed, mapcount: seed % 2 === 0 ? 'page' : 'none' });
        const files = [k.createFile('/tmp/p0', 16 * PAGE), k.createFile('/tmp/p1', 24 * PAGE)];
        const procs: Proc[] = [{ t: k.spawn({ name: 'p' }) as Task, slots: [] }];
        for (const s of steps) {
          if (s.op === 'truncate') {
            expect(k.ftruncate(files[s.file]!, s.pages * PAGE)).toBe(0);
          } else if (s.op === 'unmapFolio') {
            const folio = k.fileFolio(files[s.file]!, s.index);
            if (folio > 0) {
              const r = k.tryToUnmap(folio);
              expect(r === 0 || r === -11).toBe(true);
            }
          } else {
            const p = procs[s.t % procs.length]!;
            const t = p.t;
            const slot = 'slot' in s ? p.slots[s.slot % Math.max(1, p.slots.length)] : undefined;
            switch (s.op) {
              case 'mmap': {
                const prot = s.write ? RW : PROT_READ;
                const a = t.mmap(
                  0,
                  s.pages * PAGE,
                  prot,
                  s.shared ? MAP_SHARED : MAP_PRIVATE,
                  files[s.file],
                  s.pgoff * PAGE,
                );
                if (a > 0) p.slots.push({ start: a, pages: s.pages });
                break;
              }
              case 'munmap':
                if (slot !== undefined) t.munmap(slot.start + (s.off % slot.pages) * PAGE, s.pages * PAGE);
                break;
              case 'mremap':
                if (slot !== undefined) {
                  const n = t.mremap(slot.start, slot.pages * PAGE, s.pages * PAGE, MREMAP_MAYMOVE);
                  if (n > 0) {
                    slot.start = n;
                    slot.pages = s.pages;
                  }
                }
                break;
              case 'mprotect':
                if (slot !== undefined)
                  t.mprotect(slot.start + (s.off % slot.pages) * PAGE, s.pages * PAGE, s.write ? RW : PROT_READ);
                break;
              case 'touch':
                if (slot !== undefined) {
                  const addr = slot.start + (s.off % slot.pages) * PAGE;
                  if (s.token % 2 === 0) t.read(addr);
                  else t.write(addr, s.token);
                }
                break;
              case 'fork': {
                if (procs.length >= 8) break;
                const c = t.fork();
                if (typeof c !== 'number') procs.push({ t: c, slots: p.slots.map((x) => ({ ...x })) });
                break;
              }
              case 'exit':
                if (procs.length > 1) {
                  t.exit(0);
                  procs.splice(procs.indexOf(p), 1);
                }
                break;
            }
          }
          k.validate();
          // the tree holds exactly the file VMAs of every live process
          for (const f of files) {
            const want = procs.flatMap((q) => vmaList(q.t.mm!).filter((v) => v.vmFile === f));
            expect(new Set(iMmapVmas(f.fMapping))).toEqual(new Set(want));
            expect(iMmapVmas(f.fMapping).length).toBe(want.length);
          }
        }
        for (const q of procs.reverse()) q.t.exit(0);
        k.validate();
        for (const f of files) expect(iMmapVmas(f.fMapping)).toEqual([]);
      }),
      { numRuns: runs(40), seed: 42 },
    );
  });
});
