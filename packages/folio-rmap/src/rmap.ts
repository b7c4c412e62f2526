/**
 * DOC: the rmap interface: adding, duplicating, sharing and removing the
 * page-table mappings of folios (the v6.8 interface of the series "mm/rmap: interface overhaul", with
 * the v6.15 series "mm: MM owner tracking for large folios (!hugetlb) +
 * CONFIG_NO_PAGE_MAPCOUNT").
 *
 * Every function takes the folio and the first page of the range (PFNs) and
 * says at which granularity it maps: `_pte` one page, `_ptes` a batch of
 * `nr` consecutive pages of one folio in one page table, `_pmd` a whole
 * PMD-sized folio. Hugetlb folios are "one logical PTE" and have their own
 * family. Each function updates exactly the kernel's counters (per-page
 * `_mapcount`, `_large_mapcount` and the MM slots, `_entire_mapcount`,
 * `_nr_pages_mapped`), statistics (NR_ANON_MAPPED, NR_FILE_MAPPED,
 * NR_ANON_THPS, NR_SHMEM_PMDMAPPED, NR_FILE_PMDMAPPED), PageAnonExclusive,
 * the deferred split queue and mlock.
 *
 * Context: the caller holds the page table lock (and the folio lock for anon
 * folios, except for a new exclusive folio), as in the kernel; the model does
 * not check it.
 */
import {
  EBUSY,
  NODE_STAT,
  PG_anon_exclusive,
  PG_head,
  PG_locked,
  PG_partially_mapped,
  PG_swapbacked,
  PGTY_hugetlb,
} from '@mm/machine';
import type { AnonVma } from './anon-vma.js';
import { type FolioRmap, MTHP_STAT, modMthpStat } from './env.js';
import { FolioError } from './errors.js';
import {
  ENTIRELY_MAPPED,
  FOLIO_MAPPING_ANON,
  FOLIO_MAPPING_FLAGS,
  FOLIO_MAPPING_KSM,
  FOLIO_PAGES_MAPPED,
  folioMaybeDmaPinned,
  folioNeedsCowForDma,
} from './folio.js';
import { deferredSplitFolio } from './huge-memory.js';
import { mlockVmaFolio, munlockVmaFolio } from './mlock.js';
import { folioAddReturnLargeMapcount, folioSetLargeMapcount, folioSubReturnLargeMapcount } from './mm-id.js';
import { linearPageIndex, type RmapVma, vmaTestDroppable } from './vma.js';

/** `rmap_t`: no special request; the page may be shared between processes. */
export const RMAP_NONE = 0;
/** `rmap_t`: the anonymous page is exclusive to a single process. */
export const RMAP_EXCLUSIVE = 1;

/** `enum pgtable_level` values the rmap uses. */
export const PGTABLE_LEVEL_PTE = 0;
/** A PMD-level (huge) mapping. */
export const PGTABLE_LEVEL_PMD = 1;

const NR_ANON_MAPPED = NODE_STAT.NR_ANON_MAPPED;
const NR_FILE_MAPPED = NODE_STAT.NR_FILE_MAPPED;
const NR_ANON_THPS = NODE_STAT.NR_ANON_THPS;
const NR_SHMEM_PMDMAPPED = NODE_STAT.NR_SHMEM_PMDMAPPED;
const NR_FILE_PMDMAPPED = NODE_STAT.NR_FILE_PMDMAPPED;
const HEAD = 1 << PG_head;
const AE = 1 << PG_anon_exclusive;

/** The anon_vma an anon (non-KSM) folio points to, or null. @kernel folio_anon_vma (mm/util.c) */
export function folioAnonVma(rm: FolioRmap, folio: number): AnonVma | null {
  const mapping = rm.sec(folio).mapping[folio & rm.mask] as number;
  if ((mapping & FOLIO_MAPPING_FLAGS) !== FOLIO_MAPPING_ANON) return null;
  return rm.anonVmas[mapping >>> 2] ?? null;
}

/**
 * Account `nr` pages as (un)mapped and `nrPmdmapped` as PMD-mapped.
 * @kernel __folio_mod_stat (mm/rmap.c)
 */
function folioModStat(rm: FolioRmap, folio: number, nr: number, nrPmdmapped: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const anon = ((s.mapping[i] as number) & FOLIO_MAPPING_ANON) !== 0;
  const vmstat = rm.mem.vmstat;
  const cpu = rm.machine.currentCpu;
  const nid = rm.mem.pageToNid(folio);
  const memcg = rm.hooks.memcgStatMod;
  if (nr !== 0) {
    const idx = anon ? NR_ANON_MAPPED : NR_FILE_MAPPED;
    vmstat.modNodePageState(cpu, nid, idx, nr);
    if (memcg !== undefined) memcg(folio, idx, nr);
  }
  if (nrPmdmapped !== 0) {
    if (anon) {
      vmstat.modNodePageState(cpu, nid, NR_ANON_THPS, nrPmdmapped);
      if (memcg !== undefined) memcg(folio, NR_ANON_THPS, nrPmdmapped);
    } else {
      // NR_*_PMDMAPPED are not maintained per-memcg.
      const idx = (s.flags[i] as number) & (1 << PG_swapbacked) ? NR_SHMEM_PMDMAPPED : NR_FILE_PMDMAPPED;
      vmstat.modNodePageState(cpu, nid, idx, nrPmdmapped);
    }
  }
}

