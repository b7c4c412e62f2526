/**
 * DOC: the MMU access path: per-CPU TLBs, the hardware walker, page faults,
 * context switches and ASIDs.
 *
 * `access(cpu, as, vaddr, kind)` is what a load, store or instruction fetch
 * does in hardware: look the page up in the CPU's TLBs (4K, 2M and 1G entries,
 * tagged with the address space's ASID, global entries matching any ASID);
 * on a miss, or when the cached entry does not allow the access (a write
 * through an entry whose dirty bit is clear goes back to the walker, as an
 * x86 core does to set D), ask the registered {@link HardwareWalker} (the
 * page-table format lives in `@mm/pgtable-arch`); fill the TLB from its
 * answer; on a fault enter the registered {@link FaultHandler} (the kernel's
 * `handle_mm_fault`) and retry. It returns the PFN of the base page or a
 * negative errno, and allocates nothing.
 *
 * ASIDs follow the architecture. On x86-64 (with at least 4 ASID bits) each
 * CPU keeps PCIDs for the last six address spaces it ran (`choose_new_asid`,
 * `TLB_NR_DYN_ASIDS`), handed out round-robin, and an address space with a
 * global ASID (INVLPGB) uses the same PCID everywhere. Elsewhere ASIDs come
 * from one machine-wide allocator with generations, the arm64 scheme
 * (`arch/arm64/mm/context.c`): when the space runs out the generation is
 * bumped, the ASIDs active on CPUs stay reserved, and every CPU flushes its
 * TLB at its next switch. The flush protocol (`tlbflush.ts`) is x86's: a
 * flush bumps the address space's `tlb_gen`; CPUs that miss a flush catch up
 * at their next switch (per PCID slot on x86).
 *
 * Every event is charged in virtual ns to the CPU that caused it through one
 * function, {@link Mmu.charge}, into the machine's busy-time accounting
 * (`machine.account`) and the MMU's own share (`stats().busyNs`).
 */

import type { TlbGeometry } from '../config.js';
import type { CostAccount } from '../cost-account.js';
import { ConfigError, EFAULT, MmBugError, MmError } from '../errors.js';
import type { Hotplug } from '../sched/hotplug.js';
import type { SmpStats } from '../sched/smp.js';
import type { MachineCore } from '../types.js';
import { AddressSpace } from './address-space.js';
import { localTlbGen, newContext, switchMmDynamic, TLB_NR_DYN_ASIDS, tagOn } from './asid.js';
import { TLB_DIRTY, TLB_FLAGS_MASK, TLB_NX, TLB_USER, TLB_WRITE, TlbArray } from './tlb.js';
import {
  archTlbbatchAddPending,
  archTlbbatchFlush,
  archTlbbatchShouldDefer,
  FlushTlbInfo,
  flushTlbAll,
  flushTlbKernelRange,
  flushTlbMmRange,
  TLB_FLUSH_ALL,
  TlbBatch,
  useGlobalAsid,
} from './tlbflush.js';

/** A data read (the default access kind). */
export const MMU_READ = 0;
/** A data write. */
export const MMU_WRITE = 1;
/** An instruction fetch. */
export const MMU_EXEC = 2;
/** The access is made in user mode (or it with one of the above). */
export const MMU_USER = 4;
const MMU_KIND_MASK = MMU_WRITE | MMU_EXEC | MMU_USER;

/** Page-fault error code bit: the page was present, the access violated its protection. */
export const X86_PF_PROT = 1 << 0;
/** Page-fault error code bit: the access was a write. */
export const X86_PF_WRITE = 1 << 1;
/** Page-fault error code bit: the access came from user mode. */
export const X86_PF_USER = 1 << 2;
/** Page-fault error code bit: the access was an instruction fetch. */
export const X86_PF_INSTR = 1 << 4;

/** {@link HardwareWalker.walk} found a translation and wrote it to the result. */
export const WALK_OK = 0;
/** {@link HardwareWalker.walk}: no present entry maps the address (a not-present fault). */
export const WALK_NOT_PRESENT = 1;
/** {@link HardwareWalker.walk}: an entry maps the address but forbids this access (a protection fault). */
export const WALK_PROT = 2;

/** Fault-handler calls for one access before it gives up with -EFAULT and a warning. */
export const MMU_MAX_FAULT_RETRIES = 16;

/**
 * The scratch record a walker fills in. One instance is reused for every walk.
 */
export class WalkResult {
  /** First base-page frame of the leaf (aligned to the leaf size). */
  pfn: number;
  /** log2 of the bytes the leaf maps: PAGE_SHIFT, PMD_SHIFT or PUD_SHIFT (others are splintered). */
  shift: number;
  /** `TLB_WRITE | TLB_USER | TLB_NX | TLB_DIRTY | TLB_GLOBAL` as the leaf entry says (dirty after the walk). */
  flags: number;
  /** Page-table levels read (each charged `pageWalkLevel`). */
  levels: number;

  constructor() {
    this.pfn = -1;
    this.shift = 12;
    this.flags = 0;
    this.levels = 0;
  }
}

/**
 * The hardware page-table walker (implemented by `@mm/pgtable-arch`).
 * Like the hardware, a walk sets the accessed bit of the leaf it uses, and
 * the dirty bit too when `kind` includes {@link MMU_WRITE} and the entry is
 * writable; the returned flags are the entry's after that update.
 */
