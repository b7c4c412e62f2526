/**
 * DOC: DAMON's masim ("memory access simulator") configs: a parser with
 * errors naming the line, and a workload that turns a config into accesses
 * on a {@link SyntheticAddressSpace} as virtual time passes.
 *
 * Format (masim's README and masim.c): paragraphs separated by a blank line;
 * lines starting with `#` are comments; fields are separated by `, `. The
 * first paragraph lists regions, `name, size_bytes[, init_data_file|none]`.
 * Every later paragraph is a phase: its name, its duration in ms, then one
 * access pattern per line, `region, random(1)|sequential(0), stride_bytes,
 * probability[, ro|wo|rw]` (default `wo`).
 *
 * Execution follows masim.c: phases run in order (the whole run repeated
 * `repeat` times); within a phase, repeatedly pick one pattern with
 * probability weight / Σ weights and perform a batch of 128 Ki accesses on
 * it (random: offset = rand % size; sequential: offset += stride, back to 0
 * past the end), until the phase's time is up. A batch takes
 * 128 Ki × `nsPerAccess` of virtual time and is recorded as `subBatches`
 * timed steps.
 */
import { MmError, Prng } from '@mm/machine';
import type { SyntheticAddressSpace, SyntheticWorkload } from './address-space.js';

/** Access mode of a pattern. */
export type MasimRwMode = 'ro' | 'wo' | 'rw';

/** A region of a masim config. */
export interface MasimRegion {
  /** Name patterns refer to it by. */
  readonly name: string;
  /** Size in bytes. */
  readonly sizeBytes: number;
  /** Data file loaded at initialisation, or null (`none`/absent). */
  readonly initDataFile: string | null;
}

/** An access pattern of a phase. */
export interface MasimPattern {
  /** Name of the region accessed. */
  readonly region: string;
  /** Random (true) or sequential access. */
  readonly randomAccess: boolean;
  /** Stride of sequential access (bytes). */
  readonly strideBytes: number;
  /** Weight of the pattern when picking the next batch's pattern. */
  readonly probability: number;
  /** Read, write or both. */
  readonly rwMode: MasimRwMode;
}

/** A phase of a masim config. */
export interface MasimPhase {
  /** Name of the phase. */
  readonly name: string;
  /** Duration of the phase (ms). */
  readonly timeMs: number;
  /** Access patterns run during the phase. */
  readonly patterns: readonly MasimPattern[];
}

/** A parsed masim config. */
export interface MasimConfig {
  /** The memory regions. */
  readonly regions: readonly MasimRegion[];
  /** The phases, run in order. */
  readonly phases: readonly MasimPhase[];
}

/** A config that does not parse; `line` is 1-based in the original text. */
export class MasimConfigError extends MmError {
  /** Name of the config file. */
  readonly file: string;
  /** Line of the error (1-based). */
  readonly line: number;
  /** Text of the offending line. */
  readonly text: string;

  constructor(file: string, line: number, text: string, message: string) {
    super('EINVAL', `masim: ${file}:${line}: ${message}: '${text}'`);
    this.file = file;
    this.line = line;
    this.text = text;
  }
}

interface Line {
  readonly no: number;
  readonly text: string;
}

