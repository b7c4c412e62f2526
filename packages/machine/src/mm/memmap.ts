/**
 * DOC: the memmap: per-page metadata as structure-of-arrays typed arrays,
 * allocated lazily one memory section at a time (SPARSEMEM's `mem_map`
 * per `mem_section`).
 *
 * A {@link MemSection} holds one `ArrayBuffer` carved into one view per
 * `struct page` field, indexed by `pfn & (pagesPerSection - 1)`. Untouched
 * sections have no memmap at all; the page allocator materializes a section
 * the first time it hands out memory from it (the model of
 * CONFIG_DEFERRED_STRUCT_PAGE_INIT's on-demand `deferred_grow_zone()`), so a
 * simulated terabyte costs nothing until used. Reads of a page in an
 * untouched section return its boot state: free, owned by the buddy
 * allocator, one order-`maxOrder` buddy per aligned block.
 *
 * Host cost: 54 bytes per page (see {@link MEMMAP_BYTES_PER_PAGE}), below the
 * 64 bytes of the kernel's `struct page`.
 */
import { MmBugError } from '../errors.js';
import { PGTY_buddy } from './page-flags.js';

/**
 * Bytes of host memory per simulated page in a materialized section.
 * index 8 + private 8 + flags 4 + refcount 4 + mapcount 4 + compoundHead 4 +
 * next 4 + prev 4 + mapping 4 + memcgData 4 + content 4 + pageType 1 + order 1.
 */
export const MEMMAP_BYTES_PER_PAGE = 54;

/**
 * The memmap of one section: one typed array per `struct page` field.
 * Fields and their owners per page state are tabled in the package README.
 * @kernel struct page (include/linux/mm_types.h), struct mem_section (include/linux/mmzone.h)
 */
export class MemSection {
  /** Section number (`pfn >> sectionShift`). */
  readonly nr: number;
  /** `index`: page-cache offset or anon linear page index (needs more than 32 bits). */
  readonly index: Float64Array;
  /** `private`: buddy order on free pages, swap entry in the swap cache, fs data. */
  readonly private: Float64Array;
  /**
   * The bytes of {@link MemSection.index} as two 32-bit words per page
   * (`indexWords[2 * i]`, `indexWords[2 * i + 1]`): the kernel overlays
   * 32-bit fields on the 64-bit word of compound tail pages (struct
   * folio's `_mm_id_mapcount[2]` on the first tail). No extra memory: a
   * second view of the same bytes, so a page uses either view, never both.
   */
  readonly indexWords: Int32Array;
  /** The bytes of {@link MemSection.private} as two 32-bit words per page (struct folio's `_mm_id[2]`); see `indexWords`. */
  readonly privateWords: Int32Array;
  /** `flags`: PG_* bits. */
  readonly flags: Uint32Array;
  /** Reference count per page; 0 means free or a tail page; mirrors `struct page::_refcount`. */
  readonly refcount: Int32Array;
  /** `_mapcount`, with the kernel's bias: -1 means not mapped. */
  readonly mapcount: Int32Array;
  /** Tail page: PFN of its head page (`compound_head`); -1 otherwise. */
  readonly compoundHead: Int32Array;
  /** List link (lru / buddy_list / pcp_list), by PFN; -1 = end. */
  readonly next: Int32Array;
  /** List link, by PFN; -1 = end. */
  readonly prev: Int32Array;
  /** `mapping`: handle of an address_space or anon_vma (0 = none). */
  readonly mapping: Int32Array;
  /** `memcg_data`: memory cgroup handle (0 = none). */
  readonly memcgData: Int32Array;
  /** 32-bit content token: what the last write stored (0 after zeroing). */
  readonly content: Uint32Array;
  /** Page type (top byte of `page_type`): PGTY_* value, 0 = none. */
  readonly pageType: Uint8Array;
  /** Allocation order on the first page of an allocation (folio order for compound pages). */
  readonly order: Uint8Array;

