/**
 * DOC: rmap walks: visit every VMA that may map a folio (mm/rmap.c).
 *
 * An anon folio's walk locks its anon_vma's root and searches the
 * anon_vma's interval tree for the avcs whose VMA covers the folio's page
 * offsets; a file folio's walk searches its mapping's i_mmap tree under
 * i_mmap_rwsem. For each VMA, `rmapOne` gets the address where the folio's
 * first page would be mapped, unless `invalidVma` skips it; the walk stops
 * when `rmapOne` returns false or `done` says so. With `tryLock`, a
 * contended lock sets `contended` instead of sleeping; without it the model
 * queues the task on the lock and sets `wouldBlock` (retry the step).
 * KSM folios are not modelled (their walk visits nothing).
 */
import { MmBugError } from '@mm/machine';
import { type AddressSpace, iMmapLockRead, iMmapTrylockRead, iMmapUnlockRead } from './address-space.js';
import {
  type AnonVma,
  anonVmaLockRead,
  anonVmaTrylockRead,
  anonVmaUnlockRead,
  getAnonVma,
  putAnonVma,
} from './anon-vma.js';
import type { FolioRmap } from './env.js';
import {
  FOLIO_MAPPING_ANON,
  FOLIO_MAPPING_FLAGS,
  FOLIO_MAPPING_KSM,
  folioMapped,
  folioNrPages,
  folioTestLocked,
} from './folio.js';
import { RB_NIL } from './interval-tree.js';
import { folioAnonVma } from './rmap.js';
import { type RmapVma, vmaAddress } from './vma.js';

/**
 * What a walk does at each VMA.
 * @kernel struct rmap_walk_control (include/linux/rmap.h)
 */
export interface RmapWalkControl<A> {
  /** Passed to `rmapOne` and `invalidVma`. */
  arg: A;
  /** Bail out instead of sleeping on the rmap lock. */
  tryLock: boolean;
  /** Output: the walk bailed out on a contended lock (with `tryLock`). */
  contended: boolean;
  /** Output (model): the lock was contended without `tryLock`; the task was queued, retry the step. */
  wouldBlock: boolean;
  /** Called per VMA with the address of the folio's first page there; false stops the walk. */
  rmapOne(rm: FolioRmap, folio: number, vma: RmapVma, address: number, arg: A): boolean;
  /** Checked after each VMA: true stops the walk. */
  done: ((rm: FolioRmap, folio: number) => boolean) | null;
  /** Custom anon_vma locking (e.g. {@link folioLockAnonVmaRead}). */
  anonLock: ((rm: FolioRmap, folio: number, rwc: RmapWalkControl<A>) => AnonVma | null) | null;
  /** True skips the VMA. */
  invalidVma: ((vma: RmapVma, arg: A) => boolean) | null;
}

/** A walk control with defaults (no done/anonLock/invalidVma, blocking locks). */
export function rmapWalkControl<A>(
  arg: A,
  rmapOne: RmapWalkControl<A>['rmapOne'],
  opts: Partial<Pick<RmapWalkControl<A>, 'tryLock' | 'done' | 'anonLock' | 'invalidVma'>> = {},
): RmapWalkControl<A> {
  return {
    arg,
    tryLock: opts.tryLock ?? false,
    contended: false,
    wouldBlock: false,
    rmapOne,
    done: opts.done ?? null,
    anonLock: opts.anonLock ?? null,
    invalidVma: opts.invalidVma ?? null,
  };
}

/**
 * A referenced anon_vma of a mapped anon folio, or null.
 * @kernel folio_get_anon_vma (mm/rmap.c)
 */
export function folioGetAnonVma(rm: FolioRmap, folio: number): AnonVma | null {
  const mapping = rm.sec(folio).mapping[folio & rm.mask] as number;
  if ((mapping & FOLIO_MAPPING_FLAGS) !== FOLIO_MAPPING_ANON) return null;
  if (!folioMapped(rm, folio)) return null;
  const av = rm.anonVmas[mapping >>> 2];
  if (av === undefined || av.refcount === 0) return null;
  getAnonVma(av);
  return av;
}

/**
 * Read-lock the anon_vma of a mapped anon folio (its root's rwsem) and
 * return it; null when unmapped, or when contended with `rwc.tryLock`.
 * @kernel folio_lock_anon_vma_read (mm/rmap.c)
 */
export function folioLockAnonVmaRead<A>(rm: FolioRmap, folio: number, rwc: RmapWalkControl<A> | null): AnonVma | null {
  rm.machine.warnOn(!folioTestLocked(rm, folio), 'rmap: folio_lock_anon_vma_read of an unlocked folio');
  const mapping = rm.sec(folio).mapping[folio & rm.mask] as number;
  if ((mapping & FOLIO_MAPPING_FLAGS) !== FOLIO_MAPPING_ANON) return null;
  if (!folioMapped(rm, folio)) return null;
  const av = rm.anonVmas[mapping >>> 2];
  if (av === undefined) return null;
  if (anonVmaTrylockRead(av)) {
    // Still mapped: the anon_vma stays its anon_vma while we hold the lock.
    if (!folioMapped(rm, folio)) {
      anonVmaUnlockRead(av);
      return null;
    }
    return av;
  }
  if (rwc?.tryLock) {
    rwc.contended = true;
    return null;
  }
  // The trylock failed: pin the anon_vma and sleep on the lock.
  if (av.refcount === 0) return null;
  getAnonVma(av);
  if (!anonVmaLockRead(av)) {
    if (rwc !== null) rwc.wouldBlock = true;
    putAnonVma(rm, av);
    return null;
  }
  // Drop the pin; if it was the last reference the anon_vma is going away.
  if (av.refcount === 1) {
    anonVmaUnlockRead(av);
    putAnonVma(rm, av);
    return null;
  }
  av.refcount--;
  return av;
}

