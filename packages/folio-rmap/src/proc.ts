/**
 * DOC: the mapcount helpers behind /proc: `/proc/kpagecount`,
 * `/proc/PID/smaps` PSS/USS, `numa_maps` mapmax and `pagemap`'s
 * PM_MMAP_EXCLUSIVE, in both mapcount modes.
 *
 * With CONFIG_PAGE_MAPCOUNT each page has its precise mapcount (its PTE
 * mappings plus the folio's PMD mappings). With CONFIG_NO_PAGE_MAPCOUNT a
 * large folio only has totals, so these report the folio's average per-page
 * mapcount (rounded to nearest, at least 1 while mapped) and use
 * `folio_maybe_mapped_shared()` for exclusivity: USS may be under-estimated,
 * never over-estimated (CONFIG_NO_PAGE_MAPCOUNT, v6.15). A 512-page folio reports
 * 0 with no mappings, 1 for 1..767 page mappings, 2 for 768..1279, ...
 */
import { PG_dirty, PG_head, PG_referenced, PG_swapbacked, PG_young, PGTY_buddy } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { FolioError } from './errors.js';
import {
  FOLIO_MAPPING_ANON,
  FOLIO_MAPPING_FLAGS,
  FOLIO_MAPPING_KSM,
  folioMaybeMappedShared,
  pageFolio,
} from './folio.js';

/**
 * Mappings of one page: its PTE mappings plus the folio's entire (PMD)
 * mappings; 0 for typed pages. CONFIG_PAGE_MAPCOUNT only.
 * @throws FolioError (EOPNOTSUPP) with CONFIG_NO_PAGE_MAPCOUNT (a BUILD_BUG in the kernel).
 * @kernel folio_precise_page_mapcount (fs/proc/internal.h)
 */
export function folioPrecisePageMapcount(rm: FolioRmap, folio: number, page: number): number {
  if (!rm.pageMapcount) {
    throw new FolioError('EOPNOTSUPP', folio, 'proc: folio_precise_page_mapcount needs CONFIG_PAGE_MAPCOUNT');
  }
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  // The page's own memmap section (a gigantic folio spans several).
  let mapcount = (rm.sec(page).mapcount[page & rm.mask] as number) + 1;
  if (page === folio && s.pageType[i] !== 0) mapcount = 0;
  if ((s.flags[i] as number) & (1 << PG_head)) mapcount += (s.mapping[i + 1] as number) + 1;
  return mapcount;
}

/**
 * Average mappings per page of the folio, rounded to the nearest integer
 * (halves up), but at least 1 while any page is mapped; PMD mappings count
 * for every page.
 * @kernel folio_average_page_mapcount (fs/proc/internal.h)
 */
export function folioAveragePageMapcount(rm: FolioRmap, folio: number): number {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if (!((s.flags[i] as number) & (1 << PG_head))) {
    return s.pageType[i] !== 0 ? 0 : (s.mapcount[i] as number) + 1;
  }
  let mapcount = (s.next[i + 1] as number) + 1;
  if (mapcount <= 0) return 0;
  const entire = (s.mapping[i + 1] as number) + 1;
  if (mapcount <= entire) return entire;
  mapcount -= entire;
  const order = s.order[i] as number;
  const avg = (mapcount + (1 << order) / 2) >>> order;
  return Math.max(avg + entire, 1);
}

/**
 * The /proc/kpagecount value of `pfn`: precise per-page with
 * CONFIG_PAGE_MAPCOUNT, the folio's average otherwise; 0 for free, typed
 * and never-touched pages.
 * @kernel get_kpage_count (fs/proc/page.c)
 */
export function kpagecount(rm: FolioRmap, pfn: number): number {
  const s = rm.sections[pfn >>> rm.shift];
  if (s === undefined) return 0;
  const i = pfn & rm.mask;
  if (s.pageType[i] === PGTY_buddy) return 0;
  const folio = pageFolio(rm, pfn);
  if ((rm.sec(folio).refcount[folio & rm.mask] as number) <= 0) return 0;
  return rm.pageMapcount ? folioPrecisePageMapcount(rm, folio, pfn) : folioAveragePageMapcount(rm, folio);
}

/**
 * Read /proc/kpagecount for `count` PFNs from `start` (one u64 per PFN, as numbers).
 * @kernel kpagecount_read / kpage_read (fs/proc/page.c)
 */
export function kpagecountRead(rm: FolioRmap, start: number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const pfn = start + k;
    out[k] = pfn < rm.memmap.totalPages ? kpagecount(rm, pfn) : 0;
  }
  return out;
}

/**
 * Whether pagemap sets PM_MMAP_EXCLUSIVE for `page`: its precise mapcount
 * is 1 (CONFIG_PAGE_MAPCOUNT), or the folio is not maybe-shared.
 * @kernel __folio_page_mapped_exclusively (fs/proc/task_mmu.c)
 */
export function folioPageMappedExclusively(rm: FolioRmap, folio: number, page: number): boolean {
  if (rm.pageMapcount) return folioPrecisePageMapcount(rm, folio, page) === 1;
  return !folioMaybeMappedShared(rm, folio);
}

/** `PM_MMAP_EXCLUSIVE`: pagemap bit 56. */
export const PM_MMAP_EXCLUSIVE = 2 ** 56;

/**
 * The mapcount `numa_maps` uses for `mapmax=`: precise or average.
 * @kernel gather_stats (fs/proc/task_mmu.c)
 */
