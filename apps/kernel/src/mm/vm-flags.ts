/**
 * DOC: VMA flags (`vm_flags_t`) and the masks and tests mm/ applies to them.
 *
 * Bit numbers are those of Linux 7.2's `enum vma_flag_t` (include/linux/mm.h).
 * A flag set is a JS number holding the 64-bit value; every defined flag is
 * below bit 43, so the value is exact. Bits 0–30 can be tested with `&`
 * (JavaScript's `&` keeps the low 32 bits of the operands), but a flag set is
 * changed only through {@link vmFlagsSet} / {@link vmFlagsClear} /
 * {@link vmFlagsMask}, which keep the high bits (`VM_SEALED`, `VM_DROPPABLE`,
 * protection keys) that a plain `|` would drop.
 *
 * 7.2 against 6.18: bit 11 is `VM_MAYBE_GUARD` (set by MADV_GUARD_INSTALL),
 * and `VM_SOFTDIRTY` and `VM_MAYBE_GUARD` are "sticky": they do not prevent a
 * merge and the merged VMA keeps them if any part had them.
 */

const TWO32 = 4294967296;

/** VMA flag `VM_NONE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_NONE = 0;
/** VMA flag `VM_READ` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_READ = 0x1;
/** VMA flag `VM_WRITE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_WRITE = 0x2;
/** VMA flag `VM_EXEC` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_EXEC = 0x4;
/** VMA flag `VM_SHARED` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_SHARED = 0x8;
/** VMA flag `VM_MAYREAD` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_MAYREAD = 0x10;
/** VMA flag `VM_MAYWRITE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_MAYWRITE = 0x20;
/** VMA flag `VM_MAYEXEC` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_MAYEXEC = 0x40;
/** VMA flag `VM_MAYSHARE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_MAYSHARE = 0x80;
/** VMA flag `VM_GROWSDOWN` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_GROWSDOWN = 0x100;
/** VMA flag `VM_UFFD_MISSING` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_UFFD_MISSING = 0x200;
/** VMA flag `VM_PFNMAP` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_PFNMAP = 0x400;
/** VMA flag `VM_MAYBE_GUARD` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_MAYBE_GUARD = 0x800;
/** VMA flag `VM_UFFD_WP` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_UFFD_WP = 0x1000;
/** VMA flag `VM_LOCKED` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_LOCKED = 0x2000;
/** VMA flag `VM_IO` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_IO = 0x4000;
/** VMA flag `VM_SEQ_READ` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_SEQ_READ = 0x8000;
/** VMA flag `VM_RAND_READ` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_RAND_READ = 0x10000;
/** VMA flag `VM_DONTCOPY` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_DONTCOPY = 0x20000;
/** VMA flag `VM_DONTEXPAND` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_DONTEXPAND = 0x40000;
/** VMA flag `VM_LOCKONFAULT` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_LOCKONFAULT = 0x80000;
/** VMA flag `VM_ACCOUNT` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_ACCOUNT = 0x100000;
/** VMA flag `VM_NORESERVE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_NORESERVE = 0x200000;
/** VMA flag `VM_HUGETLB` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_HUGETLB = 0x400000;
/** VMA flag `VM_SYNC` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_SYNC = 0x800000;
/** VMA flag `VM_ARCH_1` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_ARCH_1 = 0x1000000;
/** VMA flag `VM_WIPEONFORK` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_WIPEONFORK = 0x2000000;
/** VMA flag `VM_DONTDUMP` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_DONTDUMP = 0x4000000;
/** VMA flag `VM_SOFTDIRTY` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_SOFTDIRTY = 0x8000000;
/** VMA flag `VM_MIXEDMAP` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_MIXEDMAP = 0x10000000;
/** VMA flag `VM_HUGEPAGE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_HUGEPAGE = 0x20000000;
/** VMA flag `VM_NOHUGEPAGE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_NOHUGEPAGE = 0x40000000;
/** VMA flag `VM_MERGEABLE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_MERGEABLE = 0x80000000;
/** x86 protection-key bits (VM_HIGH_ARCH_0..4). */
export const VM_PKEY_BIT0 = 2 ** 32;
/** VMA flag `VM_PKEY_BIT1` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_PKEY_BIT1 = 2 ** 33;
/** VMA flag `VM_PKEY_BIT2` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_PKEY_BIT2 = 2 ** 34;
/** VMA flag `VM_PKEY_BIT3` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_PKEY_BIT3 = 2 ** 35;
/** VMA flag `VM_PKEY_BIT4` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_PKEY_BIT4 = 2 ** 36;
/** x86 user shadow stack (VM_HIGH_ARCH_5). */
export const VM_SHADOW_STACK = 2 ** 37;
/** VMA flag `VM_ALLOW_ANY_UNCACHED` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_ALLOW_ANY_UNCACHED = 2 ** 39;
/** VMA flag `VM_DROPPABLE` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_DROPPABLE = 2 ** 40;
/** VMA flag `VM_UFFD_MINOR` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_UFFD_MINOR = 2 ** 41;
/** VMA flag `VM_SEALED` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_SEALED = 2 ** 42;

/** The stack grows down on every architecture the model runs. */
export const VM_STACK = VM_GROWSDOWN;
/** Special VMAs: never merged, never mlocked. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
/** VMA flag `VM_LOCKED_MASK` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;
/** VMA flag `VM_ACCESS_FLAGS` (a `vm_flags` bit, include/linux/mm.h). */
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
/** Flags kept on a merged VMA if any part had them (CONFIG_MEM_SOFT_DIRTY). */
export const VM_STICKY = VM_SOFTDIRTY | VM_MAYBE_GUARD;
/** Flags that do not prevent a merge. */
export const VM_IGNORE_MERGE = VM_STICKY;
/** VMAs that need a gap below them (`vm_start_gap`). */
export const VM_STARTGAP_FLAGS = VM_GROWSDOWN + VM_SHADOW_STACK;
/** The only `mm->def_flags` bit a child inherits. */
export const VM_INIT_DEF_MASK = VM_NOHUGEPAGE;
/** The protection keys, cleared by mprotect (`VM_FLAGS_CLEAR` on x86). */
export const VM_PKEY_FLAGS = VM_PKEY_BIT0 + VM_PKEY_BIT1 + VM_PKEY_BIT2 + VM_PKEY_BIT3;
/** Data default without READ_IMPLIES_EXEC (`VM_DATA_FLAGS_TSK_EXEC`). */
export const VM_DATA_DEFAULT_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
/** Flags of the initial stack VMA. */
export const VM_STACK_FLAGS = VM_STACK | VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT;
/** Khugepaged never scans these. */
export const VM_NO_KHUGEPAGED = VM_SPECIAL | VM_HUGETLB;

