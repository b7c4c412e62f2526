/**
 * DOC: the physical address space operations set, paddr (mm/damon/paddr.c).
 *
 * No init or update: the user gives the ranges (kernel modules default to
 * the largest System RAM resource). Each sample makes the folio at a random
 * physical address of every region old through its reverse mappings (only
 * PG_idle for unmapped folios) and later asks whether it became young again,
 * region by region (7.x dropped 6.18's reuse of the answer for an address
 * in the folio checked just before). DAMOS
 * actions work per folio after the ops-layer filters: pageout reclaims (a
 * temporary reject-young filter spares folios accessed since the check),
 * lru_prio/lru_deprio mark accessed/deactivate, migrate_hot/cold move
 * folios to a node, stat counts filter-passed bytes.
 *
 * Folios are reached through a {@link DamonPaddrView} the consumer
 * implements (the kernel model's memmap and rmap, or a test's).
 */
import { type Machine, NUMA_NO_NODE } from '@mm/machine';
import { damonAccessRateWindow, damonUpdateRegionAccessRateW } from '../core/aggregation.js';
import { DAMON_OPS_PADDR, type DamonCtx, type DamonOperations, type DamosApplyOut, damonRand } from '../core/ctx.js';
import { DAMON_NO_REGION, type DamonTarget } from '../core/region.js';
import {
  DAMOS_FILTER_TYPE_YOUNG,
  DAMOS_LRU_DEPRIO,
  DAMOS_LRU_PRIO,
  DAMOS_MAX_SCORE,
  DAMOS_MIGRATE_COLD,
  DAMOS_MIGRATE_HOT,
  DAMOS_PAGEOUT,
  DAMOS_STAT,
  type Damos,
  damosNewFilter,
} from '../core/scheme.js';
import {
  type DamonFolioView,
  damonColdScore,
  damonFolioMkold,
  damonFolioYoung,
  damonHotScore,
  damosFolioFilterOut,
} from './ops-common.js';

/** Folios plus the LRU and migration services the paddr actions use. */
export interface DamonPaddrView extends DamonFolioView {
  /** Clear the folio's referenced flag. @kernel folio_clear_referenced */
  folioClearReferenced(folio: number): void;
  /** Test-and-clear PG_young. @kernel folio_test_clear_young */
  folioTestClearYoung(folio: number): boolean;
  /**
   * Reclaim the folios (isolated from their LRUs; unevictable ones are put
   * back); returns base pages reclaimed.
   * @kernel reclaim_pages (mm/vmscan.c)
   */
  reclaimFolios(folios: readonly number[]): number;
  /** Note an access to the folio: referenced, then activated on a second access. @kernel folio_mark_accessed (mm/swap.c) */
  folioMarkAccessed(folio: number): void;
  /** Move the folio to the inactive LRU list. @kernel folio_deactivate (mm/swap.c) */
  folioDeactivate(folio: number): void;
  /** Migrate the folios to `nid` without reclaim; returns base pages migrated. @kernel damon_migrate_pages */
  migrateFolios(folios: readonly number[], nid: number): number;
}

/** Options of {@link damonPaddrOps}. */
export interface DamonPaddrEnv {
  /** The physical memory the ops check and act on. */
  readonly view: DamonPaddrView;
  /** The machine whose cost table prices the rmap walks (optional). */
  readonly machine?: Machine;
}

/**
 * The paddr operations set over `env.view`.
 * @kernel damon_pa_initcall (mm/damon/paddr.c)
 */
