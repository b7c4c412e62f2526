/**
 * DOC: page-table pages: entry storage and `struct ptdesc` metadata.
 *
 * Every table is a page of the machine (allocated from `@mm/machine`'s
 * page allocator and typed PGTY_table, so `/proc/vmstat`'s
 * nr_page_table_pages and the memmap see it) whose entries live here, in
 * typed arrays: a {@link TablePool} holds all tables of one size (entries per
 * table, a power of two) in chunks of 2^15 32-bit words, two words per entry.
 * A table is named by its index in the pool; an entry by its *slot*,
 * `table * ptrs + index`, one integer standing for the kernel's `pte_t *`
 * (or `pmd_t *`, ...). Slot to storage is one shift and one mask: no object
 * per table, no object per entry.
 *
 * The ptdesc fields the model needs are typed arrays indexed by table: the
 * page's PFN, its level, the owning mm (`pt_mm`), the slot of the entry that
 * maps it (`ptdesc->pmd` of the "Free user PTE page table pages" series; the
 * free-list link while free), that series' `pte_refcount`, the split lock while one is held, and its state
 * (free, in use, waiting for RCU). Slots and PFNs are below 2^31.
 * The table's page records the table index in its memmap `private` field
 * (where the kernel keeps the embedded split lock), which is how a walker
 * goes from the PFN in an upper entry to the entries of the table below.
 *
 * Host cost per table: 8 bytes per entry (4 KiB for a 512-entry table, the
 * kernel's own 8 bytes per entry) plus {@link PTDESC_BYTES} bytes of metadata
 * (arrays grow by a quarter, so at most a quarter more is held).
 */
import { MmBugError } from '@mm/machine';

/** log2 of the 32-bit words in one storage chunk. */
export const CHUNK_WORDS_SHIFT = 15;
/** Words in one storage chunk (128 KiB). */
export const CHUNK_WORDS = 1 << CHUNK_WORDS_SHIFT;
/** log2 of the entry slots in one chunk. */
export const CHUNK_SLOTS_SHIFT = CHUNK_WORDS_SHIFT - 1;
/** Mask of a slot's position within its chunk. */
export const CHUNK_SLOTS_MASK = (1 << CHUNK_SLOTS_SHIFT) - 1;

/** Table state: never used or freed (on the free list). */
export const PT_FREE = 0;
/** Table state: allocated and in use. */
export const PT_LIVE = 1;
/** Table state: detached and queued to be freed (mmu_gather batch or RCU). */
export const PT_FREEING = 2;

/** Metadata bytes per table (pfn 4, parent 4, mm 4, refcount 4, ptlock 4, level 1, state 1). */
export const PTDESC_BYTES = 22;

/** All page tables of one size. */
export class TablePool {
  /** Entries per table (`PTRS_PER_*`, a power of two). */
  readonly ptrs: number;
  /** log2 of `ptrs`. */
  readonly ptrsShift: number;
  /** Entry storage: two int32 words per entry. Public for the walkers (hot path). */
  readonly chunks: Int32Array[];
  /** Tables whose index has ever been handed out. */
  nrTables: number;
  /** Tables in use or waiting to be freed. */
  nrLive: number;
  /** `page_to_pfn(ptdesc_page(pt))`, -1 when free. */
  pfn: Int32Array;
  /**
   * Slot of the upper-level entry that points to this table, -1 when
   * detached (`ptdesc->pmd` of the "Free user PTE page table pages" series); the next free table while free.
   */
  parent: Int32Array;
  /** Owning address space id (`pt_mm`), -1 when free. */
  mm: Int32Array;
  /** `pte_refcount` (refcount reclaim mode) or 0. */
  refcount: Int32Array;
  /** Index of the materialized split lock in the lock pool, -1 when none is held. */
  ptlock: Int32Array;
  /** Level of the table (0 = PTE ... 4 = PGD). */
  level: Int8Array;
  /** PT_FREE / PT_LIVE / PT_FREEING. */
  state: Uint8Array;
  /** Head of the free list (linked through `parent`), -1 when empty. */
  private freeHead: number;
  private readonly tablesPerChunk: number;

  constructor(ptrs: number) {
    if (!(ptrs >= 2 && (ptrs & (ptrs - 1)) === 0 && ptrs * 2 <= CHUNK_WORDS)) {
      throw new MmBugError(`pgtable: table size ${ptrs} is not a power of two in [2, ${CHUNK_WORDS / 2}]`);
    }
    this.ptrs = ptrs;
    this.ptrsShift = Math.log2(ptrs);
    this.chunks = [];
    this.tablesPerChunk = CHUNK_WORDS / (2 * ptrs);
    this.nrTables = 0;
    this.nrLive = 0;
    const cap = 16;
    this.pfn = new Int32Array(cap).fill(-1);
    this.parent = new Int32Array(cap).fill(-1);
    this.mm = new Int32Array(cap).fill(-1);
    this.refcount = new Int32Array(cap);
    this.ptlock = new Int32Array(cap).fill(-1);
    this.level = new Int8Array(cap);
    this.state = new Uint8Array(cap);
    this.freeHead = -1;
  }

