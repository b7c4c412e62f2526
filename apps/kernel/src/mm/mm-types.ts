/**
 * DOC: `struct vm_area_struct` and `struct mm_struct`, and the mmap lock.
 *
 * A VMA is an object (there are thousands, not millions) whose
 * `vm_area_struct` is also a slab object of the `vm_area_struct` cache, so
 * slab statistics and failslab see it. The fields are the kernel's, in
 * camelCase. The anon_vma, NUMA policy and userfaultfd context are opaque
 * identities here, compared as mm/vma.c compares the pointers; the
 * subsystems that own them (rmap, mempolicy, userfaultfd) plug in through
 * the seams of mm-context.ts.
 *
 * `mm_struct` keeps the VMA tree (`mm_mt`, a maple tree with MM_MT_FLAGS),
 * the VM counters of /proc/PID/status, the layout fields of
 * /proc/PID/stat, the mmap lock (a machine rw-semaphore with its sequence
 * count `mm_lock_seq`, against which per-VMA write locks are taken) and,
 * until tasks exist, the resource limits and capabilities of the process
 * using it (the kernel reads them from `current`).
 */
import { RwSemaphore } from '@mm/machine';
import { MM_MT_FLAGS, type Mtree, mtreeInit } from '@mm/maple-tree';
import type { MmPgtables, PteVal } from '@mm/pgtable-arch';
import type { AnonVma, AnonVmaChain } from './anon-vma.js';
import type { File } from './file.js';
import type { MmContext } from './mm-context.js';

/** `UINT_MAX`: the lock sequence of a VMA never write-locked. */
export const VMA_LOCK_SEQ_NONE = 0xffffffff;

/**
 * The hooks a driver or filesystem gives its VMAs. A VMA with `vmOps` null
 * is anonymous.
 * @kernel struct vm_operations_struct (include/linux/mm.h)
 */
export interface VmOperationsStruct {
  /** Shown in /proc/PID/maps ("[vdso]"). */
  readonly name?: (vma: VmAreaStruct) => string | null;
  /** Called when a VMA is split, remapped or forked. */
  readonly open?: (vma: VmAreaStruct) => void;
  /** Called when a VMA is removed; a VMA with `close` is never removed by a merge. */
  readonly close?: (vma: VmAreaStruct) => void;
  /** May refuse a split at `addr` with a negative errno. */
  readonly maySplit?: (vma: VmAreaStruct, addr: number) => number;
  /** Called on the new VMA after mremap moved it; a negative errno undoes the move. */
  readonly mremap?: (vma: VmAreaStruct) => number;
  /** Called by mprotect before the change; a negative errno stops it. */
  readonly mprotect?: (vma: VmAreaStruct, start: number, end: number, newflags: number) => number;
  /** Present when the backing store wants write notification (`page_mkwrite`). */
  readonly pageMkwrite?: true;
  /** Present on file systems with a `->fault` (part of the fault path; seam for later). */
  readonly fault?: true;
}

/**
 * What `vma_init()` points a new VMA's `vm_ops` at, so it is not anonymous
 * until `vma_set_anonymous()`.
 * @kernel vma_dummy_vm_ops (mm/init-mm.c)
 */
export const VMA_DUMMY_VM_OPS: VmOperationsStruct = Object.freeze({});

/**
 * A user-given name of an anonymous range (prctl PR_SET_VMA_ANON_NAME);
 * names compare by content.
 * @kernel struct anon_vma_name (include/linux/mm_types.h)
 */
export interface AnonVmaName {
  /** The name as given by the user; mirrors `anon_vma_name::name`. */
  readonly name: string;
}

/**
 * A NUMA memory policy as far as VMAs go: compared by mode, flags and nodes.
 * @kernel struct mempolicy (include/linux/mempolicy.h)
 */
export interface MemPolicy {
  /** The policy mode (MPOL_DEFAULT, MPOL_BIND, ...); mirrors `mempolicy::mode`. */
  readonly mode: number;
  /** Mode flags (MPOL_F_*); mirrors `mempolicy::flags`. */
  readonly flags: number;
  /** The node ids the policy names; mirrors the `mempolicy::nodes` nodemask. */
  readonly nodes: readonly number[];
}

/**
 * A userfaultfd context: an identity.
 * @kernel struct userfaultfd_ctx (fs/userfaultfd.c)
 */
export interface UserfaultfdCtx {
  /** Identity of the context: two VMAs share a context when their ids are equal. */
  readonly id: number;
  /** UFFD_FEATURE_WP_UNPOPULATED: write-protect empty entries with uffd-wp markers. */
  readonly wpUnpopulated?: boolean;
}

