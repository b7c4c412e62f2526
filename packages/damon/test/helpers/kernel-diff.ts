/**
 * Helpers for replaying the kernel's recorded answers (test/kernel-diff/,
 * made by kernel-diff/kdiff.c from Linux 7.2's mm/damon/core.c): parse the
 * fixtures, build model state from their inputs, print model state in the
 * fixtures' shape.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Prng } from '@mm/machine';
import {
  type DamonAttrs,
  type DamonCtx,
  type DamonSystemView,
  DamonTarget,
  type Damos,
  damonAddRegion,
  damonAddTarget,
  damonDefaultAttrs,
  damonNewCtx,
  damonNewRegion,
  damonNewScheme,
  damonRegions,
  damosAddFilter,
  damosNewFilter,
  damosNewQuotaGoal,
  damosPatternAll,
  damosQuotaNone,
  damosWmarksNone,
} from '../../src/index.js';

/** One recorded case (a parsed JSON line). */
// biome-ignore lint/suspicious/noExplicitAny: fixture lines are free-form JSON checked field by field
export type Case = Record<string, any>;

/** The recorded cases of `kind`, in recording order. */
export function loadCases(kind: string): Case[] {
  const dir = join(import.meta.dirname, '..', 'kernel-diff');
  const buf = readFileSync(join(dir, `${kind}.jsonl.gz`));
  const text = gunzipSync(buf).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Case);
}

/**
 * A Prng that hands out a recorded sequence (what the kernel's
 * prandom_u32_state() returned in the recorded run) and counts the draws.
 */
export class ScriptedPrng extends Prng {
  private values: readonly number[];
  used: number;
  constructor(values: readonly number[]) {
    super(0);
    this.values = values;
    this.used = 0;
  }
  override nextU32(): number {
    if (this.used >= this.values.length)
      throw new Error('kernel-diff: the model drew more random numbers than the kernel');
    return this.values[this.used++]!;
  }
}

/** [sample, aggr, ops_update, min_nr, max_nr, aggr_samples, access_bp, aggrs, min_sample_us, max_sample_us] */
export function attrsOf(a: readonly number[]): DamonAttrs {
  return {
    ...damonDefaultAttrs(),
    sampleInterval: a[0]!,
    aggrInterval: a[1]!,
    opsUpdateInterval: a[2]!,
    minNrRegions: a[3]!,
    maxNrRegions: a[4]!,
    aggrSamples: a[5]!,
    intervalsGoal: { accessBp: a[6]!, aggrs: a[7]!, minSampleUs: a[8]!, maxSampleUs: a[9]! },
  };
}

/** The attrs in the fixtures' shape. */
export function attrsArray(a: DamonAttrs): number[] {
  const g = a.intervalsGoal;
  return [
    a.sampleInterval,
    a.aggrInterval,
    a.opsUpdateInterval,
    a.minNrRegions,
    a.maxNrRegions,
    a.aggrSamples,
    g.accessBp,
    g.aggrs,
    g.minSampleUs,
    g.maxSampleUs,
  ];
}

/** A target with regions [start, end, nr_accesses, nr_accesses_bp, age, last_nr_accesses]. */
export function targetOf(regions: readonly (readonly number[])[], pid: number | null = null): DamonTarget {
  const t = new DamonTarget(pid);
  for (const x of regions) {
    const r = damonNewRegion(t, x[0]!, x[1]!);
    t.nrAccesses[r] = x[2]!;
    t.nrAccessesBp[r] = x[3]!;
    t.age[r] = x[4]!;
    t.lastNrAccesses[r] = x[5]!;
    damonAddRegion(t, r);
  }
  return t;
}

/** A target's regions in the fixtures' shape. */
export function regionsOf(t: DamonTarget): number[][] {
  return damonRegions(t).map((r) => [r.start, r.end, r.nrAccesses, r.nrAccessesBp, r.age, r.lastNrAccesses]);
}

/** A context with `targets` (each a region list) and `attrs`. */
export function ctxOf(targets: readonly (readonly (readonly number[])[])[], attrs?: readonly number[]): DamonCtx {
  const c = damonNewCtx();
  if (attrs !== undefined) c.attrs = attrsOf(attrs);
  targets.forEach((regions, i) => {
    damonAddTarget(c, targetOf(regions, i));
  });
  return c;
}

