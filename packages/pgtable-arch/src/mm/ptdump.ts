/**
 * DOC: ptdump: a per-level text dump of an address space with ranges of
 * equal attributes merged, and the W+X check (`mm/ptdump.c`,
 * `arch/x86/mm/dump_pagetables.c`, `arch/arm64/mm/ptdump.c`).
 *
 * The generic walk visits every entry of [start, end): each upper entry
 * first updates the effective protection of its level (x86: AND of USER and
 * RW, OR of NX along the path), a leaf is noted at its level and not
 * descended, every PTE is noted, and a missing table is noted as a hole at
 * its real depth (folded levels collapse: `real_depth()` of
 * `mm/pagewalk.c`). The architecture's `note_page()` starts a new line when
 * the protection, the effective protection, the level or the address marker
 * changes, and prints the finished range: its bounds, its size with a unit,
 * the flags, and the level.
 *
 * - x86: `0x%016lx-0x%016lx   %9lu%c ` then `USR`, `RW`/`ro`, `PWT`, `PCD`,
 *   `PSE` (levels above the PTE), `PAT`, `GLB`, `NX`/`x`, and the level name
 *   `pgd|p4d|pud|pmd|pte`; units B K M G T P E; sections as `---[ name ]---`.
 * - arm64: the same bounds, the size in K M G T P E, the level name
 *   `PGD|P4D|PUD|PMD|PTE`, then ` F`/blank (valid), `USR`, `ro`/`RW`,
 *   `NX`/`x `, `SHD`, `AF`, `NG`, `CON`, `BLK`, `UXN`, `GP` and the memory
 *   type (`MEM/NORMAL`, `DEVICE/nGnRE`, ...).
 * - other architectures: the arm64-like layout with the flags of the
 *   typed entry view (documented departure: riscv and powerpc have their own
 *   tables in the kernel).
 *
 * The dump needs ARCH_HAS_PTDUMP (the 2025 rename of GENERIC_PTDUMP; PTDUMP,
 * formerly PTDUMP_CORE, is what PTDUMP_DEBUGFS and DEBUG_WX select); the W+X
 * check needs ARCH_HAS_DEBUG_WX. A dump ends its last range at `end` (the
 * kernel's full-space dump wraps to 0).
 */
