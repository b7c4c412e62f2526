/**
 * DOC: ground truth for DAMON's answers on the standalone workload.
 *
 * The synthetic address space knows every range its workload touches, so
 * DAMON's estimates can be compared with the truth, which no tool on a real
 * kernel can do. {@link damonAccuracyMonitor} hooks a running context:
 *
 * - per sampling interval (from each prepare to its check) it logs the
 *   ranges touched and turns them into, for every cell of the address space
 *   (a fixed number of pages), the fraction of the cell's pages accessed in
 *   that interval; summed over an aggregation window that is the
 *   `nr_accesses` a perfect sampler would see (the true access frequency);
 * - per aggregation window it compares each region's `nr_accesses` with
 *   the size-weighted true frequency of the cells it covers (error
 *   histogram, mean absolute error), the hot set DAMON reports (regions with
 *   `nr_accesses` ≥ the hot threshold) with the true hot set (precision and
 *   recall, in bytes), and DAMON's working set (`nr_accesses` ≥ 1) with the
 *   bytes truly touched in the window.
 *
 * {@link damonAccuracyReport} runs a masim workload under several
 * monitoring settings (sampling interval, min/max_nr_regions, auto-tuning)
 * and tabulates how the figures move, with the explanation of why DAMON's
 * working set falls short of the touched bytes: a region counts an access
 * only if its one sampled page was touched in that interval, so memory
 * touched less than about once per sampling interval reads as cold.
 */
import { createMachine } from '@mm/machine';
import { damonSetAttrs } from './core/attrs.js';
import {
  createDamon,
  type DamonAttrs,
  type DamonCtx,
  damonAddTarget,
  damonCopyAttrs,
  damonNewCtx,
} from './core/ctx.js';
import { damonStart } from './core/kdamond.js';
import { DAMON_NO_REGION, damonNewTarget } from './core/region.js';
import { formatSz } from './damo/fmt-str.js';
import { damonVaddrOps } from './ops/vaddr.js';
import type { AccessArea } from './synthetic/access-area.js';
import { SyntheticAddressSpace, syntheticVaddrEnv, type TouchLog } from './synthetic/address-space.js';
import { MasimWorkload, type MasimWorkloadOptions, parseMasimConfig } from './synthetic/masim.js';

/** Options of {@link damonAccuracyMonitor}. */
export interface DamonAccuracyOptions {
  /** Pages per truth cell (default 16). */
  readonly cellPages?: number;
  /** `nr_accesses` at or above which memory counts as hot (default: 1/4 of aggr/sample, at least 1). */
  readonly hotThreshold?: number;
  /** Ignore windows ending before this virtual time (ns). */
  readonly skipNs?: number;
}

/** One aggregation window's comparison. */
export interface DamonAccuracyWindow {
  /** Virtual time the window ended (ns). */
  readonly endNs: number;
  /** Sampling interval in force during the window (µs). */
  readonly sampleUs: number;
  /** Regions DAMON kept over the monitored areas. */
  readonly nrRegions: number;
  /** Bytes monitored. */
  readonly bytes: number;
  /** Size-weighted mean |nr_accesses − true frequency| in samples. */
  readonly meanAbsError: number;
  /** Bytes per error bucket: errors rounded to whole samples, clamped to ±errorRange. */
  readonly errorHist: readonly number[];
  /** `nr_accesses` at or above which a region counted as hot. */
  readonly hotThreshold: number;
  /** Bytes DAMON reported hot. */
  readonly damonHotBytes: number;
  /** Bytes truly hot by the ground truth. */
  readonly trueHotBytes: number;
  /** Bytes both DAMON and the ground truth call hot. */
  readonly hotOverlapBytes: number;
  /** Bytes of regions DAMON saw accessed at least once. */
  readonly damonWssBytes: number;
  /** Bytes truly touched during the window. */
  readonly touchedBytes: number;
}

