/**
 * DOC: the generic page-table walker with caller callbacks (`mm/pagewalk.c`):
 * `walk_page_range()`, `walk_page_range_vma()`, `walk_page_vma()`,
 * `walk_kernel_page_table_range()` and the internal
 * `walk_page_range_mm_unsafe()` that may install PTEs.
 *
 * The walk descends PGD -> P4D -> PUD -> PMD -> PTE over [start, end). Per
 * level an `*Entry` callback sees each non-empty entry (also on folded
 * levels, as in the kernel), `pteHole` each empty range with its real depth
 * (0 = PGD ... 3 = PMD, folded levels collapsed into the one above; -1 when
 * unknown or outside any VMA), and `pteEntry` every PTE of a mapped table,
 * under the PTE lock for VMA walks. `pudEntry` / `pmdEntry` steer the walk
 * through `walk.action` (ACTION_SUBTREE, ACTION_CONTINUE, ACTION_AGAIN).
 * When lower-level callbacks exist, a PMD leaf inside a VMA is split first
 * (through the caller's `splitHugePmd`, which owns the folio side of a
 * split; by default only the page tables are split). Callbacks return 0 to
 * go on, anything else to stop the walk and return that value.
 *
 * VMAs belong to the caller: `walkPageRange()` asks `findVma(addr)` for the
 * first VMA ending above `addr` (`find_vma()`), and a VMA says whether it is
 * hugetlb (then `hugetlbEntry` sees its huge entries) or VM_PFNMAP (skipped
 * unless `pteHole` wants it).
 *
 * `applyToPageRange()` / `applyToExistingPageRange()` (mm/memory.c) call a
 * function on every PTE of a range, allocating the missing tables (or only
 * on the non-empty PTEs of existing tables), in lazy MMU mode.
 */
