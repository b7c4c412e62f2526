/**
 * DOC: a minimal in-memory file system object as the mmap code sees it:
 * `struct file` (open mode, reference count), its `struct inode` (device,
 * inode number, size, append-only, swapfile) and the inode's
 * `struct address_space`: `@mm/folio-rmap`'s, whose `i_mmap` interval tree
 * holds every VMA mapping the file keyed by its page-offset range (so the
 * rmap walks of file folios find them), with `i_mmap_writable`, the count
 * of shared writable mappings. Files are
 * tmpfs-like: their VMAs get `shmem`-style operations (no write
 * notification, no writeback). A shared anonymous mapping is backed by an
 * unlinked file `/dev/zero (deleted)` as `shmem_zero_setup()` makes one.
 * The page cache behind an address_space comes with the fault path.
 */
import {
  type FolioRmap,
  AddressSpace as RmapAddressSpace,
  type RmapVma,
  vmaIntervalTreeForeach,
  vmaIntervalTreeInsert,
  vmaIntervalTreeInsertAfter,
  vmaIntervalTreeRemove,
} from '@mm/folio-rmap';
import { EPERM } from '@mm/machine';
import type { VmAreaStruct, VmOperationsStruct } from './mm-types.js';

/** File mode bit `FMODE_READ` (include/linux/fs.h). */
export const FMODE_READ = 0x1;
/** File mode bit `FMODE_WRITE` (include/linux/fs.h). */
export const FMODE_WRITE = 0x2;
/** File mode bit `FMODE_EXEC` (include/linux/fs.h). */
export const FMODE_EXEC = 0x20;

export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;
/** Inode flag: append-only. */
export const S_APPEND = 1 << 2;
/** Inode flag: an active swapfile. */
export const S_SWAPFILE = 1 << 8;

/**
 * An inode's `address_space`: the rmap's (its `i_mmap` interval tree in
 * `rm.vmaTree`, the handle `folio->mapping` stores, `i_mmap_rwsem`) with its
 * `host`. `iMmapWritable` counts shared writable mappings (> 0), or is
 * negative when writable mappings are denied (memfd seals).
 * @kernel struct address_space (include/linux/fs.h)
 */
export class AddressSpace extends RmapAddressSpace {
  /** The inode whose pages this mapping caches; mirrors `address_space::host`. */
  readonly host: Inode;
  /** The rmap environment whose interval-tree pool holds `i_mmap`'s nodes. */
  readonly rm: FolioRmap;

  constructor(rm: FolioRmap, host: Inode) {
    super(rm, rm.mappings.length, `ino ${host.iIno}`);
    rm.mappings.push(this);
    this.host = host;
    this.rm = rm;
  }
}

/** A kernel VMA as the rmap types it (it has every field `RmapVma` names). */
function asRmapVma(vma: VmAreaStruct): RmapVma {
  return vma as unknown as RmapVma;
}

/**
 * Insert `vma` into `mapping`'s i_mmap tree at [vm_pgoff, vm_pgoff + pages - 1].
 * @kernel vma_interval_tree_insert (mm/interval_tree.c)
 */
export function iMmapInsert(vma: VmAreaStruct, mapping: AddressSpace): void {
  vmaIntervalTreeInsert(mapping.rm, asRmapVma(vma), mapping);
}

/**
 * Insert `vma` right after `prev` in `mapping`'s i_mmap tree (fork: the
 * child's VMA follows the parent's, so an rmap walk racing with fork meets
 * the parent's first).
 * @kernel vma_interval_tree_insert_after (mm/interval_tree.c)
 */
export function iMmapInsertAfter(vma: VmAreaStruct, prev: VmAreaStruct, mapping: AddressSpace): void {
  vmaIntervalTreeInsertAfter(mapping.rm, asRmapVma(vma), asRmapVma(prev), mapping);
}

/**
 * The VMAs of `mapping` that map a page offset in [first, last] (default:
 * all), in the tree's order (by first page offset, then insertion order).
 * @kernel vma_interval_tree_foreach (include/linux/mm.h)
 */
export function iMmapVmas(mapping: AddressSpace, first = 0, last = Number.MAX_SAFE_INTEGER): VmAreaStruct[] {
  return vmaIntervalTreeForeach(mapping.rm, mapping, first, last) as unknown as VmAreaStruct[];
}

/**
 * Remove `vma` from `mapping`'s i_mmap tree.
 * @kernel vma_interval_tree_remove (mm/interval_tree.c)
 */
export function iMmapRemove(vma: VmAreaStruct, mapping: AddressSpace): void {
  vmaIntervalTreeRemove(mapping.rm, asRmapVma(vma), mapping);
}

/** An inode: the object behind a file, with its page cache. @kernel struct inode (include/linux/fs.h) */
export class Inode {
  /** Inode number, shown in /proc/PID/maps; mirrors `inode::i_ino`. */
  readonly iIno: number;
  /** `s_dev` of the superblock: [major, minor]. */
  readonly iSbDev: readonly [number, number];
  /** File size in bytes; faults past its page-rounded end raise SIGBUS; mirrors `inode::i_size`. */
  iSize: number;
  /** File type and permission bits (S_IFREG, S_IFCHR, ...); mirrors `inode::i_mode`. */
  readonly iMode: number;
  /** Inode flags (S_APPEND, S_SWAPFILE); mirrors `inode::i_flags`. */
  iFlags: number;
  /** The page cache and mapping list of the file; mirrors `inode::i_mapping`. */
  readonly iMapping: AddressSpace;

