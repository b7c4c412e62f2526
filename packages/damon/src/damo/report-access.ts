/**
 * DOC: `damo report access` (`damo_report_access.py`): the `detailed`
 * style (a one-line snapshot heatmap, one line per region, the memory
 * bandwidth estimate and total size) and the `temperature-sz-hist` and
 * `recency-sz-hist` histograms, in the format shown in the evaluation of the
 * kernel series "mm/damon: auto-tune aggregation interval" (v6.15) (damo v2.6.x: eleven linear bins ending at the
 * current time, "[-0 ns, --N ns)" included); and the styles damo added
 * after that, as the damo version with all of them (v2.8+) prints them:
 * `simple-boxes` and the temperature-sorted `cold` and `hot` (a box per
 * region whose length, colour and height show age, access rate and size),
 * and `recency-percentiles` / `temperature-percentiles` (per-byte idle time
 * or temperature at the 0/1/25/50/75/99/100th percentiles, or
 * `percentilesRange`). Those styles also take that damo version's minimum
 * widths (`<age>` 13 columns), its record tail (`monitoring intervals:`) and
 * its aggregation time inferred from the snapshot for the bandwidth
 * estimate.
 *
 * Templates and keywords follow damo's: record/snapshot heads and tails and
 * a region line, with `<keyword>` substitution and minimum widths.
 */
import { colored, DAMO_MAX_COLOR_LEVEL, stripAnsi } from './ascii-color.js';
import { formatBp, formatNr, formatPercent, formatSz, formatTimeNs, formatTimeUs, pyD } from './fmt-str.js';
import { type DamoRecord, type DamoRegion, type DamoSnapshot, damoAddUnsetUnit, damoRegionSize } from './records.js';

/** Report styles. */
export type DamoAccessStyle =
  | 'detailed'
  | 'simple-boxes'
  | 'temperature-sz-hist'
  | 'recency-sz-hist'
  | 'recency-percentiles'
  | 'temperature-percentiles'
  | 'cold'
  | 'hot';

/** What a region box's length, colour or height shows. */
export type DamoRegionBoxValue = 'size' | 'access_rate' | 'age' | 'none';

/** Options of {@link damoReportAccess} (damo's command line options). */
export interface DamoReportAccessOptions {
  /** Report style (default `detailed`). */
  readonly style?: DamoAccessStyle;
  /** [size, access rate, age] weights (default [0, 100, 100]). */
  readonly temperatureWeights?: readonly [number, number, number];
  /** Keys regions are sorted by (default `address`). */
  readonly sortRegionsBy?: readonly ('address' | 'access_rate' | 'age' | 'size' | 'temperature')[];
  /** Keys of `sortRegionsBy` to sort in descending order. */
  readonly sortRegionsDsc?: readonly string[];
  /** Print numbers without units (default false). */
  readonly rawNumber?: boolean;
  /** Width of the `<heatmap>` keyword's map in columns (default 80). */
  readonly snapshotHeatmapWidth?: number;
  /** Colour set of the `<heatmap>` keyword's map (default `gray`). */
  readonly snapshotHeatmapColorset?: string;
  /** Keep the ANSI colour codes damo prints (default true). */
  readonly color?: boolean;
  /** Template printed before each record. */
  readonly formatRecordHead?: string;
  /** Template printed after each record (default empty). */
  readonly formatRecordTail?: string;
  /** Template printed before each snapshot. */
  readonly formatSnapshotHead?: string;
  /** Template printed after each snapshot. */
  readonly formatSnapshotTail?: string;
  /** Template printed for each region. */
  readonly formatRegion?: string;
  /** Percentiles the `*-percentiles` styles show: ≤ 3 numbers are Python `range()` arguments, more are the list. */
  readonly percentilesRange?: readonly number[];
  /** What the `<box>` keyword's length, colour and height show (default age, access rate, size). */
  readonly regionBoxValues?: readonly [DamoRegionBoxValue, DamoRegionBoxValue, DamoRegionBoxValue];
  /** Box length range in columns (default [1, 30]). */
  readonly regionBoxMinMaxLength?: readonly [number, number];
  /** Box height range in rows (default [1, 5]). */
  readonly regionBoxMinMaxHeight?: readonly [number, number];
  /** Colour set of region boxes (default `gray`). */
  readonly regionBoxColorset?: string;
  /** Scales of length, colour and height (default log, linear, log). */
  readonly regionBoxScales?: readonly ['linear' | 'log', 'linear' | 'log', 'linear' | 'log'];
  /** Where boxes align (default `left`). */
  readonly regionBoxAlign?: 'left' | 'right';
}

