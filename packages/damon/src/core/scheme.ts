/**
 * DOC: DAMON-based Operation Schemes (DAMOS): the data model.
 *
 * A scheme (`struct damos`) names an access pattern, an action, how often
 * to apply it, a quota (time, size, goals and prioritisation weights),
 * watermarks that switch it on and off, filters, and statistics. This file
 * holds the structures and their constructors with the kernel's defaults;
 * the apply pass lives in damos.ts, the quota in damos-quota.ts.
 */
import { NUMA_NO_NODE } from '@mm/machine';
import type { DamonAddrRange, DamonTarget } from './region.js';

/** DAMOS actions, in the kernel's enum order (6.18). @kernel enum damos_action (include/linux/damon.h) */
export const DAMOS_WILLNEED = 0;
/** Deactivate the pages (MADV_COLD) @kernel DAMOS_COLD */
export const DAMOS_COLD = 1;
/** Reclaim the pages (MADV_PAGEOUT) @kernel DAMOS_PAGEOUT */
export const DAMOS_PAGEOUT = 2;
/** Allow THPs (MADV_HUGEPAGE) @kernel DAMOS_HUGEPAGE */
export const DAMOS_HUGEPAGE = 3;
/** Disallow THPs (MADV_NOHUGEPAGE) @kernel DAMOS_NOHUGEPAGE */
export const DAMOS_NOHUGEPAGE = 4;
/** Move the pages up the LRU lists (mark them accessed) @kernel DAMOS_LRU_PRIO */
export const DAMOS_LRU_PRIO = 5;
/** Move the pages down the LRU lists (deactivate them) @kernel DAMOS_LRU_DEPRIO */
export const DAMOS_LRU_DEPRIO = 6;
/** Migrate the pages to the destination nodes, hottest regions first. @kernel DAMOS_MIGRATE_HOT */
export const DAMOS_MIGRATE_HOT = 7;
/** Migrate the pages to the destination nodes, coldest regions first. @kernel DAMOS_MIGRATE_COLD */
export const DAMOS_MIGRATE_COLD = 8;
/** Do nothing but count the scheme's statistics. @kernel DAMOS_STAT */
export const DAMOS_STAT = 9;
/** Number of actions. @kernel NR_DAMOS_ACTIONS */
export const NR_DAMOS_ACTIONS = 10;

/** sysfs names of the actions, indexed by action. */
export const DAMOS_ACTION_NAMES: readonly string[] = [
  'willneed',
  'cold',
  'pageout',
  'hugepage',
  'nohugepage',
  'lru_prio',
  'lru_deprio',
  'migrate_hot',
  'migrate_cold',
  'stat',
];

/** Quota goal metrics. @kernel enum damos_quota_goal_metric (include/linux/damon.h) */
export const DAMOS_QUOTA_USER_INPUT = 0;
/** Quota goal metric: system-wide "some" memory pressure stall time (µs, PSI) @kernel DAMOS_QUOTA_SOME_MEM_PSI_US */
export const DAMOS_QUOTA_SOME_MEM_PSI_US = 1;
/** Quota goal metric: used memory of node `nid` in basis points. @kernel DAMOS_QUOTA_NODE_MEM_USED_BP */
export const DAMOS_QUOTA_NODE_MEM_USED_BP = 2;
/** Quota goal metric: free memory of node `nid` in basis points. @kernel DAMOS_QUOTA_NODE_MEM_FREE_BP */
export const DAMOS_QUOTA_NODE_MEM_FREE_BP = 3;
/** Number of quota goal metrics. @kernel NR_DAMOS_QUOTA_GOAL_METRICS */
export const NR_DAMOS_QUOTA_GOAL_METRICS = 4;

/** sysfs names of the goal metrics, indexed by metric. */
export const DAMOS_QUOTA_GOAL_METRIC_NAMES: readonly string[] = [
  'user_input',
  'some_mem_psi_us',
  'node_mem_used_bp',
  'node_mem_free_bp',
];

