/**
 * DOC: the schemes part of DAMON's sysfs admin tree
 * (mm/damon/sysfs-schemes.c): the per-scheme directories as data with the
 * kernel's defaults, the attribute files (show/store with the kernel's
 * parsing and errors), building `struct damos` from them, and the stats,
 * effective quota and tried-regions files the commands refresh.
 */
import { NUMA_NO_NODE } from '@mm/machine';
import type { DamonCtx } from '../core/ctx.js';
import type { DamonTarget } from '../core/region.js';
import {
  DAMOS_ACTION_NAMES,
  DAMOS_FILTER_TYPE_ADDR,
  DAMOS_FILTER_TYPE_HUGEPAGE_SIZE,
  DAMOS_FILTER_TYPE_MEMCG,
  DAMOS_FILTER_TYPE_NAMES,
  DAMOS_FILTER_TYPE_TARGET,
  DAMOS_QUOTA_GOAL_METRIC_NAMES,
  DAMOS_QUOTA_NODE_MEM_FREE_BP,
  DAMOS_QUOTA_NODE_MEM_USED_BP,
  DAMOS_QUOTA_USER_INPUT,
  DAMOS_STAT,
  DAMOS_WMARK_METRIC_NAMES,
  type Damos,
  type DamosQuota,
  damonNewScheme,
  damosAddFilter,
  damosAddQuotaGoal,
  damosFilterForOps,
  damosNewFilter,
  damosNewQuotaGoal,
} from '../core/scheme.js';
import { EINVAL, fmtUl, kstrtobool, kstrtoint, kstrtouint, kstrtoul, sysfsStreq } from './kstrto.js';

/** A sysfs attribute: `show` returns the file text, `store` 0-or-bytes or a negative errno. */
export interface SysfsAttr {
  /** Read the file: its text. */
  show(): string;
  /** Write `buf` to the file: bytes consumed, or a negative errno. Absent on read-only files. */
  store?(buf: string): number;
}

/** A sysfs directory: its attribute files and subdirectories. */
export interface SysfsNode {
  /** Attribute files by name. */
  readonly files: Record<string, SysfsAttr>;
  /** Subdirectories by name (built on each call, as they change with the `nr_*` files). */
  dirs(): Record<string, SysfsNode>;
}

/** An unsigned long attribute over `get`/`set`. */
export function ulAttr(get: () => number, set?: (v: number) => void): SysfsAttr {
  const a: SysfsAttr = { show: () => `${fmtUl(get())}\n` };
  if (set !== undefined) {
    a.store = (buf) => {
      const r = kstrtoul(buf);
      if (r.err) return r.err;
      set(r.value);
      return buf.length;
    };
  }
  return a;
}

/** An unsigned int attribute. */
export function uintAttr(get: () => number, set: (v: number) => void): SysfsAttr {
  return {
    show: () => `${get()}\n`,
    store: (buf) => {
      const r = kstrtouint(buf);
      if (r.err) return r.err;
      set(r.value);
      return buf.length;
    },
  };
}

/** A signed int attribute. */
export function intAttr(get: () => number, set?: (v: number) => void): SysfsAttr {
  const a: SysfsAttr = { show: () => `${get()}\n` };
  if (set !== undefined) {
    a.store = (buf) => {
      const r = kstrtoint(buf);
      if (r.err) return r.err;
      set(r.value);
      return buf.length;
    };
  }
  return a;
}

/** A Y/N attribute. */
export function boolAttr(get: () => boolean, set: (v: boolean) => void): SysfsAttr {
  return {
    show: () => (get() ? 'Y\n' : 'N\n'),
    store: (buf) => {
      const r = kstrtobool(buf);
      if (r.err) return r.err;
      set(r.value === 1);
      return buf.length;
    },
  };
}

