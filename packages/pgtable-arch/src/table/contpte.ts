/**
 * DOC: arm64 contiguous-PTE folding (`arch/arm64/mm/contpte.c`,
 * CONFIG_ARM64_CONTPTE): PTE_CONT as a private detail of the ptep API.
 *
 * `set_ptes(nr > 1)` sets the contiguous bit on every naturally aligned
 * block of CONT_PTES entries whose virtual and physical addresses are
 * aligned (`contpte_set_ptes()`). A single `set_ptes()` first unfolds a
 * folded block it overwrites, then tries to fold when it completes a block
 * (the last entry of a block, valid, not special), which needs the whole
 * block to map one folio with contiguous PFNs and identical protections
 * once A/D are ignored; the folio check asks the consumer
 * (`PageTablesOptions.contpteFolio`), and without it single sets never fold.
 * Folding and unfolding go through `contpte_convert()`: clear every entry
 * of the block gathering A/D, flush the block from the TLBs, rewrite the
 * entries. `ptep_get()` of a folded entry ors A/D across the block;
 * clearing the accessed bit clears it block-wide; write-protecting whole
 * blocks keeps them folded; clearing or changing part of a block unfolds
 * it first. Kernel mappings (`init_mm`) are never folded.
 */
import type { Arm64Pte } from '../arch/arm64-pte.js';
import { PTE_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import type { MmPgtables, PageTables } from './page-tables.js';
import { CHUNK_SLOTS_MASK, CHUNK_SLOTS_SHIFT } from './ptdesc.js';
import { __ptepGet, __setPtes } from './pte-raw.js';

const a = new PteVal();
const b = new PteVal();
const c2 = new PteVal();
const prot = new PteVal();

/** What the contiguous-PTE code needs to know about folios (the consumer owns them). */
export interface ContpteFolioInfo {
  /** PFN of the first page of the folio holding `pfn`. */
  folioHeadPfn(pfn: number): number;
  /** Pages in the folio holding `pfn`. */
  folioNrPages(pfn: number): number;
}

function arm(pt: PageTables): Arm64Pte {
  return pt.codec as Arm64Pte;
}

function valid(v: PteVal): boolean {
  return (v.lo & 1) !== 0;
}

/**
 * Or the young and dirty bits of the whole block into `out`.
 * @kernel contpte_ptep_get (arch/arm64/mm/contpte.c)
 */
export function contpteGather(mm: MmPgtables, ptep: number, out: PteVal): PteVal {
  const pt = mm.pt;
  const codec = pt.codec;
  const n = pt.desc.contPtes;
  const start = ptep - (ptep % n);
  let young = codec.pteYoung(out);
  let dirty = codec.pteDirty(out);
  for (let i = 0; i < n && !(young && dirty); i++) {
    __ptepGet(pt, start + i, a);
    if (!young && codec.pteYoung(a)) young = true;
    if (!dirty && codec.pteDirty(a)) dirty = true;
  }
  if (young) codec.pteMkyoung(out);
  if (dirty) codec.pteMkdirty(out);
  return out;
}

/**
 * Rewrite the block holding `ptep` with `pte` (the block's first PFN, the
 * given CONT state), gathering A/D and flushing the block in between.
 * @kernel contpte_convert (arch/arm64/mm/contpte.c)
 */
export function contpteConvert(mm: MmPgtables, addr: number, ptep: number, pte: PteVal): void {
  const pt = mm.pt;
  const codec = pt.codec;
  const n = pt.desc.contPtes;
  const startSlot = ptep - (ptep % n);
  const blockBytes = n * pt.pageSize;
  const startAddr = addr - (addr % blockBytes);
  const pfn = codec.ptePfn(pte);
  codec.ptePgprot(prot, pte);
  const v = c2;
  codec.pfnPte(v, pfn - (pfn % n), prot);
  const chunks = pt.pools[PTE_LEVEL]!.chunks;
  for (let i = 0; i < n; i++) {
    const s = startSlot + i;
    const c = chunks[s >>> CHUNK_SLOTS_SHIFT]!;
    const o = (s & CHUNK_SLOTS_MASK) << 1;
    a.lo = c[o]!;
    a.hi = c[o + 1]!;
    if (codec.pteDirty(a)) codec.pteMkdirty(v);
    if (codec.pteYoung(a)) codec.pteMkyoung(v);
    c[o] = 0;
    c[o + 1] = 0;
  }
  pt.machine.mmu.flushTlbRange(mm.as, startAddr, startAddr + blockBytes);
  pt.nrContpteConverts++;
  // __set_ptes(): the block's entries are all clear now.
  const chunk = chunks[startSlot >>> CHUNK_SLOTS_SHIFT]!;
  let o = (startSlot & CHUNK_SLOTS_MASK) << 1;
  const step = codec.pfnStep(v);
  let lo = v.lo >>> 0;
  let hi = v.hi;
  for (let i = 0; i < n; i++, o += 2) {
    chunk[o] = lo | 0;
    chunk[o + 1] = hi;
    lo += step;
    if (lo >= 4294967296) {
      lo -= 4294967296;
      hi = (hi + 1) | 0;
    }
  }
  pt.lazy.noteUpdate(mm, startAddr, n, true, true);
}

/**
 * Unfold the block holding `ptep` if it is folded.
 * @kernel contpte_try_unfold (arch/arm64/include/asm/pgtable.h)
 */
export function contpteTryUnfold(mm: MmPgtables, addr: number, ptep: number): void {
  const pt = mm.pt;
  const v = __ptepGet(pt, ptep, b);
  if (!valid(v) || !arm(pt).pteCont(v)) return;
  arm(pt).pteMknoncont(v);
  contpteConvert(mm, addr, ptep, v);
}

/**
 * Unfold the blocks only partly covered by [ptep, ptep + nr).
 * @kernel contpte_try_unfold_partial (arch/arm64/mm/contpte.c)
 */
export function contpteTryUnfoldPartial(mm: MmPgtables, addr: number, ptep: number, nr: number): void {
  const pt = mm.pt;
  const n = pt.desc.contPtes;
  if (ptep % n !== 0 || nr < n) contpteTryUnfold(mm, addr, ptep);
  if ((ptep + nr) % n !== 0) contpteTryUnfold(mm, addr + (nr - 1) * pt.pageSize, ptep + nr - 1);
}

/**
 * `set_ptes()` for user mms: set the contiguous bit on aligned blocks of a
 * batch; for one entry, unfold what it overwrites and try to fold the block
 * it completes.
 * @kernel set_ptes / contpte_set_ptes (arch/arm64/include/asm/pgtable.h, mm/contpte.c)
 */
export function contpteSetPtes(mm: MmPgtables, addr: number, ptep: number, pte: PteVal, nr: number): void {
  const pt = mm.pt;
  const codec = arm(pt);
  const v = a.set(pte);
  codec.pteMknoncont(v);
  if (nr === 1) {
    contpteTryUnfold(mm, addr, ptep);
    __setPtes(mm, addr, ptep, v, 1);
    contpteTryFold(mm, addr, ptep, v);
    return;
  }
  const n = pt.desc.contPtes;
  const pageSize = pt.pageSize;
  const blockBytes = n * pageSize;
  const end = addr + nr * pageSize;
  let pfn = codec.ptePfn(v);
  codec.ptePgprot(prot, v);
  let s = ptep;
  while (addr !== end) {
    const boundary = (Math.floor(addr / blockBytes) + 1) * blockBytes;
    const next = Math.min(boundary, end);
    const k = (next - addr) / pageSize;
    codec.pfnPte(b, pfn, prot);
    if (addr % blockBytes === 0 && next % blockBytes === 0 && pfn % n === 0) codec.pteMkcont(b);
    __setPtes(mm, addr, s, b, k);
    addr = next;
    s += k;
    pfn += k;
  }
}

/**
 * Fold the block completed by setting its last entry to `pte`, if it maps
 * one folio contiguously with one protection.
 * @kernel contpte_try_fold / __contpte_try_fold (arch/arm64/include/asm/pgtable.h, mm/contpte.c)
 */
export function contpteTryFold(mm: MmPgtables, addr: number, ptep: number, pte: PteVal): void {
  const pt = mm.pt;
  const folio = pt.contpteFolio;
  if (folio === null) return;
  const codec = arm(pt);
  const n = pt.desc.contPtes;
  const pfn = codec.ptePfn(pte);
  const last = n - 1;
  if (Math.floor(addr / pt.pageSize) % n !== last || pfn % n !== last) return;
  if (!valid(pte) || codec.pteCont(pte) || codec.pteSpecial(pte)) return;
  const head = folio.folioHeadPfn(pfn);
  const blockPfn = pfn - last;
  if (head > blockPfn || head + folio.folioNrPages(pfn) < blockPfn + n) return;
  const expected = b;
  const q = c2.set(pte);
  codec.pteMkclean(q);
  codec.pteMkold(q);
  codec.ptePgprot(prot, q);
  codec.pfnPte(expected, blockPfn, prot);
  const start = ptep - last;
  for (let i = 0; i < n; i++) {
    __ptepGet(pt, start + i, a);
    codec.pteMkclean(a);
    codec.pteMkold(a);
    if (!a.same(expected)) return;
    codec.pteAdvancePfn(expected, 1);
  }
  const f = c2.set(pte);
  codec.pteMkcont(f);
  contpteConvert(mm, addr, ptep, f);
}

/**
 * Clear the accessed bit of a whole folded block.
 * @returns whether any entry of the block was young.
 * @kernel contpte_test_and_clear_young_ptes (arch/arm64/mm/contpte.c)
 */
export function contpteTestAndClearYoung(mm: MmPgtables, _addr: number, ptep: number): boolean {
  const pt = mm.pt;
  const codec = pt.codec;
  const n = pt.desc.contPtes;
  const start = ptep - (ptep % n);
  let young = false;
  const pool = pt.pools[PTE_LEVEL]!;
  for (let i = 0; i < n; i++) {
    __ptepGet(pt, start + i, a);
    if (codec.pteYoung(a)) {
      young = true;
      codec.pteMkold(a);
      pool.write(start + i, a.lo, a.hi);
    }
  }
  return young;
}

/**
 * `ptep_set_access_flags()` on a folded block: update the access flags of
 * every entry (unfolding first if the write permission changes), then flush.
 * @kernel contpte_ptep_set_access_flags (arch/arm64/mm/contpte.c)
 */
export function contpteSetAccessFlags(mm: MmPgtables, addr: number, ptep: number, entry: PteVal): void {
  const pt = mm.pt;
  const codec = arm(pt);
  const orig = __ptepGet(pt, ptep, b);
  if (codec.pteWrite(orig) !== codec.pteWrite(entry)) {
    contpteTryUnfold(mm, addr, ptep);
    const e = c2.set(entry);
    codec.pteMknoncont(e);
    __setPtes(mm, addr, ptep, e, 1);
    return;
  }
  const n = pt.desc.contPtes;
  const start = ptep - (ptep % n);
  const blockBytes = n * pt.pageSize;
  const startAddr = addr - (addr % blockBytes);
  const pool = pt.pools[PTE_LEVEL]!;
  for (let i = 0; i < n; i++) {
    __ptepGet(pt, start + i, a);
    if (codec.pteYoung(entry)) codec.pteMkyoung(a);
    if (codec.pteDirty(entry)) codec.pteMkdirty(a);
    pool.write(start + i, a.lo, a.hi);
  }
  pt.machine.mmu.flushTlbRange(mm.as, startAddr, startAddr + blockBytes);
}
