/**
 * DOC: the TLB of one CPU for one page size, as typed arrays.
 *
 * A hardware TLB is a set-associative cache of translations tagged with the
 * address-space identifier (PCID on x86, ASID on arm64). Each CPU has one
 * {@link TlbArray} per page-size class: base pages (4 KiB), PMD leaves (2 MiB)
 * and PUD leaves (1 GiB) with a 4 KiB base page, like the separate 4K/2M/1G
 * entries of an x86 core. An entry is six numbers in six typed arrays,
 * indexed `set * ways + way`; there is no object per entry, and a hit
 * allocates nothing.
 *
 * Entries with {@link TLB_GLOBAL} (the kernel's global mappings: x86 G bit,
 * arm64 nG clear) match every ASID and survive ASID flushes; only a flush of
 * their address or a full flush removes them. Replacement is true LRU by a
 * per-array access stamp.
 *
 * The primitives here are the per-CPU instructions: a lookup, a fill, and the
 * local invalidations (`invlpg`, INVPCID single-context and all-context,
 * `tlbi vale1`/`aside1`/`vmalle1`). Who calls them, and on which CPUs, is
 * decided in `mmu.ts` and `tlbflush.ts`.
 */

/** The translation allows writes (x86 R/W, arm64 !RDONLY). */
export const TLB_WRITE = 0x01;
/** User-mode accesses are allowed (x86 U/S, arm64 AP[1]). */
export const TLB_USER = 0x02;
/** Instruction fetches are forbidden (x86 NX, arm64 UXN/PXN). */
export const TLB_NX = 0x04;
/** The page-table entry was dirty when the entry was filled (x86 caches D in the TLB). */
export const TLB_DIRTY = 0x08;
/** A global entry: matches every ASID, survives ASID flushes (x86 G, arm64 !nG). */
export const TLB_GLOBAL = 0x10;
/** Every flag a TLB entry may carry. */
export const TLB_FLAGS_MASK = TLB_WRITE | TLB_USER | TLB_NX | TLB_DIRTY | TLB_GLOBAL;

/** Value of `tag[i]` for an invalid entry (no virtual page number is negative). */
const INVALID = -1;

/**
 * The TLB entries of one CPU for one page size.
 *
 * `tag[i]` is the virtual page number (`vaddr / pageBytes`, exact up to
 * 2^53), `asid[i]` the ASID the entry was filled under, `pfn[i]` the first
 * base-page frame of the mapped page, `flags[i]` the `TLB_*` bits and
 * `allow[i]` the access kinds the entry permits (bit k for access kind k,
 * computed from the flags at fill time so that a hit tests one bit) and
 * `stamp[i]` the LRU stamp. The set of a page is the low bits of its page
 * number.
 */
export class TlbArray {
  /** log2 of the bytes one entry maps. */
  readonly shift: number;
  /** Bytes one entry maps. */
  readonly pageBytes: number;
  /** `1 / pageBytes`, exact (a power of two): multiplying is cheaper than dividing. */
  readonly invPageBytes: number;
  /** Base pages one entry maps (`pageBytes >> PAGE_SHIFT`). */
  readonly basePages: number;
  /** Number of sets (a power of two). */
  readonly sets: number;
  /** Associativity (entries per set). */
  readonly ways: number;
  /** Mask (`sets - 1`) that selects the set from a virtual page number. */
  readonly setMask: number;
  /** Total entries (`sets * ways`). */
  readonly nrEntries: number;
  /** @internal Virtual page number per entry (-1: invalid). */
  readonly tag: Float64Array;
  /** @internal ASID per entry. */
  readonly asid: Int32Array;
  /** @internal First base-page frame per entry. */
  readonly pfn: Float64Array;
  /** @internal `TLB_*` bits per entry. */
  readonly flags: Uint8Array;
  /** @internal Access kinds permitted per entry (bit k for kind k). */
  readonly allow: Uint8Array;
  /** @internal LRU stamp per entry. */
  readonly stamp: Float64Array;
  /** Monotonic LRU clock of this array. */
  clock: number;
  /** Entries currently valid. */
  nrValid: number;