/** An attribute choosing one name of `names` (index stored). */
export function nameAttr(
  names: readonly string[],
  get: () => number,
  set: (v: number) => void,
  valid: (i: number) => boolean = () => true,
): SysfsAttr {
  return {
    show: () => `${names[get()] ?? ''}\n`,
    store: (buf) => {
      const i = names.findIndex((n) => sysfsStreq(buf, n));
      if (i < 0 || !valid(i)) return -EINVAL;
      set(i);
      return buf.length;
    },
  };
}

/** A `nr_*` directory: writing N rebuilds entries 0..N-1 with defaults. */
export function nrDirAttr<T>(arr: T[], mk: () => T, busy: () => boolean, rm?: (x: T) => void): SysfsAttr {
  return {
    show: () => `${arr.length}\n`,
    store: (buf) => {
      const r = kstrtoint(buf);
      if (r.err) return r.err;
      if (r.value < 0) return -EINVAL;
      if (busy()) return -16; // -EBUSY: damon_sysfs_lock held
      for (const x of arr) rm?.(x);
      arr.length = 0;
      for (let i = 0; i < r.value; i++) arr.push(mk());
      return buf.length;
    },
  };
}

/** A [min, max] directory of unsigned longs. @kernel struct damon_sysfs_ul_range (mm/damon/sysfs-common.h) */
export interface UlRange {
  /** Lower bound, inclusive; mirrors the `min` file. */
  min: number;
  /** Upper bound, inclusive; mirrors the `max` file. */
  max: number;
}

export function ulRangeNode(r: UlRange): SysfsNode {
  return {
    files: {
      min: ulAttr(
        () => r.min,
        (v) => (r.min = v),
      ),
      max: ulAttr(
        () => r.max,
        (v) => (r.max = v),
      ),
    },
    dirs: () => ({}),
  };
}

/** Filter handling layers of the filter directories. */
export const FILTER_LAYER_BOTH = 0;
export const FILTER_LAYER_CORE = 1;
export const FILTER_LAYER_OPS = 2;

/** A filter directory (`core_filters/<F>`, `ops_filters/<F>` or `filters/<F>`) @kernel struct damon_sysfs_scheme_filter (mm/damon/sysfs-schemes.c) */
export interface SysfsSchemeFilter {
  /** Which directory it is in (core, ops, or the mixed `filters`). */
  layer: number;
  /** `type`: a `DAMOS_FILTER_TYPE_*` value. */
  type: number;
  /** Whether the filter selects memory of its `type` (true) or all other memory (false); mirrors the `matching` file (`damos_filter::matching`). */
  matching: boolean;
  /** Whether the selected memory is allowed (true) or rejected (false) for the scheme's action; mirrors the `allow` file (`damos_filter::allow`). */
  allow: boolean;
  /** `memcg_path`: of memcg filters. */
  memcgPath: string;
  /** `addr_start`: of address filters. */
  addrStart: number;
  /** `addr_end`: of address filters. */
  addrEnd: number;
  /** `damon_target_idx`: of target filters. */
  targetIdx: number;
  /** `min`: of hugepage size filters. */
  szMin: number;
  /** `max`: of hugepage size filters. */
  szMax: number;
}

/** A `quotas/goals/<G>` directory: one quota auto-tuning goal. @kernel struct damos_sysfs_quota_goal (mm/damon/sysfs-schemes.c) */
export interface SysfsQuotaGoal {
  /** `target_metric`: a `DAMOS_QUOTA_*` metric. */
  metric: number;
  /** Value of the goal metric the quota auto-tuner steers towards, in the metric's unit; mirrors the `target_value` file. */
  targetValue: number;
  /** The metric's current value as written by the user; only the `user_input` metric takes it, the others are measured by the kernel. Mirrors the `current_value` file. */
  currentValue: number;
  /** `nid`: node of the node memory metrics. */
  nid: number;
}