/**
 * The structural checks of `__folio_rmap_sanity_checks`: a page range
 * outside the folio would corrupt a neighbour, so it throws (nothing
 * changed); the softer checks record machine warnings.
 */
function rmapSanityChecks(rm: FolioRmap, folio: number, page: number, nr: number, level: number): void {
  const s = rm.sections[folio >>> rm.shift];
  const i = folio & rm.mask;
  if (s === undefined || (s.refcount[i] as number) <= 0 || (s.compoundHead[i] as number) >= 0) {
    throw new FolioError('EINVAL', folio, `rmap: pfn ${folio} is not the head of an allocated folio`);
  }
  const f = s.flags[i] as number;
  const n = f & HEAD ? 1 << (s.order[i] as number) : 1;
  if (!(nr > 0) || page < folio || page + nr > folio + n || (nr | 0) !== nr) {
    throw new FolioError('EINVAL', folio, `rmap: pages ${page}+${nr} outside folio ${folio} (${n} pages)`);
  }
  if (s.pageType[i] === PGTY_hugetlb) {
    throw new FolioError('EINVAL', folio, `rmap: hugetlb folio ${folio} needs the hugetlb_* functions`);
  }
  if (level === PGTABLE_LEVEL_PMD && (n !== rm.hpagePmdNr || nr !== rm.hpagePmdNr)) {
    throw new FolioError('EINVAL', folio, `rmap: PMD mapping of folio ${folio} of ${n} pages`);
  }
  const mapping = s.mapping[i] as number;
  if ((mapping & FOLIO_MAPPING_FLAGS) === FOLIO_MAPPING_ANON) {
    const av = rm.anonVmas[mapping >>> 2];
    // The message is built only on failure: this runs once per rmap call on the fork and fault paths.
    if (av === undefined || av.refcount === 0)
      rm.machine.warnOn(true, `rmap: anon folio ${folio} without a live anon_vma`);
  }
}

/**
 * Count new mappings of `nr` pages at `level` and account the pages newly mapped.
 * @kernel __folio_add_rmap (mm/rmap.c)
 */
function __folioAddRmap(rm: FolioRmap, folio: number, page: number, nr: number, vma: RmapVma, level: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  let add = 0;
  let nrPmdmapped = 0;
  if (level === PGTABLE_LEVEL_PTE) {
    if (!((s.flags[i] as number) & HEAD)) {
      const v = (s.mapcount[i] as number) + 1;
      s.mapcount[i] = v;
      rm.chargeAtomics(1);
      add = v === 0 ? 1 : 0;
    } else if (!rm.pageMapcount) {
      const v = folioAddReturnLargeMapcount(rm, folio, nr, vma);
      // Was completely unmapped: the whole folio counts as mapped.
      add = v === nr ? 1 << (s.order[i] as number) : 0;
    } else {
      const mc = s.mapcount;
      let first = 0;
      const p = page & rm.mask;
      for (let k = p, end = p + nr; k < end; k++) {
        const v = (mc[k] as number) + 1;
        mc[k] = v;
        if (v === 0) first++;
      }
      rm.chargeAtomics(nr);
      if (first !== 0) {
        const v = (s.prev[i + 1] as number) + first;
        s.prev[i + 1] = v;
        rm.chargeAtomics(1);
        if (v < ENTIRELY_MAPPED) add = first;
      }
      folioAddReturnLargeMapcount(rm, folio, nr, vma);
    }
  } else {
    const e = (s.mapping[i + 1] as number) + 1;
    s.mapping[i + 1] = e;
    rm.chargeAtomics(1);
    const first = e === 0;
    const n = 1 << (s.order[i] as number);
    if (!rm.pageMapcount) {
      if (first) nrPmdmapped = n;
      add = folioAddReturnLargeMapcount(rm, folio, 1, vma) === 1 ? n : 0;
    } else {
      if (first) {
        const v = (s.prev[i + 1] as number) + ENTIRELY_MAPPED;
        s.prev[i + 1] = v;
        rm.chargeAtomics(1);
        if (v < ENTIRELY_MAPPED + ENTIRELY_MAPPED) {
          nrPmdmapped = n;
          add = n - (v & FOLIO_PAGES_MAPPED);
          if (add < 0) add = 0;
        }
      }
      folioAddReturnLargeMapcount(rm, folio, 1, vma);
    }
  }
  if (add !== 0 || nrPmdmapped !== 0) folioModStat(rm, folio, add, nrPmdmapped);
}

