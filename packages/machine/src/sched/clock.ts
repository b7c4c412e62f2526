/**
 * DOC: the virtual clock and the event queue.
 *
 * Time is a count of virtual nanoseconds (a float64 holds exact integers up
 * to 2^53 ns, about 104 days). `now` is the global time the event loop has
 * reached; every CPU also has a local time `cpuNs[cpu]`, the moment it is
 * next free, which the cost account advances as work is charged to it, so
 * CPUs run in parallel in virtual time. Events (timers, task wake-ups, the
 * RCU tick, delayed work) sit in a binary min-heap ordered by (time,
 * sequence), so events due at the same time fire in the order they were
 * scheduled: runs are deterministic. The loop that interleaves events and
 * task steps is {@link Sched.runUntil} (sched.ts).
 */
import { MmError } from '../errors.js';
import type { Topology } from '../topology.js';

/** A callback scheduled on the clock. Subclassed by timers; reusable (re-schedule after it fired). */
export class ClockEvent {
  /** Due time in virtual ns. */
  when: number;
  /** Tie-breaker: scheduling order. */
  seq: number;
  /** Position in the heap, -1 when not queued. */
  heapIndex: number;
  /** Called when the event is due, with the clock at `when`. */
  readonly fire: (event: ClockEvent) => void;

  constructor(fire: (event: ClockEvent) => void) {
    this.when = 0;
    this.seq = 0;
    this.heapIndex = -1;
    this.fire = fire;
  }

  /** True while queued on the clock. */
  get queued(): boolean {
    return this.heapIndex >= 0;
  }
}

/** Nanoseconds per microsecond (`NSEC_PER_USEC`). */
export const NSEC_PER_USEC = 1_000;
/** Nanoseconds per millisecond (`NSEC_PER_MSEC`). */
export const NSEC_PER_MSEC = 1_000_000;
/** Nanoseconds per second (`NSEC_PER_SEC`). */
export const NSEC_PER_SEC = 1_000_000_000;

/** The virtual clock of a machine (`machine.clock`). */
export class Clock {
  /** Global virtual time in ns (monotonic). */
  now: number;
  /** Each CPU's local time: when it is next free. */
  readonly cpuNs: Float64Array;
  /** Events fired so far. */
  nrFired: number;
  private heap: ClockEvent[];
  private size: number;
  private nextSeq: number;

  constructor(topology: Pick<Topology, 'nrCpus'>) {
    this.now = 0;
    this.cpuNs = new Float64Array(topology.nrCpus);
    this.nrFired = 0;
    this.heap = [];
    this.size = 0;
    this.nextSeq = 0;
  }

  /** Local time of `cpu`: never behind the global clock. */
  cpuNow(cpu: number): number {
    const t = this.cpuNs[cpu]!;
    return Math.max(t, this.now);
  }

  /** Number of queued events. */
  get nrQueued(): number {
    return this.size;
  }

  /**
   * Queue `event` at `whenNs` (clamped to now); re-queues it when already queued.
   * @throws MmError EINVAL for a non-finite time.
   */
  schedule(event: ClockEvent, whenNs: number): void {
    if (!Number.isFinite(whenNs)) throw new MmError('EINVAL', `clock: event time ${whenNs} is not finite`);
    if (event.heapIndex >= 0) this.removeAt(event.heapIndex);
    event.when = Math.max(whenNs, this.now);
    event.seq = this.nextSeq++;
    const i = this.size++;
    this.heap.push(event);
    event.heapIndex = i;
    this.siftUp(i);
  }

  /** Remove `event` from the queue; returns whether it was queued. */
  cancel(event: ClockEvent): boolean {
    if (event.heapIndex < 0) return false;
    this.removeAt(event.heapIndex);
    return true;
  }

  /** Due time of the earliest event, or Infinity. */
  nextEventTime(): number {
    return this.size > 0 ? this.heap[0]!.when : Number.POSITIVE_INFINITY;
  }

  /** Fire the earliest event, advancing `now` to its time; returns false when none is queued. */
  fireNext(): boolean {
    if (this.size === 0) return false;
    const ev = this.heap[0]!;
    this.removeAt(0);
    if (ev.when > this.now) this.now = ev.when;
    this.nrFired++;
    ev.fire(ev);
    return true;
  }

  /** Advance `now` to `t` if it is later (no event is fired). */
  advanceTo(t: number): void {
    if (t > this.now) this.now = t;
  }

  private less(a: ClockEvent, b: ClockEvent): boolean {
    return a.when < b.when || (a.when === b.when && a.seq < b.seq);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const ev = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = h[p]!;
      if (!this.less(ev, pe)) break;
      h[i] = pe;
      pe.heapIndex = i;
      i = p;
    }
    h[i] = ev;
    ev.heapIndex = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = this.size;
    const ev = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const ce = h[c]!;
      if (!this.less(ce, ev)) break;
      h[i] = ce;
      ce.heapIndex = i;
      i = c;
    }
    h[i] = ev;
    ev.heapIndex = i;
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const ev = h[i]!;
    ev.heapIndex = -1;
    const last = --this.size;
    // pop() keeps the array's backing store (assigning length may reallocate).
    const moved = h.pop()!;
    if (i === last) return;
    h[i] = moved;
    moved.heapIndex = i;
    if (i > 0 && this.less(moved, h[(i - 1) >> 1]!)) this.siftUp(i);
    else this.siftDown(i);
  }

  /** Check the heap invariant (for tests); returns an error message or null. */
  validate(): string | null {
    for (let i = 0; i < this.size; i++) {
      const ev = this.heap[i]!;
      if (ev.heapIndex !== i) return `clock: event at ${i} has heapIndex ${ev.heapIndex}`;
      if (i > 0 && this.less(ev, this.heap[(i - 1) >> 1]!)) return `clock: heap order broken at ${i}`;
      if (ev.when < this.now) return `clock: event at ${i} is in the past (${ev.when} < ${this.now})`;
    }
    return null;
  }

  /** Global and per-CPU time as plain JSON. */
  toJSON(): {
    /** Global virtual time, ns. */
    readonly now: number;
    /** Each CPU's own clock, ns. */
    readonly cpuNs: readonly number[];
    /** Events waiting on the clock. */
    readonly queued: number;
    /** Events fired so far. */
    readonly fired: number;
  } {
    return { now: this.now, cpuNs: Array.from(this.cpuNs), queued: this.size, fired: this.nrFired };
  }
}
