/**
 * DOC: /proc and /sys views of the composed kernel, in the kernel's formats.
 *
 * `/proc/PID/smaps` (every field in order, PSS from the rmap's mapcounts in
 * either mapcount mode), `smaps_rollup`, `status` (the `task_mem` lines),
 * `pagemap` (u64 per page as bigint: PFN for CAP_SYS_ADMIN, soft-dirty,
 * PM_MMAP_EXCLUSIVE, uffd-wp, guard, file, swap, present), `/proc/kpagecount`,
 * `/proc/kpageflags` (bits ≥ 32 need bigint), `/proc/meminfo`,
 * `/proc/vmstat` with the fault path's events, and the THP sysfs files.
 */
import {
  folioMaybeMappedShared,
  folioPrecisePageMapcount,
  folioTestAnon,
  folioTestSwapbacked,
  kpagecountRead,
  MemSizeStats,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  PSS_SHIFT,
  pageFolio,
  smapsAccount,
} from '@mm/folio-rmap';
import {
  NODE_STAT,
  NR_MLOCK,
  PG_dirty,
  PG_head,
  PG_large_rmappable,
  PG_lru,
  PG_mlocked,
  PG_swapbacked,
  PG_uptodate,
  PGTY_buddy,
  PGTY_slab,
  PGTY_table,
  VM_EVENT_NAMES,
} from '@mm/machine';
import {
  LEAF_KIND,
  type MmPgtables,
  PMD_LEVEL,
  PTE_MARKER_GUARD,
  PTE_MARKER_UFFD_WP,
  PteVal,
  PteView,
  pmdpGet,
  pteOffsetMap,
  ptepGet,
  pteUnmap,
} from '@mm/pgtable-arch';
import type { MmStruct, VmAreaStruct } from '../mm/mm-types.js';
import { showMapVma } from '../mm/task-mmu.js';
import { VM_LOCKED, VM_SOFTDIRTY } from '../mm/vm-flags.js';
import { findVma, vmaList } from '../mm/vma.js';
import { isHugeZeroPfn } from './huge-memory.js';
import { KERNEL_VM_EVENTS, type Kernel, type ThpEnabled } from './kernel.js';
import {
  fileThpSuitable,
  SHMEM_ENABLED_VALUES,
  SHMEM_MTHP_VALUES,
  type ShmemEnabled,
  type ShmemMthpEnabled,
  shmemAllowsPmdOrder,
} from './shmem-huge.js';

const pv = new PteVal();
const pv2 = new PteVal();
const view = new PteView();

/** VmFlags mnemonics by bit number. @kernel show_smap_vma_flags (fs/proc/task_mmu.c) */
const MNEMONICS: Readonly<Record<number, string>> = {
  0: 'rd',
  1: 'wr',
  2: 'ex',
  3: 'sh',
  4: 'mr',
  5: 'mw',
  6: 'me',
  7: 'ms',
  8: 'gd',
  9: 'um',
  10: 'pf',
  12: 'uw',
  13: 'lo',
  14: 'io',
  15: 'sr',
  16: 'rr',
  17: 'dc',
  18: 'de',
  19: 'lf',
  20: 'ac',
  21: 'nr',
  22: 'ht',
  23: 'sf',
  24: 'ar',
  25: 'wf',
  26: 'dd',
  27: 'sd',
  28: 'mm',
  29: 'hg',
  30: 'nh',
  31: 'mg',
  37: 'ss',
  40: 'dp',
  41: 'ui',
  42: 'sl',
};

function kb(label: string, bytes: number): string {
  return `${label.padEnd(16)}${String(Math.floor(bytes / 1024)).padStart(8)} kB\n`;
}

function pssKb(label: string, pss: number): string {
  return kb(label, Math.floor(pss / 2 ** PSS_SHIFT));
}

/** The `VmFlags:` line of a VMA in /proc/pid/smaps: two-letter codes (`rd wr mr ...`) for its flags. @kernel show_smap_vma_flags (fs/proc/task_mmu.c) */
export function vmFlagsLine(vma: VmAreaStruct): string {
  let out = 'VmFlags: ';
  for (let bit = 0; bit < 53; bit++) {
    const m = MNEMONICS[bit];
    if (m === undefined) continue;
    if (Math.floor(vma.vmFlags / 2 ** bit) % 2 === 1) out += `${m} `;
  }
  return `${out}\n`;
}

