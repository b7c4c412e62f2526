/**
 * DOC: the composed kernel: `createKernel()`.
 *
 * One object owns a machine from `@mm/machine`, the slab caches
 * (`mm_struct`, `vm_area_struct`, `anon_vma`, `anon_vma_chain`,
 * `maple_node` with kfree_rcu frees, `task_struct`, `files_cache`), the
 * architecture's page tables from `@mm/pgtable-arch` (whose hardware walker
 * the machine's MMU calls on a TLB miss), the folios and rmap of
 * `@mm/folio-rmap` in the chosen mapcount mode, a page cache over tmpfs
 * files, and the address-space layer of this package, wired through its two
 * seams. The machine's MMU calls {@link Kernel.handleFault} on a page
 * fault, so a task's load or store takes the path a CPU takes: TLB, walk,
 * fault, retry.
 *
 * Every user page carries a content token (the value of its last store;
 * a fresh anonymous page and the zero page hold 0) so tests can prove that
 * nothing is lost or mixed up by CoW, fork, mremap or exit.
 */

import {
  createFolioRmap,
  type FolioRmap,
  folioAddFileRmapPtes,
  folioAddNewAnonRmap,
  folioAlloc,
  folioGet,
  folioNrPages,
  folioPutRefs,
  folioRefAdd,
  folioRefCount,
  folioRemoveRmapPte,
  folioTestAnon,
  folioTestLocked,
  folioTrylock,
  folioUnlock,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  mmAllocId,
  mmFreeId,
  pageAnonExclusive,
  pageFolio,
  RMAP_EXCLUSIVE,
  setPageAnonExclusive,
  wpCanReuseAnonFolio,
} from '@mm/folio-rmap';
import {
  type ArchName,
  ConfigError,
  createMachine,
  EAGAIN,
  EFAULT,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  type Machine,
  type MachineConfig,
  MMU_EXEC,
  MMU_USER,
  MMU_WRITE,
  MmBugError,
  type AddressSpace as MmuAddressSpace,
  prepareToWait,
  type Task as SchedTask,
  TASK_DEAD,
  TASK_RUNNING,
  WaitQueueHead,
  wakeUpAll,
  X86_PF_INSTR,
  X86_PF_PROT,
  X86_PF_WRITE,
} from '@mm/machine';
import {
  archDescriptor,
  createPageTables,
  LEAF_KIND,
  type MmPgtables,
  type PageTables,
  PMD_LEVEL,
  PTE_MARKER_GUARD,
  PTE_MARKER_UFFD_WP,
  PteVal,
  PteView,
  pmdAllocWalk,
  pmdpGet,
  pteAlloc,
  pteOffsetMapLock,
  ptepClearFlush,
  ptepGet,
  ptepSetAccessFlags,
  pteUnmapUnlock,
  SwpEntry,
  setPteAt,
  setPtes,
  splitHugePmdLocked,
} from '@mm/pgtable-arch';
import { type KmemCache, kmemCacheCreate, SLAB_ACCOUNT, SLAB_HWCACHE_ALIGN } from '@mm/slab-sheaves';
import { createTmpfsFile, type File, type Inode } from '../mm/file.js';
import { createMmContext, type MmContext } from '../mm/mm-context.js';
import { MmStruct, type VmAreaStruct } from '../mm/mm-types.js';
import { expandDownwards } from '../mm/mmap.js';
import { mmapReadLock, mmapReadLockTask, mmapReadUnlock } from '../mm/mmap-lock.js';
import {
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_READ,
  VM_SHARED,
  VM_UFFD_WP,
  VM_WRITE,
} from '../mm/vm-flags.js';
import { findVma, findVmaIntersection } from '../mm/vma.js';
import { createMmCaches, type MmCaches } from '../slab-caches.js';
import {
  doFallocate,
  doFtruncate,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  fileFolioMkclean,
  fileFolioReferenced,
  fileTryToUnmap,
  unmapMappingRange,
} from './file-rmap.js';
import { dupMmap, exitMmap } from './fork.js';
import {
  doHugePmdAnonymousPage,
  HUGE_ZERO_UNSET_PFN,
  isHugeZeroPmd,
  mmPutHugeZeroFolio,
  shrinkHugeZeroFolio,
  splitHugeZeroPagePmd,
  VM_FAULT_FALLBACK,
  wpHugePmd,
} from './huge-memory.js';
import { PageCache, type PageCacheMapping } from './page-cache.js';
import { PfnSet } from './pfn-set.js';
import { ArchPageTableOps, mmCounter, pmdIsLeaf, rmapSplitPmd } from './pt-ops.js';
import { RmapAnonVmaOps, rmapVma } from './rmap-anon-vma.js';
import { ArchRmapView } from './rmap-view.js';
import {
  doSetPmd,
  SHMEM_ENABLED_VALUES,
  SHMEM_MTHP_VALUES,
  type ShmemEnabled,
  type ShmemMthpEnabled,
  shmemFaultOrder,
  splitFilePmd,
  type TmpfsHuge,
} from './shmem-huge.js';
import { CLONE_FILES, CLONE_THREAD, CLONE_VM, type SpawnOptions, spawn, Task, TaskTable } from './task.js';
import { runTasks } from './task-program.js';
import { validateKernel } from './validate.js';

/** A THP sysfs `enabled` value. */
export type ThpEnabled = 'always' | 'madvise' | 'never';
/** A per-size mTHP sysfs `enabled` value (`inherit` follows the top-level file). */
export type MthpEnabled = ThpEnabled | 'inherit';

/** Options of {@link createKernel}. */
export interface KernelOptions {
  /** A machine to boot on, or the configuration of a new one (default: the `small` preset, x86-64). */
  readonly machine?: Machine | MachineConfig;
  /** Shorthand for `machine: { arch }`. */
  readonly arch?: ArchName;
  /** Shorthand for `machine: { seed }`. */
  readonly seed?: number;
  /** `page` (CONFIG_PAGE_MAPCOUNT, default) or `none` (CONFIG_NO_PAGE_MAPCOUNT). */
  readonly mapcount?: 'page' | 'none';
  /** When faults may allocate PMD-sized THPs (`transparent_hugepage/enabled`, default `madvise`). */
  readonly thp?: ThpEnabled;
  /**
   * Per-size `hugepages-<size>kB/enabled`, keyed by size in KiB (16, 32, 64,
   * ... 2048); sizes not given are `never` except the PMD size (`inherit`).
   */
  readonly mthp?: Readonly<Record<number, MthpEnabled>>;
  /** Map the huge zero page on read faults of THP-eligible ranges (`transparent_hugepage/use_zero_page`, default true). */
  readonly thpUseZeroPage?: boolean;
  /** `/sys/kernel/mm/transparent_hugepage/shmem_enabled` (default `never`). */
  readonly shmemEnabled?: ShmemEnabled;
  /**
   * Per-size `hugepages-<size>kB/shmem_enabled` for shared anonymous memory,
   * keyed by size in KiB; sizes not given are `never` except the PMD size
   * (`inherit`). Only the PMD size allocates (no smaller shmem folios).
   */
  readonly shmemMthp?: Readonly<Record<number, ShmemMthpEnabled>>;
  /** The `huge=` mount option of the tmpfs the kernel's files live on (default `never`). */
  readonly tmpfsHuge?: TmpfsHuge;
  /** `vm.overcommit_memory` 0, 1 or 2 (default 0). */
  readonly overcommitMemory?: number;
  /** Percent of RAM committable in overcommit mode 2 (`vm.overcommit_ratio`, default 50). */
  readonly overcommitRatio?: number;
  /** `fault_around_bytes` (default 65536; one page disables fault-around). */
  readonly faultAroundBytes?: number;
  /** `kernel.randomize_va_space` (default 0: reproducible addresses). */
  readonly randomizeVaSpace?: number;
  /** Prealloc mode of the maple tree nodes: fail preallocation (to reach -ENOMEM paths). */
  readonly failPrealloc?: boolean;
}

/** The kernel's slab caches. */
export interface KernelCaches extends MmCaches {
  /** Slab cache of `mm_struct`s. @kernel mm_cachep (kernel/fork.c) */
  readonly mmStruct: KmemCache;
  /** Slab cache of `task_struct`s. @kernel task_struct_cachep (kernel/fork.c) */
  readonly taskStruct: KmemCache;
  /** Slab cache of open-file tables. @kernel files_cachep (kernel/fork.c) */
  readonly files: KmemCache;
}

/** Why an access failed. */
export interface MemFault {
  /** SIGSEGV for a bad address or protection, SIGBUS for a mapping past its file, or a seam not yet wired. */
  readonly signal: 'SIGSEGV' | 'SIGBUS' | 'NEEDS_SWAP' | 'UFFD_WP' | 'ENOMEM';
  /** `si_code`: SEGV_MAPERR (no VMA), SEGV_ACCERR (protection), BUS_ADRERR, or the seam's name. */
  readonly code: 'SEGV_MAPERR' | 'SEGV_ACCERR' | 'BUS_ADRERR' | 'swap' | 'uffd-wp' | 'oom';
  /** The faulting address. */
  readonly addr: number;
  /** A sentence for people. */
  readonly reason: string;
}

/** `VM_FAULT_*` results of the handler. */
export const VM_FAULT_OOM = 0x1;
/** Fault result bit `VM_FAULT_SIGBUS` (include/linux/mm_types.h). */
export const VM_FAULT_SIGBUS = 0x2;
/** Fault result bit `VM_FAULT_SIGSEGV` (include/linux/mm_types.h). */
export const VM_FAULT_SIGSEGV = 0x40;
/** Fault result bit `VM_FAULT_RETRY` (include/linux/mm_types.h). */
export const VM_FAULT_RETRY = 0x400;
/** Fault result bit `VM_FAULT_NOPAGE` (include/linux/mm_types.h). */
export const VM_FAULT_NOPAGE = 0x100;
/** Our seam: a swap entry was met (swap is a later issue). */
export const VM_FAULT_NEEDS_SWAP = 0x10000;
/** Our seam: a uffd-wp protected page was written (the userfaultfd reader would be woken). */
export const VM_FAULT_UFFD_WP = 0x20000;

/** Fault flag `FAULT_FLAG_WRITE`: the faulting access was a write (include/linux/mm_types.h). */
export const FAULT_FLAG_WRITE = 0x1;
/** Fault flag `FAULT_FLAG_UNSHARE` (include/linux/mm_types.h). */
export const FAULT_FLAG_UNSHARE = 0x400;
/** Fault flag `FAULT_FLAG_INSTRUCTION` (include/linux/mm_types.h). */
export const FAULT_FLAG_INSTRUCTION = 0x100;
/** Fault flag `FAULT_FLAG_VMA_LOCK` (include/linux/mm_types.h). */
export const FAULT_FLAG_VMA_LOCK = 0x1000;
/** Fault flag `FAULT_FLAG_ALLOW_RETRY`: the fault may drop its lock and return VM_FAULT_RETRY (include/linux/mm_types.h). */
export const FAULT_FLAG_ALLOW_RETRY = 0x4;
/** Fault flag `FAULT_FLAG_KILLABLE` (include/linux/mm_types.h). */
export const FAULT_FLAG_KILLABLE = 0x10;
/** Fault flag `FAULT_FLAG_TRIED`: this is the retry of a fault that returned VM_FAULT_RETRY (include/linux/mm_types.h). */
export const FAULT_FLAG_TRIED = 0x20;
/** Fault flag `FAULT_FLAG_USER` (include/linux/mm_types.h). */
export const FAULT_FLAG_USER = 0x40;
/** Fault flag `FAULT_FLAG_INTERRUPTIBLE` (include/linux/mm_types.h). */
export const FAULT_FLAG_INTERRUPTIBLE = 0x200;
/** `FAULT_FLAG_DEFAULT`: what an architecture's fault handler starts with (include/linux/mm_types.h). */
export const FAULT_FLAG_DEFAULT = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_INTERRUPTIBLE;
/**
 * What {@link Kernel.faultAddr} returns when the fault put the current
 * scheduled task to sleep (on the mmap lock or a folio lock); its state is
 * kept and the next call for the same task resumes it.
 */
