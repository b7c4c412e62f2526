/**
 * DOC: bit spinlocks: one bit of a word used as a spinlock.
 *
 * The word lives in an `Int32Array` (a page-flags word, a list head) so no
 * lock object is needed per protected item. Taking the bit disables
 * preemption. Like the kernel, bit spinlocks are invisible to lockdep (no
 * owner, no class), but a bit left set at the end of a task step shows up as
 * a preemption leak. Spinning on a set bit cannot end in the one-thread model
 * and is reported as `spin-deadlock`; `bitSpinTrylock` just fails.
 */
import { MmBugError, MmError } from '../errors.js';
import type { MachineCore } from '../types.js';
import { LockdepError } from './lockdep.js';

function check(words: Int32Array, index: number, bit: number): void {
  if (!Number.isInteger(bit) || bit < 0 || bit > 31 || !Number.isInteger(index) || index < 0 || index >= words.length) {
    throw new MmError('EINVAL', `bit_spinlock: bit ${bit} of word ${index} out of range`);
  }
}

/**
 * Set bit `bit` of `words[index]`, disabling preemption.
 * @throws LockdepError `spin-deadlock` when the bit is already set.
 * @kernel bit_spin_lock (include/linux/bit_spinlock.h)
 */
export function bitSpinLock(machine: MachineCore, words: Int32Array, index: number, bit: number): void {
  check(words, index, bit);
  const mask = 1 << bit;
  if ((words[index]! & mask) !== 0) {
    machine.account.chargeEvent(machine.currentCpu, 'lockContended', 1);
    throw new LockdepError(
      'spin-deadlock',
      `bit ${bit} of word ${index}`,
      `CPU ${machine.currentCpu} spins on bit ${bit} of word ${index}, whose holder cannot release it`,
    );
  }
  machine.cpus.preemptDisable();
  words[index] = words[index]! | mask;
  machine.account.chargeEvent(machine.currentCpu, 'spinLock', 1);
}

/**
 * Try to set the bit; returns false (preemption unchanged) when it is set.
 * @kernel bit_spin_trylock (include/linux/bit_spinlock.h)
 */
export function bitSpinTrylock(machine: MachineCore, words: Int32Array, index: number, bit: number): boolean {
  check(words, index, bit);
  const mask = 1 << bit;
  if ((words[index]! & mask) !== 0) return false;
  machine.cpus.preemptDisable();
  words[index] = words[index]! | mask;
  machine.account.chargeEvent(machine.currentCpu, 'spinLock', 1);
  return true;
}

/**
 * Clear the bit and re-enable preemption.
 * @throws MmBugError when the bit is not set.
 * @kernel bit_spin_unlock (include/linux/bit_spinlock.h)
 */
export function bitSpinUnlock(machine: MachineCore, words: Int32Array, index: number, bit: number): void {
  check(words, index, bit);
  const mask = 1 << bit;
  if ((words[index]! & mask) === 0) throw new MmBugError(`bit_spinlock: unlock of clear bit ${bit} of word ${index}`);
  words[index] = words[index]! & ~mask;
  machine.cpus.preemptEnable();
}

/** Whether bit `bit` of `words[index]` is held as a lock. @kernel bit_spin_is_locked (include/linux/bit_spinlock.h) */
export function bitSpinIsLocked(words: Int32Array, index: number, bit: number): boolean {
  check(words, index, bit);
  return (words[index]! & (1 << bit)) !== 0;
}
