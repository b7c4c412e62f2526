/**
 * DOC: the naive oracle for property tests: a sorted array of non-overlapping
 * ranges with the kernel's observable semantics (store, erase of a whole range,
 * insert with EEXIST, lowest/highest fit).
 */
import { MAPLE_MAX } from '../src/index.js';

export interface Range {
  first: number;
  last: number;
  value: unknown;
}

export class RangeOracle {
  ranges: Range[] = [];

  /** Index of the first range with last >= i. */
  private lowerBound(i: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid]!.last < i) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  load(i: number): unknown {
    const k = this.lowerBound(i);
    const r = this.ranges[k];
    return r !== undefined && r.first <= i ? r.value : undefined;
  }

  rangeAt(i: number): Range | undefined {
    const k = this.lowerBound(i);
    const r = this.ranges[k];
    return r !== undefined && r.first <= i ? r : undefined;
  }

  store(first: number, last: number, value: unknown): void {
    const out: Range[] = [];
    for (const r of this.ranges) {
      if (r.last < first || r.first > last) {
        out.push(r);
        continue;
      }
      if (r.first < first) out.push({ first: r.first, last: first - 1, value: r.value });
      if (r.last > last) out.push({ first: last + 1, last: r.last, value: r.value });
    }
    if (value !== undefined) out.push({ first, last, value });
    out.sort((a, b) => a.first - b.first);
    this.ranges = out;
  }

  overlaps(first: number, last: number): boolean {
    const k = this.lowerBound(first);
    const r = this.ranges[k];
    return r !== undefined && r.first <= last;
  }

  erase(i: number): unknown {
    const r = this.rangeAt(i);
    if (r === undefined) return undefined;
    this.store(r.first, r.last, undefined);
    return r.value;
  }

  /** Empty ranges (maximal) as [first, last]. */
  gaps(): Array<[number, number]> {
    const g: Array<[number, number]> = [];
    let lo = 0;
    for (const r of this.ranges) {
      if (r.first > lo) g.push([lo, r.first - 1]);
      lo = r.last + 1;
    }
    if (this.ranges.length === 0 || this.ranges[this.ranges.length - 1]!.last < MAPLE_MAX) g.push([lo, MAPLE_MAX]);
    return g;
  }

  lowestFit(min: number, max: number, size: number): number {
    for (const [a, b] of this.gaps()) {
      const s = Math.max(a, min);
      const e = Math.min(b, max);
      if (e >= s && e - s + 1 >= size) return s;
    }
    return -1;
  }

  highestFit(min: number, max: number, size: number): number {
    const g = this.gaps();
    for (let i = g.length - 1; i >= 0; i--) {
      const [a, b] = g[i]!;
      const s = Math.max(a, min);
      const e = Math.min(b, max);
      if (e >= s && e - s + 1 >= size) return e - size + 1;
    }
    return -1;
  }

  /** Entries intersecting [lo, hi], ascending. */
  between(lo: number, hi: number): Range[] {
    return this.ranges.filter((r) => r.last >= lo && r.first <= hi);
  }
}
