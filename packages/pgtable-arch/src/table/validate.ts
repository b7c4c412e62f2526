/**
 * DOC: `ptValidate()`: the invariants of a page-table context, checked from
 * the roots down (the model's `mt_validate()`; the kernel's nearest relatives
 * are CONFIG_PAGE_TABLE_CHECK and CONFIG_DEBUG_VM_PGTABLE).
 *
 * For every live address space: each table entry points to a live table of
 * the level below that belongs to the same mm, whose page has type
 * PGTY_table and records that entry as its parent; leaves appear only at
 * levels that may hold them; every entry decodes to a known kind (no
 * reserved swap type); the mm's counters (`pgtables_bytes`, nr_ptes,
 * nr_pmds, nr_puds) match the tables found. Across the context: every live
 * table is reachable from an mm, deposited with a PMD leaf, or on its way to
 * being freed; no freed table is still referenced; no split lock is held or
 * lent between operations; in refcount mode every PTE table's `pte_refcount`
 * equals its non-none entries plus the references visitors hold; and an
 * optional callback vets every mapped PFN (say, "not a free page").
 */
import { MmBugError, PGTY_table } from '@mm/machine';
import { LEVEL_NAMES, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import { LEAF_KIND, SwpEntry } from '../entry/swapops.js';
import type { MmPgtables, PageTables } from './page-tables.js';
import { PT_FREEING, PT_LIVE } from './ptdesc.js';

/** Options of {@link ptValidate}. */
export interface PtValidateOptions {
  /**
   * Called for every PFN a present leaf maps (and every PFN a migration,
   * device or hwpoison entry names), with the number of pages; return a
   * message to report a problem (e.g. the page is free), or null.
   */
  readonly checkPfn?: (pfn: number, nrPages: number, kind: 'present' | 'pfn-entry') => string | null;
  /** Allow split locks to be held (when validating inside an operation). */
  readonly allowHeldLocks?: boolean;
}

/**
 * Check the invariants of `pt` (all address spaces); throws MmBugError
 * naming the first violation.
 */
export function ptValidate(pt: PageTables, options: PtValidateOptions = {}): void {
  const seen = new Map<number, Set<number>>(); // level -> tables reached
  for (let l = 0; l < 5; l++) if (pt.folded[l] === 0) seen.set(l, new Set());
  for (const mm of pt.mms.values()) validateMm(pt, mm, seen, options);
  // Deposited tables count as reachable PTE tables.
  for (const [pmdp, t] of pt.deposited) {
    if (!pt.tableLive(PTE_LEVEL, t))
      throw new MmBugError(`ptValidate: deposited table ${t} (PMD slot ${pmdp}) is not live`);
    seen.get(PTE_LEVEL)!.add(t);
  }
  const pools = new Set(pt.pools.filter((p) => p !== null));
  for (const pool of pools) {
    for (let t = 0; t < pool.nrTables; t++) {
      if (pool.state[t] !== PT_LIVE) continue;
      const level = pool.level[t]!;
      if (!seen.get(level)?.has(t)) {
        throw new MmBugError(
          `ptValidate: live ${LEVEL_NAMES[level]} table ${t} (pfn ${pool.pfn[t]}) is reachable from no address space`,
        );
      }
    }
    let lent = 0;
    for (let t = 0; t < pool.nrTables; t++) {
      if (pool.ptlock[t]! < 0) continue;
      lent++;
      if (options.allowHeldLocks !== true) {
        throw new MmBugError(`ptValidate: table ${t} still holds split lock ${pool.ptlock[t]} between operations`);
      }
      if (pool.state[t] !== PT_LIVE && pool.state[t] !== PT_FREEING) {
        throw new MmBugError(`ptValidate: freed table ${t} holds a split lock`);
      }
    }
    void lent;
  }
  const lazy = pt.lazy.validate();
  if (lazy !== null) throw new MmBugError(`ptValidate: ${lazy}`);
}

function validateMm(pt: PageTables, mm: MmPgtables, seen: Map<number, Set<number>>, options: PtValidateOptions): void {
  const codec = pt.codec;
  const v = new PteVal();
  const e = new SwpEntry();
  const counts = [0, 0, 0, 0, 0];
  const pageSize = pt.pageSize;
  const memmap = pt.machine.mem.memmap;
  const checkTable = (level: number, t: number, parent: number): void => {
    const pool = pt.pools[level]!;
    if (!pt.tableLive(level, t))
      throw new MmBugError(`ptValidate: mm ${mm.id} points to ${LEVEL_NAMES[level]} table ${t}, which is not live`);
    if (pool.level[t] !== level) {
      throw new MmBugError(
        `ptValidate: mm ${mm.id}: table ${t} is a ${LEVEL_NAMES[pool.level[t]!]} table used as ${LEVEL_NAMES[level]}`,
      );
    }
    if (pool.mm[t] !== mm.id)
      throw new MmBugError(`ptValidate: mm ${mm.id} uses ${LEVEL_NAMES[level]} table ${t} of mm ${pool.mm[t]}`);
    const pfn = pool.pfn[t]!;
    if (memmap.pageType(pfn) !== PGTY_table) {
      throw new MmBugError(
        `ptValidate: ${LEVEL_NAMES[level]} table ${t} page ${pfn} has page type ${memmap.pageType(pfn)}, not PGTY_table`,
      );
    }
    if (pt.tableOfPfn(pfn) !== t)
      throw new MmBugError(`ptValidate: page ${pfn} records table ${pt.tableOfPfn(pfn)}, not ${t}`);
    if (parent >= 0 && pool.parent[t] !== parent) {
      throw new MmBugError(
        `ptValidate: ${LEVEL_NAMES[level]} table ${t} records parent slot ${pool.parent[t]}, but slot ${parent} points to it`,
      );
    }
    if (seen.get(level)!.has(t))
      throw new MmBugError(`ptValidate: ${LEVEL_NAMES[level]} table ${t} is reachable twice`);
    seen.get(level)!.add(t);
    counts[level]!++;
  };
  const walk = (level: number, t: number, base: number): void => {
    const pool = pt.pools[level]!;
    const ptrs = pool.ptrs;
    const size = 2 ** pt.shift[level]!;
    let nonNone = 0;
    for (let i = 0; i < ptrs; i++) {
      const slot = t * ptrs + i;
      pt.readEntry(level, slot, v);
      const addr = base + i * size;
      if (level === PTE_LEVEL) {
        if (codec.pteNone(v)) continue;
        nonNone++;
        checkLeaf(pt, mm, v, e, addr, false, options);
        continue;
      }
      if (v.lo === 0 && v.hi === 0) continue;
      // Entries of this table stand for the logical levels folded into it; the lowest decides.
      let logical = level;
      while (logical > 0 && pt.host[logical - 1] === level) logical--;
      const below = pt.below[level]!;
      if (codec.tableEntryOk(v, level as 1 | 2 | 3 | 4)) {
        if (below < 0) throw new MmBugError(`ptValidate: table entry at the PTE level`);
        const child = pt.tableOfPfn(codec.tableEntryPfn(v, level as 1 | 2 | 3 | 4));
        checkTable(below, child, slot);
        walk(below, child, addr);
        continue;
      }
      const isLeaf =
        logical === PMD_LEVEL
          ? codec.pmdLeaf(v) || !codec.pmdPresent(v)
          : logical === PUD_LEVEL
            ? codec.pudLeaf(v)
            : false;
      if (!isLeaf || ((pt.desc.leafLevels >>> logical) & 1) === 0) {
        throw new MmBugError(
          `ptValidate: mm ${mm.id}: bad ${LEVEL_NAMES[logical]} entry ${v.toHex()} at 0x${addr.toString(16)}`,
        );
      }
      checkLeaf(pt, mm, v, e, addr, true, options);
    }
    if (level === PTE_LEVEL && pt.ptReclaim === 'refcount') {
      const want = nonNone + pt.pteRefVisitors(t);
      if (pool.refcount[t] !== want) {
        throw new MmBugError(
          `ptValidate: PTE table ${t} has pte_refcount ${pool.refcount[t]}, expected ${want} (${nonNone} entries)`,
        );
      }
    }
  };
  checkTable(4, mm.pgd, -1);
  counts[4]!--;
  walk(4, mm.pgd, 0);
  const deposited = countDeposits(pt, mm);
  const bytes =
    (counts[0]! + deposited) * pt.ptrs[0]! +
    counts[1]! * pt.ptrs[1]! +
    counts[2]! * pt.ptrs[2]! +
    counts[3]! * pt.ptrs[3]!;
  const want = bytes * codec.features.entryBytes;
  if (
    mm.pgtablesBytes !== want ||
    mm.nrPtes !== counts[0]! + deposited ||
    mm.nrPmds !== counts[1]! ||
    mm.nrPuds !== counts[2]!
  ) {
    throw new MmBugError(
      `ptValidate: mm ${mm.id} counters (bytes ${mm.pgtablesBytes}, ptes ${mm.nrPtes}, pmds ${mm.nrPmds}, puds ${mm.nrPuds}) disagree with the tables (bytes ${want}, ptes ${counts[0]! + deposited}, pmds ${counts[1]}, puds ${counts[2]})`,
    );
  }
  void pageSize;
}

function countDeposits(pt: PageTables, mm: MmPgtables): number {
  let n = 0;
  const pool = pt.pools[PTE_LEVEL]!;
  for (const t of pt.deposited.values()) if (pool.mm[t] === mm.id) n++;
  return n;
}

function checkLeaf(
  pt: PageTables,
  mm: MmPgtables,
  v: PteVal,
  e: SwpEntry,
  addr: number,
  huge: boolean,
  options: PtValidateOptions,
): void {
  const codec = pt.codec;
  const present = huge ? codec.pmdPresent(v) : codec.ptePresent(v);
  const nrPages = huge ? 2 ** (pt.shift[PMD_LEVEL]! - pt.pageShift) : 1;
  if (present) {
    const pfn = huge ? codec.pmdPfn(v) : codec.ptePfn(v);
    if (options.checkPfn !== undefined && !codec.pteSpecial(v)) {
      const msg = options.checkPfn(pfn, nrPages, 'present');
      if (msg !== null) throw new MmBugError(`ptValidate: mm ${mm.id} at 0x${addr.toString(16)}: ${msg}`);
    }
    return;
  }
  const s = pt.swap;
  s.pteToSwpEntry(v, e);
  const kind = s.entryKind(e);
  if (kind === LEAF_KIND.NONE) {
    throw new MmBugError(
      `ptValidate: mm ${mm.id} at 0x${addr.toString(16)}: non-present entry ${v.toHex()} decodes to no kind`,
    );
  }
  if (kind === LEAF_KIND.MARKER && s.pteMarkerGet(e) === 0) {
    throw new MmBugError(`ptValidate: mm ${mm.id} at 0x${addr.toString(16)}: empty PTE marker`);
  }
  if (s.isPfnSwapEntry(e) && options.checkPfn !== undefined) {
    const msg = options.checkPfn(s.swpOffsetPfn(e), nrPages, 'pfn-entry');
    if (msg !== null) throw new MmBugError(`ptValidate: mm ${mm.id} at 0x${addr.toString(16)}: ${msg}`);
  }
}