import { EINVAL, ENOMEM } from '@mm/machine';
import { P4D_LEVEL, PGD_LEVEL, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import type { MmPgtables, PageTables } from '../table/page-tables.js';
import {
  __pteAlloc,
  __upperAlloc,
  pteAllocMapLock,
  pteOffsetMap,
  pteOffsetMapLock,
  pteUnmap,
  pteUnmapUnlock,
} from '../table/pgalloc.js';
import { ptepGet, setPteAt, splitHugePmdLocked } from '../table/pgtable.js';
import type { PgtableVma } from './memory.js';

/** `enum page_walk_action`: descend to the next level (the default). */
export const ACTION_SUBTREE = 0;
/** Go on with the next entry at this level, skipping the subtree. */
export const ACTION_CONTINUE = 1;
/** Call the callback again for this entry. */
export const ACTION_AGAIN = 2;

/** `enum page_walk_lock`: the mmap lock held for read. */
export const PGWALK_RDLOCK = 0;
/** The VMA is write-locked for the walk. */
export const PGWALK_WRLOCK = 1;
/** The VMA is expected to be write-locked already. */
export const PGWALK_WRLOCK_VERIFY = 2;
/** The VMA is expected to be read-locked already. */
export const PGWALK_VMA_RDLOCK_VERIFY = 3;

/** A VMA as the page walker sees it. */
export interface WalkVma extends PgtableVma {
  /** `is_vm_hugetlb_page()`: mapped by hugetlb entries of `hugetlbShift`. */
  readonly hugetlb?: boolean;
  /** `huge_page_shift(hstate_vma(vma))` (PMD_SHIFT or PUD_SHIFT). */
  readonly hugetlbShift?: number;
  /** VM_PFNMAP: no struct pages; skipped unless `pteHole` is set. */
  readonly pfnmap?: boolean;
}

/**
 * `struct mm_walk_ops`. Entry callbacks get the entry's slot (read it with
 * `ptepGet()`/`pmdpGet()` or through the typed view), the range the entry
 * covers, and the walk state.
 */
export interface MmWalkOps<P = unknown> {
  /** Each non-empty PGD entry. */
  pgdEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** Each non-empty P4D entry (also where the level is folded). */
  p4dEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** Each non-empty PUD entry; may set `walk.action`. */
  pudEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** Each non-empty PMD entry, leaves included; may set `walk.action`. */
  pmdEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** Each PTE of a mapped table, empty ones included (unless `installPte`). */
  pteEntry?(slot: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** Each hole; `depth` 0 = PGD .. 3 = PMD (folded levels collapsed), -1 unknown. */
  pteHole?(addr: number, next: number, depth: number, walk: MmWalk<P>): number;
  /** Each hugetlb entry of a hugetlb VMA (`slot` at the PMD or PUD level). */
  hugetlbEntry?(slot: number, hmask: number, addr: number, next: number, walk: MmWalk<P>): number;
  /** 0: walk this VMA; 1: skip it; < 0: abort with that value. */
  testWalk?(addr: number, next: number, walk: MmWalk<P>): number;
  /** Before walking a VMA. */
  preVma?(start: number, end: number, walk: MmWalk<P>): number;
  /** After walking a VMA whose `preVma` succeeded. */
  postVma?(walk: MmWalk<P>): void;
  /**
   * Build the PTE to install at an empty `addr` into `out` (missing tables
   * are allocated). Only through {@link walkPageRangeMmUnsafe}.
   */
  installPte?(addr: number, next: number, out: PteVal, walk: MmWalk<P>): number;
  /**
   * Split the PMD leaf at `pmdp` before descending (the folio side of
   * `split_huge_pmd()` belongs to the caller). Default: split the page
   * tables only, with `vma.pageProt`.
   * @returns 0 or a negative errno.
   */
  splitHugePmd?(vma: WalkVma, pmdp: number, addr: number): number;
  /** `walk_lock` (recorded; the mmap and VMA locks belong to the caller). */
  readonly walkLock?: number;
}

/** `struct mm_walk`: the state callbacks see. */
export class MmWalk<P = unknown> {
  /** The per-level callbacks of the walk (`walk->ops`). */
  readonly ops: MmWalkOps<P>;
  /** The address space walked. */
  readonly mm: MmPgtables;
  /** The PGD table to walk instead of the mm's (kernel walks), or -1. */
  readonly pgd: number;
  /** The VMA being walked, or null outside VMAs. */
  vma: WalkVma | null;
  /** What to do after a `pudEntry` / `pmdEntry` callback. */
  action: number;
  /** Walking without VMAs (kernel tables): no PTE locks, no splits. */
  readonly noVma: boolean;
  /** The caller's data. */
  readonly private: P;

  constructor(ops: MmWalkOps<P>, mm: MmPgtables, vma: WalkVma | null, noVma: boolean, priv: P, pgd = -1) {
    this.ops = ops;
    this.mm = mm;
    this.vma = vma;
    this.noVma = noVma;
    this.private = priv;
    this.pgd = pgd;
    this.action = ACTION_SUBTREE;
  }
}

const tv = new PteVal();
const installVal = new PteVal();

/**
 * The depth an empty entry really sits at, folded levels collapsed.
 * @kernel real_depth (mm/pagewalk.c)
 */
function realDepth(pt: PageTables, depth: number): number {
  let d = depth;
  if (d === 3 && pt.folded[PMD_LEVEL] === 1) d = 2;
  if (d === 2 && pt.folded[PUD_LEVEL] === 1) d = 1;
  if (d === 1 && pt.folded[P4D_LEVEL] === 1) d = 0;
  return d;
}

/**
 * @internal
 * Whether the checks of an upper `level` entry happen one level down: when
 * the level below is folded into this one, the kernel's `pgd_none()` /
 * `pgd_bad()` (pgtable-nop4d.h, -nopud.h, -nopmd.h) say "never empty, never
 * bad" and the lowest level sharing the entry does the real checks.
 */
export function upperDeferred(pt: PageTables, level: number): boolean {
  return level > PMD_LEVEL && pt.folded[level - 1] === 1;
}

/** `pud_none()` / `p4d_none()` / `pgd_none()` of the entry at `slot`. */
function upperNone(pt: PageTables, level: number, slot: number): boolean {
  if (upperDeferred(pt, level)) return false;
  const v = pt.readEntry(level, slot, tv);
  if (level === PUD_LEVEL) return pt.codec.pudNone(v);
  return v.lo === 0 && v.hi === 0;
}

/** @internal The entry stored at `slot` for `level` (in its host table) is empty, folded or not. */
export function hostEmpty(pt: PageTables, level: number, slot: number): boolean {
  const host = pt.host[level]!;
  const v = pt.readEntry(host, slot, tv);
  if (host === PMD_LEVEL) return pt.codec.pmdNone(v);
  if (host === PUD_LEVEL) return pt.codec.pudNone(v);
  return v.lo === 0 && v.hi === 0;
}

/**
 * `pgd_none_or_clear_bad()` / `p4d_none_or_clear_bad()`: a bad entry (not a
 * table) is reported and cleared, then treated as empty.
 */
function noneOrClearBad(pt: PageTables, level: number, slot: number): boolean {
  if (upperDeferred(pt, level)) return false;
  if (upperNone(pt, level, slot)) return true;
  const v = pt.readEntry(level, slot, tv);
  if (pt.childTable(pt.host[level]!, v) >= 0) return false;
  pt.machine.warnOn(true, `pgtable: bad ${level === PGD_LEVEL ? 'pgd' : 'p4d'} ${v.toHex()}`);
  tv.setWords(0, 0);
  pt.writeEntry(level, slot, tv);
  return true;
}

function walkPteRangeInner<P>(ptep: number, addr: number, end: number, walk: MmWalk<P>): number {
  const ops = walk.ops;
  const mm = walk.mm;
  const pt = mm.pt;
  const pageSize = pt.pageSize;
  let err = 0;
  for (;;) {
    if (ops.installPte !== undefined && pt.codec.pteNone(ptepGet(mm, ptep, tv))) {
      err = ops.installPte(addr, addr + pageSize, installVal.setWords(0, 0), walk);
      if (err !== 0) break;
      setPteAt(mm, addr, ptep, installVal);
    } else if (ops.pteEntry !== undefined) {
      err = ops.pteEntry(ptep, addr, addr + pageSize, walk);
      if (err !== 0) break;
    }
    if (addr >= end - pageSize) break;
    addr += pageSize;
    ptep++;
  }
  return err;
}

function walkPteRange<P>(pmdp: number, addr: number, end: number, walk: MmWalk<P>): number {
  const mm = walk.mm;
  let err = 0;
  let ptep: number;
  if (walk.noVma) {
    ptep = mm.isInitMm ? kernelPteOffset(mm.pt, pmdp, addr) : pteOffsetMap(mm, pmdp, addr);
    if (ptep >= 0) {
      err = walkPteRangeInner(ptep, addr, end, walk);
      if (!mm.isInitMm) pteUnmap(mm, ptep);
    }
  } else {
    ptep = pteOffsetMapLock(mm, pmdp, addr);
    if (ptep >= 0) {
      err = walkPteRangeInner(ptep, addr, end, walk);
      pteUnmapUnlock(mm, ptep);
    }
  }
  if (ptep < 0) walk.action = ACTION_AGAIN;
  return err;
}

/** `pte_offset_kernel()`: the PTE slot under a kernel PMD, or -1. */
function kernelPteOffset(pt: PageTables, pmdp: number, addr: number): number {
  const v = pt.readEntry(PMD_LEVEL, pmdp, tv);
  const c = pt.codec;
  if (c.pmdNone(v) || c.pmdLeaf(v) || !c.pmdPresent(v)) return -1;
  return pt.offset(PTE_LEVEL, pmdp, addr);
}

function defaultSplit(mm: MmPgtables, vma: WalkVma, pmdp: number, addr: number): number {
  const pt = mm.pt;
  pt.pmdLock(mm, pmdp);
  let r = 0;
  if (pt.codec.pmdLeaf(pt.readEntry(PMD_LEVEL, pmdp, tv))) {
    let prot = vma.pageProt;
    if (prot === undefined) {
      prot = new PteVal();
      pt.codec.vmGetPageProt(prot, 1);
    }
    r = splitHugePmdLocked(mm, addr, pmdp, prot);
  }
  pt.pmdUnlock(mm, pmdp);
  return r;
}

function walkPmdRange<P>(pudp: number, addr: number, end: number, walk: MmWalk<P>): number {
  const mm = walk.mm;
  const pt = mm.pt;
  const codec = pt.codec;
  const ops = walk.ops;
  const hasHandler = ops.pteEntry !== undefined;
  const hasInstall = ops.installPte !== undefined;
  const depth = realDepth(pt, 3);
  let err = 0;
  // A PUD that is not a table (a leaf, or gone non-present) is retried by the caller.
  if (!upperDeferred(pt, PUD_LEVEL)) {
    const pud = pt.readEntry(PUD_LEVEL, pudp, tv);
    if (!codec.pudPresent(pud) || codec.pudLeaf(pud)) {
      walk.action = ACTION_AGAIN;
      return 0;
    }
  }
  do {
    const next = pt.addrEnd(PMD_LEVEL, addr, end);
    const pmdp = pt.offset(PMD_LEVEL, pudp, addr);
    for (;;) {
      walk.action = ACTION_SUBTREE;
      if (codec.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, tv))) {
        if (hasInstall) err = __pteAlloc(mm, pmdp);
        else if (ops.pteHole !== undefined) err = ops.pteHole(addr, next, depth, walk);
        if (err !== 0) return err;
        if (!hasInstall) break;
      }
      if (ops.pmdEntry !== undefined) err = ops.pmdEntry(pmdp, addr, next, walk);
      if (err !== 0) return err;
      if (walk.action === ACTION_AGAIN) continue;
      if (walk.action === ACTION_CONTINUE) break;
      const pmd = pt.readEntry(PMD_LEVEL, pmdp, tv);
      if (!hasHandler) {
        if (!hasInstall) break;
        // Only installing: a present huge page needs no split.
        if (codec.pmdPresent(pmd) && codec.pmdLeaf(pmd)) break;
      }
      if (walk.vma !== null) {
        if (codec.pmdLeaf(pmd)) {
          const r = ops.splitHugePmd ? ops.splitHugePmd(walk.vma, pmdp, addr) : defaultSplit(mm, walk.vma, pmdp, addr);
          if (r < 0) return r;
        }
        // A non-present PMD leaf (migration entry) cannot be walked: skip it.
        const now = pt.readEntry(PMD_LEVEL, pmdp, tv);
        if (!codec.pmdNone(now) && !codec.pmdPresent(now)) break;
      } else if (codec.pmdLeaf(pmd) || !codec.pmdPresent(pmd)) break;
      err = walkPteRange(pmdp, addr, next, walk);
      if (err !== 0) return err;
      if (walk.action === ACTION_AGAIN) {
        // The table went away under us: look at the PMD again (an empty one is a hole now).
        continue;
      }
      break;
    }
    addr = next;
  } while (addr !== end);
  return err;
}

