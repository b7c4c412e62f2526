/**
 * DOC: @mm/kernel: the composed kernel model and the mmsim CLI.
 *
 * Address spaces: an `MmContext` holds a kernel's mm globals (sysctls,
 * overcommit accounting, slab caches, the page-table and anon_vma seams);
 * an `MmStruct` is one address space. The system calls (`sysMmap`,
 * `vmMunmap`, `sysMprotect`, `sysMremap`, `sysBrk`, `sysMadvise`,
 * `sysMlock`, ...) return the kernel's results and errnos; the VMA layer
 * below them (mm/vma.c) is exported for kernel-style scripting.
 * @packageDocumentation
 */

export { type DemoOptions, type DemoSection, formatSections, runDemo } from './demo.js';
export { makeDeviceExclusive, pinUserPage, uffdRegisterWp, uffdWriteprotect, unpinUserPage } from './kernel/extras.js';
export {
  doFallocate,
  doFtruncate,
  EFBIG,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  fileFolioMkclean,
  fileFolioReferenced,
  fileTryToUnmap,
  rmapWalkVmas,
  unmapMappingPages,
  unmapMappingRange,
} from './kernel/file-rmap.js';
export { dupMmap, exitMmap } from './kernel/fork.js';
export {
  HUGE_ZERO_UNSET_PFN,
  isHugeZeroPfn,
  MMF_HUGE_ZERO_FOLIO,
  mmGetHugeZeroFolio,
  mmPutHugeZeroFolio,
  VM_FAULT_FALLBACK,
} from './kernel/huge-memory.js';
export {
  createKernel,
  createKernelCaches,
  EAGAIN_NEEDS_SWAP,
  FAULT_FLAG_ALLOW_RETRY,
  FAULT_FLAG_DEFAULT,
  FAULT_FLAG_INSTRUCTION,
  FAULT_FLAG_INTERRUPTIBLE,
  FAULT_FLAG_KILLABLE,
  FAULT_FLAG_TRIED,
  FAULT_FLAG_UNSHARE,
  FAULT_FLAG_USER,
  FAULT_FLAG_VMA_LOCK,
  FAULT_FLAG_WRITE,
  FAULT_SLEPT,
  KERNEL_VM_EVENTS,
  Kernel,
  type KernelCaches,
  type KernelOptions,
  type MemFault,
  MODEL_FAULT_EVENTS,
  type MthpEnabled,
  type ThpEnabled,
  VM_FAULT_NEEDS_SWAP,
  VM_FAULT_NOPAGE,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_FAULT_UFFD_WP,
} from './kernel/kernel.js';
export { PageCache, type PageCacheHost, PageCacheMapping } from './kernel/page-cache.js';
export { PfnSet } from './kernel/pfn-set.js';
export {
  KPF,
  PM_FILE,
  PM_GUARD_REGION,
  PM_MMAP_EXCLUSIVE,
  PM_PRESENT,
  PM_SOFT_DIRTY,
  PM_SWAP,
  PM_UFFD_WP,
  procKpagecount,
  procKpageflags,
  procMeminfo,
  procPidPagemap,
  procPidSmaps,
  procPidSmapsRollup,
  procPidStatus,
  procPidStatusMem,
  procVmstat,
  SmapsStats,
  smapGatherStats,
  thpSysfsRead,
  thpSysfsWrite,
  vmFlagsLine,
} from './kernel/procfs.js';
export { ArchPageTableOps, KernelGather, mmCounter } from './kernel/pt-ops.js';
export { RmapAnonVmaOps, rmapVma } from './kernel/rmap-anon-vma.js';
export { ArchRmapView } from './kernel/rmap-view.js';
export {
  SHMEM_ENABLED_VALUES,
  SHMEM_MTHP_VALUES,
  type ShmemEnabled,
  type ShmemMthpEnabled,
  shmemAllowsPmdOrder,
  type TmpfsHuge,
} from './kernel/shmem-huge.js';
export {
  CLONE_FILES,
  CLONE_THREAD,
  CLONE_VM,
  type SpawnOptions,
  spawn,
  Task,
  TaskError,
  type TaskState,
  TaskTable,
  type WaitResult,
} from './kernel/task.js';
export {
  type BrkOp,
  type ExitOp,
  type FolioOp,
  type ForkOp,
  type MadviseOp,
  type MmapOp,
  type MprotectOp,
  type MremapOp,
  type MunmapOp,
  type PlainOp,
  type ProgramRun,
  type PwriteOp,
  programRuns,
  type ReadOp,
  type RunOptions,
  runProgram,
  runTasks,
  selectTaskCpu,
  type TaskOp,
  type ThreadOp,
  type VmaStartWriteOp,
  type WriteOp,
} from './kernel/task-program.js';
export { validateKernel } from './kernel/validate.js';
export { SlabMapleNodeAllocator } from './maple-node-alloc.js';
export {
  type AnonVma,
  type AnonVmaChain,
  type AnonVmaOps,
  ChainAnonVma,
  ChainAnonVmaOps,
  VMA_OP_FORK,
  VMA_OP_MERGE_UNFAULTED,
  VMA_OP_REMAP,
  VMA_OP_SPLIT,
  vmaIsForkChild,
} from './mm/anon-vma.js';
export {
  AddressSpace,
  createTmpfsFile,
  File,
  type FileOperations,
  FMODE_EXEC,
  FMODE_READ,
  FMODE_WRITE,
  fput,
  getFile,
  Inode,
  type InodeNumbers,
  iMmapVmas,
  S_APPEND,
  S_SWAPFILE,
} from './mm/file.js';
export { __mmPopulate, mmPopulate } from './mm/gup.js';
export { __MADV_SET_ANON_VMA_NAME, MAX_MADVISE_GUARD_RETRIES, madviseSetAnonName, sysMadvise } from './mm/madvise.js';
export { mlockFixup, sysMlock, sysMlock2, sysMlockall, sysMunlock, sysMunlockall } from './mm/mlock.js';
export { createMmContext, DEFAULT_MAX_MAP_COUNT, MmContext, type MmContextOptions } from './mm/mm-context.js';
export {
  ADDR_COMPAT_LAYOUT,
  type AnonVmaName,
  defaultRlimits,
  type MemPolicy,
  type MmRlimits,
  MmStruct,
  mmapIsWriteLocked,
  READ_IMPLIES_EXEC,
  type Rlimit,
  type UserfaultfdCtx,
  VMA_DUMMY_VM_OPS,
  VmAreaStruct,
  type VmOperationsStruct,
  vmaIsAnonymous,
  vmaPages,
  vmaStartWrite,
} from './mm/mm-types.js';
export * from './mm/mman.js';
export {
  type DoMmapResult,
  doMmap,
  expandDownwards,
  findExtendVmaLocked,
  sysBrk,
  sysMmap,
  vmMmapPgoff,
} from './mm/mmap.js';
export { archPickMmapLayout, type ExecLayout, type ExecLayoutOptions, setupExecLayout } from './mm/mmap-layout.js';
export {
  mmapLockContended,
  mmapLockDropGrant,
  mmapLockGranted,
  mmapLockWait,
  mmapReadLock,
  mmapReadLockTask,
  mmapReadUnlock,
  mmapWriteDowngrade,
  mmapWriteLock,
  mmapWriteLockTask,
  mmapWriteUnlock,
} from './mm/mmap-lock.js';
export { doBrkFlags, insertVmStruct, mmapRegion, vmaSupportsMlock } from './mm/mmap-region.js';
export { mapDenyWriteExec, mprotectFixup, sysMprotect } from './mm/mprotect.js';
export {
  MREMAP_EXPAND,
  MREMAP_INVALID,
  MREMAP_NO_RESIZE,
  MREMAP_SHRINK,
  movePageTables,
  pagetableMove,
  sysMremap,
  VmaRemapStruct,
} from './mm/mremap.js';
export { __vmEnoughMemory, securityVmEnoughMemoryMm, vmCommitLimit } from './mm/overcommit.js';
export {
  MM_CP_PROT_NUMA,
  MM_CP_TRY_CHANGE_WRITABLE,
  MM_CP_UFFD_WP,
  MM_CP_UFFD_WP_RESOLVE,
  type MmuGather,
  type PageTableCall,
  type PageTableOps,
  type PagetableMoveControl,
  RecordingPageTableOps,
  ZAP_FLAG_DROP_MARKER,
  ZAP_FLAG_UNMAP,
} from './mm/pgtable-ops.js';
export {
  installSpecialMapping,
  mapVdso,
  VDSO_MAPPING,
  VDSO_VVAR_MAPPING,
  type VmSpecialMapping,
  VVAR_VCLOCK_MAPPING,
} from './mm/special-mapping.js';
export { getVmaName, procPidMaps, showMapVma } from './mm/task-mmu.js';
export {
  __getUnmappedArea,
  getUnmappedArea,
  unmappedArea,
  unmappedAreaInfo,
  unmappedAreaTopdown,
  VM_UNMAPPED_AREA_TOPDOWN,
  type VmUnmappedAreaInfo,
  vmEndGap,
  vmStartGap,
} from './mm/unmapped-area.js';
export * from './mm/vm-flags.js';
export { mayExpandVm, mlockFutureOk, vmStatAccount } from './mm/vm-stat.js';
export {
  __splitVma,
  anonVmaNameEq,
  type CopyVmaResult,
  canVmaMergeAfter,
  canVmaMergeBefore,
  copyVma,
  findMergeableAnonVma,
  findVma,
  findVmaIntersection,
  findVmaPrev,
  isMergeableAnonVma,
  mpolEqual,
  removeVma,
  splitVma,
  VMA_MERGE_ERROR_NOMEM,
  VMA_MERGE_NOMERGE,
  VMA_MERGE_START,
  VMA_MERGE_SUCCESS,
  VmaMergeStruct,
  validateMm,
  vmaExpand,
  vmaLink,
  vmaList,
  vmaLookup,
  vmaMergeExistingRange,
  vmaMergeExtend,
  vmaMergeNewRange,
  vmaModifyFlags,
  vmaModifyFlagsUffd,
  vmaModifyName,
  vmaModifyPolicy,
  vmaSetPageProt,
  vmaShrink,
  vmaWantsWritenotify,
  vmGetPageProt,
  vmgVmaState,
} from './mm/vma.js';
export { vmAreaAlloc, vmAreaDup, vmAreaFree } from './mm/vma-init.js';
export { VmaIterator, vmaFind, vmaNext, vmaPrev } from './mm/vma-iter.js';
export { doMunmap, doVmiAlignMunmap, doVmiMunmap, VmaMunmapStruct, vmaIsSealed, vmMunmap } from './mm/vma-munmap.js';
export { type CliCommand, main, parseArgs, USAGE } from './mmsim.js';
export { createMmCaches, type MmCaches } from './slab-caches.js';
