/**
 * DOC: tearing down the page tables of VMAs being removed: the VMA-side
 * halves of `unmap_region()` (mm/vma.c), `unmap_vmas()` and
 * `free_pgtables()` (mm/memory.c).
 *
 * They walk the VMAs (from a maple state over the VMA tree, or over the
 * side tree munmap detached them into), zap each one's range, unlink each
 * one from its anon_vmas and its file's `i_mmap` (batched per file, eight at
 * a time), gather neighbours less than a PMD apart into one
 * `free_pgd_range()` call, and pass the floor and ceiling that keep page
 * tables shared with the surrounding VMAs. The entry work is the page-table
 * seam's (pgtable-ops.ts).
 */
import { MAPLE_MAX, type MaState } from '@mm/maple-tree';
import { type AddressSpace, type File, iMmapRemove, mappingUnmapWritable } from './file.js';
import { type VmAreaStruct, vmaIsSharedMaywrite, vmaStartWrite } from './mm-types.js';
import { type MmuGather, ZAP_FLAG_DROP_MARKER, ZAP_FLAG_UNMAP } from './pgtable-ops.js';

/** `FIRST_USER_ADDRESS` (0 on the 64-bit architectures modelled). */
export const FIRST_USER_ADDRESS = 0;
/** `USER_PGTABLES_CEILING`: 0 means the top of the address space. */
export const USER_PGTABLES_CEILING = 0;

/** What an unmap tears down: the VMAs, the range and the page-table bounds. @kernel struct unmap_desc (mm/vma.h) */
export interface UnmapDesc {
  /** Positioned just after `first`. */
  readonly mas: MaState;
  readonly first: VmAreaStruct;
  /** The first page-table address that may be freed (floor). */
  readonly pgStart: number;
  /** The page-table ceiling (exclusive; 0 = the top). */
  readonly pgEnd: number;
  readonly vmaStart: number;
  readonly vmaEnd: number;
  /** The walk's limit in the tree (exclusive; 0 = no limit). */
  readonly treeEnd: number;
  /** Where the walk restarts for free_pgtables. */
  readonly treeReset: number;
  readonly mmWrLocked: boolean;
}

/**
 * Unmap one VMA's whole range between its neighbours.
 * @kernel UNMAP_STATE (mm/vma.h)
 */
export function unmapState(
  mas: MaState,
  vma: VmAreaStruct,
  vmaStart: number,
  vmaEnd: number,
  prev: VmAreaStruct | null,
  next: VmAreaStruct | null,
): UnmapDesc {
  return {
    mas,
    first: vma,
    pgStart: prev !== null ? prev.vmEnd : FIRST_USER_ADDRESS,
    pgEnd: next !== null ? next.vmStart : USER_PGTABLES_CEILING,
    vmaStart,
    vmaEnd,
    treeEnd: next !== null ? next.vmStart : USER_PGTABLES_CEILING,
    treeReset: vma.vmEnd,
    mmWrLocked: true,
  };
}

function treeMax(unmap: UnmapDesc): number {
  // tree_end - 1 with an unsigned wrap of 0 to ULONG_MAX
  return unmap.treeEnd === 0 ? MAPLE_MAX : unmap.treeEnd - 1;
}

/**
 * Get rid of page table information in the indicated region.
 * @kernel unmap_region (mm/vma.c)
 */
export function unmapRegion(unmap: UnmapDesc): void {
  const mm = unmap.first.vmMm;
  const pt = mm.ctx.pt;
  const tlb = pt.tlbGatherMmu(mm);
  pt.updateHiwaterRss(mm);
  unmapVmas(tlb, unmap);
  unmap.mas.set(unmap.treeReset);
  freePgtables(tlb, unmap);
  pt.tlbFinishMmu(tlb);
}

/**
 * Zap every VMA's part of `[vmaStart, vmaEnd)`, dropping markers.
 * @kernel unmap_vmas (mm/memory.c)
 */
export function unmapVmas(tlb: MmuGather, unmap: UnmapDesc): void {
  const pt = tlb.mm.ctx.pt;
  const max = treeMax(unmap);
  let vma: VmAreaStruct | null = unmap.first;
  do {
    const start = Math.max(vma.vmStart, unmap.vmaStart);
    const end = Math.min(vma.vmEnd, unmap.vmaEnd);
    pt.zapVmaRange(tlb, vma, start, end, ZAP_FLAG_DROP_MARKER | ZAP_FLAG_UNMAP);
    vma = (unmap.mas.find(max) as VmAreaStruct | undefined) ?? null;
  } while (vma !== null);
}

/**
 * Unlink the VMAs from rmap and free their page tables, neighbours within a
 * PMD of each other in one call.
 * @kernel free_pgtables (mm/memory.c)
 */
export function freePgtables(tlb: MmuGather, unmap: UnmapDesc): void {
  const mm = tlb.mm;
  const ctx = mm.ctx;
  const max = treeMax(unmap);
  const vb = new UnlinkVmaFileBatch();
  let vma: VmAreaStruct | null = unmap.first;
  do {
    const addr = vma.vmStart;
    let next = (unmap.mas.find(max) as VmAreaStruct | undefined) ?? null;
    if (unmap.mmWrLocked) vmaStartWrite(vma);
    ctx.anon.unlinkAnonVmas(vma);
    vb.init();
    vb.add(vma);
    while (next !== null && next.vmStart <= vma.vmEnd + ctx.pmdSize) {
      vma = next;
      next = (unmap.mas.find(max) as VmAreaStruct | undefined) ?? null;
      if (unmap.mmWrLocked) vmaStartWrite(vma);
      ctx.anon.unlinkAnonVmas(vma);
      vb.add(vma);
    }
    vb.final();
    ctx.pt.freePgdRange(tlb, addr, vma.vmEnd, unmap.pgStart, next !== null ? next.vmStart : unmap.pgEnd);
    vma = next;
  } while (vma !== null);
}

/**
 * Remove a VMA from its file's `i_mmap` (one less shared writable mapping
 * if it was one).
 * @kernel __remove_shared_vm_struct (mm/vma.c)
 */
export function removeSharedVmStruct(vma: VmAreaStruct, mapping: AddressSpace): void {
  if (vmaIsSharedMaywrite(vma)) mappingUnmapWritable(mapping);
  iMmapRemove(vma, mapping);
}

/**
 * Up to eight VMAs of one file unlinked under one i_mmap lock.
 * @kernel struct unlink_vma_file_batch (mm/vma.h)
 */
export class UnlinkVmaFileBatch {
  readonly vmas: VmAreaStruct[];

  constructor() {
    this.vmas = [];
  }

  /** Start an empty batch of file VMAs to unlink. @kernel unlink_file_vma_batch_init (mm/vma.c) */
  init(): void {
    this.vmas.length = 0;
  }

  private process(): void {
    const mapping = ((this.vmas[0] as VmAreaStruct).vmFile as File).fMapping;
    for (const v of this.vmas) removeSharedVmStruct(v, mapping);
    this.init();
  }

  /** Add a file VMA to the batch, flushing the batch first when it is full or of another file. @kernel unlink_file_vma_batch_add (mm/vma.c) */
  add(vma: VmAreaStruct): void {
    if (vma.vmFile === null) return;
    if ((this.vmas.length > 0 && (this.vmas[0] as VmAreaStruct).vmFile !== vma.vmFile) || this.vmas.length === 8)
      this.process();
    this.vmas.push(vma);
  }

  /** Unlink the VMAs still in the batch. @kernel unlink_file_vma_batch_final (mm/vma.c) */
  final(): void {
    if (this.vmas.length > 0) this.process();
  }
}
