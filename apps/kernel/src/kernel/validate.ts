/**
 * DOC: `kernel.validate()`: every package's validator, then cross-checks
 * between them.
 *
 * - the machine (`machine.validate()`), the slab allocator, the page
 *   tables (`ptValidate`, with every mapped PFN checked to be a live user
 *   folio or the zero page), the folios and anon_vma trees
 *   (`folioRmapValidate`), each address space's VMA tree (`validateMm`:
 *   no overlaps, counters);
 * - each present PTE or PMD maps a live folio, and the mappings found in
 *   the page tables of every mm equal the folio's mapcount, and in
 *   CONFIG_PAGE_MAPCOUNT mode each page's precise mapcount;
 * - each folio's reference count equals its mappings plus the page cache's
 *   reference plus pins;
 * - each mm's RSS counters equal the pages its tables map, by counter;
 * - each mapped anon folio's anon_vma is on the chain of the VMA mapping it
 *   (the rmap can reach it);
 * - sleeping faults and folio waiters: each waits in TASK_UNINTERRUPTIBLE
 *   on a folio that is still locked or on the mmap lock's wait list (no
 *   lost wake-up), and a fault asleep in `__folio_lock()` holds the mmap
 *   read lock;
 * - each mapped page-cache folio belongs to the file of the VMA mapping it,
 *   at the page offset the address maps, and `rmap_walk_file` from its
 *   mapping's i_mmap tree visits every VMA mapping it;
 * - no live user folio is unmapped and uncached (a leak).
 */
import {
  folioAnonVma,
  folioMapcount,
  folioMapping,
  folioMaybeDmaPinned,
  folioNrPages,
  folioPrecisePageMapcount,
  folioRefCount,
  folioRmapValidate,
  folioTestAnon,
  pageFolio,
} from '@mm/folio-rmap';
import { MmBugError } from '@mm/machine';
import {
  LEAF_KIND,
  type MmPgtables,
  PMD_LEVEL,
  PteVal,
  PteView,
  pmdpGet,
  pteOffsetMap,
  ptepGet,
  pteUnmap,
  ptValidate,
} from '@mm/pgtable-arch';
import { slabValidate } from '@mm/slab-sheaves';
import { AddressSpace, iMmapVmas } from '../mm/file.js';
import { type MmStruct, type VmAreaStruct, vmaIsSharedMaywrite } from '../mm/mm-types.js';
import { VM_SHARED } from '../mm/vm-flags.js';
import { validateMm, vmaList } from '../mm/vma.js';
import { rmapWalkVmas } from './file-rmap.js';
import { HUGE_ZERO_UNSET_PFN, isHugeZeroPfn, MMF_HUGE_ZERO_FOLIO } from './huge-memory.js';
import type { Kernel } from './kernel.js';
import { mmCounter } from './pt-ops.js';

const pv = new PteVal();
const pv2 = new PteVal();
const view = new PteView();

/** Mappings of one folio found in the page tables. */
interface FolioSeen {
  ptes: number;
  pmds: number;
  /** Per page (offset in the folio): PTE mappings + PMD mappings. */
  perPage: Map<number, number>;
}

function bug(msg: string): never {
  throw new MmBugError(`kernel.validate: ${msg}`);
}

/**
 * Check the whole kernel; throws MmBugError naming the first problem.
 * @kernel (CONFIG_DEBUG_VM checks: validate_mm, page_table_check, debug_vm_pgtable)
 */