/** Watermark metrics. @kernel enum damos_wmark_metric (include/linux/damon.h) */
export const DAMOS_WMARK_NONE = 0;
/** Free memory rate of the system in per mille. @kernel DAMOS_WMARK_FREE_MEM_RATE */
export const DAMOS_WMARK_FREE_MEM_RATE = 1;
/** sysfs names of the watermark metrics. */
export const DAMOS_WMARK_METRIC_NAMES: readonly string[] = ['none', 'free_mem_rate'];

/** Filter types, in the kernel's enum order. @kernel enum damos_filter_type (include/linux/damon.h) */
export const DAMOS_FILTER_TYPE_ANON = 0;
/** Filter on whether the folio is on an active LRU list. @kernel DAMOS_FILTER_TYPE_ACTIVE */
export const DAMOS_FILTER_TYPE_ACTIVE = 1;
/** Filter on the memcg the folio is charged to. @kernel DAMOS_FILTER_TYPE_MEMCG */
export const DAMOS_FILTER_TYPE_MEMCG = 2;
/** Filter on whether the folio was accessed since the last check. @kernel DAMOS_FILTER_TYPE_YOUNG */
export const DAMOS_FILTER_TYPE_YOUNG = 3;
/** Filter on the folio size being within a range. @kernel DAMOS_FILTER_TYPE_HUGEPAGE_SIZE */
export const DAMOS_FILTER_TYPE_HUGEPAGE_SIZE = 4;
/** Filter on the folio being mapped by no page table. @kernel DAMOS_FILTER_TYPE_UNMAPPED */
export const DAMOS_FILTER_TYPE_UNMAPPED = 5;
/** Filter on an address range. @kernel DAMOS_FILTER_TYPE_ADDR */
export const DAMOS_FILTER_TYPE_ADDR = 6;
/** Filter on the monitoring target. @kernel DAMOS_FILTER_TYPE_TARGET */
export const DAMOS_FILTER_TYPE_TARGET = 7;
/** Number of filter types. @kernel NR_DAMOS_FILTER_TYPES */
export const NR_DAMOS_FILTER_TYPES = 8;

/** sysfs names of the filter types, indexed by type. */
export const DAMOS_FILTER_TYPE_NAMES: readonly string[] = [
  'anon',
  'active',
  'memcg',
  'young',
  'hugepage_size',
  'unmapped',
  'addr',
  'target',
];

/** Maximum prioritisation score. @kernel DAMOS_MAX_SCORE (include/linux/damon.h) */
export const DAMOS_MAX_SCORE = 99;

/** `ULONG_MAX` as the model stores it (unbounded pattern maxima). */
export const ULONG_MAX = 2 ** 64 - 1;
/** `UINT_MAX` (2^32 - 1): the unbounded maximum of the `nr_accesses` and age ranges of an access pattern. */
export const UINT_MAX = 0xffff_ffff;

/** Size, access-frequency and age ranges a region must be in for a scheme to act on it. @kernel struct damos_access_pattern (include/linux/damon.h) */
export interface DamosAccessPattern {
  /** Smallest region size that matches (bytes). */
  minSzRegion: number;
  /** Largest region size that matches (bytes). */
  maxSzRegion: number;
  /** In samples, compared against `nr_accesses_bp / 10000`. */
  minNrAccesses: number;
  /** Most accesses that match (samples). */
  maxNrAccesses: number;
  /** In aggregation intervals. */
  minAgeRegion: number;
  /** Oldest age that matches (aggregation intervals). */
  maxAgeRegion: number;
}

/** A value the quota auto-tuner steers a metric towards. @kernel struct damos_quota_goal (include/linux/damon.h) */
export interface DamosQuotaGoal {
  /** A `DAMOS_QUOTA_*` metric. */
  metric: number;
  /** Value of the metric the quota is tuned towards. */
  targetValue: number;
  /** Last measured (or user-given) value of the metric. */
  currentValue: number;
  /** DAMOS_QUOTA_SOME_MEM_PSI_US: the PSI total at the last measurement (µs). */
  lastPsiTotal: number;
  /** DAMOS_QUOTA_NODE_MEM_{USED,FREE}_BP: the node. */
  nid: number;
}

