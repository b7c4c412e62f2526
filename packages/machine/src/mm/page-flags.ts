/**
 * DOC: page flags and page types, as bit numbers and values of the kernel's
 * `enum pageflags` and `enum pagetype`.
 *
 * Bits follow the v6.15 x86-64 layout (CONFIG_MMU, CONFIG_MEMORY_FAILURE,
 * CONFIG_PAGE_IDLE_FLAG on; no PG_arch_2/3), including the kernel's aliases
 * (`PG_swapcache` is `PG_owner_priv_1`, `PG_anon_exclusive` is `PG_owner_2`,
 * the second-page folio flags reuse head-page bits). The memmap keeps a page's
 * flags in one `Uint32Array` slot and its type in a separate byte: in the
 * kernel the type lives in the top byte of `page->page_type`, which overlays
 * `_mapcount`, so a typed page has no mapcount; the model keeps both fields
 * but the ownership table in the README says which one is live.
 *
 * Slab is a page type since v6.10 (`PGTY_slab`), not a flag; `PageSlab()` is
 * therefore a type test here too.
 */

/** Page is locked (`PG_locked`). */
export const PG_locked = 0;
/** Page is under writeback. */
export const PG_writeback = 1;
/** Recently referenced (LRU second chance). */
export const PG_referenced = 2;
/** Contents are valid. */
export const PG_uptodate = 3;
/** Contents differ from backing store. */
export const PG_dirty = 4;
/** Page is on an LRU list. */
export const PG_lru = 5;
/** First page of a compound page (bit 6 in the kernel too). */
export const PG_head = 6;
/** Somebody waits on this page's lock or writeback bit. */
export const PG_waiters = 7;
/** On the active LRU list. */
export const PG_active = 8;
/** Part of the workingset (refault detection). */
export const PG_workingset = 9;
/** Owner use; for anon/shmem it is `PG_swapcache`, for filesystems `PG_checked`. */
export const PG_owner_priv_1 = 10;
/** Owner use; for anon pages it is `PG_anon_exclusive`. */
export const PG_owner_2 = 11;
/** Architecture-specific bit. */
export const PG_arch_1 = 12;
/** Page is reserved (never freed, never swapped). */
export const PG_reserved = 13;
/** `page->private` holds filesystem data. */
export const PG_private = 14;
/** Filesystem auxiliary data. */
export const PG_private_2 = 15;
/** To be reclaimed as soon as writeback ends; `PG_readahead` for page cache. */
export const PG_reclaim = 16;
/** Backed by RAM or swap (anon and shmem). */
export const PG_swapbacked = 17;
/** On the unevictable list. */
export const PG_unevictable = 18;
/** Drop the folio from the page cache when I/O completes. */
export const PG_dropbehind = 19;
/** Mapped by an mlocked VMA. */
export const PG_mlocked = 20;
/** Hardware poisoned (memory failure). */
export const PG_hwpoison = 21;
/** Accessed since last idle scan (page_idle / DAMON). */
export const PG_young = 22;
/** Idle page tracking bit. */
export const PG_idle = 23;
/** Number of real page-flag bits. */
export const __NR_PAGEFLAGS = 24;

/** Alias: page is in the swap cache (anon/shmem); `page->private` holds the swap entry. */
export const PG_swapcache = PG_owner_priv_1;
/** Alias: filesystem "checked" bit. */
export const PG_checked = PG_owner_priv_1;
/** Alias: anonymous page is exclusive to one process (may be written without CoW). */
export const PG_anon_exclusive = PG_owner_2;
/** Alias: page-cache readahead marker. */
export const PG_readahead = PG_reclaim;
/** Alias on buddy pages: reported to the hypervisor by free page reporting. */
export const PG_reported = PG_uptodate;
/** Second page of a large folio: some page in it is hwpoisoned. */
export const PG_has_hwpoisoned = PG_active;
/** Second page of a large folio: the folio is rmappable (anon or file). */
export const PG_large_rmappable = PG_workingset;
/** Second page of a large folio: identified as partially mapped. */
export const PG_partially_mapped = PG_reclaim;

/** Kernel flag names by bit, as `/proc/kpageflags` tools and `%pGp` print them. */
export const PAGE_FLAG_NAMES: readonly string[] = Object.freeze([
  'locked',
  'writeback',
  'referenced',
  'uptodate',
  'dirty',
  'lru',
  'head',
  'waiters',
  'active',
  'workingset',
  'owner_priv_1',
  'owner_2',
  'arch_1',
  'reserved',
  'private',
  'private_2',
  'reclaim',
  'swapbacked',
  'unevictable',
  'dropbehind',
  'mlocked',
  'hwpoison',
  'young',
  'idle',
]);

/**
 * Flags that must be clear when a page is freed (`PAGE_FLAGS_CHECK_AT_FREE`).
 * @kernel PAGE_FLAGS_CHECK_AT_FREE (include/linux/page-flags.h)
 */
// (1 << PG_lru) | (1 << PG_locked) | (1 << PG_private) | (1 << PG_private_2) | (1 << PG_writeback) |
// (1 << PG_reserved) | (1 << PG_active) | (1 << PG_unevictable) | (1 << PG_mlocked), written out so the
// constant has a literal type the fast paths can pin (test/constants.test.ts checks the derivation).
export const PAGE_FLAGS_CHECK_AT_FREE = 0x14e123;

/**
 * Flags that must be clear when a page leaves the allocator: every real flag
 * except hwpoison (`PAGE_FLAGS_CHECK_AT_PREP`).
 * @kernel PAGE_FLAGS_CHECK_AT_PREP (include/linux/page-flags.h)
 */
// ((1 << __NR_PAGEFLAGS) - 1) & ~(1 << PG_hwpoison), written out (test/constants.test.ts checks it).
export const PAGE_FLAGS_CHECK_AT_PREP = 0xdfffff;

/** No page type (the kernel's all-ones `page_type`): the memmap byte is 0. */
export const PGTY_none = 0;
/** Free page owned by the buddy allocator. */
export const PGTY_buddy = 0xf0;
/** Page offlined (memory hot-unplug, balloon). */
export const PGTY_offline = 0xf1;
/** Page-table page. */
export const PGTY_table = 0xf2;
/** Debug guard page. */
export const PGTY_guard = 0xf3;
/** HugeTLB folio. */
export const PGTY_hugetlb = 0xf4;
/** Slab page. */
export const PGTY_slab = 0xf5;
/** zsmalloc page. */
export const PGTY_zsmalloc = 0xf6;
/** Unaccepted memory (confidential guests). */
export const PGTY_unaccepted = 0xf7;

/** Name of a page type value (`"buddy"`, `"slab"`, ...), `""` for none. */
export function pageTypeName(type: number): string {
  switch (type) {
    case PGTY_buddy:
      return 'buddy';
    case PGTY_offline:
      return 'offline';
    case PGTY_table:
      return 'table';
    case PGTY_guard:
      return 'guard';
    case PGTY_hugetlb:
      return 'hugetlb';
    case PGTY_slab:
      return 'slab';
    case PGTY_zsmalloc:
      return 'zsmalloc';
    case PGTY_unaccepted:
      return 'unaccepted';
    default:
      return '';
  }
}

/** Names of the flags set in `flags`, `|`-joined (the `%pGp` style). */
export function pageFlagsString(flags: number): string {
  const out: string[] = [];
  for (let bit = 0; bit < __NR_PAGEFLAGS; bit++) if ((flags >>> bit) & 1) out.push(PAGE_FLAG_NAMES[bit] as string);
  return out.join('|');
}
