/**
 * DOC: a set of PFNs as chunked bitmaps (one bit per page, chunks made on
 * first use): the kernel model's record of live user folios, cheap to add to
 * and remove from on every fault and free (a JavaScript `Set` of hundreds of
 * thousands of numbers is not).
 */
const CHUNK_SHIFT = 18;
const CHUNK = 1 << CHUNK_SHIFT;

/** A set of page frame numbers. */
export class PfnSet {
  private readonly chunks: (Uint32Array | undefined)[];
  /** Number of PFNs in the set. */
  size: number;

  constructor() {
    this.chunks = [];
    this.size = 0;
  }

  /** Whether `pfn` is a member. */
  has(pfn: number): boolean {
    const c = this.chunks[pfn >>> CHUNK_SHIFT];
    if (c === undefined) return false;
    const i = pfn & (CHUNK - 1);
    return ((c[i >>> 5]! >>> (i & 31)) & 1) === 1;
  }

  /** Make `pfn` a member (no-op if it is one already). */
  add(pfn: number): void {
    const ci = pfn >>> CHUNK_SHIFT;
    let c = this.chunks[ci];
    if (c === undefined) c = this.chunks[ci] = new Uint32Array(CHUNK >>> 5);
    const i = pfn & (CHUNK - 1);
    const w = c[i >>> 5]!;
    const bit = 1 << (i & 31);
    if ((w & bit) === 0) {
      c[i >>> 5] = w | bit;
      this.size++;
    }
  }

  /** Remove `pfn` (no-op if it is not a member). */
  delete(pfn: number): void {
    const c = this.chunks[pfn >>> CHUNK_SHIFT];
    if (c === undefined) return;
    const i = pfn & (CHUNK - 1);
    const w = c[i >>> 5]!;
    const bit = 1 << (i & 31);
    if ((w & bit) !== 0) {
      c[i >>> 5] = w & ~bit;
      this.size--;
    }
  }

  /** Members in increasing order. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci];
      if (c === undefined) continue;
      for (let wi = 0; wi < c.length; wi++) {
        let w = c[wi]!;
        while (w !== 0) {
          const b = 31 - Math.clz32(w & -w);
          yield ci * CHUNK + wi * 32 + b;
          w &= w - 1;
        }
      }
    }
  }

  /** Host bytes of the bitmaps. */
  hostBytes(): number {
    let n = 0;
    for (const c of this.chunks) if (c !== undefined) n += c.byteLength;
    return n;
  }
}
