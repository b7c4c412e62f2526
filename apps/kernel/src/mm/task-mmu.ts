/**
 * DOC: /proc/PID/maps (fs/proc/task_mmu.c `show_map_vma()`).
 *
 * One line per VMA: `start-end perms offset dev inode name`. Addresses are
 * lowercase hex, at least 8 digits; perms end with `s` for VM_MAYSHARE
 * mappings and `p` otherwise; the offset (`vm_pgoff << PAGE_SHIFT`, at least
 * 8 hex digits) and device (`MAJ:MIN`, 2 hex digits each) and inode are 0
 * for VMAs without a file. After the inode comes a space; a name is padded
 * to column 72 (`seq_setwidth(25 + 6 * sizeof(void *) - 1)`) plus one
 * space. Names, in the kernel's order: the file's path (or
 * `[anon_shmem:NAME]` for a named shared anonymous mapping), the VMA
 * operations' name (`[vdso]`, `[vvar]`), `[heap]` for a VMA overlapping
 * `[start_brk, brk)`, `[stack]` for the VMA holding `start_stack`, and
 * `[anon:NAME]` for a named anonymous range.
 */
import type { MmStruct, VmAreaStruct } from './mm-types.js';
import { VM_EXEC, VM_MAYSHARE, VM_READ, VM_WRITE } from './vm-flags.js';
import { vmaList } from './vma.js';

function hex(v: number, width: number): string {
  return v.toString(16).padStart(width, '0');
}

/** Special name of the VMA in /proc/pid/maps (`[heap]`, `[stack]`, `[anon:name]`, ...), or null. @kernel get_vma_name (fs/proc/task_mmu.c) */
export function getVmaName(vma: VmAreaStruct): string | null {
  const mm = vma.vmMm;
  const anonName = vma.anonName;
  if (vma.vmFile !== null) {
    if (anonName !== null) return `[anon_shmem:${anonName.name}]`;
    return vma.vmFile.path;
  }
  if (vma.vmOps?.name !== undefined) {
    const n = vma.vmOps.name(vma);
    if (n !== null) return n;
  }
  // vma_is_initial_heap()
  if (vma.vmStart < mm.brk && vma.vmEnd > mm.startBrk) return '[heap]';
  // vma_is_initial_stack()
  if (vma.vmStart <= mm.startStack && vma.vmEnd >= mm.startStack) return '[stack]';
  if (anonName !== null) return `[anon:${anonName.name}]`;
  return null;
}

/**
 * One line of /proc/PID/maps.
 * @kernel show_map_vma (fs/proc/task_mmu.c)
 */
export function showMapVma(vma: VmAreaStruct): string {
  const f = vma.vmFlags;
  let pgoff = 0;
  let major = 0;
  let minor = 0;
  let ino = 0;
  if (vma.vmFile !== null) {
    const inode = vma.vmFile.fInode;
    [major, minor] = inode.iSbDev;
    ino = inode.iIno;
    pgoff = vma.vmPgoff * vma.vmMm.ctx.pageSize;
  }
  const perms =
    (f & VM_READ ? 'r' : '-') + (f & VM_WRITE ? 'w' : '-') + (f & VM_EXEC ? 'x' : '-') + (f & VM_MAYSHARE ? 's' : 'p');
  const head = `${hex(vma.vmStart, 8)}-${hex(vma.vmEnd, 8)} ${perms} ${hex(pgoff, 8)} ${hex(major, 2)}:${hex(minor, 2)} ${ino} `;
  const name = getVmaName(vma);
  // seq_pad(): fill to the width set for the line (72 on 64-bit), then one more space
  return name === null ? `${head}\n` : `${head.padEnd(72)} ${name}\n`;
}

/**
 * /proc/PID/maps of `mm`.
 * @kernel show_map (fs/proc/task_mmu.c)
 */
export function procPidMaps(mm: MmStruct): string {
  let out = '';
  for (const vma of vmaList(mm)) out += showMapVma(vma);
  return out;
}
