/**
 * DOC: damo's access monitoring records (`_damo_records.py`, `_damon.py`):
 * the data model, a recorder that builds records from the kdamond's
 * `damon_aggregated` trace events (what `damo record` does through perf),
 * and damo's record file formats: `json` (the records as damo's
 * `to_kvpairs(raw=True)` writes them, indented by 4) and `json_compressed`
 * (the same text in a zlib stream), both readable by damo itself.
 */
import type { DamonCtx } from '../core/ctx.js';
import { DAMON_NO_REGION } from '../core/region.js';
import { zlibCompress, zlibDecompress } from '../image/zlib.js';
import { pyD, textToBytes, textToNr, textToNs, textToUs } from './fmt-str.js';

/** Auto-tuning goal of the sampling and aggregation intervals, as damo records it. @kernel DamonIntervalsGoal (damo _damon.py) */
export interface DamoIntervalsGoal {
  /** Target ratio of observed to possible access events (bp). */
  accessBp: number;
  /** Tune every this many aggregations (0: off). */
  aggrs: number;
  /** Lower bound of the tuned sampling interval (µs). */
  minSampleUs: number;
  /** Upper bound of the tuned sampling interval (µs). */
  maxSampleUs: number;
}

/** Monitoring intervals in µs. @kernel DamonIntervals (damo _damon.py) */
export interface DamoIntervals {
  /** Sampling interval (µs). */
  sample: number;
  /** Aggregation interval (µs). */
  aggr: number;
  /** Operations update interval (µs). */
  opsUpdate: number;
  /** Auto-tuning goal. */
  intervalsGoal: DamoIntervalsGoal;
}

/** One monitoring region of a snapshot, as damo records it. @kernel DamonRegion (damo _damon.py) */
export interface DamoRegion {
  /** First address. */
  start: number;
  /** End address (exclusive). */
  end: number;
  /** Access frequency in the unit(s) the record gives; null where unset. */
  nrAccesses: {
    /** Accesses seen per aggregation interval, in samples. */
    samples: number | null;
    /** The same as a percentage of the samples per aggregation interval. */
    percent: number | null;
  };
  /** How long the access frequency has stayed similar; null where unset. */
  age: {
    /** In µs. */
    usec: number | null;
    /** In aggregation intervals. */
    aggrIntervals: number | null;
  };
  /** Bytes that passed the ops filters (tried regions), or null. */
  szFilterPassed: number | null;
}

/** The regions of one target over one aggregation interval. @kernel DamonSnapshot (damo _damo_records.py) */
export interface DamoSnapshot {
  /** When the snapshot's aggregation interval began (ns); damo's `start_time`. */
  startTime: number;
  /** When the snapshot's aggregation interval ended (ns); damo's `end_time`. */
  endTime: number;
  /** The regions in address order. */
  regions: DamoRegion[];
  /** Size of all the regions (bytes). */
  totalBytes: number;
}

/** The snapshots of one monitoring target with the intervals they were taken at. @kernel DamonRecord (damo _damo_records.py) */
export interface DamoRecord {
  /** Index of the kdamond, or null when unknown. */
  kdamondIdx: number | null;
  /** Index of the context, or null when unknown. */
  contextIdx: number | null;
  /** Monitoring intervals, or null when unknown. */
  intervals: DamoIntervals | null;
  /** Index of the scheme (tried-regions records), or null. */
  schemeIdx: number | null;
  /** Id of the monitoring target. */
  targetId: number;
  /** Snapshots in time order. */
  snapshots: DamoSnapshot[];
}

/** Size of a region in bytes (`end - start`). */
export function damoRegionSize(r: DamoRegion): number {
  return r.end - r.start;
}

/**
 * Fill the missing unit of a region's access count and age from the
 * record's intervals (percent = int(samples × 100 / (aggr/sample)), usec =
 * aggr_intervals × aggr).
 * @kernel add_unset_unit (damo _damon.py)
 */
export function damoAddUnsetUnit(r: DamoRegion, intervals: DamoIntervals): void {
  const maxVal = intervals.aggr / intervals.sample;
  const n = r.nrAccesses;
  if (n.samples === null && n.percent !== null) n.samples = Math.trunc((n.percent * maxVal) / 100);
  else if (n.percent === null && n.samples !== null) n.percent = Math.trunc((n.samples * 100.0) / maxVal);
  const a = r.age;
  if (a.usec === null && a.aggrIntervals !== null) a.usec = a.aggrIntervals * intervals.aggr;
  else if (a.aggrIntervals === null && a.usec !== null) a.aggrIntervals = Math.trunc(a.usec / intervals.aggr);
}