function walkPudRange<P>(p4dp: number, addr: number, end: number, walk: MmWalk<P>): number {
  const mm = walk.mm;
  const pt = mm.pt;
  const codec = pt.codec;
  const ops = walk.ops;
  const hasHandler = ops.pmdEntry !== undefined || ops.pteEntry !== undefined;
  const hasInstall = ops.installPte !== undefined;
  const depth = realDepth(pt, 2);
  let err = 0;
  do {
    const next = pt.addrEnd(PUD_LEVEL, addr, end);
    const pudp = pt.offset(PUD_LEVEL, p4dp, addr);
    for (;;) {
      walk.action = ACTION_SUBTREE;
      if (upperNone(pt, PUD_LEVEL, pudp)) {
        if (hasInstall) err = __upperAlloc(mm, PMD_LEVEL, pudp);
        else if (ops.pteHole !== undefined) err = ops.pteHole(addr, next, depth, walk);
        if (err !== 0) return err;
        if (!hasInstall) break;
      }
      if (ops.pudEntry !== undefined) err = ops.pudEntry(pudp, addr, next, walk);
      if (err !== 0) return err;
      if (walk.action === ACTION_AGAIN) continue;
      if (walk.action === ACTION_CONTINUE) break;
      const pud = pt.readEntry(PUD_LEVEL, pudp, tv);
      const real = !upperDeferred(pt, PUD_LEVEL);
      const leaf = real && codec.pudLeaf(pud);
      if (!hasHandler) {
        if (!hasInstall) break;
        if (leaf && codec.pudPresent(pud)) break;
      }
      // PUD leaves (1G THP, DAX) are not split by this model: skip them.
      if (leaf || (real && !codec.pudPresent(pud))) break;
      err = walkPmdRange(pudp, addr, next, walk);
      if (err !== 0) return err;
      if (walk.action === ACTION_AGAIN) continue;
      break;
    }
    addr = next;
  } while (addr !== end);
  return err;
}

