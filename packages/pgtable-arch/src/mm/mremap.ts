/**
 * DOC: moving page tables for mremap (`move_page_tables()` and its helpers
 * in mm/mremap.c, `move_huge_pmd()` in mm/huge_memory.c), with the state of
 * one move threaded through a {@link PagetableMoveControl} as in the kernel
 * since 6.15 (the kernel commit "mm/mremap: refactor move_page_tables(), abstracting
 * state": `struct pagetable_move_control`).
 *
 * The move walks [oldAddr, oldEnd) in PMD or PUD sized extents (bounded by
 * the next boundary of both the source and the destination). Where an extent
 * covers a whole entry and the architecture has HAVE_MOVE_PUD / HAVE_MOVE_PMD,
 * the entry itself moves: the PMD (or PUD) entry is cleared, the same table
 * is installed at the destination and the old range flushed; a PMD leaf moves
 * with its deposited table. Otherwise PMD leaves are split and the PTEs move
 * one batch at a time under both PTE locks (the destination's nested when it
 * is another lock), with soft-dirty set on the moved entries, uffd-wp state
 * dropped when the VMA has uffd-wp without the remap event, and the TLB
 * flushed before the locks are dropped when a present entry moved. When the
 * source and destination are mutually misaligned with the PMD boundary but
 * the range reaches it, the move is first realigned down to it (if nothing
 * else is mapped there). In the refcount mode of the "Free user PTE page
 * table pages" series a moved PTE table's
 * record of its PMD follows it (`pte_update_pmd()`).
 *
 * VMAs belong to the caller: it answers `vmaIntersects()` for the
 * realignment and may take rmap locks in `takeRmapLocks()`.
 */
