/**
 * DOC: the system-call operations of the property tests: a generator, the
 * call on the model, and the oracle's expectation of the result.
 */
import { EACCES, EEXIST, EFAULT, EINVAL, ENOMEM } from '@mm/machine';
import fc from 'fast-check';
import { createTmpfsFile, type File, FMODE_READ, FMODE_WRITE } from '../../src/mm/file.js';
import { sysMadvise } from '../../src/mm/madvise.js';
import { sysMlock, sysMunlock } from '../../src/mm/mlock.js';
import type { MmContext } from '../../src/mm/mm-context.js';
import type { MmStruct } from '../../src/mm/mm-types.js';
import {
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_HUGEPAGE,
  MADV_KEEPONFORK,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
} from '../../src/mm/mman.js';
import { sysBrk, sysMmap } from '../../src/mm/mmap.js';
import { sysMprotect } from '../../src/mm/mprotect.js';
import { sysMremap } from '../../src/mm/mremap.js';
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_WIPEONFORK,
} from '../../src/mm/vm-flags.js';
import { vmaList, vmaLookup } from '../../src/mm/vma.js';
import { vmMunmap } from '../../src/mm/vma-munmap.js';
import { clonePages, PAGE, type PageMap, type PageProps } from './oracle.js';

/** The window most operations target (page number). */
export const WIN = 0x40000;
/** The window's size in pages. */
export const WIN_PAGES = 128;
/** Where the heap starts. */
export const BRK_START = 0x20000 * PAGE;

/**
 * `at` is a page of the window; with `anchor` 1 or 2 it picks instead the
 * start (or the page after the start) of the window's VMA number `at`
 * modulo their count, and with 3 the start with the length cut to the VMA,
 * so that calls hit mappings ({@link placeOp}).
 */
export type Op =
  | {
      k: 'mmap';
      at: number;
      len: number;
      prot: number;
      kind: number;
      fixed: number;
      locked: boolean;
      off: number;
      anchor?: number;
    }
  | { k: 'munmap'; at: number; len: number; anchor?: number }
  | { k: 'mprotect'; at: number; len: number; prot: number; anchor?: number }
  | { k: 'mremap'; at: number; oldLen: number; newLen: number; mode: number; to: number; anchor?: number }
  | { k: 'madvise'; at: number; len: number; advice: number; anchor?: number }
  | { k: 'brk'; delta: number; odd: number }
  | { k: 'mlock'; at: number; len: number; lock: boolean; anchor?: number };

const ADVICES = [
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_DONTFORK,
  MADV_DOFORK,
  MADV_WIPEONFORK,
  MADV_KEEPONFORK,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_DONTDUMP,
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
];

const at = fc.integer({ min: 0, max: WIN_PAGES - 8 });
const len = fc.integer({ min: 1, max: 16 });
const anchor = fc.constantFrom(0, 1, 2, 3, 3);
const prot = fc.constantFrom(0, 1, 3, 3, 3, 5);

/** A random operation. */
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 7,
    arbitrary: fc.record({
      k: fc.constant('mmap' as const),
      at,
      len,
      prot,
      kind: fc.integer({ min: 0, max: 5 }),
      fixed: fc.constantFrom(0, 1, 1, 2, 3),
      locked: fc.constantFrom(false, false, false, true),
      off: fc.integer({ min: 0, max: 32 }),
      anchor,
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('munmap' as const), at, len, anchor }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('mprotect' as const), at, len, prot, anchor }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('mremap' as const),
      at,
      oldLen: len,
      newLen: len,
      mode: fc.integer({ min: 0, max: 3 }),
      to: fc.integer({ min: 0, max: WIN_PAGES }),
      anchor,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('madvise' as const), at, len, advice: fc.constantFrom(...ADVICES), anchor }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('brk' as const),
      delta: fc.integer({ min: -10, max: 10 }),
      odd: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('mlock' as const), at, len, lock: fc.boolean(), anchor }) },
);

/** The files an address space maps: a read-write and a read-only tmpfs file. */
export interface OpFiles {
  readonly rw: File;
  readonly ro: File;
}

export function makeFiles(ctx: MmContext): OpFiles {
  return {
    rw: createTmpfsFile(ctx, '/tmp/rw', 1 << 24, FMODE_READ | FMODE_WRITE),
    ro: createTmpfsFile(ctx, '/tmp/ro', 1 << 24, FMODE_READ),
  };
}