/** Check that an anon mapping of `page` at `address` in `vma` matches the folio's anon_vma and index. */
function pageCheckAnonRmap(rm: FolioRmap, folio: number, page: number, vma: RmapVma, address: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const mapping = s.mapping[i] as number;
  if ((mapping & FOLIO_MAPPING_FLAGS) === FOLIO_MAPPING_KSM) return;
  const av = rm.anonVmas[mapping >>> 2];
  if (av === undefined || vma.anonVma === null || av.root !== vma.anonVma.root) {
    throw new FolioError('EINVAL', folio, `rmap: anon folio ${folio} mapped into a VMA of another anon_vma tree`);
  }
  if ((s.index[i] as number) + (page - folio) !== linearPageIndex(vma, address, rm.pageSize)) {
    throw new FolioError(
      'EINVAL',
      folio,
      `rmap: page ${page} of folio ${folio} (index ${s.index[i]}) mapped at the wrong address ${address}`,
    );
  }
}

function __folioAddAnonRmap(
  rm: FolioRmap,
  folio: number,
  page: number,
  nr: number,
  vma: RmapVma,
  address: number,
  flags: number,
  level: number,
): void {
  rmapSanityChecks(rm, folio, page, nr, level);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (!((s.mapping[i] as number) & FOLIO_MAPPING_ANON)) {
    throw new FolioError('EINVAL', folio, `rmap: folio ${folio} is not anonymous`);
  }
  pageCheckAnonRmap(rm, folio, page, vma, address);
  __folioAddRmap(rm, folio, page, nr, vma, level);
  if (flags & RMAP_EXCLUSIVE) {
    const fl = s.flags;
    if (level === PGTABLE_LEVEL_PTE) {
      const p = page & rm.mask;
      for (let k = p, end = p + nr; k < end; k++) fl[k] = (fl[k] as number) | AE;
    } else {
      fl[page & rm.mask] = (fl[page & rm.mask] as number) | AE;
    }
  }
  // Only mlock it if the folio is fully mapped to the VMA.
  const n = (s.flags[i] as number) & HEAD ? 1 << (s.order[i] as number) : 1;
  if (n === nr) mlockVmaFolio(rm, folio, vma);
}

/**
 * Add PTE mappings of `nr` consecutive pages of an anon folio at `address`
 * (the first page's address) in `vma`; RMAP_EXCLUSIVE marks the pages
 * PageAnonExclusive. mlocks the folio when the batch maps all of it.
 * @kernel folio_add_anon_rmap_ptes (mm/rmap.c)
 */
export function folioAddAnonRmapPtes(
  rm: FolioRmap,
  folio: number,
  page: number,
  nr: number,
  vma: RmapVma,
  address: number,
  flags: number,
): void {
  __folioAddAnonRmap(rm, folio, page, nr, vma, address, flags, PGTABLE_LEVEL_PTE);
}

/**
 * Add a PTE mapping of one page of an anon folio.
 * @kernel folio_add_anon_rmap_pte (include/linux/rmap.h)
 */
export function folioAddAnonRmapPte(
  rm: FolioRmap,
  folio: number,
  page: number,
  vma: RmapVma,
  address: number,
  flags: number,
): void {
  __folioAddAnonRmap(rm, folio, page, 1, vma, address, flags, PGTABLE_LEVEL_PTE);
}

/**
 * Add a PMD mapping of a PMD-sized anon folio (RMAP_EXCLUSIVE marks the head page).
 * @kernel folio_add_anon_rmap_pmd (mm/rmap.c)
 */
export function folioAddAnonRmapPmd(
  rm: FolioRmap,
  folio: number,
  page: number,
  vma: RmapVma,
  address: number,
  flags: number,
): void {
  __folioAddAnonRmap(rm, folio, page, rm.hpagePmdNr, vma, address, flags, PGTABLE_LEVEL_PMD);
}

/**
 * Point a folio at `vma`'s anon_vma (its root unless exclusive) and set its index.
 * @kernel __folio_set_anon (mm/rmap.c)
 */
function __folioSetAnon(rm: FolioRmap, folio: number, vma: RmapVma, address: number, exclusive: boolean): void {
  let av = vma.anonVma;
  if (av === null) throw new FolioError('EINVAL', folio, 'rmap: the VMA has no anon_vma (anon_vma_prepare first)');
  // A folio that is not exclusive to this VMA takes the oldest anon_vma.
  if (!exclusive) av = av.root;
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  s.mapping[i] = av.handle * 4 + FOLIO_MAPPING_ANON;
  s.index[i] = linearPageIndex(vma, address, rm.pageSize);
}

/**
 * Map a new, never mapped anon folio at `address` at the largest granularity
 * (a PMD for a PMD-sized folio, PTEs otherwise): sets PG_swapbacked (unless
 * VM_DROPPABLE), the anon mapping and index, the counters and MM slot 0,
 * accounts NR_ANON_MAPPED (and NR_ANON_THPS) and the mTHP `nr_anon` stat.
 * It does not mlock (the caller's LRU add does).
 * @kernel folio_add_new_anon_rmap (mm/rmap.c)
 */
