/**
 * DOC: a Map-based page table and hardware walker for the TLB/MMU tests
 * (the real walker lives in @mm/pgtable-arch). Leaves of 4K, 2M or 1G map
 * an aligned range to a frame; a walk sets the accessed bit, and the dirty
 * bit for a permitted write, like x86 hardware.
 */
import {
  type AddressSpace,
  type FaultHandler,
  type HardwareWalker,
  MMU_EXEC,
  MMU_USER,
  MMU_WRITE,
  TLB_DIRTY,
  TLB_GLOBAL,
  TLB_NX,
  TLB_USER,
  TLB_WRITE,
  WALK_NOT_PRESENT,
  WALK_OK,
  WALK_PROT,
  type WalkResult,
} from '../src/index.js';

export const SZ_4K = 4096;
export const SZ_2M = 2 * 1024 * 1024;
export const SZ_1G = 1024 * 1024 * 1024;

export interface TestPte {
  pfn: number;
  shift: number;
  /** TLB_WRITE | TLB_USER | TLB_NX | TLB_GLOBAL */
  prot: number;
  accessed: boolean;
  dirty: boolean;
}

/** Page tables keyed by `as.root`; leaf lookup tries 1G, 2M, 4K. */
export class MapWalker implements HardwareWalker {
  readonly tables = new Map<number, Map<string, TestPte>>();
  walks = 0;
  readonly walkKinds: number[] = [];

  private table(root: number): Map<string, TestPte> {
    let t = this.tables.get(root);
    if (t === undefined) {
      t = new Map();
      this.tables.set(root, t);
    }
    return t;
  }

  map(root: number, vaddr: number, shift: number, pfn: number, prot: number): void {
    const size = 2 ** shift;
    if (vaddr % size !== 0) throw new Error(`unaligned ${vaddr} for shift ${shift}`);
    this.table(root).set(`${shift}:${vaddr}`, { pfn, shift, prot, accessed: false, dirty: false });
  }

  unmap(root: number, vaddr: number, shift: number): void {
    this.table(root).delete(`${shift}:${vaddr}`);
  }

  /** The leaf mapping `vaddr`, if any. */
  leaf(root: number, vaddr: number): TestPte | undefined {
    const t = this.table(root);
    for (const shift of [30, 21, 12]) {
      const size = 2 ** shift;
      const base = Math.floor(vaddr / size) * size;
      const pte = t.get(`${shift}:${base}`);
      if (pte !== undefined) return pte;
    }
    return undefined;
  }

  /** Ground truth: the PFN `vaddr` translates to for `kind`, or -1 when the access faults. */
  translate(root: number, vaddr: number, kind: number): number {
    const pte = this.leaf(root, vaddr);
    if (pte === undefined || !permits(pte.prot, kind)) return -1;
    const size = 2 ** pte.shift;
    return pte.pfn + Math.floor((vaddr % size) / SZ_4K);
  }

  walk(as: AddressSpace, vaddr: number, kind: number, out: WalkResult): number {
    this.walks++;
    this.walkKinds.push(kind);
    const pte = this.leaf(as.root, vaddr);
    if (pte === undefined) {
      out.levels = 4;
      return WALK_NOT_PRESENT;
    }
    out.levels = pte.shift === 30 ? 2 : pte.shift === 21 ? 3 : 4;
    if (!permits(pte.prot, kind)) return WALK_PROT;
    pte.accessed = true;
    if ((kind & MMU_WRITE) !== 0) pte.dirty = true;
    out.pfn = pte.pfn;
    out.shift = pte.shift;
    out.flags = pte.prot | (pte.dirty ? TLB_DIRTY : 0);
    return WALK_OK;
  }
}

export function permits(prot: number, kind: number): boolean {
  if ((kind & MMU_WRITE) !== 0 && (prot & TLB_WRITE) === 0) return false;
  if ((kind & MMU_USER) !== 0 && (prot & TLB_USER) === 0) return false;
  if ((kind & MMU_EXEC) !== 0 && (prot & TLB_NX) !== 0) return false;
  return true;
}

/** A fault handler that records its calls and runs `fix` (default: fail with -14, EFAULT). */
export class RecordingFaultHandler implements FaultHandler {
  readonly calls: { cpu: number; asId: number; vaddr: number; errorCode: number }[] = [];
  constructor(private readonly fix: (cpu: number, as: AddressSpace, vaddr: number, errorCode: number) => number) {}

  handleFault(cpu: number, as: AddressSpace, vaddr: number, errorCode: number): number {
    this.calls.push({ cpu, asId: as.id, vaddr, errorCode });
    return this.fix(cpu, as, vaddr, errorCode);
  }
}

export const RW_USER = TLB_WRITE | TLB_USER;
export const RO_USER = TLB_USER;
export const KERNEL_GLOBAL = TLB_WRITE | TLB_GLOBAL | TLB_NX;
