/**
 * DOC: a small test kernel on top of the package: map runs of pages (PTEs or
 * PMD leaves), unmap, change protections and split leaves the way the
 * kernel's paths do (allocate tables, lock, set, flush), with a naive map of
 * what should be mapped (the oracle) and a fault handler that sets the
 * accessed/dirty bits where the hardware does not.
 */
import { type ArchName, createMachine, EFAULT, type Machine, MMU_EXEC, MMU_WRITE, X86_PF_WRITE } from '@mm/machine';
import {
  type ArchDescriptor,
  createPageTables,
  getAndClearFullPtes,
  type MmPgtables,
  modifyProtCommitPtes,
  modifyProtStartPtes,
  type PageTables,
  type PageTablesOptions,
  PMD_LEVEL,
  PteVal,
  pgtableTransHugeDeposit,
  pmdAllocWalk,
  pmdpGet,
  pmdpHugeGetAndClear,
  pteAlloc,
  pteAllocOne,
  pteOffsetMapLock,
  ptepGet,
  ptepSetAccessFlags,
  pteUnmapUnlock,
  setPmdAt,
  setPtes,
  splitHugePmdLocked,
  VM_EXEC,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from '../src/index.js';

/** What the oracle knows about a mapped page. */
export interface OraclePage {
  pfn: number;
  write: boolean;
  exec: boolean;
}

/** A machine with page tables for `desc`, one address space and an oracle. */
export class TestKernel {
  readonly machine: Machine;
  readonly pt: PageTables;
  readonly mm: MmPgtables;
  readonly pageSize: number;
  readonly pmdSize: number;
  /** vpn -> mapping. */
  readonly oracle = new Map<number, OraclePage>();
  /** PMD-aligned vpns mapped by a PMD leaf. */
  readonly huge = new Set<number>();
  private readonly v = new PteVal();

  constructor(desc: ArchDescriptor, options: Omit<PageTablesOptions, 'arch'> = {}, cpus = 4) {
    const arch = (desc.machineArch ?? 'x86_64') as ArchName;
    this.machine = createMachine({
      arch,
      pageSize: 2 ** desc.pageShift,
      seed: 1,
      nodes: [{ memoryBytes: 2 ** 31, cpus }],
    });
    this.pt = createPageTables(this.machine, { ...options, arch: desc });
    const mm = this.pt.mmAlloc();
    if (mm === null) throw new Error('no memory for a PGD');
    this.mm = mm;
    this.pageSize = this.pt.pageSize;
    this.pmdSize = this.pt.levelSize(PMD_LEVEL);
    // The fault handler: what handle_pte_fault() does for a present entry the
    // hardware refused only for its accessed/dirty bits (Svade, no HAFDBS).
    this.machine.mmu.registerFaultHandler({
      handleFault: (_cpu, _as, vaddr, err) => this.fault(vaddr, (err & X86_PF_WRITE) !== 0),
    });
  }

  /** vm_page_prot for a mapping (a new value). */
  protOf(write: boolean, exec: boolean): PteVal {
    const prot = new PteVal();
    this.pt.codec.vmGetPageProt(prot, VM_READ | (exec ? VM_EXEC : 0) | (write ? VM_WRITE | VM_SHARED : 0));
    return prot;
  }

  private fault(vaddr: number, write: boolean): number {
    const vpn = Math.floor(vaddr / this.pageSize);
    const o = this.oracle.get(vpn);
    if (o === undefined || (write && !o.write)) return -EFAULT;
    const pt = this.pt;
    const codec = pt.codec;
    const pmdp = pt.lookup(this.mm, PMD_LEVEL, vaddr);
    if (pmdp < 0) return -EFAULT;
    const pmd = pmdpGet(this.mm, pmdp, new PteVal());
    if (codec.pmdLeaf(pmd)) {
      if (codec.pteYoung(pmd) && (!write || codec.pteDirty(pmd))) return -EFAULT;
      pt.pmdLock(this.mm, pmdp);
      codec.pteMkyoung(pmd);
      if (write) codec.pteMkdirty(pmd);
      setPmdAt(this.mm, vaddr, pmdp, pmd);
      pt.pmdUnlock(this.mm, pmdp);
      return 0;
    }
    const ptep = pteOffsetMapLock(this.mm, pmdp, vaddr);
    if (ptep < 0) return -EFAULT;
    const e = ptepGet(this.mm, ptep, new PteVal());
    codec.pteMkyoung(e);
    if (write) codec.pteMkdirty(e);
    const changed = ptepSetAccessFlags(this.mm, vaddr, ptep, e, write);
    pteUnmapUnlock(this.mm, ptep);
    // Nothing to fix: the fault is real (an access the entry forbids).
    return changed ? 0 : -EFAULT;
  }

  /** Map `nr` pages at `addr` to `pfn..`, in runs that stay within one PTE table. */
  map(addr: number, nr: number, pfn: number, write: boolean, exec: boolean): void {
    this.unmap(addr, nr);
    const pt = this.pt;
    const mm = this.mm;
    let a = addr;
    let p = pfn;
    const end = addr + nr * this.pageSize;
    while (a < end) {
      const next = pt.addrEnd(PMD_LEVEL, a, end);
      const k = (next - a) / this.pageSize;
      const pmdp = pmdAllocWalk(mm, a);
      if (pmdp < 0) throw new Error(`pmd alloc: ${pmdp}`);
      if (this.pt.codec.pmdLeaf(pmdpGet(mm, pmdp, this.v))) this.splitAt(a);
      if (pteAlloc(mm, pmdp) < 0) throw new Error('pte alloc');
      const ptep = pteOffsetMapLock(mm, pmdp, a);
      pt.codec.pfnPte(this.v, p, this.protOf(write, exec));
      setPtes(mm, a, ptep, this.v, k);
      pteUnmapUnlock(mm, ptep);
      for (let i = 0; i < k; i++) this.oracle.set(a / this.pageSize + i, { pfn: p + i, write, exec });
      a = next;
      p += k;
    }
  }

  /** Map one PMD leaf at the PMD-aligned `addr` to the aligned `pfn` (the PMD must be empty). */
  mapHuge(addr: number, pfn: number, write: boolean, exec: boolean): boolean {
    const pt = this.pt;
    const mm = this.mm;
    const pmdp = pmdAllocWalk(mm, addr);
    if (pmdp < 0) return false;
    if (!pt.codec.pmdNone(pmdpGet(mm, pmdp, this.v))) return false;
    const table = pteAllocOne(mm);
    pt.pmdLock(mm, pmdp);
    pt.codec.pfnPmd(this.v, pfn, this.protOf(write, exec));
    pt.codec.pmdMkhuge(this.v);
    pgtableTransHugeDeposit(mm, pmdp, table);
    pt.mmIncNr(mm, 0, 1);
    setPmdAt(mm, addr, pmdp, this.v);
    pt.pmdUnlock(mm, pmdp);
    const n = this.pmdSize / this.pageSize;
    for (let i = 0; i < n; i++) this.oracle.set(addr / this.pageSize + i, { pfn: pfn + i, write, exec });
    this.huge.add(addr / this.pageSize);
    return true;
  }

  /** Split the PMD leaf holding `addr` into a PTE table. */
  splitAt(addr: number): void {
    const pt = this.pt;
    const mm = this.mm;
    const haddr = addr - (addr % this.pmdSize);
    const pmdp = pt.lookup(mm, PMD_LEVEL, haddr);
    const o = this.oracle.get(haddr / this.pageSize)!;
    pt.pmdLock(mm, pmdp);
    const r = splitHugePmdLocked(mm, haddr, pmdp, this.protOf(o.write, o.exec));
    pt.pmdUnlock(mm, pmdp);
    if (r < 0) throw new Error('split');
    this.huge.delete(haddr / this.pageSize);
  }

  /** Clear `nr` pages at `addr` (splitting leaves the range cuts), then flush the TLBs. */
  unmap(addr: number, nr: number): void {
    const pt = this.pt;
    const mm = this.mm;
    const end = addr + nr * this.pageSize;
    let a = addr;
    while (a < end) {
      const next = pt.addrEnd(PMD_LEVEL, a, end);
      const pmdp = pt.lookup(mm, PMD_LEVEL, a);
      if (pmdp >= 0) {
        const pmd = pmdpGet(mm, pmdp, this.v);
        if (pt.codec.pmdLeaf(pmd)) {
          if (a % this.pmdSize === 0 && next - a === this.pmdSize) {
            pt.pmdLock(mm, pmdp);
            pmdpHugeGetAndClear(mm, a, pmdp, this.v);
            const dep = pt.withdraw(pmdp);
            pt.pmdUnlock(mm, pmdp);
            if (dep >= 0) {
              pt.mmIncNr(mm, 0, -1);
              pt.pagetableDtorFree(0, dep);
            }
            this.huge.delete(a / this.pageSize);
          } else {
            this.splitAt(a);
          }
        }
        const ptep = pteOffsetMapLock(mm, pmdp, a);
        if (ptep >= 0) {
          getAndClearFullPtes(mm, a, ptep, (next - a) / this.pageSize, false, this.v);
          pteUnmapUnlock(mm, ptep);
        }
      }
      for (let v = a / this.pageSize; v < next / this.pageSize; v++) this.oracle.delete(v);
      a = next;
    }
    this.machine.mmu.flushTlbRange(mm.as, addr, end);
  }

  /** Change the protections of the mapped pages in [addr, addr + nr pages). */
  protect(addr: number, nr: number, write: boolean, exec: boolean): void {
    const pt = this.pt;
    const mm = this.mm;
    const end = addr + nr * this.pageSize;
    let a = addr;
    const prot = this.protOf(write, exec);
    while (a < end) {
      const next = pt.addrEnd(PMD_LEVEL, a, end);
      const pmdp = pt.lookup(mm, PMD_LEVEL, a);
      if (pmdp >= 0 && pt.codec.pmdLeaf(pmdpGet(mm, pmdp, this.v))) this.splitAt(a);
      const ptep = pmdp >= 0 ? pteOffsetMapLock(mm, pmdp, a) : -1;
      if (ptep >= 0) {
        for (let i = 0; i < (next - a) / this.pageSize; i++) {
          const e = ptepGet(mm, ptep + i, this.v);
          if (!pt.codec.ptePresent(e)) continue;
          modifyProtStartPtes(mm, a + i * this.pageSize, ptep + i, 1, e);
          pt.codec.pteModify(e, prot);
          modifyProtCommitPtes(mm, a + i * this.pageSize, ptep + i, e, e, 1);
          const o = this.oracle.get(a / this.pageSize + i);
          if (o !== undefined) {
            o.write = write;
            o.exec = exec;
          }
        }
        pteUnmapUnlock(mm, ptep);
      }
      a = next;
    }
    this.machine.mmu.flushTlbRange(mm.as, addr, end);
  }

  /** What an access should give: the PFN, or -EFAULT. */
  expect(vaddr: number, kind: number): number {
    const o = this.oracle.get(Math.floor(vaddr / this.pageSize));
    if (o === undefined) return -EFAULT;
    if ((kind & MMU_WRITE) !== 0 && !o.write) return -EFAULT;
    if ((kind & MMU_EXEC) !== 0 && !o.exec && this.pt.desc.family !== 'x86') return -EFAULT;
    return o.pfn;
  }
}