const addr = (p: number) => (WIN + p) * PAGE;

/** kind: 0-1 private anon, 2 shared anon, 3 private rw file, 4 shared rw file, 5 shared ro file. */
function mmapArgs(op: Extract<Op, { k: 'mmap' }>, files: OpFiles): { flags: number; file: File | null; off: number } {
  let flags =
    op.kind <= 1
      ? MAP_PRIVATE | MAP_ANONYMOUS
      : op.kind === 2
        ? MAP_SHARED | MAP_ANONYMOUS
        : op.kind === 3
          ? MAP_PRIVATE
          : MAP_SHARED;
  if (op.fixed === 1) flags |= MAP_FIXED;
  if (op.fixed === 2) flags |= MAP_FIXED_NOREPLACE;
  if (op.locked) flags |= MAP_LOCKED;
  const file = op.kind === 3 || op.kind === 4 ? files.rw : op.kind === 5 ? files.ro : null;
  return { flags, file, off: file === null ? 0 : op.off * PAGE };
}

export const MREMAP_MODES: readonly number[] = [
  0,
  MREMAP_MAYMOVE,
  MREMAP_MAYMOVE | MREMAP_FIXED,
  MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
];

/** `op` with its address resolved against the VMAs of `mm` (anchor 0). */
export function placeOp(mm: MmStruct, op: Op): Op {
  if (op.k === 'brk' || !op.anchor) return op;
  const vmas = vmaList(mm).filter((v) => v.vmStart / PAGE >= WIN && v.vmStart / PAGE < WIN + WIN_PAGES);
  const v = vmas[op.at % Math.max(vmas.length, 1)];
  if (v === undefined) return { ...op, anchor: 0 };
  const pages = (v.vmEnd - v.vmStart) / PAGE;
  const at = v.vmStart / PAGE - WIN + (op.anchor === 2 && pages > 1 ? 1 : 0);
  if (op.anchor !== 3) return { ...op, at, anchor: 0 };
  if (op.k === 'mremap') return { ...op, at, oldLen: Math.min(op.oldLen, pages), anchor: 0 };
  return { ...op, at, len: Math.min(op.len, pages), anchor: 0 };
}

/** Run `op` on the model. */
export function runOp(mm: MmStruct, files: OpFiles, op: Op): number {
  switch (op.k) {
    case 'mmap': {
      const { flags, file, off } = mmapArgs(op, files);
      return sysMmap(mm, op.fixed === 0 ? 0 : addr(op.at), op.len * PAGE, op.prot, flags, file, off);
    }
    case 'munmap':
      return vmMunmap(mm, addr(op.at), op.len * PAGE);
    case 'mprotect':
      return sysMprotect(mm, addr(op.at), op.len * PAGE, op.prot);
    case 'mremap': {
      const flags = MREMAP_MODES[op.mode] as number;
      const newLen = flags & MREMAP_DONTUNMAP ? op.oldLen : op.newLen;
      return sysMremap(mm, addr(op.at), op.oldLen * PAGE, newLen * PAGE, flags, addr(op.to));
    }
    case 'madvise':
      return sysMadvise(mm, addr(op.at), op.len * PAGE, op.advice);
    case 'brk':
      return sysBrk(mm, mm.brk + op.delta * PAGE + op.odd * 100);
    case 'mlock':
      return op.lock ? sysMlock(mm, addr(op.at), op.len * PAGE) : sysMunlock(mm, addr(op.at), op.len * PAGE);
  }
}

function range(start: number, pages: number): number[] {
  const p0 = start / PAGE;
  return Array.from({ length: pages }, (_, i) => p0 + i);
}

function allFree(pages: PageMap, ps: number[]): boolean {
  return ps.every((p) => !pages.has(p));
}

/** The page following `p` in the same object (file page + 1). */
function next(p: PageProps, i: number): PageProps {
  return p.fpgoff < 0 ? p : { ...p, fpgoff: p.fpgoff + i };
}

/**
 * What the oracle expects: the page map the kernel leaves, and its answer:
 * `null` success (an address for mmap and mremap, 0 otherwise, the new break
 * for brk), a negative errno, -1 for brk's refusal (the old break), or 0 when
 * the model's answer contradicts the oracle (a failed call the kernel would
 * not fail, an address that was not free).
 */
export interface Expectation {
  readonly pages: PageMap;
  readonly err: number | null;
}

