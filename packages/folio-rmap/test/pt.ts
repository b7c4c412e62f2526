/**
 * DOC: a plain page table for tests and benchmarks, implementing the
 * package's page-table view: per mm, a map from PMD index to either a PMD
 * leaf or a PTE table of typed arrays (kind, PFN or swap value, bits per
 * entry). Flushes are counted; with `locks`, each PTE table and PMD has a
 * machine spinlock, so lock discipline is checked by lockdep.
 */
import { type Machine, SpinLock } from '@mm/machine';
import {
  type PgtableView,
  PMD_LEAF,
  PMD_NONE,
  PMD_TABLE,
  PTE_DIRTY,
  PTE_NONE,
  PTE_PRESENT,
  PTE_YOUNG,
  PtEntry,
  type RmapMm,
} from '../src/index.js';

class Table {
  readonly kind: Uint8Array;
  readonly pfn: Float64Array;
  readonly bits: Int32Array;
  lock: SpinLock | null;
  constructor(n: number) {
    this.kind = new Uint8Array(n);
    this.pfn = new Float64Array(n);
    this.bits = new Int32Array(n);
    this.lock = null;
  }
}

class Slot {
  /** A PMD leaf (or non-present huge entry) when `table` is null. */
  table: Table | null;
  readonly leaf: PtEntry;
  pmdLock: SpinLock | null;
  constructor() {
    this.table = null;
    this.leaf = new PtEntry();
    this.pmdLock = null;
  }
}

/** The page tables of one mm, with a one-entry lookup cache. */
class MmTables {
  /** PMD index -> slot. */
  readonly slots = new Map<number, Slot>();
  // A walk reads a PMD and then its PTEs, and an rmap walk visits many mms
  // once each: one cached slot per mm serves both.
  lastKey = -1;
  lastSlot: Slot | null = null;
}

export class TestPageTables implements PgtableView {
  readonly ptrs: number;
  readonly pageSize: number;
  readonly pmdSize: number;
  /** `1 / pageSize` and `1 / pmdSize` (powers of two: exact), and `ptrs - 1`. */
  private readonly invPage: number;
  private readonly invPmd: number;
  private readonly idxMask: number;
  /** Per mm id. */
  private readonly mms: (MmTables | undefined)[] = [];
  private readonly machine: Machine | null;
  flushes = 0;
  flushedPages = 0;

  constructor(pageSize = 4096, ptrs = 512, machine: Machine | null = null) {
    this.pageSize = pageSize;
    this.ptrs = ptrs;
    this.pmdSize = pageSize * ptrs;
    this.invPage = 1 / pageSize;
    this.invPmd = 1 / this.pmdSize;
    this.idxMask = ptrs - 1;
    this.machine = machine;
  }

  private slot(mm: RmapMm, addr: number, create: boolean): Slot | undefined {
    const k = Math.floor(addr * this.invPmd);
    let t = this.mms[mm.mmId];
    if (t === undefined) {
      if (!create) return undefined;
      t = new MmTables();
      this.mms[mm.mmId] = t;
    }
    if (t.lastKey === k) return t.lastSlot as Slot;
    let s = t.slots.get(k);
    if (s === undefined) {
      if (!create) return undefined;
      s = new Slot();
      t.slots.set(k, s);
    }
    t.lastKey = k;
    t.lastSlot = s;
    return s;
  }

  private table(mm: RmapMm, addr: number): Table {
    const s = this.slot(mm, addr, true) as Slot;
    if (s.table === null) {
      if (s.leaf.kind !== PTE_NONE) throw new Error(`pt: PTE access under a PMD leaf at ${addr}`);
      s.table = new Table(this.ptrs);
      if (this.machine !== null) s.table.lock = new SpinLock(this.machine, 'ptlock');
    }
    return s.table;
  }

  private idx(addr: number): number {
    return Math.floor(addr * this.invPage) & this.idxMask;
  }

  /** Test setup: write a PTE. */
  setPte(mm: RmapMm, addr: number, kind: number, pfn: number, bits: number): void {
    const t = this.table(mm, addr);
    const i = this.idx(addr);
    t.kind[i] = kind;
    t.pfn[i] = pfn;
    t.bits[i] = bits;
  }

  /** Test setup: map `nr` pages from `pfn` at `addr` with `bits`. */
  mapPtes(mm: RmapMm, addr: number, pfn: number, nr: number, bits: number): void {
    for (let k = 0; k < nr; k++) this.setPte(mm, addr + k * this.pageSize, PTE_PRESENT, pfn + k, bits);
  }

  /** Test setup: a PMD leaf. */
  setPmd(mm: RmapMm, addr: number, kind: number, pfn: number, bits: number): void {
    const s = this.slot(mm, addr, true) as Slot;
    s.table = null;
    s.leaf.kind = kind;
    s.leaf.pfn = pfn;
    s.leaf.val = 0;
    s.leaf.bits = bits;
    if (this.machine !== null && s.pmdLock === null) s.pmdLock = new SpinLock(this.machine, 'pmd_lock');
  }

  /** Read a PTE into a fresh entry (tests). */
  pte(mm: RmapMm, addr: number): PtEntry {
    const e = new PtEntry();
    this.pteRead(mm, addr, e);
    return e;
  }

  /** Read a PMD leaf (tests): kind PTE_NONE when not a leaf. */
  pmd(mm: RmapMm, addr: number): PtEntry {
    const e = new PtEntry();
    if (this.pmdRead(mm, addr, e) !== PMD_LEAF) e.kind = PTE_NONE;
    return e;
  }

