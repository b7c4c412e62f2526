/**
 * DOC: the rmap side of a file's `address_space`: the i_mmap interval tree
 * of every VMA mapping the file, keyed by [vm_pgoff, vm_pgoff + pages - 1]
 * (it replaced the prio tree in v3.7, the kernel commit "mm: replace
 * vma prio_tree with an interval tree"), under `i_mmap_rwsem`, and
 * the `folio->mapping` / `folio->index` a page-cache folio carries.
 * The page cache itself (the xarray of folios) belongs to the composer.
 */
import { downRead, downReadTrylock, downWrite, EAGAIN, RwSemaphore, upRead, upWrite } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { FolioError } from './errors.js';
import { FOLIO_MAPPING_FLAGS } from './folio.js';
import { RB_NIL, RbRootCached } from './interval-tree.js';
import { type RmapVma, VM_MAYWRITE, VM_SHARED, vmaLastPgoff, vmaStartPgoff } from './vma.js';

/** A file's page cache as the rmap sees it: the VMAs that map it. @kernel struct address_space (include/linux/fs.h): the rmap's part. */
export class AddressSpace {
  /** The handle `folio->mapping` stores (`handle << 2`). */
  readonly handle: number;
  /** A name for reports (the file's path). */
  readonly name: string;
  /** `i_mmap`: interval tree of the VMAs mapping this file. */
  readonly iMmap: RbRootCached;
  /** Protects `iMmap`: taken for write to link or unlink VMAs, for read by rmap walks; mirrors `address_space::i_mmap_rwsem`. */
  readonly iMmapRwsem: RwSemaphore;
  /** `i_mmap_writable`: VM_SHARED writable mappings. */
  iMmapWritable: number;

  constructor(rm: FolioRmap, handle: number, name: string) {
    this.handle = handle;
    this.name = name;
    this.iMmap = new RbRootCached();
    this.iMmapRwsem = new RwSemaphore(rm.machine, 'mapping.i_mmap_rwsem');
    this.iMmapWritable = 0;
  }
}

/** A new address_space (an inode's `i_data`). */
export function createAddressSpace(rm: FolioRmap, name = ''): AddressSpace {
  const handle = rm.mappings.length;
  const as = new AddressSpace(rm, handle, name);
  rm.mappings.push(as);
  return as;
}

/** Write-lock `mapping`'s VMA tree; false when the task was queued to sleep. @kernel i_mmap_lock_write (include/linux/fs.h) */
export function iMmapLockWrite(mapping: AddressSpace): boolean {
  return downWrite(mapping.iMmapRwsem);
}

/** Release the write lock of `mapping`'s VMA tree. @kernel i_mmap_unlock_write (include/linux/fs.h) */
export function iMmapUnlockWrite(mapping: AddressSpace): void {
  upWrite(mapping.iMmapRwsem);
}

/** Read-lock `mapping`'s VMA tree; false when the task was queued to sleep. @kernel i_mmap_lock_read (include/linux/fs.h) */
export function iMmapLockRead(mapping: AddressSpace): boolean {
  return downRead(mapping.iMmapRwsem);
}

/** Try to read-lock `mapping`'s VMA tree without sleeping; true on success. @kernel i_mmap_trylock_read (include/linux/fs.h) */
export function iMmapTrylockRead(mapping: AddressSpace): boolean {
  return downReadTrylock(mapping.iMmapRwsem);
}

/** Release the read lock of `mapping`'s VMA tree. @kernel i_mmap_unlock_read (include/linux/fs.h) */
export function iMmapUnlockRead(mapping: AddressSpace): void {
  upRead(mapping.iMmapRwsem);
}

/**
 * Insert `vma` into `mapping`'s i_mmap tree.
 * @kernel vma_interval_tree_insert (mm/interval_tree.c)
 */
export function vmaIntervalTreeInsert(rm: FolioRmap, vma: RmapVma, mapping: AddressSpace): void {
  if (vma.sharedRb > 0) {
    throw new FolioError('EEXIST', -1, 'i_mmap: VMA already linked into an i_mmap tree');
  }
  const t = rm.vmaTree;
  const h = t.alloc(vma, vmaStartPgoff(vma), vmaLastPgoff(vma, rm.pageSize));
  vma.sharedRb = h;
  t.insert(mapping.iMmap, h);
}

/**
 * Insert `vma` right after `prev` (same range; fork places the child's VMA
 * next to the parent's so an rmap walk sees them together).
 * @kernel vma_interval_tree_insert_after (mm/interval_tree.c)
 */
