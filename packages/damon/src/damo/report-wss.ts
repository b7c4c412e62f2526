/**
 * DOC: `damo report wss` (`damo_wss.py`, `_damo_dist.py`): the working
 * set size distribution. Skip the first `excludeSamples` snapshots, merge
 * snapshots into windows of at least `workTime` µs, take the bytes of
 * regions with at least `accThres` samples and `szThres` bytes per
 * snapshot, collapse targets into id 0 (default), sort by size (default)
 * and print percentiles 0, 25, 50, 75, 100 with a 59-column bar.
 */
import { formatSz } from './fmt-str.js';
import type { DamoRecord, DamoRegion, DamoSnapshot } from './records.js';

/** Options of {@link damoReportWss} (damo's defaults). */
export interface DamoWssOptions {
  /** Percentiles to print as Python `range()` arguments [start, stop, step] (default [0, 101, 25]). */
  readonly range?: readonly [number, number, number];
  /** Snapshots skipped at the start of each record (default 20). */
  readonly excludeSamples?: number;
  /** Least `nr_accesses` (samples) for a region to count in the working set (default 1). */
  readonly accThres?: number;
  /** Least region size (bytes) to count in the working set (default 1). */
  readonly szThres?: number;
  /** Time span (µs) of snapshots merged into one sample (default 1). */
  readonly workTime?: number;
  /** Sort the distribution by size (default) or keep time order. */
  readonly sortby?: 'size' | 'time';
  /** Width of the bars in columns; 0 prints none (default 59). */
  readonly nrColsBar?: number;
  /** Print sizes in bytes without units (default false). */
  readonly rawNumber?: boolean;
  /** Print every sample rather than the percentiles (default false). */
  readonly allWss?: boolean;
  /** Sum the targets into one distribution (default true). */
  readonly collapseTargets?: boolean;
}

function intersects(a: DamoRegion, b: DamoRegion): boolean {
  return !(a.end <= b.start || b.end <= a.start);
}

/** @kernel add_region (damo _damo_records.py) */
function addRegion(regions: DamoRegion[], region: DamoRegion, toAdd: Map<DamoRegion, number>): void {
  for (const r of regions) {
    if (intersects(r, region)) {
      toAdd.set(r, Math.max(toAdd.get(r) ?? 0, region.nrAccesses.samples ?? 0));
      const parts: DamoRegion[] = [];
      const mk = (s: number, e: number): DamoRegion => ({
        start: s,
        end: e,
        nrAccesses: { samples: region.nrAccesses.samples, percent: null },
        age: { usec: null, aggrIntervals: region.age.aggrIntervals },
        szFilterPassed: 0,
      });
      if (region.start < r.start) parts.push(mk(region.start, r.start));
      if (r.end < region.end) parts.push(mk(r.end, region.end));
      for (const p of parts) addRegion(regions, p, toAdd);
      return;
    }
  }
  regions.push(region);
}

/** @kernel aggregate_snapshots (damo _damo_records.py) */
function aggregateSnapshots(snapshots: DamoSnapshot[]): DamoSnapshot {
  const regions: DamoRegion[] = [];
  for (const snap of snapshots) {
    const toAdd = new Map<DamoRegion, number>();
    for (const r of snap.regions)
      addRegion(regions, { ...r, nrAccesses: { ...r.nrAccesses }, age: { ...r.age } }, toAdd);
    for (const [r, n] of toAdd) r.nrAccesses = { samples: (r.nrAccesses.samples ?? 0) + n, percent: null };
  }
  return {
    startTime: snapshots[0]!.startTime,
    endTime: snapshots[snapshots.length - 1]!.endTime,
    regions,
    totalBytes: regions.reduce((a, r) => a + r.end - r.start, 0),
  };
}