  constructor(rm: FolioRmap, ino: number, dev: readonly [number, number], size: number, mode = S_IFREG) {
    this.iIno = ino;
    this.iSbDev = dev;
    this.iSize = size;
    this.iMode = mode;
    this.iFlags = 0;
    this.iMapping = new AddressSpace(rm, this);
  }
}

/** What a file system offers mmap. @kernel struct file_operations (include/linux/fs.h) */
export interface FileOperations {
  /** Set up a new VMA (its `vm_ops`); a negative errno refuses the mapping. */
  readonly mmap: ((file: File, vma: VmAreaStruct) => number) | null;
}

/** An open file: a reference-counted handle on an inode. @kernel struct file (include/linux/fs.h) */
export class File {
  /** The path shown in /proc/PID/maps. */
  readonly path: string;
  /** The inode this open file refers to; mirrors `file::f_inode`. */
  readonly fInode: Inode;
  /** The address space mmap() maps (normally the inode's); mirrors `file::f_mapping`. */
  readonly fMapping: AddressSpace;
  /** `fMapping` under the name the rmap reads (`RmapFile.mapping`). */
  readonly mapping: AddressSpace;
  /** How the file was opened (FMODE_READ, FMODE_WRITE, FMODE_EXEC); mirrors `file::f_mode`. */
  readonly fMode: number;
  /** The file's operations, `mmap` among them; mirrors `file::f_op`. */
  readonly fOp: FileOperations;
  /** `f_count`: the opener's reference plus one per VMA. */
  fCount: number;
  /** The file's mount is `noexec`. */
  noexec: boolean;

  constructor(path: string, inode: Inode, mode: number, fop: FileOperations) {
    this.path = path;
    this.fInode = inode;
    this.fMapping = inode.iMapping;
    this.mapping = inode.iMapping;
    this.fMode = mode;
    this.fOp = fop;
    this.fCount = 1;
    this.noexec = false;
  }
}

/** Take a reference on `file` and return it. @kernel get_file (include/linux/fs.h) */
export function getFile(file: File): File {
  file.fCount++;
  return file;
}

/** Drop a reference on `file`, releasing it with the last one. @kernel fput (fs/file_table.c) */
export function fput(file: File): void {
  file.fCount--;
}

/**
 * One more shared writable mapping, unless writes are denied.
 * @returns 0 or -EPERM.
 * @kernel mapping_map_writable (include/linux/fs.h)
 */
export function mappingMapWritable(mapping: AddressSpace): number {
  if (mapping.iMmapWritable < 0) return -EPERM;
  mapping.iMmapWritable++;
  return 0;
}

/** Drop one writable shared mapping of `mapping`. @kernel mapping_unmap_writable (include/linux/fs.h) */
export function mappingUnmapWritable(mapping: AddressSpace): void {
  mapping.iMmapWritable--;
}

/** Lift one deny-writable hold on `mapping` (raises the writable count back) @kernel mapping_allow_writable (include/linux/fs.h) */
export function mappingAllowWritable(mapping: AddressSpace): void {
  mapping.iMmapWritable++;
}

/**
 * The VMA operations of tmpfs files: faults through the page cache; no
 * write notification (tmpfs has no writeback).
 * @kernel shmem_vm_ops (mm/shmem.c)
 */
export const SHMEM_VM_OPS: VmOperationsStruct = Object.freeze({ fault: true });

/** File operations of shmem files (`mmap` support) @kernel shmem_file_operations (mm/shmem.c) */
export const SHMEM_FILE_OPERATIONS: FileOperations = Object.freeze({
  mmap: (_file: File, vma: VmAreaStruct) => {
    vma.vmOps = SHMEM_VM_OPS;
    return 0;
  },
});

/**
 * Hands out inode numbers (`get_next_ino()`), one counter per kernel so runs
 * are reproducible, and the rmap environment new address_spaces join.
 */
export interface InodeNumbers {
  /** Return the next unused inode number. @kernel get_next_ino (fs/inode.c) */
  allocIno(): number;
  /** The rmap environment (`folio->mapping` handles, the i_mmap node pool). */
  readonly rm: FolioRmap;
}

/**
 * An in-memory (tmpfs) regular file of `sizeBytes`, opened with `mode`
 * (FMODE_READ | FMODE_WRITE ...), on device 00:19 unless given.
 */
export function createTmpfsFile(
  inos: InodeNumbers,
  path: string,
  sizeBytes: number,
  mode = FMODE_READ | FMODE_WRITE,
  opts: { ino?: number; dev?: readonly [number, number] } = {},
): File {
  const inode = new Inode(inos.rm, opts.ino ?? inos.allocIno(), opts.dev ?? [0, 0x19], sizeBytes);
  return new File(path, inode, mode, SHMEM_FILE_OPERATIONS);
}

/**
 * The unlinked shmem file behind a shared anonymous mapping; its path shows
 * as "/dev/zero (deleted)" in /proc/PID/maps.
 * @kernel shmem_zero_setup (mm/shmem.c)
 */
export function shmemZeroSetup(vma: VmAreaStruct, sizeBytes: number): void {
  const inode = new Inode(vma.vmMm.ctx.rm, vma.vmMm.ctx.allocIno(), [0, 1], sizeBytes);
  const file = new File('/dev/zero (deleted)', inode, FMODE_READ | FMODE_WRITE, SHMEM_FILE_OPERATIONS);
  vma.vmFile = file; // the VMA holds the only reference
  vma.vmOps = SHMEM_VM_OPS;
}