/**
 * Apply `op` with result `ret` to the oracle's `before`: the page map the
 * kernel leaves and whether `ret` is the kernel's answer. `mm` is read only
 * for what the oracle cannot know from pages (the new shmem file, VMA
 * extents for mremap) and before the call.
 */
export function expectOp(
  before: PageMap,
  op: Op,
  ret: number,
  files: OpFiles,
  mm: MmStruct,
  vmaEndAt: number | null,
  brkBefore: number,
): Expectation {
  const pages = clonePages(before);
  switch (op.k) {
    case 'mmap': {
      const { flags, file, off } = mmapArgs(op, files);
      const shared = (flags & MAP_SHARED) !== 0;
      if (op.fixed === 2 && !allFree(before, range(addr(op.at), op.len))) return { pages, err: -EEXIST };
      if (op.kind === 5 && shared && op.prot & 2) return { pages, err: -EACCES };
      if (ret < 0) return { pages, err: 0 };
      if (op.fixed === 1 || op.fixed === 2) {
        if (ret !== addr(op.at)) return { pages, err: 0 };
      } else if (op.fixed === 3 && allFree(before, range(addr(op.at), op.len))) {
        if (ret !== addr(op.at)) return { pages, err: 0 };
      } else if (!allFree(before, range(ret, op.len))) {
        return { pages, err: 0 };
      }
      const f = file ?? (shared ? (vmaLookup(mm, ret)?.vmFile ?? null) : null);
      const ro = file !== null && !(file.fMode & FMODE_WRITE);
      for (const [i, p] of range(ret, op.len).entries()) {
        pages.set(p, {
          prot: op.prot,
          shared,
          file: f,
          fpgoff: f === null ? -1 : off / PAGE + i,
          locked: op.locked,
          adv: 0,
          may: shared && ro ? 5 : 7,
        });
      }
      return { pages, err: null };
    }
    case 'munmap':
      for (const p of range(addr(op.at), op.len)) pages.delete(p);
      return { pages, err: null };
    case 'mprotect': {
      const ps = range(addr(op.at), op.len);
      for (const p of ps) {
        const pp = pages.get(p);
        if (pp === undefined) return { pages, err: -ENOMEM };
        if (op.prot & ~pp.may) return { pages, err: -EACCES };
        pages.set(p, { ...pp, prot: op.prot });
      }
      return { pages, err: null };
    }
    case 'mlock': {
      for (const p of range(addr(op.at), op.len)) {
        const pp = pages.get(p);
        if (pp === undefined) return { pages, err: -ENOMEM };
        pages.set(p, { ...pp, locked: op.lock });
      }
      return { pages, err: null };
    }
    case 'madvise': {
      let hole = false;
      for (const p of range(addr(op.at), op.len)) {
        const pp = pages.get(p);
        if (pp === undefined) {
          hole = true;
          continue;
        }
        let adv = pp.adv;
        switch (op.advice) {
          case MADV_NORMAL:
            adv &= ~(VM_RAND_READ | VM_SEQ_READ);
            break;
          case MADV_RANDOM:
            adv = (adv & ~VM_SEQ_READ) | VM_RAND_READ;
            break;
          case MADV_SEQUENTIAL:
            adv = (adv & ~VM_RAND_READ) | VM_SEQ_READ;
            break;
          case MADV_DONTFORK:
            adv |= VM_DONTCOPY;
            break;
          case MADV_DOFORK:
            adv &= ~VM_DONTCOPY;
            break;
          case MADV_WIPEONFORK:
            if (pp.file !== null || pp.shared) return { pages, err: -EINVAL };
            adv |= VM_WIPEONFORK;
            break;
          case MADV_KEEPONFORK:
            adv &= ~VM_WIPEONFORK;
            break;
          case MADV_HUGEPAGE:
            adv = (adv & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
            break;
          case MADV_NOHUGEPAGE:
            adv = (adv & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
            break;
          case MADV_DONTDUMP:
            adv |= VM_DONTDUMP;
            break;
          case MADV_DONTNEED:
          case MADV_GUARD_INSTALL:
            if (pp.locked) return { pages, err: -EINVAL };
            break;
        }
        pages.set(p, { ...pp, adv });
      }
      return { pages, err: hole ? -ENOMEM : null };
    }
    case 'brk': {
      const want = brkBefore + op.delta * PAGE + op.odd * 100;
      const pa = (x: number) => Math.ceil(x / PAGE) * PAGE;
      if (want < BRK_START) return { pages, err: -1 };
      const newbrk = pa(want);
      const oldbrk = pa(brkBefore);
      if (newbrk === oldbrk) return { pages, err: null };
      if (want <= brkBefore) {
        const ps = range(newbrk, (oldbrk - newbrk) / PAGE);
        if (allFree(before, ps)) return { pages, err: -1 };
        for (const p of ps) pages.delete(p);
        return { pages, err: null };
      }
      // grow: nothing mapped up to a page above the new break
      if (!allFree(before, range(oldbrk, (newbrk - oldbrk) / PAGE + 1))) return { pages, err: -1 };
      for (const p of range(oldbrk, (newbrk - oldbrk) / PAGE))
        pages.set(p, { prot: 3, shared: false, file: null, fpgoff: -1, locked: false, adv: 0, may: 7 });
      return { pages, err: null };
    }
    case 'mremap': {
      const flags = MREMAP_MODES[op.mode] as number;
      const src = addr(op.at);
      const oldLen = op.oldLen * PAGE;
      const newLen = (flags & MREMAP_DONTUNMAP ? op.oldLen : op.newLen) * PAGE;
      const dst = addr(op.to);
      const fixedOrDu = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
      // check_mremap_params(): a target given (FIXED, or the DONTUNMAP hint) must not overlap the source
      if (fixedOrDu && src + oldLen > dst && dst + newLen > src) return { pages, err: -EINVAL };
      if (vmaEndAt === null) return { pages, err: -EFAULT };
      if (flags & MREMAP_FIXED && oldLen === newLen) {
        // remap_move(): every VMA of the range moves, keeping the gaps (which
        // leave the target's pages there alone)
        if (ret !== dst) return { pages, err: 0 };
        for (let i = 0; i < op.oldLen; i++) {
          const pp = before.get(src / PAGE + i);
          if (pp === undefined) continue;
          pages.delete(src / PAGE + i);
          pages.set(dst / PAGE + i, pp);
        }
        return { pages, err: null };
      }
      if (!fixedOrDu && oldLen === newLen) return { pages, err: null };
      if (!fixedOrDu && newLen < oldLen) {
        // shrink in place: the tail is unmapped, whatever VMAs it crosses
        if (ret !== src) return { pages, err: 0 };
        for (const p of range(src + newLen, (oldLen - newLen) / PAGE)) pages.delete(p);
        return { pages, err: null };
      }
      const checkLen = Math.min(oldLen, newLen);
      if (checkLen > vmaEndAt - src) return { pages, err: -EFAULT };
      if (!fixedOrDu && newLen > oldLen) {
        // in place when the range reaches the VMA's end and the space after it is free
        const canInPlace = vmaEndAt === src + oldLen && allFree(before, range(src + oldLen, (newLen - oldLen) / PAGE));
        if (!(flags & MREMAP_MAYMOVE) && !canInPlace) return { pages, err: -ENOMEM };
        if (canInPlace && ret !== src) return { pages, err: 0 };
      }
      if (ret < 0) return { pages, err: 0 };
      // the source pages, extended with the object's next pages when growing
      const srcPages = range(src, op.oldLen).map((p) => before.get(p) as PageProps);
      const last = srcPages[srcPages.length - 1] as PageProps;
      const moved = (i: number): PageProps =>
        i < srcPages.length ? (srcPages[i] as PageProps) : next(last, i - srcPages.length + 1);
      const inPlace = !fixedOrDu && ret === src;
      if (inPlace) {
        const grow = range(src + oldLen, (newLen - oldLen) / PAGE);
        if (!allFree(before, grow)) return { pages, err: 0 };
        for (const [i, p] of grow.entries()) pages.set(p, moved(op.oldLen + i));
        return { pages, err: null };
      }
      if (flags & MREMAP_FIXED && ret !== dst) return { pages, err: 0 };
      if (flags & MREMAP_FIXED) for (const p of range(dst, newLen / PAGE)) pages.delete(p);
      else if (!allFree(before, range(ret, newLen / PAGE))) return { pages, err: 0 };
      if (flags & MREMAP_DONTUNMAP) {
        for (const p of range(src, op.oldLen)) pages.set(p, { ...(before.get(p) as PageProps), locked: false });
      } else {
        for (const p of range(src, op.oldLen)) pages.delete(p);
      }
      for (const [i, p] of range(ret, newLen / PAGE).entries()) pages.set(p, moved(i));
      return { pages, err: null };
    }
  }
}