/** How {@link damoSnapshotHeatmap} draws: temperature weights, raw numbers, width in columns, colour set. */
export interface DamoSnapshotHeatmapFormat {
  /** [size, access rate, age] temperature weights. */
  readonly weights: readonly [number, number, number];
  /** Print numbers without units. */
  readonly raw: boolean;
  /** Width in columns. */
  readonly width: number;
  /** Colour set name. */
  readonly colorset: string;
}

interface Fmt extends DamoSnapshotHeatmapFormat {
  minChars: [string, number][];
  /** The bandwidth estimate's aggregation time inferred from the snapshot (damo ≥ 2.7). */
  inferAggr: boolean;
  percentiles: number[];
  box: RegionBoxFormat;
}

/** Weighted score of a region's size, access rate and age; negative when the region saw no access, so longer-idle regions rank colder. @kernel temperature_of (damo damo_report_access.py) */
export function damoTemperatureOf(r: DamoRegion, weights: readonly [number, number, number]): number {
  const percent = r.nrAccesses.percent ?? 0;
  const score = damoRegionSize(r) * weights[0] + percent * weights[1] + (r.age.usec ?? 0) * weights[2];
  return percent > 0 ? score : -1 * score;
}

/** Python's math.ceil on a float quotient. */
function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

interface HistRow {
  range: string;
  sz: string;
  bytes: number;
}

function histLines(rows: HistRow[]): string {
  let minSz = Number.POSITIVE_INFINITY;
  let maxSz = Number.NEGATIVE_INFINITY;
  let maxRange = 0;
  let maxSzStr = 0;
  for (const r of rows) {
    minSz = Math.min(minSz, r.bytes);
    maxSz = Math.max(maxSz, r.bytes);
    maxRange = Math.max(maxRange, r.range.length);
    maxSzStr = Math.max(maxSzStr, r.sz.length);
  }
  const maxDots = 20;
  const szInterval = Math.max(Math.trunc((maxSz - minSz) / maxDots), 1);
  return rows
    .map((r) => {
      const dots = Math.min(Math.ceil((r.bytes - minSz) / szInterval), maxDots);
      return `${r.range.padEnd(maxRange)} ${r.sz.padEnd(maxSzStr)} |${'*'.repeat(dots)}${' '.repeat(maxDots - dots)}|`;
    })
    .join('\n');
}

function metricHist(
  snapshot: DamoSnapshot,
  metric: (r: DamoRegion) => number,
  fmtRange: (lo: number, hi: number) => string,
  raw: boolean,
): string {
  if (snapshot.regions.length === 0) return 'no region in snapshot';
  const hist = new Map<number, number>();
  for (const r of snapshot.regions) {
    const m = metric(r);
    hist.set(m, (hist.get(m) ?? 0) + damoRegionSize(r));
  }
  const keys = [...hist.keys()].sort((a, b) => a - b);
  const minM = keys[0]!;
  let maxM = keys[keys.length - 1]!;
  const interval = Math.max(Math.trunc((maxM - minM) / 10), 1);
  maxM = interval * ceilDiv(maxM, interval) + 1;
  const rows: HistRow[] = [];
  for (let t = minM; t < maxM; t += interval) {
    let sz = 0;
    for (const k of keys) if (k >= t && k < t + interval) sz += hist.get(k)!;
    rows.push({ range: fmtRange(t, t + interval), sz: formatSz(sz, raw), bytes: sz });
  }
  return histLines(rows);
}

/** @kernel temperature_sz_hist_str (damo damo_report_access.py) */
function temperatureSzHist(snapshot: DamoSnapshot, fmt: Fmt): string {
  // damo v2.6 computes a zero-size-weight list here but passes the full weights on.
  return metricHist(
    snapshot,
    (r) => damoTemperatureOf(r, fmt.weights),
    (lo, hi) => `[${formatNr(lo, fmt.raw)}, ${formatNr(hi, fmt.raw)})`,
    fmt.raw,
  );
}

