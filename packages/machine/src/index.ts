/**
 * DOC: @mm/machine: the simulated machine every mm subsystem runs on.
 * @packageDocumentation
 */
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
export { fnv1a32, Prng, PrngStreams } from './prng.js';
export { Topology } from './topology.js';