/** What {@link damoRecord} returns: the records being filled, and how to stop. */
export interface DamoRecorder {
  /** The records, one per target, filled as aggregations happen. */
  readonly records: DamoRecord[];
  /** Stop recording (restores the previous trace hook). */
  stop(): void;
}

/**
 * Record a context's monitoring results as damo does: one record per
 * target, one snapshot per aggregation interval (from the
 * `damon_aggregated` events), with the intervals the context had when
 * recording started. A snapshot starts where the target's previous one ended
 * (the first at the time recording started).
 */
export function damoRecord(
  ctx: DamonCtx,
  opts: { kdamondIdx?: number; contextIdx?: number; startNs?: number } = {},
): DamoRecorder {
  const a = ctx.attrs;
  const intervals: DamoIntervals = {
    sample: a.sampleInterval,
    aggr: a.aggrInterval,
    opsUpdate: a.opsUpdateInterval,
    intervalsGoal: { ...a.intervalsGoal },
  };
  const records: DamoRecord[] = [];
  const lastEnd: number[] = [];
  const startNs = opts.startNs ?? (ctx.kdamond === null ? 0 : ctx.kdamond.machine.clock.now);
  const prev = ctx.trace.damonAggregated;
  let current: DamoSnapshot | null = null;
  ctx.trace.damonAggregated = (c, ti, t, r, nrRegions, nowNs) => {
    prev?.(c, ti, t, r, nrRegions, nowNs);
    let rec = records.find((x) => x.targetId === ti);
    if (rec === undefined) {
      rec = {
        kdamondIdx: opts.kdamondIdx ?? 0,
        contextIdx: opts.contextIdx ?? 0,
        intervals,
        schemeIdx: null,
        targetId: ti,
        snapshots: [],
      };
      records.push(rec);
    }
    if (r === t.first) {
      current = { startTime: lastEnd[ti] ?? startNs, endTime: nowNs, regions: [], totalBytes: 0 };
      rec.snapshots.push(current);
      lastEnd[ti] = nowNs;
    }
    const snap = current!;
    snap.regions.push({
      start: t.start[r]!,
      end: t.end[r]!,
      nrAccesses: { samples: t.nrAccesses[r]!, percent: null },
      age: { usec: null, aggrIntervals: t.age[r]! },
      szFilterPassed: 0,
    });
    snap.totalBytes += t.end[r]! - t.start[r]!;
    if (t.next[r] === DAMON_NO_REGION) current = null;
  };
  return {
    records,
    stop(): void {
      if (prev === undefined) delete ctx.trace.damonAggregated;
      else ctx.trace.damonAggregated = prev;
    },
  };
}

/** The record as damo's `to_kvpairs(raw=True)` builds it (key order kept). */
export function damoRecordToKvpairs(rec: DamoRecord): unknown {
  const iv = rec.intervals;
  return {
    kdamond_idx: rec.kdamondIdx,
    context_idx: rec.contextIdx,
    intervals:
      iv === null
        ? null
        : {
            sample_us: pyD(iv.sample),
            aggr_us: pyD(iv.aggr),
            ops_update_us: pyD(iv.opsUpdate),
            intervals_goal: {
              access_bp: pyD(iv.intervalsGoal.accessBp),
              aggrs: pyD(iv.intervalsGoal.aggrs),
              min_sample_us: pyD(iv.intervalsGoal.minSampleUs),
              max_sample_us: pyD(iv.intervalsGoal.maxSampleUs),
            },
          },
    scheme_idx: rec.schemeIdx,
    target_id: rec.targetId,
    snapshots: rec.snapshots.map((s) => ({
      start_time: pyD(s.startTime),
      end_time: pyD(s.endTime),
      regions: s.regions.map((r) => ({
        start: pyD(r.start),
        end: pyD(r.end),
        nr_accesses: { samples: r.nrAccesses.samples, percent: r.nrAccesses.percent },
        age: {
          usec: r.age.usec === null ? null : pyD(r.age.usec),
          aggr_intervals: r.age.aggrIntervals === null ? null : pyD(r.age.aggrIntervals),
        },
        sz_filter_passed: pyD(r.szFilterPassed ?? 0),
      })),
      total_bytes: pyD(s.totalBytes),
    })),
  };
}