/** @kernel recency_hist_str (damo damo_report_access.py) */
function recencyHist(snapshot: DamoSnapshot, fmt: Fmt): string {
  return metricHist(
    snapshot,
    (r) => ((r.nrAccesses.percent ?? 0) > 0 ? 0 : -1 * (r.age.usec ?? 0)),
    (lo, hi) => `[-${formatTimeUs(-1 * lo, fmt.raw)}, -${formatTimeUs(-1 * hi, fmt.raw)})`,
    fmt.raw,
  );
}

interface Pixel {
  start: number;
  end: number;
  totalHeat: number;
  temperature: number;
  isVoid: boolean;
}

function heatPixel(
  start: number,
  end: number,
  regions: readonly DamoRegion[],
  w: readonly [number, number, number],
): Pixel {
  const p: Pixel = { start, end, totalHeat: 0, temperature: 0, isVoid: true };
  for (const r of regions) {
    if (r.end <= start) continue;
    if (end <= r.start) break;
    p.isVoid = false;
    const s = Math.max(r.start, start);
    const e = Math.min(r.end, end);
    const clipped: DamoRegion = { ...r, start: s, end: e };
    p.totalHeat += damoTemperatureOf(clipped, w) * (e - s);
  }
  p.temperature = p.totalHeat / (end - start);
  return p;
}

/** A line of `fmt.width` cells over the regions' address span, each showing its temperature. @kernel heatmap_str (damo damo_report_access.py) */
export function damoSnapshotHeatmap(snapshot: DamoSnapshot, fmt: DamoSnapshotHeatmapFormat): string {
  const regions = snapshot.regions;
  if (regions.length === 0) return 'n/a (no region)';
  let total = 0;
  for (const r of regions) total += damoRegionSize(r);
  const szUnit = total / fmt.width;
  let start = regions[0]!.start;
  const last = regions[regions.length - 1]!.end;
  const pixels: Pixel[] = [];
  let minT: number | null = null;
  let maxT: number | null = null;
  while (start < last) {
    const end = start + szUnit;
    const p = heatPixel(start, end, regions, fmt.weights);
    pixels.push(p);
    if (p.isVoid) {
      const next = regions.find((r) => r.start > end);
      if (next === undefined) break;
      start = Math.floor(next.start / szUnit) * szUnit;
      p.end = start;
    } else {
      if (minT === null || p.temperature < minT) minT = p.temperature;
      if (maxT === null || p.temperature > maxT) maxT = p.temperature;
      start = end;
    }
  }
  const mn = minT ?? 0;
  const mx = maxT ?? 0;
  let unit = (mx - mn) / DAMO_MAX_COLOR_LEVEL;
  if (unit === 0) unit = mx / DAMO_MAX_COLOR_LEVEL;
  if (unit === 0) unit = 1;
  let dots = '';
  for (const p of pixels) {
    if (p.isVoid) {
      const nr = (p.end - p.start) / szUnit;
      dots += nr > 4 ? '[...]' : '.'.repeat(Math.trunc(nr));
      continue;
    }
    const level = Math.trunc((p.temperature - mn) / unit);
    dots += colored(`${level}`, fmt.colorset, level);
  }
  return `${dots}\n# min/max temperatures: ${formatNr(mn, fmt.raw)}, ${formatNr(mx, fmt.raw)}, column size: ${formatSz(szUnit, fmt.raw)}`;
}

/**
 * The aggregation time of a snapshot: the record's, unless the snapshot's
 * own duration is off by 10 % or more.
 * @kernel infer_aggr_time_us (damo damo_report_access.py)
 */
function inferAggrTimeUs(snapshot: DamoSnapshot, rec: DamoRecord): number {
  const snapshotAggrUs = (snapshot.endTime - snapshot.startTime) / 1000;
  const recordAggrUs = rec.intervals?.aggr ?? 1;
  if (Math.abs(snapshotAggrUs - recordAggrUs) / recordAggrUs < 0.1) return recordAggrUs;
  return snapshotAggrUs;
}