export function damonPaddrOps(env: DamonPaddrEnv): DamonOperations {
  const v = env.view;
  const pageSize = v.pageSize;
  const c = env.machine?.costs;
  const costNs = c === undefined ? 150 : c.pageWalkLevel * 4 + c.lockAcquire * 2;
  const list: number[] = [];
  const tmpYoungFilter = damosNewFilter(DAMOS_FILTER_TYPE_YOUNG, true, false);

  /** Whether the folio at physical address `addr` was accessed since the last check. @kernel damon_pa_young (mm/damon/paddr.c) */
  function young(addr: number): boolean {
    const folio = v.getFolio(Math.floor(addr / pageSize));
    if (folio < 0) return false;
    return damonFolioYoung(v, folio);
  }

  /** The folio walk every action shares: filters, filter-passed bytes, last_applied. */
  function walk(s: Damos, t: DamonTarget, r: number, out: DamosApplyOut, each: (folio: number) => void): void {
    let addr = t.start[r]!;
    const end = t.end[r]!;
    let folio = -1;
    while (addr < end) {
      folio = v.getFolio(Math.floor(addr / pageSize));
      // damon_pa_invalid_damos_folio(): no folio, or the one acted on last.
      if (folio < 0 || folio === s.lastApplied) {
        addr += pageSize;
        continue;
      }
      if (!damosFolioFilterOut(v, s, folio)) {
        out.szFilterPassed += v.folioSize(folio);
        each(folio);
      }
      addr += v.folioSize(folio);
    }
    s.lastApplied = folio;
  }

  /** DAMOS_PAGEOUT on a physical region: reclaim its folios not accessed since the last check; returns bytes reclaimed. @kernel damon_pa_pageout (mm/damon/paddr.c) */
  function pageout(t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number {
    // Spare folios accessed since the last check unless the user filters on young.
    let installYoungFilter = true;
    for (const f of s.opsFilters) if (f.type === DAMOS_FILTER_TYPE_YOUNG) installYoungFilter = false;
    const savedDefault = s.opsFiltersDefaultReject;
    if (installYoungFilter) s.opsFilters.push(tmpYoungFilter);
    list.length = 0;
    walk(s, t, r, out, (folio) => {
      v.folioClearReferenced(folio);
      v.folioTestClearYoung(folio);
      list.push(folio);
    });
    if (installYoungFilter) {
      s.opsFilters.pop();
      s.opsFiltersDefaultReject = savedDefault;
    }
    return v.reclaimFolios(list) * pageSize;
  }

  function markAccessedOrDeactivate(t: DamonTarget, r: number, s: Damos, out: DamosApplyOut, mark: boolean): number {
    let pages = 0;
    walk(s, t, r, out, (folio) => {
      if (mark) v.folioMarkAccessed(folio);
      else v.folioDeactivate(folio);
      pages += v.folioSize(folio) / pageSize;
    });
    return pages * pageSize;
  }

  /** DAMOS_MIGRATE_HOT/COLD on a physical region: migrate its folios to the destination node; returns bytes migrated. @kernel damon_pa_migrate (mm/damon/paddr.c) */
  function migrate(t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number {
    list.length = 0;
    const nid = s.migrateDests.nodeIdArr.length !== 0 ? s.migrateDests.nodeIdArr[0]! : s.targetNid;
    walk(s, t, r, out, (folio) => {
      if (nid === NUMA_NO_NODE || v.folioNid(folio) === nid) return;
      list.push(folio);
    });
    if (nid === NUMA_NO_NODE || list.length === 0) return 0;
    return v.migrateFolios(list, nid) * pageSize;
  }

  /** DAMOS_STAT on a physical region: only walk the folios to count the bytes passing ops filters. @kernel damon_pa_stat (mm/damon/paddr.c) */
  function stat(t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number {
    if (s.opsFilters.length === 0) return 0;
    walk(s, t, r, out, () => {});
    return 0;
  }

  return {
    id: DAMON_OPS_PADDR,
    prepareAccessChecks(ctx: DamonCtx): void {
      let n = 0;
      for (const t of ctx.adaptiveTargets) {
        for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
          const addr = damonRand(ctx, t.start[r]!, t.end[r]!);
          t.samplingAddr[r] = addr;
          // damon_pa_mkold()
          const folio = v.getFolio(Math.floor(addr / pageSize));
          if (folio >= 0) damonFolioMkold(v, folio);
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
        // Every region's own folio (7.x dropped 6.18's reuse of the last
        // checked folio's answer: racy with several kdamonds, of doubtful gain).
        for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
          damonUpdateRegionAccessRateW(t, r, young(t.samplingAddr[r]!), w);
          walks++;
          if (t.nrAccesses[r]! > maxNrAccesses) maxNrAccesses = t.nrAccesses[r]!;
        }
      }
      ctx.pendingCostNs += walks * costNs;
      return maxNrAccesses;
    },
    getSchemeScore(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos): number {
      switch (s.action) {
        case DAMOS_PAGEOUT:
        case DAMOS_LRU_DEPRIO:
        case DAMOS_MIGRATE_COLD:
          return damonColdScore(ctx, t, r, s);
        case DAMOS_LRU_PRIO:
        case DAMOS_MIGRATE_HOT:
          return damonHotScore(ctx, t, r, s);
        default:
          return DAMOS_MAX_SCORE;
      }
    },
    applyScheme(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number {
      ctx.pendingCostNs += costNs * Math.max(1, Math.floor((t.end[r]! - t.start[r]!) / pageSize / 64));
      switch (s.action) {
        case DAMOS_PAGEOUT:
          return pageout(t, r, s, out);
        case DAMOS_LRU_PRIO:
          return markAccessedOrDeactivate(t, r, s, out, true);
        case DAMOS_LRU_DEPRIO:
          return markAccessedOrDeactivate(t, r, s, out, false);
        case DAMOS_MIGRATE_HOT:
        case DAMOS_MIGRATE_COLD:
          return migrate(t, r, s, out);
        case DAMOS_STAT:
          return stat(t, r, s, out);
        default:
          // Actions paddr does not support (willneed, cold, hugepage, nohugepage).
          return 0;
      }
    },
  };
}