export const FAULT_SLEPT = -1;

const TOKEN_CHUNK_SHIFT = 15;
const TOKEN_CHUNK = 1 << TOKEN_CHUNK_SHIFT;

/**
 * The vmstat events the fault path counts that the kernel has too, shown in
 * `/proc/vmstat` under the kernel's names.
 * @kernel enum vm_event_item (include/linux/vm_event_item.h)
 */
export const KERNEL_VM_EVENTS = [
  'pgfault',
  'pgmajfault',
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_file_alloc',
  'thp_file_fallback',
  'thp_file_mapped',
  'thp_split_pmd',
  'thp_zero_page_alloc',
  'thp_zero_page_alloc_failed',
  'vma_lock_success',
  'vma_lock_abort',
  'vma_lock_retry',
  'vma_lock_miss',
] as const;

/**
 * Counters of the model's fault path that have no `vm_event_item` in the
 * kernel (CoW copies and reuses, zero-page maps, pages mapped by
 * fault-around, pinned pages copied at fork). They are kept in
 * {@link Kernel.events} beside the kernel's events but are not printed in
 * `/proc/vmstat`, which shows only the kernel's items.
 */
export const MODEL_FAULT_EVENTS = [
  'cow_fault',
  'cow_reuse',
  'zero_page_fault',
  'fault_around',
  'fork_pinned_copy',
] as const;

/**
 * The composed kernel. Create it with {@link createKernel}; start processes
 * with `spawn` (see task.ts).
 */
export class Kernel {
  /** The simulated machine: physical memory, zones, CPUs, locks and the event log. */
  readonly machine: Machine;
  /** The slab caches created at boot (mm/ objects plus `mm_struct`, `task_struct`, `files_struct`). */
  readonly caches: KernelCaches;
  /** The mm/ globals: sysctls, page geometry, the commit counter, the VMA seams. */
  readonly ctx: MmContext;
  /** The page tables of every mm, in the architecture's entry format (`@mm/pgtable-arch`). */
  readonly pt: PageTables;
  /** Folios and their reverse mappings (`@mm/folio-rmap`). */
  readonly rm: FolioRmap;
  /** The page-table seam of `ctx`, backed by the real page tables and rmap. */
  readonly ptOps: ArchPageTableOps;
  /** The page caches of every file, keyed by `address_space`. */
  readonly pageCache: PageCache;
  /** The shared zero page (`ZERO_PAGE(0)`): read-only, reads 0. */
  readonly zeroPfn: number;
  /** Pages per PMD leaf, and bytes. */
  readonly hpageNr: number;
  /** Bytes one PMD entry maps; mirrors `PMD_SIZE`. */
  readonly pmdSize: number;
  /** Base page size in bytes; mirrors `PAGE_SIZE`. */
  readonly pageSize: number;
  /** When faults may allocate PMD-sized THPs (`transparent_hugepage/enabled`): always, only in MADV_HUGEPAGE ranges, or never. */
  thpEnabled: ThpEnabled;
  /** Per order (index) the `enabled` value; only orders 2..PMD_ORDER are used. */
  readonly mthpEnabled: MthpEnabled[];
  /** Whether a read fault on an empty THP-eligible range maps the huge zero page (`transparent_hugepage/use_zero_page`). */
  thpUseZeroPage: boolean;
  /** `transparent_hugepage/shmem_enabled`: when shmem and tmpfs may allocate huge folios. */
  shmemEnabled: ShmemEnabled;
  /** Per order (index) the per-size `hugepages-<size>kB/shmem_enabled` value. */
  readonly shmemMthpEnabled: ShmemMthpEnabled[];
  /** The tmpfs mount's `huge=` option. */
  tmpfsHuge: TmpfsHuge;
  /** `huge_zero_pfn`: the huge zero folio's head, or -1 while there is none. */
  hugeZeroPfn: number = HUGE_ZERO_UNSET_PFN;
  /** `huge_zero_refcount`: the shrinker's reference plus one per mm with MMF_HUGE_ZERO_FOLIO (0: no folio). */
  hugeZeroRefcount = 0;
  /** How much of the page cache around a read fault is mapped at once, bytes; one page turns fault-around off; mirrors `fault_around_bytes`. */
  faultAroundBytes: number;
  /** Event counters by /proc/vmstat name, plus the model's own fault events. */
  readonly events: Map<string, number>;
  /** Why the last failed access failed. */
  lastFault: MemFault | null;
  /** MMU address space → mm. */
  private readonly mmByAs: Map<MmuAddressSpace, MmStruct>;
  /** Faults of scheduled tasks that went to sleep, by task. */
  private readonly sleepingFaults: Map<SchedTask, SleepingFault> = new Map();
  /** Wait queues of locked folios with waiters. */
  private readonly folioWaitqueues: Map<number, WaitQueueHead> = new Map();
  /** The folio the last VM_FAULT_RETRY waits for. */
  private faultWaitFolio = -1;
  /** The state of the fault being handled (copied when it sleeps). */
  private faultScratch: SleepingFault = {
    mm: null as unknown as MmStruct,
    addr: 0,
    flags: 0,
    stage: 0,
    next: 0,
    folio: -1,
    resumed: false,
  };
  private readonly tokenChunks: (Int32Array | undefined)[];
  /** Bytes of token chunks allocated (host memory accounting). */
  tokenBytes: number;