function walkP4dRange<P>(pgdp: number, addr: number, end: number, walk: MmWalk<P>): number {
  const mm = walk.mm;
  const pt = mm.pt;
  const ops = walk.ops;
  const hasHandler = ops.pudEntry !== undefined || ops.pmdEntry !== undefined || ops.pteEntry !== undefined;
  const hasInstall = ops.installPte !== undefined;
  const depth = realDepth(pt, 1);
  let err = 0;
  do {
    const next = pt.addrEnd(P4D_LEVEL, addr, end);
    const p4dp = pt.offset(P4D_LEVEL, pgdp, addr);
    if (noneOrClearBad(pt, P4D_LEVEL, p4dp)) {
      if (hasInstall) err = __upperAlloc(mm, PUD_LEVEL, p4dp);
      else if (ops.pteHole !== undefined) err = ops.pteHole(addr, next, depth, walk);
      if (err !== 0) break;
      if (!hasInstall) {
        addr = next;
        continue;
      }
    }
    if (ops.p4dEntry !== undefined) {
      err = ops.p4dEntry(p4dp, addr, next, walk);
      if (err !== 0) break;
    }
    if (hasHandler || hasInstall) err = walkPudRange(p4dp, addr, next, walk);
    if (err !== 0) break;
    addr = next;
  } while (addr !== end);
  return err;
}