/** One VMA: a contiguous range of an address space with one set of flags, file and offset. @kernel struct vm_area_struct (include/linux/mm_types.h) */
export class VmAreaStruct {
  /** First byte address of the VMA (page-aligned); mirrors `vm_area_struct::vm_start`. */
  vmStart: number;
  /** First byte address past the VMA (exclusive, page-aligned); mirrors `vm_area_struct::vm_end`. */
  vmEnd: number;
  /** The address space this VMA belongs to; mirrors `vm_area_struct::vm_mm`. */
  vmMm: MmStruct;
  /** The protection_map[] index of `vm_flags` (the PTE bits come from the architecture). */
  vmPageProt: number;
  /** VM_* flag bits (VM_READ, VM_SHARED, VM_LOCKED, ...); mirrors `vm_area_struct::vm_flags`. */
  vmFlags: number;
  /** The `mm_lock_seq` of the mmap write lock that write-locked this VMA. */
  vmLockSeq: number;
  /** The anon_vma_chain list: one link per anon_vma this VMA's pages may be in. */
  anonVmaChain: AnonVmaChain[];
  /** The anon_vma new anonymous pages of this VMA go to, or null before the first anonymous fault; mirrors `vm_area_struct::anon_vma`. */
  anonVma: AnonVma | null;
  /** The mapping's operations; null for anonymous memory; mirrors `vm_area_struct::vm_ops`. */
  vmOps: VmOperationsStruct | null;
  /** File offset in pages; for private anonymous memory, `vm_start >> PAGE_SHIFT` when created. */
  vmPgoff: number;
  /** The file mapped, or null for anonymous memory; mirrors `vm_area_struct::vm_file`. */
  vmFile: File | null;
  /** Opaque data owned by `vm_ops` (a special mapping's descriptor, for one); mirrors `vm_area_struct::vm_private_data`. */
  vmPrivateData: unknown;
  /** The VMA's NUMA policy, or null for the task default; mirrors `vm_area_struct::vm_policy`. */
  vmPolicy: MemPolicy | null;
  /** 0 detached, 1 attached (readers add 1; a writer adds VMA_LOCK_OFFSET). */
  vmRefcnt: number;
  /** The userfaultfd this range is registered with, or null; mirrors `vm_area_struct::vm_userfaultfd_ctx`. */
  vmUserfaultfdCtx: UserfaultfdCtx | null;
  /** The user-given name of an anonymous range, or null; mirrors `vm_area_struct::anon_name`. */
  anonName: AnonVmaName | null;
  /** The `vm_area_struct` slab object. */
  obj: number;
  /** `shared.rb`: the node in the file's rmap i_mmap tree (-1 when not linked; the rmap owns it). */
  sharedRb: number;

  /** A VMA of `mm` with no range or flags yet, in slab object `obj`. @kernel vma_init (include/linux/mm.h) */
  constructor(mm: MmStruct, obj: number) {
    this.vmStart = 0;
    this.vmEnd = 0;
    this.vmMm = mm;
    this.vmPageProt = 0;
    this.vmFlags = 0;
    this.vmLockSeq = VMA_LOCK_SEQ_NONE;
    this.anonVmaChain = [];
    this.anonVma = null;
    this.vmOps = VMA_DUMMY_VM_OPS;
    this.vmPgoff = 0;
    this.vmFile = null;
    this.vmPrivateData = null;
    this.vmPolicy = null;
    this.vmRefcnt = 0;
    this.vmUserfaultfdCtx = null;
    this.anonName = null;
    this.obj = obj;
    this.sharedRb = -1;
  }

  // The page-table layer's view of a VMA (`@mm/pgtable-arch`'s PgtableVma,
  // CopyVma, ProtVma, MoveVma): read straight from the fields above.