/** The accuracy report of one run. */
export interface DamonAccuracyReport {
  /** The per-window comparisons, oldest first. */
  readonly windows: readonly DamonAccuracyWindow[];
  /** Half-width of the error histogram, in samples. */
  readonly errorRange: number;
  /** Summaries over the windows (byte-weighted where it applies). */
  readonly meanAbsError: number;
  /** Share of DAMON's hot bytes that were truly hot. */
  readonly precision: number;
  /** Share of the truly hot bytes DAMON reported hot. */
  readonly recall: number;
  /** Mean over the windows of the bytes DAMON saw accessed. */
  readonly damonWssBytes: number;
  /** Mean over the windows of the bytes truly touched. */
  readonly touchedBytes: number;
  /** Summed error histogram of the windows (bytes per bucket). */
  readonly errorHist: readonly number[];
}

/** What {@link damonAccuracyMonitor} returns. */
export interface DamonAccuracyMonitor {
  /** The report of the windows seen so far. */
  report(): DamonAccuracyReport;
  /** Unhook from the context. */
  stop(): void;
}

const ERROR_RANGE = 10;

interface AreaTruth {
  readonly area: AccessArea;
  readonly cellPages: number;
  readonly nrCells: number;
  /** Σ over the window's samples of the fraction of each cell accessed. */
  readonly freq: Float64Array;
  /** Painted page ranges of the window (flat pairs), and random accesses. */
  windowPaints: number[];
  windowRandomN: number;
}

function mergeRanges(flat: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [a, b] of pairs) {
    const n = out.length;
    if (n > 0 && a <= out[n - 1]!) out[n - 1] = Math.max(out[n - 1]!, b);
    else out.push(a, b);
  }
  return out;
}

/**
 * Compare a running context's results with the ground truth of the
 * synthetic space it monitors (see the file header). Hooks the context's
 * ops (prepare/check) and its `damon_aggregated` trace event.
 */
