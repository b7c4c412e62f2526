/**
 * DOC: the anon_vma side of rmap as the VMA code needs it: the seam, and the
 * chains that stand in for it until `@mm/folio-rmap` is wired in.
 *
 * mm/vma.c treats `vma->anon_vma` as an identity (merges need equal
 * pointers) and looks at the length of `vma->anon_vma_chain` (a VMA whose
 * chain is not singular was forked, and is not merged with a neighbour
 * that has no anon_vma). It calls rmap to prepare, clone and unlink
 * anon_vmas and to re-index a VMA whose range changes. {@link AnonVmaOps}
 * is that interface; the composer implements it with the real anon_vma
 * trees of `@mm/folio-rmap`.
 *
 * {@link ChainAnonVmaOps} implements it the way mm/rmap.c builds the
 * structures, without the interval trees and folios: `anon_vma` and
 * `anon_vma_chain` objects from their slab caches (so failslab reaches
 * them), one chain link per anon_vma a VMA belongs to, `num_children` and
 * `num_active_vmas` counts, the reference count that frees an anon_vma
 * when its last chain link goes. `__anon_vma_prepare()` reuses a
 * neighbour's anon_vma through `find_mergeable_anon_vma()` (whose VMA-lock fallback came with the per-VMA locks series, v6.4).
 */
import { ENOMEM, GFP_KERNEL, MmBugError } from '@mm/machine';
import { type KmemCache, kmemCacheAlloc, kmemCacheFree } from '@mm/slab-sheaves';
import type { VmAreaStruct } from './mm-types.js';

/** An anon_vma: an identity with a root (opaque to the VMA code). @kernel struct anon_vma (include/linux/rmap.h) */
export interface AnonVma {
  /** The root of the anon_vma tree this one belongs to (itself for a root), whose lock covers the whole tree; mirrors `anon_vma::root`. */
  readonly root: AnonVma;
}

/** One link of a VMA's anon_vma_chain. @kernel struct anon_vma_chain (include/linux/rmap.h) */
export interface AnonVmaChain {
  /** The VMA end of the link; mirrors `anon_vma_chain::vma`. */
  readonly vma: VmAreaStruct;
  /** The anon_vma end of the link; mirrors `anon_vma_chain::anon_vma`. */
  readonly anonVma: AnonVma;
}

/** Why anon_vmas are cloned. @kernel enum vma_operation (mm/internal.h) */
export const VMA_OP_SPLIT = 0;
/** Why anon_vmas are cloned: `VMA_OP_MERGE_UNFAULTED` (enum vma_operation, mm/internal.h). */
export const VMA_OP_MERGE_UNFAULTED = 1;
/** Why anon_vmas are cloned: `VMA_OP_REMAP` (enum vma_operation, mm/internal.h). */
export const VMA_OP_REMAP = 2;
/** Why anon_vmas are cloned: `VMA_OP_FORK` (enum vma_operation, mm/internal.h). */
export const VMA_OP_FORK = 3;

/** What mm/vma.c asks of rmap's anon_vma code. */
export interface AnonVmaOps {
  /**
   * Give `vma` (which has none) an anon_vma: a neighbour's, or a new one.
   * @returns 0 or -ENOMEM.
   * @kernel __anon_vma_prepare (mm/rmap.c)
   */
  anonVmaPrepare(vma: VmAreaStruct): number;
  /**
   * Link `dst` to every anon_vma `src` is linked to (`dst.anonVma` is already set by the caller).
   * @returns 0 or -ENOMEM (nothing linked, `dst.anonVma` reset to null).
   * @kernel anon_vma_clone (mm/rmap.c)
   */
  anonVmaClone(dst: VmAreaStruct, src: VmAreaStruct, operation: number): number;
  /**
   * Unlink `vma` from its anon_vmas, free those left empty, clear `vma.anonVma`.
   * @kernel unlink_anon_vmas (mm/rmap.c)
   */
  unlinkAnonVmas(vma: VmAreaStruct): void;
  /** Before `vma`'s range or pgoff changes. @kernel anon_vma_interval_tree_pre_update_vma (mm/vma.c) */
  preUpdateVma(vma: VmAreaStruct): void;
  /** After `vma`'s range or pgoff changed. @kernel anon_vma_interval_tree_post_update_vma (mm/vma.c) */
  postUpdateVma(vma: VmAreaStruct): void;
}

/** Whether `vma` may hold CoW pages from a parent. @kernel vma_is_fork_child (mm/vma.c) */
export function vmaIsForkChild(vma: VmAreaStruct | null): boolean {
  return vma !== null && vma.anonVma !== null && vma.anonVmaChain.length !== 1;
}

/** An anon_vma of {@link ChainAnonVmaOps}. */
export class ChainAnonVma implements AnonVma {
  /** The root of this anon_vma's fork tree (itself for a root); mirrors `anon_vma::root`. */
  root: ChainAnonVma;
  /** The anon_vma this one was forked from (itself for a root); mirrors `anon_vma::parent`. */
  parent: ChainAnonVma;
  /** References: one for itself (dropped when its last link goes), one per child's root pointer. */
  refcount: number;
  /** Child anon_vmas plus one for itself while linked. */
  numChildren: number;
  /** VMAs whose `anon_vma` is this one. */
  numActiveVmas: number;
  /** Chain links into this anon_vma (the size of its interval tree). */
  nrLinks: number;
  /** The `anon_vma` slab object. */
  readonly obj: number;

