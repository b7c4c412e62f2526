/**
 * DOC: errors, in the three tiers of the house style.
 *
 * 1. Expected failures of kernel-style APIs are negative errno numbers,
 *    returned, never thrown (`return -ENOMEM`).
 * 2. Broken invariants: {@link bugOn} throws {@link MmBugError} (the model of
 *    `BUG_ON()`); `Machine.warnOn` records a warning and goes on (`WARN_ON()`).
 * 3. Misuse at a package boundary and bad input: a subclass of {@link MmError}
 *    carrying `code` (the errno name where one fits) and a message that starts
 *    with the subsystem (`"machine: nodes[1].cpus must be >= 0"`).
 *
 * Every package's errors carry the same `Symbol.for('mm.error')` marker, so
 * `MmError.isInstance(e)` recognises errors from packages that do not depend
 * on this one (the maple tree has no runtime dependencies) and from a second
 * copy of this package.
 */

/** Operation not permitted. */
export const EPERM = 1;
/** No such file or directory (or entry). */
export const ENOENT = 2;
/** Interrupted system call. */
export const EINTR = 4;
/** I/O error. */
export const EIO = 5;
/** No such device or address (e.g. an offline CPU for a cross-CPU call). */
export const ENXIO = 6;
/** Bad file number. */
export const EBADF = 9;
/** Try again. */
export const EAGAIN = 11;
/** Out of memory. */
export const ENOMEM = 12;
/** Permission denied. */
export const EACCES = 13;
/** Bad address. */
export const EFAULT = 14;
/** Device or resource busy. */
export const EBUSY = 16;
/** Object exists. */
export const EEXIST = 17;
/** No such device. */
export const ENODEV = 19;
/** Invalid argument. */
export const EINVAL = 22;
/** Text file busy (e.g. a shared writable mapping of an active swapfile). */
export const ETXTBSY = 26;
/** No space left on device. */
export const ENOSPC = 28;
/** Math result not representable. */
export const ERANGE = 34;
/** Resource deadlock would occur. */
export const EDEADLK = 35;
/** Function not implemented by this model or configuration. */
export const ENOSYS = 38;
/** Value too large for defined data type (e.g. a file offset past what mmap can map). */
export const EOVERFLOW = 75;
/** Operation not supported. */
export const EOPNOTSUPP = 95;
/** Hardware memory error (memory-failure, hwpoison). */
export const EHWPOISON = 133;
/** Kernel-internal: restart the system call without returning to the user (never seen by user space). */
export const ERESTARTNOINTR = 513;

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [EINTR]: 'EINTR',
  [EIO]: 'EIO',
  [ENXIO]: 'ENXIO',
  [EBADF]: 'EBADF',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [ENODEV]: 'ENODEV',
  [EINVAL]: 'EINVAL',
  [ETXTBSY]: 'ETXTBSY',
  [ENOSPC]: 'ENOSPC',
  [ERANGE]: 'ERANGE',
  [EDEADLK]: 'EDEADLK',
  [ENOSYS]: 'ENOSYS',
  [EOVERFLOW]: 'EOVERFLOW',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [EHWPOISON]: 'EHWPOISON',
  [ERESTARTNOINTR]: 'ERESTARTNOINTR',
};

/**
 * The name of an errno value, positive or negative (`-12` → `"ENOMEM"`).
 * Unknown values give `"E?<n>"`.
 */
export function errnoName(errno: number): string {
  const n = errno < 0 ? -errno : errno;
  return ERRNO_NAMES[n] ?? `E?${n}`;
}

const MM_ERROR_MARKER = Symbol.for('mm.error');

/**
 * Base class of every error the mm packages throw.
 * `code` is the kernel errno name where one fits (`EINVAL`, `ENOMEM`,
 * `EBUSY`), else a short upper-case code (`BUG`, `LOCKDEP`).
 */
export class MmError extends Error {
  /** Errno name (`EINVAL`, `ENOMEM`, ...) or short upper-case code (`BUG`). */
  readonly code: string;
  /** Marker shared by every copy of every mm package, read by {@link MmError.isInstance}. */
  readonly [MM_ERROR_MARKER] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for an error thrown by any mm package, whichever copy of the class made it. */
  static isInstance(e: unknown): e is MmError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[MM_ERROR_MARKER] === true;
  }
}

/**
 * Bad input at a public entry point (the errno `EINVAL`): `argument` names
 * the offending parameter; nothing was changed.
 */
export class InvalidArgumentError extends MmError {
  /** The parameter that was refused (`"gfp"`, `"cpu"`, `"pfn"` ...). */
  readonly argument: string;

  constructor(subsystem: string, argument: string, problem: string) {
    super('EINVAL', `${subsystem}: ${argument} ${problem}`);
    this.argument = argument;
  }
}

/** A broken invariant: the model of the kernel's `BUG()`. */
export class MmBugError extends MmError {
  constructor(message: string) {
    super('BUG', message);
  }
}

/** An invalid machine configuration; `field` names the offending field (`nodes[1].memoryBytes`). */
export class ConfigError extends MmError {
  /** The configuration field at fault (`nodes[1].cpus`). */
  readonly field: string;

  constructor(field: string, message: string) {
    super('EINVAL', `machine: ${field}: ${message}`);
    this.field = field;
  }
}

/**
 * Throw {@link MmBugError} when `cond` holds.
 * @kernel BUG_ON (include/asm-generic/bug.h)
 */
export function bugOn(cond: boolean, message: string): void {
  if (cond) throw new MmBugError(message);
}