export function validateKernel(k: Kernel): void {
  k.machine.validate();
  slabValidate(k.caches.slab);
  const rm = k.rm;
  ptValidate(k.pt, {
    checkPfn: (pfn, nr, kind) => {
      if (kind !== 'present') return null;
      if (pfn === k.zeroPfn) return null;
      if (isHugeZeroPfn(k, pfn)) {
        return nr === k.hpageNr && pfn === k.hugeZeroPfn ? null : `pfn ${pfn} maps part of the huge zero folio`;
      }
      const head = pageFolio(rm, pfn);
      if (!k.userFolios.has(head)) return `pfn ${pfn} (${nr} pages) is not a live user folio`;
      return null;
    },
  });
  folioRmapValidate(rm);
  const sleepers = k.checkSleepers();
  if (sleepers !== null) bug(sleepers);
  checkHugeZero(k);
  const seen = new Map<number, FolioSeen>();
  const fileSeen = new Map<number, Set<VmAreaStruct>>();
  const c = k.pt.codec;
  for (const mm of k.mms()) {
    validateMm(mm);
    const pgt = mm.pgt as MmPgtables;
    const rss = new Float64Array(4);
    for (const vma of vmaList(mm)) scanVma(k, vma, pgt, rss, seen, fileSeen);
    for (let i = 0; i < 4; i++) {
      if (i === 2) continue; // MM_SWAPENTS: no swap entries yet
      if (rss[i] !== mm.rssStat[i])
        bug(`pid ${mm.pid}: RSS counter ${i} is ${mm.rssStat[i]}, the page tables map ${rss[i]}`);
    }
  }
  void c;
  validateIMmap(k);
  // file folios: rmap_walk_file from the folio's mapping reaches every VMA mapping it
  for (const [folio, vmas] of fileSeen) {
    const walked = new Set(rmapWalkVmas(k, folio));
    for (const vma of vmas) {
      if (!walked.has(vma))
        bug(
          `file folio ${folio} mapped at pid ${vma.vmMm.pid} ${vma.vmStart.toString(16)}: rmap_walk_file misses the VMA`,
        );
    }
  }
  // folios: mappings, references, leaks
  const cached = new Set<number>();
  for (const m of k.pageCache.all()) {
    for (const [index, page] of m.pages) {
      const f = pageFolio(rm, page);
      // a large folio is cached whole, each page at its index
      if (m.pages.get(index - (page - f)) !== f)
        bug(`page cache index ${index}: page ${page} of folio ${f} is misplaced`);
      cached.add(f);
    }
  }
  for (const folio of k.userFolios) {
    const s = seen.get(folio);
    const nr = folioNrPages(rm, folio);
    const maps = s === undefined ? 0 : s.ptes + s.pmds;
    if (folioMapcount(rm, folio) !== maps) {
      bug(`folio ${folio}: mapcount ${folioMapcount(rm, folio)}, page tables map it ${maps} times`);
    }
    const refs = (s === undefined ? 0 : s.ptes + s.pmds * nr) + (cached.has(folio) ? nr : 0);
    const rc = folioRefCount(rm, folio);
    const pinned = folioMaybeDmaPinned(rm, folio);
    if (!pinned ? rc !== refs : rc < refs) {
      bug(`folio ${folio}: refcount ${rc}, expected ${refs} (mappings and page cache)`);
    }
    if (maps === 0 && !cached.has(folio) && !pinned) bug(`folio ${folio} leaked: neither mapped nor cached`);
    if (rm.pageMapcount && s !== undefined) {
      for (let i = 0; i < nr; i++) {
        const want = s.perPage.get(i) ?? 0;
        const got = folioPrecisePageMapcount(rm, folio, folio + i);
        if (got !== want) bug(`folio ${folio} page ${i}: precise mapcount ${got}, page tables map it ${want} times`);
      }
    }
  }
}

function note(seen: Map<number, FolioSeen>, head: number, page: number, pmd: boolean, nr: number): void {
  let s = seen.get(head);
  if (s === undefined) {
    s = { ptes: 0, pmds: 0, perPage: new Map() };
    seen.set(head, s);
  }
  if (pmd) {
    s.pmds++;
    for (let i = 0; i < nr; i++) s.perPage.set(i, (s.perPage.get(i) ?? 0) + 1);
  } else {
    s.ptes++;
    const i = page - head;
    s.perPage.set(i, (s.perPage.get(i) ?? 0) + 1);
  }
}

/**
 * The huge zero folio: its reference count is the shrinker's plus one per
 * mm with MMF_HUGE_ZERO_FOLIO, it is an unmapped, non-rmappable folio of
 * PMD order with one page reference, outside the user folios.
 */