export interface HardwareWalker {
  /**
   * Translate `vaddr` in `as` (starting from `as.root`) for an access of `kind`.
   * @returns {@link WALK_OK} with `out` filled, {@link WALK_NOT_PRESENT} or {@link WALK_PROT}.
   */
  walk(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number;
}

/**
 * The page-fault handler (the kernel model's `handle_mm_fault` path).
 */
export interface FaultHandler {
  /**
   * Resolve a fault at `vaddr` in `as` on `cpu`; `errorCode` has the `X86_PF_*` bits.
   * @returns 0 when the access should be retried, or a negative errno the access fails with
   *   (-EFAULT for SIGSEGV, -EAGAIN when the fault would sleep and must be retried later).
   */
  handleFault(cpu: number, as: AddressSpace, vaddr: number, errorCode: number): number;
}

/** A misuse of the MMU API (bad CPU, address, access kind or address space). */
export class MmuError extends MmError {
  constructor(code: string, message: string) {
    super(code, `mmu: ${message}`);
  }
}

/** The MMU state as plain JSON-ready data (see {@link Mmu.stateJson}). */
export interface MmuState {
  /** Width of the hardware ASID/PCID field. */
  asidBits: number;
  /** ASID allocator generation (bumped on rollover). */
  asidGeneration: number;
  /** Whether broadcast invalidation (INVLPGB / TLBI IS) is used. */
  broadcastFlush: boolean;
  /** Counters summed over all CPUs. */
  totals: TlbStats;
  /** Per-CPU TLB state. */
  cpus: {
    /** CPU number. */
    cpu: number;
    /** Whether the CPU is online. */
    online: boolean;
    /** Id of the loaded address space (0: init_mm). */
    loadedMm: number;
    /** In lazy TLB mode: a kernel thread borrowing the previous mm. @kernel cpu_tlbstate_shared.is_lazy */
    lazy: boolean;
    /** Valid entries: base pages, PMD leaves, PUD leaves. */
    entries: [number, number, number];
    /** Counters of this CPU. */
    stats: TlbStats;
  }[];
  /** Per address space (`mm_struct`) TLB state. */
  addressSpaces: {
    /** Address-space id (0 is `init_mm`). */
    id: number;
    /** Machine-wide ASID (0: kernel, none, or x86 per-CPU PCID slots). */
    asid: number;
    /** Flushes are broadcast by hardware: no IPIs. */
    broadcast: boolean;
    /** Flush generation. @kernel mm_context_t.tlb_gen */
    tlbGen: number;
    /** CPUs that may cache its translations. @kernel mm_cpumask */
    cpumask: number[];
  }[];
}

/** Counters of one CPU, or summed over all CPUs (see {@link Mmu.stats}). */
export interface TlbStats {
  /** Accesses served by a TLB entry. */
  hits: number;
  /** Accesses that found no usable entry. */
  misses: number;
  /** Hardware page walks. */
  walks: number;
  /** Page faults raised (each calls the fault handler once). */
  faults: number;
  /** Flush requests made on this CPU (`flush_tlb_*` calls and local flush instructions). */
  flushes: number;
  /** Single-page invalidations done (NR_TLB_LOCAL_FLUSH_ONE, counted for local flushes). */
  localFlushOne: number;
  /** Full or whole-ASID flushes done (NR_TLB_LOCAL_FLUSH_ALL, counted for local flushes). */
  localFlushAll: number;
  /** Shootdowns started: flushes sent to other CPUs by IPI (NR_TLB_REMOTE_FLUSH). */
  shootdowns: number;
  /** Flush IPIs handled (NR_TLB_REMOTE_FLUSH_RECEIVED). */
  remoteFlushReceived: number;
  /** IPIs sent. */
  ipisSent: number;
  /** Broadcast invalidations issued (INVLPGB, TLBI IS): no IPI. */
  broadcastFlushes: number;
  /** Virtual ns charged by the MMU. */
  busyNs: number;
}

const STAT_NAMES = [
  'hits',
  'misses',
  'walks',
  'faults',
  'flushes',
  'localFlushOne',
  'localFlushAll',
  'shootdowns',
  'remoteFlushReceived',
  'ipisSent',
  'broadcastFlushes',
  'busyNs',
] as const;

/** Whether entry flags `f` permit an access of kind `k` (a write also needs the dirty bit cached). */
function permits(f: number, k: number): boolean {
  if ((k & MMU_WRITE) !== 0 && (f & (TLB_WRITE | TLB_DIRTY)) !== (TLB_WRITE | TLB_DIRTY)) return false;
  if ((k & MMU_USER) !== 0 && (f & TLB_USER) === 0) return false;
  if ((k & MMU_EXEC) !== 0 && (f & TLB_NX) !== 0) return false;
  return true;
}

/**
 * For each value of the entry flags, the set of access kinds it permits (bit
 * k for kind k). Filled into `TlbArray.allow` so that a hit tests one bit:
 * measured about 2 ns faster per hit than testing required and forbidden flags.
 */
const ALLOW_BY_FLAGS = new Uint8Array(TLB_FLAGS_MASK + 1);
for (let f = 0; f <= TLB_FLAGS_MASK; f++) {
  let allow = 0;
  for (let k = 0; k <= MMU_KIND_MASK; k++) if (permits(f, k)) allow |= 1 << k;
  ALLOW_BY_FLAGS[f] = allow;
}

/** The machine as the MMU sees it: the core, CPU hotplug and the IPI counters of shootdowns. */
export interface MmuHost extends MachineCore {
  /** CPU hotplug state (which CPUs are online). */
  readonly hotplug: Hotplug;
  /** IPI counters, charged by shootdowns. */
  readonly smp: SmpStats;
}

/**
 * The machine's MMUs: one set of TLBs per CPU and the state of the ASID
 * allocator and of the flush protocol. Reached as `machine.mmu`.
 */
export class Mmu {
  /** The machine these MMUs belong to. */
  readonly machine: MmuHost;
  /** Number of CPUs (one TLB set each). */
  readonly nrCpus: number;
  /** log2 of the base page size (`PAGE_SHIFT`). */
  readonly pageShift: number;
  /** PMD_SHIFT: the size class of `entries2m` (2 MiB with 4K pages). */
  readonly pmdShift: number;
  /** PUD_SHIFT: the size class of `entries1g` (1 GiB with 4K pages). */
  readonly pudShift: number;
  /** TLB sizes and associativity, per page size, and ASID width. */
  readonly geometry: TlbGeometry;
  /** Broadcast invalidation is available (INVLPGB / TLBI IS). */
  readonly broadcastFlush: boolean;
  /**
   * Ranges of more pages than this are flushed whole.
   * @kernel tlb_single_page_flush_ceiling (arch/x86/mm/tlb.c)
   */
  singlePageFlushCeiling: number;
  /** A remote flush trims the cpumask (IPIs CPUs no longer running the mm) once per this many flushes. */
  trimCpumaskInterval: number;
  /** The kernel's address space (`init_mm`): ASID 0, loaded on every CPU at boot. */
  readonly initMm: AddressSpace;

  /** @internal Per CPU: base-page TLB (allocated at the CPU's first fill). */
  readonly tlbPte: TlbArray[];
  /** @internal Per CPU: PMD-size TLB. */
  readonly tlbPmd: TlbArray[];
  /** @internal Per CPU: PUD-size TLB. */
  readonly tlbPud: TlbArray[];
  /** @internal */
  readonly emptyPte: TlbArray;
  /** @internal */
  readonly emptyPmd: TlbArray;
  /** @internal */
  readonly emptyPud: TlbArray;
  /** @internal */
  readonly invPageBytes: number;
  /** @internal `pow2[k] = 2^k` for k in [0, 64): no `2 ** shift` on the miss path. */
  readonly pow2: Float64Array;
  /** @internal `invPow2[k] = 2^-k`, exact: a multiply instead of a division. */
  readonly invPow2: Float64Array;
  /** @internal The geometry has 4K entries. */
  readonly hasPteTlb: boolean;
  /** @internal The geometry has 2M entries (lookups skip the PMD-size array otherwise). */
  readonly hasPmdTlb: boolean;
  /** @internal The geometry has 1G entries (lookups skip the PUD-size array otherwise). */
  readonly hasPudTlb: boolean;

  /** @internal Per CPU: the address space loaded (`cpu_tlbstate.loaded_mm`). */
  readonly loadedAs: AddressSpace[];
  /** @internal Per CPU: 1 in lazy TLB mode (a kernel thread borrowing the loaded mm). */
  readonly isLazy: Uint8Array;
  /** @internal Per CPU: a flush is owed since an ASID rollover (arm64 `tlb_flush_pending`). */
  readonly tlbFlushPending: Uint8Array;
  /** @internal */
  readonly activeAs: (AddressSpace | null)[];
  /** @internal */
  readonly reservedAs: (AddressSpace | null)[];

  /**
   * x86 PCID scheme (x86-64 with `asidBits` >= 4): each CPU gives the address
   * spaces it runs one of {@link TLB_NR_DYN_ASIDS} dynamic slots (tags 1..6);
   * otherwise one machine-wide allocator (arm64's scheme).
   */
  readonly dynamicAsids: boolean;
  /** Dynamic slots in use per CPU (TLB_NR_DYN_ASIDS; tests lower it to force slot reuse). */
  nrDynAsids: number;
  /** @internal Per CPU and slot: the address space holding the slot (`cpu_tlbstate.ctxs[].ctx_id`). */
  readonly ctxAs: (AddressSpace | null)[];
  /** @internal Per CPU and slot: the `tlb_gen` the slot is up to date with (`cpu_tlbstate.ctxs[].tlb_gen`). */
  readonly ctxTlbGen: Float64Array;
  /** @internal Per CPU: the next slot to hand out (`cpu_tlbstate.next_asid`). */
  readonly nextDynAsid: Int32Array;
  /** @internal Per CPU: the tag of the loaded address space (`cpu_tlbstate.loaded_mm_asid`, as a PCID). */
  readonly loadedAsid: Int32Array;
  /** @internal x86 global ASIDs (tags above the dynamic ones) in use. */
  /** @internal */
  readonly globalAsidUsed: Uint8Array;

