/**
 * DOC: the hardware page-table walkers `@mm/machine`'s MMU calls on a TLB
 * miss (its `HardwareWalker` interface).
 *
 * A walk starts at the PFN in `as.root` (CR3 / TTBR0 / satp), goes down the
 * configuration's unfolded levels reading one entry each, and stops at a
 * leaf (a PTE, or a PMD/PUD block where the hardware allows one) or at a
 * missing entry. It checks the access against the permissions of the whole
 * path as that hardware does, sets the accessed bit (and the dirty bit for a
 * permitted write) where that hardware updates them, and returns the leaf's
 * frame and size so that the TLB can cache 2M/1G entries (an arm64
 * contiguous block reports its block size; the machine's TLB splinters sizes
 * it has no entries for). A missing translation is `WALK_NOT_PRESENT`; a
 * translation that forbids the access, an access-flag fault (arm64 without
 * FEAT_HAFDBS, riscv with Svade) or a reserved encoding is `WALK_PROT`: the
 * machine turns them into the x86-style error code the fault handler reads.
 *
 * | family | present | leaf | permissions along the path | A/D by hardware |
 * | --- | --- | --- | --- | --- |
 * | x86 | P | PTE; PSE at PMD/PUD | AND of RW and U/S, OR of NX; CR0.WP | A on every level used, D on the leaf |
 * | arm64 | VALID | PTE (type page); type block at PMD/PUD | AP[2:1] of the leaf, UXN/PXN with UXNTable/PXNTable; DBM | with FEAT_HAFDBS: AF, and DBM clears RDONLY |
 * | riscv | V | any level with R/W/X | leaf R/W/X/U | with Svadu only |
 * | generic (ppc64, sparc64) | PRESENT | PTE; LEAF at PMD/PUD | leaf WRITE/USER/EXEC | per descriptor |
 *
 * One class per family keeps each walk loop monomorphic.
 */
import {
  type AddressSpace,
  type HardwareWalker,
  MMU_EXEC,
  MMU_USER,
  MMU_WRITE,
  TLB_DIRTY,
  TLB_GLOBAL,
  TLB_NX,
  TLB_USER,
  TLB_WRITE,
  WALK_NOT_PRESENT,
  WALK_OK,
  WALK_PROT,
  type WalkResult,
} from '@mm/machine';
import type { PageTables } from './page-tables.js';
import { CHUNK_SLOTS_MASK, CHUNK_SLOTS_SHIFT, type TablePool } from './ptdesc.js';

/** Walker geometry shared by the families: the unfolded levels from the top. */
class WalkGeometry {
  /** Unfolded levels, top (PGD) first. */
  readonly levels: Int32Array;
  /** Per walk step: table pool chunks. */
  readonly chunks: Int32Array[][];
  /** Per walk step: 2^-shift. */
  readonly inv: Float64Array;
  /** Per walk step: ptrs - 1. */
  readonly mask: Int32Array;
  /** Per walk step: log2 ptrs. */
  readonly ptrsShift: Int32Array;
  /** Per walk step: the shift (bytes an entry maps). */
  readonly shift: Int32Array;
  /** Per walk step: a leaf is allowed here (1) or not (0). */
  readonly leafOk: Uint8Array;
  readonly steps: number;
  readonly sections: readonly ({ private: Float64Array } | undefined)[];
  readonly secShift: number;
  readonly secMask: number;
  readonly addrLimit: number;