import { EAGAIN, MmBugError } from '@mm/machine';
import { FPB_RESPECT_WRITE, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import { LEAF_KIND, PTE_MARKER_UFFD_WP, SwpEntry } from '../entry/swapops.js';
import { type MmPgtables, PgtableError } from '../table/page-tables.js';
import {
  pteAlloc,
  pteOffsetMapLock,
  pteOffsetMapRwNolock,
  pteUnmap,
  pteUnmapUnlock,
  walkAlloc,
} from '../table/pgalloc.js';
import {
  getAndClearFullPtes,
  pmdpHugeGetAndClear,
  ptepGet,
  setPmdAt,
  setPtes,
  splitHugePmdLocked,
} from '../table/pgtable.js';
import { folioPteBatchFlags, type PgtableVma } from './memory.js';
import { hostEmpty } from './pagewalk.js';
import { pteUpdatePmd } from './pte-ref.js';

/** A VMA on either side of an mremap. */
export interface MoveVma extends PgtableVma {
  /** Page tables of the address space the VMA belongs to (`vma->vm_mm`). */
  readonly mm: MmPgtables;
  /** `vma_has_uffd_without_event_remap()`: uffd-wp registered, no UFFD_FEATURE_EVENT_REMAP. */
  readonly uffdWithoutEventRemap?: boolean;
  /** `is_vm_hugetlb_page()`: moved by the hugetlb owner. */
  readonly hugetlb?: boolean;
}

/** The caller's side of a move. */
export interface MoveOps {
  /** As {@link ZapOps.normalFolio} (for batching PTEs of one large folio), or -1. */
  normalFolio(vma: MoveVma, addr: number, pfn: number, special: boolean): number;
  /** Pages in the folio whose head PFN is `head`. @kernel folio_nr_pages */
  folioNrPages(head: number): number;
  /** Whether any VMA of `mm` overlaps [start, end) (`find_vma_intersection() != NULL`). */
  vmaIntersects(mm: MmPgtables, start: number, end: number): boolean;
  /** Take the i_mmap / anon_vma locks of `vma` (`take_rmap_locks()`). */
  takeRmapLocks?(vma: MoveVma): void;
  /** Release the locks {@link MoveOps.takeRmapLocks} took. @kernel drop_rmap_locks */
  dropRmapLocks?(vma: MoveVma): void;
  /** Split the PMD leaf `pmdp` (the folio side is the caller's); default: the tables only. */
  splitHugePmd?(vma: MoveVma, pmdp: number, addr: number): number;
}

/**
 * `struct pagetable_move_control`: what is moved where, advanced as the
 * move proceeds.
 * @kernel PAGETABLE_MOVE (mm/internal.h)
 */
export class PagetableMoveControl {
  /** The VMA the pages move out of (`pmc->old`). */
  readonly old: MoveVma;
  /** The VMA the pages move into (`pmc->new`). */
  readonly new: MoveVma;
  /** Where the move continues (may be realigned down at the start). */
  oldAddr: number;
  /** End of the source range (exclusive). */
  readonly oldEnd: number;
  /** Destination of `oldAddr`. */
  newAddr: number;
  /** Bytes the user asked to remap. */
  readonly lenIn: number;
  /** Take the rmap locks around PTE moves. */
  needRmapLocks: boolean;
  /** exec()'s early stack move (overlapping, downwards). */
  forStack: boolean;

  constructor(old: MoveVma, nw: MoveVma, oldAddr: number, newAddr: number, len: number) {
    this.old = old;
    this.new = nw;
    this.oldAddr = oldAddr;
    this.oldEnd = oldAddr + len;
    this.newAddr = newAddr;
    this.lenIn = len;
    this.needRmapLocks = false;
    this.forStack = false;
  }
}

const tv = new PteVal();
const tv2 = new PteVal();
const ent = new SwpEntry();

/** @kernel move_soft_dirty_pte (mm/mremap.c) */
function moveSoftDirtyPte(mm: MmPgtables, pte: PteVal): void {
  const c = mm.pt.codec;
  if (c.pteNone(pte) || !c.features.softDirty) return;
  if (c.ptePresent(pte)) c.pteMksoftDirty(pte);
  else c.pteSwpMksoftDirty(pte);
}

/** A uffd-wp marker (and nothing else). @kernel pte_is_uffd_wp_marker */
function isUffdWpMarker(mm: MmPgtables, pte: PteVal): boolean {
  const c = mm.pt.codec;
  if (c.pteNone(pte) || c.ptePresent(pte)) return false;
  const s = mm.pt.swap;
  s.pteToSwpEntry(pte, ent);
  return s.entryKind(ent) === LEAF_KIND.MARKER && (s.pteMarkerGet(ent) & PTE_MARKER_UFFD_WP) !== 0;
}

/** @kernel mremap_folio_pte_batch (mm/mremap.c) */
function mremapFolioPteBatch(
  vma: MoveVma,
  addr: number,
  ptep: number,
  pte: PteVal,
  maxNr: number,
  ops: MoveOps,
): number {
  if (maxNr === 1) return 1;
  const c = vma.mm.pt.codec;
  const pfn = c.ptePfn(pte);
  const head = ops.normalFolio(vma, addr, pfn, c.pteSpecial(pte));
  if (head < 0) return 1;
  const nr = ops.folioNrPages(head);
  if (nr <= 1) return 1;
  return folioPteBatchFlags(vma.mm, ptep, tv2.set(pte), Math.min(maxNr, head + nr - pfn), FPB_RESPECT_WRITE);
}

/**
 * Move the PTEs of one extent from the table under `oldPmd` to the one under `newPmd`.
 * @returns 0, or -EAGAIN when a table is gone (the caller looks again).
 * @kernel move_ptes (mm/mremap.c)
 */
function movePtes(pmc: PagetableMoveControl, extent: number, oldPmd: number, newPmd: number, ops: MoveOps): number {
  const vma = pmc.old;
  const mm = vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  const needClearUffdWp = vma.uffdWithoutEventRemap === true;
  let oldAddr = pmc.oldAddr;
  let newAddr = pmc.newAddr;
  const oldEnd = oldAddr + extent;
  const len = extent;
  let forceFlush = false;
  if (pmc.needRmapLocks) ops.takeRmapLocks?.(vma);
  let err = 0;
  const oldStart = pteOffsetMapLock(mm, oldPmd, oldAddr);
  if (oldStart < 0) {
    err = -EAGAIN;
  } else {
    const newStart = pteOffsetMapRwNolock(mm, newPmd, newAddr, tv2);
    if (newStart < 0) {
      pteUnmapUnlock(mm, oldStart);
      err = -EAGAIN;
    } else {
      const oldTable = pt.tableOfSlot(PTE_LEVEL, oldStart);
      const newTable = pt.tableOfSlot(PTE_LEVEL, newStart);
      const sameLock = !pt.splitPtlocks || oldTable === newTable;
      if (!sameLock) pt.pteLock(mm, newTable, true);
      pt.lazy.enter();
      let oldPtep = oldStart;
      let newPtep = newStart;
      const pte = new PteVal();
      while (oldAddr < oldEnd) {
        let nr = 1;
        if (!c.pteNone(ptepGet(mm, newPtep, tv))) {
          pt.machine.warnOn(true, `mremap: destination PTE at 0x${newAddr.toString(16)} is not empty`);
        }
        const maxNr = (oldEnd - oldAddr) / pt.pageSize;
        ptepGet(mm, oldPtep, pte);
        if (!c.pteNone(pte)) {
          if (c.ptePresent(pte)) {
            nr = mremapFolioPteBatch(vma, oldAddr, oldPtep, pte, maxNr, ops);
            forceFlush = true;
          }
          // get_and_clear_ptes(); move_pte() is the identity on these architectures.
          getAndClearFullPtes(mm, oldAddr, oldPtep, nr, false, pte);
          moveSoftDirtyPte(mm, pte);
          if (!(needClearUffdWp && isUffdWpMarker(mm, pte))) {
            if (needClearUffdWp) {
              if (c.ptePresent(pte)) c.pteClearUffdWp(pte);
              else c.pteSwpClearUffdWp(pte);
            }
            setPtes(mm, newAddr, newPtep, pte, nr);
          }
        }
        oldPtep += nr;
        newPtep += nr;
        oldAddr += nr * pt.pageSize;
        newAddr += nr * pt.pageSize;
      }
      pt.lazy.leave();
      // The TLB flush before the PTE locks go: the pages stay valid until then.
      if (forceFlush) pt.machine.mmu.flushTlbRange(mm.as, oldEnd - len, oldEnd);
      if (!sameLock) pt.pteUnlock(mm, newTable);
      pteUnmap(mm, newStart);
      pteUnmapUnlock(mm, oldStart);
    }
  }
  if (pmc.needRmapLocks) ops.dropRmapLocks?.(vma);
  return err;
}

/** Take the second lock of a pair unless it is the first one. */
function pmdLockPair(mm: MmPgtables, oldPmd: number, newPmd: number): boolean {
  const pt = mm.pt;
  pt.pmdLock(mm, oldPmd);
  const same =
    !pt.splitPmdPtlocks || mm.isInitMm || pt.tableOfSlot(PMD_LEVEL, oldPmd) === pt.tableOfSlot(PMD_LEVEL, newPmd);
  if (!same) pt.pmdLock(mm, newPmd, true);
  return same;
}

function pmdUnlockPair(mm: MmPgtables, oldPmd: number, newPmd: number, same: boolean): void {
  if (!same) mm.pt.pmdUnlock(mm, newPmd);
  mm.pt.pmdUnlock(mm, oldPmd);
}

/** Both sides may have page tables moved: neither has uffd-wp without the remap event. */
function uffdSupportsPageTableMove(pmc: PagetableMoveControl): boolean {
  return pmc.old.uffdWithoutEventRemap !== true && pmc.new.uffdWithoutEventRemap !== true;
}

/**
 * Move the PTE table under `oldPmd` to the empty `newPmd`.
 * @kernel move_normal_pmd (mm/mremap.c)
 */
function moveNormalPmd(pmc: PagetableMoveControl, oldPmd: number, newPmd: number): boolean {
  const mm = pmc.old.mm;
  const pt = mm.pt;
  const c = pt.codec;
  if (!pt.desc.haveMovePmd && !pt.desc.haveMovePud) return false;
  if (!uffdSupportsPageTableMove(pmc)) return false;
  if (!c.pmdNone(pt.readEntry(PMD_LEVEL, newPmd, tv))) {
    pt.machine.warnOn(true, 'mremap: destination PMD is not empty');
    return false;
  }
  const same = pmdLockPair(mm, oldPmd, newPmd);
  const pmd = pt.readEntry(PMD_LEVEL, oldPmd, tv);
  let res = false;
  if (c.pmdPresent(pmd) && !c.pmdLeaf(pmd)) {
    const table = pt.childTable(pt.host[PMD_LEVEL + 1]!, pmd);
    if (table < 0) throw new MmBugError('mremap: a present PMD without a table');
    const v = tv2.set(pmd);
    pt.writeEntry(PMD_LEVEL, oldPmd, tv.setWords(0, 0));
    res = true;
    // pmd_populate(mm, new_pmd, pmd_pgtable(pmd)): the same table, now under new_pmd.
    pt.writeEntry(PMD_LEVEL, newPmd, v);
    pt.pools[PTE_LEVEL]!.parent[table] = newPmd;
    if (pt.ptReclaim === 'refcount') pteUpdatePmd(mm, newPmd);
    pt.machine.mmu.flushTlbRange(mm.as, pmc.oldAddr, pmc.oldAddr + pt.levelSize(PMD_LEVEL));
  }
  pmdUnlockPair(mm, oldPmd, newPmd, same);
  return res;
}

/**
 * Move the PMD table under `oldPud` to the empty `newPud`.
 * @kernel move_normal_pud (mm/mremap.c)
 */
function moveNormalPud(pmc: PagetableMoveControl, oldPud: number, newPud: number): boolean {
  const mm = pmc.old.mm;
  const pt = mm.pt;
  if (!pt.desc.haveMovePud || pt.folded[PMD_LEVEL] === 1) return false;
  if (!uffdSupportsPageTableMove(pmc)) return false;
  if (!hostEmpty(pt, PUD_LEVEL, newPud)) {
    pt.machine.warnOn(true, 'mremap: destination PUD is not empty');
    return false;
  }
  // pud_lock() is mm->page_table_lock.
  pt.mmLock(mm);
  const pud = tv2.set(pt.readEntry(PUD_LEVEL, oldPud, tv));
  const table = pt.childTable(pt.host[PUD_LEVEL]!, pud);
  if (table < 0) throw new MmBugError('mremap: moving a PUD without a PMD table');
  pt.writeEntry(PUD_LEVEL, oldPud, tv.setWords(0, 0));
  pt.writeEntry(PUD_LEVEL, newPud, pud);
  pt.pools[PMD_LEVEL]!.parent[table] = newPud;
  pt.machine.mmu.flushTlbRange(mm.as, pmc.oldAddr, pmc.oldAddr + pt.levelSize(PUD_LEVEL));
  pt.mmUnlock(mm);
  return true;
}

/**
 * Move a PMD leaf (or PMD migration entry) with its deposited table.
 * @kernel move_huge_pmd (mm/huge_memory.c)
 */
function moveHugePmd(pmc: PagetableMoveControl, oldPmd: number, newPmd: number): boolean {
  const vma = pmc.old;
  const mm = vma.mm;
  const pt = mm.pt;
  const c = pt.codec;
  if (!c.pmdNone(pt.readEntry(PMD_LEVEL, newPmd, tv))) return false;
  const same = pmdLockPair(mm, oldPmd, newPmd);
  const pmd = pt.readEntry(PMD_LEVEL, oldPmd, tv2);
  // __pmd_trans_huge_lock(): still a leaf or a migration entry under the lock?
  if (c.pmdNone(pmd) || (c.pmdPresent(pmd) && !c.pmdLeaf(pmd))) {
    pmdUnlockPair(mm, oldPmd, newPmd, same);
    return false;
  }
  const v = pmdpHugeGetAndClear(mm, pmc.oldAddr, oldPmd, new PteVal());
  const forceFlush = c.pmdPresent(v);
  // The deposit is keyed by the PMD here, so it always moves (pmd_move_must_withdraw()).
  const dep = pt.withdraw(oldPmd);
  if (dep >= 0) pt.deposit(newPmd, dep);
  moveSoftDirtyPte(mm, v);
  if (vma.uffdWithoutEventRemap === true) {
    if (c.pmdPresent(v)) c.pteClearUffdWp(v);
    else c.pteSwpClearUffdWp(v);
  }
  setPmdAt(mm, pmc.newAddr, newPmd, v);
  if (forceFlush) pt.machine.mmu.flushTlbRange(mm.as, pmc.oldAddr, pmc.oldAddr + pt.levelSize(PMD_LEVEL));
  pmdUnlockPair(mm, oldPmd, newPmd, same);
  return true;
}

const NORMAL_PMD = 0;
const HPAGE_PMD = 1;
const NORMAL_PUD = 2;

/** @kernel get_extent (mm/mremap.c) */
function getExtent(pmc: PagetableMoveControl, level: number): number {
  const size = pmc.old.mm.pt.levelSize(level);
  let extent = (Math.floor(pmc.oldAddr / size) + 1) * size - pmc.oldAddr;
  if (extent > pmc.oldEnd - pmc.oldAddr) extent = pmc.oldEnd - pmc.oldAddr;
  const next = (Math.floor(pmc.newAddr / size) + 1) * size - pmc.newAddr;
  if (extent > next) extent = next;
  return extent;
}

/** @kernel move_pgt_entry (mm/mremap.c) */
function movePgtEntry(
  pmc: PagetableMoveControl,
  entry: number,
  oldEntry: number,
  newEntry: number,
  ops: MoveOps,
): boolean {
  // should_take_rmap_locks(): always for whole tables.
  const locks = entry === NORMAL_PMD || entry === NORMAL_PUD || pmc.needRmapLocks;
  if (locks) ops.takeRmapLocks?.(pmc.old);
  let moved = false;
  if (entry === NORMAL_PMD) moved = moveNormalPmd(pmc, oldEntry, newEntry);
  else if (entry === NORMAL_PUD) moved = moveNormalPud(pmc, oldEntry, newEntry);
  else if (entry === HPAGE_PMD) moved = moveHugePmd(pmc, oldEntry, newEntry);
  if (locks) ops.dropRmapLocks?.(pmc.old);
  return moved;
}

/** @kernel can_align_down (mm/mremap.c) */
function canAlignDown(pmc: PagetableMoveControl, vma: MoveVma, addr: number, size: number, ops: MoveOps): boolean {
  const masked = Math.floor(addr / size) * size;
  if (!pmc.forStack && vma.start !== addr) return false;
  if (pmc.forStack && masked >= vma.start) return true;
  return !ops.vmaIntersects(vma.mm, masked, vma.start);
}

/**
 * Realign both addresses down to a `level` boundary when the range reaches it
 * and nothing else is mapped below.
 * @kernel try_realign_addr / can_realign_addr (mm/mremap.c)
 */
function tryRealignAddr(pmc: PagetableMoveControl, level: number, ops: MoveOps): void {
  const size = pmc.old.mm.pt.levelSize(level);
  const oldAlign = pmc.oldAddr % size;
  const newAlign = pmc.newAddr % size;
  if (pmc.lenIn < size - oldAlign) return;
  if (oldAlign === 0) return;
  if (oldAlign !== newAlign) return;
  if (!canAlignDown(pmc, pmc.old, pmc.oldAddr, size, ops) || !canAlignDown(pmc, pmc.new, pmc.newAddr, size, ops))
    return;
  pmc.oldAddr -= oldAlign;
  pmc.newAddr -= newAlign;
}

/** `get_old_pud()`: the source PUD slot when it holds a table, else -1. */
function getOldPud(mm: MmPgtables, addr: number): number {
  const pt = mm.pt;
  const slot = pt.lookup(mm, PUD_LEVEL, addr);
  if (slot < 0 || hostEmpty(pt, PUD_LEVEL, slot)) return -1;
  return slot;
}

/** `get_old_pmd()`: the source PMD slot unless empty, else -1. */
function getOldPmd(mm: MmPgtables, addr: number): number {
  const pt = mm.pt;
  const slot = pt.lookup(mm, PMD_LEVEL, addr);
  if (slot < 0 || pt.codec.pmdNone(pt.readEntry(PMD_LEVEL, slot, tv))) return -1;
  return slot;
}

function defaultSplit(vma: MoveVma, pmdp: number, addr: number): number {
  const mm = vma.mm;
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

/**
 * Move the page tables of [pmc.oldAddr, pmc.oldEnd) to pmc.newAddr.
 * @returns the bytes of the user's range whose tables were moved (less than
 *   `lenIn` when a destination table could not be allocated).
 * @remarks Context: the mmap lock held for write; the destination range is empty.
 * @kernel move_page_tables (mm/mremap.c)
 */
export function movePageTables(pmc: PagetableMoveControl, ops: MoveOps): number {
  if (pmc.lenIn === 0) return 0;
  const mm = pmc.old.mm;
  const pt = mm.pt;
  const c = pt.codec;
  if (pmc.old.hugetlb === true) {
    throw new PgtableError(
      'EOPNOTSUPP',
      'mremap: hugetlb page tables are moved by move_hugetlb_page_tables (the hugetlb owner)',
    );
  }
  pt.checkRange(pmc.oldAddr, pmc.oldEnd);
  pt.checkRange(pmc.newAddr, pmc.newAddr + pmc.lenIn);
  tryRealignAddr(pmc, PMD_LEVEL, ops);
  const pmdSize = pt.levelSize(PMD_LEVEL);
  const pudSize = pt.levelSize(PUD_LEVEL);
  let extent = 0;
  for (; pmc.oldAddr < pmc.oldEnd; pmc.oldAddr += extent, pmc.newAddr += extent) {
    extent = getExtent(pmc, PUD_LEVEL);
    const oldPud = getOldPud(mm, pmc.oldAddr);
    if (oldPud < 0) continue;
    const newPud = walkAlloc(pmc.new.mm, pmc.newAddr, PUD_LEVEL);
    if (newPud < 0) break;
    const pud = pt.readEntry(PUD_LEVEL, oldPud, tv);
    if (pt.folded[PUD_LEVEL] === 0 && c.pudLeaf(pud)) {
      throw new PgtableError('EOPNOTSUPP', 'mremap: PUD leaves (DAX, 1G THP) are not modelled');
    }
    if (extent === pudSize && movePgtEntry(pmc, NORMAL_PUD, oldPud, newPud, ops)) continue;
    extent = getExtent(pmc, PMD_LEVEL);
    const oldPmd = getOldPmd(mm, pmc.oldAddr);
    if (oldPmd < 0) continue;
    const newPmd = walkAlloc(pmc.new.mm, pmc.newAddr, PMD_LEVEL);
    if (newPmd < 0) break;
    let broke = false;
    for (;;) {
      const pmd = pt.readEntry(PMD_LEVEL, oldPmd, tv);
      if (!c.pmdNone(pmd) && (c.pmdLeaf(pmd) || !c.pmdPresent(pmd))) {
        if (extent === pmdSize && movePgtEntry(pmc, HPAGE_PMD, oldPmd, newPmd, ops)) break;
        const r = ops.splitHugePmd
          ? ops.splitHugePmd(pmc.old, oldPmd, pmc.oldAddr)
          : defaultSplit(pmc.old, oldPmd, pmc.oldAddr);
        if (r < 0) {
          broke = true;
          break;
        }
      } else if (pt.desc.haveMovePmd && extent === pmdSize) {
        if (movePgtEntry(pmc, NORMAL_PMD, oldPmd, newPmd, ops)) break;
      }
      if (c.pmdNone(pt.readEntry(PMD_LEVEL, oldPmd, tv))) break;
      if (pteAlloc(pmc.new.mm, newPmd) < 0) {
        broke = true;
        break;
      }
      if (movePtes(pmc, extent, oldPmd, newPmd, ops) < 0) continue;
      break;
    }
    if (broke) break;
  }
  // pmc_progress()
  const orig = pmc.oldEnd - pmc.lenIn;
  return pmc.oldAddr < orig ? 0 : pmc.oldAddr - orig;
}