/** Limits on the time and bytes a scheme may spend per reset interval, and its auto-tuning state. @kernel struct damos_quota (include/linux/damon.h) */
export interface DamosQuota {
  /** Charge reset interval in ms. */
  resetInterval: number;
  /** Time quota in ms. */
  ms: number;
  /** Size quota in bytes. */
  sz: number;
  /** Goals the effective size quota is tuned by. */
  goals: DamosQuotaGoal[];
  /** Effective size quota in bytes (0 = unlimited until computed). */
  esz: number;
  /** Prioritisation weight of region size (permil). */
  weightSz: number;
  /** Prioritisation weight of access frequency (permil). */
  weightNrAccesses: number;
  /** Prioritisation weight of age (permil). */
  weightAge: number;
  /** private: throughput estimation. */
  totalChargedSz: number;
  /** private: time spent applying the action, for the throughput estimate (ns). */
  totalChargedNs: number;
  /** private: the current charge window. */
  chargedSz: number;
  /** Start of the current charge window in jiffies (ms); 0 with nothing charged yet: no window yet. */
  chargedFrom: number;
  /** Target to resume applying from when the quota ran out mid-target, or null. */
  chargeTargetFrom: DamonTarget | null;
  /** Address to resume applying from in `chargeTargetFrom`. */
  chargeAddrFrom: number;
  /** private: the prioritisation cut-off. */
  minScore: number;
  /** private: the feedback loop's last input (`unsigned long`; it reaches ULONG_MAX while a goal stays unmet). */
  eszBp: bigint;
}

/** Metric thresholds that activate and deactivate a scheme. @kernel struct damos_watermarks (include/linux/damon.h) */
export interface DamosWatermarks {
  /** A `DAMOS_WMARK_*` metric. */
  metric: number;
  /** Check interval in µs. */
  interval: number;
  /** Above this (metric units) the scheme deactivates. */
  high: number;
  /** Below this and above `low` an inactive scheme activates. */
  mid: number;
  /** Below this the scheme deactivates. */
  low: number;
  /** Whether the watermarks currently let the scheme run, updated at each check; private in the kernel (`damos_watermarks::activated`). */
  activated: boolean;
}

/** Selects memory by type to allow or reject for a scheme's action. @kernel struct damos_filter (include/linux/damon.h) */
export interface DamosFilter {
  /** A `DAMOS_FILTER_TYPE_*` value. */
  type: number;
  /** Whether the filter applies to memory that matches (true) or to memory that does not. */
  matching: boolean;
  /** Allow (true) or reject (false) the memory the filter selects. */
  allow: boolean;
  /** Memcg id a DAMOS_FILTER_TYPE_MEMCG filter selects (`damos_filter::memcg_id`). */
  memcgId: number;
  /** Address range a DAMOS_FILTER_TYPE_ADDR filter selects, end exclusive (`damos_filter::addr_range`). */
  addrRange: DamonAddrRange;
  /** Index of the monitoring target a DAMOS_FILTER_TYPE_TARGET filter selects (`damos_filter::target_idx`). */
  targetIdx: number;
  /** DAMOS_FILTER_TYPE_HUGEPAGE_SIZE: inclusive [min, max] */
  szRange: {
    /** Smallest folio size that matches (bytes). */
    min: number;
    /** Largest folio size that matches (bytes). */
    max: number;
  };
}

/** What a scheme tried and applied so far. @kernel struct damos_stat (include/linux/damon.h) */
export interface DamosStat {
  /** Regions the action was tried on. */
  nrTried: number;
  /** Bytes the action was tried on. */
  szTried: number;
  /** Regions the action was applied to. */
  nrApplied: number;
  /** Bytes the action was applied to. */
  szApplied: number;
  /** Bytes that passed the ops-layer filters. */
  szOpsFilterPassed: number;
  /** Times the quota was exceeded. */
  qtExceeds: number;
  /** Times the scheme reached the last region of a target in an apply pass (7.x). */
  nrSnapshots: number;
}

