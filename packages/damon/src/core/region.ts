/**
 * DOC: monitoring targets and their region lists (the region half of
 * mm/damon/core.c).
 *
 * A {@link DamonTarget} owns its regions. The kernel keeps each
 * `struct damon_region` as a slab object on a doubly linked list; here the
 * fields live in one typed array per field (structure of arrays) inside the
 * target, a region is an integer handle into them, and `next`/`prev` arrays
 * form the address-ordered list. Freed handles go on a free list and are
 * reused, so splitting and merging allocate nothing once the arrays have grown
 * to the working size. Addresses are float64 (exact up to 2^53).
 *
 * Every list operation keeps the invariants {@link damonValidateTarget}
 * checks: regions sorted by address, non-overlapping, non-empty, and
 * `nrRegions` equal to the list length.
 */
import { EINVAL } from '@mm/machine';
import { weightedAvgU64 } from './math64.js';

/** "No region": the end of a region list. */
export const DAMON_NO_REGION = -1;

const INITIAL_CAPACITY = 16;

/**
 * A monitoring target: one address space (a process for vaddr, the physical
 * address space for paddr) and the regions DAMON watches in it.
 * @kernel struct damon_target (include/linux/damon.h)
 */
export class DamonTarget {
  /** The consumer's id of the address space (a pid for vaddr/fvaddr), or null. */
  pid: number | null;
  /** Number of regions on the list. */
  nrRegions: number;
  /** Set on a commit source to make the matching destination target go away. */
  obsolete: boolean;
  /** First region (lowest address), or {@link DAMON_NO_REGION}. */
  first: number;
  /** Last region (highest address), or {@link DAMON_NO_REGION}. */
  last: number;
  /** `ar.start` of each region handle. */
  start: Float64Array;
  /** `ar.end` of each region handle (exclusive). */
  end: Float64Array;
  /** `sampling_addr`: the address checked in the current sample. */
  samplingAddr: Float64Array;
  /** `nr_accesses`: samples of this aggregation window that found an access. */
  nrAccesses: Uint32Array;
  /** `nr_accesses_bp`: the pseudo moving sum of accesses, in 1/10,000 of a sample. */
  nrAccessesBp: Uint32Array;
  /** `age`: aggregation intervals the access pattern has lasted. */
  age: Uint32Array;
  /** `last_nr_accesses`: `nr_accesses` of the previous window. */
  lastNrAccesses: Uint32Array;
  /** Next region in address order (or the next free handle while free). */
  next: Int32Array;
  /** Previous region in address order. */
  prev: Int32Array;
  private freeHead: number;
  private highWater: number;

  constructor(pid: number | null = null) {
    this.pid = pid;
    this.nrRegions = 0;
    this.obsolete = false;
    this.first = DAMON_NO_REGION;
    this.last = DAMON_NO_REGION;
    this.start = new Float64Array(INITIAL_CAPACITY);
    this.end = new Float64Array(INITIAL_CAPACITY);
    this.samplingAddr = new Float64Array(INITIAL_CAPACITY);
    this.nrAccesses = new Uint32Array(INITIAL_CAPACITY);
    this.nrAccessesBp = new Uint32Array(INITIAL_CAPACITY);
    this.age = new Uint32Array(INITIAL_CAPACITY);
    this.lastNrAccesses = new Uint32Array(INITIAL_CAPACITY);
    this.next = new Int32Array(INITIAL_CAPACITY);
    this.prev = new Int32Array(INITIAL_CAPACITY);
    this.freeHead = DAMON_NO_REGION;
    this.highWater = 0;
  }

  /** Handles the arrays can hold before they grow. */
  get capacity(): number {
    return this.start.length;
  }

  /** Allocate an unlinked handle with every counter zeroed. */
  allocHandle(): number {
    let r = this.freeHead;
    if (r !== DAMON_NO_REGION) {
      this.freeHead = this.next[r]!;
    } else {
      if (this.highWater === this.start.length) this.grow();
      r = this.highWater++;
    }
    this.samplingAddr[r] = 0;
    this.nrAccesses[r] = 0;
    this.nrAccessesBp[r] = 0;
    this.age[r] = 0;
    this.lastNrAccesses[r] = 0;
    this.next[r] = DAMON_NO_REGION;
    this.prev[r] = DAMON_NO_REGION;
    return r;
  }

  /** Return an unlinked handle to the free list. */
  freeHandle(r: number): void {
    this.start[r] = Number.NaN;
    this.end[r] = Number.NaN;
    this.prev[r] = -2;
    this.next[r] = this.freeHead;
    this.freeHead = r;
  }