export function folioAddNewAnonRmap(rm: FolioRmap, folio: number, vma: RmapVma, address: number, flags: number): void {
  const exclusive = (flags & RMAP_EXCLUSIVE) !== 0;
  const s0 = rm.sections[folio >>> rm.shift];
  const i = folio & rm.mask;
  if (s0 === undefined || (s0.refcount[i] as number) <= 0 || (s0.compoundHead[i] as number) >= 0) {
    throw new FolioError('EINVAL', folio, `rmap: pfn ${folio} is not the head of an allocated folio`);
  }
  if (s0.pageType[i] === PGTY_hugetlb) {
    throw new FolioError('EINVAL', folio, `rmap: hugetlb folio ${folio} needs hugetlbAddNewAnonRmap`);
  }
  if (vma.anonVma === null) {
    throw new FolioError('EINVAL', folio, 'rmap: the VMA has no anon_vma (anon_vma_prepare first)');
  }
  const s = s0;
  const large = ((s.flags[i] as number) & HEAD) !== 0;
  const order = large ? (s.order[i] as number) : 0;
  const n = 1 << order;
  if (address < vma.vmStart || address + n * rm.pageSize > vma.vmEnd) {
    throw new FolioError(
      'EINVAL',
      folio,
      `rmap: new folio ${folio} of ${n} pages does not fit at ${address} in the VMA`,
    );
  }
  rm.machine.warnOn(
    !exclusive && !((s.flags[i] as number) & (1 << PG_locked)),
    'rmap: new shared anon folio not locked',
  );
  if (!((s.flags[i] as number) & (1 << PG_swapbacked)) && !vmaTestDroppable(vma)) {
    s.flags[i] = (s.flags[i] as number) | (1 << PG_swapbacked);
  }
  __folioSetAnon(rm, folio, vma, address, exclusive);
  let nr = 1;
  let nrPmdmapped = 0;
  if (!large) {
    s.mapcount[i] = 0;
    if (exclusive) s.flags[i] = (s.flags[i] as number) | AE;
  } else if (order < rm.hpagePmdOrder) {
    nr = n;
    if (rm.pageMapcount) s.mapcount.fill(0, i, i + n);
    if (exclusive) for (let k = i; k < i + n; k++) s.flags[k] = (s.flags[k] as number) | AE;
    folioSetLargeMapcount(rm, folio, n, vma);
    if (rm.pageMapcount) s.prev[i + 1] = n;
  } else {
    nr = n;
    s.mapping[i + 1] = 0;
    folioSetLargeMapcount(rm, folio, 1, vma);
    if (rm.pageMapcount) s.prev[i + 1] = ENTIRELY_MAPPED;
    if (exclusive) s.flags[i] = (s.flags[i] as number) | AE;
    nrPmdmapped = n;
  }
  folioModStat(rm, folio, nr, nrPmdmapped);
  modMthpStat(rm, order, MTHP_STAT.MTHP_STAT_NR_ANON, 1);
}

function __folioAddFileRmap(rm: FolioRmap, folio: number, page: number, nr: number, vma: RmapVma, level: number): void {
  rmapSanityChecks(rm, folio, page, nr, level);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if ((s.mapping[i] as number) & FOLIO_MAPPING_ANON) {
    throw new FolioError('EINVAL', folio, `rmap: folio ${folio} is anonymous, not a file folio`);
  }
  __folioAddRmap(rm, folio, page, nr, vma, level);
  const n = (s.flags[i] as number) & HEAD ? 1 << (s.order[i] as number) : 1;
  if (n === nr) mlockVmaFolio(rm, folio, vma);
}

/**
 * Add PTE mappings of `nr` pages of a file (page cache or shmem) folio.
 * @kernel folio_add_file_rmap_ptes (mm/rmap.c)
 */
export function folioAddFileRmapPtes(rm: FolioRmap, folio: number, page: number, nr: number, vma: RmapVma): void {
  __folioAddFileRmap(rm, folio, page, nr, vma, PGTABLE_LEVEL_PTE);
}

/** Add a PTE mapping of one page of a file folio in `vma`. @kernel folio_add_file_rmap_pte (include/linux/rmap.h) */
export function folioAddFileRmapPte(rm: FolioRmap, folio: number, page: number, vma: RmapVma): void {
  __folioAddFileRmap(rm, folio, page, 1, vma, PGTABLE_LEVEL_PTE);
}

/** Add a PMD mapping of a whole PMD-sized file folio in `vma`. @kernel folio_add_file_rmap_pmd (mm/rmap.c) */
export function folioAddFileRmapPmd(rm: FolioRmap, folio: number, page: number, vma: RmapVma): void {
  __folioAddFileRmap(rm, folio, page, rm.hpagePmdNr, vma, PGTABLE_LEVEL_PMD);
}