  /** @internal */
  readonly asidBits: number;
  /** @internal */
  readonly nrAsids: number;
  /** @internal */
  readonly asidMap: Uint8Array;
  /** Current ASID allocator generation. */
  asidGeneration: number;
  /** @internal */
  nextAsidHint: number;
  /** @internal */
  nextId: number;
  /** @internal */
  readonly spaces: AddressSpace[];

  /** @internal */
  walker: HardwareWalker | null;
  /** @internal */
  faultHandler: FaultHandler | null;
  /** @internal */
  readonly walkResult: WalkResult;
  /** @internal Scratch flush request (the kernel's per-CPU `flush_tlb_info`). */
  readonly flushInfo: FlushTlbInfo;

  /** @internal */
  readonly account: CostAccount;
  /** Cost per event, indexed like `machine.account.eventNames`. */
  /** @internal */
  readonly eventNs: Float64Array;
  /** @internal Cost-event indices for {@link Mmu.charge}. */
  readonly evTlbHit: number;
  /** @internal */
  readonly evTlbMiss: number;
  /** @internal */
  readonly evPageWalkLevel: number;
  /** @internal */
  readonly evFaultEntry: number;
  /** @internal */
  readonly evIpi: number;
  /** @internal */
  readonly evTlbFlushPage: number;
  /** @internal */
  readonly evTlbFlushAll: number;
  /** @internal */
  readonly evTlbBroadcastFlush: number;
  /** @internal 1 for each online CPU (`machine.cpus.online`). */
  readonly online: Uint8Array;

  /** @internal Counters, per CPU (see {@link TlbStats}). */
  readonly nrHits: Float64Array;
  /** @internal */
  readonly nrMisses: Float64Array;
  /** @internal */
  readonly nrWalks: Float64Array;
  /** @internal */
  readonly nrFaults: Float64Array;
  /** @internal */
  readonly nrFlushes: Float64Array;
  /** @internal */
  readonly nrLocalFlushOne: Float64Array;
  /** @internal */
  readonly nrLocalFlushAll: Float64Array;
  /** @internal */
  readonly nrShootdowns: Float64Array;
  /** @internal */
  readonly nrRemoteFlushReceived: Float64Array;
  /** @internal */
  readonly nrIpisSent: Float64Array;
  /** @internal */
  readonly nrBroadcastFlushes: Float64Array;
  /** Virtual ns charged per CPU by the MMU. */
  readonly busyNs: Float64Array;

  constructor(machine: MmuHost) {
    const topo = machine.topology;
    const geo = machine.config.tlb;
    this.machine = machine;
    this.nrCpus = topo.nrCpus;
    this.pageShift = topo.pageShift;
    // Each table level resolves PAGE_SHIFT - 3 bits (8-byte entries in a page-sized table).
    this.pmdShift = this.pageShift + (this.pageShift - 3);
    this.pudShift = this.pmdShift + (this.pageShift - 3);
    this.geometry = geo;
    for (const size of ['4k', '2m', '1g'] as const) {
      const sets = geo[`entries${size}`] / geo[`ways${size}`];
      if (sets !== 0 && (sets & (sets - 1)) !== 0) {
        throw new ConfigError(`tlb.entries${size}`, `entries / ways = ${sets} sets is not a power of two`);
      }
    }
    if (geo.asidBits > 0 && 2 ** geo.asidBits - 1 <= this.nrCpus) {
      throw new ConfigError('tlb.asidBits', `${geo.asidBits} bits give fewer ASIDs than there are CPUs`);
    }
    this.broadcastFlush = geo.broadcastFlush;
    this.singlePageFlushCeiling = 33;
    this.trimCpumaskInterval = 64;

    this.emptyPte = new TlbArray(0, 1, this.pageShift, this.pageShift);
    this.emptyPmd = new TlbArray(0, 1, this.pmdShift, this.pageShift);
    this.emptyPud = new TlbArray(0, 1, this.pudShift, this.pageShift);
    this.tlbPte = new Array<TlbArray>(this.nrCpus).fill(this.emptyPte);
    this.tlbPmd = new Array<TlbArray>(this.nrCpus).fill(this.emptyPmd);
    this.tlbPud = new Array<TlbArray>(this.nrCpus).fill(this.emptyPud);
    this.invPageBytes = 2 ** -this.pageShift;
    this.pow2 = new Float64Array(64);
    this.invPow2 = new Float64Array(64);
    for (let k = 0; k < 64; k++) {
      this.pow2[k] = 2 ** k;
      this.invPow2[k] = 2 ** -k;
    }
    this.hasPteTlb = geo.entries4k > 0;
    this.hasPmdTlb = geo.entries2m > 0;
    this.hasPudTlb = geo.entries1g > 0;

    this.asidBits = geo.asidBits;
    this.nrAsids = geo.asidBits === 0 ? 1 : 2 ** geo.asidBits;
    this.dynamicAsids = machine.config.arch === 'x86_64' && geo.asidBits >= 4;
    this.nrDynAsids = TLB_NR_DYN_ASIDS;
    this.ctxAs = new Array<AddressSpace | null>(this.nrCpus * TLB_NR_DYN_ASIDS).fill(null);
    this.ctxTlbGen = new Float64Array(this.nrCpus * TLB_NR_DYN_ASIDS);
    this.nextDynAsid = new Int32Array(this.nrCpus);
    this.loadedAsid = new Int32Array(this.nrCpus);
    this.globalAsidUsed = new Uint8Array(this.nrAsids);
    this.asidMap = new Uint8Array(this.nrAsids);
    this.asidMap[0] = 1;
    this.asidGeneration = 1;
    this.nextAsidHint = 1;
    this.nextId = 0;
    this.spaces = [];

    this.initMm = this.newAddressSpace(0);
    this.initMm.asidGeneration = this.asidGeneration;
    this.loadedAs = new Array<AddressSpace>(this.nrCpus).fill(this.initMm);
    this.initMm.cpumask.fill(1);
    this.isLazy = new Uint8Array(this.nrCpus);
    this.tlbFlushPending = new Uint8Array(this.nrCpus);
    this.activeAs = new Array<AddressSpace | null>(this.nrCpus).fill(null);
    this.reservedAs = new Array<AddressSpace | null>(this.nrCpus).fill(null);

    this.walker = null;
    this.faultHandler = null;
    this.walkResult = new WalkResult();
    this.flushInfo = new FlushTlbInfo();
    const account = machine.account;
    this.account = account;
    this.eventNs = new Float64Array(account.eventNames.length);
    account.eventNames.forEach((name, i) => {
      this.eventNs[i] = machine.costs[name];
    });
    this.evTlbHit = account.eventIndexOf('tlbHit');
    this.evTlbMiss = account.eventIndexOf('tlbMiss');
    this.evPageWalkLevel = account.eventIndexOf('pageWalkLevel');
    this.evFaultEntry = account.eventIndexOf('faultEntry');
    this.evIpi = account.eventIndexOf('ipi');
    this.evTlbFlushPage = account.eventIndexOf('tlbFlushPage');
    this.evTlbFlushAll = account.eventIndexOf('tlbFlushAll');
    this.evTlbBroadcastFlush = account.eventIndexOf('tlbBroadcastFlush');
    this.online = machine.cpus.online;

    const n = this.nrCpus;
    this.nrHits = new Float64Array(n);
    this.nrMisses = new Float64Array(n);
    this.nrWalks = new Float64Array(n);
    this.nrFaults = new Float64Array(n);
    this.nrFlushes = new Float64Array(n);
    this.nrLocalFlushOne = new Float64Array(n);
    this.nrLocalFlushAll = new Float64Array(n);
    this.nrShootdowns = new Float64Array(n);
    this.nrRemoteFlushReceived = new Float64Array(n);
    this.nrIpisSent = new Float64Array(n);
    this.nrBroadcastFlushes = new Float64Array(n);
    this.busyNs = new Float64Array(n);
    machine.hotplug.cpuhpSetupStateNocalls('mm/tlb:dead', 'prepare', null, (cpu) => {
      this.cpuDead(cpu);
      return 0;
    });
  }

