/**
 * DOC: `damo report heatmap` (`damo_report_heatmap.py` with the guide of
 * `damo_record_info.py`): a time × address grid of access heat.
 *
 * Defaults as damo's: the record of the first guide (largest total space);
 * time from the oldest observed moment (first snapshot start − longest age ×
 * aggr) to the last snapshot end; the hottest contiguous address span
 * (gaps are address ranges missing from every snapshot; heat per byte =
 * Σ size × samples / span); 40 × 80 for the terminal, 500 × 500 for
 * images. Each region of each snapshot paints from (start − age × aggr,
 * not before the previous snapshot's end) to the snapshot end, adding
 * samples × overlapping time × overlapping bytes / (time unit × address
 * unit) to every pixel it touches; untouched pixels stay empty.
 *
 * Outputs: the ASCII map with damo's colours and footer, the raw
 * `time<TAB>addr<TAB>heat` lines, and images: PNG (this package's encoder)
 * and SVG, with time on the x axis and addresses on the y axis as damo's
 * gnuplot plot has them.
 */
import { encodePng } from '../image/png.js';
import { colorModeEndTxt, colorModeStartTxt, colorSamples, DAMO_MAX_COLOR_LEVEL, stripAnsi } from './ascii-color.js';
import { formatSz, formatTimeNs } from './fmt-str.js';
import type { DamoRecord } from './records.js';

/** An address range where snapshots had regions, with the heat summed over them. @kernel GuideRegion (damo damo_record_info.py) */
export interface DamoGuideRegion {
  /** First address of the contiguous region. */
  readonly startAddr: number;
  /** End address (exclusive). */
  readonly endAddr: number;
  /** Σ size × nr_accesses over the snapshots, or null before it is computed. */
  heats: number | null;
}

/** Where a record's accesses lie in time and address, to pick the heatmap's default ranges. @kernel GuideInfo (damo damo_record_info.py) */
export interface DamoGuide {
  /** Index of the kdamond, or null. */
  readonly kdamondIdx: number | null;
  /** Index of the context, or null. */
  readonly contextIdx: number | null;
  /** Index of the scheme, or null. */
  readonly schemeIdx: number | null;
  /** Target id. */
  readonly tid: number;
  /** Start of the first snapshot (ns). */
  readonly startTime: number;
  /** End of the last snapshot (ns). */
  endTime: number;
  /** Lowest address seen, or null. */
  lowestAddr: number | null;
  /** Highest address seen, or null. */
  highestAddr: number | null;
  /** Unmonitored address ranges between the regions. */
  gaps: [number, number][];
  /** The address ranges monitored without gaps. */
  contigRegions: DamoGuideRegion[];
}

function heatPerByte(g: DamoGuideRegion): number {
  return g.heats === null ? 0 : g.heats / (g.endAddr - g.startAddr);
}

function guideRegions(g: DamoGuide): [number, number][] {
  const out: [number, number][] = [];
  let region: number[] = [g.lowestAddr ?? 0];
  for (const gap of g.gaps) {
    region.push(gap[0]);
    out.push(region as [number, number]);
    region = [gap[1]];
  }
  region.push(g.highestAddr ?? 0);
  out.push(region as [number, number]);
  return out;
}

function overlapping(r1s: [number, number][], r2s: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (let r1 of r1s) {
    for (const r2 of r2s) {
      if (!(r1[1] < r2[0] || r2[1] < r1[0])) r1 = [Math.max(r1[0], r2[0]), Math.min(r1[1], r2[1])];
    }
    out.push(r1);
  }
  return out;
}

/**
 * The guide information of the records: per target, the time span, the
 * address gaps common to every snapshot and the contiguous spans between
 * them with their heat.
 * @kernel get_guide_info (damo damo_record_info.py)
 */