  /** `vm_start`, for the page-table layer. */
  get start(): number {
    return this.vmStart;
  }
  /** `vm_end`, for the page-table layer. */
  get end(): number {
    return this.vmEnd;
  }
  /** The VMA has no vm_ops, so it maps anonymous memory (`vma_is_anonymous()`). */
  get anonymous(): boolean {
    return this.vmOps === null;
  }
  /** The mm's page tables (set by the composed kernel). */
  get mm(): MmPgtablesRef {
    return this.vmMm.pgt as MmPgtablesRef;
  }
  /** The mapping is shared (VM_SHARED). */
  get shared(): boolean {
    return (this.vmFlags & 0x8) !== 0;
  }
  /** Writes are allowed (VM_WRITE). */
  get write(): boolean {
    return (this.vmFlags & 0x2) !== 0;
  }
  /** mprotect may make the mapping writable (VM_MAYWRITE). */
  get mayWrite(): boolean {
    return (this.vmFlags & 0x20) !== 0;
  }
  /** Instruction fetches are allowed (VM_EXEC). */
  get exec(): boolean {
    return (this.vmFlags & 0x4) !== 0;
  }
  /** VM_PFNMAP | VM_MIXEDMAP. */
  get pfnmap(): boolean {
    return (this.vmFlags & 0x10000400) !== 0;
  }
  /** Registered for userfaultfd write protection (VM_UFFD_WP). */
  get uffdWp(): boolean {
    return (this.vmFlags & 0x1000) !== 0;
  }
  /** `userfaultfd_wp_use_markers()`: uffd-wp registered with UFFD_FEATURE_WP_UNPOPULATED. */
  get uffdWpUseMarkers(): boolean {
    return (this.vmFlags & 0x1000) !== 0 && this.vmUserfaultfdCtx?.wpUnpopulated === true;
  }
  /** VM_COPY_ON_FORK: VM_PFNMAP, VM_MIXEDMAP, VM_UFFD_WP or VM_MAYBE_GUARD. */
  get copyOnFork(): boolean {
    return (this.vmFlags & (0x400 | 0x10000000 | 0x1000 | 0x800)) !== 0;
  }
  /** `vma->anon_vma` is set. */
  get hasAnonVma(): boolean {
    return this.anonVma !== null;
  }
  /** `vm_page_prot` as an entry of the architecture (computed from `vm_flags`). */
  get pageProt(): PteVal {
    return this.vmMm.ctx.pageProtOf(this.vmFlags);
  }
  /** The VMA itself, for page-table callbacks. */
  get owner(): VmAreaStruct {
    return this;
  }
}

/** The page tables of an mm (`@mm/pgtable-arch`'s `MmPgtables`). */
export type MmPgtablesRef = MmPgtables;

/** A resource limit (`struct rlimit`); `Infinity` is RLIM_INFINITY. */
export interface Rlimit {
  /** The soft limit, enforced; mirrors `rlimit::rlim_cur`. */
  cur: number;
  /** The hard limit, the ceiling for `cur`; mirrors `rlimit::rlim_max`. */
  max: number;
}

/** The limits mm/ reads (`current->signal->rlim`). */
export interface MmRlimits {
  /** RLIMIT_AS, bytes. */
  as: Rlimit;
  /** RLIMIT_DATA, bytes. */
  data: Rlimit;
  /** RLIMIT_STACK, bytes. */
  stack: Rlimit;
  /** RLIMIT_MEMLOCK, bytes. */
  memlock: Rlimit;
}

/** The defaults of a login shell on Debian: 8 MiB stack, 8 MiB memlock, no AS or DATA limit. */
export function defaultRlimits(): MmRlimits {
  return {
    as: { cur: Infinity, max: Infinity },
    data: { cur: Infinity, max: Infinity },
    stack: { cur: 8 << 20, max: Infinity },
    memlock: { cur: 8 << 20, max: 8 << 20 },
  };
}

/** `personality()` bits mm/ reads. */
export const READ_IMPLIES_EXEC = 0x0400000;
/** personality() bit `ADDR_COMPAT_LAYOUT`: the legacy bottom-up mmap layout. */
export const ADDR_COMPAT_LAYOUT = 0x0200000;