  /** Drop all page tables of an mm (exit). */
  dropMm(mm: RmapMm): void {
    this.mms[mm.mmId] = undefined;
  }

  // ------------------------------------------------------------ the view

  pmdRead(mm: RmapMm, addr: number, out: PtEntry): number {
    const s = this.slot(mm, addr, false);
    if (s === undefined) return PMD_NONE;
    if (s.table !== null) return PMD_TABLE;
    if (s.leaf.kind === PTE_NONE) return PMD_NONE;
    out.set(s.leaf);
    return PMD_LEAF;
  }

  pteRead(mm: RmapMm, addr: number, out: PtEntry): void {
    const s = this.slot(mm, addr, false);
    if (s === undefined || s.table === null) {
      out.kind = PTE_NONE;
      out.pfn = 0;
      out.val = 0;
      out.bits = 0;
      return;
    }
    const t = s.table;
    const i = this.idx(addr);
    const k = t.kind[i] as number;
    const x = t.pfn[i] as number;
    out.kind = k;
    if (k === 2 /* PTE_SWAP */) {
      out.pfn = 0;
      out.val = x;
    } else {
      out.pfn = x;
      out.val = 0;
    }
    out.bits = t.bits[i] as number;
  }

  pteWrite(mm: RmapMm, addr: number, e: PtEntry): void {
    const t = this.table(mm, addr);
    const i = this.idx(addr);
    t.kind[i] = e.kind;
    t.pfn[i] = e.kind === 2 ? e.val : e.pfn;
    t.bits[i] = e.bits;
  }

  pteGetAndClear(mm: RmapMm, addr: number, nr: number, out: PtEntry): void {
    const t = this.table(mm, addr);
    let i = this.idx(addr);
    this.pteRead(mm, addr, out);
    let ad = 0;
    for (let k = 0; k < nr; k++, i++) {
      ad |= (t.bits[i] as number) & (PTE_DIRTY | PTE_YOUNG);
      t.kind[i] = PTE_NONE;
      t.pfn[i] = 0;
      t.bits[i] = 0;
    }
    out.bits |= ad;
  }

  pteClearFlushYoung(mm: RmapMm, addr: number, nr: number): boolean {
    const t = this.table(mm, addr);
    let i = this.idx(addr);
    let young = false;
    for (let k = 0; k < nr; k++, i++) {
      const b = t.bits[i] as number;
      if (b & PTE_YOUNG) {
        young = true;
        t.bits[i] = b & ~PTE_YOUNG;
      }
    }
    if (young) this.flushTlbRange(mm, addr, addr + nr * this.pageSize);
    return young;
  }

  pmdWrite(mm: RmapMm, addr: number, e: PtEntry): void {
    this.setPmd(mm, addr, e.kind, e.pfn, e.bits);
  }

  pmdGetAndClear(mm: RmapMm, addr: number, out: PtEntry): void {
    const s = this.slot(mm, addr, false);
    if (s === undefined || s.table !== null) throw new Error(`pt: no PMD leaf at ${addr}`);
    out.set(s.leaf);
    s.leaf.kind = PTE_NONE;
    s.leaf.bits = 0;
  }

  pmdClearFlushYoung(mm: RmapMm, addr: number): boolean {
    const s = this.slot(mm, addr, false);
    if (s === undefined || s.table !== null) return false;
    const young = (s.leaf.bits & PTE_YOUNG) !== 0;
    s.leaf.bits &= ~PTE_YOUNG;
    if (young) this.flushTlbRange(mm, addr, addr + this.pmdSize);
    return young;
  }

  pmdPopulateTable(mm: RmapMm, addr: number): void {
    const s = this.slot(mm, addr, true) as Slot;
    if (s.leaf.kind !== PTE_NONE) throw new Error(`pt: populate over a live PMD at ${addr}`);
    s.table = new Table(this.ptrs);
    if (this.machine !== null) s.table.lock = new SpinLock(this.machine, 'ptlock');
  }

  flushTlbRange(_mm: RmapMm, start: number, end: number): void {
    this.flushes++;
    this.flushedPages += (end - start) / this.pageSize;
  }

  ptLock(mm: RmapMm, addr: number, level: number): SpinLock | null {
    if (this.machine === null) return null; // no locks: nothing to look up
    const s = this.slot(mm, addr, false);
    if (s === undefined) return null;
    return level === 0 ? (s.table?.lock ?? null) : s.pmdLock;
  }

  /** Every present or non-none PTE/PMD entry of an mm, as [addr, kind, pfn-or-val, bits, level]. */
  entries(mm: RmapMm): [number, number, number, number, number][] {
    const out: [number, number, number, number, number][] = [];
    const m = this.mms[mm.mmId];
    if (m === undefined) return out;
    for (const [k, s] of [...m.slots.entries()].sort((a, b) => a[0] - b[0])) {
      const base = k * this.pmdSize;
      if (s.table === null) {
        if (s.leaf.kind !== PTE_NONE) out.push([base, s.leaf.kind, s.leaf.pfn, s.leaf.bits, 1]);
        continue;
      }
      for (let i = 0; i < this.ptrs; i++) {
        if (s.table.kind[i] !== PTE_NONE) {
          out.push([
            base + i * this.pageSize,
            s.table.kind[i] as number,
            s.table.pfn[i] as number,
            s.table.bits[i] as number,
            0,
          ]);
        }
      }
    }
    return out;
  }
}