export function damoGuideInfo(records: readonly DamoRecord[]): DamoGuide[] {
  const guides = new Map<number, DamoGuide>();
  for (const rec of records) {
    const tid = rec.targetId;
    for (const snap of rec.snapshots) {
      let g = guides.get(tid);
      if (g === undefined) {
        let longest = 0;
        for (const r of snap.regions) longest = Math.max(longest, r.age.aggrIntervals ?? 0);
        const start = rec.intervals === null ? snap.startTime : snap.startTime - longest * rec.intervals.aggr * 1000;
        g = {
          kdamondIdx: rec.kdamondIdx,
          contextIdx: rec.contextIdx,
          schemeIdx: rec.schemeIdx,
          tid,
          startTime: start,
          endTime: 0,
          lowestAddr: null,
          highestAddr: null,
          gaps: [],
          contigRegions: [],
        };
        guides.set(tid, g);
      }
      g.endTime = snap.endTime;
      let lastAddr: number | null = null;
      const gaps: [number, number][] = [];
      for (const r of snap.regions) {
        // damo tests addresses for truthiness: 0 counts as unset.
        if (!g.lowestAddr || r.start < g.lowestAddr) g.lowestAddr = r.start;
        if (!g.highestAddr || r.end > g.highestAddr) g.highestAddr = r.end;
        if (!lastAddr) {
          lastAddr = r.end;
          continue;
        }
        if (lastAddr !== r.start) gaps.push([lastAddr, r.start]);
        lastAddr = r.end;
      }
      g.gaps = g.gaps.length === 0 ? gaps : overlapping(g.gaps, gaps);
    }
  }
  for (const [tid, g] of guides) {
    g.contigRegions = guideRegions(g).map(([s, e]) => ({ startAddr: s, endAddr: e, heats: null }));
    for (const rec of records) {
      if (rec.targetId !== tid) continue;
      for (const snap of rec.snapshots) {
        for (const r of snap.regions) {
          if ((r.nrAccesses.samples ?? 0) === 0) continue;
          for (const gr of g.contigRegions) {
            if (r.end < gr.startAddr || gr.endAddr < r.start) continue;
            gr.heats = (gr.heats ?? 0) + (r.end - r.start) * (r.nrAccesses.samples ?? 0);
          }
        }
      }
    }
  }
  const total = (g: DamoGuide): number => guideRegions(g).reduce((a, [s, e]) => a + e - s, 0);
  return [...guides.values()].sort((a, b) => total(b) - total(a));
}

/** Options of {@link damoReportHeatmap}. */
export interface DamoHeatmapOptions {
  /** 'stdout' (ASCII, default), 'raw', 'png' or 'svg'. */
  readonly output?: 'stdout' | 'raw' | 'png' | 'svg';
  /** [time, address] resolution (default [40, 80] for stdout/raw, [500, 500] for images). */
  readonly resol?: readonly [number, number];
  /** Time range to draw [start, end) in ns (default the record's). */
  readonly timeRange?: readonly [number, number];
  /** Address range to draw [start, end) (default per `drawRange`). */
  readonly addressRange?: readonly [number, number];
  /** Draw the hottest contiguous region only (default) or all of them. */
  readonly drawRange?: 'hottest' | 'all';
  /** Target id to draw (default the first record's). */
  readonly tid?: number;
  /** Raw output gives absolute times (default false: relative). */
  readonly absTime?: boolean;
  /** Raw output gives absolute addresses (default false: relative). */
  readonly absAddr?: boolean;
  /** Colour set of the ASCII map (default `gray`). */
  readonly stdoutColorset?: string;
  /** Omit the colour set legend under the ASCII map (default false). */
  readonly stdoutSkipColorsetExample?: boolean;
  /** Keep ANSI colour codes in the ASCII map (default true). */
  readonly color?: boolean;
}

/** The heat grid: pixels[timeIdx][addrIdx], null where nothing was observed. */
export interface DamoHeatmap {
  /** Time of the first row (ns). */
  readonly timeStart: number;
  /** Time per row (ns). */
  readonly timeUnit: number;
  /** Number of rows. */
  readonly timeResol: number;
  /** Address of the first column. */
  readonly addrStart: number;
  /** Bytes per column. */
  readonly addrUnit: number;
  /** Number of columns. */
  readonly addrResol: number;
  /** The heat of each pixel, indexed [row][column]; null where nothing was observed. */
  readonly heat: (number | null)[][];
}

/**
 * Paint the records' snapshots onto a heat grid.
 * @kernel heatmap_from_records (damo damo_report_heatmap.py)
 */
