/**
 * Property test of the huge zero folio and anonymous THP: random sequences
 * of loads, stores, fork, exit, munmap, mprotect, MADV_DONTNEED and
 * `use_zero_page` toggles over a THP-eligible region of three PMDs (ranges
 * biased to cut PMDs or cover them whole), against a page-by-page oracle of
 * what each process must read (its last store, else 0) and which accesses
 * must fault, with `kernel.validate()` after every step (it checks the huge
 * zero folio's reference count, its PMDs and that no PTE maps a page of it);
 * x86-64 and arm64, both mapcount modes, `enabled` always or madvise with
 * MADV_HUGEPAGE; and the same over shared anonymous memory with shmem THP
 * (`shmem_enabled` always or advise), whose contents every process shares
 * and MADV_DONTNEED keeps. At the end every process exits, nothing is leaked, and the
 * shrinker frees the huge zero folio.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createKernel,
  type Kernel,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type Task,
  thpSysfsWrite,
} from '../../src/index.js';
import { fuzzRuns } from '../fuzz.js';

const PAGE = 4096;
const PMD = 2 * 1024 * 1024;
const NR = PMD / PAGE;
const PMDS = 3;
const PAGES = PMDS * NR;
const MAX_PROCS = 4;

/** A page of the oracle: its protection and the token it must read. */
interface OPage {
  prot: number;
  token: number;
}

interface Proc {
  task: Task;
  pages: Map<number, OPage>;
  /** Shared memory: the tokens every process reads (the shmem page cache), else null. */
  shared: number[] | null;
}

interface Op {
  kind: number;
  proc: number;
  page: number;
  len: number;
  token: number;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.nat(99),
  proc: fc.nat(MAX_PROCS - 1),
  page: fc.nat(PAGES - 1),
  len: fc.nat(3 * NR),
  token: fc.integer({ min: 1, max: 1_000_000 }),
});

/** A range of pages biased to PMD boundaries: one page, a whole PMD, a cut through one or two. */
function range(op: Op): [number, number] {
  const pick = op.len % 4;
  if (pick === 0) return [op.page, 1];
  if (pick === 1) {
    const s = op.page - (op.page % NR);
    return [s, NR];
  }
  const len = 1 + (op.len % (pick === 2 ? NR : 2 * NR));
  return [op.page, Math.min(len, PAGES - op.page)];
}

function expectedRead(p: Proc, page: number): number {
  const o = p.pages.get(page);
  if (o === undefined || (o.prot & PROT_READ) === 0) return -14;
  return p.shared !== null ? p.shared[page]! : o.token;
}

function step(k: Kernel, procs: Proc[], base: number, op: Op): void {
  const p = procs[op.proc % procs.length]!;
  const t = p.task;
  const addr = (page: number): number => base + page * PAGE;
  const kind = op.kind;
  if (kind < 30) {
    expect(t.read(addr(op.page))).toBe(expectedRead(p, op.page));
  } else if (kind < 55) {
    const o = p.pages.get(op.page);
    const ok = o !== undefined && (o.prot & PROT_WRITE) !== 0;
    expect(t.write(addr(op.page), op.token)).toBe(ok ? 0 : -14);
    if (ok) {
      if (p.shared !== null) p.shared[op.page] = op.token;
      else o.token = op.token;
    }
  } else if (kind < 62) {
    if (procs.length >= MAX_PROCS) return;
    const c = t.fork() as Task;
    expect(typeof c).toBe('object');
    const pages = new Map<number, OPage>();
    for (const [i, o] of p.pages) pages.set(i, { ...o });
    procs.push({ task: c, pages, shared: p.shared });
  } else if (kind < 67) {
    if (procs.length <= 1) return;
    t.exit(0);
    procs.splice(procs.indexOf(p), 1);
  } else if (kind < 77) {
    const [s, n] = range(op);
    expect(t.munmap(addr(s), n * PAGE)).toBe(0);
    for (let i = s; i < s + n; i++) p.pages.delete(i);
  } else if (kind < 88) {
    const [s, n] = range(op);
    for (let i = s; i < s + n; i++) if (!p.pages.has(i)) return; // only fully mapped ranges
    const prot = [PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE][op.token % 3]!;
    expect(t.mprotect(addr(s), n * PAGE, prot)).toBe(0);
    for (let i = s; i < s + n; i++) p.pages.get(i)!.prot = prot;
  } else if (kind < 95) {
    const [s, n] = range(op);
    for (let i = s; i < s + n; i++) if (!p.pages.has(i)) return;
    expect(t.madvise(addr(s), n * PAGE, MADV_DONTNEED)).toBe(0);
    // shared memory keeps its contents in the page cache
    if (p.shared === null) for (let i = s; i < s + n; i++) p.pages.get(i)!.token = 0;
  } else {
    expect(thpSysfsWrite(k, 'use_zero_page', String(op.token % 2))).toBe(0);
  }
}