  constructor(options: KernelOptions = {}) {
    this.machine = bootMachine(options);
    const arch = this.machine.config.arch;
    if (arch !== 'x86_64' && arch !== 'arm64') {
      throw new ConfigError('arch', `the composed kernel runs on x86_64 or arm64, not ${arch}`);
    }
    this.caches = createKernelCaches(this.machine);
    const desc = arch === 'x86_64' ? archDescriptor('x86_64') : archDescriptor('arm64-4k-48');
    this.pt = createPageTables(this.machine, { arch: desc });
    this.rm = createFolioRmap(this.machine, {
      pageMapcount: options.mapcount !== 'none',
      pgtable: new ArchRmapView(this.pt),
      hooks: {
        allocObject: (cache) => {
          const c = cache === 'anon_vma' ? this.caches.anonVma : this.caches.anonVmaChain;
          return kmemAlloc(c);
        },
        freeObject: (cache, h) => {
          const c = cache === 'anon_vma' ? this.caches.anonVma : this.caches.anonVmaChain;
          kmemFree(c, h);
        },
      },
    });
    this.pageSize = this.machine.topology.pageSize;
    this.hpageNr = this.rm.hpagePmdNr;
    this.pmdSize = this.hpageNr * this.pageSize;
    this.tokenChunks = [];
    this.tokenBytes = 0;
    this.userFolios = new PfnSet();
    this.pageCache = new PageCache(this.rm, this);
    this.ptOps = new ArchPageTableOps(this);
    this.ctx = createMmContext(this.machine, this.caches, {
      pageTableOps: this.ptOps,
      anonVmaOps: new RmapAnonVmaOps(this.rm),
      folioRmap: this.rm,
      randomizeVaSpace: options.randomizeVaSpace ?? 0,
      ...(options.overcommitMemory === undefined ? {} : { overcommitMemory: options.overcommitMemory }),
      ...(options.overcommitRatio === undefined ? {} : { overcommitRatio: options.overcommitRatio }),
    });
    this.ctx.failPrealloc = options.failPrealloc === true;
    this.ctx.punchHole = (file, offset, len) =>
      doFallocate(this, file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len);
    const protCache = new Map<number, PteVal>();
    this.ctx.pageProtOf = (flags: number) => {
      const key = flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED);
      let p = protCache.get(key);
      if (p === undefined) {
        p = new PteVal();
        this.pt.codec.vmGetPageProt(p, key);
        protCache.set(key, p);
      }
      return p;
    };
    const zero = this.machine.mem.allocPages(GFP_KERNEL, 0);
    if (zero < 0) throw new MmBugError('kernel: no memory for the zero page');
    this.zeroPfn = zero;
    this.thpEnabled = options.thp ?? 'madvise';
    this.mthpEnabled = [];
    const pmdOrder = Math.log2(this.hpageNr);
    for (let o = 0; o <= pmdOrder; o++) this.mthpEnabled.push(o === pmdOrder ? 'inherit' : 'never');
    for (const [kb, v] of Object.entries(options.mthp ?? {})) {
      const order = Math.log2((Number(kb) * 1024) / this.pageSize);
      if (!Number.isInteger(order) || order < 2 || order > pmdOrder) {
        throw new ConfigError(
          'mthp',
          `no mTHP size ${kb} kB (sizes are ${(4 * this.pageSize) / 1024}..${this.pmdSize / 1024} kB)`,
        );
      }
      this.mthpEnabled[order] = v;
    }
    this.thpUseZeroPage = options.thpUseZeroPage ?? true;
    this.shmemEnabled = options.shmemEnabled ?? 'never';
    if (!SHMEM_ENABLED_VALUES.includes(this.shmemEnabled)) {
      throw new ConfigError('shmemEnabled', `shmem_enabled is one of ${SHMEM_ENABLED_VALUES.join(', ')}`);
    }
    this.tmpfsHuge = options.tmpfsHuge ?? 'never';
    this.shmemMthpEnabled = [];
    for (let o = 0; o <= pmdOrder; o++) this.shmemMthpEnabled.push(o === pmdOrder ? 'inherit' : 'never');
    for (const [kb, v] of Object.entries(options.shmemMthp ?? {})) {
      const order = Math.log2((Number(kb) * 1024) / this.pageSize);
      if (!Number.isInteger(order) || order < 2 || order > pmdOrder || !SHMEM_MTHP_VALUES.includes(v)) {
        throw new ConfigError('shmemMthp', `no shmem mTHP setting ${v} for ${kb} kB`);
      }
      this.shmemMthpEnabled[order] = v;
    }
    const far = options.faultAroundBytes ?? 65536;
    if (!Number.isInteger(far) || far < this.pageSize || (far & (far - 1)) !== 0 || far > this.pmdSize) {
      throw new ConfigError(
        'faultAroundBytes',
        `fault_around_bytes must be a power of two in [PAGE_SIZE, PMD_SIZE], got ${far}`,
      );
    }
    this.faultAroundBytes = far;
    this.events = new Map();
    for (const e of KERNEL_VM_EVENTS) this.events.set(e, 0);
    for (const e of MODEL_FAULT_EVENTS) this.events.set(e, 0);
    this.lastFault = null;
    this.mmByAs = new Map();
    this.machine.mmu.registerFaultHandler({
      handleFault: (cpu, as, vaddr, errorCode) => this.handleFault(cpu, as, vaddr, errorCode),
    });
  }

  /** Processes and threads. */
  readonly tasks: TaskTable = new TaskTable();

  /** The CPU the scheduler places a new task on. */
  pickCpu(): number {
    return this.tasks.pickCpu(this);
  }

  /**
   * Start a process running a freshly exec'd program (text, data, bss, heap,
   * stack with its guard gap, vDSO).
   * @returns the task, or a negative errno.
   */
  spawn(opts: SpawnOptions = {}): Task | number {
    return spawn(this, opts);
  }

  /**
   * Run the machine's scheduler until every task program (`task.run()`)
   * has ended, or `limitNs` virtual ns have passed.
   * @returns true when every program ended.
   */
  runTasks(limitNs = 1_000_000_000): boolean {
    return runTasks(this, limitNs);
  }

  /** A task by pid. */
  task(pid: number): Task | undefined {
    return this.tasks.tasks.get(pid);
  }

  /** Create a child of `parent` using `mm` (shared or copied as `flags` say); the task, or a negative errno. @kernel copy_process (kernel/fork.c) */
  cloneTask(parent: Task, mm: MmStruct, flags: number): Task | number {
    const obj = kmemAlloc(this.caches.taskStruct);
    if (obj < 0) return -ENOMEM_;
    const pid = this.tasks.nextPid;
    let child: Task;
    if ((flags & CLONE_VM) !== 0) {
      mm.mmUsers++;
      child = new Task(this, pid, (flags & CLONE_THREAD) !== 0 ? parent.tgid : pid, parent.comm, mm, obj);
    } else {
      const nmm = this.mmAlloc(pid);
      if (nmm === null) {
        kmemFree(this.caches.taskStruct, obj);
        return -ENOMEM_;
      }
      nmm.rlim.as = { ...mm.rlim.as };
      const r = dupMmap(this, nmm, mm);
      if (r !== 0) {
        exitMmap(this, nmm);
        this.mmFree(nmm);
        kmemFree(this.caches.taskStruct, obj);
        return r;
      }
      child = new Task(this, pid, pid, parent.comm, nmm, obj);
    }
    if ((flags & CLONE_FILES) === 0) {
      child.filesObj = kmemAlloc(this.caches.files);
      if (child.filesObj < 0) {
        // undo: the mm goes with the task
        child.state = 'running';
        this.dropMm(child);
        kmemFree(this.caches.taskStruct, obj);
        return -ENOMEM_;
      }
    }
    this.tasks.nextPid++;
    child.layout = parent.layout;
    child.parent = (flags & CLONE_THREAD) !== 0 ? parent.parent : parent;
    child.parent?.children.push(child);
    this.tasks.tasks.set(pid, child);
    return child;
  }

  private dropMm(t: Task): void {
    const mm = t.mm;
    if (mm === null) return;
    t.mm = null;
    if (--mm.mmUsers > 0) return;
    // leave the address space on every CPU (lazy TLB) so it can be destroyed
    const as = (mm.pgt as MmPgtables).as;
    for (let c = 0; c < this.machine.topology.nrCpus; c++) {
      if (this.machine.mmu.loadedMm(c) === as) this.machine.mmu.enterLazyTlb(c);
    }
    exitMmap(this, mm);
    this.mmFree(mm);
  }

  /** Exit task `t` with `code`, dropping its address space. @kernel do_exit / exit_mm (kernel/exit.c) */
  exitTask(t: Task, code: number): void {
    this.machine.currentCpu = t.cpu;
    this.dropMm(t);
    if (t.filesObj >= 0) kmemFree(this.caches.files, t.filesObj);
    t.filesObj = -1;
    t.exitCode = code;
    t.state = 'zombie';
    // orphans are reparented to init (pid 1) or dropped with it
    const init = this.tasks.tasks.get(1);
    for (const c of t.children) {
      c.parent = init !== undefined && init !== t ? init : null;
      c.parent?.children.push(c);
      if (c.parent === null && c.state === 'zombie') this.reapTask(c);
    }
    t.children.length = 0;
    if (t.parent === null || t.parent.state !== 'running') this.reapTask(t);
  }

  /** Free an exited task's remaining state. @kernel release_task (kernel/exit.c) */
  reapTask(t: Task): void {
    if (t.state === 'dead') return;
    t.state = 'dead';
    kmemFree(this.caches.taskStruct, t.obj);
    this.tasks.tasks.delete(t.pid);
  }

  /** FAULT_FLAG_UNSHARE on the page at `addr`. @returns 0 or -EFAULT. */
  unshareAddr(mm: MmStruct, addr: number): number {
    const vma = findVma(mm, addr);
    if (vma === null || vma.vmStart > addr) return -EFAULT;
    const page = addr - (addr % this.pageSize);
    if (!this.pageMapped(vma, page, false)) {
      const r = this.handleMmFault(vma, page, 0);
      if (r !== 0) return -EFAULT;
    }
    return this.handleMmFault(vma, page, FAULT_FLAG_UNSHARE) === 0 ? 0 : -EFAULT;
  }

  /** Live folios of user memory (anonymous and page cache), for leak checks. */
  readonly userFolios: PfnSet;

  /**
   * Allocate a user folio of `order` (GFP_HIGHUSER_MOVABLE).
   * @returns the head PFN or a negative errno.
   */
  allocFolio(order: number): number {
    const f = folioAlloc(this.rm, GFP_HIGHUSER_MOVABLE, order);
    if (f >= 0) this.userFolios.add(f);
    return f;
  }

  /** Drop `refs` references of a user folio (freeing it on the last). @kernel folio_put_refs */
  putFolio(folio: number, refs: number): void {
    if (folioRefCount(this.rm, folio) === refs) this.userFolios.delete(folio);
    folioPutRefs(this.rm, folio, refs);
  }

  /**
   * Check every package's invariants and the cross-checks between them
   * (see validate.ts); throws MmBugError naming the first problem.
   */
  validate(): void {
    validateKernel(this);
  }

  /**
   * Drop the page cache of unlinked shmem files nobody maps or holds any
   * more (the `/dev/zero (deleted)` files of shared anonymous mappings).
   * @kernel shmem_evict_inode (mm/shmem.c)
   */
  releaseDeadFiles(): void {
    for (const m of [...this.pageCache.all()]) {
      const f = m.file;
      if (f === null || f.fCount > 0 || !f.path.endsWith('(deleted)')) continue;
      this.pageCache.evict(m, true);
      m.contents.clear();
      this.pageCache.forget(f.fMapping);
    }
  }

  /**
   * Run the huge zero folio's shrinker: free it when no mm holds it.
   * @returns the pages freed (HPAGE_PMD_NR or 0).
   * @kernel shrink_huge_zero_folio_scan (mm/huge_memory.c)
   */
  shrinkHugeZeroFolio(): number {
    return shrinkHugeZeroFolio(this);
  }

  /**
   * A new tmpfs file of `sizeBytes` (contents: holes, reading 0).
   * The caller holds the opener's reference (drop it with `fput` when done).
   */
  createFile(path: string, sizeBytes: number): File {
    return createTmpfsFile(this.ctx, path, sizeBytes);
  }

  /** `pwrite()` of one page: the file's page `index` holds `token`. */
  writeFile(file: File, index: number, token: number): void {
    this.pageCache.write(this.pageCache.mappingOf(file.fMapping, true, file), index, token);
  }

  /** `pread()` of one page: the token of the file's page `index`. */
  readFile(file: File, index: number): number {
    return this.pageCache.read(this.pageCache.mappingOf(file.fMapping, true, file), index);
  }

  /**
   * `ftruncate()`: set the file's size; shrinking unmaps the pages beyond
   * it from every process (private CoW copies too) and drops them.
   * @returns 0 or a negative errno (see {@link doFtruncate}).
   * @kernel do_ftruncate (fs/open.c)
   */
  ftruncate(file: File, length: number): number {
    return doFtruncate(this, file, length);
  }

  /**
   * `fallocate()`: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, or a size
   * extension (mode 0).
   * @returns 0 or a negative errno (see {@link doFallocate}).
   * @kernel vfs_fallocate (fs/open.c)
   */
  fallocate(file: File, mode: number, offset: number, len: number): number {
    return doFallocate(this, file, mode, offset, len);
  }

  /** The page-cache folio (head PFN) holding the file's page `index`, or -1 when not cached. */
  fileFolio(file: File, index: number): number {
    const page = this.pageCache.lookup(this.pageCache.mappingOf(file.fMapping, true, file), index);
    return page < 0 ? -1 : pageFolio(this.rm, page);
  }

  /**
   * Drop the file's pages [first, last] from the page cache and the file
   * (their mappings must be gone).
   * @kernel truncate_inode_pages_range (mm/truncate.c)
   */
  truncatePagecacheRange(file: File, first: number, last: number): number {
    return this.pageCache.truncateRange(this.pageCache.mappingOf(file.fMapping, true, file), first, last);
  }

  /**
   * `unmap_mapping_range()` over the file's bytes [start, start + len)
   * (`len` 0: to the end), in every process mapping them.
   * @returns the number of VMAs zapped.
   * @kernel unmap_mapping_range (mm/memory.c)
   */
  unmapMappingRange(file: File, start: number, len: number, evenCows: boolean): number {
    return unmapMappingRange(this, file.fMapping, start, len, evenCows);
  }

  /** @kernel folio_referenced (mm/rmap.c), for a page-cache folio; see {@link fileFolioReferenced}. */
  folioReferenced(folio: number, out: { vmFlags: number } | null = null): number {
    return fileFolioReferenced(this, folio, out);
  }

  /** @kernel try_to_unmap (mm/rmap.c), for a page-cache folio; see {@link fileTryToUnmap}. */
  tryToUnmap(folio: number, ignoreMlock = false): number {
    return fileTryToUnmap(this, folio, ignoreMlock);
  }

  /** @kernel folio_mkclean (mm/rmap.c), for a page-cache folio; see {@link fileFolioMkclean}. */
  folioMkclean(folio: number): number {
    return fileFolioMkclean(this, folio);
  }

  /**
   * Put a swap entry (`type`, `offset`) in the empty PTE of `addr`, as
   * swap-out will (a test hook until swap lands): a fault on it returns
   * the typed `NEEDS_SWAP` result, and a zap drops it.
   * @returns 0, -EFAULT (no VMA) or -EEXIST (the entry is not empty).
   */
  installSwapEntry(mm: MmStruct, addr: number, type: number, offset: number): number {
    const vma = findVma(mm, addr);
    if (vma === null || vma.vmStart > addr) return -EFAULT;
    const pgt = mm.pgt as MmPgtables;
    const pmdp = pmdAllocWalk(pgt, addr);
    if (pmdp < 0 || pteAlloc(pgt, pmdp) < 0) return -ENOMEM_;
    const ptep = pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0) return -EEXIST_;
    if (!this.pt.codec.pteNone(ptepGet(pgt, ptep, tmpPte))) {
      pteUnmapUnlock(pgt, ptep);
      return -EEXIST_;
    }
    const e = new SwpEntry();
    e.type = type;
    e.offset = offset;
    this.pt.swap.swpEntryToPte(e, tmpPte2);
    setPteAt(pgt, addr, ptep, tmpPte2);
    pteUnmapUnlock(pgt, ptep);
    mm.rssStat[MM_SWAPENTS]!++;
    return 0;
  }

  /** Count a vmstat event. */
  vmEvent(name: string, delta = 1): void {
    this.events.set(name, (this.events.get(name) ?? 0) + delta);
  }

  // --- content tokens -----------------------------------------------------------------------

  /** The content token of page `pfn` (0 for a page never written). */
  token(pfn: number): number {
    const c = this.tokenChunks[pfn >>> TOKEN_CHUNK_SHIFT];
    return c === undefined ? 0 : c[pfn & (TOKEN_CHUNK - 1)]!;
  }

  /** Store `token` in page `pfn`. */
  setToken(pfn: number, token: number): void {
    const i = pfn >>> TOKEN_CHUNK_SHIFT;
    let c = this.tokenChunks[i];
    if (c === undefined) {
      if (token === 0) return;
      c = this.tokenChunks[i] = new Int32Array(TOKEN_CHUNK);
      this.tokenBytes += TOKEN_CHUNK * 4;
    }
    c[pfn & (TOKEN_CHUNK - 1)] = token;
  }

  // --- address spaces -----------------------------------------------------------------------

  /**
   * A new, empty address space with page tables and an MM id.
   * @returns the mm, or null on -ENOMEM.
   * @kernel mm_alloc (kernel/fork.c)
   */
  mmAlloc(pid: number): MmStruct | null {
    const obj = kmemAlloc(this.caches.mmStruct);
    if (obj < 0) return null;
    const pgt = this.pt.mmAlloc();
    if (pgt === null) {
      kmemFree(this.caches.mmStruct, obj);
      return null;
    }
    const mm = new MmStruct(this.ctx, pid);
    mm.pgt = pgt;
    mm.mmId = mmAllocId(this.rm);
    mmObj.set(mm, obj);
    this.mmByAs.set(pgt.as, mm);
    return mm;
  }

  /** Free an address space whose VMAs and tables are gone. @kernel __mmdrop (kernel/fork.c) */
  mmFree(mm: MmStruct): void {
    // __mmput(): after exit_mmap, the mm's huge zero folio reference goes
    mmPutHugeZeroFolio(this, mm);
    const pgt = mm.pgt as MmPgtables;
    this.mmByAs.delete(pgt.as);
    this.pt.mmFree(pgt);
    mm.pgt = null;
    mmFreeId(this.rm, mm.mmId);
    const obj = mmObj.get(mm);
    if (obj !== undefined) kmemFree(this.caches.mmStruct, obj);
    mmObj.delete(mm);
  }

  /** The mm of page tables `pgt`. */
  mmOfPgt(pgt: MmPgtables): MmStruct | null {
    return this.mmByAs.get(pgt.as) ?? null;
  }

  /** The mm running in MMU address space `as`. */
  mmOfAs(as: MmuAddressSpace): MmStruct | null {
    return this.mmByAs.get(as) ?? null;
  }

  /** Every live address space. */
  mms(): IterableIterator<MmStruct> {
    return this.mmByAs.values();
  }

  /** Whether any VMA of `mm` overlaps [start, end) (`find_vma_intersection() != NULL`). */
  findVmaIntersection(mm: MmStruct, start: number, end: number): boolean {
    return findVmaIntersection(mm, start, end) !== null;
  }

  /** A typed "needs swap" errno for the seams swap will fill. */
  needsSwap(): number {
    return -EAGAIN_NEEDS_SWAP;
  }

  // --- the fault path -----------------------------------------------------------------------

  /**
   * The machine MMU's fault handler: find the VMA (per-VMA lock, else the
   * mmap lock), check the access against it and handle the fault.
   * @returns 0 (retry the access), -EFAULT with {@link lastFault} set, or
   *   -EAGAIN when the fault put the current scheduled task to sleep (its
   *   step returns `SCHED_SLEEP`; {@link resumeFault} continues it).
   * @kernel exc_page_fault / do_user_addr_fault (arch/x86/mm/fault.c), do_page_fault (arch/arm64/mm/fault.c)
   */
  handleFault(_cpu: number, as: MmuAddressSpace, addr: number, errorCode: number): number {
    const mm = this.mmByAs.get(as);
    if (mm === undefined) return -EFAULT;
    let flags = FAULT_FLAG_DEFAULT | FAULT_FLAG_USER;
    if ((errorCode & X86_PF_WRITE) !== 0) flags |= FAULT_FLAG_WRITE;
    if ((errorCode & X86_PF_INSTR) !== 0) flags |= FAULT_FLAG_INSTRUCTION;
    void X86_PF_PROT;
    const ret = this.faultAddr(mm, addr, flags);
    return ret === 0 ? 0 : ret === FAULT_SLEPT ? -EAGAIN : -EFAULT;
  }

  /**
   * Resolve a fault at `addr` of `mm`, as `do_user_addr_fault()` does:
   * `lock_vma_under_rcu()` and `handle_mm_fault()` under the per-VMA lock;
   * when the VMA cannot be read-locked (none at the address, write-locked by
   * an mmap writer, or detached), or the fault returned VM_FAULT_RETRY, the
   * mmap read lock and `handle_mm_fault()` again, retried with
   * FAULT_FLAG_TRIED after a VM_FAULT_RETRY. Taking the mmap lock or
   * waiting for a locked folio sleeps when the caller is a scheduled task:
   * the fault's state is kept and {@link FAULT_SLEPT} returned; the task's
   * retried step calls {@link resumeFault}, which continues where it slept.
   * A harness call (a CPU's idle task) cannot sleep: contention there is an
   * `MmBugError`.
   * @returns 0, {@link FAULT_SLEPT} or a VM_FAULT_* result (with {@link lastFault} set).
   * @kernel do_user_addr_fault (arch/x86/mm/fault.c), lock_vma_under_rcu (mm/mmap_lock.c)
   */
  faultAddr(mm: MmStruct, addr: number, flags: number): number {
    const t = this.machine.sched.current(this.machine.currentCpu);
    if (!t.idle && this.sleepingFaults.has(t)) {
      throw new MmBugError(
        `kernel: ${t.name} faults at ${addr.toString(16)} while its fault is asleep (call resumeFault)`,
      );
    }
    // the state lives in a scratch object unless the fault sleeps
    const st = this.faultScratch;
    st.mm = mm;
    st.addr = addr;
    st.flags = flags;
    st.stage = FS_START;
    st.folio = -1;
    st.next = FS_LOCK_MMAP;
    st.resumed = false;
    return this.runFault(st, t);
  }

  /** Whether scheduled task `t` slept in a fault that {@link resumeFault} must continue. */
  faultPending(t: SchedTask): boolean {
    return this.sleepingFaults.has(t);
  }

  /**
   * Continue the fault the current scheduled task slept in (woken by the
   * mmap lock's hand-over or a folio unlock).
   * @returns 0 (retry the access), {@link FAULT_SLEPT} again, or a VM_FAULT_* error.
   */
  resumeFault(): number {
    const t = this.machine.sched.current(this.machine.currentCpu);
    const st = this.sleepingFaults.get(t);
    if (st === undefined) throw new MmBugError(`kernel: ${t.name} has no fault to resume`);
    this.sleepingFaults.delete(t);
    return this.runFault(st, t);
  }

  private runFault(st: SleepingFault, t: SchedTask): number {
    const r = this.doUserAddrFault(st, t);
    if (r === FAULT_SLEPT) {
      if (t.idle) throw new MmBugError(`kernel: a fault slept in ${t.name} (the harness)`);
      this.sleepingFaults.set(t, st === this.faultScratch ? { ...st } : st);
    }
    return r;
  }

  /** The fault's state machine; each stage is a point where the kernel's fault path may sleep. */
  private doUserAddrFault(st: SleepingFault, t: SchedTask): number {
    const mm = st.mm;
    const addr = st.addr;
    const page = addr - (addr % this.pageSize);
    for (;;) {
      switch (st.stage) {
        case FS_START: {
          const vma = this.lockVmaUnderRcu(mm, page);
          if (vma === null) {
            st.stage = FS_LOCK_MMAP;
            break;
          }
          const bad = this.accessError(vma, st.flags, addr);
          if (bad !== 0) {
            vma.vmRefcnt--; // vma_end_read()
            this.vmEvent('vma_lock_success');
            return bad;
          }
          this.vmEvent('pgfault'); // counted by every handle_mm_fault()
          const r = this.handleMmFault(vma, page, st.flags | FAULT_FLAG_VMA_LOCK);
          vma.vmRefcnt--; // vma_end_read(), or release_fault_lock() before VM_FAULT_RETRY
          if ((r & VM_FAULT_RETRY) === 0) {
            this.vmEvent('vma_lock_success');
            return this.faultResult(r, addr);
          }
          this.vmEvent('vma_lock_retry');
          // folio_wait_locked(): sleep until the folio is unlocked; then the mmap-lock path
          // (FAULT_FLAG_TRIED only after a major fault: this one found the folio cached)
          st.folio = this.faultWaitFolio;
          st.stage = FS_WAIT_FOLIO;
          st.next = FS_LOCK_MMAP;
          return this.sleepOnFolio(st.folio, t);
        }
        case FS_WAIT_FOLIO:
          if (folioTestLocked(this.rm, st.folio)) return this.sleepOnFolio(st.folio, t);
          st.stage = st.next;
          break;
        case FS_LOCK_MMAP:
          // lock_mm_and_find_vma(): mmap_read_lock(), which sleeps while a writer holds the lock
          if (t.idle) mmapReadLock(mm);
          else if (!mmapReadLockTask(mm)) return FAULT_SLEPT;
          st.stage = FS_MMAP_LOCKED;
          break;
        case FS_FOLIO_LOCK:
          // __folio_lock() with the mmap lock held: woken when the folio is unlocked, the same
          // handle_mm_fault() goes on (counted once)
          if (folioTestLocked(this.rm, st.folio)) return this.sleepOnFolio(st.folio, t);
          st.stage = FS_MMAP_LOCKED;
          st.resumed = true;
          break;
        default: {
          // FS_MMAP_LOCKED
          let vma = findVma(mm, page);
          if (vma !== null && vma.vmStart > page) {
            // expand_stack() under the mmap lock
            if ((vma.vmFlags & VM_GROWSDOWN) !== 0 && expandDownwards(vma, page) === 0) {
              /* grown */
            } else vma = null;
          }
          if (vma === null) {
            mmapReadUnlock(mm);
            return this.fail('SIGSEGV', 'SEGV_MAPERR', addr, 'no mapping at this address');
          }
          const bad = this.accessError(vma, st.flags, addr);
          if (bad !== 0) {
            mmapReadUnlock(mm);
            return bad;
          }
          if (st.resumed) st.resumed = false;
          else this.vmEvent('pgfault');
          const r = this.handleMmFault(vma, page, st.flags);
          if ((r & VM_FAULT_RETRY) === 0) {
            mmapReadUnlock(mm);
            return this.faultResult(r, addr);
          }
          st.folio = this.faultWaitFolio;
          if ((st.flags & FAULT_FLAG_TRIED) !== 0) {
            // the second try sleeps in __folio_lock() holding the mmap lock
            st.stage = FS_FOLIO_LOCK;
            return this.sleepOnFolio(st.folio, t);
          }
          // the first try dropped the mmap lock (release_fault_lock) and waits; then retry with FAULT_FLAG_TRIED
          mmapReadUnlock(mm);
          st.flags |= FAULT_FLAG_TRIED;
          st.stage = FS_WAIT_FOLIO;
          st.next = FS_LOCK_MMAP;
          return this.sleepOnFolio(st.folio, t);
        }
      }
    }
  }

  /**
   * Find and read-lock the VMA at `page` without the mmap lock. The RCU walk's
   * answer is the VMA this mm's last fault locked, while it still covers the
   * page (a walk over maple nodes RCU has not freed yet finds it too), else
   * a walk of the tree. It fails (NULL, `vma_lock_abort`) when no VMA maps
   * the page or the VMA is write-locked in the current mmap write section
   * (`vm_lock_seq == mm_lock_seq`); a VMA found detached since counts
   * `vma_lock_miss` and the walk is redone.
   * @returns the VMA with its reader reference taken, or null.
   * @kernel lock_vma_under_rcu / vma_start_read (mm/mmap_lock.c)
   */
  lockVmaUnderRcu(mm: MmStruct, page: number): VmAreaStruct | null {
    let vma: VmAreaStruct | null = null;
    const cached = lastVma.get(mm);
    if (cached !== undefined && cached.vmStart <= page && page < cached.vmEnd) vma = cached;
    for (;;) {
      if (vma === null) {
        vma = findVma(mm, page); // mas_walk()
        if (vma !== null && vma.vmStart > page) vma = null;
      }
      if (vma === null) break;
      if (vma.vmLockSeq === mm.mmLockSeq) break; // write-locked: fall back to the mmap lock
      if (vma.vmRefcnt === 0) {
        // detached from under us: "the area was replaced with another one"
        this.vmEvent('vma_lock_miss');
        lastVma.delete(mm);
        vma = null;
        continue;
      }
      if (vma.vmMm !== mm) break;
      vma.vmRefcnt++;
      if (page < vma.vmStart || page >= vma.vmEnd) {
        vma.vmRefcnt--;
        break;
      }
      if (vma !== cached) lastVma.set(mm, vma);
      return vma;
    }
    this.vmEvent('vma_lock_abort');
    return null;
  }

  /** @returns 0 or the failure (with {@link lastFault} set). @kernel access_error (arch/x86/mm/fault.c) */
  private accessError(vma: VmAreaStruct, flags: number, addr: number): number {
    if ((flags & FAULT_FLAG_WRITE) !== 0) {
      if ((vma.vmFlags & VM_WRITE) === 0)
        return this.fail('SIGSEGV', 'SEGV_ACCERR', addr, 'write to a mapping without PROT_WRITE');
    } else if ((flags & FAULT_FLAG_INSTRUCTION) !== 0) {
      if ((vma.vmFlags & VM_EXEC) === 0)
        return this.fail('SIGSEGV', 'SEGV_ACCERR', addr, 'instruction fetch from a mapping without PROT_EXEC');
    } else if ((vma.vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) {
      return this.fail('SIGSEGV', 'SEGV_ACCERR', addr, 'read of a PROT_NONE mapping');
    }
    return 0;
  }

  /** `handle_mm_fault()`'s result as the access sees it: 0 or a failure with {@link lastFault} set. */
  private faultResult(r: number, addr: number): number {
    if (r === 0) return 0;
    if (r & VM_FAULT_SIGSEGV) return this.fail('SIGSEGV', 'SEGV_ACCERR', addr, 'guard region');
    if (r & VM_FAULT_SIGBUS) return this.fail('SIGBUS', 'BUS_ADRERR', addr, 'access beyond the end of the mapped file');
    if (r & VM_FAULT_NEEDS_SWAP)
      return this.fail('NEEDS_SWAP', 'swap', addr, 'the page is swapped out (swap-in comes with swap)');
    if (r & VM_FAULT_UFFD_WP)
      return this.fail('UFFD_WP', 'uffd-wp', addr, 'write to a userfaultfd write-protected page');
    return this.fail('ENOMEM', 'oom', addr, 'out of memory');
  }

  // --- folio locks and their wait queues ----------------------------------------------------

  /**
   * Check the sleepers: every task on a folio's wait queue sleeps and the
   * folio is locked (an unlock wakes them all); every sleeping fault belongs
   * to a sleeping or runnable task, and one asleep on a folio or the mmap
   * lock is queued there (or was handed the lock).
   * @returns a problem, or null.
   */
  checkSleepers(): string | null {
    for (const [folio, wq] of this.folioWaitqueues) {
      if (wq.waiters.length > 0 && !folioTestLocked(this.rm, folio))
        return `kernel: tasks wait on unlocked folio ${folio} (a lost wake-up)`;
    }
    for (const [t, st] of this.sleepingFaults) {
      if (t.state === TASK_DEAD) return `kernel: ${t.name} died inside a fault`;
      if (t.state === TASK_RUNNING) continue; // woken, its step not run yet
      if (st.stage === FS_WAIT_FOLIO || st.stage === FS_FOLIO_LOCK) {
        const wq = this.folioWaitqueues.get(st.folio);
        if (wq === undefined || !wq.waiters.includes(t))
          return `kernel: ${t.name} sleeps in a fault on folio ${st.folio} but is not on its wait queue`;
        if (st.stage === FS_FOLIO_LOCK && st.mm.mmapLock.readers === 0)
          return `kernel: ${t.name} sleeps in __folio_lock() without the mmap read lock`;
      } else if (st.stage === FS_LOCK_MMAP) {
        if (!st.mm.mmapLock.waiters.includes(t) && !(t.waitingOn === st.mm.mmapLock && t.granted))
          return `kernel: ${t.name} sleeps in mmap_read_lock() but is not on the lock's wait list`;
      } else return `kernel: ${t.name} sleeps in a fault at stage ${st.stage}`;
    }
    return null;
  }

  /** The wait queue of folio `folio`. @kernel folio_waitqueue (mm/filemap.c) */
  private folioWaitqueue(folio: number): WaitQueueHead {
    let wq = this.folioWaitqueues.get(folio);
    if (wq === undefined) {
      wq = new WaitQueueHead(this.machine);
      this.folioWaitqueues.set(folio, wq);
    }
    return wq;
  }

  private sleepOnFolio(folio: number, t: SchedTask): number {
    prepareToWait(this.folioWaitqueue(folio), t);
    return FAULT_SLEPT;
  }

  /**
   * A file fault met folio `folio` locked by another task (I/O, truncation):
   * the first try (FAULT_FLAG_ALLOW_RETRY without FAULT_FLAG_TRIED) drops
   * the fault's lock and waits for the unlock, then returns VM_FAULT_RETRY;
   * the second sleeps in `__folio_lock()` with the mmap lock held. The
   * caller ({@link faultAddr}) drops the lock and sleeps; a harness call
   * cannot sleep.
   * @kernel __folio_lock_or_retry (mm/filemap.c), lock_folio_maybe_drop_mmap (mm/filemap.c)
   */
  private folioLockOrRetry(folio: number, flags: number): number {
    const t = this.machine.sched.current(this.machine.currentCpu);
    if ((flags & FAULT_FLAG_ALLOW_RETRY) === 0) {
      throw new MmBugError(
        `kernel: a fault without FAULT_FLAG_ALLOW_RETRY would sleep on locked folio ${folio} inside a call (only the fault entry may sleep in the model)`,
      );
    }
    if (t.idle) {
      throw new MmBugError(
        `kernel: a fault on CPU ${this.machine.currentCpu} would sleep on locked folio ${folio} and ${t.name} (the harness) cannot sleep; run it as a scheduled task`,
      );
    }
    this.faultWaitFolio = folio;
    return VM_FAULT_RETRY;
  }

  /**
   * Lock the page-cache folio of `file`'s page `index` (read into the cache
   * first), as a task doing I/O on it or truncating it would. From a
   * scheduled task's step a locked folio puts the task to sleep (false:
   * return `SCHED_SLEEP` and call again when woken); the harness cannot
   * sleep (`MmBugError`).
   * @returns true when the folio is now locked by the caller.
   * @kernel folio_lock (include/linux/pagemap.h)
   */
  lockFilePage(file: File, index: number): boolean {
    const m = this.pageCache.mappingOf(file.fMapping, true, file);
    const page = this.pageCache.getFolio(m, index);
    if (page < 0) throw new MmBugError(`kernel: no memory to read page ${index} of ${file.path}`);
    const folio = pageFolio(this.rm, page);
    if (folioTrylock(this.rm, folio)) return true;
    const t = this.machine.sched.current(this.machine.currentCpu);
    if (t.idle) throw new MmBugError(`kernel: folio_lock of ${file.path} page ${index} would sleep in the harness`);
    prepareToWait(this.folioWaitqueue(folio), t);
    return false;
  }

  /**
   * Unlock the folio of `file`'s page `index` and wake its waiters.
   * @kernel folio_unlock / folio_wake_bit (mm/filemap.c)
   */
  unlockFilePage(file: File, index: number): void {
    const m = this.pageCache.mappingOf(file.fMapping, true, file);
    const page = m.pages.get(index);
    if (page === undefined) throw new MmBugError(`kernel: page ${index} of ${file.path} is not cached`);
    const folio = pageFolio(this.rm, page);
    folioUnlock(this.rm, folio);
    const wq = this.folioWaitqueues.get(folio);
    if (wq !== undefined) {
      this.folioWaitqueues.delete(folio);
      wakeUpAll(wq);
    }
  }

  private fail(signal: MemFault['signal'], code: MemFault['code'], addr: number, reason: string): number {
    this.lastFault = { signal, code, addr, reason };
    return signal === 'SIGSEGV' ? VM_FAULT_SIGSEGV : signal === 'SIGBUS' ? VM_FAULT_SIGBUS : VM_FAULT_OOM;
  }

  /**
   * Handle a page fault at `addr` in `vma`: allocate page tables as needed and resolve the PMD or PTE entry.
   * @returns 0 or VM_FAULT_*.
   * @kernel handle_mm_fault / __handle_mm_fault (mm/memory.c)
   */
  handleMmFault(vma: VmAreaStruct, addr: number, flags: number): number {
    const mm = vma.vmMm;
    const pgt = mm.pgt as MmPgtables;
    const pmdp = pmdAllocWalk(pgt, addr);
    if (pmdp < 0) return VM_FAULT_OOM;
    const c = this.pt.codec;
    let pmd = pmdpGet(pgt, pmdp, tmpPmd);
    if (!c.pmdNone(pmd) && c.pmdPresent(pmd) && c.pmdLeaf(pmd)) {
      const write = (flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) !== 0;
      if (!write || c.pteWrite(pmd)) {
        // huge_pmd_set_accessed(): the walker sets A/D itself; nothing to do
        return 0;
      }
      const r = wpHugePmd(this, vma, addr, pmdp, flags);
      if ((r & VM_FAULT_FALLBACK) === 0) return r;
      pmd = pmdpGet(pgt, pmdp, tmpPmd); // a file PMD is gone now, an anonymous one is a table
    }
    if (c.pmdNone(pmd)) {
      if (vma.vmOps === null) {
        // create_huge_pmd() -> do_huge_pmd_anonymous_page()
        if (this.thpVmaAllowable(vma, addr, this.hpageNr)) {
          const r = doHugePmdAnonymousPage(this, vma, addr, pmdp, flags);
          if ((r & VM_FAULT_FALLBACK) === 0) return r;
        }
      } else {
        // do_fault() with no PTE table yet: finish_fault() may map a cached THP with a PMD
        const r = this.doFaultPmd(vma, addr, pmdp, flags);
        if ((r & VM_FAULT_FALLBACK) === 0) return r;
      }
    }
    if (pteAlloc(pgt, pmdp) < 0) return VM_FAULT_OOM;
    return this.handlePteFault(vma, addr, flags, pmdp);
  }

  /** @kernel handle_pte_fault (mm/memory.c) */
  private handlePteFault(vma: VmAreaStruct, addr: number, flags: number, pmdp: number): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const ptep = pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0) return 0; // the PMD changed under us: retry
    const pte = ptepGet(pgt, ptep, tmpPte);
    if (c.pteNone(pte)) {
      pteUnmapUnlock(pgt, ptep);
      if (vma.vmOps === null) return this.doAnonymousPage(vma, addr, flags, pmdp);
      return this.doFault(vma, addr, flags, pmdp);
    }
    if (!c.ptePresent(pte)) {
      // do_swap_page(): markers, device-exclusive, swap
      this.pt.entries.decodePte(pte, tmpView);
      const kind = tmpView.kind;
      if (kind === LEAF_KIND.MARKER) {
        const marker = tmpView.marker;
        if ((marker & PTE_MARKER_GUARD) !== 0) {
          pteUnmapUnlock(pgt, ptep);
          return VM_FAULT_SIGSEGV;
        }
        if ((marker & PTE_MARKER_UFFD_WP) !== 0) {
          if ((flags & FAULT_FLAG_WRITE) !== 0 && (vma.vmFlags & VM_UFFD_WP) !== 0) {
            pteUnmapUnlock(pgt, ptep);
            return VM_FAULT_UFFD_WP;
          }
          // pte_marker_handle_uffd_wp(): a read of an unpopulated page: clear the marker, fault normally
          c.archSwpEntry(tmpPte2, 0, 0);
          tmpPte2.setWords(0, 0);
          setPteAt(pgt, addr, ptep, tmpPte2);
          pteUnmapUnlock(pgt, ptep);
          return vma.vmOps === null
            ? this.doAnonymousPage(vma, addr, flags, pmdp)
            : this.doFault(vma, addr, flags, pmdp);
        }
        pteUnmapUnlock(pgt, ptep);
        return VM_FAULT_SIGBUS;
      }
      if (kind === LEAF_KIND.DEVICE_EXCLUSIVE) {
        // remove_device_exclusive_entry(): restore the present PTE and retry
        const pfn = tmpView.pfn;
        const prot = vma.pageProt;
        c.pfnPte(tmpPte2, pfn, prot);
        if ((vma.vmFlags & VM_WRITE) !== 0 && pageAnonExclusive(this.rm, pfn)) {
          c.pteMkwrite(tmpPte2);
          c.pteMkdirty(tmpPte2);
        } else c.pteWrprotect(tmpPte2);
        c.pteMkyoung(tmpPte2);
        setPteAt(pgt, addr, ptep, tmpPte2);
        pteUnmapUnlock(pgt, ptep);
        return 0;
      }
      pteUnmapUnlock(pgt, ptep);
      if (kind === LEAF_KIND.SWAP) return VM_FAULT_NEEDS_SWAP;
      return VM_FAULT_SIGBUS;
    }
    const write = (flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) !== 0;
    if (write && !c.pteWrite(pte)) {
      if ((flags & FAULT_FLAG_WRITE) !== 0 && c.pteUffdWp(pte) && (vma.vmFlags & VM_UFFD_WP) !== 0) {
        pteUnmapUnlock(pgt, ptep);
        return VM_FAULT_UFFD_WP;
      }
      return this.doWpPage(vma, addr, flags, ptep, pte);
    }
    // spurious / access-flag fault: set young (and dirty on write)
    tmpPte2.set(pte);
    c.pteMkyoung(tmpPte2);
    if ((flags & FAULT_FLAG_WRITE) !== 0) c.pteMkdirty(tmpPte2);
    ptepSetAccessFlags(pgt, addr, ptep, tmpPte2, (flags & FAULT_FLAG_WRITE) !== 0);
    pteUnmapUnlock(pgt, ptep);
    return 0;
  }

  /** Whether THP of `nr` pages may back `addr` in `vma` per the sysfs settings. @kernel thp_vma_allowable_orders (mm/huge_memory.c) */
  thpVmaAllowable(vma: VmAreaStruct, addr: number, nr: number): boolean {
    if (vma.vmOps !== null) return false;
    if ((vma.vmFlags & VM_NOHUGEPAGE) !== 0) return false;
    const order = Math.log2(nr);
    let e = this.mthpEnabled[order];
    if (e === undefined) return false;
    if (e === 'inherit') e = this.thpEnabled;
    if (e === 'never') return false;
    if (e === 'madvise' && (vma.vmFlags & VM_HUGEPAGE) === 0) return false;
    const bytes = nr * this.pageSize;
    const start = addr - (addr % bytes);
    return start >= vma.vmStart && start + bytes <= vma.vmEnd;
  }

  /** Split the PMD leaf mapping `addr`, if any (tables and rmap). @kernel split_huge_pmd (mm/huge_memory.c) */
  splitHugePmd(vma: VmAreaStruct, addr: number): number {
    const pgt = vma.vmMm.pgt;
    if (pgt === null) return 0;
    const pmdp = this.pt.lookup(pgt, PMD_LEVEL, addr);
    if (pmdp < 0 || !pmdIsLeaf(pgt, pmdp)) return 0;
    const c = this.pt.codec;
    const pmd = pmdpGet(pgt, pmdp, tmpPmd);
    if (vma.vmOps !== null) return splitFilePmd(this, vma, addr, pmdp);
    if (isHugeZeroPmd(this, pmd)) return splitHugeZeroPagePmd(this, vma, addr, pmdp);
    const head = c.pmdPfn(pmd);
    const exclusive = folioTestAnon(this.rm, head) && pageAnonExclusive(this.rm, head);
    this.pt.pmdLock(pgt, pmdp);
    const r = splitHugePmdLocked(pgt, addr, pmdp, vma.pageProt);
    this.pt.pmdUnlock(pgt, pmdp);
    if (r < 0) return r;
    // the PTEs are mapped by the rmap first, then the PMD mapping removed (__split_huge_pmd_locked)
    const haddr = addr - (addr % this.pmdSize);
    rmapSplitPmd(this.rm, vma, head, haddr, exclusive);
    this.vmEvent('thp_split_pmd');
    return 0;
  }

  /** The mTHP orders to try for an anonymous fault at `addr`, largest first. @kernel alloc_anon_folio (mm/memory.c) */
  private anonOrders(vma: VmAreaStruct, addr: number, pmdp: number): number[] {
    const pmdOrder = Math.log2(this.hpageNr);
    const pgt = vma.vmMm.pgt as MmPgtables;
    const out: number[] = [];
    for (let order = pmdOrder - 1; order >= 2; order--) {
      const nr = 1 << order;
      if (!this.thpVmaAllowable(vma, addr, nr)) continue;
      // pte_range_none(): every entry of the aligned range must be empty
      const start = addr - (addr % (nr * this.pageSize));
      const ptep = pteOffsetMapLock(pgt, pmdp, start);
      if (ptep < 0) return out;
      let none = true;
      for (let i = 0; i < nr && none; i++) if (!this.pt.codec.pteNone(ptepGet(pgt, ptep + i, tmpPte2))) none = false;
      pteUnmapUnlock(pgt, ptep);
      if (none) out.push(order);
    }
    return out;
  }

  /** @kernel do_anonymous_page (mm/memory.c) */
  private doAnonymousPage(vma: VmAreaStruct, addr: number, flags: number, pmdp: number): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    if ((vma.vmFlags & VM_SHARED) !== 0) return VM_FAULT_SIGBUS;
    if ((flags & FAULT_FLAG_WRITE) === 0) {
      // the shared zero page, read-only and special
      c.pfnPte(tmpPte2, this.zeroPfn, vma.pageProt);
      c.pteMkspecial(tmpPte2);
      c.pteWrprotect(tmpPte2);
      if ((flags & FAULT_ORIG_PTE_UFFD_WP) !== 0) c.pteMkuffdWp(tmpPte2);
      const ptep = pteOffsetMapLock(pgt, pmdp, addr);
      if (ptep < 0) return 0;
      if (c.pteNone(ptepGet(pgt, ptep, tmpPte))) setPteAt(pgt, addr, ptep, tmpPte2);
      pteUnmapUnlock(pgt, ptep);
      this.vmEvent('zero_page_fault');
      return 0;
    }
    if (this.ctx.anon.anonVmaPrepare(vma) !== 0) return VM_FAULT_OOM;
    // the enabled orders that fit, largest first, then order 0
    let order = 0;
    let folio = -1;
    for (const o of this.anonOrders(vma, addr, pmdp)) {
      folio = this.allocFolio(o);
      if (folio >= 0) {
        order = o;
        break;
      }
      this.vmEvent('thp_fault_fallback');
    }
    if (folio < 0) folio = this.allocFolio(0);
    if (folio < 0) return VM_FAULT_OOM;
    const nr = 1 << order;
    const start = addr - (addr % (nr * this.pageSize));
    this.clearTokens(folio, nr);
    folioAddNewAnonRmap(this.rm, folio, rmapVma(vma), start, RMAP_EXCLUSIVE);
    if (nr > 1) folioRefAdd(this.rm, folio, nr - 1);
    c.pfnPte(tmpPte2, folio, vma.pageProt);
    c.pteMkwrite(tmpPte2);
    c.pteMkdirty(tmpPte2);
    c.pteMkyoung(tmpPte2);
    const ptep0 = pteOffsetMapLock(pgt, pmdp, start);
    if (ptep0 < 0) {
      this.undoNewAnon(vma, folio, nr);
      return 0;
    }
    for (let i = 0; i < nr; i++) {
      if (!c.pteNone(ptepGet(pgt, ptep0 + i, tmpPte))) {
        pteUnmapUnlock(pgt, ptep0);
        this.undoNewAnon(vma, folio, nr);
        return 0;
      }
    }
    setPtes(pgt, start, ptep0, tmpPte2, nr);
    pteUnmapUnlock(pgt, ptep0);
    vma.vmMm.rssStat[MM_ANONPAGES]! += nr;
    if (nr > 1) this.vmEvent('thp_fault_alloc');
    if ((vma.vmFlags & VM_LOCKED) !== 0) this.mlockFolioIfLocked(vma, folio);
    return 0;
  }

  private undoNewAnon(vma: VmAreaStruct, folio: number, nr: number): void {
    const start = vma.vmStart;
    void start;
    for (let i = 0; i < nr; i++) folioRemoveRmapPte(this.rm, folio, folio + i, rmapVma(vma));
    this.putFolio(folio, nr);
  }

  private clearTokens(folio: number, nr: number): void {
    for (let i = 0; i < nr; i++) this.setToken(folio + i, 0);
  }

  private mlockFolioIfLocked(_vma: VmAreaStruct, _folio: number): void {
    // the rmap's folio_add_*_rmap already mlocks folios mapped entirely into a VM_LOCKED VMA
  }

  /** The page cache of a file VMA. */
  cacheOf(vma: VmAreaStruct): PageCacheMapping {
    const f = vma.vmFile as File;
    return this.pageCache.mappingOf(f.fMapping, true, f);
  }

  /**
   * The page of the file at `pgoff` for a fault at `addr` of `vma`, read
   * into the cache if absent (a PMD-sized shmem folio where allowed).
   * @kernel shmem_fault / shmem_get_folio_gfp (mm/shmem.c)
   */
  private cacheGetPage(vma: VmAreaStruct, m: PageCacheMapping, pgoff: number, addr: number): number {
    const order = m.pages.has(pgoff) ? 0 : shmemFaultOrder(this, vma, m, pgoff, addr);
    return this.pageCache.getFolio(m, pgoff, order);
  }

  /**
   * A read or shared-write fault on a file VMA whose PMD is empty: get the
   * page, and map its folio with one PMD if it is PMD-sized and fits.
   * @returns 0, VM_FAULT_OOM, or VM_FAULT_FALLBACK (map a PTE).
   * @kernel do_read_fault / do_shared_fault -> finish_fault -> do_set_pmd (mm/memory.c)
   */
  private doFaultPmd(vma: VmAreaStruct, addr: number, pmdp: number, flags: number): number {
    const f = vma.vmFile;
    if (f === null || vma.vmOps === null || vma.vmOps.fault !== true) return VM_FAULT_FALLBACK;
    const write = (flags & FAULT_FLAG_WRITE) !== 0;
    if (write && (vma.vmFlags & VM_SHARED) === 0) return VM_FAULT_FALLBACK; // do_cow_fault maps a small copy
    const pgoff = vma.vmPgoff + (addr - vma.vmStart) / this.pageSize;
    if (pgoff * this.pageSize >= Math.ceil(f.fInode.iSize / this.pageSize) * this.pageSize) return VM_FAULT_FALLBACK;
    const m = this.cacheOf(vma);
    const page = this.cacheGetPage(vma, m, pgoff, addr);
    if (page < 0) return VM_FAULT_OOM;
    return doSetPmd(this, vma, addr, pmdp, page, write);
  }

  /** @kernel do_fault (mm/memory.c): read, CoW or shared fault */
  private doFault(vma: VmAreaStruct, addr: number, flags: number, pmdp: number): number {
    const f = vma.vmFile;
    if (f === null || vma.vmOps === null || vma.vmOps.fault !== true) return VM_FAULT_SIGBUS;
    const pgoff = vma.vmPgoff + (addr - vma.vmStart) / this.pageSize;
    const inode: Inode = f.fInode;
    if (pgoff * this.pageSize >= Math.ceil(inode.iSize / this.pageSize) * this.pageSize) return VM_FAULT_SIGBUS;
    const m = this.cacheOf(vma);
    // filemap_fault(): a folio locked by another task (I/O, truncation) makes the fault wait
    const cachedPage = m.pages.get(pgoff);
    if (cachedPage !== undefined) {
      const locked = pageFolio(this.rm, cachedPage);
      if (folioTestLocked(this.rm, locked)) return this.folioLockOrRetry(locked, flags);
    }
    const write = (flags & FAULT_FLAG_WRITE) !== 0;
    if (!write) return this.doReadFault(vma, addr, pmdp, m, pgoff);
    if ((vma.vmFlags & VM_SHARED) === 0) return this.doCowFault(vma, addr, pmdp, m, pgoff);
    return this.doSharedFault(vma, addr, pmdp, m, pgoff);
  }

  /** Map cached page `page` at `addr` (file rmap, RSS). @kernel set_pte_range (mm/memory.c) */
  private mapFilePage(vma: VmAreaStruct, addr: number, ptep: number, page: number, writable: boolean): void {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const folio = pageFolio(this.rm, page);
    folioGet(this.rm, folio);
    folioAddFileRmapPtes(this.rm, folio, page, 1, rmapVma(vma));
    c.pfnPte(tmpPte2, page, vma.pageProt);
    if (writable) {
      c.pteMkwrite(tmpPte2);
      c.pteMkdirty(tmpPte2);
    } else c.pteWrprotect(tmpPte2);
    c.pteMkyoung(tmpPte2);
    setPteAt(pgt, addr, ptep, tmpPte2);
    vma.vmMm.rssStat[mmCounter(this.rm, folio, vma)]!++;
  }

  /** @kernel do_read_fault + do_fault_around / filemap_map_pages (mm/memory.c, mm/filemap.c) */
  private doReadFault(vma: VmAreaStruct, addr: number, pmdp: number, m: PageCacheMapping, pgoff: number): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const folio = this.cacheGetPage(vma, m, pgoff, addr);
    if (folio < 0) return VM_FAULT_OOM;
    const ptep = pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0) return 0;
    if (c.pteNone(ptepGet(pgt, ptep, tmpPte))) this.mapFilePage(vma, addr, ptep, folio, false);
    pteUnmapUnlock(pgt, ptep);
    // fault-around: map the neighbours already in the cache (within the VMA and this PTE table)
    const nr = this.faultAroundBytes / this.pageSize;
    if (nr > 1) {
      const win = nr * this.pageSize;
      let from = addr - (addr % win);
      let to = from + win;
      const tblStart = addr - (addr % this.pmdSize);
      from = Math.max(from, vma.vmStart, tblStart);
      to = Math.min(to, vma.vmEnd, tblStart + this.pmdSize);
      const size = Math.ceil(m.inode.iSize / this.pageSize);
      const p0 = pteOffsetMapLock(pgt, pmdp, from);
      if (p0 < 0) return 0;
      let mapped = 0;
      for (let a = from; a < to; a += this.pageSize) {
        if (a === addr) continue;
        const idx = vma.vmPgoff + (a - vma.vmStart) / this.pageSize;
        if (idx >= size) break;
        const f2 = m.pages.get(idx);
        if (f2 === undefined || folioTestLocked(this.rm, pageFolio(this.rm, f2))) continue; // filemap_map_pages() skips locked folios
        const pp = p0 + (a - from) / this.pageSize;
        if (!c.pteNone(ptepGet(pgt, pp, tmpPte))) continue;
        this.mapFilePage(vma, a, pp, f2, false);
        c.pteMkold(tmpPte2);
        mapped++;
      }
      pteUnmapUnlock(pgt, p0);
      if (mapped > 0) this.vmEvent('fault_around', mapped);
    }
    return 0;
  }

  /** @kernel do_cow_fault (mm/memory.c) */
  private doCowFault(vma: VmAreaStruct, addr: number, pmdp: number, m: PageCacheMapping, pgoff: number): number {
    if (this.ctx.anon.anonVmaPrepare(vma) !== 0) return VM_FAULT_OOM;
    const src = this.cacheGetPage(vma, m, pgoff, addr);
    if (src < 0) return VM_FAULT_OOM;
    const folio = this.allocFolio(0);
    if (folio < 0) return VM_FAULT_OOM;
    this.setToken(folio, this.token(src));
    return this.installNewAnon(vma, addr, pmdp, folio);
  }

  private installNewAnon(vma: VmAreaStruct, addr: number, pmdp: number, folio: number): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const ptep = pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0 || !c.pteNone(ptepGet(pgt, ptep, tmpPte))) {
      if (ptep >= 0) pteUnmapUnlock(pgt, ptep);
      this.putFolio(folio, 1);
      return 0;
    }
    folioAddNewAnonRmap(this.rm, folio, rmapVma(vma), addr, RMAP_EXCLUSIVE);
    c.pfnPte(tmpPte2, folio, vma.pageProt);
    c.pteMkwrite(tmpPte2);
    c.pteMkdirty(tmpPte2);
    c.pteMkyoung(tmpPte2);
    setPteAt(pgt, addr, ptep, tmpPte2);
    pteUnmapUnlock(pgt, ptep);
    vma.vmMm.rssStat[MM_ANONPAGES]!++;
    return 0;
  }

  /** @kernel do_shared_fault (mm/memory.c) */
  private doSharedFault(vma: VmAreaStruct, addr: number, pmdp: number, m: PageCacheMapping, pgoff: number): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const folio = this.cacheGetPage(vma, m, pgoff, addr);
    if (folio < 0) return VM_FAULT_OOM;
    const ptep = pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0) return 0;
    if (this.pt.codec.pteNone(ptepGet(pgt, ptep, tmpPte))) this.mapFilePage(vma, addr, ptep, folio, true);
    pteUnmapUnlock(pgt, ptep);
    return 0;
  }

  /**
   * Make a present PTE writable, dirty and young in place, then drop the
   * PTE lock.
   * @kernel wp_page_reuse (mm/memory.c)
   */
  private wpPageReuse(pgt: MmPgtables, addr: number, ptep: number, pte: PteVal): void {
    const c = this.pt.codec;
    tmpPte2.set(pte);
    c.pteMkwrite(tmpPte2);
    c.pteMkdirty(tmpPte2);
    c.pteMkyoung(tmpPte2);
    ptepSetAccessFlags(pgt, addr, ptep, tmpPte2, true);
    pteUnmapUnlock(pgt, ptep);
  }

  /**
   * A write (or unshare) fault on a present read-only PTE: reuse or copy.
   * Called with the PTE lock held; drops it.
   * @kernel do_wp_page (mm/memory.c)
   */
  private doWpPage(vma: VmAreaStruct, addr: number, flags: number, ptep: number, pte: PteVal): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const unshare = (flags & FAULT_FLAG_UNSHARE) !== 0;
    const pfn = c.ptePfn(pte);
    const special = c.pteSpecial(pte) || pfn === this.zeroPfn;
    if ((vma.vmFlags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE) && !special) {
      if (unshare) {
        pteUnmapUnlock(pgt, ptep);
        return 0;
      }
      // wp_page_shared(): make it writable in place
      this.wpPageReuse(pgt, addr, ptep, pte);
      return 0;
    }
    const folio = special ? -1 : pageFolio(this.rm, pfn);
    if (folio >= 0 && folioTestAnon(this.rm, folio)) {
      // wp_can_reuse_anon_folio(): an exclusive page, or the only mapping of the folio
      let reuse = pageAnonExclusive(this.rm, pfn);
      if (!reuse && wpCanReuseAnonFolio(this.rm, folio, rmapVma(vma))) {
        setPageAnonExclusive(this.rm, pfn);
        reuse = true;
      }
      if (reuse) {
        if (unshare) {
          pteUnmapUnlock(pgt, ptep);
          return 0;
        }
        this.wpPageReuse(pgt, addr, ptep, pte);
        this.vmEvent('cow_reuse');
        return 0;
      }
    }
    pteUnmapUnlock(pgt, ptep);
    return this.wpPageCopy(vma, addr, flags, folio, pfn);
  }

  /** @kernel wp_page_copy (mm/memory.c) */
  private wpPageCopy(vma: VmAreaStruct, addr: number, flags: number, oldFolio: number, oldPfn: number): number {
    if (this.ctx.anon.anonVmaPrepare(vma) !== 0) return VM_FAULT_OOM;
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const folio = this.allocFolio(0);
    if (folio < 0) return VM_FAULT_OOM;
    this.setToken(folio, oldFolio < 0 ? 0 : this.token(oldPfn));
    const pmdp = this.pt.lookup(pgt, PMD_LEVEL, addr);
    const ptep = pmdp < 0 ? -1 : pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0) {
      this.putFolio(folio, 1);
      return 0;
    }
    const cur = ptepGet(pgt, ptep, tmpPte);
    if (!c.ptePresent(cur) || c.ptePfn(cur) !== oldPfn || c.pteWrite(cur)) {
      pteUnmapUnlock(pgt, ptep);
      this.putFolio(folio, 1);
      return 0;
    }
    const mm = vma.vmMm;
    if (oldFolio >= 0) {
      mm.rssStat[mmCounter(this.rm, oldFolio, vma)]!--;
      mm.rssStat[MM_ANONPAGES]!++;
    } else mm.rssStat[MM_ANONPAGES]!++;
    ptepClearFlush(pgt, addr, ptep, tmpPte3);
    folioAddNewAnonRmap(this.rm, folio, rmapVma(vma), addr, RMAP_EXCLUSIVE);
    c.pfnPte(tmpPte2, folio, vma.pageProt);
    if ((flags & FAULT_FLAG_UNSHARE) !== 0) c.pteWrprotect(tmpPte2);
    else {
      c.pteMkwrite(tmpPte2);
      c.pteMkdirty(tmpPte2);
    }
    c.pteMkyoung(tmpPte2);
    setPteAt(pgt, addr, ptep, tmpPte2);
    if (oldFolio >= 0) folioRemoveRmapPte(this.rm, oldFolio, oldPfn, rmapVma(vma));
    pteUnmapUnlock(pgt, ptep);
    if (oldFolio >= 0) this.putFolio(oldFolio, 1);
    this.vmEvent('cow_fault');
    return 0;
  }

  // --- helpers for the VMA layer's page-table seam --------------------------------------------

  /**
   * Fault in `[start, end)` of `vma` (write faults for writable private
   * mappings, as populate does; reads otherwise).
   * @returns pages populated or a negative errno.
   * @kernel populate_vma_page_range (mm/gup.c)
   */
  populateRange(vma: VmAreaStruct, start: number, end: number, write: boolean | null): number {
    if ((vma.vmFlags & 0x80000) !== 0 && write === null) return (end - start) / this.pageSize; // VM_LOCKONFAULT
    const w = write ?? (vma.vmFlags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    let n = 0;
    for (let a = start; a < end; a += this.pageSize) {
      const r = this.faultInPage(vma, a, w);
      if (r !== 0) return n > 0 ? n : r;
      n++;
    }
    return n;
  }

  /** Fault in every page of [start, end) of `mm`, for writing if `write`; pages faulted in, or a negative errno. @kernel faultin_page_range (mm/gup.c) */
  faultinRange(mm: MmStruct, start: number, end: number, write: boolean): number {
    let n = 0;
    for (let a = start; a < end; ) {
      const vma = findVma(mm, a);
      if (vma === null || vma.vmStart > a) return n > 0 ? n : -EFAULT;
      if (write && (vma.vmFlags & VM_WRITE) === 0) return -EFAULT;
      if (!write && (vma.vmFlags & (VM_READ | VM_WRITE | VM_EXEC)) === 0) return -EFAULT;
      const e = Math.min(end, vma.vmEnd);
      const r = this.populateRange(vma, a, e, write);
      if (r < 0) return r;
      n += r;
      a = e;
    }
    return n;
  }

  /** Fault one page in (GUP's faultin_page): 0 or a negative errno. */
  private faultInPage(vma: VmAreaStruct, addr: number, write: boolean): number {
    for (let i = 0; i < 4; i++) {
      if (this.pageMapped(vma, addr, write)) return 0;
      const r = this.handleMmFault(vma, addr, write ? FAULT_FLAG_WRITE : 0);
      if (r !== 0) return r & VM_FAULT_OOM ? -ENOMEM_ : -EFAULT;
    }
    return 0;
  }

  /** Whether a present PTE (or PMD) maps `addr` (writable if `write`). */
  pageMapped(vma: VmAreaStruct, addr: number, write: boolean): boolean {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const pmdp = this.pt.lookup(pgt, PMD_LEVEL, addr);
    if (pmdp < 0) return false;
    const pmd = pmdpGet(pgt, pmdp, tmpPmd);
    if (c.pmdNone(pmd)) return false;
    if (c.pmdLeaf(pmd)) return c.pmdPresent(pmd) && (!write || c.pteWrite(pmd));
    const ptep = pteOffsetMapLock(pgt, pmdp, addr);
    if (ptep < 0) return false;
    const pte = ptepGet(pgt, ptep, tmpPte);
    const ok = c.ptePresent(pte) && (!write || c.pteWrite(pte));
    pteUnmapUnlock(pgt, ptep);
    return ok;
  }

  /** mlock / munlock the mapped folios of a range. */
  mlockRange(_vma: VmAreaStruct, _start: number, _end: number, _lock: boolean): void {
    // PG_mlocked is set by the rmap when a folio is mapped whole into a VM_LOCKED VMA
  }

  /**
   * Install `kind` markers on the empty entries of `[start, end)`.
   * @returns 0, or 1 when a populated entry was met (guard: the caller zaps and retries).
   */
  installMarkers(vma: VmAreaStruct, start: number, end: number, kind: 'guard' | 'uffd-wp'): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const c = this.pt.codec;
    const marker = kind === 'guard' ? PTE_MARKER_GUARD : PTE_MARKER_UFFD_WP;
    for (let a = start; a < end; ) {
      const pmdp = pmdAllocWalk(pgt, a);
      if (pmdp < 0) return -ENOMEM_;
      if (pmdIsLeaf(pgt, pmdp)) {
        if (kind === 'guard') return 1;
        this.splitHugePmd(vma, a);
      }
      if (pteAlloc(pgt, pmdp) < 0) return -ENOMEM_;
      const tblEnd = Math.min(end, a - (a % this.pmdSize) + this.pmdSize);
      const ptep = pteOffsetMapLock(pgt, pmdp, a);
      if (ptep < 0) continue;
      for (let x = a; x < tblEnd; x += this.pageSize) {
        const p = ptep + (x - a) / this.pageSize;
        const v = ptepGet(pgt, p, tmpPte);
        if (c.pteNone(v)) {
          this.pt.swap.makePteMarker(tmpPte2, marker);
          setPteAt(pgt, x, p, tmpPte2);
        } else if (kind === 'guard') {
          this.pt.entries.decodePte(v, tmpView);
          if (!(tmpView.kind === LEAF_KIND.MARKER && (tmpView.marker & PTE_MARKER_GUARD) !== 0)) {
            pteUnmapUnlock(pgt, ptep);
            return 1;
          }
        } else if (c.ptePresent(v)) {
          tmpPte2.set(v);
          c.pteWrprotect(tmpPte2);
          c.pteMkuffdWp(tmpPte2);
          setPteAt(pgt, x, p, tmpPte2);
          this.machine.mmu.flushTlbPage(pgt.as, x);
        }
      }
      pteUnmapUnlock(pgt, ptep);
      a = tblEnd;
    }
    return 0;
  }

  /** Clear `kind` markers from `[start, end)`. @returns 0. */
  removeMarkers(vma: VmAreaStruct, start: number, end: number, kind: 'guard' | 'uffd-wp'): number {
    const pgt = vma.vmMm.pgt as MmPgtables;
    const marker = kind === 'guard' ? PTE_MARKER_GUARD : PTE_MARKER_UFFD_WP;
    for (let a = start; a < end; ) {
      const tblEnd = Math.min(end, a - (a % this.pmdSize) + this.pmdSize);
      const pmdp = this.pt.lookup(pgt, PMD_LEVEL, a);
      if (pmdp >= 0 && !pmdIsLeaf(pgt, pmdp)) {
        const ptep = pteOffsetMapLock(pgt, pmdp, a);
        if (ptep >= 0) {
          for (let x = a; x < tblEnd; x += this.pageSize) {
            const p = ptep + (x - a) / this.pageSize;
            const v = ptepGet(pgt, p, tmpPte);
            if (this.pt.codec.pteNone(v) || this.pt.codec.ptePresent(v)) continue;
            this.pt.entries.decodePte(v, tmpView);
            if (tmpView.kind === LEAF_KIND.MARKER && (tmpView.marker & marker) !== 0) {
              tmpPte2.setWords(0, 0);
              setPteAt(pgt, x, p, tmpPte2);
            }
          }
          pteUnmapUnlock(pgt, ptep);
        }
      }
      a = tblEnd;
    }
    return 0;
  }

  /** RSS of `mm` in pages: file + anon + shmem. @kernel get_mm_rss (include/linux/mm.h) */
  rss(mm: MmStruct): number {
    return mm.rssStat[MM_FILEPAGES]! + mm.rssStat[MM_ANONPAGES]! + mm.rssStat[MM_SHMEMPAGES]!;
  }

  /** The folio pages of a folio (re-exported helper). */
  folioPages(folio: number): number {
    return folioNrPages(this.rm, folio);
  }

  /** Swap entries counted in `mm` (always 0 until swap lands). */
  swapents(mm: MmStruct): number {
    return mm.rssStat[MM_SWAPENTS]!;
  }
}