function rmapWalkAnonLock<A>(rm: FolioRmap, folio: number, rwc: RmapWalkControl<A>): AnonVma | null {
  if (rwc.anonLock !== null) return rwc.anonLock(rm, folio, rwc);
  const av = folioAnonVma(rm, folio);
  if (av === null) return null;
  if (anonVmaTrylockRead(av)) return av;
  if (rwc.tryLock) {
    rwc.contended = true;
    return null;
  }
  if (!anonVmaLockRead(av)) {
    rwc.wouldBlock = true;
    return null;
  }
  return av;
}

/** @kernel rmap_walk_anon (mm/rmap.c) */
function rmapWalkAnon<A>(rm: FolioRmap, folio: number, rwc: RmapWalkControl<A>, locked: boolean): void {
  rm.machine.warnOn(!folioTestLocked(rm, folio), 'rmap: anon walk of an unlocked folio');
  const av = locked ? folioAnonVma(rm, folio) : rmapWalkAnonLock(rm, folio, rwc);
  if (av === null) return;
  const s = rm.sec(folio);
  const start = s.index[folio & rm.mask] as number;
  const nr = folioNrPages(rm, folio);
  const last = start + nr - 1;
  const t = rm.avcTree;
  const pageSize = rm.pageSize;
  for (let h = t.iterFirst(av.rbRoot, start, last); h !== RB_NIL; h = t.iterNext(h, start, last)) {
    const vma = (t.owner[h] as { vma: RmapVma }).vma;
    const address = vmaAddress(vma, start, nr, pageSize);
    if (address === -14) {
      if (!locked) anonVmaUnlockRead(av);
      throw new MmBugError(`rmap: anon walk found a VMA that cannot map pgoff ${start}`);
    }
    if (rwc.invalidVma?.(vma, rwc.arg)) continue;
    if (!rwc.rmapOne(rm, folio, vma, address, rwc.arg)) break;
    if (rwc.done?.(rm, folio)) break;
  }
  if (!locked) anonVmaUnlockRead(av);
}

/**
 * Walk the VMAs of `mapping` that map [pgoffStart, pgoffStart + nrPages).
 * @kernel __rmap_walk_file (mm/rmap.c)
 */
export function __rmapWalkFile<A>(
  rm: FolioRmap,
  folio: number,
  mapping: AddressSpace,
  pgoffStart: number,
  nrPages: number,
  rwc: RmapWalkControl<A>,
  locked: boolean,
): void {
  const last = pgoffStart + nrPages - 1;
  if (!locked) {
    if (!iMmapTrylockRead(mapping)) {
      if (rwc.tryLock) {
        rwc.contended = true;
        return;
      }
      if (!iMmapLockRead(mapping)) {
        rwc.wouldBlock = true;
        return;
      }
    }
  }
  const t = rm.vmaTree;
  const pageSize = rm.pageSize;
  for (let h = t.iterFirst(mapping.iMmap, pgoffStart, last); h !== RB_NIL; h = t.iterNext(h, pgoffStart, last)) {
    const vma = t.owner[h] as RmapVma;
    const address = vmaAddress(vma, pgoffStart, nrPages, pageSize);
    if (address === -14) {
      if (!locked) iMmapUnlockRead(mapping);
      throw new MmBugError(`rmap: file walk found a VMA that cannot map pgoff ${pgoffStart}`);
    }
    if (rwc.invalidVma?.(vma, rwc.arg)) continue;
    if (!rwc.rmapOne(rm, folio, vma, address, rwc.arg)) break;
    if (rwc.done?.(rm, folio)) break;
  }
  if (!locked) iMmapUnlockRead(mapping);
}

/** @kernel rmap_walk_file (mm/rmap.c) */
function rmapWalkFile<A>(rm: FolioRmap, folio: number, rwc: RmapWalkControl<A>, locked: boolean): void {
  rm.machine.warnOn(!folioTestLocked(rm, folio), 'rmap: file walk of an unlocked folio');
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const mapping = s.mapping[i] as number;
  if (mapping === 0) return;
  const as = rm.mappings[mapping >>> 2];
  if (as === undefined) return;
  __rmapWalkFile(rm, folio, as, s.index[i] as number, folioNrPages(rm, folio), rwc, locked);
}

/**
 * Walk every VMA that may map `folio`. The folio must be locked.
 * @kernel rmap_walk (mm/rmap.c)
 */
export function rmapWalk<A>(rm: FolioRmap, folio: number, rwc: RmapWalkControl<A>): void {
  const mapping = rm.sec(folio).mapping[folio & rm.mask] as number;
  if ((mapping & FOLIO_MAPPING_FLAGS) === FOLIO_MAPPING_KSM) return;
  if (mapping & FOLIO_MAPPING_ANON) rmapWalkAnon(rm, folio, rwc, false);
  else rmapWalkFile(rm, folio, rwc, false);
}

/**
 * Like {@link rmapWalk}, the caller already holding the anon_vma or i_mmap lock.
 * @kernel rmap_walk_locked (mm/rmap.c)
 */
export function rmapWalkLocked<A>(rm: FolioRmap, folio: number, rwc: RmapWalkControl<A>): void {
  const mapping = rm.sec(folio).mapping[folio & rm.mask] as number;
  if (mapping & FOLIO_MAPPING_ANON) rmapWalkAnon(rm, folio, rwc, true);
  else rmapWalkFile(rm, folio, rwc, true);
}