import { MmError } from '@mm/machine';
import { P4D_LEVEL, PGD_LEVEL, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import type { MmPgtables, PageTables } from '../table/page-tables.js';

/** An address marker: a section header in the dump. */
export interface PtdumpMarker {
  /** Address the section starts at. */
  readonly start: number;
  /** Section name printed. */
  readonly name: string;
}

/** Options of {@link ptdumpWalkPgd}. */
export interface PtdumpOptions {
  /** First address (default 0). */
  readonly start?: number;
  /** End of the range (default the user VA limit, capped at 2^53). */
  readonly end?: number;
  /** Section markers, sorted (default: one "User Space" section). */
  readonly markers?: readonly PtdumpMarker[];
  /** Count W+X pages (DEBUG_WX). */
  readonly checkWx?: boolean;
}

/** What a dump produced. */
export interface PtdumpResult {
  /** The dump as text. */
  readonly text: string;
  /** Pages found writable and executable (with `checkWx`). */
  readonly wxPages: number;
  /** Ranges printed. */
  readonly lines: number;
}

const X86_LEVEL = ['pgd', 'p4d', 'pud', 'pmd', 'pte'] as const;
const ARM_LEVEL = ['PGD', 'P4D', 'PUD', 'PMD', 'PTE'] as const;

function hex16(n: number): string {
  return `0x${BigInt(n).toString(16).padStart(16, '0')}`;
}

/** The size of a range as the kernel prints it: `%9lu%c` after dividing by 1024 while exact. */
function sizeUnit(delta: number, units: string): string {
  let u = 0;
  let d = delta;
  while (d % 1024 === 0 && u + 1 < units.length && d !== 0) {
    d /= 1024;
    u++;
  }
  return `${String(d).padStart(9, ' ')}${units[u]}`;
}

/** Per-architecture line format. */
interface Formatter {
  /** The protection value tracked for merging (`val & mask`), as [lo, hi]. */
  prot(v: PteVal, out: [number, number]): void;
  /** The flags column for a finished range. */
  flags(lo: number, hi: number, level: number): string;
  /** The whole line. */
  line(start: number, end: number, lo: number, hi: number, level: number): string;
  /** Effective protection of `level` given the one above (x86 only; others: the value). */
  effective(prevLo: number, prevHi: number, lo: number, hi: number, top: boolean, out: [number, number]): void;
  /** Whether an effective protection is writable and executable. */
  isWx(lo: number, hi: number): boolean;
}

const x86Format: Formatter = {
  prot(v, out) {
    // PTE_FLAGS_MASK = ~PTE_PFN_MASK (bits 12..51 excluded).
    out[0] = v.lo & 0xfff;
    out[1] = v.hi & ~0xfffff;
  },
  flags(lo, hi, level) {
    if ((lo & 1) === 0) return `${' '.repeat(30)}${X86_LEVEL[level]}`;
    let s = '';
    s += (lo & 4) !== 0 ? 'USR ' : '    ';
    s += (lo & 2) !== 0 ? 'RW ' : 'ro ';
    s += (lo & 8) !== 0 ? 'PWT ' : '    ';
    s += (lo & 0x10) !== 0 ? 'PCD ' : '    ';
    s += level <= 3 && (lo & 0x80) !== 0 ? 'PSE ' : '    ';
    s += (level === 4 && (lo & 0x80) !== 0) || ((level === 3 || level === 2) && (lo & 0x1000) !== 0) ? 'PAT ' : '    ';
    s += (lo & 0x100) !== 0 ? 'GLB ' : '    ';
    s += (hi & (1 << 31)) !== 0 ? 'NX ' : 'x  ';
    return s + X86_LEVEL[level];
  },
  line(start, end, lo, hi, level) {
    return `${hex16(start)}-${hex16(end)}   ${sizeUnit(end - start, 'BKMGTPE')} ${this.flags(lo, hi, level)}`;
  },
  effective(prevLo, prevHi, lo, hi, top, out) {
    if (top) {
      out[0] = lo;
      out[1] = hi;
      return;
    }
    out[0] = prevLo & lo & 6;
    out[1] = (prevHi | hi) & (1 << 31);
  },
  isWx(lo, hi) {
    return (lo & 2) !== 0 && (hi & (1 << 31)) === 0;
  },
};

/** arm64 `pte_bits[]`: mask, value, set text, clear text (`null`: print nothing). */
const ARM_BITS: readonly [number, number, number, number, string, string | null][] = [
  // [maskLo, maskHi, valLo, valHi, set, clear]
  [1, 0, 1, 0, ' ', 'F'],
  [1 << 6, 0, 1 << 6, 0, 'USR', '   '],
  [1 << 7, 0, 1 << 7, 0, 'ro', 'RW'],
  [0, 1 << 21, 0, 1 << 21, 'NX', 'x '],
  [3 << 8, 0, 3 << 8, 0, 'SHD', '   '],
  [1 << 10, 0, 1 << 10, 0, 'AF', '  '],
  [1 << 11, 0, 1 << 11, 0, 'NG', '  '],
  [0, 1 << 20, 0, 1 << 20, 'CON', '   '],
  [3, 0, 1, 0, 'BLK', '   '],
  [0, 1 << 22, 0, 1 << 22, 'UXN', '   '],
  [0, 1 << 18, 0, 1 << 18, 'GP', '  '],
  [7 << 2, 0, 3 << 2, 0, 'DEVICE/nGnRnE', null],
  [7 << 2, 0, 4 << 2, 0, 'DEVICE/nGnRE', null],
  [7 << 2, 0, 2 << 2, 0, 'MEM/NORMAL-NC', null],
  [7 << 2, 0, 0, 0, 'MEM/NORMAL', null],
  [7 << 2, 0, 1 << 2, 0, 'MEM/NORMAL-TAGGED', null],
];
let armMaskLo = 0;
let armMaskHi = 0;
for (const b of ARM_BITS) {
  armMaskLo |= b[0];
  armMaskHi |= b[1];
}

const arm64Format: Formatter = {
  prot(v, out) {
    out[0] = v.lo & armMaskLo;
    out[1] = v.hi & armMaskHi;
  },
  flags(lo, hi) {
    let s = '';
    for (const [mLo, mHi, vLo, vHi, set, clear] of ARM_BITS) {
      const t = (lo & mLo) === vLo && (hi & mHi) === vHi ? set : clear;
      if (t !== null) s += ` ${t}`;
    }
    return s;
  },
  line(start, end, lo, hi, level) {
    const body = `${hex16(start)}-${hex16(end)}   ${sizeUnit((end - start) / 1024, 'KMGTPE')} ${ARM_LEVEL[level]}`;
    return lo !== 0 || hi !== 0 ? body + this.flags(lo, hi, level) : body;
  },
  effective(_pl, _ph, lo, hi, _top, out) {
    out[0] = lo;
    out[1] = hi;
  },
  isWx(lo, hi) {
    // note_prot_wx(): not read-only and not privileged-execute-never.
    return (lo & (1 << 7)) === 0 && (hi & (1 << 21)) === 0;
  },
};

function genericFormat(pt: PageTables): Formatter {
  const c = pt.codec;
  const v = new PteVal();
  return {
    prot(e, out) {
      // Everything but the frame number.
      c.ptePgprot(v, e);
      out[0] = e.lo === 0 && e.hi === 0 ? 0 : v.lo;
      out[1] = e.lo === 0 && e.hi === 0 ? 0 : v.hi;
    },
    flags(lo, hi) {
      v.setWords(lo, hi);
      if (!c.ptePresent(v)) return '';
      return ` ${c.pteUser(v) ? 'USR' : '   '} ${c.pteWrite(v) ? 'RW' : 'ro'} ${c.pteExec(v) ? 'x ' : 'NX'} ${c.pteYoung(v) ? 'A' : ' '} ${c.pteDirty(v) ? 'D' : ' '} ${c.pteGlobal(v) ? 'G' : ' '}`;
    },
    line(start, end, lo, hi, level) {
      return `${hex16(start)}-${hex16(end)}   ${sizeUnit((end - start) / 1024, 'KMGTPE')} ${ARM_LEVEL[level]}${this.flags(lo, hi, level)}`;
    },
    effective(_pl, _ph, lo, hi, _top, out) {
      out[0] = lo;
      out[1] = hi;
    },
    isWx(lo, hi) {
      v.setWords(lo, hi);
      return c.ptePresent(v) && c.pteWrite(v) && c.pteExec(v);
    },
  };
}

/** The state of a dump (`struct pg_state` / `struct ptdump_pg_state`). */
class DumpState {
  level = -1;
  startAddress = 0;
  curLo = 0;
  curHi = 0;
  effLo = 0;
  effHi = 0;
  markerIndex = 0;
  lines = 0;
  wxPages = 0;
  readonly out: string[] = [];
  readonly effLevels: [number, number][] = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];

  constructor(
    readonly f: Formatter,
    readonly markers: readonly PtdumpMarker[],
    readonly checkWx: boolean,
    readonly pageSize: number,
    readonly x86: boolean,
  ) {}

  private scratch: [number, number] = [0, 0];

  /** Update the effective protection of `depth` from an entry value. */
  effective(depth: number, v: PteVal): void {
    const p = this.scratch;
    this.f.prot(v, p);
    const prev = depth > 0 ? this.effLevels[depth - 1]! : [0, 0];
    const e = this.effLevels[depth]!;
    const o: [number, number] = [0, 0];
    this.f.effective(prev[0]!, prev[1]!, p[0], p[1], depth === 0, o);
    e[0] = o[0];
    e[1] = o[1];
  }

  /** `note_page()`: one entry (or hole) of `depth` at `addr`. */
  note(addr: number, depth: number, v: PteVal | null): void {
    const p = this.scratch;
    if (v === null) {
      p[0] = 0;
      p[1] = 0;
    } else this.f.prot(v, p);
    const zero = v === null || (v.lo === 0 && v.hi === 0);
    const nEffLo = zero || depth < 0 ? 0 : this.effLevels[depth]![0];
    const nEffHi = zero || depth < 0 ? 0 : this.effLevels[depth]![1];
    const next = this.markers[this.markerIndex + 1];
    if (this.level === -1) {
      this.curLo = p[0];
      this.curHi = p[1];
      this.effLo = nEffLo;
      this.effHi = nEffHi;
      this.level = depth;
      this.startAddress = addr;
      this.out.push(`---[ ${this.markers[0]!.name} ]---`);
      return;
    }
    const markerBreak = next !== undefined && addr >= next.start;
    const effChanged = this.x86 && (nEffLo !== this.effLo || nEffHi !== this.effHi);
    if (p[0] !== this.curLo || p[1] !== this.curHi || effChanged || depth !== this.level || markerBreak) {
      if (this.checkWx) {
        const lo = this.x86 ? this.effLo : this.curLo;
        const hi = this.x86 ? this.effHi : this.curHi;
        if ((lo !== 0 || hi !== 0) && this.f.isWx(lo, hi)) this.wxPages += (addr - this.startAddress) / this.pageSize;
      }
      this.out.push(this.f.line(this.startAddress, addr, this.curLo, this.curHi, this.level));
      this.lines++;
      if (markerBreak) {
        this.markerIndex++;
        this.out.push(`---[ ${this.markers[this.markerIndex]!.name} ]---`);
      }
      this.startAddress = addr;
      this.curLo = p[0];
      this.curHi = p[1];
      this.effLo = nEffLo;
      this.effHi = nEffHi;
      this.level = depth;
    }
  }
}

