/**
 * DOC: the barn: a per-NUMA-node store of full and empty sheaves shared by
 * the CPUs of the node (`struct node_barn`).
 *
 * Every operation first looks at `nrFull` / `nrEmpty` without the lock (the
 * kernel's `data_race()` reads) and fails fast when the answer is "none" or
 * "over the limit"; only a racy success takes the spinlock, and the
 * availability is checked again under it. Each such fast failure is counted
 * as a lock acquisition avoided (`barn_lock_avoided`). The full-sheaf limit
 * check of `barn_replace_full_sheaf` is not repeated under the lock: the
 * limits need not be strict.
 *
 * Lists are LIFO stacks of sheaves (`list_add` + `list_first_entry`).
 */

import { EBUSY, ENOMEM, MmBugError } from '@mm/machine';
import { type KmemCache, stat } from './cache.js';
import type { SlabEnv, SlabSpinLock } from './env.js';
import type { SlabSheaf } from './sheaf.js';
import { freeEmptySheaf, sheafFlushUnused } from './sheaf.js';
import { MAX_FULL_SHEAVES, STAT } from './slab-flags.js';

/** A node's store of full and empty sheaves that the CPUs swap theirs with. @kernel struct node_barn (mm/slub.c) */
export interface NodeBarn {
  /** NUMA node the barn belongs to. */
  readonly nid: number;
  /** Spinlock over the barn's sheaf lists and counts; mirrors `barn->lock`. */
  readonly lock: SlabSpinLock;
  /** Full sheaves (a stack). */
  readonly sheavesFull: SlabSheaf[];
  /** Empty sheaves (a stack). */
  readonly sheavesEmpty: SlabSheaf[];
  /** Full sheaves (read racily before taking the lock). */
  nrFull: number;
  /** Empty sheaves (read racily before taking the lock). */
  nrEmpty: number;
  /** Lock acquisitions avoided by the racy checks. */
  lockAvoided: number;
  /** Lock acquisitions taken. */
  lockTaken: number;
}

/** An empty barn for node `nid`. @kernel barn_init (mm/slub.c) */
export function newNodeBarn(env: SlabEnv, nid: number): NodeBarn {
  return {
    nid,
    lock: env.newSpinLock('node_barn->lock'),
    sheavesFull: [],
    sheavesEmpty: [],
    nrFull: 0,
    nrEmpty: 0,
    lockAvoided: 0,
    lockTaken: 0,
  };
}

/** The last sheaf of a barn list the caller has checked is not empty. */
function popSheaf(list: SlabSheaf[]): SlabSheaf {
  const sheaf = list.pop();
  if (sheaf === undefined) throw new MmBugError('slab: barn list empty although its count was not');
  return sheaf;
}

function avoided(s: KmemCache, barn: NodeBarn): void {
  barn.lockAvoided++;
  stat(s, STAT.BARN_LOCK_AVOIDED);
}

function lockBarn(barn: NodeBarn, allowSpin: boolean): boolean {
  if (allowSpin) barn.lock.lock();
  else if (!barn.lock.trylock()) return false;
  barn.lockTaken++;
  return true;
}

/**
 * Take an empty sheaf, or null.
 * @kernel barn_get_empty_sheaf (mm/slub.c)
 */
export function barnGetEmptySheaf(s: KmemCache, barn: NodeBarn, allowSpin: boolean): SlabSheaf | null {
  if (barn.nrEmpty === 0) {
    avoided(s, barn);
    return null;
  }
  if (!lockBarn(barn, allowSpin)) return null;
  let empty: SlabSheaf | null = null;
  if (barn.nrEmpty > 0) {
    empty = popSheaf(barn.sheavesEmpty);
    barn.nrEmpty--;
  }
  barn.lock.unlock();
  return empty;
}

/**
 * Put an empty sheaf, ignoring the limit (undoing a race).
 * @kernel barn_put_empty_sheaf (mm/slub.c)
 */
export function barnPutEmptySheaf(barn: NodeBarn, sheaf: SlabSheaf): void {
  lockBarn(barn, true);
  barn.sheavesEmpty.push(sheaf);
  barn.nrEmpty++;
  barn.lock.unlock();
}

/**
 * Put a full sheaf, ignoring the limit.
 * @kernel barn_put_full_sheaf (mm/slub.c)
 */
