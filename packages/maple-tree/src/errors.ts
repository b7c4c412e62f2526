/**
 * DOC: errors of the maple tree, in the house style's three tiers.
 *
 * Kernel-style functions return negative errno values for expected failures
 * (`-EEXIST` from {@link mtreeInsertRange}, `-EBUSY` from an empty-area
 * search). Misuse and bad input throw {@link MapleTreeError}, which carries the
 * errno name in `code` and the shared `Symbol.for('mm.error')` marker, so
 * `MmError.isInstance()` of `@mm/machine` recognises it although this package
 * depends on nothing.
 */

/** Operation not permitted (write without the tree lock under a lock checker). */
export const EPERM = 1;
/** Out of memory: the node allocator refused. */
export const ENOMEM = 12;
/** Device or resource busy: no free range fits. */
export const EBUSY = 16;
/** Object exists: an insert overlaps an entry. */
export const EEXIST = 17;
/** Invalid argument. */
export const EINVAL = 22;
/** Structure needs cleaning: an invariant of the tree is broken (mt_validate). */
export const EUCLEAN = 117;

const NAMES: Readonly<Record<number, string>> = {
  [EPERM]: 'EPERM',
  [ENOMEM]: 'ENOMEM',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [EINVAL]: 'EINVAL',
  [EUCLEAN]: 'EUCLEAN',
};

/** The errno name of `errno` (sign ignored): `-17` → `"EEXIST"`. */
export function mapleErrnoName(errno: number): string {
  if (typeof errno !== 'number' || !Number.isSafeInteger(errno))
    throw new MapleTreeError(
      'EINVAL',
      `maple_tree: mapleErrnoName: errno (${typeof errno === 'number' ? String(errno) : `a ${typeof errno}`}) is not an integer`,
    );
  const n = errno < 0 ? -errno : errno;
  return NAMES[n] ?? `E?${n}`;
}

const MM_ERROR_MARKER = Symbol.for('mm.error');

/**
 * Base class of every error this package throws. `code` is the kernel errno
 * name (`EINVAL`, `EEXIST`, `EBUSY`, `ENOMEM`, `EPERM`, `EUCLEAN`); the message
 * starts with `maple_tree:`.
 */
export class MapleTreeError extends Error {
  /** The kernel errno name of the failure (`EINVAL`, `EEXIST`, ...). */
  readonly code: string;
  /** The marker shared by every mm package's errors (see {@link MapleTreeError.isInstance}). */
  readonly [MM_ERROR_MARKER] = true;

  constructor(code: string, message: string) {
    super(message.startsWith('maple_tree:') ? message : `maple_tree: ${message}`);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for an error thrown by any mm package (the shared marker), whichever copy made it. */
  static isInstance(e: unknown): e is MapleTreeError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[MM_ERROR_MARKER] === true;
  }
}

/** Throw the typed error for a negative errno returned by a kernel-style call. */
export function throwErrno(errno: number, what: string): never {
  throw new MapleTreeError(mapleErrnoName(errno), `maple_tree: ${what}`);
}