/** Destination nodes and their weights for the migrate actions. @kernel struct damos_migrate_dests (include/linux/damon.h) */
export interface DamosMigrateDests {
  /** Destination nodes. */
  nodeIdArr: number[];
  /** Weight of each destination node, parallel to `nodeIdArr`. */
  weightArr: number[];
}

/** A DAMON-based operation scheme: an action for regions matching an access pattern, within quotas and watermarks. @kernel struct damos (include/linux/damon.h) */
export interface Damos {
  /** Access pattern of the regions the action applies to. */
  pattern: DamosAccessPattern;
  /** A `DAMOS_*` action. */
  action: number;
  /** 0 means the aggregation interval. */
  applyIntervalUs: number;
  /** Time/size quota and its prioritisation. */
  quota: DamosQuota;
  /** Watermarks that switch the scheme on and off. */
  wmarks: DamosWatermarks;
  /** Destination node of `DAMOS_MIGRATE_{HOT,COLD}` (single destination). */
  targetNid: number;
  /** Weighted destination nodes of `DAMOS_MIGRATE_{HOT,COLD}`. */
  migrateDests: DamosMigrateDests;
  /** Core-layer filters (addr, target), in installation order. */
  filters: DamosFilter[];
  /** Ops-layer filters (anon, active, memcg, young, hugepage_size, unmapped). */
  opsFilters: DamosFilter[];
  /** The scheme's statistics. */
  stat: DamosStat;
  /** Stop applying once `stat.nrSnapshots` reaches this (0: no limit; 7.x). */
  maxNrSnapshots: number;
  /** private: sample count at which the scheme is next due. */
  nextApplySis: number;
  /** Private: the scheme finished one apply pass for the pending `damos_walk()` request (`damos::walk_completed`). */
  walkCompleted: boolean;
  /** private: the region passed an allow core filter. */
  coreFiltersAllowed: boolean;
  /** Private: reject memory no core filter matched (the last core filter allows and there are no ops filters); mirrors `damos::core_filters_default_reject`. */
  coreFiltersDefaultReject: boolean;
  /** Private: reject memory no ops filter matched (the last ops filter allows); mirrors `damos::ops_filters_default_reject`. */
  opsFiltersDefaultReject: boolean;
  /** The ops' last applied entity (folio), to avoid acting twice on a large folio. */
  lastApplied: number;
}

/** An access pattern that every region matches. */
export function damosPatternAll(): DamosAccessPattern {
  return {
    minSzRegion: 0,
    maxSzRegion: ULONG_MAX,
    minNrAccesses: 0,
    maxNrAccesses: UINT_MAX,
    minAgeRegion: 0,
    maxAgeRegion: UINT_MAX,
  };
}

/** A quota with every limit unset (unlimited). */
export function damosQuotaNone(): Pick<
  DamosQuota,
  'resetInterval' | 'ms' | 'sz' | 'weightSz' | 'weightNrAccesses' | 'weightAge'
> {
  return { resetInterval: 0, ms: 0, sz: 0, weightSz: 0, weightNrAccesses: 0, weightAge: 0 };
}

/** Watermarks that never deactivate the scheme. */
export function damosWmarksNone(): Pick<DamosWatermarks, 'metric' | 'interval' | 'high' | 'mid' | 'low'> {
  return { metric: DAMOS_WMARK_NONE, interval: 0, high: 0, mid: 0, low: 0 };
}

/**
 * A new scheme; the quota's private fields start at zero, goals and
 * filters empty, watermarks activated.
 * @kernel damon_new_scheme (mm/damon/core.c)
 */