export function vmaIntervalTreeInsertAfter(rm: FolioRmap, vma: RmapVma, prev: RmapVma, mapping: AddressSpace): void {
  if (prev.sharedRb <= 0) throw new FolioError('EINVAL', -1, 'i_mmap: insert_after a VMA that is not linked');
  const t = rm.vmaTree;
  const h = t.alloc(vma, vmaStartPgoff(vma), vmaLastPgoff(vma, rm.pageSize));
  vma.sharedRb = h;
  t.insertAfter(mapping.iMmap, h, prev.sharedRb);
}

/** Unlink `vma` from `mapping`'s VMA interval tree. @kernel vma_interval_tree_remove (mm/interval_tree.c) */
export function vmaIntervalTreeRemove(rm: FolioRmap, vma: RmapVma, mapping: AddressSpace): void {
  if (vma.sharedRb <= 0) throw new FolioError('EINVAL', -1, 'i_mmap: VMA not linked into an i_mmap tree');
  const t = rm.vmaTree;
  t.remove(mapping.iMmap, vma.sharedRb);
  t.free(vma.sharedRb);
  vma.sharedRb = -1;
}

/**
 * The VMAs of `mapping` that map a page offset in [first, last], in tree order.
 * @kernel vma_interval_tree_foreach (include/linux/mm.h)
 */
export function vmaIntervalTreeForeach(rm: FolioRmap, mapping: AddressSpace, first: number, last: number): RmapVma[] {
  const t = rm.vmaTree;
  const out: RmapVma[] = [];
  for (let h = t.iterFirst(mapping.iMmap, first, last); h !== RB_NIL; h = t.iterNext(h, first, last)) {
    out.push(t.owner[h] as RmapVma);
  }
  return out;
}

/**
 * Link a file VMA into its file's i_mmap (mmap, split, fork) under
 * i_mmap_rwsem; counts writable shared mappings. 0 or -EAGAIN.
 * @kernel vma_link_file / __vma_link_file (mm/vma.c)
 */
export function vmaLinkFile(rm: FolioRmap, vma: RmapVma): number {
  const file = vma.vmFile;
  if (file === null) return 0;
  const mapping = file.mapping;
  if (!iMmapLockWrite(mapping)) return -EAGAIN;
  if ((vma.vmFlags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE)) mapping.iMmapWritable++;
  vmaIntervalTreeInsert(rm, vma, mapping);
  iMmapUnlockWrite(mapping);
  return 0;
}

/**
 * Unlink a file VMA from its file's i_mmap (munmap, exit). 0 or -EAGAIN.
 * @kernel unlink_file_vma / __remove_shared_vm_struct (mm/vma.c)
 */
export function vmaUnlinkFile(rm: FolioRmap, vma: RmapVma): number {
  const file = vma.vmFile;
  if (file === null) return 0;
  const mapping = file.mapping;
  if (!iMmapLockWrite(mapping)) return -EAGAIN;
  if ((vma.vmFlags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE)) mapping.iMmapWritable--;
  vmaIntervalTreeRemove(rm, vma, mapping);
  iMmapUnlockWrite(mapping);
  return 0;
}

/**
 * Make `folio` a page-cache folio of `mapping` at `index` (the rmap-visible
 * part of adding it to the page cache).
 * @kernel __filemap_add_folio (mm/filemap.c): folio->mapping, folio->index
 */
export function folioSetMapping(rm: FolioRmap, folio: number, mapping: AddressSpace, index: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  if ((s.mapping[i] as number) !== 0) throw new FolioError('EBUSY', folio, `folio: ${folio} already has a mapping`);
  s.mapping[i] = mapping.handle * 4;
  s.index[i] = index;
}

/**
 * Remove `folio` from its page cache (the rmap-visible part); it must be unmapped.
 * @kernel page_cache_delete (mm/filemap.c): folio->mapping = NULL
 */
export function folioClearMapping(rm: FolioRmap, folio: number): void {
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const mapping = s.mapping[i] as number;
  if (mapping === 0 || mapping & FOLIO_MAPPING_FLAGS) {
    throw new FolioError('EINVAL', folio, `folio: ${folio} is not a page-cache folio`);
  }
  s.mapping[i] = 0;
}

/**
 * The address_space of a page-cache folio (null for anon or unmapped-from-cache folios).
 * @kernel folio_mapping (mm/util.c)
 */
export function folioMapping(rm: FolioRmap, folio: number): AddressSpace | null {
  const mapping = rm.sec(folio).mapping[folio & rm.mask] as number;
  if (mapping === 0 || mapping & FOLIO_MAPPING_FLAGS) return null;
  return rm.mappings[mapping >>> 2] ?? null;
}