  private grow(): void {
    const n = this.start.length * 2;
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const u32 = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array): Int32Array => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.start = f64(this.start);
    this.end = f64(this.end);
    this.samplingAddr = f64(this.samplingAddr);
    this.nrAccesses = u32(this.nrAccesses);
    this.nrAccessesBp = u32(this.nrAccessesBp);
    this.age = u32(this.age);
    this.lastNrAccesses = u32(this.lastNrAccesses);
    this.next = i32(this.next);
    this.prev = i32(this.prev);
  }

  /** Handles ever handed out (live + free), for validators. */
  get nrHandles(): number {
    return this.highWater;
  }

  /** Free-list handles, for validators. */
  freeHandles(): number[] {
    const out: number[] = [];
    for (let r = this.freeHead; r !== DAMON_NO_REGION; r = this.next[r]!) {
      out.push(r);
      if (out.length > this.highWater) break;
    }
    return out;
  }
}

/** A region as plain data (for tests, reports and JSON). */
export interface DamonRegionState {
  /** First address of the region. */
  readonly start: number;
  /** End address (exclusive). */
  readonly end: number;
  /** Accesses seen in the current aggregation window (samples). @kernel damon_region.nr_accesses */
  readonly nrAccesses: number;
  /** `nrAccesses` kept as a moving sum, in bp of a sample. @kernel damon_region.nr_accesses_bp */
  readonly nrAccessesBp: number;
  /** Aggregation intervals the access frequency stayed similar. @kernel damon_region.age */
  readonly age: number;
  /** `nrAccesses` of the previous aggregation window. @kernel damon_region.last_nr_accesses */
  readonly lastNrAccesses: number;
}

/** An address range `[start, end)`. @kernel struct damon_addr_range (include/linux/damon.h) */
export interface DamonAddrRange {
  /** First address. */
  start: number;
  /** End address (exclusive). */
  end: number;
}

/**
 * A new target with no regions.
 * @kernel damon_new_target (mm/damon/core.c)
 */
export function damonNewTarget(pid: number | null = null): DamonTarget {
  return new DamonTarget(pid);
}

/**
 * Allocate a region of `[start, end)` with every counter zero, not yet on the list.
 * @kernel damon_new_region (mm/damon/core.c)
 */
export function damonNewRegion(t: DamonTarget, start: number, end: number): number {
  const r = t.allocHandle();
  t.start[r] = start;
  t.end[r] = end;
  return r;
}

/**
 * Append region `r` at the tail of `t`'s list.
 * @kernel damon_add_region (mm/damon/core.c)
 */
export function damonAddRegion(t: DamonTarget, r: number): void {
  t.prev[r] = t.last;
  t.next[r] = DAMON_NO_REGION;
  if (t.last === DAMON_NO_REGION) t.first = r;
  else t.next[t.last] = r;
  t.last = r;
  t.nrRegions++;
}

/**
 * Insert region `r` between `prev` and `next` (either may be
 * {@link DAMON_NO_REGION} for the list ends).
 * @kernel damon_insert_region (mm/damon/core.c)
 */
export function damonInsertRegion(t: DamonTarget, r: number, prev: number, next: number): void {
  t.prev[r] = prev;
  t.next[r] = next;
  if (prev === DAMON_NO_REGION) t.first = r;
  else t.next[prev] = r;
  if (next === DAMON_NO_REGION) t.last = r;
  else t.prev[next] = r;
  t.nrRegions++;
}

/**
 * Unlink region `r` and free its handle.
 * @kernel damon_destroy_region (mm/damon/core.c)
 */
export function damonDestroyRegion(t: DamonTarget, r: number): void {
  const p = t.prev[r]!;
  const n = t.next[r]!;
  if (p === DAMON_NO_REGION) t.first = n;
  else t.next[p] = n;
  if (n === DAMON_NO_REGION) t.last = p;
  else t.prev[n] = p;
  t.nrRegions--;
  t.freeHandle(r);
}

/** Number of regions of target `t`. @kernel damon_nr_regions (mm/damon/core.c) */
export function damonNrRegions(t: DamonTarget): number {
  return t.nrRegions;
}

/** First region of `t` in address order, or {@link DAMON_NO_REGION}. @kernel damon_first_region (include/linux/damon.h) */
export function damonFirstRegion(t: DamonTarget): number {
  return t.first;
}

/** Last region of `t` in address order, or {@link DAMON_NO_REGION}. @kernel damon_last_region (include/linux/damon.h) */
export function damonLastRegion(t: DamonTarget): number {
  return t.last;
}

