/**
 * DOC: a page-by-page oracle of an address space for the property tests.
 *
 * Each mapped page has the properties a process can observe or that decide
 * what the kernel does with it: protection, shared or private, the backing
 * file and file page, mlock, and the madvise flags. The oracle applies each
 * system call with the kernel's documented semantics (mprotect, mlock and
 * madvise stop at the first refused VMA, having changed the ones before;
 * madvise goes past holes and reports ENOMEM at the end; brk refuses to
 * grow into a mapping or its guard page). Where the kernel picks an address
 * (mmap without MAP_FIXED, mremap), the oracle takes the address returned
 * and checks the pages there were free. {@link pagesOf} reads the same
 * properties from the model's VMAs; the two must agree after every step.
 */
import type { File } from '../../src/mm/file.js';
import type { MmStruct, VmAreaStruct } from '../../src/mm/mm-types.js';
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_MAYSHARE,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_WIPEONFORK,
} from '../../src/mm/vm-flags.js';
import { vmaList } from '../../src/mm/vma.js';

export const PAGE = 4096;

/** The madvise flags the oracle tracks. */
export const ADV_MASK =
  VM_RAND_READ | VM_SEQ_READ | VM_DONTCOPY | VM_WIPEONFORK | VM_HUGEPAGE | VM_NOHUGEPAGE | VM_DONTDUMP;

export interface PageProps {
  /** PROT_ bits. */
  readonly prot: number;
  /** VM_MAYSHARE. */
  readonly shared: boolean;
  readonly file: File | null;
  /** File page index (-1 for private anonymous memory). */
  readonly fpgoff: number;
  readonly locked: boolean;
  /** VM_ flags of ADV_MASK. */
  readonly adv: number;
  /** The VM_MAY* of the mapping (R 1, W 2, X 4). */
  readonly may: number;
}

/** page number → properties. */
export type PageMap = Map<number, PageProps>;

/** The page map of the model's VMAs. */
export function pagesOf(mm: MmStruct): PageMap {
  const out: PageMap = new Map();
  for (const v of vmaList(mm)) {
    for (let a = v.vmStart; a < v.vmEnd; a += PAGE) out.set(a / PAGE, propsOf(v, a));
  }
  return out;
}

function propsOf(v: VmAreaStruct, a: number): PageProps {
  const anonPrivate = v.vmFile === null;
  return {
    prot: v.vmFlags & 7,
    shared: (v.vmFlags & VM_MAYSHARE) !== 0,
    file: v.vmFile,
    fpgoff: anonPrivate ? -1 : v.vmPgoff + (a - v.vmStart) / PAGE,
    locked: (v.vmFlags & VM_LOCKED) !== 0,
    adv: v.vmFlags & ADV_MASK,
    may: (v.vmFlags >>> 4) & 7,
  };
}

/** Differences between two page maps (for failure messages), up to `max`. */
export function diffPages(want: PageMap, got: PageMap, max = 4): string[] {
  const out: string[] = [];
  const keys = new Set([...want.keys(), ...got.keys()]);
  for (const k of [...keys].sort((a, b) => a - b)) {
    const w = want.get(k);
    const g = got.get(k);
    if (!samePage(w, g)) {
      out.push(`page ${k.toString(16)}: want ${show(w)}, got ${show(g)}`);
      if (out.length >= max) break;
    }
  }
  return out;
}

function show(p: PageProps | undefined): string {
  if (p === undefined) return 'unmapped';
  return `prot ${p.prot} ${p.shared ? 'shared' : 'private'} ${p.file === null ? 'anon' : p.file.path}@${p.fpgoff} ${p.locked ? 'locked ' : ''}adv ${p.adv.toString(16)}`;
}

export function samePage(a: PageProps | undefined, b: PageProps | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.prot === b.prot &&
    a.shared === b.shared &&
    a.file === b.file &&
    a.fpgoff === b.fpgoff &&
    a.locked === b.locked &&
    a.adv === b.adv &&
    a.may === b.may
  );
}

export function samePages(a: PageMap, b: PageMap): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!samePage(v, b.get(k))) return false;
  return true;
}

/** Copy a page map. */
export function clonePages(m: PageMap): PageMap {
  return new Map(m);
}

/** Pages of `[start, start + len)` (bytes), as page numbers. */
export function pageRange(start: number, len: number): number[] {
  const out: number[] = [];
  for (let p = start / PAGE; p < (start + len) / PAGE; p++) out.push(p);
  return out;
}