export function damonAccuracyMonitor(
  ctx: DamonCtx,
  space: SyntheticAddressSpace,
  opts: DamonAccuracyOptions = {},
): DamonAccuracyMonitor {
  const cellPages = opts.cellPages ?? 16;
  const truths: AreaTruth[] = space.areas.map((area) => {
    const nrCells = Math.ceil(area.nrPages / cellPages);
    return { area, cellPages, nrCells, freq: new Float64Array(nrCells), windowPaints: [], windowRandomN: 0 };
  });
  const ops = ctx.ops;
  const prepare = ops.prepareAccessChecks;
  const check = ops.checkAccesses;
  const windows: DamonAccuracyWindow[] = [];
  const pageSize = space.pageSize;

  const endInterval = (log: TouchLog): void => {
    const paintsByArea: number[][] = truths.map(() => []);
    for (let i = 0; i < log.paints.length; i += 3)
      paintsByArea[log.paints[i]!]!.push(log.paints[i + 1]!, log.paints[i + 2]!);
    const randByArea = new Float64Array(truths.length);
    for (let i = 0; i < log.randoms.length; i += 2) randByArea[log.randoms[i]!]! += log.randoms[i + 1]!;
    truths.forEach((tr, ai) => {
      const paints = mergeRanges(paintsByArea[ai]!);
      const q = randByArea[ai]! > 0 ? tr.area.hitProbability(randByArea[ai]!) : 0;
      tr.windowRandomN += randByArea[ai]!;
      for (let i = 0; i < paints.length; i++) tr.windowPaints.push(paints[i]!);
      if (q > 0) {
        // every cell gets q; painted pages below get the rest of (1 − q)
        for (let c = 0; c < tr.nrCells; c++) tr.freq[c]! += q;
      }
      for (let i = 0; i < paints.length; i += 2) {
        const a = paints[i]!;
        const b = paints[i + 1]!;
        for (let c = Math.floor(a / cellPages); c * cellPages < b && c < tr.nrCells; c++) {
          const cs = c * cellPages;
          const ce = Math.min(cs + cellPages, tr.area.nrPages);
          const cover = Math.min(b, ce) - Math.max(a, cs);
          if (cover > 0) tr.freq[c]! += (cover / (ce - cs)) * (1 - q);
        }
      }
    });
  };

  // A per-context wrapper: the operations set itself may be shared.
  ctx.ops = {
    ...ops,
    prepareAccessChecks(c: DamonCtx): void {
      space.advanceTo(space.clockNs());
      space.touchLog = { paints: [], randoms: [] };
      prepare?.call(ops, c);
    },
    checkAccesses(c: DamonCtx): number {
      space.advanceTo(space.clockNs());
      const log = space.touchLog;
      space.touchLog = null;
      if (log !== null) endInterval(log);
      return check === undefined ? 0 : check.call(ops, c);
    },
  };

  /** True frequency (samples) of [start, end), size-weighted over cells; 0 outside the areas. */
  const trueFreqOf = (start: number, end: number): number => {
    let acc = 0;
    for (const tr of truths) {
      const a0 = tr.area.start;
      const a1 = a0 + tr.area.nrPages * pageSize;
      if (end <= a0 || a1 <= start) continue;
      const s = Math.max(start, a0);
      const e = Math.min(end, a1);
      const cellBytes = cellPages * pageSize;
      for (let c = Math.floor((s - a0) / cellBytes); c < tr.nrCells && a0 + c * cellBytes < e; c++) {
        const cs = a0 + c * cellBytes;
        const ov = Math.min(e, cs + cellBytes) - Math.max(s, cs);
        if (ov > 0) acc += tr.freq[c]! * ov;
      }
    }
    return acc / (end - start);
  };

  const prevTrace = ctx.trace.damonAggregated;
  let cur: {
    endNs: number;
    bytes: number;
    absErr: number;
    hist: number[];
    damonHot: number;
    trueHotRanges: number[];
    overlap: number;
    damonWss: number;
    nrRegions: number;
    thres: number;
  } | null = null;

  const trueHotBytesAndOverlap = (thres: number, ranges: [number, number][]): { trueHot: number; overlap: number } => {
    let trueHot = 0;
    let overlap = 0;
    const cellBytes = cellPages * pageSize;
    for (const tr of truths) {
      for (let c = 0; c < tr.nrCells; c++) {
        if (tr.freq[c]! < thres) continue;
        const cs = tr.area.start + c * cellBytes;
        const ce = Math.min(cs + cellBytes, tr.area.start + tr.area.nrPages * pageSize);
        trueHot += ce - cs;
        for (const [a, b] of ranges) {
          const ov = Math.min(b, ce) - Math.max(a, cs);
          if (ov > 0) overlap += ov;
        }
      }
    }
    return { trueHot, overlap };
  };

  const touchedBytes = (): number => {
    let n = 0;
    for (const tr of truths) {
      const paints = mergeRanges(tr.windowPaints);
      let painted = 0;
      for (let i = 0; i < paints.length; i += 2) painted += paints[i + 1]! - paints[i]!;
      const q = tr.windowRandomN > 0 ? tr.area.hitProbability(tr.windowRandomN) : 0;
      n += (painted + (tr.area.nrPages - painted) * q) * pageSize;
    }
    return n;
  };

  let hotRanges: [number, number][] = [];
  const finishWindow = (): void => {
    if (cur === null) return;
    const { trueHot, overlap } = trueHotBytesAndOverlap(cur.thres, hotRanges);
    if (cur.endNs >= (opts.skipNs ?? 0)) {
      windows.push({
        endNs: cur.endNs,
        sampleUs: ctx.attrs.sampleInterval,
        nrRegions: cur.nrRegions,
        bytes: cur.bytes,
        meanAbsError: cur.bytes === 0 ? 0 : cur.absErr / cur.bytes,
        errorHist: cur.hist,
        hotThreshold: cur.thres,
        damonHotBytes: cur.damonHot,
        trueHotBytes: trueHot,
        hotOverlapBytes: overlap,
        damonWssBytes: cur.damonWss,
        touchedBytes: touchedBytes(),
      });
    }
    for (const tr of truths) {
      tr.freq.fill(0);
      tr.windowPaints = [];
      tr.windowRandomN = 0;
    }
    cur = null;
    hotRanges = [];
  };

  ctx.trace.damonAggregated = (c, ti, t, r, nrRegions, nowNs) => {
    prevTrace?.(c, ti, t, r, nrRegions, nowNs);
    if (ti === 0 && r === t.first) {
      const maxNr = Math.max(1, Math.floor(c.attrs.aggrInterval / (c.attrs.sampleInterval || 1)));
      cur = {
        endNs: nowNs,
        bytes: 0,
        absErr: 0,
        hist: new Array(2 * ERROR_RANGE + 1).fill(0),
        damonHot: 0,
        trueHotRanges: [],
        overlap: 0,
        damonWss: 0,
        nrRegions: 0,
        thres: opts.hotThreshold ?? Math.max(1, Math.floor(maxNr / 4)),
      };
    }
    const w = cur;
    if (w === null) return;
    const start = t.start[r]!;
    const end = t.end[r]!;
    const sz = end - start;
    const nr = t.nrAccesses[r]!;
    const err = nr - trueFreqOf(start, end);
    w.bytes += sz;
    w.nrRegions++;
    w.absErr += Math.abs(err) * sz;
    const bucket = Math.max(-ERROR_RANGE, Math.min(ERROR_RANGE, Math.round(err)));
    w.hist[bucket + ERROR_RANGE]! += sz;
    if (nr >= w.thres) {
      w.damonHot += sz;
      hotRanges.push([start, end]);
    }
    if (nr >= 1) w.damonWss += sz;
    const lastTarget = ti === c.adaptiveTargets.length - 1;
    if (lastTarget && t.next[r] === DAMON_NO_REGION) finishWindow();
  };

  return {
    report(): DamonAccuracyReport {
      return summarise(windows);
    },
    stop(): void {
      ctx.ops = ops;
      if (prevTrace === undefined) delete ctx.trace.damonAggregated;
      else ctx.trace.damonAggregated = prevTrace;
    },
  };
}