function walkPgdRange<P>(addr: number, end: number, walk: MmWalk<P>): number {
  const mm = walk.mm;
  const pt = mm.pt;
  const ops = walk.ops;
  const hasHandler =
    ops.p4dEntry !== undefined ||
    ops.pudEntry !== undefined ||
    ops.pmdEntry !== undefined ||
    ops.pteEntry !== undefined;
  const hasInstall = ops.installPte !== undefined;
  let err = 0;
  do {
    const next = pt.addrEnd(PGD_LEVEL, addr, end);
    const pgdp = walk.pgd >= 0 ? walk.pgd * pt.ptrs[PGD_LEVEL]! + pt.index(PGD_LEVEL, addr) : pt.pgdOffset(mm, addr);
    if (noneOrClearBad(pt, PGD_LEVEL, pgdp)) {
      // Only reported empty when the P4D level has tables of its own.
      if (hasInstall) err = __upperAlloc(mm, P4D_LEVEL, pgdp);
      else if (ops.pteHole !== undefined) err = ops.pteHole(addr, next, 0, walk);
      if (err !== 0) break;
      if (!hasInstall) {
        addr = next;
        continue;
      }
    }
    if (ops.pgdEntry !== undefined) {
      err = ops.pgdEntry(pgdp, addr, next, walk);
      if (err !== 0) break;
    }
    if (hasHandler || hasInstall) err = walkP4dRange(pgdp, addr, next, walk);
    if (err !== 0) break;
    addr = next;
  } while (addr !== end);
  return err;
}

/**
 * The huge entries of a hugetlb VMA.
 * @kernel walk_hugetlb_range (mm/pagewalk.c)
 */
