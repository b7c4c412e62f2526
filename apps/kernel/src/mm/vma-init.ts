/**
 * DOC: allocating, duplicating and freeing `vm_area_struct`s from the
 * `vm_area_struct` slab cache (mm/vma_init.c).
 */
import { GFP_KERNEL, MmBugError } from '@mm/machine';
import { kmemCacheAlloc, kmemCacheFree } from '@mm/slab-sheaves';
import { type MmStruct, VmAreaStruct } from './mm-types.js';

/**
 * A new, detached VMA of `mm` (flags 0, dummy vm_ops: not yet anonymous).
 * @returns the VMA, or null when the slab allocation fails.
 * @kernel vm_area_alloc (mm/vma_init.c)
 */
export function vmAreaAlloc(mm: MmStruct): VmAreaStruct | null {
  const obj = kmemCacheAlloc(mm.ctx.caches.vmArea, GFP_KERNEL);
  if (obj < 0) return null;
  return new VmAreaStruct(mm, obj);
}

/**
 * A detached copy of `orig` (range, flags, file, anon_vma pointer, ops,
 * policy, uffd context, name); its anon_vma chain is empty (the caller
 * clones it) and its lock state fresh.
 * @returns the copy, or null when the slab allocation fails.
 * @kernel vm_area_dup (mm/vma_init.c)
 */
export function vmAreaDup(orig: VmAreaStruct): VmAreaStruct | null {
  const obj = kmemCacheAlloc(orig.vmMm.ctx.caches.vmArea, GFP_KERNEL);
  if (obj < 0) return null;
  const n = new VmAreaStruct(orig.vmMm, obj);
  // vm_area_init_from()
  n.vmOps = orig.vmOps;
  n.vmStart = orig.vmStart;
  n.vmEnd = orig.vmEnd;
  n.anonVma = orig.anonVma;
  n.vmPgoff = orig.vmPgoff;
  n.vmFile = orig.vmFile;
  n.vmPrivateData = orig.vmPrivateData;
  n.vmFlags = orig.vmFlags;
  n.vmPageProt = orig.vmPageProt;
  n.vmUserfaultfdCtx = orig.vmUserfaultfdCtx;
  n.anonName = orig.anonName;
  n.vmPolicy = orig.vmPolicy;
  return n;
}

/**
 * Free a detached VMA.
 * @throws MmBugError when the VMA is still attached to a tree.
 * @kernel vm_area_free (mm/vma_init.c)
 */
export function vmAreaFree(vma: VmAreaStruct): void {
  if (vma.vmRefcnt !== 0) throw new MmBugError(`mm: freeing attached VMA ${vma.vmStart.toString(16)}`);
  kmemCacheFree(vma.vmMm.ctx.caches.vmArea, vma.obj);
  vma.obj = 0;
}