/** One address space: its VMA tree, page tables, layout, counters and locks. @kernel struct mm_struct (include/linux/mm_types.h) */
export class MmStruct {
  /** The machine-wide mm state (sysctls, caches, page size) this mm lives in. */
  readonly ctx: MmContext;
  /** The VMA tree. */
  readonly mmMt: Mtree;
  /** Number of VMAs in the tree, capped by `sysctl_max_map_count`; mirrors `mm_struct::map_count`. */
  mapCount: number;
  /** Pages mapped (`total_vm`), locked, pinned, and the data/exec/stack split. */
  totalVm: number;
  /** Pages in VM_LOCKED VMAs; mirrors `mm_struct::locked_vm`. */
  lockedVm: number;
  /** Pages pinned long-term (RDMA-style pins), charged against RLIMIT_MEMLOCK; mirrors `mm_struct::pinned_vm`. */
  pinnedVm: number;
  /** Pages in private writable non-stack VMAs (what RLIMIT_DATA limits); mirrors `mm_struct::data_vm`. */
  dataVm: number;
  /** Pages in executable non-writable non-stack VMAs; mirrors `mm_struct::exec_vm`. */
  execVm: number;
  /** Pages in stack VMAs (VM_STACK); mirrors `mm_struct::stack_vm`. */
  stackVm: number;
  /** Peak of `totalVm`, in pages; mirrors `mm_struct::hiwater_vm`. */
  hiwaterVm: number;
  /** Peak resident set size, in pages; mirrors `mm_struct::hiwater_rss`. */
  hiwaterRss: number;
  /** Flags every new VMA gets (`VM_LOCKED` after mlockall(MCL_FUTURE), `VM_NOHUGEPAGE`). */
  defFlags: number;
  /** Where top-down allocation starts (below the stack gap) or bottom-up begins. */
  mmapBase: number;
  /** Base of the legacy bottom-up layout, where x86's bottom-up search starts; mirrors `mm_struct::mmap_legacy_base`. */
  mmapLegacyBase: number;
  /** Size of the user address space in bytes: every VMA ends at or below it; mirrors `mm_struct::task_size`. */
  taskSize: number;
  /** New mappings are placed top-down from `mmapBase` (MMF_TOPDOWN); false for the legacy bottom-up layout. */
  topdown: boolean;
  /** MMF_HAS_MDWE (prctl PR_SET_MDWE): no new writable-and-executable mappings. */
  hasMdwe: boolean;
  /** Start of the executable's text segment; mirrors `mm_struct::start_code`. */
  startCode: number;
  /** End of the text segment; mirrors `mm_struct::end_code`. */
  endCode: number;
  /** Start of the data segment; mirrors `mm_struct::start_data`. */
  startData: number;
  /** End of the data segment; mirrors `mm_struct::end_data`. */
  endData: number;
  /** Where the heap begins (the lowest value `brk` can take); mirrors `mm_struct::start_brk`. */
  startBrk: number;
  /** Current program break, the heap's end; mirrors `mm_struct::brk`. */
  brk: number;
  /** Initial stack pointer of the process; mirrors `mm_struct::start_stack`. */
  startStack: number;
  /** Start of the argv strings on the stack; mirrors `mm_struct::arg_start`. */
  argStart: number;
  /** End of the argv strings; mirrors `mm_struct::arg_end`. */
  argEnd: number;
  /** Start of the environment strings on the stack; mirrors `mm_struct::env_start`. */
  envStart: number;
  /** End of the environment strings; mirrors `mm_struct::env_end`. */
  envEnd: number;
  /** Serialises changes to the VMA tree and layout: taken for writing by mmap, munmap, mprotect and mremap, for reading by faults and walks; mirrors `mm->mmap_lock`. */
  readonly mmapLock: RwSemaphore;
  /** Odd while the mmap lock is write-held; VMA write locks end when it changes. */
  mmLockSeq: number;
  /** The process's resource limits (`current->signal->rlim` until tasks exist). */
  readonly rlim: MmRlimits;
  /** CAP_IPC_LOCK, CAP_SYS_ADMIN and CAP_SYS_RAWIO of the process. */
  capIpcLock: boolean;
  /** CAP_SYS_ADMIN: exempts the process from the admin reserve in overcommit checks. */
  capSysAdmin: boolean;
  /** CAP_SYS_RAWIO: lets a fixed mapping go below `mmap_min_addr`. */
  capSysRawio: boolean;
  /** The process's personality flags (`current->personality`); mm reads ADDR_COMPAT_LAYOUT and READ_IMPLIES_EXEC. */
  personality: number;
  /** The owning process id (for /proc). */
  pid: number;
  /** `mm->mm_id` for the rmap's MM owner tracking (0 until the composed kernel assigns one). */
  mmId: number;
  /** Users of the address space (threads and other holders); the mm is torn down when it drops to 0; mirrors `mm_struct::mm_users`. */
  mmUsers: number;
  /** `mm->flags` the rmap reads (MMF_HAS_PINNED, MMF_UNSTABLE). */
  mmFlags: number;
  /** `rss_stat`: MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES. */
  readonly rssStat: Float64Array;
  /** On `init_mm.mmlist` (swapoff). */
  onMmlist: boolean;
  /** The page tables (`mm->pgd`), null while the VMA layer runs alone. */
  pgt: MmPgtablesRef | null;