  constructor(obj: number) {
    this.root = this;
    this.parent = this;
    this.refcount = 1;
    this.numChildren = 0;
    this.numActiveVmas = 0;
    this.nrLinks = 0;
    this.obj = obj;
  }
}

/** A chain link of {@link ChainAnonVmaOps}. */
interface ChainLink extends AnonVmaChain {
  readonly anonVma: ChainAnonVma;
  readonly obj: number;
}

/**
 * anon_vma and anon_vma_chain objects as mm/rmap.c keeps them, without the
 * interval trees (no folios yet). `findMergeable` is mm/vma.c's
 * `find_mergeable_anon_vma()` (passed in to keep this file below vma.c).
 */
export class ChainAnonVmaOps implements AnonVmaOps {
  /** The slab cache anon_vmas come from; mirrors `anon_vma_cachep`. */
  readonly anonVmaCache: KmemCache;
  /** The slab cache anon_vma_chain links come from; mirrors `anon_vma_chain_cachep`. */
  readonly chainCache: KmemCache;
  private readonly findMergeable: (vma: VmAreaStruct) => AnonVma | null;
  /** Live anon_vmas (for leak checks). */
  nrAnonVmas: number;
  /** Live chain links (for leak checks). */
  nrLinks: number;

  constructor(anonVmaCache: KmemCache, chainCache: KmemCache, findMergeable: (vma: VmAreaStruct) => AnonVma | null) {
    this.anonVmaCache = anonVmaCache;
    this.chainCache = chainCache;
    this.findMergeable = findMergeable;
    this.nrAnonVmas = 0;
    this.nrLinks = 0;
  }

  /** @kernel anon_vma_alloc (mm/rmap.c) */
  private anonVmaAlloc(): ChainAnonVma | null {
    const obj = kmemCacheAlloc(this.anonVmaCache, GFP_KERNEL);
    if (obj < 0) return null;
    this.nrAnonVmas++;
    return new ChainAnonVma(obj);
  }

  /** @kernel put_anon_vma (include/linux/rmap.h) */
  private putAnonVma(av: ChainAnonVma): void {
    if (--av.refcount > 0) return;
    const root = av.root;
    kmemCacheFree(this.anonVmaCache, av.obj);
    this.nrAnonVmas--;
    if (root !== av) this.putAnonVma(root);
  }

  private link(vma: VmAreaStruct, av: ChainAnonVma): boolean {
    const obj = kmemCacheAlloc(this.chainCache, GFP_KERNEL);
    if (obj < 0) return false;
    const avc: ChainLink = { vma, anonVma: av, obj };
    vma.anonVmaChain.push(avc);
    av.nrLinks++;
    this.nrLinks++;
    return true;
  }

  private freeLink(avc: ChainLink): void {
    kmemCacheFree(this.chainCache, avc.obj);
    this.nrLinks--;
  }

  anonVmaPrepare(vma: VmAreaStruct): number {
    const avcObj = kmemCacheAlloc(this.chainCache, GFP_KERNEL);
    if (avcObj < 0) return -ENOMEM;
    let av = this.findMergeable(vma) as ChainAnonVma | null;
    if (av === null) {
      av = this.anonVmaAlloc();
      if (av === null) {
        kmemCacheFree(this.chainCache, avcObj);
        return -ENOMEM;
      }
      av.numChildren++; // self-parent link for new anon_vmas
    }
    vma.anonVma = av;
    const avc: ChainLink = { vma, anonVma: av, obj: avcObj };
    vma.anonVmaChain.push(avc);
    av.nrLinks++;
    this.nrLinks++;
    av.numActiveVmas++;
    return 0;
  }

  anonVmaClone(dst: VmAreaStruct, src: VmAreaStruct, operation: number): number {
    if (src.anonVma === null) return 0;
    const start = dst.anonVmaChain.length;
    for (const pavc of src.anonVmaChain) {
      if (!this.link(dst, pavc.anonVma as ChainAnonVma)) {
        // cleanup_partial_anon_vmas()
        const added = dst.anonVmaChain.splice(start) as ChainLink[];
        for (const avc of added) {
          avc.anonVma.nrLinks--;
          this.freeLink(avc);
        }
        dst.anonVma = null;
        return -ENOMEM;
      }
    }
    if (operation !== VMA_OP_FORK) (dst.anonVma as ChainAnonVma).numActiveVmas++;
    return 0;
  }

  unlinkAnonVmas(vma: VmAreaStruct): void {
    const active = vma.anonVma as ChainAnonVma | null;
    if (active === null) {
      if (vma.anonVmaChain.length !== 0) throw new MmBugError('anon_vma: unfaulted VMA with a chain');
      return;
    }
    const chain = vma.anonVmaChain as ChainLink[];
    const empty: ChainLink[] = [];
    // newest first, so the root anon_vma is freed last
    for (let i = chain.length - 1; i >= 0; i--) {
      const avc = chain[i] as ChainLink;
      const av = avc.anonVma;
      av.nrLinks--;
      if (av.nrLinks === 0) {
        av.parent.numChildren--;
        empty.push(avc);
        continue;
      }
      this.freeLink(avc);
    }
    active.numActiveVmas--;
    vma.anonVma = null;
    vma.anonVmaChain = [];
    for (const avc of empty) {
      this.putAnonVma(avc.anonVma);
      this.freeLink(avc);
    }
  }

  preUpdateVma(_vma: VmAreaStruct): void {}

  postUpdateVma(_vma: VmAreaStruct): void {}
}
