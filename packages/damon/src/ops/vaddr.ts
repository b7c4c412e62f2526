/**
 * DOC: the virtual address space operations sets, vaddr and fvaddr
 * (mm/damon/vaddr.c).
 *
 * vaddr starts each target with three regions that cover the mappings
 * without the two largest unmapped gaps (heap-to-mmap and mmap-to-stack on
 * a usual layout; the core's damon_apply_min_nr_regions() then splits them
 * to min_nr_regions), and re-fits them to the mappings every ops update.
 * Each sample makes the page-table entry at a random address of every
 * region old (test-and-clear), and the next sample asks whether it became
 * young again, region by region (7.x dropped 6.18's reuse of the answer for
 * an address in the folio checked just before). DAMOS actions become
 * madvise() calls on the region; migration and stat walk the folios with the
 * ops-layer filters.
 *
 * fvaddr is vaddr without `init` and `update`: the user's ranges, fixed.
 *
 * The address space is reached through a {@link DamonMmView} that the
 * consumer implements (the kernel model's page tables, or the standalone
 * synthetic address space of this package).
 */
import type { Machine } from '@mm/machine';
import { damonAccessRateWindow, damonUpdateRegionAccessRateW } from '../core/aggregation.js';
import {
  DAMON_OPS_FVADDR,
  DAMON_OPS_VADDR,
  type DamonCtx,
  type DamonOperations,
  type DamosApplyOut,
  damonRand,
} from '../core/ctx.js';
import { alignUp, DAMON_NO_REGION, type DamonAddrRange, type DamonTarget, damonSetRegions } from '../core/region.js';
import {
  DAMOS_COLD,
  DAMOS_FILTER_TYPE_YOUNG,
  DAMOS_HUGEPAGE,
  DAMOS_MAX_SCORE,
  DAMOS_MIGRATE_COLD,
  DAMOS_MIGRATE_HOT,
  DAMOS_NOHUGEPAGE,
  DAMOS_PAGEOUT,
  DAMOS_STAT,
  DAMOS_WILLNEED,
  type Damos,
} from '../core/scheme.js';
import { type DamonFolioView, damonColdScore, damonHotScore, damosFolioFilterMatch } from './ops-common.js';

/** madvise() advice values DAMOS actions map to (include/uapi/asm-generic/mman-common.h). */
export const MADV_WILLNEED = 3;
/** madvise advice for DAMOS_HUGEPAGE: allow THPs in the range. @kernel MADV_HUGEPAGE */
export const MADV_HUGEPAGE = 14;
/** madvise advice for DAMOS_NOHUGEPAGE: disallow THPs in the range. @kernel MADV_NOHUGEPAGE */
export const MADV_NOHUGEPAGE = 15;
/** madvise advice for DAMOS_COLD: deactivate the range's pages. @kernel MADV_COLD */
export const MADV_COLD = 20;
/** madvise advice for DAMOS_PAGEOUT: reclaim the range's pages. @kernel MADV_PAGEOUT */
export const MADV_PAGEOUT = 21;

/**
 * One process address space as the vaddr operations see it: its mappings
 * and its page tables' accessed bits.
 */
export interface DamonMmView {
  /** Bytes per base page. */
  readonly pageSize: number;
  /** Call `fn` for every VMA in address order (the maple tree walk under the mmap lock). */
  forEachVma(fn: (start: number, end: number) => void): void;
  /**
   * Make the entry mapping `addr` old: test-and-clear its accessed bit
   * (PTE, PMD-mapped THP or hugetlb entry, and MMU notifiers), set PG_young
   * on the folio if it was young, and PG_idle. Nothing when not present.
   * @kernel damon_va_mkold (mm/damon/vaddr.c)
   */
  mkold(addr: number): void;
  /**
   * Whether the entry mapping `addr` is young (accessed bit set, folio not
   * idle, or an MMU notifier says so): the folio's size in bytes when
   * young (any positive number will do), 0 when not (or not present).
   * @kernel damon_va_young (mm/damon/vaddr.c)
   */
  young(addr: number): number;
  /**
   * Optional batch form of {@link DamonMmView.mkold} for `addrs[0..count)`
   * (one page-table walk setup for a whole sampling pass).
   */
  mkoldBatch?(addrs: Float64Array, count: number): void;
  /** Optional batch form of {@link DamonMmView.young}: results into `out[0..count)`. */
  youngBatch?(addrs: Float64Array, count: number, out: Float64Array): void;
  /**
   * Apply madvise `behavior` to `[start, start + len)`; 0 or a negative errno.
   * @kernel do_madvise (mm/madvise.c)
   */
  madvise(start: number, len: number, behavior: number): number;
  /** The folios the mappings point to (for ops filters, stat and migration); optional. */
  readonly folios?: DamonFolioView;
  /** Call `visit` once per folio mapped in `[start, end)`, in address order, with its address. */
  walkFolios?(start: number, end: number, visit: (folio: number, addr: number) => void): void;
  /** Migrate the folios to node `nid`; returns base pages migrated. @kernel damon_migrate_pages (mm/damon/ops-common.c) */
  migrateFolios?(folios: readonly number[], nid: number): number;
}