  /**
   * An empty set-associative TLB for one page size.
   * @param nrEntries entries of this page size (0: none, every lookup misses).
   * @param ways associativity; `nrEntries / ways` must be a power of two.
   * @param shift log2 of the page size the entries map.
   * @param pageShift log2 of the base page size.
   */
  constructor(nrEntries: number, ways: number, shift: number, pageShift: number) {
    this.shift = shift;
    this.pageBytes = 2 ** shift;
    this.invPageBytes = 2 ** -shift;
    this.basePages = 2 ** (shift - pageShift);
    // An array without entries still has one empty set, so lookups need no branch.
    const sets = nrEntries === 0 ? 1 : nrEntries / ways;
    this.sets = sets;
    this.ways = nrEntries === 0 ? 0 : ways;
    this.setMask = sets - 1;
    this.nrEntries = nrEntries;
    this.tag = new Float64Array(nrEntries).fill(INVALID);
    this.asid = new Int32Array(nrEntries);
    this.pfn = new Float64Array(nrEntries);
    this.flags = new Uint8Array(nrEntries);
    this.allow = new Uint8Array(nrEntries);
    this.stamp = new Float64Array(nrEntries);
    this.clock = 0;
    this.nrValid = 0;
  }

  /**
   * Index of the entry translating page `vpn` for `asid` (or a global one), or -1.
   * Does not touch the LRU stamp (the caller does on a hit it uses).
   */
  lookup(vpn: number, asid: number): number {
    // `vpn >>> 0` keeps the low 32 bits of the page number exactly (ToUint32 is
    // a modulo), and V8 truncates a double to word32 with one instruction.
    const base = ((vpn >>> 0) & this.setMask) * this.ways;
    const end = base + this.ways;
    const tag = this.tag;
    for (let i = base; i < end; i++) {
      if (tag[i] === vpn && ((this.flags[i]! & TLB_GLOBAL) !== 0 || this.asid[i] === asid)) return i;
    }
    return -1;
  }

  /**
   * Install a translation of page `vpn` and return its index. An entry that a
   * lookup for the same page and ASID would also match is replaced (there is
   * never more than one match); otherwise an invalid way, else the least
   * recently used one. `allow` has bit k set for each access kind k the
   * entry permits.
   */
  fill(vpn: number, asid: number, pfn: number, flags: number, allow: number): number {
    const base = ((vpn >>> 0) & this.setMask) * this.ways;
    const end = base + this.ways;
    const tag = this.tag;
    const global = (flags & TLB_GLOBAL) !== 0;
    const stamp = this.stamp;
    let victim = -1;
    let lru = -1;
    let lruStamp = Number.POSITIVE_INFINITY;
    for (let i = base; i < end; i++) {
      const t = tag[i]!;
      if (t === vpn && (global || (this.flags[i]! & TLB_GLOBAL) !== 0 || this.asid[i] === asid)) {
        if (victim < 0) {
          victim = i;
        } else {
          // A second overlapping entry (a global and a tagged one): drop it.
          tag[i] = INVALID;
          this.nrValid--;
        }
        continue;
      }
      // The first invalid way wins (stamp -1), else the least recently used one.
      const s = t === INVALID ? -1 : stamp[i]!;
      if (s < lruStamp) {
        lruStamp = s;
        lru = i;
      }
    }
    if (victim < 0) {
      victim = lru;
      if (lruStamp === -1) this.nrValid++;
    }
    tag[victim] = vpn;
    this.asid[victim] = asid;
    this.pfn[victim] = pfn;
    this.flags[victim] = flags;
    this.allow[victim] = allow;
    this.stamp[victim] = ++this.clock;
    return victim;
  }

  /** Drop the entry at `index` (a permission mismatch or a dirty-bit update). */
  invalidateIndex(index: number): void {
    if (this.tag[index] !== INVALID) {
      this.tag[index] = INVALID;
      this.nrValid--;
    }
  }

  /**
   * Invalidate the entries of page `vpn` for `asid`, and the global entries of
   * that page when `global` is true. Returns how many entries were dropped.
   */
  invalidatePage(vpn: number, asid: number, global: boolean): number {
    if (this.nrValid === 0) return 0;
    const base = ((vpn >>> 0) & this.setMask) * this.ways;
    const end = base + this.ways;
    let n = 0;
    for (let i = base; i < end; i++) {
      if (this.tag[i] !== vpn) continue;
      const isGlobal = (this.flags[i]! & TLB_GLOBAL) !== 0;
      if (isGlobal ? global : this.asid[i] === asid) {
        this.tag[i] = INVALID;
        n++;
      }
    }
    this.nrValid -= n;
    return n;
  }