const configs = [
  { arch: 'x86_64', mapcount: 'page', thp: 'always', shared: false },
  { arch: 'x86_64', mapcount: 'none', thp: 'madvise', shared: false },
  { arch: 'arm64', mapcount: 'page', thp: 'madvise', shared: false },
  { arch: 'arm64', mapcount: 'none', thp: 'always', shared: false },
  { arch: 'x86_64', mapcount: 'none', thp: 'always', shared: true },
  { arch: 'arm64', mapcount: 'page', thp: 'madvise', shared: true },
] as const;

describe.each(configs)('huge zero folio and THP against the token oracle (%o)', (cfg) => {
  it("every load, store and fault is the oracle's; validate() after each step; nothing leaks", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 50 }), fc.nat(1000), (ops, seed) => {
        // shared: shmem THP follows `shmem_enabled` (always, or advise with MADV_HUGEPAGE)
        const shmemEnabled = cfg.thp === 'always' ? 'always' : 'advise';
        const k = createKernel({ arch: cfg.arch, seed, mapcount: cfg.mapcount, thp: cfg.thp, shmemEnabled });
        const first = k.spawn({ name: 'hzp' }) as Task;
        // exactly three aligned PMDs: map more, trim both ends
        const raw = first.mmap(0, (PMDS + 1) * PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        const base = Math.ceil(raw / PMD) * PMD;
        if (base > raw) expect(first.munmap(raw, base - raw)).toBe(0);
        if (raw + PMD > base) expect(first.munmap(base + PMDS * PMD, raw + PMD - base)).toBe(0);
        if (cfg.shared) {
          const flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
          expect(first.mmap(base, PMDS * PMD, PROT_READ | PROT_WRITE, flags)).toBe(base);
        }
        if (cfg.thp === 'madvise') expect(first.madvise(base, PMDS * PMD, MADV_HUGEPAGE)).toBe(0);
        const pages = new Map<number, OPage>();
        for (let i = 0; i < PAGES; i++) pages.set(i, { prot: PROT_READ | PROT_WRITE, token: 0 });
        const procs: Proc[] = [{ task: first, pages, shared: cfg.shared ? new Array<number>(PAGES).fill(0) : null }];
        for (const op of ops) {
          step(k, procs, base, op);
          k.validate();
        }
        // every page of every process, then the end of everything
        for (const p of procs) {
          for (let i = 0; i < PAGES; i += 7) expect(p.task.read(base + i * PAGE)).toBe(expectedRead(p, i));
        }
        k.validate();
        for (const p of procs) p.task.exit(0);
        k.releaseDeadFiles();
        k.validate();
        expect(k.userFolios.size).toBe(0);
        expect(k.hugeZeroRefcount <= 1).toBe(true);
        k.shrinkHugeZeroFolio();
        expect(k.hugeZeroRefcount).toBe(0);
        k.validate();
        expect(k.machine.warnings).toEqual([]);
      }),
      { numRuns: fuzzRuns(20) },
    );
  });
});