/** A `tried_regions/<R>` directory: one region the scheme was tried on. @kernel struct damon_sysfs_scheme_region (mm/damon/sysfs-schemes.c) */
export interface SysfsTriedRegion {
  /** Start address of the region (inclusive); mirrors `tried_regions/<R>/start`. */
  readonly start: number;
  /** End address of the region (exclusive); mirrors `tried_regions/<R>/end`. */
  readonly end: number;
  /** Access frequency of the region: samples per aggregation interval that saw an access; mirrors `tried_regions/<R>/nr_accesses`. */
  readonly nrAccesses: number;
  /** Aggregation intervals the region's access frequency has stayed about the same; mirrors `tried_regions/<R>/age`. */
  readonly age: number;
  /** Bytes of the region that passed the scheme's ops-layer filters; mirrors `tried_regions/<R>/sz_filter_passed`. */
  readonly szFilterPassed: number;
}

/** A `schemes/<S>` directory: one DAMOS scheme. @kernel struct damon_sysfs_scheme (mm/damon/sysfs-schemes.c) */
export interface SysfsScheme {
  /** `action`: a `DAMOS_*` action. */
  action: number;
  /** `target_nid`: migration destination. */
  targetNid: number;
  /** `apply_interval_us` (0: the aggregation interval). */
  applyIntervalUs: number;
  /** The `access_pattern` directory. */
  accessPattern: {
    /** `sz/{min,max}`: region size range (bytes). */
    sz: UlRange;
    /** `nr_accesses/{min,max}`: access frequency range (samples per aggregation). */
    nrAccesses: UlRange;
    /** `age/{min,max}`: age range (aggregation intervals). */
    age: UlRange;
  };
  /** The `quotas` directory. */
  quotas: {
    /** `ms`: time quota. */
    ms: number;
    /** `bytes`: size quota. */
    bytes: number;
    /** `reset_interval_ms`: charge window. */
    resetIntervalMs: number;
    /** `effective_bytes`: the tuned size quota (read-only). */
    effectiveBytes: number;
    /** The `weights` directory: prioritisation weights in permil. */
    weights: {
      /** Weight of region size when the quota ranks regions (permil); mirrors `weights/sz_permil`. */
      sz: number;
      /** Weight of access frequency in that ranking (permil); mirrors `weights/nr_accesses_permil`. */
      nrAccesses: number;
      /** Weight of age in that ranking (permil); mirrors `weights/age_permil`. */
      age: number;
    };
    /** The `goals` directory. */
    goals: SysfsQuotaGoal[];
  };
  /** The `watermarks` directory. */
  watermarks: {
    /** `metric`: a `DAMOS_WMARK_*` value. */
    metric: number;
    /** `interval_us`: how often the metric is checked. */
    intervalUs: number;
    /** `high` watermark (metric units). */
    high: number;
    /** `mid` watermark (metric units). */
    mid: number;
    /** `low` watermark (metric units). */
    low: number;
  };
  /** The `core_filters` directory. */
  coreFilters: SysfsSchemeFilter[];
  /** The `ops_filters` directory. */
  opsFilters: SysfsSchemeFilter[];
  /** The `filters` directory (either layer, as the type decides). */
  filters: SysfsSchemeFilter[];
  /** The `dests` directory: migration destinations. */
  dests: {
    /** `id`: destination node. */
    id: number;
    /** `weight`: share of the migrated memory. */
    weight: number;
  }[];
  /** The `stats` directory, filled by `update_schemes_stats`. */
  stats: {
    /** Regions the action was tried on; mirrors `stats/nr_tried`. */
    nrTried: number;
    /** Bytes of the regions the action was tried on; mirrors `stats/sz_tried`. */
    szTried: number;
    /** Regions the action was applied to successfully; mirrors `stats/nr_applied`. */
    nrApplied: number;
    /** Bytes the action was applied to successfully; mirrors `stats/sz_applied`. */
    szApplied: number;
    /** Bytes that passed the scheme's ops-layer filters; mirrors `stats/sz_ops_filter_passed`. */
    szOpsFilterPassed: number;
    /** Times the scheme's quota was exceeded; mirrors `stats/qt_exceeds`. */
    qtExceeds: number;
    /** DAMON snapshots (apply passes) the scheme was tried on; mirrors `stats/nr_snapshots` (7.x). */
    nrSnapshots: number;
    /** Deactivate the scheme once `nrSnapshots` reaches this (0: no limit); user-written, mirrors `stats/max_nr_snapshots` (7.x). */
    maxNrSnapshots: number;
  };
  /** The `tried_regions` directory, filled by `update_schemes_tried_{regions,bytes}`. */
  triedRegions: {
    /** `total_bytes`: size of all the regions the scheme was tried on. */
    totalBytes: number;
    /** One subdirectory per region. */
    regions: SysfsTriedRegion[];
  };
}