/** @kernel estimated_mem_bw (damo damo_report_access.py) */
function estimatedMemBw(snapshot: DamoSnapshot, rec: DamoRecord, fmt: Fmt): string {
  let bytes = 0;
  for (const r of snapshot.regions) bytes += damoRegionSize(r) * (r.nrAccesses.samples ?? 0);
  const aggrUs = fmt.inferAggr ? inferAggrTimeUs(snapshot, rec) : (rec.intervals?.aggr ?? 1);
  const bw = bytes / (aggrUs / 1_000_000);
  return `${formatSz(bw, fmt.raw)} per second`;
}

/** Idle time of a region: 0 when accessed, else its age plus one aggregation. @kernel get_idle_time (damo damo_report_access.py) */
function idleTime(r: DamoRegion, aggrUs: number): number {
  return (r.nrAccesses.percent ?? 0) > 0 ? 0 : (r.age.usec ?? 0) + aggrUs;
}

/** @kernel get_percentiles_to_show (damo damo_report_access.py) */
function percentilesToShow(range: readonly number[] | undefined): number[] {
  if (range === undefined) return [0, 1, 25, 50, 75, 99, 100];
  if (range.length > 3) return [...range].sort((a, b) => a - b);
  // Python's range(stop) / range(start, stop) / range(start, stop, step)
  const [a, b, c] = range;
  const start = range.length === 1 ? 0 : a!;
  const stop = range.length === 1 ? a! : b!;
  const step = range.length === 3 ? c! : 1;
  const out: number[] = [];
  if (step > 0) for (let v = start; v < stop; v += step) out.push(v);
  else if (step < 0) for (let v = start; v > stop; v += step) out.push(v);
  return out;
}

/**
 * Per-byte percentiles of the idle time (`recency`) or temperature (with
 * no size weight) of a snapshot, and their table with a 20-column bar.
 * @kernel percentiles_str (damo damo_report_access.py)
 * @kernel get_percentile_values (damo damo_report_access.py)
 * @kernel fmt_percentile_str (damo damo_report_access.py)
 */
function percentilesStr(snapshot: DamoSnapshot, rec: DamoRecord, fmt: Fmt, kind: 'recency' | 'temperature'): string {
  if (snapshot.regions.length === 0) return 'no region in snapshot';
  const aggrUs = inferAggrTimeUs(snapshot, rec);
  const w: [number, number, number] = [0, fmt.weights[1], fmt.weights[2]];
  const metric =
    kind === 'recency' ? (r: DamoRegion) => idleTime(r, aggrUs) : (r: DamoRegion) => damoTemperatureOf(r, w);
  const regions = [...snapshot.regions].sort((a, b) => metric(a) - metric(b));
  let total = 0;
  for (const r of regions) total += damoRegionSize(r);
  const values: [number, number][] = [];
  let show = [...fmt.percentiles];
  let percentile = 0;
  let last = regions[0]!;
  for (const r of regions) {
    last = r;
    percentile += (damoRegionSize(r) * 100) / total;
    while (show.length > 0) {
      if (percentile < show[0]!) break;
      values.push([show[0]!, metric(r)]);
      show = show.slice(1);
    }
    if (percentile >= 100.0) break;
  }
  if (show.includes(100)) values.push([100, metric(last)]);
  const legend =
    kind === 'recency'
      ? fmt.raw
        ? '<idle time (us)>'
        : '<idle time>'
      : `<temperature (weights: [${fmt.weights.join(', ')}])>`;
  const lines = [`<percentile> ${legend}`];
  const fmtV = kind === 'recency' ? formatTimeUs : formatNr;
  const pTxts = values.map(([p]) => pyD(p));
  const vTxts = values.map(([, v]) => fmtV(v, fmt.raw));
  const maxP = Math.max(...pTxts.map((t) => t.length));
  const maxV = Math.max(...vTxts.map((t) => t.length));
  const minVal = values[0]![1];
  const maxVal = values[values.length - 1]![1];
  const maxDots = 20;
  const valPerDot = maxVal !== minVal ? (maxVal - minVal) / maxDots : 1;
  values.forEach(([, v], i) => {
    const bar = Math.trunc((v - minVal) / valPerDot);
    lines.push(
      `${' '.repeat(maxP - pTxts[i]!.length)}${pTxts[i]}  ${' '.repeat(maxV - vTxts[i]!.length)}${vTxts[i]}  |${'*'.repeat(bar)}${' '.repeat(Math.max(0, maxDots - bar))}|`,
    );
  });
  return lines.join('\n');
}