function parseUint(s: string): number | null {
  const t = s.trim();
  if (!/^[0-9]+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Parse a masim config.
 * @throws MasimConfigError naming the file, line and text of the first problem.
 */
export function parseMasimConfig(text: string, file = 'config'): MasimConfig {
  const paragraphs: Line[][] = [];
  let cur: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith('#')) return;
    if (line.trim() === '') {
      if (cur.length > 0) paragraphs.push(cur);
      cur = [];
      return;
    }
    cur.push({ no: i + 1, text: line });
  });
  if (cur.length > 0) paragraphs.push(cur);
  if (paragraphs.length < 2) {
    const last = paragraphs[paragraphs.length - 1]?.at(-1) ?? { no: 1, text: '' };
    throw new MasimConfigError(file, last.no, last.text, 'need a regions paragraph and at least one phase paragraph');
  }
  const regions: MasimRegion[] = [];
  const names = new Set<string>();
  for (const l of paragraphs[0]!) {
    const f = l.text.split(',').map((x) => x.trim());
    if (f.length !== 2 && f.length !== 3) {
      throw new MasimConfigError(file, l.no, l.text, 'a region needs `name, size_bytes[, init_data_file]`');
    }
    const size = parseUint(f[1]!);
    if (size === null || size === 0)
      throw new MasimConfigError(file, l.no, l.text, 'region size must be a positive integer');
    if (f[0] === '' || names.has(f[0]!))
      throw new MasimConfigError(file, l.no, l.text, 'region name empty or repeated');
    names.add(f[0]!);
    const init = f.length === 3 && f[2] !== 'none' ? f[2]! : null;
    regions.push({ name: f[0]!, sizeBytes: size, initDataFile: init });
  }
  const phases: MasimPhase[] = [];
  for (const para of paragraphs.slice(1)) {
    if (para.length < 3) {
      const l = para[para.length - 1]!;
      throw new MasimConfigError(file, l.no, l.text, 'a phase needs a name, a duration in ms and at least one pattern');
    }
    const name = para[0]!.text;
    const timeMs = parseUint(para[1]!.text);
    if (timeMs === null)
      throw new MasimConfigError(file, para[1]!.no, para[1]!.text, 'phase duration must be an integer (ms)');
    const patterns: MasimPattern[] = [];
    for (const l of para.slice(2)) {
      const f = l.text.split(',').map((x) => x.trim());
      if (f.length !== 4 && f.length !== 5) {
        throw new MasimConfigError(
          file,
          l.no,
          l.text,
          'a pattern needs `region, random, stride, probability[, ro|wo|rw]`',
        );
      }
      if (!names.has(f[0]!)) throw new MasimConfigError(file, l.no, l.text, `no region named '${f[0]}'`);
      const rnd = parseUint(f[1]!);
      const stride = parseUint(f[2]!);
      const prob = parseUint(f[3]!);
      if (rnd === null || rnd > 1)
        throw new MasimConfigError(file, l.no, l.text, 'random must be 1 (random) or 0 (sequential)');
      if (stride === null || (rnd === 0 && stride === 0)) {
        throw new MasimConfigError(file, l.no, l.text, 'stride must be a positive integer');
      }
      if (prob === null) throw new MasimConfigError(file, l.no, l.text, 'probability must be a non-negative integer');
      let rw: MasimRwMode = 'wo';
      if (f.length === 5) {
        if (f[4] !== 'ro' && f[4] !== 'wo' && f[4] !== 'rw') {
          throw new MasimConfigError(file, l.no, l.text, `wrong rw mode '${f[4]}' (ro, wo or rw)`);
        }
        rw = f[4];
      }
      patterns.push({ region: f[0]!, randomAccess: rnd === 1, strideBytes: stride, probability: prob, rwMode: rw });
    }
    if (patterns.reduce((a, p) => a + p.probability, 0) === 0) {
      throw new MasimConfigError(file, para[0]!.no, name, 'phase has no pattern with a non-zero probability');
    }
    phases.push({ name, timeMs, patterns });
  }
  return { regions, phases };
}

