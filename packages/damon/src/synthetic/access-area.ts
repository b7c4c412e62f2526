/**
 * DOC: the access state of one synthetic memory area, kept lazily.
 *
 * A workload touches far more bytes per sampling interval than DAMON ever
 * looks at (one address per region per sample), so the area does not mark
 * pages one by one. It keeps what is needed to answer "was page p accessed
 * after it was last made old?" exactly and cheaply:
 *
 * - every access batch gets a sequence number (`seq`, increasing);
 * - ranges touched by sequential access are *painted* with their seq on a
 *   sorted segment list (a later paint overwrites), so "latest touch of p"
 *   is a binary search;
 * - random accesses are recorded per batch in a ring (seq, number of
 *   accesses); page p is touched by batch b iff a hash of (p, b) falls below
 *   1 − (1 − 1/P)^n, the probability that n uniform accesses over P pages hit
 *   it, so answers are random but consistent (the same question always gets
 *   the same answer, as on real memory);
 * - making a page old stores the current seq for the page's clear cell
 *   (a page, or 2^k pages for areas larger than 2^22 pages, which keeps a
 *   terabyte area's state within 16 MiB).
 *
 * A page is young when its latest touch is newer than its last clear.
 */

const RING = 64;

/** The touch state of one area of `nrPages` pages. */
export class AccessArea {
  /** First address of the area. */
  readonly start: number;
  /** Pages in the area. */
  readonly nrPages: number;
  /** log2 of the page size. */
  readonly pageShift: number;
  /** log2(pages per clear cell). */
  readonly cellShift: number;
  /** Last clear seq per cell. */
  readonly clearSeq: Uint32Array;
  /** Painted segments, sorted and disjoint: [segStart, segEnd) in pages, touched at segSeq. */
  segStart: number[];
  /** End (exclusive, pages) of each painted segment, parallel to `segStart`. */
  segEnd: number[];
  /** Touch seq of each painted segment, parallel to `segStart`. */
  segSeq: number[];
  /** Random-access batches: seq and number of accesses, newest at `ringHead - 1`. */
  readonly ringSeq: Float64Array;
  /** Accesses of each ring batch, parallel to `ringSeq`. */
  readonly ringN: Float64Array;
  /** Hit probability of each ring batch (cached: 1 − (1 − 1/P)^n). */
  readonly ringQ: Float64Array;
  /** @internal */
  ringHead: number;
  /** @internal */
  ringCount: number;
  /** Accesses of the random batches that fell out of the ring. */
  evictedN: number;
  /** Seq of the newest evicted batch. */
  evictedSeq: number;
  /** Hit probability of all evicted batches together. */
  evictedQ: number;
  /** A per-area salt for the hash. */
  readonly salt: number;

  constructor(start: number, nrPages: number, pageShift: number, salt: number) {
    this.start = start;
    this.nrPages = nrPages;
    this.pageShift = pageShift;
    let cellShift = 0;
    while (nrPages >>> cellShift > 1 << 22) cellShift++;
    this.cellShift = cellShift;
    this.clearSeq = new Uint32Array(Math.ceil(nrPages / 2 ** cellShift));
    this.segStart = [];
    this.segEnd = [];
    this.segSeq = [];
    this.ringSeq = new Float64Array(RING);
    this.ringN = new Float64Array(RING);
    this.ringQ = new Float64Array(RING);
    this.ringHead = 0;
    this.ringCount = 0;
    this.evictedN = 0;
    this.evictedSeq = 0;
    this.evictedQ = 0;
    this.salt = salt | 0;
  }

  /** Bytes in the area. */
  get size(): number {
    return this.nrPages * 2 ** this.pageShift;
  }

