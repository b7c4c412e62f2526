/**
 * DOC: the RCU interface the maple tree needs, and a default implementation.
 *
 * In RCU mode (`MT_FLAGS_USE_RCU`) writers never change a node that readers
 * may be looking at except by single-slot stores; they build replacement
 * nodes, publish them with one pointer store, mark the old nodes dead and hand
 * them to `callRcu()`, which frees them after a grace period. The kernel model
 * wires in its own RCU (`@mm/machine`); standalone users get
 * {@link MapleRcuQueue}, whose grace period ends at each explicit
 * {@link MapleRcuQueue.synchronize} call.
 */

import { checkFunction } from './check.js';

/** The deferred-free hook (the part of RCU the maple tree uses). */
export interface MapleRcu {
  /**
   * Run `cb` after every reader that could see the old nodes has finished.
   * @kernel call_rcu (kernel/rcu/tree.c)
   */
  callRcu(cb: () => void): void;
}

/** Callbacks queued until the next explicit grace point. */
export class MapleRcuQueue implements MapleRcu {
  private pending: Array<() => void> = [];
  /** Callbacks run so far. */
  completed = 0;

  /** Queue `cb` until the next {@link synchronize}. @kernel call_rcu (kernel/rcu/tree.c) */
  callRcu(cb: () => void): void {
    checkFunction('MapleRcuQueue.callRcu', 'cb', cb);
    this.pending.push(cb);
  }

  /** Callbacks waiting for a grace period. */
  get nrPending(): number {
    return this.pending.length;
  }

  /**
   * End a grace period: run every queued callback.
   * @kernel synchronize_rcu (kernel/rcu/tree.c)
   */
  synchronize(): void {
    const cbs = this.pending;
    this.pending = [];
    for (const cb of cbs) cb();
    this.completed += cbs.length;
  }
}
