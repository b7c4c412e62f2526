/**
 * DOC: code the operations sets share (mm/damon/ops-common.c): the hot
 * and cold prioritisation scores, folio access checks through reverse
 * mappings (with idle-page tracking for unmapped folios), and the per-folio
 * ops-layer DAMOS filters.
 */
import { type DamonCtx, damonMaxNrAccesses } from '../core/ctx.js';
import { EXACT, multFracU32, u32mul } from '../core/math64.js';
import type { DamonTarget } from '../core/region.js';
import {
  DAMOS_FILTER_TYPE_ACTIVE,
  DAMOS_FILTER_TYPE_ANON,
  DAMOS_FILTER_TYPE_HUGEPAGE_SIZE,
  DAMOS_FILTER_TYPE_MEMCG,
  DAMOS_FILTER_TYPE_UNMAPPED,
  DAMOS_FILTER_TYPE_YOUNG,
  DAMOS_MAX_SCORE,
  type Damos,
  type DamosFilter,
} from '../core/scheme.js';

const DAMON_MAX_SUBSCORE = 100;
const DAMON_MAX_AGE_IN_LOG = 32;

/**
 * Hotness of region `r` for scheme `s` in [0, DAMOS_MAX_SCORE]: the
 * weighted mean of the frequency subscore (the moving sum's `nr_accesses_bp
 * / 10000` × 100 / max) and an age subscore on a log2 scale of seconds, the
 * age counting as coldness when the region saw no access; in the kernel's
 * `unsigned int` / `int` arithmetic.
 * @kernel damon_hot_score (mm/damon/ops-common.c)
 */
export function damonHotScore(c: DamonCtx, t: DamonTarget, r: number, s: Damos): number {
  const freqWeight = s.quota.weightNrAccesses;
  const ageWeight = s.quota.weightAge;
  const freqSubscore = multFracU32(
    Math.floor(t.nrAccessesBp[r]! / 10000),
    DAMON_MAX_SUBSCORE,
    damonMaxNrAccesses(c.attrs),
  );
  // (unsigned long)age × aggr_interval / 1000000, kept in an unsigned int
  let ageInSec = t.age[r]! * c.attrs.aggrInterval;
  ageInSec =
    ageInSec < EXACT
      ? Math.floor(ageInSec / 1_000_000) >>> 0
      : Number(BigInt.asUintN(32, BigInt.asUintN(64, BigInt(t.age[r]!) * BigInt(c.attrs.aggrInterval)) / 1_000_000n));
  // ilog2(age_in_sec) + 1, at most DAMON_MAX_AGE_IN_LOG
  let ageInLog = ageInSec ? Math.min(32 - Math.clz32(ageInSec), DAMON_MAX_AGE_IN_LOG) : 0;
  // If frequency is 0, higher age means it's colder.
  if (freqSubscore === 0) ageInLog *= -1;
  // Scale [-DAMON_MAX_AGE_IN_LOG, DAMON_MAX_AGE_IN_LOG] to [0, 100].
  ageInLog += DAMON_MAX_AGE_IN_LOG;
  const ageSubscore = Math.floor(Math.floor((ageInLog * DAMON_MAX_SUBSCORE) / DAMON_MAX_AGE_IN_LOG) / 2);
  // unsigned int weights times int subscores: unsigned int, then kept in an int
  let hotness = (u32mul(freqWeight, freqSubscore) + u32mul(ageWeight, ageSubscore)) >>> 0;
  const weights = (freqWeight + ageWeight) >>> 0;
  if (weights) hotness = Math.floor(hotness / weights);
  hotness |= 0;
  hotness = Math.trunc(Math.imul(hotness, DAMOS_MAX_SCORE) / DAMON_MAX_SUBSCORE);
  return Math.max(Math.min(hotness, DAMOS_MAX_SCORE), 0);
}

/** Score of how cold region `r` is for scheme `s`: the maximum score minus its hot score (0..DAMOS_MAX_SCORE) @kernel damon_cold_score (mm/damon/ops-common.c) */
export function damonColdScore(c: DamonCtx, t: DamonTarget, r: number, s: Damos): number {
  return DAMOS_MAX_SCORE - damonHotScore(c, t, r, s);
}

/**
 * Folios as the physical-address operations see them, through the
 * consumer's memory model. A folio is named by its head PFN.
 */
