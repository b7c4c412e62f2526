/**
 * DOC: a page cache over the tmpfs-like files of `mm/file.ts`.
 *
 * Each inode's `address_space` gets a map from page index to the page
 * caching it (of an order-0 folio, or of a PMD-sized shmem folio cached
 * whole at an aligned index), and the file's contents are content tokens
 * per page index (0 for a hole). A folio in the cache holds one reference
 * per page (the cache's, `folio_ref_add(folio, nr)`); shmem folios are
 * swap-backed; its token is the file's data, so a shared mapping's store
 * is the file's content at once, as with tmpfs. A private mapping's store
 * copies the page (CoW) and leaves the file unchanged.
 */

import {
  type FolioRmap,
  folioClearMapping,
  folioMapped,
  folioNrPages,
  folioRefAdd,
  folioSetFlag,
  folioSetMapping,
  pageFolio,
} from '@mm/folio-rmap';
import { MmBugError, PG_swapbacked } from '@mm/machine';
import type { AddressSpace, File, Inode } from '../mm/file.js';

/** The cache of one inode. @kernel struct address_space's i_pages (include/linux/fs.h) */
export class PageCacheMapping {
  /** The file whose pages this cache holds (`address_space::host`). */
  readonly inode: Inode;
  /** The inode's address_space (`folio->mapping`, and `i_mmap` for the rmap walks). */
  readonly rmap: AddressSpace;
  /** index → the page caching it (PFN; its folio is `page_folio()` of it). */
  readonly pages: Map<number, number>;
  /** Contents of pages not in the cache: index → token (absent = 0, a hole). */
  readonly contents: Map<number, number>;
  /** Whether this is shmem (swap-backed, counted in Shmem). */
  readonly shmem: boolean;
  /** The file first mapped (its reference count tells when an unlinked file is gone). */
  readonly file: File | null;

  constructor(inode: Inode, shmem: boolean, file: File | null = null) {
    this.inode = inode;
    this.file = file;
    this.rmap = inode.iMapping;
    this.pages = new Map();
    this.contents = new Map();
    this.shmem = shmem;
  }
}

/** What the page cache needs of the kernel: folios and their tokens. */
export interface PageCacheHost {
  /** Allocate a folio of `order`: its head PFN or a negative errno. */
  allocFolio(order: number): number;
  /** Drop `refs` references of a folio. */
  putFolio(folio: number, refs: number): void;
  /** The content token of page `pfn`. */
  token(pfn: number): number;
  /** Store a content token in page `pfn`. */
  setToken(pfn: number, token: number): void;
  /** Count a vmstat event (`thp_file_alloc`, `thp_file_fallback`). */
  vmEvent?(name: string): void;
}

/** The page caches of a kernel, keyed by `address_space`. */
export class PageCache {
  /** The folio and rmap store cached folios live in. */
  readonly rm: FolioRmap;
  private readonly mappings: Map<AddressSpace, PageCacheMapping>;
  /** The kernel: folio allocation and the token store. */
  private readonly host: PageCacheHost;
  /** Pages in all caches. */
  nrPages: number;
  /** Pages in shmem caches. */
  nrShmem: number;
  /** Pages of PMD-sized shmem folios in the caches (`NR_SHMEM_THPS`). */
  nrShmemThps: number;

  constructor(rm: FolioRmap, host: PageCacheHost) {
    this.rm = rm;
    this.mappings = new Map();
    this.host = host;
    this.nrPages = 0;
    this.nrShmem = 0;
    this.nrShmemThps = 0;
  }

  /** The cache of `mapping`, created on first use. */
  mappingOf(mapping: AddressSpace, shmem: boolean, file: File | null = null): PageCacheMapping {
    let m = this.mappings.get(mapping);
    if (m === undefined) {
      m = new PageCacheMapping(mapping.host, shmem, file);
      this.mappings.set(mapping, m);
    }
    return m;
  }

  /** Every cache (for /proc and validation). */
  all(): IterableIterator<PageCacheMapping> {
    return this.mappings.values();
  }

  /** The cached page (PFN) of `index`, or -1; its folio is `pageFolio()` of it. @kernel filemap_get_entry (mm/filemap.c) */
  lookup(m: PageCacheMapping, index: number): number {
    return m.pages.get(index) ?? -1;
  }

  /**
   * The page of `index`, read in (filled with the file's tokens) if absent:
   * into a folio of `order` at the aligned index when `order` > 0 and none
   * of its range is cached (`thp_file_alloc`; if that allocation fails,
   * `thp_file_fallback` and an order-0 folio), else an order-0 folio.
   * @returns the page's PFN, or -ENOMEM.
   * @kernel filemap_fault / shmem_get_folio / shmem_alloc_and_add_folio (mm/filemap.c, mm/shmem.c)
   */
  getFolio(m: PageCacheMapping, index: number, order = 0): number {
    const f = m.pages.get(index);
    if (f !== undefined) return f;
    if (order > 0) {
      const nr = 2 ** order;
      const start = index - (index % nr);
      let free = true;
      for (let i = 0; i < nr && free; i++) if (m.pages.has(start + i)) free = false;
      if (free) {
        const folio = this.host.allocFolio(order);
        if (folio >= 0) {
          this.addFolio(m, folio, start, nr);
          this.host.vmEvent?.('thp_file_alloc');
          return folio + (index - start);
        }
        this.host.vmEvent?.('thp_file_fallback');
      }
    }
    const folio = this.host.allocFolio(0);
    if (folio < 0) return folio;
    this.addFolio(m, folio, index, 1);
    return folio;
  }

