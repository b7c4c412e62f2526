/**
 * DOC: a process address space: VMAs in a maple tree, mmap and munmap.
 *
 * The model of the part of `struct mm_struct` the demo needs: the VMA tree
 * (`mm->mm_mt`, a maple tree with MM_MT_FLAGS: gap tracking, external lock,
 * RCU mode) whose nodes come from the `maple_node` slab cache, VMAs whose
 * `vm_area_struct` is a slab object, top-down `get_unmapped_area` through
 * `mas_empty_area_rev`, merging of a new anonymous mapping into an adjacent
 * compatible one (`vma_merge_new_range`), whole-VMA munmap, and
 * `/proc/PID/maps` text. VMA splitting, file mappings' page cache and page
 * tables belong to later packages.
 */
import { EINVAL, ENOMEM, GFP_KERNEL, type Machine } from '@mm/machine';
import {
  MaState,
  MM_MT_FLAGS,
  type Mtree,
  masEmptyAreaRev,
  mtForEach,
  mtreeErase,
  mtreeInit,
  mtreeInsertRange,
  mtreeLoad,
  mtreeStoreRange,
} from '@mm/maple-tree';
import { kmemCacheAlloc, kmemCacheFree } from '@mm/slab-sheaves';
import { SlabMapleNodeAllocator } from './maple-node-alloc.js';
import type { MmCaches } from './slab-caches.js';

/** VMA flags (the low bits of `vm_flags`). */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_GROWSDOWN = 0x100;

/** A mapping: `[start, end)` in bytes. */
export interface Vma {
  start: number;
  end: number;
  readonly flags: number;
  /** Offset in the file, in pages (`vm_pgoff`). */
  readonly pgoff: number;
  /** File path or `[heap]`/`[stack]`/`[vdso]`; empty for anonymous memory. */
  readonly name: string;
  /** `major:minor inode` of the file, for the maps text. */
  readonly dev: string;
  readonly inode: number;
  /** The `vm_area_struct` slab object. */
  readonly obj: number;
}

/** Lowest address mmap may return (`vm.mmap_min_addr`). */
export const MMAP_MIN_ADDR = 0x10000;

/** A process address space. */
export class MmStruct {
  readonly mt: Mtree;
  readonly nodes: SlabMapleNodeAllocator;
  private readonly machine: Machine;
  private readonly caches: MmCaches;
  /** Top of the mmap area (`mm->mmap_base`); top-down allocations end below it. */
  readonly mmapBase: number;
  readonly pageSize: number;

  constructor(machine: Machine, caches: MmCaches, mmapBase: number) {
    this.machine = machine;
    this.caches = caches;
    this.mmapBase = mmapBase;
    this.pageSize = machine.topology.pageSize;
    this.nodes = new SlabMapleNodeAllocator(caches.mapleNode);
    this.mt = mtreeInit(MM_MT_FLAGS, { allocator: this.nodes, rcu: this.nodes.rcuFor(machine) });
  }

  /**
   * Insert a VMA over `[start, end)`; -EEXIST if anything is mapped there, -ENOMEM when out of memory.
   * @kernel vma_link / vma_iter_store (mm/vma.c)
   */
  insertVma(start: number, end: number, flags: number, name = '', pgoff = 0, dev = '00:00', inode = 0): number {
    if (start % this.pageSize !== 0 || end % this.pageSize !== 0 || end <= start) return -EINVAL;
    const obj = kmemCacheAlloc(this.caches.vmArea, GFP_KERNEL);
    if (obj < 0) return obj;
    const vma: Vma = { start, end, flags, pgoff, name, dev, inode, obj };
    const ret = mtreeInsertRange(this.mt, start, end - 1, vma, GFP_KERNEL);
    if (ret !== 0) kmemCacheFree(this.caches.vmArea, obj);
    return ret;
  }

  /**
   * Highest free range of `len` bytes below `mmap_base` (top-down layout), or -ENOMEM.
   * @kernel vm_unmapped_area / unmapped_area_topdown (mm/mmap.c)
   */
  getUnmappedArea(len: number): number {
    const mas = new MaState(this.mt);
    const ret = masEmptyAreaRev(mas, MMAP_MIN_ADDR, this.mmapBase - 1, len);
    return ret === 0 ? mas.index : -ENOMEM;
  }

  /**
   * Map `len` bytes of anonymous memory top-down; merges into the VMA just
   * above when it is anonymous with the same flags. Returns the address or a negative errno.
   * @kernel do_mmap / mmap_region / vma_merge_new_range (mm/mmap.c, mm/vma.c)
   */
  mmapAnon(len: number, flags: number): number {
    if (len <= 0 || len % this.pageSize !== 0) return -EINVAL;
    const addr = this.getUnmappedArea(len);
    if (addr < 0) return addr;
    const next = mtreeLoad(this.mt, addr + len) as Vma | undefined;
    if (next !== undefined && next.start === addr + len && next.name === '' && next.flags === flags) {
      const ret = mtreeStoreRange(this.mt, addr, next.end - 1, next, GFP_KERNEL);
      if (ret !== 0) return ret;
      next.start = addr;
      return addr;
    }
    const ret = this.insertVma(addr, addr + len, flags);
    return ret === 0 ? addr : ret;
  }

  /**
   * Unmap the whole VMA that contains `addr`; -EINVAL if nothing is mapped there.
   * @kernel do_vmi_munmap (mm/vma.c), whole-VMA case
   */
  munmapVma(addr: number): number {
    const vma = mtreeLoad(this.mt, addr) as Vma | undefined;
    if (vma === undefined) return -EINVAL;
    mtreeErase(this.mt, vma.start);
    kmemCacheFree(this.caches.vmArea, vma.obj);
    return 0;
  }

  /** The VMAs in address order. */
  vmas(): Vma[] {
    const out: Vma[] = [];
    mtForEach(this.mt, (entry) => out.push(entry as Vma));
    return out;
  }

  /** Release every VMA and tree node (`exit_mmap`). */
  destroy(): void {
    for (const vma of this.vmas()) this.munmapVma(vma.start);
    this.machine.rcu.rcuBarrier();
  }
}

function hex(v: number, width: number): string {
  return v.toString(16).padStart(width, '0');
}

/**
 * `/proc/PID/maps` text: one line per VMA, the name padded to column 73 as
 * `show_map_vma()` does on 64-bit kernels; anonymous lines end after the inode.
 * @kernel show_map_vma (fs/proc/task_mmu.c)
 */
export function formatMaps(mm: MmStruct): string {
  let out = '';
  for (const v of mm.vmas()) {
    const perms =
      (v.flags & VM_READ ? 'r' : '-') +
      (v.flags & VM_WRITE ? 'w' : '-') +
      (v.flags & VM_EXEC ? 'x' : '-') +
      (v.flags & VM_SHARED ? 's' : 'p');
    const head = `${hex(v.start, 8)}-${hex(v.end, 8)} ${perms} ${hex(v.pgoff * mm.pageSize, 8)} ${v.dev} ${v.inode} `;
    out += v.name === '' ? `${head}\n` : `${head.padEnd(73)}${v.name}\n`;
  }
  return out;
}