  constructor(nr: number, pages: number) {
    this.nr = nr;
    const buf = new ArrayBuffer(pages * MEMMAP_BYTES_PER_PAGE);
    // 8-byte fields first so every view is naturally aligned.
    let off = 0;
    this.index = new Float64Array(buf, off, pages);
    this.indexWords = new Int32Array(buf, off, pages * 2);
    off += pages * 8;
    this.private = new Float64Array(buf, off, pages);
    this.privateWords = new Int32Array(buf, off, pages * 2);
    off += pages * 8;
    this.flags = new Uint32Array(buf, off, pages);
    off += pages * 4;
    this.refcount = new Int32Array(buf, off, pages);
    off += pages * 4;
    this.mapcount = new Int32Array(buf, off, pages);
    off += pages * 4;
    this.compoundHead = new Int32Array(buf, off, pages);
    off += pages * 4;
    this.next = new Int32Array(buf, off, pages);
    off += pages * 4;
    this.prev = new Int32Array(buf, off, pages);
    off += pages * 4;
    this.mapping = new Int32Array(buf, off, pages);
    off += pages * 4;
    this.memcgData = new Int32Array(buf, off, pages);
    off += pages * 4;
    this.content = new Uint32Array(buf, off, pages);
    off += pages * 4;
    this.pageType = new Uint8Array(buf, off, pages);
    off += pages;
    this.order = new Uint8Array(buf, off, pages);
    this.mapcount.fill(-1);
    this.compoundHead.fill(-1);
    this.next.fill(-1);
    this.prev.fill(-1);
  }
}

/**
 * All sections of the machine, materialized on demand.
 * @kernel mem_section[] (mm/sparse.c)
 */
export class Memmap {
  /** `sections[nr]` or undefined while the section is untouched. */
  readonly sections: (MemSection | undefined)[];
  /** log2 of pages per section. */
  readonly sectionShift: number;
  /** Pages per section. */
  readonly pagesPerSection: number;
  /** Mask (`pagesPerSection - 1`) that turns a PFN into its index within the section. */
  readonly sectionMask: number;
  /** Total PFNs covered (all nodes). */
  readonly totalPages: number;
  /** Largest buddy order: the boot layout of untouched sections. */
  readonly maxOrder: number;
  /** Sections materialized so far. */
  nrMaterialized: number;

  constructor(totalPages: number, sectionShift: number, maxOrder: number) {
    this.sectionShift = sectionShift;
    this.pagesPerSection = 1 << sectionShift;
    this.sectionMask = this.pagesPerSection - 1;
    this.totalPages = totalPages;
    this.maxOrder = maxOrder;
    const nr = Math.ceil(totalPages / this.pagesPerSection);
    this.sections = new Array<MemSection | undefined>(nr).fill(undefined);
    this.nrMaterialized = 0;
  }

  /** Whether `pfn` is backed by memory (`pfn_valid`). */
  pfnValid(pfn: number): boolean {
    return Number.isInteger(pfn) && pfn >= 0 && pfn < this.totalPages;
  }

  /** The section of `pfn` if materialized (`__pfn_to_section` + present check). */
  sectionOf(pfn: number): MemSection | undefined {
    return this.sections[pfn >>> this.sectionShift];
  }

  /**
   * Allocate section `nr`'s memmap. Only the page allocator calls this (it
   * must also move the section's boot-time free blocks onto its free lists).
   * @kernel sparse_init_one_section / deferred_init_memmap_chunk
   */
  materialize(nr: number): MemSection {
    const existing = this.sections[nr];
    if (existing !== undefined) return existing;
    const sec = new MemSection(nr, this.pagesPerSection);
    this.sections[nr] = sec;
    this.nrMaterialized++;
    return sec;
  }

  /** Page flags of `pfn` (boot state 0 in untouched sections). */
  flags(pfn: number): number {
    const s = this.sections[pfn >>> this.sectionShift];
    return s === undefined ? 0 : (s.flags[pfn & this.sectionMask] as number);
  }

  /** Page type of `pfn` (PGTY_*; untouched sections: buddy on each max-order head). */
  pageType(pfn: number): number {
    const s = this.sections[pfn >>> this.sectionShift];
    if (s === undefined) return pfn % (1 << this.maxOrder) === 0 ? PGTY_buddy : 0;
    return s.pageType[pfn & this.sectionMask] as number;
  }

