/**
 * DOC: @mm/machine: the simulated machine every mm subsystem runs on.
 * @packageDocumentation
 */

export { AddressSpace } from './address-space.js';
export {
  ARCH_PAGE_SIZES,
  ARCHES,
  type ArchName,
  DEFAULT_TLB,
  LOCAL_DISTANCE,
  MAX_NUMNODES,
  type MachineConfig,
  type NodeConfig,
  NR_CPUS_MAX,
  PRESETS,
  type PresetName,
  REMOTE_DISTANCE,
  type ResolvedMachineConfig,
  resolveConfig,
  sectionSizeBits,
  type TlbGeometry,
} from './config.js';
export { type CostEvent, type CostTable, DEFAULT_COSTS } from './cost.js';
export {
  bugOn,
  ConfigError,
  EAGAIN,
  EBUSY,
  EEXIST,
  EFAULT,
  EHWPOISON,
  EINTR,
  EINVAL,
  EIO,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  ERANGE,
  errnoName,
  MmBugError,
  MmError,
} from './errors.js';
export { cpuListString, formatTopology } from './format.js';
export { createMachine, Machine, type MachineWarning } from './machine.js';
export {
  type FaultHandler,
  type HardwareWalker,
  MMU_EXEC,
  MMU_MAX_FAULT_RETRIES,
  MMU_READ,
  MMU_USER,
  MMU_WRITE,
  Mmu,
  MmuError,
  type TlbStats,
  WALK_NOT_PRESENT,
  WALK_OK,
  WALK_PROT,
  WalkResult,
  X86_PF_INSTR,
  X86_PF_PROT,
  X86_PF_USER,
  X86_PF_WRITE,
} from './mmu.js';
export { fnv1a32, Prng, PrngStreams } from './prng.js';
export { TLB_DIRTY, TLB_FLAGS_MASK, TLB_GLOBAL, TLB_NX, TLB_USER, TLB_WRITE, TlbArray } from './tlb.js';
export {
  broadcastTlbFlush,
  FlushTlbInfo,
  flushTlbFunc,
  nativeFlushTlbMulti,
  TLB_FLUSH_ALL,
  TLB_GENERATION_INVALID,
  TlbBatch,
} from './tlbflush.js';
export { Topology } from './topology.js';