/** Removing mappings that do not exist is bad input: throw before changing anything. */
function checkRemovable(rm: FolioRmap, folio: number, page: number, nr: number, level: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  let ok: boolean;
  if (!((s.flags[i] as number) & HEAD)) {
    ok = (s.mapcount[i] as number) >= 0;
  } else if (level !== PGTABLE_LEVEL_PTE) {
    ok = (s.mapping[i + 1] as number) >= 0 && (s.next[i + 1] as number) >= 0;
  } else {
    // (PAGE_MAPCOUNT: the per-page counts are checked as they drop, see below.)
    ok = (s.next[i + 1] as number) + 1 >= nr;
  }
  if (!ok)
    throw new FolioError(
      'EINVAL',
      folio,
      `rmap: removing mappings of pages ${page}+${nr} of folio ${folio} that are not mapped`,
    );
}

/**
 * Remove mappings; queue a partially mapped anon folio for deferred split,
 * unaccount, munlock.
 * @kernel __folio_remove_rmap (mm/rmap.c)
 */
function __folioRemoveRmap(rm: FolioRmap, folio: number, page: number, nr: number, vma: RmapVma, level: number): void {
  rmapSanityChecks(rm, folio, page, nr, level);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  checkRemovable(rm, folio, page, nr, level);
  let sub = 0;
  let nrPmdmapped = 0;
  let partiallyMapped = false;
  if (level === PGTABLE_LEVEL_PTE) {
    if (!((s.flags[i] as number) & HEAD)) {
      const v = (s.mapcount[i] as number) - 1;
      s.mapcount[i] = v;
      rm.chargeAtomics(1);
      sub = v < 0 ? 1 : 0;
    } else if (!rm.pageMapcount) {
      const v = folioSubReturnLargeMapcount(rm, folio, nr, vma);
      const n = 1 << (s.order[i] as number);
      if (v === 0) {
        sub = n;
      } else {
        partiallyMapped = v < n && (s.mapping[i + 1] as number) + 1 === 0;
      }
    } else {
      const mc = s.mapcount;
      let last = 0;
      let under = 0;
      const p = page & rm.mask;
      for (let k = p, end = p + nr; k < end; k++) {
        const v = (mc[k] as number) - 1;
        mc[k] = v;
        if (v < 0) {
          last++;
          if (v < -1) under++;
        }
      }
      if (under !== 0) {
        for (let k = p, end = p + nr; k < end; k++) mc[k] = (mc[k] as number) + 1;
        throw new FolioError(
          'EINVAL',
          folio,
          `rmap: removing mappings of pages ${page}+${nr} of folio ${folio} that are not mapped`,
        );
      }
      rm.chargeAtomics(nr);
      folioSubReturnLargeMapcount(rm, folio, nr, vma);
      let mapped = s.prev[i + 1] as number;
      if (last !== 0) {
        mapped -= last;
        s.prev[i + 1] = mapped;
        rm.chargeAtomics(1);
        if (mapped < ENTIRELY_MAPPED) sub = last;
      }
      partiallyMapped = sub !== 0 && mapped !== 0;
    }
  } else {
    const n = 1 << (s.order[i] as number);
    if (!rm.pageMapcount) {
      const e = (s.mapping[i + 1] as number) - 1;
      s.mapping[i + 1] = e;
      rm.chargeAtomics(1);
      const last = e < 0;
      if (last) nrPmdmapped = n;
      const v = folioSubReturnLargeMapcount(rm, folio, 1, vma);
      if (v === 0) sub = n;
      else partiallyMapped = last && v < n;
    } else {
      folioSubReturnLargeMapcount(rm, folio, 1, vma);
      const e = (s.mapping[i + 1] as number) - 1;
      s.mapping[i + 1] = e;
      rm.chargeAtomics(1);
      if (e < 0) {
        const v = (s.prev[i + 1] as number) - ENTIRELY_MAPPED;
        s.prev[i + 1] = v;
        rm.chargeAtomics(1);
        if (v < ENTIRELY_MAPPED) {
          nrPmdmapped = n;
          sub = n - v;
          if (sub < 0) sub = 0;
        }
      }
      partiallyMapped = sub !== 0 && sub < nrPmdmapped;
    }
  }
  // Queue an anon large folio for deferred split if at least one page was
  // unmapped and at least one is still mapped.
  if (
    partiallyMapped &&
    (s.mapping[i] as number) & FOLIO_MAPPING_ANON &&
    !((s.flags[i + 1] as number) & (1 << PG_partially_mapped))
  ) {
    deferredSplitFolio(rm, folio, true);
  }
  if (sub !== 0 || nrPmdmapped !== 0) folioModStat(rm, folio, -sub, -nrPmdmapped);
  // folio->mapping is left alone: it is reset when the folio is freed.
  munlockVmaFolio(rm, folio, vma);
}

/**
 * Remove PTE mappings of `nr` consecutive pages of a folio.
 * @kernel folio_remove_rmap_ptes (mm/rmap.c)
 */