/** `real_depth()` of a table level: folded levels collapse upwards. */
function realDepth(pt: PageTables, level: number): number {
  let depth = 4 - level;
  if (depth === 3 && pt.ptrs[PMD_LEVEL] === 1) depth = 2;
  if (depth === 2 && pt.ptrs[PUD_LEVEL] === 1) depth = 1;
  if (depth === 1 && pt.ptrs[P4D_LEVEL] === 1) depth = 0;
  return depth;
}

/**
 * Dump the page tables of `mm` over [start, end).
 * @throws MmError EOPNOTSUPP without ARCH_HAS_PTDUMP.
 * @remarks Context: the mmap write lock (the kernel takes it, and init_mm's).
 * @kernel ptdump_walk_pgd (mm/ptdump.c) with the architecture's note_page()
 */
export function ptdumpWalkPgd(mm: MmPgtables, options: PtdumpOptions = {}): PtdumpResult {
  const pt = mm.pt;
  if (!pt.desc.hasPtdump) throw new MmError('EOPNOTSUPP', `pgtable: ${pt.desc.name} does not select ARCH_HAS_PTDUMP`);
  const start = options.start ?? 0;
  const end = options.end ?? pt.addrLimit;
  const markers = options.markers ?? [{ start: 0, name: 'User Space' }];
  const family = pt.desc.family;
  const x86 = family === 'x86_64' || family === 'x86';
  const f = x86 ? x86Format : family === 'arm64' ? arm64Format : genericFormat(pt);
  const st = new DumpState(f, markers, options.checkWx === true, pt.pageSize, x86);
  const codec = pt.codec;
  const v = new PteVal();
  const walk = (level: number, table: number, base: number): void => {
    const pool = pt.pools[level]!;
    const ptrs = pool.ptrs;
    const size = pt.levelSize(level);
    // The logical levels this table's entries stand for, top first.
    let low = level;
    while (low > 0 && pt.host[low - 1] === level) low--;
    for (let i = 0; i < ptrs; i++) {
      const addr = base + i * size;
      if (addr + size <= start) continue;
      if (addr >= end) return;
      pt.readEntry(level, table * ptrs + i, v);
      if (level === PTE_LEVEL) {
        st.effective(4, v);
        st.note(addr, 4, v);
        continue;
      }
      for (let l = level; l >= low; l--) st.effective(4 - l, v);
      if (v.lo === 0 && v.hi === 0) {
        st.note(addr, realDepth(pt, level), null);
        continue;
      }
      let leaf = -1;
      for (let l = level; l >= low; l--) {
        if ((l === PMD_LEVEL && (codec.pmdLeaf(v) || !codec.pmdPresent(v))) || (l === PUD_LEVEL && codec.pudLeaf(v))) {
          leaf = l;
          break;
        }
      }
      if (leaf >= 0) {
        st.note(addr, 4 - leaf, v);
        continue;
      }
      if (codec.tableEntryOk(v, level as 1 | 2 | 3 | 4)) {
        walk(pt.below[level]!, pt.tableOfPfn(codec.tableEntryPfn(v, level as 1 | 2 | 3 | 4)), addr);
        continue;
      }
      st.note(addr, 4 - low, v);
    }
  };
  walk(PGD_LEVEL, mm.pgd, 0);
  // note_page_flush(): close the last range at `end`.
  st.note(end, -1, null);
  return { text: `${st.out.join('\n')}\n`, wxPages: st.wxPages, lines: st.lines };
}