/** Every target's regions. */
export function targetsOf(c: DamonCtx): number[][][] {
  return c.adaptiveTargets.map(regionsOf);
}

/** The mutable system the recorded case ran on. */
export interface ScriptedSystem extends DamonSystemView {
  jiffiesNow: number;
  freePages: number;
  totalPages: number;
  psiUs: number;
  nodes: number[][];
}

/** A system view answering from the case's `sys` record. */
export function systemOf(sys: Case): ScriptedSystem {
  const s: ScriptedSystem = {
    jiffiesNow: sys.jiffies,
    freePages: sys.free,
    totalPages: sys.total,
    psiUs: sys.psi,
    nodes: sys.nodes,
    freeMemRatePermil: () => Math.floor((s.freePages * 1000) / s.totalPages),
    nodeMemInfo: (nid, out) => {
      const n = s.nodes[nid];
      if (n === undefined || n[0] === 0) return false;
      out.totalram = n[0]!;
      out.freeram = n[1]!;
      return true;
    },
    someMemPsiTotalUs: () => s.psiUs,
    jiffies: () => s.jiffiesNow,
  };
  return s;
}

/** [min_sz, max_sz, min_nr, max_nr, min_age, max_age] */
export function schemeOf(action: number, applyUs: number, pattern?: readonly number[]): Damos {
  const p = damosPatternAll();
  if (pattern !== undefined) {
    p.minSzRegion = pattern[0]!;
    p.maxSzRegion = pattern[1]!;
    p.minNrAccesses = pattern[2]!;
    p.maxNrAccesses = pattern[3]!;
    p.minAgeRegion = pattern[4]!;
    p.maxAgeRegion = pattern[5]!;
  }
  return damonNewScheme(p, action, applyUs, damosQuotaNone(), damosWmarksNone());
}

/** [type, matching, allow, start|target_idx, end] */
export function addFilters(s: Damos, filters: readonly (readonly number[])[]): void {
  for (const f of filters) {
    const filter = damosNewFilter(f[0]!, f[1] === 1, f[2] === 1);
    if (f[0] === 6) filter.addrRange = { start: f[3]!, end: f[4]! };
    else if (f[0] === 7) filter.targetIdx = f[3]!;
    damosAddFilter(s, filter);
  }
}

/** Load a recorded quota ({ms, sz, reset, w, totalSz, totalNs, eszBp, esz, chargedSz, chargedFrom, minScore, goals}). */
export function setQuota(s: Damos, q: Case): void {
  const quota = s.quota;
  quota.ms = q.ms;
  quota.sz = q.sz;
  quota.resetInterval = q.reset;
  quota.weightSz = q.w[0];
  quota.weightNrAccesses = q.w[1];
  quota.weightAge = q.w[2];
  quota.totalChargedSz = q.totalSz;
  quota.totalChargedNs = q.totalNs;
  quota.eszBp = BigInt(q.eszBp);
  quota.esz = Number(q.esz);
  quota.chargedSz = q.chargedSz;
  quota.chargedFrom = q.chargedFrom;
  quota.minScore = q.minScore;
  quota.goals = (q.goals as number[][]).map((g) => {
    const goal = damosNewQuotaGoal(g[0]!, g[1]!);
    goal.currentValue = g[2]!;
    goal.lastPsiTotal = g[3]!;
    goal.nid = g[4]!;
    return goal;
  });
}

/** The quota in the fixtures' shape. */
export function quotaOf(s: Damos): Case {
  const q = s.quota;
  return {
    ms: q.ms,
    sz: q.sz,
    reset: q.resetInterval,
    w: [q.weightSz, q.weightNrAccesses, q.weightAge],
    totalSz: q.totalChargedSz,
    totalNs: q.totalChargedNs,
    eszBp: q.eszBp.toString(),
    esz: q.esz.toString(),
    chargedSz: q.chargedSz,
    chargedFrom: q.chargedFrom,
    minScore: q.minScore,
    goals: q.goals.map((g) => [
      g.metric,
      g.targetValue,
      g.currentValue,
      g.metric === 1 ? g.lastPsiTotal : 0,
      g.metric >= 2 ? g.nid : 0,
    ]),
  };
}