/** smaps sums of one VMA. */
export class SmapsStats extends MemSizeStats {
  /** Bytes of anonymous memory mapped by PMD leaves (the AnonHugePages line); mirrors `mem_size_stats::anonymous_thp`. */
  anonHuge = 0;
  /** Bytes of shmem/tmpfs memory mapped by PMD leaves (ShmemPmdMapped); mirrors `mem_size_stats::shmem_thp`. */
  shmemPmd = 0;
  /** Bytes of regular-file memory mapped by PMD leaves (FilePmdMapped); stays 0, as the model's files are all shmem-backed; mirrors `mem_size_stats::file_thp`. */
  filePmd = 0;
  /** Bytes of the VMA swapped out, counted per swap entry in the page tables (Swap); mirrors `mem_size_stats::swap`. */
  swap = 0;
  /** Proportional swap, in bytes scaled by 2^PSS_SHIFT (SwapPss); mirrors `mem_size_stats::swap_pss`. */
  swapPss = 0;
}

/** Walk one VMA's page tables into `mss`. @kernel smap_gather_stats (fs/proc/task_mmu.c) */
export function smapGatherStats(k: Kernel, vma: VmAreaStruct, mss: SmapsStats): void {
  const pgt = vma.vmMm.pgt as MmPgtables;
  const c = k.pt.codec;
  const rm = k.rm;
  const locked = (vma.vmFlags & VM_LOCKED) !== 0;
  for (let a = vma.vmStart; a < vma.vmEnd; ) {
    const tblEnd = Math.min(vma.vmEnd, a - (a % k.pmdSize) + k.pmdSize);
    const pmdp = k.pt.lookup(pgt, PMD_LEVEL, a);
    if (pmdp >= 0) {
      const pmd = pmdpGet(pgt, pmdp, pv);
      if (!c.pmdNone(pmd) && c.pmdLeaf(pmd) && c.pmdPresent(pmd)) {
        const head = c.pmdPfn(pmd);
        // smaps_pmd_entry(): vm_normal_page_pmd() has no page for the huge zero folio: not counted at all
        if (isHugeZeroPfn(k, head)) {
          a = tblEnd;
          continue;
        }
        smapsAccount(rm, mss, head, true, c.pteYoung(pmd), c.pteDirty(pmd), locked, true);
        if (folioTestAnon(rm, head)) mss.anonHuge += k.pmdSize;
        else if (folioTestSwapbacked(rm, head)) mss.shmemPmd += k.pmdSize;
        else mss.filePmd += k.pmdSize;
      } else if (!c.pmdNone(pmd)) {
        const ptep = pteOffsetMap(pgt, pmdp, a);
        if (ptep >= 0) {
          for (let x = a; x < tblEnd; x += k.pageSize) {
            const pte = ptepGet(pgt, ptep + (x - a) / k.pageSize, pv2);
            if (c.pteNone(pte)) continue;
            if (c.ptePresent(pte)) {
              const pfn = c.ptePfn(pte);
              if (pfn === k.zeroPfn || c.pteSpecial(pte)) continue;
              smapsAccount(rm, mss, pfn, false, c.pteYoung(pte), c.pteDirty(pte), locked, true);
            } else {
              k.pt.entries.decodePte(pte, view);
              if (view.kind === LEAF_KIND.SWAP) {
                mss.swap += k.pageSize;
                mss.swapPss += k.pageSize * 2 ** PSS_SHIFT;
              }
            }
          }
          pteUnmap(pgt, ptep);
        }
      }
    }
    a = tblEnd;
  }
}

/**
 * `THPeligible`: some THP order is allowed for the VMA (for shmem: the PMD
 * order fits at the VMA's end with an aligned file offset, and
 * `shmem_allowable_huge_orders` at `vm_pgoff` allows it).
 * @kernel __thp_vma_allowable_orders (mm/huge_memory.c), TVA_SMAPS
 */