function checkHugeZero(k: Kernel): void {
  let users = 0;
  for (const mm of k.mms()) if ((mm.mmFlags & MMF_HUGE_ZERO_FOLIO) !== 0) users++;
  if (k.hugeZeroPfn === HUGE_ZERO_UNSET_PFN) {
    if (k.hugeZeroRefcount !== 0 || users !== 0)
      bug(`no huge zero folio, but huge_zero_refcount ${k.hugeZeroRefcount} and ${users} mms using it`);
    return;
  }
  const rm = k.rm;
  const pfn = k.hugeZeroPfn;
  if (k.hugeZeroRefcount !== users + 1)
    bug(`huge_zero_refcount ${k.hugeZeroRefcount}, expected ${users + 1} (the shrinker and ${users} mms)`);
  if (pfn % k.hpageNr !== 0 || folioNrPages(rm, pfn) !== k.hpageNr) bug(`huge zero folio ${pfn} is not PMD-sized`);
  if (folioRefCount(rm, pfn) !== 1) bug(`huge zero folio: refcount ${folioRefCount(rm, pfn)}, expected 1`);
  if (folioMapcount(rm, pfn) !== 0) bug(`huge zero folio: mapcount ${folioMapcount(rm, pfn)} (it is never rmapped)`);
  if (k.userFolios.has(pfn)) bug('huge zero folio is counted as a user folio');
  for (let i = 0; i < k.hpageNr; i++) if (k.token(pfn + i) !== 0) bug(`huge zero folio page ${i} holds a token`);
}

/** A PMD mapping the huge zero folio: whole, read-only, special, in a private anonymous VMA of an mm holding it. */
function checkHugeZeroPmd(k: Kernel, vma: VmAreaStruct, pmd: PteVal, pmdp: number, a: number): void {
  const c = k.pt.codec;
  const where = `huge zero PMD at ${a.toString(16)} (pid ${vma.vmMm.pid})`;
  if (c.pmdPfn(pmd) !== k.hugeZeroPfn) bug(`${where}: maps pfn ${c.pmdPfn(pmd)}, not the folio's head`);
  if (c.pteWrite(pmd)) bug(`${where} is writable`);
  if (!c.pteSpecial(pmd)) bug(`${where} is not special`);
  if (vma.vmOps !== null || (vma.vmFlags & VM_SHARED) !== 0) bug(`${where}: not a private anonymous VMA`);
  if ((vma.vmMm.mmFlags & MMF_HUGE_ZERO_FOLIO) === 0) bug(`${where}: the mm has no MMF_HUGE_ZERO_FOLIO`);
  if (!(vma.vmMm.pgt as MmPgtables).pt.deposited.has(pmdp)) bug(`${where}: no deposited page table`);
}

function checkAnon(k: Kernel, vma: VmAreaStruct, head: number, addr: number): void {
  const rm = k.rm;
  if (!folioTestAnon(rm, head)) return;
  const av = folioAnonVma(rm, head);
  if (av === null) bug(`anon folio ${head} at ${addr.toString(16)} has no anon_vma`);
  if (!vma.anonVmaChain.some((avc) => avc.anonVma === (av as unknown))) {
    bug(`anon folio ${head} at ${addr.toString(16)} (pid ${vma.vmMm.pid}): its anon_vma is not on the VMA's chain`);
  }
}

/**
 * Each address_space's i_mmap tree holds exactly the file VMAs of the live
 * mms that map it (validate_mm checked each VMA's own node and key), and
 * `i_mmap_writable` counts its shared writable ones.
 */
function validateIMmap(k: Kernel): void {
  const byMapping = new Map<unknown, VmAreaStruct[]>();
  for (const mm of k.mms()) {
    for (const vma of vmaList(mm)) {
      if (vma.vmFile === null) continue;
      const l = byMapping.get(vma.vmFile.fMapping);
      if (l === undefined) byMapping.set(vma.vmFile.fMapping, [vma]);
      else l.push(vma);
    }
  }
  for (const mapping of k.rm.mappings) {
    if (!(mapping instanceof AddressSpace)) continue;
    const inTree = iMmapVmas(mapping);
    const want = byMapping.get(mapping) ?? [];
    const name = `ino ${mapping.host.iIno}`;
    if (inTree.length !== want.length)
      bug(`${name}: i_mmap holds ${inTree.length} VMAs, ${want.length} live VMAs map the file`);
    const live = new Set(want);
    for (const v of inTree) if (!live.has(v)) bug(`${name}: i_mmap holds a VMA no live mm has`);
    const writable = want.filter((v) => vmaIsSharedMaywrite(v)).length;
    if (mapping.iMmapWritable >= 0 && mapping.iMmapWritable !== writable)
      bug(`${name}: i_mmap_writable ${mapping.iMmapWritable}, ${writable} shared writable VMAs`);
  }
}

