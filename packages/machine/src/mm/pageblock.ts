/**
 * DOC: pageblock flags: the migratetype of every pageblock (2^pageblock_order
 * pages, 2 MiB with 4K pages), the unit in which the allocator groups pages by
 * mobility.
 *
 * The kernel keeps 4 bits per pageblock in `mem_section_usage->pageblock_flags`;
 * the model keeps one byte per pageblock for the whole machine (512 KiB for a
 * terabyte), allocated up front so that untouched sections keep their boot
 * migratetype (MIGRATE_MOVABLE, as `memmap_init_range()` sets it).
 */
import { MIGRATE_MOVABLE } from './mmzone.js';

/**
 * Migratetype per pageblock.
 * @kernel pageblock_flags (include/linux/pageblock-flags.h)
 */
export class PageblockFlags {
  /** Order of one pageblock; mirrors `pageblock_order`. */
  readonly order: number;
  /** Pages per pageblock, `1 << order`; mirrors `pageblock_nr_pages`. */
  readonly nrPages: number;
  /** Migratetype by pageblock number (`pfn >> pageblock_order`). */
  readonly migratetype: Uint8Array;

  constructor(totalPages: number, order: number) {
    this.order = order;
    this.nrPages = 2 ** order;
    this.migratetype = new Uint8Array(Math.ceil(totalPages / this.nrPages)).fill(MIGRATE_MOVABLE);
  }

  /**
   * Migratetype of the pageblock holding `pfn`.
   * @kernel get_pfnblock_migratetype (mm/page_alloc.c)
   */
  get(pfn: number): number {
    return this.migratetype[pfn >>> this.order] as number;
  }

  /**
   * Set the migratetype of the pageblock holding `pfn`.
   * @kernel set_pageblock_migratetype (mm/page_alloc.c)
   */
  set(pfn: number, mt: number): void {
    this.migratetype[pfn >>> this.order] = mt;
  }

  /** First PFN of the pageblock holding `pfn` (`pageblock_start_pfn`). */
  startPfn(pfn: number): number {
    return pfn - (pfn % this.nrPages);
  }
}