  constructor(pt: PageTables) {
    const lv: number[] = [];
    for (let l = 4; l >= 0; l--) if (pt.folded[l] === 0) lv.push(l);
    this.steps = lv.length;
    this.levels = Int32Array.from(lv);
    this.chunks = lv.map((l) => pt.pools[l]!.chunks);
    this.inv = Float64Array.from(lv.map((l) => pt.inv[l]!));
    this.mask = Int32Array.from(lv.map((l) => pt.ptrs[l]! - 1));
    this.ptrsShift = Int32Array.from(lv.map((l) => Math.log2(pt.ptrs[l]!)));
    this.shift = Int32Array.from(lv.map((l) => pt.shift[l]!));
    this.leafOk = Uint8Array.from(
      lv.map((l) => {
        if (l === 0) return 1;
        let ok = 0;
        for (let k = 1; k <= 4; k++) if (pt.host[k] === l && (pt.desc.leafLevels >>> k) & 1) ok = 1;
        return ok;
      }),
    );
    const memmap = pt.machine.mem.memmap;
    this.sections = memmap.sections;
    this.secShift = memmap.sectionShift;
    this.secMask = memmap.sectionMask;
    this.addrLimit = pt.addrLimit;
  }

  table(pfn: number): number {
    const s = this.sections[pfn >>> this.secShift];
    if (s === undefined) return -1;
    return s.private[pfn & this.secMask]!;
  }
}

/**
 * The child-table cache of a walker: for each entry slot of an upper-level
 * table, the index of the table that entry last led to. A hit replaces the
 * memmap lookup (section, then the page's `private` word) by one typed-array
 * load. It is never trusted blindly: a cached index counts only while the
 * child pool records the very frame the entry points to (`pool.pfn[t] ===
 * pfn`), and a live table page belongs to one table index at a time, so an
 * entry that changed, or a table freed and its index or page reused, is a
 * miss that goes back to the memmap. Nothing has to invalidate it.
 */
class ChildCache {
  /** Per walk step above the last: cached child index per slot (length grows with the pool). */
  readonly slots: Int32Array[];
  /** Per walk step above the last: the pool of the child tables. */
  readonly childPools: TablePool[];
  /** Per walk step above the last: the pool of the tables read at that step. */
  readonly pools: TablePool[];
  /** The pool of the top-level tables. */
  readonly rootPool: TablePool;
  /** The table index of the root frame last walked from (validated like the slots). */
  rootTable: number;

  constructor(pt: PageTables, levels: Int32Array) {
    this.slots = [];
    this.childPools = [];
    this.pools = [];
    this.rootPool = pt.pools[levels[0]!]!;
    this.rootTable = 0;
    for (let i = 0; i + 1 < levels.length; i++) {
      this.slots.push(new Int32Array(0));
      this.pools.push(pt.pools[levels[i]!]!);
      this.childPools.push(pt.pools[levels[i + 1]!]!);
    }
  }

  /**
   * The miss path: resolve `pfn` through the memmap and remember the answer
   * for `slot` of step `i` (growing the step's array to the pool's capacity).
   */
  fill(g: WalkGeometry, i: number, slot: number, pfn: number): number {
    const sec = g.sections[pfn >>> g.secShift];
    if (sec === undefined) return -1;
    const t = sec.private[pfn & g.secMask]! | 0;
    let a = this.slots[i]!;
    if (slot >= a.length) {
      const pool = this.pools[i]!;
      const n = new Int32Array(Math.max(slot + 1, pool.capacity << pool.ptrsShift));
      n.set(a);
      this.slots[i] = a = n;
    }
    a[slot] = t;
    return t;
  }

  /** Host bytes of the cached slots. */
  hostBytes(): number {
    let b = 0;
    for (const a of this.slots) b += a.byteLength;
    return b;
  }
}

/** The x86 walker (4- and 5-level, and 2-level 32-bit). */
export class X86Walker implements HardwareWalker {
  private readonly g: WalkGeometry;
  private readonly cache: ChildCache;
  /** Walks done. */
  nrWalks: number;

  /** x86-64 4-level paging with 512-entry tables (the {@link walk4} fast path applies). */
  private readonly four: boolean;

  constructor(pt: PageTables) {
    this.g = new WalkGeometry(pt);
    this.cache = new ChildCache(pt, this.g.levels);
    this.nrWalks = 0;
    const g = this.g;
    this.four =
      g.steps === 4 && Array.from(g.mask).every((m) => m === 511) && Array.from(g.shift).join() === '39,30,21,12';
  }