  /** Capacity of the metadata arrays. */
  get capacity(): number {
    return this.pfn.length;
  }

  /** Grow the metadata arrays by a quarter (bounded slack, amortised copying). */
  private grow(): void {
    const old = this.pfn.length;
    const cap = old + (old >> 2) + 16;
    const i32 = (a: Int32Array, fill: number): Int32Array => {
      const b = new Int32Array(cap);
      if (fill !== 0) b.fill(fill, old);
      b.set(a);
      return b;
    };
    this.pfn = i32(this.pfn, -1);
    this.parent = i32(this.parent, -1);
    this.mm = i32(this.mm, -1);
    this.refcount = i32(this.refcount, 0);
    this.ptlock = i32(this.ptlock, -1);
    const level = new Int8Array(cap);
    level.set(this.level);
    this.level = level;
    const state = new Uint8Array(cap);
    state.set(this.state);
    this.state = state;
  }

  /**
   * Take a table index with zeroed entries (the page came with __GFP_ZERO).
   * The caller fills in the metadata.
   */
  alloc(): number {
    let t: number;
    if (this.freeHead >= 0) {
      t = this.freeHead;
      this.freeHead = this.parent[t]!;
    } else {
      t = this.nrTables++;
      if (t >= this.pfn.length) this.grow();
    }
    const words = 2 * this.ptrs;
    this.ensureChunk(t, words);
    const off = (t % this.tablesPerChunk) * words;
    this.chunks[Math.floor(t / this.tablesPerChunk)]!.fill(0, off, off + words);
    this.state[t] = PT_LIVE;
    this.parent[t] = -1;
    this.refcount[t] = 0;
    this.ptlock[t] = -1;
    this.nrLive++;
    return t;
  }

  /**
   * Make the chunk of table `t` long enough to hold it. The last chunk grows
   * by doubling up to CHUNK_WORDS, so a pool of a few tables (a PGD, the
   * PMD tables of 64K pages) does not hold a whole chunk. Chunks are only
   * ever replaced here, during an allocation; code reads them through
   * `chunks[]` and never keeps one across an allocation.
   */
  private ensureChunk(t: number, words: number): void {
    const ci = Math.floor(t / this.tablesPerChunk);
    const need = ((t % this.tablesPerChunk) + 1) * words;
    if (ci === this.chunks.length) {
      this.chunks.push(new Int32Array(this.tablesPerChunk === 1 ? CHUNK_WORDS : need));
      return;
    }
    const c = this.chunks[ci]!;
    if (c.length >= need) return;
    const n = new Int32Array(Math.min(CHUNK_WORDS, Math.max(need, 2 * c.length)));
    n.set(c);
    this.chunks[ci] = n;
  }

  /** Return a table index to the free list (its page has been freed). */
  release(t: number): void {
    if (this.state[t] === PT_FREE) throw new MmBugError(`pgtable: table ${t} freed twice`);
    this.state[t] = PT_FREE;
    this.mm[t] = -1;
    this.pfn[t] = -1;
    this.ptlock[t] = -1;
    this.nrLive--;
    this.parent[t] = this.freeHead;
    this.freeHead = t;
  }

  /** The chunk holding `slot`. */
  chunkOf(slot: number): Int32Array {
    return this.chunks[slot >>> CHUNK_SLOTS_SHIFT]!;
  }

  /** Low word of the entry at `slot`. */
  lo(slot: number): number {
    return this.chunks[slot >>> CHUNK_SLOTS_SHIFT]![(slot & CHUNK_SLOTS_MASK) << 1]!;
  }

  /** High word of the entry at `slot`. */
  hi(slot: number): number {
    return this.chunks[slot >>> CHUNK_SLOTS_SHIFT]![((slot & CHUNK_SLOTS_MASK) << 1) + 1]!;
  }

  /** Write both words of the entry at `slot`. */
  write(slot: number, lo: number, hi: number): void {
    const c = this.chunks[slot >>> CHUNK_SLOTS_SHIFT]!;
    const o = (slot & CHUNK_SLOTS_MASK) << 1;
    c[o] = lo;
    c[o + 1] = hi;
  }

  /** Host bytes held: entry chunks plus metadata arrays. */
  hostBytes(): number {
    let b = this.pfn.length * PTDESC_BYTES;
    for (const c of this.chunks) b += c.byteLength;
    return b;
  }
}