/** How the vaddr operations find a target's address space. */
export interface DamonVaddrEnv {
  /** The mm of process `pid`, or null when it has exited. @kernel damon_get_mm (mm/damon/vaddr.c) */
  getMm(pid: number): DamonMmView | null;
  /** The machine whose cost table prices the page walks (optional). */
  readonly machine?: Machine;
}

/**
 * The three regions of an address space separated by its two largest gaps,
 * aligned to `minRegion`; -EINVAL (as null) with fewer than two gaps.
 * @kernel __damon_va_three_regions (mm/damon/vaddr.c)
 */
export function damonVaThreeRegions(mm: Pick<DamonMmView, 'forEachVma'>, minRegion: number): DamonAddrRange[] | null {
  let firstGapStart = 0;
  let firstGapEnd = 0;
  let secondGapStart = 0;
  let secondGapEnd = 0;
  let prevEnd = -1;
  let start = 0;
  mm.forEachVma((vs, ve) => {
    if (prevEnd < 0) {
      start = vs;
      prevEnd = ve;
      return;
    }
    const gap = vs - prevEnd;
    if (gap > firstGapEnd - firstGapStart) {
      secondGapStart = firstGapStart;
      secondGapEnd = firstGapEnd;
      firstGapStart = prevEnd;
      firstGapEnd = vs;
    } else if (gap > secondGapEnd - secondGapStart) {
      secondGapStart = prevEnd;
      secondGapEnd = vs;
    }
    prevEnd = ve;
  });
  if (secondGapEnd - secondGapStart === 0 || firstGapEnd - firstGapStart === 0) return null;
  // Sort the two biggest gaps by address.
  if (firstGapStart > secondGapStart) {
    const s = firstGapStart;
    const e = firstGapEnd;
    firstGapStart = secondGapStart;
    firstGapEnd = secondGapEnd;
    secondGapStart = s;
    secondGapEnd = e;
  }
  return [
    { start: alignUp(start, minRegion), end: alignUp(firstGapStart, minRegion) },
    { start: alignUp(firstGapEnd, minRegion), end: alignUp(secondGapStart, minRegion) },
    { start: alignUp(secondGapEnd, minRegion), end: alignUp(prevEnd, minRegion) },
  ];
}

/**
 * Build a target's initial regions: the three regions, as
 * damon_set_regions() makes them (the core's damon_apply_min_nr_regions()
 * then splits them to honour `min_nr_regions`).
 * @kernel __damon_va_init_regions (mm/damon/vaddr.c)
 */
export function damonVaInitRegions(ctx: DamonCtx, t: DamonTarget, mm: Pick<DamonMmView, 'forEachVma'>): void {
  const regions = damonVaThreeRegions(mm, ctx.minRegion);
  if (regions === null) return;
  damonSetRegions(t, regions, ctx.minRegion);
}

function walkCostNs(env: DamonVaddrEnv): number {
  const c = env.machine?.costs;
  return c === undefined ? 100 : c.pageWalkLevel * 4 + c.lockAcquire;
}

function hasOpsFilter(s: Damos): boolean {
  return s.opsFilters.length !== 0;
}

/**
 * vaddr's per-folio filter check: the young filter reads the PTE directly
 * (and makes a young entry old); the others are the common folio filters.
 * @kernel damos_va_filter_out (mm/damon/vaddr.c)
 */