/** A scheme directory with the kernel's defaults. @kernel damon_sysfs_scheme_alloc (mm/damon/sysfs-schemes.c) */
export function sysfsSchemeAlloc(): SysfsScheme {
  return {
    action: DAMOS_STAT,
    targetNid: NUMA_NO_NODE,
    applyIntervalUs: 0,
    accessPattern: { sz: { min: 0, max: 0 }, nrAccesses: { min: 0, max: 0 }, age: { min: 0, max: 0 } },
    quotas: {
      ms: 0,
      bytes: 0,
      resetIntervalMs: 0,
      effectiveBytes: 0,
      weights: { sz: 0, nrAccesses: 0, age: 0 },
      goals: [],
    },
    watermarks: { metric: 0, intervalUs: 0, high: 0, mid: 0, low: 0 },
    coreFilters: [],
    opsFilters: [],
    filters: [],
    dests: [],
    stats: {
      nrTried: 0,
      szTried: 0,
      nrApplied: 0,
      szApplied: 0,
      szOpsFilterPassed: 0,
      qtExceeds: 0,
      nrSnapshots: 0,
      maxNrSnapshots: 0,
    },
    triedRegions: { totalBytes: 0, regions: [] },
  };
}

function filterAlloc(layer: number): () => SysfsSchemeFilter {
  return () => ({
    layer,
    type: 0,
    matching: false,
    allow: false,
    memcgPath: '',
    addrStart: 0,
    addrEnd: 0,
    targetIdx: 0,
    szMin: 0,
    szMax: 0,
  });
}

function validFilterType(layer: number, type: number): boolean {
  if (layer === FILTER_LAYER_CORE) return !damosFilterForOps(type);
  if (layer === FILTER_LAYER_OPS) return damosFilterForOps(type);
  return true;
}

function filterNode(f: SysfsSchemeFilter): SysfsNode {
  return {
    files: {
      type: nameAttr(
        DAMOS_FILTER_TYPE_NAMES,
        () => f.type,
        (v) => (f.type = v),
        (i) => validFilterType(f.layer, i),
      ),
      matching: boolAttr(
        () => f.matching,
        (v) => (f.matching = v),
      ),
      allow: boolAttr(
        () => f.allow,
        (v) => (f.allow = v),
      ),
      memcg_path: {
        show: () => `${f.memcgPath}\n`,
        store: (buf) => {
          f.memcgPath = buf.endsWith('\n') ? buf.slice(0, -1) : buf;
          return buf.length;
        },
      },
      addr_start: ulAttr(
        () => f.addrStart,
        (v) => (f.addrStart = v),
      ),
      addr_end: ulAttr(
        () => f.addrEnd,
        (v) => (f.addrEnd = v),
      ),
      min: ulAttr(
        () => f.szMin,
        (v) => (f.szMin = v),
      ),
      max: ulAttr(
        () => f.szMax,
        (v) => (f.szMax = v),
      ),
      damon_target_idx: intAttr(
        () => f.targetIdx,
        (v) => (f.targetIdx = v),
      ),
    },
    dirs: () => ({}),
  };
}

