/**
 * DOC: a standalone synthetic process address space, so DAMON can be run
 * and studied without the kernel model: mappings (VMAs), an accessed bit per
 * page kept lazily by {@link AccessArea}, a workload that generates accesses
 * as virtual time passes, and a log of the madvise() calls DAMOS makes.
 *
 * It implements {@link DamonMmView}, so the kernel's vaddr operations set
 * monitors it exactly as it would monitor a real process: three initial
 * regions around the two biggest gaps, test-and-clear of the accessed bit at
 * each sampling address, madvise() for DAMOS actions. Time comes from the
 * machine's clock: every query first lets the workload run up to "now".
 *
 * For the ground-truth accuracy report the space can also log, per DAMON
 * sampling interval, which ranges were touched ({@link TouchLog}).
 */
import { type Machine, MmError } from '@mm/machine';
import type { DamonFolioView } from '../ops/ops-common.js';
import { type DamonMmView, type DamonVaddrEnv, MADV_PAGEOUT } from '../ops/vaddr.js';
import { AccessArea } from './access-area.js';

/** A mapping of the synthetic address space. */
export interface SyntheticVma {
  /** First address. */
  readonly start: number;
  /** End address (exclusive). */
  readonly end: number;
  /** Name of the mapping (a masim region, `[stack]`, ...). */
  readonly name: string;
  /** The access state when the workload may touch this mapping, else null. */
  readonly area: AccessArea | null;
}

/** A madvise() call DAMOS made (what would be applied). */
export interface SyntheticMadvise {
  /** Virtual time of the call (ns). */
  readonly timeNs: number;
  /** First address. */
  readonly start: number;
  /** Length in bytes. */
  readonly len: number;
  /** The `MADV_*` advice. */
  readonly behavior: number;
}

/** Something that generates accesses on a {@link SyntheticAddressSpace} as time passes. */
export interface SyntheticWorkload {
  /** Generate the accesses of virtual time [fromNs, toNs). */
  advance(space: SyntheticAddressSpace, fromNs: number, toNs: number): void;
  /** True once the workload has ended (the process exits). */
  finished(): boolean;
}

/** Ranges touched during one sampling interval (for the accuracy report). */
export interface TouchLog {
  /** Painted ranges: area index, first page, end page (flat triples). */
  readonly paints: number[];
  /** Random batches: area index, accesses (flat pairs). */
  readonly randoms: number[];
}

/** Options of {@link SyntheticAddressSpace}. */
export interface SyntheticAddressSpaceOptions {
  /** Clock source (virtual ns); default: a manual clock advanced with {@link SyntheticAddressSpace.advanceTo}. */
  readonly machine?: Machine;
  /** Page size in bytes (default 4096). */
  readonly pageSize?: number;
  /** The process id the space stands for (DAMON target pid). */
  readonly pid?: number;
  /** Keep at most this many madvise() entries (the counters keep counting). */
  readonly madviseLogLimit?: number;
}

/**
 * A synthetic process address space (see the file header).
 */
export class SyntheticAddressSpace implements DamonMmView {
  readonly pageSize: number;
  /** log2 of `pageSize`. */
  readonly pageShift: number;
  /** The process id DAMON targets. */
  readonly pid: number;
  /** The machine whose clock drives the space, or null (manual clock). */
  readonly machine: Machine | null;
  /** Mappings in address order. */
  readonly vmas: SyntheticVma[];
  /** The access areas, in the order they were mapped. */
  readonly areas: AccessArea[];
  /** The workload, or null. */
  workload: SyntheticWorkload | null;
  /** Virtual time up to which the workload has run. */
  nowNs: number;
  /** Access batch sequence number (see AccessArea). */
  seq: number;
  /** madvise() calls, oldest first (capped). */
  readonly madviseLog: SyntheticMadvise[];
  /** Bytes passed to madvise(), per behavior. */
  readonly madviseBytes: Map<number, number>;
  /** Base pages DAMOS migrated, per destination node. */
  readonly migratedPages: Map<number, number>;
  /** Whether the process has exited. */
  exited: boolean;
  /** The touch log of the current interval, when ground truth is recorded. */
  touchLog: TouchLog | null;
  private readonly madviseLogLimit: number;
  private lastVma: number;
  private manualNs: number;
  private readonly folioView: DamonFolioView;

  constructor(opts: SyntheticAddressSpaceOptions = {}) {
    const pageSize = opts.pageSize ?? opts.machine?.config.pageSize ?? 4096;
    if (!(pageSize > 0 && (pageSize & (pageSize - 1)) === 0)) {
      throw new MmError('EINVAL', `synthetic: page size ${pageSize} is not a power of two`);
    }
    this.pageSize = pageSize;
    this.pageShift = Math.log2(pageSize);
    this.pid = opts.pid ?? 1000;
    this.machine = opts.machine ?? null;
    this.vmas = [];
    this.areas = [];
    this.workload = null;
    this.nowNs = 0;
    this.seq = 1;
    this.madviseLog = [];
    this.madviseBytes = new Map();
    this.migratedPages = new Map();
    this.exited = false;
    this.touchLog = null;
    this.madviseLogLimit = opts.madviseLogLimit ?? 10_000;
    this.lastVma = 0;
    this.manualNs = 0;
    this.folioView = makeFolioView(this);
  }