export function damoHeatmapFromRecords(
  records: readonly DamoRecord[],
  timeStart: number,
  timeUnit: number,
  timeResol: number,
  addrStart: number,
  addrUnit: number,
  addrResol: number,
): DamoHeatmap {
  const heat: (number | null)[][] = Array.from({ length: timeResol }, () =>
    new Array<number | null>(addrResol).fill(null),
  );
  const pixelTs = timeUnit * addrUnit;
  const addrEnd = addrStart + addrUnit * addrResol;
  let lastSnapshotEnd: number | null = null;
  for (const rec of records) {
    const aggrNs = rec.intervals === null ? null : rec.intervals.aggr * 1000;
    for (const snap of rec.snapshots) {
      for (const r of snap.regions) {
        if (r.end < addrStart || addrEnd < r.start) continue;
        // The region's pattern has lasted `age` aggregations: paint from then,
        // but not over the previous snapshot.
        let observeStart = snap.startTime;
        if (aggrNs !== null) observeStart -= (r.age.aggrIntervals ?? 0) * aggrNs;
        let st = observeStart;
        if (lastSnapshotEnd !== null && st < lastSnapshotEnd) st = lastSnapshotEnd;
        const t0 = Math.trunc((st - timeStart) / timeUnit);
        const t1 = Math.trunc((snap.endTime - timeStart) / timeUnit);
        const samples = r.nrAccesses.samples ?? 0;
        for (let ti = t0; ti <= t1; ti++) {
          if (ti < 0 || timeResol <= ti) continue;
          const pt = Math.trunc(timeStart + ti * timeUnit);
          const at = Math.min(snap.endTime, pt + timeUnit) - Math.max(observeStart, pt);
          const row = heat[ti]!;
          const a0 = Math.trunc((r.start - addrStart) / addrUnit);
          const a1 = Math.trunc((r.end - addrStart) / addrUnit);
          for (let ai = a0; ai <= a1; ai++) {
            if (ai < 0 || addrResol <= ai) continue;
            const pa = Math.trunc(addrStart + ai * addrUnit);
            const az = Math.min(r.end, pa + addrUnit) - Math.max(r.start, pa);
            const h = samples * at * az + (row[ai] ?? 0) * pixelTs;
            row[ai] = h / pixelTs;
          }
        }
      }
      lastSnapshotEnd = snap.endTime;
    }
  }
  return { timeStart, timeUnit, timeResol, addrStart, addrUnit, addrResol, heat };
}

/** The ASCII map with damo's footer. @kernel fmt_ascii_str (damo damo_report_heatmap.py) */
function fmtAscii(hm: DamoHeatmap, colorset: string, printColorset: boolean): string {
  let hi: number | null = null;
  let lo: number | null = null;
  for (const row of hm.heat) {
    for (const h of row) {
      if (h === null) continue;
      if (hi === null || hi < h) hi = h;
      if (lo === null || lo > h) lo = h;
    }
  }
  const lines: string[] = [];
  if (hi !== null && lo !== null) {
    const unit = (hi + 1 - lo) / 9;
    for (const row of hm.heat) {
      let line = '';
      for (const h of row) {
        if (h === null) {
          line += `${colorModeStartTxt(colorset, 4)} `;
          continue;
        }
        const level = Math.min(Math.trunc((h - lo) / unit), DAMO_MAX_COLOR_LEVEL);
        line += `${colorModeStartTxt(colorset, level)}${level}`;
      }
      lines.push(line + colorModeEndTxt());
    }
  }
  if (printColorset) lines.push(`# access_frequency: ${colorSamples(colorset)}`);
  const addrLen = hm.addrUnit * hm.addrResol;
  lines.push(
    `# x-axis: space [${formatSz(hm.addrStart, false)}, ${formatSz(hm.addrStart + addrLen, false)}) (${formatSz(addrLen, false)})`,
  );
  const timeLen = hm.timeUnit * hm.timeResol;
  lines.push(
    `# y-axis: time [${formatTimeNs(hm.timeStart, false)}, ${formatTimeNs(hm.timeStart + timeLen, false)}) (${formatTimeNs(timeLen, false)})`,
  );
  lines.push(
    `# resolution: ${hm.heat[1]?.length ?? hm.addrResol}x${hm.heat.length} (${formatSz(addrLen / hm.addrResol, false)} and ${formatTimeNs(timeLen / hm.timeResol, false)} for each character)`,
  );
  return lines.join('\n');
}

/** The resolved ranges and the grids {@link damoReportHeatmap} draws. */
export interface DamoHeatmapResult {
  /** The time range drawn (ns). */
  readonly timeRange: readonly [number, number];
  /** The address range of each map. */
  readonly addressRanges: readonly (readonly [number, number])[];
  /** The maps, one per address range. */
  readonly heatmaps: readonly DamoHeatmap[];
}