function thpEligible(k: Kernel, vma: VmAreaStruct): number {
  if (vma.vmOps !== null) {
    const f = vma.vmFile;
    if (f === null || vma.vmOps.fault !== true) return 0;
    const addr = vma.vmEnd - k.pmdSize;
    if (addr < vma.vmStart || !fileThpSuitable(k, vma, addr)) return 0;
    return shmemAllowsPmdOrder(k, vma, f.fInode, vma.vmPgoff) ? 1 : 0;
  }
  for (let order = 2; order <= Math.log2(k.hpageNr); order++) {
    const nr = 1 << order;
    const bytes = nr * k.pageSize;
    // any aligned block of this order inside the VMA
    const start = Math.ceil(vma.vmStart / bytes) * bytes;
    if (start + bytes <= vma.vmEnd && k.thpVmaAllowable(vma, start, nr)) return 1;
  }
  return 0;
}

function smapsBody(mss: SmapsStats, rollup: boolean): string {
  let out = '';
  out += kb('Rss:', mss.resident);
  out += pssKb('Pss:', mss.pss);
  out += pssKb('Pss_Dirty:', mss.pssDirty);
  if (rollup) {
    out += pssKb('Pss_Anon:', mss.pssAnon);
    out += pssKb('Pss_File:', mss.pssFile);
    out += pssKb('Pss_Shmem:', mss.pssShmem);
  }
  out += kb('Shared_Clean:', mss.sharedClean);
  out += kb('Shared_Dirty:', mss.sharedDirty);
  out += kb('Private_Clean:', mss.privateClean);
  out += kb('Private_Dirty:', mss.privateDirty);
  out += kb('Referenced:', mss.referenced);
  out += kb('Anonymous:', mss.anonymous);
  out += kb('KSM:', mss.ksm);
  out += kb('LazyFree:', mss.lazyfree);
  out += kb('AnonHugePages:', mss.anonHuge);
  out += kb('ShmemPmdMapped:', mss.shmemPmd);
  out += kb('FilePmdMapped:', mss.filePmd);
  out += kb('Shared_Hugetlb:', 0);
  out += `Private_Hugetlb: ${String(0).padStart(7)} kB\n`;
  out += kb('Swap:', mss.swap);
  out += pssKb('SwapPss:', mss.swapPss);
  out += pssKb('Locked:', mss.pssLocked);
  return out;
}

/**
 * /proc/PID/smaps of `mm`.
 * @kernel show_smap (fs/proc/task_mmu.c)
 */
export function procPidSmaps(k: Kernel, mm: MmStruct): string {
  let out = '';
  for (const vma of vmaList(mm)) {
    const mss = new SmapsStats();
    smapGatherStats(k, vma, mss);
    out += showMapVma(vma);
    out += kb('Size:', vma.vmEnd - vma.vmStart);
    out += kb('KernelPageSize:', k.pageSize);
    out += kb('MMUPageSize:', k.pageSize);
    out += smapsBody(mss, false);
    out += `THPeligible:    ${String(thpEligible(k, vma)).padStart(8)}\n`;
    out += vmFlagsLine(vma);
  }
  return out;
}

/**
 * /proc/PID/smaps_rollup of `mm`.
 * @kernel show_smaps_rollup (fs/proc/task_mmu.c)
 */
export function procPidSmapsRollup(k: Kernel, mm: MmStruct): string {
  const mss = new SmapsStats();
  const vmas = vmaList(mm);
  for (const vma of vmas) smapGatherStats(k, vma, mss);
  const start = vmas.length > 0 ? vmas[0]!.vmStart : 0;
  const end = vmas.length > 0 ? vmas[vmas.length - 1]!.vmEnd : 0;
  const head = `${start.toString(16).padStart(8, '0')}-${end.toString(16).padStart(8, '0')} ---p 00000000 00:00 0 `;
  return `${head.padEnd(72)} [rollup]\n${smapsBody(mss, true)}`;
}

function statusKb(label: string, kbytes: number): string {
  return `${label}:\t${String(kbytes).padStart(8)} kB\n`;
}

/**
 * The memory lines of /proc/PID/status.
 * @kernel task_mem (fs/proc/task_mmu.c)
 */