export function folioRemoveRmapPtes(rm: FolioRmap, folio: number, page: number, nr: number, vma: RmapVma): void {
  __folioRemoveRmap(rm, folio, page, nr, vma, PGTABLE_LEVEL_PTE);
}

/** Remove a PTE mapping of one page of a folio in `vma`. @kernel folio_remove_rmap_pte (include/linux/rmap.h) */
export function folioRemoveRmapPte(rm: FolioRmap, folio: number, page: number, vma: RmapVma): void {
  __folioRemoveRmap(rm, folio, page, 1, vma, PGTABLE_LEVEL_PTE);
}

/** Remove a PMD mapping of a whole PMD-sized folio in `vma`. @kernel folio_remove_rmap_pmd (mm/rmap.c) */
export function folioRemoveRmapPmd(rm: FolioRmap, folio: number, page: number, vma: RmapVma): void {
  __folioRemoveRmap(rm, folio, page, rm.hpagePmdNr, vma, PGTABLE_LEVEL_PMD);
}

function __folioDupFileRmap(rm: FolioRmap, folio: number, page: number, nr: number, dst: RmapVma, level: number): void {
  rmapSanityChecks(rm, folio, page, nr, level);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (level === PGTABLE_LEVEL_PTE) {
    if (!((s.flags[i] as number) & HEAD)) {
      s.mapcount[i] = (s.mapcount[i] as number) + 1;
      rm.chargeAtomics(1);
      return;
    }
    if (rm.pageMapcount) {
      const mc = s.mapcount;
      const p = page & rm.mask;
      for (let k = p, end = p + nr; k < end; k++) mc[k] = (mc[k] as number) + 1;
      rm.chargeAtomics(nr);
    }
    folioAddReturnLargeMapcount(rm, folio, nr, dst);
  } else {
    s.mapping[i + 1] = (s.mapping[i + 1] as number) + 1;
    rm.chargeAtomics(1);
    folioAddReturnLargeMapcount(rm, folio, 1, dst);
  }
}

/**
 * Duplicate PTE mappings of `nr` pages of a file folio into `dst` (fork);
 * no statistics change, cannot fail.
 * @kernel folio_dup_file_rmap_ptes (include/linux/rmap.h)
 */
export function folioDupFileRmapPtes(rm: FolioRmap, folio: number, page: number, nr: number, dst: RmapVma): void {
  __folioDupFileRmap(rm, folio, page, nr, dst, PGTABLE_LEVEL_PTE);
}

/** Duplicate a PTE mapping of one page of a file folio into `dst` (fork); cannot fail. @kernel folio_dup_file_rmap_pte (include/linux/rmap.h) */
export function folioDupFileRmapPte(rm: FolioRmap, folio: number, page: number, dst: RmapVma): void {
  __folioDupFileRmap(rm, folio, page, 1, dst, PGTABLE_LEVEL_PTE);
}

/**
 * Duplicate a PMD mapping of a file folio. As in the kernel (v6.18, v7.2),
 * this counts HPAGE_PMD_NR PTE-level mappings rather than one entire mapping.
 * @kernel folio_dup_file_rmap_pmd (include/linux/rmap.h)
 */
export function folioDupFileRmapPmd(rm: FolioRmap, folio: number, page: number, dst: RmapVma): void {
  __folioDupFileRmap(rm, folio, page, rm.hpagePmdNr, dst, PGTABLE_LEVEL_PTE);
}

function __folioTryDupAnonRmap(
  rm: FolioRmap,
  folio: number,
  page: number,
  nr: number,
  dst: RmapVma,
  src: RmapVma,
  level: number,
): number {
  rmapSanityChecks(rm, folio, page, nr, level);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (!((s.mapping[i] as number) & FOLIO_MAPPING_ANON)) {
    throw new FolioError('EINVAL', folio, `rmap: folio ${folio} is not anonymous`);
  }
  // A folio the parent may have pinned must be copied for the child, so the
  // pinned page is never replaced on a later write fault.
  const maybePinned = folioNeedsCowForDma(rm, src, folio);
  const fl = s.flags;
  const p = page & rm.mask;
  if (level === PGTABLE_LEVEL_PTE) {
    if (maybePinned) {
      for (let k = p, end = p + nr; k < end; k++) if ((fl[k] as number) & AE) return -EBUSY;
    }
    if (!((fl[i] as number) & HEAD)) {
      fl[i] = (fl[i] as number) & ~AE;
      s.mapcount[i] = (s.mapcount[i] as number) + 1;
      rm.chargeAtomics(1);
      return 0;
    }
    if (rm.pageMapcount) {
      const mc = s.mapcount;
      for (let k = p, end = p + nr; k < end; k++) {
        fl[k] = (fl[k] as number) & ~AE;
        mc[k] = (mc[k] as number) + 1;
      }
      rm.chargeAtomics(nr);
    } else {
      for (let k = p, end = p + nr; k < end; k++) fl[k] = (fl[k] as number) & ~AE;
    }
    folioAddReturnLargeMapcount(rm, folio, nr, dst);
  } else {
    if ((fl[p] as number) & AE) {
      if (maybePinned) return -EBUSY;
      fl[p] = (fl[p] as number) & ~AE;
    }
    s.mapping[i + 1] = (s.mapping[i + 1] as number) + 1;
    rm.chargeAtomics(1);
    folioAddReturnLargeMapcount(rm, folio, 1, dst);
  }
  return 0;
}