/**
 * Map `val` from `[orig]` to `[next]`, on a log2 scale (as Python's
 * math.log(x, 2)) when `logscale`.
 * @kernel rescale (damo damo_report_access.py)
 */
function rescale(
  val: number,
  orig: readonly [number, number],
  next: readonly [number, number],
  logscale: boolean,
): number {
  let v = val;
  let o: readonly [number, number] = orig;
  if (logscale) {
    const log2 = (x: number): number => (x > 0 ? Math.log(x) / Math.log(2) : 0);
    v = log2(val);
    o = [log2(orig[0]), log2(orig[1])];
  }
  const origLength = o[1] - o[0];
  const newLength = next[1] - next[0];
  const ratio = origLength > 0 ? newLength / origLength : 1;
  return (v - o[0]) * ratio + next[0];
}

interface BoxAttr {
  valueName: DamoRegionBoxValue;
  displayMinMax: readonly [number, number];
  logscale: boolean;
}

/** @kernel RegionBoxFormat (damo damo_report_access.py) */
interface RegionBoxFormat {
  length: BoxAttr;
  color: BoxAttr;
  height: BoxAttr;
  colorset: string;
  align: 'left' | 'right';
  /** min/max of size, access rate and age over every region of every record (SortedAccessPatterns). */
  minmax: Record<'size' | 'access_rate' | 'age', [number, number]>;
}

function boxVal(r: DamoRegion, name: DamoRegionBoxValue): number | null {
  if (name === 'size') return damoRegionSize(r);
  if (name === 'access_rate') return r.nrAccesses.percent ?? 0;
  if (name === 'age') return r.age.usec ?? 0;
  return null;
}

/**
 * A region's box: `|` + the colour level digit repeated `length` times +
 * `|`, right-aligned to the maximum length when asked, `height` rows.
 * @kernel ColoredBox (damo damo_report_access.py)
 * @kernel RegionBoxFormat.to_str (damo damo_report_access.py)
 */
function regionBoxStr(b: RegionBoxFormat, r: DamoRegion): string {
  const display = (a: BoxAttr, v: number): number =>
    rescale(v, a.valueName === 'none' ? [0, 0] : b.minmax[a.valueName], a.displayMinMax, a.logscale);
  const lengthVal = boxVal(r, b.length.valueName) ?? 0;
  const length = Math.trunc(display(b.length, lengthVal));
  const heightVal = boxVal(r, b.height.valueName);
  const height = heightVal === null ? 1 : Math.trunc(display(b.height, heightVal));
  const colorVal = boxVal(r, b.color.valueName);
  let row: string;
  if (colorVal === null) {
    row = '-'.repeat(Math.max(0, length));
  } else {
    const level = Math.trunc(rescale(colorVal, b.minmax[b.color.valueName as 'size'], [0, 9], b.color.logscale));
    row = colored(`${level}`.repeat(Math.max(0, length)), b.colorset, level);
  }
  row = `|${row}|`;
  if (b.align === 'right') row = ' '.repeat(Math.max(0, b.length.displayMinMax[1] - length)) + row;
  let box = new Array(Math.max(0, height)).fill(row).join('\n');
  if (b.height.displayMinMax[1] > 1) box += '\n';
  return box;
}

type Formatter<A extends unknown[]> = [string, (...a: A) => string];

function applyMinChars(minChars: [string, number][], keyword: string, txt: string): string {
  for (const [name, nr] of minChars) if (name === keyword) return txt.length >= nr ? txt : txt.padEnd(nr);
  return txt;
}

function formatTemplate<A extends unknown[]>(
  template: string,
  formatters: Formatter<A>[],
  fmt: Fmt,
  args: A,
): string | null {
  if (template === '') return null;
  let out = template;
  for (const [kw, fn] of formatters) {
    if (!out.includes(kw)) continue;
    const txt = applyMinChars(fmt.minChars, kw, fn(...args));
    out = out.split(kw).join(txt);
  }
  return out.replaceAll('\\n', '\n');
}

