/**
 * DOC: @mm/pgtable-arch: page-table formats and entry encodings for x86-64,
 * arm64, riscv and more; table pages, generic operations, the hardware
 * walker, lazy MMU mode, mmu_gather, empty PTE-table reclaim, ptdump.
 * @packageDocumentation
 */

export { Arm64Pte } from './arch/arm64-pte.js';
export {
  type ArchDescriptor,
  type GeometrySummary,
  geometrySummary,
  type LazyMmuStyle,
  type LevelGeometry,
  makeLevels,
  nrTableLevels,
  type TlbFlushStyle,
} from './arch/descriptor.js';
export {
  ARCH_DESCRIPTORS,
  type Arm64Options,
  archDescriptor,
  arm64Descriptor,
  defaultDescriptorFor,
  PPC64_HASH_4K,
  PPC64_HASH_64K,
  PPC64_RADIX_4K,
  PPC64_RADIX_64K,
  type RiscvOptions,
  riscvDescriptor,
  SPARC64,
  X86_32,
  X86_64,
  X86_64_LA57,
} from './arch/descriptors.js';
export { GenericPte, type GenericPteOptions } from './arch/generic-pte.js';
export {
  ArchPte,
  LEVEL_NAMES,
  P4D_LEVEL,
  PGD_LEVEL,
  type PgLevel,
  PMD_LEVEL,
  PTE_LEVEL,
  type PteFeatures,
  PUD_LEVEL,
  VM_EXEC,
  VM_NONE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from './arch/pte-ops.js';
export { RiscvPte } from './arch/riscv-pte.js';
export { X86Pte } from './arch/x86-pte.js';
export { type ContpteFolioInfo, contpteConvert } from './contpte.js';
export { Arm64Walker, createWalker, GenericWalker, type PgtableWalker, RiscvWalker, X86Walker } from './hw-walker.js';
export { LazyMmu, LazyMmuError, type LazyMmuStats, XEN_MC_BATCH } from './lazy-mmu.js';
export {
  createPageTables,
  GFP_PGTABLE_USER,
  MmPgtables,
  PageTables,
  type PageTablesOptions,
  PgtableError,
  type PgtableStats,
  type PtReclaimMode,
} from './page-tables.js';
export {
  __pteAlloc,
  __pteOffsetMap,
  __upperAlloc,
  mmFindPmd,
  pmdAllocWalk,
  pmdInstall,
  pmdPopulate,
  pteAlloc,
  pteAllocMapLock,
  pteAllocOne,
  pteFree,
  pteOffsetMap,
  pteOffsetMapLock,
  pteOffsetMapRoNolock,
  pteOffsetMapRwNolock,
  pteUnmap,
  pteUnmapUnlock,
  pudAllocWalk,
  walkAlloc,
} from './pgalloc.js';
export {
  __ptepGet,
  __setPte,
  __setPtes,
  clearFullPtes,
  getAndClearFullPtes,
  modifyProtCommitPtes,
  modifyProtStartPtes,
  pgtableTransHugeDeposit,
  pgtableTransHugeWithdraw,
  pmdpGet,
  pmdpHugeGetAndClear,
  pmdpInvalidate,
  pmdpSetWrprotect,
  pmdpTestAndClearYoung,
  pteAccessible,
  pteClear,
  ptepClearFlush,
  ptepClearFlushYoung,
  ptepGet,
  ptepGetAndClear,
  ptepGetAndClearFull,
  ptepGetLockless,
  ptepModifyProtCommit,
  ptepModifyProtStart,
  ptepSetAccessFlags,
  ptepSetWrprotect,
  ptepTestAndClearYoung,
  pudpGet,
  pudpHugeGetAndClear,
  setPmdAt,
  setPteAt,
  setPtes,
  setPudAt,
  splitHugePmdLocked,
  wrprotectPtes,
} from './pgtable.js';
export { CHUNK_WORDS, PT_FREE, PT_FREEING, PT_LIVE, PTDESC_BYTES, TablePool } from './ptdesc.js';
export { EntryCodec, PteView } from './pte-view.js';
export { type PgProt, PteVal, pteVal, pteValFromHex } from './pteval.js';
export { PtlockPool, SINGLE_DEPTH_NESTING } from './ptlock.js';
export {
  LEAF_KIND,
  LEAF_KIND_NAMES,
  type LeafKind,
  MAX_SWAPFILES,
  MAX_SWAPFILES_SHIFT,
  PTE_MARKER_GUARD,
  PTE_MARKER_MASK,
  PTE_MARKER_POISONED,
  PTE_MARKER_UFFD_WP,
  SWAP_TYPES,
  Swapops,
  type SwapTypeConfig,
  SwapTypes,
  SwpEntry,
} from './swapops.js';
export { type PtValidateOptions, ptValidate } from './validate.js';