function damosVaFilterOut(mm: DamonMmView, v: DamonFolioView, s: Damos, folio: number, addr: number): boolean {
  if (s.coreFiltersAllowed) return false;
  for (const f of s.opsFilters) {
    let matched: boolean;
    if (f.type === DAMOS_FILTER_TYPE_YOUNG) {
      const young = mm.young(addr) > 0;
      if (young) mm.mkold(addr);
      matched = young === f.matching;
    } else {
      matched = damosFolioFilterMatch(v, f, folio);
    }
    if (matched) return !f.allow;
  }
  return s.opsFiltersDefaultReject;
}

function makeVaddrOps(env: DamonVaddrEnv, id: number): DamonOperations {
  const costNs = walkCostNs(env);
  const migrateList: number[] = [];

  function damosMadvise(t: DamonTarget, r: number, behavior: number): number {
    if (t.pid === null) return 0;
    const mm = env.getMm(t.pid);
    if (mm === null) return 0;
    const start = alignUp(t.start[r]!, mm.pageSize);
    const len = alignUp(t.end[r]! - t.start[r]!, mm.pageSize);
    return mm.madvise(start, len, behavior) === 0 ? len : 0;
  }

  function damosVaStat(t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number {
    if (!hasOpsFilter(s) || t.pid === null) return 0;
    const mm = env.getMm(t.pid);
    if (mm === null || mm.walkFolios === undefined || mm.folios === undefined) return 0;
    const v = mm.folios;
    mm.walkFolios(t.start[r]!, t.end[r]!, (folio, addr) => {
      if (folio === s.lastApplied) return;
      if (!damosVaFilterOut(mm, v, s, folio, addr)) out.szFilterPassed += v.folioSize(folio);
      s.lastApplied = folio;
    });
    return 0;
  }

  function damosVaMigrate(t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number {
    if (t.pid === null) return 0;
    const mm = env.getMm(t.pid);
    if (mm === null || mm.walkFolios === undefined || mm.folios === undefined || mm.migrateFolios === undefined) {
      return 0;
    }
    const v = mm.folios;
    const dests = s.migrateDests;
    let weightTotal = 0;
    for (const w of dests.weightArr) weightTotal += w;
    const lists = new Map<number, number[]>();
    mm.walkFolios(t.start[r]!, t.end[r]!, (folio, addr) => {
      if (folio === s.lastApplied) return;
      if (damosVaFilterOut(mm, v, s, folio, addr)) return;
      out.szFilterPassed += v.folioSize(folio);
      let nid = s.targetNid;
      if (dests.nodeIdArr.length !== 0 && weightTotal > 0) {
        // Weighted interleave over the destinations by the folio's index.
        let target = Math.floor(addr / v.folioSize(folio)) % weightTotal;
        let i = 0;
        while (i < dests.weightArr.length - 1 && target >= dests.weightArr[i]!) target -= dests.weightArr[i++]!;
        nid = dests.nodeIdArr[i]!;
      }
      let list = lists.get(nid);
      if (list === undefined) {
        list = [];
        lists.set(nid, list);
      }
      list.push(folio);
      s.lastApplied = folio;
    });
    let applied = 0;
    for (const [nid, list] of lists) {
      migrateList.length = 0;
      for (const f of list) migrateList.push(f);
      applied += mm.migrateFolios(migrateList, nid) * mm.pageSize;
    }
    return applied;
  }

  let addrs = new Float64Array(1024);
  let youngs = new Float64Array(1024);
  const ensure = (n: number): void => {
    if (addrs.length >= n) return;
    addrs = new Float64Array(n * 2);
    youngs = new Float64Array(n * 2);
  };

  const ops: DamonOperations = {
    id,
    prepareAccessChecks(ctx: DamonCtx): void {
      let n = 0;
      for (const t of ctx.adaptiveTargets) {
        const mm = t.pid === null ? null : env.getMm(t.pid);
        if (mm === null) continue;
        if (mm.mkoldBatch !== undefined) {
          ensure(t.nrRegions);
          let i = 0;
          for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
            const addr = damonRand(ctx, t.start[r]!, t.end[r]!);
            t.samplingAddr[r] = addr;
            addrs[i++] = addr;
          }
          mm.mkoldBatch(addrs, i);
          n += i;
          continue;
        }
        for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
          const addr = damonRand(ctx, t.start[r]!, t.end[r]!);
          t.samplingAddr[r] = addr;
          mm.mkold(addr);
          n++;
        }
      }
      ctx.pendingCostNs += n * costNs;
    },
    checkAccesses(ctx: DamonCtx): number {
      let maxNrAccesses = 0;
      let walks = 0;
      const w = damonAccessRateWindow(ctx.attrs);
      for (const t of ctx.adaptiveTargets) {
        const mm = t.pid === null ? null : env.getMm(t.pid);
        const batch = mm !== null && mm.youngBatch !== undefined;
        if (batch) {
          ensure(t.nrRegions);
          let i = 0;
          for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) addrs[i++] = t.samplingAddr[r]!;
          mm.youngBatch!(addrs, i, youngs);
        }
        // Every region's own sampling address (7.x dropped 6.18's reuse of the
        // last checked folio's answer: racy with several kdamonds, of doubtful gain).
        let i = 0;
        for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!, i++) {
          if (mm === null) {
            damonUpdateRegionAccessRateW(t, r, false, w);
          } else {
            const young = batch ? youngs[i]! : mm.young(t.samplingAddr[r]!);
            walks++;
            damonUpdateRegionAccessRateW(t, r, young > 0, w);
          }
          if (t.nrAccesses[r]! > maxNrAccesses) maxNrAccesses = t.nrAccesses[r]!;
        }
      }
      ctx.pendingCostNs += walks * costNs;
      return maxNrAccesses;
    },
    getSchemeScore(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos): number {
      switch (s.action) {
        case DAMOS_PAGEOUT:
        case DAMOS_MIGRATE_COLD:
          return damonColdScore(ctx, t, r, s);
        case DAMOS_MIGRATE_HOT:
          return damonHotScore(ctx, t, r, s);
        default:
          return DAMOS_MAX_SCORE;
      }
    },
    applyScheme(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number {
      ctx.pendingCostNs += costNs;
      switch (s.action) {
        case DAMOS_WILLNEED:
          return damosMadvise(t, r, MADV_WILLNEED);
        case DAMOS_COLD:
          return damosMadvise(t, r, MADV_COLD);
        case DAMOS_PAGEOUT:
          return damosMadvise(t, r, MADV_PAGEOUT);
        case DAMOS_HUGEPAGE:
          return damosMadvise(t, r, MADV_HUGEPAGE);
        case DAMOS_NOHUGEPAGE:
          return damosMadvise(t, r, MADV_NOHUGEPAGE);
        case DAMOS_MIGRATE_HOT:
        case DAMOS_MIGRATE_COLD:
          return damosVaMigrate(t, r, s, out);
        case DAMOS_STAT:
          return damosVaStat(t, r, s, out);
        default:
          // Actions vaddr does not support (lru_prio, lru_deprio).
          return 0;
      }
    },
    targetValid(t: DamonTarget): boolean {
      return t.pid !== null && env.getMm(t.pid) !== null;
    },
  };
  if (id === DAMON_OPS_VADDR) {
    ops.init = (ctx: DamonCtx): void => {
      for (const t of ctx.adaptiveTargets) {
        // The user may set the target regions as they want.
        if (t.nrRegions !== 0 || t.pid === null) continue;
        const mm = env.getMm(t.pid);
        if (mm !== null) damonVaInitRegions(ctx, t, mm);
      }
    };
    ops.update = (ctx: DamonCtx): void => {
      for (const t of ctx.adaptiveTargets) {
        const mm = t.pid === null ? null : env.getMm(t.pid);
        if (mm === null) continue;
        const three = damonVaThreeRegions(mm, ctx.minRegion);
        if (three === null) continue;
        damonSetRegions(t, three, ctx.minRegion);
      }
    };
  }
  return ops;
}

/**
 * The vaddr operations set over `env`'s address spaces.
 * @kernel damon_va_initcall (mm/damon/vaddr.c)
 */
export function damonVaddrOps(env: DamonVaddrEnv): DamonOperations {
  return makeVaddrOps(env, DAMON_OPS_VADDR);
}

/** The fvaddr operations set: vaddr without `init` and `update`. @kernel damon_va_initcall (mm/damon/vaddr.c) */
export function damonFvaddrOps(env: DamonVaddrEnv): DamonOperations {
  return makeVaddrOps(env, DAMON_OPS_FVADDR);
}