/**
 * Duplicate PTE mappings of `nr` pages of an anon folio into the child's
 * `dst` VMA at fork. Returns -EBUSY (nothing changed) when the folio may be
 * pinned and any page is PageAnonExclusive: the caller copies instead.
 * Otherwise clears PageAnonExclusive (both PTEs must then be read-only).
 * @kernel folio_try_dup_anon_rmap_ptes (include/linux/rmap.h)
 */
export function folioTryDupAnonRmapPtes(
  rm: FolioRmap,
  folio: number,
  page: number,
  nr: number,
  dst: RmapVma,
  src: RmapVma,
): number {
  return __folioTryDupAnonRmap(rm, folio, page, nr, dst, src, PGTABLE_LEVEL_PTE);
}

/** Duplicate a PTE mapping of an anon page from `src` into `dst` (fork); 0, or -EBUSY when the page is exclusive and may be pinned, so the caller must copy it. @kernel folio_try_dup_anon_rmap_pte (include/linux/rmap.h) */
export function folioTryDupAnonRmapPte(rm: FolioRmap, folio: number, page: number, dst: RmapVma, src: RmapVma): number {
  return __folioTryDupAnonRmap(rm, folio, page, 1, dst, src, PGTABLE_LEVEL_PTE);
}

/** Duplicate a PMD mapping of an anon folio from `src` into `dst` (fork); 0, or -EBUSY when it may be pinned, so the caller must copy it. @kernel folio_try_dup_anon_rmap_pmd (include/linux/rmap.h) */
export function folioTryDupAnonRmapPmd(rm: FolioRmap, folio: number, page: number, dst: RmapVma, src: RmapVma): number {
  return __folioTryDupAnonRmap(rm, folio, page, rm.hpagePmdNr, dst, src, PGTABLE_LEVEL_PMD);
}

function __folioTryShareAnonRmap(rm: FolioRmap, folio: number, page: number, nr: number, level: number): number {
  rmapSanityChecks(rm, folio, page, nr, level);
  const s = rm.sec(folio);
  if (!((s.mapping[folio & rm.mask] as number) & FOLIO_MAPPING_ANON)) {
    throw new FolioError('EINVAL', folio, `rmap: folio ${folio} is not anonymous`);
  }
  const p = page & rm.mask;
  if (!((s.flags[p] as number) & AE)) rm.machine.warnOn(true, `rmap: try_share of page ${page} that is not exclusive`);
  // smp_mb() paired with GUP-fast; then back off if pinned.
  if (folioMaybeDmaPinned(rm, folio)) return -EBUSY;
  s.flags[p] = (s.flags[p] as number) & ~AE;
  return 0;
}

/**
 * Mark an exclusive anon page possibly shared before its PTE is replaced by a
 * swap or migration entry (the PTE must already be cleared); -EBUSY when the
 * folio may be pinned.
 * @kernel folio_try_share_anon_rmap_pte (include/linux/rmap.h)
 */
export function folioTryShareAnonRmapPte(rm: FolioRmap, folio: number, page: number): number {
  return __folioTryShareAnonRmap(rm, folio, page, 1, PGTABLE_LEVEL_PTE);
}

/** Mark an exclusive anon PMD-mapped folio possibly shared before its PMD is replaced by a migration entry; -EBUSY when it may be pinned. @kernel folio_try_share_anon_rmap_pmd (include/linux/rmap.h) */
export function folioTryShareAnonRmapPmd(rm: FolioRmap, folio: number, page: number): number {
  return __folioTryShareAnonRmap(rm, folio, page, rm.hpagePmdNr, PGTABLE_LEVEL_PMD);
}

/**
 * Move a folio that became exclusive to `vma` (CoW reuse) into `vma`'s own
 * anon_vma, so rmap walks stop searching parent and siblings.
 * @kernel folio_move_anon_rmap (mm/rmap.c)
 */
export function folioMoveAnonRmap(rm: FolioRmap, folio: number, vma: RmapVma): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (!((s.flags[i] as number) & (1 << PG_locked))) {
    throw new FolioError('EINVAL', folio, `rmap: folio_move_anon_rmap of unlocked folio ${folio}`);
  }
  if (vma.anonVma === null) throw new FolioError('EINVAL', folio, 'rmap: the VMA has no anon_vma');
  s.mapping[i] = vma.anonVma.handle * 4 + FOLIO_MAPPING_ANON;
}