export function procPidStatusMem(k: Kernel, mm: MmStruct): string {
  const pk = k.pageSize / 1024;
  const anon = mm.rssStat[MM_ANONPAGES]!;
  const file = mm.rssStat[MM_FILEPAGES]!;
  const shmem = mm.rssStat[MM_SHMEMPAGES]!;
  const rss = anon + file + shmem;
  const hiwaterRss = Math.max(mm.hiwaterRss, rss);
  const hiwaterVm = Math.max(mm.hiwaterVm, mm.totalVm);
  const ps = k.pageSize;
  const textBytes = Math.min(Math.ceil(mm.endCode / ps) * ps - (mm.startCode - (mm.startCode % ps)), mm.execVm * ps);
  const lib = mm.execVm * ps - textBytes;
  let out = '';
  out += statusKb('VmPeak', hiwaterVm * pk);
  out += statusKb('VmSize', mm.totalVm * pk);
  out += statusKb('VmLck', mm.lockedVm * pk);
  out += statusKb('VmPin', mm.pinnedVm * pk);
  out += statusKb('VmHWM', hiwaterRss * pk);
  out += statusKb('VmRSS', rss * pk);
  out += statusKb('RssAnon', anon * pk);
  out += statusKb('RssFile', file * pk);
  out += statusKb('RssShmem', shmem * pk);
  out += statusKb('VmData', mm.dataVm * pk);
  out += statusKb('VmStk', mm.stackVm * pk);
  out += statusKb('VmExe', textBytes >> 10);
  out += statusKb('VmLib', lib >> 10);
  out += statusKb('VmPTE', ((mm.pgt as MmPgtables).pgtablesBytes / 1024) | 0);
  out += statusKb('VmSwap', mm.rssStat[MM_SWAPENTS]! * pk);
  out += `HugetlbPages:\t${String(0).padStart(8)} kB\n`;
  return out;
}

/** /proc/PID/status (Name, Pid, PPid, Threads and the memory lines). @kernel proc_pid_status (fs/proc/array.c) */
export function procPidStatus(k: Kernel, pid: number): string {
  const t = k.task(pid);
  if (t === undefined || t.mm === null) return '';
  let threads = 0;
  for (const o of k.tasks.tasks.values()) if (o.tgid === t.tgid && o.state === 'running') threads++;
  let out = `Name:\t${t.comm}\nTgid:\t${t.tgid}\nPid:\t${t.pid}\nPPid:\t${t.parent?.pid ?? 0}\n`;
  out += procPidStatusMem(k, t.mm);
  out += `CoreDumping:\t0\nTHP_enabled:\t1\nThreads:\t${threads}\n`;
  return out;
}

/** pagemap bits. @kernel fs/proc/task_mmu.c */
export const PM_SOFT_DIRTY = 1n << 55n;
/** /proc/PID/pagemap bit `PM_MMAP_EXCLUSIVE` (fs/proc/task_mmu.c). */
export const PM_MMAP_EXCLUSIVE = 1n << 56n;
/** /proc/PID/pagemap bit `PM_UFFD_WP` (fs/proc/task_mmu.c). */
export const PM_UFFD_WP = 1n << 57n;
/** /proc/PID/pagemap bit `PM_GUARD_REGION` (fs/proc/task_mmu.c). */
export const PM_GUARD_REGION = 1n << 58n;
/** /proc/PID/pagemap bit `PM_FILE` (fs/proc/task_mmu.c). */
export const PM_FILE = 1n << 61n;
/** /proc/PID/pagemap bit `PM_SWAP` (fs/proc/task_mmu.c). */
export const PM_SWAP = 1n << 62n;
/** /proc/PID/pagemap bit `PM_PRESENT` (fs/proc/task_mmu.c). */
export const PM_PRESENT = 1n << 63n;

/**
 * /proc/PID/pagemap entries for `[start, start + pages * PAGE_SIZE)`.
 * PFNs are shown when the reader has CAP_SYS_ADMIN (`showPfn`).
 * @kernel pagemap_read (fs/proc/task_mmu.c)
 */