/** `a | b` on 64-bit flag sets. */
export function vmFlagsSet(a: number, b: number): number {
  return (((a >>> 0) | (b >>> 0)) >>> 0) + ((Math.floor(a / TWO32) | Math.floor(b / TWO32)) >>> 0) * TWO32;
}

/** `a & ~b` on 64-bit flag sets. */
export function vmFlagsClear(a: number, b: number): number {
  return (((a >>> 0) & ~(b >>> 0)) >>> 0) + ((Math.floor(a / TWO32) & ~Math.floor(b / TWO32)) >>> 0) * TWO32;
}

/** `a & b` on 64-bit flag sets. */
export function vmFlagsMask(a: number, b: number): number {
  return (((a >>> 0) & (b >>> 0)) >>> 0) + ((Math.floor(a / TWO32) & Math.floor(b / TWO32)) >>> 0) * TWO32;
}

/** Whether any flag of `mask` is set in `a` (any bit, high bits too). */
export function vmFlagsAny(a: number, mask: number): boolean {
  return ((a >>> 0) & (mask >>> 0)) !== 0 || (Math.floor(a / TWO32) & Math.floor(mask / TWO32)) !== 0;
}

/** Whether two flag sets are equal ignoring the bits of `ignore`. */
export function vmFlagsEqualIgnoring(a: number, b: number, ignore: number): boolean {
  return vmFlagsClear(a, ignore) === vmFlagsClear(b, ignore);
}