/** Resolve damo's default ranges and build the grids. @kernel set_missed_args (damo damo_report_heatmap.py) */
export function damoHeatmaps(records: readonly DamoRecord[], opts: DamoHeatmapOptions = {}): DamoHeatmapResult {
  const output = opts.output ?? 'stdout';
  const resol = opts.resol ?? (output === 'stdout' || output === 'raw' ? [40, 80] : [500, 500]);
  const guides = damoGuideInfo(records);
  const first = guides[0];
  if (first === undefined) throw new Error('damo: no snapshot in the records');
  const tid = opts.tid ?? first.tid;
  const guide = guides.find((g) => g.tid === tid);
  if (guide === undefined) throw new Error(`damo: no record for target id ${tid}`);
  const timeRange: [number, number] =
    opts.timeRange !== undefined ? [opts.timeRange[0], opts.timeRange[1]] : [guide.startTime, guide.endTime];
  let addressRanges: [number, number][];
  if (opts.addressRange !== undefined) addressRanges = [[opts.addressRange[0], opts.addressRange[1]]];
  else if ((opts.drawRange ?? 'hottest') === 'hottest') {
    // Python's sorted() is stable: the first of equally hot spans wins.
    const hottest = [...guide.contigRegions].sort((a, b) => heatPerByte(b) - heatPerByte(a))[0]!;
    addressRanges = [[hottest.startAddr, hottest.endAddr]];
  } else addressRanges = guide.contigRegions.map((g) => [g.startAddr, g.endAddr]);
  const recs = records.filter(
    (r) =>
      r.kdamondIdx === guide.kdamondIdx &&
      r.contextIdx === guide.contextIdx &&
      r.schemeIdx === guide.schemeIdx &&
      r.targetId === tid,
  );
  const [tres, ares] = resol;
  const heatmaps = addressRanges.map(([amin, amax]) => {
    const tunit = Math.floor((timeRange[1] - timeRange[0]) / tres);
    const aunit = Math.floor((amax - amin) / ares);
    return damoHeatmapFromRecords(recs, timeRange[0], tunit, tres, amin, aunit, ares);
  });
  return { timeRange, addressRanges, heatmaps };
}

/**
 * `damo report heatmap`: the ASCII map (default) or the raw pixel lines of
 * each address range, joined by newlines.
 */
export function damoReportHeatmap(records: readonly DamoRecord[], opts: DamoHeatmapOptions = {}): string {
  const output = opts.output ?? 'stdout';
  if (output === 'png' || output === 'svg') throw new Error('damo: use damoHeatmapPng()/damoHeatmapSvg() for images');
  const res = damoHeatmaps(records, opts);
  const texts = res.heatmaps.map((hm) => {
    if (output === 'stdout') {
      const s = fmtAscii(hm, opts.stdoutColorset ?? 'gray', !(opts.stdoutSkipColorsetExample ?? false));
      return opts.color === false ? stripAnsi(s) : s;
    }
    return rawLines(hm, opts.absTime ?? false, opts.absAddr ?? false);
  });
  return texts.join('\n');
}

/** @kernel fmt_gnuplot_str (damo damo_report_heatmap.py) */
function rawLines(hm: DamoHeatmap, absTime: boolean, absAddr: boolean): string {
  const lines: string[] = [];
  for (let ti = 0; ti < hm.timeResol; ti++) {
    for (let ai = 0; ai < hm.addrResol; ai++) {
      let t = Math.trunc(hm.timeStart + ti * hm.timeUnit);
      let a = Math.trunc(hm.addrStart + ai * hm.addrUnit);
      if (!absTime) t -= hm.timeStart;
      if (!absAddr) a -= hm.addrStart;
      const h = hm.heat[ti]![ai];
      lines.push(`${t}\t${a}\t${h === null || h === undefined ? 'NaN' : pyFloatRepr(h)}`);
    }
  }
  return lines.join('\n');
}

/** Python's repr() of a float. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const ax = Math.abs(x);
  if (ax !== 0 && (ax >= 1e16 || ax < 1e-4)) {
    const [m, e] = x.toExponential().split('e') as [string, string];
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return Number.isInteger(x) ? `${x}.0` : `${x}`;
}

/** A heat value to an RGB colour (black → red → yellow → white, like gnuplot's default palette). */
export function heatColor(v: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, v));
  // gnuplot's default "rgbformulae 7,5,15": r = sqrt(x), g = x^3, b = sin(2πx)
  const r = Math.sqrt(x);
  const g = x * x * x;
  const b = Math.max(0, Math.sin(2 * Math.PI * x));
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