  /**
   * Map `[start, end)` named `name`; `accessible` mappings get an access
   * area the workload can touch. Returns the area (or null).
   * @throws MmError EINVAL for an unaligned, empty or overlapping range.
   */
  map(start: number, end: number, name: string, accessible = true): AccessArea | null {
    if (start % this.pageSize !== 0 || end % this.pageSize !== 0 || !(start < end)) {
      throw new MmError('EINVAL', `synthetic: mapping [${start}, ${end}) is empty or not page aligned`);
    }
    for (const v of this.vmas) {
      if (start < v.end && v.start < end) {
        throw new MmError('EEXIST', `synthetic: [${start}, ${end}) overlaps ${v.name} [${v.start}, ${v.end})`);
      }
    }
    const area = accessible
      ? new AccessArea(start, (end - start) / this.pageSize, this.pageShift, this.areas.length * 0x3c6ef372 + this.pid)
      : null;
    if (area !== null) this.areas.push(area);
    this.vmas.push({ start, end, name, area });
    this.vmas.sort((a, b) => a.start - b.start);
    return area;
  }

  /** Current virtual time: the machine clock, or the manual clock. */
  clockNs(): number {
    return this.machine === null ? this.manualNs : this.machine.clock.now;
  }

  /** Run the workload up to `tNs` (and, without a machine, move the manual clock there). */
  advanceTo(tNs: number): void {
    if (this.machine === null && tNs > this.manualNs) this.manualNs = tNs;
    if (tNs <= this.nowNs) return;
    const w = this.workload;
    if (w !== null && !this.exited) {
      w.advance(this, this.nowNs, tNs);
      if (w.finished()) this.exited = true;
    }
    this.nowNs = tNs;
  }

  private sync(): void {
    const t = this.clockNs();
    if (t > this.nowNs) this.advanceTo(t);
  }