  /** Cache the new folio `folio` of `nr` pages at `start`. @kernel filemap_add_folio / shmem_add_to_page_cache */
  private addFolio(m: PageCacheMapping, folio: number, start: number, nr: number): void {
    folioSetMapping(this.rm, folio, m.rmap, start);
    if (nr > 1) folioRefAdd(this.rm, folio, nr - 1);
    if (m.shmem) folioSetFlag(this.rm, folio, PG_swapbacked);
    for (let i = 0; i < nr; i++) {
      this.host.setToken(folio + i, m.contents.get(start + i) ?? 0);
      m.contents.delete(start + i);
      m.pages.set(start + i, folio + i);
    }
    this.nrPages += nr;
    if (m.shmem) this.nrShmem += nr;
    if (m.shmem && nr > 1) this.nrShmemThps += nr;
  }

  /** The file's content at `index` (from the cache if cached). */
  read(m: PageCacheMapping, index: number): number {
    const f = m.pages.get(index);
    return f !== undefined ? this.host.token(f) : (m.contents.get(index) ?? 0);
  }

  /** Write the file at `index` (the `write()` system call's effect on the cache). */
  write(m: PageCacheMapping, index: number, token: number): void {
    const f = m.pages.get(index);
    if (f !== undefined) this.host.setToken(f, token);
    else if (token === 0) m.contents.delete(index);
    else m.contents.set(index, token);
  }

  /**
   * Drop the unmapped cached pages of `m` (memory pressure, or the last
   * reference to an unlinked shmem file): their tokens go back to the file.
   * @returns pages dropped.
   * @kernel invalidate_mapping_pages / shmem_evict_inode (mm/truncate.c, mm/shmem.c)
   */
  evict(m: PageCacheMapping, includeShmem: boolean): number {
    if (m.shmem && !includeShmem) return 0;
    let n = 0;
    for (const [index, page] of m.pages) {
      // a folio goes whole, from its first index
      const folio = pageFolio(this.rm, page);
      if (page !== folio || folioMapped(this.rm, folio)) continue;
      const nr = folioNrPages(this.rm, folio);
      for (let i = 0; i < nr; i++) {
        const t = this.host.token(folio + i);
        if (t !== 0) m.contents.set(index + i, t);
        m.pages.delete(index + i);
      }
      folioClearMapping(this.rm, folio);
      this.host.putFolio(folio, nr);
      this.nrPages -= nr;
      if (m.shmem) this.nrShmem -= nr;
      if (m.shmem && nr > 1) this.nrShmemThps -= nr;
      n += nr;
    }
    return n;
  }

  /**
   * Drop the pages [first, last] of `m` from the cache and the file (a
   * hole, reading 0). Their mappings must be gone already
   * (`unmap_mapping_range`); a folio someone still holds (a pin) lives on
   * outside the cache until its last reference. A large folio only partly
   * inside the range stays cached with the covered pages zeroed (the
   * kernel's `truncate_inode_partial_folio()` zeroes them and then tries to
   * split the folio; the model does not split page-cache folios).
   * @returns pages dropped from the cache.
   * @kernel truncate_inode_pages_range / shmem_undo_range (mm/truncate.c, mm/shmem.c)
   */
  truncateRange(m: PageCacheMapping, first: number, last: number): number {
    let n = 0;
    for (const index of [...m.contents.keys()]) if (index >= first && index <= last) m.contents.delete(index);
    for (const [index, page] of [...m.pages]) {
      if (index < first || index > last || !m.pages.has(index)) continue;
      const folio = pageFolio(this.rm, page);
      const nr = folioNrPages(this.rm, folio);
      const start = index - (page - folio);
      if (start < first || start + nr - 1 > last) {
        this.host.setToken(page, 0);
        continue;
      }
      if (folioMapped(this.rm, folio)) {
        throw new MmBugError(
          `page cache: truncating index ${index} of ino ${m.inode.iIno}, folio ${folio} still mapped`,
        );
      }
      for (let i = 0; i < nr; i++) m.pages.delete(start + i);
      folioClearMapping(this.rm, folio);
      this.host.putFolio(folio, nr);
      this.nrPages -= nr;
      if (m.shmem) this.nrShmem -= nr;
      if (m.shmem && nr > 1) this.nrShmemThps -= nr;
      n += nr;
    }
    return n;
  }

  /** Forget a mapping whose pages are all dropped. */
  forget(mapping: AddressSpace): void {
    const m = this.mappings.get(mapping);
    if (m !== undefined && m.pages.size === 0) this.mappings.delete(mapping);
  }
}