export interface DamonFolioView {
  /** Bytes per base page. */
  readonly pageSize: number;
  /**
   * The online, LRU folio containing `pfn` (its head PFN), or -1.
   * @kernel damon_get_folio (mm/damon/ops-common.c)
   */
  getFolio(pfn: number): number;
  /** Size of the folio in bytes. @kernel folio_size */
  folioSize(folio: number): number;
  /** folio_mapped() && folio_raw_mapping(): has an rmap to walk. */
  folioMapped(folio: number): boolean;
  /** Try to lock the folio without waiting; true on success. @kernel folio_trylock */
  folioTrylock(folio: number): boolean;
  /** Unlock a folio locked by {@link DamonFolioView.folioTrylock}. @kernel folio_unlock */
  folioUnlock(folio: number): void;
  /** Whether the folio's idle flag is still set (no access since it was set) @kernel folio_test_idle */
  folioTestIdle(folio: number): boolean;
  /** Set the folio's idle flag, to detect the next access. @kernel folio_set_idle */
  folioSetIdle(folio: number): void;
  /** Set the folio's young flag, so reclaim still sees an access whose evidence DAMON cleared. @kernel folio_set_young */
  folioSetYoung(folio: number): void;
  /**
   * Walk the folio's mappings, test-and-clear each accessed bit (and the MMU
   * notifiers' young state); true when any was young.
   */
  rmapTestAndClearYoung(folio: number): boolean;
  /** Whether any mapping of the folio is young (accessed bit or MMU notifier), without clearing. */
  rmapTestYoung(folio: number): boolean;
  /** Whether the folio is anonymous memory. @kernel folio_test_anon */
  folioTestAnon(folio: number): boolean;
  /** Whether the folio is on an active LRU list. @kernel folio_test_active */
  folioTestActive(folio: number): boolean;
  /** The folio's memcg id, or -1 for none. */
  folioMemcgId(folio: number): number;
  /** NUMA node of the folio. @kernel folio_nid */
  folioNid(folio: number): number;
}

/**
 * Clear the accessed state of `folio`: unmapped folios only get PG_idle;
 * mapped ones have every mapping made old (setting PG_young when one was
 * young) under the folio lock, skipped when the trylock fails.
 * @kernel damon_folio_mkold (mm/damon/ops-common.c)
 */
export function damonFolioMkold(v: DamonFolioView, folio: number): void {
  if (!v.folioMapped(folio)) {
    v.folioSetIdle(folio);
    return;
  }
  if (!v.folioTrylock(folio)) return;
  if (v.rmapTestAndClearYoung(folio)) v.folioSetYoung(folio);
  v.folioSetIdle(folio);
  v.folioUnlock(folio);
}

/**
 * Whether `folio` was accessed since the last mkold: unmapped folios by idle
 * tracking; mapped ones when any mapping is young or the folio is not idle;
 * a failed trylock counts as not accessed.
 * @kernel damon_folio_young (mm/damon/ops-common.c)
 */
export function damonFolioYoung(v: DamonFolioView, folio: number): boolean {
  if (!v.folioMapped(folio)) return !v.folioTestIdle(folio);
  if (!v.folioTrylock(folio)) return false;
  const accessed = v.rmapTestYoung(folio) || !v.folioTestIdle(folio);
  v.folioUnlock(folio);
  return accessed;
}

/**
 * Whether ops filter `filter` matches `folio` (a `young` match also makes
 * the folio old).
 * @kernel damos_folio_filter_match (mm/damon/ops-common.c)
 */
export function damosFolioFilterMatch(v: DamonFolioView, filter: DamosFilter, folio: number): boolean {
  let matched = false;
  switch (filter.type) {
    case DAMOS_FILTER_TYPE_ANON:
      matched = v.folioTestAnon(folio);
      break;
    case DAMOS_FILTER_TYPE_ACTIVE:
      matched = v.folioTestActive(folio);
      break;
    case DAMOS_FILTER_TYPE_MEMCG: {
      const id = v.folioMemcgId(folio);
      matched = id >= 0 && id === filter.memcgId;
      break;
    }
    case DAMOS_FILTER_TYPE_YOUNG:
      matched = damonFolioYoung(v, folio);
      if (matched) damonFolioMkold(v, folio);
      break;
    case DAMOS_FILTER_TYPE_HUGEPAGE_SIZE: {
      const sz = v.folioSize(folio);
      matched = filter.szRange.min <= sz && sz <= filter.szRange.max;
      break;
    }
    case DAMOS_FILTER_TYPE_UNMAPPED:
      matched = !v.folioMapped(folio);
      break;
    default:
      break;
  }
  return matched === filter.matching;
}

/**
 * Whether the ops filters reject `folio` for `s` (everything passes after a
 * core allow-match; the first matching filter decides; no match falls back
 * to the ops default).
 * @kernel damos_pa_filter_out (mm/damon/paddr.c)
 */
export function damosFolioFilterOut(v: DamonFolioView, s: Damos, folio: number): boolean {
  if (s.coreFiltersAllowed) return false;
  for (const f of s.opsFilters) if (damosFolioFilterMatch(v, f, folio)) return !f.allow;
  return s.opsFiltersDefaultReject;
}