/** Print a config back in masim's format. */
export function formatMasimConfig(c: MasimConfig): string {
  const lines = ['#regions'];
  for (const r of c.regions)
    lines.push(r.initDataFile === null ? `${r.name}, ${r.sizeBytes}` : `${r.name}, ${r.sizeBytes}, ${r.initDataFile}`);
  lines.push('', '#phases');
  c.phases.forEach((p, i) => {
    if (i > 0) lines.push('');
    lines.push(p.name, `${p.timeMs}`);
    for (const a of p.patterns) {
      lines.push(`${a.region}, ${a.randomAccess ? 1 : 0}, ${a.strideBytes}, ${a.probability}, ${a.rwMode}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

/** masim's stairs.cfg: ten 10 MB regions, each hot in turn for 5 s after a 10 s warm-up. */
export const MASIM_STAIRS_CFG = `#regions
${Array.from({ length: 10 }, (_, i) => `s${i}, 10000000`).join('\n')}

#phases
initial phase
10000
${Array.from({ length: 10 }, (_, i) => `s${i}, 0, 4096, 1`).join('\n')}
${Array.from({ length: 10 }, (_, i) => `\nphase ${i}\n5000\ns${i}, 0, 4096, 50`).join('\n')}
`;

/** masim's zigzag.cfg: two 100 MB regions hot in alternation. */
export const MASIM_ZIGZAG_CFG = `#regions
a, 100000000
b, 100000000

#phases
initial phase
10000
a, 0, 4096, 1
b, 0, 4096, 1
${Array.from({ length: 6 }, (_, i) => `\nlow phase ${i}\n5000\na, 0, 4096, 50\n\nhigh phase ${i}\n5000\nb, 0, 4096, 50`).join('\n')}
`;

/** Accesses per pattern pick. @kernel do_access (masim.c) */
export const MASIM_BATCH = 1024 * 128;

/** Options of {@link MasimWorkload}. */
export interface MasimWorkloadOptions {
  /** Virtual ns per access (default 10: 128 Ki accesses take 1.31 ms). */
  readonly nsPerAccess?: number;
  /** Timed steps per batch (default 4). */
  readonly subBatches?: number;
  /** Run the phases this many times (default 1). */
  readonly repeat?: number;
  /** The random stream (default: a fixed seed). */
  readonly prng?: Prng;
  /** Highest address of the region mappings (they are mapped top-down below it). */
  readonly mmapBase?: number;
}

/** A region of the workload as laid out in the address space. */
export interface MasimLaidOutRegion {
  /** The config region's name. */
  readonly name: string;
  /** First address of the mapping. */
  readonly start: number;
  /** Size in bytes. */
  readonly sizeBytes: number;
  /** Index of its access area in the address space. */
  readonly areaIdx: number;
}

/** Where a laid-out synthetic process keeps its non-workload mappings. */
export const SYNTHETIC_TEXT_START = 0x5555_5555_4000;
/** Default top of the mmap area for workload regions. */
export const SYNTHETIC_MMAP_BASE = 0x7fff_f7a0_0000;
/** Stack mapping of the synthetic process. */
export const SYNTHETIC_STACK = {
  /** First address of the stack mapping. */
  start: 0x7fff_fffd_e000,
  /** End (exclusive) of the stack mapping. */
  end: 0x7fff_ffff_f000,
} as const;

/**
 * A masim config running on a synthetic address space (see the file header).
 */
export class MasimWorkload implements SyntheticWorkload {
  /** The config being run. */
  readonly config: MasimConfig;
  /** The config's regions as mapped. */
  readonly regions: MasimLaidOutRegion[];
  /** Virtual time per access (ns). */
  readonly nsPerAccess: number;
  /** Timed steps each access batch is split into. */
  readonly subBatches: number;
  /** How many times the phases are run. */
  readonly repeat: number;
  /** The PRNG patterns and random accesses draw from. */
  readonly prng: Prng;
  /** Phase being run (index into config.phases), and repetition. */
  phaseIdx: number;
  /** Repetition being run (0-based). */
  round: number;
  /** Virtual time the current phase started / the next batch starts. */
  phaseStartNs: number;
  /** Virtual time the next batch starts. */
  nextBatchNs: number;
  /** Accesses performed so far. */
  nrAccesses: number;
  /** When each phase started (virtual ns), in run order. */
  readonly phaseLog: {
    /** Phase name. */
    name: string;
    /** Virtual time it started (ns). */
    startNs: number;
  }[];
  private readonly lastIdx: Float64Array[];
  private readonly regionByName: Map<string, MasimLaidOutRegion>;
  private done: boolean;
  private started: boolean;
  private subIdx: number;
  private patternIdx: number;

  constructor(config: MasimConfig, space: SyntheticAddressSpace, opts: MasimWorkloadOptions = {}) {
    this.config = config;
    this.nsPerAccess = opts.nsPerAccess ?? 10;
    this.subBatches = Math.max(1, opts.subBatches ?? 4);
    this.repeat = Math.max(1, opts.repeat ?? 1);
    this.prng = opts.prng ?? new Prng(0x6d61_7369);
    this.regions = layOutMasim(config, space, opts.mmapBase ?? SYNTHETIC_MMAP_BASE);
    this.phaseIdx = 0;
    this.round = 0;
    this.phaseStartNs = 0;
    this.nextBatchNs = 0;
    this.nrAccesses = 0;
    this.phaseLog = [];
    this.lastIdx = config.phases.map((p) => new Float64Array(p.patterns.length));
    this.regionByName = new Map(this.regions.map((r) => [r.name, r]));
    this.done = config.phases.length === 0;
    this.started = false;
    this.subIdx = 0;
    this.patternIdx = 0;
    space.workload = this;
  }

  finished(): boolean {
    return this.done;
  }

  advance(space: SyntheticAddressSpace, fromNs: number, toNs: number): void {
    if (!this.started) {
      this.started = true;
      this.phaseStartNs = fromNs;
      this.nextBatchNs = fromNs;
      this.phaseLog.push({ name: this.config.phases[0]?.name ?? '', startNs: fromNs });
    }
    const subNs = (MASIM_BATCH * this.nsPerAccess) / this.subBatches;
    while (!this.done) {
      const t = this.nextBatchNs + this.subIdx * subNs;
      if (t >= toNs) break;
      if (this.subIdx === 0) {
        // masim checks the phase time after each batch.
        const phase = this.config.phases[this.phaseIdx]!;
        if (this.nextBatchNs - this.phaseStartNs > phase.timeMs * 1_000_000) {
          this.nextPhase();
          continue;
        }
        this.pickPattern();
      }
      this.runSubBatch(space);
      this.subIdx++;
      if (this.subIdx === this.subBatches) {
        this.subIdx = 0;
        this.nextBatchNs += MASIM_BATCH * this.nsPerAccess;
      }
    }
  }

  private nextPhase(): void {
    this.phaseIdx++;
    if (this.phaseIdx === this.config.phases.length) {
      this.phaseIdx = 0;
      this.round++;
      if (this.round === this.repeat) {
        this.done = true;
        return;
      }
    }
    this.phaseStartNs = this.nextBatchNs;
    this.phaseLog.push({ name: this.config.phases[this.phaseIdx]!.name, startNs: this.nextBatchNs });
  }

  /** Choose the next batch's pattern with probability weight / Σ weights. @kernel exec_phase (masim.c) */
  private pickPattern(): void {
    const phase = this.config.phases[this.phaseIdx]!;
    let total = 0;
    for (const p of phase.patterns) total += p.probability;
    let randn = this.prng.below(total);
    let pi = 0;
    for (; pi < phase.patterns.length; pi++) {
      if (randn < phase.patterns[pi]!.probability) break;
      randn -= phase.patterns[pi]!.probability;
    }
    this.patternIdx = pi;
  }

  /** One timed step of the current batch. @kernel do_access (masim.c) */
  private runSubBatch(space: SyntheticAddressSpace): void {
    const pat = this.config.phases[this.phaseIdx]!.patterns[this.patternIdx]!;
    const reg = this.regionByName.get(pat.region)!;
    const sub = this.subBatches;
    const perSub = Math.floor(MASIM_BATCH / sub);
    const n = this.subIdx === sub - 1 ? MASIM_BATCH - perSub * (sub - 1) : perSub;
    const seq = space.nextSeq();
    if (pat.randomAccess) space.random(reg.areaIdx, n, seq);
    else this.sequential(space, reg, pat, this.phaseIdx, this.patternIdx, n);
    this.nrAccesses += n;
  }

  /** do_seq_*: offset += stride, back to 0 past the end; paint the pages touched. */
  private sequential(
    space: SyntheticAddressSpace,
    reg: MasimLaidOutRegion,
    pat: MasimPattern,
    phaseIdx: number,
    pi: number,
    n: number,
  ): void {
    const stride = pat.strideBytes;
    const sz = reg.sizeBytes;
    const period = Math.floor((sz - 1) / stride) + 1; // offsets 0, s, ..., < sz
    const idxArr = this.lastIdx[phaseIdx]!;
    const i0 = idxArr[pi]!;
    if (n >= period) {
      this.paintStrided(space, reg, stride, 0, period - 1);
    } else {
      const first = (i0 + 1) % period;
      const end = first + n - 1;
      if (end < period) this.paintStrided(space, reg, stride, first, end);
      else {
        this.paintStrided(space, reg, stride, first, period - 1);
        this.paintStrided(space, reg, stride, 0, end - period);
      }
    }
    idxArr[pi] = (i0 + n) % period;
  }

  /** Paint the pages of offsets i·stride for i in [i0, i1]. */
  private paintStrided(
    space: SyntheticAddressSpace,
    reg: MasimLaidOutRegion,
    stride: number,
    i0: number,
    i1: number,
  ): void {
    const ps = space.pageSize;
    const seq = space.seq;
    if (stride <= ps || i1 - i0 > 4096) {
      // Contiguous pages (or, for very long strided runs, their hull).
      const a = Math.floor((i0 * stride) / ps);
      const b = Math.floor((i1 * stride) / ps) + 1;
      space.paint(reg.areaIdx, a, b, seq);
      return;
    }
    for (let i = i0; i <= i1; i++) {
      const p = Math.floor((i * stride) / ps);
      space.paint(reg.areaIdx, p, p + 1, seq);
    }
  }
}

/**
 * Map a masim config's regions into `space` as a process would: text and
 * heap low, the regions top-down below `mmapBase` (largest mmaps first in
 * config order), a libc mapping above them, and the stack at the top.
 */
export function layOutMasim(config: MasimConfig, space: SyntheticAddressSpace, mmapBase: number): MasimLaidOutRegion[] {
  const ps = space.pageSize;
  const up = (x: number): number => Math.ceil(x / ps) * ps;
  if (space.vmas.length === 0) {
    space.map(SYNTHETIC_TEXT_START, SYNTHETIC_TEXT_START + 0x3000, 'masim text', false);
    space.map(SYNTHETIC_TEXT_START + 0x203000, SYNTHETIC_TEXT_START + 0x224000, '[heap]', false);
    space.map(mmapBase, mmapBase + 0x1c7000, 'libc.so.6', false);
    space.map(SYNTHETIC_STACK.start, SYNTHETIC_STACK.end, '[stack]', false);
  }
  const out: MasimLaidOutRegion[] = [];
  let top = mmapBase;
  for (const r of config.regions) {
    const len = up(r.sizeBytes);
    const start = top - len;
    space.map(start, top, r.name, true);
    out.push({ name: r.name, start, sizeBytes: r.sizeBytes, areaIdx: space.areas.length - 1 });
    top = start;
  }
  return out;
}