  /** The VMA containing `addr`, or -1. */
  vmaIndexOf(addr: number): number {
    const vmas = this.vmas;
    const last = vmas[this.lastVma];
    if (last !== undefined && last.start <= addr && addr < last.end) return this.lastVma;
    let lo = 0;
    let hi = vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = vmas[mid]!;
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else {
        this.lastVma = mid;
        return mid;
      }
    }
    return -1;
  }

  /** Next access batch sequence number. */
  nextSeq(): number {
    return ++this.seq;
  }

  /** Workload helper: pages [a, b) of `area` touched now. */
  paint(areaIdx: number, a: number, b: number, seq: number): void {
    this.areas[areaIdx]!.paint(a, b, seq);
    const log = this.touchLog;
    if (log !== null) log.paints.push(areaIdx, a, b);
  }

  /** Workload helper: `n` uniform random accesses over `area` now. */
  random(areaIdx: number, n: number, seq: number): void {
    this.areas[areaIdx]!.randomBatch(n, seq);
    const log = this.touchLog;
    if (log !== null) log.randoms.push(areaIdx, n);
  }

  forEachVma(fn: (start: number, end: number) => void): void {
    for (const v of this.vmas) fn(v.start, v.end);
  }

  mkold(addr: number): void {
    this.sync();
    const i = this.vmaIndexOf(addr);
    if (i < 0) return;
    const area = this.vmas[i]!.area;
    if (area === null) return;
    area.mkold(Math.floor((addr - area.start) / this.pageSize), this.seq);
  }

  mkoldBatch(addrs: Float64Array, count: number): void {
    this.sync();
    const seq = this.seq;
    // The page size is a power of two, so × 1/ps is exact: no division per address.
    const inv = 1 / this.pageSize;
    for (let i = 0; i < count; i++) {
      const addr = addrs[i]!;
      const vi = this.vmaIndexOf(addr);
      if (vi < 0) continue;
      const area = this.vmas[vi]!.area;
      if (area === null) continue;
      area.mkold(Math.floor((addr - area.start) * inv), seq);
    }
  }

  youngBatch(addrs: Float64Array, count: number, out: Float64Array): void {
    this.sync();
    const ps = this.pageSize;
    const inv = 1 / ps;
    for (let i = 0; i < count; i++) {
      const addr = addrs[i]!;
      const vi = this.vmaIndexOf(addr);
      const area = vi < 0 ? null : this.vmas[vi]!.area;
      out[i] = area?.young(Math.floor((addr - area.start) * inv)) ? ps : 0;
    }
  }

  young(addr: number): number {
    this.sync();
    const i = this.vmaIndexOf(addr);
    if (i < 0) return 0;
    const area = this.vmas[i]!.area;
    if (area === null) return 0;
    return area.young(Math.floor((addr - area.start) / this.pageSize)) ? this.pageSize : 0;
  }

  madvise(start: number, len: number, behavior: number): number {
    this.sync();
    if (this.exited) return -3; // -ESRCH
    if (this.madviseLog.length < this.madviseLogLimit) {
      this.madviseLog.push({ timeNs: this.nowNs, start, len, behavior });
    }
    this.madviseBytes.set(behavior, (this.madviseBytes.get(behavior) ?? 0) + len);
    if (behavior === MADV_PAGEOUT) {
      // Reclaimed pages are no longer mapped: old until touched again.
      for (const v of this.vmas) {
        if (v.area === null || v.end <= start || start + len <= v.start) continue;
        const a = Math.max(start, v.start) - v.start;
        const b = Math.min(start + len, v.end) - v.start;
        v.area.clearRange(Math.floor(a / this.pageSize), Math.ceil(b / this.pageSize), this.seq);
      }
    }
    return 0;
  }

  get folios(): DamonFolioView {
    return this.folioView;
  }

  walkFolios(start: number, end: number, visit: (folio: number, addr: number) => void): void {
    this.sync();
    const ps = this.pageSize;
    for (const v of this.vmas) {
      if (v.area === null || v.end <= start || end <= v.start) continue;
      const a = Math.max(start, v.start);
      const b = Math.min(end, v.end);
      for (let addr = a - (a % ps); addr < b; addr += ps) {
        const p = (addr - v.start) / ps;
        // Present once touched: a page never touched has no PTE.
        if (v.area.touchedSince(p, 0)) visit(addr / ps, addr);
      }
    }
  }

  migrateFolios(folios: readonly number[], nid: number): number {
    // Base-page folios; recorded as what would be applied.
    this.migratedPages.set(nid, (this.migratedPages.get(nid) ?? 0) + folios.length);
    return folios.length;
  }

  /** Bytes of all mappings. */
  totalMappedBytes(): number {
    let n = 0;
    for (const v of this.vmas) n += v.end - v.start;
    return n;
  }

  /** Validate every area; an error message or null. */
  validate(): string | null {
    for (let i = 1; i < this.vmas.length; i++) {
      if (this.vmas[i - 1]!.end > this.vmas[i]!.start) return `synthetic: mappings ${i - 1} and ${i} overlap`;
    }
    for (const a of this.areas) {
      const e = a.validate();
      if (e !== null) return e;
    }
    return null;
  }
}

/** The folio view of a synthetic space: base pages, anonymous, node 0, no memcg. */
function makeFolioView(space: SyntheticAddressSpace): DamonFolioView {
  const pageOf = (folio: number): { area: AccessArea | null; p: number } => {
    const addr = folio * space.pageSize;
    const i = space.vmaIndexOf(addr);
    const v = i < 0 ? undefined : space.vmas[i];
    if (v === undefined || v.area === null) return { area: null, p: 0 };
    return { area: v.area, p: (addr - v.start) / space.pageSize };
  };
  return {
    pageSize: space.pageSize,
    getFolio: (pfn) => (pageOf(pfn).area === null ? -1 : pfn),
    folioSize: () => space.pageSize,
    folioMapped: () => true,
    folioTrylock: () => true,
    folioUnlock: () => {},
    folioTestIdle: (f) => {
      const { area, p } = pageOf(f);
      return area === null || !area.young(p);
    },
    folioSetIdle: () => {},
    folioSetYoung: () => {},
    rmapTestAndClearYoung: (f) => {
      const { area, p } = pageOf(f);
      return area === null ? false : area.testAndClearYoung(p, space.seq);
    },
    rmapTestYoung: (f) => {
      const { area, p } = pageOf(f);
      return area === null ? false : area.young(p);
    },
    folioTestAnon: () => true,
    folioTestActive: (f) => {
      const { area, p } = pageOf(f);
      return area === null ? false : area.young(p);
    },
    folioMemcgId: () => -1,
    folioNid: () => 0,
  };
}

/** A vaddr environment over synthetic spaces, looked up by pid. */
export function syntheticVaddrEnv(spaces: readonly SyntheticAddressSpace[], machine?: Machine): DamonVaddrEnv {
  const byPid = new Map(spaces.map((s) => [s.pid, s]));
  return {
    getMm(pid: number): DamonMmView | null {
      const s = byPid.get(pid);
      if (s === undefined) return null;
      s.advanceTo(s.clockNs());
      return s.exited ? null : s;
    },
    ...(machine === undefined ? {} : { machine }),
  };
}
