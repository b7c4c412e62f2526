/**
 * DOC: the layout of a new address space (mm/util.c and
 * arch/x86/mm/mmap.c `arch_pick_mmap_layout()`, fs/binfmt_elf.c and
 * fs/exec.c for where an ELF program's pieces go).
 *
 * Top-down (the default): `mmap_base` sits below the stack, leaving room for
 * RLIMIT_STACK plus the guard gap and the stack's randomisation, clamped to
 * [128 MiB, 5/6 of the address space], minus a random offset of
 * `mmap_rnd_bits` pages bits. Legacy bottom-up (`ADDR_COMPAT_LAYOUT`,
 * `vm.legacy_va_layout`, and outside x86 an unlimited stack) starts at
 * `TASK_UNMAPPED_BASE` (a third of the address space). Randomisation
 * (`kernel.randomize_va_space`) draws from the kernel's seeded `mm-aslr`
 * stream, so a seed gives the same layout every run.
 *
 * {@link setupExecLayout} builds the address space of a position-independent
 * program as `execve()` leaves it: the stack VMA at the top (132 KiB, growing
 * down, accounted), the program's text, read-only data and data mapped
 * privately from its file at `ELF_ET_DYN_BASE` (two thirds of the address
 * space), its bss, the heap (`start_brk` after the bss, randomised up to
 * 1 GiB), an initial heap grown with `brk()`, and the vDSO below
 * `mmap_base`.
 */
import { MmBugError } from '@mm/machine';
import type { File } from './file.js';
import { ADDR_COMPAT_LAYOUT, type MmStruct, vmaSetAnonymous, vmaSetRange } from './mm-types.js';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE } from './mman.js';
import { sysBrk, vmMmapPgoff } from './mmap.js';
import { mmapWriteLock, mmapWriteUnlock } from './mmap-lock.js';
import { insertVmStruct } from './mmap-region.js';
import { mapVdso } from './special-mapping.js';
import { VM_SOFTDIRTY, VM_STACK_FLAGS, vmFlagsSet } from './vm-flags.js';
import { vmStatAccount } from './vm-stat.js';
import { vmGetPageProt } from './vma.js';
import { vmAreaAlloc, vmAreaFree } from './vma-init.js';

const SZ_128M = 128 * 1024 * 1024;
const SZ_1G = 1024 * 1024 * 1024;

/** Whether the process's addresses are randomised (PF_RANDOMIZE). */
function randomized(mm: MmStruct): boolean {
  return mm.ctx.randomizeVaSpace !== 0;
}

/** `STACK_RND_MASK << PAGE_SHIFT`: how far the stack top moves. */
function stackRndBytes(mm: MmStruct): number {
  const ctx = mm.ctx;
  // x86-64: 0x3fffff pages (16 GiB); elsewhere 0x3ffff >> (PAGE_SHIFT - 12)
  const mask = ctx.arch === 'x86_64' ? 0x3fffff : Math.floor(0x3ffff / 2 ** (ctx.pageShift - 12));
  return mask * ctx.pageSize;
}

/** @kernel arch_mmap_rnd (mm/util.c, arch/x86/mm/mmap.c) */
function archMmapRnd(mm: MmStruct): number {
  if (!randomized(mm)) return 0;
  return mm.ctx.aslr.below(2 ** mm.ctx.mmapRndBits) * mm.ctx.pageSize;
}

function pageAlign(mm: MmStruct, x: number): number {
  return Math.ceil(x / mm.ctx.pageSize) * mm.ctx.pageSize;
}

/**
 * Choose top-down or legacy layout and set `mmap_base` / `mmap_legacy_base`.
 * @kernel arch_pick_mmap_layout (mm/util.c, arch/x86/mm/mmap.c)
 */
export function archPickMmapLayout(mm: MmStruct): void {
  const ctx = mm.ctx;
  const rlimStack = mm.rlim.stack.cur;
  const x86 = ctx.arch === 'x86_64';
  let legacy = (mm.personality & ADDR_COMPAT_LAYOUT) !== 0 || ctx.sysctlLegacyVaLayout !== 0;
  // outside x86 an unlimited stack means the legacy layout
  if (!x86 && rlimStack === Infinity) legacy = true;
  const rnd = archMmapRnd(mm);
  const taskSize = mm.taskSize;
  // mmap_base(): leave room for the stack's limit, guard gap and randomisation
  let gap = rlimStack;
  const pad = ctx.stackGuardGap + (randomized(mm) ? stackRndBytes(mm) : 0);
  if (gap !== Infinity) gap += pad;
  const maxGap = Math.floor(taskSize / 6) * 5;
  gap = Math.min(Math.max(gap, SZ_128M), maxGap);
  const base = pageAlign(mm, taskSize - gap - rnd);
  mm.mmapLegacyBase = ctx.taskUnmappedBase + rnd;
  mm.topdown = !legacy;
  mm.mmapBase = legacy ? mm.mmapLegacyBase : base;
}

/** What {@link setupExecLayout} maps. */
export interface ExecLayoutOptions {
  /** The program file (text, rodata and data are mapped from it). */
  readonly exe: File;
  /** Sizes in bytes (rounded up to pages). */
  readonly textBytes?: number;
  /** Read-only data segment size (default 8 KiB). */
  readonly rodataBytes?: number;
  /** Writable file-backed data segment size (default 4 KiB). */
  readonly dataBytes?: number;
  /** Zero-filled anonymous bss size (default 4 KiB). */
  readonly bssBytes?: number;
  /** Heap to grow with brk() after exec (0: none yet). */
  readonly heapBytes?: number;
  /** Map the vDSO (default true). */
  readonly vdso?: boolean;
}