  /** Host bytes of the walker's child-table cache. */
  hostBytes(): number {
    return this.cache.hostBytes();
  }

  walk(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number {
    if (this.four) {
      const r = this.walk4(as, vaddr, kind, out);
      if (r >= 0) return r;
    }
    return this.walkAny(as, vaddr, kind, out);
  }

  /**
   * x86-64 4-level paging, the common case only: three present table
   * entries whose child tables the cache knows, and a present PTE that
   * allows the access. Anything else (-1) goes to {@link walkAny}, which
   * walks again from the top (setting accessed bits twice is harmless).
   */
  private walk4(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number {
    const g = this.g;
    if (vaddr >= g.addrLimit) return -1;
    const cache = this.cache;
    let t = cache.rootTable;
    if (cache.rootPool.pfn[t] !== as.root) return -1;
    const chunksAt = g.chunks;
    const slots = cache.slots;
    const pools = cache.childPools;
    // PGD, PUD, PMD (512 entries each, shifts 39, 30, 21), unrolled.
    let s = (t << 9) + ((vaddr * 1.8189894035458565e-12) & 511);
    let c = chunksAt[0]![s >>> CHUNK_SLOTS_SHIFT]!;
    let o = (s & CHUNK_SLOTS_MASK) << 1;
    let lo = c[o]!;
    let hi = c[o + 1]!;
    // Present, accessed, not a leaf; and the cached child is the table the entry points to.
    if ((lo & 0xa1) !== 0x21) return -1;
    t = slots[0]![s]!;
    if (pools[0]!.pfn[t] !== (((lo >>> 12) + (hi & 0xfffff) * 1048576) | 0)) return -1;
    let rw = lo >>> 1;
    let us = lo >>> 2;
    let nx = hi >>> 31;
    s = (t << 9) + ((vaddr * 9.313225746154785e-10) & 511);
    c = chunksAt[1]![s >>> CHUNK_SLOTS_SHIFT]!;
    o = (s & CHUNK_SLOTS_MASK) << 1;
    lo = c[o]!;
    hi = c[o + 1]!;
    if ((lo & 0xa1) !== 0x21) return -1;
    t = slots[1]![s]!;
    if (pools[1]!.pfn[t] !== (((lo >>> 12) + (hi & 0xfffff) * 1048576) | 0)) return -1;
    rw &= lo >>> 1;
    us &= lo >>> 2;
    nx |= hi >>> 31;
    s = (t << 9) + ((vaddr * 4.76837158203125e-7) & 511);
    c = chunksAt[2]![s >>> CHUNK_SLOTS_SHIFT]!;
    o = (s & CHUNK_SLOTS_MASK) << 1;
    lo = c[o]!;
    hi = c[o + 1]!;
    if ((lo & 0xa1) !== 0x21) return -1;
    t = slots[2]![s]!;
    if (pools[2]!.pfn[t] !== (((lo >>> 12) + (hi & 0xfffff) * 1048576) | 0)) return -1;
    rw &= lo >>> 1;
    us &= lo >>> 2;
    nx |= hi >>> 31;
    s = (t << 9) + ((vaddr * 0.000244140625) & 511);
    c = chunksAt[3]![s >>> CHUNK_SLOTS_SHIFT]!;
    o = (s & CHUNK_SLOTS_MASK) << 1;
    lo = c[o]!;
    hi = c[o + 1]!;
    if ((lo & 1) === 0) return -1;
    rw &= lo >>> 1;
    us &= lo >>> 2;
    nx |= hi >>> 31;
    if ((kind & MMU_USER) !== 0 && (us & 1) === 0) return -1;
    if ((kind & MMU_WRITE) !== 0 && (rw & 1) === 0) return -1;
    if ((kind & MMU_EXEC) !== 0 && nx !== 0) return -1;
    this.nrWalks++;
    let nlo = lo | 0x20;
    if ((kind & MMU_WRITE) !== 0) nlo |= 0x40;
    if (nlo !== lo) c[o] = lo = nlo;
    out.levels = 4;
    out.pfn = (lo >>> 12) + (hi & 0xfffff) * 1048576;
    out.shift = 12;
    out.flags =
      ((rw & 1) !== 0 ? TLB_WRITE : 0) |
      ((us & 1) !== 0 ? TLB_USER : 0) |
      (nx !== 0 ? TLB_NX : 0) |
      ((lo & 0x40) !== 0 ? TLB_DIRTY : 0) |
      ((lo & 0x100) !== 0 ? TLB_GLOBAL : 0);
    return WALK_OK;
  }

  /** Any x86 configuration, any outcome. */
  private walkAny(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number {
    const g = this.g;
    this.nrWalks++;
    if (vaddr >= g.addrLimit) return WALK_NOT_PRESENT;
    // Hoisted for the loop: V8 keeps them in registers.
    const steps = g.steps;
    const chunksAt = g.chunks;
    const inv = g.inv;
    const mask = g.mask;
    const ptrsShift = g.ptrsShift;
    const cache = this.cache;
    const cacheSlots = cache.slots;
    const childPools = cache.childPools;
    const root = as.root;
    let t = cache.rootTable;
    if (cache.rootPool.pfn[t] !== root) cache.rootTable = t = g.table(root);
    let rw = 1;
    let us = 1;
    let nx = 0;
    for (let i = 0; i < steps; i++) {
      const s = (t << ptrsShift[i]!) + ((vaddr * inv[i]!) & mask[i]!);
      const c = chunksAt[i]![s >>> CHUNK_SLOTS_SHIFT]!;
      const o = (s & CHUNK_SLOTS_MASK) << 1;
      let lo = c[o]!;
      const hi = c[o + 1]!;
      if ((lo & 1) === 0) {
        out.levels = i + 1;
        return WALK_NOT_PRESENT;
      }
      rw &= lo >>> 1;
      us &= lo >>> 2;
      nx |= hi >>> 31;
      const last = i === steps - 1;
      const leaf = last || (lo & 0x80) !== 0;
      if (leaf && !last && g.leafOk[i] === 0) {
        out.levels = i + 1;
        return WALK_PROT;
      }
      if (!leaf) {
        if ((lo & 0x20) === 0) c[o] = lo |= 0x20;
        const pfn = ((lo >>> 12) + (hi & 0xfffff) * 1048576) | 0;
        const child = cacheSlots[i]![s]!;
        if (childPools[i]!.pfn[child] === pfn) {
          t = child;
          continue;
        }
        t = cache.fill(g, i, s, pfn);
        if (t < 0) return WALK_NOT_PRESENT;
        continue;
      }
      out.levels = i + 1;
      // Leaf: permission check, then A (and D for a write).
      if ((kind & MMU_USER) !== 0 && (us & 1) === 0) return WALK_PROT;
      if ((kind & MMU_WRITE) !== 0 && (rw & 1) === 0) return WALK_PROT;
      if ((kind & MMU_EXEC) !== 0 && nx !== 0) return WALK_PROT;
      let nlo = lo | 0x20;
      if ((kind & MMU_WRITE) !== 0) nlo |= 0x40;
      if (nlo !== lo) c[o] = lo = nlo;
      const shift = g.shift[i]!;
      const frameMask = shift === 12 ? 0xfffff000 | 0 : -(2 ** Math.min(shift, 31)) & (0xfffff000 | 0);
      out.pfn = ((lo & frameMask) >>> 12) + (hi & 0xfffff) * 1048576;
      out.shift = shift;
      out.flags =
        ((rw & 1) !== 0 ? TLB_WRITE : 0) |
        ((us & 1) !== 0 ? TLB_USER : 0) |
        (nx !== 0 ? TLB_NX : 0) |
        ((lo & 0x40) !== 0 ? TLB_DIRTY : 0) |
        ((lo & 0x100) !== 0 ? TLB_GLOBAL : 0);
      return WALK_OK;
    }
    return WALK_NOT_PRESENT;
  }
}

/** The arm64 stage-1 walker. */
export class Arm64Walker implements HardwareWalker {
  private readonly g: WalkGeometry;
  private readonly pageShift: number;
  private readonly hafdbs: boolean;
  private readonly contPteShift: number;
  private readonly contPmdShift: number;
  private readonly contPtes: number;
  private readonly contPmdPages: number;
  private readonly pmdShift: number;
  /** Walks done. */
  nrWalks: number;

  constructor(pt: PageTables) {
    this.g = new WalkGeometry(pt);
    this.pageShift = pt.pageShift;
    this.hafdbs = pt.desc.hwYoung;
    this.contPtes = pt.desc.contPtes;
    this.contPteShift = pt.pageShift + Math.log2(pt.desc.contPtes);
    this.pmdShift = pt.shift[1]!;
    this.contPmdShift = this.pmdShift + Math.log2(pt.desc.contPmds);
    this.contPmdPages = pt.desc.contPmds * 2 ** (this.pmdShift - pt.pageShift);
    this.nrWalks = 0;
  }

  /** Host bytes of walker-side caches (none). */
  hostBytes(): number {
    return 0;
  }

  walk(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number {
    const g = this.g;
    this.nrWalks++;
    if (vaddr >= g.addrLimit) return WALK_NOT_PRESENT;
    let t = g.table(as.root);
    let uxnTable = 0;
    let pxnTable = 0;
    const ps = this.pageShift;
    const hiScale = 2 ** (32 - ps);
    for (let i = 0; i < g.steps; i++) {
      const s = (t << g.ptrsShift[i]!) + ((vaddr * g.inv[i]!) & g.mask[i]!);
      const c = g.chunks[i]![s >>> CHUNK_SLOTS_SHIFT]!;
      const o = (s & CHUNK_SLOTS_MASK) << 1;
      let lo = c[o]!;
      const hi = c[o + 1]!;
      out.levels = i + 1;
      if ((lo & 1) === 0) return WALK_NOT_PRESENT;
      const last = i === g.steps - 1;
      const type = lo & 3;
      if (!last && type === 3) {
        uxnTable |= (hi >>> 28) & 1;
        pxnTable |= (hi >>> 27) & 1;
        t = g.table(((lo >>> ps) + (hi & 0x3ffff) * hiScale) | 0);
        continue;
      }
      // A page at the last level needs type 3; a block needs type 1 where blocks exist.
      if (last ? type !== 3 : g.leafOk[i] === 0) return WALK_PROT;
      if ((lo & 0x400) === 0) {
        if (!this.hafdbs) return WALK_PROT; // access flag fault
        c[o] = lo |= 0x400;
      }
      const user = (lo & 0x40) !== 0;
      if ((kind & MMU_USER) !== 0 && !user) return WALK_PROT;
      const uxn = ((hi >>> 22) & 1) | uxnTable;
      const pxn = ((hi >>> 21) & 1) | pxnTable;
      const xn = (kind & MMU_USER) !== 0 || user ? uxn : pxn;
      if ((kind & MMU_EXEC) !== 0 && xn !== 0) return WALK_PROT;
      const dbm = (hi & (1 << 19)) !== 0;
      if ((lo & 0x80) !== 0 && (kind & MMU_WRITE) !== 0) {
        if (!(dbm && this.hafdbs)) return WALK_PROT;
        c[o] = lo &= ~0x80; // DBM: the hardware marks the entry dirty
      }
      const cont = (hi & (1 << 20)) !== 0;
      const shift = g.shift[i]!;
      let pfn = (lo >>> ps) + (hi & 0x3ffff) * hiScale;
      let leafShift = shift;
      if (cont) {
        if (shift === ps) {
          leafShift = this.contPteShift;
          pfn -= pfn % this.contPtes;
        } else if (shift === this.pmdShift) {
          leafShift = this.contPmdShift;
          pfn -= pfn % this.contPmdPages;
        }
      } else if (shift > ps) {
        pfn -= pfn % 2 ** (shift - ps);
      }
      out.pfn = pfn;
      out.shift = leafShift;
      const writable = (lo & 0x80) === 0 || (dbm && this.hafdbs);
      out.flags =
        (writable ? TLB_WRITE : 0) |
        (user ? TLB_USER : 0) |
        (xn !== 0 ? TLB_NX : 0) |
        ((lo & 0x80) === 0 ? TLB_DIRTY : 0) |
        ((lo & 0x800) === 0 ? TLB_GLOBAL : 0);
      return WALK_OK;
    }
    return WALK_NOT_PRESENT;
  }
}

/** The riscv Sv39/Sv48/Sv57 walker. */
export class RiscvWalker implements HardwareWalker {
  private readonly g: WalkGeometry;
  private readonly svadu: boolean;
  /** Walks done. */
  nrWalks: number;

  constructor(pt: PageTables) {
    this.g = new WalkGeometry(pt);
    this.svadu = pt.desc.hwYoung;
    this.nrWalks = 0;
  }

  /** Host bytes of walker-side caches (none). */
  hostBytes(): number {
    return 0;
  }

  walk(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number {
    const g = this.g;
    this.nrWalks++;
    if (vaddr >= g.addrLimit) return WALK_NOT_PRESENT;
    let t = g.table(as.root);
    for (let i = 0; i < g.steps; i++) {
      const s = (t << g.ptrsShift[i]!) + ((vaddr * g.inv[i]!) & g.mask[i]!);
      const c = g.chunks[i]![s >>> CHUNK_SLOTS_SHIFT]!;
      const o = (s & CHUNK_SLOTS_MASK) << 1;
      let lo = c[o]!;
      const hi = c[o + 1]!;
      out.levels = i + 1;
      if ((lo & 1) === 0) return WALK_NOT_PRESENT;
      if ((lo & 6) === 4) return WALK_PROT; // W without R: reserved
      const last = i === g.steps - 1;
      if ((lo & 0xe) === 0) {
        if (last) return WALK_PROT;
        t = g.table(((lo >>> 10) + (hi & 0x3fffff) * 4194304) | 0);
        continue;
      }
      if ((kind & MMU_USER) !== 0 && (lo & 0x10) === 0) return WALK_PROT;
      if ((kind & MMU_WRITE) !== 0 && (lo & 4) === 0) return WALK_PROT;
      if ((kind & MMU_EXEC) !== 0 && (lo & 8) === 0) return WALK_PROT;
      if ((kind & (MMU_WRITE | MMU_EXEC)) === 0 && (lo & 2) === 0) return WALK_PROT;
      const needD = (kind & MMU_WRITE) !== 0 && (lo & 0x80) === 0;
      if ((lo & 0x40) === 0 || needD) {
        if (!this.svadu) return WALK_PROT; // Svade: the kernel sets A/D
        c[o] = lo = lo | 0x40 | ((kind & MMU_WRITE) !== 0 ? 0x80 : 0);
      }
      const shift = g.shift[i]!;
      let pfn = (lo >>> 10) + (hi & 0x3fffff) * 4194304;
      if (shift > 12) pfn -= pfn % 2 ** (shift - 12);
      out.pfn = pfn;
      out.shift = shift;
      out.flags =
        ((lo & 4) !== 0 ? TLB_WRITE : 0) |
        ((lo & 0x10) !== 0 ? TLB_USER : 0) |
        ((lo & 8) === 0 ? TLB_NX : 0) |
        ((lo & 0x80) !== 0 ? TLB_DIRTY : 0) |
        ((lo & 0x20) !== 0 ? TLB_GLOBAL : 0);
      return WALK_OK;
    }
    return WALK_NOT_PRESENT;
  }
}

/** The walker of the generic layout (powerpc64, sparc64). */
export class GenericWalker implements HardwareWalker {
  private readonly g: WalkGeometry;
  private readonly hwAd: boolean;
  private readonly pageShift: number;
  /** Walks done. */
  nrWalks: number;

  constructor(pt: PageTables) {
    this.g = new WalkGeometry(pt);
    this.hwAd = pt.desc.hwYoung;
    this.pageShift = pt.pageShift;
    this.nrWalks = 0;
  }

  /** Host bytes of walker-side caches (none). */
  hostBytes(): number {
    return 0;
  }

  walk(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number {
    const g = this.g;
    this.nrWalks++;
    if (vaddr >= g.addrLimit) return WALK_NOT_PRESENT;
    let t = g.table(as.root);
    for (let i = 0; i < g.steps; i++) {
      const s = (t << g.ptrsShift[i]!) + ((vaddr * g.inv[i]!) & g.mask[i]!);
      const c = g.chunks[i]![s >>> CHUNK_SLOTS_SHIFT]!;
      const o = (s & CHUNK_SLOTS_MASK) << 1;
      let lo = c[o]!;
      const hi = c[o + 1]!;
      out.levels = i + 1;
      if ((lo & 1) === 0) return WALK_NOT_PRESENT;
      const last = i === g.steps - 1;
      const leaf = last || (lo & 0x80) !== 0;
      if (leaf && !last && g.leafOk[i] === 0) return WALK_PROT;
      if (!leaf) {
        t = g.table((((lo & (0xfffff000 | 0)) >>> 12) + (hi & 0xfffff) * 1048576) | 0);
        continue;
      }
      if ((kind & MMU_USER) !== 0 && (lo & 4) === 0) return WALK_PROT;
      if ((kind & MMU_WRITE) !== 0 && (lo & 2) === 0) return WALK_PROT;
      if ((kind & MMU_EXEC) !== 0 && (lo & 0x20) === 0) return WALK_PROT;
      const needD = (kind & MMU_WRITE) !== 0 && (lo & 0x10) === 0;
      if ((lo & 8) === 0 || needD) {
        if (!this.hwAd) return WALK_PROT; // software-managed A/D (hash fault, TSB miss handler)
        c[o] = lo = lo | 8 | ((kind & MMU_WRITE) !== 0 ? 0x10 : 0);
      }
      const shift = g.shift[i]!;
      let pfn = ((lo & (0xfffff000 | 0)) >>> 12) + (hi & 0xfffff) * 1048576;
      if (shift > this.pageShift) pfn -= pfn % 2 ** (shift - this.pageShift);
      out.pfn = pfn;
      out.shift = shift;
      out.flags =
        ((lo & 2) !== 0 ? TLB_WRITE : 0) |
        ((lo & 4) !== 0 ? TLB_USER : 0) |
        ((lo & 0x20) === 0 ? TLB_NX : 0) |
        ((lo & 0x10) !== 0 ? TLB_DIRTY : 0) |
        ((lo & 0x40) !== 0 ? TLB_GLOBAL : 0);
      return WALK_OK;
    }
    return WALK_NOT_PRESENT;
  }
}

/** A walker with a walk counter and the host bytes of its caches. */
export type PgtableWalker = HardwareWalker & {
  /** Walks done. */
  nrWalks: number;
  /** Host bytes held by the walker's caches (the child-table cache on x86). */
  hostBytes(): number;
};

/** The walker for a context's architecture family. */
export function createWalker(pt: PageTables): PgtableWalker {
  switch (pt.desc.family) {
    case 'x86_64':
    case 'x86':
      return new X86Walker(pt);
    case 'arm64':
      return new Arm64Walker(pt);
    case 'riscv64':
      return new RiscvWalker(pt);
    default:
      return new GenericWalker(pt);
  }
}