/** The region after `r`, or {@link DAMON_NO_REGION}. @kernel damon_next_region (include/linux/damon.h) */
export function damonNextRegion(t: DamonTarget, r: number): number {
  return t.next[r]!;
}

/** The region before `r`, or {@link DAMON_NO_REGION}. @kernel damon_prev_region (include/linux/damon.h) */
export function damonPrevRegion(t: DamonTarget, r: number): number {
  return t.prev[r]!;
}

/** Size of region `r` in bytes. @kernel damon_sz_region (include/linux/damon.h) */
export function damonSzRegion(t: DamonTarget, r: number): number {
  return t.end[r]! - t.start[r]!;
}

/** Whether `r` is the last region of `t`. @kernel damon_is_last_region (mm/damon/core.c) */
export function damonIsLastRegion(t: DamonTarget, r: number): boolean {
  return t.next[r] === DAMON_NO_REGION;
}

/** Region `r` as plain data. */
export function damonRegionState(t: DamonTarget, r: number): DamonRegionState {
  return {
    start: t.start[r]!,
    end: t.end[r]!,
    nrAccesses: t.nrAccesses[r]!,
    nrAccessesBp: t.nrAccessesBp[r]!,
    age: t.age[r]!,
    lastNrAccesses: t.lastNrAccesses[r]!,
  };
}

/** Every region of `t` in address order, as plain data. */
export function damonRegions(t: DamonTarget): DamonRegionState[] {
  const out: DamonRegionState[] = [];
  for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) out.push(damonRegionState(t, r));
  return out;
}

/** The handle of the `n`-th region (0-based), or {@link DAMON_NO_REGION}. */
export function damonNthRegion(t: DamonTarget, n: number): number {
  let r = t.first;
  for (let i = 0; i < n && r !== DAMON_NO_REGION; i++) r = t.next[r]!;
  return r;
}

/**
 * Unlink and free every region of `t`.
 * @kernel damon_free_target (mm/damon/core.c)
 */
export function damonDestroyRegions(t: DamonTarget): void {
  let r = t.first;
  while (r !== DAMON_NO_REGION) {
    const n = t.next[r]!;
    damonDestroyRegion(t, r);
    r = n;
  }
}

/** `ALIGN_DOWN(x, a)` for a power-of-two or any positive integer `a`. */
export function alignDown(x: number, a: number): number {
  return x - (x % a);
}

/** `ALIGN(x, a)`: round up to a multiple of `a`. */
export function alignUp(x: number, a: number): number {
  const m = x % a;
  return m === 0 ? x : x + (a - m);
}

/**
 * Split region `r` in two: `r` keeps the first `szR` bytes, a new region
 * after it takes the rest and copies `age`, `last_nr_accesses`,
 * `nr_accesses` and `nr_accesses_bp`. Returns the new region.
 * @kernel damon_split_region_at (mm/damon/core.c)
 */
export function damonSplitRegionAt(t: DamonTarget, r: number, szR: number): number {
  const n = damonNewRegion(t, t.start[r]! + szR, t.end[r]!);
  t.end[r] = t.start[n]!;
  t.age[n] = t.age[r]!;
  t.lastNrAccesses[n] = t.lastNrAccesses[r]!;
  t.nrAccessesBp[n] = t.nrAccessesBp[r]!;
  t.nrAccesses[n] = t.nrAccesses[r]!;
  damonInsertRegion(t, n, r, t.next[r]!);
  return n;
}

/**
 * Merge region `r` into its left neighbour `l`: size-weighted integer
 * averages of `nr_accesses` and `age`, `nr_accesses_bp` reset to
 * `nr_accesses * 10000`, `l` keeps its `last_nr_accesses`.
 * @kernel damon_merge_two_regions (mm/damon/core.c)
 */
export function damonMergeTwoRegions(t: DamonTarget, l: number, r: number): void {
  const szL = t.end[l]! - t.start[l]!;
  const szR = t.end[r]! - t.start[r]!;
  const nr = weightedAvgU64(t.nrAccesses[l]!, szL, t.nrAccesses[r]!, szR);
  t.nrAccesses[l] = nr;
  t.nrAccessesBp[l] = nr * 10000; // unsigned int: wraps as the Uint32Array stores it
  t.age[l] = weightedAvgU64(t.age[l]!, szL, t.age[r]!, szR);
  t.end[l] = t.end[r]!;
  damonDestroyRegion(t, r);
}