function filtersNode(list: SysfsSchemeFilter[], layer: number, busy: () => boolean): SysfsNode {
  return {
    files: { nr_filters: nrDirAttr(list, filterAlloc(layer), busy) },
    dirs: () => Object.fromEntries(list.map((f, i) => [`${i}`, filterNode(f)])),
  };
}

function goalNode(g: SysfsQuotaGoal): SysfsNode {
  return {
    files: {
      target_metric: nameAttr(
        DAMOS_QUOTA_GOAL_METRIC_NAMES,
        () => g.metric,
        (v) => (g.metric = v),
      ),
      target_value: ulAttr(
        () => g.targetValue,
        (v) => (g.targetValue = v),
      ),
      current_value: ulAttr(
        () => g.currentValue,
        (v) => (g.currentValue = v),
      ),
      nid: intAttr(
        () => g.nid,
        (v) => (g.nid = v),
      ),
    },
    dirs: () => ({}),
  };
}

/** The file tree of one scheme directory. */
export function schemeNode(s: SysfsScheme, busy: () => boolean): SysfsNode {
  const q = s.quotas;
  const w = s.watermarks;
  const st = s.stats;
  const ro = (get: () => number): SysfsAttr => ulAttr(get);
  return {
    files: {
      action: nameAttr(
        DAMOS_ACTION_NAMES,
        () => s.action,
        (v) => (s.action = v),
      ),
      target_nid: intAttr(
        () => s.targetNid,
        (v) => (s.targetNid = v),
      ),
      apply_interval_us: ulAttr(
        () => s.applyIntervalUs,
        (v) => (s.applyIntervalUs = v),
      ),
    },
    dirs: () => ({
      access_pattern: {
        files: {},
        dirs: () => ({
          sz: ulRangeNode(s.accessPattern.sz),
          nr_accesses: ulRangeNode(s.accessPattern.nrAccesses),
          age: ulRangeNode(s.accessPattern.age),
        }),
      },
      quotas: {
        files: {
          ms: ulAttr(
            () => q.ms,
            (v) => (q.ms = v),
          ),
          bytes: ulAttr(
            () => q.bytes,
            (v) => (q.bytes = v),
          ),
          reset_interval_ms: ulAttr(
            () => q.resetIntervalMs,
            (v) => (q.resetIntervalMs = v),
          ),
          effective_bytes: ro(() => q.effectiveBytes),
        },
        dirs: () => ({
          weights: {
            files: {
              sz_permil: uintAttr(
                () => q.weights.sz,
                (v) => (q.weights.sz = v),
              ),
              nr_accesses_permil: uintAttr(
                () => q.weights.nrAccesses,
                (v) => (q.weights.nrAccesses = v),
              ),
              age_permil: uintAttr(
                () => q.weights.age,
                (v) => (q.weights.age = v),
              ),
            },
            dirs: () => ({}),
          },
          goals: {
            files: {
              nr_goals: nrDirAttr(q.goals, () => ({ metric: 0, targetValue: 0, currentValue: 0, nid: 0 }), busy),
            },
            dirs: () => Object.fromEntries(q.goals.map((g, i) => [`${i}`, goalNode(g)])),
          },
        }),
      },
      watermarks: {
        files: {
          metric: nameAttr(
            DAMOS_WMARK_METRIC_NAMES,
            () => w.metric,
            (v) => (w.metric = v),
          ),
          interval_us: ulAttr(
            () => w.intervalUs,
            (v) => (w.intervalUs = v),
          ),
          high: ulAttr(
            () => w.high,
            (v) => (w.high = v),
          ),
          mid: ulAttr(
            () => w.mid,
            (v) => (w.mid = v),
          ),
          low: ulAttr(
            () => w.low,
            (v) => (w.low = v),
          ),
        },
        dirs: () => ({}),
      },
      core_filters: filtersNode(s.coreFilters, FILTER_LAYER_CORE, busy),
      ops_filters: filtersNode(s.opsFilters, FILTER_LAYER_OPS, busy),
      filters: filtersNode(s.filters, FILTER_LAYER_BOTH, busy),
      dests: {
        files: { nr_dests: nrDirAttr(s.dests, () => ({ id: 0, weight: 0 }), busy) },
        dirs: () =>
          Object.fromEntries(
            s.dests.map((d, i) => [
              `${i}`,
              {
                files: {
                  id: uintAttr(
                    () => d.id,
                    (v) => (d.id = v),
                  ),
                  weight: uintAttr(
                    () => d.weight,
                    (v) => (d.weight = v),
                  ),
                },
                dirs: () => ({}),
              },
            ]),
          ),
      },
      stats: {
        files: {
          nr_tried: ro(() => st.nrTried),
          sz_tried: ro(() => st.szTried),
          nr_applied: ro(() => st.nrApplied),
          sz_applied: ro(() => st.szApplied),
          sz_ops_filter_passed: ro(() => st.szOpsFilterPassed),
          qt_exceeds: ro(() => st.qtExceeds),
          nr_snapshots: ro(() => st.nrSnapshots),
          max_nr_snapshots: ulAttr(
            () => st.maxNrSnapshots,
            (v) => (st.maxNrSnapshots = v),
          ),
        },
        dirs: () => ({}),
      },
      tried_regions: {
        files: { total_bytes: ro(() => s.triedRegions.totalBytes) },
        dirs: () =>
          Object.fromEntries(
            s.triedRegions.regions.map((r, i) => [
              `${i}`,
              {
                files: {
                  start: ro(() => r.start),
                  end: ro(() => r.end),
                  nr_accesses: { show: () => `${r.nrAccesses}\n` },
                  age: { show: () => `${r.age}\n` },
                  sz_filter_passed: ro(() => r.szFilterPassed),
                },
                dirs: () => ({}),
              },
            ]),
          ),
      },
    }),
  };
}