export function damonNewScheme(
  pattern: DamosAccessPattern,
  action: number,
  applyIntervalUs: number,
  quota: Pick<DamosQuota, 'resetInterval' | 'ms' | 'sz' | 'weightSz' | 'weightNrAccesses' | 'weightAge'>,
  wmarks: Pick<DamosWatermarks, 'metric' | 'interval' | 'high' | 'mid' | 'low'>,
  targetNid: number = NUMA_NO_NODE,
): Damos {
  return {
    pattern: { ...pattern },
    action,
    applyIntervalUs,
    quota: {
      resetInterval: quota.resetInterval,
      ms: quota.ms,
      sz: quota.sz,
      goals: [],
      esz: 0,
      weightSz: quota.weightSz,
      weightNrAccesses: quota.weightNrAccesses,
      weightAge: quota.weightAge,
      totalChargedSz: 0,
      totalChargedNs: 0,
      chargedSz: 0,
      chargedFrom: 0,
      chargeTargetFrom: null,
      chargeAddrFrom: 0,
      minScore: 0,
      eszBp: 0n,
    },
    wmarks: { ...wmarks, activated: true },
    targetNid,
    migrateDests: { nodeIdArr: [], weightArr: [] },
    filters: [],
    opsFilters: [],
    stat: { nrTried: 0, szTried: 0, nrApplied: 0, szApplied: 0, szOpsFilterPassed: 0, qtExceeds: 0, nrSnapshots: 0 },
    maxNrSnapshots: 0,
    nextApplySis: 0,
    walkCompleted: false,
    coreFiltersAllowed: false,
    coreFiltersDefaultReject: false,
    opsFiltersDefaultReject: false,
    lastApplied: -1,
  };
}

/** A new filter of `type` on no scheme yet. @kernel damos_new_filter (mm/damon/core.c) */
export function damosNewFilter(type: number, matching: boolean, allow: boolean): DamosFilter {
  return {
    type,
    matching,
    allow,
    memcgId: 0,
    addrRange: { start: 0, end: 0 },
    targetIdx: 0,
    szRange: { min: 0, max: 0 },
  };
}

/**
 * Whether filters of `type` are handled by the operations set (true) or the core (false).
 * @kernel damos_filter_for_ops (mm/damon/core.c)
 */
export function damosFilterForOps(type: number): boolean {
  return type !== DAMOS_FILTER_TYPE_ADDR && type !== DAMOS_FILTER_TYPE_TARGET;
}

/**
 * Append `f` to the scheme's core or ops filter list, by its type.
 * @kernel damos_add_filter (mm/damon/core.c)
 */
export function damosAddFilter(s: Damos, f: DamosFilter): void {
  if (damosFilterForOps(f.type)) s.opsFilters.push(f);
  else s.filters.push(f);
}

/** Unlink `f` from `s`'s filter lists. @kernel damos_destroy_filter (mm/damon/core.c) */
export function damosDestroyFilter(s: Damos, f: DamosFilter): void {
  const list = damosFilterForOps(f.type) ? s.opsFilters : s.filters;
  const i = list.indexOf(f);
  if (i >= 0) list.splice(i, 1);
}

/** A new quota goal for `metric` with target `targetValue`. @kernel damos_new_quota_goal (mm/damon/core.c) */
export function damosNewQuotaGoal(metric: number, targetValue: number): DamosQuotaGoal {
  return { metric, targetValue, currentValue: 0, lastPsiTotal: 0, nid: 0 };
}

/** Append goal `g` to quota `q`. @kernel damos_add_quota_goal (mm/damon/core.c) */
export function damosAddQuotaGoal(q: Pick<DamosQuota, 'goals'>, g: DamosQuotaGoal): void {
  q.goals.push(g);
}

/** Whether memory not matched by any filter of `filters` is rejected. @kernel damos_filters_default_reject (mm/damon/core.c) */
export function damosFiltersDefaultReject(filters: readonly DamosFilter[]): boolean {
  if (filters.length === 0) return false;
  return filters[filters.length - 1]!.allow;
}

/**
 * Compute the scheme's default-reject flags: the core layer passes unmatched
 * regions whenever ops filters exist, else rejects them exactly when its last
 * filter is an allow filter; the ops layer rejects exactly when its last
 * filter is an allow filter.
 * @kernel damos_set_filters_default_reject (mm/damon/core.c)
 */
export function damosSetFiltersDefaultReject(s: Damos): void {
  if (s.opsFilters.length !== 0) s.coreFiltersDefaultReject = false;
  else s.coreFiltersDefaultReject = damosFiltersDefaultReject(s.filters);
  s.opsFiltersDefaultReject = damosFiltersDefaultReject(s.opsFilters);
}