/**
 * Executable code area: executable, not writable, not stack.
 * @kernel is_exec_mapping (mm/vma.h)
 */
export function isExecMapping(flags: number): boolean {
  return (flags & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC;
}

/**
 * Stack area, including shadow stacks.
 * @kernel is_stack_mapping (mm/vma.h)
 */
export function isStackMapping(flags: number): boolean {
  return (flags & VM_STACK) === VM_STACK || vmFlagsAny(flags, VM_SHADOW_STACK);
}

/**
 * Data area: private, writable, not stack.
 * @kernel is_data_mapping (mm/vma.h)
 */
export function isDataMapping(flags: number): boolean {
  return (flags & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE;
}

/**
 * A private mapping that may become writable: written pages are copied.
 * @kernel is_cow_mapping (include/linux/mm.h)
 */
export function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** Whether the flags are of a shared mapping that may become writable (VM_SHARED and VM_MAYWRITE) @kernel is_shared_maywrite (include/linux/mm.h) */
export function isSharedMaywrite(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE);
}

/** The codes of `VmFlags:` in /proc/PID/smaps (x86-64); printed in bit order. */
const MNEMONICS: readonly (readonly [number, string])[] = (
  [
    [VM_READ, 'rd'],
    [VM_WRITE, 'wr'],
    [VM_EXEC, 'ex'],
    [VM_SHARED, 'sh'],
    [VM_MAYREAD, 'mr'],
    [VM_MAYWRITE, 'mw'],
    [VM_MAYEXEC, 'me'],
    [VM_MAYSHARE, 'ms'],
    [VM_GROWSDOWN, 'gd'],
    [VM_PFNMAP, 'pf'],
    [VM_MAYBE_GUARD, 'gu'],
    [VM_LOCKED, 'lo'],
    [VM_IO, 'io'],
    [VM_SEQ_READ, 'sr'],
    [VM_RAND_READ, 'rr'],
    [VM_DONTCOPY, 'dc'],
    [VM_DONTEXPAND, 'de'],
    [VM_LOCKONFAULT, 'lf'],
    [VM_ACCOUNT, 'ac'],
    [VM_NORESERVE, 'nr'],
    [VM_HUGETLB, 'ht'],
    [VM_SYNC, 'sf'],
    [VM_ARCH_1, 'ar'],
    [VM_WIPEONFORK, 'wf'],
    [VM_DONTDUMP, 'dd'],
    [VM_SOFTDIRTY, 'sd'],
    [VM_MIXEDMAP, 'mm'],
    [VM_HUGEPAGE, 'hg'],
    [VM_NOHUGEPAGE, 'nh'],
    [VM_MERGEABLE, 'mg'],
    [VM_UFFD_MISSING, 'um'],
    [VM_UFFD_WP, 'uw'],
    [VM_UFFD_MINOR, 'ui'],
    [VM_SHADOW_STACK, 'ss'],
    [VM_DROPPABLE, 'dp'],
    [VM_SEALED, 'sl'],
  ] as [number, string][]
).sort((a, b) => a[0] - b[0]);

/**
 * A flag set as the `VmFlags:` codes of /proc/PID/smaps ("rd wr mr mw me ac").
 * @kernel show_smap_vma_flags (fs/proc/task_mmu.c)
 */
export function vmFlagsString(flags: number): string {
  const out: string[] = [];
  for (const [bit, code] of MNEMONICS) if (vmFlagsAny(flags, bit)) out.push(code);
  return out.join(' ');
}
