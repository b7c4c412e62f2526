/**
 * DOC: `damo report access` (`damo_report_access.py`): the `detailed`
 * style (a one-line snapshot heatmap, one line per region, the memory
 * bandwidth estimate and total size) and the `temperature-sz-hist` and
 * `recency-sz-hist` histograms, in the format shown in the seed's
 * auto-tuning evaluation (damo v2.6.x: eleven linear bins ending at the
 * current time, "[-0 ns, --N ns)" included).
 *
 * Templates and keywords follow damo's: record/snapshot heads and tails and
 * a region line, with `<keyword>` substitution and minimum widths.
 */
import { colored, DAMO_MAX_COLOR_LEVEL, stripAnsi } from './ascii-color.js';
import { formatNr, formatPercent, formatSz, formatTimeNs, formatTimeUs } from './fmt-str.js';
import { type DamoRecord, type DamoRegion, type DamoSnapshot, damoAddUnsetUnit, damoRegionSize } from './records.js';

/** Report styles. */
export type DamoAccessStyle = 'detailed' | 'temperature-sz-hist' | 'recency-sz-hist';

/** Options of {@link damoReportAccess} (damo's command line options). */
export interface DamoReportAccessOptions {
  readonly style?: DamoAccessStyle;
  /** [size, access rate, age] weights (default [0, 100, 100]). */
  readonly temperatureWeights?: readonly [number, number, number];
  readonly sortRegionsBy?: readonly ('address' | 'access_rate' | 'age' | 'size' | 'temperature')[];
  readonly sortRegionsDsc?: readonly string[];
  readonly rawNumber?: boolean;
  readonly snapshotHeatmapWidth?: number;
  readonly snapshotHeatmapColorset?: string;
  /** Keep the ANSI colour codes damo prints (default true). */
  readonly color?: boolean;
  readonly formatRecordHead?: string;
  readonly formatRecordTail?: string;
  readonly formatSnapshotHead?: string;
  readonly formatSnapshotTail?: string;
  readonly formatRegion?: string;
}

/** How {@link damoSnapshotHeatmap} draws: temperature weights, raw numbers, width in columns, colour set. */
export interface DamoSnapshotHeatmapFormat {
  readonly weights: readonly [number, number, number];
  readonly raw: boolean;
  readonly width: number;
  readonly colorset: string;
}

interface Fmt extends DamoSnapshotHeatmapFormat {
  minChars: [string, number][];
}

/** @kernel temperature_of (damo damo_report_access.py) */
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

/** @kernel heatmap_str (damo damo_report_access.py) */
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

function estimatedMemBw(snapshot: DamoSnapshot, rec: DamoRecord, raw: boolean): string {
  let bytes = 0;
  for (const r of snapshot.regions) bytes += damoRegionSize(r) * (r.nrAccesses.samples ?? 0);
  const bw = bytes / ((rec.intervals?.aggr ?? 1) / 1_000_000);
  return `${formatSz(bw, raw)} per second`;
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
  ];
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
    ['<heatmap>', (s) => damoSnapshotHeatmap(s, fmt)],
    ['<estimated memory bandwidth>', (s, r) => estimatedMemBw(s, r, fmt.raw)],
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
  ];
}

/** damo's default templates. */
export const DAMO_DEFAULT_RECORD_HEAD =
  'kdamond <kdamond index> / context <context index> / scheme <scheme index> / target id <target id> / recorded for <duration> from <abs start time>';
export const DAMO_DEFAULT_SNAPSHOT_HEAD = 'monitored time: [<start time>, <end time>] (<duration>)\n<heatmap>';
export const DAMO_DEFAULT_REGION = '<index> addr <start address> size <size> access <access rate> age <age>';
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

/**
 * `damo report access` over `records` (see the file header).
 * @kernel fmt_records (damo damo_report_access.py)
 */
export function damoReportAccess(records: readonly DamoRecord[], opts: DamoReportAccessOptions = {}): string {
  const style = opts.style ?? 'detailed';
  const fmt: Fmt = {
    weights: opts.temperatureWeights ?? [0, 100, 100],
    raw: opts.rawNumber ?? false,
    width: opts.snapshotHeatmapWidth ?? 80,
    colorset: opts.snapshotHeatmapColorset ?? 'gray',
    minChars: [
      ['<index>', 3],
      ['<start address>', 12],
      ['<end address>', 11],
      ['<size>', 11],
      ['<access rate>', 5],
    ],
  };
  let snapshotHead = opts.formatSnapshotHead;
  let region = opts.formatRegion ?? DAMO_DEFAULT_REGION;
  if (style === 'temperature-sz-hist') {
    snapshotHead = '<temperature> <total size>\n<temperature-sz histogram>';
    region = '';
  } else if (style === 'recency-sz-hist') {
    snapshotHead = '<last accessed time (us)> <total size>\n<recency-sz histogram>';
    region = '';
  }
  const recordHead = opts.formatRecordHead ?? (records.length > 1 ? DAMO_DEFAULT_RECORD_HEAD : '');
  if (snapshotHead === undefined) {
    snapshotHead = records.some((r) => r.snapshots.length > 1) ? DAMO_DEFAULT_SNAPSHOT_HEAD : 'heatmap: <heatmap>';
  }
  const snapshotTail = opts.formatSnapshotTail ?? DAMO_DEFAULT_SNAPSHOT_TAIL;
  const recordTail = opts.formatRecordTail ?? '';
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
      sortRegions(snap.regions, opts.sortRegionsBy ?? ['address'], opts.sortRegionsDsc, fmt.weights).forEach(
        (r, idx) => {
          out.push(formatTemplate(region, gf, fmt, [idx, r]));
        },
      );
      out.push(formatTemplate(snapshotTail, sf, fmt, [snap, rec]));
      if (sidx < rec.snapshots.length - 1) out.push('');
    });
    out.push(formatTemplate(recordTail, rf, fmt, [rec]));
  }
  const text = out.filter((o): o is string => o !== null).join('\n');
  return opts.color === false ? stripAnsi(text) : text;
}