/** Where {@link setupExecLayout} put things. */
export interface ExecLayout {
  /** Address the executable's text was mapped at (randomized with ASLR), as `load_elf_binary()` computes it. */
  readonly loadBias: number;
  /** Exclusive top of the stack VMA (randomized with ASLR), as `randomize_stack_top()` gives it. */
  readonly stackTop: number;
  /** Start address of the vDSO mapping, or 0 when it was not mapped. */
  readonly vdso: number;
}

/**
 * Build the address space of a freshly exec'd position-independent program
 * in an empty `mm`.
 * @throws MmBugError when the fresh address space cannot hold it (the
 * kernel would fail the exec with the errno).
 * @kernel load_elf_binary (fs/binfmt_elf.c), setup_arg_pages (fs/exec.c)
 */
export function setupExecLayout(mm: MmStruct, opts: ExecLayoutOptions): ExecLayout {
  const ctx = mm.ctx;
  const page = ctx.pageSize;
  if (mm.mapCount !== 0) throw new MmBugError('mm: setupExecLayout needs an empty mm');
  archPickMmapLayout(mm);
  // the stack: randomize_stack_top(STACK_TOP), 128 KiB expanded below the argument page
  const stackTop =
    pageAlign(mm, mm.taskSize) - (randomized(mm) ? ctx.aslr.below(stackRndBytes(mm) / page + 1) * page : 0);
  const stackSize = 0x21000;
  const stack = vmAreaAlloc(mm);
  if (stack === null) throw new MmBugError('mm: exec: no memory for the stack VMA');
  vmaSetAnonymous(stack);
  vmaSetRange(stack, stackTop - stackSize, stackTop, 0);
  stack.vmFlags = ctx.softDirty ? vmFlagsSet(VM_STACK_FLAGS, VM_SOFTDIRTY) : VM_STACK_FLAGS;
  stack.vmPageProt = vmGetPageProt(stack.vmFlags);
  mmapWriteLock(mm);
  let ret = insertVmStruct(mm, stack);
  if (ret === 0) vmStatAccount(mm, stack.vmFlags, stackSize / page);
  mmapWriteUnlock(mm);
  if (ret !== 0) {
    vmAreaFree(stack);
    throw new MmBugError(`mm: exec: stack VMA refused (${ret})`);
  }
  mm.startStack = stackTop - 0x1000 + 0x2f0;
  mm.argStart = stackTop - 0x1000 + 0x300;
  mm.argEnd = mm.argStart + 0x20;
  mm.envStart = mm.argEnd;
  mm.envEnd = stackTop - 0x20;
  // ELF_ET_DYN_BASE: two thirds of the default window, plus the mmap randomisation
  const loadBias = Math.floor((Math.floor(mm.taskSize / 3) * 2) / page) * page + archMmapRnd(mm);
  const text = pageAlign(mm, opts.textBytes ?? 0x4000);
  const rodata = pageAlign(mm, opts.rodataBytes ?? 0x2000);
  const data = pageAlign(mm, opts.dataBytes ?? 0x1000);
  const bss = pageAlign(mm, opts.bssBytes ?? 0x1000);
  const fixed = MAP_PRIVATE | MAP_FIXED;
  const seg = (addr: number, len: number, prot: number, flags: number, file: File | null, pgoff: number) => {
    if (len === 0) return;
    ret = vmMmapPgoff(mm, file, addr, len, prot, flags, pgoff);
    if (ret < 0) throw new MmBugError(`mm: exec: mapping ${addr.toString(16)} failed (${ret})`);
  };
  seg(loadBias, text, PROT_READ | PROT_EXEC, fixed, opts.exe, 0);
  seg(loadBias + text, rodata, PROT_READ, fixed, opts.exe, text / page);
  seg(loadBias + text + rodata, data, PROT_READ | PROT_WRITE, fixed, opts.exe, (text + rodata) / page);
  seg(loadBias + text + rodata + data, bss, PROT_READ | PROT_WRITE, fixed | MAP_ANONYMOUS, null, 0);
  mm.startCode = loadBias;
  mm.endCode = loadBias + text;
  mm.startData = loadBias + text + rodata;
  mm.endData = mm.startData + data;
  // set_brk() and arch_randomize_brk(): up to 1 GiB above the bss
  let brk = loadBias + text + rodata + data + bss;
  if (randomized(mm) && ctx.randomizeVaSpace > 1) brk += ctx.aslr.below(SZ_1G / page) * page;
  mm.startBrk = brk;
  mm.brk = brk;
  if ((opts.heapBytes ?? 0) > 0) {
    const want = brk + (opts.heapBytes as number);
    if (sysBrk(mm, want) !== want) throw new MmBugError('mm: exec: the initial heap could not grow');
  }
  let vdso = 0;
  if (opts.vdso !== false) {
    mmapWriteLock(mm);
    vdso = mapVdso(mm);
    mmapWriteUnlock(mm);
    if (vdso < 0) throw new MmBugError(`mm: exec: mapping the vDSO failed (${vdso})`);
  }
  return { loadBias, stackTop, vdso };
}