export function procPidPagemap(k: Kernel, mm: MmStruct, start: number, pages: number, showPfn = true): bigint[] {
  const out: bigint[] = [];
  const pgt = mm.pgt as MmPgtables;
  const c = k.pt.codec;
  const rm = k.rm;
  for (let i = 0; i < pages; i++) {
    const a = start + i * k.pageSize;
    const vma = findVma(mm, a);
    if (vma === null || vma.vmStart > a) {
      out.push(0n);
      continue;
    }
    let e = 0n;
    if ((vma.vmFlags & VM_SOFTDIRTY) !== 0) e |= PM_SOFT_DIRTY;
    const pmdp = k.pt.lookup(pgt, PMD_LEVEL, a);
    if (pmdp < 0) {
      out.push(e);
      continue;
    }
    const pmd = pmdpGet(pgt, pmdp, pv);
    if (c.pmdNone(pmd)) {
      out.push(e);
      continue;
    }
    let pfn = -1;
    let present = false;
    if (c.pmdLeaf(pmd)) {
      if (c.pmdPresent(pmd)) {
        pfn = c.pmdPfn(pmd) + (a % k.pmdSize) / k.pageSize;
        present = true;
        if (c.pteSoftDirty(pmd)) e |= PM_SOFT_DIRTY;
        if (c.pteUffdWp(pmd)) e |= PM_UFFD_WP;
      }
    } else {
      const ptep = pteOffsetMap(pgt, pmdp, a);
      if (ptep >= 0) {
        const pte = ptepGet(pgt, ptep, pv2);
        if (c.ptePresent(pte)) {
          pfn = c.ptePfn(pte);
          present = true;
          if (c.pteSoftDirty(pte)) e |= PM_SOFT_DIRTY;
          if (c.pteUffdWp(pte)) e |= PM_UFFD_WP;
        } else if (!c.pteNone(pte)) {
          k.pt.entries.decodePte(pte, view);
          if (view.kind === LEAF_KIND.MARKER) {
            if ((view.marker & PTE_MARKER_UFFD_WP) !== 0) e |= PM_UFFD_WP;
            if ((view.marker & PTE_MARKER_GUARD) !== 0) e |= PM_GUARD_REGION;
          } else {
            e |= PM_SWAP;
            if (view.uffdWp) e |= PM_UFFD_WP;
            if (showPfn) e |= BigInt(view.swapType) | (BigInt(view.swapOffset) << 5n);
          }
        }
        pteUnmap(pgt, ptep);
      }
    }
    if (present) {
      e |= PM_PRESENT;
      if (showPfn) e |= BigInt(pfn);
      // pagemap_pmd_range_thp() takes pmd_page(): the huge zero folio is not anonymous (PM_FILE) and has no mapcount
      if (isHugeZeroPfn(k, pfn)) e |= PM_FILE;
      const normal = pfn !== k.zeroPfn && k.userFolios.has(pageFolio(rm, pfn));
      if (normal) {
        const folio = pageFolio(rm, pfn);
        if (!folioTestAnon(rm, folio)) e |= PM_FILE;
        const exclusive = rm.pageMapcount
          ? folioPrecisePageMapcount(rm, folio, pfn) === 1
          : !folioMaybeMappedShared(rm, folio);
        if (exclusive) e |= PM_MMAP_EXCLUSIVE;
      }
    }
    out.push(e);
  }
  return out;
}

/**
 * /proc/kpagecount for `count` PFNs from `start`.
 * @kernel kpagecount_read (fs/proc/page.c)
 */
export function procKpagecount(k: Kernel, start: number, count: number): number[] {
  return Array.from(kpagecountRead(k.rm, start, count));
}

/** kpageflags bits. @kernel include/uapi/linux/kernel-page-flags.h */
export const KPF = {
  /** KPF_LOCKED: the folio is locked (PG_locked). */
  LOCKED: 0,
  /** KPF_REFERENCED: PG_referenced is set. */
  REFERENCED: 2,
  /** KPF_UPTODATE: the contents are valid (PG_uptodate). */
  UPTODATE: 3,
  /** KPF_DIRTY: the contents must be written back before the page is freed. */
  DIRTY: 4,
  /** KPF_LRU: the folio is on an LRU list. */
  LRU: 5,
  /** KPF_ACTIVE: the folio is on an active LRU list. */
  ACTIVE: 6,
  /** KPF_SLAB: the page belongs to a slab. */
  SLAB: 7,
  /** KPF_BUDDY: the page is free, held by the buddy allocator. */
  BUDDY: 10,
  /** KPF_MMAP: the page is mapped into at least one page table. */
  MMAP: 11,
  /** KPF_ANON: an anonymous page (its mapping is an anon_vma). */
  ANON: 12,
  /** KPF_SWAPCACHE: the folio is in the swap cache. */
  SWAPCACHE: 13,
  /** KPF_SWAPBACKED: the folio is backed by swap (anonymous or shmem). */
  SWAPBACKED: 14,
  /** KPF_COMPOUND_HEAD: the first page of a large folio. */
  COMPOUND_HEAD: 15,
  /** KPF_COMPOUND_TAIL: a page of a large folio other than the first. */
  COMPOUND_TAIL: 16,
  /** KPF_UNEVICTABLE: the folio is on the unevictable LRU. */
  UNEVICTABLE: 18,
  /** KPF_THP: a page of a transparent huge page (a large rmappable folio). */
  THP: 22,
  /** KPF_ZERO_PAGE: the shared zero page. */
  ZERO_PAGE: 24,
  /** KPF_PGTABLE: the page holds a page table. */
  PGTABLE: 26,
  /** KPF_MLOCKED: the folio is mlocked (PG_mlocked). */
  MLOCKED: 33,
} as const;