/** The -errno a swap seam returns until swap exists (-EAGAIN, named for readers). */
export const EAGAIN_NEEDS_SWAP = 11;
const ENOMEM_ = 12;
/** Internal: the faulting entry was a uffd-wp marker (`vmf_orig_pte_uffd_wp()`). */
const FAULT_ORIG_PTE_UFFD_WP = 0x40000000;
const EEXIST_ = 17;

const mmObj = new WeakMap<MmStruct, number>();
const lastVma = new WeakMap<MmStruct, VmAreaStruct>();

/** Where a sleeping fault resumes. */
interface SleepingFault {
  mm: MmStruct;
  addr: number;
  /** FAULT_FLAG_*. */
  flags: number;
  /** FS_*. */
  stage: number;
  /** The stage after a folio wait. */
  next: number;
  /** The folio waited for. */
  folio: number;
  /** Woken in `__folio_lock()`: the handle_mm_fault() that slept goes on. */
  resumed: boolean;
}
/** Try the per-VMA lock. */
const FS_START = 0;
/** Take the mmap read lock (may sleep). */
const FS_LOCK_MMAP = 1;
/** Holding the mmap read lock: find the VMA and handle the fault. */
const FS_MMAP_LOCKED = 2;
/** No lock held: wait for the folio's unlock, then `next`. */
const FS_WAIT_FOLIO = 3;
/** Holding the mmap read lock: wait for the folio's unlock (__folio_lock). */
const FS_FOLIO_LOCK = 4;
const tmpPte = new PteVal();
const tmpPte2 = new PteVal();
const tmpPte3 = new PteVal();
const tmpPmd = new PteVal();
const tmpView = new PteView();
void MMU_EXEC;
void MMU_USER;
void MMU_WRITE;