  /**
   * A CPU went offline: its TLB contents are gone, it runs `init_mm` when it
   * comes back, and no address space's cpumask names it any more (so no
   * shootdown waits for it).
   * @kernel clear_tasks_mm_cpumask (kernel/cpu.c)
   */
  private cpuDead(cpu: number): void {
    this.invalidateLocalAll(cpu, false);
    this.loadInitMm(cpu);
    this.tlbFlushPending[cpu] = 0;
    this.activeAs[cpu] = null;
    this.ctxAs.fill(null, cpu * TLB_NR_DYN_ASIDS, (cpu + 1) * TLB_NR_DYN_ASIDS);
    this.nextDynAsid[cpu] = 0;
    for (const as of this.spaces) if (as !== this.initMm) as.cpumask[cpu] = 0;
  }

  /**
   * Charge `count` events of cost-table index `event` (an `ev*` field) to
   * `cpu`: the one place the MMU spends virtual time. It goes to the
   * machine's accounting (busy time, the CPU's clock, event counts) and to
   * the MMU's own busy-time share.
   */
  charge(cpu: number, event: number, count: number): void {
    const ns = this.eventNs[event]! * count;
    this.busyNs[cpu]! += ns;
    this.account.eventCounts[event]! += count;
    this.account.charge(cpu, ns);
  }

  /** Install the hardware page-table walker (`null` removes it). */
  registerWalker(walker: HardwareWalker | null): void {
    this.walker = walker;
  }

  /** Install the page-fault handler (`null` removes it: faults then fail with -EFAULT). */
  registerFaultHandler(handler: FaultHandler | null): void {
    this.faultHandler = handler;
  }

  /**
   * A new address space whose walks start at `root`. Its ASID is assigned
   * at its first switch-in. With broadcast flushing on a non-x86 machine
   * (arm64 TLBI IS), every address space flushes by broadcast.
   * @kernel init_new_context (arch/arm64/include/asm/mmu_context.h)
   */
  createAddressSpace(root = 0): AddressSpace {
    if (!Number.isFinite(root)) throw new MmuError('EINVAL', `root ${root} is not a number`);
    const as = this.newAddressSpace(root);
    if (this.asidBits === 0 || this.dynamicAsids) as.asidGeneration = this.asidGeneration;
    if (this.broadcastFlush && this.machine.config.arch !== 'x86_64') as.broadcast = true;
    return as;
  }

  /**
   * Retire an address space. CPUs holding it lazily drop back to `init_mm`;
   * a CPU still running it is a caller bug (EBUSY). Its ASID is not reused
   * before the next rollover, and entries tagged with it are never matched
   * again until then.
   * @kernel destroy_context (include/asm-generic/mmu_context.h)
   */
  destroyAddressSpace(as: AddressSpace): void {
    if (as === this.initMm) throw new MmuError('EINVAL', 'init_mm cannot be destroyed');
    if (as.dead) throw new MmuError('EINVAL', `address space ${as.id} is already destroyed`);
    for (let c = 0; c < this.nrCpus; c++) {
      if (this.loadedAs[c] === as && this.isLazy[c] === 0) {
        throw new MmuError('EBUSY', `address space ${as.id} is still running on CPU ${c}`);
      }
    }
    for (let c = 0; c < this.nrCpus; c++) if (this.loadedAs[c] === as) this.loadInitMm(c);
    as.dead = true;
    if (this.dynamicAsids && as.broadcast) this.globalAsidUsed[as.asid] = 0;
    const i = this.spaces.indexOf(as);
    if (i >= 0) this.spaces.splice(i, 1);
  }

  /**
   * Translate `vaddr` in `as` on `cpu` for an access of `kind`
   * (`MMU_READ`, `MMU_WRITE` or `MMU_EXEC`, or-ed with `MMU_USER`), as the
   * hardware does: TLB lookup; on a miss a page walk and a TLB fill; on a
   * fault the fault handler, then a retry. If `cpu` is running another
   * address space it switches to `as` first.
   * @returns the PFN of the base page holding `vaddr`, or a negative errno
   *   (-EFAULT when there is no fault handler or it could not resolve the fault).
   * @throws MmuError on a bad CPU, address, access kind or a destroyed address space.
   */
  access(cpu: number, as: AddressSpace, vaddr: number, kind: number): number {
    if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu || this.online[cpu] === 0) throw this.badCpu(cpu);
    if (!(vaddr >= 0 && vaddr <= Number.MAX_SAFE_INTEGER) || Math.floor(vaddr) !== vaddr) {
      throw new MmuError('EINVAL', `virtual address ${vaddr} is not an integer in [0, 2^53)`);
    }
    if ((kind & ~MMU_KIND_MASK) !== 0 || (kind | 0) !== kind) {
      throw new MmuError('EINVAL', `unknown access kind ${kind}`);
    }
    if (this.loadedAs[cpu] !== as || this.isLazy[cpu] !== 0 || as.asidGeneration !== this.asidGeneration) {
      this.switchMm(cpu, as);
    }
    const pfn = this.lookupTlb(cpu, this.loadedAsid[cpu]!, vaddr, kind);
    if (pfn >= 0) {
      this.nrHits[cpu]!++;
      this.charge(cpu, this.evTlbHit, 1);
      return pfn;
    }
    return this.accessSlow(cpu, as, vaddr, kind);
  }

  /**
   * The TLB part of an access: the PFN from a usable entry, or -1. An entry
   * that translates the page but does not allow the access is dropped (the
   * walk that follows refills it).
   */
  private lookupTlb(cpu: number, asid: number, vaddr: number, kind: number): number {
    // Arrays of a size class the geometry has no entries for are skipped:
    // their lookup always misses.
    let t = this.tlbPte[cpu]!;
    let vpn = Math.floor(vaddr * t.invPageBytes);
    let i = t.lookup(vpn, asid);
    if (i < 0) {
      if (this.hasPmdTlb) {
        t = this.tlbPmd[cpu]!;
        vpn = Math.floor(vaddr * t.invPageBytes);
        i = t.lookup(vpn, asid);
      }
      if (i < 0) {
        if (!this.hasPudTlb) return -1;
        t = this.tlbPud[cpu]!;
        vpn = Math.floor(vaddr * t.invPageBytes);
        i = t.lookup(vpn, asid);
        if (i < 0) return -1;
      }
    }
    if (((t.allow[i]! >>> kind) & 1) === 0) {
      t.invalidateIndex(i);
      return -1;
    }
    t.stamp[i] = ++t.clock;
    return t.pfn[i]! + Math.floor((vaddr - vpn * t.pageBytes) * this.invPageBytes);
  }