  /**
   * Invalidate every entry of pages [firstVpn, lastVpn] for `asid` (and the
   * global ones when `global`): page by page for short ranges, by a scan of
   * the whole array when that is shorter.
   */
  invalidateRange(firstVpn: number, lastVpn: number, asid: number, global: boolean): number {
    if (this.nrValid === 0) return 0;
    if (lastVpn - firstVpn + 1 <= this.sets) {
      let n = 0;
      for (let v = firstVpn; v <= lastVpn; v++) n += this.invalidatePage(v, asid, global);
      return n;
    }
    let n = 0;
    for (let i = 0; i < this.nrEntries; i++) {
      const t = this.tag[i]!;
      if (t < firstVpn || t > lastVpn) continue;
      const isGlobal = (this.flags[i]! & TLB_GLOBAL) !== 0;
      if (isGlobal ? global : this.asid[i] === asid) {
        this.tag[i] = INVALID;
        n++;
      }
    }
    this.nrValid -= n;
    return n;
  }

  /** Invalidate every non-global entry tagged `asid` (INVPCID single-context, `tlbi aside1`). */
  invalidateAsid(asid: number): number {
    if (this.nrValid === 0) return 0;
    let n = 0;
    for (let i = 0; i < this.nrEntries; i++) {
      if (this.tag[i] !== INVALID && this.asid[i] === asid && (this.flags[i]! & TLB_GLOBAL) === 0) {
        this.tag[i] = INVALID;
        n++;
      }
    }
    this.nrValid -= n;
    return n;
  }

  /** Invalidate every entry, or every non-global one when `keepGlobal` (a CR3 write without PCID). */
  invalidateAll(keepGlobal: boolean): number {
    if (this.nrValid === 0) return 0;
    let n = 0;
    for (let i = 0; i < this.nrEntries; i++) {
      if (this.tag[i] === INVALID) continue;
      if (keepGlobal && (this.flags[i]! & TLB_GLOBAL) !== 0) continue;
      this.tag[i] = INVALID;
      n++;
    }
    this.nrValid -= n;
    return n;
  }

  /** Number of valid non-global entries tagged `asid`. */
  countAsid(asid: number): number {
    let n = 0;
    for (let i = 0; i < this.nrEntries; i++) {
      if (this.tag[i] !== INVALID && this.asid[i] === asid && (this.flags[i]! & TLB_GLOBAL) === 0) n++;
    }
    return n;
  }

  /**
   * Check the array's invariants and return the first violation, or null:
   * every valid entry sits in its page's set, carries only known flags, and
   * no two entries of a set answer the same lookup; `nrValid` is exact.
   */
  check(): string | null {
    let valid = 0;
    for (let s = 0; s < (this.ways === 0 ? 0 : this.sets); s++) {
      const base = s * this.ways;
      for (let i = base; i < base + this.ways; i++) {
        const t = this.tag[i]!;
        if (t === INVALID) continue;
        valid++;
        if (!Number.isInteger(t) || t < 0) return `entry ${i}: bad tag ${t}`;
        if (((t >>> 0) & this.setMask) !== s) return `entry ${i}: page ${t} in set ${s}`;
        const f = this.flags[i]!;
        if ((f & ~TLB_FLAGS_MASK) !== 0) return `entry ${i}: unknown flags ${f}`;
        if (!Number.isInteger(this.pfn[i]!) || this.pfn[i]! < 0) return `entry ${i}: bad pfn ${this.pfn[i]}`;
        for (let j = i + 1; j < base + this.ways; j++) {
          if (this.tag[j] !== t) continue;
          const g = (f & TLB_GLOBAL) !== 0 || (this.flags[j]! & TLB_GLOBAL) !== 0;
          if (g || this.asid[j] === this.asid[i]) return `entries ${i} and ${j} both translate page ${t}`;
        }
      }
    }
    if (valid !== this.nrValid) return `nrValid ${this.nrValid} but ${valid} valid entries`;
    return null;
  }
}
