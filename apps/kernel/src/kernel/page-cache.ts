/**
 * DOC: a page cache over the tmpfs-like files of `mm/file.ts`.
 *
 * Each inode's `address_space` gets a map from page index to the folio
 * caching it (order-0 folios), and the file's contents are content tokens
 * per page index (0 for a hole). A folio in the cache holds one reference
 * (the cache's); its token is the file's data, so a shared mapping's store
 * is the file's content at once, as with tmpfs. A private mapping's store
 * copies the page (CoW) and leaves the file unchanged.
 */

import { type FolioRmap, folioClearMapping, folioMapped, folioSetFlag, folioSetMapping } from '@mm/folio-rmap';
import { MmBugError, PG_swapbacked } from '@mm/machine';
import type { AddressSpace, File, Inode } from '../mm/file.js';

/** The cache of one inode. @kernel struct address_space's i_pages (include/linux/fs.h) */
export class PageCacheMapping {
  /** The file whose pages this cache holds (`address_space::host`). */
  readonly inode: Inode;
  /** The inode's address_space (`folio->mapping`, and `i_mmap` for the rmap walks). */
  readonly rmap: AddressSpace;
  /** index → folio (head PFN). */
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

  constructor(rm: FolioRmap, host: PageCacheHost) {
    this.rm = rm;
    this.mappings = new Map();
    this.host = host;
    this.nrPages = 0;
    this.nrShmem = 0;
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

  /** The cached folio of `index`, or -1. @kernel filemap_get_folio (mm/filemap.c) */
  lookup(m: PageCacheMapping, index: number): number {
    return m.pages.get(index) ?? -1;
  }

  /**
   * The folio of `index`, read in (filled with the file's token) if absent.
   * @returns the folio, or -ENOMEM.
   * @kernel filemap_fault / shmem_get_folio (mm/filemap.c, mm/shmem.c)
   */
  getFolio(m: PageCacheMapping, index: number): number {
    const f = m.pages.get(index);
    if (f !== undefined) return f;
    const folio = this.host.allocFolio(0);
    if (folio < 0) return folio;
    folioSetMapping(this.rm, folio, m.rmap, index);
    // shmem folios are swap-backed (their mappings count in MM_SHMEMPAGES)
    if (m.shmem) folioSetFlag(this.rm, folio, PG_swapbacked);
    this.host.setToken(folio, m.contents.get(index) ?? 0);
    m.contents.delete(index);
    m.pages.set(index, folio);
    this.nrPages++;
    if (m.shmem) this.nrShmem++;
    return folio;
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
    for (const [index, folio] of m.pages) {
      if (folioMapped(this.rm, folio)) continue;
      const t = this.host.token(folio);
      if (t !== 0) m.contents.set(index, t);
      m.pages.delete(index);
      folioClearMapping(this.rm, folio);
      this.host.putFolio(folio, 1);
      this.nrPages--;
      if (m.shmem) this.nrShmem--;
      n++;
    }
    return n;
  }

  /**
   * Drop the pages [first, last] of `m` from the cache and the file (a
   * hole, reading 0). Their mappings must be gone already
   * (`unmap_mapping_range`); a folio someone still holds (a pin) lives on
   * outside the cache until its last reference.
   * @returns pages dropped from the cache.
   * @kernel truncate_inode_pages_range / shmem_undo_range (mm/truncate.c, mm/shmem.c)
   */
  truncateRange(m: PageCacheMapping, first: number, last: number): number {
    let n = 0;
    for (const index of [...m.contents.keys()]) if (index >= first && index <= last) m.contents.delete(index);
    for (const [index, folio] of [...m.pages]) {
      if (index < first || index > last) continue;
      if (folioMapped(this.rm, folio)) {
        throw new MmBugError(
          `page cache: truncating index ${index} of ino ${m.inode.iIno}, folio ${folio} still mapped`,
        );
      }
      m.pages.delete(index);
      folioClearMapping(this.rm, folio);
      this.host.putFolio(folio, 1);
      this.nrPages--;
      if (m.shmem) this.nrShmem--;
      n++;
    }
    return n;
  }

  /** Forget a mapping whose pages are all dropped. */
  forget(mapping: AddressSpace): void {
    const m = this.mappings.get(mapping);
    if (m !== undefined && m.pages.size === 0) this.mappings.delete(mapping);
  }
}