function normalise(hm: DamoHeatmap): { lo: number; hi: number } {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const row of hm.heat) {
    for (const h of row) {
      if (h === null) continue;
      lo = Math.min(lo, h);
      hi = Math.max(hi, h);
    }
  }
  if (lo === Number.POSITIVE_INFINITY) return { lo: 0, hi: 1 };
  return { lo, hi: hi === lo ? lo + 1 : hi };
}

/**
 * The first heatmap as a PNG image: x = time (left to right), y = address
 * (bottom to top), colour = heat (gnuplot's default palette); empty pixels
 * take the colour of the lowest heat, as damo's gnuplot data does.
 */
export function damoHeatmapPng(records: readonly DamoRecord[], opts: DamoHeatmapOptions = {}): Uint8Array {
  const hm = damoHeatmaps(records, { ...opts, output: 'png' }).heatmaps[0]!;
  const w = hm.timeResol;
  const h = hm.addrResol;
  const { lo, hi } = normalise(hm);
  const rgb = new Uint8Array(w * h * 3);
  for (let ti = 0; ti < w; ti++) {
    for (let ai = 0; ai < h; ai++) {
      const v = hm.heat[ti]![ai];
      const [r, g, b] = heatColor(v === null || v === undefined ? 0 : (v - lo) / (hi - lo));
      const o = ((h - 1 - ai) * w + ti) * 3;
      rgb[o] = r;
      rgb[o + 1] = g;
      rgb[o + 2] = b;
    }
  }
  return encodePng(w, h, rgb);
}

/**
 * The first heatmap as SVG text: same orientation and palette as the PNG,
 * each row's runs of equal colour (64 levels) drawn as one rectangle, with
 * axis labels in damo's units.
 */
export function damoHeatmapSvg(records: readonly DamoRecord[], opts: DamoHeatmapOptions = {}): string {
  const res = damoHeatmaps(records, { ...opts, output: 'svg' });
  const hm = res.heatmaps[0]!;
  const w = hm.timeResol;
  const h = hm.addrResol;
  const { lo, hi } = normalise(hm);
  const level = (v: number | null | undefined): number =>
    Math.min(63, Math.floor((v === null || v === undefined ? 0 : (v - lo) / (hi - lo)) * 64));
  const left = 90;
  const bottom = 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w + left + 10}" height="${h + bottom + 10}" viewBox="0 0 ${w + left + 10} ${h + bottom + 10}">`,
    `<rect x="${left}" y="10" width="${w}" height="${h}" fill="${rgbHex(heatColor(0))}"/>`,
  ];
  for (let ai = 0; ai < h; ai++) {
    const y = 10 + (h - 1 - ai);
    let ti = 0;
    while (ti < w) {
      const l = level(hm.heat[ti]![ai]);
      let end = ti + 1;
      while (end < w && level(hm.heat[end]![ai]) === l) end++;
      if (l > 0)
        parts.push(
          `<rect x="${left + ti}" y="${y}" width="${end - ti}" height="1" fill="${rgbHex(heatColor(l / 63))}"/>`,
        );
      ti = end;
    }
  }
  const [amin, amax] = res.addressRanges[0]!;
  const span = res.timeRange[1] - res.timeRange[0];
  parts.push(
    `<g font-family="monospace" font-size="11" fill="#000">`,
    `<text x="${left}" y="${h + 25}">0</text>`,
    `<text x="${left + w}" y="${h + 25}" text-anchor="end">${formatTimeNs(span, false)}</text>`,
    `<text x="${left + w / 2}" y="${h + 38}" text-anchor="middle">time</text>`,
    `<text x="${left - 4}" y="${h + 10}" text-anchor="end">${formatSz(0, false)}</text>`,
    `<text x="${left - 4}" y="20" text-anchor="end">${formatSz(amax - amin, false)}</text>`,
    `<text x="12" y="${10 + h / 2}" transform="rotate(-90 12 ${10 + h / 2})" text-anchor="middle">address</text>`,
    '</g>',
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function rgbHex([r, g, b]: [number, number, number]): string {
  return `#${((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1)}`;
}