function bootMachine(options: KernelOptions): Machine {
  const m = options.machine;
  if (m !== undefined && 'mmu' in m) return m as Machine;
  const cfg: MachineConfig = {
    ...((m as MachineConfig | undefined) ?? {}),
    ...(options.arch === undefined ? {} : { arch: options.arch }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  };
  return createMachine(cfg);
}

function kmemAlloc(c: KmemCache): number {
  return kmemCacheAllocFn(c);
}
function kmemFree(c: KmemCache, obj: number): void {
  kmemCacheFreeFn(c, obj);
}

import { kmemCacheAlloc as kmemCacheAllocRaw, kmemCacheFree as kmemCacheFreeRaw } from '@mm/slab-sheaves';

function kmemCacheAllocFn(c: KmemCache): number {
  return kmemCacheAllocRaw(c, GFP_KERNEL);
}
function kmemCacheFreeFn(c: KmemCache, obj: number): void {
  kmemCacheFreeRaw(c, obj);
}

/** Object sizes of a v7.2 x86-64 build. */
const MM_STRUCT_SIZE = 1344;
const TASK_STRUCT_SIZE = 9984;
const FILES_STRUCT_SIZE = 704;

/**
 * The mm caches plus `mm_struct`, `task_struct` and `files_cache`.
 * @kernel proc_caches_init / fork_init (kernel/fork.c)
 */
export function createKernelCaches(machine: Machine): KernelCaches {
  const base = createMmCaches(machine);
  const mmStruct = kmemCacheCreate(base.slab, 'mm_struct', MM_STRUCT_SIZE, {
    flags: SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT,
  });
  const taskStruct = kmemCacheCreate(base.slab, 'task_struct', TASK_STRUCT_SIZE, { flags: SLAB_ACCOUNT });
  const files = kmemCacheCreate(base.slab, 'files_cache', FILES_STRUCT_SIZE, {
    flags: SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT,
  });
  return { ...base, mmStruct, taskStruct, files };
}

/**
 * Boot a composed kernel.
 *
 * ```ts
 * const k = createKernel({ arch: 'x86_64', seed: 1, thp: 'always' });
 * ```
 */
export function createKernel(options: KernelOptions = {}): Kernel {
  return new Kernel(options);
}