  /** An empty address space for process `pid` in `ctx`. @kernel mm_init (kernel/fork.c) */
  constructor(ctx: MmContext, pid = 1) {
    this.ctx = ctx;
    this.mmMt = mtreeInit(MM_MT_FLAGS, { allocator: ctx.nodes, rcu: ctx.nodesRcu });
    this.mapCount = 0;
    this.totalVm = 0;
    this.lockedVm = 0;
    this.pinnedVm = 0;
    this.dataVm = 0;
    this.execVm = 0;
    this.stackVm = 0;
    this.hiwaterVm = 0;
    this.hiwaterRss = 0;
    this.defFlags = 0;
    this.mmapBase = 0;
    this.mmapLegacyBase = 0;
    this.taskSize = ctx.taskSize;
    this.topdown = true;
    this.hasMdwe = false;
    this.startCode = 0;
    this.endCode = 0;
    this.startData = 0;
    this.endData = 0;
    this.startBrk = 0;
    this.brk = 0;
    this.startStack = 0;
    this.argStart = 0;
    this.argEnd = 0;
    this.envStart = 0;
    this.envEnd = 0;
    this.mmapLock = new RwSemaphore(ctx.machine, 'mmap_lock');
    this.mmLockSeq = 0;
    this.rlim = defaultRlimits();
    this.capIpcLock = false;
    this.capSysAdmin = false;
    this.capSysRawio = false;
    this.personality = 0;
    this.pid = pid;
    this.mmId = 0;
    this.mmUsers = 1;
    this.mmFlags = 0;
    this.rssStat = new Float64Array(4);
    this.onMmlist = false;
    this.pgt = null;
  }
}

/** Whether the VMA is anonymous (no `vm_ops`). @kernel vma_is_anonymous (include/linux/mm.h) */
export function vmaIsAnonymous(vma: VmAreaStruct): boolean {
  return vma.vmOps === null;
}

/** Make the VMA anonymous (no vm_ops) @kernel vma_set_anonymous (include/linux/mm.h) */
export function vmaSetAnonymous(vma: VmAreaStruct): void {
  vma.vmOps = null;
}

/** Pages spanned by the VMA. @kernel vma_pages (include/linux/mm.h) */
export function vmaPages(vma: VmAreaStruct): number {
  return (vma.vmEnd - vma.vmStart) / vma.vmMm.ctx.pageSize;
}

/** Set the VMA's [start, end) and page offset. @kernel vma_set_range (mm/internal.h) */
export function vmaSetRange(vma: VmAreaStruct, start: number, end: number, pgoff: number): void {
  vma.vmStart = start;
  vma.vmEnd = end;
  vma.vmPgoff = pgoff;
}

/** Page offset of `addr` inside the VMA's object. @kernel vma_pgoff_offset (mm/vma.h) */
export function vmaPgoffOffset(vma: VmAreaStruct, addr: number): number {
  return vma.vmPgoff + (addr - vma.vmStart) / vma.vmMm.ctx.pageSize;
}

/** Whether the VMA allows any access (VM_READ, VM_WRITE or VM_EXEC) @kernel vma_is_accessible (include/linux/mm.h) */
export function vmaIsAccessible(vma: VmAreaStruct): boolean {
  return (vma.vmFlags & (1 | 2 | 4)) !== 0;
}

/** Mapping-level protections and the VMA's flags are both private-writable-file aware. */
export function vmaIsSharedMaywrite(vma: VmAreaStruct): boolean {
  return (vma.vmFlags & 0x28) === 0x28;
}

// ---------------------------------------------------------------------------
// The mmap lock and per-VMA write locks

/** Whether the mmap lock is write-held (odd sequence). */
export function mmapIsWriteLocked(mm: MmStruct): boolean {
  return (mm.mmLockSeq & 1) === 1;
}

/**
 * Write-lock a VMA for the rest of this mmap write-lock section: page
 * faults under the per-VMA lock on it back off until the mmap lock is
 * released (they compare `vm_lock_seq` with `mm_lock_seq`).
 * @kernel vma_start_write (include/linux/mmap_lock.h)
 */
export function vmaStartWrite(vma: VmAreaStruct): void {
  vma.vmLockSeq = vma.vmMm.mmLockSeq;
}

/** Whether the VMA is write-locked in the current mmap write-lock section. */
export function vmaIsWriteLocked(vma: VmAreaStruct): boolean {
  const mm = vma.vmMm;
  return mmapIsWriteLocked(mm) && vma.vmLockSeq === mm.mmLockSeq;
}

/** Mark the VMA as in the VMA tree, so per-VMA locks may be taken. @kernel vma_mark_attached (include/linux/mmap_lock.h) */
export function vmaMarkAttached(vma: VmAreaStruct): void {
  vma.vmRefcnt = 1;
}

/** Mark the VMA as out of the VMA tree. @kernel vma_mark_detached (include/linux/mmap_lock.h) */
export function vmaMarkDetached(vma: VmAreaStruct): void {
  vma.vmRefcnt = 0;
}