export function barnPutFullSheaf(barn: NodeBarn, sheaf: SlabSheaf): void {
  lockBarn(barn, true);
  barn.sheavesFull.push(sheaf);
  barn.nrFull++;
  barn.lock.unlock();
}

/**
 * Take a full sheaf if there is one, else an empty one, else null.
 * @kernel barn_get_full_or_empty_sheaf (mm/slub.c)
 */
export function barnGetFullOrEmptySheaf(s: KmemCache, barn: NodeBarn): SlabSheaf | null {
  if (barn.nrFull === 0 && barn.nrEmpty === 0) {
    avoided(s, barn);
    return null;
  }
  lockBarn(barn, true);
  let sheaf: SlabSheaf | null = null;
  if (barn.nrFull > 0) {
    sheaf = popSheaf(barn.sheavesFull);
    barn.nrFull--;
  } else if (barn.nrEmpty > 0) {
    sheaf = popSheaf(barn.sheavesEmpty);
    barn.nrEmpty--;
  }
  barn.lock.unlock();
  return sheaf;
}

/**
 * Exchange an empty sheaf for a full one (null when none). The empty limit
 * is ignored: the number of sheaves in the barn does not change.
 * @kernel barn_replace_empty_sheaf (mm/slub.c)
 */
export function barnReplaceEmptySheaf(
  s: KmemCache,
  barn: NodeBarn,
  empty: SlabSheaf,
  allowSpin: boolean,
): SlabSheaf | null {
  if (barn.nrFull === 0) {
    avoided(s, barn);
    return null;
  }
  if (!lockBarn(barn, allowSpin)) return null;
  let full: SlabSheaf | null = null;
  if (barn.nrFull > 0) {
    full = popSheaf(barn.sheavesFull);
    barn.sheavesEmpty.push(empty);
    barn.nrFull--;
    barn.nrEmpty++;
  }
  barn.lock.unlock();
  return full;
}

/** `E2BIG`, "argument list too long" (include/uapi/asm-generic/errno-base.h). */
const E2BIG = 7;
/** {@link barnReplaceFullSheaf}: too many full sheaves in the barn (-E2BIG). */
export const BARN_E2BIG = -E2BIG;
/** {@link barnReplaceFullSheaf}: no empty sheaf in the barn (-ENOMEM). */
export const BARN_ENOMEM = -ENOMEM;
/** {@link barnReplaceFullSheaf}: the barn lock could not be taken without spinning (-EBUSY). */
export const BARN_EBUSY = -EBUSY;

/**
 * Exchange a full sheaf for an empty one. Returns the empty sheaf, or
 * BARN_E2BIG (too many full sheaves), BARN_ENOMEM (no empty sheaf),
 * BARN_EBUSY (trylock failed).
 * @kernel barn_replace_full_sheaf (mm/slub.c)
 */
export function barnReplaceFullSheaf(
  s: KmemCache,
  barn: NodeBarn,
  full: SlabSheaf,
  allowSpin: boolean,
): SlabSheaf | number {
  if (barn.nrFull >= MAX_FULL_SHEAVES) {
    avoided(s, barn);
    return BARN_E2BIG;
  }
  if (barn.nrEmpty === 0) {
    avoided(s, barn);
    return BARN_ENOMEM;
  }
  if (!lockBarn(barn, allowSpin)) return BARN_EBUSY;
  let r: SlabSheaf | number;
  if (barn.nrEmpty > 0) {
    r = popSheaf(barn.sheavesEmpty);
    barn.sheavesFull.push(full);
    barn.nrEmpty--;
    barn.nrFull++;
  } else r = BARN_ENOMEM;
  barn.lock.unlock();
  return r;
}

/**
 * Empty the barn: flush full sheaves to slabs and free all sheaves.
 * @kernel barn_shrink (mm/slub.c)
 */
export function barnShrink(s: KmemCache, barn: NodeBarn): void {
  lockBarn(barn, true);
  const full = barn.sheavesFull.splice(0);
  const empty = barn.sheavesEmpty.splice(0);
  barn.nrFull = 0;
  barn.nrEmpty = 0;
  barn.lock.unlock();
  for (const sheaf of full) {
    sheafFlushUnused(s, sheaf);
    freeEmptySheaf(s, sheaf);
  }
  for (const sheaf of empty) freeEmptySheaf(s, sheaf);
}