function recordFormatters(fmt: Fmt): Formatter<[DamoRecord]>[] {
  return [
    ['<kdamond index>', (r) => `${r.kdamondIdx}`],
    ['<context index>', (r) => `${r.contextIdx}`],
    ['<scheme index>', (r) => `${r.schemeIdx === null ? 'None' : r.schemeIdx}`],
    ['<target id>', (r) => `${r.targetId}`],
    ['<abs start time>', (r) => formatTimeNs(r.snapshots[0]?.startTime ?? 0, fmt.raw)],
    ['<duration>', (r) => formatTimeNs((r.snapshots.at(-1)?.endTime ?? 0) - (r.snapshots[0]?.startTime ?? 0), fmt.raw)],
    [
      '<intervals>',
      (r) =>
        `sample ${formatTimeUs(r.intervals?.sample ?? 0, fmt.raw)}, aggr ${formatTimeUs(r.intervals?.aggr ?? 0, fmt.raw)}`,
    ],
    ['<intervals goal>', (r) => intervalsGoalStr(r, fmt.raw)],
  ];
}

/** @kernel DamonIntervalsGoal.to_str (damo _damon.py) */
function intervalsGoalStr(r: DamoRecord, raw: boolean): string {
  const g = r.intervals?.intervalsGoal;
  if (g === undefined) return '';
  return `target ${formatBp(g.accessBp, raw)} accesses per ${formatNr(g.aggrs, raw)} aggrs, [${formatTimeUs(g.minSampleUs, raw)}, ${formatTimeUs(g.maxSampleUs, raw)}] sampling interval`;
}

function snapshotFormatters(fmt: Fmt): Formatter<[DamoSnapshot, DamoRecord]>[] {
  return [
    ['<total bytes>', (s) => formatSz(s.totalBytes, fmt.raw)],
    ['<duration>', (s) => formatTimeNs(s.endTime - s.startTime, fmt.raw)],
    ['<start time>', (s, r) => formatTimeNs(s.startTime - r.snapshots[0]!.startTime, fmt.raw)],
    ['<end time>', (s, r) => formatTimeNs(s.endTime - r.snapshots[0]!.startTime, fmt.raw)],
    ['<abs start time>', (s) => formatTimeNs(s.startTime, fmt.raw)],
    ['<abs end time>', (s) => formatTimeNs(s.endTime, fmt.raw)],
    ['<number of regions>', (s) => formatNr(s.regions.length, fmt.raw)],
    ['<temperature-sz histogram>', (s) => temperatureSzHist(s, fmt)],
    ['<recency-sz histogram>', (s) => recencyHist(s, fmt)],
    ['<recency percentiles>', (s, r) => percentilesStr(s, r, fmt, 'recency')],
    ['<temperature percentiles>', (s, r) => percentilesStr(s, r, fmt, 'temperature')],
    ['<heatmap>', (s) => damoSnapshotHeatmap(s, fmt)],
    ['<estimated memory bandwidth>', (s, r) => estimatedMemBw(s, r, fmt)],
  ];
}

function regionFormatters(fmt: Fmt): Formatter<[number, DamoRegion]>[] {
  return [
    ['<index>', (i) => formatNr(i, fmt.raw)],
    ['<start address>', (_i, r) => formatSz(r.start, fmt.raw)],
    ['<end address>', (_i, r) => formatSz(r.end, fmt.raw)],
    ['<size>', (_i, r) => formatSz(damoRegionSize(r), fmt.raw)],
    ['<access rate>', (_i, r) => formatPercent(r.nrAccesses.percent ?? 0, fmt.raw)],
    ['<age>', (_i, r) => formatTimeUs(r.age.usec ?? 0, fmt.raw)],
    ['<temperature>', (_i, r) => formatNr(damoTemperatureOf(r, fmt.weights), fmt.raw)],
    ['<box>', (_i, r) => regionBoxStr(fmt.box, r)],
  ];
}