/**
 * /proc/kpageflags for `count` PFNs from `start` (u64 each, as bigint).
 * @kernel stable_page_flags (fs/proc/page.c)
 */
export function procKpageflags(k: Kernel, start: number, count: number): bigint[] {
  const rm = k.rm;
  const mm = rm.memmap;
  const out: bigint[] = [];
  for (let pfn = start; pfn < start + count; pfn++) {
    if (!mm.pfnValid(pfn)) {
      out.push(0n);
      continue;
    }
    let f = 0n;
    const set = (bit: number) => {
      f |= 1n << BigInt(bit);
    };
    const type = mm.pageType(pfn);
    if (type === PGTY_buddy) set(KPF.BUDDY);
    if (type === PGTY_slab) set(KPF.SLAB);
    if (type === PGTY_table) set(KPF.PGTABLE);
    if (pfn === k.zeroPfn) set(KPF.ZERO_PAGE);
    const head = pageFolio(rm, pfn);
    if (isHugeZeroPfn(k, pfn)) {
      // a compound page that is not large_rmappable: THP only through is_huge_zero_pfn()
      set(head === pfn ? KPF.COMPOUND_HEAD : KPF.COMPOUND_TAIL);
      set(KPF.ZERO_PAGE);
      set(KPF.THP);
    }
    if (k.userFolios.has(head)) {
      const s = rm.sec(head);
      const hf = s.flags[head & rm.mask] as number;
      const pf = rm.sec(pfn).flags[pfn & rm.mask] as number;
      if (head !== pfn) set(KPF.COMPOUND_TAIL);
      else if (hf & (1 << PG_head)) set(KPF.COMPOUND_HEAD);
      if (folioTestAnon(rm, head)) set(KPF.ANON);
      if (hf & (1 << PG_swapbacked) || folioTestAnon(rm, head)) set(KPF.SWAPBACKED);
      if (hf & (1 << PG_dirty) || pf & (1 << PG_dirty)) set(KPF.DIRTY);
      if (hf & (1 << PG_uptodate)) set(KPF.UPTODATE);
      if (hf & (1 << PG_lru)) set(KPF.LRU);
      if (hf & (1 << PG_mlocked)) set(KPF.MLOCKED);
      const s1 = head !== pfn || hf & (1 << PG_head) ? rm.sec(head + 1).flags[(head + 1) & rm.mask] : 0;
      if ((hf & (1 << PG_head)) !== 0 && ((s1 as number) & (1 << PG_large_rmappable)) !== 0) set(KPF.THP);
      if (kpagecountRead(rm, pfn, 1)[0]! > 0) set(KPF.MMAP);
    }
    out.push(f);
  }
  return out;
}

/** A node counter summed over nodes with the per-CPU deltas folded in (`global_node_page_state_pages` after a refresh). */
function nodeSum(k: Kernel, item: number): number {
  const vs = k.machine.mem.vmstat;
  let n = 0;
  for (let nid = 0; nid < k.machine.topology.nrNodes; nid++) n += vs.nodePageStateSnapshot(nid, item);
  return Math.max(n, 0);
}

function meminfoLine(label: string, kbytes: number): string {
  return `${`${label}:`.padEnd(16)}${String(kbytes).padStart(8)} kB\n`;
}

/**
 * /proc/meminfo.
 * @kernel meminfo_proc_show (fs/proc/meminfo.c)
 */
