/**
 * DOC: a page owner for the zap and mmu_gather tests: folios are real
 * machine allocations with a reference per mapped page (as the kernel's
 * `folio_ref_add()` at map time), a mapcount the rmap callbacks maintain,
 * and the address each page is mapped at. Its `freePages` callback is the
 * never-free-before-flush oracle: it fails if any CPU's TLB still translates
 * a page handed back, and it checks the reference it drops exists.
 */
import { __GFP_COMP, GFP_HIGHUSER_MOVABLE, type Machine } from '@mm/machine';
import type { MmPgtables, PgtableVma, ZapOps } from '../src/index.js';

interface Folio {
  order: number;
  anon: boolean;
  refs: number;
  mapcount: number;
  dirty: boolean;
  freed: boolean;
}

export class TestPages implements ZapOps {
  readonly folios = new Map<number, Folio>();
  /** page pfn -> folio head. */
  private readonly headOf = new Map<number, number>();
  /** page pfn -> virtual address it is mapped at. */
  readonly vaddrOf = new Map<number, number>();
  readonly events: string[] = [];
  freedPages = 0;
  delayedRmaps = 0;
  swapFreed = 0;
  pfnEntriesZapped = 0;
  /** Set when a page was handed back while a TLB still held it. */
  violations: string[] = [];

  constructor(
    readonly machine: Machine,
    readonly mm: MmPgtables,
  ) {}

  /** A folio of 2^order pages (one reference per page it will map). */
  alloc(order: number, anon: boolean): number {
    const pfn = this.machine.mem.allocPages(GFP_HIGHUSER_MOVABLE | (order > 0 ? __GFP_COMP : 0), order);
    if (pfn < 0) throw new Error('test pages: out of memory');
    this.folios.set(pfn, { order, anon, refs: 0, mapcount: 0, dirty: false, freed: false });
    for (let i = 0; i < 2 ** order; i++) this.headOf.set(pfn + i, pfn);
    return pfn;
  }

  /** Record that `nr` pages from `pfn` are mapped from `vaddr`. */
  mapped(pfn: number, nr: number, vaddr: number): void {
    const f = this.folios.get(this.headOf.get(pfn)!)!;
    f.refs += nr;
    f.mapcount += nr;
    for (let i = 0; i < nr; i++) this.vaddrOf.set(pfn + i, vaddr + i * this.machine.topology.pageSize);
  }

  normalFolio(_vma: PgtableVma, _addr: number, pfn: number, special: boolean): number {
    if (special) return -1;
    return this.headOf.get(pfn) ?? -1;
  }
  folioNrPages(head: number): number {
    return 2 ** this.folios.get(head)!.order;
  }
  folioAnon(head: number): boolean {
    return this.folios.get(head)!.anon;
  }
  zapFolioPtes(
    _vma: PgtableVma,
    head: number,
    _pfn: number,
    nr: number,
    dirty: boolean,
    _young: boolean,
    delayRmap: boolean,
  ): void {
    const f = this.folios.get(head)!;
    if (dirty) f.dirty = true;
    if (!delayRmap) f.mapcount -= nr;
    this.events.push(`zap ${head} ${nr}${delayRmap ? ' delayed' : ''}`);
  }
  freeSwapEntries(_vma: PgtableVma, _type: number, _offset: number, nr: number): void {
    this.swapFreed += nr;
  }
  zapPfnEntry(): void {
    this.pfnEntriesZapped++;
  }
  zapHugePmd(_vma: PgtableVma, _addr: number, head: number): void {
    const f = this.folios.get(head)!;
    f.mapcount -= 2 ** f.order;
  }
  removeRmap(pfn: number, nr: number): void {
    this.checkNotInTlb(pfn, nr, 'delayed rmap');
    const f = this.folios.get(this.headOf.get(pfn)!)!;
    f.mapcount -= nr;
    this.delayedRmaps++;
    this.events.push(`rmap ${pfn} ${nr}`);
  }
  freePages(pfn: number, nr: number): void {
    this.checkNotInTlb(pfn, nr, 'free');
    const head = this.headOf.get(pfn)!;
    const f = this.folios.get(head)!;
    if (f.refs < nr) this.violations.push(`free of ${nr} pages of folio ${head} holding ${f.refs} references`);
    f.refs -= nr;
    this.freedPages += nr;
    this.events.push(`free ${pfn} ${nr}`);
    if (f.refs === 0) {
      f.freed = true;
      this.machine.mem.freePages(head, f.order);
      for (let i = 0; i < 2 ** f.order; i++) this.headOf.delete(head + i);
      this.folios.delete(head);
    }
  }

  private checkNotInTlb(pfn: number, nr: number, what: string): void {
    const mmu = this.machine.mmu;
    for (let i = 0; i < nr; i++) {
      const va = this.vaddrOf.get(pfn + i);
      if (va === undefined) continue;
      for (let c = 0; c < this.machine.topology.nrCpus; c++) {
        // Only a CPU that has the address space loaded (running it, or lazily) can use its entries.
        if (mmu.loadedMm(c) !== this.mm.as) continue;
        if (mmu.probe(c, this.mm.as, va) === pfn + i) {
          this.violations.push(`${what} of page ${pfn + i} while CPU ${c}'s TLB still maps it at 0x${va.toString(16)}`);
        }
      }
    }
  }
}