/** damo's default templates. */
export const DAMO_DEFAULT_RECORD_HEAD =
  'kdamond <kdamond index> / context <context index> / scheme <scheme index> / target id <target id> / recorded for <duration> from <abs start time>';
/** damo's default snapshot head template. */
export const DAMO_DEFAULT_SNAPSHOT_HEAD = 'monitored time: [<start time>, <end time>] (<duration>)\n<heatmap>';
/** damo's default region line template. */
export const DAMO_DEFAULT_REGION = '<index> addr <start address> size <size> access <access rate> age <age>';
/** damo's default snapshot tail template. */
export const DAMO_DEFAULT_SNAPSHOT_TAIL = 'memory bw estimate: <estimated memory bandwidth>\ntotal size: <total bytes>';

function sortRegions(
  regions: DamoRegion[],
  fields: readonly string[],
  dsc: readonly string[] | undefined,
  w: readonly [number, number, number],
): DamoRegion[] {
  let out = regions;
  for (const f of fields) {
    const desc = dsc !== undefined && (dsc.includes('all') || dsc.includes(f));
    const key = (r: DamoRegion): number =>
      f === 'address'
        ? r.start
        : f === 'access_rate'
          ? (r.nrAccesses.percent ?? 0)
          : f === 'age'
            ? (r.age.usec ?? 0)
            : f === 'size'
              ? damoRegionSize(r)
              : damoTemperatureOf(r, w);
    out = [...out].sort((a, b) => (desc ? key(b) - key(a) : key(a) - key(b)));
  }
  return out;
}

/** The styles damo added after v2.6 (printed as the damo version that has them all does). */
const LATER_STYLES: ReadonlySet<DamoAccessStyle> = new Set([
  'simple-boxes',
  'recency-percentiles',
  'temperature-percentiles',
  'cold',
  'hot',
]);

/** SortedAccessPatterns' min/max of each box value over every region of every record. */
function boxMinMax(records: readonly DamoRecord[]): RegionBoxFormat['minmax'] {
  const mm: RegionBoxFormat['minmax'] = {
    size: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    access_rate: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    age: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
  };
  const add = (k: 'size' | 'access_rate' | 'age', v: number): void => {
    const m = mm[k];
    if (v < m[0]) m[0] = v;
    if (v > m[1]) m[1] = v;
  };
  for (const rec of records) {
    for (const snap of rec.snapshots) {
      for (const r of snap.regions) {
        if (rec.intervals !== null) damoAddUnsetUnit(r, rec.intervals);
        add('size', damoRegionSize(r));
        add('access_rate', r.nrAccesses.percent ?? 0);
        add('age', r.age.usec ?? 0);
      }
    }
  }
  return mm;
}

/**
 * `damo report access` over `records` (see the file header).
 * @kernel fmt_records (damo damo_report_access.py)
 * @kernel set_formats (damo damo_report_access.py)
 */