  /** Reference count of the page at `pfn` (0 for an untouched section). @kernel page_ref_count (include/linux/page_ref.h) */
  refcount(pfn: number): number {
    const s = this.sections[pfn >>> this.sectionShift];
    return s === undefined ? 0 : (s.refcount[pfn & this.sectionMask] as number);
  }

  /** `page_mapcount()` raw value (-1 = unmapped). */
  mapcount(pfn: number): number {
    const s = this.sections[pfn >>> this.sectionShift];
    return s === undefined ? -1 : (s.mapcount[pfn & this.sectionMask] as number);
  }

  /** Head PFN of a tail page, or -1. */
  compoundHead(pfn: number): number {
    const s = this.sections[pfn >>> this.sectionShift];
    return s === undefined ? -1 : (s.compoundHead[pfn & this.sectionMask] as number);
  }

  /** `page->private` (the buddy order on a free head page). */
  private(pfn: number): number {
    const s = this.sections[pfn >>> this.sectionShift];
    if (s === undefined) return pfn % (1 << this.maxOrder) === 0 ? this.maxOrder : 0;
    return s.private[pfn & this.sectionMask] as number;
  }

  /** Content token of `pfn`. */
  content(pfn: number): number {
    const s = this.sections[pfn >>> this.sectionShift];
    return s === undefined ? 0 : (s.content[pfn & this.sectionMask] as number);
  }

  /** The materialized section of a page its caller owns; a bug otherwise. */
  private owned(pfn: number): MemSection {
    const s = this.sections[pfn >>> this.sectionShift];
    if (s === undefined) throw new MmBugError(`memmap: pfn ${pfn} is in an untouched (free) section`);
    return s;
  }

  /**
   * Test page flag `bit` (PG_*).
   * @kernel PageFlag tests (include/linux/page-flags.h), e.g. PageLRU
   */
  testPageFlag(pfn: number, bit: number): boolean {
    return ((this.flags(pfn) >>> bit) & 1) === 1;
  }

  /**
   * Set page flag `bit` on a page the caller owns.
   * @kernel SetPage* (include/linux/page-flags.h)
   */
  setPageFlag(pfn: number, bit: number): void {
    const s = this.owned(pfn);
    const i = pfn & this.sectionMask;
    s.flags[i] = (s.flags[i] as number) | (1 << bit);
  }

  /**
   * Clear page flag `bit`.
   * @kernel ClearPage* (include/linux/page-flags.h)
   */
  clearPageFlag(pfn: number, bit: number): void {
    const s = this.owned(pfn);
    const i = pfn & this.sectionMask;
    s.flags[i] = (s.flags[i] as number) & ~(1 << bit);
  }

  /**
   * Give an allocated page a type (PGTY_slab, PGTY_table, ...); it must have none.
   * @kernel __SetPageSlab / __SetPageTable (include/linux/page-flags.h)
   */
  setPageType(pfn: number, type: number): void {
    const s = this.owned(pfn);
    const i = pfn & this.sectionMask;
    if (s.pageType[i] !== 0) throw new MmBugError(`memmap: pfn ${pfn} already has page type ${s.pageType[i]}`);
    if ((s.refcount[i] as number) <= 0) throw new MmBugError(`memmap: pfn ${pfn} is not allocated`);
    s.pageType[i] = type;
  }

  /**
   * Remove a page's type before it is freed; it must be `type`.
   * @kernel __ClearPageSlab / __ClearPageTable (include/linux/page-flags.h)
   */
  clearPageType(pfn: number, type: number): void {
    const s = this.owned(pfn);
    const i = pfn & this.sectionMask;
    if (s.pageType[i] !== type) throw new MmBugError(`memmap: pfn ${pfn} has page type ${s.pageType[i]}, not ${type}`);
    s.pageType[i] = 0;
  }

  /** Host bytes held by materialized sections. */
  hostBytes(): number {
    return this.nrMaterialized * this.pagesPerSection * MEMMAP_BYTES_PER_PAGE;
  }
}