/** Page `page` of a page-cache folio mapped at `addr` of `vma`: the VMA's file, at the page offset `addr` maps. */
function checkFile(
  k: Kernel,
  vma: VmAreaStruct,
  head: number,
  page: number,
  addr: number,
  fileSeen: Map<number, Set<VmAreaStruct>>,
): void {
  const rm = k.rm;
  if (folioTestAnon(rm, head)) return;
  const where = `file folio ${head} at ${addr.toString(16)} (pid ${vma.vmMm.pid})`;
  if (vma.vmFile === null) bug(`${where}: mapped by an anonymous VMA`);
  if (folioMapping(rm, head) !== (vma.vmFile.fMapping as unknown)) bug(`${where}: not a folio of the VMA's file`);
  const index = (rm.sec(head).index[head & rm.mask] as number) + (page - head);
  const want = vma.vmPgoff + (addr - vma.vmStart) / k.pageSize;
  if (index !== want) bug(`${where}: index ${index}, the address maps page offset ${want}`);
  let s = fileSeen.get(head);
  if (s === undefined) {
    s = new Set();
    fileSeen.set(head, s);
  }
  s.add(vma);
}

function scanVma(
  k: Kernel,
  vma: VmAreaStruct,
  pgt: MmPgtables,
  rss: Float64Array,
  seen: Map<number, FolioSeen>,
  fileSeen: Map<number, Set<VmAreaStruct>>,
): void {
  const c = k.pt.codec;
  const rm = k.rm;
  const ps = k.pageSize;
  for (let a = vma.vmStart; a < vma.vmEnd; ) {
    const tblEnd = Math.min(vma.vmEnd, a - (a % k.pmdSize) + k.pmdSize);
    const pmdp = k.pt.lookup(pgt, PMD_LEVEL, a);
    if (pmdp >= 0) {
      const pmd = pmdpGet(pgt, pmdp, pv);
      if (!c.pmdNone(pmd)) {
        if (c.pmdLeaf(pmd)) {
          if (c.pmdPresent(pmd) && isHugeZeroPfn(k, c.pmdPfn(pmd))) {
            checkHugeZeroPmd(k, vma, pmd, pmdp, a);
          } else if (c.pmdPresent(pmd)) {
            const head = c.pmdPfn(pmd);
            const nr = folioNrPages(rm, head);
            if (a % k.pmdSize !== 0 || tblEnd - a !== k.pmdSize)
              bug(`PMD leaf at ${a.toString(16)} not inside its VMA`);
            note(seen, head, head, true, nr);
            rss[mmCounter(rm, head, vma)]! += nr;
            checkAnon(k, vma, head, a);
            checkFile(k, vma, head, head, a, fileSeen);
          }
        } else {
          const ptep = pteOffsetMap(pgt, pmdp, a);
          if (ptep >= 0) {
            for (let x = a; x < tblEnd; x += ps) {
              const pte = ptepGet(pgt, ptep + (x - a) / ps, pv2);
              let pfn: number;
              if (c.ptePresent(pte)) {
                pfn = c.ptePfn(pte);
                if (isHugeZeroPfn(k, pfn)) bug(`PTE at ${x.toString(16)} maps a page of the huge zero folio`);
                if (pfn === k.zeroPfn || c.pteSpecial(pte)) continue;
              } else if (!c.pteNone(pte) && k.pt.entries.decodePte(pte, view).kind === LEAF_KIND.DEVICE_EXCLUSIVE) {
                pfn = view.pfn;
              } else continue;
              const head = pageFolio(rm, pfn);
              note(seen, head, pfn, false, 1);
              rss[mmCounter(rm, head, vma)]!++;
              checkAnon(k, vma, head, x);
              checkFile(k, vma, head, pfn, x, fileSeen);
            }
            pteUnmap(pgt, ptep);
          }
        }
      }
    }
    a = tblEnd;
  }
}

/** The mm a VMA belongs to (re-exported for tests). */
export type { MmStruct };