/** @kernel adjusted_snapshots (damo _damo_records.py) */
function adjustedSnapshots(snapshots: DamoSnapshot[], aggrUs: number): DamoSnapshot[] {
  const out: DamoSnapshot[] = [];
  let acc: DamoSnapshot[] = [];
  for (const s of snapshots) {
    acc.push(s);
    if (acc[acc.length - 1]!.endTime - acc[0]!.startTime >= aggrUs * 1000) {
      out.push(aggregateSnapshots(acc));
      acc = [];
    }
  }
  return out;
}

/** The wss distributions per target id. @kernel get_wss_dists (damo damo_wss.py) */
export function damoWssDists(records: readonly DamoRecord[], opts: DamoWssOptions = {}): Map<number, number[]> {
  const workTime = opts.workTime ?? 1;
  const skip = opts.excludeSamples ?? 20;
  const accThres = opts.accThres ?? 1;
  const szThres = opts.szThres ?? 1;
  const sort = (opts.sortby ?? 'size') !== 'time';
  const dists = new Map<number, number[]>();
  for (const rec of records) {
    const snaps = adjustedSnapshots(rec.snapshots.slice(skip), workTime);
    const dist: number[] = [];
    for (const s of snaps) {
      let wss = 0;
      for (const r of s.regions) {
        if ((r.nrAccesses.samples ?? 0) < accThres) continue;
        if (r.end - r.start < szThres) continue;
        wss += r.end - r.start;
      }
      dist.push(wss);
    }
    if (sort) dist.sort((a, b) => a - b);
    dists.set(rec.targetId, dist);
  }
  if (opts.collapseTargets ?? true) {
    const collapsed: number[] = [];
    for (const dist of dists.values()) {
      for (let i = 0; i < dist.length; i++) collapsed[i] = (collapsed[i] ?? 0) + dist[i]!;
    }
    return new Map([[0, collapsed]]);
  }
  return dists;
}

/** Text of working-set-size percentiles, one line each, with bars unless `raw`. @kernel fmt_dists (damo _damo_dist.py) */
export function damoFmtDists(
  metric: string,
  dists: readonly number[],
  percentiles: readonly number[],
  prAll: boolean,
  raw: boolean,
  nrColsBar: number,
): string {
  const lines = [`# <percentile> <${metric}>`];
  if (dists.length === 0) {
    lines.push('# no snapshot');
    return lines.join('\n');
  }
  lines.push(`# avr:\t${formatSz(dists.reduce((a, b) => a + b, 0) / dists.length, raw)}`);
  if (prAll) {
    for (let i = 0; i < dists.length; i++) lines.push(`${i} ${formatSz(dists[i]!, raw)}`);
    return lines.join('\n');
  }
  const idxOf = (p: number): number => {
    let idx = Math.trunc((p / 100.0) * dists.length);
    if (idx === dists.length) idx -= 1;
    return idx;
  };
  let valPerCol = 1;
  if (nrColsBar > 0) {
    let maxVal = 0;
    for (const p of percentiles) {
      const v = dists[idxOf(p)]!;
      if (maxVal <= v) maxVal = v;
    }
    valPerCol = maxVal > 0 ? maxVal / nrColsBar : 1;
  }
  for (const p of percentiles) {
    const v = dists[idxOf(p)]!;
    let line = `${String(p).padStart(3)} ${formatSz(v, raw).padStart(15)}`;
    if (nrColsBar > 0) {
      const cols = Math.trunc(v / valPerCol);
      line += ` |${'*'.repeat(cols)}${' '.repeat(nrColsBar - cols)}|`;
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** `damo report wss` text. @kernel main (damo damo_wss.py) */
export function damoReportWss(records: readonly DamoRecord[], opts: DamoWssOptions = {}): string {
  const [a, b, step] = opts.range ?? [0, 101, 25];
  const percentiles: number[] = [];
  for (let p = a; p < b; p += step) percentiles.push(p);
  const out: string[] = [];
  for (const [tid, dist] of damoWssDists(records, opts)) {
    out.push(`# target_id\t${tid}`);
    out.push(
      damoFmtDists('wss', dist, percentiles, opts.allWss ?? false, opts.rawNumber ?? false, opts.nrColsBar ?? 59),
    );
  }
  return out.join('\n');
}