function summarise(windows: readonly DamonAccuracyWindow[]): DamonAccuracyReport {
  let bytes = 0;
  let absErr = 0;
  let damonHot = 0;
  let trueHot = 0;
  let overlap = 0;
  let wss = 0;
  let touched = 0;
  const hist = new Array(2 * ERROR_RANGE + 1).fill(0);
  for (const w of windows) {
    bytes += w.bytes;
    absErr += w.meanAbsError * w.bytes;
    damonHot += w.damonHotBytes;
    trueHot += w.trueHotBytes;
    overlap += w.hotOverlapBytes;
    wss += w.damonWssBytes;
    touched += w.touchedBytes;
    w.errorHist.forEach((b, i) => {
      hist[i] += b;
    });
  }
  const n = Math.max(1, windows.length);
  return {
    windows,
    errorRange: ERROR_RANGE,
    meanAbsError: bytes === 0 ? 0 : absErr / bytes,
    precision: damonHot === 0 ? 1 : overlap / damonHot,
    recall: trueHot === 0 ? 1 : overlap / trueHot,
    damonWssBytes: wss / n,
    touchedBytes: touched / n,
    errorHist: hist,
  };
}

/** Plain-text rendering of an accuracy report. */
export function formatDamonAccuracyReport(
  rep: DamonAccuracyReport,
  title = 'DAMON accuracy against ground truth',
): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  const lines = [
    `# ${title}`,
    `windows: ${rep.windows.length}`,
    `nr_accesses error: mean |error| ${rep.meanAbsError.toFixed(2)} samples per window`,
    `hot set: precision ${pct(rep.precision)}, recall ${pct(rep.recall)}`,
    `working set: DAMON ${formatSz(rep.damonWssBytes, false)} of ${formatSz(rep.touchedBytes, false)} touched per window (${pct(rep.touchedBytes === 0 ? 1 : rep.damonWssBytes / rep.touchedBytes)})`,
    '# <nr_accesses - true frequency (samples)> <bytes>',
  ];
  const total = rep.errorHist.reduce((a, b) => a + b, 0) || 1;
  rep.errorHist.forEach((b, i) => {
    const e = i - rep.errorRange;
    const label = e === -rep.errorRange ? `<=${e}` : e === rep.errorRange ? `>=${e}` : `${e}`;
    const stars = Math.round((b / total) * 40);
    lines.push(
      `${label.padStart(5)} ${formatSz(b / Math.max(1, rep.windows.length), false).padEnd(11)} |${'*'.repeat(stars)}${' '.repeat(40 - stars)}|`,
    );
  });
  return lines.join('\n');
}

/** A monitoring setting to compare. */
export interface DamonAccuracyVariant {
  /** Label of the variant in the report. */
  readonly name: string;
  /** Attributes over the kernel defaults (intervals, region bounds, intervals_goal). */
  readonly attrs?: Partial<DamonAttrs>;
}

