/**
 * DOC: raw PTE accessors shared by the generic operations and arm64's
 * contiguous-PTE code: `__ptep_get()`, `__set_pte()` and the `set_ptes()`
 * loop (`__set_ptes()`), with the bookkeeping every PTE write carries (lazy
 * MMU accounting, the refcount-mode entry count).
 */
import { PTE_LEVEL } from '../arch/pte-ops.js';
import { PteVal, TWO_32 } from '../entry/pteval.js';
import type { MmPgtables, PageTables } from './page-tables.js';
import { CHUNK_SLOTS_MASK, CHUNK_SLOTS_SHIFT } from './ptdesc.js';

const t1 = new PteVal();

/**
 * Read a PTE as stored (no contiguous-block gathering).
 * @kernel __ptep_get (arch/arm64/include/asm/pgtable.h)
 */
export function __ptepGet(pt: PageTables, ptep: number, out: PteVal): PteVal {
  const c = pt.pools[PTE_LEVEL]!.chunks[ptep >>> CHUNK_SLOTS_SHIFT]!;
  const o = (ptep & CHUNK_SLOTS_MASK) << 1;
  out.lo = c[o]!;
  out.hi = c[o + 1]!;
  return out;
}

/**
 * Write a PTE: storage, lazy-MMU accounting and the refcount-mode entry
 * count. `old` is the previous value.
 * @kernel __set_pte (arch/arm64/include/asm/pgtable.h) / set_pte
 */
export function __setPte(mm: MmPgtables, addr: number, ptep: number, old: PteVal, v: PteVal): void {
  const pt = mm.pt;
  const c = pt.pools[PTE_LEVEL]!.chunks[ptep >>> CHUNK_SLOTS_SHIFT]!;
  const o = (ptep & CHUNK_SLOTS_MASK) << 1;
  c[o] = v.lo;
  c[o + 1] = v.hi;
  const codec = pt.codec;
  pt.lazy.noteUpdate(mm, addr, 1, codec.ptePresent(old), codec.ptePresent(v));
  if (pt.ptReclaim === 'refcount' && !mm.isInitMm) {
    const wasNone = codec.pteNone(old);
    const isNone = codec.pteNone(v);
    if (wasNone !== isNone) pt.pteRefEntries(ptep, isNone ? -1 : 1);
  }
}

/**
 * The loop of `set_ptes()`: write `nr` entries, each the previous one with
 * the PFN advanced by one (`pte_next_pfn()`: the raw value plus
 * 1 << PFN_PTE_SHIFT, minus for x86's inverted PROT_NONE PFNs). The old
 * entries of a batch are non-present (the `set_ptes()` contract).
 * @kernel __set_ptes (arch/arm64/include/asm/pgtable.h) / the generic set_ptes loop
 */
export function __setPtes(mm: MmPgtables, addr: number, ptep: number, pte: PteVal, nr: number): void {
  const pt = mm.pt;
  if (nr === 1) {
    __setPte(mm, addr, ptep, __ptepGet(pt, ptep, t1), pte);
    return;
  }
  const codec = pt.codec;
  const chunks = pt.pools[PTE_LEVEL]!.chunks;
  const refMode = pt.ptReclaim === 'refcount' && !mm.isInitMm;
  const step = codec.pfnStep(pte);
  // lo as an unsigned double so the carry into hi is one comparison.
  let lo = pte.lo >>> 0;
  let hi = pte.hi;
  let newEntries = 0;
  let s = ptep;
  const end = ptep + nr;
  while (s < end) {
    const c = chunks[s >>> CHUNK_SLOTS_SHIFT]!;
    let o = (s & CHUNK_SLOTS_MASK) << 1;
    // A PTE table never straddles a storage chunk: run to the end of the batch or chunk.
    const runEnd = Math.min(end, (s | CHUNK_SLOTS_MASK) + 1);
    const n = runEnd - s;
    if (!refMode && step > 0 && lo + n * step < TWO_32) {
      // The common case: no carry into the high word within the run.
      const oEnd = o + 2 * n;
      for (; o < oEnd; o += 2) {
        c[o] = lo | 0;
        c[o + 1] = hi;
        lo += step;
      }
      s = runEnd;
      continue;
    }
    for (; s < runEnd; s++, o += 2) {
      if (refMode && c[o] === 0 && c[o + 1] === 0) newEntries++;
      c[o] = lo | 0;
      c[o + 1] = hi;
      lo += step;
      if (lo >= TWO_32) {
        lo -= TWO_32;
        hi = (hi + 1) | 0;
      } else if (lo < 0) {
        lo += TWO_32;
        hi = (hi - 1) | 0;
      }
    }
  }
  pt.lazy.noteUpdate(mm, addr, nr, false, true);
  if (refMode && newEntries > 0) pt.pteRefEntries(ptep, newEntries);
}