function walkHugetlbRange<P>(addr: number, end: number, walk: MmWalk<P>): number {
  const vma = walk.vma!;
  const mm = walk.mm;
  const pt = mm.pt;
  const shift = vma.hugetlbShift ?? pt.shift[PMD_LEVEL]!;
  const level = shift === pt.shift[PUD_LEVEL]! && pt.folded[PUD_LEVEL] === 0 ? PUD_LEVEL : PMD_LEVEL;
  const sz = 2 ** shift;
  const hmask = -sz;
  const ops = walk.ops;
  let err = 0;
  do {
    const base = Math.floor(addr / sz) * sz;
    const next = Math.min(base + sz, end);
    // hugetlb_walk(): the entry slot, or none when a table above is missing.
    const slot = pt.lookup(mm, level, base);
    if (slot >= 0) err = ops.hugetlbEntry!(slot, hmask, addr, next, walk);
    else if (ops.pteHole !== undefined) err = ops.pteHole(addr, next, -1, walk);
    if (err !== 0) break;
    addr = next;
  } while (addr !== end);
  return err;
}

/**
 * Whether to walk the current VMA: 0 walk, 1 skip, < 0 abort.
 * @kernel walk_page_test (mm/pagewalk.c)
 */
function walkPageTest<P>(start: number, end: number, walk: MmWalk<P>): number {
  const ops = walk.ops;
  if (ops.testWalk !== undefined) return ops.testWalk(start, end, walk);
  if (walk.vma!.pfnmap === true) {
    let err = 1;
    if (ops.pteHole !== undefined) err = ops.pteHole(start, end, -1, walk);
    return err !== 0 ? err : 1;
  }
  return 0;
}

/** @kernel __walk_page_range (mm/pagewalk.c) */
function __walkPageRange<P>(start: number, end: number, walk: MmWalk<P>): number {
  const ops = walk.ops;
  const vma = walk.vma;
  const isHugetlb = vma !== null && vma.hugetlb === true;
  if (ops.installPte !== undefined && isHugetlb) return -EINVAL;
  let err = 0;
  if (ops.preVma !== undefined) {
    err = ops.preVma(start, end, walk);
    if (err !== 0) return err;
  }
  if (isHugetlb) {
    if (ops.hugetlbEntry !== undefined) err = walkHugetlbRange(start, end, walk);
  } else err = walkPgdRange(start, end, walk);
  if (ops.postVma !== undefined) ops.postVma(walk);
  return err;
}

/**
 * {@link walkPageRange} without the check that forbids `installPte`.
 * @kernel walk_page_range_mm_unsafe (mm/pagewalk.c)
 */
export function walkPageRangeMmUnsafe<P>(
  mm: MmPgtables,
  start: number,
  end: number,
  ops: MmWalkOps<P>,
  priv: P,
  findVma: (addr: number) => WalkVma | null,
): number {
  if (start >= end) return -EINVAL;
  mm.pt.checkRange(start, end);
  const walk = new MmWalk(ops, mm, null, false, priv);
  let vma = findVma(start);
  let err = 0;
  do {
    let next: number;
    if (vma === null) {
      walk.vma = null;
      next = end;
      if (ops.pteHole !== undefined) err = ops.pteHole(start, next, -1, walk);
    } else if (start < vma.start) {
      walk.vma = null;
      next = Math.min(end, vma.start);
      if (ops.pteHole !== undefined) err = ops.pteHole(start, next, -1, walk);
    } else {
      walk.vma = vma;
      next = Math.min(end, vma.end);
      vma = findVma(vma.end);
      err = walkPageTest(start, next, walk);
      if (err > 0) {
        err = 0;
        start = next;
        continue;
      }
      if (err < 0) break;
      err = __walkPageRange(start, next, walk);
    }
    if (err !== 0) break;
    start = next;
  } while (start < end);
  return err;
}