/** Options of {@link damonAccuracyReport}. */
export interface DamonAccuracySweepOptions {
  /** masim config text of the workload. */
  readonly masimConfig: string;
  /** Virtual time to run each variant (ns). */
  readonly durationNs: number;
  /** The monitoring settings to run, one row each. */
  readonly variants: readonly DamonAccuracyVariant[];
  /** Machine seed for every run (default 1). */
  readonly seed?: number;
  /** How the masim workload runs. */
  readonly workload?: MasimWorkloadOptions;
  /** How the runs are scored. */
  readonly accuracy?: DamonAccuracyOptions;
}

/** One row of {@link damonAccuracyReport}. */
export interface DamonAccuracyRow {
  /** The variant's name. */
  readonly variant: string;
  /** Sampling interval at the end of the run (µs). */
  readonly sampleUs: number;
  /** The variant's minimum number of regions. */
  readonly minNrRegions: number;
  /** The variant's maximum number of regions. */
  readonly maxNrRegions: number;
  /** The run's accuracy report. */
  readonly report: DamonAccuracyReport;
}

/** The result of {@link damonAccuracyReport}: the rows and their text. */
export interface DamonAccuracySweep {
  /** One row per variant, in the order given. */
  readonly rows: readonly DamonAccuracyRow[];
  /** The table and the explanation, as text. */
  text(): string;
}

/**
 * Run a masim workload on the standalone address space under each
 * monitoring variant and report DAMON's accuracy against the ground truth
 * (see the file header).
 */
export function damonAccuracyReport(opts: DamonAccuracySweepOptions): DamonAccuracySweep {
  const rows: DamonAccuracyRow[] = [];
  for (const v of opts.variants) {
    const machine = createMachine({ seed: opts.seed ?? 1 });
    machine.lockdep.enabled = false;
    const damon = createDamon(machine);
    const space = new SyntheticAddressSpace({ machine });
    new MasimWorkload(parseMasimConfig(opts.masimConfig), space, opts.workload ?? {});
    const ctx = damonNewCtx(machine.prng.stream('damon'));
    ctx.ops = damonVaddrOps(syntheticVaddrEnv([space], machine));
    damonAddTarget(ctx, damonNewTarget(space.pid));
    const attrs = { ...damonCopyAttrs(ctx.attrs), ...(v.attrs ?? {}), aggrSamples: 0 };
    const err = damonSetAttrs(ctx, attrs);
    if (err) throw new Error(`damon: variant ${v.name}: invalid attributes (${err})`);
    const mon = damonAccuracyMonitor(ctx, space, opts.accuracy ?? {});
    damonStart(damon, [ctx], false);
    machine.sched.runUntil(opts.durationNs);
    rows.push({
      variant: v.name,
      sampleUs: ctx.attrs.sampleInterval,
      minNrRegions: ctx.attrs.minNrRegions,
      maxNrRegions: ctx.attrs.maxNrRegions,
      report: mon.report(),
    });
  }
  return {
    rows,
    text(): string {
      const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
      const header = 'variant                   sample   regions      |err|  precision  recall  DAMON-wss/touched';
      const lines = ['# DAMON accuracy against the workload ground truth', header];
      for (const r of rows) {
        const rep = r.report;
        const nrRegions =
          rep.windows.length === 0 ? 0 : rep.windows.reduce((a, w) => a + w.nrRegions, 0) / rep.windows.length;
        lines.push(
          `${r.variant.padEnd(25)} ${`${r.sampleUs / 1000}ms`.padStart(7)} ${nrRegions.toFixed(0).padStart(8)} ${rep.meanAbsError.toFixed(2).padStart(10)} ${pct(rep.precision).padStart(10)} ${pct(rep.recall).padStart(7)} ${pct(rep.touchedBytes === 0 ? 1 : rep.damonWssBytes / rep.touchedBytes).padStart(18)}`,
        );
      }
      lines.push(
        '',
        'Why DAMON does not capture the whole touched memory: each region is checked at one',
        'random page per sampling interval, so a region counts an access only if that page was',
        'touched in that interval. Memory touched less often than about once per sampling',
        'interval, or spread thinly across a large region, reads as nr_accesses 0. Longer',
        'sampling intervals (or auto-tuning toward an access ratio goal) and more regions',
        'raise the captured share; the rows above show by how much for this workload.',
      );
      return lines.join('\n');
    },
  };
}