export function numaMapsMapcount(rm: FolioRmap, folio: number, page: number): number {
  return rm.pageMapcount ? folioPrecisePageMapcount(rm, folio, page) : folioAveragePageMapcount(rm, folio);
}

/** `PSS_SHIFT`: PSS is accumulated in 1/4096ths of a byte. */
export const PSS_SHIFT = 12;

/**
 * What smaps sums per VMA (`struct mem_size_stats`, the fields the rmap decides).
 * Sizes in bytes; `pss*` in bytes << PSS_SHIFT.
 */
export class MemSizeStats {
  /** Bytes mapped and present. @kernel mem_size_stats.resident */
  resident = 0;
  /** Anonymous bytes. @kernel mem_size_stats.anonymous */
  anonymous = 0;
  /** Anonymous bytes marked lazily freeable (MADV_FREE). @kernel mem_size_stats.lazyfree */
  lazyfree = 0;
  /** KSM-merged bytes. @kernel mem_size_stats.ksm */
  ksm = 0;
  /** Bytes with the accessed bit or referenced flag set. @kernel mem_size_stats.referenced */
  referenced = 0;
  /** Clean bytes mapped more than once. @kernel mem_size_stats.shared_clean */
  sharedClean = 0;
  /** Dirty bytes mapped more than once. @kernel mem_size_stats.shared_dirty */
  sharedDirty = 0;
  /** Clean bytes mapped once. @kernel mem_size_stats.private_clean */
  privateClean = 0;
  /** Dirty bytes mapped once. @kernel mem_size_stats.private_dirty */
  privateDirty = 0;
  /** Proportional set size. @kernel mem_size_stats.pss */
  pss = 0;
  /** Proportional set size of anonymous memory. @kernel mem_size_stats.pss_anon */
  pssAnon = 0;
  /** Proportional set size of file memory. @kernel mem_size_stats.pss_file */
  pssFile = 0;
  /** Proportional set size of shmem. @kernel mem_size_stats.pss_shmem */
  pssShmem = 0;
  /** Proportional set size of mlocked memory. @kernel mem_size_stats.pss_locked */
  pssLocked = 0;
  /** Proportional set size of dirty memory. @kernel mem_size_stats.pss_dirty */
  pssDirty = 0;
}

/** @kernel smaps_page_accumulate (fs/proc/task_mmu.c) */
function smapsPageAccumulate(
  rm: FolioRmap,
  mss: MemSizeStats,
  folio: number,
  size: number,
  pss: number,
  dirty: boolean,
  locked: boolean,
  priv: boolean,
): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const flags = s.flags[i] as number;
  mss.pss += pss;
  if ((s.mapping[i] as number) & FOLIO_MAPPING_ANON) mss.pssAnon += pss;
  else if (flags & (1 << PG_swapbacked)) mss.pssShmem += pss;
  else mss.pssFile += pss;
  if (locked) mss.pssLocked += pss;
  if (dirty || flags & (1 << PG_dirty)) {
    mss.pssDirty += pss;
    if (priv) mss.privateDirty += size;
    else mss.sharedDirty += size;
  } else if (priv) {
    mss.privateClean += size;
  } else {
    mss.sharedClean += size;
  }
}

/**
 * Account one mapped `page` (or, with `compound`, the whole folio mapped by
 * a PMD) into `mss`: size, anon/lazyfree/KSM, referenced, and PSS and
 * private/shared from the mapcounts. `present` is false for swap and
 * migration entries. USS is `privateClean + privateDirty`.
 * @kernel smaps_account (fs/proc/task_mmu.c)
 */
export function smapsAccount(
  rm: FolioRmap,
  mss: MemSizeStats,
  page: number,
  compound: boolean,
  young: boolean,
  dirty: boolean,
  locked: boolean,
  present: boolean,
): void {
  const folio = pageFolio(rm, page);
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const flags = s.flags[i] as number;
  const mapping = s.mapping[i] as number;
  const nr = compound && flags & (1 << PG_head) ? 1 << (s.order[i] as number) : 1;
  const size = nr * rm.pageSize;
  if (mapping & FOLIO_MAPPING_ANON) {
    mss.anonymous += size;
    if (!(flags & (1 << PG_swapbacked)) && !dirty && !(flags & (1 << PG_dirty))) mss.lazyfree += size;
  }
  if ((mapping & FOLIO_MAPPING_FLAGS) === FOLIO_MAPPING_KSM) mss.ksm += size;
  mss.resident += size;
  if (young || flags & (1 << PG_young) || flags & (1 << PG_referenced)) mss.referenced += size;
  // refcount == 1 for a present entry means exactly one mapping.
  if ((s.refcount[i] as number) === 1 || !present) {
    smapsPageAccumulate(rm, mss, folio, size, size * 2 ** PSS_SHIFT, dirty, locked, present);
    return;
  }
  let mapcount = 0;
  let exclusive = false;
  if (!rm.pageMapcount) {
    mapcount = folioAveragePageMapcount(rm, folio);
    exclusive = !folioMaybeMappedShared(rm, folio);
  }
  for (let k = 0; k < nr; k++) {
    let pss = rm.pageSize * 2 ** PSS_SHIFT;
    if (rm.pageMapcount) {
      mapcount = folioPrecisePageMapcount(rm, folio, page + k);
      exclusive = mapcount < 2;
    }
    if (mapcount >= 2) pss = Math.floor(pss / mapcount);
    smapsPageAccumulate(rm, mss, folio, rm.pageSize, pss, dirty, locked, exclusive);
  }
}
