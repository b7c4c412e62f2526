/**
 * DOC: @mm/machine: the simulated machine every mm subsystem runs on.
 * @packageDocumentation
 */

export { bitSpinIsLocked, bitSpinLock, bitSpinTrylock, bitSpinUnlock } from './bit-spinlock.js';
export { Clock, ClockEvent, NSEC_PER_MSEC, NSEC_PER_SEC, NSEC_PER_USEC } from './clock.js';
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
export { CostAccount } from './cost-account.js';
export {
  BLOCK_SOFTIRQ,
  Cpus,
  HARDIRQ_MASK,
  HARDIRQ_OFFSET,
  HI_SOFTIRQ,
  HRTIMER_SOFTIRQ,
  IRQ_POLL_SOFTIRQ,
  MAX_SOFTIRQ_RESTART,
  NET_RX_SOFTIRQ,
  NET_TX_SOFTIRQ,
  NMI_MASK,
  NMI_OFFSET,
  NR_SOFTIRQS,
  PREEMPT_MASK,
  PREEMPT_OFFSET,
  RCU_SOFTIRQ,
  SCHED_SOFTIRQ,
  SOFTIRQ_DISABLE_OFFSET,
  SOFTIRQ_MASK,
  SOFTIRQ_OFFSET,
  type SoftirqHandler,
  TASKLET_SOFTIRQ,
  TIMER_SOFTIRQ,
} from './cpu.js';
export {
  bugOn,
  ConfigError,
  EAGAIN,
  EBUSY,
  EDEADLK,
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
  ENXIO,
  EOPNOTSUPP,
  EPERM,
  ERANGE,
  errnoName,
  MmBugError,
  MmError,
} from './errors.js';
export { cpuListString, formatTopology } from './format.js';
export { type CpuhpCallback, type CpuhpSection, Hotplug } from './hotplug.js';
export {
  LOCAL_LOCK_FAILED,
  LocalLock,
  LocalTryLock,
  localLock,
  localLockIrq,
  localLockIrqsave,
  localtryLock,
  localtryLockIrq,
  localtryLockIrqsave,
  localtryTrylock,
  localtryTrylockIrqsave,
  localtryUnlock,
  localtryUnlockIrq,
  localtryUnlockIrqrestore,
  localUnlock,
  localUnlockIrq,
  localUnlockIrqrestore,
} from './local-lock.js';
export {
  HELD_READ,
  HELD_TRYLOCK,
  HeldLocks,
  LOCK_ENABLED_HARDIRQ,
  LOCK_ENABLED_SOFTIRQ,
  LOCK_KIND,
  LOCK_USED_IN_HARDIRQ,
  LOCK_USED_IN_SOFTIRQ,
  type LockClassStats,
  Lockdep,
  LockdepError,
  type LockdepKind,
  LockdepMap,
  type LockKind,
  MAX_LOCK_DEPTH,
  mightSleep,
} from './lockdep.js';
export { createMachine, Machine, type MachineWarning } from './machine.js';
export { Mutex, mutexIsLocked, mutexLock, mutexTrylock, mutexUnlock } from './mutex.js';
export {
  PerCpu,
  PercpuCounter,
  percpuCounterAdd,
  percpuCounterAddBatch,
  percpuCounterBatch,
  percpuCounterCompare,
  percpuCounterDestroy,
  percpuCounterRead,
  percpuCounterReadPositive,
  percpuCounterSum,
} from './percpu.js';
export { fnv1a32, Prng, PrngStreams } from './prng.js';
export { Rcu, RcuStallError, type RcuStats } from './rcu.js';
export {
  downgradeWrite,
  downRead,
  downReadTrylock,
  downWrite,
  downWriteTrylock,
  RwSemaphore,
  rwsemIsLocked,
  upRead,
  upWrite,
} from './rwsem.js';
export {
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_MIN_STEP_NS,
  SCHED_SLEEP,
  Sched,
  TASK_DEAD,
  TASK_INTERRUPTIBLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  Task,
  type TaskFn,
  TaskQueue,
} from './sched.js';
export {
  readSeqbegin,
  readSeqcountBegin,
  readSeqcountRetry,
  readSeqretry,
  SeqCount,
  SeqLock,
  writeSeqcountBegin,
  writeSeqcountEnd,
  writeSeqlock,
  writeSequnlock,
} from './seqcount.js';
export { onEachCpu, SmpStats, smpCallFunctionMany, smpCallFunctionSingle } from './smp.js';
export {
  SPIN_WOULD_SLEEP,
  SpinLock,
  spinIsLocked,
  spinLock,
  spinLockBh,
  spinLockIrq,
  spinLockIrqsave,
  spinLockNested,
  spinTrylock,
  spinUnlock,
  spinUnlockBh,
  spinUnlockIrq,
  spinUnlockIrqrestore,
} from './spinlock.js';
export { TimerList, Timers } from './timer.js';
export { Topology } from './topology.js';
export {
  Completion,
  complete,
  completeAll,
  prepareToWait,
  tryWaitForCompletion,
  WaitQueueHead,
  waitEvent,
  waitForCompletion,
  waitqueueActive,
  wakeUp,
  wakeUpAll,
} from './wait.js';
export { DelayedWork, Workqueue, Workqueues, WorkStruct } from './workqueue.js';