function intersects(t: DamonTarget, r: number, re: DamonAddrRange): boolean {
  return !(t.end[r]! <= re.start || re.end <= t.start[r]!);
}

/** Fill the holes between `first` and `last` with new zeroed regions. @kernel damon_fill_regions_holes (mm/damon/core.c) */
function damonFillRegionsHoles(t: DamonTarget, first: number, last: number): void {
  for (let r = first; r !== DAMON_NO_REGION && r !== last; ) {
    const next = t.next[r]!;
    if (t.end[r] !== t.start[next]) {
      const nr = damonNewRegion(t, t.end[r]!, t.start[next]!);
      damonInsertRegion(t, nr, r, next);
    }
    r = next;
  }
}

/**
 * Make `t`'s regions cover exactly `ranges` (sorted, non-overlapping):
 * regions intersecting no range are removed; a range no region intersects
 * gets one new region; otherwise the first and last intersecting regions
 * are stretched to the range edges (aligned to `minRegionSz`) and holes are
 * filled with new zeroed regions.
 * @returns 0, or -EINVAL (nothing changed) when a range is empty after
 *   alignment or the ranges overlap or are unsorted.
 * @kernel damon_set_regions (mm/damon/core.c)
 */
export function damonSetRegions(t: DamonTarget, ranges: readonly DamonAddrRange[], minRegionSz: number): number {
  let lastEnd = 0;
  for (let i = 0; i < ranges.length; i++) {
    const start = alignDown(ranges[i]!.start, minRegionSz);
    const end = alignUp(ranges[i]!.end, minRegionSz);
    if (start >= end) return -EINVAL;
    if (i > 0 && lastEnd > start) return -EINVAL;
    lastEnd = end;
  }
  // Remove regions which are not in the new ranges.
  for (let r = t.first; r !== DAMON_NO_REGION; ) {
    const next = t.next[r]!;
    let i = 0;
    for (; i < ranges.length; i++) if (intersects(t, r, ranges[i]!)) break;
    if (i === ranges.length) damonDestroyRegion(t, r);
    r = next;
  }
  let r = t.first;
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i]!;
    let first = DAMON_NO_REGION;
    let last = DAMON_NO_REGION;
    let insertBefore = DAMON_NO_REGION;
    // Get the first/last regions intersecting with the range.
    for (; r !== DAMON_NO_REGION; r = t.next[r]!) {
      if (intersects(t, r, range)) {
        if (first === DAMON_NO_REGION) first = r;
        last = r;
      }
      if (t.start[r]! >= range.end) {
        insertBefore = r;
        break;
      }
    }
    if (first === DAMON_NO_REGION) {
      const nr = damonNewRegion(t, alignDown(range.start, minRegionSz), alignUp(range.end, minRegionSz));
      if (insertBefore !== DAMON_NO_REGION) damonInsertRegion(t, nr, t.prev[insertBefore]!, insertBefore);
      else damonAddRegion(t, nr);
    } else {
      t.start[first] = alignDown(range.start, minRegionSz);
      t.end[last] = alignUp(range.end, minRegionSz);
      damonFillRegionsHoles(t, first, last);
    }
  }
  return 0;
}

/**
 * Check `t`'s region list: links consistent in both directions, count equal
 * to `nrRegions`, every region non-empty, sorted and non-overlapping, no
 * live handle on the free list. Returns an error message or null.
 */
export function damonValidateTarget(t: DamonTarget): string | null {
  const seen = new Uint8Array(t.nrHandles);
  let n = 0;
  let prev = DAMON_NO_REGION;
  for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
    if (r < 0 || r >= t.nrHandles) return `damon: region handle ${r} out of range`;
    if (seen[r]) return `damon: region list has a cycle at handle ${r}`;
    seen[r] = 1;
    if (t.prev[r] !== prev) return `damon: region ${r} prev ${t.prev[r]} != ${prev}`;
    const s = t.start[r]!;
    const e = t.end[r]!;
    if (!(s < e)) return `damon: region ${r} [${s}, ${e}) is empty`;
    if (prev !== DAMON_NO_REGION && t.end[prev]! > s) {
      return `damon: region ${r} [${s}, ${e}) overlaps or precedes [${t.start[prev]}, ${t.end[prev]})`;
    }
    prev = r;
    n++;
  }
  if (t.last !== prev) return `damon: last ${t.last} != ${prev}`;
  if (n !== t.nrRegions) return `damon: nr_regions ${t.nrRegions} != ${n} on the list`;
  for (const f of t.freeHandles()) if (seen[f]) return `damon: live region ${f} is on the free list`;
  return null;
}