/** damo's `json` record file text (json.dumps(indent=4)). @kernel write_json (damo _damo_records.py) */
export function damoWriteJson(records: readonly DamoRecord[]): string {
  return JSON.stringify(records.map(damoRecordToKvpairs), null, 4);
}

/** damo's default `json_compressed` record file (zlib of the json text). @kernel write_json_compressed (damo _damo_records.py) */
export function damoWriteJsonCompressed(records: readonly DamoRecord[]): Uint8Array {
  return zlibCompress(new TextEncoder().encode(damoWriteJson(records)));
}

type Kv = Record<string, unknown>;

function str(v: unknown): string | number {
  return typeof v === 'number' ? v : String(v);
}

/**
 * Read a damo record file: `json` text or `json_compressed` bytes. Numbers
 * may be raw or human-formatted ("4,096", "1.5 GiB", "10 ms").
 * @throws Error with a `damo:` message for input that is neither.
 */
export function damoParseRecords(input: string | Uint8Array): DamoRecord[] {
  let text: string;
  if (typeof input === 'string') text = input;
  else if (input.length > 1 && input[0] === 0x78) text = new TextDecoder().decode(zlibDecompress(input));
  else text = new TextDecoder().decode(input);
  let kvs: unknown;
  try {
    kvs = JSON.parse(text);
  } catch (e) {
    throw new Error(`damo: failed parsing json file (${(e as Error).message})`);
  }
  if (!Array.isArray(kvs)) throw new Error('damo: a record file holds a list of records');
  return kvs.map((kv: Kv) => {
    const iv = kv.intervals as Kv | null | undefined;
    const goal = iv?.intervals_goal as Kv | undefined;
    return {
      kdamondIdx: (kv.kdamond_idx as number | null | undefined) ?? null,
      contextIdx: (kv.context_idx as number | null | undefined) ?? null,
      intervals:
        iv === null || iv === undefined
          ? null
          : {
              sample: textToUs(str(iv.sample_us)),
              aggr: textToUs(str(iv.aggr_us)),
              opsUpdate: textToUs(str(iv.ops_update_us)),
              intervalsGoal: {
                accessBp: goal === undefined ? 0 : textToNr(String(goal.access_bp).replace('%', '')),
                aggrs: goal === undefined ? 0 : textToNr(str(goal.aggrs)),
                minSampleUs: goal === undefined ? 0 : textToUs(str(goal.min_sample_us)),
                maxSampleUs: goal === undefined ? 0 : textToUs(str(goal.max_sample_us)),
              },
            },
      schemeIdx: (kv.scheme_idx as number | null | undefined) ?? null,
      targetId: kv.target_id as number,
      snapshots: (kv.snapshots as Kv[]).map((s) => {
        const regions = (s.regions as Kv[]).map((r) => {
          const na = (r.nr_accesses ?? {}) as Kv;
          const age = (r.age ?? {}) as Kv;
          return {
            start: textToBytes(str(r.start)),
            end: textToBytes(str(r.end)),
            nrAccesses: {
              samples: na.samples === null || na.samples === undefined ? null : textToNr(str(na.samples)),
              percent:
                na.percent === null || na.percent === undefined ? null : textToNr(String(na.percent).replace('%', '')),
            },
            age: {
              usec: age.usec === null || age.usec === undefined ? null : textToUs(str(age.usec)),
              aggrIntervals:
                age.aggr_intervals === null || age.aggr_intervals === undefined
                  ? null
                  : textToNr(str(age.aggr_intervals)),
            },
            szFilterPassed: r.sz_filter_passed === undefined ? 0 : textToBytes(str(r.sz_filter_passed)),
          };
        });
        const total = s.total_bytes === null || s.total_bytes === undefined ? null : textToBytes(str(s.total_bytes));
        return {
          startTime: textToNs(str(s.start_time)),
          endTime: textToNs(str(s.end_time)),
          regions,
          totalBytes: total ?? regions.reduce((a, r) => a + r.end - r.start, 0),
        };
      }),
    };
  });
}