export function procMeminfo(k: Kernel): string {
  const m = k.machine.mem;
  const vs = m.vmstat;
  const pk = k.pageSize / 1024;
  const node = (i: number) => nodeSum(k, i);
  const total = m.totalramPages();
  const free = m.nrFreePages();
  const cached = k.pageCache.nrPages;
  const slabRecl = node(NODE_STAT.NR_SLAB_RECLAIMABLE_B);
  const slabUnrecl = node(NODE_STAT.NR_SLAB_UNRECLAIMABLE_B);
  const anonThps = node(NODE_STAT.NR_ANON_THPS);
  const commitLimit = Math.floor((total * k.ctx.sysctlOvercommitRatio) / 100) + k.ctx.totalSwapPages();
  let out = '';
  out += meminfoLine('MemTotal', total * pk);
  out += meminfoLine('MemFree', free * pk);
  out += meminfoLine('MemAvailable', (free + cached) * pk);
  out += meminfoLine('Buffers', 0);
  out += meminfoLine('Cached', cached * pk);
  out += meminfoLine('SwapCached', 0);
  for (const l of [
    'Active',
    'Inactive',
    'Active(anon)',
    'Inactive(anon)',
    'Active(file)',
    'Inactive(file)',
    'Unevictable',
  ])
    out += meminfoLine(l, 0);
  out += meminfoLine('Mlocked', Math.max(vs.globalZonePageState(NR_MLOCK), 0) * pk);
  out += meminfoLine('SwapTotal', 0);
  out += meminfoLine('SwapFree', 0);
  out += meminfoLine('Dirty', 0);
  out += meminfoLine('Writeback', 0);
  out += meminfoLine('AnonPages', node(NODE_STAT.NR_ANON_MAPPED) * pk);
  out += meminfoLine('Mapped', node(NODE_STAT.NR_FILE_MAPPED) * pk);
  out += meminfoLine('Shmem', k.pageCache.nrShmem * pk);
  out += meminfoLine('KReclaimable', slabRecl >> 10);
  out += meminfoLine('Slab', (slabRecl + slabUnrecl) >> 10);
  out += meminfoLine('SReclaimable', slabRecl >> 10);
  out += meminfoLine('SUnreclaim', slabUnrecl >> 10);
  out += meminfoLine('KernelStack', 0);
  out += meminfoLine('PageTables', node(NODE_STAT.NR_PAGETABLE) * pk);
  out += meminfoLine('SecPageTables', 0);
  out += meminfoLine('NFS_Unstable', 0);
  out += meminfoLine('Bounce', 0);
  out += meminfoLine('WritebackTmp', 0);
  out += meminfoLine('CommitLimit', commitLimit * pk);
  out += meminfoLine('Committed_AS', k.ctx.vmMemoryCommitted() * pk);
  out += meminfoLine('VmallocTotal', 34359738367);
  out += meminfoLine('VmallocUsed', 0);
  out += meminfoLine('VmallocChunk', 0);
  out += meminfoLine('Percpu', 0);
  out += `${'HardwareCorrupted:'.padEnd(16)}${String(0).padStart(5)} kB\n`;
  out += meminfoLine('AnonHugePages', anonThps * pk);
  out += meminfoLine('ShmemHugePages', k.pageCache.nrShmemThps * pk);
  out += meminfoLine('ShmemPmdMapped', node(NODE_STAT.NR_SHMEM_PMDMAPPED) * pk);
  out += meminfoLine('FileHugePages', 0);
  out += meminfoLine('FilePmdMapped', node(NODE_STAT.NR_FILE_PMDMAPPED) * pk);
  out += `HugePages_Total:${String(0).padStart(5)}\nHugePages_Free: ${String(0).padStart(5)}\n`;
  out += `HugePages_Rsvd: ${String(0).padStart(5)}\nHugePages_Surp: ${String(0).padStart(5)}\n`;
  out += meminfoLine('Hugepagesize', k.pmdSize / 1024);
  out += meminfoLine('Hugetlb', 0);
  return out;
}

/**
 * /proc/vmstat: the machine's node and event counters, then the fault
 * path's events that the kernel has too ({@link KERNEL_VM_EVENTS}).
 * @kernel vmstat_show (mm/vmstat.c)
 */