export function damoReportAccess(records: readonly DamoRecord[], opts: DamoReportAccessOptions = {}): string {
  const style = opts.style ?? 'detailed';
  const later = LATER_STYLES.has(style);
  const minChars: [string, number][] = [
    ['<index>', 3],
    ['<start address>', 12],
    ['<end address>', 11],
    ['<size>', 11],
    ['<access rate>', 5],
  ];
  if (later) minChars.push(['<age>', 13], ['<filters passed type>', 10]);
  const values = opts.regionBoxValues ?? ['age', 'access_rate', 'size'];
  const scales = opts.regionBoxScales ?? ['log', 'linear', 'log'];
  let boxLength = opts.regionBoxMinMaxLength ?? [1, 30];
  let boxHeight = opts.regionBoxMinMaxHeight ?? [1, 5];
  let boxAlign = opts.regionBoxAlign ?? 'left';
  let boxColorset = opts.regionBoxColorset ?? 'gray';
  let sortBy = opts.sortRegionsBy ?? ['address'];
  let sortDsc = opts.sortRegionsDsc;
  let snapshotHead = opts.formatSnapshotHead;
  let region = opts.formatRegion ?? DAMO_DEFAULT_REGION;
  const multiSnapshots = records.some((r) => r.snapshots.length > 1);
  const boxStyle = (): void => {
    boxHeight = [1, 1];
    boxLength = [1, 40];
    boxAlign = 'right';
    boxColorset = 'emotion';
  };
  if (style === 'temperature-sz-hist') {
    snapshotHead = '<temperature> <total size>\n<temperature-sz histogram>';
    region = '';
  } else if (style === 'recency-sz-hist') {
    snapshotHead = '<last accessed time (us)> <total size>\n<recency-sz histogram>';
    region = '';
  } else if (style === 'simple-boxes') {
    snapshotHead = 'snapshot time: [<start time>, <end time>] (<duration>)';
    region = '<box> size <size> access rate <access rate> age <age>';
    boxStyle();
  } else if (style === 'recency-percentiles' || style === 'temperature-percentiles') {
    const kind = style === 'recency-percentiles' ? 'recency' : 'temperature';
    const head = multiSnapshots ? ['snapshot time: [<start time>, <end time>] (<duration>)'] : [];
    head.push(`# total ${kind} percentiles`, `<${kind} percentiles>`);
    snapshotHead = head.join('\n');
    region = '';
  } else if (style === 'cold' || style === 'hot') {
    region = '<box> <size> access <access rate> <age>';
    boxStyle();
    sortBy = ['temperature'];
    if (style === 'hot') sortDsc = ['temperature'];
  }
  const fmt: Fmt = {
    weights: opts.temperatureWeights ?? [0, 100, 100],
    raw: opts.rawNumber ?? false,
    width: opts.snapshotHeatmapWidth ?? 80,
    colorset: opts.snapshotHeatmapColorset ?? 'gray',
    minChars,
    inferAggr: later,
    percentiles: percentilesToShow(opts.percentilesRange),
    box: {
      length: { valueName: values[0], displayMinMax: boxLength, logscale: scales[0] === 'log' },
      color: { valueName: values[1], displayMinMax: [0, 9], logscale: scales[1] === 'log' },
      height: { valueName: values[2], displayMinMax: boxHeight, logscale: scales[2] === 'log' },
      colorset: boxColorset,
      align: boxAlign,
      minmax: boxMinMax(records),
    },
  };
  const recordHead = opts.formatRecordHead ?? (records.length > 1 ? DAMO_DEFAULT_RECORD_HEAD : '');
  if (snapshotHead === undefined) {
    if (later) {
      snapshotHead = multiSnapshots
        ? 'snapshot time: [<start time>, <end time>] (<duration>)\n<heatmap>'
        : 'heatmap: <heatmap>';
    } else {
      snapshotHead = multiSnapshots ? DAMO_DEFAULT_SNAPSHOT_HEAD : 'heatmap: <heatmap>';
    }
  }
  const snapshotTail = opts.formatSnapshotTail ?? DAMO_DEFAULT_SNAPSHOT_TAIL;
  let recordTail = opts.formatRecordTail ?? '';
  if (later && opts.formatRecordTail === undefined) {
    recordTail = 'monitoring intervals: <intervals>';
    if (records.some((r) => (r.intervals?.intervalsGoal.aggrs ?? 0) !== 0)) recordTail += '\n# <intervals goal>';
  }
  const rf = recordFormatters(fmt);
  const sf = snapshotFormatters(fmt);
  const gf = regionFormatters(fmt);
  const out: (string | null)[] = [];
  for (const rec of records) {
    if (rec.intervals === null) throw new Error('damo: some records lack the intervals information');
    out.push(formatTemplate(recordHead, rf, fmt, [rec]));
    rec.snapshots.forEach((snap, sidx) => {
      for (const r of snap.regions) damoAddUnsetUnit(r, rec.intervals!);
      out.push(formatTemplate(snapshotHead!, sf, fmt, [snap, rec]));
      sortRegions(snap.regions, sortBy, sortDsc, fmt.weights).forEach((r, idx) => {
        out.push(formatTemplate(region, gf, fmt, [idx, r]));
      });
      out.push(formatTemplate(snapshotTail, sf, fmt, [snap, rec]));
      if (sidx < rec.snapshots.length - 1) out.push('');
    });
    out.push(formatTemplate(recordTail, rf, fmt, [rec]));
  }
  const text = out.filter((o): o is string => o !== null).join('\n');
  return opts.color === false ? stripAnsi(text) : text;
}