  /** Index of the first segment whose end is after page `p` (binary search). */
  private segIndex(p: number): number {
    let lo = 0;
    let hi = this.segEnd.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segEnd[mid]! <= p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Mark pages [a, b) touched at `seq` (a later paint wins). */
  paint(a: number, b: number, seq: number): void {
    if (a < 0) a = 0;
    if (b > this.nrPages) b = this.nrPages;
    if (a >= b) return;
    const ss = this.segStart;
    const se = this.segEnd;
    const sq = this.segSeq;
    let i = this.segIndex(a);
    // Trim a segment that starts before a.
    if (i < se.length && ss[i]! < a) {
      if (se[i]! > b) {
        // The paint lies inside one segment: split it in three.
        ss.splice(i + 1, 0, a, b);
        se.splice(i, 0, a, b);
        sq.splice(i + 1, 0, seq, sq[i]!);
        return;
      }
      se[i] = a;
      i++;
    }
    // Remove segments covered by [a, b); trim one that ends after b.
    let j = i;
    while (j < se.length && se[j]! <= b) j++;
    if (j < se.length && ss[j]! < b) ss[j] = b;
    // Merge with a neighbour painted by the same batch.
    if (i > 0 && se[i - 1] === a && sq[i - 1] === seq) {
      se[i - 1] = b;
      ss.splice(i, j - i);
      se.splice(i, j - i);
      sq.splice(i, j - i);
      return;
    }
    ss.splice(i, j - i, a);
    se.splice(i, j - i, b);
    sq.splice(i, j - i, seq);
  }

  /** Record a batch of `n` uniform random accesses over the whole area at `seq`. */
  randomBatch(n: number, seq: number): void {
    if (this.ringCount === RING) {
      const oldest = (this.ringHead - RING + RING) % RING;
      this.evictedN += this.ringN[oldest]!;
      this.evictedSeq = this.ringSeq[oldest]!;
      this.evictedQ = this.hitProbability(this.evictedN);
    } else {
      this.ringCount++;
    }
    this.ringSeq[this.ringHead] = seq;
    this.ringN[this.ringHead] = n;
    this.ringQ[this.ringHead] = this.hitProbability(n);
    this.ringHead = (this.ringHead + 1) % RING;
  }

  /** Seq of the latest paint covering page `p`, or 0. */
  paintSeq(p: number): number {
    const i = this.segIndex(p);
    if (i < this.segEnd.length && this.segStart[i]! <= p) return this.segSeq[i]!;
    return 0;
  }

  /** Probability that `n` uniform accesses over the area touch a given page. */
  hitProbability(n: number): number {
    return -Math.expm1(n * Math.log1p(-1 / this.nrPages));
  }

  /** Whether random accesses newer than `since` touched page `p`. */
  randomTouchedSince(p: number, since: number): boolean {
    let idx = this.ringHead;
    for (let k = 0; k < this.ringCount; k++) {
      idx = idx === 0 ? RING - 1 : idx - 1;
      const seq = this.ringSeq[idx]!;
      if (seq <= since) return false;
      if (hash01(p, seq, this.salt) < this.ringQ[idx]!) return true;
    }
    // Older than the ring: one draw for everything evicted since `since`.
    if (this.evictedN > 0 && this.evictedSeq > since)
      return hash01(p, this.evictedSeq + 0.5, this.salt) < this.evictedQ;
    return false;
  }

  /** Whether page `p` was touched after seq `since`. */
  touchedSince(p: number, since: number): boolean {
    if (this.paintSeq(p) > since) return true;
    return this.ringCount !== 0 && this.randomTouchedSince(p, since);
  }

  /** The last clear seq of page `p`. */
  clearOf(p: number): number {
    return this.clearSeq[p >>> this.cellShift]!;
  }

  /** Make page `p` old as of `seq` (test-and-clear without the test). */
  mkold(p: number, seq: number): void {
    this.clearSeq[p >>> this.cellShift] = seq;
  }

  /** Make page `p` old as of `seq`; returns whether it was young. */
  testAndClearYoung(p: number, seq: number): boolean {
    const cell = p >>> this.cellShift;
    const young = this.touchedSince(p, this.clearSeq[cell]!);
    this.clearSeq[cell] = seq;
    return young;
  }

  /** Make pages [a, b) old as of `seq` (pageout). */
  clearRange(a: number, b: number, seq: number): void {
    const c0 = Math.max(0, a) >>> this.cellShift;
    const c1 = Math.min(this.nrPages, b) + 2 ** this.cellShift - 1;
    this.clearSeq.fill(seq, c0, Math.min(this.clearSeq.length, Math.floor(c1 / 2 ** this.cellShift)));
  }

  /** Whether page `p` is young (touched after its last clear). */
  young(p: number): boolean {
    return this.touchedSince(p, this.clearSeq[p >>> this.cellShift]!);
  }

  /** Check the segment list (sorted, disjoint, non-empty, in range); an error or null. */
  validate(): string | null {
    for (let i = 0; i < this.segStart.length; i++) {
      const s = this.segStart[i]!;
      const e = this.segEnd[i]!;
      if (!(s < e)) return `synthetic: empty segment ${i} [${s}, ${e})`;
      if (s < 0 || e > this.nrPages) return `synthetic: segment ${i} [${s}, ${e}) out of [0, ${this.nrPages})`;
      if (i > 0 && this.segEnd[i - 1]! > s) return `synthetic: segment ${i} overlaps its predecessor`;
    }
    return null;
  }
}

/** A hash of (p, seq, salt) to [0, 1): murmur3-style finalisation of two mixed words. */
export function hash01(p: number, seq: number, salt: number): number {
  let h = Math.imul((p | 0) ^ salt, 0x9e3779b1) ^ Math.imul(Math.floor(p / 4294967296) | 0, 0x85ebca77);
  h ^= Math.imul(seq * 2 + 1, 0xc2b2ae3d) ^ Math.imul(Math.floor(seq / 4294967296) | 0, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