/**
 * The one-time W+X check of DEBUG_WX over `mm` (the kernel checks init_mm):
 * counts pages both writable and executable and reports like the kernel.
 * @returns whether it passed, the pages found, and the kernel's messages.
 * @kernel ptdump_check_wx / ptdump_walk_pgd_level_checkwx (mm/ptdump.c, arch/x86/mm/dump_pagetables.c)
 */
export function ptdumpCheckWx(
  mm: MmPgtables,
  options: Omit<PtdumpOptions, 'checkWx'> = {},
): {
  /** No W+X page was found. */
  passed: boolean;
  /** W+X pages found. */
  wxPages: number;
  /** What the kernel would log. */
  messages: string[];
} {
  const pt = mm.pt;
  if (!pt.desc.hasDebugWx)
    throw new MmError('EOPNOTSUPP', `pgtable: ${pt.desc.name} does not select ARCH_HAS_DEBUG_WX`);
  const r = ptdumpWalkPgd(mm, { ...options, checkWx: true });
  const x86 = pt.desc.family === 'x86_64' || pt.desc.family === 'x86';
  const messages: string[] = [];
  if (r.wxPages > 0 && x86) messages.push('x86/mm: Found insecure W+X mapping');
  messages.push(
    r.wxPages > 0
      ? `${x86 ? 'x86/mm' : 'ptdump'}: Checked W+X mappings: failed, ${r.wxPages} W+X pages found.`
      : `${x86 ? 'x86/mm' : 'ptdump'}: Checked W+X mappings: passed, no W+X pages found.`,
  );
  return { passed: r.wxPages === 0, wxPages: r.wxPages, messages };
}