  /** Miss, walk, fill; fault and retry. */
  private accessSlow(cpu: number, as: AddressSpace, vaddr: number, kind: number): number {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        // The fault handler may have switched or flushed this CPU: look again.
        if (this.loadedAs[cpu] !== as || this.isLazy[cpu] !== 0 || as.asidGeneration !== this.asidGeneration) {
          this.switchMm(cpu, as);
        }
        const pfn = this.lookupTlb(cpu, this.loadedAsid[cpu]!, vaddr, kind);
        if (pfn >= 0) {
          this.nrHits[cpu]!++;
          this.charge(cpu, this.evTlbHit, 1);
          return pfn;
        }
      }
      this.nrMisses[cpu]!++;
      this.charge(cpu, this.evTlbMiss, 1);
      const walker = this.walker;
      if (walker === null) throw new MmuError('EINVAL', 'no hardware walker registered (registerWalker)');
      const out = this.walkResult;
      out.pfn = -1;
      out.shift = this.pageShift;
      out.flags = 0;
      out.levels = 0;
      this.nrWalks[cpu]!++;
      const r = walker.walk(as, vaddr, kind, out);
      this.charge(cpu, this.evPageWalkLevel, out.levels);
      let errorCode: number;
      if (r === WALK_OK) {
        this.checkWalkResult(out, vaddr);
        const f = out.flags;
        if (permits(f, kind)) return this.fillTlb(cpu, this.loadedAsid[cpu]!, vaddr, out);
        if ((kind & MMU_WRITE) !== 0 && (f & TLB_WRITE) !== 0 && (f & TLB_DIRTY) === 0) {
          throw new MmBugError(`mmu: the walker allowed a write to ${vaddr} without setting the dirty bit`);
        }
        errorCode = X86_PF_PROT;
      } else if (r === WALK_NOT_PRESENT) {
        errorCode = 0;
      } else if (r === WALK_PROT) {
        errorCode = X86_PF_PROT;
      } else {
        throw new MmuError('EINVAL', `the walker returned ${r} (expected WALK_OK, WALK_NOT_PRESENT or WALK_PROT)`);
      }
      if ((kind & MMU_WRITE) !== 0) errorCode |= X86_PF_WRITE;
      if ((kind & MMU_USER) !== 0) errorCode |= X86_PF_USER;
      if ((kind & MMU_EXEC) !== 0) errorCode |= X86_PF_INSTR;
      this.nrFaults[cpu]!++;
      this.charge(cpu, this.evFaultEntry, 1);
      // A page fault leaves no entry for the faulting address in this ASID.
      this.invalidateLocal(cpu, this.loadedAsid[cpu]!, vaddr, false);
      const handler = this.faultHandler;
      if (handler === null) return -EFAULT;
      if (attempt >= MMU_MAX_FAULT_RETRIES) {
        this.machine.warnOn(true, `mmu: fault at ${vaddr} on CPU ${cpu} not resolved after ${attempt} retries`);
        return -EFAULT;
      }
      const ret = handler.handleFault(cpu, as, vaddr, errorCode);
      if (ret !== 0) {
        if (ret < 0 && (ret | 0) === ret) return ret;
        throw new MmuError('EINVAL', `the fault handler returned ${ret} (expected 0 or a negative errno)`);
      }
    }
  }

  private checkWalkResult(out: WalkResult, vaddr: number): void {
    const s = out.shift;
    if (!(Number.isInteger(s) && s >= this.pageShift && s <= 52)) {
      throw new MmuError('EINVAL', `walker: leaf shift ${s} for ${vaddr} is not in [PAGE_SHIFT, 52]`);
    }
    const p = out.pfn;
    // Alignment by a power of two, without a float `%`: floor(p / 2^k) * 2^k === p.
    const k = s - this.pageShift;
    if (!(Number.isInteger(p) && p >= 0) || (k !== 0 && Math.floor(p * this.invPow2[k]!) * this.pow2[k]! !== p)) {
      throw new MmuError('EINVAL', `walker: pfn ${p} for ${vaddr} is not a leaf-aligned frame number`);
    }
    if ((out.flags & ~TLB_FLAGS_MASK) !== 0 || !Number.isInteger(out.flags)) {
      throw new MmuError('EINVAL', `walker: unknown flags ${out.flags}`);
    }
    if (!(Number.isInteger(out.levels) && out.levels >= 0)) {
      throw new MmuError('EINVAL', `walker: levels ${out.levels} is not a count`);
    }
  }

  /**
   * Cache the walker's translation in the TLB of the largest page size that
   * has entries and fits in the leaf (a 1G leaf with no 1G entries is
   * splintered into a 2M entry), and return the PFN for `vaddr`.
   */
  private fillTlb(cpu: number, asid: number, vaddr: number, out: WalkResult): number {
    const shift = out.shift;
    const invPageBytes = this.invPageBytes;
    let t: TlbArray;
    if (shift === this.pageShift) {
      // A base page (the common case): no leaf arithmetic.
      const pfn = out.pfn;
      if (!this.hasPteTlb) return pfn;
      t = this.tlbPte[cpu]!;
      if (t === this.emptyPte) t = this.newTlbArray(cpu, 0);
      t.fill(Math.floor(vaddr * invPageBytes), asid, pfn, out.flags, ALLOW_BY_FLAGS[out.flags]!);
      return pfn;
    }
    const leafBytes = this.pow2[shift]!;
    const leafBase = Math.floor(vaddr * this.invPow2[shift]!) * leafBytes;
    const pfn = out.pfn + Math.floor((vaddr - leafBase) * invPageBytes);
    if (shift >= this.pudShift && this.hasPudTlb) {
      t = this.tlbPud[cpu]!;
      if (t === this.emptyPud) t = this.newTlbArray(cpu, 2);
    } else if (shift >= this.pmdShift && this.hasPmdTlb) {
      t = this.tlbPmd[cpu]!;
      if (t === this.emptyPmd) t = this.newTlbArray(cpu, 1);
    } else if (this.hasPteTlb) {
      t = this.tlbPte[cpu]!;
      if (t === this.emptyPte) t = this.newTlbArray(cpu, 0);
    } else {
      return pfn;
    }
    const vpn = Math.floor(vaddr * t.invPageBytes);
    const entryPfn = out.pfn + Math.floor((vpn * t.pageBytes - leafBase) * invPageBytes);
    t.fill(vpn, asid, entryPfn, out.flags, ALLOW_BY_FLAGS[out.flags]!);
    return pfn;
  }

  /** Allocate `cpu`'s TLB array of size class `size` (0: base pages, 1: PMD, 2: PUD) at its first fill. */
  private newTlbArray(cpu: number, size: number): TlbArray {
    const geo = this.geometry;
    let t: TlbArray;
    if (size === 0) {
      t = new TlbArray(geo.entries4k, geo.ways4k, this.pageShift, this.pageShift);
      this.tlbPte[cpu] = t;
    } else if (size === 1) {
      t = new TlbArray(geo.entries2m, geo.ways2m, this.pmdShift, this.pageShift);
      this.tlbPmd[cpu] = t;
    } else {
      t = new TlbArray(geo.entries1g, geo.ways1g, this.pudShift, this.pageShift);
      this.tlbPud[cpu] = t;
    }
    return t;
  }

  /**
   * Make `next` the address space running on `cpu`: take a fresh ASID if
   * its generation is stale, do a flush owed since a rollover, flush its
   * ASID if this CPU missed flushes of it (its `tlb_gen` moved on), and add
   * the CPU to its cpumask. Without ASIDs (`asidBits` 0) every switch to
   * another address space flushes the non-global entries (a CR3 write).
   * @kernel switch_mm_irqs_off (arch/x86/mm/tlb.c)
   * @kernel check_and_switch_context (arch/arm64/mm/context.c)
   */
  switchMm(cpu: number, next: AddressSpace): void {
    if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu || this.online[cpu] === 0) throw this.badCpu(cpu);
    if (next.dead) throw new MmuError('EINVAL', `address space ${next.id} is destroyed`);
    if (this.dynamicAsids) {
      switchMmDynamic(this, cpu, next);
      return;
    }
    const prev = this.loadedAs[cpu]!;
    if (this.asidBits > 0 && next !== this.initMm && next.asidGeneration !== this.asidGeneration) {
      newContext(this, next);
    }
    if (this.tlbFlushPending[cpu] !== 0) {
      this.tlbFlushPending[cpu] = 0;
      this.flushCpuAll(cpu, true);
    }
    let needFlush = next.cpuTlbGen[cpu]! < next.tlbGen;
    if (this.asidBits === 0 && prev !== next) needFlush = true;
    if (needFlush) {
      if (this.asidBits === 0) this.flushCpuAll(cpu, true);
      else this.flushCpuAsid(cpu, next.asid);
    }
    next.cpuTlbGen[cpu] = next.tlbGen;
    next.cpumask[cpu] = 1;
    this.loadedAs[cpu] = next;
    this.loadedAsid[cpu] = next.asid;
    this.isLazy[cpu] = 0;
    this.activeAs[cpu] = next;
  }

  /**
   * A kernel thread starts on `cpu` and borrows the loaded address space:
   * flushes that free no page tables skip this CPU until it switches again.
   * @kernel enter_lazy_tlb (arch/x86/mm/tlb.c)
   */
  enterLazyTlb(cpu: number): void {
    if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu) throw this.badCpu(cpu);
    if (this.loadedAs[cpu] === this.initMm) return;
    this.isLazy[cpu] = 1;
  }

  /**
   * Switch `cpu` to `init_mm` (the kernel's own tables).
   * @kernel leave_mm (arch/x86/mm/tlb.c)
   */
  leaveMm(cpu: number): void {
    if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu) throw this.badCpu(cpu);
    this.loadInitMm(cpu);
  }

  /** @internal Switch to init_mm without flushing (its entries are global). */
  loadInitMm(cpu: number): void {
    this.loadedAs[cpu] = this.initMm;
    this.loadedAsid[cpu] = 0;
    this.isLazy[cpu] = 0;
  }

  /** The address space `cpu` has loaded (`cpu_tlbstate.loaded_mm`). */
  loadedMm(cpu: number): AddressSpace {
    if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu) throw this.badCpu(cpu);
    return this.loadedAs[cpu]!;
  }

  /** True when `cpu` is in lazy TLB mode. */
  inLazyTlb(cpu: number): boolean {
    if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu) throw this.badCpu(cpu);
    return this.isLazy[cpu] !== 0;
  }

  // ---- Local invalidation primitives (one CPU's TLBs) ----

  /** @internal Drop `vaddr`'s entries for `asid` (and the global ones when `global`) on `cpu`, every size. */
  invalidateLocal(cpu: number, asid: number, vaddr: number, global: boolean): void {
    let t = this.tlbPte[cpu]!;
    t.invalidatePage(Math.floor(vaddr * t.invPageBytes), asid, global);
    t = this.tlbPmd[cpu]!;
    t.invalidatePage(Math.floor(vaddr * t.invPageBytes), asid, global);
    t = this.tlbPud[cpu]!;
    t.invalidatePage(Math.floor(vaddr * t.invPageBytes), asid, global);
  }

  /** @internal Drop entries of [start, end) for `asid` (and global ones when `global`) on `cpu`, every size. */
  invalidateLocalRange(cpu: number, asid: number, start: number, end: number, global: boolean): void {
    if (end <= start) return;
    let t = this.tlbPte[cpu]!;
    t.invalidateRange(Math.floor(start * t.invPageBytes), Math.floor((end - 1) * t.invPageBytes), asid, global);
    t = this.tlbPmd[cpu]!;
    t.invalidateRange(Math.floor(start * t.invPageBytes), Math.floor((end - 1) * t.invPageBytes), asid, global);
    t = this.tlbPud[cpu]!;
    t.invalidateRange(Math.floor(start * t.invPageBytes), Math.floor((end - 1) * t.invPageBytes), asid, global);
  }

  /** @internal Drop every non-global entry of `asid` on `cpu` (no counting: a broadcast's remote side). */
  invalidateLocalAsid(cpu: number, asid: number): void {
    this.tlbPte[cpu]!.invalidateAsid(asid);
    this.tlbPmd[cpu]!.invalidateAsid(asid);
    this.tlbPud[cpu]!.invalidateAsid(asid);
  }

  /** @internal Drop all of `cpu`'s entries, or the non-global ones when `keepGlobal` (no counting). */
  invalidateLocalAll(cpu: number, keepGlobal: boolean): void {
    this.tlbPte[cpu]!.invalidateAll(keepGlobal);
    this.tlbPmd[cpu]!.invalidateAll(keepGlobal);
    this.tlbPud[cpu]!.invalidateAll(keepGlobal);
  }

  /** @internal Flush every non-global entry of `asid` on `cpu`; count and charge a full flush. */
  flushCpuAsid(cpu: number, asid: number): void {
    this.invalidateLocalAsid(cpu, asid);
    this.nrLocalFlushAll[cpu]!++;
    this.charge(cpu, this.evTlbFlushAll, 1);
  }

  /** @internal Flush `cpu`'s whole TLB (keeping global entries when `keepGlobal`); count and charge it. */
  flushCpuAll(cpu: number, keepGlobal: boolean): void {
    this.invalidateLocalAll(cpu, keepGlobal);
    this.nrLocalFlushAll[cpu]!++;
    this.charge(cpu, this.evTlbFlushAll, 1);
  }

  // ---- Local flush instructions (this CPU only; no IPI, no generation bookkeeping) ----

  /**
   * Invalidate `vaddr` on `cpu` for `as` (and a global entry for it): `invlpg`, `tlbi vae1`.
   * @kernel flush_tlb_one_user (arch/x86/mm/tlb.c)
   */
  localFlushTlbPage(cpu: number, as: AddressSpace, vaddr: number): void {
    this.checkCpuAddr(cpu, vaddr);
    this.nrFlushes[cpu]!++;
    const tag = tagOn(this, cpu, as);
    if (tag >= 0) this.invalidateLocal(cpu, tag, vaddr, true);
    this.nrLocalFlushOne[cpu]!++;
    this.charge(cpu, this.evTlbFlushPage, 1);
  }

  /**
   * Invalidate [start, end) on `cpu` for `as`, page by page.
   * @kernel local_flush_tlb_range_asid (arch/riscv/mm/tlbflush.c)
   */
  localFlushTlbRange(cpu: number, as: AddressSpace, start: number, end: number): void {
    this.checkCpuAddr(cpu, start);
    this.checkRange(start, end);
    this.nrFlushes[cpu]!++;
    const pages = Math.ceil((end - start) * this.invPageBytes);
    const tag = tagOn(this, cpu, as);
    if (tag >= 0) this.invalidateLocalRange(cpu, tag, start, end, true);
    this.nrLocalFlushOne[cpu]! += pages;
    this.charge(cpu, this.evTlbFlushPage, pages);
  }

  /**
   * Flush every non-global entry of `as`'s ASID on `cpu` (INVPCID single context, `tlbi aside1`).
   * @kernel local_flush_tlb_all_asid (arch/riscv/include/asm/tlbflush.h)
   */
  localFlushTlbAsid(cpu: number, as: AddressSpace): void {
    this.checkCpuAddr(cpu, 0);
    this.nrFlushes[cpu]!++;
    const tag = tagOn(this, cpu, as);
    if (tag >= 0) this.flushCpuAsid(cpu, tag);
  }

  /**
   * Flush all of `cpu`'s TLB entries, global ones included.
   * @kernel __flush_tlb_all (arch/x86/mm/tlb.c)
   */
  localFlushTlbAll(cpu: number): void {
    this.checkCpuAddr(cpu, 0);
    this.nrFlushes[cpu]!++;
    this.flushCpuAll(cpu, false);
  }

  // ---- Machine-wide flushes (tlbflush.ts) ----

  /**
   * Flush [start, end) of `as` wherever it may be cached, from the current
   * CPU: by broadcast when `as` uses it, else by IPIs to the CPUs of its
   * cpumask, else locally. `strideShift` is the page size of the mappings
   * removed; `freedTables` says page tables were freed (lazy CPUs then get
   * the IPI too). `end` may be {@link TLB_FLUSH_ALL}.
   * @kernel flush_tlb_mm_range (arch/x86/mm/tlb.c)
   */
  flushTlbMmRange(as: AddressSpace, start: number, end: number, strideShift: number, freedTables: boolean): void {
    if (as.dead) throw new MmuError('EINVAL', `address space ${as.id} is destroyed`);
    if (as === this.initMm) throw new MmuError('EINVAL', 'init_mm is flushed with flushTlbKernelRange or flushTlbAll');
    if (end !== TLB_FLUSH_ALL) this.checkRange(start, end);
    if (!(Number.isInteger(strideShift) && strideShift >= this.pageShift && strideShift <= 52)) {
      throw new MmuError('EINVAL', `stride shift ${strideShift} is not in [PAGE_SHIFT, 52]`);
    }
    flushTlbMmRange(this, as, start, end, strideShift, freedTables);
  }

  /**
   * Flush [start, end) of `as` (mappings of base pages).
   * @kernel flush_tlb_range (arch/x86/include/asm/tlbflush.h)
   */
  flushTlbRange(as: AddressSpace, start: number, end: number): void {
    this.flushTlbMmRange(as, start, end, this.pageShift, false);
  }

  /**
   * Flush the page at `vaddr` of `as`.
   * @kernel flush_tlb_page (arch/x86/include/asm/tlbflush.h)
   */
  flushTlbPage(as: AddressSpace, vaddr: number): void {
    const start = Math.floor(vaddr * this.invPageBytes) * 2 ** this.pageShift;
    this.flushTlbMmRange(as, start, start + 2 ** this.pageShift, this.pageShift, false);
  }

  /**
   * Flush all of `as`'s translations.
   * @kernel flush_tlb_mm (arch/x86/include/asm/tlbflush.h)
   */
  flushTlbMm(as: AddressSpace): void {
    this.flushTlbMmRange(as, 0, TLB_FLUSH_ALL, this.pageShift, false);
  }

  /**
   * Flush every TLB entry of every CPU, global ones included.
   * @kernel flush_tlb_all (arch/x86/mm/tlb.c)
   */
  flushTlbAll(): void {
    flushTlbAll(this);
  }

  /**
   * Flush the kernel (global) translations of [start, end) on every CPU.
   * @kernel flush_tlb_kernel_range (arch/x86/mm/tlb.c)
   */
  flushTlbKernelRange(start: number, end: number): void {
    this.checkRange(start, end);
    flushTlbKernelRange(this, start, end);
  }

  /**
   * Make `as` flush by broadcast from now on (an x86 global ASID, held for
   * its lifetime). Needs `tlb.broadcastFlush`.
   * @kernel use_global_asid (arch/x86/mm/tlb.c)
   */
  useGlobalAsid(as: AddressSpace): void {
    if (!this.broadcastFlush)
      throw new MmuError('EOPNOTSUPP', 'broadcast TLB flush is not enabled (tlb.broadcastFlush)');
    if (as.dead) throw new MmuError('EINVAL', `address space ${as.id} is destroyed`);
    useGlobalAsid(this, as);
  }

  // ---- Batched unmap flushing (reclaim's TTU_BATCH_FLUSH) ----

  /** An empty batch of deferred flushes (one per reclaiming task, `tlb_ubc`). */
  newTlbBatch(): TlbBatch {
    return new TlbBatch(this.nrCpus);
  }

  /**
   * Whether unmapping from `as` should be batched (another CPU may cache it).
   * @kernel arch_tlbbatch_should_defer (arch/x86/include/asm/tlbflush.h)
   */
  archTlbbatchShouldDefer(as: AddressSpace): boolean {
    return archTlbbatchShouldDefer(this, as);
  }

  /**
   * Defer the flush of [start, end) of `as` to `batch`. Until
   * {@link archTlbbatchFlush}, other CPUs may still use the old translations
   * (the caller keeps the pages alive, as reclaim does).
   * @kernel arch_tlbbatch_add_pending (arch/x86/mm/tlb.c)
   */
  archTlbbatchAddPending(batch: TlbBatch, as: AddressSpace, start: number, end: number): void {
    if (as.dead) throw new MmuError('EINVAL', `address space ${as.id} is destroyed`);
    if (as === this.initMm) throw new MmuError('EINVAL', 'init_mm is flushed with flushTlbKernelRange or flushTlbAll');
    if (batch.cpumask.length !== this.nrCpus) throw new MmuError('EINVAL', 'the batch belongs to another machine');
    this.checkRange(start, end);
    archTlbbatchAddPending(this, batch, as, start, end);
  }

  /**
   * Do every flush deferred to `batch` and empty it.
   * @kernel arch_tlbbatch_flush (arch/x86/mm/tlb.c)
   */
  archTlbbatchFlush(batch: TlbBatch): void {
    if (batch.cpumask.length !== this.nrCpus) throw new MmuError('EINVAL', 'the batch belongs to another machine');
    archTlbbatchFlush(this, batch);
  }

  // ---- Introspection ----

  /**
   * Whether `cpu`'s TLB holds an entry translating `vaddr` under `as`'s ASID
   * (or a global one), whatever the access rights: no side effects, no LRU
   * update, no counters. For tests and tools. Meaningful for the address
   * space loaded on `cpu` (an address space not switched in since an ASID
   * rollover, or any address space without ASIDs, shares tags with others).
   * @returns the PFN the entry gives, or -1.
   */
  probe(cpu: number, as: AddressSpace, vaddr: number): number {
    this.checkCpuAddr(cpu, vaddr);
    const tag = tagOn(this, cpu, as);
    if (tag < 0) return -1;
    const arrays = [this.tlbPte[cpu]!, this.tlbPmd[cpu]!, this.tlbPud[cpu]!];
    for (const t of arrays) {
      const vpn = Math.floor(vaddr * t.invPageBytes);
      const i = t.lookup(vpn, tag);
      if (i >= 0) return t.pfn[i]! + Math.floor((vaddr - vpn * t.pageBytes) * this.invPageBytes);
    }
    return -1;
  }

  /**
   * The TLB events in the names `/proc/vmstat` uses (CONFIG_DEBUG_TLBFLUSH),
   * summed over CPUs. The local-flush counts include flushes a CPU did for
   * an IPI (the kernel counts those only as received IPIs).
   * @kernel count_vm_tlb_event (include/linux/vmstat.h)
   */
  vmTlbEvents(): {
    /** `NR_TLB_REMOTE_FLUSH`: shootdowns sent. */
    nr_tlb_remote_flush: number;
    /** `NR_TLB_REMOTE_FLUSH_RECEIVED`: flush IPIs handled. */
    nr_tlb_remote_flush_received: number;
    /** `NR_TLB_LOCAL_FLUSH_ALL`: local full flushes. */
    nr_tlb_local_flush_all: number;
    /** `NR_TLB_LOCAL_FLUSH_ONE`: local single-page flushes. */
    nr_tlb_local_flush_one: number;
  } {
    const s = this.stats();
    return {
      nr_tlb_remote_flush: s.shootdowns,
      nr_tlb_remote_flush_received: s.remoteFlushReceived,
      nr_tlb_local_flush_all: s.localFlushAll,
      nr_tlb_local_flush_one: s.localFlushOne,
    };
  }

  /** The MMU state as plain JSON-ready data (for the web page and state dumps). */
  stateJson(): MmuState {
    const cpus: MmuState['cpus'] = [];
    for (let c = 0; c < this.nrCpus; c++) {
      cpus.push({
        cpu: c,
        online: this.online[c] !== 0,
        loadedMm: this.loadedAs[c]!.id,
        lazy: this.isLazy[c] !== 0,
        entries: this.nrEntries(c),
        stats: this.stats(c),
      });
    }
    return {
      asidBits: this.asidBits,
      asidGeneration: this.asidGeneration,
      broadcastFlush: this.broadcastFlush,
      totals: this.stats(),
      cpus,
      addressSpaces: this.spaces.map((as) => ({
        id: as.id,
        asid: as.asid,
        broadcast: as.broadcast,
        tlbGen: as.tlbGen,
        cpumask: as.cpumaskCpus(),
      })),
    };
  }

  /** Valid entries in `cpu`'s TLBs: `[base, pmd, pud]`. */
  nrEntries(cpu: number): [number, number, number] {
    this.checkCpuAddr(cpu, 0);
    return [this.tlbPte[cpu]!.nrValid, this.tlbPmd[cpu]!.nrValid, this.tlbPud[cpu]!.nrValid];
  }

  /** The counters of `cpu`, or summed over all CPUs when `cpu` is omitted. */
  stats(cpu?: number): TlbStats {
    const arrays: Record<(typeof STAT_NAMES)[number], Float64Array> = {
      hits: this.nrHits,
      misses: this.nrMisses,
      walks: this.nrWalks,
      faults: this.nrFaults,
      flushes: this.nrFlushes,
      localFlushOne: this.nrLocalFlushOne,
      localFlushAll: this.nrLocalFlushAll,
      shootdowns: this.nrShootdowns,
      remoteFlushReceived: this.nrRemoteFlushReceived,
      ipisSent: this.nrIpisSent,
      broadcastFlushes: this.nrBroadcastFlushes,
      busyNs: this.busyNs,
    };
    const out = {} as TlbStats;
    for (const name of STAT_NAMES) {
      const a = arrays[name];
      if (cpu !== undefined) {
        if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu) throw this.badCpu(cpu);
        out[name] = a[cpu]!;
      } else {
        let s = 0;
        for (let c = 0; c < this.nrCpus; c++) s += a[c]!;
        out[name] = s;
      }
    }
    return out;
  }

  /**
   * Check the MMU's invariants; throws {@link MmBugError} naming the first
   * violation. Every TLB array is well formed; every CPU's loaded address
   * space is alive and has the CPU in its cpumask; a CPU running an address
   * space (not lazily, no flush owed) is up to date with its `tlb_gen`; live
   * address spaces of the current generation have distinct, allocated ASIDs.
   */
  validate(): void {
    for (let c = 0; c < this.nrCpus; c++) {
      for (const t of [this.tlbPte[c]!, this.tlbPmd[c]!, this.tlbPud[c]!]) {
        const err = t.check();
        if (err !== null) throw new MmBugError(`mmu: CPU ${c} ${2 ** (t.shift - 10)}K TLB: ${err}`);
      }
      const as = this.loadedAs[c]!;
      if (as.dead) throw new MmBugError(`mmu: CPU ${c} has destroyed address space ${as.id} loaded`);
      if (this.online[c] === 0) {
        if (as !== this.initMm) throw new MmBugError(`mmu: offline CPU ${c} has address space ${as.id} loaded`);
        for (const s of this.spaces) {
          if (s !== this.initMm && s.cpumask[c] !== 0) {
            throw new MmBugError(`mmu: offline CPU ${c} is in the cpumask of address space ${s.id}`);
          }
        }
      }
      if (as === this.initMm) {
        if (this.loadedAsid[c] !== 0) throw new MmBugError(`mmu: CPU ${c} runs init_mm with tag ${this.loadedAsid[c]}`);
        continue;
      }
      if (as.cpumask[c] !== 1) throw new MmBugError(`mmu: CPU ${c} runs address space ${as.id} outside its cpumask`);
      if (this.loadedAsid[c] !== tagOn(this, c, as)) {
        throw new MmBugError(`mmu: CPU ${c} runs address space ${as.id} with tag ${this.loadedAsid[c]}`);
      }
      const lagAllowed = this.isLazy[c] !== 0 || this.tlbFlushPending[c] !== 0 || as.nrDeferredFlushes > 0;
      if (!lagAllowed && localTlbGen(this, c) !== as.tlbGen) {
        throw new MmBugError(
          `mmu: CPU ${c} runs address space ${as.id} at tlb_gen ${localTlbGen(this, c)}, behind ${as.tlbGen}`,
        );
      }
    }
    if (this.dynamicAsids) {
      const owner = new Map<number, number>();
      for (let c = 0; c < this.nrCpus; c++) {
        const seen = new Set<AddressSpace>();
        for (let k = 0; k < TLB_NR_DYN_ASIDS; k++) {
          const as = this.ctxAs[c * TLB_NR_DYN_ASIDS + k] ?? null;
          if (as === null || as.dead || as.broadcast) continue;
          if (seen.has(as)) throw new MmBugError(`mmu: CPU ${c} gives address space ${as.id} two ASID slots`);
          seen.add(as);
        }
      }
      for (const as of this.spaces) {
        if (!as.broadcast || as === this.initMm) continue;
        if (as.asid <= TLB_NR_DYN_ASIDS || as.asid >= this.nrAsids || this.globalAsidUsed[as.asid] !== 1) {
          throw new MmBugError(`mmu: address space ${as.id} holds unallocated global ASID ${as.asid}`);
        }
        const other = owner.get(as.asid);
        if (other !== undefined) {
          throw new MmBugError(`mmu: address spaces ${other} and ${as.id} share global ASID ${as.asid}`);
        }
        owner.set(as.asid, as.id);
      }
    } else if (this.asidBits > 0) {
      const owner = new Map<number, number>();
      for (const as of this.spaces) {
        if (as === this.initMm || as.asidGeneration !== this.asidGeneration) continue;
        if (as.asid <= 0 || as.asid >= this.nrAsids || this.asidMap[as.asid] !== 1) {
          throw new MmBugError(`mmu: address space ${as.id} holds unallocated ASID ${as.asid}`);
        }
        const other = owner.get(as.asid);
        if (other !== undefined)
          throw new MmBugError(`mmu: address spaces ${other} and ${as.id} share ASID ${as.asid}`);
        owner.set(as.asid, as.id);
      }
    }
  }

  // ---- Helpers ----

  private newAddressSpace(root: number): AddressSpace {
    const as = new AddressSpace(this.nextId++, root, this.nrCpus);
    this.spaces.push(as);
    return as;
  }

  private badCpu(cpu: number): MmuError {
    if (cpu >= 0 && cpu < this.nrCpus && (cpu | 0) === cpu) return new MmuError('EINVAL', `CPU ${cpu} is offline`);
    return new MmuError('EINVAL', `CPU ${cpu} is not in [0, ${this.nrCpus})`);
  }

  private checkCpuAddr(cpu: number, vaddr: number): void {
    if (!(cpu >= 0 && cpu < this.nrCpus) || (cpu | 0) !== cpu) throw this.badCpu(cpu);
    if (!(vaddr >= 0 && vaddr <= Number.MAX_SAFE_INTEGER) || Math.floor(vaddr) !== vaddr) {
      throw new MmuError('EINVAL', `virtual address ${vaddr} is not an integer in [0, 2^53)`);
    }
  }

  private checkRange(start: number, end: number): void {
    if (
      !(start >= 0 && end <= Number.MAX_SAFE_INTEGER && start <= end) ||
      Math.floor(start) !== start ||
      Math.floor(end) !== end
    ) {
      throw new MmuError('EINVAL', `bad range [${start}, ${end})`);
    }
  }
}