/**
 * Walk the page tables of `mm` over [start, end) with `ops`; the VMAs come
 * from `findVma(addr)` (the first VMA ending above `addr`, or null).
 * @returns 0, or the first non-zero callback result; -EINVAL for an empty
 *   range or `installPte` in `ops`.
 * @remarks Context: the caller holds the mmap lock (read or write per `walkLock`).
 * @kernel walk_page_range (mm/pagewalk.c)
 */
export function walkPageRange<P>(
  mm: MmPgtables,
  start: number,
  end: number,
  ops: MmWalkOps<P>,
  priv: P,
  findVma: (addr: number) => WalkVma | null,
): number {
  if (ops.installPte !== undefined) return -EINVAL;
  return walkPageRangeMmUnsafe(mm, start, end, ops, priv, findVma);
}

/**
 * Walk [start, end) inside one VMA (no `testWalk`).
 * @returns 0, a callback's result, or -EINVAL when the range is empty or leaves the VMA.
 * @kernel walk_page_range_vma (mm/pagewalk.c)
 */
export function walkPageRangeVma<P>(
  mm: MmPgtables,
  vma: WalkVma,
  start: number,
  end: number,
  ops: MmWalkOps<P>,
  priv: P,
): number {
  if (ops.installPte !== undefined) return -EINVAL;
  if (start >= end || start < vma.start || end > vma.end) return -EINVAL;
  mm.pt.checkRange(start, end);
  return __walkPageRange(start, end, new MmWalk(ops, mm, vma, false, priv));
}

/**
 * Walk a whole VMA.
 * @kernel walk_page_vma (mm/pagewalk.c)
 */
export function walkPageVma<P>(mm: MmPgtables, vma: WalkVma, ops: MmWalkOps<P>, priv: P): number {
  if (ops.installPte !== undefined) return -EINVAL;
  return __walkPageRange(vma.start, vma.end, new MmWalk(ops, mm, vma, false, priv));
}

/**
 * Walk page tables not backed by VMAs (kernel tables, or `pgd` when given):
 * no PTE locks, leaves never split.
 * @kernel walk_kernel_page_table_range (mm/pagewalk.c)
 */
export function walkKernelPageTableRange<P>(
  mm: MmPgtables,
  start: number,
  end: number,
  ops: MmWalkOps<P>,
  priv: P,
  pgd = -1,
): number {
  if (start >= end) return -EINVAL;
  if (ops.installPte !== undefined) return -EINVAL;
  mm.pt.checkRange(start, end);
  return walkPgdRange(start, end, new MmWalk(ops, mm, null, true, priv, pgd));
}

// ---- apply_to_page_range ----

/** `pte_fn_t`: called on a PTE slot; non-zero stops the walk. */
export type PteFn<D> = (ptep: number, addr: number, data: D) => number;

function applyToPteRange<D>(
  mm: MmPgtables,
  pmdp: number,
  addr: number,
  end: number,
  fn: PteFn<D> | null,
  data: D,
  create: boolean,
): number {
  const pt = mm.pt;
  let ptep: number;
  if (create) {
    ptep = mm.isInitMm ? kernelPteAlloc(mm, pmdp, addr) : pteAllocMapLock(mm, pmdp, addr);
    if (ptep < 0) return -ENOMEM;
  } else {
    ptep = mm.isInitMm ? kernelPteOffset(pt, pmdp, addr) : pteOffsetMapLock(mm, pmdp, addr);
    if (ptep < 0) return -EINVAL;
  }
  const start = ptep;
  pt.lazy.enter();
  let err = 0;
  if (fn !== null) {
    do {
      if (create || !pt.codec.pteNone(ptepGet(mm, ptep, tv))) {
        err = fn(ptep, addr, data);
        if (err !== 0) break;
      }
      ptep++;
      addr += pt.pageSize;
    } while (addr !== end);
  }
  pt.lazy.leave();
  if (!mm.isInitMm) pteUnmapUnlock(mm, start);
  return err;
}

