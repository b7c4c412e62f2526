/**
 * DOC: the anon_vma seam implemented with `@mm/folio-rmap`'s real anon_vma
 * and anon_vma_chain trees.
 *
 * A `VmAreaStruct` is the rmap's `RmapVma` (it has the fields the rmap reads
 * and owns: range, pgoff, flags, mm, anon_vma, chain, `shared.rb`), and its
 * `MmStruct` the rmap's `RmapMm`. The anon_vma and chain objects come from
 * the kernel's `anon_vma` / `anon_vma_chain` slab caches through the rmap's
 * allocation hooks, so failslab reaches them.
 */
import {
  anonVmaClone,
  anonVmaIntervalTreePostUpdateVma,
  anonVmaIntervalTreePreUpdateVma,
  anonVmaPrepare,
  type FolioRmap,
  type AnonVma as RmapAnonVma,
  type RmapVma,
  unlinkAnonVmas,
} from '@mm/folio-rmap';
import type { AnonVma, AnonVmaOps } from '../mm/anon-vma.js';
import type { VmAreaStruct } from '../mm/mm-types.js';
import { findMergeableAnonVma } from '../mm/vma.js';

/** A kernel VMA as the rmap types it. */
export function rmapVma(vma: VmAreaStruct): RmapVma {
  return vma as unknown as RmapVma;
}

/** {@link AnonVmaOps} over `@mm/folio-rmap`. */
export class RmapAnonVmaOps implements AnonVmaOps {
  /** The folio/rmap store whose anon_vmas and chains this seam creates and links. */
  readonly rm: FolioRmap;

  constructor(rm: FolioRmap) {
    this.rm = rm;
  }

  /** Make sure the VMA has an anon_vma, reusing a neighbour's when possible; 0 or -ENOMEM. @kernel __anon_vma_prepare (mm/rmap.c), with find_mergeable_anon_vma */
  anonVmaPrepare(vma: VmAreaStruct): number {
    if (vma.anonVma !== null) return 0;
    const mergeable = findMergeableAnonVma(vma) as RmapAnonVma | null;
    return anonVmaPrepare(this.rm, rmapVma(vma), mergeable);
  }

  /** Give `dst` the anon_vma links of `src` (split, merge or fork); 0 or -ENOMEM. @kernel anon_vma_clone (mm/rmap.c) */
  anonVmaClone(dst: VmAreaStruct, src: VmAreaStruct, operation: number): number {
    return anonVmaClone(this.rm, rmapVma(dst), rmapVma(src), operation);
  }

  /** Remove the VMA's anon_vma links, freeing anon_vmas left unused. @kernel unlink_anon_vmas (mm/rmap.c) */
  unlinkAnonVmas(vma: VmAreaStruct): void {
    unlinkAnonVmas(this.rm, rmapVma(vma));
  }

  /** Take the VMA out of its anon_vmas' interval trees before its range changes. @kernel anon_vma_interval_tree_pre_update_vma (mm/vma.c) */
  preUpdateVma(vma: VmAreaStruct): void {
    anonVmaIntervalTreePreUpdateVma(this.rm, rmapVma(vma));
  }

  /** Put the VMA back into its anon_vmas' interval trees after its range changed. @kernel anon_vma_interval_tree_post_update_vma (mm/vma.c) */
  postUpdateVma(vma: VmAreaStruct): void {
    anonVmaIntervalTreePostUpdateVma(this.rm, rmapVma(vma));
  }
}

/** The rmap's anon_vma behind a VMA's opaque one. */
export function asRmapAnonVma(av: AnonVma | null): RmapAnonVma | null {
  return av as RmapAnonVma | null;
}
