/**
 * DOC: the generic page-table entry operations of `include/linux/pgtable.h`
 * and `mm/pgtable-generic.c`, with the architecture overrides that change
 * their meaning (x86's `ptep_set_access_flags()` and non-flushing
 * `ptep_clear_flush_young()`, arm64's contiguous-PTE folding in `contpte.ts`).
 *
 * Entries are addressed by slot (`ptep`, `pmdp`: see `ptdesc.ts`). The rules
 * of the kernel hold: `set_ptes(nr > 1)` only fills non-present entries with
 * present ones mapping consecutive pages of one folio under one PMD, all with
 * the PTE lock held; `ptep_modify_prot_start()`/`_commit()` bracket a
 * transaction under the lock; the "only if present" accessors are undefined
 * on other entries. With `debugVm` (the default) the PTE lock of user tables
 * is checked on every write (`lockdep_assert_held()`-style) and an illegal
 * `set_ptes()` is a typed error.
 *
 * Each write of a user PTE is reported to the lazy-MMU state (which counts
 * what batching saves on the architectures that batch) and, in the "Free user PTE page table pages" series'
 * refcount mode, turns none<->!none transitions into `pte_refcount` changes.
 */
import { MmBugError } from '@mm/machine';
import type { Arm64Pte } from '../arch/arm64-pte.js';
import { PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import { type PgProt, PteVal } from '../entry/pteval.js';
import {
  contpteGather,
  contpteSetAccessFlags,
  contpteSetPtes,
  contpteTestAndClearYoung,
  contpteTryUnfold,
  contpteTryUnfoldPartial,
} from './contpte.js';
import type { MmPgtables } from './page-tables.js';
import { PgtableError } from './page-tables.js';
import { pmdPopulate } from './pgalloc.js';
import { CHUNK_SLOTS_MASK, CHUNK_SLOTS_SHIFT } from './ptdesc.js';
import { __ptepGet, __setPte, __setPtes } from './pte-raw.js';

export { __ptepGet, __setPte, __setPtes };

const t1 = new PteVal();
const t2 = new PteVal();
const t3 = new PteVal();

// ---- internal helpers ----

function checkLocked(mm: MmPgtables, ptep: number, what: string): void {
  const pt = mm.pt;
  if (!pt.debugVm || mm.isInitMm) return;
  const t = Math.floor(ptep / pt.ptrs[PTE_LEVEL]!);
  if (!pt.pteLocked(mm, t))
    throw new PgtableError('EPERM', `${what}: PTE table ${t} is not locked (pte_offset_map_lock)`);
}

// ---- reads ----

/**
 * Read a PTE. On arm64 a contiguous block reports the OR of its young and
 * dirty bits (`contpte_ptep_get()`).
 * @kernel ptep_get (include/linux/pgtable.h)
 */
export function ptepGet(mm: MmPgtables, ptep: number, out: PteVal): PteVal {
  const pt = mm.pt;
  __ptepGet(pt, ptep, out);
  if (pt.contpte && (pt.codec as Arm64Pte).pteCont(out) && (out.lo & 1) !== 0) contpteGather(mm, ptep, out);
  return out;
}

/**
 * Read a PTE without the lock (GUP-fast, page_vma_mapped_walk): the same
 * value in this one-thread model.
 * @kernel ptep_get_lockless (include/linux/pgtable.h)
 */
export function ptepGetLockless(mm: MmPgtables, ptep: number, out: PteVal): PteVal {
  return ptepGet(mm, ptep, out);
}

/** Read the PMD entry at `pmdp` into `out`. @kernel pmdp_get (include/linux/pgtable.h) */
export function pmdpGet(mm: MmPgtables, pmdp: number, out: PteVal): PteVal {
  return mm.pt.readEntry(PMD_LEVEL, pmdp, out);
}

/** Read the PUD entry at `pudp` into `out`. @kernel pudp_get (include/linux/pgtable.h) */
export function pudpGet(mm: MmPgtables, pudp: number, out: PteVal): PteVal {
  return mm.pt.readEntry(PUD_LEVEL, pudp, out);
}

// ---- set ----

/**
 * Set `nr` consecutive PTEs mapping consecutive pages, starting with `pte`
 * (each next entry is `pte_next_pfn()` of the one before). With `nr > 1`
 * every old entry must be non-present and `pte` present, all in one PTE
 * table. Does not enter lazy MMU mode (the 2025 rule: the caller does, and
 * nesting is forbidden). arm64 sets the contiguous bit on naturally aligned
 * blocks (`contpte_set_ptes()`), and folds a block completed by a single set.
 * @remarks Context: the PTE table's lock held.
 * @kernel set_ptes (include/linux/pgtable.h)
 */
export function setPtes(mm: MmPgtables, addr: number, ptep: number, pte: PteVal, nr: number): void {
  const pt = mm.pt;
  const codec = pt.codec;
  if (pt.debugVm) {
    checkLocked(mm, ptep, 'set_ptes');
    const ptrs = pt.ptrs[PTE_LEVEL]!;
    if (!(nr >= 1 && Number.isInteger(nr)) || (ptep % ptrs) + nr > ptrs) {
      throw new PgtableError('EINVAL', `set_ptes: ${nr} entries from index ${ptep % ptrs} cross the PTE table`);
    }
    if (nr > 1) {
      if (!codec.ptePresent(pte)) throw new PgtableError('EINVAL', 'set_ptes: nr > 1 with a non-present entry');
      for (let i = 0; i < nr; i++) {
        if (codec.ptePresent(__ptepGet(pt, ptep + i, t1))) {
          throw new PgtableError(
            'EINVAL',
            `set_ptes: entry ${i} of ${nr} is present (nr > 1 needs non-present old entries)`,
          );
        }
      }
    }
  }
  if (pt.contpte && !mm.isInitMm) {
    contpteSetPtes(mm, addr, ptep, pte, nr);
    return;
  }
  __setPtes(mm, addr, ptep, pte, nr);
}

/**
 * Set one PTE.
 * @remarks Context: the PTE table's lock held.
 * @kernel set_pte_at (include/linux/pgtable.h)
 */
export function setPteAt(mm: MmPgtables, addr: number, ptep: number, pte: PteVal): void {
  setPtes(mm, addr, ptep, pte, 1);
}

/**
 * Clear a PTE.
 * @kernel pte_clear (include/linux/pgtable.h)
 */
export function pteClear(mm: MmPgtables, addr: number, ptep: number): void {
  ptepGetAndClear(mm, addr, ptep, t3);
}

// ---- get and clear ----

/**
 * Atomically read and clear a PTE (arm64 unfolds a contiguous block first).
 * @remarks Context: the PTE table's lock held.
 * @kernel ptep_get_and_clear (include/linux/pgtable.h)
 */
export function ptepGetAndClear(mm: MmPgtables, addr: number, ptep: number, out: PteVal): PteVal {
  const pt = mm.pt;
  checkLocked(mm, ptep, 'ptep_get_and_clear');
  if (pt.contpte && !mm.isInitMm) contpteTryUnfold(mm, addr, ptep);
  __ptepGet(pt, ptep, out);
  t1.setWords(0, 0);
  __setPte(mm, addr, ptep, out, t1);
  return out;
}

/**
 * `ptep_get_and_clear()` that may skip atomicity when `full` (the whole
 * address space is being torn down).
 * @kernel ptep_get_and_clear_full (include/linux/pgtable.h)
 */
export function ptepGetAndClearFull(mm: MmPgtables, addr: number, ptep: number, full: boolean, out: PteVal): PteVal {
  void full;
  return ptepGetAndClear(mm, addr, ptep, out);
}

/**
 * Clear `nr` consecutive present PTEs of one folio, returning the first with
 * the dirty and young bits of all of them or-ed in.
 * @kernel get_and_clear_full_ptes (include/linux/pgtable.h)
 */
export function getAndClearFullPtes(
  mm: MmPgtables,
  addr: number,
  ptep: number,
  nr: number,
  _full: boolean,
  out: PteVal,
): PteVal {
  const pt = mm.pt;
  const codec = pt.codec;
  if (pt.contpte && !mm.isInitMm) contpteTryUnfoldPartial(mm, addr, ptep, nr);
  checkLocked(mm, ptep, 'get_and_clear_full_ptes');
  __ptepGet(pt, ptep, out);
  let dirty = false;
  let young = false;
  const pool = pt.pools[PTE_LEVEL]!;
  const refMode = pt.ptReclaim === 'refcount' && !mm.isInitMm;
  let cleared = 0;
  for (let i = 0; i < nr; i++) {
    const s = ptep + i;
    const c = pool.chunks[s >>> CHUNK_SLOTS_SHIFT]!;
    const o = (s & CHUNK_SLOTS_MASK) << 1;
    if (i > 0) {
      t1.lo = c[o]!;
      t1.hi = c[o + 1]!;
      if (!dirty && codec.pteDirty(t1)) dirty = true;
      if (!young && codec.pteYoung(t1)) young = true;
    }
    if (c[o] !== 0 || c[o + 1] !== 0) cleared++;
    c[o] = 0;
    c[o + 1] = 0;
  }
  if (dirty) codec.pteMkdirty(out);
  if (young) codec.pteMkyoung(out);
  pt.lazy.noteUpdate(mm, addr, nr, true, false);
  if (refMode && cleared > 0) pt.pteRefEntries(ptep, -cleared);
  return out;
}

/**
 * Clear `nr` consecutive present PTEs of one folio.
 * @kernel clear_full_ptes (include/linux/pgtable.h)
 */
export function clearFullPtes(mm: MmPgtables, addr: number, ptep: number, nr: number, full: boolean): void {
  getAndClearFullPtes(mm, addr, ptep, nr, full, t3);
}

/**
 * Clear a PTE and flush it from the TLBs if it may be cached.
 * @kernel ptep_clear_flush (mm/pgtable-generic.c)
 */
export function ptepClearFlush(mm: MmPgtables, addr: number, ptep: number, out: PteVal): PteVal {
  ptepGetAndClear(mm, addr, ptep, out);
  if (pteAccessible(mm, out)) mm.pt.machine.mmu.flushTlbPage(mm.as, addr);
  return out;
}

/**
 * Whether a PTE may be cached in a TLB: present, or PROT_NONE while a flush
 * is pending (x86, riscv; arm64 asks for "valid").
 * @kernel pte_accessible (arch/x86/include/asm/pgtable.h)
 */
export function pteAccessible(mm: MmPgtables, pte: PteVal): boolean {
  const c = mm.pt.codec;
  if (!c.ptePresent(pte)) return false;
  if (!c.pteProtnone(pte)) return true;
  return mm.tlbFlushPending > 0;
}

// ---- write protection ----

/**
 * Write-protect a PTE (a read-modify-write that keeps hardware A/D updates:
 * x86 and arm64 use cmpxchg loops; nothing races in this model).
 * @kernel ptep_set_wrprotect (include/linux/pgtable.h)
 */
export function ptepSetWrprotect(mm: MmPgtables, addr: number, ptep: number): void {
  wrprotectPtes(mm, addr, ptep, 1);
}

/**
 * Write-protect `nr` consecutive PTEs of one folio. arm64 keeps whole
 * contiguous blocks folded and unfolds partly covered ones.
 * @kernel wrprotect_ptes (include/linux/pgtable.h)
 */
export function wrprotectPtes(mm: MmPgtables, addr: number, ptep: number, nr: number): void {
  const pt = mm.pt;
  checkLocked(mm, ptep, 'wrprotect_ptes');
  if (pt.contpte && !mm.isInitMm) contpteTryUnfoldPartial(mm, addr, ptep, nr);
  const codec = pt.codec;
  for (let i = 0; i < nr; i++) {
    __ptepGet(pt, ptep + i, t1);
    t2.set(t1);
    codec.pteWrprotect(t2);
    if (!t2.same(t1)) __setPte(mm, addr + i * pt.pageSize, ptep + i, t1, t2);
  }
}

// ---- accessed bit ----

/**
 * Test and clear the accessed bit (arm64 clears it on a whole contiguous
 * block: the core tracks A/D per folio).
 * @kernel ptep_test_and_clear_young (include/linux/pgtable.h)
 */
export function ptepTestAndClearYoung(mm: MmPgtables, addr: number, ptep: number): boolean {
  const pt = mm.pt;
  const codec = pt.codec;
  __ptepGet(pt, ptep, t1);
  if (pt.contpte && (pt.codec as Arm64Pte).pteCont(t1) && (t1.lo & 1) !== 0) {
    return contpteTestAndClearYoung(mm, addr, ptep);
  }
  if (!codec.pteYoung(t1)) return false;
  t2.set(t1);
  codec.pteMkold(t2);
  // The accessed bit is not part of the lazy-MMU batch (no flush needed).
  const c = pt.pools[PTE_LEVEL]!.chunks[ptep >>> CHUNK_SLOTS_SHIFT]!;
  const o = (ptep & CHUNK_SLOTS_MASK) << 1;
  c[o] = t2.lo;
  c[o + 1] = t2.hi;
  return true;
}

/**
 * Test and clear the accessed bit and flush the TLB entry if it was set.
 * x86 and riscv skip the flush (a stale young TLB entry only delays the next
 * accessed-bit update); arm64 issues a TLBI without waiting for it.
 * @kernel ptep_clear_flush_young (mm/pgtable-generic.c, arch/x86/mm/pgtable.c)
 */
export function ptepClearFlushYoung(mm: MmPgtables, addr: number, ptep: number): boolean {
  const young = ptepTestAndClearYoung(mm, addr, ptep);
  const f = mm.pt.desc.family;
  if (young && f !== 'x86_64' && f !== 'x86' && f !== 'riscv64') mm.pt.machine.mmu.flushTlbPage(mm.as, addr);
  return young;
}

/**
 * After a fault: install `entry` (more permissive: young, dirty, writable)
 * if it differs. x86 only writes when `dirty` (the hardware sets A itself).
 * @returns true when the entry changed.
 * @kernel ptep_set_access_flags (mm/pgtable-generic.c, arch/x86/mm/pgtable.c)
 */
export function ptepSetAccessFlags(mm: MmPgtables, addr: number, ptep: number, entry: PteVal, dirty: boolean): boolean {
  const pt = mm.pt;
  checkLocked(mm, ptep, 'ptep_set_access_flags');
  const cur = ptepGet(mm, ptep, t1);
  if (cur.same(entry)) return false;
  const f = pt.desc.family;
  if ((f === 'x86_64' || f === 'x86') && !dirty) return true;
  if (pt.contpte && (pt.codec as Arm64Pte).pteCont(__ptepGet(pt, ptep, t3))) {
    contpteSetAccessFlags(mm, addr, ptep, entry);
    return true;
  }
  __setPte(mm, addr, ptep, __ptepGet(pt, ptep, t3), entry);
  return true;
}

// ---- protection transactions ----

/**
 * Start a protection change: read and clear the PTE so that no hardware A/D
 * update is lost; the value may have gained young or dirty bits.
 * @remarks Context: the PTE lock held until the commit.
 * @kernel ptep_modify_prot_start (include/linux/pgtable.h)
 */
export function ptepModifyProtStart(mm: MmPgtables, addr: number, ptep: number, out: PteVal): PteVal {
  return ptepGetAndClear(mm, addr, ptep, out);
}

/**
 * Commit a protection change started by {@link ptepModifyProtStart}.
 * @kernel ptep_modify_prot_commit (include/linux/pgtable.h)
 */
export function ptepModifyProtCommit(mm: MmPgtables, addr: number, ptep: number, _oldPte: PteVal, pte: PteVal): void {
  setPteAt(mm, addr, ptep, pte);
}

/**
 * Batched start: clear `nr` PTEs of one folio, or-ing their A/D bits into
 * the first.
 * @kernel modify_prot_start_ptes (include/linux/pgtable.h)
 */
export function modifyProtStartPtes(mm: MmPgtables, addr: number, ptep: number, nr: number, out: PteVal): PteVal {
  return getAndClearFullPtes(mm, addr, ptep, nr, false, out);
}

/**
 * Batched commit: write `nr` entries advancing only the PFN.
 * @kernel modify_prot_commit_ptes (include/linux/pgtable.h)
 */
export function modifyProtCommitPtes(
  mm: MmPgtables,
  addr: number,
  ptep: number,
  _oldPte: PteVal,
  pte: PteVal,
  nr: number,
): void {
  setPtes(mm, addr, ptep, pte, nr);
}

// ---- PMD / PUD leaves ----

/**
 * Set a PMD entry (a leaf, a migration entry, or none).
 * @remarks Context: the PMD lock held.
 * @kernel set_pmd_at (include/linux/pgtable.h)
 */
export function setPmdAt(mm: MmPgtables, addr: number, pmdp: number, pmd: PteVal): void {
  const pt = mm.pt;
  pt.writeEntry(PMD_LEVEL, pmdp, pmd);
  pt.lazy.noteUpdate(mm, addr, 1, true, pt.codec.pmdPresent(pmd));
}

/**
 * Set a PUD entry.
 * @kernel set_pud_at (include/linux/pgtable.h)
 */
export function setPudAt(mm: MmPgtables, addr: number, pudp: number, pud: PteVal): void {
  const pt = mm.pt;
  pt.writeEntry(PUD_LEVEL, pudp, pud);
  pt.lazy.noteUpdate(mm, addr, 1, true, pt.codec.pudPresent(pud));
}

/**
 * Read and clear a PMD leaf.
 * @kernel pmdp_huge_get_and_clear (include/linux/pgtable.h)
 */
export function pmdpHugeGetAndClear(mm: MmPgtables, addr: number, pmdp: number, out: PteVal): PteVal {
  const pt = mm.pt;
  pt.readEntry(PMD_LEVEL, pmdp, out);
  t1.setWords(0, 0);
  setPmdAt(mm, addr, pmdp, t1);
  return out;
}

/**
 * Read and clear a PUD leaf.
 * @kernel pudp_huge_get_and_clear (include/linux/pgtable.h)
 */
export function pudpHugeGetAndClear(mm: MmPgtables, addr: number, pudp: number, out: PteVal): PteVal {
  const pt = mm.pt;
  pt.readEntry(PUD_LEVEL, pudp, out);
  t1.setWords(0, 0);
  setPudAt(mm, addr, pudp, t1);
  return out;
}

/**
 * Read and clear a PMD leaf, and flush its range from every TLB.
 * @remarks Context: the PMD lock held.
 * @kernel pmdp_huge_clear_flush (mm/pgtable-generic.c)
 */
export function pmdpHugeClearFlush(mm: MmPgtables, addr: number, pmdp: number, out: PteVal): PteVal {
  const pt = mm.pt;
  const size = pt.levelSize(PMD_LEVEL);
  const haddr = addr - (addr % size);
  pmdpHugeGetAndClear(mm, haddr, pmdp, out);
  pt.machine.mmu.flushTlbMmRange(mm.as, haddr, haddr + size, pt.shift[PMD_LEVEL]!, false);
  return out;
}

/** Remove write permission from the huge PMD entry at `pmdp`. @kernel pmdp_set_wrprotect (include/linux/pgtable.h) */
export function pmdpSetWrprotect(mm: MmPgtables, addr: number, pmdp: number): void {
  const pt = mm.pt;
  pt.readEntry(PMD_LEVEL, pmdp, t1);
  pt.codec.pteWrprotect(t1);
  setPmdAt(mm, addr, pmdp, t1);
}

/** Test and clear the accessed bit of the huge PMD entry at `pmdp`; true if it was set. @kernel pmdp_test_and_clear_young (arch/x86/mm/pgtable.c) */
export function pmdpTestAndClearYoung(mm: MmPgtables, _addr: number, pmdp: number): boolean {
  const pt = mm.pt;
  pt.readEntry(PMD_LEVEL, pmdp, t1);
  if (!pt.codec.pteYoung(t1)) return false;
  pt.codec.pteMkold(t1);
  pt.writeEntry(PMD_LEVEL, pmdp, t1);
  return true;
}

/**
 * Make a PMD leaf non-present (keeping it `pmd_present()`) before a split,
 * and flush it; returns the old value.
 * @kernel pmdp_invalidate (mm/pgtable-generic.c)
 */
export function pmdpInvalidate(mm: MmPgtables, addr: number, pmdp: number, out: PteVal): PteVal {
  const pt = mm.pt;
  pt.readEntry(PMD_LEVEL, pmdp, out);
  pmdpHugeGetAndClear(mm, addr, pmdp, t2);
  mm.pt.machine.mmu.flushTlbMmRange(mm.as, addr, addr + pt.levelSize(PMD_LEVEL), pt.shift[PMD_LEVEL]!, false);
  return out;
}

/**
 * Deposit a preallocated PTE table with a PMD leaf, for a later split.
 * @kernel pgtable_trans_huge_deposit (mm/pgtable-generic.c)
 */
export function pgtableTransHugeDeposit(mm: MmPgtables, pmdp: number, table: number): void {
  mm.pt.deposit(pmdp, table);
}

/**
 * Take back the PTE table deposited with `pmdp`, or -1.
 * @kernel pgtable_trans_huge_withdraw (mm/pgtable-generic.c)
 */
export function pgtableTransHugeWithdraw(mm: MmPgtables, pmdp: number): number {
  return mm.pt.withdraw(pmdp);
}

/**
 * Split a PMD leaf into a PTE table mapping the same pages: each PTE is
 * `mk_pte(page, vma->vm_page_prot)` (`vmPageProt`) with the leaf's write,
 * young, dirty, soft-dirty and uffd-wp state. The table is the one deposited
 * with the PMD (or a new one); the PMD is invalidated and flushed, the PTEs
 * filled, then the PMD pointed at the table.
 * @returns 0, or -ENOMEM when no table could be had.
 * @remarks Context: the PMD lock held.
 * @kernel __split_huge_pmd_locked (mm/huge_memory.c)
 */
export function splitHugePmdLocked(mm: MmPgtables, addr: number, pmdp: number, vmPageProt: PgProt): number {
  const pt = mm.pt;
  const codec = pt.codec;
  const old = pt.readEntry(PMD_LEVEL, pmdp, new PteVal());
  if (!codec.pmdLeaf(old)) throw new MmBugError(`pgtable: split of a non-leaf PMD ${old.toHex()}`);
  let t = pgtableTransHugeWithdraw(mm, pmdp);
  let counted = true;
  if (t < 0) {
    t = pt.pagetableAlloc(mm, PTE_LEVEL);
    if (t < 0) return t;
    counted = false;
  }
  const haddr = addr - (addr % pt.levelSize(PMD_LEVEL));
  pmdpInvalidate(mm, haddr, pmdp, t2);
  const pte = new PteVal();
  codec.pfnPte(pte, codec.pmdPfn(old), vmPageProt);
  if (codec.pteWrite(old)) codec.pteMkwrite(pte);
  else codec.pteWrprotect(pte);
  if (codec.pteYoung(old)) codec.pteMkyoung(pte);
  else codec.pteMkold(pte);
  if (codec.pteDirty(old)) codec.pteMkdirty(pte);
  if (codec.pteSoftDirty(old)) codec.pteMksoftDirty(pte);
  else codec.pteClearSoftDirty(pte);
  if (codec.pteUffdWp(old)) codec.pteMkuffdWp(pte);
  const nr = pt.ptrs[PTE_LEVEL]!;
  const base = t * nr;
  const pool = pt.pools[PTE_LEVEL]!;
  for (let i = 0; i < nr; i++) {
    pool.write(base + i, pte.lo, pte.hi);
    if (i + 1 < nr) codec.pteAdvancePfn(pte, 1);
  }
  pmdPopulate(mm, pmdp, t, !counted);
  if (pt.ptReclaim === 'refcount') pool.refcount[t] = nr;
  return 0;
}

/**
 * Split a PMD leaf mapping the huge zero folio into a PTE table mapping the
 * small zero page `zeroPfn` read-only: each PTE is
 * `pte_mkspecial(pfn_pte(zero_pfn, vm_page_prot))` (`vmPageProt`), with the
 * leaf's uffd-wp bit. The leaf is cleared and flushed first, then the
 * deposited table (or a new one) is filled and installed.
 * @returns 0, or -ENOMEM when no table could be had.
 * @remarks Context: the PMD lock held.
 * @kernel __split_huge_zero_page_pmd (mm/huge_memory.c)
 */
export function splitHugeZeroPagePmdLocked(
  mm: MmPgtables,
  addr: number,
  pmdp: number,
  zeroPfn: number,
  vmPageProt: PgProt,
): number {
  const pt = mm.pt;
  const codec = pt.codec;
  const old = pt.readEntry(PMD_LEVEL, pmdp, new PteVal());
  if (!codec.pmdLeaf(old)) throw new MmBugError(`pgtable: zero-page split of a non-leaf PMD ${old.toHex()}`);
  let t = pgtableTransHugeWithdraw(mm, pmdp);
  let counted = true;
  if (t < 0) {
    t = pt.pagetableAlloc(mm, PTE_LEVEL);
    if (t < 0) return t;
    counted = false;
  }
  pmdpHugeClearFlush(mm, addr, pmdp, t2);
  const pte = new PteVal();
  codec.pfnPte(pte, zeroPfn, vmPageProt);
  codec.pteMkspecial(pte);
  codec.pteWrprotect(pte);
  if (codec.pteUffdWp(old)) codec.pteMkuffdWp(pte);
  const nr = pt.ptrs[PTE_LEVEL]!;
  const base = t * nr;
  const pool = pt.pools[PTE_LEVEL]!;
  for (let i = 0; i < nr; i++) pool.write(base + i, pte.lo, pte.hi);
  pmdPopulate(mm, pmdp, t, !counted);
  if (pt.ptReclaim === 'refcount') pool.refcount[t] = nr;
  return 0;
}