/** `pte_alloc_kernel()`: the PTE slot under a kernel PMD, allocating the table. */
function kernelPteAlloc(mm: MmPgtables, pmdp: number, addr: number): number {
  const pt = mm.pt;
  if (pt.codec.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, tv)) && __pteAlloc(mm, pmdp) < 0) return -ENOMEM;
  return kernelPteOffset(pt, pmdp, addr);
}

function applyToUpper<D>(
  mm: MmPgtables,
  level: number,
  upperSlot: number,
  addr: number,
  end: number,
  fn: PteFn<D> | null,
  data: D,
  create: boolean,
): number {
  const pt = mm.pt;
  const codec = pt.codec;
  let err = 0;
  do {
    const next = pt.addrEnd(level, addr, end);
    let slot: number;
    if (level === PGD_LEVEL) slot = pt.pgdOffset(mm, addr);
    else {
      // The table of `level` below `upperSlot` (`pmd_alloc_track()` etc. when creating).
      if (create && pt.folded[level] === 0 && hostEmpty(pt, level + 1, upperSlot)) {
        const r = __upperAlloc(mm, level, upperSlot);
        if (r < 0) return -ENOMEM;
      }
      slot = pt.offset(level, upperSlot, addr);
      if (slot < 0) {
        if (!create) {
          addr = next;
          continue;
        }
        // The upper entry is a leaf or bad.
        return -EINVAL;
      }
    }
    if (level === PMD_LEVEL) {
      const pmd = pt.readEntry(PMD_LEVEL, slot, tv);
      if (codec.pmdNone(pmd) && !create) {
        addr = next;
        continue;
      }
      if (codec.pmdLeaf(pmd)) {
        pt.machine.warnOn(true, 'apply_to_pmd_range: PMD leaf');
        return -EINVAL;
      }
      if (!codec.pmdNone(pmd) && codec.pmdBad(pmd)) {
        pt.machine.warnOn(true, `apply_to_pmd_range: bad pmd ${pmd.toHex()}`);
        if (!create) {
          addr = next;
          continue;
        }
        tv.setWords(0, 0);
        pt.writeEntry(PMD_LEVEL, slot, tv);
      }
      err = applyToPteRange(mm, slot, addr, next, fn, data, create);
    } else {
      if (!upperDeferred(pt, level)) {
        if (upperNone(pt, level, slot) && !create) {
          addr = next;
          continue;
        }
        const v = pt.readEntry(level, slot, tv);
        if (level === PUD_LEVEL && codec.pudLeaf(v)) {
          pt.machine.warnOn(true, 'apply_to_pud_range: PUD leaf');
          return -EINVAL;
        }
      }
      err = applyToUpper(mm, level - 1, slot, addr, next, fn, data, create);
    }
    if (err !== 0) break;
    addr = next;
  } while (addr !== end);
  return err;
}

/**
 * Call `fn` on every PTE of [addr, addr + size), allocating missing tables.
 * @returns 0, -ENOMEM, -EINVAL (a leaf in the way) or `fn`'s non-zero result.
 * @kernel apply_to_page_range (mm/memory.c)
 */
export function applyToPageRange<D>(mm: MmPgtables, addr: number, size: number, fn: PteFn<D> | null, data: D): number {
  if (size <= 0) {
    mm.pt.machine.warnOn(true, 'apply_to_page_range: empty range');
    return -EINVAL;
  }
  mm.pt.checkRange(addr, addr + size);
  return applyToUpper(mm, PGD_LEVEL, -1, addr, addr + size, fn, data, true);
}

/**
 * Call `fn` on every non-empty PTE of the existing tables of [addr, addr + size).
 * @kernel apply_to_existing_page_range (mm/memory.c)
 */
export function applyToExistingPageRange<D>(
  mm: MmPgtables,
  addr: number,
  size: number,
  fn: PteFn<D> | null,
  data: D,
): number {
  if (size <= 0) {
    mm.pt.machine.warnOn(true, 'apply_to_existing_page_range: empty range');
    return -EINVAL;
  }
  mm.pt.checkRange(addr, addr + size);
  return applyToUpper(mm, PGD_LEVEL, -1, addr, addr + size, fn, data, false);
}