// ---------------------------------------------------------------- hugetlb

function checkHugetlb(rm: FolioRmap, folio: number, anon: boolean | null): void {
  const s = rm.sections[folio >>> rm.shift];
  const i = folio & rm.mask;
  if (s === undefined || s.pageType[i] !== PGTY_hugetlb || (s.refcount[i] as number) <= 0) {
    throw new FolioError('EINVAL', folio, `rmap: pfn ${folio} is not an allocated hugetlb folio`);
  }
  if (anon !== null && (((s.mapping[i] as number) & FOLIO_MAPPING_ANON) !== 0) !== anon) {
    throw new FolioError('EINVAL', folio, `rmap: hugetlb folio ${folio} is ${anon ? 'not ' : ''}anonymous`);
  }
}

/**
 * Map a new anon hugetlb folio (exclusive): both counters to one mapping.
 * No statistics, LRU, mlock or MM slots for hugetlb.
 * @kernel hugetlb_add_new_anon_rmap (mm/rmap.c)
 */
export function hugetlbAddNewAnonRmap(rm: FolioRmap, folio: number, vma: RmapVma, address: number): void {
  checkHugetlb(rm, folio, null);
  if (address < vma.vmStart || address >= vma.vmEnd) {
    throw new FolioError('EINVAL', folio, `rmap: address ${address} outside the VMA`);
  }
  if (vma.anonVma === null) throw new FolioError('EINVAL', folio, 'rmap: the VMA has no anon_vma');
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  s.mapping[i + 1] = 0;
  s.next[i + 1] = 0;
  __folioSetAnon(rm, folio, vma, address, true);
  s.flags[i] = (s.flags[i] as number) | AE;
}

/**
 * Add a mapping of an anon hugetlb folio (RMAP_EXCLUSIVE marks the head).
 * @kernel hugetlb_add_anon_rmap (mm/rmap.c)
 */
export function hugetlbAddAnonRmap(rm: FolioRmap, folio: number, _vma: RmapVma, _address: number, flags: number): void {
  checkHugetlb(rm, folio, true);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  s.mapping[i + 1] = (s.mapping[i + 1] as number) + 1;
  s.next[i + 1] = (s.next[i + 1] as number) + 1;
  if (flags & RMAP_EXCLUSIVE) s.flags[i] = (s.flags[i] as number) | AE;
  rm.machine.warnOn(
    (s.mapping[i + 1] as number) + 1 > 1 && ((s.flags[i] as number) & AE) !== 0,
    'rmap: exclusive hugetlb folio mapped more than once',
  );
}

/**
 * Duplicate a hugetlb anon mapping at fork; -EBUSY when exclusive and maybe pinned.
 * @kernel hugetlb_try_dup_anon_rmap (include/linux/rmap.h)
 */
export function hugetlbTryDupAnonRmap(rm: FolioRmap, folio: number, vma: RmapVma): number {
  checkHugetlb(rm, folio, true);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if ((s.flags[i] as number) & AE) {
    if (folioNeedsCowForDma(rm, vma, folio)) return -EBUSY;
    s.flags[i] = (s.flags[i] as number) & ~AE;
  }
  s.mapping[i + 1] = (s.mapping[i + 1] as number) + 1;
  s.next[i + 1] = (s.next[i + 1] as number) + 1;
  return 0;
}

/**
 * Mark an exclusive anon hugetlb folio possibly shared; -EBUSY when maybe pinned.
 * @kernel hugetlb_try_share_anon_rmap (include/linux/rmap.h)
 */
export function hugetlbTryShareAnonRmap(rm: FolioRmap, folio: number): number {
  checkHugetlb(rm, folio, true);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  rm.machine.warnOn(!((s.flags[i] as number) & AE), 'rmap: hugetlb try_share of a folio that is not exclusive');
  if (folioMaybeDmaPinned(rm, folio)) return -EBUSY;
  s.flags[i] = (s.flags[i] as number) & ~AE;
  return 0;
}

/** Count one more mapping of a hugetlb folio of a file. @kernel hugetlb_add_file_rmap (include/linux/rmap.h) */
export function hugetlbAddFileRmap(rm: FolioRmap, folio: number): void {
  checkHugetlb(rm, folio, false);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  s.mapping[i + 1] = (s.mapping[i + 1] as number) + 1;
  s.next[i + 1] = (s.next[i + 1] as number) + 1;
}

/** Count one mapping fewer of a hugetlb folio. @kernel hugetlb_remove_rmap (include/linux/rmap.h) */
export function hugetlbRemoveRmap(rm: FolioRmap, folio: number): void {
  checkHugetlb(rm, folio, null);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if ((s.next[i + 1] as number) < 0)
    throw new FolioError('EINVAL', folio, `rmap: hugetlb folio ${folio} is not mapped`);
  s.mapping[i + 1] = (s.mapping[i + 1] as number) - 1;
  s.next[i + 1] = (s.next[i + 1] as number) - 1;
}