export function procVmstat(k: Kernel): string {
  const vs = k.machine.mem.vmstat;
  let out = '';
  for (const [name, item] of Object.entries(NODE_STAT)) {
    out += `${name.toLowerCase()} ${nodeSum(k, item)}\n`;
  }
  // the machine's events, with the fault path's counts added where the kernel has the same counter
  const machineNames = new Set<string>(VM_EVENT_NAMES);
  VM_EVENT_NAMES.forEach((name, i) => {
    out += `${name} ${vs.vmEvent(i) + (k.events.get(name) ?? 0)}\n`;
  });
  // the kernel's fault-path events the machine does not count; the model's own counters (MODEL_FAULT_EVENTS) stay out
  for (const name of KERNEL_VM_EVENTS) if (!machineNames.has(name)) out += `${name} ${k.events.get(name) ?? 0}\n`;
  return out;
}

/** The files of /sys/kernel/mm/transparent_hugepage/. */
export function thpSysfsRead(k: Kernel, path: string): string {
  const sel = (v: string, all: readonly string[]) => `${all.map((x) => (x === v ? `[${x}]` : x)).join(' ')}\n`;
  if (path === 'enabled') return sel(k.thpEnabled, ['always', 'madvise', 'never']);
  if (path === 'use_zero_page') return `${k.thpUseZeroPage ? 1 : 0}\n`;
  if (path === 'shmem_enabled') return sel(k.shmemEnabled, SHMEM_ENABLED_VALUES);
  if (path === 'hpage_pmd_size') return `${k.pmdSize}\n`;
  const m = /^hugepages-(\d+)kB\/enabled$/.exec(path);
  if (m !== null) {
    const order = Math.log2((Number(m[1]) * 1024) / k.pageSize);
    const v = k.mthpEnabled[order];
    if (v !== undefined && order >= 2) return sel(v, ['always', 'inherit', 'madvise', 'never']);
  }
  const ms = /^hugepages-(\d+)kB\/shmem_enabled$/.exec(path);
  if (ms !== null) {
    const order = Math.log2((Number(ms[1]) * 1024) / k.pageSize);
    const v = k.shmemMthpEnabled[order];
    if (v !== undefined && order >= 2) return sel(v, SHMEM_MTHP_VALUES);
  }
  throw new Error(`ENOENT: /sys/kernel/mm/transparent_hugepage/${path}`);
}

/**
 * Write a THP sysfs file.
 * @returns 0 or -EINVAL (unknown value or file).
 */
export function thpSysfsWrite(k: Kernel, path: string, value: string): number {
  const v = value.trim();
  if (path === 'enabled') {
    if (v !== 'always' && v !== 'madvise' && v !== 'never') return -22;
    k.thpEnabled = v as ThpEnabled;
    return 0;
  }
  if (path === 'shmem_enabled') {
    // shmem_enabled_store(): deny and force are accepted too
    if (!(SHMEM_ENABLED_VALUES as readonly string[]).includes(v)) return -22;
    k.shmemEnabled = v as ShmemEnabled;
    return 0;
  }
  const ms = /^hugepages-(\d+)kB\/shmem_enabled$/.exec(path);
  if (ms !== null) {
    const order = Math.log2((Number(ms[1]) * 1024) / k.pageSize);
    if (!(order >= 2 && k.shmemMthpEnabled[order] !== undefined)) return -22;
    if (!(SHMEM_MTHP_VALUES as readonly string[]).includes(v)) return -22;
    k.shmemMthpEnabled[order] = v as ShmemMthpEnabled;
    return 0;
  }
  if (path === 'use_zero_page') {
    // single_hugepage_flag_store(): kstrtoul, then 0 or 1
    if (!/^\+?[0-9]+$/.test(v)) return -22;
    const n = Number(v);
    if (n > 1) return -22;
    k.thpUseZeroPage = n === 1;
    return 0;
  }
  const m = /^hugepages-(\d+)kB\/enabled$/.exec(path);
  if (m !== null) {
    const order = Math.log2((Number(m[1]) * 1024) / k.pageSize);
    if (!(order >= 2 && k.mthpEnabled[order] !== undefined)) return -22;
    if (v !== 'always' && v !== 'madvise' && v !== 'never' && v !== 'inherit') return -22;
    k.mthpEnabled[order] = v;
    return 0;
  }
  return -22;
}