/** Add the filters of one sysfs filters directory to `scheme`. @kernel damon_sysfs_add_scheme_filters (mm/damon/sysfs-schemes.c) */
function addSchemeFilters(
  scheme: Damos,
  list: readonly SysfsSchemeFilter[],
  memcgId: (path: string) => number,
): number {
  for (const sf of list) {
    const f = damosNewFilter(sf.type, sf.matching, sf.allow);
    if (f.type === DAMOS_FILTER_TYPE_MEMCG) {
      const id = memcgId(sf.memcgPath);
      if (id < 0) return id;
      f.memcgId = id;
    } else if (f.type === DAMOS_FILTER_TYPE_ADDR) {
      if (sf.addrEnd < sf.addrStart) return -EINVAL;
      f.addrRange = { start: sf.addrStart, end: sf.addrEnd };
    } else if (f.type === DAMOS_FILTER_TYPE_TARGET) {
      f.targetIdx = sf.targetIdx;
    } else if (f.type === DAMOS_FILTER_TYPE_HUGEPAGE_SIZE) {
      if (sf.szMin > sf.szMax) return -EINVAL;
      f.szRange = { min: sf.szMin, max: sf.szMax };
    }
    damosAddFilter(scheme, f);
  }
  return 0;
}

/** Add the goals with a non-zero target to `quota`. @kernel damos_sysfs_add_quota_score (mm/damon/sysfs-schemes.c) */
export function sysfsAddQuotaScore(goals: readonly SysfsQuotaGoal[], quota: Pick<DamosQuota, 'goals'>): void {
  for (const sg of goals) {
    if (!sg.targetValue) continue;
    const g = damosNewQuotaGoal(sg.metric, sg.targetValue);
    if (sg.metric === DAMOS_QUOTA_USER_INPUT) g.currentValue = sg.currentValue;
    else if (sg.metric === DAMOS_QUOTA_NODE_MEM_USED_BP || sg.metric === DAMOS_QUOTA_NODE_MEM_FREE_BP) g.nid = sg.nid;
    damosAddQuotaGoal(quota, g);
  }
}

/**
 * Build a `struct damos` from a scheme directory; a negative errno for bad input.
 * @kernel damon_sysfs_mk_scheme (mm/damon/sysfs-schemes.c)
 */
export function sysfsMkScheme(ss: SysfsScheme, memcgId: (path: string) => number): Damos | number {
  const ap = ss.accessPattern;
  const q = ss.quotas;
  const scheme = damonNewScheme(
    {
      minSzRegion: ap.sz.min,
      maxSzRegion: ap.sz.max,
      minNrAccesses: ap.nrAccesses.min,
      maxNrAccesses: ap.nrAccesses.max,
      minAgeRegion: ap.age.min,
      maxAgeRegion: ap.age.max,
    },
    ss.action,
    ss.applyIntervalUs,
    {
      ms: q.ms,
      sz: q.bytes,
      resetInterval: q.resetIntervalMs,
      weightSz: q.weights.sz,
      weightNrAccesses: q.weights.nrAccesses,
      weightAge: q.weights.age,
    },
    {
      metric: ss.watermarks.metric,
      interval: ss.watermarks.intervalUs,
      high: ss.watermarks.high,
      mid: ss.watermarks.mid,
      low: ss.watermarks.low,
    },
    ss.targetNid,
  );
  sysfsAddQuotaScore(q.goals, scheme.quota);
  for (const list of [ss.coreFilters, ss.opsFilters, ss.filters]) {
    const err = addSchemeFilters(scheme, list, memcgId);
    if (err) return err;
  }
  scheme.migrateDests = { nodeIdArr: ss.dests.map((d) => d.id), weightArr: ss.dests.map((d) => d.weight) };
  scheme.maxNrSnapshots = ss.stats.maxNrSnapshots;
  return scheme;
}

/** Copy the running schemes' stats into the files. @kernel damon_sysfs_schemes_update_stats (mm/damon/sysfs-schemes.c) */
export function sysfsSchemesUpdateStats(schemes: readonly SysfsScheme[], ctx: DamonCtx): void {
  ctx.schemes.forEach((s, i) => {
    const ss = schemes[i];
    if (ss === undefined) return;
    Object.assign(ss.stats, s.stat);
  });
}

/** Copy each scheme's tuned size quota into its `effective_bytes` file. @kernel damos_sysfs_update_effective_quotas (mm/damon/sysfs-schemes.c) */
export function sysfsUpdateEffectiveQuotas(schemes: readonly SysfsScheme[], ctx: DamonCtx): void {
  ctx.schemes.forEach((s, i) => {
    const ss = schemes[i];
    if (ss !== undefined) ss.quotas.effectiveBytes = s.quota.esz;
  });
}

/** Empty every scheme's `tried_regions` directory; returns 0. @kernel damon_sysfs_schemes_clear_regions (mm/damon/sysfs-schemes.c) */
export function sysfsSchemesClearRegions(schemes: readonly SysfsScheme[]): number {
  for (const s of schemes) {
    s.triedRegions.regions = [];
    s.triedRegions.totalBytes = 0;
  }
  return 0;
}

/**
 * Add a tried region (or only its bytes) to the scheme's directory.
 * @kernel damos_sysfs_populate_region_dir (mm/damon/sysfs-schemes.c)
 */
export function sysfsPopulateRegionDir(
  schemes: readonly SysfsScheme[],
  ctx: DamonCtx,
  t: DamonTarget,
  r: number,
  s: Damos,
  totalBytesOnly: boolean,
  szFilterPassed: number,
): void {
  const idx = ctx.schemes.indexOf(s);
  const ss = schemes[idx];
  if (ss === undefined) return;
  ss.triedRegions.totalBytes += t.end[r]! - t.start[r]!;
  if (totalBytesOnly) return;
  ss.triedRegions.regions.push({
    start: t.start[r]!,
    end: t.end[r]!,
    nrAccesses: Math.floor(t.nrAccessesBp[r]! / 10000),
    age: t.age[r]!,
    szFilterPassed,
  });
}
